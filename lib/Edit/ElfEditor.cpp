//===- ElfEditor.cpp ------------------------------------------------------===//
#include "elfopt/Edit/ElfEditor.h"
#include "elfopt/Support/Diagnostics.h"

#include <algorithm>
#include <cstring>

using namespace llvm::ELF;

namespace elfopt {

static constexpr uint64_t PageSize = 4096;

static uint64_t alignTo(uint64_t value, uint64_t align) {
  return align <= 1 ? value : (value + align - 1) / align * align;
}

ElfEditor::ElfEditor(const ElfFile &input) : in(input) {
  auto bytes = input.bytes();
  image.assign(bytes.begin(), bytes.end());
  ehdr = input.header();
  phdrs.assign(input.segments().begin(), input.segments().end());
  for (const Section &s : input.sections())
    shdrs.push_back(s.header);
}

std::span<uint8_t> ElfEditor::mutableContents(unsigned index) {
  if (index == 0 || index >= inputSectionCount())
    fatal(in.name() + ": no input section with index " + std::to_string(index), ExitInternal);
  // The image keeps input offsets; moved sections are copied in serialize().
  const Shdr &s = in.sections()[index].header;
  if (s.sh_type == SHT_NOBITS)
    return {};
  return {image.data() + s.sh_offset, size_t(s.sh_size)};
}

void ElfEditor::shrinkSection(unsigned index, uint64_t newSize) {
  if (index == 0 || index >= inputSectionCount() || newSize > shdrs[index].sh_size)
    fatal(in.name() + ": internal: bad shrinkSection(" + std::to_string(index) + ")", ExitInternal);
  shdrs[index].sh_size = newSize;
}

void ElfEditor::retireSection(unsigned index, const std::string &newName) {
  if (laidOut || index == 0 || index >= inputSectionCount())
    fatal(in.name() + ": internal: bad retireSection(" + std::to_string(index) + ")", ExitInternal);
  auto bytes = mutableContents(index);
  std::fill(bytes.begin(), bytes.end(), 0);
  shdrs[index].sh_type = SHT_PROGBITS;
  shdrs[index].sh_link = 0;
  shdrs[index].sh_info = 0;
  shdrs[index].sh_entsize = 0;
  retiredNames[index] = newName;
}

std::span<uint8_t> ElfEditor::mutableNewContents(unsigned index) {
  if (index < inputSectionCount() || index >= shdrs.size())
    fatal(in.name() + ": section " + std::to_string(index) + " was not added by elfopt",
          ExitInternal);
  return added[index - inputSectionCount()].data;
}

unsigned ElfEditor::addSection(NewSection section) {
  if (laidOut)
    fatal(in.name() + ": internal: section added after layout", ExitInternal);
  if ((section.flags & SHF_ALLOC) && ehdr.e_type != ET_EXEC && ehdr.e_type != ET_DYN)
    fatal(in.name() + ": cannot add a loadable section to a file that is neither an "
                      "executable nor a shared object");
  if (section.align == 0 || (section.align & (section.align - 1)))
    fatal(in.name() + ": alignment " + std::to_string(section.align) + " of new section '" +
              section.name + "' is not a power of two",
          ExitUsage);
  Shdr hdr{};
  hdr.sh_type = section.type;
  hdr.sh_flags = section.flags;
  hdr.sh_size = section.data.size();
  hdr.sh_link = section.link;
  hdr.sh_info = section.info;
  hdr.sh_addralign = section.align;
  hdr.sh_entsize = section.entsize;
  shdrs.push_back(hdr);
  added.push_back(std::move(section));
  return unsigned(shdrs.size() - 1);
}

std::span<Dyn> ElfEditor::dynamicSlots() {
  for (const Phdr &p : phdrs) {
    if (p.p_type != PT_DYNAMIC)
      continue;
    // The slots are edited in place: they must be bytes of their own, or an
    // edit of another table (say .dynstr) would rewrite them behind our back.
    if (p.p_offset % alignof(Dyn))
      fatal(in.name() + ": PT_DYNAMIC at offset " + hex(p.p_offset) + " is not 8-byte aligned");
    uint64_t end = p.p_offset + p.p_filesz / sizeof(Dyn) * sizeof(Dyn);
    for (const Section &s : in.sections())
      if (s.type() != SHT_DYNAMIC && s.hasFileData() && s.size() && s.offset() < end &&
          p.p_offset < s.offset() + s.size())
        fatal(in.name() + ": PT_DYNAMIC (offset " + hex(p.p_offset) + ", " + std::to_string(p.p_filesz) +
              " bytes) overlaps section '" + s.name + "'");
    return {reinterpret_cast<Dyn *>(image.data() + p.p_offset), size_t(p.p_filesz / sizeof(Dyn))};
  }
  return {};
}

unsigned ElfEditor::spareDynamicSlots() const {
  auto slots = const_cast<ElfEditor *>(this)->dynamicSlots();
  for (size_t i = 0; i < slots.size(); ++i)
    if (slots[i].d_tag == DT_NULL) {
      // Spare only if every later slot is DT_NULL too.
      for (size_t j = i; j < slots.size(); ++j)
        if (slots[j].d_tag != DT_NULL)
          return 0;
      return unsigned(slots.size() - i - 1);
    }
  return 0;
}

void ElfEditor::addDynamicEntry(int64_t tag, uint64_t value) {
  auto slots = dynamicSlots();
  if (slots.empty())
    fatal(in.name() + ": no dynamic section (PT_DYNAMIC): cannot add dynamic entries to a "
                      "statically linked file");
  if (spareDynamicSlots() == 0)
    fatal(in.name() + ": no spare DT_NULL slot in .dynamic (" + std::to_string(slots.size()) +
          " slots, none spare) for a new dynamic entry; ld.bfd, gold and mold leave spare "
          "slots, lld does not");
  for (Dyn &d : slots)
    if (d.d_tag == DT_NULL) {
      d.d_tag = tag;
      d.d_un.d_val = value;
      return;
    }
}

void ElfEditor::setDynamicEntry(int64_t tag, uint64_t value) {
  for (Dyn &d : dynamicSlots()) {
    if (d.d_tag == DT_NULL)
      break;
    if (d.d_tag == tag) {
      d.d_un.d_val = value;
      return;
    }
  }
  fatal(in.name() + ": no dynamic entry with tag " + hex(uint64_t(tag)), ExitInternal);
}

// Sections found only through program headers, .dynamic and symbols: they
// can move when those references are updated. Relocation tables are left
// out on purpose: static executables find .rela.iplt through symbols that
// code references.
bool ElfEditor::isEvictable(unsigned index) const {
  const Shdr &s = shdrs[index];
  const std::string &name = in.sections()[index].name;
  if (retiredNames.count(index))
    return true; // it was a dynamic table, found only through .dynamic
  switch (s.sh_type) {
  case SHT_NOTE:
  case SHT_GNU_HASH:
  case SHT_HASH:
  case SHT_DYNSYM:
  case SHT_GNU_versym:
  case SHT_GNU_verneed:
  case SHT_GNU_verdef:
    return true;
  case SHT_STRTAB:
    return (s.sh_flags & SHF_ALLOC) && name == ".dynstr";
  case SHT_PROGBITS:
    return name == ".interp";
  default:
    return false;
  }
}

void ElfEditor::planRoomForProgramHeader() {
  uint64_t tableStart = ehdr.e_phoff;
  uint64_t oldEnd = tableStart + uint64_t(ehdr.e_phnum) * sizeof(Phdr);
  uint64_t newEnd = oldEnd + sizeof(Phdr);

  // The table must stay inside the PT_LOAD that maps it. When that segment
  // ends within the new entry (a small first segment holding just the
  // headers, as Free Pascal links them), it may grow by the few bytes if
  // nothing else lives there in the file or in memory.
  Phdr *containing = nullptr;
  for (Phdr &p : phdrs)
    if (p.p_type == PT_LOAD && p.p_offset <= tableStart &&
        oldEnd <= p.p_offset + p.p_filesz) {
      containing = &p;
      break;
    }
  if (!containing)
    fatal(in.name() + ": the program header table (offset " + hex(tableStart) +
          ") is not inside a loadable segment");
  uint64_t loadEnd = containing->p_offset + containing->p_filesz;
  if (newEnd > loadEnd) {
    uint64_t growth = newEnd - loadEnd;
    uint64_t memEnd = containing->p_vaddr + containing->p_memsz;
    bool free = containing->p_filesz == containing->p_memsz;
    for (const Phdr &p : phdrs) {
      if (&p == containing || p.p_type == PT_GNU_STACK)
        continue;
      if (p.p_filesz && p.p_offset < newEnd && p.p_offset + p.p_filesz > loadEnd)
        free = false;
      if (p.p_type == PT_LOAD && p.p_vaddr < memEnd + growth && p.p_vaddr + p.p_memsz > memEnd)
        free = false;
    }
    for (size_t i = 1; i < inputSectionCount(); ++i) {
      const Shdr &s = shdrs[i];
      if (s.sh_type != SHT_NOBITS && s.sh_size && s.sh_offset < newEnd &&
          s.sh_offset + s.sh_size > loadEnd)
        free = false;
    }
    if (!free)
      fatal(in.name() + ": no room to add a program header: the segment holding the "
                        "program header table ends at " + hex(loadEnd) +
            " and cannot grow");
    growHeaderSegment = containing - phdrs.data();
    growHeaderSegmentBy = growth;
  }

  // Sections with file data after the table, in file order.
  std::vector<unsigned> order;
  for (unsigned i = 1; i < inputSectionCount(); ++i) {
    const Shdr &s = shdrs[i];
    if (s.sh_type == SHT_NOBITS || s.sh_type == SHT_NULL || s.sh_size == 0)
      continue;
    if (s.sh_offset < oldEnd && s.sh_offset + s.sh_size > tableStart)
      fatal(in.name() + ": section '" + in.sections()[i].name +
            "' overlaps the program header table");
    if (s.sh_offset >= oldEnd)
      order.push_back(i);
  }
  std::stable_sort(order.begin(), order.end(), [&](unsigned a, unsigned b) {
    return shdrs[a].sh_offset < shdrs[b].sh_offset;
  });

  // Move the sections in the way; a note or interpreter segment that the
  // block cuts through moves whole, so the block grows to its end.
  uint64_t needEnd = newEnd, blockEnd = oldEnd;
  std::vector<unsigned> moving;
  for (;;) {
    moving.clear();
    blockEnd = oldEnd;
    for (unsigned i : order) {
      if (shdrs[i].sh_offset >= needEnd && shdrs[i].sh_offset >= blockEnd)
        break;
      if (!(shdrs[i].sh_flags & SHF_ALLOC) || !isEvictable(i))
        fatal(in.name() + ": no room to add a program header: section '" +
              in.sections()[i].name +
              "' follows the program header table and cannot be moved");
      moving.push_back(i);
      blockEnd = std::max(blockEnd, shdrs[i].sh_offset + shdrs[i].sh_size);
    }
    uint64_t grownEnd = needEnd;
    for (const Phdr &p : phdrs)
      if (p.p_type != PT_LOAD && p.p_type != PT_PHDR && p.p_filesz != 0 &&
          p.p_offset < blockEnd && p.p_offset + p.p_filesz > blockEnd &&
          p.p_offset >= oldEnd)
        grownEnd = std::max(grownEnd, uint64_t(p.p_offset + p.p_filesz));
    if (grownEnd == needEnd)
      break;
    needEnd = grownEnd;
  }
  if (moving.empty())
    return; // the gap after the table already has room

  const Shdr &first = shdrs[moving.front()];
  evicted.offset = first.sh_offset;
  evicted.address = first.sh_addr;
  evicted.size = blockEnd - first.sh_offset;
  for (unsigned i : moving)
    if (shdrs[i].sh_addr - evicted.address != shdrs[i].sh_offset - evicted.offset)
      fatal(in.name() + ": sections after the program header table are not laid out "
                        "contiguously in memory; cannot move them");
  // Empty sections sitting inside the block move with it.
  for (unsigned i = 1; i < inputSectionCount(); ++i)
    if ((shdrs[i].sh_size == 0 || shdrs[i].sh_type == SHT_NOBITS) &&
        (shdrs[i].sh_flags & SHF_ALLOC) && shdrs[i].sh_addr >= evicted.address &&
        shdrs[i].sh_addr < evicted.address + evicted.size)
      moving.push_back(i);
  evicted.sections = moving;

  // Non-loadable segments that cover moved bytes must be wholly inside the
  // block, so they can move with it.
  for (const Phdr &p : phdrs) {
    if (p.p_type == PT_LOAD || p.p_type == PT_PHDR || p.p_filesz == 0)
      continue;
    bool overlaps = p.p_offset < evicted.offset + evicted.size &&
                    p.p_offset + p.p_filesz > evicted.offset;
    bool inside = p.p_offset >= evicted.offset &&
                  p.p_offset + p.p_filesz <= evicted.offset + evicted.size;
    if (overlaps && !inside)
      fatal(in.name() + ": no room to add a program header: a segment of type " +
            hex(p.p_type) + " spans the sections that would have to move");
  }
}

uint64_t ElfEditor::largestDynamicSymbol() const {
  uint64_t largest = 0;
  for (const Section &sec : in.sections())
    if (sec.type() == SHT_DYNSYM && sec.header.sh_entsize == sizeof(Sym))
      for (const Symbol &sym : in.symbols(sec))
        largest = std::max(largest, sym.size);
  return largest;
}

static bool isAddressTag(int64_t tag) {
  switch (tag) {
  case DT_PLTGOT: case DT_HASH: case DT_STRTAB: case DT_SYMTAB: case DT_RELA:
  case DT_INIT: case DT_FINI: case DT_REL: case DT_JMPREL: case DT_INIT_ARRAY:
  case DT_FINI_ARRAY: case DT_PREINIT_ARRAY: case DT_GNU_HASH: case DT_VERSYM:
  case DT_VERDEF: case DT_VERNEED: case DT_RELR:
    return true;
  default:
    return false;
  }
}

void ElfEditor::applyEviction(int64_t delta, int64_t offsetDelta) {
  auto inBlock = [&](uint64_t addr) {
    return addr >= evicted.address && addr < evicted.address + evicted.size;
  };
  std::vector<bool> moved(shdrs.size(), false);
  for (unsigned i : evicted.sections) {
    moved[i] = true;
    shdrs[i].sh_addr += delta;
    if (shdrs[i].sh_type != SHT_NOBITS)
      shdrs[i].sh_offset += offsetDelta;
    summary.movedSections.push_back(in.sections()[i].name);
  }
  for (Phdr &p : phdrs) {
    if (p.p_type == PT_LOAD || p.p_type == PT_PHDR || p.p_filesz == 0)
      continue;
    if (p.p_offset >= evicted.offset && p.p_offset < evicted.offset + evicted.size) {
      p.p_offset += offsetDelta;
      p.p_vaddr += delta;
      p.p_paddr += delta;
    }
  }
  for (Dyn &d : dynamicSlots())
    if (isAddressTag(d.d_tag) && inBlock(d.d_un.d_ptr))
      d.d_un.d_ptr += delta;
  // Symbols defined in moved sections (e.g. crt1's __abi_tag in
  // .note.ABI-tag, section symbols) follow them.
  for (unsigned i = 1; i < inputSectionCount(); ++i) {
    if (shdrs[i].sh_type != SHT_SYMTAB && shdrs[i].sh_type != SHT_DYNSYM)
      continue;
    auto bytes = mutableContents(i);
    size_t count = bytes.size() / sizeof(Sym);
    auto *syms = reinterpret_cast<Sym *>(bytes.data());
    for (size_t k = 0; k < count; ++k) {
      uint16_t shndx = syms[k].st_shndx;
      if (shndx != SHN_UNDEF && shndx < SHN_LORESERVE && shndx < moved.size() && moved[shndx])
        syms[k].st_value += delta;
    }
  }
}

const LayoutSummary &ElfEditor::layout() {
  if (laidOut)
    return summary;
  laidOut = true;
  keptPrefix = image.size();
  if (added.empty() && retiredNames.empty()) {
    summary.outputSize = image.size();
    return summary;
  }

  if (ehdr.e_shstrndx == SHN_UNDEF || ehdr.e_shstrndx >= inputSectionCount())
    fatal(in.name() + ": cannot add sections: the file has no section name table");
  const Shdr &nameTable = shdrs[ehdr.e_shstrndx];
  if (nameTable.sh_type != SHT_STRTAB || (nameTable.sh_flags & SHF_ALLOC))
    fatal(in.name() + ": cannot add sections: the section name table (section " +
          std::to_string(ehdr.e_shstrndx) + ") is not a plain SHT_STRTAB outside the loaded image");
  if (shdrs.size() >= SHN_LORESERVE)
    fatal(in.name() + ": cannot add sections: more than " + std::to_string(SHN_LORESERVE - 1) +
          " sections would need extended section numbering");

  bool needSegment = std::any_of(added.begin(), added.end(),
                                 [](const NewSection &s) { return s.flags & SHF_ALLOC; });
  // Names first: .shstrtab is rewritten after the rest.
  auto oldNames = in.contents(in.sections()[ehdr.e_shstrndx]);
  shstrtab.assign(oldNames.begin(), oldNames.end());
  if (shstrtab.empty() || shstrtab.back() != 0)
    shstrtab.push_back(0);
  for (auto &[index, name] : retiredNames) {
    shdrs[index].sh_name = uint32_t(shstrtab.size());
    shstrtab.insert(shstrtab.end(), name.begin(), name.end());
    shstrtab.push_back(0);
  }
  for (size_t k = 0; k < added.size(); ++k) {
    shdrs[inputSectionCount() + k].sh_name = uint32_t(shstrtab.size());
    shstrtab.insert(shstrtab.end(), added[k].name.begin(), added[k].name.end());
    shstrtab.push_back(0);
  }

  // The old section header table is dropped when it ends the file (the
  // usual case); the new one is written after everything else.
  uint64_t oldShtEnd = ehdr.e_shoff + uint64_t(inputSectionCount()) * sizeof(Shdr);
  if (ehdr.e_shoff != 0 && oldShtEnd == image.size())
    keptPrefix = ehdr.e_shoff;

  uint64_t cursor = keptPrefix;
  if (needSegment) {
    planRoomForProgramHeader();
    uint64_t maxEnd = 0, segAlign = PageSize;
    for (const Phdr &p : phdrs)
      if (p.p_type == PT_LOAD)
        maxEnd = std::max(maxEnd, p.p_vaddr + p.p_memsz);
    for (const NewSection &s : added)
      if (s.flags & SHF_ALLOC)
        segAlign = std::max(segAlign, s.align);
    // Moved sections keep their offset within a page, so their alignment
    // and the segment's offset == address (mod page) both hold.
    uint64_t pageOffset = evicted.size ? evicted.address % PageSize : 0;
    // eu-elflint treats a dynamic relocation as touching [r_offset,
    // r_offset + size of its symbol]; keep that clear of the new read-only
    // segment by leaving a gap as large as the largest dynamic symbol.
    // Address space costs nothing here: the file has no gap.
    uint64_t gap = std::min<uint64_t>(largestDynamicSymbol(), uint64_t(1) << 32);
    uint64_t segAddr = alignTo(maxEnd + gap, segAlign) + pageOffset;
    uint64_t segOffset = alignTo(keptPrefix, segAlign) + pageOffset;
    uint64_t used = 0;
    if (evicted.size) {
      applyEviction(int64_t(segAddr - evicted.address), int64_t(segOffset - evicted.offset));
      used = evicted.size;
    }
    for (size_t k = 0; k < added.size(); ++k) {
      if (!(added[k].flags & SHF_ALLOC))
        continue;
      Shdr &hdr = shdrs[inputSectionCount() + k];
      uint64_t addr = alignTo(segAddr + used, added[k].align);
      hdr.sh_addr = addr;
      hdr.sh_offset = segOffset + (addr - segAddr);
      used = addr - segAddr + added[k].data.size();
    }
    Phdr load{};
    load.p_type = PT_LOAD;
    load.p_flags = PF_R;
    load.p_offset = segOffset;
    load.p_vaddr = segAddr;
    load.p_paddr = segAddr;
    load.p_filesz = used;
    load.p_memsz = used;
    load.p_align = segAlign;
    // PT_LOAD entries must stay sorted by address: insert after the last.
    size_t lastLoad = 0;
    for (size_t i = 0; i < phdrs.size(); ++i)
      if (phdrs[i].p_type == PT_LOAD)
        lastLoad = i;
    if (growHeaderSegmentBy) {
      phdrs[growHeaderSegment].p_filesz += growHeaderSegmentBy;
      phdrs[growHeaderSegment].p_memsz += growHeaderSegmentBy;
    }
    phdrs.insert(phdrs.begin() + lastLoad + 1, load);
    for (Phdr &p : phdrs)
      if (p.p_type == PT_PHDR) {
        p.p_filesz += sizeof(Phdr);
        p.p_memsz += sizeof(Phdr);
      }
    ehdr.e_phnum = uint16_t(phdrs.size());
    summary.addedSegment = true;
    summary.segmentOffset = segOffset;
    summary.segmentAddress = segAddr;
    summary.segmentSize = used;
    cursor = segOffset + used;
  }

  for (size_t k = 0; k < added.size(); ++k) {
    if (added[k].flags & SHF_ALLOC)
      continue;
    Shdr &hdr = shdrs[inputSectionCount() + k];
    cursor = alignTo(cursor, added[k].align);
    hdr.sh_offset = cursor;
    cursor += added[k].data.size();
  }
  shstrtabOffset = cursor;
  Shdr &names = shdrs[ehdr.e_shstrndx];
  names.sh_offset = shstrtabOffset;
  names.sh_size = shstrtab.size();
  cursor += shstrtab.size();
  shtOffset = alignTo(cursor, 8);
  ehdr.e_shoff = shtOffset;
  ehdr.e_shnum = uint16_t(shdrs.size());
  summary.outputSize = shtOffset + shdrs.size() * sizeof(Shdr);
  return summary;
}

uint64_t ElfEditor::sectionAddress(unsigned index) const {
  if (!laidOut || index >= shdrs.size())
    fatal(in.name() + ": internal: section address asked before layout", ExitInternal);
  return shdrs[index].sh_addr;
}

std::vector<uint8_t> ElfEditor::serialize() {
  layout();
  std::vector<uint8_t> out(summary.outputSize, 0);
  std::memcpy(out.data(), image.data(), std::min<uint64_t>(keptPrefix, image.size()));

  if (evicted.size) {
    // The block moves to the new segment; its old place is zeroed and the
    // grown program header table is written over its start below.
    std::memcpy(out.data() + summary.segmentOffset, image.data() + evicted.offset,
                evicted.size);
    std::memset(out.data() + evicted.offset, 0, evicted.size);
  }
  for (size_t k = 0; k < added.size(); ++k) {
    const Shdr &hdr = shdrs[inputSectionCount() + k];
    if (!added[k].data.empty())
      std::memcpy(out.data() + hdr.sh_offset, added[k].data.data(), added[k].data.size());
  }
  if (!added.empty())
    std::memcpy(out.data() + shstrtabOffset, shstrtab.data(), shstrtab.size());

  // Headers are always encoded from the model, also for an unedited file.
  std::memcpy(out.data(), &ehdr, sizeof(ehdr));
  if (!phdrs.empty())
    std::memcpy(out.data() + ehdr.e_phoff, phdrs.data(), phdrs.size() * sizeof(Phdr));
  if (ehdr.e_shoff != 0 && !shdrs.empty())
    std::memcpy(out.data() + ehdr.e_shoff, shdrs.data(), shdrs.size() * sizeof(Shdr));
  return out;
}

} // namespace elfopt
