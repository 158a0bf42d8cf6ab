//===- ElfFile.h - a validated, read-only x86-64 ELF image ------*- C++ -*-===//
//
// The one component that talks to libObject. open() checks everything the
// rest of elfopt relies on (class, machine, header tables and every section's
// file range inside the file, section names readable) and turns libObject's
// llvm::Error into one message naming the file, so later passes work on
// validated data and never see llvm::Expected.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "llvm/Object/ELF.h"
#include "llvm/Support/MemoryBuffer.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace elfopt {

using ELFT = llvm::object::ELF64LE;
using Ehdr = ELFT::Ehdr;
using Phdr = ELFT::Phdr;
using Shdr = ELFT::Shdr;
using Sym = ELFT::Sym;
using Dyn = ELFT::Dyn;

/// The DT_NULL slots after the one that ends \p slots, which a new entry may
/// take; none when a non-null entry follows the first DT_NULL.
unsigned spareDynamicSlots(std::span<const Dyn> slots);

enum class BinaryKind {
  Executable,       ///< ET_EXEC with an interpreter
  PieExecutable,    ///< ET_DYN with an interpreter
  SharedLibrary,    ///< ET_DYN without an interpreter
  StaticExecutable, ///< ET_EXEC without an interpreter
  StaticPie,        ///< ET_DYN, no interpreter, DF_1_PIE
  Relocatable,      ///< ET_REL
  Other,
};
const char *binaryKindName(BinaryKind kind);

struct Section {
  unsigned index = 0;
  std::string name;
  Shdr header{};

  uint64_t addr() const { return header.sh_addr; }
  uint64_t offset() const { return header.sh_offset; }
  uint64_t size() const { return header.sh_size; }
  uint32_t type() const { return header.sh_type; }
  uint64_t flags() const { return header.sh_flags; }
  bool isAlloc() const { return flags() & llvm::ELF::SHF_ALLOC; }
  bool isExecutable() const { return flags() & llvm::ELF::SHF_EXECINSTR; }
  /// False for SHT_NOBITS (.bss, .tbss): nothing of it is in the file.
  bool hasFileData() const { return type() != llvm::ELF::SHT_NOBITS; }
};

struct Symbol {
  std::string name;
  uint64_t value = 0;
  uint64_t size = 0;
  uint8_t type = 0;
  uint8_t binding = 0;
  uint8_t other = 0;
  uint16_t shndx = 0;
  bool isDefined() const { return shndx != llvm::ELF::SHN_UNDEF; }
  bool isFunction() const {
    return type == llvm::ELF::STT_FUNC || type == llvm::ELF::STT_GNU_IFUNC;
  }
};

/// Whether a dynamic entry's value is an offset into .dynstr (DT_NEEDED,
/// DT_SONAME, DT_RPATH, DT_RUNPATH, DT_AUXILIARY, DT_FILTER, DT_CONFIG,
/// DT_DEPAUDIT, DT_AUDIT).
bool isDynamicStringTag(int64_t tag);

/// Whether a dynamic entry's value is the address of a table or code
/// (DT_PLTGOT, DT_STRTAB, DT_SYMTAB, DT_INIT, DT_GNU_HASH, ...).
bool isDynamicAddressTag(int64_t tag);

class ElfFile {
public:
  /// Reads and validates \p path. Throws FatalError (exit code 2) with a
  /// message that names the file and the problem.
  static std::unique_ptr<ElfFile> open(const std::string &path);
  /// Same checks on bytes already in memory; \p name is used in messages.
  static std::unique_ptr<ElfFile> fromBuffer(const std::string &name,
                                             std::unique_ptr<llvm::MemoryBuffer> buffer);
  /// Same, on a copy of \p bytes (e.g. a file a pass produced in memory).
  static std::unique_ptr<ElfFile> fromBytes(const std::string &name, std::span<const uint8_t> bytes);
  /// Same, over \p bytes themselves, not a copy: they must outlive the
  /// file and stay unchanged (a pass's output read back to verify it; a
  /// copy of a 175 MB image is 175 MB more at the peak, and its page faults).
  static std::unique_ptr<ElfFile> viewOf(const std::string &name, std::span<const uint8_t> bytes);

  const std::string &name() const { return fileName; }
  std::span<const uint8_t> bytes() const;
  const Ehdr &header() const { return *ehdr; }
  std::span<const Phdr> segments() const { return phdrs; }
  const std::vector<Section> &sections() const { return sectionList; }

  const Section *findSection(std::string_view name) const;
  const Section *findSectionOfType(uint32_t type) const;
  /// The first section of \p type whose sh_link is \p link (e.g. the
  /// .gnu.hash of a .dynsym).
  const Section *findLinkedSection(uint32_t type, unsigned link) const;
  /// The section's bytes; empty for SHT_NOBITS.
  std::span<const uint8_t> contents(const Section &section) const;

  /// File offset holding virtual address \p addr (through PT_LOAD segments),
  /// if [addr, addr + size) is backed by file data.
  std::optional<uint64_t> offsetOfAddress(uint64_t addr, uint64_t size = 1) const;
  /// The 8-byte word the file holds at virtual address \p addr, if file
  /// data backs it (what a RELR entry or a GOT slot holds before loading).
  std::optional<uint64_t> wordAt(uint64_t addr) const;

  /// Symbols of a SHT_SYMTAB or SHT_DYNSYM section, names resolved.
  std::vector<Symbol> symbols(const Section &symtab) const;

  /// Entries of PT_DYNAMIC up to and including the first DT_NULL; empty for
  /// a file without one.
  std::vector<Dyn> dynamicEntries() const;
  /// Every slot of PT_DYNAMIC, including spare DT_NULL slots after the end.
  std::vector<Dyn> dynamicSlots() const;
  /// Spare DT_NULL slots of dynamicSlots() (see spareDynamicSlots()).
  unsigned spareDynamicSlots() const;
  /// A string from the dynamic string table (DT_STRTAB); fatal if out of range.
  std::string dynamicString(uint64_t offset) const;
  std::optional<uint64_t> dynamicValue(int64_t tag) const;

  const Phdr *findSegment(uint32_t type) const;
  BinaryKind kind() const;
  std::optional<std::string> interpreter() const;
  /// Hex build-id from the NT_GNU_BUILD_ID note, if present.
  std::optional<std::string> buildId() const;

  /// A place for messages, as lld writes it: "file:(.section)" or
  /// "file:(.section+0x10)", then " in NAME" when \p function is given.
  std::string where(const Section &section, std::optional<uint64_t> offset = {},
                    std::string_view function = {}) const;
  /// The same for the loaded address \p addr, in the allocated section that
  /// holds it; "file:(0x1234)" when none does.
  std::string whereAddress(uint64_t addr, std::string_view function = {}) const;

  const llvm::object::ELF64LEFile &llvmFile() const { return *elf; }

private:
  ElfFile() = default;
  void validate();

  std::string fileName;
  std::unique_ptr<llvm::MemoryBuffer> buffer;
  std::optional<llvm::object::ELF64LEFile> elf;
  const Ehdr *ehdr = nullptr;
  std::vector<Phdr> phdrs;
  std::vector<Section> sectionList;
};

} // namespace elfopt
