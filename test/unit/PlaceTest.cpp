//===- PlaceTest.cpp - placement of block groups in the new .text ---------===//
//
// Hand-made plans with the addresses worked out by hand: the order is
// followed when it fits; alignment is given up step by step (ordered groups
// keep theirs longest, C++ functions stay even); pinned groups cut .text into
// slots and later small groups fill the holes; packing by size is the last
// resort, and reports that the order was not followed.
//
//===----------------------------------------------------------------------===//
#include "../../lib/Rewrite/Place.h"

#include <gtest/gtest.h>

using elfopt::rewrite::PlaceItem;
using elfopt::rewrite::placeItems;

namespace {

PlaceItem item(uint64_t start, uint64_t end, uint64_t align, size_t rank = SIZE_MAX) {
  PlaceItem p;
  p.start = start;
  p.bodyEnd = end;
  p.align = align;
  p.rank = rank;
  return p;
}

PlaceItem pinned(uint64_t start, uint64_t end) {
  PlaceItem p = item(start, end, 1);
  p.pinned = true;
  return p;
}

} // namespace

TEST(Place, FollowsTheOrderThenTheRestInAddressOrder) {
  // B is ordered first, A second; C is not ordered and follows.
  auto r = placeItems({item(0x1000, 0x1010, 16, 1), item(0x1010, 0x1020, 16, 0), item(0x1020, 0x1030, 16)},
                      0x1000, 0x1030);
  ASSERT_TRUE(r.fits);
  EXPECT_FALSE(r.orderIgnored);
  EXPECT_EQ(r.newStart, (std::vector<uint64_t>{0x1010, 0x1000, 0x1020}));
}

TEST(Place, UnorderedGroupsGiveUpTheirAlignmentFirst) {
  // B (1 byte, ordered) first at 0x1000; A (16 bytes, align 16) would go to
  // 0x1010 and overflow .text's end at 0x1014, so A drops its alignment
  // (0x1001) while B keeps its own.
  auto r = placeItems({item(0x1000, 0x1010, 16), item(0x1010, 0x1011, 16, 0), item(0x1011, 0x1013, 1)}, 0x1000,
                      0x1014);
  ASSERT_TRUE(r.fits);
  EXPECT_FALSE(r.orderIgnored);
  EXPECT_EQ(r.newStart, (std::vector<uint64_t>{0x1001, 0x1000, 0x1011}));
}

TEST(Place, CxxFunctionsStayEven) {
  // As above, but A is a C++ function: the Itanium ABI reads an odd address
  // as a virtual member function pointer, so A goes to 0x1002, not 0x1001.
  std::vector<PlaceItem> items = {item(0x1000, 0x1010, 16), item(0x1010, 0x1011, 16, 0), item(0x1011, 0x1013, 1)};
  items[0].isCxx = true;
  auto r = placeItems(items, 0x1000, 0x1014);
  ASSERT_TRUE(r.fits);
  EXPECT_EQ(r.newStart, (std::vector<uint64_t>{0x1002, 0x1000, 0x1012}));
}

TEST(Place, PinnedGroupsStayAndLaterGroupsFillTheHoles) {
  // P is pinned at [0x1010, 0x1020): free slots [0x1000, 0x1010) and
  // [0x1020, 0x1040). Y (28 bytes, first in the order) only fits the second
  // slot; X and Z then fill the first one, in sequence.
  auto r = placeItems({item(0x1000, 0x1008, 1, 1), item(0x1008, 0x1010, 1), pinned(0x1010, 0x1020),
                       item(0x1020, 0x103c, 1, 0)},
                      0x1000, 0x1040);
  ASSERT_TRUE(r.fits);
  EXPECT_FALSE(r.orderIgnored);
  EXPECT_EQ(r.newStart, (std::vector<uint64_t>{0x1000, 0x1008, 0x1010, 0x1020}));
}

TEST(Place, PacksBySizeWhenTheOrderCannotFit) {
  // Slots of 10 and 6 bytes around a pinned group. In order, Q (6 bytes)
  // takes the 10-byte slot and R (10 bytes) fits nowhere; packed largest
  // first both fit, and the result says the order was not followed.
  auto r = placeItems({item(0x1000, 0x100a, 1, 1), pinned(0x100a, 0x101a), item(0x101a, 0x1020, 1, 0)}, 0x1000,
                      0x1020);
  ASSERT_TRUE(r.fits);
  EXPECT_TRUE(r.orderIgnored);
  EXPECT_EQ(r.newStart, (std::vector<uint64_t>{0x1000, 0x100a, 0x101a}));
}

