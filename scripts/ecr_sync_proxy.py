#!/usr/bin/env python3
"""ECR semantics in front of a local OCI registry, for lambda-deploy's tests and demo.

The local registry (Docker's distribution) stores images; moto plays ECR. On their own the
two know nothing of each other. This proxy sits in front of the registry on 127.0.0.1 and
passes every request through unchanged (Host and Authorization included), except that
manifest writes are also applied to moto's ECR before the client gets its answer:

  PUT /v2/<repo>/manifests/<tag-or-digest>
      - repository unknown to moto ECR             -> 404 NAME_UNKNOWN, as ECR answers
      - IMMUTABLE repository, tag on another digest -> 400 TAG_INVALID, as ECR answers
      - otherwise forwarded; when the registry says 201 the same manifest bytes are
        recorded with ecr:PutImage(imageDigest=sha256(bytes), imageTag=<tag>), so
        DescribeImages/BatchGetImage see the push and moto Lambda (MOTO_LAMBDA_STUB_ECR=false)
        resolves an ImageUri to CodeSha256 == the manifest digest.
  DELETE /v2/<repo>/manifests/sha256:<hex>  -> forwarded, then ecr:BatchDeleteImage.

Started by scripts/local-aws.sh:
  ecr_sync_proxy.py --listen PORT --upstream PORT --moto http://127.0.0.1:PORT [--region R]
"""
import argparse
import hashlib
import http.client
import json
import re
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import botocore.config
import botocore.exceptions

LOOPBACK = "127.0.0.1"
MANIFEST_PATH = re.compile(r"^/v2/(?P<repo>.+)/manifests/(?P<ref>[^/?]+)$")
# Headers that describe one connection, not the message: never copied across.
CONNECTION_HEADERS = frozenset({
    "connection", "keep-alive", "proxy-connection", "te", "trailer",
    "transfer-encoding", "upgrade", "content-length",
})
BLOCK = 64 * 1024
SPOOL_IN_MEMORY = 8 * 1024 * 1024


class Ecr:
    """One boto3 ECR client per proxy thread (clients are not shared across threads)."""

    def __init__(self, endpoint, region):
        self.endpoint = endpoint
        self.region = region
        self.local = threading.local()

    def client(self):
        c = getattr(self.local, "client", None)
        if c is None:
            c = boto3.client(
                "ecr",
                endpoint_url=self.endpoint,
                region_name=self.region,
                aws_access_key_id="test",
                aws_secret_access_key="test",
                config=botocore.config.Config(retries={"max_attempts": 1}),
            )
            self.local.client = c
        return c


def error_code(err):
    return err.response.get("Error", {}).get("Code", "")


def registry_error(code, message, detail=None):
    entry = {"code": code, "message": message}
    if detail is not None:
        entry["detail"] = detail
    return {"errors": [entry]}


class ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "lambda-deploy-ecr-sync"
    upstream_port = 0   # set by main()
    ecr = None          # set by main()

    def log_message(self, fmt, *args):
        pass  # one line per request would drown the log; errors still reach stderr

    # ---------------------------------------------------------------- plumbing
    def read_request_body(self):
        """Spool the request body (plain or chunked); return (file at offset 0, length)."""
        spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    break
                self.copy_exact(size, spool)
                self.rfile.readline()  # CRLF after each chunk
        else:
            self.copy_exact(int(self.headers.get("Content-Length") or 0), spool)
        length = spool.tell()
        spool.seek(0)
        return spool, length

    def copy_exact(self, left, out):
        while left:
            block = self.rfile.read(min(BLOCK, left))
            if not block:
                raise IOError("client closed the connection mid-body")
            out.write(block)
            left -= len(block)

    def send_registry_json(self, status, payload):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Docker-Distribution-Api-Version", "registry/2.0")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def to_upstream(self, body, length):
        conn = http.client.HTTPConnection(LOOPBACK, self.upstream_port, timeout=300)
        conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
        for name, value in self.headers.items():
            if name.lower() not in CONNECTION_HEADERS:
                conn.putheader(name, value)
        if body is not None or self.command in ("PUT", "POST", "PATCH"):
            conn.putheader("Content-Length", str(length))
        conn.endheaders()
        if body is not None:
            for block in iter(lambda: body.read(BLOCK), b""):
                conn.send(block)
        return conn, conn.getresponse()

    def to_client(self, conn, resp):
        self.send_response_only(resp.status, resp.reason)
        length = resp.getheader("Content-Length")
        for name, value in resp.getheaders():
            if name.lower() not in CONNECTION_HEADERS:
                self.send_header(name, value)
        if self.command == "HEAD" or resp.status in (204, 304) or resp.status < 200:
            self.send_header("Content-Length", length or "0")
            self.end_headers()
            resp.read()
        elif length is not None:
            self.send_header("Content-Length", length)
            self.end_headers()
            for block in iter(lambda: resp.read(BLOCK), b""):
                self.wfile.write(block)
        else:
            data = resp.read()
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        conn.close()

    # ---------------------------------------------------------------- requests
    def handle_request(self):
        has_body = (self.command in ("PUT", "POST", "PATCH")
                    or self.headers.get("Content-Length")
                    or self.headers.get("Transfer-Encoding"))
        body, length = self.read_request_body() if has_body else (None, 0)
        manifest = MANIFEST_PATH.match(self.path.split("?", 1)[0])
        if manifest and self.command == "PUT":
            return self.put_manifest(manifest["repo"], manifest["ref"], body, length)
        conn, resp = self.to_upstream(body, length)
        if (manifest and self.command == "DELETE" and resp.status == 202
                and manifest["ref"].startswith("sha256:")):
            try:
                self.ecr.client().batch_delete_image(
                    repositoryName=manifest["repo"], imageIds=[{"imageDigest": manifest["ref"]}])
            except botocore.exceptions.ClientError:
                pass  # the registry already deleted it; ECR's view is best effort here
        self.to_client(conn, resp)

    def put_manifest(self, repo, ref, body, length):
        data = body.read()
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        tag = None if ref.startswith("sha256:") else ref
        if tag is None and ref != digest:
            return self.send_registry_json(
                400, registry_error("DIGEST_INVALID", "provided digest did not match uploaded content"))
        ecr = self.ecr.client()
        try:
            repository = ecr.describe_repositories(repositoryNames=[repo])["repositories"][0]
        except botocore.exceptions.ClientError as err:
            if error_code(err) != "RepositoryNotFoundException":
                raise
            return self.send_registry_json(404, registry_error(
                "NAME_UNKNOWN", f"The repository with name '{repo}' does not exist in the registry",
                {"name": repo}))
        if tag and repository.get("imageTagMutability", "MUTABLE").startswith("IMMUTABLE"):
            if self.tagged_digest(repo, tag) not in (None, digest):
                return self.send_registry_json(400, registry_error(
                    "TAG_INVALID",
                    f"The image tag '{tag}' already exists in the '{repo}' repository and cannot "
                    "be overwritten because the repository is immutable."))
        body.seek(0)
        conn, resp = self.to_upstream(body, length)
        if resp.status == 201:
            failure = self.record_in_ecr(repo, tag, digest, data)
            if failure:
                resp.read()
                conn.close()
                return self.send_registry_json(500, registry_error(
                    "UNKNOWN", f"ecr-sync: moto PutImage failed: {failure}"))
        self.to_client(conn, resp)

    def tagged_digest(self, repo, tag):
        try:
            images = self.ecr.client().describe_images(
                repositoryName=repo, imageIds=[{"imageTag": tag}])["imageDetails"]
        except botocore.exceptions.ClientError as err:
            if error_code(err) == "ImageNotFoundException":
                return None
            raise
        return images[0]["imageDigest"] if images else None

    def record_in_ecr(self, repo, tag, digest, data):
        """PutImage the pushed manifest into moto ECR; return an error text or None."""
        args = {"repositoryName": repo, "imageManifest": data.decode(), "imageDigest": digest}
        media_type = self.headers.get("Content-Type") or json.loads(data).get("mediaType")
        if media_type:
            args["imageManifestMediaType"] = media_type
        if tag:
            args["imageTag"] = tag
        try:
            self.ecr.client().put_image(**args)
        except botocore.exceptions.ClientError as err:
            if error_code(err) != "ImageAlreadyExistsException":
                return f"{error_code(err)}: {err}"
        return None

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = handle_request


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", type=int, required=True, help="port to listen on (127.0.0.1)")
    parser.add_argument("--upstream", type=int, required=True, help="registry port (127.0.0.1)")
    parser.add_argument("--moto", required=True, help="moto endpoint, http://127.0.0.1:PORT")
    parser.add_argument("--region", default="us-east-1")
    args = parser.parse_args(argv)
    if not args.moto.startswith(f"http://{LOOPBACK}:"):
        parser.error("--moto must be a loopback endpoint")

    ProxyHandler.upstream_port = args.upstream
    ProxyHandler.ecr = Ecr(args.moto, args.region)
    server = ThreadingHTTPServer((LOOPBACK, args.listen), ProxyHandler)
    server.daemon_threads = True
    print(f"ecr-sync proxy {LOOPBACK}:{args.listen} -> {LOOPBACK}:{args.upstream}"
          f" (ECR: moto {args.moto}, {args.region})", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1:])
