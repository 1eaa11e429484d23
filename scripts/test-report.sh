#!/usr/bin/env bash
# The main command (scripts/report.sh) run the way a new user runs it: into a build root that does
# not exist yet, so a step that assumes an earlier build (a log dir, a configured tree) fails here.
# Only the small cases, one repetition: this checks that the report is produced, not the speed
# (that is scripts/bench-gate.sh's job).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

root="${CODELAY_BUILD_ROOT:-build}/report-fresh"
rm -rf "$root"
mkdir -p "$(dirname "$root")" # for the log beside it; the root itself stays absent
fail=0
if ! CODELAY_BUILD_ROOT="$root" CODELAY_SKIP_DEPS="${CODELAY_SKIP_DEPS:-0}" \
  CODELAY_REPORT_FILTER='small_' CODELAY_REPORT_REPETITIONS=1 CODELAY_REPORT_MIN_TIME=0.01 \
  bash scripts/report.sh >"$root.log" 2>&1; then
  cat "$root.log"
  echo "test-report: FAIL: scripts/report.sh failed from a fresh build root"
  exit 1
fi
for f in bench.json report.txt report.md summary.json chart.svg; do
  if [[ ! -s "$root/report/$f" ]]; then
    echo "test-report: FAIL: $root/report/$f was not written"
    fail=1
  fi
done
# The report names the CPU, the backend auto chose, and a table per case it ran.
for want in '^CPU: ' 'auto chose: ' '^delay / small_kt_i64' '^undelay / small_kt_i64' \
  '^delay / small_tk_i32' '^summary, auto backend'; do
  if ! grep -q -- "$want" "$root/report/report.txt"; then
    echo "test-report: FAIL: the report lacks '$want'"
    fail=1
  fi
done
if [[ $fail -ne 0 ]]; then
  cat "$root.log"
  exit 1
fi
echo "test-report: PASS (report.sh from an empty build root: $(tail -n 1 "$root.log"))"
