#!/usr/bin/env bash
# clang-app.sh: clang-19's whole application (`elfopt app`: clang, libLLVM,
# libclang-cpp and the rest of /usr/lib/llvm-19 it maps) against the
# installed one, compiling a small C++ file: cold on emulated devices, cold
# on this machine's disk, and warm, A and B interleaved (`elfopt measure`).
#   bash bench/clang-app.sh [OUT]
# OUT (default /tmp/elfopt-clang-app) keeps the profile and the variant; a
# step whose output exists is skipped. DEVICES (default "hdd emmc ssd"),
# RUNS_hdd (5), RUNS (9 on the other devices), DISK_RUNS (11; 0 leaves it
# out). Needs root for the devices; see docs/measuring.md.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
ELFOPT=${ELFOPT:-$here/../build/tools/elfopt/elfopt}
out=${1:-/tmp/elfopt-clang-app}
llvm=/usr/lib/llvm-19
[[ -x $llvm/bin/clang ]] || { echo "clang-app: clang-19 is not installed" >&2; exit 1; }
mkdir -p "$out"
out=$(cd "$out" && pwd)
cd "$out"
cat >x.cpp <<'CPP'
#include <algorithm>
#include <iostream>
#include <map>
#include <string>
#include <vector>
int main() {
  std::map<std::string, int> m{{"b", 2}, {"a", 1}};
  std::vector<int> v{3, 1, 2};
  std::sort(v.begin(), v.end());
  for (auto &[k, x] : m) std::cout << k << x << v[0] << '\n';
}
CPP
args=(-O2 -c "$out/x.cpp" -o /dev/null)
[[ -s clang.profile.json ]] ||
  "$ELFOPT" record --all-objects --runs 3 -o clang.profile.json -- "$llvm/bin/clang" "${args[@]}" >/dev/null
if [[ ! -d app ]]; then
  "$ELFOPT" app "$llvm/bin/clang" --profile clang.profile.json -o app.tmp >app.txt
  mv app.tmp app
fi
"$llvm/bin/clang" -O2 -c x.cpp -o a.o
app/bin/clang -O2 -c x.cpp -o b.o
cmp -s a.o b.o || { echo "clang-app: the objects differ" >&2; exit 1; }
echo "objects identical"

ELFOPT=$ELFOPT bash "$here/app-measure.sh" "$llvm" "$out/app" bin/clang 'lib/lib*.so.*' -- "${args[@]}"
