//===- Report.h - one self-contained HTML page about a rewrite --*- C++ -*-===//
//
// What `elfopt report` writes: for the original and the rewritten binary, a
// map of .text's 4 KiB pages (SVG, one cell per page, shaded by the share of
// recorded runs whose startup touches it), the evaluate figures, the GNU hash
// figures of both files, and, from `rewrite --json`, what was kept in place
// or moved together and why. With page traces, the start's first touches of
// every file page, time against file offset and coloured by section, for
// both files on the same scales, next to `measure --json` figures. No
// scripts, no network: it opens anywhere.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "elfopt/Order/Evaluate.h"
#include "elfopt/Profile/Profile.h"

#include <cstdint>
#include <string>
#include <vector>

namespace elfopt {

struct ReportSide {
  std::string file;
  uint64_t textStart = 0, textSize = 0;
  /// Per 4 KiB page of .text: how many runs touch it.
  std::vector<uint32_t> pageRuns;
  LayoutScore score;     ///< means per run
  std::string gnuHash;   ///< one line of figures, or empty without a table
  /// One recorded run's page trace of this file (first touches in time
  /// order); empty without one.
  std::vector<PageTouch> pageTrace;
  bool hasPageTrace = false;
  uint64_t fileSize = 0;
  std::string pageTraceSource; ///< the profile and run it came from
};

struct ReportInput {
  ReportSide before, after;
  size_t runs = 0;
  double lowerBound = 0;
  std::string rewriteJson; ///< `elfopt rewrite --json` output, if given
  std::string measureJson; ///< `elfopt measure --compare --json` output, if given
  std::string command;     ///< the command line that produced the page
};

std::string renderReport(const ReportInput &input);

} // namespace elfopt
