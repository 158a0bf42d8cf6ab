//===- DynsortTest.cpp - dynsort on small libraries built here ------------===//
//
// lib/Dynsym/Dynsort.cpp: the new .dynsym order (what stays in front, the
// hashed symbols by GNU hash bucket, then their old order), and everything
// renumbered with it: .dynstr, .dynamic's strings, .gnu.version,
// .gnu.version_r, .rela.dyn, .hash and .gnu.hash.
//
// Names and their GNU hashes (mod 2 and 3):
//   alpha 0x0f176c2b (1, 0)   beta  0x7c9489a1 (1, 0)
//   eta   0x0b886fdf (1, 1)   alloc 0x0f175c10 (0, 2)
//
//===----------------------------------------------------------------------===//
#include "elfopt/Dynsym/Dynsort.h"
#include "elfopt/Hash/HashTables.h"
#include "ElfBuilder.h"

#include <gtest/gtest.h>

#include <map>

using namespace elfopt;
using namespace elfopt::test;
using namespace llvm::ELF;

namespace {

struct Def {
  std::string name;
  uint8_t binding = STB_GLOBAL;
  bool defined = true;
};

enum class Hash { Sysv, Gnu };

// Where each defined function is in .text (offset).
const std::map<std::string, uint64_t> TextOffset = {
    {"lcl", 0x00}, {"alpha", 0x10}, {"alloc", 0x20}, {"eta", 0x28}, {"beta", 0x30}};

// A library with \p syms after the null symbol, in that order; locals
// first. Its .dynstr holds the names in that order, then libc.so.6,
// libt.so and GLIBC_2.2.5 (each used once, no suffix shared). Undefined
// symbols need GLIBC_2.2.5 of libc.so.6 (version index 2), defined ones
// have index 1. .rela.dyn: GLOB_DAT puts @0x3000, 64 alpha @0x3008,
// RELATIVE @0x3010, GLOB_DAT calloc @0x3018, 64 puts @0x3020. With
// Hash::Gnu the table has 2 buckets over the symbols from \p symoffset on
// (which must be in bucket order); with Hash::Sysv a SysV table of 3.
struct Library {
  ElfBuilder b;
  unsigned text = 0, dynstr = 0, dynsym = 0, hash = 0, versym = 0, verneed = 0, relaDyn = 0;

