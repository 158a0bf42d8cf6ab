#!/usr/bin/env bash
# order-quality.sh: how many text pages startup touches on runs the order
# has never seen, for the original layout and for four orders, on the
# nondeterministic subject of bench/startup-subject (6 subsystems initialized
# on concurrent threads, 3 of 12 input-dependent paths per run, 3000 other
# functions interleaved) and on its deterministic variant.
#
# Method: record RUNS runs, then `elfopt evaluate --cross-validate`: leave one
# run out, build each order from the others, score the held-out run, average.
# The figures are deterministic for a given set of recorded runs (no timing).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
ELFOPT=$(realpath "${ELFOPT:-$here/../build/tools/elfopt/elfopt}")
dir=${ELFOPT_BENCH_DIR:-/tmp/elfopt-bench}/startup-subject
RUNS=${RUNS:-12}
mkdir -p "$dir"
cd "$dir"
if [[ ! -x subject || "$here/startup-subject/gen.py" -nt subject ]]; then
  echo "building the subject (gcc -O2, about a minute)..."
  python3 "$here/startup-subject/gen.py" subject.c
  gcc -O2 -pthread -Wl,--emit-relocs -o subject subject.c
fi
echo "subject: $dir/subject, $(stat -c %s subject) bytes, $("$ELFOPT" inspect --json subject | python3 -c 'import json,sys; print(json.load(sys.stdin)["functions"]["count"])') functions"
echo
for variant in nondeterministic deterministic; do
  env=()
  [[ $variant == deterministic ]] && env=(SUBJECT_DETERMINISTIC=1)
  echo "== $variant startup: $RUNS runs"
  echo "   \$ ${env[*]} elfopt record --runs $RUNS -o $variant.json -- ./subject"
  env "${env[@]}" "$ELFOPT" record --runs "$RUNS" -o "$variant.json" -- ./subject >/dev/null
  echo "   \$ elfopt evaluate subject $variant.json --cross-validate"
  "$ELFOPT" evaluate subject "$variant.json" --cross-validate | sed 's/^/   /'
  echo
done

# The large real subject (bench/make-large-subject.sh: 184 MB, 101k
# functions, linked from Debian's static LLVM libraries): one run per
# workload size 1..6, so runs differ by input as well as by length.
if [[ ${LARGE:-1} == 1 ]]; then
  large=${ELFOPT_BENCH_DIR:-/tmp/elfopt-bench}
  "$here/make-large-subject.sh" "$large" >/dev/null
  echo "== large real subject: $large/llvm-large WORK for WORK in 1..6"
  profiles=()
  for work in 1 2 3 4 5 6; do
    "$ELFOPT" record -o "$dir/large$work.json" -- "$large/llvm-large" "$work" >/dev/null
    profiles+=("$dir/large$work.json")
  done
  echo "   \$ elfopt evaluate llvm-large large1.json ... large6.json --cross-validate"
  "$ELFOPT" evaluate "$large/llvm-large" "${profiles[@]}" --cross-validate | sed 's/^/   /'
fi
