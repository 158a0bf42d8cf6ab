#!/usr/bin/env bash
# The main job, end to end, on the bundled example (examples/startup-demo):
# install what is missing, build elfopt and the example (linked with
# --emit-relocs), then run elfopt on it and show the figures.
#
# Today the pipeline is: inspect (is the binary ready to be optimized?),
# record (first-touch order of its startup, several runs), order (one order
# from all runs), evaluate (pages touched, current layout vs the order) and
# the ELF editor (grow the binary, check it still runs identically). rewrite
# joins this script when it lands.
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
echo "first touches of run 1 (of $(grep -c . <("$elfopt" profile export "$demo/startup-demo.profile.json")) functions):"
"$elfopt" profile export "$demo/startup-demo.profile.json" | head -12 | sed 's/^/  /'

step "elfopt order: one Markov-smoothed order from all runs"
"$elfopt" order "$demo/startup-demo.profile.json" -o "$demo/startup-demo.order.json"
"$elfopt" order "$demo/startup-demo.profile.json" --format lld -o "$demo/startup-demo.order.txt"
echo "$demo/startup-demo.order.json ($(grep -c . "$demo/startup-demo.order.txt") functions; lld format: $demo/startup-demo.order.txt)"

step "elfopt evaluate: text pages startup touches, current layout vs the order"
"$elfopt" evaluate "$program" "$demo/startup-demo.profile.json"

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
echo
echo "Next: elfopt rewrite applies the order to the linked binary; this script will then run"
echo "the rewritten program and measure its startup page faults."
