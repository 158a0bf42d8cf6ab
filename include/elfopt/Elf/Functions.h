//===- Functions.h - function boundaries of a linked file -------*- C++ -*-===//
//
// Where each function starts and ends, for recording, ordering and rewriting.
// From .symtab when the file has one; for a stripped file from .dynsym plus
// the .eh_frame FDE ranges (every function compiled with unwind tables, the
// default on x86-64, has one), named "fde@0x..." when no dynamic symbol
// names them; with a finder, also the functions it proves in code none of
// those describe, named "code@0x...". Aliases (several symbols at one
// address) become one function.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "elfopt/Elf/ElfFile.h"

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace elfopt {

struct Function {
  std::string name;
  uint64_t address = 0; ///< link-time address
  uint64_t size = 0;
  unsigned section = 0; ///< index of the executable section holding it
};

enum class FunctionSource { Symtab, DynsymAndEhFrame, None };
const char *functionSourceName(FunctionSource source);

struct FunctionTable {
  FunctionSource source = FunctionSource::None;
  std::vector<Function> functions; ///< sorted by address, one per address
};

/// Finds functions in code that no symbol or FDE describes (the rewrite's
/// findUndescribedFunctions): [start, end), sorted.
using FunctionFinder = std::function<std::vector<std::pair<uint64_t, uint64_t>>(const ElfFile &)>;

/// With \p finder, when an eighth of .text or more is no function's, the
/// functions it finds there too, named "code@0x..." (below that, finding
/// them costs more than they are worth to an order).
FunctionTable readFunctions(const ElfFile &file, const FunctionFinder &finder = {});

} // namespace elfopt
