#!/usr/bin/env bash
# Configures and builds elfopt. BUILD_DIR (default build) and extra CMake
# arguments may be given: scripts/build.sh -DELFOPT_SANITIZE=ON
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build}
jobs=${JOBS:-$(nproc)}
cmake -S . -B "$build_dir" -G Ninja "$@" >/dev/null
cmake --build "$build_dir" -j "$jobs"
