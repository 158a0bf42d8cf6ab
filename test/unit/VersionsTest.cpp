//===- VersionsTest.cpp - symbol version walks ----------------------------===//
//
// lib/Elf/Versions.cpp: walkVersionNames over Verneed and Verdef chains
// written out here, and readSymbolVersions / SymbolVersions on a small
// library built byte by byte.
//
//===----------------------------------------------------------------------===//
#include "elfopt/Elf/Versions.h"
#include "ElfBuilder.h"

#include <gtest/gtest.h>

#include <tuple>

using namespace elfopt;
using namespace elfopt::test;
using namespace llvm::ELF;

namespace {

struct Writer {
  std::vector<uint8_t> b;
  explicit Writer(size_t size) : b(size, 0) {}
  void u16(size_t at, uint16_t v) { std::memcpy(b.data() + at, &v, 2); }
  void u32(size_t at, uint32_t v) { std::memcpy(b.data() + at, &v, 4); }
  // Verneed {vn_version 1, vn_cnt, vn_file, vn_aux, vn_next}.
  void verneed(size_t at, uint16_t cnt, uint32_t file, uint32_t aux, uint32_t next) {
    u16(at, 1), u16(at + 2, cnt), u32(at + 4, file), u32(at + 8, aux), u32(at + 12, next);
  }
  // Vernaux {vna_hash 0, vna_flags 0, vna_other, vna_name, vna_next}.
  void vernaux(size_t at, uint16_t other, uint32_t name, uint32_t next) {
    u16(at + 6, other), u32(at + 8, name), u32(at + 12, next);
  }
  // Verdef {vd_version 1, vd_flags, vd_ndx, vd_cnt, vd_hash 0, vd_aux, vd_next}.
  void verdef(size_t at, uint16_t flags, uint16_t ndx, uint16_t cnt, uint32_t aux, uint32_t next) {
    u16(at, 1), u16(at + 2, flags), u16(at + 4, ndx), u16(at + 6, cnt), u32(at + 12, aux), u32(at + 16, next);
  }
  // Verdaux {vda_name, vda_next}.
  void verdaux(size_t at, uint32_t name, uint32_t next) { u32(at, name), u32(at + 4, next); }
};

// Two files' needs: the first with two versions (aux entries at 16 and
// 32), the second (at 48) with one (at 64). 80 bytes.
std::vector<uint8_t> needs() {
  Writer w(80);
  w.verneed(0, 2, 10, 16, 48);
  w.vernaux(16, 2, 20, 16);
  w.vernaux(32, 3, 30, 0);
  w.verneed(48, 1, 40, 16, 0);
  w.vernaux(64, 4, 50, 0);
  return w.b;
}

// The file's own name (index 1, at 0, its Verdaux at 20), then version 2
// (at 28) named at 48 with a parent at 56. 64 bytes.
std::vector<uint8_t> defs() {
  Writer w(64);
  w.verdef(0, VER_FLG_BASE, 1, 1, 20, 28);
  w.verdaux(20, 1, 0);
  w.verdef(28, 0, 2, 2, 20, 0);
  w.verdaux(48, 5, 8);
  w.verdaux(56, 9, 0);
  return w.b;
}

using Field = std::tuple<int, uint64_t, uint32_t, uint16_t>; // kind, at, name, version

std::vector<Field> walk(std::span<const uint8_t> bytes, bool needs, std::optional<VersionTruncation> *end = nullptr,
                        std::function<bool(const VersionNameField &)> more = {}) {
  std::vector<Field> out;
  auto r = walkVersionNames(bytes, needs, [&](const VersionNameField &f) {
    out.emplace_back(int(f.kind), f.at, f.name, f.version);
    return more ? more(f) : true;
  });
  if (end)
    *end = r;
  return out;
}

constexpr int File = VersionNameField::NeededFile, Need = VersionNameField::Needed,
              Def = VersionNameField::Defined;

} // namespace

TEST(WalkVersionNames, NeedsInFileOrder) {
  std::optional<VersionTruncation> end;
  auto bytes = needs();
  EXPECT_EQ(walk(bytes, true, &end), (std::vector<Field>{{File, 4, 10, 0},
                                                          {Need, 24, 20, 2},
                                                          {Need, 40, 30, 3},
                                                          {File, 52, 40, 0},
                                                          {Need, 72, 50, 4}}));
  EXPECT_FALSE(end.has_value());
}

