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

std::optional<VersionTruncation>
walkVersionNames(std::span<const uint8_t> b, bool needs,
                 llvm::function_ref<bool(const VersionNameField &)> visit) {
  auto fits = [&](uint64_t at, uint64_t size) { return at <= b.size() && b.size() - at >= size; };
  auto u16 = [&](uint64_t o) { uint16_t v; std::memcpy(&v, b.data() + o, 2); return v; };
  auto u32 = [&](uint64_t o) { uint32_t v; std::memcpy(&v, b.data() + o, 4); return v; };
  // Verneed (16 bytes): vn_version, vn_cnt, vn_file, vn_aux, vn_next.
  // Verdef (20 bytes):  vd_version, vd_flags, vd_ndx, vd_cnt, vd_hash, vd_aux, vd_next.
  // Vernaux (16 bytes): vna_hash, vna_flags, vna_other, vna_name, vna_next.
  // Verdaux (8 bytes):  vda_name, vda_next.
  // vn_aux/vd_aux count from their entry, vna_next/vda_next from their
  // auxiliary entry, vn_next/vd_next from their entry; 0 ends a chain.
  uint64_t off = 0;
  for (unsigned guard = 0; guard < 65536; ++guard) {
    if (!fits(off, needs ? 16 : 20))
      return VersionTruncation{off, false};
    uint16_t cnt = needs ? u16(off + 2) : u16(off + 6);
    uint32_t aux = needs ? u32(off + 8) : u32(off + 12);
    uint32_t next = needs ? u32(off + 12) : u32(off + 16);
    bool more = !needs || visit({VersionNameField::NeededFile, off + 4, u32(off + 4), 0});
    uint64_t a = off + aux;
    for (uint16_t k = 0; more && k < cnt; ++k) {
      if (!fits(a, needs ? 16 : 8))
        return VersionTruncation{a, true};
      uint64_t nameAt = needs ? a + 8 : a;
      more = visit({needs ? VersionNameField::Needed : VersionNameField::Defined, nameAt, u32(nameAt),
                    needs ? u16(a + 6) : u16(off + 4)});
      uint32_t an = needs ? u32(a + 12) : u32(a + 4);
      if (an == 0)
        break;
      a += an;
    }
    if (next == 0)
      break;
    off += next;
  }
  return std::nullopt;
}

SymbolVersions readSymbolVersions(const ElfFile &file, size_t symbolCount) {
  SymbolVersions v;
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
      auto record = [&](const VersionNameField &f) {
        if (f.kind == VersionNameField::NeededFile)
          return true;
        v.names[f.version] = string(f.name);
        // A Verdef's first Verdaux names its version; the rest name parents.
        return f.kind == VersionNameField::Needed;
      };
      if (walkVersionNames(b, s.type() == SHT_GNU_verneed, record))
        return {};
    }
  } catch (const std::out_of_range &) {
    return {};
  }
  return v;
}

} // namespace elfopt
