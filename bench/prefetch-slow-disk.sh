#!/usr/bin/env bash
# prefetch-slow-disk.sh [OUTDIR]: the prefetch plan on emulated slow devices
# (`elfopt measure --device`, root), on Debian's clang-19 with libLLVM and
# libclang-cpp as shipped. Records 3 compiles of a small C file with page
# traces, then builds:
#   orig      as shipped;
#   order     rewritten with the recorded order;
#   prefetch  the same plus --prefetch (the default plan: every device class);
#   gap0      the same plus --prefetch --prefetch-gap 0 (every touched range
#             kept, the rule before the plan; now in 512 KiB calls)
# and compares, on each of DEVICES (default "hdd emmc ssd"), orig with
# order, and order with prefetch and with gap0: cold starts only, A and B
# interleaved, RUNS runs each (default 5), medians, read requests. The load
# average is printed with each pair: on a busy machine, runs of a few
# hundred milliseconds (ssd) are mostly CPU noise.
set -euo pipefail
ELFOPT=${ELFOPT:-$(cd "$(dirname "$0")/.." && pwd)/build/tools/elfopt/elfopt}
out=${1:-/tmp/elfopt-prefetch-slow-disk}
runs=${RUNS:-5}
devices=${DEVICES:-hdd emmc ssd}
clang=$(readlink -f /usr/bin/clang-19)
resource=$(clang-19 -print-resource-dir)
rm -rf "$out" && mkdir -p "$out"/{orig,order,prefetch,gap0}/lib && cd "$out"
cp "$clang" orig/clang
libs=()
for lib in libLLVM.so.19.1 libclang-cpp.so.19.1; do
  cp "$(ldd "$clang" | awk -v l="$lib" '$1 == l {print $3}')" orig/lib/
  libs+=("$lib")
done
printf '#include <stdio.h>\nint main(void) { printf("hello\\n"); return 0; }\n' >hello.c
echo "== record the original (3 runs, page traces)"
LD_LIBRARY_PATH=$out/orig/lib "$ELFOPT" record --runs 3 --object libLLVM --object libclang-cpp -o orig.profile -- \
  "$out/orig/clang" -resource-dir "$resource" -O2 -c hello.c -o /dev/null >/dev/null

rewrite() { # VARIANT ARGS...
  local variant=$1
  shift
  "$ELFOPT" rewrite orig/clang --profile orig.profile "$@" -o "$variant/clang" >"$variant/clang.txt"
  for lib in "${libs[@]}"; do
    "$ELFOPT" rewrite "orig/lib/$lib" --profile orig.profile --object "${lib%%.so*}" "$@" \
      -o "$variant/lib/$lib" >"$variant/$lib.txt"
  done
  grep -h "prefetch: planned\|prefetch: left out" "$variant"/*.txt | sed "s/^ */   $variant: /" || true
}
echo "== rewrite"
rewrite order
rewrite prefetch --prefetch
rewrite gap0 --prefetch --prefetch-gap 0
for v in orig order prefetch gap0; do
  LD_LIBRARY_PATH=$out/$v/lib "$out/$v/clang" -resource-dir "$resource" -O2 -c hello.c -o "$v.o"
done
for v in order prefetch gap0; do
  cmp orig.o "$v.o" && echo "   $v: compiles hello.c to the same object file"
done

pair() { # DEVICE A B
  echo "== $1: $2 (A) against $3 (B); $(uptime)"
  "$ELFOPT" measure --device "$1" --cold --runs "$runs" --env LD_LIBRARY_PATH="$out/$2/lib" \
    --compare "$out/$3/clang" --compare-env LD_LIBRARY_PATH="$out/$3/lib" -- \
    "$out/$2/clang" -resource-dir "$resource" -O2 -c hello.c -o /dev/null | grep "B/A\|cold:\|medians"
}
for d in $devices; do
  pair "$d" orig order
  pair "$d" order prefetch
  pair "$d" order gap0
done
