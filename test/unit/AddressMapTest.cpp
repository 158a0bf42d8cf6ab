// AddressMap (top of lib/Rewrite/Rewrite.cpp): where each moved range of
// .text went, looked up by any address inside it.
#include "elfopt/Rewrite/Rewrite.h"

#include <gtest/gtest.h>

using namespace elfopt;

namespace {

// Three moved ranges, added out of order, with a gap between the first
// two and none between the last two:
//   [0x1000, 0x1010) -> 0x3000
//   [0x1020, 0x1030) -> 0x1000
//   [0x1030, 0x1031) -> 0x2000
AddressMap sample() {
  AddressMap m;
  m.add(0x1030, 0x1, 0x2000);
  m.add(0x1000, 0x10, 0x3000);
  m.add(0x1020, 0x10, 0x1000);
  m.finish();
  return m;
}

} // namespace

TEST(AddressMap, SortedByOldAddress) {
  AddressMap m = sample();
  ASSERT_EQ(m.all().size(), 3u);
  EXPECT_EQ(m.all()[0].from, 0x1000u);
  EXPECT_EQ(m.all()[1].from, 0x1020u);
  EXPECT_EQ(m.all()[2].from, 0x1030u);
}

TEST(AddressMap, FindsTheRangeHoldingAnAddress) {
  AddressMap m = sample();
  EXPECT_EQ(m.find(0xfff), nullptr);
  ASSERT_NE(m.find(0x1000), nullptr);
  EXPECT_EQ(m.find(0x1000)->to, 0x3000u);
  EXPECT_EQ(m.find(0x100f)->to, 0x3000u); // last byte
  EXPECT_EQ(m.find(0x1010), nullptr);     // one past: the gap
  EXPECT_EQ(m.find(0x101f), nullptr);
  EXPECT_EQ(m.find(0x1020)->to, 0x1000u);
  EXPECT_EQ(m.find(0x102f)->to, 0x1000u);
  EXPECT_EQ(m.find(0x1030)->to, 0x2000u); // adjacent range: the next one
  EXPECT_EQ(m.find(0x1031), nullptr);
  EXPECT_EQ(m.find(0), nullptr);
  EXPECT_EQ(m.find(UINT64_MAX), nullptr);
}

TEST(AddressMap, MapsInsideMovedRangesOnly) {
  AddressMap m = sample();
  EXPECT_EQ(m.map(0x1000), 0x3000u);
  EXPECT_EQ(m.map(0x1007), 0x3007u);
  EXPECT_EQ(m.map(0x100f), 0x300fu);
  EXPECT_EQ(m.map(0x1010), 0x1010u); // not moved
  EXPECT_EQ(m.map(0x1025), 0x1005u);
  EXPECT_EQ(m.map(0x1030), 0x2000u);
  EXPECT_EQ(m.map(0x1031), 0x1031u);
  EXPECT_EQ(m.map(0x10), 0x10u);
  EXPECT_EQ(m.map(UINT64_MAX), UINT64_MAX);
}

TEST(AddressMap, EmptyMapsAndEmptyRanges) {
  AddressMap none;
  none.finish();
  EXPECT_EQ(none.find(0x1000), nullptr);
  EXPECT_EQ(none.map(0x1000), 0x1000u);
  // A range of no bytes holds no address, not even its start.
  AddressMap m;
  m.add(0x1000, 0, 0x5000);
  m.finish();
  EXPECT_EQ(m.find(0x1000), nullptr);
  EXPECT_EQ(m.map(0x1000), 0x1000u);
}

TEST(AddressMap, RangeAtTheTopOfTheAddressSpace) {
  AddressMap m;
  m.add(UINT64_MAX - 0xf, 0x10, 0x100);
  m.finish();
  EXPECT_EQ(m.map(UINT64_MAX), 0x10fu);
  EXPECT_EQ(m.map(UINT64_MAX - 0x10), UINT64_MAX - 0x10);
}
