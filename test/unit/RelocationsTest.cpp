// Dynamic relocation facts (lib/Elf/Relocations.cpp): SHT_RELR decoding
// (an even entry is an address; an odd one a bitmap whose bit i, 1..63,
// relocates the word 8 * (i - 1) bytes after the current base, which then
// moves 63 words on) and which dynamic relocations hold an address of the
// file in their addend.
#include "elfopt/Elf/Relocations.h"

#include "elfopt/Target/X86_64.h"

#include <gtest/gtest.h>

#include <cstring>

using namespace elfopt;
using namespace llvm::ELF;

namespace {

std::vector<uint8_t> relr(const std::vector<uint64_t> &entries) {
  std::vector<uint8_t> bytes(entries.size() * 8);
  std::memcpy(bytes.data(), entries.data(), bytes.size());
  return bytes;
}

ELFT::Rela rela(uint32_t symbol, uint32_t type) {
  ELFT::Rela r{};
  r.setSymbolAndType(symbol, type, false);
  return r;
}

using Addresses = std::vector<uint64_t>;

} // namespace

TEST(Relr, AddressesOnly) {
  EXPECT_EQ(decodeRelr(relr({0x1000, 0x2008, 0x1ff8})), (Addresses{0x1000, 0x2008, 0x1ff8}));
  EXPECT_EQ(decodeRelr({}), Addresses{});
}

TEST(Relr, BitmapsFollowTheLastAddress) {
  // 0x1000, then bitmap 0b111: bit 0 marks a bitmap, bits 1 and 2 the
  // words at 0x1008 and 0x1010. The base moves 63 words: 0x1008 + 0x1f8 =
  // 0x1200. Bit 63 of the next bitmap: 0x1200 + 8 * 62 = 0x13f0. Then the
  // base is 0x13f8; bit 1 of the third bitmap is 0x13f8 itself.
  Addresses expected = {0x1000, 0x1008, 0x1010, 0x13f0, 0x13f8};
  EXPECT_EQ(decodeRelr(relr({0x1000, 0x7, (uint64_t(1) << 63) | 1, 0x3})), expected);
  // A new address starts over; an empty bitmap (just the marker bit) only
  // moves the base.
  expected = {0x1000, 0x5000, 0x5008 + 63 * 8 + 8 * 4};
  EXPECT_EQ(decodeRelr(relr({0x1000, 0x5000, 0x1, 0x1 | (1 << 5)})), expected);
}

TEST(Relr, EveryBitOfABitmap) {
  Addresses expected = {0x10000};
  for (unsigned bit = 1; bit < 64; ++bit)
    expected.push_back(0x10008 + 8 * (bit - 1));
  EXPECT_EQ(decodeRelr(relr({0x10000, ~uint64_t(0)})), expected);
}

TEST(Relr, IgnoresATrailingPartialEntry) {
  auto bytes = relr({0x1000, 0x3});
  bytes.push_back(0x11);
  bytes.push_back(0x22);
  EXPECT_EQ(decodeRelr(bytes), (Addresses{0x1000, 0x1008}));
}

TEST(Rela, EntriesInOrderTrailingPartIgnored) {
  // offset, info (symbol 5, type 6 = GLOB_DAT), addend; then RELATIVE 0x2000.
  std::vector<uint64_t> words = {0x3fd8, (uint64_t(5) << 32) | R_X86_64_GLOB_DAT, 0,
                                 0x3fe0, R_X86_64_RELATIVE, 0x2000};
  std::vector<uint8_t> bytes(1 + words.size() * 8 + 7);
  std::memcpy(bytes.data() + 1, words.data(), words.size() * 8); // misaligned on purpose
  std::vector<ELFT::Rela> got = decodeRela(std::span(bytes).subspan(1));
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(uint64_t(got[0].r_offset), 0x3fd8u);
  EXPECT_EQ(got[0].getSymbol(false), 5u);
  EXPECT_EQ(got[0].getType(false), uint32_t(R_X86_64_GLOB_DAT));
  EXPECT_EQ(int64_t(got[1].r_addend), 0x2000);
  EXPECT_TRUE(dynamicAddendIsAddress(got[1]));
  EXPECT_TRUE(decodeRela(std::span(bytes).subspan(1, 23)).empty());
}

TEST(DynamicAddend, IsAnAddressOfTheFile) {
  EXPECT_TRUE(dynamicAddendIsAddress(rela(0, R_X86_64_RELATIVE)));
  EXPECT_TRUE(dynamicAddendIsAddress(rela(0, R_X86_64_IRELATIVE)));
  EXPECT_TRUE(dynamicAddendIsAddress(rela(0, R_X86_64_64)));
  // R_X86_64_64 against a symbol: S + A, the addend is an offset.
  EXPECT_FALSE(dynamicAddendIsAddress(rela(3, R_X86_64_64)));
  EXPECT_FALSE(dynamicAddendIsAddress(rela(0, R_X86_64_NONE)));
  EXPECT_FALSE(dynamicAddendIsAddress(rela(0, R_X86_64_GLOB_DAT)));
  EXPECT_FALSE(dynamicAddendIsAddress(rela(2, R_X86_64_JUMP_SLOT)));
  EXPECT_FALSE(dynamicAddendIsAddress(rela(0, R_X86_64_DTPMOD64)));
  EXPECT_FALSE(dynamicAddendIsAddress(rela(0, R_X86_64_TPOFF64)));
  EXPECT_FALSE(dynamicAddendIsAddress(rela(0, R_X86_64_COPY)));
}

// The width of the field each relocation type writes: what rewrite reads and
// writes and verify checks. COPY has none: the loader copies the symbol's
// bytes, of the symbol's size (verify once read 8 bytes there, past the end
// of a 1-byte .data.rel.ro tail in Debian's plzip).
TEST(Relocations, FieldSizes) {
  using namespace llvm::ELF;
  using elfopt::x86_64::relocationFieldSize;
  EXPECT_EQ(relocationFieldSize(R_X86_64_NONE), 0);
  EXPECT_EQ(relocationFieldSize(R_X86_64_COPY), 0);
  EXPECT_EQ(relocationFieldSize(R_X86_64_8), 1);
  EXPECT_EQ(relocationFieldSize(R_X86_64_PC16), 2);
  EXPECT_EQ(relocationFieldSize(R_X86_64_PC32), 4);
  EXPECT_EQ(relocationFieldSize(R_X86_64_32S), 4);
  EXPECT_EQ(relocationFieldSize(R_X86_64_PLT32), 4);
  EXPECT_EQ(relocationFieldSize(R_X86_64_RELATIVE), 8);
  EXPECT_EQ(relocationFieldSize(R_X86_64_GLOB_DAT), 8);
  EXPECT_EQ(relocationFieldSize(R_X86_64_TPOFF64), 8);
  EXPECT_EQ(relocationFieldSize(R_X86_64_TLSDESC), 16);
}
