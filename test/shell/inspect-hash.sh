#!/usr/bin/env bash
# `elfopt inspect` hash figures against llvm-readelf's on real libraries, on
# generated ones with GNU, SysV and both tables, and on tables elfopt's
# dynsort wrote (in place, grown, new): parameters, the full
# chain-length histogram, and the mean probes of a successful lookup
# recomputed from llvm-readelf's histogram.
source "$(dirname "$0")/lib.sh"
require python3 llvm-readelf-19 gcc

gcc -shared -fPIC -Wl,--hash-style=both -o "$WORK/both.so" "$SRC/test/inputs/grow-lib.c"
gcc -shared -fPIC -Wl,--hash-style=sysv -o "$WORK/sysv.so" "$SRC/test/inputs/grow-lib.c"
# Many exported names, to get long chains and a multi-word bloom filter.
python3 -c 'print("\n".join(f"int sym_{i}_{i*7919 % 1000}(void) {{ return {i}; }}" for i in range(3000)))' >"$WORK/many.c"
gcc -shared -fPIC -Wl,--hash-style=both -o "$WORK/many.so" "$WORK/many.c"

files=("$WORK/both.so" "$WORK/sysv.so" "$WORK/many.so")
for lib in libz.so.1 libc.so.6 libstdc++.so.6 libLLVM-19.so; do
  f=/usr/lib/x86_64-linux-gnu/$lib
  [[ -e $f ]] || f=/usr/lib/llvm-19/lib/$lib
  [[ -e $f ]] && files+=("$f")
done

# Tables elfopt wrote: rebuilt in place, grown into a new segment, and built
# for a library that had only SysV .hash.
"$ELFOPT" rewrite "$WORK/both.so" -o "$WORK/both-sorted.so" --dynsort >/dev/null &&
  "$ELFOPT" rewrite "$WORK/many.so" -o "$WORK/many-grown.so" --dynsort --hash-budget 200000 >/dev/null &&
  "$ELFOPT" rewrite "$WORK/sysv.so" -o "$WORK/sysv-gnu.so" --dynsort >/dev/null ||
  fail "dynsort of the generated libraries"
files+=("$WORK/both-sorted.so" "$WORK/many-grown.so" "$WORK/sysv-gnu.so")

for f in "${files[@]}"; do
  "$ELFOPT" inspect --json "$f" >"$WORK/inspect.json" || { fail "inspect $f"; continue; }
  llvm-readelf-19 --gnu-hash-table --histogram "$f" >"$WORK/readelf.txt" 2>&1
  if python3 - "$WORK/inspect.json" "$WORK/readelf.txt" "$f" <<'PY'
import json, re, sys
report = json.load(open(sys.argv[1]))
text = open(sys.argv[2]).read()
name = sys.argv[3]
problems = []

def histogram(title):
    m = re.search(re.escape(title) + r" \(total of (\d+) buckets\)\n.*?\n((?:\s+\d+\s+\d+.*\n?)*)", text)
    if not m:
        return None
    rows = [tuple(map(int, line.split()[:2])) for line in m.group(2).strip().splitlines()]
    return int(m.group(1)), rows

def compare(kind, ours, title):
    theirs = histogram(title)
    if ours is None and theirs is None:
        return
    if (ours is None) != (theirs is None):
        problems.append(f"{kind}: present in {'elfopt' if ours else 'llvm-readelf'} only")
        return
    nbuckets, rows = theirs
    if ours["nbuckets"] != nbuckets:
        problems.append(f"{kind}: buckets {ours['nbuckets']} vs {nbuckets}")
    hist = dict(rows)
    mine = {k: v for k, v in enumerate(ours["chainLengthHistogram"])}
    for k in set(hist) | set(mine):
        if hist.get(k, 0) != mine.get(k, 0):
            problems.append(f"{kind}: {hist.get(k, 0)} buckets of length {k} in llvm-readelf, {mine.get(k, 0)} in elfopt")
    total = sum(k * v for k, v in rows)
    hit = sum(v * k * (k + 1) / 2 for k, v in rows) / total if total else 0
    if abs(hit - ours["meanProbesHit"]) > 1e-9:
        problems.append(f"{kind}: mean probes (hit) {ours['meanProbesHit']} vs {hit} from the histogram")
    if ours["symbols"] != total:
        problems.append(f"{kind}: {ours['symbols']} symbols vs {total}")

gnu = report["gnuHash"]
compare("gnu", gnu, "Histogram for `.gnu.hash' bucket list length")
compare("sysv", report["sysvHash"], "Histogram for bucket list length")
if gnu:
    for field, label in [("nbuckets", "Num Buckets"), ("symoffset", "First Hashed Symbol Index"),
                         ("bloomWords", "Num Mask Words"), ("bloomShift", "Shift Count")]:
        m = re.search(label + r": (\d+)", text)
        if not m or int(m.group(1)) != gnu[field]:
            problems.append(f"gnu: {field} {gnu[field]} vs llvm-readelf {m and m.group(1)}")
    if not 0 <= gnu["falsePositiveRate"] <= 1:
        problems.append(f"gnu: false-positive rate {gnu['falsePositiveRate']} out of [0, 1]")
for p in problems:
    print(f"{name}: {p}")
sys.exit(1 if problems else 0)
PY
  then pass; else fail "hash figures of $f disagree with llvm-readelf"; fi
done
echo "inspect-hash: compared ${#files[@]} files"
finish
