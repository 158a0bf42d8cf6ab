/* Library half of the edit-grow test program: exported data and functions,
   a constructor, and thread-local storage. */
#include <stdio.h>

int lib_counter = 40;
static __thread int tls_calls;

__attribute__((constructor)) static void lib_init(void) { lib_counter += 2; }

int lib_add(int a, int b) {
  ++tls_calls;
  return a + b + tls_calls;
}

const char *lib_name(void) { return "grow-lib"; }
