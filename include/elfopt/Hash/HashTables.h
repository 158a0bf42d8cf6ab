//===- HashTables.h - DT_GNU_HASH and DT_HASH tables ------------*- C++ -*-===//
//
// Parsing and figures for the two dynamic symbol hash tables.
//
// GNU hash (no formal spec; glibc elf/dl-lookup.c is the reference):
//   u32 nbuckets, symoffset, bloomWords, bloomShift
//   u64 bloom[bloomWords]          bloomWords a power of two (glibc asserts)
//   u32 buckets[nbuckets]          first .dynsym index of each chain, 0 = empty
//   u32 chain[nsyms - symoffset]   hash with bit 0 replaced by end-of-chain
// .dynsym[symoffset..] is sorted by hash % nbuckets. A lookup tests one bloom
// word (two bits: h and h >> shift), then walks one chain comparing hashes;
// strcmp runs only on a full 32-bit hash match.
//
// SysV hash: u32 nbucket, nchain, bucket[nbucket], chain[nchain]; every
// symbol is in a chain, and each probe is a strcmp.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "elfopt/Elf/ElfFile.h"
#include "elfopt/Hash/CostModel.h"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace elfopt {

uint32_t gnuHash(std::string_view name);
uint32_t sysvHash(std::string_view name);

/// The two bloom bits a loader tests for hash \p h. glibc computes
/// `h >> bloomShift` on a 32-bit value; x86-64's shr uses only the low five
/// bits of the count, so a table with a shift of 32 or more behaves as if
/// shifted by shift % 32. Modelling that keeps hostile shifts defined here.
inline uint64_t gnuBloomBits(uint32_t h, uint32_t bloomShift) {
  return (uint64_t(1) << (h % 64)) | (uint64_t(1) << ((h >> (bloomShift % 32)) % 64));
}

struct GnuHashTable {
  uint32_t nbuckets = 0;
  uint32_t symoffset = 0;
  uint32_t bloomShift = 0;
  std::vector<uint64_t> bloom;
  std::vector<uint32_t> buckets;
  std::vector<uint32_t> chain; ///< one per .dynsym[symoffset..]
};

struct SysvHashTable {
  std::vector<uint32_t> buckets;
  std::vector<uint32_t> chain;
};

/// Figures common to both tables. A "probe" is one chain entry examined:
/// a 32-bit hash comparison for GNU hash, a symbol name comparison for SysV.
struct HashTableStats {
  uint64_t nbuckets = 0;
  uint64_t symbols = 0; ///< symbols reachable through the table
  /// chainLengths[k] = number of buckets holding exactly k symbols.
  std::vector<uint64_t> chainLengths;
  uint64_t longestChain = 0;
  double meanProbesHit = 0;   ///< successful lookup of a random table symbol
  double meanProbesMiss = 0;  ///< unsuccessful lookup (after the bloom filter)
  // GNU hash only.
  uint64_t symoffset = 0;
  uint64_t bloomWords = 0;
  uint64_t bloomShift = 0;
  double bloomBitsPerSymbol = 0;
  double bloomFillRatio = 0;      ///< share of bloom bits set
  double falsePositiveRate = 0;   ///< a name not in the table passes the bloom
  double meanProbesMissNoBloom = 0; ///< chain probes once the bloom passes
};

/// Parses a GNU hash table for a .dynsym of \p dynsymCount entries. Every
/// index, count and chain is checked; \p where names the table in messages.
GnuHashTable parseGnuHash(std::span<const uint8_t> data, uint64_t dynsymCount,
                          const std::string &where);
SysvHashTable parseSysvHash(std::span<const uint8_t> data, uint64_t dynsymCount,
                            const std::string &where);

/// The bytes of a GNU hash table of \p shape whose symbols start at
/// .dynsym[symoffset] and have the names hashing to \p hashes, in .dynsym
/// order, which must already be sorted by bucket (hash % nbuckets).
std::vector<uint8_t> buildGnuHash(const GnuHashShape &shape, uint32_t symoffset,
                                  std::span<const uint32_t> hashes);

HashTableStats computeStats(const GnuHashTable &table);
HashTableStats computeStats(const SysvHashTable &table);

} // namespace elfopt
