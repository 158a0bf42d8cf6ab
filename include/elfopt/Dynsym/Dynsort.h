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
//   - .gnu.hash: rebuilt with the cost model's shape (or its old shape).
//     The model weighs misses against hits as estimateLookupMix() finds
//     (LookupMix.h) unless told a ratio, under a byte budget that defaults
//     to the old table's size. A table larger than the old one goes into a
//     new section in the editor's new segment, DT_GNU_HASH follows it, and
//     the old one is retired (zeroed, renamed .elfopt.old.gnu.hash). A file
//     with only SysV .hash gets a GNU table too (a new section and a new
//     DT_GNU_HASH in a spare slot): its locals and undefined symbols are
//     moved in front, the table starts after them;
//   - .hash: rebuilt with its old bucket count;
//   - every place that holds a dynamic symbol index or a .dynstr offset is
//     renumbered: relocation sections linked to .dynsym (.rela.dyn,
//     .rela.plt; their order is kept, so PLT stubs stay right), .gnu.version,
//     .gnu.version_r, .gnu.version_d and .dynamic.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "elfopt/Scope/LookupMix.h"
#include "elfopt/Edit/ElfEditor.h"
#include "elfopt/Hash/CostModel.h"

#include <optional>

#include <string>
#include <vector>

namespace elfopt {

struct DynsortOptions {
  bool keepShape = false;             ///< keep the GNU hash parameters as they are
  std::optional<double> missesPerHit; ///< default: from lookups, else estimateLookupMix()
  std::optional<LookupMix> lookups;   ///< e.g. simulateLookupMix()'s
  std::string lookupsSource;          ///< where they come from, for reports
  uint64_t budgetBytes = 0;           ///< 0: the old table's size
};

struct DynsortResult {
  uint32_t symbols = 0, hashed = 0;
  LookupMix mix;                  ///< the lookups behind missesPerHit
  double missesPerHit = 0;        ///< what the model used
  std::string missesPerHitFrom;   ///< "option", "relocations" or the lookups' source
  bool builtFromSysv = false;     ///< the file had only SysV .hash
  std::optional<unsigned> newTable; ///< the new .gnu.hash section, if any
  GnuHashCost before, after;
  GnuHashCost best;               ///< the model's best shape within the budget
  bool gainTooSmall = false;      ///< best gained < 0.5%: after = before
  uint64_t dynstrBefore = 0, dynstrAfter = 0;
  /// Runs of adjacent relocations against one symbol (outside .rela.plt):
  /// each costs the loader one lookup.
  uint64_t relocationRunsBefore = 0, relocationRunsAfter = 0;
  std::vector<std::string> names; ///< .dynsym names in the new order
};

DynsortResult dynsort(ElfEditor &editor, const DynsortOptions &options);

/// After editor.layout(): points DT_GNU_HASH at a new table, if dynsort made one.
void finishDynsort(ElfEditor &editor, const DynsortResult &result);

} // namespace elfopt
