#!/usr/bin/env bash
# release-libraries.sh [OUTDIR]: Debian's own shared libraries, as shipped
# (stripped, no static relocations), rewritten with a random order and loaded
# into real programs through LD_LIBRARY_PATH next to the originals:
#   - libc.so.6, libm.so.6, libz.so.1, libstdc++.so.6, libgcc_s.so.1,
#     libLLVM.so.19.1, libclang-cpp.so.19.1 (SEED, default 1);
#   - clang-19 compiles a corpus of C and C++ files (this repository's
#     sources that need no LLVM headers, and the examples) at -O2 with the
#     original and with the rewritten libraries: the objects must be
#     byte-identical;
#   - python3 (libc, libm, libz) and cmake (libstdc++, libc) run a workload
#     whose output must be identical.
# Exit status 0 only if every comparison is identical.
set -uo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
ELFOPT=${ELFOPT:-$src/build/tools/elfopt/elfopt}
out=${1:-/tmp/elfopt-release-libs}
seed=${SEED:-1}
rm -rf "$out" && mkdir -p "$out/lib" "$out/orig" "$out/new" && cd "$out" || exit 1
clang=$(readlink -f /usr/bin/clang-19)
resource=$(clang-19 -print-resource-dir)
failures=0

echo "== rewrite (elfopt rewrite LIB --random-order $seed)"
for lib in libc.so.6 libm.so.6 libz.so.1 libstdc++.so.6 libgcc_s.so.1 libLLVM.so.19.1 libclang-cpp.so.19.1; do
  path=$(ldconfig -p | awk -v l="$lib" '$1 == l && /x86-64/ {print $NF; exit}')
  [[ -n $path ]] || path=$(ldd "$clang" | awk -v l="$lib" '$1 == l {print $3}')
  if ! "$ELFOPT" rewrite "$path" --random-order "$seed" --json -o "lib/$lib" >"$lib.json" 2>"$lib.err"; then
    echo "   $lib: refused: $(head -1 "$lib.err")"
    failures=$((failures + 1))
    continue
  fi
  python3 - "$lib" "$path" "$lib.json" <<'PY'
import json, sys
lib, path, report = sys.argv[1:]
d = json.load(open(report))
size = max(1, d["text"]["bytes"])
b = d["blocks"]
print(f"   {lib} ({path}): {b['functions']} function blocks, "
      f"{100 * (1 - b['pinnedBytes'] / size):.1f}% of .text movable, {100 * b['movedBytes'] / size:.1f}% moved")
PY
done

same() { # WHAT ORIG NEW
  if cmp -s "$2" "$3"; then
    echo "   same: $1"
  else
    echo "   DIFFERENT: $1"
    failures=$((failures + 1))
  fi
}

echo "== clang-19 -O2 -c on a C and C++ corpus, original libraries vs rewritten"
mapfile -t corpus < <(cd "$src" && ls test/inputs/*.c test/inputs/record/*.c test/inputs/rewrite/*.c* \
  examples/startup-demo/main.cpp lib/Support/*.cpp lib/Order/*.cpp lib/Hash/*.cpp lib/Measure/*.cpp 2>/dev/null)
n=0
for file in "${corpus[@]}"; do
  flags=(-O2 -c -resource-dir "$resource" -I "$src/include" -I "$src/examples/startup-demo" -I /usr/lib/llvm-19/include)
  [[ $file == *.cpp ]] && flags+=(-std=c++20)
  if ! "$clang" "${flags[@]}" "$src/$file" -o "orig/$n.o" 2>/dev/null; then
    echo "   (skipped: the original clang does not compile $file)"
    continue
  fi
  LD_LIBRARY_PATH=$out/lib "$clang" "${flags[@]}" "$src/$file" -o "new/$n.o"
  same "clang -O2 $file" "orig/$n.o" "new/$n.o"
  n=$((n + 1))
done

echo "== python3 (libc, libm, libz) and cmake (libstdc++)"
workload='import zlib, math, json, hashlib
data = json.dumps([math.sin(i) * math.log1p(i) for i in range(20000)]).encode()
packed = zlib.compress(data, 9)
assert zlib.decompress(packed) == data
print(len(data), len(packed), hashlib.sha256(packed).hexdigest())'
# Debian's python3, not a wrapper script that PATH may find first.
python=/usr/bin/python3
$python -c "$workload" >orig/python.txt 2>&1
LD_LIBRARY_PATH=$out/lib $python -c "$workload" >new/python.txt 2>&1
same "python3 zlib/math workload" orig/python.txt new/python.txt
for args in "--version" "-E capabilities" "--help-module-list"; do
  cmake $args >orig/cmake.txt 2>&1
  LD_LIBRARY_PATH=$out/lib cmake $args >new/cmake.txt 2>&1
  same "cmake $args" orig/cmake.txt new/cmake.txt
done
# Which of the rewritten libraries the programs really loaded.
echo "   loaded from $out/lib by clang-19: $(LD_LIBRARY_PATH=$out/lib ldd "$clang" | grep -c "$out/lib")," \
  "by python3: $(LD_LIBRARY_PATH=$out/lib ldd $python | grep -c "$out/lib")," \
  "by cmake: $(LD_LIBRARY_PATH=$out/lib ldd "$(command -v cmake)" | grep -c "$out/lib")"
echo "== $failures differences or refusals"
[[ $failures == 0 ]]
