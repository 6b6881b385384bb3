#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (-DSHADOWMETER_FUZZ=ON) and runs each one for
# FUZZ_SECONDS (default 30) on a scratch copy of its seed corpus under the build directory.
# Exits non-zero if any target crashes, leaks, times out or runs out of memory.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${FUZZ_BUILD_DIR:-$ROOT/build-fuzz}
SECS=${FUZZ_SECONDS:-30}
JOBS=${FUZZ_BUILD_JOBS:-2}
TARGETS=(fuzz_http1_request fuzz_http1_response fuzz_chunked fuzz_sse fuzz_decompress fuzz_http2 fuzz_eventstream fuzz_providers fuzz_otlp fuzz_collector_ingest fuzz_client_hello fuzz_dns fuzz_go_binary fuzz_redaction)
if [[ $# -gt 0 ]]; then TARGETS=("$@"); fi

CC=clang CXX=clang++ cmake -S "$ROOT" -B "$BUILD" -DSHADOWMETER_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" -j "$JOBS" --target "${TARGETS[@]}"

WORK=$BUILD/fuzz-work
failed=()
for t in "${TARGETS[@]}"; do
  dir=$WORK/$t
  rm -rf "$dir"
  mkdir -p "$dir/corpus" "$dir/artifacts"
  # libFuzzer adds new inputs to the first corpus directory: a copy, never the repository's seeds.
  cp "$ROOT/tests/fuzz/corpus/$t/"* "$dir/corpus/"
  start=$(date +%s)
  rc=0
  "$BUILD/tests/fuzz/$t" "$dir/corpus" -max_total_time="$SECS" -rss_limit_mb=1024 -timeout=10 \
    -artifact_prefix="$dir/artifacts/" -print_final_stats=1 >"$dir/log" 2>&1 || rc=$?
  end=$(date +%s)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$dir/log" | tail -1)
  cov=$(grep -oE 'cov: [0-9]+' "$dir/log" | tail -1 || true)
  if [[ $rc -ne 0 ]] || compgen -G "$dir/artifacts/*" >/dev/null; then
    echo "FAIL $t: exit $rc after $((end - start)) s; artifacts in $dir/artifacts, log $dir/log"
    grep -m1 -E 'ERROR|invariant broken|runtime error' "$dir/log" || true
    failed+=("$t")
  else
    echo "ok   $t: ${execs:-?} execs in $((end - start)) s (${rate:-?}/s, ${cov:-cov: ?}, corpus $(ls "$dir/corpus" | wc -l))"
  fi
done

if [[ ${#failed[@]} -gt 0 ]]; then
  echo "fuzzing found problems in: ${failed[*]}"
  exit 1
fi
