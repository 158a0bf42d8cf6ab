//===- Dynsort.cpp --------------------------------------------------------===//
#include "elfopt/Dynsym/Dynsort.h"
#include "elfopt/Scope/LookupMix.h"
#include "elfopt/Elf/Versions.h"
#include "elfopt/Hash/HashTables.h"
#include "elfopt/Support/Diagnostics.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <numeric>
#include <span>

using namespace llvm::ELF;

namespace elfopt {

namespace {

constexpr double MinModelledGain = 0.005;

// The section the loader reaches through dynamic tag \p tag (it never looks
// at section links); without the tag, the section linked to \p link.
const Section *tableOf(const ElfFile &f, int64_t tag, uint32_t type, unsigned link) {
  auto address = f.dynamicValue(tag);
  if (!address)
    return f.findLinkedSection(type, link);
  for (const Section &s : f.sections())
    if (s.type() == type && s.addr() == *address)
      return &s;
  fatal(f.name() + ": dynamic tag " + hex(uint64_t(tag)) + " points at " + hex(*address) +
        ", where no section of type " + hex(type) + " starts");
}

constexpr int64_t DtSyminfo = 0x6ffffeff;

// A string table where a string that ends another shares its bytes; the
// first strings added come first.
class StringLayout {
public:
  void add(const std::string &s) {
    if (index.emplace(s, order.size()).second)
      order.push_back(s);
  }
  void finalize() {
    // Longest-first over reversed strings: each string is hosted by the
    // string that it is a suffix of, if any.
    std::vector<std::string> reversed(order.size());
    for (size_t i = 0; i < order.size(); ++i)
      reversed[i] = std::string(order[i].rbegin(), order[i].rend());
    std::vector<size_t> byReverse(order.size());
    std::iota(byReverse.begin(), byReverse.end(), 0);
    std::sort(byReverse.begin(), byReverse.end(),
              [&](size_t a, size_t b) { return reversed[a] > reversed[b]; });
    host.assign(order.size(), SIZE_MAX);
    for (size_t k = 0; k < byReverse.size(); ++k) {
      size_t i = byReverse[k];
      if (k > 0) {
        size_t prev = byReverse[k - 1]; // sorts right before: candidate host
        size_t h = host[prev] == SIZE_MAX ? prev : host[prev];
        if (reversed[h].compare(0, reversed[i].size(), reversed[i]) == 0) {
          host[i] = h;
          continue;
        }
      }
    }
    bytes.assign(1, 0);
    offsets.assign(order.size(), 0);
    for (size_t i = 0; i < order.size(); ++i)
      if (host[i] == SIZE_MAX) {
        offsets[i] = bytes.size();
        bytes.insert(bytes.end(), order[i].begin(), order[i].end());
        bytes.push_back(0);
      }
    for (size_t i = 0; i < order.size(); ++i)
      if (host[i] != SIZE_MAX)
        offsets[i] = offsets[host[i]] + order[host[i]].size() - order[i].size();
  }
  uint32_t offsetOf(const std::string &s) const {
    return s.empty() ? 0 : uint32_t(offsets[index.at(s)]);
  }
  std::vector<uint8_t> bytes;

private:
  std::map<std::string, size_t> index;
  std::vector<std::string> order;
  std::vector<size_t> host, offsets;
};

// glibc caches the last symbol each object looked up, so relocations against
// one symbol cost one lookup only when adjacent. Linkers group them
// (-z combreloc, the default); an input linked with -z nocombreloc gets
// them grouped here: each symbol's relocations move up to its first one,
// symbols keep the order of their first relocation, relocations without a
// symbol keep their place relative to each other (R_X86_64_RELATIVE ones in
// front, as DT_RELACOUNT may require; IRELATIVE ones last, after the data
// their resolvers read). Left alone when two relocations share an offset
// (their order would matter).
void groupRelocationsBySymbol(std::span<uint8_t> bytes, DynsortResult &result) {
  size_t n = bytes.size() / sizeof(ELFT::Rela);
  if (n < 2)
    return;
  std::vector<ELFT::Rela> relas(n);
  std::memcpy(relas.data(), bytes.data(), n * sizeof(ELFT::Rela));
  auto symbolOf = [](const ELFT::Rela &r) { return uint32_t(uint64_t(r.r_info) >> 32); };
  auto typeOf = [](const ELFT::Rela &r) { return uint32_t(uint64_t(r.r_info) & 0xffffffff); };
  std::vector<uint64_t> offsets(n);
  for (size_t i = 0; i < n; ++i)
    offsets[i] = relas[i].r_offset;
  std::sort(offsets.begin(), offsets.end());
  if (std::adjacent_find(offsets.begin(), offsets.end()) != offsets.end())
    return;
  std::map<uint32_t, size_t> firstOf; // symbol -> position of its first relocation
  auto runs = [&](const std::vector<ELFT::Rela> &v) {
    uint64_t count = 0;
    for (size_t i = 0; i < v.size(); ++i)
      count += symbolOf(v[i]) && (i == 0 || symbolOf(v[i - 1]) != symbolOf(v[i]));
    return count;
  };
  for (size_t i = 0; i < n; ++i)
    firstOf.emplace(symbolOf(relas[i]), i);
  auto rank = [&](const ELFT::Rela &r) {
    uint32_t type = typeOf(r);
    if (type == R_X86_64_RELATIVE)
      return 0;
    return type == R_X86_64_IRELATIVE ? 2 : 1;
  };
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  // (rank, position of the group): a symbol's group sits where its first
  // relocation was; a relocation without a symbol is a group of its own.
  auto key = [&](size_t i) {
    uint32_t sym = symbolOf(relas[i]);
    return std::pair<int, size_t>(rank(relas[i]), sym ? firstOf[sym] : i);
  };
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return key(a) < key(b); });
  std::vector<ELFT::Rela> sorted(n);
  for (size_t k = 0; k < n; ++k)
    sorted[k] = relas[order[k]];
  result.relocationRunsBefore += runs(relas);
  result.relocationRunsAfter += runs(sorted);
  std::memcpy(bytes.data(), sorted.data(), n * sizeof(ELFT::Rela));
}

