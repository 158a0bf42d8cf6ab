#!/usr/bin/env bash
# Runs every libFuzzer target for SECONDS (default 60) each:
#   bash scripts/fuzz.sh [SECONDS] [TARGET...]     targets: elf edit profile hash rewrite
# Builds the fuzz targets with clang-19 (-fsanitize=fuzzer,address,undefined)
# in FUZZ_BUILD_DIR (default build-fuzz/; scripts/test.sh passes its
# sanitizer build), seeds each corpus from the test suite's generated inputs,
# small system binaries and example profiles, keeps the corpus in
# FUZZ_BUILD_DIR/corpus/ from run to run, and runs the checked-in regression
# reproducers first (test/fuzz/regressions/TARGET/*.hex). Exits non-zero on
# any finding; the reproducer is left in FUZZ_BUILD_DIR/findings/.
#
# With CI=true the verdict must not depend on luck: each target runs from a
# fixed seed for a fixed number of inputs (about 25 s each on a 2-core CI
# machine), so a red CI run is reproducible with the same command. SECONDS
# then only caps the run. Hunting for new bugs is what the timed mode is for.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
seconds=${1:-60}
shift || true
targets=("$@")
((${#targets[@]})) || targets=(elf edit profile hash rewrite)

bash scripts/install-deps.sh
fuzz=$root/${FUZZ_BUILD_DIR:-build-fuzz}
# The same configuration as scripts/test.sh's sanitizer build, so that the
# two can share one directory; only the fuzz targets are built here.
CC=clang-19 CXX=clang++-19 cmake -S . -B "$fuzz" -G Ninja \
  -DELFOPT_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$fuzz" -j "${JOBS:-$(nproc)}" --target fuzz-Elf fuzz-Edit fuzz-Profile fuzz-Hash \
  fuzz-Rewrite >/dev/null
mkdir -p "$fuzz/findings"
seed() { # TARGET DIR: initial corpus
  local dir=$2
  mkdir -p "$dir"
  case $1 in
  elf | edit)
    python3 test/inputs/make-elf.py "$dir/gen" >/dev/null && mv "$dir"/gen/* "$dir"/ && rmdir "$dir/gen"
    for f in /usr/bin/true /usr/bin/env /usr/lib/x86_64-linux-gnu/libz.so.1 /usr/bin/xargs; do
      cp "$f" "$dir/$(basename "$f")"
    done
    ;;
  rewrite)
    # Small programs linked with --emit-relocs, each linker and kind.
    for ld in bfd lld; do
      gcc -O2 -fuse-ld=$ld -Wl,-q test/inputs/rewrite/subject.c -o "$dir/subject-$ld"
      gcc -O2 -fuse-ld=$ld -Wl,-q -fPIC -shared -Dmain=subject_main test/inputs/rewrite/subject.c \
        -o "$dir/libsubject-$ld.so"
    done
    gcc -O0 -fno-pie -no-pie -Wl,-q test/inputs/rewrite/subject.c -o "$dir/subject-nopie"
    # With debug info, so that the DWARF line and range readers are fuzzed too.
    gcc -O2 -g -ffunction-sections -Wl,-q test/inputs/rewrite/subject.c -o "$dir/subject-g"
    clang-19 -O1 -gdwarf-4 -Wl,-q test/inputs/rewrite/subject.c -o "$dir/subject-clang-g"
    # Release binaries: no static relocations, stripped (functions from FDEs,
    # jump tables found from the code).
    bash test/inputs/rewrite/gen-switches.sh "$dir/switches-src" 2 3 >/dev/null
    gcc -O2 "$dir"/switches-src/*.c -o "$dir/switches-release" && strip "$dir/switches-release"
    clang-19 -O2 -fuse-ld=lld -fPIC -shared "$dir"/switches-src/unit*.c -o "$dir/libswitches-release.so" &&
      strip "$dir/libswitches-release.so"
    rm -rf "$dir/switches-src"
    gcc -O2 test/inputs/rewrite/subject.c -o "$dir/subject-release" && strip "$dir/subject-release" ;;
  profile)
    cp profiles/examples/*.json "$dir/" ;;
  hash)
    # Real tables, prefixed with their file's dynamic symbol count.
    for f in /usr/lib/x86_64-linux-gnu/libz.so.1 /usr/bin/true; do
      python3 - "$f" "$dir/$(basename "$f").gnu" <<'PY'
import struct, subprocess, sys
out = subprocess.run(["llvm-readelf-19", "-SW", sys.argv[1]], capture_output=True, text=True).stdout
import re
secs = {}
for line in out.splitlines():
    m = re.match(r"\s*\[\s*\d+\]\s+(\S+)\s+\S+\s+[0-9a-f]+\s+([0-9a-f]+)\s+([0-9a-f]+)", line)
    if m:
        secs[m.group(1)] = (int(m.group(2), 16), int(m.group(3), 16))
data = open(sys.argv[1], "rb").read()
off, size = secs[".gnu.hash"]
count = secs[".dynsym"][1] // 24
open(sys.argv[2], "wb").write(struct.pack("<I", count) + data[off:off + size])
PY
    done ;;
  esac
}

declare -A ci_runs=([elf]=30000 [edit]=40000 [profile]=25000 [hash]=400000 [rewrite]=3000)

status=0
for t in "${targets[@]}"; do
  bin=$fuzz/test/fuzz/fuzz-${t^}
  corpus=$fuzz/corpus/$t
  [[ -d $corpus ]] || seed "$t" "$corpus"
  # Regressions first: every reproducer of a fixed finding must pass.
  regressions=()
  if compgen -G "test/fuzz/regressions/$t/*.hex" >/dev/null; then
    mkdir -p "$fuzz/regressions/$t"
    for hex in test/fuzz/regressions/$t/*.hex; do
      xxd -r -p "$hex" >"$fuzz/regressions/$t/$(basename "$hex" .hex)"
    done
    regressions=("$fuzz/regressions/$t"/*)
  fi
  if ((${#regressions[@]})) && ! "$bin" "${regressions[@]}" >"$fuzz/$t.regressions.log" 2>&1; then
    echo "fuzz-$t: a regression reproducer fails again; see $fuzz/$t.regressions.log"
    status=1
  fi
  if [[ ${CI:-} == true ]]; then
    budget=(-seed=1 -runs="${ci_runs[$t]}" -max_total_time=$((seconds * 4)))
    echo "== fuzz-$t: ${ci_runs[$t]} inputs from seed 1"
  else
    budget=(-max_total_time="$seconds")
    echo "== fuzz-$t for $seconds s"
  fi
  if "$bin" "$corpus" -dict=test/fuzz/elf.dict "${budget[@]}" -rss_limit_mb=2048 \
      -timeout=10 -artifact_prefix="$fuzz/findings/$t-" -print_final_stats=1 \
      >"$fuzz/$t.log" 2>&1; then
    grep -E 'stat::number_of_executed_units|stat::peak_rss_mb' "$fuzz/$t.log" | sed "s/^/   /"
  else
    echo "fuzz-$t: FINDING; see $fuzz/$t.log and $fuzz/findings/"
    grep -E 'ERROR|SUMMARY|Test unit written' "$fuzz/$t.log" | head -5 | sed 's/^/   /'
    status=1
  fi
done
exit $status
