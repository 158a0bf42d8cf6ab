//===- RecordCommand.cpp - elfopt record ----------------------------------===//
#include "CommandSupport.h"
#include "elfopt/Rewrite/Rewrite.h"
#include "elfopt/Record/Recorder.h"
#include "elfopt/Support/Diagnostics.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <unistd.h>

namespace elfopt {

const char RecordUsage[] =
    "usage: elfopt record [options] -- PROGRAM [ARGS...]\n\n"
    "Runs PROGRAM and records the order in which its functions are first\n"
    "executed (one-shot int3 breakpoints through ptrace: no rebuild needed).\n"
    "PROGRAM's input, output and signals pass through; elfopt exits with its\n"
    "status (with --runs, the first non-zero one).\n\n"
    "  -o, --output FILE     profile to write (default: PROGRAM.profile.json)\n"
    "  --object NAME         also record this shared object (file name, path or\n"
    "                        prefix: libfoo matches libfoo.so.1), also when it is\n"
    "                        loaded later by dlopen; repeatable\n"
    "  --all-objects         record every shared object the program maps, at\n"
    "                        start or by dlopen (named by path), but ld.so\n"
    "  --runs N              run N times, keeping every run (default 1)\n"
    "  --duration SEC        stop recording after SEC seconds\n"
    "  --until SYMBOL        stop recording at SYMBOL's first execution\n"
    "  --follow-forks        record forked child processes too, and children\n"
    "                        that exec the program again (Firefox's content\n"
    "                        processes); off: children are cleaned of\n"
    "                        breakpoints and run untraced\n"
    "  --kill                at an early stop (--duration, --until, Ctrl-C) kill\n"
    "                        the program; default: detach and let it finish\n"
    "  --no-pages            do not trace page touches (by default each run is\n"
    "                        followed by a second, silent execution that records\n"
    "                        the first touch of every file page through\n"
    "                        perf_event_open page-fault samples; --prefetch and\n"
    "                        the report's picture use them)\n"
    "  -v, --verbose         progress on stderr\n\n"
    "At every stop the original code is restored before the program goes on.\n"
    "A run that ends by a signal, Ctrl-C or exec is marked partial.\n";

int runRecord(const std::vector<std::string> &args) {
  auto [ours, command] = splitAtDashes(args);
  po::options_description opts;
  opts.add_options()("output,o", po::value<std::string>())(
      "object", po::value<std::vector<std::string>>())("all-objects", po::bool_switch())("runs", po::value<unsigned>())(
      "duration", po::value<double>())("until", po::value<std::string>())(
      "follow-forks", po::bool_switch())("kill", po::bool_switch())("verbose,v", po::bool_switch())(
      "no-pages", po::bool_switch())("stray", po::value<std::vector<std::string>>());
  po::positional_options_description pos;
  pos.add("stray", -1);
  auto vm = parse("record", ours, opts, pos);
  if (command.empty() || vm.count("stray"))
    throw UsageError{"record", "give the program to run after --"};
  RecordOptions options;
  options.finder = findUndescribedFunctions;
  options.command = command;
  if (vm.count("object"))
    options.objects = vm["object"].as<std::vector<std::string>>();
  options.allObjects = vm["all-objects"].as<bool>();
  if (vm.count("runs")) {
    options.runs = vm["runs"].as<unsigned>();
    if (options.runs == 0)
      throw UsageError{"record", "--runs must be at least 1"};
  }
  if (vm.count("duration")) {
    options.durationSeconds = vm["duration"].as<double>();
    if (!(options.durationSeconds > 0))
      throw UsageError{"record", "--duration must be a positive number of seconds"};
  }
  if (vm.count("until"))
    options.untilSymbol = vm["until"].as<std::string>();
  options.followForks = vm["follow-forks"].as<bool>();
  options.killAtStop = vm["kill"].as<bool>();
  options.verbose = vm["verbose"].as<bool>();
  options.pages = !vm["no-pages"].as<bool>();
  std::string output = vm.count("output")
                           ? vm["output"].as<std::string>()
                           : command[0].substr(command[0].rfind('/') + 1) + ".profile.json";
  // Fail before running anything if the profile could not be written.
  std::string dir = output.find('/') == std::string::npos ? "." : output.substr(0, output.rfind('/'));
  if (dir.empty())
    dir = "/";
  if (::access(dir.c_str(), W_OK) != 0)
    fatal(output + ": cannot write the profile here: " + std::strerror(errno));

  // Quiet by default; on a terminal, one line that says which run this is.
  // --verbose prints its own lines instead.
  ProgressLine progress(!options.verbose);
  options.progress = progress.callback();
  RecordResult result = record(options);
  progress.clear();
  if (!options.untilSymbol.empty()) {
    bool found = false;
    for (const Run &run : result.profile.runs)
      found |= run.stopReason == "until";
    if (!found)
      warn("--until " + options.untilSymbol + ": the function never ran (or does not exist); "
           "recorded until the program ended");
  }
  writeProfile(output, result.profile);
  if (options.verbose) {
    for (size_t r = 0; r < result.profile.runs.size(); ++r) {
      const Run &run = result.profile.runs[r];
      for (const ObjectRun &o : run.objects)
        std::fprintf(stderr, "elfopt: run %zu: %s: %zu functions first touched (%s%s)%s\n",
                     r + 1, result.profile.objects[o.object].name.c_str(), o.touches.size(),
                     run.stopReason.c_str(), run.partial ? ", partial" : "",
                     run.pageTrace ? (", " + std::to_string(o.pages.size()) +
                                      " file pages first touched").c_str()
                                   : "");
    }
    std::fprintf(stderr, "elfopt: wrote %s\n", output.c_str());
  }
  return result.exitStatus;
}

} // namespace elfopt
