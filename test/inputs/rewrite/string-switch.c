// Switches that return string constants: clang turns each into a relative
// lookup table (switch.table.NAME.rel, `.L.str.N - table` words with PC32
// relocations against strings in .rodata), GCC into a jump table or a table
// of pointers. Built into a program or a library by rewrite-data-words.sh.
#include <stdio.h>
#include <stdlib.h>

#define SWITCH(fn, a, b, c, d, e, f, g)                                                                  \
  __attribute__((noinline)) const char *fn(int x) {                                                     \
    switch (x) {                                                                                         \
    case 0: return a; case 1: return b; case 2: return c; case 3: return d;                             \
    case 4: return e; case 5: return f; case 6: return g; default: return #fn "?";                      \
    }                                                                                                    \
  }
SWITCH(digit, "zero", "one", "two", "three", "four", "five", "six")
SWITCH(weekday, "mon", "tue", "wed", "thu", "fri", "sat", "sun")
SWITCH(planet, "mercury", "venus", "earth", "mars", "jupiter", "saturn", "uranus")
SWITCH(colour, "red", "orange", "yellow", "green", "blue", "indigo", "violet")

const char *(*const namers[])(int) = {digit, weekday, planet, colour};

int names(int n) {
  for (int i = 0; i < n; ++i)
    for (unsigned k = 0; k < sizeof namers / sizeof *namers; ++k)
      printf("%s%c", namers[k]((i * 3 + k) % 9), k + 1 < sizeof namers / sizeof *namers ? ' ' : '\n');
  return 0;
}

#ifndef LIBRARY
int main(int argc, char **argv) { return names(argc > 1 ? atoi(argv[1]) : 12); }
#endif
