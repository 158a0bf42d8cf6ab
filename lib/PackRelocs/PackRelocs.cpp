//===- PackRelocs.cpp -----------------------------------------------------===//
//
// The pass reads the tables through the dynamic tags (what the loader
// reads), decides per RELATIVE entry whether RELR says the same, and lays
// out the freed bytes of .rela.dyn: kept RELA entries, .relr.dyn, then the
// version tables' copies when they fit.
//
//===----------------------------------------------------------------------===//
#include "elfopt/PackRelocs/PackRelocs.h"
#include "elfopt/Elf/Relocations.h"
#include "elfopt/Elf/Versions.h"
#include "elfopt/Hash/HashTables.h"
#include "elfopt/Support/Diagnostics.h"

#include <gnu/libc-version.h>

#include <algorithm>
#include <cstring>

using namespace llvm::ELF;

namespace elfopt {

namespace {
// glibc 2.36's loop, per entry kind (see the header).
constexpr uint64_t AddressEntryInstructions = 9, BitmapEntryInstructions = 10, BitCost = 5, SetBitCost = 1;
// What the search minimises also counts each entry's 8 bytes as 8
// instructions: the loader streams the table through the cache, and a
// table the linkers would write a tenth the size of is not worth a few
// instructions saved.
constexpr uint64_t EntryByteCost = 8;
constexpr uint64_t AddressEntryCost = AddressEntryInstructions + EntryByteCost,
                   BitmapEntryCost = BitmapEntryInstructions + EntryByteCost;
constexpr uint64_t WindowBytes = 63 * 8;
constexpr unsigned MaxBitmapsPerRun = 8;

void checkRelrAddresses(std::span<const uint64_t> addresses) {
  for (size_t i = 0; i < addresses.size(); ++i)
    if (addresses[i] % 8 || (i && addresses[i] <= addresses[i - 1]))
      fatal("internal: RELR addresses must be 8-byte aligned and increasing (" + hex(addresses[i]) + ")",
            ExitInternal);
}

} // namespace

std::vector<uint64_t> encodeRelr(std::span<const uint64_t> addresses) {
  std::vector<uint64_t> out;
  checkRelrAddresses(addresses);
  size_t i = 0;
  while (i < addresses.size()) {
    out.push_back(addresses[i]);
    uint64_t next = addresses[i] + 8; // the word bit 1 of the next bitmap marks
    ++i;
    for (;;) {
      uint64_t bitmap = 0;
      while (i < addresses.size() && addresses[i] - next < WindowBytes) {
        bitmap |= uint64_t(1) << ((addresses[i] - next) / 8 + 1);
        ++i;
      }
      if (!bitmap)
        break;
      out.push_back(bitmap | 1);
      next += WindowBytes;
    }
  }
  return out;
}

namespace {
// A bitmap starting at word \p base that marks addresses [first, last].
uint64_t bitmapCost(const uint64_t *first, const uint64_t *last, uint64_t base) {
  return BitmapEntryCost + BitCost * ((*last - base) / 8 + 1) + SetBitCost * uint64_t(last - first + 1);
}

// The cheapest encoding of one stretch, every run of which starts with an
// address entry. cost[i]: the least relrEncodingCost() of a[i..n) when a[i]
// starts a run. A run from a[i] is its address entry, some full bitmaps
// (each marking every address of its 63 words), and at most one last
// bitmap that stops before the window's end, after which the next address
// starts a new run.
std::vector<uint64_t> encodeStretchForLoader(std::span<const uint64_t> a) {
  size_t n = a.size();
  // Cuts are tried only where a gap precedes an address: within a dense
  // stretch a new run only adds an entry.
  std::vector<uint64_t> cost(n + 1, 0);
  struct Choice {
    unsigned fullBitmaps = 0;
    size_t next = 0; ///< where the next run starts
  };
  std::vector<Choice> choice(n);
  for (size_t i = n; i-- > 0;) {
    uint64_t best = UINT64_MAX, acc = AddressEntryCost, base = a[i] + 8;
    size_t j = i + 1;
    for (unsigned m = 0;; ++m) {
      if (acc + cost[j] < best) {
        best = acc + cost[j];
        choice[i] = {m, j};
      }
      if (j == n || m == MaxBitmapsPerRun || a[j] >= base + WindowBytes)
        break;
      size_t end = size_t(std::lower_bound(a.begin() + j, a.begin() + std::min(n, j + 63), base + WindowBytes) -
                          a.begin());
      for (size_t k = j + 1; k < end; ++k)
        if (a[k] - a[k - 1] > 8) {
          uint64_t c = acc + bitmapCost(&a[j], &a[k - 1], base) + cost[k];
          if (c < best) {
            best = c;
            choice[i] = {m, k};
          }
        }
      acc += bitmapCost(&a[j], &a[end - 1], base);
      j = end;
      base += WindowBytes;
    }
    cost[i] = best;
  }
  std::vector<uint64_t> out;
  for (size_t i = 0; i < n;) {
    out.push_back(a[i]);
    uint64_t base = a[i] + 8;
    size_t j = i + 1;
    const Choice &c = choice[i];
    for (unsigned m = 0; m <= c.fullBitmaps && j < c.next; ++m) {
      uint64_t bitmap = 0;
      // The full bitmaps take their whole window; the last one stops at next.
      size_t stop = m < c.fullBitmaps ? n : c.next;
      while (j < stop && a[j] < base + WindowBytes) {
        bitmap |= uint64_t(1) << ((a[j] - base) / 8 + 1);
        ++j;
      }
      out.push_back(bitmap | 1);
      base += WindowBytes;
    }
    i = c.next;
  }
  return out;
}

} // namespace

uint64_t relrLoaderInstructions(std::span<const uint64_t> relr) {
  uint64_t total = 0;
  for (uint64_t entry : relr) {
    if (!(entry & 1)) {
      total += AddressEntryInstructions;
      continue;
    }
    total += BitmapEntryInstructions;
    for (uint64_t bits = entry >> 1; bits; bits >>= 1)
      total += BitCost + (bits & 1) * SetBitCost;
  }
  return total;
}

uint64_t relrEncodingCost(std::span<const uint64_t> relr) {
  return relrLoaderInstructions(relr) + EntryByteCost * relr.size();
}

std::vector<uint64_t> encodeRelrForLoader(std::span<const uint64_t> addresses) {
  checkRelrAddresses(addresses);
  // No run crosses a gap of two windows or more (the bitmap after the one
  // holding the address before it would be empty), so each stretch between
  // such gaps is encoded on its own, and the linkers' encoding of it is
  // kept unless the search beats it.
  std::vector<uint64_t> out;
  for (size_t from = 0; from < addresses.size();) {
    size_t to = from + 1;
    while (to < addresses.size() && addresses[to] - addresses[to - 1] < 2 * WindowBytes)
      ++to;
    std::span<const uint64_t> stretch = addresses.subspan(from, to - from);
    std::vector<uint64_t> linkers = encodeRelr(stretch), ours = encodeStretchForLoader(stretch);
    const std::vector<uint64_t> &better = relrEncodingCost(ours) < relrEncodingCost(linkers) ? ours : linkers;
    out.insert(out.end(), better.begin(), better.end());
    from = to;
  }
  return out;
}

namespace {

struct Vernaux {
  uint32_t hash;
  uint16_t flags, other;
  uint32_t name;
};
struct Verneed {
  uint16_t version;
  uint32_t file;
  std::vector<Vernaux> aux;
};

template <typename T> T load(std::span<const uint8_t> bytes, uint64_t at) {
  if (at + sizeof(T) > bytes.size())
    throw std::out_of_range("version table");
  T v;
  std::memcpy(&v, bytes.data() + at, sizeof(T));
  return v;
}
template <typename T> void store(std::vector<uint8_t> &bytes, uint64_t at, T v) {
  std::memcpy(bytes.data() + at, &v, sizeof(T));
}

/// The Verneed chain as the loader walks it (vn_next, vna_next).
std::vector<Verneed> readVerneed(std::span<const uint8_t> bytes, uint64_t count) {
  std::vector<Verneed> out;
  uint64_t at = 0;
  for (uint64_t n = 0; n < count; ++n) {
    Verneed need{load<uint16_t>(bytes, at), load<uint32_t>(bytes, at + 4), {}};
    uint16_t cnt = load<uint16_t>(bytes, at + 2);
    uint64_t aux = at + load<uint32_t>(bytes, at + 8);
    for (uint16_t k = 0; k < cnt; ++k) {
      need.aux.push_back({load<uint32_t>(bytes, aux), load<uint16_t>(bytes, aux + 4),
                          load<uint16_t>(bytes, aux + 6), load<uint32_t>(bytes, aux + 8)});
      aux += load<uint32_t>(bytes, aux + 12);
    }
    out.push_back(std::move(need));
    uint32_t next = load<uint32_t>(bytes, at + 12);
    if (!next)
      break;
    at += next;
  }
  return out;
}

std::vector<uint8_t> writeVerneed(const std::vector<Verneed> &needs) {
  size_t size = 0;
  for (const Verneed &n : needs)
    size += 16 + 16 * n.aux.size();
  std::vector<uint8_t> out(size, 0);
  uint64_t at = 0;
  for (size_t i = 0; i < needs.size(); ++i) {
    const Verneed &n = needs[i];
    uint32_t length = uint32_t(16 + 16 * n.aux.size());
    store<uint16_t>(out, at, n.version);
    store<uint16_t>(out, at + 2, uint16_t(n.aux.size()));
    store<uint32_t>(out, at + 4, n.file);
    store<uint32_t>(out, at + 8, n.aux.empty() ? 0 : 16);
    store<uint32_t>(out, at + 12, i + 1 < needs.size() ? length : 0);
    for (size_t k = 0; k < n.aux.size(); ++k) {
      uint64_t a = at + 16 + 16 * k;
      store<uint32_t>(out, a, n.aux[k].hash);
      store<uint16_t>(out, a + 4, n.aux[k].flags);
      store<uint16_t>(out, a + 6, n.aux[k].other);
      store<uint32_t>(out, a + 8, n.aux[k].name);
      store<uint32_t>(out, a + 12, k + 1 < n.aux.size() ? 16 : 0);
    }
    at += length;
  }
  return out;
}

/// The section a dynamic tag points at, when one section starts there.
const Section *sectionAt(const ElfFile &file, int64_t tag, uint32_t type) {
  auto address = file.dynamicValue(tag);
  if (!address)
    return nullptr;
  for (const Section &s : file.sections())
    if (s.type() == type && s.addr() == *address && s.isAlloc())
      return &s;
  return nullptr;
}

/// One RELATIVE entry's fate.
enum class Fate { Packed, Unaligned, NotInFile, Shared };

/// What the pass would do to \p file's DT_RELA entries.
struct Classified {
  const Section *rela = nullptr;
  std::vector<ELFT::Rela> entries;
  std::vector<Fate> fate; ///< per entry; only RELATIVE ones are looked at
  uint64_t relative = 0, packed = 0;
};

bool writableFileWord(const ElfFile &file, uint64_t address) {
  for (const Phdr &p : file.segments())
    if (p.p_type == PT_LOAD && (p.p_flags & PF_W) && p.p_vaddr <= address &&
        address + 8 <= p.p_vaddr + p.p_filesz)
      return true;
  return false;
}

Classified classify(const ElfFile &file) {
  Classified c;
  c.rela = sectionAt(file, DT_RELA, SHT_RELA);
  if (!c.rela)
    return c;
  c.entries = decodeRela(file.contents(*c.rela));
  // Every word some dynamic relocation writes, to find words written twice.
  std::vector<uint64_t> written;
  for (const ELFT::Rela &r : c.entries)
    written.push_back(r.r_offset);
  if (const Section *plt = sectionAt(file, DT_JMPREL, SHT_RELA))
    for (const ELFT::Rela &r : decodeRela(file.contents(*plt)))
      written.push_back(r.r_offset);
  std::sort(written.begin(), written.end());
  auto sharedWord = [&](uint64_t at) {
    // Another write that starts within 8 bytes either side overlaps.
    auto lo = std::lower_bound(written.begin(), written.end(), at >= 7 ? at - 7 : 0);
    auto hi = std::upper_bound(written.begin(), written.end(), at + 7);
    return hi - lo > 1;
  };
  c.fate.resize(c.entries.size(), Fate::Packed);
  for (size_t i = 0; i < c.entries.size(); ++i) {
    const ELFT::Rela &r = c.entries[i];
    if (r.getType(false) != R_X86_64_RELATIVE)
      continue;
    ++c.relative;
    uint64_t at = r.r_offset;
    c.fate[i] = at % 8                       ? Fate::Unaligned
                : !writableFileWord(file, at) ? Fate::NotInFile
                : sharedWord(at)              ? Fate::Shared
                                              : Fate::Packed;
    c.packed += c.fate[i] == Fate::Packed;
  }
  return c;
}

bool isRelative(const ELFT::Rela &r) { return r.getType(false) == R_X86_64_RELATIVE; }

bool glibcHasRelr() {
  unsigned major = 0, minor = 0;
  if (std::sscanf(gnu_get_libc_version(), "%u.%u", &major, &minor) != 2)
    return false;
  return major > 2 || (major == 2 && minor >= 36);
}

/// Slots the new dynamic entries can take: the spare ones, DT_RELACOUNT's
/// (the count no longer describes the table) and, when no RELA entry is
/// left, DT_RELA's three.
unsigned freeDynamicSlots(const ElfFile &file, const Classified &c) {
  unsigned spare = file.spareDynamicSlots();
  unsigned reusable = file.dynamicValue(DT_RELACOUNT) ? 1 : 0;
  if (c.packed == c.entries.size())
    reusable += 3;
  return spare + reusable;
}

bool needsLibc(const ElfFile &file) {
  for (const Dyn &d : file.dynamicEntries())
    if (d.d_tag == DT_NEEDED && file.dynamicString(d.d_un.d_val).rfind("libc.so.", 0) == 0)
      return true;
  return false;
}

// Why \p file cannot be packed; \p c is its relocations as classified on
// the way (the plan uses them, so they are read once).
std::optional<std::string> refusal(const ElfFile &file, Classified &c) {
  if (!file.findSegment(PT_DYNAMIC))
    return "it has no dynamic section: a static program relocates itself, without the loader";
  if (file.dynamicValue(DT_RELR))
    return "its relative relocations are packed already (DT_RELR)";
  if (!needsLibc(file))
    return "it does not load libc.so.6, which carries the version GLIBC_ABI_DT_RELR that glibc's loader "
           "wants an object with DT_RELR to need";
  if (!sectionAt(file, DT_VERNEED, SHT_GNU_verneed))
    return "it has no version needs (DT_VERNEED at an SHT_GNU_verneed section) to add GLIBC_ABI_DT_RELR to";
  c = classify(file);
  if (!c.rela)
    return file.dynamicValue(DT_RELA) ? "DT_RELA does not point at an SHT_RELA section"
                                      : "it has no DT_RELA relocations";
  if (file.dynamicValue(DT_RELASZ) != c.rela->size() || file.dynamicValue(DT_RELAENT) != sizeof(ELFT::Rela))
    return "DT_RELASZ/DT_RELAENT do not describe the section DT_RELA points at (" + c.rela->name + ")";
  if (!c.packed)
    return c.relative ? "none of its " + std::to_string(c.relative) +
                            " R_X86_64_RELATIVE relocations can be packed (odd addresses, or words outside "
                            "the writable file image)"
                      : "it has no R_X86_64_RELATIVE relocations";
  unsigned slots = freeDynamicSlots(file, c);
  if (slots < 3)
    return "DT_RELR, DT_RELRSZ and DT_RELRENT need 3 free .dynamic slots; it has " + std::to_string(slots) +
           " (spare DT_NULL slots and DT_RELACOUNT's; lld leaves no spare slots)";
  if (!glibcHasRelr())
    return std::string("this machine's glibc is ") + gnu_get_libc_version() +
           "; DT_RELR needs glibc 2.36 or later";
  return std::nullopt;
}

} // namespace

std::optional<std::string> packRefusal(const ElfFile &file) {
  Classified c;
  return refusal(file, c);
}

PlannedPack planPack(ElfEditor &editor) {
  const ElfFile &in = editor.input();
  Classified c;
  if (auto why = refusal(in, c))
    fatal(in.name() + ": cannot pack relative relocations: " + *why);
  PlannedPack plan;
  PackReport &report = plan.report;
  report.relativeBefore = c.relative;
  report.packed = c.packed;

  // Addends go into the words they relocate: RELR adds the base to them.
  std::vector<uint64_t> places;
  std::vector<ELFT::Rela> kept;
  std::vector<const Section *> writable;
  for (const Section &s : in.sections())
    if (s.isAlloc() && s.hasFileData() && (s.flags() & SHF_WRITE))
      writable.push_back(&s);
  for (size_t i = 0; i < c.entries.size(); ++i) {
    const ELFT::Rela &r = c.entries[i];
    if (!isRelative(r) || c.fate[i] != Fate::Packed) {
      kept.push_back(r);
      report.keptUnaligned += isRelative(r) && c.fate[i] == Fate::Unaligned;
      report.keptNotInFile += isRelative(r) && c.fate[i] == Fate::NotInFile;
      report.keptShared += isRelative(r) && c.fate[i] == Fate::Shared;
      continue;
    }
    const Section *home = nullptr;
    for (const Section *s : writable)
      if (s->addr() <= r.r_offset && r.r_offset + 8 <= s->addr() + s->size())
        home = s;
    if (!home) {
      // In the segment's bytes but in no section (padding): keep it, as
      // the classification would have if it looked at sections.
      kept.push_back(r);
      ++report.keptNotInFile;
      --report.packed;
      continue;
    }
    uint64_t addend = uint64_t(r.r_addend);
    std::memcpy(editor.mutableContents(home->index).data() + (r.r_offset - home->addr()), &addend, 8);
    places.push_back(r.r_offset);
  }
  std::sort(places.begin(), places.end());
  std::vector<uint64_t> relr = encodeRelrForLoader(places);
  std::vector<uint64_t> asLinkers = encodeRelr(places);
  report.relrBytesAsLinkers = asLinkers.size() * 8;
  report.relrLoaderInstructions = relrLoaderInstructions(relr);
  report.relrLoaderInstructionsAsLinkers = relrLoaderInstructions(asLinkers);

  // .rela.dyn: the kept entries in their order, then zeros.
  std::span<uint8_t> relaBytes = editor.mutableContents(c.rela->index);
  std::fill(relaBytes.begin(), relaBytes.end(), 0);
  std::memcpy(relaBytes.data(), kept.data(), kept.size() * sizeof(ELFT::Rela));
  editor.shrinkSection(c.rela->index, kept.size() * sizeof(ELFT::Rela));
  report.relaBytesBefore = c.rela->size();
  report.relaBytesAfter = kept.size() * sizeof(ELFT::Rela);
  report.relrBytes = relr.size() * 8;

  uint64_t cursor = c.rela->addr() + report.relaBytesAfter; // a multiple of 8, as the entries are
  uint64_t regionEnd = c.rela->addr() + c.rela->size();
  NewSection relrSection;
  relrSection.name = ".relr.dyn";
  relrSection.type = SHT_RELR;
  relrSection.align = 8;
  relrSection.entsize = 8;
  relrSection.data.resize(report.relrBytes);
  std::memcpy(relrSection.data.data(), relr.data(), report.relrBytes);
  relrSection.at = cursor;
  editor.addSection(std::move(relrSection));
  cursor += report.relrBytes;

  // The version need, unless the file has it.
  const Section *verneed = sectionAt(in, DT_VERNEED, SHT_GNU_verneed);
  const Section *dynstr = sectionAt(in, DT_STRTAB, SHT_STRTAB);
  if (!dynstr || in.dynamicValue(DT_STRSZ) > dynstr->size())
    fatal(in.name() + ": cannot pack relative relocations: DT_STRTAB/DT_STRSZ do not describe a string table");
  std::span<const uint8_t> strings = in.contents(*dynstr).first(*in.dynamicValue(DT_STRSZ));
  std::vector<Verneed> needs;
  try {
    needs = readVerneed(in.contents(*verneed), in.dynamicValue(DT_VERNEEDNUM).value_or(0));
  } catch (const std::out_of_range &) {
    fatal(in.name() + ": cannot pack relative relocations: its version needs (" + verneed->name +
          ") run past the section's end");
  }
  auto stringAt = [&](uint32_t offset) {
    if (offset >= strings.size())
      return std::string();
    const char *p = reinterpret_cast<const char *>(strings.data()) + offset;
    return std::string(p, strnlen(p, strings.size() - offset));
  };
  uint16_t highest = 1;
  bool needed = false;
  Verneed *libc = nullptr;
  for (Verneed &n : needs) {
    if (stringAt(n.file).rfind("libc.so.", 0) == 0 && !libc)
      libc = &n;
    for (const Vernaux &a : n.aux) {
      highest = std::max<uint16_t>(highest, a.other & 0x7fff);
      needed |= stringAt(a.name) == RelrVersionName;
    }
  }
  if (const Section *verdef = sectionAt(in, DT_VERDEF, SHT_GNU_verdef))
    walkVersionNames(in.contents(*verdef), false, [&](const VersionNameField &f) {
      highest = std::max<uint16_t>(highest, f.version & 0x7fff);
      return false;
    });
  if (!needed) {
    report.versionNeedAdded = true;
    // The name: a string the table has (or ends with), else appended.
    std::string needle = std::string(RelrVersionName) + '\0';
    auto hit = std::search(strings.begin(), strings.end(), needle.begin(), needle.end());
    std::vector<uint8_t> stringsCopy;
    uint32_t nameOffset;
    if (hit != strings.end()) {
      nameOffset = uint32_t(hit - strings.begin());
    } else {
      stringsCopy.assign(strings.begin(), strings.end());
      nameOffset = uint32_t(stringsCopy.size());
      stringsCopy.insert(stringsCopy.end(), needle.begin(), needle.end());
    }
    Vernaux aux{sysvHash(RelrVersionName), 0, uint16_t(highest + 1), nameOffset};
    if (!libc) {
      uint32_t file = 0;
      for (const Dyn &d : in.dynamicEntries())
        if (d.d_tag == DT_NEEDED && stringAt(uint32_t(d.d_un.d_val)).rfind("libc.so.", 0) == 0 && !file)
          file = uint32_t(d.d_un.d_val);
      needs.push_back({1, file, {}});
      libc = &needs.back();
      editor.setDynamicEntry(DT_VERNEEDNUM, needs.size());
    }
    libc->aux.push_back(aux);

    NewSection versions;
    versions.name = verneed->name;
    versions.type = SHT_GNU_verneed;
    versions.align = 8;
    versions.info = uint32_t(needs.size());
    versions.data = writeVerneed(needs);
    NewSection stringTable;
    stringTable.name = dynstr->name;
    stringTable.type = SHT_STRTAB;
    stringTable.align = 1;
    stringTable.data = std::move(stringsCopy);
    uint64_t versionsAt = (cursor + 7) / 8 * 8;
    uint64_t stringsAt = versionsAt + versions.data.size();
    bool fits = stringsAt + stringTable.data.size() <= regionEnd;
    report.newSegment = !fits;
    if (fits) {
      versions.at = versionsAt;
      if (!stringTable.data.empty())
        stringTable.at = stringsAt;
    }
    if (!stringTable.data.empty()) {
      plan.dynstrCopy = editor.addSection(std::move(stringTable));
      versions.link = *plan.dynstrCopy;
      editor.renameSection(dynstr->index, ".elfopt.orig" + dynstr->name);
      if (const Section *dynamic = in.findSectionOfType(SHT_DYNAMIC))
        editor.setSectionLink(dynamic->index, *plan.dynstrCopy);
    } else {
      versions.link = dynstr->index;
    }
    plan.verneedCopy = editor.addSection(std::move(versions));
    editor.retireSection(verneed->index, ".elfopt.old" + verneed->name);
  }

  // Dynamic entries: the new ones take DT_RELACOUNT's slot (and DT_RELA's
  // three when nothing is left in it); the table is compacted, keeping the
  // order of the rest, and ends in DT_NULL as before.
  std::span<Dyn> slots = editor.mutableDynamic();
  std::vector<std::pair<int64_t, uint64_t>> table, added = {
      {DT_RELR, cursor - report.relrBytes}, {DT_RELRSZ, report.relrBytes}, {DT_RELRENT, 8}};
  size_t next = 0;
  for (const Dyn &d : slots) {
    if (d.d_tag == DT_NULL)
      break;
    bool freed = d.d_tag == DT_RELACOUNT ||
                 (kept.empty() && (d.d_tag == DT_RELA || d.d_tag == DT_RELASZ || d.d_tag == DT_RELAENT));
    if (!freed)
      table.push_back({d.d_tag, d.d_tag == DT_RELASZ ? report.relaBytesAfter : d.d_un.d_val});
    else if (next < added.size())
      table.push_back(added[next++]);
  }
  table.insert(table.end(), added.begin() + next, added.end());
  if (table.size() + 1 > slots.size())
    fatal(in.name() + ": internal: .dynamic has no room for DT_RELR", ExitInternal);
  for (size_t k = 0; k < slots.size(); ++k) {
    slots[k].d_tag = k < table.size() ? table[k].first : int64_t(DT_NULL);
    slots[k].d_un.d_val = k < table.size() ? table[k].second : 0;
  }
  return plan;
}

void finishPack(ElfEditor &editor, const PlannedPack &plan) {
  if (plan.verneedCopy)
    editor.setDynamicEntry(DT_VERNEED, editor.sectionAddress(*plan.verneedCopy));
  if (plan.dynstrCopy) {
    editor.setDynamicEntry(DT_STRTAB, editor.sectionAddress(*plan.dynstrCopy));
    editor.setDynamicEntry(DT_STRSZ, editor.mutableNewContents(*plan.dynstrCopy).size());
  }
}

} // namespace elfopt
