// What a loader that reads precomputed hashes (.elfopt.hashvals) would save.
//
// Replays glibc's GNU-hash lookup (elf/dl-lookup.c: one hash per name, then
// per object: bloom word test, bucket, chain walk comparing hashes, strcmp
// on a full match) for every name a program imports, against the real
// .gnu.hash tables of the libraries in its scope, twice: computing each
// name's hash (what glibc does) and reading it from the importer's
// precomputed table. Both passes run interleaved in one process, so the
// ratio is what to read, not the absolute times.
//
// Input (written by lookup.sh): a text file with the names, then for each
// library "LIB nbuckets symoffset bloomWords shift", its bloom words, buckets,
// chain, and its dynamic symbol names.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

struct Library {
  std::string name;
  uint32_t nbuckets, symoffset, shift;
  std::vector<uint64_t> bloom;
  std::vector<uint32_t> buckets, chain;
  std::vector<std::string> names;
};

static uint32_t gnuHash(const char *s) {
  uint32_t h = 5381;
  for (unsigned char c = *s; c; c = *++s)
    h = h * 33 + c;
  return h;
}

// One object's part of a lookup; returns the symbol index or 0.
static uint32_t lookupIn(const Library &l, const char *name, uint32_t h) {
  uint64_t word = l.bloom[(h / 64) & (l.bloom.size() - 1)];
  if (!((word >> (h % 64)) & (word >> ((h >> l.shift) % 64)) & 1))
    return 0;
  uint32_t i = l.buckets[h % l.nbuckets];
  if (i == 0)
    return 0;
  for (;; ++i) {
    uint32_t ch = l.chain[i - l.symoffset];
    if (((ch ^ h) >> 1) == 0 && std::strcmp(l.names[i].c_str(), name) == 0)
      return i;
    if (ch & 1)
      return 0;
  }
}

int main(int argc, char **argv) {
  std::ifstream in(argv[1]);
  size_t nnames;
  in >> nnames;
  std::vector<std::string> names(nnames);
  for (auto &n : names)
    in >> n;
  std::vector<Library> libs;
  std::string tag;
  while (in >> tag && tag == "LIB") {
    Library l;
    size_t words, nsyms;
    in >> l.name >> l.nbuckets >> l.symoffset >> words >> l.shift >> nsyms;
    l.bloom.resize(words);
    for (auto &w : l.bloom)
      in >> w;
    l.buckets.resize(l.nbuckets);
    for (auto &b : l.buckets)
      in >> b;
    l.chain.resize(nsyms - l.symoffset);
    for (auto &c : l.chain)
      in >> c;
    l.names.resize(nsyms);
    for (uint32_t i = 1; i < nsyms; ++i)
      in >> l.names[i];
    libs.push_back(std::move(l));
  }
  std::vector<uint32_t> precomputed;
  for (auto &n : names)
    precomputed.push_back(gnuHash(n.c_str()));

  // A lookup walks the scope in order until an object defines the name.
  auto resolveAll = [&](bool usePrecomputed) {
    uint64_t found = 0;
    for (size_t k = 0; k < names.size(); ++k) {
      const char *name = names[k].c_str();
      uint32_t h = usePrecomputed ? precomputed[k] : gnuHash(name);
      for (const Library &l : libs)
        if (lookupIn(l, name, h)) {
          ++found;
          break;
        }
    }
    return found;
  };
  using clock = std::chrono::steady_clock;
  std::vector<double> hashed, pre;
  uint64_t found = 0;
  for (int rep = 0; rep < 21; ++rep)
    for (int which = 0; which < 2; ++which) {
      bool usePre = (rep + which) % 2; // alternate which goes first
      auto t0 = clock::now();
      found = resolveAll(usePre);
      double ns = std::chrono::duration<double, std::nano>(clock::now() - t0).count() / names.size();
      (usePre ? pre : hashed).push_back(ns);
    }
  std::sort(hashed.begin(), hashed.end());
  std::sort(pre.begin(), pre.end());
  double mh = hashed[hashed.size() / 2], mp = pre[pre.size() / 2];
  size_t totalLen = 0;
  for (auto &n : names)
    totalLen += n.size();
  std::printf("names imported: %zu (mean length %.1f), found %llu; scope: %zu objects\n",
              names.size(), double(totalLen) / names.size(), (unsigned long long)found, libs.size());
  std::printf("lookup, hashing each name (glibc today):  %8.1f ns/name (median of 21)\n", mh);
  std::printf("lookup, precomputed hash (.elfopt.hashvals): %8.1f ns/name\n", mp);
  std::printf("ratio precomputed/hashing: %.3f (saves %.1f%% of this lookup model's time;\n"
              "ld.so also checks versions and applies relocations, not modelled here)\n", mp / mh,
              100 * (1 - mp / mh));
}