/// One name field of a version section, and the string it names.
struct NameField {
  unsigned section;
  uint64_t at; ///< offset of the u32 field within the section
  std::string value;
};

/// One run of dynsort over an editor's file: every check and every choice
/// first, then the writes.
class Dynsorter {
public:
  Dynsorter(ElfEditor &editor, const DynsortOptions &options)
      : editor(editor), in(editor.input()), n(in.name()), options(options) {}
  DynsortResult run();

private:
  void findTables();
  void readSymbols();
  void orderUnhashedFirst();
  void chooseShape();
  void orderByBucket();
  void layOutStrings();
  std::string stringAt(uint64_t offset, const char *what) const;
  void readVersionNames(const Section *sec, bool needs);
  void writeStringsAndSymbols();
  void permuteVersym();
  void renumberRelocations();
  void rebuildSysvHash();
  void writeGnuHash();

  ElfEditor &editor;
  const ElfFile &in;
  const std::string &n;
  const DynsortOptions &options;
  const Section *dynsym = nullptr, *dynstr = nullptr, *gnu = nullptr, *sysv = nullptr;
  std::span<uint8_t> symBytes, dynstrBytes;
  std::span<Dyn> dynamic;
  size_t count = 0;
  std::vector<Sym> syms;               ///< .dynsym as it was
  std::vector<Symbol> named;           ///< the same, decoded
  std::vector<uint32_t> order;         ///< new index -> old index
  std::vector<uint32_t> newIndex;      ///< old index -> new index
  uint32_t symoffset = 0;              ///< the first hashed symbol's new index
  std::optional<GnuHashTable> old;     ///< the file's GNU table, if any
  std::vector<uint32_t> hashOf;        ///< GNU hash by old index (hashed symbols)
  std::vector<uint32_t> hashes;        ///< of the hashed symbols, in the old order
  uint64_t oldBytes = 0;               ///< the old GNU table's size
  StringLayout strings;
  std::vector<NameField> versionNames;
  DynsortResult result;
};

DynsortResult Dynsorter::run() {
  // Refuse what dynsort cannot renumber before reading anything.
  findTables();
  readSymbols();
  // Which symbols are hashed: only those are sorted, and their hashes feed the model.
  orderUnhashedFirst();
  // The shape before the order: hashed symbols are sorted by its buckets.
  chooseShape();
  orderByBucket();
  // Every string check (and its fatal error) before the first write.
  layOutStrings();
  // From here on, write.
  writeStringsAndSymbols();
  // Tables indexed by symbol follow the new order.
  permuteVersym();
  renumberRelocations();
  // The hash tables last: they are built from the names in the new order.
  if (sysv)
    rebuildSysvHash();
  writeGnuHash();
  return std::move(result);
}

