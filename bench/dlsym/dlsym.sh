#!/usr/bin/env bash
# dlsym microbenchmark: every exported name of a library (hits, in a fixed
# shuffled order), and the same
# names with a suffix (misses: every table of the library's local scope is
# searched), through the original library and the ones `elfopt rewrite
# --dynsort` makes of it, measured in the same run:
#   - instructions executed in lookup_all and its simulated cache misses
#     (valgrind callgrind --cache-sim=yes, deterministic);
#   - ns per dlsym, best round of 20, interleaved runs, with a copy of the
#     original as a control (noisy on a shared machine; a ratio only).
# Usage: bench/dlsym/dlsym.sh [LIBRARY] (default: Debian's libLLVM-19).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
ELFOPT=$(realpath "${ELFOPT:-$here/../../build/tools/elfopt/elfopt}")
lib=${1:-/usr/lib/llvm-19/lib/libLLVM.so.19.1}
work=${ELFOPT_BENCH_DIR:-/tmp/elfopt-bench}/dlsym
mkdir -p "$work"/{dynsort,budget}
gcc -O2 -o "$work/dlsym" "$here/dlsym.c" -ldl
base=$(basename "$lib")
"$ELFOPT" rewrite "$lib" -o "$work/dynsort/$base" --dynsort >/dev/null
"$ELFOPT" rewrite "$lib" -o "$work/budget/$base" --dynsort --hash-budget 1048576 >/dev/null
llvm-readelf-19 --dyn-syms -W "$lib" |
  awk '$7 != "UND" && $5 != "LOCAL" && $8 != "" && NR > 3 {sub(/@.*/, "", $8); print $8}' | sort -u |
  # In a fixed pseudo-random order: alphabetical order would favour whichever
  # .dynstr happens to be laid out alphabetically.
  shuf --random-source=<(yes) >"$work/hits.txt"
sed 's/$/_elfopt_absent/' "$work/hits.txt" >"$work/misses.txt"
echo "library: $lib ($(wc -l <"$work/hits.txt") exported names)"
echo "variants: original; dynsort = elfopt rewrite --dynsort; budget = ... --dynsort --hash-budget 1048576 (a bigger table)"
# Instructions and simulated cache misses inside lookup_all (callgrind
# --cache-sim=yes: deterministic), as "Ir D1miss LLmiss".
counts() { # LIB NAMES
  local out=$work/cg.$RANDOM
  valgrind --tool=callgrind --cache-sim=yes --toggle-collect=lookup_all --callgrind-out-file="$out" \
    "$work/dlsym" "$1" "$2" 1 >/dev/null 2>&1
  python3 - "$out" <<'PY'
import sys
events = summary = None
for line in open(sys.argv[1]):
    if line.startswith("events:"): events = line.split()[1:]
    if line.startswith("summary:"): summary = [int(x) for x in line.split()[1:]]
e = dict(zip(events, summary))
print(e["Ir"], e.get("D1mr", 0) + e.get("D1mw", 0), e.get("DLmr", 0) + e.get("DLmw", 0))
PY
  rm -f "$out"
}
ratio() { python3 -c "print(round($2 / max($1, 1), 4))"; }
for kind in hits misses; do
  read -r ia da la < <(counts "$lib" "$work/$kind.txt")
  read -r ib db lb < <(counts "$work/dynsort/$base" "$work/$kind.txt")
  read -r ic dc lc < <(counts "$work/budget/$base" "$work/$kind.txt")
  echo "$kind, instructions in dlsym (callgrind): original $ia, dynsort $ib ($(ratio $ia $ib)), budget $ic ($(ratio $ia $ic))"
  echo "$kind, L1 data misses (simulated):       original $da, dynsort $db ($(ratio $da $db)), budget $dc ($(ratio $da $dc))"
  echo "$kind, last-level misses (simulated):    original $la, dynsort $lb ($(ratio $la $lb)), budget $lc ($(ratio $la $lc))"
done
# Wall time: noisy on a shared machine. "copy" is the original copied next to
# the others, the control: its ratio shows the noise.
mkdir -p "$work/copy" && cp "$lib" "$work/copy/$base"
for kind in hits misses; do
  declare -A best=()
  for round in 1 2 3; do
    for v in original copy dynsort budget; do
      case $v in original) l=$lib ;; *) l=$work/$v/$base ;; esac
      ns=$("$work/dlsym" "$l" "$work/$kind.txt" 20 | awk '{print $5}')
      best[$v]=$(python3 -c "print(min(float('$ns'), float('${best[$v]:-1e9}')))")
    done
  done
  echo "$kind, ns per dlsym (best of 3 x 20 rounds): original ${best[original]}, copy ${best[copy]} ($(ratio ${best[original]} ${best[copy]})), dynsort ${best[dynsort]} ($(ratio ${best[original]} ${best[dynsort]})), budget ${best[budget]} ($(ratio ${best[original]} ${best[budget]}))"
  unset best
done