TEST(Place, SaysSoWhenNothingFits) {
  // 8 bytes to place, two 4-byte slots.
  auto r = placeItems({item(0x1000, 0x1008, 1), pinned(0x1004, 0x100c)}, 0x1000, 0x1010);
  EXPECT_FALSE(r.fits);
  EXPECT_TRUE(r.orderIgnored);
}

TEST(Place, PinnedOnlyKeepsEverything) {
  auto r = placeItems({pinned(0x1000, 0x1004), pinned(0x1008, 0x100c)}, 0x1000, 0x1010);
  ASSERT_TRUE(r.fits);
  EXPECT_EQ(r.newStart, (std::vector<uint64_t>{0x1000, 0x1008}));
}

namespace {

PlaceItem withStubs(PlaceItem p, std::vector<std::pair<uint64_t, uint64_t>> stubs) {
  p.stubs = std::move(stubs);
  return p;
}

} // namespace

using elfopt::rewrite::placeWithStubs;

TEST(PlaceWithStubs, OrderedCodeGoesFirstAroundItsOwnStubsAndUnorderedCodeStays) {
  // B (ordered) moves to the front; its stub keeps [0x1010, 0x1015); A,
  // displaced, fills the hole B left; C has stubs and nothing needs its
  // place: it stays.
  auto r = placeWithStubs({item(0x1000, 0x1008, 1), withStubs(item(0x1010, 0x1018, 1, 0), {{0x1010, 0x1015}}),
                           withStubs(item(0x1020, 0x1100, 1), {{0x1020, 0x1025}})},
                          0x1000, 0x1100);
  ASSERT_TRUE(r.fits);
  EXPECT_EQ(r.newStart, (std::vector<uint64_t>{0x1008, 0x1000, 0x1020}));
}

TEST(PlaceWithStubs, UnorderedCodeWithStubsStaysAndOrderedCodeGoesAroundIt) {
  // Moving A would cost its stub: B goes after it instead.
  auto r = placeWithStubs({withStubs(item(0x1000, 0x1004, 1), {{0x1000, 0x1005}}), item(0x1010, 0x1018, 1, 0),
                           item(0x1020, 0x1100, 1)},
                          0x1000, 0x1100);
  ASSERT_TRUE(r.fits);
  EXPECT_EQ(r.newStart, (std::vector<uint64_t>{0x1000, 0x1004, 0x1020}));
}

TEST(PlaceWithStubs, DisplacedCodeTakesTheSmallestHoleThatFits) {
  // B (align 16) moves to 0x1000, over D; its stub keeps [0x1010, 0x1015).
  // The holes are [0x1008, 0x1010) and [0x1015, 0x1020): D takes the smaller.
  auto r = placeWithStubs({item(0x1000, 0x1004, 1), withStubs(item(0x1010, 0x1018, 16, 0), {{0x1010, 0x1015}}),
                           item(0x1020, 0x1100, 1)},
                          0x1000, 0x1100);
  ASSERT_TRUE(r.fits);
  EXPECT_EQ(r.newStart, (std::vector<uint64_t>{0x1008, 0x1000, 0x1020}));
}

TEST(PlaceWithStubs, AnOrderedItemThatFitsNowhereStays) {
  // B's stub leaves 3 free bytes: B stays, and says so.
  auto r = placeWithStubs({withStubs(item(0x1000, 0x1008, 1), {{0x1000, 0x1005}}),
                           withStubs(item(0x1008, 0x1010, 1, 0), {{0x1008, 0x100d}})},
                          0x1000, 0x1010);
  ASSERT_TRUE(r.fits);
  EXPECT_EQ(r.kept, (std::vector<size_t>{1}));
  EXPECT_EQ(r.newStart, (std::vector<uint64_t>{0x1000, 0x1008}));
}

TEST(PlaceWithStubs, ALaterSmallItemFillsTheHoleALargerOneLeftBehind) {
  // Y (16 bytes) does not fit what X left of [0x1000, 0x1008) and goes on
  // to 0x1010; Z (4 bytes) fills the hole behind it.
  auto r = placeWithStubs({pinned(0x1008, 0x1010), item(0x1010, 0x1014, 1, 0), item(0x1014, 0x1024, 1, 1),
                           withStubs(item(0x1024, 0x1028, 1, 2), {{0x1024, 0x1029}})},
                          0x1000, 0x1040);
  ASSERT_TRUE(r.fits);
  EXPECT_FALSE(r.orderIgnored);
  EXPECT_EQ(r.newStart, (std::vector<uint64_t>{0x1008, 0x1000, 0x1010, 0x1004}));
}

