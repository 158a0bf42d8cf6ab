//===- VerifyScope.cpp ----------------------------------------------------===//
#include "elfopt/Verify/VerifyScope.h"

#include "elfopt/Scope/ScopeOrder.h"
#include "elfopt/Support/Diagnostics.h"

#include <algorithm>
#include <map>

using namespace llvm::ELF;

namespace elfopt {

namespace {

std::vector<std::string> neededNames(const ElfFile &f) {
  std::vector<std::string> names;
  for (const Dyn &d : f.dynamicEntries())
    if (d.d_tag == DT_NEEDED)
      names.push_back(f.dynamicString(d.d_un.d_val));
  return names;
}

const Section *sectionAt(const ElfFile &f, uint64_t address) {
  for (const Section &s : f.sections())
    if ((s.header.sh_flags & SHF_ALLOC) && s.addr() == address && s.size() > 0)
      return &s;
  return nullptr;
}

} // namespace

bool neededListChanged(const ElfFile &before, const ElfFile &after) {
  return neededNames(before) != neededNames(after);
}

ScopeVerifyReport verifyScopeOrder(const ElfFile &before, const ElfFile &after, const std::string &programPath,
                                   OtherPasses others) {
  ScopeVerifyReport r;
  std::vector<std::string> namesAfter = neededNames(after);
  r.neededBefore = neededNames(before).size();
  r.neededAfter = namesAfter.size();
  auto problem = [&](std::string p) { r.problems.push_back(std::move(p)); };

  // The scope and its proofs, from the names alone.
  ScopeModel model = buildScopeModel(programPath);
  ScopeModelOptions asAfter;
  asAfter.programNeeded = namesAfter;
  ScopeModel rebuilt = buildScopeModel(programPath, asAfter);
  r.objects = model.startup;
  std::map<std::string, uint32_t> byPath;
  for (uint32_t i = 0; i < model.startup; ++i)
    byPath[model.objects[i].path] = i;
  std::vector<uint32_t> scope;
  for (uint32_t i = 0; i < rebuilt.startup; ++i) {
    auto it = byPath.find(rebuilt.objects[i].path);
    if (it == byPath.end())
      problem("the output loads " + rebuilt.objects[i].path + ", which the original does not");
    else
      scope.push_back(it->second);
  }
  if (r.problems.empty() && scope.size() != model.startup)
    problem("the output's scope has " + std::to_string(scope.size()) + " objects, the original's " +
            std::to_string(model.startup));
  std::vector<uint32_t> original;
  for (uint32_t i = 0; i < model.startup; ++i)
    original.push_back(i);
  if (r.problems.empty())
    for (std::string &p : proveScopeOrder(model, original, scope))
      problem(std::move(p));
  if (others.dynamicSymbols)
    return r; // dynsort renumbers strings and moves tables: checked by symbol name on its own

  // Every other dynamic entry as it was.
  std::vector<Dyn> a, b;
  for (const Dyn &d : before.dynamicEntries())
    if (d.d_tag != DT_NEEDED && d.d_tag != DT_STRTAB && d.d_tag != DT_STRSZ)
      a.push_back(d);
  for (const Dyn &d : after.dynamicEntries())
    if (d.d_tag != DT_NEEDED && d.d_tag != DT_STRTAB && d.d_tag != DT_STRSZ)
      b.push_back(d);
  if (a.size() != b.size())
    problem(".dynamic has " + std::to_string(b.size()) + " other entries, was " + std::to_string(a.size()));
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    if (a[i].d_tag != b[i].d_tag) {
      problem(".dynamic entry " + std::to_string(i) + " changed tag");
      break;
    }
    if (a[i].d_un.d_val == b[i].d_un.d_val)
      continue;
    const Section *was = isDynamicAddressTag(a[i].d_tag) ? sectionAt(before, a[i].d_un.d_val) : nullptr;
    const Section *now = was ? sectionAt(after, b[i].d_un.d_val) : nullptr;
    if (!now || now->name != was->name || !std::ranges::equal(before.contents(*was), after.contents(*now)))
      problem(".dynamic entry " + hex(uint64_t(a[i].d_tag)) + " changed from " + hex(a[i].d_un.d_val) + " to " +
              hex(b[i].d_un.d_val));
  }
  // The string table starts with the original's.
  auto strA = before.dynamicValue(DT_STRTAB), szA = before.dynamicValue(DT_STRSZ);
  auto strB = after.dynamicValue(DT_STRTAB), szB = after.dynamicValue(DT_STRSZ);
  const Section *tableA = strA ? sectionAt(before, *strA) : nullptr;
  const Section *tableB = strB ? sectionAt(after, *strB) : nullptr;
  if (!tableA || !tableB || !szA || !szB || *szB < *szA || tableA->size() < *szA || tableB->size() < *szB ||
      !std::ranges::equal(before.contents(*tableA).first(*szA), after.contents(*tableB).first(*szA)))
    problem("DT_STRTAB's table does not start with the original's strings");
  if (others.code)
    return r; // sections changed by the .text or stub passes, checked by them
  // Every section as it was, wherever the editor put it; a symbol may
  // follow its section by exactly as far as that section moved.
  for (const Section &s : before.sections()) {
    if (s.index == 0 || s.type() == SHT_NOBITS || s.name == ".dynamic" || s.name == ".shstrtab")
      continue;
    if (&s == tableA && tableB && tableB->name == s.name)
      continue; // its larger copy, checked above
    const Section *same = after.findSection(s.name);
    if (same && s.type() == SHT_SYMTAB && same->type() == SHT_SYMTAB) {
      std::vector<Symbol> sa = before.symbols(s), sb = after.symbols(*same);
      bool ok = sa.size() == sb.size();
      for (size_t i = 0; ok && i < sa.size(); ++i) {
        const Symbol &x = sa[i], &y = sb[i];
        ok = x.name == y.name && x.size == y.size && x.type == y.type && x.binding == y.binding &&
             x.other == y.other && x.shndx == y.shndx;
        if (ok && x.value != y.value)
          ok = x.shndx > 0 && x.shndx < before.sections().size() && x.shndx < after.sections().size() &&
               y.value - x.value == after.sections()[x.shndx].addr() - before.sections()[x.shndx].addr() &&
               before.sections()[x.shndx].addr() != after.sections()[x.shndx].addr();
      }
      if (!ok) {
        problem("section " + s.name + " changed beyond the sections the editor moved");
        break;
      }
      continue;
    }
    if (!same || !std::ranges::equal(before.contents(s), after.contents(*same))) {
      problem("section " + s.name + " changed");
      break;
    }
  }
  return r;
}

} // namespace elfopt
