//===- VerifyRelocs.cpp - check packed relative relocations ---------------===//
#include "elfopt/Verify/VerifyRelocs.h"

#include "elfopt/Elf/Relocations.h"
#include "elfopt/Elf/Versions.h"
#include "elfopt/Support/Diagnostics.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <set>
#include <tuple>

using namespace llvm::ELF;

namespace elfopt {

namespace {

constexpr const char *RelrVersion = "GLIBC_ABI_DT_RELR";
constexpr uint32_t RelrVersionHash = 0x0fd0e42; // the ELF hash glibc compares first

/// A file as the loader reads it.
struct Loaded {
  const ElfFile &file;
  std::vector<std::string> &problems;
  std::string label;

  /// Bytes at a dynamic tag's address, \p sizeTag long; empty if absent.
  std::span<const uint8_t> table(int64_t addressTag, int64_t sizeTag) const {
    auto address = file.dynamicValue(addressTag), size = file.dynamicValue(sizeTag);
    if (!address || !size || !*size)
      return {};
    auto offset = file.offsetOfAddress(*address, *size);
    if (!offset) {
      problems.push_back(label + ": the table at " + hex(*address) + " (" + std::to_string(*size) +
                         " bytes) is not in the file image");
      return {};
    }
    return file.bytes().subspan(*offset, *size);
  }

  std::optional<uint64_t> word(uint64_t address) const { return file.wordAt(address); }

  bool writable(uint64_t address) const {
    return std::ranges::any_of(file.segments(), [&](const Phdr &p) {
      return p.p_type == PT_LOAD && (p.p_flags & PF_W) && p.p_vaddr <= address &&
             address + 8 <= p.p_vaddr + p.p_filesz;
    });
  }

