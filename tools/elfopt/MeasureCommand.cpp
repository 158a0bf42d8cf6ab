//===- MeasureCommand.cpp - elfopt measure --------------------------------===//
#include "CommandSupport.h"
#include "elfopt/Measure/Measure.h"
#include "elfopt/Support/Diagnostics.h"

#include <algorithm>
#include <cstdio>
#include <sys/wait.h>

namespace elfopt {

const char MeasureUsage[] =
    "usage: elfopt measure [options] -- PROGRAM [ARGS...]\n"
    "       elfopt measure [options] --compare PROGRAM_B -- PROGRAM [ARGS...]\n\n"
    "Starts PROGRAM --runs times and reports what a start costs, as medians.\n"
    "Cold: before each run, PROGRAM, its interpreter and every library the\n"
    "loader lists for it (LD_TRACE_LOADED_OBJECTS, with --env applied), plus\n"
    "--evict files, are dropped from the page cache (posix_fadvise DONTNEED;\n"
    "no privilege needed); then wall time, major faults and bytes read from\n"
    "storage (read_bytes of /proc/PID/io). Warm: a run right after: wall time\n"
    "and minor faults. With a B variant (--compare and/or --compare-env), A and\n"
    "B alternate run by run, and B/A ratios are printed. The program's output\n"
    "goes to /dev/null.\n\n"
    "  --runs N               runs of each variant (default 7)\n"
    "  --cold | --warm        only cold or only warm runs (default both)\n"
    "  --env NAME=VALUE       set in PROGRAM's environment (repeatable)\n"
    "  --evict FILE           also drop FILE before cold runs, e.g. a dlopen'ed\n"
    "                         plugin (repeatable)\n"
    "  --compare PROGRAM_B    B runs PROGRAM_B with the same arguments\n"
    "  --compare-env NAME=VALUE  B's environment on top of --env, e.g.\n"
    "                         LD_LIBRARY_PATH=rewritten/lib (repeatable)\n"
    "  --json                 figures and every run as JSON\n\n"
    "Emulated slow device (root; cgroup v1 blkio or v2 io, losetup, mkfs.ext4):\n"
    "every run reads its files from copies on a loop device over an ext4 image\n"
    "(direct I/O, its own read_ahead_kb), bind-mounted over the originals in a\n"
    "private mount namespace, in a cgroup that throttles the loop device's\n"
    "reads; cold runs also count the read requests issued. A throttle models\n"
    "requests and bytes a second, not seek latency, and only slows: a profile\n"
    "faster than the disk under the image measures that disk (see\n"
    "docs/measuring.md). The machine's own disk settings are not touched;\n"
    "everything is removed at the end.\n"
    "  --device hdd|emmc|ssd  the device's profile:\n"
    "                         hdd   150 read IOPS, 100 MB/s, 128 KiB readahead\n"
    "                               (7200 rpm SATA disk: ~8.5 ms seek + 4.2 ms\n"
    "                               half a turn: 80-150 random reads/s)\n"
    "                         emmc  2000 read IOPS, 90 MB/s, 128 KiB readahead\n"
    "                               (SD App Performance Class A1 1,500 IOPS,\n"
    "                               A2 4,000; UHS-I bus 104 MB/s)\n"
    "                         ssd   20000 read IOPS, 500 MB/s, 128 KiB readahead\n"
    "                               (SATA SSD: ~10,000/s at queue depth 1, tens of\n"
    "                               thousands queued; 6 Gb/s link ~550 MB/s)\n"
    "                         128 KiB is Linux's default read_ahead_kb.\n"
    "  --read-iops N          read requests a second instead of the profile's\n"
    "  --read-bps N           bytes read a second instead of the profile's\n"
    "  --read-ahead-kb N      readahead of the device instead of the profile's\n"
    "  --device-copy DIR      also copy the tree DIR onto the device and drop it\n"
    "                         before cold runs, e.g. /usr/lib/firefox-esr for the\n"
    "                         libraries it opens with dlopen (repeatable)\n";

namespace {

std::pair<std::string, std::string> parseAssignment(const std::string &text) {
  size_t eq = text.find('=');
  if (eq == std::string::npos || eq == 0)
    throw UsageError{"measure", "expected NAME=VALUE, got '" + text + "'"};
  return {text.substr(0, eq), text.substr(eq + 1)};
}

std::string commandLine(const MeasureTarget &t) {
  std::string s;
  for (const auto &[name, value] : t.env)
    s += name + "=" + value + " ";
  for (size_t i = 0; i < t.argv.size(); ++i)
    s += (i ? " " : "") + t.argv[i];
  return s;
}

struct Medians {
  double coldWallMs = 0, coldMajor = 0, coldMiB = 0, coldRequests = 0, warmWallMs = 0, warmMinor = 0;
  bool haveReadBytes = true, haveRequests = false;
};

Medians mediansOf(const MeasureSummary &s) {
  Medians m;
  auto col = [](const std::vector<RunSample> &runs, auto field) {
    std::vector<double> v;
    for (const RunSample &r : runs)
      v.push_back(field(r));
    return median(std::move(v));
  };
  m.coldWallMs = col(s.cold, [](const RunSample &r) { return r.wallSeconds * 1000; });
  m.coldMajor = col(s.cold, [](const RunSample &r) { return double(r.majorFaults); });
  m.haveReadBytes = std::ranges::all_of(s.cold, [](const RunSample &r) { return r.readBytes.has_value(); });
  m.coldMiB = col(s.cold, [](const RunSample &r) { return double(r.readBytes.value_or(0)) / 1048576.0; });
  m.haveRequests = !s.cold.empty() && s.cold.front().readRequests.has_value();
  m.coldRequests = col(s.cold, [](const RunSample &r) { return double(r.readRequests.value_or(0)); });
  m.warmWallMs = col(s.warm, [](const RunSample &r) { return r.wallSeconds * 1000; });
  m.warmMinor = col(s.warm, [](const RunSample &r) { return double(r.minorFaults); });
  return m;
}

json runsJson(const std::vector<RunSample> &runs) {
  json out = json::array();
  for (const RunSample &r : runs) {
    json run = {{"wallSeconds", r.wallSeconds},
                {"majorFaults", r.majorFaults},
                {"minorFaults", r.minorFaults},
                {"readBytes", r.readBytes ? json(*r.readBytes) : json(nullptr)},
                {"exitStatus", WIFEXITED(r.exitStatus) ? WEXITSTATUS(r.exitStatus) : -1}};
    if (r.readRequests)
      run["readRequests"] = *r.readRequests;
    out.push_back(run);
  }
  return out;
}

std::string exitDescription(int status) {
  if (WIFEXITED(status))
    return "exit " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status))
    return "killed by signal " + std::to_string(WTERMSIG(status));
  return "status " + std::to_string(status);
}


