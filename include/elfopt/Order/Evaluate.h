//===- Evaluate.h - how well a layout serves recorded runs ------*- C++ -*-===//
//
// Scores a layout of .text against runs, in figures a user can check:
//   pages        distinct 4 KiB pages overlapped by the touched functions
//   windows64k   distinct 64 KiB windows (fault-around maps up to 64 KiB)
//   windows128k  distinct 128 KiB windows (the usual read-ahead)
//   backward     consecutive first touches whose address goes down: reads
//                that go backward in the file
//   lowerBound   total size of the touched functions, in pages: no layout
//                can touch fewer
// A proposed layout is modelled as the rewriter lays it out: in each code
// section, the ordered functions first, in order, each at its original
// alignment (up to 16 bytes), then all others in their original order.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "elfopt/Elf/Functions.h"
#include "elfopt/Order/Order.h"

#include <cstdint>
#include <unordered_map>
#include <vector>

namespace elfopt {

struct LayoutScore {
  double pages = 0;
  double windows64k = 0;
  double windows128k = 0;
  double backward = 0;
  double lowerBound = 0;
  LayoutScore &operator+=(const LayoutScore &o);
  LayoutScore scaled(double factor) const;
};

class TextLayout {
public:
  /// The binary as it is.
  static TextLayout original(const FunctionTable &table);
  /// The listed functions (by link-time address) first, in order.
  static TextLayout withOrder(const FunctionTable &table, const std::vector<uint64_t> &order);
  /// Another build of the same program (a rewritten one): each function of
  /// \p from at the address its namesake has in \p to.
  static TextLayout byName(const FunctionTable &from, const FunctionTable &to);
  /// New address of the function that starts at \p oldAddress.
  uint64_t addressOf(uint64_t oldAddress) const;

private:
  std::unordered_map<uint64_t, uint64_t> newAddress;
};

LayoutScore scoreRun(const RunSet &set, const std::vector<uint32_t> &run, const TextLayout &layout);

/// Every function of \p table as ordering sees it.
std::vector<OrderedFunction> functionsOf(const FunctionTable &table);

} // namespace elfopt
