//===- Stubs.h - forwarding jumps at the old entries of moved code -*- C++ -*-===//
//
// Without static relocations, a 4-byte word of data that reads as an offset
// to an instruction may or may not be one: nothing proves it either way. A
// function such a word may lead into still moves; at each such *suspected
// entry* in its old place, a forwarding stub sends control to the new
// address of the instruction that stood there (as BOLT's non-relocation
// mode patches old entries). Code entered through the old address runs the
// same instructions; a false suspicion costs the stub's bytes.
//
// A stub is a `jmp rel32` (5 bytes) at the entry. Entries closer together
// than that keep the original instructions from the first of them (their
// PC-relative operands follow their targets) until a jump fits, then jump
// to the new address of the next instruction:
//
//     old e1: insn1            ; copied, as it was
//     old e2: insn2            ; copied: e2 is an entry too
//     old p:  jmp new(p)       ; p + 5 reaches past every entry before it
//
// Where a jump does not fit before the function's end, the instructions up
// to one that ends the flow (its return) are kept instead, and no jump.
//
// A kept 8-bit branch cannot reach its target's new place: it stays as it
// was, and its target in the old place becomes an entry with a stub of its
// own (planned with the others, until no kept branch adds one).
//
// An entry at the function's end label (a word that reads as the address
// just past its last instruction) leads to the padding after it. Where that
// padding starts with int3, the int3 stays where it was: control that came
// there traps as it did, and instructions kept before it run into it as
// they did. No jump forwards such an entry: what follows the function in
// its new place is not what followed it here.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <vector>

namespace elfopt::rewrite {

inline constexpr uint64_t StubJumpSize = 5; // jmp rel32

/// One stub: the original instructions [start, jumpAt) stay, then a jump
/// from jumpAt to the new address of jumpAt; without `jumps`, the last kept
/// instruction ends the flow (a return at a function's very end, where no
/// jump fits) and nothing follows. It occupies [start, end()).
struct StubRegion {
  uint64_t start = 0, jumpAt = 0;
  bool jumps = true;
  uint64_t end() const { return jumpAt + (jumps ? StubJumpSize : 0); }
  bool operator==(const StubRegion &) const = default;
};

/// What the planner needs of one block's original code.
struct StubCode {
  /// The start of the instruction after the one at \p a (an instruction
  /// start); the body's end after its last instruction.
  std::function<uint64_t(uint64_t a)> next;
  /// Whether the instruction at \p a can stay in the old place with its
  /// operand following its target (no field, or a 32-bit one), or, an
  /// 8-bit branch, with its target as it was (see shortTarget).
  std::function<bool(uint64_t a)> copyable;
  /// The target of the 8-bit branch at \p a (a copyable one): kept, it
  /// needs an entry there. Empty: none has.
  std::function<std::optional<uint64_t>(uint64_t a)> shortTarget;
  /// Whether the instruction at \p a must be kept before any jump (endbr64:
  /// an indirect branch to the entry must land on one).
  std::function<bool(uint64_t a)> keepFirst;
  /// Whether control never continues past the instruction at \p a (ret, jmp).
  std::function<bool(uint64_t a)> endsFlow;
  uint64_t bodyEnd = 0; ///< end of the last instruction
  uint64_t limit = 0;   ///< end of the bytes the stubs may use (padding included)
  /// The padding at bodyEnd starts with int3 (and bodyEnd < limit): an
  /// entry at bodyEnd, or kept instructions that reach it, keep that byte.
  bool endTraps = false;
};

/// The stubs for \p entries (sorted, distinct instruction starts of one
/// block, or its end label bodyEnd), or nothing when they cannot be
/// written: an instruction that must be kept cannot be, a jump does not fit
/// before \p code.limit and the instructions from there to one that ends
/// the flow cannot all be kept, or an entry at the end label has no int3
/// to keep.
std::optional<std::vector<StubRegion>> planStubs(std::span<const uint64_t> entries, const StubCode &code);

} // namespace elfopt::rewrite
