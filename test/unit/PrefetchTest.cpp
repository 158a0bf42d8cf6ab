// The prefetch stub's pure parts (lib/Prefetch/Prefetch.cpp): merging the
// touched pages into a few ranges, and the machine code, read back with the
// x86-64 decoder, byte by byte, and by prefetchStubRanges from a file.
#include "elfopt/Prefetch/Prefetch.h"
#include "elfopt/Target/X86Decoder.h"
#include "ElfBuilder.h"

#include <cstring>
#include <gtest/gtest.h>

using namespace elfopt;
using namespace elfopt::test;

namespace {

std::vector<AddressRange> merge(std::vector<AddressRange> touched, uint64_t gap, size_t maxRanges) {
  PrefetchOptions o;
  o.maxGap = gap;
  o.maxRanges = maxRanges;
  return mergePrefetchRanges(std::move(touched), o);
}

} // namespace

TEST(PrefetchRanges, WidenedToPagesSortedAndJoined) {
  // Two functions on one page, one across a page boundary, one far away;
  // given out of order.
  auto r = merge({{0x5100, 0x40}, {0x1010, 0x20}, {0x1ff0, 0x20}, {0x1100, 0x10}}, 0, 0);
  EXPECT_EQ(r, (std::vector<AddressRange>{{0x1000, 0x2000}, {0x5000, 0x1000}}));
  // Empty functions name no page.
  EXPECT_TRUE(merge({{0x1000, 0}}, 0, 0).empty());
  EXPECT_TRUE(merge({}, 65536, 32).empty());
}

TEST(PrefetchRanges, GapsUpToTheLimitAreRead) {
  // Pages 1 and 3 (a one-page gap) and page 20 (16 pages after page 3).
  std::vector<AddressRange> touched{{0x1000, 0x1000}, {0x3000, 0x1000}, {0x14000, 0x1000}};
  EXPECT_EQ(merge(touched, 0, 0).size(), 3u);
  EXPECT_EQ(merge(touched, 0x1000, 0), (std::vector<AddressRange>{{0x1000, 0x3000}, {0x14000, 0x1000}}));
  // A gap of exactly the limit is merged; one byte less is not.
  EXPECT_EQ(merge(touched, 0x10000, 0), (std::vector<AddressRange>{{0x1000, 0x14000}}));
  EXPECT_EQ(merge(touched, 0xffff, 0).size(), 2u);
}

TEST(PrefetchRanges, TooManyRangesMergeTheSmallestGapsFirst) {
  // Gaps: 1 page, 3 pages, 1 page, 2 pages.
  std::vector<AddressRange> touched{
      {0x0000, 0x1000}, {0x2000, 0x1000}, {0x6000, 0x1000}, {0x8000, 0x1000}, {0xb000, 0x1000}};
  // Down to 3: the two one-page gaps go (the lower address first on a tie).
  EXPECT_EQ(merge(touched, 0, 3),
            (std::vector<AddressRange>{{0x0000, 0x3000}, {0x6000, 0x3000}, {0xb000, 0x1000}}));
  // Down to 2: then the two-page gap.
  EXPECT_EQ(merge(touched, 0, 2), (std::vector<AddressRange>{{0x0000, 0x3000}, {0x6000, 0x6000}}));
  EXPECT_EQ(merge(touched, 0, 1), (std::vector<AddressRange>{{0x0000, 0xc000}}));
  // Equal gaps: the lower one merges first.
  EXPECT_EQ(merge({{0x0000, 0x1000}, {0x2000, 0x1000}, {0x4000, 0x1000}}, 0, 2),
            (std::vector<AddressRange>{{0x0000, 0x3000}, {0x4000, 0x1000}}));
}

