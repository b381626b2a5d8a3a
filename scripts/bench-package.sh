#!/usr/bin/env bash
# Benchmark `lambda-deploy package` against Info-ZIP and Python's zipfile on a
# generated, deterministic ~60 MB Lambda-like tree (scripts/bench_tree.py).
#
#   scripts/bench-package.sh                  # builds target/release/lambda-deploy
#   LAMBDA_DEPLOY_BIN=path/to/bin RUNS=7 scripts/bench-package.sh
#
# Env: LAMBDA_DEPLOY_BIN (skip the build), RUNS (default 5, median reported),
#      BENCH_DIR (where the tree and outputs go; default a temp dir, removed).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
runs="${RUNS:-5}"

need_apt=()
command -v zip >/dev/null || need_apt+=(zip)
[ -x /usr/bin/time ] || need_apt+=(time)
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

if [ -n "${BENCH_DIR:-}" ]; then
  work="$BENCH_DIR"; mkdir -p "$work"
else
  work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
fi
tree="$work/tree"
rm -rf "$tree"
python3 "$here/bench_tree.py" "$tree"
input_bytes=$(find "$tree" -type f -printf '%s\n' | awk '{s+=$1} END {print s}')
files=$(find "$tree" -type f | wc -l)
tar cf - -C "$tree" . >/dev/null   # warm the page cache

pyzip="$work/pyzip.py"
cat >"$pyzip" <<'PY'
import os, sys, zipfile
src, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
    for d, dirs, names in os.walk(src):
        dirs.sort()
        for n in sorted(names):
            p = os.path.join(d, n)
            z.write(p, os.path.relpath(p, src))
PY

results="$work/results.txt"
: >"$results"
# run_tool NAME OUTPUT CMD...: RUNS timed runs; records "name secs rss_kb size".
run_tool() {
  local name="$1" out="$2"; shift 2
  for _ in $(seq "$runs"); do
    rm -f "$out"
    local t0 t1
    t0=$(date +%s%N)
    /usr/bin/time -f '%M' -o "$work/rss" "$@" >/dev/null
    t1=$(date +%s%N)
    echo "$name $(( (t1 - t0) / 1000 )) $(tail -n1 "$work/rss") $(stat -c %s "$out")" >>"$results"
  done
}

run_tool lambda-deploy "$work/ld.zip" "$bin" package --source-dir "$tree" --output "$work/ld.zip"
# shellcheck disable=SC2016 # $1/$2 are expanded by the inner sh
run_tool info-zip "$work/iz.zip" sh -c 'cd "$1" && zip -r -q -X "$2" .' sh "$tree" "$work/iz.zip"
run_tool python-zipfile "$work/py.zip" python3 "$pyzip" "$tree" "$work/py.zip"

python3 - "$results" "$input_bytes" "$files" "$runs" "$(nproc)" <<'PY'
import statistics, sys
path, input_bytes, files, runs, cores = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
rows = {}
for line in open(path):
    name, us, rss, size = line.split()
    r = rows.setdefault(name, {"t": [], "rss": [], "size": int(size)})
    r["t"].append(int(us) / 1e6)
    r["rss"].append(int(rss))
med = {n: statistics.median(r["t"]) for n, r in rows.items()}
base_t, base_s = med["info-zip"], rows["info-zip"]["size"]
print(f"input: {input_bytes / 1e6:.1f} MB in {files} files; {runs} runs each, median; {cores} cores")
print(f"{'tool':<16}{'median s':>10}{'MB/s':>9}{'output MB':>11}{'peak RSS MB':>13}{'speed vs zip':>14}{'size vs zip':>13}")
for n in ("lambda-deploy", "info-zip", "python-zipfile"):
    r = rows[n]
    t = med[n]
    print(f"{n:<16}{t:>10.3f}{input_bytes / 1e6 / t:>9.1f}{r['size'] / 1e6:>11.2f}"
          f"{max(r['rss']) / 1024:>13.1f}{base_t / t:>13.2f}x{r['size'] / base_s:>12.3f}x")
PY
