#!/usr/bin/env python3
"""Per library of a program: the symbol lookups that miss in it and that hit
in it, measured by glibc (LD_DEBUG=symbols,bindings, LD_BIND_NOW=1) and
simulated by `elfopt hash-model LIB --lookups-for PROGRAM`, side by side.
The ratio misses/hit is what the GNU hash cost model weighs.

    bench/lookup-mix.py [--check TOLERANCE] PROGRAM [ARGS...]

LD_DEBUG prints a "lookup in file=" line each time a table is probed and a
"binding file ... to LIB" line for each hit. With --check, exits 1 unless
every library's simulated misses and hits are within TOLERANCE (a fraction)
of the measured ones, or within 8 lookups (the vDSO and ld.so's own
bootstrap lookups are not simulated).
"""
import collections
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

here = os.path.dirname(os.path.abspath(__file__))
elfopt = os.environ.get("ELFOPT", os.path.join(here, "..", "build", "tools", "elfopt", "elfopt"))
args = sys.argv[1:]
tolerance = None
if args[:1] == ["--check"]:
    tolerance = float(args[1])
    args = args[2:]
program = shutil.which(args[0]) or args[0]

tmp = tempfile.mkdtemp()
env = dict(os.environ, LD_BIND_NOW="1", LD_DEBUG="symbols,bindings", LD_DEBUG_OUTPUT=os.path.join(tmp, "log"))
subprocess.run([program] + args[1:], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
probes, hits = collections.Counter(), collections.Counter()
for log in glob.glob(os.path.join(tmp, "log.*")):
    for line in open(log, errors="replace"):
        m = re.search(r"lookup in file=(\S+) \[", line)
        if m:
            probes[m.group(1)] += 1
            continue
        m = re.search(r"binding file .* to (\S+) \[\d+\]: normal symbol", line)
        if m:
            hits[m.group(1)] += 1
shutil.rmtree(tmp)

print(f"command: LD_BIND_NOW=1 LD_DEBUG=symbols,bindings {' '.join([program] + args[1:])}")
print(f"simulated: {os.path.basename(elfopt)} hash-model LIB --lookups-for {program}")
print(f"{'object':44} {'measured miss':>13} {'hit':>7} {'simulated miss':>14} {'hit':>7} {'misses/hit':>10}")
bad = 0
for path, p in probes.most_common():
    if not os.path.isfile(path) or os.path.realpath(path) == os.path.realpath(program):
        continue  # the vDSO; the program itself is FILE's peer, not a library
    h = hits[path]
    out = subprocess.run([elfopt, "hash-model", path, "--lookups-for", program, "--json"],
                         capture_output=True, text=True)
    if out.returncode != 0:
        print(f"{os.path.basename(path):44} {p - h:13} {h:7}   ({out.stderr.strip()})")
        bad += 1
        continue
    j = json.loads(out.stdout)["lookupsEstimated"]
    sm, sh = j["misses"], j["hits"]
    print(f"{os.path.basename(path):44} {p - h:13} {h:7} {sm:14} {sh:7} {(sm + 1) / (sh + 1):10.2f}")
    if tolerance is not None:
        for measured, simulated in ((p - h, sm), (h, sh)):
            if abs(measured - simulated) > max(8, tolerance * measured):
                bad += 1
sys.exit(1 if tolerance is not None and bad else 0)
