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

TEST(PrefetchPlan, GapsAreReadWhereRequestsBind) {
  // Eight pages 96 KiB apart: eight faults of the start, 128 KiB read each.
  // A disk is bound by its requests (8 at 150 a second against 1 MiB at
  // 100 MB/s): read as two ranges, gaps included, they are two requests,
  // and with those paid once more up front (the start's own work no longer
  // overlaps them) and the stub's own fault, five instead of eight.
  PrefetchPlan hdd = plan(pagesEvery(96 * KiB, 8), "hdd");
  EXPECT_EQ(hdd.ranges, (std::vector<AddressRange>{{0, 484 * KiB}, {576 * KiB, 100 * KiB}}));
  EXPECT_EQ(hdd.extents, 2u);
  EXPECT_EQ(hdd.faults, 8u);
  EXPECT_EQ(hdd.bytes, 584 * KiB);
  EXPECT_EQ(hdd.plannedFor, "hdd");
  EXPECT_DOUBLE_EQ(hdd.figures[0].planSeconds, 5 / 150.0);
  // Four pages 192 KiB apart: two pages read as one 196 KiB range are one
  // request instead of two, but paid up front: the two ranges and the
  // stub's fault would cost five requests where the faults cost four: no
  // stub on the disk. eMMC and SSDs are bound by their bytes at 128 KiB a
  // fault: each page read alone is as many requests as its fault and 4 KiB
  // instead of 128; a gap read would be paid in full.
  auto touched = pagesEvery(192 * KiB, 4);
  const std::vector<AddressRange> alone{{0, 4 * KiB}, {192 * KiB, 4 * KiB}, {384 * KiB, 4 * KiB}, {576 * KiB, 4 * KiB}};
  PrefetchPlan pairs = plan(touched, "hdd");
  EXPECT_TRUE(pairs.ranges.empty());
  EXPECT_TRUE(pairs.stubCostsMore);
  for (const char *d : {"emmc", "ssd", "nvme"}) {
    PrefetchPlan p = plan(touched, d);
    EXPECT_EQ(p.ranges, alone) << d;
    EXPECT_EQ(p.extents, 4u) << d;
    EXPECT_EQ(p.faults, 4u) << d;
    EXPECT_EQ(p.bytes, 16 * KiB) << d;
    EXPECT_EQ(p.plannedFor, d);
  }
  // Every class: a range must save, on each, at least what it costs up
  // front. A page alone saves the disk nothing (a request for a request), a
  // pair saves eMMC too little (its 196 KiB for the 256 KiB of two
  // faults): nothing is read, and on the disk no stub is its own best.
  PrefetchPlan any = plan(touched);
  EXPECT_TRUE(any.ranges.empty());
  EXPECT_FALSE(any.stubCostsMore); // left out range by range, before the stub is costed
  EXPECT_EQ(any.leftOutExtents, 2u);
  EXPECT_EQ(any.leftOutFaults, 4u);
  ASSERT_EQ(any.figures.size(), 4u);
  EXPECT_EQ(any.figures[0].device, "hdd");
  EXPECT_DOUBLE_EQ(any.figures[0].planSeconds, 4 / 150.0);
  EXPECT_DOUBLE_EQ(any.figures[0].bestSeconds, 4 / 150.0);

  // 256 KiB apart: one read of 260 KiB would save a request but read more
  // than the two faults (256 KiB): each page alone, where bytes bind; on
  // the disk each saves nothing: no stub there, nor for every class.
  for (const char *d : {"emmc", "ssd", "nvme"}) {
    PrefetchPlan p = plan(pagesEvery(256 * KiB, 4), d);
    EXPECT_EQ(p.ranges, pagesEvery(256 * KiB, 4)) << d;
    EXPECT_EQ(p.leftOutFaults, 0u) << d;
  }
  for (const char *d : {"hdd", static_cast<const char *>(nullptr)}) {
    PrefetchPlan p = plan(pagesEvery(256 * KiB, 4), d);
    EXPECT_TRUE(p.ranges.empty()) << (d ? d : "any");
    EXPECT_EQ(p.leftOutExtents, 4u) << (d ? d : "any");
  }
}

