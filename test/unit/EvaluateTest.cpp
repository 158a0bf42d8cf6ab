// Layout scores (lib/Order/Evaluate.cpp) on function tables written out by
// hand: distinct 4 KiB pages, 64 and 128 KiB windows, backward steps, the
// lower bound, and the layouts `evaluate` compares (original, an order
// placed as the rewriter places it, another build by name).
#include "elfopt/Order/Evaluate.h"

#include <gtest/gtest.h>

using namespace elfopt;

namespace {

FunctionTable tableOf(const std::vector<Function> &functions) {
  FunctionTable t;
  t.source = FunctionSource::Symtab;
  t.functions = functions;
  return t;
}

RunSet setOf(const FunctionTable &table) {
  RunSet set;
  set.functions = functionsOf(table);
  return set;
}

void expectScore(const LayoutScore &s, double pages, double w64, double w128, double backward,
                 double lowerBound) {
  EXPECT_EQ(s.pages, pages);
  EXPECT_EQ(s.windows64k, w64);
  EXPECT_EQ(s.windows128k, w128);
  EXPECT_EQ(s.backward, backward);
  EXPECT_EQ(s.lowerBound, lowerBound);
}

} // namespace

TEST(EvaluateScore, PagesWindowsBackwardAndLowerBound) {
  FunctionTable t = tableOf({
      {"f0", 0x1000, 0x100, 1},  // page 1
      {"f1", 0x1ff0, 0x20, 1},   // 0x1ff0..0x200f: pages 1 and 2
      {"f2", 0x10000, 0x10, 1},  // page 0x10, 64 KiB window 1
      {"f3", 0x20000, 0x10, 1},  // page 0x20, 64 KiB window 2, 128 KiB window 1
      {"f4", 0x30000, 0x10, 1},  // never touched
  });
  RunSet set = setOf(t);
  TextLayout layout = TextLayout::original(t);
  // f1, f0 (down: 1 backward step), f2, f3.
  // pages {1, 2, 0x10, 0x20}; 64 KiB windows {0, 1, 2}; 128 KiB {0, 1};
  // bytes 0x20 + 0x100 + 0x10 + 0x10 = 0x140: one page at least.
  expectScore(scoreRun(set, {1, 0, 2, 3}, layout), 4, 3, 2, 1, 1);
  // Every step backward: f3, f2, f1, f0.
  expectScore(scoreRun(set, {3, 2, 1, 0}, layout), 4, 3, 2, 3, 1);
  // One function, and no function at all.
  expectScore(scoreRun(set, {2}, layout), 1, 1, 1, 0, 1);
  expectScore(scoreRun(set, {}, layout), 0, 0, 0, 0, 0);
}

TEST(EvaluateScore, PageBoundaries) {
  FunctionTable t = tableOf({
      {"endsAtBoundary", 0x1f00, 0x100, 1}, // last byte 0x1fff: page 1 only
      {"crosses", 0x2ff0, 0x11, 1},         // last byte 0x3000: pages 2 and 3
      {"empty", 0x4fff, 0, 1},              // counts as one byte
      {"window", 0xfff0, 0x20, 1},          // crosses the 64 KiB boundary, not 128 KiB
      {"exactPage", 0x6000, 0x1000, 1},     // exactly one page
      {"twoPages", 0x7000, 0x1001, 1},      // one byte more: 0x8000
  });
  RunSet set = setOf(t);
  TextLayout layout = TextLayout::original(t);
  expectScore(scoreRun(set, {0}, layout), 1, 1, 1, 0, 1);
  expectScore(scoreRun(set, {1}, layout), 2, 1, 1, 0, 1);
  expectScore(scoreRun(set, {2}, layout), 1, 1, 1, 0, 1);
  expectScore(scoreRun(set, {3}, layout), 2, 2, 1, 0, 1);
  expectScore(scoreRun(set, {4}, layout), 1, 1, 1, 0, 1);
  expectScore(scoreRun(set, {5}, layout), 2, 1, 1, 0, 2);
  // Lower bound: 0x1000 + 0x1001 bytes = 8193 -> 3 pages; touched pages
  // 6, 7, 8.
  expectScore(scoreRun(set, {4, 5}, layout), 3, 1, 1, 0, 3);
  // 0x100 + 0x11 + 1 bytes: one page; pages 1, 2, 3, 4.
  expectScore(scoreRun(set, {0, 1, 2}, layout), 4, 1, 1, 0, 1);
}

