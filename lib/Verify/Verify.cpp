//===- Verify.cpp ---------------------------------------------------------===//
#include "elfopt/Verify/Verify.h"
#include "DataWords.h"

#include "elfopt/Elf/EhFrame.h"
#include "elfopt/Elf/Relocations.h"
#include "elfopt/Support/Diagnostics.h"
#include "elfopt/Support/Parallel.h"
#include "elfopt/Target/X86Decoder.h"
#include "elfopt/Target/X86_64.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <set>

using namespace llvm::ELF;

namespace elfopt {

namespace {

constexpr size_t MaxProblems = 20; // the first ones say enough
/// Where compilers start functions (clang and GCC at -O2 on x86-64).
constexpr uint64_t FunctionAlignment = 16;

// Where `rewrite --new-segment` puts the ordered code (named here too:
// verify shares nothing with the rewriter but the decoder).
constexpr const char *RoomSection = ".elfopt.text";

class Verifier {
public:
  Verifier(const ElfFile &a, const ElfFile &b) : before(a), after(b) {}
  VerifyReport run();

private:
  /// \p code: addresses of code (in either file) the problem is about,
  /// where keeping code in place may avoid it (VerifyReport::problemCode).
  void problem(const std::string &p, std::initializer_list<uint64_t> code = {}) {
    report.problemCode.insert(report.problemCode.end(), code.begin(), code.end());
    if (std::getenv("ELFOPT_DEBUG_PROBLEMS"))
      std::fprintf(stderr, "problem: %s\n", p.c_str());
    if (report.problems.size() < MaxProblems)
      report.problems.push_back(p);
    else if (report.problems.size() == MaxProblems)
      report.problems.push_back("... (more problems not listed)");
  }
  uint64_t map(uint64_t a, bool inclusiveEnd = false) const;
  bool checkStructure();
  void buildMap();
  void checkSymbols();
  void buildMapFromUnwindAndDynamicSymbols();
  void addFunction(uint64_t from, uint64_t size, uint64_t to);
  void mergeFunctions();
  bool readsWordsAsEntries(const Section &s) const;
  bool inFunction(uint64_t a) const;
  void checkEntriesOutsideFunctions();
  void checkCode();
  void checkOtherCode();
  /// Old address -> new address of a reference into code outside every
  /// function that changed: undescribed code the rewrite moved.
  struct Move {
    uint64_t from = 0, to = 0;
    uint64_t at = 0; ///< where the reference is, in the original
    /// False when read from bytes past the end of the flow that merely
    /// matched: they may be data, so a disagreement there is no problem.
    bool certain = true;
  };
  void learnMovedCode();
  void gatherStoredMoves();
  bool isUndescribedCode(uint64_t a) const;
  std::optional<uint64_t> stubTarget(uint64_t a) const;
  void drainMoves(bool extend);
  bool gatherTableMoves();
  std::set<uint64_t> tablesRead; ///< bases gatherTableMoves read from
  bool endsFlowBefore(const x86_64::Instruction &i, uint64_t next) const;
  bool flowRunsTo(uint64_t from, uint64_t end) const;
  uint64_t walkMovedCode(uint64_t from, int64_t delta, bool certain, bool inFlow, bool extend, uint64_t by,
                         bool bridge = false);
  void learnStretch(uint64_t from, uint64_t end, int64_t delta, uint64_t by);
  std::vector<Move> moves;
  /// What learnMovedCode found: runs of undescribed code, each moved by one
  /// displacement, by start.
  struct Stretch {
    uint64_t end = 0;
    int64_t delta = 0;
    uint64_t by = 0; ///< the reference it was learned from
  };
  std::map<uint64_t, Stretch> stretches;
  void checkUnwind();
  void checkDynamic();
  void checkData();
  void checkRoom();
  /// Whether \p a lies in the room of the ordered code (none: false).
  bool inRoom(uint64_t a) const { return room && a >= room->addr() && a - room->addr() < room->size(); }
  /// The rewritten code at new address \p a (in .text or the room), to
  /// the end of its section.
  std::span<const uint8_t> newCodeAt(uint64_t a) const;

  const ElfFile &before, &after;
  VerifyReport report;
  const Section *text = nullptr;
  /// `rewrite --new-segment`: the section added for the ordered code, all
  /// int3 in the file before the rewrite; where moved functions may go.
  const Section *room = nullptr;
  struct Moved {
    uint64_t from, size, to;
  };
  std::vector<Moved> functions; // sorted by from
  /// The original's .symtab as buildMap read it; empty without one.
  std::vector<Symbol> symbols;
  /// Other symbol tables that static relocations name, by section index.
  std::map<unsigned, std::vector<Symbol>> symbolTables;
  /// Its sized function symbols, by address: what where() names.
  std::vector<const Symbol *> functionSymbols;
  const Symbol *functionAt(uint64_t a) const;
  /// Address \p a of \p file, in lld's words ("file:(.text+0x10) in foo"),
  /// with the original's function at \p original (default: \p a), so a
  /// place in the rewritten .text names the function moved there.
  std::string where(const ElfFile &file, uint64_t a, std::optional<uint64_t> original = {}) const;

  /// A word outside .text that may hold a code address, and how to read it.
  /// Reading each word as what it is matters: a PIC jump table's last 4-byte
  /// entry followed by zero padding, read as an 8-byte word, looks like an
  /// address in .text when .rodata lies below it (lld, mold).
  struct Word {
    using Kind = verify::WordKind;
    uint64_t place = 0;
    uint8_t width = 8;
    Kind kind = Kind::Fixed;
    bool isSigned = false;
  };
  void explain(uint64_t place, uint8_t width, Word::Kind kind, bool isSigned = false) {
    explained.push_back({place, width, kind, isSigned});
  }
  void explainStaticRelocation(const Section &target, const ELFT::Rela &r, const Symbol &symbol);
  /// The symbol table a static relocation section names, read once (the
  /// usual .symtab is buildMap's `symbols`).
  const std::vector<Symbol> *relocationSymbols(const Section &relocations);
  bool isLabel(uint64_t a) const;
  /// \p referrer: set to the undescribed code that refers to the table
  /// base it was read against, if such code did.
  /// \p functionsOnly: against the bases of described functions alone.
  std::optional<uint64_t> entryTarget(const Section &s, uint64_t place, uint32_t value,
                                      uint64_t *referrer = nullptr, bool functionsOnly = false) const;
  bool forwards(uint64_t t, int depth = 0) const;
  x86_64::Decoder decoder;
  void checkWord(const Section &s, const Word &w, std::span<const uint8_t> x, std::span<const uint8_t> y);

