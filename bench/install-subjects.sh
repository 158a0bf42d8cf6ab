#!/usr/bin/env bash
# install-subjects.sh: installs the Debian packages the benches measure
# (the applications and libraries they rewrite), beyond what
# scripts/install-deps.sh installs to build and test. Needs root (or sudo)
# only when something is missing.
set -euo pipefail
packages=(
  firefox-esr               # firefox-app.sh, largest-programs.sh: libxul.so
  libreoffice-writer        # libreoffice-app.sh, largest-programs.sh (not the -nogui build)
  vulkan-validationlayers   # largest-programs.sh: Debian's own Vulkan layer
  libx265-199               # largest-programs.sh: hand-written assembly
  libgl1-mesa-dri           # largest-programs.sh: the Mesa drivers
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
((${#missing[@]} == 0)) && exit 0
echo "install-subjects: installing ${missing[*]}"
sudo=""
[[ $(id -u) != 0 ]] && sudo=sudo
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
