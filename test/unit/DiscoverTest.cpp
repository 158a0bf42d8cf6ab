//===- DiscoverTest.cpp - functions proved in code nothing describes ------===//
//
// Made-up runs of code at known addresses: calls and a tail jump start
// functions, so does a lea; bytes nothing reaches end a function, or keep it
// in place when control gets past them (padding does not), code read as memory is data, an entry in the middle of
// an instruction keeps the pieces around it (and only those), and a jump
// table's cases count as reached only through the table.
//
//===----------------------------------------------------------------------===//
#include "../../lib/Rewrite/Discover.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

using namespace elfopt::rewrite;
using elfopt::x86_64::Decoder;

namespace {

constexpr uint64_t TextStart = 0x1000;
using Bodies = std::vector<std::pair<uint64_t, uint64_t>>;

/// .text under construction: instructions appended at the next address.
struct Text {
  std::vector<uint8_t> bytes;
  uint64_t here() const { return TextStart + bytes.size(); }
  uint64_t emit(std::initializer_list<uint8_t> b) {
    uint64_t at = here();
    bytes.insert(bytes.end(), b);
    return at;
  }
  void rel32(uint64_t target) { // from the end of the instruction it ends
    int32_t d = int32_t(target - (here() + 4));
    for (int i = 0; i < 4; ++i)
      bytes.push_back(uint8_t(uint32_t(d) >> (8 * i)));
  }
  uint64_t call(uint64_t target) { uint64_t at = emit({0xe8}); rel32(target); return at; }
  uint64_t jmp(uint64_t target) { uint64_t at = emit({0xe9}); rel32(target); return at; }
  uint64_t lea(uint64_t target) { uint64_t at = emit({0x48, 0x8d, 0x05}); rel32(target); return at; } // lea t(%rip),%rax
  uint64_t load(uint64_t target) { uint64_t at = emit({0x48, 0x8b, 0x05}); rel32(target); return at; } // mov t(%rip),%rax
  uint64_t ret() { return emit({0xc3}); }
  uint64_t mov() { return emit({0x48, 0x89, 0xf8}); } // mov %rdi,%rax
  void padTo(uint64_t a, uint8_t fill = 0xcc) {
    while (here() < a)
      bytes.push_back(fill);
  }
  /// Patches the rel32 that ends the instruction at \p at (\p size bytes:
  /// 5 for a call or jump, 7 for lea and load) to lead to \p target.
  void retarget(uint64_t at, uint64_t target, uint64_t size = 5) {
    int32_t d = int32_t(target - (at + size));
    for (int i = 0; i < 4; ++i)
      bytes[at - TextStart + size - 4 + i] = uint8_t(uint32_t(d) >> (8 * i));
  }
};

const Decoder &decoder() {
  static Decoder d(/*describeOperations=*/true);
  return d;
}

/// The functions found in \p runs from \p starts.
Bodies discover(const Text &t, std::vector<std::pair<uint64_t, uint64_t>> runs, std::vector<uint64_t> starts,
                std::vector<std::pair<uint64_t, uint64_t>> tableTargets = {}) {
  DiscoveryInput in;
  in.textStart = TextStart;
  in.text = t.bytes;
  in.runs = std::move(runs);
  in.starts = std::move(starts);
  in.tableTargets = std::move(tableTargets);
  return discoverFunctions(in, decoder());
}

} // namespace

TEST(Discover, CallsStartFunctions) {
  Text t;
  uint64_t f = t.here();
  uint64_t c = t.call(0);
  uint64_t fEnd = t.ret() + 1;
  t.padTo(0x1010);
  uint64_t g = t.mov();
  uint64_t gEnd = t.ret() + 1;
  t.retarget(c, g);
  t.padTo(0x1020);
  EXPECT_EQ(discover(t, {{TextStart, t.here()}}, {f}), (Bodies{{f, fEnd}, {g, gEnd}}));
}

TEST(Discover, BytesNothingReachesEndTheFunction) {
  Text t;
  uint64_t f = t.ret();
  t.mov(); // after the return, and nothing leads here: data, or dead code
  t.ret();
  t.padTo(0x1010);
  uint64_t g = t.ret();
  t.padTo(0x1020);
  // f ends at its return; the bytes after it stay where they are.
  EXPECT_EQ(discover(t, {{TextStart, t.here()}}, {f, g}), (Bodies{{f, f + 1}, {g, g + 1}}));
}

TEST(Discover, BytesNothingReachesInsideAFunctionKeepItsPiece) {
  Text t;
  uint64_t f = t.here();
  uint64_t j = t.emit({0xeb, 0x00}); // jmp over the bytes below, patched
  t.emit({0x48, 0xb8}); // nothing reaches these: data in the function
  uint64_t after = t.ret();
  t.bytes[j - TextStart + 1] = uint8_t(after - (j + 2));
  t.padTo(0x1010);
  uint64_t g = t.ret();
  t.padTo(0x1020);
  EXPECT_EQ(discover(t, {{TextStart, t.here()}}, {f, g}), (Bodies{{g, g + 1}}));
}

