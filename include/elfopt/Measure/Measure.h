//===- Measure.h - startup as a user feels it, cold and warm ----*- C++ -*-===//
//
// `elfopt measure`: runs a program N times and reports what its start costs.
//   - Cold: the program's file and every file the loader maps for it (its
//     interpreter and libraries, as LD_TRACE_LOADED_OBJECTS lists them, plus
//     --evict files) are dropped from the page cache first with
//     posix_fadvise(POSIX_FADV_DONTNEED), which needs no privilege; then one
//     run: wall time, major faults (wait4's rusage), bytes read from storage
//     (read_bytes of /proc/PID/io, read before the child is reaped).
//   - Warm: a run right after, with everything cached: wall time and minor
//     faults.
// With two variants (A and B) the runs alternate A, B, A, B... so that load
// on a noisy machine falls on both alike; medians and B/A ratios.
//
// With --device (Device.h) every run reads the files from copies on an
// emulated slow device, and cold runs also count the read requests issued.
//
// A page that another process maps, or that is dirty, is not dropped by
// DONTNEED: evict() counts what stayed cached (mincore), so a report can say
// the start was not fully cold instead of pretending.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "elfopt/Measure/Device.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace elfopt {

/// One program to start: its command line, environment additions, and
/// files to drop besides the ones the loader maps.
struct MeasureTarget {
  std::string label; ///< "A", "B", or the program's name
  std::vector<std::string> argv;
  std::vector<std::pair<std::string, std::string>> env; ///< set on top of ours
  std::vector<std::string> extraEvict;
};

/// One run's figures.
struct RunSample {
  double wallSeconds = 0;
  uint64_t majorFaults = 0, minorFaults = 0;
  std::optional<uint64_t> readBytes; ///< nullopt: /proc/PID/io not readable
  std::optional<uint64_t> readRequests; ///< to the emulated device; nullopt without one
  int exitStatus = 0;                ///< wait status as waitpid gives it
};

/// What dropping the files from the page cache achieved.
struct EvictResult {
  uint64_t pages = 0;       ///< 4 KiB pages of the files
  uint64_t stillCached = 0; ///< of those, still in the page cache afterwards
  std::vector<std::string> filesStillCached; ///< the files those pages belong to
};

struct MeasureOptions {
  unsigned runs = 7;
  bool cold = true, warm = true;
  /// Run on an emulated device with this profile (needs root).
  std::optional<DeviceProfile> device;
  /// Trees copied onto the device too (--device-copy), e.g. an application
  /// directory whose libraries are opened with dlopen.
  std::vector<std::string> deviceCopy;
};

/// The emulated device the runs used.
struct DeviceUse {
  std::string device;  ///< "/dev/loop3 (7:3)"
  size_t files = 0;    ///< copied onto it
  uint64_t bytes = 0;
};

/// Medians over the runs of one target.
struct MeasureSummary {
  std::string label;
  std::vector<std::string> files; ///< evicted before each cold run
  uint64_t filePages = 0;
  std::vector<RunSample> cold, warm;
  uint64_t maxStillCached = 0; ///< worst eviction over the cold runs
  std::vector<std::string> filesStillCached; ///< in that worst run
  int firstExitStatus = 0;
  std::optional<DeviceUse> device; ///< with MeasureOptions::device
};

/// The files the loader maps for \p target: the program, then what
/// LD_TRACE_LOADED_OBJECTS=1 lists (ld.so's own list, with the target's
/// environment, so LD_LIBRARY_PATH counts), then extraEvict. A static
/// program is just itself.
std::vector<std::string> filesToEvict(const MeasureTarget &target);

/// The paths in ld.so's LD_TRACE_LOADED_OBJECTS output
/// ("\tlibc.so.6 => /lib/.../libc.so.6 (0x...)", "\t/lib64/ld-linux... (0x...)");
/// "not found" and the vDSO are skipped.
std::vector<std::string> parseLoadedObjects(std::string_view text);

/// read_bytes from the text of /proc/PID/io.
std::optional<uint64_t> parseReadBytes(std::string_view procIo);

/// Drops \p files from the page cache and counts what stayed.
EvictResult evict(const std::vector<std::string> &files);

/// One start of \p target, stdout and stderr to /dev/null; with \p device,
/// in its namespace and cgroup, counting the read requests.
RunSample runOnce(const MeasureTarget &target, const EmulatedDevice *device = nullptr);

/// Runs every target options.runs times, interleaved: for each round, for
/// each target, a cold run then a warm run. \p progress, if given, hears
/// "round i/n". With options.device, sets up the device first (after the
/// files are known) and removes it before returning or throwing.
std::vector<MeasureSummary> measure(const std::vector<MeasureTarget> &targets,
                                    const MeasureOptions &options,
                                    const std::function<void(const std::string &)> &progress = {});

/// /proc/loadavg's 1, 5 and 15 minute figures ("0.52 0.58 0.59"), or
/// "unknown": how busy the machine was around the runs.
std::string loadAverage();

/// The median of \p values (the mean of the middle two for an even count);
/// 0 for none.
double median(std::vector<double> values);

} // namespace elfopt
