//===- ScopeOrder.cpp -----------------------------------------------------===//
#include "elfopt/Scope/ScopeOrder.h"

#include "elfopt/Support/Diagnostics.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <map>

using namespace llvm::ELF;

namespace elfopt {

namespace {

/// Position of every object in \p scope; the dlopened ones keep theirs,
/// after the startup scope.
std::vector<size_t> positions(const ScopeModel &model, const std::vector<uint32_t> &scope) {
  std::vector<size_t> pos(model.objects.size());
  for (size_t i = 0; i < pos.size(); ++i)
    pos[i] = i;
  for (size_t i = 0; i < scope.size(); ++i)
    pos[scope[i]] = i;
  return pos;
}

template <typename Keep>
std::vector<uint32_t> subsequence(const std::vector<uint32_t> &order, Keep keep) {
  std::vector<uint32_t> out;
  for (uint32_t o : order)
    if (keep(o))
      out.push_back(o);
  return out;
}

std::string nameOf(const ScopeModel &model, uint32_t object) { return model.objects[object].name; }

/// The first place two orders differ, said as "A before B (was B before A)";
/// \p at gets that place.
std::string firstDifference(const ScopeModel &model, const std::vector<uint32_t> &before,
                            const std::vector<uint32_t> &after, size_t *at = nullptr) {
  for (size_t i = 0; i < std::min(before.size(), after.size()); ++i)
    if (before[i] != after[i]) {
      if (at)
        *at = i;
      return nameOf(model, after[i]) + " before " + nameOf(model, before[i]) + " (was " +
             nameOf(model, before[i]) + " first)";
    }
  return "a different number of objects";
}

/// The object that a binding (a contest's winner) or a unique symbol's first
/// definition needs back in front in \p scope, if any; its problem goes to
/// \p problem.
std::optional<uint32_t> overtakenDefiner(const ScopeModel &model, const std::vector<size_t> &pos,
                                         std::string &problem) {
  auto firstIn = [&](const std::vector<uint32_t> &objects) {
    return *std::min_element(objects.begin(), objects.end(),
                             [&](uint32_t a, uint32_t b) { return pos[a] < pos[b]; });
  };
  for (const ScopeModel::Contest &c : model.contests) {
    uint32_t now = firstIn(c.candidates);
    if (now != c.winner) {
      problem = "binding: " + c.symbol + " (" + std::to_string(c.lookups) + " lookups) would bind to " +
                nameOf(model, now) + " instead of " + nameOf(model, c.winner);
      return c.winner;
    }
  }
  for (const ScopeModel::Unique &u : model.uniques) {
    uint32_t before = *std::min_element(u.definers.begin(), u.definers.end()); // original scope: index order
    uint32_t now = firstIn(u.definers);
    if (now != before) {
      problem = "STB_GNU_UNIQUE " + u.symbol + " would be first defined by " + nameOf(model, now) +
                " instead of " + nameOf(model, before);
      return before;
    }
  }
  return std::nullopt;
}

} // namespace

uint64_t scopeProbes(const ScopeModel &model, const std::vector<uint32_t> &scope) {
  std::vector<size_t> pos = positions(model, scope);
  uint64_t probes = model.unresolved * model.startup + model.answeredBySelf;
  for (size_t o = 0; o < model.answered.size(); ++o)
    probes += model.answered[o] * (pos[o] + 1);
  return probes;
}

std::vector<uint32_t> breadthFirstScope(const ScopeModel &model, const std::vector<uint32_t> &programNeeded) {
  std::vector<uint32_t> scope{0};
  std::vector<bool> seen(model.objects.size(), false);
  seen[0] = true;
  for (size_t next = 0; next < scope.size(); ++next)
    for (uint32_t dep : next == 0 ? programNeeded : model.objects[scope[next]].needed)
      if (dep < model.startup && !seen[dep]) {
        seen[dep] = true;
        scope.push_back(dep);
      }
  return scope;
}

std::vector<uint32_t> sortMapsDepthFirst(const ScopeModel &model, const std::vector<uint32_t> &scope) {
  // As _dl_sort_maps_dfs: a depth-first walk from each object, the last
  // first, along its DT_NEEDED libraries in order, never into the program;
  // each object is put in front of what is placed when its walk ends.
  std::vector<bool> visited(model.objects.size(), false);
  std::vector<uint32_t> sorted(scope.size());
  size_t head = scope.size();
  std::function<void(uint32_t)> walk = [&](uint32_t object) {
    if (visited[object])
      return;
    visited[object] = true;
    for (uint32_t dep : model.objects[object].needed)
      if (dep != 0 && dep < model.startup && !visited[dep])
        walk(dep);
    sorted[--head] = object;
  };
  for (size_t i = scope.size(); i-- > 0;)
    walk(scope[i]);
  // force_first: the program stays first.
  auto program = std::find(sorted.begin(), sorted.end(), 0u);
  if (program != sorted.end())
    std::rotate(sorted.begin(), program, program + 1);
  return sorted;
}

std::vector<uint32_t> initOrder(const ScopeModel &model, const std::vector<uint32_t> &scope) {
  std::vector<uint32_t> sorted = sortMapsDepthFirst(model, scope);
  return subsequence(std::vector<uint32_t>(sorted.rbegin(), sorted.rend()), [](uint32_t o) { return o != 0; });
}

namespace {

/// Why \p scope does not behave as \p original does, and for each reason a
/// library that, moved further forward, may set it right.
struct ScopeProblem {
  std::string what;
  std::vector<uint32_t> forward;
};

std::vector<ScopeProblem> scopeProblems(const ScopeModel &model, const std::vector<uint32_t> &original,
                                        const std::vector<uint32_t> &scope) {
  std::vector<ScopeProblem> problems;
  std::vector<size_t> pos = positions(model, scope);
  std::string binding;
  if (std::optional<uint32_t> definer = overtakenDefiner(model, pos, binding))
    problems.push_back({binding, {*definer}});
  std::vector<uint32_t> sortedBefore = sortMapsDepthFirst(model, original);
  std::vector<uint32_t> sortedAfter = sortMapsDepthFirst(model, scope);
  auto initMatters = [&](uint32_t o) { return o != 0 && model.objects[o].constructorsMatter(); };
  auto finiMatters = [&](uint32_t o) { return o != 0 && model.objects[o].destructorsMatter(); };
  std::vector<uint32_t> initBefore(sortedBefore.rbegin(), sortedBefore.rend());
  std::vector<uint32_t> initAfter(sortedAfter.rbegin(), sortedAfter.rend());
  initBefore = subsequence(initBefore, initMatters);
  initAfter = subsequence(initAfter, initMatters);
  // Constructors or destructors that would run in another order: either of
  // the two that would swap may set it right from further forward; tried
  // first is the one that would run too early (for constructors, the first
  // of the new order; for destructors, of the old).
  auto orderProblem = [&](const char *what, const std::vector<uint32_t> &before, const std::vector<uint32_t> &after,
                          bool afterFirst) {
    if (before == after)
      return;
    size_t at = 0;
    problems.push_back({what + firstDifference(model, before, after, &at), {}});
    if (at < before.size() && at < after.size())
      problems.back().forward = afterFirst ? std::vector<uint32_t>{after[at], before[at]}
                                           : std::vector<uint32_t>{before[at], after[at]};
  };
  orderProblem("constructor order: ", initBefore, initAfter, true);
  std::vector<uint32_t> finiBefore = subsequence(sortedBefore, finiMatters);
  std::vector<uint32_t> finiAfter = subsequence(sortedAfter, finiMatters);
  orderProblem("destructor order: ", finiBefore, finiAfter, false);
  auto dlsym = [&](uint32_t o) { return model.objects[o].importsDlsym; };
  std::vector<uint32_t> dlsymBefore = subsequence(original, dlsym), dlsymAfter = subsequence(scope, dlsym);
  if (dlsymBefore != dlsymAfter)
    problems.push_back({"dlsym(RTLD_NEXT) order: " + firstDifference(model, dlsymBefore, dlsymAfter), {}});
  return problems;
}

} // namespace

std::vector<std::string> proveScopeOrder(const ScopeModel &model, const std::vector<uint32_t> &original,
                                         const std::vector<uint32_t> &scope) {
  std::vector<std::string> out;
  for (ScopeProblem &p : scopeProblems(model, original, scope))
    out.push_back(std::move(p.what));
  return out;
}

/// How many libraries may move forward together with the one a move is for.
constexpr unsigned MaxCompanions = 4;

ScopePlan planScopeOrder(const ScopeModel &model, unsigned spareSlots) {
  ScopePlan plan;
  plan.originalNeeded = plan.programNeeded = model.objects.empty() ? std::vector<uint32_t>{} : model.objects[0].needed;
  for (uint32_t i = 0; i < model.startup; ++i)
    plan.originalScope.push_back(i);
  plan.scope = plan.originalScope;
  plan.probesBefore = plan.probesAfter = scopeProbes(model, plan.originalScope);
  if (model.startup < 3)
    return plan;
  std::vector<uint32_t> distinct = plan.originalNeeded;
  std::sort(distinct.begin(), distinct.end());
  if (std::adjacent_find(distinct.begin(), distinct.end()) != distinct.end()) {
    plan.refused.push_back({0, "the program names one library twice in DT_NEEDED: kept as it is"});
    return plan;
  }
  // The model's scope must be the one its breadth-first rule gives, or no
  // order derived from it can be trusted.
  if (breadthFirstScope(model, plan.originalNeeded) != plan.originalScope) {
    plan.refused.push_back({0, "the program's scope is not the breadth-first order of its DT_NEEDED lists "
                               "(a library found under two names?): kept as it is"});
    return plan;
  }
  std::vector<uint32_t> candidates;
  for (uint32_t o = 1; o < model.startup; ++o)
    if (model.answered[o] > 0)
      candidates.push_back(o);
  std::stable_sort(candidates.begin(), candidates.end(),
                   [&](uint32_t a, uint32_t b) { return model.answered[a] > model.answered[b]; });
  // A move can open the way for one tried before it (a library that must
  // stay behind another can follow it once that one moved): passes until
  // none moves; the last pass's refusals are the report.
  for (unsigned pass = 0; pass < 8; ++pass) {
  uint64_t probesBeforePass = plan.probesAfter;
  plan.refused.clear();
  for (uint32_t c : candidates) {
    std::vector<uint32_t> rest = plan.programNeeded;
    auto at = std::find(rest.begin(), rest.end(), c);
    bool adding = at == rest.end();
    size_t now = size_t(at - rest.begin());
    if (!adding)
      rest.erase(at);
    // Every earlier place in the list, the shortest walk first; the first
    // one proved is taken.
    struct Try {
      uint64_t probes;
      size_t place;
      std::vector<uint32_t> scope;
    };
    std::vector<Try> tries;
    // A new entry may go anywhere, even last: after the program's other
    // libraries is still before the place breadth-first search gave it.
    for (size_t place = 0; place < (adding ? rest.size() + 1 : now); ++place) {
      std::vector<uint32_t> needed = rest;
      needed.insert(needed.begin() + place, c);
      std::vector<uint32_t> scope = breadthFirstScope(model, needed);
      uint64_t probes = scopeProbes(model, scope);
      if (probes < plan.probesAfter)
        tries.push_back({probes, place, std::move(scope)});
    }
    if (tries.empty())
      continue; // no place would shorten the walk: nothing held it back
    // Only a move that would help is reported as held back.
    if (adding && plan.addedEntries == spareSlots) {
      plan.refused.push_back({c, "no spare .dynamic slot for a new DT_NEEDED entry"});
      continue;
    }
    if (adding && !model.objects[c].sameFileFromProgram) {
      plan.refused.push_back({c, "the program's own search path does not find this file by " +
                                     model.objects[c].name + ", so it cannot name it"});
      continue;
    }
    std::stable_sort(tries.begin(), tries.end(), [](const Try &a, const Try &b) { return a.probes < b.probes; });
    std::string firstProblem;
    struct Move {
      std::vector<uint32_t> needed, scope;
      uint64_t probes;
      size_t added;
    };
    // A library that the first problem names (a contest's winner that must
    // keep answering before c, a unique symbol's first definer, either of
    // two libraries whose constructors would swap) may move forward with c,
    // just before it, and the whole move is proved again; a few deep.
    std::function<std::optional<Move>(Move, unsigned)> settle = [&](Move m,
                                                                   unsigned depth) -> std::optional<Move> {
      std::vector<ScopeProblem> problems = scopeProblems(model, plan.originalScope, m.scope);
      if (problems.empty())
        return m;
      if (firstProblem.empty())
        firstProblem = problems.front().what;
      if (depth == MaxCompanions)
        return std::nullopt;
      for (uint32_t ahead : problems.front().forward) {
        if (ahead == 0 || ahead == c || ahead >= model.startup)
          continue;
        Move next = m;
        auto old = std::find(next.needed.begin(), next.needed.end(), ahead);
        if (old != next.needed.end() && old < std::find(next.needed.begin(), next.needed.end(), c))
          continue; // already in front of c
        if (old == next.needed.end()) {
          if (plan.addedEntries + next.added == spareSlots || !model.objects[ahead].sameFileFromProgram)
            continue;
          ++next.added;
        } else {
          next.needed.erase(old);
        }
        next.needed.insert(std::find(next.needed.begin(), next.needed.end(), c), ahead);
        next.scope = breadthFirstScope(model, next.needed);
        next.probes = scopeProbes(model, next.scope);
        if (next.probes >= plan.probesAfter)
          continue;
        if (std::optional<Move> settled = settle(std::move(next), depth + 1))
          return settled;
      }
      return std::nullopt;
    };
    bool moved = false;
    for (Try &t : tries) {
      Move m{rest, std::move(t.scope), t.probes, adding};
      m.needed.insert(m.needed.begin() + t.place, c);
      std::optional<Move> settled = settle(std::move(m), 0);
      if (!settled)
        continue;
      plan.programNeeded = std::move(settled->needed);
      plan.scope = std::move(settled->scope);
      plan.probesAfter = settled->probes;
      plan.addedEntries += settled->added;
      moved = true;
      break;
    }
    if (!moved && !firstProblem.empty())
      plan.refused.push_back({c, firstProblem});
  }
  if (plan.probesAfter == probesBeforePass)
    break;
  }
  return plan;
}

std::optional<unsigned> applyScopeOrder(ElfEditor &editor, const ScopeModel &model, const ScopePlan &plan) {
  const ElfFile &in = editor.input();
  auto strtab = in.dynamicValue(DT_STRTAB), strsz = in.dynamicValue(DT_STRSZ);
  const Section *dynstr = nullptr;
  for (const Section &s : in.sections())
    if (strtab && s.addr() == *strtab && s.type() == SHT_STRTAB && (s.header.sh_flags & SHF_ALLOC))
      dynstr = &s;
  if (!dynstr || !strsz || *strsz > dynstr->size())
    fatal(in.name() + ": DT_STRTAB/DT_STRSZ do not describe an allocated string table: cannot rewrite "
                      "DT_NEEDED");
  std::span<uint8_t> strings = editor.mutableContents(dynstr->index).first(*strsz);
  std::span<Dyn> slots = editor.mutableDynamic();
  std::vector<Dyn *> neededSlots;
  for (Dyn &d : slots) {
    if (d.d_tag == DT_NULL)
      break;
    if (d.d_tag == DT_NEEDED)
      neededSlots.push_back(&d);
  }
  if (neededSlots.size() != plan.originalNeeded.size())
    fatal(in.name() + ": " + std::to_string(neededSlots.size()) + " DT_NEEDED entries name " +
              std::to_string(plan.originalNeeded.size()) + " libraries; a library named twice is not rewritten",
          ExitInternal);
  // The string each library is named by now; a new entry's is looked for in
  // .dynstr (as a whole string or the tail of one), else appended to a copy.
  std::map<uint32_t, uint64_t> nameAt;
  for (size_t i = 0; i < neededSlots.size(); ++i)
    nameAt[plan.originalNeeded[i]] = neededSlots[i]->d_un.d_val;
  std::vector<uint8_t> appended;
  for (uint32_t o : plan.programNeeded) {
    if (nameAt.count(o))
      continue;
    std::string name = model.objects[o].name;
    std::string needle = name + '\0';
    auto hit = std::search(strings.begin() + 1, strings.end(), needle.begin(), needle.end());
    if (hit != strings.end()) {
      nameAt[o] = uint64_t(hit - strings.begin());
      continue;
    }
    nameAt[o] = strings.size() + appended.size();
    appended.insert(appended.end(), needle.begin(), needle.end());
  }
  for (size_t i = 0; i < plan.programNeeded.size(); ++i) {
    uint64_t value = nameAt.at(plan.programNeeded[i]);
    if (i < neededSlots.size())
      neededSlots[i]->d_un.d_val = value;
    else
      editor.addDynamicEntry(DT_NEEDED, value);
  }
  if (appended.empty())
    return std::nullopt;
  // The copy takes the name .dynstr, since GNU readelf finds the dynamic
  // strings by that name; the old table, which .dynsym and the version
  // sections still link to, keeps its bytes under another name.
  NewSection copy;
  copy.name = dynstr->name;
  copy.type = SHT_STRTAB;
  copy.align = 1;
  copy.data.assign(strings.begin(), strings.end());
  copy.data.insert(copy.data.end(), appended.begin(), appended.end());
  unsigned added = editor.addSection(std::move(copy));
  editor.renameSection(dynstr->index, ".elfopt.orig" + dynstr->name);
  // Tools that follow the section headers (objdump, elfutils) read
  // .dynamic's strings through its sh_link; the copy holds every old string
  // at its old offset, and the new names.
  if (const Section *dynamic = in.findSectionOfType(SHT_DYNAMIC))
    editor.setSectionLink(dynamic->index, added);
  return added;
}

void finishScopeOrder(ElfEditor &editor, std::optional<unsigned> dynstrCopy) {
  if (!dynstrCopy)
    return;
  editor.setDynamicEntry(DT_STRTAB, editor.sectionAddress(*dynstrCopy));
  editor.setDynamicEntry(DT_STRSZ, editor.mutableNewContents(*dynstrCopy).size());
}

std::string scopeName(const ScopeModel &model, uint32_t object) {
  return object == 0 ? std::string("(the program)") : model.objects[object].name;
}

std::vector<std::string> scopeNames(const ScopeModel &model, const std::vector<uint32_t> &objects) {
  std::vector<std::string> names;
  for (uint32_t o : objects)
    names.push_back(scopeName(model, o));
  return names;
}

ScopeProofCounts scopeProofCounts(const ScopeModel &model) {
  ScopeProofCounts c;
  for (const ScopeModel::Contest &contest : model.contests)
    c.contestedLookups += contest.lookups;
  for (size_t o = 0; o < model.startup; ++o) {
    const ScopeModel::Object &object = model.objects[o];
    c.dlsymImporters += object.importsDlsym;
    bool has = o != 0 && (object.hasInit || object.hasFini);
    c.withConstructors += has;
    c.orderFree += has && !object.constructorsMatter() && !object.destructorsMatter();
  }
  return c;
}

} // namespace elfopt
