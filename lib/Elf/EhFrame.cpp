//===- EhFrame.cpp - .eh_frame FDEs and their LSDAs -------------------------===//
//
// The format is the LSB's (Linux Standard Base, "Exception Frames"); the
// LSDA is GCC's (libgcc/unwind-dw2-fde.c, libstdc++ eh_personality.cc).
// Only what the rewrite needs: where each FDE's pc_begin field is, the range
// it covers, and the landing pads its LSDA names (they must move with the
// code that throws).
//
//===----------------------------------------------------------------------===//
#include "elfopt/Elf/EhFrame.h"

#include "elfopt/Support/Diagnostics.h"

#include "llvm/Support/LEB128.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <utility>

namespace elfopt {

namespace {

enum : uint8_t {
  PeAbsptr = 0x00, PeUleb = 0x01, PeUdata2 = 0x02, PeUdata4 = 0x03, PeUdata8 = 0x04,
  PeSleb = 0x09, PeSdata2 = 0x0a, PeSdata4 = 0x0b, PeSdata8 = 0x0c,
  PePcrel = 0x10, PeDatarel = 0x30, PeIndirect = 0x80, PeOmit = 0xff,
};

/// Bounds-checked reading of one section's bytes, at link-time addresses.
struct Reader {
  std::span<const uint8_t> data;
  uint64_t address; // of data[0]
  std::string where;
  uint64_t pos = 0;

