//===- VerifyPrefetch.h - check an added prefetch stub ----------*- C++ -*-===//
//
// `rewrite --prefetch` adds a stub (.elfopt.prefetch) that runs first and
// then continues where the file used to start. This check reads the output
// on its own terms, sharing nothing with the pass but the x86-64 decoder:
//   - the stub is reached from e_entry or DT_INIT, and lies in an
//     executable PT_LOAD;
//   - it saves the flags and every register it writes, and restores them;
//   - between that, only RIP-relative lea/mov immediates/syscall groups:
//     each lea names a page-aligned address the file loads;
//   - it ends in a jump to the original entry point (or DT_INIT), or, for
//     a library that had no DT_INIT, a return;
//   - every section of the file before the stub has the same contents
//     after it, and .dynamic differs only in DT_INIT and in the addresses of
//     sections the editor moved.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "elfopt/Elf/ElfFile.h"

#include <cstdint>
#include <string>
#include <vector>

namespace elfopt {

struct PrefetchVerifyReport {
  bool present = false; ///< \p after has a prefetch stub
  uint64_t ranges = 0, bytes = 0;
  std::string runsFrom; ///< "e_entry" or "DT_INIT"
  std::vector<std::string> problems;
  bool ok() const { return problems.empty(); }
};

/// \p before: the file without the stub; \p after: with it. With
/// \p textMoved (\p before is the original of a reordered file, as
/// `elfopt verify ORIGINAL REWRITTEN` sees it), only the stub itself is
/// checked, and it must continue into an executable section.
PrefetchVerifyReport verifyPrefetchStub(const ElfFile &before, const ElfFile &after, bool textMoved = false);

/// `rewrite --new-segment`'s first step: \p after is \p before with room
/// added for the ordered code (the section \p room, int3 bytes in an
/// executable PT_LOAD). Checks that, and that every section of \p before
/// has the same contents after it, and .dynamic differs only in the
/// addresses of sections the editor moved (as for a stub). Problems, none
/// when it holds.
std::vector<std::string> verifyAddedRoom(const ElfFile &before, const ElfFile &after, const std::string &room);

/// Whether \p file has a prefetch stub section.
bool hasPrefetchStub(const ElfFile &file);

} // namespace elfopt