void Dynsorter::findTables() {
  dynsym = in.findSectionOfType(SHT_DYNSYM);
  if (!dynsym)
    fatal(n + ": no .dynsym: nothing to sort (a static file)");
  if (dynsym->header.sh_link == 0 || dynsym->header.sh_link >= in.sections().size())
    fatal(n + ": .dynsym has no string table");
  dynstr = &in.sections()[dynsym->header.sh_link];
  gnu = in.findLinkedSection(SHT_GNU_HASH, dynsym->index);
  sysv = in.findLinkedSection(SHT_HASH, dynsym->index);
  if (!gnu && !sysv)
    fatal(n + ": .dynsym has no hash table (neither .gnu.hash nor .hash)");
  if (in.dynamicValue(DtSyminfo))
    fatal(n + ": has DT_SYMINFO, which dynsort does not renumber");
  for (const Section &s : in.sections())
    if (s.type() == SHT_REL && s.header.sh_link == dynsym->index)
      fatal(n + ": SHT_REL relocations against .dynsym are not supported");
  if (in.dynamicValue(DT_SYMTAB) != dynsym->addr() || in.dynamicValue(DT_STRTAB) != dynstr->addr())
    fatal(n + ": DT_SYMTAB/DT_STRTAB do not point at .dynsym/.dynstr");
  if (gnu && in.dynamicValue(DT_GNU_HASH) != gnu->addr())
    fatal(n + ": DT_GNU_HASH does not point at " + gnu->name);
}

void Dynsorter::readSymbols() {
  symBytes = editor.mutableContents(dynsym->index);
  count = symBytes.size() / sizeof(Sym);
  if (count == 0)
    fatal(n + ": .dynsym is empty");
  syms.resize(count);
  std::memcpy(syms.data(), symBytes.data(), count * sizeof(Sym));
  named = in.symbols(*dynsym);
  result.symbols = uint32_t(count);
}

// The symbols the GNU table leaves out stay in front, in their order. An
// existing table says which they are; for a file with only SysV .hash they
// are the locals and the undefined symbols, moved in front of the defined
// ones (locals stay first: sh_info counts them).
void Dynsorter::orderUnhashedFirst() {
  order.resize(count);
  std::iota(order.begin(), order.end(), 0);
  if (gnu) {
    old = parseGnuHash(in.contents(*gnu), count, in.where(*gnu));
    symoffset = old->symoffset;
  } else {
    auto rank = [&](uint32_t i) {
      return i == 0 ? 0 : named[i].binding == STB_LOCAL ? 1 : !named[i].isDefined() ? 2 : 3;
    };
    std::stable_sort(order.begin(), order.end(),
                     [&](uint32_t a, uint32_t b) { return rank(a) < rank(b); });
    symoffset = uint32_t(std::find_if(order.begin(), order.end(),
                                      [&](uint32_t i) { return rank(i) == 3; }) -
                         order.begin());
    result.builtFromSysv = true;
  }
  hashOf.assign(count, 0);
  for (size_t k = symoffset; k < count; ++k) {
    hashOf[order[k]] = gnuHash(named[order[k]].name);
    hashes.push_back(hashOf[order[k]]);
  }
  result.hashed = uint32_t(hashes.size());
}

