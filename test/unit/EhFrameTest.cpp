// .eh_frame and .eh_frame_hdr (lib/Elf/EhFrame.cpp) on bytes written out
// here, record by record, in a minimal ELF file built in memory: CIEs and
// FDEs (pointer encodings, 64-bit lengths, old "eh" augmentations), LSDA
// landing pads, the .eh_frame_hdr search table, and the exact message for
// each kind of malformed record.
#include "elfopt/Elf/EhFrame.h"
#include "Support.h"

#include <gtest/gtest.h>

#include <cstring>

using namespace elfopt;
using namespace elfopt::test;
using namespace llvm::ELF;

namespace {

// Where the sections are linked.
constexpr uint64_t HdrAddr = 0x2000, EhAddr = 0x2100, ExceptAddr = 0x2400;

// Little-endian bytes, appended field by field.
struct Bytes {
  std::vector<uint8_t> v;
  Bytes &u8(uint8_t x) {
    v.push_back(x);
    return *this;
  }
  Bytes &u32(uint32_t x) {
    for (int i = 0; i < 4; ++i)
      u8(uint8_t(x >> (8 * i)));
    return *this;
  }
  Bytes &s32(int32_t x) { return u32(uint32_t(x)); }
  Bytes &u64(uint64_t x) {
    for (int i = 0; i < 8; ++i)
      u8(uint8_t(x >> (8 * i)));
    return *this;
  }
  Bytes &str(const char *s) {
    v.insert(v.end(), s, s + std::strlen(s) + 1);
    return *this;
  }
  Bytes &raw(std::initializer_list<uint8_t> b) {
    v.insert(v.end(), b);
    return *this;
  }
  Bytes &append(const Bytes &b) {
    v.insert(v.end(), b.v.begin(), b.v.end());
    return *this;
  }
  size_t size() const { return v.size(); }
};

// A record: 4-byte length, then the body.
Bytes record(const Bytes &body) { return Bytes().u32(uint32_t(body.size())).append(body); }

// CIE body for augmentation "zR" (FDE pointers in \p fdeEncoding), version 1,
// code alignment 1, data alignment -8, return address register 16, and
// def_cfa rsp+8; offset r16 at cfa-8.
Bytes cieZR(uint8_t fdeEncoding) {
  return Bytes().u32(0).u8(1).str("zR").u8(1).u8(0x78).u8(16).u8(1).u8(fdeEncoding).raw(
      {0x0c, 0x07, 0x08, 0x90, 0x01, 0, 0});
}

// FDE body with pc-relative sdata4 pc_begin (CIE "zR" 0x1b): \p at is the
// FDE's own offset in .eh_frame, \p cie the CIE's.
Bytes fdePcrel(uint64_t at, uint64_t cie, uint64_t pcBegin, int32_t range) {
  uint64_t field = EhAddr + at + 8; // after length and CIE pointer
  return Bytes().u32(uint32_t(at + 4 - cie)).s32(int32_t(pcBegin - field)).s32(range).u8(0).raw(
      {0, 0, 0});
}

struct Input {
  const char *name;
  uint64_t addr;
  Bytes data;
};

// An ELF64 x86-64 shared object with no program headers: the header, each
// section's bytes at a 16-aligned offset from 0x100, .shstrtab, then the
// section header table.
std::vector<uint8_t> elfWith(const std::vector<Input> &inputs) {
  std::vector<uint8_t> out(0x100, 0);
  std::string names(1, '\0');
  std::vector<Shdr> headers(1);
  for (const Input &in : inputs) {
    Shdr s{};
    s.sh_name = uint32_t(names.size());
    names += in.name + std::string(1, '\0');
    s.sh_type = SHT_PROGBITS;
    s.sh_flags = SHF_ALLOC;
    s.sh_addr = in.addr;
    s.sh_offset = out.size();
    s.sh_size = in.data.size();
    s.sh_addralign = 8;
    out.insert(out.end(), in.data.v.begin(), in.data.v.end());
    out.resize((out.size() + 15) & ~size_t(15), 0);
    headers.push_back(s);
  }
  Shdr strtab{};
  strtab.sh_name = uint32_t(names.size());
  names += ".shstrtab";
  names += '\0';
  strtab.sh_type = SHT_STRTAB;
  strtab.sh_offset = out.size();
  strtab.sh_size = names.size();
  strtab.sh_addralign = 1;
  out.insert(out.end(), names.begin(), names.end());
  out.resize((out.size() + 7) & ~size_t(7), 0);
  headers.push_back(strtab);

  Ehdr eh = elfHeader(ET_DYN);
  eh.e_shoff = out.size();
  eh.e_shnum = uint16_t(headers.size());
  eh.e_shstrndx = uint16_t(headers.size() - 1);
  std::memcpy(out.data(), &eh, sizeof eh);
  size_t at = out.size();
  out.resize(at + headers.size() * sizeof(Shdr));
  std::memcpy(out.data() + at, headers.data(), headers.size() * sizeof(Shdr));
  return out;
}

std::unique_ptr<ElfFile> fileWith(const std::vector<Input> &inputs) {
  return ElfFile::fromBytes("tiny", elfWith(inputs));
}

std::vector<Fde> fdesOf(const Bytes &ehFrame, const std::vector<Input> &more = {}) {
  std::vector<Input> inputs = {{".eh_frame", EhAddr, ehFrame}};
  inputs.insert(inputs.end(), more.begin(), more.end());
  auto file = fileWith(inputs);
  return readEhFrame(*file);
}

std::string ehFrameError(const Bytes &ehFrame, const std::vector<Input> &more = {}) {
  return messageOf([&] { fdesOf(ehFrame, more); }, ExitBadInput);
}

void expectFde(const Fde &f, uint64_t record, uint64_t field, uint8_t encoding, uint64_t begin,
               uint64_t end) {
  EXPECT_EQ(f.recordAddress, record);
  EXPECT_EQ(f.fieldAddress, field);
  EXPECT_EQ(f.encoding, encoding);
  EXPECT_EQ(f.pcBegin, begin);
  EXPECT_EQ(f.pcEnd, end);
}

// The usual .eh_frame: a "zR" CIE (pcrel | sdata4) at 0, FDEs at 0x18 for
// [0x1000, 0x1040) and at 0x2c for [0x1040, 0x1060), then a terminator.
// Each FDE takes 0x14 bytes: length, CIE pointer, pc_begin, pc_range,
// augmentation length and three DW_CFA_nop.
Bytes usualEhFrame() {
  Bytes eh = record(cieZR(0x1b)); // 0x18 bytes
  eh.append(record(fdePcrel(0x18, 0, 0x1000, 0x40)));
  eh.append(record(fdePcrel(0x2c, 0, 0x1040, 0x20)));
  return eh.u32(0);
}

} // namespace

