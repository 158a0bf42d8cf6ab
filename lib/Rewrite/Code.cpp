//===- Code.cpp - blocks of .text and the displacements inside them -------===//
//
// Relocations do not describe every reference between functions: within one
// input section the assembler resolves `call local_function` itself and
// emits no relocation. So every block is decoded with LLVM MC and each
// PC-relative operand (branch displacement or RIP-relative memory operand)
// becomes a Field, whether a relocation covers it or not.
//
//===----------------------------------------------------------------------===//
#include "Internal.h"
#include "Discover.h"

#include "elfopt/Elf/Relocations.h"
#include "elfopt/Support/Diagnostics.h"
#include "elfopt/Support/Parallel.h"
#include "elfopt/Target/X86Decoder.h"
#include "elfopt/Target/X86_64.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <optional>
#include <unordered_map>

using namespace llvm::ELF;

namespace elfopt::rewrite {

using x86_64::Decoder;

TextInfo findText(const ElfFile &in) {
  const Section *text = in.findSection(".text");
  if (!text || !text->isExecutable() || !text->isAlloc() || !text->hasFileData() || text->size() == 0 ||
      in.contents(*text).size() != text->size())
    fatal(in.name() + ": no executable .text section to reorder");
  // .text is rewritten whole: nothing else may share its bytes.
  auto overlaps = [&](uint64_t offset, uint64_t size) {
    return size && offset < text->offset() + text->size() && text->offset() < offset + size;
  };
  for (const Section &s : in.sections())
    if (s.index != text->index && s.hasFileData() && s.type() != llvm::ELF::SHT_NULL &&
        overlaps(s.offset(), s.size()))
      fatal(in.name() + ": section " + s.name + " overlaps .text in the file");
  if (const Phdr *dynamic = in.findSegment(llvm::ELF::PT_DYNAMIC);
      dynamic && overlaps(dynamic->p_offset, dynamic->p_filesz))
    fatal(in.name() + ": the dynamic segment overlaps .text in the file");
  return {text->index, text->addr(), text->addr() + text->size()};
}

TextInfo findRoom(const ElfFile &in) {
  const Section *room = in.findSection(RoomSection);
  if (!room || !room->isExecutable() || !room->isAlloc() || !room->hasFileData() || room->size() == 0 ||
      in.contents(*room).size() != room->size())
    fatal(in.name() + ": no room (" + RoomSection + ") for the ordered code", ExitInternal);
  auto bytes = in.contents(*room);
  if (std::any_of(bytes.begin(), bytes.end(), [](uint8_t b) { return b != x86_64::BreakpointByte; }))
    fatal(in.name() + ": " + RoomSection + " holds code already: a file elfopt rewrote into a new segment "
                      "cannot get another one");
  // Nothing else may share its pages' addresses: the room is a segment's own.
  const Phdr *home = nullptr;
  for (const Phdr &p : in.segments())
    if (p.p_type == llvm::ELF::PT_LOAD && room->addr() >= p.p_vaddr &&
        room->addr() + room->size() <= p.p_vaddr + p.p_filesz)
      home = &p;
  if (!home || !(home->p_flags & llvm::ELF::PF_X))
    fatal(in.name() + ": " + RoomSection + " is not in an executable segment", ExitInternal);
  return {room->index, room->addr(), room->addr() + room->size()};
}

size_t blockAt(const std::vector<Block> &blocks, uint64_t address) {
  auto it = std::upper_bound(blocks.begin(), blocks.end(), address,
                             [](uint64_t a, const Block &b) { return a < b.start; });
  return it == blocks.begin() ? blocks.size() : size_t(it - blocks.begin() - 1);
}

std::string describe(const std::vector<Block> &blocks, uint64_t address) {
  size_t i = blockAt(blocks, address);
  if (i == blocks.size() || blocks[i].name.empty())
    return hex(address);
  uint64_t offset = address - blocks[i].start;
  return offset ? blocks[i].name + "+" + hex(offset) : blocks[i].name;
}

namespace {

bool allZero(const uint8_t *p, uint64_t n) {
  return std::all_of(p, p + n, [](uint8_t b) { return b == 0; });
}

uint64_t alignmentOf(uint64_t a) { return std::min<uint64_t>(a ? a & (~a + 1) : 16, 16); }

/// What .symtab says about the code.
struct FunctionSymbols {
  std::vector<std::pair<uint64_t, uint64_t>> bodies; ///< in .text, sorted, overlaps merged
  std::vector<uint64_t> unsized;   ///< functions with neither a size nor an FDE, sorted
  std::vector<uint64_t> cxxStarts; ///< functions with an Itanium-mangled name, sorted
  std::unordered_map<uint64_t, std::string> names; ///< function start -> name
  std::map<unsigned, std::vector<uint64_t>> otherStarts; ///< other code sections: symbol offsets
  /// Bodies proved by following control flow (Discover.h), sorted; or null.
  const std::vector<std::pair<uint64_t, uint64_t>> *discovered = nullptr;
};

std::vector<std::pair<uint64_t, uint64_t>> mergeOverlaps(std::vector<std::pair<uint64_t, uint64_t>> ranges) {
  std::sort(ranges.begin(), ranges.end());
  std::vector<std::pair<uint64_t, uint64_t>> merged;
  for (auto [b, e] : ranges) {
    if (!merged.empty() && b < merged.back().second)
      merged.back().second = std::max(merged.back().second, e);
    else
      merged.push_back({b, e});
  }
  return merged;
}

// Function bodies: symbol ranges inside .text, overlaps merged. A function
// symbol without a size (hand-written assembly, crtstuff) takes the range of
// the FDE that starts at it, if one does.
FunctionSymbols readFunctionSymbols(const ElfFile &in, const Section &symtab, const TextInfo &text,
                                    const std::map<uint64_t, uint64_t> &fdeRanges) {
  FunctionSymbols fs;
  std::vector<std::pair<uint64_t, uint64_t>> bodies;
  for (const Symbol &s : in.symbols(symtab)) {
    if (s.shndx != text.section && s.shndx < in.sections().size() && s.type != STT_SECTION &&
        in.sections()[s.shndx].isExecutable()) {
      const Section &home = in.sections()[s.shndx];
      if (s.value >= home.addr() && s.value - home.addr() < home.size())
        fs.otherStarts[s.shndx].push_back(s.value - home.addr());
    }
    if (s.shndx != text.section || !text.contains(s.value) || s.type == STT_SECTION ||
        s.type == STT_OBJECT || s.type == STT_TLS || s.type == STT_FILE)
      continue;
    if (s.isFunction() && s.name.starts_with("_Z"))
      fs.cxxStarts.push_back(s.value);
    if (s.isFunction() && !s.name.empty())
      fs.names.emplace(s.value, s.name); // the first symbol at an address names it
    if (s.isFunction() && s.size) {
      // text.contains(s.value): no wrap-around in text.end - s.value.
      bodies.push_back({s.value, s.size > text.end - s.value ? text.end : s.value + s.size});
    } else if (s.isFunction() || s.type == STT_NOTYPE) {
      auto fde = fdeRanges.find(s.value);
      if (s.isFunction() && fde != fdeRanges.end() && fde->second > s.value)
        bodies.push_back({s.value, std::min(fde->second, text.end)});
      else if (s.isFunction())
        fs.unsized.push_back(s.value);
    }
  }
  fs.bodies = mergeOverlaps(std::move(bodies));
  std::sort(fs.unsized.begin(), fs.unsized.end());
  std::sort(fs.cxxStarts.begin(), fs.cxxStarts.end());
  return fs;
}

// A stripped file's function bodies: its FDEs' ranges (every function
// compiled with unwind tables has one) and its sized dynamic symbols, named
// by .dynsym where it can. Local names are unknown, so every function is
// taken for C++ (kept at an even address: it may be a member function
// pointer's target).
FunctionSymbols readDynamicFunctionSymbols(const ElfFile &in, const TextInfo &text,
                                           const std::map<uint64_t, uint64_t> &fdeRanges) {
  FunctionSymbols fs;
  std::vector<std::pair<uint64_t, uint64_t>> bodies;
  for (auto [b, e] : fdeRanges)
    if (text.contains(b) && e > b)
      bodies.push_back({b, std::min(e, text.end)});
  std::map<uint64_t, std::pair<int, std::string>> named; // start -> (rank, name)
  if (const Section *dynsym = in.findSectionOfType(SHT_DYNSYM))
    for (const Symbol &s : in.symbols(*dynsym)) {
      if (!s.isFunction() || s.shndx != text.section || !text.contains(s.value))
        continue;
      // A global name over a weak one, then the smallest: independent of table order.
      int rank = s.binding == STB_GLOBAL ? 0 : s.binding == STB_WEAK ? 1 : 2;
      auto [it, fresh] = named.try_emplace(s.value, rank, s.name);
      if (!fresh && std::pair(rank, s.name) < it->second)
        it->second = {rank, s.name};
      if (s.size)
        bodies.push_back({s.value, s.size > text.end - s.value ? text.end : s.value + s.size});
      else if (!fdeRanges.count(s.value))
        fs.unsized.push_back(s.value);
    }
  for (auto &[start, name] : named)
    fs.names.emplace(start, name.second);
  for (auto [b, e] : fdeRanges)
    for (const Section &sec : in.sections())
      if (sec.index != text.section && sec.isExecutable() && sec.isAlloc() && b >= sec.addr() &&
          b - sec.addr() < sec.size())
        fs.otherStarts[sec.index].push_back(b - sec.addr());
  fs.bodies = mergeOverlaps(std::move(bodies));
  for (auto [b, e] : fs.bodies)
    fs.cxxStarts.push_back(b);
  std::sort(fs.unsized.begin(), fs.unsized.end());
  fs.unsized.erase(std::unique(fs.unsized.begin(), fs.unsized.end()), fs.unsized.end());
  return fs;
}

/// .text's bytes, by link-time address.
struct TextBytes {
  std::span<const uint8_t> bytes;
  uint64_t start = 0;
  const uint8_t *at(uint64_t a) const { return bytes.data() + (a - start); }
};

/// Cuts .text into blocks: function bodies, with the padding after each;
/// bytes that are neither become blocks of their own, pinned, split at
/// unsized function symbols.
class BlockCutter {
public:
  BlockCutter(const TextBytes &bytes, const FunctionSymbols &symbols, const x86_64::Decoder &decoder,
              std::vector<Block> &blocks)
      : bytes(bytes), symbols(symbols), decoder(decoder), blocks(blocks) {}

