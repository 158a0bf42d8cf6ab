//===- Commands.cpp - option parsing for each subcommand --------------------===//
#include "Commands.h"
#include "elfopt/Dynsym/Dynsort.h"
#include "elfopt/Dynsym/Hashvals.h"
#include "elfopt/Edit/ElfEditor.h"
#include "elfopt/Elf/ElfFile.h"
#include "elfopt/Elf/Functions.h"
#include "elfopt/Hash/CostModel.h"
#include "elfopt/Hash/HashTables.h"
#include "elfopt/Inspect/Inspect.h"
#include "elfopt/Order/Evaluate.h"
#include "elfopt/Order/Order.h"
#include "elfopt/Profile/Profile.h"
#include "elfopt/Record/Recorder.h"
#include "elfopt/Report/Report.h"
#include "elfopt/Rewrite/Rewrite.h"
#include "elfopt/Verify/Verify.h"
#include "elfopt/Support/Diagnostics.h"
#include "elfopt/Support/InputFile.h"
#include "elfopt/Support/OutputFile.h"

#include <boost/program_options.hpp>

#include <algorithm>
#include <cstdio>
#include <cmath>
#include <cstring>
#include <unordered_map>
#include <fstream>
#include <iterator>
#include <map>
#include <random>
#include <sys/stat.h>
#include <unistd.h>

namespace po = boost::program_options;
using json = nlohmann::ordered_json;

