//===- InspectCommand.cpp - elfopt inspect --------------------------------===//
#include "CommandSupport.h"
#include "elfopt/Scope/LookupMix.h"
#include "elfopt/Inspect/Inspect.h"
#include "elfopt/Support/Diagnostics.h"

#include <cstdio>

namespace elfopt {

const char InspectUsage[] =
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

int runInspect(const std::vector<std::string> &args) {
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

} // namespace elfopt
