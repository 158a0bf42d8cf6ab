//===- Discover.cpp - functions in code no symbol or FDE describes --------===//
#include "Discover.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <optional>

namespace elfopt::rewrite {

namespace {

constexpr size_t NoRun = ~size_t(0);

class Discoverer {
public:
  Discoverer(const DiscoveryInput &input, const x86_64::Decoder &decoder)
      : input(input), decoder(decoder), reached(input.text.size()), covered(input.text.size()),
        broken(input.runs.size()) {}

  std::vector<std::pair<uint64_t, uint64_t>> run() {
    dataAddresses = input.dataAddresses;
    for (uint64_t a : input.starts)
      enter(a, /*isStart=*/true);
    while (!work.empty()) {
      uint64_t a = work.back();
      work.pop_back();
      follow(a);
    }
    for (auto *list : {&starts, &dataAddresses}) {
      std::sort(list->begin(), list->end());
      list->erase(std::unique(list->begin(), list->end()), list->end());
    }
    std::vector<std::pair<uint64_t, uint64_t>> bodies;
    bool debug = std::getenv("ELFOPT_DEBUG_DISCOVER") != nullptr; // each run and piece, on stderr
    for (size_t r = 0; r < input.runs.size(); ++r) {
      if (debug)
        std::fprintf(stderr, "run %llx-%llx%s\n", (unsigned long long)input.runs[r].first,
                     (unsigned long long)input.runs[r].second, broken[r] ? " broken" : "");
      if (!broken[r])
        cutRun(r, bodies, debug);
    }
    return bodies;
  }

private:
  size_t offset(uint64_t a) const { return a - input.textStart; }

  size_t runOf(uint64_t a) const {
    auto it = std::upper_bound(input.runs.begin(), input.runs.end(), a,
                               [](uint64_t x, const std::pair<uint64_t, uint64_t> &r) { return x < r.first; });
    if (it == input.runs.begin() || a >= (it - 1)->second)
      return NoRun;
    return size_t(it - input.runs.begin()) - 1;
  }

  /// Control reaches \p a. Outside the runs it is described code's business;
  /// inside, it must be where the linear decoding put an instruction.
  void enter(uint64_t a, bool isStart) {
    size_t r = runOf(a);
    if (r == NoRun)
      return;
    if (!(*input.instructionStart)[offset(a)]) {
      broken[r] = true;
      return;
    }
    if (isStart)
      starts.push_back(a);
    if (!reached[offset(a)])
      work.push_back(a);
  }

  void follow(uint64_t a) {
    size_t r = runOf(a);
    uint64_t end = input.runs[r].second;
    while (a < end && !reached[offset(a)]) {
      if (!(*input.instructionStart)[offset(a)]) {
        broken[r] = true; // fell into the middle of a linearly decoded instruction
        return;
      }
      auto inst = decoder.decode(input.text.subspan(offset(a), end - a), a);
      if (!inst) {
        broken[r] = true;
        return;
      }
      reached[offset(a)] = true;
      for (uint64_t k = 0; k < inst->size; ++k)
        covered[offset(a) + k] = true;
      if (inst->field && inst->field->isBranch) {
        uint64_t t = inst->field->target;
        // A call starts a function; so does a jump into another run (a
        // tail call): a run is a whole number of functions.
        enter(t, inst->isCall || runOf(t) != r);
      } else if (inst->field) {
        uint64_t t = inst->field->target;
        if (inst->operation.kind == x86_64::Operation::LoadAddress)
          enter(t, true); // an address taken: a function pointer, or data that stays (below)
        else if (runOf(t) != NoRun)
          dataAddresses.push_back(t);
      }
      for (auto it = std::lower_bound(input.tableTargets.begin(), input.tableTargets.end(),
                                      std::pair<uint64_t, uint64_t>{a, 0});
           it != input.tableTargets.end() && it->first == a; ++it)
        enter(it->second, false);
      // A call returns, unless it calls something that does not: then what
      // follows is the next function or padding, code either way.
      if (inst->endsFlow && !inst->isCall)
        return;
      a += inst->size;
    }
  }

  /// Cuts run \p r at the starts in it; keeps each piece whose bytes were
  /// all reached or are padding, up to its last reached instruction.
  void cutRun(size_t r, std::vector<std::pair<uint64_t, uint64_t>> &bodies, bool debug) const {
    auto [runStart, runEnd] = input.runs[r];
    std::vector<uint64_t> cuts{runStart};
    for (auto it = std::upper_bound(starts.begin(), starts.end(), runStart); it != starts.end() && *it < runEnd; ++it)
      cuts.push_back(*it);
    cuts.push_back(runEnd);
    for (size_t i = 0; i + 1 < cuts.size(); ++i) {
      uint64_t p = cuts[i], q = cuts[i + 1];
      auto data = std::lower_bound(dataAddresses.begin(), dataAddresses.end(), p);
      // Data: code reads or writes it as memory (or code changes itself).
      bool isData = data != dataAddresses.end() && *data < q;
      auto last = reached[offset(p)] && !isData ? provedEnd(p, q, debug) : std::nullopt;
      if (debug)
        std::fprintf(stderr, "  piece %llx-%llx: %s\n", (unsigned long long)p, (unsigned long long)q,
                     !reached[offset(p)] ? "start not reached" : isData ? "read as data" : last ? "proved" : "not all reached");
      if (last)
        bodies.push_back({p, *last});
    }
  }

  std::optional<uint64_t> provedEnd(uint64_t p, uint64_t q, bool debug) const {
    uint64_t last = p;
    for (uint64_t x = p; x < q;) {
      if (covered[offset(x)]) {
        last = ++x;
        continue;
      }
      uint8_t byte = input.text[offset(x)];
      if (byte == 0) { // linkers pad with zeros too; zeros are never code here
        ++x;
        continue;
      }
      if (!(*input.instructionStart)[offset(x)])
        return std::nullopt;
      auto inst = decoder.decode(input.text.subspan(offset(x), q - x), x);
      if (!inst || !inst->isPadding) {
        if (debug)
          std::fprintf(stderr, "    unreached at %llx\n", (unsigned long long)x);
        return std::nullopt; // nothing reaches it: it may be data
      }
      x += inst->size;
    }
    return last > p ? std::optional(last) : std::nullopt;
  }

  const DiscoveryInput &input;
  const x86_64::Decoder &decoder;
  std::vector<bool> reached; ///< per byte: an instruction control reaches starts here
  std::vector<bool> covered; ///< per byte: part of such an instruction
  std::vector<bool> broken;  ///< per run: not read the same by control flow and linearly
  std::vector<uint64_t> starts, work, dataAddresses;
};

} // namespace

std::vector<std::pair<uint64_t, uint64_t>> discoverFunctions(const DiscoveryInput &input,
                                                             const x86_64::Decoder &decoder) {
  if (input.runs.empty())
    return {};
  return Discoverer(input, decoder).run();
}

} // namespace elfopt::rewrite
