//===- Commands.h - the subcommands of the elfopt driver --------*- C++ -*-===//
#pragma once

#include <string>
#include <vector>

namespace elfopt {

struct Command {
  const char *name;
  const char *summary;
  const char *usage;  ///< synopsis and option help for `elfopt help NAME`
  int (*run)(const std::vector<std::string> &args);
};

const std::vector<Command> &commands();

/// Thrown for a bad command line; the driver prints it with a hint and
/// exits 1.
struct UsageError {
  std::string command;
  std::string message;
};

} // namespace elfopt
