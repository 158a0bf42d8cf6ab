//===- EhFrame.h - .eh_frame FDEs, LSDA landing pads, .eh_frame_hdr -*- C++ -*-===//
//
// The format is the LSB's (Linux Standard Base, "Exception Frames"); the
// LSDA is GCC's (libgcc/unwind-dw2-fde.c, libstdc++ eh_personality.cc).
// Only what moving code needs: where each FDE's pc_begin field is, the range
// it covers, and the landing pads its LSDA names.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "elfopt/Elf/ElfFile.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <vector>

namespace elfopt {

struct Fde {
  uint64_t recordAddress = 0; ///< of the FDE's length field
  uint64_t fieldAddress = 0;  ///< of pc_begin
  uint8_t encoding = 0;       ///< DW_EH_PE_* of pc_begin
  uint64_t pcBegin = 0, pcEnd = 0;
  std::vector<uint64_t> landingPads; ///< addresses, from the LSDA
  /// The LSDA's bytes [lsdaBegin, lsdaEnd): its header, call-site table,
  /// action records and type table, none of which holds a code address
  /// (call sites and landing pads are offsets from the function's start,
  /// the type table points at type_info objects). Empty where the LSDA
  /// gives its own landing pad base (an explicit LPStart, an address) or
  /// its action records cannot be followed.
  uint64_t lsdaBegin = 0, lsdaEnd = 0;
};

/// The field of a DW_EH_PE-encoded pointer: its width in bytes and whether
/// it is sign-extended.
struct EncodedPointerFormat {
  uint8_t size = 0;
  bool isSigned = false;
};

/// The field format of pointer encoding \p encoding (its low four bits);
/// nullopt for the LEB128 formats, which have no fixed width, and for
/// formats the LSB does not define.
std::optional<EncodedPointerFormat> encodedPointerFormat(uint8_t encoding);

/// Every FDE of .eh_frame (empty without one). Throws FatalError naming the
/// file on a malformed record.
std::vector<Fde> readEhFrame(const ElfFile &in);

/// Rewrites .eh_frame_hdr's search table in place (same entries), each
/// FDE's initial location passed through \p newAddress, sorted again.
void rebuildEhFrameHdr(const ElfFile &in, const std::vector<Fde> &fdes, std::span<uint8_t> hdr,
                       const std::function<uint64_t(uint64_t)> &newAddress);

/// The search table of .eh_frame_hdr: (initial location, FDE address) pairs.
std::vector<std::pair<uint64_t, uint64_t>> readEhFrameHdr(const ElfFile &in);

} // namespace elfopt
