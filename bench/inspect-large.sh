#!/usr/bin/env bash
# inspect-large.sh — how fast is `elfopt inspect` on a large real binary,
# relative to a peer tool measured in the same run on the same machine?
#
# Subject: the ~180 MB, ~100k-function static-LLVM PIE built by
# make-large-subject.sh (cached in $ELFOPT_BENCH_DIR, default /tmp/elfopt-bench).
# Peer: llvm-readelf-19 asked for the same tables inspect reads (headers,
# sections, symbols, dynamic symbols, GNU hash table, hash histogram; LLVM 19
# spells the latter --histogram, not --hash-histogram). Absolute times depend on
# the machine; the elfopt/peer ratio is the figure to compare across runs.
# Each tool runs once untimed (page cache warm-up), then N times interleaved,
# alternating which goes first; we report the median wall time and peak RSS
# from /usr/bin/time.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
dir=${ELFOPT_BENCH_DIR:-/tmp/elfopt-bench}
N=${N:-5}
ELFOPT=$(realpath "${ELFOPT:-$here/../build/tools/elfopt/elfopt}")
READELF=${READELF:-llvm-readelf-19}
[[ -x /usr/bin/time ]] || { echo "needs /usr/bin/time (apt-get install time)" >&2; exit 1; }

"$here/make-large-subject.sh" "$dir"
subject=$dir/llvm-large

ours=("$ELFOPT" inspect --json "$subject")
peer=("$READELF" --file-header --program-headers --section-headers --symbols
      --dyn-syms --gnu-hash-table --histogram "$subject")

# run NAME CMD...: one timed run, appends "secs kib" to $dir/NAME.samples.
run() {
  local name=$1; shift
  if ! /usr/bin/time -f '%e %M' -o "$dir/time.out" "$@" >/dev/null 2>"$dir/$name.stderr"; then
    echo "FAILED: $* (stderr and time below)" >&2
    cat "$dir/$name.stderr" "$dir/time.out" >&2; exit 2
  fi
  cat "$dir/time.out" >> "$dir/$name.samples"
}
median() { sort -n | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }

run warmup "${ours[@]}"; run warmup "${peer[@]}"         # warm-up, not reported
rm -f "$dir"/{elfopt,peer,warmup}.samples
for ((i = 0; i < N; i++)); do
  if ((i % 2 == 0)); then run elfopt "${ours[@]}"; run peer "${peer[@]}"
  else                    run peer "${peer[@]}";   run elfopt "${ours[@]}"; fi
done

json=$("${ours[@]}")
get() { python3 -c "import json,sys; d=json.load(sys.stdin); print(d$1)" <<<"$json"; }
et=$(cut -d' ' -f1 "$dir/elfopt.samples" | median); em=$(cut -d' ' -f2 "$dir/elfopt.samples" | median)
pt=$(cut -d' ' -f1 "$dir/peer.samples" | median);   pm=$(cut -d' ' -f2 "$dir/peer.samples" | median)

echo "subject:   $subject"
echo "           $(get '["file"]["size"]') bytes, $(get '["functions"]["count"]') functions (elfopt functions.count)"
echo "machine:   nproc=$(nproc), $(uname -srm)"
echo "elfopt:    ${ours[*]} >/dev/null"
echo "peer:      ${peer[*]} >/dev/null"
echo "output:    elfopt $("${ours[@]}" | wc -c) bytes, peer $("${peer[@]}" | wc -c) bytes (the peer prints every symbol)"
echo "method:    1 untimed warm-up each, then N=$N interleaved runs; /usr/bin/time -f '%e %M' (0.01 s resolution); medians"
echo "samples:   elfopt [$(cut -d' ' -f1 "$dir/elfopt.samples" | paste -sd' ')] s," \
     "peer [$(cut -d' ' -f1 "$dir/peer.samples" | paste -sd' ')] s"
echo
awk -v et="$et" -v em="$em" -v pt="$pt" -v pm="$pm" 'BEGIN {
  printf "%-8s %12s %14s\n", "tool", "wall (s)", "peak RSS (MiB)"
  printf "%-8s %12.2f %14.1f\n", "elfopt", et, em / 1024
  printf "%-8s %12.2f %14.1f\n", "peer", pt, pm / 1024
  printf "%-8s %12s %14.2f\n", "ratio", (pt > 0 ? sprintf("%.2f", et / pt) : "n/a"), em / pm
}'
