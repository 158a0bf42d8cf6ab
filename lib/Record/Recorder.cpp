//===- Recorder.cpp - ptrace-based first-touch recorder ------------------===//
//
// One traced run:
//   fork; the child waits on a pipe until the parent has PTRACE_SEIZEd it,
//   then execs the program. At the exec stop, breakpoints go on every
//   function entry of the main executable and on the dynamic linker's
//   _dl_debug_state. The event loop then serves:
//     - a function breakpoint: record the first touch, put the original byte
//       back, rewind the program counter, continue;
//     - _dl_debug_state: emulate its `ret` (so the breakpoint never has to be
//       lifted while other threads run) and, once the link map is consistent,
//       arm newly mapped objects the user asked for;
//     - clone/fork/vfork: threads share the address space; a vfork child
//       shares it until it execs; a fork child gets its own copy and is
//       either followed or cleaned of breakpoints and released;
//     - any other signal: delivered to the program unchanged.
//   An early stop (--duration, --until, Ctrl-C) interrupts every task,
//   restores every byte, and detaches (or kills, with --kill).
//
// Memory is read and written through /proc/PID/mem, which lets a tracer
// write read-only text; arming 100k breakpoints is a few large writes.
//
//===----------------------------------------------------------------------===//
#include "elfopt/Record/Recorder.h"
#include "elfopt/Record/PageTrace.h"
#include "elfopt/Elf/ElfFile.h"
#include "elfopt/Elf/Functions.h"
#include "elfopt/Support/Diagnostics.h"
#include "elfopt/Target/X86_64.h"

#include <algorithm>
#include <filesystem>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <map>
#include <memory>
#include <set>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>
#include <unordered_map>

namespace elfopt {

namespace {

// The tracee's view of the dynamic linker's debugger interface (glibc
// <link.h>, stable ABI on x86-64) and of the auxiliary vector; spelled out
// here because <elf.h> macros collide with LLVM's ELF enums.
struct TraceeRDebug {
  int32_t version;
  uint64_t map;   ///< struct link_map *
  uint64_t brk;   ///< _dl_debug_state
  int32_t state;  ///< RT_CONSISTENT, RT_ADD, RT_DELETE
  uint64_t ldbase;
};
struct TraceeLinkMap {
  uint64_t addr;  ///< load bias
  uint64_t name;  ///< char *
  uint64_t ld;
  uint64_t next, prev;
};
constexpr int32_t RtConsistent = 0;
constexpr uint64_t AuxNull = 0, AuxBase = 7, AuxEntry = 9;

volatile sig_atomic_t interruptRequested = 0;
volatile sig_atomic_t timerTicked = 0;
void onInterrupt(int) { interruptRequested = 1; }
void onTimer(int) { timerTicked = 1; }

std::string errnoText() { return std::strerror(errno); }

std::string resolveProgram(const std::string &name) {
  auto usable = [](const std::string &p) {
    struct stat st;
    return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
  };
  if (name.find('/') != std::string::npos) {
    if (!usable(name))
      fatal(name + ": no such program");
    return name;
  }
  const char *path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos)
      end = dirs.size();
    std::string dir = dirs.substr(start, end - start);
    std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (usable(candidate) && ::access(candidate.c_str(), X_OK) == 0)
      return candidate;
    start = end + 1;
  }
  fatal(name + ": no such program (searched PATH)");
}

bool objectMatches(const std::string &wanted, const std::string &path) {
  if (path.empty())
    return false;
  if (wanted == path)
    return true;
  std::string base = path.substr(path.rfind('/') + 1);
  return base == wanted || base.starts_with(wanted + ".");
}

/// What is known of one object: identity, functions, and which to arm.
struct ObjectImage {
  std::string wanted; ///< the name the user gave ("main" for the program)
  bool identified = false;
  ObjectIdentity identity;
  FunctionTable table;
  std::unique_ptr<ElfFile> file;
};

struct Breakpoint {
  uint32_t object = 0;
  uint32_t function = 0;
  uint8_t original = 0;
  /// False once the original byte is back. The entry stays: another thread
  /// may have executed the int3 before the byte was restored, and its trap
  /// must still be recognized and rewound.
  bool armed = true;
};

/// One address space (a process, shared by its threads and vfork children).
struct Space {
  pid_t pid = 0;
  int memFd = -1;
  std::unordered_map<uint64_t, Breakpoint> breakpoints; ///< by runtime address
  uint64_t debugState = 0; ///< runtime address of _dl_debug_state, or 0
  uint8_t debugStateOriginal = 0;
  uint64_t rDebug = 0;     ///< runtime address of _r_debug, or 0
  std::map<uint32_t, uint64_t> objectBase; ///< mapped objects

