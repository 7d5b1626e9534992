#!/usr/bin/env bash
# tests/unit/run_qmatmul_arm.sh [BUILD] — test_qmatmul.c for aarch64: built
# with the cross compiler against BUILD/aarch64-linux-gnu/libsmeltrt.a (the
# runtime `make` cross-builds) and run under qemu-aarch64-static twice: on
# qemu's default CPU (max: with the dot product extension, so the dotprod
# kernels run) and as a Cortex-A53 (no dot product: the plain NEON ones).
# Each run must report the expected kernel sets as run; their results must
# equal the portable kernels' bit for bit (test_qmatmul.c checks). Skips, saying why,
# where clang-16 or qemu-aarch64-static is missing.
set -u
cd "$(dirname "$0")/../.."
BUILD=${1:-${BUILD:-build}}
NAME=qmatmul_arm
CC=clang-16
QEMU=$(command -v qemu-aarch64-static || true)
LIB=$BUILD/aarch64-linux-gnu/libsmeltrt.a
passed=0 failed=0 skipped=0
if ! command -v "$CC" >/dev/null || [ -z "$QEMU" ] || [ ! -f "$LIB" ]; then
  echo "skip: needs $CC, qemu-aarch64-static and $LIB (make runtime-aarch64-linux-gnu)"
  echo "$NAME: 0 passed, 0 failed, 2 skipped"
  exit 0
fi
OUT=$BUILD/aarch64-linux-gnu/tests
mkdir -p "$OUT"
if ! "$CC" --target=aarch64-linux-gnu -fuse-ld=lld -std=c11 -D_GNU_SOURCE -I. -O1 \
    tests/unit/test_qmatmul.c tests/unit/support/check.c "$LIB" -lm -lpthread -o "$OUT/test_qmatmul"; then
  echo "FAIL $NAME: test_qmatmul does not build for aarch64"
  echo "$NAME: 0 passed, 1 failed"
  exit 1
fi
for cpu in max:dotprod cortex-a53:neon; do
  log=$("$QEMU" -cpu "${cpu%%:*}" "$OUT/test_qmatmul" 2>&1)
  rc=$?
  line=$(grep -E '^test_qmatmul: [0-9]+ passed, [0-9]+ failed' <<<"$log" | tail -n 1)
  p=$(sed -nE 's/.*: ([0-9]+) passed.*/\1/p' <<<"$line")
  f=$(sed -nE 's/.*, ([0-9]+) failed.*/\1/p' <<<"$line")
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
  grep -E '^FAIL' <<<"$log" | sed "s/^FAIL /FAIL [${cpu%%:*}] /"
  if [ "$rc" -ne 0 ] || [ -z "$line" ]; then
    echo "FAIL $NAME: -cpu ${cpu%%:*} exited $rc"; failed=$((failed + 1))
    tail -n 5 <<<"$log" | grep -v '^test_qmatmul:' | sed 's/^/    /'
  fi
  # NEON's kernels run on both; dotprod's only where the CPU has the extension
  want=${cpu#*:}
  sets=$(grep -E '^kernel sets run' <<<"$log")
  if [ "$want" = dotprod ]; then dp='[1-9]'; else dp='0'; fi
  if grep -qE " neon [1-9]" <<<"$sets" && grep -qE " dotprod $dp" <<<"$sets"; then passed=$((passed + 1))
  else echo "FAIL $NAME: -cpu ${cpu%%:*} did not run the $want kernels: $sets"; failed=$((failed + 1)); fi
done
echo "$NAME: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
