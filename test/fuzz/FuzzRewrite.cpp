// libFuzzer target: rewrite planning and verification, in memory, on mutated
// binaries linked with --emit-relocs, and on stripped release binaries
// without static relocations (jump tables found from the code). A mutated input either fails with a
// clear error (FatalError) or is rewritten; what is rewritten must load
// again, and verify must run on it without crashing. The order is every
// function, reversed, so that nearly everything moves. Then the prefetch
// stub goes into the rewritten file over the first functions' pages: the
// editor either refuses with a clear error or writes a file that loads, and
// the stub's own check must accept what the pass wrote.
//
// On hostile inputs (symbols that overlap pinned code, tables that disagree
// with each other) verify may dispute the rewrite: `elfopt rewrite` then
// refuses to write anything. That is the designed outcome, so here only
// crashes, leaks, undefined behaviour and unreadable outputs are findings;
// ELFOPT_FUZZ_STRICT=1 also aborts on a disputed rewrite, to hunt those.
#include "elfopt/Edit/ElfEditor.h"
#include "elfopt/Elf/Functions.h"
#include "elfopt/Prefetch/Prefetch.h"
#include "elfopt/Rewrite/Rewrite.h"
#include "elfopt/Support/Diagnostics.h"
#include "elfopt/Verify/Verify.h"
#include "elfopt/Verify/VerifyPrefetch.h"

#include <cstdio>
#include <cstdlib>

using namespace elfopt;

namespace {

void fuzzPrefetch(const ElfFile &file) {
  std::vector<uint8_t> bytes;
  try {
    std::vector<AddressRange> touched;
    for (const Function &f : readFunctions(file).functions)
      if (touched.size() < 64)
        touched.push_back({f.address, f.size});
    ElfEditor editor(file);
    PlannedPrefetch plan = planPrefetchStub(editor, mergePrefetchRanges(touched, {}));
    editor.layout();
    finishPrefetchStub(editor, plan);
    bytes = editor.serialize();
  } catch (const FatalError &) {
    return; // no room, no spare slot, a malformed table: refused, nothing written
  }
  std::unique_ptr<ElfFile> out;
  try {
    out = ElfFile::fromBytes("prefetch", {bytes.data(), bytes.size()});
  } catch (const FatalError &e) {
    std::fprintf(stderr, "file with the prefetch stub rejected: %s\n", e.what());
    std::abort();
  }
  PrefetchVerifyReport report;
  try {
    report = verifyPrefetchStub(file, *out);
  } catch (const FatalError &) {
    return;
  }
  static bool strict = std::getenv("ELFOPT_FUZZ_STRICT") != nullptr;
  if (!report.ok() && strict) {
    for (const std::string &p : report.problems)
      std::fprintf(stderr, "verify prefetch: %s\n", p.c_str());
    std::abort();
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static bool quiet = (setWarningsEnabled(false), true);
  (void)quiet;
  std::unique_ptr<ElfFile> file;
  RewriteResult result;
  try {
    file = ElfFile::fromBytes("fuzz", {data, size});
    RewriteOptions options;
    options.stripDebug = true;
    for (const Function &f : readFunctions(*file).functions)
      options.order.insert(options.order.begin(), f.address);
    result = rewriteText(*file, options);
  } catch (const FatalError &) {
    return 0;
  }
  std::unique_ptr<ElfFile> out;
  try {
    out = ElfFile::fromBytes("out", {result.bytes.data(), result.bytes.size()});
  } catch (const FatalError &e) {
    std::fprintf(stderr, "rewritten file rejected: %s\n", e.what());
    std::abort();
  }
  VerifyReport report;
  try {
    report = verifyRewrite(*file, *out);
  } catch (const FatalError &) {
    return 0; // a table verify reads again may be malformed in the input too
  }
  static bool strict = std::getenv("ELFOPT_FUZZ_STRICT") != nullptr;
  if (!report.ok() && strict) {
    for (const std::string &p : report.problems)
      std::fprintf(stderr, "verify: %s\n", p.c_str());
    std::abort();
  }
  fuzzPrefetch(*out);
  return 0;
}
