//===- PackRelocs.h - relative relocations packed as DT_RELR ----*- C++ -*-===//
//
// `rewrite --pack-relative-relocs` does after the link what
// `ld -z pack-relative-relocs` does at it. Each R_X86_64_RELATIVE entry of
// .rela.dyn (24 bytes) becomes a bit of DT_RELR (one 8-byte address, then
// 63 words per 8-byte bitmap), and its addend is written into the word it
// relocates, which glibc's loader then adds the load base to. The loader
// reads a fraction of the bytes, and its loop over them is shorter.
//
// Nothing moves: the remaining RELA entries keep their order at the start
// of .rela.dyn, and .relr.dyn takes the bytes after them. A RELATIVE entry
// stays a RELA entry where RELR cannot say the same thing: an odd address,
// a word outside the file's bytes (.bss) or outside writable memory, or a
// word another relocation also writes.
//
// glibc (2.36 and later) refuses DT_RELR in an object that needs libc.so
// without the version need GLIBC_ABI_DT_RELR; older ones ignore DT_RELR and
// would run with unrelocated words. So the pass adds that need (under
// libc.so.6's Verneed), which makes an older glibc refuse the file by name
// instead. The need and its string go into copies of .gnu.version_r and
// .dynstr, in the freed bytes of .rela.dyn when they fit, else in a new
// read-only segment.
//
// Refused, with one reason, and nothing written: no .dynamic or no
// libc.so.* in DT_NEEDED (static programs, ld.so, libc itself), a file that
// already has DT_RELR, DT_RELA that is not exactly one SHT_RELA section, no
// room in .dynamic for the three new entries (DT_RELACOUNT's slot is
// reused), or a glibc older than 2.36 on this machine.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "elfopt/Edit/ElfEditor.h"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace elfopt {

/// The SHT_RELR words that relocate \p addresses (sorted, unique, each a
/// multiple of 8; anything else is an internal error): an address entry
/// starts a run, and each bitmap after it marks which of the next 63 words
/// are relocated too. The encoding lld and GNU ld produce.
std::vector<uint64_t> encodeRelr(std::span<const uint64_t> addresses);

/// Instructions glibc's loop over DT_RELR (elf/dynamic-link.h,
/// ELF_DYNAMIC_DO_RELR; counted in Debian 12's ld.so, glibc 2.36) executes
/// for \p relr: 9 per address entry; 10 per bitmap, plus 5 for each bit up
/// to its highest set one and 1 more for each set bit. The loop shifts a
/// bitmap until nothing is left in it, so a sparse bitmap costs its zeros.
uint64_t relrLoaderInstructions(std::span<const uint64_t> relr);

/// What encodeRelrForLoader() minimises: the loader's instructions plus one
/// for each byte of the table (8 per entry), since the loader also streams
/// the table through the cache.
uint64_t relrEncodingCost(std::span<const uint64_t> relr);

/// The same words encoded for the loader: where a bitmap would carry a run
/// of zeros, or mark only a few words, new address entries may do instead.
/// Found by dynamic programming over where each run starts and where its
/// bitmaps stop (runs of up to 8 bitmaps, cut only after a gap); on each
/// stretch between gaps of two windows or more, the linkers' encoding is
/// kept unless this one costs less by relrEncodingCost().
std::vector<uint64_t> encodeRelrForLoader(std::span<const uint64_t> addresses);

/// The version glibc wants an object with DT_RELR to need.
inline constexpr const char *RelrVersionName = "GLIBC_ABI_DT_RELR";

/// What the pass did, for reports.
struct PackReport {
  uint64_t relativeBefore = 0;  ///< R_X86_64_RELATIVE entries in DT_RELA
  uint64_t packed = 0;          ///< of those, now in DT_RELR
  uint64_t keptUnaligned = 0;   ///< kept as RELA: odd address
  uint64_t keptNotInFile = 0;   ///< kept: the word is not file bytes of a writable segment
  uint64_t keptShared = 0;      ///< kept: another relocation writes the same word
  uint64_t relaBytesBefore = 0, relaBytesAfter = 0;
  uint64_t relrBytes = 0;
  uint64_t relrBytesAsLinkers = 0;        ///< encodeRelr's encoding (lld, GNU ld)
  uint64_t relrLoaderInstructions = 0;    ///< of the encoding written
  uint64_t relrLoaderInstructionsAsLinkers = 0;
  bool versionNeedAdded = false; ///< false: the file already needed GLIBC_ABI_DT_RELR
  bool newSegment = false;       ///< the version tables did not fit in the freed bytes
};

/// The part of the pass that runs before the editor's layout.
struct PlannedPack {
  PackReport report;
  std::optional<unsigned> dynstrCopy, verneedCopy; ///< added sections, if any
};

/// Why \p file cannot be packed; nullopt when it can.
std::optional<std::string> packRefusal(const ElfFile &file);

/// Packs \p editor's input: rewrites .rela.dyn, adds .relr.dyn and the
/// version need, and fills dynamic entries. Fatal error (naming the file)
/// when packRefusal() gives a reason. Call finishPack() after layout().
PlannedPack planPack(ElfEditor &editor);
void finishPack(ElfEditor &editor, const PlannedPack &plan);

} // namespace elfopt
