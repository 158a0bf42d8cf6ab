//===- Diagnostics.cpp ----------------------------------------------------===//
#include "elfopt/Support/Diagnostics.h"

#include <cstdio>
#include <mutex>

namespace elfopt {

namespace {
struct State {
  std::mutex lock;
  unsigned errors = 0;
  ExitCode firstCode = ExitOk;
  bool warningsEnabled = true;
};
State &state() {
  static State s;
  return s;
}
} // namespace

void fatal(const std::string &message, ExitCode code) {
  throw FatalError(code, message);
}

void warn(const std::string &message) {
  auto &s = state();
  std::lock_guard<std::mutex> guard(s.lock);
  if (s.warningsEnabled)
    std::fprintf(stderr, "elfopt: warning: %s\n", message.c_str());
}

void error(const std::string &message, ExitCode code) {
  auto &s = state();
  std::lock_guard<std::mutex> guard(s.lock);
  std::fprintf(stderr, "elfopt: error: %s\n", message.c_str());
  if (s.errors++ == 0)
    s.firstCode = code;
}

void checkpoint() {
  auto &s = state();
  std::lock_guard<std::mutex> guard(s.lock);
  if (s.errors != 0)
    // Messages were printed already; an empty message tells the driver so.
    throw FatalError(s.firstCode, "");
}

unsigned errorCount() { return state().errors; }

void resetDiagnostics() {
  auto &s = state();
  s.errors = 0;
  s.firstCode = ExitOk;
}

void setWarningsEnabled(bool enabled) { state().warningsEnabled = enabled; }

std::string hex(uint64_t value) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", (unsigned long long)value);
  return buf;
}

} // namespace elfopt
