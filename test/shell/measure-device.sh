#!/usr/bin/env bash
# elfopt measure --device: cold starts on an emulated slow device (a loop
# device over an ext4 image, throttled in a blkio/io cgroup). Checked: the
# runs really read the loop device (its read requests are counted, and
# files other processes map, such as libc, are dropped from the page cache
# because the runs read copies); a throttle really slows a cold read and
# the profile's fast variant does not; the machine's disk settings are left
# alone and everything is removed at the end, also after SIGINT; a user
# without the privilege gets one line and no figures. Needs root and a
# cgroup blkio (v1) or io (v2) controller, or it is skipped.
source "$(dirname "$0")/lib.sh"
require gcc python3 losetup mkfs.ext4
cd "$WORK"
json() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }

[[ $(id -u) == 0 ]] || skip "--device needs root"
[[ -e /sys/fs/cgroup/blkio/blkio.throttle.read_iops_device ]] ||
  grep -qw io /sys/fs/cgroup/cgroup.controllers 2>/dev/null || skip "no cgroup blkio or io controller"
[[ $(stat -f -c %T "$WORK") != tmpfs ]] || skip "$WORK is on tmpfs (the loop device needs direct I/O)"

# The image goes under $WORK, so what is left of it can be found.
export TMPDIR=$WORK
readahead_before=$(grep -H . /sys/block/*/queue/read_ahead_kb | grep -v /loop)
# leftovers: loop devices, mounts and images of ours; cgroups named after
# elfopt processes that are gone.
leftovers() {
  losetup -a | grep -F "$WORK/"
  grep -F "$WORK/" /proc/self/mountinfo
  ls -d "$WORK"/elfopt-device.* 2>/dev/null
  for g in /sys/fs/cgroup/blkio/elfopt-measure-* /sys/fs/cgroup/elfopt-measure-*; do
    [[ -d $g && ! -d /proc/${g##*-} ]] && echo "$g"
  done
  true
}
check_clean() { # WHAT
  local left
  left=$(leftovers)
  if [[ -z $left ]]; then pass; else fail "$1: left behind: $left"; fi
}

# --- a small program on the hdd profile ----------------------------------------
cat >hello.c <<'EOF'
#include <stdio.h>
int main(void) { puts("hello"); return 0; }
EOF
gcc -O2 -o hello hello.c
"$ELFOPT" measure --device hdd --runs 1 --json -- ./hello >hdd.json
check "the device is described with the hdd profile's figures" \
  test "$(json hdd.json '(d["device"]["profile"], d["device"]["readIops"], d["device"]["readBps"], d["device"]["readAheadKb"])')" \
  = "('hdd', 150, 100000000, 128)"
check "the program ran from its copies (exit 0)" \
  test "$(json hdd.json '[r["exitStatus"] for k in ("cold", "warm") for r in d["variants"][0][k]["runs"]]')" = "[0, 0]"
check "a cold run issued read requests to the loop device" \
  test "$(json hdd.json 'd["variants"][0]["cold"]["runs"][0]["readRequests"] > 0 and d["variants"][0]["cold"]["readRequests"] > 0')" = True
check "the program, libc and ld.so were copied" \
  test "$(json hdd.json 'd["device"]["filesCopied"] == 3 and d["device"]["bytesCopied"] > 0')" = True
# libc is mapped by every process on the machine, so the original cannot be
# dropped; its copy is mapped by nobody but the runs.
check "every copied page was dropped before the cold run" \
  test "$(json hdd.json 'd["variants"][0]["pagesStillCached"]')" = 0
check_clean "after a run"

"$ELFOPT" measure --device hdd --runs 1 -- ./hello >hdd.txt
check "the text report names the profile" \
  grep -q "^  device: hdd: 150 read IOPS, 100 MB/s, 128 KiB readahead, emulated on /dev/loop[0-9]* ([0-9]*:[0-9]*): 3 files" hdd.txt
check "the text report has a read request row" grep -qE "^  cold: read requests +[1-9][0-9]*$" hdd.txt
check "help measure quotes the same figures" \
  grep -q "hdd   150 read IOPS, 100 MB/s, 128 KiB readahead" <("$ELFOPT" help measure)

# --- a throttle slows a cold read ------------------------------------------------
# 16 MiB at 4 MB/s takes 4.2 s; on the ssd profile (500 MB/s) well under 1 s.
head -c $((16 << 20)) /dev/urandom >data.bin
sync data.bin
"$ELFOPT" measure --device hdd --read-iops 50 --read-bps 4000000 --runs 1 --json \
  --evict "$WORK/data.bin" -- cat "$WORK/data.bin" >slow.json
check "the adjusted profile is reported as such" \
  test "$(json slow.json '(d["device"]["profile"], d["device"]["readIops"], d["device"]["readBps"])')" \
  = "('hdd (adjusted)', 50, 4000000)"
check "cold: 16 MiB at 4 MB/s takes over 3 s" \
  test "$(json slow.json 'd["variants"][0]["cold"]["runs"][0]["wallSeconds"] > 3')" = True
check "cold: all 16 MiB were read" \
  test "$(json slow.json 'd["variants"][0]["cold"]["runs"][0]["readBytes"] >= 16 << 20')" = True
# 128 KiB readahead: requests of a few hundred KiB, not the 1.25 MiB that
# this machine's 8 MiB readahead would give.
check "cold: the loop device's small readahead gives at least 32 requests" \
  test "$(json slow.json 'd["variants"][0]["cold"]["runs"][0]["readRequests"] >= 32')" = True
check "warm: cached, not throttled" \
  test "$(json slow.json 'd["variants"][0]["warm"]["runs"][0]["wallSeconds"] < 1')" = True
"$ELFOPT" measure --device ssd --runs 1 --cold --json --evict "$WORK/data.bin" -- cat "$WORK/data.bin" >fast.json
check "cold on the ssd profile: under 1 s" \
  test "$(json fast.json 'd["variants"][0]["cold"]["runs"][0]["wallSeconds"] < 1')" = True
check "cold on the ssd profile: read from the device too" \
  test "$(json fast.json 'd["variants"][0]["cold"]["runs"][0]["readBytes"] >= 16 << 20 and d["variants"][0]["cold"]["runs"][0]["readRequests"] > 0')" = True

# --- A and B on one device, and --device-copy ---------------------------------------
mkdir -p app/plugins
cp hello app/hello-b
head -c $((1 << 20)) /dev/urandom >app/plugins/data
"$ELFOPT" measure --device emmc --runs 1 --cold --json --device-copy "$WORK/app" \
  --compare "$WORK/app/hello-b" -- ./hello >ab.json
check "A and B both ran from the device" \
  test "$(json ab.json '[v["cold"]["runs"][0]["exitStatus"] for v in d["variants"]] == [0, 0] and all(v["cold"]["runs"][0]["readRequests"] > 0 for v in d["variants"])')" = True
check "the tree's files are dropped before cold runs" \
  test "$(json ab.json '"'"$WORK"'/app/plugins/data" in d["variants"][0]["evicted"] and "'"$WORK"'/app/hello-b" in d["variants"][1]["evicted"]')" = True
check "hello, hello-b, the tree's data, libc and ld.so were copied" \
  test "$(json ab.json '(d["device"]["filesCopied"], d["device"]["copiedTrees"])')" = "(5, ['$WORK/app'])"
check_clean "after A/B"

# --- SIGINT in the middle of a throttled run ------------------------------------------
"$ELFOPT" measure --device hdd --read-bps 1000000 --runs 1 --evict "$WORK/data.bin" \
  -- cat "$WORK/data.bin" >int.out 2>int.err &
pid=$!
for _ in $(seq 100); do
  [[ -d /sys/fs/cgroup/blkio/elfopt-measure-$pid || -d /sys/fs/cgroup/elfopt-measure-$pid ]] && break
  sleep 0.1
done
sleep 0.5
kill -INT $pid
wait $pid
status=$?
check "SIGINT: exit 3" test "$status" = 3
check "SIGINT: says it stopped" grep -qx "elfopt: error: interrupted; the emulated device was removed" int.err
check "SIGINT: no figures" test ! -s int.out
check_clean "after SIGINT"

check "the machine's read_ahead_kb settings are as before" \
  test "$(grep -H . /sys/block/*/queue/read_ahead_kb | grep -v /loop)" = "$readahead_before"

