/* A C program that exercises what a function reorder must carry along:
   jump tables, function pointers in data, TLS, an ifunc, constructors and
   destructors, recursion, setjmp/longjmp, cold paths, static functions
   called without relocations. Prints a deterministic transcript. */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static __thread int tls_counter = 3;
static jmp_buf escape;

__attribute__((noinline)) static int classify(int x) {
  switch (x % 11) { /* dense enough for a jump table */
  case 0: return x * 7 + 1;
  case 1: return x - 13;
  case 2: return x ^ 0x55;
  case 3: return x << 2;
  case 4: return x / 3 + 9;
  case 5: return -x;
  case 6: return x * x % 101;
  case 7: return x + 1000;
  case 8: return x & 0xff;
  case 9: return x | 0x100;
  default: return 42;
  }
}

__attribute__((noinline)) static int add(int a, int b) { return a + b; }
__attribute__((noinline)) static int mul(int a, int b) { return a * b; }
__attribute__((noinline)) static int sub(int a, int b) { return a - b; }
typedef int (*binop)(int, int);
static binop ops[] = {add, mul, sub};
binop exported_op = mul;

__attribute__((noinline)) static int fib(int n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

__attribute__((noinline, cold)) static void rare_failure(const char *why) {
  fprintf(stderr, "failure: %s\n", why);
  exit(99);
}

__attribute__((noinline)) static int checked(int v) {
  if (__builtin_expect(v < -100000, 0))
    rare_failure("too small"); /* GCC may split this into checked.cold */
  return v + tls_counter++;
}

static int impl_generic(int x) { return x + 1; }
/* Resolvers run before relocation is complete: no calls, no globals. */
static int (*resolve_inc(void))(int) { return impl_generic; }
int inc(int x) __attribute__((ifunc("resolve_inc")));

__attribute__((noinline)) static void jump_back(int depth) {
  if (depth == 0)
    longjmp(escape, 7);
  jump_back(depth - 1);
}

static int constructed;
__attribute__((constructor)) static void setup(void) { constructed = 17; }
__attribute__((destructor)) static void teardown(void) { printf("destructor ran\n"); }

int main(int argc, char **argv) {
  int acc = argc;
  for (int i = 0; i < 40; ++i)
    acc = add(acc, classify(i + acc % 7));
  for (int i = 0; i < 3; ++i)
    acc = ops[i](acc, i + 2);
  acc = exported_op(acc, 3) % 100000;
  printf("acc %d fib %d\n", acc, fib(15));
  printf("checked %d %d\n", checked(acc), checked(5));
  printf("inc %d constructed %d\n", inc(41), constructed);
  int r = setjmp(escape);
  if (r == 0)
    jump_back(5);
  printf("longjmp %d\n", r);
  binop chosen = argc > 1 && strcmp(argv[1], "sub") == 0 ? sub : add;
  printf("chosen %d\n", chosen(10, 4));
  return acc & 0x3f;
}
