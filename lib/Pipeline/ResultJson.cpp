//===- ResultJson.cpp - the JSON of `rewrite --json` and `edit --json` ----===//
#include "elfopt/Pipeline/ResultJson.h"

#include "elfopt/Pipeline/Edit.h"
#include "elfopt/Pipeline/Optimize.h"

namespace elfopt {

namespace keys = rewrite_json;
using json = ResultJson;

ResultJson verifyReportJson(const VerifyReport &v) {
  return {{keys::VerifyOk, v.ok()},
          {"functions", v.functions},
          {"movedFunctions", v.movedFunctions},
          {keys::VerifyInstructions, v.instructions},
          {keys::VerifyPcRelative, v.pcRelativeOperands},
          {"fdes", v.fdes},
          {"symbols", v.symbols},
          {"dynamicRelocations", v.dynamicRelocations},
          {"changedWordsOutsideText", v.changedWords},
          {"forwardedWords", v.forwardedWords},
          {"movedUndescribedRanges", v.movedUndescribedRanges},
          {"problems", v.problems}};
}

ResultJson dynsortResultJson(const DynsortResult &r) {
  auto table = [](const GnuHashCost &c) {
    return json{{"nbuckets", c.shape.nbuckets},
                {"bloomWords", c.shape.bloomWords},
                {"bloomShift", c.shape.bloomShift},
                {"bytes", c.bytes},
                {"weightedLines", c.weighted}};
  };
  return {{"symbols", r.symbols},
          {"hashed", r.hashed},
          {"lookupsEstimated", {{"hits", r.mix.hits}, {"misses", r.mix.misses}}},
          {"missesPerHit", r.missesPerHit},
          {"missesPerHitFrom", r.missesPerHitFrom},
          {"builtFromSysvHash", r.builtFromSysv},
          {"gnuHashMoved", r.newTable.has_value() && !r.builtFromSysv},
          {"dynstrBytes", {r.dynstrBefore, r.dynstrAfter}},
          {"relocationRuns", {r.relocationRunsBefore, r.relocationRunsAfter}},
          {"gnuHashBefore", table(r.before)},
          {"gnuHashAfter", table(r.after)},
          {"gnuHashBest", table(r.best)},
          {"keptShapeGainTooSmall", r.gainTooSmall}};
}

namespace {

// Per library with constructors or destructors: whether they were proved
// to do nothing another object sees, and if not, why.
json constructorEffectsJson(const ScopeModel &model) {
  json out = json::array();
  for (size_t o = 1; o < model.startup; ++o) {
    const ScopeModel::Object &object = model.objects[o];
    if (!object.hasInit && !object.hasFini)
      continue;
    json entry = {{"library", object.name}};
    if (object.hasInit)
      entry["constructors"] = object.initInert ? "inert" : object.initEffect;
    if (object.hasFini)
      entry["destructors"] = object.finiInert ? "inert" : object.finiEffect;
    out.push_back(entry);
  }
  return out;
}

json blocksJson(const RewriteReport &r) {
  return {{"functions", r.functions},
          {"discoveredFunctions", r.discoveredFunctions},
          {"discoveredBytes", r.discoveredBytes},
          {"moved", r.movedBlocks},
          {"movedBytes", r.movedBytes},
          {"orderedPlaced", r.orderedPlaced},
          {"orderedBytes", r.orderedFrontBytes},
          {"orderedPinned", r.orderedPinned},
          {"orderedPinnedBytes", r.orderedPinnedBytes},
          {"pinned", r.pinnedBlocks},
          {"pinnedBytes", r.pinnedBytes},
          {keys::PinnedWhy, r.pinnedWhy},
          {"forwardingStubs", r.forwardingStubs},
          {"forwardingStubBytes", r.forwardingStubBytes},
          {"forwardedBlocks", r.forwardedBlocks},
          {"forwardedWhy", r.forwardedWhy},
          {"bonded", r.bondedBlocks},
          {keys::BondedWhy, r.bondedWhy}};
}

json prefetchJson(const PrefetchReport &p, const OptimizeResult &result) {
  json ranges = json::array();
  for (const AddressRange &r : p.ranges)
    ranges.push_back({{"address", r.address}, {"size", r.size}});
  const PrefetchPlan &plan = p.plan;
  json figures = json::array();
  for (const PrefetchDeviceFigures &f : plan.figures)
    figures.push_back({{"device", f.device},
                       {"prefetchSeconds", f.prefetchSeconds},
                       {"savedSeconds", f.savedSeconds},
                       {"startSeconds", f.planSeconds},
                       {"bestSeconds", f.bestSeconds}});
  json planJson = {{"plannedFor", plan.plannedFor},
                   {"ranges", plan.extents},
                   {"requests", plan.ranges.size()},
                   {"bytes", plan.bytes},
                   {"faultsReplaced", plan.faults},
                   {"faults", plan.totalFaults},
                   {"leftOut", {{"ranges", plan.leftOutExtents}, {"bytes", plan.leftOutBytes}, {"faults", plan.leftOutFaults}}},
                   {"modelled", figures}};
  return {{"ranges", ranges},
          {"added", !p.ranges.empty()},
          {"plan", planJson},
          {"bytes", p.prefetchBytes},
          {"touchedBytes", p.touchedBytes},
          {"tracedPageBytes", p.tracedPageBytes},
          {"tracedPageRuns", result.tracedPages.runs},
          {"stubAddress", p.stubAddress},
          {"stubSize", p.stubSize},
          {"runsFrom", p.runsFrom.empty() ? json(nullptr) : json(p.runsFrom)},
          {"continuesTo", p.continuesTo ? json(*p.continuesTo) : json(nullptr)}};
}

} // namespace

ResultJson scopeOrderJson(const ScopeModel &model, const ScopePlan &plan) {
  ScopeProofCounts counts = scopeProofCounts(model);
  json refused = json::array();
  for (const ScopeRefusal &r : plan.refused)
    refused.push_back({{"library", scopeName(model, r.object)}, {"reason", r.reason}});
  return {{"changed", plan.changed()},
          {"objects", model.startup},
          {"lookups", model.lookups},
          {"lookupsBoundBySelf", model.boundBySelf},
          {"probesBefore", plan.probesBefore},
          {"probesAfter", plan.probesAfter},
          {"meanWalkBefore", meanWalk(plan.probesBefore, model.lookups)},
          {"meanWalkAfter", meanWalk(plan.probesAfter, model.lookups)},
          {"neededBefore", scopeNames(model, plan.originalNeeded)},
          {"neededAfter", scopeNames(model, plan.programNeeded)},
          {"addedEntries", plan.addedEntries},
          {"scopeBefore", scopeNames(model, plan.originalScope)},
          {"scopeAfter", scopeNames(model, plan.scope)},
          {"refused", refused},
          {"initOrderBefore", scopeNames(model, initOrder(model, plan.originalScope))},
          {"initOrderAfter", scopeNames(model, initOrder(model, plan.scope))},
          {"proved",
           {{"contests", model.contests.size()},
            {"contestedLookups", counts.contestedLookups},
            {"uniqueSymbols", model.uniques.size()},
            {"dlsymImporters", counts.dlsymImporters},
            {"withConstructors", counts.withConstructors},
            {"constructorsProvedInert", counts.orderFree}}},
          {"constructorEffects", constructorEffectsJson(model)},
          {"dlopenedInProof", model.dlopened}};
}

ResultJson rewriteResultJson(const std::string &input, const std::string &output, const OptimizeResult &result) {
  const RewriteReport &r = result.rewrite;
  json j;
  j["input"] = input;
  j["output"] = output;
  j["orderSource"] = result.orderSource;
  j["orderedFunctions"] = result.orderedFunctions;
  j["text"] = {{"address", r.textStart}, {"bytes", r.textSize}};
  j[keys::Blocks] = blocksJson(r);
  if (result.roomBytes)
    j["newSegment"] = {{"section", RoomSection}, {"bytes", result.roomBytes}, {"why", result.roomWhy}};
  if (!result.undescribedKeptWhy.empty())
    j["undescribedKeptWhy"] = result.undescribedKeptWhy;
  if (result.undescribedKept)
    j["undescribedKeptNamed"] = {{"functions", result.undescribedKept},
                                 {"firstProblem", result.undescribedKeptFirstProblem}};
  j[keys::Kept] = json::array();
  for (const KeptBlock &k : r.kept)
    j[keys::Kept].push_back({{keys::KeptName, k.name},
                             {"address", k.address},
                             {"size", k.size},
                             {keys::KeptReason, k.reason},
                             {keys::KeptWhere, k.where}});
  j[keys::Updated] = r.fieldsUpdated;
  j["strippedDebug"] = r.strippedDebug;
  j["orderIgnored"] = r.orderIgnored;
  j["passes"] = json::array();
  for (const auto &[name, seconds] : result.passSeconds)
    j["passes"].push_back({{"name", name}, {"seconds", seconds}});
  if (result.verified)
    j[keys::Verify] = verifyReportJson(*result.verified);
  if (result.sorted)
    j["dynsort"] = dynsortResultJson(*result.sorted);
  j["hashvals"] = result.hashvalsAdded;
  if (result.hashvalsAdded) {
    j["hashvalsBytes"] = result.hashvalsBytes;
    j["hashvalsNewSegment"] = result.hashvalsNewSegment;
  }
  if (!result.hashvalsLeftOut.empty())
    j["hashvalsLeftOut"] = result.hashvalsLeftOut;
  if (const auto &p = result.prefetch) {
    j["prefetch"] = prefetchJson(*p, result);
    if (const auto &v = result.prefetchVerified)
      j["verifyPrefetch"] = {{"ok", v->ok()}, {"ranges", v->ranges}, {"problems", v->problems}};
  }
  if (result.scopePlan)
    j["scopeOrder"] = scopeOrderJson(*result.scopeModel, *result.scopePlan);
  if (const auto &b = result.selfBinding) {
    json top = json::array(), all = json::array(), kept = json::array(), examples = json::array();
    for (const SelfBound &s : busiestSelfBound(*b, 10))
      top.push_back({{"symbol", s.name}, {"relocations", s.relocations}});
    json unresolved = json::array();
    for (const SelfBound &s : b->bound)
      all.push_back(s.name);
    for (const SelfBound &s : b->unresolved)
      unresolved.push_back(s.name);
    for (const auto &[reason, count] : b->keptByReason)
      kept.push_back({{"reason", reason}, {"relocations", count}});
    for (const auto &[name, reason] : b->keptExamples)
      examples.push_back({{"symbol", name}, {"reason", reason}});
    j["bindSelf"] = {{"program", b->program},
                     {"scope", b->scope},
                     {"notApplied", b->notApplied},
                     {"symbolsBound", b->bound.size()},
                     {"relocationsBound", b->relocationsBound},
                     {"relocationsMadeRelative", b->relocationsRelative},
                     {"unresolvedBound", unresolved},
                     {"relocationsUnresolvedBound", b->relocationsUnresolved},
                     {"selfAnsweredRelocations", b->selfAnswered},
                     {"lookupsBefore", b->lookupsBefore},
                     {"lookupsAfter", b->lookupsAfter},
                     {"busiest", top},
                     {"symbols", all},
                     {"kept", kept},
                     {"keptExamples", examples}};
    if (b->position)
      j["bindSelf"]["position"] = *b->position;
    if (const auto &v = result.selfBindingVerified)
      j["verifyBindSelf"] = {{"ok", v->ok()}, {"marked", v->marked}, {"unresolved", v->unresolved},
                             {"relocations", v->relocations},
                             {"problems", v->problems}};
  }
  if (const auto &p = result.packed) {
    j["packRelativeRelocs"] = {{"relativeBefore", p->relativeBefore}, {"packed", p->packed},
                               {"keptUnaligned", p->keptUnaligned}, {"keptNotInFile", p->keptNotInFile},
                               {"keptShared", p->keptShared}, {"relaBytesBefore", p->relaBytesBefore},
                               {"relaBytesAfter", p->relaBytesAfter}, {"relrBytes", p->relrBytes},
                               {"relrBytesAsLinkers", p->relrBytesAsLinkers},
                               {"relrLoaderInstructions", p->relrLoaderInstructions},
                               {"relrLoaderInstructionsAsLinkers", p->relrLoaderInstructionsAsLinkers},
                               {"versionNeedAdded", p->versionNeedAdded}, {"newSegment", p->newSegment}};
    if (const auto &v = result.packVerified)
      j["verifyPackedRelocs"] = {{"ok", v->ok()}, {"relativeWords", v->relativeWords},
                                 {"relrWords", v->relrWords}, {"problems", v->problems}};
  }
  if (const auto &d = result.dynsymVerified)
    j["verifyDynamicSymbols"] = {{"ok", d->ok()},
                                 {"symbols", d->symbols},
                                 {"lookups", d->lookups},
                                 {"relocations", d->relocations},
                                 {"problems", d->problems}};
  return j;
}

ResultJson editResultJson(const std::string &input, const std::string &output, const EditResult &result) {
  const LayoutSummary &layout = result.layout;
  json segments = json::array();
  for (const AddedSegment &seg : layout.segments)
    segments.push_back({{"flags", (seg.flags & llvm::ELF::PF_X) ? "RX" : "R"},
                        {"offset", seg.offset},
                        {"address", seg.address},
                        {"size", seg.size}});
  json j = {{"input", input},
            {"output", output},
            {"outputSize", layout.outputSize},
            {"addedSegment", layout.addedSegment},
            {"segmentOffset", layout.segmentOffset},
            {"segmentAddress", layout.segmentAddress},
            {"segmentSize", layout.segmentSize},
            {"segments", segments},
            {"movedSections", layout.movedSections}};
  if (result.sorted)
    j["dynsort"] = dynsortResultJson(*result.sorted);
  return j;
}

} // namespace elfopt
