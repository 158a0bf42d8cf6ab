//===- Undecoded.h - where bytes that did not decode could refer -*- C++ -*-===//
//
// Bytes LLVM cannot decode may be data, or code holding branches and
// RIP-relative operands nobody can read; whatever such an operand could
// reach keeps its address. An x86-64 displacement follows its opcode or
// ModRM byte directly (prefixes come before the opcode, and a RIP-relative
// operand has no SIB byte), so a window of the bytes can hold one only
// after such a byte:
//
//     rel8    after EB, 70-7F, E0-E3              target = end of the byte + rel8
//     rel32   after E8, E9, 0F 80-8F, C7 F8       target = end of the word + rel32
//     disp32  after a ModRM with mod 00, r/m 101   target = end of the instruction:
//             (RIP-relative)                       the word's end + an immediate of 0, 1, 2 or 4
//
// A window whose opcode would lie before the bytes (they start in the middle
// of what came before) is read every way.
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

/// Every address a displacement in \p bytes (linked at \p address) could
/// reach if they are x86-64 code, in byte order; repeats are not removed.
inline std::vector<PossibleTarget> possibleTargetsOfBytes(std::span<const uint8_t> bytes, uint64_t address) {
  std::vector<PossibleTarget> targets;
  // The byte \p back before offset \p off; -1 when it lies before the bytes.
  auto before = [&](uint64_t off, uint64_t back) { return off >= back ? int(bytes[off - back]) : -1; };
  for (uint64_t off = 0; off < bytes.size(); ++off) {
    uint64_t p = address + off;
    int b1 = before(off, 1), b2 = before(off, 2);
    bool rel8 = b1 < 0 || b1 == 0xeb || (b1 >= 0x70 && b1 <= 0x7f) || (b1 >= 0xe0 && b1 <= 0xe3);
    if (rel8)
      targets.push_back({p, p + 1 + int64_t(int8_t(bytes[off]))});
    if (bytes.size() - off < 4)
      continue;
    int32_t disp;
    std::memcpy(&disp, bytes.data() + off, 4);
    bool rel32 = b1 < 0 || b1 == 0xe8 || b1 == 0xe9 || (b1 >= 0x80 && b1 <= 0x8f && (b2 < 0 || b2 == 0x0f)) ||
                 (b1 == 0xf8 && (b2 < 0 || b2 == 0xc7));
    bool ripRelative = b1 < 0 || (b1 & 0xc7) == 0x05;
    if (rel32 || ripRelative)
      targets.push_back({p, p + 4 + int64_t(disp)});
    if (ripRelative)
      for (uint64_t immediate : {1, 2, 4})
        targets.push_back({p, p + 4 + immediate + int64_t(disp)});
  }
  return targets;
}

} // namespace elfopt::rewrite