  std::vector<Word> explained; // sorted and one per place in checkData
  /// Per byte of the original .text: 1 where a decoded instruction starts.
  std::vector<uint8_t> instructionStart;
  /// Addresses outside .text that decoded code refers to RIP-relatively:
  /// jump table bases among them. Sorted.
  std::vector<uint64_t> dataReferences;
  /// The same, of the described functions alone (before learning).
  std::vector<uint64_t> functionReferences;
  /// Data that undescribed code walked while learning refers to (table
  /// bases as much as functions' are), with the instruction that does:
  /// sorted by target.
  std::vector<std::pair<uint64_t, uint64_t>> learnedReferences;
  /// No static relocations for .text: no relocation describes a jump table.
  bool relocationFree = false;
  /// Addresses in .text outside every function that something refers to:
  /// code is entered there (a function entered through padding before the
  /// next), so its bytes up to the next function must stay.
  std::vector<uint64_t> entriesOutsideFunctions;
};

uint64_t Verifier::map(uint64_t a, bool inclusiveEnd) const {
  auto it = std::upper_bound(functions.begin(), functions.end(), a,
                             [](uint64_t x, const Moved &m) { return x < m.from; });
  // With inclusiveEnd, the end of a function (a jump to a label after its
  // last instruction) moves with it, unless another function starts there.
  if (it != functions.begin() && a - std::prev(it)->from < std::prev(it)->size + inclusiveEnd)
    return a - std::prev(it)->from + std::prev(it)->to;
  // Undescribed code learned so far (learnMovedCode).
  auto st = stretches.upper_bound(a);
  if (st != stretches.begin() && a < std::prev(st)->second.end)
    return a + std::prev(st)->second.delta;
  return a;
}

const Symbol *Verifier::functionAt(uint64_t a) const {
  auto it = std::upper_bound(functionSymbols.begin(), functionSymbols.end(), a,
                             [](uint64_t x, const Symbol *s) { return x < s->value; });
  if (it == functionSymbols.begin() || a - (*(it - 1))->value >= (*(it - 1))->size)
    return nullptr;
  return *(it - 1);
}

std::string Verifier::where(const ElfFile &file, uint64_t a, std::optional<uint64_t> original) const {
  const Symbol *f = functionAt(original.value_or(a));
  return file.whereAddress(a, f ? std::string_view(f->name) : std::string_view());
}

bool Verifier::checkStructure() {
  const Ehdr &x = before.header(), &y = after.header();
  if (std::memcmp(x.e_ident, y.e_ident, sizeof x.e_ident) || x.e_type != y.e_type ||
      x.e_phoff != y.e_phoff || x.e_phnum != y.e_phnum || x.e_shnum != y.e_shnum)
    problem("ELF header differs beyond e_entry");
  if (before.segments().size() != after.segments().size() ||
      (!before.segments().empty() && std::memcmp(before.segments().data(), after.segments().data(),
                                                 before.segments().size() * sizeof(Phdr))))
    problem("program headers changed");
  if (before.sections().size() != after.sections().size()) {
    problem("section count changed");
    return false;
  }
  for (size_t i = 0; i < before.sections().size(); ++i) {
    const Section &s = before.sections()[i], &t = after.sections()[i];
    bool debugDropped = t.size() == 0 && (s.name.starts_with(".debug_") || s.name.starts_with(".rela.debug_"));
    if (s.name != t.name || s.type() != t.type() || s.addr() != t.addr() || s.offset() != t.offset() ||
        (s.size() != t.size() && !debugDropped) || s.flags() != t.flags())
      problem("section " + s.name + " changed its place, size or kind");
  }
  text = before.findSection(".text");
  if (!text) {
    problem("no .text");
    return false;
  }
  if (const Section *r = before.findSection(RoomSection); r && r->isExecutable() && r->hasFileData()) {
    auto bytes = before.contents(*r);
    if (bytes.size() == r->size() &&
        std::all_of(bytes.begin(), bytes.end(), [](uint8_t b) { return b == x86_64::BreakpointByte; }))
      room = r;
  }
  return report.problems.empty();
}

void Verifier::addFunction(uint64_t from, uint64_t size, uint64_t to) {
  // The rewriter clips a function to .text; so does the map.
  uint64_t textEnd = text->addr() + text->size();
  if (from < text->addr() || from >= textEnd)
    return;
  size = std::min(size, textEnd - from);
  if (size)
    functions.push_back({from, size, to});
}

// Sorts the functions and merges each run of overlapping ones into one
// range, so that map() is a lookup; aliases and overlaps must agree on the
// displacement.
void Verifier::mergeFunctions() {
  std::sort(functions.begin(), functions.end(),
            [](const Moved &l, const Moved &r) { return l.from < r.from || (l.from == r.from && l.size > r.size); });
  for (size_t i = 1; i < functions.size(); ++i) {
    const Moved &p = functions[i - 1], &c = functions[i];
    if (c.from < p.from + p.size && int64_t(c.to - c.from) != int64_t(p.to - p.from))
      problem("overlapping functions at " + hex(p.from) + " and " + hex(c.from) + " moved apart");
  }
  report.functions = functions.size();
  for (const Moved &m : functions)
    report.movedFunctions += m.to != m.from;
  std::vector<Moved> merged;
  for (const Moved &m : functions) {
    if (!merged.empty() && m.from < merged.back().from + merged.back().size)
      merged.back().size = std::max(merged.back().size, m.from + m.size - merged.back().from);
    else
      merged.push_back(m);
  }
  functions = std::move(merged);
}

void Verifier::buildMap() {
  const Section *a = before.findSectionOfType(SHT_SYMTAB);
  const Section *b = after.findSectionOfType(SHT_SYMTAB);
  if (a)
    symbols = before.symbols(*a);
  for (const Symbol &s : symbols)
    if (s.isFunction() && s.size && s.shndx != SHN_UNDEF)
      functionSymbols.push_back(&s);
  std::stable_sort(functionSymbols.begin(), functionSymbols.end(),
                   [](const Symbol *l, const Symbol *r) { return l->value < r->value; });
  if (!a && !b)
    return buildMapFromUnwindAndDynamicSymbols();
  if (!a || !b) {
    problem(".symtab was added or removed");
    return;
  }
  const std::vector<Symbol> &x = symbols;
  auto y = after.symbols(*b);
  if (x.size() != y.size()) {
    problem(".symtab has a different number of symbols");
    return;
  }
  std::map<uint64_t, uint64_t> fdeEnd;
  for (const Fde &f : readEhFrame(before))
    fdeEnd.emplace(f.pcBegin, f.pcEnd);
  for (size_t i = 0; i < x.size(); ++i) {
    const Symbol &s = x[i], &t = y[i];
    // A function moved into the room is a symbol of the room's section.
    bool intoRoom = room && s.shndx == text->index && t.shndx == room->index && inRoom(t.value);
    if (s.name != t.name || s.type != t.type || s.binding != t.binding || s.size != t.size ||
        (s.shndx != t.shndx && !intoRoom))
      problem("symbol " + std::to_string(i) + " (" + s.name + ") changed beyond its value");
    if (s.shndx != text->index || !s.isFunction())
      continue;
    uint64_t size = s.size;
    if (!size)
      if (auto it = fdeEnd.find(s.value); it != fdeEnd.end() && it->second > s.value)
        size = it->second - s.value;
    addFunction(s.value, size, t.value);
  }
  mergeFunctions();
}

// Every symbol in .text moves with the code holding it (checked once
// learnMovedCode knows where undescribed code went).
void Verifier::checkSymbols() {
  const Section *b = after.findSectionOfType(SHT_SYMTAB);
  if (symbols.empty() || !b)
    return;
  const std::vector<Symbol> &x = symbols;
  auto y = after.symbols(*b);
  for (size_t i = 0; i < x.size() && i < y.size(); ++i)
    if (x[i].shndx == text->index && x[i].type != STT_SECTION) {
      ++report.symbols;
      if (y[i].value != map(x[i].value) && !(x[i].isFunction() && x[i].size == 0 && y[i].value == x[i].value))
        problem("symbol " + x[i].name + " at " + hex(x[i].value) + " is at " + hex(y[i].value) +
                ", expected " + hex(map(x[i].value)));
    }
}

// A stripped file: its functions are its FDEs' ranges and its sized
// dynamic symbols, each where the rewritten file's FDE or symbol says.
// checkUnwind and checkDynamic then check those against the map.
void Verifier::buildMapFromUnwindAndDynamicSymbols() {
  auto x = readEhFrame(before), y = readEhFrame(after);
  if (x.size() != y.size()) {
    problem(".eh_frame has a different number of FDEs");
    return;
  }
  for (size_t i = 0; i < x.size(); ++i)
    if (x[i].pcEnd > x[i].pcBegin)
      addFunction(x[i].pcBegin, x[i].pcEnd - x[i].pcBegin, y[i].pcBegin);
  if (const Section *d = before.findSectionOfType(SHT_DYNSYM)) {
    auto ds = before.symbols(*d), dt = after.symbols(after.sections()[d->index]);
    for (size_t i = 0; i < ds.size() && i < dt.size(); ++i)
      if (ds[i].shndx == text->index && ds[i].isFunction() && ds[i].size)
        addFunction(ds[i].value, ds[i].size, dt[i].value);
  }
  mergeFunctions();
}

std::span<const uint8_t> Verifier::newCodeAt(uint64_t a) const {
  const Section &s = inRoom(a) ? after.sections()[room->index] : after.sections()[text->index];
  return after.contents(s).subspan(a - s.addr());
}

void Verifier::checkCode() {
  auto oldText = before.contents(*text);
  // Absolute relocations in .text: their fields hold addresses.
  std::set<uint64_t> absolutePlaces;
  for (const Section &s : before.sections())
    if (s.type() == SHT_RELA && !s.isAlloc() && s.header.sh_info == text->index) {
      auto bytes = before.contents(s);
      auto *r = reinterpret_cast<const ELFT::Rela *>(bytes.data());
      for (size_t i = 0; i < bytes.size() / sizeof(ELFT::Rela); ++i) {
        uint32_t type = r[i].getType(false);
        if (x86_64::isAbsoluteRelocation(type))
          absolutePlaces.insert(r[i].r_offset);
      }
    }
  // Two halves on two threads: a large binary has millions of instructions.
  instructionStart.assign(oldText.size(), 0);
  auto checkRange = [&](size_t first, size_t last, VerifyReport &local, std::vector<uint64_t> &refs,
                        std::vector<Move> &moved) {
    x86_64::Decoder decoder;
    uint64_t base = text->addr();
    for (size_t fi = first; fi < last; ++fi) {
      const Moved &f = functions[fi];
      uint64_t end = f.from + f.size;
      // Without sums that could wrap: the rewritten .symtab may be hostile.
      const Section &home = inRoom(f.to) ? *room : *text;
      if (end > text->addr() + text->size() || f.to < home.addr() || f.to - home.addr() > home.size() ||
          f.size > home.size() - (f.to - home.addr())) {
        local.problems.push_back("function at " + hex(f.from) + " lies outside .text" +
                                 (room ? std::string(" and ") + RoomSection : ""));
        continue;
      }
      for (uint64_t a = f.from; a < end;) {
        std::span<const uint8_t> x = oldText.subspan(a - base, end - a);
        uint64_t b = a - f.from + f.to;
        std::span<const uint8_t> y = newCodeAt(b).subspan(0, end - a);
        auto i = decoder.decode(x, a), j = decoder.decode(y, b);
        if (!i) {
          // Not decodable in the original either: the bytes must be the same.
          if (std::memcmp(x.data(), y.data(), x.size()))
            local.problems.push_back(where(before, a) + ": undecodable bytes changed");
          break;
        }
        ++local.instructions;
        instructionStart[a - base] = 1; // threads write disjoint bytes
        if (i->field && (i->field->target < base || i->field->target - base >= oldText.size()))
          refs.push_back(i->field->target);
        if (!j || i->opcode != j->opcode || i->size != j->size) {
          local.problems.push_back(where(before, a) + ": instruction became a different instruction at " +
                                   where(after, b, a));
          break;
        }
        for (uint64_t k = 0; k < i->size; ++k) {
          if (x[k] == y[k])
            continue;
          if (i->field && k >= i->field->offset && k < i->field->offset + i->field->size) {
            k = i->field->offset + i->field->size - 1;
            continue; // checked below
          }
          uint64_t place = 0;
          bool absolute = false;
          for (uint64_t p = (k >= 7 ? k - 7 : 0); p <= k && !absolute; ++p)
            if (absolutePlaces.count(a + p)) {
              absolute = true;
              place = p;
            }
          if (!absolute) {
            local.problems.push_back(where(before, a) + ": instruction changed outside its PC-relative field");
            break;
          }
          uint64_t width = std::min<uint64_t>(8, i->size - place), ov = 0, nv = 0;
          std::memcpy(&ov, x.data() + place, std::min<uint64_t>(width, 4));
          std::memcpy(&nv, y.data() + place, std::min<uint64_t>(width, 4));
          if (uint32_t(nv) != uint32_t(map(ov)))
            local.problems.push_back(where(before, a + place) + ": absolute address is " + hex(nv) + ", expected " +
                                     hex(map(ov)));
          k = place + 3;
        }
        if (i->field && j->field) {
          ++local.pcRelativeOperands;
          // A jump to the end of a function (padding follows) moves with it;
          // code that starts there is something else.
          uint64_t t = i->field->target;
          bool padding = false;
          if (t >= base && t < base + oldText.size()) {
            auto next = decoder.decode(oldText.subspan(t - base), t);
            padding = oldText[t - base] == 0 || (next && next->isPadding);
          }
          uint64_t want = map(t, padding);
          bool undescribed = t >= base && t < base + oldText.size() && !padding && !inFunction(t);
          if (undescribed) {
            // Read where it stays, it may be data: only a branch says it is code.
            moved.push_back({t, j->field->target, a, i->field->isBranch || j->field->target != t});
          } else {
            if (j->field->target != want)
              local.problems.push_back(where(before, a) + ": operand refers to " + hex(i->field->target) +
                                       "; moved to " + where(after, b, a) + " it refers to " +
                                       hex(j->field->target) + ", expected " + hex(want));
          }
        }
        a += i->size;
      }
    }
  };
  VerifyReport halves[2];
  std::vector<uint64_t> refs[2];
  std::vector<Move> moved[2];
  runInTwoHalves(functions.size(), functions.size() / 2, [&](size_t first, size_t last, unsigned half) {
    checkRange(first, last, halves[half], refs[half], moved[half]);
  });
  for (const auto &list : moved)
    moves.insert(moves.end(), list.begin(), list.end());
  dataReferences = std::move(refs[0]);
  dataReferences.insert(dataReferences.end(), refs[1].begin(), refs[1].end());
  std::sort(dataReferences.begin(), dataReferences.end());
  dataReferences.erase(std::unique(dataReferences.begin(), dataReferences.end()), dataReferences.end());
  for (const VerifyReport &r : halves) {
    report.instructions += r.instructions;
    report.pcRelativeOperands += r.pcRelativeOperands;
    for (const std::string &p : r.problems)
      problem(p);
  }
}

// Code sections other than .text (.init, .plt, glibc's __libc_freeres_fn)
// stay in place; each operand of theirs that reaches into .text must reach
// the map of what it reached. Decoded from each symbol to the next, as zero
// padding between functions would throw the decoder off; a section that does
// not decode must keep its bytes (checkData sees every changed byte).
void Verifier::checkOtherCode() {
  std::map<unsigned, std::vector<uint64_t>> starts; // section -> symbol offsets
  for (const Symbol &sym : symbols)
    if (sym.shndx < before.sections().size() && sym.type != STT_SECTION) {
      const Section &home = before.sections()[sym.shndx];
      if (home.isExecutable() && sym.value >= home.addr() && sym.value - home.addr() < home.size())
        starts[sym.shndx].push_back(sym.value - home.addr());
    }
  x86_64::Decoder decoder;
  uint64_t textStart = text->addr(), textEnd = text->addr() + text->size();
  for (const Section &s : before.sections()) {
    if (!s.isExecutable() || !s.isAlloc() || !s.hasFileData() || s.index == text->index || &s == room)
      continue;
    auto x = before.contents(s), y = after.contents(after.sections()[s.index]);
    std::vector<uint64_t> cuts = starts[s.index];
    cuts.push_back(0);
    cuts.push_back(x.size());
    std::sort(cuts.begin(), cuts.end());
    cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
    size_t piece = 0;
    for (uint64_t off = 0; off < x.size();) {
      while (cuts[piece + 1] <= off)
        ++piece;
      uint64_t end = cuts[piece + 1];
      if (std::all_of(x.begin() + off, x.begin() + end, [](uint8_t b) { return b == 0; })) {
        off = end;
        continue;
      }
      uint64_t a = s.addr() + off;
      auto i = decoder.decode(x.subspan(off, end - off), a);
      if (!i)
        break;
      if (i->field && i->field->target >= textStart && i->field->target < textEnd) {
        auto j = decoder.decode(y.subspan(off, end - off), a);
        uint64_t want = map(i->field->target);
        ++report.pcRelativeOperands;
        if (j && j->size == i->size && j->field && isUndescribedCode(i->field->target))
          moves.push_back({i->field->target, j->field->target, a,
                           i->field->isBranch || j->field->target != i->field->target});
        else if (!j || j->size != i->size || !j->field || j->field->target != want)
          problem(where(after, a) + ": operand refers to " + hex(i->field->target) + "; it must refer to " + hex(want),
                  {i->field->target});
        explain(a + i->field->offset, i->field->size, Word::Kind::Operand);
      }
      off += i->size;
    }
  }
}

void Verifier::checkUnwind() {
  auto x = readEhFrame(before), y = readEhFrame(after);
  if (x.size() != y.size()) {
    problem(".eh_frame has a different number of FDEs");
    return;
  }
  std::map<uint64_t, uint64_t> pcOfRecord;
  for (size_t i = 0; i < x.size(); ++i) {
    ++report.fdes;
    explain(x[i].fieldAddress, 8, Word::Kind::Unwind);
    // An FDE of hand-written code may start in the padding before its
    // function; then its last byte says where it belongs.
    uint64_t length = x[i].pcEnd - x[i].pcBegin;
    uint64_t want = map(x[i].pcBegin);
    if (want == x[i].pcBegin && length && map(x[i].pcEnd - 1) != x[i].pcEnd - 1)
      want = map(x[i].pcEnd - 1) - (length - 1);
    if (y[i].pcBegin != want || y[i].pcEnd - y[i].pcBegin != length)
      problem(where(after, x[i].recordAddress) + ": FDE covers " + hex(y[i].pcBegin) + ", expected " + hex(want));
    pcOfRecord[y[i].recordAddress] = y[i].pcBegin;
    // The LSDA stays as it was: its call sites and landing pads are offsets
    // from the function's start, so each landing pad must have moved with
    // it, and its bytes are no table entries to read (they must not change).
    for (uint64_t pad : x[i].landingPads)
      if (map(pad) - pad != want - x[i].pcBegin)
        problem(where(after, x[i].recordAddress) + ": the landing pad at " + hex(pad) +
                " did not move with its function (to " + hex(map(pad)) + ")");
    for (uint64_t a = x[i].lsdaBegin; a < x[i].lsdaEnd; a += 4)
      explain(a, uint8_t(std::min<uint64_t>(4, x[i].lsdaEnd - a)), Word::Kind::Fixed);
  }
  auto hx = readEhFrameHdr(before), hy = readEhFrameHdr(after);
  if (hx.size() != hy.size())
    problem(".eh_frame_hdr lost or gained entries");
  for (size_t i = 0; i < hy.size(); ++i) {
    if (i && hy[i - 1].first > hy[i].first)
      problem(".eh_frame_hdr is not sorted at entry " + std::to_string(i));
    auto it = pcOfRecord.find(hy[i].second);
    if (it == pcOfRecord.end() || it->second != hy[i].first)
      problem(".eh_frame_hdr entry " + std::to_string(i) + " says " + hex(hy[i].first) + " for the FDE at " +
              hex(hy[i].second) + (it == pcOfRecord.end() ? ", which is no FDE" : ", which starts at " + hex(it->second)));
  }
  if (const Section *h = before.findSection(".eh_frame_hdr"))
    for (uint64_t a = h->addr(); a < h->addr() + h->size(); a += 4)
      explain(a, 4, Word::Kind::Unwind);
}

void Verifier::checkDynamic() {
  if (map(before.header().e_entry) != after.header().e_entry)
    problem("entry point is " + hex(after.header().e_entry) + ", expected " + hex(map(before.header().e_entry)));
  auto x = before.dynamicEntries(), y = after.dynamicEntries(); // what the loader reads
  for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
    bool address = x[i].d_tag == DT_INIT || x[i].d_tag == DT_FINI;
    uint64_t want = address ? map(x[i].d_un.d_val) : x[i].d_un.d_val;
    if (x[i].d_tag != y[i].d_tag || y[i].d_un.d_val != want)
      problem("dynamic entry " + std::to_string(i) + " changed");
  }
  for (const Section &s : before.sections()) {
    if (s.type() == SHT_RELA) {
      auto bx = before.contents(s), by = after.contents(after.sections()[s.index]);
      if (bx.size() != by.size())
        continue; // debug relocations dropped
      auto *rx = reinterpret_cast<const ELFT::Rela *>(bx.data());
      auto *ry = reinterpret_cast<const ELFT::Rela *>(by.data());
      bool isTextRelocations = !s.isAlloc() && s.header.sh_info == text->index;
      const std::vector<Symbol> *symbolsOfRelocations = s.isAlloc() ? nullptr : relocationSymbols(s);
      auto entry = [&](size_t i) { return after.where(after.sections()[s.index], i * sizeof(ELFT::Rela)); };
      for (size_t i = 0; i < bx.size() / sizeof(ELFT::Rela); ++i) {
        if (rx[i].r_info != ry[i].r_info) {
          problem(entry(i) + ": relocation changed its type or symbol");
          continue;
        }
        if (s.isAlloc()) {
          ++report.dynamicRelocations;
          uint64_t want = dynamicAddendIsAddress(rx[i]) ? map(rx[i].r_addend) : rx[i].r_addend;
          uint64_t addend = rx[i].r_addend;
          if (dynamicAddendIsAddress(rx[i]) && addend >= text->addr() && addend - text->addr() < text->size() &&
              !inFunction(addend))
            entriesOutsideFunctions.push_back(addend);
          if (ry[i].r_offset != rx[i].r_offset || uint64_t(ry[i].r_addend) != want)
            problem(entry(i) + ": relocation holds " + hex(ry[i].r_addend) + ", expected " + hex(want));
          // A COPY relocation has no field (the loader copies the symbol's bytes there).
          if (uint8_t width = x86_64::relocationFieldSize(rx[i].getType(false)))
            explain(rx[i].r_offset, std::min<uint8_t>(width, 8),
                    dynamicAddendIsAddress(rx[i]) ? Word::Kind::Address : Word::Kind::Fixed);
        } else {
          uint64_t want = isTextRelocations ? map(rx[i].r_offset) : rx[i].r_offset;
          if (ry[i].r_offset != want)
            problem(entry(i) + ": relocation is at " + hex(ry[i].r_offset) + ", expected " + hex(want));
          if (s.header.sh_info < before.sections().size() && before.sections()[s.header.sh_info].isAlloc() &&
              s.header.sh_info != text->index) {
            if (!symbolsOfRelocations || rx[i].getSymbol(false) >= symbolsOfRelocations->size())
              problem(before.where(s, i * sizeof(ELFT::Rela)) + ": relocation names no symbol of a .symtab");
            else
              explainStaticRelocation(before.sections()[s.header.sh_info], rx[i], (*symbolsOfRelocations)[rx[i].getSymbol(false)]);
          }
        }
      }
    } else if (s.type() == SHT_RELR) {
      for (uint64_t a : decodeRelr(before.contents(s)))
        explain(a, 8, Word::Kind::Address);
    } else if (s.name == ".got" || s.name == ".got.plt") {
      for (uint64_t a = s.addr(); a + 8 <= s.addr() + s.size(); a += 8)
        explain(a, 8, Word::Kind::AddressIfMoved);
    }
  }
  // .dynsym values.
  if (const Section *d = before.findSectionOfType(SHT_DYNSYM)) {
    auto x = before.symbols(*d), y = after.symbols(after.sections()[d->index]);
    for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
      uint64_t want = x[i].shndx == text->index ? map(x[i].value) : x[i].value;
      if (y[i].value != want)
        problem(".dynsym " + x[i].name + " is " + hex(y[i].value) + ", expected " + hex(want));
    }
  }
}

