"""IRI Facility API v1 CONTRACT server for tokenwarden's client tests.

This is a contract server built from the published spec
(fixtures/specs/iri/iri-facility-api-v1.yaml, doe-iri) and from FACILITIES.md §2 — it is NOT
the ALCF, NERSC or OLCF service, whose hosts cannot be reached from here. What makes it useful
is that it is strict where the real services may be lenient:

* every request the client sends is validated against the spec with openapi-core (path,
  query, headers, JSON and multipart bodies, bearer security); an invalid request is answered
  422 and recorded with `"valid": false` and the validator's errors;
* every response it produces (including the 401 and 503 answers of the bearer check; not
  injected faults) is validated against the spec too (a response that does not validate is a
  bug here, answered 500 and recorded with `"response_valid": false`);
* every request is recorded as one JSON line (method, path, query, headers with credential
  values replaced by their SHA-256, body), readable at GET /__control/log;
* operations marked `HTTPBearer` in the spec require `Authorization: Bearer <token>`; a token
  is accepted when (in this order)
    1. it equals IRI_TOKEN (always, on every path, without any network call);
    2. an accept rule `{"match": "<path substring>", "any_bearer": true}` matches the path
       (for tests whose token comes from elsewhere and need not be checked);
    3. the NEWEST matching introspection rule (resource-server mode, like a real IRI
       deployment asking Globus Auth about each token) says so:
       `{"match": "<path substring>", "introspect": "<RFC 7662 introspection URL>",
         "client_id": "...", "client_secret": "...", "timeout": 2}` (timeout optional, seconds,
       0 < t <= 10, default 2). For every request on a matching path (no caching) the bearer is
       POSTed to that URL as form `token=<bearer>` with HTTP Basic client authentication
       (RFC 6749 §2.3.1), no proxy, no redirects; the URL must be http(s) on a loopback host
       (127.0.0.0/8, ::1, localhost), checked when the rule is added (400 otherwise).
       Answer 200 with `"active": true` -> accepted; `"active": false` -> 401 as for any
       other invalid token; anything else (unreachable, timeout, non-200, not JSON, no boolean
       `active`) -> 503 Problem "token introspection failed". The log entry gets an
       `introspection` object (url, http_status, active, client_id, sub, scope, error, ms;
       never the token);
  otherwise 401 Problem with `WWW-Authenticate: Bearer error="invalid_token"` (no
  `Authorization` header at all: 401 with `WWW-Authenticate: Bearer`);
* GET /api/v1/task/<unknown id> is the cheap liveness probe for a token: 404 Problem for an
  accepted token, 401 for a missing/invalid one (the bearer check comes before the lookup);
* filesystem operations return tasks that complete after IRI_TASK_DELAY seconds, against a
  small in-memory file tree (upload stores a file, download returns it);
* faults can be injected per path substring: POST /__control/fault
  {"match": "...", "method": "POST", "status": 503, "times": 2, "retry_after": 1}
  (429 and 503 carry Retry-After when asked); they come before validation and the bearer check.

Control routes (outside /api/): GET /__control/health, GET /__control/log, POST /__control/fault,
POST /__control/accept (a rule above; 400 `{"error": ...}` if malformed), GET /__control/accept
(the rules, client secrets replaced by "***"), DELETE /__control/accept with `{"match": "..."}`
(removes the rules with exactly that `match`; answers `{"ok": true, "removed": n}`).
The server is machine-wide and shared: use a `match` narrow enough not to change what other
tests see. It listens on 127.0.0.1 only.
"""

import base64
import hashlib
import ipaddress
import json
import os
import re
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

import yaml
from openapi_core import OpenAPI
from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest, WerkzeugOpenAPIResponse
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

SPEC_PATH = os.environ["IRI_SPEC"]
PORT = int(os.environ.get("IRI_PORT", "9460"))
TOKEN = os.environ["IRI_TOKEN"]
LOG_PATH = os.environ.get("IRI_LOG")
TASK_DELAY = float(os.environ.get("IRI_TASK_DELAY", "0.8"))

