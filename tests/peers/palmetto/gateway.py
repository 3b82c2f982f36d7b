#!/usr/bin/env python3
"""Palmetto API contract gateway: a test peer for tokenwarden's Palmetto client.

Behaves as the Clemson Palmetto API is documented (shared/FACILITIES.md §3): a
proxy in front of a REAL slurmrestd that adds authentication, authorization and
version routing. Standard library only.

Unauthenticated:
  GET /ping                      -> 200 "pong" (text/plain)
  GET /meta/versions/supported   -> 200 JSON array of the backend's API versions
  GET /meta/versions/latest      -> 200 latest version (text/plain)
Proxied (version = a supported one or "latest", anything else -> 400 JSON):
  /slurm/{version}/...   and   /slurmdb/{version}/...
Auth (anything else -> 401 JSON):
  Authorization: MUNGE <cred>    decoded by the REAL `unmunge` against the
                                 cluster's munged (credential on stdin, never in
                                 argv). TTL above PALMETTO_MUNGE_MAX_TTL (5 s),
                                 replayed, expired or invalid -> 401. The UID is
                                 mapped to a user through the cluster's passwd
                                 (PALMETTO_UID_MAP "uid=user,..." overrides).
                                 Broad access (like the CLI).
  Authorization: Bearer <token>  looked up in the token table (JSON, re-read when
                                 it changes); scopes: GET /slurm -> slurm:read,
                                 GET /slurmdb -> slurmdb:read, submit/allocate/
                                 update/cancel -> slurm:jobs:manage; any other
                                 write -> 403.
The request is then sent to slurmrestd with a fresh HS256 Slurm JWT minted for
the mapped user (X-SLURM-USER-NAME + X-SLURM-USER-TOKEN); the client's
Authorization header is never forwarded. Status and body are relayed.

Every request is appended as one JSON line to PALMETTO_REQUEST_LOG (method,
path, header names, auth scheme, user, outcome, status); credentials are never
written anywhere. Only palmetto-up.sh's health probe (GET /ping with User-Agent
"tokenwarden-peers-probe") is not recorded.

Env: PALMETTO_PORT (9700), SLURM_REST_URL, SLURM_JWT_KEY, SLURM_API_VERSIONS,
     SLURM_API_LATEST, MUNGE_SOCKET, PALMETTO_TOKENS (token table path),
     PALMETTO_REQUEST_LOG, PALMETTO_PASSWD (cluster passwd, /etc/passwd),
     PALMETTO_UID_MAP, PALMETTO_MUNGE_MAX_TTL (5), PALMETTO_JWT_LIFESPAN (300),
     PALMETTO_UPSTREAM_TIMEOUT (30), UNMUNGE (unmunge binary).
"""
import base64
import hashlib
import hmac
import http.client
import itertools
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

E = os.environ
PORT = int(E.get("PALMETTO_PORT", "9700"))
REST = urllib.parse.urlsplit(E["SLURM_REST_URL"])
JWT_KEY_PATH = E["SLURM_JWT_KEY"]
SUPPORTED = E["SLURM_API_VERSIONS"].split()
LATEST = E.get("SLURM_API_LATEST") or SUPPORTED[-1]
MUNGE_SOCKET = E["MUNGE_SOCKET"]
TOKENS_PATH = E["PALMETTO_TOKENS"]
REQUEST_LOG = E["PALMETTO_REQUEST_LOG"]
PASSWD = E.get("PALMETTO_PASSWD") or "/etc/passwd"
MAX_TTL = int(E.get("PALMETTO_MUNGE_MAX_TTL", "5"))
JWT_LIFESPAN = int(E.get("PALMETTO_JWT_LIFESPAN", "300"))
UPSTREAM_TIMEOUT = float(E.get("PALMETTO_UPSTREAM_TIMEOUT", "30"))
UNMUNGE = E.get("UNMUNGE", "unmunge")
PROBE_AGENT = "tokenwarden-peers-probe"
UID_MAP = {}
for item in filter(None, (x.strip() for x in E.get("PALMETTO_UID_MAP", "").split(","))):
    uid, _, user = item.partition("=")
    UID_MAP[int(uid)] = user

