// Calls eight small functions (one of them is where relative-table.S's
// first entry seems to lead) and prints pick(0..2).
#include <stdio.h>
const char *pick(int);
#define F(n) __attribute__((noinline)) int f##n(int x) { return x * n + 7; }
F(1) F(2) F(3) F(4) F(5) F(6) F(7) F(8)
int main(void) {
  int s = f1(1) + f2(2) + f3(3) + f4(4) + f5(5) + f6(6) + f7(7) + f8(8);
  for (int i = 0; i < 3; ++i)
    printf("%s\n", pick(i));
  printf("%d\n", s);
  return 0;
}
