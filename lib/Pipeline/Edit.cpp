//===- Edit.cpp - `elfopt edit` as one library call -----------------------===//
#include "elfopt/Pipeline/Edit.h"

#include "DynsymStage.h"
#include "elfopt/Support/Diagnostics.h"
#include "elfopt/Support/InputFile.h"

#include <map>

namespace elfopt {

namespace {

// Adds the sections; returns their indices by name, for dynamic entries
// that hold a section's address.
std::map<std::string, unsigned> addSections(ElfEditor &editor, const std::vector<SectionToAdd> &sections) {
  std::map<std::string, unsigned> byName;
  for (const SectionToAdd &spec : sections) {
    NewSection s;
    s.name = spec.name;
    if (spec.code)
      s.flags |= llvm::ELF::SHF_EXECINSTR;
    std::string contents = readFileContents(spec.path);
    s.data.assign(contents.begin(), contents.end());
    s.align = 16;
    byName[spec.name] = editor.addSection(std::move(s));
  }
  return byName;
}

} // namespace

EditResult editFile(const ElfFile &in, const EditOptions &options, const std::string &outputName) {
  ElfEditor editor(in);
  std::map<std::string, unsigned> addedByName = addSections(editor, options.sections);
  for (const DynamicToAdd &d : options.dynamics)
    editor.addDynamicEntry(d.tag, d.section.empty() ? d.value : 0);
  // A statically linked file has no dynamic symbols: nothing to sort or
  // hash. Say so and go on (the output is the input, plus other edits).
  bool hasDynsym = in.findSectionOfType(llvm::ELF::SHT_DYNSYM) != nullptr;
  if (!hasDynsym) {
    if (options.dynsort)
      warn(in.name() + ": no dynamic symbols (statically linked): --dynsort has nothing to do");
    if (options.hashvals)
      warn(in.name() + ": no dynamic symbols (statically linked): --add-hashvals has nothing to do");
  }
  DynsymPasses passes;
  if (hasDynsym)
    passes = runDynsymPasses(editor, options.dynsort, options.hashvals);
  EditResult result;
  result.layout = editor.layout();
  result.sorted = passes.sorted;
  for (const DynamicToAdd &d : options.dynamics)
    if (!d.section.empty())
      editor.setDynamicEntry(d.tag, editor.sectionAddress(addedByName.at(d.section)));
  result.bytes = editor.serialize();
  if (passes.any())
    verifyDynsymPasses(in, result.bytes, in.name(), outputName + " (in memory)");
  return result;
}

} // namespace elfopt