with open(SPEC_PATH) as f:
    SPEC_DICT = yaml.safe_load(f)
# openapi-core's OAS 3.1 validator checks `format: binary` file parts as `str` while multipart
# parsing yields bytes, so the one binary field is relaxed to "any value" — its presence is
# still required by the schema, and the upload handler checks that it arrived as a file part.
SPEC_DICT["components"]["schemas"]["Body_upload"]["properties"]["file"] = {"title": "File"}
# The spec names NERSC's host as its server; this copy serves the same paths on loopback.
OPENAPI = OpenAPI.from_dict(dict(SPEC_DICT, servers=[{"url": f"http://127.0.0.1:{PORT}"}]))

ROUTES = []  # (method, regex, operationId, needs_auth, template)
for tmpl, ops in SPEC_DICT["paths"].items():
    rx = "^" + re.sub(r"\{([^}]+)\}", r"(?P<\1>[^/]+)", tmpl) + "$"
    for method, op in ops.items():
        if method == "parameters":
            continue
        ROUTES.append((method.upper(), re.compile(rx), op["operationId"], bool(op.get("security")), tmpl))

LOCK = threading.Lock()
LOG = []
FAULTS = []
ACCEPT = []
JOBS = {}
TASKS = {}
FILES = {"/home/alice/hello.txt": b"hello from the contract server\nline 2\nline 3\n"}
NOW = "2026-03-01T12:00:00Z"
BASE = f"http://127.0.0.1:{PORT}/api/v1"

COMPUTE = "55c1c993-1124-47f9-b823-514ba3849a9a"
STORAGE = "1c3ad9d4-2e91-42bc-becb-72b1fde1235c"
SITE = "site-1"


def resource(rid, name, rtype, endpoints, group):
    return {
        "id": rid, "name": name, "description": f"{name} (contract server)", "last_modified": NOW,
        "group": group, "current_status": "up", "resource_type": rtype,
        "supported_endpoints": endpoints, "self_uri": f"{BASE}/status/resources/{rid}",
        "site_uri": f"{BASE}/facility/sites/{SITE}", "capability_uris": [f"{BASE}/account/capabilities/cap-1"],
    }


RESOURCES = [
    resource(COMPUTE, "Polaris", "compute", ["compute"], "compute"),
    resource(STORAGE, "Eagle", "storage", ["filesystem"], "storage"),
]
FACILITY = {
    "id": "fac-1", "name": "Contract Facility", "description": "built from the IRI v1 spec",
    "last_modified": NOW, "short_name": "CONTRACT", "organization_name": "tokenwarden tests",
    "support_uri": "https://support.example.org", "self_uri": f"{BASE}/facility",
    "site_uris": [f"{BASE}/facility/sites/{SITE}"],
}
SITES = [{
    "id": SITE, "name": "Main site", "description": "the only site", "last_modified": NOW,
    "short_name": "MAIN", "operating_organization": "tokenwarden tests", "country_name": "United States",
    "locality_name": "Lemont", "state_or_province_name": "IL", "street_address": "9700 S Cass Ave",
    "unlocode": "US LMT", "altitude": 200.0, "latitude": 41.7, "longitude": -87.98,
    "self_uri": f"{BASE}/facility/sites/{SITE}", "resource_uris": [r["self_uri"] for r in RESOURCES],
}]
INCIDENTS = [{
    "id": "inc-1", "name": "Polaris maintenance", "description": "planned maintenance", "last_modified": NOW,
    "status": "down", "start": "2026-03-02T08:00:00Z", "end": "2026-03-02T16:00:00Z", "type": "planned",
    "resolution": "pending", "self_uri": f"{BASE}/status/incidents/inc-1",
    "event_uris": [f"{BASE}/status/events/ev-1"], "resource_uris": [RESOURCES[0]["self_uri"]],
}]
EVENTS = [{
    "id": "ev-1", "name": "Polaris down", "description": "maintenance began", "last_modified": NOW,
    "occurred_at": "2026-03-02T08:00:00Z", "status": "down", "self_uri": f"{BASE}/status/events/ev-1",
    "resource_uri": RESOURCES[0]["self_uri"], "incident_uri": INCIDENTS[0]["self_uri"],
}]
CAPABILITIES = [{
    "id": "cap-1", "name": "Polaris GPU node hours", "description": "GPU nodes", "last_modified": NOW,
    "units": ["node_hours"], "self_uri": f"{BASE}/account/capabilities/cap-1",
}]
PROJECTS = [{
    "id": "proj-1", "name": "Climate", "description": "atmospheric dynamics", "user_ids": ["alice"],
    "last_modified": NOW, "self_uri": f"{BASE}/account/projects/proj-1",
}]
PALLOCS = [{
    "id": "alloc-1", "entries": [{"allocation": 1000.0, "usage": 12.5, "unit": "node_hours"}],
    "project_uri": PROJECTS[0]["self_uri"], "capability_uri": CAPABILITIES[0]["self_uri"],
}]
UALLOCS = [{
    "id": "ualloc-1", "user_id": "alice", "entries": [{"allocation": 100.0, "usage": 1.5, "unit": "node_hours"}],
    "project_allocation_uri": f"{BASE}/account/projects/proj-1/project_allocations/alloc-1",
}]


