#!/usr/bin/env bash
# elfopt report: one self-contained HTML page. Its SVG maps are well-formed
# XML, it has no scripts or external references, its figures match
# evaluate's, and it renders in headless Chromium (skipped, saying so, where
# Chromium is not installed).
source "$(dirname "$0")/lib.sh"
require gcc python3
cd "$WORK"
gcc -O2 -Wl,-q "$SRC/test/inputs/rewrite/subject.c" -o program
"$ELFOPT" record --runs 3 -o profile.json -- ./program >/dev/null 2>&1
"$ELFOPT" rewrite program --profile profile.json -o optimized --json >rewrite.json
check "report writes the page" \
  "$ELFOPT" report program optimized profile.json --rewrite-json rewrite.json -o report.html
check "two well-formed SVG page maps, no scripts, nothing fetched" python3 - report.html <<'PY'
import re, sys, xml.dom.minidom
html = open(sys.argv[1]).read()
maps = re.findall(r"<svg.*?</svg>", html, re.S)
assert len(maps) == 2, len(maps)
for m in maps:
    xml.dom.minidom.parseString(m)
assert "<script" not in html and "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
assert "https://" not in html
PY
before=$("$ELFOPT" evaluate program profile.json --json | python3 -c 'import json,sys; print("%.2f" % json.load(sys.stdin)["layouts"]["original"]["pages"])')
check "the page shows evaluate's figure for the original ($before pages)" grep -q "<td class=n>$before</td>" report.html
check "the page lists why blocks were kept in place" grep -q "Kept in place" report.html
expect_error 1 "elfopt: error: give ORIGINAL, REWRITTEN, the profiles and -o REPORT.html (see 'elfopt help report')" \
  "$ELFOPT" report program optimized profile.json
browser=$(command -v chromium || command -v chromium-browser || true)
if [[ -z $browser ]]; then
  echo "report: Chromium is not installed; the rendering check is skipped (apt-get install chromium)"
else
  check "headless Chromium renders the page with both maps" bash -c \
    "timeout 60 '$browser' --headless --no-sandbox --disable-gpu --dump-dom 'file://$WORK/report.html' 2>/dev/null |
     grep -o '<svg' | wc -l | grep -qx 2"
fi
finish
