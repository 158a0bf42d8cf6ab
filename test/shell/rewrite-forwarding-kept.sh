#!/usr/bin/env bash
# Forwarding stubs that keep what stood in the old place (lib/Rewrite/
# Stubs.h): test/inputs/rewrite/short-stubs.S enters short_branch through
# words 2 bytes apart, so its stub keeps an 8-bit `jz`, whose old target
# needs a stub of its own; and a word leads to end_label's end label, where
# the stub keeps the int3 after its `ret`. Before, both functions stayed
# ("too close together", "stored in data as an offset"). Checks: both move,
# the program prints the same (calls through the kept jz both ways), verify
# checks each word through its stub, and refuses when the stub at the jz's
# target or the kept int3 is broken.
source "$(dirname "$0")/lib.sh"
require gcc clang-19 ld.lld llvm-nm-19 llvm-readelf-19 python3 strip
cd "$WORK"
inputs=$SRC/test/inputs/rewrite

address() { llvm-nm-19 "$1" | awk -v s="$2" '$3 == s {print "0x" $1}'; }
# file_offset FILE ADDRESS: where a loaded address is in FILE.
file_offset() {
  python3 - "$1" "$2" <<'PY'
import subprocess, sys
path, address = sys.argv[1], int(sys.argv[2], 16)
for line in subprocess.run(["llvm-readelf-19", "-lW", path], capture_output=True, text=True).stdout.splitlines():
    f = line.split()
    if f and f[0] == "LOAD":
        offset, vaddr, filesz = int(f[1], 16), int(f[2], 16), int(f[4], 16)
        if vaddr <= address < vaddr + filesz:
            print(address - vaddr + offset)
PY
}
byte_at() { od -An -tx1 -j "$2" -N1 "$1" | tr -d ' '; }
# set_byte IN OFFSET HEX OUT
set_byte() {
  python3 -c 'import sys; d = bytearray(open(sys.argv[1], "rb").read()); d[int(sys.argv[2])] = int(sys.argv[3], 16); open(sys.argv[4], "wb").write(d)' "$@"
}
kept_of() {
  python3 -c 'import json, sys; print(" ".join(k["name"] for k in json.load(open(sys.argv[1]))["kept"] if k["name"] in ("short_branch", "end_label")))' "$1"
}

for cc in gcc clang-19; do
  for ld in bfd lld; do
    name=$cc-$ld
    $cc -O2 -fPIE -pie -fuse-ld=$ld "$inputs/short-stubs-main.c" "$inputs/short-stubs.S" -o "$name" ||
      { fail "$name: build"; continue; }
    want=$(./"$name")
    for seed in 1 2; do
      out=$name.r$seed
      if ! "$ELFOPT" rewrite "$name" --random-order $seed --json -o "$out" >"$out.json" 2>"$out.err"; then
        fail "$out: rewrite: $(cat "$out.err")"
        continue
      fi
      check "$out: same output" test "$(./"$out")" == "$want"
      for f in short_branch end_label; do
        check "$out: $f moved" test "$(address "$out" $f)" != "$(address "$name" $f)"
      done
      check "$out: three stubs written (+0, the jz's target, the end label)" \
        test "$(json_field "$out.json" '["blocks"]["forwardingStubs"]')" == 3
      check "$out: verify checked the four words through the stubs" \
        test "$(json_field "$out.json" '["verify"]["forwardedWords"]')" == 4
      check "$out: neither is kept in place" test "$(kept_of "$out.json")" == ""
    done
    strip -o "$name.stripped" "$name"
    if "$ELFOPT" rewrite "$name.stripped" --random-order 3 -o "$name.stripped.r" >/dev/null 2>&1; then
      check "$name stripped: same output" test "$(./"$name.stripped.r")" == "$want"
    else
      fail "$name stripped: rewrite refused"
    fi
  done
done

# In the old place: at +0 test and jz as they were, a jump at +4; a jump at
# .Lzero (+12); int3 at the end label (end_label + 4).
sb=$(address gcc-bfd short_branch)
el=$(address gcc-bfd end_label)
at=$(file_offset gcc-bfd.r1 "$sb")
check "the stub keeps test and the 8-bit jz" \
  test "$(od -An -tx1 -j "$at" -N4 gcc-bfd.r1 | tr -d ' ')" == "$(od -An -tx1 -j "$at" -N4 gcc-bfd | tr -d ' ')"
check "then jumps at +4" test "$(byte_at gcc-bfd.r1 $((at + 4)))" == e9
check "the jz's target has a jump" test "$(byte_at gcc-bfd.r1 $((at + 12)))" == e9
end=$(file_offset gcc-bfd.r1 $(printf '0x%x' $((el + 4))))
check "the end label keeps its int3" test "$(byte_at gcc-bfd.r1 "$end")" == cc

set_byte gcc-bfd.r1 $((at + 13)) 00 broken-target
check "verify refuses when the jz's target does not forward, naming the word" \
  bash -c "'$ELFOPT' verify gcc-bfd broken-target >v1.txt; [[ \$? == 2 ]] && grep -q 'no forwarding stub in its old place leads there' v1.txt"
set_byte gcc-bfd.r1 "$end" 90 broken-end
check "verify refuses a nop for the int3 at the end label" \
  bash -c "'$ELFOPT' verify gcc-bfd broken-end >v2.txt; [[ \$? == 2 ]] && grep -q 'no forwarding stub in its old place leads there' v2.txt"

"$ELFOPT" rewrite gcc-bfd --random-order 1 --no-forwarding-stubs -o kept >kept.txt 2>&1
for f in short_branch end_label; do
  check "--no-forwarding-stubs: $f stays" test "$(address kept $f)" == "$(address gcc-bfd $f)"
done
check "--no-forwarding-stubs: same output" test "$(./kept)" == "$(./gcc-bfd)"
finish
