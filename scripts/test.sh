#!/usr/bin/env bash
# THE test command: everything codelay checks, in one run, from a fresh Debian 12 (as root).
#
#   ./scripts/test.sh              all stages
#   ./scripts/test.sh ctest abi    only the named stages (deps, configure and build always run);
#                                  a name matches a stage that contains it, e.g. "fuzz"
#
# Stages: deps (scripts/deps.sh), configure + build of build/main (Release, tests, benchmarks and
# tools on), ctest on build/main, then each sub-script below that exists. A failing stage does not
# stop the others; the exit status is non-zero if any failed. Each stage's output goes to the
# terminal and to build/logs/<stage>.log; the summary at the end lists every stage with its time.
#
# Environment: CODELAY_JOBS (parallel jobs, default nproc), CODELAY_STAGE_TIMEOUT (seconds per
# stage, default 1800), CODELAY_SKIP_DEPS=1 (no apt), CODELAY_BUILD_ROOT (default build).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1

jobs="${CODELAY_JOBS:-$(nproc)}"
stage_timeout="${CODELAY_STAGE_TIMEOUT:-1800}"
broot="${CODELAY_BUILD_ROOT:-build}"
logs="$broot/logs"
export CODELAY_JOBS="$jobs"
export CODELAY_BUILD_ROOT="$broot"

# The sub-scripts, in order. Each: bash, no arguments, its own build dir under build/, a PASS/FAIL
# summary line, non-zero exit on failure.
sub_scripts=(
  scripts/test-install.sh
  scripts/test-abi.sh
  scripts/test-report.sh
  scripts/bench-gate.sh
  scripts/test-python.sh
  scripts/test-qemu-x86.sh
  scripts/test-aarch64.sh
  scripts/test-sanitizers.sh
  scripts/test-fuzz.sh
)
filters=("$@")

names=()
results=()
times=()
failed=0
passed=0
t_all=$(date +%s)

stamp() { date -u +%H:%M:%S; }
selected() { # name: true if no filter was given or one of them is part of the name
  [[ ${#filters[@]} -eq 0 ]] && return 0
  local f
  for f in "${filters[@]}"; do
    [[ "$1" == *"$f"* ]] && return 0
  done
  return 1
}
record() { # name result seconds
  names+=("$1")
  results+=("$2")
  times+=("$3")
  case "$2" in
  PASS) passed=$((passed + 1)) ;;
  FAIL | TIMEOUT) failed=$((failed + 1)) ;;
  esac
}
# run_stage name command...: runs it under a timeout, tees its output into the log.
run_stage() {
  local name="$1"
  shift
  local log="$logs/$name.log" t0 rc dt
  echo
  echo "=== [$(stamp)] $name: $*"
  t0=$(date +%s)
  timeout --kill-after=30 "$stage_timeout" "$@" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  dt=$(($(date +%s) - t0))
  if [[ $rc -eq 0 ]]; then
    record "$name" PASS "$dt"
    echo "=== [$(stamp)] $name: PASS (${dt}s)"
  elif [[ $rc -eq 124 || $rc -eq 137 ]]; then
    record "$name" TIMEOUT "$dt"
    echo "=== [$(stamp)] $name: TIMEOUT after ${dt}s (log: $log)"
  else
    record "$name" FAIL "$dt"
    echo "=== [$(stamp)] $name: FAIL, exit $rc (${dt}s, log: $log)"
  fi
  return "$rc"
}

summary() {
  local i total=$(($(date +%s) - t_all))
  echo
  echo "=== summary ($(stamp) UTC, ${total}s in all)"
  for i in "${!names[@]}"; do
    if [[ "${results[$i]}" == FAIL || "${results[$i]}" == TIMEOUT ]]; then
      printf '  %-7s %-24s %6ss   (log: %s)\n' "${results[$i]}" "${names[$i]}" "${times[$i]}" \
        "$logs/${names[$i]}.log"
    else
      printf '  %-7s %-24s %6ss\n' "${results[$i]}" "${names[$i]}" "${times[$i]}"
    fi
  done
  echo "test.sh: $passed passed, $failed failed"
}

if [[ ${#filters[@]} -gt 0 ]]; then
  any=0
  for n in ctest "${sub_scripts[@]}"; do
    selected "$(basename "$n" .sh)" && any=1
  done
  if [[ $any == 0 ]]; then
    echo "test.sh: no stage matches '${filters[*]}' (stages: ctest$(printf ' %s' "${sub_scripts[@]##*/}" | sed 's/\.sh//g'))" >&2
    exit 2
  fi
fi

echo "=== codelay test.sh: $(uname -srm), $(nproc) cores, jobs $jobs, $(cc --version 2>/dev/null | head -n 1)"
mkdir -p "$logs"

if ! run_stage deps ./scripts/deps.sh; then
  echo "test.sh: the Debian packages could not be installed; nothing else can run."
  summary
  exit 1
fi

build_ok=0
if run_stage configure cmake -S . -B "$broot/main" -DCMAKE_BUILD_TYPE=Release \
  -DCODELAY_BUILD_TESTS=ON -DCODELAY_BUILD_BENCH=ON -DCODELAY_BUILD_TOOLS=ON; then
  run_stage build cmake --build "$broot/main" -j "$jobs" && build_ok=1
fi

if selected ctest; then
  if [[ $build_ok == 1 ]]; then
    run_stage ctest ctest --test-dir "$broot/main" --output-on-failure --no-tests=error -j "$jobs"
  else
    record ctest FAIL 0
    echo "=== ctest: FAIL (the build failed)"
  fi
fi

for script in "${sub_scripts[@]}"; do
  name="$(basename "$script" .sh)"
  selected "$name" || continue
  if [[ ! -f "$script" ]]; then
    record "$name" "absent" 0
    continue
  fi
  run_stage "$name" bash "$script"
done

summary
[[ $failed -eq 0 ]]
