// The x86-64 decoder (lib/Target/X86Decoder.cpp): where the PC-relative
// field of an instruction is, on encodings where "the last four bytes" is
// wrong (an immediate after the displacement, prefixes, VEX and EVEX). Each
// byte string was checked with
//   echo 'ASM' | llvm-mc-19 -triple=x86_64 --show-encoding
#include "elfopt/Target/X86Decoder.h"

#include <gtest/gtest.h>

#include <vector>

using namespace elfopt::x86_64;

namespace {

constexpr uint64_t At = 0x401000;

const Decoder &decoder() {
  static Decoder d;
  return d;
}

std::optional<Instruction> decode(const std::vector<uint8_t> &bytes, uint64_t address = At) {
  return decoder().decode(bytes, address);
}

// The instruction decodes to \p size bytes with a PC-relative field of
// \p fieldSize bytes at \p offset referring to \p target.
void expectField(const std::vector<uint8_t> &bytes, uint64_t size, uint64_t offset,
                 uint8_t fieldSize, uint64_t target, bool isBranch) {
  auto inst = decode(bytes);
  ASSERT_TRUE(inst.has_value());
  EXPECT_EQ(inst->size, size);
  EXPECT_TRUE(inst->understood);
  ASSERT_TRUE(inst->field.has_value());
  EXPECT_EQ(inst->field->offset, offset);
  EXPECT_EQ(inst->field->size, fieldSize);
  EXPECT_EQ(inst->field->target, target);
  EXPECT_EQ(inst->field->isBranch, isBranch);
}

} // namespace

TEST(X86Decoder, CallAndJumpRel32) {
  // call .+0x1000: e8 fb 0f 00 00; target = next (At + 5) + 0xffb.
  expectField({0xe8, 0xfb, 0x0f, 0x00, 0x00}, 5, 1, 4, At + 0x1000, true);
  // jmp .-0x100 (rel32): e9 fb fe ff ff.
  expectField({0xe9, 0xfb, 0xfe, 0xff, 0xff}, 5, 1, 4, At - 0x100, true);
  EXPECT_TRUE(decode({0xe9, 0xfb, 0xfe, 0xff, 0xff})->endsFlow);
  // je .+0x1000 (rel32): 0f 84 fa 0f 00 00; the field is at 2.
  expectField({0x0f, 0x84, 0xfa, 0x0f, 0x00, 0x00}, 6, 2, 4, At + 0x1000, true);
  EXPECT_FALSE(decode({0x0f, 0x84, 0xfa, 0x0f, 0x00, 0x00})->endsFlow);
}

TEST(X86Decoder, ShortBranches) {
  // je .+0x10: 74 0e. jne .-0x10: 75 ee. jmp .+2: eb 00.
  expectField({0x74, 0x0e}, 2, 1, 1, At + 0x10, true);
  expectField({0x75, 0xee}, 2, 1, 1, At - 0x10, true);
  expectField({0xeb, 0x00}, 2, 1, 1, At + 2, true);
  EXPECT_FALSE(decode({0x74, 0x0e})->endsFlow);
  EXPECT_TRUE(decode({0xeb, 0x00})->endsFlow);
  // jrcxz .+0x7f: e3 7d (rel8 only).
  expectField({0xe3, 0x7d}, 2, 1, 1, At + 0x7f, true);
}

TEST(X86Decoder, RipRelativeOperands) {
  // leaq 0x1234(%rip), %rax: 48 8d 05 34 12 00 00.
  expectField({0x48, 0x8d, 0x05, 0x34, 0x12, 0x00, 0x00}, 7, 3, 4, At + 7 + 0x1234, false);
  // movl 0x1234(%rip), %eax: 8b 05 34 12 00 00.
  expectField({0x8b, 0x05, 0x34, 0x12, 0x00, 0x00}, 6, 2, 4, At + 6 + 0x1234, false);
  // leaq -0x10(%rip), %rax: a negative displacement.
  expectField({0x48, 0x8d, 0x05, 0xf0, 0xff, 0xff, 0xff}, 7, 3, 4, At + 7 - 0x10, false);
  // movq 0x1234(%rip), %r8: REX.WR 4c 8b 05.
  expectField({0x4c, 0x8b, 0x05, 0x34, 0x12, 0x00, 0x00}, 7, 3, 4, At + 7 + 0x1234, false);
  // callq *0x1234(%rip): ff 15; an indirect call: a memory operand, not a
  // branch displacement.
  expectField({0xff, 0x15, 0x34, 0x12, 0x00, 0x00}, 6, 2, 4, At + 6 + 0x1234, false);
  // jmpq *0x1234(%rip): ff 25.
  expectField({0xff, 0x25, 0x34, 0x12, 0x00, 0x00}, 6, 2, 4, At + 6 + 0x1234, false);
  EXPECT_TRUE(decode({0xff, 0x25, 0x34, 0x12, 0x00, 0x00})->endsFlow);
}

