// Calls each case of back-to-back-tables.S's two switches; enough other
// functions that a random order moves them.
#include <stdio.h>
int first(int x);
int second(int x);
#define F(n) __attribute__((noinline)) int f##n(int x) { return x * n + 7; }
F(1) F(2) F(3) F(4) F(5) F(6) F(7) F(8)
int main(void) {
  printf("%d\n", f1(1) + f2(2) + f3(3) + f4(4) + f5(5) + f6(6) + f7(7) + f8(8));
  for (int x = 0; x < 3; ++x)
    printf("first(%d) = %d\n", x, first(x));
  for (int x = 0; x < 2; ++x)
    printf("second(%d) = %d\n", x, second(x));
  return 0;
}
