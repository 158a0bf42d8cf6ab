// libFuzzer target: ELF loading, inspect (text and JSON), function
// boundaries, and the editor's unedited round trip, on arbitrary bytes.
// A FatalError is the expected answer to bad input; anything else (a crash,
// a sanitizer report, a round trip that differs) is a finding.
#include "elfopt/Edit/ElfEditor.h"
#include "elfopt/Elf/Functions.h"
#include "elfopt/Inspect/Inspect.h"
#include "elfopt/Support/Diagnostics.h"

#include <cstdlib>

using namespace elfopt;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static bool quiet = (setWarningsEnabled(false), true);
  (void)quiet;
  auto buffer = llvm::MemoryBuffer::getMemBufferCopy(
      llvm::StringRef(reinterpret_cast<const char *>(data), size), "fuzz");
  std::unique_ptr<ElfFile> file;
  try {
    file = ElfFile::fromBuffer("fuzz", std::move(buffer));
  } catch (const FatalError &) {
    return 0;
  }
  try {
    auto report = inspect(*file);
    (void)renderInspectText(report);
    (void)report.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  } catch (const FatalError &) {
  }
  try {
    (void)readFunctions(*file);
  } catch (const FatalError &) {
  }
  ElfEditor editor(*file);
  auto out = editor.serialize();
  if (out.size() != size || std::memcmp(out.data(), data, size) != 0)
    std::abort(); // an unedited file must come back byte-identical
  return 0;
}
