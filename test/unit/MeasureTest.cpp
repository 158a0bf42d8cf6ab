// The pure parts of `elfopt measure` (lib/Measure/Measure.cpp): reading
// ld.so's list of loaded objects and /proc/PID/io, medians; and one real
// run, for the exit status and the figures' plumbing.
#include "elfopt/Measure/Measure.h"

#include <gtest/gtest.h>
#include <sys/wait.h>

using namespace elfopt;

TEST(Measure, LoadedObjectsAsLdSoListsThem) {
  // LD_TRACE_LOADED_OBJECTS=1 output of a dynamically linked C++ program.
  const char *text = "\tlinux-vdso.so.1 (0x00007ffd5a1f2000)\n"
                     "\tlibstdc++.so.6 => /lib/x86_64-linux-gnu/libstdc++.so.6 (0x00007f0e1c000000)\n"
                     "\tlibmissing.so.3 => not found\n"
                     "\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f0e1be1f000)\n"
                     "\t/lib64/ld-linux-x86-64.so.2 (0x00007f0e1c3a5000)\n";
  EXPECT_EQ(parseLoadedObjects(text),
            (std::vector<std::string>{"/lib/x86_64-linux-gnu/libstdc++.so.6", "/lib/x86_64-linux-gnu/libc.so.6",
                                      "/lib64/ld-linux-x86-64.so.2"}));
  // A directory with a space, and no newline at the end.
  EXPECT_EQ(parseLoadedObjects("\tlibz.so.1 => /opt/my libs/libz.so.1 (0x00007f0e1be1f000)"),
            (std::vector<std::string>{"/opt/my libs/libz.so.1"}));
  // "statically linked" and other prose name no file.
  EXPECT_TRUE(parseLoadedObjects("\tstatically linked\n").empty());
  EXPECT_TRUE(parseLoadedObjects("").empty());
}

TEST(Measure, ReadBytesFromProcIo) {
  const char *io = "rchar: 9256796\nwchar: 9245840\nsyscr: 90\nsyscw: 71\nread_bytes: 192512\n"
                   "write_bytes: 0\ncancelled_write_bytes: 4096\n";
  EXPECT_EQ(parseReadBytes(io), std::optional<uint64_t>(192512));
  // Only "cancelled_write_bytes"-like keys, or nothing: not measured, not 0.
  EXPECT_EQ(parseReadBytes("xread_bytes: 5\n"), std::nullopt);
  EXPECT_EQ(parseReadBytes(""), std::nullopt);
  EXPECT_EQ(parseReadBytes("read_bytes: \n"), std::nullopt);
  EXPECT_EQ(parseReadBytes("read_bytes: 0\n"), std::optional<uint64_t>(0));
}

TEST(Measure, Median) {
  EXPECT_EQ(median({}), 0);
  EXPECT_EQ(median({5}), 5);
  EXPECT_EQ(median({9, 1, 5}), 5);
  EXPECT_EQ(median({4, 1, 3, 2}), 2.5);
  // An outlier moves the mean, not the median: why medians are quoted.
  EXPECT_EQ(median({10, 11, 12, 13, 1000}), 12);
}

TEST(Measure, OneRunGivesItsExitStatusAndFigures) {
  MeasureTarget t;
  t.argv = {"/bin/sh", "-c", "exit 3"};
  RunSample s = runOnce(t);
  ASSERT_TRUE(WIFEXITED(s.exitStatus));
  EXPECT_EQ(WEXITSTATUS(s.exitStatus), 3);
  EXPECT_GT(s.wallSeconds, 0);
  EXPECT_GT(s.minorFaults, 0u); // a process that ran at all faulted its stack in
  // The environment is the target's on top of ours.
  t.argv = {"/bin/sh", "-c", "test \"$ELFOPT_MEASURE_TEST\" = yes"};
  t.env = {{"ELFOPT_MEASURE_TEST", "yes"}};
  EXPECT_EQ(WEXITSTATUS(runOnce(t).exitStatus), 0);
}
