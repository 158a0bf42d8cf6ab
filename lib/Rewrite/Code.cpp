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

#include "elfopt/Support/Diagnostics.h"
#include "elfopt/Target/X86Decoder.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <thread>
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


} // namespace

CodeFacts analyseCode(const ElfFile &in, const TextInfo &text,
                      const std::map<uint64_t, uint64_t> &fdeRanges) {
  CodeFacts facts;
  const Section *symtab = in.findSectionOfType(SHT_SYMTAB);
  if (!symtab)
    fatal(in.name() + ": no .symtab: function boundaries are unknown in a stripped file; "
                      "rewrite the unstripped binary and strip the result");

  // Function bodies: symbol ranges inside .text, overlaps merged. A
  // function symbol without a size (hand-written assembly, crtstuff) takes
  // the range of the FDE that starts at it, if one does.
  std::vector<std::pair<uint64_t, uint64_t>> bodies;
  std::vector<uint64_t> unsized;
  std::vector<uint64_t> cxxStarts; // functions with an Itanium-mangled name
  std::unordered_map<uint64_t, std::string> names; // function start -> name
  std::map<unsigned, std::vector<uint64_t>> otherStarts; // other code sections: symbol offsets
  for (const Symbol &s : in.symbols(*symtab)) {
    if (s.shndx != text.section && s.shndx < in.sections().size() && s.type != STT_SECTION &&
        in.sections()[s.shndx].isExecutable()) {
      const Section &home = in.sections()[s.shndx];
      if (s.value >= home.addr() && s.value - home.addr() < home.size())
        otherStarts[s.shndx].push_back(s.value - home.addr());
    }
    if (s.shndx != text.section || !text.contains(s.value) || s.type == STT_SECTION ||
        s.type == STT_OBJECT || s.type == STT_TLS || s.type == STT_FILE)
      continue;
    if (s.isFunction() && s.name.starts_with("_Z"))
      cxxStarts.push_back(s.value);
    if (s.isFunction() && !s.name.empty())
      names.emplace(s.value, s.name); // the first symbol at an address names it
    if (s.isFunction() && s.size) {
      // text.contains(s.value): no wrap-around in text.end - s.value.
      bodies.push_back({s.value, s.size > text.end - s.value ? text.end : s.value + s.size});
    } else if (s.isFunction() || s.type == STT_NOTYPE) {
      auto fde = fdeRanges.find(s.value);
      if (s.isFunction() && fde != fdeRanges.end() && fde->second > s.value)
        bodies.push_back({s.value, std::min(fde->second, text.end)});
      else if (s.isFunction())
        unsized.push_back(s.value);
    }
  }
  std::sort(bodies.begin(), bodies.end());
  std::vector<std::pair<uint64_t, uint64_t>> merged;
  for (auto [b, e] : bodies) {
    if (!merged.empty() && b < merged.back().second)
      merged.back().second = std::max(merged.back().second, e);
    else
      merged.push_back({b, e});
  }
  std::sort(unsized.begin(), unsized.end());
  std::sort(cxxStarts.begin(), cxxStarts.end());

  Decoder d;
  std::span<const uint8_t> bytes = in.contents(in.sections()[text.section]);
  auto at = [&](uint64_t a) { return bytes.data() + (a - text.start); };
  auto alignmentOf = [](uint64_t a) { return std::min<uint64_t>(a ? a & (~a + 1) : 16, 16); };

  // Blocks: bodies, with the padding after each; bytes that are neither
  // become blocks of their own, pinned, split at unsized function symbols.
  auto addUnknown = [&](uint64_t b, uint64_t e) {
    bool atSymbol = std::binary_search(unsized.begin(), unsized.end(), b);
    if (!facts.blocks.empty() && !atSymbol) {
      // Padding before the unknown bytes belongs to the block before:
      // linkers fill with nops, int3 or zeros (gold puts zeros after nops,
      // mold before them; zero bytes between functions are never code).
      uint64_t p = b;
      while (p < e) {
        if (*at(p) == 0) {
          ++p;
          continue;
        }
        auto inst = d.decode({at(p), size_t(e - p)}, p);
        if (!inst || !inst->isPadding)
          break;
        p += inst->size;
      }
      facts.blocks.back().end = std::min(p, e);
      if (p >= e)
        return;
      b = p;
    }
    Block u;
    u.start = b;
    if (auto it = names.find(b); it != names.end())
      u.name = it->second;
    u.bodyEnd = u.end = e;
    u.align = alignmentOf(b);
    pin(u, atSymbol ? "function without a size" : "code without a function symbol");
    facts.blocks.push_back(u);
  };
  auto fillGap = [&](uint64_t b, uint64_t e) {
    auto it = std::upper_bound(unsized.begin(), unsized.end(), b);
    for (; it != unsized.end() && *it < e; ++it) {
      addUnknown(b, *it);
      b = *it;
    }
    if (b < e)
      addUnknown(b, e);
  };
  uint64_t cursor = text.start;
  for (auto [b, e] : merged) {
    if (b > cursor)
      fillGap(cursor, b);
    Block f;
    f.start = b;
    f.bodyEnd = f.end = e;
    f.align = alignmentOf(b);
    f.isFunction = true;
    f.isCxx = std::binary_search(cxxStarts.begin(), cxxStarts.end(), b);
    if (auto it = names.find(b); it != names.end())
      f.name = it->second;
    facts.blocks.push_back(f);
    cursor = e;
  }
  if (cursor < text.end)
    fillGap(cursor, text.end);

  // Decode every block's body, in two halves on two threads (a large
  // binary has millions of instructions). The halves split where no word of
  // instructionStart is shared.
  facts.instructionStart.assign(text.end - text.start, false);
  struct Pending {
    size_t from;
    Field field;
  };
  struct Half {
    std::vector<Pending> pending;
    std::vector<uint64_t> dataReferences;
  };
  auto decodeBlocks = [&](size_t first, size_t last, Half &out) {
    Decoder local;
    for (size_t bi = first; bi < last; ++bi) {
      Block &blk = facts.blocks[bi];
      bool ok = true;
      bool lastEnds = true;
      uint64_t lastEnd = blk.start; // of the last instruction that is not padding
      size_t mark = out.pending.size();
      uint64_t failedAt = 0;
      for (uint64_t a = blk.start; a < blk.bodyEnd;) {
        if (allZero(at(a), blk.bodyEnd - a))
          break; // padding inside a block without a size
        auto inst = local.decode({at(a), size_t(blk.bodyEnd - a)}, a);
        if (!inst || !inst->understood) {
          ok = false;
          failedAt = a;
          break;
        }
        facts.instructionStart[a - text.start] = true;
        uint64_t next = a + inst->size;
        if (!inst->isPadding) {
          lastEnds = inst->endsFlow;
          lastEnd = next;
        }
        if (inst->field) {
          Field f;
          f.kind = Field::CodeRelative;
          f.base = next;
          f.place = a + inst->field->offset;
          f.size = inst->field->size;
          f.target = inst->field->target;
          f.what = inst->field->isBranch ? "branch" : "rip-relative operand";
          out.pending.push_back({bi, f});
          if (!text.contains(f.target))
            out.dataReferences.push_back(f.target);
        }
        a = next;
      }
      blk.decoded = ok;
      if (!ok) {
        out.pending.resize(mark);
        pin(blk, "instructions LLVM cannot decode", "at " + describe(facts.blocks, failedAt));
        continue;
      }
      blk.fallsThrough = !lastEnds;
      if (!blk.isFunction && lastEnd > blk.start)
        blk.bodyEnd = lastEnd; // its trailing padding is free space
    }
  };
  size_t split = facts.blocks.size() / 2;
  while (split < facts.blocks.size() && (facts.blocks[split].start - text.start) % 64 != 0)
    ++split;
  Half low, high;
  if (facts.blocks.size() > 1000 && split < facts.blocks.size()) {
    std::thread worker(decodeBlocks, split, facts.blocks.size(), std::ref(high));
    decodeBlocks(0, split, low);
    worker.join();
  } else {
    decodeBlocks(0, facts.blocks.size(), low);
  }
  std::vector<Pending> pending = std::move(low.pending);
  pending.insert(pending.end(), high.pending.begin(), high.pending.end());
  facts.dataReferences = std::move(low.dataReferences);
  facts.dataReferences.insert(facts.dataReferences.end(), high.dataReferences.begin(),
                              high.dataReferences.end());

  // Other code sections (.init, .fini, .plt, glibc's __libc_freeres_fn)
  // stay where they are, but their references into .text must follow it.
  for (const Section &sec : in.sections()) {
    if (!sec.isExecutable() || !sec.isAlloc() || !sec.hasFileData() || sec.index == text.section)
      continue;
    auto code = in.contents(sec);
    // Decode from each symbol to the next: zero padding between functions
    // would otherwise throw the decoder off.
    std::vector<uint64_t> starts = otherStarts[sec.index];
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
      auto inst = d.decode(code.subspan(off, pieceEnd - off), a);
      if (!inst) {
        facts.undecodedSections.push_back(sec.index);
        break;
      }
      if (inst->field && text.contains(inst->field->target)) {
        Field f;
        f.kind = Field::DataRelative; // the place does not move
        f.size = inst->field->size;
        f.place = a + inst->field->offset;
        f.base = a + inst->size; // the end of the instruction
        f.target = inst->field->target;
        f.what = "branch from another code section";
        facts.outside.push_back(f);
      }
      off += inst->size;
    }
  }

  // Check each displacement's target and record the constraints it puts on
  // the layout.
  auto pinBlock = [&](size_t bi, const char *why, uint64_t at) {
    if (bi < facts.blocks.size())
      pin(facts.blocks[bi], why, "at " + describe(facts.blocks, at));
  };
  for (Pending &p : pending) {
    Field &f = p.field;
    if (text.contains(f.target)) {
      size_t to = blockAt(facts.blocks, f.target);
      const Block &tb = facts.blocks[to];
      bool atInstruction = tb.decoded ? facts.instructionStart[f.target - text.start]
                                      : f.target == tb.start;
      if (to != p.from && !atInstruction) {
        // Into the middle of an instruction or of undecoded bytes: data,
        // or code we do not understand. Keep both where they are.
        pinBlock(p.from, "refers into the middle of other code", f.place);
        pinBlock(to, "referred to at an address that is not an instruction", f.target);
        continue; // unchanged: neither end moves
      }
      if (to != p.from && f.size == 1)
        facts.bonds.push_back({p.from, to, "8-bit branch to another function"});
    }
    facts.fields.push_back(f);
  }
  std::erase_if(facts.outside, [&](const Field &f) {
    size_t to = blockAt(facts.blocks, f.target);
    const Block &tb = facts.blocks[to];
    if (tb.decoded ? facts.instructionStart[f.target - text.start] : f.target == tb.start)
      return false;
    pinBlock(to, "referred to at an address that is not an instruction", f.target);
    return true;
  });
  for (size_t bi = 0; bi + 1 < facts.blocks.size(); ++bi)
    if (facts.blocks[bi].decoded && facts.blocks[bi].fallsThrough)
      facts.bonds.push_back({bi, bi + 1, "falls through into the next function"});
  std::sort(facts.dataReferences.begin(), facts.dataReferences.end());
  facts.dataReferences.erase(std::unique(facts.dataReferences.begin(), facts.dataReferences.end()),
                             facts.dataReferences.end());
  return facts;
}

} // namespace elfopt::rewrite
