// libFuzzer target: GNU and SysV hash table parsing and figures. The first
// four bytes give the dynamic symbol count, the rest is the table.
#include "elfopt/Hash/HashTables.h"
#include "elfopt/Support/Diagnostics.h"

#include <cstring>

using namespace elfopt;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 4)
    return 0;
  uint32_t count;
  std::memcpy(&count, data, 4);
  count %= 1 << 20;
  std::span<const uint8_t> table(data + 4, size - 4);
  try {
    (void)computeStats(parseGnuHash(table, count, "fuzz"));
  } catch (const FatalError &) {
  }
  try {
    (void)computeStats(parseSysvHash(table, count, "fuzz"));
  } catch (const FatalError &) {
  }
  return 0;
}
