//===- ElfEditor.cpp ------------------------------------------------------===//
//
// The editor's model is the input's headers plus the sections added to it;
// layout() decides where added and moved sections go (see ElfEditor.h for
// the rules) and serialize() writes the bytes that plan describes.
//
//===----------------------------------------------------------------------===//
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

void ElfEditor::renameSection(unsigned index, const std::string &newName) {
  if (laidOut || index == 0 || index >= inputSectionCount())
    fatal(in.name() + ": internal: bad renameSection(" + std::to_string(index) + ")", ExitInternal);
  retiredNames[index] = newName;
}

void ElfEditor::renumberRelocationSymbols(unsigned symtab, uint64_t symbols,
                                          const std::function<uint32_t(uint32_t)> &renumber) {
  for (const Section &s : in.sections()) {
    if (s.type() != SHT_RELA || s.header.sh_link != symtab)
      continue;
    auto bytes = mutableContents(s.index);
    // r_info at offset 8 of an Elf64_Rela: symbol << 32 | type.
    for (uint64_t off = 0; off + sizeof(ELFT::Rela) <= bytes.size(); off += sizeof(ELFT::Rela)) {
      uint64_t info;
      std::memcpy(&info, bytes.data() + off + 8, 8);
      uint64_t symbol = info >> 32;
      if (symbol >= symbols)
        fatal(in.where(s, off) + ": relocation against symbol " + std::to_string(symbol) + ", past the " +
              std::to_string(symbols) + " dynamic symbols");
      info = (uint64_t(renumber(uint32_t(symbol))) << 32) | (info & 0xffffffff);
      std::memcpy(bytes.data() + off + 8, &info, 8);
    }
  }
}

void ElfEditor::setSectionLink(unsigned index, unsigned link) {
  if (index == 0 || index >= inputSectionCount() || link >= shdrs.size())
    fatal(in.name() + ": internal: bad setSectionLink(" + std::to_string(index) + ")", ExitInternal);
  shdrs[index].sh_link = link;
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
  // A writable section would need a PF_W segment with its own relocations
  // and a TLS one a PT_TLS: not made here, so refuse rather than map it wrong.
  if ((section.flags & SHF_ALLOC) && (section.flags & (SHF_WRITE | SHF_TLS)))
    fatal(in.name() + ": cannot add section '" + section.name + "': it is " +
              ((section.flags & SHF_TLS) ? "thread-local" : "writable") +
              "; new loadable sections may only be read-only or executable",
          ExitUsage);
  if (section.align == 0 || (section.align & (section.align - 1)))
    fatal(in.name() + ": alignment " + std::to_string(section.align) + " of new section '" +
              section.name + "' is not a power of two",
          ExitUsage);
  if (section.at && (!(section.flags & SHF_ALLOC) || *section.at % section.align))
    fatal(in.name() + ": internal: section '" + section.name + "' placed at " + hex(*section.at) +
              " is not allocated or not aligned",
          ExitInternal);
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
  return elfopt::spareDynamicSlots(const_cast<ElfEditor *>(this)->dynamicSlots());
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
    // .elfopt.old.*: a table an earlier run retired (zeroed, found by nothing).
    return name == ".interp" || ((s.sh_flags & SHF_ALLOC) && name.rfind(".elfopt.old.", 0) == 0);
  default:
    return false;
  }
}

// The start of errors about growing the table by \p entries.
static std::string noRoomFor(unsigned entries) {
  return entries == 1 ? "no room to add a program header"
                      : "no room to add " + std::to_string(entries) + " program headers";
}

// The table must stay inside the PT_LOAD that maps it. When that segment
// ends within the new entries (a small first segment holding just the
// headers, as Free Pascal links them), it may grow by the few bytes if
// nothing else lives there in the file or in memory. Returns the growth and
// sets \p segment to that PT_LOAD's index.
uint64_t ElfEditor::headerSegmentGrowth(uint64_t oldEnd, uint64_t newEnd, unsigned entries,
                                        size_t &segment) const {
  uint64_t tableStart = ehdr.e_phoff;
  const Phdr *containing = nullptr;
  for (const Phdr &p : phdrs)
    if (p.p_type == PT_LOAD && p.p_offset <= tableStart &&
        oldEnd <= p.p_offset + p.p_filesz) {
      containing = &p;
      break;
    }
  if (!containing)
    fatal(in.name() + ": the program header table (offset " + hex(tableStart) +
          ") is not inside a loadable segment");
  segment = containing - phdrs.data();
  uint64_t loadEnd = containing->p_offset + containing->p_filesz;
  if (newEnd <= loadEnd)
    return 0;
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
    fatal(in.name() + ": " + noRoomFor(entries) + ": the segment holding the program header "
          "table ends at " + hex(loadEnd) + " and cannot grow");
  return growth;
}