TEST(PrefetchPlan, APageAloneOnlyWhereItsFaultReadsNothingElse) {
  // Eight pairs of pages 32 KiB apart, the pairs 1 MiB apart: the fault at
  // a pair's first page reads both (one fault each pair). Read alone, the
  // first would leave the other to a fault of its own; each pair is read
  // as one 36 KiB range (one request, fewer bytes) where bytes bind. On the
  // disk that is as many requests as the faults, and the stub's own one
  // more: no stub.
  std::vector<AddressRange> pairs, joined;
  for (uint64_t i = 0; i < 8; ++i) {
    pairs.push_back({i * 1024 * KiB, 4 * KiB});
    pairs.push_back({i * 1024 * KiB + 32 * KiB, 4 * KiB});
    joined.push_back({i * 1024 * KiB, 36 * KiB});
  }
  for (const char *d : {"emmc", "ssd", "nvme"}) {
    PrefetchPlan p = plan(pairs, d);
    EXPECT_EQ(p.ranges, joined) << d;
    EXPECT_EQ(p.faults, 8u) << d;
  }
  EXPECT_TRUE(plan(pairs, "hdd").ranges.empty());
  // 64 KiB apart, the second page is beyond the first fault's reach: two
  // faults. eMMC would read both as one 68 KiB range (a request fewer: its
  // 2,000 a second bind at 4 KiB each), but with those bytes paid once more
  // up front and the stub's fault, slower than the two faults: no stub.
  // SATA and NVMe SSDs read each page alone (their bytes bind at 68 KiB);
  // the disk's one read and the stub's fault are as many requests as the
  // two faults: no stub.
  PrefetchPlan emmc = plan(pagesEvery(64 * KiB, 2), "emmc");
  EXPECT_TRUE(emmc.ranges.empty());
  EXPECT_TRUE(emmc.stubCostsMore);
  for (const char *d : {"ssd", "nvme"})
    EXPECT_EQ(plan(pagesEvery(64 * KiB, 2), d).ranges, pagesEvery(64 * KiB, 2)) << d;
  EXPECT_TRUE(plan(pagesEvery(64 * KiB, 2), "hdd").ranges.empty());
  // With the maximum of one range, two pages and a third 1 MiB away are
  // one range, 1028 KiB in three calls for two faults: left out.
  auto touched = pagesEvery(32 * KiB, 2);
  touched.push_back({1024 * KiB, 4 * KiB});
  PrefetchPlan one = plan(touched, nullptr, 1);
  EXPECT_TRUE(one.ranges.empty());
  EXPECT_EQ(one.leftOutExtents, 1u);
  EXPECT_EQ(one.leftOutFaults, 2u);
}

TEST(PrefetchPlan, ScatteredPagesAreLeftOut) {
  // Pages 1 MiB apart: no device reads a gap that long faster than the
  // faults it saves. Each read alone is a request for its fault's, 4 KiB
  // instead of 128: on the disk it saves nothing it would cost up front;
  // the default leaves the prefetch out, range by range.
  PrefetchPlan p = plan(pagesEvery(1024 * KiB, 50));
  EXPECT_TRUE(p.ranges.empty());
  EXPECT_FALSE(p.stubCostsMore);
  EXPECT_EQ(p.extents, 0u);
  EXPECT_EQ(p.bytes, 0u);
  EXPECT_EQ(p.totalFaults, 50u);
  EXPECT_EQ(p.leftOutExtents, 50u);
  EXPECT_EQ(p.leftOutBytes, 50 * 4096u);
  EXPECT_EQ(p.touchedBytes, 50 * 4096u);
  ASSERT_EQ(p.figures.size(), 4u);
  EXPECT_EQ(p.figures[0].planSeconds, p.figures[0].bestSeconds); // hdd: none is its best
  // Planned for eMMC alone, bound by bytes: each page alone.
  PrefetchPlan emmc = plan(pagesEvery(1024 * KiB, 50), "emmc");
  EXPECT_EQ(emmc.ranges, pagesEvery(1024 * KiB, 50));
  EXPECT_FALSE(emmc.stubCostsMore);
  // An explicit gap keeps every range, whatever the model says.
  PrefetchOptions o;
  o.maxGap = 0;
  PrefetchPlan kept = planPrefetch(pagesEvery(1024 * KiB, 50), o);
  EXPECT_EQ(kept.ranges.size(), 50u);
  EXPECT_EQ(kept.plannedFor, "--prefetch-gap 0");
  EXPECT_EQ(kept.leftOutExtents, 0u);
}

