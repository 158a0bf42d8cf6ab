//===- NarrowingTest.cpp - found functions that verify's problems name ----===//
//
// Three found functions, one moved: an address inside one, at its end, or
// inside where it moved names it; an address between them names none.
//
//===----------------------------------------------------------------------===//
#include "../../lib/Pipeline/Narrowing.h"

#include <gtest/gtest.h>

using namespace elfopt;

namespace {

using Functions = std::vector<std::pair<uint64_t, uint64_t>>;

const Functions Found{{0x1000, 0x1010}, {0x1020, 0x1030}, {0x1040, 0x1050}};

AddressMap movedSecond() {
  AddressMap m;
  m.add(0x1020, 0x10, 0x9000); // [0x1020, 0x1030) -> 0x9000
  m.finish();
  return m;
}

Functions named(std::vector<uint64_t> problemCode, Functions *rest = nullptr) {
  Functions out;
  Functions kept = splitNamedFunctions(Found, movedSecond(), std::move(problemCode), out);
  if (rest)
    *rest = kept;
  return out;
}

} // namespace

TEST(Narrowing, AnAddressInsideNamesItsFunction) {
  Functions rest;
  EXPECT_EQ(named({0x1045}, &rest), (Functions{{0x1040, 0x1050}}));
  EXPECT_EQ(rest, (Functions{{0x1000, 0x1010}, {0x1020, 0x1030}}));
}

TEST(Narrowing, ItsEndNamesItToo) {
  // A table entry read as leading to the end of a function.
  EXPECT_EQ(named({0x1010}), (Functions{{0x1000, 0x1010}}));
}

TEST(Narrowing, WhereItMovedNamesIt) {
  EXPECT_EQ(named({0x9008}), (Functions{{0x1020, 0x1030}}));
  EXPECT_EQ(named({0x9010}), (Functions{{0x1020, 0x1030}}));
}

TEST(Narrowing, AddressesBetweenNameNothing) {
  EXPECT_EQ(named({0x1018, 0x1038, 0x0, 0x9011}), Functions{});
}
