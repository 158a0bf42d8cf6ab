//===- Internal.h - what the rewrite passes share ---------------*- C++ -*-===//
#pragma once

#include "elfopt/Elf/EhFrame.h"
#include "elfopt/Elf/ElfFile.h"
#include "elfopt/Rewrite/Rewrite.h"
#include "JumpTables.h"

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace elfopt::rewrite {

/// A contiguous piece of .text that moves as a unit: one function (or
/// several overlapping symbols), or a run of bytes no symbol describes.
/// [start, bodyEnd) is code; [bodyEnd, end) is padding up to the next block.
struct Block {
  uint64_t start = 0, bodyEnd = 0, end = 0;
  uint64_t align = 1;
  bool isFunction = false;   ///< described by a function symbol
  bool isCxx = false;        ///< named in C++: may be a member function pointer's target
  bool discovered = false;   ///< found by following control flow (Discover.h), not described
  bool decoded = false;      ///< every instruction of the body decoded
  bool fallsThrough = false; ///< the last instruction may continue past bodyEnd
  bool jumpsThroughRegister = false; ///< has a `jmp *%reg`
  std::string name;          ///< the function symbol at start, or ""
  std::string pinned;        ///< why it must keep its address ("" = movable)
  std::string pinnedAt;      ///< where that reason was found ("at foo+0x3a"), or ""
  unsigned group = 0;        ///< blocks of one group move together
  uint64_t newStart = 0;
};

/// Keeps \p b at its address. The first reason given is the one reported;
/// \p at says where it was found, if anywhere in particular.
inline void pin(Block &b, std::string why, std::string at = "") {
  if (!b.pinned.empty())
    return;
  b.pinned = std::move(why);
  b.pinnedAt = std::move(at);
}

/// Two blocks whose distance must not change, and why.
struct Bond {
  size_t first = 0, second = 0;
  const char *why = "";
};

/// A maximal run of bonded blocks [first, last]: they move as one.
struct Group {
  size_t first = 0, last = 0;
};

/// A field that holds a code address or a displacement to or from code.
struct Field {
  enum Kind : uint8_t {
    CodeRelative, ///< displacement inside an instruction, from `base`
    DataRelative, ///< 32-bit entry relative to a fixed base (jump tables, eh_frame)
    Absolute,     ///< an address
  };
  Kind kind = Absolute;
  uint8_t size = 4;
  bool isSigned = true;
  /// Where the field lives: an address for allocated sections, else an
  /// offset into the non-allocated section `section`.
  uint64_t place = 0;
  unsigned section = 0;
  uint64_t base = 0;   ///< end of the instruction (CodeRelative) or table base
  uint64_t target = 0; ///< the address the field refers to
  const char *what = "";
};

struct TextInfo {
  unsigned section = 0;
  uint64_t start = 0, end = 0;
  bool contains(uint64_t a) const { return a >= start && a < end; }
};

/// A jump through a PIC jump table, and the block it is in.
struct TableJump {
  size_t block = 0;
  IndirectJump jump;
};

/// Decoded facts about .text, from Code.cpp.
struct CodeFacts {
  std::vector<Block> blocks; ///< sorted, covering [text.start, text.end)
  std::vector<Field> fields; ///< displacements found by decoding
  /// Instruction starts, one bit per byte of .text.
  std::vector<bool> instructionStart;
  /// References into .text from code in other sections.
  std::vector<Field> outside;
  /// Executable sections other than .text that did not decode.
  std::vector<unsigned> undecodedSections;
  /// Addresses outside .text that code refers to RIP-relatively (jump
  /// table bases among them), sorted.
  std::vector<uint64_t> dataReferences;
  /// The same, from function blocks only (symbols, FDEs, found by
  /// following control flow): the table bases an independent check (verify)
  /// would see. It knows the described functions, and learns the found ones
  /// by walking them from the references to them.
  std::vector<uint64_t> functionDataReferences;
  /// The same, of described functions alone: what verify holds a word kept
  /// as it was to (a base learned from found code may misread it).
  std::vector<uint64_t> describedDataReferences;
  /// Blocks whose distance must not change (short branches, fall-through).
  std::vector<Bond> bonds;
  /// Without static relocations: the jumps through PIC jump tables, found
  /// from the code (each other jump through a register pinned its block).
  std::vector<TableJump> tableJumps;
  bool isInstructionStart(const TextInfo &t, uint64_t a) const {
    return t.contains(a) && instructionStart[a - t.start];
  }
};

TextInfo findText(const ElfFile &in);
/// The room made for the ordered code (RoomSection): an executable section
/// of int3 bytes in a PT_LOAD of its own. Errors if it is not that.
TextInfo findRoom(const ElfFile &in);
/// \p fdes size functions whose symbol has none; without .symtab they are
/// the functions, with .dynsym's names. \p relocationFree: no static
/// relocations say where jump tables are, so find them from the code.
/// \p discovered: functions proved in code nothing describes (a first
/// analysis's discoverFunctions), cut like described ones.
CodeFacts analyseCode(const ElfFile &in, const TextInfo &text, const std::vector<Fde> &fdes,
                      bool relocationFree, const std::vector<std::pair<uint64_t, uint64_t>> &discovered = {});
/// The functions proved in the code \p facts (a first analysis) leaves
/// undescribed: Discover.h.
std::vector<std::pair<uint64_t, uint64_t>> discoverFunctions(const ElfFile &in, const TextInfo &text,
                                                             const CodeFacts &facts);
size_t blockAt(const std::vector<Block> &blocks, uint64_t address);
/// \p address as `name+0xoffset` of the block holding it, or as a hex
/// address when that block has no name.
std::string describe(const std::vector<Block> &blocks, uint64_t address);

/// Why the debug info (line-table sequences, unit address ranges) cannot
/// follow blocks that move apart, if it cannot: a range that covers blocks
/// of different groups (Block::group).
std::optional<std::string> debugInfoProblem(const ElfFile &in, const std::vector<Block> &blocks);

} // namespace elfopt::rewrite
