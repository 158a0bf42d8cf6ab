//===- Measure.cpp - startup as a user feels it, cold and warm ------------===//
#include "elfopt/Measure/Measure.h"

#include "elfopt/Elf/ElfFile.h"
#include "elfopt/Support/Diagnostics.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <ctime>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

namespace elfopt {

namespace {

constexpr uint64_t PageSize = 4096;

/// argv[0] as execvp would find it: with a slash as given, else through PATH.
std::string resolveProgram(const std::string &name) {
  if (name.find('/') != std::string::npos)
    return name;
  const char *path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/local/bin:/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0)
      return candidate;
  }
  fatal(name + ": program not found in PATH");
}

/// Our environment with \p extra set on top (replacing variables of the
/// same name), as "NAME=VALUE" strings.
std::vector<std::string> environmentWith(const std::vector<std::pair<std::string, std::string>> &extra) {
  std::vector<std::string> out;
  for (char **e = environ; *e; ++e) {
    std::string_view entry(*e);
    std::string_view name = entry.substr(0, entry.find('='));
    bool replaced = std::ranges::any_of(extra, [&](const auto &kv) { return kv.first == name; });
    if (!replaced)
      out.emplace_back(entry);
  }
  for (const auto &[name, value] : extra)
    out.push_back(name + "=" + value);
  return out;
}

std::vector<char *> pointers(std::vector<std::string> &strings) {
  std::vector<char *> out;
  for (std::string &s : strings)
    out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

/// What a child set up for the emulated device, sent to the parent:
/// error 0 when it is about to exec, else what failed.
struct SetupReport {
  int error;
  size_t bind; ///< the bind that failed, if one did
  char what[80];
  struct timespec ready; ///< CLOCK_MONOTONIC (steady_clock) right before exec
};

/// Forks and execs \p argv with \p env; the child's stdout goes to
/// \p stdoutFd (or /dev/null), stdin and stderr to /dev/null. Returns the
/// pid. A failed exec exits the child with 127. With \p device, the child
/// enters its namespace and cgroup first and spawn returns when it is about
/// to exec, when it was about to exec in \p ready; if the setup fails, nothing
/// runs and the run stops with what failed.
pid_t spawn(std::vector<std::string> argv, std::vector<std::string> env, int stdoutFd = -1,
            const EmulatedDevice *device = nullptr,
            std::chrono::steady_clock::time_point *ready = nullptr) {
  std::string program = resolveProgram(argv[0]);
  std::vector<char *> args = pointers(argv), envp = pointers(env);
  int report[2] = {-1, -1};
  if (device && ::pipe2(report, O_CLOEXEC) != 0)
    fatal("cannot create a pipe: " + std::string(std::strerror(errno)));
  pid_t pid = ::fork();
  if (pid < 0)
    fatal("cannot fork: " + std::string(std::strerror(errno)));
  if (pid == 0) {
    if (device) {
      size_t failedBind = 0;
      const char *what = device->enterInChild(failedBind);
      SetupReport message{what ? errno : 0, failedBind, {}, {}};
      if (what)
        std::strncpy(message.what, what, sizeof message.what - 1);
      ::clock_gettime(CLOCK_MONOTONIC, &message.ready);
      [[maybe_unused]] ssize_t n = ::write(report[1], &message, sizeof message);
      if (what)
        ::_exit(126);
    }
    int null = ::open("/dev/null", O_RDWR);
    ::dup2(null, 0);
    ::dup2(stdoutFd >= 0 ? stdoutFd : null, 1);
    ::dup2(null, 2);
    ::execve(program.c_str(), args.data(), envp.data());
    ::_exit(127);
  }
  if (device) {
    ::close(report[1]);
    SetupReport message{};
    ssize_t n;
    while ((n = ::read(report[0], &message, sizeof message)) < 0 && errno == EINTR) {
    }
    ::close(report[0]);
    if (n != ssize_t(sizeof message)) {
      while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
      }
      fatal("emulated device: a run ended before it could set up", ExitInternal);
    }
    if (message.error) {
      while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
      }
      std::string what(message.what);
      if (what.starts_with("cannot bind"))
        what = device->bindTarget(message.bind) + ": " + what;
      fatal("emulated device: " + what + ": " + std::strerror(message.error), ExitInternal);
    }
    if (ready)
      *ready = std::chrono::steady_clock::time_point(
          std::chrono::duration_cast<std::chrono::steady_clock::duration>(
              std::chrono::seconds(message.ready.tv_sec) + std::chrono::nanoseconds(message.ready.tv_nsec)));
  }
  return pid;
}

