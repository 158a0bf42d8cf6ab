#!/usr/bin/env bash
# elfopt measure: cold and warm starts. Validated against a known access
# pattern: `cat` of an 8 MiB file that measure drops from the page cache
# (--evict) must read at least 8 MiB from storage in every cold run, and
# at most a little when the file is left cached. Then the files it drops
# (the program, ld.so, libc), A/B alternation and ratios, the environment of
# each variant, the program's exit status, and usage and bad input.
source "$(dirname "$0")/lib.sh"
require gcc python3
cd "$WORK"
json() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }

# --- a known access pattern ---------------------------------------------------
# On a disk-backed file system (not tmpfs, where nothing is ever read).
head -c $((8 << 20)) /dev/urandom >data.bin
sync data.bin
if [[ $(stat -f -c %T .) == tmpfs ]]; then
  echo "note: $WORK is on tmpfs; the read-bytes checks are skipped"
else
  "$ELFOPT" measure --runs 3 --cold --json --evict "$WORK/data.bin" -- cat data.bin >evicted.json
  check "cold cat of a dropped 8 MiB file reads >= 8 MiB in every run" \
    test "$(json evicted.json 'min(r["readBytes"] for r in d["variants"][0]["cold"]["runs"]) >= 8 << 20')" = True
  check "--evict FILE is among the dropped files" \
    test "$(json evicted.json '"'"$WORK"'/data.bin" in d["variants"][0]["evicted"]')" = True
  "$ELFOPT" measure --runs 3 --cold --json -- cat data.bin >cached.json
  check "cold cat of a file left cached reads less than 1 MiB" \
    test "$(json cached.json 'max(r["readBytes"] for r in d["variants"][0]["cold"]["runs"]) < 1 << 20')" = True
fi

# --- what is dropped, and the figures -------------------------------------------
cat >hello.c <<'EOF'
#include <stdio.h>
#include <stdlib.h>
int main(int argc, char **argv) {
  const char *v = getenv("HELLO_EXIT");
  printf("hello %d\n", argc);
  return v ? atoi(v) : 0;
}
EOF
gcc -O2 -o hello hello.c
cp hello hello-b
"$ELFOPT" measure --runs 3 --json -- ./hello x >one.json
check "the program, libc and ld.so are dropped before a cold run" \
  test "$(json one.json 'sorted(f.split("/")[-1].split(".so")[0] for f in d["variants"][0]["evicted"])')" \
  = "['hello', 'ld-linux-x86-64', 'libc']"
check "three cold and three warm runs" \
  test "$(json one.json '(len(d["variants"][0]["cold"]["runs"]), len(d["variants"][0]["warm"]["runs"]))')" = "(3, 3)"
check "every run faulted and took time" \
  test "$(json one.json 'all(r["minorFaults"] > 0 and r["wallSeconds"] > 0 for k in ("cold", "warm") for r in d["variants"][0][k]["runs"])')" = True
check "medians are medians of the runs" \
  test "$(json one.json 'sorted(r["minorFaults"] for r in d["variants"][0]["warm"]["runs"])[1] == d["variants"][0]["warm"]["minorFaults"]')" = True

# --- A versus B ---------------------------------------------------------------------
"$ELFOPT" measure --runs 2 --compare ./hello-b -- ./hello >ab.txt
check "A/B: both command lines" grep -q "A: ./hello$" ab.txt
check "A/B: B runs the other program with the same arguments" grep -q "B: ./hello-b$" ab.txt
check "A/B: a ratio column" grep -qE "^  warm: minor faults +[0-9]+ +[0-9]+ +[0-9.]+$" ab.txt
check "A/B: says what it cannot measure" grep -q "not measured: the storage device's own cache" ab.txt
# B's environment on top of A's: B exits 7, A 0.
"$ELFOPT" measure --runs 1 --warm --env HELLO_EXIT=0 --compare-env HELLO_EXIT=7 --json -- ./hello >env.json
check "--compare-env: B gets its own value" \
  test "$(json env.json '[v["warm"]["runs"][0]["exitStatus"] for v in d["variants"]]')" = "[0, 7]"
"$ELFOPT" measure --runs 1 --warm --env HELLO_EXIT=0 --compare-env HELLO_EXIT=7 -- ./hello >env.txt
check "a variant that fails is reported" grep -q "note: B ended with exit 7" env.txt

# --- usage and bad input ----------------------------------------------------------
expect_error 1 "elfopt: error: give the program to run after -- (see 'elfopt help measure')" "$ELFOPT" measure --runs 2
expect_error 1 "elfopt: error: --runs must be at least 1 (see 'elfopt help measure')" "$ELFOPT" measure --runs 0 -- ./hello
expect_error 1 "elfopt: error: --cold and --warm exclude each other (give neither for both) (see 'elfopt help measure')" \
  "$ELFOPT" measure --cold --warm -- ./hello
expect_error 1 "elfopt: error: expected NAME=VALUE, got 'NOVALUE' (see 'elfopt help measure')" \
  "$ELFOPT" measure --env NOVALUE -- ./hello
expect_error 2 "elfopt: error: no-such-program: program not found in PATH" "$ELFOPT" measure -- no-such-program
expect_error 2 "elfopt: error: $WORK/missing.bin: cannot open to drop it from the page cache: No such file or directory" \
  "$ELFOPT" measure --evict "$WORK/missing.bin" -- ./hello
finish
