#!/usr/bin/env bash
# Words of data that point at data, in files linked with --emit-relocs:
# clang's relative lookup tables (switches that return strings), whose PC32
# relocations name strings in .rodata. verify once read every such word as a
# jump table entry against a guessed base (the closest address below it that
# code refers to) and refused correct rewrites of large clang-built programs
# when that guess landed on moved code. The relocation says what the word
# refers to; data does not move, so the word must keep its value.
#   1. A table no instruction refers to, padded (after a first link) so that
#      the guessed base leads its first entry onto a function: the test checks
#      that lookalike first, so it cannot pass vacuously.
#   2. Real relative lookup tables from clang, every linker, PIE and shared.
#   3. verify still refuses a data-to-data word that changed, naming it.
source "$(dirname "$0")/lib.sh"
require gcc clang-19 ld.bfd ld.gold ld.lld mold llvm-readelf-19 llvm-nm-19 python3
cd "$WORK"
inputs=$SRC/test/inputs/rewrite

symbol() { llvm-nm-19 "$1" | awk -v s="$2" '$3 == s {print "0x" $1}'; }

# 1. The lookalike.
gcc -O2 -fPIE -c "$inputs/relative-table-main.c" -o main.o
gcc -c -DPAD=0 "$inputs/relative-table.S" -o table0.o
gcc -O2 -pie -fuse-ld=bfd -Wl,--emit-relocs main.o table0.o -o probe
table=$(symbol probe table) anchor=$(symbol probe anchor) f4=$(symbol probe f4)
string=$((table + $(rodata_word probe "$table")))
# The padding moves the table, not the strings before it nor the code.
pad=$((string - f4 - (table - anchor)))
gcc -c -DPAD=$pad "$inputs/relative-table.S" -o table.o
gcc -O2 -pie -fuse-ld=bfd -Wl,--emit-relocs main.o table.o -o lookalike
table=$(symbol lookalike table) anchor=$(symbol lookalike anchor) f4=$(symbol lookalike f4)
check "lookalike: the first entry, read against the closest referenced address, leads to f4" \
  test $((anchor + $(rodata_word lookalike "$table"))) == $((f4))
want=$(./lookalike)
moved=0
for seed in 1 2 3; do
  if "$ELFOPT" rewrite lookalike --random-order $seed -o lookalike.r$seed >log 2>&1; then
    pass
    check "lookalike seed $seed: same output" test "$(./lookalike.r$seed)" == "$want"
    check "lookalike seed $seed: the data-to-data word kept its value" \
      test "$(rodata_word lookalike.r$seed "$table")" == "$(rodata_word lookalike "$table")"
    [[ $(symbol lookalike.r$seed f4) != "$f4" ]] && moved=$((moved + 1))
  else
    fail "lookalike seed $seed: rewrite refused: $(cat log)"
  fi
done
check "f4 moved in some rewrite (else the lookalike proves nothing)" test $moved -gt 0

# 2. Clang's relative lookup tables, every linker, as a PIE and a library.
# data_to_data FILE: how many PC32 relocations of .rela.rodata name a symbol
# outside .text.
data_to_data() {
  local text
  text=$(llvm-readelf-19 -SW "$1" | sed 's/\[ */[/' | awk '$2 == ".text" {print $1}' | tr -d '[]')
  llvm-readelf-19 -rsW "$1" | python3 -c '
import sys
text, section, ndx, count = sys.argv[1], None, {}, 0
lines = sys.stdin.read().splitlines()
for l in lines:
    f = l.split()
    if len(f) >= 8 and f[0].endswith(":") and f[0][:-1].isdigit():
        ndx[f[7] if len(f) > 7 else ""] = f[6]
for l in lines:
    if "Relocation section" in l:
        section = l.split("\x27")[1]
    elif section == ".rela.rodata":
        f = l.split()
        if len(f) > 4 and f[2] == "R_X86_64_PC32" and ndx.get(f[4]) != text:
            count += 1
print(count)' "$text"
}
ran=0
for ld in bfd gold lld mold; do
  for kind in pie shared; do
    name=$ld-$kind
    if [[ $kind == pie ]]; then
      clang-19 -O2 -fPIE -pie -fuse-ld=$ld -Wl,--emit-relocs "$inputs/string-switch.c" -o "$name" ||
        { fail "$name: build"; continue; }
      target=$name
    else
      mkdir -p "orig-$name" "new-$name"
      clang-19 -O2 -fPIC -shared -DLIBRARY -fuse-ld=$ld -Wl,--emit-relocs "$inputs/string-switch.c" \
        -o "orig-$name/libnames.so" &&
        printf 'int names(int);\nint main(void) { return names(12); }\n' >"$name-main.c" &&
        clang-19 -O2 "$name-main.c" -L "orig-$name" -lnames -o "$name" || { fail "$name: build"; continue; }
      target=orig-$name/libnames.so
    fi
    ran=$((ran + 1))
    check "$name: has PC32 words from .rodata to data" test "$(data_to_data "$target")" -gt 0
    out=$name.r
    [[ $kind == shared ]] && out=new-$name/libnames.so
    if ! "$ELFOPT" rewrite "$target" --random-order $ran -o "$out" >"$name.log" 2>&1; then
      fail "$name: rewrite: $(grep -m1 error "$name.log")"
      continue
    fi
    check "$name: verify" "$ELFOPT" verify "$target" "$out" >/dev/null
    if [[ $kind == pie ]]; then
      check "$name: same output" test "$(./"$name")" == "$(./"$out")"
    else
      check "$name: same output" test "$(LD_LIBRARY_PATH=orig-$name ./"$name")" == \
        "$(LD_LIBRARY_PATH=new-$name ./"$name")"
    fi
  done
done
check "every build ran" test $ran == 8

# 3. A data-to-data word that changed is refused and named.
python3 - lookalike.r1 broken "$table" <<'PY'
import re, subprocess, sys
path, out, address = sys.argv[1], sys.argv[2], int(sys.argv[3], 16)
for line in subprocess.run(["llvm-readelf-19", "-SW", path], capture_output=True, text=True).stdout.splitlines():
    m = re.search(r"\]\s+\.rodata\s+\S+\s+([0-9a-f]+)\s+([0-9a-f]+)", line)
    if m:
        offset = address - int(m.group(1), 16) + int(m.group(2), 16)
data = bytearray(open(path, "rb").read())
data[offset] ^= 1
open(out, "wb").write(data)
PY
rodata=$(llvm-readelf-19 -SW lookalike | sed 's/\[ */[/' | awk '$2 == ".rodata" {print "0x" $4}')
where="broken:(.rodata+$(printf '0x%x' $((table - rodata)))): word is"
check "verify refuses a changed data-to-data word, naming it" \
  bash -c "'$ELFOPT' verify lookalike broken >v.txt; [[ \$? == 2 ]] && grep -qF '$where' v.txt"
finish
