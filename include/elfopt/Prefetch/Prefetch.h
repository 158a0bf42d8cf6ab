//===- Prefetch.h - read what startup needs before it needs it --*- C++ -*-===//
//
// `rewrite --prefetch` adds a startup stub that asks the kernel to read the
// code a profile says startup touches, in a few large reads, before the
// program faults it in page by page: madvise(MADV_WILLNEED) over each range
// (for a file mapping the kernel starts readahead of it and returns).
//
//   - An executable (PIE, non-PIE, static) runs the stub first, from
//     e_entry; it then jumps to the original entry with every register,
//     the flags, the stack and auxv as the kernel left them.
//   - A shared library runs it from DT_INIT, before its constructors; it
//     then jumps to the original DT_INIT, or returns when there was none
//     (a DT_INIT entry is added in a spare .dynamic slot).
//   - The stub is position-independent (each range by a RIP-relative lea),
//     lives in .elfopt.prefetch in a new PF_R|PF_X segment (the editor's),
//     ignores madvise's result, and needs no libc: it runs before the
//     program's own code, also in a static executable before it relocates
//     itself.
//
// Ranges: the pages of the functions the order names, in the output's
// layout (after reordering, the front of .text), and traced file pages.
// planPrefetch merges them as a device serves reads (few, large, in file
// order), leaves out what would cost more than the faults it replaces, and
// splits what is left into calls the kernel reads whole.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "elfopt/Edit/ElfEditor.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace elfopt {

/// Addresses [address, address + size) of the file's loaded image.
struct AddressRange {
  uint64_t address = 0, size = 0;
  uint64_t end() const { return address + size; }
  bool operator==(const AddressRange &) const = default;
};

/// A device as the prefetch plan models it: it serves a start's reads at
/// whichever of its two limits binds, requests (iops) or bytes
/// (bytesPerSecond); a queue overlaps one request's seek with another's
/// transfer, and measure --device's throttle is two such limits.
struct PrefetchDevice {
  std::string name;
  double iops = 0, bytesPerSecond = 0;
  double seconds(double requests, double bytes) const { return std::max(requests / iops, bytes / bytesPerSecond); }
};

/// The classes the default plan must hold on: hdd (150 IOPS, 100 MB/s),
/// emmc (2,000, 90 MB/s), ssd (20,000, 500 MB/s), nvme (200,000, 2 GB/s).
const std::vector<PrefetchDevice> &prefetchDeviceClasses();
std::optional<PrefetchDevice> prefetchDeviceClass(std::string_view name);

// The kernel reads at most max(max_sectors_kb, read_ahead_kb) per WILLNEED
// call (force_page_cache_ra), the rest of a longer range not at all:
// measured here, one madvise over 64 MiB read 1,280 KiB. 512 KiB is read
// whole on disks (1,280 KiB) and eMMC (512 KiB) alike.
inline constexpr uint64_t PrefetchCallBytes = 512 * 1024;

struct PrefetchOptions {
  uint64_t pageSize = 4096;
  /// Given: merge gaps up to this and keep every range (the model only
  /// reports). Not given: the device model decides both.
  std::optional<uint64_t> maxGap;
  size_t maxRanges = 4096; ///< then merge the smallest gaps down to this
  /// Plan for these; empty: for every class in prefetchDeviceClasses().
  std::vector<PrefetchDevice> devices;
  uint64_t callBytes = PrefetchCallBytes; ///< one madvise reads at most this
  /// Without the prefetch, a fault reads this much around it (desktops'
  /// read_ahead_kb, 128).
  uint64_t readaheadBytes = 128 * 1024;
  /// The file's loaded addresses (its PT_LOADs, whole pages): no range
  /// spans a hole between them (madvise says ENOMEM there). Empty: no holes.
  std::vector<AddressRange> mapped;
};

/// \p touched widened to whole pages, sorted, and merged by the gap rule
/// (maxGap, 0 when not given) and maxRanges; no device model, no leaving
/// out. Deterministic: ties between equal gaps merge the lower address first.
std::vector<AddressRange> mergePrefetchRanges(std::vector<AddressRange> touched, const PrefetchOptions &options);

/// One device's modelled seconds for a plan.
struct PrefetchDeviceFigures {
  std::string device;
  double prefetchSeconds = 0; ///< the stub's reads
  double savedSeconds = 0;    ///< the start's faults those reads replace
  /// The start's read time under this device's own best plan, and under
  /// this plan: its reads, paid once more up front (the start's work no
  /// longer overlaps them), and the faults it leaves.
  double bestSeconds = 0;
  double planSeconds = 0;
};

