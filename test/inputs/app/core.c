#include <stdio.h>
static int square(int x) { return x * x; }
static int cube(int x) { return x * x * x; }
static int (*const steps[])(int) = {square, cube, square};
/* Exported and called through the library's own PLT: a reference to
   itself that app --bind-self binds. */
int core_twice(int x) { return 2 * x; }
int core_sum(int n) {
  int total = core_twice(n) - 2 * n;
  if (n < 0) /* a call into libc, so that the library needs it */
    fprintf(stderr, "negative\n");
  for (int i = 0; i < n; ++i)
    total += steps[i % 3](i);
  return total;
}