TEST(PrefetchRanges, ManyEqualGapsMergeFromTheLowestAddress) {
  // 40 one-page ranges, every gap one page; down to 30: the ten lowest gaps.
  std::vector<AddressRange> touched;
  for (uint64_t i = 0; i < 40; ++i)
    touched.push_back({i * 0x2000, 0x1000});
  auto r = merge(touched, 0, 30);
  ASSERT_EQ(r.size(), 30u);
  EXPECT_EQ(r[0], (AddressRange{0, 11 * 0x2000 - 0x1000}));
  for (uint64_t i = 1; i < 30; ++i)
    EXPECT_EQ(r[i], (AddressRange{(i + 10) * 0x2000, 0x1000}));
}

TEST(PrefetchRanges, LongRangesAreSplitForTheStub) {
  // madvise's length is a 32-bit immediate in the stub: at most 1 GiB each.
  auto r = merge({{0x0, (uint64_t(1) << 30) + 0x2000}}, 0, 0);
  EXPECT_EQ(r, (std::vector<AddressRange>{{0x0, uint64_t(1) << 30}, {uint64_t(1) << 30, 0x2000}}));
}

namespace {

PrefetchPlan plan(std::vector<AddressRange> touched, const char *device = nullptr, size_t maxRanges = 4096) {
  PrefetchOptions o;
  o.maxRanges = maxRanges;
  if (device)
    o.devices = {*prefetchDeviceClass(device)};
  return planPrefetch(std::move(touched), o);
}

constexpr uint64_t KiB = 1024;

// One page every \p stride bytes, \p count of them.
std::vector<AddressRange> pagesEvery(uint64_t stride, size_t count, uint64_t from = 0) {
  std::vector<AddressRange> out;
  for (size_t i = 0; i < count; ++i)
    out.push_back({from + i * stride, 4096});
  return out;
}

} // namespace

TEST(PrefetchPlan, GapsAreReadWhereASeekCostsMore) {
  // Four pages 192 KiB apart: four faults of the start (128 KiB reads
  // each). Two pages read as one 196 KiB range are one read instead of two
  // and fewer bytes: every class joins them. Three would read 388 KiB
  // where their faults read 384.
  auto touched = pagesEvery(192 * KiB, 4);
  const std::vector<AddressRange> pairs{{0, 196 * KiB}, {384 * KiB, 196 * KiB}};
  for (const char *d : {"hdd", "emmc", "ssd", "nvme"}) {
    PrefetchPlan p = plan(touched, d);
    EXPECT_EQ(p.ranges, pairs) << d;
    EXPECT_EQ(p.extents, 2u) << d;
    EXPECT_EQ(p.faults, 4u) << d;
    EXPECT_EQ(p.bytes, 392 * KiB) << d;
    EXPECT_EQ(p.plannedFor, d);
  }
  PrefetchPlan any = plan(touched);
  EXPECT_EQ(any.ranges, pairs);
  EXPECT_EQ(any.plannedFor, "every device class (hdd's merges)");
  ASSERT_EQ(any.figures.size(), 4u);
  for (const PrefetchDeviceFigures &f : any.figures) {
    EXPECT_LT(f.prefetchSeconds, f.savedSeconds) << f.device;
    EXPECT_EQ(f.planSeconds, f.bestSeconds) << f.device;
  }

  // 256 KiB apart: one read of 260 KiB would save a request but read more
  // than the two faults (256 KiB). A disk's seek costs more than 4 KiB, but
  // a device bound by its bandwidth (eMMC under measure --device) would be
  // slower: left out on every class.
  for (const char *d : {"hdd", "emmc", "ssd", "nvme", static_cast<const char *>(nullptr)}) {
    PrefetchPlan p = plan(pagesEvery(256 * KiB, 4), d);
    EXPECT_TRUE(p.ranges.empty()) << (d ? d : "any");
    EXPECT_EQ(p.leftOutFaults, 4u) << (d ? d : "any");
  }
}