const std::vector<Symbol> *Verifier::relocationSymbols(const Section &relocations) {
  unsigned link = relocations.header.sh_link;
  if (link >= before.sections().size() || before.sections()[link].type() != SHT_SYMTAB)
    return nullptr;
  const Section *symtab = before.findSectionOfType(SHT_SYMTAB);
  if (symtab && symtab->index == link)
    return &symbols; // read by buildMap
  auto [it, fresh] = symbolTables.try_emplace(link);
  if (fresh)
    it->second = before.symbols(before.sections()[link]);
  return &it->second;
}

// The relocation says what the word refers to (verify::readStaticRelocation).
void Verifier::explainStaticRelocation(const Section &target, const ELFT::Rela &r, const Symbol &symbol) {
  uint32_t type = r.getType(false);
  verify::PlaceKind place = target.isExecutable()                                      ? verify::PlaceKind::Code
                            : target.name == ".eh_frame" || target.name == ".eh_frame_hdr" ? verify::PlaceKind::Unwind
                                                                                          : verify::PlaceKind::Data;
  auto kind = verify::readStaticRelocation(type, place, symbol.shndx == text->index);
  if (!kind || *kind == Word::Kind::Operand)
    return; // no field, or an operand: checkOtherCode decodes it
  explain(r.r_offset, x86_64::relocationFieldSize(type), *kind, type == R_X86_64_32S);
}