TEST(WalkVersionNames, DefinitionsWithTheirParents) {
  std::optional<VersionTruncation> end;
  auto bytes = defs();
  EXPECT_EQ(walk(bytes, false, &end), (std::vector<Field>{{Def, 20, 1, 1}, {Def, 48, 5, 2}, {Def, 56, 9, 2}}));
  EXPECT_FALSE(end.has_value());
  // Returning false skips the rest of the entry's auxiliary entries only.
  auto first = walk(bytes, false, nullptr, [](const VersionNameField &) { return false; });
  EXPECT_EQ(first, (std::vector<Field>{{Def, 20, 1, 1}, {Def, 48, 5, 2}}));
}

TEST(WalkVersionNames, FalseOnAFileSkipsItsVersions) {
  auto bytes = needs();
  auto files = walk(bytes, true, nullptr, [](const VersionNameField &f) { return f.kind != File; });
  EXPECT_EQ(files, (std::vector<Field>{{File, 4, 10, 0}, {File, 52, 40, 0}}));
}

TEST(WalkVersionNames, StopsWhereAnEntryDoesNotFit) {
  auto bytes = needs();
  std::optional<VersionTruncation> end;
  // The last Vernaux (64..80) cut short: what came before was visited.
  auto fields = walk(std::span(bytes).first(70), true, &end);
  ASSERT_TRUE(end.has_value());
  EXPECT_EQ(end->at, 64u);
  EXPECT_TRUE(end->auxiliary);
  EXPECT_EQ(fields.size(), 4u);
  // The second Verneed (48..64) cut short.
  fields = walk(std::span(bytes).first(60), true, &end);
  ASSERT_TRUE(end.has_value());
  EXPECT_EQ(end->at, 48u);
  EXPECT_FALSE(end->auxiliary);
  EXPECT_EQ(fields.size(), 3u);
  // A Verdef is 20 bytes: 19 do not hold one.
  auto d = defs();
  EXPECT_TRUE(walk(std::span(d).first(19), false, &end).empty());
  ASSERT_TRUE(end.has_value());
  EXPECT_EQ(end->at, 0u);
  EXPECT_FALSE(end->auxiliary);
  // An aux offset past the end.
  Writer w(16);
  w.verneed(0, 1, 1, 1000, 0);
  walk(w.b, true, &end);
  ASSERT_TRUE(end.has_value());
  EXPECT_EQ(end->at, 1000u);
  EXPECT_TRUE(end->auxiliary);
}

namespace {

// A library defining V1 and V2 (V2's parent V1) and needing GLIBC_2.2.5
// (index 4) from libc.so.6. Symbols: f (base version, 1), g@@V1 (2),
// h@V2 (hidden, 0x8003), puts@GLIBC_2.2.5 (4). \p badName: V2's name
// offset past .dynstr's end.
std::unique_ptr<ElfFile> versionedLibrary(bool badName = false) {
  ElfBuilder b;
  StringTable s;
  uint32_t soname = s.add("libt.so"), v1 = s.add("V1"), v2 = s.add("V2"), libc = s.add("libc.so.6"),
           glibc = s.add("GLIBC_2.2.5");
  std::vector<Sym> syms(1);
  for (const char *name : {"f", "g", "h", "puts"})
    syms.push_back(symbol(s.add(name), STB_GLOBAL, STT_FUNC, SHN_UNDEF));
  unsigned dynstr = b.add(".dynstr", SHT_STRTAB, SHF_ALLOC, s.bytes, 0, 0, 1);
  unsigned dynsym = b.addSymbols(".dynsym", SHT_DYNSYM, syms, dynstr, 1);
  unsigned versym = b.add(".gnu.version", SHT_GNU_versym, SHF_ALLOC,
                          bytesOf(std::vector<uint16_t>{0, 1, 2, 0x8003, 4}), dynsym, 0, 2, 2);
  Writer d(92);
  d.verdef(0, VER_FLG_BASE, 1, 1, 20, 28);
  d.verdaux(20, soname, 0);
  d.verdef(28, 0, 2, 1, 20, 28);
  d.verdaux(48, v1, 0);
  d.verdef(56, 0, 3, 2, 20, 0);
  d.verdaux(76, badName ? 10000 : v2, 8);
  d.verdaux(84, v1, 0); // parent: not V2's name
  unsigned verdef = b.add(".gnu.version_d", SHT_GNU_verdef, SHF_ALLOC, d.b, dynstr, 3, 8);
  Writer n(32);
  n.verneed(0, 1, libc, 16, 0);
  n.vernaux(16, 4, glibc, 0);
  unsigned verneed = b.add(".gnu.version_r", SHT_GNU_verneed, SHF_ALLOC, n.b, dynstr, 1, 8);
  b.addDynamic({{DT_STRTAB, b.addr(dynstr)},
                {DT_SYMTAB, b.addr(dynsym)},
                {DT_STRSZ, b.size(dynstr)},
                {DT_VERSYM, b.addr(versym)},
                {DT_VERDEF, b.addr(verdef)},
                {DT_VERDEFNUM, 3},
                {DT_VERNEED, b.addr(verneed)},
                {DT_VERNEEDNUM, 1}},
               dynstr);
  return b.file();
}

} // namespace