  void cut(const TextInfo &text) {
    uint64_t cursor = text.start;
    for (auto [b, e] : symbols.bodies) {
      if (b > cursor)
        fillGap(cursor, b);
      addFunction(b, e);
      cursor = e;
    }
    if (cursor < text.end)
      fillGap(cursor, text.end);
  }

private:
  void addFunction(uint64_t b, uint64_t e) {
    Block f;
    f.start = b;
    f.bodyEnd = f.end = e;
    f.align = alignmentOf(b);
    f.isFunction = true;
    f.isCxx = std::binary_search(symbols.cxxStarts.begin(), symbols.cxxStarts.end(), b);
    if (auto it = symbols.names.find(b); it != symbols.names.end())
      f.name = it->second;
    if (symbols.discovered)
      f.discovered = std::binary_search(symbols.discovered->begin(), symbols.discovered->end(), std::pair{b, e});
    blocks.push_back(f);
  }

  void fillGap(uint64_t b, uint64_t e) {
    auto it = std::upper_bound(symbols.unsized.begin(), symbols.unsized.end(), b);
    for (; it != symbols.unsized.end() && *it < e; ++it) {
      addUnknown(b, *it);
      b = *it;
    }
    if (b < e)
      addUnknown(b, e);
  }

  // Padding before the unknown bytes belongs to the block before: linkers
  // fill with nops, int3 or zeros (gold puts zeros after nops, mold before
  // them; zero bytes between functions are never code). Returns where the
  // padding ends.
  uint64_t skipPadding(uint64_t p, uint64_t e) const {
    while (p < e) {
      if (*bytes.at(p) == 0) {
        ++p;
        continue;
      }
      auto inst = decoder.decode({bytes.at(p), size_t(e - p)}, p);
      if (!inst || !inst->isPadding)
        break;
      p += inst->size;
    }
    return p;
  }

