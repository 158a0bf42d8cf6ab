//===- Inspect.cpp --------------------------------------------------------===//
#include "elfopt/Inspect/Inspect.h"
#include "elfopt/Hash/HashTables.h"
#include "elfopt/Support/Diagnostics.h"

#include "llvm/Object/ELF.h"

#include <cinttypes>
#include <cstdarg>
#include <cstdio>
#include <map>
#include <sstream>

using namespace llvm::ELF;
using json = nlohmann::ordered_json;

namespace elfopt {

static std::string segmentTypeName(uint32_t type) {
  switch (type) {
  case PT_NULL: return "NULL";
  case PT_LOAD: return "LOAD";
  case PT_DYNAMIC: return "DYNAMIC";
  case PT_INTERP: return "INTERP";
  case PT_NOTE: return "NOTE";
  case PT_SHLIB: return "SHLIB";
  case PT_PHDR: return "PHDR";
  case PT_TLS: return "TLS";
  case PT_GNU_EH_FRAME: return "GNU_EH_FRAME";
  case PT_GNU_STACK: return "GNU_STACK";
  case PT_GNU_RELRO: return "GNU_RELRO";
  case PT_GNU_PROPERTY: return "GNU_PROPERTY";
  default: return hex(type);
  }
}

static std::string segmentFlags(uint32_t f) {
  std::string s;
  s += (f & PF_R) ? 'R' : '-';
  s += (f & PF_W) ? 'W' : '-';
  s += (f & PF_X) ? 'X' : '-';
  return s;
}

static std::string sectionFlags(uint64_t f) {
  std::string s;
  const std::pair<uint64_t, char> table[] = {
      {SHF_WRITE, 'W'}, {SHF_ALLOC, 'A'},     {SHF_EXECINSTR, 'X'}, {SHF_MERGE, 'M'},
      {SHF_STRINGS, 'S'}, {SHF_INFO_LINK, 'I'}, {SHF_LINK_ORDER, 'L'}, {SHF_GROUP, 'G'},
      {SHF_TLS, 'T'},   {SHF_COMPRESSED, 'C'}, {SHF_EXCLUDE, 'E'}};
  for (auto [bit, c] : table)
    if (f & bit)
      s += c;
  return s;
}

static const char *elfTypeName(uint16_t type) {
  switch (type) {
  case ET_REL: return "ET_REL";
  case ET_EXEC: return "ET_EXEC";
  case ET_DYN: return "ET_DYN";
  case ET_CORE: return "ET_CORE";
  default: return "unknown";
  }
}

static json identity(const ElfFile &file) {
  json j;
  j["class"] = "ELF64";
  j["type"] = binaryKindName(file.kind());
  j["elfType"] = elfTypeName(file.header().e_type);
  j["machine"] = "x86-64";
  j["entry"] = uint64_t(file.header().e_entry);
  auto id = file.buildId();
  j["buildId"] = id ? json(*id) : json(nullptr);
  auto interp = file.interpreter();
  j["interpreter"] = interp ? json(*interp) : json(nullptr);
  json needed = json::array();
  json soname = nullptr;
  for (const Dyn &d : file.dynamicEntries()) {
    if (d.d_tag == DT_NEEDED)
      needed.push_back(file.dynamicString(d.d_un.d_val));
    else if (d.d_tag == DT_SONAME)
      soname = file.dynamicString(d.d_un.d_val);
  }
  j["needed"] = needed;
  j["soname"] = soname;
  auto slots = file.dynamicSlots();
  auto used = file.dynamicEntries();
  j["dynamicSlots"] = {{"total", slots.size()},
                       {"spare", slots.size() >= used.size() && !used.empty()
                                     ? slots.size() - used.size() : 0}};
  return j;
}

static json segments(const ElfFile &file) {
  json arr = json::array();
  for (const Phdr &p : file.segments())
    arr.push_back({{"type", segmentTypeName(p.p_type)},
                   {"offset", uint64_t(p.p_offset)},
                   {"vaddr", uint64_t(p.p_vaddr)},
                   {"filesz", uint64_t(p.p_filesz)},
                   {"memsz", uint64_t(p.p_memsz)},
                   {"flags", segmentFlags(p.p_flags)},
                   {"align", uint64_t(p.p_align)}});
  return arr;
}

static json sections(const ElfFile &file) {
  json arr = json::array();
  for (const Section &s : file.sections()) {
    if (s.index == 0)
      continue;
    arr.push_back({{"index", s.index},
                   {"name", s.name},
                   {"type", llvm::object::getELFSectionTypeName(EM_X86_64, s.type()).str()},
                   {"flags", sectionFlags(s.flags())},
                   {"address", uint64_t(s.addr())},
                   {"offset", uint64_t(s.offset())},
                   {"size", uint64_t(s.size())},
                   {"align", uint64_t(s.header.sh_addralign)}});
  }
  return arr;
}

// Distinct function entry addresses: aliases (same address) count once,
// with the largest size among them.
static json functions(const ElfFile &file) {
  const Section *table = file.findSectionOfType(SHT_SYMTAB);
  std::string source = "symtab";
  if (!table) {
    table = file.findSectionOfType(SHT_DYNSYM);
    source = "dynsym";
  }
  if (!table)
    return {{"source", "none"}, {"count", 0}, {"bytes", 0}, {"withoutSize", 0}};
  std::map<uint64_t, uint64_t> sizeByAddress;
  for (const Symbol &sym : file.symbols(*table))
    if (sym.isFunction() && sym.isDefined() && sym.shndx < SHN_LORESERVE) {
      uint64_t &size = sizeByAddress[sym.value];
      size = std::max(size, sym.size);
    }
  uint64_t bytes = 0, withoutSize = 0;
  for (auto [addr, size] : sizeByAddress) {
    bytes += size;
    withoutSize += size == 0;
  }
  return {{"source", source},
          {"count", sizeByAddress.size()},
          {"bytes", bytes},
          {"withoutSize", withoutSize}};
}

// Static relocations survive in linked files only with --emit-relocs (-q):
// non-allocated SHT_RELA/SHT_REL sections applying to an allocated section.
static json staticRelocations(const ElfFile &file) {
  const auto &secs = file.sections();
  json list = json::array();
  std::vector<bool> covered(secs.size(), false);
  for (const Section &s : secs) {
    if ((s.type() != SHT_RELA && s.type() != SHT_REL) || s.isAlloc())
      continue;
    uint32_t target = s.header.sh_info;
    if (target == 0 || target >= secs.size() || !secs[target].isAlloc())
      continue;
    covered[target] = true;
    uint64_t entsize = s.type() == SHT_RELA ? sizeof(ELFT::Rela) : sizeof(ELFT::Rel);
    list.push_back({{"name", s.name}, {"target", secs[target].name}, {"count", s.size() / entsize}});
  }
  json missing = json::array();
  bool textCovered = false, hasText = false;
  for (const Section &s : secs) {
    if (!s.isExecutable() || s.size() == 0 || !s.hasFileData())
      continue;
    if (s.name == ".text") {
      hasText = true;
      textCovered = covered[s.index];
    }
    if (!covered[s.index])
      missing.push_back(s.name);
  }
  std::string reason;
  // Position-independent code without static relocations is rewritten from
  // its dynamic relocations and decoded code (jump tables found from it).
  bool positionIndependent = file.header().e_type == ET_DYN;
  bool reorderable = hasText && (textCovered || positionIndependent) && file.header().e_type != ET_REL;
  if (file.header().e_type == ET_REL)
    reason = "relocatable object: not linked yet";
  else if (!hasText)
    reason = "no .text section";
  else if (!reorderable)
    reason = "a non-PIE executable without static relocations for .text: relink with -Wl,--emit-relocs (-Wl,-q), "
             "or as PIE";
  return {{"kept", !list.empty()},
          {"sections", list},
          {"executableSectionsWithout", missing},
          {"codeReorderable", reorderable},
          {"rewriteMode", !reorderable ? json(nullptr) : json(textCovered ? "relocations" : "relocation-free")},
          {"reason", reorderable ? json(nullptr) : json(reason)}};
}

static json statsJson(const HashTableStats &s, bool gnu) {
  json j;
  j["nbuckets"] = s.nbuckets;
  j["symbols"] = s.symbols;
  if (gnu) {
    j["symoffset"] = s.symoffset;
    j["bloomWords"] = s.bloomWords;
    j["bloomShift"] = s.bloomShift;
    j["bloomBitsPerSymbol"] = s.bloomBitsPerSymbol;
    j["bloomFillRatio"] = s.bloomFillRatio;
    j["falsePositiveRate"] = s.falsePositiveRate;
  }
  j["longestChain"] = s.longestChain;
  j["chainLengthHistogram"] = s.chainLengths;
  j["meanProbesHit"] = s.meanProbesHit;
  j["meanProbesMiss"] = s.meanProbesMiss;
  if (gnu)
    j["meanProbesMissAfterBloom"] = s.meanProbesMissNoBloom;
  return j;
}

static json dynamicSymbols(const ElfFile &file, json &gnuHash, json &sysvHash) {
  gnuHash = nullptr;
  sysvHash = nullptr;
  const Section *dynsym = file.findSectionOfType(SHT_DYNSYM);
  if (!dynsym)
    return nullptr;
  auto syms = file.symbols(*dynsym);
  uint64_t defined = 0, undefined = 0;
  for (size_t i = 1; i < syms.size(); ++i)
    (syms[i].isDefined() ? defined : undefined)++;
  uint64_t dynstrSize = file.dynamicValue(DT_STRSZ).value_or(0);
  if (const Section *gnu = file.findSectionOfType(SHT_GNU_HASH))
    gnuHash = statsJson(
        computeStats(parseGnuHash(file.contents(*gnu), syms.size(), file.where(*gnu))), true);
  if (const Section *sysv = file.findSectionOfType(SHT_HASH))
    sysvHash = statsJson(
        computeStats(parseSysvHash(file.contents(*sysv), syms.size(), file.where(*sysv))),
        false);
  return {{"count", syms.size() > 0 ? syms.size() - 1 : 0},
          {"defined", defined},
          {"undefined", undefined},
          {"dynstrSize", dynstrSize}};
}

json inspect(const ElfFile &file) {
  json j;
  j["schema"] = InspectSchema;
  j["file"] = {{"path", file.name()}, {"size", file.bytes().size()}};
  j["elf"] = identity(file);
  j["segments"] = segments(file);
  j["sections"] = sections(file);
  j["functions"] = functions(file);
  j["staticRelocations"] = staticRelocations(file);
  json gnu, sysv;
  j["dynamicSymbols"] = dynamicSymbols(file, gnu, sysv);
  j["gnuHash"] = gnu;
  j["sysvHash"] = sysv;
  return j;
}

//===----------------------------------------------------------------------===//
// Text rendering
//===----------------------------------------------------------------------===//

namespace {
struct Printer {
  std::ostringstream os;
  void line(const char *fmt, ...) __attribute__((format(printf, 2, 3))) {
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    os << buf << '\n';
  }
};
std::string str(const json &v) { return v.is_null() ? "-" : v.get<std::string>(); }
unsigned long long u(const json &v) { return v.get<uint64_t>(); }
} // namespace

static void renderHash(Printer &p, const char *title, const json &h) {
  p.line("%s", title);
  p.line("  buckets %llu, symbols %llu, longest chain %llu", u(h["nbuckets"]), u(h["symbols"]),
         u(h["longestChain"]));
  if (h.contains("bloomWords")) {
    p.line("  symoffset %llu, bloom %llu words (64-bit), shift %llu", u(h["symoffset"]),
           u(h["bloomWords"]), u(h["bloomShift"]));
    p.line("  bloom %.2f bits/symbol, %.1f%% bits set, false-positive rate %.4f",
           h["bloomBitsPerSymbol"].get<double>(), 100 * h["bloomFillRatio"].get<double>(),
           h["falsePositiveRate"].get<double>());
    p.line("  mean probes: hit %.3f, miss %.4f (%.3f once past the bloom filter)",
           h["meanProbesHit"].get<double>(), h["meanProbesMiss"].get<double>(),
           h["meanProbesMissAfterBloom"].get<double>());
  } else {
    p.line("  mean probes: hit %.3f, miss %.3f", h["meanProbesHit"].get<double>(),
           h["meanProbesMiss"].get<double>());
  }
  p.line("  chain length histogram (length: buckets):");
  const json &hist = h["chainLengthHistogram"];
  std::string row;
  for (size_t k = 0; k < hist.size(); ++k) {
    if (u(hist[k]) == 0)
      continue;
    row += "  " + std::to_string(k) + ": " + std::to_string(u(hist[k]));
  }
  p.line("   %s", row.c_str());
}

std::string renderInspectText(const json &r) {
  Printer p;
  const json &e = r["elf"];
  p.line("%s: %s, %s, %s, x86-64, %llu bytes", r["file"]["path"].get<std::string>().c_str(),
         e["class"].get<std::string>().c_str(), e["type"].get<std::string>().c_str(),
         e["elfType"].get<std::string>().c_str(), u(r["file"]["size"]));
  p.line("  entry        0x%llx", u(e["entry"]));
  p.line("  build-id     %s", str(e["buildId"]).c_str());
  p.line("  interpreter  %s", str(e["interpreter"]).c_str());
  p.line("  soname       %s", str(e["soname"]).c_str());
  std::string needed;
  for (const auto &n : e["needed"])
    needed += (needed.empty() ? "" : ", ") + n.get<std::string>();
  p.line("  needed       %s", needed.empty() ? "-" : needed.c_str());
  p.line("  .dynamic     %llu slots, %llu spare DT_NULL", u(e["dynamicSlots"]["total"]),
         u(e["dynamicSlots"]["spare"]));

  p.line("\nSegments:");
  p.line("  %-13s %-10s %-18s %-10s %-10s %-4s %s", "type", "offset", "vaddr", "filesz", "memsz",
         "flg", "align");
  for (const auto &s : r["segments"])
    p.line("  %-13s 0x%08llx 0x%016llx 0x%08llx 0x%08llx %-4s 0x%llx",
           s["type"].get<std::string>().c_str(), u(s["offset"]), u(s["vaddr"]), u(s["filesz"]),
           u(s["memsz"]), s["flags"].get<std::string>().c_str(), u(s["align"]));

  p.line("\nSections:");
  p.line("  %3s %-24s %-16s %-5s %-18s %-10s %-10s %s", "nr", "name", "type", "flags", "address",
         "offset", "size", "align");
  for (const auto &s : r["sections"])
    p.line("  %3llu %-24s %-16s %-5s 0x%016llx 0x%08llx 0x%08llx %llu", u(s["index"]),
           s["name"].get<std::string>().c_str(), s["type"].get<std::string>().c_str(),
           s["flags"].get<std::string>().c_str(), u(s["address"]), u(s["offset"]),
           u(s["size"]), u(s["align"]));

  const json &f = r["functions"];
  p.line("\nFunctions (from %s): %llu, %llu bytes, %llu without a size",
         f["source"].get<std::string>().c_str(), u(f["count"]), u(f["bytes"]),
         u(f["withoutSize"]));

  const json &rel = r["staticRelocations"];
  if (rel["kept"].get<bool>()) {
    std::string list;
    for (const auto &s : rel["sections"])
      list += (list.empty() ? "" : ", ") + s["name"].get<std::string>() + " (" +
              std::to_string(u(s["count"])) + ")";
    p.line("Static relocations kept (--emit-relocs): %s", list.c_str());
  } else {
    p.line("Static relocations: none kept");
  }
  if (rel["codeReorderable"].get<bool>())
    p.line("Code can be reordered: yes (%s)", rel["rewriteMode"] == "relocations"
                                                  ? "static relocations describe every reference"
                                                  : "no static relocations: references found from dynamic "
                                                    "relocations and code, unprovable ones kept in place");
  else
    p.line("Code can be reordered: no (%s)", str(rel["reason"]).c_str());

  const json &ds = r["dynamicSymbols"];
  if (ds.is_null()) {
    p.line("\nDynamic symbols: none");
  } else {
    p.line("\nDynamic symbols: %llu (%llu defined, %llu undefined), .dynstr %llu bytes",
           u(ds["count"]), u(ds["defined"]), u(ds["undefined"]), u(ds["dynstrSize"]));
  }
  if (!r["gnuHash"].is_null())
    renderHash(p, "GNU hash (.gnu.hash):", r["gnuHash"]);
  if (!r["sysvHash"].is_null())
    renderHash(p, "SysV hash (.hash):", r["sysvHash"]);
  return p.os.str();
}

} // namespace elfopt
