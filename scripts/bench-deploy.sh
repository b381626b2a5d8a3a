#!/usr/bin/env bash
# Benchmark whole deploys against the local AWS emulator (scripts/local-aws.sh), next to
# the script a workflow would otherwise run: `zip -r` + awscli, in the same run, on the
# same trees.
#
#   scripts/bench-deploy.sh                  # builds target/release/lambda-deploy
#   RUNS=3 LAMBDA_DEPLOY_BIN=path/to/bin scripts/bench-deploy.sh
#
# Three scenarios, each timed from process start to exit (median of RUNS):
#   create     the function does not exist yet
#   unchanged  the same tree deployed again
#   changed    one file's content changed, deployed again
# on two trees:
#   node    ~22 MB made by scripts/bench_tree.py (its data/ and three of its four native
#           binaries left out); uploaded in the request: lambda-deploy without s3-bucket,
#           the baseline with `--zip-file fileb://`
#   python  ~190 MB of real files (scripts/bench_pytree.py: a real site-packages, by
#           default the moto venv's, plus Python's standard library, trimmed or padded);
#           both tools go through S3 (lambda-deploy with s3-bucket)
# The baseline is `zip -r -q -X`, `aws s3 cp` (python tree), then `aws lambda
# create-function` + `aws lambda wait function-active-v2`, or `aws lambda
# update-function-code` + `aws lambda wait function-updated-v2`. lambda-deploy runs as the
# CLI with its inputs in INPUT_* variables and its defaults otherwise (so it also publishes
# a version on each change, which the baseline does not). Each run uses new function names
# per (tree, tool), so neither sees the other's state. `zip -r` alone is timed too, and
# lambda-deploy's time is printed as a fraction of it.
# Goals (python tree): unchanged redeploy < 0.35 s and <= 0.10x zip -r; changed <= 0.30x.
# A benchmark, not a test: the figures depend on the machine and are only printed.
#
# Env: RUNS (default 5), LAMBDA_DEPLOY_BIN (skip the build), BENCH_DIR (trees and logs;
#      default a temp dir, removed), KEEP=1 (keep the work dir, the functions and the
#      bucket), NODE_SCALE (bench_tree.py --scale, default 0.55), PY_MB (python tree
#      target size in MB, default 190), PY_SITE_PACKAGES (default: the moto venv's),
#      AWSCLI_VENV (default ~/.cache/lambda-deploy/venv-awscli).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
runs="${RUNS:-5}"
keep="${KEEP:-0}"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/lambda-deploy"
venv="${AWSCLI_VENV:-$cache/venv-awscli}"

