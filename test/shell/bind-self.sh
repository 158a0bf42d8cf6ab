#!/usr/bin/env bash
# rewrite --bind-self: liba's relocations against its own definitions bind
# without a lookup where the program's scope proves liba answers them, and
# only there. liba is linked by bfd, gold, lld and mold, lazy and -z now;
# for each, the rewritten set must print what the original prints (lazy,
# LD_BIND_NOW=1, and LD_DYNAMIC_WEAK=1, which changes who answers a weak
# definition), LD_DEBUG=bindings must lose exactly the bound references'
# lookups and nothing else, and every relocated slot of liba must hold, at
# main, the word the original's lookups put there.
source "$(dirname "$0")/lib.sh"
require gcc clang-19 python3 readelf ld.gold mold
inputs=$(cd "$(dirname "$0")/../inputs/bindself" && pwd)
cd "$WORK"

bound_expected="a_data a_data_ptr a_func a_func_ptr a_ifunc a_missing_ptr a_weak"
gcc -O2 -fPIC -shared -o libpre.so "$inputs/libpre.c"
gcc -O2 -fPIC -shared -o libz.so "$inputs/libz.c"

# bindings DIR TAG: DIR/prog's LD_DEBUG=bindings lines, names without DIR.
bindings() {
  (cd "$1" && LD_BIND_NOW=1 LD_DEBUG=bindings ./prog 2>&1 >/dev/null) | grep -o 'binding file .*' |
    sed -E "s/\[[0-9]+\]//g; s#$1/##g" | sort >"$2"
}

# is_ifunc FILE NAME: NAME is an STT_GNU_IFUNC of FILE's .dynsym (readelf
# shows the type as "<OS specific>: 10" where the OS/ABI is not GNU: mold).
is_ifunc() {
  readelf -W --dyn-syms "$1" | sed 's/<OS specific>: 10/IFUNC/' |
    awk -v s="$2" '{sub(/@.*/, "", $8)} $8 == s && $4 == "IFUNC"' | grep -q .
}

for variant in bfd gold lld mold bfd-now; do
  dir=$WORK/$variant
  mkdir -p "$dir/orig" "$dir/out"
  case $variant in
  bfd) link=(gcc -fuse-ld=bfd) ;;
  gold) link=(gcc -fuse-ld=gold) ;;
  lld) link=(clang-19 -fuse-ld=lld) ;;
  mold) link=(gcc -fuse-ld=mold) ;;
  bfd-now) link=(gcc -fuse-ld=bfd -Wl,-z,now) ;;
  esac
  "${link[@]}" -O2 -fPIC -shared -o "$dir/orig/liba.so" "$inputs/liba.c"
  cp libpre.so libz.so "$dir/orig/"
  gcc -O2 -fno-pic -no-pie -o "$dir/orig/prog" "$inputs/main.c" -L"$dir/orig" -Wl,--no-as-needed -lpre -la -lz \
    -Wl,-rpath,'$ORIGIN'
  cp "$dir/orig/prog" "$dir/orig/libpre.so" "$dir/orig/libz.so" "$dir/out/"
  check "$variant: rewrite --bind-self" \
    "$ELFOPT" rewrite "$dir/orig/liba.so" --bind-self "$dir/orig/prog" --json -o "$dir/out/liba.so" >"$dir/report.json"
  python3 - "$dir/report.json" >"$dir/summary" <<'PY'
