#!/usr/bin/env python3
"""Fault-injecting HTTP proxy for lambda-deploy's tests (loopback only).

Forwards every request to UPSTREAM (the local AWS emulator or the registry) unchanged,
except requests that match a rule, which get the fault the rule names. Tests configure
rules per scenario through a control API on the same port:

  POST   /__faults__/rules   JSON list of rules (appended)     -> 200
  DELETE /__faults__/rules   remove every rule                 -> 200
  GET    /__faults__/log     JSON list of requests seen        -> 200
  DELETE /__faults__/log     clear the log                     -> 200
  POST   /__faults__/release {"name": "x"}: let requests held as "x" go on, now and later -> 200

Each log entry has "method", "path", "fault" (the rule's fault or null), "time" (when the
request was read), "status" (the status sent back; null while it is on its way, or when the
connection was closed instead) and "body" (the request body as text when it is under 256 KiB,
else null; "length" holds its size).

A rule:
  {"match": {"method": "PUT", "path": "regex", "body": "regex", "header": {"Name": "regex"}},
   "skip": 0,          # let this many matching requests through first
   "times": 1,         # then apply the fault this many times (-1: always)
   "fault": {...}}

Faults:
  {"status": 429, "error": "TooManyRequestsException", "message": "...", "headers": {...}}
      answer with an AWS-style JSON error (x-amzn-ErrorType header and __type body)
  {"status": 500, "body": "raw text"}                     a raw answer
  {"reset": true}                                         close the connection, no answer
  {"reset_after": 65536}                                  read the request, forward nothing,
                                                          send part of a 200 and drop
  {"reset_mid_upload": 0.5}                               read this share of the request body
                                                          (matched on method, path and headers
                                                          only), then close: the upload breaks
  {"delay": 2.5}                                          sleep, then forward
  {"delay_after": 2.5}                                    forward (the upstream acts on it), then
                                                          sleep before answering
  {"hold": "name", "hold_max": 120}                       wait until the test releases "name"
                                                          (at most hold_max seconds), then forward
  {"patch": {"Configuration": {"LastUpdateStatus": "InProgress"}}}
      forward, then deep-merge this object into the upstream's JSON answer
  {"patch_status": 412, "error": "PreconditionFailedException"}  (same as status form)
  {"set_headers": {"X-Amz-Function-Error": "Unhandled"}, "set_body": "{...}"}
      forward, then add or replace answer headers (HEAD answers too) and/or replace the body
  A forwarded fault may combine hold, delay, delay_after, patch, set_headers and set_body.

Usage: fault_proxy.py LISTEN_PORT UPSTREAM_URL
  LISTEN_PORT 0 lets the system pick a free port; the first line on stdout names the port
  actually bound ("fault proxy 127.0.0.1:PORT -> UPSTREAM"), once the proxy accepts requests.
"""
import http.client
import json
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

LISTEN = int(sys.argv[1])
UPSTREAM = urlparse(sys.argv[2])
assert UPSTREAM.hostname in ("127.0.0.1", "localhost"), "upstream must be on loopback"

LOCK = threading.Lock()
RULES = []
LOG = []
RELEASED = {}  # hold name -> threading.Event
BODY_LOG_MAX = 256 * 1024


def released(name):
    with LOCK:
        return RELEASED.setdefault(name, threading.Event())


def log_entry(method, path, fault, body):
    entry = {"method": method, "path": path, "fault": fault, "time": time.time(), "status": None,
             "length": len(body), "body": None}
    if len(body) <= BODY_LOG_MAX:
        entry["body"] = body.decode("utf-8", "replace")
    with LOCK:
        LOG.append(entry)
    return entry
HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection", "content-length"}


def deep_merge(base, patch):
    for k, v in patch.items():
        if isinstance(v, dict) and isinstance(base.get(k), dict):
            deep_merge(base[k], v)
        else:
            base[k] = v
    return base


def matches(rule, method, path, headers, body):
    m = rule.get("match", {})
    if "method" in m and m["method"].upper() != method:
        return False
    if "path" in m and not re.search(m["path"], path):
        return False
    if "body" in m and not re.search(m["body"], body.decode("utf-8", "replace")):
        return False
    for name, pattern in m.get("header", {}).items():
        if not re.search(pattern, headers.get(name, "")):
            return False
    return True


