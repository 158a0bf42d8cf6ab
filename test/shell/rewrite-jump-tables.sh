#!/usr/bin/env bash
# PIC jump tables in switch-heavy programs of several translation units
# (test/inputs/rewrite/gen-switches.sh), linked by ld.bfd, gold, lld and mold,
# as PIE and as a shared library: rewrite with a random order, run the same,
# pass verify. lld and mold put .rodata below .text, so a table's last
# 4-byte entry followed by zero padding reads, as an 8-byte word, like an
# address in .text; verify once refused every such rewrite. The test first
# checks that its programs contain such words, so it cannot pass vacuously;
# then that verify still catches a corrupted entry and corrupted padding.
source "$(dirname "$0")/lib.sh"
require gcc clang-19 ld.bfd ld.gold ld.lld mold llvm-readelf-19 python3
cd "$WORK"
bash "$SRC/test/inputs/rewrite/gen-switches.sh" src 8 12

# lookalikes FILE: the places of jump table entries (PC32 relocations in
# .rela.rodata) that end a table, are followed by 4 zero bytes, and read as
# an 8-byte word give an address inside .text. One hex place a line.
lookalikes() {
  python3 - "$1" <<'PY'
import re, struct, subprocess, sys
path = sys.argv[1]
data = open(path, "rb").read()
sections = {}
for line in subprocess.run(["llvm-readelf-19", "-SW", path], capture_output=True, text=True).stdout.splitlines():
    m = re.search(r"\]\s+(\S+)\s+\S+\s+([0-9a-f]+)\s+([0-9a-f]+)\s+([0-9a-f]+)", line)
    if m:
        sections[m.group(1)] = [int(v, 16) for v in m.groups()[1:]]
rodata, text = sections[".rodata"], sections[".text"]
places, current = [], None
for line in subprocess.run(["llvm-readelf-19", "-rW", path], capture_output=True, text=True).stdout.splitlines():
    if "Relocation section" in line:
        current = line.split("'")[1]
    elif current == ".rela.rodata":
        f = line.split()
        if len(f) > 2 and f[2] == "R_X86_64_PC32":
            places.append(int(f[0], 16))
taken = set(places)
for p in places:
    if p + 4 in taken or p + 8 > rodata[0] + rodata[2]:
        continue
    offset = p - rodata[0] + rodata[1]
    word = struct.unpack("<Q", data[offset:offset + 8])[0]
    if text[0] <= word < text[0] + text[2]:
        print(hex(p))
PY
}

# poke FILE OUT ADDRESS DELTA: OUT is FILE with the byte at ADDRESS (in
# .rodata) increased by DELTA.
poke() {
  python3 - "$@" <<'PY'
import re, subprocess, sys
path, out, address, delta = sys.argv[1], sys.argv[2], int(sys.argv[3], 16), int(sys.argv[4])
for line in subprocess.run(["llvm-readelf-19", "-SW", path], capture_output=True, text=True).stdout.splitlines():
    m = re.search(r"\]\s+\.rodata\s+\S+\s+([0-9a-f]+)\s+([0-9a-f]+)", line)
    if m:
        offset = address - int(m.group(1), 16) + int(m.group(2), 16)
data = bytearray(open(path, "rb").read())
data[offset] = (data[offset] + delta) & 0xff
open(out, "wb").write(data)
PY
}

# Under the sanitizers (a slow debug build) only -O2, to stay within CI's time.
opts=(-O2 -O3)
[[ ${ELFOPT_SANITIZED:-0} == 1 ]] && opts=(-O2)
ran=0
for cc in gcc clang-19; do
  for opt in "${opts[@]}"; do
    for ld in bfd gold lld mold; do
      for kind in pie shared; do
        name=$cc$opt-$ld-$kind
        if [[ $kind == pie ]]; then
          $cc $opt -fPIE -pie -fuse-ld=$ld -Wl,--emit-relocs src/*.c -o "$name" || { fail "$name: build"; continue; }
          target=$name
        else
          mkdir -p "orig-$name" "new-$name"
          $cc $opt -fPIC -shared -fuse-ld=$ld -Wl,--emit-relocs src/unit*.c -o "orig-$name/libunits.so" &&
            $cc -O2 src/main.c -L "orig-$name" -lunits -o "$name" || { fail "$name: build"; continue; }
          target=orig-$name/libunits.so
        fi
        ran=$((ran + 1))
        if [[ $ld == lld || $ld == mold ]]; then
          check "$name: has jump table entries that look like addresses in .text" test -n "$(lookalikes "$target")"
        fi
        out=$name.r
        [[ $kind == shared ]] && out=new-$name/libunits.so
        if ! "$ELFOPT" rewrite "$target" --random-order $ran -o "$out" >"$name.log" 2>&1; then
          fail "$name: rewrite: $(grep -m1 error "$name.log")"
          continue
        fi
        check "$name: verify" "$ELFOPT" verify "$target" "$out" >/dev/null
        want=$(LD_LIBRARY_PATH=orig-$name ./"$name")
        if [[ $kind == pie ]]; then
          got=$(./"$out")
        else
          got=$(LD_LIBRARY_PATH=new-$name ./"$name")
        fi
        check "$name: same output" test "$want" == "$got"
      done
    done
  done
done
check "every build ran" test "$ran" == $((16 * ${#opts[@]}))

# verify still reads each entry: one entry off by one, and the padding after
# it changed, are both refused and named.
place=$(lookalikes gcc-O2-lld-pie)
place=${place%%$'\n'*}
poke gcc-O2-lld-pie.r broken-entry "$place" 1
poke gcc-O2-lld-pie.r broken-padding "$(printf '0x%x' $((place + 5)))" 1
rodata=$(readelf -SW gcc-O2-lld-pie | sed 's/\[ */[/' | awk '$2 == ".rodata" {print "0x" $4}')
where="broken-entry:(.rodata+$(printf '0x%x' $((place - rodata))))"
check "verify fails a corrupted table entry, naming it" \
  bash -c "'$ELFOPT' verify gcc-O2-lld-pie broken-entry >v1.txt; [[ \$? == 2 ]] && grep -qF '$where: relative entry is' v1.txt"
check "verify fails changed padding after a table" \
  bash -c "'$ELFOPT' verify gcc-O2-lld-pie broken-padding >v2.txt; [[ \$? == 2 ]] && grep -q 'changed and no relocation' v2.txt"
echo "rewrite-jump-tables: $ran builds"
finish
