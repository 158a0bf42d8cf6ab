//===- CommandSupport.h - what the subcommand files share -------*- C++ -*-===//
#pragma once

#include "elfopt/Dynsym/Dynsort.h"
#include "elfopt/Elf/ElfFile.h"
#include "elfopt/Elf/Functions.h"
#include "elfopt/Order/Order.h"
#include "elfopt/Profile/Profile.h"

#include <boost/program_options.hpp>
#include <nlohmann/json.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace elfopt {

namespace po = boost::program_options;
using json = nlohmann::ordered_json;

/// Parses \p args against \p options; positional names map in order.
/// Throws UsageError.
po::variables_map parse(const char *command, const std::vector<std::string> &args,
                        const po::options_description &options,
                        const po::positional_options_description &positional);

/// Profiles, their runs and (with --binary) the file they are laid out for.
struct OrderInputs {
  std::vector<Profile> profiles;
  std::vector<std::string> names;
  RunSet set;
  std::unique_ptr<ElfFile> binary;
  FunctionTable table;
};

/// Reads the profiles and gathers the runs, as `order` does (--object,
/// --binary, --allow-mismatch, --min-match-rate in \p vm).
void loadOrderInputs(const char *command, const po::variables_map &vm,
                     const std::vector<std::string> &profilePaths, OrderInputs &in);

json dynsortJson(const DynsortResult &r);

/// The GNU hash model options `edit` and `rewrite` share:
/// --hash-misses-per-hit R, --hash-budget BYTES, --hash-lookups-for PROGRAM
/// (simulates PROGRAM's start to count the lookups \p file sees).
void addHashModelOptions(po::options_description &options);
DynsortOptions dynsortOptions(const char *command, const po::variables_map &vm, bool keepShape,
                              const ElfFile &file);

/// The dynamic symbol passes on one editor: dynsort, then hashvals (over the
/// sorted names). plan before editor.layout(), finish after it.
struct DynsymPasses {
  std::optional<DynsortResult> sorted;
  std::optional<unsigned> hashvals; ///< the .elfopt.hashvals section
};
DynsymPasses planDynsymPasses(ElfEditor &editor, const DynsortOptions *dynsort, bool hashvals);
void finishDynsymPasses(ElfEditor &editor, const DynsymPasses &passes);

// Defined in RewriteCommands.cpp.
extern const char RewriteUsage[], VerifyUsage[], ReportUsage[];
int runRewrite(const std::vector<std::string> &args);
int runVerify(const std::vector<std::string> &args);
int runReport(const std::vector<std::string> &args);

} // namespace elfopt
