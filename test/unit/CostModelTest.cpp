// The GNU hash cost model (lib/Hash/CostModel.cpp) on tables small enough
// to count by hand. The hashes are plain numbers: the model only looks at
// h % 64 and (h >> shift) % 64 (bloom bits), h / 64 (bloom word) and
// h % nbuckets (bucket).
//
// Reminders, from README "GNU hash cost model":
//   chain lines of L entries = (4L - 4) / 64 + 1 (0 for an empty bucket)
//   FP = mean over bloom words of (set bits / 64)^2
//   miss = 1 + FP * mean over buckets of (1 + chain lines)
//   hit  = bloom + bucket + chain lines up to the symbol + .dynsym + name
//   weighted = hit + R * miss
//   bytes = 16 + 8 * bloom words + 4 * buckets + 4 * symbols
#include "elfopt/Hash/CostModel.h"
#include "elfopt/Hash/HashTables.h"

#include <gtest/gtest.h>

using namespace elfopt;

namespace {

CostModelOptions withR(double r, uint64_t budget = 0) {
  CostModelOptions o;
  o.missesPerHit = r;
  o.budgetBytes = budget;
  return o;
}

void expectShape(const GnuHashShape &s, uint32_t nbuckets, uint32_t words, uint32_t shift) {
  EXPECT_EQ(s.nbuckets, nbuckets);
  EXPECT_EQ(s.bloomWords, words);
  EXPECT_EQ(s.bloomShift, shift);
}

} // namespace

TEST(CostModel, ThreeSymbolsTwoBuckets) {
  // hashes 1, 2, 3; 2 buckets, 1 bloom word, shift 6.
  // Bloom: bits h % 64 = 1, 2, 3 and h >> 6 = 0 for all: 4 bits set.
  //   FP = (4/64)^2 = 1/256.
  // Buckets: h % 2 -> bucket 0 holds {2}, bucket 1 holds {1, 3}.
  //   chain lines: L=1: 1; L=2: 4/64 + 1 = 1.0625.
  //   miss past the bloom = ((1 + 1) + (1 + 1.0625)) / 2 = 2.03125
  //   hit chain = (1 + 1 + 1.0625) / 3 = 3.0625 / 3
  // miss = 1 + 2.03125 / 256 = 1.0079345703125
  // hit = 4 + 3.0625 / 3 = 5.0208333...
  // weighted (R = 8) = 5.0208333... + 8.0634765625
  // bytes = 16 + 8 + 8 + 12 = 44
  GnuHashCost c = costOf({1, 2, 3}, {2, 1, 6}, withR(8));
  EXPECT_EQ(c.bytes, 44u);
  EXPECT_DOUBLE_EQ(c.falsePositive, 1.0 / 256);
  EXPECT_DOUBLE_EQ(c.missLines, 1.0079345703125);
  EXPECT_DOUBLE_EQ(c.hitLines, 4 + 3.0625 / 3);
  EXPECT_DOUBLE_EQ(c.weighted, 4 + 3.0625 / 3 + 8.0634765625);
  expectShape(c.shape, 2, 1, 6);
}

TEST(CostModel, TwoBloomWordsThreeBuckets) {
  // hashes 5, 70, 200; 3 buckets, 2 bloom words, shift 6.
  // Bloom word (h / 64) % 2: 5 -> 0; 70 (1) -> 1; 200 (3) -> 1.
  //   word 0: bits 5, 0 (2 set); word 1: bits 6, 1 and 8, 3 (4 set).
  //   FP = ((2/64)^2 + (4/64)^2) / 2 = 20 / 8192
  // Buckets h % 3: 5 -> 2, 70 -> 1, 200 -> 2: lengths 0, 1, 2.
  //   miss past the bloom = ((1 + 0) + (1 + 1) + (1 + 1.0625)) / 3 = 1.6875
  //   hit chain = (1 + 1 + 1.0625) / 3
  // miss = 1 + 20/8192 * 1.6875 = 1.004119873046875
  // weighted (R = 2) = 4 + 3.0625/3 + 2.00823974609375
  // bytes = 16 + 16 + 12 + 12 = 56
  GnuHashCost c = costOf({5, 70, 200}, {3, 2, 6}, withR(2));
  EXPECT_EQ(c.bytes, 56u);
  EXPECT_DOUBLE_EQ(c.falsePositive, 20.0 / 8192);
  EXPECT_DOUBLE_EQ(c.missLines, 1.004119873046875);
  EXPECT_DOUBLE_EQ(c.hitLines, 4 + 3.0625 / 3);
  EXPECT_DOUBLE_EQ(c.weighted, 4 + 3.0625 / 3 + 2.00823974609375);
}

