//===- Edit.h - `elfopt edit` as one library call ---------------*- C++ -*-===//
//
// editFile() is `elfopt edit` without the command line: the low-level edits
// (new sections, dynamic entries) and the dynamic symbol passes on one
// editor, checked by verifyDynamicSymbols() when those passes ran. It
// writes nothing; writeOutput() (Optimize.h) does.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "elfopt/Dynsym/Dynsort.h"
#include "elfopt/Edit/ElfEditor.h"
#include "elfopt/Elf/ElfFile.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace elfopt {

/// A section with a file's bytes: read-only, or code.
struct SectionToAdd {
  std::string name, path;
  bool code = false;
};

/// A dynamic entry for a spare DT_NULL slot: \p value, or the address of
/// the added section \p section when it is not empty.
struct DynamicToAdd {
  int64_t tag = 0;
  uint64_t value = 0;
  std::string section;
};

struct EditOptions {
  std::vector<SectionToAdd> sections;
  std::vector<DynamicToAdd> dynamics; ///< a section they name must be among sections
  std::optional<DynsortOptions> dynsort;
  bool hashvals = false;
};

struct EditResult {
  std::vector<uint8_t> bytes;
  LayoutSummary layout;
  std::optional<DynsortResult> sorted;
};

/// \p outputName names the result in verification problems. A file without
/// dynamic symbols gets the other edits, with a warning for dynsort and
/// hashvals.
EditResult editFile(const ElfFile &in, const EditOptions &options, const std::string &outputName);

} // namespace elfopt
