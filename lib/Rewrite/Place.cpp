//===- Place.cpp - where each group of blocks goes in the new .text -------===//
#include "Place.h"

#include <algorithm>
#include <optional>
#include <set>
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

namespace elfopt::rewrite {

namespace {

using Range = std::pair<uint64_t, uint64_t>;

uint64_t alignUp(uint64_t a, uint64_t align) { return (a + align - 1) / align * align; }

/// [textStart, textEnd) minus \p taken (sorted, may overlap).
std::vector<Range> freeRanges(std::vector<Range> taken, uint64_t textStart, uint64_t textEnd) {
  std::sort(taken.begin(), taken.end());
  std::vector<Range> free;
  uint64_t cursor = textStart;
  for (const Range &t : taken) {
    if (t.first > cursor)
      free.push_back({cursor, std::min(t.first, textEnd)});
    cursor = std::max(cursor, t.second);
  }
  if (cursor < textEnd)
    free.push_back({cursor, textEnd});
  return free;
}

/// First fit of \p sequence into \p slots, never going back to an earlier
/// slot: the order stays. Returns false when one does not fit.
bool placeInOrder(const std::vector<PlaceItem> &items, const std::vector<size_t> &sequence,
                  const std::vector<Range> &slots, bool keepAlignment, std::vector<uint64_t> &newStart) {
  size_t current = 0;
  uint64_t used = slots.empty() ? 0 : slots[0].first;
  for (size_t g : sequence) {
    const PlaceItem &it = items[g];
    uint64_t align = keepAlignment ? it.align : std::min<uint64_t>(it.align, it.isCxx ? 2 : 1);
    uint64_t size = it.bodyEnd - it.start;
    for (;;) {
      if (current == slots.size())
        return false;
      uint64_t at = alignUp(used, align);
      if (at + size <= slots[current].second) {
        newStart[g] = at;
        used = at + size;
        break;
      }
      if (++current < slots.size())
        used = slots[current].first;
    }
  }
  return true;
}

/// Best fit, largest first, of \p movers into \p holes.
bool packIntoHoles(const std::vector<PlaceItem> &items, std::vector<size_t> movers, const std::vector<Range> &holes,
                   bool keepAlignment, std::vector<uint64_t> &newStart) {
  std::stable_sort(movers.begin(), movers.end(), [&](size_t a, size_t b) {
    return items[a].bodyEnd - items[a].start > items[b].bodyEnd - items[b].start;
  });
  std::set<std::pair<uint64_t, uint64_t>> bySize; // (length, start)
  for (const Range &h : holes)
    if (h.second > h.first)
      bySize.insert({h.second - h.first, h.first});
  for (size_t g : movers) {
    const PlaceItem &it = items[g];
    uint64_t align = keepAlignment ? it.align : std::min<uint64_t>(it.align, it.isCxx ? 2 : 1);
    uint64_t size = it.bodyEnd - it.start;
    auto h = bySize.lower_bound({size, 0});
    while (h != bySize.end() && alignUp(h->second, align) + size > h->second + h->first)
      ++h; // alignment did not leave room: the next larger hole
    if (h == bySize.end())
      return false;
    auto [length, start] = *h;
    bySize.erase(h);
    uint64_t at = alignUp(start, align);
    newStart[g] = at;
    if (at > start)
      bySize.insert({at - start, start});
    if (start + length > at + size)
      bySize.insert({start + length - (at + size), at + size});
  }
  return true;
}

} // namespace

Placement placeWithStubs(const std::vector<PlaceItem> &items, uint64_t textStart, uint64_t textEnd) {
  Placement result;
  result.newStart.resize(items.size());
  std::vector<size_t> ordered;
  for (size_t g = 0; g < items.size(); ++g) {
    result.newStart[g] = items[g].start;
    if (!items[g].pinned && items[g].rank != SIZE_MAX)
      ordered.push_back(g);
  }
  std::stable_sort(ordered.begin(), ordered.end(), [&](size_t a, size_t b) { return items[a].rank < items[b].rank; });
  std::vector<Range> fixed; // pinned code and the stubs of ordered items, which all move
  for (const PlaceItem &it : items) {
    if (it.pinned)
      fixed.push_back({it.start, it.bodyEnd});
    else if (it.rank != SIZE_MAX)
      fixed.insert(fixed.end(), it.stubs.begin(), it.stubs.end());
  }
  // Unordered items below the end of the ordered code move out of its way,
  // so their stubs cut its slots too; that end may then grow: again. The
  // end only grows, so this stops.
  uint64_t orderedEnd = textStart;
  std::vector<Range> taken;
  bool placed = false;
  for (bool keepAlignment : {true, false}) {
    orderedEnd = textStart;
    for (;;) {
      taken = fixed;
      for (const PlaceItem &it : items)
        if (!it.pinned && it.rank == SIZE_MAX && it.start < orderedEnd)
          taken.insert(taken.end(), it.stubs.begin(), it.stubs.end());
      if (!placeInOrder(items, ordered, freeRanges(taken, textStart, textEnd), keepAlignment, result.newStart))
        break;
      uint64_t end = textStart;
      for (size_t g : ordered)
        end = std::max(end, result.newStart[g] + (items[g].bodyEnd - items[g].start));
      if (end <= orderedEnd) {
        placed = true;
        break;
      }
      orderedEnd = end;
    }
    if (placed)
      break;
  }
  if (!placed) {
    result.fits = false;
    for (size_t g = 0; g < items.size(); ++g)
      result.newStart[g] = items[g].start;
    return result;
  }
  std::vector<size_t> displaced;
  for (size_t g : ordered)
    taken.push_back({result.newStart[g], result.newStart[g] + (items[g].bodyEnd - items[g].start)});
  for (size_t g = 0; g < items.size(); ++g) {
    const PlaceItem &it = items[g];
    if (it.pinned || it.rank != SIZE_MAX)
      continue;
    if (it.start < orderedEnd)
      displaced.push_back(g);
    else
      taken.push_back({it.start, it.bodyEnd}); // stays
  }
  std::vector<Range> holes = freeRanges(taken, textStart, textEnd);
  result.fits = packIntoHoles(items, displaced, holes, true, result.newStart) ||
                packIntoHoles(items, displaced, holes, false, result.newStart);
  if (!result.fits)
    for (size_t g = 0; g < items.size(); ++g)
      result.newStart[g] = items[g].start;
  return result;
}

} // namespace elfopt::rewrite
