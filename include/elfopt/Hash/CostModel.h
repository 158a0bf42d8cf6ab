//===- CostModel.h - what a GNU hash table costs the dynamic linker -*- C++ -*-===//
//
// The cost of a lookup is counted in 64-byte cache lines of the table that
// the dynamic linker touches (glibc elf/dl-lookup.c):
//
//   miss (the name is not in this object; in a program with many libraries
//   most lookups are misses):
//     1 line for the bloom word, and only when both bloom bits are set
//     (false-positive rate FP): 1 line for the bucket, plus, when the bucket
//     is not empty, the lines its chain spans ((4L - 4) / 64 + 1 for a chain
//     of L entries starting anywhere).
//   hit: bloom word + bucket + the chain lines up to the symbol + its .dynsym
//     entry + its name (the last two do not depend on the table's shape).
//
//   cost per resolved symbol = hit + missesPerHit * miss
//
// FP is computed from the actual bloom filter the names produce: the mean
// over words of (set bits / 64)^2. Chain lengths are the actual ones.
// The linkers' rules (for comparison) follow ld.bfd, gold, lld and mold.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace elfopt {

struct GnuHashShape {
  uint32_t nbuckets = 1;
  uint32_t bloomWords = 1; ///< a power of two
  uint32_t bloomShift = 6;
};

struct GnuHashCost {
  GnuHashShape shape;
  uint64_t bytes = 0;         ///< size of the table
  double falsePositive = 0;   ///< a missing name passes the bloom filter
  double missLines = 0;       ///< cache lines per unsuccessful lookup
  double hitLines = 0;        ///< cache lines per successful lookup
  double weighted = 0;        ///< hitLines + missesPerHit * missLines
};

struct CostModelOptions {
  double missesPerHit = 8; ///< unsuccessful lookups per successful one
  uint64_t budgetBytes = 0; ///< largest table to consider; 0: no limit
};

/// Cost of a table of \p shape over the names whose GNU hashes are \p hashes.
GnuHashCost costOf(const std::vector<uint32_t> &hashes, const GnuHashShape &shape,
                   const CostModelOptions &options);

/// The table each linker would build for \p count hashed symbols.
GnuHashShape bfdShape(uint32_t count);
GnuHashShape bfdOptimizedShape(const std::vector<uint32_t> &hashes,
                               uint64_t dynsymCount); ///< ld.bfd -O1
GnuHashShape goldShape(uint32_t count);
GnuHashShape lldShape(uint32_t count);
GnuHashShape moldShape(uint32_t count);

/// The cheapest shape under the options' budget (bucket counts from count/8
/// to 2*count, bloom sizes up to the budget, shifts 5..12 and 26).
GnuHashCost optimizeShape(const std::vector<uint32_t> &hashes, const CostModelOptions &options);

} // namespace elfopt