TEST(EhFrame, CieAndPcRelativeFdes) {
  Bytes eh = usualEhFrame();
  ASSERT_EQ(eh.size(), 0x18u + 0x14 + 0x14 + 4);
  auto fdes = fdesOf(eh);
  ASSERT_EQ(fdes.size(), 2u);
  expectFde(fdes[0], EhAddr + 0x18, EhAddr + 0x20, 0x1b, 0x1000, 0x1040);
  expectFde(fdes[1], EhAddr + 0x2c, EhAddr + 0x34, 0x1b, 0x1040, 0x1060);
  EXPECT_TRUE(fdes[0].landingPads.empty());
}

TEST(EhFrame, NoEhFrameNoFdes) {
  auto file = fileWith({{".text", 0x1000, Bytes().raw({0xc3})}});
  EXPECT_TRUE(readEhFrame(*file).empty());
  EXPECT_TRUE(readEhFrameHdr(*file).empty());
}

TEST(EhFrame, AbsoluteEncodingsAndOldCies) {
  // CIE 1: no augmentation: FDE pointers are absolute 8-byte addresses.
  Bytes eh = record(Bytes().u32(0).u8(1).str("").u8(1).u8(0x78).u8(16).raw({0, 0, 0})); // 0x10
  // FDE at 0x10: pc_begin 0x401000, range 0x30 (absptr: 8 bytes each).
  eh.append(record(Bytes().u32(0x14).u64(0x401000).u64(0x30)));
  // CIE 2 at 0x28: "zR" with udata8, version 3 (return register as ULEB).
  eh.append(record(Bytes().u32(0).u8(3).str("zR").u8(1).u8(0x78).u8(16).u8(1).u8(0x04).raw(
      {0, 0, 0}))); // 0x14
  // FDE at 0x3c for it: aug data length 0.
  eh.append(record(Bytes().u32(0x40 - 0x28).u64(0x402000).u64(0x10).u8(0).raw({0, 0, 0}))); // 0x1c
  // CIE 3 at 0x58: old GCC "eh" augmentation: 8 bytes of eh_ptr after it.
  eh.append(record(Bytes().u32(0).u8(1).str("eh").u64(0).u8(1).u8(0x78).u8(16).u8(0))); // 0x18
  // FDE at 0x70: absolute pointers, no augmentation data.
  eh.append(record(Bytes().u32(0x74 - 0x58).u64(0x403000).u64(0x8)));
  auto fdes = fdesOf(eh);
  ASSERT_EQ(fdes.size(), 3u);
  expectFde(fdes[0], EhAddr + 0x10, EhAddr + 0x18, 0x00, 0x401000, 0x401030);
  expectFde(fdes[1], EhAddr + 0x3c, EhAddr + 0x44, 0x04, 0x402000, 0x402010);
  expectFde(fdes[2], EhAddr + 0x70, EhAddr + 0x78, 0x00, 0x403000, 0x403008);
}

