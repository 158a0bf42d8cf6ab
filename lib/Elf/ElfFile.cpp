//===- ElfFile.cpp - reading and validating an ELF64 x86-64 file ---------===//
//
// Checks are ordered from the outside in (size, ident, header, header tables,
// sections, names) so that the first failing one names the real problem:
// a truncated file is reported as truncated, not as a bad section name.
//
//===----------------------------------------------------------------------===//
#include "elfopt/Elf/ElfFile.h"
#include "elfopt/Support/Diagnostics.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/Format.h"

#include <algorithm>
#include <cstring>

using namespace llvm;
using namespace llvm::ELF;

namespace elfopt {

const char *binaryKindName(BinaryKind kind) {
  switch (kind) {
  case BinaryKind::Executable: return "executable";
  case BinaryKind::PieExecutable: return "pie-executable";
  case BinaryKind::SharedLibrary: return "shared-library";
  case BinaryKind::StaticExecutable: return "static-executable";
  case BinaryKind::StaticPie: return "static-pie";
  case BinaryKind::Relocatable: return "relocatable";
  case BinaryKind::Other: return "other";
  }
  return "other";
}

static std::string machineName(uint16_t machine) {
  switch (machine) {
  case EM_386: return "EM_386 (i386)";
  case EM_ARM: return "EM_ARM";
  case EM_AARCH64: return "EM_AARCH64 (AArch64)";
  case EM_RISCV: return "EM_RISCV";
  case EM_PPC64: return "EM_PPC64";
  case EM_S390: return "EM_S390";
  case EM_MIPS: return "EM_MIPS";
  case EM_LOONGARCH: return "EM_LOONGARCH";
  case EM_BPF: return "EM_BPF";
  default: return "machine " + std::to_string(machine);
  }
}

std::unique_ptr<ElfFile> ElfFile::open(const std::string &path) {
  auto bufferOrErr = MemoryBuffer::getFile(path, /*IsText=*/false,
                                           /*RequiresNullTerminator=*/false);
  if (!bufferOrErr)
    fatal(path + ": cannot open: " + bufferOrErr.getError().message());
  return fromBuffer(path, std::move(*bufferOrErr));
}

std::unique_ptr<ElfFile> ElfFile::fromBytes(const std::string &name, std::span<const uint8_t> bytes) {
  return fromBuffer(name, MemoryBuffer::getMemBufferCopy(
                              StringRef(reinterpret_cast<const char *>(bytes.data()), bytes.size()), name));
}

std::unique_ptr<ElfFile> ElfFile::viewOf(const std::string &name, std::span<const uint8_t> bytes) {
  return fromBuffer(name, MemoryBuffer::getMemBuffer(StringRef(reinterpret_cast<const char *>(bytes.data()), bytes.size()),
                                                     name, /*RequiresNullTerminator=*/false));
}

std::unique_ptr<ElfFile> ElfFile::fromBuffer(const std::string &name,
                                             std::unique_ptr<MemoryBuffer> buffer) {
  std::unique_ptr<ElfFile> file(new ElfFile);
  file->fileName = name;
  file->buffer = std::move(buffer);
  file->validate();
  return file;
}

std::span<const uint8_t> ElfFile::bytes() const {
  return {reinterpret_cast<const uint8_t *>(buffer->getBufferStart()),
          buffer->getBufferSize()};
}

// Unwraps a libObject result or stops with the file name attached.
template <typename T>
static T check(Expected<T> value, const std::string &context) {
  if (!value)
    fatal(context + ": " + toString(value.takeError()));
  return std::move(*value);
}

static bool rangeInFile(uint64_t offset, uint64_t size, uint64_t fileSize) {
  return offset <= fileSize && size <= fileSize - offset;
}

// Long on purpose: one flat list of checks in the order the file is laid out
// (header, program headers, sections, tables), each with its own message;
// split up, the order in which later checks may rely on earlier ones is lost.
void ElfFile::validate() {
  const auto &n = fileName;
  auto data = bytes();
  uint64_t size = data.size();
  if (size == 0)
    fatal(n + ": file is empty");
  if (size < 4 || std::memcmp(data.data(), ElfMagic, 4) != 0)
    fatal(n + ": not an ELF file (no ELF magic bytes)");
  if (size < EI_NIDENT)
    fatal(n + ": truncated ELF file: " + std::to_string(size) +
          " bytes, the ELF identification alone takes 16");
  if (data[EI_CLASS] == ELFCLASS32)
    fatal(n + ": 32-bit ELF (ELFCLASS32) is not supported: elfopt handles x86-64 ELF64 only");
  if (data[EI_CLASS] != ELFCLASS64)
    fatal(n + ": invalid ELF class " + std::to_string(data[EI_CLASS]));
  if (data[EI_DATA] != ELFDATA2LSB)
    fatal(n + ": big-endian ELF is not supported: elfopt handles x86-64 only");
  if (size < sizeof(Ehdr))
    fatal(n + ": truncated ELF header: file has " + std::to_string(size) +
          " bytes, the ELF64 header takes 64");

  ehdr = reinterpret_cast<const Ehdr *>(data.data());
  if (ehdr->e_machine != EM_X86_64)
    fatal(n + ": unsupported " + machineName(ehdr->e_machine) +
          ": elfopt handles x86-64 (EM_X86_64) only");
  if (ehdr->e_phnum != 0 && ehdr->e_phentsize != sizeof(Phdr))
    fatal(n + ": e_phentsize is " + std::to_string(ehdr->e_phentsize) + ", expected 56");
  if (ehdr->e_shoff != 0 && ehdr->e_shentsize != sizeof(Shdr))
    fatal(n + ": e_shentsize is " + std::to_string(ehdr->e_shentsize) + ", expected 64");
  if (!rangeInFile(ehdr->e_phoff, uint64_t(ehdr->e_phnum) * sizeof(Phdr), size))
    fatal(n + ": program header table (offset " + hex(ehdr->e_phoff) + ", " +
          std::to_string(ehdr->e_phnum * sizeof(Phdr)) +
          " bytes) runs past the end of the file (" + std::to_string(size) + " bytes)");
  if (ehdr->e_shoff != 0 && !rangeInFile(ehdr->e_shoff, sizeof(Shdr), size))
    fatal(n + ": section header table (offset " + hex(ehdr->e_shoff) +
          ") starts past the end of the file (" + std::to_string(size) + " bytes)");
  if (ehdr->e_shoff % alignof(uint64_t) != 0 || ehdr->e_phoff % alignof(uint64_t) != 0)
    fatal(n + ": misaligned header table (e_phoff " + hex(ehdr->e_phoff) + ", e_shoff " +
          hex(ehdr->e_shoff) + ")");

  if (ehdr->e_shoff != 0 && ehdr->e_shnum != 0 &&
      !rangeInFile(ehdr->e_shoff, uint64_t(ehdr->e_shnum) * sizeof(Shdr), size))
    fatal(n + ": section header table (offset " + hex(ehdr->e_shoff) + ", " +
          std::to_string(uint64_t(ehdr->e_shnum) * sizeof(Shdr)) +
          " bytes) runs past the end of the file (" + std::to_string(size) + " bytes)");

  elf.emplace(check(object::ELF64LEFile::create(buffer->getBuffer()), n));

  auto shdrs = check(elf->sections(), n);
  if (!rangeInFile(ehdr->e_shoff, shdrs.size() * sizeof(Shdr), size))
    fatal(n + ": section header table (offset " + hex(ehdr->e_shoff) + ", " +
          std::to_string(shdrs.size() * sizeof(Shdr)) +
          " bytes) runs past the end of the file (" + std::to_string(size) + " bytes)");
  uint32_t shstrndx = ehdr->e_shstrndx == SHN_XINDEX && !shdrs.empty() ? shdrs[0].sh_link
                                                                        : ehdr->e_shstrndx;
  if (shstrndx != SHN_UNDEF && shstrndx >= shdrs.size())
    fatal(n + ": section name table index (e_shstrndx) " + std::to_string(shstrndx) +
          " is out of range: the file has " + std::to_string(shdrs.size()) + " sections");

  auto rawPhdrs = check(elf->program_headers(), n);
  phdrs.assign(rawPhdrs.begin(), rawPhdrs.end());
  for (size_t i = 0; i < phdrs.size(); ++i) {
    const Phdr &p = phdrs[i];
    if (p.p_type != PT_NULL && !rangeInFile(p.p_offset, p.p_filesz, size))
      fatal(n + ": program header " + std::to_string(i) + " (offset " + hex(p.p_offset) +
            ", size " + hex(p.p_filesz) + ") runs past the end of the file (" +
            std::to_string(size) + " bytes)");
  }

  // Section names come last: reading them needs a sane .shstrtab.
  for (size_t i = 0; i < shdrs.size(); ++i) {
    const Shdr &s = shdrs[i];
    if (i != 0 && s.sh_type != SHT_NOBITS && s.sh_type != SHT_NULL &&
        !rangeInFile(s.sh_offset, s.sh_size, size))
      fatal(n + ": section header " + std::to_string(i) + " (offset " + hex(s.sh_offset) +
            ", size " + hex(s.sh_size) + ") points past the end of the file (" +
            std::to_string(size) + " bytes)");
  }
  // gABI: SHF_COMPRESSED cannot be used with SHF_ALLOC. Tools that
  // decompress every compressed section (LLVM's DWARF reader does) must not
  // be handed a loaded table that claims to be compressed.
  for (size_t i = 1; i < shdrs.size(); ++i)
    if ((shdrs[i].sh_flags & SHF_COMPRESSED) && (shdrs[i].sh_flags & SHF_ALLOC))
      fatal(n + ": section header " + std::to_string(i) +
            " is both loaded and compressed (SHF_ALLOC with SHF_COMPRESSED), which ELF forbids");
  // Sections must not share file bytes: every later pass assumes a byte of
  // the file belongs to at most one section.
  std::vector<const Shdr *> withData;
  for (size_t i = 1; i < shdrs.size(); ++i)
    if (shdrs[i].sh_type != SHT_NOBITS && shdrs[i].sh_type != SHT_NULL && shdrs[i].sh_size != 0)
      withData.push_back(&shdrs[i]);
  std::sort(withData.begin(), withData.end(), [](const Shdr *a, const Shdr *b) {
    return a->sh_offset < b->sh_offset;
  });
  for (size_t k = 1; k < withData.size(); ++k)
    if (withData[k]->sh_offset < withData[k - 1]->sh_offset + withData[k - 1]->sh_size)
      fatal(n + ": sections " + std::to_string(withData[k - 1] - shdrs.data()) + " and " +
            std::to_string(withData[k] - shdrs.data()) + " overlap in the file (offsets " +
            hex(withData[k - 1]->sh_offset) + " and " + hex(withData[k]->sh_offset) + ")");
  // Loadable segments: sorted by address and not overlapping in memory.
  const Phdr *previousLoad = nullptr;
  for (const Phdr &p : phdrs) {
    if (p.p_type != PT_LOAD)
      continue;
    if (p.p_memsz < p.p_filesz)
      fatal(n + ": a PT_LOAD segment at " + hex(p.p_vaddr) + " is smaller in memory than in the file");
    // x86-64 user space ends below 2^47 (2^56 with 5-level paging).
    constexpr uint64_t AddressSpaceEnd = uint64_t(1) << 56;
    if (p.p_vaddr >= AddressSpaceEnd || p.p_memsz > AddressSpaceEnd - p.p_vaddr)
      fatal(n + ": a PT_LOAD segment at " + hex(p.p_vaddr) + " of size " + hex(p.p_memsz) +
            " reaches beyond the x86-64 address space");
    if (previousLoad && p.p_vaddr < previousLoad->p_vaddr + previousLoad->p_memsz)
      fatal(n + ": PT_LOAD segments at " + hex(previousLoad->p_vaddr) + " and " + hex(p.p_vaddr) +
            " overlap or are not sorted by address");
    previousLoad = &p;
  }
  sectionList.reserve(shdrs.size());
  for (size_t i = 0; i < shdrs.size(); ++i) {
    Section sec;
    sec.index = unsigned(i);
    sec.header = shdrs[i];
    if (i != 0)
      sec.name = check(elf->getSectionName(shdrs[i]),
                       n + ": section header " + std::to_string(i)).str();
    sectionList.push_back(std::move(sec));
  }
}

const Section *ElfFile::findSection(std::string_view name) const {
  for (const Section &s : sectionList)
    if (s.index != 0 && s.name == name)
      return &s;
  return nullptr;
}

const Section *ElfFile::findLinkedSection(uint32_t type, unsigned link) const {
  for (const Section &s : sectionList)
    if (s.type() == type && s.header.sh_link == link)
      return &s;
  return nullptr;
}

bool isDynamicStringTag(int64_t tag) {
  // DT_CONFIG, DT_DEPAUDIT, DT_AUDIT by value: LLVM's enum does not name them.
  constexpr int64_t DtConfig = 0x6ffffefa, DtDepaudit = 0x6ffffefb, DtAudit = 0x6ffffefc;
  switch (tag) {
  case DT_NEEDED: case DT_SONAME: case DT_RPATH: case DT_RUNPATH: case DT_AUXILIARY:
  case DT_FILTER: case DtConfig: case DtDepaudit: case DtAudit:
    return true;
  default:
    return false;
  }
}

bool isDynamicAddressTag(int64_t tag) {
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

const Section *ElfFile::findSectionOfType(uint32_t type) const {
  for (const Section &s : sectionList)
    if (s.index != 0 && s.type() == type)
      return &s;
  return nullptr;
}

std::span<const uint8_t> ElfFile::contents(const Section &section) const {
  if (!section.hasFileData() || section.type() == SHT_NULL)
    return {};
  // validate() checked every section with bytes; an empty one may still
  // claim any offset.
  auto all = bytes();
  if (section.offset() > all.size() || section.size() > all.size() - section.offset())
    return {};
  return all.subspan(section.offset(), section.size());
}

std::optional<uint64_t> ElfFile::offsetOfAddress(uint64_t addr, uint64_t size) const {
  for (const Phdr &p : phdrs) {
    if (p.p_type != PT_LOAD)
      continue;
    if (addr >= p.p_vaddr && addr - p.p_vaddr <= p.p_filesz &&
        size <= p.p_filesz - (addr - p.p_vaddr))
      return p.p_offset + (addr - p.p_vaddr);
  }
  return std::nullopt;
}

std::optional<uint64_t> ElfFile::wordAt(uint64_t addr) const {
  auto offset = offsetOfAddress(addr, 8);
  if (!offset)
    return std::nullopt;
  uint64_t v;
  std::memcpy(&v, bytes().data() + *offset, 8);
  return v;
}

std::vector<Symbol> ElfFile::symbols(const Section &symtab) const {
  const Shdr &hdr = symtab.header;
  if (hdr.sh_entsize != sizeof(Sym))
    fatal(where(symtab) + ": symbol table entry size is " + std::to_string(hdr.sh_entsize) +
          ", expected 24");
  auto syms = check(elf->symbols(&hdr), where(symtab));
  auto strtab = check(elf->getStringTableForSymtab(hdr), where(symtab));
  std::vector<Symbol> out;
  out.reserve(syms.size());
  for (const Sym &s : syms) {
    Symbol sym;
    if (s.st_name >= strtab.size())
      fatal(where(symtab) + ": symbol name offset " + hex(s.st_name) +
            " is past the end of the string table");
    sym.name = StringRef(strtab.data() + s.st_name).str();
    sym.value = s.st_value;
    sym.size = s.st_size;
    sym.type = s.getType();
    sym.binding = s.getBinding();
    sym.other = s.st_other;
    sym.shndx = s.st_shndx;
    out.push_back(std::move(sym));
  }
  return out;
}

const Phdr *ElfFile::findSegment(uint32_t type) const {
  for (const Phdr &p : phdrs)
    if (p.p_type == type)
      return &p;
  return nullptr;
}

std::vector<Dyn> ElfFile::dynamicSlots() const {
  const Phdr *dyn = findSegment(PT_DYNAMIC);
  if (!dyn)
    return {};
  size_t count = dyn->p_filesz / sizeof(Dyn);
  std::vector<Dyn> out(count);
  if (count)
    std::memcpy(out.data(), bytes().data() + dyn->p_offset, count * sizeof(Dyn));
  return out;
}

unsigned spareDynamicSlots(std::span<const Dyn> slots) {
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

unsigned ElfFile::spareDynamicSlots() const { return elfopt::spareDynamicSlots(dynamicSlots()); }

std::vector<Dyn> ElfFile::dynamicEntries() const {
  std::vector<Dyn> out = dynamicSlots();
  for (size_t i = 0; i < out.size(); ++i)
    if (out[i].d_tag == DT_NULL) {
      out.resize(i + 1);
      break;
    }
  return out;
}

std::optional<uint64_t> ElfFile::dynamicValue(int64_t tag) const {
  for (const Dyn &d : dynamicEntries())
    if (d.d_tag == tag)
      return d.d_un.d_val;
  return std::nullopt;
}

std::string ElfFile::dynamicString(uint64_t offset) const {
  auto strtab = dynamicValue(DT_STRTAB);
  auto strsz = dynamicValue(DT_STRSZ);
  if (!strtab || !strsz)
    fatal(fileName + ": dynamic section has no DT_STRTAB/DT_STRSZ");
  auto fileOffset = offsetOfAddress(*strtab, *strsz);
  if (!fileOffset)
    fatal(fileName + ": DT_STRTAB " + hex(*strtab) + " is not in a loadable segment");
  if (offset >= *strsz)
    fatal(fileName + ": dynamic string offset " + hex(offset) + " is past DT_STRSZ " +
          hex(*strsz));
  const char *begin = reinterpret_cast<const char *>(bytes().data() + *fileOffset);
  const char *end = static_cast<const char *>(std::memchr(begin + offset, 0, *strsz - offset));
  if (!end)
    fatal(fileName + ": dynamic string at " + hex(offset) + " is not terminated");
  return std::string(begin + offset, end);
}

std::optional<std::string> ElfFile::interpreter() const {
  const Phdr *interp = findSegment(PT_INTERP);
  if (!interp || interp->p_filesz == 0)
    return std::nullopt;
  const char *begin = reinterpret_cast<const char *>(bytes().data() + interp->p_offset);
  return std::string(begin, strnlen(begin, interp->p_filesz));
}

BinaryKind ElfFile::kind() const {
  bool hasInterp = findSegment(PT_INTERP) != nullptr;
  switch (ehdr->e_type) {
  case ET_REL:
    return BinaryKind::Relocatable;
  case ET_EXEC:
    return hasInterp ? BinaryKind::Executable : BinaryKind::StaticExecutable;
  case ET_DYN: {
    if (hasInterp)
      return BinaryKind::PieExecutable;
    auto flags1 = dynamicValue(DT_FLAGS_1);
    if (flags1 && (*flags1 & DF_1_PIE))
      return BinaryKind::StaticPie;
    return BinaryKind::SharedLibrary;
  }
  default:
    return BinaryKind::Other;
  }
}

std::optional<std::string> ElfFile::buildId() const {
  auto toHex = [](ArrayRef<uint8_t> desc) { return llvm::toHex(desc, /*LowerCase=*/true); };
  // Notes through sections when there are any (also for stripped segments),
  // else through PT_NOTE segments.
  for (const Section &sec : sectionList) {
    if (sec.type() != SHT_NOTE)
      continue;
    Error err = Error::success();
    for (const auto &note : elf->notes(sec.header, err))
      if (note.getType() == NT_GNU_BUILD_ID && note.getName() == "GNU") {
        consumeError(std::move(err));
        return toHex(note.getDesc(sec.header.sh_addralign));
      }
    consumeError(std::move(err));
  }
  for (const Phdr &p : phdrs) {
    if (p.p_type != PT_NOTE)
      continue;
    Error err = Error::success();
    for (const auto &note : elf->notes(p, err))
      if (note.getType() == NT_GNU_BUILD_ID && note.getName() == "GNU") {
        consumeError(std::move(err));
        return toHex(note.getDesc(p.p_align));
      }
    consumeError(std::move(err));
  }
  return std::nullopt;
}

// lld's " in NAME" after a place, when a function applies.
static std::string inFunction(std::string_view function) {
  return function.empty() ? "" : " in " + std::string(function);
}

std::string ElfFile::where(const Section &section, std::optional<uint64_t> offset,
                           std::string_view function) const {
  std::string s = fileName + ":(" + (section.name.empty() ? "section " + std::to_string(section.index) : section.name);
  if (offset)
    s += "+" + hex(*offset);
  return s + ")" + inFunction(function);
}

std::string ElfFile::whereAddress(uint64_t addr, std::string_view function) const {
  for (const Section &s : sectionList) {
    // .tbss takes no address space of its own: what follows it has the same addresses.
    bool tbss = !s.hasFileData() && (s.flags() & SHF_TLS);
    if (s.isAlloc() && !tbss && addr >= s.addr() && addr - s.addr() < s.size())
      return where(s, addr - s.addr(), function);
  }
  return fileName + ":(" + hex(addr) + ")" + inFunction(function);
}

} // namespace elfopt
