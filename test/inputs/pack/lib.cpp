// A library whose data points at itself: vtables, a table of functions,
// strings, constructors, an exception, and a pointer at an odd address.
#include <cstdio>
#include <stdexcept>
#include <string>

struct Shape {
  virtual ~Shape() = default;
  virtual std::string name() const = 0;
  virtual int sides() const = 0;
};
struct Triangle : Shape {
  std::string name() const override { return "triangle"; }
  int sides() const override { return 3; }
};
struct Square : Shape {
  std::string name() const override { return "square"; }
  int sides() const override { return 4; }
};

static int twice(int x) { return 2 * x; }
static int square(int x) { return x * x; }
static int (*const operations[])(int) = {twice, square, twice};
static const char *const words[] = {"one", "two", "three", "four", "five"};
static int counter = 41;
// A pointer at an odd address: RELR cannot say it, so it stays a RELA entry.
struct __attribute__((packed)) Odd {
  char tag;
  int *where;
};
Odd odd = {'x', &counter};

static std::string initialised;
__attribute__((constructor)) static void setUp() { initialised = words[2]; }

extern "C" int library_run(int n) {
  Triangle t;
  Square s;
  const Shape *shapes[] = {&t, &s};
  int total = 0;
  for (const Shape *shape : shapes) {
    std::printf("%s has %d sides\n", shape->name().c_str(), shape->sides());
    total += shape->sides();
  }
  for (int i = 0; i < 3; ++i)
    total += operations[i](n + i);
  for (const char *w : words)
    std::printf("%s ", w);
  std::printf("\nconstructor saw %s, odd %c %d\n", initialised.c_str(), odd.tag, *odd.where);
  try {
    if (n > 1)
      throw std::runtime_error("n is " + std::to_string(n));
  } catch (const std::exception &e) {
    std::printf("caught: %s\n", e.what());
  }
  return total;
}
