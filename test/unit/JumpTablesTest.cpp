//===- JumpTablesTest.cpp - PIC jump tables found from the code -----------===//
//
// Hand-assembled functions (each encoding checked with
// `llvm-mc-19 -triple=x86_64 --show-encoding`), decoded as the rewriter
// decodes them: the table's base, the bound from the index check, and what
// makes a jump not understood (a label on the way, a computed target).
//
//===----------------------------------------------------------------------===//
#include "../../lib/Rewrite/JumpTables.h"

#include <gtest/gtest.h>

#include <set>
#include <vector>

using namespace elfopt::rewrite;
using elfopt::x86_64::Decoder;

namespace {

constexpr uint64_t At = 0x1000;
constexpr uint64_t Table = 0x2000;

using Bytes = std::vector<uint8_t>;

/// A function assembled piece by piece at At.
struct Function {
  Bytes bytes;
  std::set<uint64_t> labels; ///< entered from anywhere
  std::set<uint64_t> inner;  ///< entered only by this function's branches
  uint64_t here() const { return At + bytes.size(); }
  Function &add(const Bytes &b) {
    bytes.insert(bytes.end(), b.begin(), b.end());
    return *this;
  }
  Function &label() {
    labels.insert(here());
    return *this;
  }
  Function &innerLabel() {
    inner.insert(here());
    return *this;
  }
  // lea Table(%rip), reg: 48 8d modrm disp32, modrm = 00 reg 101.
  Function &leaTable(uint8_t reg) {
    int32_t disp = int32_t(Table - (here() + 7));
    Bytes b{0x48, 0x8d, uint8_t(0x05 | (reg << 3))};
    for (int i = 0; i < 4; ++i)
      b.push_back(uint8_t(uint32_t(disp) >> (8 * i)));
    return add(b);
  }
  std::vector<IndirectJump> jumps(const OwnTables *own = nullptr) const {
    static Decoder decoder(/*describeOperations=*/true);
    std::vector<DecodedInstruction> code;
    for (uint64_t off = 0; off < bytes.size();) {
      auto inst = decoder.decode(std::span(bytes).subspan(off), At + off);
      EXPECT_TRUE(inst.has_value()) << "at offset " << off;
      if (!inst)
        return {};
      code.push_back({At + off, *inst});
      off += inst->size;
    }
    auto isLabel = [&](uint64_t a) { return labels.count(a) > 0 || inner.count(a) > 0; };
    return findIndirectJumps(code, isLabel, [&](uint64_t a) { return labels.count(a) > 0; }, own);
  }
};

constexpr uint8_t Rax = 0, Rcx = 1, Rdx = 2;
const Bytes CmpEdi5{0x83, 0xff, 0x05}, JaShort{0x77, 0x10}, JaeShort{0x73, 0x10}, MovEdiEdi{0x89, 0xff},
    LoadRdxRdi{0x48, 0x63, 0x04, 0xba}, AddRdxToRax{0x48, 0x01, 0xd0}, NotrackJmpRax{0x3e, 0xff, 0xe0},
    CmpEax3{0x83, 0xf8, 0x03}, MovEaxEax{0x89, 0xc0}, LoadRcxRax{0x48, 0x63, 0x04, 0x81},
    AddRcxToRax{0x48, 0x01, 0xc8}, AddRaxToRdx{0x48, 0x01, 0xc2}, JmpRax{0xff, 0xe0}, JmpRdx{0xff, 0xe2},
    LoadPointer{0x48, 0x8b, 0x47, 0x08}, AddRsiToRax{0x48, 0x01, 0xf0}, CmpRdi7{0x48, 0x83, 0xff, 0x07},
    Call{0xe8, 0, 0, 0, 0}, Ret{0xc3};

} // namespace

