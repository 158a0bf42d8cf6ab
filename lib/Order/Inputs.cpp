//===- Inputs.cpp - profiles and orders, matched to one binary ------------===//
#include "elfopt/Order/Inputs.h"

#include "elfopt/Order/Evaluate.h"
#include "elfopt/Support/Diagnostics.h"

#include <cstdio>
#include <optional>
#include <unordered_map>

namespace elfopt {

OrderInputs loadOrderInputs(const std::vector<std::string> &profilePaths, const ProfileMatch &match,
                            const ElfFile *binary) {
  OrderInputs in;
  for (const std::string &path : profilePaths) {
    if (match.progress)
      match.progress("reading profile " + std::to_string(in.profiles.size() + 1) + "/" +
                     std::to_string(profilePaths.size()));
    in.profiles.push_back(readProfile(path));
    in.names.push_back(path);
  }
  std::optional<ObjectIdentity> expected;
  std::vector<OrderedFunction> functions;
  if (binary) {
    if (match.progress)
      match.progress("reading " + binary->name());
    in.table = readFunctions(*binary, match.finder);
    expected = identifyObject(match.object, *binary);
    functions = functionsOf(in.table);
  }
  in.set = collectRuns(in.profiles, in.names, match.object, expected ? &*expected : nullptr,
                       binary ? &functions : nullptr, match.allowMismatch);
  if (match.allowMismatch) {
    char rate[64];
    std::snprintf(rate, sizeof rate, "%.1f%%", 100 * in.set.matchRate);
    if (in.set.matchRate < 1.0)
      warn(std::string("profiles of another build: ") + rate +
           " of their first touches matched a function by name");
    if (in.set.matchRate < match.minMatchRate)
      fatal(std::string("only ") + rate + " of the first touches matched (--min-match-rate " +
            std::to_string(match.minMatchRate) + "); record a new profile");
  }
  size_t touches = 0;
  for (const auto &run : in.set.runs)
    touches += run.size();
  if (in.set.runs.empty() || touches == 0)
    fatal((in.names.empty() ? std::string("the profiles") : in.names[0]) +
          (in.names.size() > 1 ? " (and the others)" : "") + ": no recorded first touches of object '" +
          match.object + "'");
  return in;
}

namespace {

/// Each name's functions, in address order (static functions of different
/// files may share a name).
std::unordered_map<std::string, std::vector<uint64_t>> functionsByName(const FunctionTable &table) {
  std::unordered_map<std::string, std::vector<uint64_t>> byName;
  for (const Function &f : table.functions)
    byName[f.name].push_back(f.address);
  return byName;
}

} // namespace

// As lld's --symbol-ordering-file, a name that several local functions share
// places all of them.
std::vector<uint64_t> orderAddresses(const OrderFile &order, const FunctionTable &table) {
  std::unordered_map<uint64_t, const Function *> byAddress;
  for (const Function &f : table.functions)
    byAddress.emplace(f.address, &f);
  auto byName = functionsByName(table);
  std::vector<uint64_t> out;
  for (const OrderedFunction &f : order.functions) {
    if (auto it = byAddress.find(f.address); it != byAddress.end() && it->second->name == f.symbol)
      out.push_back(f.address);
    else if (auto jt = byName.find(f.symbol); jt != byName.end())
      out.insert(out.end(), jt->second.begin(), jt->second.end());
  }
  return out;
}

std::vector<uint64_t> symbolListAddresses(const std::vector<std::string> &names, const FunctionTable &table) {
  auto byName = functionsByName(table);
  std::vector<uint64_t> out;
  for (const std::string &n : names)
    if (auto it = byName.find(n); it != byName.end())
      out.insert(out.end(), it->second.begin(), it->second.end());
  return out;
}

} // namespace elfopt
