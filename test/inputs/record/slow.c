/* Runs for about 1.5 s: touches one function early, one late. */
#include <stdio.h>
#include <signal.h>
#include <unistd.h>
static volatile int got_usr1;
static void on_usr1(int sig) { got_usr1 = sig; }
__attribute__((noinline)) int early(int v) { __asm__ volatile(""); return v + 1; }
__attribute__((noinline)) int late(int v) { __asm__ volatile(""); return v + 2; }
int main(void) {
  signal(SIGUSR1, on_usr1);
  raise(SIGUSR1); /* must reach the program's handler through the tracer */
  int v = early(0);
  usleep(1500 * 1000);
  v = late(v);
  char line[64] = "";
  if (fgets(line, sizeof line, stdin) == 0)
    line[0] = 0;
  printf("v=%d usr1=%d stdin=%s", v, got_usr1, line);
  return 5;
}
