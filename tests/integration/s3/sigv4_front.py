#!/usr/bin/python3
"""A signature-checking front for the S3 test server.

s3rver accepts any well-formed SigV4 signature, so on its own it would let
a broken signer pass every integration test. This front recomputes each
request's signature with botocore (Debian's python3-botocore, the reference
signer) from the bytes that arrived: the raw path and query, the signed
headers and the body. A mismatch gets S3's 403 SignatureDoesNotMatch; a
match is forwarded to s3rver unchanged and s3rver's answer returned.

GET /__front/stats answers {"verified": n, "rejected": m} for the tests.
POST /__front/fail?count=N&status=S&match=M makes the next N signed requests
whose decoded path or query contains M fail with status S (503 SlowDown by
default): S3 throttles and fails transiently,
s3rver never does, and the retry tests need that failure.
POST /__front/clock?offset=S sets the front's clock S seconds ahead of the
machine's (negative: behind), for the x-amz-date check and its own Date
header: a host whose clock is off from S3's, which one machine cannot be.
s3rver checks x-amz-date against the machine's clock too (it checks no V4
signature), so what the front forwards carries its date moved back by S.

With --tls-port it serves the same over https too (one state for both), so
the tests can reach S3 through a certificate that only a private CA signed.
"""

import argparse
import hashlib
import http.client
import http.server
import json
import re
import socket
import ssl
import sys
import threading
import time
import urllib.parse
from datetime import datetime, timedelta, timezone

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

AUTH_RE = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/s3/aws4_request,\s*"
    r"SignedHeaders=([a-z0-9;-]+),\s*Signature=([0-9a-f]{64})$"
)
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade"}
MAX_SKEW_SECONDS = 15 * 60


class State:
    def __init__(self, secrets, upstream):
        self.secrets = secrets
        self.upstream = upstream
        self.lock = threading.Lock()
        self.verified = 0
        self.rejected = 0
        self.fail_count = 0
        self.fail_status = 503
        self.fail_match = ""
        self.clock_offset = 0  # seconds


