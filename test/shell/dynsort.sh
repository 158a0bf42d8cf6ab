#!/usr/bin/env bash
# elfopt edit --dynsort: .dynsym in GNU-hash bucket order, .dynstr in the
# same order, .gnu.hash rebuilt from the cost model, every reference
# renumbered. Libraries from ld.bfd, gold, lld and mold, a versioned library,
# a dlopen'ed one and Debian's libLLVM-19 (52k symbols, with llc and opt) must
# run identically with and without LD_BIND_NOW, and eu-elflint (which
# rebuilds the bloom filter and checks .hash and .gnu.hash agree) must report
# nothing new.
source "$(dirname "$0")/lib.sh"
require gcc clang-19 python3 eu-elflint llvm-readelf-19 ld.gold mold /usr/lib/llvm-19/bin/ld.lld
cd "$WORK"
IN=$SRC/test/inputs

elflint_new() { # ORIGINAL SORTED: lines eu-elflint reports only for SORTED
  diff <(eu-elflint --gnu-ld "$1" 2>&1 | sed "s|$1|F|") <(eu-elflint --gnu-ld "$2" 2>&1 | sed "s|$2|F|") |
    grep '^>' || true
}
# .dynsym[symoffset..] in bucket order, each chain ending where its bucket does.
bucket_order() {
  python3 - "$1" <<'PY'
import re, struct, subprocess, sys
f = sys.argv[1]
out = subprocess.run(["llvm-readelf-19", "--dyn-syms", "-W", f], capture_output=True, text=True).stdout
names = [""] + [m.group(1).split("@")[0] for m in re.finditer(r"^\s*\d+:\s+\S+\s+\d+\s+\S+\s+\S+\s+\S+\s+\S+\s+(\S+)", out, re.M)]
gh = subprocess.run(["llvm-readelf-19", "--gnu-hash-table", f], capture_output=True, text=True).stdout
nb = int(re.search(r"Num Buckets: (\d+)", gh).group(1)); so = int(re.search(r"First Hashed Symbol Index: (\d+)", gh).group(1))
def h(s):
    x = 5381
    for c in s.encode(): x = (x * 33 + c) & 0xffffffff
    return x
b = [h(n) % nb for n in names[so:]]
assert b == sorted(b), "not in bucket order"
PY
}

for ld in bfd gold lld mold; do
  case $ld in
  lld) cc=(clang-19 --ld-path=/usr/lib/llvm-19/bin/ld.lld) ;;
  *) cc=(gcc -fuse-ld=$ld) ;;
  esac
  mkdir -p $ld/sorted
  python3 -c "print('\n'.join(f'int sym_{i}_{i * 7919 % 1000}(int x) {{ return x + {i}; }}' for i in range(2000)))" >$ld/many.c
  "${cc[@]}" -O2 -fPIC -shared -o $ld/libmany.so $ld/many.c
  "${cc[@]}" -O2 -fPIC -shared -o $ld/libgrow.so "$IN/grow-lib.c"
  "${cc[@]}" -O2 -fPIC -shared -Wl,--version-script="$IN/versioned.map" -o $ld/libversioned.so "$IN/versioned.c"
  "${cc[@]}" -O2 -o $ld/main "$IN/grow-main.c" -L$ld -lgrow
  "${cc[@]}" -O2 -o $ld/vmain "$IN/versioned-main.c" -L$ld -lversioned
  for f in libmany.so libgrow.so libversioned.so main vmain; do
    if "$ELFOPT" edit $ld/$f -o $ld/sorted/$f --dynsort; then pass; else fail "$ld/$f: dynsort failed"; continue; fi
    new=$(elflint_new $ld/$f $ld/sorted/$f)
    check "$ld/$f: eu-elflint reports nothing new ($new)" test -z "$new"
    check "$ld/$f: .dynsym in bucket order" bucket_order $ld/sorted/$f
  done
  for bind in "" 1; do
    expected=$(LD_LIBRARY_PATH=$ld $ld/main x 2>&1; echo "status=$?")
    check "$ld: program and library sorted, LD_BIND_NOW='$bind'" \
      test "$(LD_BIND_NOW=$bind LD_LIBRARY_PATH=$ld/sorted $ld/sorted/main x 2>&1; echo "status=$?")" = "$expected"
    check "$ld: versioned library sorted, LD_BIND_NOW='$bind'" \
      test "$(LD_BIND_NOW=$bind LD_LIBRARY_PATH=$ld/sorted $ld/sorted/vmain)" = "versioned 12 15"
  done
