//===- Verify.h - check a rewritten file against its original ---*- C++ -*-===//
//
// Independent of the rewriter: the only thing taken from the rewritten file
// is where each function went (its .symtab values; in a file without one,
// its .dynsym values and FDEs). From that map alone it checks that
//   - headers, program headers and every section's place are unchanged;
//   - every instruction of every function decodes to the same instruction,
//     and each PC-relative operand refers to the map of what it referred to;
//   - every FDE covers the map of its old range, and .eh_frame_hdr is
//     sorted, complete and points at FDEs that start where it says;
//   - dynamic relocations, symbols, the entry point and DT_INIT/DT_FINI
//     follow the map;
//   - outside .text, the only bytes that changed are words that relocations,
//     the GOT or FDEs describe, and each holds the map of its old value; a
//     static relocation says what its word refers to, so a PC-relative word
//     against data (clang's relative lookup tables) must keep its value;
//   - in a file without static relocations for .text, every 4-byte word of
//     loaded data that reads as a code address, relative to itself or to the
//     closest address below it that code refers to, follows that code, or
//     keeps its value where the old place forwards to the new one: the
//     original instructions, then a jump to the new address of exactly the
//     instruction that stood there.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "elfopt/Elf/ElfFile.h"

#include <cstdint>
#include <string>
#include <vector>

namespace elfopt {

struct VerifyReport {
  uint64_t functions = 0;
  uint64_t movedFunctions = 0;
  uint64_t instructions = 0;
  uint64_t pcRelativeOperands = 0;
  uint64_t fdes = 0;
  uint64_t symbols = 0;
  uint64_t dynamicRelocations = 0;
  uint64_t changedWords = 0; ///< outside .text, each explained
  /// Words kept as they were that lead to moved code through a forwarding
  /// stub in its old place, each stub checked.
  uint64_t forwardedWords = 0;
  /// Runs of code no symbol or FDE describes that moved, learned from the
  /// references to them.
  uint64_t movedUndescribedRanges = 0;
  std::vector<std::string> problems; ///< empty when the rewrite is sound
  /// Addresses of code the problems are about, in the original or the
  /// rewritten file (not told apart; 0 for none): where code found by
  /// following control flow is there, keeping it in place may avoid them.
  std::vector<uint64_t> problemCode;
  bool ok() const { return problems.empty(); }
};

VerifyReport verifyRewrite(const ElfFile &original, const ElfFile &rewritten);

} // namespace elfopt