def problem(status, title, detail, instance):
    return status, {"type": "about:blank", "status": status, "title": title, "detail": detail, "instance": instance}


def by_id(items, key, value, instance):
    for it in items:
        if it[key] == value:
            return 200, it
    return problem(404, "Not Found", f"no object with id {value}", instance)


def page(items, q):
    off = int(q.get("offset", 0) or 0)
    lim = int(q.get("limit", 100) or 100)
    return 200, items[off:off + lim]


def new_task(command, args, result):
    tid = str(uuid.uuid4())
    with LOCK:
        TASKS[tid] = {"id": tid, "created": time.time(), "command": {"router": "filesystem", "command": command, "args": args},
                      "result": result, "canceled": False}
    return tid


def task_view(t):
    age = time.time() - t["created"]
    if t["canceled"]:
        status, result = "canceled", None
    elif age < TASK_DELAY / 2:
        status, result = "pending", None
    elif age < TASK_DELAY:
        status, result = "active", None
    else:
        status, result = ("failed", t["result"]) if "error" in (t["result"] or {}) else ("completed", t["result"])
    return {"id": t["id"], "status": status, "result": result, "command": t["command"]}


def fs_op(op, q, body, files, instance):
    """Runs a filesystem operation against the in-memory tree; returns the task result."""
    path = q.get("path") or (body or {}).get("path")
    if op == "upload":
        if "file" not in files or not files["file"].filename:
            return {"error": "the `file` part must be a file upload"}
        data = files["file"].read()
        FILES[path] = data
        return {"output": f"uploaded {len(data)} bytes to {path}"}
    if op in ("ls",):
        names = sorted(p for p in FILES if p.startswith(path.rstrip("/") + "/") or p == path)
        return {"output": [{"name": p.rsplit("/", 1)[-1], "type": "file", "size": len(FILES[p]), "path": p} for p in names]}
    if op in ("head", "tail", "view", "download", "checksum", "stat", "file"):
        if path not in FILES:
            return {"error": f"{path}: no such file"}
        data = FILES[path]
        if op == "head":
            n = int(q.get("lines") or 10)
            return {"output": "".join(data.decode().splitlines(True)[:n])}
        if op == "tail":
            n = int(q.get("lines") or 10)
            return {"output": "".join(data.decode().splitlines(True)[-n:])}
        if op in ("view", "download"):
            return {"output": data.decode()}
        if op == "checksum":
            return {"output": {"algorithm": "SHA-256", "checksum": hashlib.sha256(data).hexdigest()}}
        if op == "stat":
            return {"output": {"size": len(data), "mode": 33188, "uid": 1000, "gid": 1000}}
        return {"output": "ASCII text"}
    if op == "rm":
        return {"output": f"removed {path}"} if FILES.pop(path, None) is not None else {"error": f"{path}: no such file"}
    if op in ("mv", "cp"):
        if path not in FILES:
            return {"error": f"{path}: no such file"}
        FILES[body["target_path"]] = FILES[path]
        if op == "mv":
            del FILES[path]
        return {"output": f"{op} {path} -> {body['target_path']}"}
    return {"output": f"{op} done", "args": body or dict(q)}