// What `measure` was asked: every usage error before anything runs.
struct MeasureRequest {
  MeasureOptions options;
  std::vector<MeasureTarget> targets; ///< A, and B with --compare or --compare-env
  bool asJson = false;
};

MeasureRequest parseMeasure(const std::vector<std::string> &args) {
  auto [ours, command] = splitAtDashes(args);
  po::options_description opts;
  opts.add_options()("runs", po::value<unsigned>())("cold", po::bool_switch())("warm", po::bool_switch())(
      "env", po::value<std::vector<std::string>>())("evict", po::value<std::vector<std::string>>())(
      "compare", po::value<std::string>())("compare-env", po::value<std::vector<std::string>>())(
      "json", po::bool_switch())("device", po::value<std::string>())("read-iops", po::value<uint64_t>())(
      "read-bps", po::value<uint64_t>())("read-ahead-kb", po::value<unsigned>())(
      "device-copy", po::value<std::vector<std::string>>())("stray", po::value<std::vector<std::string>>());
  po::positional_options_description pos;
  pos.add("stray", -1);
  auto vm = parse("measure", ours, opts, pos);
  if (command.empty() || vm.count("stray"))
    throw UsageError{"measure", "give the program to run after --"};
  MeasureRequest request;
  MeasureOptions &options = request.options;
  if (vm.count("runs")) {
    options.runs = vm["runs"].as<unsigned>();
    if (options.runs == 0)
      throw UsageError{"measure", "--runs must be at least 1"};
  }
  if (vm["cold"].as<bool>() && vm["warm"].as<bool>())
    throw UsageError{"measure", "--cold and --warm exclude each other (give neither for both)"};
  options.cold = !vm["warm"].as<bool>();
  options.warm = !vm["cold"].as<bool>();
  auto strings = [&](const char *name) {
    return vm.count(name) ? vm[name].as<std::vector<std::string>>() : std::vector<std::string>{};
  };

  MeasureTarget a;
  a.argv = command;
  for (const std::string &e : strings("env"))
    a.env.push_back(parseAssignment(e));
  a.extraEvict = strings("evict");
  std::vector<MeasureTarget> &targets = request.targets;
  targets = {a};
  if (vm.count("compare") || vm.count("compare-env")) {
    MeasureTarget b = a;
    if (vm.count("compare"))
      b.argv[0] = vm["compare"].as<std::string>();
    for (const std::string &e : strings("compare-env")) {
      auto kv = parseAssignment(e);
      std::erase_if(b.env, [&](const auto &old) { return old.first == kv.first; });
      b.env.push_back(kv);
    }
    targets[0].label = "A";
    b.label = "B";
    targets.push_back(b);
  } else {
    targets[0].label = command[0].substr(command[0].rfind('/') + 1);
  }
  request.asJson = vm["json"].as<bool>();

  if (vm.count("device")) {
    std::string name = vm["device"].as<std::string>();
    options.device = deviceProfile(name);
    if (!options.device)
      throw UsageError{"measure", "unknown --device '" + name + "' (hdd, emmc or ssd)"};
    bool adjusted = false;
    if (vm.count("read-iops")) {
      options.device->readIops = vm["read-iops"].as<uint64_t>();
      if (options.device->readIops == 0)
        throw UsageError{"measure", "--read-iops must be at least 1"};
      adjusted = true;
    }
    if (vm.count("read-bps")) {
      options.device->readBps = vm["read-bps"].as<uint64_t>();
      if (options.device->readBps == 0)
        throw UsageError{"measure", "--read-bps must be at least 1"};
      adjusted = true;
    }
    if (vm.count("read-ahead-kb")) {
      options.device->readAheadKb = vm["read-ahead-kb"].as<unsigned>();
      adjusted = true;
    }
    if (adjusted) {
      options.device->source = name + "'s profile with the figures given on the command line";
      options.device->name = name + " (adjusted)";
    }
    options.deviceCopy = strings("device-copy");
  } else {
    for (const char *o : {"read-iops", "read-bps", "read-ahead-kb", "device-copy"})
      if (vm.count(o))
        throw UsageError{"measure", std::string("--") + o + " needs --device (hdd, emmc or ssd)"};
  }
  return request;
}