TEST(PrefetchPlan, ScatteredPagesAreLeftOut) {
  // Pages 1 MiB apart: no device reads a gap that long faster than it
  // seeks, and reading each ahead costs a request per fault it saves.
  PrefetchPlan p = plan(pagesEvery(1024 * KiB, 50));
  EXPECT_TRUE(p.ranges.empty());
  EXPECT_EQ(p.extents, 0u);
  EXPECT_EQ(p.bytes, 0u);
  EXPECT_EQ(p.totalFaults, 50u);
  EXPECT_EQ(p.leftOutExtents, 50u);
  EXPECT_EQ(p.leftOutBytes, 50 * 4096u);
  EXPECT_EQ(p.touchedBytes, 50 * 4096u);
  // The model's figures: without the prefetch, as with it.
  for (const PrefetchDeviceFigures &f : p.figures)
    EXPECT_EQ(f.planSeconds, f.bestSeconds) << f.device;
  // An explicit gap keeps every range, whatever the model says.
  PrefetchOptions o;
  o.maxGap = 0;
  PrefetchPlan kept = planPrefetch(pagesEvery(1024 * KiB, 50), o);
  EXPECT_EQ(kept.ranges.size(), 50u);
  EXPECT_EQ(kept.plannedFor, "--prefetch-gap 0");
  EXPECT_EQ(kept.leftOutExtents, 0u);
}

TEST(PrefetchPlan, OnlyThePartsThatPayAreKept) {
  // Touched code at the front, 1 MiB whole (8 faults), then pages 1 MiB
  // apart: the front is read in two 512 KiB calls, the rest left out.
  auto touched = pagesEvery(1024 * KiB, 5, 4 * 1024 * KiB);
  touched.push_back({0, 1024 * KiB});
  PrefetchPlan p = plan(touched);
  EXPECT_EQ(p.ranges, (std::vector<AddressRange>{{0, 512 * KiB}, {512 * KiB, 512 * KiB}}));
  EXPECT_EQ(p.extents, 1u);
  EXPECT_EQ(p.faults, 8u);
  EXPECT_EQ(p.totalFaults, 13u);
  EXPECT_EQ(p.leftOutExtents, 5u);
  EXPECT_EQ(p.leftOutFaults, 5u);
}

TEST(PrefetchPlan, CallsTheKernelReadsWholeInFileOrder) {
  // One madvise reads at most max(max_sectors_kb, read_ahead_kb): 3 MiB of
  // touched code given backwards is read in six calls of 512 KiB, in order.
  std::vector<AddressRange> touched;
  for (uint64_t a = 3 * 1024 * KiB; a > 0; a -= 64 * KiB)
    touched.push_back({a - 64 * KiB, 64 * KiB});
  PrefetchPlan p = plan(touched);
  ASSERT_EQ(p.ranges.size(), 6u);
  for (size_t i = 0; i < 6; ++i)
    EXPECT_EQ(p.ranges[i], (AddressRange{i * 512 * KiB, 512 * KiB}));
  EXPECT_EQ(p.extents, 1u);
  EXPECT_EQ(p.bytes, 3 * 1024 * KiB);
}

TEST(PrefetchPlan, NeverMoreRangesThanTheLimitAndAlwaysInFileOrder) {
  // Clusters of pages (4 KiB apart) 300 KiB apart, shuffled.
  std::vector<AddressRange> touched;
  for (uint64_t c = 0; c < 40; ++c)
    for (uint64_t i = 0; i < 6; ++i)
      touched.push_back({c * 300 * KiB + i * 8 * KiB, 4096});
  for (size_t i = 0; i < touched.size(); i += 7)
    std::swap(touched[i], touched[touched.size() - 1 - i]);
  for (const char *device : {"hdd", "emmc", "ssd", "nvme", static_cast<const char *>(nullptr)})
    for (size_t limit : {1u, 3u, 10u, 4096u}) {
      PrefetchPlan p = plan(touched, device, limit);
      EXPECT_LE(p.extents + p.leftOutExtents, limit) << (device ? device : "any") << " " << limit;
      for (size_t i = 0; i < p.ranges.size(); ++i) {
        EXPECT_LE(p.ranges[i].size, PrefetchCallBytes);
        if (i) {
          EXPECT_LE(p.ranges[i - 1].end(), p.ranges[i].address);
        }
      }
    }
}

