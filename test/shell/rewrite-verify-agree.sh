#!/usr/bin/env bash
# Without static relocations, the rewriter finds jump tables from all the
# code, verify from the functions it knows (FDEs, symbols). A table that only
# undescribed code refers to, 16 bytes past an address a function refers to,
# is read by verify against that address: its default entry then leads to
# the end of a function that moves (test/inputs/rewrite/unlisted-table.S, the
# shape that refused a large clang+lld release executable). The rewriter
# must keep both readings' code in place and say why; the file is rewritten,
# verified and runs the same. The test first checks that verify's reading
# does lead there, so it cannot pass vacuously.
source "$(dirname "$0")/lib.sh"
require gcc strip llvm-nm-19 llvm-readelf-19 python3
cd "$WORK"
inputs=$SRC/test/inputs/rewrite

gcc -O2 -fPIE -pie "$inputs/unlisted-table-main.c" "$inputs/unlisted-table.S" -o prog
symbol() { llvm-nm-19 prog | awk -v s="$1" '$3 == s {print "0x" $1}'; }
anchor=$(symbol anchor) end=$(symbol before_table_end)
entry=$(rodata_word prog $((anchor + 16 + 8)))
check "verify's reading of the default entry (anchor + entry) is the end of before_table" \
  test $((anchor + entry)) == $((end))
strip -o stripped prog
want=$(./prog)
for seed in 1 2 3 4; do
  if "$ELFOPT" rewrite stripped --random-order $seed -o r$seed >log$seed 2>&1; then
    pass
    check "seed $seed: same output" test "$(./r$seed)" == "$want"
    check "seed $seed: the reason is reported" grep -q "verify reads a jump table entry against another base" log$seed
    check "seed $seed: verify" "$ELFOPT" verify stripped r$seed >/dev/null
  else
    fail "seed $seed: rewrite refused: $(cat log$seed)"
  fi
done
finish