TEST(EhFrame, SixtyFourBitLength) {
  Bytes eh = record(cieZR(0x1b));
  // FDE at 0x18 with an extended length: 0xffffffff, then 8 bytes; the CIE
  // pointer stays 4 bytes and counts from its own place (0x24).
  Bytes body = fdePcrel(0x18 + 8, 0, 0x1000, 0x40); // field 8 bytes later
  eh.u32(0xffffffff).u64(body.size()).append(body);
  auto fdes = fdesOf(eh);
  ASSERT_EQ(fdes.size(), 1u);
  expectFde(fdes[0], EhAddr + 0x18, EhAddr + 0x28, 0x1b, 0x1000, 0x1040);
}

TEST(EhFrame, LandingPadsFromTheLsda) {
  // CIE "zPLR": personality (indirect|pcrel|sdata4), LSDA and FDE pointers
  // pcrel|sdata4. Augmentation data: 1 + 4 + 1 + 1 = 7 bytes.
  Bytes eh = record(Bytes().u32(0).u8(1).str("zPLR").u8(1).u8(0x78).u8(16).u8(7).u8(0x9b).s32(
      0x100).u8(0x1b).u8(0x1b).raw({0, 0, 0})); // 0x1c bytes
  // FDE at 0x1c for [0x1000, 0x1080): LSDA at ExceptAddr; FDE at 0x34 for
  // [0x1100, 0x1110): LSDA at ExceptAddr + 0x20. The LSDA pointer follows
  // pc_begin, pc_range and the augmentation length: at pc_begin + 9.
  for (auto [at, begin, range, lsda] : {std::tuple{0x1cu, 0x1000u, 0x80, ExceptAddr},
                                        std::tuple{0x34u, 0x1100u, 0x10, ExceptAddr + 0x20}}) {
    uint64_t field = EhAddr + at + 8;
    eh.append(record(Bytes()
                         .u32(at + 4)
                         .s32(int32_t(begin - field))
                         .s32(range)
                         .u8(4)
                         .s32(int32_t(lsda - (field + 9)))
                         .raw({0, 0, 0})));
  }
  // LSDA 1: landing pads relative to the function (lpStart omitted), no
  // type table, call sites in ULEB128: three sites, pads 0x20, none, 0x30.
  Bytes except = Bytes().u8(0xff).u8(0xff).u8(0x01).u8(12).raw(
      {0x00, 0x10, 0x20, 0x00, 0x10, 0x08, 0x00, 0x00, 0x18, 0x04, 0x30, 0x01});
  except.v.resize(0x20, 0);
  // LSDA 2: lpStart given (udata4 0x5000), a type table offset, call sites
  // in udata4 (action ULEB): one site of 13 bytes with pad 0x8.
  except.u8(0x03).u32(0x5000).u8(0x9b).u8(0x7f).u8(0x03).u8(13).u32(0).u32(4).u32(0x8).u8(0);
  auto fdes = fdesOf(eh, {{".gcc_except_table", ExceptAddr, except}});
  ASSERT_EQ(fdes.size(), 2u);
  expectFde(fdes[0], EhAddr + 0x1c, EhAddr + 0x24, 0x1b, 0x1000, 0x1080);
  EXPECT_EQ(fdes[0].landingPads, (std::vector<uint64_t>{0x1020, 0x1030}));
  EXPECT_EQ(fdes[1].landingPads, (std::vector<uint64_t>{0x5008}));
  // What each describes: LSDA 1 up to the end of its one action record (at
  // 16, filter 0 and link 0: two bytes); LSDA 2 nothing, since its lpStart
  // is an address.
  EXPECT_EQ(fdes[0].lsdaBegin, ExceptAddr);
  EXPECT_EQ(fdes[0].lsdaEnd, ExceptAddr + 18);
  EXPECT_EQ(fdes[1].lsdaEnd, fdes[1].lsdaBegin);
}

