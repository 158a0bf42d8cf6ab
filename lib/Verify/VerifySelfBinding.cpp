//===- VerifySelfBinding.cpp - check references bound to their own object --===//
#include "elfopt/Verify/VerifySelfBinding.h"

#include "elfopt/Elf/Relocations.h"
#include "elfopt/Elf/Versions.h"
#include "elfopt/Hash/HashTables.h"
#include "elfopt/Scope/LookupMix.h"

#include "llvm/ADT/StringExtras.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <optional>
#include <set>

using namespace llvm::ELF;

namespace elfopt {

namespace {

/// One object of the scope as the loader sees it: its symbols, versions
/// and hash table (the section at the address its dynamic tag names).
class LoadedObject {
public:
  explicit LoadedObject(const ElfFile &file) {
    if (const Section *dynsym = file.findSectionOfType(SHT_DYNSYM))
      symbols = file.symbols(*dynsym);
    versions = readSymbolVersions(file, symbols.size());
    auto table = [&](int64_t tag, uint32_t type) -> const Section * {
      auto address = file.dynamicValue(tag);
      if (!address)
        return nullptr;
      for (const Section &s : file.sections())
        if (s.type() == type && s.addr() == *address)
          return &s;
      unreadable = true; // the loader has a table here that cannot be read
      return nullptr;
    };
    if (const Section *s = table(DT_GNU_HASH, SHT_GNU_HASH))
      gnu = parseGnuHash(file.contents(*s), symbols.size(), file.where(*s));
    else if (const Section *s = !unreadable ? table(DT_HASH, SHT_HASH) : nullptr)
      sysv = parseSysvHash(file.contents(*s), symbols.size(), file.where(*s));
  }

  /// The entries the loader's lookup of \p name visits that match it, in
  /// the order it visits them: name equal, not local, with a value (or TLS).
  std::vector<uint32_t> candidates(const std::string &name) const {
    std::vector<uint32_t> out;
    auto consider = [&](uint32_t i) {
      if (i >= symbols.size())
        return;
      const Symbol &s = symbols[i];
      bool valued = s.value != 0 || s.shndx == SHN_ABS || s.type == STT_TLS;
      bool typed = s.type <= STT_FUNC || s.type == STT_COMMON || s.type == STT_TLS || s.type == STT_GNU_IFUNC;
      if (valued && typed && s.binding != STB_LOCAL && s.name == name)
        out.push_back(i);
    };
    if (gnu) {
      const GnuHashTable &t = *gnu;
      uint32_t h = gnuHash(name);
      uint64_t bits = gnuBloomBits(h, t.bloomShift);
      if ((t.bloom[(h / 64) % t.bloom.size()] & bits) != bits)
        return out;
      for (uint32_t k = t.buckets[h % t.nbuckets]; k >= t.symoffset && k < symbols.size(); ++k) {
        uint32_t entry = t.chain[k - t.symoffset];
        if ((entry | 1) == (h | 1))
          consider(k);
        if (entry & 1)
          break;
      }
    } else if (sysv) {
      const SysvHashTable &t = *sysv;
      // parseSysvHash bounds every chain; a cycle stops after nchain steps.
      uint32_t k = t.buckets.empty() ? 0 : t.buckets[sysvHash(name) % t.buckets.size()];
      for (size_t steps = 0; k != 0 && k < t.chain.size() && steps <= t.chain.size(); ++steps, k = t.chain[k])
        consider(k);
    }
    return out;
  }