import json, sys
b = json.load(open(sys.argv[1]))["bindSelf"]
print(" ".join(sorted(b["symbols"])))
print(" ".join(sorted(k["reason"].split(":")[0].split(" (")[0] for k in b["kept"])))
v = json.load(open(sys.argv[1])).get("verifyBindSelf", {})
print(v.get("ok"), v.get("marked"), v.get("unresolved"))
print(" ".join(sorted(b["unresolvedBound"])))
PY
  # Those of them the linker left a symbolic relocation against (lld calls
  # an ifunc of its own through an IRELATIVE slot, not a symbol).
  expected=$(for s in $bound_expected; do
    readelf -rW "$dir/orig/liba.so" | grep -qE " $s(@[^ ]*)? \+" && printf '%s ' "$s"; done)
  expected=${expected% }
  check "$variant: exactly liba's unshadowed definitions bound ($(sed -n 1p "$dir/summary"))" \
    test "$(sed -n 1p "$dir/summary")" = "$expected"
  # Weak references nobody defines, bound to 0 where every relocation
  # against them is GLOB_DAT or R_X86_64_64: a_missing, a_missing_fn unless
  # the linker left it a lazy PLT slot, and the start files' __gmon_start__
  # and _ITM_* where the linker left them in liba's GOT.
  unresolved=$(readelf -rW "$dir/orig/liba.so" | awk '$1 ~ /^[0-9a-f]+$/ && $5 != "" {sub(/@.*/, "", $5); print $5, $3}' |
    awk '$1 ~ /^(a_missing|a_missing_fn|__gmon_start__|_ITM_registerTMCloneTable|_ITM_deregisterTMCloneTable)$/ {
      t[$1] = t[$1] " " $2} END {for (n in t) if (t[n] !~ /JUMP_SLOT/) print n}' | sort | tr '\n' ' ')
  unresolved=${unresolved% }
  lazy=$(readelf -rW "$dir/orig/liba.so" | grep -q "JUMP_SLOT.* a_missing_fn" && echo " weak and defined nowhere, but a relocation other than GLOB_DAT and R_X86_64_64")
  check "$variant: the interposed, copied, canonical, weak-with-a-later-definer${lazy:+, lazy weak undefined} and TLS ones kept" \
    grep -qx "an earlier object holds it undefined with an address defined earlier in the scope thread-local$lazy weak, and defined again later in the scope" <(sed -n 2p "$dir/summary" | tr -s ' ' ' ' | sed 's/^ //')
  check "$variant: the weak references nobody defines bound to 0 ($(sed -n 4p "$dir/summary"))" \
    test "$(sed -n 4p "$dir/summary")" = "$unresolved"
  check "$variant: a_missing among them" grep -qw a_missing <<<"$unresolved"
  check "$variant: verify looked each bound entry up again" \
    test "$(sed -n 3p "$dir/summary")" = "True $(($(wc -w <<<"$expected") + $(wc -w <<<"$unresolved"))) $(wc -w <<<"$unresolved")"
  # A bound definition keeps a hidden copy only where a relocation still
  # names it: a PLT slot, or an ifunc's; its load-time relocations against
  # a plain address became R_X86_64_RELATIVE.
  copied=$(for s in $expected; do
    { readelf -rW "$dir/orig/liba.so" | grep -E " $s(@[^ ]*)? \+" | grep -q JUMP_SLOT ||
      is_ifunc "$dir/orig/liba.so" "$s"; } &&
      printf '%s ' "$s"; done)
  check "$variant: the copies are hidden, after every old symbol, and only where a relocation names them ($copied)" \
    test "$(readelf -W --dyn-syms "$dir/out/liba.so" | grep ' HIDDEN ' | awk '{print $NF}' | sed 's/@.*//' | sort | tr '\n' ' ')" = "$(tr ' ' '\n' <<<"$copied $unresolved" | grep . | sort | tr '\n' ' ')"
  plain_left=$(for s in $expected; do
    is_ifunc "$dir/orig/liba.so" "$s" && continue
    readelf -rW "$dir/out/liba.so" | grep -E "R_X86_64_(64|GLOB_DAT) .* $s(@[^ ]*)? \+" ; done | wc -l)
  made_relative=$(( $(readelf -rW "$dir/out/liba.so" | grep -c R_X86_64_RELATIVE) - $(readelf -rW "$dir/orig/liba.so" | grep -c R_X86_64_RELATIVE) ))
  check "$variant: no load-time relocation against a bound plain definition is left symbolic ($made_relative made relative)" \
    test "$plain_left" = 0 -a "$made_relative" -gt 0
  check "$variant: those bound to 0 are absolute 0" \
    test "$(readelf -W --dyn-syms "$dir/out/liba.so" | awk '/ HIDDEN / && $7 == "ABS" && $2 ~ /^0+$/' | wc -l)" = "$(wc -w <<<"$unresolved")"
  for env in "" LD_BIND_NOW=1 LD_DYNAMIC_WEAK=1; do
    (cd "$dir/orig" && env $env ./prog >"$dir/orig.out$env" 2>&1)
    (cd "$dir/out" && env $env ./prog >"$dir/out.out$env" 2>&1)
    check "$variant: same output ${env:-(lazy)}" cmp "$dir/orig.out$env" "$dir/out.out$env"
  done
  # LD_DYNAMIC_WEAK=1 changes a_weak2's answer: the kept weak case matters.
  check "$variant: LD_DYNAMIC_WEAK=1 picks libz's a_weak2 in both" grep -q "a_weak2=20" "$dir/out.outLD_DYNAMIC_WEAK=1"
  bindings "$dir/orig" "$dir/orig.bindings"
  bindings "$dir/out" "$dir/out.bindings"
  for s in $expected; do grep -v "^binding file liba.so  to liba.so : normal symbol \`$s'\$" "$dir/orig.bindings" >"$dir/b.tmp"; mv "$dir/b.tmp" "$dir/orig.bindings"; done
  check "$variant: the bindings are the original's without the bound lookups" cmp "$dir/orig.bindings" "$dir/out.bindings"
  # Every slot liba's dynamic relocations fill, read at main.
  slots=$(readelf -rW "$dir/orig/liba.so" | awk '$1 ~ /^[0-9a-f]+$/ && $3 ~ /R_X86_64_(GLOB_DAT|JUMP_SLOT|64)$/ {print "0x" $1}' | tr '\n' ' ')
  for env in LD_BIND_NOW=1 ""; do
    (cd "$dir/orig" && env $env ./prog --slots $slots >"$dir/orig.slots")
    (cd "$dir/out" && env $env ./prog --slots $slots >"$dir/out.slots")
    check "$variant: each of liba's $(wc -l <"$dir/orig.slots") symbol slots holds the original's word at main ${env:-(lazy)}" \
      cmp "$dir/orig.slots" "$dir/out.slots"
  done