def handle(op, params, q, body, files, instance, headers):
    p = params
    if op == "getFacility":
        return 200, FACILITY
    if op == "getSites":
        return page(SITES, q)
    if op == "getSite":
        return by_id(SITES, "id", p["site_id"], instance)
    if op in ("getResources",):
        items = [r for r in RESOURCES if not q.get("resource_type") or r["resource_type"] == q["resource_type"]]
        return page(items, q)
    if op == "getComputeResources":
        return 200, [RESOURCES[0]]
    if op == "getFilesystemResources":
        return 200, [RESOURCES[1]]
    if op == "getResource":
        return by_id(RESOURCES, "id", p["resource_id"], instance)
    if op == "getIncidents":
        return page(INCIDENTS, q)
    if op == "getIncident":
        return by_id(INCIDENTS, "id", p["incident_id"], instance)
    if op == "getEventsByIncident":
        return page([e for e in EVENTS if not q.get("incident_id") or e["incident_uri"].endswith("/" + q["incident_id"])], q)
    if op == "getEventByIncident":
        return by_id(EVENTS, "id", p["event_id"], instance)
    if op == "getCapabilities":
        return page(CAPABILITIES, q)
    if op == "getCapability":
        return by_id(CAPABILITIES, "id", p["capability_id"], instance)
    if op == "getProjects":
        return 200, PROJECTS
    if op == "getProject":
        return by_id(PROJECTS, "id", p["project_id"], instance)
    if op == "getProjectAllocationsByProject":
        return (200, PALLOCS) if p["project_id"] == "proj-1" else problem(404, "Not Found", "no such project", instance)
    if op == "getProjectAllocationByProject":
        return by_id(PALLOCS, "id", p["project_allocation_id"], instance)
    if op == "getUserAllocationsByProjectAllocation":
        return 200, UALLOCS
    if op == "getUserAllocationByProjectAllocation":
        return by_id(UALLOCS, "id", p["user_allocation_id"], instance)
    if op == "launchJob":
        jid = str(len(JOBS) + 1000)
        with LOCK:
            JOBS[(p["resource_id"], jid)] = {"spec": body, "state": "queued"}
        return 200, {"id": jid, "status": {"state": "queued", "time": time.time(), "message": "queued"}, "job_spec": body}
    if op in ("updateJob", "getJob", "cancelJob"):
        job = JOBS.get((p["resource_id"], p["job_id"]))
        if job is None:
            return problem(404, "Not Found", f"no job {p['job_id']}", instance)
        if op == "updateJob":
            job["spec"] = body
        if op == "cancelJob":
            job["state"] = "canceled"
            return 204, None
        out = {"id": p["job_id"], "status": {"state": job["state"], "time": time.time(), "message": None}}
        if op == "updateJob" or q.get("include_spec") == "true":
            out["job_spec"] = job["spec"]
        return 200, out
    if op == "getJobs":
        filt = body or {}
        out = []
        for (rid, jid), job in sorted(JOBS.items()):
            if rid != p["resource_id"]:
                continue
            if "state" in filt and job["state"] != filt["state"]:
                continue
            if "name" in filt and (job["spec"] or {}).get("name") != filt["name"]:
                continue
            j = {"id": jid, "status": {"state": job["state"], "time": time.time()}}
            if q.get("include_spec") == "true":
                j["job_spec"] = job["spec"]
            out.append(j)
        return page(out, q)
    if op == "getTasks":
        return 200, [task_view(t) for t in TASKS.values()]
    if op == "getTask":
        t = TASKS.get(p["task_id"])
        return (200, task_view(t)) if t else problem(404, "Not Found", f"no task {p['task_id']}", instance)
    if op == "deleteTask":
        t = TASKS.get(p["task_id"])
        if not t:
            return problem(404, "Not Found", f"no task {p['task_id']}", instance)
        t["canceled"] = True
        return 200, f"task {p['task_id']} canceled"
    # filesystem: everything else returns a task
    result = fs_op(op, q, body, files, instance)
    tid = new_task(op, {"query": dict(q), "body": body}, result)
    status = 201 if instance.split("/")[4] in ("mkdir", "symlink", "compress", "extract", "mv", "cp") else 200
    return status, {"task_id": tid, "task_uri": f"{BASE}/task/{tid}"}


