#!/usr/bin/env python3
"""Writes demo-features.cpp: COUNT feature functions of varied sizes, in an order
unrelated to how the program uses them, reached through a table."""
import sys

count = int(sys.argv[2]) if len(sys.argv) > 2 else 400
with open(sys.argv[1], "w") as out:
    out.write('#include "demo-features.h"\n\nnamespace {\n')
    for i in range(count):
        body = "\n".join(f"  v = v * {31 + (i * 7 + k) % 50} + {k} ^ (v >> {1 + k % 5});"
                         for k in range(4 + (i * 13) % 40))
        out.write(f"__attribute__((noinline)) unsigned long feature{i}(unsigned long v) {{\n{body}\n  return v;\n}}\n")
    out.write("} // namespace\n\nstatic unsigned long (*const table[])(unsigned long) = {\n")
    out.write(",\n".join(f"    feature{(i * 37) % count}" for i in range(count)))
    out.write("};\n\nint featureCount() { return %d; }\n" % count)
    out.write("unsigned long runFeature(int index, int seed) { return table[index](unsigned(seed)); }\n")
