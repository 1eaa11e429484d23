#!/usr/bin/env bash
# Short libFuzzer runs of every fuzz target (issue 5; see docs/fuzzing.md).
# Builds fuzz/ with clang into build/fuzz (-fsanitize=fuzzer,address,undefined, the library
# instrumented too), then runs each target for FUZZ_SECONDS seconds (default 20), one after the
# other, starting from the committed seeds in fuzz/corpus/<target>/ (read only: new inputs go to
# build/fuzz/corpus-<target>/). A finding is saved as build/fuzz/artifacts/<target>-crash-*;
# replay it with `build/fuzz/fuzz/<target> FILE`.
#   FUZZ_SECONDS=600 ./scripts/test-fuzz.sh     # ten minutes per target
#   FUZZ_TARGETS="fuzz_ops" ./scripts/test-fuzz.sh
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${FUZZ_SECONDS:-20}
TARGETS=${FUZZ_TARGETS:-"fuzz_ops fuzz_validate fuzz_stream"}
BUILD="${CODELAY_BUILD_ROOT:-build}/fuzz"
JOBS=${CODELAY_JOBS:-2}
mkdir -p "$BUILD/artifacts"

if ! command -v clang >/dev/null; then
  echo "test-fuzz: FAIL: clang is required (apt-get install clang libclang-rt-14-dev)"
  exit 1
fi
log="$BUILD/build.log"
if ! CC=clang cmake -S . -B "$BUILD" -DCODELAY_BUILD_FUZZ=ON -DCODELAY_BUILD_TESTS=OFF \
  -DCODELAY_BUILD_BENCH=OFF -DCODELAY_BUILD_TOOLS=OFF -DCODELAY_SANITIZE=address,undefined \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$log" 2>&1; then
  cat "$log"
  echo "test-fuzz: FAIL (configure)"
  exit 1
fi
# Only the fuzz targets: the coverage-instrumented objects cannot make the shared library.
# shellcheck disable=SC2086
if ! cmake --build "$BUILD" -j"$JOBS" --target $TARGETS >>"$log" 2>&1; then
  tail -40 "$log"
  echo "test-fuzz: FAIL (build)"
  exit 1
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
summary=()
failed=0
for t in $TARGETS; do
  work="$BUILD/corpus-$t"
  mkdir -p "$work"
  out="$BUILD/$t.log"
  rc=0
  "$BUILD/fuzz/$t" -max_total_time="$SECS" -timeout=20 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$BUILD/artifacts/$t-" "$work" "fuzz/corpus/$t" >"$out" 2>&1 || rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out" | tail -1)
  if [ "$rc" -ne 0 ]; then
    grep -E "check failed|runtime error|ERROR:|status|SUMMARY|Test unit written" "$out" | head -20
    echo "test-fuzz: $t FAILED after ${execs:-?} executions (log: $out)"
    summary+=("$t FAIL")
    failed=1
  else
    echo "test-fuzz: $t ok: ${execs:-?} executions in ${SECS}s, corpus $(ls "$work" | wc -l) inputs"
    summary+=("$t ${execs:-?} execs")
  fi
done
if [ "$failed" -ne 0 ]; then
  echo "test-fuzz: FAIL (${summary[*]})"
  exit 1
fi
echo "test-fuzz: PASS (${SECS}s each: ${summary[*]})"