/// What the stub will read, and why (planPrefetch).
struct PrefetchPlan {
  std::vector<AddressRange> ranges; ///< the stub's madvise calls, in file order (empty: no stub)
  size_t extents = 0;               ///< ranges before the split into calls
  uint64_t bytes = 0;               ///< what the calls read, gaps included
  uint64_t touchedBytes = 0;        ///< pages the plan was made from
  uint64_t faults = 0;              ///< modelled faults of the start in what is read
  uint64_t totalFaults = 0;         ///< modelled faults of the start in every touched page
  size_t leftOutExtents = 0;        ///< ranges left out: they would cost more than they save
  uint64_t leftOutBytes = 0, leftOutFaults = 0;
  std::string plannedFor;           ///< "every device class (hdd's merges)", "hdd", "--prefetch-gap 0"
  /// Ranges paid, but not for the stub's own page fault too: no stub.
  bool stubCostsMore = false;
  std::vector<PrefetchDeviceFigures> figures; ///< per device class
};

/// The prefetch as a device serves reads: \p touched's pages joined, then
/// gaps merged where reading the gap costs less than one more request, and
/// only the ranges that save more than they cost on every device planned
/// for (fewer requests than the start's faults they replace, no more bytes
/// than those faults read, and a saving of at least their own read time:
/// that is paid up front, before the start's own work, which overlapped
/// its faults' reads). A fault of the start is modelled as one request
/// reading readaheadBytes; at least one per readaheadBytes of touched
/// pages. With
/// no device given, each class's merges are tried and the one whose worst
/// ratio to each class's own best plan is smallest is kept.
PrefetchPlan planPrefetch(std::vector<AddressRange> touched, const PrefetchOptions &options);

/// An input section the editor moved (out of the way of the program header
/// table, when the stub's segment needs an entry): [from, from + size) is
/// now at [to, to + size), and its old bytes are zeroed.
struct MovedRange {
  uint64_t from = 0, size = 0, to = 0;
  bool operator==(const MovedRange &) const = default;
};

/// \p touched where its bytes are in the output: the parts inside a moved
/// range follow it (a trace recorded on the input saw them at the old
/// place, where only zeros are left); the rest stay. In address order.
std::vector<AddressRange> followMovedRanges(std::vector<AddressRange> touched, std::span<const MovedRange> moved);

/// \p from less every byte of \p minus: pieces of \p from, in address order.
std::vector<AddressRange> subtractRanges(std::vector<AddressRange> from, std::vector<AddressRange> minus);

/// The stub's machine code, placed at \p stubAddress: madvise(WILLNEED) of
/// each range, then `jmp continueTo`, or `ret` when there is none.
std::vector<uint8_t> encodePrefetchStub(uint64_t stubAddress, std::span<const AddressRange> ranges,
                                        std::optional<uint64_t> continueTo);
/// Its size for \p ranges ranges (the code does not depend on addresses).
uint64_t prefetchStubSize(size_t ranges);

/// What planPrefetchStub() and finishPrefetchStub() did.
struct PrefetchReport {
  std::vector<AddressRange> ranges; ///< empty: the plan left the prefetch out, no stub
  PrefetchPlan plan;
  uint64_t touchedBytes = 0;  ///< pages the ranges were made from (functions and traced pages)
  uint64_t tracedPageBytes = 0; ///< of those, traced file pages outside .text
  uint64_t prefetchBytes = 0; ///< what the ranges cover (gaps included)
  uint64_t stubAddress = 0, stubSize = 0;
  std::string runsFrom;       ///< "e_entry" or "DT_INIT"
  std::optional<uint64_t> continuesTo; ///< original entry or DT_INIT
};

/// The ranges an existing stub of \p file reads, decoded from its
/// lea/mov groups (the shape encodePrefetchStub writes); empty without a
/// stub. Not a check: verifyPrefetchStub is.
std::vector<AddressRange> prefetchStubRanges(const ElfFile &file);

/// The stub's section name.
inline constexpr const char *PrefetchSectionName = ".elfopt.prefetch";

/// Adds the stub to \p editor (before its layout()): code section, entry or
/// DT_INIT. Call finishPrefetchStub() after layout().
struct PlannedPrefetch {
  unsigned section = 0;
  std::vector<AddressRange> ranges;
  bool fromInit = false;
  std::optional<uint64_t> continueTo;
  bool addedInit = false;
};
PlannedPrefetch planPrefetchStub(ElfEditor &editor, std::vector<AddressRange> ranges);
PrefetchReport finishPrefetchStub(ElfEditor &editor, const PlannedPrefetch &plan);

} // namespace elfopt
