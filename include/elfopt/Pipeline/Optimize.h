//===- Optimize.h - the whole rewrite as one library call -------*- C++ -*-===//
//
// optimize() is `elfopt rewrite` without the command line: it reads nothing
// but the input file and the order source, writes nothing, and returns the
// output bytes with every pass's report. Its passes, in order, are listed
// in one function (lib/Pipeline/Optimize.cpp):
//   order source -> function addresses, rewrite .text (analyse, plan, apply),
//   verify it, the dynamic symbol passes, verify those, the scope order,
//   verify it, self-binding, verify it, the prefetch stub, verify it, packed relative relocations,
//   verify them, serialize.
// A verification that fails stops the run (FatalError, exit code 3) with
// every problem listed under the error line, and nothing is written.
// writeOutput() is how `rewrite` and `edit` put a result on disk.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "elfopt/Dynsym/Dynsort.h"
#include "elfopt/Scope/ScopeOrder.h"
#include "elfopt/Scope/SelfBinding.h"
#include "elfopt/Elf/ElfFile.h"
#include "elfopt/Order/Inputs.h"
#include "elfopt/PackRelocs/PackRelocs.h"
#include "elfopt/Prefetch/Prefetch.h"
#include "elfopt/Rewrite/Rewrite.h"
#include "elfopt/Verify/Verify.h"
#include "elfopt/Verify/VerifyDynsym.h"
#include "elfopt/Verify/VerifyPrefetch.h"
#include "elfopt/Verify/VerifyRelocs.h"
#include "elfopt/Verify/VerifyScope.h"
#include "elfopt/Verify/VerifySelfBinding.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace elfopt {

/// Where the function order comes from.
struct OrderRequest {
  enum Source { None, Profiles, OrderFile, SymbolList, Random };
  Source source = None;
  std::vector<std::string> paths; ///< the profiles, or the one order file or list
  uint64_t seed = 0;              ///< Random: a shuffle of every function
  ProfileMatch match;             ///< Profiles: which object, how strictly
};

/// The file pages the profiles saw a start touch (profile `pages`).
struct TracedPages {
  size_t runs = 0;                ///< runs that had a page trace for the object
  std::vector<uint64_t> offsets;  ///< page offsets touched in any of them once the object's code ran, sorted
  std::vector<uint64_t> loaderOffsets; ///< touched in any of them before (ld.so), sorted
};

/// Traced runs' pages (each run in first-touch order) split where the
/// object's own code first ran: the prefetch stub runs just before it (from
/// e_entry or DT_INIT). `before`: what any run touched earlier (ld.so's
/// reads: headers, symbol tables, relocations, the data they write), in the
/// page cache by the time the stub runs, with what their faults read around
/// them; `after`: the rest, what the stub can still read ahead. \p isCode:
/// whether a touch's section holds code. A run without a code touch is all
/// `after`. Sorted.
struct PagesAroundCode {
  std::vector<uint64_t> before, after;
};
PagesAroundCode splitPagesAtCode(const std::vector<std::vector<PageTouch>> &runs,
                                 const std::function<bool(const std::string &)> &isCode);

/// The traced file pages \p offsets as addresses of \p in, where a madvise
/// reaches them: the first PT_LOAD that maps each page, widened to its
/// fault-around window (64 KiB, within the segment's pages). Pages of
/// .text are left out (the ordered functions stand for them). What the
/// prefetch pass adds to the ordered functions' pages.
std::vector<AddressRange> tracedPageRanges(const ElfFile &in, const std::vector<uint64_t> &offsets);

/// \p in with room for the ordered code (`rewrite --new-segment`'s first
/// step): RoomSection, \p size int3 bytes in an executable segment of its
/// own; with \p verify, checked by verifyAddedRoom.
std::vector<uint8_t> withRoomForOrderedCode(const ElfFile &in, uint64_t size, bool verify);

