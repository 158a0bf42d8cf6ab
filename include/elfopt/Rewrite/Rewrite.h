//===- Rewrite.h - reorder the functions of .text in a linked file --*- C++ -*-===//
//
// Moves functions within .text so that the ordered ones come first, in
// order, and the others follow in their original order. Nothing else moves:
// file size, program headers and every other section's address stay; only
// contents change.
//
// One way through, all in memory (lib/Pipeline runs verify afterwards):
//   1. analyse (Code.cpp): cut .text into blocks (a function and the padding
//      after it; bytes no symbol describes are blocks of their own, pinned),
//      decode every block with LLVM MC, and record each PC-relative operand
//      (the assembler resolves calls within a section without a relocation,
//      so relocations alone miss them), short branches and fall-through
//      between blocks (bonds), and the references of other code sections.
//   2. collect (Rewrite.cpp): every other field that holds a code address or
//      a displacement to code: static relocations (PIC jump table entries
//      against the table base that code refers to), dynamic relocations,
//      RELR and GOT words, FDEs; bond blocks one FDE or landing pad spans;
//      pin what cannot move safely, each with its reason and place.
//      Without static relocations (a release PIE or shared library, stripped
//      or not): functions from FDEs and .dynsym, jump tables found from the
//      code (JumpTables.cpp), and every reference that cannot be proven
//      found (a jump through a register not understood) pins its target; a
//      word of data that reads as an offset to code may be one, so that code
//      moves only with a forwarding stub at each such entry (Stubs.h).
//   3. plan (Rewrite.cpp, Place.cpp): groups of bonded blocks; check that the
//      debug info can follow them (Debug.cpp; --strip-debug drops it if
//      not); place the groups around the pinned ones and the stubs, in order.
//   4. apply (Rewrite.cpp): copy blocks to their new places, write the stubs
//      in the old places, recompute every field from the original bytes
//      through the address map, then
//      symbols, relocations, the entry point, DT_INIT/DT_FINI and
//      .eh_frame_hdr.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "elfopt/Elf/ElfFile.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <map>
#include <string>
#include <vector>

namespace elfopt {

struct RewriteOptions {
  /// Link-time start addresses of the functions to place first, in order.
  std::vector<uint64_t> order;
  /// Drop .debug_* (and their relocations) instead of refusing when debug
  /// info cannot follow the new layout.
  bool stripDebug = false;
  /// Without static relocations, move code that a word of data may lead
  /// into, leaving a forwarding jump at each such entry (Stubs.h), instead
  /// of keeping it in place.
  bool forwardingStubs = true;
  /// Room for the ordered code outside .text: called with the bytes the
  /// ordered code needs (each group at its alignment, in whole pages) and
  /// why, when the plan needs it (below); returns the input with that room
  /// added (RoomSection: int3 bytes in an executable segment of its own,
  /// every other section as it was, by the editor), which the rewrite then
  /// starts from, or null to stay in .text. Unset: no room.
  std::function<const ElfFile *(uint64_t bytes, const std::string &why)> makeRoom;
  /// Needs room: when the plan in .text would spread the ordered code
  /// (Auto: some of it finds no slot, or it spans a quarter and a MiB more
  /// than its bytes, among code that stays and stubs), or in any case
  /// (Always).
  enum class RoomWhen { Auto, Always };
  RoomWhen roomWhen = RoomWhen::Auto;
  /// Called as each phase starts ("decoding", ...): a terminal's progress line.
  std::function<void(const std::string &phase)> progress;
  /// The functions findUndescribedFunctions found in this input, when the
  /// caller already has them (to name them in the order); unset: the
  /// rewrite finds them.
  std::optional<std::vector<std::pair<uint64_t, uint64_t>>> undescribedFunctions;
};

/// The section that `rewrite --new-segment` adds for the ordered code.
inline constexpr const char *RoomSection = ".elfopt.text";

/// Where each byte of .text went: a sorted list of moved ranges.
class AddressMap {
public:
  struct Range {
    uint64_t from = 0, size = 0, to = 0;
  };
  void add(uint64_t from, uint64_t size, uint64_t to) { ranges.push_back({from, size, to}); }
  void finish();
  /// New address of \p address (unchanged outside the moved ranges).
  uint64_t map(uint64_t address) const;
  /// The moved range holding \p address, if any.
  const Range *find(uint64_t address) const;
  const std::vector<Range> &all() const { return ranges; }

private:
  std::vector<Range> ranges;
};

/// A block that keeps its address, and why.
struct KeptBlock {
  std::string name;    ///< its function, or "" for bytes no symbol describes
  uint64_t address = 0, size = 0;
  std::string reason;  ///< as counted in RewriteReport::pinnedWhy
  std::string where;   ///< where the reason was found ("at foo+0x3a", "from .rodata+0x10"), or ""
};

struct RewriteReport {
  uint64_t functions = 0;       ///< function symbols' blocks in .text
  /// Functions in code nothing describes, proved by following control flow
  /// (no symbol, no FDE: a stripped file built without unwind tables).
  uint64_t discoveredFunctions = 0;
  uint64_t discoveredBytes = 0;
  uint64_t movedBlocks = 0;     ///< blocks whose address changed
  uint64_t movedBytes = 0;
  uint64_t orderedPlaced = 0;   ///< ordered functions placed at the front
  uint64_t orderedFrontBytes = 0;
  uint64_t orderedPinned = 0;   ///< ordered functions that had to stay in place
  uint64_t orderedPinnedBytes = 0;
  uint64_t pinnedBlocks = 0;
  uint64_t pinnedBytes = 0;
  std::map<std::string, uint64_t> pinnedWhy; ///< reason -> blocks
  std::vector<KeptBlock> kept;                ///< each pinned block, by address
  uint64_t bondedBlocks = 0;    ///< blocks moved together with a neighbour
  std::map<std::string, uint64_t> bondedWhy;
  std::map<std::string, uint64_t> fieldsUpdated; ///< kind -> fields changed
  uint64_t forwardingStubs = 0;     ///< jumps written at old entries of moved code
  uint64_t forwardingStubBytes = 0; ///< their bytes, kept instructions included
  uint64_t forwardedBlocks = 0;     ///< moved blocks with stubs
  std::map<std::string, uint64_t> forwardedWhy; ///< why an entry got a stub -> moved blocks
  bool strippedDebug = false;
  bool orderIgnored = false; ///< packing by size was the only fit
  uint64_t textStart = 0, textSize = 0;
};

struct RewriteResult {
  std::vector<uint8_t> bytes;
  RewriteReport report;
  AddressMap map;
  /// The functions found in undescribed code that the rewrite analysed
  /// (RewriteOptions::undescribedFunctions, or what it found itself).
  std::vector<std::pair<uint64_t, uint64_t>> foundFunctions;
};

/// Functions in the code of .text that no symbol or FDE describes, each
/// proved by following control flow from what calls it or stores its
/// address (lib/Rewrite/Discover.h): [start, end), sorted. Empty for a file
/// without such code, or one whose .text or .eh_frame cannot be read.
std::vector<std::pair<uint64_t, uint64_t>> findUndescribedFunctions(const ElfFile &in);

/// Plans and performs the rewrite in memory. Throws FatalError with a
/// message naming the file when the input cannot be rewritten.
RewriteResult rewriteText(const ElfFile &in, const RewriteOptions &options);

} // namespace elfopt
