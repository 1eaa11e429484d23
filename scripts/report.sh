#!/usr/bin/env bash
# THE main job: build codelay (Release, build/main) and print the benchmark report.
#
# Runs every kernel x backend x realistic shape (bench/cases.c) next to a memcpy of the same
# output bytes, with interleaved repetitions, then prints one table per kernel and shape (GB/s,
# time relative to memcpy, speedup over scalar), the CPU, the backend `auto` chose and the
# targets of issue 4. Writes build/report/{bench.json,report.txt,report.md,summary.json,chart.svg}.
# Takes about a minute on 2 cores (under 3 minutes including the build).
#
# Environment: CODELAY_SKIP_DEPS=1 (no apt), CODELAY_JOBS (build jobs, default nproc),
# CODELAY_BUILD_ROOT (default build), CODELAY_REPORT_MIN_TIME (seconds per repetition, default
# 0.05), CODELAY_REPORT_REPETITIONS (default 3), CODELAY_REPORT_FILTER (a --benchmark_filter
# regex, default all).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

broot="${CODELAY_BUILD_ROOT:-build}"
jobs="${CODELAY_JOBS:-$(nproc)}"
min_time="${CODELAY_REPORT_MIN_TIME:-0.05}"
reps="${CODELAY_REPORT_REPETITIONS:-3}"
filter="${CODELAY_REPORT_FILTER:-.}"
out="$broot/report"
py=/usr/bin/python3
t0=$(date +%s)

if [[ -f scripts/deps.sh ]]; then
  bash scripts/deps.sh
fi

# The same configuration as scripts/test.sh, so the two share build/main without reconfiguring.
echo "report.sh: building $broot/main (Release) ..."
mkdir -p "$broot" # a fresh checkout has no build dir for the logs yet
cmake -S . -B "$broot/main" -DCMAKE_BUILD_TYPE=Release -DCODELAY_BUILD_TESTS=ON \
  -DCODELAY_BUILD_BENCH=ON -DCODELAY_BUILD_TOOLS=ON >"$broot/main-configure.log" 2>&1 || {
  cat "$broot/main-configure.log"
  echo "report.sh: FAIL (configure)"
  exit 1
}
if ! cmake --build "$broot/main" -j "$jobs" >"$broot/main-build.log" 2>&1; then
  # The report needs only the library and the benchmark binary: say what broke, carry on.
  echo "report.sh: warning: the full build failed (see $broot/main-build.log); building only" \
    "the benchmarks"
  cmake --build "$broot/main" -j "$jobs" --target codelay_bench || {
    echo "report.sh: FAIL (build)"
    exit 1
  }
fi
bench="$broot/main/bench/codelay_bench"
if [[ ! -x "$bench" ]]; then
  echo "report.sh: FAIL: $bench was not built (is libbenchmark-dev installed?)"
  exit 1
fi

mkdir -p "$out"
unset CODELAY_BACKEND # the report measures every backend and reports what auto picks
echo "report.sh: running the benchmarks ($reps interleaved repetitions of ${min_time}s) ..."
rc=0
"$bench" --benchmark_min_time="$min_time" --benchmark_repetitions="$reps" \
  --benchmark_enable_random_interleaving=true --benchmark_filter="$filter" \
  --benchmark_out="$out/bench.json" --benchmark_out_format=json \
  >"$out/bench-console.txt" 2>&1 || rc=$?

echo
"$py" bench/benchtool.py report "$out/bench.json" "$out"
echo "console log: $out/bench-console.txt"
echo "report.sh: done in $(($(date +%s) - t0))s"
if [[ $rc -ne 0 ]]; then
  grep -i "failed\|error" "$out/bench-console.txt" | grep -v "not supported" | head -20 || true
  echo "report.sh: FAIL (a benchmark failed, exit $rc)"
  exit 1
fi
