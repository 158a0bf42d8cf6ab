// Ordering (lib/Order/Order.cpp) on runs written out by hand: statistics,
// the Markov weights (window, decay), the joining of chains, the rule that
// a join never puts a chain that starts later in time first, the rarity
// penalty, ties broken on addresses, and the output and input formats.
#include "elfopt/Order/Order.h"
#include "Support.h"

#include <gtest/gtest.h>

#include <algorithm>

using namespace elfopt;
using namespace elfopt::test;

namespace {

// A run set of the named functions (at the given addresses) and runs given
// by name; support and position filled in.
struct Fn {
  const char *name;
  uint64_t address;
};

RunSet runSet(const std::vector<Fn> &functions,
              const std::vector<std::vector<std::string>> &runs) {
  RunSet set;
  for (const Fn &f : functions)
    set.functions.push_back({f.name, f.address, 0x10, 0, 0});
  for (const auto &run : runs) {
    std::vector<uint32_t> seq;
    for (const std::string &name : run) {
      auto it = std::find_if(set.functions.begin(), set.functions.end(),
                             [&](const OrderedFunction &f) { return f.symbol == name; });
      seq.push_back(uint32_t(it - set.functions.begin()));
    }
    set.runs.push_back(seq);
  }
  computeStatistics(set, set.runs);
  return set;
}

std::vector<std::string> names(const RunSet &set, const std::vector<uint32_t> &order) {
  std::vector<std::string> out;
  for (uint32_t f : order)
    out.push_back(set.functions[f].symbol);
  return out;
}

std::vector<std::string> markov(const RunSet &set, unsigned window, double decay,
                                double rarityPenalty = 1.0) {
  OrderParameters p;
  p.window = window;
  p.decay = decay;
  p.rarityPenalty = rarityPenalty;
  return names(set, orderMarkov(set, set.runs, p));
}

using Names = std::vector<std::string>;

// Two runs that agree on A first and B last, with X or Y between them:
//   R1 = A X B, R2 = A Y B
// support A = B = 1, X = Y = 1/2; position A 0, X = Y 1/2, B 1.
// Per run, divided by the 2 runs:
//   W(A->X) = W(X->B) = W(A->Y) = W(Y->B) = 1/2
//   W(A->B) = 0 with window 1, (decay + decay) / 2 = decay with window >= 2.
// When A->B is the heaviest it joins A B and leaves X and Y alone (keys:
// A B 0.5; X = Y = 1/2 + (1 - 1/2) = 1, tie on address): A B X Y.
// Otherwise A->X joins A X, A->Y finds A no longer a tail, X->B joins
// A X B (key (0 + 1 + 1) / 3), and Y (key 1) follows: A X B Y.
RunSet middleOfTwo(uint64_t addressOfB = 0x2000) {
  return runSet({{"A", 0x1000}, {"B", addressOfB}, {"X", 0x3000}, {"Y", 0x4000}},
                {{"A", "X", "B"}, {"A", "Y", "B"}});
}

} // namespace

TEST(OrderStatistics, SupportAndPosition) {
  // f0 is touched by run 1 only, first; f1 is third of four in run 1 (2/3)
  // and last of two in run 2 (1); f4 never.
  RunSet set = runSet({{"f0", 0x10}, {"f1", 0x20}, {"f2", 0x30}, {"f3", 0x40}, {"f4", 0x50}},
                      {{"f0", "f2", "f1", "f3"}, {"f3", "f1"}, {"f3"}});
  auto support = [&](int f) { return set.functions[f].support; };
  auto position = [&](int f) { return set.functions[f].position; };
  EXPECT_DOUBLE_EQ(support(0), 1.0 / 3);
  EXPECT_DOUBLE_EQ(support(1), 2.0 / 3);
  EXPECT_DOUBLE_EQ(support(2), 1.0 / 3);
  EXPECT_DOUBLE_EQ(support(3), 1.0);
  EXPECT_DOUBLE_EQ(support(4), 0.0);
  EXPECT_DOUBLE_EQ(position(0), 0.0);
  EXPECT_DOUBLE_EQ(position(1), (2.0 / 3 + 1.0) / 2);
  EXPECT_DOUBLE_EQ(position(2), 1.0 / 3);
  // Last of four in run 1, first of two in run 2, alone in run 3 (0).
  EXPECT_DOUBLE_EQ(position(3), (1.0 + 0.0 + 0.0) / 3);
  EXPECT_DOUBLE_EQ(position(4), 1.0); // untouched: last
}

