#!/usr/bin/env bash
# A jump through a register that one path sets to a constant
# (test/inputs/rewrite/constant-jump.S: `xor %r9d,%r9d` or a load, then
# `jmp *%r9`, as GCC compiles Mesa's dispatch). Without static relocations
# the rewriter must understand every indirect jump of a function it moves;
# a constant is no address of position-independent code, so `dispatch`
# moves. Checks: it moved (unstripped and stripped), the program prints the
# same, and verify passes.
source "$(dirname "$0")/lib.sh"
require gcc clang-19 ld.lld llvm-nm-19 strip
cd "$WORK"
inputs=$SRC/test/inputs/rewrite

address() { llvm-nm-19 "$1" | awk -v s="$2" '$3 == s {print "0x" $1}'; }

for cc in gcc clang-19; do
  for ld in bfd lld; do
    name=$cc-$ld
    $cc -O2 -fPIE -pie -fuse-ld=$ld "$inputs/constant-jump-main.c" "$inputs/constant-jump.S" -o "$name" ||
      { fail "$name: build"; continue; }
    want=$(./"$name")
    if ! "$ELFOPT" rewrite "$name" --random-order 1 -o "$name.r" >"$name.txt" 2>&1; then
      fail "$name: rewrite: $(cat "$name.txt")"
      continue
    fi
    check "$name: dispatch moved" test "$(address "$name.r" dispatch)" != "$(address "$name" dispatch)"
    check "$name: nothing kept for an indirect jump" bash -c "! grep -q 'indirect jump not understood' '$name.txt'"
    check "$name: same output" test "$(./"$name.r")" == "$want"
    check "$name: verify" "$ELFOPT" verify "$name" "$name.r"
    strip -o "$name.s" "$name"
    if "$ELFOPT" rewrite "$name.s" --random-order 2 -o "$name.s.r" >"$name.s.txt" 2>&1; then
      check "$name stripped: nothing kept for an indirect jump" \
        bash -c "! grep -q 'indirect jump not understood' '$name.s.txt'"
      check "$name stripped: same output" test "$(./"$name.s.r")" == "$want"
      check "$name stripped: verify" "$ELFOPT" verify "$name.s" "$name.s.r"
    else
      fail "$name stripped: rewrite refused: $(cat "$name.s.txt")"
    fi
  done
done
finish
