//===- DataWords.h - how verify reads a word of loaded data -----*- C++ -*-===//
//
// Outside .text, a rewrite may change only words that refer to code, each
// by exactly as much as what it refers to moved. These are the rules by
// which verify decides what a word refers to, kept pure so that each is
// tested on its own (test/unit/DataWordsTest.cpp).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "elfopt/Target/X86_64.h"

#include <cstdint>
#include <optional>

namespace elfopt::verify {

enum class WordKind : uint8_t {
  Address,        ///< holds an address: the map of its old value
  TableEntry,     ///< 32-bit `target - base`; see expectedRelativeWord()
  AddressIfMoved, ///< GOT word: the map of its old value, or unchanged
  Unwind,         ///< .eh_frame/.eh_frame_hdr; checked FDE by FDE
  Operand,        ///< an operand in other code; checked by decoding it
  Fixed,          ///< must not change
};

/// Where a static relocation's place lies.
enum class PlaceKind : uint8_t { Code, Unwind, Data };

/// How verify reads the field a static relocation of \p type describes, at
/// a place of kind \p place, against a symbol in .text (\p symbolInText) or
/// elsewhere; nothing for a relocation that writes no field. The relocation
/// says what the word refers to: a PC-relative word against data (clang's
/// relative lookup tables, `.L.str.N - table`) refers to data, which does
/// not move, so it must keep its value whatever code a guessed base would
/// make of it.
inline std::optional<WordKind> readStaticRelocation(uint32_t type, PlaceKind place, bool symbolInText) {
  uint8_t width = x86_64::relocationFieldSize(type);
  if (width == 0)
    return std::nullopt;
  if (x86_64::isAbsoluteRelocation(type))
    return WordKind::Address; // an address outside .text maps to itself
  if (place == PlaceKind::Code)
    return WordKind::Operand;
  if (place == PlaceKind::Unwind)
    return WordKind::Unwind;
  if (type == llvm::ELF::R_X86_64_PC32 && symbolInText)
    return WordKind::TableEntry;
  return WordKind::Fixed;
}

/// What a 32-bit relative word at \p place, holding \p value, leads to.
/// The word reads as `label - base`: against \p tableBase (the closest
/// address at or below it that code refers to) when there is one, then
/// against the word itself. The first reading that leads to a label
/// (\p isLabel) is its target; a word that leads to none refers to nothing
/// that moves.
template <typename IsLabel>
std::optional<uint64_t> relativeWordTarget(uint64_t place, uint32_t value, std::optional<uint64_t> tableBase,
                                           const IsLabel &isLabel) {
  for (uint64_t base : {tableBase.value_or(place), place}) {
    uint64_t target = base + int64_t(int32_t(value));
    if (isLabel(target))
      return target;
  }
  return std::nullopt;
}

/// The value such a word must hold after the move: it follows its target
/// (\p mapLabel, the end of a function moving with it), or keeps its value.
template <typename IsLabel, typename MapLabel>
uint32_t expectedRelativeWord(uint64_t place, uint32_t oldValue, std::optional<uint64_t> tableBase,
                              const IsLabel &isLabel, const MapLabel &mapLabel) {
  auto target = relativeWordTarget(place, oldValue, tableBase, isLabel);
  return target ? uint32_t(oldValue + (mapLabel(*target) - *target)) : oldValue;
}

} // namespace elfopt::verify
