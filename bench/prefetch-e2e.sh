#!/usr/bin/env bash
# prefetch-e2e.sh [OUTDIR]: what the prefetch stub adds to reordering, on a
# release program as Debian ships it: clang-19 and the two libraries it
# starts in (libLLVM, libclang-cpp; stripped, no static relocations).
# Records 3 compiles of a small C file (--object for both libraries), then
# builds four variants of the three files:
#   orig      as shipped;
#   order     rewritten with the recorded order;
#   prefetch  the same plus --prefetch (one range per file: the front of .text);
#   stub-only --prefetch --keep-layout: the original layout, its touched pages
#             read ahead (gap and range-count rule: PREFETCH_ARGS, default the
#             tool's, 64 KiB and 32 ranges).
# and compares them with `elfopt measure` (cold and warm starts, A and B
# interleaved, RUNS runs each, medians): orig vs order, order vs prefetch,
# orig vs stub-only. The disk's readahead decides much of a cold start: it
# is printed.
set -euo pipefail
ELFOPT=${ELFOPT:-$(cd "$(dirname "$0")/.." && pwd)/build/tools/elfopt/elfopt}
out=${1:-/tmp/elfopt-prefetch-e2e}
runs=${RUNS:-7}
read -r -a prefetch_args <<<"${PREFETCH_ARGS:-}"
clang=$(readlink -f /usr/bin/clang-19)
resource=$(clang-19 -print-resource-dir)
rm -rf "$out" && mkdir -p "$out"/{orig,order,prefetch,stub-only}/lib && cd "$out"
cp "$clang" orig/clang
libs=()
for lib in libLLVM.so.19.1 libclang-cpp.so.19.1; do
  cp "$(ldd "$clang" | awk -v l="$lib" '$1 == l {print $3}')" orig/lib/
  libs+=("$lib")
done
printf '#include <stdio.h>\nint main(void) { printf("hello\\n"); return 0; }\n' >hello.c
echo "== record the original (3 runs)"
LD_LIBRARY_PATH=$out/orig/lib "$ELFOPT" record --runs 3 --object libLLVM --object libclang-cpp -o orig.profile -- \
  "$out/orig/clang" -resource-dir "$resource" -O2 -c hello.c -o /dev/null >/dev/null

rewrite() { # VARIANT ARGS...: the three files of VARIANT
  local variant=$1
  shift
  "$ELFOPT" rewrite orig/clang --profile orig.profile "$@" -o "$variant/clang" >"$variant/clang.txt"
  for lib in "${libs[@]}"; do
    "$ELFOPT" rewrite "orig/lib/$lib" --profile orig.profile --object "${lib%%.so*}" "$@" \
      -o "$variant/lib/$lib" >"$variant/$lib.txt"
  done
  grep -h "prefetch:" "$variant"/*.txt | sed "s/^/   $variant: /" || true
}
echo "== rewrite: order, prefetch, stub-only"
rewrite order
rewrite prefetch --prefetch "${prefetch_args[@]}"
rewrite stub-only --prefetch --keep-layout "${prefetch_args[@]}"

compile() { # VARIANT: what it prints, and the object file's bytes
  LD_LIBRARY_PATH=$out/$1/lib "$out/$1/clang" -resource-dir "$resource" -O2 -c hello.c -o "$1.o"
}
for v in orig order prefetch stub-only; do compile "$v"; done
for v in order prefetch stub-only; do
  cmp orig.o "$v.o" && echo "   $v: compiles hello.c to the same object file"
done

echo "== read_ahead_kb: $(for d in /sys/block/*; do printf '%s=%s ' "${d##*/}" "$(cat "$d/queue/read_ahead_kb")"; done)"
pair() { # A B
  echo "== $1 (A) against $2 (B)"
  "$ELFOPT" measure --runs "$runs" --env LD_LIBRARY_PATH="$out/$1/lib" --compare "$out/$2/clang" \
    --compare-env LD_LIBRARY_PATH="$out/$2/lib" -- "$out/$1/clang" -resource-dir "$resource" -O2 -c hello.c -o /dev/null
}
pair orig order
pair order prefetch
pair orig stub-only
