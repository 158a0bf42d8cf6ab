//===- Device.h - cold starts on an emulated slow device --------*- C++ -*-===//
//
// `elfopt measure --device hdd|emmc|ssd`: this machine's disk reads ahead
// 8 MiB and serves reads almost for free, which hides what users on slow
// disks wait for. The machine's own disk is never touched; instead:
//   - the files a start reads are copied onto an ext4 image behind a loop
//     device with direct I/O (no second page cache) and the profile's
//     read_ahead_kb;
//   - each run happens in a private mount namespace where every original
//     path is bind-mounted from its copy, so the program runs unchanged but
//     reads the loop device;
//   - the run is in a blkio (cgroup v1) or io (v2) group that throttles the
//     loop device's read IOPS and bandwidth, and counts its read requests.
// A throttle models how many requests and bytes a second the device serves,
// not the latency of one request (no seek time).
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace elfopt {

/// What the emulated device serves.
struct DeviceProfile {
  std::string name;         ///< "hdd", "emmc", "ssd", or "custom"
  uint64_t readIops = 0;    ///< read requests a second
  uint64_t readBps = 0;     ///< bytes read a second
  unsigned readAheadKb = 0; ///< the loop device's read_ahead_kb
  std::string source;       ///< where these figures come from
};

/// The named profiles, slowest first.
const std::vector<DeviceProfile> &deviceProfiles();

/// The profile called \p name, or nullopt.
std::optional<DeviceProfile> deviceProfile(std::string_view name);

/// "hdd: 150 read IOPS, 100 MB/s, 128 KiB readahead".
std::string describeDevice(const DeviceProfile &profile);

/// "MAJOR:MINOR LIMIT", as blkio.throttle.read_iops_device and
/// read_bps_device take it.
std::string throttleLine(unsigned major, unsigned minor, uint64_t limit);

/// "MAJOR:MINOR riops=N rbps=N", as cgroup v2 io.max takes it.
std::string ioMaxLine(unsigned major, unsigned minor, uint64_t iops, uint64_t bps);

/// MAJOR and MINOR from "7:3" (the text of /sys/block/loopN/dev); nullopt if
/// it is not two decimal numbers.
std::optional<std::pair<unsigned, unsigned>> parseMajorMinor(std::string_view text);

/// The Read count of device MAJOR:MINOR in the text of cgroup v1
/// blkio.throttle.io_serviced ("7:3 Read 12\n7:3 Write 0\n...Total 12\n");
/// 0 when the device has no line (nothing was read from it yet).
uint64_t parseIoServicedReads(std::string_view text, unsigned major, unsigned minor);

/// rios= of device MAJOR:MINOR in the text of cgroup v2 io.stat
/// ("7:3 rbytes=4096 wbytes=0 rios=1 wios=0 dbytes=0 dios=0"); 0 when absent.
uint64_t parseIoStatReads(std::string_view text, unsigned major, unsigned minor);

/// Why device emulation cannot run on this machine (not root, no blkio or io
/// controller, no losetup or mkfs.ext4), or empty when it can.
std::string deviceEmulationUnavailable();

/// The emulated device, set up by the constructor and removed by the
/// destructor (unmount, detach the loop device, remove the cgroup and the
/// image), also when a run fails or SIGINT/SIGTERM arrives: those set
/// interrupted() and the caller throws between runs.
class EmulatedDevice {
public:
  /// Copies \p files (absolute, canonical) and the trees \p dirs onto a new
  /// device with \p profile. Throws FatalError naming the step that failed.
  EmulatedDevice(const DeviceProfile &profile, const std::vector<std::string> &files,
                 const std::vector<std::string> &dirs);
  ~EmulatedDevice();
  EmulatedDevice(const EmulatedDevice &) = delete;
  EmulatedDevice &operator=(const EmulatedDevice &) = delete;

  const DeviceProfile &profile() const { return profile_; }
  /// "/dev/loop3 (7:3)".
  std::string deviceName() const;
  /// Where \p original's copy is.
  std::string copyOf(const std::string &original) const;
  /// Every regular file under the copied trees, by its original path.
  const std::vector<std::string> &filesInDirs() const { return dirFiles_; }
  size_t filesCopied() const { return filesCopied_; }
  uint64_t bytesCopied() const { return bytesCopied_; }

  /// Drops the device's own block cache (ext4 metadata read by the last
  /// run), best effort; the copies are dropped by evict().
  void dropMetadata() const;

  /// In a forked child before exec: a private mount namespace with every
  /// original bind-mounted from its copy, then into the cgroup. Only system
  /// calls on prepared strings. Returns nullptr, or what failed (errno set;
  /// \p failedBind is the bind's index for bindTarget when a bind failed).
  const char *enterInChild(size_t &failedBind) const;
  /// The original path of bind \p index.
  const std::string &bindTarget(size_t index) const { return binds_.at(index).second; }

  /// Waits until no process of the last run is left in the group (a
  /// program's helpers may outlive it and still map the copies or read),
  /// at most 10 s; then kills what is left.
  void waitForGroupToEmpty() const;

  /// Read requests the group has issued to the loop device so far.
  uint64_t readRequests() const;

  /// SIGINT or SIGTERM arrived while the device was set up.
  static bool interrupted();

private:
  void setUp(const std::vector<std::string> &files, const std::vector<std::string> &dirs);
  void tearDown() noexcept;

  DeviceProfile profile_;
  bool cgroupV2_ = false;
  std::string dir_, image_, mountPoint_, loop_, cgroup_, cgroupProcs_;
  unsigned major_ = 0, minor_ = 0;
  bool mounted_ = false, cgroupMade_ = false, enabledIo_ = false;
  std::vector<std::pair<std::string, std::string>> binds_; ///< copy, original
  std::vector<std::string> dirFiles_;
  size_t filesCopied_ = 0;
  uint64_t bytesCopied_ = 0;
};

} // namespace elfopt
