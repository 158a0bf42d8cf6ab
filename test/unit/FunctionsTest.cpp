//===- FunctionsTest.cpp - function boundaries from symbols and FDEs ------===//
//
// lib/Elf/Functions.cpp on files built here: from .symtab when there is
// one; else from .dynsym and .eh_frame's FDEs. One function per address,
// named by the best symbol there; those outside their section dropped,
// those running past its end cut.
//
//===----------------------------------------------------------------------===//
#include "elfopt/Elf/Functions.h"
#include "ElfBuilder.h"

#include <gtest/gtest.h>

using namespace elfopt;
using namespace elfopt::test;
using namespace llvm::ELF;

namespace {

std::vector<std::tuple<std::string, uint64_t, uint64_t, unsigned>> rows(const FunctionTable &t) {
  std::vector<std::tuple<std::string, uint64_t, uint64_t, unsigned>> out;
  for (const Function &f : t.functions)
    out.emplace_back(f.name, f.address, f.size, f.section);
  return out;
}

void put(std::vector<uint8_t> &v, uint64_t x, int bytes) {
  for (int i = 0; i < bytes; ++i)
    v.push_back(uint8_t(x >> (8 * i)));
}

// .eh_frame: a CIE "zR" with absolute 8-byte FDE pointers (DW_EH_PE_absptr),
// then one FDE per (pc_begin, range), and a terminator.
std::vector<uint8_t> ehFrame(const std::vector<std::pair<uint64_t, uint64_t>> &fdes) {
  std::vector<uint8_t> v;
  // CIE: length 20; id 0, version 1, "zR", code align 1, data align -8,
  // return address r16, augmentation data (1 byte): encoding 0; def_cfa
  // rsp+8, offset r16 at cfa-8, padding.
  put(v, 20, 4);
  put(v, 0, 4);
  v.insert(v.end(), {1, 'z', 'R', 0, 1, 0x78, 16, 1, 0x00, 0x0c, 0x07, 0x08, 0x90, 0x01, 0, 0});
  for (auto [begin, range] : fdes) {
    uint64_t at = v.size();
    put(v, 24, 4);
    put(v, at + 4, 4); // back to the CIE at 0
    put(v, begin, 8);
    put(v, range, 8);
    v.insert(v.end(), {0, 0, 0, 0}); // augmentation data length 0, padding
  }
  put(v, 0, 4);
  return v;
}

} // namespace

TEST(ReadFunctions, FromSymtabOnePerAddress) {
  ElfBuilder b(ET_EXEC);
  unsigned text = b.add(".text", SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, std::vector<uint8_t>(0x100, 0xc3), 0, 0, 16);
  unsigned rodata = b.add(".rodata", SHT_PROGBITS, SHF_ALLOC, std::vector<uint8_t>(0x10, 0), 0, 0, 16);
  const uint64_t t = b.addr(text);
  const uint16_t tx = uint16_t(text);
  StringTable s;
  std::vector<Sym> syms = {
      Sym{},
      symbol(s.add("helper"), STB_LOCAL, STT_FUNC, tx, t + 0x00, 8),
      symbol(s.add("main_alias"), STB_LOCAL, STT_FUNC, tx, t + 0x20, 0x10),
      symbol(s.add("main"), STB_GLOBAL, STT_FUNC, tx, t + 0x20, 0x10), // a global over a local
      symbol(s.add("w_b"), STB_WEAK, STT_FUNC, tx, t + 0x40, 0x18), // the largest size
      symbol(s.add("w_a"), STB_WEAK, STT_FUNC, tx, t + 0x40, 0x8),  // the smallest name
      symbol(s.add("table"), STB_GLOBAL, STT_OBJECT, tx, t + 0x50, 8),  // not a function
      symbol(s.add("resolver"), STB_GLOBAL, STT_GNU_IFUNC, tx, t + 0x60, 0x10),
      symbol(s.add("imported"), STB_GLOBAL, STT_FUNC, SHN_UNDEF),
      symbol(s.add("in_data"), STB_GLOBAL, STT_FUNC, uint16_t(rodata), b.addr(rodata), 4), // not code
      symbol(s.add("tail"), STB_GLOBAL, STT_FUNC, tx, t + 0xf0, 0x40),  // cut at .text's end
      symbol(s.add("past"), STB_GLOBAL, STT_FUNC, tx, t + 0x100, 4),    // outside .text
      symbol(s.add("before"), STB_GLOBAL, STT_FUNC, tx, t - 0x10, 4),   // outside .text
  };
  // FDEs and dynamic symbols are not read when there is a .symtab.
  b.add(".eh_frame", SHT_PROGBITS, SHF_ALLOC, ehFrame({{t + 0x80, 0x10}}));
  unsigned strtab = b.add(".strtab", SHT_STRTAB, 0, s.bytes, 0, 0, 1);
  b.addSymbols(".symtab", SHT_SYMTAB, syms, strtab, 3, 0);
  auto f = b.file("prog");
  FunctionTable table = readFunctions(*f);
  EXPECT_EQ(table.source, FunctionSource::Symtab);
  EXPECT_STREQ(functionSourceName(table.source), "symtab");
  using Row = std::tuple<std::string, uint64_t, uint64_t, unsigned>;
  EXPECT_EQ(rows(table), (std::vector<Row>{{"helper", t + 0x00, 8, text},
                                           {"main", t + 0x20, 0x10, text},
                                           {"w_a", t + 0x40, 0x18, text},
                                           {"resolver", t + 0x60, 0x10, text},
                                           {"tail", t + 0xf0, 0x10, text}}));
}