namespace elfopt {

// Parses \p args against \p options; positional names map in order.
static po::variables_map parse(const char *command, const std::vector<std::string> &args,
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

//===----------------------------------------------------------------------===//
// inspect
//===----------------------------------------------------------------------===//

static const char InspectUsage[] =
    "usage: elfopt inspect FILE [--json]\n\n"
    "Shows what matters before optimizing FILE: identity (type, entry, build-id,\n"
    "interpreter, DT_NEEDED, SONAME), segments, sections, function symbols,\n"
    "whether static relocations were kept (--emit-relocs) and so whether code\n"
    "can be reordered, dynamic symbols, and GNU/SysV hash table figures.\n\n"
    "  --json    print the JSON document (schema elfopt-inspect/1, see README.md)\n";

static int runInspect(const std::vector<std::string> &args) {
  po::options_description opts;
  opts.add_options()("file", po::value<std::string>())("json", po::bool_switch());
  po::positional_options_description pos;
  pos.add("file", 1);
  auto vm = parse("inspect", args, opts, pos);
  if (!vm.count("file"))
    throw UsageError{"inspect", "missing FILE"};
  auto file = ElfFile::open(vm["file"].as<std::string>());
  json report = inspect(*file);
  if (vm["json"].as<bool>())
    std::printf("%s\n", report.dump(2, ' ', false, json::error_handler_t::replace).c_str());
  else
    std::printf("%s", renderInspectText(report).c_str());
  return ExitOk;
}

//===----------------------------------------------------------------------===//
// edit
//===----------------------------------------------------------------------===//

static const char EditUsage[] =
    "usage: elfopt edit IN (-o OUT | --in-place) [options]\n\n"
    "Low-level edits of a linked file, the building blocks of the optimizing\n"
    "commands (also what the tests use to exercise the ELF writer). With no\n"
    "edit, OUT is byte-identical to IN.\n\n"
    "  -o, --output OUT          write here (atomically; IN is never touched)\n"
    "  --in-place                replace IN instead\n"
    "  --add-section NAME=FILE   add a read-only allocated section with FILE's\n"
    "                            bytes, in a new PT_LOAD segment\n"
    "  --add-dynamic TAG=VALUE   add a dynamic entry in a spare DT_NULL slot;\n"
    "                            VALUE is a number or @NAME, the address of a\n"
    "                            section added by --add-section\n"
    "  --dynsort                 sort .dynsym into GNU hash order and .dynstr with\n"
    "                            it, rebuild .gnu.hash with the cost model's shape\n"
    "                            (within its size) and renumber every reference\n"
    "  --keep-hash-shape         with --dynsort: keep the GNU hash parameters\n"
    "  --add-hashvals            add precomputed GNU hashes of the .dynsym names\n"
    "                            (.elfopt.hashvals, DT_ELFOPT_HASHVALS 0x6ffffe00;\n"
    "                            see README.md)\n"
    "  --json                    print what was done as JSON\n";

static uint64_t parseNumber(const std::string &text, const char *what) {
  try {
    size_t used = 0;
    uint64_t v = std::stoull(text, &used, 0);
    if (used == text.size())
      return v;
  } catch (...) {
  }
  throw UsageError{"edit", std::string("invalid ") + what + " '" + text + "'"};
}

static json dynsortJson(const DynsortResult &r) {
  auto table = [](const GnuHashCost &c) {
    return json{{"nbuckets", c.shape.nbuckets},
                {"bloomWords", c.shape.bloomWords},
                {"bloomShift", c.shape.bloomShift},
                {"bytes", c.bytes},
                {"weightedLines", c.weighted}};
  };
  return {{"symbols", r.symbols},
          {"hashed", r.hashed},
          {"dynstrBytes", {r.dynstrBefore, r.dynstrAfter}},
          {"gnuHashBefore", table(r.before)},
          {"gnuHashAfter", table(r.after)}};
}

static int runEdit(const std::vector<std::string> &args) {
  po::options_description opts;
  opts.add_options()("input", po::value<std::string>())("output,o", po::value<std::string>())(
      "in-place", po::bool_switch())("add-section", po::value<std::vector<std::string>>())(
      "add-dynamic", po::value<std::vector<std::string>>())("json", po::bool_switch())(
      "add-hashvals", po::bool_switch())("dynsort", po::bool_switch())(
      "keep-hash-shape", po::bool_switch());
  po::positional_options_description pos;
  pos.add("input", 1);
  auto vm = parse("edit", args, opts, pos);
  if (!vm.count("input"))
    throw UsageError{"edit", "missing input file"};
  std::string input = vm["input"].as<std::string>();
  bool inPlace = vm["in-place"].as<bool>();
  if (inPlace == bool(vm.count("output")))
    throw UsageError{"edit", "give exactly one of -o OUT and --in-place"};
  std::string output = inPlace ? input : vm["output"].as<std::string>();
  if (!inPlace && (output == input || isSameFile(input, output)))
    throw UsageError{"edit", "output '" + output + "' is the input file; use --in-place to "
                                                   "replace it"};

  // Check the whole command line before reading anything.
  std::vector<std::pair<std::string, std::string>> sections;
  if (vm.count("add-section"))
    for (const std::string &spec : vm["add-section"].as<std::vector<std::string>>()) {
      auto eq = spec.find('=');
      if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size())
        throw UsageError{"edit", "--add-section takes NAME=FILE, got '" + spec + "'"};
      sections.emplace_back(spec.substr(0, eq), spec.substr(eq + 1));
    }
  std::vector<std::pair<uint64_t, std::string>> dynamics;
  if (vm.count("add-dynamic"))
    for (const std::string &spec : vm["add-dynamic"].as<std::vector<std::string>>()) {
      auto eq = spec.find('=');
      if (eq == std::string::npos)
        throw UsageError{"edit", "--add-dynamic takes TAG=VALUE, got '" + spec + "'"};
      dynamics.emplace_back(parseNumber(spec.substr(0, eq), "dynamic tag"), spec.substr(eq + 1));
    }

  auto file = ElfFile::open(input);
  ElfEditor editor(*file);
  std::map<std::string, unsigned> addedByName;
  for (auto &[name, path] : sections) {
    NewSection s;
    s.name = name;
    std::string contents = readFileContents(path);
    s.data.assign(contents.begin(), contents.end());
    s.align = 16;
    addedByName[name] = editor.addSection(std::move(s));
  }
  for (auto &[tag, value] : dynamics)
    editor.addDynamicEntry(int64_t(tag), value.starts_with("@") ? 0 : parseNumber(value, "value"));
  // A statically linked file has no dynamic symbols: nothing to sort or
  // hash. Say so and go on (the output is the input, plus other edits).
  bool hasDynsym = file->findSectionOfType(llvm::ELF::SHT_DYNSYM) != nullptr;
  for (const char *flag : {"dynsort", "add-hashvals"})
    if (vm[flag].as<bool>() && !hasDynsym)
      warn(input + ": no dynamic symbols (statically linked): --" + flag + " has nothing to do");
  std::optional<DynsortResult> sorted;
  if (vm["dynsort"].as<bool>() && hasDynsym) {
    DynsortOptions dopts;
    dopts.keepShape = vm["keep-hash-shape"].as<bool>();
    sorted = dynsort(editor, dopts);
  }
  std::optional<unsigned> hashvals;
  if (vm["add-hashvals"].as<bool>() && hasDynsym)
    hashvals = addHashvals(editor, sorted ? &sorted->names : nullptr);
  const LayoutSummary &layout = editor.layout();
  if (hashvals)
    finishHashvals(editor, *hashvals);
  for (auto &[tag, value] : dynamics) {
    if (!value.starts_with("@"))
      continue;
    auto it = addedByName.find(value.substr(1));
    if (it == addedByName.end())
      throw UsageError{"edit", "--add-dynamic names section '" + value.substr(1) +
                                   "', which --add-section does not add"};
    editor.setDynamicEntry(int64_t(tag), editor.sectionAddress(it->second));
  }
  std::vector<uint8_t> bytes = editor.serialize();
  struct stat st;
  std::optional<mode_t> mode;
  if (::stat(input.c_str(), &st) == 0)
    mode = st.st_mode;
  writeFileAtomically(output, bytes, mode);

  if (vm["json"].as<bool>()) {
    json j = {{"input", input},
              {"output", output},
              {"outputSize", layout.outputSize},
              {"addedSegment", layout.addedSegment},
              {"segmentOffset", layout.segmentOffset},
              {"segmentAddress", layout.segmentAddress},
              {"segmentSize", layout.segmentSize},
              {"movedSections", layout.movedSections}};
    if (sorted)
      j["dynsort"] = dynsortJson(*sorted);
    std::printf("%s\n", j.dump(2, ' ', false, json::error_handler_t::replace).c_str());
  }
  return ExitOk;
}

//===----------------------------------------------------------------------===//
// record
//===----------------------------------------------------------------------===//

static const char RecordUsage[] =
    "usage: elfopt record [options] -- PROGRAM [ARGS...]\n\n"
    "Runs PROGRAM and records the order in which its functions are first\n"
    "executed (one-shot int3 breakpoints through ptrace: no rebuild needed).\n"
    "PROGRAM's input, output and signals pass through; elfopt exits with its\n"
    "status (with --runs, the first non-zero one).\n\n"
    "  -o, --output FILE     profile to write (default: PROGRAM.profile.json)\n"
    "  --object NAME         also record this shared object (file name, path or\n"
    "                        prefix: libfoo matches libfoo.so.1), also when it is\n"
    "                        loaded later by dlopen; repeatable\n"
    "  --runs N              run N times, keeping every run (default 1)\n"
    "  --duration SEC        stop recording after SEC seconds\n"
    "  --until SYMBOL        stop recording at SYMBOL's first execution\n"
    "  --follow-forks        record forked child processes too (off: children\n"
    "                        are cleaned of breakpoints and run untraced)\n"
    "  --kill                at an early stop (--duration, --until, Ctrl-C) kill\n"
    "                        the program; default: detach and let it finish\n"
    "  -v, --verbose         progress on stderr\n\n"
    "At every stop the original code is restored before the program goes on.\n"
    "A run that ends by a signal, Ctrl-C or exec is marked partial.\n";

static int runRecord(const std::vector<std::string> &args) {
  auto dash = std::find(args.begin(), args.end(), "--");
  std::vector<std::string> ours(args.begin(), dash);
  std::vector<std::string> command;
  if (dash != args.end())
    command.assign(dash + 1, args.end());
  po::options_description opts;
  opts.add_options()("output,o", po::value<std::string>())(
      "object", po::value<std::vector<std::string>>())("runs", po::value<unsigned>())(
      "duration", po::value<double>())("until", po::value<std::string>())(
      "follow-forks", po::bool_switch())("kill", po::bool_switch())("verbose,v", po::bool_switch())(
      "stray", po::value<std::vector<std::string>>());
  po::positional_options_description pos;
  pos.add("stray", -1);
  auto vm = parse("record", ours, opts, pos);
  if (command.empty() || vm.count("stray"))
    throw UsageError{"record", "give the program to run after --"};
  RecordOptions options;
  options.command = command;
  if (vm.count("object"))
    options.objects = vm["object"].as<std::vector<std::string>>();
  if (vm.count("runs")) {
    options.runs = vm["runs"].as<unsigned>();
    if (options.runs == 0)
      throw UsageError{"record", "--runs must be at least 1"};
  }
  if (vm.count("duration")) {
    options.durationSeconds = vm["duration"].as<double>();
    if (!(options.durationSeconds > 0))
      throw UsageError{"record", "--duration must be a positive number of seconds"};
  }
  if (vm.count("until"))
    options.untilSymbol = vm["until"].as<std::string>();
  options.followForks = vm["follow-forks"].as<bool>();
  options.killAtStop = vm["kill"].as<bool>();
  options.verbose = vm["verbose"].as<bool>();
  std::string output = vm.count("output")
                           ? vm["output"].as<std::string>()
                           : command[0].substr(command[0].rfind('/') + 1) + ".profile.json";
  // Fail before running anything if the profile could not be written.
  std::string dir = output.find('/') == std::string::npos ? "." : output.substr(0, output.rfind('/'));
  if (dir.empty())
    dir = "/";
  if (::access(dir.c_str(), W_OK) != 0)
    fatal(output + ": cannot write the profile here: " + std::strerror(errno));

  RecordResult result = record(options);
  if (!options.untilSymbol.empty()) {
    bool found = false;
    for (const Run &run : result.profile.runs)
      found |= run.stopReason == "until";
    if (!found)
      warn("--until " + options.untilSymbol + ": the function never ran (or does not exist); "
           "recorded until the program ended");
  }
  writeProfile(output, result.profile);
  if (options.verbose) {
    for (size_t r = 0; r < result.profile.runs.size(); ++r) {
      const Run &run = result.profile.runs[r];
      for (const ObjectRun &o : run.objects)
        std::fprintf(stderr, "elfopt: run %zu: %s: %zu functions first touched (%s%s)\n", r + 1,
                     result.profile.objects[o.object].name.c_str(), o.touches.size(),
                     run.stopReason.c_str(), run.partial ? ", partial" : "");
    }
    std::fprintf(stderr, "elfopt: wrote %s\n", output.c_str());
  }
  return result.exitStatus;
}

//===----------------------------------------------------------------------===//
// profile
//===----------------------------------------------------------------------===//

static const char ProfileUsage[] =
    "usage: elfopt profile show PROFILE\n"
    "       elfopt profile export PROFILE [-o FILE] [--run N] [--object NAME]\n"
    "       elfopt profile import SYMBOLS --binary PROGRAM -o PROFILE\n\n"
    "show     runs, objects and first touches of a profile\n"
    "export   one run's first-touch order as a plain symbol list (one name a\n"
    "         line, lld's --symbol-ordering-file format); default run 1, the\n"
    "         main program; to stdout without -o\n"
    "import   a plain symbol list as a one-run profile of PROGRAM\n";

static int runProfile(const std::vector<std::string> &args) {
  po::options_description opts;
  opts.add_options()("action", po::value<std::string>())("file", po::value<std::string>())(
      "output,o", po::value<std::string>())("run", po::value<unsigned>())(
      "object", po::value<std::string>())("binary", po::value<std::string>());
  po::positional_options_description pos;
  pos.add("action", 1).add("file", 1);
  auto vm = parse("profile", args, opts, pos);
  if (!vm.count("action") || !vm.count("file"))
    throw UsageError{"profile", "give an action (show, export, import) and a file"};
  std::string action = vm["action"].as<std::string>();
  std::string file = vm["file"].as<std::string>();
  if (action == "import") {
    if (!vm.count("binary") || !vm.count("output"))
      throw UsageError{"profile", "import needs --binary PROGRAM and -o PROFILE"};
    std::vector<std::string> unknown;
    Profile p = importSymbolList(vm["binary"].as<std::string>(), readSymbolList(file), &unknown);
    for (const std::string &name : unknown)
      warn(file + ": '" + name + "' is not a function of " + vm["binary"].as<std::string>());
    writeProfile(vm["output"].as<std::string>(), p);
    return ExitOk;
  }
  Profile p = readProfile(file);
  if (action == "show") {
    std::printf("%s: %zu runs of", file.c_str(), p.runs.size());
    for (const std::string &c : p.command)
      std::printf(" %s", c.c_str());
    std::printf("\n");
    for (size_t k = 0; k < p.objects.size(); ++k)
      std::printf("  object %zu: %s (%s), %llu functions from %s, build-id %s\n", k,
                  p.objects[k].name.c_str(), p.objects[k].path.c_str(),
                  (unsigned long long)p.objects[k].functions, p.objects[k].functionSource.c_str(),
                  p.objects[k].buildId.empty() ? "-" : p.objects[k].buildId.c_str());
    for (size_t r = 0; r < p.runs.size(); ++r) {
      const Run &run = p.runs[r];
      std::printf("  run %zu: %s%s, %.3f s, %u threads", r + 1, run.stopReason.c_str(),
                  run.partial ? " (partial)" : "", double(run.durationNs) / 1e9, run.threads);
      if (run.exitCode)
        std::printf(", exit %d", *run.exitCode);
      if (run.signal)
        std::printf(", signal %d", *run.signal);
      std::printf("\n");
      for (const ObjectRun &o : run.objects)
        std::printf("    %s: %s, %zu first touches\n", p.objects[o.object].name.c_str(),
                    o.loaded ? "loaded" : "never loaded", o.touches.size());
    }
    return ExitOk;
  }
  if (action == "export") {
    unsigned runIndex = vm.count("run") ? vm["run"].as<unsigned>() : 1;
    if (runIndex == 0 || runIndex > p.runs.size())
      fatal(file + ": no run " + std::to_string(runIndex) + " (the profile has " +
            std::to_string(p.runs.size()) + ")");
    std::string object = vm.count("object") ? vm["object"].as<std::string>() : "main";
    const ObjectRun *found = nullptr;
    for (const ObjectRun &o : p.runs[runIndex - 1].objects)
      if (p.objects[o.object].name == object)
        found = &o;
    if (!found)
      fatal(file + ": no object '" + object + "' in run " + std::to_string(runIndex));
    std::vector<std::string> names;
    for (const Touch &t : found->touches)
      names.push_back(t.symbol);
    if (vm.count("output")) {
      writeSymbolList(vm["output"].as<std::string>(), names);
    } else {
      for (const std::string &n : names)
        std::printf("%s\n", n.c_str());
    }
    return ExitOk;
  }
  throw UsageError{"profile", "unknown action '" + action + "' (show, export, import)"};
}

//===----------------------------------------------------------------------===//
// order, evaluate
//===----------------------------------------------------------------------===//

static const char OrderUsage[] =
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
    "  --object NAME            which object of the profiles (default: main)\n"
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

struct OrderInputs {
  std::vector<Profile> profiles;
  std::vector<std::string> names;
  RunSet set;
  std::unique_ptr<ElfFile> binary;
  FunctionTable table;
};

static void loadOrderInputs(const char *command, const po::variables_map &vm,
                            const std::vector<std::string> &profilePaths, OrderInputs &in) {
  if (profilePaths.empty())
    throw UsageError{command, "give at least one profile"};
  for (const std::string &path : profilePaths) {
    in.profiles.push_back(readProfile(path));
    in.names.push_back(path);
  }
  std::string object = vm.count("object") ? vm["object"].as<std::string>() : "main";
  bool allowMismatch = vm.count("allow-mismatch") && vm["allow-mismatch"].as<bool>();
  std::optional<ObjectIdentity> expected;
  std::vector<OrderedFunction> functions;
  if (vm.count("binary")) {
    std::string path = vm["binary"].as<std::string>();
    in.binary = ElfFile::open(path);
    in.table = readFunctions(*in.binary);
    expected = identifyObject(object, path);
    functions = functionsOf(in.table);
  }
  in.set = collectRuns(in.profiles, in.names, object, expected ? &*expected : nullptr,
                       in.binary ? &functions : nullptr, allowMismatch);
  if (allowMismatch) {
    double minRate = vm.count("min-match-rate") ? vm["min-match-rate"].as<double>() : 0.5;
    char rate[64];
    std::snprintf(rate, sizeof rate, "%.1f%%", 100 * in.set.matchRate);
    if (in.set.matchRate < 1.0)
      warn(std::string("profiles of another build: ") + rate +
           " of their first touches matched a function by name");
    if (in.set.matchRate < minRate)
      fatal(std::string("only ") + rate + " of the first touches matched (--min-match-rate " +
            std::to_string(minRate) + "); record a new profile");
  }
  size_t touches = 0;
  for (const auto &run : in.set.runs)
    touches += run.size();
  if (in.set.runs.empty() || touches == 0)
    fatal(in.names[0] + (in.names.size() > 1 ? " (and the others)" : "") +
          ": no recorded first touches of object '" + object + "'");
}

static int runOrder(const std::vector<std::string> &args) {
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
  OrderInputs in;
  loadOrderInputs("order", vm,
                  vm.count("profiles") ? vm["profiles"].as<std::vector<std::string>>()
                                       : std::vector<std::string>{},
                  in);
  std::vector<uint32_t> order = orderMarkov(in.set, in.set.runs, params);
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

static const char EvaluateUsage[] =
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
    "  --object NAME         which object of the profiles (default: main)\n"
    "  --allow-mismatch      accept profiles of another build (match by name)\n"
    "  --json                print the figures as JSON\n";

static json scoreJson(const LayoutScore &s) {
  auto r = [](double v) { return std::round(v * 100) / 100; };
  return {{"pages", r(s.pages)},
          {"windows64k", r(s.windows64k)},
          {"windows128k", r(s.windows128k)},
          {"backwardSteps", r(s.backward)}};
}

static int runEvaluate(const std::vector<std::string> &args) {
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
  OrderInputs in;
  loadOrderInputs("evaluate", vm,
                  vm.count("profiles") ? vm["profiles"].as<std::vector<std::string>>()
                                       : std::vector<std::string>{},
                  in);
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
    if (vm.count("order")) {
      for (const OrderedFunction &f : readOrderFile(vm["order"].as<std::string>()).functions)
        proposed.push_back(f.address);
      label = "order";
    } else if (vm.count("symbol-list")) {
      std::unordered_map<std::string, uint64_t> byName;
      for (const Function &f : in.table.functions)
        byName.emplace(f.name, f.address);
      for (const std::string &n : readSymbolList(vm["symbol-list"].as<std::string>()))
        if (byName.count(n))
          proposed.push_back(byName[n]);
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

//===----------------------------------------------------------------------===//
// hash-model
//===----------------------------------------------------------------------===//

static const char HashModelUsage[] =
    "usage: elfopt hash-model FILE [--misses-per-hit R] [--budget BYTES] [--json]\n\n"
    "The GNU hash table's cost to the dynamic linker, in 64-byte cache lines\n"
    "touched per lookup (see README.md, 'GNU hash cost model'), for FILE's\n"
    "table as it is, for what ld.bfd, ld.bfd -O1, gold, lld and mold would\n"
    "build for the same symbols, and for the cheapest shape under the budget.\n\n"
    "  --misses-per-hit R   unsuccessful lookups per successful one (default 8:\n"
    "                       a program searches several libraries per symbol)\n"
    "  --budget BYTES       largest table to consider (default: the size of\n"
    "                       FILE's table, so the result fits in place)\n"
    "  --json               print the figures as JSON\n";

static int runHashModel(const std::vector<std::string> &args) {
  po::options_description opts;
  opts.add_options()("file", po::value<std::string>())("misses-per-hit", po::value<double>())(
      "budget", po::value<uint64_t>())("json", po::bool_switch());
  po::positional_options_description pos;
  pos.add("file", 1);
  auto vm = parse("hash-model", args, opts, pos);
  if (!vm.count("file"))
    throw UsageError{"hash-model", "missing FILE"};
  std::string path = vm["file"].as<std::string>();
  auto file = ElfFile::open(path);
  const Section *dynsym = file->findSectionOfType(llvm::ELF::SHT_DYNSYM);
  if (!dynsym)
    fatal(path + ": no dynamic symbols (a static file): nothing to model");
  auto syms = file->symbols(*dynsym);
  // The symbols a GNU hash table holds: the current table's, or else every
  // defined dynamic symbol.
  const Section *gnu = file->findSectionOfType(llvm::ELF::SHT_GNU_HASH);
  std::optional<GnuHashTable> current;
  if (gnu)
    current = parseGnuHash(file->contents(*gnu), syms.size(), file->where(*gnu));
  std::vector<uint32_t> hashes;
  for (size_t i = 1; i < syms.size(); ++i)
    if (current ? i >= current->symoffset : syms[i].isDefined())
      hashes.push_back(gnuHash(syms[i].name));
  CostModelOptions options;
  if (vm.count("misses-per-hit"))
    options.missesPerHit = vm["misses-per-hit"].as<double>();
  if (!(options.missesPerHit >= 0))
    throw UsageError{"hash-model", "--misses-per-hit must be >= 0"};
  uint32_t n = uint32_t(hashes.size());
  std::vector<std::pair<std::string, GnuHashCost>> rows;
  if (current) {
    GnuHashShape shape{current->nbuckets, uint32_t(current->bloom.size()), current->bloomShift};
    rows.emplace_back("current", costOf(hashes, shape, options));
    options.budgetBytes = rows.back().second.bytes;
  }
  if (vm.count("budget"))
    options.budgetBytes = vm["budget"].as<uint64_t>();
  rows.emplace_back("ld.bfd", costOf(hashes, bfdShape(n), options));
  rows.emplace_back("ld.bfd -O1", costOf(hashes, bfdOptimizedShape(hashes, syms.size()), options));
  rows.emplace_back("gold", costOf(hashes, goldShape(n), options));
  rows.emplace_back("lld", costOf(hashes, lldShape(n), options));
  rows.emplace_back("mold", costOf(hashes, moldShape(n), options));
  rows.emplace_back("elfopt", optimizeShape(hashes, options));
  if (vm["json"].as<bool>()) {
    json j;
    j["file"] = path;
    j["hashedSymbols"] = n;
    j["missesPerHit"] = options.missesPerHit;
    j["budgetBytes"] = options.budgetBytes;
    json tables = json::array();
    for (auto &[name, c] : rows)
      tables.push_back({{"table", name},
                        {"nbuckets", c.shape.nbuckets},
                        {"bloomWords", c.shape.bloomWords},
                        {"bloomShift", c.shape.bloomShift},
                        {"bytes", c.bytes},
                        {"falsePositiveRate", c.falsePositive},
                        {"missLines", c.missLines},
                        {"hitLines", c.hitLines},
                        {"weightedLines", c.weighted}});
    j["tables"] = tables;
    std::printf("%s\n", j.dump(2, ' ', false, json::error_handler_t::replace).c_str());
    return ExitOk;
  }
  std::printf("%s: %u hashed symbols; cost per resolved symbol = hit + %.1f x miss "
              "(64-byte lines)%s\n",
              path.c_str(), n, options.missesPerHit,
              options.budgetBytes ? (", budget " + std::to_string(options.budgetBytes) + " bytes").c_str() : "");
  std::printf("  %-11s %8s %6s %5s %9s %8s %8s %8s %9s\n", "table", "buckets", "bloom", "shift",
              "bytes", "FP", "miss", "hit", "weighted");
  for (auto &[name, c] : rows)
    std::printf("  %-11s %8u %6u %5u %9llu %8.4f %8.4f %8.3f %9.3f\n", name.c_str(),
                c.shape.nbuckets, c.shape.bloomWords, c.shape.bloomShift,
                (unsigned long long)c.bytes, c.falsePositive, c.missLines, c.hitLines, c.weighted);
  return ExitOk;
}

//===----------------------------------------------------------------------===//
// rewrite
//===----------------------------------------------------------------------===//

static const char RewriteUsage[] =
    "usage: elfopt rewrite INPUT (--profile P... | --order O | --symbol-list F)\n"
    "                      -o OUTPUT [options]\n\n"
    "Moves functions within .text so that the ordered ones come first, in\n"
    "order, and all others follow in their original order. File size, program\n"
    "headers and every other section's address stay; every reference to moved\n"
    "code follows it (relocations, decoded instructions, data, GOT, symbols,\n"
    ".eh_frame and .eh_frame_hdr, debug info). INPUT must be linked with\n"
    "-Wl,--emit-relocs (-Wl,-q).\n\n"
    "  -o, --output FILE     where to write (never INPUT, unless --in-place)\n"
    "  --in-place            rewrite INPUT itself (atomically)\n"
    "  --profile FILE        recorded profiles; the order is built as 'elfopt\n"
    "                        order' builds it (repeatable)\n"
    "  --order FILE          an order from 'elfopt order' (json)\n"
    "  --symbol-list FILE    an order as a plain symbol list (lld format)\n"
    "  --random-order SEED   a random order of all functions (for testing)\n"
    "  --object NAME         which object of the profiles (default: main)\n"
    "  --allow-mismatch      accept profiles of another build (match by name)\n"
    "  --min-match-rate R    with --allow-mismatch, fail below this rate (0.5)\n"
    "  --strip-debug         drop debug info that cannot follow the new layout\n"
    "                        (otherwise such input is refused)\n"
    "  --no-verify           skip 'elfopt verify' of the result before writing it\n"
    "  --dynsort             sort .dynsym/.dynstr by GNU hash bucket and rebuild\n"
    "                        .gnu.hash (see 'elfopt edit'); needs no relocations\n"
    "  --gnu-hash=MODE       with --dynsort: optimize (default: the cost model's\n"
    "                        shape within the old size) or keep (same shape)\n"
    "  --hashvals            add precomputed symbol hashes (.elfopt.hashvals)\n"
    "Without an order, only the dynamic symbol passes run. verify checks the\n"
    ".text rewrite, before the dynamic symbol passes renumber .dynsym.\n"
    "  --check               plan, rewrite in memory and verify; write nothing\n"
    "                        (exit 0 when the rewrite would be sound)\n"
    "  --json                print the report as JSON\n";

static json verifyJson(const VerifyReport &v) {
  return {{"ok", v.ok()},
          {"functions", v.functions},
          {"movedFunctions", v.movedFunctions},
          {"instructions", v.instructions},
          {"pcRelativeOperands", v.pcRelativeOperands},
          {"fdes", v.fdes},
          {"symbols", v.symbols},
          {"dynamicRelocations", v.dynamicRelocations},
          {"changedWordsOutsideText", v.changedWords},
          {"problems", v.problems}};
}

static void printVerify(const VerifyReport &v) {
  std::printf("  verify: %s: %llu functions (%llu moved), %llu instructions, %llu PC-relative "
              "operands, %llu FDEs, %llu symbols, %llu dynamic relocations, %llu changed words "
              "outside .text\n",
              v.ok() ? "ok" : "FAILED", (unsigned long long)v.functions,
              (unsigned long long)v.movedFunctions, (unsigned long long)v.instructions,
              (unsigned long long)v.pcRelativeOperands, (unsigned long long)v.fdes,
              (unsigned long long)v.symbols, (unsigned long long)v.dynamicRelocations,
              (unsigned long long)v.changedWords);
  for (const std::string &p : v.problems)
    std::printf("    %s\n", p.c_str());
}

static int runRewrite(const std::vector<std::string> &args) {
  po::options_description opts;
  opts.add_options()("input", po::value<std::string>())("output,o", po::value<std::string>())(
      "in-place", po::bool_switch())("profile", po::value<std::vector<std::string>>())(
      "order", po::value<std::string>())("symbol-list", po::value<std::string>())(
      "random-order", po::value<uint64_t>())("object", po::value<std::string>())(
      "allow-mismatch", po::bool_switch())("min-match-rate", po::value<double>())(
      "strip-debug", po::bool_switch())("no-verify", po::bool_switch())("json", po::bool_switch())(
      "dynsort", po::bool_switch())("gnu-hash", po::value<std::string>())("hashvals", po::bool_switch())(
      "check", po::bool_switch());
  po::positional_options_description pos;
  pos.add("input", 1);
  auto vm = parse("rewrite", args, opts, pos);
  bool doDynsort = vm["dynsort"].as<bool>(), doHashvals = vm["hashvals"].as<bool>();
  std::string gnuHash = vm.count("gnu-hash") ? vm["gnu-hash"].as<std::string>() : "optimize";
  if (gnuHash != "optimize" && gnuHash != "keep")
    throw UsageError{"rewrite", "--gnu-hash must be optimize or keep"};
  if (vm.count("gnu-hash") && !doDynsort)
    throw UsageError{"rewrite", "--gnu-hash rebuilds the table --dynsort sorts; give --dynsort"};
  if (!vm.count("input"))
    throw UsageError{"rewrite", "give the input binary"};
  std::string input = vm["input"].as<std::string>();
  bool inPlace = vm["in-place"].as<bool>();
  bool checkOnly = vm["check"].as<bool>();
  if (checkOnly && (inPlace || vm.count("output")))
    throw UsageError{"rewrite", "--check writes nothing: give no -o or --in-place"};
  if (!checkOnly && inPlace == bool(vm.count("output")))
    throw UsageError{"rewrite", "give either -o OUTPUT or --in-place"};
  std::string output = checkOnly ? "(not written: --check)" : inPlace ? input : vm["output"].as<std::string>();
  if (!inPlace && !checkOnly && isSameFile(input, output))
    throw UsageError{"rewrite", "the output is the input; use --in-place to rewrite it"};
  int sources = int(vm.count("profile") > 0) + int(vm.count("order")) +
                int(vm.count("symbol-list")) + int(vm.count("random-order"));
  if (sources > 1 || (sources == 0 && !doDynsort && !doHashvals))
    throw UsageError{"rewrite", "give one of --profile, --order, --symbol-list, --random-order "
                                "(or only --dynsort / --hashvals)"};

  auto file = ElfFile::open(input);
  FunctionTable table = readFunctions(*file);
  RewriteOptions options;
  options.stripDebug = vm["strip-debug"].as<bool>();
  std::string orderSource;
  if (sources == 0) {
    orderSource = "no reordering";
  } else if (vm.count("profile")) {
    po::variables_map orderVm = vm;
    OrderInputs inputs;
    // As `order --binary INPUT`: the profiles must be of this file.
    orderVm.insert({"binary", po::variable_value(input, false)});
    loadOrderInputs("rewrite", orderVm, vm["profile"].as<std::vector<std::string>>(), inputs);
    for (uint32_t f : orderMarkov(inputs.set, inputs.set.runs, {}))
      options.order.push_back(inputs.set.functions[f].address);
    orderSource = "markov order of " + std::to_string(inputs.set.runs.size()) + " runs";
  } else if (vm.count("order")) {
    OrderFile order = readOrderFile(vm["order"].as<std::string>());
    std::unordered_map<std::string, uint64_t> byName;
    for (const Function &f : table.functions)
      byName.emplace(f.name, f.address);
    // An order names functions by symbol; addresses are a fallback for
    // unnamed ones, valid only for the same build.
    for (const OrderedFunction &f : order.functions) {
      auto it = byName.find(f.symbol);
      if (it != byName.end())
        options.order.push_back(it->second);
    }
    orderSource = "order file";
  } else if (vm.count("symbol-list")) {
    std::unordered_map<std::string, uint64_t> byName;
    for (const Function &f : table.functions)
      byName.emplace(f.name, f.address);
    for (const std::string &n : readSymbolList(vm["symbol-list"].as<std::string>()))
      if (auto it = byName.find(n); it != byName.end())
        options.order.push_back(it->second);
    orderSource = "symbol list";
  } else {
    for (const Function &f : table.functions)
      options.order.push_back(f.address);
    std::mt19937_64 rng(vm["random-order"].as<uint64_t>());
    for (size_t i = options.order.size(); i > 1; --i)
      std::swap(options.order[i - 1], options.order[rng() % i]);
    orderSource = "random order";
  }
  RewriteResult result;
  std::optional<VerifyReport> verified;
  if (sources) {
    result = rewriteText(*file, options);
    if (!vm["no-verify"].as<bool>()) {
      auto copy = llvm::MemoryBuffer::getMemBufferCopy(
          llvm::StringRef(reinterpret_cast<const char *>(result.bytes.data()), result.bytes.size()));
      auto out = ElfFile::fromBuffer(output + " (rewritten, in memory)", std::move(copy));
      verified = verifyRewrite(*file, *out);
      if (!verified->ok()) {
        printVerify(*verified);
        fatal(input + ": the rewritten file failed verification; nothing was written (please "
                      "report this with the input)",
              ExitInternal);
      }
    }
  } else {
    auto bytes = file->bytes();
    result.bytes.assign(bytes.begin(), bytes.end());
  }
  // The dynamic symbol passes, on what the text rewrite produced.
  std::optional<DynsortResult> sorted;
  bool hashvalsAdded = false;
  if (doDynsort || doHashvals) {
    auto copy = llvm::MemoryBuffer::getMemBufferCopy(
        llvm::StringRef(reinterpret_cast<const char *>(result.bytes.data()), result.bytes.size()));
    auto current = ElfFile::fromBuffer(input, std::move(copy));
    if (!current->findSectionOfType(llvm::ELF::SHT_DYNSYM)) {
      warn(input + ": no dynamic symbols (statically linked): --dynsort and --hashvals have nothing to do");
    } else {
      ElfEditor editor(*current);
      if (doDynsort) {
        DynsortOptions dopts;
        dopts.keepShape = gnuHash == "keep";
        sorted = dynsort(editor, dopts);
      }
      std::optional<unsigned> hv;
      if (doHashvals)
        hv = addHashvals(editor, sorted ? &sorted->names : nullptr);
      editor.layout();
      if (hv)
        finishHashvals(editor, *hv);
      hashvalsAdded = hv.has_value();
      result.bytes = editor.serialize();
    }
  }
  if (!checkOnly) {
    struct stat st;
    std::optional<mode_t> mode;
    if (::stat(input.c_str(), &st) == 0)
      mode = st.st_mode;
    writeFileAtomically(output, result.bytes, mode);
  }
  const RewriteReport &r = result.report;
  if (vm["json"].as<bool>()) {
    json j;
    j["input"] = input;
    j["output"] = output;
    j["orderSource"] = orderSource;
    j["orderedFunctions"] = options.order.size();
    j["text"] = {{"address", r.textStart}, {"bytes", r.textSize}};
    j["blocks"] = {{"functions", r.functions},
                   {"moved", r.movedBlocks},
                   {"movedBytes", r.movedBytes},
                   {"orderedPlaced", r.orderedPlaced},
                   {"orderedBytes", r.orderedFrontBytes},
                   {"pinned", r.pinnedBlocks},
                   {"pinnedBytes", r.pinnedBytes},
                   {"pinnedWhy", r.pinnedWhy},
                   {"bonded", r.bondedBlocks},
                   {"bondedWhy", r.bondedWhy}};
    j["updated"] = r.fieldsUpdated;
    j["strippedDebug"] = r.strippedDebug;
    j["orderIgnored"] = r.orderIgnored;
    if (verified)
      j["verify"] = verifyJson(*verified);
    if (sorted)
      j["dynsort"] = dynsortJson(*sorted);
    j["hashvals"] = hashvalsAdded;
    std::printf("%s\n", j.dump(2, ' ', false, json::error_handler_t::replace).c_str());
    return ExitOk;
  }
  std::printf("%s -> %s (%s)\n", input.c_str(), output.c_str(), orderSource.c_str());
  if (sources) {
    std::printf("  .text: %llu bytes at %s; %llu function blocks\n", (unsigned long long)r.textSize,
                hex(r.textStart).c_str(), (unsigned long long)r.functions);
    std::printf("  ordered first: %llu blocks, %llu bytes\n", (unsigned long long)r.orderedPlaced,
                (unsigned long long)r.orderedFrontBytes);
    std::printf("  moved: %llu blocks, %llu bytes\n", (unsigned long long)r.movedBlocks,
                (unsigned long long)r.movedBytes);
    std::printf("  kept in place: %llu blocks, %llu bytes\n", (unsigned long long)r.pinnedBlocks,
                (unsigned long long)r.pinnedBytes);
    for (auto &[why, n] : r.pinnedWhy)
      std::printf("    %6llu  %s\n", (unsigned long long)n, why.c_str());
    if (r.bondedBlocks) {
      std::printf("  moved with a neighbour: %llu blocks\n", (unsigned long long)r.bondedBlocks);
      for (auto &[why, n] : r.bondedWhy)
        std::printf("    %6llu  %s\n", (unsigned long long)n, why.c_str());
    }
    std::printf("  references updated:\n");
    for (auto &[what, n] : r.fieldsUpdated)
      std::printf("    %8llu  %s\n", (unsigned long long)n, what.c_str());
    if (r.strippedDebug)
      std::printf("  debug info dropped (--strip-debug)\n");
  }
  if (verified)
    printVerify(*verified);
  if (sorted)
    std::printf("  dynsort: %u symbols (%u hashed); .dynstr %llu -> %llu bytes; GNU hash %u buckets, "
                "%u bloom words, shift %u -> %u, %u, %u: %.3f -> %.3f modelled lines per symbol\n",
                sorted->symbols, sorted->hashed, (unsigned long long)sorted->dynstrBefore,
                (unsigned long long)sorted->dynstrAfter, sorted->before.shape.nbuckets,
                sorted->before.shape.bloomWords, sorted->before.shape.bloomShift,
                sorted->after.shape.nbuckets, sorted->after.shape.bloomWords,
                sorted->after.shape.bloomShift, sorted->before.weighted, sorted->after.weighted);
  if (hashvalsAdded)
    std::printf("  hashvals: .elfopt.hashvals added (DT 0x6ffffe00)\n");
  return ExitOk;
}

static const char VerifyUsage[] =
    "usage: elfopt verify ORIGINAL REWRITTEN [--json]\n\n"
    "Checks a rewritten file against its original, independently of the\n"
    "rewriter: from where each function went (.symtab), every instruction,\n"
    "PC-relative operand, FDE, .eh_frame_hdr entry, symbol, dynamic relocation\n"
    "and changed word outside .text must follow. Exit 0 when sound, 2 if not.\n";

static int runVerify(const std::vector<std::string> &args) {
  po::options_description opts;
  opts.add_options()("original", po::value<std::string>())("rewritten", po::value<std::string>())(
      "json", po::bool_switch());
  po::positional_options_description pos;
  pos.add("original", 1).add("rewritten", 1);
  auto vm = parse("verify", args, opts, pos);
  if (!vm.count("original") || !vm.count("rewritten"))
    throw UsageError{"verify", "give the original and the rewritten file"};
  auto a = ElfFile::open(vm["original"].as<std::string>());
  auto b = ElfFile::open(vm["rewritten"].as<std::string>());
  VerifyReport v = verifyRewrite(*a, *b);
  if (vm["json"].as<bool>())
    std::printf("%s\n", verifyJson(v).dump(2, ' ', false, json::error_handler_t::replace).c_str());
  else {
    std::printf("%s -> %s\n", a->name().c_str(), b->name().c_str());
    printVerify(v);
  }
  return v.ok() ? ExitOk : ExitBadInput;
}

//===----------------------------------------------------------------------===//
// report
//===----------------------------------------------------------------------===//

static const char ReportUsage[] =
    "usage: elfopt report ORIGINAL REWRITTEN PROFILE... -o REPORT.html [options]\n\n"
    "Writes one self-contained HTML page (no scripts, no network): a map of\n"
    ".text's pages touched at startup in ORIGINAL and in REWRITTEN (PROFILEs\n"
    "are ORIGINAL's recorded runs; functions are found in REWRITTEN by name),\n"
    "the evaluate figures of both, their GNU hash figures, and what the rewrite\n"
    "kept in place or moved together, and why.\n\n"
    "  -o, --output FILE     the HTML file to write\n"
    "  --rewrite-json FILE   the output of 'elfopt rewrite --json'\n"
    "  --object NAME         which object of the profiles (default: main)\n"
    "  --allow-mismatch      accept profiles of another build (match by name)\n";

static std::string gnuHashLine(const ElfFile &file) {
  const Section *gnu = file.findSectionOfType(llvm::ELF::SHT_GNU_HASH);
  const Section *dynsym = file.findSectionOfType(llvm::ELF::SHT_DYNSYM);
  if (!gnu || !dynsym || dynsym->header.sh_entsize == 0)
    return "";
  GnuHashTable t = parseGnuHash(file.contents(*gnu), dynsym->size() / dynsym->header.sh_entsize, file.where(*gnu));
  HashTableStats st = computeStats(t);
  char line[256];
  std::snprintf(line, sizeof line,
                "%llu symbols, %llu buckets, %llu bloom words (shift %llu), false positives %.4f, "
                "mean probes: hit %.3f, miss %.3f",
                (unsigned long long)st.symbols, (unsigned long long)st.nbuckets,
                (unsigned long long)st.bloomWords, (unsigned long long)st.bloomShift,
                st.falsePositiveRate, st.meanProbesHit, st.meanProbesMiss);
  return line;
}

static int runReport(const std::vector<std::string> &args) {
  po::options_description opts;
  opts.add_options()("original", po::value<std::string>())("rewritten", po::value<std::string>())(
      "profiles", po::value<std::vector<std::string>>())("output,o", po::value<std::string>())(
      "rewrite-json", po::value<std::string>())("object", po::value<std::string>())(
      "allow-mismatch", po::bool_switch());
  po::positional_options_description pos;
  pos.add("original", 1).add("rewritten", 1).add("profiles", -1);
  auto vm = parse("report", args, opts, pos);
  if (!vm.count("original") || !vm.count("rewritten") || !vm.count("output"))
    throw UsageError{"report", "give ORIGINAL, REWRITTEN, the profiles and -o REPORT.html"};
  std::string original = vm["original"].as<std::string>();
  std::string rewritten = vm["rewritten"].as<std::string>();
  po::variables_map orderVm = vm;
  orderVm.insert({"binary", po::variable_value(original, false)});
  OrderInputs inputs;
  loadOrderInputs("report", orderVm,
                  vm.count("profiles") ? vm["profiles"].as<std::vector<std::string>>()
                                       : std::vector<std::string>{},
                  inputs);
  auto after = ElfFile::open(rewritten);
  FunctionTable afterTable = readFunctions(*after);
  TextLayout layouts[2] = {TextLayout::original(inputs.table), TextLayout::byName(inputs.table, afterTable)};
  const ElfFile *files[2] = {inputs.binary.get(), after.get()};
  ReportInput report;
  report.runs = inputs.set.runs.size();
  ReportSide *sides[2] = {&report.before, &report.after};
  for (int k = 0; k < 2; ++k) {
    ReportSide &side = *sides[k];
    side.file = k == 0 ? original : rewritten;
    const Section *text = files[k]->findSection(".text");
    if (!text)
      fatal(side.file + ": no .text section");
    side.textStart = text->addr();
    side.textSize = text->size();
    side.pageRuns.assign((text->size() + 4095) / 4096, 0);
    LayoutScore total;
    for (const auto &run : inputs.set.runs) {
      LayoutScore one = scoreRun(inputs.set, run, layouts[k]);
      total += one;
      if (k == 0)
        report.lowerBound += one.lowerBound;
      std::vector<bool> seen(side.pageRuns.size(), false);
      for (uint32_t f : run) {
        const OrderedFunction &fn = inputs.set.functions[f];
        uint64_t start = layouts[k].addressOf(fn.address);
        uint64_t end = start + std::max<uint64_t>(fn.size, 1);
        for (uint64_t a = start & ~uint64_t(4095); a < end; a += 4096)
          if (a >= (side.textStart & ~uint64_t(4095)) && (a - (side.textStart & ~uint64_t(4095))) / 4096 < seen.size())
            seen[(a - (side.textStart & ~uint64_t(4095))) / 4096] = true;
      }
      for (size_t p = 0; p < seen.size(); ++p)
        side.pageRuns[p] += seen[p];
    }
    side.score = total.scaled(report.runs ? 1.0 / double(report.runs) : 0);
    side.gnuHash = gnuHashLine(*files[k]);
  }
  report.lowerBound = report.runs ? report.lowerBound / double(report.runs) : 0;
  if (vm.count("rewrite-json"))
    report.rewriteJson = readFileContents(vm["rewrite-json"].as<std::string>());
  report.command = "elfopt report";
  for (const std::string &a : args)
    report.command += " " + a;
  std::string html = renderReport(report);
  std::string output = vm["output"].as<std::string>();
  writeFileAtomically(output, {reinterpret_cast<const uint8_t *>(html.data()), html.size()});
  std::printf("%s: %zu runs; 4 KiB pages %.2f -> %.2f, 64 KiB windows %.2f -> %.2f\n", output.c_str(),
              report.runs, report.before.score.pages, report.after.score.pages,
              report.before.score.windows64k, report.after.score.windows64k);
  return ExitOk;
}

const std::vector<Command> &commands() {
  static const std::vector<Command> list = {
      {"inspect", "show what matters before optimizing a binary", InspectUsage, runInspect},
      {"record", "record the first-touch order of a program's functions", RecordUsage,
       runRecord},
      {"profile", "show, export or import profiles", ProfileUsage, runProfile},
      {"order", "one function order from many recorded runs", OrderUsage, runOrder},
      {"evaluate", "score layouts against recorded runs (pages, windows, steps)",
       EvaluateUsage, runEvaluate},
      {"hash-model", "GNU hash cost: current table, linkers' rules, the cheapest shape",
       HashModelUsage, runHashModel},
      {"rewrite", "reorder the functions of .text by a profile's order", RewriteUsage,
       runRewrite},
      {"verify", "check a rewritten file against its original", VerifyUsage, runVerify},
      {"report", "one HTML page: startup pages before and after, hash figures, the rewrite",
       ReportUsage, runReport},
      {"edit", "low-level edits: add sections, segments and dynamic entries", EditUsage,
       runEdit},
  };
  return list;
}

} // namespace elfopt
