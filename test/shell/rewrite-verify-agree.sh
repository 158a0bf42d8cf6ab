#!/usr/bin/env bash
# Without static relocations, the rewriter finds jump tables from all the
# code, verify from the functions it knows (FDEs, symbols). A table that only
# undescribed code refers to, 16 bytes past an address a function refers to,
# is read by verify against that address: its default entry then leads to
# the end of a function that moves (test/inputs/rewrite/unlisted-table.S, the
# shape that refused a large clang+lld release executable). The rewriter
# must keep both readings' code in place and say why; the file is rewritten,
# verified and runs the same. The test first checks that verify's reading
# does lead there, so it cannot pass vacuously. (dispatch is called, so the
# rewrite finds it by following control flow, and verify learns its table
# base where it walks it: then it moves like any function.)
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
    # dispatch is called: found by following control flow, it moves, and
    # verify reads its table against the base that dispatch's own code,
    # learned where it moved, refers to. Else both readings stay in place,
    # with the reason.
    if grep -q "functions found by following control flow" log$seed; then
      check "seed $seed: dispatch moved, its table read where it refers" \
        grep -q "runs of code no symbol or FDE describes moved" log$seed
      check "seed $seed: nothing kept in place" grep -q "kept in place: 0 blocks" log$seed
    else
      check "seed $seed: the reason is reported" grep -q "verify reads a jump table entry against another base" log$seed
    fi
    check "seed $seed: verify" "$ELFOPT" verify stripped r$seed >/dev/null
  else
    fail "seed $seed: rewrite refused: $(cat log$seed)"
  fi
done
finish
