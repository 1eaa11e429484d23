#!/usr/bin/env bash
# The performance-regression gate (part of scripts/test.sh). Two checks:
#  (a) callgrind: bench/callgrind/cg_driver runs every benchmark case once per backend (scalar,
#      sse41, avx2, neon; not avx512, which valgrind cannot execute) on fixed shapes; the
#      instructions per element of each must not rise more than 3% above the committed baseline
#      bench/callgrind/baseline.txt. Deterministic: a noisy machine cannot fool it.
#  (b) ratios: one run of the paired_* benchmarks of the realistic shapes (kernel, memcpy of the
#      same output bytes and scalar kernel alternating within each iteration; median of the
#      per-iteration ratios) with 5 interleaved repetitions; each backend's time relative to
#      memcpy and speedup over scalar, best repetition, must stay within bench/thresholds.txt.
#      The thresholds carry a 2x margin: they catch a kernel falling back to scalar or an extra
#      pass over memory, not a few percent (that is (a)'s job), and do not flake on a shared
#      2-core machine.
#
# Refresh both on purpose (after a deliberate change, or on a new toolchain), then review the diff:
#   CODELAY_BENCH_UPDATE=1 scripts/bench-gate.sh
# Environment: CODELAY_BUILD_ROOT (default build), CODELAY_JOBS (default nproc).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

broot="${CODELAY_BUILD_ROOT:-build}"
jobs="${CODELAY_JOBS:-$(nproc)}"
update="${CODELAY_BENCH_UPDATE:-0}"
dir="$broot/bench-gate"
py=/usr/bin/python3
baseline=bench/callgrind/baseline.txt
thresholds=bench/thresholds.txt
upd=()
[[ "$update" == 1 ]] && upd=(--update)
unset CODELAY_BACKEND

mkdir -p "$broot" # a fresh checkout has no build dir for the logs yet

# Own build: the counts depend on the flags, so they are fixed here (Release, nothing else).
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release -DCODELAY_BUILD_TESTS=OFF -DCODELAY_BUILD_TOOLS=OFF \
  -DCODELAY_BUILD_FUZZ=OFF -DCODELAY_BUILD_BENCH=ON -DCODELAY_SANITIZE= >"$dir.configure.log" 2>&1 || {
  cat "$dir.configure.log"
  echo "bench-gate: FAIL (configure)"
  exit 1
}
cmake --build "$dir" -j "$jobs" --target codelay_bench codelay_cg_driver >"$dir.build.log" 2>&1 || {
  tail -40 "$dir.build.log"
  echo "bench-gate: FAIL (build)"
  exit 1
}

fail=0

# --- (a) callgrind instruction counts -----------------------------------------------------------
echo "bench-gate (a): callgrind instruction counts vs $baseline"
if ! command -v valgrind >/dev/null 2>&1; then
  echo "bench-gate (a): FAIL: valgrind not installed (scripts/deps.sh installs it)"
  fail=1
else
  cg="$dir/callgrind"
  rm -rf "$cg"
  mkdir -p "$cg"
  # Counts are comparable only with the same compiler, glibc (its memcpy variants) and valgrind,
  # and the same CPU class as valgrind presents it (it synthesises CPUID from the host: AVX2 or not).
  cc_path="$(sed -n 's/^CMAKE_C_COMPILER:[A-Z]*=//p' "$dir/CMakeCache.txt")"
  # (Whole outputs captured first: `cmd | head` can kill cmd with SIGPIPE under pipefail.)
  cc_ver="$("${cc_path:-cc}" --version)"
  cc_ver="${cc_ver%%$'\n'*}"
  ldd_ver="$(ldd --version)"
  ldd_ver="${ldd_ver%%$'\n'*}"
  cc_id="${cc_ver%% *}-${cc_ver##* }"
  glibc="glibc-${ldd_ver##* }"
  isa="$(grep -q -w avx2 /proc/cpuinfo 2>/dev/null && echo avx2-host || echo no-avx2-host)"
  toolchain="$cc_id/$glibc/$(valgrind --version)/$isa"
  if valgrind --tool=callgrind --callgrind-out-file="$cg/cg.out.%p" --dump-instr=no \
    --dump-line=no "$dir/bench/codelay_cg_driver" >"$cg/driver.log" 2>"$cg/valgrind.log"; then
    "$py" bench/benchtool.py callgrind "$cg" "$baseline" --toolchain "$toolchain" "${upd[@]}" ||
      fail=1
  else
    cat "$cg/driver.log"
    tail -20 "$cg/valgrind.log"
    echo "bench-gate (a): FAIL: the driver failed under valgrind"
    fail=1
  fi
fi

# --- (b) in-run ratios --------------------------------------------------------------------------
echo "bench-gate (b): paired in-run ratios vs $thresholds (5 interleaved repetitions)"
rc=0
"$dir/bench/codelay_bench" --benchmark_filter="$("$py" bench/benchtool.py filter)" \
  --benchmark_min_time=0.05 --benchmark_repetitions=5 --benchmark_enable_random_interleaving=true \
  --benchmark_out="$dir/ratios.json" --benchmark_out_format=json >"$dir/ratios-console.txt" 2>&1 ||
  rc=$?
if [[ $rc -ne 0 ]]; then
  grep -i "error\|failed" "$dir/ratios-console.txt" | grep -v "not supported" | head -20 || true
  echo "bench-gate (b): FAIL: a benchmark failed (exit $rc)"
  fail=1
else
  "$py" bench/benchtool.py ratios "$dir/ratios.json" "$thresholds" "${upd[@]}" || fail=1
fi

if [[ "$update" == 1 ]]; then
  echo "bench-gate: UPDATED $baseline and $thresholds: review with git diff, then commit"
fi
if [[ $fail -ne 0 ]]; then
  echo "bench-gate: FAIL"
  exit 1
fi
echo "bench-gate: PASS"