TEST(OrderMarkov, WindowLimitsWhichTransitionsCount) {
  RunSet set = middleOfTwo();
  // Window 1: A->B is never counted.
  EXPECT_EQ(markov(set, 1, 0.6), (Names{"A", "X", "B", "Y"}));
  // Window 2: A->B weighs 0.6, more than any other transition.
  EXPECT_EQ(markov(set, 2, 0.6), (Names{"A", "B", "X", "Y"}));
  EXPECT_EQ(markov(set, 8, 0.6), (Names{"A", "B", "X", "Y"}));
}

TEST(OrderMarkov, DecayWeighsTransitionsFurtherAhead) {
  RunSet set = middleOfTwo();
  // Window 2, decay 0.4: A->B weighs 0.4, less than the direct steps (0.5).
  EXPECT_EQ(markov(set, 2, 0.4), (Names{"A", "X", "B", "Y"}));
  EXPECT_EQ(markov(set, 2, 0.6), (Names{"A", "B", "X", "Y"}));
}

TEST(OrderMarkov, EqualWeightsBreakOnAddresses) {
  // Decay 0.5: A->B, A->X, A->Y, X->B, Y->B all weigh exactly 0.5. Edges of
  // equal weight are taken by the source's address, then the target's.
  // B below X: A->B comes first.
  EXPECT_EQ(markov(middleOfTwo(0x2000), 2, 0.5), (Names{"A", "B", "X", "Y"}));
  // B above X and Y: A->X comes first.
  EXPECT_EQ(markov(middleOfTwo(0x5000), 2, 0.5), (Names{"A", "X", "B", "Y"}));
}

TEST(OrderMarkov, JoinNeverPutsALaterChainFirst) {
  // R1 = P B A, R2 = P2 B A, R3..R5 = A Q. Window 1, weights per run / 5:
  //   A->Q 0.6, B->A 0.4, P->B 0.2, P2->B 0.2.
  // position: P = P2 = 0, A = (1 + 1 + 0 + 0 + 0) / 5 = 0.4, B = 0.5, Q = 1.
  // A->Q joins A Q. B->A is the next heaviest, but it would put B (which
  // starts at 0.5) before A Q (starting at 0.4): refused. P->B joins P B;
  // P2->B finds B no longer a head.
  // Keys (penalty 1): A Q = (0.4 + 1.4) / 2 = 0.9; P B = (0.8 + 1.1) / 2 =
  // 0.95; P2 = 0.8. Joining along B->A would have given P B A Q (0.925).
  RunSet set = runSet({{"A", 0x1000}, {"B", 0x2000}, {"P", 0x3000}, {"P2", 0x4000}, {"Q", 0x5000}},
                      {{"P", "B", "A"}, {"P2", "B", "A"}, {"A", "Q"}, {"A", "Q"}, {"A", "Q"}});
  EXPECT_EQ(markov(set, 1, 0.5), (Names{"P2", "A", "Q", "P", "B"}));
}

TEST(OrderMarkov, JoinAllowedForwardInTime) {
  // One run: every transition goes forward; one chain in run order.
  RunSet set = runSet({{"c", 0x1000}, {"a", 0x2000}, {"d", 0x3000}, {"b", 0x4000}},
                      {{"d", "a", "b", "c"}});
  EXPECT_EQ(markov(set, 8, 0.5), (Names{"d", "a", "b", "c"}));
}

