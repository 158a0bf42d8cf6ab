/* Program half of the edit-grow test: when built as one file (GROW_STATIC_LIB)
   it includes the library; otherwise it links against libgrow.so. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef GROW_ONE_FILE
#include "grow-lib.c"
#else
extern int lib_counter;
int lib_add(int a, int b);
const char *lib_name(void);
#endif

static __thread int main_tls = 7;
static int (*volatile op)(int, int) = lib_add;

static int compare(const void *a, const void *b) {
  return *(const int *)a - *(const int *)b;
}

int main(int argc, char **argv) {
  int values[] = {5, 3, 9, 1, 7};
  qsort(values, 5, sizeof values[0], compare);
  printf("%s counter=%d tls=%d\n", lib_name(), lib_counter, main_tls);
  for (int i = 0; i < 5; ++i)
    printf("%d%c", op(values[i], i), i == 4 ? '\n' : ' ');
  char *copy = strdup(argc > 1 ? argv[1] : "no-arg");
  printf("arg=%s len=%zu\n", copy, strlen(copy));
  free(copy);
  return 3;
}
