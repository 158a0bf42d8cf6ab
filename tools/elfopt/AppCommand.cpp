//===- AppCommand.cpp - elfopt app ----------------------------------------===//
#include "CommandSupport.h"
#include "elfopt/App/App.h"
#include "elfopt/Pipeline/Optimize.h"
#include "elfopt/Profile/Profile.h"
#include "elfopt/Support/Diagnostics.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;

namespace elfopt {

const char AppUsage[] =
    "usage: elfopt app PROGRAM --profile P... -o DIR [options]\n\n"
    "Rewrites a whole application for PROGRAM's start into DIR, from profiles\n"
    "recorded with 'record --all-objects': the program and every recorded\n"
    "object of its application directory (the program's directory, widened to\n"
    "the closest common directory of the objects beside it, never a shared\n"
    "system directory). DIR mirrors that directory: each file a symbolic link\n"
    "to the installed one, but the program (always a copy: $ORIGIN follows it)\n"
    "and the rewritten objects. Each object gets its order from the profiles\n"
    "and its relative relocations packed (where 'rewrite --pack-relative-relocs'\n"
    "can); one that cannot be rewritten stays a link, with the reason. The\n"
    "installed files are never written.\n\n"
    "  --profile FILE        profiles of PROGRAM from record --all-objects\n"
    "                        (repeatable)\n"
    "  -o, --output DIR      the directory to make (must not exist)\n"
    "  --prefetch            also add each object's prefetch stub, where a range\n"
    "                        saves on every device class ('rewrite --prefetch')\n"
    "  --prefetch-device D   with --prefetch: plan for hdd, emmc, ssd or nvme\n"
    "  --dynsort             also sort each object's dynamic symbols\n"
    "  --no-pack             leave relative relocations as they are\n"
    "  --bind-self           also bind each object's references to its own\n"
    "                        definitions without a lookup where PROGRAM's\n"
    "                        startup scope proves it answers them ('rewrite\n"
    "                        --bind-self'): objects of the application directory\n"
    "                        only, since --system-libraries' copies are reached\n"
    "                        through LD_LIBRARY_PATH, which other programs the\n"
    "                        program starts inherit\n"
    "  --system-libraries    also rewrite recorded objects outside the\n"
    "                        application directory (libc, libstdc++...) into\n"
    "                        DIR/elfopt-system-libraries, and write DIR/elfopt-run,\n"
    "                        which runs the program with that directory first on\n"
    "                        LD_LIBRARY_PATH. Off by default: every program maps\n"
    "                        those, so they are in memory already, and a copy\n"
    "                        would be read from disk again\n"
    "  --root DIR            the application directory, instead of the one\n"
    "                        found: for an application that reaches files\n"
    "                        beside its program directory\n"
    "  --json                print the report as JSON\n";

namespace {

struct ObjectOutcome {
  std::string path, output, action, reason;
  std::string notPacked; ///< why relocations were not packed, when asked
  uint64_t orderedFunctions = 0, orderedBytesFollowed = 0, orderedBytes = 0;
  std::optional<PackReport> packed;
  bool prefetch = false;
  /// With --bind-self: definitions and relocations bound, or why none.
  uint64_t boundDefinitions = 0, boundRelocations = 0, boundUnresolved = 0; ///< relocations bound to 0
  std::string notBound;
};

// One object: the full rewrite, else relocations packed only, else left.
// \p bindSelf: the program whose scope --bind-self proves, if asked.
ObjectOutcome rewriteObject(const AppObject &object, const std::vector<std::string> &profiles, bool pack,
                            const std::optional<PrefetchOptions> &prefetch, bool dynsort,
                            const std::optional<std::string> &bindSelf) {
  ObjectOutcome outcome;
  outcome.path = object.path;
  outcome.output = object.output;
  auto file = ElfFile::open(object.path);
  auto refusal = pack ? packRefusal(*file) : std::nullopt;
  bool canPack = pack && !refusal;
  if (refusal)
    outcome.notPacked = *refusal;
  OptimizeOptions options;
  options.order.source = OrderRequest::Profiles;
  options.order.paths = profiles;
  options.order.match.object = object.profileName;
  options.packRelativeRelocs = canPack;
  options.prefetch = prefetch;
  if (dynsort && file->findSectionOfType(llvm::ELF::SHT_DYNSYM))
    options.dynsort = DynsortOptions{};
  if (bindSelf && file->findSectionOfType(llvm::ELF::SHT_DYNSYM))
    options.bindSelf = SelfBindingOptions{*bindSelf};
  std::optional<OptimizeResult> result;
  try {
    result = optimize(*file, options);
    outcome.action = "rewritten";
  } catch (const FatalError &e) {
    outcome.reason = e.what();
    if (canPack) {
      OptimizeOptions packOnly;
      packOnly.packRelativeRelocs = true;
      try {
        result = optimize(*file, packOnly);
        outcome.action = "relocations packed only";
      } catch (const FatalError &) {
      }
    }
  }
  if (!result) {
    outcome.action = "left as installed";
    if (outcome.reason.empty())
      outcome.reason = "nothing to do";
    return outcome;
  }
  outcome.orderedFunctions = result->orderedFunctions;
  outcome.orderedBytes = result->rewrite.orderedFrontBytes + result->rewrite.orderedPinnedBytes;
  // Packed by size, the front holds them but not in the order.
  outcome.orderedBytesFollowed = result->rewrite.orderIgnored ? 0 : result->rewrite.orderedFrontBytes;
  outcome.packed = result->packed;
  outcome.prefetch = result->prefetch && !result->prefetch->ranges.empty();
  if (const auto &b = result->selfBinding) {
    outcome.boundDefinitions = b->bound.size();
    outcome.boundRelocations = b->relocationsBound;
    outcome.boundUnresolved = b->relocationsUnresolved;
    outcome.notBound = b->notApplied;
  }
  fs::remove(object.output);
  fs::create_directories(fs::path(object.output).parent_path());
  writeOutput(object.path, object.output, result->bytes);
  return outcome;
}

} // namespace

int runApp(const std::vector<std::string> &args) {
  po::options_description opts;
  opts.add_options()("program", po::value<std::string>())("output,o", po::value<std::string>())(
      "profile", po::value<std::vector<std::string>>())("prefetch", po::bool_switch())(
      "prefetch-device", po::value<std::string>())(
      "dynsort", po::bool_switch())("no-pack", po::bool_switch())("system-libraries", po::bool_switch())(
      "json", po::bool_switch())("root", po::value<std::string>())("bind-self", po::bool_switch());
  po::positional_options_description pos;
  pos.add("program", 1);
  auto vm = parse("app", args, opts, pos);
  if (!vm.count("program"))
    throw UsageError{"app", "give the program"};
  if (!vm.count("output"))
    throw UsageError{"app", "give the output directory: -o DIR"};
  if (!vm.count("profile"))
    throw UsageError{"app", "give the profiles: --profile FILE (from record --all-objects)"};
  std::optional<PrefetchOptions> prefetch;
  if (vm["prefetch"].as<bool>())
    prefetch = PrefetchOptions{};
  if (vm.count("prefetch-device")) {
    std::string name = vm["prefetch-device"].as<std::string>();
    auto device = prefetchDeviceClass(name);
    if (!prefetch)
      throw UsageError{"app", "--prefetch-device goes with --prefetch"};
    if (!device)
      throw UsageError{"app", "--prefetch-device is hdd, emmc, ssd or nvme, not '" + name + "'"};
    prefetch->devices = {*device};
  }
  std::vector<std::string> profiles = vm["profile"].as<std::vector<std::string>>();
  std::string output = fs::absolute(vm["output"].as<std::string>()).lexically_normal().string();
  while (output.size() > 1 && output.back() == '/')
    output.pop_back();
  std::error_code error;
  std::string program = fs::canonical(vm["program"].as<std::string>(), error).string();
  if (error)
    fatal(vm["program"].as<std::string>() + ": " + error.message());
  if (fs::exists(output, error))
    fatal(output + ": exists already; give a directory that does not", ExitUsage);

  // The objects the profiles recorded, by the paths they were loaded from.
  std::vector<std::pair<std::string, std::string>> objects;
  std::set<std::string> names;
  for (const std::string &p : profiles)
    for (const ObjectIdentity &o : readProfile(p).objects) {
      // Where the loader found it, not where links lead: clang's
      // lib/libLLVM.so.19.1 links into /usr/lib/x86_64-linux-gnu, but the
      // application loads it from its own lib/.
      std::string loaded = o.path.empty() ? o.name : o.path;
      std::string path = o.name == "main" ? program : fs::absolute(loaded).lexically_normal().string();
      if (o.name != "main" && !fs::exists(path, error))
        continue;
      if (error || !names.insert(o.name).second)
        continue;
      objects.push_back({o.name, path});
    }
  std::string partial = output + ".partial";
  fs::remove_all(partial, error);
  std::optional<std::string> root;
  if (vm.count("root")) {
    root = fs::canonical(vm["root"].as<std::string>(), error).string();
    if (error)
      fatal(vm["root"].as<std::string>() + ": " + error.message());
    if (!isUnder(program, *root))
      fatal(program + ": not under the application directory " + *root + " (--root)", ExitUsage);
  }
  AppLayout layout = planApplication(program, objects, partial, root);
  bool systemLibraries = vm["system-libraries"].as<bool>();
  size_t linked = 0;
  std::vector<ObjectOutcome> outcomes;
  try {
    // A shared directory (/usr/bin) is not mirrored: the program alone.
    if (isSharedSystemDirectory(layout.root))
      fs::create_directories(fs::path(layout.programOutput).parent_path());
    else
      linked = mirrorTree(layout.root, partial);
    bool bindSelf = vm["bind-self"].as<bool>();
    for (const AppObject &object : layout.objects) {
      if (!object.inApplication && !systemLibraries)
        continue;
      // A copy proved for this program's scope must reach no other program.
      std::optional<std::string> scopeOf;
      if (bindSelf && object.inApplication)
        scopeOf = program;
      outcomes.push_back(
          rewriteObject(object, profiles, !vm["no-pack"].as<bool>(), prefetch, vm["dynsort"].as<bool>(), scopeOf));
      if (bindSelf && !object.inApplication)
        outcomes.back().notBound = "a system library, reached through LD_LIBRARY_PATH, which the program's "
                                   "children inherit";
    }
    // The program must be a file of its own, rewritten or not.
    if (fs::is_symlink(layout.programOutput) || !fs::exists(layout.programOutput)) {
      fs::remove(layout.programOutput);
      fs::copy_file(program, layout.programOutput);
    }
    if (systemLibraries) {
      std::ofstream run(partial + "/elfopt-run");
      run << "#!/bin/sh\n# Runs " << program << " from " << output
          << " with its rewritten system libraries first.\n"
          << "here=$(cd \"$(dirname \"$0\")\" && pwd)\n"
          << "LD_LIBRARY_PATH=\"$here/elfopt-system-libraries${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}\" exec \"$here/"
          << fs::path(layout.programOutput).lexically_relative(partial).string() << "\" \"$@\"\n";
      run.close();
      fs::permissions(partial + "/elfopt-run", fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                                   fs::perms::others_read | fs::perms::others_exec);
    }
    fs::rename(partial, output);
  } catch (...) {
    fs::remove_all(partial, error);
    throw;
  }
  auto final = [&](const std::string &path) { return output + path.substr(partial.size()); };
  std::string runCommand = systemLibraries ? output + "/elfopt-run" : final(layout.programOutput);

  if (vm["json"].as<bool>()) {
    nlohmann::json j;
    j["program"] = program;
    j["applicationRoot"] = layout.root;
    j["output"] = output;
    j["run"] = runCommand;
    j["linkedFiles"] = linked;
    j["objects"] = nlohmann::json::array();
    for (const ObjectOutcome &o : outcomes) {
      nlohmann::json e = {{"path", o.path},
                          {"output", final(o.output)},
                          {"action", o.action},
                          {"reason", o.reason},
                          {"relocationsNotPacked", o.notPacked},
                          {"orderedFunctions", o.orderedFunctions},
                          {"orderedBytes", o.orderedBytes},
                          {"orderedBytesFollowed", o.orderedBytesFollowed},
                          {"prefetch", o.prefetch}};
      if (vm["bind-self"].as<bool>())
        e["bindSelf"] = {{"definitions", o.boundDefinitions},
                         {"relocations", o.boundRelocations},
                         {"unresolvedRelocations", o.boundUnresolved},
                         {"notBound", o.notBound}};
      if (o.packed)
        e["packed"] = {{"relaBytesBefore", o.packed->relaBytesBefore},
                       {"relaBytesAfter", o.packed->relaBytesAfter},
                       {"relrBytes", o.packed->relrBytes}};
      j["objects"].push_back(e);
    }
    nlohmann::json left = nlohmann::json::array();
    for (const AppObject &object : layout.objects)
      if (!object.inApplication && !systemLibraries)
        left.push_back(object.path);
    j["systemObjectsLeft"] = left;
    std::printf("%s\n", j.dump(2).c_str());
    return ExitOk;
  }
  if (isSharedSystemDirectory(layout.root))
    std::printf("%s -> %s (the program alone: %s is shared by many packages)\n", program.c_str(), output.c_str(),
                layout.root.c_str());
  else
    std::printf("%s -> %s (application directory %s: %zu files linked)\n", program.c_str(), output.c_str(),
                layout.root.c_str(), linked);
  for (const ObjectOutcome &o : outcomes) {
    std::printf("  %s: %s", o.path.c_str(), o.action.c_str());
    if (o.orderedFunctions)
      std::printf("; %llu ordered functions, %.1f%% of their bytes in order",
                  (unsigned long long)o.orderedFunctions,
                  o.orderedBytes ? 100.0 * double(o.orderedBytesFollowed) / double(o.orderedBytes) : 0.0);
    if (o.packed)
      std::printf("; .rela.dyn %llu -> %llu bytes (+%llu of RELR)", (unsigned long long)o.packed->relaBytesBefore,
                  (unsigned long long)o.packed->relaBytesAfter, (unsigned long long)o.packed->relrBytes);
    if (o.prefetch)
      std::printf("; prefetch stub");
    if (o.boundRelocations)
      std::printf("; %llu relocations bound to their own object (%llu definitions)",
                  (unsigned long long)o.boundRelocations, (unsigned long long)o.boundDefinitions);
    if (o.boundUnresolved)
      std::printf("; %llu to 0 (weak, defined nowhere)", (unsigned long long)o.boundUnresolved);
    std::printf("\n");
    if (!o.notBound.empty() && o.action != "left as installed")
      std::printf("    not self-bound: %s\n", o.notBound.c_str());
    if (!o.reason.empty())
      std::printf("    why not all: %s\n", o.reason.c_str());
    if (!o.notPacked.empty() && o.action != "left as installed")
      std::printf("    relocations not packed: %s\n", o.notPacked.c_str());
  }
  size_t left = 0;
  for (const AppObject &object : layout.objects)
    left += !object.inApplication && !systemLibraries;
  if (left)
    std::printf("  %zu recorded objects outside the application directory left as installed (--system-libraries "
                "rewrites them too)\n",
                left);
  std::printf("run: %s\n", runCommand.c_str());
  return ExitOk;
}

} // namespace elfopt
