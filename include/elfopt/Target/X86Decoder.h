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

namespace elfopt::x86_64 {

struct PcRelativeField {
  uint64_t offset = 0; ///< of the field, from the instruction's start
  uint8_t size = 4;    ///< 1 or 4 bytes
  uint64_t target = 0; ///< the address it refers to
  bool isBranch = false;
};

struct Instruction {
  unsigned opcode = 0;
  uint64_t size = 0;
  bool isPadding = false; ///< a nop or int3
  bool endsFlow = false;  ///< control cannot continue to the next instruction
  /// False when the instruction has a PC-relative operand whose field could
  /// not be located (a 16-bit branch, an ambiguous encoding).
  bool understood = true;
  std::optional<PcRelativeField> field;
};

class Decoder {
public:
  Decoder();
  ~Decoder();
  /// The instruction at the start of \p bytes, linked at \p address.
  std::optional<Instruction> decode(std::span<const uint8_t> bytes, uint64_t address) const;

private:
  struct Impl;
  std::unique_ptr<Impl> impl;
};

} // namespace elfopt::x86_64