SECRET_HEADERS = {"authorization", "cookie", "x-api-key"}


def check_accept_rule(rule):
    """Returns why an accept rule is malformed, or None."""
    if not isinstance(rule, dict) or not isinstance(rule.get("match"), str) or not rule["match"]:
        return "a rule is a JSON object with a non-empty string `match`"
    if "introspect" not in rule:
        return None if rule.get("any_bearer") is True else "a rule needs `any_bearer: true` or `introspect`"
    if rule.get("any_bearer"):
        return "`any_bearer` and `introspect` exclude each other"
    url, u = rule["introspect"], None
    try:
        u = urllib.parse.urlsplit(url) if isinstance(url, str) else None
        host = u.hostname if u else None
        loopback = host == "localhost" or (host is not None and ipaddress.ip_address(host).is_loopback)
    except ValueError:
        loopback = False
    if not u or u.scheme not in ("http", "https") or not loopback or u.username or u.password:
        return "`introspect` must be an http(s) URL on a loopback host (127.0.0.0/8, ::1, localhost)"
    if not isinstance(rule.get("client_id"), str) or not rule["client_id"] \
            or not isinstance(rule.get("client_secret"), str):
        return "an introspection rule needs string `client_id` and `client_secret`"
    t = rule.get("timeout", 2)
    if isinstance(t, bool) or not isinstance(t, (int, float)) or not 0 < t <= 10:
        return "`timeout` is a number of seconds, 0 < timeout <= 10"
    return None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a redirect is an introspection failure, never followed


# No proxy (the token must not leave loopback), no redirects.
_INTROSPECT_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect)


def introspect(rule, token):
    """RFC 7662 call for one bearer. Returns (active: bool | None, info); None = failure."""
    quote = lambda v: urllib.parse.quote(v, safe="")  # noqa: E731 - RFC 6749 §2.3.1 encoding
    basic = base64.b64encode(f"{quote(rule['client_id'])}:{quote(rule['client_secret'])}".encode()).decode()
    req = urllib.request.Request(rule["introspect"], method="POST",
                                 data=urllib.parse.urlencode({"token": token}).encode(),
                                 headers={"Authorization": "Basic " + basic, "Accept": "application/json",
                                          "Content-Type": "application/x-www-form-urlencoded"})
    info = {"url": rule["introspect"]}
    t0 = time.monotonic()
    try:
        with _INTROSPECT_OPENER.open(req, timeout=float(rule.get("timeout", 2))) as r:
            info["http_status"] = r.status
            raw = r.read(1 << 20)
    except urllib.error.HTTPError as e:
        info.update(http_status=e.code, error=f"introspection endpoint answered HTTP {e.code}")
        return None, info
    except Exception as e:  # noqa: BLE001 - unreachable, timeout, reset ...
        info["error"] = f"introspection endpoint unreachable: {e!r}"
        return None, info
    finally:
        info["ms"] = round((time.monotonic() - t0) * 1000, 1)
    try:
        ans = json.loads(raw)
    except ValueError:
        ans = None
    if not isinstance(ans, dict) or not isinstance(ans.get("active"), bool):
        info["error"] = "introspection answer is not a JSON object with a boolean `active`"
        return None, info
    info["active"] = ans["active"]
    for k in ("client_id", "sub", "scope"):
        if isinstance(ans.get(k), str):
            info[k] = ans[k]
    return ans["active"], info


