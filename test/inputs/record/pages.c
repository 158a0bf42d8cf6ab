// A program whose page accesses are known: it reads one byte in each of
// four 64 KiB windows of a read-only table, in the order 40, 3, 20, 10, and
// writes one byte in each of three pages of a data array, in the order
// 7, 2, 5. A 64 KiB window is what the kernel's fault-around maps at most
// for one read fault, so each read is a fault of its own; each write to a
// private page is a copy-on-write fault of that page alone.
#include <stdio.h>

#define WINDOW 65536
#define PAGE 4096

__attribute__((aligned(WINDOW))) const unsigned char table[48 * WINDOW] = {1};
__attribute__((aligned(PAGE))) volatile unsigned char data[16 * PAGE] = {1};

int main(void) {
  static const int reads[] = {40, 3, 20, 10};
  static const int writes[] = {7, 2, 5};
  unsigned sum = 0;
  for (unsigned i = 0; i < sizeof reads / sizeof *reads; ++i)
    sum += *(const volatile unsigned char *)&table[reads[i] * WINDOW + 100];
  for (unsigned i = 0; i < sizeof writes / sizeof *writes; ++i)
    data[writes[i] * PAGE + 100] = (unsigned char)i;
  printf("%u\n", sum);
  return 0;
}
