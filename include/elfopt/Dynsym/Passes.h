//===- Passes.h - the dynamic symbol passes on one editor -------*- C++ -*-===//
//
// dynsort, then hashvals over the sorted names, as `rewrite` and `edit` run
// them: planDynsymPasses() before the editor's layout(), finishDynsymPasses()
// after it, when the addresses of new sections are known.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "elfopt/Dynsym/Dynsort.h"
#include "elfopt/Dynsym/Hashvals.h"
#include "elfopt/Edit/ElfEditor.h"

#include <optional>

namespace elfopt {

struct DynsymPasses {
  std::optional<DynsortResult> sorted;
  std::optional<unsigned> hashvals; ///< the .elfopt.hashvals section
  bool any() const { return sorted || hashvals; }
};

/// \p dynsortOptions null: no dynsort.
DynsymPasses planDynsymPasses(ElfEditor &editor, const DynsortOptions *dynsortOptions, bool hashvals);
void finishDynsymPasses(ElfEditor &editor, const DynsymPasses &passes);

} // namespace elfopt
