//===- VerifyScope.h - check a program's reordered DT_NEEDED list -*- C++ -*-===//
//
// `rewrite --scope-order` changes the program's DT_NEEDED list and nothing
// else but the string table the new names need. This check reads the
// output on its own terms:
//   - the scope glibc would build from the output's DT_NEEDED names (found
//     from the original's place, as the loader would) holds the same
//     objects, and the proofs of ScopeOrder.h hold between the two orders:
//     bindings, constructor and destructor order, dlsym importers, unique
//     symbols;
//   - every other .dynamic entry is the same (an address entry may follow
//     its table to where the editor moved it, same contents), and the
//     string table DT_STRTAB names starts with the original's bytes;
//   - unless the dynamic symbol passes ran too (they are checked on their
//     own, and renumber the strings), the .dynamic check above holds; unless
//     they or a code pass (.text order, prefetch stub) ran, every section of
//     the original has the same contents after it.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "elfopt/Elf/ElfFile.h"

#include <string>
#include <vector>

namespace elfopt {

struct ScopeVerifyReport {
  size_t neededBefore = 0, neededAfter = 0, objects = 0;
  std::vector<std::string> problems;
  bool ok() const { return problems.empty(); }
};

/// Whether \p after's DT_NEEDED names differ from \p before's (in order).
bool neededListChanged(const ElfFile &before, const ElfFile &after);

/// What other passes of the same rewrite changed; each is checked on its own.
struct OtherPasses {
  bool dynamicSymbols = false; ///< dynsort/hashvals: strings renumbered, tables moved
  bool code = false;           ///< .text reordered or a prefetch stub added: sections changed
};

/// \p programPath: where \p before is installed (its libraries are found
/// from there).
ScopeVerifyReport verifyScopeOrder(const ElfFile &before, const ElfFile &after, const std::string &programPath,
                                   OtherPasses others = {});

} // namespace elfopt
