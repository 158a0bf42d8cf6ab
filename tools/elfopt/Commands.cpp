//===- Commands.cpp - option parsing for each subcommand --------------------===//
#include "Commands.h"
#include "CommandSupport.h"
#include "elfopt/Dynsym/Passes.h"
#include "elfopt/Pipeline/Edit.h"
#include "elfopt/Pipeline/Optimize.h"
#include "elfopt/Pipeline/ResultJson.h"
#include "elfopt/Dynsym/Dynsort.h"
#include "elfopt/Dynsym/LookupMix.h"
#include "elfopt/Verify/VerifyDynsym.h"
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
#include <sys/ioctl.h>
#include <sys/stat.h>
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

//===----------------------------------------------------------------------===//
// inspect
//===----------------------------------------------------------------------===//

static const char InspectUsage[] =
    "usage: elfopt inspect FILE [--json]\n\n"
    "Shows what matters before optimizing FILE: identity (type, entry, build-id,\n"
    "interpreter, DT_NEEDED, SONAME), segments, sections, function symbols,\n"
    "whether static relocations were kept (--emit-relocs) and so whether code\n"
    "can be reordered, dynamic symbols, and GNU/SysV hash table figures.\n\n"
    "  --json    print the JSON document (schema elfopt-inspect/1, see README.md)\n"
    "  --scope   for a program: the global scope glibc builds at its start\n"
    "            (the program, then DT_NEEDED breadth-first), how many of the\n"
    "            start's symbol lookups each object answers, and how far a\n"
    "            lookup walks on average (every symbol relocation of every\n"
    "            object replayed, as with LD_BIND_NOW=1; versions checked)\n";

// How far the start's symbol lookups walk the global scope.
static int inspectScope(const std::string &program, bool asJson) {
  auto file = ElfFile::open(program);
  if (!file->interpreter() || !file->dynamicValue(llvm::ELF::DT_NEEDED))
    fatal(program + ": not a dynamically linked program (no PT_INTERP or no DT_NEEDED): it has no "
                    "global scope to search");
  ScopeWalk walk = simulateScopeWalk(program);
  if (asJson) {
    json objects = json::array();
    for (size_t k = 0; k < walk.objects.size(); ++k)
      objects.push_back({{"path", walk.objects[k]}, {"answered", walk.answered[k]}, {"asked", walk.asked[k]}});
    json j = {{"program", program},
              {"objects", objects},
              {"notFound", walk.notFound},
              {"lookups", walk.lookups},
              {"probes", walk.probes},
              {"unresolved", walk.unresolved},
              {"meanWalk", walk.meanWalk()},
              {"sortedMeanWalk", walk.sortedMeanWalk()}};
    std::printf("%s\n", j.dump(2, ' ', false, json::error_handler_t::replace).c_str());
    return ExitOk;
  }
  std::printf("%s: the global scope glibc builds at its start: %zu objects\n", program.c_str(),
              walk.objects.size());
  for (const std::string &n : walk.notFound)
    std::printf("  not found: %s (left out of the scope)\n", n.c_str());
  std::printf("  lookups: %llu (every symbol relocation of every object, as with LD_BIND_NOW=1; "
              "consecutive ones against one symbol count once), %llu answered by no object\n",
              (unsigned long long)walk.lookups, (unsigned long long)walk.unresolved);
  std::printf("  mean walk per lookup: %.2f objects asked\n", walk.meanWalk());
  std::printf("  with the libraries sorted by lookups answered, ignoring every constraint (a bound, "
              "not a safe order): %.2f\n", walk.sortedMeanWalk());
  std::printf("  %4s %10s %10s  %s\n", "#", "answers", "asks", "object");
  for (size_t k = 0; k < walk.objects.size(); ++k)
    std::printf("  %4zu %10llu %10llu  %s\n", k + 1, (unsigned long long)walk.answered[k],
                (unsigned long long)walk.asked[k], walk.objects[k].c_str());
  std::printf("(simulated from the files, not traced: compare LD_DEBUG=bindings)\n");
  return ExitOk;
}

