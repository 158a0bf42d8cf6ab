// PageFaultDecoder on perf records written out here byte by byte, laid out
// as the kernel writes them for the attributes tracePages() asks for.
#include "elfopt/Record/PageTrace.h"

#include <cstring>
#include <gtest/gtest.h>
#include <linux/perf_event.h>

using namespace elfopt;

namespace {

class RecordBuilder {
public:
  RecordBuilder(uint32_t type, uint16_t misc = 0) : type(type), misc(misc) {}
  RecordBuilder &u32(uint32_t v) { return put(&v, 4); }
  RecordBuilder &u64(uint64_t v) { return put(&v, 8); }
  RecordBuilder &str(const std::string &s) {
    std::vector<uint8_t> padded(s.begin(), s.end());
    padded.resize((s.size() + 8) & ~size_t(7), 0);
    return put(padded.data(), padded.size());
  }
  std::vector<uint8_t> bytes() const {
    perf_event_header h{type, misc, uint16_t(sizeof h + body.size())};
    std::vector<uint8_t> out(sizeof h);
    std::memcpy(out.data(), &h, sizeof h);
    out.insert(out.end(), body.begin(), body.end());
    return out;
  }

private:
  RecordBuilder &put(const void *p, size_t n) {
    auto *b = static_cast<const uint8_t *>(p);
    body.insert(body.end(), b, b + n);
    return *this;
  }
  uint32_t type;
  uint16_t misc;
  std::vector<uint8_t> body;
};

constexpr FileKey Main{8, 1, 1234}, Lib{8, 1, 5678};

std::vector<uint8_t> mmap2(uint32_t pid, uint64_t addr, uint64_t len, uint64_t pgoff, FileKey key,
                           const std::string &name) {
  return RecordBuilder(PERF_RECORD_MMAP2)
      .u32(pid).u32(pid).u64(addr).u64(len).u64(pgoff)
      .u32(key.major).u32(key.minor).u64(key.inode).u64(0)
      .u32(5).u32(2).str(name)
      .u32(pid).u32(pid).u64(0) // sample_id: pid, tid, time
      .bytes();
}
std::vector<uint8_t> sample(uint32_t pid, uint32_t tid, uint64_t time, uint64_t addr) {
  return RecordBuilder(PERF_RECORD_SAMPLE).u64(0x1000).u32(pid).u32(tid).u64(time).u64(addr).bytes();
}

void feed(PageFaultDecoder &d, const std::vector<uint8_t> &r) { d.onRecord(r.data(), r.size()); }

std::vector<TracedFile> twoFiles() {
  auto section = [](uint64_t offset) { return offset < 0x1000 ? std::string("(headers)") : ".text"; };
  return {{Main, "/bin/prog", section}, {Lib, "/lib/libx.so", nullptr}};
}

} // namespace

TEST(PageTrace, FaultBecomesFileOffsetOfItsMapping) {
  PageFaultDecoder d(twoFiles(), 1000);
  feed(d, mmap2(7, 0x555000, 0x4000, 0x2000, Main, "/bin/prog"));
  feed(d, sample(7, 7, 1500, 0x556123)); // 0x1123 into the mapping, file offset 0x3123
  ASSERT_EQ(d.pages()[0].size(), 1u);
  EXPECT_EQ(d.pages()[0][0].offset, 0x3000u);
  EXPECT_EQ(d.pages()[0][0].timeNs, 500u);
  EXPECT_EQ(d.pages()[0][0].thread, 1u);
  EXPECT_EQ(d.pages()[0][0].section, ".text");
  EXPECT_EQ(d.faults(), 1u);
}

TEST(PageTrace, EachPageOnceInFirstTouchOrder) {
  PageFaultDecoder d(twoFiles(), 0);
  feed(d, mmap2(7, 0x10000, 0x10000, 0, Main, "/bin/prog"));
  for (uint64_t addr : {0x13000, 0x11000, 0x13ff0, 0x10000, 0x11004})
    feed(d, sample(7, 7, addr, addr));
  std::vector<uint64_t> offsets;
  for (const PageTouch &t : d.pages()[0])
    offsets.push_back(t.offset);
  EXPECT_EQ(offsets, (std::vector<uint64_t>{0x3000, 0x1000, 0x0}));
  EXPECT_EQ(d.pages()[0][2].section, "(headers)");
  EXPECT_EQ(d.faults(), 5u);
}

TEST(PageTrace, OtherFilesAndAnonymousMemoryAreNotTraced) {
  PageFaultDecoder d(twoFiles(), 0);
  feed(d, mmap2(7, 0x10000, 0x1000, 0, FileKey{8, 1, 999}, "/lib/other.so"));
  feed(d, mmap2(7, 0x20000, 0x1000, 0, FileKey{0, 0, 0}, "//anon"));
  feed(d, sample(7, 7, 1, 0x10000));
  feed(d, sample(7, 7, 2, 0x20000));
  feed(d, sample(7, 7, 3, 0x30000)); // no mapping at all
  EXPECT_TRUE(d.pages()[0].empty());
  EXPECT_TRUE(d.pages()[1].empty());
  EXPECT_EQ(d.faults(), 3u);
}

