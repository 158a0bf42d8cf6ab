//===- Prefetch.cpp - read what startup needs before it needs it ----------===//
#include "elfopt/Prefetch/Prefetch.h"
#include "elfopt/Measure/Device.h"

#include "elfopt/Support/Diagnostics.h"
#include "elfopt/Target/X86_64.h"

#include <algorithm>
#include <cstring>
#include <numeric>
#include <span>

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
    if (!merged.empty() && r.address <= merged.back().end() + options.maxGap.value_or(0)) {
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

const std::vector<PrefetchDevice> &prefetchDeviceClasses() {
  // measure --device's profiles, read from their one table, so that what
  // the plan models can be measured; and an NVMe SSD, or this machine's disk.
  static const std::vector<PrefetchDevice> classes = [] {
    std::vector<PrefetchDevice> out;
    for (const DeviceProfile &p : deviceProfiles())
      out.push_back({p.name, double(p.readIops), double(p.readBps)});
    out.push_back({"nvme", 200000, 2e9});
    return out;
  }();
  return classes;
}

std::optional<PrefetchDevice> prefetchDeviceClass(std::string_view name) {
  for (const PrefetchDevice &d : prefetchDeviceClasses())
    if (d.name == name)
      return d;
  return std::nullopt;
}

namespace {

// Touched pages, joined where they touch, and the start's modelled faults
// in each: a fault reads readaheadBytes, so at least one fault per that
// many bytes of touched pages (the fewest the start can take: what the
// prefetch saves is not overstated).
struct Runs {
  std::vector<AddressRange> runs;
  std::vector<uint64_t> faultsBefore; // faultsBefore[i]: faults in runs [0, i)
  // startsFault[i]: run i's first page is no earlier run's fault (one past
  // the last run: true). Runs [first, last] then take exactly their own
  // faults when startsFault[first] and startsFault[last + 1].
  std::vector<bool> startsFault;
  uint64_t faults(size_t first, size_t last) const { return faultsBefore[last + 1] - faultsBefore[first]; }
  bool alone(size_t first, size_t last) const { return startsFault[first] && startsFault[last + 1]; }
};

Runs touchingRuns(std::vector<AddressRange> touched, const PrefetchOptions &options) {
  PrefetchOptions joinOnly = options;
  joinOnly.maxGap = 0;
  joinOnly.maxRanges = 0;
  Runs r;
  r.runs = mergePrefetchRanges(std::move(touched), joinOnly);
  r.faultsBefore.push_back(0);
  uint64_t window = std::max(options.readaheadBytes, options.pageSize), covered = 0, faults = 0;
  for (const AddressRange &run : r.runs) {
    r.startsFault.push_back(run.address >= covered);
    // A fault reads around its page (the kernel's read-around: half the
    // window before it, half after), so the first one in a run covers half
    // a window of it; the next ones follow a sequential stream, a window
    // each (its asynchronous readahead).
    uint64_t ahead = window / 2 / options.pageSize * options.pageSize;
    for (uint64_t p = std::max(run.address, covered); p < run.end(); p = covered) {
      ++faults;
      covered = p + ahead;
      ahead = window;
    }
    r.faultsBefore.push_back(faults);
  }
  r.startsFault.push_back(true);
  return r;
}

// An extent: runs [first, last] read as one range.
struct Extent {
  size_t first = 0, last = 0;
};

// Read requests and bytes of (part of) a start.
struct Load {
  double requests = 0, bytes = 0;
  Load operator+(const Load &o) const { return {requests + o.requests, bytes + o.bytes}; }
  Load operator-(const Load &o) const { return {requests - o.requests, bytes - o.bytes}; }
};

struct Costing {
  const Runs &runs;
  uint64_t callBytes, readahead;
  uint64_t bytes(const Extent &e) const { return runs.runs[e.last].end() - runs.runs[e.first].address; }
  uint64_t calls(const Extent &e) const { return (bytes(e) + callBytes - 1) / callBytes; }
  Load faultLoad(uint64_t faults) const { return {double(faults), double(faults) * double(readahead)}; }
  double faultCost(const PrefetchDevice &d, uint64_t faults) const {
    Load l = faultLoad(faults);
    return d.seconds(l.requests, l.bytes);
  }
  // Worth reading ahead on any device: no more requests than the faults it
  // replaces and no more bytes than they read, and fewer of one. A device
  // is bound by one of the two (a disk by its seeks; eMMC and SSDs, at
  // 128 KiB a fault, by their bandwidth), so a range with more of either
  // would be slower where that one binds; with no more of both it is
  // slower nowhere. As many requests for fewer bytes (a traced 64 KiB
  // window read alone, not in the 128 KiB its fault reads) only where the
  // range's faults read nothing outside it: else a touched page beside it,
  // left out, would fault on its own, a request more.
  bool pays(const Extent &e) const {
    uint64_t f = runs.faults(e.first, e.last), k = calls(e), b = bytes(e);
    if (k > f || b > f * readahead)
      return false;
    return k < f || (b < f * readahead && runs.alone(e.first, e.last));
  }
  // A range is read up front, before the start's own work, which no longer
  // overlaps its own reads with it (Firefox on eMMC: a prefetch with fewer
  // requests than the faults it replaced and as many bytes made the start
  // 1.19x slower). So on each device, what it saves (its faults' read time
  // less its own) must be no less than what it costs up front (its own).
  bool paysUpFront(const Extent &e, std::span<const PrefetchDevice> devices) const {
    for (const PrefetchDevice &d : devices) {
      double own = d.seconds(double(calls(e)), double(bytes(e)));
      if (faultCost(d, runs.faults(e.first, e.last)) - own < own)
        return false;
    }
    return true;
  }
  // What the start pays on \p d with \p kept read ahead: its reads (total)
  // and the stub's reads once more, up front (paysUpFront).
  double cost(const PrefetchDevice &d, std::span<const Extent> kept) const {
    Load own = reads(kept);
    return total(d, kept) + (kept.empty() ? 0 : d.seconds(own.requests, own.bytes));
  }
  // The stub's reads of \p kept.
  Load reads(std::span<const Extent> kept) const {
    Load l;
    for (const Extent &e : kept)
      l = l + Load{double(calls(e)), double(bytes(e))};
    return l;
  }
  // What the start reads for \p e: the range, where it pays, or else its faults.
  Load load(const Extent &e) const {
    return pays(e) ? Load{double(calls(e)), double(bytes(e))} : faultLoad(runs.faults(e.first, e.last));
  }
  // Modelled read time of the start on \p d with \p kept read ahead. A
  // stub is code in a segment of its own at the file's end, far from the
  // pages the start reads: running it is a fault of its own.
  double total(const PrefetchDevice &d, std::span<const Extent> kept) const {
    uint64_t f = runs.faults(0, runs.runs.size() - 1) + (kept.empty() ? 0 : 1);
    for (const Extent &e : kept)
      f -= runs.faults(e.first, e.last);
    Load l = reads(kept) + faultLoad(f);
    return d.seconds(l.requests, l.bytes);
  }
};

// Extents from a join flag per gap (join[i]: run i+1 joins run i).
std::vector<Extent> extentsOf(const std::vector<bool> &join) {
  std::vector<Extent> out;
  for (size_t i = 0; i <= join.size(); ++i) {
    if (i > 0 && join[i - 1])
      out.back().last = i;
    else
      out.push_back({i, i});
  }
  return out;
}

// Gap indices by size, the lower address first on a tie.
std::vector<size_t> gapsBySize(const Runs &r) {
  std::vector<size_t> gaps(r.runs.size() - 1);
  std::iota(gaps.begin(), gaps.end(), 0);
  auto gap = [&](size_t i) { return r.runs[i + 1].address - r.runs[i].end(); };
  std::ranges::sort(gaps, [&](size_t a, size_t b) { return gap(a) != gap(b) ? gap(a) < gap(b) : a < b; });
  return gaps;
}

// Greedy over the gaps, smallest first: join two neighbours when the
// start, everything else as it stands, then reads faster on \p d (each
// extent read ahead where that pays, or else left to its faults), or as
// fast with fewer requests and bytes summed. Where requests bind (a disk),
// reading a gap costs nothing until the bytes bind; where bytes bind (eMMC
// and SSDs: 128 KiB a fault reads more than bytesPerSecond/iops), a gap
// read is paid in full, and a join is worth it only where it reads fewer
// bytes than the faults it replaces. The split into calls can make a join
// cost a request more, so each join is costed whole. Sorting dominates:
// O(n log n).
std::vector<bool> deviceJoins(const Costing &c, const PrefetchDevice &d, const std::vector<size_t> &gaps,
                              const std::vector<bool> &crossable) {
  size_t n = c.runs.runs.size();
  std::vector<bool> join(n - 1, false);
  // Extents by their ends: startOf[last] and lastOf[first].
  std::vector<size_t> startOf(n), lastOf(n);
  std::iota(startOf.begin(), startOf.end(), 0);
  std::iota(lastOf.begin(), lastOf.end(), 0);
  Load now;
  for (size_t i = 0; i < n; ++i)
    now = now + c.load({i, i});
  auto worse = [&](const Load &a, const Load &b) { // a reads slower than b on d
    double ta = d.seconds(a.requests, a.bytes), tb = d.seconds(b.requests, b.bytes);
    if (ta != tb)
      return ta > tb;
    return a.requests / d.iops + a.bytes / d.bytesPerSecond >= b.requests / d.iops + b.bytes / d.bytesPerSecond;
  };
  for (size_t i : gaps) {
    if (!crossable[i])
      continue;
    Extent left{startOf[i], i}, right{i + 1, lastOf[i + 1]}, both{left.first, right.last};
    Load joined = now - c.load(left) - c.load(right) + c.load(both);
    if (!worse(joined, now)) {
      now = joined;
      join[i] = true;
      lastOf[both.first] = both.last;
      startOf[both.last] = both.first;
    }
  }
  return join;
}

// Then the smallest remaining gaps until at most maxRanges extents remain.
void capExtents(std::vector<bool> &join, const std::vector<size_t> &gaps, size_t maxRanges,
                const std::vector<bool> &crossable) {
  size_t extents = 1 + size_t(std::ranges::count(join, false));
  for (size_t k = 0; maxRanges && extents > maxRanges && k < gaps.size(); ++k)
    if (!join[gaps[k]] && crossable[gaps[k]]) {
      join[gaps[k]] = true;
      --extents;
    }
}

std::vector<Extent> keepPaying(const Costing &c, std::vector<Extent> all, std::span<const PrefetchDevice> devices) {
  std::erase_if(all, [&](const Extent &e) { return !c.pays(e) || !c.paysUpFront(e, devices); });
  return all;
}

} // namespace

PrefetchPlan planPrefetch(std::vector<AddressRange> touched, const PrefetchOptions &options) {
  PrefetchPlan plan;
  Runs runs = touchingRuns(std::move(touched), options);
  for (const AddressRange &r : runs.runs)
    plan.touchedBytes += r.size;
  if (runs.runs.empty())
    return plan;
  Costing c{runs, std::max(options.callBytes, options.pageSize), options.readaheadBytes};
  const std::vector<PrefetchDevice> &classes = prefetchDeviceClasses();
  std::span<const PrefetchDevice> devices = options.devices.empty() ? classes : options.devices;
  std::vector<size_t> gaps = gapsBySize(runs);
  // A gap over a hole between the loaded segments is never read.
  std::vector<bool> crossable(runs.runs.size() - 1, true);
  if (!options.mapped.empty())
    for (size_t i = 0; i + 1 < runs.runs.size(); ++i) {
      uint64_t from = runs.runs[i].end(), to = runs.runs[i + 1].address;
      crossable[i] = std::ranges::any_of(
          options.mapped, [&](const AddressRange &m) { return m.address <= from && to <= m.end(); });
    }

  std::vector<Extent> all, kept;
  std::vector<double> best(classes.size());
  // Each class's own best plan: what the chosen one is measured against.
  for (size_t k = 0; k < classes.size(); ++k) {
    std::vector<bool> join = deviceJoins(c, classes[k], gaps, crossable);
    capExtents(join, gaps, options.maxRanges, crossable);
    std::vector<Extent> own = keepPaying(c, extentsOf(join), std::span(&classes[k], 1));
    best[k] = std::min(c.cost(classes[k], own), c.cost(classes[k], {}));
  }
  auto worstRatio = [&](std::span<const Extent> e) {
    double worst = 0;
    for (size_t k = 0; k < classes.size(); ++k)
      worst = std::max(worst, c.cost(classes[k], e) / best[k]);
    return worst;
  };
  if (options.maxGap) {
    // Explicit: the gap rule, every range kept.
    std::vector<bool> join(runs.runs.size() - 1);
    for (size_t i = 0; i + 1 < runs.runs.size(); ++i)
      join[i] = crossable[i] && runs.runs[i + 1].address - runs.runs[i].end() <= *options.maxGap;
    capExtents(join, gaps, options.maxRanges, crossable);
    all = kept = extentsOf(join);
    plan.plannedFor = "--prefetch-gap " + std::to_string(*options.maxGap);
  } else {
    // Each planned-for device's merges, kept where they pay (on any
    // device); the candidate whose worst ratio to each class's best is least.
    double bestWorst = 0;
    for (const PrefetchDevice &d : devices) {
      std::vector<bool> join = deviceJoins(c, d, gaps, crossable);
      capExtents(join, gaps, options.maxRanges, crossable);
      std::vector<Extent> candidate = extentsOf(join);
      std::vector<Extent> paying = keepPaying(c, candidate, devices);
      double worst = worstRatio(paying);
      if (all.empty() || worst < bestWorst) {
        bestWorst = worst;
        all = std::move(candidate);
        kept = std::move(paying);
        plan.plannedFor = devices.size() == 1 ? d.name : "every device class (" + d.name + "'s merges)";
      }
    }
  }
  // With the stub's own fault, and its reads paid up front once more (the
  // start's work they no longer overlap), the plan must read no slower than
  // no stub on every device planned for, and faster on one; else no stub.
  if (!options.maxGap && !kept.empty()) {
    bool slower = false, faster = false;
    for (const PrefetchDevice &d : devices) {
      double with = c.cost(d, kept), without = c.cost(d, {});
      slower = slower || with > without;
      faster = faster || with < without;
    }
    if (slower || !faster) {
      kept.clear();
      plan.stubCostsMore = true;
    }
  }
  plan.totalFaults = runs.faults(0, runs.runs.size() - 1);
  for (const Extent &e : kept) {
    plan.bytes += c.bytes(e);
    plan.faults += runs.faults(e.first, e.last);
    uint64_t begin = runs.runs[e.first].address, end = runs.runs[e.last].end();
    for (uint64_t a = begin; a < end; a += c.callBytes)
      plan.ranges.push_back({a, std::min(c.callBytes, end - a)});
  }
  plan.extents = kept.size();
  plan.leftOutExtents = all.size() - kept.size();
  for (const Extent &e : all)
    plan.leftOutBytes += c.bytes(e);
  plan.leftOutBytes -= plan.bytes;
  plan.leftOutFaults = plan.totalFaults - plan.faults;
  for (size_t k = 0; k < classes.size(); ++k) {
    Load own = c.reads(kept);
    plan.figures.push_back({classes[k].name, classes[k].seconds(own.requests, own.bytes),
                            c.faultCost(classes[k], plan.faults), best[k], c.cost(classes[k], kept)});
  }
  return plan;
}

std::vector<AddressRange> followMovedRanges(std::vector<AddressRange> touched, std::span<const MovedRange> moved) {
  std::vector<AddressRange> out;
  // Each range split at the moved ranges' ends: parts inside one follow it.
  while (!touched.empty()) {
    AddressRange r = touched.back();
    touched.pop_back();
    if (r.size == 0)
      continue;
    bool split = false;
    for (const MovedRange &m : moved) {
      uint64_t begin = std::max(r.address, m.from), end = std::min(r.end(), m.from + m.size);
      if (begin >= end)
        continue;
      out.push_back({begin - m.from + m.to, end - begin});
      if (r.address < begin)
        touched.push_back({r.address, begin - r.address});
      if (end < r.end())
        touched.push_back({end, r.end() - end});
      split = true;
      break;
    }
    if (!split)
      out.push_back(r);
  }
  std::ranges::sort(out, [](const AddressRange &a, const AddressRange &b) {
    return a.address != b.address ? a.address < b.address : a.size < b.size;
  });
  return out;
}

std::vector<AddressRange> subtractRanges(std::vector<AddressRange> from, std::vector<AddressRange> minus) {
  std::ranges::sort(from, {}, &AddressRange::address);
  std::ranges::sort(minus, {}, &AddressRange::address);
  std::vector<AddressRange> out;
  size_t m = 0;
  for (const AddressRange &r : from) {
    uint64_t at = r.address;
    // Ranges of minus that end before r cannot touch it or any later one.
    while (m < minus.size() && minus[m].end() <= r.address)
      ++m;
    for (size_t k = m; k < minus.size() && minus[k].address < r.end() && at < r.end(); ++k) {
      if (minus[k].end() <= at)
        continue;
      if (minus[k].address > at)
        out.push_back({at, minus[k].address - at});
      at = std::max(at, minus[k].end());
    }
    if (at < r.end())
      out.push_back({at, r.end() - at});
  }
  std::ranges::sort(out, {}, &AddressRange::address);
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