TEST(X86Decoder, ImmediateAfterTheDisplacement) {
  // cmpl $0x11223344, 0x1234(%rip): 81 3d <disp32> <imm32>. The field is
  // at 2, not size - 4 = 6; the target counts from the end of the
  // immediate.
  expectField({0x81, 0x3d, 0x34, 0x12, 0x00, 0x00, 0x44, 0x33, 0x22, 0x11}, 10, 2, 4,
              At + 10 + 0x1234, false);
  // movb $0x7f, 0x1234(%rip): c6 05 <disp32> <imm8>.
  expectField({0xc6, 0x05, 0x34, 0x12, 0x00, 0x00, 0x7f}, 7, 2, 4, At + 7 + 0x1234, false);
  // cmpw $0x5566, 0x1234(%rip): 66 81 3d <disp32> <imm16>.
  expectField({0x66, 0x81, 0x3d, 0x34, 0x12, 0x00, 0x00, 0x66, 0x55}, 9, 3, 4, At + 9 + 0x1234,
              false);
  // movl $0x12345678, 0x1234(%rip): the immediate's bytes hold no 0x05.
  expectField({0xc7, 0x05, 0x34, 0x12, 0x00, 0x00, 0x78, 0x56, 0x34, 0x12}, 10, 2, 4,
              At + 10 + 0x1234, false);
  // movl $0x1234, 0x1234(%rip): the immediate repeats the displacement's
  // value, but only the field at 2 follows a ModRM byte with rm=101.
  expectField({0xc7, 0x05, 0x34, 0x12, 0x00, 0x00, 0x34, 0x12, 0x00, 0x00}, 10, 2, 4,
              At + 10 + 0x1234, false);
}

TEST(X86Decoder, SegmentPrefixes) {
  // In 64-bit mode CS, DS, ES and SS have base 0 (assemblers add them as
  // padding): the operand is an address of the file like any other.
  // movl %cs:0x1234(%rip), %eax: 2e 8b 05 <disp32>.
  expectField({0x2e, 0x8b, 0x05, 0x34, 0x12, 0x00, 0x00}, 7, 3, 4, At + 7 + 0x1234, false);
  // movl %ds:0x1234(%rip), %eax: 3e 8b 05; %es: 26; %ss: 36.
  expectField({0x3e, 0x8b, 0x05, 0x34, 0x12, 0x00, 0x00}, 7, 3, 4, At + 7 + 0x1234, false);
  expectField({0x26, 0x8b, 0x05, 0x34, 0x12, 0x00, 0x00}, 7, 3, 4, At + 7 + 0x1234, false);
  expectField({0x36, 0x8b, 0x05, 0x34, 0x12, 0x00, 0x00}, 7, 3, 4, At + 7 + 0x1234, false);
  // cs with an immediate after the displacement: 2e c7 05 <disp32> <imm32>.
  expectField({0x2e, 0xc7, 0x05, 0x34, 0x12, 0x00, 0x00, 0x78, 0x56, 0x34, 0x12}, 11, 3, 4,
              At + 11 + 0x1234, false);
  // movq %fs:0x1234(%rip), %rax: 64 48 8b 05 <disp32>; %gs: 65. The operand
  // is fs_base + rip + disp, no address of the file: it cannot follow a new
  // layout, so the instruction is not understood (its code stays put).
  for (uint8_t prefix : {0x64, 0x65}) {
    auto inst = decode({prefix, 0x48, 0x8b, 0x05, 0x34, 0x12, 0x00, 0x00});
    ASSERT_TRUE(inst.has_value());
    EXPECT_EQ(inst->size, 8u);
    EXPECT_FALSE(inst->understood);
    EXPECT_FALSE(inst->field.has_value());
  }
  // %fs:0x28 without RIP (the stack protector's canary): nothing to move.
  auto canary = decode({0x64, 0x48, 0x8b, 0x04, 0x25, 0x28, 0x00, 0x00, 0x00});
  ASSERT_TRUE(canary.has_value());
  EXPECT_TRUE(canary->understood);
  EXPECT_FALSE(canary->field.has_value());
}

TEST(X86Decoder, NotrackJump) {
  // notrack jmpq *0x1234(%rip): 3e ff 25 <disp32> (CET's notrack is the DS
  // prefix).
  expectField({0x3e, 0xff, 0x25, 0x34, 0x12, 0x00, 0x00}, 7, 3, 4, At + 7 + 0x1234, false);
  EXPECT_TRUE(decode({0x3e, 0xff, 0x25, 0x34, 0x12, 0x00, 0x00})->endsFlow);
  // notrack jmpq *%rax: 3e ff e0, no PC-relative field.
  auto reg = decode({0x3e, 0xff, 0xe0});
  ASSERT_TRUE(reg.has_value());
  EXPECT_EQ(reg->size, 3u);
  EXPECT_TRUE(reg->understood);
  EXPECT_FALSE(reg->field.has_value());
  EXPECT_TRUE(reg->endsFlow);
}

