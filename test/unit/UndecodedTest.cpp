//===- UndecodedTest.cpp - where bytes that did not decode could refer ----===//
//
// possibleTargetsOfBytes reads a displacement only after the byte x86-64
// puts right before one: a short or near branch opcode, xbegin, or a ModRM
// byte of a RIP-relative operand (then from the end of every immediate that
// may follow). Bytes at the start are read every way.
//
//===----------------------------------------------------------------------===//
#include "../../lib/Rewrite/Undecoded.h"

#include <gtest/gtest.h>

using namespace elfopt::rewrite;

namespace {
constexpr uint64_t At = 0x1000;
using Bytes = std::vector<uint8_t>;
using Targets = std::vector<PossibleTarget>;
} // namespace

TEST(Undecoded, DisplacementsFollowTheirOpcode) {
  // 06 (no instruction in 64-bit mode) then e8 rel32 = 0x100: a call to
  // 0x1006 + 0x100. Only the byte after e8 starts a displacement; the first
  // byte is read every way (its opcode would lie before).
  Bytes b{0x06, 0xe8, 0x00, 0x01, 0x00, 0x00};
  Targets want{
      {At, At + 1 + 0x06},                                   // rel8 at the start
      {At, At + 4 + 0x0100e806}, {At, At + 5 + 0x0100e806}, // rel32 or disp32 at the start
      {At, At + 6 + 0x0100e806}, {At, At + 8 + 0x0100e806},
      {At + 2, At + 6 + 0x100}, // after e8
  };
  EXPECT_EQ(possibleTargetsOfBytes(b, At), want);
}

TEST(Undecoded, EveryBranchOpcode) {
  // Each rel8 opcode with rel8 = 0x10 after a byte that is no opcode (06).
  for (int op : {0xeb, 0x70, 0x7f, 0xe0, 0xe3}) {
    Bytes b{0x06, uint8_t(op), 0x10};
    auto t = possibleTargetsOfBytes(b, At);
    EXPECT_NE(std::find(t.begin(), t.end(), PossibleTarget{At + 2, At + 3 + 0x10}), t.end()) << op;
  }
  for (int op : {0x06, 0x6f, 0x80, 0xe4, 0xe8}) { // no rel8 after these
    Bytes b{0x06, uint8_t(op), 0x10};
    auto t = possibleTargetsOfBytes(b, At);
    EXPECT_EQ(std::find(t.begin(), t.end(), PossibleTarget{At + 2, At + 3 + 0x10}), t.end()) << op;
  }
  // rel32 after e9, 0f 8x and c7 f8 (xbegin); not after 8x without 0f, nor f8 without c7.
  auto near = [](Bytes prefix) {
    Bytes b{0x06, 0x06};
    b.insert(b.end(), prefix.begin(), prefix.end());
    uint64_t place = At + b.size();
    b.insert(b.end(), {0x20, 0, 0, 0});
    auto t = possibleTargetsOfBytes(b, At);
    return std::find(t.begin(), t.end(), PossibleTarget{place, place + 4 + 0x20}) != t.end();
  };
  EXPECT_TRUE(near({0xe9}));
  EXPECT_TRUE(near({0x0f, 0x84}));
  EXPECT_TRUE(near({0xc7, 0xf8}));
  EXPECT_FALSE(near({0x06, 0x84}));
  EXPECT_FALSE(near({0x06, 0xf8}));
  EXPECT_FALSE(near({0x06}));
}

TEST(Undecoded, RipRelativeOperandsCountFromTheImmediate) {
  // 06, then 8b 05 disp32 (mov disp(%rip),%eax): after the ModRM 05 the
  // displacement counts from the end of an immediate of 0, 1, 2 or 4 bytes.
  // A ModRM of another mode (45: disp8 off %rbp) starts none.
  Bytes b{0x06, 0x8b, 0x05, 0x40, 0, 0, 0};
  auto t = possibleTargetsOfBytes(b, At);
  for (uint64_t immediate : {0, 1, 2, 4})
    EXPECT_NE(std::find(t.begin(), t.end(), PossibleTarget{At + 3, At + 7 + immediate + 0x40}), t.end());
  Bytes c{0x06, 0x8b, 0x45, 0x40, 0, 0, 0};
  for (const PossibleTarget &p : possibleTargetsOfBytes(c, At))
    EXPECT_NE(p.place, At + 3);
}

TEST(Undecoded, DataWithoutOpcodesReachesOnlyFromItsStart) {
  // Bytes none of which is an opcode or a RIP-relative ModRM: only the
  // readings of the first byte remain (4 when at least 4 bytes follow).
  Bytes b(64, 0x06);
  auto t = possibleTargetsOfBytes(b, At);
  ASSERT_EQ(t.size(), 5u);
  for (const PossibleTarget &p : t)
    EXPECT_EQ(p.place, At);
}
