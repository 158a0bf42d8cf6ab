#!/usr/bin/env bash
# Every ELF file under /usr/bin and /usr/lib/x86_64-linux-gnu goes through
# load -> editor -> serialize with no edit and must come back byte-identical.
# x86-64 ELF64 files must all load; other ELF files (32-bit, other machines)
# must be refused with exit code 2 and a message naming the file.
# All files go through elfopt-roundtrip (the same calls as `elfopt edit` with
# no edit, in one process); the elfopt command itself runs on every refused
# file and on an even spread of the others, so its path is checked too.
source "$(dirname "$0")/lib.sh"
require python3

python3 - "$ELFOPT" "$ELFOPT_ROUNDTRIP" "$WORK" <<'PY'
import os, subprocess, sys, time
elfopt, roundtrip, work = sys.argv[1:4]
out = os.path.join(work, "out")
start = time.time()
failures = []
supported, unsupported = [], []
for root in ("/usr/bin", "/usr/lib/x86_64-linux-gnu"):
    for dirpath, dirnames, names in os.walk(root):
        dirnames.sort()
        for name in sorted(names):
            path = os.path.join(dirpath, name)
            if os.path.islink(path) or not os.path.isfile(path):
                continue
            try:
                with open(path, "rb") as f:
                    ident = f.read(20)
            except OSError:
                continue
            if ident[:4] != b"\x7fELF":
                continue
            x86_64 = len(ident) >= 20 and ident[4] == 2 and ident[5] == 1 and ident[18:20] == b"\x3e\x00"
            (supported if x86_64 else unsupported).append(path)

# The harness, in batches so one crash names its batch and output streams.
verdicts = {}
files = supported + unsupported
for i in range(0, len(files), 400):
    batch = files[i:i + 400]
    r = subprocess.run([roundtrip] + batch, capture_output=True, text=True, errors="replace")
    if r.returncode != 0:
        failures.append(f"elfopt-roundtrip exit {r.returncode} on {batch[0]} ... {batch[-1]}: {r.stderr.strip()[-2000:]}")
    for line in r.stdout.splitlines():
        fields = line.split("\t", 3)
        if len(fields) < 3 or fields[0] not in ("identical", "differs", "refused"):
            failures.append(line)
        else:
            kind, number, path = fields[:3]
            verdicts[path] = (kind, int(number), fields[3] if len(fields) > 3 else "")

counts = {"identical": 0, "refused": 0, "bytes": 0}
for path in supported:
    v = verdicts.get(path)
    if v is None:
        failures.append(f"{path}: no verdict from elfopt-roundtrip")
    elif v[0] != "identical":
        failures.append(f"{path}: {v}")
    else:
        counts["identical"] += 1
        counts["bytes"] += v[1]
for path in unsupported:
    v = verdicts.get(path)
    if v is None or v[0] != "refused" or v[1] != 2 or not v[2].startswith(path + ": "):
        failures.append(f"{path}: unsupported file gave {v}")
    else:
        counts["refused"] += 1

# The command: every refused file, and 25 supported ones spread evenly.
step = max(1, len(supported) // 25)
cli = 0
refusable = set(unsupported)
for path in supported[::step] + unsupported:
    r = subprocess.run([elfopt, "edit", path, "-o", out], capture_output=True, text=True, errors="replace")
    cli += 1
    if path in refusable:
        if r.returncode != 2 or not r.stderr.startswith(f"elfopt: error: {path}: ") or os.path.exists(out):
            failures.append(f"elfopt edit {path}: unsupported file gave exit {r.returncode}: {r.stderr.strip()}")
    elif r.returncode != 0:
        failures.append(f"elfopt edit {path}: exit {r.returncode}: {r.stderr.strip()}")
    else:
        with open(path, "rb") as a, open(out, "rb") as b:
            if a.read() != b.read():
                failures.append(f"elfopt edit {path}: round trip differs")
    if os.path.exists(out):
        os.unlink(out)

for f in failures[:50]:
    print("FAIL:", f, file=sys.stderr)
print(f"round trip: {counts['identical']} x86-64 ELF files ({counts['bytes'] / 1e6:.0f} MB) byte-identical, "
      f"{counts['refused']} other ELF files refused with exit 2, {cli} of them through elfopt edit, "
      f"{len(failures)} failures, {time.time() - start:.0f} s")
sys.exit(1 if failures or counts["identical"] < 100 else 0)
PY
check "every ELF file round-trips" test $? = 0
finish