TEST(PrefetchStub, DecodesToTheCallsItPromises) {
  const uint64_t at = 0x126390;
  std::vector<AddressRange> ranges{{0xf000, 0x17000}, {0x40000, 0x1000}};
  std::vector<uint8_t> code = encodePrefetchStub(at, ranges, 0xf220);
  ASSERT_EQ(code.size(), prefetchStubSize(2));
  x86_64::Decoder decoder;
  std::vector<x86_64::Instruction> insts;
  for (uint64_t p = 0; p < code.size();) {
    auto inst = decoder.decode(std::span(code).subspan(p), at + p);
    ASSERT_TRUE(inst && inst->understood) << "at +" << p;
    insts.push_back(*inst);
    p += inst->size;
  }
  // endbr64, pushfq, 6 pushes; per range lea, 3 movs, syscall; 6 pops,
  // popfq, jmp.
  ASSERT_EQ(insts.size(), 1 + 1 + 6 + 2 * 5 + 6 + 1 + 1u);
  EXPECT_EQ(code[0], 0xf3); // endbr64: DT_INIT is called indirectly (IBT)
  // The registers come back in reverse order of their saving: each pop
  // (0x58 + r, REX.B 0x41 for r11) mirrors a push (0x50 + r), popfq pushfq.
  auto bytesOf = [&](size_t first, size_t count) {
    std::vector<std::vector<uint8_t>> out;
    uint64_t p = 0;
    for (size_t i = 0; i < first; ++i)
      p += insts[i].size;
    for (size_t i = first; i < first + count; ++i) {
      out.emplace_back(code.begin() + p, code.begin() + p + insts[i].size);
      p += insts[i].size;
    }
    return out;
  };
  auto saves = bytesOf(1, 7), restores = bytesOf(insts.size() - 8, 7);
  EXPECT_EQ(saves[0], std::vector<uint8_t>{0x9c});    // pushfq
  EXPECT_EQ(restores[6], std::vector<uint8_t>{0x9d}); // popfq
  for (size_t i = 1; i < 7; ++i) {
    std::vector<uint8_t> pop = saves[i];
    pop.back() += 8; // push r -> pop r
    EXPECT_EQ(restores[6 - i], pop) << "register " << i;
  }
  for (size_t k = 0; k < ranges.size(); ++k) {
    const auto &lea = insts[8 + 5 * k];
    ASSERT_TRUE(lea.field.has_value());
    EXPECT_FALSE(lea.field->isBranch);
    EXPECT_EQ(lea.field->target, ranges[k].address);
    uint64_t immAt = 0;
    for (size_t i = 0; i < 9 + 5 * k; ++i)
      immAt += insts[i].size;
    uint32_t length;
    std::memcpy(&length, code.data() + immAt + 1, 4);
    EXPECT_EQ(length, ranges[k].size);
  }
  const auto &jmp = insts.back();
  EXPECT_TRUE(jmp.endsFlow);
  ASSERT_TRUE(jmp.field.has_value());
  EXPECT_EQ(jmp.field->target, 0xf220u);
  // Without a place to continue (a library that had no DT_INIT): a return,
  // padded to the same size.
  std::vector<uint8_t> ret = encodePrefetchStub(at, ranges, std::nullopt);
  ASSERT_EQ(ret.size(), code.size());
  EXPECT_EQ(ret[ret.size() - 5], 0xc3);
  // The code does not depend on where the ranges are, only how many.
  EXPECT_EQ(encodePrefetchStub(at, {}, 0x1000).size(), prefetchStubSize(0));
}

