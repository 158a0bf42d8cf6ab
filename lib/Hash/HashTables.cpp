//===- HashTables.cpp -----------------------------------------------------===//
#include "elfopt/Hash/HashTables.h"
#include "elfopt/Support/Diagnostics.h"

#include <bit>
#include <algorithm>
#include <cstring>

namespace elfopt {

uint32_t gnuHash(std::string_view name) {
  uint32_t h = 5381;
  for (unsigned char c : name)
    h = h * 33 + c;
  return h;
}

uint32_t sysvHash(std::string_view name) {
  uint32_t h = 0;
  for (unsigned char c : name) {
    h = (h << 4) + c;
    uint32_t g = h & 0xf0000000;
    h ^= g >> 24;
    h &= ~g;
  }
  return h;
}

namespace {
// Reads little-endian words with bounds checks against the table's size.
struct WordReader {
  std::span<const uint8_t> data;
  const std::string &where;
  uint32_t u32(uint64_t offset) const {
    uint32_t v;
    std::memcpy(&v, data.data() + offset, 4);
    return v;
  }
  uint64_t u64(uint64_t offset) const {
    uint64_t v;
    std::memcpy(&v, data.data() + offset, 8);
    return v;
  }
  void need(uint64_t bytes, const char *what) const {
    if (bytes > data.size())
      fatal(where + ": " + what + " needs " + std::to_string(bytes) +
            " bytes, the table has " + std::to_string(data.size()));
  }
};
} // namespace

GnuHashTable parseGnuHash(std::span<const uint8_t> data, uint64_t dynsymCount,
                          const std::string &where) {
  WordReader r{data, where};
  r.need(16, "GNU hash header");
  GnuHashTable t;
  t.nbuckets = r.u32(0);
  t.symoffset = r.u32(4);
  uint32_t bloomWords = r.u32(8);
  t.bloomShift = r.u32(12);
  if (t.nbuckets == 0)
    fatal(where + ": GNU hash table has zero buckets");
  if (bloomWords == 0 || !std::has_single_bit(bloomWords))
    fatal(where + ": GNU hash bloom filter size " + std::to_string(bloomWords) +
          " is not a power of two (glibc rejects it)");
  if (t.symoffset > dynsymCount)
    fatal(where + ": GNU hash symoffset " + std::to_string(t.symoffset) +
          " exceeds the " + std::to_string(dynsymCount) + " dynamic symbols");
  uint64_t bloomEnd = 16 + uint64_t(bloomWords) * 8;
  uint64_t bucketsEnd = bloomEnd + uint64_t(t.nbuckets) * 4;
  uint64_t nchain = dynsymCount - t.symoffset;
  r.need(bloomEnd, "GNU hash bloom filter");
  r.need(bucketsEnd, "GNU hash buckets");

  t.bloom.resize(bloomWords);
  for (uint32_t i = 0; i < bloomWords; ++i)
    t.bloom[i] = r.u64(16 + uint64_t(i) * 8);
  t.buckets.resize(t.nbuckets);
  for (uint32_t i = 0; i < t.nbuckets; ++i) {
    uint32_t b = r.u32(bloomEnd + uint64_t(i) * 4);
    if (b != 0 && (b < t.symoffset || b >= dynsymCount))
      fatal(where + ": GNU hash bucket " + std::to_string(i) + " points to symbol " +
            std::to_string(b) + ", outside [" + std::to_string(t.symoffset) + ", " +
            std::to_string(dynsymCount) + ")");
    t.buckets[i] = b;
  }
  // The chains a lookup can reach, from the non-empty buckets. A linker may
  // leave out the entries none reaches: ld.bfd's table for a program that
  // exports nothing has symoffset 1, every bucket empty and no chain words.
  for (uint32_t i = 0; i < t.nbuckets; ++i) {
    if (t.buckets[i] == 0)
      continue;
    uint64_t k = t.buckets[i] - t.symoffset;
    for (;; ++k) {
      if (k >= nchain)
        fatal(where + ": GNU hash chain of bucket " + std::to_string(i) +
              " runs past the last dynamic symbol");
      r.need(bucketsEnd + (k + 1) * 4, "GNU hash chains");
      if (r.u32(bucketsEnd + k * 4) & 1)
        break;
    }
  }
  // Entries no bucket reaches read as 0 where the table stops short.
  uint64_t present = std::min<uint64_t>(nchain, (data.size() - bucketsEnd) / 4);
  t.chain.assign(nchain, 0);
  for (uint64_t i = 0; i < present; ++i)
    t.chain[i] = r.u32(bucketsEnd + i * 4);
  return t;
}

SysvHashTable parseSysvHash(std::span<const uint8_t> data, uint64_t dynsymCount,
                            const std::string &where) {
  WordReader r{data, where};
  r.need(8, "SysV hash header");
  uint32_t nbucket = r.u32(0), nchain = r.u32(4);
  r.need(8 + (uint64_t(nbucket) + nchain) * 4, "SysV hash buckets and chains");
  if (nbucket == 0)
    fatal(where + ": SysV hash table has zero buckets");
  if (nchain > dynsymCount)
    fatal(where + ": SysV hash nchain " + std::to_string(nchain) + " exceeds the " +
          std::to_string(dynsymCount) + " dynamic symbols");
  SysvHashTable t;
  t.buckets.resize(nbucket);
  t.chain.resize(nchain);
  for (uint32_t i = 0; i < nbucket; ++i)
    t.buckets[i] = r.u32(8 + uint64_t(i) * 4);
  for (uint32_t i = 0; i < nchain; ++i)
    t.chain[i] = r.u32(8 + (uint64_t(nbucket) + i) * 4);
  for (uint32_t b : t.buckets)
    if (b >= nchain)
      fatal(where + ": SysV hash bucket points to symbol " + std::to_string(b) +
            ", past nchain " + std::to_string(nchain));
  for (uint32_t c : t.chain)
    if (c >= nchain)
      fatal(where + ": SysV hash chain points to symbol " + std::to_string(c) +
            ", past nchain " + std::to_string(nchain));
  return t;
}

// Probe counts from chain lengths: the k-th symbol of a chain is found after
// k probes; a miss walks a whole chain, whose expected length is the mean
// over buckets.
static void fillChainFigures(HashTableStats &s, const std::vector<uint64_t> &lengths) {
  s.nbuckets = lengths.size();
  uint64_t total = 0, hitProbes = 0;
  for (uint64_t len : lengths) {
    if (len >= s.chainLengths.size())
      s.chainLengths.resize(len + 1);
    ++s.chainLengths[len];
    s.longestChain = std::max(s.longestChain, len);
    total += len;
    hitProbes += len * (len + 1) / 2;
  }
  s.symbols = total;
  s.meanProbesHit = total ? double(hitProbes) / double(total) : 0;
  s.meanProbesMiss = lengths.empty() ? 0 : double(total) / double(lengths.size());
}

HashTableStats computeStats(const GnuHashTable &t) {
  HashTableStats s;
  std::vector<uint64_t> lengths(t.nbuckets, 0);
  for (uint32_t b = 0; b < t.nbuckets; ++b) {
    if (t.buckets[b] == 0)
      continue;
    for (uint64_t k = t.buckets[b] - t.symoffset; k < t.chain.size(); ++k) {
      ++lengths[b];
      if (t.chain[k] & 1)
        break;
    }
  }
  fillChainFigures(s, lengths);
  s.symoffset = t.symoffset;
  s.bloomWords = t.bloom.size();
  s.bloomShift = t.bloomShift;
  uint64_t bits = s.bloomWords * 64;
  s.bloomBitsPerSymbol = s.symbols ? double(bits) / double(s.symbols) : 0;
  // A random absent name passes when both its bits are set in its word:
  // probability (set bits / 64)^2 per word, averaged over words.
  uint64_t setBits = 0;
  double fp = 0;
  for (uint64_t w : t.bloom) {
    unsigned pop = std::popcount(w);
    setBits += pop;
    fp += (pop / 64.0) * (pop / 64.0);
  }
  s.bloomFillRatio = bits ? double(setBits) / double(bits) : 0;
  s.falsePositiveRate = s.bloomWords ? fp / double(s.bloomWords) : 0;
  s.meanProbesMissNoBloom = s.meanProbesMiss;
  s.meanProbesMiss = s.falsePositiveRate * s.meanProbesMissNoBloom;
  return s;
}

HashTableStats computeStats(const SysvHashTable &t) {
  HashTableStats s;
  std::vector<uint64_t> lengths(t.buckets.size(), 0);
  for (size_t b = 0; b < t.buckets.size(); ++b) {
    // Chains were range-checked, not cycle-checked: bound the walk.
    uint64_t steps = 0;
    for (uint32_t k = t.buckets[b]; k != 0 && steps <= t.chain.size(); k = t.chain[k])
      ++steps;
    lengths[b] = std::min<uint64_t>(steps, t.chain.size());
  }
  fillChainFigures(s, lengths);
  return s;
}

std::vector<uint8_t> buildGnuHash(const GnuHashShape &shape, uint32_t symoffset,
                                  std::span<const uint32_t> hashes) {
  std::vector<uint64_t> bloom(shape.bloomWords, 0);
  std::vector<uint32_t> buckets(shape.nbuckets, 0), chain(hashes.size(), 0);
  for (size_t k = 0; k < hashes.size(); ++k) {
    uint32_t h = hashes[k];
    bloom[(h / 64) % shape.bloomWords] |= gnuBloomBits(h, shape.bloomShift);
    uint32_t bucket = h % shape.nbuckets;
    if (buckets[bucket] == 0)
      buckets[bucket] = uint32_t(symoffset + k);
    bool last = k + 1 == hashes.size() || hashes[k + 1] % shape.nbuckets != bucket;
    chain[k] = (h & ~1u) | (last ? 1u : 0u);
  }
  uint32_t header[4] = {shape.nbuckets, symoffset, shape.bloomWords, shape.bloomShift};
  std::vector<uint8_t> out(16 + 8 * bloom.size() + 4 * (buckets.size() + chain.size()));
  uint8_t *p = out.data();
  std::memcpy(p, header, 16);
  p += 16;
  std::memcpy(p, bloom.data(), 8 * bloom.size());
  p += 8 * bloom.size();
  std::memcpy(p, buckets.data(), 4 * buckets.size());
  p += 4 * buckets.size();
  if (!chain.empty()) // a program may export nothing
    std::memcpy(p, chain.data(), 4 * chain.size());
  return out;
}

} // namespace elfopt
