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
ldso=$(readlink -f /lib64/ld-linux-x86-64.so.2)
# Runs callgrind with its cache simulation; prints ld.so's instructions (Ir)
# and first-level data cache misses (D1mr + D1mw), summed over its functions.
count() { # LIBDIR (empty: the system's)
  local out=$work/callgrind.$RANDOM.out
  env LD_BIND_NOW=1 ${1:+LD_LIBRARY_PATH=$1} valgrind --tool=callgrind --cache-sim=yes \
    --callgrind-out-file="$out" "${cmd[@]}" >/dev/null 2>&1
  callgrind_annotate --threshold=100 "$out" 2>/dev/null | python3 -c "
import re, sys
events, ir, d1 = None, 0, 0
for line in sys.stdin:
    if line.startswith('Events shown:'):
        events = line.split(':', 1)[1].split()
    if '$(basename "$ldso")' in line and events:
        nums = [int(x.replace(',', '')) for x in re.findall(r'[0-9][0-9,]*', line.split(' ', 1)[0] + ' ' + line)[:len(events)]]
        fields = line.split()
        vals = [int(f.replace(',', '')) if f.replace(',', '').isdigit() else 0 for f in fields[:len(events)]]
        row = dict(zip(events, vals))
        ir += row.get('Ir', 0); d1 += row.get('D1mr', 0) + row.get('D1mw', 0)
print(ir, d1)"
}
echo "command: LD_BIND_NOW=1 [LD_LIBRARY_PATH=sorted] ${cmd[*]}"
echo "libLLVM: $lib -> $work/sorted/libLLVM.so.19.1 (elfopt edit --dynsort)"
read -r ir_a d1_a < <(count "")
read -r ir_b d1_b < <(count "$work/sorted")
echo "ld.so instructions (callgrind Ir): original $ir_a, dynsorted $ir_b, ratio $(python3 -c "print(round($ir_b / $ir_a, 4))")"
echo "ld.so L1 data misses (D1mr+D1mw):  original $d1_a, dynsorted $d1_b, ratio $(python3 -c "print(round($d1_b / max($d1_a, 1), 4))")"
reloc() {
  for i in 1 2 3 4 5; do
    env LD_BIND_NOW=1 LD_DEBUG=statistics ${1:+LD_LIBRARY_PATH=$1} "${cmd[@]}" 2>&1 >/dev/null |
      awk '/time needed for relocation/ {print $(NF-2)}'
  done | sort -n | sed -n 3p
}
echo "LD_DEBUG=statistics relocation cycles (median of 5): original $(reloc ""), dynsorted $(reloc "$work/sorted")"