TEST(EhFrame, WhatAnLsdaDescribes) {
  // Two FDEs with the CIE of LandingPadsFromTheLsda, one LSDA each.
  Bytes eh = record(Bytes().u32(0).u8(1).str("zPLR").u8(1).u8(0x78).u8(16).u8(7).u8(0x9b).s32(
      0x100).u8(0x1b).u8(0x1b).raw({0, 0, 0}));
  for (auto [at, begin, lsda] : {std::tuple{0x1cu, 0x1000u, ExceptAddr}, std::tuple{0x34u, 0x1100u, ExceptAddr + 0x20}}) {
    uint64_t field = EhAddr + at + 8;
    eh.append(record(Bytes().u32(at + 4).s32(int32_t(begin - field)).s32(0x10).u8(4).s32(int32_t(lsda - (field + 9))).raw(
        {0, 0, 0})));
  }
  // LSDA 1, with a type table: lpStart omitted; TType pcrel|sdata4|indirect
  // with its base 12 bytes after the offset's field (at 15); one call site
  // with action 1; a chain of two action records (filter 1, link +1 to the
  // next; filter 2, link 0) at 9; two type entries before the base.
  Bytes except = Bytes().u8(0xff).u8(0x9b).u8(12).u8(0x01).u8(4).raw({0x00, 0x08, 0x04, 0x01}).raw(
      {0x01, 0x01, 0x02, 0x00});
  except.v.resize(0x20, 0); // the type entries and padding: 13..0x20
  // LSDA 2: an action record the call site names beyond the section.
  except.u8(0xff).u8(0xff).u8(0x01).u8(4).raw({0x00, 0x08, 0x04, 0x7f});
  auto fdes = fdesOf(eh, {{".gcc_except_table", ExceptAddr, except}});
  ASSERT_EQ(fdes.size(), 2u);
  EXPECT_EQ(fdes[0].landingPads, (std::vector<uint64_t>{0x1004}));
  EXPECT_EQ(fdes[0].lsdaBegin, ExceptAddr);
  EXPECT_EQ(fdes[0].lsdaEnd, ExceptAddr + 15); // the type table's base
  // The landing pad is read; the extent is not known, so nothing is described.
  EXPECT_EQ(fdes[1].landingPads, (std::vector<uint64_t>{0x1104}));
  EXPECT_EQ(fdes[1].lsdaEnd, fdes[1].lsdaBegin);
}

