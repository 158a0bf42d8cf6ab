// libFuzzer target: the editor's growth path on mutated binaries. Adding a
// section (and a dynamic entry where there is room) either fails with a
// clear error or yields a file that elfopt itself reads back, with the new
// section where layout() said and the program headers still valid.
#include "elfopt/Dynsym/Dynsort.h"
#include "elfopt/Dynsym/Hashvals.h"
#include "elfopt/Verify/VerifyDynsym.h"
#include "elfopt/Edit/ElfEditor.h"
#include "elfopt/Support/Diagnostics.h"

#include <cstdlib>
#include <optional>

using namespace elfopt;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static bool quiet = (setWarningsEnabled(false), true);
  (void)quiet;
  std::unique_ptr<ElfFile> file;
  try {
    file = ElfFile::fromBytes("fuzz", {data, size});
  } catch (const FatalError &) {
    return 0;
  }
  std::vector<uint8_t> out;
  unsigned index = 0;
  uint64_t address = 0;
  try {
    ElfEditor editor(*file);
    NewSection s;
    s.name = ".elfopt.fuzz";
    s.data.assign(100, 0x5a);
    index = editor.addSection(s);
    if (editor.spareDynamicSlots() > 0)
      editor.addDynamicEntry(0x6ffffdf9, 1);
    editor.layout();
    address = editor.sectionAddress(index);
    out = editor.serialize();
  } catch (const FatalError &) {
    return 0;
  }
  // What we wrote must be a file we accept, with the section where planned.
  std::unique_ptr<ElfFile> again;
  try {
    again = ElfFile::fromBytes("out", {out.data(), out.size()});
  } catch (const FatalError &e) {
    std::fprintf(stderr, "output rejected: %s\n", e.what());
    std::abort();
  }
  // dynsort and hashvals on the same input: a clear error, or an output
  // that loads again.
  try {
    ElfEditor sorter(*file);
    DynsortOptions options;
    if (size % 2) // also the path that moves a larger table to a new segment
      options.budgetBytes = 1 << 20;
    DynsortResult sorted = dynsort(sorter, options);
    std::optional<unsigned> hv;
    if (sorter.spareDynamicSlots() > 0)
      hv = addHashvals(sorter, &sorted.names);
    sorter.layout();
    finishDynsort(sorter, sorted);
    if (hv)
      finishHashvals(sorter, *hv);
    auto bytes = sorter.serialize();
    auto sortedFile = ElfFile::fromBytes("sorted", {bytes.data(), bytes.size()});
    // What dynsort wrote must mean what the input meant. On hostile inputs
    // (tables that disagree with each other) the check may dispute it; the
    // commands then write nothing, which is the designed outcome, so only
    // ELFOPT_FUZZ_STRICT=1 stops there, to hunt those.
    static bool strict = std::getenv("ELFOPT_FUZZ_STRICT") != nullptr;
    DynsymVerifyReport check = verifyDynamicSymbols(*file, *sortedFile);
    if (!check.ok() && strict) {
      for (const std::string &p : check.problems)
        std::fprintf(stderr, "verify dynamic symbols: %s\n", p.c_str());
      std::abort();
    }
  } catch (const FatalError &) {
  }
  const Section *added =
      index < again->sections().size() ? &again->sections()[index] : nullptr;
  if (added && added->name != ".elfopt.fuzz")
    added = nullptr;
  if (!added || added->addr() != address || added->size() != 100 ||
      again->contents(*added)[0] != 0x5a) {
    std::fprintf(stderr, "new section lost: found %d, address %llx (planned %llx)\n", added != nullptr,
                 added ? (unsigned long long)added->addr() : 0ull, (unsigned long long)address);
    std::abort();
  }
  return 0;
}