TEST(JumpTables, GccTableWithBound) {
  // cmpl $5,%edi; ja; movl %edi,%edi; lea; movslq (%rdx,%rdi,4),%rax;
  // addq %rdx,%rax; notrack jmp *%rax: six entries.
  Function f;
  f.add(CmpEdi5).add(JaShort).add(MovEdiEdi).leaTable(Rdx).add(LoadRdxRdi).add(AddRdxToRax).add(NotrackJmpRax);
  auto jumps = f.jumps();
  ASSERT_EQ(jumps.size(), 1u);
  EXPECT_EQ(jumps[0].kind, IndirectJump::Table);
  EXPECT_EQ(jumps[0].tableBase, Table);
  ASSERT_TRUE(jumps[0].entries.has_value());
  EXPECT_EQ(*jumps[0].entries, 6u);
  EXPECT_EQ(jumps[0].address, f.here() - NotrackJmpRax.size());
}

TEST(JumpTables, AboveOrEqualAndSixtyFourBitCompare) {
  // cmpq $7,%rdi; jae: idx < 7, seven entries.
  Function f;
  f.add(CmpRdi7).add(JaeShort).leaTable(Rdx).add(LoadRdxRdi).add(AddRdxToRax).add(JmpRax);
  auto jumps = f.jumps();
  ASSERT_EQ(jumps.size(), 1u);
  EXPECT_EQ(jumps[0].kind, IndirectJump::Table);
  EXPECT_EQ(jumps[0].entries, std::optional<uint64_t>(7));
}

TEST(JumpTables, ClangHoistedBaseAcrossALabel) {
  // lea at the top, a loop label, then the check and the jump: the base is
  // found because every write of %rcx in the function sets the same table.
  Function f;
  f.leaTable(Rcx).label().add(CmpEax3).add(JaShort).add(MovEaxEax).add(LoadRcxRax).add(AddRcxToRax).add(JmpRax);
  auto jumps = f.jumps();
  ASSERT_EQ(jumps.size(), 1u);
  EXPECT_EQ(jumps[0].kind, IndirectJump::Table);
  EXPECT_EQ(jumps[0].tableBase, Table);
  EXPECT_EQ(jumps[0].entries, std::optional<uint64_t>(4));
}

TEST(JumpTables, BaseRegisterIsTheSum) {
  // add %rax,%rdx; jmp *%rdx: the base register receives the sum.
  Function f;
  f.leaTable(Rdx).add({0x48, 0x63, 0x04, 0xba}).add(AddRaxToRdx).add(JmpRdx);
  auto jumps = f.jumps();
  ASSERT_EQ(jumps.size(), 1u);
  EXPECT_EQ(jumps[0].kind, IndirectJump::Table);
  EXPECT_FALSE(jumps[0].entries.has_value()); // no check: bounded by the entries
}

TEST(JumpTables, LabelBetweenCheckAndLoadLosesTheBound) {
  // Another path may enter after the check: it bounds nothing.
  Function f;
  f.add(CmpEdi5).add(JaShort).label().add(MovEdiEdi).leaTable(Rdx).add(LoadRdxRdi).add(AddRdxToRax).add(JmpRax);
  auto jumps = f.jumps();
  ASSERT_EQ(jumps.size(), 1u);
  EXPECT_EQ(jumps[0].kind, IndirectJump::Table);
  EXPECT_FALSE(jumps[0].entries.has_value());
}

TEST(JumpTables, CheckOfAnotherRegisterIsNoBound) {
  Function f;
  f.add(CmpEax3).add(JaShort).leaTable(Rdx).add(LoadRdxRdi).add(AddRdxToRax).add(JmpRax);
  auto jumps = f.jumps();
  ASSERT_EQ(jumps.size(), 1u);
  EXPECT_FALSE(jumps[0].entries.has_value());
}

TEST(JumpTables, PointerFromMemory) {
  // movq 8(%rdi),%rax; jmp *%rax: a function pointer, nothing to find.
  Function f;
  f.add(LoadPointer).add(JmpRax);
  auto jumps = f.jumps();
  ASSERT_EQ(jumps.size(), 1u);
  EXPECT_EQ(jumps[0].kind, IndirectJump::Pointer);
}

