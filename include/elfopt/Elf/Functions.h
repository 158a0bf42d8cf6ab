//===- Functions.h - function boundaries of a linked file -------*- C++ -*-===//
//
// Where each function starts and ends, for recording, ordering and rewriting.
// From .symtab when the file has one; for a stripped file from .dynsym plus
// the .eh_frame FDE ranges (every function compiled with unwind tables, the
// default on x86-64, has one), named "fde@0x..." when no dynamic symbol
// names them. Aliases (several symbols at one address) become one function.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "elfopt/Elf/ElfFile.h"

#include <cstdint>
#include <string>
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

FunctionTable readFunctions(const ElfFile &file);

} // namespace elfopt