  Space() = default;
  Space(const Space &) = delete; // owns memFd; a fork child gets forkedInto()
  ~Space() {
    if (memFd >= 0)
      ::close(memFd);
  }
  static int openMemory(pid_t pid) {
    return ::open(("/proc/" + std::to_string(pid) + "/mem").c_str(), O_RDWR | O_CLOEXEC);
  }
  /// A fork child's address space: a copy of this one's memory, so of its
  /// breakpoint state too, reached through the child's own /proc/PID/mem.
  std::shared_ptr<Space> forkedInto(pid_t child) const {
    auto s = std::make_shared<Space>();
    s->pid = child;
    s->memFd = openMemory(child);
    s->breakpoints = breakpoints;
    s->debugState = debugState;
    s->debugStateOriginal = debugStateOriginal;
    s->rDebug = rDebug;
    s->objectBase = objectBase;
    return s;
  }
  bool read(uint64_t addr, void *buf, size_t len) const {
    auto *p = static_cast<uint8_t *>(buf);
    while (len > 0) {
      ssize_t n = ::pread(memFd, p, len, off_t(addr));
      if (n <= 0)
        return false;
      p += n, addr += uint64_t(n), len -= size_t(n);
    }
    return true;
  }
  bool write(uint64_t addr, const void *buf, size_t len) const {
    auto *p = static_cast<const uint8_t *>(buf);
    while (len > 0) {
      ssize_t n = ::pwrite(memFd, p, len, off_t(addr));
      if (n <= 0)
        return false;
      p += n, addr += uint64_t(n), len -= size_t(n);
    }
    return true;
  }
  template <typename T> std::optional<T> readValue(uint64_t addr) const {
    T v;
    if (!read(addr, &v, sizeof v))
      return std::nullopt;
    return v;
  }
  /// Writes single bytes at many addresses with few system calls: nearby
  /// addresses are read, patched and written back as one block.
  bool patch(std::vector<std::pair<uint64_t, uint8_t>> bytes) const {
    std::sort(bytes.begin(), bytes.end());
    std::vector<uint8_t> block;
    bool ok = true;
    for (size_t i = 0; i < bytes.size();) {
      size_t j = i + 1;
      while (j < bytes.size() && bytes[j].first - bytes[j - 1].first < 4096)
        ++j;
      uint64_t lo = bytes[i].first, hi = bytes[j - 1].first + 1;
      block.resize(hi - lo);
      if (read(lo, block.data(), block.size())) {
        for (size_t k = i; k < j; ++k)
          block[bytes[k].first - lo] = bytes[k].second;
        ok &= write(lo, block.data(), block.size());
      } else {
        // A hole in the range (unmapped page): byte by byte.
        for (size_t k = i; k < j; ++k)
          ok &= write(bytes[k].first, &bytes[k].second, 1);
      }
      i = j;
    }
    return ok;
  }
  /// Puts back every byte still armed, and _dl_debug_state's.
  bool restoreAll() const {
    std::vector<std::pair<uint64_t, uint8_t>> bytes;
    for (auto &[addr, bp] : breakpoints)
      if (bp.armed)
        bytes.emplace_back(addr, bp.original);
    if (debugState)
      bytes.emplace_back(debugState, debugStateOriginal);
    return patch(bytes);
  }
};

struct Task {
  std::shared_ptr<Space> space;
  uint32_t thread = 0;
  bool started = false;     ///< its first stop has been handled
  bool vforkChild = false;
  bool followed = true;     ///< false: to be cleaned and released
};

enum class StopReason { None, Duration, Until, Interrupt };

class RunRecorder {
public:
  RunRecorder(const RecordOptions &options, const std::string &program,
              std::vector<ObjectImage> &images, unsigned runNumber)
      : options(options), program(program), images(images), runNumber(runNumber) {}

  Run run(int &exitStatus);

private:
  uint64_t now() const {
    return uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(
                        std::chrono::steady_clock::now() - start)
                        .count());
  }
  void startProgram();
  void onExec(pid_t tid);
  bool execsTheProgram(pid_t tid) const;
  void armExecedProgram(pid_t tid, Task &task);
  void onFirstStop(pid_t tid);
  void onTrap(pid_t tid);
  void onNewTask(pid_t parent, int event);
  void onLinkMapChange(Space &space);
  bool isNewObject(const std::string &path) const;
  void arm(Space &space, uint32_t object, uint64_t base);
  void reportProgress();
  void recordTouch(Task &task, const Breakpoint &bp);
  void cont(pid_t tid, int sig = 0);
  void release(pid_t tid, Task &task);
  void stopEverything();
  uint64_t pc(pid_t tid) { return uint64_t(::ptrace(PTRACE_PEEKUSER, tid, x86_64::ProgramCounterOffset, 0)); }
  void setPc(pid_t tid, uint64_t v) { ::ptrace(PTRACE_POKEUSER, tid, x86_64::ProgramCounterOffset, v); }

  const RecordOptions &options;
  const std::string &program;
  std::vector<ObjectImage> &images;
  unsigned runNumber; ///< from 1
  std::set<uint32_t> armedObjects;
  std::chrono::steady_clock::time_point start;
  pid_t leader = 0;
  bool leaderExeced = false;
  std::map<pid_t, Task> tasks;
  std::set<pid_t> earlyStops; ///< first stops of tasks not announced yet
  std::vector<std::vector<bool>> touched;
  Run result;
  uint32_t nextThread = 1;
  StopReason stopReason = StopReason::None;
  std::optional<int> leaderStatus;
  bool sawExecOfLeader = false;
};

