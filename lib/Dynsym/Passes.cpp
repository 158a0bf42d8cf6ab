//===- Passes.cpp - the dynamic symbol passes on one editor ---------------===//
#include "elfopt/Dynsym/Passes.h"

namespace elfopt {

DynsymPasses planDynsymPasses(ElfEditor &editor, const DynsortOptions *dynsortOptions, bool hashvals) {
  DynsymPasses p;
  if (dynsortOptions)
    p.sorted = dynsort(editor, *dynsortOptions);
  // Over the sorted names: the hashes follow .dynsym's new order.
  if (hashvals)
    p.hashvals = addHashvals(editor, p.sorted ? &p.sorted->names : nullptr);
  return p;
}

void finishDynsymPasses(ElfEditor &editor, const DynsymPasses &p) {
  if (p.sorted)
    finishDynsort(editor, *p.sorted);
  if (p.hashvals)
    finishHashvals(editor, *p.hashvals);
}

} // namespace elfopt
