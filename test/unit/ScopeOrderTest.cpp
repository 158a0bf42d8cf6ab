// The scope-order planner and its proofs on start models written out here:
// glibc's breadth-first scope, its depth-first _dl_sort_maps, and which
// moves each proof refuses, with exact results.
#include "elfopt/Scope/ScopeOrder.h"

#include <gtest/gtest.h>

using namespace elfopt;

namespace {

// A model with objects 0 (the program) .. n-1, each with its DT_NEEDED list
// and whether it has constructors; every library answers \p answered.
ScopeModel model(std::vector<std::vector<uint32_t>> needed, std::vector<bool> init,
                 std::vector<uint64_t> answered) {
  ScopeModel m;
  for (size_t i = 0; i < needed.size(); ++i) {
    ScopeModel::Object o;
    o.name = i == 0 ? "prog" : "lib" + std::string(1, char('a' + i - 1));
    o.needed = needed[i];
    o.hasInit = o.hasFini = init[i];
    o.sameFileFromProgram = true;
    m.objects.push_back(o);
  }
  m.startup = needed.size();
  m.answered = answered;
  for (uint64_t a : answered)
    m.lookups += a;
  return m;
}

} // namespace

TEST(ScopeOrder, BreadthFirstEachObjectOnce) {
  // prog -> a, b; a -> c; b -> c, d.
  ScopeModel m = model({{1, 2}, {3}, {3, 4}, {}, {}}, {0, 0, 0, 0, 0}, {0, 0, 0, 0, 0});
  EXPECT_EQ(breadthFirstScope(m, {1, 2}), (std::vector<uint32_t>{0, 1, 2, 3, 4}));
  EXPECT_EQ(breadthFirstScope(m, {2, 1}), (std::vector<uint32_t>{0, 2, 1, 3, 4}));
  // Naming c first puts it first; d still comes through b.
  EXPECT_EQ(breadthFirstScope(m, {3, 1, 2}), (std::vector<uint32_t>{0, 3, 1, 2, 4}));
}

TEST(ScopeOrder, DepthFirstSortAsGlibc) {
  // Independent leaves: initialised in reverse scope order (call_init runs
  // l_initfini from its end).
  ScopeModel leaves = model({{1, 2}, {}, {}}, {0, 1, 1}, {0, 0, 0});
  EXPECT_EQ(sortMapsDepthFirst(leaves, {0, 1, 2}), (std::vector<uint32_t>{0, 1, 2}));
  EXPECT_EQ(initOrder(leaves, {0, 1, 2}), (std::vector<uint32_t>{2, 1}));
  EXPECT_EQ(initOrder(leaves, {0, 2, 1}), (std::vector<uint32_t>{1, 2}));
  // b needs a: a is initialised first whatever the scope order.
  ScopeModel dep = model({{1, 2}, {}, {1}}, {0, 1, 1}, {0, 0, 0});
  EXPECT_EQ(sortMapsDepthFirst(dep, {0, 1, 2}), (std::vector<uint32_t>{0, 2, 1}));
  EXPECT_EQ(initOrder(dep, {0, 1, 2}), (std::vector<uint32_t>{1, 2}));
  EXPECT_EQ(initOrder(dep, {0, 2, 1}), (std::vector<uint32_t>{1, 2}));
  // A dependency on the program is not followed (l_main_map).
  ScopeModel back = model({{1}, {0}}, {0, 1}, {0, 0});
  EXPECT_EQ(sortMapsDepthFirst(back, {0, 1}), (std::vector<uint32_t>{0, 1}));
}

TEST(ScopeOrder, ProofsSayWhatWouldChange) {
  // prog -> a, b, c; all independent.
  ScopeModel m = model({{1, 2, 3}, {}, {}, {}}, {0, 0, 0, 0}, {0, 1, 1, 1});
  std::vector<uint32_t> original{0, 1, 2, 3}, swapped{0, 2, 1, 3};
  EXPECT_TRUE(proveScopeOrder(m, original, swapped).empty());
  // A symbol a and b both define: a answers it now.
  m.contests.push_back({"shared", {1, 2}, 1, 7});
  auto problems = proveScopeOrder(m, original, swapped);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0], "binding: shared (7 lookups) would bind to libb instead of liba");
  m.contests.clear();
  // Constructors in a and b: their order would flip.
  m.objects[1].hasInit = m.objects[2].hasInit = true;
  problems = proveScopeOrder(m, original, swapped);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0], "constructor order: liba before libb (was libb first)");
  // b's constructors are proved inert: their place is free.
  m.objects[2].initInert = true;
  EXPECT_TRUE(proveScopeOrder(m, original, swapped).empty());
  // Destructors still matter when they are not proved inert.
  m.objects[1].hasFini = m.objects[2].hasFini = true;
  problems = proveScopeOrder(m, original, swapped);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0], "destructor order: libb before liba (was liba first)");
  m.objects[1].hasFini = m.objects[2].hasFini = false;
  m.objects[2].initInert = false;
  // Only one of them has one: nothing observable changes.
  m.objects[2].hasInit = false;
  EXPECT_TRUE(proveScopeOrder(m, original, swapped).empty());
  m.objects[1].hasInit = false;
  // dlsym importers keep their relative order; one alone may move.
  m.objects[1].importsDlsym = m.objects[2].importsDlsym = true;
  problems = proveScopeOrder(m, original, swapped);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0], "dlsym(RTLD_NEXT) order: libb before liba (was liba first)");
  m.objects[1].importsDlsym = m.objects[2].importsDlsym = false;
  // A unique symbol's first definer.
  m.uniques.push_back({"_ZN1S1vE", {1, 2}});
  problems = proveScopeOrder(m, original, swapped);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0], "STB_GNU_UNIQUE _ZN1S1vE would be first defined by libb instead of liba");
}