TEST(SymbolVersions, ReadFromTheTablesTheDynamicTagsName) {
  auto f = versionedLibrary();
  SymbolVersions v = readSymbolVersions(*f, 5);
  EXPECT_EQ(v.versym, (std::vector<uint16_t>{0, 1, 2, 0x8003, 4}));
  // A definition's first Verdaux names it; its parents name nothing.
  EXPECT_EQ(v.names, (std::map<uint16_t, std::string>{{1, "libt.so"}, {2, "V1"}, {3, "V2"}, {4, "GLIBC_2.2.5"}}));
  // Fewer symbols than .gnu.version has entries: only theirs.
  EXPECT_EQ(readSymbolVersions(*f, 3).versym, (std::vector<uint16_t>{0, 1, 2}));
}

TEST(SymbolVersions, NamesHiddenAndMatches) {
  auto f = versionedLibrary();
  SymbolVersions v = readSymbolVersions(*f, 5);
  EXPECT_EQ(v.name(0), nullptr);
  EXPECT_EQ(v.name(1), nullptr); // the base version names no version
  ASSERT_NE(v.name(2), nullptr);
  EXPECT_EQ(*v.name(2), "V1");
  ASSERT_NE(v.name(3), nullptr);
  EXPECT_EQ(*v.name(3), "V2"); // the hidden bit is not part of the index
  ASSERT_NE(v.name(4), nullptr);
  EXPECT_EQ(*v.name(4), "GLIBC_2.2.5");
  EXPECT_EQ(v.name(5), nullptr);
  EXPECT_FALSE(v.hidden(2));
  EXPECT_TRUE(v.hidden(3));
  EXPECT_FALSE(v.hidden(9));
  const std::string V1 = "V1", V2 = "V2";
  // No version asked: the default version answers, a hidden one does not.
  EXPECT_TRUE(v.matches(1, nullptr));
  EXPECT_TRUE(v.matches(2, nullptr));
  EXPECT_FALSE(v.matches(3, nullptr));
  // A version asked: only that one (hidden or not); a base definition
  // answers any version unless hidden.
  EXPECT_TRUE(v.matches(2, &V1));
  EXPECT_FALSE(v.matches(2, &V2));
  EXPECT_TRUE(v.matches(3, &V2));
  EXPECT_FALSE(v.matches(3, &V1));
  EXPECT_TRUE(v.matches(1, &V2));
  // Past the table, or an unversioned object: everything matches.
  EXPECT_TRUE(v.matches(7, &V1));
  SymbolVersions none;
  EXPECT_TRUE(none.matches(0, &V1));
  EXPECT_EQ(none.name(0), nullptr);
}

TEST(SymbolVersions, MalformedTablesReadAsUnversioned) {
  auto f = versionedLibrary(true);
  SymbolVersions v = readSymbolVersions(*f, 5);
  EXPECT_TRUE(v.versym.empty());
  EXPECT_TRUE(v.names.empty());
}
