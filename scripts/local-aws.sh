#!/usr/bin/env bash
# scripts/local-aws.sh: the local AWS services lambda-deploy's tests and demo run against.
#
#   eval "$(scripts/local-aws.sh start)"   # install if needed, start (or reuse), print exports
#   scripts/local-aws.sh start|env|status|stop [--purge]|restart|install [APT-PKG...]
#
#   start     install what is missing, start the services (or reuse running ones), print exports
#   env       print the exports of the running services
#   status    exit 0 if all services answer, 1 otherwise
#   stop      stop exactly the processes this script started; --purge also deletes the state dir
#   restart   stop, then start
#   install   install what the services need (plus any extra Debian packages named), start nothing
#
# Everything listens on 127.0.0.1 only. stdout carries ONLY `export`/`unset` lines, so it is
# safe to eval; progress and errors go to stderr.
#
# Services
#   moto_server      AWS APIs (Lambda, S3, ECR, IAM, STS, CloudWatch) -> AWS_ENDPOINT_URL
#                    CloudWatch answers on the same endpoint (alarms for traffic shifts:
#                    PutMetricAlarm, SetAlarmState, DescribeAlarms over the awsQuery protocol).
#                    Lambda runs moto's "simple" backend (no Docker engine needed for Invoke).
#                    An IAM role `lambda-deploy-test` (trusting lambda.amazonaws.com) is created
#                    for tests and the demo                      -> LAMBDA_DEPLOY_TEST_ROLE
#   docker-registry  OCI distribution registry, htpasswd basic auth as user AWS with the
#                    password moto's ecr:GetAuthorizationToken hands out -> REGISTRY_DIRECT
#   ecr-sync proxy   scripts/ecr_sync_proxy.py in front of the registry (on by default): manifest
#                    pushes are checked against and recorded in moto ECR, so DescribeImages sees
#                    them, IMMUTABLE tags are enforced and moto Lambda resolves ImageUri to the
#                    pushed digest                               -> REGISTRY
#
# Settings (environment)
#   LAMBDA_DEPLOY_HARNESS_DIR    state: pids, ports, logs, registry data     [<repo>/.harness]
#   LAMBDA_DEPLOY_VENV           python venv holding moto    [~/.cache/lambda-deploy/venv-moto-<ver>]
#   LAMBDA_DEPLOY_PYTHON         python used to create the venv              [python3]
#   LAMBDA_DEPLOY_MOTO_VERSION   moto version from PyPI                      [5.2.5]
#   LAMBDA_DEPLOY_REGION / LAMBDA_DEPLOY_ACCOUNT_ID                  [us-east-1 / 123456789012]
#   LAMBDA_DEPLOY_MOTO_PORT / _REGISTRY_PORT / _PROXY_PORT  fixed ports (default: free ones)
#   LAMBDA_DEPLOY_ECR_SYNC=0       no proxy: REGISTRY is the bare registry, moto keeps stub ECR
#   LAMBDA_DEPLOY_REGISTRY_AUTH=0  registry without basic auth
#   LAMBDA_DEPLOY_IMAGE_TOOLS=1    also install skopeo and umoci (to build/push test images)
#   LAMBDA_DEPLOY_INSTALL=0        never install anything (fail if something is missing)
#   LAMBDA_DEPLOY_MOTO_ENV="K=V …" extra environment for moto_server
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"

MODE="${1:-start}"
[ "$#" -gt 0 ] && shift
STATE="${LAMBDA_DEPLOY_HARNESS_DIR:-$REPO/.harness}"
MOTO_VERSION="${LAMBDA_DEPLOY_MOTO_VERSION:-5.2.5}"
# Only the services lambda-deploy talks to: about half the install of moto[server].
MOTO_EXTRAS="awslambda,ecr,s3,iam,sts,cloudwatch"
VENV="${LAMBDA_DEPLOY_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/lambda-deploy/venv-moto-$MOTO_VERSION}"
BASE_PYTHON="${LAMBDA_DEPLOY_PYTHON:-python3}"
REGION="${LAMBDA_DEPLOY_REGION:-us-east-1}"
ACCOUNT="${LAMBDA_DEPLOY_ACCOUNT_ID:-123456789012}"
ECR_SYNC="${LAMBDA_DEPLOY_ECR_SYNC:-1}"
REG_AUTH="${LAMBDA_DEPLOY_REGISTRY_AUTH:-1}"
IMAGE_TOOLS="${LAMBDA_DEPLOY_IMAGE_TOOLS:-0}"
ALLOW_INSTALL="${LAMBDA_DEPLOY_INSTALL:-1}"
TEST_ROLE_NAME="lambda-deploy-test"

