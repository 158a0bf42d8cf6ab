//===- ParallelTest.cpp - runInTwoHalves ----------------------------------===//
#include "elfopt/Support/Parallel.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

namespace elfopt {
namespace {

struct Call {
  size_t begin, end;
  unsigned half;
  std::thread::id thread;
};

std::vector<Call> callsOf(size_t count, size_t split, std::vector<int> &visits, size_t minItems = 1000) {
  std::vector<Call> calls;
  std::mutex m;
  visits.assign(count, 0);
  runInTwoHalves(
      count, split,
      [&](size_t begin, size_t end, unsigned half) {
        for (size_t i = begin; i < end; ++i)
          ++visits[i]; // the halves touch disjoint elements
        std::lock_guard lock(m);
        calls.push_back({begin, end, half, std::this_thread::get_id()});
      },
      minItems);
  return calls;
}

TEST(RunInTwoHalves, SplitsAtTheGivenIndexAndCoversEveryItemOnce) {
  std::vector<int> visits;
  auto calls = callsOf(5000, 2600, visits);
  ASSERT_EQ(calls.size(), 2u);
  std::sort(calls.begin(), calls.end(), [](const Call &a, const Call &b) { return a.half < b.half; });
  EXPECT_EQ(calls[0].begin, 0u);
  EXPECT_EQ(calls[0].end, 2600u);
  EXPECT_EQ(calls[1].begin, 2600u);
  EXPECT_EQ(calls[1].end, 5000u);
  EXPECT_EQ(calls[0].thread, std::this_thread::get_id()); // the lower half runs here
  EXPECT_NE(calls[1].thread, std::this_thread::get_id());
  EXPECT_EQ(std::count(visits.begin(), visits.end(), 1), 5000);
}

TEST(RunInTwoHalves, OneCallForFewItems) {
  std::vector<int> visits;
  auto calls = callsOf(1000, 500, visits); // not more than the minimum
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].begin, 0u);
  EXPECT_EQ(calls[0].end, 1000u);
  EXPECT_EQ(calls[0].half, 0u);
  EXPECT_EQ(calls[0].thread, std::this_thread::get_id());
  EXPECT_EQ(std::count(visits.begin(), visits.end(), 1), 1000);
  EXPECT_EQ(callsOf(10, 5, visits, 4).size(), 2u); // a smaller minimum
  EXPECT_EQ(std::count(visits.begin(), visits.end(), 1), 10);
}

TEST(RunInTwoHalves, OneCallWhenTheSplitLeavesAHalfEmpty) {
  std::vector<int> visits;
  for (size_t split : {size_t(0), size_t(3000), size_t(4000)}) {
    auto calls = callsOf(3000, split, visits);
    ASSERT_EQ(calls.size(), 1u) << split;
    EXPECT_EQ(calls[0].begin, 0u);
    EXPECT_EQ(calls[0].end, 3000u);
    EXPECT_EQ(std::count(visits.begin(), visits.end(), 1), 3000);
  }
  EXPECT_EQ(callsOf(0, 0, visits).size(), 1u);
}

TEST(RunInTwoHalves, AnExceptionInEitherHalfReachesTheCaller) {
  for (unsigned thrower : {0u, 1u}) {
    std::atomic<int> finished = 0;
    try {
      runInTwoHalves(2000, 1000, [&](size_t, size_t, unsigned half) {
        if (half == thrower)
          throw std::runtime_error("half " + std::to_string(half));
        ++finished;
      });
      ADD_FAILURE() << "no exception from half " << thrower;
    } catch (const std::runtime_error &e) {
      EXPECT_EQ(std::string(e.what()), "half " + std::to_string(thrower));
    }
    EXPECT_EQ(finished, 1); // the other half ran to its end before the rethrow
  }
}

TEST(RunInTwoHalves, BothThrowingRethrowsTheLowerHalfs) {
  try {
    runInTwoHalves(2000, 1000,
                   [&](size_t, size_t, unsigned half) { throw std::runtime_error("half " + std::to_string(half)); });
    ADD_FAILURE() << "no exception";
  } catch (const std::runtime_error &e) {
    EXPECT_EQ(std::string(e.what()), "half 0");
  }
}

TEST(RunInTwoHalves, OneCallPropagatesItsException) {
  EXPECT_THROW(runInTwoHalves(10, 5, [](size_t, size_t, unsigned) { throw std::logic_error("x"); }),
               std::logic_error);
}

} // namespace
} // namespace elfopt
