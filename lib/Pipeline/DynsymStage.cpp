//===- DynsymStage.cpp - the dynamic symbol passes, for edit and rewrite --===//
#include "DynsymStage.h"

#include "elfopt/Pipeline/Optimize.h"

namespace elfopt {

DynsymPasses runDynsymPasses(ElfEditor &editor, const std::optional<DynsortOptions> &dynsort, bool hashvals) {
  DynsymPasses passes = planDynsymPasses(editor, dynsort ? &*dynsort : nullptr, hashvals);
  editor.layout();
  finishDynsymPasses(editor, passes);
  return passes;
}

DynsymVerifyReport verifyDynsymPasses(const ElfFile &before, std::span<const uint8_t> bytes, const std::string &input,
                                      const std::string &inMemoryName) {
  auto after = ElfFile::viewOf(inMemoryName, bytes);
  DynsymVerifyReport report = verifyDynamicSymbols(before, *after);
  if (!report.ok())
    failVerification(input, "the dynamic symbol passes", report.problems);
  return report;
}

} // namespace elfopt