done
mkdir -p big
"$ELFOPT" edit bfd/libmany.so -o again.so --dynsort
check "same input, byte-identical output" cmp -s again.so bfd/sorted/libmany.so
"$ELFOPT" edit bfd/libmany.so -o keep.so --dynsort --keep-hash-shape
check "--keep-hash-shape keeps the parameters" test \
  "$(llvm-readelf-19 --gnu-hash-table keep.so | grep -E 'Num Buckets|Mask Words|Shift')" = \
  "$(llvm-readelf-19 --gnu-hash-table bfd/libmany.so | grep -E 'Num Buckets|Mask Words|Shift')"

# A larger table than the old one (--hash-budget): a new .gnu.hash in the new
# segment, DT_GNU_HASH pointing at it, the old one retired.
"$ELFOPT" edit bfd/libmany.so -o big/libmany.so --dynsort --hash-budget 1000000 --json >big.json 2>&1 ||
  fail "--hash-budget: edit failed: $(cat big.json)"
check "--hash-budget: the table grew and moved" python3 -c "
import json; d = json.load(open('big.json'))['dynsort']
assert d['gnuHashMoved'] and d['gnuHashAfter']['bytes'] > d['gnuHashBefore']['bytes'], d"
check "... DT_GNU_HASH is the new section's address" python3 - big/libmany.so <<'PY'
import re, subprocess, sys
d = subprocess.run(["llvm-readelf-19", "-d", sys.argv[1]], capture_output=True, text=True).stdout
s = subprocess.run(["llvm-readelf-19", "-SW", sys.argv[1]], capture_output=True, text=True).stdout
tag = int(re.search(r"\(GNU_HASH\)\s+0x([0-9a-f]+)", d).group(1), 16)
sec = int(re.search(r"\.gnu\.hash\s+GNU_HASH\s+([0-9a-f]+)", s).group(1), 16)
assert tag == sec and tag != 0, (hex(tag), hex(sec))
PY
check "... and the old one is retired" bash -c "llvm-readelf-19 -SW big/libmany.so | grep -q '.elfopt.old.gnu.hash.*PROGBITS'"
new=$(elflint_new bfd/libmany.so big/libmany.so)
check "... eu-elflint reports nothing new ($new)" test -z "$new"
check "... .dynsym in bucket order" bucket_order big/libmany.so
cp bfd/main big/
for bind in "" 1; do
  check "... the program runs with it, LD_BIND_NOW='$bind'" test \
    "$(LD_BIND_NOW=$bind LD_LIBRARY_PATH=bfd big/main x 2>&1; echo $?)" = "$(LD_LIBRARY_PATH=bfd bfd/main x 2>&1; echo $?)"
done

# A library with only SysV .hash gets a GNU hash table (and a DT_GNU_HASH in
# a spare slot); the loader then uses it.
mkdir -p sysv/sorted
gcc -O2 -fPIC -shared -Wl,--hash-style=sysv -o sysv/libgrow.so "$IN/grow-lib.c"
gcc -O2 -Wl,--hash-style=sysv -o sysv/main "$IN/grow-main.c" -Lsysv -lgrow
"$ELFOPT" edit sysv/libgrow.so -o sysv/sorted/libgrow.so --dynsort --json >sysv.json 2>&1 ||
  fail "SysV-only library: dynsort failed: $(cat sysv.json)"
check "SysV-only library: said so in the report" python3 -c "
import json; assert json.load(open('sysv.json'))['dynsort']['builtFromSysvHash']"
check "... it has .gnu.hash and DT_GNU_HASH now" bash -c \
  "llvm-readelf-19 -d sysv/sorted/libgrow.so | grep -q GNU_HASH && llvm-readelf-19 -S sysv/sorted/libgrow.so | grep -q 'gnu.hash.*GNU_HASH'"
new=$(elflint_new sysv/libgrow.so sysv/sorted/libgrow.so)
check "... eu-elflint reports nothing new ($new)" test -z "$new"
check "... .dynsym in bucket order" bucket_order sysv/sorted/libgrow.so
for bind in "" 1; do
  check "... the program runs with it, LD_BIND_NOW='$bind'" test \
    "$(LD_BIND_NOW=$bind LD_LIBRARY_PATH=sysv/sorted sysv/main x 2>&1; echo $?)" = \
    "$(LD_LIBRARY_PATH=sysv sysv/main x 2>&1; echo $?)"
