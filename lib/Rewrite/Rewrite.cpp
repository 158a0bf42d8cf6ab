//===- Rewrite.cpp - plan the new .text and carry every reference along ---===//
#include "Internal.h"
#include "Place.h"
#include "Stubs.h"
#include "Undecoded.h"

#include "elfopt/Edit/ElfEditor.h"
#include "elfopt/Elf/Relocations.h"
#include "elfopt/Support/Diagnostics.h"
#include "elfopt/Target/X86Decoder.h"
#include "elfopt/Target/X86_64.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <numeric>
#include <set>
#include <string_view>
#include <tuple>
#include <unordered_map>

using namespace llvm::ELF;

namespace elfopt {

void AddressMap::finish() {
  std::sort(ranges.begin(), ranges.end(),
            [](const Range &a, const Range &b) { return a.from < b.from; });
}

const AddressMap::Range *AddressMap::find(uint64_t a) const {
  auto it = std::upper_bound(ranges.begin(), ranges.end(), a,
                             [](uint64_t x, const Range &r) { return x < r.from; });
  if (it == ranges.begin())
    return nullptr;
  --it;
  return a - it->from < it->size ? &*it : nullptr;
}

uint64_t AddressMap::map(uint64_t a) const {
  const Range *r = find(a);
  return r ? a - r->from + r->to : a;
}

namespace rewrite {
namespace {

using x86_64::isAbsoluteRelocation;
using x86_64::isPcRelativeRelocation;

/// Why a word of data may lead into code (pinOrphanWords).
constexpr const char *StoredAsOffset = "its address may be stored in data as an offset";
/// Why code that undecodable bytes may reach stays, or gets a stub.
constexpr const char *UndecodedNear = "within 128 bytes of code that did not decode, which may reach it";
constexpr const char *UndecodedFar = "may be the target of code that did not decode";
/// Why a function moved into the new segment has a stub at its old start.
constexpr const char *MovedStart = "its old start, in the new segment's mode (as BOLT's non-relocation mode)";

bool isDebugSection(const std::string &name) {
  return name.starts_with(".debug_") || name.starts_with(".zdebug_");
}

/// An 8-byte address of code at loaded address \p place.
Field addressField(uint64_t place, uint64_t target, const char *what) {
  Field f;
  f.kind = Field::Absolute;
  f.size = 8;
  f.place = place;
  f.target = target;
  f.what = what;
  return f;
}

struct Relocations {
  const Section *section = nullptr;
  const Section *target = nullptr;
  const std::vector<Symbol> *symbols = nullptr; // of the linked .symtab
  std::span<const ELFT::Rela> entries;
};

class Rewriter {
public:
  Rewriter(const ElfFile &in, const RewriteOptions &options) : in(in), options(options) {}
  RewriteResult run();

private:
  void readRelocations();
  void checkRelocationFree();
  void collectDataFields();
  void claimJumpTables();
  void claimTable(uint64_t base, const std::vector<const TableJump *> &jumps);
  void keepIfReadOtherwise(const Section &s, uint64_t place, int32_t value, uint64_t label);
  void collectProbeFields();
  void suspectTargetsOfUndecodedCode();
  void suspectTargetsOfBytes(std::span<const uint8_t> bytes, uint64_t address, size_t fromBlock);
  void pinOrphanWords();
  void keepEnteredPadding();
  void pinOrphanWordsOf(const Section &s, std::span<const std::pair<uint64_t, uint64_t>> claimed,
                        std::span<const std::pair<uint64_t, uint64_t>> foundTables);
  void collectRelocationFields(const Relocations &r);
  void textRelocation(const Relocations &r, const ELFT::Rela &e, const Symbol &sym);
  void dataRelocation(const Relocations &r, const ELFT::Rela &e, uint64_t sa, std::span<const uint8_t> contents);
  void absoluteDataField(const Relocations &r, const ELFT::Rela &e, uint64_t sa, std::span<const uint8_t> word,
                         Field &f);
  void relativeDataField(const Section &t, const ELFT::Rela &e, uint64_t sa, std::span<const uint8_t> word,
                         Field &f);
  bool isLabel(uint64_t a) const;
  std::optional<uint64_t> loadedWord(uint64_t a) const;
  void collectLoaderFields();
  void collectDynamicRelocationFields(const Section &s);
  void collectRelrFields(const Section &s);
  void collectGotFields(const Section &s);
  void collectFdeFields();
  void checkOverlaps() const;
  void bondUnwindRanges();
  void computeGroups();
  void checkDebugInfo();
  void place();
  std::optional<std::string> spreadsOrderedCode(const std::vector<PlaceItem> &items, const Placement &placement) const;
  void dumpBlocks() const;
  void apply(ElfEditor &editor);
  /// Alloc place -> change of the value of its field, sorted.
  using FieldDeltas = std::vector<std::pair<uint64_t, int64_t>>;
  /// The new bytes of .text and of the room, by new address.
  struct NewCode {
    std::vector<uint8_t> text, room;
    uint64_t textStart = 0, roomStart = 0;
    uint8_t *at(uint64_t a) { return a >= roomStart && !room.empty() ? &room[a - roomStart] : &text[a - textStart]; }
  };
  NewCode copyMovedCode() const;
  int64_t fieldDelta(const Field &f) const;
  FieldDeltas writeFields(ElfEditor &editor, NewCode &newCode);
  void moveSymbols(ElfEditor &editor);
  void updateStaticRelocations(ElfEditor &editor, const FieldDeltas &delta);
  std::pair<uint64_t, uint64_t> updatedRelocation(const Relocations &r, const ELFT::Rela &e,
                                                  const FieldDeltas &delta) const;
  void updateDynamicRelocations(ElfEditor &editor);
  void updateEntryPoints(ElfEditor &editor);
  void dropDebugSections(ElfEditor &editor);
  void writeField(ElfEditor &editor, const Field &f, NewCode &newCode);
  const Section *sectionAt(uint64_t address) const;
  /// Where \p place is, for messages: an offset in \p section when that
  /// is not loaded (index 0: an address), in lld's words.
  std::string where(unsigned section, uint64_t place) const;
  /// Where relocation \p e is: its entry in its relocation section.
  std::string where(const Relocations &r, const ELFT::Rela &e) const;
  /// Pins the block holding \p address, for a reference at \p from: an
  /// address, or an offset in \p home when that is not loaded.
  void pinAt(uint64_t address, const char *why, uint64_t from, const Section *home = nullptr);
  void pinBoth(uint64_t sa, const char *why, uint64_t from, const Section *home = nullptr);
  void pinLabel(uint64_t t, const char *why, uint64_t from);
  bool readsAsFunctionEnd(uint64_t t) const;
  bool endLabelWithTrap(uint64_t t) const;
  /// Something at \p from may lead to \p t (\p why): a suspected entry
  /// (Stubs.h) where a forwarding stub can serve it, else its code stays.
  void suspectEntry(uint64_t t, uint64_t from, const char *why);
  void planForwardingStubs();
  std::optional<std::vector<StubRegion>> planStubsOf(size_t bi, std::span<const uint64_t> entries,
                                                     const x86_64::Decoder &decoder) const;
  void addStubsAtMovedStarts();
  void writeForwardingStubs(NewCode &newCode);
  void addField(const Field &f);