void Dynsorter::chooseShape() {
  CostModelOptions model;
  if (options.missesPerHit) {
    model.missesPerHit = *options.missesPerHit;
    result.missesPerHitFrom = "option";
  } else {
    result.mix = options.lookups ? *options.lookups : estimateLookupMix(in);
    result.missesPerHitFrom = options.lookups ? options.lookupsSource : "relocations";
    model.missesPerHit = result.mix.missesPerHit();
  }
  result.missesPerHit = model.missesPerHit;
  oldBytes = gnu ? gnu->size() : 0;
  GnuHashShape oldShape = gnu ? GnuHashShape{old->nbuckets, uint32_t(old->bloom.size()), old->bloomShift}
                              : bfdShape(uint32_t(hashes.size()));
  result.before = costOf(hashes, oldShape, model);
  // Within the old table's bytes unless told otherwise; a file without a
  // GNU table gets at most what ld.bfd would have built.
  model.budgetBytes = options.budgetBytes ? options.budgetBytes : gnu ? oldBytes : result.before.bytes;
  result.after = options.keepShape ? result.before : optimizeShape(hashes, model);
  if (result.after.bytes > model.budgetBytes && !options.keepShape)
    result.after = result.before; // nothing fits the budget: the old shape
  // The model counts cache lines, not the chain compares and string
  // compares ld.so executes; measured on libLLVM-19 (bench/dynsort-ldso.sh),
  // shapes it rated 0.2% better ran 0.3% more ld.so instructions. Below
  // that resolution a new shape is not worth the risk: keep the old one.
  result.best = result.after;
  if (gnu && !options.keepShape && result.after.weighted > result.before.weighted * (1 - MinModelledGain)) {
    result.gainTooSmall = result.after.weighted < result.before.weighted;
    result.after = result.before;
  }
}

// The new order: the unhashed symbols as above; the hashed ones by bucket,
// then by their old index.
void Dynsorter::orderByBucket() {
  const GnuHashShape &shape = result.after.shape;
  std::stable_sort(order.begin() + symoffset, order.end(), [&](uint32_t a, uint32_t b) {
    return hashOf[a] % shape.nbuckets < hashOf[b] % shape.nbuckets;
  });
  newIndex.resize(count);
  for (uint32_t k = 0; k < count; ++k)
    newIndex[order[k]] = k;
}

// .dynstr: names in the new order, then every other string it holds.
void Dynsorter::layOutStrings() {
  for (uint32_t k = 0; k < count; ++k) // entry 0 too: a hostile one has a name
    strings.add(named[order[k]].name);
  dynamic = editor.mutableDynamic();
  for (const Dyn &d : dynamic)
    if (isDynamicStringTag(d.d_tag))
      strings.add(in.dynamicString(d.d_un.d_val));
  dynstrBytes = editor.mutableContents(dynstr->index);
  readVersionNames(tableOf(in, DT_VERNEED, SHT_GNU_verneed, dynstr->index), true);
  readVersionNames(tableOf(in, DT_VERDEF, SHT_GNU_verdef, dynstr->index), false);
  for (const NameField &f : versionNames)
    strings.add(f.value);
  strings.finalize();
  result.dynstrBefore = dynstr->size();
  result.dynstrAfter = strings.bytes.size();
  if (strings.bytes.size() > dynstrBytes.size())
    fatal(n + ": .dynstr would grow from " + std::to_string(dynstrBytes.size()) + " to " +
          std::to_string(strings.bytes.size()) + " bytes; it holds strings dynsort does not know");
}

std::string Dynsorter::stringAt(uint64_t offset, const char *what) const {
  if (offset >= dynstrBytes.size())
    fatal(n + ": " + what + " name offset " + hex(offset) + " is past the end of .dynstr");
  const char *p = reinterpret_cast<const char *>(dynstrBytes.data()) + offset;
  return std::string(p, strnlen(p, dynstrBytes.size() - offset));
}

// The name fields of version section \p sec (Verneed if \p needs, else
// Verdef), into versionNames.
void Dynsorter::readVersionNames(const Section *sec, bool needs) {
  if (!sec)
    return;
  auto record = [&](const VersionNameField &f) {
    const char *what = f.kind == VersionNameField::NeededFile ? "version file" : "version";
    versionNames.push_back({sec->index, f.at, stringAt(f.name, what)});
    return true;
  };
  auto truncated = walkVersionNames(editor.mutableContents(sec->index), needs, record);
  if (truncated)
    fatal(in.where(*sec, truncated->at) +
          (truncated->auxiliary ? ": truncated version auxiliary entry" : ": truncated version entry"));
}

