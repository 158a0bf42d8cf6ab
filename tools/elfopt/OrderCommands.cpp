//===- OrderCommands.cpp - elfopt order, evaluate -------------------------===//
#include "CommandSupport.h"
#include "elfopt/Order/Evaluate.h"
#include "elfopt/Support/Diagnostics.h"
#include "elfopt/Support/OutputFile.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace elfopt {

const char OrderUsage[] =
    "usage: elfopt order PROFILE... [-o ORDER] [options]\n\n"
    "Builds one function order from every run of every PROFILE: a Markov chain\n"
    "over the first-touch sequences, laid out so that functions every run needs\n"
    "come first in time order and functions only some runs touch follow, next\n"
    "to the functions they are touched with (see README.md, 'Ordering').\n"
    "Functions never touched keep their original order after the listed ones.\n\n"
    "  -o, --output FILE        write here (default: stdout)\n"
    "  --format F               json (default; what 'elfopt rewrite' reads),\n"
    "                           lld (--symbol-ordering-file), gold\n"
    "                           (--section-ordering-file, -ffunction-sections)\n"
    "  --object NAME            which object of the profiles: its name, or the end\n"
    "                           of its path, such as libxul.so (default: main)\n"
    "  --binary FILE            the file to be laid out: its identity must match\n"
    "                           the profiles', and only its functions are listed\n"
    "  --allow-mismatch         accept profiles of another build; match functions\n"
    "                           by name and report the match rate\n"
    "  --min-match-rate R       with --allow-mismatch, fail below this share of\n"
    "                           matched touches (default 0.5)\n"
    "  --window N               transitions counted up to N steps ahead (8)\n"
    "  --decay X                weight of a transition k steps ahead: X^(k-1) (0.5)\n"
    "  --rarity-penalty X       how far back a function touched by few runs goes\n"
    "                           (1.0 = by a whole run for one no run touches)\n";


int runOrder(const std::vector<std::string> &args) {
  po::options_description opts;
  opts.add_options()("profiles", po::value<std::vector<std::string>>())(
      "output,o", po::value<std::string>())("format", po::value<std::string>())(
      "object", po::value<std::string>())("binary", po::value<std::string>())(
      "allow-mismatch", po::bool_switch())("min-match-rate", po::value<double>())(
      "window", po::value<unsigned>())("decay", po::value<double>())(
      "rarity-penalty", po::value<double>());
  po::positional_options_description pos;
  pos.add("profiles", -1);
  auto vm = parse("order", args, opts, pos);
  std::string format = vm.count("format") ? vm["format"].as<std::string>() : "json";
  if (format != "json" && format != "lld" && format != "gold")
    throw UsageError{"order", "--format must be json, lld or gold"};
  OrderParameters params;
  if (vm.count("window"))
    params.window = vm["window"].as<unsigned>();
  if (vm.count("decay"))
    params.decay = vm["decay"].as<double>();
  if (vm.count("rarity-penalty"))
    params.rarityPenalty = vm["rarity-penalty"].as<double>();
  if (params.window == 0 || !(params.decay > 0 && params.decay <= 1) || !(params.rarityPenalty >= 0))
    throw UsageError{"order", "--window must be >= 1, --decay in (0, 1], --rarity-penalty >= 0"};
  std::vector<std::string> paths = profilePaths("order", vm); // a usage error before any file
  std::unique_ptr<ElfFile> binary;
  if (vm.count("binary"))
    binary = ElfFile::open(vm["binary"].as<std::string>());
  // On a terminal, one line that says what is going on; gone before the order is printed.
  ProgressLine progress(true);
  ProfileMatch match = profileMatch(vm);
  match.progress = progress.callback();
  OrderInputs in = loadOrderInputs(paths, match, binary.get());
  std::vector<bool> touched(in.set.functions.size(), false);
  for (const auto &run : in.set.runs)
    for (uint32_t f : run)
      touched[f] = true;
  progress.show("ordering " + std::to_string(std::ranges::count(touched, true)) + " functions");
  std::vector<uint32_t> order = orderMarkov(in.set, in.set.runs, params);
  progress.clear();
  std::string text = format == "json"  ? orderToJson(in.set, order, params, in.profiles.size())
                     : format == "lld" ? orderToSymbolList(in.set, order)
                                       : orderToGoldSections(in.set, order);
  if (vm.count("output"))
    writeFileAtomically(vm["output"].as<std::string>(),
                        {reinterpret_cast<const uint8_t *>(text.data()), text.size()});
  else
    std::fwrite(text.data(), 1, text.size(), stdout);
  return ExitOk;
}

const char EvaluateUsage[] =
    "usage: elfopt evaluate BINARY PROFILE... [options]\n\n"
    "Scores layouts of BINARY's code against the recorded runs: distinct 4 KiB\n"
    "pages, 64 KiB and 128 KiB windows touched, backward steps between\n"
    "consecutive first touches, and the lower bound (touched bytes in pages);\n"
    "means over the runs. Compares the current layout with a proposed one:\n"
    "--order's, or else the Markov order built from the same profiles.\n\n"
    "  --order FILE          an order from 'elfopt order' (json)\n"
    "  --symbol-list FILE    an order as a plain symbol list (lld format)\n"
    "  --cross-validate      leave one run out, order from the rest, score the\n"
    "                        held-out run; for the current layout, one run's\n"
    "                        order, mean first-touch rank and Markov\n"
    "  --object NAME         which object of the profiles: its name, or the end\n"
    "                        of its path, such as libxul.so (default: main)\n"
    "  --allow-mismatch      accept profiles of another build (match by name)\n"
    "  --json                print the figures as JSON\n";