// Where a jump table entry may lead: an instruction, or the end of a
// function (GCC sends cases it knows unreachable there).
bool Verifier::isLabel(uint64_t a) const {
  uint64_t base = text->addr();
  if (a < base || a - base >= instructionStart.size())
    return a == base + instructionStart.size() && !functions.empty() &&
           functions.back().from + functions.back().size == a;
  if (instructionStart[a - base])
    return true;
  auto it = std::upper_bound(functions.begin(), functions.end(), a - 1,
                             [](uint64_t x, const Moved &m) { return x < m.from; });
  return it != functions.begin() && (it - 1)->from + (it - 1)->size == a;
}

// What a 32-bit relative word at \p place leads to (DataWords.h): read
// against the closest address at or below it in its section that code
// refers to (a table base), else against itself.
std::optional<uint64_t> Verifier::entryTarget(const Section &s, uint64_t place, uint32_t value,
                                              uint64_t *referrer, bool functionsOnly) const {
  const std::vector<uint64_t> &refs = functionsOnly ? functionReferences : dataReferences;
  auto it = std::upper_bound(refs.begin(), refs.end(), place);
  std::optional<uint64_t> tableBase;
  if (it != refs.begin() && *(it - 1) >= s.addr())
    tableBase = *(it - 1);
  if (referrer && tableBase) {
    auto learned = std::lower_bound(learnedReferences.begin(), learnedReferences.end(),
                                    std::pair<uint64_t, uint64_t>{*tableBase, 0});
    if (learned != learnedReferences.end() && learned->first == *tableBase)
      *referrer = learned->second;
  }
  return verify::relativeWordTarget(place, value, tableBase, [&](uint64_t a) { return isLabel(a); });
}