def authorize(path, bearer):
    """The bearer check of a secured operation: (True, None, info) when accepted, else
    (False, (status, title, detail, www_authenticate or None), info); `info` is the
    introspection record when an introspection endpoint was asked, else None."""
    if bearer is None:
        return False, (401, "Unauthorized", "a bearer token is required", "Bearer"), None
    if bearer == TOKEN:
        return True, None, None
    with LOCK:
        rules = [a for a in ACCEPT if a["match"] in path]
    if any(a.get("any_bearer") for a in rules):
        return True, None, None
    rule = next((a for a in reversed(rules) if "introspect" in a), None)
    if rule is None:
        return False, (401, "Unauthorized", "the bearer token is not valid", 'Bearer error="invalid_token"'), None
    active, info = introspect(rule, bearer)
    if active:
        return True, None, info
    if active is False:
        return False, (401, "Unauthorized", "the bearer token is not active", 'Bearer error="invalid_token"'), info
    return False, (503, "Service Unavailable", f"token introspection failed: {info['error']}", None), info


def record(entry):
    with LOCK:
        LOG.append(entry)
        if LOG_PATH:
            with open(LOG_PATH, "a") as f:
                f.write(json.dumps(entry) + "\n")


def json_response(status, body, extra_headers=None):
    if status == 204 or body is None:
        r = Response(status=status)
    else:
        r = Response(json.dumps(body), status=status, mimetype="application/json")
    for k, v in (extra_headers or {}).items():
        r.headers[k] = v
    return r


def control(req):
    global FAULTS, ACCEPT
    if req.path == "/__control/log":
        with LOCK:
            return json_response(200, list(LOG))
    if req.path == "/__control/fault" and req.method == "POST":
        with LOCK:
            FAULTS.append(dict(req.get_json(), used=0))
        return json_response(200, {"ok": True})
    if req.path == "/__control/accept" and req.method == "POST":
        rule = req.get_json(silent=True)
        err = check_accept_rule(rule)
        if err:
            return json_response(400, {"error": err})
        with LOCK:
            ACCEPT.append(rule)
        return json_response(200, {"ok": True})
    if req.path == "/__control/accept" and req.method == "GET":
        with LOCK:
            return json_response(200, [dict(a, **({"client_secret": "***"} if "client_secret" in a else {}))
                                       for a in ACCEPT])
    if req.path == "/__control/accept" and req.method == "DELETE":
        match = (req.get_json(silent=True) or {}).get("match")
        if not isinstance(match, str):
            return json_response(400, {"error": "give the rule's exact `match` string"})
        with LOCK:
            kept = [a for a in ACCEPT if a.get("match") != match]
            removed = len(ACCEPT) - len(kept)
            ACCEPT[:] = kept
        return json_response(200, {"ok": True, "removed": removed})
    if req.path == "/__control/health":
        return json_response(200, {"ok": True})
    return json_response(404, {"error": "no such control route"})


