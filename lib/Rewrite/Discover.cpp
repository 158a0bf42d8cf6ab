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
      : input(input), decoder(decoder), reached(input.text.size()), covered(input.text.size()) {}

  std::vector<std::pair<uint64_t, uint64_t>> run() {
    dataAddresses = input.dataAddresses;
    for (uint64_t a : input.starts)
      enter(a, /*isStart=*/true);
    while (!work.empty()) {
      uint64_t a = work.back();
      work.pop_back();
      follow(a);
    }
    for (auto *list : {&starts, &dataAddresses, &conflicts, &openJumps}) {
      std::sort(list->begin(), list->end());
      list->erase(std::unique(list->begin(), list->end()), list->end());
    }
    std::vector<std::pair<uint64_t, uint64_t>> bodies;
    bool debug = std::getenv("ELFOPT_DEBUG_DISCOVER") != nullptr; // each run and piece, on stderr
    for (size_t r = 0; r < input.runs.size(); ++r) {
      if (debug)
        std::fprintf(stderr, "run %llx-%llx\n", (unsigned long long)input.runs[r].first,
                     (unsigned long long)input.runs[r].second);
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

  /// Control reaches \p a. Outside the runs it is described code's business.
  void enter(uint64_t a, bool isStart) {
    if (runOf(a) == NoRun)
      return;
    if (isStart)
      starts.push_back(a);
    if (covered[offset(a)] && !reached[offset(a)])
      markConflict(a, 1); // inside an instruction reached before
    else if (!reached[offset(a)])
      work.push_back(a);
  }

  void follow(uint64_t a) {
    size_t r = runOf(a);
    uint64_t end = input.runs[r].second;
    while (a < end && !reached[offset(a)]) {
      auto inst = decoder.decode(input.text.subspan(offset(a), end - a), a);
      if (!inst) {
        conflicts.push_back(a); // control reaches bytes that are no instruction
        return;
      }
      // Bytes read as two different instructions: data, or code that
      // overlaps itself. Either way the pieces around stay as they are.
      bool overlaps = covered[offset(a)];
      for (uint64_t k = 1; k < inst->size; ++k)
        overlaps |= covered[offset(a) + k];
      if (overlaps) {
        markConflict(a, inst->size);
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
      auto it = std::lower_bound(input.tableTargets.begin(), input.tableTargets.end(),
                                 std::pair<uint64_t, uint64_t>{a, 0});
      bool indirect = inst->operation.kind == x86_64::Operation::IndirectJump ||
                      inst->operation.kind == x86_64::Operation::IndirectJumpMemory;
      if (indirect && (it == input.tableTargets.end() || it->first != a))
        openJumps.push_back(a); // it may lead anywhere, past bytes nothing else reaches too
      for (; it != input.tableTargets.end() && it->first == a; ++it)
        enter(it->second, false);
      // A call returns, unless it calls something that does not: then what
      // follows is the next function or padding, code either way.
      if (inst->endsFlow && !inst->isCall)
        return;
      a += inst->size;
    }
  }

  /// Bytes [a, a + size) are read as two different instructions: marks a
  /// and the reached instructions that may hold those bytes (an instruction
  /// is at most 15 bytes long), so that no piece with either is proved.
  void markConflict(uint64_t a, uint64_t size) {
    conflicts.push_back(a);
    for (uint64_t x = a - std::min<uint64_t>(14, a - input.textStart); x < a + size; ++x)
      if (reached[offset(x)])
        conflicts.push_back(x);
  }

  static bool anyIn(const std::vector<uint64_t> &sorted, uint64_t p, uint64_t q) {
    auto it = std::lower_bound(sorted.begin(), sorted.end(), p);
    return it != sorted.end() && *it < q;
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
      // Data: code reads or writes it as memory (or code changes itself).
      bool isData = anyIn(dataAddresses, p, q);
      bool conflict = anyIn(conflicts, p, q);
      auto last = reached[offset(p)] && !isData && !conflict ? provedEnd(p, q, debug) : std::nullopt;
      if (debug)
        std::fprintf(stderr, "  piece %llx-%llx: %s\n", (unsigned long long)p, (unsigned long long)q,
                     !reached[offset(p)] ? "start not reached"
                     : isData            ? "read as data"
                     : conflict          ? "read as two different instructions"
                     : last              ? "proved"
                                         : "not all reached");
      if (last)
        bodies.push_back({p, *last});
    }
  }

  /// The end of [p, q)'s last reached instruction, if every byte up to it
  /// is reached or is padding that decodes on its own between reached
  /// code. Unreached bytes after it stay as they are.
  std::optional<uint64_t> provedEnd(uint64_t p, uint64_t q, bool debug) const {
    uint64_t last = p, gapEnd = p;
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
      if (gapEnd <= x)
        gapEnd = x;
      while (gapEnd < q && !covered[offset(gapEnd)])
        ++gapEnd;
      auto inst = decoder.decode(input.text.subspan(offset(x), gapEnd - x), x);
      if (!inst || !inst->isPadding) {
        // Nothing reaches it: it may be data, or code no one calls. If
        // control from the start never gets past it (and no jump of unknown
        // targets might), the function ends before it, and the rest of the
        // piece stays where it is.
        if (debug)
          std::fprintf(stderr, "    unreached at %llx%s\n", (unsigned long long)x, gapEnd < q ? ", reached after" : "");
        if (gapEnd < q || anyIn(openJumps, p, q))
          return std::nullopt;
        break;
      }
      x += inst->size;
    }
    return last > p ? std::optional(last) : std::nullopt;
  }

  const DiscoveryInput &input;
  const x86_64::Decoder &decoder;
  std::vector<bool> reached; ///< per byte: an instruction control reaches starts here
  std::vector<bool> covered; ///< per byte: part of such an instruction
  std::vector<uint64_t> starts, work, dataAddresses;
  std::vector<uint64_t> conflicts; ///< where bytes are read as two instructions, or as none
  std::vector<uint64_t> openJumps; ///< reached indirect jumps whose targets are not known
};

} // namespace

std::vector<std::pair<uint64_t, uint64_t>> discoverFunctions(const DiscoveryInput &input,
                                                             const x86_64::Decoder &decoder) {
  if (input.runs.empty())
    return {};
  return Discoverer(input, decoder).run();
}

} // namespace elfopt::rewrite
