//===- Hashvals.h - precomputed GNU hashes of dynamic symbol names -*- C++ -*-===//
//
// A loader resolving an undefined symbol hashes its name once per lookup
// (glibc: once per relocation, reused across objects). The names are known
// at link time, so the hashes can be too. This adds a section with one
// 32-bit GNU hash per .dynsym entry, in .dynsym order (entry 0, the null
// symbol, holds the hash of the empty name), found at run time through the
// dynamic tag DT_ELFOPT_HASHVALS:
//
//   .elfopt.hashvals   SHT_PROGBITS, SHF_ALLOC, align 4, 4 * nsyms bytes,
//                      little-endian u32: gnu_hash(name of .dynsym[i])
//   DT_ELFOPT_HASHVALS = 0x6ffffe00, d_ptr = its address
//
// The tag lies in the OS address range (DT_ADDRRNGLO..DT_ADDRRNGHI), where
// GNU assigns only 0x6ffffef5 and up (DT_GNU_HASH ... DT_SYMINFO); glibc
// keeps only those and ignores the rest, and no binutils, LLVM or glibc
// header names 0x6ffffe00. Meeks' 2006 -hashvals used a section type of its
// own (SHT_SUSE_HASHVALS); no shipping loader reads either.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "elfopt/Edit/ElfEditor.h"

#include <cstdint>
#include <string>
#include <vector>

namespace elfopt {

inline constexpr int64_t DT_ELFOPT_HASHVALS = 0x6ffffe00;
inline constexpr const char *HashvalsSectionName = ".elfopt.hashvals";

/// One GNU hash per .dynsym entry of \p file, in .dynsym order.
std::vector<uint32_t> computeHashvals(const ElfFile &file);

/// Adds the section and the dynamic entry. Fatal error for a file without
/// .dynsym, with hashvals already, or without a spare DT_NULL slot.
/// Returns the new section's index; its address is known after layout().
/// \p names: the .dynsym names in their output order, when another pass
/// (dynsort) reordered them; by default the input's.
unsigned addHashvals(ElfEditor &editor, const std::vector<std::string> *names = nullptr);

/// After editor.layout(): points DT_ELFOPT_HASHVALS at the section.
void finishHashvals(ElfEditor &editor, unsigned section);

} // namespace elfopt