PIDFILE="$STATE/pids"
PORTFILE="$STATE/ports"
ENVFILE="$STATE/env.sh"
LOGS="$STATE/logs"
# moto's ecr:GetAuthorizationToken returns base64("AWS:<account>-auth-token"); the registry
# accepts the same pair, so a client that logs in through ECR can push. A local test password.
REG_PASSWORD="${ACCOUNT}-auth-token"

log() { printf '[local-aws] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
now_ms() { date +%s%3N; }

# ------------------------------------------------------------------------------ install
PY=""   # the venv's python once it is usable

venv_ok() {
  [ -x "$VENV/bin/python" ] && "$VENV/bin/python" - "$MOTO_VERSION" 2>/dev/null <<'EOF'
import sys, importlib.metadata as md
assert md.version("moto") == sys.argv[1]
import bcrypt, boto3, flask, flask_cors  # noqa: F401
import moto.cloudwatch.models  # noqa: F401
EOF
}

APT_UPDATED=0
apt_install() {   # apt_install PKG...
  [ "$#" -gt 0 ] || return 0
  [ "$ALLOW_INSTALL" = 1 ] || die "missing Debian packages: $* (LAMBDA_DEPLOY_INSTALL=0)"
  command -v apt-get >/dev/null || die "apt-get not found: install $* by hand"
  local sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  mkdir -p "$LOGS"
  local ilog="$LOGS/install.log" t0 tmp_policy=0
  t0=$(now_ms)
  # Debian's docker-registry package would start a system-wide registry on :5000 (all
  # interfaces) from its postinst. A deny-all policy-rc.d, only for this install, stops that.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
    $sudo chmod +x /usr/sbin/policy-rc.d
    tmp_policy=1
  fi
  local rc=0
  if [ "$APT_UPDATED" = 0 ]; then
    log "apt-get update"
    $sudo apt-get update -qq >>"$ilog" 2>&1 || rc=$?
    APT_UPDATED=1
  fi
  if [ "$rc" = 0 ]; then
    log "apt-get install $*"
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" \
      </dev/null >>"$ilog" 2>&1 || rc=$?
  fi
  if [ "$tmp_policy" = 1 ]; then $sudo rm -f /usr/sbin/policy-rc.d; fi
  if [ "$rc" != 0 ]; then tail -20 "$ilog" >&2; die "apt-get failed for $* (log: $ilog)"; fi
  log "installed $* in $(( $(now_ms) - t0 )) ms"
}

install_venv() {
  if venv_ok; then PY="$VENV/bin/python"; return 0; fi
  [ "$ALLOW_INSTALL" = 1 ] || die "no moto $MOTO_VERSION venv at $VENV (LAMBDA_DEPLOY_INSTALL=0)"
  mkdir -p "$LOGS" "$(dirname "$VENV")"
  local ilog="$LOGS/install.log" t0
  t0=$(now_ms)
  if [ ! -x "$VENV/bin/pip" ]; then
    rm -rf "$VENV"
    if ! "$BASE_PYTHON" -m venv "$VENV" >>"$ilog" 2>&1; then
      # Debian's own python3 ships venv/ensurepip in a separate package.
      apt_install python3-venv
      rm -rf "$VENV"
      "$BASE_PYTHON" -m venv "$VENV" >>"$ilog" 2>&1 || { tail -5 "$ilog" >&2; die "could not create $VENV"; }
    fi
  fi
  log "pip install moto[$MOTO_EXTRAS]==$MOTO_VERSION into $VENV"
  if ! "$VENV/bin/pip" install -q --disable-pip-version-check --no-input \
      "moto[$MOTO_EXTRAS]==$MOTO_VERSION" flask flask-cors bcrypt boto3 </dev/null >>"$ilog" 2>&1; then
    tail -20 "$ilog" >&2
    die "pip install failed (log: $ilog)"
  fi
  venv_ok || die "moto $MOTO_VERSION venv at $VENV is not usable after install"
  PY="$VENV/bin/python"
  log "venv ready in $(( $(now_ms) - t0 )) ms"
}

# shellcheck disable=SC2120  # extra packages come from `install PKG...` via with_lock
install_all() {   # install_all [EXTRA-APT-PKG...]
  local pkgs=() p
  command -v curl >/dev/null || pkgs+=(curl)
  command -v setsid >/dev/null || pkgs+=(util-linux)
  command -v docker-registry >/dev/null || pkgs+=(docker-registry)
  if [ "$IMAGE_TOOLS" = 1 ]; then
    command -v skopeo >/dev/null || pkgs+=(skopeo)
    command -v umoci >/dev/null || pkgs+=(umoci)
  fi
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || pkgs+=("$p")
  done
  apt_install "${pkgs[@]+"${pkgs[@]}"}"
  install_venv
}

# ------------------------------------------------------------------------------ processes
free_ports() {   # free_ports N: N distinct free loopback ports
  "$PY" - "$1" <<'EOF'
import socket, sys
held = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    held.append(s)
print(" ".join(str(s.getsockname()[1]) for s in held))
EOF
}

http_code() { curl -s -o /dev/null -m 2 -w '%{http_code}' "$@" 2>/dev/null || true; }

wait_http() {   # wait_http URL CODE-REGEX TIMEOUT-S NAME
  local url="$1" want="$2" name="$4" i=0 max=$(( $3 * 20 )) c
  while [ "$i" -lt "$max" ]; do
    c=$(http_code "$url")
    if [[ "$c" =~ ^($want)$ ]]; then return 0; fi
    sleep 0.05
    i=$((i + 1))
  done
  die "$name did not answer at $url within ${3}s (logs: $LOGS)"
}

# spawn NAME CMD...: run detached in its own session with stdio redirected (so that
# `eval "$(scripts/local-aws.sh start)"` never waits on it); records "NAME PID" in $PIDFILE.
spawn() {
  local name="$1" pf="$STATE/.$1.pid" i=0
  shift
  rm -f "$pf"
  # shellcheck disable=SC2016  # $$ and $@ belong to the inner sh
  # 9>&- : the service must not hold the lock of this script (see with_lock).
  setsid sh -c 'echo $$ > "$1"; shift; exec "$@"' sh "$pf" "$@" </dev/null >>"$LOGS/$name.log" 2>&1 9>&- &
  while [ ! -s "$pf" ] && [ "$i" -lt 100 ]; do sleep 0.02; i=$((i + 1)); done
  [ -s "$pf" ] || die "could not start $name"
  echo "$name $(cat "$pf")" >>"$PIDFILE"
  rm -f "$pf"
}

pid_of() { awk -v n="$1" '$1 == n { print $2 }' "$PIDFILE" 2>/dev/null; }
port_of() { awk -v n="$1" '$1 == n { print $2 }' "$PORTFILE" 2>/dev/null; }

# What the command line of each of our processes contains: a recorded PID only counts as
# ours while its process still shows this (guards against PID reuse).
marker_for() {
  case "$1" in
    moto) echo "moto.server -H 127.0.0.1 -p $(port_of moto)" ;;
    registry) echo "$STATE/registry/config.yml" ;;
    proxy) echo "ecr_sync_proxy.py --listen $(port_of proxy) " ;;
    *) echo "/nonexistent/$1" ;;
  esac
}

