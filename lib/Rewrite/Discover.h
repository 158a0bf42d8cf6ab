//===- Discover.h - functions in code no symbol or FDE describes -*- C++ -*-===//
//
// A stripped file built without unwind tables (mold, Chromium, x265's
// assembly) leaves most of .text undescribed: runs of bytes that decode but
// that no function symbol or FDE bounds. Such a run is cut into functions
// only where the cut is proved:
//
//  - a function starts where a direct call or jump of described code lands,
//    where such code takes an address (lea: main, given to
//    __libc_start_main), or where the loader or a symbol stores an address (a
//    function pointer, the entry point); code found from those adds its own;
//  - a piece that code reads or writes as memory (not lea, not a branch) is
//    data kept in .text, and stays;
//  - from those starts, control flow is followed (fall-through, direct
//    branches, the targets of jump tables found in the run);
//  - a function is [start, next start), and is proved only when every byte
//    of it up to its last reached instruction was reached or is padding
//    (zero, nop, int3): a byte nothing reaches may be data. Where control
//    from the start never gets past such a byte, the function ends before
//    it, and the rest of the piece (dead code, or data) stays. A piece where
//    control reaches bytes that are no instruction, or bytes that are part
//    of two different instructions, is not proved either. That is local:
//    data in .text (assembly's constant tables) keeps the pieces it is in,
//    not the code around it that a linear decoding misreads after it.
//
// The rewrite then treats each proved function as one with a symbol: every
// reference into it is found and checked again, and what it cannot follow
// keeps the function in place, as for any other.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "elfopt/Target/X86Decoder.h"

#include <cstdint>
#include <span>
#include <utility>
#include <vector>

namespace elfopt::rewrite {

struct DiscoveryInput {
  uint64_t textStart = 0;
  std::span<const uint8_t> text; ///< .text's bytes
  /// Runs of .text that no function describes: sorted, disjoint.
  std::vector<std::pair<uint64_t, uint64_t>> runs;
  /// Where functions start: targets of direct branches from described code,
  /// addresses stored for the loader or in symbols. Any order; those outside
  /// the runs are ignored.
  std::vector<uint64_t> starts;
  /// The targets of the jump tables of jumps in the runs: (jump, target),
  /// sorted.
  std::vector<std::pair<uint64_t, uint64_t>> tableTargets;
  /// Addresses code reads or writes as memory (RIP-relative operands that
  /// are neither lea nor branches). Any order.
  std::vector<uint64_t> dataAddresses;
};

/// The proved functions, [start, end of their last instruction), sorted.
/// \p decoder must describe operations (it tells lea from a memory operand).
std::vector<std::pair<uint64_t, uint64_t>> discoverFunctions(const DiscoveryInput &input,
                                                             const x86_64::Decoder &decoder);

} // namespace elfopt::rewrite