TEST(CostModel, ChainSpanningTwoLines) {
  // hashes 64k, k = 0..16: 17 symbols, one bucket, one bloom word.
  // Bloom: h % 64 = 0 for all, h >> 6 = k: bits 0..16, 17 set.
  //   FP = (17/64)^2 = 289/4096
  // The chain of 17 entries (68 bytes) spans (68 - 4) / 64 + 1 = 2 lines.
  //   miss past the bloom = 1 + 2 = 3
  //   hit chain = sum over k = 1..17 of (1 + (4k - 4) / 64)
  //             = (17 + 136 / 16) / 17 = 25.5 / 17 = 1.5
  // miss = 1 + 3 * 289/4096 = 1.211669921875; hit = 5.5
  // weighted (R = 1) = 6.711669921875; bytes = 16 + 8 + 4 + 68 = 96
  std::vector<uint32_t> hashes;
  for (uint32_t k = 0; k <= 16; ++k)
    hashes.push_back(64 * k);
  GnuHashCost c = costOf(hashes, {1, 1, 6}, withR(1));
  EXPECT_EQ(c.bytes, 96u);
  EXPECT_DOUBLE_EQ(c.falsePositive, 289.0 / 4096);
  EXPECT_DOUBLE_EQ(c.missLines, 1.211669921875);
  EXPECT_DOUBLE_EQ(c.hitLines, 5.5);
  EXPECT_DOUBLE_EQ(c.weighted, 6.711669921875);
}

TEST(CostModel, ShiftChoosesTheSecondBloomBit) {
  // hash 65: first bit 65 % 64 = 1. Shift 5: 65 >> 5 = 2, two bits set,
  // FP = (2/64)^2. Shift 6: 65 >> 6 = 1, the same bit, FP = (1/64)^2.
  // A shift of 38 behaves as 38 % 32 = 6 (x86-64's shr).
  EXPECT_DOUBLE_EQ(costOf({65}, {1, 1, 5}, withR(8)).falsePositive, 4.0 / 4096);
  EXPECT_DOUBLE_EQ(costOf({65}, {1, 1, 6}, withR(8)).falsePositive, 1.0 / 4096);
  EXPECT_DOUBLE_EQ(costOf({65}, {1, 1, 38}, withR(8)).falsePositive, 1.0 / 4096);
}

TEST(CostModel, EmptyTable) {
  // No symbols: the bloom filter is empty (FP 0), a miss reads one line; a
  // hit has no chain: 4 lines. bytes = 16 + 8 + 4.
  GnuHashCost c = costOf({}, {1, 1, 6}, withR(8));
  EXPECT_EQ(c.bytes, 28u);
  EXPECT_DOUBLE_EQ(c.falsePositive, 0);
  EXPECT_DOUBLE_EQ(c.missLines, 1);
  EXPECT_DOUBLE_EQ(c.hitLines, 4);
  EXPECT_DOUBLE_EQ(c.weighted, 12);
}

TEST(CostModel, OptimizeOneSymbol) {
  // One hash, 65. Candidates: 1 bloom word; shifts 5..12 and 26, of which
  // 6 gives the lowest FP (1/4096, see above; 5 is tried first but gives
  // 4/4096); buckets 1 and 2 (n/8 .. 2n).
  //   1 bucket: miss past the bloom = 1 + 1 = 2; bytes 16 + 8 + 4 + 4 = 32
  //   2 buckets: (2 + 1) / 2 = 1.5; bytes 36
  // Hit lines are 5 either way, so 2 buckets win:
  //   weighted (R = 8) = 5 + 8 * (1 + 1.5/4096)
  GnuHashCost best = optimizeShape({65}, withR(8));
  expectShape(best.shape, 2, 1, 6);
  EXPECT_EQ(best.bytes, 36u);
  EXPECT_DOUBLE_EQ(best.missLines, 1 + 1.5 / 4096);
  EXPECT_DOUBLE_EQ(best.weighted, 5 + 8 * (1 + 1.5 / 4096));
  // A budget of 32 bytes leaves the one-bucket table: 5 + 8 * (1 + 2/4096).
  GnuHashCost small = optimizeShape({65}, withR(8, 32));
  expectShape(small.shape, 1, 1, 6);
  EXPECT_EQ(small.bytes, 32u);
  EXPECT_DOUBLE_EQ(small.weighted, 5 + 8 * (1 + 2.0 / 4096));
  // Nothing fits in 31 bytes: the smallest table, shift 6, whatever it costs.
  GnuHashCost none = optimizeShape({65}, withR(8, 31));
  expectShape(none.shape, 1, 1, 6);
  EXPECT_EQ(none.bytes, 32u);
  // R = 0: only hits count, equal for both bucket counts; the smaller table
  // wins the tie.
  GnuHashCost hitsOnly = optimizeShape({65}, withR(0));
  expectShape(hitsOnly.shape, 1, 1, 6);
  EXPECT_DOUBLE_EQ(hitsOnly.weighted, 5);
}

TEST(CostModel, OptimizeNeverWorseThanTheLinkers) {
  // 40 hashes spread over a few buckets and bloom words: whatever the
  // model picks under a linker table's size costs no more than that table.
  std::vector<uint32_t> hashes;
  for (uint32_t i = 0; i < 40; ++i)
    hashes.push_back(i * 2654435761u);
  for (GnuHashShape linker : {bfdShape(40), lldShape(40), moldShape(40)}) {
    GnuHashCost theirs = costOf(hashes, linker, withR(3));
    GnuHashCost ours = optimizeShape(hashes, withR(3, theirs.bytes));
    EXPECT_LE(ours.bytes, theirs.bytes);
    EXPECT_LE(ours.weighted, theirs.weighted + 1e-12);
  }
}