need_apt=()
command -v zip >/dev/null || need_apt+=(zip)
command -v python3 >/dev/null || need_apt+=(python3)
if [ "${#need_apt[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "installing ${need_apt[*]} ..." >&2
    apt-get update -qq >/dev/null && apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    echo "error: missing ${need_apt[*]}; install them (apt-get install ${need_apt[*]}) and re-run" >&2
    exit 1
  fi
fi

bin="${LAMBDA_DEPLOY_BIN:-}"
if [ -z "$bin" ]; then
  (cd "$repo" && cargo build --release --quiet)
  bin="$repo/target/release/lambda-deploy"
fi
bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"
[ -x "$bin" ] || { echo "error: $bin is not executable; build it or set LAMBDA_DEPLOY_BIN" >&2; exit 1; }

eval "$(bash "$here/local-aws.sh" start)"
role="$LAMBDA_DEPLOY_TEST_ROLE"

if [ ! -x "$venv/bin/aws" ]; then
  echo "installing awscli from PyPI into $venv ..." >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check awscli >&2
fi
aws_cli="$venv/bin/aws"

site="${PY_SITE_PACKAGES:-}"
if [ -z "$site" ]; then
  moto_venv="${LAMBDA_DEPLOY_VENV:-$cache/venv-moto-${LAMBDA_DEPLOY_MOTO_VERSION:-5.2.5}}"
  site="$("$moto_venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
fi

if [ -n "${BENCH_DIR:-}" ]; then
  work="$BENCH_DIR"; mkdir -p "$work"
else
  work="$(mktemp -d)"
fi
stamp="bench-deploy-$$-$(date +%s)"
bucket="$stamp"
functions=()
cleanup() {
  if [ "$keep" = 1 ]; then
    echo "kept: work dir $work, bucket $bucket, functions ${functions[*]}" >&2
    return
  fi
  for f in "${functions[@]}"; do
    "$aws_cli" lambda delete-function --function-name "$f" >/dev/null 2>&1 || true
  done
  "$aws_cli" s3 rb --force "s3://$bucket" >/dev/null 2>&1 || true
  if [ -z "${BENCH_DIR:-}" ]; then rm -rf "$work"; fi
}
trap cleanup EXIT
"$aws_cli" s3api create-bucket --bucket "$bucket" >/dev/null

# The trees. Each gets a handler file, which is also the file the `changed` runs edit.
echo "making the trees in $work ..." >&2
rm -rf "$work/node" "$work/python"
python3 "$here/bench_tree.py" "$work/node" --scale "${NODE_SCALE:-0.55}"
rm -rf "$work/node/data"
rm -f "$work/node/node_modules/native/build/"{libvips.so.42,_cffi_backend.so,libcrypto.so.3}
python3 "$here/bench_pytree.py" "$work/python" "$site" --mb "${PY_MB:-190}" >/dev/null
printf 'def handler(event, context):\n    return "ok"\n' >"$work/python/app.py"
declare -A runtime=([node]=nodejs20.x [python]=python3.12)
declare -A handler=([node]=index.handler [python]=app.handler)
declare -A edited=([node]=index.js [python]=app.py)
declare -A comment=([node]=// [python]=\#)

results="$work/results.txt"
: >"$work/trees.txt"
: >"$results"
now() { date +%s%N; }
# record SCENARIO TREE TOOL T0 T1
record() { echo "$1 $2 $3 $(( ($5 - $4) / 1000 ))" >>"$results"; }

# ld_deploy TREE FUNCTION STATUS: one lambda-deploy run; fails unless it reports STATUS.
ld_deploy() {
  local tree="$1" fn="$2" want="$3" s3=()
  if [ "$tree" = python ]; then s3=("INPUT_S3-BUCKET=$bucket"); fi
  : >"$work/github-output"
  (cd "$work" && env GITHUB_WORKSPACE="$work" GITHUB_OUTPUT="$work/github-output" \
    "INPUT_FUNCTION-NAME=$fn" "INPUT_SOURCE-DIR=$tree" "INPUT_ROLE=$role" \
    "INPUT_RUNTIME=${runtime[$tree]}" "INPUT_HANDLER=${handler[$tree]}" "${s3[@]}" \
    "$bin" >"$work/lambda-deploy.log" 2>&1) \
    || { cat "$work/lambda-deploy.log" >&2; echo "error: lambda-deploy failed on $fn" >&2; exit 1; }
  grep -qx "status=$want" "$work/github-output" \
    || { cat "$work/github-output" >&2; echo "error: $fn: expected status=$want" >&2; exit 1; }
}

# base_deploy TREE FUNCTION create|update: zip -r, aws s3 cp (python), create or update, wait.
base_deploy() {
  local tree="$1" fn="$2" mode="$3" zip="$work/baseline.zip" key="baseline/$2.zip" code=()
  rm -f "$zip"
  (cd "$work/$tree" && zip -r -q -X "$zip" .)
  if [ "$tree" = python ]; then
    "$aws_cli" s3 cp --only-show-errors "$zip" "s3://$bucket/$key"
    if [ "$mode" = create ]; then code=(--code "S3Bucket=$bucket,S3Key=$key"); else code=(--s3-bucket "$bucket" --s3-key "$key"); fi
  else
    code=(--zip-file "fileb://$zip")
  fi
  if [ "$mode" = create ]; then
    "$aws_cli" lambda create-function --function-name "$fn" --role "$role" \
      --runtime "${runtime[$tree]}" --handler "${handler[$tree]}" "${code[@]}" >/dev/null
    "$aws_cli" lambda wait function-active-v2 --function-name "$fn"
  else
    "$aws_cli" lambda update-function-code --function-name "$fn" "${code[@]}" >/dev/null
    "$aws_cli" lambda wait function-updated-v2 --function-name "$fn"
  fi
}

# timed SCENARIO TREE TOOL CMD...: runs CMD and records its wall time.
timed() {
  local scenario="$1" tree="$2" tool="$3" t0 t1
  shift 3
  t0=$(now)
  "$@"
  t1=$(now)
  record "$scenario" "$tree" "$tool" "$t0" "$t1"
}

for tree in node python; do
  tar cf - -C "$work/$tree" . >/dev/null   # warm the page cache
  for _ in $(seq "$runs"); do
    rm -f "$work/zip-only.zip"
    # shellcheck disable=SC2016 # $1/$2 are expanded by the inner sh
    timed zip "$tree" zip sh -c 'cd "$1" && zip -r -q -X "$2" .' sh "$work/$tree" "$work/zip-only.zip"
  done
  echo "$tree $(find "$work/$tree" -type f -printf '%s\n' | awk '{s+=$1} END {print s}') $(find "$work/$tree" -type f | wc -l) $(stat -c %s "$work/zip-only.zip")" >>"$work/trees.txt"
done

for i in $(seq "$runs"); do
  for tree in node python; do
    echo "run $i/$runs: $tree tree ..." >&2
    ld="$stamp-$tree-ld-$i"
    base="$stamp-$tree-base-$i"
    functions+=("$ld" "$base")
    timed create "$tree" ld ld_deploy "$tree" "$ld" deployed
    timed create "$tree" base base_deploy "$tree" "$base" create
    timed unchanged "$tree" ld ld_deploy "$tree" "$ld" unchanged
    timed unchanged "$tree" base base_deploy "$tree" "$base" update
    echo "${comment[$tree]} edit $i" >>"$work/$tree/${edited[$tree]}"
    timed changed "$tree" ld ld_deploy "$tree" "$ld" deployed
    timed changed "$tree" base base_deploy "$tree" "$base" update
  done
done

python3 - "$results" "$work/trees.txt" "$runs" "$(nproc)" "$("$aws_cli" --version 2>&1 | cut -d' ' -f1)" <<'PY'
import statistics, sys
results, trees, runs, cores, awscli = sys.argv[1:6]
t = {}
for line in open(results):
    scenario, tree, tool, us = line.split()
    t.setdefault((scenario, tree, tool), []).append(int(us) / 1e6)
med = {k: statistics.median(v) for k, v in t.items()}
print(f"{runs} runs each, median wall time (process start to exit); {cores} cores; baseline: zip -r + {awscli}")
for line in open(trees):
    tree, size, files, zsize = line.split()
    how = "through S3 (s3-bucket / aws s3 cp)" if tree == "python" else "in the request (no s3-bucket / fileb://)"
    print(f"  {tree} tree: {int(size) / 1e6:.1f} MB in {files} files, zip {int(zsize) / 1e6:.1f} MB, "
          f"zip -r alone {med[('zip', tree, 'zip')]:.2f} s; uploaded {how}")
print(f"{'scenario':<11}{'tree':<8}{'lambda-deploy s':>16}{'baseline s':>12}{'baseline/ld':>13}{'ld/zip -r':>11}")
for scenario in ("create", "unchanged", "changed"):
    for tree in ("node", "python"):
        ld, base, z = med[(scenario, tree, "ld")], med[(scenario, tree, "base")], med[("zip", tree, "zip")]
        print(f"{scenario:<11}{tree:<8}{ld:>16.3f}{base:>12.3f}{base / ld:>12.1f}x{ld / z:>10.2f}x")
z = med[("zip", "python", "zip")]
u, c = med[("unchanged", "python", "ld")], med[("changed", "python", "ld")]
yes = lambda ok: "met" if ok else "NOT met"
print(f"goals (python tree): unchanged {u:.3f} s < 0.35 s: {yes(u < 0.35)}; "
      f"{u / z:.2f}x zip -r <= 0.10x: {yes(u / z <= 0.10)}; changed {c / z:.2f}x zip -r <= 0.30x: {yes(c / z <= 0.30)}")
PY
