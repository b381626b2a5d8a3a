#!/usr/bin/env bash
# scripts/demo.sh: run lambda-deploy's main job locally, against the local AWS services.
#
#   scripts/demo.sh
#
# Starts the local services (scripts/local-aws.sh), builds the release binary, and deploys
# examples/python-hello as function `hello-python` (alias `live`) exactly as GitHub Actions
# runs the Action: inputs as INPUT_<NAME> environment variables, the job summary and the
# outputs written to the files named by GITHUB_STEP_SUMMARY and GITHUB_OUTPUT. It then
# deploys the untouched tree a second time, which must report status=unchanged.
# The services keep running afterwards: `scripts/local-aws.sh stop` stops them.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"

FUNCTION=hello-python
SOURCE_DIR=examples/python-hello
BIN=./target/release/lambda-deploy

say() { printf '\n==> %s\n' "$*" >&2; }
die() { printf '==> ERROR: %s\n' "$*" >&2; exit 1; }

if ! command -v cargo >/dev/null && [ -x "$HOME/.cargo/bin/cargo" ]; then
  PATH="$HOME/.cargo/bin:$PATH"
fi
command -v cargo >/dev/null || die "cargo not found (install Rust with rustup)"
[ -f "$SOURCE_DIR/app.py" ] || die "$SOURCE_DIR/app.py is missing"

say "starting the local AWS services (or reusing running ones)"
ENV_LINES="$(bash scripts/local-aws.sh start)" || die "the local AWS services did not start"
eval "$ENV_LINES"
printf '    AWS_ENDPOINT_URL=%s  role %s\n' "$AWS_ENDPOINT_URL" "$LAMBDA_DEPLOY_TEST_ROLE" >&2

say "cargo build --release --bin lambda-deploy"
cargo build --locked --release --bin lambda-deploy

WORK="$(mktemp -d "${TMPDIR:-/tmp}/lambda-deploy-demo.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

# deploy RUN: one run of the Action; its summary and outputs go to $WORK/RUN.{summary,outputs}
deploy() {
  local summary="$WORK/$1.summary" outputs="$WORK/$1.outputs"
  : >"$summary"
  : >"$outputs"
  env \
    'INPUT_FUNCTION-NAME'="$FUNCTION" \
    'INPUT_SOURCE-DIR'="$SOURCE_DIR" \
    INPUT_RUNTIME=python3.12 \
    INPUT_HANDLER=app.handler \
    INPUT_ROLE="$LAMBDA_DEPLOY_TEST_ROLE" \
    INPUT_ALIAS=live \
    GITHUB_STEP_SUMMARY="$summary" \
    GITHUB_OUTPUT="$outputs" \
    "$BIN"
}

# output_value NAME FILE: a value from a GITHUB_OUTPUT file (name=value or name<<DELIMITER).
output_value() {
  awk -v name="$1" '
    delim != "" { if ($0 == delim) exit; print; next }
    index($0, name "=") == 1 { print substr($0, length(name) + 2); exit }
    index($0, name "<<") == 1 { delim = substr($0, length(name) + 3) }
  ' "$2"
}

show() {   # show TITLE FILE
  printf '\n----- %s (%s) -----\n' "$1" "$2"
  cat "$2"
  printf -- '----- end of %s -----\n' "$1"
}

say "deploy #1: $SOURCE_DIR -> function $FUNCTION, alias live"
deploy first || die "the first deploy failed"
show "job summary" "$WORK/first.summary"
show "outputs" "$WORK/first.outputs"

say "deploy #2: the same, untouched tree"
deploy second || die "the second deploy failed"
show "outputs" "$WORK/second.outputs"
STATUS="$(output_value status "$WORK/second.outputs")"
if [ "$STATUS" = unchanged ]; then
  say "the second deploy reported status=unchanged, as it should"
else
  die "the second deploy reported status='$STATUS', expected 'unchanged'"
fi

say "the local AWS services are still running; stop them with: scripts/local-aws.sh stop"
