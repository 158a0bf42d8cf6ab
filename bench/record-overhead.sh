#!/usr/bin/env bash
# record-overhead.sh — what does `elfopt record` cost on a large real program
# that runs long enough (and touches enough functions) for the cost to matter?
#
# Subject: the ~180 MB, ~100k-function static-LLVM PIE built by
# make-large-subject.sh (cached in $ELFOPT_BENCH_DIR, default /tmp/elfopt-bench),
# run as `llvm-large WORK`: it generates WORK units of IR and optimizes and
# compiles them for ten targets, then JITs them (see large-subject/main.cpp).
# WORK=2 (default) runs ~1.2 s on a 2-core machine and first-touches ~21.5k
# functions; each unit adds ~0.6 s, but few new functions (21.4k at WORK=1,
# 21.6k at WORK=8), so WORK mostly scales the time between breakpoints.
# We time the plain run and the same run under `elfopt record -v` (one-shot
# int3 on every function entry), each once untimed (page cache warm-up), then
# N times interleaved, alternating which goes first; medians of wall time from
# /usr/bin/time (0.01 s resolution). Every run's stdout must equal the plain
# warm-up run's. From elfopt's -v lines we take the functions armed, the arming
# time and the functions first touched, and derive the slowdown and the extra
# time per first-touched function, (recorded - plain - arming) / touches.
# Absolute times depend on the machine (and on whatever else it is running:
# the load average is printed before and after); the ratio is the figure to
# compare across runs.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
dir=${ELFOPT_BENCH_DIR:-/tmp/elfopt-bench}
N=${N:-5}
WORK=${WORK:-2}
ELFOPT=$(realpath "${ELFOPT:-$here/../build/tools/elfopt/elfopt}")
[[ -x /usr/bin/time ]] || { echo "needs /usr/bin/time (apt-get install time)" >&2; exit 1; }

"$here/make-large-subject.sh" "$dir"
subject=$dir/llvm-large
out=$dir/record-overhead
mkdir -p "$out"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

plain=("$subject" "$WORK")
rec=("$ELFOPT" record -v -o "$out/p.json" -- "$subject" "$WORK")

# run NAME CMD...: one timed run; appends the wall time to $out/NAME.samples
# and, for recorded runs, "armed ms touched" to $out/NAME.v; checks stdout.
run() {
  local name=$1; shift
  if ! /usr/bin/time -f '%e' -o "$out/time.out" "$@" >"$out/$name.stdout" 2>"$out/$name.stderr"; then
    echo "FAILED: $* (stderr and time below)" >&2
    cat "$out/$name.stderr" "$out/time.out" >&2; exit 2
  fi
  if [[ -f $out/expected.stdout ]] && ! cmp -s "$out/expected.stdout" "$out/$name.stdout"; then
    echo "OUTPUT DIFFERS: $* (diff against the plain run's stdout, then its stderr)" >&2
    diff "$out/expected.stdout" "$out/$name.stdout" | head -20 >&2
    cat "$out/$name.stderr" >&2; exit 2
  fi
  tail -1 "$out/time.out" >> "$out/$name.samples"
  if [[ $name == rec* ]]; then
    local armed ms touched
    armed=$(sed -n 's/^elfopt: armed \([0-9]*\) functions of .* in \([0-9.]*\) ms$/\1 \2/p' "$out/$name.stderr")
    touched=$(sed -n 's/^elfopt: run 1: main: \([0-9]*\) functions first touched.*/\1/p' "$out/$name.stderr")
    if [[ -z $armed || -z $touched ]]; then
      echo "UNEXPECTED -v OUTPUT: $* (stderr below)" >&2; cat "$out/$name.stderr" >&2; exit 2
    fi
    echo "$armed $touched" >> "$out/$name.v"
  fi
}
median() { sort -n | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
col() { cut -d' ' -f"$1" "$2"; }

rm -f "$out"/*.samples "$out"/*.v "$out/expected.stdout"
run warmup-plain "${plain[@]}"; cp "$out/warmup-plain.stdout" "$out/expected.stdout"
run warmup-rec "${rec[@]}"                                   # warm-up, not reported
for ((i = 0; i < N; i++)); do
  if ((i % 2 == 0)); then run plain "${plain[@]}"; run rec "${rec[@]}"
  else                    run rec "${rec[@]}";     run plain "${plain[@]}"; fi
done

pt=$(median < "$out/plain.samples"); rt=$(median < "$out/rec.samples")
armed=$(col 1 "$out/rec.v" | median); ams=$(col 2 "$out/rec.v" | median)
touched=$(col 3 "$out/rec.v" | median)
trange="$(col 3 "$out/rec.v" | sort -n | head -1)-$(col 3 "$out/rec.v" | sort -n | tail -1)"

echo "subject:   $subject WORK=$WORK ($(stat -c %s "$subject") bytes; stdout $(wc -c < "$out/expected.stdout") bytes, identical in all $((2 * N + 2)) runs)"
echo "machine:   nproc=$(nproc), $(uname -srm); load average before $load_before, after $(cut -d' ' -f1-3 /proc/loadavg)"
echo "plain:     ${plain[*]} >/dev/null"
echo "recorded:  ${rec[*]} >/dev/null"
echo "method:    1 untimed warm-up each, then N=$N interleaved runs; /usr/bin/time -f '%e' (0.01 s resolution); medians"
echo "samples:   plain [$(paste -sd' ' "$out/plain.samples")] s, recorded [$(paste -sd' ' "$out/rec.samples")] s"
echo "           arming [$(col 2 "$out/rec.v" | paste -sd' ')] ms, first touched [$(col 3 "$out/rec.v" | paste -sd' ')]"
echo "targets:   arming 100k breakpoints well under 1 s; total slowdown (recorded/plain) under 3x"
echo
awk -v pt="$pt" -v rt="$rt" -v armed="$armed" -v ams="$ams" -v touched="$touched" -v trange="$trange" 'BEGIN {
  printf "%-40s %12d\n", "functions armed", armed
  printf "%-40s %12.1f   (%.0f ms per 100k: %s)\n", "arming time (ms, median)", ams,
         ams * 100000 / armed, (ams * 100000 / armed < 1000 ? "under 1 s" : "NOT under 1 s")
  printf "%-40s %12d   (range %s)\n", "functions first touched (median)", touched, trange
  printf "%-40s %12.2f\n", "plain wall time (s, median)", pt
  printf "%-40s %12.2f\n", "recorded wall time (s, median)", rt
  printf "%-40s %12.2f   (%s)\n", "slowdown recorded/plain", rt / pt, (rt / pt < 3 ? "under 3x" : "NOT under 3x")
  printf "%-40s %12.1f\n", "extra us per first-touched function", (rt - pt - ams / 1000) * 1e6 / touched
}'