// The figures of one run of `measure`, and the machine's load around it.
struct MeasureOutcome {
  std::vector<MeasureSummary> results;
  std::vector<Medians> medians;
  std::string loadBefore, loadAfter;
};

void printMeasureJson(const MeasureRequest &request, const MeasureOutcome &outcome) {
  const MeasureOptions &options = request.options;
  json j;
  j["runs"] = options.runs;
  j["loadAverage"] = {{"before", outcome.loadBefore}, {"after", outcome.loadAfter}};
  if (options.device && !outcome.results.empty() && outcome.results[0].device) {
    const DeviceProfile &p = *options.device;
    const DeviceUse &use = *outcome.results[0].device;
    j["device"] = {{"profile", p.name},           {"readIops", p.readIops},
                   {"readBps", p.readBps},        {"readAheadKb", p.readAheadKb},
                   {"source", p.source},          {"loopDevice", use.device},
                   {"filesCopied", use.files},    {"bytesCopied", use.bytes},
                   {"copiedTrees", options.deviceCopy}};
  }
  j["variants"] = json::array();
  for (size_t i = 0; i < outcome.results.size(); ++i) {
    const MeasureSummary &s = outcome.results[i];
    const Medians &m = outcome.medians[i];
    json v = {{"label", s.label}, {"command", commandLine(request.targets[i])}, {"evicted", s.files},
              {"evictedPages", s.filePages}, {"pagesStillCached", s.maxStillCached}, {"filesStillCached", s.filesStillCached}};
    if (options.cold) {
      v["cold"] = {{"wallMs", m.coldWallMs},
                   {"majorFaults", m.coldMajor},
                   {"readMiB", m.haveReadBytes ? json(m.coldMiB) : json(nullptr)}};
      if (m.haveRequests)
        v["cold"]["readRequests"] = m.coldRequests;
      v["cold"]["runs"] = runsJson(s.cold);
    }
    if (options.warm)
      v["warm"] = {{"wallMs", m.warmWallMs}, {"minorFaults", m.warmMinor}, {"runs", runsJson(s.warm)}};
    j["variants"].push_back(v);
  }
  std::printf("%s\n", j.dump(2, ' ', false, json::error_handler_t::replace).c_str());
}

// One row of medians: A, and B with B/A.
void printMedianRow(const std::vector<Medians> &medians, const char *name, double Medians::*field,
                    const char *format) {
  bool two = medians.size() == 2;
  std::printf("  %-24s ", name);
  char cell[32];
  std::snprintf(cell, sizeof cell, format, medians[0].*field);
  std::printf("%12s", cell);
  if (two) {
    std::snprintf(cell, sizeof cell, format, medians[1].*field);
    std::printf(" %12s", cell);
    double base = medians[0].*field;
    if (base > 0)
      std::printf(" %8.3f", medians[1].*field / base);
    else
      std::printf(" %8s", "-");
  }
  std::printf("\n");
}