TEST(X86Decoder, VexAndEvex) {
  // vmovdqu 0x1234(%rip), %ymm0: c5 fe 6f 05 <disp32> (2-byte VEX).
  expectField({0xc5, 0xfe, 0x6f, 0x05, 0x34, 0x12, 0x00, 0x00}, 8, 4, 4, At + 8 + 0x1234, false);
  // vmovdqu64 0x1234(%rip), %zmm0: 62 f1 fe 48 6f 05 <disp32> (EVEX; a
  // disp32 is never scaled, only EVEX disp8 is).
  expectField({0x62, 0xf1, 0xfe, 0x48, 0x6f, 0x05, 0x34, 0x12, 0x00, 0x00}, 10, 6, 4,
              At + 10 + 0x1234, false);
  // vpaddd 0x1234(%rip), %zmm1, %zmm2: 62 f1 75 48 fe 15 <disp32>; ModRM
  // 0x15 (reg 2, rm 101).
  expectField({0x62, 0xf1, 0x75, 0x48, 0xfe, 0x15, 0x34, 0x12, 0x00, 0x00}, 10, 6, 4,
              At + 10 + 0x1234, false);
  // vpblendd $5, 0x1234(%rip), %ymm1, %ymm2: c4 e3 75 02 15 <disp32> 05:
  // 3-byte VEX, then an immediate byte 0x05 after the displacement.
  expectField({0xc4, 0xe3, 0x75, 0x02, 0x15, 0x34, 0x12, 0x00, 0x00, 0x05}, 10, 5, 4,
              At + 10 + 0x1234, false);
}

TEST(X86Decoder, AmbiguousDisplacementIsNotGuessed) {
  // movl $0x05050505, 0x05050505(%rip): c7 05 05 05 05 05 05 05 05 05.
  // The displacement's value appears at 2 and after other 0x05 bytes too:
  // the field cannot be told from the bytes, so the instruction is marked
  // as not understood rather than patched at a guess.
  auto inst = decode({0xc7, 0x05, 0x05, 0x05, 0x05, 0x05, 0x05, 0x05, 0x05, 0x05});
  ASSERT_TRUE(inst.has_value());
  EXPECT_EQ(inst->size, 10u);
  EXPECT_FALSE(inst->understood);
  EXPECT_FALSE(inst->field.has_value());
}

TEST(X86Decoder, SixteenBitBranchIsNotUnderstood) {
  // 66 e9 10 00: jmp with a 16-bit displacement (LLVM's JMP_2).
  auto inst = decode({0x66, 0xe9, 0x10, 0x00});
  ASSERT_TRUE(inst.has_value());
  EXPECT_EQ(inst->size, 4u);
  EXPECT_FALSE(inst->understood);
  EXPECT_FALSE(inst->field.has_value());
}

TEST(X86Decoder, PaddingAndFlow) {
  auto nop = decode({0x90});
  ASSERT_TRUE(nop.has_value());
  EXPECT_TRUE(nop->isPadding);
  EXPECT_FALSE(nop->endsFlow);
  auto nopw = decode({0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00});
  ASSERT_TRUE(nopw.has_value());
  EXPECT_EQ(nopw->size, 6u);
  EXPECT_TRUE(nopw->isPadding);
  EXPECT_FALSE(nopw->field.has_value());
  auto int3 = decode({0xcc});
  EXPECT_TRUE(int3->isPadding);
  EXPECT_TRUE(int3->endsFlow);
  EXPECT_TRUE(decode({0xc3})->endsFlow);       // ret
  EXPECT_TRUE(decode({0x0f, 0x0b})->endsFlow); // ud2
  EXPECT_TRUE(decode({0xf4})->endsFlow);       // hlt
  auto add = decode({0x48, 0x01, 0xd8});       // addq %rbx, %rax
  EXPECT_FALSE(add->isPadding);
  EXPECT_FALSE(add->endsFlow);
  EXPECT_FALSE(add->field.has_value());
  EXPECT_TRUE(add->understood);
}

TEST(X86Decoder, TruncatedOrInvalidBytes) {
  EXPECT_FALSE(decode({}).has_value());
  EXPECT_FALSE(decode({0xe8, 0x00, 0x00}).has_value());
  EXPECT_FALSE(decode({0x48, 0x8d, 0x05, 0x34}).has_value());
  EXPECT_FALSE(decode({0x06}).has_value()); // push %es: invalid in 64-bit mode
  // Only the first instruction is decoded.
  auto first = decode({0x90, 0xe8, 0x00, 0x00, 0x00, 0x00});
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->size, 1u);
}
