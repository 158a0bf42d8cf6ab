// The pure parts of `elfopt measure --device` (lib/Measure/Device.cpp): the
// profile table, the lines written to cgroup throttle files, and the
// request counters read back from blkio.throttle.io_serviced and io.stat.
#include "elfopt/Measure/Device.h"

#include <gtest/gtest.h>

using namespace elfopt;

TEST(Device, ProfilesAreSlowestFirstAndSayWhereTheirFiguresComeFrom) {
  const auto &profiles = deviceProfiles();
  ASSERT_EQ(profiles.size(), 3u);
  EXPECT_EQ(profiles[0].name, "hdd");
  EXPECT_EQ(profiles[1].name, "emmc");
  EXPECT_EQ(profiles[2].name, "ssd");
  for (size_t i = 0; i < profiles.size(); ++i) {
    EXPECT_FALSE(profiles[i].source.empty()) << profiles[i].name;
    EXPECT_EQ(profiles[i].readAheadKb, 128u) << profiles[i].name; // Linux's default, not this disk's 8 MiB
    if (i) {
      EXPECT_GT(profiles[i].readIops, profiles[i - 1].readIops) << profiles[i].name;
    }
  }
  // The figures docs/measuring.md and `help measure` quote.
  EXPECT_EQ(describeDevice(*deviceProfile("hdd")), "hdd: 150 read IOPS, 100 MB/s, 128 KiB readahead");
  EXPECT_EQ(describeDevice(*deviceProfile("emmc")), "emmc: 2000 read IOPS, 90 MB/s, 128 KiB readahead");
  EXPECT_EQ(describeDevice(*deviceProfile("ssd")), "ssd: 20000 read IOPS, 500 MB/s, 128 KiB readahead");
  EXPECT_EQ(deviceProfile("floppy"), std::nullopt);
  EXPECT_EQ(deviceProfile(""), std::nullopt);
}

TEST(Device, ThrottleLines) {
  EXPECT_EQ(throttleLine(7, 3, 150), "7:3 150");
  EXPECT_EQ(throttleLine(259, 12, 100000000), "259:12 100000000");
  EXPECT_EQ(ioMaxLine(7, 3, 150, 100000000), "7:3 riops=150 rbps=100000000");
}

TEST(Device, MajorMinorAsSysfsGivesIt) {
  EXPECT_EQ(parseMajorMinor("7:3\n"), (std::optional<std::pair<unsigned, unsigned>>{{7, 3}}));
  EXPECT_EQ(parseMajorMinor("259:0"), (std::optional<std::pair<unsigned, unsigned>>{{259, 0}}));
  EXPECT_EQ(parseMajorMinor(""), std::nullopt);
  EXPECT_EQ(parseMajorMinor("7:"), std::nullopt);
  EXPECT_EQ(parseMajorMinor(":3"), std::nullopt);
  EXPECT_EQ(parseMajorMinor("7 3"), std::nullopt);
  EXPECT_EQ(parseMajorMinor("7:3x"), std::nullopt);
  EXPECT_EQ(parseMajorMinor("-7:3"), std::nullopt);
}

TEST(Device, ReadsFromIoServiced) {
  // cgroup v1 blkio.throttle.io_serviced: the loop device's reads, and the
  // machine's disk (the loop's own reads of the image are charged to the
  // group too) which must not be counted.
  const char *text = "254:0 Read 900\n254:0 Write 2\n254:0 Sync 902\n254:0 Async 0\n254:0 Discard 0\n"
                     "254:0 Total 902\n"
                     "7:1 Read 64\n7:1 Write 0\n7:1 Sync 64\n7:1 Async 0\n7:1 Discard 0\n7:1 Total 64\n"
                     "Total 966\n";
  EXPECT_EQ(parseIoServicedReads(text, 7, 1), 64u);
  EXPECT_EQ(parseIoServicedReads(text, 254, 0), 900u);
  // 7:10 is not 7:1, and 17:1 is not 7:1.
  EXPECT_EQ(parseIoServicedReads("7:10 Read 5\n17:1 Read 6\n", 7, 1), 0u);
  // Nothing read yet: no line for the device, or nothing at all.
  EXPECT_EQ(parseIoServicedReads("Total 0\n", 7, 1), 0u);
  EXPECT_EQ(parseIoServicedReads("", 7, 1), 0u);
  // No newline at the end.
  EXPECT_EQ(parseIoServicedReads("7:1 Write 3\n7:1 Read 12", 7, 1), 12u);
}

TEST(Device, ReadsFromIoStat) {
  // cgroup v2 io.stat.
  const char *text = "254:0 rbytes=1048576 wbytes=0 rios=30 wios=0 dbytes=0 dios=0\n"
                     "7:3 rbytes=4194304 wbytes=0 rios=17 wios=2 dbytes=0 dios=0\n";
  EXPECT_EQ(parseIoStatReads(text, 7, 3), 17u);
  EXPECT_EQ(parseIoStatReads(text, 254, 0), 30u);
  EXPECT_EQ(parseIoStatReads(text, 7, 4), 0u);
  // rios is found by key, wherever it is on the line.
  EXPECT_EQ(parseIoStatReads("7:3 wios=9 rios=4", 7, 3), 4u);
  EXPECT_EQ(parseIoStatReads("7:3 rbytes=0", 7, 3), 0u);
}
