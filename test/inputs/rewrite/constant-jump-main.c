// Calls constant-jump.S's dispatch, whose jump register one path sets to
// zero, and enough other functions that a random order moves it.
#include <stdio.h>
long dispatch(int index, int x);
#define F(n) __attribute__((noinline)) long f##n(int x) { return x * n + 7; }
F(1) F(2) F(3) F(4) F(5) F(6) F(7) F(8)
long (*const handlers[])(int) = {f1, f2, f3, f4, f5, f6, f7, f8};
int main(void) {
  for (int i = 0; i < 8; ++i)
    printf("%d: %ld\n", i, dispatch(i, 10 + i));
  return 0;
}
