#!/usr/bin/env bash
# The NEON backend for real: cross-compile codelay for aarch64 (gcc-aarch64-linux-gnu, Check from
# Debian multiarch check:arm64) and run the whole test suite under qemu-aarch64 with a cortex-a72
# CPU (ARMv8.0 + NEON, no SVE), then check that `auto` picks neon there and that the override
# still forces scalar. Installs nothing: scripts/deps.sh does (gcc-aarch64-linux-gnu, qemu-user,
# check:arm64 after `dpkg --add-architecture arm64`).
#
# Build dir: $CODELAY_BUILD_ROOT/aarch64 (default build/aarch64). Jobs: $CODELAY_JOBS (default 2).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

broot="${CODELAY_BUILD_ROOT:-build}"
bdir="$broot/aarch64"
jobs="${CODELAY_JOBS:-2}"
sysroot=/usr/aarch64-linux-gnu

fail() {
  echo "test-aarch64: FAIL: $*"
  exit 1
}

for tool in aarch64-linux-gnu-gcc qemu-aarch64 pkg-config cmake ctest; do
  command -v "$tool" >/dev/null 2>&1 || fail "$tool not found (scripts/deps.sh installs it)"
done
[[ -f /usr/lib/aarch64-linux-gnu/pkgconfig/check.pc ]] ||
  fail "check:arm64 is not installed (scripts/deps.sh: dpkg --add-architecture arm64; apt-get install check:arm64)"

# qemu-user reads QEMU_CPU; the CTest emulator line passes -cpu cortex-a72 as well. Check's
# per-test timeout (default 4 s) is far too short under emulation: scale every timeout, including
# the CK_DEFAULT_TIMEOUT that the tests' CMakeLists sets per test.
export QEMU_CPU=cortex-a72
export CK_TIMEOUT_MULTIPLIER="${CK_TIMEOUT_MULTIPLIER:-4}"
export CK_DEFAULT_TIMEOUT="${CK_DEFAULT_TIMEOUT:-120}"
unset CODELAY_BACKEND

mkdir -p "$bdir"
echo "test-aarch64: configure $bdir"
cmake -S . -B "$bdir" \
  -DCMAKE_TOOLCHAIN_FILE="$PWD/cmake/aarch64-linux-gnu.cmake" \
  -DCMAKE_BUILD_TYPE=Release \
  -DCODELAY_BUILD_TESTS=ON -DCODELAY_BUILD_BENCH=OFF -DCODELAY_BUILD_TOOLS=OFF \
  -DCODELAY_BUILD_FUZZ=OFF -DCODELAY_SANITIZE= >"$bdir/configure.log" 2>&1 ||
  {
    cat "$bdir/configure.log"
    fail "configure"
  }
echo "test-aarch64: build"
cmake --build "$bdir" -j "$jobs" || fail "build"

# The library really is aarch64 code with NEON in it.
lib="$bdir/libcodelay.so"
[[ -f "$lib" ]] || fail "no $lib"
file -L "$lib" 2>/dev/null | grep -q 'ARM aarch64' || [[ "$(od -An -tx1 -j18 -N2 "$lib" | tr -d ' ')" == b700 ]] ||
  fail "$lib is not an aarch64 ELF"

echo "test-aarch64: ctest under qemu-aarch64 -cpu cortex-a72"
ctest_log="$bdir/ctest.log"
ctest_rc=0
ctest --test-dir "$bdir" --output-on-failure -j "$jobs" 2>&1 | tee "$ctest_log" || ctest_rc=$?
if grep -q "No tests were found" "$ctest_log"; then
  fail "no tests were registered in $bdir (CODELAY_BUILD_TESTS / tests/CMakeLists.txt)"
fi
# The neon run must have happened, not been skipped.
if grep -Eq "test_neon .*(Skipped|Not Run)" "$ctest_log"; then
  fail "test_neon was skipped on aarch64"
fi
[[ $ctest_rc == 0 ]] || fail "ctest under qemu-aarch64 (exit $ctest_rc, log $ctest_log)"

# Dispatch: auto is neon, the override and select still work, the x86 names are unsupported.
probe_c="$bdir/probe_backend.c"
probe="$bdir/probe_backend"
cat >"$probe_c" <<'EOF'
#include <codelay.h>
#include <stdio.h>
int main(void) {
  printf("%s %d %d %d %d %d\n", codelay_backend_name(), codelay_backend_supported("neon"),
         codelay_backend_supported("avx2"), codelay_backend_supported("sse41"),
         codelay_backend_select("avx512") == CODELAY_ERR_BACKEND,
         codelay_backend_select("neon") == CODELAY_OK);
  return 0;
}
EOF
aarch64-linux-gnu-gcc -std=c11 -O1 -Iinclude "$probe_c" -o "$probe" -L"$bdir" -lcodelay \
  -Wl,-rpath,"$(cd "$bdir" && pwd)" || fail "cannot build the backend probe"
run_probe() {
  qemu-aarch64 -cpu cortex-a72 -L "$sysroot" -E LD_LIBRARY_PATH="$sysroot/lib" "$probe"
}
auto_line="$(run_probe)" || fail "backend probe did not run"
forced_line="$(CODELAY_BACKEND=scalar run_probe)" || fail "backend probe did not run"
echo "test-aarch64: auto -> '$auto_line', CODELAY_BACKEND=scalar -> '$forced_line'"
[[ "$auto_line" == "neon 1 0 0 1 1" ]] || fail "auto on aarch64 is not neon ('$auto_line')"
[[ "$forced_line" == "scalar 1 0 0 1 1" ]] || fail "CODELAY_BACKEND=scalar not honoured ('$forced_line')"

summary="$(grep -E '^[0-9]+% tests passed' "$ctest_log" | tail -n 1)"
echo "test-aarch64: PASS (${summary:-ctest ok}; auto=neon on qemu-aarch64 cortex-a72)"