TEST(JumpTables, PointerCopiedAcrossACallIsAPointer) {
  // movq 0xe8(%rax),%rbp; call; movq %rbp,%rax; pop %rbp; jmp *%rax: a
  // virtual tail call (LibreOffice's vcl::Window::EnterWait). %rbp is
  // callee-saved, so the call leaves the loaded pointer in it.
  const Bytes LoadRbp{0x48, 0x8b, 0xa8, 0xe8, 0x00, 0x00, 0x00}, MovRbpToRax{0x48, 0x89, 0xe8}, PopRbp{0x5d};
  Function f;
  f.add(LoadRbp).add(Call).add(MovRbpToRax).add(PopRbp).add(JmpRax);
  ASSERT_EQ(f.jumps().size(), 1u);
  EXPECT_EQ(f.jumps()[0].kind, IndirectJump::Pointer);
  // A computed value copied twice (addq %rsi,%rax; movq %rax,%rcx;
  // movq %rcx,%rax; jmp *%rax) is still computed.
  const Bytes MovRcxToRax{0x48, 0x89, 0xc8};
  Function g;
  g.add(AddRsiToRax).add({0x48, 0x89, 0xc1}).add(MovRcxToRax).add(JmpRax);
  EXPECT_EQ(g.jumps().at(0).kind, IndirectJump::NotUnderstood);
  // A table's computed target copied to another register is not taken for
  // a pointer either.
  Function h;
  h.leaTable(Rdx).add(LoadRdxRdi).add(AddRdxToRax).add({0x48, 0x89, 0xc1}).add({0xff, 0xe1}); // mov %rax,%rcx; jmp *%rcx
  EXPECT_EQ(h.jumps().at(0).kind, IndirectJump::NotUnderstood);
}

TEST(JumpTables, ComputedTargetIsNotUnderstood) {
  // addq %rsi,%rax; jmp *%rax with both from the caller.
  Function f;
  f.add(AddRsiToRax).add(JmpRax);
  EXPECT_EQ(f.jumps().at(0).kind, IndirectJump::NotUnderstood);
  // A label at the jump: its register may come from anywhere.
  Function g;
  g.leaTable(Rdx).add(LoadRdxRdi).add(AddRdxToRax).label().add(JmpRax);
  EXPECT_EQ(g.jumps().at(0).kind, IndirectJump::NotUnderstood);
}

TEST(JumpTables, CallBetweenClobbersCallerSavedBase) {
  // %rdx is caller-saved: after a call it no longer holds the table, and
  // the loaded entry's base is unknown.
  Function f;
  f.leaTable(Rdx).add(Call).add(LoadRdxRdi).add(AddRdxToRax).add(JmpRax).add(Ret);
  EXPECT_EQ(f.jumps().at(0).kind, IndirectJump::NotUnderstood);
}

TEST(JumpTables, TwoBasesForOneRegisterAcrossALabel) {
  // Two different tables reach %rcx on paths that merge: no single base.
  Function f;
  f.leaTable(Rcx).add(Ret);
  f.add({0x48, 0x8d, 0x0d, 0x00, 0x01, 0x00, 0x00}); // lea 0x100(%rip),%rcx: another address
  f.label().add(LoadRcxRax).add(AddRcxToRax).add(JmpRax);
  EXPECT_EQ(f.jumps().at(0).kind, IndirectJump::NotUnderstood);
}

