//===- Dynsort.h - dynamic symbols in GNU-hash order, strings with them -*- C++ -*-===//
//
// dynsort rewrites the dynamic symbol tables in place, without moving any
// section:
//   - .dynsym: the null symbol, local symbols and the unhashed (undefined)
//     symbols keep their place in front; the hashed ones follow in the order
//     the GNU hash table requires (bucket, then original order), so a chain
//     is a run of adjacent .dynsym entries;
//   - .dynstr: the symbol names laid out in that same order (so walking a
//     chain reads adjacent strings), then the other strings (DT_NEEDED,
//     SONAME, RUNPATH, version names); a name that is the suffix of another
//     shares its bytes. It never grows;
//   - .gnu.hash: rebuilt with the cost model's shape within its old size
//     (or with its old shape), .hash rebuilt with its old bucket count;
//   - every place that holds a dynamic symbol index or a .dynstr offset is
//     renumbered: relocation sections linked to .dynsym (.rela.dyn,
//     .rela.plt; their order is kept, so PLT stubs stay right), .gnu.version,
//     .gnu.version_r, .gnu.version_d and .dynamic.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "elfopt/Edit/ElfEditor.h"
#include "elfopt/Hash/CostModel.h"

#include <string>
#include <vector>

namespace elfopt {

struct DynsortOptions {
  bool keepShape = false;          ///< keep the GNU hash parameters as they are
  CostModelOptions model;          ///< budget defaults to the old table's size
};

struct DynsortResult {
  uint32_t symbols = 0, hashed = 0;
  GnuHashCost before, after;
  uint64_t dynstrBefore = 0, dynstrAfter = 0;
  std::vector<std::string> names; ///< .dynsym names in the new order
};

DynsortResult dynsort(ElfEditor &editor, const DynsortOptions &options);

} // namespace elfopt