// .dynstr, .dynsym in the new order, and every field that names a string.
void Dynsorter::writeStringsAndSymbols() {
  std::fill(dynstrBytes.begin(), dynstrBytes.end(), 0);
  std::memcpy(dynstrBytes.data(), strings.bytes.data(), strings.bytes.size());
  for (uint32_t k = 0; k < count; ++k) {
    Sym s = syms[order[k]];
    s.st_name = strings.offsetOf(named[order[k]].name);
    std::memcpy(symBytes.data() + k * sizeof(Sym), &s, sizeof(Sym));
    result.names.push_back(named[order[k]].name);
  }
  for (Dyn &d : dynamic)
    if (isDynamicStringTag(d.d_tag))
      d.d_un.d_val = strings.offsetOf(in.dynamicString(d.d_un.d_val));
  for (const NameField &f : versionNames) {
    uint32_t v = strings.offsetOf(f.value);
    std::memcpy(editor.mutableContents(f.section).data() + f.at, &v, 4);
  }
}

void Dynsorter::permuteVersym() {
  const Section *versym = tableOf(in, DT_VERSYM, SHT_GNU_versym, dynsym->index);
  if (!versym)
    return;
  auto b = editor.mutableContents(versym->index);
  if (b.size() < count * 2)
    fatal(in.where(*versym) + ": shorter than .dynsym");
  std::vector<uint16_t> v(count);
  std::memcpy(v.data(), b.data(), count * 2);
  for (uint32_t k = 0; k < count; ++k)
    std::memcpy(b.data() + k * 2, &v[order[k]], 2);
}

void Dynsorter::renumberRelocations() {
  editor.renumberRelocationSymbols(dynsym->index, count, [&](uint32_t sym) { return newIndex[sym]; });
  for (const Section &s : in.sections())
    if (s.type() == SHT_RELA && s.header.sh_link == dynsym->index &&
        s.addr() != in.dynamicValue(DT_JMPREL).value_or(~0ull)) // PLT stubs index .rela.plt
      groupRelocationsBySymbol(editor.mutableContents(s.index), result);
}

// SysV .hash, with its old bucket count.
void Dynsorter::rebuildSysvHash() {
  auto b = editor.mutableContents(sysv->index);
  uint32_t nb;
  std::memcpy(&nb, b.data(), 4);
  if (nb == 0 || b.size() < 8 + 4 * (uint64_t(nb) + count))
    fatal(in.where(*sysv) + ": SysV hash table too small for .dynsym");
  std::vector<uint32_t> bucket(nb, 0), chain(count, 0);
  for (uint32_t k = 1; k < count; ++k) {
    uint32_t h = sysvHash(result.names[k]) % nb;
    chain[k] = bucket[h];
    bucket[h] = k;
  }
  uint32_t nchain = uint32_t(count);
  std::memcpy(b.data() + 4, &nchain, 4);
  std::memcpy(b.data() + 8, bucket.data(), 4 * nb);
  std::memcpy(b.data() + 8 + 4 * uint64_t(nb), chain.data(), 4 * count);
}

// .gnu.hash for the new order: in place when it fits, else in a new section
// (in the new segment) that DT_GNU_HASH will point at.
void Dynsorter::writeGnuHash() {
  std::vector<uint32_t> sortedHashes;
  for (uint32_t k = symoffset; k < count; ++k)
    sortedHashes.push_back(hashOf[order[k]]);
  std::vector<uint8_t> table = buildGnuHash(result.after.shape, symoffset, sortedHashes);
  if (gnu && table.size() <= oldBytes) {
    auto b = editor.mutableContents(gnu->index);
    std::fill(b.begin(), b.end(), 0);
    std::memcpy(b.data(), table.data(), table.size());
    editor.shrinkSection(gnu->index, table.size());
    return;
  }
  if (!gnu)
    editor.addDynamicEntry(DT_GNU_HASH, 0); // the address is known after layout
  else
    editor.retireSection(gnu->index, ".elfopt.old.gnu.hash");
  NewSection s;
  s.name = ".gnu.hash";
  s.type = SHT_GNU_HASH;
  s.align = 8;
  s.link = dynsym->index;
  s.data = std::move(table);
  result.newTable = editor.addSection(std::move(s));
}

} // namespace

DynsortResult dynsort(ElfEditor &editor, const DynsortOptions &options) {
  return Dynsorter(editor, options).run();
}

void finishDynsort(ElfEditor &editor, const DynsortResult &result) {
  if (result.newTable)
    editor.setDynamicEntry(DT_GNU_HASH, editor.sectionAddress(*result.newTable));
}

} // namespace elfopt
