//===- DynsymStage.h - dynamic symbol passes, edit and rewrite -*- C++ -*-===//
#pragma once

#include "elfopt/Dynsym/Passes.h"
#include "elfopt/Verify/VerifyDynsym.h"

#include <optional>
#include <span>
#include <string>

namespace elfopt {

/// dynsort, then hashvals over the sorted names, planned on \p editor, laid
/// out and finished.
DynsymPasses runDynsymPasses(ElfEditor &editor, const std::optional<DynsortOptions> &dynsort, bool hashvals);

/// \p bytes (named \p inMemoryName) checked against \p before: the passes
/// must not change what the loader resolves. A failure stops the run,
/// naming \p input.
DynsymVerifyReport verifyDynsymPasses(const ElfFile &before, std::span<const uint8_t> bytes, const std::string &input,
                                      const std::string &inMemoryName);

} // namespace elfopt
