//===- Undecoded.h - where bytes that did not decode could refer -*- C++ -*-===//
//
// Bytes LLVM cannot decode may be code holding branches and RIP-relative
// operands nobody can read, or data holding offsets to code (Chromium keeps
// 4-byte offset tables in .text). Neither can be told from the other, so
// every window is read as a displacement from its end: each 1-byte window
// as a rel8, each 4-byte window as a rel32 (an offset from the word's end).
// A RIP-relative operand counts from the end of its instruction, which an
// immediate of 1, 2 or 4 bytes may follow the displacement: after a ModRM
// byte of that form (mod 00, r/m 101) those readings count too. A filter by
// the byte before each window (only after a branch opcode or such a ModRM)
// would hold for code, but not for data: with it, Chromium's rewrite
// verified and then hung.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

namespace elfopt::rewrite {

/// Where a displacement could be.
struct PossibleTarget {
  uint64_t place = 0;  ///< of the displacement
  uint64_t target = 0; ///< the address it would reach
  bool operator==(const PossibleTarget &) const = default;
};

/// Every address a displacement or offset in \p bytes (linked at \p address)
/// could reach, in byte order; repeats are not removed.
inline std::vector<PossibleTarget> possibleTargetsOfBytes(std::span<const uint8_t> bytes, uint64_t address) {
  std::vector<PossibleTarget> targets;
  for (uint64_t off = 0; off < bytes.size(); ++off) {
    uint64_t p = address + off;
    targets.push_back({p, p + 1 + int64_t(int8_t(bytes[off]))});
    if (bytes.size() - off < 4)
      continue;
    int32_t disp;
    std::memcpy(&disp, bytes.data() + off, 4);
    targets.push_back({p, p + 4 + int64_t(disp)});
    // After a RIP-relative ModRM (or at the start, where it would lie before).
    if (off == 0 || (bytes[off - 1] & 0xc7) == 0x05)
      for (uint64_t immediate : {1, 2, 4})
        targets.push_back({p, p + 4 + immediate + int64_t(disp)});
  }
  return targets;
}

} // namespace elfopt::rewrite