TEST(EhFrame, LsdaOutsideEverySection) {
  Bytes eh = record(Bytes().u32(0).u8(1).str("zLR").u8(1).u8(0x78).u8(16).u8(2).u8(0x03).u8(
      0x1b).u8(0)); // 0x14 bytes; LSDA pointers udata4, absolute
  eh.append(record(Bytes().u32(0x14 + 4).s32(0).s32(0x10).u8(4).u32(0x9000)));
  EXPECT_EQ(ehFrameError(eh), "tiny: an FDE's LSDA at 0x9000 is outside every section");
}

TEST(EhFrameMalformed, TruncatedRecord) {
  // A CIE claiming 0x100 bytes in a section of 0x18: the body starts at 4.
  Bytes eh = Bytes().u32(0x100).append(cieZR(0x1b));
  EXPECT_EQ(ehFrameError(eh), "tiny:(.eh_frame): truncated record at 0x2104");
  // A CIE whose augmentation string runs to the end of the section.
  EXPECT_EQ(ehFrameError(Bytes().u32(6).u32(0).u8(1).raw({'z'})),
            "tiny:(.eh_frame): truncated record at 0x210a");
  // A FDE cut inside its pc_begin: the record's length says 6 bytes, but
  // pc_begin needs 4 after the CIE pointer; the section ends first.
  Bytes cut = record(cieZR(0x1b));
  cut.u32(6).u32(0x1c).raw({0, 0});
  EXPECT_EQ(ehFrameError(cut), "tiny:(.eh_frame): truncated record at 0x2120");
}

TEST(EhFrameMalformed, UnknownAugmentation) {
  // "zX": 'X' is no known augmentation letter; reported after the
  // augmentation data length (length 4, id 4, version 1, "zX" 3, code and
  // data alignment, return register, length: 0x10).
  EXPECT_EQ(ehFrameError(record(Bytes().u32(0).u8(1).str("zX").u8(1).u8(0x78).u8(16).u8(1).u8(0))),
            "tiny:(.eh_frame): unknown CIE augmentation 'zX' at 0x2110");
  // Not starting with 'z' (and not "eh"): unknown right after the string.
  EXPECT_EQ(ehFrameError(record(Bytes().u32(0).u8(1).str("abc").u8(1).u8(0x78).u8(16))),
            "tiny:(.eh_frame): unknown CIE augmentation 'abc' at 0x210d");
}

TEST(EhFrameMalformed, BadPointerEncodings) {
  // FDE encoding 0x05: no such value format; reported at pc_begin.
  Bytes eh = record(cieZR(0x05));
  eh.append(record(Bytes().u32(0x1c).u32(0).u32(0)));
  EXPECT_EQ(ehFrameError(eh), "tiny:(.eh_frame): unknown pointer encoding 0x5 at 0x2120");
  // FDE encoding datarel (0x3b): not something an FDE's pc_begin may use.
  eh = record(cieZR(0x3b));
  eh.append(record(Bytes().u32(0x1c).u32(0).u32(0)));
  EXPECT_EQ(ehFrameError(eh),
            "tiny:(.eh_frame): FDE pc_begin encoding 0x3b is not supported at 0x2120");
  // Personality in an "aligned" (0x50) application: reported after its 4
  // bytes (0x10 + 1 + 4 = 0x15 into the CIE).
  Bytes aligned = Bytes().u32(0).u8(1).str("zP").u8(1).u8(0x78).u8(16).u8(5).u8(0x5b).u32(0);
  EXPECT_EQ(ehFrameError(record(aligned)),
            "tiny:(.eh_frame): unsupported pointer application 0x5b at 0x2115");
}

