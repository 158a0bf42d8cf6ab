#!/usr/bin/env bash
# make-large-subject.sh OUTDIR
#
# Builds OUTDIR/llvm-large, a large *real* benchmark subject for elfopt:
# bench/large-subject/main.cpp (without an argument: parses IR, runs the O2
# pipeline, emits x86-64 asm and an object, symbolizes it, round-trips
# bitcode, runs yaml2obj and JITs the module; with a workload size N: compiles
# a generated module of N units for ten targets and JITs it, see main.cpp)
# linked against every static LLVM 19 library from Debian's llvm-19-dev, as a
# PIE with --emit-relocs. The result is ~180 MB with ~100k functions.
# Built once; OUTDIR/llvm-large is reused while the SHA-256 of main.cpp and of
# this script match OUTDIR/llvm-large.sha256, and rebuilt otherwise.
# Took 23-29 s (compile + link, one job) on a 2-core machine, plus ~2 s of
# sanity runs.
set -euo pipefail

[[ $# -eq 1 ]] || { echo "usage: $0 OUTDIR" >&2; exit 1; }
out=$1
src=$(cd "$(dirname "$0")" && pwd)/large-subject/main.cpp
CXX=${CXX:-g++}
LLVM_CONFIG=${LLVM_CONFIG:-llvm-config-19}

sum=$(cat "$src" "$0" | sha256sum | cut -d' ' -f1)
if [[ -x $out/llvm-large && $(cat "$out/llvm-large.sha256" 2>/dev/null) == "$sum" ]]; then
  echo "reusing $out/llvm-large (main.cpp unchanged; delete it to rebuild)" >&2
  exit 0
fi
mkdir -p "$out"
rm -f "$out/llvm-large" "$out/llvm-large.sha256"

# llvm-config lists Polly, whose static libraries Debian does not ship.
read -ra cxxflags <<<"$("$LLVM_CONFIG" --cxxflags)"
read -ra libs <<<"$("$LLVM_CONFIG" --ldflags --libs all --system-libs --link-static |
                    tr ' ' '\n' | grep -v '^-lPolly' | tr '\n' ' ')"
compile=("$CXX" -O2 -fPIE "${cxxflags[@]}" -c "$src" -o "$out/main.o")
link=("$CXX" -O2 -fPIE -pie "-Wl,--emit-relocs" "$out/main.o" -o "$out/llvm-large.tmp" "${libs[@]}")

start=$(date +%s)
echo "+ ${compile[*]}" >&2; "${compile[@]}"
echo "+ ${link[*]}" >&2;    "${link[@]}"
secs=$(( $(date +%s) - start ))

# Sanity: big enough, runs, and is deterministic.
size=$(stat -c %s "$out/llvm-large.tmp")
(( size > 100 * 1024 * 1024 )) || { echo "subject only $size bytes" >&2; exit 2; }
"$out/llvm-large.tmp" > "$out/run1.txt"
"$out/llvm-large.tmp" > "$out/run2.txt"
cmp -s "$out/run1.txt" "$out/run2.txt" || { echo "subject output differs between runs" >&2; exit 2; }
grep -q '^; ten() = 285$' "$out/run1.txt" || { echo "subject output wrong" >&2; exit 2; }
"$out/llvm-large.tmp" 1 > "$out/work1.txt"
"$out/llvm-large.tmp" 1 > "$out/work2.txt"
cmp -s "$out/work1.txt" "$out/work2.txt" || { echo "workload output differs between runs" >&2; exit 2; }
grep -q '^; JIT (.*run(1) = 0x' "$out/work1.txt" || { echo "workload output wrong" >&2; exit 2; }

mv "$out/llvm-large.tmp" "$out/llvm-large"
echo "$sum" > "$out/llvm-large.sha256"
{ echo "built in ${secs}s ($(nproc) cores) on $(date -u +%FT%TZ)"
  echo "compile: ${compile[*]}"
  echo "link:    ${link[*]}   (then renamed to llvm-large)"
  "$CXX" --version | head -1; "$LLVM_CONFIG" --version
} > "$out/build-info.txt"
echo "built $out/llvm-large: $size bytes in ${secs}s" >&2
