//===- ElfBuilder.h - small ELF files laid out by the test ------*- C++ -*-===//
//
// Files with sections of the test's choosing, built byte by byte: the ELF
// header, the program headers at 0x40 (one PT_LOAD mapping the whole file
// from offset 0 at address Base, and PT_DYNAMIC over .dynamic when there
// is one), then the sections in the order they were added from offset
// 0x200 on (room for more program headers), each at its alignment and at
// address Base + offset, then .shstrtab and the section header table.
// A section's address is known as soon as it is added, so a later section
// (.dynamic) can name it.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "Support.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace elfopt::test {

/// A string table as linkers start one: a NUL, then each string added.
struct StringTable {
  std::vector<uint8_t> bytes{0};
  uint32_t add(std::string_view s) {
    uint32_t at = uint32_t(bytes.size());
    bytes.insert(bytes.end(), s.begin(), s.end());
    bytes.push_back(0);
    return at;
  }
};

/// The bytes of \p values as they lie in memory (x86-64: little-endian).
template <typename T> std::vector<uint8_t> bytesOf(const std::vector<T> &values) {
  std::vector<uint8_t> out(values.size() * sizeof(T));
  if (!out.empty())
    std::memcpy(out.data(), values.data(), out.size());
  return out;
}

inline Sym symbol(uint32_t name, uint8_t binding, uint8_t type, uint16_t shndx, uint64_t value = 0,
                  uint64_t size = 0) {
  Sym s{};
  s.st_name = name;
  s.st_info = uint8_t((binding << 4) | type);
  s.st_shndx = shndx;
  s.st_value = value;
  s.st_size = size;
  return s;
}

inline ELFT::Rela rela(uint64_t offset, uint32_t sym, uint32_t type, int64_t addend = 0) {
  ELFT::Rela r{};
  r.r_offset = offset;
  r.r_info = (uint64_t(sym) << 32) | type;
  r.r_addend = addend;
  return r;
}

class ElfBuilder {
public:
  static constexpr uint64_t Base = 0x10000;
  static constexpr uint64_t FirstSection = 0x200;

  explicit ElfBuilder(uint16_t type = llvm::ELF::ET_DYN) : type(type) {}

  /// Adds a section; returns its index (the null section is 0).
  unsigned add(std::string name, uint32_t shType, uint64_t flags, std::vector<uint8_t> data,
               uint32_t link = 0, uint32_t info = 0, uint64_t align = 8, uint64_t entsize = 0) {
    uint64_t offset = end;
    if (align > 1)
      offset = (offset + align - 1) / align * align;
    Entry e{std::move(name), {}, std::move(data)};
    e.header.sh_type = shType;
    e.header.sh_flags = flags;
    e.header.sh_offset = offset;
    e.header.sh_addr = (flags & llvm::ELF::SHF_ALLOC) ? Base + offset : 0;
    e.header.sh_size = e.data.size();
    e.header.sh_link = link;
    e.header.sh_info = info;
    e.header.sh_addralign = align;
    e.header.sh_entsize = entsize;
    end = offset + e.data.size();
    entries.push_back(std::move(e));
    return unsigned(entries.size());
  }
  /// .dynsym with its entry size, locals counted up to \p firstGlobal.
  unsigned addSymbols(std::string name, uint32_t shType, const std::vector<Sym> &syms, unsigned strtab,
                      uint32_t firstGlobal, uint64_t flags = llvm::ELF::SHF_ALLOC) {
    return add(std::move(name), shType, flags, bytesOf(syms), strtab, firstGlobal, 8, sizeof(Sym));
  }
  /// .dynamic: \p tags, DT_NULL, then \p spare more DT_NULL slots.
  unsigned addDynamic(const std::vector<std::pair<int64_t, uint64_t>> &tags, unsigned strtab,
                      unsigned spare = 0) {
    std::vector<Dyn> dyn;
    for (auto [tag, value] : tags) {
      Dyn d{};
      d.d_tag = tag;
      d.d_un.d_val = value;
      dyn.push_back(d);
    }
    dyn.resize(dyn.size() + 1 + spare, Dyn{});
    dynamic = add(".dynamic", llvm::ELF::SHT_DYNAMIC, llvm::ELF::SHF_ALLOC | llvm::ELF::SHF_WRITE,
                  bytesOf(dyn), strtab, 0, 8, sizeof(Dyn));
    return dynamic;
  }

  /// Replaces a section's contents by as many bytes (e.g. code that
  /// depends on the section's address).
  void set(unsigned index, std::vector<uint8_t> data) {
    Entry &e = entries.at(index - 1);
    ASSERT_EQ(data.size(), e.data.size()) << e.name;
    e.data = std::move(data);
  }

