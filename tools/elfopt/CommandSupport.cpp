//===- CommandSupport.cpp - what the subcommand files share ---------------===//
#include "CommandSupport.h"
#include "elfopt/Rewrite/Rewrite.h"
#include "elfopt/Scope/LookupMix.h"
#include "elfopt/Support/Diagnostics.h"

#include <algorithm>
#include <cstdio>
#include <sys/ioctl.h>
#include <unistd.h>

namespace elfopt {

// Parses \p args against \p options; positional names map in order.
po::variables_map parse(const char *command, const std::vector<std::string> &args,
                               const po::options_description &options,
                               const po::positional_options_description &positional) {
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(options).positional(positional).run(), vm);
    po::notify(vm);
  } catch (const po::error &e) {
    throw UsageError{command, e.what()};
  }
  return vm;
}

ProgressLine::ProgressLine(bool wanted) : enabled(wanted && ::isatty(2)) {
  if (enabled)
    setBeforeWarning([this] { clear(); });
}

ProgressLine::~ProgressLine() {
  if (!enabled)
    return;
  setBeforeWarning({});
  clear();
}

std::function<void(const std::string &)> ProgressLine::callback() {
  if (!enabled)
    return {};
  return [this](const std::string &state) { show(state); };
}

void ProgressLine::show(const std::string &state) {
  if (!enabled)
    return;
  std::lock_guard<std::mutex> guard(lock);
  std::string text = "elfopt: " + state;
  // A line wider than the terminal wraps, and '\r' goes back to its last row only.
  winsize ws{};
  if (::ioctl(2, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 1 && text.size() >= ws.ws_col)
    text.resize(ws.ws_col - 1);
  // Spaces cover the rest of a longer line shown before.
  int pad = width > text.size() ? int(width - text.size()) : 0;
  std::fprintf(stderr, "\r%s%*s", text.c_str(), pad, "");
  width = text.size() + pad;
}

// Called from warn() too, possibly on another thread: hence the lock.
void ProgressLine::clear() {
  if (!enabled)
    return;
  std::lock_guard<std::mutex> guard(lock);
  if (width)
    std::fprintf(stderr, "\r%*s\r", int(width), "");
  width = 0;
}


std::pair<std::vector<std::string>, std::vector<std::string>> splitAtDashes(const std::vector<std::string> &args) {
  auto dash = std::find(args.begin(), args.end(), "--");
  std::vector<std::string> ours(args.begin(), dash), command;
  if (dash != args.end())
    command.assign(dash + 1, args.end());
  return {ours, command};
}

ProfileMatch profileMatch(const po::variables_map &vm) {
  ProfileMatch m;
  if (vm.count("object"))
    m.object = vm["object"].as<std::string>();
  m.allowMismatch = vm.count("allow-mismatch") && vm["allow-mismatch"].as<bool>();
  if (vm.count("min-match-rate"))
    m.minMatchRate = vm["min-match-rate"].as<double>();
  m.finder = findUndescribedFunctions;
  return m;
}

std::vector<std::string> profilePaths(const char *command, const po::variables_map &vm) {
  if (!vm.count("profiles") || vm["profiles"].as<std::vector<std::string>>().empty())
    throw UsageError{command, "give at least one profile"};
  return vm["profiles"].as<std::vector<std::string>>();
}


void addHashModelOptions(po::options_description &options) {
  options.add_options()("hash-misses-per-hit", po::value<double>())("hash-budget", po::value<uint64_t>())(
      "hash-lookups-for", po::value<std::string>());
}

DynsortOptions dynsortOptions(const char *command, const po::variables_map &vm, bool keepShape,
                              const ElfFile &file) {
  DynsortOptions o;
  o.keepShape = keepShape;
  if (vm.count("hash-lookups-for") && vm.count("hash-misses-per-hit"))
    throw UsageError{command, "give --hash-lookups-for or --hash-misses-per-hit, not both"};
  if (vm.count("hash-lookups-for") && !keepShape) {
    std::string program = vm["hash-lookups-for"].as<std::string>();
    SimulatedScope sim = simulateLookupMix(file, program);
    o.lookups = sim.mix;
    o.lookupsSource = "a start of " + program;
  }
  if (vm.count("hash-misses-per-hit")) {
    double r = vm["hash-misses-per-hit"].as<double>();
    if (!(r >= 0 && r <= 1e6))
      throw UsageError{command, "--hash-misses-per-hit must be between 0 and 1000000"};
    o.missesPerHit = r;
  }
  if (vm.count("hash-budget")) {
    o.budgetBytes = vm["hash-budget"].as<uint64_t>();
    if (o.budgetBytes < 32 || o.budgetBytes > (uint64_t(1) << 32))
      throw UsageError{command, "--hash-budget must be between 32 bytes and 4 GiB"};
  }
  if (keepShape && (o.missesPerHit || o.budgetBytes || vm.count("hash-lookups-for")))
    throw UsageError{command, "the GNU hash model options do not apply when its shape is kept"};
  return o;
}


void printDynsymVerify(const DynsymVerifyReport &v) {
  std::printf("  verify (dynamic symbols): %s: %llu symbols, %llu found through the hash tables, %llu "
              "dynamic relocations\n",
              v.ok() ? "ok" : "FAILED", (unsigned long long)v.symbols, (unsigned long long)v.lookups,
              (unsigned long long)v.relocations);
  for (const std::string &p : v.problems)
    std::printf("    %s\n", p.c_str());
}

void printVerify(const VerifyReport &v) {
  std::printf("  verify: %s: %llu functions (%llu moved), %llu instructions, %llu PC-relative "
              "operands, %llu FDEs, %llu symbols, %llu dynamic relocations, %llu changed words "
              "outside .text\n",
              v.ok() ? "ok" : "FAILED", (unsigned long long)v.functions,
              (unsigned long long)v.movedFunctions, (unsigned long long)v.instructions,
              (unsigned long long)v.pcRelativeOperands, (unsigned long long)v.fdes,
              (unsigned long long)v.symbols, (unsigned long long)v.dynamicRelocations,
              (unsigned long long)v.changedWords);
  if (v.forwardedWords)
    std::printf("  verify: %llu words kept as they were lead to moved code through a forwarding stub, each "
                "checked\n",
                (unsigned long long)v.forwardedWords);
  if (v.movedUndescribedRanges)
    std::printf("  verify: %llu runs of code no symbol or FDE describes moved, each found from the references "
                "to it and checked instruction by instruction\n",
                (unsigned long long)v.movedUndescribedRanges);
  for (const std::string &p : v.problems)
    std::printf("    %s\n", p.c_str());
}

} // namespace elfopt