TEST(PrefetchPlan, TheFrontWhereRequestsBindFarPagesWhereBytesDo) {
  // Touched code at the front, 1 MiB whole (9 faults: the first reads
  // 64 KiB of it, the rest 128 KiB each), then pages 1 MiB apart. On the
  // disk the front is read in two 512 KiB calls (9 requests become 2), the
  // far pages are left to their faults (alone, a request for a request).
  auto touched = pagesEvery(1024 * KiB, 5, 4 * 1024 * KiB);
  touched.push_back({0, 1024 * KiB});
  PrefetchPlan hdd = plan(touched, "hdd");
  EXPECT_EQ(hdd.ranges, (std::vector<AddressRange>{{0, 512 * KiB}, {512 * KiB, 512 * KiB}}));
  EXPECT_EQ(hdd.extents, 1u);
  EXPECT_EQ(hdd.faults, 9u);
  EXPECT_EQ(hdd.totalFaults, 14u);
  EXPECT_EQ(hdd.leftOutExtents, 5u);
  EXPECT_EQ(hdd.leftOutFaults, 5u);
  // Where bytes bind, the front read up front costs as much as its faults
  // (the bytes they read) and saves too little: left to its faults (a
  // dense start-up front, as a reordered libxul's, made Firefox 1.19x
  // slower on eMMC). Each far page alone reads 4 KiB for its fault's 128.
  for (const char *d : {"emmc", "ssd", "nvme"}) {
    PrefetchPlan p = plan(touched, d);
    EXPECT_EQ(p.ranges, pagesEvery(1024 * KiB, 5, 4 * 1024 * KiB)) << d;
    EXPECT_EQ(p.leftOutFaults, 9u) << d;
  }
  // Every class: no range saves on each; no stub.
  PrefetchPlan any = plan(touched);
  EXPECT_TRUE(any.ranges.empty());
  EXPECT_EQ(any.leftOutFaults, 14u);
}

