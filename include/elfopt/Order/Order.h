//===- Order.h - one function order from many recorded runs -----*- C++ -*-===//
//
// A single first-touch trace is not "the" startup order: threads and inputs
// shuffle it from run to run. The order is built from all runs as a Markov
// chain over first-touch sequences:
//
//   support(f)   share of runs that touch f
//   position(f)  mean of f's rank / run length over the runs that touch it
//   W(a -> b)    per run, every b first touched 1..window steps after a adds
//                decay^(steps - 1); divided by the number of runs, this is
//                the expected (distance-weighted) count of that transition
//
// The order is a path through the chain: start with every touched function
// as its own chain; take transitions by decreasing weight and join the chain
// ending in a to the chain starting with b, unless that would put a chain
// that starts later in time (position) before one that starts earlier. The
// chains are then laid out by their mean of
//   position(f) + rarityPenalty * (1 - support(f))
// so functions every run needs come first, in time order, and functions that
// only some runs touch follow, grouped with the ones they are touched with.
// Ties break on the function's address: the same profiles give the same
// order. Functions never touched are not listed: they keep their original
// relative order after the listed ones.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "elfopt/Profile/Profile.h"

#include <cstdint>
#include <string>
#include <vector>

namespace elfopt {

struct OrderParameters {
  unsigned window = 8;        ///< how far ahead a transition is counted
  double decay = 0.5;         ///< weight of a transition k steps ahead: decay^(k-1)
  double rarityPenalty = 1.0; ///< how much later a rarely touched function goes
};

/// A function as ordering sees it.
struct OrderedFunction {
  std::string symbol;
  uint64_t address = 0;
  uint64_t size = 0;
  double support = 0;  ///< share of runs touching it
  double position = 0; ///< mean normalized first-touch rank
};

/// The runs of one object, as sequences of indices into `functions`.
struct RunSet {
  ObjectIdentity identity;
  std::vector<OrderedFunction> functions;
  std::vector<std::vector<uint32_t>> runs;
  /// With --allow-mismatch, the share of touches matched by name.
  double matchRate = 1.0;
};

/// Gathers the runs of object \p object from every profile. Profiles of
/// another build (build-id or content hash differ from the first profile's,
/// or from \p expected if given) are refused unless \p allowMismatch; then
/// their touches are matched by symbol name and matchRate says how many did.
/// With \p binaryFunctions (every function of the binary being laid out),
/// touches of functions outside it are dropped.
RunSet collectRuns(const std::vector<Profile> &profiles, const std::vector<std::string> &names,
                   const std::string &object, const ObjectIdentity *expected,
                   const std::vector<OrderedFunction> *binaryFunctions, bool allowMismatch);

/// Fills support and position of every function from \p runs.
void computeStatistics(RunSet &set, const std::vector<std::vector<uint32_t>> &runs);

/// The strategies `evaluate` compares; Markov is what `order` produces.
std::vector<uint32_t> orderMarkov(const RunSet &set, const std::vector<std::vector<uint32_t>> &runs,
                                  const OrderParameters &params);
std::vector<uint32_t> orderByMeanRank(const RunSet &set,
                                      const std::vector<std::vector<uint32_t>> &runs);
/// The first-touch order of one run.
std::vector<uint32_t> orderFromRun(const std::vector<uint32_t> &run);

/// Output formats of `elfopt order`.
std::string orderToJson(const RunSet &set, const std::vector<uint32_t> &order,
                        const OrderParameters &params, size_t profileCount);
std::string orderToSymbolList(const RunSet &set, const std::vector<uint32_t> &order);
/// gold --section-ordering-file lines for -ffunction-sections builds.
std::string orderToGoldSections(const RunSet &set, const std::vector<uint32_t> &order);

/// Reads an order written by orderToJson (format "elfopt-order", version 1):
/// symbols and addresses, in order.
struct OrderFile {
  ObjectIdentity identity;
  std::vector<OrderedFunction> functions;
};
OrderFile readOrderFile(const std::string &path);
OrderFile parseOrderFile(const std::string &text, const std::string &name);

} // namespace elfopt
