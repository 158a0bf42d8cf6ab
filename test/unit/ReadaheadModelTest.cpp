// modelColdStart on page traces written out here, with exact figures.
#include "elfopt/Measure/ReadaheadModel.h"

#include <gtest/gtest.h>

using namespace elfopt;

namespace {
constexpr uint64_t K = 1024, P = 4096;
}

TEST(ReadaheadModel, EachFaultReadsTheWindowCentredOnIt) {
  // 1 MiB file, 128 KiB readahead: a fault at page 100 reads pages 84..115.
  ColdStartModel m = modelColdStart({100 * P}, 1024 * K, 128 * K, {}, {});
  EXPECT_EQ(m.majorFaults, 1u);
  EXPECT_EQ(m.bytesRead, 128 * K);
  // Touches inside that window are cached; one just past it faults again.
  m = modelColdStart({100 * P, 84 * P, 115 * P, 116 * P}, 1024 * K, 128 * K, {}, {});
  EXPECT_EQ(m.majorFaults, 2u);
  // The second window (100..131) overlaps the first: only new pages count.
  EXPECT_EQ(m.bytesRead, 128 * K + 16 * P);
}

TEST(ReadaheadModel, WindowClippedToTheFile) {
  // Near the start: from page 0. Near the end: up to the last partial page.
  ColdStartModel m = modelColdStart({2 * P}, 1000 * K, 128 * K, {}, {});
  EXPECT_EQ(m.bytesRead, 128 * K);
  m = modelColdStart({10 * P}, 10 * P + 100, 128 * K, {}, {});
  EXPECT_EQ(m.majorFaults, 1u);
  EXPECT_EQ(m.bytesRead, 10 * P + 100);
}

TEST(ReadaheadModel, NoReadaheadReadsThePageAlone) {
  ColdStartModel m = modelColdStart({3 * P, 3 * P, 9 * P}, 64 * P, 0, {}, {});
  EXPECT_EQ(m.majorFaults, 2u);
  EXPECT_EQ(m.bytesRead, 2 * P);
}

TEST(ReadaheadModel, PrefetchedPagesDoNotFault) {
  ColdStartModel m = modelColdStart({5 * P, 6 * P, 40 * P}, 64 * P, 0, {{4 * P, 4 * P}}, {});
  EXPECT_EQ(m.majorFaults, 1u);
  EXPECT_EQ(m.prefetchBytes, 4 * P);
  EXPECT_EQ(m.bytesRead, 5 * P);
}

TEST(ReadaheadModel, BytesGoToTheirSections) {
  // .text 0..8 pages, .rodata 8..10 pages and half of page 10, the rest other.
  std::vector<NamedRange> sections = {{8 * P, 2 * P + 2048, ".rodata"}, {0, 8 * P, ".text"}};
  ColdStartModel m = modelColdStart({9 * P}, 16 * P, 4 * P, {}, sections);
  // Window: pages 7..10.
  EXPECT_EQ(m.bytesRead, 4 * P);
  EXPECT_EQ(m.bytesBySection[".text"], P);
  EXPECT_EQ(m.bytesBySection[".rodata"], 2 * P + 2048);
  EXPECT_EQ(m.bytesBySection["(other)"], 2048u);
}

TEST(ReadaheadModel, TouchesOutsideTheFileAreIgnored) {
  ColdStartModel m = modelColdStart({100 * P}, 10 * P, 128 * K, {}, {});
  EXPECT_EQ(m.majorFaults, 0u);
  EXPECT_EQ(m.bytesRead, 0u);
}

TEST(ReadaheadModel, PrefetchHelpsOnlyTouchesAfterTheStubRuns) {
  // The loader touches page 5 before the stub runs: a fault of its own.
  ColdStartModel m = modelColdStart({5 * P, 30 * P, 6 * P}, 64 * P, 0, {{4 * P, 4 * P}}, {}, 2);
  EXPECT_EQ(m.majorFaults, 2u);
  EXPECT_EQ(m.faultsBeforePrefetch, 2u);
  EXPECT_EQ(m.prefetchBytes, 3 * P); // page 5 was cached already
  EXPECT_EQ(m.bytesRead, 5 * P);
  // A stub that never ran in the trace reads at the end: no help, still counted.
  m = modelColdStart({5 * P}, 64 * P, 0, {{4 * P, P}}, {}, 9);
  EXPECT_EQ(m.majorFaults, 1u);
  EXPECT_EQ(m.prefetchBytes, P);
}
