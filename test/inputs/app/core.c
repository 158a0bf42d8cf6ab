#include <stdio.h>
static int square(int x) { return x * x; }
static int cube(int x) { return x * x * x; }
static int (*const steps[])(int) = {square, cube, square};
int core_sum(int n) {
  int total = 0;
  if (n < 0) /* a call into libc, so that the library needs it */
    fprintf(stderr, "negative\n");
  for (int i = 0; i < n; ++i)
    total += steps[i % 3](i);
  return total;
}
