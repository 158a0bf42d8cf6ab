//===- Relocations.cpp ----------------------------------------------------===//
#include "elfopt/Elf/Relocations.h"

#include <cstring>

using namespace llvm::ELF;

namespace elfopt {

bool dynamicAddendIsAddress(const ELFT::Rela &rela) {
  uint32_t type = rela.getType(false);
  return type == R_X86_64_RELATIVE || type == R_X86_64_IRELATIVE ||
         (type == R_X86_64_64 && rela.getSymbol(false) == 0);
}

std::vector<ELFT::Rela> decodeRela(std::span<const uint8_t> bytes) {
  std::vector<ELFT::Rela> out(bytes.size() / sizeof(ELFT::Rela));
  if (!out.empty())
    std::memcpy(static_cast<void *>(out.data()), bytes.data(), out.size() * sizeof(ELFT::Rela));
  return out;
}

std::vector<uint64_t> decodeRelr(std::span<const uint8_t> bytes) {
  std::vector<uint64_t> out;
  uint64_t where = 0;
  for (size_t i = 0; i + 8 <= bytes.size(); i += 8) {
    uint64_t entry;
    std::memcpy(&entry, bytes.data() + i, 8);
    if (!(entry & 1)) {
      out.push_back(entry);
      where = entry + 8;
    } else {
      for (unsigned bit = 1; bit < 64; ++bit)
        if (entry & (uint64_t(1) << bit))
          out.push_back(where + 8 * (bit - 1));
      where += 8 * 63;
    }
  }
  return out;
}

} // namespace elfopt
