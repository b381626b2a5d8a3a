#!/usr/bin/env bash
# scripts/bench-manifest.sh: how a manifest step scales, on the local AWS emulator.
#
#   scripts/bench-manifest.sh [BINARY]      default: target/release/lambda-deploy, else target/debug
#
# 20 functions in one manifest, 2 of them changed. Prints, in milliseconds and as ratios:
#   - the whole step (20 entries, 2 changed)
#   - the slowest changed function deployed alone (`manifest` + `function-name`)
#   - the cost each unchanged entry adds: (step - slowest alone) / 18
#   - 20 sequential single-function runs (2 changed, 18 unchanged)
# Goals: step <= 1.5x the slowest alone; each unchanged entry <= 100 ms.
# Then the emulator's own floor (scripts/emulator_reads.py): the milliseconds it takes per
# read with one client and with four, and the least `step / slowest alone` can be when
# the emulator serves one request at a time and each unchanged entry costs one read (its
# function: the tree record and the live CodeSha256 are needed to call it unchanged).
# A benchmark, not a test: the figures depend on the machine and are only printed.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${1:-}"
if [[ -z "$BIN" ]]; then
  BIN="$REPO/target/release/lambda-deploy"
  [[ -x "$BIN" ]] || BIN="$REPO/target/debug/lambda-deploy"
fi
[[ -x "$BIN" ]] || { echo "bench-manifest: build first (cargo build --release)" >&2; exit 1; }
# The runs happen in the manifest's folder: the binary's path must not be relative.
BIN="$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")"

eval "$(bash "$REPO/scripts/local-aws.sh" start)"
ROLE="${LAMBDA_DEPLOY_TEST_ROLE:-arn:aws:iam::123456789012:role/lambda-deploy-test}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
RUN="bench$$-$(date +%s)"
N=20

{
  printf 'defaults:\n  runtime: python3.12\n  handler: app.handler\n  role: %s\n  alias: live\nfunctions:\n' "$ROLE"
  for i in $(seq 0 $((N - 1))); do
    mkdir -p "$WORK/functions/f$i"
    sed "s/hello,/hello $i,/" "$REPO/examples/python-hello/app.py" >"$WORK/functions/f$i/app.py"
    printf '  %s-%s:\n    source-dir: functions/f%s\n' "$RUN" "$i" "$i"
  done
} >"$WORK/manifest.yml"

now_ms() { date +%s%3N; }
step() { # step [function-name]: one run of the binary with the manifest; prints its ms
  local t0 t1
  t0=$(now_ms)
  (cd "$WORK" && env GITHUB_WORKSPACE="$WORK" INPUT_MANIFEST=manifest.yml \
    ${1:+INPUT_FUNCTION-NAME="$1"} "$BIN" >/dev/null 2>"$WORK/last.log") \
    || { cat "$WORK/last.log" >&2; exit 1; }
  t1=$(now_ms)
  echo $((t1 - t0))
}
change() { # change: new code in the first two functions
  for i in 0 1; do echo "# $(now_ms)" >>"$WORK/functions/f$i/app.py"; done
}

echo "bench-manifest: creating $N functions" >&2
step >/dev/null

change
STEP=$(step)

change
A=$(step "$RUN-0")
B=$(step "$RUN-1")
SLOWEST=$((A > B ? A : B))

change
SEQ=0
for i in $(seq 0 $((N - 1))); do
  SEQ=$((SEQ + $(step "$RUN-$i")))
done

PER=$(( (STEP - SLOWEST) / (N - 2) ))
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
printf 'whole step (%d entries, 2 changed):   %6d ms\n' "$N" "$STEP"
printf 'slowest changed function alone:       %6d ms\n' "$SLOWEST"
printf '%d sequential single runs:             %6d ms\n' "$N" "$SEQ"
printf 'step / slowest alone:                 %6s   (goal <= 1.5)\n' "$(ratio "$STEP" "$SLOWEST")"
printf 'per unchanged entry:                  %6d ms (goal <= 100)\n' "$PER"
printf 'step / %d sequential runs:            %6s\n' "$N" "$(ratio "$STEP" "$SEQ")"

read -r ONE FOUR < <(python3 "$REPO/scripts/emulator_reads.py" "$RUN-2")
FLOOR=$(awk -v s="$SLOWEST" -v n=$((N - 2)) -v r="$FOUR" 'BEGIN { printf "%.2f", (s + n * r) / s }')
printf 'emulator, ms per read:        %s (1 client), %s (4 clients)\n' "$ONE" "$FOUR"
printf 'floor of step / slowest alone: %6s   (one read per unchanged entry, served one at a time)\n' "$FLOOR"
