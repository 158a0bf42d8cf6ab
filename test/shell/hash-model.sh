#!/usr/bin/env bash
# elfopt hash-model: the linkers' rules must reproduce the tables ld.bfd,
# gold, lld and mold actually build (on libraries they link here and on the
# system's ld.bfd-linked libraries), and the cost-model optimum must fit the
# budget and cost no more than the current table.
source "$(dirname "$0")/lib.sh"
require gcc clang-19 python3 ld.gold mold /usr/lib/llvm-19/bin/ld.lld
cd "$WORK"

shape() { # FILE TABLE: "nbuckets bloomWords bloomShift" of one row
  "$ELFOPT" hash-model "$1" --json | python3 -c "
import json, sys
rows = {r['table']: r for r in json.load(sys.stdin)['tables']}
r = rows[sys.argv[1]]
print(r['nbuckets'], r['bloomWords'], r['bloomShift'])" "$2"
}
# 22: 12 bits a symbol make exactly 4 bloom words, which lld rounds up to 8
# and mold keeps.
for n in 22 100 3000; do
  python3 -c "print('\n'.join(f'int sym_{i}_{i * 7919 % 1000}(void) {{ return {i}; }}' for i in range($n)))" >lib$n.c
  gcc -shared -fPIC -fuse-ld=bfd -o bfd$n.so lib$n.c
  gcc -shared -fPIC -fuse-ld=gold -o gold$n.so lib$n.c
  gcc -shared -fPIC -fuse-ld=mold -o mold$n.so lib$n.c
  clang-19 -shared -fPIC --ld-path=/usr/lib/llvm-19/bin/ld.lld -o lld$n.so lib$n.c
  gcc -shared -fPIC -fuse-ld=bfd -Wl,-O1 -o bfdO1$n.so lib$n.c
  check "ld.bfd -O1, $n symbols: the rule gives the table ld.bfd -O1 built" \
    test "$(shape bfdO1$n.so current)" = "$(shape bfdO1$n.so 'ld.bfd -O1')"
  for ld in bfd gold lld mold; do
    rule=$ld
    [[ $ld == bfd ]] && rule=ld.bfd
    check "$ld, $n symbols: the $rule rule gives the table $ld built" \
      test "$(shape $ld$n.so current)" = "$(shape $ld$n.so $rule)"
  done
done
for f in /usr/lib/x86_64-linux-gnu/libz.so.1 /usr/bin/ls; do
  check "$f: the ld.bfd rule gives its table" test "$(shape "$f" current)" = "$(shape "$f" ld.bfd)"
done
# Debian links libstdc++ with -Wl,-O1.
f=/usr/lib/x86_64-linux-gnu/libstdc++.so.6
check "$f: the ld.bfd -O1 rule gives its table" test "$(shape "$f" current)" = "$(shape "$f" 'ld.bfd -O1')"
for f in bfd3000.so lld3000.so /usr/lib/x86_64-linux-gnu/libstdc++.so.6; do
  check "$f: elfopt's table fits the budget and costs no more than the current one" \
    python3 -c "
import json, subprocess
d = json.loads(subprocess.run(['$ELFOPT', 'hash-model', '$f', '--json'], capture_output=True, text=True, check=True).stdout)
rows = {r['table']: r for r in d['tables']}
assert rows['elfopt']['bytes'] <= d['budgetBytes'], rows['elfopt']
assert rows['elfopt']['weightedLines'] <= rows['current']['weightedLines'] + 1e-9, (rows['elfopt'], rows['current'])
assert rows['elfopt']['bloomWords'] & (rows['elfopt']['bloomWords'] - 1) == 0"
done
check "more misses per hit favours a bigger bloom filter" python3 -c "
import json, subprocess
def words(r):
    d = json.loads(subprocess.run(['$ELFOPT', 'hash-model', 'bfd3000.so', '--json', '--misses-per-hit', r, '--budget', '100000'], capture_output=True, text=True, check=True).stdout)
    return {x['table']: x for x in d['tables']}['elfopt']['bloomWords']
assert words('50') >= words('0.01'), (words('50'), words('0.01'))"
# --lookups-for simulates the loader's lookups; glibc's own count
# (LD_DEBUG=symbols,bindings) must agree for every library: Debian's llc-19
# (18 libraries, versions, two DT_SYMBOLIC ICU libraries), and programs here
# with a versioned library and a -Bsymbolic one.
mkdir -p sim
gcc -O2 -fPIC -shared -Wl,--version-script="$SRC/test/inputs/versioned.map" -o sim/libversioned.so "$SRC/test/inputs/versioned.c"
gcc -O2 -o sim/vmain "$SRC/test/inputs/versioned-main.c" -Lsim -lversioned -Wl,-rpath,'$ORIGIN'
gcc -O2 -fPIC -shared -Wl,-Bsymbolic -o sim/libgrow.so "$SRC/test/inputs/grow-lib.c"
gcc -O2 -o sim/main "$SRC/test/inputs/grow-main.c" -Wl,--no-as-needed -Lsim -lgrow -lversioned -Wl,-rpath,'$ORIGIN'
for program in /usr/lib/llvm-19/bin/llc sim/vmain sim/main; do
  out=$(ELFOPT=$ELFOPT python3 "$SRC/bench/lookup-mix.py" --check 0.01 "$program" --version 2>&1)
  check "simulated lookups agree with glibc's for $program:"$'\n'"$out" test $? = 0
  check "... for more than one library of $program" test "$(grep -c '^lib' <<<"$out")" -ge 2
done
err=$("$ELFOPT" hash-model sim/libgrow.so --lookups-for /usr/bin/true 2>&1); status=$?
check "--lookups-for a program that does not load the library: exit 2 ($err)" \
  test $status = 2 -a "$err" = "elfopt: error: /usr/bin/true does not load libgrow.so (looked for its DT_SONAME and file name among the DT_NEEDED libraries)"
gcc -static -o static "$SRC/test/inputs/record/order.c"
expect_error 2 "elfopt: error: static: no dynamic symbols (a static file): nothing to model" "$ELFOPT" hash-model static
finish
