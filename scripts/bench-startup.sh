#!/usr/bin/env bash
# scripts/bench-startup.sh [RUNS]
#
# Time from process start to lambda-deploy's first AWS request, in a dry run of
# examples/python-hello: a local HTTP listener stands in for every AWS endpoint and records
# when the first request arrives; the run itself then fails, which does not matter here.
# Prints each run and the median. Set LAMBDA_DEPLOY_BIN (default target/release/lambda-deploy).
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${LAMBDA_DEPLOY_BIN:-$REPO/target/release/lambda-deploy}"
RUNS="${1:-11}"
[ -x "$BIN" ] || { echo "bench-startup: build first: cargo build --release (or set LAMBDA_DEPLOY_BIN)" >&2; exit 1; }
python3 - "$BIN" "$RUNS" "$REPO/examples/python-hello" <<'PY'
import http.server, os, socket, statistics, subprocess, sys, threading, time
bin_, runs, src = sys.argv[1], int(sys.argv[2]), sys.argv[3]
first = {}
class H(http.server.BaseHTTPRequestHandler):
    def handle_one_request(self):
        first.setdefault("t", time.perf_counter())
        try:
            self.rfile.readline()
        except OSError:
            pass
        self.close_connection = True
    def log_message(self, *a):
        pass
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
threading.Thread(target=srv.serve_forever, daemon=True).start()
url = f"http://127.0.0.1:{srv.server_address[1]}"
env = {"PATH": os.environ.get("PATH", ""), "AWS_ENDPOINT_URL": url, "AWS_REGION": "us-east-1",
       "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_EC2_METADATA_DISABLED": "true",
       "AWS_MAX_ATTEMPTS": "1", "INPUT_FUNCTION-NAME": "bench-startup", "INPUT_SOURCE-DIR": src,
       "INPUT_RUNTIME": "python3.12", "INPUT_HANDLER": "app.handler", "INPUT_DRY-RUN": "true",
       "INPUT_ROLE": "arn:aws:iam::123456789012:role/bench"}
times = []
for i in range(runs):
    first.clear()
    t0 = time.perf_counter()
    p = subprocess.Popen([bin_], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while "t" not in first and p.poll() is None:
        time.sleep(0.0005)
    p.kill(); p.wait()
    if "t" not in first:
        sys.exit("bench-startup: lambda-deploy exited before any AWS request")
    ms = (first["t"] - t0) * 1000
    times.append(ms)
    print(f"run {i + 1}: first AWS request after {ms:.1f} ms")
print(f"median: {statistics.median(times):.1f} ms over {runs} runs (target: under 50 ms)")
PY
