//===- Optimize.cpp - the whole rewrite as one library call ---------------===//
#include "elfopt/Pipeline/Optimize.h"

#include "DynsymStage.h"
#include "Narrowing.h"
#include "elfopt/Edit/ElfEditor.h"
#include "elfopt/Elf/EhFrame.h"
#include "elfopt/Elf/Functions.h"
#include "elfopt/Order/Order.h"
#include "elfopt/Support/Diagnostics.h"
#include "elfopt/Support/OutputFile.h"
#include "elfopt/Target/X86_64.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <set>
#include <sys/stat.h>
#include <type_traits>
#include <unordered_map>

namespace elfopt {

std::vector<uint64_t> resolveOrder(const ElfFile &in, const OrderRequest &request, std::string &description,
                                   TracedPages *pages, const FunctionFinder &finder) {
  std::vector<uint64_t> order;
  switch (request.source) {
  case OrderRequest::None:
    description = "no reordering";
    break;
  case OrderRequest::Profiles: {
    // As `order --binary INPUT`: the profiles must be of this file.
    ProfileMatch match = request.match;
    if (finder)
      match.finder = finder;
    OrderInputs inputs = loadOrderInputs(request.paths, match, &in);
    for (uint32_t f : orderMarkov(inputs.set, inputs.set.runs, {}))
      order.push_back(inputs.set.functions[f].address);
    description = "markov order of " + std::to_string(inputs.set.runs.size()) + " runs";
    if (pages && !request.match.allowMismatch) {
      std::vector<std::vector<PageTouch>> traced;
      for (const Profile &p : inputs.profiles)
        for (const Run &run : p.runs)
          if (const ObjectRun *o = tracedObjectRun(p, run, request.match.object)) {
            ++pages->runs;
            traced.push_back(o->pages);
          }
      PagesAroundCode split = splitPagesAtCode(traced, [&](const std::string &name) {
        const Section *s = in.findSection(name);
        return s && s->isExecutable();
      });
      pages->offsets = std::move(split.after);
      pages->loaderOffsets = std::move(split.before);
    }
    break;
  }
  case OrderRequest::OrderFile:
    order = orderAddresses(readOrderFile(request.paths.at(0)), readFunctions(in, finder));
    description = "order file";
    break;
  case OrderRequest::SymbolList:
    order = symbolListAddresses(readSymbolList(request.paths.at(0)), readFunctions(in, finder));
    description = "symbol list";
    break;
  case OrderRequest::Random: {
    for (const Function &f : readFunctions(in, finder).functions)
      order.push_back(f.address);
    std::mt19937_64 rng(request.seed);
    for (size_t i = order.size(); i > 1; --i)
      std::swap(order[i - 1], order[rng() % i]);
    description = "random order";
    break;
  }
  }
  return order;
}

PagesAroundCode splitPagesAtCode(const std::vector<std::vector<PageTouch>> &runs,
                                 const std::function<bool(const std::string &)> &isCode) {
  std::set<uint64_t> before, after;
  for (const std::vector<PageTouch> &run : runs) {
    auto code = std::ranges::find_if(run, [&](const PageTouch &t) { return isCode(t.section); });
    if (code == run.end())
      code = run.begin();
    for (auto t = run.begin(); t != run.end(); ++t)
      (t < code ? before : after).insert(t->offset);
  }
  PagesAroundCode out;
  out.before.assign(before.begin(), before.end());
  std::ranges::set_difference(after, before, std::back_inserter(out.after));
  return out;
}

void failVerification(const std::string &input, const std::string &what, const std::vector<std::string> &problems) {
  std::string message = input + ": " + what + " failed verification; nothing was written (please report this "
                                              "with the input)";
  for (const std::string &p : problems)
    message += "\n  " + p;
  fatal(message, ExitInternal);
}

namespace {

/// Runs \p pass and records its wall time under \p name.
template <typename Pass> auto timed(OptimizeResult &result, const char *name, Pass &&pass) {
  auto start = std::chrono::steady_clock::now();
  auto record = [&] {
    result.passSeconds.push_back(
        {name, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()});
  };
  if constexpr (std::is_void_v<decltype(pass())>) {
    pass();
    record();
  } else {
    auto value = pass();
    record();
    return value;
  }
}

// Whether static relocations describe .text (`-q`): then every function
// moves within .text, and no room is needed.
bool hasTextRelocations(const ElfFile &in) {
  const Section *text = in.findSection(".text");
  return text && std::ranges::any_of(in.sections(), [&](const Section &s) {
           return s.type() == llvm::ELF::SHT_RELA && !s.isAlloc() && s.header.sh_info == text->index;
         });
}

// Allocated sections of \p input that an edit put elsewhere: \p addressOf
// says where a section (by index) is now.
std::vector<MovedRange> movedSections(const ElfFile &input, const std::function<uint64_t(unsigned)> &addressOf) {
  std::vector<MovedRange> out;
  for (const Section &s : input.sections())
    if (s.index && s.isAlloc() && s.size() && addressOf(s.index) != s.addr())
      out.push_back({s.addr(), s.size(), addressOf(s.index)});
  return out;
}

} // namespace

std::vector<uint8_t> withRoomForOrderedCode(const ElfFile &in, uint64_t size, bool verify) {
  ElfEditor editor(in);
  NewSection room;
  room.name = RoomSection;
  room.flags = llvm::ELF::SHF_ALLOC | llvm::ELF::SHF_EXECINSTR;
  room.align = 64;
  room.data.assign(size, x86_64::BreakpointByte);
  editor.addSection(std::move(room));
  std::vector<uint8_t> bytes = editor.serialize();
  if (verify) {
    auto out = ElfFile::viewOf(in.name() + " (with room, in memory)", bytes);
    std::vector<std::string> problems = verifyAddedRoom(in, *out, RoomSection);
    if (!problems.empty())
      failVerification(in.name(), "the room for the ordered code", problems);
  }
  return bytes;
}

namespace {

/// How many times a rewrite is tried again with the found functions that
/// verify's problems name kept in place, before all of them are. Each try
/// is a whole rewrite and verify (Chromium: 2.5 minutes), and each must
/// leave fewer problems than the one before. It is for a few stragglers:
/// where a try names more functions than MaxNamed, all of them stay at
/// once (Chromium's first try named 1,014, and it took five tries more to
/// get down to 3: 16 minutes).
constexpr int MaxNarrowings = 4;
constexpr size_t MaxNamed = 256;

// The .text rewrite of \p order, checked by verify before anything else
// sees it. Returns where each moved function went.
AddressMap rewriteAndVerify(const ElfFile &original, const OptimizeOptions &options, std::vector<uint64_t> order,
                            const std::optional<std::vector<std::pair<uint64_t, uint64_t>>> &undescribed,
                            OptimizeResult &result) {
  RewriteOptions rewrite;
  rewrite.order = std::move(order);
  rewrite.undescribedFunctions = undescribed;
  rewrite.stripDebug = options.stripDebug;
  rewrite.forwardingStubs = options.forwardingStubs;
  rewrite.progress = options.progress;
  result.orderedFunctions = rewrite.order.size();
  // Where the ordered code needs room outside .text, the rewrite asks for
  // it (RewriteOptions::makeRoom) and starts from the original with room
  // added (checked here); verify then compares the output with that.
  using Placement = OptimizeOptions::Placement;
  std::unique_ptr<ElfFile> roomy;
  bool hasRoom = original.findSection(RoomSection), textRelocations = hasTextRelocations(original);
  if (options.placement == Placement::NewSegment && !rewrite.order.empty()) {
    if (hasRoom)
      fatal(original.name() + ": already has " + RoomSection + " (elfopt rewrote it into a new segment); "
                              "rewrite its original instead");
    if (textRelocations)
      warn(original.name() + ": static relocations describe .text: every function moves within it; "
                             "--new-segment adds nothing");
    rewrite.roomWhen = RewriteOptions::RoomWhen::Always;
  }
  if (options.placement != Placement::InPlace && !rewrite.order.empty() && !hasRoom && !textRelocations)
    rewrite.makeRoom = [&](uint64_t size, const std::string &why) {
      roomy = ElfFile::fromBytes(original.name(), withRoomForOrderedCode(original, size, options.verify));
      result.roomBytes = size;
      result.roomWhy = why;
      return roomy.get();
    };
  bool withoutFound = false; // the last attempt: found functions kept in place
  int narrowings = 0;
  size_t lastProblems = SIZE_MAX; // named code of the try before
  for (;;) {
    roomy.reset(); // an attempt before may have made room that this one does not ask for
    result.roomBytes = 0;
    result.roomWhy.clear();
    result.roomMovedSections.clear();
    RewriteResult rewritten = timed(result, "rewrite .text", [&] { return rewriteText(original, rewrite); });
    const ElfFile &in = roomy ? *roomy : original;
    // The room's program header moved the sections after the table (in
    // libxul its notes); the file with room keeps every index and adds one.
    if (roomy)
      result.roomMovedSections = movedSections(original, [&](unsigned i) { return roomy->sections()[i].addr(); });
    result.bytes = std::move(rewritten.bytes);
    result.rewrite = std::move(rewritten.report);
    result.rewroteText = true;
    if (!options.verify)
      return std::move(rewritten.map);
    if (options.progress)
      options.progress("verifying");
    timed(result, "verify .text", [&] {
      auto out = ElfFile::viewOf(in.name() + " (rewritten, in memory)", result.bytes);
      result.verified = verifyRewrite(in, *out);
    });
    if (result.verified->ok())
      return std::move(rewritten.map);
    // Functions found by following control flow are the newest and least
    // proven part of the rewrite: where verify cannot follow them, they
    // stay in place and the file is rewritten without them, not refused.
    if (result.rewrite.discoveredFunctions && !withoutFound) {
      // First those that verify's problems name, a few times; each attempt
      // is verified as a whole again.
      std::vector<std::pair<uint64_t, uint64_t>> keep;
      std::vector<std::pair<uint64_t, uint64_t>> rest =
          splitNamedFunctions(rewritten.foundFunctions, rewritten.map, result.verified->problemCode, keep);
      size_t problems = result.verified->problemCode.size();
      if (std::getenv("ELFOPT_DEBUG_NARROWING")) // each try, on stderr
        std::fprintf(stderr, "narrowing %d: %zu named code addresses, %zu found functions named\n", narrowings,
                     problems, keep.size());
      if (!keep.empty() && keep.size() <= MaxNamed && narrowings < MaxNarrowings && problems < lastProblems) {
        ++narrowings;
        lastProblems = problems;
        result.undescribedKept += keep.size();
        if (result.undescribedKeptFirstProblem.empty())
          result.undescribedKeptFirstProblem = result.verified->problems.front();
        rewrite.undescribedFunctions = std::move(rest);
        continue;
      }
      result.undescribedKeptWhy = result.verified->problems.front();
      warn(original.name() + ": verify could not follow the functions found in code no symbol or FDE describes (" +
           std::to_string(result.verified->problems.size()) + " problems; the first: " + result.undescribedKeptWhy +
           "); they stay in place");
      rewrite.undescribedFunctions.emplace();
      withoutFound = true;
      continue;
    }
    failVerification(in.name(), "the rewritten file", result.verified->problems);
  }
}

// The spare .dynamic slots --scope-order may give new DT_NEEDED entries:
// the prefetch stub may need one for DT_INIT.
unsigned scopeOrderSlots(const ElfEditor &editor, const OptimizeOptions &options) {
  unsigned spare = editor.spareDynamicSlots();
  return options.prefetch && spare > 0 ? spare - 1 : spare;
}

// dynsort and hashvals on what the .text rewrite produced; they renumber
// .dynsym, so they come after its verification.
void dynamicSymbolPasses(const ElfFile &in, const OptimizeOptions &options, OptimizeResult &result) {
  auto current = ElfFile::fromBytes(in.name(), result.bytes);
  if (!current->findSectionOfType(llvm::ELF::SHT_DYNSYM)) {
    warn(in.name() + ": no dynamic symbols (statically linked): --dynsort and --hashvals have nothing to do");
    return;
  }
  ElfEditor editor(*current);
  bool hashvals = options.hashvals;
  // No shipping loader reads the precomputed hashes, while a DT_NEEDED
  // entry that --scope-order adds saves lookups: the spare .dynamic slots
  // go to the scope order first.
  if (hashvals && options.scopeOrder && current->findSegment(llvm::ELF::PT_INTERP)) {
    unsigned spare = scopeOrderSlots(editor, options);
    result.scopeModel = buildScopeModel(in.name(), *options.scopeOrder);
    if (spare > 0 && planScopeOrder(*result.scopeModel, spare).addedEntries >= spare) {
      hashvals = false;
      result.hashvalsLeftOut = "the spare .dynamic slots (" + std::to_string(spare) +
                               ") go to --scope-order's new DT_NEEDED entries; no shipping loader reads the hashes";
    }
  }
  DynsymPasses passes = runDynsymPasses(editor, options.dynsort, hashvals);
  result.sorted = passes.sorted;
  result.hashvalsAdded = passes.hashvals.has_value();
  if (passes.hashvals) {
    result.hashvalsBytes = editor.sectionSize(*passes.hashvals);
    result.hashvalsNewSegment = editor.layout().addedSegment;
  }
  result.bytes = editor.serialize();
  if (options.verify)
    result.dynsymVerified = verifyDynsymPasses(*current, result.bytes, in.name(), in.name() + " (rewritten, in memory)");
}

// The program's DT_NEEDED list in the order planScopeOrder proves, checked
// again from the output by verifyScopeOrder.
void scopeOrderPass(const ElfFile &in, const OptimizeOptions &options, OptimizeResult &result) {
  auto current = ElfFile::fromBytes(in.name(), result.bytes);
  if (!current->findSegment(llvm::ELF::PT_DYNAMIC))
    fatal(in.name() + ": statically linked: no DT_NEEDED list, no scope to order (--scope-order)");
  if (!current->findSegment(llvm::ELF::PT_INTERP))
    fatal(in.name() + ": not a program (no PT_INTERP): the global scope is the program's; give --scope-order "
                      "the program that loads this library");
  if (!result.scopeModel) // built already when --hashvals asked for a slot
    result.scopeModel = buildScopeModel(in.name(), *options.scopeOrder);
  const ScopeModel &model = *result.scopeModel;
  ElfEditor editor(*current);
  result.scopePlan = planScopeOrder(model, scopeOrderSlots(editor, options));
  const ScopePlan &plan = *result.scopePlan;
  if (!plan.changed())
    return;
  std::optional<unsigned> copy = applyScopeOrder(editor, model, plan);
  editor.layout();
  finishScopeOrder(editor, copy);
  result.bytes = editor.serialize();
  if (!options.verify)
    return;
  auto out = ElfFile::viewOf(in.name() + " (rewritten, in memory)", result.bytes);
  ScopeVerifyReport verified = verifyScopeOrder(*current, *out, in.name());
  if (!verified.ok())
    failVerification(in.name(), "the scope order", verified.problems);
}

// Definitions the object answers its own lookups with, marked protected
// (SelfBinding.h), checked again by verifySelfBinding's own lookups.
void bindSelfPass(const ElfFile &in, const OptimizeOptions &options, OptimizeResult &result) {
  auto current = ElfFile::fromBytes(in.name(), result.bytes);
  if (!current->findSectionOfType(llvm::ELF::SHT_DYNSYM))
    fatal(in.name() + ": no dynamic symbols (statically linked): nothing to bind (--bind-self)");
  result.selfBinding = planSelfBinding(*current, *options.bindSelf);
  SelfBindingPlan &plan = *result.selfBinding;
  if (plan.bound.empty() && plan.unresolved.empty())
    return;
  ElfEditor editor(*current);
  AppliedSelfBinding applied = applySelfBinding(editor, plan);
  editor.layout();
  finishSelfBinding(editor, applied);
  result.bytes = editor.serialize();
  if (!options.verify)
    return;
  auto out = ElfFile::viewOf(in.name() + " (self-bound, in memory)", result.bytes);
  result.selfBindingVerified = verifySelfBinding(*current, *out, options.bindSelf->program);
  if (!result.selfBindingVerified->ok())
    failVerification(in.name(), "the self-bound references", result.selfBindingVerified->problems);
}

// The ordered functions' pages in the output's layout (\p moved: where the
// rewrite put them; null: where they are).
std::vector<AddressRange> orderedPages(const ElfFile &in, const std::vector<uint64_t> &order, const AddressMap *moved,
                                       const FunctionFinder &finder) {
  std::unordered_map<uint64_t, uint64_t> sizeAt;
  for (const Function &f : readFunctions(in, finder).functions)
    sizeAt.emplace(f.address, f.size);
  std::vector<AddressRange> touched;
  for (uint64_t a : order) {
    auto it = sizeAt.find(a);
    if (it != sizeAt.end() && it->second)
      touched.push_back({moved ? moved->map(a) : a, it->second});
  }
  return touched;
}

// Linux's default fault_around_bytes.
constexpr uint64_t FaultAroundBytes = 64 * 1024;

} // namespace

// The traced file pages as addresses of \p in, where a madvise reaches them:
// the first PT_LOAD that maps each page, widened to its fault-around window.
// Pages of .text are left out: the ordered functions stand for them, page
// by page (a fault's window would read code nobody ran), and after a
// rewrite the traced offsets hold other code.
std::vector<AddressRange> tracedPageRanges(const ElfFile &in, const std::vector<uint64_t> &offsets) {
  std::vector<std::pair<uint64_t, uint64_t>> movedCode; // file ranges
  if (const Section *text = in.findSection(".text"))
    movedCode.emplace_back(text->offset(), text->offset() + text->size());
  std::vector<AddressRange> ranges;
  for (uint64_t offset : offsets) {
    bool inMovedCode = std::ranges::any_of(movedCode, [&](auto &r) { return offset < r.second && offset + 4096 > r.first; });
    if (inMovedCode)
      continue;
    for (const Phdr &p : in.segments()) {
      if (p.p_type != llvm::ELF::PT_LOAD || p.p_filesz == 0)
        continue;
      // A segment maps whole pages: from its offset rounded down.
      uint64_t start = p.p_offset & ~uint64_t(4095), end = p.p_offset + p.p_filesz;
      if (offset >= start && offset < end) {
        // A traced fault stands for its fault-around window: the kernel
        // mapped the window's cached pages with it, so the trace cannot
        // see which of them the program went on to read.
        uint64_t segmentStart = p.p_vaddr & ~uint64_t(4095);
        uint64_t segmentEnd = segmentStart + ((end - start + 4095) & ~uint64_t(4095));
        uint64_t address = segmentStart + (offset - start);
        uint64_t windowStart = std::max(segmentStart, address & ~(FaultAroundBytes - 1));
        uint64_t windowEnd = std::min(segmentEnd, (address | (FaultAroundBytes - 1)) + 1);
        ranges.push_back({windowStart, windowEnd - windowStart});
        break;
      }
    }
  }
  return ranges;
}

namespace {

// The addresses the output loads, whole pages, joined where they touch:
// \p input's PT_LOADs and the segments \p layout adds.
std::vector<AddressRange> loadedPages(const ElfFile &input, const LayoutSummary &layout) {
  std::vector<AddressRange> spans;
  auto add = [&](uint64_t address, uint64_t size) {
    if (size)
      spans.push_back({address & ~uint64_t(4095), ((address + size + 4095) & ~uint64_t(4095)) - (address & ~uint64_t(4095))});
  };
  for (const Phdr &p : input.segments())
    if (p.p_type == llvm::ELF::PT_LOAD)
      add(p.p_vaddr, p.p_memsz);
  for (const AddedSegment &s : layout.segments)
    add(s.address, s.size);
  std::ranges::sort(spans, {}, &AddressRange::address);
  std::vector<AddressRange> out;
  for (const AddressRange &r : spans) {
    if (!out.empty() && r.address <= out.back().end())
      out.back().size = std::max(out.back().end(), r.end()) - out.back().address;
    else
      out.push_back(r);
  }
  return out;
}

// The prefetch stub, last, on the finished file: every earlier check saw
// the file without it, and this one compares the two.
void prefetchPass(const ElfFile &in, const OptimizeOptions &options, std::vector<AddressRange> touched,
                  std::vector<AddressRange> cached, OptimizeResult &result) {
  if (options.progress)
    options.progress("adding the prefetch stub");
  auto current = ElfFile::fromBytes(in.name(), result.bytes);
  // The stub's segment needs a program header, and the editor may move the
  // sections after the table out of its way (the dynamic symbol table of
  // libLLVM, 1.2 MiB), zeroing their old place: the traced pages there are
  // read where those sections went, not the zeros left behind. Which
  // sections move does not depend on the stub's size: a trial layout says.
  std::vector<MovedRange> moved;
  PrefetchOptions planOptions = *options.prefetch;
  {
    ElfEditor trial(*current);
    // A library that would need a DT_INIT and has no slot for one: no
    // layout to try (planPrefetchStub refuses it if the plan keeps a range).
    bool fromInit = current->kind() == BinaryKind::SharedLibrary || current->dynamicValue(llvm::ELF::DT_SONAME);
    if (fromInit && !current->dynamicValue(llvm::ELF::DT_INIT) && trial.spareDynamicSlots() == 0) {
      planOptions.mapped = loadedPages(*current, LayoutSummary{});
    } else {
      planPrefetchStub(trial, std::vector<AddressRange>(1));
      const LayoutSummary &layout = trial.layout();
      moved = movedSections(*current, [&](unsigned i) { return trial.sectionAddress(i); });
      planOptions.mapped = loadedPages(*current, layout);
    }
  }
  touched = followMovedRanges(std::move(touched), moved);
  // What ld.so's faults read before the stub runs is cached by then.
  touched = subtractRanges(std::move(touched), followMovedRanges(std::move(cached), moved));
  PrefetchPlan prefetchPlan = planPrefetch(std::move(touched), planOptions);
  if (prefetchPlan.ranges.empty()) {
    // The plan left it out: no stub, and the report says why.
    result.prefetch = PrefetchReport{};
    result.prefetch->touchedBytes = prefetchPlan.touchedBytes;
    result.prefetch->plan = std::move(prefetchPlan);
    return;
  }
  ElfEditor editor(*current);
  PlannedPrefetch plan = planPrefetchStub(editor, prefetchPlan.ranges);
  editor.layout();
  if (movedSections(*current, [&](unsigned i) { return editor.sectionAddress(i); }) != moved)
    fatal(in.name() + ": prefetch stub: the sections moved for it moved elsewhere than planned", ExitInternal);
  result.prefetch = finishPrefetchStub(editor, plan);
  result.prefetch->touchedBytes = prefetchPlan.touchedBytes;
  result.prefetch->plan = std::move(prefetchPlan);
  result.bytes = editor.serialize();
  if (!options.verify)
    return;
  auto out = ElfFile::viewOf(in.name() + " (with the prefetch stub, in memory)", result.bytes);
  result.prefetchVerified = verifyPrefetchStub(*current, *out);
  if (!result.prefetchVerified->ok())
    failVerification(in.name(), "the prefetch stub", result.prefetchVerified->problems);
}

// Last, so that it packs the relocations every earlier pass left: the
// .text rewrite changes addends, and the others none.
void packPass(const ElfFile &in, const OptimizeOptions &options, OptimizeResult &result) {
  auto current = ElfFile::fromBytes(in.name(), result.bytes);
  ElfEditor editor(*current);
  PlannedPack plan = planPack(editor);
  editor.layout();
  finishPack(editor, plan);
  result.packed = plan.report;
  result.bytes = editor.serialize();
  if (!options.verify)
    return;
  auto out = ElfFile::viewOf(in.name() + " (relocations packed, in memory)", result.bytes);
  result.packVerified = verifyPackedRelocations(*current, *out);
  if (!result.packVerified->ok())
    failVerification(in.name(), "the packed relocations", result.packVerified->problems);
}

} // namespace

OptimizeResult optimize(const ElfFile &in, const OptimizeOptions &options) {
  // Before any work: a second stub would run the first one's ranges again.
  if (options.prefetch && hasPrefetchStub(in))
    fatal(in.name() + ": already has a prefetch stub (" + PrefetchSectionName +
          "); rewrite the file without --prefetch, or its original with it");
  if (options.packRelativeRelocs)
    if (auto why = packRefusal(in))
      fatal(in.name() + ": cannot pack relative relocations: " + *why);
  OptimizeResult result;
  result.orderSource = "no reordering";
  std::vector<uint64_t> order;
  std::optional<AddressMap> moved;
  // The functions found in code nothing describes: found once (it decodes
  // .text), for the order's names, the rewrite and the prefetch.
  std::optional<std::vector<std::pair<uint64_t, uint64_t>>> undescribed;
  FunctionFinder finder = [&](const ElfFile &file) {
    if (!undescribed)
      undescribed = findUndescribedFunctions(file);
    return *undescribed;
  };
  if (options.order.source != OrderRequest::None) {
    // The rewrite needs .eh_frame whole; order sources only warn about it
    // (they can do without). One clear error first, not a warning then it.
    if (!options.keepLayout)
      readEhFrame(in);
    order = timed(result, "order", [&] {
      return resolveOrder(in, options.order, result.orderSource, options.prefetch ? &result.tracedPages : nullptr,
                          finder);
    });
    result.orderedFunctions = order.size();
    // Reorder .text (and verify it).
    if (!options.keepLayout)
      moved = rewriteAndVerify(in, options, order, undescribed, result);
  }
  // Nothing rewritten: the later passes start from the input's bytes (a
  // copy only now, not beside the rewrite's own: libLLVM is 120 MB).
  if (!result.rewroteText) {
    auto bytes = in.bytes();
    result.bytes.assign(bytes.begin(), bytes.end());
  }
  // Then the dynamic symbol passes, on the result.
  if (options.dynsort || options.hashvals)
    timed(result, "dynamic symbols", [&] { dynamicSymbolPasses(in, options, result); });
  if (options.scopeOrder)
    timed(result, "scope order", [&] { scopeOrderPass(in, options, result); });
  if (options.bindSelf)
    timed(result, "bind self", [&] { bindSelfPass(in, options, result); });
  if (options.prefetch) {
    std::vector<AddressRange> touched = orderedPages(in, order, moved ? &*moved : nullptr, finder);
    std::vector<AddressRange> traced = tracedPageRanges(in, result.tracedPages.offsets);
    std::vector<AddressRange> cached = tracedPageRanges(in, result.tracedPages.loaderOffsets);
    if (!result.roomMovedSections.empty()) {
      // The trace saw the sections the room moved at their old addresses.
      traced = followMovedRanges(std::move(traced), result.roomMovedSections);
      cached = followMovedRanges(std::move(cached), result.roomMovedSections);
    }
    touched.insert(touched.end(), traced.begin(), traced.end());
    uint64_t tracedBytes = 0;
    PrefetchOptions joinOnly;
    joinOnly.maxGap = 0;
    joinOnly.maxRanges = 0;
    for (const AddressRange &r : mergePrefetchRanges(traced, joinOnly))
      tracedBytes += r.size;
    // ld.so's faults before the stub runs, each read around its page: the
    // fault-around window of each, widened by half a readahead window.
    uint64_t around = options.prefetch->readaheadBytes / 2;
    for (AddressRange &r : cached) {
      uint64_t start = r.address > around ? r.address - around : 0;
      r = {start, r.end() + around - start};
    }
    timed(result, "prefetch", [&] { prefetchPass(in, options, std::move(touched), std::move(cached), result); });
    result.prefetch->tracedPageBytes = tracedBytes;
  }
  if (options.packRelativeRelocs)
    timed(result, "pack relocations", [&] { packPass(in, options, result); });
  return result;
}

void writeOutput(const std::string &input, const std::string &output, std::span<const uint8_t> bytes) {
  struct stat st;
  std::optional<mode_t> mode;
  if (::stat(input.c_str(), &st) == 0)
    mode = st.st_mode;
  writeFileAtomically(output, bytes, mode);
}

} // namespace elfopt