done
# The same, with nowhere to put DT_GNU_HASH: one clear error, nothing written.
clang-19 --ld-path=/usr/lib/llvm-19/bin/ld.lld -O2 -fPIC -shared -Wl,--hash-style=sysv -o sysv/liblld.so "$IN/grow-lib.c"
err=$("$ELFOPT" edit sysv/liblld.so -o sysv/never.so --dynsort 2>&1); status=$?
check "SysV-only library without a spare dynamic slot: exit 2, one line ($err)" \
  test "$status" = 2 -a "$(wc -l <<<"$err")" = 1
check "... naming the file and the missing slot" bash -c "grep -q 'sysv/liblld.so.*no spare' <<<'$err'"
check "... and nothing is written" test ! -e sysv/never.so
err=$("$ELFOPT" edit bfd/libmany.so -o x.so --hash-budget 100 2>&1); status=$?
check "GNU hash options without --dynsort: usage error ($err)" test "$status" = 1 -a ! -e x.so

# -z nocombreloc leaves relocations against one symbol apart (one lookup
# each); dynsort groups them, and leaves already grouped ones as they are.
mkdir -p nc/sorted
python3 -c "print('\n'.join(f'int ext_{i}(int x) {{ return x + {i}; }}' for i in range(20)))" >nc/ext.c
python3 -c "print('\n'.join(f'extern int ext_{i % 20}(int); int (*ptr_{i})(int) = ext_{i % 20};' for i in range(200)))" >nc/nc.c
cat >nc/main.c <<'EOF'
#include <stdio.h>
extern int (*ptr_7)(int), (*ptr_199)(int);
int main(void) { printf("%d %d\n", ptr_7(1), ptr_199(2)); return 0; }
EOF
gcc -shared -fPIC -o nc/libext.so nc/ext.c
gcc -shared -fPIC -o nc/libnc.so nc/nc.c -Lnc -lext -Wl,-z,nocombreloc
gcc -o nc/main nc/main.c -Lnc -lnc -Wl,-rpath-link,nc
"$ELFOPT" edit nc/libnc.so -o nc/sorted/libnc.so --dynsort --json >nc.json
check "nocombreloc: 180 fewer runs of relocations against one symbol (200 -> 20, plus crt's)" python3 -c "
import json; b, a = json.load(open('nc.json'))['dynsort']['relocationRuns']; assert b - a == 180, (b, a)"
new=$(elflint_new nc/libnc.so nc/sorted/libnc.so)
check "... eu-elflint reports nothing new ($new)" test -z "$new"
cp nc/libext.so nc/sorted/
check "... the program runs as before (LD_BIND_NOW=1)" \
  test "$(LD_BIND_NOW=1 LD_LIBRARY_PATH=nc/sorted nc/main)" = "8 21"
check "... and the same relocations are there" \
  test "$(llvm-readelf-19 -rW nc/libnc.so | awk '{print $1, $3, $5}' | sort)" = "$(llvm-readelf-19 -rW nc/sorted/libnc.so | awk '{print $1, $3, $5}' | sort)"
check "combreloc (the default): the relocations keep their order" \
  test "$(llvm-readelf-19 -rW bfd/libmany.so | awk '{print $1}')" = "$(llvm-readelf-19 -rW bfd/sorted/libmany.so | awk '{print $1}')"

# verify checks the dynamic symbol passes by name; it catches a broken table
# and a relocation moved to another symbol.
check "verify: a sorted library is sound" "$ELFOPT" verify bfd/libmany.so bfd/sorted/libmany.so
check "verify: so is a table grown into a new segment" "$ELFOPT" verify bfd/libmany.so big/libmany.so
check "verify: and a SysV-only library given a GNU table" "$ELFOPT" verify sysv/libgrow.so sysv/sorted/libgrow.so
python3 - bfd/sorted/libmany.so broken-bucket.so broken-reloc.so <<'PY'
import re, struct, subprocess, sys
src, bucket_out, reloc_out = sys.argv[1:]
data = bytearray(open(src, "rb").read())
shoff, = struct.unpack_from("<Q", data, 0x28)
shnum, shstrndx = struct.unpack_from("<HH", data, 0x3C)
hdr = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + 64 * i) for i in range(shnum)]
names = [data[hdr[shstrndx][4] + h[0]:data.index(b"\0", hdr[shstrndx][4] + h[0])].decode() for h in hdr]
gnu = hdr[names.index(".gnu.hash")][4]
nb, symoffset, bloom, shift = struct.unpack_from("<IIII", data, gnu)
buckets = gnu + 16 + 8 * bloom
# Point the first non-empty bucket at the next one's chain.
b = bytearray(data)
first = next(i for i in range(nb) if struct.unpack_from("<I", data, buckets + 4 * i)[0])
second = next(i for i in range(first + 1, nb) if struct.unpack_from("<I", data, buckets + 4 * i)[0])
struct.pack_into("<I", b, buckets + 4 * first, struct.unpack_from("<I", data, buckets + 4 * second)[0])
open(bucket_out, "wb").write(b)
# The first relocation against a symbol, moved to the next symbol.
r = bytearray(data)
rela = hdr[names.index(".rela.dyn")]
for off in range(rela[4], rela[4] + rela[5], 24):
    info, = struct.unpack_from("<Q", r, off + 8)
    if info >> 32:
        struct.pack_into("<Q", r, off + 8, info + (1 << 32))
        break