static json scoreJson(const LayoutScore &s) {
  auto r = [](double v) { return std::round(v * 100) / 100; };
  return {{"pages", r(s.pages)},
          {"windows64k", r(s.windows64k)},
          {"windows128k", r(s.windows128k)},
          {"backwardSteps", r(s.backward)}};
}

int runEvaluate(const std::vector<std::string> &args) {
  po::options_description opts;
  opts.add_options()("binary", po::value<std::string>())(
      "profiles", po::value<std::vector<std::string>>())("order", po::value<std::string>())(
      "symbol-list", po::value<std::string>())("cross-validate", po::bool_switch())(
      "object", po::value<std::string>())("allow-mismatch", po::bool_switch())(
      "json", po::bool_switch());
  po::positional_options_description pos;
  pos.add("binary", 1).add("profiles", -1);
  auto vm = parse("evaluate", args, opts, pos);
  if (!vm.count("binary"))
    throw UsageError{"evaluate", "give the binary and its profiles"};
  std::vector<std::string> paths = profilePaths("evaluate", vm); // a usage error before any file
  auto binary = ElfFile::open(vm["binary"].as<std::string>());
  OrderInputs in = loadOrderInputs(paths, profileMatch(vm), binary.get());
  const RunSet &set = in.set;
  auto addresses = [&](const std::vector<uint32_t> &order) {
    std::vector<uint64_t> out;
    for (uint32_t f : order)
      out.push_back(set.functions[f].address);
    return out;
  };
  size_t runs = set.runs.size();
  TextLayout original = TextLayout::original(in.table);
  json report;
  report["binary"] = vm["binary"].as<std::string>();
  report["runs"] = runs;
  std::vector<std::pair<std::string, LayoutScore>> rows;
  LayoutScore bound;

  if (vm["cross-validate"].as<bool>()) {
    if (runs < 2)
      fatal("cross-validation needs at least 2 runs; the profiles hold " + std::to_string(runs));
    LayoutScore orig, single, rank, markov;
    for (size_t i = 0; i < runs; ++i) {
      std::vector<std::vector<uint32_t>> train;
      for (size_t j = 0; j < runs; ++j)
        if (j != i)
          train.push_back(set.runs[j]);
      const auto &held = set.runs[i];
      LayoutScore asIs = scoreRun(set, held, original);
      orig += asIs;
      bound.lowerBound += asIs.lowerBound;
      LayoutScore s;
      for (const auto &t : train)
        s += scoreRun(set, held, TextLayout::withOrder(in.table, addresses(orderFromRun(t))));
      single += s.scaled(1.0 / double(train.size()));
      rank += scoreRun(set, held, TextLayout::withOrder(in.table, addresses(orderByMeanRank(set, train))));
      markov += scoreRun(set, held,
                         TextLayout::withOrder(in.table, addresses(orderMarkov(set, train, {}))));
    }
    double k = 1.0 / double(runs);
    rows = {{"original", orig.scaled(k)},
            {"single-run", single.scaled(k)},
            {"mean-rank", rank.scaled(k)},
            {"markov", markov.scaled(k)}};
    bound = bound.scaled(k);
    report["mode"] = "leave-one-out";
  } else {
    std::vector<uint64_t> proposed;
    std::string label = "markov";
    // The same matching as `rewrite`, so both score the same layout.
    if (vm.count("order")) {
      proposed = orderAddresses(readOrderFile(vm["order"].as<std::string>()), in.table);
      label = "order";
    } else if (vm.count("symbol-list")) {
      proposed = symbolListAddresses(readSymbolList(vm["symbol-list"].as<std::string>()), in.table);
      label = "symbol-list";
    } else {
      proposed = addresses(orderMarkov(set, set.runs, {}));
    }
    TextLayout layout = TextLayout::withOrder(in.table, proposed);
    LayoutScore orig, prop;
    for (const auto &run : set.runs) {
      LayoutScore asIs = scoreRun(set, run, original);
      orig += asIs;
      prop += scoreRun(set, run, layout);
      bound.lowerBound += asIs.lowerBound;
    }
    double k = 1.0 / double(runs);
    rows = {{"original", orig.scaled(k)}, {label, prop.scaled(k)}};
    bound = bound.scaled(k);
    report["mode"] = "all-runs";
  }
  json layouts;
  for (auto &[name, score] : rows)
    layouts[name] = scoreJson(score);
  report["layouts"] = layouts;
  report["lowerBoundPages"] = std::round(bound.lowerBound * 100) / 100;
  if (vm["json"].as<bool>()) {
    std::printf("%s\n", report.dump(2, ' ', false, json::error_handler_t::replace).c_str());
    return ExitOk;
  }
  std::printf("%s: %zu runs%s; means per run\n", vm["binary"].as<std::string>().c_str(), runs,
              report["mode"] == "leave-one-out" ? ", each held out in turn" : "");
  std::printf("  %-12s %10s %12s %13s %10s\n", "layout", "4K pages", "64K windows",
              "128K windows", "backward");
  for (auto &[name, s] : rows)
    std::printf("  %-12s %10.2f %12.2f %13.2f %10.2f\n", name.c_str(), s.pages, s.windows64k,
                s.windows128k, s.backward);
  std::printf("  %-12s %10.2f\n", "lower bound", bound.lowerBound);
  return ExitOk;
}

} // namespace elfopt
