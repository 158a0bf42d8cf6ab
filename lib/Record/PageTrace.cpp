//===- PageTrace.cpp - page-fault trace of one execution -----------------===//
#include "elfopt/Record/PageTrace.h"
#include "elfopt/Support/Diagnostics.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <memory>
#include <poll.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

namespace elfopt {

namespace {
constexpr uint64_t PageSize = 4096;

template <typename T> T load(const uint8_t *p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

uint64_t monotonicNs() {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000000u + uint64_t(ts.tv_nsec);
}
} // namespace

std::optional<FileKey> fileKeyOf(const std::string &path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0)
    return std::nullopt;
  return FileKey{uint32_t(major(st.st_dev)), uint32_t(minor(st.st_dev)), uint64_t(st.st_ino)};
}

PageFaultDecoder::PageFaultDecoder(std::vector<TracedFile> tracedFiles, uint64_t startNs)
    : files(std::move(tracedFiles)), startNs(startNs), seen(files.size()), pagesOf(files.size()) {}

void PageFaultDecoder::onRecord(const uint8_t *record, size_t size) {
  if (size < sizeof(perf_event_header)) {
    ++malformedCount;
    return;
  }
  auto header = load<perf_event_header>(record);
  const uint8_t *body = record + sizeof header;
  size_t bodySize = std::min<size_t>(size, header.size) - sizeof header;
  switch (header.type) {
  case PERF_RECORD_SAMPLE:
    // ip, pid, tid, time, addr: the order PERF_SAMPLE_* bits lay them out.
    if (bodySize < 32) {
      ++malformedCount;
      return;
    }
    onSample(load<uint32_t>(body + 8), load<uint32_t>(body + 12), load<uint64_t>(body + 16),
             load<uint64_t>(body + 24));
    return;
  case PERF_RECORD_MMAP2: {
    // pid, tid, addr, len, pgoff, maj, min, ino, ino_generation, prot, flags, filename.
    if (bodySize < 64 || (header.misc & PERF_RECORD_MISC_MMAP_BUILD_ID)) {
      // With a build-id in place of device and inode, the file cannot be
      // matched; elfopt never asks for that form.
      ++malformedCount;
      return;
    }
    FileKey key{load<uint32_t>(body + 32), load<uint32_t>(body + 36), load<uint64_t>(body + 40)};
    const char *name = reinterpret_cast<const char *>(body + 64);
    std::string filename(name, strnlen(name, bodySize - 64));
    onMmap(load<uint32_t>(body), load<uint64_t>(body + 8), load<uint64_t>(body + 16),
           load<uint64_t>(body + 24), key, filename);
    return;
  }
  case PERF_RECORD_FORK: {
    if (bodySize < 16) {
      ++malformedCount;
      return;
    }
    uint32_t pid = load<uint32_t>(body), ppid = load<uint32_t>(body + 4);
    if (pid != ppid) // a new process starts with a copy of its parent's mappings
      spaces[pid] = spaces[ppid];
    return;
  }
  case PERF_RECORD_COMM:
    if (bodySize < 8) {
      ++malformedCount;
      return;
    }
    if (header.misc & PERF_RECORD_MISC_COMM_EXEC)
      spaces[load<uint32_t>(body)].clear(); // exec: a new address space
    return;
  case PERF_RECORD_LOST:
    if (bodySize < 16) {
      ++malformedCount;
      return;
    }
    lostCount += load<uint64_t>(body + 8);
    return;
  default:
    return;
  }
}

void PageFaultDecoder::onMmap(uint32_t pid, uint64_t start, uint64_t length, uint64_t pgoff,
                              FileKey key, const std::string &name) {
  if (length == 0 || start + length < start)
    return;
  uint64_t end = start + length;
  int file = -1;
  if (key.inode != 0)
    for (size_t i = 0; i < files.size() && file < 0; ++i)
      if (files[i].key == key || (!files[i].path.empty() && files[i].path == name))
        file = int(i);
  // The new mapping replaces whatever it overlaps (MAP_FIXED, mprotect
  // reported again): trim or split the old ones.
  AddressSpace &space = spaces[pid];
  auto it = space.lower_bound(start);
  if (it != space.begin() && std::prev(it)->second.end > start)
    --it;
  while (it != space.end() && it->first < end) {
    uint64_t oldStart = it->first;
    Mapping old = it->second;
    it = space.erase(it);
    if (oldStart < start)
      space[oldStart] = {start, old.pgoff, old.file};
    if (old.end > end)
      space[end] = {old.end, old.pgoff + (end - oldStart), old.file};
  }
  space[start] = {end, pgoff, file};
}

void PageFaultDecoder::onSample(uint32_t pid, uint32_t tid, uint64_t timeNs, uint64_t address) {
  ++faultCount;
  auto spaceIt = spaces.find(pid);
  if (spaceIt == spaces.end())
    return;
  AddressSpace &space = spaceIt->second;
  auto it = space.upper_bound(address);
  if (it == space.begin())
    return;
  --it;
  const Mapping &m = it->second;
  if (address >= m.end || m.file < 0)
    return;
  uint64_t offset = m.pgoff + (address - it->first);
  uint64_t page = offset & ~(PageSize - 1);
  if (!seen[m.file].emplace(page, true).second)
    return;
  uint32_t thread = threadNumber.try_emplace(tid, uint32_t(threadNumber.size() + 1)).first->second;
  const TracedFile &f = files[m.file];
  pagesOf[m.file].push_back({page, timeNs > startNs ? timeNs - startNs : 0, thread,
                             f.sectionOf ? f.sectionOf(offset) : std::string()});
}

namespace {

/// One record copied out of a ring buffer, with its time for merging the
/// buffers of several CPUs into one order.
struct RawRecord {
  uint64_t timeNs;
  size_t offset, size; ///< in the shared byte store
};

/// Every record ends with the sample_id fields (sample_id_all) of the chosen
/// sample_type, TID then TIME: the time is its last 8 bytes. A sample has it
/// after the ip and the TID.
uint64_t recordTime(const uint8_t *record, size_t size) {
  auto header = load<perf_event_header>(record);
  if (header.type == PERF_RECORD_SAMPLE)
    return size >= sizeof header + 24 ? load<uint64_t>(record + sizeof header + 16) : 0;
  return size >= sizeof header + 16 ? load<uint64_t>(record + size - 8) : 0;
}

/// A perf ring buffer: a metadata page, then 2^n data pages.
class RingBuffer {
public:
  /// Maps the buffer of \p fd, halving the size from \p dataPages while the
  /// kernel refuses it (an unprivileged user may lock only perf_event_mlock_kb).
  RingBuffer(int fd, size_t dataPages) {
    for (; dataPages >= 2; dataPages /= 2) {
      size = (dataPages + 1) * PageSize;
      base = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
      if (base != MAP_FAILED)
        return;
    }
    fatal(std::string("cannot map the page-fault trace buffer: ") + std::strerror(errno),
          ExitInternal);
  }
  ~RingBuffer() { ::munmap(base, size); }
  RingBuffer(const RingBuffer &) = delete;

