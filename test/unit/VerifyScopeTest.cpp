//===- VerifyScopeTest.cpp - the DT_NEEDED list compared ------------------===//
//
// lib/Verify/VerifyScope.cpp: neededListChanged on files built here.
// verifyScopeOrder itself builds the scope from the files on disk (the
// program and the libraries the loader's search path finds), so it is
// left to the shell test scope-order.
//
//===----------------------------------------------------------------------===//
#include "elfopt/Verify/VerifyScope.h"
#include "ElfBuilder.h"

#include <gtest/gtest.h>

#include <map>

using namespace elfopt;
using namespace elfopt::test;
using namespace llvm::ELF;

namespace {

// A program whose DT_NEEDED entries name \p needed in order, from a
// .dynstr holding \p strings (so one name can sit at different offsets).
std::unique_ptr<ElfFile> program(const std::vector<std::string> &strings, const std::vector<std::string> &needed) {
  ElfBuilder b(ET_DYN);
  StringTable s;
  std::map<std::string, uint32_t> at;
  for (const std::string &name : strings)
    at[name] = s.add(name);
  unsigned dynstr = b.add(".dynstr", SHT_STRTAB, SHF_ALLOC, s.bytes, 0, 0, 1);
  std::vector<std::pair<int64_t, uint64_t>> tags;
  for (const std::string &name : needed)
    tags.push_back({DT_NEEDED, at.at(name)});
  tags.push_back({DT_STRTAB, b.addr(dynstr)});
  tags.push_back({DT_STRSZ, b.size(dynstr)});
  b.addDynamic(tags, dynstr);
  return b.file("prog");
}

} // namespace

TEST(NeededListChanged, ComparesTheNamesInOrder) {
  auto ab = program({"liba.so", "libb.so"}, {"liba.so", "libb.so"});
  // The same names at other offsets: unchanged.
  auto moved = program({"libx.so", "libb.so", "liba.so"}, {"liba.so", "libb.so"});
  EXPECT_FALSE(neededListChanged(*ab, *moved));
  EXPECT_FALSE(neededListChanged(*ab, *ab));
  // Another order, one fewer, one more.
  auto ba = program({"liba.so", "libb.so"}, {"libb.so", "liba.so"});
  EXPECT_TRUE(neededListChanged(*ab, *ba));
  auto a = program({"liba.so", "libb.so"}, {"liba.so"});
  EXPECT_TRUE(neededListChanged(*ab, *a));
  auto abc = program({"liba.so", "libb.so", "libc.so"}, {"liba.so", "libb.so", "libc.so"});
  EXPECT_TRUE(neededListChanged(*ab, *abc));
  // Without .dynamic: no names.
  ElfBuilder none(ET_EXEC);
  none.add(".text", SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, {0xc3});
  auto f = none.file();
  EXPECT_TRUE(neededListChanged(*ab, *f));
  EXPECT_FALSE(neededListChanged(*f, *f));
}
