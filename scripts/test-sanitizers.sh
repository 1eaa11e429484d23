#!/usr/bin/env bash
# Sanitizer, valgrind and thread runs (issue 5):
#   1. asan:     the whole Check suite (and the fuzz-corpus replays) built with
#                -fsanitize=address,undefined -fno-sanitize-recover=all into build/asan, CTest run
#                for every backend (unsupported ones are skipped by the suite itself);
#   1b. ubsan-clang: the same suite built by clang with -fsanitize=undefined into build/ubsan-clang
#                (clang checks wrapping pointer arithmetic, gcc 12 does not);
#   2. valgrind: memcheck (--error-exitcode=1 --leak-check=full) on the plain test binary in
#                build/valgrind for scalar, sse41 and avx2 (add neon, SIMDe on x86, with
#                VALGRIND_BACKENDS); not avx512, which valgrind 3.19 cannot execute. Check forks
#                per test: CK_FORK=no keeps the run in the process valgrind watches, and the
#                timeout is raised for the slowdown; CODELAY_JOBS backends run at a time;
#   3. tsan:     tests/threads (8 threads, first-use dispatch racing, in fresh processes) with
#                -fsanitize=thread into build/tsan.
# Env: CODELAY_BUILD_ROOT (default build), CODELAY_JOBS (default 2), SANITIZERS_CC (compiler for
# the asan build, default cc), VALGRIND_BACKENDS (default "scalar sse41 avx2"), VALGRIND_FULL=1
# (every suite for every backend), VALGRIND_SIMD_SUITES (the suites for the SIMD backends).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="${CODELAY_BUILD_ROOT:-build}"
JOBS=${CODELAY_JOBS:-2}
mkdir -p "$ROOT"
results=()
failed=0
pass() { results+=("$1 PASS${2:+ ($2)}"); echo "test-sanitizers: $1 PASS${2:+ ($2)}"; }
fail() { results+=("$1 FAIL"); echo "test-sanitizers: $1 FAIL: $2"; failed=1; }

configure_build() { # dir log cmake-args... ; then --target list after "--"
  local dir=$1 log=$2
  shift 2
  local args=() targets=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do args+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  targets=("$@")
  cmake "${args[@]}" -B "$dir" >"$log" 2>&1 || { tail -30 "$log"; return 1; }
  local t=()
  for x in "${targets[@]}"; do t+=(--target "$x"); done
  cmake --build "$dir" -j"$JOBS" "${t[@]}" >>"$log" 2>&1 || { grep -E "error|Error" "$log" | head -30; return 1; }
}

# ---- 1. ASan + UBSan, every backend -------------------------------------------------------------
start=$(date +%s)
if CC=${SANITIZERS_CC:-cc} configure_build "$ROOT/asan" "$ROOT/asan.log" -S . \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCODELAY_SANITIZE=address,undefined \
  -DCODELAY_BUILD_TESTS=ON -DCODELAY_BUILD_BENCH=OFF -DCODELAY_BUILD_TOOLS=OFF; then
  if ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir "$ROOT/asan" -j"$JOBS" --output-on-failure >"$ROOT/asan-ctest.log" 2>&1; then
    pass asan "$(grep -E 'tests passed' "$ROOT/asan-ctest.log" | tail -1), $(($(date +%s) - start))s"
  else
    grep -E "Failed|\*\*\*|ERROR|runtime error" "$ROOT/asan-ctest.log" | head -30
    fail asan "ctest in $ROOT/asan (log: $ROOT/asan-ctest.log)"
  fi
else
  fail asan "build ($ROOT/asan.log)"
fi

# ---- 1b. clang UBSan, every backend ------------------------------------------------------------
# gcc 12's UBSan does not check pointer arithmetic that wraps (`p + (size_t)negative * es`);
# clang's does (a TK driver bug only the fuzz stage caught). The suite once more under clang.
start=$(date +%s)
if ! command -v clang >/dev/null; then
  fail ubsan-clang "clang not installed (scripts/deps.sh installs it)"
elif CC=clang configure_build "$ROOT/ubsan-clang" "$ROOT/ubsan-clang.log" -S . \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCODELAY_SANITIZE=undefined \
  -DCODELAY_BUILD_TESTS=ON -DCODELAY_BUILD_BENCH=OFF -DCODELAY_BUILD_TOOLS=OFF; then
  if UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir "$ROOT/ubsan-clang" -j"$JOBS" --output-on-failure \
    >"$ROOT/ubsan-clang-ctest.log" 2>&1; then
    pass ubsan-clang "$(grep -E 'tests passed' "$ROOT/ubsan-clang-ctest.log" | tail -1), $(($(date +%s) - start))s"
  else
    grep -E "Failed|\*\*\*|runtime error" "$ROOT/ubsan-clang-ctest.log" | head -30
    fail ubsan-clang "ctest in $ROOT/ubsan-clang (log: $ROOT/ubsan-clang-ctest.log)"
  fi
