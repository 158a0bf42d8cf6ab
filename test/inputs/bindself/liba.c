// liba of test/shell/bind-self.sh: its own definitions, referenced from
// itself through the GOT, the PLT and data, each in one of the cases the
// proof of --bind-self decides (see the expectations in the script).
#include <stdio.h>
int a_func(int x) { return x * 3 + 1; }              // bound: called through its own PLT
int a_data = 42;                                     // bound: GLOB_DAT
int shared_fn(void) { return 1; }                    // kept: libpre, earlier, interposes
int a_copy = 7;                                      // kept: the program holds a copy
int a_fnptr(void) { return 5; }                      // kept: the program's canonical PLT address
__attribute__((weak)) int a_weak(void) { return 9; } // bound: weak, nobody else defines it
__attribute__((weak)) int a_weak2(void) { return 10; } // kept: libz defines it later
__thread int a_tls = 3;                              // kept: TLS
static int impl(void) { return 11; }
static void *resolve(void) { return (void *)impl; }
int a_ifunc(void) __attribute__((ifunc("resolve"))); // bound: an ifunc, its resolver runs as before
extern int a_missing __attribute__((weak));          // bound to 0: weak, nobody defines it (GLOB_DAT)
extern int a_later __attribute__((weak));            // kept: libz defines it
extern void a_missing_fn(void) __attribute__((weak)); // kept: also a lazy PLT slot (JUMP_SLOT)
int *a_missing_ptr = &a_missing;                     // bound to 0: R_X86_64_64 in data
int *a_data_ptr = &a_data;                           // bound: R_X86_64_64 in data
int (*a_func_ptr)(int) = a_func;                     // bound: R_X86_64_64 in data
void *a_get_fnptr(void) { return (void *)a_fnptr; }
int *a_get_copy(void) { return &a_copy; }
void a_report(void) {
  if (a_missing_fn)
    a_missing_fn();
  printf("a_missing=%d,%d a_later=%d\n", &a_missing != 0, a_missing_ptr != 0, &a_later ? a_later : -1);
  printf("a_func=%d a_data=%d shared_fn=%d a_copy=%d a_weak=%d a_weak2=%d a_tls=%d a_ifunc=%d ptrs=%d,%d\n",
         a_func(2), a_data, shared_fn(), a_copy, a_weak(), a_weak2(), a_tls, a_ifunc(), a_data_ptr == &a_data,
         a_func_ptr(1));
}