TEST(OrderMarkov, RarityPenaltyPutsCommonFunctionsFirst) {
  // No transitions: R1 = A, R2 = B, R3 = B; every position is 0.
  // Keys: A = penalty * (1 - 1/3), B = penalty * (1 - 2/3).
  RunSet set = runSet({{"A", 0x1000}, {"B", 0x2000}}, {{"A"}, {"B"}, {"B"}});
  EXPECT_EQ(markov(set, 8, 0.5, 1.0), (Names{"B", "A"}));
  // Without the penalty both keys are 0: the lower address goes first.
  EXPECT_EQ(markov(set, 8, 0.5, 0.0), (Names{"A", "B"}));
}

TEST(OrderMarkov, ChainKeyIsTheMeanOverItsFunctions) {
  // R1 = A B, R2 = R3 = C D. Window 1: chains A B and C D.
  // Penalty 1: A B = (0 + 2/3 + 1 + 2/3) / 2 = 7/6; C D = (1/3 + 4/3) / 2 =
  // 5/6. Penalty 0: both 1/2; A B holds the lowest address.
  RunSet set = runSet({{"A", 0x1000}, {"B", 0x2000}, {"C", 0x3000}, {"D", 0x4000}},
                      {{"A", "B"}, {"C", "D"}, {"C", "D"}});
  EXPECT_EQ(markov(set, 1, 0.5, 1.0), (Names{"C", "D", "A", "B"}));
  EXPECT_EQ(markov(set, 1, 0.5, 0.0), (Names{"A", "B", "C", "D"}));
}

TEST(OrderMarkov, UntouchedFunctionsAreNotListed) {
  RunSet set = runSet({{"a", 0x1000}, {"never", 0x800}, {"b", 0x2000}}, {{"b", "a"}});
  EXPECT_EQ(markov(set, 8, 0.5), (Names{"b", "a"}));
}

TEST(OrderMarkov, SameInputSameOrderWhateverTheIndices) {
  // The joining example with its functions numbered in reverse: the order
  // depends on addresses, never on indices or hash-map iteration.
  std::vector<Fn> fns = {{"A", 0x1000}, {"B", 0x2000}, {"P", 0x3000}, {"P2", 0x4000}, {"Q", 0x5000}};
  std::vector<std::vector<std::string>> runs = {
      {"P", "B", "A"}, {"P2", "B", "A"}, {"A", "Q"}, {"A", "Q"}, {"A", "Q"}};
  RunSet forward = runSet(fns, runs);
  std::reverse(fns.begin(), fns.end());
  RunSet reversed = runSet(fns, runs);
  for (double decay : {0.5, 1.0})
    for (unsigned window : {1u, 2u, 8u}) {
      Names a = markov(forward, window, decay), b = markov(reversed, window, decay);
      EXPECT_EQ(a, b) << "window " << window << " decay " << decay;
      EXPECT_EQ(a, markov(forward, window, decay));
    }
  // And the equal-weight example, where only addresses decide.
  std::vector<Fn> mid = {{"Y", 0x4000}, {"X", 0x3000}, {"B", 0x2000}, {"A", 0x1000}};
  RunSet midReversed = runSet(mid, {{"A", "X", "B"}, {"A", "Y", "B"}});
  EXPECT_EQ(markov(midReversed, 2, 0.5), (Names{"A", "B", "X", "Y"}));
}

TEST(OrderMeanRank, ByPositionThenAddress) {
  // position: c = 0, b = (0 + 0 + 1) / 3, a = (1/2 + 1) / 2 = 3/4,
  // d = (1 + 1/2) / 2 = 3/4 (tie with a: d's address is lower); e untouched.
  RunSet set = runSet({{"a", 0x3000}, {"b", 0x4000}, {"c", 0x2000}, {"d", 0x1000}, {"e", 0x10}},
                      {{"b", "a", "d"}, {"b", "d", "a"}, {"c", "b"}});
  EXPECT_EQ(names(set, orderByMeanRank(set, set.runs)), (Names{"c", "b", "d", "a"}));
  EXPECT_EQ(orderFromRun({3, 1, 2}), (std::vector<uint32_t>{3, 1, 2}));
}