void RunRecorder::cont(pid_t tid, int sig) { ::ptrace(PTRACE_CONT, tid, 0, sig); }

void RunRecorder::startProgram() {
  int gate[2];
  if (::pipe2(gate, O_CLOEXEC) != 0)
    fatal("cannot create a pipe: " + errnoText(), ExitInternal);
  std::vector<char *> argv;
  for (const std::string &a : options.command)
    argv.push_back(const_cast<char *>(a.c_str()));
  argv.push_back(nullptr);
  std::string path = program;
  pid_t pid = ::fork();
  if (pid < 0)
    fatal("cannot fork: " + errnoText(), ExitInternal);
  if (pid == 0) {
    ::close(gate[1]);
    char c;
    // Wait until the parent has seized us, so the exec is traced.
    while (::read(gate[0], &c, 1) < 0 && errno == EINTR) {
    }
    ::signal(SIGINT, SIG_DFL);
    ::execv(path.c_str(), argv.data());
    std::fprintf(stderr, "elfopt: error: %s: cannot execute: %s\n", path.c_str(),
                 std::strerror(errno));
    ::_exit(127);
  }
  ::close(gate[0]);
  long opts = PTRACE_O_TRACECLONE | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK |
              PTRACE_O_TRACEEXEC | PTRACE_O_EXITKILL;
  if (::ptrace(PTRACE_SEIZE, pid, 0, opts) != 0) {
    int err = errno;
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    errno = err;
    fatal(std::string("cannot trace the program (ptrace: ") + errnoText() +
          "); is ptrace allowed here (kernel.yama.ptrace_scope)?", ExitInternal);
  }
  leader = pid;
  Task &t = tasks[pid];
  t.thread = nextThread++;
  t.started = true;
  ::close(gate[1]); // the child execs now
}

void RunRecorder::arm(Space &space, uint32_t object, uint64_t base) {
  auto armStart = std::chrono::steady_clock::now();
  ObjectImage &img = images[object];
  space.objectBase[object] = base;
  std::vector<std::pair<uint64_t, uint8_t>> writes;
  // Check the image in memory is the file we read: the first bytes of each
  // function must match. A mismatch means a different build is loaded.
  auto fileBytes = img.file->bytes();
  unsigned mismatches = 0;
  std::vector<uint8_t> buf;
  std::map<unsigned, std::pair<uint64_t, uint64_t>> ranges; // section -> [lo, hi)
  for (const Function &f : img.table.functions) {
    auto &r = ranges.try_emplace(f.section, f.address, f.address + 1).first->second;
    r.first = std::min(r.first, f.address);
    r.second = std::max(r.second, f.address + 1);
  }
  for (auto [section, range] : ranges) {
    buf.resize(range.second - range.first);
    if (!space.read(base + range.first, buf.data(), buf.size())) {
      warn(img.identity.path + ": cannot read its code in process " + std::to_string(space.pid) +
           "; not recorded");
      return;
    }
    const Section &sec = img.file->sections()[section];
    for (uint32_t i = 0; i < img.table.functions.size(); ++i) {
      const Function &f = img.table.functions[i];
      if (f.section != section || touched[object][i])
        continue;
      uint8_t inMemory = buf[f.address - range.first];
      uint8_t inFile = fileBytes[sec.offset() + (f.address - sec.addr())];
      if (inMemory != inFile) {
        ++mismatches;
        continue;
      }
      space.breakpoints[base + f.address] = {object, i, inMemory};
      writes.emplace_back(base + f.address, x86_64::BreakpointByte);
    }
  }
  if (mismatches)
    warn(img.identity.path + ": " + std::to_string(mismatches) +
         " functions differ in memory from the file; they are not recorded");
  if (!space.patch(writes))
    warn(img.identity.path + ": could not set every breakpoint in process " +
         std::to_string(space.pid));
  if (options.verbose)
    std::fprintf(stderr, "elfopt: armed %zu functions of %s at %s in %.3f ms\n", writes.size(),
                 img.identity.path.c_str(), hex(base).c_str(),
                 std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() -
                                                           armStart)
                     .count());
  if (armedObjects.insert(object).second)
    reportProgress();
}

void RunRecorder::reportProgress() {
  if (!options.progress)
    return;
  size_t n = armedObjects.size();
  options.progress("recording run " + std::to_string(runNumber) + "/" + std::to_string(options.runs) +
                   ", " + std::to_string(n) + (n == 1 ? " object" : " objects") + " armed");
}

