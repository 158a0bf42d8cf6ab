//===- Parallel.cpp -------------------------------------------------------===//
#include "elfopt/Support/Parallel.h"

#include <exception>
#include <thread>

namespace elfopt {

void runInTwoHalves(size_t count, size_t split,
                    const std::function<void(size_t begin, size_t end, unsigned half)> &fn, size_t minItems) {
  if (count <= minItems || split == 0 || split >= count) {
    fn(0, count, 0);
    return;
  }
  std::exception_ptr highError, lowError;
  std::thread worker([&] {
    try {
      fn(split, count, 1);
    } catch (...) {
      highError = std::current_exception();
    }
  });
  try {
    fn(0, split, 0);
  } catch (...) {
    lowError = std::current_exception();
  }
  worker.join();
  if (lowError)
    std::rethrow_exception(lowError);
  if (highError)
    std::rethrow_exception(highError);
}

} // namespace elfopt
