//===- ProfileCommand.cpp - elfopt profile --------------------------------===//
#include "CommandSupport.h"
#include "elfopt/Measure/ReadaheadModel.h"
#include "elfopt/Prefetch/Prefetch.h"
#include "elfopt/Record/Recorder.h"
#include "elfopt/Support/Diagnostics.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>

namespace elfopt {

// `elfopt profile pages`: a profile's page traces and the modelled cold start.

namespace {

std::string mib(uint64_t bytes) {
  char text[32];
  if (bytes < 1024 * 1024)
    std::snprintf(text, sizeof text, "%llu KiB", (unsigned long long)(bytes + 1023) / 1024);
  else
    std::snprintf(text, sizeof text, "%.1f MiB", double(bytes) / (1024.0 * 1024.0));
  return text;
}

} // namespace

static int runProfilePages(const std::string &profilePath, const std::string &objectName,
                    const std::optional<std::string> &binaryPath, std::vector<uint64_t> readaheadKiB,
                    bool asJson) {
  using nlohmann::json;
  Profile profile = readProfile(profilePath);
  std::string why;
  std::optional<uint32_t> object = findProfileObject(profile, objectName, why);
  if (!object)
    fatal(profilePath + ": " + why);
  const ObjectIdentity &id = profile.objects[*object];
  std::string path = binaryPath.value_or(id.path);
  auto file = ElfFile::open(path);
  if (file->bytes().size() != id.size)
    fatal(path + ": not the file the profile traced (" + std::to_string(file->bytes().size()) +
          " bytes, the profile's has " + std::to_string(id.size) + "); give it with --binary");
  std::string machine;
  if (readaheadKiB.empty()) {
    readaheadKiB.push_back(128);
    if (auto kb = readaheadOfDeviceHolding(path); kb && *kb != 128) {
      readaheadKiB.push_back(*kb);
      machine = std::to_string(*kb);
    }
  }
  std::vector<NamedRange> sections;
  for (const Section &s : file->sections())
    if (s.isAlloc() && s.hasFileData() && s.size())
      sections.push_back({s.offset(), s.size(), s.name});
  // The stub's ranges as file offsets: what madvise reads first.
  std::vector<FileRange> prefetch;
  for (const AddressRange &r : prefetchStubRanges(*file))
    for (const Phdr &p : file->segments())
      if (p.p_type == llvm::ELF::PT_LOAD && r.address >= (p.p_vaddr & ~uint64_t(4095)) &&
          r.address < p.p_vaddr + p.p_memsz) {
        uint64_t segmentStart = p.p_vaddr & ~uint64_t(4095);
        uint64_t offset = (p.p_offset & ~uint64_t(4095)) + (r.address - segmentStart);
        prefetch.push_back({offset, r.size});
        break;
      }

  // The stub runs from e_entry or DT_INIT, after the loader has read the
  // object's relocations and written its RELRO: the model lets it run at the
  // first touch of the object's own code (an ifunc resolver the loader runs
  // makes that earlier than it is). The stub's page itself does not count:
  // it also holds the program headers the loader reads.
  std::set<std::string> codeSections;
  for (const Section &s : file->sections())
    if (s.isExecutable() && s.name != PrefetchSectionName)
      codeSections.insert(s.name);
  bool hasStub = !prefetch.empty();
  json out = json::array();
  size_t traced = 0;
  for (size_t r = 0; r < profile.runs.size(); ++r) {
    const Run &run = profile.runs[r];
    const ObjectRun *o = tracedObjectRun(profile, run, objectName);
    if (!o)
      continue;
    ++traced;
    std::vector<uint64_t> offsets;
    std::map<std::string, uint64_t> pagesBySection;
    size_t stubRunsAt = 0;
    bool stubSeen = false;
    for (const PageTouch &t : o->pages) {
      if (hasStub && !stubSeen && codeSections.count(t.section)) {
        stubRunsAt = offsets.size();
        stubSeen = true;
      }
      offsets.push_back(t.offset);
      ++pagesBySection[t.section];
    }
    if (hasStub && !stubSeen)
      stubRunsAt = offsets.size(); // never ran: it read nothing in time
    json jr = {{"run", r + 1},
               {"pages", o->pages.size()},
               {"pagesBySection", pagesBySection},
               {"faultsSeen", run.pageTrace->faults},
               {"prefetchRunsAfterTouches", prefetch.empty() ? json(nullptr) : json(stubRunsAt)},
               {"lost", run.pageTrace->lost}};
    if (!asJson) {
      std::printf("run %zu: %zu file pages first touched (%llu page faults in all, %llu lost)\n",
                  r + 1, o->pages.size(), (unsigned long long)run.pageTrace->faults,
                  (unsigned long long)run.pageTrace->lost);
      std::printf("  by section:");
      for (auto &[name, n] : pagesBySection)
        std::printf(" %s %llu", name.c_str(), (unsigned long long)n);
      std::printf("\n");
    }
    json models = json::array();
    for (uint64_t kb : readaheadKiB) {
      ColdStartModel m = modelColdStart(offsets, id.size, kb * 1024, prefetch, sections, stubRunsAt);
      // Where most of the bytes go, largest first.
      std::vector<std::pair<uint64_t, std::string>> largest;
      for (auto &[name, bytes] : m.bytesBySection)
        largest.emplace_back(bytes, name);
      std::sort(largest.rbegin(), largest.rend());
      models.push_back({{"readaheadKiB", kb},
                        {"majorFaults", m.majorFaults},
                        {"faultsBeforePrefetch", m.faultsBeforePrefetch},
                        {"bytesRead", m.bytesRead},
                        {"prefetchBytes", m.prefetchBytes},
                        {"bytesBySection", m.bytesBySection}});
      if (asJson)
        continue;
      std::printf("  modelled cold start, readahead %llu KiB%s: %llu major faults, %s read",
                  (unsigned long long)kb, std::to_string(kb) == machine ? " (this machine's)" : "",
                  (unsigned long long)m.majorFaults, mib(m.bytesRead).c_str());
      if (!prefetch.empty())
        std::printf(" (%s of it by the prefetch stub's %zu ranges; it runs after the loader's %zu "
                    "touches, which cost %llu of the faults)",
                    mib(m.prefetchBytes).c_str(), prefetch.size(), stubRunsAt,
                    (unsigned long long)m.faultsBeforePrefetch);
      std::printf("\n    read by section:");
      for (size_t k = 0; k < largest.size() && k < 6; ++k)
        std::printf(" %s %s%s", largest[k].second.c_str(), mib(largest[k].first).c_str(),
                    k + 1 < std::min<size_t>(largest.size(), 6) ? "," : "");
      std::printf("\n");
    }
    jr["model"] = models;
    out.push_back(jr);
  }
  if (traced == 0)
    fatal(profilePath + ": no page trace for '" + objectName +
          "' (recorded with --no-pages, or by an elfopt without page traces)");
  if (asJson)
    std::printf("%s\n", json({{"profile", profilePath}, {"binary", path}, {"runs", out}}).dump(2).c_str());
  else
    std::printf("(figures of a model of Linux's mmap read-around, not measurements; "
                "`elfopt measure` measures)\n");
  return ExitOk;
}

const char ProfileUsage[] =
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

int runProfile(const std::vector<std::string> &args) {
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
    std::string why;
    std::optional<uint32_t> index = findProfileObject(p, object, why);
    if (!index)
      fatal(file + ": " + why);
    const ObjectRun *found = nullptr;
    for (const ObjectRun &o : p.runs[runIndex - 1].objects)
      if (o.object == *index)
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

} // namespace elfopt
