#!/usr/bin/env bash
# The x86 rungs, each tested as the one "auto" picks:
#  1. check_x86 (simd/x86/check_x86.c): every x86 kernel table this CPU runs against scalar, plus
#     the AVX-512 backend's logic compiled through SIMDe (simd/x86/avx512_simde.c), since neither
#     this CPU, valgrind nor qemu-user 7.2 can execute AVX-512 instructions;
#  2. under qemu-x86_64 -cpu Haswell-v4 / Nehalem-v1 / qemu64: `auto` must pick avx2 / sse41 /
#     scalar (scripts/print_backend.c), and the test suite runs on that backend, so a stray
#     instruction above the rung traps (SIGILL) instead of passing unnoticed.
# Env: CODELAY_BUILD_ROOT (default build), CODELAY_TEST_BIN (default
# $CODELAY_BUILD_ROOT/main/tests/codelay_tests; built into $CODELAY_BUILD_ROOT/qemu-x86 when
# missing), CODELAY_QEMU_SUITES (default: the whole suite in one run; else these suite names,
# one CK_RUN_SUITE run each).
set -euo pipefail
cd "$(dirname "$0")/.."
BROOT=${CODELAY_BUILD_ROOT:-build}
OUT=$BROOT/qemu-x86
mkdir -p "$OUT"
CC=${CC:-cc}

if [ "$(uname -m)" != x86_64 ]; then
  echo "test-qemu-x86: SKIP (not an x86-64 host)"
  exit 0
fi

BIN=${CODELAY_TEST_BIN:-$BROOT/main/tests/codelay_tests}
if [ ! -x "$BIN" ]; then
  echo "test-qemu-x86: $BIN not built: building the tests into $OUT/build"
  cmake -S . -B "$OUT/build" -DCMAKE_BUILD_TYPE=Release -DCODELAY_BUILD_BENCH=OFF \
    -DCODELAY_BUILD_TOOLS=OFF >"$OUT/cmake.log" 2>&1
  cmake --build "$OUT/build" -j2 --target codelay_tests codelay_internal >>"$OUT/cmake.log" 2>&1
  BIN=$OUT/build/tests/codelay_tests
fi
BUILD=$(dirname "$(dirname "$BIN")")
ARCHIVE=$BUILD/libcodelay_internal.a
[ -f "$ARCHIVE" ] || { echo "test-qemu-x86: FAIL ($ARCHIVE missing)"; exit 1; }

failures=()
CFLAGS=(-O2 -std=c11 -Wall -Wextra -Werror -Iinclude -Isrc -Isimd/x86)
# The checker references the tables the archive holds (every x86 backend on an x86 build).
SYMS=$(nm "$ARCHIVE" 2>/dev/null || true)
for isa in SSE41 AVX2 AVX512; do
  if grep -q " [DR] cl_kernels_${isa,,}\$" <<<"$SYMS"; then
    CFLAGS+=("-DCODELAY_HAVE_$isa")
  fi
done

# --- 1. kernel checker, with AVX-512 through SIMDe --------------------------------------------
CHECK_OBJS=("$OUT/check_x86.o")
"$CC" "${CFLAGS[@]}" -Wno-unused-function -c simd/x86/check_x86.c -o "$OUT/check_x86.o"
if echo '#include <simde/x86/avx512.h>' | "$CC" -E -x c - >/dev/null 2>&1; then
  EMUFLAGS=(-msse4.1)
  grep -qw avx2 /proc/cpuinfo && EMUFLAGS=(-mavx2)
  "$CC" "${CFLAGS[@]}" "${EMUFLAGS[@]}" -Wno-psabi -c simd/x86/avx512_simde.c -o "$OUT/avx512_simde.o"
  "$CC" "${CFLAGS[@]}" -DCL_CHECK_AVX512_EMU -Wno-unused-function -c simd/x86/check_x86.c \
    -o "$OUT/check_x86.o"
  CHECK_OBJS+=("$OUT/avx512_simde.o")
else
  echo "test-qemu-x86: SIMDe missing: AVX-512 logic not checked"
fi
"$CC" -o "$OUT/check_x86" "${CHECK_OBJS[@]}" "$ARCHIVE" -lm -pthread
if "$OUT/check_x86" >"$OUT/check_x86.log" 2>&1; then
  sed 's/^/  /' "$OUT/check_x86.log"
else
  cat "$OUT/check_x86.log"
  failures+=("check_x86")
fi

# --- 2. each rung under qemu-x86_64 -------------------------------------------------------------
if ! command -v qemu-x86_64 >/dev/null 2>&1; then
  echo "test-qemu-x86: qemu-x86_64 not installed: emulated rungs SKIPPED"
else
  "$CC" -O2 -std=c11 -Wall -Wextra -Werror -Iinclude scripts/print_backend.c "$ARCHIVE" -pthread \
    -o "$OUT/print_backend"
  SUITES=${CODELAY_QEMU_SUITES:-all}
  run_rung() { # cpu expected-backend run-suites
    local cpu=$1 want=$2 suites=$3 log="$OUT/rung-$1.log" got s
    : >"$log"
    got=$(qemu-x86_64 -cpu "$cpu" "$OUT/print_backend" 2>>"$log" | head -n 1) || true
    if [ "$got" != "$want" ]; then
      echo "  $cpu: auto picked '$got', expected '$want'" >>"$log"
      return 1
    fi
    echo "  $cpu: auto picks $got" >>"$log"
    [ "$suites" = yes ] || return 0
    for s in $SUITES; do
      local sel=(CK_RUN_SUITE="$s")
      [ "$s" = all ] && sel=(-u CK_RUN_SUITE)
      # Forced to the backend auto picked (checked above): the same kernels, and the backends
      # suite then sweeps only this rung's table instead of every runnable one.
      if ! env "${sel[@]}" CODELAY_BACKEND="$want" CK_DEFAULT_TIMEOUT=900 \
        qemu-x86_64 -cpu "$cpu" "$BIN" >"$OUT/rung-$cpu-$s.log" 2>&1; then
        echo "  $cpu: suite $s FAILED (see $OUT/rung-$cpu-$s.log)" >>"$log"
        return 1
      fi
      echo "  $cpu: suite $s: $(grep -E '^[0-9]+%: Checks' "$OUT/rung-$cpu-$s.log" | tail -n 1)" \
        >>"$log"
    done
  }
  # The two rungs in parallel (2 cores); qemu64 (no SSE4.1) only checks that auto falls to scalar.
  pids=()
  for rung in Haswell-v4:avx2:yes Nehalem-v1:sse41:yes qemu64:scalar:no; do
    IFS=: read -r cpu want suites <<<"$rung"
    run_rung "$cpu" "$want" "$suites" &
    pids+=("$!:$cpu")
  done
  for pc in "${pids[@]}"; do
    if ! wait "${pc%%:*}"; then failures+=("qemu ${pc#*:}"); fi
    grep -v 'TCG doesn' "$OUT/rung-${pc#*:}.log" || true
  done
fi

if [ ${#failures[@]} -eq 0 ]; then
  echo "test-qemu-x86: PASS"
else
  echo "test-qemu-x86: FAIL (${failures[*]})"
  exit 1
fi
