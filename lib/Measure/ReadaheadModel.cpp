//===- ReadaheadModel.cpp - cold start under a readahead size ------------===//
#include "elfopt/Measure/ReadaheadModel.h"

#include <algorithm>
#include <fstream>
#include <sys/stat.h>
#include <sys/sysmacros.h>

namespace elfopt {

ColdStartModel modelColdStart(const std::vector<uint64_t> &touches, uint64_t fileSize,
                              uint64_t readaheadBytes, const std::vector<FileRange> &prefetch,
                              const std::vector<NamedRange> &sections, size_t prefetchAt) {
  constexpr uint64_t Page = 4096;
  uint64_t pages = (fileSize + Page - 1) / Page;
  std::vector<bool> cached(pages, false);
  std::vector<NamedRange> sorted = sections;
  std::sort(sorted.begin(), sorted.end(), [](auto &a, auto &b) { return a.offset < b.offset; });
  ColdStartModel model;
  // Reads page \p p if it is not cached; its bytes go to the sections it holds.
  auto readPage = [&](uint64_t p) -> bool {
    if (p >= pages || cached[p])
      return false;
    cached[p] = true;
    uint64_t begin = p * Page, end = std::min(fileSize, begin + Page);
    model.bytesRead += end - begin;
    uint64_t attributed = 0;
    auto it = std::upper_bound(sorted.begin(), sorted.end(), begin,
                               [](uint64_t o, const NamedRange &r) { return o < r.offset; });
    if (it != sorted.begin())
      --it;
    for (; it != sorted.end() && it->offset < end; ++it) {
      uint64_t lo = std::max(begin, it->offset), hi = std::min(end, it->offset + it->size);
      if (lo < hi) {
        model.bytesBySection[it->name] += hi - lo;
        attributed += hi - lo;
      }
    }
    if (attributed < end - begin)
      model.bytesBySection["(other)"] += end - begin - attributed;
    return true;
  };
  auto readPrefetch = [&] {
    for (const FileRange &r : prefetch) {
      uint64_t before = model.bytesRead;
      for (uint64_t p = r.offset / Page; p * Page < r.end() && p < pages; ++p)
        readPage(p);
      model.prefetchBytes += model.bytesRead - before;
    }
  };
  uint64_t window = std::max<uint64_t>(1, readaheadBytes / Page);
  for (size_t i = 0; i < touches.size(); ++i) {
    if (i == prefetchAt)
      readPrefetch();
    uint64_t p = touches[i] / Page;
    if (p >= pages || cached[p])
      continue;
    ++model.majorFaults;
    if (i < prefetchAt && !prefetch.empty())
      ++model.faultsBeforePrefetch;
    uint64_t start = p >= window / 2 ? p - window / 2 : 0;
    for (uint64_t q = start; q < start + window && q < pages; ++q)
      readPage(q);
    readPage(p); // a window of one page still reads the faulting page
  }
  if (prefetchAt >= touches.size())
    readPrefetch();
  return model;
}

std::optional<uint64_t> readaheadOfDeviceHolding(const std::string &path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0)
    return std::nullopt;
  std::string dev = "/sys/dev/block/" + std::to_string(major(st.st_dev)) + ":" +
                    std::to_string(minor(st.st_dev));
  for (const std::string &queue : {dev + "/queue/read_ahead_kb", dev + "/../queue/read_ahead_kb"}) {
    std::ifstream in(queue);
    uint64_t kb;
    if (in >> kb)
      return kb;
  }
  return std::nullopt;
}

} // namespace elfopt