// Whether task \p tid now runs the recorded program's file.
bool RunRecorder::execsTheProgram(pid_t tid) const {
  struct stat exe, ours;
  return ::stat(("/proc/" + std::to_string(tid) + "/exe").c_str(), &exe) == 0 &&
         ::stat(program.c_str(), &ours) == 0 && exe.st_dev == ours.st_dev && exe.st_ino == ours.st_ino;
}

// At the exec stop of \p tid: a new address space, the program's
// functions armed, and the dynamic linker's hook for shared objects.
void RunRecorder::armExecedProgram(pid_t tid, Task &task) {
  auto space = std::make_shared<Space>();
  space->pid = tid;
  space->memFd = Space::openMemory(tid);
  if (space->memFd < 0)
    fatal("cannot open the memory of process " + std::to_string(tid) + ": " + errnoText(),
          ExitInternal);
  task.space = space;
  // Where things were mapped: the kernel's auxiliary vector.
  uint64_t entry = 0, interpBase = 0;
  FILE *auxv = std::fopen(("/proc/" + std::to_string(tid) + "/auxv").c_str(), "rb");
  uint64_t pair[2];
  while (auxv && std::fread(pair, sizeof pair, 1, auxv) == 1 && pair[0] != AuxNull) {
    if (pair[0] == AuxEntry)
      entry = pair[1];
    else if (pair[0] == AuxBase)
      interpBase = pair[1];
  }
  if (auxv)
    std::fclose(auxv);
  arm(*space, 0, entry - images[0].file->header().e_entry);
  result.objects[0].loaded = true;
  if (tid == leader)
    result.objects[0].loadBase = entry - images[0].file->header().e_entry;

  if (interpBase != 0) {
    auto interpPath = images[0].file->interpreter();
    std::unique_ptr<ElfFile> interp;
    if (interpPath)
      interp = ElfFile::open(*interpPath);
    uint64_t debugState = 0, rDebug = 0;
    if (interp)
      for (uint32_t type : {uint32_t(llvm::ELF::SHT_DYNSYM), uint32_t(llvm::ELF::SHT_SYMTAB)})
        if (const Section *s = interp->findSectionOfType(type))
          for (const Symbol &sym : interp->symbols(*s)) {
            if (sym.name == "_dl_debug_state" && sym.isDefined())
              debugState = sym.value;
            else if (sym.name == "_r_debug" && sym.isDefined())
              rDebug = sym.value;
          }
    if (debugState && rDebug) {
      space->debugState = interpBase + debugState;
      space->rDebug = interpBase + rDebug;
      auto original = space->readValue<uint8_t>(space->debugState);
      if (original && space->patch({{space->debugState, x86_64::BreakpointByte}}))
        space->debugStateOriginal = *original;
      else
        space->debugState = 0;
    } else if (images.size() > 1) {
      warn(interpPath.value_or("the dynamic linker") +
           ": no _dl_debug_state/_r_debug symbols; shared objects cannot be followed");
    }
  }
}

void RunRecorder::onExec(pid_t tid) {
  auto it = tasks.find(tid);
  if (it == tasks.end())
    return;
  Task &task = it->second;
  if (tid == leader && !leaderExeced) {
    leaderExeced = true;
    armExecedProgram(tid, task);
    cont(tid);
    return;
  }
  // A followed child that execs the program again (Firefox's content
  // processes, a forking server's workers) starts it afresh: armed like the
  // first, its first touches count with the others'.
  if (tid != leader && options.followForks && task.followed && execsTheProgram(tid)) {
    task.vforkChild = false;
    armExecedProgram(tid, task);
    cont(tid);
    return;
  }
  // Any other exec replaces an address space we armed: stop following it.
  if (tid == leader)
    sawExecOfLeader = true;
  ::ptrace(PTRACE_DETACH, tid, 0, 0);
  tasks.erase(it);
}

void RunRecorder::recordTouch(Task &task, const Breakpoint &bp) {
  if (touched[bp.object][bp.function])
    return;
  touched[bp.object][bp.function] = true;
  const Function &f = images[bp.object].table.functions[bp.function];
  result.objects[bp.object].touches.push_back({f.name, f.address, f.size, now(), task.thread});
  if (!options.untilSymbol.empty() && f.name == options.untilSymbol)
    stopReason = StopReason::Until;
}

// With allObjects: a file the link map names that no image stands for yet.
// The vDSO (no file), the program and its interpreter are left out: ld.so
// runs before any breakpoint could be armed, and elfopt does not rewrite it.
bool RunRecorder::isNewObject(const std::string &path) const {
  struct stat st;
  if (path.empty() || path[0] != '/' || ::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode))
    return false;
  for (const ObjectImage &img : images)
    if (objectMatches(img.wanted, path))
      return false;
  std::error_code error;
  auto same = [&](const std::string &other) {
    return !other.empty() && std::filesystem::equivalent(path, other, error);
  };
  if (same(program))
    return false;
  if (auto interpreter = images[0].file->interpreter(); interpreter && same(*interpreter))
    return false;
  return true;
}

