#!/usr/bin/env bash
# release-e2e.sh [OUTDIR]: the whole job on a release program as Debian ships
# it: clang-19 (a stripped PIE) and the two libraries it spends its start in,
# libLLVM and libclang-cpp (stripped, no static relocations). Records three
# compiles of a small C file with --object for both libraries, rewrites all
# three files with the recorded order, checks the rewritten clang compiles to
# the same object file, and measures:
#   - text pages touched (elfopt evaluate): the original layout against its
#     own recording, the rewritten one against a recording of itself;
#   - cold start: the three files evicted from the page cache
#     (posix_fadvise DONTNEED), then one compile: wall time, major faults, and
#     MiB of the three files in the page cache afterwards (read from disk,
#     readahead included: read_ahead_kb is printed);
#   - warm start: wall time and minor faults.
# Original and rewritten files are both copies in OUTDIR, run the same way
# (LD_LIBRARY_PATH), interleaved, N runs each (default 7); medians.
set -euo pipefail
ELFOPT=${ELFOPT:-$(cd "$(dirname "$0")/.." && pwd)/build/tools/elfopt/elfopt}
out=${1:-/tmp/elfopt-e2e}
runs=${RUNS:-7}
clang=$(readlink -f /usr/bin/clang-19)
resource=$(clang-19 -print-resource-dir)
rm -rf "$out" && mkdir -p "$out"/{orig,new}/lib && cd "$out"
cp "$clang" orig/clang
libs=()
for lib in libLLVM.so.19.1 libclang-cpp.so.19.1; do
  cp "$(ldd "$clang" | awk -v l="$lib" '$1 == l {print $3}')" orig/lib/
  libs+=("$lib")
done
cat >hello.c <<'EOF'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
struct item { const char *name; int weight; };
static int by_weight(const void *a, const void *b) {
  return ((const struct item *)a)->weight - ((const struct item *)b)->weight;
}
int main(int argc, char **argv) {
  struct item items[] = {{"a", 3}, {"b", 1}, {"c", 2}};
  qsort(items, 3, sizeof items[0], by_weight);
  for (int i = 0; i < 3; ++i)
    printf("%s %d %zu\n", items[i].name, items[i].weight, strlen(argv[0]) + (size_t)argc);
  return 0;
}
EOF
compile() { # VARIANT OUT: one compile with VARIANT's clang and libraries
  LD_LIBRARY_PATH=$out/$1/lib "$out/$1/clang" -resource-dir "$resource" -O2 -c hello.c -o "$2"
}
record() { # VARIANT PROFILE
  LD_LIBRARY_PATH=$out/$1/lib "$ELFOPT" record --runs 3 --object libLLVM --object libclang-cpp -o "$2" -- \
    "$out/$1/clang" -resource-dir "$resource" -O2 -c hello.c -o /dev/null
}

echo "== record the original (3 runs)"
record orig orig.profile
echo "== rewrite clang, libLLVM and libclang-cpp with the recorded order"
/usr/bin/time -f "   %e s, %M KB: clang" "$ELFOPT" rewrite orig/clang --profile orig.profile -o new/clang >rewrite-clang.txt
for lib in "${libs[@]}"; do
  name=${lib%%.so*}
  /usr/bin/time -f "   %e s, %M KB: $lib" \
    "$ELFOPT" rewrite "orig/lib/$lib" --profile orig.profile --object "$name" -o "new/lib/$lib" >"rewrite-$name.txt"
done
grep -h "ordered first\|kept in place:\|moved:" rewrite-*.txt | sed 's/^/   /'
compile orig orig.o && compile new new.o
cmp orig.o new.o && echo "   the rewritten clang compiles to the same object file"
echo "== record the rewritten files (3 runs)"
record new new.profile

pages() { # FILE PROFILE OBJECT: mean text pages touched by the file's own layout
  "$ELFOPT" evaluate "$1" "$2" --object "$3" --json |
    python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["layouts"]["original"]["pages"])'
}
echo "== text pages touched (elfopt evaluate, mean of 3 runs): original -> rewritten"
printf '   clang: %s -> %s\n' "$(pages orig/clang orig.profile main)" "$(pages new/clang new.profile main)"
for lib in "${libs[@]}"; do
  name=${lib%%.so*}
  printf '   %s: %s -> %s\n' "$lib" "$(pages "orig/lib/$lib" orig.profile "$name")" \
    "$(pages "new/lib/$lib" new.profile "$name")"
done

evict() { # VARIANT: its three files out of the page cache
  sync
  python3 - "$out/$1/clang" "$out/$1"/lib/* <<'PY'
import os, sys
for path in sys.argv[1:]:
    fd = os.open(path, os.O_RDONLY)
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    os.close(fd)
PY
}
cached_mib() { # VARIANT: MiB of its three files in the page cache
  fincore -bn -o RES "$out/$1/clang" "$out/$1"/lib/* | awk '{s += $1} END {printf "%.1f", s / 1048576}'
}
measure() { # VARIANT: "wall major minor" of one compile
  /usr/bin/time -f "%e %F %R" -o time.txt bash -c "LD_LIBRARY_PATH=$out/$1/lib '$out/$1/clang' -resource-dir '$resource' -O2 -c hello.c -o /dev/null"
  cat time.txt
}
echo "== cold and warm start, $runs runs each, interleaved (read_ahead_kb: $(cat /sys/block/*/queue/read_ahead_kb 2>/dev/null | sort -u | tr '\n' ' '))"
: >cold.txt
: >warm.txt
for ((i = 0; i < runs; i++)); do
  for v in orig new; do
    evict "$v"
    echo "$v $(measure "$v") $(cached_mib "$v")" >>cold.txt
    echo "$v $(measure "$v")" >>warm.txt
  done
done
python3 - cold.txt warm.txt <<'PY'
import statistics, sys
def table(path, cols):
    rows = [l.split() for l in open(path)]
    for v in ("orig", "new"):
        vals = [[float(x) for x in r[1:]] for r in rows if r[0] == v]
        yield v, [statistics.median(c) for c in zip(*vals)]
cold = dict(table(sys.argv[1], 4))
warm = dict(table(sys.argv[2], 3))
print("   cold (median): wall s, major faults, MiB of the three files read")
for v in ("orig", "new"):
    w, major, minor, mib = cold[v]
    print(f"     {v:5s} {w:6.3f}  {major:6.0f}  {mib:7.1f}")
o, n = cold["orig"], cold["new"]
print(f"     ratio new/orig: wall {n[0]/o[0]:.3f}, major faults {n[1]/max(o[1],1):.3f}, MiB {n[3]/max(o[3],0.1):.3f}")
print("   warm (median): wall s, minor faults")
for v in ("orig", "new"):
    w, major, minor = warm[v]
    print(f"     {v:5s} {w:6.3f}  {minor:7.0f}")
o, n = warm["orig"], warm["new"]
print(f"     ratio new/orig: wall {n[0]/o[0]:.3f}, minor faults {n[2]/o[2]:.3f}")
PY