static int runInspect(const std::vector<std::string> &args) {
  po::options_description opts;
  opts.add_options()("file", po::value<std::string>())("json", po::bool_switch())("scope", po::bool_switch());
  po::positional_options_description pos;
  pos.add("file", 1);
  auto vm = parse("inspect", args, opts, pos);
  if (!vm.count("file"))
    throw UsageError{"inspect", "missing FILE"};
  if (vm["scope"].as<bool>())
    return inspectScope(vm["file"].as<std::string>(), vm["json"].as<bool>());
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
    "                            bytes, in a new read-only PT_LOAD segment\n"
    "  --add-code-section NAME=FILE  add an executable section with FILE's\n"
    "                            bytes (x86-64 code), in a new PT_LOAD segment\n"
    "                            mapped readable and executable\n"
    "  --add-dynamic TAG=VALUE   add a dynamic entry in a spare DT_NULL slot;\n"
    "                            VALUE is a number or @NAME, the address of a\n"
    "                            section added by --add-section or\n"
    "                            --add-code-section\n"
    "  --dynsort                 sort .dynsym into GNU hash order and .dynstr with\n"
    "                            it, rebuild .gnu.hash with the cost model's shape\n"
    "                            and renumber every reference; a file with only\n"
    "                            SysV .hash gets a .gnu.hash too\n"
    "  --keep-hash-shape         with --dynsort: keep the GNU hash parameters\n"
    "  --hash-misses-per-hit R   with --dynsort: weigh R failed lookups per\n"
    "                            successful one (default: estimated from the\n"
    "                            file's own relocations; see README.md)\n"
    "  --hash-lookups-for PROGRAM  with --dynsort: weigh them as PROGRAM's start\n"
    "                            would look symbols up in IN (a simulation of\n"
    "                            the loader over PROGRAM's libraries)\n"
    "  --hash-budget BYTES       with --dynsort: largest GNU hash table to build\n"
    "                            (default: the old table's size); a larger table\n"
    "                            goes into a new segment\n"
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

static std::vector<SectionToAdd> parseSectionSpecs(const po::variables_map &vm) {
  std::vector<SectionToAdd> sections;
  for (const char *option : {"add-section", "add-code-section"}) {
    if (!vm.count(option))
      continue;
    for (const std::string &spec : vm[option].as<std::vector<std::string>>()) {
      auto eq = spec.find('=');
      if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size())
        throw UsageError{"edit", std::string("--") + option + " takes NAME=FILE, got '" + spec +
                                     "'"};
      sections.push_back({spec.substr(0, eq), spec.substr(eq + 1),
                          std::string_view(option) == "add-code-section"});
    }
  }
  return sections;
}

// TAG=VALUE, VALUE a number or @NAME, the address of a section added.
static std::vector<DynamicToAdd> parseDynamicSpecs(const po::variables_map &vm,
                                                   const std::vector<SectionToAdd> &sections) {
  std::vector<DynamicToAdd> dynamics;
  if (!vm.count("add-dynamic"))
    return dynamics;
  for (const std::string &spec : vm["add-dynamic"].as<std::vector<std::string>>()) {
    auto eq = spec.find('=');
    if (eq == std::string::npos)
      throw UsageError{"edit", "--add-dynamic takes TAG=VALUE, got '" + spec + "'"};
    DynamicToAdd d;
    d.tag = int64_t(parseNumber(spec.substr(0, eq), "dynamic tag"));
    std::string value = spec.substr(eq + 1);
    if (value.starts_with("@")) {
      d.section = value.substr(1);
      if (std::ranges::none_of(sections, [&](const SectionToAdd &s) { return s.name == d.section; }))
        throw UsageError{"edit", "--add-dynamic names section '" + d.section +
                                     "', which neither --add-section nor --add-code-section "
                                     "adds"};
    } else {
      d.value = parseNumber(value, "value");
    }
    dynamics.push_back(d);
  }
  return dynamics;
}