TEST(EhFrameMalformed, FdeWithoutItsCie) {
  // An FDE first: its CIE pointer (4) names offset 0, itself.
  EXPECT_EQ(ehFrameError(record(Bytes().u32(4).u32(0x1000).u32(0x10))),
            "tiny:(.eh_frame): FDE whose CIE pointer does not name an earlier CIE at 0x2108");
  // A CIE pointer reaching before the section.
  Bytes eh = record(cieZR(0x1b));
  eh.append(record(Bytes().u32(0x100).u32(0).u32(0)));
  EXPECT_EQ(ehFrameError(eh),
            "tiny:(.eh_frame): FDE whose CIE pointer does not name an earlier CIE at 0x2120");
  // A CIE pointer naming the middle of the CIE.
  eh = record(cieZR(0x1b));
  eh.append(record(Bytes().u32(0x1c - 4).u32(0).u32(0)));
  EXPECT_EQ(ehFrameError(eh),
            "tiny:(.eh_frame): FDE whose CIE pointer does not name an earlier CIE at 0x2120");
}

TEST(EhFrameMalformed, LebTooLong) {
  // A code alignment factor of 12 continuation bytes.
  Bytes body = Bytes().u32(0).u8(1).str("");
  for (int i = 0; i < 12; ++i)
    body.u8(0x80);
  body.u8(0).u8(0x78).u8(16);
  // length 4, id 4, version 1, "" 1, then the twelfth byte: 0x16.
  EXPECT_EQ(ehFrameError(record(body)), "tiny:(.eh_frame): LEB128 number too long at 0x2116");
}

namespace {

// .eh_frame_hdr for usualEhFrame(): version 1, eh_frame_ptr pcrel|sdata4,
// count udata4, table datarel|sdata4 (relative to HdrAddr).
Bytes usualHdr() {
  return Bytes()
      .raw({1, 0x1b, 0x03, 0x3b})
      .s32(int32_t(EhAddr - (HdrAddr + 4)))
      .u32(2)
      .s32(0x1000 - int32_t(HdrAddr))
      .s32(int32_t(EhAddr + 0x18 - HdrAddr))
      .s32(0x1040 - int32_t(HdrAddr))
      .s32(int32_t(EhAddr + 0x2c - HdrAddr));
}

std::unique_ptr<ElfFile> withHdr(const Bytes &hdr) {
  return fileWith({{".eh_frame_hdr", HdrAddr, hdr}, {".eh_frame", EhAddr, usualEhFrame()}});
}

} // namespace

TEST(EhFrameHdr, SearchTable) {
  auto file = withHdr(usualHdr());
  using Entries = std::vector<std::pair<uint64_t, uint64_t>>;
  EXPECT_EQ(readEhFrameHdr(*file), (Entries{{0x1000, EhAddr + 0x18}, {0x1040, EhAddr + 0x2c}}));
  // Without a table (count omitted), nothing to read.
  auto none = withHdr(Bytes().raw({1, 0x1b, 0xff, 0xff}).s32(0));
  EXPECT_TRUE(readEhFrameHdr(*none).empty());
}

TEST(EhFrameHdr, RebuildSortsByNewAddress) {
  auto file = withHdr(usualHdr());
  auto fdes = readEhFrame(*file);
  // The function at 0x1000 moves to 0x1100, the one at 0x1040 to 0x1000:
  // the entries swap.
  std::vector<uint8_t> hdr = usualHdr().v;
  rebuildEhFrameHdr(*file, fdes, hdr, [](uint64_t a) { return a == 0x1000 ? 0x1100 : 0x1000; });
  Bytes expected = Bytes()
                       .raw({1, 0x1b, 0x03, 0x3b})
                       .s32(int32_t(EhAddr - (HdrAddr + 4)))
                       .u32(2)
                       .s32(0x1000 - int32_t(HdrAddr))
                       .s32(int32_t(EhAddr + 0x2c - HdrAddr))
                       .s32(0x1100 - int32_t(HdrAddr))
                       .s32(int32_t(EhAddr + 0x18 - HdrAddr));
  EXPECT_EQ(hdr, expected.v);
  // An entry naming no FDE: reported after the entry.
  std::vector<uint8_t> stray = usualHdr().v;
  stray[24] += 4; // second entry's FDE address (entries from 12, 8 bytes each)
  EXPECT_EQ(messageOf([&] { rebuildEhFrameHdr(*file, fdes, stray, [](uint64_t a) { return a; }); },
                      ExitBadInput),
            "tiny:(.eh_frame_hdr): .eh_frame_hdr entry names no FDE at 0x201c");
}

