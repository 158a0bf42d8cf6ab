//===- HashModelCommand.cpp - elfopt hash-model ---------------------------===//
#include "CommandSupport.h"
#include "elfopt/Scope/LookupMix.h"
#include "elfopt/Hash/CostModel.h"
#include "elfopt/Hash/HashTables.h"
#include "elfopt/Support/Diagnostics.h"

#include <cstdio>

namespace elfopt {

const char HashModelUsage[] =
    "usage: elfopt hash-model FILE [--misses-per-hit R | --lookups-for PROGRAM] [--budget BYTES] [--json]\n\n"
    "The GNU hash table's cost to the dynamic linker, in 64-byte cache lines\n"
    "touched per lookup (see README.md, 'GNU hash cost model'), for FILE's\n"
    "table as it is, for what ld.bfd, ld.bfd -O1, gold, lld and mold would\n"
    "build for the same symbols, and for the cheapest shape under the budget.\n\n"
    "  --misses-per-hit R   unsuccessful lookups per successful one (default:\n"
    "                       estimated from FILE's own relocations; see\n"
    "                       README.md and bench/lookup-mix.sh to measure it)\n"
    "  --lookups-for PROGRAM  count the lookups FILE sees when PROGRAM starts\n"
    "                       (a simulation of the loader over its libraries)\n"
    "  --budget BYTES       largest table to consider (default: the size of\n"
    "                       FILE's table, so the result fits in place)\n"
    "  --json               print the figures as JSON\n";

int runHashModel(const std::vector<std::string> &args) {
  po::options_description opts;
  opts.add_options()("file", po::value<std::string>())("misses-per-hit", po::value<double>())(
      "budget", po::value<uint64_t>())("json", po::bool_switch())("lookups-for", po::value<std::string>());
  po::positional_options_description pos;
  pos.add("file", 1);
  auto vm = parse("hash-model", args, opts, pos);
  if (!vm.count("file"))
    throw UsageError{"hash-model", "missing FILE"};
  std::string path = vm["file"].as<std::string>();
  auto file = ElfFile::open(path);
  const Section *dynsym = file->findSectionOfType(llvm::ELF::SHT_DYNSYM);
  if (!dynsym)
    fatal(path + ": no dynamic symbols (a static file): nothing to model");
  auto syms = file->symbols(*dynsym);
  // The symbols a GNU hash table holds: the current table's, or else every
  // defined dynamic symbol.
  const Section *gnu = file->findSectionOfType(llvm::ELF::SHT_GNU_HASH);
  std::optional<GnuHashTable> current;
  if (gnu)
    current = parseGnuHash(file->contents(*gnu), syms.size(), file->where(*gnu));
  std::vector<uint32_t> hashes;
  for (size_t i = 1; i < syms.size(); ++i)
    if (current ? i >= current->symoffset : syms[i].isDefined())
      hashes.push_back(gnuHash(syms[i].name));
  CostModelOptions options;
  if (vm.count("misses-per-hit") && vm.count("lookups-for"))
    throw UsageError{"hash-model", "give --lookups-for or --misses-per-hit, not both"};
  LookupMix mix;
  std::string from = "option";
  if (vm.count("lookups-for")) {
    std::string program = vm["lookups-for"].as<std::string>();
    mix = simulateLookupMix(*file, program).mix;
    from = "a start of " + program;
  } else if (!vm.count("misses-per-hit")) {
    mix = estimateLookupMix(*file);
    from = "its own relocations";
  }
  options.missesPerHit = mix.missesPerHit();
  if (vm.count("misses-per-hit"))
    options.missesPerHit = vm["misses-per-hit"].as<double>();
  if (!(options.missesPerHit >= 0))
    throw UsageError{"hash-model", "--misses-per-hit must be >= 0"};
  uint32_t n = uint32_t(hashes.size());
  std::vector<std::pair<std::string, GnuHashCost>> rows;
  if (current) {
    GnuHashShape shape{current->nbuckets, uint32_t(current->bloom.size()), current->bloomShift};
    rows.emplace_back("current", costOf(hashes, shape, options));
    options.budgetBytes = rows.back().second.bytes;
  }
  if (vm.count("budget"))
    options.budgetBytes = vm["budget"].as<uint64_t>();
  rows.emplace_back("ld.bfd", costOf(hashes, bfdShape(n), options));
  rows.emplace_back("ld.bfd -O1", costOf(hashes, bfdOptimizedShape(hashes, syms.size()), options));
  rows.emplace_back("gold", costOf(hashes, goldShape(n), options));
  rows.emplace_back("lld", costOf(hashes, lldShape(n), options));
  rows.emplace_back("mold", costOf(hashes, moldShape(n), options));
  rows.emplace_back("elfopt", optimizeShape(hashes, options));
  if (vm["json"].as<bool>()) {
    json j;
    j["file"] = path;
    j["hashedSymbols"] = n;
    j["missesPerHit"] = options.missesPerHit;
    j["missesPerHitFrom"] = from;
    j["lookupsEstimated"] = {{"hits", mix.hits}, {"misses", mix.misses}};
    j["budgetBytes"] = options.budgetBytes;
    json tables = json::array();
    for (auto &[name, c] : rows)
      tables.push_back({{"table", name},
                        {"nbuckets", c.shape.nbuckets},
                        {"bloomWords", c.shape.bloomWords},
                        {"bloomShift", c.shape.bloomShift},
                        {"bytes", c.bytes},
                        {"falsePositiveRate", c.falsePositive},
                        {"missLines", c.missLines},
                        {"hitLines", c.hitLines},
                        {"weightedLines", c.weighted}});
    j["tables"] = tables;
    std::printf("%s\n", j.dump(2, ' ', false, json::error_handler_t::replace).c_str());
    return ExitOk;
  }
  std::printf("%s: %u hashed symbols; cost per resolved symbol = hit + %.2f x miss "
              "(64-byte lines)%s\n",
              path.c_str(), n, options.missesPerHit,
              options.budgetBytes ? (", budget " + std::to_string(options.budgetBytes) + " bytes").c_str() : "");
  if (!vm.count("misses-per-hit"))
    std::printf("  (%.2f: from %s, %llu lookups miss in it and %llu hit)\n", options.missesPerHit,
                from.c_str(), (unsigned long long)mix.misses, (unsigned long long)mix.hits);
  std::printf("  %-11s %8s %6s %5s %9s %8s %8s %8s %9s\n", "table", "buckets", "bloom", "shift",
              "bytes", "FP", "miss", "hit", "weighted");
  for (auto &[name, c] : rows)
    std::printf("  %-11s %8u %6u %5u %9llu %8.4f %8.4f %8.3f %9.3f\n", name.c_str(),
                c.shape.nbuckets, c.shape.bloomWords, c.shape.bloomShift,
                (unsigned long long)c.bytes, c.falsePositive, c.missLines, c.hitLines, c.weighted);
  return ExitOk;
}

} // namespace elfopt