  Library(const std::vector<Def> &syms, Hash kind, uint32_t symoffset = 0) {
    text = b.add(".text", SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, std::vector<uint8_t>(0x40, 0xc3), 0, 0, 16);
    StringTable strings;
    std::vector<Sym> table(1);
    uint32_t locals = 1;
    std::map<std::string, uint32_t> index;
    for (const Def &d : syms) {
      uint32_t name = strings.add(d.name);
      index[d.name] = uint32_t(table.size());
      table.push_back(d.defined ? symbol(name, d.binding, STT_FUNC, uint16_t(text),
                                         b.addr(text) + TextOffset.at(d.name), 8)
                                : symbol(name, d.binding, STT_FUNC, SHN_UNDEF));
      if (d.binding == STB_LOCAL)
        ++locals;
    }
    uint32_t libc = strings.add("libc.so.6"), soname = strings.add("libt.so"), glibc = strings.add("GLIBC_2.2.5");
    dynstr = b.add(".dynstr", SHT_STRTAB, SHF_ALLOC, strings.bytes, 0, 0, 1);
    dynsym = b.addSymbols(".dynsym", SHT_DYNSYM, table, dynstr, locals);
    if (kind == Hash::Gnu) {
      std::vector<uint32_t> hashes;
      for (size_t i = symoffset - 1; i < syms.size(); ++i)
        hashes.push_back(gnuHash(syms[i].name));
      hash = b.add(".gnu.hash", SHT_GNU_HASH, SHF_ALLOC, buildGnuHash({2, 1, 6}, symoffset, hashes), dynsym);
    } else {
      const uint32_t nb = 3;
      std::vector<uint32_t> words(2 + nb + table.size(), 0);
      words[0] = nb;
      words[1] = uint32_t(table.size());
      for (uint32_t k = 1; k < table.size(); ++k) {
        uint32_t h = sysvHash(syms[k - 1].name) % nb;
        words[2 + nb + k] = words[2 + h];
        words[2 + h] = k;
      }
      hash = b.add(".hash", SHT_HASH, SHF_ALLOC, bytesOf(words), dynsym, 0, 8, 4);
    }
    std::vector<uint16_t> versions(1, 0);
    for (const Def &d : syms)
      versions.push_back(d.binding == STB_LOCAL ? 0 : d.defined ? 1 : 2);
    versym = b.add(".gnu.version", SHT_GNU_versym, SHF_ALLOC, bytesOf(versions), dynsym, 0, 2, 2);
    // Verneed {version 1, cnt 1, file, aux 16, next 0}, Vernaux {hash, flags 0, other 2, name, next 0}.
    std::vector<uint8_t> need(32, 0);
    auto put16 = [&](size_t at, uint16_t v) { std::memcpy(need.data() + at, &v, 2); };
    auto put32 = [&](size_t at, uint32_t v) { std::memcpy(need.data() + at, &v, 4); };
    put16(0, 1);
    put16(2, 1);
    put32(4, libc);
    put32(8, 16);
    put32(16, sysvHash("GLIBC_2.2.5"));
    put16(22, 2);
    put32(24, glibc);
    verneed = b.add(".gnu.version_r", SHT_GNU_verneed, SHF_ALLOC, need, dynstr, 1, 8);
    std::vector<ELFT::Rela> relas = {
        rela(0x3000, index.at("puts"), R_X86_64_GLOB_DAT), rela(0x3008, index.at("alpha"), R_X86_64_64),
        rela(0x3010, 0, R_X86_64_RELATIVE, 0x40), rela(0x3018, index.at("calloc"), R_X86_64_GLOB_DAT),
        rela(0x3020, index.at("puts"), R_X86_64_64)};
    relaDyn = b.add(".rela.dyn", SHT_RELA, SHF_ALLOC, bytesOf(relas), dynsym, 0, 8, sizeof(ELFT::Rela));
    b.addDynamic({{DT_NEEDED, libc},
                  {DT_SONAME, soname},
                  {kind == Hash::Gnu ? int64_t(DT_GNU_HASH) : int64_t(DT_HASH), b.addr(hash)},
                  {DT_STRTAB, b.addr(dynstr)},
                  {DT_SYMTAB, b.addr(dynsym)},
                  {DT_STRSZ, b.size(dynstr)},
                  {DT_SYMENT, sizeof(Sym)},
                  {DT_RELA, b.addr(relaDyn)},
                  {DT_RELASZ, b.size(relaDyn)},
                  {DT_RELAENT, sizeof(ELFT::Rela)},
                  {DT_VERSYM, b.addr(versym)},
                  {DT_VERNEED, b.addr(verneed)},
                  {DT_VERNEEDNUM, 1}},
                 dynstr, 2);
  }
};

// The input order of the SysV library: the local first (as sh_info
// requires), undefined and defined symbols mixed.
const std::vector<Def> Mixed = {{"lcl", STB_LOCAL},        {"alpha"}, {"puts", STB_GLOBAL, false},
                                {"alloc"},                  {"calloc", STB_GLOBAL, false},
                                {"eta"},                    {"beta"}};

DynsortOptions keepShape() {
  DynsortOptions o;
  o.keepShape = true;
  o.missesPerHit = 1;
  return o;
}

// glibc's walk of a GNU table (dl-lookup.c); the .dynsym index, or 0.
uint32_t lookUpGnu(const GnuHashTable &t, uint32_t hash) {
  uint64_t word = t.bloom[(hash / 64) % t.bloom.size()];
  uint64_t bits = (uint64_t(1) << (hash % 64)) | (uint64_t(1) << ((hash >> t.bloomShift) % 64));
  if ((word & bits) != bits)
    return 0;
  for (uint32_t i = t.buckets[hash % t.nbuckets]; i != 0; ++i) {
    uint32_t entry = t.chain[i - t.symoffset];
    if ((entry | 1) == (hash | 1))
      return i;
    if (entry & 1)
      return 0;
  }
  return 0;
}

// glibc's walk of a SysV table, comparing names: the index, or 0.
uint32_t lookUpSysv(const std::vector<uint32_t> &words, const std::vector<std::string> &names,
                    const std::string &name) {
  uint32_t nb = words[0];
  for (uint32_t i = words[2 + sysvHash(name) % nb], guard = 0; i != 0 && guard < 100; i = words[2 + nb + i], ++guard)
    if (names[i] == name)
      return i;
  return 0;
}

struct Sorted {
  DynsortResult result;
  std::unique_ptr<ElfFile> out;
};

Sorted runDynsort(const ElfFile &in, const DynsortOptions &options) {
  ElfEditor editor(in);
  Sorted s;
  s.result = dynsort(editor, options);
  editor.layout();
  finishDynsort(editor, s.result);
  s.out = ElfFile::fromBytes("out.so", editor.serialize());
  return s;
}

std::string stringOf(const ElfFile &f, const Section &s) {
  auto b = f.contents(s);
  return std::string(b.begin(), b.end());
}

} // namespace

