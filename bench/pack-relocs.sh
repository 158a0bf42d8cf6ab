#!/usr/bin/env bash
# rewrite --pack-relative-relocs on the largest shared objects and programs
# here: the bytes of relative relocations the loader reads before and after,
# and what refused files said. Then, for clang-19 with libLLVM-19 and
# libclang-cpp packed, the loader's instructions (callgrind, LD_BIND_NOW=1,
# inclusive cost of _dl_start) and whether its objects are byte-identical.
#   bench/pack-relocs.sh [BUILD_DIR]   (default: build)
# Every file is read from where it is installed and written to a private
# directory; nothing installed changes.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
elfopt=$root/${1:-build}/tools/elfopt/elfopt
out=$(mktemp -d /tmp/elfopt-pack.XXXXXX)
trap 'rm -rf "$out"' EXIT
echo "load: $(cut -d' ' -f1-3 /proc/loadavg); elfopt $(git -C "$root" rev-parse --short HEAD)"

# 1. Every ELF shared object or PIE of 10 MB or more.
printf '%-34s %9s %11s %11s %9s %7s  %s\n' file relative "rela before" "rela after" relr seconds result
mapfile -t big < <(find /usr/bin /usr/lib -type f -size +10M 2>/dev/null | sort)
for f in "${big[@]}"; do
  [[ $(head -c4 "$f" | od -An -c | tr -d ' ') == 177ELF ]] || continue
  readelf -h "$f" 2>/dev/null | grep -q 'DYN ' || continue
  name=$(basename "$f")
  start=$(date +%s.%N)
  if "$elfopt" rewrite "$f" --pack-relative-relocs --json -o "$out/$name" >"$out/r.json" 2>"$out/err"; then
    secs=$(echo "$(date +%s.%N) - $start" | bc)
    python3 - "$out/r.json" "$name" "$secs" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))["packRelativeRelocs"]
print("%-34s %9d %11d %11d %9d %7.2f  packed %d" % (sys.argv[2][:34], p["relativeBefore"], p["relaBytesBefore"],
      p["relaBytesAfter"], p["relrBytes"], float(sys.argv[3]), p["packed"]))
PY
  else
    printf '%-34s %9s %11s %11s %9s %7s  %s\n' "${name:0:34}" - - - - - "refused: $(sed 's/.*relocations: //' "$out/err" | head -1)"
  fi
  rm -f "$out/$name"
done

# 2. clang-19 with packed libLLVM-19 and libclang-cpp.
lib=/usr/lib/llvm-19/lib
mkdir -p "$out/orig" "$out/packed"
for so in libLLVM.so.19.1 libclang-cpp.so.19.1; do
  cp "$lib/$so" "$out/orig/"
  "$elfopt" rewrite "$lib/$so" --pack-relative-relocs -o "$out/packed/$so" >/dev/null
done
printf 'int f(int x) { return x * 3 + 1; }\n' >"$out/x.c"
for v in orig packed; do
  LD_LIBRARY_PATH=$out/$v /usr/lib/llvm-19/bin/clang -O2 -c "$out/x.c" -o "$out/$v.o"
  LD_BIND_NOW=1 LD_LIBRARY_PATH=$out/$v valgrind --tool=callgrind --callgrind-out-file="$out/cg.$v" \
    /usr/lib/llvm-19/bin/clang --version >/dev/null 2>&1
  ir=$(callgrind_annotate --inclusive=yes --threshold=100 "$out/cg.$v" | awk '/rtld.c:_dl_start / {gsub(",", "", $1); print $1; exit}')
  echo "clang-19 --version, $v libraries: loader instructions (_dl_start inclusive, LD_BIND_NOW=1): $ir"
done
cmp -s "$out/orig.o" "$out/packed.o" && echo "clang-19 objects: byte-identical" || echo "clang-19 objects: DIFFER"
