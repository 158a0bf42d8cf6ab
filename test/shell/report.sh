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
check "rewrite --json times each pass that ran, in order" python3 - rewrite.json <<'PY'
import json, sys
passes = json.load(open(sys.argv[1]))["passes"]
assert [p["name"] for p in passes] == ["order", "rewrite .text", "verify .text"], passes
assert all(p["seconds"] >= 0 for p in passes), passes
PY
check "report writes the page" \
  "$ELFOPT" report program optimized profile.json --rewrite-json rewrite.json -o report.html
check "well-formed SVG page maps and page-trace plot, no scripts, nothing fetched" python3 - report.html <<'PY'
import re, sys, xml.dom.minidom
html = open(sys.argv[1]).read()
maps = re.findall(r"<svg.*?</svg>", html, re.S)
assert len(maps) == 3, len(maps)  # two .text maps, the original's page trace
for m in maps:
    xml.dom.minidom.parseString(m)
assert "<script" not in html and "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
assert "https://" not in html
PY
before=$("$ELFOPT" evaluate program profile.json --json | python3 -c 'import json,sys; print("%.2f" % json.load(sys.stdin)["layouts"]["original"]["pages"])')
check "the page shows evaluate's figure for the original ($before pages)" grep -q "<td class=n>$before</td>" report.html
check "the page lists why blocks were kept in place" grep -q "Kept in place" report.html
# The page traces side by side, with measure's figures.
"$ELFOPT" record -o after.json -- ./optimized >/dev/null 2>&1
"$ELFOPT" measure --runs 1 --json --compare ./optimized -- ./program >measure.json
check "report with --after-profile and --measure-json" \
  "$ELFOPT" report program optimized profile.json --after-profile after.json --measure-json measure.json -o traces.html
check "one mark per traced page on each side, inside the plot, coloured by section" python3 - traces.html profile.json after.json <<'PY'
import json, re, sys, xml.dom.minidom
html = open(sys.argv[1]).read()
svgs = re.findall(r"<svg.*?</svg>", html, re.S)
assert len(svgs) == 4, len(svgs)
plots = [s for s in svgs if 'aria-label="page touches' in s]
assert len(plots) == 2, len(plots)
for plot, profile in zip(plots, sys.argv[2:]):
    doc = xml.dom.minidom.parseString(plot)
    marks = [r for r in doc.getElementsByTagName("rect") if r.getAttribute("class") == "touch"]
    pages = next(r for r in json.load(open(profile))["runs"] if "pageTrace" in r)["objects"][0]["pages"]
    assert len(marks) == len(pages), (len(marks), len(pages))
    for m, p in zip(marks, pages):
        x, y = float(m.getAttribute("x")), float(m.getAttribute("y"))
        assert 54 <= x <= 454 and 6 <= y <= 292, (x, y)  # the plot's frame, give or take a mark
        assert m.getElementsByTagName("title")[0].firstChild.data.startswith(p["section"] + " at 0x%x" % p["offset"])
        assert m.getAttribute("fill").startswith("#")
PY
cold=$(python3 -c 'import json,sys; print("%.2f" % json.load(open("measure.json"))["variants"][0]["cold"]["wallMs"])')
check "the page shows measure's cold wall time ($cold ms)" grep -q "<td class=n>$cold</td>" traces.html
expect_error 2 "elfopt: error: profile.json: its page trace is of another file than optimized (the contents differ)" \
  "$ELFOPT" report program optimized profile.json --after-profile profile.json -o bad.html
check "nothing written when refused" test ! -e bad.html
expect_error 1 "elfopt: error: give ORIGINAL, REWRITTEN, the profiles and -o REPORT.html (see 'elfopt help report')" \
  "$ELFOPT" report program optimized profile.json
browser=$(command -v chromium || command -v chromium-browser || true)
if [[ -z $browser ]]; then
  echo "report: Chromium is not installed; the rendering check is skipped (apt-get install chromium)"
else
  check "headless Chromium renders the page with the maps and both page traces" bash -c \
    "timeout 60 '$browser' --headless --no-sandbox --disable-gpu --dump-dom 'file://$WORK/traces.html' 2>/dev/null |
     grep -o '<svg' | wc -l | grep -qx 4"
fi
finish
