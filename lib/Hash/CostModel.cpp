//===- CostModel.cpp ------------------------------------------------------===//
#include "elfopt/Hash/CostModel.h"
#include "elfopt/Hash/HashTables.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace elfopt {

namespace {

uint64_t tableBytes(const GnuHashShape &s, size_t count) {
  return 16 + 8 * uint64_t(s.bloomWords) + 4 * uint64_t(s.nbuckets) + 4 * uint64_t(count);
}

double chainLines(uint64_t entries) { return entries ? (4.0 * entries - 4) / 64 + 1 : 0; }

double bloomFalsePositive(const std::vector<uint32_t> &hashes, uint32_t words, uint32_t shift) {
  std::vector<uint64_t> bloom(words, 0);
  for (uint32_t h : hashes) {
    bloom[(h / 64) % words] |= gnuBloomBits(h, shift);
  }
  double fp = 0;
  for (uint64_t w : bloom) {
    double p = std::popcount(w) / 64.0;
    fp += p * p;
  }
  return fp / words;
}

// Chain figures for a bucket count: expected miss lines once past the
// bloom filter, and mean hit lines of the chain walk.
struct ChainFigures {
  double missAfterBloom = 0;
  double hitChain = 0;
};

ChainFigures chainFigures(const std::vector<uint32_t> &hashes, uint32_t nbuckets) {
  std::vector<uint32_t> length(nbuckets, 0);
  for (uint32_t h : hashes)
    ++length[h % nbuckets];
  ChainFigures f;
  double hit = 0;
  for (uint32_t len : length) {
    f.missAfterBloom += 1 + chainLines(len);
    for (uint32_t k = 1; k <= len; ++k)
      hit += chainLines(k);
  }
  f.missAfterBloom /= nbuckets;
  f.hitChain = hashes.empty() ? 0 : hit / double(hashes.size());
  return f;
}

GnuHashCost combine(const GnuHashShape &shape, size_t count, double fp, const ChainFigures &c,
                    const CostModelOptions &o) {
  GnuHashCost cost;
  cost.shape = shape;
  cost.bytes = tableBytes(shape, count);
  cost.falsePositive = fp;
  cost.missLines = 1 + fp * c.missAfterBloom;
  cost.hitLines = 1 + 1 + c.hitChain + 1 + 1; // bloom, bucket, chain, .dynsym, name
  cost.weighted = cost.hitLines + o.missesPerHit * cost.missLines;
  return cost;
}

unsigned floorLog2(uint64_t v) { return v ? 63 - std::countl_zero(v) : 0; }

} // namespace

GnuHashCost costOf(const std::vector<uint32_t> &hashes, const GnuHashShape &shape,
                   const CostModelOptions &options) {
  return combine(shape, hashes.size(), bloomFalsePositive(hashes, shape.bloomWords, shape.bloomShift),
                 chainFigures(hashes, shape.nbuckets), options);
}

// ld.bfd (elflink.c): the largest of a fixed list of primes (up to 32771)
// not above the symbol count, at least 2; bloom of 2^L bits with L = log2(n) + 3 or + 4 (more when the
// second-highest bit of n is set), shift L.
GnuHashShape bfdShape(uint32_t count) {
  static const uint32_t buckets[] = {1,   3,   17,   37,   67,   97,   131,  197,
                                     263, 521, 1031, 2053, 4099, 8209, 16411, 32771};
  GnuHashShape s;
  for (uint32_t b : buckets)
    if (b <= std::max<uint32_t>(count, 1))
      s.nbuckets = b;
  s.nbuckets = std::max<uint32_t>(s.nbuckets, 2); // ld.bfd's minimum for GNU hash
  unsigned l = floorLog2(count) + 1;
  if (l < 3)
    l = 5;
  else if ((uint64_t(1) << (l - 2)) & count)
    l += 3;
  else
    l += 2;
  s.bloomWords = std::max<uint32_t>(1, uint32_t((uint64_t(1) << l) / 64));
  s.bloomShift = std::max(l, 6u); // never below log2 of the word's bits
  return s;
}