void RunRecorder::onLinkMapChange(Space &space) {
  auto state = space.readValue<int32_t>(space.rDebug + offsetof(TraceeRDebug, state));
  if (!state || *state != RtConsistent)
    return;
  auto map = space.readValue<uint64_t>(space.rDebug + offsetof(TraceeRDebug, map));
  std::set<uint32_t> present;
  for (uint64_t lm = map.value_or(0), guard = 0; lm != 0 && guard < 1000000; ++guard) {
    auto base = space.readValue<uint64_t>(lm + offsetof(TraceeLinkMap, addr));
    auto namePtr = space.readValue<uint64_t>(lm + offsetof(TraceeLinkMap, name));
    auto next = space.readValue<uint64_t>(lm + offsetof(TraceeLinkMap, next));
    if (!base || !namePtr || !next)
      break;
    char name[4096] = {0};
    if (*namePtr)
      for (size_t i = 0; i + 1 < sizeof name; ++i)
        if (!space.read(*namePtr + i, &name[i], 1) || name[i] == 0)
          break;
    if (options.allObjects && isNewObject(name)) {
      // Named by its path, so that later runs match the same file.
      images.emplace_back();
      images.back().wanted = name;
      touched.emplace_back();
      ObjectRun o;
      o.object = uint32_t(images.size() - 1);
      result.objects.push_back(o);
    }
    for (uint32_t k = 1; k < images.size(); ++k) {
      if (!objectMatches(images[k].wanted, name))
        continue;
      present.insert(k);
      auto mapped = space.objectBase.find(k);
      if (mapped != space.objectBase.end() && mapped->second == *base)
        continue;
      ObjectImage &img = images[k];
      if (!img.identified) {
        img.file = ElfFile::open(name);
        img.identity = identifyObject(img.wanted, name);
        img.table = readFunctions(*img.file, options.finder);
        img.identity.functionSource = functionSourceName(img.table.source);
        img.identity.functions = img.table.functions.size();
        img.identified = true;
        touched[k].assign(img.table.functions.size(), false);
      }
      arm(space, k, *base);
      result.objects[k].loaded = true;
      result.objects[k].loadBase = *base;
    }
    lm = *next;
  }
  // dlclose'd objects: their breakpoints went with their mappings.
  for (auto it = space.objectBase.begin(); it != space.objectBase.end();) {
    if (it->first != 0 && !present.count(it->first)) {
      std::erase_if(space.breakpoints, [&](auto &e) { return e.second.object == it->first; });
      it = space.objectBase.erase(it);
    } else {
      ++it;
    }
  }
}

void RunRecorder::onTrap(pid_t tid) {
  Task &task = tasks[tid];
  Space *space = task.space.get();
  // The hot path: an armed breakpoint. Its int3 is the only way the program
  // counter can stand right after it, so no siginfo is needed.
  uint64_t at = space ? pc(tid) - x86_64::BreakpointLength : 0;
  auto it = space ? space->breakpoints.find(at) : decltype(space->breakpoints.end()){};
  bool known = space && it != space->breakpoints.end();
  bool atDebugState = space && space->debugState && at == space->debugState;
  if (!(known && it->second.armed)) {
    // Anything else must really be an int3 (SI_KERNEL), not a SIGTRAP sent
    // by someone, before we treat it as ours.
    siginfo_t info{};
    ::ptrace(PTRACE_GETSIGINFO, tid, 0, &info);
    if (info.si_code != SI_KERNEL || !(known || atDebugState)) {
      cont(tid, SIGTRAP); // the program's own
      return;
    }
  }
  if (atDebugState) {
    // _dl_debug_state is an empty function: perform its `ret` here.
    uint64_t sp = uint64_t(::ptrace(PTRACE_PEEKUSER, tid, x86_64::StackPointerOffset, 0));
    auto ret = space->readValue<uint64_t>(sp);
    if (ret) {
      setPc(tid, *ret);
      ::ptrace(PTRACE_POKEUSER, tid, x86_64::StackPointerOffset, sp + 8);
      onLinkMapChange(*space);
    }
    cont(tid);
    return;
  }
  // Put the byte back (unless another thread did first) and rerun the
  // instruction.
  Breakpoint &bp = it->second;
  if (bp.armed) {
    space->write(at, &bp.original, 1);
    bp.armed = false;
  }
  setPc(tid, at);
  if (task.followed)
    recordTouch(task, bp);
  cont(tid);
}

void RunRecorder::onNewTask(pid_t parent, int event) {
  unsigned long msg = 0;
  ::ptrace(PTRACE_GETEVENTMSG, parent, 0, &msg);
  pid_t child = pid_t(msg);
  Task &p = tasks[parent];
  Task &t = tasks[child];
  t.thread = nextThread++;
  if (event == PTRACE_EVENT_CLONE) {
    t.space = p.space;
    t.followed = p.followed;
  } else if (event == PTRACE_EVENT_VFORK) {
    t.space = p.space; // same memory until it execs
    t.vforkChild = true;
    t.followed = p.followed;
  } else {
    t.space = p.space->forkedInto(child);
    t.followed = options.followForks;
  }
  if (earlyStops.erase(child))
    onFirstStop(child);
  cont(parent);
}

