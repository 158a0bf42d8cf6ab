#!/usr/bin/env python3
"""reloc-groups.py FILE...: are dynamic relocations against one symbol adjacent?

glibc's lookup keeps a one-entry cache per object: consecutive relocations
against the same symbol (and type class) resolve once. For each relocation
section this prints symbol relocations, distinct symbols and runs of the
same symbol; runs == distinct means every symbol's relocations are adjacent.
Run it on a file before and after `elfopt rewrite --dynsort`.
"""
import re
import subprocess
import sys


def groups(path):
    out = subprocess.run(["readelf", "-rW", path], capture_output=True, text=True, check=True).stdout
    section, names = None, {}
    for line in out.splitlines():
        m = re.match(r"Relocation section '(\S+)'", line)
        if m:
            section = m.group(1)
            names[section] = []
            continue
        f = line.split()
        if section and len(f) >= 5 and f[2].startswith("R_X86_64") and f[2] not in (
                "R_X86_64_RELATIVE", "R_X86_64_IRELATIVE"):
            names[section].append(f[4])
    for sec, seq in names.items():
        if seq:
            runs = 1 + sum(a != b for a, b in zip(seq, seq[1:]))
            yield sec, len(seq), len(set(seq)), runs


for path in sys.argv[1:]:
    for sec, n, distinct, runs in groups(path):
        print(f"{path} {sec}: {n} symbol relocations, {distinct} symbols, {runs} runs"
              f"{' (all adjacent)' if runs == distinct else ''}")
