//===- Narrowing.h - found functions that verify's problems name -*- C++ -*-===//
//
// Where verify cannot follow some of the functions found in undescribed
// code, its problems name addresses of code (VerifyReport::problemCode);
// the rewrite is tried again with the found functions there kept in place.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "elfopt/Rewrite/Rewrite.h"

#include <cstdint>
#include <utility>
#include <vector>

namespace elfopt {

/// The functions of \p found, [start, end), that hold an address of
/// \p problemCode or end there, in their original place or where \p map
/// moved them, go to \p named; the others are returned. The addresses of
/// both files are mixed: a function named by mistake only stays in place.
std::vector<std::pair<uint64_t, uint64_t>> splitNamedFunctions(const std::vector<std::pair<uint64_t, uint64_t>> &found,
                                                               const AddressMap &map, std::vector<uint64_t> problemCode,
                                                               std::vector<std::pair<uint64_t, uint64_t>> &named);

} // namespace elfopt
