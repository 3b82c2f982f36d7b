"""S3M CONTRACT server, for tokenwarden's tests only.

THIS IS NOT S3M. OLCF's S3M cannot be reached from here and its OpenAPI spec is
ORNL-internal, so this is a contract server built from the PUBLIC documentation,
as summarised in shared/FACILITIES.md §1 (olcf/olcf-user-docs s3m/api/*.rst,
olcf/s3m-apis protos) and the slurmrestd OpenAPI documents in
fixtures/specs/slurmrestd/. Where the documentation is silent, the choice made
here is marked "UNDOCUMENTED" and is a guess, not a fact about S3M.

What it enforces (the contract the client is tested against):
* `Authorization: <token>` with NO scheme word. A `Bearer ` prefix, or no header,
  on an authenticated route -> 401 (UNDOCUMENTED: the gateway's handling of
  `Bearer` is unknown; being strict catches a client that adds one).
* Status routes need no token.
* Tokens are OPAT-shaped JWTs (claims description, type "opat",
  aud ["api.olcf.ornl.gov"], nbf, iat, jti; no exp), looked up in a table with
  project, enclave, permissions, planned expiration. Revoked or unknown -> 401
  (UNDOCUMENTED status code).
* Permissions: Slurm reads need compute-ace or compute-ace-readonly; submit and
  cancel need compute-ace; streaming needs data-streaming -> else 403. A token
  for another enclave than the one in the path -> 403.
* Introspection body `{"token": {username, project, plannedExpiration,
  securityEnclave, description, oneTimeToken, delayedStart, delayDate,
  permissions}}` (permissions: from the proto's TokenDetailsIntrospective).
* Revoke: `DELETE /olcf/v1/token/ctls/revoke` -> `200 {}`; the token is dead.
* Resources and Slurm versions (compute.rst): defiant v0.0.42/43, odo v0.0.43/44,
  wombat and quokka v0.0.42; anything else -> 404.
* Paths: S3M_PATHS=current (`/slurm/{enclave}/v0.0.4x/{resource}/...`,
  `/olcf/{enclave}/v1alpha/streaming/...`) or legacy (no enclave); the other
  form -> 404.
* Job submit: the body is validated against `v0.0.4x_job_submit_req` of the
  matching slurmrestd spec (unknown keys rejected, types checked), `job` XOR
  `jobs`, and `jobs` only on v0.0.44 (as S3M documents). A script is required.
* Streaming clusters answer with credentials holding a password, as in the docs.

Test controls, NOT part of S3M, under /_contract/ (loopback only):
* POST /_contract/tokens {"permissions":[..],"enclave":"open","project":"STF040"}
  -> {"token","fingerprint"}: mint a fresh token (tests that revoke need one).
* POST /_contract/faults {"status":503,"times":2,"path_contains":"/jobs",
  "method":"GET","fingerprint":<fp or null>,"retry_after":1}: the next matching
  requests fail like that (429 + Retry-After, 500, 503 ...).
  Add "delay": seconds (at most 60) for a slow answer; with "status": 0 the
  request is then served normally (the server acts although the client may have
  given up or died meanwhile).
  Add "body" for a broken answer with that status: "truncate" (Content-Length
  promises more than is sent, then the connection closes), "garbage" (a
  complete answer whose JSON is cut short), "trickle" (the headers, then one
  byte every half second of a body that never ends; stops after 60 s or when
  the client hangs up).
* GET /_contract/faults -> {"faults": [...]}: each fault with the `times` it has
  left, so a test can wait until a slow request has arrived.
* GET /ping -> pong.

Every request is appended to S3M_REQUEST_LOG as a JSON line: method, path,
query, headers (any credential replaced by "fp:<sha256 prefix>", keeping a
scheme word such as "Bearer " so tests can see it), body, status, auth_fp.
"""
import base64
import datetime as dt
import hashlib
import hmac
import json
import os
import re
import secrets
import string
import sys
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

