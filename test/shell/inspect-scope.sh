#!/usr/bin/env bash
# elfopt inspect --scope: the global scope and the walk of each lookup,
# simulated from the files, against what glibc's loader reports for the same
# start (LD_DEBUG=scopes,bindings with LD_BIND_NOW=1): the same objects in
# the same order, the same number of lookups within 1%, the same mean
# position of the definer within 2%. On a generated program with three
# libraries and on Debian's own programs.
source "$(dirname "$0")/lib.sh"
require gcc python3
cd "$WORK"

# compare PROGRAM ARGS...: simulated against the loader's own report.
compare() {
  local prog=$1
  shift
  "$ELFOPT" inspect --scope --json "$prog" >sim.json || { fail "$prog: inspect --scope failed"; return; }
  LD_BIND_NOW=1 LD_DEBUG=scopes,bindings LD_DEBUG_OUTPUT="$WORK/ld" "$prog" "$@" >/dev/null 2>&1 || true
  local log
  log=$(ls -t "$WORK"/ld.* | head -1)
  check "$prog: scope, lookups and mean walk as the loader's" python3 - sim.json "$log" <<'PY'
import json, os, re, sys
sim = json.load(open(sys.argv[1]))
lines = open(sys.argv[2]).read().splitlines()
os.remove(sys.argv[2])
scope = next(re.search(r"scope 0: (.*)", l).group(1).split() for l in lines if "scope 0:" in l)
real = lambda p: os.path.realpath(p) if "/" in p else p
# scope 0 names the program as invoked; compare the libraries by file.
ours = [real(o["path"]) for o in sim["objects"][1:]]
theirs = [real(p) for p in scope[1:]]
assert ours == theirs, (ours, theirs)
pos = {real(p): i + 1 for i, p in enumerate(scope)}
pos[real(sim["program"])] = 1
n = total = 0
for l in lines:
    m = re.search(r"binding file (\S+) \[\d+\] to (\S+) \[\d+\]", l)
    if not m or m.group(1) == "linux-vdso.so.1":
        continue
    dst = real(m.group(2)) if m.group(2) != scope[0] else real(sim["program"])
    n += 1
    total += pos.get(dst, pos.get(real(sim["program"])))
resolved = sim["lookups"] - sim["unresolved"]
walk = (sim["probes"] - sim["unresolved"] * len(sim["objects"])) / resolved
# A small program differs by a few lookups (the loader's own, the vDSO's).
assert abs(resolved - n) <= max(0.01 * n, 8), (resolved, n)
assert abs(walk - total / n) <= max(0.02 * (total / n), 0.1), (walk, total / n)
PY
}

# Three libraries; the program's lookups are answered at known depths.
cat >a.c <<'C'
int a_value(void) { return 1; }
C
cat >b.c <<'C'
int a_value(void);
int b_value(void) { return a_value() + 2; }
C
cat >c.c <<'C'
int c_value(void) { return 4; }
C
cat >main.c <<'C'
#include <stdio.h>
int b_value(void); int c_value(void);
int main(void) { printf("%d\n", b_value() + c_value()); return 0; }
C
gcc -shared -fPIC -o liba.so a.c
gcc -shared -fPIC -o libb.so b.c -L. -la -Wl,-rpath,'$ORIGIN'
gcc -shared -fPIC -o libc3.so c.c
gcc -o prog main.c -L. -lb -lc3 -Wl,-rpath,'$ORIGIN' -Wl,--no-as-needed
check "generated: runs" test "$(./prog)" = 7
compare ./prog
"$ELFOPT" inspect --scope prog >scope.txt
check "generated: the scope is the program, then DT_NEEDED breadth-first" \
  test "$(sed -n 's/^ *[0-9][0-9]* *[0-9][0-9]* *[0-9][0-9]*  //p' scope.txt | xargs -n1 basename | tr '\n' ' ')" = "prog libb.so libc3.so libc.so.6 liba.so ld-linux-x86-64.so.2 "
check "generated: the mean walk is printed" grep -q '^  mean walk per lookup: [0-9.]* objects asked' scope.txt

for p in /usr/bin/clang-19 /usr/bin/cmake /usr/bin/python3; do
  [[ -x $p ]] && compare "$p" --version
done

gcc -static -o static main.c c.c -x none 2>/dev/null || gcc -static -o static -x c - <<<'int main(void){return 0;}'
expect_error 2 "elfopt: error: static: not a dynamically linked program (no PT_INTERP or no DT_NEEDED): it has no global scope to search" \
  "$ELFOPT" inspect --scope static
finish
