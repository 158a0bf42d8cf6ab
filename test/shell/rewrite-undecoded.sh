#!/usr/bin/env bash
# Bytes in .text that do not decode (test/inputs/rewrite/undecoded.S) may
# hold displacements or offsets nobody can read (lib/Rewrite/Undecoded.h):
# far_target and called_target, which words there reach, move with a
# forwarding stub in their old places, and the program calls them through
# those words. read_text_table reads data in .text that decodes, from the
# middle of an "instruction" there: those bytes stay, so the reader may move.
# Checks, unstripped and stripped: far_target and called_target moved (not
# kept) with stubs for that reason, the program prints the same (a missing
# stub would crash it), and verify passes; with --no-forwarding-stubs both
# are kept, with the reason.
source "$(dirname "$0")/lib.sh"
require gcc clang-19 ld.lld llvm-nm-19 python3 strip
cd "$WORK"
inputs=$SRC/test/inputs/rewrite

address() { llvm-nm-19 "$1" | awk -v s="$2" '$3 == s {print "0x" $1}'; }
# kept_for JSON REASON: the addresses kept for REASON, in hex, one a line.
kept_for() {
  python3 -c 'import json, sys
for k in json.load(open(sys.argv[1]))["kept"]:
    if k["reason"] == sys.argv[2]: print(hex(k["address"]))' "$1" "$2"
}
reason="may be the target of code that did not decode"

for cc in gcc clang-19; do
  for ld in bfd lld; do
    name=$cc-$ld
    $cc -O2 -fPIE -pie -fuse-ld=$ld "$inputs/undecoded-main.c" "$inputs/undecoded.S" -o "$name" ||
      { fail "$name: build"; continue; }
    want=$(./"$name")
    far=$(address "$name" far_target) called=$(address "$name" called_target)
    reader=$(address "$name" read_text_table)
    strip -o "$name.s" "$name"
    for v in "$name" "$name.s"; do
      if ! "$ELFOPT" rewrite "$v" --random-order 1 --json -o "$v.r" >"$v.json" 2>"$v.err"; then
        fail "$v: rewrite: $(cat "$v.err")"
        continue
      fi
      check "$v: same output" test "$(./"$v.r")" == "$want"
      check "$v: verify" "$ELFOPT" verify "$v" "$v.r"
      check "$v: nothing kept for the undecoded bytes" test -z "$(kept_for "$v.json" "$reason")"
      check "$v: stubs for the undecoded bytes' targets" \
        test "$(json_field "$v.json" "['blocks']['forwardedWhy'].get('$reason', 0)")" -ge 1
      if ! "$ELFOPT" rewrite "$v" --random-order 1 --no-forwarding-stubs --json -o "$v.k" >"$v.k.json" 2>"$v.k.err"; then
        fail "$v: rewrite --no-forwarding-stubs: $(cat "$v.k.err")"
        continue
      fi
      check "$v --no-forwarding-stubs: same output" test "$(./"$v.k")" == "$want"
      kept=$(kept_for "$v.k.json" "$reason")
      check "$v --no-forwarding-stubs: far_target kept for the undecoded bytes" grep -qx "$(printf '0x%x' "$far")" <<<"$kept"
      check "$v --no-forwarding-stubs: called_target kept for the undecoded bytes" grep -qx "$(printf '0x%x' "$called")" <<<"$kept"
    done
    check "$name: read_text_table may move (not kept)" bash -c "! grep -q '\"address\": $((reader))\b' '$name.json'"
    check "$name.s: nothing kept for referring into other code" bash -c "! grep -q 'refers into the middle' '$name.s.json'"
    check "$name: far_target moved" test "$(address "$name.r" far_target)" != "$far"
    check "$name: called_target moved" test "$(address "$name.r" called_target)" != "$called"
  done
done
finish
