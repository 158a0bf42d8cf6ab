//===- Device.cpp - cold starts on an emulated slow device ----------------===//
#include "elfopt/Measure/Device.h"

#include "elfopt/Support/Diagnostics.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <linux/fs.h>
#include <linux/loop.h>
#include <sched.h>
#include <sstream>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace fs = std::filesystem;

namespace elfopt {

namespace {

const char BlkioRoot[] = "/sys/fs/cgroup/blkio";
const char CgroupV2Root[] = "/sys/fs/cgroup";

volatile sig_atomic_t gotSignal = 0;
void onSignal(int) { gotSignal = 1; }

std::string errnoText() { return std::strerror(errno); }

std::string readText(const std::string &path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

bool hasWord(std::string_view text, std::string_view word) {
  std::stringstream s{std::string(text)};
  for (std::string w; s >> w;)
    if (w == word)
      return true;
  return false;
}

bool cgroupV2HasIo() {
  return hasWord(readText(std::string(CgroupV2Root) + "/cgroup.controllers"), "io");
}

bool blkioV1() { return ::access((std::string(BlkioRoot) + "/blkio.throttle.read_iops_device").c_str(), F_OK) == 0; }

/// \p name through PATH (and the sbin directories, which root's PATH may lack).
std::optional<std::string> findTool(const std::string &name) {
  const char *path = std::getenv("PATH");
  std::stringstream dirs(std::string(path ? path : "") + ":/usr/sbin:/sbin:/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');)
    if (!dir.empty() && ::access((dir + "/" + name).c_str(), X_OK) == 0)
      return dir + "/" + name;
  return std::nullopt;
}

void writeFile(const std::string &path, const std::string &text) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0 || ::write(fd, text.data(), text.size()) != ssize_t(text.size())) {
    std::string why = errnoText();
    if (fd >= 0)
      ::close(fd);
    fatal(path + ": cannot write '" + text + "': " + why, ExitInternal);
  }
  ::close(fd);
}

/// Runs a setup tool (mkfs.ext4, losetup) and returns its stdout; a failure
/// stops with its stderr. SIGINT kills it.
std::string runTool(std::vector<std::string> argv) {
  std::string program = findTool(argv[0]).value_or(argv[0]);
  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0)
    fatal("cannot create a pipe: " + errnoText(), ExitInternal);
  std::vector<char *> args;
  for (std::string &a : argv)
    args.push_back(a.data());
  args.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid < 0)
    fatal("cannot fork: " + errnoText(), ExitInternal);
  if (pid == 0) {
    int null = ::open("/dev/null", O_RDONLY);
    ::dup2(null, 0);
    ::dup2(out[1], 1);
    ::dup2(err[1], 2);
    ::execv(program.c_str(), args.data());
    ::_exit(127);
  }
  ::close(out[1]);
  ::close(err[1]);
  // Small outputs: read stdout, then stderr, without deadlock risk worth a poll loop.
  auto drain = [](int fd) {
    std::string text;
    char buffer[4096];
    for (ssize_t n; (n = ::read(fd, buffer, sizeof buffer)) != 0;) {
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        break;
      text.append(buffer, size_t(n));
    }
    ::close(fd);
    return text;
  };
  std::string stdoutText = drain(out[0]), stderrText = drain(err[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (gotSignal)
    fatal("interrupted", ExitInternal);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    while (!stderrText.empty() && stderrText.back() == '\n')
      stderrText.pop_back();
    std::string cmd;
    for (const std::string &a : argv)
      cmd += (cmd.empty() ? "" : " ") + a;
    fatal(cmd + " failed: " + (stderrText.empty() ? "status " + std::to_string(status) : stderrText), ExitInternal);
  }
  return stdoutText;
}

/// "a/b" is \p dir or inside it.
bool isUnder(const std::string &path, const std::string &dir) {
  return path == dir || (path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 && path[dir.size()] == '/');
}

void checkInterrupted() {
  if (gotSignal)
    fatal("interrupted", ExitInternal);
}

// The signal handlers of the device's lifetime; the old ones come back after.
struct sigaction oldInt, oldTerm;

} // namespace

