#!/usr/bin/env python3
"""How fast the local AWS emulator answers reads, one client against four.

    scripts/emulator_reads.py FUNCTION [READS]

Sends READS (default 240) GetFunction, GetAlias (alias `live`) and
ListVersionsByFunction requests, in turn, to AWS_ENDPOINT_URL for FUNCTION: once from
one connection, once from four connections in parallel. Prints the milliseconds per
read of each. When both are about the same, the emulator serves one request at a time,
and that figure is the least any read costs a run, however many run in parallel.
Standard library only; the emulator does not check signatures.
"""
import http.client
import os
import sys
import threading
import time
import urllib.parse

AUTH = ("AWS4-HMAC-SHA256 Credential=test/20260101/{region}/lambda/aws4_request, "
        "SignedHeaders=host, Signature=0")


def reads(endpoint, paths, count, region):
    conn = http.client.HTTPConnection(endpoint.hostname, endpoint.port, timeout=30)
    headers = {"Authorization": AUTH.format(region=region)}
    for i in range(count):
        conn.request("GET", paths[i % len(paths)], headers=headers)
        answer = conn.getresponse()
        answer.read()
        if answer.status >= 500:
            sys.exit(f"emulator_reads: {paths[i % len(paths)]} answered {answer.status}")


def ms_per_read(endpoint, paths, total, clients, region):
    threads = [threading.Thread(target=reads, args=(endpoint, paths, total // clients, region))
               for _ in range(clients)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return (time.monotonic() - start) * 1000 / (total // clients * clients)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    function = sys.argv[1]
    total = int(sys.argv[2]) if len(sys.argv) > 2 else 240
    endpoint = urllib.parse.urlparse(os.environ["AWS_ENDPOINT_URL"])
    region = os.environ.get("AWS_REGION", "us-east-1")
    base = f"/2015-03-31/functions/{function}"
    paths = [base, f"{base}/aliases/live", f"{base}/versions"]
    ms_per_read(endpoint, paths, 12, 1, region)  # warm up
    one = ms_per_read(endpoint, paths, total, 1, region)
    four = ms_per_read(endpoint, paths, total, 4, region)
    print(f"{one:.2f} {four:.2f}")


if __name__ == "__main__":
    main()
