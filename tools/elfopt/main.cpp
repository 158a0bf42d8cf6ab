//===- main.cpp - the elfopt command --------------------------------------===//
//
// git-style driver: `elfopt <command> [options]`. The driver owns process
// concerns only (arguments, messages, exit codes); every command is a thin
// layer over the libraries in lib/.
//
//===----------------------------------------------------------------------===//
#include "Commands.h"
#include "elfopt/Support/Diagnostics.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <exception>

using namespace elfopt;

// GNU's layout ("Usage:", "  or:", two spaces before each summary), which
// help2man turns into the man page's SYNOPSIS and a list of commands.
static void printGeneralHelp(FILE *out) {
  std::fprintf(out, "Usage: elfopt <command> [options]\n"
                    "  or:  elfopt help <command>\n"
                    "  or:  elfopt --version\n\n"
                    "A post-link optimizer for x86-64 ELF executables and shared libraries.\n\n"
                    "Commands:\n");
  int width = 0;
  for (const Command &c : commands())
    width = std::max(width, static_cast<int>(std::strlen(c.name)));
  for (const Command &c : commands())
    std::fprintf(out, "  %-*s  %s\n", width, c.name, c.summary);
  std::fprintf(out, "\nExit codes: 0 success, 1 usage error, 2 bad input, 3 internal error.\n");
}

static const Command *findCommand(const std::string &name) {
  for (const Command &c : commands())
    if (name == c.name)
      return &c;
  return nullptr;
}

int main(int argc, char **argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    printGeneralHelp(stderr);
    return ExitUsage;
  }
  const std::string &first = args[0];
  if (first == "--version" || first == "version") {
    std::printf("elfopt %s\n", ELFOPT_VERSION);
    return ExitOk;
  }
  if (first == "--help" || first == "-h" || (first == "help" && args.size() == 1)) {
    printGeneralHelp(stdout);
    return ExitOk;
  }
  if (first == "help") {
    const Command *c = findCommand(args[1]);
    if (!c) {
      std::fprintf(stderr, "elfopt: error: unknown command '%s'\n", args[1].c_str());
      return ExitUsage;
    }
    std::printf("%s", c->usage);
    return ExitOk;
  }
  const Command *command = findCommand(first);
  if (!command) {
    std::fprintf(stderr, "elfopt: error: unknown command '%s' (see 'elfopt help')\n",
                 first.c_str());
    return ExitUsage;
  }
  // `elfopt rewrite --help`, as every linker and BOLT take it.
  if (args.size() == 2 && (args[1] == "--help" || args[1] == "-h")) {
    std::printf("%s", command->usage);
    return ExitOk;
  }
  try {
    return command->run(std::vector<std::string>(args.begin() + 1, args.end()));
  } catch (const UsageError &e) {
    std::fprintf(stderr, "elfopt: error: %s (see 'elfopt help %s')\n", e.message.c_str(),
                 e.command.c_str());
    return ExitUsage;
  } catch (const FatalError &e) {
    if (std::strlen(e.what()) != 0)
      std::fprintf(stderr, "elfopt: error: %s\n", e.what());
    return e.code;
  } catch (const std::bad_alloc &) {
    std::fprintf(stderr, "elfopt: error: out of memory\n");
    return ExitInternal;
  } catch (const std::exception &e) {
    std::fprintf(stderr, "elfopt: error: internal error: %s\n", e.what());
    return ExitInternal;
  }
}