void RunRecorder::release(pid_t tid, Task &task) {
  // A forked child we do not follow: every byte back, then let it go.
  task.space->restoreAll();
  ::ptrace(PTRACE_DETACH, tid, 0, 0);
}

void RunRecorder::onFirstStop(pid_t tid) {
  Task &task = tasks[tid];
  task.started = true;
  if (!task.followed && !task.vforkChild && task.space && task.space->pid == tid) {
    release(tid, task);
    tasks.erase(tid);
    return;
  }
  cont(tid);
}

void RunRecorder::stopEverything() {
  // Stop every task, then restore every byte in every address space.
  for (auto &[tid, task] : tasks)
    ::ptrace(PTRACE_INTERRUPT, tid, 0, 0);
  std::map<pid_t, int> pendingSignal;
  std::set<pid_t> waiting;
  for (auto &[tid, task] : tasks)
    waiting.insert(tid);
  while (!waiting.empty()) {
    int status = 0;
    pid_t tid = ::waitpid(-1, &status, __WALL);
    if (tid < 0) {
      if (errno == EINTR)
        continue;
      break;
    }
    if (WIFEXITED(status) || WIFSIGNALED(status)) {
      if (tid == leader)
        leaderStatus = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      waiting.erase(tid);
      tasks.erase(tid);
      continue;
    }
    if (!WIFSTOPPED(status))
      continue;
    int event = status >> 16, sig = WSTOPSIG(status);
    if (!tasks.count(tid)) {
      earlyStops.insert(tid);
      continue;
    }
    if (event == PTRACE_EVENT_CLONE || event == PTRACE_EVENT_FORK || event == PTRACE_EVENT_VFORK) {
      unsigned long msg = 0;
      ::ptrace(PTRACE_GETEVENTMSG, tid, 0, &msg);
      Task &t = tasks[pid_t(msg)];
      Task &p = tasks[tid];
      t.space = event == PTRACE_EVENT_FORK ? p.space->forkedInto(pid_t(msg)) : p.space;
      if (!earlyStops.erase(pid_t(msg)))
        waiting.insert(pid_t(msg));
    } else if (event == 0 && sig == SIGTRAP) {
      // A breakpoint hit on the way: rerun that instruction once restored.
      siginfo_t info{};
      ::ptrace(PTRACE_GETSIGINFO, tid, 0, &info);
      Space *space = tasks[tid].space.get();
      uint64_t at = pc(tid) - x86_64::BreakpointLength;
      if (info.si_code == SI_KERNEL && space &&
          (space->breakpoints.count(at) || at == space->debugState))
        setPc(tid, at);
      else
        pendingSignal[tid] = sig;
    } else if (event == 0) {
      pendingSignal[tid] = sig;
    }
    waiting.erase(tid);
  }
  std::set<Space *> spaces;
  for (auto &[tid, task] : tasks)
    if (task.space)
      spaces.insert(task.space.get());
  for (Space *s : spaces) {
    s->restoreAll();
    s->breakpoints.clear();
  }
  for (auto &[tid, task] : tasks)
    ::ptrace(PTRACE_DETACH, tid, 0, pendingSignal.count(tid) ? pendingSignal[tid] : 0);
  tasks.clear();
  if (options.killAtStop && !leaderStatus)
    ::kill(leader, SIGKILL);
}

