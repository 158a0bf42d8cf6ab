#!/usr/bin/env bash
# prefetch-cold.sh [OUTDIR]: cold and warm start of the bundled example and
# of the large subject (bench/make-large-subject.sh: ~180 MB static-LLVM
# PIE, linked with --emit-relocs), each as:
#   orig             as built;
#   order            elfopt rewrite with the order of 3 recorded runs;
#   prefetch-code    the original layout plus a prefetch stub that reads the
#                    ordered functions' pages only (an order file: no page
#                    trace; what --prefetch did before page traces);
#   prefetch         the original layout plus the prefetch stub from the
#                    profile: code and the traced file pages
#                    (--profile P --prefetch --keep-layout);
#   order+prefetch   both, from the profile;
#   bolt             (large subject) llvm-bolt-19 -reorder-functions=user with
#                    the same order, the peer.
# Every variant is compared with orig by `elfopt measure` (RUNS runs each,
# default 7, orig and the variant alternating; medians, ratios): measured, on
# this machine's disk (read_ahead_kb printed). Then each variant's own page
# trace (elfopt record, one run) gives the modelled cold start under 128 KiB
# readahead and under this machine's (elfopt profile pages): modelled, and
# printed as such. A report (report.html) draws orig's and order+prefetch's
# page traces side by side with their measured figures.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
ELFOPT=$(realpath "${ELFOPT:-$here/../build/tools/elfopt/elfopt}")
BOLT=${BOLT:-llvm-bolt-19}
out=${1:-${ELFOPT_BENCH_DIR:-/tmp/elfopt-bench}/prefetch-cold}
runs=${RUNS:-7}
mkdir -p "$out"
echo "read_ahead_kb: $(for d in /sys/block/*; do printf '%s=%s ' "${d##*/}" "$(cat "$d/queue/read_ahead_kb")"; done)"

variants() { # DIR BINARY ARGS...: record, order, rewrite the variants, measure
  local dir=$1 bin=$2
  shift 2
  mkdir -p "$dir"
  cp "$bin" "$dir/orig"
  "$ELFOPT" record --runs 3 -o "$dir/profile.json" -- "$dir/orig" "$@" >/dev/null
  "$ELFOPT" order "$dir/profile.json" --binary "$dir/orig" -o "$dir/order.json"
  "$ELFOPT" order "$dir/profile.json" --binary "$dir/orig" --format lld -o "$dir/order.txt"
  "$ELFOPT" rewrite "$dir/orig" --profile "$dir/profile.json" -o "$dir/order" >/dev/null
  "$ELFOPT" rewrite "$dir/orig" --order "$dir/order.json" --prefetch --keep-layout -o "$dir/prefetch-code" |
    grep "prefetch:" | sed 's/^ */   prefetch-code: /'
  "$ELFOPT" rewrite "$dir/orig" --profile "$dir/profile.json" --prefetch --keep-layout -o "$dir/prefetch" |
    grep "prefetch:" | sed 's/^ */   prefetch: /'
  "$ELFOPT" rewrite "$dir/orig" --profile "$dir/profile.json" --prefetch -o "$dir/order+prefetch" |
    grep "prefetch:" | sed 's/^ */   order+prefetch: /'
  local expected
  expected=$("$dir/orig" "$@" 2>&1; echo "exit $?")
  for v in order prefetch-code prefetch order+prefetch bolt; do
    [[ -x $dir/$v ]] || continue
    [[ $("$dir/$v" "$@" 2>&1; echo "exit $?") == "$expected" ]] || { echo "   $v: OUTPUT DIFFERS" >&2; exit 1; }
  done
  for v in order prefetch-code prefetch order+prefetch bolt; do
    [[ -x $dir/$v ]] || continue
    echo "== $(basename "$dir"): orig (A) against $v (B)"
    "$ELFOPT" measure --runs "$runs" --compare "$dir/$v" -- "$dir/orig" "$@" | grep -v "^  note:\|^  not measured\|dropped before"
  done
  local machine
  machine=$(cat "/sys/dev/block/$(stat -c '%Hd:%Ld' "$dir/orig")/queue/read_ahead_kb" 2>/dev/null ||
            cat "/sys/dev/block/$(stat -c '%Hd:%Ld' "$dir/orig")/../queue/read_ahead_kb" 2>/dev/null || echo 128)
  echo "== $(basename "$dir"): modelled cold start from each variant's own page trace (not measured)"
  for v in orig order prefetch-code prefetch order+prefetch bolt; do
    [[ -x $dir/$v ]] || continue
    "$ELFOPT" record --runs 1 -o "$dir/$v.pages.json" -- "$dir/$v" "$@" >/dev/null 2>&1
    "$ELFOPT" profile pages "$dir/$v.pages.json" --readahead 128 --readahead "$machine" |
      sed -n "s/^run 1: /   $v: /p; s/^  by section:/      pages by section:/p; s/^  modelled cold start, /      /p; s/^    read by section:/        read by section:/p"
  done
  "$ELFOPT" measure --runs "$runs" --json --compare "$dir/order+prefetch" -- "$dir/orig" "$@" >"$dir/measure.json"
  "$ELFOPT" report "$dir/orig" "$dir/order+prefetch" "$dir/profile.json" --after-profile "$dir/order+prefetch.pages.json" \
    --measure-json "$dir/measure.json" -o "$dir/report.html" >/dev/null
  echo "   report: $dir/report.html"
}

echo "=== the bundled example (examples/startup-demo)"
cmake -S "$here/../examples/startup-demo" -B "$out/example-build" -G Ninja >/dev/null
cmake --build "$out/example-build" >/dev/null
variants "$out/example" "$out/example-build/startup-demo" 42

echo "=== the large subject"
"$here/make-large-subject.sh" "$out/large-build" >/dev/null 2>&1
mkdir -p "$out/large"
if command -v "$BOLT" >/dev/null; then
  # The peer, with the order elfopt records (below, the same profile).
  "$ELFOPT" record --runs 3 -o "$out/large/bolt-profile.json" -- "$out/large-build/llvm-large" >/dev/null
  "$ELFOPT" order "$out/large/bolt-profile.json" --format lld -o "$out/large/bolt-order.txt"
  "$BOLT" "$out/large-build/llvm-large" -o "$out/large/bolt" -reorder-functions=user \
    "-function-order=$out/large/bolt-order.txt" >"$out/large/bolt.log" 2>&1 ||
    { echo "   BOLT failed: $(tail -1 "$out/large/bolt.log")"; rm -f "$out/large/bolt"; }
fi
variants "$out/large" "$out/large-build/llvm-large"
