//===- PageTrace.h - first touches of an object's file pages ----*- C++ -*-===//
//
// Which pages of a program's files a start touches, in time order, and at
// which file offset: the input of `rewrite --prefetch` beyond code, and of
// the report's picture of a start.
//
// Method: perf_event_open's software page-fault event with a sample per
// fault (address, thread, time) and the kernel's MMAP2 records, which name
// the file, device, inode and file offset of every mapping. A fault's file
// offset is exact. What a fault cannot show: a page the kernel mapped
// beside an earlier fault ("fault-around", up to 64 KiB of pages already in
// the page cache, read-only file mappings only) is touched without a fault.
// So the trace holds every page touched first in its fault-around window,
// and every written private page (copy-on-write faults are per page).
// Faults taken inside system calls (the kernel copying from a user buffer)
// are not sampled with exclude_kernel, which unprivileged perf requires.
//
// The decoding of the kernel's records is pure (PageFaultDecoder) and unit
// tested; tracePages() runs the program.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "elfopt/Profile/Profile.h"

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace elfopt {

/// A file as the kernel names it in MMAP2 records.
struct FileKey {
  uint32_t major = 0, minor = 0;
  uint64_t inode = 0;
  auto operator<=>(const FileKey &) const = default;
};

/// An object whose page touches are wanted.
struct TracedFile {
  FileKey key;
  std::string path; ///< also matched against the MMAP2 file name (overlay file systems
                    ///< report another device and inode than stat() does)
  /// Section of a file offset: its name, "(headers)" before the first
  /// section, "(none)" in no section.
  std::function<std::string(uint64_t offset)> sectionOf;
};

/// Turns perf records (PERF_RECORD_SAMPLE with IP|TID|TIME|ADDR, MMAP2,
/// FORK, COMM, LOST) into first page touches per traced file.
class PageFaultDecoder {
public:
  PageFaultDecoder(std::vector<TracedFile> files, uint64_t startNs);

  /// One record as the kernel wrote it: perf_event_header, then the body.
  /// Records too short for their type are counted as malformed, not read.
  void onRecord(const uint8_t *record, size_t size);

  /// [file] -> pages in first-touch order.
  const std::vector<std::vector<PageTouch>> &pages() const { return pagesOf; }
  uint64_t faults() const { return faultCount; }
  uint64_t lost() const { return lostCount; }
  uint64_t malformed() const { return malformedCount; }

private:
  struct Mapping {
    uint64_t end = 0, pgoff = 0;
    int file = -1; ///< index into files, -1: not a traced file
  };
  using AddressSpace = std::map<uint64_t, Mapping>; ///< by start address
  void onMmap(uint32_t pid, uint64_t start, uint64_t length, uint64_t pgoff, FileKey key,
              const std::string &name);
  void onSample(uint32_t pid, uint32_t tid, uint64_t timeNs, uint64_t address);

  std::vector<TracedFile> files;
  uint64_t startNs;
  std::map<uint32_t, AddressSpace> spaces; ///< by process id
  std::map<uint32_t, uint32_t> threadNumber;
  std::vector<std::map<uint64_t, bool>> seen; ///< [file] page offsets touched
  std::vector<std::vector<PageTouch>> pagesOf;
  uint64_t faultCount = 0, lostCount = 0, malformedCount = 0;
};

struct PageTraceOptions {
  std::vector<std::string> command;
  std::string program;     ///< resolved path of command[0]
  uint64_t stopAfterNs = 0; ///< 0: until the program exits; else kill it then
  bool quiet = true;        ///< output and error to /dev/null, and input too if a terminal
};

struct PageTraceResult {
  PageTrace info;
  std::vector<std::vector<PageTouch>> pages; ///< [file]
};

/// Runs the program once, untraced but for the page-fault event. Throws
/// FatalError(ExitInternal) with the reason when perf_event_open is not
/// allowed here (kernel.perf_event_paranoid) or fails.
PageTraceResult tracePages(const PageTraceOptions &options, const std::vector<TracedFile> &files);

/// The FileKey of a path, by stat(); nullopt when it cannot be read.
std::optional<FileKey> fileKeyOf(const std::string &path);

} // namespace elfopt
