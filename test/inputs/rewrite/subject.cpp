// A C++ program for the rewrite matrix: exceptions thrown through several
// functions (with landing pads and cleanups), virtual calls, static
// constructors, std containers, lambdas through std::function, a backtrace
// from inside a moved function (through the unwinder).
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <unwind.h>
#include <vector>

struct Shape {
  virtual ~Shape() = default;
  virtual double area() const = 0;
  virtual const char *name() const = 0;
};
struct Square : Shape {
  double s;
  explicit Square(double s) : s(s) {}
  double area() const override { return s * s; }
  const char *name() const override { return "square"; }
};
struct Rect : Shape {
  double w, h;
  Rect(double w, double h) : w(w), h(h) {}
  double area() const override { return w * h; }
  const char *name() const override { return "rect"; }
};

static std::map<std::string, int> registry = {{"alpha", 1}, {"beta", 2}};

struct Guard {
  const char *what;
  explicit Guard(const char *w) : what(w) {}
  ~Guard() { std::printf("unwound %s\n", what); }
};

__attribute__((noinline)) static int depth3(int x) {
  Guard g("depth3");
  if (x > 2)
    throw std::runtime_error("too deep: " + std::to_string(x));
  return x * 2;
}
__attribute__((noinline)) static int depth2(int x) {
  Guard g("depth2");
  return depth3(x + 1) + 1;
}
__attribute__((noinline)) static int depth1(int x) {
  try {
    return depth2(x + 1);
  } catch (const std::logic_error &) {
    return -1;
  }
}

static int frames = 0;
static _Unwind_Reason_Code countFrame(struct _Unwind_Context *, void *) {
  ++frames;
  return _URC_NO_REASON;
}
__attribute__((noinline)) static int unwindHere(int n) {
  if (n > 0)
    return unwindHere(n - 1) + 1;
  _Unwind_Backtrace(countFrame, nullptr);
  return 0;
}

int main(int argc, char **) {
  std::vector<std::unique_ptr<Shape>> shapes;
  shapes.push_back(std::make_unique<Square>(3));
  shapes.push_back(std::make_unique<Rect>(2, 5));
  double total = 0;
  for (auto &s : shapes) {
    total += s->area();
    std::printf("%s %.1f\n", s->name(), s->area());
  }
  std::function<int(int)> twice = [](int v) { return 2 * v; };
  std::printf("total %.1f twice %d registry %zu\n", total, twice(argc), registry.size());
  for (int i = 0; i < 3; ++i) {
    try {
      std::printf("depth1(%d) = %d\n", i, depth1(i));
    } catch (const std::exception &e) {
      std::printf("caught: %s\n", e.what());
    }
  }
  unwindHere(4);
  std::printf("unwinder saw at least 6 frames: %s\n", frames >= 6 ? "yes" : "no");
  return 0;
}