TEST(OrderMarkov, StatisticsComeFromTheRunsGiven) {
  // Cross-validation passes a subset of the runs: with run 1 alone, B is
  // first; with all runs, A.
  RunSet set = runSet({{"A", 0x1000}, {"B", 0x2000}}, {{"B"}, {"A"}, {"A"}});
  OrderParameters p;
  EXPECT_EQ(names(set, orderMarkov(set, {set.runs[0]}, p)), (Names{"B"}));
  EXPECT_EQ(names(set, orderMarkov(set, set.runs, p)), (Names{"A", "B"}));
}

namespace {

Profile profileOf(const std::string &buildId, const std::vector<std::vector<Touch>> &runs,
                  bool secondObject = false) {
  Profile p;
  p.objects.push_back({"main", "/bin/app", buildId, 100, "blake3:00", "symtab", 3});
  if (secondObject)
    p.objects.push_back({"libx", "/lib/libx.so", "", 50, "blake3:11", "symtab", 1});
  for (const auto &touches : runs) {
    elfopt::Run run;
    if (secondObject) {
      ObjectRun other;
      other.object = 1;
      other.loaded = true;
      other.touches = {{"x", 0x10, 1, 0, 1}};
      run.objects.push_back(other);
    }
    ObjectRun o;
    o.object = 0;
    o.loaded = true;
    o.touches = touches;
    run.objects.push_back(o);
    p.runs.push_back(run);
  }
  return p;
}

Touch touch(const char *symbol, uint64_t address) { return {symbol, address, 8, 0, 1}; }

} // namespace

TEST(OrderCollectRuns, GathersOneObjectAndDropsRepeats) {
  Profile p = profileOf("aa", {{touch("f", 0x100), touch("g", 0x200), touch("f", 0x100)},
                               {touch("h", 0x300), touch("g", 0x200)}},
                        /*secondObject=*/true);
  // A run where main was never mapped counts for nothing.
  elfopt::Run unloaded;
  unloaded.objects.push_back({0, false, 0, {touch("f", 0x100)}, {}});
  p.runs.push_back(unloaded);
  RunSet set = collectRuns({p}, {"p.json"}, "main", nullptr, nullptr, false);
  ASSERT_EQ(set.functions.size(), 3u);
  EXPECT_EQ(set.functions[0].symbol, "f");
  EXPECT_EQ(set.functions[2].address, 0x300u);
  EXPECT_EQ(set.runs, (std::vector<std::vector<uint32_t>>{{0, 1}, {2, 1}}));
  EXPECT_EQ(set.identity.buildId, "aa");
  EXPECT_DOUBLE_EQ(set.matchRate, 1.0);
  EXPECT_DOUBLE_EQ(set.functions[1].support, 1.0);
  EXPECT_DOUBLE_EQ(set.functions[1].position, 1.0);
}

TEST(OrderCollectRuns, KeepsOnlyFunctionsOfTheBinary) {
  Profile p = profileOf("aa", {{touch("f", 0x100), touch("stray", 0x150), touch("g", 0x200)}});
  std::vector<OrderedFunction> binary = {{"g", 0x200, 8, 0, 0}, {"f", 0x100, 8, 0, 0}};
  RunSet set = collectRuns({p}, {"p.json"}, "main", nullptr, &binary, false);
  ASSERT_EQ(set.functions.size(), 2u);
  EXPECT_EQ(set.runs, (std::vector<std::vector<uint32_t>>{{1, 0}}));
}

