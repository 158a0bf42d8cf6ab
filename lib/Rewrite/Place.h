//===- Place.h - where each group of blocks goes in the new .text -*- C++ -*-===//
//
// Placement is pure: groups in, new start addresses out. Pinned groups keep
// their place and cut .text into free slots; the others fill the slots in
// order of rank (the order's position of their first ordered function),
// unordered ones after, in address order.
//
// A group that moves only at the price of forwarding stubs in its old place
// (Stubs.h) changes that: moving costs space, and every stub cuts the
// slots. Ordered groups go first, around pinned code, every stub and the
// unordered groups that have stubs (which stay); an ordered group may fill
// a hole up to 64 KiB behind the frontier. One that finds no room goes
// first in the next round, largest first, into the smallest slot with room
// (the order's small code would otherwise cut every large slot), and stays
// only if even then none has room. Unordered groups without stubs that the
// ordered code covers are packed into the holes, largest first.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace elfopt::rewrite {

/// A group of blocks as placement sees it.
struct PlaceItem {
  uint64_t start = 0, bodyEnd = 0; ///< its code; padding after bodyEnd is free
  uint64_t align = 1;
  bool isCxx = false;             ///< keeps an even address in every case
  bool pinned = false;            ///< stays at start
  size_t rank = SIZE_MAX;         ///< SIZE_MAX: not in the order
  /// The bytes [first, second) its forwarding stubs take in its old place
  /// if it moves, sorted; empty: it moves for free.
  std::vector<std::pair<uint64_t, uint64_t>> stubs;
};

struct Placement {
  std::vector<uint64_t> newStart; ///< per item (pinned items: their start)
  bool orderIgnored = false;      ///< only packing by size fit
  bool fits = true;               ///< false: not even packing by size fit
  /// placeWithStubs: ordered items with stubs that no slot had room for;
  /// they stay where they are.
  std::vector<size_t> kept;
};

/// Places \p items (sorted by start, not overlapping) in [textStart, textEnd).
Placement placeItems(const std::vector<PlaceItem> &items, uint64_t textStart, uint64_t textEnd);

/// The same where some items have stubs (see above). An ordered item that
/// fits nowhere stays (Placement::kept). `fits` is false when the displaced
/// code does not fit (the caller then keeps the items with stubs in place).
Placement placeWithStubs(const std::vector<PlaceItem> &items, uint64_t textStart, uint64_t textEnd);

/// With room made for the ordered code outside .text ([roomStart,
/// roomEnd), a segment of its own): every ordered item that is not pinned
/// goes there, one after another in the order, each at its alignment, so
/// that the order is followed exactly and the start's code is dense; the
/// rest stays where it is, around the stubs of what moved. An ordered item
/// past roomEnd stays (Placement::kept).
Placement placeInRoom(const std::vector<PlaceItem> &items, uint64_t roomStart, uint64_t roomEnd);

} // namespace elfopt::rewrite
