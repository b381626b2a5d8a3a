#!/usr/bin/env bash
# scripts/test.sh: run all of lambda-deploy's tests against local AWS services.
#
#   scripts/test.sh [CARGO-TEST-ARGS...]      e.g. scripts/test.sh --test deploy -- --nocapture
#
# 1. installs what is missing (Debian packages, the moto venv; see scripts/local-aws.sh)
# 2. starts the local services, or reuses running ones, and exports their environment
# 3. cargo test --locked [ARGS...]            (unit + integration tests)
# 4. scripts/check-workflows.sh, when it exists and is executable
# 5. stops the services if this script started them
# Exits non-zero if any step failed. Phase lines go to stderr.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"

T0=$(date +%s)
phase() { printf '\n==> [test %4ss] %s\n' "$(( $(date +%s) - T0 ))" "$*" >&2; }
die() { printf '==> [test] ERROR: %s\n' "$*" >&2; exit 1; }

# rustup's cargo may not be on PATH in a non-login shell.
if ! command -v cargo >/dev/null && [ -x "$HOME/.cargo/bin/cargo" ]; then
  PATH="$HOME/.cargo/bin:$PATH"
fi
command -v cargo >/dev/null || die "cargo not found (install Rust with rustup)"

phase "installing what is missing (zip, unzip, time, the arm64 cross toolchain and qemu for the image tests, local AWS services)"
bash scripts/local-aws.sh install zip unzip time binutils gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user-static

STARTED=0
cleanup() {
  local rc=$?
  if [ "$STARTED" = 1 ]; then
    phase "stopping the local AWS services this run started"
    bash scripts/local-aws.sh stop || true
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if bash scripts/local-aws.sh status 2>/dev/null; then
  phase "reusing the running local AWS services"
else
  phase "starting the local AWS services"
  STARTED=1
fi
ENV_LINES="$(bash scripts/local-aws.sh start)" || die "the local AWS services did not start"
eval "$ENV_LINES"
printf '    AWS_ENDPOINT_URL=%s REGISTRY=%s\n' "$AWS_ENDPOINT_URL" "$REGISTRY" >&2

export RUST_BACKTRACE="${RUST_BACKTRACE:-1}"
# CI builds every test binary once from a clean clone: incremental caches would only add
# ~1 GB to a ~4 GB target folder. Say how much room is left, since a full disk shows up
# as a linker crash.
if [ -n "${CI:-}" ]; then export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"; fi
printf '    disk free for target/: %s\n' "$(df -h --output=avail . | tail -1 | tr -d ' ')" >&2

# No `cargo build` first: dev-dependencies change feature unification, so a plain build
# followed by `cargo test` would compile the AWS crates twice.
phase "cargo test --locked $*"
CARGO_RC=0
cargo test --locked "$@" || CARGO_RC=$?

CHECK_RC=0
CHECK_RAN=0
if [ -x scripts/check-workflows.sh ]; then
  phase "scripts/check-workflows.sh"
  CHECK_RAN=1
  scripts/check-workflows.sh || CHECK_RC=$?
fi

result() { if [ "$1" = 0 ]; then echo ok; else echo "FAILED (exit $1)"; fi; }
phase "summary"
printf '    cargo test:           %s\n' "$(result "$CARGO_RC")" >&2
if [ "$CHECK_RAN" = 1 ]; then
  printf '    check-workflows.sh:   %s\n' "$(result "$CHECK_RC")" >&2
fi
if [ "$CARGO_RC" != 0 ] || [ "$CHECK_RC" != 0 ]; then exit 1; fi
