#!/usr/bin/env bash
# app-measure.sh: the measurements of an application directory against the
# installed application, shared by firefox-app.sh and clang-app.sh.
#   app-measure.sh INSTALLED APP PROGRAM LIBRARIES -- ARGS...
# INSTALLED/PROGRAM (A) against APP/PROGRAM (B): cold on each emulated device
# (`elfopt measure --device`, both trees copied onto it), then cold and warm
# on this machine's disk with the files matching the glob LIBRARIES (relative
# to each tree) dropped from the page cache. DEVICES (default "hdd emmc ssd"),
# RUNS_hdd (5), RUNS (9 on the other devices), DISK_RUNS (11; 0 leaves it out).
set -euo pipefail
ELFOPT=${ELFOPT:?}
installed=$1 app=$2 program=$3 libraries=$4
shift 4
[[ ${1:-} == -- ]] && shift
load() { cut -d' ' -f1-3 /proc/loadavg; }
for d in ${DEVICES:-hdd emmc ssd}; do
  default_runs=9
  [[ $d == hdd ]] && default_runs=5 # starts of seconds
  runs_var=RUNS_$d
  runs=${!runs_var:-${RUNS:-$default_runs}}
  echo "== $d, $runs runs, load $(load)"
  "$ELFOPT" measure --device "$d" --cold --runs "$runs" --device-copy "$installed" --device-copy "$app" \
    --compare "$app/$program" -- "$installed/$program" "$@"
done
[[ ${DISK_RUNS:-11} == 0 ]] && exit 0
echo "== this disk, ${DISK_RUNS:-11} runs, load $(load)"
evict=()
# shellcheck disable=SC2206 # the glob is meant to expand
for f in $installed/$libraries $app/$libraries; do evict+=(--evict "$f"); done
"$ELFOPT" measure --runs "${DISK_RUNS:-11}" "${evict[@]}" --compare "$app/$program" -- "$installed/$program" "$@"
echo "load: $(load)"