TEST(Dynsort, SysvOnlyLibraryGetsAGnuTableInBucketOrder) {
  Library lib(Mixed, Hash::Sysv);
  auto in = lib.b.file();
  Sorted s = runDynsort(*in, keepShape());
  const DynsortResult &r = s.result;
  const ElfFile &out = *s.out;

  // The null symbol and the local stay first, the undefined ones follow in
  // their order (symoffset 4); the four defined ones are hashed, in
  // ld.bfd's shape for 4 symbols (3 buckets), by bucket: alpha and beta in
  // bucket 0 (old order), eta in 1, alloc in 2.
  const std::vector<std::string> order = {"", "lcl", "puts", "calloc", "alpha", "beta", "eta", "alloc"};
  EXPECT_EQ(r.names, order);
  EXPECT_EQ(symbolNames(out), order);
  EXPECT_TRUE(r.builtFromSysv);
  EXPECT_EQ(r.symbols, 8u);
  EXPECT_EQ(r.hashed, 4u);
  EXPECT_EQ(r.after.shape.nbuckets, 3u);
  EXPECT_EQ(r.after.shape.bloomWords, 1u);
  EXPECT_EQ(r.after.shape.bloomShift, 6u);
  EXPECT_EQ(r.missesPerHitFrom, "option");
  // Each symbol kept its value.
  for (const Symbol &sym : out.symbols(*out.findSectionOfType(SHT_DYNSYM))) {
    if (sym.isDefined()) {
      EXPECT_EQ(sym.value, lib.b.addr(lib.text) + TextOffset.at(sym.name)) << sym.name;
    }
  }
  EXPECT_EQ(out.symbols(*out.findSectionOfType(SHT_DYNSYM))[1].binding, STB_LOCAL);

  // .dynstr: the names in the new order, a name that ends another inside
  // it (eta in beta, alloc in calloc), then .dynamic's and the versions'
  // strings; zeros up to the old size.
  const std::string strings = std::string("\0lcl\0puts\0calloc\0alpha\0beta\0libc.so.6\0libt.so\0GLIBC_2.2.5\0", 58);
  const Section *dynstr = out.findSection(".dynstr");
  ASSERT_NE(dynstr, nullptr);
  EXPECT_EQ(stringOf(out, *dynstr), strings + std::string(68 - 58, '\0'));
  EXPECT_EQ(r.dynstrBefore, 68u);
  EXPECT_EQ(r.dynstrAfter, 58u);
  std::vector<uint32_t> nameOffsets;
  for (const Sym &sym : valuesOf<Sym>(out, *out.findSectionOfType(SHT_DYNSYM)))
    nameOffsets.push_back(sym.st_name);
  EXPECT_EQ(nameOffsets, (std::vector<uint32_t>{0, 1, 5, 10, 17, 23, 24, 11}));
  EXPECT_EQ(out.dynamicValue(DT_NEEDED), 28u);
  EXPECT_EQ(out.dynamicValue(DT_SONAME), 38u);
  auto need = valuesOf<uint32_t>(out, *out.findSection(".gnu.version_r"));
  EXPECT_EQ(need[1], 28u); // vn_file: libc.so.6
  EXPECT_EQ(need[6], 46u); // vna_name: GLIBC_2.2.5

  // .gnu.version follows its symbols.
  EXPECT_EQ(valuesOf<uint16_t>(out, *out.findSection(".gnu.version")),
            (std::vector<uint16_t>{0, 0, 2, 2, 1, 1, 1, 1}));

  // .rela.dyn: renumbered (puts 2, calloc 3, alpha 4), the relative one
  // first, then each symbol's relocations together in the order of its first.
  auto relas = valuesOf<ELFT::Rela>(out, *out.findSection(".rela.dyn"));
  std::vector<std::pair<uint64_t, uint64_t>> got;
  for (const auto &x : relas)
    got.push_back({x.r_offset, x.r_info});
  auto info = [](uint64_t sym, uint32_t type) { return (sym << 32) | type; };
  EXPECT_EQ(got, (std::vector<std::pair<uint64_t, uint64_t>>{{0x3010, info(0, R_X86_64_RELATIVE)},
                                                               {0x3000, info(2, R_X86_64_GLOB_DAT)},
                                                               {0x3020, info(2, R_X86_64_64)},
                                                               {0x3008, info(4, R_X86_64_64)},
                                                               {0x3018, info(3, R_X86_64_GLOB_DAT)}}));
  EXPECT_EQ(r.relocationRunsBefore, 4u);
  EXPECT_EQ(r.relocationRunsAfter, 3u);

  // The new .gnu.hash, where DT_GNU_HASH (in a spare slot) points.
  ASSERT_TRUE(r.newTable.has_value());
  const Section *gnu = out.findSection(".gnu.hash");
  ASSERT_NE(gnu, nullptr);
  EXPECT_EQ(gnu->type(), uint32_t(SHT_GNU_HASH));
  EXPECT_EQ(out.dynamicValue(DT_GNU_HASH), gnu->addr());
  GnuHashTable t = parseGnuHash(out.contents(*gnu), 8, "out");
  EXPECT_EQ(t.symoffset, 4u);
  EXPECT_EQ(t.buckets, (std::vector<uint32_t>{4, 6, 7}));
  EXPECT_EQ(t.chain, (std::vector<uint32_t>{0x0f176c2a, 0x7c9489a1, 0x0b886fdf, 0x0f175c11}));
  for (uint32_t i = 4; i < 8; ++i)
    EXPECT_EQ(lookUpGnu(t, gnuHash(order[i])), i) << order[i];
  EXPECT_EQ(lookUpGnu(t, gnuHash("puts")), 0u);

  // .hash rebuilt over the new order, with its 3 buckets.
  auto words = valuesOf<uint32_t>(out, *out.findSection(".hash"));
  EXPECT_EQ(words[0], 3u);
  EXPECT_EQ(words[1], 8u);
  for (uint32_t i = 1; i < 8; ++i)
    EXPECT_EQ(lookUpSysv(words, order, order[i]), i) << order[i];
}

