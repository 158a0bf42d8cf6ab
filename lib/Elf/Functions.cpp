//===- Functions.cpp ------------------------------------------------------===//
#include "elfopt/Elf/Functions.h"
#include "elfopt/Support/Diagnostics.h"

#include "elfopt/Elf/EhFrame.h"

#include <algorithm>
#include <map>

using namespace llvm::ELF;

namespace elfopt {

const char *functionSourceName(FunctionSource source) {
  switch (source) {
  case FunctionSource::Symtab: return "symtab";
  case FunctionSource::DynsymAndEhFrame: return "dynsym+eh_frame";
  case FunctionSource::None: return "none";
  }
  return "none";
}

namespace {

// Which of several symbols at one address names the function: a global
// name over a weak one over a local one, then the smallest name, so the
// choice does not depend on symbol table order.
int bindingRank(uint8_t binding) {
  return binding == STB_GLOBAL ? 0 : binding == STB_WEAK ? 1 : 2;
}

struct Candidate {
  std::string name;
  uint64_t size = 0;
  int rank = 4; // worse than any real candidate
  unsigned section = 0;
};

void offer(std::map<uint64_t, Candidate> &byAddress, uint64_t address, const std::string &name,
           uint64_t size, int rank, unsigned section) {
  Candidate &c = byAddress[address];
  c.size = std::max(c.size, size);
  c.section = section;
  if (rank < c.rank || (rank == c.rank && name < c.name)) {
    c.name = name;
    c.rank = rank;
  }
}

bool isCode(const ElfFile &file, unsigned shndx) {
  return shndx != SHN_UNDEF && shndx < file.sections().size() &&
         file.sections()[shndx].isExecutable();
}

// PLT stubs have FDEs too, but they are the linker's, not functions.
unsigned codeSectionAt(const ElfFile &file, uint64_t address) {
  for (const Section &s : file.sections())
    if (s.isExecutable() && s.isAlloc() && address >= s.addr() && address < s.addr() + s.size())
      return s.name.starts_with(".plt") || s.name == ".iplt" ? 0 : s.index;
  return 0;
}

void addSymbols(const ElfFile &file, const Section &table, std::map<uint64_t, Candidate> &out) {
  for (const Symbol &sym : file.symbols(table))
    if (sym.isFunction() && isCode(file, sym.shndx))
      offer(out, sym.value, sym.name, sym.size, bindingRank(sym.binding), sym.shndx);
}

// Our own .eh_frame reader, not LLVM's DWARFDebugFrame: fuzzing found
// inputs on which LLVM 19's parser reaches unreachable code (a crash in a
// release build) instead of returning an error.
void addEhFrame(const ElfFile &file, std::map<uint64_t, Candidate> &out) {
  std::vector<Fde> fdes;
  try {
    fdes = readEhFrame(file);
  } catch (const FatalError &e) {
    warn(std::string(e.what()) + "; functions without a dynamic symbol are not known");
    return;
  }
  for (const Fde &fde : fdes) {
    if (fde.pcEnd <= fde.pcBegin)
      continue;
    unsigned section = codeSectionAt(file, fde.pcBegin);
    if (section == 0)
      continue;
    char name[32];
    std::snprintf(name, sizeof name, "fde@0x%llx", (unsigned long long)fde.pcBegin);
    // An FDE name ranks below any symbol; its range is the function's size.
    offer(out, fde.pcBegin, name, fde.pcEnd - fde.pcBegin, 3, section);
  }
}

} // namespace

// A function must start inside its section's file data, and is cut at the
// section's end: symbols are input, and input may lie.
static void dropImpossible(const ElfFile &file, std::map<uint64_t, Candidate> &byAddress) {
  unsigned dropped = 0, clipped = 0;
  for (auto it = byAddress.begin(); it != byAddress.end();) {
    const Section &sec = file.sections()[it->second.section];
    uint64_t start = it->first;
    if (!sec.hasFileData() || start < sec.addr() || start - sec.addr() >= sec.size()) {
      it = byAddress.erase(it);
      ++dropped;
      continue;
    }
    uint64_t room = sec.size() - (start - sec.addr());
    if (it->second.size > room) {
      it->second.size = room;
      ++clipped;
    }
    ++it;
  }
  if (dropped)
    warn(file.name() + ": " + std::to_string(dropped) +
         " function symbols lie outside their section; ignored");
  if (clipped)
    warn(file.name() + ": " + std::to_string(clipped) +
         " function symbols run past the end of their section; cut at its end");
}

// Whether an eighth of \p text or more is no function's: finding functions
// there decodes all of .text, worth it where much is undescribed (a file
// built without unwind tables), not for a few routines in assembly.
static bool isMostlyUndescribed(const Section &text, const std::map<uint64_t, Candidate> &byAddress) {
  uint64_t described = 0, cursor = text.addr(), end = text.addr() + text.size();
  for (auto it = byAddress.lower_bound(text.addr()); it != byAddress.end() && it->first < end; ++it) {
    uint64_t from = std::max(cursor, it->first), to = std::min(end, it->first + it->second.size);
    if (to > from) {
      described += to - from;
      cursor = to;
    }
  }
  return text.size() - described >= text.size() / 8;
}

FunctionTable readFunctions(const ElfFile &file, const FunctionFinder &finder) {
  FunctionTable table;
  std::map<uint64_t, Candidate> byAddress;
  if (const Section *symtab = file.findSectionOfType(SHT_SYMTAB)) {
    table.source = FunctionSource::Symtab;
    addSymbols(file, *symtab, byAddress);
  } else {
    table.source = FunctionSource::DynsymAndEhFrame;
    if (const Section *dynsym = file.findSectionOfType(SHT_DYNSYM))
      addSymbols(file, *dynsym, byAddress);
    addEhFrame(file, byAddress);
  }
  if (finder)
    if (const Section *text = file.findSection(".text"); text && isMostlyUndescribed(*text, byAddress))
      for (auto [start, end] : finder(file)) {
        char name[32];
        std::snprintf(name, sizeof name, "code@0x%llx", (unsigned long long)start);
        // Found in code nothing else describes: below any symbol or FDE.
        offer(byAddress, start, name, end - start, 3, text->index);
      }
  dropImpossible(file, byAddress);
  table.functions.reserve(byAddress.size());
  for (auto &[address, c] : byAddress)
    table.functions.push_back({std::move(c.name), address, c.size, c.section});
  return table;
}

} // namespace elfopt
