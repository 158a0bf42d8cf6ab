//===- VerifyPrefetch.cpp - check an added prefetch stub ------------------===//
#include "elfopt/Verify/VerifyPrefetch.h"

#include "elfopt/Support/Diagnostics.h"
#include "elfopt/Target/X86Decoder.h"
#include "elfopt/Target/X86_64.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <map>
#include <optional>

using namespace llvm::ELF;

namespace elfopt {

namespace {

constexpr const char *StubSection = ".elfopt.prefetch";

// The frame every stub must have: endbr64, pushfq and pushes of rax, rcx,
// rdx, rsi, rdi, r11 (what its arguments and syscall write), then the pops
// in reverse order and popfq.
constexpr uint8_t Prologue[] = {0xf3, 0x0f, 0x1e, 0xfa, 0x9c, 0x50, 0x51, 0x52, 0x56, 0x57, 0x41, 0x53};
constexpr uint8_t Epilogue[] = {0x41, 0x5b, 0x5f, 0x5e, 0x5a, 0x59, 0x58, 0x9d};

bool matches(std::span<const uint8_t> bytes, uint64_t at, std::span<const uint8_t> pattern) {
  return at + pattern.size() <= bytes.size() && std::memcmp(bytes.data() + at, pattern.data(), pattern.size()) == 0;
}

uint32_t read32(std::span<const uint8_t> bytes, uint64_t at) {
  uint32_t v;
  std::memcpy(&v, bytes.data() + at, 4);
  return v;
}

// Inside a PT_LOAD as mapped: whole pages.
bool loaded(const ElfFile &f, uint64_t address) {
  return std::ranges::any_of(f.segments(), [&](const Phdr &p) {
    uint64_t start = p.p_vaddr / 4096 * 4096, end = (p.p_vaddr + p.p_memsz + 4095) / 4096 * 4096;
    return p.p_type == PT_LOAD && address >= start && address < end;
  });
}

class StubChecker {
public:
  StubChecker(const ElfFile &before, const ElfFile &after, bool textMoved, PrefetchVerifyReport &report)
      : before(before), after(after), textMoved(textMoved), report(report) {}

  void runRoom(const std::string &name) {
    subject = name;
    const Section *room = after.findSection(name);
    if (!room || before.findSection(name)) {
      problem(room ? "the file before already has one" : "missing");
      return;
    }
    checkPlace(*room);
    auto bytes = after.contents(*room);
    if (bytes.size() != room->size() ||
        std::any_of(bytes.begin(), bytes.end(), [](uint8_t b) { return b != x86_64::BreakpointByte; }))
      problem("not all int3");
    checkRestUnchanged();
  }

  void run() {
    const Section *stub = after.findSection(StubSection);
    if (!stub)
      return;
    report.present = true;
    if (before.findSection(StubSection)) {
      problem("the file before the stub already has one");
      return;
    }
    checkPlace(*stub);
    std::optional<uint64_t> continuation = checkReachedFrom(*stub);
    checkCode(*stub, continuation);
    if (!textMoved)
      checkRestUnchanged();
  }

private:
  void problem(const std::string &text) { report.problems.push_back(subject + ": " + text); }

  void checkPlace(const Section &stub) {
    if (!(stub.isAlloc() && stub.isExecutable()) || stub.type() != SHT_PROGBITS)
      problem("not an allocated, executable PROGBITS section");
    bool inCode = std::ranges::any_of(after.segments(), [&](const Phdr &p) {
      return p.p_type == PT_LOAD && (p.p_flags & PF_X) && stub.addr() >= p.p_vaddr &&
             stub.addr() + stub.size() <= p.p_vaddr + p.p_filesz &&
             stub.offset() - p.p_offset == stub.addr() - p.p_vaddr;
    });
    if (!inCode)
      problem("not inside an executable PT_LOAD's file-backed part");
  }