// Whether the rewritten .text forwards old address \p t to its new place:
// from \p t, the original instructions (their operands following their
// targets), then a jump to the new address of the instruction that stood
// where the jump is, or up to one that ends the flow (Rewrite/Stubs.h).
// A kept 8-bit branch keeps its old target, which must forward in turn
// (unless this walk already checks it).
bool Verifier::forwards(uint64_t t, int depth) const {
  constexpr unsigned MaxKept = x86_64::StubMaxKeptInstructions;
  if (depth > x86_64::StubMaxBranchDepth)
    return false;
  auto x = before.contents(*text), y = after.contents(after.sections()[text->index]);
  uint64_t base = text->addr();
  std::vector<uint64_t> walked; // the kept instructions' starts
  for (uint64_t q = t, kept = 0; kept <= MaxKept && q - base < x.size(); ++kept) {
    walked.push_back(q);
    bool atInstruction = instructionStart[q - base] || isLabel(q);
    auto j = decoder.decode(y.subspan(q - base), q);
    if (!atInstruction || !j)
      return false;
    if (y[q - base] == x86_64::JumpRel32 && j->field && j->field->target == map(q, true) && map(q, true) != q)
      return true;
    auto i = decoder.decode(x.subspan(q - base), q);
    if (!i || i->isCall || i->opcode != j->opcode || i->size != j->size || bool(i->field) != bool(j->field))
      return false;
    uint64_t f = i->field ? i->field->offset : i->size, n = i->field ? i->field->size : 0;
    if (std::memcmp(x.data() + (q - base), y.data() + (q - base), f) ||
        std::memcmp(x.data() + (q - base) + f + n, y.data() + (q - base) + f + n, i->size - f - n))
      return false;
    if (i->field && i->field->size == 1) {
      // The same bytes, so the same old target: it must forward too.
      uint64_t target = i->field->target;
      if (j->field->target != target || map(target, true) == target ||
          (std::find(walked.begin(), walked.end(), target) == walked.end() && !forwards(target, depth + 1)))
        return false;
    } else if (i->field && j->field->target != map(i->field->target) &&
               j->field->target != map(i->field->target, true))
      return false;
    if (i->endsFlow)
      return true; // the same instruction, and nothing runs after it
    q += i->size;
  }
  return false;
}

// Code that no symbol or FDE describes may move too (Rewrite/Discover.h).
// Verify does not cut it into functions: it learns where each piece went
// from the references to it (branches of the functions and of other code
// sections, the loader's words, symbols, the entry points). From each, the
// original instructions must stand at the new address, their operands
// following what they refer to, for as long as control can run on (a call
// returns); a place referred to at two displacements is a problem. Only
// then, past the end of each flow, the learned runs grow while the bytes
// still match (the cases a jump table leads to): what merely matches there
// may be another copy of the same bytes, so it settles nothing that a
// reference did. What is learned maps like a function.
void Verifier::learnMovedCode() {
  gatherStoredMoves();
  drainMoves(/*extend=*/false);
  std::vector<uint64_t> learned;
  for (auto &[from, st] : stretches)
    learned.push_back(from);
  for (uint64_t from : learned)
    for (;;) {
      // The run holding \p from (an earlier one may have taken it in).
      auto it = stretches.upper_bound(from);
      if (it == stretches.begin())
        break;
      Stretch st = std::prev(it)->second;
      uint64_t end = walkMovedCode(st.end, st.delta, /*certain=*/false, /*inFlow=*/false, /*extend=*/true, st.by);
      learnStretch(st.end, end, st.delta, st.by);
      if (std::prev(stretches.upper_bound(from))->second.end == st.end)
        break; // it grew no further
    }
  // The tables of the code learned, and of the code they lead to, in turn.
  do
    drainMoves(/*extend=*/true);
  while (gatherTableMoves());
  // Two runs moved by one displacement with bytes between that no walk
  // reached (code after padding inside a function, entered through its
  // table): moved with them, unless something else went there, they must
  // match in step too.
  std::vector<std::pair<uint64_t, uint64_t>> placed; // new [start, end) of what is known to have moved
  for (const Moved &f : functions)
    placed.push_back({f.to, f.to + f.size});
  for (auto &[from, st] : stretches)
    placed.push_back({from + st.delta, st.end + st.delta});
  std::sort(placed.begin(), placed.end());
  auto takenBetween = [&](uint64_t b, uint64_t e) {
    auto it = std::lower_bound(placed.begin(), placed.end(), std::pair<uint64_t, uint64_t>{b, 0});
    return (it != placed.end() && it->first < e) || (it != placed.begin() && std::prev(it)->second > b);
  };
  for (auto it = stretches.begin(); it != stretches.end();) {
    auto next = std::next(it);
    if (next == stretches.end())
      break;
    uint64_t from = it->first, end = it->second.end;
    if (it->second.delta != next->second.delta || end >= next->first ||
        takenBetween(end + it->second.delta, next->first + it->second.delta)) {
      ++it;
      continue;
    }
    uint64_t reached = walkMovedCode(end, it->second.delta, /*certain=*/false, /*inFlow=*/false, /*extend=*/true,
                                     it->second.by, /*bridge=*/true);
    // All the way, or not at all: part of the way may be a look-alike
    // (another function with the same bytes placed after the first run).
    if (reached == next->first)
      learnStretch(end, reached, it->second.delta, it->second.by);
    it = stretches.upper_bound(from);
    --it;
    if (it->second.end == end)
      ++it; // no nearer to the next run
  }
  do
    drainMoves(/*extend=*/true);
  while (gatherTableMoves());
  if (stretches.empty())
    return;
  for (auto &[from, st] : stretches)
    if (st.delta) {
      functions.push_back({from, st.end - from, uint64_t(from + st.delta)});
      ++report.movedUndescribedRanges;
    }
  std::sort(learnedReferences.begin(), learnedReferences.end());
  learnedReferences.erase(std::unique(learnedReferences.begin(), learnedReferences.end(),
                                      [](const auto &l, const auto &r) { return l.first == r.first; }),
                          learnedReferences.end());
  functionReferences = dataReferences;
  for (auto [target, at] : learnedReferences)
    dataReferences.push_back(target);
  std::sort(dataReferences.begin(), dataReferences.end());
  dataReferences.erase(std::unique(dataReferences.begin(), dataReferences.end()), dataReferences.end());
  std::sort(functions.begin(), functions.end(), [](const Moved &l, const Moved &r) { return l.from < r.from; });
}

