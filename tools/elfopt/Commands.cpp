//===- Commands.cpp - option parsing for each subcommand --------------------===//
#include "Commands.h"
#include "elfopt/Edit/ElfEditor.h"
#include "elfopt/Elf/ElfFile.h"
#include "elfopt/Inspect/Inspect.h"
#include "elfopt/Support/Diagnostics.h"
#include "elfopt/Support/OutputFile.h"

#include <boost/program_options.hpp>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <map>
#include <sys/stat.h>

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
    std::printf("%s\n", report.dump(2).c_str());
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

static std::vector<uint8_t> readWholeFile(const std::string &path) {
  std::ifstream f(path, std::ios::binary);
  if (!f)
    fatal(path + ": cannot open");
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), {});
}

static int runEdit(const std::vector<std::string> &args) {
  po::options_description opts;
  opts.add_options()("input", po::value<std::string>())("output,o", po::value<std::string>())(
      "in-place", po::bool_switch())("add-section", po::value<std::vector<std::string>>())(
      "add-dynamic", po::value<std::vector<std::string>>())("json", po::bool_switch());
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
    s.data = readWholeFile(path);
    s.align = 16;
    addedByName[name] = editor.addSection(std::move(s));
  }
  for (auto &[tag, value] : dynamics)
    editor.addDynamicEntry(int64_t(tag), value.starts_with("@") ? 0 : parseNumber(value, "value"));
  const LayoutSummary &layout = editor.layout();
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
    std::printf("%s\n", j.dump(2).c_str());
  }
  return ExitOk;
}

const std::vector<Command> &commands() {
  static const std::vector<Command> list = {
      {"inspect", "show what matters before optimizing a binary", InspectUsage, runInspect},
      {"edit", "low-level edits: add sections, segments and dynamic entries", EditUsage,
       runEdit},
  };
  return list;
}

} // namespace elfopt
