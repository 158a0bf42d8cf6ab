//===- CommandSupport.h - what the subcommand files share -------*- C++ -*-===//
#pragma once

#include "Commands.h"
#include "elfopt/Dynsym/Dynsort.h"
#include "elfopt/Elf/ElfFile.h"
#include "elfopt/Elf/Functions.h"
#include "elfopt/Order/Inputs.h"
#include "elfopt/Order/Order.h"
#include "elfopt/Profile/Profile.h"
#include "elfopt/Verify/Verify.h"
#include "elfopt/Verify/VerifyDynsym.h"

#include <boost/program_options.hpp>
#include <nlohmann/json.hpp>

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace elfopt {

namespace po = boost::program_options;
using json = nlohmann::ordered_json;

/// Parses \p args against \p options; positional names map in order.
/// Throws UsageError.
po::variables_map parse(const char *command, const std::vector<std::string> &args,
                        const po::options_description &options,
                        const po::positional_options_description &positional);

/// \p args split at the first "--": the command's own options, then the
/// program to run and its arguments (empty without "--"), as `record` and
/// `measure` take them.
std::pair<std::vector<std::string>, std::vector<std::string>> splitAtDashes(const std::vector<std::string> &args);

/// --object, --allow-mismatch and --min-match-rate, as `order`, `evaluate`
/// and `rewrite` take them.
ProfileMatch profileMatch(const po::variables_map &vm);
/// The positional "profiles" of \p command; at least one (UsageError).
std::vector<std::string> profilePaths(const char *command, const po::variables_map &vm);

/// One progress line on stderr for a terminal: each state overwrites the
/// last, a warning clears it first, and it is gone when the command ends,
/// also on an error. Disabled, it prints nothing and its callback is empty,
/// so output to a pipe or file stays as it was.
class ProgressLine {
public:
  /// Enabled when stderr is a terminal and \p wanted (no --json, --verbose).
  explicit ProgressLine(bool wanted);
  ~ProgressLine();
  ProgressLine(const ProgressLine &) = delete;
  ProgressLine &operator=(const ProgressLine &) = delete;
  /// For a library's options struct: show() as a function, or empty.
  std::function<void(const std::string &)> callback();
  void show(const std::string &state);
  void clear();

private:
  bool enabled;
  std::mutex lock;
  size_t width = 0; ///< characters on the line now
};

/// The GNU hash model options `edit` and `rewrite` share:
/// --hash-misses-per-hit R, --hash-budget BYTES, --hash-lookups-for PROGRAM
/// (simulates PROGRAM's start to count the lookups \p file sees).
void addHashModelOptions(po::options_description &options);
DynsortOptions dynsortOptions(const char *command, const po::variables_map &vm, bool keepShape,
                              const ElfFile &file);

/// The text lines of verify's reports, as `rewrite` and `verify` print them.
void printVerify(const VerifyReport &report);
void printDynsymVerify(const DynsymVerifyReport &report);

// Each command's help and entry point, one file each (Commands.cpp lists them).
extern const char InspectUsage[], RecordUsage[], ProfileUsage[], OrderUsage[], EvaluateUsage[],
    HashModelUsage[], RewriteUsage[], VerifyUsage[], MeasureUsage[], ReportUsage[], EditUsage[], AppUsage[];
int runInspect(const std::vector<std::string> &args);
int runRecord(const std::vector<std::string> &args);
int runProfile(const std::vector<std::string> &args);
int runOrder(const std::vector<std::string> &args);
int runEvaluate(const std::vector<std::string> &args);
int runHashModel(const std::vector<std::string> &args);
int runRewrite(const std::vector<std::string> &args);
int runVerify(const std::vector<std::string> &args);
int runMeasure(const std::vector<std::string> &args);
int runReport(const std::vector<std::string> &args);
int runEdit(const std::vector<std::string> &args);
int runApp(const std::vector<std::string> &args);

} // namespace elfopt
