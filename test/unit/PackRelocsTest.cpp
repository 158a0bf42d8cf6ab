//===- PackRelocsTest.cpp - the RELR encoder ------------------------------===//
#include "elfopt/Elf/Relocations.h"
#include "elfopt/Hash/HashTables.h"
#include "elfopt/PackRelocs/PackRelocs.h"
#include "elfopt/Support/Diagnostics.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>

using namespace elfopt;

namespace {

std::vector<uint64_t> words(uint64_t first, size_t count) {
  std::vector<uint64_t> out;
  for (size_t i = 0; i < count; ++i)
    out.push_back(first + 8 * i);
  return out;
}

std::vector<uint64_t> roundTrip(const std::vector<uint64_t> &addresses) {
  std::vector<uint64_t> encoded = encodeRelr(addresses);
  std::vector<uint8_t> bytes(encoded.size() * 8);
  std::memcpy(bytes.data(), encoded.data(), bytes.size());
  return decodeRelr(bytes);
}

} // namespace

TEST(EncodeRelr, NothingGivesNothing) { EXPECT_TRUE(encodeRelr({}).empty()); }

TEST(EncodeRelr, OneWordIsOneAddress) {
  std::vector<uint64_t> a = {0x3dd0};
  EXPECT_EQ(encodeRelr(a), (std::vector<uint64_t>{0x3dd0}));
}

TEST(EncodeRelr, SixtyFourWordsFillOneBitmap) {
  // The address, then 63 words: every bit of the bitmap.
  EXPECT_EQ(encodeRelr(words(0x1000, 64)), (std::vector<uint64_t>{0x1000, ~uint64_t(0)}));
}

TEST(EncodeRelr, TheSixtyFifthWordStartsTheNextBitmap) {
  EXPECT_EQ(encodeRelr(words(0x1000, 65)), (std::vector<uint64_t>{0x1000, ~uint64_t(0), 0b11}));
}

TEST(EncodeRelr, LastBitOfABitmap) {
  std::vector<uint64_t> a = {0x1000, 0x1000 + 8 * 63};
  EXPECT_EQ(encodeRelr(a), (std::vector<uint64_t>{0x1000, (uint64_t(1) << 63) | 1}));
}

TEST(EncodeRelr, OneWordPastTheBitmapTakesAnAddress) {
  std::vector<uint64_t> a = {0x1000, 0x1000 + 8 * 64};
  EXPECT_EQ(encodeRelr(a), (std::vector<uint64_t>{0x1000, 0x1200}));
}

TEST(EncodeRelr, GapsInsideAndBetweenRuns) {
  std::vector<uint64_t> a = {0x1000, 0x1010, 0x9000, 0x9008};
  EXPECT_EQ(encodeRelr(a), (std::vector<uint64_t>{0x1000, 0b101, 0x9000, 0b11}));
}

TEST(EncodeRelr, AnEmptyBitmapIsNeverWritten) {
  // Words 63 apart and more: the second bitmap would be empty, so an
  // address entry comes instead.
  std::vector<uint64_t> a = {0x1000, 0x1008, 0x1000 + 8 * 200};
  EXPECT_EQ(encodeRelr(a), (std::vector<uint64_t>{0x1000, 0b11, 0x1640}));
}

TEST(EncodeRelr, OddOrUnsortedAddressesAreRefused) {
  std::vector<uint64_t> odd = {0x1000, 0x1004};
  EXPECT_THROW(encodeRelr(odd), FatalError);
  std::vector<uint64_t> down = {0x1008, 0x1000};
  EXPECT_THROW(encodeRelr(down), FatalError);
  std::vector<uint64_t> twice = {0x1000, 0x1000};
  EXPECT_THROW(encodeRelr(twice), FatalError);
}

TEST(EncodeRelr, DecodesToTheSameAddresses) {
  std::mt19937_64 random(7);
  for (int round = 0; round < 50; ++round) {
    std::vector<uint64_t> a;
    uint64_t at = 0x200000;
    for (int i = 0; i < 500; ++i) {
      at += 8 * (1 + random() % (round % 5 == 0 ? 200 : 4));
      a.push_back(at);
    }
    EXPECT_EQ(roundTrip(a), a);
  }
}

TEST(ElfHash, OfTheVersionGlibcChecks) {
  // glibc compares vna_hash with this constant before the name; the pass
  // writes sysvHash(), the ELF hash.
  EXPECT_EQ(sysvHash(RelrVersionName), 0x0fd0e42u);
  EXPECT_EQ(sysvHash("GLIBC_2.2.5"), 0x09691a75u);
}
