#!/usr/bin/env bash
# firefox-app.sh: Firefox ESR's whole application (`elfopt app`) against the
# installed one: a headless screenshot, cold on emulated devices, cold on
# this machine's disk, and warm, A and B interleaved (`elfopt measure`).
#   bash bench/firefox-app.sh [OUT]
# OUT (default /tmp/elfopt-firefox-app) keeps the profile and the variant;
# a step whose output exists is skipped. APP_OPTIONS: more `elfopt app`
# options (the variant is named by them in the printout). DEVICES (default
# "hdd emmc ssd"), RUNS_hdd (5), RUNS (9 on the other devices), DISK_RUNS
# (11, this disk cold and warm; 0 leaves it out). Needs root for the devices (loop device,
# blkio cgroup); see docs/measuring.md.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
ELFOPT=${ELFOPT:-$here/../build/tools/elfopt/elfopt}
out=${1:-/tmp/elfopt-firefox-app}
ff=/usr/lib/firefox-esr
[[ -x $ff/firefox-esr ]] || { echo "firefox-app: firefox-esr is not installed" >&2; exit 1; }
mkdir -p "$out"
out=$(cd "$out" && pwd)
cd "$out"
export HOME=$out/home # Firefox's profile, made by a first run
mkdir -p "$HOME"
# A page with text, a table, a list and a styled box: layout, fonts, CSS.
cat >page.html <<'HTML'
<!doctype html><html><head><meta charset="utf-8"><title>elfopt</title>
<style>body{font-family:sans-serif;margin:2em}.box{border:2px solid #36c;padding:1em;border-radius:8px}
table{border-collapse:collapse}td,th{border:1px solid #999;padding:4px 8px}</style></head>
<body><h1>elfopt</h1><div class="box"><p>A page with <b>text</b>, <i>styles</i> and a list:</p>
<ul><li>one</li><li>two</li><li>three</li></ul></div>
<table><tr><th>file</th><th>pages</th></tr><tr><td>libxul.so</td><td>446</td></tr></table></body></html>
HTML
args=(--headless --no-remote --screenshot "$out/shot.png" "file://$out/page.html")
[[ -d $HOME/.mozilla ]] || timeout 300 "$ff/firefox-esr" "${args[@]}" >/dev/null 2>&1 || true

if [[ ! -s ff.profile.json ]]; then
  "$ELFOPT" record --all-objects --follow-forks --runs 3 -o ff.profile.json -- "$ff/firefox-esr" "${args[@]}" >/dev/null
fi
if [[ ! -d app ]]; then
  # shellcheck disable=SC2086 # the options are words
  "$ELFOPT" app "$ff/firefox-esr" --profile ff.profile.json ${APP_OPTIONS:-} -o app.tmp >app.txt
  mv app.tmp app
fi

shot() { # PROGRAM PNG
  timeout 300 "$1" --headless --no-remote --screenshot "$out/$2" "file://$out/page.html" >/dev/null 2>&1
}
shot "$ff/firefox-esr" orig.png
shot "$out/app/firefox-esr" app.png
cmp -s orig.png app.png || { echo "firefox-app: the screenshots differ" >&2; exit 1; }
echo "screenshots identical ($(stat -c %s orig.png) bytes); app: elfopt app ${APP_OPTIONS:-}"

ELFOPT=$ELFOPT bash "$here/app-measure.sh" "$ff" "$out/app" firefox-esr '*.so' -- "${args[@]}"