# munge(7) error numbers as returned by unmunge's exit status
MUNGE_ERRORS = {6: "munge_socket", 7: "munge_timeout", 8: "munge_bad_credential", 14: "munge_invalid",
                15: "munge_expired", 16: "munge_rewound", 17: "munge_replayed", 18: "munge_unauthorized"}

_ids = itertools.count(1)
_log_lock = threading.Lock()
_tokens_lock = threading.Lock()
_tokens = {"mtime": None, "entries": []}


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def mint_slurm_jwt(user):
    """HS256 token as `scontrol token` makes it: claims exp, iat, sun."""
    with open(JWT_KEY_PATH, "rb") as f:  # re-read: slurm-up.sh makes a new key at every start
        key = f.read()
    now = int(time.time())
    head = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    body = b64url(json.dumps({"exp": now + JWT_LIFESPAN, "iat": now, "sun": user}, separators=(",", ":")).encode())
    sig = b64url(hmac.new(key, f"{head}.{body}".encode(), hashlib.sha256).digest())
    return f"{head}.{body}.{sig}"


def load_tokens():
    try:
        mtime = os.stat(TOKENS_PATH).st_mtime_ns
    except FileNotFoundError:
        return []
    with _tokens_lock:
        if mtime != _tokens["mtime"]:
            with open(TOKENS_PATH) as f:
                _tokens["entries"] = json.load(f).get("tokens", [])
            _tokens["mtime"] = mtime
        return _tokens["entries"]


def find_token(presented):
    found = None
    for entry in load_tokens():  # compare against every entry, constant time each
        if hmac.compare_digest(str(entry.get("token", "")).encode(), presented.encode()):
            found = entry
    return found


def user_for_uid(uid):
    if uid in UID_MAP:
        return UID_MAP[uid]
    try:
        with open(PASSWD) as f:
            for line in f:
                parts = line.rstrip("\n").split(":")
                if len(parts) >= 3 and parts[2] == str(uid):
                    return parts[0]
    except OSError:
        pass
    return None


def unmunge(cred):
    """Decode with the real unmunge; returns (exit status, metadata dict)."""
    try:
        p = subprocess.run([UNMUNGE, "--socket", MUNGE_SOCKET, "--numeric", "--output", "/dev/null",
                            "--keys", "STATUS,ENCODE_TIME,DECODE_TIME,TTL,UID,GID"],
                           input=(cred.strip() + "\n").encode(), capture_output=True, timeout=10)
    except subprocess.TimeoutExpired:
        return 7, {}
    meta = {}
    for line in p.stdout.decode(errors="replace").splitlines():
        k, sep, v = line.partition(":")
        if sep:
            meta[k.strip()] = v.strip()
    return p.returncode, meta


def required_scope(api, method, rest):
    rest = rest.rstrip("/") or "/"
    if method in ("GET", "HEAD"):
        return "slurmdb:read" if api == "slurmdb" else "slurm:read"
    if api == "slurm":
        if method == "POST" and re.fullmatch(r"/job/(submit|allocate|[^/]+)", rest):
            return "slurm:jobs:manage"
        if method == "DELETE" and re.fullmatch(r"/job/[^/]+|/jobs", rest):
            return "slurm:jobs:manage"
        return "slurm:admin"  # reconfigure, node updates ...: never granted to a token here
    return "slurmdb:write"


