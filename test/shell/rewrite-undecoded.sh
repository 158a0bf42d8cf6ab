#!/usr/bin/env bash
# Bytes in .text that do not decode (test/inputs/rewrite/undecoded.S) may
# hold displacements or offsets nobody can read (lib/Rewrite/Undecoded.h):
# far_target and called_target, which words there reach from more than 128
# bytes away, move with a forwarding stub in their old places, and the
# program calls them through those words; near_target, right after the
# bytes, stays (so does filler, just before them). read_text_table reads data in .text that decodes, from the
# middle of an "instruction" there: those bytes stay, so the reader may move.
# Checks, unstripped and stripped: far_target and called_target moved (not
# kept) with stubs for that reason, near_target kept for its own, the
# program prints the same (a missing stub would crash it), and verify
# passes; with --no-forwarding-stubs all three are kept. With
# --new-segment every moved function's old start holds a stub.
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
near="within 128 bytes of code that did not decode, which may reach it"

for cc in gcc clang-19; do
  for ld in bfd lld; do
    name=$cc-$ld
    $cc -O2 -fPIE -pie -fuse-ld=$ld "$inputs/undecoded-main.c" "$inputs/undecoded.S" -o "$name" ||
      { fail "$name: build"; continue; }
    want=$(./"$name")
    far=$(address "$name" far_target) called=$(address "$name" called_target)
    near_at=$(address "$name" near_target)
    reader=$(address "$name" read_text_table)
    strip -o "$name.s" "$name"
    for v in "$name" "$name.s"; do
      if ! "$ELFOPT" rewrite "$v" --random-order 1 --json -o "$v.r" >"$v.json" 2>"$v.err"; then
        fail "$v: rewrite: $(cat "$v.err")"
        continue
      fi
      check "$v: same output" test "$(./"$v.r")" == "$want"
      check "$v: verify" "$ELFOPT" verify "$v" "$v.r"
      check "$v: nothing kept for the far undecoded bytes" test -z "$(kept_for "$v.json" "$reason")"
      check "$v: near_target kept for the bytes beside it" grep -qx "$(printf '0x%x' "$near_at")" <<<"$(kept_for "$v.json" "$near")"
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
    # The new segment: every moved function's old start jumps to its new one.
    if ! "$ELFOPT" rewrite "$name" --random-order 1 --new-segment -o "$name.n" >"$name.n.log" 2>&1; then
      fail "$name --new-segment: rewrite: $(cat "$name.n.log")"
      continue
    fi
    check "$name --new-segment: same output" test "$(./"$name.n")" == "$want"
    check "$name --new-segment: verify" "$ELFOPT" verify "$name" "$name.n"
    moved=0 stubbed=0
    while read -r old type fn; do
      new=$(address "$name.n" "$fn")
      [[ $type == [Tt] && -n $new && $((new)) != $((0x$old)) ]] || continue
      moved=$((moved + 1))
      # endbr64 may stay first (Stubs.h); then the jump leads past it.
      objdump -d --start-address=0x$old --stop-address=$((0x$old + 9)) "$name.n" |
        grep -Eq "jmp +($(printf '%x' $((new)))|$(printf '%x' $((new + 4)))) " && stubbed=$((stubbed + 1))
    done < <(llvm-nm-19 "$name")
    check "$name --new-segment: functions moved ($moved)" test "$moved" -ge 10
    check "$name --new-segment: a stub at each moved function's old start ($stubbed of $moved)" test "$stubbed" == "$moved"
  done
done
finish
