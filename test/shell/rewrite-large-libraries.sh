#!/usr/bin/env bash
# The largest release libraries CI has: Debian's libLLVM-19 (123 MB) and
# libclang-cpp (67 MB), stripped, no static relocations. One compile of a
# small C file by clang-19 is recorded with both as objects; both are
# rewritten from copies with that order (forwarding stubs included, which
# libLLVM needs), verified, and clang-19 run with them must write the same
# object file. A cut-down of bench/largest-programs.sh.
source "$(dirname "$0")/lib.sh"
require clang-19 python3
cd "$WORK"
clang=$(readlink -f /usr/bin/clang-19)
resource=$(clang-19 -print-resource-dir)
mkdir -p orig new
for lib in libLLVM.so.19.1 libclang-cpp.so.19.1; do
  cp "$(ldd "$clang" | awk -v l="$lib" '$1 == l {print $3}')" orig/ || fail "no $lib beside clang-19"
done
printf '#include <stdio.h>\nstatic int twice(int x) { return 2 * x; }\nint main(void) { printf("%%d\\n", twice(21)); return 0; }\n' >unit.c
compile() { LD_LIBRARY_PATH=$1 "$clang" -resource-dir "$resource" -O2 -c unit.c -o "$2"; }
# The copies through LD_LIBRARY_PATH: elfopt, linked with libLLVM too, then
# loads the same bytes.
LD_LIBRARY_PATH=orig "$ELFOPT" record --no-pages --object libLLVM --object libclang-cpp -o clang.profile -- \
  "$clang" -resource-dir "$resource" -O2 -c unit.c -o /dev/null >/dev/null 2>&1
for lib in libLLVM.so.19.1 libclang-cpp.so.19.1; do
  if with_memory_limit 6000 "$ELFOPT" rewrite "orig/$lib" --profile clang.profile --object "${lib%%.so*}" \
    --json -o "new/$lib" >"$lib.json" 2>"$lib.err"; then
    pass
    check "$lib: verified" python3 -c 'import json, sys; assert json.load(open(sys.argv[1]))["verify"]["ok"]' "$lib.json"
    check "$lib: most of the ordered bytes placed in order" python3 -c '
import json, sys
b = json.load(open(sys.argv[1]))["blocks"]
assert b["orderedPlaced"] > 1000 and b["orderedBytes"] >= 0.9 * (b["orderedBytes"] + b["orderedPinnedBytes"]), b' "$lib.json"
  else
    fail "$lib: rewrite refused: $(cat "$lib.err")"
  fi
done
check "libLLVM: forwarding stubs written and checked" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["blocks"]["forwardingStubs"] > 0 and d["verify"]["forwardedWords"] > 0, d["blocks"]' libLLVM.so.19.1.json
compile orig orig.o && compile new new.o
check "clang-19 with the rewritten libraries writes the same object" cmp orig.o new.o
finish
