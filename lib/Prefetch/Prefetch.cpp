//===- Prefetch.cpp - read what startup needs before it needs it ----------===//
#include "elfopt/Prefetch/Prefetch.h"

#include "elfopt/Support/Diagnostics.h"
#include "elfopt/Target/X86_64.h"

#include <algorithm>
#include <cstring>
#include <numeric>

using namespace llvm::ELF;

namespace elfopt {

namespace {

// madvise's length is loaded as a 32-bit immediate: no range is longer.
constexpr uint64_t MaxRangeBytes = uint64_t(1) << 30;

using x86_64::Endbr64;
// pushfq; push %rax, %rcx, %rdx, %rsi, %rdi, %r11: what syscall and the
// arguments clobber, and the flags.
constexpr uint8_t Save[] = {0x9c, 0x50, 0x51, 0x52, 0x56, 0x57, 0x41, 0x53};
// The same, in reverse.
constexpr uint8_t Restore[] = {0x41, 0x5b, 0x5f, 0x5e, 0x5a, 0x59, 0x58, 0x9d};
constexpr uint64_t PerRange = 7 + 5 + 5 + 5 + 2; // lea, mov esi, mov edx, mov eax, syscall
constexpr uint64_t Tail = 5;                     // jmp rel32, or ret and int3 padding
constexpr uint32_t SysMadvise = 28, MadvWillneed = 3;

void put32(std::vector<uint8_t> &out, uint32_t v) {
  for (int i = 0; i < 4; ++i)
    out.push_back(uint8_t(v >> (8 * i)));
}

int32_t displacement(uint64_t target, uint64_t next) {
  int64_t d = int64_t(target - next);
  if (d != int64_t(int32_t(d)))
    fatal("prefetch stub: target " + hex(target) + " is out of a 32-bit displacement's reach", ExitInternal);
  return int32_t(d);
}

} // namespace

std::vector<AddressRange> mergePrefetchRanges(std::vector<AddressRange> touched, const PrefetchOptions &options) {
  const uint64_t page = options.pageSize;
  std::vector<AddressRange> runs;
  for (const AddressRange &r : touched) {
    if (r.size == 0)
      continue;
    uint64_t start = r.address / page * page;
    uint64_t end = (r.end() + page - 1) / page * page;
    runs.push_back({start, end - start});
  }
  std::ranges::sort(runs, {}, &AddressRange::address);
  // Overlapping or adjacent pages, and then gaps up to maxGap, are one range.
  std::vector<AddressRange> merged;
  for (const AddressRange &r : runs) {
    if (!merged.empty() && r.address <= merged.back().end() + options.maxGap) {
      merged.back().size = std::max(merged.back().end(), r.end()) - merged.back().address;
      continue;
    }
    merged.push_back(r);
  }
  // Too many: merge across the smallest gaps. Merging one gap leaves the
  // others as they were, so choosing the smallest (count - maxRanges) gaps
  // at once is the same as merging them one by one.
  if (options.maxRanges && merged.size() > options.maxRanges) {
    std::vector<size_t> gaps(merged.size() - 1);
    std::iota(gaps.begin(), gaps.end(), 0);
    auto gap = [&](size_t i) { return merged[i + 1].address - merged[i].end(); };
    // Equal gaps: the lower address merges first.
    std::ranges::sort(gaps, [&](size_t a, size_t b) { return gap(a) != gap(b) ? gap(a) < gap(b) : a < b; });
    std::vector<bool> join(merged.size(), false); // join[i]: range i+1 joins range i
    for (size_t k = 0; k < merged.size() - options.maxRanges; ++k)
      join[gaps[k]] = true;
    std::vector<AddressRange> fewer;
    for (size_t i = 0; i < merged.size(); ++i) {
      if (i > 0 && join[i - 1])
        fewer.back().size = merged[i].end() - fewer.back().address;
      else
        fewer.push_back(merged[i]);
    }
    merged = std::move(fewer);
  }
  std::vector<AddressRange> out;
  for (const AddressRange &r : merged)
    for (uint64_t a = r.address; a < r.end(); a += MaxRangeBytes)
      out.push_back({a, std::min(MaxRangeBytes, r.end() - a)});
  return out;
}

uint64_t prefetchStubSize(size_t ranges) {
  return sizeof Endbr64 + sizeof Save + PerRange * ranges + sizeof Restore + Tail;
}

std::vector<uint8_t> encodePrefetchStub(uint64_t stubAddress, std::span<const AddressRange> ranges,
                                        std::optional<uint64_t> continueTo) {
  std::vector<uint8_t> out(std::begin(Endbr64), std::end(Endbr64));
  out.insert(out.end(), std::begin(Save), std::end(Save));
  for (const AddressRange &r : ranges) {
    if (r.size > MaxRangeBytes)
      fatal("prefetch stub: range at " + hex(r.address) + " is longer than 1 GiB", ExitInternal);
    // lea disp32(%rip), %rdi
    out.insert(out.end(), {0x48, 0x8d, 0x3d});
    put32(out, uint32_t(displacement(r.address, stubAddress + out.size() + 4)));
    out.push_back(0xbe); // mov $size, %esi
    put32(out, uint32_t(r.size));
    out.push_back(0xba); // mov $MADV_WILLNEED, %edx
    put32(out, MadvWillneed);
    out.push_back(0xb8); // mov $SYS_madvise, %eax
    put32(out, SysMadvise);
    out.insert(out.end(), {0x0f, 0x05}); // syscall; the result is ignored
  }
  out.insert(out.end(), std::begin(Restore), std::end(Restore));
  if (continueTo) {
    out.push_back(x86_64::JumpRel32); // jmp continueTo
    put32(out, uint32_t(displacement(*continueTo, stubAddress + out.size() + 4)));
  } else {
    out.insert(out.end(), {0xc3, 0xcc, 0xcc, 0xcc, 0xcc}); // ret; int3 padding
  }
  return out;
}

PlannedPrefetch planPrefetchStub(ElfEditor &editor, std::vector<AddressRange> ranges) {
  const ElfFile &in = editor.input();
  PlannedPrefetch plan;
  plan.ranges = std::move(ranges);
  // A library runs it when loaded, from DT_INIT; libc.so.6 has an
  // interpreter and an entry too, but is loaded far more often than run,
  // so a DT_SONAME makes a library of it.
  plan.fromInit = in.kind() == BinaryKind::SharedLibrary || in.dynamicValue(DT_SONAME).has_value();
  if (in.findSection(PrefetchSectionName))
    fatal(in.name() + ": already has a prefetch stub (" + PrefetchSectionName +
          "); rewrite the file without --prefetch, or its original with it");
  if (plan.fromInit) {
    plan.continueTo = in.dynamicValue(DT_INIT);
    if (!plan.continueTo) {
      if (editor.spareDynamicSlots() == 0)
        fatal(in.name() + ": a shared library without DT_INIT needs a spare .dynamic slot for the "
                          "prefetch stub's DT_INIT, and this one has none (ld.bfd, gold and mold leave "
                          "some; lld does not)");
      editor.addDynamicEntry(DT_INIT, 0);
      plan.addedInit = true;
    }
  } else {
    plan.continueTo = in.header().e_entry;
  }
  NewSection stub;
  stub.name = PrefetchSectionName;
  stub.flags = SHF_ALLOC | SHF_EXECINSTR;
  stub.align = 16;
  stub.data.assign(prefetchStubSize(plan.ranges.size()), 0xcc);
  plan.section = editor.addSection(std::move(stub));
  return plan;
}

PrefetchReport finishPrefetchStub(ElfEditor &editor, const PlannedPrefetch &plan) {
  PrefetchReport report;
  report.ranges = plan.ranges;
  for (const AddressRange &r : plan.ranges)
    report.prefetchBytes += r.size;
  report.stubAddress = editor.sectionAddress(plan.section);
  std::vector<uint8_t> code = encodePrefetchStub(report.stubAddress, plan.ranges, plan.continueTo);
  std::span<uint8_t> room = editor.mutableNewContents(plan.section);
  if (room.size() != code.size())
    fatal(editor.input().name() + ": prefetch stub size changed", ExitInternal);
  std::memcpy(room.data(), code.data(), code.size());
  report.stubSize = code.size();
  report.continuesTo = plan.continueTo;
  if (plan.fromInit) {
    editor.setDynamicEntry(DT_INIT, report.stubAddress);
    report.runsFrom = "DT_INIT";
  } else {
    editor.setEntry(report.stubAddress);
    report.runsFrom = "e_entry";
  }
  return report;
}

std::vector<AddressRange> prefetchStubRanges(const ElfFile &file) {
  std::vector<AddressRange> ranges;
  const Section *stub = file.findSection(PrefetchSectionName);
  if (!stub || !stub->hasFileData())
    return ranges;
  auto code = file.contents(*stub);
  // lea disp32(%rip),%rdi (48 8d 3d); mov $len,%esi (be); then 12 bytes.
  for (size_t at = 0; at + 24 <= code.size();) {
    if (code[at] == 0x48 && code[at + 1] == 0x8d && code[at + 2] == 0x3d && code[at + 7] == 0xbe) {
      int32_t disp;
      uint32_t length;
      std::memcpy(&disp, &code[at + 3], 4);
      std::memcpy(&length, &code[at + 8], 4);
      ranges.push_back({stub->addr() + at + 7 + int64_t(disp), length});
      at += 24;
    } else {
      ++at;
    }
  }
  return ranges;
}

} // namespace elfopt
