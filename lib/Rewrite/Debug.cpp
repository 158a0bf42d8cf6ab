//===- Debug.cpp - can the debug info follow the new layout? --------------===//
//
// Addresses in DWARF that relocations cover (DW_AT_low_pc, DW_LNE_set_address,
// .debug_addr, range lists) are carried along with the code they name. What
// no relocation covers are the distances: a line-table sequence advances by
// deltas, a unit's DW_AT_high_pc is a length. They stay right only if the
// range they span moves as one piece. Built with -ffunction-sections each
// function has its own sequence and range; without it one sequence spans a
// whole object's .text, and moving its functions apart would leave line
// numbers silently wrong. This finds such ranges.
//
//===----------------------------------------------------------------------===//
#include "Internal.h"

#include "elfopt/Support/Diagnostics.h"

#include <cerrno>
#include <cstring>
#include <functional>

#include <sys/wait.h>
#include <unistd.h>

#include "llvm/DebugInfo/DWARF/DWARFContext.h"
#include "llvm/DebugInfo/DWARF/DWARFDebugLine.h"
#include "llvm/Object/ELFObjectFile.h"

namespace elfopt::rewrite {

constexpr uint64_t MaxDecompressionRatio = 1100; // zlib's limit is 1032:1

namespace {

// LLVM's DWARF reader trusts its input: fuzzing found malformed units that
// make it read out of bounds (DataExtractor::getULEB128, DWARFFormValue).
// So it runs in a child process, where such a crash becomes an error message
// instead of ours. The child sends back one byte (0: no problem, 1: a
// problem, followed by its text).
std::optional<std::string> inChildProcess(const std::function<std::optional<std::string>()> &work) {
  const std::string failed = "its debug info cannot be read (LLVM's DWARF reader failed on it)";
  int fds[2];
  if (::pipe(fds) != 0)
    fatal("cannot create a pipe to read debug info: " + std::string(std::strerror(errno)));
  pid_t pid = ::fork();
  if (pid < 0)
    fatal("cannot fork to read debug info: " + std::string(std::strerror(errno)));
  if (pid == 0) {
    ::close(fds[0]);
    std::string out;
    try {
      auto problem = work();
      out = problem ? "1" + *problem : "0";
    } catch (...) {
      ::_exit(1);
    }
    for (size_t done = 0; done < out.size();) {
      ssize_t n = ::write(fds[1], out.data() + done, out.size() - done);
      if (n <= 0 && errno != EINTR)
        ::_exit(1);
      done += n > 0 ? size_t(n) : 0;
    }
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string got;
  char buffer[4096];
  for (;;) {
    ssize_t n = ::read(fds[0], buffer, sizeof buffer);
    if (n > 0)
      got.append(buffer, size_t(n));
    else if (n == 0 || errno != EINTR)
      break;
  }
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || got.empty())
    return failed;
  if (got[0] == '0')
    return std::nullopt;
  return got.substr(1);
}

} // namespace

std::optional<std::string> debugInfoProblem(const ElfFile &in, const std::vector<Block> &blocks) {
  const Section *info = in.findSection(".debug_info");
  const Section *line = in.findSection(".debug_line");
  if ((!info || info->size() == 0) && (!line || line->size() == 0))
    return std::nullopt;
  if (blocks.empty())
    return std::nullopt;

  uint64_t textStart = blocks.front().start, textEnd = blocks.back().end;
  uint64_t spanning = 0;
  std::string example;
  auto check = [&](uint64_t lo, uint64_t hi, const std::string &what) {
    if (hi <= lo || lo < textStart || hi > textEnd)
      return;
    size_t a = blockAt(blocks, lo), b = blockAt(blocks, hi - 1);
    for (size_t k = a; k < b; ++k)
      if (blocks[k].group != blocks[k + 1].group && !(!blocks[k].pinned.empty() && !blocks[k + 1].pinned.empty())) {
        if (example.empty())
          example = what + " [" + hex(lo) + ", " + hex(hi) + ")";
        ++spanning;
        return;
      }
  };

  // LLVM's DWARF reader decompresses every compressed section up front, to
  // the size its header claims; a hostile header would have it allocate
  // gigabytes. Real debug sections compress a few times, never a thousand.
  for (const Section &s : in.sections()) {
    if (!(s.flags() & llvm::ELF::SHF_COMPRESSED))
      continue;
    auto data = in.contents(s);
    ELFT::Chdr chdr;
    if (data.size() < sizeof(chdr))
      return "its debug info cannot be read: compressed section " + s.name + " has no header";
    std::memcpy(&chdr, data.data(), sizeof(chdr));
    uint64_t claimed = chdr.ch_size;
    if (claimed > MaxDecompressionRatio * data.size() + (1u << 20))
      return "its debug info cannot be read: compressed section " + s.name + " claims " +
             std::to_string(claimed) + " bytes from " + std::to_string(data.size());
  }

  return inChildProcess([&]() -> std::optional<std::string> {
  auto bytes = in.bytes();
  llvm::MemoryBufferRef ref(llvm::StringRef(reinterpret_cast<const char *>(bytes.data()), bytes.size()),
                            in.name());
  auto object = llvm::object::ELF64LEObjectFile::create(ref);
  if (!object) {
    llvm::consumeError(object.takeError());
    return "its debug info cannot be read";
  }
  unsigned errors = 0;
  auto onError = [&](llvm::Error e) {
    ++errors;
    llvm::consumeError(std::move(e));
  };
  auto context = llvm::DWARFContext::create(*object, llvm::DWARFContext::ProcessDebugRelocations::Ignore,
                                            nullptr, "", onError, onError);
  for (const auto &unit : context->compile_units()) {
    std::string name = unit->getUnitDIE(false).getShortName() ? unit->getUnitDIE(false).getShortName() : "?";
    if (const auto *table = context->getLineTableForUnit(unit.get()))
      for (const auto &seq : table->Sequences)
        check(seq.LowPC, seq.HighPC, "a line-table sequence of " + name);
    auto ranges = unit->collectAddressRanges();
    if (!ranges) {
      ++errors;
      llvm::consumeError(ranges.takeError());
      continue;
    }
    for (const auto &r : *ranges)
      check(r.LowPC, r.HighPC, "an address range of " + name);
  }
  if (spanning)
    return std::to_string(spanning) + " debug-info ranges span functions that move apart (first: " +
           example + ")";
  if (errors)
    return "its debug info has " + std::to_string(errors) + " errors";
  return std::nullopt;
  });
}

} // namespace elfopt::rewrite
