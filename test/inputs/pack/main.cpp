#include <cstdio>
#include <map>
#include <string>

extern "C" int library_run(int n);

static const char *const colours[] = {"red", "green", "blue"};
static int add(int a, int b) { return a + b; }
static int mul(int a, int b) { return a * b; }
static const std::map<std::string, int (*)(int, int)> ops = {{"add", add}, {"mul", mul}};

int main(int argc, char **) {
  for (const char *c : colours)
    std::printf("%s\n", c);
  for (const auto &[name, op] : ops)
    std::printf("%s %d\n", name.c_str(), op(6, 7));
  std::printf("library says %d\n", library_run(argc + 2));
  return 0;
}