struct OptimizeOptions {
  OrderRequest order;
  bool stripDebug = false; ///< drop debug info that cannot follow the layout
  bool forwardingStubs = true; ///< RewriteOptions::forwardingStubs
  /// Where the ordered code goes without static relocations for .text:
  /// Auto: in .text, unless the plan there would spread it (among stubs and
  /// code that stays; RewriteOptions::RoomWhen), then into a new executable
  /// segment (RoomSection), in order, the rest of .text staying.
  enum class Placement { Auto, InPlace, NewSegment };
  Placement placement = Placement::Auto;
  bool verify = true;
  std::optional<DynsortOptions> dynsort; ///< sort .dynsym and rebuild .gnu.hash
  bool hashvals = false;                 ///< add .elfopt.hashvals
  /// Reorder the program's DT_NEEDED list for a shorter lookup walk.
  std::optional<ScopeModelOptions> scopeOrder;
  /// Bind the references the object answers itself in the program's
  /// startup scope without a lookup (SelfBinding.h).
  std::optional<SelfBindingOptions> bindSelf;
  /// Add a startup stub that prefetches the ordered functions' pages.
  std::optional<PrefetchOptions> prefetch;
  /// Turn the R_X86_64_RELATIVE entries of .rela.dyn into DT_RELR.
  bool packRelativeRelocs = false;
  /// Leave .text as it is (with prefetch: prefetch where the code is now).
  bool keepLayout = false;
  /// Called as each phase starts: a terminal's progress line.
  std::function<void(const std::string &phase)> progress;
};

struct OptimizeResult {
  std::vector<uint8_t> bytes;
  std::string orderSource;   ///< what the order came from, for reports
  size_t orderedFunctions = 0;
  bool rewroteText = false;  ///< an order was given
  uint64_t roomBytes = 0;    ///< the new segment made for the ordered code, if any
  std::string roomWhy;       ///< why it was made
  /// Why the functions found in undescribed code stayed in place (verify's
  /// first problem with the rewrite that moved them), or "".
  std::string undescribedKeptWhy;
  /// Found functions kept in place because verify's problems named them
  /// (the rest moved, verified), and the first such problem.
  uint64_t undescribedKept = 0;
  std::string undescribedKeptFirstProblem;
  std::vector<MovedRange> roomMovedSections; ///< sections its program header moved
  RewriteReport rewrite;
  std::optional<VerifyReport> verified;
  std::optional<DynsortResult> sorted;
  bool hashvalsAdded = false;
  uint64_t hashvalsBytes = 0;      ///< of .elfopt.hashvals
  bool hashvalsNewSegment = false; ///< the dynamic symbol passes added a PT_LOAD for it
  std::string hashvalsLeftOut; ///< why --hashvals added nothing, if so
  std::optional<DynsymVerifyReport> dynsymVerified;
  /// With scopeOrder: the start's model and what was planned (and done).
  std::optional<ScopeModel> scopeModel;
  std::optional<ScopePlan> scopePlan;
  std::optional<SelfBindingPlan> selfBinding;
  std::optional<SelfBindingVerifyReport> selfBindingVerified;
  std::optional<PrefetchReport> prefetch;
  std::optional<PrefetchVerifyReport> prefetchVerified;
  std::optional<PackReport> packed;
  std::optional<RelocVerifyReport> packVerified;
  /// With prefetch: the profiles' page traces (runs == 0: none, code only).
  TracedPages tracedPages;
  /// Wall time of each pass that ran, in order ("order", "rewrite .text",
  /// "verify .text", ...): what each costs on this input.
  std::vector<std::pair<std::string, double>> passSeconds;
};

/// The function addresses of \p in that \p request puts first, in order;
/// \p description says where they came from. With \p pages, also the file
/// pages the profiles' page traces hold for \p in (profiles of this very
/// file only: with allowMismatch the offsets would be another build's).
/// \p finder: functions in code no symbol or FDE describes (readFunctions).
std::vector<uint64_t> resolveOrder(const ElfFile &in, const OrderRequest &request, std::string &description,
                                   TracedPages *pages = nullptr, const FunctionFinder &finder = {});

/// Runs the passes on \p in. Throws FatalError naming the file when the input
/// cannot be rewritten or a verification fails.
OptimizeResult optimize(const ElfFile &in, const OptimizeOptions &options);

/// Stops the run, nothing written, with \p problems under the error line:
/// what every verified pass does when its check fails.
[[noreturn]] void failVerification(const std::string &input, const std::string &what,
                                   const std::vector<std::string> &problems);

/// Writes \p bytes to \p output atomically with \p input's permission bits.
void writeOutput(const std::string &input, const std::string &output, std::span<const uint8_t> bytes);

} // namespace elfopt
