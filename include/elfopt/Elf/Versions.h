//===- Versions.h - symbol versions of the dynamic symbols ------*- C++ -*-===//
//
// .gnu.version gives each dynamic symbol a version index; .gnu.version_d
// names the indices the file defines, .gnu.version_r those it needs. This
// reads them as far as lookups need them: each symbol's version name and
// whether it is hidden (a non-default version).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "elfopt/Elf/ElfFile.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace elfopt {

struct SymbolVersions {
  std::vector<uint16_t> versym; ///< per .dynsym entry; empty: unversioned
  std::map<uint16_t, std::string> names;

  /// The version name of entry \p i (defined or needed); null: none.
  const std::string *name(uint32_t i) const;
  bool hidden(uint32_t i) const { return i < versym.size() && (versym[i] & 0x8000); }
  /// Whether definition \p i answers a lookup asking for \p wanted (null:
  /// no version), as glibc's check_match decides.
  bool matches(uint32_t i, const std::string *wanted) const;
};

/// Reads the version tables of \p file for its \p symbolCount dynamic
/// symbols, those its DT_VERSYM, DT_VERDEF and DT_VERNEED point at. Malformed tables leave the result empty (unversioned): callers
/// use it for advice and checks, never to write.
SymbolVersions readSymbolVersions(const ElfFile &file, size_t symbolCount);

} // namespace elfopt