TEST(EvaluateLayout, OrderedFunctionsFirstAtTheirAlignment) {
  FunctionTable t = tableOf({
      {"f0", 0x1000, 0x30, 1}, // aligned 16
      {"f1", 0x1030, 0x3, 1},  // aligned 16
      {"f2", 0x1034, 0x9, 1},  // aligned 4
      {"f3", 0x103d, 0x3, 1},  // aligned 1
      {"f4", 0x1040, 0x10, 1}, // aligned 16 (64, capped at 16)
      {"g0", 0x5000, 0x10, 2}, // another code section
      {"g1", 0x5010, 0x0, 2},
  });
  // f3, f2, f4 first; f0, f1 after, in their original order. An address
  // listed twice and one that is no function are ignored.
  TextLayout l = TextLayout::withOrder(t, {0x103d, 0x1034, 0x5010, 0x103d, 0x1040, 0x9999});
  EXPECT_EQ(l.addressOf(0x103d), 0x1000u); // f3, 3 bytes
  EXPECT_EQ(l.addressOf(0x1034), 0x1004u); // f2 at 4-byte alignment, 9 bytes
  EXPECT_EQ(l.addressOf(0x1040), 0x1010u); // f4 at 16
  EXPECT_EQ(l.addressOf(0x1000), 0x1020u); // f0
  EXPECT_EQ(l.addressOf(0x1030), 0x1050u); // f1
  // Section 2 from its own start: g1 (empty, takes one byte), then g0.
  EXPECT_EQ(l.addressOf(0x5010), 0x5000u);
  EXPECT_EQ(l.addressOf(0x5000), 0x5010u);
  // Addresses that are no function's start stay.
  EXPECT_EQ(l.addressOf(0x9999), 0x9999u);

  TextLayout same = TextLayout::withOrder(t, {});
  for (const Function &f : t.functions)
    EXPECT_EQ(same.addressOf(f.address), f.address) << f.name;
}

TEST(EvaluateLayout, AnOrderTouchesFewerPages) {
  FunctionTable t = tableOf({
      {"a", 0x10000, 0x800, 1},
      {"b", 0x20000, 0x800, 1},
      {"c", 0x30000, 0x800, 1},
  });
  RunSet set = setOf(t);
  std::vector<uint32_t> run = {2, 0, 1}; // c, a, b
  // As linked: pages 0x10, 0x20, 0x30; 64 KiB windows 1, 2, 3; 128 KiB
  // windows 0, 1; c -> a goes back; 0x1800 bytes: 2 pages at least.
  expectScore(scoreRun(set, run, TextLayout::original(t)), 3, 3, 2, 1, 2);
  // Ordered c, a, b from 0x10000: 0x10000, 0x10800, 0x11000: pages 0x10
  // and 0x11, one window of each size, nothing backward.
  TextLayout ordered = TextLayout::withOrder(t, {0x30000, 0x10000, 0x20000});
  expectScore(scoreRun(set, run, ordered), 2, 1, 1, 0, 2);
}

TEST(EvaluateLayout, ByNameFollowsTheRewrittenBuild) {
  FunctionTable from = tableOf({{"a", 0x1000, 0x10, 1}, {"b", 0x2000, 0x10, 1}, {"c", 0x3000, 0x10, 1}});
  FunctionTable to = tableOf({{"b", 0x1000, 0x10, 1}, {"a", 0x1010, 0x10, 1}, {"d", 0x5000, 0x10, 1}});
  TextLayout l = TextLayout::byName(from, to);
  EXPECT_EQ(l.addressOf(0x1000), 0x1010u); // a
  EXPECT_EQ(l.addressOf(0x2000), 0x1000u); // b
  EXPECT_EQ(l.addressOf(0x3000), 0x3000u); // c: gone from `to`, stays
  EXPECT_EQ(l.addressOf(0x4000), 0x4000u);
}

TEST(EvaluateScore, SumsAndScales) {
  LayoutScore a{1, 2, 3, 4, 5};
  LayoutScore b{10, 20, 30, 40, 50};
  a += b;
  expectScore(a, 11, 22, 33, 44, 55);
  expectScore(a.scaled(0.5), 5.5, 11, 16.5, 22, 27.5);
}

TEST(EvaluateLayout, FunctionsOfTheTable) {
  FunctionTable t = tableOf({{"a", 0x1000, 0x10, 1}, {"b", 0x2000, 0x20, 3}});
  auto f = functionsOf(t);
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[1].symbol, "b");
  EXPECT_EQ(f[1].address, 0x2000u);
  EXPECT_EQ(f[1].size, 0x20u);
  EXPECT_EQ(f[1].support, 0.0);
}