static int runEdit(const std::vector<std::string> &args) {
  po::options_description opts;
  opts.add_options()("input", po::value<std::string>())("output,o", po::value<std::string>())(
      "in-place", po::bool_switch())("add-section", po::value<std::vector<std::string>>())(
      "add-code-section", po::value<std::vector<std::string>>())(
      "add-dynamic", po::value<std::vector<std::string>>())("json", po::bool_switch())(
      "add-hashvals", po::bool_switch())("dynsort", po::bool_switch())(
      "keep-hash-shape", po::bool_switch());
  addHashModelOptions(opts);
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
  EditOptions options;
  options.sections = parseSectionSpecs(vm);
  options.dynamics = parseDynamicSpecs(vm, options.sections);
  bool doDynsort = vm["dynsort"].as<bool>();
  if (!doDynsort && (vm.count("hash-misses-per-hit") || vm.count("hash-budget") ||
                     vm.count("hash-lookups-for") || vm["keep-hash-shape"].as<bool>()))
    throw UsageError{"edit", "the GNU hash options shape the table --dynsort builds; give --dynsort"};
  options.hashvals = vm["add-hashvals"].as<bool>();

  auto file = ElfFile::open(input);
  // A static file has no dynamic symbols: editFile says so and skips them.
  if (doDynsort)
    options.dynsort = file->findSectionOfType(llvm::ELF::SHT_DYNSYM)
                          ? dynsortOptions("edit", vm, vm["keep-hash-shape"].as<bool>(), *file)
                          : DynsortOptions{};
  EditResult result = editFile(*file, options, output);
  writeOutput(input, output, result.bytes);
  if (vm["json"].as<bool>())
    std::printf("%s\n", editResultJson(input, output, result).dump(2, ' ', false, json::error_handler_t::replace).c_str());
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
    "  --no-pages            do not trace page touches (by default each run is\n"
    "                        followed by a second, silent execution that records\n"
    "                        the first touch of every file page through\n"
    "                        perf_event_open page-fault samples; --prefetch and\n"
    "                        the report's picture use them)\n"
    "  -v, --verbose         progress on stderr\n\n"
    "At every stop the original code is restored before the program goes on.\n"
    "A run that ends by a signal, Ctrl-C or exec is marked partial.\n";

static int runRecord(const std::vector<std::string> &args) {
  auto [ours, command] = splitAtDashes(args);
  po::options_description opts;
  opts.add_options()("output,o", po::value<std::string>())(
      "object", po::value<std::vector<std::string>>())("runs", po::value<unsigned>())(
      "duration", po::value<double>())("until", po::value<std::string>())(
      "follow-forks", po::bool_switch())("kill", po::bool_switch())("verbose,v", po::bool_switch())(
      "no-pages", po::bool_switch())("stray", po::value<std::vector<std::string>>());
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
  options.pages = !vm["no-pages"].as<bool>();
  std::string output = vm.count("output")
                           ? vm["output"].as<std::string>()
                           : command[0].substr(command[0].rfind('/') + 1) + ".profile.json";
  // Fail before running anything if the profile could not be written.
  std::string dir = output.find('/') == std::string::npos ? "." : output.substr(0, output.rfind('/'));
  if (dir.empty())
    dir = "/";
  if (::access(dir.c_str(), W_OK) != 0)
    fatal(output + ": cannot write the profile here: " + std::strerror(errno));

  // Quiet by default; on a terminal, one line that says which run this is.
  // --verbose prints its own lines instead.
  ProgressLine progress(!options.verbose);
  options.progress = progress.callback();
  RecordResult result = record(options);
  progress.clear();
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
        std::fprintf(stderr, "elfopt: run %zu: %s: %zu functions first touched (%s%s)%s\n",
                     r + 1, result.profile.objects[o.object].name.c_str(), o.touches.size(),
                     run.stopReason.c_str(), run.partial ? ", partial" : "",
                     run.pageTrace ? (", " + std::to_string(o.pages.size()) +
                                      " file pages first touched").c_str()
                                   : "");
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
    "       elfopt profile import SYMBOLS --binary PROGRAM -o PROFILE\n"
    "       elfopt profile pages PROFILE [--object NAME] [--binary FILE]\n"
    "                            [--readahead KIB]... [--json]\n\n"
    "show     runs, objects and first touches of a profile\n"
    "export   one run's first-touch order as a plain symbol list (one name a\n"
    "         line, lld's --symbol-ordering-file format); default run 1, the\n"
    "         main program; to stdout without -o\n"
    "import   a plain symbol list as a one-run profile of PROGRAM\n"
    "pages    each run's page trace by section, and the cold start it would cost\n"
    "         under a model of Linux's mmap readahead (default: 128 KiB, the\n"
    "         kernel's default, and this machine's read_ahead_kb): major faults\n"
    "         and bytes read, by section; a prefetch stub in the file is read\n"
    "         first. Modelled, not measured: see 'elfopt measure'\n";

static int runProfile(const std::vector<std::string> &args) {
  po::options_description opts;
  opts.add_options()("action", po::value<std::string>())("file", po::value<std::string>())(
      "output,o", po::value<std::string>())("run", po::value<unsigned>())(
      "object", po::value<std::string>())("binary", po::value<std::string>())(
      "readahead", po::value<std::vector<uint64_t>>())("json", po::bool_switch());
  po::positional_options_description pos;
  pos.add("action", 1).add("file", 1);
  auto vm = parse("profile", args, opts, pos);
  if (!vm.count("action") || !vm.count("file"))
    throw UsageError{"profile", "give an action (show, export, import, pages) and a file"};
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
  if (action == "pages") {
    std::vector<uint64_t> readahead;
    if (vm.count("readahead"))
      readahead = vm["readahead"].as<std::vector<uint64_t>>();
    for (uint64_t kb : readahead)
      if (kb % 4)
        throw UsageError{"profile", "--readahead is in KiB, a multiple of 4"};
    return runProfilePages(file, vm.count("object") ? vm["object"].as<std::string>() : "main",
                           vm.count("binary") ? std::optional(vm["binary"].as<std::string>())
                                              : std::nullopt,
                           readahead, vm["json"].as<bool>());
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
  throw UsageError{"profile", "unknown action '" + action + "' (show, export, import, pages)"};
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
  return m;
}

std::vector<std::string> profilePaths(const char *command, const po::variables_map &vm) {
  if (!vm.count("profiles") || vm["profiles"].as<std::vector<std::string>>().empty())
    throw UsageError{command, "give at least one profile"};
  return vm["profiles"].as<std::vector<std::string>>();
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

//===----------------------------------------------------------------------===//
// hash-model
//===----------------------------------------------------------------------===//

static const char HashModelUsage[] =
    "usage: elfopt hash-model FILE [--misses-per-hit R | --lookups-for PROGRAM] [--budget BYTES] [--json]\n\n"
    "The GNU hash table's cost to the dynamic linker, in 64-byte cache lines\n"
    "touched per lookup (see README.md, 'GNU hash cost model'), for FILE's\n"
    "table as it is, for what ld.bfd, ld.bfd -O1, gold, lld and mold would\n"
    "build for the same symbols, and for the cheapest shape under the budget.\n\n"
    "  --misses-per-hit R   unsuccessful lookups per successful one (default:\n"
    "                       estimated from FILE's own relocations; see\n"
    "                       README.md and bench/lookup-mix.sh to measure it)\n"
    "  --lookups-for PROGRAM  count the lookups FILE sees when PROGRAM starts\n"
    "                       (a simulation of the loader over its libraries)\n"
    "  --budget BYTES       largest table to consider (default: the size of\n"
    "                       FILE's table, so the result fits in place)\n"
    "  --json               print the figures as JSON\n";

static int runHashModel(const std::vector<std::string> &args) {
  po::options_description opts;
  opts.add_options()("file", po::value<std::string>())("misses-per-hit", po::value<double>())(
      "budget", po::value<uint64_t>())("json", po::bool_switch())("lookups-for", po::value<std::string>());
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
  if (vm.count("misses-per-hit") && vm.count("lookups-for"))
    throw UsageError{"hash-model", "give --lookups-for or --misses-per-hit, not both"};
  LookupMix mix;
  std::string from = "option";
  if (vm.count("lookups-for")) {
    std::string program = vm["lookups-for"].as<std::string>();
    mix = simulateLookupMix(*file, program).mix;
    from = "a start of " + program;
  } else if (!vm.count("misses-per-hit")) {
    mix = estimateLookupMix(*file);
    from = "its own relocations";
  }
  options.missesPerHit = mix.missesPerHit();
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
    j["missesPerHitFrom"] = from;
    j["lookupsEstimated"] = {{"hits", mix.hits}, {"misses", mix.misses}};
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
  std::printf("%s: %u hashed symbols; cost per resolved symbol = hit + %.2f x miss "
              "(64-byte lines)%s\n",
              path.c_str(), n, options.missesPerHit,
              options.budgetBytes ? (", budget " + std::to_string(options.budgetBytes) + " bytes").c_str() : "");
  if (!vm.count("misses-per-hit"))
    std::printf("  (%.2f: from %s, %llu lookups miss in it and %llu hit)\n", options.missesPerHit,
                from.c_str(), (unsigned long long)mix.misses, (unsigned long long)mix.hits);
  std::printf("  %-11s %8s %6s %5s %9s %8s %8s %8s %9s\n", "table", "buckets", "bloom", "shift",
              "bytes", "FP", "miss", "hit", "weighted");
  for (auto &[name, c] : rows)
    std::printf("  %-11s %8u %6u %5u %9llu %8.4f %8.4f %8.3f %9.3f\n", name.c_str(),
                c.shape.nbuckets, c.shape.bloomWords, c.shape.bloomShift,
                (unsigned long long)c.bytes, c.falsePositive, c.missLines, c.hitLines, c.weighted);
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
      {"measure", "cold and warm start of a program: wall time, faults, bytes read; A vs B",
       MeasureUsage, runMeasure},
      {"report", "one HTML page: startup pages before and after, hash figures, the rewrite",
       ReportUsage, runReport},
      {"edit", "low-level edits: add sections, segments and dynamic entries", EditUsage,
       runEdit},
  };
  return list;
}

} // namespace elfopt