  // Where the stub runs from, and where it must continue: the entry point of
  // the file before it, or its DT_INIT (none: the stub returns).
  std::optional<uint64_t> checkReachedFrom(const Section &stub) {
    std::optional<uint64_t> initAfter = after.dynamicValue(DT_INIT);
    if (after.header().e_entry == stub.addr() && initAfter != stub.addr()) {
      report.runsFrom = "e_entry";
      // (With .text moved, both moved with it: the .text check's to say.)
      if (!textMoved && initAfter != before.dynamicValue(DT_INIT))
        problem("DT_INIT changed although the stub runs from e_entry");
      return before.header().e_entry;
    }
    if (initAfter == stub.addr()) {
      report.runsFrom = "DT_INIT";
      if (!textMoved && after.header().e_entry != before.header().e_entry)
        problem("e_entry changed although the stub runs from DT_INIT");
      return before.dynamicValue(DT_INIT);
    }
    problem("neither e_entry nor DT_INIT leads to it");
    return std::nullopt;
  }

  void checkCode(const Section &stub, std::optional<uint64_t> continuation) {
    std::span<const uint8_t> code = after.contents(stub);
    const uint64_t base = stub.addr();
    x86_64::Decoder decoder;
    auto decode = [&](uint64_t at, uint64_t size) -> std::optional<x86_64::Instruction> {
      auto inst = decoder.decode(code.subspan(at), base + at);
      if (!inst || inst->size != size || !inst->understood)
        return std::nullopt;
      return inst;
    };
    if (!matches(code, 0, Prologue)) {
      problem("does not start by saving the flags and the registers it writes");
      return;
    }
    uint64_t at = sizeof Prologue;
    // lea disp(%rip),%rdi; mov $len,%esi; mov $MADV_WILLNEED,%edx;
    // mov $SYS_madvise,%eax; syscall
    static constexpr uint8_t Advice[] = {0xba, 0x03, 0, 0, 0, 0xb8, 0x1c, 0, 0, 0, 0x0f, 0x05};
    while (matches(code, at, std::array<uint8_t, 3>{0x48, 0x8d, 0x3d})) {
      auto lea = decode(at, 7);
      if (!lea || !lea->field || lea->field->isBranch || code.size() < at + 12 || code[at + 7] != 0xbe ||
          !matches(code, at + 12, Advice) || !decode(at + 7, 5)) {
        problem("instruction at +" + hex(at) + " is not part of a madvise(WILLNEED) call");
        return;
      }
      uint64_t target = lea->field->target, length = read32(code, at + 8);
      // madvise skips holes between segments; a range starts and ends in one.
      if (target % 4096 || length == 0 || !loaded(after, target) || !loaded(after, target + length - 1))
        problem("range " + hex(target) + "+" + hex(length) + " does not start and end on loaded pages");
      ++report.ranges;
      report.bytes += length;
      at += 7 + 5 + sizeof Advice;
    }
    if (!matches(code, at, Epilogue)) {
      problem("instruction at +" + hex(at) + " does not restore what the stub saved");
      return;
    }
    at += sizeof Epilogue;
    if (continuation && textMoved) {
      // Where the original's start went is the .text check's to say.
      auto jmp = decode(at, 5);
      bool intoCode = jmp && code[at] == 0xe9 && jmp->field &&
                      std::ranges::any_of(after.sections(), [&](const Section &s) {
                        return s.isExecutable() && s.name != StubSection && jmp->field->target >= s.addr() &&
                               jmp->field->target < s.addr() + s.size();
                      });
      if (!intoCode)
        problem("does not end in a jump into the file's code");
    } else if (continuation) {
      auto jmp = decode(at, 5);
      if (!jmp || code[at] != 0xe9 || !jmp->field || jmp->field->target != *continuation)
        problem("does not end in a jump to " + hex(*continuation) + ", where the file started before");
    } else if (at >= code.size() || code[at] != 0xc3) {
      problem("a library without DT_INIT before: the stub must return");
    }
    if (code.size() != at + 5)
      problem("has " + std::to_string(code.size() - std::min<uint64_t>(code.size(), at + 5)) +
              " bytes after its last instruction");
  }