TEST(CostModel, LinkerShapesForLibLLVM) {
  // README: Debian's libLLVM-19.so, 52,077 hashed symbols, as built by
  // ld.bfd, lld and mold (and what each would take in bytes).
  GnuHashShape bfd = bfdShape(52077);
  expectShape(bfd, 32771, 8192, 19);
  expectShape(goldShape(52077), 32771, 8192, 19);
  expectShape(lldShape(52077), 13019, 16384, 26);
  expectShape(moldShape(52077), 6510, 16384, 26);
  std::vector<uint32_t> none(52077, 0);
  EXPECT_EQ(costOf(none, bfd, withR(8)).bytes, 404944u);
  EXPECT_EQ(costOf(none, lldShape(52077), withR(8)).bytes, 391472u);
  EXPECT_EQ(costOf(none, moldShape(52077), withR(8)).bytes, 365436u);
}

TEST(CostModel, LinkerShapesForSmallCounts) {
  // Each expectation is the table the linker built for a shared library of
  // that many exported functions (ld.bfd 2.40, gold, ld.lld 19.1.7, mold
  // 1.10.1; gold adds _edata, _end and __bss_start, so its counts are 3
  // more), read from .gnu.hash's header.
  //
  // ld.bfd: largest listed prime <= n, at least 2; L = floor(log2 n) + 1,
  // 5 when below 3, else + 3 when bit L-2 of n is set, + 2 otherwise; 2^L
  // bloom bits in 64-bit words; shift L, at least 6.
  expectShape(bfdShape(0), 2, 1, 6);
  expectShape(bfdShape(6), 3, 1, 6);   // L = 3, bit 1 set -> 6
  expectShape(bfdShape(11), 3, 1, 6);  // L = 4, bit 2 clear -> 6
  expectShape(bfdShape(17), 17, 2, 7); // L = 5, bit 3 clear -> 7
  expectShape(bfdShape(22), 17, 2, 7); // L = 5, bit 3 clear -> 7
  expectShape(bfdShape(24), 17, 4, 8); // L = 5, bit 3 set -> 8
  expectShape(goldShape(9), 3, 1, 6);
  expectShape(goldShape(14), 3, 2, 7);
  expectShape(goldShape(25), 17, 4, 8);
  // lld: max(n / 4, 1) buckets; bloom words: the power of two above
  // 12n / 64 (llvm::NextPowerOf2, strictly greater), 1 for no symbol.
  expectShape(lldShape(0), 1, 1, 26);
  expectShape(lldShape(6), 1, 2, 26);  // 72 / 64 = 1 -> 2
  expectShape(lldShape(11), 2, 4, 26); // 132 / 64 = 2 -> 4
  expectShape(lldShape(17), 4, 4, 26); // 204 / 64 = 3 -> 4
  expectShape(lldShape(22), 5, 8, 26); // 264 / 64 = 4 -> 8
  expectShape(lldShape(24), 6, 8, 26); // 288 / 64 = 4 -> 8
  // mold: n / 8 + 1 buckets; bloom words: 12n / 64 (rounded down) rounded
  // up to a power of two (std::bit_ceil, 1 for 0).
  expectShape(moldShape(0), 1, 1, 26);
  expectShape(moldShape(6), 1, 1, 26);  // 72 / 64 = 1 -> 1
  expectShape(moldShape(11), 2, 2, 26); // 132 / 64 = 2 -> 2
  expectShape(moldShape(17), 3, 4, 26); // 204 / 64 = 3 -> 4
  expectShape(moldShape(22), 3, 4, 26); // 264 / 64 = 4 -> 4
  expectShape(moldShape(24), 4, 4, 26); // 288 / 64 = 4 -> 4
}

TEST(CostModel, BfdOptimizedBucketCount) {
  // ld.bfd -O1: every bucket count i in [n/4, 2n) but multiples of 32,
  // cost ((2 + dynsym) * 4 + sum of squared chain lengths) * (i/1024 + 1)^2.
  // hashes 1, 2, 3 and 4 .dynsym entries: base 24; i = 1: 9 -> 33;
  // i = 2: 1 + 4 -> 29; i = 3, 4, 5: 3 -> 27, first is 3.
  expectShape(bfdOptimizedShape({1, 2, 3}, 4), 3, 1, 6);
  // hashes 0, 2, 4, 6: i = 1..7; even counts of buckets collide: i = 1: 16;
  // 2: 16; 3: 0,2,1,0 -> 4+1+1 = 6; 4: 0,2,0,2 -> 8; 5: 0,2,4,1 -> 4;
  // 6: 0,2,4,0 -> 6; 7: 4. First best: 5.
  expectShape(bfdOptimizedShape({0, 2, 4, 6}, 4), 5, 1, 6);
}