  std::string string(uint64_t offset) const {
    auto strings = table(DT_STRTAB, DT_STRSZ);
    if (offset >= strings.size())
      return "?";
    const char *p = reinterpret_cast<const char *>(strings.data()) + offset;
    return std::string(p, strnlen(p, strings.size() - offset));
  }
};

using Need = std::tuple<std::string, std::string, uint32_t, uint16_t, uint16_t>; // file, version, hash, flags, index

/// The version needs, walked as glibc walks them (vn_next, vna_next).
std::vector<Need> readNeeds(const Loaded &f) {
  std::vector<Need> out;
  auto address = f.file.dynamicValue(DT_VERNEED);
  uint64_t count = f.file.dynamicValue(DT_VERNEEDNUM).value_or(0);
  if (!address)
    return out;
  auto base = f.file.offsetOfAddress(*address);
  if (!base)
    return out;
  auto bytes = f.file.bytes();
  auto u16 = [&](uint64_t at) -> uint16_t {
    uint16_t v = 0;
    if (at + 2 <= bytes.size())
      std::memcpy(&v, bytes.data() + at, 2);
    return v;
  };
  auto u32 = [&](uint64_t at) -> uint32_t {
    uint32_t v = 0;
    if (at + 4 <= bytes.size())
      std::memcpy(&v, bytes.data() + at, 4);
    return v;
  };
  uint64_t at = *base;
  for (uint64_t n = 0; n < count && n < 65536; ++n) {
    std::string file = f.string(u32(at + 4));
    uint64_t aux = at + u32(at + 8);
    for (uint16_t k = 0, cnt = u16(at + 2); k < cnt; ++k) {
      out.emplace_back(file, f.string(u32(aux + 8)), u32(aux), u16(aux + 4), u16(aux + 6));
      aux += u32(aux + 12);
    }
    if (!u32(at + 12))
      break;
    at += u32(at + 12);
  }
  return out;
}

std::string describe(const ELFT::Rela &r) {
  return "(" + hex(r.r_offset) + ", type " + std::to_string(r.getType(false)) + ", symbol " +
         std::to_string(r.getSymbol(false)) + ", addend " + hex(uint64_t(r.r_addend)) + ")";
}

} // namespace

RelocVerifyReport verifyPackedRelocations(const ElfFile &before, const ElfFile &after) {
  RelocVerifyReport report;
  auto &problems = report.problems;
  Loaded a{before, problems, before.name()}, b{after, problems, after.name()};
  auto problem = [&](const std::string &text) {
    if (problems.size() < 50)
      problems.push_back(text);
  };

  // 1. What each word relocated relative to the base holds after loading,
  //    less the base; and the other relocations, in order.
  auto model = [&](const Loaded &f, std::map<uint64_t, uint64_t> &relative, std::vector<ELFT::Rela> &other,
                   uint64_t *relrCount) {
    for (auto [addressTag, sizeTag] : {std::pair{DT_RELA, DT_RELASZ}, std::pair{DT_JMPREL, DT_PLTRELSZ}})
      for (const ELFT::Rela &r : decodeRela(f.table(addressTag, sizeTag))) {
        if (r.getType(false) == R_X86_64_RELATIVE) {
          if (!relative.emplace(r.r_offset, uint64_t(r.r_addend)).second)
            problem(f.label + ": the word at " + hex(r.r_offset) + " is relocated twice");
        } else {
          other.push_back(r);
        }
      }
    if (f.file.dynamicValue(DT_RELR) && f.file.dynamicValue(DT_RELRENT) != 8)
      problem(f.label + ": DT_RELR without DT_RELRENT 8, which glibc asserts");
    for (uint64_t place : decodeRelr(f.table(DT_RELR, DT_RELRSZ))) {
      auto value = f.word(place);
      if (place % 8 || !value || !f.writable(place)) {
        problem(f.label + ": RELR relocates " + hex(place) + ", which is not an aligned word of a writable "
                                                             "segment's file image");
        continue;
      }
      if (relrCount)
        ++*relrCount;
      if (!relative.emplace(place, *value).second)
        problem(f.label + ": the word at " + hex(place) + " is relocated twice");
    }
  };
  std::map<uint64_t, uint64_t> relativeBefore, relativeAfter;
  std::vector<ELFT::Rela> otherBefore, otherAfter;
  model(a, relativeBefore, otherBefore, nullptr);
  model(b, relativeAfter, otherAfter, &report.relrWords);
  report.relativeWords = relativeAfter.size();
  for (auto [place, value] : relativeBefore) {
    auto it = relativeAfter.find(place);
    if (it == relativeAfter.end())
      problem(after.name() + ": the word at " + hex(place) + " is no longer relocated (base + " + hex(value) + ")");
    else if (it->second != value)
      problem(after.name() + ": the word at " + hex(place) + " loads as base + " + hex(it->second) +
              ", expected base + " + hex(value));
  }
  for (auto [place, value] : relativeAfter)
    if (!relativeBefore.count(place))
      problem(after.name() + ": the word at " + hex(place) + " is relocated (base + " + hex(value) +
              ") but was not before");
  if (otherBefore.size() != otherAfter.size())
    problem(after.name() + ": " + std::to_string(otherAfter.size()) + " other dynamic relocations, expected " +
            std::to_string(otherBefore.size()));
  for (size_t i = 0; i < std::min(otherBefore.size(), otherAfter.size()); ++i)
    if (std::memcmp(&otherBefore[i], &otherAfter[i], sizeof(ELFT::Rela)))
      problem(after.name() + ": dynamic relocation " + std::to_string(i) + " is " + describe(otherAfter[i]) +
              ", expected " + describe(otherBefore[i]));

  // 2. Every loaded section of the original, where it was (or, when the
  //    editor moved it to make room for program headers, by name), with the
  //    same bytes but for the words RELR now relocates; and .dynamic's
  //    entries, but for those the pass owns and the moved sections' addresses.
  std::set<uint64_t> skipped; // addresses of sections the pass rewrites
  for (int64_t tag : {DT_RELA, DT_VERNEED})
    if (auto address = before.dynamicValue(tag))
      skipped.insert(*address);
  std::map<uint64_t, uint64_t> movedTo;
  uint64_t changedBytes = 0;
  for (const Section &s : before.sections()) {
    if (!s.isAlloc() || !s.hasFileData() || !s.size() || s.type() == SHT_DYNAMIC || skipped.count(s.addr()))
      continue;
    const Section *now = nullptr;
    for (const Section &t : after.sections())
      if (t.isAlloc() && t.addr() == s.addr() && t.size() == s.size())
        now = &t;
    if (!now)
      for (const Section &t : after.sections())
        if (t.isAlloc() && t.name == s.name && t.size() == s.size() && t.type() == s.type())
          now = &t;
    if (!now) {
      problem(after.name() + ": section " + s.name + " (" + hex(s.addr()) + ") is gone");
      continue;
    }
    if (now->addr() != s.addr())
      movedTo[s.addr()] = now->addr();
    auto old = before.contents(s), data = after.contents(*now);
    for (uint64_t i = 0; i < old.size(); ++i) {
      if (old[i] == data[i])
        continue;
      uint64_t word = (s.addr() + i) & ~uint64_t(7);
      bool relocated = now->addr() == s.addr() && relativeAfter.count(word) &&
                       (!relativeBefore.count(word) || relativeBefore.at(word) == relativeAfter.at(word));
      if (!relocated && ++changedBytes <= 5)
        problem(after.name() + ": " + s.name + "+" + hex(i) + " changed (" + hex(old[i]) + " -> " +
                hex(data[i]) + ")");
    }
  }
  if (changedBytes > 5)
    problem(after.name() + ": " + std::to_string(changedBytes) + " bytes of loaded sections changed in all");

  // 3. .dynamic: the same entries but for those the pass owns.
  static const std::set<int64_t> owned = {DT_RELACOUNT, DT_RELASZ, DT_RELA, DT_RELAENT, DT_VERNEED,
                                          DT_VERNEEDNUM, DT_STRTAB, DT_STRSZ, DT_RELR, DT_RELRSZ, DT_RELRENT};
  auto entries = [&](const ElfFile &f, bool mapMoved) {
    std::multiset<std::pair<int64_t, uint64_t>> out;
    for (const Dyn &d : f.dynamicEntries()) {
      // A DT_NULL's value means nothing (the first ends the table), and a
      // spare slot may hold a leftover one (libGLX.so.0's hold 0x6ac) that
      // becomes the terminator's when an entry is added before it.
      if (owned.count(d.d_tag) || d.d_tag == DT_NULL)
        continue;
      uint64_t value = d.d_un.d_val;
      if (auto it = movedTo.find(value); mapMoved && it != movedTo.end())
        value = it->second;
      out.insert({d.d_tag, value});
    }
    return out;
  };
  if (entries(before, true) != entries(after, false))
    problem(after.name() + ": .dynamic entries other than the relocation and version tables' changed");
  if (after.dynamicValue(DT_RELASZ).value_or(0) != 0 && after.dynamicValue(DT_RELA) != before.dynamicValue(DT_RELA))
    problem(after.name() + ": DT_RELA moved");

  // 4. Version needs: the old ones and GLIBC_ABI_DT_RELR of libc; names at
  //    their old offsets.
  auto stringsBefore = a.table(DT_STRTAB, DT_STRSZ), stringsAfter = b.table(DT_STRTAB, DT_STRSZ);
  if (stringsAfter.size() < stringsBefore.size() ||
      !std::equal(stringsBefore.begin(), stringsBefore.end(), stringsAfter.begin()))
    problem(after.name() + ": the dynamic string table does not begin with the original's");
  std::vector<Need> needsBefore = readNeeds(a), needsAfter = readNeeds(b);
  std::set<uint16_t> indices;
  for (const Need &n : needsBefore)
    indices.insert(std::get<4>(n) & 0x7fff);
  if (auto verdef = before.dynamicValue(DT_VERDEF))
    for (const Section &s : before.sections())
      if (s.addr() == *verdef && s.type() == SHT_GNU_verdef)
        walkVersionNames(before.contents(s), false, [&](const VersionNameField &f) {
          indices.insert(f.version & 0x7fff);
          return false;
        });
  std::vector<Need> added;
  std::multiset<Need> remaining(needsBefore.begin(), needsBefore.end());
  for (const Need &n : needsAfter) {
    auto it = remaining.find(n);
    if (it != remaining.end())
      remaining.erase(it);
    else
      added.push_back(n);
  }
  if (!remaining.empty())
    problem(after.name() + ": the version need " + std::get<1>(*remaining.begin()) + " of " +
            std::get<0>(*remaining.begin()) + " is gone");
  bool hadRelr = std::ranges::any_of(needsBefore, [](const Need &n) { return std::get<1>(n) == RelrVersion; });
  bool hasRelr = false;
  for (const Need &n : added) {
    auto &[file, version, hash, flags, index] = n;
    bool right = file.rfind("libc.so.", 0) == 0 && version == RelrVersion && hash == RelrVersionHash &&
                 flags == 0 && !indices.count(index & 0x7fff) && !hadRelr && !hasRelr;
    if (!right)
      problem(after.name() + ": an unexpected version need " + version + " of " + file);
    hasRelr |= right;
  }
  if (after.dynamicValue(DT_RELR) && !hadRelr && !hasRelr)
    problem(after.name() + ": DT_RELR without the version need GLIBC_ABI_DT_RELR, which glibc 2.36 refuses");
  return report;
}

} // namespace elfopt