done

# With every other pass of the set in one rewrite, and a second rewrite of
# the output (its retired .dynsym is moved out of the program headers' way).
mkdir -p "$WORK/all" && cp "$WORK/bfd/orig/prog" "$WORK/bfd/orig/libpre.so" "$WORK/bfd/orig/libz.so" "$WORK/all/"
check "--bind-self with --dynsort --hashvals --pack-relative-relocs" \
  "$ELFOPT" rewrite "$WORK/bfd/orig/liba.so" --bind-self "$WORK/bfd/orig/prog" --dynsort --hashvals \
  --pack-relative-relocs -o "$WORK/all/liba.so"
(cd "$WORK/all" && LD_BIND_NOW=1 ./prog >"$WORK/all.out" 2>&1)
check "... runs the same" cmp "$WORK/bfd/orig.outLD_BIND_NOW=1" "$WORK/all.out"
check "a second rewrite of a self-bound file (--prefetch needs a segment)" \
  "$ELFOPT" rewrite "$WORK/bfd/out/liba.so" --random-order 1 --prefetch --prefetch-gap 0 -o "$WORK/all/liba.so"
(cd "$WORK/all" && LD_BIND_NOW=1 ./prog >"$WORK/all.out" 2>&1)
check "... runs the same" cmp "$WORK/bfd/orig.outLD_BIND_NOW=1" "$WORK/all.out"

# verify --bind-self, on its own: a liba bound for a program without the
# interposer libpre binds shared_fn, which prog's scope answers from libpre.
gcc -O2 -fno-pic -no-pie -o "$WORK/bfd/orig/nopre" "$inputs/main.c" -L"$WORK/bfd/orig" -Wl,--no-as-needed -la -lz \
  -Wl,-rpath,'$ORIGIN'
"$ELFOPT" rewrite "$WORK/bfd/orig/liba.so" --bind-self "$WORK/bfd/orig/nopre" -o "$WORK/nopre-liba.so" >/dev/null
check "verify --bind-self: sound for the program it was bound for" \
  "$ELFOPT" verify "$WORK/bfd/orig/liba.so" "$WORK/nopre-liba.so" --bind-self "$WORK/bfd/orig/nopre"
