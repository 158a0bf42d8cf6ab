//===- Hashvals.cpp -------------------------------------------------------===//
#include "elfopt/Dynsym/Hashvals.h"
#include "elfopt/Hash/HashTables.h"
#include "elfopt/Support/Diagnostics.h"

#include <cstring>

namespace elfopt {

std::vector<uint32_t> computeHashvals(const ElfFile &file) {
  const Section *dynsym = file.findSectionOfType(llvm::ELF::SHT_DYNSYM);
  if (!dynsym)
    fatal(file.name() + ": no .dynsym: precomputed hashes need dynamic symbols");
  std::vector<uint32_t> out;
  for (const Symbol &sym : file.symbols(*dynsym))
    out.push_back(gnuHash(sym.name));
  return out;
}

unsigned addHashvals(ElfEditor &editor, const std::vector<std::string> *names) {
  const ElfFile &file = editor.input();
  if (file.findSection(HashvalsSectionName) || file.dynamicValue(DT_ELFOPT_HASHVALS))
    fatal(file.name() + ": already has precomputed hashes (" + HashvalsSectionName + ")");
  std::vector<uint32_t> hashes;
  if (names)
    for (const std::string &name : *names)
      hashes.push_back(gnuHash(name));
  else
    hashes = computeHashvals(file);
  NewSection s;
  s.name = HashvalsSectionName;
  s.align = 4;
  s.entsize = 4;
  s.data.resize(hashes.size() * 4);
  std::memcpy(s.data.data(), hashes.data(), s.data.size()); // x86-64: little-endian
  unsigned index = editor.addSection(std::move(s));
  editor.addDynamicEntry(DT_ELFOPT_HASHVALS, 0); // address filled in after layout
  return index;
}

void finishHashvals(ElfEditor &editor, unsigned section) {
  editor.setDynamicEntry(DT_ELFOPT_HASHVALS, editor.sectionAddress(section));
}

} // namespace elfopt
