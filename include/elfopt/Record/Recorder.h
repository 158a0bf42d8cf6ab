//===- Recorder.h - first-touch order of an unmodified program --*- C++ -*-===//
//
// Runs a program under ptrace with a one-shot breakpoint (int3) on the entry
// of every function of the main executable and of the shared objects the
// user names. Each breakpoint is removed at its first hit, so a function
// runs at full speed after its first touch; the order of first hits, with
// time and thread, is the profile. No rebuild, no special linking, no
// hardware counters.
//
// Shared objects are followed through the dynamic linker's debugger
// interface: a breakpoint on _dl_debug_state (r_debug.r_brk) reports every
// change of the link map, and an object is armed when the map is consistent
// again, before its initializers run.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "elfopt/Elf/Functions.h"
#include "elfopt/Profile/Profile.h"

#include <functional>
#include <string>
#include <vector>

namespace elfopt {

struct RecordOptions {
  std::vector<std::string> command; ///< program and arguments
  std::vector<std::string> objects; ///< shared objects to record as well
  /// Record every shared object the link map names (by path), whether the
  /// program loads it at start or later by dlopen; not ld.so.
  bool allObjects = false;
  unsigned runs = 1;
  double durationSeconds = 0;       ///< 0: no limit
  std::string untilSymbol;          ///< stop at its first touch
  bool followForks = false;         ///< record forked children too
  bool killAtStop = false;          ///< kill instead of detach at an early stop
  bool verbose = false;
  /// After each run, run the command once more to trace the first touch of
  /// every page of the recorded objects' files (PageTrace.h).
  bool pages = true;
  /// Called as each run starts and as each object is armed ("recording run
  /// 2/5, 3 objects armed"): a terminal's progress line.
  std::function<void(const std::string &state)> progress;
  /// Finds the functions of each recorded object that no symbol or FDE
  /// describes (see readFunctions); unset: none.
  FunctionFinder finder;
};

struct RecordResult {
  Profile profile;
  /// The program's status as a shell reports it: exit code, or 128 + signal.
  /// With several runs, the first non-zero one.
  int exitStatus = 0;
};

/// Resolves the program (PATH lookup), checks it is an ELF file elfopt can
/// read, and records options.runs runs. FatalError for bad input.
RecordResult record(const RecordOptions &options);

/// Builds a one-run profile of \p program from a symbol list (lld's
/// --symbol-ordering-file format): the listed functions, in order.
Profile importSymbolList(const std::string &program, const std::vector<std::string> &names,
                         std::vector<std::string> *unknown);

} // namespace elfopt
