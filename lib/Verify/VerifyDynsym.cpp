//===- VerifyDynsym.cpp ---------------------------------------------------===//
#include "elfopt/Verify/VerifyDynsym.h"

#include "elfopt/Dynsym/Hashvals.h"
#include "elfopt/Elf/Versions.h"
#include "elfopt/Hash/HashTables.h"
#include "elfopt/Support/Diagnostics.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <tuple>

using namespace llvm::ELF;

namespace elfopt {

namespace {

constexpr size_t MaxProblems = 20;

struct Context {
  DynsymVerifyReport &report;
  void problem(const std::string &p) {
    if (report.problems.size() < MaxProblems)
      report.problems.push_back(p);
  }
};

// What identifies a dynamic symbol to the loader, apart from its index.
using SymbolKey = std::tuple<std::string, uint64_t, uint64_t, uint8_t, uint8_t, uint8_t, uint16_t, std::string>;

// A value relative to its section: the editor may move a section out of the
// way of the program headers, and the symbols in it along.
SymbolKey keyOf(const ElfFile &f, const Symbol &s, const SymbolVersions &v, uint32_t i, bool withValue) {
  const std::string *version = v.name(i);
  uint64_t value = s.value;
  if (s.shndx != SHN_UNDEF && s.shndx < SHN_LORESERVE && s.shndx < f.sections().size())
    value -= f.sections()[s.shndx].addr();
  return {s.name, withValue ? value : 0, s.size, s.type, s.binding, s.other, s.shndx,
          (version ? *version : std::string()) + (v.hidden(i) ? " (hidden)" : "")};
}

// The relocations of one section, by what they mean.
using RelocationKey = std::tuple<uint64_t, uint32_t, std::string, int64_t>;

std::vector<RelocationKey> relocationsOf(const ElfFile &f, const Section &s, const std::vector<Symbol> &syms,
                                         bool withAddend) {
  std::vector<RelocationKey> out;
  auto bytes = f.contents(s);
  for (uint64_t off = 0; off + sizeof(ELFT::Rela) <= bytes.size(); off += sizeof(ELFT::Rela)) {
    ELFT::Rela r;
    std::memcpy(&r, bytes.data() + off, sizeof(r));
    uint32_t sym = r.getSymbol(false);
    out.emplace_back(uint64_t(r.r_offset), r.getType(false),
                     sym < syms.size() ? syms[sym].name : "#" + std::to_string(sym),
                     withAddend ? int64_t(r.r_addend) : 0);
  }
  return out;
}

std::vector<std::string> dynamicStrings(const ElfFile &f, bool skipNeeded) {
  std::vector<std::string> out;
  for (const Dyn &d : f.dynamicEntries())
    if (isDynamicStringTag(d.d_tag) && !(skipNeeded && d.d_tag == DT_NEEDED))
      out.push_back(std::to_string(d.d_tag) + "=" + f.dynamicString(d.d_un.d_val));
  return out;
}

} // namespace

bool hadDynamicSymbolPasses(const ElfFile &before, const ElfFile &after) {
  if (after.dynamicValue(DT_ELFOPT_HASHVALS) && !before.dynamicValue(DT_ELFOPT_HASHVALS))
    return true;
  const Section *dsA = before.findSectionOfType(SHT_DYNSYM);
  const Section *dsB = after.findSectionOfType(SHT_DYNSYM);
  if (!dsA || !dsB)
    return false;
  std::vector<Symbol> a = before.symbols(*dsA), b = after.symbols(*dsB);
  if (a.size() != b.size())
    return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].name != b[i].name)
      return true;
  return false;
}