TEST(PageTrace, FileMatchedByPathWhenTheDeviceDiffers) {
  // Overlay file systems: stat() and the mapping disagree on device and inode.
  PageFaultDecoder d(twoFiles(), 0);
  feed(d, mmap2(7, 0x10000, 0x1000, 0, FileKey{0, 50, 77}, "/lib/libx.so"));
  feed(d, sample(7, 7, 1, 0x10008));
  ASSERT_EQ(d.pages()[1].size(), 1u);
  EXPECT_EQ(d.pages()[1][0].section, ""); // no namer given
}

TEST(PageTrace, LaterMappingReplacesTheOverlappedPart) {
  // ld.so maps the whole file, then maps the data segment over its tail and
  // anonymous memory (.bss) over the end of that.
  PageFaultDecoder d(twoFiles(), 0);
  feed(d, mmap2(7, 0x10000, 0x8000, 0, Main, "/bin/prog"));
  feed(d, mmap2(7, 0x14000, 0x2000, 0x9000, Main, "/bin/prog"));
  feed(d, mmap2(7, 0x15000, 0x1000, 0, FileKey{0, 0, 0}, "//anon"));
  feed(d, sample(7, 7, 1, 0x13000)); // first mapping, before the overlap
  feed(d, sample(7, 7, 2, 0x14000)); // second mapping
  feed(d, sample(7, 7, 3, 0x15000)); // anonymous
  feed(d, sample(7, 7, 4, 0x17000)); // first mapping, after the overlap: offset 0x7000
  std::vector<uint64_t> offsets;
  for (const PageTouch &t : d.pages()[0])
    offsets.push_back(t.offset);
  EXPECT_EQ(offsets, (std::vector<uint64_t>{0x3000, 0x9000, 0x7000}));
}

TEST(PageTrace, ThreadsNumberedInOrderOfAppearance) {
  PageFaultDecoder d(twoFiles(), 0);
  feed(d, mmap2(7, 0x10000, 0x4000, 0, Main, "/bin/prog"));
  feed(d, sample(7, 7, 1, 0x10000));
  feed(d, sample(7, 9, 2, 0x11000));
  feed(d, sample(7, 8, 3, 0x12000));
  feed(d, sample(7, 9, 4, 0x13000));
  std::vector<uint32_t> threads;
  for (const PageTouch &t : d.pages()[0])
    threads.push_back(t.thread);
  EXPECT_EQ(threads, (std::vector<uint32_t>{1, 2, 3, 2}));
}

TEST(PageTrace, ForkedChildKeepsItsParentsMappingsUntilItExecs) {
  PageFaultDecoder d(twoFiles(), 0);
  feed(d, mmap2(7, 0x10000, 0x4000, 0, Main, "/bin/prog"));
  feed(d, RecordBuilder(PERF_RECORD_FORK).u32(8).u32(7).u32(8).u32(7).u64(5).u32(8).u32(8).u64(5).bytes());
  feed(d, sample(8, 8, 6, 0x11000));
  feed(d, RecordBuilder(PERF_RECORD_COMM, PERF_RECORD_MISC_COMM_EXEC).u32(8).u32(8).str("sh").u32(8).u32(8).u64(7).bytes());
  feed(d, sample(8, 8, 8, 0x12000)); // the child's new image has no such mapping
  ASSERT_EQ(d.pages()[0].size(), 1u);
  EXPECT_EQ(d.pages()[0][0].offset, 0x1000u);
}

TEST(PageTrace, LostSamplesAreCountedAndShortRecordsRefused) {
  PageFaultDecoder d(twoFiles(), 0);
  feed(d, RecordBuilder(PERF_RECORD_LOST).u64(1).u64(42).u32(7).u32(7).u64(1).bytes());
  EXPECT_EQ(d.lost(), 42u);
  feed(d, RecordBuilder(PERF_RECORD_SAMPLE).u64(0).u32(7).bytes());
  feed(d, RecordBuilder(PERF_RECORD_MMAP2).u32(7).u64(0x1000).bytes());
  uint8_t tiny[3] = {1, 2, 3};
  d.onRecord(tiny, sizeof tiny);
  EXPECT_EQ(d.malformed(), 3u);
  EXPECT_EQ(d.faults(), 0u);
}

TEST(PageTrace, HeaderSizeLargerThanTheBufferIsNotReadPastTheEnd) {
  PageFaultDecoder d(twoFiles(), 0);
  auto r = sample(7, 7, 1, 0x10000);
  auto *h = reinterpret_cast<perf_event_header *>(r.data());
  h->size = 4000; // claims more than there is
  d.onRecord(r.data(), r.size());
  EXPECT_EQ(d.faults(), 1u); // read within the 40 bytes given
}