TEST(JumpTables, GccO0ScaledIndexAndCltq) {
  // cmpl $9,%edx; ja; movl %edx,%eax; leaq 0(,%rax,4),%rdx; lea T,%rax;
  // movl (%rdx,%rax,1),%eax; cltq; lea T,%rdx; addq %rdx,%rax; jmp *%rax:
  // the bound carries over the copy into %eax: ten entries.
  Function f;
  f.add({0x83, 0xfa, 0x09}).add(JaShort).add({0x89, 0xd0});
  f.add({0x48, 0x8d, 0x14, 0x85, 0, 0, 0, 0}).leaTable(Rax).add({0x8b, 0x04, 0x02}).add({0x48, 0x98});
  f.leaTable(Rdx).add(AddRdxToRax).add(JmpRax);
  auto jumps = f.jumps();
  ASSERT_EQ(jumps.size(), 1u);
  EXPECT_EQ(jumps[0].kind, IndirectJump::Table);
  EXPECT_EQ(jumps[0].tableBase, Table);
  EXPECT_EQ(jumps[0].entries, std::optional<uint64_t>(10));
  // Without the sign extension the entry is not a 64-bit offset: not a table.
  Function g;
  g.add({0x48, 0x8d, 0x14, 0x85, 0, 0, 0, 0}).leaTable(Rax).add({0x8b, 0x04, 0x02});
  g.leaTable(Rdx).add(AddRdxToRax).add(JmpRax);
  EXPECT_EQ(g.jumps().at(0).kind, IndirectJump::NotUnderstood);
}

TEST(JumpTables, EpiloguePopDoesNotHideAHoistedBase) {
  // lea T,%r12 at the top; a loop label; the table jump through %r12; an
  // epilogue `pop %r12; ret` elsewhere restores the caller's %r12 and is no
  // other value of the base. A pop followed by more code is.
  auto body = [](Function &f) {
    f.add({0x4c, 0x8d, 0x25}); // lea T(%rip),%r12: 4c 8d 25 disp32
    int32_t disp = int32_t(Table - (f.here() + 4));
    for (int i = 0; i < 4; ++i)
      f.bytes.push_back(uint8_t(uint32_t(disp) >> (8 * i)));
    f.label().add({0x49, 0x63, 0x04, 0x84}); // movslq (%r12,%rax,4),%rax
    f.add({0x4c, 0x01, 0xe0}).add(JmpRax);   // add %r12,%rax; jmp *%rax
  };
  Function f;
  body(f);
  f.label().add({0x41, 0x5c}).add(Ret); // pop %r12; ret
  EXPECT_EQ(f.jumps().at(0).kind, IndirectJump::Table);
  Function g;
  body(g);
  g.label().add({0x41, 0x5c}).add(Call).add(Ret); // pop %r12; call: the function goes on
  EXPECT_EQ(g.jumps().at(0).kind, IndirectJump::NotUnderstood);
}

TEST(JumpTables, MemberFunctionPointerCallThroughAMerge) {
  // Clang's member function pointer call: test $1,%al; je L; mov (%rdi),%rsi;
  // mov -1(%rsi,%rax),%rax; L: jmp *%rax. On one path %rax is loaded from
  // the vtable, on the other it is the caller's: a pointer either way.
  Function f;
  f.add({0xa8, 0x01}).add({0x74, 0x08});                    // test $1,%al; je L (+8)
  f.add({0x48, 0x8b, 0x37}).add({0x48, 0x8b, 0x44, 0x06, 0xff}); // mov (%rdi),%rsi; mov -1(%rsi,%rax),%rax
  f.innerLabel().add(JmpRax);
  EXPECT_EQ(f.jumps().at(0).kind, IndirectJump::Pointer);
  // The same merge, but the label is also entered from elsewhere: unknown.
  Function g;
  g.add({0xa8, 0x01}).add({0x74, 0x08});
  g.add({0x48, 0x8b, 0x37}).add({0x48, 0x8b, 0x44, 0x06, 0xff});
  g.label().add(JmpRax);
  EXPECT_EQ(g.jumps().at(0).kind, IndirectJump::NotUnderstood);
  // A computed value on the branch's path: not a pointer.
  Function h;
  h.add(AddRsiToRax).add({0xa8, 0x01}).add({0x74, 0x08});
  h.add({0x48, 0x8b, 0x37}).add({0x48, 0x8b, 0x44, 0x06, 0xff});
  h.innerLabel().add(JmpRax);
  EXPECT_EQ(h.jumps().at(0).kind, IndirectJump::NotUnderstood);
}

