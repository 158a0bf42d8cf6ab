//===- VerifyDynsym.h - check the dynamic symbol passes ---------*- C++ -*-===//
//
// dynsort renumbers .dynsym and rebuilds the tables that index it; hashvals
// adds a table beside it. Nothing may change what the loader resolves. This
// check compares the two files by symbol name, independently of how the
// passes did their work:
//   - the same dynamic symbols (name, value, size, type, binding,
//     visibility, section, version name), each once;
//   - every symbol the GNU hash table should find (index >= symoffset,
//     defined) is found by glibc's walk (bloom filter, bucket, chain) at its
//     own index, and the SysV table, if any, finds it too;
//   - every dynamic relocation keeps its offset, type, addend and the name
//     of its symbol; .rela.plt keeps its order (PLT stubs index it);
//   - the .dynamic strings (DT_NEEDED, SONAME, RUNPATH, ...) and the version
//     names read the same;
//   - precomputed hashes, if present, are the GNU hashes of the names.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "elfopt/Elf/ElfFile.h"

#include <cstdint>
#include <string>
#include <vector>

namespace elfopt {

struct DynsymVerifyReport {
  uint64_t symbols = 0;      ///< dynamic symbols compared
  uint64_t lookups = 0;      ///< names looked up through the hash tables
  uint64_t relocations = 0;  ///< dynamic relocations compared
  std::vector<std::string> problems;
  bool ok() const { return problems.empty(); }
};

/// \p before: the file before the dynamic symbol passes; \p after: after
/// them. With \p textMoved (the passes followed a .text rewrite), symbol
/// values and relocation addends are not compared (verifyRewrite() checks
/// those on the .text stage). With \p neededReordered (rewrite
/// --scope-order ran too), DT_NEEDED's names are left to verifyScopeOrder().
DynsymVerifyReport verifyDynamicSymbols(const ElfFile &before, const ElfFile &after, bool textMoved = false,
                                        bool neededReordered = false);

/// Whether \p after looks like the output of the dynamic symbol passes on
/// \p before (precomputed hashes, or .dynsym in another order).
bool hadDynamicSymbolPasses(const ElfFile &before, const ElfFile &after);

} // namespace elfopt