  /// Copies every complete record out and frees its space. Past
  /// \p storeLimit bytes, samples are counted in \p dropped instead: a
  /// long-running program must not grow the trace without bound.
  void drain(std::vector<uint8_t> &store, std::vector<RawRecord> &records, size_t storeLimit,
             uint64_t &dropped) {
    auto *meta = static_cast<perf_event_mmap_page *>(base);
    const uint8_t *data = static_cast<const uint8_t *>(base) + PageSize;
    uint64_t dataSize = size - PageSize;
    uint64_t head = __atomic_load_n(&meta->data_head, __ATOMIC_ACQUIRE);
    uint64_t tail = meta->data_tail;
    while (tail + sizeof(perf_event_header) <= head) {
      perf_event_header header;
      copyOut(data, dataSize, tail, &header, sizeof header);
      if (header.size < sizeof header || tail + header.size > head)
        break;
      if (header.type == PERF_RECORD_SAMPLE && store.size() >= storeLimit) {
        ++dropped;
        tail += header.size;
        continue;
      }
      size_t at = store.size();
      store.resize(at + header.size);
      copyOut(data, dataSize, tail, store.data() + at, header.size);
      records.push_back({recordTime(store.data() + at, header.size), at, header.size});
      tail += header.size;
    }
    __atomic_store_n(&meta->data_tail, tail, __ATOMIC_RELEASE);
  }

private:
  static void copyOut(const uint8_t *data, uint64_t dataSize, uint64_t at, void *out, size_t n) {
    uint64_t start = at % dataSize;
    size_t first = size_t(std::min<uint64_t>(n, dataSize - start));
    std::memcpy(out, data + start, first);
    std::memcpy(static_cast<uint8_t *>(out) + first, data, n - first);
  }
  void *base = MAP_FAILED;
  size_t size = 0;
};

std::string paranoidLevel() {
  FILE *f = std::fopen("/proc/sys/kernel/perf_event_paranoid", "r");
  int level = 0;
  bool ok = f && std::fscanf(f, "%d", &level) == 1;
  if (f)
    std::fclose(f);
  return ok ? std::to_string(level) : "unknown";
}

} // namespace

PageTraceResult tracePages(const PageTraceOptions &options, const std::vector<TracedFile> &files) {
  int gate[2];
  if (::pipe2(gate, O_CLOEXEC) != 0)
    fatal("cannot create a pipe: " + std::string(std::strerror(errno)), ExitInternal);
  std::vector<char *> argv;
  for (const std::string &a : options.command)
    argv.push_back(const_cast<char *>(a.c_str()));
  argv.push_back(nullptr);
  uint64_t startNs = monotonicNs();
  pid_t child = ::fork();
  if (child < 0)
    fatal("cannot fork: " + std::string(std::strerror(errno)), ExitInternal);
  if (child == 0) {
    ::close(gate[1]);
    char c;
    // Exec only once the events are attached; a closed pipe without a byte
    // means the parent gave up.
    ssize_t n;
    while ((n = ::read(gate[0], &c, 1)) < 0 && errno == EINTR) {
    }
    if (n != 1)
      ::_exit(127);
    ::signal(SIGINT, SIG_DFL);
    if (options.quiet) {
      // The run the user watches is the recorded one; this one stays silent,
      // and does not wait for a terminal's input nobody sees it ask for.
      int devNull = ::open("/dev/null", O_RDWR);
      if (devNull >= 0) {
        if (::isatty(0))
          ::dup2(devNull, 0);
        ::dup2(devNull, 1);
        ::dup2(devNull, 2);
        ::close(devNull);
      }
    }
    ::execv(options.program.c_str(), argv.data());
    ::_exit(127);
  }
  ::close(gate[0]);
  std::vector<int> fds;
  auto closeAll = [&] {
    for (int fd : fds)
      ::close(fd);
  };
  auto giveUp = [&](const std::string &why) {
    closeAll();
    ::close(gate[1]);
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);
    fatal(why, ExitInternal);
  };