Run RunRecorder::run(int &exitStatus) {
  result = Run();
  touched.assign(images.size(), {});
  for (uint32_t k = 0; k < images.size(); ++k) {
    ObjectRun o;
    o.object = k;
    result.objects.push_back(o);
    if (images[k].identified)
      touched[k].assign(images[k].table.functions.size(), false);
  }
  reportProgress();
  start = std::chrono::steady_clock::now();
  startProgram();

  bool earlyStop = false;
  while (!tasks.empty()) {
    if (options.durationSeconds > 0 && now() >= uint64_t(options.durationSeconds * 1e9) &&
        stopReason == StopReason::None)
      stopReason = StopReason::Duration;
    if (interruptRequested && stopReason == StopReason::None)
      stopReason = StopReason::Interrupt;
    if (stopReason != StopReason::None && leaderExeced) {
      earlyStop = true;
      stopEverything();
      break;
    }
    int status = 0;
    pid_t tid = ::waitpid(-1, &status, __WALL);
    if (tid < 0) {
      if (errno == EINTR)
        continue;
      break; // ECHILD: nothing left
    }
    if (WIFEXITED(status) || WIFSIGNALED(status)) {
      if (tid == leader) {
        if (WIFEXITED(status)) {
          result.exitCode = WEXITSTATUS(status);
          leaderStatus = WEXITSTATUS(status);
        } else {
          result.signal = WTERMSIG(status);
          leaderStatus = 128 + WTERMSIG(status);
        }
      }
      tasks.erase(tid);
      continue;
    }
    if (!WIFSTOPPED(status))
      continue;
    int event = status >> 16, sig = WSTOPSIG(status);
    auto it = tasks.find(tid);
    if (it == tasks.end()) {
      // A new task's first stop, before its parent's clone/fork event.
      earlyStops.insert(tid);
      continue;
    }
    switch (event) {
    case PTRACE_EVENT_EXEC:
      onExec(tid);
      break;
    case PTRACE_EVENT_CLONE:
    case PTRACE_EVENT_FORK:
    case PTRACE_EVENT_VFORK:
      onNewTask(tid, event);
      break;
    case PTRACE_EVENT_STOP:
      if (!it->second.started)
        onFirstStop(tid);
      else if (sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU)
        ::ptrace(PTRACE_LISTEN, tid, 0, 0); // job control: stay stopped until SIGCONT
      else
        cont(tid);
      break;
    case 0:
      if (sig == SIGTRAP)
        onTrap(tid);
      else
        cont(tid, sig);
      break;
    default:
      cont(tid);
    }
  }
  result.durationNs = now();
  result.threads = nextThread - 1;
  switch (stopReason) {
  case StopReason::Duration: result.stopReason = "duration"; break;
  case StopReason::Until: result.stopReason = "until"; break;
  case StopReason::Interrupt: result.stopReason = "interrupt"; result.partial = true; break;
  case StopReason::None:
    if (sawExecOfLeader) {
      result.stopReason = "exec";
      result.partial = true;
    } else if (result.signal) {
      result.stopReason = "signal";
      result.partial = true;
    } else {
      result.stopReason = "exit";
    }
  }
  if (earlyStop && !leaderStatus) {
    // Detached (or killed): the program is still our child; wait for it.
    int status = 0;
    while (::waitpid(leader, &status, 0) < 0 && errno == EINTR) {
    }
    leaderStatus = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (WIFEXITED(status))
      result.exitCode = WEXITSTATUS(status);
    else
      result.signal = WTERMSIG(status);
  }
  exitStatus = leaderStatus.value_or(0);
  return result;
}

/// The section holding each file offset, for naming page touches.
std::function<std::string(uint64_t)> sectionNamer(const ElfFile &file) {
  struct Range {
    uint64_t begin, end;
    std::string name;
  };
  std::vector<Range> ranges;
  uint64_t firstSection = UINT64_MAX;
  for (const Section &s : file.sections()) {
    if (!(s.flags() & llvm::ELF::SHF_ALLOC) || s.type() == llvm::ELF::SHT_NOBITS || s.size() == 0)
      continue;
    ranges.push_back({s.offset(), s.offset() + s.size(), s.name});
    firstSection = std::min(firstSection, s.offset());
  }
  std::sort(ranges.begin(), ranges.end(), [](auto &a, auto &b) { return a.begin < b.begin; });
  return [ranges, firstSection](uint64_t offset) -> std::string {
    auto it = std::upper_bound(ranges.begin(), ranges.end(), offset,
                               [](uint64_t o, const Range &r) { return o < r.begin; });
    if (it != ranges.begin() && offset < std::prev(it)->end)
      return std::prev(it)->name;
    return offset < firstSection ? "(headers)" : "(none)";
  };
}

/// The page pass of one run: the same command again, untraced but for page
/// faults, stopped where the recorded run stopped.
void tracePagesOfRun(const RecordOptions &options, const std::string &program,
                     const std::vector<ObjectImage> &images, Run &run) {
  std::vector<TracedFile> files;
  std::vector<uint32_t> objectOfFile;
  for (uint32_t k = 0; k < images.size(); ++k) {
    if (!images[k].identified)
      continue;
    auto key = fileKeyOf(images[k].identity.path);
    if (!key)
      continue;
    char real[PATH_MAX];
    std::string path = ::realpath(images[k].identity.path.c_str(), real) ? real : "";
    files.push_back({*key, path, sectionNamer(*images[k].file)});
    objectOfFile.push_back(k);
  }
  PageTraceOptions pageOptions;
  pageOptions.command = options.command;
  pageOptions.program = program;
  if (run.stopReason == "duration" || run.stopReason == "until" || run.stopReason == "interrupt")
    pageOptions.stopAfterNs = run.durationNs;
  PageTraceResult traced = tracePages(pageOptions, files);
  for (size_t i = 0; i < files.size(); ++i)
    run.objects[objectOfFile[i]].pages = std::move(traced.pages[i]);
  if (traced.info.lost)
    warn("page trace: the kernel dropped " + std::to_string(traced.info.lost) +
         " page-fault samples; the run's page touches are incomplete");
  if (pageOptions.stopAfterNs == 0 && (traced.info.exitCode != run.exitCode ||
                                       traced.info.signal != run.signal))
    warn("page trace: the second execution ended differently from the recorded one; its "
         "page touches may describe another path through the program");
  run.pageTrace = std::move(traced.info);
}

} // namespace