const std::vector<DeviceProfile> &deviceProfiles() {
  // Throttles model the rate of requests and bytes; 128 KiB is Linux's
  // default read_ahead_kb for SATA and MMC block devices.
  static const std::vector<DeviceProfile> profiles = {
      {"hdd", 150, 100'000'000, 128,
       "7200 rpm SATA hard disk: ~8.5 ms average seek + 4.2 ms half a turn give 80-150 random "
       "reads/s, ~150 with queueing; 100-200 MB/s sequential"},
      {"emmc", 2'000, 90'000'000, 128,
       "eMMC or SD card: SD Association App Performance Class A1 requires 1,500 random read IOPS, "
       "A2 4,000; UHS-I bus up to 104 MB/s"},
      {"ssd", 20'000, 500'000'000, 128,
       "SATA SSD: ~10,000 random reads/s at queue depth 1, tens of thousands queued; ~550 MB/s "
       "sequential (the 6 Gb/s link)"},
  };
  return profiles;
}

std::optional<DeviceProfile> deviceProfile(std::string_view name) {
  for (const DeviceProfile &p : deviceProfiles())
    if (p.name == name)
      return p;
  return std::nullopt;
}

std::string describeDevice(const DeviceProfile &p) {
  char text[160];
  std::snprintf(text, sizeof text, "%s: %llu read IOPS, %g MB/s, %u KiB readahead", p.name.c_str(),
                (unsigned long long)p.readIops, double(p.readBps) / 1e6, p.readAheadKb);
  return text;
}

std::string throttleLine(unsigned major, unsigned minor, uint64_t limit) {
  return std::to_string(major) + ":" + std::to_string(minor) + " " + std::to_string(limit);
}

std::string ioMaxLine(unsigned major, unsigned minor, uint64_t iops, uint64_t bps) {
  return std::to_string(major) + ":" + std::to_string(minor) + " riops=" + std::to_string(iops) +
         " rbps=" + std::to_string(bps);
}

std::optional<std::pair<unsigned, unsigned>> parseMajorMinor(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
    text.remove_suffix(1);
  size_t colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == text.size())
    return std::nullopt;
  auto number = [](std::string_view digits) -> std::optional<unsigned> {
    if (digits.size() > 9)
      return std::nullopt;
    unsigned value = 0;
    for (char c : digits) {
      if (c < '0' || c > '9')
        return std::nullopt;
      value = value * 10 + unsigned(c - '0');
    }
    return value;
  };
  auto major = number(text.substr(0, colon)), minor = number(text.substr(colon + 1));
  if (!major || !minor)
    return std::nullopt;
  return std::pair{*major, *minor};
}

namespace {

/// The lines of \p text that start with "MAJOR:MINOR ", without that prefix.
std::vector<std::string_view> deviceLines(std::string_view text, unsigned major, unsigned minor) {
  std::string prefix = std::to_string(major) + ":" + std::to_string(minor) + " ";
  std::vector<std::string_view> out;
  while (!text.empty()) {
    size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 1);
    if (line.starts_with(prefix))
      out.push_back(line.substr(prefix.size()));
  }
  return out;
}

uint64_t digitsAt(std::string_view text) {
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9')
      break;
    value = value * 10 + uint64_t(c - '0');
  }
  return value;
}

} // namespace

uint64_t parseIoServicedReads(std::string_view text, unsigned major, unsigned minor) {
  for (std::string_view line : deviceLines(text, major, minor))
    if (line.starts_with("Read "))
      return digitsAt(line.substr(5));
  return 0;
}

uint64_t parseIoStatReads(std::string_view text, unsigned major, unsigned minor) {
  for (std::string_view line : deviceLines(text, major, minor)) {
    // " rios=" and not "wrios" or similar: keys are separated by spaces.
    std::string padded = " " + std::string(line);
    size_t at = padded.find(" rios=");
    if (at != std::string::npos)
      return digitsAt(std::string_view(padded).substr(at + 6));
  }
  return 0;
}

std::string deviceEmulationUnavailable() {
  if (::geteuid() != 0)
    return "--device needs root (it mounts an image on a loop device and throttles it in a cgroup); "
           "run as root or leave out --device";
  if (!blkioV1() && !cgroupV2HasIo())
    return "--device needs a cgroup blkio controller (v1, " + std::string(BlkioRoot) +
           ") or io in " + CgroupV2Root + "/cgroup.controllers (v2); this machine has neither";
  for (const char *tool : {"losetup", "mkfs.ext4"})
    if (!findTool(tool))
      return std::string("--device needs ") + tool + " (util-linux, e2fsprogs), which is not in PATH";
  if (::access("/dev/loop-control", R_OK | W_OK) != 0)
    return "--device needs loop devices: /dev/loop-control: " + errnoText();
  return {};
}

