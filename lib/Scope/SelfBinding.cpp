//===- SelfBinding.cpp - lookups an object answers itself, bound without one -===//
#include "elfopt/Scope/SelfBinding.h"
#include "elfopt/Scope/LookupMix.h"

#include "elfopt/Elf/Relocations.h"
#include "elfopt/Elf/Versions.h"
#include "elfopt/Support/Diagnostics.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>
#include <unordered_map>

using namespace llvm::ELF;

namespace elfopt {

namespace {

namespace Reason {
constexpr const char *Symbolic = "the object is DT_SYMBOLIC: it answers itself first already";
constexpr const char *LocalAlready = "already protected or hidden";
constexpr const char *Tls = "thread-local: never bound here";
constexpr const char *Unique = "STB_GNU_UNIQUE: the first definer in the process answers";
constexpr const char *NoAddress = "absolute, or value 0 (glibc's lookup skips it)";
constexpr const char *OtherType = "a relocation type other than GLOB_DAT, JUMP_SLOT and R_X86_64_64";
constexpr const char *Interposed = "defined earlier in the scope (interposed)";
constexpr const char *Canonical =
    "an earlier object holds it undefined with an address (a canonical PLT entry or a copy)";
constexpr const char *WeakLater = "weak, and defined again later in the scope (LD_DYNAMIC_WEAK=1 would pick that)";
constexpr const char *Twice = "defined twice in the object in matching versions";
constexpr const char *NotOwnAnswer = "its own lookup does not find this entry";
constexpr const char *UnresolvedType =
    "weak and defined nowhere, but a relocation other than GLOB_DAT and R_X86_64_64 (a lazy PLT slot looks up later) "
    "is against it";
} // namespace Reason

// An undefined symbol with a value: glibc's lookup takes it as a definition
// for every class but PLT's.
bool addressOnly(const Symbol &s) {
  return !s.isDefined() && s.value != 0 && s.binding != STB_LOCAL && !s.name.empty();
}

} // namespace

std::optional<std::string> whyNotSelfBound(const SelfReference &ref, uint32_t self,
                                           const std::vector<ScopeHolder> &holders, bool symbolic) {
  if (!ref.defined)
    return std::string("not defined by the object");
  if (symbolic)
    return std::string(Reason::Symbolic);
  if (ref.localVisibility)
    return std::string(Reason::LocalAlready);
  if (ref.tls)
    return std::string(Reason::Tls);
  if (ref.unique)
    return std::string(Reason::Unique);
  if (ref.absolute || ref.zeroValue)
    return std::string(Reason::NoAddress);
  for (uint32_t type : ref.relocationTypes)
    if (type != R_X86_64_GLOB_DAT && type != R_X86_64_JUMP_SLOT && type != R_X86_64_64)
      return std::string(Reason::OtherType);
  bool ownFound = false;
  for (const ScopeHolder &h : holders) {
    if (h.object < self) {
      if (h.addressOnly)
        return std::string(Reason::Canonical);
      if (h.defines && h.versionMatches)
        return std::string(Reason::Interposed);
    } else if (h.object == self) {
      if (!h.defines || !h.versionMatches)
        continue;
      if (h.symbol != ref.symbol)
        return std::string(Reason::Twice);
      ownFound = true;
    } else if (ref.weak && h.defines) {
      return std::string(Reason::WeakLater);
    }
  }
  if (!ownFound)
    return std::string(Reason::NotOwnAnswer);
  return std::nullopt;
}

std::optional<std::string> whyNotUnresolvedBound(const SelfReference &ref, bool heldInScope) {
  if (ref.defined)
    return std::string("defined by the object");
  if (!ref.weak)
    return std::string("not weak: the start fails without a definer");
  if (ref.tls)
    return std::string(Reason::Tls);
  for (uint32_t type : ref.relocationTypes)
    if (type != R_X86_64_GLOB_DAT && type != R_X86_64_64)
      return std::string(Reason::UnresolvedType);
  if (heldInScope)
    return std::string("an object of the scope holds the name");
  return std::nullopt;
}

SelfBindingPlan planSelfBinding(const ElfFile &object, const SelfBindingOptions &options) {
  SelfBindingPlan plan;
  plan.program = options.program;
  LoadedScope scope = loadStartupScope(options.program, &object);
  // The scope is a program's: a library's own dependencies are not what
  // any program that loads it searches first.
  if (!scope.objects[0]->findSegment(PT_INTERP))
    fatal(options.program + ": not a program (no PT_INTERP): --bind-self needs the program whose start loads " +
          object.name());
  if (!scope.notFound.empty())
    fatal(options.program + ": cannot find " + scope.notFound.front() +
          " (needed at startup) on the loader's search path; the scope cannot be proved (--bind-self)");
  plan.scope = scope.paths;
  if (!scope.position) {
    plan.notApplied = "not loaded at the start of " + options.program +
                      " (a library it opens with dlopen has a scope that depends on when it is opened)";
    return plan;
  }
  uint32_t self = uint32_t(*scope.position);
  plan.position = self;

  std::vector<Symbol> own = dynamicSymbolsOf(object);
  SymbolVersions ownVersions = readSymbolVersions(object, own.size());
  const Section *dynsym = object.findSectionOfType(SHT_DYNSYM);
  if (!dynsym || own.empty()) {
    plan.notApplied = "no dynamic symbols";
    return plan;
  }

  // The object's relocations per symbol entry, and its lookups (a run of one
  // symbol costs one: glibc's one-entry cache).
  std::vector<SelfReference> refs(own.size());
  std::vector<std::pair<uint32_t, uint64_t>> lookupRuns; // symbol, relocations in the run
  for (const Section &s : object.sections()) {
    if (s.type() != SHT_RELA || s.header.sh_link != dynsym->index)
      continue;
    for (const ELFT::Rela &rela : decodeRela(object.contents(s))) {
      uint32_t sym = rela.getSymbol(false);
      if (sym == 0 || sym >= own.size())
        continue;
      SelfReference &r = refs[sym];
      uint32_t type = rela.getType(false);
      if (std::find(r.relocationTypes.begin(), r.relocationTypes.end(), type) == r.relocationTypes.end())
        r.relocationTypes.push_back(type);
      ++r.relocations;
      if (own[sym].binding == STB_LOCAL)
        continue;
      if (!lookupRuns.empty() && lookupRuns.back().first == sym)
        ++lookupRuns.back().second;
      else
        lookupRuns.push_back({sym, 1});
    }
  }

  // Candidates: the object's own exported definitions it relocates against.
  std::unordered_map<std::string, std::vector<uint32_t>> candidatesByName;
  for (uint32_t i = 1; i < own.size(); ++i) {
    const Symbol &s = own[i];
    SelfReference &r = refs[i];
    r.name = s.name;
    r.symbol = i;
    r.defined = s.isDefined();
    r.absolute = s.shndx == SHN_ABS;
    r.zeroValue = s.value == 0;
    r.tls = s.type == STT_TLS;
    r.unique = s.binding == STB_GNU_UNIQUE;
    r.weak = s.binding == STB_WEAK;
    uint8_t visibility = s.other & 3;
    r.localVisibility = visibility == STV_PROTECTED || visibility == STV_HIDDEN || visibility == STV_INTERNAL;
    if (r.relocations && s.binding != STB_LOCAL && !s.name.empty() && (r.defined || r.weak))
      candidatesByName[s.name].push_back(i);
  }

  // Who holds each candidate's name in the scope, in scope order.
  std::unordered_map<std::string, std::vector<std::pair<uint32_t, uint32_t>>> holdersOf; // (object, symbol)
  std::vector<std::vector<Symbol>> symbols(scope.objects.size());
  std::vector<SymbolVersions> versions(scope.objects.size());
  for (uint32_t o = 0; o < scope.objects.size(); ++o) {
    if (o == self) {
      symbols[o] = own;
      versions[o] = ownVersions;
    } else {
      symbols[o] = dynamicSymbolsOf(*scope.objects[o]);
      versions[o] = readSymbolVersions(*scope.objects[o], symbols[o].size());
    }
    for (uint32_t i = 1; i < symbols[o].size(); ++i) {
      const Symbol &s = symbols[o][i];
      if ((exportsDefinition(s) || addressOnly(s)) && candidatesByName.count(s.name))
        holdersOf[s.name].push_back({o, i});
    }
  }

  bool symbolic = isSymbolic(object);
  std::vector<bool> marked(own.size(), false);
  std::map<std::string, uint64_t> kept;
  for (auto &[name, entries] : candidatesByName)
    for (uint32_t i : entries) {
      const SelfReference &r = refs[i];
      if (!r.defined) {
        // A weak reference: bound to 0 only where nobody holds the name.
        bool held = false;
        for (auto [o, k] : holdersOf[name])
          held |= exportsDefinition(symbols[o][k]) || addressOnly(symbols[o][k]);
        if (std::optional<std::string> why = whyNotUnresolvedBound(r, held)) {
          if (*why == Reason::UnresolvedType)
            kept[*why] += r.relocations;
          continue;
        }
        marked[i] = true;
        plan.unresolved.push_back({name, i, r.relocations});
        plan.relocationsUnresolved += r.relocations;
        continue;
      }
      const std::string *wanted = ownVersions.name(i);
      std::vector<ScopeHolder> holders;
      std::string firstInterposer;
      for (auto [o, k] : holdersOf[name]) {
        const Symbol &s = symbols[o][k];
        ScopeHolder h;
        h.object = o;
        h.symbol = k;
        h.defines = exportsDefinition(s);
        h.addressOnly = addressOnly(s);
        h.versionMatches = h.defines && versions[o].matches(k, wanted);
        if (o < self && firstInterposer.empty() && (h.addressOnly || h.versionMatches))
          firstInterposer = std::filesystem::path(scope.paths[o]).filename().string();
        holders.push_back(h);
      }
      std::optional<std::string> why = whyNotSelfBound(r, self, holders, symbolic);
      // Interposed or canonical: another object answers, not a self-reference.
      if (!why || (*why != Reason::Interposed && *why != Reason::Canonical))
        plan.selfAnswered += r.relocations;
      if (why) {
        kept[*why] += r.relocations;
        if (plan.keptExamples.size() < 20)
          plan.keptExamples.push_back(
              {name, firstInterposer.empty() ? *why : *why + " (" + firstInterposer + ")"});
        continue;
      }
      marked[i] = true;
      plan.bound.push_back({name, i, r.relocations});
      plan.relocationsBound += r.relocations;
    }
  auto bySymbol = [](const SelfBound &a, const SelfBound &b) { return a.symbol < b.symbol; };
  std::sort(plan.bound.begin(), plan.bound.end(), bySymbol);
  std::sort(plan.unresolved.begin(), plan.unresolved.end(), bySymbol);
  for (auto &[reason, count] : kept)
    plan.keptByReason.push_back({reason, count});
  std::sort(plan.keptByReason.begin(), plan.keptByReason.end(),
            [](auto &a, auto &b) { return a.second != b.second ? a.second > b.second : a.first < b.first; });
  plan.lookupsBefore = lookupRuns.size();
  // After: the runs of unmarked symbols, those adjacent after the marked
  // ones drop out merged.
  uint32_t previous = 0;
  for (auto [sym, count] : lookupRuns) {
    if (marked[sym] || sym == previous)
      continue;
    ++plan.lookupsAfter;
    previous = sym;
  }
  return plan;
}

std::vector<SelfBound> busiestSelfBound(const SelfBindingPlan &plan, size_t count) {
  std::vector<SelfBound> busiest = plan.bound;
  std::stable_sort(busiest.begin(), busiest.end(),
                   [](const SelfBound &a, const SelfBound &b) { return a.relocations > b.relocations; });
  if (busiest.size() > count)
    busiest.resize(count);
  return busiest;
}

AppliedSelfBinding applySelfBinding(ElfEditor &editor, SelfBindingPlan &plan) {
  AppliedSelfBinding applied;
  if (plan.bound.empty() && plan.unresolved.empty())
    return applied;
  const ElfFile &in = editor.input();
  const Section *dynsym = in.findSectionOfType(SHT_DYNSYM);
  std::span<const uint8_t> symbols = in.contents(*dynsym);
  size_t count = symbols.size() / sizeof(ELFT::Sym);
  auto symbolAt = [&](uint32_t index) {
    if (index >= count)
      fatal(in.name() + ": .dynsym entry " + std::to_string(index) + " is past the table (--bind-self)");
    ELFT::Sym sym;
    std::memcpy(&sym, symbols.data() + uint64_t(index) * sizeof sym, sizeof sym);
    return sym;
  };
  // A load-time relocation against a bound definition with a plain address
  // becomes R_X86_64_RELATIVE with the same result (load address + value +
  // addend), which --pack-relative-relocs can then pack: the loader's
  // cheapest relocation. GLOB_DAT only with addend 0 (glibc ignores its
  // addend); never in the PLT's relocations (a lazy slot must stay a
  // JUMP_SLOT), never an ifunc (its resolver gives the value).
  std::vector<bool> relative(count, false);
  for (const SelfBound &b : plan.bound) {
    ELFT::Sym sym = symbolAt(b.symbol);
    relative[b.symbol] = sym.getType() != STT_GNU_IFUNC && sym.st_shndx != SHN_UNDEF && sym.st_shndx != SHN_ABS;
  }
  std::optional<uint64_t> jmprel = in.dynamicValue(DT_JMPREL);
  std::vector<bool> keepsSymbol(count, false);
  for (const Section &s : in.sections()) {
    if (s.type() != SHT_RELA || s.header.sh_link != dynsym->index)
      continue;
    bool plt = jmprel && s.addr() == *jmprel;
    std::span<uint8_t> bytes = editor.mutableContents(s.index);
    for (uint64_t off = 0; off + sizeof(ELFT::Rela) <= bytes.size(); off += sizeof(ELFT::Rela)) {
      ELFT::Rela r;
      std::memcpy(&r, bytes.data() + off, sizeof r);
      uint32_t sym = r.getSymbol(false), type = r.getType(false);
      if (sym >= count || !relative[sym])
        continue;
      if (plt || !(type == R_X86_64_64 || (type == R_X86_64_GLOB_DAT && r.r_addend == 0))) {
        keepsSymbol[sym] = true;
        continue;
      }
      r.r_addend = int64_t(symbolAt(sym).st_value + uint64_t(r.r_addend));
      r.setSymbolAndType(0, R_X86_64_RELATIVE, false);
      std::memcpy(bytes.data() + off, &r, sizeof r);
      ++plan.relocationsRelative;
    }
  }
  std::vector<uint8_t> table(symbols.begin(), symbols.begin() + count * sizeof(ELFT::Sym));
  std::vector<uint32_t> aliasOf(count, 0);
  // Copies in .dynsym order, so that a name's copy does not depend on
  // which list holds it; only for entries some relocation still names.
  std::vector<SelfBound *> copies;
  for (SelfBound &b : plan.bound)
    if (!relative[b.symbol] || keepsSymbol[b.symbol])
      copies.push_back(&b);
  for (SelfBound &b : plan.unresolved)
    copies.push_back(&b);
  if (copies.empty())
    return applied;
  std::sort(copies.begin(), copies.end(), [](const SelfBound *a, const SelfBound *b) { return a->symbol < b->symbol; });
  for (SelfBound *b : copies) {
    ELFT::Sym copy = symbolAt(b->symbol);
    b->alias = uint32_t(table.size() / sizeof(ELFT::Sym));
    aliasOf[b->symbol] = b->alias;
    copy.st_other = uint8_t((copy.st_other & ~3u) | STV_HIDDEN);
    if (copy.st_shndx == SHN_UNDEF) { // a weak reference nobody defines: absolute 0, as its lookup gave
      copy.st_shndx = SHN_ABS;
      copy.st_value = 0;
    }
    const uint8_t *raw = reinterpret_cast<const uint8_t *>(&copy);
    table.insert(table.end(), raw, raw + sizeof copy);
  }
  // The relocations against a bound definition now name its copy.
  editor.renumberRelocationSymbols(dynsym->index, count,
                                   [&](uint32_t sym) { return aliasOf[sym] ? aliasOf[sym] : sym; });
  const Section *versym = in.findSectionOfType(SHT_GNU_versym);
  std::vector<uint8_t> versions;
  if (versym) {
    std::span<const uint8_t> v = in.contents(*versym);
    if (v.size() < count * 2)
      fatal(in.name() + ": .gnu.version is shorter than .dynsym (--bind-self)");
    versions.assign(v.begin(), v.begin() + count * 2);
    for (const SelfBound *b : copies)
      versions.insert(versions.end(), v.begin() + b->symbol * 2, v.begin() + b->symbol * 2 + 2);
  }
  NewSection table_;
  table_.name = ".dynsym";
  table_.type = SHT_DYNSYM;
  table_.align = 8;
  table_.entsize = sizeof(ELFT::Sym);
  table_.link = dynsym->header.sh_link;
  table_.info = dynsym->header.sh_info;
  table_.data = std::move(table);
  editor.retireSection(dynsym->index, ".elfopt.old.dynsym");
  applied.dynsym = editor.addSection(std::move(table_));
  if (versym) {
    editor.retireSection(versym->index, ".elfopt.old.gnu.version");
    NewSection v;
    v.name = ".gnu.version";
    v.type = SHT_GNU_versym;
    v.align = 2;
    v.entsize = 2;
    v.link = *applied.dynsym;
    v.data = std::move(versions);
    applied.versym = editor.addSection(std::move(v));
  }
  for (const Section &s : in.sections())
    if (s.header.sh_link == dynsym->index && s.index != dynsym->index && (!versym || s.index != versym->index))
      editor.setSectionLink(s.index, *applied.dynsym);
  return applied;
}

void finishSelfBinding(ElfEditor &editor, const AppliedSelfBinding &applied) {
  if (applied.dynsym)
    editor.setDynamicEntry(DT_SYMTAB, editor.sectionAddress(*applied.dynsym));
  if (applied.versym)
    editor.setDynamicEntry(DT_VERSYM, editor.sectionAddress(*applied.versym));
}

} // namespace elfopt
