//===- X86_64.h - the x86-64 facts generic code must not spell out -*- C++ -*-===//
//
// Instruction bytes, register access and relocation types used by the
// recorder, the rewriter and verify. Kept in one place so that generic code
// never hard-codes an opcode, a register offset or an R_X86_64_* rule.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstddef>
#include <cstdint>
#include <llvm/BinaryFormat/ELF.h>
#include <sys/user.h>

namespace elfopt::x86_64 {

/// int3: a one-byte breakpoint, so it can replace the first byte of any
/// instruction; the CPU reports it with the program counter after it.
inline constexpr uint8_t BreakpointByte = 0xCC;
inline constexpr uint64_t BreakpointLength = 1;

/// Offsets into struct user_regs_struct for PTRACE_PEEKUSER/POKEUSER.
inline constexpr size_t ProgramCounterOffset = offsetof(user_regs_struct, rip);
inline constexpr size_t StackPointerOffset = offsetof(user_regs_struct, rsp);

/// Padding between functions: int3, so a stray jump traps at once.
inline constexpr uint8_t PaddingByte = 0xCC;

/// endbr64: where CET's indirect branch tracking lets an indirect jump or
/// call land.
inline constexpr uint8_t Endbr64[4] = {0xf3, 0x0f, 0x1e, 0xfa};

/// The longest x86-64 instruction.
inline constexpr uint64_t MaxInstructionSize = 15;

/// jmp rel32: opcode, then the displacement from the end of the jump.
inline constexpr uint8_t JumpRel32 = 0xe9;
inline constexpr uint64_t JumpRel32Size = 5;

/// Forwarding stubs (Rewrite/Stubs.h) as verify walks them: at most this
/// many original instructions kept from an entry before its jump, and kept
/// 8-bit branches whose targets forward in turn nested at most this deep.
/// The planner writes no stub beyond them (the code stays in place).
inline constexpr unsigned StubMaxKeptInstructions = 16;
inline constexpr int StubMaxBranchDepth = 8;

/// Relocations whose field holds S + A: an address, not a displacement.
inline bool isAbsoluteRelocation(uint32_t type) {
  using namespace llvm::ELF;
  return type == R_X86_64_64 || type == R_X86_64_32 || type == R_X86_64_32S;
}

/// Relocations whose field depends on the place: S + A - P and the GOT forms
/// of it.
inline bool isPcRelativeRelocation(uint32_t type) {
  using namespace llvm::ELF;
  switch (type) {
  case R_X86_64_PC8: case R_X86_64_PC16: case R_X86_64_PC32: case R_X86_64_PC64:
  case R_X86_64_PLT32: case R_X86_64_GOTPCREL: case R_X86_64_GOTPCRELX:
  case R_X86_64_REX_GOTPCRELX: case R_X86_64_GOTPC32: case R_X86_64_GOTPC64:
  case R_X86_64_GOTPCREL64: case R_X86_64_TLSGD: case R_X86_64_TLSLD:
  case R_X86_64_GOTTPOFF: case R_X86_64_GOTPC32_TLSDESC:
    return true;
  default:
    return false;
  }
}

/// Bytes of the field a relocation of \p type writes (psABI table 4.9).
inline uint8_t relocationFieldSize(uint32_t type) {
  using namespace llvm::ELF;
  switch (type) {
  case R_X86_64_NONE: case R_X86_64_COPY: return 0; // COPY: the symbol's bytes, no field
  case R_X86_64_8: case R_X86_64_PC8: return 1;
  case R_X86_64_16: case R_X86_64_PC16: return 2;
  case R_X86_64_64: case R_X86_64_PC64: case R_X86_64_GOTOFF64: case R_X86_64_GOTPC64:
  case R_X86_64_GOTPCREL64: case R_X86_64_GOT64: case R_X86_64_PLTOFF64: case R_X86_64_SIZE64:
  case R_X86_64_DTPMOD64: case R_X86_64_DTPOFF64: case R_X86_64_TPOFF64: case R_X86_64_RELATIVE:
  case R_X86_64_GLOB_DAT: case R_X86_64_JUMP_SLOT: case R_X86_64_IRELATIVE: case R_X86_64_TLSDESC:
    return type == R_X86_64_TLSDESC ? 16 : 8;
  default:
    return 4;
  }
}

} // namespace elfopt::x86_64
