// Calls what unlisted-table.S defines, and enough other functions that a
// random order moves before_table.
#include <stdio.h>
int anchor_user(void);
int before_table(int);
int dispatch(int);
#define F(n) __attribute__((noinline)) int f##n(int x) { return x * n + 7; }
F(1) F(2) F(3) F(4) F(5) F(6) F(7) F(8)
int main(void) {
  int s = f1(1) + f2(2) + f3(3) + f4(4) + f5(5) + f6(6) + f7(7) + f8(8);
  printf("%d %d %d\n", anchor_user(), before_table(1), s);
  for (int i = 0; i < 6; ++i)
    printf("dispatch(%d) = %d\n", i, dispatch(i));
  return 0;
}
