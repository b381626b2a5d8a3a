#!/usr/bin/env bash
# Benchmark daemonless image deploys against the local services (scripts/local-aws.sh):
# build and push the image of a generated ~60 MB Lambda-like tree (scripts/bench_tree.py)
# on a base image with a 16 MB layer, then deploy again with one file changed, then with
# nothing changed. Prints wall time and the bytes actually uploaded for each run.
#
#   scripts/bench-image.sh                     # builds target/release/lambda-deploy
#   LAMBDA_DEPLOY_BIN=path/to/bin scripts/bench-image.sh
#
# Env: LAMBDA_DEPLOY_BIN (skip the build), BENCH_DIR (tree and logs; default a temp dir,
#      removed), SCALE (tree size factor for bench_tree.py, default 1).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"

bin="${LAMBDA_DEPLOY_BIN:-}"
if [ -z "$bin" ]; then
  (cd "$repo" && cargo build --release --quiet)
  bin="$repo/target/release/lambda-deploy"
fi
bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"
[ -x "$bin" ] || { echo "error: $bin is not executable; build it or set LAMBDA_DEPLOY_BIN" >&2; exit 1; }

eval "$(bash "$here/local-aws.sh" start)"

if [ -n "${BENCH_DIR:-}" ]; then
  work="$BENCH_DIR"; mkdir -p "$work"
else
  work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
fi
tree="$work/tree"
rm -rf "$tree"
python3 "$here/bench_tree.py" "$tree" --scale "${SCALE:-1}"
input_bytes=$(find "$tree" -type f -printf '%s\n' | awk '{s+=$1} END {print s}')
files=$(find "$tree" -type f | wc -l)
tar cf - -C "$tree" . >/dev/null   # warm the page cache

stamp="$(date +%s)-$$"
base_repo="bench-base-$stamp"
function="bench-image-$stamp"

# A base image in the local registry: one 16 MB layer of random bytes, written here.
python3 - "$REGISTRY" "$REGISTRY_USERNAME" "$REGISTRY_PASSWORD" "$AWS_ENDPOINT_URL" "$base_repo" <<'PY'
import base64, gzip, hashlib, io, json, os, sys, tarfile, urllib.request
registry, user, password, moto, repo = sys.argv[1:]
auth = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()

def call(method, url, body=None, headers=None):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    with urllib.request.urlopen(req) as r:
        return r.status, r.headers, r.read()

# The repository must exist in (moto's) ECR before the registry accepts a manifest.
call("POST", moto, json.dumps({"repositoryName": repo}).encode(), {
    "X-Amz-Target": "AmazonEC2ContainerRegistry_V20150921.CreateRepository",
    "Content-Type": "application/x-amz-json-1.1",
    "Authorization": "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/ecr/aws4_request, SignedHeaders=host, Signature=0",
})

def push_blob(data):
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    _, h, _ = call("POST", f"http://{registry}/v2/{repo}/blobs/uploads/", b"", {"Authorization": auth})
    loc = h["Location"]
    loc = loc if loc.startswith("http") else f"http://{registry}{loc}"
    sep = "&" if "?" in loc else "?"
    call("PUT", f"{loc}{sep}digest={digest}", data, {"Authorization": auth, "Content-Type": "application/octet-stream"})
    return digest

raw = io.BytesIO()
with tarfile.open(fileobj=raw, mode="w") as t:
    payload = os.urandom(16 * 1024 * 1024)
    info = tarfile.TarInfo("opt/base/blob.bin"); info.size = len(payload)
    t.addfile(info, io.BytesIO(payload))
raw = raw.getvalue()
layer = gzip.compress(raw, mtime=0)
config = json.dumps({"architecture": "amd64", "os": "linux",
    "config": {"Entrypoint": ["/lambda-entrypoint.sh"], "WorkingDir": "/var/task"},
    "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(raw).hexdigest()]},
    "history": [{"created_by": "bench base"}]}).encode()
manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": push_blob(config), "size": len(config)},
    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": push_blob(layer), "size": len(layer)}]}).encode()
call("PUT", f"http://{registry}/v2/{repo}/manifests/1", manifest,
     {"Authorization": auth, "Content-Type": "application/vnd.oci.image.manifest.v1+json"})
PY

run() {   # run LABEL SHA: one deploy; prints "LABEL seconds uploaded-bytes status"
  local label="$1" sha="$2" log="$work/$1.log" t0 t1
  t0=$(date +%s%N)
  GITHUB_SHA="$sha" LAMBDA_DEPLOY_LOG=info "$bin" \
    --function-name "$function" --package-type image --source-dir "$tree" \
    --handler index.handler --role "$LAMBDA_DEPLOY_TEST_ROLE" \
    --base-image "$REGISTRY/$base_repo:1" --registry-endpoint "http://$REGISTRY" \
    --format json >"$work/$label.json" 2>"$log"
  t1=$(date +%s%N)
  local uploaded status
  uploaded=$(grep -o 'uploaded=[0-9]*' "$log" | tail -1 | cut -d= -f2)
  status=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["status"])' "$work/$label.json")
  printf '%-28s %8s s %14s B   %s\n' "$label" "$(awk -v n=$((t1 - t0)) 'BEGIN { printf "%.2f", n / 1e9 }')" "${uploaded:-0}" "$status"
}

echo "tree: $files files, $input_bytes bytes; base: one 16 MiB layer; binary: $bin"
printf '%-28s %10s %16s   %s\n' "run" "wall" "uploaded" "status"
run "first build and push" 1111111111111111111111111111111111111111
printf '\n// changed\n' >>"$(find "$tree" -name '*.js' | sort | head -1)"
run "one file changed" 2222222222222222222222222222222222222222
run "nothing changed" 2222222222222222222222222222222222222222
