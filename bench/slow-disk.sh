#!/usr/bin/env bash
# slow-disk.sh: cold starts on an emulated slow disk (FIELD-NOTES §8), until
# `elfopt measure --device` does it.
#   slow-disk.sh setup DIR [SIZE]   an ext4 image in DIR on a loop device with
#                                   --direct-io=on (no second page cache) and its
#                                   own read_ahead_kb (RA_KB, 128), mounted at
#                                   DIR/mnt; a blkio cgroup (CGROUP) throttling
#                                   reads of that device only
#   slow-disk.sh device DIR hdd|emmc|ssd|none
#                                   the throttle: hdd 150 IOPS, 100 MB/s; emmc
#                                   2,500 IOPS, 150 MB/s; ssd 50,000 IOPS,
#                                   500 MB/s; or IOPS=N BPS=N
#   slow-disk.sh run DIR RUNS NAME=CMD...
#                                   RUNS rounds; in each, every variant in turn
#                                   (interleaved): its files under DIR/mnt
#                                   evicted from the page cache, then CMD run in
#                                   the cgroup (sh -c); prints each variant's
#                                   median wall seconds and read requests
#                                   (blkio io_serviced), the ratio to the first,
#                                   and the load average
#   slow-disk.sh teardown DIR       unmount, detach, remove the cgroup
# vda's own settings are never touched; the throttle names the loop device.
set -euo pipefail
cg=/sys/fs/cgroup/blkio/${CGROUP:-elfopt-slow-disk}
cmd=$1 dir=$2
shift 2
loopdev() { cat "$dir/loopdev"; }
majmin() { cat "/sys/block/$(basename "$(loopdev)")/dev"; }

case $cmd in
setup)
  mkdir -p "$dir/mnt"
  truncate -s "${1:-4G}" "$dir/img"
  mkfs.ext4 -q -F "$dir/img"
  losetup --direct-io=on --show -f "$dir/img" >"$dir/loopdev"
  mount "$(loopdev)" "$dir/mnt"
  echo "${RA_KB:-128}" >"/sys/block/$(basename "$(loopdev)")/queue/read_ahead_kb"
  mkdir -p "$cg"
  echo "$(loopdev) ($(majmin)) at $dir/mnt, read_ahead_kb $(cat "/sys/block/$(basename "$(loopdev)")/queue/read_ahead_kb"), max_sectors_kb $(cat "/sys/block/$(basename "$(loopdev)")/queue/max_sectors_kb"), cgroup $cg"
  ;;
device)
  case $1 in
  hdd) iops=150 bps=100000000 ;;
  emmc) iops=2500 bps=150000000 ;;
  ssd) iops=50000 bps=500000000 ;;
  none) iops=0 bps=0 ;;
  *) iops=$IOPS bps=$BPS ;;
  esac
  # 0 removes a limit.
  echo "$(majmin) $iops" >"$cg/blkio.throttle.read_iops_device"
  echo "$(majmin) $bps" >"$cg/blkio.throttle.read_bps_device"
  echo "throttle on $(majmin): $(cat "$cg/blkio.throttle.read_iops_device") IOPS, $(cat "$cg/blkio.throttle.read_bps_device") B/s"
  ;;
run)
  runs=$1
  shift
  names=() cmds=()
  for v in "$@"; do
    names+=("${v%%=*}") cmds+=("${v#*=}")
  done
  serviced() { awk -v d="$(majmin)" '$1 == d && $2 == "Read" {print $3}' "$cg/blkio.throttle.io_serviced"; }
  res=$(mktemp)
  echo "load before: $(uptime)"
  for ((r = 1; r <= runs; r++)); do
    for i in "${!names[@]}"; do
      # Cold: every file on the loop device out of the page cache (no
      # process maps them now, so none stays).
      # (One process for all of them: a dd per file took seconds a round.)
      python3 -c 'import os, sys
for root, _, files in os.walk(sys.argv[1]):
    for f in files:
        p = os.path.join(root, f)
        if os.path.isfile(p) and not os.path.islink(p):
            fd = os.open(p, os.O_RDONLY)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            os.close(fd)' "$dir/mnt"
      before=$(serviced)
      start=$(date +%s%N)
      sh -c 'echo $$ >"$1/cgroup.procs" && exec sh -c "$2"' sh "$cg" "${cmds[$i]}" >/dev/null 2>&1 ||
        echo "  ${names[$i]}: exit $?" >&2
      end=$(date +%s%N)
      echo "${names[$i]} $(((end - start) / 1000000)) $(($(serviced) - before))" >>"$res"
    done
  done
  echo "load after: $(uptime)"
  python3 - "$res" "${names[@]}" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
names = sys.argv[2:]
med = {n: statistics.median(int(r[1]) for r in rows if r[0] == n) / 1000 for n in names}
req = {n: statistics.median(int(r[2]) for r in rows if r[0] == n) for n in names}
print(f"  {'variant':<16} {'median s':>9} {'reads':>7} {'/' + names[0]:>9}   runs (s)")
for n in names:
    runs = " ".join(f"{int(r[1]) / 1000:.2f}" for r in rows if r[0] == n)
    print(f"  {n:<16} {med[n]:9.3f} {req[n]:7.0f} {med[n] / med[names[0]]:9.3f}   {runs}")
PY
  rm -f "$res"
  ;;
teardown)
  umount "$dir/mnt" || true
  losetup -d "$(loopdev)" || true
  rmdir "$cg" 2>/dev/null || true
  ;;
*)
  echo "usage: $0 setup|device|run|teardown DIR ..." >&2
  exit 1
  ;;
esac