else
  fail ubsan-clang "build ($ROOT/ubsan-clang.log)"
fi

# ---- 2. valgrind memcheck ----------------------------------------------------------------------
start=$(date +%s)
if ! command -v valgrind >/dev/null; then
  fail valgrind "valgrind not installed (apt-get install valgrind)"
elif configure_build "$ROOT/valgrind" "$ROOT/valgrind.log" -S . -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCODELAY_BUILD_TESTS=ON -DCODELAY_BUILD_BENCH=OFF -DCODELAY_BUILD_TOOLS=OFF -- codelay_tests; then
  bin=$(find "$ROOT/valgrind" -name codelay_tests -type f -perm -u+x | head -1)
  # scalar runs every suite; the SIMD backends run only the suites whose work depends on the
  # active backend (not "backends", which calls every kernel table itself, so the scalar run
  # covers it, nor "differential", covered per backend by the asan stage), one CK_RUN_SUITE each
  # (Check 0.15 has no suite exclusion). VALGRIND_FULL=1 runs every suite for every backend.
  vg_one() { # backend
    local b=$1 rc=0 suites=("")
    if [ "$b" != scalar ] && [ -z "${VALGRIND_FULL:-}" ]; then
      read -r -a suites <<<"${VALGRIND_SIMD_SUITES:-golden badinput roundtrip guards stream}"
    fi
    : >"$ROOT/valgrind-$b.log"
    for suite in "${suites[@]}"; do
      # An empty CK_RUN_SUITE would select no suite at all: set it only to a name.
      local envs=(CODELAY_BACKEND="$b" CK_FORK=no CK_DEFAULT_TIMEOUT=1200)
      [ -n "$suite" ] && envs+=(CK_RUN_SUITE="$suite")
      env -u CK_RUN_SUITE "${envs[@]}" \
        valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=all --quiet \
        "$bin" >>"$ROOT/valgrind-$b.log" 2>&1 || { rc=$?; break; }
    done
    echo "$rc" >"$ROOT/valgrind-$b.rc"
  }
  pids=()
  for b in ${VALGRIND_BACKENDS:-scalar sse41 avx2}; do
    while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do sleep 1; done
    vg_one "$b" &
    pids+=($!)
  done
  wait "${pids[@]}" || true
  ran=()
  vg_failed=0
  for b in ${VALGRIND_BACKENDS:-scalar sse41 avx2}; do
    rc=$(cat "$ROOT/valgrind-$b.rc" 2>/dev/null || echo 1)
    checks=$(grep -Eo 'Checks: [0-9]+' "$ROOT/valgrind-$b.log" | awk '{ n += $2 } END { print n + 0 }')
    if [ "$rc" -eq 77 ]; then
      ran+=("$b skipped")
    elif [ "$rc" -eq 0 ] && [ "$checks" -eq 0 ]; then
      echo "test-sanitizers: valgrind $b ran no checks (log: $ROOT/valgrind-$b.log)"
      ran+=("$b FAIL (no checks)")
      vg_failed=1
    elif [ "$rc" -ne 0 ]; then
      grep -E "==[0-9]+==|[0-9]+%: Checks" "$ROOT/valgrind-$b.log" | head -30
      echo "test-sanitizers: valgrind $b exit $rc (log: $ROOT/valgrind-$b.log)"
      ran+=("$b FAIL")
      vg_failed=1
    else
      ran+=("$b ${checks:-?} checks")
    fi
  done
  if [ "$vg_failed" -eq 0 ]; then
    pass valgrind "$(IFS=,; echo "${ran[*]}"), $(($(date +%s) - start))s"
  else
    fail valgrind "$(IFS=,; echo "${ran[*]}")"
  fi
else
  fail valgrind "build ($ROOT/valgrind.log)"
fi

# ---- 3. ThreadSanitizer ------------------------------------------------------------------------
start=$(date +%s)
if configure_build "$ROOT/tsan" "$ROOT/tsan.log" -S tests/threads -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCODELAY_SANITIZE=thread -- tests_threads; then
  if TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 "$ROOT/tsan/tests_threads" >"$ROOT/tsan-run.log" 2>&1; then
    pass tsan "8 threads + backend switcher, 7 fresh processes, $(($(date +%s) - start))s"
  else
    grep -E "WARNING|ERROR|FAIL|SUMMARY" "$ROOT/tsan-run.log" | head -30
    fail tsan "tests_threads (log: $ROOT/tsan-run.log)"
  fi
else
  fail tsan "build ($ROOT/tsan.log)"
fi

if [ "$failed" -ne 0 ]; then
  echo "test-sanitizers: FAIL ($(IFS=';'; echo "${results[*]}"))"
  exit 1
fi
echo "test-sanitizers: PASS ($(IFS=';'; echo "${results[*]}"))"
