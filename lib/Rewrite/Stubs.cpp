//===- Stubs.cpp - forwarding jumps at the old entries of moved code ------===//
#include "Stubs.h"

#include "elfopt/Target/X86_64.h"

#include <algorithm>

namespace elfopt::rewrite {

namespace {

/// One plan for \p entries; the targets of kept 8-bit branches that are no
/// entries yet go to \p more.
std::optional<std::vector<StubRegion>> planOnce(std::span<const uint64_t> entries, const StubCode &code,
                                                std::vector<uint64_t> &more) {
  auto copyable = [&](uint64_t a) {
    if (!code.copyable(a))
      return false;
    if (code.shortTarget)
      if (auto t = code.shortTarget(a); t && !std::binary_search(entries.begin(), entries.end(), *t))
        more.push_back(*t);
    return true;
  };
  std::vector<StubRegion> regions;
  size_t i = 0, n = entries.size();
  // Kept instructions that reach the end label run into its int3, kept too.
  auto keepTheTrap = [&](uint64_t start) {
    if (!code.endTraps)
      return false;
    regions.push_back({start, code.bodyEnd + 1, false});
    i = n; // nothing follows the end label
    return true;
  };
  while (i < n) {
    uint64_t start = entries[i], p = start;
    if (p == code.bodyEnd) { // the end label alone
      if (!keepTheTrap(start))
        return std::nullopt;
      break;
    }
    bool trapped = false;
    // verify walks at most so many kept instructions from an entry.
    unsigned kept = 0;
    auto keepOne = [&] { return ++kept <= x86_64::StubMaxKeptInstructions; };
    for (;;) {
      while (i < n && entries[i] < p)
        ++i; // entered into an instruction kept as it was
      if (p == code.bodyEnd && i < n && entries[i] == p) {
        // An entry at the end label under the jump: no jump may stand there.
        if (!keepTheTrap(start))
          return std::nullopt;
        trapped = true;
        break;
      }
      bool entryHere = i < n && entries[i] == p;
      size_t after = entryHere ? i + 1 : i;
      bool entryUnderJump = after < n && entries[after] < p + StubJumpSize;
      if (!entryUnderJump && !(entryHere && code.keepFirst(p)))
        break;
      if (p >= code.bodyEnd || !copyable(p) || !keepOne())
        return std::nullopt;
      p = code.next(p);
    }
    if (trapped)
      break;
    if (p + StubJumpSize <= code.limit) {
      regions.push_back({start, p});
      while (i < n && entries[i] <= p)
        ++i; // the jump forwards an entry at p itself
      continue;
    }
    // No room for a jump: keep everything up to an instruction that ends
    // the flow; an entry after it starts a stub of its own.
    for (bool ended = false; !ended;) {
      if (p >= code.bodyEnd && keepTheTrap(start))
        return regions;
      if (p >= code.bodyEnd || !copyable(p) || !keepOne())
        return std::nullopt;
      ended = code.endsFlow(p);
      p = code.next(p);
    }
    regions.push_back({start, p, false});
    while (i < n && entries[i] < p)
      ++i;
  }
  return regions;
}

} // namespace

std::optional<std::vector<StubRegion>> planStubs(std::span<const uint64_t> entries, const StubCode &code) {
  std::vector<uint64_t> all(entries.begin(), entries.end());
  // Each round adds the targets of the last round's kept branches: one
  // level deeper of the nesting verify follows.
  for (int round = 0;; ++round) {
    std::vector<uint64_t> more;
    auto regions = planOnce(all, code, more);
    if (!regions || more.empty())
      return regions;
    if (round >= x86_64::StubMaxBranchDepth)
      return std::nullopt;
    all.insert(all.end(), more.begin(), more.end());
    std::sort(all.begin(), all.end());
    all.erase(std::unique(all.begin(), all.end()), all.end());
  }
}

} // namespace elfopt::rewrite