  // The editor may move sections out of the way of the program header
  // table; their contents stay, and .dynamic follows their addresses.
  void checkRestUnchanged() {
    if (after.sections().size() < before.sections().size()) {
      problem("sections were removed");
      return;
    }
    std::map<uint64_t, uint64_t> movedAddress;
    std::map<unsigned, int64_t> movedBy; // section index -> address delta
    const Section *names = before.header().e_shstrndx < before.sections().size()
                               ? &before.sections()[before.header().e_shstrndx]
                               : nullptr;
    for (const Section &s : before.sections()) {
      const Section &t = after.sections()[s.index];
      // The section name table grows by the stub's name.
      bool nameTable = names && s.index == names->index;
      if (s.name != t.name || s.type() != t.type() || (s.size() != t.size() && !nameTable) ||
          s.flags() != t.flags()) {
        problem("section " + s.name + " changed its name, kind or size");
        continue;
      }
      if (s.addr() != t.addr()) {
        movedAddress[s.addr()] = t.addr();
        movedBy[s.index] = int64_t(t.addr() - s.addr());
      }
    }
    for (const Section &s : before.sections()) {
      const Section &t = after.sections()[s.index];
      if (s.type() == SHT_DYNAMIC || !s.hasFileData() || s.type() != t.type() || s.size() > t.size())
        continue;
      auto x = before.contents(s), y = after.contents(t);
      if (s.type() == SHT_SYMTAB || s.type() == SHT_DYNSYM) {
        checkSymbols(s, x, y, movedBy);
        continue;
      }
      if (!std::equal(x.begin(), x.end(), y.begin()))
        problem("section " + s.name + " changed its contents");
    }
    auto x = before.dynamicEntries(), y = after.dynamicEntries();
    size_t j = 0;
    for (size_t i = 0; i < y.size(); ++i) {
      if (report.runsFrom == "DT_INIT" && y[i].d_tag == DT_INIT) {
        if (before.dynamicValue(DT_INIT) && (j >= x.size() || x[j].d_tag != DT_INIT))
          problem(".dynamic: DT_INIT moved");
        if (j < x.size() && x[j].d_tag == DT_INIT)
          ++j;
        continue;
      }
      if (j >= x.size()) {
        problem(".dynamic: entry " + std::to_string(i) + " was added");
        continue;
      }
      uint64_t want = x[j].d_un.d_val;
      auto moved = movedAddress.find(want);
      bool ok = x[j].d_tag == y[i].d_tag &&
                (y[i].d_un.d_val == want || (moved != movedAddress.end() && y[i].d_un.d_val == moved->second));
      if (!ok)
        problem(".dynamic: entry " + std::to_string(i) + " changed");
      ++j;
    }
  }

  // Symbols keep every field; a symbol of a moved section keeps its offset
  // in it.
  void checkSymbols(const Section &s, std::span<const uint8_t> x, std::span<const uint8_t> y,
                    const std::map<unsigned, int64_t> &movedBy) {
    for (uint64_t at = 0; at + sizeof(Sym) <= x.size(); at += sizeof(Sym)) {
      Sym a, b;
      std::memcpy(&a, x.data() + at, sizeof a);
      std::memcpy(&b, y.data() + at, sizeof b);
      auto moved = movedBy.find(a.st_shndx);
      uint64_t want = moved == movedBy.end() ? uint64_t(a.st_value) : uint64_t(a.st_value) + uint64_t(moved->second);
      if (a.st_name != b.st_name || a.st_info != b.st_info || a.st_other != b.st_other ||
          a.st_shndx != b.st_shndx || a.st_size != b.st_size || b.st_value != want)
        problem("section " + s.name + ": symbol " + std::to_string(at / sizeof(Sym)) + " changed");
    }
  }

  const ElfFile &before, &after;
  bool textMoved;
  PrefetchVerifyReport &report;
  std::string subject = StubSection; ///< what the problems are about
};

} // namespace

std::vector<std::string> verifyAddedRoom(const ElfFile &before, const ElfFile &after, const std::string &room) {
  PrefetchVerifyReport report;
  StubChecker(before, after, false, report).runRoom(room);
  return report.problems;
}

bool hasPrefetchStub(const ElfFile &file) { return file.findSection(StubSection) != nullptr; }

PrefetchVerifyReport verifyPrefetchStub(const ElfFile &before, const ElfFile &after, bool textMoved) {
  PrefetchVerifyReport report;
  StubChecker(before, after, textMoved, report).run();
  return report;
}

} // namespace elfopt
