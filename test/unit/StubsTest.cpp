//===- StubsTest.cpp - forwarding stubs at suspected entries --------------===//
//
// A made-up block of instructions at known addresses: suspected entries 1,
// 2, 4, 5 and more bytes apart, entries at its last instruction and at its
// end label, endbr64 at an entry, 8-bit branches among the kept
// instructions, and instructions that cannot stay in the old place.
//
//===----------------------------------------------------------------------===//
#include "../../lib/Rewrite/Stubs.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

using namespace elfopt::rewrite;

namespace {

/// Instructions at the given starts, the last ending at bodyEnd, padding up
/// to limit.
struct Block {
  std::vector<uint64_t> starts;
  uint64_t bodyEnd, limit;
  std::set<uint64_t> notCopyable, endbr, ends;
  std::map<uint64_t, uint64_t> shortBranches; // at -> target (copyable)
  bool endTraps = false;

  StubCode code() const {
    StubCode c;
    c.next = [this](uint64_t a) {
      auto it = std::upper_bound(starts.begin(), starts.end(), a);
      return it == starts.end() ? bodyEnd : *it;
    };
    c.copyable = [this](uint64_t a) { return !notCopyable.count(a); };
    c.keepFirst = [this](uint64_t a) { return endbr.count(a) != 0; };
    c.endsFlow = [this](uint64_t a) { return ends.count(a) != 0; };
    c.shortTarget = [this](uint64_t a) -> std::optional<uint64_t> {
      auto it = shortBranches.find(a);
      return it == shortBranches.end() ? std::nullopt : std::optional(it->second);
    };
    c.bodyEnd = bodyEnd;
    c.limit = limit;
    c.endTraps = endTraps;
    return c;
  }
  std::optional<std::vector<StubRegion>> plan(std::vector<uint64_t> entries) const {
    return planStubs(entries, code());
  }
};

// 0x100: 1-byte instructions at 0x100..0x10f, then 4-byte ones to 0x130.
Block sample() {
  Block b;
  for (uint64_t a = 0x100; a < 0x110; ++a)
    b.starts.push_back(a);
  for (uint64_t a = 0x110; a < 0x130; a += 4)
    b.starts.push_back(a);
  b.bodyEnd = 0x130;
  b.limit = 0x140;
  return b;
}

TEST(PlanStubs, OneEntryIsOneJump) {
  EXPECT_EQ(sample().plan({0x110}), (std::vector<StubRegion>{{0x110, 0x110}}));
}

TEST(PlanStubs, EntriesFiveApartGetAJumpEach) {
  EXPECT_EQ(sample().plan({0x100, 0x105}), (std::vector<StubRegion>{{0x100, 0x100}, {0x105, 0x105}}));
}

TEST(PlanStubs, EntriesFourApartKeepTheFirstInstructionsUntilAJumpFits) {
  // A jump at 0x100 would cover 0x104: keep 0x100..0x103, jump at 0x104.
  EXPECT_EQ(sample().plan({0x100, 0x104}), (std::vector<StubRegion>{{0x100, 0x104}}));
}

TEST(PlanStubs, EntriesTwoAndOneApart) {
  EXPECT_EQ(sample().plan({0x100, 0x102}), (std::vector<StubRegion>{{0x100, 0x102}}));
  EXPECT_EQ(sample().plan({0x100, 0x101}), (std::vector<StubRegion>{{0x100, 0x101}}));
  // A chain: each entry under the jump of the one before moves the jump on.
  EXPECT_EQ(sample().plan({0x100, 0x101, 0x103, 0x107}), (std::vector<StubRegion>{{0x100, 0x107}}));
}

TEST(PlanStubs, AJumpMayStartInsideALongerInstructionsRun) {
  // 0x10e and 0x110: keep 0x10e, 0x10f; the jump at 0x110 forwards 0x110 too.
  EXPECT_EQ(sample().plan({0x10e, 0x110}), (std::vector<StubRegion>{{0x10e, 0x110}}));
}

TEST(PlanStubs, EntryAtTheLastInstructionUsesThePadding) {
  EXPECT_EQ(sample().plan({0x12c}), (std::vector<StubRegion>{{0x12c, 0x12c}}));
}

TEST(PlanStubs, NoRoomForTheJumpAtTheEnd) {
  Block b = sample();
  b.limit = 0x131; // a jump at 0x12c ends at 0x131: it fits
  EXPECT_TRUE(b.plan({0x12c}).has_value());
  b.limit = 0x130; // no padding: 0x12c + 5 > 0x130
  EXPECT_EQ(b.plan({0x12c}), std::nullopt);
}

TEST(PlanStubs, NoRoomForAJumpKeepsTheRestUpToTheReturn) {
  Block b = sample();
  b.limit = 0x130;
  b.ends = {0x12c}; // the last instruction returns
  EXPECT_EQ(b.plan({0x12c}), (std::vector<StubRegion>{{0x12c, 0x130, false}}));
  // 0x128 and 0x12c: a jump at 0x128 would cover 0x12c, one at 0x12c not fit.
  EXPECT_EQ(b.plan({0x128, 0x12c}), (std::vector<StubRegion>{{0x128, 0x130, false}}));
  // 0x124 jumps at 0x124; 0x12c keeps the return.
  EXPECT_EQ(b.plan({0x124, 0x12c}), (std::vector<StubRegion>{{0x124, 0x124}, {0x12c, 0x130, false}}));
  // Nothing ends the flow before the body's end: no stub.
  b.ends.clear();
  EXPECT_EQ(b.plan({0x12c}), std::nullopt);
  // Nor when an instruction on the way cannot stay.
  b.ends = {0x12c};
  b.notCopyable = {0x12c};
  EXPECT_EQ(b.plan({0x128, 0x12c}), std::nullopt);
}

TEST(PlanStubs, EntriesCloseToTheEndKeepTheRestThenJumpInThePadding) {
  // 0x128 and 0x12c are 4 apart: keep 0x128, jump at 0x12c.
  EXPECT_EQ(sample().plan({0x128, 0x12c}), (std::vector<StubRegion>{{0x128, 0x12c}}));
}

TEST(PlanStubs, AnInstructionThatCannotStayRefusesTheBlock) {
  Block b = sample();
  b.notCopyable.insert(0x100);
  EXPECT_EQ(b.plan({0x100, 0x102}), std::nullopt);
  // Alone, the entry needs no copy: the jump replaces it.
  EXPECT_EQ(b.plan({0x100}), (std::vector<StubRegion>{{0x100, 0x100}}));
}

TEST(PlanStubs, Endbr64AtAnEntryIsKeptBeforeTheJump) {
  Block b;
  b.starts = {0x200, 0x204, 0x208};
  b.bodyEnd = 0x210;
  b.limit = 0x210;
  b.endbr.insert(0x200);
  EXPECT_EQ(b.plan({0x200}), (std::vector<StubRegion>{{0x200, 0x204}}));
}

TEST(PlanStubs, AnEndLabelWithoutInt3AfterItHasNoStub) {
  EXPECT_EQ(sample().plan({0x130}), std::nullopt);
  EXPECT_EQ(sample().plan({0x110, 0x130}), std::nullopt);
}

TEST(PlanStubs, AnEndLabelKeepsItsInt3AndNoJump) {
  Block b = sample();
  b.endTraps = true;
  // The int3 at 0x130 stays, one byte, nothing after it.
  EXPECT_EQ(b.plan({0x130}), (std::vector<StubRegion>{{0x130, 0x131, false}}));
  // With an entry further up: its jump, then the int3.
  EXPECT_EQ(b.plan({0x110, 0x130}), (std::vector<StubRegion>{{0x110, 0x110}, {0x130, 0x131, false}}));
}

TEST(PlanStubs, EntriesOneToFiveBytesBeforeTheEndLabel) {
  // One-byte instructions 0x300..0x30f, the end label at 0x310, int3 after.
  Block b;
  for (uint64_t a = 0x300; a < 0x310; ++a)
    b.starts.push_back(a);
  b.bodyEnd = 0x310;
  b.limit = 0x320;
  b.endTraps = true;
  // 1, 2 and 4 bytes apart: a jump would cover the end label, where none
  // may stand: the instructions run into the kept int3, as they did.
  EXPECT_EQ(b.plan({0x30f, 0x310}), (std::vector<StubRegion>{{0x30f, 0x311, false}}));
  EXPECT_EQ(b.plan({0x30e, 0x310}), (std::vector<StubRegion>{{0x30e, 0x311, false}}));
  EXPECT_EQ(b.plan({0x30c, 0x310}), (std::vector<StubRegion>{{0x30c, 0x311, false}}));
  // 5 apart: a jump of its own, then the int3.
  EXPECT_EQ(b.plan({0x30b, 0x310}), (std::vector<StubRegion>{{0x30b, 0x30b}, {0x310, 0x311, false}}));
  // An instruction on the way that cannot stay refuses the block.
  b.notCopyable = {0x30e};
  EXPECT_EQ(b.plan({0x30c, 0x310}), std::nullopt);
  // Without int3 after the end label, no stub.
  b.notCopyable.clear();
  b.endTraps = false;
  EXPECT_EQ(b.plan({0x30f, 0x310}), std::nullopt);
}

TEST(PlanStubs, NoRoomForAJumpRunsIntoTheKeptInt3) {
  // The last instruction does not end the flow and no jump fits after
  // 0x404: the original ran into the int3 at 0x407, and so does the copy.
  Block b;
  b.starts = {0x400, 0x404};
  b.bodyEnd = 0x407;
  b.limit = 0x408;
  b.endTraps = true;
  EXPECT_EQ(b.plan({0x404}), (std::vector<StubRegion>{{0x404, 0x408, false}}));
  b.endTraps = false;
  EXPECT_EQ(b.plan({0x404}), std::nullopt);
}

TEST(PlanStubs, AKept8BitBranchMakesItsTargetAnEntry) {
  Block b = sample();
  // Entries 0x100 and 0x102: 0x100 and 0x101 are kept; 0x101 is a short
  // branch to 0x120, which gets a jump of its own.
  b.shortBranches = {{0x101, 0x120}};
  EXPECT_EQ(b.plan({0x100, 0x102}), (std::vector<StubRegion>{{0x100, 0x102}, {0x120, 0x120}}));
  // Its target close to an entry: they share one stub.
  EXPECT_EQ(b.plan({0x100, 0x102, 0x11c}), (std::vector<StubRegion>{{0x100, 0x102}, {0x11c, 0x120}}));
  // A branch back into the kept instructions needs nothing more.
  b.shortBranches = {{0x101, 0x100}};
  EXPECT_EQ(b.plan({0x100, 0x102}), (std::vector<StubRegion>{{0x100, 0x102}}));
  // A target that adds a kept branch of its own: planned until none adds one.
  b.shortBranches = {{0x101, 0x108}, {0x108, 0x128}};
  EXPECT_EQ(b.plan({0x100, 0x102, 0x10a}),
            (std::vector<StubRegion>{{0x100, 0x102}, {0x108, 0x10a}, {0x128, 0x128}}));
  // A target whose own stub cannot be written refuses the block.
  b.shortBranches = {{0x101, 0x12c}};
  b.limit = 0x130;
  EXPECT_EQ(b.plan({0x100, 0x102}), std::nullopt);
  // To the end label with int3 after it: the int3 stays.
  b.limit = 0x140;
  b.endTraps = true;
  b.shortBranches = {{0x101, 0x130}};
  EXPECT_EQ(b.plan({0x100, 0x102}), (std::vector<StubRegion>{{0x100, 0x102}, {0x130, 0x131, false}}));
}

TEST(PlanStubs, NoEntriesNoStubs) {
  EXPECT_EQ(sample().plan({}), (std::vector<StubRegion>{}));
}

} // namespace

// verify walks at most 16 kept instructions from an entry
// (x86_64::StubMaxKeptInstructions): a run of entries that would keep more
// gets no stubs, and the code stays in place.
TEST(Stubs, KeepsNoMoreInstructionsThanVerifyWalks) {
  Block b;
  for (uint64_t a = 0x100; a < 0x140; ++a)
    b.starts.push_back(a);
  b.bodyEnd = 0x140;
  b.limit = 0x150;
  // Entries at 0x100..0x110, one byte apart: 0x100..0x10f kept (16), the
  // jump at the last entry forwards it.
  std::vector<uint64_t> entries;
  for (uint64_t a = 0x100; a <= 0x110; ++a)
    entries.push_back(a);
  EXPECT_EQ(b.plan(entries), (std::vector<StubRegion>{{0x100, 0x110}}));
  // One more entry, at 0x111: 17 would be kept.
  entries.push_back(0x111);
  EXPECT_EQ(b.plan(entries), std::nullopt);
}
