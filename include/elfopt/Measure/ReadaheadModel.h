//===- ReadaheadModel.h - what a cold start reads, modelled -----*- C++ -*-===//
//
// Figures for a readahead size other than this machine's: the major faults
// and bytes a cold start would cost, from a recorded page trace, under a
// model of Linux's mmap fault path (mm/filemap.c, do_sync_mmap_readahead,
// the default "read-around" case):
//   - a touched page not in the page cache is a major fault, and the kernel
//     reads the window of readahead bytes centred on it (from half a window
//     before, clipped to the file), skipping pages already cached;
//   - a touched page already cached costs nothing;
//   - prefetch ranges (the stub's madvise WILLNEED) are read whole when the
//     stub runs: before the touch at index prefetchAt (the stub's own page;
//     what the loader touched before it was read the usual way).
// Left out, and so not counted: asynchronous readahead when a read reaches a
// marked page (so a long forward walk, such as the loader's through the
// relocations, costs fewer faults than modelled), the mmap_miss limit, and
// pages evicted during the start. The trace itself sees one fault per
// fault-around window (PageTrace.h); the window read around a fault covers
// the rest of it from 128 KiB up.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace elfopt {

struct FileRange {
  uint64_t offset = 0, size = 0;
  uint64_t end() const { return offset + size; }
};

/// A section's file range, for saying where read bytes go.
struct NamedRange {
  uint64_t offset = 0, size = 0;
  std::string name;
};

struct ColdStartModel {
  uint64_t majorFaults = 0;
  uint64_t faultsBeforePrefetch = 0; ///< of which before the prefetch ranges were read
  uint64_t bytesRead = 0;     ///< faults' windows and prefetch together
  uint64_t prefetchBytes = 0; ///< of which read by the prefetch ranges
  /// Bytes read per section ("(other)": in no listed section).
  std::map<std::string, uint64_t> bytesBySection;
};

/// \p touches: page offsets in first-touch order; \p fileSize: the file's
/// size; \p readaheadBytes: a multiple of 4096 (0 reads the page alone);
/// \p prefetch is read before touches[prefetchAt].
ColdStartModel modelColdStart(const std::vector<uint64_t> &touches, uint64_t fileSize,
                              uint64_t readaheadBytes, const std::vector<FileRange> &prefetch,
                              const std::vector<NamedRange> &sections, size_t prefetchAt = 0);

/// read_ahead_kb of the block device holding \p path (of the whole disk for
/// a partition): this machine's readahead for that file, or nullopt.
std::optional<uint64_t> readaheadOfDeviceHolding(const std::string &path);

} // namespace elfopt