TEST(PlaceWithStubs, PinnedCodeStaysAndCutsTheSlots) {
  // P is pinned at [0x1000, 0x1008): B goes after it.
  auto r = placeWithStubs({pinned(0x1000, 0x1008), item(0x1010, 0x1018, 1, 0)}, 0x1000, 0x1020);
  ASSERT_TRUE(r.fits);
  EXPECT_EQ(r.newStart, (std::vector<uint64_t>{0x1000, 0x1008}));
}

TEST(PlaceWithStubs, AnItemThatFitsNowhereInOrderGoesFirstNextTime) {
  // Slots [0x1000, 0x1014) and [0x1018, 0x1024) around P. In order, X (4)
  // and Y (12) take the first slot and Z (16) finds no room. Next round Z
  // goes first, into the smallest slot with room, and X and Y around it.
  auto r = placeWithStubs({item(0x1000, 0x1010, 1, 2), item(0x1010, 0x1014, 1, 0), pinned(0x1014, 0x1018),
                           item(0x1018, 0x1024, 1, 1)},
                          0x1000, 0x1024);
  ASSERT_TRUE(r.fits);
  EXPECT_TRUE(r.kept.empty());
  EXPECT_EQ(r.newStart, (std::vector<uint64_t>{0x1000, 0x1010, 0x1014, 0x1018}));
}

TEST(PlaceWithStubs, AnItemThatFitsNowhereEvenFirstStays) {
  // Z (24) is larger than any slot (its own stub cuts its old place to 23
  // bytes): it stays, and the others go around it.
  auto r = placeWithStubs({withStubs(item(0x1000, 0x1018, 1, 2), {{0x1000, 0x1005}}), item(0x1018, 0x101c, 1, 0),
                           pinned(0x101c, 0x1020), item(0x1020, 0x1030, 1, 1)},
                          0x1000, 0x1030);
  ASSERT_TRUE(r.fits);
  EXPECT_EQ(r.kept, (std::vector<size_t>{0}));
  EXPECT_EQ(r.newStart, (std::vector<uint64_t>{0x1000, 0x1018, 0x101c, 0x1020}));
}

using elfopt::rewrite::placeInRoom;

TEST(PlaceInRoom, OrderedItemsGoToTheRoomInOrderAndTheRestStays) {
  // B (rank 1) and D (rank 0, align 16) go to the room at 0x9000: D first,
  // then B right after it; A (unordered, with a stub), C (pinned) stay.
  auto r = placeInRoom({withStubs(item(0x1000, 0x1010, 1), {{0x1000, 0x1005}}), item(0x1010, 0x1013, 1, 1),
                        pinned(0x1013, 0x1020), withStubs(item(0x1020, 0x1031, 16, 0), {{0x1020, 0x1025}})},
                       0x9000, 0x9100);
  EXPECT_TRUE(r.fits);
  EXPECT_FALSE(r.orderIgnored);
  EXPECT_TRUE(r.kept.empty());
  EXPECT_EQ(r.newStart, (std::vector<uint64_t>{0x1000, 0x9011, 0x1013, 0x9000}));
}

TEST(PlaceInRoom, AlignmentPadsBetweenItems) {
  // X (3 bytes) at 0x9000; Y (align 32) at the next multiple of 32.
  auto r = placeInRoom({item(0x1000, 0x1003, 1, 0), item(0x1020, 0x1030, 32, 1)}, 0x9000, 0x9100);
  EXPECT_EQ(r.newStart, (std::vector<uint64_t>{0x9000, 0x9020}));
}

TEST(PlaceInRoom, AnItemPastTheRoomStaysAndLaterOnesStillFit) {
  // X fills 0x10 of 0x14 bytes; Y (8) does not fit and stays; Z (4) does.
  auto r = placeInRoom({item(0x1000, 0x1010, 1, 0), item(0x1010, 0x1018, 1, 1), item(0x1018, 0x101c, 1, 2)},
                       0x9000, 0x9014);
  EXPECT_EQ(r.kept, (std::vector<size_t>{1}));
  EXPECT_EQ(r.newStart, (std::vector<uint64_t>{0x9000, 0x1010, 0x9010}));
}