is_ours() {   # is_ours PID MARKER
  [ -n "$1" ] && [ -r "/proc/$1/cmdline" ] && tr '\0' ' ' <"/proc/$1/cmdline" | grep -qF -- "$2"
}

all_alive() {
  [ -s "$PIDFILE" ] && [ -s "$ENVFILE" ] || return 1
  local n p
  while read -r n p; do is_ours "$p" "$(marker_for "$n")" || return 1; done <"$PIDFILE"
  # shellcheck disable=SC1090,SC2153  # REGISTRY comes from the env file
  ( . "$ENVFILE"
    [ "$(http_code "$AWS_ENDPOINT_URL/moto-api/")" = 200 ] &&
    [[ "$(http_code "http://$REGISTRY/v2/")" =~ ^(200|401)$ ]] )
}

stop_all() {
  [ -s "$PIDFILE" ] || { log "nothing running (no pids in $PIDFILE)"; rm -f "$ENVFILE"; return 0; }
  local n p i
  # Reverse start order: proxy, registry, moto.
  while read -r n p; do
    if is_ours "$p" "$(marker_for "$n")"; then
      kill "$p" 2>/dev/null || true
      i=0
      while kill -0 "$p" 2>/dev/null && [ "$i" -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
      if kill -0 "$p" 2>/dev/null; then kill -9 "$p" 2>/dev/null || true; fi
      log "stopped $n (pid $p)"
    else
      log "$n (pid $p) is not running (or not ours): skipped"
    fi
  done < <(tac "$PIDFILE")
  rm -f "$PIDFILE" "$ENVFILE" "$PORTFILE"
}

write_htpasswd() {
  "$PY" - "$REG_PASSWORD" >"$STATE/registry/htpasswd" <<'EOF'
import sys, bcrypt
print("AWS:" + bcrypt.hashpw(sys.argv[1].encode(), bcrypt.gensalt(rounds=5)).decode())
EOF
}

write_registry_config() {   # write_registry_config PORT
  {
    echo "version: 0.1"
    echo "log: {level: warn, accesslog: {disabled: true}}"
    echo "storage:"
    echo "  filesystem: {rootdirectory: $STATE/registry/data}"
    echo "  delete: {enabled: true}"
    echo "  cache: {blobdescriptor: inmemory}"
    echo "http:"
    echo "  addr: 127.0.0.1:$1"
    echo "  secret: lambda-deploy-local-registry"
    if [ "$REG_AUTH" = 1 ]; then
      echo "auth:"
      echo "  htpasswd: {realm: lambda-deploy-local, path: $STATE/registry/htpasswd}"
    fi
  } >"$STATE/registry/config.yml"
}

# The role tests and the demo hand to CreateFunction; idempotent.
ensure_test_role() {   # ensure_test_role ENDPOINT -> prints the role ARN
  AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test \
    "$PY" - "$1" "$REGION" "$TEST_ROLE_NAME" <<'EOF'
import json, sys
import boto3
endpoint, region, name = sys.argv[1:4]
iam = boto3.client("iam", endpoint_url=endpoint, region_name=region)
trust = {
    "Version": "2012-10-17",
    "Statement": [{
        "Effect": "Allow",
        "Principal": {"Service": "lambda.amazonaws.com"},
        "Action": "sts:AssumeRole",
    }],
}
try:
    role = iam.get_role(RoleName=name)["Role"]
except iam.exceptions.NoSuchEntityException:
    role = iam.create_role(
        RoleName=name,
        AssumeRolePolicyDocument=json.dumps(trust),
        Description="execution role for lambda-deploy's local tests and demo",
    )["Role"]
print(role["Arn"])
EOF
}

start_all() {
  mkdir -p "$LOGS" "$STATE/registry/data"
  if all_alive; then
    log "already running (state in $STATE)"
    cat "$ENVFILE"
    return 0
  fi
  if [ -s "$PIDFILE" ]; then log "stale or partial services found: stopping them"; stop_all; fi
  local t0 t1
  t0=$(now_ms)
  # shellcheck disable=SC2119  # start installs no extra packages
  install_all
  t1=$(now_ms)
  : >"$PIDFILE"

  local p1 p2 p3
  read -r p1 p2 p3 <<<"$(free_ports 3)"
  local moto_port="${LAMBDA_DEPLOY_MOTO_PORT:-$p1}"
  local reg_port="${LAMBDA_DEPLOY_REGISTRY_PORT:-$p2}"
  local proxy_port="${LAMBDA_DEPLOY_PROXY_PORT:-$p3}"
  printf 'moto %s\nregistry %s\nproxy %s\n' "$moto_port" "$reg_port" "$proxy_port" >"$PORTFILE"
  local endpoint="http://127.0.0.1:$moto_port"

  # moto. With the proxy, ECR is real enough for Lambda to resolve ImageUri digests.
  local stub_ecr=true
  if [ "$ECR_SYNC" = 1 ]; then stub_ecr=false; fi
  # shellcheck disable=SC2086  # LAMBDA_DEPLOY_MOTO_ENV is a list of K=V words
  spawn moto env MOTO_ACCOUNT_ID="$ACCOUNT" MOTO_LAMBDA_STUB_ECR="$stub_ecr" ${LAMBDA_DEPLOY_MOTO_ENV:-} \
    "$PY" -m moto.server -H 127.0.0.1 -p "$moto_port"

  # registry (starts while moto imports)
  write_registry_config "$reg_port"
  if [ "$REG_AUTH" = 1 ]; then write_htpasswd; fi
  spawn registry docker-registry serve "$STATE/registry/config.yml"

  wait_http "$endpoint/moto-api/" 200 60 moto_server
  # No Docker engine here: switch Lambda to the simple backend before anything is created
  # (the simple backend keeps its own, separate storage).
  curl -sf -m 5 -X POST -H 'Content-Type: application/json' \
    -d '{"lambda":{"use_docker":false}}' "$endpoint/moto-api/config" >/dev/null \
    || die "could not switch moto Lambda to the simple backend"
  local role_arn
  role_arn="$(ensure_test_role "$endpoint")" || die "could not create the IAM test role"

  wait_http "http://127.0.0.1:$reg_port/v2/" "200|401" 30 docker-registry
  local registry="127.0.0.1:$reg_port"
  if [ "$ECR_SYNC" = 1 ]; then
    spawn proxy "$PY" "$HERE/ecr_sync_proxy.py" --listen "$proxy_port" --upstream "$reg_port" \
      --moto "$endpoint" --region "$REGION"
    wait_http "http://127.0.0.1:$proxy_port/v2/" "200|401" 30 ecr-sync-proxy
    registry="127.0.0.1:$proxy_port"
  fi

  {
    echo "export AWS_ENDPOINT_URL=$endpoint"
    echo "export AWS_ACCESS_KEY_ID=test"
    echo "export AWS_SECRET_ACCESS_KEY=test"
    echo "unset AWS_SESSION_TOKEN AWS_SECURITY_TOKEN AWS_PROFILE"
    echo "export AWS_REGION=$REGION"
    echo "export AWS_DEFAULT_REGION=$REGION"
    echo "export AWS_EC2_METADATA_DISABLED=true"
    echo "export HARNESS_ACCOUNT_ID=$ACCOUNT"
    echo "export LAMBDA_DEPLOY_TEST_ROLE=$role_arn"
    echo "export REGISTRY=$registry"
    echo "export REGISTRY_URL=http://$registry"
    echo "export REGISTRY_DIRECT=127.0.0.1:$reg_port"
    echo "export REGISTRY_USERNAME=AWS"
    echo "export REGISTRY_PASSWORD=$REG_PASSWORD"
    echo "export LAMBDA_DEPLOY_HARNESS_DIR=$STATE"
    echo "export HARNESS_MOTO_PID=$(pid_of moto)"
    echo "export HARNESS_REGISTRY_PID=$(pid_of registry)"
    if [ "$ECR_SYNC" = 1 ]; then echo "export HARNESS_PROXY_PID=$(pid_of proxy)"; fi
    echo "export HARNESS_PIDS=\"$(awk '{ printf "%s%s", sep, $2; sep = " " }' "$PIDFILE")\""
  } >"$ENVFILE"
  log "started in $(( $(now_ms) - t1 )) ms (install check $(( t1 - t0 )) ms); logs in $LOGS"
  cat "$ENVFILE"
}

# One invocation at a time per state dir (test.sh and demo.sh may race).
with_lock() {
  mkdir -p "$STATE"
  exec 9>"$STATE/.lock"
  if command -v flock >/dev/null; then flock -w 300 9 || die "timed out waiting for $STATE/.lock"; fi
  "$@"
}

case "$MODE" in
  start) with_lock start_all ;;
  restart) with_lock stop_all; start_all ;;
  stop)
    if [ -d "$STATE" ]; then with_lock stop_all; else log "nothing running (no $STATE)"; fi
    if [ "${1:-}" = "--purge" ]; then rm -rf "$STATE"; log "purged $STATE"; fi ;;
  env)
    if [ -s "$ENVFILE" ]; then cat "$ENVFILE"; else die "not running (no $ENVFILE): run '$0 start'"; fi ;;
  status)
    if all_alive; then log "running (state in $STATE)"; cat "$PIDFILE" >&2; exit 0; fi
    log "not running"; exit 1 ;;
  install) with_lock install_all "$@"; log "moto venv: $PY" ;;
  -h|--help|help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0" >&2 ;;
  *) die "unknown command '$MODE' (start|env|status|stop [--purge]|restart|install)" ;;
esac
