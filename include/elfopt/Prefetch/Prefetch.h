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
// layout; after reordering, the front of .text. Touching pages make one
// range (and, if asked, pages up to maxGap apart); then the smallest gaps
// are merged first until at most maxRanges remain.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "elfopt/Edit/ElfEditor.h"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace elfopt {

/// Addresses [address, address + size) of the file's loaded image.
struct AddressRange {
  uint64_t address = 0, size = 0;
  uint64_t end() const { return address + size; }
  bool operator==(const AddressRange &) const = default;
};

// Defaults from bench/prefetch-e2e.sh (clang-19, libLLVM, libclang-cpp):
// reading a gap costs far more than one more madvise call, so only
// touching pages are joined (gap 0); merging across 64 KiB or 1 MiB gaps,
// or down to 4 or 32 ranges, read 1.3x to 1.6x the bytes and faulted more.
// The cap only bounds the stub (24 bytes per range).
struct PrefetchOptions {
  uint64_t pageSize = 4096;
  uint64_t maxGap = 0;     ///< merge ranges at most this far apart (bytes)
  size_t maxRanges = 4096; ///< then merge the smallest gaps down to this
};

/// \p touched widened to whole pages, sorted, and merged by \p options'
/// rule. Deterministic: ties between equal gaps merge the lower address first.
std::vector<AddressRange> mergePrefetchRanges(std::vector<AddressRange> touched, const PrefetchOptions &options);

/// The stub's machine code, placed at \p stubAddress: madvise(WILLNEED) of
/// each range, then `jmp continueTo`, or `ret` when there is none.
std::vector<uint8_t> encodePrefetchStub(uint64_t stubAddress, std::span<const AddressRange> ranges,
                                        std::optional<uint64_t> continueTo);
/// Its size for \p ranges ranges (the code does not depend on addresses).
uint64_t prefetchStubSize(size_t ranges);

/// What planPrefetchStub() and finishPrefetchStub() did.
struct PrefetchReport {
  std::vector<AddressRange> ranges;
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
