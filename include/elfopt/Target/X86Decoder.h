//===- X86Decoder.h - x86-64 instructions as the rewriter needs them -*- C++ -*-===//
//
// A thin layer over LLVM's MC disassembler and instruction analysis: the
// length of an instruction, whether control can continue past it, whether
// it is padding, and where its PC-relative field is (branch displacement or
// RIP-relative memory operand) with the address it refers to.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace elfopt::x86_64 {

struct PcRelativeField {
  uint64_t offset = 0; ///< of the field, from the instruction's start
  uint8_t size = 4;    ///< 1 or 4 bytes
  uint64_t target = 0; ///< the address it refers to
  bool isBranch = false;
};

/// What recognising a jump table needs of an instruction. Registers are
/// general-purpose register families, 0-15 in encoding order (rax, rcx, rdx,
/// rbx, rsp, rbp, rsi, rdi, r8-r15): %eax and %rax are both 0.
struct Operation {
  enum Kind : uint8_t {
    Other,
    LoadAddress,        ///< lea disp(%rip), dst: Instruction::field has the address
    LoadTableEntry,     ///< movslq (base,index,scale), dst; immediate: scale (1 or 4)
    LoadTableEntry32,   ///< mov (base,index,scale), dst32 (sign-extended after); immediate: scale
    ScaledIndex,        ///< lea 0(,index,4), dst: immediate: the scale
    SignExtend,         ///< movslq src32, dst (cltq: %eax into %rax)
    Pop,                ///< pop dst
    AddRegisters,       ///< add src, dst (64-bit)
    Load,               ///< mov mem, dst (64-bit): a pointer from memory
    Copy32,             ///< mov src, dst (32-bit registers): zero-extends src
    Copy,               ///< mov src, dst (64-bit registers)
    CompareImmediate,   ///< cmp $immediate, dst (32- or 64-bit)
    JumpIfAbove,        ///< ja: taken when unsigned greater
    JumpIfAboveOrEqual, ///< jae
    IndirectJump,       ///< jmp *dst
    IndirectJumpMemory, ///< jmp *mem
    LoadConstant,       ///< mov $immediate, dst, or xor %dst, %dst (immediate 0)
  };
  static constexpr int8_t NoRegister = -1;
  Kind kind = Other;
  int8_t dst = NoRegister, src = NoRegister, base = NoRegister, index = NoRegister;
  int64_t immediate = 0;
  /// Registers the instruction may write, one bit per family; a call
  /// writes the caller-saved ones.
  uint16_t writes = 0;
};

struct Instruction {
  unsigned opcode = 0;
  uint64_t size = 0;
  bool isPadding = false; ///< a nop or int3
  bool endsFlow = false;  ///< control cannot continue to the next instruction
  bool isCall = false;
  /// False when the instruction has a PC-relative operand whose field could
  /// not be located (a 16-bit branch, an ambiguous encoding).
  bool understood = true;
  std::optional<PcRelativeField> field;
  Operation operation; ///< in full only from a Decoder that describes operations
};

/// An instruction as LLVM decodes it, for interpreters that read operands
/// by opcode: LLVM's opcode name (e.g. "MOV64rm") and its MC operands in
/// order. An x86 memory operand is five of them: base, scale, index,
/// displacement, segment.
struct RawOperand {
  /// Register families as in Operation (0-15); Rip and OtherRegister for the
  /// rest; NoRegister for an absent one (a memory operand without index).
  static constexpr int8_t Rip = 16, OtherRegister = 17;
  bool isRegister = false;
  int8_t family = Operation::NoRegister;
  int64_t immediate = 0;
};
struct RawInstruction {
  std::string_view name;
  uint64_t size = 0;
  std::vector<RawOperand> operands;
};

class Decoder {
public:
  /// \p describeOperations: fill Instruction::operation in full (it costs
  /// time); otherwise only its kind, and only for IndirectJump.
  explicit Decoder(bool describeOperations = false);
  ~Decoder();
  /// The instruction at the start of \p bytes, linked at \p address.
  std::optional<Instruction> decode(std::span<const uint8_t> bytes, uint64_t address) const;
  /// The same instruction, raw.
  std::optional<RawInstruction> decodeRaw(std::span<const uint8_t> bytes, uint64_t address) const;

  struct Impl; // LLVM's objects, in X86Decoder.cpp

private:
  std::unique_ptr<Impl> impl;
};

} // namespace elfopt::x86_64