TEST(JumpTables, ConstantOnOnePathIsNoCodeAddress) {
  // GCC's `fn = idx >= 0 ? table[idx] : NULL; return fn(...)` (Mesa):
  // xor %r9d,%r9d; test %eax,%eax; js L; mov (%rdx,%rax,8),%r9; L: pop %rbx;
  // jmp *%r9. A constant is no address of position-independent code: a
  // pointer on every path.
  const Bytes XorR9d{0x45, 0x31, 0xc9}, TestEax{0x85, 0xc0}, JsOverLoad{0x78, 0x04},
      LoadR9{0x4c, 0x8b, 0x0c, 0xc2}, PopRbx{0x5b}, JmpR9{0x41, 0xff, 0xe1};
  Function f;
  f.add(XorR9d).add(TestEax).add(JsOverLoad).add(LoadR9).innerLabel().add(PopRbx).add(JmpR9);
  EXPECT_EQ(f.jumps().at(0).kind, IndirectJump::Pointer);
  // The reversed encoding (33 /r) and a 64-bit xor are the same zero.
  Function r;
  r.add({0x45, 0x33, 0xc9}).add(TestEax).add(JsOverLoad).add(LoadR9).innerLabel().add(JmpR9);
  EXPECT_EQ(r.jumps().at(0).kind, IndirectJump::Pointer);
  Function w;
  w.add({0x4d, 0x31, 0xc9}).add(TestEax).add(JsOverLoad).add(LoadR9).innerLabel().add(JmpR9);
  EXPECT_EQ(w.jumps().at(0).kind, IndirectJump::Pointer);
  // mov $imm,%eax / movabs $imm,%rax straight before the jump: a constant too.
  Function m;
  m.add({0xb8, 0x78, 0x56, 0x34, 0x12}).add(JmpRax);
  EXPECT_EQ(m.jumps().at(0).kind, IndirectJump::Pointer);
  Function a;
  a.add({0x48, 0xb8, 1, 2, 3, 4, 5, 6, 7, 8}).add(JmpRax);
  EXPECT_EQ(a.jumps().at(0).kind, IndirectJump::Pointer);
  // xor of two registers computes a value: not understood.
  Function x;
  x.add({0x45, 0x31, 0xd1}) // xor %r10d,%r9d
      .add(TestEax).add(JsOverLoad).add(LoadR9).innerLabel().add(JmpR9);
  EXPECT_EQ(x.jumps().at(0).kind, IndirectJump::NotUnderstood);
  // A constant added to something else is computed: not understood.
  Function c;
  c.add({0xb8, 0x10, 0, 0, 0}).add(AddRsiToRax).add(JmpRax);
  EXPECT_EQ(c.jumps().at(0).kind, IndirectJump::NotUnderstood);
}

namespace {

// lea T,%rcx; head: movslq (%rcx,%rax,4),%rax; add %rcx,%rax; jmp *%rax;
// case: mov $1,%eax; jmp head; other: xor %ecx,%ecx; ret. The case is
// entered from elsewhere as far as anything but the first pass knows (a
// table target), and %rcx is also cleared where it cannot reach the jump.
struct LoopThroughItsOwnTable {
  Function f;
  uint64_t jump = 0, caseLabel = 0;
  LoopThroughItsOwnTable() {
    f.leaTable(Rcx);
    uint64_t head = f.here();
    f.innerLabel().add(LoadRcxRax).add(AddRcxToRax);
    jump = f.here();
    f.add(JmpRax);
    caseLabel = f.here();
    f.label().add({0xb8, 1, 0, 0, 0});
    f.add({0xeb, uint8_t(int8_t(head - (f.here() + 2)))});
    f.label().add({0x31, 0xc9}).add(Ret);
  }
  OwnTables own(uint64_t firstBase, bool onlyThisJump) const {
    OwnTables o;
    o.jumpsTo = [=, this](uint64_t label) -> std::optional<std::vector<uint64_t>> {
      if (label != caseLabel)
        return std::nullopt;
      return onlyThisJump ? std::vector<uint64_t>{jump} : std::vector<uint64_t>{jump, 0x9000}; // 0x9000: elsewhere
    };
    o.firstBase = [=, this](uint64_t j) { return j == jump ? std::optional(firstBase) : std::nullopt; };
    return o;
  }
};

} // namespace

