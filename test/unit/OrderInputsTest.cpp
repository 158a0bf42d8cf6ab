//===- OrderInputsTest.cpp - orders matched to a binary's functions ---===//
#include "elfopt/Order/Inputs.h"

#include <gtest/gtest.h>

using namespace elfopt;

namespace {

// Two static functions named "helper" (one per translation unit), as a
// binary's .symtab holds them.
FunctionTable table() {
  FunctionTable t;
  t.source = FunctionSource::Symtab;
  t.functions = {{"main", 0x1000, 0x40, 1},
                 {"helper", 0x1040, 0x10, 1},
                 {"init", 0x1050, 0x20, 1},
                 {"helper", 0x1070, 0x18, 1},
                 {"exit_path", 0x1090, 0x8, 1}};
  return t;
}

OrderFile orderOf(std::vector<std::pair<std::string, uint64_t>> entries) {
  OrderFile o;
  for (auto &[name, address] : entries)
    o.functions.push_back({name, address, 0, 1, 0});
  return o;
}

} // namespace

TEST(OrderAddresses, SameBuildMatchesByAddressAndName) {
  // The second "helper" by its own address: only that one, not both.
  EXPECT_EQ(orderAddresses(orderOf({{"init", 0x1050}, {"helper", 0x1070}, {"main", 0x1000}}), table()),
            (std::vector<uint64_t>{0x1050, 0x1070, 0x1000}));
}

TEST(OrderAddresses, AnotherBuildMatchesEveryFunctionOfTheName) {
  // Addresses of another build: matched by name, each "helper" in address order.
  EXPECT_EQ(orderAddresses(orderOf({{"helper", 0x2222}, {"init", 0x3333}}), table()),
            (std::vector<uint64_t>{0x1040, 0x1070, 0x1050}));
  // An address that starts another function here is not that function.
  EXPECT_EQ(orderAddresses(orderOf({{"init", 0x1000}}), table()), (std::vector<uint64_t>{0x1050}));
}

TEST(OrderAddresses, UnknownNamesAreLeftOut) {
  EXPECT_EQ(orderAddresses(orderOf({{"gone", 0x1000}, {"exit_path", 0x1090}}), table()),
            (std::vector<uint64_t>{0x1090}));
  EXPECT_TRUE(orderAddresses(OrderFile{}, table()).empty());
}

TEST(SymbolListAddresses, EachNameNamesEveryFunctionOfIt) {
  EXPECT_EQ(symbolListAddresses({"exit_path", "helper", "nothing", "main"}, table()),
            (std::vector<uint64_t>{0x1090, 0x1040, 0x1070, 0x1000}));
  EXPECT_TRUE(symbolListAddresses({"nothing"}, table()).empty());
}