// ld.bfd -O1 (elflink.c, compute_bucket_count): every bucket count i in
// [n/4, 2n) except multiples of 32, cost = ((2 + dynamic symbols) * 4 +
// sum of squared chain lengths) * (i / 1024 + 1)^2. The scan is quadratic;
// past 20,000 symbols this tries counts 0.2% apart instead of all of them.
GnuHashShape bfdOptimizedShape(const std::vector<uint32_t> &hashes, uint64_t dynsymCount) {
  GnuHashShape s = bfdShape(uint32_t(hashes.size()));
  uint64_t n = hashes.size();
  uint64_t best = UINT64_MAX;
  std::vector<uint32_t> length;
  bool exact = n <= 20000;
  for (uint64_t i = std::max<uint64_t>(1, n / 4); i < std::max<uint64_t>(2, 2 * n);
       i = exact ? i + 1 : std::max<uint64_t>(i + 1, uint64_t(double(i) * 1.002))) {
    if ((i & 31) == 0)
      continue;
    length.assign(i, 0);
    for (uint32_t h : hashes)
      ++length[h % i];
    uint64_t cost = (2 + dynsymCount) * 4;
    for (uint32_t len : length)
      cost += uint64_t(len) * len;
    uint64_t fact = i / (4096 / 4) + 1;
    cost *= fact * fact;
    if (cost < best) {
      best = cost;
      s.nbuckets = uint32_t(i);
    }
  }
  return s;
}

GnuHashShape goldShape(uint32_t count) { return bfdShape(count); }

// lld (SyntheticSections.cpp): buckets max(n / 4, 1); bloom: 12 bits per
// symbol in 64-bit words (rounded down), then llvm::NextPowerOf2, which is
// strictly greater (4 words become 8); 1 word for no symbol; shift 26.
GnuHashShape lldShape(uint32_t count) {
  GnuHashShape s;
  s.nbuckets = std::max<uint32_t>(count / 4, 1);
  s.bloomWords = uint32_t(std::bit_ceil(uint64_t(count) * 12 / 64 + 1));
  s.bloomShift = 26;
  return s;
}

// mold (output-chunks.cc): buckets n / 8 + 1; bloom: 12 bits per symbol in
// 64-bit words (rounded down), then bit_ceil (4 words stay 4; at least 1);
// shift 26.
GnuHashShape moldShape(uint32_t count) {
  GnuHashShape s;
  s.nbuckets = count / 8 + 1;
  s.bloomWords = uint32_t(std::bit_ceil(std::max<uint64_t>(uint64_t(count) * 12 / 64, 1)));
  s.bloomShift = 26;
  return s;
}

GnuHashCost optimizeShape(const std::vector<uint32_t> &hashes, const CostModelOptions &o) {
  uint64_t n = std::max<uint64_t>(hashes.size(), 1);
  // Bloom sizes and, for each, its best shift.
  struct Bloom {
    uint32_t words, shift;
    double fp;
  };
  std::vector<Bloom> blooms;
  for (uint64_t words = 1; words <= std::bit_ceil(n); words *= 2) {
    Bloom best{uint32_t(words), 6, 2};
    for (uint32_t shift : {5u, 6u, 7u, 8u, 9u, 10u, 11u, 12u, 26u}) {
      double fp = bloomFalsePositive(hashes, uint32_t(words), shift);
      if (fp < best.fp)
        best = {uint32_t(words), shift, fp};
    }
    blooms.push_back(best);
  }
  // Bucket counts from n/8 to 2n, about 1% apart.
  std::vector<std::pair<uint32_t, ChainFigures>> chains;
  for (double b = std::max<double>(1, double(n) / 8); b <= 2.0 * double(n); b = std::max(b * 1.01, b + 1))
    chains.emplace_back(uint32_t(b), chainFigures(hashes, uint32_t(b)));
  GnuHashCost best;
  best.weighted = INFINITY;
  for (const Bloom &bl : blooms)
    for (const auto &[nb, figures] : chains) {
      GnuHashShape shape{nb, bl.words, bl.shift};
      if (o.budgetBytes && tableBytes(shape, hashes.size()) > o.budgetBytes)
        continue;
      GnuHashCost c = combine(shape, hashes.size(), bl.fp, figures, o);
      if (c.weighted < best.weighted - 1e-12 ||
          (std::abs(c.weighted - best.weighted) <= 1e-12 && c.bytes < best.bytes))
        best = c;
    }
  if (!std::isfinite(best.weighted)) // nothing fits: the smallest table
    best = costOf(hashes, {1, 1, 6}, o);
  return best;
}

} // namespace elfopt
