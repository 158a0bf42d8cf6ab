#!/usr/bin/env bash
# Every ELF file under /usr/bin and /usr/lib/x86_64-linux-gnu goes through
# load -> editor -> serialize with no edit and must come back byte-identical.
# x86-64 ELF64 files must all load; other ELF files (32-bit, other machines)
# must be refused with exit code 2 and a message naming the file.
source "$(dirname "$0")/lib.sh"
require python3

python3 - "$ELFOPT" "$WORK" <<'PY'
import os, subprocess, sys, time
elfopt, work = sys.argv[1], sys.argv[2]
out = os.path.join(work, "out")
counts = {"identical": 0, "refused": 0, "bytes": 0}
failures = []
start = time.time()
for root in ("/usr/bin", "/usr/lib/x86_64-linux-gnu"):
    for dirpath, _, names in os.walk(root):
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
            supported = len(ident) >= 20 and ident[4] == 2 and ident[5] == 1 and ident[18:20] == b"\x3e\x00"
            r = subprocess.run([elfopt, "edit", path, "-o", out], capture_output=True, text=True)
            if supported:
                if r.returncode != 0:
                    failures.append(f"{path}: exit {r.returncode}: {r.stderr.strip()}")
                else:
                    with open(path, "rb") as a, open(out, "rb") as b:
                        if a.read() != b.read():
                            failures.append(f"{path}: round trip differs")
                        else:
                            counts["identical"] += 1
                            counts["bytes"] += os.path.getsize(path)
            else:
                if r.returncode != 2 or not r.stderr.startswith(f"elfopt: error: {path}: "):
                    failures.append(f"{path}: unsupported file gave exit {r.returncode}: {r.stderr.strip()}")
                else:
                    counts["refused"] += 1
            if os.path.exists(out):
                os.unlink(out)
for f in failures[:50]:
    print("FAIL:", f, file=sys.stderr)
print(f"round trip: {counts['identical']} x86-64 ELF files ({counts['bytes'] / 1e6:.0f} MB) byte-identical, "
      f"{counts['refused']} other ELF files refused with exit 2, {len(failures)} failures, "
      f"{time.time() - start:.0f} s")
sys.exit(1 if failures or counts["identical"] < 100 else 0)
PY
check "every ELF file round-trips" test $? = 0
finish
