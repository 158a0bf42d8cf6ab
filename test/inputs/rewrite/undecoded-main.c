// Calls undecoded.S's two functions, and enough other functions that a
// random order moves what may move.
#include <stdint.h>
#include <stdio.h>
#include <string.h>
long far_target(long);
long called_target(long);
unsigned read_text_table(void);
long near_target(long);
void filler(void);
extern const char far_offset[], called_offset[], near_offset[];
// The function an offset in the undecoded bytes leads to, from its end.
static long (*through(const char *word))(long) {
  int32_t offset;
  memcpy(&offset, word, 4);
  return (long (*)(long))(word + 4 + offset);
}
#define F(n) __attribute__((noinline)) long f##n(long x) { return x * n + 7; }
F(1) F(2) F(3) F(4) F(5) F(6) F(7) F(8)
int main(void) {
  filler();
  printf("%ld %ld %ld %#x %ld %ld %ld %ld\n", f1(1) + f2(2) + f3(3) + f4(4) + f5(5) + f6(6) + f7(7) + f8(8),
         far_target(40), called_target(40), read_text_table(), through(far_offset)(50), through(called_offset)(50),
         near_target(40), through(near_offset)(50));
  return 0;
}
