//===- Narrowing.cpp - found functions that verify's problems name --------===//
#include "Narrowing.h"

#include <algorithm>

namespace elfopt {

std::vector<std::pair<uint64_t, uint64_t>> splitNamedFunctions(const std::vector<std::pair<uint64_t, uint64_t>> &found,
                                                               const AddressMap &map, std::vector<uint64_t> problemCode,
                                                               std::vector<std::pair<uint64_t, uint64_t>> &named) {
  std::sort(problemCode.begin(), problemCode.end());
  auto anyIn = [&](uint64_t from, uint64_t to) {
    auto it = std::lower_bound(problemCode.begin(), problemCode.end(), from);
    return it != problemCode.end() && *it < to;
  };
  std::vector<std::pair<uint64_t, uint64_t>> rest;
  for (auto [start, end] : found) {
    // Its end too: verify reads a table entry that leads there as the
    // function's (GCC sends cases it knows unreachable there).
    uint64_t to = map.map(start);
    (anyIn(start, end + 1) || anyIn(to, to + (end - start) + 1) ? named : rest).push_back({start, end});
  }
  return rest;
}

} // namespace elfopt