TEST(PrefetchStub, ExactBytesOfOneRange) {
  // At 0x1000: madvise(0x2000, 0x3000, MADV_WILLNEED), then jmp 0x1100.
  std::vector<AddressRange> ranges{{0x2000, 0x3000}};
  std::vector<uint8_t> expected = {
      0xf3, 0x0f, 0x1e, 0xfa,                         // endbr64
      0x9c, 0x50, 0x51, 0x52, 0x56, 0x57, 0x41, 0x53, // pushfq; push rax rcx rdx rsi rdi r11
      0x48, 0x8d, 0x3d, 0xed, 0x0f, 0x00, 0x00,       // lea 0xfed(%rip),%rdi: 0x1013 + 0xfed = 0x2000
      0xbe, 0x00, 0x30, 0x00, 0x00,                   // mov $0x3000,%esi
      0xba, 0x03, 0x00, 0x00, 0x00,                   // mov $MADV_WILLNEED,%edx
      0xb8, 0x1c, 0x00, 0x00, 0x00,                   // mov $SYS_madvise,%eax
      0x0f, 0x05,                                     // syscall
      0x41, 0x5b, 0x5f, 0x5e, 0x5a, 0x59, 0x58, 0x9d, // pop r11 rdi rsi rdx rcx rax; popfq
      0xe9, 0xcf, 0x00, 0x00, 0x00};                  // jmp 0x1100 (0x1031 + 0xcf)
  EXPECT_EQ(encodePrefetchStub(0x1000, ranges, 0x1100), expected);
  EXPECT_EQ(prefetchStubSize(1), expected.size());
  // Without a place to continue: ret, then int3 up to the same size.
  std::vector<uint8_t> ret(expected.begin(), expected.end() - 5);
  ret.insert(ret.end(), {0xc3, 0xcc, 0xcc, 0xcc, 0xcc});
  EXPECT_EQ(encodePrefetchStub(0x1000, ranges, std::nullopt), ret);
}

TEST(PrefetchStub, RefusesWhatItCannotEncode) {
  EXPECT_EQ(messageOf([] { encodePrefetchStub(0x1000, std::vector<AddressRange>{{0x2000, (1ull << 30) + 1}}, {}); },
                      ExitInternal),
            "prefetch stub: range at 0x2000 is longer than 1 GiB");
  EXPECT_EQ(messageOf([] { encodePrefetchStub(0x1000, std::vector<AddressRange>{{0x100000000, 0x1000}}, {}); },
                      ExitInternal),
            "prefetch stub: target 0x100000000 is out of a 32-bit displacement's reach");
}

TEST(PrefetchStub, RangesReadBackFromTheFile) {
  // The stub in .elfopt.prefetch of a file built here; ranges below and
  // above it (negative and positive displacements), read back by
  // prefetchStubRanges as encodePrefetchStub wrote them.
  std::vector<AddressRange> ranges{{0x1000, 0x2000}, {0x40000, 0x1000}, {0x11000, 0x40000000}};
  ElfBuilder b;
  b.add(".text", llvm::ELF::SHT_PROGBITS, llvm::ELF::SHF_ALLOC | llvm::ELF::SHF_EXECINSTR, {0xc3}, 0, 0, 16);
  EXPECT_TRUE(prefetchStubRanges(*b.file()).empty());
  unsigned stub = b.add(PrefetchSectionName, llvm::ELF::SHT_PROGBITS, llvm::ELF::SHF_ALLOC | llvm::ELF::SHF_EXECINSTR,
                        std::vector<uint8_t>(prefetchStubSize(ranges.size())), 0, 0, 16);
  b.set(stub, encodePrefetchStub(b.addr(stub), ranges, 0x10200));
  EXPECT_EQ(prefetchStubRanges(*b.file()), ranges);
  b.set(stub, encodePrefetchStub(b.addr(stub), ranges, std::nullopt));
  EXPECT_EQ(prefetchStubRanges(*b.file()), ranges);
  // Read at another address, every range moves with the code.
  b.set(stub, encodePrefetchStub(b.addr(stub) + 0x100, ranges, std::nullopt));
  std::vector<AddressRange> moved;
  for (const AddressRange &r : ranges)
    moved.push_back({r.address - 0x100, r.size});
  EXPECT_EQ(prefetchStubRanges(*b.file()), moved);
}