void Verifier::drainMoves(bool extend) {
  // A reference that kept its value may lead to moved code through a
  // forwarding stub in the old place: those wait until every move the
  // others show is known.
  std::vector<Move> kept;
  bool settled = false;
  for (;;) {
    if (moves.empty()) {
      if (kept.empty())
        break;
      moves.swap(kept);
      settled = true;
    }
    Move m = moves.back();
    moves.pop_back();
    if (m.to == m.from && !settled) {
      kept.push_back(m);
      continue;
    }
    auto it = stretches.upper_bound(m.from);
    if (it != stretches.begin() && m.from < std::prev(it)->second.end) {
      --it;
      uint64_t want = m.from + it->second.delta;
      if (m.certain && m.to != want && !(m.to == m.from && forwards(m.from)))
        problem(where(before, m.from) + ": code outside every function is referred to as " + hex(m.to) + " by " +
                (m.at ? where(before, m.at) : std::string("a header or symbol")) + " and as " + hex(want) + " by " +
                (it->second.by ? where(before, it->second.by) : std::string("a header or symbol")),
                {m.from, m.at, it->second.by});
      // A run learned past the end of a flow stops at padding or at an
      // aligned address; control entering it here may run on past that.
      uint64_t end = it->second.end;
      if (m.to == want && flowRunsTo(m.from, end))
        learnStretch(end, walkMovedCode(end, it->second.delta, m.certain, /*inFlow=*/true, extend, m.at),
                     it->second.delta, m.at);
      continue;
    }
    if (m.to == m.from) {
      if (forwards(m.from))
        continue; // the stub is checked there
      // Nothing else says where the code went, but a stub in its old place
      // does: the code must stand there (checked as for any move).
      if (auto to = stubTarget(m.from)) {
        moves.push_back({m.from, *to, m.at, m.certain});
        continue;
      }
    }
    int64_t delta = int64_t(m.to - m.from);
    if (std::getenv("ELFOPT_DEBUG_LEARN")) // each move walked, on stderr
      std::fprintf(stderr, "learn %llx -> %llx at %llx%s%s\n", (unsigned long long)m.from, (unsigned long long)m.to,
                   (unsigned long long)m.at, m.certain ? "" : " tentative", extend ? " extend" : "");
    uint64_t end = walkMovedCode(m.from, delta, m.certain, /*inFlow=*/true, extend, m.at);
    if (std::getenv("ELFOPT_DEBUG_LEARN"))
      std::fprintf(stderr, "  to %llx\n", (unsigned long long)end);
    learnStretch(m.from, end, delta, m.at);
  }
}

// The tables of the code walked so far: from each address in data that it
// refers to, the 4-byte words that read as offsets from there into
// undescribed code, up to the next such address. Where the rewrite changed
// one, old and new offset say where a case went, as a branch would: each
// is walked in step (tentatively: a word past the table's end that happens
// to read so only learns what matches).
bool Verifier::gatherTableMoves() {
  constexpr uint64_t MaxEntries = 1 << 16;
  std::vector<uint64_t> bases = dataReferences;
  for (auto [target, at] : learnedReferences)
    bases.push_back(target);
  std::sort(bases.begin(), bases.end());
  bool any = false;
  for (auto [tableBase, at] : learnedReferences) {
    if (!tablesRead.insert(tableBase).second)
      continue;
    auto next = std::upper_bound(bases.begin(), bases.end(), tableBase);
    uint64_t limit = next == bases.end() ? UINT64_MAX : *next;
    for (uint64_t place = tableBase; place < limit && place - tableBase < 4 * MaxEntries; place += 4) {
      auto x = before.offsetOfAddress(place, 4), y = after.offsetOfAddress(place, 4);
      if (!x || !y)
        break;
      int32_t ov, nv;
      std::memcpy(&ov, before.bytes().data() + *x, 4);
      std::memcpy(&nv, after.bytes().data() + *y, 4);
      uint64_t from = tableBase + int64_t(ov), to = tableBase + int64_t(nv);
      if (!isUndescribedCode(from))
        break;
      if (nv != ov) {
        moves.push_back({from, to, at, /*certain=*/false});
        any = true;
      }
    }
  }
  return any;
}

// Records [from, end) as moved by \p delta, as one run with a neighbour
// moved by the same.
void Verifier::learnStretch(uint64_t from, uint64_t end, int64_t delta, uint64_t by) {
  if (end <= from)
    return;
  auto it = stretches.find(from);
  if (it == stretches.end()) {
    auto before = stretches.lower_bound(from);
    if (before != stretches.begin() && std::prev(before)->second.end == from &&
        std::prev(before)->second.delta == delta)
      it = std::prev(before);
    else
      it = stretches.emplace(from, Stretch{from, delta, by}).first;
  }
  it->second.end = std::max(it->second.end, end);
  auto next = std::next(it);
  if (next != stretches.end() && next->first == it->second.end && next->second.delta == delta) {
    it->second.end = next->second.end;
    stretches.erase(next);
  }
}

// Where the code at old address \p a went, as a forwarding stub the rewrite
// wrote there says: the original instructions kept, then a jump to the new
// address of the instruction it replaced (Rewrite/Stubs.h). The code there
// is then checked as for any move.
std::optional<uint64_t> Verifier::stubTarget(uint64_t a) const {
  auto x = before.contents(*text), y = after.contents(after.sections()[text->index]);
  uint64_t base = text->addr();
  uint64_t q = a;
  for (unsigned kept = 0; kept <= x86_64::StubMaxKeptInstructions && q - base < x.size(); ++kept) {
    auto i = decoder.decode(x.subspan(q - base), q), j = decoder.decode(y.subspan(q - base), q);
    if (!i || !j)
      return std::nullopt;
    if (y[q - base] == x86_64::JumpRel32 && x[q - base] != x86_64::JumpRel32) {
      uint64_t t = j->field->target;
      if (t == q || (!inRoom(t) && (t < base || t - base >= x.size())))
        return std::nullopt;
      // The code it replaced stands there, as it stood from a: else this
      // was no stub (bytes read from the middle of data).
      uint64_t to = a + (t - q);
      std::span<const uint8_t> moved = newCodeAt(to);
      uint64_t n = q - a + i->size;
      if (moved.size() < n || std::memcmp(moved.data(), x.data() + (a - base), q - a))
        return std::nullopt;
      auto k = decoder.decode(moved.subspan(q - a), t);
      if (!k || k->opcode != i->opcode || k->size != i->size)
        return std::nullopt;
      return to;
    }
    if (i->size != j->size || std::memcmp(x.data() + (q - base), y.data() + (q - base), i->size) || i->endsFlow)
      return std::nullopt;
    q += i->size;
  }
  return std::nullopt;
}

bool Verifier::isUndescribedCode(uint64_t a) const {
  return a >= text->addr() && a - text->addr() < text->size() && !inFunction(a);
}

// The loader's words and the symbols that lead into undescribed code and
// changed: where that code went.
void Verifier::gatherStoredMoves() {
  // \p at: where the word is, or 0 for a header field or a symbol.
  auto offer = [&](uint64_t from, uint64_t to, uint64_t at) {
    // An address stored where the code stays may be data's.
    if (isUndescribedCode(from))
      moves.push_back({from, to, at, to != from});
  };
  auto offerWord = [&](uint64_t at) {
    if (auto x = before.wordAt(at), y = after.wordAt(at); x && y)
      offer(*x, *y, at);
  };
  offer(before.header().e_entry, after.header().e_entry, 0);
  auto dx = before.dynamicEntries(), dy = after.dynamicEntries();
  for (size_t i = 0; i < dx.size() && i < dy.size(); ++i)
    if ((dx[i].d_tag == DT_INIT || dx[i].d_tag == DT_FINI) && dx[i].d_tag == dy[i].d_tag)
      offer(dx[i].d_un.d_ptr, dy[i].d_un.d_ptr, 0);
  for (const Section &s : before.sections()) {
    const Section &t = after.sections()[s.index];
    if (s.type() == SHT_RELA && s.isAlloc()) {
      auto rx = decodeRela(before.contents(s)), ry = decodeRela(after.contents(t));
      for (size_t i = 0; i < rx.size() && i < ry.size(); ++i)
        if (dynamicAddendIsAddress(rx[i]) && rx[i].r_info == ry[i].r_info)
          offer(rx[i].r_addend, ry[i].r_addend, rx[i].r_offset);
    } else if (s.type() == SHT_RELR) {
      for (uint64_t a : decodeRelr(before.contents(s)))
        offerWord(a);
    } else if (s.type() == SHT_DYNSYM || s.type() == SHT_SYMTAB) {
      auto x = before.symbols(s), y = after.symbols(t);
      for (size_t i = 0; i < x.size() && i < y.size(); ++i)
        if (x[i].shndx == text->index && y[i].shndx == x[i].shndx && x[i].type != STT_SECTION)
          offer(x[i].value, y[i].value, 0);
    } else if ((s.name == ".got" || s.name == ".got.plt") && s.hasFileData()) {
      for (uint64_t a = s.addr(); a + 8 <= s.addr() + s.size(); a += 8)
        offerWord(a);
    }
  }
}

