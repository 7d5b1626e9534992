#!/usr/bin/env bash
# tests/run.sh BUILD — runs every test suite and prints the total.
#
# Each suite is a program that ends with a line `NAME: N passed, N failed
# [, N skipped]`; this script runs them all (C unit tests from BUILD/tests,
# then the script suites under tests/*/run_*.sh with BUILD passed on),
# prints each suite's line with its wall time in seconds, sums the counts,
# and ends with `N passed, N failed, N skipped`. A suite
# that crashes or prints no summary counts as one failure.
set -u
cd "$(dirname "$0")/.."
BUILD=${1:-build}
export SMELT=$BUILD/smelt SMELT_VERIFY=1 BUILD
passed=0 failed=0 skipped=0
mkdir -p tests/out

run_suite() { # name, command...
  local name=$1; shift
  local log="tests/out/$name.log"
  local t0=$SECONDS
  "$@" > "$log" 2>&1
  local rc=$?
  local took=$((SECONDS - t0))
  local line
  line=$(grep -E '^[A-Za-z0-9_./-]+: [0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
  if [ -z "$line" ]; then
    echo "FAIL $name: no summary line (exit $rc); see $log"
    tail -n 20 "$log" | sed 's/^/    /'
    failed=$((failed + 1))
    return
  fi
  local p f s
  p=$(sed -E 's/.*: ([0-9]+) passed.*/\1/' <<<"$line")
  f=$(sed -E 's/.*, ([0-9]+) failed.*/\1/' <<<"$line")
  s=0
  grep -q skipped <<<"$line" && s=$(sed -E 's/.*, ([0-9]+) skipped.*/\1/' <<<"$line")
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
  echo "$line  [${took}s]"
  if [ "$f" -ne 0 ]; then grep -E '^FAIL' "$log" | head -n 30 | sed 's/^/    /'; fi
}

for t in "$BUILD"/tests/test_*; do
  [ -x "$t" ] || continue
  run_suite "$(basename "$t")" "$t"
done
for s in tests/*/run_*.sh; do
  [ -f "$s" ] || continue
  run_suite "$(basename "$(dirname "$s")")_$(basename "$s" .sh)" bash "$s"
done

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