TEST(Discover, PaddingNeedNotBeReached) {
  Text t;
  uint64_t f = t.ret();
  t.padTo(0x1008, 0xcc); // int3
  t.padTo(0x100c, 0x90); // nop
  t.padTo(0x1010, 0x00); // zeros (gold)
  uint64_t g = t.ret();
  EXPECT_EQ(discover(t, {{TextStart, t.here()}}, {f, g}), (Bodies{{f, f + 1}, {g, g + 1}}));
}

TEST(Discover, CodeReadAsMemoryIsData) {
  Text t;
  uint64_t f = t.here();
  uint64_t load = t.load(0);
  uint64_t c = t.call(0);
  uint64_t fEnd = t.ret() + 1;
  t.padTo(0x1020);
  uint64_t g = t.mov(); // called, and read as memory
  t.ret();
  t.padTo(0x1030);
  t.retarget(load, g, 7);
  t.retarget(c, g);
  EXPECT_EQ(discover(t, {{TextStart, t.here()}}, {f}), (Bodies{{f, fEnd}}));
}

TEST(Discover, AnAddressTakenStartsAFunction) {
  Text t;
  uint64_t f = t.here();
  uint64_t l = t.lea(0);
  uint64_t fEnd = t.ret() + 1;
  t.padTo(0x1010);
  uint64_t g = t.ret();
  t.retarget(l, g, 7);
  EXPECT_EQ(discover(t, {{TextStart, t.here()}}, {f}), (Bodies{{f, fEnd}, {g, g + 1}}));
}

TEST(Discover, AnEntryInsideAnInstructionKeepsThePiecesAroundIt) {
  Text t;
  uint64_t f = t.mov();
  t.ret();
  t.padTo(0x1010);
  uint64_t g = t.ret();
  // f + 1 is inside f's first instruction: neither f's piece nor the one
  // starting at f + 1 is read one way. g is.
  EXPECT_EQ(discover(t, {{TextStart, t.here()}}, {f, g, f + 1}), (Bodies{{g, g + 1}}));
  EXPECT_EQ(discover(t, {{TextStart, t.here()}}, {f + 1, g, f}), (Bodies{{g, g + 1}}));
  EXPECT_EQ(discover(t, {{TextStart, t.here()}}, {f, g}), (Bodies{{f, f + 4}, {g, g + 1}}));
}

TEST(Discover, DataBeforeAFunctionKeepsOnlyItsOwnPiece) {
  Text t;
  uint64_t f = t.here();
  uint64_t c = t.call(0);
  uint64_t fEnd = t.ret() + 1;
  t.padTo(0x1010);
  uint64_t data = t.emit({0x48, 0xb8}); // read linearly, a movabs that swallows g's start
  uint64_t g = t.mov();
  uint64_t gEnd = t.ret() + 1;
  t.retarget(c, g);
  t.padTo(0x1020);
  uint64_t h = t.ret();
  // The two bytes nothing reaches follow f's return: f ends before them and
  // they stay. g, which a linear reading would misread after them, and h are
  // proved.
  EXPECT_EQ(discover(t, {{TextStart, t.here()}}, {f, h}), (Bodies{{f, fEnd}, {g, gEnd}, {h, h + 1}}));
  // With a start at the data, read as an instruction that overlaps g, f is
  // proved; neither the data's piece nor g's is.
  EXPECT_EQ(discover(t, {{TextStart, t.here()}}, {f, h, data}), (Bodies{{f, fEnd}, {h, h + 1}}));
}

TEST(Discover, CasesAreReachedThroughTheirTable) {
  Text t;
  uint64_t f = t.here();
  uint64_t jump = t.emit({0xff, 0xe0}); // jmp *%rax
  uint64_t case0 = t.mov();
  t.ret();
  uint64_t case1 = t.ret();
  uint64_t end = t.here();
  t.padTo(0x1010);
  std::vector<std::pair<uint64_t, uint64_t>> table{{jump, case0}, {jump, case1}};
  EXPECT_EQ(discover(t, {{TextStart, t.here()}}, {f}, table), (Bodies{{f, end}}));
  // Without the table, nothing shows the cases are code.
  EXPECT_EQ(discover(t, {{TextStart, t.here()}}, {f}), Bodies{});
}

TEST(Discover, ATailJumpIntoAnotherRunStartsAFunction) {
  Text t;
  uint64_t f = t.here();
  uint64_t j = t.jmp(0);
  t.padTo(0x1010);
  uint64_t described = t.ret(); // a function with a symbol between the runs
  t.padTo(0x1020);
  uint64_t h = t.mov();
  uint64_t hEnd = t.ret() + 1;
  t.padTo(0x1030);
  t.retarget(j, h);
  EXPECT_EQ(discover(t, {{TextStart, described}, {0x1020, t.here()}}, {f}), (Bodies{{f, j + 5}, {h, hEnd}}));
}

TEST(Discover, AJumpWithinARunDoesNotCutIt) {
  Text t;
  uint64_t f = t.here();
  uint64_t j = t.emit({0x75, 0x00}); // jne to the next-but-one instruction, patched below
  t.ret();
  uint64_t target = t.mov();
  uint64_t end = t.ret() + 1;
  t.bytes[j - TextStart + 1] = uint8_t(target - (j + 2));
  t.padTo(0x1010);
  EXPECT_EQ(discover(t, {{TextStart, t.here()}}, {f}), (Bodies{{f, end}}));
}