  const ElfFile &in;
  const RewriteOptions &options;
  TextInfo text;
  /// The room made for the ordered code (RewriteOptions::makeRoom), or none,
  /// and the input with it, which the output is written from.
  TextInfo room;
  const ElfFile *withRoom = nullptr;
  bool makeRoomIfNeeded(const std::vector<PlaceItem> &items, const std::optional<std::string> &why);
  CodeFacts code;
  std::vector<Fde> fdes;
  std::vector<Relocations> relocations;
  std::map<unsigned, std::vector<Symbol>> symbolTables; // by section index
  std::vector<Field> fields; // data-side fields; code.fields hold the rest
  std::unordered_map<uint64_t, size_t> fieldAtPlace; // alloc places only
  std::vector<bool> glued; // glued[i]: block i+1 moves with block i
  std::vector<Group> groups; // runs of glued blocks, in address order
  std::vector<const Section *> loaded; // allocated sections with file data, by address
  AddressMap map;
  RewriteReport report;
  bool dropDebug = false;
  /// No static relocations for .text (a release binary): jump tables are
  /// found from the code, and what nothing describes pins what it may reach.
  bool relocationFree = false;
  /// Suspected entries by block, then the stubs that serve them if it moves.
  std::map<size_t, std::vector<uint64_t>> suspected;
  std::map<size_t, std::set<std::string_view>> suspectedWhy; ///< for the report
  std::map<size_t, std::vector<StubRegion>> stubs;
};

const Section *Rewriter::sectionAt(uint64_t a) const {
  auto it = std::upper_bound(loaded.begin(), loaded.end(), a,
                             [](uint64_t x, const Section *s) { return x < s->addr(); });
  if (it == loaded.begin())
    return nullptr;
  const Section *s = *(it - 1);
  return a - s->addr() < s->size() ? s : nullptr;
}

std::string Rewriter::where(unsigned section, uint64_t place) const {
  if (section)
    return in.where(in.sections()[section], place);
  if (text.contains(place))
    return in.where(in.sections()[text.section], place - text.start, code.blocks[blockAt(code.blocks, place)].name);
  const Section *s = sectionAt(place);
  return s ? in.where(*s, place - s->addr()) : in.whereAddress(place);
}

std::string Rewriter::where(const Relocations &r, const ELFT::Rela &e) const {
  return in.where(*r.section, (&e - r.entries.data()) * sizeof(ELFT::Rela));
}

void Rewriter::pinAt(uint64_t a, const char *why, uint64_t from, const Section *home) {
  if (!text.contains(a))
    return;
  Block &b = code.blocks[blockAt(code.blocks, a)];
  if (b.pinned.empty()) // the first reason stays
    pin(b, why, "from " + where(home && !home->isAlloc() ? home->index : 0, from));
}

void Rewriter::addField(const Field &f) {
  if (f.section == 0) {
    auto [it, fresh] = fieldAtPlace.try_emplace(f.place, fields.size());
    if (!fresh)
      return; // one word, several descriptions (static and dynamic relocation)
  }
  fields.push_back(f);
}

void Rewriter::readRelocations() {
  bool textHasRelocations = false;
  for (const Section &s : in.sections()) {
    if (s.type() != SHT_RELA || s.isAlloc())
      continue;
    if (s.header.sh_info == 0 || s.header.sh_info >= in.sections().size() ||
        s.header.sh_link >= in.sections().size())
      fatal(in.where(s) + ": relocation section with an invalid target or symbol table");
    if (s.header.sh_entsize != sizeof(ELFT::Rela) || s.size() % sizeof(ELFT::Rela))
      fatal(in.where(s) + ": relocation entry size is not " + std::to_string(sizeof(ELFT::Rela)));
    Relocations r;
    r.section = &s;
    r.target = &in.sections()[s.header.sh_info];
    const Section &symtab = in.sections()[s.header.sh_link];
    if (symtab.type() != SHT_SYMTAB)
      fatal(in.where(s) + ": relocations do not refer to .symtab");
    auto &table = symbolTables[symtab.index];
    if (table.empty())
      table = in.symbols(symtab);
    r.symbols = &table;
    auto bytes = in.contents(s);
    r.entries = {reinterpret_cast<const ELFT::Rela *>(bytes.data()), bytes.size() / sizeof(ELFT::Rela)};
    for (const auto &e : r.entries)
      if (e.getSymbol(false) >= r.symbols->size())
        fatal(where(r, e) + ": relocation names symbol " + std::to_string(e.getSymbol(false)) + " of " +
              std::to_string(r.symbols->size()));
    if (r.target->index == text.section)
      textHasRelocations = true;
    relocations.push_back(std::move(r));
  }
  relocationFree = !textHasRelocations;
  if (relocationFree)
    checkRelocationFree();
}

// What a file must be for the relocation-free rewrite: position-independent
// (every absolute code address then has a dynamic relocation), with code
// that nothing patches at load time.
void Rewriter::checkRelocationFree() {
  if (in.header().e_type != ET_DYN)
    fatal(in.name() + ": a non-PIE executable without static relocations for .text: its code and data hold "
                      "absolute code addresses that nothing marks; relink with -Wl,--emit-relocs (-Wl,-q), "
                      "or as PIE");
  for (const Dyn &d : in.dynamicEntries())
    if (d.d_tag == DT_TEXTREL || (d.d_tag == DT_FLAGS && (d.d_un.d_val & DF_TEXTREL)))
      fatal(in.name() + ": the loader patches its code (DT_TEXTREL), and without static relocations "
                        "the patched places cannot follow the code; relink with -Wl,--emit-relocs (-Wl,-q)");
  bool hasDebugInfo = std::any_of(in.sections().begin(), in.sections().end(), [](const Section &s) {
    return isDebugSection(s.name) && !s.isAlloc() && s.size();
  });
  if (hasDebugInfo && !options.stripDebug)
    fatal(in.name() + ": without static relocations nothing says where the debug info holds code "
                      "addresses, so it cannot follow the new layout; pass --strip-debug to drop it, or "
                      "relink with -Wl,--emit-relocs (-Wl,-q)");
  dropDebug = hasDebugInfo;
}

void Rewriter::collectDataFields() {
  // Static relocations first: of two descriptions of one word, addField keeps the first.
  for (const Relocations &r : relocations)
    collectRelocationFields(r);
  // Other code sections' references: their relocations were skipped, decoding found them.
  for (const Field &f : code.outside)
    addField(f);
  // The words the loader reads: those no static relocation described are added now.
  collectLoaderFields();
  if (relocationFree) {
    // What static relocations would have said: jump table entries, probe addresses.
    claimJumpTables();
    collectProbeFields();
    // Undecoded code keeps its place; whatever it may reach gets a stub or stays.
    suspectTargetsOfUndecodedCode();
  }
  // .eh_frame's relocations were skipped: its FDEs say how each pc_begin is encoded.
  collectFdeFields();
  // With every field known: any other word that reads as a code address keeps it in place.
  if (relocationFree)
    pinOrphanWords();
  keepEnteredPadding();
  // With every pin known: stubs for the suspected entries of what may move.
  planForwardingStubs();
  // Last, with every field known: overlapping ones would make the output order-dependent.
  checkOverlaps();
}

// Where a jump table entry may lead: an instruction, or the end of a
// function's code (GCC sends cases it knows unreachable there).
bool Rewriter::isLabel(uint64_t a) const {
  if (code.isInstructionStart(text, a))
    return true;
  if (!text.contains(a - 1) || a - 1 < text.start)
    return false;
  const Block &b = code.blocks[blockAt(code.blocks, a - 1)];
  return b.decoded && a == b.bodyEnd;
}

// Pins the blocks at \p sa and at \p sa + 4: S + A is a field's target, or
// four bytes short of it for a field that ends its instruction.
// Pins the block whose code \p t starts an instruction of, and the one it
// ends (the label after a function's last instruction), for a reference at
// \p from. Where no function starts at \p t, verify, which knows only the
// functions, reads it as the end of the one before, even when undescribed
// code starts there.
void Rewriter::pinLabel(uint64_t t, const char *why, uint64_t from) {
  if (code.isInstructionStart(text, t))
    pinAt(t, why, from);
  if (readsAsFunctionEnd(t))
    pinAt(t - 1, why, from);
}

// Whether verify reads \p t as the end of the function before it: \p t
// ends that code, and no function starts there.
bool Rewriter::readsAsFunctionEnd(uint64_t t) const {
  if (t == text.start || !text.contains(t - 1))
    return false;
  const Block &before = code.blocks[blockAt(code.blocks, t - 1)];
  if (!before.decoded || t != before.bodyEnd)
    return false;
  if (!code.isInstructionStart(text, t))
    return true;
  const Block &next = code.blocks[blockAt(code.blocks, t)];
  // Verify knows where a described function starts; a found one it may not.
  return !(next.isFunction && !next.discovered && next.start == t);
}

// Whether \p t is the end label of a function (just past its last
// instruction, as verify reads it) with padding after it that starts with
// int3: a forwarding stub there keeps the int3 (Stubs.h).
bool Rewriter::endLabelWithTrap(uint64_t t) const {
  if (!readsAsFunctionEnd(t) || code.isInstructionStart(text, t))
    return false;
  const Block &b = code.blocks[blockAt(code.blocks, t - 1)];
  return b.isFunction && t < b.end && in.contents(in.sections()[text.section])[t - text.start] == x86_64::BreakpointByte;
}

void Rewriter::suspectEntry(uint64_t t, uint64_t from, const char *why) {
  if (options.forwardingStubs && endLabelWithTrap(t)) {
    // The end label of a function with int3 after it: that int3 can stay.
    size_t bi = blockAt(code.blocks, t - 1);
    suspected[bi].push_back(t);
    suspectedWhy[bi].insert(why);
    return;
  }
  if (!options.forwardingStubs || !code.isInstructionStart(text, t) || readsAsFunctionEnd(t)) {
    pinLabel(t, why, from);
    return;
  }
  size_t bi = blockAt(code.blocks, t);
  if (!code.blocks[bi].isFunction) { // verify decodes functions only; such code stays anyway
    pinAt(t, why, from);
    return;
  }
  suspected[bi].push_back(t);
  suspectedWhy[bi].insert(why);
}

void Rewriter::pinBoth(uint64_t sa, const char *why, uint64_t from, const Section *home) {
  pinAt(sa, why, from, home);
  pinAt(sa + 4, why, from, home);
}

void Rewriter::collectRelocationFields(const Relocations &r) {
  const Section &t = *r.target;
  if (t.name == ".eh_frame" || (dropDebug && isDebugSection(t.name)))
    return;
  auto contents = in.contents(t);
  for (const auto &e : r.entries) {
    const Symbol &sym = (*r.symbols)[e.getSymbol(false)];
    if (t.index == text.section)
      textRelocation(r, e, sym);
    else if (sym.shndx == text.section)
      dataRelocation(r, e, sym.value + e.r_addend, contents);
  }
}

// A relocation in .text: decoding found the displacements; what it cannot
// know is an absolute address in code, or where undecoded code leads.
void Rewriter::textRelocation(const Relocations &r, const ELFT::Rela &e, const Symbol &sym) {
  uint32_t type = e.getType(false);
  bool refersToText = sym.shndx == text.section;
  uint64_t sa = sym.value + e.r_addend;
  if (!text.contains(e.r_offset))
    fatal(where(r, e) + ": r_offset " + hex(e.r_offset) + " is outside .text");
  size_t bi = blockAt(code.blocks, e.r_offset);
  if (!code.blocks[bi].decoded && refersToText && !isAbsoluteRelocation(type)) {
    // Undecoded code keeps its place, so its field stays right only if
    // its target stays too.
    pinBoth(sa, "target of undecoded code", e.r_offset);
  }
  if (refersToText && isAbsoluteRelocation(type)) {
    Field f;
    f.kind = Field::Absolute;
    f.size = x86_64::relocationFieldSize(type);
    f.isSigned = type == R_X86_64_32S;
    f.place = e.r_offset;
    f.target = sa;
    f.what = "absolute address in code";
    code.fields.push_back(f);
  }
}

// A relocation outside .text whose target \p sa is in .text.
void Rewriter::dataRelocation(const Relocations &r, const ELFT::Rela &e, uint64_t sa,
                              std::span<const uint8_t> contents) {
  const Section &t = *r.target;
  uint32_t type = e.getType(false);
  if (t.isExecutable() && !isAbsoluteRelocation(type)) {
    // Decoding found this section's references (code.outside); if it did
    // not decode, keep whatever the field reaches where it is.
    if (std::find(code.undecodedSections.begin(), code.undecodedSections.end(), t.index) !=
        code.undecodedSections.end())
      pinBoth(sa, "target of undecoded code", e.r_offset);
    return;
  }
  uint64_t offset = t.isAlloc() ? e.r_offset - t.addr() : e.r_offset;
  if (!t.hasFileData() || offset >= contents.size() || contents.size() - offset < 4)
    fatal(where(r, e) + ": r_offset " + hex(e.r_offset) + " is outside " + t.name);
  Field f;
  f.place = t.isAlloc() ? e.r_offset : offset;
  f.section = t.isAlloc() ? 0 : t.index;
  if (isAbsoluteRelocation(type))
    absoluteDataField(r, e, sa, contents.subspan(offset), f);
  else if (type == R_X86_64_PC32 && t.isAlloc())
    relativeDataField(t, e, sa, contents.subspan(offset), f);
  else
    pinBoth(sa, "target of an unusual relocation type", e.r_offset, &t);
}

// An address of code in data: \p word is the relocated word onward.
void Rewriter::absoluteDataField(const Relocations &r, const ELFT::Rela &e, uint64_t sa,
                                 std::span<const uint8_t> word, Field &f) {
  const Section &t = *r.target;
  uint32_t type = e.getType(false);
  f.kind = Field::Absolute;
  f.size = x86_64::relocationFieldSize(type);
  f.isSigned = type == R_X86_64_32S;
  f.target = sa;
  f.what = t.isAlloc() ? "code address in data" : "code address in non-allocated data";
  if (f.size > word.size())
    fatal(where(r, e) + ": r_offset " + hex(e.r_offset) + " is outside " + t.name);
  // The word holds S + A, or nothing when the dynamic relocation
  // carries it (lld leaves RELATIVE places zero); anything else means
  // the relocation does not describe the file.
  uint64_t held = 0, want = f.size == 8 ? sa : (f.isSigned ? uint64_t(int64_t(int32_t(sa))) : uint32_t(sa));
  std::memcpy(&held, word.data(), f.size);
  if (f.size == 4 && f.isSigned)
    held = uint64_t(int64_t(int32_t(held)));
  if (held == 0 && want != 0)
    return;
  if (held != want)
    fatal(where(f.section, f.place) + ": holds " + hex(held) + ", but its relocation (" + where(r, e) + ") says " +
          hex(want));
  addField(f);
}

// A 32-bit PC-relative word in loaded section \p t. A jump table entry is label -
// table_base; the table base is an address code refers to, at or below the
// entry. An entry with no such base is plain `target - place`.
void Rewriter::relativeDataField(const Section &t, const ELFT::Rela &e, uint64_t sa, std::span<const uint8_t> word,
                                 Field &f) {
  auto pcRelTargets = std::span<const uint64_t>(code.dataReferences);
  int32_t value;
  std::memcpy(&value, word.data(), 4);
  f.kind = Field::DataRelative;
  f.size = 4;
  auto it = std::upper_bound(pcRelTargets.begin(), pcRelTargets.end(), e.r_offset);
  std::optional<uint64_t> target;
  if (it != pcRelTargets.begin()) {
    uint64_t base = *(it - 1);
    uint64_t label = base + int64_t(value);
    if (sectionAt(base) == &t && isLabel(label)) {
      f.base = base;
      target = label;
    }
  }
  if (!target && isLabel(e.r_offset + int64_t(value))) {
    f.base = e.r_offset;
    target = e.r_offset + int64_t(value);
  }
  if (!target) {
    pinAt(sa, "target of a relative data entry with no known base", e.r_offset);
    return;
  }
  f.target = *target;
  f.what = "jump table entry";
  addField(f);
}

// The 8 bytes at loaded address \p a, if a loaded section holds them.
std::optional<uint64_t> Rewriter::loadedWord(uint64_t a) const {
  const Section *s = sectionAt(a);
  if (!s || a - s->addr() + 8 > s->size())
    return std::nullopt;
  uint64_t v;
  std::memcpy(&v, in.contents(*s).data() + (a - s->addr()), 8);
  return v;
}

// Dynamic relocations, RELR words and GOT words: what the loader reads.
void Rewriter::collectLoaderFields() {
  for (const Section &s : in.sections()) {
    if (s.type() == SHT_RELA && s.isAlloc())
      collectDynamicRelocationFields(s);
    else if (s.type() == SHT_RELR)
      collectRelrFields(s);
    else if ((s.name == ".got" || s.name == ".got.plt") && s.hasFileData())
      collectGotFields(s);
  }
}

void Rewriter::collectDynamicRelocationFields(const Section &s) {
  auto bytes = in.contents(s);
  auto *rela = reinterpret_cast<const ELFT::Rela *>(bytes.data());
  for (size_t i = 0; i < bytes.size() / sizeof(ELFT::Rela); ++i) {
    if (!dynamicAddendIsAddress(rela[i]) || !text.contains(uint64_t(rela[i].r_addend)))
      continue;
    // The word itself may hold the address too (ld.bfd writes it).
    auto word = loadedWord(rela[i].r_offset);
    if (word && *word == uint64_t(rela[i].r_addend))
      addField(addressField(rela[i].r_offset, *word, "code address in data"));
  }
}

void Rewriter::collectRelrFields(const Section &s) {
  for (uint64_t a : decodeRelr(in.contents(s))) {
    auto word = loadedWord(a);
    if (word && text.contains(*word))
      addField(addressField(a, *word, "RELR-relocated word"));
  }
}

// A non-PIE executable's GOT holds code addresses with no relocation.
void Rewriter::collectGotFields(const Section &s) {
  auto bytes = in.contents(s);
  for (uint64_t off = 0; off + 8 <= bytes.size(); off += 8) {
    uint64_t v;
    std::memcpy(&v, bytes.data() + off, 8);
    if (!text.contains(v))
      continue;
    const Block &b = code.blocks[blockAt(code.blocks, v)];
    if (b.start != v)
      continue;
    addField(addressField(s.addr() + off, v, "GOT entry"));
  }
}

void Rewriter::collectFdeFields() {
  for (const Fde &fde : fdes) {
    if (!text.contains(fde.pcBegin))
      continue;
    Field f;
    bool relative = (fde.encoding & 0x70) == 0x10;
    f.kind = relative ? Field::DataRelative : Field::Absolute;
    // No format: LEB128 (readEhFrame has refused undefined ones).
    auto format = encodedPointerFormat(fde.encoding);
    if (!format)
      fatal(in.whereAddress(fde.recordAddress) + ": FDE has a LEB128 pc_begin");
    f.size = format->size;
    f.isSigned = format->isSigned;
    f.place = fde.fieldAddress;
    f.base = fde.fieldAddress;
    f.target = fde.pcBegin;
    f.what = "FDE pc_begin";
    addField(f);
  }
}

// Without static relocations, a PIC jump table's entries are found from the
// code that reads them (Code.cpp): from the table's base up to the bound
// the index check gives, or, with no check, for as long as the words lead to
// code and no other address code refers to begins.
void Rewriter::claimJumpTables() {
  std::map<uint64_t, std::vector<const TableJump *>> byBase; // a table may serve two jumps
  for (const TableJump &t : code.tableJumps)
    byBase[t.jump.tableBase].push_back(&t);
  for (const auto &[base, jumps] : byBase)
    claimTable(base, jumps);
}

void Rewriter::claimTable(uint64_t base, const std::vector<const TableJump *> &jumps) {
  auto pinJumps = [&](const char *why) {
    for (const TableJump *j : jumps)
      pin(code.blocks[j->block], why, "at " + describe(code.blocks, j->jump.address));
  };
  const Section *s = sectionAt(base);
  if (!s || s->isExecutable()) {
    pinJumps("jump table not in loaded data");
    return;
  }
  std::optional<uint64_t> bound;
  for (const TableJump *j : jumps)
    if (j->jump.entries)
      bound = std::max(bound.value_or(0), *j->jump.entries);
  auto words = in.contents(*s);
  uint64_t end = s->addr() + words.size();
  auto isOtherReference = [&](uint64_t a) {
    return std::binary_search(code.dataReferences.begin(), code.dataReferences.end(), a);
  };
  uint64_t claimed = 0;
  for (uint64_t i = 0; !bound || i < *bound; ++i) {
    uint64_t place = base + 4 * i;
    if (place < base || end - place < 4 || place + 4 > end) {
      if (bound)
        pinJumps("jump table runs past its section");
      break;
    }
    if (!bound && i && (isOtherReference(place) || fieldAtPlace.count(place)))
      break;
    int32_t value;
    std::memcpy(&value, words.data() + (place - s->addr()), 4);
    uint64_t label = base + int64_t(value);
    if (!isLabel(label)) {
      if (!bound)
        break;
      pinJumps("jump table entry leads outside code");
      pinAt(label, "target of a jump table entry that is not an instruction", place);
      continue;
    }
    Field f;
    f.kind = Field::DataRelative;
    f.size = 4;
    f.place = place;
    f.base = base;
    f.target = label;
    f.what = "jump table entry";
    addField(f);
    keepIfReadOtherwise(*s, place, value, label);
    ++claimed;
  }
  if (!claimed)
    pinJumps("jump table with no entry found");
}

// verify knows the functions (and the found ones it walks): it reads an
// entry against the closest address at or below it that such code refers
// to, else against the entry itself (DataWords.h). Where the table's base is
// not that address (code nothing describes refers to it, or to an address
// inside the table), verify's reading may lead to another label. Both
// readings then keep their code in place, so that the entry keeps its value
// and both agree on it. (Where verify walks less of a found function than
// this assumes, its problems name the function, and the rewrite is tried
// again with it in place: Optimize.cpp.)
void Rewriter::keepIfReadOtherwise(const Section &s, uint64_t place, int32_t value, uint64_t label) {
  const auto &refs = code.functionDataReferences;
  auto it = std::upper_bound(refs.begin(), refs.end(), place);
  uint64_t readings[2] = {place + int64_t(value), place + int64_t(value)};
  if (it != refs.begin() && *(it - 1) >= s.addr())
    readings[0] = *(it - 1) + int64_t(value);
  // Verify stops at the first reading that leads to a label (its labels
  // are among ours); with none, it holds the entry to its value. A label
  // of code no function holds is one only if verify walked there: it may
  // read on past it.
  auto surelyLabel = [&](uint64_t r) { return code.blocks[blockAt(code.blocks, r)].isFunction; };
  bool agree = true, readsLabel = false;
  for (uint64_t r : readings) {
    if (r == label && surelyLabel(r)) {
      readsLabel = true;
      break;
    }
    if (isLabel(r)) {
      agree = false;
      pinLabel(r, "verify reads a jump table entry against another base", place);
    }
  }
  if (!agree || !readsLabel)
    pinLabel(label, "verify reads a jump table entry against another base", place);
}

// SystemTap probes (.note.stapsdt, glibc has them): each note holds the
// address of its probe, which static relocations would have described.
void Rewriter::collectProbeFields() {
  constexpr uint32_t NoteStapsdt = 3;
  for (const Section &s : in.sections()) {
    if (s.type() != SHT_NOTE || s.name != ".note.stapsdt" || !s.hasFileData())
      continue;
    auto bytes = in.contents(s);
    for (uint64_t off = 0; bytes.size() - off >= 12;) {
      uint32_t nameSize, descSize, type;
      std::memcpy(&nameSize, bytes.data() + off, 4);
      std::memcpy(&descSize, bytes.data() + off + 4, 4);
      std::memcpy(&type, bytes.data() + off + 8, 4);
      uint64_t desc = off + 12 + ((uint64_t(nameSize) + 3) & ~uint64_t(3));
      uint64_t next = desc + ((uint64_t(descSize) + 3) & ~uint64_t(3));
      if (next > bytes.size())
        fatal(in.where(s, off) + ": note runs past the section's end");
      if (type == NoteStapsdt && nameSize == 8 && !std::memcmp(bytes.data() + off + 12, "stapsdt", 8) &&
          descSize >= 8) {
        uint64_t pc;
        std::memcpy(&pc, bytes.data() + desc, 8);
        if (text.contains(pc)) {
          Field f;
          f.kind = Field::Absolute;
          f.size = 8;
          f.place = s.isAlloc() ? s.addr() + desc : desc;
          f.section = s.isAlloc() ? 0 : s.index;
          f.target = pc;
          f.what = "probe address";
          addField(f);
        }
      }
      off = next;
    }
  }
}

// Bytes that did not decode stay where they are, and may hold a branch, a
// RIP-relative operand or an offset: each displacement they could hold
// (possibleTargetsOfBytes) may lead into code. Code within 128 bytes of
// them stays: it is likely part of what elfopt cannot read (Chromium's V8
// builtins lie between metadata that does not decode, and are entered
// through an offset table elsewhere; moved with stubs, one was entered at
// its old start and Chromium hung), and every 8-bit window reaches there.
// A farther window lands on an instruction about once per 256 words of
// data: its function moves with a forwarding stub there, which a branch
// from the bytes, or an offset read from them, still reaches.
void Rewriter::suspectTargetsOfBytes(std::span<const uint8_t> bytes, uint64_t address, size_t fromBlock) {
  constexpr uint64_t Near = 128;
  for (auto [place, t] : possibleTargetsOfBytes(bytes, address)) {
    if (!code.isInstructionStart(text, t) || blockAt(code.blocks, t) == fromBlock)
      continue;
    bool near = t + Near >= address && t < address + bytes.size() + Near;
    if (near)
      pinAt(t, UndecodedNear, place);
    else
      suspectEntry(t, place, UndecodedFar);
  }
}

void Rewriter::suspectTargetsOfUndecodedCode() {
  auto textBytes = in.contents(in.sections()[text.section]);
  for (size_t bi = 0; bi < code.blocks.size(); ++bi) {
    const Block &b = code.blocks[bi];
    if (!b.decoded)
      suspectTargetsOfBytes(textBytes.subspan(b.start - text.start, b.bodyEnd - b.start), b.start, bi);
  }
  for (unsigned index : code.undecodedSections) {
    const Section &s = in.sections()[index];
    suspectTargetsOfBytes(in.contents(s), s.addr(), code.blocks.size());
  }
}

// The rule that makes a rewrite without static relocations safe: every
// 4-byte word of loaded data that, read as an offset from itself or from
// the closest address below it that code refers to (a table base), leads to
// code, and that no field describes, may be a reference to that code. So
// may an 8-byte word that leads to an instruction from itself. Such code
// moves only with a forwarding stub at each such entry (suspectEntry).
//
// An entry of a table that only found code refers to is a field here, but
// verify knows that table only if the code that refers to it moves (it
// learns bases from moved code). Where that code stays, the word keeps its
// value and is read as verify reads any word it cannot place: against the
// described functions' bases, or from itself; those readings are suspected
// too. (Code pinned later, for stubs that do not fit, is left to verify and
// the retry with the functions it names kept.)
void Rewriter::pinOrphanWords() {
  std::vector<std::pair<uint64_t, uint64_t>> claimed, foundTables; // [place, end) of data-side fields
  const std::vector<uint64_t> &described = code.describedDataReferences;
  for (const Field &f : fields) {
    if (f.section != 0)
      continue;
    // Only where its code stays (pinned by now): where it moves, the word
    // changes, and verify reads it against the base it learned there.
    bool foundTable = f.kind == Field::DataRelative && text.contains(f.target) &&
                      !std::binary_search(described.begin(), described.end(), f.base) &&
                      !code.blocks[blockAt(code.blocks, f.target)].pinned.empty();
    (foundTable ? foundTables : claimed).push_back({f.place, f.place + f.size});
  }
  // An LSDA holds offsets from its function's start, which moves whole
  // with its landing pads, and pointers to type_info objects: no word of
  // it leads to code (verify holds it unchanged).
  for (const Fde &f : fdes)
    if (f.lsdaEnd > f.lsdaBegin)
      claimed.push_back({f.lsdaBegin, f.lsdaEnd});
  std::sort(claimed.begin(), claimed.end());
  std::sort(foundTables.begin(), foundTables.end());
  for (const Section *s : loaded) {
    bool described = s->name == ".eh_frame" || s->name == ".eh_frame_hdr"; // checked FDE by FDE
    bool words = s->type() == SHT_PROGBITS || s->type() == SHT_INIT_ARRAY || s->type() == SHT_FINI_ARRAY ||
                 s->type() == SHT_PREINIT_ARRAY;
    if (!s->isExecutable() && words && !described)
      pinOrphanWordsOf(*s, claimed, foundTables);
  }
}

void Rewriter::pinOrphanWordsOf(const Section &s, std::span<const std::pair<uint64_t, uint64_t>> claimed,
                                std::span<const std::pair<uint64_t, uint64_t>> foundTables) {
  auto bytes = in.contents(s);
  auto next = std::lower_bound(claimed.begin(), claimed.end(), std::pair<uint64_t, uint64_t>(s.addr(), 0));
  auto nextFound = std::lower_bound(foundTables.begin(), foundTables.end(), std::pair<uint64_t, uint64_t>(s.addr(), 0));
  // Bases: the closest address below that any code refers to, the closest
  // that a function refers to (what verify, which knows the functions and
  // the found ones it learns, reads an entry against), and the closest that
  // a described function refers to (what it holds a word kept as it was to).
  struct Bases {
    std::span<const uint64_t> refs;
    const uint64_t *next;
    bool readsFoundTables; ///< what verify reads a kept entry of a found table against
  };
  Bases bases[3] = {{code.dataReferences, nullptr, false},
                    {code.functionDataReferences, nullptr, false},
                    {code.describedDataReferences, nullptr, true}};
  for (Bases &b : bases)
    b.next = std::upper_bound(b.refs.data(), b.refs.data() + b.refs.size(), s.addr());
  for (uint64_t a = (s.addr() + 3) & ~uint64_t(3); a + 4 <= s.addr() + bytes.size(); a += 4) {
    while (next != claimed.end() && next->second <= a)
      ++next;
    if (next != claimed.end() && next->first < a + 4)
      continue; // a field covers it
    while (nextFound != foundTables.end() && nextFound->second <= a)
      ++nextFound;
    bool inFoundTable = nextFound != foundTables.end() && nextFound->first < a + 4;
    int32_t value;
    std::memcpy(&value, bytes.data() + (a - s.addr()), 4);
    if (isLabel(a + int64_t(value)))
      suspectEntry(a + int64_t(value), a, StoredAsOffset);
    for (Bases &b : bases) {
      const uint64_t *end = b.refs.data() + b.refs.size();
      while (b.next != end && *b.next <= a)
        ++b.next;
      if (inFoundTable && !b.readsFoundTables)
        continue; // its own base, or one verify learns only with it
      if (b.next != b.refs.data() && *(b.next - 1) >= s.addr() && isLabel(*(b.next - 1) + int64_t(value)))
        suspectEntry(*(b.next - 1) + int64_t(value), a, StoredAsOffset);
    }
    if (a % 8 == 0 && a + 8 <= s.addr() + bytes.size() && !inFoundTable &&
        (next == claimed.end() || next->first >= a + 8)) {
      int64_t wide;
      std::memcpy(&wide, bytes.data() + (a - s.addr()), 8);
      if (code.isInstructionStart(text, a + wide))
        suspectEntry(a + wide, a, StoredAsOffset);
    }
  }
}

// The stubs of each block with suspected entries that may move; a block
// whose stubs do not fit stays instead, with the reason.
void Rewriter::planForwardingStubs() {
  x86_64::Decoder decoder; // one: making one sets up LLVM's disassembler
  for (auto &[bi, entries] : suspected) {
    Block &b = code.blocks[bi];
    if (!b.pinned.empty())
      continue; // it stays: nothing to forward
    std::sort(entries.begin(), entries.end());
    entries.erase(std::unique(entries.begin(), entries.end()), entries.end());
    // What may lead into a function from where elfopt cannot read may lead
    // to its start too: it gets a stub as well where one fits.
    std::optional<std::vector<StubRegion>> regions;
    if (b.isFunction && entries.front() != b.start) {
      std::vector<uint64_t> withStart = entries;
      withStart.insert(withStart.begin(), b.start);
      regions = planStubsOf(bi, withStart, decoder);
    }
    if (!regions)
      regions = planStubsOf(bi, entries, decoder);
    if (regions)
      stubs[bi] = std::move(*regions);
    else
      pin(b, "entries stored in data too close together or to its end for forwarding jumps",
          "at " + describe(code.blocks, entries.front()));
  }
}

// The stubs that serve \p entries (sorted, unique) of block \p bi in its
// old place, or none where they do not fit.
std::optional<std::vector<StubRegion>> Rewriter::planStubsOf(size_t bi, std::span<const uint64_t> entries,
                                                             const x86_64::Decoder &decoder) const {
  auto textBytes = in.contents(in.sections()[text.section]);
  const Block &b = code.blocks[bi];
  auto bytesAt = [&](uint64_t a) { return textBytes.subspan(a - text.start, b.bodyEnd - a); };
  StubCode stubCode;
  stubCode.next = [&](uint64_t a) {
    do
      ++a;
    while (a < b.bodyEnd && !code.isInstructionStart(text, a));
    return a;
  };
  // A kept instruction runs in the old place, where no FDE covers it: no
  // call (an exception could not unwind through it). An 8-bit operand
  // cannot reach its target's new place: it stays as it was, and its old
  // target gets a stub too (Stubs.h).
  bool endTraps = b.bodyEnd < b.end && textBytes[b.bodyEnd - text.start] == x86_64::BreakpointByte;
  // Where that old target can take a stub: an instruction of this
  // function, or its end label followed by int3.
  auto shortTarget = [&](const x86_64::Instruction &i) -> std::optional<uint64_t> {
    if (!i.field || i.field->size != 1 || !i.field->isBranch)
      return std::nullopt;
    uint64_t t = i.field->target;
    if (t >= b.start && t < b.bodyEnd && code.isInstructionStart(text, t))
      return t;
    if (t == b.bodyEnd && endTraps)
      return t;
    return std::nullopt;
  };
  stubCode.copyable = [&](uint64_t a) {
    auto i = decoder.decode(bytesAt(a), a);
    return i && i->understood && !i->isCall && (!i->field || i->field->size == 4 || shortTarget(*i));
  };
  stubCode.keepFirst = [&](uint64_t a) {
    auto x = bytesAt(a);
    return x.size() >= sizeof x86_64::Endbr64 && std::equal(std::begin(x86_64::Endbr64), std::end(x86_64::Endbr64), x.begin());
  };
  stubCode.shortTarget = [&](uint64_t a) -> std::optional<uint64_t> {
    auto i = decoder.decode(bytesAt(a), a);
    return i ? shortTarget(*i) : std::nullopt;
  };
  stubCode.endsFlow = [&](uint64_t a) {
    auto i = decoder.decode(bytesAt(a), a);
    return i && i->endsFlow;
  };
  stubCode.bodyEnd = b.bodyEnd;
  stubCode.limit = b.end;
  stubCode.endTraps = endTraps;
  return planStubs(entries, stubCode);
}

// In the new segment, the old places stay as they are but for int3 and
// stubs: each moved function's start gets a stub too, as BOLT's
// non-relocation mode patches every old entry. Nothing elfopt reads leads
// there, but code may compute it (Chromium enters V8's JSEntry builtins at
// the blob's start plus an offset from its own tables). Where no stub fits
// with the block's other entries, those keep theirs.
void Rewriter::addStubsAtMovedStarts() {
  x86_64::Decoder decoder;
  for (size_t bi = 0; bi < code.blocks.size(); ++bi) {
    const Block &b = code.blocks[bi];
    if (!b.isFunction || !b.pinned.empty() || b.newStart == b.start)
      continue;
    auto known = suspected.find(bi);
    std::vector<uint64_t> entries = known != suspected.end() ? known->second : std::vector<uint64_t>{};
    if (!entries.empty() && entries.front() == b.start)
      continue; // a suspected entry: its stub is planned
    if (auto planned = stubs.find(bi); planned != stubs.end() && !planned->second.empty() &&
        planned->second.front().start == b.start) {
      // planForwardingStubs added the start already: the same plan again.
      suspectedWhy[bi].insert(MovedStart);
      continue;
    }
    entries.insert(entries.begin(), b.start);
    if (auto regions = planStubsOf(bi, entries, decoder)) {
      stubs[bi] = std::move(*regions);
      suspectedWhy[bi].insert(MovedStart);
    }
  }
}

// Each moved block's stubs, in its old place: the kept instructions with
// their operands following their targets, then the jump (if it has one).
void Rewriter::writeForwardingStubs(NewCode &newCode) {
  // Stubs stand in the old places, which are in .text.
  std::vector<uint8_t> &newText = newCode.text;
  auto oldText = in.contents(in.sections()[text.section]);
  x86_64::Decoder decoder;
  for (const auto &[bi, regions] : stubs) {
    const Block &b = code.blocks[bi];
    if (b.newStart == b.start)
      continue;
    for (const StubRegion &r : regions) {
      for (uint64_t a = r.start; a < r.jumpAt;) {
        auto i = decoder.decode(oldText.subspan(a - text.start, r.jumpAt - a), a);
        if (!i) // planForwardingStubs decoded these
          fatal(in.whereAddress(a) + ": internal: a kept instruction of a forwarding stub does not decode",
                ExitInternal);
        std::memcpy(newText.data() + (a - text.start), oldText.data() + (a - text.start), i->size);
        if (i->field && i->field->size == 1) {
          // An 8-bit branch keeps its target: a stub of this block is there.
        } else if (i->field) {
          int64_t value = int64_t(map.map(i->field->target) - (a + i->size));
          int32_t field = int32_t(value);
          if (field != value)
            fatal(in.whereAddress(a) + ": internal: a kept instruction's operand no longer fits", ExitInternal);
          std::memcpy(newText.data() + (a - text.start + i->field->offset), &field, 4);
        }
        a += i->size;
      }
      if (r.jumps) {
        int32_t jump = int32_t(int64_t(map.map(r.jumpAt) - (r.jumpAt + x86_64::JumpRel32Size)));
        newText[r.jumpAt - text.start] = x86_64::JumpRel32;
        std::memcpy(newText.data() + (r.jumpAt - text.start + 1), &jump, 4);
      }
      ++report.forwardingStubs;
      report.forwardingStubBytes += r.end() - r.start;
    }
    ++report.forwardedBlocks;
    for (std::string_view why : suspectedWhy[bi])
      ++report.forwardedWhy[std::string(why)];
  }
}

// Padding that something refers to is code: a function entered through the
// nops before the next one (libLLVM has function pointers to such entries).
// Both blocks and the bytes between keep their place. A branch or table
// entry to a function's very end is GCC's label for unreachable cases; an
// address stored in data that points there is an entry.
void Rewriter::keepEnteredPadding() {
  for (const auto *list : {&code.fields, &fields})
    for (const Field &f : *list) {
      if (!text.contains(f.target))
        continue;
      size_t bi = blockAt(code.blocks, f.target);
      Block &b = code.blocks[bi];
      if (f.target < b.bodyEnd || (f.target == b.bodyEnd && f.kind != Field::Absolute))
        continue;
      std::string at = "at " + describe(code.blocks, f.target);
      b.bodyEnd = b.end;
      pin(b, "entered in the padding after it", at);
      if (bi + 1 < code.blocks.size())
        pin(code.blocks[bi + 1], "entered in the padding before it", at);
    }
}

// Two descriptions of overlapping bytes (a hostile or corrupt relocation
// section; linkers never write them) would make the output depend on the
// order of writes.
void Rewriter::checkOverlaps() const {
  std::vector<std::tuple<unsigned, uint64_t, uint64_t>> spans; // section, place, end
  spans.reserve(code.fields.size() + fields.size());
  for (const auto *list : {&code.fields, &fields})
    for (const Field &f : *list)
      spans.push_back({f.section, f.place, f.place + f.size});
  std::sort(spans.begin(), spans.end());
  for (size_t i = 1; i < spans.size(); ++i) {
    auto [s0, p0, e0] = spans[i - 1];
    auto [s1, p1, e1] = spans[i];
    if (s0 == s1 && p1 < e0)
      fatal(where(s1, p1) + ": reference to code overlaps the one " + std::to_string(p1 - p0) +
            " bytes before it (a corrupt relocation section?)");
  }
}

void Rewriter::bondUnwindRanges() {
  auto bond = [&](uint64_t a, uint64_t b, const char *why) {
    if (!text.contains(a) || !text.contains(b))
      return;
    size_t i = blockAt(code.blocks, a), j = blockAt(code.blocks, b);
    if (i == j)
      return;
    code.bonds.push_back({i, j, why});
  };
  for (const Fde &f : fdes) {
    if (f.pcEnd > f.pcBegin)
      bond(f.pcBegin, f.pcEnd - 1, "one FDE covers several functions");
    for (uint64_t pad : f.landingPads)
      bond(f.pcBegin, pad, "landing pad in another function");
  }
}

// A bond between blocks a < b glues every block from a to b, so the groups
// are the maximal runs of glued neighbours.
void Rewriter::computeGroups() {
  size_t n = code.blocks.size();
  glued.assign(n, false);
  for (const Bond &bond : code.bonds) {
    auto [a, b] = std::minmax(bond.first, bond.second);
    for (size_t i = a; i < b; ++i)
      if (!glued[i]) {
        glued[i] = true;
        ++report.bondedWhy[bond.why];
      }
  }
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j + 1 < n && glued[j])
      ++j;
    for (size_t k = i; k <= j; ++k)
      code.blocks[k].group = unsigned(groups.size());
    if (j > i)
      report.bondedBlocks += j - i + 1;
    groups.push_back({i, j});
    i = j + 1;
  }
}

void Rewriter::checkDebugInfo() {
  auto problem = debugInfoProblem(in, code.blocks);
  if (!problem)
    return;
  if (!options.stripDebug)
    fatal(in.name() + ": " + *problem +
          ", so the debug info cannot follow the new layout; pass --strip-debug to drop it, "
          "or rebuild with -ffunction-sections");
  dropDebug = true;
}

// ELFOPT_DEBUG_BLOCKS=1: the plan, block by block, on stderr.
void Rewriter::dumpBlocks() const {
  if (std::getenv("ELFOPT_DEBUG_BLOCKS"))
    for (const Block &b : code.blocks)
      std::fprintf(stderr, "block %llx-%llx-%llx -> %llx group %u glued %d pinned '%s' falls %d decoded %d\n",
                   (unsigned long long)b.start, (unsigned long long)b.bodyEnd, (unsigned long long)b.end,
                   (unsigned long long)b.newStart, b.group, int(glued[&b - code.blocks.data()]), b.pinned.c_str(),
                   int(b.fallsThrough), int(b.decoded));
}

// Room outside .text for the ordered code of \p items (the groups as
// placement sees them), for reason \p why (or always, if asked for): the
// input with it, which the rest starts from. Every fact gathered so far
// holds there: the editor added a section and moved none that holds or
// refers to code. Returns whether there is room now.
bool Rewriter::makeRoomIfNeeded(const std::vector<PlaceItem> &items, const std::optional<std::string> &why) {
  if (!options.makeRoom || room.section)
    return false;
  bool needed = why || options.roomWhen == RewriteOptions::RoomWhen::Always;
  uint64_t bytes = 0;
  for (const PlaceItem &it : items)
    if (!it.pinned && it.rank != SIZE_MAX)
      bytes += it.bodyEnd - it.start + it.align - 1;
  if (!needed || bytes == 0)
    return false;
  withRoom = options.makeRoom((bytes + 4095) / 4096 * 4096, why.value_or("asked for (--new-segment)"));
  if (!withRoom)
    return false;
  room = findRoom(*withRoom);
  if (withRoom->sections().size() != in.sections().size() + 1 || findText(*withRoom).start != text.start)
    fatal(in.name() + ": internal: the file with room is not the input with one section added", ExitInternal);
  return true;
}

// Whether the plan in .text spreads the ordered code: some of it kept for
// want of a slot, or the span it takes longer than its bytes by a quarter
// and a MiB (pages a start reads for code it does not run). Then room
// outside .text pays; else it would only cost (sections moved for the new
// program header, a segment apart).
std::optional<std::string> Rewriter::spreadsOrderedCode(const std::vector<PlaceItem> &items,
                                                        const Placement &placement) const {
  if (!placement.fits || placement.orderIgnored)
    return "in .text, the ordered code would not fit in order";
  if (!placement.kept.empty())
    return "in .text, " + std::to_string(placement.kept.size()) + " ordered function" +
           (placement.kept.size() == 1 ? "" : "s") + " would find no slot";
  uint64_t bytes = 0, low = UINT64_MAX, high = 0;
  for (size_t g = 0; g < items.size(); ++g) {
    const PlaceItem &it = items[g];
    if (it.pinned || it.rank == SIZE_MAX)
      continue;
    bytes += it.bodyEnd - it.start;
    low = std::min(low, placement.newStart[g]);
    high = std::max(high, placement.newStart[g] + (it.bodyEnd - it.start));
  }
  if (!bytes || high - low <= bytes + bytes / 4 + (uint64_t(1) << 20))
    return std::nullopt;
  char text[160];
  std::snprintf(text, sizeof text, "in .text, the ordered code (%.1f MB) would be spread over %.1f MB",
                bytes / 1e6, (high - low) / 1e6);
  return std::string(text);
}

void Rewriter::place() {
  // What placement needs of each group.
  struct Placed {
    size_t first, last;
    uint64_t start, bodyEnd, end, align;
    bool isCxx = false;
    bool pinned = false;
    size_t rank = SIZE_MAX;
  };
  std::vector<Placed> placed;
  for (const Group &g : groups) {
    const Block &first = code.blocks[g.first], &last = code.blocks[g.last];
    Placed one{g.first, g.last, first.start, last.bodyEnd, last.end, first.align};
    one.isCxx = first.isCxx;
    placed.push_back(one);
  }
  // Ranks from the order; a group ranks by its first ordered member.
  for (size_t pos = 0; pos < options.order.size(); ++pos) {
    uint64_t a = options.order[pos];
    if (!text.contains(a))
      continue;
    Placed &g = placed[code.blocks[blockAt(code.blocks, a)].group];
    g.rank = std::min(g.rank, pos);
  }
  std::vector<PlaceItem> items;
  auto placeAll = [&] {
    items.clear();
    bool withStubs = false;
    for (Placed &g : placed) {
      g.pinned = false;
      PlaceItem item{g.start, g.bodyEnd, g.align, g.isCxx, false, g.rank, {}};
      for (size_t k = g.first; k <= g.last; ++k) {
        g.pinned |= !code.blocks[k].pinned.empty();
        if (auto it = stubs.find(k); it != stubs.end())
          for (const StubRegion &r : it->second)
            item.stubs.push_back({r.start, r.end()});
      }
      item.pinned = g.pinned;
      withStubs |= !item.pinned && !item.stubs.empty();
      items.push_back(std::move(item));
    }
    if (room.section)
      return placeInRoom(items, room.start, room.end);
    return withStubs ? placeWithStubs(items, text.start, text.end) : placeItems(items, text.start, text.end);
  };
  Placement placement = placeAll();
  // Room outside .text where the plan here would spread the ordered code.
  if (makeRoomIfNeeded(items, spreadsOrderedCode(items, placement)))
    placement = placeAll();
  if (!placement.fits && !stubs.empty()) {
    // The stubs left no room: what they would have served stays instead.
    for (const auto &[bi, regions] : stubs)
      pin(code.blocks[bi], "its address may be stored in data as an offset; no room for forwarding jumps",
          "at " + describe(code.blocks, regions.front().start));
    stubs.clear();
    placement = placeAll();
  }
  for (size_t g : placement.kept) { // fitted nowhere around the stubs, or past the room
    for (size_t k = placed[g].first; k <= placed[g].last; ++k)
      pin(code.blocks[k],
          room.section ? "the room made for the ordered code is full"
                       : "its address may be stored in data as an offset; no room to move it around forwarding jumps",
          "at " + describe(code.blocks, code.blocks[k].start));
    placed[g].pinned = true;
  }
  for (const Block &b : code.blocks) {
    report.functions += b.isFunction;
    if (!b.pinned.empty()) {
      ++report.pinnedBlocks;
      report.pinnedBytes += b.end - b.start;
      ++report.pinnedWhy[b.pinned];
      report.kept.push_back({b.name, b.start, b.end - b.start, b.pinned, b.pinnedAt});
    }
  }
  if (!placement.fits) {
    // Nothing is lost by keeping the layout: the output is still sound, and
    // the report says why nothing moved.
    warn(in.name() + ": the movable functions do not fit around the " + std::to_string(report.pinnedBlocks) +
         " kept in place (" + std::to_string(report.pinnedBytes) + " bytes); nothing moves");
    report.orderIgnored = true;
    for (size_t g = 0; g < placed.size(); ++g)
      placement.newStart[g] = placed[g].start;
  } else if (placement.orderIgnored) {
    warn(in.name() + ": the functions fit around the ones kept in place only when packed by "
                     "size; the order is not followed");
    report.orderIgnored = true;
  }
  const std::vector<uint64_t> &newStart = placement.newStart;

  for (size_t g = 0; g < placed.size(); ++g) {
    const Placed &gr = placed[g];
    uint64_t to = gr.pinned ? gr.start : newStart[g];
    for (size_t k = gr.first; k <= gr.last; ++k)
      code.blocks[k].newStart = code.blocks[k].start - gr.start + to;
    if (to != gr.start) {
      map.add(gr.start, gr.end - gr.start, to);
      report.movedBlocks += gr.last - gr.first + 1;
      report.movedBytes += gr.bodyEnd - gr.start;
    }
    // Ordered functions, counted once each: a group may hold several, or
    // none (an order address in bytes no symbol describes).
    if (gr.rank != SIZE_MAX)
      for (size_t k = gr.first; k <= gr.last; ++k) {
        const Block &b = code.blocks[k];
        if (!b.isFunction)
          continue;
        bool stays = gr.pinned || !placement.fits;
        (stays ? report.orderedPinned : report.orderedPlaced) += 1;
        (stays ? report.orderedPinnedBytes : report.orderedFrontBytes) += b.bodyEnd - b.start;
      }
  }
  map.finish();
  if (room.section)
    addStubsAtMovedStarts();
  dumpBlocks();
}

void Rewriter::writeField(ElfEditor &editor, const Field &f, NewCode &newCode) {
  uint64_t place = text.contains(f.place) && f.section == 0 ? map.map(f.place) : f.place;
  int64_t value = 0;
  switch (f.kind) {
  case Field::CodeRelative:
    value = int64_t(map.map(f.target) - (f.base + (place - f.place)));
    break;
  case Field::DataRelative:
    value = int64_t(map.map(f.target) - f.base);
    break;
  case Field::Absolute:
    value = int64_t(map.map(f.target));
    break;
  }
  bool fits = f.size == 8 ||
              (f.isSigned ? value >= -(int64_t(1) << (8 * f.size - 1)) &&
                                value < (int64_t(1) << (8 * f.size - 1))
                          : uint64_t(value) < (uint64_t(1) << (8 * f.size)));
  if (!fits)
    fatal(where(f.section, f.place) + ": internal: " + f.what + " no longer fits in " + std::to_string(f.size) +
              " bytes",
          ExitInternal);
  uint8_t *out;
  if (f.section) {
    out = editor.mutableContents(f.section).data() + f.place;
  } else if (text.contains(f.place)) {
    out = newCode.at(place);
  } else {
    const Section *s = sectionAt(f.place);
    if (!s || f.place - s->addr() + f.size > s->size())
      fatal(in.whereAddress(f.place) + ": " + f.what + " is not in a loaded section");
    out = editor.mutableContents(s->index).data() + (f.place - s->addr());
  }
  int64_t old = 0;
  std::memcpy(&old, out, f.size);
  if (f.size < 8 && f.isSigned)
    old = (old << (64 - 8 * f.size)) >> (64 - 8 * f.size);
  if (old != value || f.size == 8) {
    std::memcpy(out, &value, f.size);
    if (std::memcmp(&old, &value, f.size))
      ++report.fieldsUpdated[f.what];
  }
}

void Rewriter::apply(ElfEditor &editor) {
  // The code first: fields are then patched into the moved copy.
  NewCode newCode = copyMovedCode();
  // In the old places of moved code, which placement kept free for them.
  writeForwardingStubs(newCode);
  // Fields before relocations: a PC-relative addend follows its field's change.
  FieldDeltas delta = writeFields(editor, newCode);
  // Symbols, so that tools (and verify) find each function at its new address.
  moveSymbols(editor);
  // After writeFields, for the deltas: S + A (- P) must still give each field.
  updateStaticRelocations(editor, delta);
  // The loader's view: dynamic relocation addends that are code addresses.
  updateDynamicRelocations(editor);
  // Where the loader starts code: e_entry, DT_INIT and DT_FINI.
  updateEntryPoints(editor);
  // Unwinders binary-search .eh_frame_hdr: it is sorted by the new addresses.
  if (const Section *hdr = in.findSection(".eh_frame_hdr"); hdr && hdr->hasFileData())
    rebuildEhFrameHdr(in, fdes, editor.mutableContents(hdr->index),
                      [&](uint64_t a) { return map.map(a); });
  // checkDebugInfo decided the debug info cannot follow the new layout.
  if (dropDebug)
    dropDebugSections(editor);
}

// The new .text (and room): pinned code in place, moved groups at their
// new start, int3 in between.
Rewriter::NewCode Rewriter::copyMovedCode() const {
  auto oldText = in.contents(in.sections()[text.section]);
  NewCode out;
  out.text.assign(oldText.size(), x86_64::PaddingByte);
  out.textStart = text.start;
  out.room.assign(room.end - room.start, x86_64::PaddingByte);
  out.roomStart = room.start;
  for (const Group &g : groups) {
    const Block &first = code.blocks[g.first];
    // Up to the end of the last body: the padding after it is free space
    // that moved code may now use.
    uint64_t end = code.blocks[g.last].bodyEnd;
    std::memcpy(out.at(first.newStart), oldText.data() + (first.start - text.start), end - first.start);
  }
  return out;
}

// The change of the value of field \p f, which lives at a loaded address.
int64_t Rewriter::fieldDelta(const Field &f) const {
  uint64_t place = text.contains(f.place) ? map.map(f.place) : f.place;
  uint64_t before = f.target - (f.kind == Field::Absolute ? 0 : f.base);
  uint64_t after = map.map(f.target) - (f.kind == Field::Absolute         ? 0
                                        : f.kind == Field::CodeRelative ? f.base + (place - f.place)
                                                                        : f.base);
  return int64_t(after - before);
}

// Every field, recomputed from the original bytes; then the new .text is
// written. Returns each loaded field's change of value, sorted by place.
Rewriter::FieldDeltas Rewriter::writeFields(ElfEditor &editor, NewCode &newCode) {
  FieldDeltas delta;
  delta.reserve(code.fields.size() + fields.size());
  for (const auto *list : {&code.fields, &fields})
    for (const Field &f : *list) {
      writeField(editor, f, newCode);
      if (!f.section)
        delta.push_back({f.place, fieldDelta(f)});
    }
  std::memcpy(editor.mutableContents(text.section).data(), newCode.text.data(), newCode.text.size());
  if (room.section)
    std::memcpy(editor.mutableContents(room.section).data(), newCode.room.data(), newCode.room.size());
  std::sort(delta.begin(), delta.end());
  return delta;
}

void Rewriter::moveSymbols(ElfEditor &editor) {
  for (const Section &s : in.sections()) {
    if (s.type() != SHT_SYMTAB && s.type() != SHT_DYNSYM)
      continue;
    auto bytes = editor.mutableContents(s.index);
    auto *syms = reinterpret_cast<ELFT::Sym *>(bytes.data());
    for (size_t i = 0; i < bytes.size() / sizeof(ELFT::Sym); ++i)
      if (syms[i].st_shndx == text.section && syms[i].getType() != STT_SECTION) {
        uint64_t v = map.map(syms[i].st_value);
        if (v != syms[i].st_value) {
          syms[i].st_value = v;
          if (room.contains(v))
            syms[i].st_shndx = uint16_t(room.section);
          ++report.fieldsUpdated[s.type() == SHT_SYMTAB ? "symbol (.symtab)" : "symbol (.dynsym)"];
        }
      }
  }
}

// Static relocations: places that moved, and addends so that S + A (- P)
// still gives each field, as a linker would have written them.
void Rewriter::updateStaticRelocations(ElfEditor &editor, const FieldDeltas &delta) {
  for (const Relocations &r : relocations) {
    auto bytes = editor.mutableContents(r.section->index);
    auto *rela = reinterpret_cast<ELFT::Rela *>(bytes.data());
    bool changed = false;
    for (size_t i = 0; i < r.entries.size(); ++i) {
      const auto &e = r.entries[i];
      auto [place, addend] = updatedRelocation(r, e, delta);
      if (place != e.r_offset || addend != uint64_t(e.r_addend)) {
        rela[i].r_offset = place;
        rela[i].r_addend = int64_t(addend);
        changed = true;
      }
    }
    if (changed)
      ++report.fieldsUpdated["static relocation section"];
  }
}

// Relocation \p e's new place and addend.
std::pair<uint64_t, uint64_t> Rewriter::updatedRelocation(const Relocations &r, const ELFT::Rela &e,
                                                          const FieldDeltas &delta) const {
  const Symbol &sym = (*r.symbols)[e.getSymbol(false)];
  uint32_t type = e.getType(false);
  bool symbolMoves = sym.shndx == text.section && sym.type != STT_SECTION;
  // Addends are arithmetic modulo 2^64, as the linker's.
  uint64_t dS = symbolMoves ? map.map(sym.value) - sym.value : 0;
  uint64_t place = r.target->index == text.section ? map.map(e.r_offset) : e.r_offset;
  uint64_t addend = uint64_t(e.r_addend);
  if (isAbsoluteRelocation(type)) {
    uint64_t sa = sym.value + uint64_t(e.r_addend);
    if (sym.shndx == text.section)
      addend = map.map(sa) - sym.value - dS;
  } else if (isPcRelativeRelocation(type) && r.target->isAlloc()) {
    auto d = std::lower_bound(delta.begin(), delta.end(), std::pair<uint64_t, int64_t>(e.r_offset, INT64_MIN));
    uint64_t dField = d != delta.end() && d->first == e.r_offset ? uint64_t(d->second) : 0;
    addend = uint64_t(e.r_addend) + dField + (place - e.r_offset) - dS;
  }
  return {place, addend};
}

void Rewriter::updateDynamicRelocations(ElfEditor &editor) {
  for (const Section &s : in.sections()) {
    if (s.type() != SHT_RELA || !s.isAlloc())
      continue;
    auto bytes = editor.mutableContents(s.index);
    auto *rela = reinterpret_cast<ELFT::Rela *>(bytes.data());
    for (size_t i = 0; i < bytes.size() / sizeof(ELFT::Rela); ++i) {
      if (!dynamicAddendIsAddress(rela[i]))
        continue;
      uint64_t v = map.map(uint64_t(rela[i].r_addend));
      if (v != uint64_t(rela[i].r_addend)) {
        rela[i].r_addend = int64_t(v);
        ++report.fieldsUpdated["dynamic relocation addend"];
      }
    }
  }
}

// The entry point and DT_INIT/DT_FINI.
void Rewriter::updateEntryPoints(ElfEditor &editor) {
  uint64_t entry = in.header().e_entry;
  if (map.map(entry) != entry) {
    editor.setEntry(map.map(entry));
    ++report.fieldsUpdated["entry point"];
  }
  for (Dyn &d : editor.mutableDynamic())
    if (d.d_tag == DT_INIT || d.d_tag == DT_FINI) {
      uint64_t v = map.map(d.d_un.d_ptr);
      if (v != d.d_un.d_ptr) {
        d.d_un.d_ptr = v;
        ++report.fieldsUpdated["DT_INIT/DT_FINI"];
      }
    }
}

void Rewriter::dropDebugSections(ElfEditor &editor) {
  for (const Section &s : in.sections()) {
    bool debugRelocations = s.type() == SHT_RELA && !s.isAlloc() && s.header.sh_info < in.sections().size() &&
                            isDebugSection(in.sections()[s.header.sh_info].name);
    // By name, but only what a debug section can be: never the section
    // name table or a loaded section that a hostile name makes look like one.
    bool debugBytes = isDebugSection(s.name) && s.type() == SHT_PROGBITS && !s.isAlloc() &&
                      s.index != in.header().e_shstrndx;
    if (debugBytes || debugRelocations)
      editor.shrinkSection(s.index, 0);
  }
  report.strippedDebug = true;
}

RewriteResult Rewriter::run() {
  // ELFOPT_TIMES=1: each phase's wall time on stderr (for bench/).
  bool times = std::getenv("ELFOPT_TIMES") != nullptr;
  auto last = std::chrono::steady_clock::now();
  auto phase = [&](const char *name, const char *next) {
    auto now = std::chrono::steady_clock::now();
    if (times)
      std::fprintf(stderr, "time %-12s %7.3f s\n", name, std::chrono::duration<double>(now - last).count());
    last = now;
    if (options.progress && next)
      options.progress(next);
  };
  if (options.progress)
    options.progress("reading");
  text = findText(in);
  for (const Section &s : in.sections())
    if (s.isAlloc() && s.hasFileData() && s.size() && in.contents(s).size() == s.size())
      loaded.push_back(&s);
  std::sort(loaded.begin(), loaded.end(), [](const Section *a, const Section *b) { return a->addr() < b->addr(); });
  report.textStart = text.start;
  report.textSize = text.end - text.start;
  readRelocations();
  fdes = readEhFrame(in);
  phase("read", "decoding .text");
  std::vector<std::pair<uint64_t, uint64_t>> found; // functions found in undescribed code, analysed
  if (options.undescribedFunctions) {
    code = analyseCode(in, text, fdes, relocationFree, *options.undescribedFunctions);
    found = *options.undescribedFunctions;
  } else {
    code = analyseCode(in, text, fdes, relocationFree);
    // Code nothing describes: the functions control flow proves in it are
    // analysed again, as described ones, from the start. (With static
    // relocations for .text, what they describe is all that moves.)
    std::vector<std::pair<uint64_t, uint64_t>> discovered;
    if (relocationFree)
      discovered = discoverFunctions(in, text, code);
    if (!discovered.empty()) {
      phase("decode", "decoding .text with the functions found in undescribed code");
      // Freed first: assigned over, the first analysis would live on beside
      // the second one's decoding, the peak of a large rewrite.
      code = {};
      code = analyseCode(in, text, fdes, relocationFree, discovered);
      found = std::move(discovered);
    }
  }
  for (const Block &b : code.blocks)
    if (b.discovered) {
      ++report.discoveredFunctions;
      report.discoveredBytes += b.bodyEnd - b.start;
    }
  if (std::none_of(code.blocks.begin(), code.blocks.end(), [](const Block &b) { return b.isFunction; }))
    warn(in.name() + ": no function boundaries in .text (no .symtab, no .eh_frame FDEs or sized .dynsym "
                     "functions there, none found by following control flow): nothing can move");
  phase("decode", "finding references");
  bondUnwindRanges();
  computeGroups();
  if (!relocationFree) // else checkRelocationFree decided
    checkDebugInfo();
  collectDataFields();
  phase("references", "placing");
  place();
  phase("place", "patching");
  ElfEditor editor(withRoom ? *withRoom : in);
  apply(editor);
  phase("apply", "writing");
  RewriteResult result;
  result.bytes = editor.serialize();
  result.report = std::move(report);
  result.map = std::move(map);
  result.foundFunctions = std::move(found);
  phase("serialize", nullptr);
  return result;
}

} // namespace

} // namespace rewrite

std::vector<std::pair<uint64_t, uint64_t>> findUndescribedFunctions(const ElfFile &in) {
  try {
    rewrite::TextInfo text = rewrite::findText(in);
    bool relocationFree = std::none_of(in.sections().begin(), in.sections().end(), [&](const Section &s) {
      return s.type() == SHT_RELA && !s.isAlloc() && s.header.sh_info == text.section;
    });
    if (!relocationFree)
      return {}; // static relocations describe what moves (rewriteText)
    rewrite::CodeFacts facts = rewrite::analyseCode(in, text, readEhFrame(in), relocationFree);
    return rewrite::discoverFunctions(in, text, facts);
  } catch (const FatalError &) {
    return {}; // the rewrite says what is wrong with the file, if asked to rewrite it
  }
}

RewriteResult rewriteText(const ElfFile &in, const RewriteOptions &options) {
  return rewrite::Rewriter(in, options).run();
}

} // namespace elfopt