// From \p from in the original and from + \p delta in the rewritten file,
// in step: each instruction the same, operands following their targets
// (references to undescribed code are learned in turn), while control may
// run on (\p inFlow; with \p certain, a reference that says this is code,
// a difference is a problem) and, with \p extend, past that while they
// match up to padding. Returns where the run ends.
uint64_t Verifier::walkMovedCode(uint64_t from, int64_t delta, bool certain, bool inFlow, bool extend, uint64_t by,
                                 bool bridge) {
  auto x = before.contents(*text);
  uint64_t base = text->addr(), textEnd = base + x.size();
  uint64_t a = from;
  // Problems only where control must run on from a reference that says
  // this is code.
  bool mustContinue = certain && inFlow;
  auto fail = [&](const std::string &why) {
    if (mustContinue)
      problem(where(before, a) + ": code outside every function, moved to " + hex(a + delta) + " (as " +
              (by ? where(before, by) : std::string("a header or symbol")) + " says), " + why,
              {from, a, by});
  };
  while (a < textEnd) {
    if (inFunction(a)) {
      if (mustContinue && map(a) != a + delta)
        fail("runs on into a function that did not move with it");
      break;
    }
    auto next = stretches.upper_bound(a);
    if (next != stretches.begin() && a < std::prev(next)->second.end) {
      if (mustContinue && std::prev(next)->second.delta != delta)
        fail("runs on into code that moved elsewhere");
      break;
    }
    uint64_t limit = next == stretches.end() ? textEnd : std::min(textEnd, next->first);
    uint64_t b = a + delta;
    if (!(inRoom(b) || (b >= base && b < textEnd))) {
      fail("lies outside .text");
      break;
    }
    std::span<const uint8_t> y = newCodeAt(b);
    auto i = decoder.decode(x.subspan(a - base, limit - a), a);
    auto j = decoder.decode(y.subspan(0, std::min<uint64_t>(y.size(), limit - a)), b);
    if (!i && delta == 0) {
      // Not code where it stays (an operand read as data, V8's constants in
      // its code): its bytes must stay as they were, as far as one
      // instruction reaches.
      uint64_t n = std::min<uint64_t>({limit - a, y.size(), x86_64::MaxInstructionSize});
      if (std::memcmp(x.data() + (a - base), y.data(), n))
        fail("changed bytes that do not decode");
      break;
    }
    // Past the end of the flow, padding is where functions end: what
    // follows may be another function that merely looks the same.
    if (!inFlow && !bridge && (x[a - base] == 0 || (i && i->isPadding)))
      break;
    // So is an aligned address right after the end of a flow: a function
    // that needed no padding before it.
    if (!inFlow && !bridge && a % FunctionAlignment == 0)
      break;
    if (!i || !j || i->opcode != j->opcode || i->size != j->size || bool(i->field) != bool(j->field)) {
      fail("is not the same instruction there");
      break;
    }
    const uint8_t *xo = x.data() + (a - base), *yo = y.data();
    uint64_t f = i->field ? i->field->offset : i->size, n = i->field ? i->field->size : 0;
    if (std::memcmp(xo, yo, f) || std::memcmp(xo + f + n, yo + f + n, i->size - f - n)) {
      fail("changed outside its PC-relative operand");
      break;
    }
    if (i->field) {
      uint64_t t = i->field->target, u = j->field->target;
      if (isUndescribedCode(t)) {
        if (!(t >= from && t < a && u == t + delta))
          moves.push_back({t, u, a, mustContinue && (i->field->isBranch || u != t)}); // checked in turn
      } else if (u != map(t) && u != map(t, true) && !(u == t && forwards(t))) {
        fail("refers to " + hex(u) + " for " + hex(t) + ", expected " + hex(map(t)));
        break;
      }
      // A table base for reading data words, as a function's reference is
      // (the rewrite reads found functions' tables so too), where the code
      // moved: code that stays keeps its tables as they were.
      if (delta && !i->field->isBranch && (t < base || t >= textEnd) && !inRoom(t))
        learnedReferences.push_back({t, a});
      ++report.pcRelativeOperands;
    }
    instructionStart[a - base] = 1;
    ++report.instructions;
    a += i->size;
    if (endsFlowBefore(*i, a)) {
      inFlow = mustContinue = false;
      if (!extend)
        break;
    }
  }
  return a;
}

// Whether control ends with original instruction \p i, \p next right after
// it. A call followed by padding does not return (the rewrite reads it so):
// compilers do not run on into padding after a call.
bool Verifier::endsFlowBefore(const x86_64::Instruction &i, uint64_t next) const {
  if (!i.endsFlow || !i.isCall)
    return i.endsFlow;
  auto x = before.contents(*text);
  uint64_t base = text->addr();
  if (next >= base + x.size())
    return false;
  if (x[next - base] == 0)
    return true;
  auto pad = decoder.decode(x.subspan(next - base), next);
  return pad && pad->isPadding;
}

// Whether the original instructions from \p from run on, control never
// leaving them, to exactly \p end.
bool Verifier::flowRunsTo(uint64_t from, uint64_t end) const {
  auto x = before.contents(*text);
  uint64_t base = text->addr();
  for (uint64_t a = from; a < end;) {
    auto i = decoder.decode(x.subspan(a - base, end - a), a);
    if (!i)
      return false;
    a += i->size;
    if (endsFlowBefore(*i, a))
      return false;
  }
  return true;
}

bool Verifier::inFunction(uint64_t a) const {
  auto it = std::upper_bound(functions.begin(), functions.end(), a,
                             [](uint64_t x, const Moved &m) { return x < m.from; });
  return it != functions.begin() && a - (it - 1)->from < (it - 1)->size;
}

// From each such entry, the instructions up to the first that does not
// continue (or up to the next function) must be the original ones, with
// PC-relative operands that follow what they refer to: the padding after
// them may become int3.
void Verifier::checkEntriesOutsideFunctions() {
  std::sort(entriesOutsideFunctions.begin(), entriesOutsideFunctions.end());
  entriesOutsideFunctions.erase(std::unique(entriesOutsideFunctions.begin(), entriesOutsideFunctions.end()),
                                entriesOutsideFunctions.end());
  auto x = before.contents(*text), y = after.contents(after.sections()[text->index]);
  uint64_t base = text->addr();
  x86_64::Decoder decoder;
  for (uint64_t a : entriesOutsideFunctions) {
    auto next = std::upper_bound(functions.begin(), functions.end(), a,
                                 [](uint64_t v, const Moved &m) { return v < m.from; });
    uint64_t end = next == functions.end() ? base + x.size() : next->from;
    for (uint64_t p = a; p < end;) {
      auto i = decoder.decode(x.subspan(p - base, end - p), p);
      uint64_t size = i ? i->size : end - p; // undecodable: all of it must stay
      const uint8_t *xo = x.data() + (p - base), *yo = y.data() + (p - base);
      bool same = !std::memcmp(xo, yo, size);
      if (!same && i && i->field) {
        // It stays; its PC-relative operand follows what it refers to.
        auto j = decoder.decode(y.subspan(p - base, end - p), p);
        uint64_t f = i->field->offset, n = i->field->size;
        same = j && j->size == i->size && j->field && j->field->target == map(i->field->target) &&
               !std::memcmp(xo, yo, f) && !std::memcmp(xo + f + n, yo + f + n, size - f - n);
      }
      if (!same) {
        problem(where(after, a) + ": code outside every function is entered from elsewhere and changed " +
                (p == a ? "there" : std::to_string(p - a) + " bytes on"),
                {a, p});
        break;
      }
      if (!i || i->endsFlow)
        break;
      p += size;
    }
  }
}

