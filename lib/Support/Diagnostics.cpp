//===- Diagnostics.cpp ----------------------------------------------------===//
#include "elfopt/Support/Diagnostics.h"

#include <cstdio>
#include <mutex>

namespace elfopt {

namespace {
struct State {
  std::mutex lock;
  bool warningsEnabled = true;
  std::function<void()> beforeWarning;
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
  if (!s.warningsEnabled)
    return;
  if (s.beforeWarning)
    s.beforeWarning();
  std::fprintf(stderr, "elfopt: warning: %s\n", message.c_str());
}

void setWarningsEnabled(bool enabled) { state().warningsEnabled = enabled; }

void setBeforeWarning(std::function<void()> hook) {
  auto &s = state();
  std::lock_guard<std::mutex> guard(s.lock);
  s.beforeWarning = std::move(hook);
}

std::string hex(uint64_t value) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", (unsigned long long)value);
  return buf;
}

} // namespace elfopt