bool isElf(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {};
  in.read(magic, 4);
  return in && std::memcmp(magic, "\x7f" "ELF", 4) == 0;
}

std::string readWhole(const std::string &path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

} // namespace

std::vector<std::string> parseLoadedObjects(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 1);
    // "name => path (0x...)", "path (0x...)", "name => not found".
    size_t arrow = line.find("=> ");
    std::string_view rest = arrow == std::string_view::npos ? line : line.substr(arrow + 3);
    size_t start = rest.find_first_not_of(" \t");
    if (start == std::string_view::npos)
      continue;
    rest = rest.substr(start);
    size_t paren = rest.rfind(" (0x");
    if (paren == std::string_view::npos || rest[0] != '/')
      continue; // "not found", the vDSO ("linux-vdso.so.1 (0x...)"), or other text
    out.emplace_back(rest.substr(0, paren));
  }
  return out;
}

std::optional<uint64_t> parseReadBytes(std::string_view procIo) {
  constexpr std::string_view Key = "read_bytes: ";
  size_t at = procIo.find(Key);
  // "cancelled_write_bytes" does not contain it; "read_bytes" starts a line.
  while (at != std::string_view::npos && at != 0 && procIo[at - 1] != '\n')
    at = procIo.find(Key, at + 1);
  if (at == std::string_view::npos)
    return std::nullopt;
  uint64_t value = 0;
  bool any = false;
  for (size_t i = at + Key.size(); i < procIo.size() && procIo[i] >= '0' && procIo[i] <= '9'; ++i) {
    value = value * 10 + uint64_t(procIo[i] - '0');
    any = true;
  }
  return any ? std::optional<uint64_t>(value) : std::nullopt;
}

std::vector<std::string> filesToEvict(const MeasureTarget &target) {
  std::string program = resolveProgram(target.argv.at(0));
  std::vector<std::string> files{program};
  // Only a dynamically linked program asks ld.so; LD_TRACE_LOADED_OBJECTS
  // would simply run a static one, or a script.
  if (isElf(program) && ElfFile::open(program)->interpreter()) {
    int pipeFds[2];
    if (::pipe(pipeFds) != 0)
      fatal("cannot create a pipe: " + std::string(std::strerror(errno)));
    auto env = target.env;
    env.emplace_back("LD_TRACE_LOADED_OBJECTS", "1");
    pid_t pid = spawn(target.argv, environmentWith(env), pipeFds[1]);
    ::close(pipeFds[1]);
    std::string text;
    char buffer[4096];
    for (ssize_t n; (n = ::read(pipeFds[0], buffer, sizeof buffer)) != 0;) {
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        break;
      text.append(buffer, size_t(n));
    }
    ::close(pipeFds[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    for (std::string &path : parseLoadedObjects(text))
      files.push_back(std::move(path));
  }
  for (const std::string &extra : target.extraEvict)
    files.push_back(extra);
  // Each once, in first-seen order (the interpreter appears in both lists).
  std::vector<std::string> unique;
  for (std::string &f : files) {
    char *real = ::realpath(f.c_str(), nullptr);
    std::string canonical = real ? real : f;
    std::free(real);
    if (std::ranges::find(unique, canonical) == unique.end())
      unique.push_back(canonical);
  }
  return unique;
}

EvictResult evict(const std::vector<std::string> &files) {
  EvictResult result;
  for (const std::string &path : files) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
      fatal(path + ": cannot open to drop it from the page cache: " + std::strerror(errno));
    struct stat st {};
    ::fstat(fd, &st);
    uint64_t size = uint64_t(st.st_size);
    // Dirty pages are not dropped: a file just written must reach the disk.
    ::fdatasync(fd);
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    uint64_t pages = (size + PageSize - 1) / PageSize;
    result.pages += pages;
    if (size) {
      void *map = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
      if (map != MAP_FAILED) {
        std::vector<unsigned char> resident(pages);
        if (::mincore(map, size, resident.data()) == 0) {
          uint64_t cached = uint64_t(std::ranges::count_if(resident, [](unsigned char r) { return r & 1; }));
          result.stillCached += cached;
          if (cached)
            result.filesStillCached.push_back(path);
        }
        ::munmap(map, size);
      }
    }
    ::close(fd);
  }
  return result;
}

RunSample runOnce(const MeasureTarget &target, const EmulatedDevice *device) {
  RunSample sample;
  uint64_t requestsBefore = device ? device->readRequests() : 0;
  auto start = std::chrono::steady_clock::now();
  // Joining a cgroup and a new mount namespace cost the child milliseconds
  // that are not the program's: the clock starts when it is about to exec
  // (its own reading of the monotonic clock that steady_clock reads).
  pid_t pid = spawn(target.argv, environmentWith(target.env), -1, device, &start);
  // Wait without reaping, so that /proc/PID/io still describes the run.
  siginfo_t info{};
  while (::waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) != 0 && errno == EINTR) {
    // Interrupted on a slow device: stop this run rather than wait it out.
    if (device && EmulatedDevice::interrupted())
      ::kill(pid, SIGKILL);
  }
  auto end = std::chrono::steady_clock::now();
  sample.readBytes = parseReadBytes(readWhole("/proc/" + std::to_string(pid) + "/io"));
  struct rusage usage {};
  int status = 0;
  while (::wait4(pid, &status, 0, &usage) < 0 && errno == EINTR) {
  }
  sample.wallSeconds = std::chrono::duration<double>(end - start).count();
  sample.majorFaults = uint64_t(usage.ru_majflt);
  sample.minorFaults = uint64_t(usage.ru_minflt);
  sample.exitStatus = status;
  // The group's counter covers the run's children too (a browser's helpers),
  // once they are gone: then the next run starts alone and fully cold.
  if (device) {
    device->waitForGroupToEmpty();
    sample.readRequests = device->readRequests() - requestsBefore;
  }
  return sample;
}

