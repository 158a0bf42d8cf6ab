//===- Inputs.h - profiles and orders, matched to one binary ----*- C++ -*-===//
//
// What `order`, `evaluate` and `rewrite` share before any ordering happens:
// reading profiles into one set of runs (optionally laid out for a binary,
// matching functions by name when the profiles come from another build), and
// turning an order file or a symbol list into the binary's function
// addresses by one rule.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "elfopt/Elf/ElfFile.h"
#include "elfopt/Elf/Functions.h"
#include "elfopt/Order/Order.h"
#include "elfopt/Profile/Profile.h"

#include <functional>
#include <string>
#include <vector>

namespace elfopt {

/// Which object of the profiles to use, and how strictly it must match.
struct ProfileMatch {
  std::string object = "main";
  bool allowMismatch = false; ///< profiles of another build: match by name
  double minMatchRate = 0.5;  ///< with allowMismatch: fail below this share
  /// Called as each profile is read ("reading profile 2/6"): a terminal's
  /// progress line.
  std::function<void(const std::string &state)> progress;
  /// Finds the binary's functions that no symbol or FDE describes (see
  /// readFunctions); unset: none.
  FunctionFinder finder;
};

/// Profiles, their runs and (with a binary) its functions.
struct OrderInputs {
  std::vector<Profile> profiles;
  std::vector<std::string> names;
  RunSet set;
  FunctionTable table; ///< the binary's functions; empty without one
};

/// Reads \p profilePaths (at least one) and gathers the runs of
/// \p match.object; with \p binary (the caller's open file; null: none),
/// for that file. Throws FatalError when no run touches the object or too
/// few touches match.
OrderInputs loadOrderInputs(const std::vector<std::string> &profilePaths, const ProfileMatch &match,
                            const ElfFile *binary);

/// The addresses in \p table of an order's functions, in order. An entry
/// whose address starts a function of its name here is that function (the
/// same build); otherwise it names every function of that name here (as
/// lld's --symbol-ordering-file), or none.
std::vector<uint64_t> orderAddresses(const OrderFile &order, const FunctionTable &table);

/// The addresses of the functions each listed name names, in order.
std::vector<uint64_t> symbolListAddresses(const std::vector<std::string> &names, const FunctionTable &table);

} // namespace elfopt
