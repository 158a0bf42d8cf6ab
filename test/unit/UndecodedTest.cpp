//===- UndecodedTest.cpp - where bytes that did not decode could refer ----===//
//
// possibleTargetsOfBytes reads every window: a 1-byte one as a rel8, a
// 4-byte one as an offset from its end (code's rel32 or data's offset: the
// two cannot be told apart), and after a RIP-relative ModRM byte also from
// the end of an immediate of 1, 2 or 4 bytes.
//
//===----------------------------------------------------------------------===//
#include "../../lib/Rewrite/Undecoded.h"

#include <gtest/gtest.h>

#include <algorithm>

using namespace elfopt::rewrite;

namespace {
constexpr uint64_t At = 0x1000;
using Bytes = std::vector<uint8_t>;
using Targets = std::vector<PossibleTarget>;

bool has(const Targets &t, PossibleTarget p) { return std::find(t.begin(), t.end(), p) != t.end(); }
} // namespace

TEST(Undecoded, EveryWindowIsRead) {
  // 06 06 then a word 0x100: data or code, the word may reach At + 6 + 0x100
  // whatever byte comes before it.
  Bytes b{0x06, 0x06, 0x00, 0x01, 0x00, 0x00};
  Targets want{
      {At, At + 1 + 0x06},                                   // rel8 at the start
      {At, At + 4 + 0x01000606}, {At, At + 5 + 0x01000606}, // the word at the start, and as a
      {At, At + 6 + 0x01000606}, {At, At + 8 + 0x01000606}, // RIP-relative operand's
      {At + 1, At + 2 + 0x06},
      {At + 1, At + 5 + 0x00010006},
      {At + 2, At + 3 + 0x00},
      {At + 2, At + 6 + 0x100},
      {At + 3, At + 4 + 0x01},
      {At + 4, At + 5},
      {At + 5, At + 6},
  };
  EXPECT_EQ(possibleTargetsOfBytes(b, At), want);
}

TEST(Undecoded, RipRelativeOperandsCountFromTheImmediate) {
  // 06, then 8b 05 disp32 (mov disp(%rip),%eax): after the ModRM 05 the
  // displacement counts from the end of an immediate of 0, 1, 2 or 4 bytes.
  // A ModRM of another mode (45: disp8 off %rbp) adds no immediate readings.
  Bytes b{0x06, 0x8b, 0x05, 0x40, 0, 0, 0};
  auto t = possibleTargetsOfBytes(b, At);
  for (uint64_t immediate : {0, 1, 2, 4})
    EXPECT_TRUE(has(t, {At + 3, At + 7 + immediate + 0x40})) << immediate;
  Bytes c{0x06, 0x8b, 0x45, 0x40, 0, 0, 0};
  auto u = possibleTargetsOfBytes(c, At);
  EXPECT_TRUE(has(u, {At + 3, At + 7 + 0x40}));
  for (uint64_t immediate : {1, 2, 4})
    EXPECT_FALSE(has(u, {At + 3, At + 7 + immediate + 0x40})) << immediate;
}
