//===- Stubs.cpp - forwarding jumps at the old entries of moved code ------===//
#include "Stubs.h"

namespace elfopt::rewrite {

std::optional<std::vector<StubRegion>> planStubs(std::span<const uint64_t> entries, const StubCode &code) {
  std::vector<StubRegion> regions;
  size_t i = 0, n = entries.size();
  while (i < n) {
    uint64_t start = entries[i], p = start;
    for (;;) {
      while (i < n && entries[i] < p)
        ++i; // entered into an instruction kept as it was
      bool entryHere = i < n && entries[i] == p;
      size_t after = entryHere ? i + 1 : i;
      bool entryUnderJump = after < n && entries[after] < p + StubJumpSize;
      if (!entryUnderJump && !(entryHere && code.keepFirst(p)))
        break;
      if (p >= code.bodyEnd || !code.copyable(p))
        return std::nullopt;
      p = code.next(p);
    }
    if (p + StubJumpSize <= code.limit) {
      regions.push_back({start, p});
      while (i < n && entries[i] <= p)
        ++i; // the jump forwards an entry at p itself
      continue;
    }
    // No room for a jump: keep everything up to an instruction that ends
    // the flow; an entry after it starts a stub of its own.
    for (bool ended = false; !ended;) {
      if (p >= code.bodyEnd || !code.copyable(p))
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

} // namespace elfopt::rewrite