// The sections with file data that must leave [oldEnd, newEnd), in file
// order, and \p blockEnd, the end of the block they form. A note or
// interpreter segment that the block cuts through moves whole, so the block
// grows to its end.
std::vector<unsigned> ElfEditor::sectionsInTheWay(uint64_t oldEnd, uint64_t newEnd,
                                                  unsigned entries, uint64_t &blockEnd) const {
  std::vector<unsigned> order;
  for (unsigned i = 1; i < inputSectionCount(); ++i) {
    const Shdr &s = shdrs[i];
    if (s.sh_type == SHT_NOBITS || s.sh_type == SHT_NULL || s.sh_size == 0)
      continue;
    if (s.sh_offset < oldEnd && s.sh_offset + s.sh_size > ehdr.e_phoff)
      fatal(in.name() + ": section '" + in.sections()[i].name +
            "' overlaps the program header table");
    if (s.sh_offset >= oldEnd)
      order.push_back(i);
  }
  std::stable_sort(order.begin(), order.end(), [&](unsigned a, unsigned b) {
    return shdrs[a].sh_offset < shdrs[b].sh_offset;
  });

  uint64_t needEnd = newEnd;
  std::vector<unsigned> moving;
  for (;;) {
    moving.clear();
    blockEnd = oldEnd;
    for (unsigned i : order) {
      if (shdrs[i].sh_offset >= needEnd && shdrs[i].sh_offset >= blockEnd)
        break;
      if (!(shdrs[i].sh_flags & SHF_ALLOC) || !isEvictable(i))
        fatal(in.name() + ": " + noRoomFor(entries) + ": section '" + in.sections()[i].name +
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
      return moving;
    needEnd = grownEnd;
  }
}

// Non-loadable segments that cover moved bytes must be wholly inside the
// block, so they can move with it.
void ElfEditor::checkEvictable(const Evicted &evicted, unsigned entries) const {
  for (const Phdr &p : phdrs) {
    if (p.p_type == PT_LOAD || p.p_type == PT_PHDR || p.p_filesz == 0)
      continue;
    bool overlaps = p.p_offset < evicted.offset + evicted.size &&
                    p.p_offset + p.p_filesz > evicted.offset;
    bool inside = p.p_offset >= evicted.offset &&
                  p.p_offset + p.p_filesz <= evicted.offset + evicted.size;
    if (overlaps && !inside)
      fatal(in.name() + ": " + noRoomFor(entries) + ": a segment of type " + hex(p.p_type) +
            " spans the sections that would have to move");
  }
}

// Plans only: which PT_LOAD grows and which sections move; placeSegments()
// carries the plan out.
ElfEditor::HeaderRoom ElfEditor::planRoomForProgramHeaders(unsigned entries) const {
  HeaderRoom r;
  uint64_t oldEnd = ehdr.e_phoff + uint64_t(ehdr.e_phnum) * sizeof(Phdr);
  uint64_t newEnd = oldEnd + uint64_t(entries) * sizeof(Phdr);
  r.growBy = headerSegmentGrowth(oldEnd, newEnd, entries, r.growSegment);
  uint64_t blockEnd = oldEnd;
  std::vector<unsigned> moving = sectionsInTheWay(oldEnd, newEnd, entries, blockEnd);
  if (moving.empty())
    return r; // the gap after the table already has room

  Evicted &evicted = r.evicted;
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
  checkEvictable(evicted, entries);
  return r;
}

uint64_t ElfEditor::largestDynamicSymbol() const {
  uint64_t largest = 0;
  for (const Section &sec : in.sections())
    if (sec.type() == SHT_DYNSYM && sec.header.sh_entsize == sizeof(Sym))
      for (const Symbol &sym : in.symbols(sec))
        largest = std::max(largest, sym.size);
  return largest;
}

void ElfEditor::applyEviction(int64_t delta, int64_t offsetDelta) {
  const Evicted &evicted = room.evicted;
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
    if (isDynamicAddressTag(d.d_tag) && inBlock(d.d_un.d_ptr))
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

// Names first: .shstrtab is rewritten after the rest.
void ElfEditor::nameSections() {
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
}

// One segment per kind of allocated section, read-only before code.
std::vector<ElfEditor::SegmentPlan> ElfEditor::planSegments() const {
  SegmentPlan data{PF_R, {}}, code{PF_R | PF_X, {}};
  for (unsigned k = 0; k < added.size(); ++k)
    if ((added[k].flags & SHF_ALLOC) && !added[k].at)
      ((added[k].flags & SHF_EXECINSTR) ? code : data).sections.push_back(k);
  std::vector<SegmentPlan> plans;
  for (SegmentPlan *p : {&data, &code})
    if (!p->sections.empty())
      plans.push_back(std::move(*p));
  return plans;
}

// Places one new segment at or after (\p address, \p offset) in memory and
// in the file, on a page of its own: the moved block first if it goes here,
// then the plan's sections.
AddedSegment ElfEditor::placeSegment(const SegmentPlan &plan, uint64_t address, uint64_t offset,
                                     uint64_t pageOffset, bool holdsEvicted) {
  uint64_t segAlign = PageSize;
  for (unsigned k : plan.sections)
    segAlign = std::max(segAlign, added[k].align);
  uint64_t segAddr = alignTo(address, segAlign) + pageOffset;
  uint64_t segOffset = alignTo(offset, segAlign) + pageOffset;
  uint64_t used = 0;
  if (holdsEvicted) {
    applyEviction(int64_t(segAddr - room.evicted.address),
                  int64_t(segOffset - room.evicted.offset));
    evictedTo = segOffset;
    used = room.evicted.size;
  }
  for (unsigned k : plan.sections) {
    Shdr &hdr = shdrs[inputSectionCount() + k];
    uint64_t addr = alignTo(segAddr + used, added[k].align);
    hdr.sh_addr = addr;
    hdr.sh_offset = segOffset + (addr - segAddr);
    used = addr - segAddr + added[k].data.size();
  }
  return {plan.flags, segOffset, segAddr, used, segAlign};
}

// New PT_LOAD entries go after the last one (they must stay sorted by
// address); PT_PHDR and, if planned, the PT_LOAD holding the table grow
// with it.
void ElfEditor::addProgramHeaders(const std::vector<AddedSegment> &segments) {
  size_t lastLoad = 0;
  for (size_t i = 0; i < phdrs.size(); ++i)
    if (phdrs[i].p_type == PT_LOAD)
      lastLoad = i;
  if (room.growBy) {
    phdrs[room.growSegment].p_filesz += room.growBy;
    phdrs[room.growSegment].p_memsz += room.growBy;
  }
  std::vector<Phdr> loads;
  for (const AddedSegment &seg : segments) {
    Phdr load{};
    load.p_type = PT_LOAD;
    load.p_flags = seg.flags;
    load.p_offset = seg.offset;
    load.p_vaddr = seg.address;
    load.p_paddr = seg.address;
    load.p_filesz = seg.size;
    load.p_memsz = seg.size;
    load.p_align = seg.align;
    loads.push_back(load);
  }
  phdrs.insert(phdrs.begin() + lastLoad + 1, loads.begin(), loads.end());
  for (Phdr &p : phdrs)
    if (p.p_type == PT_PHDR) {
      p.p_filesz += loads.size() * sizeof(Phdr);
      p.p_memsz += loads.size() * sizeof(Phdr);
    }
  ehdr.e_phnum = uint16_t(phdrs.size());
}

// The new segments, above every existing one and after the kept bytes of
// the file; returns the file offset where they end. Sections moved out of
// the way of the program header table go first into the first segment: the
// read-only one, or the code one when only code is added (a read-only
// segment of their own would take a program header that static
// executables have no room for).
uint64_t ElfEditor::placeSegments(const std::vector<SegmentPlan> &plans) {
  room = planRoomForProgramHeaders(unsigned(plans.size()));
  uint64_t maxEnd = 0;
  for (const Phdr &p : phdrs)
    if (p.p_type == PT_LOAD)
      maxEnd = std::max(maxEnd, p.p_vaddr + p.p_memsz);
  // eu-elflint treats a dynamic relocation as touching [r_offset,
  // r_offset + size of its symbol]; keep that clear of the new segments by
  // leaving a gap as large as the largest dynamic symbol.
  // Address space costs nothing here: the file has no gap.
  uint64_t gap = std::min<uint64_t>(largestDynamicSymbol(), uint64_t(1) << 32);
  uint64_t address = maxEnd + gap, offset = keptPrefix;
  for (size_t i = 0; i < plans.size(); ++i) {
    // Moved sections keep their offset within a page, so their alignment
    // and the segment's offset == address (mod page) both hold.
    bool holdsEvicted = i == 0 && room.evicted.size;
    uint64_t pageOffset = holdsEvicted ? room.evicted.address % PageSize : 0;
    AddedSegment seg = placeSegment(plans[i], address, offset, pageOffset, holdsEvicted);
    summary.segments.push_back(seg);
    address = seg.address + seg.size;
    offset = seg.offset + seg.size;
  }
  addProgramHeaders(summary.segments);
  const AddedSegment &first = summary.segments.front();
  summary.addedSegment = true;
  summary.segmentOffset = first.offset;
  summary.segmentAddress = first.address;
  summary.segmentSize = first.size;
  return offset;
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
  nameSections();

  // The old section header table is dropped when it ends the file (the
  // usual case); the new one is written after everything else.
  uint64_t oldShtEnd = ehdr.e_shoff + uint64_t(inputSectionCount()) * sizeof(Shdr);
  if (ehdr.e_shoff != 0 && oldShtEnd == image.size())
    keptPrefix = ehdr.e_shoff;

  uint64_t cursor = keptPrefix;
  std::vector<SegmentPlan> plans = planSegments();
  if (!plans.empty())
    cursor = placeSegments(plans);

  for (size_t k = 0; k < added.size(); ++k)
    if (added[k].at)
      placeAt(k);
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

// A section placed at a fixed address takes loaded bytes no section holds:
// inside one PT_LOAD's file image (executable if it is code), clear of every
// allocated section as it now stands and of the moved block.
void ElfEditor::placeAt(size_t k) {
  const NewSection &section = added[k];
  uint64_t begin = *section.at, end = begin + section.data.size();
  auto refuse = [&](const std::string &why) {
    fatal(in.name() + ": internal: cannot place section '" + section.name + "' at " + hex(begin) + ": " + why,
          ExitInternal);
  };
  const Phdr *home = nullptr;
  for (const Phdr &p : phdrs)
    if (p.p_type == PT_LOAD && p.p_vaddr <= begin && end <= p.p_vaddr + p.p_filesz)
      home = &p;
  if (!home)
    refuse("not within the file image of one loadable segment");
  if ((section.flags & SHF_EXECINSTR) && !(home->p_flags & PF_X))
    refuse("code in a segment that is not executable");
  for (unsigned i = 1; i < shdrs.size(); ++i) {
    const Shdr &other = shdrs[i];
    bool self = i == inputSectionCount() + k;
    bool placed = i < inputSectionCount() || added[i - inputSectionCount()].at;
    if (self || !placed || !(other.sh_flags & SHF_ALLOC) || other.sh_size == 0)
      continue;
    uint64_t otherBegin = i < inputSectionCount() ? other.sh_addr : *added[i - inputSectionCount()].at;
    if (begin < otherBegin + other.sh_size && otherBegin < end)
      refuse("it overlaps section " + std::to_string(i));
  }
  if (room.evicted.size && begin < room.evicted.address + room.evicted.size && room.evicted.address < end)
    refuse("it overlaps the sections moved for the program headers");
  Shdr &hdr = shdrs[inputSectionCount() + k];
  hdr.sh_addr = begin;
  hdr.sh_offset = home->p_offset + (begin - home->p_vaddr);
}

uint64_t ElfEditor::sectionAddress(unsigned index) const {
  if (!laidOut || index >= shdrs.size())
    fatal(in.name() + ": internal: section address asked before layout", ExitInternal);
  return shdrs[index].sh_addr;
}

uint64_t ElfEditor::sectionSize(unsigned index) const {
  if (index >= shdrs.size())
    fatal(in.name() + ": internal: size of section " + std::to_string(index) + " asked", ExitInternal);
  return shdrs[index].sh_size;
}

std::vector<uint8_t> ElfEditor::serialize() {
  layout();
  std::vector<uint8_t> out(summary.outputSize, 0);
  std::memcpy(out.data(), image.data(), std::min<uint64_t>(keptPrefix, image.size()));

  if (const Evicted &evicted = room.evicted; evicted.size) {
    // The block moves to the read-only segment; its old place is zeroed and
    // the grown program header table is written over its start below.
    std::memcpy(out.data() + evictedTo, image.data() + evicted.offset, evicted.size);
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