def s3_error(code, message):
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    ).encode()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state = None  # set by main()

    def log_message(self, fmt, *args):  # quiet: ctest output stays readable
        pass

    def date_time_string(self, timestamp=None):  # the Date header, by the front's clock
        return super().date_time_string((timestamp or time.time()) + self.state.clock_offset)

    def setup(self):
        super().setup()
        # Headers and body go out in separate writes: without this, Nagle
        # and delayed ACKs add 40 ms to every request.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def reply(self, status, body, headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def reject(self, status, code, message):
        with self.state.lock:
            self.state.rejected += 1
        self.reply(status, s3_error(code, message), [("Content-Type", "application/xml")])

    def check_signature(self, body):
        """None when the request is correctly signed, else (status, code, message)."""
        auth = self.headers.get("Authorization", "")
        m = AUTH_RE.match(auth)
        if not m:
            return 403, "AccessDenied", "missing or malformed SigV4 Authorization header"
        access_key, day, region, signed, signature = m.groups()
        secret = self.state.secrets.get(access_key)
        if secret is None:
            return 403, "InvalidAccessKeyId", "unknown access key"
        names = signed.split(";")
        for required in ("host", "x-amz-content-sha256", "x-amz-date"):
            if required not in names:
                return 403, "AccessDenied", f"{required} is not signed"
        for name in self.headers.keys():
            if name.lower().startswith("x-amz-") and name.lower() not in names:
                return 403, "AccessDenied", f"{name.lower()} is sent but not signed"
        amz_date = self.headers.get("x-amz-date", "")
        if not amz_date.startswith(day):
            return 403, "SignatureDoesNotMatch", "credential scope date differs from x-amz-date"
        try:
            when = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
        except ValueError:
            return 403, "AccessDenied", "malformed x-amz-date"
        now = datetime.now(timezone.utc) + timedelta(seconds=self.state.clock_offset)
        if abs((now - when).total_seconds()) > MAX_SKEW_SECONDS:
            return 403, "RequestTimeTooSkewed", "x-amz-date is too far from now"
        if hashlib.sha256(body).hexdigest() != self.headers.get("x-amz-content-sha256"):
            return 400, "XAmzContentSHA256Mismatch", "x-amz-content-sha256 does not match the body"

        headers = [(n, v) for n in names for v in (self.headers.get_all(n) or [])]
        request = AWSRequest(method=self.command, url="http://" + self.headers["Host"] + self.path,
                             headers=dict(headers), data=body)
        request.context["timestamp"] = amz_date
        signer = S3SigV4Auth(Credentials(access_key, secret), "s3", region)
        canonical = signer.canonical_request(request)
        expected = signer.signature(signer.string_to_sign(request, canonical), request)
        if expected != signature:
            return 403, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided."
        return None

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.path == "/__front/stats":
            with self.state.lock:
                stats = {"verified": self.state.verified, "rejected": self.state.rejected}
            self.reply(200, json.dumps(stats).encode(), [("Content-Type", "application/json")])
            return
        if self.path.startswith("/__front/fail?"):
            q = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
            with self.state.lock:
                self.state.fail_count = int(q.get("count", ["1"])[0])
                self.state.fail_status = int(q.get("status", ["503"])[0])
                self.state.fail_match = q.get("match", [""])[0]
            self.reply(204, b"")
            return
        if self.path.startswith("/__front/clock?"):
            q = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
            with self.state.lock:
                self.state.clock_offset = int(q.get("offset", ["0"])[0])
            self.reply(204, b"")
            return
        failure = self.check_signature(body)
        if failure:
            self.reject(*failure)
            return
        with self.state.lock:
            self.state.verified += 1
            injected = 0
            if self.state.fail_count > 0 and self.state.fail_match in urllib.parse.unquote(self.path):
                injected = self.state.fail_status
                self.state.fail_count -= 1
        if injected:
            code = "SlowDown" if injected == 503 else "InternalError"
            self.reply(injected, s3_error(code, "injected by the test front"), [("Content-Type", "application/xml")])
            return
        host, port = self.state.upstream
        conn = http.client.HTTPConnection(host, port, timeout=60)
        try:
            conn.connect()
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            if self.state.clock_offset:
                for k in headers:
                    if k.lower() == "x-amz-date":
                        when = datetime.strptime(headers[k], "%Y%m%dT%H%M%SZ")
                        headers[k] = (when - timedelta(seconds=self.state.clock_offset)).strftime("%Y%m%dT%H%M%SZ")
            conn.request(self.command, self.path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            out = [(k, v) for k, v in resp.getheaders()
                   if k.lower() not in HOP_BY_HOP and k.lower() != "content-length"]
            self.send_response(resp.status)
            for k, v in out:
                self.send_header(k, v)
            # A HEAD's answer keeps the object's length, with no body.
            self.send_header("Content-Length", resp.getheader("Content-Length", str(len(data))))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
        finally:
            conn.close()

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--upstream", required=True, help="host:port of the S3 server")
    p.add_argument("--credentials", action="append", default=[], help="ACCESS_KEY:SECRET (repeatable)")
    p.add_argument("--tls-port", type=int, help="also serve https here, with --tls-cert and --tls-key (PEM)")
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    args = p.parse_args()
    secrets = dict(c.split(":", 1) for c in args.credentials)
    host, port = args.upstream.rsplit(":", 1)
    Handler.state = State(secrets, (host, int(port)))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    if args.tls_port:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(args.tls_cert, args.tls_key)
        secure = http.server.ThreadingHTTPServer(("127.0.0.1", args.tls_port), Handler)
        secure.daemon_threads = True
        # The handshake runs in each request's thread, so a client that
        # refuses the certificate cannot stall the accepting one.
        secure.socket = tls.wrap_socket(secure.socket, server_side=True, do_handshake_on_connect=False)
        threading.Thread(target=secure.serve_forever, daemon=True).start()
        print(f"sigv4 front on https://127.0.0.1:{args.tls_port}", file=sys.stderr, flush=True)
    print(f"sigv4 front on http://127.0.0.1:{args.port} -> {args.upstream}", file=sys.stderr, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