  void addUnknown(uint64_t b, uint64_t e) {
    bool atSymbol = std::binary_search(symbols.unsized.begin(), symbols.unsized.end(), b);
    if (!blocks.empty() && !atSymbol) {
      uint64_t p = skipPadding(b, e);
      blocks.back().end = std::min(p, e);
      if (p >= e)
        return;
      b = p;
    }
    Block u;
    u.start = b;
    if (auto it = symbols.names.find(b); it != symbols.names.end())
      u.name = it->second;
    u.bodyEnd = u.end = e;
    u.align = alignmentOf(b);
    pin(u, atSymbol ? "function without a size" : "code without a function symbol");
    blocks.push_back(u);
  }

  const TextBytes &bytes;
  const FunctionSymbols &symbols;
  const x86_64::Decoder &decoder;
  std::vector<Block> &blocks;
};

/// A displacement found by decoding, with the block it is in.
struct Pending {
  size_t from;
  Field field;
};

/// What decoding a run of blocks finds.
struct Decoded {
  std::vector<Pending> pending;
  std::vector<uint64_t> dataReferences;
  std::vector<uint64_t> functionDataReferences; ///< of function blocks only, found ones included
  std::vector<uint64_t> describedDataReferences; ///< of described function blocks only
};

Field displacementField(const x86_64::Instruction &inst, uint64_t a) {
  Field f;
  f.kind = Field::CodeRelative;
  f.base = a + inst.size;
  f.place = a + inst.field->offset;
  f.size = inst.field->size;
  f.target = inst.field->target;
  f.what = inst.field->isBranch ? "branch" : "rip-relative operand";
  return f;
}

// Decodes block \p bi's body, marking instruction starts and collecting its
// displacements into \p out; a block that does not decode is pinned, and
// contributes none.
void decodeBlock(CodeFacts &facts, const TextInfo &text, const TextBytes &bytes, const Decoder &decoder,
                 size_t bi, Decoded &out) {
  Block &blk = facts.blocks[bi];
  bool lastEnds = true, lastIsCall = false;
  uint64_t lastEnd = blk.start; // of the last instruction that is not padding
  size_t mark = out.pending.size();
  for (uint64_t a = blk.start; a < blk.bodyEnd;) {
    if (allZero(bytes.at(a), blk.bodyEnd - a))
      break; // padding inside a block without a size
    auto inst = decoder.decode({bytes.at(a), size_t(blk.bodyEnd - a)}, a);
    if (!inst || !inst->understood) {
      blk.decoded = false;
      out.pending.resize(mark);
      pin(blk, "instructions LLVM cannot decode", "at " + describe(facts.blocks, a));
      return;
    }
    facts.instructionStart[a - text.start] = true;
    uint64_t next = a + inst->size;
    if (inst->operation.kind == x86_64::Operation::IndirectJump)
      blk.jumpsThroughRegister = true;
    if (!inst->isPadding) {
      lastEnds = inst->endsFlow;
      lastIsCall = inst->isCall;
      lastEnd = next;
    }
    if (inst->field) {
      Field f = displacementField(*inst, a);
      out.pending.push_back({bi, f});
      if (!text.contains(f.target))
      {
        out.dataReferences.push_back(f.target);
        if (blk.isFunction)
          out.functionDataReferences.push_back(f.target);
        if (blk.isFunction && !blk.discovered)
          out.describedDataReferences.push_back(f.target);
      }
    }
    a = next;
  }
  blk.decoded = true;
  // A described function that ends in a call calls something that does not
  // return. Code nothing describes ends where something else starts: a call
  // there returns into it unless padding follows the call (verify reads it
  // so too).
  if (lastIsCall && (!blk.isFunction || blk.discovered))
    lastEnds = lastEnd < blk.end;
  blk.fallsThrough = !lastEnds;
  if (!blk.isFunction && lastEnd > blk.start)
    blk.bodyEnd = lastEnd; // its trailing padding is free space
}

// Decodes every block's body, in two halves on two threads (a large binary
// has millions of instructions). The halves split where no word of
// instructionStart is shared. Returns the displacements, in address order.
std::vector<Pending> decodeText(CodeFacts &facts, const TextInfo &text, const TextBytes &bytes) {
  facts.instructionStart.assign(text.end - text.start, false);
  size_t split = facts.blocks.size() / 2;
  while (split < facts.blocks.size() && (facts.blocks[split].start - text.start) % 64 != 0)
    ++split;
  Decoded halves[2];
  // Reserved from the code's size, so that the displacements do not grow
  // by copying: every copy faults in fresh pages, which was a third of a
  // large rewrite's page faults. Compilers emit about one displacement per
  // 10-20 bytes of code; the low half's vector takes the high half's too.
  // Only the pages written are touched.
  uint64_t codeBytes = text.end - text.start;
  halves[0].pending.reserve(codeBytes / 8);
  halves[1].pending.reserve(codeBytes / 16);
  runInTwoHalves(facts.blocks.size(), split, [&](size_t first, size_t last, unsigned half) {
    Decoder local;
    for (size_t bi = first; bi < last; ++bi)
      decodeBlock(facts, text, bytes, local, bi, halves[half]);
  });
  Decoded &low = halves[0], &high = halves[1];
  std::vector<Pending> pending = std::move(low.pending);
  pending.insert(pending.end(), high.pending.begin(), high.pending.end());
  facts.dataReferences = std::move(low.dataReferences);
  facts.dataReferences.insert(facts.dataReferences.end(), high.dataReferences.begin(),
                              high.dataReferences.end());
  facts.functionDataReferences = std::move(low.functionDataReferences);
  facts.functionDataReferences.insert(facts.functionDataReferences.end(), high.functionDataReferences.begin(),
                                      high.functionDataReferences.end());
  facts.describedDataReferences = std::move(low.describedDataReferences);
  facts.describedDataReferences.insert(facts.describedDataReferences.end(), high.describedDataReferences.begin(),
                                       high.describedDataReferences.end());
  return pending;
}

// Finds the references into .text from code section \p sec, decoding from
// each symbol to the next: zero padding between functions would otherwise
// throw the decoder off.
void decodeOtherSection(const ElfFile &in, const Section &sec, std::vector<uint64_t> starts,
                        const TextInfo &text, const Decoder &decoder, CodeFacts &facts) {
  auto code = in.contents(sec);
  std::erase_if(starts, [&](uint64_t o) { return o > code.size(); }); // the header may claim more
  starts.push_back(0);
  starts.push_back(code.size());
  std::sort(starts.begin(), starts.end());
  starts.erase(std::unique(starts.begin(), starts.end()), starts.end());
  size_t piece = 0;
  for (uint64_t off = 0; off < code.size();) {
    while (starts[piece + 1] <= off)
      ++piece;
    uint64_t pieceEnd = starts[piece + 1];
    if (allZero(code.data() + off, pieceEnd - off)) {
      off = pieceEnd;
      continue;
    }
    uint64_t a = sec.addr() + off;
    auto inst = decoder.decode(code.subspan(off, pieceEnd - off), a);
    if (!inst) {
      facts.undecodedSections.push_back(sec.index);
      return;
    }
    if (inst->field && text.contains(inst->field->target)) {
      Field f;
      f.kind = Field::DataRelative; // the place does not move
      f.size = inst->field->size;
      f.place = a + inst->field->offset;
      f.base = a + inst->size; // the end of the instruction
      f.target = inst->field->target;
      f.what = inst->field->isBranch ? "branch from another code section" : "operand from another code section";
      facts.outside.push_back(f);
    }
    off += inst->size;
  }
}

// Other code sections (.init, .fini, .plt, glibc's __libc_freeres_fn) stay
// where they are, but their references into .text must follow it.
void decodeOtherCode(const ElfFile &in, const TextInfo &text, const FunctionSymbols &symbols,
                     const Decoder &decoder, CodeFacts &facts) {
  for (const Section &sec : in.sections()) {
    if (!sec.isExecutable() || !sec.isAlloc() || !sec.hasFileData() || sec.index == text.section)
      continue;
    auto starts = symbols.otherStarts.find(sec.index);
    decodeOtherSection(in, sec, starts == symbols.otherStarts.end() ? std::vector<uint64_t>{} : starts->second,
                       text, decoder, facts);
  }
}

void pinBlockAt(CodeFacts &facts, size_t bi, const char *why, uint64_t at) {
  if (bi < facts.blocks.size())
    pin(facts.blocks[bi], why, "at " + describe(facts.blocks, at));
}

// Whether \p target, in block \p to, is where code may be entered: an
// instruction start, or the start of bytes that did not decode.
bool isEntry(const CodeFacts &facts, const TextInfo &text, size_t to, uint64_t target) {
  const Block &tb = facts.blocks[to];
  return tb.decoded ? facts.instructionStart[target - text.start] : target == tb.start;
}

// Keeps each displacement whose target is sound, with the constraints it
// puts on the layout.
void checkDisplacements(CodeFacts &facts, const TextInfo &text, std::vector<Pending> &pending) {
  facts.fields.reserve(facts.fields.size() + pending.size()); // not grown by copying (decodeText)
  for (Pending &p : pending) {
    Field &f = p.field;
    if (text.contains(f.target)) {
      size_t to = blockAt(facts.blocks, f.target);
      if (to != p.from && !isEntry(facts, text, to, f.target)) {
        // Into bytes no function describes (data in .text, or code we do
        // not know): those stay where they are whatever moves, so a 32-bit
        // operand follows its own code and still reaches them.
        if (!facts.blocks[to].isFunction && !facts.blocks[to].pinned.empty() && f.size == 4) {
          // Read from there on, its bytes need not end where its decoded
          // instructions did: none of its padding is free space.
          facts.blocks[to].bodyEnd = facts.blocks[to].end;
          facts.fields.push_back(f);
          continue;
        }
        // Into the middle of an instruction or of undecoded bytes of a
        // function: data, or code we do not understand. Keep both where
        // they are.
        pinBlockAt(facts, p.from, "refers into the middle of other code", f.place);
        pinBlockAt(facts, to, "referred to at an address that is not an instruction", f.target);
        continue; // unchanged: neither end moves
      }
      if (to != p.from && f.size == 1)
        facts.bonds.push_back({p.from, to, "8-bit branch to another function"});
    }
    facts.fields.push_back(f);
  }
  std::erase_if(facts.outside, [&](const Field &f) {
    size_t to = blockAt(facts.blocks, f.target);
    if (isEntry(facts, text, to, f.target))
      return false;
    pinBlockAt(facts, to, "referred to at an address that is not an instruction", f.target);
    return true;
  });
}

void bondFallThroughs(CodeFacts &facts) {
  for (size_t bi = 0; bi + 1 < facts.blocks.size(); ++bi)
    if (facts.blocks[bi].decoded && facts.blocks[bi].fallsThrough)
      facts.bonds.push_back({bi, bi + 1, "falls through into the next function"});
}

// Where code may be entered other than from the instruction before: branch
// targets, landing pads, function starts. Sorted.
std::vector<uint64_t> codeEntries(const CodeFacts &facts, const std::vector<Fde> &fdes) {
  std::vector<uint64_t> entries;
  size_t pads = 0;
  for (const Fde &f : fdes)
    pads += f.landingPads.size();
  entries.reserve(facts.fields.size() + facts.outside.size() + pads + facts.blocks.size());
  for (const auto *list : {&facts.fields, &facts.outside})
    for (const Field &f : *list)
      entries.push_back(f.target);
  for (const Fde &f : fdes)
    entries.insert(entries.end(), f.landingPads.begin(), f.landingPads.end());
  for (const Block &b : facts.blocks)
    entries.push_back(b.start);
  std::sort(entries.begin(), entries.end());
  entries.erase(std::unique(entries.begin(), entries.end()), entries.end());
  return entries;
}

// Where a jump table at \p base may lead, generously: up to its bound, or
// while its words lead to instructions, up to the next address that code
// refers to (where the rewrite ends such a table: claimTable; a table
// right after it is read against its own base). These are labels too: a
// value followed backwards must not cross one.
void addTableTargets(const ElfFile &in, const CodeFacts &facts, const TextInfo &text, uint64_t base,
                     std::optional<uint64_t> bound, std::vector<uint64_t> &labels) {
  constexpr uint64_t MaxScanned = uint64_t(1) << 16;
  for (const Section &s : in.sections()) {
    if (!s.isAlloc() || !s.hasFileData() || base < s.addr() || base - s.addr() >= s.size())
      continue;
    auto words = in.contents(s);
    for (uint64_t i = 0; i < bound.value_or(MaxScanned); ++i) {
      uint64_t off = base - s.addr() + 4 * i;
      if (off + 4 > words.size())
        break;
      if (!bound && i && std::binary_search(facts.dataReferences.begin(), facts.dataReferences.end(), base + 4 * i))
        break;
      int32_t value;
      std::memcpy(&value, words.data() + off, 4);
      uint64_t target = base + int64_t(value);
      if (!facts.isInstructionStart(text, target)) {
        if (bound)
          continue;
        break;
      }
      labels.push_back(target);
    }
    return;
  }
}

// Addresses the loader or a symbol holds: symbol values in .text, the
// addresses dynamic relocations and RELR words store, the entry points.
// Unsorted.
std::vector<uint64_t> storedCodeAddresses(const ElfFile &in, const TextInfo &text) {
  std::vector<uint64_t> out;
  for (const Section &s : in.sections()) {
    if (s.type() == SHT_SYMTAB || s.type() == SHT_DYNSYM) {
      for (const Symbol &sym : in.symbols(s))
        if (sym.shndx == text.section)
          out.push_back(sym.value);
    } else if (s.type() == SHT_RELA && s.isAlloc()) {
      for (const ELFT::Rela &rela : decodeRela(in.contents(s)))
        if (dynamicAddendIsAddress(rela))
          out.push_back(uint64_t(rela.r_addend));
    } else if (s.type() == SHT_RELR) {
      for (uint64_t a : decodeRelr(in.contents(s)))
        if (auto v = in.wordAt(a))
          out.push_back(*v);
    }
  }
  out.push_back(in.header().e_entry);
  for (const Dyn &d : in.dynamicEntries())
    if (d.d_tag == DT_INIT || d.d_tag == DT_FINI)
      out.push_back(d.d_un.d_ptr);
  return out;
}

// Addresses in blocks with register jumps that may be entered from
// anywhere but a branch of the same block: branches of other blocks and
// sections, landing pads, symbols, the loader's words (dynamic relocations,
// RELR), the entry points. Sorted.
std::vector<uint64_t> entriesFromElsewhere(const ElfFile &in, const CodeFacts &facts, const TextInfo &text,
                                           const std::vector<Fde> &fdes) {
  std::vector<uint64_t> out;
  auto candidate = [&](uint64_t t) {
    if (!text.contains(t))
      return facts.blocks.size();
    size_t b = blockAt(facts.blocks, t);
    return facts.blocks[b].jumpsThroughRegister ? b : facts.blocks.size();
  };
  for (const Field &f : facts.fields) {
    size_t b = candidate(f.target);
    if (b != facts.blocks.size() && (!text.contains(f.place) || blockAt(facts.blocks, f.place) != b))
      out.push_back(f.target);
  }
  for (const Field &f : facts.outside)
    out.push_back(f.target);
  for (const Fde &f : fdes)
    out.insert(out.end(), f.landingPads.begin(), f.landingPads.end());
  std::vector<uint64_t> stored = storedCodeAddresses(in, text);
  out.insert(out.end(), stored.begin(), stored.end());
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// Each jump through a register is a jump table's, or a pointer's; any other
// keeps its function in place: what it jumps through is not known, so
// neither is what must follow the function. In passes: each finds the
// tables, whose targets are labels the next must not walk across unless
// their own jumps lead there, until the tables are the ones assumed; a
// table whose targets the last pass did not know keeps its function.
void classifyRegisterJumps(const ElfFile &in, CodeFacts &facts, const TextInfo &text, const TextBytes &bytes,
                           const std::vector<Fde> &fdes) {
  std::vector<uint64_t> labels = codeEntries(facts, fdes);
  auto isLabel = [&](uint64_t a) { return std::binary_search(labels.begin(), labels.end(), a); };
  std::vector<uint64_t> elsewhere = entriesFromElsewhere(in, facts, text, fdes);
  std::vector<uint64_t> tableTargets; // entered from a jump table: from anywhere, for this purpose
  auto enteredFromElsewhere = [&](uint64_t a) {
    return std::binary_search(elsewhere.begin(), elsewhere.end(), a) ||
           std::binary_search(tableTargets.begin(), tableTargets.end(), a);
  };
  std::vector<size_t> candidates;
  uint64_t candidateBytes = 0;
  for (size_t bi = 0; bi < facts.blocks.size(); ++bi)
    if (facts.blocks[bi].decoded && facts.blocks[bi].jumpsThroughRegister) {
      candidates.push_back(bi);
      candidateBytes += facts.blocks[bi].bodyEnd - facts.blocks[bi].start;
    }
  // The candidates are decoded again in each pass, with LLVM's describing
  // decoder (a fifth of a libLLVM rewrite): in two halves of about equal
  // bytes, on two threads. Nothing a pass reads changes during it, and the
  // halves' results join in candidate order, as one thread would give them.
  size_t split = 0;
  for (uint64_t bytesBefore = 0; split < candidates.size() && 2 * bytesBefore < candidateBytes; ++split)
    bytesBefore += facts.blocks[candidates[split]].bodyEnd - facts.blocks[candidates[split]].start;
  // The tables of the pass before: (target, jump), (jump, base).
  std::vector<std::pair<uint64_t, uint64_t>> targetOf, firstPass;
  OwnTables own;
  own.jumpsTo = [&](uint64_t label) -> std::optional<std::vector<uint64_t>> {
    if (std::binary_search(elsewhere.begin(), elsewhere.end(), label))
      return std::nullopt;
    std::vector<uint64_t> jumps;
    for (auto it = std::lower_bound(targetOf.begin(), targetOf.end(), std::pair{label, uint64_t(0)});
         it != targetOf.end() && it->first == label; ++it)
      jumps.push_back(it->second);
    return jumps;
  };
  own.firstBase = [&](uint64_t jump) -> std::optional<uint64_t> {
    auto it = std::lower_bound(firstPass.begin(), firstPass.end(), std::pair{jump, uint64_t(0)});
    return it != firstPass.end() && it->first == jump ? std::optional(it->second) : std::nullopt;
  };
  auto jumpsOf = [&](const Block &blk, const Decoder &decoder, std::vector<DecodedInstruction> &code) {
    code.clear();
    for (uint64_t a = blk.start; a < blk.bodyEnd;) {
      if (allZero(bytes.at(a), blk.bodyEnd - a))
        break;
      auto inst = decoder.decode({bytes.at(a), size_t(blk.bodyEnd - a)}, a);
      if (!inst)
        break; // decoded once already: cannot happen
      code.push_back({a, *inst});
      a += inst->size;
    }
    return findIndirectJumps(code, isLabel, enteredFromElsewhere, firstPass.empty() ? nullptr : &own);
  };
  struct PassHalf {
    std::vector<std::pair<size_t, IndirectJump>> found;
    std::vector<std::pair<uint64_t, uint64_t>> targetOf, firstPass;
  };
  // Pass after pass, each with the tables of the one before (their targets
  // are labels, and ways in through those tables' jumps), until the tables
  // found are the ones assumed.
  constexpr int MaxPasses = 5;
  const std::vector<uint64_t> entries = labels;
  std::vector<std::pair<size_t, IndirectJump>> found;
  // Each half's decoder and instructions live across the passes: a block
  // of undescribed code can be tens of megabytes (Chromium: 70 MB), and
  // its instructions, allocated afresh in each pass, fault in gigabytes
  // again.
  const Decoder decoders[2] = {Decoder(/*describeOperations=*/true), Decoder(/*describeOperations=*/true)};
  std::vector<DecodedInstruction> codes[2];
  for (int pass = 0; pass < MaxPasses; ++pass) {
    PassHalf halves[2];
    runInTwoHalves(candidates.size(), split, [&](size_t first, size_t last, unsigned half) {
      PassHalf &out = halves[half];
      for (size_t ci = first; ci < last; ++ci) {
        size_t bi = candidates[ci];
        for (const IndirectJump &jump : jumpsOf(facts.blocks[bi], decoders[half], codes[half])) {
          out.found.push_back({bi, jump});
          if (jump.kind != IndirectJump::Table)
            continue;
          std::vector<uint64_t> targets;
          addTableTargets(in, facts, text, jump.tableBase, jump.entries, targets);
          for (uint64_t t : targets)
            out.targetOf.push_back({t, jump.address});
          out.firstPass.push_back({jump.address, jump.tableBase});
        }
      }
    });
    found = std::move(halves[0].found);
    found.insert(found.end(), halves[1].found.begin(), halves[1].found.end());
    std::vector<std::pair<uint64_t, uint64_t>> nextTargetOf = std::move(halves[0].targetOf),
                                               nextFirstPass = std::move(halves[0].firstPass);
    nextTargetOf.insert(nextTargetOf.end(), halves[1].targetOf.begin(), halves[1].targetOf.end());
    nextFirstPass.insert(nextFirstPass.end(), halves[1].firstPass.begin(), halves[1].firstPass.end());
    std::sort(nextTargetOf.begin(), nextTargetOf.end());
    nextTargetOf.erase(std::unique(nextTargetOf.begin(), nextTargetOf.end()), nextTargetOf.end());
    std::sort(nextFirstPass.begin(), nextFirstPass.end());
    if (pass > 0 && nextTargetOf == targetOf && nextFirstPass == firstPass)
      break;
    if (pass + 1 == MaxPasses)
      break; // the check below keeps what the last pass did not confirm
    targetOf = std::move(nextTargetOf);
    firstPass = std::move(nextFirstPass);
    tableTargets.clear();
    for (const auto &[t, jump] : targetOf)
      tableTargets.push_back(t);
    tableTargets.erase(std::unique(tableTargets.begin(), tableTargets.end()), tableTargets.end());
    labels = entries;
    labels.insert(labels.end(), tableTargets.begin(), tableTargets.end());
    std::sort(labels.begin(), labels.end());
    labels.erase(std::unique(labels.begin(), labels.end()), labels.end());
  }
  for (const auto &[bi, jump] : found) {
    Block &blk = facts.blocks[bi];
    if (jump.kind == IndirectJump::Table) {
      facts.tableJumps.push_back({bi, jump});
      // Each target must have been a label of this pass, entered through
      // this jump: else a value followed back may have missed that way in.
      std::vector<uint64_t> targets;
      addTableTargets(in, facts, text, jump.tableBase, jump.entries, targets);
      for (uint64_t t : targets)
        if (!std::binary_search(targetOf.begin(), targetOf.end(), std::pair{t, jump.address})) {
          pin(blk, "jump table whose targets its last pass did not know",
              "at " + describe(facts.blocks, jump.address));
          break;
        }
    } else if (jump.kind == IndirectJump::NotUnderstood)
      pin(blk, "indirect jump not understood", "at " + describe(facts.blocks, jump.address));
  }
}

} // namespace

CodeFacts analyseCode(const ElfFile &in, const TextInfo &text, const std::vector<Fde> &fdes,
                      bool relocationFree, const std::vector<std::pair<uint64_t, uint64_t>> &discovered) {
  CodeFacts facts;
  std::map<uint64_t, uint64_t> fdeRanges;
  for (const Fde &f : fdes)
    fdeRanges.emplace(f.pcBegin, f.pcEnd);
  // The symbols say where functions are; everything else is found by decoding.
  const Section *symtab = in.findSectionOfType(SHT_SYMTAB);
  FunctionSymbols symbols = symtab ? readFunctionSymbols(in, *symtab, text, fdeRanges)
                                   : readDynamicFunctionSymbols(in, text, fdeRanges);
  if (!discovered.empty()) {
    symbols.bodies.insert(symbols.bodies.end(), discovered.begin(), discovered.end());
    symbols.bodies = mergeOverlaps(std::move(symbols.bodies));
    // Nothing names them: any may be a member function pointer's target.
    for (auto [b, e] : discovered)
      symbols.cxxStarts.push_back(b);
    std::sort(symbols.cxxStarts.begin(), symbols.cxxStarts.end());
    symbols.discovered = &discovered;
  }
  Decoder decoder;
  TextBytes bytes{in.contents(in.sections()[text.section]), text.start};
  // Blocks first: decoding works block by block, and pins whole blocks.
  BlockCutter(bytes, symbols, decoder, facts.blocks).cut(text);
  // Every displacement in .text, and the instruction starts they must land on.
  std::vector<Pending> pending = decodeText(facts, text, bytes);
  // Code that stays put but refers into .text (.init, .plt, ...).
  decodeOtherCode(in, text, symbols, decoder, facts);
  // Only now are all instruction starts known, so only now can targets be checked.
  checkDisplacements(facts, text, pending);
  pending = {}; // now in facts.fields: freed before the peak of what follows
  // After decoding: it says which blocks fall through.
  bondFallThroughs(facts);
  // Sorted once, for the jump table bases the data side looks up.
  for (auto *refs : {&facts.dataReferences, &facts.functionDataReferences, &facts.describedDataReferences}) {
    std::sort(refs->begin(), refs->end());
    refs->erase(std::unique(refs->begin(), refs->end()), refs->end());
  }
  // With every branch target known (a label inside a table's sequence
  // breaks it); nothing else finds jump tables without relocations.
  if (relocationFree)
    classifyRegisterJumps(in, facts, text, bytes, fdes);
  return facts;
}

std::vector<std::pair<uint64_t, uint64_t>> discoverFunctions(const ElfFile &in, const TextInfo &text,
                                                             const CodeFacts &facts) {
  DiscoveryInput d;
  d.textStart = text.start;
  d.text = in.contents(in.sections()[text.section]).subspan(0, text.end - text.start);
  for (const Block &b : facts.blocks)
    if (!b.isFunction)
      d.runs.push_back({b.start, b.end}); // decoded linearly or not: data in it stays local
  if (d.runs.empty())
    return {};
  // Direct branches and lea of described code that decoded, and of other
  // code sections; memory operands of any code mark data.
  Decoder describing(/*describeOperations=*/true);
  auto span = [&](uint64_t a) { return d.text.subspan(a - text.start); };
  auto isBranch = [](const Field &f) {
    return std::string_view(f.what) == "branch" || std::string_view(f.what) == "branch from another code section";
  };
  auto isLea = [&](const Field &f) {
    // The instruction holding the field starts at most 15 bytes before it.
    for (uint64_t a = f.place; a + 15 >= f.place && a >= text.start; --a)
      if (facts.isInstructionStart(text, a)) {
        auto inst = describing.decode(span(a), a);
        return inst && inst->operation.kind == x86_64::Operation::LoadAddress;
      }
    return false;
  };
  auto inRun = [&](uint64_t t) {
    auto it = std::upper_bound(d.runs.begin(), d.runs.end(), t,
                               [](uint64_t x, const std::pair<uint64_t, uint64_t> &r) { return x < r.first; });
    return it != d.runs.begin() && t < (it - 1)->second;
  };
  for (const Field &f : facts.fields) {
    if (f.kind != Field::CodeRelative || !text.contains(f.place) || !inRun(f.target))
      continue;
    const Block &from = facts.blocks[blockAt(facts.blocks, f.place)];
    bool described = from.isFunction && from.decoded;
    if (isBranch(f)) {
      if (described)
        d.starts.push_back(f.target);
    } else if (isLea(f)) {
      if (described)
        d.starts.push_back(f.target);
    } else {
      d.dataAddresses.push_back(f.target);
    }
  }
  for (const Field &f : facts.outside)
    if (isBranch(f))
      d.starts.push_back(f.target);
  std::vector<uint64_t> stored = storedCodeAddresses(in, text);
  d.starts.insert(d.starts.end(), stored.begin(), stored.end());
  // Without static relocations: the tables of the jumps in the runs.
  for (const TableJump &tj : facts.tableJumps) {
    if (facts.blocks[tj.block].isFunction)
      continue;
    std::vector<uint64_t> targets;
    addTableTargets(in, facts, text, tj.jump.tableBase, tj.jump.entries, targets);
    for (uint64_t t : targets)
      d.tableTargets.push_back({tj.jump.address, t});
  }
  std::sort(d.tableTargets.begin(), d.tableTargets.end());
  return discoverFunctions(d, describing);
}

} // namespace elfopt::rewrite