TEST(PrefetchPlan, CallsTheKernelReadsWholeInFileOrder) {
  // One madvise reads at most max(max_sectors_kb, read_ahead_kb): 3 MiB of
  // touched code given backwards is read, on a disk, in six calls of
  // 512 KiB, in order.
  std::vector<AddressRange> touched;
  for (uint64_t a = 3 * 1024 * KiB; a > 0; a -= 64 * KiB)
    touched.push_back({a - 64 * KiB, 64 * KiB});
  PrefetchPlan p = plan(touched, "hdd");
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

TEST(PrefetchPlan, TouchedPagesFollowSectionsTheEditorMoved) {
  // A section at [0x1000, 0x5000) moved to 0x90000 (its old place zeroed):
  // a range across its start is split, the part inside follows it; a range
  // inside it moves whole; the rest stay. Sorted by address.
  const std::vector<MovedRange> moved{{0x1000, 0x4000, 0x90000}};
  EXPECT_EQ(followMovedRanges({{0x0, 0x2000}, {0x3000, 0x1000}, {0x8000, 0x1000}}, moved),
            (std::vector<AddressRange>{{0x0, 0x1000}, {0x8000, 0x1000}, {0x90000, 0x1000}, {0x92000, 0x1000}}));
  // A range over the whole section and beyond on both sides: three parts.
  EXPECT_EQ(followMovedRanges({{0x0, 0x6000}}, moved),
            (std::vector<AddressRange>{{0x0, 0x1000}, {0x5000, 0x1000}, {0x90000, 0x4000}}));
  // Two moved sections next to each other (moved as one block); a range
  // over both follows each; nothing moved: as given, sorted.
  const std::vector<MovedRange> two{{0x1000, 0x1000, 0x90000}, {0x2000, 0x3000, 0x91000}};
  EXPECT_EQ(followMovedRanges({{0x1800, 0x1000}}, two),
            (std::vector<AddressRange>{{0x90800, 0x800}, {0x91000, 0x800}}));
  EXPECT_EQ(followMovedRanges({{0x8000, 0x1000}, {0x2000, 0x10}}, {}),
            (std::vector<AddressRange>{{0x2000, 0x10}, {0x8000, 0x1000}}));
  // The plan is made from the moved pages: 1 MiB touched in the moved
  // section is read, on a disk, in two calls at its new place.
  PrefetchPlan p = plan(followMovedRanges({{0x1000, 1024 * KiB}}, std::vector<MovedRange>{{0x1000, 1024 * KiB, 0x100000}}),
                        "hdd");
  EXPECT_EQ(p.ranges, (std::vector<AddressRange>{{0x100000, 512 * KiB}, {0x180000, 512 * KiB}}));
}

TEST(PrefetchPlan, NoRangeSpansAHoleBetweenSegments) {
  // Pages 96 KiB apart are read in ranges on a disk
  // (GapsAreReadWhereRequestsBind): twelve as two of 484 KiB. With a hole
  // between the loaded segments at [100 KiB, 180 KiB), no range crosses it
  // (madvise fails over unmapped addresses): the two pages before it are
  // one range, the rest two more.
  PrefetchOptions o;
  o.devices = {*prefetchDeviceClass("hdd")};
  EXPECT_EQ(planPrefetch(pagesEvery(96 * KiB, 12), o).ranges,
            (std::vector<AddressRange>{{0, 484 * KiB}, {576 * KiB, 484 * KiB}}));
  o.mapped = {{0, 100 * KiB}, {180 * KiB, 2048 * KiB}};
  PrefetchPlan p = planPrefetch(pagesEvery(96 * KiB, 12), o);
  EXPECT_EQ(p.ranges, (std::vector<AddressRange>{{0, 100 * KiB}, {192 * KiB, 484 * KiB}, {768 * KiB, 292 * KiB}}));
  // Nor does the explicit gap rule, or the limit on ranges.
  o.devices.clear();
  o.maxGap = 1024 * KiB;
  o.maxRanges = 1;
  EXPECT_EQ(planPrefetch(pagesEvery(192 * KiB, 4), o).ranges,
            (std::vector<AddressRange>{{0, 4 * KiB}, {192 * KiB, 388 * KiB}}));
}

TEST(PrefetchPlan, SubtractRanges) {
  // What ld.so's faults read before the stub runs is taken out of the
  // touched pages: pieces before, between and after; untouched ranges stay.
  EXPECT_EQ(subtractRanges({{0x0, 0x10000}, {0x20000, 0x1000}}, {{0x2000, 0x1000}, {0x8000, 0x2000}}),
            (std::vector<AddressRange>{{0x0, 0x2000}, {0x3000, 0x5000}, {0xa000, 0x6000}, {0x20000, 0x1000}}));
  // A minus range over two touched ranges, and one over a whole range.
  EXPECT_EQ(subtractRanges({{0x0, 0x2000}, {0x3000, 0x2000}, {0x8000, 0x1000}}, {{0x1000, 0x3000}, {0x7000, 0x4000}}),
            (std::vector<AddressRange>{{0x0, 0x1000}, {0x4000, 0x1000}}));
  EXPECT_EQ(subtractRanges({{0x5000, 0x1000}}, {}), (std::vector<AddressRange>{{0x5000, 0x1000}}));
  EXPECT_TRUE(subtractRanges({}, {{0x0, 0x1000}}).empty());
}
