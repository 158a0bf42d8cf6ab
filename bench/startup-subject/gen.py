#!/usr/bin/env python3
"""Writes subject.c: a program whose startup is nondeterministic in the two
ways real programs are.

- SUBSYSTEMS subsystems initialize at once, each on its own thread, each
  through a chain of CHAIN functions: the interleaving of their first touches
  changes from run to run.
- PATHS optional paths of PATH_LEN functions; each run takes TAKEN of them,
  chosen from the process id and the clock (in real programs: configuration,
  input files, the environment).
- FEATURES functions never run at startup, defined in between the startup
  code (as a real code base interleaves them), so the original layout
  scatters what startup needs.

With the environment variable SUBJECT_DETERMINISTIC=1 the same program runs
its subsystems one after another on one thread and always takes the first
TAKEN paths: the deterministic control subject.
Function sizes vary (40 to 1500 bytes) as real code does. The output is a
checksum that does not depend on the choices made.
"""
import random
import sys

# gen.py OUT [small]: "small" is the quick variant the test suite uses.
SMALL = len(sys.argv) > 2 and sys.argv[2] == "small"
if SMALL:
    SUBSYSTEMS, CHAIN, PATHS, PATH_LEN, TAKEN, FEATURES, MAX_OPS = 4, 15, 8, 12, 2, 300, 40
else:
    SUBSYSTEMS, CHAIN, PATHS, PATH_LEN, TAKEN, FEATURES, MAX_OPS = 6, 40, 12, 25, 3, 3000, 90
rng = random.Random(1234)
out = []
w = out.append


def body(name, k):
    ops = rng.randint(2, MAX_OPS)
    lines = [f"  x = x * {rng.randint(3, 97)}u + {rng.randint(1, 1000)}u; x ^= x >> {rng.randint(1, 13)};"
             for _ in range(ops)]
    return f"__attribute__((noinline)) unsigned {name}(unsigned x) {{\n" + "\n".join(lines) + "\n  return x;\n}\n"


w("#include <pthread.h>\n#include <stdio.h>\n#include <stdlib.h>\n#include <time.h>\n#include <unistd.h>\n")
defs = []
for s in range(SUBSYSTEMS):
    for i in range(CHAIN):
        defs.append(("sub", s, i))
for p in range(PATHS):
    for i in range(PATH_LEN):
        defs.append(("path", p, i))
for f in range(FEATURES):
    defs.append(("feature", f, 0))
rng.shuffle(defs)  # interleave startup code with the rest, as a code base does
for kind, a, b in defs:
    if kind == "sub":
        w(body(f"sub{a}_step{b}", b))
    elif kind == "path":
        w(body(f"path{a}_step{b}", b))
    else:
        w(body(f"feature{a}", 0))

for s in range(SUBSYSTEMS):
    calls = "\n".join(f"  x = sub{s}_step{i}(x);" for i in range(CHAIN))
    w(f"static void *init_sub{s}(void *arg) {{\n  unsigned x = {s};\n{calls}\n  *(unsigned *)arg = x;\n  return 0;\n}}\n")
for p in range(PATHS):
    calls = "\n".join(f"  x = path{p}_step{i}(x);" for i in range(PATH_LEN))
    w(f"static unsigned run_path{p}(unsigned x) {{\n{calls}\n  return x;\n}}\n")
w("static unsigned (*const paths[])(unsigned) = {" + ", ".join(f"run_path{p}" for p in range(PATHS)) + "};\n")
w("static void *(*const inits[])(void *) = {" + ", ".join(f"init_sub{s}" for s in range(SUBSYSTEMS)) + "};\n")
w("unsigned (*volatile features[])(unsigned) = {" + ", ".join(f"feature{f}" for f in range(0, FEATURES, 97)) + "};\n")
w(f"""
int main(int argc, char **argv) {{
  int deterministic = getenv("SUBJECT_DETERMINISTIC") != 0;
  unsigned results[{SUBSYSTEMS}];
  pthread_t threads[{SUBSYSTEMS}];
  for (int s = 0; s < {SUBSYSTEMS}; ++s)
    if (deterministic)
      inits[s](&results[s]);
    else
      pthread_create(&threads[s], 0, inits[s], &results[s]);
  if (!deterministic)
    for (int s = 0; s < {SUBSYSTEMS}; ++s)
      pthread_join(threads[s], 0);
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  unsigned seed = deterministic ? 1 : (unsigned)getpid() * 2654435761u ^ (unsigned)ts.tv_nsec;
  int taken[{PATHS}] = {{0}};
  for (int k = 0; k < {TAKEN}; ++k) {{
    int p = deterministic ? k : (int)((seed = seed * 1103515245u + 12345u) >> 16) % {PATHS};
    while (taken[p]) p = (p + 1) % {PATHS};
    taken[p] = 1;
    paths[p](k);
  }}
  unsigned sum = 0;
  for (int s = 0; s < {SUBSYSTEMS}; ++s) sum += results[s];
  printf("subsystems %u\\n", sum);
  return 0;
}}
""")
open(sys.argv[1], "w").write("".join(out))
