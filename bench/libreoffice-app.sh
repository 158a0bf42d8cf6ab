#!/usr/bin/env bash
# libreoffice-app.sh: LibreOffice's whole application (`elfopt app`) against
# the installed one, cold on emulated devices and warm, side by side.
#   bash bench/libreoffice-app.sh [OUT]
# OUT (default /tmp/elfopt-lo-app) keeps the profile, the variants and the
# loop-device image between runs; a step whose output exists is skipped.
# VARIANTS: the `elfopt app` options of each variant, NAME=OPTIONS separated
# by ';' (default: app with the defaults, and with --bind-self --dynsort).
# DEVICES (default "hdd emmc ssd none"), RUNS (interleaved rounds per
# device, default 7), WARM_RUNS (default 15).
#
# LibreOffice does not run from another directory (program/fundamentalrc
# names /usr/lib/libreoffice), so each run bind-mounts a variant's copy over
# /usr/lib/libreoffice in a private mount namespace (`unshare -m`); the
# installed files are never changed. The copies lie on a throttled loop
# device (bench/slow-disk.sh: direct I/O, 128 KiB readahead); the system
# libraries stay on this machine's disk for every variant. Needs root and
# cgroup v1 blkio. Each variant's PDF must equal the original's but for its
# dates, ID and checksum.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
ELFOPT=${ELFOPT:-$here/../build/tools/elfopt/elfopt}
out=${1:-/tmp/elfopt-lo-app}
lo=/usr/lib/libreoffice
[[ -x $lo/program/soffice.bin ]] || { echo "libreoffice-app: LibreOffice is not installed" >&2; exit 1; }
mkdir -p "$out"
out=$(cd "$out" && pwd)
cd "$out"
export HOME=$out/home # LibreOffice's user profile, made by a first run
mkdir -p "$HOME"
printf 'elfopt\n\nA document with a list:\n- one\n- two\n' >doc.txt
convert() { echo "$lo/program/soffice.bin --headless --convert-to pdf --outdir $1 $out/doc.txt"; }
bash "$here/lo-user-profile.sh"
[[ -f warmup/doc.pdf ]] || $(convert warmup) >/dev/null 2>&1

if [[ ! -s lo.profile.json ]]; then
  "$ELFOPT" record --all-objects --runs 3 -o lo.profile.json -- $(convert rec) >/dev/null
fi
IFS=';' read -r -a variants <<<"${VARIANTS:-app=;bind=--bind-self --dynsort}"
names=()
for v in "${variants[@]}"; do
  name=${v%%=*} opts=${v#*=}
  names+=("$name")
  if [[ ! -d out.$name ]]; then
    # shellcheck disable=SC2086 # the options are words
    "$ELFOPT" app "$lo/program/soffice.bin" --root "$lo" --profile lo.profile.json $opts -o "out.$name.tmp" >"app.$name.txt"
    mv "out.$name.tmp" "out.$name"
  fi
done

sd=$out/sd
if [[ ! -f $sd/loopdev ]] || ! mountpoint -q "$sd/mnt"; then
  bash "$here/slow-disk.sh" setup "$sd" 6G
fi
[[ -d $sd/mnt/orig ]] || cp -a "$lo" "$sd/mnt/orig"
for n in "${names[@]}"; do
  [[ -d $sd/mnt/$n ]] || cp -a "out.$n" "$sd/mnt/$n"
done

run_in() { # the command that runs variant $1, writing its PDF to $2
  echo "unshare -m sh -c 'mount --bind $sd/mnt/$1 $lo && exec $(convert "$2")'"
}
nodates() { python3 "$here/pdf-nodates.py" "$1"; } # the PDF without its dates and IDs
for n in orig "${names[@]}"; do
  rm -rf "pdf.$n"
  sh -c "$(run_in "$n" "pdf.$n")" >/dev/null 2>&1
  nodates "pdf.$n/doc.pdf" >"pdf.$n.stripped"
  if [[ $n != orig ]]; then
    cmp -s pdf.orig.stripped "pdf.$n.stripped" || { echo "libreoffice-app: $n's PDF differs" >&2; exit 1; }
  fi
done
echo "PDFs identical but for dates, IDs and checksum: ${names[*]}"

args=()
for n in orig "${names[@]}"; do
  args+=("$n=$(run_in "$n" "pdf.$n")")
done
for d in ${DEVICES:-hdd emmc ssd none}; do
  case $d in
  # measure --device's profiles (lib/Measure/Device.cpp), not slow-disk.sh's own.
  hdd) IOPS=150 BPS=100000000 ;;
  emmc) IOPS=2000 BPS=90000000 ;;
  ssd) IOPS=20000 BPS=500000000 ;;
  none) IOPS=0 BPS=0 ;;
  esac
  echo "== $d"
  IOPS=$IOPS BPS=$BPS bash "$here/slow-disk.sh" device "$sd" custom
  bash "$here/slow-disk.sh" run "$sd" "${RUNS:-7}" "${args[@]}"
done

# Warm: every file cached (a first run reads it), no throttle.
echo "== warm (no throttle, files cached)"
IOPS=0 BPS=0 bash "$here/slow-disk.sh" device "$sd" custom
python3 - "${WARM_RUNS:-15}" "${args[@]}" <<'PY'
import statistics, subprocess, sys, time
runs = int(sys.argv[1])
variants = [a.split("=", 1) for a in sys.argv[2:]]
for _, cmd in variants:
    subprocess.run(cmd, shell=True, capture_output=True)
walls = {n: [] for n, _ in variants}
for _ in range(runs):
    for n, cmd in variants:
        t = time.monotonic()
        subprocess.run(cmd, shell=True, capture_output=True)
        walls[n].append(time.monotonic() - t)
base = statistics.median(walls[variants[0][0]])
for n, _ in variants:
    m = statistics.median(walls[n])
    print(f"  {n:<16} {m:9.3f} s {m / base:9.3f}")
PY
echo "load: $(uptime)"
