// Runs loop-table.S's interpreters on a few programs; enough other
// functions that a random order moves it.
#include <stdio.h>
int interp(const unsigned char *ops);
int threaded(const unsigned char *ops);
#define F(n) __attribute__((noinline)) int f##n(int x) { return x * n + 7; }
F(1) F(2) F(3) F(4) F(5) F(6) F(7) F(8)
int main(void) {
  static const unsigned char a[] = {1, 1, 2, 3, 0}, b[] = {1, 2, 2, 2, 1, 3, 0}, c[] = {0};
  printf("%d\n", f1(1) + f2(2) + f3(3) + f4(4) + f5(5) + f6(6) + f7(7) + f8(8));
  printf("%d %d %d\n", interp(a), interp(b), interp(c));
  static const unsigned char d[] = {1, 1, 2, 1, 2, 0};
  printf("%d %d\n", threaded(d), threaded(c));
  return 0;
}
