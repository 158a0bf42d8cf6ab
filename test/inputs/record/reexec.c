/* Starts itself again as a child, as Firefox starts its content processes:
   by fork and exec ("fork"), or by posix_spawn ("spawn", a vfork and exec).
   The child first-touches its own function; it also runs another program
   (/bin/true), which nothing records. */
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
extern char **environ;
__attribute__((noinline)) int parent_work(int v) { __asm__ volatile(""); return v + 1; }
__attribute__((noinline)) int reexec_child_work(int v) { __asm__ volatile(""); return v * 3; }
int main(int argc, char **argv) {
  if (argc > 1 && !strcmp(argv[1], "child")) {
    printf("child %d\n", reexec_child_work(parent_work(4)));
    fflush(stdout);
    pid_t other;
    char *args[] = {"/bin/true", NULL};
    if (posix_spawn(&other, "/bin/true", NULL, NULL, args, environ) == 0)
      waitpid(other, NULL, 0);
    return 0;
  }
  int v = parent_work(1);
  char *args[] = {"/proc/self/exe", "child", NULL};
  pid_t pid;
  if (argc > 1 && !strcmp(argv[1], "spawn")) {
    if (posix_spawn(&pid, "/proc/self/exe", NULL, NULL, args, environ) != 0)
      return 1;
  } else if ((pid = fork()) == 0) {
    execv("/proc/self/exe", args);
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  printf("parent %d, child exit %d\n", v, WEXITSTATUS(status));
  return 0;
}
