#!/usr/bin/env bash
# rewrite-large.sh — elfopt rewrite on a large real binary, next to BOLT.
#
# Subject: the ~180 MB, ~100k-function static-LLVM PIE from
# make-large-subject.sh (cached in $ELFOPT_BENCH_DIR, default /tmp/elfopt-bench).
#  1. record 3 runs of its default workload, build one order (elfopt order);
#  2. rewrite it with that order: elfopt rewrite (verify included), N times,
#     and llvm-bolt-19 -reorder-functions=user with the same order as a
#     function list, BOLT_N times (default 1: it takes minutes), interleaved;
#     median wall time and peak RSS of each, and the elfopt/BOLT ratio;
#  3. check the outputs: the workload (default, and `llvm-large 3`) prints
#     byte-identical output with the original, elfopt's and BOLT's binaries;
#  4. startup text pages: record the rewritten binary and score its own
#     layout (elfopt evaluate), next to the original's; and page faults of
#     one start (perf stat -e page-faults,major-faults, warm page cache).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
dir=${ELFOPT_BENCH_DIR:-/tmp/elfopt-bench}
N=${N:-3}
BOLT_N=${BOLT_N:-1}
ELFOPT=$(realpath "${ELFOPT:-$here/../build/tools/elfopt/elfopt}")
BOLT=${BOLT:-llvm-bolt-19}
[[ -x /usr/bin/time ]] || { echo "needs /usr/bin/time (apt-get install time)" >&2; exit 1; }

"$here/make-large-subject.sh" "$dir"
s=$dir/llvm-large
work=$dir/rewrite
mkdir -p "$work"
rm -f "$work"/*.samples

echo "== recording 3 runs of $s"
"$ELFOPT" record --runs 3 -o "$work/profile.json" -- "$s" >/dev/null
"$ELFOPT" order "$work/profile.json" --binary "$s" -o "$work/order.json"
"$ELFOPT" order "$work/profile.json" --binary "$s" --format lld -o "$work/order.txt"
echo "   $(wc -l <"$work/order.txt") functions in the order"

run() { # NAME CMD...: one timed run, appends "secs kib"
  local name=$1; shift
  if ! /usr/bin/time -f '%e %M' -o "$work/time.out" "$@" >"$work/$name.stdout" 2>"$work/$name.stderr"; then
    echo "FAILED: $*" >&2; tail -5 "$work/$name.stderr" >&2; exit 2
  fi
  cat "$work/time.out" >>"$work/$name.samples"
}
median() { sort -n | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }

ours=("$ELFOPT" rewrite "$s" --order "$work/order.json" -o "$work/llvm-large.elfopt" --json)
bolt=("$BOLT" "$s" -o "$work/llvm-large.bolt" -reorder-functions=user
      "-function-order=$work/order.txt")
echo "== timing: elfopt rewrite x$N, BOLT x$BOLT_N"
run elfopt "${ours[@]}"   # page cache warm-up, kept as a sample too
for ((i = 1; i < N || i < BOLT_N; i++)); do
  ((i < BOLT_N)) && run bolt "${bolt[@]}"
  ((i < N)) && run elfopt "${ours[@]}"
done
((BOLT_N >= 1)) && run bolt "${bolt[@]}"
for name in elfopt bolt; do
  [[ -s $work/$name.samples ]] || continue
  t=$(cut -d' ' -f1 "$work/$name.samples" | median)
  m=$(cut -d' ' -f2 "$work/$name.samples" | median)
  printf '  %-7s %8.2f s  %8.0f MiB peak  (%d runs)\n' "$name" "$t" "$((m / 1024))" "$(wc -l <"$work/$name.samples")"
  eval "${name}_t=$t ${name}_m=$m"
done
[[ -n ${bolt_t:-} ]] && awk -v a="$elfopt_t" -v b="$bolt_t" -v c="$elfopt_m" -v d="$bolt_m" \
  'BEGIN { printf "  elfopt/BOLT: time %.3f, peak memory %.3f\n", a / b, c / d }'
python3 - "$work/elfopt.stdout" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
b = r["blocks"]
print(f"  elfopt moved {b['moved']} blocks ({b['movedBytes']} bytes); kept {b['pinned']} in place; "
      f"ordered first: {b['orderedPlaced']} ({b['orderedBytes']} bytes); verify: {r['verify']['ok']}")
PY

echo "== same output"
for bin in llvm-large.elfopt llvm-large.bolt; do
  [[ -x $work/$bin ]] || continue
  for args in "" 3; do
    if cmp -s <("$s" $args 2>&1; echo "exit $?") <("$work/$bin" $args 2>&1; echo "exit $?"); then
      echo "  $bin ${args:-(default workload)}: identical"
    else
      echo "  $bin ${args:-(default workload)}: DIFFERENT"; status=1
    fi
  done
done

echo "== startup text pages (elfopt evaluate, each binary with its own recorded runs)"
"$ELFOPT" record --runs 3 -o "$work/profile.after.json" -- "$work/llvm-large.elfopt" >/dev/null
before=$("$ELFOPT" evaluate "$s" "$work/profile.json" --order "$work/order.json" --json)
after=$("$ELFOPT" evaluate "$work/llvm-large.elfopt" "$work/profile.after.json" --json)
python3 - "$before" "$after" <<'PY'
import json, sys
b, a = json.loads(sys.argv[1]), json.loads(sys.argv[2])
o, p, m = b["layouts"]["original"], b["layouts"]["order"], a["layouts"]["original"]
print(f"  4K pages:    original {o['pages']}, predicted {p['pages']}, measured on the rewritten binary {m['pages']}")
print(f"  64K windows: original {o['windows64k']}, predicted {p['windows64k']}, measured {m['windows64k']}")
print(f"  backward steps: original {o['backwardSteps']}, measured {m['backwardSteps']}")
print(f"  lower bound (touched bytes in pages): {b['lowerBoundPages']}")
PY

echo "== page faults of one start (warm page cache; perf stat)"
for bin in "$s" "$work/llvm-large.elfopt"; do
  perf stat -x, -e page-faults,major-faults -o "$work/perf.out" "$bin" >/dev/null 2>&1 || true
  printf '  %-40s %s\n' "$(basename "$bin")" "$(awk -F, '/faults/ {printf "%s %s  ", $1, $3}' "$work/perf.out")"
done
exit ${status:-0}
