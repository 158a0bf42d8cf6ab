#!/usr/bin/env bash
# What dynsort and the cost-model GNU hash table save the dynamic linker:
# instructions executed inside ld.so and its simulated L1 data misses
# (valgrind callgrind --cache-sim=yes, deterministic), for `llc-19 --version` with
# LD_BIND_NOW=1 (every one of its and libLLVM-19's imports resolved at
# startup), with Debian's libLLVM-19.so and with the one `elfopt edit
# --dynsort` makes of it, measured in the same run; plus glibc's own
# LD_DEBUG=statistics relocation time (noisy; median of 5 each).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
ELFOPT=$(realpath "${ELFOPT:-$here/../build/tools/elfopt/elfopt}")
work=${ELFOPT_BENCH_DIR:-/tmp/elfopt-bench}/dynsort
mkdir -p "$work/sorted"
lib=/usr/lib/llvm-19/lib/libLLVM.so.19.1
"$ELFOPT" edit "$lib" -o "$work/sorted/libLLVM.so.19.1" --dynsort ${DYNSORT_ARGS:-} --json | python3 -c "import json,sys; d=json.load(sys.stdin)['dynsort']; print('table:', d['gnuHashBefore'], '->', d['gnuHashAfter'], 'misses per hit', round(d['missesPerHit'], 3))"
cmd=(/usr/lib/llvm-19/bin/llc --version)
# Runs callgrind with its cache simulation; prints ld.so's instructions (Ir)
# and first-level data cache misses (D1mr + D1mw). Summed from callgrind's
# own output file, not callgrind_annotate's lines: those carry no object for
# code inlined from another source file (dl-new-hash.h, dl-machine.h), which
# is about a sixth of ld.so's work. The sum over every object must equal the
# file's totals, so that nothing executed goes uncounted.
count() { # LIBDIR (empty: the system's)
  local out=$work/callgrind.$RANDOM.out
  env LD_BIND_NOW=1 ${1:+LD_LIBRARY_PATH=$1} valgrind --tool=callgrind --cache-sim=yes \
    --callgrind-out-file="$out" "${cmd[@]}" >/dev/null 2>&1
  python3 - "$out" <<'PY'
import re, sys
names, ob, skip, events, totals = {}, "", False, None, None
ldso, every = None, None
for line in open(sys.argv[1]):
    c = line[:1]
    if c.isdigit() or c in "+-*":
        if skip:
            skip = False  # the inclusive cost of a call, counted in the callee
            continue
        v = [int(x) for x in line.split()[1:]]
        v += [0] * (len(events) - len(v))
        every = [a + b for a, b in zip(every, v)]
        if ob.endswith("/ld-linux-x86-64.so.2"):
            ldso = [a + b for a, b in zip(ldso, v)]
        continue
    key, _, value = line.rstrip("\n").partition("=")
    if line.startswith("events:"):
        events = line.split()[1:]
        ldso, every = [0] * len(events), [0] * len(events)
    elif line.startswith("totals:"):
        totals = [int(x) for x in line.split()[1:]]
    elif key in ("ob", "cob"):
        m = re.match(r"\((\d+)\)(?:\s+(.*))?$", value)
        name = value
        if m:
            if m.group(2) is not None:
                names[m.group(1)] = m.group(2)
            name = names[m.group(1)]
        if key == "ob":
            ob = name
    elif key == "calls":
        skip = True
if totals is None or every[:len(totals)] != totals:
    sys.exit(f"{sys.argv[1]}: cost lines add up to {every}, totals: says {totals}")
row = dict(zip(events, ldso))
print(row["Ir"], row.get("D1mr", 0) + row.get("D1mw", 0))
PY
  rm -f "$out"
}
# Every library llc loads (libc included; ld.so is the interpreter and stays),
# dynsorted three ways: the table's shape kept (all-keep, rewrite's default),
# the model's shape with misses weighed from each library's relocations
# (all-model, --gnu-hash=optimize), and with the lookups llc's start makes in
# each (all).
mkdir -p "$work/all" "$work/all-keep" "$work/all-model"
for l in $(ldd "${cmd[0]}" | awk '/=>/ && $3 ~ /^\// {print $3}'); do
  b=$(basename "$l")
  "$ELFOPT" rewrite "$l" -o "$work/all/$b" --dynsort --hash-lookups-for "${cmd[0]}" ${DYNSORT_ARGS:-} >/dev/null
  "$ELFOPT" rewrite "$l" -o "$work/all-keep/$b" --dynsort --gnu-hash=keep >/dev/null
  "$ELFOPT" rewrite "$l" -o "$work/all-model/$b" --dynsort --gnu-hash=optimize >/dev/null
done
echo "command: LD_BIND_NOW=1 [LD_LIBRARY_PATH=DIR] ${cmd[*]}"
echo "libLLVM: $lib -> $work/sorted/libLLVM.so.19.1 (elfopt edit --dynsort ${DYNSORT_ARGS:-})"
echo "all: its $(ls "$work/all" | wc -l) libraries -> $work/all (elfopt rewrite --dynsort --hash-lookups-for ${cmd[0]} ${DYNSORT_ARGS:-})"
read -r ir_a d1_a < <(count "")
read -r ir_b d1_b < <(count "$work/sorted")
read -r ir_c d1_c < <(count "$work/all")
read -r ir_k d1_k < <(count "$work/all-keep")
read -r ir_d d1_d < <(count "$work/all-model")
ratio() { python3 -c "print(round($2 / max($1, 1), 4))"; }
echo "ld.so instructions (callgrind Ir): original $ir_a, libLLVM dynsorted $ir_b ($(ratio $ir_a $ir_b)), all $ir_c ($(ratio $ir_a $ir_c)), all-keep $ir_k ($(ratio $ir_a $ir_k)), all-model $ir_d ($(ratio $ir_a $ir_d))"
echo "ld.so L1 data misses (D1mr+D1mw):  original $d1_a, libLLVM dynsorted $d1_b ($(ratio $d1_a $d1_b)), all $d1_c ($(ratio $d1_a $d1_c)), all-keep $d1_k ($(ratio $d1_a $d1_k)), all-model $d1_d ($(ratio $d1_a $d1_d))"
reloc() {
  for i in 1 2 3 4 5; do
    env LD_BIND_NOW=1 LD_DEBUG=statistics ${1:+LD_LIBRARY_PATH=$1} "${cmd[@]}" 2>&1 >/dev/null |
      awk '/time needed for relocation/ {print $(NF-2)}'
  done | sort -n | sed -n 3p
}
echo "LD_DEBUG=statistics relocation cycles (median of 5): original $(reloc ""), libLLVM dynsorted $(reloc "$work/sorted"), all $(reloc "$work/all")"
