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
"$ELFOPT" edit bfd/libmany.so -o again.so --dynsort
check "same input, byte-identical output" cmp -s again.so bfd/sorted/libmany.so
"$ELFOPT" edit bfd/libmany.so -o keep.so --dynsort --keep-hash-shape
check "--keep-hash-shape keeps the parameters" test \
  "$(llvm-readelf-19 --gnu-hash-table keep.so | grep -E 'Num Buckets|Mask Words|Shift')" = \
  "$(llvm-readelf-19 --gnu-hash-table bfd/libmany.so | grep -E 'Num Buckets|Mask Words|Shift')"

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
