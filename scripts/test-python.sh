#!/usr/bin/env bash
# The Python package (python/codelay) and the codelay command-line tool (tools/):
#   - the golden vectors through the Python API and through every preset, strided and
#     misaligned inputs, out=, dtypes, streaming, torch tensors (when /usr/bin/python3 can
#     import torch; skipped and said so otherwise), exceptions for bad input;
#   - the CLI on .npy files written by numpy: golden vectors, round trips, presets, many files,
#     bad files (not .npy, wrong dtype, wrong rank, truncated) and usage errors;
#   - the package found next to itself in the build tree (no CODELAY_LIBRARY);
#   - the cost of a [16, 17, 1250] int64 delay from Python vs from C and the fixed per-call
#     overhead (reported; timing on a shared machine is not a gate).
# Uses the main build (build/main, configured here if missing) and Debian's /usr/bin/python3.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

broot="${CODELAY_BUILD_ROOT:-build}"
bdir="$broot/main"
jobs="${CODELAY_JOBS:-2}"
py=/usr/bin/python3

die() {
  echo "test-python: FAIL: $*"
  exit 1
}
[[ -x $py ]] || die "$py not found (apt install python3 python3-numpy)"
$py -c 'import numpy' 2>/dev/null || die "$py cannot import numpy (apt install python3-numpy)"

if [[ ! -f $bdir/CMakeCache.txt ]] || ! grep -q '^CODELAY_BUILD_TOOLS:BOOL=ON' "$bdir/CMakeCache.txt"; then
  cmake -S . -B "$bdir" -DCMAKE_BUILD_TYPE=Release -DCODELAY_BUILD_TOOLS=ON >/dev/null
fi
cmake --build "$bdir" -j "$jobs" --target codelay codelay_cli codelay_python >/dev/null ||
  die "cmake --build $bdir failed"

root="$PWD"
export CODELAY_LIBRARY="$root/$bdir/libcodelay.so"
export CODELAY_CLI="$root/$bdir/tools/codelay"

passed=0
failed=0
# run_suite FILE: runs a test file, adds its closing "label: N passed, M failed, S skipped".
run_suite() {
  local out rc line
  set +e
  out="$($py "$1" 2>&1)"
  rc=$?
  set -e
  echo "$out"
  line="$(grep -E '^[a-z]+: [0-9]+ passed, [0-9]+ failed' <<<"$out" | tail -n 1 || true)"
  if [[ -z $line ]]; then
    echo "test-python: $1 did not finish (exit $rc)"
    failed=$((failed + 1))
    return
  fi
  local p f
  p="$(sed -E 's/^[a-z]+: ([0-9]+) passed.*/\1/' <<<"$line")"
  f="$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")"
  passed=$((passed + p))
  failed=$((failed + f))
  if [[ $rc -ne 0 && $f -eq 0 ]]; then failed=$((failed + 1)); fi
}

if ! $py -c 'import torch' 2>/dev/null; then
  echo "test-python: torch is not importable by $py: the torch tests are skipped (apt install python3-torch)"
fi
run_suite python/tests/test_python.py
run_suite python/tests/test_cli.py

# The package copied into the build tree finds the library beside itself.
if found="$(env -u CODELAY_LIBRARY PYTHONPATH="$root/$bdir/python" $py -c \
  'import codelay; print(codelay.library_path()); codelay.delay([[1, 2]], [0])')"; then
  if [[ $found == "$root/$bdir/python/codelay/"* ]]; then
    passed=$((passed + 1))
  else
    echo "test-python: FAIL: the build-tree package loaded $found"
    failed=$((failed + 1))
  fi
else
  echo "test-python: FAIL: the build-tree package ($bdir/python) does not import"
  failed=$((failed + 1))
fi

# Installed (library + tool + the python component) into a scratch prefix: the package finds
# <prefix>/lib/libcodelay.so.0 by itself and the tool runs through its RPATH.
inst="$(mktemp -d)"
trap 'rm -rf "$inst"' EXIT
if cmake --install "$bdir" --prefix "$inst" >/dev/null &&
  cmake --install "$bdir" --prefix "$inst" --component python >/dev/null &&
  found="$(env -u CODELAY_LIBRARY PYTHONPATH="$inst/lib/python3/dist-packages" $py -c \
    'import codelay; print(codelay.library_path()); codelay.presets.moshi().delay([[1, 2]] * 9)')" &&
  [[ $found == "$inst/lib/libcodelay.so.0" ]] && env -u LD_LIBRARY_PATH "$inst/bin/codelay" info >/dev/null; then
  passed=$((passed + 1))
else
  echo "test-python: FAIL: the installed package or tool (prefix $inst) does not work"
  failed=$((failed + 1))
fi

# Python vs C on the Moshi fine-tuning batch (numbers only).
bench_dir="$broot/python-bench"
mkdir -p "$bench_dir"
if cc -O2 -std=c11 -fPIC -shared -Iinclude python/bench/bench_delay.c -L"$bdir" -lcodelay \
  -Wl,-rpath,"$root/$bdir" -o "$bench_dir/libbench_delay.so"; then
  CODELAY_BENCH_ROUNDS=10 $py python/bench/bench_overhead.py "$bench_dir/libbench_delay.so" |
    sed 's/^/python-bench: /' || echo "test-python: the benchmark did not run (not a failure)"
else
  echo "test-python: could not compile the C benchmark (not a failure)"
fi

echo "python: $passed passed, $failed failed"
if [[ $failed -eq 0 ]]; then
  echo "test-python: PASS"
else
  echo "test-python: FAIL"
  exit 1
fi
