// startup-demo: the bundled example program of elfopt's main job.
//
// A small stand-in for a large program's startup: several subsystems are
// initialized at once on their own threads, each through virtual calls,
// function-pointer tables, switches (jump tables) and an exception path,
// and through 60 generated stages each (demo-features.cpp); the stages are
// defined among 2,000 generated "features" that startup never touches, so
// the linker's layout spreads startup over the whole of .text.
// Its output is deterministic so an optimized build can be compared with
// the original byte for byte.
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "demo-features.h"

namespace {

std::mutex outputLock;
std::map<std::string, long> results;

struct Subsystem {
  virtual ~Subsystem() = default;
  virtual const char *name() const = 0;
  virtual long init(int seed) = 0;
};

long classify(int value) {
  switch (value % 8) {
  case 0: return value * 3;
  case 1: return value + 11;
  case 2: return value ^ 0x55;
  case 3: return -value;
  case 4: return value << 2;
  case 5: return value / 3;
  case 6: return value % 7;
  default: return 42;
  }
}

struct Config : Subsystem {
  const char *name() const override { return "config"; }
  long init(int seed) override {
    long sum = long(runStartupStages(0, unsigned(seed)) % 1000);
    for (int i = 0; i < 64; ++i)
      sum += classify(seed + i);
    return sum;
  }
};

struct Storage : Subsystem {
  const char *name() const override { return "storage"; }
  long init(int seed) override {
    seed += int(runStartupStages(1, unsigned(seed)) % 1000);
    try {
      if (seed % 2 == 0)
        throw std::runtime_error("cache miss");
      return seed;
    } catch (const std::exception &e) {
      return long(std::string(e.what()).size()) * seed;
    }
  }
};

struct Network : Subsystem {
  const char *name() const override { return "network"; }
  long init(int seed) override {
    static long (*const stages[])(int) = {
        [](int s) -> long { return s * 2; },
        [](int s) -> long { return s + 100; },
        [](int s) -> long { return classify(s); },
    };
    long v = long(runStartupStages(2, unsigned(seed)) % 1000);
    for (auto stage : stages)
      v = stage(int(v));
    return v;
  }
};

thread_local int initCount = 0;

} // namespace

int main(int argc, char **argv) {
  int seed = argc > 1 ? std::atoi(argv[1]) : 7;
  std::vector<std::unique_ptr<Subsystem>> subsystems;
  subsystems.push_back(std::make_unique<Config>());
  subsystems.push_back(std::make_unique<Storage>());
  subsystems.push_back(std::make_unique<Network>());

  std::vector<std::thread> threads;
  for (auto &s : subsystems)
    threads.emplace_back([&s, seed] {
      ++initCount;
      long value = s->init(seed);
      std::lock_guard<std::mutex> guard(outputLock);
      results[s->name()] = value;
    });
  for (auto &t : threads)
    t.join();

  // Startup is over: a feature the user asked for runs.
  unsigned long feature = runFeature(seed % featureCount(), seed);

  for (const auto &[name, value] : results)
    std::printf("%s: %ld\n", name.c_str(), value);
  std::printf("feature %d: %lu\n", seed % featureCount(), feature);
  return 0;
}
