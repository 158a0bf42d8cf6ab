#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, runs every test
# (unit tests and integration tests that compile, link, edit and run real
# programs); rebuilds with AddressSanitizer and UndefinedBehaviorSanitizer and
# runs every test again under them; then runs each libFuzzer target over its
# regression reproducers and for FUZZ_SECONDS (default 30) of new inputs.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
export JOBS=${JOBS:-2}

echo "== build"
BUILD_DIR=build bash scripts/build.sh >/dev/null
echo "== tests"
ctest --test-dir build --output-on-failure -j "$JOBS" --timeout 1500

echo "== sanitizer build (ASan + UBSan)"
BUILD_DIR=build-asan bash scripts/build.sh -DELFOPT_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
echo "== tests under sanitizers"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure -j "$JOBS" --timeout 2400

echo "== fuzzing (regressions, then ${FUZZ_SECONDS:-30} s per target; with CI=true a fixed number of inputs)"
bash scripts/fuzz.sh "${FUZZ_SECONDS:-30}"

# One closing line for CI: every stage above stops the script on a failure.
tests=$(ctest --test-dir build -N | awk '/Total Tests:/ {print $3}')
asan_tests=$(ctest --test-dir build-asan -N | awk '/Total Tests:/ {print $3}')
echo "summary: $((tests + asan_tests + 4)) passed, 0 failed"
