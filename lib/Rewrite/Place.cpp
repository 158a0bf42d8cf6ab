//===- Place.cpp - where each group of blocks goes in the new .text -------===//
#include "Place.h"

#include <algorithm>
#include <optional>
#include <utility>

namespace elfopt::rewrite {

Placement placeItems(const std::vector<PlaceItem> &items, uint64_t textStart, uint64_t textEnd) {
  std::vector<size_t> sequence;
  for (size_t g = 0; g < items.size(); ++g)
    if (!items[g].pinned)
      sequence.push_back(g);
  std::stable_sort(sequence.begin(), sequence.end(),
                   [&](size_t a, size_t b) { return items[a].rank < items[b].rank; });

  // Free space: .text minus the pinned groups' code.
  std::vector<std::pair<uint64_t, uint64_t>> slots;
  uint64_t cursor = textStart;
  for (const PlaceItem &g : items)
    if (g.pinned) {
      if (g.start > cursor)
        slots.push_back({cursor, g.start});
      cursor = std::max(cursor, g.bodyEnd);
    }
  if (cursor < textEnd)
    slots.push_back({cursor, textEnd});

  // Fill the slots in sequence; a group that does not fit the rest of a slot
  // goes to the next one and later small groups fill the hole. Alignment
  // padding depends on the order, so the original alignments may not leave
  // room: then only the ordered groups keep theirs, then none does (beyond
  // 2 bytes for C++), and as
  // a last resort the unordered ones are packed largest first.
  Placement result;
  std::vector<uint64_t> &newStart = result.newStart;
  newStart.resize(items.size());
  enum Alignment { All, OrderedOnly, None, NoneBestFit, AllBestFit };
  auto tryPlace = [&](Alignment keep) {
    std::vector<uint64_t> used(slots.size());
    for (size_t s = 0; s < slots.size(); ++s)
      used[s] = slots[s].first;
    size_t current = 0;
    std::vector<size_t> order = sequence;
    auto packed = [&](const PlaceItem &g) { return keep == AllBestFit || (keep == NoneBestFit && g.rank == SIZE_MAX); };
    if (keep >= NoneBestFit) // those packed largest first: bin packing
      std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        if (keep == AllBestFit)
          return items[a].bodyEnd - items[a].start > items[b].bodyEnd - items[b].start;
        if ((items[a].rank == SIZE_MAX) != (items[b].rank == SIZE_MAX))
          return items[a].rank != SIZE_MAX;
        if (items[a].rank != SIZE_MAX)
          return false;
        return items[a].bodyEnd - items[a].start > items[b].bodyEnd - items[b].start;
      });
    for (size_t g : order) {
      const PlaceItem &gr = items[g];
      // A C++ function stays even: the Itanium C++ ABI tells a virtual
      // member function pointer from a function address by its low bit.
      uint64_t align = keep == All || (keep == OrderedOnly && gr.rank != SIZE_MAX)
                           ? gr.align
                           : std::min<uint64_t>(gr.align, gr.isCxx ? 2 : 1);
      uint64_t size = gr.bodyEnd - gr.start;
      auto fits = [&](size_t s) {
        uint64_t at = (used[s] + align - 1) / align * align;
        return at + size <= slots[s].second ? std::optional(at) : std::nullopt;
      };
      std::optional<uint64_t> at;
      size_t s = current;
      if (packed(gr)) {
        size_t best = slots.size();
        for (size_t k = 0; k < slots.size(); ++k)
          if (fits(k) && (best == slots.size() || slots[k].second - used[k] < slots[best].second - used[best]))
            best = k;
        s = best;
        if (s < slots.size())
          at = fits(s);
      }
      for (; !at && s < slots.size() && !(at = fits(s)); ++s) {
      }
      if (!at) // the holes left behind
        for (s = 0; s < current && !(at = fits(s)); ++s) {
        }
      if (!at)
        return false;
      newStart[g] = *at;
      used[s] = *at + size;
      if (s > current)
        current = s;
    }
    return true;
  };
  if (!tryPlace(All) && !tryPlace(OrderedOnly) && !tryPlace(None) && !tryPlace(NoneBestFit)) {
    result.orderIgnored = true;
    result.fits = tryPlace(AllBestFit);
  }
  for (size_t g = 0; g < items.size(); ++g)
    if (items[g].pinned)
      newStart[g] = items[g].start;
  return result;
}

} // namespace elfopt::rewrite
