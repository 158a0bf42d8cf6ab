//===- RoundTrip.cpp - load -> editor -> serialize over many files --------===//
//
// elfopt-roundtrip FILE...: for each file, what `elfopt edit FILE -o OUT`
// does with no edit (ElfFile::open, ElfEditor, serialize), and one line of
// tab-separated fields:
//   identical SIZE PATH      the output is byte-identical to the input
//   differs SIZE PATH        it is not
//   refused CODE PATH MSG    open() stopped with FatalError; MSG is what(),
//                            which the driver prints as "elfopt: error: MSG"
//   internal 0 PATH MSG      any other exception: a bug
// edit-roundtrip-system.sh runs every ELF file of the system through it.
// One process for thousands of files: starting elfopt once per file (the
// loader binding libLLVM, the sanitizers' start-up) cost more than the work.
//
//===----------------------------------------------------------------------===//
#include "elfopt/Edit/ElfEditor.h"
#include "elfopt/Elf/ElfFile.h"
#include "elfopt/Support/Diagnostics.h"

#include <algorithm>
#include <cstdio>
#include <exception>
#include <string>

using namespace elfopt;

int main(int argc, char **argv) {
  setWarningsEnabled(false);
  for (int i = 1; i < argc; ++i) {
    std::string path = argv[i];
    try {
      auto file = ElfFile::open(path);
      ElfEditor editor(*file);
      std::vector<uint8_t> bytes = editor.serialize();
      auto in = file->bytes();
      bool same = bytes.size() == in.size() && std::equal(bytes.begin(), bytes.end(), in.begin());
      std::printf("%s\t%zu\t%s\n", same ? "identical" : "differs", in.size(), path.c_str());
    } catch (const FatalError &e) {
      std::printf("refused\t%d\t%s\t%s\n", int(e.code), path.c_str(), e.what());
    } catch (const std::exception &e) {
      std::printf("internal\t0\t%s\t%s\n", path.c_str(), e.what());
    }
    std::fflush(stdout);
  }
  return 0;
}
