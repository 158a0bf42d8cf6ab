//===- HashvalsTest.cpp - the precomputed hash section --------------------===//
//
// lib/Dynsym/Hashvals.cpp on a small library built here: one u32 GNU hash
// per .dynsym entry in .dynsym order (the null symbol's is the empty
// name's, 5381), found through DT_ELFOPT_HASHVALS.
//
//===----------------------------------------------------------------------===//
#include "elfopt/Dynsym/Hashvals.h"
#include "elfopt/Hash/HashTables.h"
#include "ElfBuilder.h"

#include <gtest/gtest.h>

using namespace elfopt;
using namespace elfopt::test;
using namespace llvm::ELF;

namespace {

// .dynsym: null, alpha (defined), puts (undefined), beta (defined);
// .dynamic with \p spare spare slots.
ElfBuilder library(unsigned spare = 1) {
  ElfBuilder b;
  unsigned text = b.add(".text", SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, std::vector<uint8_t>(16, 0xc3), 0, 0, 16);
  StringTable strings;
  uint32_t alpha = strings.add("alpha"), puts = strings.add("puts"), beta = strings.add("beta");
  unsigned dynstr = b.add(".dynstr", SHT_STRTAB, SHF_ALLOC, strings.bytes, 0, 0, 1);
  unsigned dynsym = b.addSymbols(".dynsym", SHT_DYNSYM,
                                 {Sym{}, symbol(alpha, STB_GLOBAL, STT_FUNC, uint16_t(text), b.addr(text), 4),
                                  symbol(puts, STB_GLOBAL, STT_FUNC, SHN_UNDEF),
                                  symbol(beta, STB_GLOBAL, STT_FUNC, uint16_t(text), b.addr(text) + 8, 4)},
                                 dynstr, 1);
  b.addDynamic({{DT_STRTAB, b.addr(dynstr)}, {DT_SYMTAB, b.addr(dynsym)}, {DT_STRSZ, b.size(dynstr)}}, dynstr,
               spare);
  return b;
}

std::vector<uint8_t> le32(const std::vector<uint32_t> &words) { return bytesOf(words); }

} // namespace

TEST(Hashvals, OneGnuHashPerDynamicSymbolInOrder) {
  auto in = library().file();
  // gnu_hash: "" 5381, alpha 0x0f176c2b, puts 0x7c9c7b11, beta 0x7c9489a1.
  EXPECT_EQ(computeHashvals(*in), (std::vector<uint32_t>{5381, 0x0f176c2b, 0x7c9c7b11, 0x7c9489a1}));
}

TEST(Hashvals, SectionAndDynamicEntry) {
  auto in = library().file();
  ElfEditor editor(*in);
  unsigned index = addHashvals(editor);
  editor.layout();
  finishHashvals(editor, index);
  auto out = ElfFile::fromBytes("out.so", editor.serialize());
  const Section *s = out->findSection(HashvalsSectionName);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->index, index);
  EXPECT_EQ(s->type(), uint32_t(SHT_PROGBITS));
  EXPECT_EQ(s->flags(), uint64_t(SHF_ALLOC));
  EXPECT_EQ(s->header.sh_addralign, 4u);
  EXPECT_EQ(s->header.sh_entsize, 4u);
  // Little-endian u32s: 5381 is 05 15 00 00.
  std::vector<uint8_t> expected = {0x05, 0x15, 0x00, 0x00, 0x2b, 0x6c, 0x17, 0x0f,
                                   0x11, 0x7b, 0x9c, 0x7c, 0xa1, 0x89, 0x94, 0x7c};
  auto bytes = out->contents(*s);
  EXPECT_EQ(std::vector<uint8_t>(bytes.begin(), bytes.end()), expected);
  EXPECT_EQ(out->dynamicValue(DT_ELFOPT_HASHVALS), s->addr());
  EXPECT_EQ(DT_ELFOPT_HASHVALS, 0x6ffffe00);
  // The entry took the spare slot; the table still ends with DT_NULL.
  auto entries = out->dynamicEntries();
  ASSERT_EQ(entries.size(), 5u);
  EXPECT_EQ(int64_t(entries[3].d_tag), DT_ELFOPT_HASHVALS);
  EXPECT_EQ(int64_t(entries[4].d_tag), int64_t(DT_NULL));
}

TEST(Hashvals, NamesInAnotherOrderGiveTheirHashes) {
  // As after dynsort: the hashes follow the names given, not the input's.
  auto in = library().file();
  ElfEditor editor(*in);
  std::vector<std::string> names = {"", "puts", "beta", "alpha"};
  unsigned index = addHashvals(editor, &names);
  editor.layout();
  finishHashvals(editor, index);
  auto out = ElfFile::fromBytes("out.so", editor.serialize());
  auto bytes = out->contents(*out->findSection(HashvalsSectionName));
  EXPECT_EQ(std::vector<uint8_t>(bytes.begin(), bytes.end()), le32({5381, 0x7c9c7b11, 0x7c9489a1, 0x0f176c2b}));
}

TEST(Hashvals, Refusals) {
  // Twice.
  auto in = library(2).file();
  ElfEditor editor(*in);
  unsigned index = addHashvals(editor);
  editor.layout();
  finishHashvals(editor, index);
  auto once = ElfFile::fromBytes("once.so", editor.serialize());
  ElfEditor again(*once);
  EXPECT_EQ(messageOf([&] { addHashvals(again); }), "once.so: already has precomputed hashes (.elfopt.hashvals)");
  // No dynamic symbols.
  ElfBuilder staticFile(ET_EXEC);
  staticFile.add(".text", SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, {0xc3});
  auto f = staticFile.file("static");
  EXPECT_EQ(messageOf([&] { computeHashvals(*f); }),
            "static: no .dynsym: precomputed hashes need dynamic symbols");
  // No spare .dynamic slot: nothing is added.
  auto full = library(0).file();
  ElfEditor noRoom(*full);
  EXPECT_EQ(messageOf([&] { addHashvals(noRoom); }),
            "t.so: no spare DT_NULL slot in .dynamic (4 slots, none spare) for a new dynamic entry; ld.bfd, "
            "gold and mold leave spare slots, lld does not");
}
