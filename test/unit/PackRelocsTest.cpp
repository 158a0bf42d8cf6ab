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

std::vector<uint64_t> decode(const std::vector<uint64_t> &encoded) {
  std::vector<uint8_t> bytes(encoded.size() * 8);
  std::memcpy(bytes.data(), encoded.data(), bytes.size());
  return decodeRelr(bytes);
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

TEST(RelrLoaderInstructions, CountsGlibcsLoop) {
  // An address entry is 9; a bitmap 10 plus 5 per bit up to its highest
  // set one, plus 1 per set bit.
  EXPECT_EQ(relrLoaderInstructions(std::vector<uint64_t>{0x1000}), 9u);
  EXPECT_EQ(relrLoaderInstructions(std::vector<uint64_t>{0x1000, 0b11}), 9u + 10 + 5 + 1);
  EXPECT_EQ(relrLoaderInstructions(std::vector<uint64_t>{0x1000, 0b1001}), 9u + 10 + 3 * 5 + 1);
  EXPECT_EQ(relrLoaderInstructions(std::vector<uint64_t>{0x1000, ~uint64_t(0)}), 9u + 10 + 63 * 6);
}

TEST(EncodeRelrForLoader, FarApartInOneWindowTakesTwoAddresses) {
  // The linkers mark the second word with bit 62 of a bitmap, which the
  // loader shifts 62 times; a second address entry is 9 instructions.
  std::vector<uint64_t> a = {0x1000, 0x1000 + 8 * 62};
  EXPECT_EQ(encodeRelr(a), (std::vector<uint64_t>{0x1000, (uint64_t(1) << 62) | 1}));
  EXPECT_EQ(encodeRelrForLoader(a), (std::vector<uint64_t>{0x1000, 0x1000 + 8 * 62}));
  EXPECT_EQ(relrLoaderInstructions(encodeRelrForLoader(a)), 18u);
}

TEST(EncodeRelrForLoader, BytesCountAgainstFewWordsInABitmap) {
  // Three words with a gap: three address entries are 27 instructions and
  // 24 bytes (51), an address and a bitmap 9 + 10 + 3 * 5 + 2 = 36 and 16
  // bytes (52). Four in a row: a bitmap, 9 + 10 + 3 * 6 + 16 = 53, against
  // 36 + 32 = 68.
  std::vector<uint64_t> three = {0x1000, 0x1008, 0x1018};
  EXPECT_EQ(encodeRelrForLoader(three), three);
  EXPECT_EQ(relrEncodingCost(three), 51u);
  std::vector<uint64_t> four = words(0x1000, 4);
  EXPECT_EQ(encodeRelrForLoader(four), (std::vector<uint64_t>{0x1000, 0b1111}));
  EXPECT_EQ(relrEncodingCost(encodeRelrForLoader(four)), 53u);
}

TEST(EncodeRelrForLoader, ADenseRunIsEncodedAsTheLinkersDo) {
  // 2,000 consecutive words: every bitmap full; cutting runs only adds
  // entries, so the linkers' encoding stands.
  std::vector<uint64_t> a = words(0x10000, 2000);
  EXPECT_EQ(encodeRelrForLoader(a), encodeRelr(a));
}

TEST(EncodeRelrForLoader, ADenseRunAfterAGapStartsItsOwnRun) {
  // One word, then a dense run 40 words on: the linkers put the run's first
  // 23 words at the top of the first bitmap (40 shifts), the search starts
  // the run with an address entry.
  std::vector<uint64_t> a = {0x1000};
  for (uint64_t w : words(0x1000 + 8 * 41, 100))
    a.push_back(w);
  std::vector<uint64_t> ours = encodeRelrForLoader(a);
  EXPECT_EQ(decode(ours), a);
  EXPECT_EQ(ours.front(), 0x1000u);
  EXPECT_EQ(ours[1], 0x1000u + 8 * 41);
  EXPECT_LT(relrLoaderInstructions(ours), relrLoaderInstructions(encodeRelr(a)));
}

TEST(EncodeRelrForLoader, NeverCostsMoreAndDecodesToTheSame) {
  std::mt19937_64 random(11);
  int64_t saved = 0;
  for (int round = 0; round < 200; ++round) {
    std::vector<uint64_t> a;
    uint64_t at = 0x200000;
    // Mixed densities: dense runs, sparse words, gaps past a window.
    for (int i = 0; i < 400; ++i) {
      unsigned kind = random() % 10;
      at += 8 * (kind < 6 ? 1 : kind < 9 ? 1 + random() % 70 : 100 + random() % 200);
      a.push_back(at);
    }
    std::vector<uint64_t> ours = encodeRelrForLoader(a), linkers = encodeRelr(a);
    ASSERT_EQ(decode(ours), a) << "round " << round;
    ASSERT_LE(relrEncodingCost(ours), relrEncodingCost(linkers)) << "round " << round;
    saved += int64_t(relrLoaderInstructions(linkers)) - int64_t(relrLoaderInstructions(ours));
  }
  EXPECT_GT(saved, 0);
}

TEST(EncodeRelrForLoader, OddOrUnsortedAddressesAreRefused) {
  std::vector<uint64_t> odd = {0x1004};
  EXPECT_THROW(encodeRelrForLoader(odd), FatalError);
  std::vector<uint64_t> down = {0x1008, 0x1000};
  EXPECT_THROW(encodeRelrForLoader(down), FatalError);
  EXPECT_TRUE(encodeRelrForLoader({}).empty());
}

TEST(ElfHash, OfTheVersionGlibcChecks) {
  // glibc compares vna_hash with this constant before the name; the pass
  // writes sysvHash(), the ELF hash.
  EXPECT_EQ(sysvHash(RelrVersionName), 0x0fd0e42u);
  EXPECT_EQ(sysvHash("GLIBC_2.2.5"), 0x09691a75u);
}