  /// Program headers to use instead of the one PT_LOAD over the file
  /// (PT_DYNAMIC is still added for .dynamic).
  std::vector<Phdr> segments;

  uint64_t addr(unsigned index) const { return entries.at(index - 1).header.sh_addr; }
  uint64_t offset(unsigned index) const { return entries.at(index - 1).header.sh_offset; }
  uint64_t size(unsigned index) const { return entries.at(index - 1).data.size(); }

  std::vector<uint8_t> bytes() const {
    StringTable names;
    std::vector<Shdr> shdrs(1);
    uint64_t loadEnd = FirstSection;
    for (const Entry &e : entries) {
      Shdr s = e.header;
      s.sh_name = names.add(e.name);
      shdrs.push_back(s);
      if (s.sh_flags & llvm::ELF::SHF_ALLOC)
        loadEnd = std::max<uint64_t>(loadEnd, s.sh_offset + s.sh_size);
    }
    Shdr shstrtab{};
    shstrtab.sh_name = names.add(".shstrtab");
    shstrtab.sh_type = llvm::ELF::SHT_STRTAB;
    shstrtab.sh_offset = end;
    shstrtab.sh_addralign = 1;
    // The table's own name is in it: size it after the last add.
    shstrtab.sh_size = names.bytes.size();
    shdrs.push_back(shstrtab);
    uint64_t shoff = (end + names.bytes.size() + 7) / 8 * 8;

    std::vector<Phdr> phdrs(1);
    if (!segments.empty()) {
      phdrs = segments;
    } else {
      phdrs[0].p_type = llvm::ELF::PT_LOAD;
      phdrs[0].p_flags = llvm::ELF::PF_R | llvm::ELF::PF_X;
      phdrs[0].p_vaddr = Base;
      phdrs[0].p_paddr = Base;
      phdrs[0].p_filesz = loadEnd;
      phdrs[0].p_memsz = loadEnd;
      phdrs[0].p_align = 0x1000;
    }
    if (dynamic) {
      const Shdr &d = entries[dynamic - 1].header;
      Phdr p{};
      p.p_type = llvm::ELF::PT_DYNAMIC;
      p.p_flags = llvm::ELF::PF_R | llvm::ELF::PF_W;
      p.p_offset = d.sh_offset;
      p.p_vaddr = d.sh_addr;
      p.p_paddr = d.sh_addr;
      p.p_filesz = d.sh_size;
      p.p_memsz = d.sh_size;
      p.p_align = 8;
      phdrs.push_back(p);
    }

    std::vector<uint8_t> out(shoff + shdrs.size() * sizeof(Shdr), 0);
    Ehdr eh = elfHeader(type);
    eh.e_phoff = 0x40;
    eh.e_phnum = uint16_t(phdrs.size());
    eh.e_shoff = shoff;
    eh.e_shnum = uint16_t(shdrs.size());
    eh.e_shstrndx = uint16_t(shdrs.size() - 1);
    std::memcpy(out.data(), &eh, sizeof eh);
    std::memcpy(out.data() + 0x40, phdrs.data(), phdrs.size() * sizeof(Phdr));
    for (const Entry &e : entries)
      if (e.header.sh_type != llvm::ELF::SHT_NOBITS && !e.data.empty())
        std::memcpy(out.data() + e.header.sh_offset, e.data.data(), e.data.size());
    std::memcpy(out.data() + end, names.bytes.data(), names.bytes.size());
    std::memcpy(out.data() + shoff, shdrs.data(), shdrs.size() * sizeof(Shdr));
    return out;
  }

  std::unique_ptr<ElfFile> file(const std::string &name = "t.so") const {
    return ElfFile::fromBytes(name, bytes());
  }

private:
  struct Entry {
    std::string name;
    Shdr header;
    std::vector<uint8_t> data;
  };
  uint16_t type;
  std::vector<Entry> entries;
  uint64_t end = FirstSection;
  unsigned dynamic = 0;
};

/// The symbols of \p f's first section of type \p type, by name.
inline std::vector<std::string> symbolNames(const ElfFile &f, uint32_t type = llvm::ELF::SHT_DYNSYM) {
  std::vector<std::string> out;
  for (const Symbol &s : f.symbols(*f.findSectionOfType(type)))
    out.push_back(s.name);
  return out;
}

/// Section \p s's bytes as u16 or u32 values.
template <typename T> std::vector<T> valuesOf(const ElfFile &f, const Section &s) {
  auto b = f.contents(s);
  std::vector<T> out(b.size() / sizeof(T));
  if (!out.empty())
    std::memcpy(out.data(), b.data(), out.size() * sizeof(T));
  return out;
}

} // namespace elfopt::test
