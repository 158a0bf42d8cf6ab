/* A known single-threaded call order: main, then step_c, step_a, step_e,
   step_b, step_d (never step_unused), each once, then again in another
   order (second calls are not first touches). */
#include <stdio.h>
#include <stdlib.h>
#define STEP(name, k) \
  __attribute__((noinline)) int name(int v) { __asm__ volatile(""); return v * 3 + k; }
STEP(step_a, 1)
STEP(step_b, 2)
STEP(step_c, 3)
STEP(step_d, 4)
STEP(step_e, 5)
STEP(step_unused, 6)
__attribute__((noinline)) void startup_done(void) { __asm__ volatile(""); }
__attribute__((noinline)) int after_startup(int v) { __asm__ volatile(""); return v + 1; }

int main(int argc, char **argv) {
  int v = argc;
  v = step_c(v);
  v = step_a(v);
  v = step_e(v);
  v = step_b(v);
  v = step_d(v);
  v = step_a(step_b(step_c(v)));
  startup_done();
  v = after_startup(v);
  printf("result %d\n", v);
  if (argc > 1 && argv[1][0] == 'c') {
    fflush(stdout);
    *(volatile int *)0 = 1; /* crash on request */
  }
  return argc > 1 && argv[1][0] == 'x' ? 7 : 0;
}
