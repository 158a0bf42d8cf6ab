#!/usr/bin/env bash
# The main job, end to end, on the bundled example (examples/startup-demo: 3
# subsystems start on their own threads through 180 functions spread among
# 2,000 that startup never touches, about 1.1 MB of code): install what is
# missing, build elfopt and the example (linked with --emit-relocs), then run
# elfopt on it and show the figures.
#
# The pipeline: inspect (is the binary ready to be optimized?), record
# (first-touch order of its startup, several runs), order (one order from all
# runs), evaluate (pages touched, current layout vs the order), rewrite (the
# order applied to the linked binary, verified), then the rewritten program is
# run, compared with the original, recorded again and scored: the pages its
# startup really touches, before and after; measure times cold and warm
# starts of both, and an HTML report is written.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

step() { printf '\n== %s\n' "$*"; }

step "Installing missing Debian packages"
bash scripts/install-deps.sh

step "Building elfopt"
bash scripts/build.sh >/dev/null
elfopt=$root/build/tools/elfopt/elfopt
"$elfopt" --version

step "Building the example with -Wl,--emit-relocs"
demo=$root/build/demo
cmake -S examples/startup-demo -B "$demo/build" -G Ninja >/dev/null
cmake --build "$demo/build" >/dev/null
program=$demo/build/startup-demo
echo "$program"

step "elfopt inspect $program"
"$elfopt" inspect "$program" | grep -vE '^ +[0-9]+ \.|^ +nr |^Sections:' | sed -n '1,40p'

step "elfopt record: five runs of the example's startup"
"$elfopt" record --runs 5 -o "$demo/startup-demo.profile.json" -- "$program" 42 >/dev/null
"$elfopt" profile show "$demo/startup-demo.profile.json"
# (Through a file: with pipefail, head closing the pipe early would fail the demo.)
"$elfopt" profile export "$demo/startup-demo.profile.json" -o "$demo/run1.txt"
echo "first touches of run 1 (of $(grep -c . "$demo/run1.txt") functions):"
sed -n '1,12s/^/  /p' "$demo/run1.txt"

step "elfopt order: one Markov-smoothed order from all runs"
"$elfopt" order "$demo/startup-demo.profile.json" -o "$demo/startup-demo.order.json"
"$elfopt" order "$demo/startup-demo.profile.json" --format lld -o "$demo/startup-demo.order.txt"
echo "$demo/startup-demo.order.json ($(grep -c . "$demo/startup-demo.order.txt") functions; lld format: $demo/startup-demo.order.txt)"

step "elfopt evaluate: text pages startup touches, current layout vs the order"
"$elfopt" evaluate "$program" "$demo/startup-demo.profile.json"

step "elfopt rewrite: the order applied to the linked binary (verified), with dynsort (GNU hash shape kept) and precomputed hashes"
"$elfopt" rewrite "$program" --order "$demo/startup-demo.order.json" --dynsort --hashvals \
  -o "$demo/startup-demo.optimized"
"$elfopt" rewrite "$program" --order "$demo/startup-demo.order.json" --check --json >"$demo/rewrite.json"

step "The rewritten program: same output?"
before=$("$program" 42)
after=$("$demo/startup-demo.optimized" 42)
if [[ $before == "$after" ]]; then
  echo "same output before and after:"
  echo "$after" | sed 's/^/  /'
else
  echo "OUTPUT DIFFERS"; diff <(echo "$before") <(echo "$after"); exit 1
fi

step "What improved: text pages touched at startup, each binary recorded on its own"
"$elfopt" record --runs 5 -o "$demo/optimized.profile.json" -- "$demo/startup-demo.optimized" 42 >/dev/null
b=$("$elfopt" evaluate "$program" "$demo/startup-demo.profile.json" --json)
a=$("$elfopt" evaluate "$demo/startup-demo.optimized" "$demo/optimized.profile.json" --json)
python3 - "$b" "$a" <<'PY'
import json, sys
b, a = (json.loads(x) for x in sys.argv[1:])
o, m = b["layouts"]["original"], a["layouts"]["original"]
print(f"  (elfopt evaluate BINARY PROFILE --json: means over 5 runs)")
print(f"  {'':24}{'original':>10}{'rewritten':>11}")
for key, label in [("pages", "4 KiB text pages"), ("windows64k", "64 KiB windows"),
                   ("backwardSteps", "backward steps")]:
    print(f"  {label:24}{o[key]:>10}{m[key]:>11}")
print(f"  lower bound (touched bytes, in pages): {b['lowerBoundPages']}")
PY

step "elfopt profile pages: every file page a start touches (page traces), and the cold start it would cost under the kernel's default 128 KiB readahead (modelled, not measured)"
"$elfopt" profile pages "$demo/startup-demo.profile.json" --readahead 128 --json >"$demo/pages-before.json"
"$elfopt" profile pages "$demo/optimized.profile.json" --readahead 128 --json >"$demo/pages-after.json"
python3 - "$demo/pages-before.json" "$demo/pages-after.json" <<'PY'
import json, statistics, sys
def medians(path):
    runs = json.load(open(path))["runs"]
    return (statistics.median(r["pages"] for r in runs),
            statistics.median(r["model"][0]["majorFaults"] for r in runs),
            statistics.median(r["model"][0]["bytesRead"] for r in runs) / 2**20)
b, a = medians(sys.argv[1]), medians(sys.argv[2])
print(f"  (elfopt profile pages PROFILE --readahead 128 --json: medians over the runs)")
print(f"  {'':34}{'original':>10}{'rewritten':>11}")
for k, label in enumerate(["file pages first touched", "major faults (128 KiB readahead)", "MiB read (128 KiB readahead)"]):
    print(f"  {label:34}{b[k]:>10.1f}{a[k]:>11.1f}")
PY

step "elfopt measure: cold and warm start, original (A) against rewritten (B), interleaved"
"$elfopt" measure --runs 7 --compare "$demo/startup-demo.optimized" -- "$program" 42

step "elfopt measure --device hdd: the same cold starts from an emulated hard disk (150 reads/s, 100 MB/s, 128 KiB readahead; a copy on a throttled loop device, this machine's disk untouched)"
# Needs root and a blkio/io cgroup controller; without them one line says why.
"$elfopt" measure --device hdd --cold --runs 5 --compare "$demo/startup-demo.optimized" -- "$program" 42 ||
  echo "(not measured on an emulated device: see the line above)"

step "elfopt report: one HTML page with all of it"
"$elfopt" report "$program" "$demo/startup-demo.optimized" "$demo/startup-demo.profile.json" \
  --rewrite-json "$demo/rewrite.json" --after-profile "$demo/optimized.profile.json" -o "$demo/report.html"

step "elfopt edit: a 64 KiB section in a new segment, run both, compare"
head -c 65536 /dev/zero >"$demo/payload"
"$elfopt" edit "$program" -o "$demo/startup-demo.grown" --add-section .elfopt.demo="$demo/payload" \
  --add-dynamic 0x6ffffdf9=@.elfopt.demo --json
before=$("$program" 42)
after=$("$demo/startup-demo.grown" 42)
if [[ $before == "$after" ]]; then
  echo "same output before and after:"
  echo "$after" | sed 's/^/  /'
else
  echo "OUTPUT DIFFERS"; diff <(echo "$before") <(echo "$after"); exit 1
fi
echo "sizes: $(stat -c %s "$program") -> $(stat -c %s "$demo/startup-demo.grown") bytes"
