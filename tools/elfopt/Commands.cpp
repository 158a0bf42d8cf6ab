//===- Commands.cpp - the table of subcommands ---------------------------===//
#include "CommandSupport.h"
#include "Commands.h"

namespace elfopt {

const std::vector<Command> &commands() {
  static const std::vector<Command> list = {
      {"inspect", "show what matters before optimizing a binary", InspectUsage, runInspect},
      {"record", "record the first-touch order of a program's functions", RecordUsage,
       runRecord},
      {"profile", "show, export or import profiles", ProfileUsage, runProfile},
      {"order", "one function order from many recorded runs", OrderUsage, runOrder},
      {"evaluate", "score layouts against recorded runs (pages, windows, steps)",
       EvaluateUsage, runEvaluate},
      {"hash-model", "GNU hash cost: current table, linkers' rules, the cheapest shape",
       HashModelUsage, runHashModel},
      {"rewrite", "reorder the functions of .text by a profile's order", RewriteUsage,
       runRewrite},
      {"app", "rewrite a whole application for one start into a directory of its own", AppUsage, runApp},
      {"verify", "check a rewritten file against its original", VerifyUsage, runVerify},
      {"measure", "cold and warm start of a program: wall time, faults, bytes read; A vs B",
       MeasureUsage, runMeasure},
      {"report", "one HTML page: startup pages before and after, hash figures, the rewrite",
       ReportUsage, runReport},
      {"edit", "low-level edits: add sections, segments and dynamic entries", EditUsage,
       runEdit},
  };
  return list;
}

} // namespace elfopt