E = os.environ
PORT = int(E.get("S3M_PORT", "9620"))
PATHS = E.get("S3M_PATHS", "current")
REQLOG = E.get("S3M_REQUEST_LOG", "/dev/null")
SPECS = E["S3M_SPECS"]
TOKENS_FILE = E["S3M_TOKENS"]
LOCK = threading.Lock()

RESOURCES = {
    "defiant": {"versions": ["v0.0.42", "v0.0.43"], "enclave": "open", "description": "Defiant"},
    "odo": {"versions": ["v0.0.43", "v0.0.44"], "enclave": "open", "description": "Odo"},
    "wombat": {"versions": ["v0.0.42"], "enclave": "open", "description": "Wombat"},
    "quokka": {"versions": ["v0.0.42"], "enclave": "open", "description": "Quokka"},
}

STATE = json.load(open(TOKENS_FILE))  # {"key": hex, "tokens": {jti: {...}}}
KEY = bytes.fromhex(STATE["key"])
FAULTS = []
JOBS = {}  # job_id -> dict
NEXT_JOB = [1000]
CLUSTERS = {}  # (project, backend, name) -> dict


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def b64u_dec(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def fingerprint(tok):
    return "fp:" + hashlib.sha256(tok.encode()).hexdigest()[:16]


def mint(permissions, enclave="open", project="STF040", description="contract-test"):
    now = int(time.time())
    jti = str(uuid.uuid4())
    header = {"alg": "HS256", "typ": "JWT"}  # UNDOCUMENTED: S3M's JWT header is unknown
    claims = {"description": description, "type": "opat", "aud": ["api.olcf.ornl.gov"],
              "nbf": now - 5, "iat": now, "jti": jti}
    signing = b64u(json.dumps(header).encode()) + "." + b64u(json.dumps(claims).encode())
    sig = b64u(hmac.new(KEY, signing.encode(), hashlib.sha256).digest())
    token = signing + "." + sig
    exp = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    with LOCK:
        STATE["tokens"][jti] = {"project": project, "enclave": enclave, "permissions": permissions,
                                "description": description, "plannedExpiration": exp, "revoked": False,
                                "fingerprint": fingerprint(token)}
        save_state()
    return token


def save_state():
    tmp = TOKENS_FILE + ".tmp"
    with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
        json.dump(STATE, f)
    os.replace(tmp, TOKENS_FILE)


def lookup(token):
    parts = token.split(".")
    if len(parts) != 3:
        return None
    want = b64u(hmac.new(KEY, (parts[0] + "." + parts[1]).encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(want, parts[2]):
        return None
    try:
        claims = json.loads(b64u_dec(parts[1]))
    except Exception:
        return None
    rec = STATE["tokens"].get(claims.get("jti"))
    if rec is None or rec["revoked"]:
        return None
    return claims["jti"], rec


# ------------------------------------------------------------------ schema check
SPEC_CACHE = {}


def spec(version):
    if version not in SPEC_CACHE:
        SPEC_CACHE[version] = json.load(open(os.path.join(SPECS, f"slurmrestd-{version}.json")))
    return SPEC_CACHE[version]


def validate(doc, node, value, where, errors):
    """A small JSON-schema subset: $ref, type, properties (unknown keys are errors, as
    slurmrestd's parser reports them), items, enum."""
    if len(errors) > 20:
        return
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        return validate(doc, doc["components"]["schemas"][name], value, where, errors)
    t = node.get("type")
    types = {"object": dict, "array": list, "string": str, "boolean": bool}
    if t in types and not isinstance(value, types[t]):
        errors.append(f"{where}: expected {t}")
        return
    if t in ("integer", "number") and (isinstance(value, bool) or not isinstance(value, (int, float))):
        errors.append(f"{where}: expected {t}")
        return
    if "enum" in node and value not in node["enum"]:
        errors.append(f"{where}: {value!r} is not one of the allowed values")
    if t == "object":
        props = node.get("properties", {})
        for k, v in value.items():
            if k not in props:
                errors.append(f"{where}.{k}: unknown key")
            else:
                validate(doc, props[k], v, f"{where}.{k}", errors)
    if t == "array" and "items" in node:
        for i, v in enumerate(value):
            validate(doc, node["items"], v, f"{where}[{i}]", errors)


# ------------------------------------------------------------------ helpers
def now_iso():
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def no_val(n):
    return {"set": True, "infinite": False, "number": n}


def meta(version):
    return {"plugin": {"type": "openapi/slurmctld", "name": "Slurm OpenAPI slurmctld",
                       "data_parser": "data_parser/" + version},
            "client": {"source": "s3m-contract", "user": "", "group": ""},
            "slurm": {"version": {"major": "25", "micro": "0", "minor": "05"}, "release": "25.05.0",
                      "cluster": "contract"}}


def job_state(job):
    if job.get("cancelled"):
        return "CANCELLED"
    age = time.time() - job["submitted"]
    if age < 0.6:
        return "PENDING"
    if age < 1.5:
        return "RUNNING"
    return "COMPLETED"


def job_info(job):
    return {"job_id": job["id"], "name": job["name"], "user_name": job["user"], "account": job["account"],
            "partition": job["partition"], "job_state": [job_state(job)], "nodes": job["resource"] + "-n1",
            "time_limit": no_val(job["time_limit"]), "current_working_directory": job["cwd"],
            "submit_time": no_val(int(job["submitted"])), "cluster": job["resource"],
            "last_signal": job.get("last_signal")}


def password():
    return "".join(secrets.choice(string.ascii_letters) for _ in range(16))


# ------------------------------------------------------------------ handler
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        print("s3m-contract: " + fmt % args, flush=True)

    def send(self, code, obj, extra=None):
        data = json.dumps(obj).encode()
        self.answering(code)
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def answering(self, code):
        """Sets the status and logs the request before any byte of the answer leaves:
        a client that has its answer and exits must find its request in the log (logging
        after the write raced the test's read of the log)."""
        self.status = code
        url = urllib.parse.urlsplit(self.path)
        if not self.recorded and not url.path.startswith("/_contract") and url.path != "/ping":
            self.recorded = True
            self.record(url.path, url.query, self.fp)

    def err(self, code, msg):
        # UNDOCUMENTED error body shape (gRPC-gateway style).
        self.send(code, {"code": code, "message": msg})

    # -------------------------------------------------------------- entry
    def handle_any(self):
        self.status = 0
        self.recorded = False
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        url = urllib.parse.urlsplit(self.path)
        self.query = urllib.parse.parse_qs(url.query)
        path = url.path
        auth = self.headers.get("Authorization")
        self.token = None
        self.scheme = ""
        if auth is not None:
            m = re.match(r"(?i)^(bearer|token|basic)\s+(.*)$", auth)
            if m:
                self.scheme, self.token = m.group(1), m.group(2).strip()
            else:
                self.token = auth.strip()
        fp = fingerprint(self.token) if self.token else None
        self.fp = fp
        try:
            self.body = json.loads(raw) if raw else None
            self.body_ok = True
        except Exception:
            self.body = raw.decode("utf-8", "replace")
            self.body_ok = False
        try:
            if not self.fault(path, fp):
                self.route(path)
        except Exception as e:  # a bug here must show as 500, not a hung client
            if not self.status:
                self.err(500, f"contract server error: {e}")
        finally:
            if not self.recorded and not path.startswith("/_contract") and path != "/ping":
                self.recorded = True
                self.record(path, url.query, fp)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = handle_any

    def record(self, path, query, fp):
        headers = {}
        for k, v in self.headers.items():
            lk = k.lower()
            if lk == "authorization" or (self.token and self.token in v):
                v = (self.scheme + " " if self.scheme else "") + (fp or "<empty>")
            headers[lk] = v
        body = self.body
        rec = {"t": time.time(), "method": self.command, "path": path, "query": query,
               "headers": headers, "body": body, "status": self.status, "auth_fp": fp}
        line = json.dumps(rec)
        if self.token:
            line = line.replace(self.token, fp)
        with LOCK:
            with open(REQLOG, "a") as f:
                f.write(line + "\n")

    def fault(self, path, fp):
        with LOCK:
            for f in FAULTS:
                if f["times"] <= 0:
                    continue
                if f.get("method") and f["method"] != self.command:
                    continue
                if f.get("path_contains") and f["path_contains"] not in path:
                    continue
                if f.get("fingerprint") and f["fingerprint"] != fp:
                    continue
                f["times"] -= 1
                extra = {"Retry-After": str(f["retry_after"])} if f.get("retry_after") is not None else {}
                break
            else:
                return False
        if f.get("delay"):
            # A slow server (bounded: at most 60 s). With status 0 the request then goes on
            # normally: the server acts even if the client gave up or died meanwhile.
            time.sleep(min(float(f["delay"]), 60.0))
        if f["status"] == 0:
            return False
        if f.get("body"):
            self.broken(f["status"], f["body"])
            return True
        self.send(f["status"], {"code": f["status"], "message": "injected fault"}, extra)
        return True

    def broken(self, code, how):
        part = b'{"token": {"owner": "alice", "project": "STF0'
        length = {"truncate": len(part) + 500, "trickle": 10_000_000}.get(how, len(part))
        self.answering(code)
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(length))
        self.end_headers()
        self.close_connection = True
        try:
            if how == "trickle":
                end = time.time() + 60
                while time.time() < end:
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    time.sleep(0.5)
            else:
                self.wfile.write(part)
                self.wfile.flush()
        except OSError:
            pass  # the client hung up: what a client with a timeout should do

    # -------------------------------------------------------------- auth
    def authenticate(self, need=None, enclave=None):
        """Returns the token record, or None after answering 401/403."""
        if self.token is None:
            self.err(401, "missing Authorization header")
            return None
        if self.scheme:
            self.err(401, "malformed Authorization header: S3M takes the token without a scheme")
            return None
        found = lookup(self.token)
        if found is None:
            self.err(401, "invalid, expired or revoked token")
            return None
        jti, rec = found
        if enclave is not None and enclave != rec["enclave"]:
            self.err(403, f"token is for enclave {rec['enclave']}, not {enclave}")
            return None
        if need and not any(p in rec["permissions"] for p in need):
            self.err(403, "token lacks permission: needs one of " + ", ".join(need))
            return None
        rec = dict(rec)
        rec["jti"] = jti
        return rec

    # -------------------------------------------------------------- routing
    def route(self, path):
        m = self.command
        if path == "/ping":
            data = b"pong"
            self.send_response(200)
            self.send_header("Content-Length", "4")
            self.end_headers()
            self.wfile.write(data)
            self.status = 200
            return
        if path.startswith("/_contract/"):
            return self.control(path)
        if path.startswith("/olcf/v1alpha/status"):
            return self.status_route(path)
        if path == "/olcf/v1/token/ctls/introspect" and m == "GET":
            return self.introspect()
        if path == "/olcf/v1/token/ctls/revoke" and m == "DELETE":
            return self.revoke()
        parts = [p for p in path.split("/") if p]
        if parts[:1] == ["slurm"]:
            if PATHS == "current" and len(parts) >= 4 and not parts[1].startswith("v0."):
                return self.slurm(parts[1], parts[2], parts[3], parts[4:])
            if PATHS == "legacy" and len(parts) >= 3 and parts[1].startswith("v0."):
                return self.slurm(None, parts[1], parts[2], parts[3:])
            return self.err(404, "no such path")
        if parts[:1] == ["olcf"]:
            if PATHS == "current" and parts[2:4] == ["v1alpha", "streaming"]:
                return self.streaming(parts[1], parts[4:])
            if PATHS == "legacy" and parts[1:3] == ["v1alpha", "streaming"]:
                return self.streaming(None, parts[3:])
        return self.err(404, "no such path")

    def control(self, path):
        if self.client_address[0] != "127.0.0.1":
            return self.err(403, "loopback only")
        b = self.body if isinstance(self.body, dict) else {}
        if path == "/_contract/tokens" and self.command == "POST":
            tok = mint(b.get("permissions", []), b.get("enclave", "open"), b.get("project", "STF040"),
                       b.get("description", "contract-test"))
            return self.send(200, {"token": tok, "fingerprint": fingerprint(tok)})
        if path == "/_contract/faults" and self.command == "POST":
            f = {"status": int(b.get("status", 503)), "times": int(b.get("times", 1)),
                 "path_contains": b.get("path_contains"), "method": b.get("method"),
                 "fingerprint": b.get("fingerprint"), "retry_after": b.get("retry_after"),
                 "delay": b.get("delay"), "body": b.get("body")}
            with LOCK:
                FAULTS.append(f)
            return self.send(200, {"ok": True})
        if path == "/_contract/faults" and self.command == "GET":
            # What is left of each fault: a test can tell that a request has arrived (its
            # fault's `times` went down) while its slow answer is still to come.
            with LOCK:
                return self.send(200, {"faults": [dict(f) for f in FAULTS]})
        return self.err(404, "no such control")

    # -------------------------------------------------------------- status
    def status_route(self, path):
        if self.command != "GET":
            return self.err(405, "method not allowed")
        upcoming = [{"resourceName": "defiant", "status": "UNAVAILABLE", "start": "2030-04-20T11:40:00Z",
                     "end": "2030-04-21T11:40:00Z", "description": "Compute system hardware maintenance",
                     "attributes": {"scheduled": True, "reboot": True}, "updatedAt": "2030-04-19T13:40:29Z"}]
        current = [{"resourceName": "quokka", "status": "DEGRADED", "start": "2026-01-01T00:00:00Z",
                    "end": "2031-01-01T00:00:00Z", "description": "Reduced capacity",
                    "attributes": {"scheduled": False, "reboot": False}, "updatedAt": now_iso()}]

        def res(name, r):
            return {"name": name, "description": r["description"], "systemType": "resource",
                    "securityEnclave": r["enclave"], "organization": "olcf",
                    "status": "DEGRADED" if name == "quokka" else "OPERATIONAL",
                    "downtimeScheduleAvailable": True,
                    "upcomingDowntimes": [d for d in upcoming if d["resourceName"] == name],
                    "retrievedAt": now_iso()}
        if path == "/olcf/v1alpha/status":
            # UNDOCUMENTED list wrapper key.
            return self.send(200, {"resources": [res(n, r) for n, r in RESOURCES.items()]})
        if path == "/olcf/v1alpha/status/downtimes":
            return self.send(200, {"downtimes": current})
        if path == "/olcf/v1alpha/status/downtimes/upcoming":
            return self.send(200, {"downtimes": upcoming})
        name = path[len("/olcf/v1alpha/status/"):]
        if name in RESOURCES:
            return self.send(200, res(name, RESOURCES[name]))
        return self.err(404, f"resource {name} not found")

    # -------------------------------------------------------------- tokens
    def introspect(self):
        rec = self.authenticate()
        if rec is None:
            return
        self.send(200, {"token": {
            "username": rec["project"].lower() + "_auser", "project": rec["project"],
            "plannedExpiration": rec["plannedExpiration"], "securityEnclave": rec["enclave"],
            "description": rec["description"], "oneTimeToken": False, "delayedStart": False,
            "delayDate": "", "permissions": rec["permissions"]}})

    def revoke(self):
        rec = self.authenticate()
        if rec is None:
            return
        with LOCK:
            STATE["tokens"][rec["jti"]]["revoked"] = True
            save_state()
        self.send(200, {})

    # -------------------------------------------------------------- slurm
    def slurm(self, enclave, version, resource, rest):
        write = (self.command == "POST" and rest == ["job", "submit"]) or self.command == "DELETE"
        need = ["compute-ace"] if write else ["compute-ace", "compute-ace-readonly"]
        rec = self.authenticate(need, enclave)
        if rec is None:
            return
        r = RESOURCES.get(resource)
        if r is None or version not in r["versions"]:
            return self.err(404, f"{resource} does not offer Slurm API {version}")
        base = {"meta": meta(version), "errors": [], "warnings": []}
        user = rec["project"].lower() + "_auser"
        g = self.command == "GET"
        if g and rest == ["ping"]:
            return self.send(200, dict(base, pings=[{"hostname": resource + "-ctl1", "pinged": "UP",
                                                     "responding": True, "latency": 412, "mode": "primary",
                                                     "primary": True}]))
        if g and rest == ["diag"]:
            return self.send(200, dict(base, statistics={"parts_packed": 1, "req_time": no_val(int(time.time())),
                                                         "server_thread_count": 3, "jobs_submitted": len(JOBS),
                                                         "jobs_running": 0, "schedule_cycle_last": 120}))
        if g and rest == ["jobs"]:
            jobs = [job_info(j) for j in JOBS.values() if j["resource"] == resource]
            return self.send(200, dict(base, jobs=jobs, last_backfill=no_val(0), last_update=no_val(int(time.time()))))
        if g and rest == ["nodes"]:
            return self.send(200, dict(base, nodes=[{"name": f"{resource}-n{i}", "state": ["IDLE"], "cpus": 128,
                                                     "real_memory": 512000, "partitions": ["batch"]}
                                                    for i in (1, 2)], last_update=no_val(0)))
        if g and rest == ["partitions"]:
            return self.send(200, dict(base, partitions=[{"name": "batch", "partition": {"state": ["UP"]},
                                                          "nodes": {"total": 2, "configured": f"{resource}-n[1-2]"},
                                                          "maximums": {"time": no_val(1440)}}],
                                       last_update=no_val(0)))
        if g and rest == ["reservations"]:
            return self.send(200, dict(base, reservations=[{"name": "maint", "node_list": f"{resource}-n1",
                                                            "start_time": no_val(1900000000),
                                                            "end_time": no_val(1900086400)}],
                                       last_update=no_val(0)))
        if self.command == "POST" and rest == ["job", "submit"]:
            return self.submit(version, resource, user, base)
        if len(rest) == 2 and rest[0] == "job" and self.command in ("GET", "DELETE"):
            job = JOBS.get(rest[1])
            if job is None or job["resource"] != resource:
                return self.send(404, dict(base, errors=[{"error": "Invalid job id specified", "error_number": 2017,
                                                          "description": f"job {rest[1]} not found"}]))
            if g:
                return self.send(200, dict(base, jobs=[job_info(job)]))
            sig = (self.query.get("signal") or [None])[0]
            job["last_signal"] = sig
            if sig is None or sig.upper().lstrip("SIG") in ("TERM", "KILL", "9", "15"):
                job["cancelled"] = True
            return self.send(200, dict(base, status=[]))
        return self.err(404, "no such Slurm operation")

    def submit(self, version, resource, user, base):
        if not self.body_ok or not isinstance(self.body, dict):
            return self.send(400, dict(base, errors=[{"error": "Unable to parse request body",
                                                      "description": "body is not a JSON object"}]))
        b = self.body
        doc = spec(version)
        errors = []
        validate(doc, doc["components"]["schemas"][f"{version}_job_submit_req"], b, "job_submit_req", errors)
        has_job, has_jobs = "job" in b, "jobs" in b
        if has_job == has_jobs:
            errors.append("exactly one of `job` and `jobs` is required")
        if has_jobs and version != "v0.0.44":
            errors.append("`jobs` is accepted only on v0.0.44")
        desc = b.get("job") if has_job else ((b.get("jobs") or [None])[0])
        if not isinstance(desc, dict):
            errors.append("no job description")
            desc = {}
        script = desc.get("script") or b.get("script")
        if not isinstance(script, str) or not script.startswith("#!"):
            errors.append("a batch script starting with #! is required")
        if errors:
            return self.send(400, dict(base, errors=[{"error": "Invalid job description", "error_number": 9001,
                                                      "description": e} for e in errors]))
        with LOCK:
            NEXT_JOB[0] += 1
            jid = NEXT_JOB[0]
        tl = desc.get("time_limit") or {}
        JOBS[str(jid)] = {"id": jid, "resource": resource, "name": desc.get("name", "job"), "user": user,
                          "account": desc.get("account", ""), "partition": desc.get("partition", "batch"),
                          "time_limit": tl.get("number", 60) if isinstance(tl, dict) else 60,
                          "cwd": desc.get("current_working_directory", "/tmp"), "submitted": time.time(),
                          "script": script}
        self.send(200, dict(base, job_id=jid, step_id="batch", job_submit_user_msg=""))

    # -------------------------------------------------------------- streaming
    def streaming(self, enclave, rest):
        rec = self.authenticate(["data-streaming"], enclave)
        if rec is None:
            return
        proj = rec["project"].lower()
        m = self.command
        if rest == ["list_backends"] and m == "GET":
            return self.send(200, {"backends": [{"name": "rabbitmq", "description": "RabbitMQ message broker"},
                                                {"name": "redis", "description": "Redis streams"}]})
        if not rest or rest[0] not in ("rabbitmq", "redis"):
            return self.err(404, "no such streaming backend")
        be = rest[0]
        op = rest[1:]

        def creds(c):
            host = f"{'rmq' if be == 'rabbitmq' else 'redis'}-{proj}-api-{c['name']}"
            out = {"username": f"{proj}-api", "password": c["password"]}
            if be == "rabbitmq":
                out["amqpsUrl"] = f"amqps://{proj}-api:{c['password']}@{host}.io.s3m-streams.contract.invalid:443"
                out["mgmtUrl"] = f"https://{host}.mgmt.s3m-streams.contract.invalid"
            else:
                out["url"] = f"redis://{proj}-api:{c['password']}@{host}.io.s3m-streams.contract.invalid:443"
            return out

        def full(c):
            # UNDOCUMENTED: list/get answer shapes are not in the docs.
            return dict(creds(c), name=c["name"], kind=c["kind"], status="READY",
                        resourceSettings=c["settings"], expiresAt=c["expires"])

        if op == ["provision_cluster"] and m == "POST":
            b = self.body if isinstance(self.body, dict) else None
            rs = b.get("resourceSettings") if b else None
            ok = (b is not None and isinstance(b.get("kind"), str) and isinstance(b.get("name"), str)
                  and re.fullmatch(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?", b["name"] or "")
                  and isinstance(rs, dict) and set(rs) <= {"cpus", "ram-gbs", "nodes"}
                  and all(isinstance(rs.get(k), int) and rs[k] > 0 for k in ("cpus", "ram-gbs", "nodes"))
                  and set(b) <= {"kind", "name", "resourceSettings"})
            if not ok:
                return self.err(400, "body must be {kind, name, resourceSettings{cpus, ram-gbs, nodes}}")
            key = (proj, be, b["name"])
            if key in CLUSTERS:
                return self.err(409, "cluster exists")
            c = {"name": b["name"], "kind": b["kind"], "settings": rs, "password": password(),
                 "expires": (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%SZ")}
            CLUSTERS[key] = c
            return self.send(200, creds(c))
        if op == ["list_clusters"] and m == "GET":
            return self.send(200, {"clusters": [full(c) for (p, b2, _), c in CLUSTERS.items() if p == proj and b2 == be]})
        if len(op) == 2 and op[0] in ("cluster", "extend"):
            key = (proj, be, op[1])
            c = CLUSTERS.get(key)
            if c is None:
                return self.err(404, f"cluster {op[1]} not found")
            if op[0] == "cluster" and m == "GET":
                return self.send(200, full(c))
            if op[0] == "cluster" and m == "DELETE":
                del CLUSTERS[key]
                return self.send(200, {})
            if op[0] == "extend" and m == "POST":
                c["expires"] = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%SZ")
                return self.send(200, {"expiresAt": c["expires"]})
        return self.err(404, "no such streaming operation")


if __name__ == "__main__":
    srv = ThreadingHTTPServer(("127.0.0.1", PORT), H)
    srv.daemon_threads = True
    print(f"s3m-contract ({PATHS} paths) on 127.0.0.1:{PORT}", flush=True)
    srv.serve_forever()
