//===- Place.cpp - where each group of blocks goes in the new .text -------===//
#include "Place.h"

#include <algorithm>
#include <optional>
#include <set>
#include <utility>

namespace elfopt::rewrite {

namespace {

using Range = std::pair<uint64_t, uint64_t>;

uint64_t alignUp(uint64_t a, uint64_t align) { return (a + align - 1) / align * align; }

/// \p it's alignment, or, when that is given up, what every function keeps:
/// a C++ function stays even, since the Itanium C++ ABI tells a virtual
/// member function pointer from a function address by its low bit.
uint64_t alignmentOf(const PlaceItem &it, bool keepAlignment) {
  return keepAlignment ? it.align : std::min<uint64_t>(it.align, it.isCxx ? 2 : 1);
}

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

/// Free ranges by size: the smallest with room is taken first (best fit).
class Holes {
  static constexpr int MaxTightHoles = 64;

public:
  explicit Holes(const std::vector<Range> &ranges) {
    for (const Range &h : ranges)
      if (h.second > h.first)
        bySize.insert({h.second - h.first, h.first});
  }
  /// The address of \p size bytes at \p align in the smallest hole with
  /// room, the rest of that hole kept free; nullopt when none has room.
  std::optional<uint64_t> take(uint64_t size, uint64_t align) {
    // A hole shorter than size + align - 1 may lack room once aligned; a
    // longer one always has it. The first kind is searched one by one, up
    // to MaxTightHoles: thousands of holes of one length are common among
    // stubs, and searching all of them for each item is quadratic.
    auto h = bySize.lower_bound({size, 0});
    auto roomy = bySize.lower_bound({size + align - 1, 0});
    for (int tried = 0; h != roomy && alignUp(h->second, align) + size > h->second + h->first; ++h)
      if (++tried == MaxTightHoles) {
        h = roomy;
        break;
      }
    if (h == bySize.end())
      return std::nullopt;
    auto [length, start] = *h;
    bySize.erase(h);
    uint64_t at = alignUp(start, align);
    if (at > start)
      bySize.insert({at - start, start});
    if (start + length > at + size)
      bySize.insert({start + length - (at + size), at + size});
    return at;
  }

private:
  std::set<std::pair<uint64_t, uint64_t>> bySize; // (length, start)
};

void sortLargestFirst(const std::vector<PlaceItem> &items, std::vector<size_t> &movers) {
  std::stable_sort(movers.begin(), movers.end(), [&](size_t a, size_t b) {
    return items[a].bodyEnd - items[a].start > items[b].bodyEnd - items[b].start;
  });
}

/// Best fit, largest first, of \p movers into \p holes.
bool packIntoHoles(const std::vector<PlaceItem> &items, std::vector<size_t> movers, const std::vector<Range> &holes,
                   bool keepAlignment, std::vector<uint64_t> &newStart) {
  sortLargestFirst(items, movers);
  Holes free(holes);
  for (size_t g : movers) {
    const PlaceItem &it = items[g];
    auto at = free.take(it.bodyEnd - it.start, alignmentOf(it, keepAlignment));
    if (!at)
      return false;
    newStart[g] = *at;
  }
  return true;
}

/// The room left in each slot, for "the first slot from i with room for n
/// bytes" in O(log slots): a max segment tree.
class SlotRoom {
public:
  explicit SlotRoom(const std::vector<uint64_t> &room) : size(1) {
    while (size < room.size())
      size *= 2;
    tree.assign(2 * size, 0);
    for (size_t k = 0; k < room.size(); ++k)
      tree[size + k] = room[k];
    for (size_t k = size - 1; k > 0; --k)
      tree[k] = std::max(tree[2 * k], tree[2 * k + 1]);
  }
  void set(size_t slot, uint64_t room) {
    size_t k = size + slot;
    tree[k] = room;
    for (k /= 2; k > 0; k /= 2)
      tree[k] = std::max(tree[2 * k], tree[2 * k + 1]);
  }
  /// The first slot at or after \p from with at least \p need bytes, or SIZE_MAX.
  size_t firstWithRoom(size_t from, uint64_t need) const { return find(1, 0, size, from, need); }

private:
  size_t find(size_t node, size_t lo, size_t hi, size_t from, uint64_t need) const {
    if (hi <= from || tree[node] < need)
      return SIZE_MAX;
    if (hi - lo == 1)
      return lo;
    size_t mid = (lo + hi) / 2;
    size_t left = find(2 * node, lo, mid, from, need);
    return left != SIZE_MAX ? left : find(2 * node + 1, mid, hi, from, need);
  }
  size_t size;
  std::vector<uint64_t> tree;
};

/// Each of \p movers, largest first, into the smallest of \p slots with
/// room (its alignment kept if it can be); returns those that fit nowhere.
std::vector<size_t> placeLargestFirst(const std::vector<PlaceItem> &items, std::vector<size_t> movers,
                                      const std::vector<Range> &slots, std::vector<uint64_t> &newStart) {
  sortLargestFirst(items, movers);
  Holes free(slots);
  std::vector<size_t> unplaced;
  for (size_t g : movers) {
    const PlaceItem &it = items[g];
    std::optional<uint64_t> at;
    for (bool keepAlignment : {true, false})
      if ((at = free.take(it.bodyEnd - it.start, alignmentOf(it, keepAlignment))))
        break;
    if (at)
      newStart[g] = *at;
    else
      unplaced.push_back(g);
  }
  return unplaced;
}

/// How far behind the frontier an ordered item may go into a hole an
/// earlier, larger one left: stubs and kept code cut the slots every few
/// hundred bytes, and skipping every hole would spread the ordered code out.
/// Within this distance the order changes, the pages it takes do not much.
constexpr uint64_t OrderLookback = 64 * 1024;

/// First fit of \p sequence into \p slots at a frontier that only moves
/// forward, so that the order stays: an item may fill a hole up to
/// OrderLookback behind it, and one too large for the frontier's slot goes
/// to the first slot ahead with room (else behind), without dragging the
/// frontier there.
/// Returns the items that fit nowhere.
std::vector<size_t> placeInOrder(const std::vector<PlaceItem> &items, const std::vector<size_t> &sequence,
                                 const std::vector<Range> &slots, bool keepAlignment,
                                 std::vector<uint64_t> &newStart) {
  std::vector<uint64_t> used(slots.size()), room(slots.size());
  for (size_t k = 0; k < slots.size(); ++k) {
    used[k] = slots[k].first;
    room[k] = slots[k].second - slots[k].first;
  }
  SlotRoom rooms(room);
  std::vector<size_t> unplaced;
  size_t current = 0, window = 0; // the frontier's slot, the first slot within the lookback
  for (size_t g : sequence) {
    const PlaceItem &it = items[g];
    uint64_t align = alignmentOf(it, keepAlignment);
    uint64_t size = it.bodyEnd - it.start;
    auto fits = [&](size_t k) {
      uint64_t at = alignUp(used[k], align);
      if (at + size > slots[k].second)
        return false;
      newStart[g] = at;
      used[k] = at + size;
      rooms.set(k, slots[k].second - used[k]);
      return true;
    };
    while (current < slots.size() && window < current && slots[window].second + OrderLookback < used[current])
      ++window;
    bool done = false;
    for (size_t k = window; k <= current && k < slots.size() && !done; ++k)
      done = fits(k);
    if (!done && current < slots.size()) {
      // Ahead, else anywhere: with room for the worst alignment first, then
      // any room.
      for (size_t from : {current + 1, size_t(0)})
        for (uint64_t need : {size + align - 1, size})
          for (size_t k = rooms.firstWithRoom(from, need); !done && k != SIZE_MAX;
               k = rooms.firstWithRoom(k + 1, need))
            done = fits(k);
      ++current; // the frontier's slot had no room for this one
    }
    if (!done)
      unplaced.push_back(g);
  }
  return unplaced;
}

} // namespace

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
    if (keep == AllBestFit)
      return packIntoHoles(items, sequence, slots, false, newStart);
    std::vector<uint64_t> used(slots.size());
    for (size_t s = 0; s < slots.size(); ++s)
      used[s] = slots[s].first;
    size_t current = 0;
    std::vector<size_t> packedLater; // with NoneBestFit: the unordered groups
    for (size_t g : sequence) {
      const PlaceItem &gr = items[g];
      if (keep == NoneBestFit && gr.rank == SIZE_MAX) {
        packedLater.push_back(g);
        continue;
      }
      uint64_t align = alignmentOf(gr, keep == All || (keep == OrderedOnly && gr.rank != SIZE_MAX));
      uint64_t size = gr.bodyEnd - gr.start;
      auto fits = [&](size_t s) {
        uint64_t at = alignUp(used[s], align);
        return at + size <= slots[s].second ? std::optional(at) : std::nullopt;
      };
      std::optional<uint64_t> at;
      size_t s = current;
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
    std::vector<std::pair<uint64_t, uint64_t>> left;
    for (size_t s = 0; s < slots.size(); ++s)
      left.push_back({used[s], slots[s].second});
    return packIntoHoles(items, packedLater, left, false, newStart);
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


Placement placeWithStubs(const std::vector<PlaceItem> &items, uint64_t textStart, uint64_t textEnd) {
  Placement result;
  result.newStart.resize(items.size());
  std::vector<size_t> ordered, unordered;
  for (size_t g = 0; g < items.size(); ++g) {
    result.newStart[g] = items[g].start;
    if (!items[g].pinned)
      (items[g].rank != SIZE_MAX ? ordered : unordered).push_back(g);
  }
  std::stable_sort(ordered.begin(), ordered.end(), [&](size_t a, size_t b) { return items[a].rank < items[b].rank; });
  // Ordered code goes around pinned code, the stubs of ordered code and
  // unordered code that has stubs: moving that too would cost its stubs in
  // the ordered code's way, and the space they take, which a file without
  // room to spare does not have (libxul: 2 MB of slack, 1.3 MB of stubs).
  // An ordered item that fits nowhere (a large function that its own stubs
  // cut) stays where it is: what it takes is then no slot.
  // An ordered item that fitted nowhere goes first in the next round,
  // largest first, into the smallest slot with room, before the slots are
  // cut into the order's holes; only if it fits nowhere then does it stay.
  std::vector<char> kept(items.size(), 0), first(items.size(), 0);
  auto slotsNow = [&](const std::vector<Range> &reserved) {
    std::vector<Range> taken = reserved;
    for (size_t g = 0; g < items.size(); ++g) {
      const PlaceItem &it = items[g];
      if (it.pinned || kept[g] || (it.rank == SIZE_MAX && !it.stubs.empty()))
        taken.push_back({it.start, it.bodyEnd});
      else
        taken.insert(taken.end(), it.stubs.begin(), it.stubs.end());
    }
    return freeRanges(std::move(taken), textStart, textEnd);
  };
  std::vector<size_t> moving;
  bool placed = false;
  for (int round = 0; round < 8 && !placed; ++round) {
    std::vector<size_t> firsts, inOrder;
    for (size_t g : ordered)
      if (!kept[g])
        (first[g] ? firsts : inOrder).push_back(g);
    std::vector<Range> reserved;
    if (!firsts.empty()) {
      for (size_t g : placeLargestFirst(items, firsts, slotsNow({}), result.newStart))
        kept[g] = true;
      for (size_t g : firsts)
        if (!kept[g])
          reserved.push_back({result.newStart[g], result.newStart[g] + (items[g].bodyEnd - items[g].start)});
    }
    std::vector<Range> slots = slotsNow(reserved);
    std::vector<size_t> unplaced = placeInOrder(items, inOrder, slots, true, result.newStart);
    if (!unplaced.empty())
      unplaced = placeInOrder(items, inOrder, slots, false, result.newStart);
    for (size_t g : unplaced)
      (round < 4 ? first : kept)[g] = true; // late rounds: as before, it stays
    moving.clear();
    for (size_t g : ordered)
      if (!kept[g])
        moving.push_back(g);
    placed = unplaced.empty();
  }
  if (!placed) {
    result.fits = false;
    for (size_t g = 0; g < items.size(); ++g)
      result.newStart[g] = items[g].start;
    return result;
  }
  for (size_t g = 0; g < items.size(); ++g)
    if (kept[g]) {
      result.kept.push_back(g);
      result.newStart[g] = items[g].start;
    }
  std::vector<Range> orderedCode;
  for (size_t g : moving)
    orderedCode.push_back({result.newStart[g], result.newStart[g] + (items[g].bodyEnd - items[g].start)});
  std::sort(orderedCode.begin(), orderedCode.end());
  auto covered = [&](const PlaceItem &it) {
    auto c = std::upper_bound(orderedCode.begin(), orderedCode.end(), Range{it.start, UINT64_MAX});
    if (c != orderedCode.begin() && (c - 1)->second > it.start)
      return true;
    return c != orderedCode.end() && c->first < it.bodyEnd;
  };
  // Unordered code the ordered code covers (none with stubs) moves into the
  // holes; if that does not fit, all unordered code without stubs moves
  // (for free), which joins the holes.
  std::vector<Range> occupiedByMoved;
  for (size_t g = 0; g < items.size(); ++g) {
    const PlaceItem &it = items[g];
    if (it.pinned || kept[g])
      occupiedByMoved.push_back({it.start, it.bodyEnd});
    else if (it.rank != SIZE_MAX)
      occupiedByMoved.insert(occupiedByMoved.end(), it.stubs.begin(), it.stubs.end());
  }
  occupiedByMoved.insert(occupiedByMoved.end(), orderedCode.begin(), orderedCode.end());
  for (bool moveFreeCode : {false, true}) {
    std::vector<size_t> movers;
    std::vector<Range> occupied = occupiedByMoved;
    for (size_t g : unordered) {
      const PlaceItem &it = items[g];
      if (covered(it) || (moveFreeCode && it.stubs.empty()))
        movers.push_back(g);
      else
        occupied.push_back({it.start, it.bodyEnd}); // stays
    }
    std::vector<Range> holes = freeRanges(std::move(occupied), textStart, textEnd);
    result.fits = packIntoHoles(items, movers, holes, true, result.newStart) ||
                  packIntoHoles(items, movers, holes, false, result.newStart);
    if (result.fits)
      return result;
  }
  for (size_t g = 0; g < items.size(); ++g)
    result.newStart[g] = items[g].start;
  return result;
}

Placement placeInRoom(const std::vector<PlaceItem> &items, uint64_t roomStart, uint64_t roomEnd) {
  Placement result;
  result.newStart.resize(items.size());
  std::vector<size_t> ordered;
  for (size_t g = 0; g < items.size(); ++g) {
    result.newStart[g] = items[g].start;
    if (!items[g].pinned && items[g].rank != SIZE_MAX)
      ordered.push_back(g);
  }
  std::stable_sort(ordered.begin(), ordered.end(), [&](size_t a, size_t b) { return items[a].rank < items[b].rank; });
  uint64_t cursor = roomStart;
  for (size_t g : ordered) {
    const PlaceItem &it = items[g];
    uint64_t at = alignUp(cursor, it.align);
    if (at + (it.bodyEnd - it.start) > roomEnd) {
      result.kept.push_back(g);
      continue;
    }
    result.newStart[g] = at;
    cursor = at + (it.bodyEnd - it.start);
  }
  std::sort(result.kept.begin(), result.kept.end());
  return result;
}

} // namespace elfopt::rewrite
