//===- VerifyCommand.cpp - elfopt verify ----------------------------------===//
#include "CommandSupport.h"
#include "elfopt/Pipeline/Optimize.h"
#include "elfopt/Pipeline/ResultJson.h"
#include "elfopt/Prefetch/Prefetch.h"
#include "elfopt/Support/Diagnostics.h"
#include "elfopt/Verify/Verify.h"
#include "elfopt/Verify/VerifyDynsym.h"
#include "elfopt/Verify/VerifyPrefetch.h"
#include "elfopt/Verify/VerifyScope.h"
#include "elfopt/Verify/VerifySelfBinding.h"

#include <algorithm>
#include <cstdio>

namespace elfopt {

const char VerifyUsage[] =
    "usage: elfopt verify ORIGINAL REWRITTEN [--bind-self PROGRAM] [--json]\n\n"
    "Checks a rewritten file against its original, independently of the\n"
    "rewriter: from where each function went (.symtab), every instruction,\n"
    "PC-relative operand, FDE, .eh_frame_hdr entry, symbol, dynamic relocation\n"
    "and changed word outside .text must follow. Exit 0 when sound, 2 if not.\n\n"
    "A file that went through --dynsort or --hashvals is checked by symbol\n"
    "name instead: the same dynamic symbols, each found by the hash tables,\n"
    "the same relocations, strings and versions. When its .text moved too,\n"
    "only that check runs here: 'elfopt rewrite' checks the .text stage\n"
    "itself, before those passes, and writes nothing if it fails.\n\n"
    "A file with a prefetch stub (rewrite --prefetch) has the stub checked: its\n"
    "place, its code, where it continues, and, when .text did not move, every\n"
    "other section and .dynamic entry unchanged.\n\n"
    "With --bind-self PROGRAM, a file from 'rewrite --bind-self PROGRAM' (and\n"
    "nothing else) is checked: every relocation the same but for those that\n"
    "name a hidden copy of a definition, and each such definition looked up\n"
    "again through the hash tables of PROGRAM's startup scope: the object\n"
    "itself must answer, with that entry.\n\n"
    "A program whose DT_NEEDED list changed (rewrite --scope-order) has the\n"
    "scope its names give proved against the original's (ORIGINAL must be\n"
    "where the program is installed: its libraries are found from there),\n"
    "with the checks of the other passes that ran in the same rewrite.\n";

// A program whose DT_NEEDED list changed (rewrite --scope-order), with the
// dynamic symbol passes' check when they ran too.
static int verifyScopeOrderCommand(const ElfFile &a, const ElfFile &b, const std::string &originalPath, bool asJson) {
  bool dynsym = hadDynamicSymbolPasses(a, b);
  const Section *ta = a.findSection(".text"), *tb = b.findSection(".text");
  bool textMoved = !ta || !tb || !std::ranges::equal(a.contents(*ta), b.contents(*tb));
  bool stub = hasPrefetchStub(b) && !hasPrefetchStub(a);
  ScopeVerifyReport s = verifyScopeOrder(a, b, originalPath, {dynsym, textMoved || stub});
  std::optional<DynsymVerifyReport> d;
  if (dynsym)
    d = verifyDynamicSymbols(a, b, textMoved, true);
  std::optional<PrefetchVerifyReport> p;
  if (stub)
    p = verifyPrefetchStub(a, b, textMoved);
  bool ok = s.ok() && (!d || d->ok()) && (!p || p->ok());
  if (asJson) {
    json j = {{"ok", ok},
              {"scopeOrder", {{"ok", s.ok()}, {"neededBefore", s.neededBefore}, {"neededAfter", s.neededAfter},
                              {"objects", s.objects}, {"problems", s.problems}}}};
    if (d)
      j["dynamicSymbols"] = {{"ok", d->ok()}, {"symbols", d->symbols}, {"lookups", d->lookups},
                             {"relocations", d->relocations}, {"problems", d->problems}};
    if (p)
      j["prefetchStub"] = {{"ok", p->ok()}, {"ranges", p->ranges}, {"bytes", p->bytes}, {"runsFrom", p->runsFrom},
                           {"problems", p->problems}};
    j["textChecked"] = !textMoved;
    std::printf("%s\n", j.dump(2, ' ', false, json::error_handler_t::replace).c_str());
  } else {
    std::printf("%s -> %s\n", a.name().c_str(), b.name().c_str());
    std::printf("  verify (scope order): %s: DT_NEEDED %zu -> %zu entries; checked for the %zu objects of the start: "
                "bindings, constructor and destructor order, dlsym importers' order, unique symbols%s\n",
                s.ok() ? "ok" : "FAILED", s.neededBefore, s.neededAfter, s.objects,
                d ? "" : textMoved || stub ? "; every other .dynamic entry as it was" : "; every other section and .dynamic entry as it was");
    for (const std::string &problem : s.problems)
      std::printf("    %s\n", problem.c_str());
    if (textMoved)
      std::printf("  .text moved as well: the .text stage was checked by 'elfopt rewrite' before the later passes\n");
    if (p) {
      std::printf("  verify (prefetch stub): %s: %llu ranges, %llu KiB, run from %s\n", p->ok() ? "ok" : "FAILED",
                  (unsigned long long)p->ranges, (unsigned long long)p->bytes / 1024, p->runsFrom.c_str());
      for (const std::string &problem : p->problems)
        std::printf("    %s\n", problem.c_str());
    }
    if (d)
      printDynsymVerify(*d);
  }
  return ok ? ExitOk : ExitBadInput;
}

int runVerify(const std::vector<std::string> &args) {
  po::options_description opts;
  opts.add_options()("original", po::value<std::string>())("rewritten", po::value<std::string>())(
      "json", po::bool_switch())("bind-self", po::value<std::string>());
  po::positional_options_description pos;
  pos.add("original", 1).add("rewritten", 1);
  auto vm = parse("verify", args, opts, pos);
  if (!vm.count("original") || !vm.count("rewritten"))
    throw UsageError{"verify", "give the original and the rewritten file"};
  auto a = ElfFile::open(vm["original"].as<std::string>());
  auto b = ElfFile::open(vm["rewritten"].as<std::string>());
  if (vm.count("bind-self")) {
    SelfBindingVerifyReport v = verifySelfBinding(*a, *b, vm["bind-self"].as<std::string>());
    if (vm["json"].as<bool>()) {
      json j = {{"ok", v.ok()}, {"bindSelf", true}, {"marked", v.marked}, {"relocations", v.relocations},
                {"problems", v.problems}};
      std::printf("%s\n", j.dump(2, ' ', false, json::error_handler_t::replace).c_str());
    } else {
      std::printf("%s -> %s\n", a->name().c_str(), b->name().c_str());
      std::printf("  verify (bind-self): %s: %llu bound definitions (%llu relocations) looked up again in the scope "
                  "of %s\n",
                  v.ok() ? "ok" : "FAILED", (unsigned long long)v.marked, (unsigned long long)v.relocations,
                  vm["bind-self"].as<std::string>().c_str());
      for (const std::string &problem : v.problems)
        std::printf("    %s\n", problem.c_str());
    }
    return v.ok() ? ExitOk : ExitBadInput;
  }
  if (neededListChanged(*a, *b))
    return verifyScopeOrderCommand(*a, *b, vm["original"].as<std::string>(), vm["json"].as<bool>());
  if (hasPrefetchStub(*b) && !hasPrefetchStub(*a)) {
    const Section *ta = a->findSection(".text"), *tb = b->findSection(".text");
    bool textMoved = !ta || !tb || !std::ranges::equal(a->contents(*ta), b->contents(*tb));
    PrefetchVerifyReport p = verifyPrefetchStub(*a, *b, textMoved);
    if (vm["json"].as<bool>()) {
      json j = {{"ok", p.ok()}, {"prefetchStub", true}, {"textChecked", false}, {"ranges", p.ranges},
                {"bytes", p.bytes}, {"runsFrom", p.runsFrom}, {"problems", p.problems}};
      std::printf("%s\n", j.dump(2, ' ', false, json::error_handler_t::replace).c_str());
    } else {
      std::printf("%s -> %s\n", a->name().c_str(), b->name().c_str());
      std::printf("  verify (prefetch stub): %s: %llu ranges, %llu KiB, run from %s\n", p.ok() ? "ok" : "FAILED",
                  (unsigned long long)p.ranges, (unsigned long long)p.bytes / 1024, p.runsFrom.c_str());
      if (textMoved)
        std::printf("  .text moved as well: the .text stage was checked by 'elfopt rewrite' before the stub "
                    "was added; here, the stub only\n");
      else
        std::printf("  every other section and .dynamic entry checked unchanged\n");
      for (const std::string &problem : p.problems)
        std::printf("    %s\n", problem.c_str());
    }
    return p.ok() ? ExitOk : ExitBadInput;
  }
  if (hadDynamicSymbolPasses(*a, *b)) {
    const Section *ta = a->findSection(".text"), *tb = b->findSection(".text");
    bool textMoved = !ta || !tb || !std::ranges::equal(a->contents(*ta), b->contents(*tb));
    DynsymVerifyReport d = verifyDynamicSymbols(*a, *b, textMoved);
    if (vm["json"].as<bool>()) {
      json j = {{"ok", d.ok()},           {"dynamicSymbols", true},         {"textChecked", false},
                {"symbols", d.symbols},   {"lookups", d.lookups},           {"relocations", d.relocations},
                {"problems", d.problems}};
      std::printf("%s\n", j.dump(2, ' ', false, json::error_handler_t::replace).c_str());
    } else {
      std::printf("%s -> %s\n", a->name().c_str(), b->name().c_str());
      if (textMoved)
        std::printf("  .text moved and the dynamic symbol passes ran: the .text stage was checked by "
                    "'elfopt rewrite' before them; here, the dynamic symbols only\n");
      printDynsymVerify(d);
    }
    return d.ok() ? ExitOk : ExitBadInput;
  }
  VerifyReport v;
  if (const Section *room = b->findSection(RoomSection); room && !a->findSection(RoomSection)) {
    // `rewrite --new-segment` rewrote the original with room added: add it
    // again (the same edit gives the same layout), check that, check that
    // it is laid out as the rewritten file is, then the rewrite against it.
    auto roomy = ElfFile::fromBytes(a->name() + " (with room)", withRoomForOrderedCode(*a, room->size(), false));
    std::vector<std::string> problems = verifyAddedRoom(*a, *roomy, RoomSection);
    bool sameLayout = roomy->sections().size() == b->sections().size() &&
                      roomy->segments().size() == b->segments().size();
    for (size_t i = 0; sameLayout && i < b->sections().size(); ++i) {
      const Section &x = roomy->sections()[i], &y = b->sections()[i];
      sameLayout = x.name == y.name && x.addr() == y.addr() && x.offset() == y.offset() && x.size() == y.size();
    }
    if (!sameLayout)
      problems.push_back(std::string(RoomSection) + ": the original with room added is not laid out as " +
                         b->name() + " is: not rewritten from this original");
    v = problems.empty() ? verifyRewrite(*roomy, *b) : VerifyReport{};
    v.problems.insert(v.problems.begin(), problems.begin(), problems.end());
  } else {
    v = verifyRewrite(*a, *b);
  }
  if (vm["json"].as<bool>())
    std::printf("%s\n", verifyReportJson(v).dump(2, ' ', false, json::error_handler_t::replace).c_str());
  else {
    std::printf("%s -> %s\n", a->name().c_str(), b->name().c_str());
    printVerify(v);
  }
  return v.ok() ? ExitOk : ExitBadInput;
}

} // namespace elfopt