EmulatedDevice::EmulatedDevice(const DeviceProfile &profile, const std::vector<std::string> &files,
                               const std::vector<std::string> &dirs)
    : profile_(profile) {
  gotSignal = 0;
  struct sigaction sa {};
  sa.sa_handler = onSignal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0; // no SA_RESTART: a wait returns so that we stop between runs
  ::sigaction(SIGINT, &sa, &oldInt);
  ::sigaction(SIGTERM, &sa, &oldTerm);
  try {
    setUp(files, dirs);
  } catch (const fs::filesystem_error &e) {
    // A tree that cannot be read or copied: name the file, not the library call.
    tearDown();
    fatal(e.path1().string() + ": cannot copy it onto the emulated device: " + e.code().message(), ExitInternal);
  } catch (...) {
    tearDown();
    throw;
  }
}

EmulatedDevice::~EmulatedDevice() { tearDown(); }

bool EmulatedDevice::interrupted() { return gotSignal != 0; }

std::string EmulatedDevice::deviceName() const {
  return loop_ + " (" + std::to_string(major_) + ":" + std::to_string(minor_) + ")";
}

std::string EmulatedDevice::copyOf(const std::string &original) const { return mountPoint_ + "/root" + original; }

void EmulatedDevice::setUp(const std::vector<std::string> &files, const std::vector<std::string> &dirs) {
  // On a disk, not tmpfs: the loop device reads the image with O_DIRECT.
  const char *tmp = std::getenv("TMPDIR");
  std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/elfopt-device.XXXXXX";
  if (!::mkdtemp(pattern.data()))
    fatal(pattern + ": cannot create a directory for the device image: " + errnoText(), ExitInternal);
  dir_ = pattern;
  image_ = dir_ + "/image.ext4";
  mountPoint_ = dir_ + "/mnt";

  // What goes on the device, and how big it must be.
  std::vector<std::string> canonicalDirs;
  for (const std::string &d : dirs) {
    std::error_code ec;
    fs::path real = fs::canonical(d, ec);
    if (ec || !fs::is_directory(real))
      fatal(d + ": --device-copy needs a directory: " + (ec ? ec.message() : "not a directory"));
    canonicalDirs.push_back(real.string());
  }
  std::vector<std::string> loose; // files not inside a copied tree
  for (const std::string &f : files)
    if (std::ranges::none_of(canonicalDirs, [&](const std::string &d) { return isUnder(f, d); }) &&
        std::ranges::find(loose, f) == loose.end())
      loose.push_back(f);
  uint64_t bytes = 0, entries = 0;
  for (const std::string &f : loose) {
    struct stat st {};
    if (::stat(f.c_str(), &st) != 0)
      fatal(f + ": cannot copy it onto the emulated device: " + errnoText());
    bytes += uint64_t(st.st_size);
    ++entries;
  }
  for (const std::string &d : canonicalDirs)
    for (const fs::directory_entry &e : fs::recursive_directory_iterator(d)) {
      ++entries;
      if (e.is_regular_file() && !e.is_symlink())
        bytes += e.file_size();
    }
  // ext4 keeps an inode and at least one block per file, plus metadata.
  uint64_t size = bytes + bytes / 8 + entries * 8192 + (64ull << 20);
  size = (size + (1 << 20) - 1) & ~uint64_t((1 << 20) - 1);
  {
    int fd = ::open(image_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 || ::ftruncate(fd, off_t(size)) != 0)
      fatal(image_ + ": cannot create the device image: " + errnoText(), ExitInternal);
    ::close(fd);
  }
  // No journal and inode tables written now: nothing writes to the device
  // behind the runs' backs (ext4lazyinit) once it is mounted.
  runTool({"mkfs.ext4", "-q", "-F", "-b", "4096", "-m", "0", "-O", "^has_journal", "-E",
           "lazy_itable_init=0,nodiscard", image_});
  checkInterrupted();
  std::string loop = runTool({"losetup", "--direct-io=on", "--find", "--show", image_});
  while (!loop.empty() && (loop.back() == '\n' || loop.back() == ' '))
    loop.pop_back();
  if (!loop.starts_with("/dev/loop"))
    fatal("losetup --find --show " + image_ + " printed '" + loop + "', not a loop device", ExitInternal);
  loop_ = loop;
  std::string sys = "/sys/block/" + loop_.substr(5);
  if (readText(sys + "/loop/dio").starts_with("0"))
    fatal(image_ + ": the loop device cannot read it with direct I/O (tmpfs?), so a second page "
                   "cache would hide the reads; set TMPDIR to a directory on a disk",
          ExitInternal);
  auto mm = parseMajorMinor(readText(sys + "/dev"));
  if (!mm)
    fatal(sys + "/dev: cannot read the loop device's MAJOR:MINOR", ExitInternal);
  major_ = mm->first;
  minor_ = mm->second;
  writeFile(sys + "/queue/read_ahead_kb", std::to_string(profile_.readAheadKb));

  if (::mkdir(mountPoint_.c_str(), 0700) != 0)
    fatal(mountPoint_ + ": cannot create the mount point: " + errnoText(), ExitInternal);
  if (::mount(loop_.c_str(), mountPoint_.c_str(), "ext4", MS_NOATIME, nullptr) != 0)
    fatal(loop_ + ": cannot mount it on " + mountPoint_ + ": " + errnoText(), ExitInternal);
  mounted_ = true;

  // Copies at the same path under root/, with the originals' modes.
  auto copyFile = [&](const fs::path &from) {
    fs::path to = copyOf(from.string());
    fs::create_directories(to.parent_path());
    std::error_code ec;
    fs::copy_file(from, to, fs::copy_options::overwrite_existing, ec);
    if (ec)
      fatal(from.string() + ": cannot copy it onto the emulated device: " + ec.message(), ExitInternal);
    bytesCopied_ += fs::file_size(to);
    ++filesCopied_;
    checkInterrupted();
  };
  for (const std::string &d : canonicalDirs) {
    fs::create_directories(copyOf(d));
    for (const fs::directory_entry &e : fs::recursive_directory_iterator(d)) {
      fs::path to = copyOf(e.path().string());
      if (e.is_symlink()) {
        fs::create_directories(to.parent_path());
        fs::create_symlink(fs::read_symlink(e.path()), to);
      } else if (e.is_directory()) {
        fs::create_directories(to);
        fs::permissions(to, fs::status(e.path()).permissions());
      } else if (e.is_regular_file()) {
        copyFile(e.path());
        dirFiles_.push_back(e.path().string());
      }
    }
    fs::permissions(copyOf(d), fs::status(d).permissions());
    binds_.emplace_back(copyOf(d), d);
  }
  for (const std::string &f : loose) {
    copyFile(f);
    binds_.emplace_back(copyOf(f), f);
  }
  // Written out, then read-only: the runs only read the device.
  int mfd = ::open(mountPoint_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (mfd >= 0) {
    ::syncfs(mfd);
    ::close(mfd);
  }
  if (::mount(nullptr, mountPoint_.c_str(), nullptr, MS_REMOUNT | MS_RDONLY | MS_NOATIME, nullptr) != 0)
    fatal(mountPoint_ + ": cannot remount it read-only: " + errnoText(), ExitInternal);

  // The group that throttles the loop device, and only it: a throttle on
  // the machine's disk in the same group would slow the loop's own reads of
  // the image too, and the figures would mix.
  std::string name = "elfopt-measure-" + std::to_string(::getpid());
  cgroupV2_ = !blkioV1();
  cgroup_ = std::string(cgroupV2_ ? CgroupV2Root : BlkioRoot) + "/" + name;
  if (cgroupV2_ && !hasWord(readText(std::string(CgroupV2Root) + "/cgroup.subtree_control"), "io")) {
    writeFile(std::string(CgroupV2Root) + "/cgroup.subtree_control", "+io");
    enabledIo_ = true;
  }
  if (::mkdir(cgroup_.c_str(), 0755) != 0)
    fatal(cgroup_ + ": cannot create the cgroup: " + errnoText(), ExitInternal);
  cgroupMade_ = true;
  if (cgroupV2_) {
    writeFile(cgroup_ + "/io.max", ioMaxLine(major_, minor_, profile_.readIops, profile_.readBps));
  } else {
    writeFile(cgroup_ + "/blkio.throttle.read_iops_device", throttleLine(major_, minor_, profile_.readIops));
    writeFile(cgroup_ + "/blkio.throttle.read_bps_device", throttleLine(major_, minor_, profile_.readBps));
  }
  cgroupProcs_ = cgroup_ + "/cgroup.procs";
}

void EmulatedDevice::tearDown() noexcept {
  try {
    if (cgroupMade_) {
      // What the runs left behind (a browser's helper processes) keeps the
      // group busy; they are ours to end.
      for (int attempt = 0; attempt < 50; ++attempt) {
        std::stringstream procs(readText(cgroupProcs_));
        bool any = false;
        for (long pid; procs >> pid;) {
          ::kill(pid_t(pid), SIGKILL);
          any = true;
        }
        if (!any && ::rmdir(cgroup_.c_str()) == 0)
          break;
        while (::waitpid(-1, nullptr, WNOHANG) > 0) {
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      if (::access(cgroup_.c_str(), F_OK) == 0)
        warn(cgroup_ + ": cannot remove the cgroup: " + errnoText());
    }
    if (enabledIo_ && ::access(cgroup_.c_str(), F_OK) != 0) {
      int fd = ::open((std::string(CgroupV2Root) + "/cgroup.subtree_control").c_str(), O_WRONLY | O_CLOEXEC);
      if (fd >= 0) {
        [[maybe_unused]] ssize_t n = ::write(fd, "-io", 3);
        ::close(fd);
      }
    }
    if (mounted_ && ::umount2(mountPoint_.c_str(), 0) != 0 && ::umount2(mountPoint_.c_str(), MNT_DETACH) != 0)
      warn(mountPoint_ + ": cannot unmount the emulated device: " + errnoText());
    if (!loop_.empty()) {
      int fd = ::open(loop_.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0 || ::ioctl(fd, LOOP_CLR_FD, 0) != 0)
        warn(loop_ + ": cannot detach the loop device: " + errnoText());
      if (fd >= 0)
        ::close(fd);
    }
    if (!dir_.empty()) {
      std::error_code ec;
      ::unlink(image_.c_str());
      ::rmdir(mountPoint_.c_str());
      if (::rmdir(dir_.c_str()) != 0 && errno != ENOENT)
        warn(dir_ + ": cannot remove the device's directory: " + errnoText());
    }
  } catch (...) {
  }
  ::sigaction(SIGINT, &oldInt, nullptr);
  ::sigaction(SIGTERM, &oldTerm, nullptr);
}

void EmulatedDevice::dropMetadata() const {
  int fd = ::open(loop_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return;
  ::ioctl(fd, BLKFLSBUF, 0);
  ::close(fd);
}

const char *EmulatedDevice::enterInChild(size_t &failedBind) const {
  // Into the group first: every read the run makes is throttled.
  char pid[24];
  int n = 0;
  for (long v = ::getpid(); v; v /= 10)
    pid[n++] = char('0' + v % 10);
  std::reverse(pid, pid + n);
  int fd = ::open(cgroupProcs_.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0 || ::write(fd, pid, size_t(n)) != n)
    return "cannot join the throttling cgroup";
  ::close(fd);
  if (::unshare(CLONE_NEWNS) != 0)
    return "cannot make a private mount namespace";
  // Private, so that the binds below never reach the machine's namespace.
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
    return "cannot make mounts private";
  for (size_t i = 0; i < binds_.size(); ++i)
    if (::mount(binds_[i].first.c_str(), binds_[i].second.c_str(), nullptr, MS_BIND, nullptr) != 0) {
      failedBind = i;
      return "cannot bind-mount its copy over it";
    }
  return nullptr;
}

void EmulatedDevice::waitForGroupToEmpty() const {
  auto empty = [&] {
    std::stringstream procs(readText(cgroupProcs_));
    long pid;
    return !(procs >> pid);
  };
  for (int i = 0; i < 1000 && !empty(); ++i) {
    if (gotSignal)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (empty())
    return;
  std::stringstream procs(readText(cgroupProcs_));
  for (long pid; procs >> pid;)
    ::kill(pid_t(pid), SIGKILL);
  for (int i = 0; i < 100 && !empty(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
}

uint64_t EmulatedDevice::readRequests() const {
  if (cgroupV2_)
    return parseIoStatReads(readText(cgroup_ + "/io.stat"), major_, minor_);
  return parseIoServicedReads(readText(cgroup_ + "/blkio.throttle.io_serviced"), major_, minor_);
}

} // namespace elfopt