TEST(JumpTables, BaseFollowedBackThroughTheJumpsOwnTable) {
  // Back from the jump: the loop head, the lea on one way in, the case on
  // the other, which the jump's own table leads to: %rcx is the one before
  // the jump, the table.
  LoopThroughItsOwnTable t;
  EXPECT_EQ(t.f.jumps().at(0).kind, IndirectJump::NotUnderstood); // without the first pass
  OwnTables own = t.own(Table, true);
  auto jumps = t.f.jumps(&own);
  ASSERT_EQ(jumps.size(), 1u);
  EXPECT_EQ(jumps[0].kind, IndirectJump::Table);
  EXPECT_EQ(jumps[0].tableBase, Table);
}

TEST(JumpTables, ThroughItsOwnTableOnlyIfTheSameTableAndOnlyThatJump) {
  LoopThroughItsOwnTable t;
  // The first pass found another table for the jump: the induction fails.
  OwnTables other = t.own(Table + 0x100, true);
  EXPECT_EQ(t.f.jumps(&other).at(0).kind, IndirectJump::NotUnderstood);
  // The case is also another function's jump's target.
  OwnTables shared = t.own(Table, false);
  EXPECT_EQ(t.f.jumps(&shared).at(0).kind, IndirectJump::NotUnderstood);
}

TEST(JumpTables, DispatchCopiedIntoEachCaseSharesOneTable) {
  // Threaded dispatch: lea T,%rcx; jmp head; c: xor %ecx,%ecx; ret;
  // head: movslq; add; jmp *%rax (J1); case: mov $1,%eax; movslq; add;
  // jmp *%rax (J2). The case is entered through both jumps' tables: %rcx
  // there is what it was at J1 or J2, and both find the table again.
  Function f;
  f.leaTable(Rcx);
  size_t jmpHead = f.bytes.size();
  f.add({0xeb, 0});
  f.label().add({0x31, 0xc9}).add(Ret);
  uint64_t head = f.here();
  f.bytes[jmpHead + 1] = uint8_t(head - (At + jmpHead + 2));
  f.innerLabel().add(LoadRcxRax).add(AddRcxToRax);
  uint64_t j1 = f.here();
  f.add(JmpRax);
  uint64_t caseLabel = f.here();
  f.label().add({0xb8, 1, 0, 0, 0}).add(LoadRcxRax).add(AddRcxToRax);
  uint64_t j2 = f.here();
  f.add(JmpRax);
  auto make = [&](uint64_t base1, uint64_t base2) {
    OwnTables o;
    o.jumpsTo = [=](uint64_t label) -> std::optional<std::vector<uint64_t>> {
      return label == caseLabel ? std::optional(std::vector<uint64_t>{j1, j2}) : std::nullopt;
    };
    o.firstBase = [=](uint64_t j) { return j == j1 ? std::optional(base1) : std::optional(base2); };
    return o;
  };
  OwnTables same = make(Table, Table);
  auto jumps = f.jumps(&same);
  ASSERT_EQ(jumps.size(), 2u);
  EXPECT_EQ(jumps[0].kind, IndirectJump::Table);
  EXPECT_EQ(jumps[1].kind, IndirectJump::Table);
  EXPECT_EQ(jumps[1].tableBase, Table);
  // The first pass found another table for J1 or for J2: their targets are
  // not the ones assumed, and J2, whose value came through both, is not
  // understood. J1's value came through neither.
  for (auto [b1, b2] : {std::pair{Table + 0x100, Table}, std::pair{Table, Table + 0x100}}) {
    OwnTables other = make(b1, b2);
    jumps = f.jumps(&other);
    EXPECT_EQ(jumps[0].kind, IndirectJump::Table);
    EXPECT_EQ(jumps[1].kind, IndirectJump::NotUnderstood);
  }
}
