#!/usr/bin/env bash
# Forwarding stubs (lib/Rewrite/Stubs.h). Without static relocations, a word
# of data that reads as an offset to code may be a reference nobody can
# prove or disprove: test/inputs/rewrite/offset-calls.S calls the rungs of
# `ladder` through such words, 1, 1, 2, 4 and 5 bytes apart. The rewrite
# moves the ladder anyway and leaves stubs in its old place; calls through
# the old addresses must still run the same instructions. Checks: the ladder
# moved, the program prints the same, verify checks each word through its
# stub, a broken stub is refused and named, and --no-forwarding-stubs keeps
# the ladder in place with the reason.
source "$(dirname "$0")/lib.sh"
require gcc clang-19 ld.lld llvm-nm-19 python3 strip
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

for cc in gcc clang-19; do
  for ld in bfd lld; do
    name=$cc-$ld
    $cc -O2 -fPIE -pie -fuse-ld=$ld "$inputs/offset-calls-main.c" "$inputs/offset-calls.S" -o "$name" ||
      { fail "$name: build"; continue; }
    want=$(./"$name")
    ladder=$(address "$name" ladder)
    for seed in 1 2; do
      out=$name.r$seed
      if ! "$ELFOPT" rewrite "$name" --random-order $seed --json -o "$out" >"$out.json" 2>"$out.err"; then
        fail "$out: rewrite: $(cat "$out.err")"
        continue
      fi
      check "$out: same output" test "$(./"$out")" == "$want"
      check "$out: the ladder moved" test "$(address "$out" ladder)" != "$ladder"
      check "$out: the tail moved" test "$(address "$out" tail)" != "$(address "$name" tail)"
      # Three for the rungs, one at tail's start: what may lead into a
      # function from data may lead to its start too.
      check "$out: four stubs written" test "$(json_field "$out.json" '["blocks"]["forwardingStubs"]')" == 4
      check "$out: verify checked the seven words through the stubs" \
        test "$(json_field "$out.json" '["verify"]["forwardedWords"]')" == 7
    done
    strip -o "$name.stripped" "$name"
    if "$ELFOPT" rewrite "$name.stripped" --random-order 3 -o "$name.stripped.r" >/dev/null 2>&1; then
      check "$name stripped: same output" test "$(./"$name.stripped.r")" == "$want"
    else
      fail "$name stripped: rewrite refused"
    fi
  done
done

# The plan for the rungs at +0, +1, +2, +4, +8 and +13: the instructions up
# to +8 stay, then a jump; a jump at +13.
ladder=$(address gcc-bfd ladder)
at=$(file_offset gcc-bfd.r1 $(printf '0x%x' $((ladder + 8))))
check "the first stub keeps 8 bytes of instructions, then jumps" \
  test "$(od -An -tx1 -j "$at" -N1 gcc-bfd.r1 | tr -d ' ')" == e9
python3 -c 'import sys; d = bytearray(open(sys.argv[1], "rb").read()); d[int(sys.argv[2]) + 1] ^= 1; open(sys.argv[3], "wb").write(d)' \
  gcc-bfd.r1 "$at" broken
check "verify refuses a stub that jumps elsewhere, naming the word" \
  bash -c "'$ELFOPT' verify gcc-bfd broken >v.txt; [[ \$? == 2 ]] && grep -q 'no forwarding stub in its old place leads there' v.txt"

"$ELFOPT" rewrite gcc-bfd --random-order 1 --no-forwarding-stubs -o kept >kept.txt 2>&1
check "--no-forwarding-stubs: the ladder stays" test "$(address kept ladder)" == "$ladder"
check "--no-forwarding-stubs: with its reason" grep -q "kept: ladder (its address may be stored in data as an offset" kept.txt
check "--no-forwarding-stubs: same output" test "$(./kept)" == "$(./gcc-bfd)"
finish