TEST(OrderCollectRuns, AnotherBuildIsRefusedOrMatchedByName) {
  Profile a = profileOf("aa", {{touch("f", 0x100), touch("g", 0x200)}});
  Profile b = profileOf("bb", {{touch("g", 0x220), touch("gone", 0x300), touch("f", 0x110)}});
  EXPECT_EQ(messageOf([&] { collectRuns({a, b}, {"a.json", "b.json"}, "main", nullptr, nullptr, false); }),
            "b.json: object 'main' was recorded from another build (build-id bb, expected "
            "build-id aa); use --allow-mismatch to match functions by name");
  EXPECT_EQ(messageOf([&] { collectRuns({a}, {"a.json"}, "libz", nullptr, nullptr, false); }),
            "a.json: the profile has no object 'libz' (it has main)");
  RunSet set = collectRuns({a, b}, {"a.json", "b.json"}, "main", nullptr, nullptr, true);
  EXPECT_EQ(set.runs, (std::vector<std::vector<uint32_t>>{{0, 1}, {1, 0}}));
  EXPECT_DOUBLE_EQ(set.matchRate, 2.0 / 3);
  // Without build-ids the content hashes decide.
  ObjectIdentity expected{"main", "/bin/app", "", 100, "blake3:ff", "symtab", 3};
  Profile c = profileOf("", {{touch("f", 0x100)}});
  EXPECT_EQ(messageOf([&] { collectRuns({c}, {"c.json"}, "main", &expected, nullptr, false); }),
            "c.json: object 'main' was recorded from another build (content blake3:00, expected "
            "content blake3:ff); use --allow-mismatch to match functions by name");
}

TEST(OrderFormats, SymbolListGoldSectionsAndJsonRoundTrip) {
  RunSet set = runSet({{"main", 0x1000}, {"f.cold", 0x2000}, {"fde@0x3000", 0x3000}}, {});
  set.identity = {"main", "/bin/app", "ab12", 4096, "blake3:cd", "symtab", 3};
  std::vector<uint32_t> order = {2, 0, 1};
  EXPECT_EQ(orderToSymbolList(set, order), "fde@0x3000\nmain\nf.cold\n");
  EXPECT_EQ(orderToGoldSections(set, order), ".text.main\n.text.hot.main\n.text.startup.main\n");
  std::string json = orderToJson(set, order, OrderParameters(), 2);
  OrderFile back = parseOrderFile(json, "o.json");
  EXPECT_EQ(back.identity.buildId, "ab12");
  EXPECT_EQ(back.identity.size, 4096u);
  EXPECT_EQ(back.identity.contentHash, "blake3:cd");
  ASSERT_EQ(back.functions.size(), 3u);
  EXPECT_EQ(back.functions[0].symbol, "fde@0x3000");
  EXPECT_EQ(back.functions[1].address, 0x1000u);
  EXPECT_EQ(back.functions[2].size, 0x10u);
}

TEST(OrderFormats, RejectsWhatIsNotAnOrder) {
  EXPECT_EQ(messageOf([] { parseOrderFile(R"({"format": "elfopt-profile", "version": 1})", "o.json"); }),
            "o.json: not an elfopt order, version 1 (\"format\": \"elfopt-order\")");
  EXPECT_EQ(messageOf([] { parseOrderFile(R"({"format": "elfopt-order", "version": 2})", "o.json"); }),
            "o.json: not an elfopt order, version 1 (\"format\": \"elfopt-order\")");
  std::string noFunctions = R"({"format": "elfopt-order", "version": 1, "object": {"name": "m",
    "path": "p", "buildId": "", "size": 1, "contentHash": "h"}})";
  EXPECT_EQ(messageOf([&] { parseOrderFile(noFunctions, "o.json"); }),
            "o.json: invalid order: [json.exception.out_of_range.403] key 'functions' not found");
  EXPECT_EQ(messageOf([] { parseOrderFile("{", "o.json"); }),
            "o.json: malformed JSON: [json.exception.parse_error.101] parse error at line 1, "
            "column 2: syntax error while parsing object key - unexpected end of input; expected "
            "string literal");
}
