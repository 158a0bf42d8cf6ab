//===- RewriteCommand.cpp - elfopt rewrite --------------------------------===//
#include "CommandSupport.h"
#include "elfopt/Pipeline/Optimize.h"
#include "elfopt/Pipeline/ResultJson.h"
#include "elfopt/Support/Diagnostics.h"
#include "elfopt/Support/OutputFile.h"

#include <cstdio>

namespace elfopt {

const char RewriteUsage[] =
    "usage: elfopt rewrite INPUT (--profile P... | --order O | --symbol-list F)\n"
    "                      -o OUTPUT [options]\n\n"
    "Moves functions within .text so that the ordered ones come first, in\n"
    "order, and all others follow in their original order. File size, program\n"
    "headers and every other section's address stay; every reference to moved\n"
    "code follows it (relocations, decoded instructions, data, GOT, symbols,\n"
    ".eh_frame and .eh_frame_hdr, debug info). Linked with -Wl,--emit-relocs\n"
    "(-Wl,-q), INPUT's static relocations describe every reference. A PIE or\n"
    "shared library without them (a release binary, stripped or not) is\n"
    "rewritten from its dynamic relocations and decoded code: jump tables are\n"
    "found from the code, and a function is kept in place wherever a reference\n"
    "to it cannot be proven found (the report says which and why). A non-PIE\n"
    "executable needs -Wl,--emit-relocs.\n\n"
    "  -o, --output FILE     where to write (never INPUT, unless --in-place)\n"
    "  --in-place            rewrite INPUT itself (atomically)\n"
    "  --profile FILE        recorded profiles; the order is built as 'elfopt\n"
    "                        order' builds it (repeatable)\n"
    "  --order FILE          an order from 'elfopt order' (json)\n"
    "  --symbol-list FILE    an order as a plain symbol list (lld format)\n"
    "  --random-order SEED   a random order of all functions (for testing)\n"
    "  --object NAME         which object of the profiles: its name, or the end\n"
    "                        of its path, such as libxul.so (default: main)\n"
    "  --allow-mismatch      accept profiles of another build (match by name)\n"
    "  --min-match-rate R    with --allow-mismatch, fail below this rate (0.5)\n"
    "  --strip-debug         drop debug info that cannot follow the new layout\n"
    "                        (otherwise such input is refused)\n"
    "  --no-forwarding-stubs without static relocations, keep in place code that\n"
    "                        a word of data may lead into, instead of moving it\n"
    "                        and leaving a jump to its new place at each such\n"
    "                        entry (the default)\n"
    "  --new-segment         without static relocations, put the ordered code in\n"
    "                        a new executable segment (.elfopt.text), in order,\n"
    "                        and leave the rest of .text where it is (the file\n"
    "                        grows by about the ordered code's size). The\n"
    "                        default where the plan in .text would spread the\n"
    "                        ordered code among stubs and code that stays\n"
    "  --no-new-segment      keep the ordered code in .text in every case\n"
    "  --no-verify           skip 'elfopt verify' of the result before writing it\n"
    "  --dynsort             sort .dynsym/.dynstr by GNU hash bucket and rebuild\n"
    "                        .gnu.hash (see 'elfopt edit'); needs no relocations\n"
    "  --gnu-hash=MODE       with --dynsort: keep (default: the same shape) or\n"
    "                        optimize (the cost model's shape within the old\n"
    "                        size; the default when a model option is given)\n"
    "  --hash-misses-per-hit R, --hash-lookups-for PROGRAM, --hash-budget BYTES\n"
    "                        with --gnu-hash=optimize: the model's weight of\n"
    "                        failed lookups and its size limit (see 'elfopt edit')\n"
    "  --hashvals            add precomputed symbol hashes (.elfopt.hashvals)\n"
    "  --scope-order         for a program: reorder (and extend, in spare .dynamic\n"
    "                        slots) its DT_NEEDED list so that the loader's\n"
    "                        global scope asks the libraries answering the most\n"
    "                        lookups first; a move is kept only when every\n"
    "                        binding, the constructor and destructor order, the\n"
    "                        dlsym importers' order and the first definer of\n"
    "                        each unique symbol are proved unchanged. Proved for\n"
    "                        the program where INPUT is (RUNPATH $ORIGIN)\n"
    "  --also LIB            with --scope-order: a library the program dlopens;\n"
    "                        its lookups join the proof (repeatable)\n"
    "  --bind-self PROGRAM   bind the references INPUT's own definitions answer\n"
    "                        in PROGRAM's startup scope without a lookup: the\n"
    "                        definitions become STV_PROTECTED in .dynsym, only\n"
    "                        where no earlier object defines the name (nor holds\n"
    "                        its address), never TLS, unique or DT_SYMBOLIC\n"
    "                        objects. Such references no longer follow\n"
    "                        LD_PRELOAD: the output is for PROGRAM only\n"
    "  --prefetch            add a startup stub that asks the kernel to read the\n"
    "                        ordered functions' pages and the file pages the\n"
    "                        profiles' page traces hold (data, unwind tables...)\n"
    "                        at once (madvise WILLNEED), run from e_entry\n"
    "                        (executables) or DT_INIT (libraries)\n"
    "                        as a device serves reads: few, large, in file\n"
    "                        order, and only what costs less than the faults it\n"
    "                        replaces (left out, and said, when nothing does)\n"
    "  --prefetch-device D   plan for hdd, emmc, ssd or nvme (default: a plan that\n"
    "                        holds on all four)\n"
    "  --prefetch-iops N --prefetch-bps B\n"
    "                        plan for a device of N reads a second, B bytes a second\n"
    "  --prefetch-gap BYTES  instead: read gaps up to this size between ranges,\n"
    "                        and keep every range\n"
    "  --prefetch-ranges N   then merge the closest until at most N remain (4096)\n"
    "  --keep-layout         with --prefetch: do not reorder, prefetch the pages\n"
    "                        where the ordered functions are now\n"
    "  --pack-relative-relocs  turn .rela.dyn's R_X86_64_RELATIVE entries into\n"
    "                        DT_RELR (glibc 2.36+), as ld -z pack-relative-relocs\n"
    "                        does; adds the version need GLIBC_ABI_DT_RELR\n"
    "Without an order, only the dynamic symbol passes, --scope-order, --bind-self and\n"
    "--pack-relative-relocs run. verify checks the\n"
    ".text rewrite, before the dynamic symbol passes renumber .dynsym.\n"
    "  --check               plan, rewrite in memory and verify; write nothing\n"
    "                        (exit 0 when the rewrite would be sound)\n"
    "  --json                print the report as JSON\n";

// What --pack-relative-relocs did, in bytes the loader reads.
static void printPacked(const PackReport &p, const std::optional<RelocVerifyReport> &verified) {
  std::printf("  relative relocations: %llu of %llu packed into DT_RELR (%llu bytes); .rela.dyn %llu -> %llu "
              "bytes\n",
              (unsigned long long)p.packed, (unsigned long long)p.relativeBefore,
              (unsigned long long)p.relrBytes, (unsigned long long)p.relaBytesBefore,
              (unsigned long long)p.relaBytesAfter);
  std::printf("    encoded for the loader's loop: %llu instructions (%llu bytes); as the linkers encode it: %llu "
              "instructions (%llu bytes)\n",
              (unsigned long long)p.relrLoaderInstructions, (unsigned long long)p.relrBytes,
              (unsigned long long)p.relrLoaderInstructionsAsLinkers, (unsigned long long)p.relrBytesAsLinkers);
  if (uint64_t kept = p.relativeBefore - p.packed)
    std::printf("    kept as RELA: %llu (odd address %llu, not in a writable segment's file bytes %llu, "
                "a word another relocation writes %llu)\n",
                (unsigned long long)kept, (unsigned long long)p.keptUnaligned,
                (unsigned long long)p.keptNotInFile, (unsigned long long)p.keptShared);
  std::printf("    version need GLIBC_ABI_DT_RELR of libc.so.6: %s\n",
              !p.versionNeedAdded ? "present already"
              : p.newSegment      ? "added (version tables copied to a new read-only segment)"
                                  : "added (version tables copied into the freed bytes of .rela.dyn)");
  if (verified) {
    std::printf("  verify (packed relocations): %s: %llu relative words, %llu of them through DT_RELR\n",
                verified->ok() ? "ok" : "FAILED", (unsigned long long)verified->relativeWords,
                (unsigned long long)verified->relrWords);
  }
}

// The functions kept in place, by name: the first few in the text report
// (--json lists every one).
static void printKept(const std::vector<KeptBlock> &kept) {
  constexpr size_t Shown = 10;
  size_t named = 0;
  for (const KeptBlock &k : kept) {
    if (k.name.empty())
      continue;
    if (named++ == Shown) {
      std::printf("    ... (--json lists all %zu)\n", kept.size());
      break;
    }
    std::printf("    kept: %s (%s%s%s)\n", k.name.c_str(), k.reason.c_str(), k.where.empty() ? "" : ", ",
                k.where.c_str());
  }
}

namespace {

// What the prefetch plan reads and leaves out, with the model's figures.
void printPrefetchPlan(const PrefetchPlan &plan) {
  auto kib = [](uint64_t bytes) { return (unsigned long long)(bytes / 1024); };
  if (!plan.ranges.empty())
    std::printf("  prefetch: planned for %s: %zu ranges in %zu reads (madvise calls), %llu KiB (touched pages: "
                "%llu KiB); they replace %llu of the start's %llu modelled faults\n",
                plan.plannedFor.c_str(), plan.extents, plan.ranges.size(), kib(plan.bytes), kib(plan.touchedBytes),
                (unsigned long long)plan.faults, (unsigned long long)plan.totalFaults);
  if (plan.leftOutExtents)
    std::printf("  prefetch: left out %zu ranges, %llu KiB, %llu modelled faults: each would cost more reads or "
                "bytes than the faults it replaces, or save less than its own reads paid up front (the start no "
                "longer overlaps them with its own work) on a device planned for, or as many reads and leave a "
                "page beside it a fault of its own\n",
                plan.leftOutExtents, kib(plan.leftOutBytes), (unsigned long long)plan.leftOutFaults);
  if (plan.ranges.empty() && plan.stubCostsMore)
    std::printf("  prefetch: left out, no stub added: what the ranges of the %llu KiB touched (%llu modelled faults) "
                "save does not pay for the stub's own page fault on every device class (planned for %s)\n",
                kib(plan.touchedBytes), (unsigned long long)plan.totalFaults, plan.plannedFor.c_str());
  else if (plan.ranges.empty())
    std::printf("  prefetch: left out, no stub added: no range of the %llu KiB touched (%llu modelled faults) saves "
                "more than it costs on every device planned for (%s)%s\n",
                kib(plan.touchedBytes), (unsigned long long)plan.totalFaults, plan.plannedFor.c_str(),
                plan.plannedFor.starts_with("every") ? "; --prefetch-device names the one the program starts from" : "");
  std::string figures;
  for (const PrefetchDeviceFigures &f : plan.figures) {
    char one[160];
    std::snprintf(one, sizeof one, "%s%s %.3f s reads / %.3f s faults replaced (start %.3f s, best %.3f s)",
                  figures.empty() ? "" : "; ", f.device.c_str(), f.prefetchSeconds, f.savedSeconds, f.planSeconds,
                  f.bestSeconds);
    figures += one;
  }
  if (!figures.empty())
    std::printf("  prefetch: modelled: %s\n", figures.c_str());
}

// What --bind-self did: references bound, the busiest by name, and why
// the rest of the object's references to itself still look up.
void printSelfBinding(const SelfBindingPlan &plan, const std::optional<SelfBindingVerifyReport> &verified) {
  if (!plan.notApplied.empty()) {
    std::printf("  bind-self: nothing bound: %s\n", plan.notApplied.c_str());
    return;
  }
  std::printf("  bind-self (scope of %s, object %u of %zu): %zu definitions bound to hidden copies, %llu relocations "
              "bound without a lookup; the object's lookups %llu -> %llu (LD_BIND_NOW=1)\n",
              plan.program.c_str(), plan.position.value_or(0) + 1, plan.scope.size(), plan.bound.size(),
              (unsigned long long)plan.relocationsBound, (unsigned long long)plan.lookupsBefore,
              (unsigned long long)plan.lookupsAfter);
  if (plan.relocationsRelative)
    std::printf("    %llu of those relocations made R_X86_64_RELATIVE (load-time, against a plain address: no symbol "
                "left to resolve); the rest name the hidden copies\n",
                (unsigned long long)plan.relocationsRelative);
  if (!plan.unresolved.empty()) {
    std::printf("    %zu weak references that no object of the scope defines bound to 0 without a lookup (%llu "
                "relocations; each a walk of the whole scope before):",
                plan.unresolved.size(), (unsigned long long)plan.relocationsUnresolved);
    for (size_t k = 0; k < plan.unresolved.size() && k < 5; ++k)
      std::printf("%s %s", k ? "," : "", plan.unresolved[k].name.c_str());
    std::printf("%s\n", plan.unresolved.size() > 5 ? ", ..." : "");
  }
  std::vector<SelfBound> busiest = busiestSelfBound(plan, 10);
  if (!busiest.empty()) {
    std::printf("    busiest:");
    for (size_t k = 0; k < busiest.size(); ++k)
      std::printf("%s %s (%llu)", k ? "," : "", busiest[k].name.c_str(), (unsigned long long)busiest[k].relocations);
    std::printf("\n");
  }
  for (const auto &[reason, count] : plan.keptByReason)
    std::printf("    kept symbolic: %llu relocations: %s\n", (unsigned long long)count, reason.c_str());
  std::printf("    no longer follows LD_PRELOAD interposition of those symbols: for this program only\n");
  if (verified) {
    std::printf("  verify (bind-self): %s, %llu bound entries looked up again through the scope's hash tables (%llu "
                "weak references found nowhere)\n",
                verified->ok() ? "ok" : "FAILED", (unsigned long long)verified->marked,
                (unsigned long long)verified->unresolved);
    for (const std::string &problem : verified->problems)
      std::printf("    %s\n", problem.c_str());
  }
}

void printScopeOrder(const ScopeModel &model, const ScopePlan &plan) {
  std::printf("  scope order: %zu objects at startup, %llu lookups (as with LD_BIND_NOW=1); mean walk %.2f -> "
              "%.2f objects per lookup (%llu -> %llu asked, %.3fx)\n",
              model.startup, (unsigned long long)model.lookups, meanWalk(plan.probesBefore, model.lookups),
              meanWalk(plan.probesAfter, model.lookups), (unsigned long long)plan.probesBefore,
              (unsigned long long)plan.probesAfter,
              plan.probesBefore ? double(plan.probesAfter) / double(plan.probesBefore) : 1.0);
  if (model.boundBySelf)
    std::printf("    planned for the lookups --bind-self leaves: %llu more, each an object's own, are bound without "
                "one when every object is rewritten with --bind-self for this program\n",
                (unsigned long long)model.boundBySelf);
  if (plan.changed()) {
    std::string list;
    for (const std::string &n : scopeNames(model, plan.programNeeded))
      list += (list.empty() ? "" : " ") + n;
    std::printf("    DT_NEEDED: %zu entries -> %zu (%zu added in spare .dynamic slots): %s\n",
                plan.originalNeeded.size(), plan.programNeeded.size(), plan.addedEntries, list.c_str());
  } else {
    std::printf("    DT_NEEDED kept as it is: no shorter order was proved\n");
  }
  if (!plan.refused.empty()) {
    std::printf("    kept back (%zu libraries a move would have helped):\n", plan.refused.size());
    size_t shown = 0;
    for (const ScopeRefusal &r : plan.refused) {
      if (shown++ == 12) {
        std::printf("      ... (--json lists all %zu)\n", plan.refused.size());
        break;
      }
      std::printf("      %s: %s\n", scopeName(model, r.object).c_str(),
                  r.reason.c_str());
    }
  }
  ScopeProofCounts counts = scopeProofCounts(model);
  std::printf("    proved unchanged: %llu lookups more than one object could answer (%zu symbol groups), "
              "the order of %llu objects' constructors and destructors (glibc's depth-first _dl_sort_maps; "
              "%llu of them proved to do nothing another object can see, so free to move), "
              "%llu dlsym importers' order, %zu unique symbols' first definers\n",
              (unsigned long long)counts.contestedLookups, model.contests.size(),
              (unsigned long long)counts.withConstructors, (unsigned long long)counts.orderFree,
              (unsigned long long)counts.dlsymImporters,
              model.uniques.size());
  if (model.dlopened.empty())
    std::printf("    outside the proof: libraries the program opens with dlopen (name them with --also LIB); "
                "LD_PRELOAD objects come first either way\n");
  else
    std::printf("    with the lookups of %zu dlopened libraries (--also); any other dlopen is outside the proof\n",
                model.dlopened.size());
}

} // namespace

static void printRewrite(const std::string &input, const std::string &output, const OptimizeResult &result,
                         bool asJson) {
  const RewriteReport &r = result.rewrite;
  const std::optional<VerifyReport> &verified = result.verified;
  const std::optional<DynsortResult> &sorted = result.sorted;
  const std::optional<DynsymVerifyReport> &dynsymVerified = result.dynsymVerified;
  if (asJson) {
    std::printf("%s\n", rewriteResultJson(input, output, result).dump(2, ' ', false, json::error_handler_t::replace).c_str());
    return;
  }
  std::printf("%s -> %s (%s)\n", input.c_str(), output.c_str(), result.orderSource.c_str());
  if (result.rewroteText) {
    std::printf("  .text: %llu bytes at %s; %llu function blocks\n", (unsigned long long)r.textSize,
                hex(r.textStart).c_str(), (unsigned long long)r.functions);
    if (r.discoveredFunctions)
      std::printf("  functions found by following control flow in code no symbol or FDE describes: %llu, %llu bytes\n",
                  (unsigned long long)r.discoveredFunctions, (unsigned long long)r.discoveredBytes);
    if (result.undescribedKept)
      std::printf("  functions found in code no symbol or FDE describes, kept in place as verify's problems named "
                  "them: %llu (the first problem: %s)\n",
                  (unsigned long long)result.undescribedKept, result.undescribedKeptFirstProblem.c_str());
    if (!result.undescribedKeptWhy.empty())
      std::printf("  functions found in code no symbol or FDE describes: kept in place, as verify could not follow "
                  "them: %s\n",
                  result.undescribedKeptWhy.c_str());
    std::printf("  ordered first: %llu functions, %llu bytes\n", (unsigned long long)r.orderedPlaced,
                (unsigned long long)r.orderedFrontBytes);
    // A startup order is worth what of it moves: say which share stayed.
    if (r.orderedPinned)
      std::printf("  ordered but kept in place: %llu functions, %llu bytes (%.1f%% of the ordered bytes)\n",
                  (unsigned long long)r.orderedPinned, (unsigned long long)r.orderedPinnedBytes,
                  100.0 * double(r.orderedPinnedBytes) / double(r.orderedPinnedBytes + r.orderedFrontBytes));
    std::printf("  moved: %llu blocks, %llu bytes\n", (unsigned long long)r.movedBlocks,
                (unsigned long long)r.movedBytes);
    std::printf("  kept in place: %llu blocks, %llu bytes\n", (unsigned long long)r.pinnedBlocks,
                (unsigned long long)r.pinnedBytes);
    for (auto &[why, n] : r.pinnedWhy)
      std::printf("    %6llu  %s\n", (unsigned long long)n, why.c_str());
    printKept(r.kept);
    if (result.roomBytes)
      std::printf("  new segment for the ordered code (%s): %llu bytes; %s\n", RoomSection,
                  (unsigned long long)result.roomBytes, result.roomWhy.c_str());
    if (r.forwardingStubs) {
      std::printf("  forwarding stubs: %llu (%llu bytes) in the old places of %llu moved functions that "
                  "something kept in place may lead into\n",
                  (unsigned long long)r.forwardingStubs, (unsigned long long)r.forwardingStubBytes,
                  (unsigned long long)r.forwardedBlocks);
      for (auto &[why, n] : r.forwardedWhy)
        std::printf("    %6llu  %s\n", (unsigned long long)n, why.c_str());
    }
    if (r.bondedBlocks) {
      std::printf("  moved with a neighbour: %llu blocks\n", (unsigned long long)r.bondedBlocks);
      for (auto &[why, n] : r.bondedWhy)
        std::printf("    %6llu  %s\n", (unsigned long long)n, why.c_str());
    }
    std::printf("  references updated:\n");
    for (auto &[what, n] : r.fieldsUpdated)
      std::printf("    %8llu  %s\n", (unsigned long long)n, what.c_str());
    if (r.strippedDebug)
      std::printf("  debug info dropped (--strip-debug)\n");
  }
  if (verified)
    printVerify(*verified);
  if (sorted) {
    std::printf("  dynsort: %u symbols (%u hashed); .dynstr %llu -> %llu bytes; runs of relocations "
                "against one symbol (one lookup each) %llu -> %llu\n",
                sorted->symbols, sorted->hashed, (unsigned long long)sorted->dynstrBefore,
                (unsigned long long)sorted->dynstrAfter, (unsigned long long)sorted->relocationRunsBefore,
                (unsigned long long)sorted->relocationRunsAfter);
    std::printf("  GNU hash%s: %u buckets, %u bloom words, shift %u, %llu bytes -> %u, %u, %u, %llu "
                "bytes%s\n",
                sorted->builtFromSysv ? " (new; had only SysV .hash; before = ld.bfd's rule)" : "",
                sorted->before.shape.nbuckets, sorted->before.shape.bloomWords,
                sorted->before.shape.bloomShift, (unsigned long long)sorted->before.bytes,
                sorted->after.shape.nbuckets, sorted->after.shape.bloomWords,
                sorted->after.shape.bloomShift, (unsigned long long)sorted->after.bytes,
                sorted->newTable && !sorted->builtFromSysv ? ", in a new segment" : "");
    std::printf("    modelled cache lines per resolved symbol (hit + %.2f x miss): %.3f -> %.3f; the "
                "ratio %s\n",
                sorted->missesPerHit, sorted->before.weighted, sorted->after.weighted,
                sorted->missesPerHitFrom == "option"
                    ? "from --hash-misses-per-hit"
                    : ("from " +
                       (sorted->missesPerHitFrom == "relocations" ? std::string("its own relocations")
                                                                  : sorted->missesPerHitFrom) +
                       " (" + std::to_string(sorted->mix.misses) + " lookups miss in it, " +
                       std::to_string(sorted->mix.hits) + " hit)")
                          .c_str());
    if (sorted->gainTooSmall)
      std::printf("    shape kept: the best within the budget (%u, %u, %u, %llu bytes) models %.3f, "
                  "less than 0.5%% better\n",
                  sorted->best.shape.nbuckets, sorted->best.shape.bloomWords, sorted->best.shape.bloomShift,
                  (unsigned long long)sorted->best.bytes, sorted->best.weighted);
  }
  if (result.hashvalsAdded)
    std::printf("  hashvals: .elfopt.hashvals added (DT 0x6ffffe00): %llu bytes%s; no shipping loader reads it\n",
                (unsigned long long)result.hashvalsBytes,
                result.hashvalsNewSegment ? ", in a new read-only segment (one more PT_LOAD for the loader to map)" : "");
  if (!result.hashvalsLeftOut.empty())
    std::printf("  hashvals: left out: %s\n", result.hashvalsLeftOut.c_str());
  if (result.scopePlan)
    printScopeOrder(*result.scopeModel, *result.scopePlan);
  if (result.selfBinding)
    printSelfBinding(*result.selfBinding, result.selfBindingVerified);
  if (dynsymVerified)
    printDynsymVerify(*dynsymVerified);
  if (const auto &p = result.packed)
    printPacked(*p, result.packVerified);
  if (const auto &p = result.prefetch) {
    if (result.tracedPages.runs == 0)
      std::printf("  prefetch: no page trace in the order's source (record without --no-pages); "
                  "prefetching the ordered functions' pages only\n");
    else
      std::printf("  prefetch: page traces of %zu runs: %llu KiB of file pages outside .text\n",
                  result.tracedPages.runs, (unsigned long long)p->tracedPageBytes / 1024);
    printPrefetchPlan(p->plan);
    if (!p->ranges.empty())
      std::printf("  prefetch: stub of %llu bytes at %s run from %s, then %s\n", (unsigned long long)p->stubSize,
                  hex(p->stubAddress).c_str(), p->runsFrom.c_str(),
                  p->continuesTo ? ("jumps to " + hex(*p->continuesTo)).c_str() : "returns");
    for (const AddressRange &r : p->ranges)
      std::printf("    %s .. %s (%llu KiB)\n", hex(r.address).c_str(), hex(r.end()).c_str(),
                  (unsigned long long)r.size / 1024);
    if (const auto &v = result.prefetchVerified) {
      std::printf("  verify (prefetch stub): %s\n", v->ok() ? "ok" : "FAILED");
      for (const std::string &problem : v->problems)
        std::printf("    %s\n", problem.c_str());
    }
  }
}

int runRewrite(const std::vector<std::string> &args) {
  po::options_description opts;
  opts.add_options()("input", po::value<std::string>())("output,o", po::value<std::string>())(
      "in-place", po::bool_switch())("profile", po::value<std::vector<std::string>>())(
      "order", po::value<std::string>())("symbol-list", po::value<std::string>())(
      "random-order", po::value<uint64_t>())("object", po::value<std::string>())(
      "allow-mismatch", po::bool_switch())("min-match-rate", po::value<double>())(
      "strip-debug", po::bool_switch())("no-forwarding-stubs", po::bool_switch())("new-segment", po::bool_switch())("no-new-segment", po::bool_switch())("no-verify", po::bool_switch())("json", po::bool_switch())(
      "dynsort", po::bool_switch())("gnu-hash", po::value<std::string>())("hashvals", po::bool_switch())(
      "check", po::bool_switch())("prefetch", po::bool_switch())("prefetch-gap", po::value<uint64_t>())(
      "prefetch-ranges", po::value<size_t>())("prefetch-device", po::value<std::string>())(
      "prefetch-iops", po::value<double>())("prefetch-bps", po::value<double>())("keep-layout", po::bool_switch())(
      "scope-order", po::bool_switch())("pack-relative-relocs", po::bool_switch())("also", po::value<std::vector<std::string>>())(
      "bind-self", po::value<std::string>());
  addHashModelOptions(opts);
  po::positional_options_description pos;
  pos.add("input", 1);
  auto vm = parse("rewrite", args, opts, pos);
  bool doDynsort = vm["dynsort"].as<bool>(), doHashvals = vm["hashvals"].as<bool>();
  // Keep the table's shape unless asked: reshaping by the per-lookup model
  // measured slower than keeping it (docs/gnu-hash.md). Giving one of the
  // model's options asks for it.
  bool modelOptions = vm.count("hash-misses-per-hit") || vm.count("hash-budget") || vm.count("hash-lookups-for");
  std::string gnuHash = vm.count("gnu-hash") ? vm["gnu-hash"].as<std::string>() : modelOptions ? "optimize" : "keep";
  if (gnuHash != "optimize" && gnuHash != "keep")
    throw UsageError{"rewrite", "--gnu-hash must be optimize or keep"};
  if ((vm.count("gnu-hash") || vm.count("hash-misses-per-hit") || vm.count("hash-budget") ||
       vm.count("hash-lookups-for")) &&
      !doDynsort)
    throw UsageError{"rewrite", "--gnu-hash rebuilds the table --dynsort sorts; give --dynsort"};
  if (!vm.count("input"))
    throw UsageError{"rewrite", "give the input binary"};
  std::string input = vm["input"].as<std::string>();
  bool inPlace = vm["in-place"].as<bool>();
  bool checkOnly = vm["check"].as<bool>();
  if (checkOnly && (inPlace || vm.count("output")))
    throw UsageError{"rewrite", "--check writes nothing: give no -o or --in-place"};
  if (!checkOnly && inPlace == bool(vm.count("output")))
    throw UsageError{"rewrite", "give either -o OUTPUT or --in-place"};
  std::string output = checkOnly ? "(not written: --check)" : inPlace ? input : vm["output"].as<std::string>();
  if (!inPlace && !checkOnly && isSameFile(input, output))
    throw UsageError{"rewrite", "the output is the input; use --in-place to rewrite it"};
  int sources = int(vm.count("profile") > 0) + int(vm.count("order")) +
                int(vm.count("symbol-list")) + int(vm.count("random-order"));
  bool scopeOrder = vm["scope-order"].as<bool>();
  if (vm.count("also") && !scopeOrder)
    throw UsageError{"rewrite", "--also names libraries for --scope-order's proof; give --scope-order"};
  bool pack = vm["pack-relative-relocs"].as<bool>();
  bool bindSelf = vm.count("bind-self") > 0;
  if (sources > 1 || (sources == 0 && !doDynsort && !doHashvals && !scopeOrder && !pack && !bindSelf))
    throw UsageError{"rewrite", "give one of --profile, --order, --symbol-list, --random-order "
                                "(or only --dynsort / --hashvals / --scope-order / --bind-self / "
                                "--pack-relative-relocs)"};

  bool prefetch = vm["prefetch"].as<bool>();
  bool prefetchDevice = vm.count("prefetch-device") || vm.count("prefetch-iops") || vm.count("prefetch-bps");
  if ((vm.count("prefetch-gap") || vm.count("prefetch-ranges") || prefetchDevice || vm["keep-layout"].as<bool>()) &&
      !prefetch)
    throw UsageError{"rewrite", "--prefetch-gap, --prefetch-ranges, --prefetch-device and --keep-layout go with --prefetch"};
  if (prefetch && sources == 0)
    throw UsageError{"rewrite", "--prefetch needs an order: --profile, --order, --symbol-list or --random-order"};

  OptimizeOptions options;
  if (prefetch) {
    options.prefetch = PrefetchOptions{};
    if (vm.count("prefetch-gap"))
      options.prefetch->maxGap = vm["prefetch-gap"].as<uint64_t>();
    if (vm.count("prefetch-device")) {
      std::string name = vm["prefetch-device"].as<std::string>();
      auto device = prefetchDeviceClass(name);
      if (!device)
        throw UsageError{"rewrite", "--prefetch-device is hdd, emmc, ssd or nvme, not '" + name + "'"};
      options.prefetch->devices = {*device};
    }
    if (vm.count("prefetch-iops") || vm.count("prefetch-bps")) {
      if (!vm.count("prefetch-iops") || !vm.count("prefetch-bps") || vm.count("prefetch-device") ||
          vm["prefetch-iops"].as<double>() <= 0 || vm["prefetch-bps"].as<double>() <= 0)
        throw UsageError{"rewrite", "--prefetch-iops and --prefetch-bps go together, positive, without --prefetch-device"};
      options.prefetch->devices = {
          PrefetchDevice{"custom", vm["prefetch-iops"].as<double>(), vm["prefetch-bps"].as<double>()}};
    }
    if (vm.count("prefetch-ranges")) {
      options.prefetch->maxRanges = vm["prefetch-ranges"].as<size_t>();
      if (options.prefetch->maxRanges == 0)
        throw UsageError{"rewrite", "--prefetch-ranges must be at least 1"};
    }
    options.keepLayout = vm["keep-layout"].as<bool>();
  }
  options.stripDebug = vm["strip-debug"].as<bool>();
  options.verify = !vm["no-verify"].as<bool>();
  options.forwardingStubs = !vm["no-forwarding-stubs"].as<bool>();
  if (vm["new-segment"].as<bool>() && vm["no-new-segment"].as<bool>())
    throw UsageError{"rewrite", "--new-segment and --no-new-segment exclude each other"};
  if (vm["new-segment"].as<bool>())
    options.placement = OptimizeOptions::Placement::NewSegment;
  if (vm["no-new-segment"].as<bool>())
    options.placement = OptimizeOptions::Placement::InPlace;
  options.hashvals = doHashvals;
  options.packRelativeRelocs = pack;
  if (scopeOrder) {
    options.scopeOrder = ScopeModelOptions{};
    if (vm.count("also"))
      options.scopeOrder->also = vm["also"].as<std::vector<std::string>>();
  }
  if (bindSelf)
    options.bindSelf = SelfBindingOptions{vm["bind-self"].as<std::string>()};
  // The program bound for itself is bound with its libraries: the order is
  // planned for the lookups that are left.
  if (scopeOrder && bindSelf)
    options.scopeOrder->selfBound = true;
  OrderRequest &order = options.order;
  if (vm.count("profile")) {
    order.source = OrderRequest::Profiles;
    order.paths = vm["profile"].as<std::vector<std::string>>();
    order.match = profileMatch(vm);
  } else if (vm.count("order")) {
    order.source = OrderRequest::OrderFile;
    order.paths = {vm["order"].as<std::string>()};
  } else if (vm.count("symbol-list")) {
    order.source = OrderRequest::SymbolList;
    order.paths = {vm["symbol-list"].as<std::string>()};
  } else if (vm.count("random-order")) {
    order.source = OrderRequest::Random;
    order.seed = vm["random-order"].as<uint64_t>();
  }
  auto file = ElfFile::open(input);
  // A static file has no dynamic symbols: the pipeline says so and skips them.
  if (doDynsort)
    options.dynsort = file->findSectionOfType(llvm::ELF::SHT_DYNSYM)
                          ? dynsortOptions("rewrite", vm, gnuHash == "keep", *file)
                          : DynsortOptions{};
  // Quiet by default; on a terminal, one line that says what is going on.
  ProgressLine progress(!vm["json"].as<bool>());
  options.progress = progress.callback();
  OptimizeResult result = optimize(*file, options);
  progress.clear();
  if (!checkOnly)
    writeOutput(input, output, result.bytes);
  printRewrite(input, output, result, vm["json"].as<bool>());
  return ExitOk;
}

} // namespace elfopt