std::vector<MeasureSummary> measure(const std::vector<MeasureTarget> &targets,
                                    const MeasureOptions &options,
                                    const std::function<void(const std::string &)> &progress) {
  std::vector<MeasureSummary> out;
  for (const MeasureTarget &t : targets) {
    MeasureSummary s;
    s.label = t.label;
    s.files = filesToEvict(t);
    out.push_back(std::move(s));
  }
  // Both variants on one device: every file either of them reads is on it.
  std::optional<EmulatedDevice> device;
  if (options.device) {
    if (progress)
      progress("copying onto an emulated " + options.device->name);
    std::vector<std::string> all;
    for (const MeasureSummary &s : out)
      for (const std::string &f : s.files)
        if (std::ranges::find(all, f) == all.end())
          all.push_back(f);
    device.emplace(*options.device, all, options.deviceCopy);
    for (MeasureSummary &s : out) {
      // The trees' files are dropped too: a dlopen'ed library is read cold.
      for (const std::string &f : device->filesInDirs())
        if (std::ranges::find(s.files, f) == s.files.end())
          s.files.push_back(f);
      s.device = DeviceUse{device->deviceName(), device->filesCopied(), device->bytesCopied()};
    }
  }
  const EmulatedDevice *on = device ? &*device : nullptr;
  auto stopIfInterrupted = [&] {
    if (on && EmulatedDevice::interrupted())
      fatal("interrupted; the emulated device was removed", ExitInternal);
  };
  for (unsigned round = 0; round < options.runs; ++round) {
    if (progress)
      progress("round " + std::to_string(round + 1) + "/" + std::to_string(options.runs));
    for (size_t i = 0; i < targets.size(); ++i) {
      MeasureSummary &s = out[i];
      if (options.cold) {
        std::vector<std::string> drop = s.files;
        if (on) {
          // The runs read the copies; with direct I/O the loop device keeps
          // no second cache of the image.
          for (std::string &f : drop)
            f = on->copyOf(f);
          on->dropMetadata();
        }
        EvictResult e = evict(drop);
        s.filePages = e.pages;
        if (e.stillCached > s.maxStillCached || s.cold.empty()) {
          s.maxStillCached = e.stillCached;
          s.filesStillCached = e.filesStillCached;
        }
        s.cold.push_back(runOnce(targets[i], on));
        stopIfInterrupted();
      }
      if (options.warm) {
        s.warm.push_back(runOnce(targets[i], on));
        stopIfInterrupted();
      }
      if (round == 0)
        s.firstExitStatus = (options.cold ? s.cold : s.warm).front().exitStatus;
    }
  }
  return out;
}

double median(std::vector<double> values) {
  if (values.empty())
    return 0;
  std::ranges::sort(values);
  size_t n = values.size();
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

std::string loadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string one, five, fifteen;
  in >> one >> five >> fifteen;
  return one.empty() ? "unknown" : one + " " + five + " " + fifteen;
}

} // namespace elfopt
