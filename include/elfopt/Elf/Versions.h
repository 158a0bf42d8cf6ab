//===- Versions.h - symbol versions of the dynamic symbols ------*- C++ -*-===//
//
// .gnu.version gives each dynamic symbol a version index; .gnu.version_d
// names the indices the file defines, .gnu.version_r those it needs. This
// reads them as far as lookups need them: each symbol's version name and
// whether it is hidden (a non-default version). walkVersionNames() is the
// one walk over the Verdef and Verneed chains: the lookups here and
// dynsort, which rewrites every name field, both go through it.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "elfopt/Elf/ElfFile.h"

#include "llvm/ADT/STLFunctionalExtras.h"

#include <cstdint>
#include <map>
#include <optional>
#include <span>
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

/// One field of a version section that names a string of its linked
/// string table (.dynstr).
struct VersionNameField {
  enum Kind : uint8_t {
    NeededFile, ///< Verneed vn_file: the object the versions are needed from
    Needed,     ///< Vernaux vna_name: a needed version
    Defined,    ///< Verdaux vda_name: the first names the version, the rest its parents
  } kind;
  uint64_t at;      ///< offset of the u32 field within the section
  uint32_t name;    ///< its value: the string's offset
  uint16_t version; ///< the version index (vna_other, vd_ndx); 0 for NeededFile
};

/// Where a version section ends short: the entry (or, if \p auxiliary, the
/// auxiliary entry) at offset \p at does not fit in it.
struct VersionTruncation {
  uint64_t at;
  bool auxiliary;
};

/// Walks the Verneed (\p needs) or Verdef chain in \p bytes, the contents
/// of .gnu.version_r or .gnu.version_d, and calls \p visit on each name
/// field in file order: a Verneed's vn_file, then its Vernaux names; a
/// Verdef's Verdaux names. \p visit returns false to skip the rest of the
/// current entry's auxiliary entries. Stops after 65536 entries (a loop of
/// vn_next/vd_next) or at the first entry that does not fit, and returns
/// where that was; the fields before it have been visited.
std::optional<VersionTruncation>
walkVersionNames(std::span<const uint8_t> bytes, bool needs,
                 llvm::function_ref<bool(const VersionNameField &)> visit);

} // namespace elfopt
