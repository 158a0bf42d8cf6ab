//===- Versions.cpp -------------------------------------------------------===//
#include "elfopt/Elf/Versions.h"

#include <cstring>
#include <span>
#include <stdexcept>

using namespace llvm::ELF;

namespace elfopt {

const std::string *SymbolVersions::name(uint32_t i) const {
  if (i >= versym.size() || (versym[i] & 0x7fff) < 2)
    return nullptr;
  auto it = names.find(versym[i] & 0x7fff);
  return it == names.end() ? nullptr : &it->second;
}

bool SymbolVersions::matches(uint32_t i, const std::string *wanted) const {
  if (versym.empty() || i >= versym.size())
    return true; // an unversioned object answers every lookup
  uint16_t index = versym[i] & 0x7fff;
  if (!wanted || index < 2)
    return !hidden(i); // the default version, or a global definition
  auto it = names.find(index);
  return it != names.end() && it->second == *wanted;
}

SymbolVersions readSymbolVersions(const ElfFile &file, size_t symbolCount) {
  SymbolVersions v;
  auto read = [&](std::span<const uint8_t> b, uint64_t at, auto &out) {
    if (at > b.size() || b.size() - at < sizeof(out))
      throw std::out_of_range("version table");
    std::memcpy(&out, b.data() + at, sizeof(out));
  };
  // The tables the loader reads: those the dynamic tags point at (it never
  // looks at section types); without dynamic tags, the sections by type.
  auto wanted = [&](const Section &s) {
    int64_t tag = s.type() == SHT_GNU_versym   ? DT_VERSYM
                  : s.type() == SHT_GNU_verdef ? DT_VERDEF
                  : s.type() == SHT_GNU_verneed ? DT_VERNEED
                                                : 0;
    if (!tag)
      return false;
    auto address = file.dynamicValue(tag);
    return address ? *address == s.addr() : !file.findSectionOfType(SHT_DYNAMIC);
  };
  try {
    for (const Section &s : file.sections()) {
      if (!wanted(s))
        continue;
      auto b = file.contents(s);
      if (s.type() == SHT_GNU_versym) {
        v.versym.resize(std::min<size_t>(b.size() / 2, symbolCount));
        std::memcpy(v.versym.data(), b.data(), v.versym.size() * 2);
        continue;
      }
      if (s.header.sh_link >= file.sections().size())
        continue;
      auto strings = file.contents(file.sections()[s.header.sh_link]);
      auto string = [&](uint32_t offset) {
        if (offset >= strings.size())
          throw std::out_of_range("version name");
        const char *p = reinterpret_cast<const char *>(strings.data()) + offset;
        return std::string(p, strnlen(p, strings.size() - offset));
      };
      uint64_t off = 0;
      for (unsigned guard = 0; guard < 65536; ++guard) {
        if (s.type() == SHT_GNU_verdef) {
          ELFT::Verdef d;
          ELFT::Verdaux a;
          read(b, off, d);
          if (d.vd_cnt) { // the first auxiliary entry names the version
            read(b, off + d.vd_aux, a);
            v.names[d.vd_ndx] = string(a.vda_name);
          }
          if (!d.vd_next)
            break;
          off += d.vd_next;
        } else {
          ELFT::Verneed n;
          read(b, off, n);
          uint64_t aux = off + n.vn_aux;
          for (unsigned k = 0; k < n.vn_cnt; ++k) {
            ELFT::Vernaux a;
            read(b, aux, a);
            v.names[a.vna_other] = string(a.vna_name);
            if (!a.vna_next)
              break;
            aux += a.vna_next;
          }
          if (!n.vn_next)
            break;
          off += n.vn_next;
        }
      }
    }
  } catch (const std::out_of_range &) {
    return {};
  }
  return v;
}

} // namespace elfopt