# --- usage, and a user without the privilege ------------------------------------------
expect_error 1 "elfopt: error: unknown --device 'floppy' (hdd, emmc or ssd) (see 'elfopt help measure')" \
  "$ELFOPT" measure --device floppy -- ./hello
expect_error 1 "elfopt: error: --read-iops needs --device (hdd, emmc or ssd) (see 'elfopt help measure')" \
  "$ELFOPT" measure --read-iops 5 -- ./hello
expect_error 1 "elfopt: error: --read-bps must be at least 1 (see 'elfopt help measure')" \
  "$ELFOPT" measure --device hdd --read-bps 0 -- ./hello
expect_error 2 "elfopt: error: $WORK/hello: --device-copy needs a directory: not a directory" \
  "$ELFOPT" measure --device hdd --device-copy "$WORK/hello" -- ./hello
check_clean "after a bad --device-copy"
if have setpriv; then
  mkdir -m 755 pub
  chmod 755 "$WORK"
  install -m 755 "$ELFOPT" pub/elfopt
  expect_error 3 "elfopt: error: --device needs root (it mounts an image on a loop device and throttles it in a cgroup); run as root or leave out --device" \
    setpriv --reuid=65534 --regid=65534 --clear-groups pub/elfopt measure --device hdd -- /bin/true
  check "not root: nothing measured" \
    test -z "$(setpriv --reuid=65534 --regid=65534 --clear-groups pub/elfopt measure --device hdd -- /bin/true 2>/dev/null)"
fi
finish
