//===- LookupMix.cpp ------------------------------------------------------===//
#include "elfopt/Dynsym/LookupMix.h"

#include <cstring>

using namespace llvm::ELF;

namespace elfopt {

LookupMix estimateLookupMix(const ElfFile &file) {
  LookupMix mix;
  const Section *dynsym = file.findSectionOfType(SHT_DYNSYM);
  if (!dynsym)
    return mix;
  std::vector<Symbol> syms = file.symbols(*dynsym);
  uint64_t previous = 0; // symbol of the previous relocation; 0: none
  for (const Section &s : file.sections()) {
    if (s.type() != SHT_RELA || s.header.sh_link != dynsym->index)
      continue;
    auto bytes = file.contents(s);
    for (uint64_t off = 0; off + sizeof(ELFT::Rela) <= bytes.size(); off += sizeof(ELFT::Rela)) {
      uint64_t info;
      std::memcpy(&info, bytes.data() + off + 8, 8);
      uint64_t sym = info >> 32;
      if (sym == 0 || sym >= syms.size() || sym == previous)
        continue;
      previous = sym;
      if (syms[sym].binding == STB_LOCAL)
        continue; // resolved without a lookup
      ++(syms[sym].isDefined() ? mix.hits : mix.misses);
    }
  }
  return mix;
}

} // namespace elfopt
