#!/usr/bin/env bash
# Benchmark `lambda-deploy package` against Info-ZIP and Python's zipfile on two trees:
#   synthetic  a generated, deterministic ~60 MB Lambda-like tree (scripts/bench_tree.py)
#   python     a copy of Python's standard library plus a real site-packages (the moto
#              venv `scripts/local-aws.sh install` creates), symlinks copied as files
#
#   scripts/bench-package.sh                  # builds target/release/lambda-deploy
#   LAMBDA_DEPLOY_BIN=path/to/bin RUNS=7 TREE=python scripts/bench-package.sh
#
# Env: LAMBDA_DEPLOY_BIN (skip the build), RUNS (default 5, median reported),
#      TREE (synthetic, python or both; default both),
#      PY_STDLIB / PY_SITE (the python tree's two parts; default the newest
#      /usr/lib/python3.N, else python3's own stdlib, and the moto venv's site-packages),
#      PYZIP=0 (skip Python's zipfile),
#      BENCH_DIR (where the trees and outputs go; default a temp dir, removed).
# For each tree it prints the medians and the two ratios the packager is held to:
# time (Info-ZIP / lambda-deploy, higher is faster) and size (lambda-deploy / Info-ZIP).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
runs="${RUNS:-5}"
trees="${TREE:-both}"
case "$trees" in
  both) trees="synthetic python" ;;
  synthetic | python) ;;
  *) echo "error: TREE='$trees' is not one of synthetic, python, both" >&2; exit 1 ;;
esac

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

# make_python DIR: the standard library and a site-packages, copied with symlinks
# resolved (the stdlib links to files outside it, which a package cannot hold).
make_python() {
  local dest="$1" stdlib="${PY_STDLIB:-}" site="${PY_SITE:-}"
  if [ -z "$stdlib" ]; then
    stdlib="$(find /usr/lib -maxdepth 1 -name 'python3.[0-9]*' -type d 2>/dev/null | sort -V | tail -n1)"
    [ -n "$stdlib" ] || stdlib="$(python3 -c 'import sysconfig; print(sysconfig.get_paths()["stdlib"])')"
  fi
  if [ -z "$site" ]; then
    site="$(find "${XDG_CACHE_HOME:-$HOME/.cache}/lambda-deploy" -maxdepth 4 -path '*/venv-moto-*/lib/python3*/site-packages' \
      -type d 2>/dev/null | sort -V | tail -n1)"
  fi
  [ -d "$stdlib" ] || { echo "error: no python stdlib found; set PY_STDLIB to one" >&2; exit 1; }
  if [ -z "$site" ] || [ ! -d "$site" ]; then
    echo "error: no site-packages found; run 'bash scripts/local-aws.sh install' or set PY_SITE" >&2
    exit 1
  fi
  echo "python tree: $stdlib + $site" >&2
  python3 - "$stdlib" "$site" "$dest" <<'PY'
import shutil, sys
stdlib, site, dest = sys.argv[1:]
shutil.copytree(stdlib, dest + "/python/stdlib", symlinks=False, ignore_dangling_symlinks=True)
shutil.copytree(site, dest + "/python/site-packages", symlinks=False, ignore_dangling_symlinks=True)
PY
}

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

for kind in $trees; do
  tree="$work/tree-$kind"
  rm -rf "$tree"
  if [ "$kind" = synthetic ]; then
    python3 "$here/bench_tree.py" "$tree"
  else
    make_python "$tree"
  fi
  input_bytes=$(find "$tree" -type f -printf '%s\n' | awk '{s+=$1} END {print s}')
  files=$(find "$tree" -type f | wc -l)
  tar cf - -C "$tree" . >/dev/null   # warm the page cache

  results="$work/results-$kind.txt"
  : >"$results"
  run_tool lambda-deploy "$work/ld.zip" "$bin" package --source-dir "$tree" --output "$work/ld.zip"
  # shellcheck disable=SC2016 # $1/$2 are expanded by the inner sh
  run_tool info-zip "$work/iz.zip" sh -c 'cd "$1" && zip -r -q -X "$2" .' sh "$tree" "$work/iz.zip"
  if [ "${PYZIP:-1}" != 0 ]; then
    run_tool python-zipfile "$work/py.zip" python3 "$pyzip" "$tree" "$work/py.zip"
  fi
  rm -f "$work/ld.zip" "$work/iz.zip" "$work/py.zip"

  python3 - "$kind" "$results" "$input_bytes" "$files" "$runs" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)" <<'PY'
import statistics, sys
kind, path, input_bytes, files, runs, cores, load = sys.argv[1:]
input_bytes = int(input_bytes)
rows = {}
for line in open(path):
    name, us, rss, size = line.split()
    r = rows.setdefault(name, {"t": [], "rss": [], "size": int(size)})
    r["t"].append(int(us) / 1e6)
    r["rss"].append(int(rss))
med = {n: statistics.median(r["t"]) for n, r in rows.items()}
base_t, base_s = med["info-zip"], rows["info-zip"]["size"]
print(f"== {kind}: {input_bytes / 1e6:.1f} MB in {files} files; {runs} runs each, median; "
      f"{cores} cores; load {load}")
print(f"{'tool':<16}{'median s':>10}{'MB/s':>9}{'output MB':>11}{'peak RSS MB':>13}{'speed vs zip':>14}{'size vs zip':>13}")
for n in ("lambda-deploy", "info-zip", "python-zipfile"):
    if n not in rows:
        continue
    r = rows[n]
    t = med[n]
    print(f"{n:<16}{t:>10.3f}{input_bytes / 1e6 / t:>9.1f}{r['size'] / 1e6:>11.2f}"
          f"{max(r['rss']) / 1024:>13.1f}{base_t / t:>13.2f}x{r['size'] / base_s:>12.3f}x")
ld = rows["lambda-deploy"]
print(f"{kind}: time info-zip/lambda-deploy {base_t / med['lambda-deploy']:.2f}x, "
      f"size lambda-deploy/info-zip {ld['size'] / base_s:.4f}x")
PY
  rm -rf "$tree"
done
