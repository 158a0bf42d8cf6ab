//===- EditCommand.cpp - elfopt edit --------------------------------------===//
#include "CommandSupport.h"
#include "elfopt/Pipeline/Edit.h"
#include "elfopt/Pipeline/Optimize.h"
#include "elfopt/Pipeline/ResultJson.h"
#include "elfopt/Support/Diagnostics.h"
#include "elfopt/Support/OutputFile.h"

#include <algorithm>
#include <cstdio>

namespace elfopt {

const char EditUsage[] =
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

int runEdit(const std::vector<std::string> &args) {
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

} // namespace elfopt
