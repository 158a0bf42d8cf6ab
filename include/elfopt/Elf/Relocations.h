//===- Relocations.h - what dynamic relocations mean ------------*- C++ -*-===//
//
// The facts about x86-64 dynamic relocations that both the rewriter and
// verify rely on, in one place so that they cannot disagree.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "elfopt/Elf/ElfFile.h"

#include <cstdint>
#include <span>
#include <vector>

namespace elfopt {

/// Whether the loader computes the relocated word from the addend as an
/// address of this file (base + addend): R_X86_64_RELATIVE, IRELATIVE (the
/// addend is the resolver) and R_X86_64_64 against no symbol.
bool dynamicAddendIsAddress(const ELFT::Rela &rela);

/// The entries of an SHT_RELA section's bytes, copied out (a section of a
/// malformed file need not be aligned for them); a trailing partial entry
/// is ignored.
std::vector<ELFT::Rela> decodeRela(std::span<const uint8_t> bytes);

/// The addresses of the words an SHT_RELR section relocates, in its order
/// (an even entry is an address; an odd one a bitmap of the 63 words after
/// the last address).
std::vector<uint64_t> decodeRelr(std::span<const uint8_t> bytes);

} // namespace elfopt
