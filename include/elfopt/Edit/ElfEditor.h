//===- ElfEditor.h - change a linked ELF file and write it back -*- C++ -*-===//
//
// An editor over a validated input file. It supports the edits the later
// passes need and nothing that would move existing code or data:
//   - patching the bytes of existing sections in place (same size);
//   - adding sections; allocated ones go into one new read-only PT_LOAD
//     segment appended after the highest existing segment;
//   - adding dynamic entries in spare DT_NULL slots of .dynamic.
//
// Growing the program header table. The kernel and glibc find the program
// headers through the first PT_LOAD (AT_PHDR); `strip` and `objcopy` (BFD)
// also assume they follow the ELF header, and corrupt binaries whose table
// was moved to the end of the file (as BOLT does). So the table stays at
// e_phoff and grows in place. When a section follows it directly, the editor
// moves that section (and those after it, until there is room for one more
// entry) into the new segment. Only sections that are found solely through
// program headers, .dynamic and symbols are moved (.interp, notes, the
// dynamic symbol, string, version and hash tables), and those references are
// updated. PT_GNU_STACK and every other program header are kept.
//
// Addresses are chosen by layout(); after it, sectionAddress() is final and
// contents may still be patched (same size). serialize() produces the bytes:
// an unedited file comes back byte-identical.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "elfopt/Elf/ElfFile.h"

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

namespace elfopt {

struct NewSection {
  std::string name;
  uint32_t type = llvm::ELF::SHT_PROGBITS;
  uint64_t flags = llvm::ELF::SHF_ALLOC;
  uint64_t align = 8;
  uint64_t entsize = 0;
  uint32_t link = 0;
  uint32_t info = 0;
  std::vector<uint8_t> data;
};

/// What layout() decided, for reports and tests.
struct LayoutSummary {
  bool addedSegment = false;
  uint64_t segmentOffset = 0;
  uint64_t segmentAddress = 0;
  uint64_t segmentSize = 0;
  /// Sections moved out of the way of the program header table.
  std::vector<std::string> movedSections;
  uint64_t outputSize = 0;
};

class ElfEditor {
public:
  explicit ElfEditor(const ElfFile &input);

  const ElfFile &input() const { return in; }

  /// Bytes of an existing section, to patch in place.
  std::span<uint8_t> mutableContents(unsigned sectionIndex);

  /// Adds a section; returns its section index in the output. Allocated
  /// sections need an executable or shared object.
  unsigned addSection(NewSection section);
  /// Contents of a section added by addSection(), to patch after layout().
  std::span<uint8_t> mutableNewContents(unsigned sectionIndex);

  /// Puts (tag, value) in the first DT_NULL slot of .dynamic, keeping one
  /// DT_NULL to end the table. Fatal error when there is no spare slot.
  void addDynamicEntry(int64_t tag, uint64_t value);
  /// Changes the value of an existing entry (e.g. one added above, once the
  /// address it points to is known).
  void setDynamicEntry(int64_t tag, uint64_t value);

  /// Every slot of .dynamic (through PT_DYNAMIC), to rewrite values in place.
  std::span<Dyn> mutableDynamic() { return dynamicSlots(); }

  /// Shrinks an input section (its contents are rewritten in place and
  /// need fewer bytes); the bytes after the new end keep their place.
  void shrinkSection(unsigned sectionIndex, uint64_t newSize);

  /// Takes an input section out of service when a new section replaces it
  /// (e.g. a larger .gnu.hash): its bytes are zeroed and keep their place,
  /// its type becomes SHT_PROGBITS and its name \p newName, so that no tool
  /// reads it as what it was.
  void retireSection(unsigned sectionIndex, const std::string &newName);

  /// Sets the entry point (e_entry).
  void setEntry(uint64_t entry) { ehdr.e_entry = entry; }

  /// Number of spare DT_NULL slots (after the terminating one is kept).
  unsigned spareDynamicSlots() const;

  /// Fixes the output layout. Called by serialize() if not called before.
  const LayoutSummary &layout();
  uint64_t sectionAddress(unsigned sectionIndex) const;

  std::vector<uint8_t> serialize();

private:
  struct Evicted {
    uint64_t offset = 0, address = 0, size = 0;
    std::vector<unsigned> sections;
  };

  unsigned inputSectionCount() const { return unsigned(shdrs.size() - added.size()); }
  std::span<Dyn> dynamicSlots();
  void planRoomForProgramHeader();
  void applyEviction(int64_t delta, int64_t offsetDelta);
  bool isEvictable(unsigned sectionIndex) const;
  uint64_t largestDynamicSymbol() const;

  const ElfFile &in;
  std::vector<uint8_t> image; ///< the input's bytes, with patches applied
  Ehdr ehdr;
  std::vector<Phdr> phdrs;
  std::vector<Shdr> shdrs; ///< input sections followed by added ones
  std::vector<NewSection> added;
  std::map<unsigned, std::string> retiredNames; ///< input section -> new name
  std::vector<uint8_t> shstrtab;
  Evicted evicted;
  size_t growHeaderSegment = 0;      ///< index in phdrs
  uint64_t growHeaderSegmentBy = 0;  ///< bytes added to it, if any
  bool laidOut = false;
  LayoutSummary summary;
  uint64_t shstrtabOffset = 0, shtOffset = 0, keptPrefix = 0;
};

} // namespace elfopt
