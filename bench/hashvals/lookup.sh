#!/usr/bin/env bash
# What precomputed symbol hashes would save a loader that used them: replays
# glibc's GNU-hash lookup of every name PROGRAM imports against the real
# .gnu.hash tables of the libraries it loads (in load order), with and
# without hashing each name: the imports of the program and of every library
# it loads, resolved against that scope in load order, as at startup with
# LD_BIND_NOW. Default: Debian's llc-19 and its 17 libraries (libLLVM-19
# among them). Usage: bench/hashvals/lookup.sh [PROGRAM]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
program=${1:-/usr/lib/llvm-19/bin/llc}
work=${ELFOPT_BENCH_DIR:-/tmp/elfopt-bench}/hashvals
mkdir -p "$work"
g++ -O2 -std=c++20 -o "$work/lookup" "$here/lookup.cpp"
mapfile -t libs < <(ldd "$program" | awk '/=>/ && $3 ~ /^\// {print $3}')
python3 - "$program" "$work/input.txt" "${libs[@]}" <<'PY'
import re, struct, subprocess, sys
program, out, libs = sys.argv[1], sys.argv[2], sys.argv[3:]
def dynsyms(f):
    text = subprocess.run(["llvm-readelf-19", "--dyn-syms", "-W", f], capture_output=True, text=True, check=True).stdout
    rows = []
    for line in text.splitlines():
        m = re.match(r"\s*\d+:\s+[0-9a-f]+\s+\d+\s+\S+\s+\S+\s+\S+\s+(\S+)\s+(\S+)", line)
        if m:
            rows.append((m.group(1), m.group(2).split("@")[0]))
    return rows
def section(f, name):
    text = subprocess.run(["llvm-readelf-19", "-SW", f], capture_output=True, text=True, check=True).stdout
    for line in text.splitlines():
        m = re.match(r"\s*\[\s*\d+\]\s+(\S+)\s+\S+\s+[0-9a-f]+\s+([0-9a-f]+)\s+([0-9a-f]+)", line)
        if m and m.group(1) == name:
            return int(m.group(2), 16), int(m.group(3), 16)
# Every object's imports are resolved against the whole scope (the program,
# then the libraries in load order), as at startup with LD_BIND_NOW.
imports = []
for f in [program] + libs:
    imports += sorted({n for ndx, n in dynsyms(f) if ndx == "UND" and n})
with open(out, "w") as o:
    o.write(f"{len(imports)}\n" + "\n".join(imports) + "\n")
    for lib in [program] + libs:
        sec = section(lib, ".gnu.hash")
        if not sec:
            continue
        data = open(lib, "rb").read()[sec[0]:sec[0] + sec[1]]
        nb, so, bw, sh = struct.unpack_from("<IIII", data, 0)
        names = [n for _, n in dynsyms(lib)]
        nsyms = len(names) + 1
        bloom = struct.unpack_from(f"<{bw}Q", data, 16)
        buckets = struct.unpack_from(f"<{nb}I", data, 16 + 8 * bw)
        chain = struct.unpack_from(f"<{nsyms - so}I", data, 16 + 8 * bw + 4 * nb)
        o.write(f"LIB {lib} {nb} {so} {bw} {sh} {nsyms}\n")
        o.write(" ".join(map(str, bloom)) + "\n" + " ".join(map(str, buckets)) + "\n" + " ".join(map(str, chain)) + "\n")
        o.write("\n".join(n if n else "-" for n in names) + "\n")
PY
echo "program: $program; scope: ${libs[*]}"
"$work/lookup" "$work/input.txt"