def pick_fault(method, path, headers, body, early=False):
    with LOCK:
        for rule in RULES:
            if early != ("reset_mid_upload" in rule["fault"]):
                continue
            if not matches(rule, method, path, headers, body):
                continue
            if rule.get("skip", 0) > 0:
                rule["skip"] -= 1
                continue
            times = rule.get("times", 1)
            if times == 0:
                continue
            if times > 0:
                rule["times"] = times - 1
            return rule["fault"]
    return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def reply(self, status, body, headers=(), entry=None):
        if entry is not None:
            entry["status"] = status
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def control(self, body):
        global RULES, LOG
        path = self.path.split("?", 1)[0]
        with LOCK:
            if path == "/__faults__/rules" and self.command == "POST":
                RULES.extend(json.loads(body or b"[]"))
                out = {"rules": len(RULES)}
            elif path == "/__faults__/rules" and self.command == "DELETE":
                RULES = []
                out = {"rules": 0}
            elif path == "/__faults__/log" and self.command == "GET":
                out = LOG
            elif path == "/__faults__/log" and self.command == "DELETE":
                LOG = []
                out = {"log": 0}
            elif path == "/__faults__/release" and self.command == "POST":
                name = json.loads(body or b"{}").get("name", "")
                RELEASED.setdefault(name, threading.Event()).set()
                out = {"released": name}
            else:
                return self.reply(404, b'{"message":"unknown control path"}')
        self.reply(200, json.dumps(out).encode(), [("Content-Type", "application/json")])

    def handle_any(self):
        if not self.path.startswith("/__faults__/"):
            early = pick_fault(self.command, self.path, self.headers, b"", early=True)
            if early:
                total = int(self.headers.get("Content-Length") or 0)
                got = self.rfile.read(int(total * float(early["reset_mid_upload"])))
                with LOCK:
                    LOG.append({"method": self.command, "path": self.path, "fault": early,
                                "time": time.time(), "read": len(got), "length": total,
                                "status": None, "body": None})
                self.close_connection = True
                self.connection.shutdown(2)
                return
        body = self.read_body()
        if self.path.startswith("/__faults__/"):
            return self.control(body)
        fault = pick_fault(self.command, self.path, self.headers, body)
        entry = log_entry(self.command, self.path, fault, body)
        if fault and "status" in fault:
            if "error" in fault:
                payload = json.dumps({"__type": fault["error"], "message": fault.get("message", fault["error"]), "Type": "User"}).encode()
                headers = [("Content-Type", "application/json"), ("x-amzn-ErrorType", fault["error"])]
            else:
                payload = fault.get("body", "").encode()
                headers = [("Content-Type", "text/plain")]
            headers += list(fault.get("headers", {}).items())
            return self.reply(fault["status"], payload, headers, entry)
        if fault and fault.get("reset"):
            self.close_connection = True
            self.connection.shutdown(2)
            return
        if fault and "reset_after" in fault:
            self.send_response(200)
            self.send_header("Content-Length", "1000000")
            self.end_headers()
            self.wfile.write(b"{" * 10)
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(2)
            return
        if fault and "hold" in fault:
            released(fault["hold"]).wait(float(fault.get("hold_max", 120)))
        if fault and "delay" in fault:
            time.sleep(float(fault["delay"]))
        conn = http.client.HTTPConnection(UPSTREAM.hostname, UPSTREAM.port, timeout=300)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
        headers["Content-Length"] = str(len(body))
        conn.request(self.command, self.path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        out_headers = [(k, v) for k, v in resp.getheaders() if k.lower() not in HOP]
        if fault and "set_headers" in fault:
            names = {k.lower() for k in fault["set_headers"]}
            out_headers = [(k, v) for k, v in out_headers if k.lower() not in names]
            out_headers += list(fault["set_headers"].items())
        if self.command == "HEAD":
            entry["status"] = resp.status
            self.send_response(resp.status)
            for k, v in out_headers:
                self.send_header(k, v)
            self.send_header("Content-Length", resp.getheader("Content-Length") or "0")
            self.end_headers()
            conn.close()
            return
        if fault and "patch" in fault and data:
            try:
                data = json.dumps(deep_merge(json.loads(data), fault["patch"])).encode()
            except ValueError:
                pass
        if fault and "set_body" in fault:
            data = fault["set_body"].encode()
        conn.close()
        if fault and "delay_after" in fault:
            time.sleep(float(fault["delay_after"]))
        try:
            self.reply(resp.status, data, out_headers, entry)
        except OSError:
            pass  # the client gave up waiting (a timeout under test)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", LISTEN), Handler)
    server.daemon_threads = True
    # The socket listens from here on: a client that read this line can connect.
    print(f"fault proxy 127.0.0.1:{server.server_address[1]} -> {UPSTREAM.geturl()}", flush=True)
    server.serve_forever()
