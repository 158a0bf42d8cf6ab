#include "elfopt/Hash/HashTables.h"
#include "Support.h"

#include <gtest/gtest.h>

#include <cstring>

using namespace elfopt;
using namespace elfopt::test;

namespace {

// Serializes a GNU hash table the way a linker lays it out.
std::vector<uint8_t> encode(uint32_t nbuckets, uint32_t symoffset, uint32_t shift,
                            const std::vector<uint64_t> &bloom,
                            const std::vector<uint32_t> &buckets,
                            const std::vector<uint32_t> &chain) {
  std::vector<uint8_t> out(16 + bloom.size() * 8 + (buckets.size() + chain.size()) * 4);
  uint32_t header[4] = {nbuckets, symoffset, uint32_t(bloom.size()), shift};
  uint8_t *p = out.data();
  std::memcpy(p, header, 16);
  std::memcpy(p + 16, bloom.data(), bloom.size() * 8);
  std::memcpy(p + 16 + bloom.size() * 8, buckets.data(), buckets.size() * 4);
  if (!chain.empty()) // memcpy from an empty vector's null data() is undefined
    std::memcpy(p + 16 + bloom.size() * 8 + buckets.size() * 4, chain.data(), chain.size() * 4);
  return out;
}

} // namespace

TEST(HashFunctions, KnownValues) {
  // Values published with the GNU hash and SysV ELF specifications' examples.
  EXPECT_EQ(gnuHash(""), 5381u);
  EXPECT_EQ(gnuHash("printf"), 0x156b2bb8u);
  EXPECT_EQ(gnuHash("exit"), 0x7c967e3fu);
  EXPECT_EQ(sysvHash("printf"), 0x077905a6u);
  EXPECT_EQ(sysvHash("exit"), 0x0006cf04u);
}

// Six symbols, symoffset 1: bucket 0 holds 1..3, bucket 1 is empty,
// bucket 2 holds 4..5.
TEST(GnuHash, ParseAndFigures) {
  std::vector<uint32_t> chain = {10, 12, 15 /*end*/, 20, 23 /*end*/};
  auto bytes = encode(3, 1, 6, {0xffull, 0}, {1, 0, 4}, chain);
  GnuHashTable t = parseGnuHash(bytes, 6, "t");
  HashTableStats s = computeStats(t);
  EXPECT_EQ(s.nbuckets, 3u);
  EXPECT_EQ(s.symbols, 5u);
  EXPECT_EQ(s.longestChain, 3u);
  ASSERT_EQ(s.chainLengths.size(), 4u);
  EXPECT_EQ(s.chainLengths[0], 1u);
  EXPECT_EQ(s.chainLengths[2], 1u);
  EXPECT_EQ(s.chainLengths[3], 1u);
  // Hits: (1+2+3) + (1+2) probes over 5 symbols.
  EXPECT_DOUBLE_EQ(s.meanProbesHit, 9.0 / 5.0);
  // Past the bloom filter a miss walks a whole chain: 5 symbols / 3 buckets.
  EXPECT_DOUBLE_EQ(s.meanProbesMissNoBloom, 5.0 / 3.0);
  // Word 0 has 8 of 64 bits set, word 1 none: ((8/64)^2 + 0) / 2.
  EXPECT_DOUBLE_EQ(s.falsePositiveRate, (8.0 / 64) * (8.0 / 64) / 2);
  EXPECT_DOUBLE_EQ(s.meanProbesMiss, s.falsePositiveRate * 5.0 / 3.0);
  EXPECT_DOUBLE_EQ(s.bloomBitsPerSymbol, 128.0 / 5.0);
}

TEST(GnuHash, AcceptsChainsLeftOutWhereNoBucketLeads) {
  // ld.bfd's table for a program that exports nothing (clang, -no-pie):
  // symoffset 1, one empty bucket, no chain words for its 7 imports.
  auto empty = encode(1, 1, 0, {0}, {0}, {});
  GnuHashTable t = parseGnuHash(empty, 8, "t");
  EXPECT_EQ(t.buckets, (std::vector<uint32_t>{0}));
  EXPECT_EQ(t.chain, (std::vector<uint32_t>(7, 0)));
  // A chain a bucket reaches must still be there in full (10: no end bit).
  auto reached = encode(1, 1, 0, {0}, {1}, {10});
  EXPECT_EQ(messageOf([&] { parseGnuHash(reached, 8, "t"); }), "t: GNU hash chains needs 36 bytes, the table has 32");
}

TEST(GnuHash, RejectsMalformedTables) {
  auto bloom3 = encode(1, 1, 6, {0, 0, 0}, {1}, {1});
  EXPECT_EQ(messageOf([&] { parseGnuHash(bloom3, 2, "f:(.gnu.hash)"); }),
            "f:(.gnu.hash): GNU hash bloom filter size 3 is not a power of two (glibc rejects it)");
  auto noEnd = encode(1, 1, 6, {0}, {1}, {10, 12});
  EXPECT_EQ(messageOf([&] { parseGnuHash(noEnd, 3, "t"); }),
            "t: GNU hash chain of bucket 0 runs past the last dynamic symbol");
  auto badBucket = encode(1, 1, 6, {0}, {7}, {11});
  EXPECT_EQ(messageOf([&] { parseGnuHash(badBucket, 2, "t"); }),
            "t: GNU hash bucket 0 points to symbol 7, outside [1, 2)");
  auto ok = encode(1, 1, 6, {0}, {1}, {11});
  std::vector<uint8_t> truncated(ok.begin(), ok.end() - 2);
  EXPECT_EQ(messageOf([&] { parseGnuHash(truncated, 2, "t"); }),
            "t: GNU hash chains needs 32 bytes, the table has 30");
  EXPECT_EQ(messageOf([&] { parseGnuHash(ok, 0, "t"); }),
            "t: GNU hash symoffset 1 exceeds the 0 dynamic symbols");
  auto hugeBloom = encode(1, 1, 6, {0}, {1}, {11});
  uint32_t words = 1u << 31;
  std::memcpy(hugeBloom.data() + 8, &words, 4);
  EXPECT_EQ(messageOf([&] { parseGnuHash(hugeBloom, 2, "t"); }),
            "t: GNU hash bloom filter needs 17179869200 bytes, the table has 32");
}

TEST(SysvHash, CyclicChainsStayBounded) {
  // nbucket 1, nchain 3: bucket -> 1 -> 2 -> 1 -> ... (a cycle).
  uint32_t words[] = {1, 3, 1, 0, 2, 1};
  std::vector<uint8_t> bytes(sizeof words);
  std::memcpy(bytes.data(), words, sizeof words);
  SysvHashTable t = parseSysvHash(bytes, 3, "t");
  HashTableStats s = computeStats(t);
  EXPECT_LE(s.longestChain, 3u);
}
