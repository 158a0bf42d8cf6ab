// dlsym over every name in a list, ROUNDS times, through one dlopen'ed
// library: what a plugin host or a JIT pays per symbol lookup. Prints the
// nanoseconds per lookup of the fastest round (the least disturbed one).
//   dlsym LIBRARY NAMES_FILE ROUNDS
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e9 + t.tv_nsec;
}

// Kept out of line so that callgrind can count only this (--toggle-collect).
__attribute__((noinline)) unsigned long lookup_all(void *handle, char **names, size_t n) {
  unsigned long found = 0;
  for (size_t i = 0; i < n; ++i)
    found += dlsym(handle, names[i]) != NULL;
  return found;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: dlsym LIBRARY NAMES_FILE ROUNDS\n");
    return 2;
  }
  void *handle = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    fprintf(stderr, "%s\n", dlerror());
    return 1;
  }
  FILE *f = fopen(argv[2], "r");
  if (!f) {
    perror(argv[2]);
    return 1;
  }
  size_t n = 0, cap = 1024;
  char **names = malloc(cap * sizeof *names);
  char line[4096];
  while (fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = 0;
    if (n == cap)
      names = realloc(names, (cap *= 2) * sizeof *names);
    names[n++] = strdup(line);
  }
  int rounds = atoi(argv[3]);
  double best = 1e300;
  unsigned long found = 0;
  for (int r = 0; r < rounds; ++r) {
    double t0 = now();
    found = lookup_all(handle, names, n);
    double t = (now() - t0) / (double)n;
    if (t < best)
      best = t;
  }
  printf("%zu names, %lu found, %.1f ns per dlsym (best of %d rounds)\n", n, found, best, rounds);
  return 0;
}
