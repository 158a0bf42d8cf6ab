//===- BuildGnuHashTest.cpp - buildGnuHash, read back by parseGnuHash ----===//
#include "elfopt/Hash/CostModel.h"
#include "elfopt/Hash/HashTables.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

using namespace elfopt;

namespace {

// glibc's walk (dl-lookup.c do_lookup_x): bloom filter, bucket, then the
// chain until the entry with the low bit set. Returns the .dynsym index, or 0.
uint32_t lookUp(const GnuHashTable &t, uint32_t hash) {
  uint64_t word = t.bloom[(hash / 64) % t.bloom.size()];
  uint64_t bits = (uint64_t(1) << (hash % 64)) | (uint64_t(1) << ((hash >> t.bloomShift) % 64));
  if ((word & bits) != bits)
    return 0;
  uint32_t index = t.buckets[hash % t.nbuckets];
  if (index == 0)
    return 0;
  for (;; ++index) {
    uint32_t entry = t.chain[index - t.symoffset];
    if ((entry | 1) == (hash | 1))
      return index;
    if (entry & 1)
      return 0;
  }
}

} // namespace

TEST(BuildGnuHash, ParsesBackWithEveryNameFoundAtItsIndex) {
  const uint32_t symoffset = 2;
  const GnuHashShape shape{3, 2, 7};
  std::vector<std::string> names = {"main", "printf", "malloc", "free", "_init", "strlen", "abort"};
  // .dynsym order sorted by bucket, as buildGnuHash requires.
  std::stable_sort(names.begin(), names.end(), [&](const std::string &a, const std::string &b) {
    return gnuHash(a) % shape.nbuckets < gnuHash(b) % shape.nbuckets;
  });
  std::vector<uint32_t> hashes;
  for (const std::string &n : names)
    hashes.push_back(gnuHash(n));

  std::vector<uint8_t> bytes = buildGnuHash(shape, symoffset, hashes);
  // Header, bloom words, buckets, one chain word per hashed symbol.
  EXPECT_EQ(bytes.size(), 16 + 8 * shape.bloomWords + 4 * shape.nbuckets + 4 * hashes.size());
  GnuHashTable t = parseGnuHash(bytes, symoffset + hashes.size(), "built");
  EXPECT_EQ(t.nbuckets, shape.nbuckets);
  EXPECT_EQ(t.symoffset, symoffset);
  EXPECT_EQ(t.bloomShift, shape.bloomShift);
  ASSERT_EQ(t.bloom.size(), shape.bloomWords);
  ASSERT_EQ(t.chain.size(), hashes.size());

  for (uint32_t k = 0; k < hashes.size(); ++k) {
    SCOPED_TRACE(names[k]);
    EXPECT_EQ(lookUp(t, hashes[k]), symoffset + k);
    // The chain holds the hash, its low bit marking a bucket's last symbol.
    bool lastInBucket = k + 1 == hashes.size() || hashes[k + 1] % shape.nbuckets != hashes[k] % shape.nbuckets;
    EXPECT_EQ(t.chain[k], (hashes[k] & ~1u) | (lastInBucket ? 1u : 0u));
  }
  // Each bucket starts at its first symbol; an empty one holds 0.
  for (uint32_t b = 0; b < shape.nbuckets; ++b) {
    auto first = std::ranges::find_if(hashes, [&](uint32_t h) { return h % shape.nbuckets == b; });
    EXPECT_EQ(t.buckets[b], first == hashes.end() ? 0u : symoffset + uint32_t(first - hashes.begin()));
  }
  // A name not in the table is not found.
  EXPECT_EQ(lookUp(t, gnuHash("not_a_symbol_here")), 0u);
}

TEST(BuildGnuHash, EmptyTableHasNoBucketsFilled) {
  const GnuHashShape shape{1, 1, 6};
  std::vector<uint8_t> bytes = buildGnuHash(shape, 1, {});
  GnuHashTable t = parseGnuHash(bytes, 1, "empty");
  EXPECT_EQ(t.symoffset, 1u);
  ASSERT_EQ(t.buckets.size(), 1u);
  EXPECT_EQ(t.buckets[0], 0u);
  EXPECT_EQ(t.bloom, std::vector<uint64_t>{0});
  EXPECT_TRUE(t.chain.empty());
}