open(reloc_out, "wb").write(r)
PY
out=$("$ELFOPT" verify bfd/libmany.so broken-bucket.so); status=$?
check "verify: a bucket pointing at another chain is caught (exit $status)" \
  bash -c "[[ $status == 2 ]] && grep -q '.gnu.hash does not find' <<<'$out'"
out=$("$ELFOPT" verify bfd/libmany.so broken-reloc.so); status=$?
check "verify: a relocation moved to another symbol is caught (exit $status)" \
  bash -c "[[ $status == 2 ]] && grep -q '.rela.dyn: relocations changed' <<<'$out'"

# dlopen and dlsym through a sorted library.
gcc -O1 -shared -fPIC -o libplugin.so "$IN/record/plugin.c"
gcc -O1 -o loader "$IN/record/loader.c" -ldl
mkdir -p dl && cp loader dl/ && "$ELFOPT" edit libplugin.so -o dl/libplugin.so --dynsort --add-hashvals
check "dlopen/dlsym through a sorted library with hashvals" test "$(dl/loader)" = "$(./loader)"

# Debian's libLLVM-19, with llc and opt.
llvm=/usr/lib/llvm-19/lib/libLLVM.so.19.1
mkdir -p llvm
"$ELFOPT" edit "$llvm" -o llvm/libLLVM.so.19.1 --dynsort --add-hashvals --json >llvm.json
check "libLLVM-19: .dynstr does not grow" python3 -c "
import json; d = json.load(open('llvm.json'))['dynsort']; assert d['dynstrBytes'][1] <= d['dynstrBytes'][0], d"
new=$(elflint_new "$llvm" llvm/libLLVM.so.19.1)
check "libLLVM-19: eu-elflint reports only the hashvals tag ($new)" \
  test "$(grep -vc 'unknown tag' <<<"$new")" = 0
check "libLLVM-19: .dynsym in bucket order" bucket_order llvm/libLLVM.so.19.1
check "verify: libLLVM-19 dynsorted with hashvals is sound" "$ELFOPT" verify "$llvm" llvm/libLLVM.so.19.1
printf 'define i32 @f(i32 %%x) {\n  %%y = mul i32 %%x, 7\n  %%z = add i32 %%y, 3\n  ret i32 %%z\n}\n' >t.ll
/usr/lib/llvm-19/bin/llc t.ll -o a.s
/usr/lib/llvm-19/bin/opt -O2 t.ll -S -o a.ll
LD_BIND_NOW=1 LD_LIBRARY_PATH=$PWD/llvm /usr/lib/llvm-19/bin/llc t.ll -o b.s
LD_BIND_NOW=1 LD_LIBRARY_PATH=$PWD/llvm /usr/lib/llvm-19/bin/opt -O2 t.ll -S -o b.ll
check "llc-19 with the sorted libLLVM (LD_BIND_NOW=1): same output" cmp -s a.s b.s
check "opt-19 with the sorted libLLVM (LD_BIND_NOW=1): same output" cmp -s a.ll b.ll
check "... and it was the sorted one that loaded" bash -c \
  "LD_DEBUG=libs LD_LIBRARY_PATH='$PWD/llvm' /usr/lib/llvm-19/bin/llc --version 2>&1 | grep -q 'calling init: $PWD/llvm/libLLVM'"

gcc -static -o static "$IN/record/order.c"
err=$("$ELFOPT" edit static -o s2 --dynsort 2>&1)
check "a static program: nothing to do, said once, exit 0 ($err)" \
  test "$err" = "elfopt: warning: static: no dynamic symbols (statically linked): --dynsort has nothing to do"
check "... and the output is the input" cmp -s static s2
finish
