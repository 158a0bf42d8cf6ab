//===- ReportCommand.cpp - elfopt report ----------------------------------===//
#include "CommandSupport.h"
#include "elfopt/Hash/HashTables.h"
#include "elfopt/Order/Evaluate.h"
#include "elfopt/Report/Report.h"
#include "elfopt/Support/Diagnostics.h"
#include "elfopt/Support/InputFile.h"
#include "elfopt/Support/OutputFile.h"

#include <algorithm>
#include <cstdio>

namespace elfopt {

const char ReportUsage[] =
    "usage: elfopt report ORIGINAL REWRITTEN PROFILE... -o REPORT.html [options]\n\n"
    "Writes one self-contained HTML page (no scripts, no network): a map of\n"
    ".text's pages touched at startup in ORIGINAL and in REWRITTEN (PROFILEs\n"
    "are ORIGINAL's recorded runs; functions are found in REWRITTEN by name),\n"
    "the evaluate figures of both, their GNU hash figures, and what the rewrite\n"
    "kept in place or moved together, and why.\n\n"
    "  -o, --output FILE     the HTML file to write\n"
    "  --rewrite-json FILE   the output of 'elfopt rewrite --json'\n"
    "  --object NAME         which object of the profiles: its name, or the end\n"
    "                        of its path, such as libxul.so (default: main)\n"
    "  --allow-mismatch      accept profiles of another build (match by name)\n"
    "  --after-profile FILE  a profile recorded on REWRITTEN: its page trace is\n"
    "                        drawn beside ORIGINAL's (time against file offset)\n"
    "  --measure-json FILE   the output of 'elfopt measure --compare --json',\n"
    "                        shown next to the page traces\n";

static std::string gnuHashLine(const ElfFile &file) {
  const Section *gnu = file.findSectionOfType(llvm::ELF::SHT_GNU_HASH);
  const Section *dynsym = file.findSectionOfType(llvm::ELF::SHT_DYNSYM);
  if (!gnu || !dynsym || dynsym->header.sh_entsize == 0)
    return "";
  GnuHashTable t = parseGnuHash(file.contents(*gnu), dynsym->size() / dynsym->header.sh_entsize, file.where(*gnu));
  HashTableStats st = computeStats(t);
  char line[256];
  std::snprintf(line, sizeof line,
                "%llu symbols, %llu buckets, %llu bloom words (shift %llu), false positives %.4f, "
                "mean probes: hit %.3f, miss %.3f",
                (unsigned long long)st.symbols, (unsigned long long)st.nbuckets,
                (unsigned long long)st.bloomWords, (unsigned long long)st.bloomShift,
                st.falsePositiveRate, st.meanProbesHit, st.meanProbesMiss);
  return line;
}

int runReport(const std::vector<std::string> &args) {
  po::options_description opts;
  opts.add_options()("original", po::value<std::string>())("rewritten", po::value<std::string>())(
      "profiles", po::value<std::vector<std::string>>())("output,o", po::value<std::string>())(
      "rewrite-json", po::value<std::string>())("object", po::value<std::string>())(
      "allow-mismatch", po::bool_switch())("after-profile", po::value<std::string>())(
      "measure-json", po::value<std::string>());
  po::positional_options_description pos;
  pos.add("original", 1).add("rewritten", 1).add("profiles", -1);
  auto vm = parse("report", args, opts, pos);
  if (!vm.count("original") || !vm.count("rewritten") || !vm.count("output"))
    throw UsageError{"report", "give ORIGINAL, REWRITTEN, the profiles and -o REPORT.html"};
  std::string original = vm["original"].as<std::string>();
  std::string rewritten = vm["rewritten"].as<std::string>();
  std::vector<std::string> paths = profilePaths("report", vm); // a usage error before any file
  auto before = ElfFile::open(original);
  OrderInputs inputs = loadOrderInputs(paths, profileMatch(vm), before.get());
  auto after = ElfFile::open(rewritten);
  FunctionTable afterTable = readFunctions(*after);
  TextLayout layouts[2] = {TextLayout::original(inputs.table), TextLayout::byName(inputs.table, afterTable)};
  const ElfFile *files[2] = {before.get(), after.get()};
  ReportInput report;
  report.runs = inputs.set.runs.size();
  ReportSide *sides[2] = {&report.before, &report.after};
  for (int k = 0; k < 2; ++k) {
    ReportSide &side = *sides[k];
    side.file = k == 0 ? original : rewritten;
    const Section *text = files[k]->findSection(".text");
    if (!text)
      fatal(side.file + ": no .text section");
    side.textStart = text->addr();
    side.textSize = text->size();
    side.pageRuns.assign((text->size() + 4095) / 4096, 0);
    LayoutScore total;
    for (const auto &run : inputs.set.runs) {
      LayoutScore one = scoreRun(inputs.set, run, layouts[k]);
      total += one;
      if (k == 0)
        report.lowerBound += one.lowerBound;
      std::vector<bool> seen(side.pageRuns.size(), false);
      for (uint32_t f : run) {
        const OrderedFunction &fn = inputs.set.functions[f];
        uint64_t start = layouts[k].addressOf(fn.address);
        uint64_t end = start + std::max<uint64_t>(fn.size, 1);
        for (uint64_t a = start & ~uint64_t(4095); a < end; a += 4096)
          if (a >= (side.textStart & ~uint64_t(4095)) && (a - (side.textStart & ~uint64_t(4095))) / 4096 < seen.size())
            seen[(a - (side.textStart & ~uint64_t(4095))) / 4096] = true;
      }
      for (size_t p = 0; p < seen.size(); ++p)
        side.pageRuns[p] += seen[p];
    }
    side.score = total.scaled(report.runs ? 1.0 / double(report.runs) : 0);
    side.gnuHash = gnuHashLine(*files[k]);
  }
  report.lowerBound = report.runs ? report.lowerBound / double(report.runs) : 0;
  // Page traces: ORIGINAL's from its profiles, REWRITTEN's from --after-profile.
  std::string object = profileMatch(vm).object;
  auto takeTrace = [&](ReportSide &side, const Profile &profile, const std::string &name, const ElfFile &file) {
    side.fileSize = file.bytes().size();
    std::string hash;
    for (size_t r = 0; r < profile.runs.size() && !side.hasPageTrace; ++r)
      if (const ObjectRun *o = tracedObjectRun(profile, profile.runs[r], object)) {
        if (hash.empty())
          hash = identifyObject(object, file).contentHash;
        if (profile.objects[o->object].contentHash != hash)
          fatal(name + ": its page trace is of another file than " + side.file + " (the contents differ)");
        side.pageTrace = o->pages;
        side.hasPageTrace = true;
        side.pageTraceSource = name + ", run " + std::to_string(r + 1);
      }
  };
  for (size_t i = 0; i < inputs.profiles.size() && !report.before.hasPageTrace; ++i)
    if (!profileMatch(vm).allowMismatch)
      takeTrace(report.before, inputs.profiles[i], inputs.names[i], *before);
  if (vm.count("after-profile")) {
    std::string path = vm["after-profile"].as<std::string>();
    takeTrace(report.after, readProfile(path), path, *after);
    if (!report.after.hasPageTrace)
      fatal(path + ": no page trace of '" + object + "' (recorded with --no-pages?)");
  }
  if (vm.count("measure-json"))
    report.measureJson = readFileContents(vm["measure-json"].as<std::string>());
  if (vm.count("rewrite-json"))
    report.rewriteJson = readFileContents(vm["rewrite-json"].as<std::string>());
  report.command = "elfopt report";
  for (const std::string &a : args)
    report.command += " " + a;
  std::string html = renderReport(report);
  std::string output = vm["output"].as<std::string>();
  writeFileAtomically(output, {reinterpret_cast<const uint8_t *>(html.data()), html.size()});
  std::printf("%s: %zu runs; 4 KiB pages %.2f -> %.2f, 64 KiB windows %.2f -> %.2f\n", output.c_str(),
              report.runs, report.before.score.pages, report.after.score.pages,
              report.before.score.windows64k, report.after.score.windows64k);
  return ExitOk;
}

} // namespace elfopt
