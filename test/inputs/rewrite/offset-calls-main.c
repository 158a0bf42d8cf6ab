// Calls each rung of offset-calls.S's ladder through its table, and enough
// other functions that a random order moves the ladder.
#include <stdio.h>
long call_through(long rung);
long ladder(void);
long tail(void);
long after_tail(void);
#define F(n) __attribute__((noinline)) int f##n(int x) { return x * n + 7; }
F(1) F(2) F(3) F(4) F(5) F(6) F(7) F(8)
int main(void) {
  printf("%d %ld %ld\n", f1(1) + f2(2) + f3(3) + f4(4) + f5(5) + f6(6) + f7(7) + f8(8), tail(), after_tail());
  for (long i = 0; i < 7; ++i)
    printf("rung %ld: %#lx\n", i, call_through(i));
  return 0;
}
