//===- X86_64.h - the x86-64 facts generic code must not spell out -*- C++ -*-===//
//
// Instruction bytes and register access used by the recorder and the
// rewriter. Kept in one place so that generic code never hard-codes an
// opcode or a register offset.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstddef>
#include <cstdint>
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

} // namespace elfopt::x86_64
