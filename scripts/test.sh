#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, runs the unit tests
# (seconds; a broken algorithm stops here) and then every other test
# (integration tests that compile, link, edit and run real programs);
# rebuilds with AddressSanitizer and UndefinedBehaviorSanitizer and runs every
# test again under them, unit tests first; then runs each libFuzzer target
# over its regression reproducers and for FUZZ_SECONDS (default 30) of new
# inputs. One sanitizer build (clang-19, optimized, in build-sanitize/) serves
# both the tests and the fuzz targets: two builds took longer than all the
# tests under them.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
export JOBS=${JOBS:-2}

echo "== build"
BUILD_DIR=build bash scripts/build.sh >/dev/null
echo "== unit tests"
ctest --test-dir build --output-on-failure -j "$JOBS" -L unit
echo "== tests"
ctest --test-dir build --output-on-failure -j "$JOBS" -LE unit

echo "== sanitizer build (ASan + UBSan)"
CC=clang-19 CXX=clang++-19 BUILD_DIR=build-sanitize bash scripts/build.sh \
  -DELFOPT_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
echo "== tests under sanitizers"
sanitized() {
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 "$@"
}
sanitized ctest --test-dir build-sanitize --output-on-failure -j "$JOBS" -L unit
# -LE matches any label: the unit tests ran above, and the install test
# (cmake --install, the .deb) checks packaging, not the code, so once is enough.
sanitized ctest --test-dir build-sanitize --output-on-failure -j "$JOBS" -LE 'unit|install'

echo "== fuzzing (regressions, then ${FUZZ_SECONDS:-30} s per target; with CI=true a fixed number of inputs)"
FUZZ_BUILD_DIR=build-sanitize bash scripts/fuzz.sh "${FUZZ_SECONDS:-30}"

# One closing line for CI: every stage above stops the script on a failure.
# Each test ran once per build (unit tests with -L unit, the rest with
# -LE unit, under the sanitizers all but the install test), so the totals of
# ctest -N count them exactly.
tests=$(ctest --test-dir build -N | awk '/Total Tests:/ {print $3}')
asan_tests=$(ctest --test-dir build-sanitize -N -LE install | awk '/Total Tests:/ {print $3}')
echo "summary: $((tests + asan_tests + 4)) passed, 0 failed"
