#!/usr/bin/env bash
# The test suite: builds (warnings are errors), runs unit and end-to-end tests with ctest, then each
# libFuzzer target for a bounded time. Needs root for the end-to-end tests (real BPF).
#   BUILD_DIR   build directory (default: build)
#   FUZZ_SECONDS seconds per fuzz target (default: 30; 0 skips fuzzing)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
JOBS=${JOBS:-$(nproc)}

cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSHADOWMETER_WERROR=ON >/dev/null
cmake --build "$BUILD_DIR" -j "$JOBS"

status=0
ctest --test-dir "$BUILD_DIR" --output-on-failure --timeout 600 || status=$?

if [ "${FUZZ_SECONDS:-30}" != "0" ]; then
  FUZZ_SECONDS=${FUZZ_SECONDS:-30} bash tests/fuzz/run.sh || status=1
fi
exit $status