TEST(ScopeOrder, PlanMovesTheBusiestFirstAndSaysWhyNot) {
  // prog -> a, b; b -> c. c answers most, then b; a answers one.
  ScopeModel m = model({{1, 2}, {}, {3}, {}}, {0, 0, 0, 0}, {0, 1, 10, 100});
  ScopePlan plan = planScopeOrder(m, 1);
  EXPECT_EQ(plan.programNeeded, (std::vector<uint32_t>{3, 2, 1}));
  EXPECT_EQ(plan.scope, (std::vector<uint32_t>{0, 3, 2, 1}));
  EXPECT_EQ(plan.addedEntries, 1u);
  EXPECT_EQ(plan.probesBefore, 1 * 2 + 10 * 3 + 100 * 4u);
  EXPECT_EQ(plan.probesAfter, 100 * 2 + 10 * 3 + 1 * 4u);
  EXPECT_TRUE(plan.refused.empty());
  // No spare slot: c cannot be named; b still moves before a.
  plan = planScopeOrder(m, 0);
  EXPECT_EQ(plan.programNeeded, (std::vector<uint32_t>{2, 1}));
  ASSERT_EQ(plan.refused.size(), 1u);
  EXPECT_EQ(plan.refused[0].object, 3u);
  EXPECT_EQ(plan.refused[0].reason, "no spare .dynamic slot for a new DT_NEEDED entry");
  // c found elsewhere from the program's search path: not named either.
  m.objects[3].sameFileFromProgram = false;
  plan = planScopeOrder(m, 1);
  EXPECT_EQ(plan.addedEntries, 0u);
  ASSERT_EQ(plan.refused.size(), 1u);
  EXPECT_EQ(plan.refused[0].reason,
            "the program's own search path does not find this file by libc, so it cannot name it");
  m.objects[3].sameFileFromProgram = true;
  // a and b have constructors: b cannot pass a. c has none, so it still
  // moves first.
  m.objects[1].hasInit = m.objects[2].hasInit = true;
  plan = planScopeOrder(m, 1);
  EXPECT_EQ(plan.programNeeded, (std::vector<uint32_t>{3, 1, 2}));
  ASSERT_EQ(plan.refused.size(), 1u);
  EXPECT_EQ(plan.refused[0].object, 2u);
  EXPECT_EQ(plan.refused[0].reason, "constructor order: liba before libb (was libb first)");
  // Nothing to gain, nothing refused: kept as it is.
  ScopeModel flat = model({{1, 2}, {}, {}}, {0, 0, 0}, {0, 5, 1});
  plan = planScopeOrder(flat, 4);
  EXPECT_FALSE(plan.changed());
  EXPECT_TRUE(plan.refused.empty());
}

TEST(ScopeOrder, ANewEntryMayGoLast) {
  // prog -> a, b; a -> c; b -> d: the scope is prog a b c d. d answers most
  // but must stay behind b (both define a symbol b answers); named after b,
  // with b moved in front of it, it comes before a and c.
  ScopeModel m = model({{1, 2}, {3}, {4}, {}, {}}, {0, 0, 0, 0, 0}, {0, 1, 1, 1, 100});
  m.contests.push_back({"shared", {2, 4}, 2, 5});
  ScopePlan plan = planScopeOrder(m, 1);
  EXPECT_EQ(plan.programNeeded, (std::vector<uint32_t>{2, 4, 1}));
  EXPECT_EQ(plan.scope, (std::vector<uint32_t>{0, 2, 4, 1, 3}));
  EXPECT_EQ(plan.addedEntries, 1u);
  // With a and b's constructors in their order to keep, b stays behind a;
  // d, named last, still comes before c.
  m.objects[1].hasInit = m.objects[2].hasInit = true;
  plan = planScopeOrder(m, 1);
  EXPECT_EQ(plan.programNeeded, (std::vector<uint32_t>{1, 2, 4}));
  EXPECT_EQ(plan.scope, (std::vector<uint32_t>{0, 1, 2, 4, 3}));
}

TEST(ScopeOrder, TheWinnerOfAContestMovesAlong) {
  // prog -> a, b, c. c answers most, but b answers a symbol both define
  // (a weak template copy, say): c may go first only with b in front of it.
  ScopeModel m = model({{1, 2, 3}, {}, {}, {}}, {0, 0, 0, 0}, {0, 1, 2, 100});
  m.contests.push_back({"shared", {2, 3}, 2, 5});
  ScopePlan plan = planScopeOrder(m, 0);
  EXPECT_EQ(plan.programNeeded, (std::vector<uint32_t>{2, 3, 1}));
  EXPECT_EQ(plan.probesAfter, 2 * 2 + 100 * 3 + 1 * 4u);
  // c is still held back from the very front, by the binding.
  ASSERT_EQ(plan.refused.size(), 1u);
  EXPECT_EQ(plan.refused[0].object, 3u);
  // The winner cannot pass a: its constructors would run in another order
  // (a and b have some, c none). c then stays behind b.
  m.objects[1].hasInit = m.objects[2].hasInit = true;
  plan = planScopeOrder(m, 0);
  EXPECT_EQ(plan.programNeeded, (std::vector<uint32_t>{1, 2, 3}));
  ASSERT_EQ(plan.refused.size(), 2u);
  EXPECT_EQ(plan.refused[0].object, 3u);
  EXPECT_EQ(plan.refused[0].reason, "binding: shared (5 lookups) would bind to libc instead of libb");
  EXPECT_EQ(plan.refused[1].object, 2u);
  EXPECT_EQ(plan.refused[1].reason, "constructor order: liba before libb (was libb first)");
}
