//===- DataWordsTest.cpp - how verify reads a word of loaded data ---------===//
//
// The kind a static relocation gives its word (a PC-relative word against
// data must keep its value: clang's relative lookup tables once read as
// jump table entries and refused a correct rewrite), and the value a 32-bit
// relative word must hold after the move, on a made-up map.
//
//===----------------------------------------------------------------------===//
#include "../../lib/Verify/DataWords.h"

#include <gtest/gtest.h>

#include <set>

using namespace elfopt::verify;
using namespace llvm::ELF;

namespace {

TEST(ReadStaticRelocation, PcRelativeWordAgainstDataKeepsItsValue) {
  // `.L.str.3 - switch.table` in .rodata, against the .rodata section symbol.
  EXPECT_EQ(readStaticRelocation(R_X86_64_PC32, PlaceKind::Data, false), WordKind::Fixed);
}

TEST(ReadStaticRelocation, PcRelativeWordAgainstCodeIsATableEntry) {
  EXPECT_EQ(readStaticRelocation(R_X86_64_PC32, PlaceKind::Data, true), WordKind::TableEntry);
}

TEST(ReadStaticRelocation, AbsoluteWordsAreAddressesWhateverTheySayOf) {
  for (uint32_t type : {R_X86_64_64, R_X86_64_32, R_X86_64_32S})
    for (bool inText : {false, true}) {
      EXPECT_EQ(readStaticRelocation(type, PlaceKind::Data, inText), WordKind::Address);
      EXPECT_EQ(readStaticRelocation(type, PlaceKind::Code, inText), WordKind::Address);
    }
}

TEST(ReadStaticRelocation, CodeAndUnwindAreCheckedElsewhere) {
  EXPECT_EQ(readStaticRelocation(R_X86_64_PC32, PlaceKind::Code, true), WordKind::Operand);
  EXPECT_EQ(readStaticRelocation(R_X86_64_PLT32, PlaceKind::Code, true), WordKind::Operand);
  EXPECT_EQ(readStaticRelocation(R_X86_64_PC32, PlaceKind::Unwind, true), WordKind::Unwind);
}

TEST(ReadStaticRelocation, OtherRelativeFormsMustNotChange) {
  // The rewriter pins the target of any other type, so its word stays.
  EXPECT_EQ(readStaticRelocation(R_X86_64_PC64, PlaceKind::Data, true), WordKind::Fixed);
  EXPECT_EQ(readStaticRelocation(R_X86_64_GOTPCREL, PlaceKind::Data, false), WordKind::Fixed);
}

TEST(ReadStaticRelocation, NoFieldNothingToRead) {
  EXPECT_EQ(readStaticRelocation(R_X86_64_NONE, PlaceKind::Data, true), std::nullopt);
  EXPECT_EQ(readStaticRelocation(R_X86_64_COPY, PlaceKind::Data, true), std::nullopt);
}

// Labels at 0x1000, 0x1010 and 0x2000 (the end of a function); code at
// [0x1000, 0x1100) moves up by 0x500, the rest stays.
struct Layout {
  std::set<uint64_t> labels{0x1000, 0x1010, 0x2000};
  bool isLabel(uint64_t a) const { return labels.count(a) != 0; }
  uint64_t map(uint64_t a) const { return a >= 0x1000 && a < 0x1100 ? a + 0x500 : a; }
};

uint32_t expected(uint64_t place, uint32_t value, std::optional<uint64_t> base) {
  Layout l;
  return expectedRelativeWord(
      place, value, base, [&](uint64_t a) { return l.isLabel(a); }, [&](uint64_t a) { return l.map(a); });
}

TEST(ExpectedRelativeWord, EntryAgainstTheTableBaseFollowsItsLabel) {
  // Table at 0x3000, entry 2 at 0x3008 holds 0x1010 - 0x3000.
  EXPECT_EQ(expected(0x3008, uint32_t(0x1010 - 0x3000), 0x3000), uint32_t(0x1510 - 0x3000));
}

TEST(ExpectedRelativeWord, WithoutABaseTheWordIsRelativeToItself) {
  EXPECT_EQ(expected(0x3008, uint32_t(0x1000 - 0x3008), std::nullopt), uint32_t(0x1500 - 0x3008));
}

TEST(ExpectedRelativeWord, TheWordItselfWhenTheBaseLeadsNowhere) {
  // Against 0x3000 it leads to 0x1008, no label; against itself to 0x1010.
  EXPECT_EQ(expected(0x3008, uint32_t(0x1010 - 0x3008), 0x3000), uint32_t(0x1510 - 0x3008));
}

TEST(ExpectedRelativeWord, TheBaseReadingWinsOverTheWordItself) {
  // Against the base at 0x3000 it leads to 0x1010 (moves); against itself,
  // at 0x3ff0, to 0x2000 (stays): the table reading decides.
  uint64_t base = 0x3000, place = 0x3ff0;
  uint32_t v = uint32_t(0x1010 - base);
  ASSERT_TRUE(Layout{}.isLabel(place + int32_t(v)));
  EXPECT_EQ(expected(place, v, base), uint32_t(0x1510 - base));
}

TEST(ExpectedRelativeWord, AWordThatLeadsToNoLabelKeepsItsValue) {
  EXPECT_EQ(expected(0x3008, 0x1234, 0x3000), 0x1234u);
  EXPECT_EQ(expected(0x3008, 0xfffffff0, std::nullopt), 0xfffffff0u);
}

TEST(ExpectedRelativeWord, TheEndOfAFunctionThatStaysKeepsTheWord) {
  EXPECT_EQ(expected(0x3000, uint32_t(0x2000 - 0x3000), 0x3000), uint32_t(0x2000 - 0x3000));
}

TEST(RelativeWordTarget, SaysWhichReadingLeadsToALabel) {
  Layout l;
  auto target = [&](uint64_t place, uint32_t value, std::optional<uint64_t> base) {
    return relativeWordTarget(place, value, base, [&](uint64_t a) { return l.isLabel(a); });
  };
  EXPECT_EQ(target(0x3008, uint32_t(0x1010 - 0x3000), 0x3000), 0x1010u);
  EXPECT_EQ(target(0x3008, uint32_t(0x2000 - 0x3008), 0x3000), 0x2000u); // the base leads nowhere
  EXPECT_EQ(target(0x3008, 0x1234, 0x3000), std::nullopt);
}

} // namespace