class Gateway(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "palmetto-test-gateway/1"

    # ------------------------------------------------------------- plumbing
    def _read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            out = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return out
                out += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def _send(self, status, body, ctype, extra=None):
        if isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Palmetto-Request-Id", str(self.rec["id"]))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.rec["status"] = status
        # Logged before the answer leaves: a client that has its answer and exits must
        # find its request in the log (logging in `finally` raced the test's read of it).
        self._write_record()
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status, obj, extra=None):
        self._send(status, json.dumps(obj, indent=2) + "\n", "application/json", extra)

    def _error(self, status, outcome, message, **more):
        self.rec["outcome"] = outcome
        extra = {"WWW-Authenticate": 'Bearer realm="palmetto", MUNGE'} if status == 401 else None
        self._json(status, {"error": outcome, "message": message, "status": status, **more}, extra)

    def log_message(self, fmt, *args):  # request line only (no headers), to the log file
        sys.stderr.write("%s %s\n" % (self.log_date_time_string(), fmt % args))

    def _write_record(self):
        if self._recorded or (self.rec["path"] == "/ping" and self.headers.get("User-Agent") == PROBE_AGENT):
            return  # the up script's own health probe is the only request not recorded
        self._recorded = True
        self.rec["duration_ms"] = round((time.monotonic() - self._t0) * 1000, 1)
        line = json.dumps(self.rec, sort_keys=True)
        with _log_lock, open(REQUEST_LOG, "a") as f:
            f.write(line + "\n")

    # ------------------------------------------------------------- dispatch
    def _handle(self):
        self._t0 = time.monotonic()
        self._recorded = False
        self.rec = {"id": next(_ids), "ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    "method": self.command, "path": self.path,
                    "headers": sorted({k.lower() for k in self.headers.keys()}),
                    "auth": self._scheme(), "outcome": None, "status": None}
        try:
            body = self._read_body()
            self.rec["body_bytes"] = len(body)
            self._route(body)
        except (BrokenPipeError, ConnectionResetError):
            self.rec["outcome"] = self.rec["outcome"] or "client_disconnected"
            self.close_connection = True
        except Exception as e:  # never leave a test hanging
            self.rec["error"] = f"{type(e).__name__}: {e}"
            if self.rec["status"] is None:
                try:
                    self._error(500, "gateway_error", "internal gateway error")
                except OSError:
                    pass
        finally:
            self._write_record()  # when no answer went out (the client hung up first)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _handle

    def _route(self, body):
        url = urllib.parse.urlsplit(self.path)
        path = url.path
        if path in ("/ping", "/ping/", "/meta/versions/supported", "/meta/versions/latest"):
            if self.command not in ("GET", "HEAD"):
                return self._error(405, "method_not_allowed", f"{self.command} not allowed on {path}",)
            self.rec["outcome"] = "ok"
            if path.startswith("/ping"):
                return self._send(200, "pong", "text/plain; charset=utf-8")
            if path.endswith("/supported"):
                return self._send(200, json.dumps(SUPPORTED), "application/json")
            return self._send(200, LATEST, "text/plain; charset=utf-8")
        m = re.fullmatch(r"/(slurm|slurmdb)/([^/]+)(/.*)?", path)
        if not m:
            return self._error(404, "not_found", f"no route for {path}")
        api, version, rest = m.group(1), m.group(2), m.group(3) or "/"
        self.rec.update(api=api, version_requested=version)
        resolved = LATEST if version == "latest" else version
        if resolved not in SUPPORTED:
            return self._error(400, "unsupported_version",
                               f"API version '{version}' is not supported; use one of {SUPPORTED} or 'latest'",
                               supported=SUPPORTED, latest=LATEST)
        self.rec["version"] = resolved

        user = self._authenticate(api, rest)
        if user is None:
            return
        self._forward(api, resolved, rest, url.query, body, user)

    # ------------------------------------------------------------- auth
    def _scheme(self):
        """Which scheme the request carries (recorded for every request, even
        those refused before authentication); never the credential itself."""
        header = self.headers.get("Authorization")
        if header is None:
            return "x-slurm-user-token" if self.headers.get("X-SLURM-USER-TOKEN") is not None else "none"
        scheme = header.strip().partition(" ")[0].lower()
        return scheme if scheme in ("munge", "bearer") else "other"

    def _authenticate(self, api, rest):
        header = self.headers.get("Authorization")
        if header is None:
            if self.headers.get("X-SLURM-USER-TOKEN") is not None:
                self._error(401, "unsupported_scheme", "use Authorization: MUNGE <cred> or Bearer <token>")
            else:
                self._error(401, "no_credentials", "authentication required: MUNGE or Bearer")
            return None
        scheme, _, cred = header.strip().partition(" ")
        scheme = scheme.lower()
        cred = cred.strip()
        if scheme == "munge":
            return self._auth_munge(cred)
        if scheme == "bearer":
            return self._auth_bearer(cred, api, rest)
        self._error(401, "unsupported_scheme", "unsupported Authorization scheme")
        return None

    def _auth_munge(self, cred):
        if not cred.startswith("MUNGE:"):
            self._error(401, "munge_invalid", "not a MUNGE credential")
            return None
        rc, meta = unmunge(cred)
        self.rec["munge_status"] = rc
        if rc != 0:
            outcome = MUNGE_ERRORS.get(rc, "munge_invalid")
            if rc in (6, 7):
                self._error(503, outcome, "munge service unavailable")
            else:
                self._error(401, outcome, "MUNGE credential rejected")
            return None
        ttl, uid = int(meta.get("TTL", "0")), int(meta.get("UID", "-1"))
        self.rec.update(munge_ttl=ttl, uid=uid)
        if ttl > MAX_TTL:
            self._error(401, "munge_ttl_too_long", f"MUNGE credential TTL {ttl}s exceeds {MAX_TTL}s (use munge -t {MAX_TTL})")
            return None
        user = user_for_uid(uid)
        if not user:
            self._error(403, "unknown_uid", f"uid {uid} has no account on this cluster")
            return None
        self.rec["user"] = user
        return user

    def _auth_bearer(self, token, api, rest):
        entry = find_token(token) if token else None
        if entry is None:
            self._error(401, "bearer_unknown", "invalid bearer token")
            return None
        self.rec.update(token_name=entry.get("name"), user=entry.get("user"), scopes=entry.get("scopes", []))
        if entry.get("revoked") or (entry.get("expires") and time.time() > float(entry["expires"])):
            self._error(401, "bearer_inactive", "bearer token revoked or expired")
            return None
        need = required_scope(api, self.command, rest)
        self.rec["required_scope"] = need
        if need not in entry.get("scopes", []):
            self._error(403, "scope_denied", f"token lacks scope {need}", required_scope=need)
            return None
        return entry["user"]

    # ------------------------------------------------------------- proxy
    def _forward(self, api, version, rest, query, body, user):
        target = f"/{api}/{version}{rest}" + (f"?{query}" if query else "")
        headers = {"X-SLURM-USER-NAME": user, "X-SLURM-USER-TOKEN": mint_slurm_jwt(user),
                   "Accept": self.headers.get("Accept", "application/json")}
        if self.headers.get("Content-Type"):
            headers["Content-Type"] = self.headers["Content-Type"]
        if body or self.command in ("POST", "PUT", "PATCH"):
            headers["Content-Length"] = str(len(body))
        conn = http.client.HTTPConnection(REST.hostname, REST.port, timeout=UPSTREAM_TIMEOUT)
        try:
            conn.request(self.command, target, body=body or None, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
        except (socket.timeout, TimeoutError):
            return self._error(504, "upstream_timeout", "slurmrestd did not answer in time")
        except OSError as e:
            return self._error(502, "upstream_error", f"slurmrestd unreachable: {e.strerror or e}")
        finally:
            conn.close()
        self.rec.update(outcome="forwarded", upstream_status=resp.status, upstream_path=target)
        self._send(resp.status, data, resp.getheader("Content-Type", "application/json"))


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    srv = Server(("127.0.0.1", PORT), Gateway)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=srv.shutdown, daemon=True).start())
    print(f"palmetto gateway on http://127.0.0.1:{PORT} -> {E['SLURM_REST_URL']} "
          f"(versions {SUPPORTED}, latest {LATEST}, munge socket {MUNGE_SOCKET})", file=sys.stderr, flush=True)
    srv.serve_forever()
    srv.server_close()


if __name__ == "__main__":
    main()