def app(environ, start_response):
    req = Request(environ)
    if req.path.startswith("/__control/"):
        return control(req)(environ, start_response)
    headers = {k.lower(): v for k, v in req.headers.items()}
    auth = headers.get("authorization", "")
    bearer = auth[7:] if auth.startswith("Bearer ") else None
    logged_headers = {
        k: ("sha256:" + hashlib.sha256(v.encode()).hexdigest() if k in SECRET_HEADERS else v)
        for k, v in headers.items()
    }
    raw = req.get_data(cache=True)
    ctype = headers.get("content-type", "")
    if ctype.startswith("application/json"):
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = "<invalid json>"
    elif ctype.startswith("multipart/form-data"):
        body = {"multipart_fields": sorted(req.files.keys()) + sorted(req.form.keys()),
                "file_names": [f.filename for f in req.files.values()]}
    else:
        body = raw.decode("utf-8", "replace") if raw else None
    entry = {"time": time.time(), "method": req.method, "path": req.path, "query": req.args.to_dict(flat=True),
             "headers": logged_headers, "body": body,
             "bearer_sha256": hashlib.sha256(bearer.encode()).hexdigest() if bearer else None}

    route = next(((m, rx.match(req.path), op, sec, t) for (m, rx, op, sec, t) in ROUTES
                  if m == req.method and rx.match(req.path)), None)
    if route is None:
        entry.update(operation=None, valid=False, errors=["no such operation in the spec"], status=404)
        record(entry)
        st, b = problem(404, "Not Found", "no such operation in the IRI v1 spec", req.path)
        return json_response(st, b)(environ, start_response)
    _, match, op, needs_auth, _ = route
    entry["operation"] = op

    # Injected faults come first: they model a server that fails before doing anything.
    with LOCK:
        fault = next((f for f in FAULTS if f["match"] in req.path and f.get("method", req.method) == req.method
                      and f["used"] < f.get("times", 1)), None)
        if fault:
            fault["used"] += 1
    if fault:
        st = int(fault["status"])
        extra = {"Retry-After": str(fault["retry_after"])} if "retry_after" in fault else {}
        if st == 401:
            extra["WWW-Authenticate"] = 'Bearer error="invalid_token"'
        entry.update(valid=None, status=st, fault=True)
        record(entry)
        _, b = problem(st, "Injected fault", f"fault injected for {fault['match']}", req.path)
        return json_response(st, b, extra)(environ, start_response)

    oreq = WerkzeugOpenAPIRequest(req)
    try:
        OPENAPI.validate_request(oreq)
        entry["valid"] = True
    except Exception as e:  # noqa: BLE001 - every validation failure is reported
        errs = [str(e)] + [str(x) for x in getattr(e, "schema_errors", []) or []]
        cause = e.__cause__
        while cause is not None:
            errs.append(str(cause))
            errs += [str(x) for x in getattr(cause, "schema_errors", []) or []]
            cause = cause.__cause__
        if needs_auth and bearer is None:
            entry.update(valid=True, note="no bearer token")
            _, b = problem(401, "Unauthorized", "a bearer token is required", req.path)
            return finish(oreq, entry, 401, b, {"WWW-Authenticate": "Bearer"})(environ, start_response)
        entry.update(valid=False, errors=errs, status=422)
        record(entry)
        _, b = problem(422, "Request does not follow the spec", "; ".join(errs)[:2000], req.path)
        return json_response(422, b)(environ, start_response)

    if needs_auth:
        ok, why, info = authorize(req.path, bearer)
        if info is not None:
            entry["introspection"] = info
        if not ok:
            st, title, detail, challenge = why
            _, b = problem(st, title, detail, req.path)
            return finish(oreq, entry, st, b, {"WWW-Authenticate": challenge} if challenge else None)(
                environ, start_response)

    q = req.args.to_dict(flat=True)
    jbody = body if ctype.startswith("application/json") else None
    try:
        status, out = handle(op, match.groupdict(), q, jbody, req.files, req.path, headers)
    except Exception as e:  # noqa: BLE001
        status, out = problem(500, "contract server error", repr(e), req.path)
    return finish(oreq, entry, status, out)(environ, start_response)


def finish(oreq, entry, status, out, extra_headers=None):
    """Validates the response against the spec (500 if it does not), records the entry."""
    resp = json_response(status, out, extra_headers)
    try:
        OPENAPI.validate_response(oreq, WerkzeugOpenAPIResponse(resp))
        entry["response_valid"] = True
    except Exception as e:  # noqa: BLE001
        entry["response_valid"] = False
        entry["response_errors"] = [str(e)] + [str(c) for c in [e.__cause__] if c]
        status, out = problem(500, "contract server produced an invalid response", str(e), entry["path"])
        resp = json_response(status, out)
    entry["status"] = status
    record(entry)
    return resp


if __name__ == "__main__":
    srv = make_server("127.0.0.1", PORT, app, threaded=True)
    print(f"IRI contract server on 127.0.0.1:{PORT}", file=sys.stderr, flush=True)
    srv.serve_forever()