// Without static relocations, nothing says which words of data are jump
// table entries or other offsets to code: every aligned 4-byte word of
// loaded data that nothing else describes is read as one (checkWord: it
// must follow the code it reads as, relative to itself or to a table base,
// or hold what it held).
bool Verifier::readsWordsAsEntries(const Section &s) const {
  bool words = s.type() == SHT_PROGBITS || s.type() == SHT_INIT_ARRAY || s.type() == SHT_FINI_ARRAY ||
               s.type() == SHT_PREINIT_ARRAY;
  return relocationFree && words && !s.isExecutable() && s.name != ".eh_frame" && s.name != ".eh_frame_hdr";
}

void Verifier::checkWord(const Section &s, const Word &w, std::span<const uint8_t> x,
                         std::span<const uint8_t> y) {
  uint64_t rel = w.place - s.addr();
  uint64_t ov = 0, nv = 0;
  std::memcpy(&ov, x.data() + rel, w.width);
  std::memcpy(&nv, y.data() + rel, w.width);
  uint64_t want = ov, about = 0, referrer = 0;
  uint64_t textStart = text->addr(), textEnd = text->addr() + text->size();
  switch (w.kind) {
  case Word::Kind::Address:
  case Word::Kind::AddressIfMoved: {
    uint64_t address = w.width == 4 && w.isSigned ? uint64_t(int64_t(int32_t(ov))) : ov;
    if (address >= textStart && address < textEnd)
      want = map(address) & (w.width == 8 ? ~0ull : 0xffffffffull), about = address;
    if (w.kind == Word::Kind::AddressIfMoved && nv == ov)
      want = ov;
    break;
  }
  case Word::Kind::TableEntry:
    if (auto target = entryTarget(s, w.place, uint32_t(ov), &referrer)) {
      want = uint32_t(ov + (map(*target, true) - *target));
      about = *target;
      // Kept as it was, it may still lead to the same code: through a
      // forwarding stub in the old place.
      if (nv == ov && want != ov) {
        if (forwards(*target)) {
          ++report.forwardedWords;
          return;
        }
        // A base learned from undescribed code may make a word that is no
        // entry (or another table's) read as one. Kept as it was, it is
        // held to what the described functions' bases say, as it was
        // before anything was learned.
        auto described = entryTarget(s, w.place, uint32_t(ov), nullptr, /*functionsOnly=*/true);
        if (!described || map(*described, true) == *described || forwards(*described))
          return;
        problem(where(after, w.place) + ": relative entry kept its value, which leads to " +
                where(before, *target) + "; that code moved to " + hex(map(*target, true)) +
                " and no forwarding stub in its old place leads there",
                {*target, referrer});
        return;
      }
    }
    break;
  case Word::Kind::Unwind:
  case Word::Kind::Operand:
    return;
  case Word::Kind::Fixed:
    break;
  }
  if (nv != ov)
    ++report.changedWords;
  if (nv != want)
    problem(where(after, w.place) + ": " + (w.kind == Word::Kind::TableEntry ? "relative entry" : "word") + " is " + hex(nv) +
            ", expected " + hex(want),
            {about, referrer});
}

void Verifier::checkData() {
  // One description per place; an address beats anything else said of it
  // (a static R_X86_64_64 and its RELATIVE dynamic relocation agree).
  std::sort(explained.begin(), explained.end(), [](const Word &a, const Word &b) {
    return a.place != b.place ? a.place < b.place : a.kind != b.kind ? a.kind < b.kind : a.width > b.width;
  });
  explained.erase(std::unique(explained.begin(), explained.end(),
                              [](const Word &a, const Word &b) { return a.place == b.place; }),
                  explained.end());
  for (const Section &s : before.sections()) {
    if (!s.isAlloc() || !s.hasFileData() || s.index == text->index || &s == room || s.type() == SHT_RELA ||
        s.type() == SHT_DYNSYM || s.type() == SHT_DYNAMIC)
      continue;
    auto x = before.contents(s), y = after.contents(after.sections()[s.index]);
    bool unwind = s.name == ".eh_frame" || s.name == ".eh_frame_hdr";
    auto first = std::lower_bound(explained.begin(), explained.end(), s.addr(),
                                  [](const Word &w, uint64_t a) { return w.place < a; });
    // Bytes [from, to) that nothing describes: unchanged, or, read as
    // entries, each aligned word what it must be.
    bool asEntries = readsWordsAsEntries(s);
    auto checkGap = [&](uint64_t from, uint64_t to) {
      for (uint64_t a = from; a < to;) {
        if (asEntries && a % 4 == 0 && to - a >= 4) {
          checkWord(s, {a, 4, Word::Kind::TableEntry}, x, y);
          a += 4;
          continue;
        }
        if (x[a - s.addr()] != y[a - s.addr()]) {
          problem(where(after, a) + ": byte changed and no relocation, GOT entry or FDE explains it");
          return false;
        }
        ++a;
      }
      return true;
    };
    // Every described word holds what it must, changed or not.
    uint64_t covered = s.addr();
    for (auto it = first; it != explained.end() && it->place < s.addr() + x.size(); ++it) {
      uint64_t rel = it->place - s.addr();
      if (x.size() - rel < it->width) {
        problem(where(before, it->place) + ": a relocation reaches past the section's end");
        return;
      }
      if (covered < it->place && !checkGap(covered, it->place))
        return;
      if (!unwind)
        checkWord(s, *it, x, y);
      covered = std::max(covered, it->place + it->width);
    }
    if (!checkGap(covered, s.addr() + x.size()))
      return;
  }
}

// The room holds the functions moved there, which checkCode read, and int3
// between them; or, between two that moved by the same distance (neighbours
// moved together), the bytes that stood between them.
void Verifier::checkRoom() {
  if (!room)
    return;
  auto x = before.contents(*text);
  auto y = after.contents(after.sections()[room->index]);
  std::vector<const Moved *> moved; // into the room, by new address
  for (const Moved &f : functions)
    if (inRoom(f.to))
      moved.push_back(&f);
  std::sort(moved.begin(), moved.end(), [](const Moved *a, const Moved *b) { return a->to < b->to; });
  uint64_t base = room->addr();
  auto checkGap = [&](uint64_t from, uint64_t to, const Moved *left, const Moved *right) {
    bool together = left && right && left->to - left->from == right->to - right->from;
    for (uint64_t a = from; a < to; ++a) {
      uint8_t want = x86_64::BreakpointByte;
      if (together) {
        uint64_t old = a - (left->to - left->from);
        want = old - text->addr() < x.size() ? x[old - text->addr()] : x86_64::BreakpointByte;
      }
      // Past what verify learned of undescribed code, the rest of what the
      // rewrite moved with it: the original bytes after it. Nothing checked
      // refers to them (each reference is checked against the map).
      bool tail = false;
      if (left && !together) {
        uint64_t old = a - (left->to - left->from);
        tail = old - text->addr() < x.size() && !inFunction(old) && y[a - base] == x[old - text->addr()];
      }
      if (y[a - base] != want && y[a - base] != x86_64::BreakpointByte && !tail) {
        problem(where(after, a) + ": byte between the functions moved into " + RoomSection + " is " +
                hex(y[a - base]) + ", expected " + hex(want) +
                (together ? " (the byte between them before) or int3" : " (int3)"),
                {a, left ? left->from : 0, right ? right->from : 0});
        return; // one problem for each gap; the next gaps are checked too
      }
    }
  };
  uint64_t cursor = base;
  const Moved *previous = nullptr;
  for (const Moved *f : moved) {
    if (f->to < cursor)
      problem(where(after, f->to) + ": two functions moved into " + RoomSection + " overlap",
              {f->to, f->from, previous ? previous->from : 0});
    else
      checkGap(cursor, f->to, previous, f);
    cursor = std::max(cursor, f->to + f->size);
    previous = f;
  }
  checkGap(cursor, base + y.size(), previous, nullptr);
}

VerifyReport Verifier::run() {
  if (!checkStructure())
    return report;
  relocationFree = std::none_of(before.sections().begin(), before.sections().end(), [&](const Section &s) {
    return s.type() == SHT_RELA && !s.isAlloc() && s.header.sh_info == text->index;
  });
  buildMap();
  checkCode();
  checkOtherCode();
  learnMovedCode();
  checkSymbols();
  checkUnwind();
  checkDynamic();
  checkData();
  checkRoom();
  checkEntriesOutsideFunctions();
  return report;
}

} // namespace

VerifyReport verifyRewrite(const ElfFile &original, const ElfFile &rewritten) {
  return Verifier(original, rewritten).run();
}

} // namespace elfopt