TEST(EhFrameHdrMalformed, VersionEncodingAndCount) {
  Bytes v2 = usualHdr();
  v2.v[0] = 2;
  EXPECT_EQ(messageOf([&] { readEhFrameHdr(*withHdr(v2)); }, ExitBadInput),
            "tiny:(.eh_frame_hdr): unknown .eh_frame_hdr version 2 at 0x2004");
  Bytes table = usualHdr();
  table.v[3] = 0x1b; // pcrel table entries
  EXPECT_EQ(messageOf([&] { readEhFrameHdr(*withHdr(table)); }, ExitBadInput),
            "tiny:(.eh_frame_hdr): .eh_frame_hdr table encoding 0x1b is not supported at 0x2008");
  Bytes count = usualHdr();
  count.v[8] = 3; // one entry more than there are
  EXPECT_EQ(messageOf([&] { readEhFrameHdr(*withHdr(count)); }, ExitBadInput),
            "tiny:(.eh_frame_hdr): truncated record at 0x200c");
  Bytes pointer = usualHdr();
  pointer.v[1] = 0x0d; // no such pointer encoding
  EXPECT_EQ(messageOf([&] { readEhFrameHdr(*withHdr(pointer)); }, ExitBadInput),
            "tiny:(.eh_frame_hdr): unknown pointer encoding 0xd at 0x2004");
}

// The field format of DW_EH_PE pointer encodings (LSB, "DWARF Exception
// Header Encoding"): the low four bits give the width and signedness; the
// high bits (pcrel, indirect) do not change them.
using elfopt::encodedPointerFormat;

namespace {

void expectPointerFormat(uint8_t encoding, uint8_t size, bool isSigned) {
  auto f = encodedPointerFormat(encoding);
  ASSERT_TRUE(f) << int(encoding);
  EXPECT_EQ(f->size, size) << int(encoding);
  EXPECT_EQ(f->isSigned, isSigned) << int(encoding);
}

} // namespace

TEST(EhPointerFormat, FixedWidthFormats) {
  expectPointerFormat(0x00, 8, false); // absptr
  expectPointerFormat(0x02, 2, false); // udata2
  expectPointerFormat(0x03, 4, false); // udata4
  expectPointerFormat(0x04, 8, false); // udata8
  expectPointerFormat(0x0a, 2, true);  // sdata2
  expectPointerFormat(0x0b, 4, true);  // sdata4
  expectPointerFormat(0x0c, 8, true);  // sdata8
}

TEST(EhPointerFormat, ApplicationBitsDoNotChangeTheFormat) {
  expectPointerFormat(0x1b, 4, true);  // pcrel | sdata4, as GCC and clang emit
  expectPointerFormat(0x9b, 4, true);  // indirect | pcrel | sdata4
  expectPointerFormat(0x30 | 0x02, 2, false);
}

TEST(EhPointerFormat, LebAndUndefinedFormatsHaveNoFixedWidth) {
  for (uint8_t low : {0x01, 0x09, 0x05, 0x06, 0x07, 0x08, 0x0d, 0x0e, 0x0f})
    EXPECT_FALSE(encodedPointerFormat(low)) << int(low);
  EXPECT_FALSE(encodedPointerFormat(0x11)); // pcrel | uleb128
}
