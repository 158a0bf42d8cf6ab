//===- ElfEditor.h - change a linked ELF file and write it back -*- C++ -*-===//
//
// An editor over a validated input file. It supports the edits the later
// passes need and nothing that would move existing code or data:
//   - patching the bytes of existing sections in place (same size);
//   - adding sections; allocated ones go into new PT_LOAD segments appended
//     after the highest existing segment, one per kind: read-only sections
//     in a PF_R segment, then code (SHF_EXECINSTR) in a PF_R|PF_X one, each
//     starting on a page of its own. Writable and TLS sections would need
//     segments (and a PT_TLS) the editor does not make: they are refused;
//   - adding dynamic entries in spare DT_NULL slots of .dynamic;
//   - placing a new read-only section in loaded bytes that a shrunk
//     section gave up (NewSection::at), which needs no new segment.
//
// Growing the program header table. The kernel and glibc find the program
// headers through the first PT_LOAD (AT_PHDR); `strip` and `objcopy` (BFD)
// also assume they follow the ELF header, and corrupt binaries whose table
// was moved to the end of the file (as BOLT does). So the table stays at
// e_phoff and grows in place by one entry per new segment. When a section
// follows it directly, the editor moves that section (and those after it,
// until there is room for the new entries) to the start of the first new
// segment: the read-only one, or else the code one, which maps them
// executable as gold and `ld -z noseparate-code` do (a read-only segment of
// their own would need a second entry, for which static executables have
// no room). So one kind of section alone gets one new segment, laid out
// the same for either kind. Only sections that are found solely through
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
#include <functional>
#include <map>
#include <optional>
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
  /// Allocated sections only: an address in bytes the file already loads
  /// that no section holds any more (the tail of a shrunk one), instead of
  /// a new segment. The section must fit there.
  std::optional<uint64_t> at;
};

/// A PT_LOAD made by layout().
struct AddedSegment {
  uint32_t flags = 0; ///< PF_R, or PF_R | PF_X for code
  uint64_t offset = 0;
  uint64_t address = 0;
  uint64_t size = 0;
  uint64_t align = 0;
};

/// What layout() decided, for reports and tests.
struct LayoutSummary {
  /// The first new segment: the read-only one when there is one.
  bool addedSegment = false;
  uint64_t segmentOffset = 0;
  uint64_t segmentAddress = 0;
  uint64_t segmentSize = 0;
  /// Every new segment, in address order.
  std::vector<AddedSegment> segments;
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
  /// sections need an executable or shared object, and may be read-only or
  /// executable (SHF_EXECINSTR), not writable.
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

  /// Rewrites the symbol of every entry of the input's SHT_RELA sections
  /// linked to symbol table \p symtab (an input section of \p symbols
  /// entries) to \p renumber(old symbol), in place; type, offset, addend
  /// and order stay. Fatal error naming the entry when its symbol is past
  /// the table.
  void renumberRelocationSymbols(unsigned symtab, uint64_t symbols,
                                 const std::function<uint32_t(uint32_t)> &renumber);

  /// Shrinks an input section (its contents are rewritten in place and
  /// need fewer bytes); the bytes after the new end keep their place.
  void shrinkSection(unsigned sectionIndex, uint64_t newSize);

  /// Takes an input section out of service when a new section replaces it
  /// (e.g. a larger .gnu.hash): its bytes are zeroed and keep their place,
  /// its type becomes SHT_PROGBITS and its name \p newName, so that no tool
  /// reads it as what it was.
  void retireSection(unsigned sectionIndex, const std::string &newName);

  /// Renames an input section a new one stands in for (its bytes, type and
  /// links stay), so that tools finding the table by name find the new one.
  void renameSection(unsigned sectionIndex, const std::string &newName);

  /// Points an input section's sh_link at another section (e.g. .dynamic at
  /// a larger copy of its string table).
  void setSectionLink(unsigned sectionIndex, unsigned link);

  /// Sets the entry point (e_entry).
  void setEntry(uint64_t entry) { ehdr.e_entry = entry; }

  /// Number of spare DT_NULL slots (after the terminating one is kept).
  unsigned spareDynamicSlots() const;

  /// Fixes the output layout. Called by serialize() if not called before.
  const LayoutSummary &layout();
  uint64_t sectionAddress(unsigned sectionIndex) const;
  uint64_t sectionSize(unsigned sectionIndex) const;

  std::vector<uint8_t> serialize();

private:
  /// Input sections moved out of the way of the program header table: one
  /// block, contiguous in the file and in memory.
  struct Evicted {
    uint64_t offset = 0, address = 0, size = 0;
    std::vector<unsigned> sections;
  };
  /// How the program header table gets room for its new entries.
  struct HeaderRoom {
    Evicted evicted;
    size_t growSegment = 0; ///< index in phdrs of the PT_LOAD holding the table
    uint64_t growBy = 0;    ///< bytes that segment grows by, if any
  };
  /// One new PT_LOAD: its flags and the added sections it holds.
  struct SegmentPlan {
    uint32_t flags = 0;
    std::vector<unsigned> sections; ///< indices in `added`
  };

  unsigned inputSectionCount() const { return unsigned(shdrs.size() - added.size()); }
  std::span<Dyn> dynamicSlots();
  void nameSections();
  std::vector<SegmentPlan> planSegments() const;
  HeaderRoom planRoomForProgramHeaders(unsigned entries) const;
  uint64_t headerSegmentGrowth(uint64_t oldEnd, uint64_t newEnd, unsigned entries,
                               size_t &segment) const;
  std::vector<unsigned> sectionsInTheWay(uint64_t oldEnd, uint64_t newEnd, unsigned entries,
                                         uint64_t &blockEnd) const;
  void checkEvictable(const Evicted &evicted, unsigned entries) const;
  uint64_t placeSegments(const std::vector<SegmentPlan> &plans);
  AddedSegment placeSegment(const SegmentPlan &plan, uint64_t address, uint64_t offset,
                            uint64_t pageOffset, bool holdsEvicted);
  void addProgramHeaders(const std::vector<AddedSegment> &segments);
  void applyEviction(int64_t delta, int64_t offsetDelta);
  void placeAt(size_t addedIndex);
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
  HeaderRoom room;
  uint64_t evictedTo = 0; ///< output offset of the moved block
  bool laidOut = false;
  LayoutSummary summary;
  uint64_t shstrtabOffset = 0, shtOffset = 0, keptPrefix = 0;
};

} // namespace elfopt
