//===- TracedPagesTest.cpp - traced file pages as prefetch ranges ---------===//
//
// tracedPageRanges (lib/Pipeline/Optimize.cpp) on a file built here with
// two PT_LOADs (the second at an offset and address not page-aligned) and
// one that maps no file bytes: each traced page goes through the first
// PT_LOAD that maps it to its 64 KiB fault-around window, within the
// segment's pages; pages of .text and pages no segment maps give nothing.
//
//===----------------------------------------------------------------------===//
#include "elfopt/Pipeline/Optimize.h"
#include "ElfBuilder.h"

#include <gtest/gtest.h>

using namespace elfopt;
using namespace elfopt::test;
using namespace llvm::ELF;

namespace {

Phdr load(uint64_t offset, uint64_t vaddr, uint64_t filesz, uint64_t memsz) {
  Phdr p{};
  p.p_type = PT_LOAD;
  p.p_flags = PF_R;
  p.p_offset = offset;
  p.p_vaddr = vaddr;
  p.p_paddr = vaddr;
  p.p_filesz = filesz;
  p.p_memsz = memsz;
  p.p_align = 0x1000;
  return p;
}

// .text at file offset 0x1000 (0x3000 bytes), then 0x34000 bytes of data.
// PT_LOADs: [0, 0x12345) at 0x400000; [0x13100, 0x33100) at 0x614100;
// a .bss-only one at 0x700000; a PT_NOTE over page 0x13000 first.
std::unique_ptr<ElfFile> file() {
  ElfBuilder b(ET_EXEC);
  b.add(".text", SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, std::vector<uint8_t>(0x3000, 0xc3), 0, 0, 0x1000);
  b.add(".data", SHT_PROGBITS, SHF_ALLOC, std::vector<uint8_t>(0x34000, 0), 0, 0, 0x1000);
  Phdr note{};
  note.p_type = PT_NOTE;
  note.p_offset = 0x13000;
  note.p_filesz = 0x1000;
  b.segments = {note, load(0, 0x400000, 0x12345, 0x12345), load(0x13100, 0x614100, 0x20000, 0x20000),
                load(0x34000, 0x700000, 0, 0x1000)};
  return b.file("prog");
}

} // namespace

TEST(TracedPageRanges, PagesBecomeTheirFaultAroundWindows) {
  auto f = file();
  ASSERT_EQ(f->findSection(".text")->offset(), 0x1000u);
  // Page 0: the first 64 KiB of the first segment.
  EXPECT_EQ(tracedPageRanges(*f, {0x0}), (std::vector<AddressRange>{{0x400000, 0x10000}}));
  // Page 0x11000: its window [0x410000, 0x420000) cut at the segment's
  // last page, which ends at 0x413000 (0x12345 rounded up).
  EXPECT_EQ(tracedPageRanges(*f, {0x11000}), (std::vector<AddressRange>{{0x410000, 0x3000}}));
  // Page 0x12000 holds the first segment's last bytes: it maps it.
  EXPECT_EQ(tracedPageRanges(*f, {0x12000}), (std::vector<AddressRange>{{0x410000, 0x3000}}));
  // Page 0x13000: the second segment, whose pages start at offset 0x13000
  // and address 0x614000; the window [0x610000, 0x620000) cut at its start.
  EXPECT_EQ(tracedPageRanges(*f, {0x13000}), (std::vector<AddressRange>{{0x614000, 0xc000}}));
  // Page 0x2f000 (address 0x630000): the window cut at the segment's end,
  // 0x614000 + 0x21000 (0x20100 bytes from page 0x13000, rounded up).
  EXPECT_EQ(tracedPageRanges(*f, {0x2f000}), (std::vector<AddressRange>{{0x630000, 0x5000}}));
}

TEST(TracedPageRanges, TextAndUnmappedPagesAreLeftOut) {
  auto f = file();
  // .text's pages (0x1000..0x3fff): left out; 0x4000 is not .text.
  EXPECT_TRUE(tracedPageRanges(*f, {0x1000, 0x2000, 0x3000}).empty());
  // Past every segment with file bytes (the .bss one maps none).
  EXPECT_TRUE(tracedPageRanges(*f, {0x34000, 0x40000}).empty());
  // Several pages, one range each, in the order given.
  EXPECT_EQ(tracedPageRanges(*f, {0x13000, 0x2000, 0x4000, 0x90000}),
            (std::vector<AddressRange>{{0x614000, 0xc000}, {0x400000, 0x10000}}));
  EXPECT_TRUE(tracedPageRanges(*f, {}).empty());
}

TEST(TracedPages, OnlyPagesFirstTouchedOnceTheObjectsCodeRan) {
  // Two runs in first-touch order; ".text" holds code. Pages touched before
  // the first code touch (ld.so: the symbol table at 0x1000, relocations at
  // 0x5000, data written at 0x9000) are cached when the stub runs: left out,
  // also where another run touched them after its code ran (0x9000). A run
  // without a code touch gives every page.
  auto isCode = [](const std::string &s) { return s == ".text"; };
  std::vector<std::vector<PageTouch>> runs{
      {{0x1000, 1, 1, ".dynsym"}, {0x5000, 2, 1, ".rela.dyn"}, {0x9000, 3, 1, ".data.rel.ro"},
       {0x20000, 4, 1, ".text"}, {0x3000, 5, 1, ".rodata"}, {0x4000, 6, 1, ".eh_frame"}},
      {{0x5000, 1, 1, ".rela.dyn"}, {0x20000, 2, 1, ".text"}, {0x9000, 3, 1, ".data.rel.ro"},
       {0x6000, 4, 1, ".rodata"}}};
  PagesAroundCode split = splitPagesAtCode(runs, isCode);
  EXPECT_EQ(split.after, (std::vector<uint64_t>{0x3000, 0x4000, 0x6000, 0x20000}));
  EXPECT_EQ(split.before, (std::vector<uint64_t>{0x1000, 0x5000, 0x9000}));
  split = splitPagesAtCode({{{0x5000, 1, 1, ".rela.dyn"}, {0x1000, 2, 1, ".dynsym"}}}, isCode);
  EXPECT_EQ(split.after, (std::vector<uint64_t>{0x1000, 0x5000}));
  EXPECT_TRUE(split.before.empty());
  EXPECT_TRUE(splitPagesAtCode({}, isCode).after.empty());
}
