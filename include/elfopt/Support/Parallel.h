//===- Parallel.h - one job split over two threads --------------*- C++ -*-===//
//
// The rewrite decodes, and verify checks, every function of .text: millions
// of instructions in a large binary. Both split the work in two halves, the
// upper one on a second thread. The caller picks where to split (by blocks,
// at a boundary its own data needs); this runs the halves, joins the thread
// whatever happens, and lets an exception of either half reach the caller.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstddef>
#include <functional>

namespace elfopt {

/// Below this many items one thread does all: a second costs more than it saves.
constexpr size_t MinItemsForTwoThreads = 1000;

/// Calls \p fn(begin, end, half) on [0, split) (half 0, this thread) and
/// [split, count) (half 1, a second thread), when there are more than
/// \p minItems items and 0 < split < count; otherwise once, as
/// fn(0, count, 0). Waits for both halves; if either throws, the exception
/// is rethrown here (the lower half's first when both do).
void runInTwoHalves(size_t count, size_t split,
                    const std::function<void(size_t begin, size_t end, unsigned half)> &fn,
                    size_t minItems = MinItemsForTwoThreads);

} // namespace elfopt
