// libFuzzer target: the profile reader, the order builder on what it reads,
// and the order-file reader. Parsing must either fail with a clear error or
// give a profile that writes back and reads again to the same JSON.
#include "elfopt/Order/Order.h"
#include "elfopt/Profile/Profile.h"
#include "elfopt/Support/Diagnostics.h"

#include <cstdlib>

using namespace elfopt;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static bool quiet = (setWarningsEnabled(false), true);
  (void)quiet;
  std::string text(reinterpret_cast<const char *>(data), size);
  try {
    (void)parseOrderFile(text, "fuzz");
  } catch (const FatalError &) {
  }
  Profile p;
  try {
    p = parseProfile(text, "fuzz");
  } catch (const FatalError &) {
    return 0;
  }
  std::string json = profileToJson(p);
  if (profileToJson(parseProfile(json, "again")) != json)
    std::abort();
  try {
    for (const ObjectIdentity &o : p.objects) {
      RunSet set = collectRuns({p}, {"fuzz"}, o.name, nullptr, nullptr, true);
      auto order = orderMarkov(set, set.runs, {});
      (void)orderToJson(set, order, {}, 1);
      (void)orderToGoldSections(set, order);
      (void)orderByMeanRank(set, set.runs);
    }
  } catch (const FatalError &) {
  }
  return 0;
}