// What these figures do not see, said rather than hidden.
void printMeasureNotes(const MeasureOptions &options, const MeasureOutcome &outcome, bool readBytes) {
  for (const MeasureSummary &s : outcome.results) {
    if (s.firstExitStatus != 0)
      std::printf("  note: %s ended with %s%s\n", s.label.c_str(), exitDescription(s.firstExitStatus).c_str(),
                  WIFEXITED(s.firstExitStatus) && WEXITSTATUS(s.firstExitStatus) == 127
                      ? " (it may not have started)"
                      : "");
    if (options.cold && s.maxStillCached) {
      std::string names;
      const size_t shown = 3;
      for (size_t k = 0; k < s.filesStillCached.size() && k < shown; ++k)
        names += (k ? ", " : "") + s.filesStillCached[k].substr(s.filesStillCached[k].rfind('/') + 1);
      if (s.filesStillCached.size() > shown)
        names += " and " + std::to_string(s.filesStillCached.size() - shown) + " more";
      std::printf("  note: %s: up to %llu of %llu pages stayed in the page cache after dropping, "
                  "in %s (mapped by another process, or locked): those cold runs were partly warm\n",
                  s.label.c_str(), (unsigned long long)s.maxStillCached, (unsigned long long)s.filePages,
                  names.c_str());
    }
  }
  if (options.cold && !readBytes)
    std::printf("  note: bytes read not measured: /proc/PID/io was not readable (a kernel without "
                "task IO accounting, or a set-uid program)\n");
  if (options.cold && options.device)
    std::printf("  not measured: seek latency (the device is a throttle on requests and bytes a "
                "second); the dentry/inode caches of the copies; files not copied onto the device "
                "(/etc/ld.so.cache, locales, fonts...: give their directories with --device-copy) "
                "are read from this machine's disk, unthrottled\n");
  else if (options.cold)
    std::printf("  not measured: the storage device's own cache, and dentry/inode caches (dropping "
                "them needs root: /proc/sys/vm/drop_caches, which would empty every cache of the "
                "machine)\n");
}

void printMeasureText(const MeasureRequest &request, const MeasureOutcome &outcome) {
  const MeasureOptions &options = request.options;
  const std::vector<MeasureSummary> &results = outcome.results;
  std::printf("elfopt measure: %u runs of each%s; medians (load average %s before, %s after)\n",
              options.runs, results.size() > 1 ? ", A and B alternating" : "", outcome.loadBefore.c_str(),
              outcome.loadAfter.c_str());
  if (options.device && results[0].device) {
    const DeviceUse &use = *results[0].device;
    std::printf("  device: %s, emulated on %s: %zu files, %.1f MiB copied\n",
                describeDevice(*options.device).c_str(), use.device.c_str(), use.files,
                double(use.bytes) / 1048576.0);
    std::printf("     (%s)\n", options.device->source.c_str());
  }
  for (size_t i = 0; i < results.size(); ++i) {
    const MeasureSummary &s = results[i];
    std::printf("  %s: %s\n", s.label.c_str(), commandLine(request.targets[i]).c_str());
    if (options.cold)
      std::printf("     dropped before each cold run: %zu files, %llu pages\n", s.files.size(),
                  (unsigned long long)s.filePages);
  }
  std::printf("  %-24s %12s", "", results[0].label.c_str());
  if (results.size() == 2)
    std::printf(" %12s %8s", results[1].label.c_str(), "B/A");
  std::printf("\n");
  const std::vector<Medians> &medians = outcome.medians;
  bool readBytes = std::ranges::all_of(medians, [](const Medians &m) { return m.haveReadBytes; });
  if (options.cold) {
    printMedianRow(medians, "cold: wall ms", &Medians::coldWallMs, "%.2f");
    printMedianRow(medians, "cold: major faults", &Medians::coldMajor, "%.0f");
    if (readBytes)
      printMedianRow(medians, "cold: MiB read", &Medians::coldMiB, "%.2f");
    if (std::ranges::all_of(medians, [](const Medians &m) { return m.haveRequests; }))
      printMedianRow(medians, "cold: read requests", &Medians::coldRequests, "%.0f");
  }
  if (options.warm) {
    printMedianRow(medians, "warm: wall ms", &Medians::warmWallMs, "%.2f");
    printMedianRow(medians, "warm: minor faults", &Medians::warmMinor, "%.0f");
  }
  printMeasureNotes(options, outcome, readBytes);
}

} // namespace

int runMeasure(const std::vector<std::string> &args) {
  MeasureRequest request = parseMeasure(args);
  // Before anything runs: the device or nothing, never figures from the fast disk.
  if (request.options.device) {
    std::string why = deviceEmulationUnavailable();
    if (!why.empty())
      fatal(why, ExitInternal);
  }
  MeasureOutcome outcome;
  outcome.loadBefore = loadAverage();
  ProgressLine progress(!request.asJson);
  outcome.results = measure(request.targets, request.options, progress.callback());
  progress.clear();
  outcome.loadAfter = loadAverage();
  for (const MeasureSummary &s : outcome.results)
    outcome.medians.push_back(mediansOf(s));
  if (request.asJson)
    printMeasureJson(request, outcome);
  else
    printMeasureText(request, outcome);
  return ExitOk;
}

} // namespace elfopt