"$ELFOPT" verify "$WORK/bfd/orig/liba.so" "$WORK/nopre-liba.so" --bind-self "$WORK/bfd/orig/prog" >verify.out
check "verify --bind-self: another program's scope interposes shared_fn: refused (exit 2)" test $? = 2
check "... naming the interposer" grep -q "shared_fn' (.dynsym [0-9]*): libpre.so, earlier in the scope, answers its lookup" verify.out
# A hidden copy that is not the definition's (its value one byte off).
python3 - "$WORK/bfd/out/liba.so" "$WORK/tampered.so" <<'PY'
import subprocess, sys
data = bytearray(open(sys.argv[1], "rb").read())
head = subprocess.check_output(["readelf", "-SW", sys.argv[1]], text=True)
line = next(l for l in head.splitlines() if " .dynsym " in l)
offset, size = (int(x, 16) for x in line.split("]")[1].split()[3:5])
last = offset + size - 24          # the last entry: a hidden copy
data[last + 8] ^= 1                # st_value
open(sys.argv[2], "wb").write(data)
PY
"$ELFOPT" verify "$WORK/bfd/orig/liba.so" "$WORK/tampered.so" --bind-self "$WORK/bfd/orig/prog" >verify.out
check "verify --bind-self: a copy with another value: refused (exit 2)" test $? = 2
check "... saying which" grep -q "is not a hidden copy of the default-visibility entry" verify.out
# A relocation made R_X86_64_RELATIVE whose addend is not the definition's
# value plus the original addend.
python3 - "$WORK/bfd/orig/liba.so" "$WORK/bfd/out/liba.so" "$WORK/tampered-relative.so" <<'PY'
import struct, subprocess, sys
def rela(path):
    head = subprocess.check_output(["readelf", "-SW", path], text=True)
    line = next(l for l in head.splitlines() if " .rela.dyn " in l)
    offset, size = (int(x, 16) for x in line.split("]")[1].split()[3:5])
    data = open(path, "rb").read()
    return offset, [struct.unpack_from("<QQq", data, offset + k) for k in range(0, size, 24)]
_, before = rela(sys.argv[1])
offset, after = rela(sys.argv[2])
k = next(k for k, (b, a) in enumerate(zip(before, after)) if b[1] & 0xffffffff != 8 and a[1] & 0xffffffff == 8)
data = bytearray(open(sys.argv[2], "rb").read())
struct.pack_into("<q", data, offset + 24 * k + 16, after[k][2] + 8)
open(sys.argv[3], "wb").write(data)
PY
"$ELFOPT" verify "$WORK/bfd/orig/liba.so" "$WORK/tampered-relative.so" --bind-self "$WORK/bfd/orig/prog" >verify.out
check "verify --bind-self: a relocation made relative to another word: refused (exit 2)" test $? = 2
check "... saying which" grep -q "made R_X86_64_RELATIVE, but not from a load-time relocation" verify.out

# A library the program opens later, or a program that does not load it:
# nothing to prove, nothing changed, said.
gcc -O2 -o other -x c - <<<'int main(void){return 0;}'
check "a library the program does not load: not bound, and said" \
  bash -c "'$ELFOPT' rewrite '$WORK/bfd/orig/liba.so' --bind-self '$WORK/other' -o '$WORK/none.so' | grep -q 'nothing bound: not loaded at the start'"
check "... and its bytes are unchanged" cmp "$WORK/bfd/orig/liba.so" "$WORK/none.so"
expect_error 2 "elfopt: error: $WORK/bfd/orig/libz.so: not a program (no PT_INTERP): --bind-self needs the program whose start loads $WORK/bfd/orig/liba.so" \
  "$ELFOPT" rewrite "$WORK/bfd/orig/liba.so" --bind-self "$WORK/bfd/orig/libz.so" -o "$WORK/lib.so"
check "... and no output" test ! -e "$WORK/lib.so"
finish
