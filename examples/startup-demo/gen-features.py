#!/usr/bin/env python3
"""Writes demo-features.cpp: the bulk of the example's code.

- FEATURES feature functions of varied sizes, reached through a table; a run
  calls one of them, after startup.
- STAGES startup stages per subsystem, run in turn from a table, defined one
  every few features, as a real code base interleaves startup code with
  everything else: the linker's layout scatters what startup touches over
  the whole of .text, which is what elfopt's order undoes.

gen-features.py OUT [FEATURES [STAGES]]
"""
import sys

features = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
stages = int(sys.argv[3]) if len(sys.argv) > 3 else 60
subsystems = 3


def body(i):
    return "\n".join(f"  v = v * {31 + (i * 7 + k) % 50} + {k} ^ (v >> {1 + k % 5});"
                     for k in range(4 + (i * 13) % 40))


with open(sys.argv[1], "w") as out:
    w = out.write
    w('#include "demo-features.h"\n\nnamespace {\n')
    # A stage after every `spread` features, subsystems taking turns.
    spread = max(1, features // (subsystems * stages))
    placed = 0
    for i in range(features):
        w(f"__attribute__((noinline)) unsigned long feature{i}(unsigned long v) {{\n{body(i)}\n  return v;\n}}\n")
        if i % spread == 0 and placed < subsystems * stages:
            s, k = placed % subsystems, placed // subsystems
            w(f"__attribute__((noinline)) unsigned long stage{s}_{k}(unsigned long v) {{\n"
              f"{body(i * 3 + k)}\n  return v;\n}}\n")
            placed += 1
    assert placed == subsystems * stages, "too few features to spread the stages over"
    w("} // namespace\n\nstatic unsigned long (*const table[])(unsigned long) = {\n")
    w(",\n".join(f"    feature{(i * 37) % features}" for i in range(features)))
    w("};\n\n")
    w("static unsigned long (*const startupStages[%d][%d])(unsigned long) = {\n" % (subsystems, stages))
    w(",\n".join("    {" + ", ".join(f"stage{s}_{k}" for k in range(stages)) + "}"
                  for s in range(subsystems)))
    w("};\n\n")
    w("int featureCount() { return %d; }\n" % features)
    w("unsigned long runFeature(int index, int seed) { return table[index](unsigned(seed)); }\n")
    w("unsigned long runStartupStages(int subsystem, unsigned long v) {\n"
      "  for (auto stage : startupStages[subsystem])\n    v = stage(v);\n  return v;\n}\n")
