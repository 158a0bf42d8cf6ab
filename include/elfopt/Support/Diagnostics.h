//===- Diagnostics.h - errors, warnings and exit codes ---------*- C++ -*-===//
//
// elfopt reports problems in two levels: a warning is printed and work goes
// on; a fatal error stops the run. What can be handled safely is not an error
// at all: a function that cannot move is kept in place and reported with its
// reason (RewriteReport::kept), and verify lists every problem it finds, so
// one run already shows all of them.
//
// Every message names a place: the file, and where it helps, the section or
// symbol. Stopping is an exception carrying the exit code, caught by the
// driver; library code never calls exit().
//
//===----------------------------------------------------------------------===//
#pragma once

#include <functional>
#include <stdexcept>
#include <string>

namespace elfopt {

/// Exit codes of the elfopt command; documented in README.md.
enum ExitCode : int {
  ExitOk = 0,
  ExitUsage = 1,    ///< bad command line
  ExitBadInput = 2, ///< malformed or unsupported input file, unusable profile
  ExitInternal = 3, ///< a bug in elfopt, or the operating system said no
};

/// Thrown to stop the run; what() is the complete message without the
/// "elfopt: error: " prefix.
class FatalError : public std::runtime_error {
public:
  FatalError(ExitCode code, const std::string &message)
      : std::runtime_error(message), code(code) {}
  ExitCode code;
};

/// Stops the run with \p message (which should begin with the file name).
[[noreturn]] void fatal(const std::string &message, ExitCode code = ExitBadInput);

/// Prints "elfopt: warning: MESSAGE" unless warnings are silenced.
void warn(const std::string &message);

void setWarningsEnabled(bool enabled);

/// Runs \p hook before each warning is printed, so the driver can clear a
/// progress line first; an empty hook removes it.
void setBeforeWarning(std::function<void()> hook);

/// "0x1a2b" formatting used in every message.
std::string hex(uint64_t value);

} // namespace elfopt