RecordResult record(const RecordOptions &options) {
  if (options.command.empty())
    fatal("no program to record", ExitUsage);
  std::string program = resolveProgram(options.command[0]);
  if (::access(program.c_str(), X_OK) != 0)
    fatal(program + ": not executable");

  std::vector<ObjectImage> images(1 + options.objects.size());
  images[0].wanted = "main";
  images[0].file = ElfFile::open(program);
  if (images[0].file->header().e_type != llvm::ELF::ET_EXEC &&
      images[0].file->header().e_type != llvm::ELF::ET_DYN)
    fatal(program + ": not an executable");
  images[0].identity = identifyObject("main", program);
  images[0].table = readFunctions(*images[0].file, options.finder);
  images[0].identity.functionSource = functionSourceName(images[0].table.source);
  images[0].identity.functions = images[0].table.functions.size();
  images[0].identified = true;
  if (images[0].table.functions.empty())
    warn(program + ": no functions found (no .symtab, .dynsym functions or .eh_frame); "
                   "nothing to record");
  for (size_t k = 0; k < options.objects.size(); ++k)
    images[k + 1].wanted = options.objects[k];

  // Ctrl-C, SIGTERM and SIGHUP end the recording, not elfopt; a periodic
  // timer bounds how long a pending stop waits in waitpid().
  struct sigaction sa{};
  sa.sa_handler = onInterrupt;
  sigemptyset(&sa.sa_mask);
  struct sigaction oldInt, oldTerm, oldHup, oldAlrm;
  ::sigaction(SIGINT, &sa, &oldInt);
  ::sigaction(SIGTERM, &sa, &oldTerm);
  ::sigaction(SIGHUP, &sa, &oldHup);
  sa.sa_handler = onTimer;
  ::sigaction(SIGALRM, &sa, &oldAlrm);
  itimerval tick{{0, 50000}, {0, 50000}};
  ::setitimer(ITIMER_REAL, &tick, nullptr);

  RecordResult out;
  out.profile.command = options.command;
  bool pagesFailed = false;
  for (unsigned r = 0; r < options.runs && !interruptRequested; ++r) {
    RunRecorder recorder(options, program, images, r + 1);
    int status = 0;
    out.profile.runs.push_back(recorder.run(status));
    if (out.exitStatus == 0)
      out.exitStatus = status;
    if (options.pages && !pagesFailed && !interruptRequested) {
      if (options.progress)
        options.progress("tracing the pages of run " + std::to_string(r + 1) + "/" +
                         std::to_string(options.runs));
      try {
        tracePagesOfRun(options, program, images, out.profile.runs.back());
      } catch (const FatalError &e) {
        warn(std::string(e.what()) + "; the profile has no page touches (record --no-pages "
                                     "skips this step)");
        pagesFailed = true;
      }
    }
  }

  itimerval off{};
  ::setitimer(ITIMER_REAL, &off, nullptr);
  ::sigaction(SIGINT, &oldInt, nullptr);
  ::sigaction(SIGTERM, &oldTerm, nullptr);
  ::sigaction(SIGHUP, &oldHup, nullptr);
  ::sigaction(SIGALRM, &oldAlrm, nullptr);

  for (size_t k = 0; k < images.size(); ++k) {
    ObjectImage &img = images[k];
    if (!img.identified) {
      warn("object '" + img.wanted + "' was never loaded; the profile records it as not loaded");
      img.identity.name = img.wanted;
    }
    out.profile.objects.push_back(img.identity);
  }
  return out;
}

Profile importSymbolList(const std::string &program, const std::vector<std::string> &names,
                         std::vector<std::string> *unknown) {
  auto file = ElfFile::open(program);
  FunctionTable table = readFunctions(*file);
  Profile p;
  p.command = {program};
  ObjectIdentity id = identifyObject("main", program);
  id.functionSource = functionSourceName(table.source);
  id.functions = table.functions.size();
  p.objects.push_back(id);
  std::unordered_map<std::string, const Function *> byName;
  for (const Function &f : table.functions)
    byName.emplace(f.name, &f);
  Run run;
  run.stopReason = "imported";
  run.threads = 1;
  ObjectRun o;
  o.loaded = true;
  std::set<std::string> seen;
  for (const std::string &n : names) {
    auto it = byName.find(n);
    if (it == byName.end()) {
      if (unknown)
        unknown->push_back(n);
      continue;
    }
    if (!seen.insert(n).second)
      continue;
    o.touches.push_back({n, it->second->address, it->second->size, o.touches.size(), 1});
  }
  run.objects.push_back(std::move(o));
  p.runs.push_back(std::move(run));
  return p;
}

} // namespace elfopt
