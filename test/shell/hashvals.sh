#!/usr/bin/env bash
# Precomputed GNU hashes (elfopt edit --add-hashvals): one u32 per .dynsym
# entry, equal to the GNU hash of its name, found through DT_ELFOPT_HASHVALS;
# glibc ignores it: a library and a program carrying it run identically,
# also with LD_BIND_NOW=1 and through dlopen/dlsym.
source "$(dirname "$0")/lib.sh"
require gcc python3 llvm-readelf-19 eu-elflint
cd "$WORK"
IN=$SRC/test/inputs

gcc -O2 -fPIC -shared -o libgrow.so "$IN/grow-lib.c"
gcc -O2 -o main "$IN/grow-main.c" -L. -lgrow
gcc -O1 -shared -fPIC -o libplugin.so "$IN/record/plugin.c"
gcc -O1 -o loader "$IN/record/loader.c" -ldl
mkdir -p hv
"$ELFOPT" edit libgrow.so -o hv/libgrow.so --add-hashvals
"$ELFOPT" edit main -o hv/main --add-hashvals
"$ELFOPT" edit libplugin.so -o hv/libplugin.so --add-hashvals
cp loader hv/loader

expected=$(LD_LIBRARY_PATH=. ./main x 2>&1; echo "status=$?")
check "program and library with hashvals run identically" \
  test "$(LD_LIBRARY_PATH=hv hv/main x 2>&1; echo "status=$?")" = "$expected"
check "... also with LD_BIND_NOW=1" \
  test "$(LD_BIND_NOW=1 LD_LIBRARY_PATH=hv hv/main x 2>&1; echo "status=$?")" = "$expected"
check "dlopen and dlsym through a library with hashvals" test "$(hv/loader)" = "$(./loader)"

for f in hv/libgrow.so hv/main; do
  check "$f: one GNU hash per .dynsym name, found through DT_ELFOPT_HASHVALS" python3 - "$f" <<'PY'
import re, struct, subprocess, sys
f = sys.argv[1]
def readelf(*a):
    return subprocess.run(["llvm-readelf-19", *a, f], capture_output=True, text=True, check=True).stdout
sections = {}
for line in readelf("-SW").splitlines():
    m = re.match(r"\s*\[\s*\d+\]\s+(\S+)\s+\S+\s+([0-9a-f]+)\s+([0-9a-f]+)\s+([0-9a-f]+)", line)
    if m:
        sections[m.group(1)] = tuple(int(x, 16) for x in m.groups()[1:])
addr, off, size = sections[".elfopt.hashvals"]
tag = [l.split()[-1] for l in readelf("-dW").splitlines() if l.strip().startswith("0x000000006ffffe00")]
assert tag and int(tag[0], 16) == addr, (tag, hex(addr))
names = [""]
for line in readelf("--dyn-syms", "-W").splitlines():
    m = re.match(r"\s*\d+:\s+[0-9a-f]+\s+\d+\s+\S+\s+\S+\s+\S+\s+\S+\s+(\S+)", line)
    if m:
        names.append(m.group(1).split("@")[0])
data = open(f, "rb").read()[off:off + size]
hashes = struct.unpack("<%dI" % (size // 4), data)
assert len(hashes) == len(names), (len(hashes), len(names))
def gnu(s):
    h = 5381
    for c in s.encode():
        h = (h * 33 + c) & 0xFFFFFFFF
    return h
assert list(hashes) == [gnu(n) for n in names]
PY
done
# eu-elflint knows no tag it has not been taught: the new entry is the one
# thing it reports, and nothing else changes.
check "eu-elflint: only the new tag is new" bash -c "diff <(eu-elflint --gnu-ld libgrow.so | sed 's|libgrow.so|F|') <(eu-elflint --gnu-ld hv/libgrow.so | sed 's|hv/libgrow.so|F|') | grep '^>' | grep -v \"unknown tag\" | grep -q . && exit 1 || exit 0"
expect_error 2 "elfopt: error: hv/libgrow.so: already has precomputed hashes (.elfopt.hashvals)" \
  "$ELFOPT" edit hv/libgrow.so -o again.so --add-hashvals
gcc -static -o static "$IN/record/order.c"
err=$("$ELFOPT" edit static -o static2 --add-hashvals 2>&1)
check "a static program: nothing to do, said once, exit 0 ($err)" \
  test "$err" = "elfopt: warning: static: no dynamic symbols (statically linked): --add-hashvals has nothing to do"
check "... and the output is the input" cmp -s static static2
finish
