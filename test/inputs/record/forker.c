/* The parent and a forked child each first-touch their own function; the
   child also runs parent_work, already touched by the parent. */
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>
__attribute__((noinline)) int parent_work(int v) { __asm__ volatile(""); return v + 1; }
__attribute__((noinline)) int child_work(int v) { __asm__ volatile(""); return v * 2; }
__attribute__((noinline)) int child_only_late(int v) { __asm__ volatile(""); return v - 1; }
int main(void) {
  int v = parent_work(1);
  pid_t pid = fork();
  if (pid == 0) {
    v = child_only_late(child_work(parent_work(v)));
    printf("child %d\n", v);
    fflush(stdout);
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  printf("parent %d, child exit %d\n", v, WEXITSTATUS(status));
  return 0;
}