TEST(ReadFunctions, StrippedFromDynsymAndFdes) {
  ElfBuilder b;
  unsigned plt = b.add(".plt", SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, std::vector<uint8_t>(0x20, 0xcc), 0, 0, 16);
  unsigned text = b.add(".text", SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, std::vector<uint8_t>(0x100, 0xc3), 0, 0, 16);
  const uint64_t t = b.addr(text);
  StringTable s;
  std::vector<Sym> syms = {Sym{},
                           symbol(s.add("exported"), STB_GLOBAL, STT_FUNC, uint16_t(text), t + 0x10, 0x10),
                           symbol(s.add("also"), STB_WEAK, STT_FUNC, uint16_t(text), t + 0x10, 0x8),
                           symbol(s.add("puts"), STB_GLOBAL, STT_FUNC, SHN_UNDEF)};
  unsigned dynstr = b.add(".dynstr", SHT_STRTAB, SHF_ALLOC, s.bytes, 0, 0, 1);
  b.addSymbols(".dynsym", SHT_DYNSYM, syms, dynstr, 1);
  b.add(".eh_frame", SHT_PROGBITS, SHF_ALLOC,
        ehFrame({{b.addr(plt), 0x20},    // the linker's PLT: not a function
                 {t + 0x10, 0x18},       // exported's: the symbol names it, the FDE's range is longer
                 {t + 0x40, 0x30},       // a function no symbol names
                 {t + 0x80, 0},          // empty
                 {0x900000, 0x10},       // in no section
                 {t + 0xe0, 0x40}}));    // cut at .text's end
  auto f = b.file();
  FunctionTable table = readFunctions(*f);
  EXPECT_EQ(table.source, FunctionSource::DynsymAndEhFrame);
  EXPECT_STREQ(functionSourceName(table.source), "dynsym+eh_frame");
  char name40[32], nameE0[32];
  std::snprintf(name40, sizeof name40, "fde@0x%llx", (unsigned long long)(t + 0x40));
  std::snprintf(nameE0, sizeof nameE0, "fde@0x%llx", (unsigned long long)(t + 0xe0));
  EXPECT_EQ(std::string(name40), "fde@0x10260"); // .text at 0x10220, after .plt
  using Row = std::tuple<std::string, uint64_t, uint64_t, unsigned>;
  EXPECT_EQ(rows(table), (std::vector<Row>{{"exported", t + 0x10, 0x18, text},
                                           {name40, t + 0x40, 0x30, text},
                                           {nameE0, t + 0xe0, 0x20, text}}));
}

TEST(ReadFunctions, NoSymbolsNoFunctions) {
  ElfBuilder b(ET_EXEC);
  b.add(".text", SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, {0xc3});
  FunctionTable table = readFunctions(*b.file());
  EXPECT_EQ(table.source, FunctionSource::DynsymAndEhFrame);
  EXPECT_TRUE(table.functions.empty());
  EXPECT_STREQ(functionSourceName(FunctionSource::None), "none");
}
