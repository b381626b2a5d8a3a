#!/usr/bin/env bash
# Benchmark the S3 upload of a ~200 MB package to the local S3 (moto), next to `aws s3 cp`
# (awscli from PyPI), in the same run, on the same file and bucket.
#
#   scripts/bench-s3.sh            # starts the local services if needed, builds the example
#   RUNS=5 SIZE_MB=200 scripts/bench-s3.sh
#
# lambda-deploy's side is `examples/s3_upload.rs`: the same S3::put_file a deploy with
# s3-bucket runs (skip check, 16 MiB parts four at a time with SHA-256 checksums, read-back),
# each run under a new key so nothing is skipped. awscli runs with its defaults (8 MiB
# parts, 10 threads). Both are timed from the outside, process start to exit; the median
# of RUNS is reported.
#
# Env: RUNS (default 3), SIZE_MB (default 200), AWSCLI_VENV (default
#      ~/.cache/lambda-deploy/venv-awscli), S3_UPLOAD_BIN (skip the build).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
runs="${RUNS:-3}"
size_mb="${SIZE_MB:-200}"
venv="${AWSCLI_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/lambda-deploy/venv-awscli}"

eval "$("$here/local-aws.sh" start)"

if [ ! -x "$venv/bin/aws" ]; then
  echo "installing awscli from PyPI into $venv ..." >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check awscli >&2
fi
aws_cli="$venv/bin/aws"

bin="${S3_UPLOAD_BIN:-}"
if [ -z "$bin" ]; then
  (cd "$repo" && cargo build --release --quiet --example s3_upload)
  bin="$repo/target/release/examples/s3_upload"
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
zip="$work/package.zip"
python3 - "$zip" "$size_mb" <<'PY'
import os, sys, zipfile
out, mb = sys.argv[1], int(sys.argv[2])
with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
    with z.open("blob.bin", "w", force_zip64=True) as f:
        for _ in range(mb):
            f.write(os.urandom(1 << 20))
    z.writestr("app.py", "def handler(e, c):\n    return 'ok'\n")
PY
bytes=$(stat -c %s "$zip")
cat "$zip" >/dev/null   # warm the page cache

bucket="bench-s3-$$-$(date +%s)"
"$aws_cli" s3api create-bucket --bucket "$bucket" >/dev/null

now() { date +%s.%N; }
calc() { awk "BEGIN { print $1 }"; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

ours=()
theirs=()
for i in $(seq 1 "$runs"); do
  t0=$(now)
  "$bin" "$zip" "$bucket" "ours-$i/" bench >"$work/ours.log"
  t1=$(now)
  grep -q "Multipart" "$work/ours.log" || { cat "$work/ours.log" >&2; echo "error: expected a multipart upload" >&2; exit 1; }
  ours+=("$(calc "$t1 - $t0")")

  t0=$(now)
  "$aws_cli" s3 cp --only-show-errors "$zip" "s3://$bucket/theirs-$i/package.zip"
  t1=$(now)
  theirs+=("$(calc "$t1 - $t0")")
done

ours_s=$(printf '%s\n' "${ours[@]}" | median)
theirs_s=$(printf '%s\n' "${theirs[@]}" | median)
mb=$(calc "$bytes / 1048576")
printf 'package: %.1f MiB, %s runs each, median wall time (process start to exit)\n' "$mb" "$runs"
printf '  lambda-deploy S3::put_file : %6.2f s  %7.1f MiB/s   (runs: %s)\n' "$ours_s" "$(calc "$mb / $ours_s")" "${ours[*]}"
printf '  aws s3 cp (%s)   : %6.2f s  %7.1f MiB/s   (runs: %s)\n' "$("$aws_cli" --version 2>&1 | cut -d' ' -f1)" "$theirs_s" "$(calc "$mb / $theirs_s")" "${theirs[*]}"
printf '  ratio (aws s3 cp time / lambda-deploy time): %.2f\n' "$(calc "$theirs_s / $ours_s")"