  perf_event_attr attr{};
  attr.size = sizeof attr;
  attr.type = PERF_TYPE_SOFTWARE;
  attr.config = PERF_COUNT_SW_PAGE_FAULTS;
  attr.sample_period = 1;
  attr.sample_type = PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_TIME | PERF_SAMPLE_ADDR;
  attr.disabled = 1;
  attr.enable_on_exec = 1;
  attr.inherit = 1;        // threads and child processes too
  attr.exclude_kernel = 1; // what perf_event_paranoid 2 allows
  attr.exclude_hv = 1;
  attr.mmap = 1;
  attr.mmap2 = 1;
  attr.mmap_data = 1;      // data mappings too, not only executable ones
  attr.task = 1;           // FORK records: a child's copy of the mappings
  attr.comm = 1;
  attr.comm_exec = 1;
  attr.sample_id_all = 1;  // a time on every record, to merge the CPUs' buffers
  attr.use_clockid = 1;
  attr.clockid = CLOCK_MONOTONIC;
  attr.watermark = 1;
  attr.wakeup_watermark = 64 * 1024;
  // An inherited event can only be mapped per CPU (the kernel refuses one
  // buffer written by every child), so one event and buffer per CPU.
  long cpus = std::max(1L, ::sysconf(_SC_NPROCESSORS_CONF));
  int lastError = 0;
  for (long cpu = 0; cpu < cpus; ++cpu) {
    int fd = int(::syscall(SYS_perf_event_open, &attr, child, int(cpu), -1, PERF_FLAG_FD_CLOEXEC));
    if (fd >= 0)
      fds.push_back(fd);
    else if (errno != ENODEV) // an offline CPU
      lastError = errno;
  }
  if (fds.empty() || lastError)
    giveUp(std::string("cannot trace page faults (perf_event_open: ") +
           std::strerror(lastError ? lastError : ENODEV) + "; kernel.perf_event_paranoid is " +
           paranoidLevel() + ", 2 or lower lets a user trace their own programs)");
  PageTraceResult result;
  {
    std::vector<std::unique_ptr<RingBuffer>> rings;
    // 2 MiB per CPU where allowed: some 40k faults between two drains.
    for (int fd : fds)
      rings.push_back(std::make_unique<RingBuffer>(fd, 512));
    std::vector<uint8_t> store;
    std::vector<RawRecord> records;
    // Some 5 million faults; a start has thousands.
    constexpr size_t StoreLimit = size_t(256) << 20;
    uint64_t dropped = 0;
    if (::write(gate[1], "x", 1) != 1)
      giveUp("cannot start the program: " + std::string(std::strerror(errno)));
    ::close(gate[1]);
    std::vector<pollfd> polls;
    for (int fd : fds)
      polls.push_back({fd, POLLIN, 0});
    int status = 0;
    bool killed = false;
    for (;;) {
      ::poll(polls.data(), polls.size(), 5);
      for (auto &ring : rings)
        ring->drain(store, records, StoreLimit, dropped);
      pid_t done = ::waitpid(child, &status, WNOHANG);
      if (done == child || (done < 0 && errno != EINTR))
        break;
      if (!killed && options.stopAfterNs && monotonicNs() - startNs >= options.stopAfterNs) {
        ::kill(child, SIGKILL);
        killed = true;
      }
    }
    result.info.durationNs = monotonicNs() - startNs;
    for (auto &ring : rings)
      ring->drain(store, records, StoreLimit, dropped);
    std::stable_sort(records.begin(), records.end(),
                     [](const RawRecord &a, const RawRecord &b) { return a.timeNs < b.timeNs; });
    PageFaultDecoder decoder(files, startNs);
    for (const RawRecord &r : records)
      decoder.onRecord(store.data() + r.offset, r.size);
    result.info.method = "perf-page-faults";
    result.info.faults = decoder.faults();
    result.info.lost = decoder.lost() + dropped;
    if (WIFEXITED(status))
      result.info.exitCode = WEXITSTATUS(status);
    else if (WIFSIGNALED(status))
      result.info.signal = WTERMSIG(status);
    result.pages = decoder.pages();
  }
  closeAll();
  return result;
}

} // namespace elfopt
