#!/usr/bin/env bash
# lo-user-profile.sh: makes LibreOffice's user profile under $HOME as a
# user's would be, for the benches that start LibreOffice headless.
#   bash bench/lo-user-profile.sh
# A first start makes the profile and exits 81 (restart requested).
# LibreOffice then runs its graphics self-test (GraphicsRenderTests: 3 s of
# CPU on a 2-core machine here) at every start until the profile records the
# version as seen (ooSetupLastVersion), which a headless start never writes;
# a user's profile has it after the first start with a window. Recorded
# here, so that the starts measured and recorded are a user's.
set -euo pipefail
lo=/usr/lib/libreoffice
xcu=$HOME/.config/libreoffice/4/user/registrymodifications.xcu
if [[ ! -f $xcu ]]; then
  tmp=$(mktemp -d)
  printf 'x\n' >"$tmp/x.txt"
  "$lo/program/soffice.bin" --headless --convert-to pdf --outdir "$tmp" "$tmp/x.txt" >/dev/null 2>&1 || true
  rm -rf "$tmp"
fi
grep -q ooSetupLastVersion "$xcu" && exit 0
version=$(python3 -c 'import re, sys
s = open(sys.argv[1], encoding="utf-8", errors="replace").read()
print(re.search(r"oor:name=\"ooSetupVersion\">\s*<value>([^<]*)<", s).group(1))' "$lo/share/registry/main.xcd")
sed -i "s|</oor:items>|<item oor:path=\"/org.openoffice.Setup/Product\"><prop oor:name=\"ooSetupLastVersion\" oor:op=\"fuse\"><value>$version</value></prop></item>\n</oor:items>|" "$xcu"
