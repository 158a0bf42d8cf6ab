//===- VerifyRelocs.h - check packed relative relocations -------*- C++ -*-===//
//
// `rewrite --pack-relative-relocs` moves R_X86_64_RELATIVE entries into
// DT_RELR. This check reads both files as glibc's loader does, through the
// dynamic tags only (DT_RELA, DT_JMPREL, DT_RELR, DT_VERNEED, DT_STRTAB),
// sharing no code with the pass but decodeRela/decodeRelr:
//   - every word relocated relative to the base gets, after loading, the same
//     value in both (RELA: base + addend; RELR: base + the word in the file),
//     and no other word is relocated that way;
//   - the other dynamic relocations are the same entries in the same order;
//   - every byte of every loaded segment of the original is the same, but
//     for the old DT_RELA table, the old version needs, .dynamic and the
//     words RELR now relocates;
//   - .dynamic holds the same entries, but for DT_RELACOUNT (gone), DT_RELASZ,
//     the version tables' addresses and the new DT_RELR/DT_RELRSZ/DT_RELRENT;
//   - the version needs are the same, plus GLIBC_ABI_DT_RELR of libc.so.*
//     under a version index no other version uses; the new string table
//     begins with the old one's bytes, so that every name keeps its offset.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "elfopt/Elf/ElfFile.h"

#include <cstdint>
#include <string>
#include <vector>

namespace elfopt {

struct RelocVerifyReport {
  uint64_t relativeWords = 0; ///< words relocated relative to the base, checked one by one
  uint64_t relrWords = 0;     ///< of those, relocated through DT_RELR in the output
  std::vector<std::string> problems;
  bool ok() const { return problems.empty(); }
};

/// \p before: the file as it was; \p after: with its relative relocations
/// packed. Nothing else may differ between them.
RelocVerifyReport verifyPackedRelocations(const ElfFile &before, const ElfFile &after);

} // namespace elfopt
