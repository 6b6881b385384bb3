#!/usr/bin/env bash
# The test suite: builds (warnings are errors), runs unit and end-to-end tests with ctest, then each
# libFuzzer target for a bounded time. Needs root for the end-to-end tests (real BPF).
#   BUILD_DIR     build directory (default: build)
#   FUZZ_SECONDS  seconds per fuzz target (default: 30; 0 skips fuzzing)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
JOBS=${JOBS:-$(nproc)}
FUZZ_SECONDS=${FUZZ_SECONDS:-30}

# The collector's tests run against SQLite and a real PostgreSQL server (created databases only).
if [ "$(id -u)" -eq 0 ]; then
  bash packaging/scripts/start-postgres.sh || echo "run.sh: PostgreSQL not started; its tests will say why they skip" >&2
fi

cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSHADOWMETER_WERROR=ON >/dev/null
cmake --build "$BUILD_DIR" -j "$JOBS"

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
ctest --test-dir "$BUILD_DIR" --output-on-failure --timeout 600 2>&1 | tee "$log" || status=1

# ctest's summary: "100% tests passed, 0 tests failed out of 20"
total=$(sed -n 's/.*tests failed out of \([0-9]*\).*/\1/p' "$log" | tail -n 1)
failed=$(sed -n 's/.* \([0-9]*\) tests failed out of.*/\1/p' "$log" | tail -n 1)
total=${total:-0}
failed=${failed:-0}
if [ "$total" -eq 0 ]; then
  echo "run.sh: ctest ran no test" >&2
  status=1
fi
passed=$((total - failed))

if [ "$FUZZ_SECONDS" != "0" ]; then
  if FUZZ_SECONDS=$FUZZ_SECONDS bash tests/fuzz/run.sh; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    status=1
  fi
fi

echo
echo "tests: $passed passed, $failed failed"
exit $status