// Long on purpose: a flat sequence of independent checks over the two files
// (symbols, hash lookups, relocations, strings, versions, hashvals), each a
// short block that reads top to bottom.
DynsymVerifyReport verifyDynamicSymbols(const ElfFile &before, const ElfFile &after, bool textMoved,
                                        bool neededReordered) {
  DynsymVerifyReport report;
  Context c{report};
  const Section *dsA = before.findSectionOfType(SHT_DYNSYM);
  const Section *dsB = after.findSectionOfType(SHT_DYNSYM);
  if (!dsA || !dsB) {
    if (dsA || dsB)
      c.problem(".dynsym is in only one of the files");
    return report;
  }
  std::vector<Symbol> a = before.symbols(*dsA), b = after.symbols(*dsB);
  SymbolVersions va = readSymbolVersions(before, a.size()), vb = readSymbolVersions(after, b.size());
  report.symbols = b.size();
  if (a.size() != b.size())
    c.problem(".dynsym has " + std::to_string(b.size()) + " entries, expected " + std::to_string(a.size()));
  std::vector<SymbolKey> ka, kb;
  for (uint32_t i = 0; i < a.size(); ++i)
    ka.push_back(keyOf(before, a[i], va, i, !textMoved));
  for (uint32_t i = 0; i < b.size(); ++i)
    kb.push_back(keyOf(after, b[i], vb, i, !textMoved));
  std::sort(ka.begin(), ka.end());
  std::sort(kb.begin(), kb.end());
  if (ka != kb) {
    std::vector<SymbolKey> missing, extra;
    std::set_difference(ka.begin(), ka.end(), kb.begin(), kb.end(), std::back_inserter(missing));
    std::set_difference(kb.begin(), kb.end(), ka.begin(), ka.end(), std::back_inserter(extra));
    auto describe = [](const SymbolKey &k) {
      return "'" + std::get<0>(k) + "' (value " + hex(std::get<1>(k)) + ", size " + std::to_string(std::get<2>(k)) +
             ", section " + std::to_string(std::get<6>(k)) + ", version '" + std::get<7>(k) + "')";
    };
    for (const SymbolKey &k : missing)
      c.problem(".dynsym lost or changed " + describe(k));
    for (const SymbolKey &k : extra)
      c.problem(".dynsym has a new or changed " + describe(k));
  }

  // Every symbol the GNU table holds must be found where it is.
  if (const Section *gnu = after.findLinkedSection(SHT_GNU_HASH, dsB->index)) {
    if (after.dynamicValue(DT_GNU_HASH) != gnu->addr())
      c.problem("DT_GNU_HASH does not point at " + gnu->name);
    GnuHashTable t = parseGnuHash(after.contents(*gnu), b.size(), after.where(*gnu));
    for (uint32_t i = t.symoffset; i < b.size(); ++i) {
      if (!b[i].isDefined())
        continue;
      ++report.lookups;
      uint32_t h = gnuHash(b[i].name);
      uint64_t word = t.bloom[(h / 64) % t.bloom.size()];
      uint64_t bits = gnuBloomBits(h, t.bloomShift);
      bool found = false;
      if ((word & bits) == bits)
        for (uint32_t k = t.buckets[h % t.nbuckets]; k >= t.symoffset && k < b.size(); ++k) {
          uint32_t entry = t.chain[k - t.symoffset];
          if ((entry | 1) == (h | 1) && k == i) {
            found = true;
            break;
          }
          if (entry & 1)
            break;
        }
      if (!found)
        c.problem(".gnu.hash does not find " + b[i].name + " (.dynsym " + std::to_string(i) + ")");
    }
  } else if (before.findLinkedSection(SHT_GNU_HASH, dsA->index)) {
    c.problem(".gnu.hash is gone");
  }
  if (const Section *sysv = after.findLinkedSection(SHT_HASH, dsB->index)) {
    SysvHashTable t = parseSysvHash(after.contents(*sysv), b.size(), after.where(*sysv));
    for (uint32_t i = 1; i < b.size(); ++i) {
      if (!b[i].isDefined())
        continue;
      bool found = false;
      uint32_t k = t.buckets.empty() ? 0 : t.buckets[sysvHash(b[i].name) % t.buckets.size()];
      for (size_t steps = 0; k != 0 && k < t.chain.size() && steps <= b.size(); ++steps, k = t.chain[k])
        if (k == i) {
          found = true;
          break;
        }
      if (!found)
        c.problem(".hash does not find " + b[i].name + " (.dynsym " + std::to_string(i) + ")");
    }
  }

  // Dynamic relocations: the same meaning, section by section; .rela.plt
  // (DT_JMPREL) in the same order, the others as a set.
  for (const Section &s : before.sections()) {
    if (s.type() != SHT_RELA || s.header.sh_link != dsA->index)
      continue;
    if (s.index >= after.sections().size() || after.sections()[s.index].type() != SHT_RELA) {
      c.problem(s.name + " is gone");
      continue;
    }
    auto ra = relocationsOf(before, s, a, !textMoved), rb = relocationsOf(after, after.sections()[s.index], b, !textMoved);
    report.relocations += rb.size();
    bool ordered = s.addr() == before.dynamicValue(DT_JMPREL).value_or(~0ull);
    if (!ordered) {
      std::sort(ra.begin(), ra.end());
      std::sort(rb.begin(), rb.end());
    }
    if (ra != rb)
      c.problem(s.name + ": relocations changed" + (ordered ? " (or their order)" : ""));
  }
  if (dynamicStrings(before, neededReordered) != dynamicStrings(after, neededReordered))
    c.problem(".dynamic's strings (DT_NEEDED, SONAME, RUNPATH, ...) changed");
  std::map<uint16_t, std::string> na = va.names, nb = vb.names;
  if (na != nb)
    c.problem("version names changed");

  auto at = after.dynamicValue(DT_ELFOPT_HASHVALS);
  if (at && !before.dynamicValue(DT_ELFOPT_HASHVALS)) { // added by the passes
    const Section *hv = after.findSection(HashvalsSectionName);
    if (!hv || hv->addr() != *at || hv->size() != 4 * b.size()) {
      c.problem(std::string(HashvalsSectionName) + " is missing, elsewhere or of the wrong size");
    } else {
      auto bytes = after.contents(*hv);
      for (uint32_t i = 0; i < b.size(); ++i) {
        uint32_t v;
        std::memcpy(&v, bytes.data() + 4 * i, 4);
        if (v != gnuHash(b[i].name)) {
          c.problem(std::string(HashvalsSectionName) + " entry " + std::to_string(i) + " is not the hash of " +
                    b[i].name);
          break;
        }
      }
    }
  }
  return report;
}

} // namespace elfopt