  [[noreturn]] void bad(const std::string &what) const {
    fatal(where + ": " + what + " at " + hex(address + pos));
  }
  void need(uint64_t n) const {
    if (n > data.size() || pos > data.size() - n)
      bad("truncated record");
  }
  uint64_t fixed(unsigned n) {
    need(n);
    uint64_t v = 0;
    std::memcpy(&v, data.data() + pos, n);
    pos += n;
    return v;
  }
  uint64_t uleb() {
    uint64_t v = 0;
    for (unsigned shift = 0;; shift += 7) {
      need(1);
      uint8_t b = data[pos++];
      if (shift < 64)
        v |= uint64_t(b & 0x7f) << shift;
      if (!(b & 0x80))
        return v;
      if (shift > 70)
        bad("LEB128 number too long");
    }
  }
  int64_t sleb() {
    int64_t v = 0;
    unsigned shift = 0;
    uint8_t b;
    do {
      need(1);
      b = data[pos++];
      if (shift < 64)
        v |= int64_t(b & 0x7f) << shift;
      shift += 7;
      if (shift > 77)
        bad("LEB128 number too long");
    } while (b & 0x80);
    if (shift < 64 && (b & 0x40))
      v |= -(int64_t(1) << shift);
    return v;
  }
  std::string cstring() {
    std::string s;
    for (;;) {
      need(1);
      char c = char(data[pos++]);
      if (!c)
        return s;
      s += c;
    }
  }
  /// An encoded pointer; \p dataBase for DW_EH_PE_datarel.
  uint64_t pointer(uint8_t enc, uint64_t dataBase = 0) {
    if (enc == PeOmit)
      return 0;
    uint64_t here = address + pos;
    uint64_t v;
    if (auto format = encodedPointerFormat(enc)) {
      v = fixed(format->size);
      unsigned unused = 64 - 8 * format->size;
      if (format->isSigned && unused)
        v = uint64_t(int64_t(v << unused) >> unused);
    } else if ((enc & 0x0f) == PeUleb) {
      v = uleb();
    } else if ((enc & 0x0f) == PeSleb) {
      v = uint64_t(sleb());
    } else {
      bad("unknown pointer encoding " + hex(enc));
    }
    switch (enc & 0x70) {
    case 0: break;
    case PePcrel: v += here; break;
    case PeDatarel: v += dataBase; break;
    default: bad("unsupported pointer application " + hex(enc));
    }
    return v;
  }
};

struct Cie {
  uint8_t fdeEncoding = PeAbsptr;
  uint8_t lsdaEncoding = PeOmit;
  bool hasAugmentationData = false;
};

struct Lsda {
  std::vector<uint64_t> landingPads;
  uint64_t begin = 0, end = 0; ///< see Fde::lsdaBegin
};

// The LSDA at \p lsda for a function starting at \p functionStart: the
// landing pads its call sites name, and the extent of what it describes.
Lsda readLsda(const ElfFile &in, uint64_t lsda, uint64_t functionStart) {
  const Section *table = nullptr;
  for (const Section &s : in.sections())
    if (s.isAlloc() && s.hasFileData() && lsda >= s.addr() && lsda < s.addr() + s.size())
      table = &s;
  if (!table)
    fatal(in.name() + ": an FDE's LSDA at " + hex(lsda) + " is outside every section");
  Reader r{in.contents(*table), table->addr(), in.where(*table), lsda - table->addr()};
  Lsda out;
  uint8_t lpEnc = uint8_t(r.fixed(1));
  uint64_t lpStart = lpEnc == PeOmit ? functionStart : r.pointer(lpEnc);
  uint8_t ttypeEnc = uint8_t(r.fixed(1));
  std::optional<uint64_t> ttypeBase; // section offset
  if (ttypeEnc != PeOmit) {
    uint64_t offset = r.uleb();
    ttypeBase = r.pos + offset;
  }
  uint8_t csEnc = uint8_t(r.fixed(1));
  uint64_t csLength = r.uleb();
  uint64_t end = r.pos + csLength;
  std::vector<uint64_t> actions;
  while (r.pos < end) {
    r.pointer(csEnc & 0x0f); // start, relative to lpStart
    r.pointer(csEnc & 0x0f); // length
    uint64_t pad = r.pointer(csEnc & 0x0f);
    if (uint64_t action = r.uleb())
      actions.push_back(action);
    if (pad)
      out.landingPads.push_back(lpStart + pad);
  }
  if (lpEnc != PeOmit)
    return out;
  // The action records the call sites name (1-based offsets into the table
  // after the call sites), each a type filter and a self-relative link to
  // the next. Read without throwing: a record that cannot be followed only
  // leaves the extent unknown.
  uint64_t extent = r.pos;
  std::span<const uint8_t> bytes = r.data;
  auto sleb = [&](uint64_t &at) -> std::optional<int64_t> {
    unsigned length = 0;
    const char *error = nullptr;
    int64_t v = llvm::decodeSLEB128(bytes.data() + at, &length, bytes.data() + bytes.size(), &error);
    if (error)
      return std::nullopt;
    at += length;
    return v;
  };
  uint64_t actionTable = r.pos;
  for (uint64_t first : actions) {
    uint64_t at = actionTable + first - 1;
    for (unsigned steps = 0;; ++steps) {
      if (steps > 256 || at >= bytes.size())
        return out;
      auto filter = sleb(at);
      uint64_t nextField = at;
      auto next = filter ? sleb(at) : std::nullopt;
      if (!next)
        return out;
      extent = std::max(extent, at);
      if (*next == 0)
        break;
      at = uint64_t(int64_t(nextField) + *next);
    }
  }
  if (ttypeBase) {
    if (*ttypeBase > bytes.size())
      return out;
    extent = std::max(extent, *ttypeBase);
  }
  out.begin = lsda;
  out.end = r.address + extent;
  return out;
}

// Reads .eh_frame_hdr's header; returns the number of entries of its
// search table (0 without one: unwinders then walk .eh_frame) and leaves
// \p r at the table, whose bytes it has checked are there.
uint64_t searchTableEntries(Reader &r) {
  uint8_t version = uint8_t(r.fixed(1));
  uint8_t ptrEnc = uint8_t(r.fixed(1));
  uint8_t countEnc = uint8_t(r.fixed(1));
  uint8_t tableEnc = uint8_t(r.fixed(1));
  if (version != 1)
    r.bad("unknown .eh_frame_hdr version " + std::to_string(version));
  r.pointer(ptrEnc);
  if (countEnc == PeOmit || tableEnc == PeOmit)
    return 0;
  if (tableEnc != (PeDatarel | PeSdata4))
    r.bad(".eh_frame_hdr table encoding " + hex(tableEnc) + " is not supported");
  uint64_t count = r.pointer(countEnc);
  r.need(count * 8);
  return count;
}

} // namespace

std::optional<EncodedPointerFormat> encodedPointerFormat(uint8_t encoding) {
  switch (encoding & 0x0f) {
  case PeAbsptr: return EncodedPointerFormat{8, false};
  case PeUdata2: return EncodedPointerFormat{2, false};
  case PeUdata4: return EncodedPointerFormat{4, false};
  case PeUdata8: return EncodedPointerFormat{8, false};
  case PeSdata2: return EncodedPointerFormat{2, true};
  case PeSdata4: return EncodedPointerFormat{4, true};
  case PeSdata8: return EncodedPointerFormat{8, true};
  default: return std::nullopt; // PeUleb, PeSleb, or undefined
  }
}

std::vector<Fde> readEhFrame(const ElfFile &in) {
  std::vector<Fde> fdes;
  const Section *eh = in.findSection(".eh_frame");
  if (!eh || !eh->hasFileData())
    return fdes;
  Reader r{in.contents(*eh), eh->addr(), in.where(*eh)};
  std::map<uint64_t, Cie> cies;
  while (r.pos + 4 <= r.data.size()) {
    uint64_t recordStart = r.pos;
    uint64_t length = r.fixed(4);
    if (length == 0)
      continue; // a terminator; the linker may have left more after it
    if (length == 0xffffffff)
      length = r.fixed(8);
    uint64_t bodyStart = r.pos;
    r.need(length);
    uint64_t recordEnd = bodyStart + length;
    uint64_t id = r.fixed(4);
    if (id == 0) {
      Cie cie;
      uint8_t version = uint8_t(r.fixed(1));
      std::string aug = r.cstring();
      // Anything else would leave the FDEs' layout unknown.
      if (!aug.empty() && aug[0] != 'z' && aug != "eh")
        r.bad("unknown CIE augmentation '" + aug + "'");
      if (aug.find("eh") != std::string::npos)
        r.fixed(8);
      r.uleb();
      r.sleb();
      if (version == 1)
        r.fixed(1);
      else
        r.uleb();
      if (!aug.empty() && aug[0] == 'z') {
        cie.hasAugmentationData = true;
        r.uleb();
        for (char c : aug.substr(1)) {
          if (c == 'L')
            cie.lsdaEncoding = uint8_t(r.fixed(1));
          else if (c == 'R')
            cie.fdeEncoding = uint8_t(r.fixed(1));
          else if (c == 'P') {
            uint8_t enc = uint8_t(r.fixed(1));
            r.pointer(enc & 0x7f);
          } else if (c != 'S' && c != 'B' && c != 'G')
            r.bad("unknown CIE augmentation '" + aug + "'");
        }
      }
      cies[recordStart] = cie;
    } else {
      uint64_t ciePos = bodyStart - id;
      auto it = cies.find(ciePos);
      if (id > bodyStart || it == cies.end())
        r.bad("FDE whose CIE pointer does not name an earlier CIE");
      const Cie &cie = it->second;
      Fde f;
      f.recordAddress = r.address + recordStart;
      f.fieldAddress = r.address + r.pos;
      f.encoding = cie.fdeEncoding;
      if ((f.encoding & 0x70) != 0 && (f.encoding & 0x70) != PePcrel)
        r.bad("FDE pc_begin encoding " + hex(f.encoding) + " is not supported");
      f.pcBegin = r.pointer(f.encoding);
      f.pcEnd = f.pcBegin + r.pointer(f.encoding & 0x0f);
      if (cie.hasAugmentationData) {
        uint64_t augLength = r.uleb();
        uint64_t augEnd = r.pos + augLength;
        if (cie.lsdaEncoding != PeOmit) {
          bool indirect = cie.lsdaEncoding & PeIndirect;
          uint64_t lsda = r.pointer(cie.lsdaEncoding & 0x7f);
          if (lsda && !indirect) {
            Lsda read = readLsda(in, lsda, f.pcBegin);
            f.landingPads = std::move(read.landingPads);
            f.lsdaBegin = read.begin;
            f.lsdaEnd = read.end;
          }
        }
        r.pos = augEnd;
      }
      fdes.push_back(f);
    }
    r.pos = recordEnd;
  }
  return fdes;
}

void rebuildEhFrameHdr(const ElfFile &in, const std::vector<Fde> &fdes, std::span<uint8_t> hdr,
                       const std::function<uint64_t(uint64_t)> &newAddress) {
  const Section *s = in.findSection(".eh_frame_hdr");
  Reader r{{hdr.data(), hdr.size()}, s->addr(), in.where(*s)};
  uint64_t count = searchTableEntries(r);
  uint64_t tablePos = r.pos;
  std::map<uint64_t, const Fde *> byRecord;
  for (const Fde &f : fdes)
    byRecord[f.recordAddress] = &f;
  std::vector<std::pair<int32_t, int32_t>> entries(count);
  for (uint64_t i = 0; i < count; ++i) {
    int32_t initial = int32_t(r.fixed(4));
    int32_t fde = int32_t(r.fixed(4));
    uint64_t record = s->addr() + int64_t(fde);
    auto it = byRecord.find(record);
    if (it == byRecord.end())
      r.bad(".eh_frame_hdr entry names no FDE");
    (void)initial; // regenerated from the FDE itself, which is what unwinders trust
    int64_t location = int64_t(newAddress(it->second->pcBegin)) - int64_t(s->addr());
    if (location != int32_t(location))
      r.bad(".eh_frame_hdr entry out of range");
    entries[i] = {int32_t(location), fde};
  }
  // Unwinders search by address: sort by what each entry resolves to.
  std::sort(entries.begin(), entries.end(), [&](const auto &a, const auto &b) {
    uint64_t x = s->addr() + int64_t(a.first), y = s->addr() + int64_t(b.first);
    return x < y || (x == y && a.second < b.second);
  });
  for (uint64_t i = 0; i < count; ++i) {
    std::memcpy(hdr.data() + tablePos + 8 * i, &entries[i].first, 4);
    std::memcpy(hdr.data() + tablePos + 8 * i + 4, &entries[i].second, 4);
  }
}

std::vector<std::pair<uint64_t, uint64_t>> readEhFrameHdr(const ElfFile &in) {
  std::vector<std::pair<uint64_t, uint64_t>> out;
  const Section *s = in.findSection(".eh_frame_hdr");
  if (!s || !s->hasFileData())
    return out;
  Reader r{in.contents(*s), s->addr(), in.where(*s)};
  uint64_t count = searchTableEntries(r);
  for (uint64_t i = 0; i < count; ++i) {
    int32_t initial = int32_t(r.fixed(4));
    int32_t fde = int32_t(r.fixed(4));
    out.push_back({s->addr() + int64_t(initial), s->addr() + int64_t(fde)});
  }
  return out;
}

} // namespace elfopt
