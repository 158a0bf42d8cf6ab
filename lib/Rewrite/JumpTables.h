//===- JumpTables.h - what each indirect jump of a function jumps through -*- C++ -*-===//
//
// Without static relocations nothing marks a PIC jump table's entries; they
// are found from the code that reads them:
//
//     cmp  $N, %idx          ; ja default      (the bound, where there is one)
//     lea  TABLE(%rip), %base
//     movslq (%base,%idx,4), %entry
//     add  %base, %entry     (or add %entry, %base)
//     jmp  *%entry           (notrack or not)
//
// in GCC's and Clang's orders and register choices. Values are followed
// backwards through straight-line code only: a label on the way (a place
// other code jumps to) could bring another value. Clang hoists the `lea` out
// of loops; a base register that every write in the function sets to the
// same table is accepted too, and so is one that every write reaching the
// jump sets to it, through the function's branches and its tables
// (OwnTables: an interpreter loop's cases lead back to the jump).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "elfopt/Target/X86Decoder.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <vector>

namespace elfopt::rewrite {

struct DecodedInstruction {
  uint64_t address = 0;
  x86_64::Instruction instruction;
};

struct IndirectJump {
  enum Kind : uint8_t {
    Table,         ///< through a PIC jump table at tableBase
    Pointer,       ///< through a pointer loaded from memory, an address the code computes RIP-relatively, or a constant
    NotUnderstood, ///< anything else
  };
  uint64_t address = 0; ///< of the jump
  Kind kind = NotUnderstood;
  uint64_t tableBase = 0;
  /// Table: the number of entries, from the index check before the load;
  /// unset when no check was found.
  std::optional<uint64_t> entries;
};

/// What the pass before found: the jumps whose tables lead to a label are
/// ways into it too. A later pass follows a value back from such a label
/// through those jumps (a jump changes no register), if each of them is in
/// this function and is found again with the table the pass before found:
/// then its targets, and so the ways into the label, are the ones assumed.
/// (The caller repeats passes until the tables found are the ones assumed.)
struct OwnTables {
  /// The jumps whose tables (the pass before) lead to \p label, or nothing when
  /// something else may enter it (another function, data, the unwinder) or
  /// no table leads there.
  std::function<std::optional<std::vector<uint64_t>>(uint64_t label)> jumpsTo;
  /// The base of the table the pass before found for the jump at \p jump.
  std::function<std::optional<uint64_t>(uint64_t jump)> firstBase;
};

/// The indirect jumps through a register in \p code (one function's
/// instructions, in address order). \p isLabel says whether an address is
/// entered other than from the instruction before it;
/// \p enteredFromElsewhere whether it may be entered from anywhere but a
/// branch of this function (another function, data, the unwinder). A jump
/// is through a pointer when every value its register can have, followed
/// back through this function's branches, is loaded from memory, an address
/// the code computes, a call's result or the caller's.
std::vector<IndirectJump> findIndirectJumps(std::span<const DecodedInstruction> code,
                                            const std::function<bool(uint64_t)> &isLabel,
                                            const std::function<bool(uint64_t)> &enteredFromElsewhere,
                                            const OwnTables *own = nullptr);

} // namespace elfopt::rewrite