TEST(Dynsort, GnuTableKeepsItsUnhashedSymbolsAndItsOrder) {
  // symoffset 3: the null symbol, the local and puts are left out of the
  // table; calloc, although undefined, is in it (a linker may hash it) and
  // is sorted with the others. 2 buckets: alloc, calloc (0), then alpha,
  // eta, beta (1). In bucket order already: with the same shape nothing
  // moves, and the table comes out as it was.
  std::vector<Def> syms = {{"lcl", STB_LOCAL},           {"puts", STB_GLOBAL, false}, {"alloc"},
                           {"calloc", STB_GLOBAL, false}, {"alpha"},                   {"eta"},
                           {"beta"}};
  Library lib(syms, Hash::Gnu, 3);
  auto in = lib.b.file();
  const Section *oldTable = in->findSection(".gnu.hash");
  std::vector<uint8_t> before(in->contents(*oldTable).begin(), in->contents(*oldTable).end());
  Sorted s = runDynsort(*in, keepShape());
  const std::vector<std::string> order = {"", "lcl", "puts", "alloc", "calloc", "alpha", "eta", "beta"};
  EXPECT_EQ(s.result.names, order);
  EXPECT_EQ(symbolNames(*s.out), order);
  EXPECT_FALSE(s.result.builtFromSysv);
  EXPECT_FALSE(s.result.newTable.has_value());
  EXPECT_EQ(s.result.hashed, 5u);
  const Section *gnu = s.out->findSection(".gnu.hash");
  ASSERT_NE(gnu, nullptr);
  EXPECT_EQ(gnu->addr(), oldTable->addr());
  EXPECT_EQ(std::vector<uint8_t>(s.out->contents(*gnu).begin(), s.out->contents(*gnu).end()), before);
  // calloc now hosts alloc's name: "\0lcl\0puts\0calloc\0alpha\0beta\0...".
  std::vector<uint32_t> nameOffsets;
  for (const Sym &sym : valuesOf<Sym>(*s.out, *s.out->findSectionOfType(SHT_DYNSYM)))
    nameOffsets.push_back(sym.st_name);
  EXPECT_EQ(nameOffsets, (std::vector<uint32_t>{0, 1, 5, 11, 10, 17, 24, 23}));
}