  std::vector<Symbol> symbols;
  SymbolVersions versions;
  std::optional<GnuHashTable> gnu;
  std::optional<SysvHashTable> sysv;
  bool unreadable = false; ///< a hash table the dynamic tags name has no section
};

} // namespace

SelfBindingVerifyReport verifySelfBinding(const ElfFile &before, const ElfFile &after, const std::string &program) {
  SelfBindingVerifyReport report;
  auto problem = [&](const std::string &p) {
    if (report.problems.size() < 50)
      report.problems.push_back(p);
  };
  const Section *dynsym = before.findSectionOfType(SHT_DYNSYM);
  const Section *newDynsym = after.findSectionOfType(SHT_DYNSYM);
  if (!dynsym || !newDynsym) {
    problem("no .dynsym");
    return report;
  }
  if (after.dynamicValue(DT_SYMTAB) != newDynsym->addr())
    problem("DT_SYMTAB does not point at the output's .dynsym");
  std::span<const uint8_t> oldSyms = before.contents(*dynsym), newSyms = after.contents(*newDynsym);
  size_t count = oldSyms.size() / sizeof(ELFT::Sym);
  if (newSyms.size() < oldSyms.size() || !std::equal(oldSyms.begin(), oldSyms.end(), newSyms.begin())) {
    problem("the output's .dynsym does not begin with the input's entries, unchanged");
    return report;
  }
  size_t newCount = newSyms.size() / sizeof(ELFT::Sym);
  // The version table: the same, then each copy's version.
  std::span<const uint8_t> oldVersions, newVersions;
  if (const Section *v = before.findSectionOfType(SHT_GNU_versym))
    oldVersions = before.contents(*v);
  if (const Section *v = after.findSectionOfType(SHT_GNU_versym)) {
    newVersions = after.contents(*v);
    if (after.dynamicValue(DT_VERSYM) != v->addr())
      problem("DT_VERSYM does not point at the output's .gnu.version");
  }
  if (!oldVersions.empty() &&
      (newVersions.size() < newCount * 2 || !std::equal(oldVersions.begin(), oldVersions.begin() + count * 2,
                                                       newVersions.begin())))
    problem("the output's .gnu.version does not begin with the input's, unchanged, for every symbol");

  // Relocation by relocation: the same but for a symbol that became its
  // copy, or a load-time relocation against a plain definition that became
  // R_X86_64_RELATIVE to the same word.
  std::vector<uint32_t> originalOf(newCount, 0);
  std::vector<uint32_t> marked;
  std::optional<uint64_t> jmprel = before.dynamicValue(DT_JMPREL);
  for (const Section &s : before.sections()) {
    if (s.type() != SHT_RELA || s.header.sh_link != dynsym->index)
      continue;
    const Section *t = after.findSection(s.name);
    if (!t || t->type() != SHT_RELA || t->size() != s.size()) {
      problem(s.name + " is missing or changed size in the output");
      continue;
    }
    std::vector<ELFT::Rela> a = decodeRela(before.contents(s)), b = decodeRela(after.contents(*t));
    for (size_t k = 0; k < a.size() && k < b.size(); ++k) {
      uint32_t from = a[k].getSymbol(false), to = b[k].getSymbol(false);
      std::string where = s.name + " entry " + std::to_string(k);
      uint32_t typeBefore = a[k].getType(false), typeAfter = b[k].getType(false);
      if (typeAfter == R_X86_64_RELATIVE && typeBefore != R_X86_64_RELATIVE) {
        ELFT::Sym o{};
        if (from < count)
          std::memcpy(&o, oldSyms.data() + uint64_t(from) * sizeof o, sizeof o);
        bool loadTime = typeBefore == R_X86_64_64 || (typeBefore == R_X86_64_GLOB_DAT && a[k].r_addend == 0);
        if (from == 0 || from >= count || to != 0 || a[k].r_offset != b[k].r_offset || !loadTime ||
            (jmprel && s.addr() == *jmprel) || o.getType() == STT_GNU_IFUNC || o.st_shndx == SHN_UNDEF ||
            o.st_shndx == SHN_ABS || (o.st_other & 3) != STV_DEFAULT ||
            uint64_t(b[k].r_addend) != o.st_value + uint64_t(a[k].r_addend)) {
          problem(where + ": made R_X86_64_RELATIVE, but not from a load-time relocation against a plain "
                          "default-visibility definition, to its value plus addend");
          continue;
        }
        marked.push_back(from);
        continue;
      }
      if (a[k].r_offset != b[k].r_offset || a[k].r_addend != b[k].r_addend || typeBefore != typeAfter) {
        problem(where + ": offset, type or addend changed");
        continue;
      }
      if (from == to)
        continue;
      if (to < count || to >= newCount || from >= count) {
        problem(where + ": symbol " + std::to_string(from) + " -> " + std::to_string(to) + ", not a copy added after the input's symbols");
        continue;
      }
      if (originalOf[to] && originalOf[to] != from) {
        problem(where + ": copy " + std::to_string(to) + " stands for two symbols");
        continue;
      }
      if (!originalOf[to]) {
        originalOf[to] = from;
        marked.push_back(from);
        ELFT::Sym o, c;
        std::memcpy(&o, oldSyms.data() + uint64_t(from) * sizeof o, sizeof o);
        std::memcpy(&c, newSyms.data() + uint64_t(to) * sizeof c, sizeof c);
        uint8_t otherBefore = o.st_other;
        o.st_other = uint8_t((o.st_other & ~3u) | STV_HIDDEN);
        if (o.st_shndx == SHN_UNDEF) { // a weak reference bound to 0: absolute 0
          o.st_shndx = SHN_ABS;
          o.st_value = 0;
        }
        if ((otherBefore & 3) != STV_DEFAULT || std::memcmp(&o, &c, sizeof o) != 0)
          problem(".dynsym " + std::to_string(to) + " is not a hidden copy of the default-visibility entry " +
                  std::to_string(from) + (o.st_shndx == SHN_ABS ? " (absolute 0 for an undefined one)" : ""));
        if (!oldVersions.empty() && newVersions.size() >= newCount * 2 &&
            std::memcmp(newVersions.data() + to * 2, oldVersions.data() + from * 2, 2) != 0)
          problem(".gnu.version of copy " + std::to_string(to) + " is not entry " + std::to_string(from) + "'s");
      }
    }
  }
  // Each entry once, however many relocations (made relative, or naming
  // its copy) led to it.
  std::sort(marked.begin(), marked.end());
  marked.erase(std::unique(marked.begin(), marked.end()), marked.end());
  if (marked.empty())
    return report;

  LoadedScope scope = loadStartupScope(program, &before);
  if (!scope.position) {
    problem(before.name() + " is not loaded at the start of " + program);
    return report;
  }
  size_t self = *scope.position;
  std::vector<std::unique_ptr<LoadedObject>> objects;
  for (const ElfFile *o : scope.objects)
    objects.push_back(std::make_unique<LoadedObject>(*o));
  for (size_t o = 0; o < objects.size(); ++o)
    if (objects[o]->unreadable)
      problem(scope.paths[o] + ": its dynamic tags name a hash table no section holds; lookups in it cannot be checked");
  const LoadedObject &own = *objects[self];

  std::vector<std::set<uint32_t>> types(own.symbols.size());
  std::vector<uint64_t> relocationsOf(own.symbols.size());
  for (const Section &s : before.sections())
    if (s.type() == SHT_RELA && s.header.sh_link == dynsym->index)
      for (const ELFT::Rela &r : decodeRela(before.contents(s)))
        if (r.getSymbol(false) < types.size()) {
          types[r.getSymbol(false)].insert(r.getType(false));
          ++relocationsOf[r.getSymbol(false)];
        }

  for (uint32_t i : marked) {
    ++report.marked;
    if (i >= own.symbols.size()) {
      problem(".dynsym entry " + std::to_string(i) + " is past the symbols");
      continue;
    }
    const Symbol &sym = own.symbols[i];
    std::string what = "`" + sym.name + "' (.dynsym " + std::to_string(i) + ")";
    if (!sym.isDefined()) {
      // Bound to 0: the lookup must have found nothing. Any entry of the
      // name that the loader's lookup visits in any object, defined or an
      // address in another version, counts against it.
      ++report.unresolved;
      if (sym.binding != STB_WEAK || sym.type == STT_TLS)
        problem(what + ": bound to 0 but not a weak, non-TLS reference");
      for (uint32_t t : types[i])
        if (t != R_X86_64_GLOB_DAT && t != R_X86_64_64)
          problem(what + ": bound to 0, but a relocation of type " + std::to_string(t) + " is against it");
      for (size_t o = 0; o < objects.size(); ++o)
        if (!objects[o]->candidates(sym.name).empty())
          problem(what + ": bound to 0, but " + std::filesystem::path(scope.paths[o]).filename().string() +
                  " answers its lookup");
      report.relocations += relocationsOf[i];
      continue;
    }
    for (uint32_t t : types[i])
      if (t != R_X86_64_GLOB_DAT && t != R_X86_64_JUMP_SLOT && t != R_X86_64_64)
        problem(what + ": a relocation of type " + std::to_string(t) + " is against it");
    if (!sym.isDefined() || sym.type == STT_TLS || sym.binding == STB_GNU_UNIQUE)
      problem(what + ": undefined, thread-local or unique");
    const std::string *wanted = own.versions.name(i);
    bool answered = false;
    for (size_t o = 0; o < objects.size() && !answered; ++o) {
      for (uint32_t k : objects[o]->candidates(sym.name)) {
        const Symbol &c = objects[o]->symbols[k];
        bool matches = !c.isDefined() || objects[o]->versions.matches(k, wanted);
        if (!matches)
          continue;
        if (o < self) {
          problem(what + ": " + std::filesystem::path(scope.paths[o]).filename().string() +
                  ", earlier in the scope, answers its lookup");
        } else if (o == self) {
          if (k != i)
            problem(what + ": its lookup finds entry " + std::to_string(k) + " of the object first");
        }
        if (o == self) {
          answered = true;
          break;
        }
      }
      if (o == self && !answered) {
        problem(what + ": the object's own hash table does not find it");
        answered = true;
      }
    }
    // A weak definition: no later object may define it either.
    if (sym.binding == STB_WEAK)
      for (size_t o = self + 1; o < objects.size(); ++o)
        for (uint32_t k : objects[o]->candidates(sym.name))
          if (objects[o]->symbols[k].isDefined())
            problem(what + ": weak, and " + std::filesystem::path(scope.paths[o]).filename().string() +
                    " defines it again later");
    report.relocations += relocationsOf[i];
  }
  return report;
}

} // namespace elfopt
