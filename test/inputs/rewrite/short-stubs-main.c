// Calls short_branch through its entries at +0 and +4 (short-stubs.S), both
// ways of its kept 8-bit branch, and end_label directly; enough other
// functions that a random order moves them.
#include <stdio.h>
long call_at(long entry, long x);
int end_label(int x);
#define F(n) __attribute__((noinline)) int f##n(int x) { return x * n + 7; }
F(1) F(2) F(3) F(4) F(5) F(6) F(7) F(8)
int main(void) {
  printf("%d %d\n", f1(1) + f2(2) + f3(3) + f4(4) + f5(5) + f6(6) + f7(7) + f8(8), end_label(5));
  for (long x = 0; x < 3; ++x)
    printf("x=%ld: +0 %#lx, +4 %#lx\n", x, call_at(0, x), call_at(2, x));
  return 0;
}