TEST(Dynsort, ANewShapeReordersTheHashedSymbolsByItsBuckets) {
  // The same file under a 2-bucket table in its order (by mod 2); with a
  // budget of 4 KiB the model picks another shape (9 buckets when this
  // was written), and the hashed symbols follow its buckets instead.
  std::vector<Def> syms = {{"lcl", STB_LOCAL},           {"puts", STB_GLOBAL, false}, {"alloc"},
                           {"calloc", STB_GLOBAL, false}, {"alpha"},                   {"eta"},
                           {"beta"}};
  Library lib(syms, Hash::Gnu, 3);
  auto in = lib.b.file();
  DynsortOptions o;
  o.missesPerHit = 1;
  o.budgetBytes = 4096;
  Sorted s = runDynsort(*in, o);
  const DynsortResult &r = s.result;
  // Whatever shape the model chose, the hashed symbols are in its bucket
  // order, ties in their old order, and the table finds each of them.
  uint32_t nb = r.after.shape.nbuckets;
  ASSERT_NE(nb, 2u) << "the model kept the old shape: the test needs another";
  std::vector<std::string> expected = {"alloc", "calloc", "alpha", "eta", "beta"};
  std::stable_sort(expected.begin(), expected.end(),
                   [&](const std::string &a, const std::string &b) { return gnuHash(a) % nb < gnuHash(b) % nb; });
  expected.insert(expected.begin(), {"", "lcl", "puts"});
  EXPECT_EQ(r.names, expected);
  const Section *gnu = s.out->findSection(".gnu.hash");
  ASSERT_NE(gnu, nullptr);
  EXPECT_EQ(s.out->dynamicValue(DT_GNU_HASH), gnu->addr());
  GnuHashTable t = parseGnuHash(s.out->contents(*gnu), 8, "out");
  EXPECT_EQ(t.nbuckets, nb);
  EXPECT_EQ(t.symoffset, 3u);
  for (uint32_t i = 3; i < 8; ++i)
    EXPECT_EQ(lookUpGnu(t, gnuHash(expected[i])), i) << expected[i];
  // A table larger than the old one is new; the old one is retired.
  if (r.newTable) {
    const Section *retired = s.out->findSection(".elfopt.old.gnu.hash");
    ASSERT_NE(retired, nullptr);
    EXPECT_EQ(retired->type(), uint32_t(SHT_PROGBITS));
  }
}

TEST(Dynsort, RefusesWhatItCannotRenumber) {
  ElfBuilder noDynsym;
  noDynsym.add(".text", SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, {0xc3});
  auto f = noDynsym.file();
  ElfEditor e1(*f);
  EXPECT_EQ(messageOf([&] { dynsort(e1, keepShape()); }), "t.so: no .dynsym: nothing to sort (a static file)");

  ElfBuilder noHash;
  StringTable strings;
  strings.add("f");
  unsigned dynstr = noHash.add(".dynstr", SHT_STRTAB, SHF_ALLOC, strings.bytes, 0, 0, 1);
  unsigned dynsym = noHash.addSymbols(".dynsym", SHT_DYNSYM, {Sym{}, symbol(1, STB_GLOBAL, STT_FUNC, SHN_UNDEF)},
                                      dynstr, 1);
  noHash.addDynamic({{DT_STRTAB, noHash.addr(dynstr)}, {DT_SYMTAB, noHash.addr(dynsym)}}, dynstr);
  auto g = noHash.file();
  ElfEditor e2(*g);
  EXPECT_EQ(messageOf([&] { dynsort(e2, keepShape()); }),
            "t.so: .dynsym has no hash table (neither .gnu.hash nor .hash)");
}
