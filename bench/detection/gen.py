#!/usr/bin/env python3
"""Detection corpus generator for tokenwarden (and peers).

    gen.py OUT --seed N [--now YYYY-MM-DD|EPOCH]

Writes OUT/tree/ (a research-computing group's home directories, project
repositories as plain directories, shared docs, cluster config), OUT/history/
(a git repository with hard history cases) and OUT/labels.jsonl (one line per
labelled positive or hard negative).

Every credential is minted here from a seeded random.Random: nothing real.
JWT signatures are random bytes. Output is byte-for-byte deterministic for a
given (seed, --now); --now defaults to today 00:00 UTC, so expiries are
relative to real time (mostly in the future, some deliberately expired).
The git history uses fixed dates and identities and does not depend on --now,
so its commit ids depend on the seed only.

Python 3.11 standard library only.
"""
import argparse
import base64
import datetime as dt
import json
import os
import random
import re
import shutil
import string
import subprocess
import sys
import time
import urllib.parse
import uuid

ALNUM = string.ascii_letters + string.digits
UPNUM = string.ascii_uppercase + string.digits
B64CH = ALNUM + "+/"
B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
MARK_RE = re.compile(r"@@M(\d+)@@")
HMARK_RE = re.compile(r"@@H(\d+)@@")

CSM_ISS = "https://api-gw-service-nmn.local/keycloak/realms/shasta"
ALCF_IRI_RS = "6be511f6-a071-471f-9bc0-02a0d0836723"
ALCF_OLD_CLIENT = "8b84fc2d-49e9-49ea-b54d-b3a29a70cf31"
ALCF_NEW_CLIENT = "7f3e61f5-e0de-4e8f-9150-0a62c65dda63"
INFERENCE_RS = "681c10cc-f684-4540-bcd7-0b4df3bc26ef"
NERSC_RS = "ed3e577d-f7f3-4639-b96e-ff5a8445d699"

# The published jwt.io example and AWS documentation keys: well-known non-secrets.
JWT_IO = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0"
          "IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c")
AWS_EX_ID = "AKIAIOSFODNN7EXAMPLE"
AWS_EX_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

WORDS = """apple river stone cloud maple falcon ember harbor lantern meadow orbit pebble quartz
raven saddle timber velvet willow zephyr anchor beacon cedar delta echo fjord glacier hollow
island jasper kernel lagoon marble nebula oasis prairie quiver ridge summit tundra umber valley
walnut yonder amber basalt canyon dune estuary fern grove heron iris juniper kelp lichen moss
nectar opal pine quill reef sage thistle urchin vine wren yarrow zinc atlas boreal cobalt dusk
ferric garnet helix indigo jade krypton lumen mistral nimbus onyx plume quasar rhodium sirocco
tesla ultra vortex wisp xenon yucca zenith acorn bramble clover dahlia elm foxglove gorse hazel""".split()

BASH_NOISE = [
    "ls -la", "cd ~/projects", "module load python/3.11", "squeue -u $USER", "git status",
    "git pull --rebase", "vim job.sbatch", "sbatch job.sbatch", "sacct -j 3318812 --format=JobID,State,Elapsed",
    "htop", "conda activate climate", "python -m pytest -q", "du -sh scratch/*", "ssh login1.frontier.olcf.ornl.gov",
    "jq . response.json", "history | grep -i token", "tail -f logs/run.log", "export OMP_NUM_THREADS=8", "make -j4",
    "kubectl get pods -n services", "module avail", "scancel 3318812", "cat ~/.bashrc", "ls ~/.globus/app",
    "pip install --user globus-sdk==3.45.0", "globus whoami", "globus session show", "df -h /lustre/orion",
    "srun -N1 -n4 ./a.out", "salloc -A stf040 -N 1 -t 00:30:00", "echo $PATH", "cd ..", "clear",
    "git log --oneline | head", "python3 scripts/check.py", "less slurm-3318812.out", "exit",
    "export S3M_BASE=https://s3m.olcf.ornl.gov", "curl -s https://s3m.olcf.ornl.gov/olcf/v1alpha/status | jq",
    "alcf-tokens login", "alcf-tokens status", "cray auth login --username vers", "kubectl -n services get secrets",
]


def b64u(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def b64(s) -> str:
    if isinstance(s, str):
        s = s.encode()
    return base64.b64encode(s).decode()


def jdump(o) -> str:
    return json.dumps(o, separators=(",", ":"))


class Gen:
    def __init__(self, seed: int, now: int):
        self.rng = random.Random(seed)
        self.now = now
        self.labels = []          # dicts; 'line' filled at render time
        self.marks = {}           # marker number -> label dict (or None for no-label)
        self.n = 0
        self.files = []           # (where, path, TF or bytes)
        self.ids = {"tree": 0, "history": 0}
        # Hygiene labels: a problem a person would point at in a line (a token on a command
        # line, a literal exported, a credential baked into an image) or in a file (a
        # credential file others can read). Written to OUT/hygiene-labels.jsonl.
        self.hyg = []
        self.hmarks = {}
        self.modes = {}           # tree path -> file mode the generator chose

    # ------------------------------------------------------------ random helpers
    def rs(self, alphabet, n):
        return "".join(self.rng.choice(alphabet) for _ in range(n))

    def hexs(self, n):
        return self.rs("0123456789abcdef", n)

    def uuid(self):
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def pick(self, seq):
        return self.rng.choice(seq)

    def chance(self, p):
        return self.rng.random() < p

    def words(self, n, sep=" "):
        return sep.join(self.pick(WORDS) for _ in range(n))

    # ------------------------------------------------------------ minting
    def jwt(self, header, payload, sig_bytes, shuffle=True):
        if shuffle:
            items = list(payload.items())
            self.rng.shuffle(items)
            payload = dict(items)
        return f"{b64u(jdump(header).encode())}.{b64u(jdump(payload).encode())}.{b64u(self.rng.randbytes(sig_bytes))}"

    def s3m(self, project=None):
        project = project or self.pick(["STF040", "GEN150", "CSC380", "BIF132", "CLI900", "STF053"])
        hdr = {"alg": "RS256", "typ": "JWT"}
        if self.chance(0.6):
            hdr["kid"] = self.hexs(16)
        aud = ["api.olcf.ornl.gov"] + (["s3m.olcf.ornl.gov"] if self.chance(0.5) else [])
        self.rng.shuffle(aud)
        p = {"type": "opat", "aud": aud, "jti": self.uuid(),
             "description": self.pick(["ensemble-runner", "ci token", "nightly ingest", "docs-example-01",
                                       "stream test", "workflow-bot", "laptop", "jupyter"]),
             "project": project, "iat": self.now - self.rng.randint(1, 120) * 86400 - self.rng.randint(0, 86399)}
        if self.chance(0.3):
            p["sub"] = project.lower() + "_auser"
        return self.jwt(hdr, p, 256)

    def slurm(self, user=None, expired=None):
        user = user or self.pick(["alice", "bob", "root", "slurm", "svc-argo", "carol", "dave"])
        if expired is None:
            expired = self.chance(0.2)
        if expired:
            iat = self.now - self.rng.randint(2, 400) * 86400
            life = self.pick([1800, 3600, 86400])
        else:
            iat = self.now - self.rng.randint(60, 20 * 86400)
            life = self.pick([30 * 86400, 90 * 86400, 31536000, 2 * 31536000])
        hdr = self.pick([{"alg": "HS256", "typ": "JWT"}, {"typ": "JWT", "alg": "HS256"}])
        p = {"exp": iat + life, "iat": iat, "sun": user}
        return self.jwt(hdr, p, 32, shuffle=self.chance(0.3))

    def csm(self, azp=None, expired=None, typ="Bearer", iss=CSM_ISS, user=None):
        azp = azp or self.pick(["shasta", "shasta", "admin-client"])
        if expired is None:
            expired = self.chance(0.2)
        iat = self.now - (self.rng.randint(400, 700) if expired else self.rng.randint(1, 200)) * 86400
        sid = self.uuid()
        p = {"exp": iat + 31536000, "iat": iat, "jti": self.uuid(), "iss": iss,
             "aud": ["shasta", "account"] if azp == "shasta" else "account", "sub": self.uuid(), "typ": typ,
             "azp": azp, "session_state": sid, "sid": sid, "acr": "1",
             "realm_access": {"roles": ["offline_access", "uma_authorization", "admin"]},
             "scope": "openid profile email",
             "preferred_username": user or ("service-account-admin-client" if azp == "admin-client" else "vers")}
        if typ == "Bearer":
            hdr = {"alg": "RS256", "typ": "JWT", "kid": b64u(self.rng.randbytes(32))}
            return self.jwt(hdr, p, 256)
        hdr = {"alg": "HS256", "typ": "JWT", "kid": self.uuid()}
        return self.jwt(hdr, p, 32)

    def amsc(self, aud="https://api.alcf.anl.gov", expired=None):
        if expired is None:
            expired = self.chance(0.2)
        iat = self.now - (self.rng.randint(30, 200) * 86400 if expired else self.rng.randint(0, 3000))
        p = {"sub": f"{self.pick(['alice', 'bob', 'mlee', 'jnguyen'])}@{self.pick(['anl.gov', 'lbl.gov', 'ornl.gov'])}",
             "iss": f"https://auth.pingone.com/{self.uuid()}/as", "aud": aud,
             "amsc_project_context": self.pick([{"project": "AMSC-" + str(self.rng.randint(100, 999)), "role": "member"},
                                                "amsc:" + self.pick(["fusion", "materials", "climate"]) + "-" + str(self.rng.randint(10, 99))]),
             "iat": iat, "exp": iat + self.rng.randint(7, 60) * 86400, "jti": self.uuid()}
        return self.jwt({"alg": "RS256", "typ": "JWT", "kid": self.hexs(12)}, p, 256)

    def generic_jwt(self):
        iat = self.now - self.rng.randint(0, 3 * 86400)
        k = self.rng.randint(0, 3)
        if k == 0:
            p = {"iss": f"https://login.microsoftonline.com/{self.uuid()}/v2.0", "aud": self.uuid(), "tid": self.uuid(),
                 "oid": self.uuid(), "name": "Lab Robot", "iat": iat, "exp": iat + 5400}
            return self.jwt({"alg": "RS256", "typ": "JWT", "kid": self.rs(ALNUM, 27)}, p, 256)
        if k == 1:
            p = {"iss": "https://auth.example-lab.org/realms/lab", "typ": "Bearer", "azp": "grafana",
                 "sub": self.uuid(), "iat": iat, "exp": iat + 86400 * 30, "preferred_username": "grafana-bot"}
            return self.jwt({"alg": "RS256", "typ": "JWT", "kid": self.rs(ALNUM, 43)}, p, 256)
        if k == 2:
            p = {"sub": "auth0|" + self.hexs(24), "aud": "https://dashboard.example.org/api", "iat": iat,
                 "exp": iat + 86400 * 7, "scope": "read:runs write:runs", "iss": "https://example-lab.us.auth0.com/"}
            return self.jwt({"alg": "HS256", "typ": "JWT"}, p, 32)
        p = {"namespace_path": "hpc/ci", "project_path": "hpc/ci/pipelines", "user_login": "ci-bot",
             "iss": "https://gitlab.example.org", "aud": "https://vault.example.org", "sub": "project_path:hpc/ci/pipelines:ref_type:branch:ref:main",
             "iat": iat, "exp": iat + 86400 * 14}
        return self.jwt({"alg": "RS256", "typ": "JWT", "kid": self.rs(ALNUM, 43)}, p, 256)

    def globus(self):
        return "Ag" + self.rs(ALNUM, self.rng.randint(89, 101))

    def globus_secret(self):
        return b64(self.rng.randbytes(32))

    def palmetto(self):
        if self.chance(0.5):
            return self.rs(ALNUM, self.rng.randint(40, 64))
        return b64u(self.rng.randbytes(self.rng.randint(30, 48)))

    def munge_cred(self):
        return "MUNGE:" + b64(b"\x03\x04\x05" + self.rng.randbytes(self.rng.randint(110, 160))) + ":"

    def stream_pw(self):
        return self.rs(string.ascii_letters, 16)

    def csm_secret(self):
        return self.uuid()

    def sts(self):
        while True:
            kid = self.rs(ALNUM, 20)
            if any(c.islower() for c in kid) and any(c.isupper() for c in kid) and any(c.isdigit() for c in kid):
                break
        return kid, self.rs(UPNUM, 40), b64(self.rng.randbytes(192))

    def rgw_pair(self):
        while True:
            kid = self.rs(UPNUM, 20)
            if not kid.startswith(("AKIA", "ASIA", "ABIA", "ACCA")):
                break
        return kid, self.rs(B64CH, 40)

    def aws_pair(self):
        return "AKIA" + self.rs(B32, 16), self.rs(B64CH, 40)

    # ------------------------------------------------------------ negative material
    def integrity(self):
        return "sha512-" + b64(self.rng.randbytes(64))

    def png_b64(self, n=600):
        return b64(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + self.rng.randbytes(n))

    # ------------------------------------------------------------ files
    def tf(self, path, context, where="tree", crlf=False, final_nl=True):
        f = TF(self, where, path, context, crlf, final_nl)
        if where == "tree":
            self.files.append((where, path, f))
        return f

    def binfile(self, path, context, data: bytes, kind=None, secret_desc=None, where="tree", register=True):
        lab = None
        if kind:
            lab = self.new_label(where, kind, secret_desc or f"<{len(data)} random bytes>", path, context)
            lab["line"] = 0
            lab["encoded"] = "binary"
        if where == "tree" and register:
            self.files.append((where, path, data))
        return lab

    def new_label(self, where, kind, secret, path, context, negative=False, reason=""):
        self.ids[where] += 1
        lab = {"id": f"{where[0]}{self.ids[where]:04d}", "kind": kind, "context": context, "path": path,
               "line": None, "secret": secret, "where": where, "negative": negative, "reason": reason}
        if where == "history":
            lab["commit"] = None
        self.labels.append(lab)
        return lab

    def mark(self, tf, kind, secret, shown, negative, reason, ctx, extra):
        self.n += 1
        lab = self.new_label(tf.where, kind, secret, tf.path, ctx or tf.ctx, negative, reason)
        lab.update({k: v for k, v in extra.items() if k != "alts"})
        if not negative and secret.startswith("eyJ") and secret.count(".") == 2:
            try:
                claims = json.loads(base64.urlsafe_b64decode(secret.split(".")[1] + "=="))
                if "exp" in claims:
                    lab["exp"] = claims["exp"]
                    lab["expired"] = claims["exp"] < self.now
            except ValueError:
                pass
        self.marks[self.n] = (lab, shown if shown is not None else secret, extra.get("alts", []))
        return f"@@M{self.n}@@"


class TF:
    """A text file under construction. pos()/neg() return markers that render() replaces."""

    def __init__(self, g, where, path, ctx, crlf, final_nl):
        self.g, self.where, self.path, self.ctx = g, where, path, ctx
        self.buf = []
        self.crlf, self.final_nl = crlf, final_nl
        self.labels = []

    def w(self, s):
        self.buf.append(s)
        return self

    def l(self, *lines):
        for s in lines:
            self.buf.append(s + "\n")
        return self

    def pos(self, kind, secret, shown=None, ctx=None, **extra):
        return self.g.mark(self, kind, secret, shown, False, "", ctx, extra)

    def neg(self, value, reason, shown=None, ctx=None, kind="negative"):
        return self.g.mark(self, kind, value, shown, True, reason, ctx, {})

    def h(self, check, note=""):
        """A zero-width marker: the line it sits on has the hygiene problem `check`."""
        self.g.hn = getattr(self.g, "hn", 0) + 1
        self.g.hmarks[self.g.hn] = {"check": check, "path": self.path, "line": None, "where": self.where,
                                    "note": note}
        return f"@@H{self.g.hn}@@"

    def noise(self, n, pool=BASH_NOISE, fmt="{}"):
        for _ in range(n):
            self.l(fmt.format(self.g.pick(pool)))
        return self

    def render(self) -> bytes:
        text = "".join(self.buf)
        if not self.final_nl:
            text = text.rstrip("\n")
        # Hygiene markers first (zero width): their lines are the lines of the text as written.
        hout, pos = [], 0
        for m in HMARK_RE.finditer(text):
            lab = self.g.hmarks[int(m.group(1))]
            lab["line"] = text.count("\n", 0, m.start()) + 1
            # Secret markers before it may render to several lines (PEM): count them too.
            for mm in MARK_RE.finditer(text, 0, m.start()):
                lab["line"] += (self.g.marks[int(mm.group(1))][1] or "").count("\n")
            if self.where == "tree":
                self.g.hyg.append(lab)
            hout.append(text[pos:m.start()])
            pos = m.end()
        hout.append(text[pos:])
        text = "".join(hout)
        out, pos, line = [], 0, 1
        for m in MARK_RE.finditer(text):
            seg = text[pos:m.start()]
            line += seg.count("\n")
            out.append(seg)
            lab, shown, alts = self.g.marks[int(m.group(1))]
            lab["line"] = line
            if alts:
                lab["_alts"] = alts
            self.labels.append(lab)
            out.append(shown)
            pos = m.end()
        out.append(text[pos:])
        rendered = "".join(out)
        # alternative locations (e.g. the key id of a key pair): line of first occurrence
        for lab in self.labels:
            alts = lab.pop("_alts", None)
            if alts:
                lab["alt"] = []
                for a in alts:
                    i = rendered.find(a)
                    assert i >= 0, (self.path, a)
                    lab["alt"].append({"path": self.path, "line": rendered.count("\n", 0, i) + 1, "shown": a})
        if self.crlf:
            rendered = rendered.replace("\n", "\r\n")
        return rendered.encode()


# ==================================================================== helpers for content
def q(g, v, styles=("\"", "'", "")):
    s = g.pick(styles)
    return f"{s}{v}{s}"


def notebook(g, cells, single_string_source=False):
    out = []
    n = 0
    for c in cells:
        ctype, src = c[0], c[1]
        outputs = c[2] if len(c) > 2 else []
        cell = {"cell_type": ctype, "id": g.hexs(8), "metadata": {}}
        lines = src.splitlines(keepends=True)
        cell["source"] = src if single_string_source else lines
        if ctype == "code":
            n += 1
            cell["execution_count"] = n
            cell["outputs"] = outputs
        out.append(cell)
    nb = {"cells": out,
          "metadata": {"kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
                       "language_info": {"name": "python", "version": "3.11.7"}},
          "nbformat": 4, "nbformat_minor": 5}
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"


def stream(text_lines):
    return {"name": "stdout", "output_type": "stream", "text": text_lines}


def zsh_ts(g):
    g.zts = getattr(g, "zts", 1764800000) + g.rng.randint(5, 900)
    return g.zts


# ==================================================================== tree: home directories
def tokens_json_v2(g, f, servers, kind_for):
    """globus-sdk v2 tokens.json; servers: list of (resource_server, scope)."""
    data = {}
    for rs_, scope in servers:
        k = kind_for(rs_)
        entry = {"resource_server": rs_, "identity_id": f.neg(g.uuid(), "uuid (identity id)"), "scope": scope,
                 "access_token": f.pos(k, g.globus()), "refresh_token": None,
                 "expires_at_seconds": g.now + g.rng.randint(3600, 172800), "token_type": "Bearer"}
        if g.chance(0.85):
            entry["refresh_token"] = f.pos(k, g.globus())
        data[rs_] = entry
    doc = {"data": {"DEFAULT": data}, "format_version": "2.0", "globus-sdk.version": g.pick(["3.41.0", "3.45.0", "3.50.1"])}
    f.w(json.dumps(doc, indent=g.pick([2, 4])) + "\n")


def home_alice(g):
    H = "home/alice"
    f = g.tf(f"{H}/.bash_history", "bash_history")
    f.noise(5)
    f.l(f.h('hygiene.token_exported') + f"export S3M_TOKEN={f.pos('s3m', g.s3m('STF040'))}")
    f.noise(3)
    f.l(f.h('hygiene.token_on_command_line') + f"curl -s -H \"Authorization: {f.pos('s3m', g.s3m('STF040'))}\" https://s3m.olcf.ornl.gov/olcf/v1/token/ctls/introspect | jq")
    f.l(f"curl -H @.env https://s3m.olcf.ornl.gov/slurm/open/v0.0.43/defiant/ping")
    f.l(f"export S3M_TOKEN={f.neg('$(cat ~/.s3m_token)', 'command substitution')}")
    f.noise(4)
    f.l(f.h('hygiene.token_exported') + f"export GLOBUS_TRANSFER_TOKEN={f.pos('globus', g.globus())}")
    f.l("globus ls 'ddb59aef-6d04-11e5-ba46-22000b92c6ec:/~/'")
    f.noise(2)
    aid, asec = g.aws_pair()
    f.l(f"aws configure set aws_access_key_id {aid}")
    f.l(f.h('hygiene.token_on_command_line') + f"aws configure set aws_secret_access_key {f.pos('aws', asec, alts=[aid])}")
    f.noise(3)
    f.l(f"SLURM_JWT={f.neg('daemon', 'slurmrestd mode flag')} slurmrestd -a rest_auth/jwt 0.0.0.0:6820 &")
    f.l(f.h('hygiene.token_exported') + f"export SLURM_JWT={f.pos('slurm_jwt', g.slurm('alice'))}")
    f.l(f.h('hygiene.token_on_command_line') + "curl -s -H \"X-SLURM-USER-NAME: alice\" -H \"X-SLURM-USER-TOKEN: $SLURM_JWT\" http://localhost:6820/slurm/v0.0.43/ping")
    pw = g.stream_pw()
    f.l(f.h('hygiene.token_on_command_line') + f"redis-cli -u rediss://stf040-api:{f.pos('s3m_stream', pw)}@redis-stf040-api-ens.io.s3m-streams.apps.olivine.ccs.ornl.gov:443 ping")
    f.l(f"echo {f.neg('$S3M_TOKEN', 'env reference')} | cut -c1-20")
    f.noise(4)

    f = g.tf(f"{H}/.bashrc", "bashrc")
    f.l("# .bashrc", "[ -f /etc/bashrc ] && . /etc/bashrc", "export PATH=$HOME/.local/bin:$PATH")
    f.l(f"# export S3M_TOKEN=\"{f.neg('eyJhbGc...', 'placeholder')}\"   # see ~/.s3m_token instead")
    f.l(f"export ALCF_IRI_TOKEN={f.neg('$(alcf-tokens print-access-token)', 'command substitution')}")
    f.l("alias sq='squeue -u $USER'")
    f.l(f.h('hygiene.token_exported') + f"export s3m_token='{f.pos('s3m', g.s3m('GEN150'))}'")
    f.l("export S3M_BASE=https://s3m.olcf.ornl.gov")

    f = g.tf(f"{H}/.globus/app/{ALCF_OLD_CLIENT}/alcf_facility_api_app/tokens.json", "tokens.json")
    tokens_json_v2(g, f, [("auth.globus.org", "openid profile email"),
                          (ALCF_IRI_RS, f"https://auth.globus.org/scopes/{ALCF_IRI_RS}/filesystem")],
                   lambda rs_: "iri" if rs_ == ALCF_IRI_RS else "globus")

    f = g.tf(f"{H}/.iri_token_alcf.json", "iri_token_cache")
    f.w(json.dumps({"access_token": f.pos("iri", g.globus()), "refresh_token": f.pos("iri", g.globus()),
                    "expires_at": g.now + 150000, "resource_server": ALCF_IRI_RS,
                    "scope": f"https://auth.globus.org/scopes/{ALCF_IRI_RS}/filesystem"}, indent=2) + "\n")

    f = g.tf(f"{H}/.local/share/s3m/auth.json", "s3m_auth.json")
    f.w(json.dumps({"open|stf040": {"token": f.pos("s3m", g.s3m("STF040")), "saved_at": "2026-11-02T18:22:41Z"},
                    "moderate|gen150": {"token": f.pos("s3m", g.s3m("GEN150")), "saved_at": "2026-10-14T09:03:10Z"}},
                   indent=2) + "\n")

    f = g.tf(f"{H}/.aws/credentials", "aws_credentials")
    aid, asec = g.aws_pair()
    rid, rsec = g.rgw_pair()
    f.l("[default]", f"aws_access_key_id = {aid}", f"aws_secret_access_key = {f.pos('aws', asec, alts=[aid])}", "",
        "[olcf-ceph]", f"aws_access_key_id={rid}", f"aws_secret_access_key={f.pos('s3_keypair', rsec, alts=[rid], note='endpoint only in ~/.aws/config')}")
    f = g.tf(f"{H}/.aws/config", "aws_config")
    f.l("[default]", "region = us-east-2", "output = json", "", "[profile olcf-ceph]",
        "endpoint_url = http://rgw.ccs.ornl.gov:8080", "s3 =", "    signature_version = s3v4")

    f = g.tf(f"{H}/.s3cfg", "s3cfg")
    rid, rsec = g.rgw_pair()
    f.l("[default]", f"access_key = {rid}", "bucket_location = US", "check_ssl_certificate = True",
        "gpg_passphrase = ", "host_base = rgw.hpc.example.edu:8080", "host_bucket = rgw.hpc.example.edu:8080",
        f"secret_key = {f.pos('s3_keypair', rsec, alts=[rid])}", "signature_v2 = False", "use_https = False")


def home_bob(g):
    H = "home/bob"
    f = g.tf(f"{H}/.zsh_history", "zsh_history")
    Z = lambda cmd: f": {zsh_ts(g)}:0;{cmd}"
    for _ in range(4):
        f.l(Z(g.pick(BASH_NOISE)))
    f.l(Z(f.h('hygiene.token_exported') + f"export ALCF_IRI_TOKEN={f.pos('iri', g.globus())}"))
    f.l(Z("ls"))
    f.l(Z(f"TOKEN={f.pos('iri', g.globus(), note='facility only from the curl two lines later')}"))
    f.l(Z("echo ok"))
    f.l(Z(f.h('hygiene.token_on_command_line') + 'curl -s -H "Authorization: Bearer $TOKEN" https://api.alcf.anl.gov/api/v1/status/resources | jq ".[].name"'))
    f.l(Z(f.h('hygiene.token_exported') + f"export NERSC_IRI_TOKEN=\"{f.pos('iri', g.globus())}\""))
    f.l(Z(f.h('hygiene.token_on_command_line') + f"curl -s https://api.iri.nersc.gov/api/v1/account/projects -H \"Authorization: Bearer {f.pos('iri', g.globus())}\""))
    f.l(Z(f.h('hygiene.token_on_command_line') + f"http GET https://api.alcf.anl.gov/api/v1/task/not-a-real-task \"Authorization:Bearer {f.pos('iri', g.globus())}\""))
    f.l(Z(f.h('hygiene.token_exported') + f"export AMSC_TOKEN={f.pos('iri', g.amsc('https://api.iri.nersc.gov'), note='AmSC keycard')}"))
    f.l(Z(f"export ALCF_IRI_TOKEN={f.neg('$(alcf-tokens print-access-token)', 'command substitution')}"))
    for _ in range(3):
        f.l(Z(g.pick(BASH_NOISE)))

    f = g.tf(f"{H}/.zshrc", "zshrc")
    f.l("autoload -Uz compinit && compinit", "setopt HIST_IGNORE_SPACE EXTENDED_HISTORY", "export EDITOR=vim")
    f.l(f.h('hygiene.token_exported') + f"export IRI_API_TOKEN='{f.pos('iri', g.globus())}'")
    f.l(f"export ALCF_TOKENS_DIR=$HOME/.globus/app/{ALCF_NEW_CLIENT}/alcf_tokens")
    f.l(f"export IRI_TOKEN_NERSC={f.neg('${NERSC_IRI_TOKEN}', 'env reference')}")

    f = g.tf(f"{H}/.globus/app/{ALCF_NEW_CLIENT}/alcf_tokens/tokens.json", "tokens.json")
    tokens_json_v2(g, f, [(ALCF_IRI_RS, f"https://auth.globus.org/scopes/{ALCF_IRI_RS}/filesystem"),
                          (INFERENCE_RS, f"https://auth.globus.org/scopes/{INFERENCE_RS}/action_all"),
                          ("transfer.api.globus.org", "urn:globus:auth:scope:transfer.api.globus.org:all")],
                   lambda rs_: "iri" if rs_ == ALCF_IRI_RS else "globus")

    f = g.tf(f"{H}/.globus/app/{ALCF_NEW_CLIENT}/alcf_tokens/tokens-bash.json", "tokens.json")
    f.w(json.dumps({"app_name": "alcf_tokens", "client_id": ALCF_NEW_CLIENT, "by_resource_server": {
        ALCF_IRI_RS: {"scope": f"https://auth.globus.org/scopes/{ALCF_IRI_RS}/filesystem",
                      "access_token": f.pos("iri", g.globus()), "refresh_token": f.pos("iri", g.globus()),
                      "expires_at": g.now + 90000}}}) + "\n")

    f = g.tf(f"{H}/.iri_token_nersc.json", "iri_token_cache")
    f.w(json.dumps({"access_token": f.pos("iri", g.globus()), "expires_at": g.now - 3600,
                    "resource_server": NERSC_RS, "token_type": "Bearer"}, indent=1) + "\n")

    f = g.tf(f"{H}/.globus/nersc_tokens/tokens.json", "tokens.json")
    tokens_json_v2(g, f, [(NERSC_RS, f"https://auth.globus.org/scopes/{NERSC_RS}/iri_api")], lambda rs_: "iri")


def home_carol(g):
    H = "home/carol"
    f = g.tf(f"{H}/.bash_history", "bash_history")
    f.noise(3)
    f.l(f.h('hygiene.token_on_command_line') + "export TOKEN=$(curl -s -k -S -d grant_type=client_credentials -d client_id=admin-client -d client_secret="
        f"{f.neg('$(kubectl get secrets admin-client-auth -o jsonpath=' + chr(39) + '{.data.client-secret}' + chr(39) + ' | base64 -d)', 'command substitution')}"
        " https://api-gw-service-nmn.local/keycloak/realms/shasta/protocol/openid-connect/token | jq -r '.access_token')")
    f.l(f.h('hygiene.token_on_command_line') + f"curl -s -d grant_type=client_credentials -d client_id=admin-client -d client_secret={f.pos('csm_client_secret', g.csm_secret())} "
        "https://api-gw-service-nmn.local/keycloak/realms/shasta/protocol/openid-connect/token")
    f.l(f.h('hygiene.token_exported') + f"export TOKEN={f.pos('csm_keycloak', g.csm(azp='admin-client'))}")
    f.l(f.h('hygiene.token_on_command_line') + 'curl -s -X PUT -H "Authorization: Bearer $TOKEN" https://api-gw-service-nmn.local/apis/sts/token')
    f.l(f.h('hygiene.token_on_command_line') + f"curl -X PUT -H 'Authorization: Bearer {f.pos('csm_keycloak', g.csm())}' https://api-gw-service-nmn.local/apis/sts/token")
    f.noise(2)
    kid, sec, tok = g.sts()
    f.l(f.h('hygiene.token_exported') + f"export AWS_ACCESS_KEY_ID={f.pos('ceph_sts', kid, part='AccessKeyId')}")
    f.l(f.h('hygiene.token_exported') + f"export AWS_SECRET_ACCESS_KEY={f.pos('ceph_sts', sec, part='SecretAccessKey')}")
    f.l(f.h('hygiene.token_exported') + f"export AWS_SESSION_TOKEN={f.pos('ceph_sts', tok, part='SessionToken')}")
    f.l("aws s3 ls --endpoint-url http://rgw.local:8080")
    f.l("munge -n | unmunge")
    f.l(f"echo '{f.pos('munge_cred', g.munge_cred())}' | unmunge")
    f.l("scp /etc/munge/munge.key nid000001:/etc/munge/munge.key")
    f.l("dd if=/dev/urandom bs=1 count=1024 > /etc/munge/munge.key")
    f.l("scontrol token lifespan=99999999 username=svc-argo")
    f.l(f.h('hygiene.token_exported') + f"export SLURM_JWT={f.pos('slurm_jwt', g.slurm('svc-argo'))}")
    f.l("kubectl -n services get secret admin-client-auth -o jsonpath='{.data.client-secret}' | base64 -d; echo")
    f.l(f"# -> {f.pos('csm_client_secret', g.csm_secret(), note='pasted output of admin-client-auth secret')}")
    f.noise(3)

    f = g.tf(f"{H}/.config/cray/tokens/api_gw_service_nmn_local.vers", "cray_tokens")
    f.w(json.dumps({"access_token": f.pos("csm_keycloak", g.csm(azp="shasta")), "expires_in": 31536000,
                    "refresh_expires_in": 0, "refresh_token": f.pos("csm_keycloak", g.csm(azp="shasta", typ="Offline", expired=False), note="offline refresh token"),
                    "token_type": "Bearer", "not-before-policy": 0, "session_state": f.neg(g.uuid(), "uuid (session state)"),
                    "scope": "openid offline_access profile email"}) + "\n")
    f = g.tf(f"{H}/.config/cray/tokens/api_cmn_hpc_example_edu.carol", "cray_tokens")
    f.w(json.dumps({"access_token": f.pos("csm_keycloak", g.csm(azp="shasta", expired=True, user="carol")), "expires_in": 31536000,
                    "token_type": "Bearer", "scope": "openid profile email"}, indent=2) + "\n")
    f = g.tf(f"{H}/.config/cray/configurations/default", "toml")
    f.l("[core]", 'hostname = "https://api-gw-service-nmn.local"', "", "[auth.login]", 'username = "carol"')

    f = g.tf(f"{H}/tmp/setup-token.json", "cray_tokens")
    f.w(json.dumps({"access_token": f.pos("csm_keycloak", g.csm(azp="admin-client")), "expires_in": 31536000}) + "\n")

    f = g.tf(f"{H}/.aws/credentials", "aws_credentials")
    rid, rsec = g.rgw_pair()
    f.l("[rgw]", f"aws_access_key_id     = {rid}", f"aws_secret_access_key = {f.pos('s3_keypair', rsec, alts=[rid])}",
        "endpoint_url          = http://rgw-vip.nmn:8080")


def home_dave(g):
    H = "home/dave"
    f = g.tf(f"{H}/.zsh_history", "zsh_history")
    Z = lambda cmd: f": {zsh_ts(g)}:0;{cmd}"
    f.l(Z("cd ~/palmetto-dash"))
    f.l(Z(f.h('hygiene.token_exported') + f"export PALMETTO_API_KEY={f.pos('palmetto', g.palmetto())}"))
    f.l(Z("npm run dev"))
    f.l(Z(f.h('hygiene.token_on_command_line') + f"curl -H \"Authorization: Bearer {f.pos('palmetto', g.palmetto())}\" https://api.palmetto.clemson.edu/slurm/v0.0.44/jobs"))
    f.l(Z('curl -H "Authorization: MUNGE $(munge -n -t 5)" https://api.palmetto.clemson.edu/slurm/latest/jobs'))
    f.l(Z(f.h('hygiene.token_on_command_line') + f"curl -sS -H 'Authorization: MUNGE {f.pos('munge_cred', g.munge_cred())}' https://api.palmetto.clemson.edu/ping"))
    f.l(Z("curl https://api.palmetto.clemson.edu/meta/versions/supported"))
    f.l(Z(g.pick(BASH_NOISE)))

    f = g.tf(f"{H}/.zshrc", "zshrc")
    f.l("export PATH=$HOME/bin:$PATH", f.h('hygiene.token_exported') + f"export PALMETTO_TOKEN=\"{f.pos('palmetto', g.palmetto())}\"", "bindkey -e")

    f = g.tf(f"{H}/.env", "dotenv")
    f.l("# palmetto dashboard (local)", f"palmetto_api_key={f.pos('palmetto', g.palmetto())}", "LOG_LEVEL=debug")

    f = g.tf(f"{H}/.config/palmetto/config.yaml", "yaml")
    f.l("api:", "  # issued by RCD for the owner partition", f"  token: {f.pos('palmetto', g.palmetto(), note='token key; host on the next line')}",
        "  base_url: https://api.palmetto.clemson.edu", "  version: v0.0.44", "partition: owner-lab")


def home_erin(g):
    H = "home/erin"
    f = g.tf(f"{H}/.bash_history", "bash_history")
    f.noise(3)
    aid, asec = g.aws_pair()
    f.l(f"aws configure set aws_access_key_id {aid} --profile archive")
    f.l(f.h('hygiene.token_on_command_line') + f"aws configure set aws_secret_access_key {f.pos('aws', asec, alts=[aid])} --profile archive")
    rid, rsec = g.rgw_pair()
    f.l(f"aws configure set aws_access_key_id {rid} --profile ceph")
    f.l(f.h('hygiene.token_on_command_line') + f"aws configure set aws_secret_access_key {f.pos('s3_keypair', rsec, alts=[rid], note='endpoint on the next command')} --profile ceph")
    f.l("aws --profile ceph --endpoint-url http://ceph-rgw.internal:8080 s3 ls")
    rid, rsec = g.rgw_pair()
    f.l(f.h('hygiene.token_on_command_line') + f"s3cmd --access_key={rid} --secret_key={f.pos('s3_keypair', rsec, alts=[rid])} --host=rgw.hpc.example.edu:8080 --host-bucket=rgw.hpc.example.edu:8080 ls")
    f.noise(3)

    f = g.tf(f"{H}/.aws/credentials", "aws_credentials")
    for prof in ("default", "archive-ro"):
        aid, asec = g.aws_pair()
        f.l(f"[{prof}]", f"aws_access_key_id={aid}", f"aws_secret_access_key={f.pos('aws', asec, alts=[aid])}", "")
    f.l("[example]", f"aws_access_key_id = {f.neg(AWS_EX_ID, 'aws docs example key')}",
        f"aws_secret_access_key = {f.neg(AWS_EX_SECRET, 'aws docs example key')}")

    f = g.tf(f"{H}/.config/rclone/rclone.conf", "rclone")
    rid, rsec = g.rgw_pair()
    f.l("[ceph]", "type = s3", "provider = Ceph", "env_auth = false", f"access_key_id = {rid}",
        f"secret_access_key = {f.pos('s3_keypair', rsec, alts=[rid])}", "endpoint = http://rgw.hpc.example.edu:8080", "acl = private")


def home_frank(g):
    H = "home/frank"
    f = g.tf(f"{H}/.env", "dotenv")
    cid = g.uuid()
    f.l("# globus confidential client for the ingest service", f"GLOBUS_CLIENT_ID={f.neg(cid, 'uuid (client id)')}",
        f"GLOBUS_CLIENT_SECRET={f.pos('globus_client_secret', g.globus_secret())}",
        f"GLOBUS_COMPUTE_CLIENT_SECRET = \"{f.pos('globus_client_secret', g.globus_secret())}\"")
    f = g.tf(f"{H}/.bash_history", "bash_history")
    f.noise(2)
    f.l(f"export GLOBUS_CLI_CLIENT_ID={g.uuid()}")
    f.l(f.h('hygiene.token_exported') + f"export GLOBUS_CLI_CLIENT_SECRET={f.pos('globus_client_secret', g.globus_secret())}")
    f.l("globus whoami")
    cid = g.uuid()
    f.l(f.h('hygiene.token_on_command_line') + f"curl -s -u \"{cid}:{f.pos('globus_client_secret', g.globus_secret())}\" https://auth.globus.org/v2/oauth2/token "
        "-d grant_type=client_credentials -d scope=urn:globus:auth:scope:transfer.api.globus.org:all")
    f.noise(2)


# ==================================================================== tree: projects
def proj_climate(g):
    P = "projects/climate-pipeline"
    f = g.tf(f"{P}/src/climate_pipeline/transfer.py", "python")
    cid = g.uuid()
    f.l('"""Move model output from Frontier to the archive endpoint."""', "import globus_sdk", "",
        f"CLIENT_ID = \"{f.neg(cid, 'uuid (native client id)')}\"",
        f"TRANSFER_RT = \"{f.pos('globus', g.globus())}\"  # FIXME: load from the token store", "",
        "def client():",
        "    auth = globus_sdk.NativeAppAuthClient(CLIENT_ID)",
        "    authorizer = globus_sdk.RefreshTokenAuthorizer(TRANSFER_RT, auth)",
        "    return globus_sdk.TransferClient(authorizer=authorizer)", "",
        "def tokens_from(data):",
        "    globus_transfer_token = " + f.neg('data["transfer.api.globus.org"]["access_token"]', 'identifier on the right of an assignment'),
        "    return globus_transfer_token")

    f = g.tf(f"{P}/src/climate_pipeline/settings.py", "python")
    f.l("import os", "", "# transfer settings",
        f"token = \"{f.pos('globus', g.globus(), note='globus host four lines later')}\"",
        "timeout = 30", "retries = 5", "",
        "TRANSFER_URL = \"https://transfer.api.globus.org/v0.10\"",
        f"ARCHIVE_ENDPOINT = \"{f.neg(g.uuid(), 'uuid (endpoint id)')}\"",
        f"BUILD_ID = \"{f.neg(g.hexs(64), 'hex build id')}\"")

    f = g.tf(f"{P}/config/globus/app.yaml", "yaml")
    f.l("# confidential client used by the nightly archive job", "app:", "  name: climate-archive",
        f"  client_id: {f.neg(g.uuid(), 'uuid (client id)')}",
        f"  client_secret: {f.pos('globus_client_secret', g.globus_secret())}",
        "  scopes:", "    - urn:globus:auth:scope:transfer.api.globus.org:all")

    f = g.tf(f"{P}/notebooks/explore.ipynb", "notebook")
    tok1, tok2 = g.globus(), g.globus()
    cells = [
        ("markdown", "# Explore archive\n\nTransfer a sample of the ensemble.\n"),
        ("code", f"import globus_sdk\nauth = globus_sdk.AccessTokenAuthorizer(\"{f.pos('globus', tok1)}\")\n"
                 "tc = globus_sdk.TransferClient(authorizer=auth)\n"),
        ("code", "print('access token:\\n' + auth.access_token)\n",
         [stream([f"access token:\n{f.pos('globus', tok2, note='after a JSON-escaped newline', ctx='notebook-escaped')}\n"])]),
        ("code", "import matplotlib.pyplot as plt\nplt.plot(range(10))\n",
         [{"output_type": "display_data", "metadata": {},
           "data": {"image/png": f.neg("png", "base64 image", shown=g.png_b64(900)), "text/plain": ["<Figure size 640x480 with 1 Axes>"]}}]),
    ]
    f.w(notebook(g, cells, single_string_source=True))

    f = g.tf(f"{P}/logs/transfer-2026-11-02.log", "log")
    f.l(f"2026-11-02 03:00:01 INFO  starting archive run build={f.neg(g.hexs(40), 'git sha')}")
    f.l(f"2026-11-02 03:00:02 DEBUG token response: {{'access_token': '{f.pos('globus', g.globus(), ctx='log-repr')}', 'expires_in': 172800, "
        "'resource_server': 'transfer.api.globus.org', 'token_type': 'Bearer', 'scope': 'urn:globus:auth:scope:transfer.api.globus.org:all'}")
    f.l(f"2026-11-02 03:00:02 DEBUG POST https://auth.globus.org/v2/oauth2/token body=grant_type=refresh_token&refresh_token={f.pos('globus', g.globus(), ctx='log-urlencoded')}&client_id={g.uuid()}")
    f.l(f"2026-11-02 03:00:09 INFO  submitted task {f.neg(g.uuid(), 'uuid (task id)')}")
    f.l("2026-11-02 03:14:51 INFO  task SUCCEEDED files=1284 bytes=88134112231")

    f = g.tf(f"{P}/.env", "dotenv")
    f.l(f"GLOBUS_TRANSFER_TOKEN={f.pos('globus', g.globus())}", "ARCHIVE_PATH=/~/climate/archive")

    f = g.tf(f"{P}/README.md", "markdown")
    f.l("# climate-pipeline", "", "Set a transfer token first:", "", "```sh",
        f"export GLOBUS_TRANSFER_TOKEN={f.neg('<your-token>', 'placeholder')}",
        f"export GLOBUS_CLIENT_SECRET={f.neg('${GLOBUS_CLIENT_SECRET}', 'env reference')}", "```", "",
        f"Tokens look like `{f.neg('Ag****', 'masked value')}` and expire after 48 h.")

    f = g.tf(f"{P}/Makefile", "makefile")
    f.l(".PHONY: upload", "upload:",
        f"\tGLOBUS_TOKEN={f.neg('$(shell cat ~/.globus_token)', 'command substitution')} python -m climate_pipeline.transfer")

    f = g.tf(f"{P}/poetry.lock", "lockfile")
    for _ in range(25):
        name = g.pick(WORDS) + "-" + g.pick(WORDS)
        ver = f"{g.rng.randint(0, 9)}.{g.rng.randint(0, 30)}.{g.rng.randint(0, 9)}"
        f.l("[[package]]", f'name = "{name}"', f'version = "{ver}"', "files = [",
            f'    {{file = "{name}-{ver}.tar.gz", hash = "sha256:{f.neg(g.hexs(64), "lockfile hash")}"}},', "]", "")


def proj_s3m(g):
    P = "projects/s3m-workflows"
    f = g.tf(f"{P}/.env", "dotenv-header")
    f.l(f"Authorization: {f.pos('s3m', g.s3m('STF040'))}")
    f = g.tf(f"{P}/.env.example", "dotenv-header")
    f.l(f"Authorization: {f.neg('eyJhbGc...', 'placeholder')}")
    f = g.tf(f"{P}/headers.txt", "header-file", final_nl=False)
    f.l(f"Authorization: {f.pos('s3m', g.s3m('STF040'), note='line 1, no trailing newline')}")

    f = g.tf(f"{P}/scripts/submit.sh", "shell")
    f.l("#!/usr/bin/env bash", "set -euo pipefail", f"S3M_TOKEN=\"{f.pos('s3m', g.s3m('STF040'))}\"",
        "RES=${1:-defiant}", f.h('hygiene.token_on_command_line') + 'curl -sf -H "Authorization: ${S3M_TOKEN}" -X POST \\',
        "  https://s3m.olcf.ornl.gov/slurm/open/v0.0.43/$RES/job/submit -d @job.json",
        "curl -H @.env https://s3m.olcf.ornl.gov/olcf/v1/token/ctls/introspect")

    f = g.tf(f"{P}/jobs/run_ensemble.sbatch", "sbatch")
    f.l("#!/bin/bash", "#SBATCH -A STF040", "#SBATCH -J ensemble", "#SBATCH -N 4", "#SBATCH -t 02:00:00",
        "#SBATCH -p batch", "", "module load PrgEnv-gnu cray-python",
        f.h('hygiene.token_exported') + f"export S3M_TOKEN='{f.pos('s3m', g.s3m('STF040'))}'",
        f.h('hygiene.token_exported') + f.h('hygiene.slurm_jwt_in_job_environment') + f"export SLURM_JWT={f.pos('slurm_jwt', g.slurm('stf040_auser'))}",
        "srun -n 32 python -m ensemble.run --members 32",
        "python -m ensemble.notify --via s3m")

    f = g.tf(f"{P}/Makefile", "makefile")
    f.l(f"S3M_TOKEN ?= {f.pos('s3m', g.s3m('STF040'))}", "RESOURCE ?= defiant", "", "ping:",
        f.h('hygiene.token_on_command_line') + f"\tcurl -s -H \"Authorization: {f.neg('$(S3M_TOKEN)', 'make variable reference')}\" https://s3m.olcf.ornl.gov/slurm/open/v0.0.43/$(RESOURCE)/ping")

    f = g.tf(f"{P}/Dockerfile", "dockerfile")
    f.l(f"FROM python:3.11-slim@sha256:{f.neg(g.hexs(64), 'docker digest')}", "WORKDIR /app",
        "COPY . .", "RUN pip install --no-cache-dir -e .", f.h('hygiene.secret_in_image') + f"ENV S3M_TOKEN={f.pos('s3m', g.s3m('STF040'))}",
        'CMD ["python", "-m", "s3m_client.api"]')

    f = g.tf(f"{P}/s3m_client/api.py", "python")
    f.l("import requests", "", "BASE = \"https://s3m.olcf.ornl.gov\"",
        f"headers = {{\"Authorization\": \"{f.pos('s3m', g.s3m('GEN150'))}\"}}", "",
        "def ping(resource='odo'):",
        "    return requests.get(f\"{BASE}/slurm/open/v0.0.44/{resource}/ping\", headers=headers, timeout=10).json()", "",
        "def introspect():",
        "    return requests.get(BASE + '/olcf/v1/token/ctls/introspect', headers=headers).json()")

    f = g.tf(f"{P}/s3m_client/stream.py", "python")
    f.l("from s3m_streams import RedisExchangeFactory", "", "def factory():", "    return RedisExchangeFactory(",
        "        hostname=\"redis-stf053-demo.streamio.s3m.olcf.ornl.gov\",", "        port=443,",
        "        username=\"stf053\",",
        f"        password=\"{f.pos('s3m_stream', g.stream_pw(), note='password two lines below the host')}\",", "    )", "",
        "# factory = RedisExchangeFactory(hostname=\"redis-stf053-demo.streamio.s3m.olcf.ornl.gov\", port=443, "
        f"username=\"stf053\", password=\"{f.pos('s3m_stream', g.stream_pw())}\")")

    f = g.tf(f"{P}/streaming/provision_response.json", "json")
    f.w(json.dumps({"kind": "rabbitmq", "name": "ens", "status": "READY",
                    "amqpsUrl": f"amqps://stf040-api:{f.pos('s3m_stream', g.stream_pw())}@rmq-stf040-api-ens.io.s3m-streams.apps.olivine.ccs.ornl.gov:443",
                    "mgmtUrl": f"https://stf040-api:{f.pos('s3m_stream', g.stream_pw())}@rmq-stf040-api-ens.mgmt.s3m-streams.apps.olivine.ccs.ornl.gov",
                    "expiresAt": "2026-12-12T10:00:00Z"}, indent=2) + "\n")
    f = g.tf(f"{P}/streaming/redis_provision.json", "json")
    f.w(json.dumps({"kind": "redis", "name": "cache",
                    "url": f"redis://stf040-api:{f.pos('s3m_stream', g.stream_pw())}@redis-stf040-api-cache.io.s3m-streams.apps.olivine.ccs.ornl.gov:443"}) + "\n")
    f = g.tf(f"{P}/config/stream.toml", "toml")
    f.l("[rabbitmq]", 'host = "rmq-stf040-api-ens.io.s3m-streams.apps.olivine.ccs.ornl.gov"', "port = 443",
        'user = "stf040-api"', f"password = \"{f.pos('s3m_stream', g.stream_pw())}\"", "vhost = \"/\"")

    f = g.tf(f"{P}/logs/consumer.log", "log")
    f.l("2026-11-20T10:01:02Z INFO consumer starting",
        f"2026-11-20T10:01:02Z DEBUG connecting to amqps://stf040-api:{f.pos('s3m_stream', g.stream_pw())}@rmq-stf040-api-ens.io.s3m-streams.apps.olivine.ccs.ornl.gov:443/ (attempt 1)",
        f"2026-11-20T10:01:05Z WARN retry url=amqps%3A%2F%2Fstf040-api%3A{f.pos('s3m_stream', g.stream_pw(), ctx='log-urlencoded')}%40rmq-stf040-api-ens.io.s3m-streams.apps.olivine.ccs.ornl.gov%3A443",
        "2026-11-20T10:01:09Z INFO connected to amqps://rmq-stf040-api-ens.io.s3m-streams.apps.olivine.ccs.ornl.gov:443/",
        f"2026-11-20T10:02:00Z DEBUG http body: {{\\u0022Authorization\\u0022: \\u0022{f.pos('s3m', g.s3m('STF040'), ctx='log-unicode-escaped')}\\u0022}}")

    f = g.tf(f"{P}/docs/USAGE.md", "markdown")
    f.l("# Usage", "", "Create `.env` with one line:", "", "```",
        f"Authorization: {f.neg('<token>', 'placeholder')}", "```", "", "Streaming URLs look like",
        f"`amqps://{f.neg('user:<password>', 'placeholder')}@rmq-<project>-<name>.io.s3m-streams.apps.olivine.ccs.ornl.gov:443`.",
        f"The management URL is `{f.neg('https://rmq-stf040-api-ens.mgmt.s3m-streams.apps.olivine.ccs.ornl.gov', 'url without credentials')}`.")

    f = g.tf(f"{P}/.github/workflows/ci.yml", "github_actions")
    f.l("name: ci", "on: [push]", "jobs:", "  ping:", "    runs-on: ubuntu-latest", "    env:",
        f"      S3M_TOKEN: {f.neg('${{ secrets.S3M_TOKEN }}', 'ci secret reference')}", "    steps:",
        "      - uses: actions/checkout@" + f.neg(g.hexs(40), "git sha (pinned action)"),
        "      - run: make ping", "  nightly:", "    runs-on: ubuntu-latest", "    env:",
        f"      S3M_TOKEN: {f.pos('s3m', g.s3m('STF040'))}", "    steps:", "      - run: make ping")

    f = g.tf(f"{P}/k8s/secret.yaml", "k8s-secret")
    tok = g.s3m("STF040")
    f.l("apiVersion: v1", "kind: Secret", "metadata:", "  name: s3m-token", "  namespace: workflows", "type: Opaque",
        "data:", f"  S3M_TOKEN: {f.pos('s3m', tok, shown=b64(tok), encoded='base64')}",
        f"  S3M_BASE: {f.neg('https://s3m.olcf.ornl.gov', 'base64 of a url', shown=b64('https://s3m.olcf.ornl.gov'))}")


def proj_streaming(g):
    P = "projects/streaming-demo"
    f = g.tf(f"{P}/consumer.py", "python")
    f.l("import pika", "",
        f"params = pika.URLParameters(\"amqps://stf053-api:{f.pos('s3m_stream', g.stream_pw())}@rmq-stf053-api-demo.io.s3m-streams.apps.olivine.ccs.ornl.gov:443\")",
        "conn = pika.BlockingConnection(params)", "ch = conn.channel()", "ch.queue_declare('events')")
    f = g.tf(f"{P}/.env", "dotenv")
    f.l(f"REDIS_URL=rediss://stf053:{f.pos('s3m_stream', g.stream_pw())}@redis-stf053-demo.streamio.s3m.olcf.ornl.gov:443/0",
        f"REDIS_URL_TEMPLATE=rediss://stf053:{f.neg('${REDIS_PASSWORD}', 'env reference')}@redis-stf053-demo.streamio.s3m.olcf.ornl.gov:443/0")
    f = g.tf(f"{P}/config.yaml", "yaml")
    f.l("redis:", "  host: redis-stf053-demo.streamio.s3m.olcf.ornl.gov", "  port: 443", "  ssl: true",
        "  username: stf053", f"  password: {f.pos('s3m_stream', g.stream_pw())}", "topics:", "  - events")
    f = g.tf(f"{P}/demo.ipynb", "notebook")
    pw = g.stream_pw()
    cells = [("code", "import redis\n"
                      "r = redis.Redis(host=\"redis-stf040-api-cache.io.s3m-streams.apps.olivine.ccs.ornl.gov\", port=443, ssl=True,\n"
                      f"                username=\"stf040-api\", password=\"{f.pos('s3m_stream', pw)}\")\n"
                      "r.ping()\n", [{"output_type": "execute_result", "execution_count": 1, "metadata": {}, "data": {"text/plain": ["True"]}}])]
    f.w(notebook(g, cells))
    f = g.tf(f"{P}/run.sh", "shell")
    f.l("#!/bin/sh", f"python consume.py --url rediss://stf040-api:{f.pos('s3m_stream', g.stream_pw())}@redis-stf040-api-cache.io.s3m-streams.apps.olivine.ccs.ornl.gov:443 --topic events")


def proj_iri(g):
    P = "projects/iri-client"
    f = g.tf(f"{P}/src/client.ts", "ts")
    f.l("import fetch from 'node-fetch';", "", f"const IRI_TOKEN = \"{f.pos('iri', g.globus())}\";",
        "const BASE = 'https://api.alcf.anl.gov/api/v1';", "",
        "export async function resources() {",
        "  const r = await fetch(`${BASE}/status/resources`, { headers: { Authorization: `Bearer ${IRI_TOKEN}` } });",
        "  return r.json();", "}")
    f = g.tf(f"{P}/src/nersc.ts", "ts")
    f.l(f"const token = '{f.pos('iri', g.globus(), note='host on a later line')}'; // TODO move to vault", "",
        "export const projects = () =>", "  fetch('https://api.iri.nersc.gov/api/v1/account/projects', {",
        "    headers: { Authorization: 'Bearer ' + token },", "  });")
    f = g.tf(f"{P}/dist/bundle.min.js", "minified_js")
    filler = ";".join(f"var {g.rs(string.ascii_lowercase, 2)}=function(e){{return e*{g.rng.randint(2, 99)}}}" for _ in range(120))
    f.l(f"!function(){{\"use strict\";{filler};const t=\"{f.pos('iri', g.globus(), note='long minified line')}\",n=\"https://api.alcf.anl.gov/api/v1\";"
        f"window.iri=function(e){{return fetch(n+e,{{headers:{{Authorization:\"Bearer \"+t}}}})}}}}();")
    f = g.tf(f"{P}/python/iri_smoke.py", "python")
    f.l("import os, requests", "",
        f"ALCF_IRI_TOKEN = os.environ.get(\"ALCF_IRI_TOKEN\", \"{f.pos('iri', g.globus())}\")",
        "r = requests.get('https://api.alcf.anl.gov/api/v1/task/not-a-real-task',",
        "                 headers={'Authorization': f'Bearer {ALCF_IRI_TOKEN}'})",
        "print('accepted' if r.status_code == 404 else r.status_code)")
    f = g.tf(f"{P}/python/keycard.py", "python")
    f.l("# AmSC keycard for the IRI compute API",
        f"KEYCARD = \"{f.pos('iri', g.amsc('https://api.alcf.anl.gov'), note='AmSC keycard')}\"",
        "HEADERS = {'Authorization': 'Bearer ' + KEYCARD}")
    f = g.tf(f"{P}/.env.local", "dotenv")
    f.l(f"IRI_API_TOKEN={f.pos('iri', g.globus())}",
        f"AMSC_KEYCARD_TOKEN={f.pos('iri', g.amsc('https://api.iri.nersc.gov', expired=True), note='AmSC keycard, expired')}")
    f = g.tf(f"{P}/README.md", "markdown")
    f.l("# iri-client", "", "```sh", f"export ALCF_IRI_TOKEN={f.neg('Ag****', 'masked value')}",
        f"export ALCF_IRI_TOKEN={f.neg('$(alcf-tokens print-access-token)', 'command substitution')}",
        "```", "", f"A decoded token header looks like `{f.neg('eyJhbGciOiJIUzI1NiJ9.********.********', 'masked value')}`.",
        f"Polaris is `{f.neg('55c1c993-1124-47f9-b823-514ba3849a9a', 'uuid (resource id)')}`.")
    f = g.tf(f"{P}/tests/fixtures/resources.json", "json")
    f.w(json.dumps([{"id": f.neg(g.uuid(), "uuid (resource id)"), "name": n, "resource_type": "compute"}
                    for n in ("polaris", "aurora", "sophia", "crux")], indent=2) + "\n")
    f = g.tf(f"{P}/package-lock.json", "lockfile")
    pk = {"": {"name": "iri-client", "version": "0.3.1"}}
    for _ in range(110):
        n = g.pick(WORDS) + g.pick(["", "-js", "-core", "-utils", "ify"]) + g.pick(["", "-" + g.pick(WORDS)])
        v = f"{g.rng.randint(0, 12)}.{g.rng.randint(0, 40)}.{g.rng.randint(0, 20)}"
        while f"node_modules/{n}" in pk:
            n += "-" + g.pick(WORDS)
        pk[f"node_modules/{n}"] = {"version": v, "resolved": f"https://registry.npmjs.org/{n}/-/{n}-{v}.tgz",
                                   "integrity": f.neg(g.integrity(), "lockfile integrity hash"), "license": "MIT"}
    f.w(json.dumps({"name": "iri-client", "version": "0.3.1", "lockfileVersion": 3, "requires": True, "packages": pk}, indent=2) + "\n")


def proj_palmetto(g):
    P = "projects/palmetto-dash"
    f = g.tf(f"{P}/.env", "dotenv")
    f.l(f"PALMETTO_API_KEY={f.pos('palmetto', g.palmetto())}", "PORT=8080")
    f = g.tf(f"{P}/src/api.js", "js")
    f.l("import axios from 'axios';", "", f"const palmettoApiKey = \"{f.pos('palmetto', g.palmetto())}\";",
        "export const api = axios.create({", "  baseURL: 'https://api.palmetto.clemson.edu/slurm/v0.0.44',",
        "  headers: { Authorization: `Bearer ${palmettoApiKey}` },", "});")
    f = g.tf(f"{P}/src/jobs.ts", "ts")
    f.l("export const cfg = {", f"  token: '{f.pos('palmetto', g.palmetto(), note='host three lines later')}',",
        "  partition: 'owner-lab',", "  version: 'v0.0.44',", "  host: 'api.palmetto.clemson.edu',", "};")
    f = g.tf(f"{P}/Dockerfile", "dockerfile")
    f.l(f"FROM node:20-alpine@sha256:{f.neg(g.hexs(64), 'docker digest')}", "WORKDIR /srv",
        f.h('hygiene.secret_in_image') + f"ARG PALMETTO_API_KEY={f.pos('palmetto', g.palmetto())}", "COPY . .", "RUN npm ci && npm run build",
        'CMD ["node", "dist/server.js"]')
    f = g.tf(f"{P}/.gitlab-ci.yml", "gitlab_ci")
    f.l("stages: [test, deploy]", "variables:", f"  PALMETTO_API_KEY: \"{f.pos('palmetto', g.palmetto())}\"",
        f"  REGISTRY_TOKEN: {f.neg('$CI_JOB_TOKEN', 'env reference')}", "test:", "  stage: test",
        "  image: node:20", "  script:", "    - npm ci", "    - npm test")
    f = g.tf(f"{P}/docker-compose.yml", "docker-compose")
    f.l("services:", "  dash:", "    build: .", "    environment:",
        f"      - PALMETTO_TOKEN={f.pos('palmetto', g.palmetto())}", "      - NODE_ENV=production",
        f"    image: ghcr.io/lab/palmetto-dash@sha256:{f.neg(g.hexs(64), 'docker digest')}")
    f = g.tf(f"{P}/scripts/poll.sh", "shell")
    f.l("#!/bin/bash",
        f.h('hygiene.token_on_command_line') + f"curl -sf -H \"Authorization: Bearer {f.pos('palmetto', g.palmetto())}\" \"https://api.palmetto.clemson.edu/slurm/latest/jobs?user=dave\"",
        f.h('hygiene.token_on_command_line') + f"curl -sf -H \"Authorization: MUNGE {f.pos('munge_cred', g.munge_cred())}\" https://api.palmetto.clemson.edu/slurmdb/v0.0.44/jobs",
        'curl -sf -H "Authorization: MUNGE $(munge -n -t 5)" https://api.palmetto.clemson.edu/slurm/latest/jobs')
    f = g.tf(f"{P}/settings.ini", "ini")
    f.l("[palmetto]", f"api_key = {f.pos('palmetto', g.palmetto())}", "endpoint = https://api.palmetto.clemson.edu",
        "version = latest", "", "[ui]", "theme = dark")
    f = g.tf(f"{P}/yarn.lock", "lockfile")
    f.l("# THIS IS AN AUTOGENERATED FILE. DO NOT EDIT THIS FILE DIRECTLY.", "# yarn lockfile v1", "")
    for _ in range(80):
        n = g.pick(WORDS) + g.pick(["", "-" + g.pick(WORDS)])
        v = f"{g.rng.randint(0, 9)}.{g.rng.randint(0, 30)}.{g.rng.randint(0, 9)}"
        f.l(f"{n}@^{v}:", f'  version "{v}"', f'  resolved "https://registry.yarnpkg.com/{n}/-/{n}-{v}.tgz#{g.hexs(40)}"',
            f"  integrity {f.neg(g.integrity(), 'lockfile integrity hash')}", "")


def sts_json(g, f, indent=2, endpoint="http://rgw.local:8080"):
    kid, sec, tok = g.sts()
    exp = dt.datetime.fromtimestamp(g.now + 3600, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")
    doc = {"Credentials": {"AccessKeyId": f.pos("ceph_sts", kid, part="AccessKeyId"), "EndpointURL": endpoint,
                           "Expiration": exp, "SecretAccessKey": f.pos("ceph_sts", sec, part="SecretAccessKey"),
                           "SessionToken": f.pos("ceph_sts", tok, part="SessionToken")}}
    return json.dumps(doc, indent=indent)


def proj_csm(g):
    P = "projects/csm-ops"
    f = g.tf(f"{P}/k8s/admin-client-auth.yaml", "k8s-secret")
    sec = g.csm_secret()
    ep = "https://api-gw-service-nmn.local/keycloak/realms/shasta/protocol/openid-connect/token"
    f.l("apiVersion: v1", "kind: Secret", "metadata:", "  name: admin-client-auth", "  namespace: default", "type: Opaque", "data:",
        f"  client-id: {f.neg('admin-client', 'base64 of a client id', shown=b64('admin-client'))}",
        f"  client-secret: {f.pos('csm_client_secret', sec, shown=b64(sec), encoded='base64')}",
        f"  endpoint: {f.neg(ep, 'base64 of a url', shown=b64(ep))}")
    f = g.tf(f"{P}/scripts/get_token.sh", "shell")
    f.l("#!/bin/bash", "# get an admin token for the CSM API", f"CLIENT_SECRET={f.pos('csm_client_secret', g.csm_secret())}",
        f.h('hygiene.token_on_command_line') + "TOKEN=$(curl -s -k -d grant_type=client_credentials -d client_id=admin-client \\",
        "  -d client_secret=$CLIENT_SECRET \\",
        "  https://api-gw-service-nmn.local/keycloak/realms/shasta/protocol/openid-connect/token | jq -r .access_token)",
        f"echo \"token: {f.neg('${TOKEN:0:12}', 'env reference')}...\"")
    f = g.tf(f"{P}/scripts/get_token.py", "python")
    f.l("import requests", "", "URL = 'https://api-gw-service-nmn.local/keycloak/realms/shasta/protocol/openid-connect/token'",
        "resp = requests.post(URL, data={\"grant_type\": \"client_credentials\", \"client_id\": \"admin-client\",",
        f"                                \"client_secret\": \"{f.pos('csm_client_secret', g.csm_secret())}\"}}, verify=False)",
        "token = resp.json()['access_token']")
    f = g.tf(f"{P}/terraform/main.tf", "terraform")
    aid, asec = g.aws_pair()
    rid, rsec = g.rgw_pair()
    f.l('variable "keycloak_client_secret" {', '  type    = string', f"  default = \"{f.pos('csm_client_secret', g.csm_secret())}\"", "}", "",
        'provider "keycloak" {', '  client_id     = "admin-client"', "  client_secret = var.keycloak_client_secret",
        '  url           = "https://api-gw-service-nmn.local/keycloak"', "}", "",
        'provider "aws" {', '  region     = "us-east-1"', f'  access_key = "{aid}"',
        f"  secret_key = \"{f.pos('aws', asec, alts=[aid])}\"", "}", "",
        'provider "aws" {', '  alias      = "rgw"', '  region     = "default"', f'  access_key = "{rid}"',
        f"  secret_key = \"{f.pos('s3_keypair', rsec, alts=[rid])}\"", "  skip_credentials_validation = true",
        "  s3_use_path_style           = true", "  endpoints {", '    s3 = "http://rgw.nmn:8080"', "  }", "}")
    f = g.tf(f"{P}/terraform/terraform.tfvars", "tfvars")
    rid, rsec = g.rgw_pair()
    f.l(f'rgw_access_key = "{rid}"', f"rgw_secret_key = \"{f.pos('s3_keypair', rsec, alts=[rid])}\"",
        'rgw_endpoint   = "http://rgw-vip.nmn:8080"')
    f = g.tf(f"{P}/runbooks/sts.md", "markdown")
    f.l("# Temporary S3 credentials", "", "Run:", "", "```sh",
        "curl -X PUT -H \"Authorization: Bearer $TOKEN\" https://api-gw-service-nmn.local/apis/sts/token", "```", "",
        "Output from the 2026-11 incident (rotate!):", "", "```json")
    f.w(sts_json(g, f) + "\n")
    f.l("```")
    f = g.tf(f"{P}/logs/sts-debug.log", "log")
    kid, sec, tok = g.sts()
    f.l("2026-11-30 08:12:44,019 DEBUG sts.client assume_role ok",
        f"2026-11-30 08:12:44,020 DEBUG sts.client response={{'Credentials': {{'AccessKeyId': '{f.pos('ceph_sts', kid, part='AccessKeyId', ctx='log-repr')}', "
        f"'SecretAccessKey': '{f.pos('ceph_sts', sec, part='SecretAccessKey', ctx='log-repr')}', 'SessionToken': '{f.pos('ceph_sts', tok, part='SessionToken', ctx='log-repr')}', "
        "'Expiration': datetime.datetime(2026, 11, 30, 9, 12, 44, tzinfo=tzutc())}, 'EndpointURL': 'http://rgw.local:8080'}",
        f"2026-11-30 08:12:45,101 DEBUG request headers {{'Authorization': 'Bearer {f.pos('csm_keycloak', g.csm(), ctx='log-repr')}', 'User-Agent': 'python-requests/2.32.3'}} url=https://api-gw-service-nmn.local/apis/sts/token")
    f = g.tf(f"{P}/ansible/group_vars/all.yml", "ansible")
    f.l("---", "keycloak_url: https://api-gw-service-nmn.local/keycloak", "keycloak_client_id: admin-client",
        f"keycloak_admin_client_secret: \"{f.pos('csm_client_secret', g.csm_secret())}\"",
        f"keycloak_user_password: \"{f.neg('{{ vault_keycloak_password }}', 'template reference')}\"",
        f"munge_key_path: /etc/munge/munge.key")
    f = g.tf(f"{P}/tokens/setup-token.json", "cray_tokens")
    f.w(json.dumps({"access_token": f.pos("csm_keycloak", g.csm(azp="admin-client")), "expires_in": 31536000,
                    "refresh_expires_in": 0, "token_type": "Bearer"}, indent=2) + "\n")
    f = g.tf(f"{P}/scripts/cray_init.sh", "shell")
    f.l("#!/bin/bash", "export CRAY_CREDENTIALS=/tmp/setup-token.json", "cat > /tmp/setup-token.json <<EOF",
        f"{{\"access_token\": \"{f.pos('csm_keycloak', g.csm(azp='admin-client'), ctx='heredoc')}\"}}", "EOF",
        "cat > ~/.config/cray/env <<EOF", "TOKEN=" + f.neg('\\$(cat ~/.token)', 'escaped command substitution in heredoc'), "EOF",
        "chmod 600 /tmp/setup-token.json", "cray artifacts buckets list")
    f = g.tf(f"{P}/python/sts_client.py", "python")
    kid, sec, tok = g.sts()
    f.l("import boto3", "", "s3 = boto3.client(", "    's3',", "    endpoint_url='http://rgw.local:8080',",
        f"    aws_access_key_id='{f.pos('ceph_sts', kid, part='AccessKeyId')}',",
        f"    aws_secret_access_key='{f.pos('ceph_sts', sec, part='SecretAccessKey')}',",
        f"    aws_session_token='{f.pos('ceph_sts', tok, part='SessionToken')}',", ")")
    f = g.tf(f"{P}/notebooks/csm.ipynb", "notebook")
    cells = [("code", f"TOKEN = \"{f.pos('csm_keycloak', g.csm())}\"\nimport requests\n"
                      "r = requests.get('https://api-gw-service-nmn.local/apis/bss/boot/v1/bootparameters', "
                      "headers={'Authorization': f'Bearer {TOKEN}'}, verify=False)\n")]
    f.w(notebook(g, cells))


def proj_slurm(g):
    P = "projects/slurm-tools"
    f = g.tf(f"{P}/slurmrest_client.py", "python")
    f.l("import requests", "", "URL = 'http://slurmrestd.cluster.local:6820/slurm/v0.0.43'",
        "HEADERS = {", "    \"X-SLURM-USER-NAME\": \"alice\",",
        f"    \"X-SLURM-USER-TOKEN\": \"{f.pos('slurm_jwt', g.slurm('alice'))}\",", "}",
        "print(requests.get(URL + '/ping', headers=HEADERS).json())")
    f = g.tf(f"{P}/submit.sh", "shell")
    f.l("#!/bin/bash", f.h('hygiene.token_exported') + f"export SLURM_JWT={f.pos('slurm_jwt', g.slurm('bob', expired=True), note='expired')}",
        f.h('hygiene.token_on_command_line') + f"curl -s -H \"X-SLURM-USER-NAME: bob\" -H \"X-SLURM-USER-TOKEN: {f.neg('$SLURM_JWT', 'env reference')}\" \\",
        "  -X POST -d @job.json http://slurmrestd:6820/slurm/v0.0.43/job/submit")
    f = g.tf(f"{P}/logs/slurmrestd.log", "log")
    f.l("[2026-12-01T09:00:00.101] slurmrestd version 25.05.3 started",
        f"[2026-12-01T09:00:00.102] {f.neg('AuthAltTypes=auth/jwt', 'slurm config line')}",
        f"[2026-12-01T09:00:03.551] debug:  rest_auth/jwt: operations_router: [[unix]:8832] token={f.pos('slurm_jwt', g.slurm(), ctx='log-bare')}",
        f"[2026-12-01T09:00:04.002] debug:  {f.pos('slurm_jwt', g.slurm(expired=True), ctx='log-bare', note='bare, expired')}",
        "[2026-12-01T09:00:05.917] error: auth/jwt: token expired")
    f = g.tf(f"{P}/etc/slurm.conf", "slurm_conf")
    f.l("ClusterName=frontier-dev", "SlurmctldHost=ctl0", f"{f.neg('AuthAltTypes=auth/jwt', 'slurm config line')}",
        f"AuthAltParameters={f.neg('jwt_key=/var/spool/slurm/statesave/jwt_hs256.key', 'key path, not a key')}",
        "StateSaveLocation=/var/spool/slurm/statesave", "SlurmUser=slurm")
    f = g.tf(f"{P}/etc/slurmdbd.conf", "slurm_conf")
    f.l("AuthType=auth/munge", "DbdHost=dbd0", f"StoragePass={f.neg('mypass', 'placeholder')}", "StorageUser=slurm")
    f = g.tf(f"{P}/sbatch/array.sbatch", "sbatch")
    f.l("#!/bin/bash", "#SBATCH --array=1-100", "#SBATCH --time=00:10:00",
        f.h('hygiene.slurm_jwt_in_job_environment') + f"#SBATCH --export=ALL,SLURM_JWT={f.pos('slurm_jwt', g.slurm('svc-argo'))}", "srun ./task $SLURM_ARRAY_TASK_ID")
    f = g.tf(f"{P}/notebooks/restapi.ipynb", "notebook")
    cells = [("code", f"import os\nos.environ[\"SLURM_JWT\"] = \"{f.pos('slurm_jwt', g.slurm('alice'))}\"\n"),
             ("code", "!scontrol token\n", [stream([f"SLURM_JWT={f.pos('slurm_jwt', g.slurm('alice'))}\n"])])]
    f.w(notebook(g, cells))
    f = g.tf(f"{P}/k8s/slinky-token.yaml", "k8s-secret")
    tok = g.slurm("slurm")
    f.l("apiVersion: v1", "kind: Secret", "metadata:", "  name: slurm-token-slurm", "  namespace: slinky",
        "type: Opaque", "data:", f"  auth-token: {f.pos('slurm_jwt', tok, shown=b64(tok), encoded='base64')}")
    f = g.tf(f"{P}/tests/test_client.py", "python")
    f.l("def test_decode():", f"    tok = \"{f.neg(JWT_IO, 'jwt.io demo jwt')}\"", "    assert tok.count('.') == 2", "",
        "def test_daemon_mode(monkeypatch):", f"    monkeypatch.setenv('SLURM_JWT', '{f.neg('daemon', 'slurmrestd mode flag')}')")
    f = g.tf(f"{P}/docs/jwt.md", "markdown")
    f.l("# Slurm JWT", "", "```", "$ scontrol token", f"SLURM_JWT={f.neg('eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9...', 'placeholder')}",
        "```", "", f"Set `{f.neg('SLURM_JWT=daemon', 'slurmrestd mode flag')}` when running slurmrestd.")


def proj_argo(g):
    P = "projects/argo-workflows"
    f = g.tf(f"{P}/workflows/transfer.yaml", "argo")
    f.l("apiVersion: argoproj.io/v1alpha1", "kind: Workflow", "metadata:", "  generateName: transfer-", "spec:",
        "  entrypoint: main", "  templates:", "    - name: main", "      container:",
        "        image: ghcr.io/lab/mover:1.4", "        env:", "          - name: GLOBUS_CLIENT_ID",
        f"            value: \"{f.neg(g.uuid(), 'uuid (client id)')}\"", "          - name: GLOBUS_CLIENT_SECRET",
        f"            value: \"{f.pos('globus_client_secret', g.globus_secret())}\"", "          - name: S3M_TOKEN",
        f"            value: {f.pos('s3m', g.s3m('STF040'))}")
    f = g.tf(f"{P}/manifests/secrets.yaml", "k8s-secret")
    gs = g.globus_secret()
    aid, asec = g.aws_pair()
    f.l("apiVersion: v1", "kind: Secret", "metadata:", "  name: mover", "type: Opaque", "data:",
        f"  GLOBUS_CLIENT_SECRET: {f.pos('globus_client_secret', gs, shown=b64(gs), encoded='base64')}",
        f"  AWS_ACCESS_KEY_ID: {b64(aid)}",
        f"  AWS_SECRET_ACCESS_KEY: {f.pos('aws', asec, shown=b64(asec), encoded='base64', alts=[b64(aid)])}",
        "---", "apiVersion: v1", "kind: Secret", "metadata:", "  name: palmetto", "stringData:",
        f"  PALMETTO_API_KEY: {f.pos('palmetto', g.palmetto())}")
    f = g.tf(f"{P}/manifests/configmap.yaml", "k8s-yaml")
    f.l("apiVersion: v1", "kind: ConfigMap", "metadata:", "  name: endpoints", "data:",
        f"  S3M_BASE: {f.neg('https://s3m.olcf.ornl.gov', 'url without credentials')}",
        f"  IRI_BASE: {f.neg('https://api.alcf.anl.gov/api/v1', 'url without credentials')}",
        f"  STREAM: {f.neg('amqps://rmq-stf040-api-ens.io.s3m-streams.apps.olivine.ccs.ornl.gov:443', 'url without credentials')}")
    f = g.tf(f"{P}/helm/values.yaml", "helm_values")
    f.l("image:", f"  repository: ghcr.io/lab/runner@sha256:{f.neg(g.hexs(64), 'docker digest')}", "slurm:",
        "  restd: http://slurmrestd:6820", f"  jwt: {f.pos('slurm_jwt', g.slurm('svc-argo'))}", "  user: svc-argo")


def proj_data_mover(g):
    P = "projects/data-mover"
    f = g.tf(f"{P}/exports/keys.csv", "csv")
    f.l("user,access_key,secret_key,endpoint")
    for u in ("archive", "ingest", "backup"):
        rid, rsec = g.rgw_pair()
        f.l(f"{u},{rid},{f.pos('s3_keypair', rsec)},http://rgw.hpc.example.edu:8080")
    f = g.tf(f"{P}/exports/erin_accessKeys.csv", "csv")
    aid, asec = g.aws_pair()
    f.l("Access key ID,Secret access key", f"{aid},{f.pos('aws', asec)}")
    f = g.tf(f"{P}/config/s3.ini", "ini")
    rid, rsec = g.rgw_pair()
    f.l("[rgw]", "endpoint = http://ceph-rgw.internal:8080", f"access_key = {rid}",
        f"secret_key = {f.pos('s3_keypair', rsec, alts=[rid])}", "bucket = archive")
    f = g.tf(f"{P}/config/aws.toml", "toml")
    aid, asec = g.aws_pair()
    f.l("[aws]", f"access_key_id = '{aid}'", f"secret_access_key = '{f.pos('aws', asec, alts=[aid])}'", "region = 'us-west-2'")
    f = g.tf(f"{P}/mover/upload.py", "python")
    rid, rsec = g.rgw_pair()
    f.l("import boto3", "", "s3 = boto3.resource('s3', endpoint_url='http://rgw.ceph.lab:8080',",
        f"                    aws_access_key_id='{rid}',",
        f"                    aws_secret_access_key='{f.pos('s3_keypair', rsec, alts=[rid])}')")
    f = g.tf(f"{P}/radosgw/user-create.json", "json")
    rid, rsec = g.rgw_pair()
    f.w(json.dumps({"user_id": "archive", "display_name": "Archive robot", "email": "", "suspended": 0, "max_buckets": 1000,
                    "keys": [{"user": "archive", "access_key": rid, "secret_key": f.pos("s3_keypair", rsec, alts=[rid])}],
                    "swift_keys": [], "caps": []}, indent=4) + "\n")
    f = g.tf(f"{P}/logs/mover.log", "log")
    aid, asec = g.aws_pair()
    f.l("2026-11-28 02:00:00 INFO env dump follows", f"2026-11-28 02:00:00 DEBUG AWS_ACCESS_KEY_ID={aid}",
        f"2026-11-28 02:00:00 DEBUG AWS_SECRET_ACCESS_KEY={f.pos('aws', asec, alts=[aid])}",
        f"2026-11-28 02:00:01 INFO upload done etag={f.neg(g.hexs(32), 'hex etag')}")
    f = g.tf(f"{P}/docs/credentials.md", "markdown")
    f.l("# Credentials", "", "Example `~/.aws/credentials`:", "", "```ini", "[default]",
        f"aws_access_key_id = {f.neg(AWS_EX_ID, 'aws docs example key')}",
        f"aws_secret_access_key = {f.neg(AWS_EX_SECRET, 'aws docs example key')}", "```", "",
        f"Never commit keys such as `{f.neg('AKIAXXXXXXXXXXXXXXXX', 'placeholder')}`.")


def proj_ci(g):
    P = "projects/ci-infra"
    f = g.tf(f"{P}/.github/workflows/deploy.yml", "github_actions")
    aid, asec = g.aws_pair()
    f.l("name: deploy", "on:", "  push:", "    branches: [main]", "jobs:", "  deploy:", "    runs-on: ubuntu-latest", "    env:",
        f"      GLOBUS_CLIENT_SECRET: {f.neg('${{ secrets.GLOBUS_CLIENT_SECRET }}', 'ci secret reference')}",
        f"      AWS_ACCESS_KEY_ID: {aid}",
        f"      AWS_SECRET_ACCESS_KEY: {f.pos('aws', asec, alts=[aid])}",
        f"      PALMETTO_API_KEY: {f.pos('palmetto', g.palmetto())}", "    steps:",
        "      - uses: actions/checkout@v4", "      - run: ./deploy.sh")
    f = g.tf(f"{P}/.gitlab-ci.yml", "gitlab_ci")
    f.l("variables:", f"  IRI_API_TOKEN: \"{f.pos('iri', g.globus())}\"", f"  SLURM_JWT: {f.pos('slurm_jwt', g.slurm('ci'))}",
        f"  SLURM_JWT_MODE: {f.neg('daemon', 'slurmrestd mode flag')}", "smoke:", "  script:",
        f.h('hygiene.token_on_command_line') + '    - curl -sf -H "Authorization: Bearer $IRI_API_TOKEN" https://api.alcf.anl.gov/api/v1/facility')
    f = g.tf(f"{P}/windows/deploy.bat", "bat", crlf=True)
    f.l("@echo off", f"set PALMETTO_API_KEY={f.pos('palmetto', g.palmetto(), note='CRLF file')}",
        f.h('hygiene.token_on_command_line') + f"curl -H \"Authorization: Bearer {f.neg('%PALMETTO_API_KEY%', 'windows env reference')}\" https://api.palmetto.clemson.edu/ping",
        "exit /b 0")


def proj_notebooks(g):
    P = "projects/notebooks-lab"
    f = g.tf(f"{P}/globus_demo.ipynb", "notebook")
    cid = g.uuid()
    tok = g.globus()
    resp = json.dumps({"access_token": "@@TOK@@", "expires_in": 172800, "resource_server": "transfer.api.globus.org",
                       "token_type": "Bearer", "scope": "urn:globus:auth:scope:transfer.api.globus.org:all", "other_tokens": []})
    resp = resp.replace("@@TOK@@", f.pos("globus", tok, note="client_credentials response in notebook output"))
    cells = [("markdown", "## Confidential client demo\n"),
             ("code", f"CLIENT_ID = \"{f.neg(cid, 'uuid (client id)')}\"\n"
                      f"CLIENT_SECRET = \"{f.pos('globus_client_secret', g.globus_secret())}\"\n"
                      "client = globus_sdk.ConfidentialAppAuthClient(CLIENT_ID, CLIENT_SECRET)\n"
                      "resp = client.oauth2_client_credentials_tokens()\nprint(json.dumps(resp.data))\n",
              [stream([resp + "\n"])]),
             ("code", "payload\n",
              [{"output_type": "execute_result", "execution_count": 2, "metadata": {},
                "data": {"text/plain": [f"'{{\\u0022refresh_token\\u0022: \\u0022{f.pos('globus', g.globus(), ctx='notebook-escaped')}\\u0022}}'"]}}]),
             ("code", "client2 = globus_sdk.ConfidentialAppAuthClient(\n"
                      f"    \"{f.neg(g.uuid(), 'uuid (client id)')}\", \"{f.pos('globus_client_secret', g.globus_secret(), note='positional argument')}\")\n")]
    f.w(notebook(g, cells))
    f = g.tf(f"{P}/s3m_demo.ipynb", "notebook")
    cells = [("code", "print('Authorization:\\n' + open('.env').read().split()[1])\n",
              [stream([f"Authorization:\n{f.pos('s3m', g.s3m('STF040'), ctx='notebook-escaped')}\n"])]),
             ("code", "show_logo()\n", [{"output_type": "display_data", "metadata": {},
                                          "data": {"image/png": f.neg("png", "base64 image", shown=g.png_b64(700))}}])]
    f.w(notebook(g, cells, single_string_source=True))
    f = g.tf(f"{P}/keycard.ipynb", "notebook")
    cells = [("code", f"keycard = '{f.pos('iri', g.amsc('https://api.alcf.anl.gov'), note='AmSC keycard')}'\n"
                      "requests.post('https://api.alcf.anl.gov/api/v1/compute/job/55c1c993-1124-47f9-b823-514ba3849a9a',\n"
                      "              headers={'Authorization': 'Bearer ' + keycard}, json=spec)\n")]
    f.w(notebook(g, cells))


# ==================================================================== tree: shared, cluster
def shared(g):
    f = g.tf("shared/docs/onboarding.md", "markdown")
    f.l("# Onboarding", "", "## Tokens", "", "Put your S3M token in `.env` (never commit it):", "", "```",
        f"Authorization: {f.neg('eyJhbGc...', 'placeholder')}", "```", "",
        f"In CI use `{f.neg('{{ secrets.S3M_TOKEN }}', 'ci secret reference')}` or `{f.neg('${S3M_TOKEN}', 'env reference')}`.", "",
        f"A JWT looks like `{f.neg(JWT_IO, 'jwt.io demo jwt')}`.", "",
        f"Masked in logs: `{f.neg('eyJhbGciOiJIUzI1NiJ9.********.********', 'masked value')}`, `{f.neg('Ag' + '*' * 20, 'masked value')}`.", "",
        "## Troubleshooting", "", "If you get 401, send us the header you used, e.g. (from a ticket, 2026-10):", "",
        f"    Authorization: {f.pos('s3m', g.s3m('CSC380'), note='indented code block in docs')}", "",
        f"AWS: `{f.neg(AWS_EX_ID, 'aws docs example key')}` / `{f.neg(AWS_EX_SECRET, 'aws docs example key')}`.")
    f = g.tf("shared/docs/globus.md", "markdown")
    tok = g.globus()
    f.l("# Globus", "", "A client_credentials response:", "", "```json")
    f.w(json.dumps({"access_token": f.pos("globus", tok, note="client_credentials response pasted in docs"), "expires_in": 172800,
                    "resource_server": "transfer.api.globus.org", "token_type": "Bearer",
                    "scope": "urn:globus:auth:scope:transfer.api.globus.org:all", "other_tokens": []}, indent=2) + "\n")
    f.l("```", "", "Read it in code with", "", "```python",
        "globus_transfer_token = " + f.neg('data["transfer.api.globus.org"]["access_token"]', 'identifier on the right of an assignment'),
        "```")
    f = g.tf("shared/docs/palmetto.md", "markdown")
    f.l("# Palmetto API", "", "```sh", f"export PALMETTO_API_KEY={f.neg('your-api-key-here', 'placeholder')}",
        f"curl -H \"Authorization: Bearer {f.neg('<token>', 'placeholder')}\" https://api.palmetto.clemson.edu/slurm/latest/jobs",
        "```", "", f"Example key (not real): `{f.neg('a1B2c3d4e5F6g7H8i9J0a1B2c3d4e5F6g7H8i9J0', 'sequential placeholder')}`.")
    f = g.tf("shared/docs/csm-runbook.md", "markdown")
    f.l("# CSM admin runbook", "", "```sh",
        f"curl -s -d grant_type=client_credentials -d client_id=admin-client -d client_secret={f.pos('csm_client_secret', g.csm_secret())} \\",
        "  https://api-gw-service-nmn.local/keycloak/realms/shasta/protocol/openid-connect/token", "```", "",
        "STS output (compact, as logged):", "", "```")
    f.w(sts_json(g, f, indent=None) + "\n")
    f.l("```")
    f = g.tf("shared/docs/s3m.md", "markdown")
    f.l("# S3M", "", "| token | project |", "|---|---|",
        f"| `{f.pos('s3m', g.s3m('BIF132'), note='markdown table cell')}` | BIF132 |", "",
        f"Placeholder form: `{f.neg('S3M_TOKEN=xxxxx', 'placeholder')}`.")

    f = g.tf("shared/logs/gateway-access.log", "log")
    for _ in range(4):
        f.l(f"10.0.{g.rng.randint(0, 9)}.{g.rng.randint(2, 250)} - - [02/Dec/2026:11:{g.rng.randint(10, 59)}:00 +0000] \"GET /status HTTP/1.1\" 200 512")
    f.l(f"10.0.3.7 - - [02/Dec/2026:11:20:14 +0000] \"GET /oauth/callback?access_token={f.pos('globus', g.globus(), ctx='log-urlencoded')}&token_type=Bearer&expires_in=172800&resource_server=transfer.api.globus.org HTTP/1.1\" 302 0")
    f.l(f"10.0.3.8 - - [02/Dec/2026:11:21:40 +0000] \"GET /proxy?target=https%3A%2F%2Fapi.alcf.anl.gov%2Fapi%2Fv1%2Ffacility&Authorization=Bearer%20{f.pos('iri', g.globus(), ctx='log-urlencoded')} HTTP/1.1\" 200 91")
    f.l(f"10.0.3.9 - - [02/Dec/2026:11:22:03 +0000] \"GET /fwd?h=%7B%22Authorization%22%3A%20%22{f.pos('s3m', g.s3m('STF040'), ctx='log-urlencoded')}%22%7D&to=s3m.olcf.ornl.gov HTTP/1.1\" 200 40")
    f.l(f"10.0.3.9 - - [02/Dec/2026:11:23:03 +0000] \"GET /build/{f.neg(g.hexs(40), 'git sha')} HTTP/1.1\" 404 0")

    f = g.tf("shared/logs/requests-debug.log", "log")
    f.l(f"DEBUG:urllib3.connectionpool:https://s3m.olcf.ornl.gov:443 \"GET /olcf/v1/token/ctls/introspect HTTP/1.1\" 200 310")
    f.l(f"DEBUG:client:headers={{'Authorization': '{f.pos('s3m', g.s3m('STF040'), ctx='log-repr')}', 'Accept': 'application/json'}}")
    f.l(f"DEBUG:client:headers={{'X-SLURM-USER-NAME': 'alice', 'X-SLURM-USER-TOKEN': '{f.pos('slurm_jwt', g.slurm('alice'), ctx='log-repr')}'}}")
    f.l(f"DEBUG:client:headers={{'Authorization': 'Bearer {f.pos('palmetto', g.palmetto(), ctx='log-repr')}'}} host=api.palmetto.clemson.edu")
    f.l(f"DEBUG:client:headers={{'Authorization': 'MUNGE {f.pos('munge_cred', g.munge_cred(), ctx='log-repr')}'}} host=api.palmetto.clemson.edu")
    f.l(f"DEBUG:client:headers={{'Authorization': 'Bearer {f.pos('generic_jwt', g.generic_jwt(), ctx='log-repr')}'}} host=grafana.example-lab.org")
    f.l(f"DEBUG:client:headers={{'Authorization': 'Bearer {f.pos('iri', g.globus(), ctx='log-repr')}'}} url=https://api.iri.nersc.gov/api/v1/account/projects")
    f.l(f"DEBUG:client:json={{\"msg\": \"ALCF_IRI_TOKEN=\\t{f.pos('iri', g.globus(), ctx='log-tab-escaped')}\"}}")

    f = g.tf("shared/logs/munge-audit.log", "log")
    for i in range(5):
        f.l(f"2026-12-0{i + 1}T0{i}:00:00Z palmetto-proxy auth header=MUNGE {f.pos('munge_cred', g.munge_cred(), ctx='log')} uid=41{i}2")
    f.l(f"2026-12-06T00:00:00Z palmetto-proxy auth header=MUNGE {f.neg('MUNGE:<cred>:', 'placeholder')}")
    f = g.tf("shared/logs/jobs.jsonl", "log-jsonl")
    for i in range(3):
        f.l(json.dumps({"job": 3318800 + i, "env": {"SLURM_JWT": f.pos("slurm_jwt", g.slurm()), "HOME": "/home/alice"},
                        "uuid": f.neg(g.uuid(), "uuid (job uuid)")}))
    f.l(json.dumps({"job": 3318803, "env": {"SLURM_JWT": f.neg("daemon", "slurmrestd mode flag")}}))

    f = g.tf("shared/exports/tokens-audit.csv", "csv")
    f.l("owner,kind,value,created")
    f.l(f"alice,globus,{f.pos('globus', g.globus())},2026-11-01")
    f.l(f"bob,munge,{f.pos('munge_cred', g.munge_cred())},2026-11-02")
    f.l(f"carol,jwt,{f.pos('generic_jwt', g.generic_jwt())},2026-11-03")
    f.l(f"dave,placeholder,{f.neg('xxxxxxxxxxxxxxxxxxxxxxxx', 'placeholder')},2026-11-04")

    f = g.tf("shared/scripts/headers.env", "dotenv-header")
    f.l(f"Authorization: {f.pos('generic_jwt', g.generic_jwt(), note='generic jwt without Bearer, not s3m')}")
    f = g.tf("shared/scripts/grafana.sh", "shell")
    f.l("#!/bin/sh", f"GRAFANA_TOKEN={f.pos('generic_jwt', g.generic_jwt())}",
        f.h('hygiene.token_on_command_line') + 'curl -H "Authorization: Bearer $GRAFANA_TOKEN" https://grafana.example-lab.org/api/dashboards')
    f = g.tf("shared/scripts/munge_check.py", "python")
    f.l("import subprocess", f"CRED = \"{f.pos('munge_cred', g.munge_cred())}\"",
        "print(subprocess.run(['unmunge'], input=CRED.encode(), capture_output=True).stdout.decode())")
    f = g.tf("shared/notes/incident-2026-11.md", "markdown")
    f.l("# Incident 2026-11-14", "", "Leaked in a support ticket, rotated since:", "",
        f"- keycloak token `{f.pos('csm_keycloak', g.csm(expired=True), note='expired, still a leak')}`",
        f"- slurm token `{f.pos('slurm_jwt', g.slurm(expired=True))}`",
        f"- generic `{f.pos('generic_jwt', g.generic_jwt())}`",
        f"- munge `{f.pos('munge_cred', g.munge_cred())}`",
        f"- palmetto key in PALMETTO_API_KEY: `{f.pos('palmetto', g.palmetto())}`")


def cluster(g):
    # key files: binary, labelled line 0 (whole file)
    places_munge = ["cluster/etc/munge/munge.key", "cluster/nodes/nid000001/etc/munge/munge.key",
                    "cluster/nodes/nid000002/etc/munge/munge.key", "cluster/nodes/login1/etc/munge/munge.key",
                    "backups/2026-10-01/etc/munge/munge.key", "backups/2026-11-01/munge.key",
                    "projects/csm-ops/roles/munge/files/munge.key", "home/carol/keys/munge.key",
                    "home/carol/Downloads/munge.key", "projects/slurm-tools/docker/munge/munge.key",
                    "projects/argo-workflows/images/slurm/munge.key", "shared/tmp/munge.key", "cluster/images/compute/rootfs/etc/munge/munge.key"]
    for p in places_munge:
        data = g.rng.randbytes(g.pick([128, 128, 1024]))
        g.binfile(p, "key_file", data, kind="munge_key", secret_desc=f"<munge.key, {len(data)} random bytes>")
    places_jwt = ["cluster/var/spool/slurm/statesave/jwt_hs256.key", "cluster/nodes/ctl1/var/spool/slurmctld/jwt_hs256.key",
                  "backups/2026-10-01/var/spool/slurm/jwt_hs256.key", "backups/2026-11-01/jwt_hs256.key",
                  "projects/csm-ops/roles/slurm/files/jwt_hs256.key", "home/carol/keys/jwt_hs256.key",
                  "projects/slurm-tools/docker/slurm/jwt_hs256.key", "projects/argo-workflows/images/slurm/jwt_hs256.key",
                  "shared/tmp/jwt_hs256.key", "home/alice/slurm-dev/etc/jwt_hs256.key",
                  "cluster/images/compute/rootfs/etc/slurm/jwt_hs256.key", "projects/slurm-tools/tests/data/jwt_hs256.key"]
    for p in places_jwt:
        data = g.rng.randbytes(g.pick([32, 32, 64, 256]))
        g.binfile(p, "key_file", data, kind="slurm_key", secret_desc=f"<jwt_hs256.key, {len(data)} random bytes>")
    # negatives next to key files
    f = g.tf("cluster/etc/munge/README", "text")
    f.l("munge.key is generated with:", "  mungekey --create --keyfile=/etc/munge/munge.key", "Do not copy it to shared storage.")
    f = g.tf("cluster/etc/slurm/slurm.conf", "slurm_conf")
    f.l("ClusterName=hpc", f"{f.neg('AuthAltTypes=auth/jwt', 'slurm config line')}",
        f"AuthAltParameters={f.neg('jwt_key=/var/spool/slurm/statesave/jwt_hs256.key', 'key path, not a key')}",
        "AuthType=auth/munge", "CryptoType=crypto/munge")
    f = g.tf("cluster/var/log/slurmrestd.log", "log")
    f.l("slurmrestd: debug: auth/jwt: verified token for alice",
        f"slurmrestd: debug: rest_auth: X-SLURM-USER-TOKEN: {f.pos('slurm_jwt', g.slurm('alice'), ctx='log')}",
        f"slurmrestd: debug: palmetto header: Authorization: MUNGE {f.pos('munge_cred', g.munge_cred(), ctx='log')}")


PLACEHOLDERS = [("<your-token>", "placeholder"), ("<token>", "placeholder"), ("YOUR_TOKEN_HERE", "placeholder"),
                ("your-api-key-here", "placeholder"), ("xxxxx", "placeholder"), ("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "placeholder"),
                ("changeme", "placeholder"), ("mypass", "placeholder"), ("a1B2c3d4e5F6g7H8i9J0k1L2m3N4o5P6q7R8s9T0", "sequential placeholder"),
                ("REPLACE_ME", "placeholder"), ("${S3M_TOKEN}", "env reference"), ("$PALMETTO_API_KEY", "env reference"),
                ("$(cat ~/.token)", "command substitution"), ("{{ secrets.IRI_API_TOKEN }}", "ci secret reference"),
                ("%GLOBUS_CLIENT_SECRET%", "windows env reference"), ("<redacted>", "placeholder"), ("********", "masked value"),
                ("eyJhbGc...", "placeholder"), ("Ag...", "placeholder"), ("Ag" + "X" * 90, "low-entropy placeholder"),
                ("0000000000000000000000000000000000000000", "low-entropy placeholder"), ("ABCDEFGHIJKLMNOPQRST", "sequential placeholder"),
                ("${{ secrets.AWS_SECRET_ACCESS_KEY }}", "ci secret reference"), ("<password>", "placeholder"),
                ("ey...", "placeholder"), ("MUNGE:...:", "placeholder"), ("12345678-1234-1234-1234-123456789012", "sequential placeholder")]
VARNAMES = ["S3M_TOKEN", "PALMETTO_API_KEY", "ALCF_IRI_TOKEN", "NERSC_IRI_TOKEN", "GLOBUS_CLIENT_SECRET", "SLURM_JWT",
            "AWS_SECRET_ACCESS_KEY", "client_secret", "password", "access_token", "refresh_token", "IRI_API_TOKEN",
            "palmetto_api_key", "s3m_token", "RGW_SECRET_KEY", "keycloak_client_secret"]


def negatives_bulk(g):
    f = g.tf("shared/docs/placeholders.md", "markdown")
    f.l("# Configuration reference", "", "Every variable below must come from the secret store.", "", "```sh")
    for i in range(60):
        v, why = PLACEHOLDERS[i % len(PLACEHOLDERS)]
        name = g.pick(VARNAMES)
        sep = g.pick(["=", "=", ": ", " = "])
        f.l(f"{name}{sep}{q(g, f.neg(v, why))}")
    f.l("```")

    f = g.tf("shared/docs/config-template.yaml", "yaml")
    for i in range(25):
        v, why = PLACEHOLDERS[(i * 7) % len(PLACEHOLDERS)]
        f.l(f"{g.pick(VARNAMES).lower()}: \"{f.neg(v, why)}\"")

    for proj in ("climate-pipeline", "s3m-workflows", "palmetto-dash"):
        f = g.tf(f"projects/{proj}/CHANGELOG.md", "markdown")
        f.l("# Changelog", "")
        for i in range(12):
            f.l(f"- {g.words(g.rng.randint(3, 7))} ({f.neg(g.hexs(40), 'git sha')})")

    f = g.tf("shared/logs/deploy.log", "log")
    for i in range(25):
        f.l(f"2026-11-{i + 1:02d}T12:00:00Z deploy commit={f.neg(g.hexs(40), 'git sha')} "
            f"image=ghcr.io/lab/{g.pick(WORDS)}@sha256:{f.neg(g.hexs(64), 'docker digest')} build={f.neg(g.hexs(32), 'hex build id')}")

    f = g.tf("projects/ci-infra/k8s/deployment.yaml", "k8s-yaml")
    f.l("apiVersion: apps/v1", "kind: Deployment", "metadata:", "  name: runners", "spec:", "  template:", "    spec:", "      containers:")
    for i in range(10):
        f.l(f"        - name: {g.pick(WORDS)}-{i}", f"          image: registry.lab/{g.pick(WORDS)}@sha256:{f.neg(g.hexs(64), 'docker digest')}")

    f = g.tf("shared/inventory/jobs.csv", "csv")
    f.l("job_uuid,name,owner,state")
    for i in range(30):
        f.l(f"{f.neg(g.uuid(), 'uuid (job id)')},{g.words(2, '-')},{g.pick(['alice', 'bob', 'carol'])},COMPLETED")

    f = g.tf("shared/docs/diagram.md", "markdown")
    f.l("# Architecture", "")
    for i in range(5):
        f.l(f"![fig{i}](data:image/png;base64,{f.neg('png', 'base64 image', shown=g.png_b64(300))})", "")

    f = g.tf("shared/releases/SHA256SUMS", "checksums")
    for i in range(15):
        f.l(f"{f.neg(g.hexs(64), 'sha256 checksum')}  {g.pick(WORDS)}-{i}.tar.gz")

    f = g.tf("projects/climate-pipeline/src/climate_pipeline/auth.py", "python")
    rhs = ['os.environ["S3M_TOKEN"]', "settings.GLOBUS_CLIENT_SECRET", 'config.get("rgw", "secret_key")',
           'resp.json()["access_token"]', 'f"Bearer {token}"', "os.getenv('PALMETTO_API_KEY')", "vault.read('kv/iri')['token']",
           'tokens.by_resource_server["transfer.api.globus.org"]["refresh_token"]', "keyring.get_password('s3m', user)",
           "args.client_secret", 'secrets["SLURM_JWT"]', "load_token(path)", "self._session_token", "creds.secret_key",
           "request.headers.get('Authorization')"]
    f.l("import os", "")
    for i, r in enumerate(rhs):
        f.l(f"{g.pick(VARNAMES).lower()} = {f.neg(r, 'identifier on the right of an assignment')}")

    f = g.tf("shared/docs/names.yaml", "yaml")
    for i in range(20):
        f.l(f"{g.pick(['secret_name', 'token_name', 'key_name', 'credential_id'])}: {f.neg(g.words(3, '-'), 'random words')}")

    f = g.tf("home/alice/.ssh/known_hosts", "known_hosts")
    for i in range(6):
        f.l(f"login{i}.frontier.olcf.ornl.gov ssh-ed25519 {f.neg('pub', 'ssh public host key', shown='AAAAC3NzaC1lZDI1NTE5AAAAI' + b64(g.rng.randbytes(32))[:43])}")

    f = g.tf("shared/docs/encoding.md", "markdown")
    f.l("# Encoding examples", "", f"Padding blob: `{f.neg('low', 'low-entropy base64', shown='AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAg')}`",
        f"Build: `{f.neg(g.hexs(48), 'hex build id')}`",
        f"Endpoint: `{f.neg('https://api.palmetto.clemson.edu/slurm/v0.0.44/jobs', 'url without credentials')}`",
        f"Endpoint: `{f.neg('rediss://redis-stf053-demo.streamio.s3m.olcf.ornl.gov:443/0', 'url without credentials')}`",
        f"Token URL: `{f.neg('https://api-gw-service-nmn.local/keycloak/realms/shasta/protocol/openid-connect/token', 'url without credentials')}`",
        f"Key id only (RGW doc): `{f.neg('0555b35654ad1656d804', 'ceph docs example access key')}`")


# ==================================================================== tree: templated volume
# Small blocks (1-4 lines) per credential, rendered in the syntax of the file they land in, with
# varied names, case, quoting and spacing. They top every kind up to TARGET positives.
TARGET = 26

def _case(g, name):
    k = g.rng.randint(0, 5)
    if k <= 2:
        return name
    if k == 3:
        return name.lower()
    if k == 4:
        parts = name.lower().split("_")
        return parts[0] + "".join(p.title() for p in parts[1:])
    return name.title().replace("_", "")


def kind_items(g, f, kind):
    """-> (assignments [(name, value_with_marker)], hints [(name, value)])"""
    P = lambda v, **kw: f.pos(kind, v, **kw)
    if kind == "s3m":
        name = g.pick(["S3M_TOKEN", "S3M_TOKEN", "OLCF_S3M_TOKEN", "S3M_ACCESS_TOKEN", "s3m_token", "S3M_API_TOKEN"])
        return [(name, P(g.s3m()))], [("S3M_URL", "https://s3m.olcf.ornl.gov")] if g.chance(0.5) else []
    if kind == "s3m_stream":
        pw = g.stream_pw()
        proj = g.pick(["stf040", "gen150", "csc380"])
        if g.chance(0.5):
            sch = g.pick(["amqps", "rediss", "rediss", "amqps", "redis"])
            host = (f"rmq-{proj}-api-{g.pick(WORDS)}.io.s3m-streams.apps.olivine.ccs.ornl.gov" if sch.startswith("amqp")
                    else g.pick([f"redis-{proj}-api-{g.pick(WORDS)}.io.s3m-streams.apps.olivine.ccs.ornl.gov",
                                 f"redis-{proj}-{g.pick(WORDS)}.streamio.s3m.olcf.ornl.gov"]))
            return [(g.pick(["STREAM_URL", "AMQP_URL", "REDIS_URL", "broker_url"]), f"{sch}://{proj}-api:{P(pw)}@{host}:443")], []
        host = g.pick([f"redis-{proj}-{g.pick(WORDS)}.streamio.s3m.olcf.ornl.gov",
                       f"rmq-{proj}-api-{g.pick(WORDS)}.io.s3m-streams.apps.olivine.ccs.ornl.gov"])
        return [("STREAM_HOST", host), ("STREAM_USER", f"{proj}-api"), (g.pick(["STREAM_PASSWORD", "password", "REDIS_PASSWORD", "RMQ_PASS"]), P(pw))], []
    if kind == "globus":
        name = g.pick(["GLOBUS_TRANSFER_TOKEN", "globus_access_token", "TRANSFER_TOKEN", "GLOBUS_REFRESH_TOKEN", "GLOBUS_TOKEN", "access_token", "refresh_token"])
        return [(name, P(g.globus()))], [("TRANSFER_API", "https://transfer.api.globus.org/v0.10")] if g.chance(0.6) or not name.startswith(("GLOBUS", "globus")) else []
    if kind == "globus_client_secret":
        pre = g.pick(["GLOBUS_", "GLOBUS_COMPUTE_", "GLOBUS_SERVICE_API_", "globus_"])
        return [(pre + "CLIENT_ID", f.neg(g.uuid(), "uuid (client id)")), (pre + "CLIENT_SECRET", P(g.globus_secret()))], []
    if kind == "iri":
        if g.chance(0.3):
            aud = g.pick(["https://api.alcf.anl.gov", "https://api.iri.nersc.gov"])
            return [(g.pick(["AMSC_TOKEN", "AMSC_KEYCARD", "KEYCARD_JWT"]), P(g.amsc(aud), note="AmSC keycard"))], [("IRI_BASE", aud + "/api/v1")]
        name = g.pick(["ALCF_IRI_TOKEN", "NERSC_IRI_TOKEN", "IRI_API_TOKEN", "IRI_TOKEN_NERSC", "NERSC_IRI_API_TOKEN", "OLCF_IRI_TOKEN", "IRI_TOKEN"])
        hints = [("IRI_BASE", g.pick(["https://api.alcf.anl.gov/api/v1", "https://api.iri.nersc.gov/api/v2"]))] if g.chance(0.6) or name == "IRI_TOKEN" else []
        return [(name, P(g.globus()))], hints
    if kind == "palmetto":
        name = g.pick(["PALMETTO_API_KEY", "PALMETTO_API_KEY", "PALMETTO_TOKEN", "palmetto_key", "PALMETTO_BEARER", "api_token"])
        hints = [("PALMETTO_URL", "https://api.palmetto.clemson.edu")] if g.chance(0.5) or name == "api_token" else []
        return [(name, P(g.palmetto()))], hints
    if kind == "slurm_jwt":
        name = g.pick(["SLURM_JWT", "SLURM_JWT", "X_SLURM_USER_TOKEN", "slurm_token", "SLURMRESTD_TOKEN"])
        return [(name, P(g.slurm()))], [("SLURMRESTD_URL", "http://slurmrestd:6820")] if g.chance(0.4) else []
    if kind == "munge_cred":
        return [(g.pick(["MUNGE_CRED", "AUTH_HEADER", "munge_credential", "cred"]),
                 g.pick(["", "MUNGE "]) + P(g.munge_cred()))], []
    if kind == "csm_keycloak":
        name = g.pick(["TOKEN", "CRAY_TOKEN", "KEYCLOAK_TOKEN", "access_token", "CSM_TOKEN", "ADMIN_TOKEN"])
        return [(name, P(g.csm()))], [("API_GW", "https://api-gw-service-nmn.local")] if g.chance(0.5) else []
    if kind == "csm_client_secret":
        name = g.pick(["client_secret", "CLIENT_SECRET", "KEYCLOAK_ADMIN_CLIENT_SECRET", "admin_client_secret", "ADMIN_CLIENT_SECRET"])
        return [("CLIENT_ID", "admin-client"), (name, P(g.csm_secret())),
                ("TOKEN_URL", "https://api-gw-service-nmn.local/keycloak/realms/shasta/protocol/openid-connect/token")], []
    if kind == "ceph_sts":
        kid, sec, tok = g.sts()
        return [("AWS_ACCESS_KEY_ID", P(kid, part="AccessKeyId")), ("AWS_SECRET_ACCESS_KEY", P(sec, part="SecretAccessKey")),
                ("AWS_SESSION_TOKEN", P(tok, part="SessionToken")), ("AWS_ENDPOINT_URL", g.pick(["http://rgw.local:8080", "http://rgw-vip.nmn:8080"]))], []
    if kind == "s3_keypair":
        rid, rsec = g.rgw_pair()
        pre = g.pick(["AWS_", "RGW_", "S3_", "CEPH_"])
        return [(pre + "ACCESS_KEY_ID", rid), (pre + "SECRET_ACCESS_KEY", P(rsec, alts=[rid])),
                (pre + "ENDPOINT_URL", g.pick(["http://rgw.hpc.example.edu:8080", "http://ceph-rgw.internal:8080", "https://s3.ceph.lab.example.org"]))], []
    if kind == "aws":
        aid, asec = g.aws_pair()
        return [("AWS_ACCESS_KEY_ID", aid), ("AWS_SECRET_ACCESS_KEY", P(asec, alts=[aid]))], [("AWS_DEFAULT_REGION", "us-east-1")] if g.chance(0.5) else []
    if kind == "generic_jwt":
        return [(g.pick(["ID_TOKEN", "GRAFANA_TOKEN", "AUTH0_TOKEN", "VAULT_JWT", "bearer"]), P(g.generic_jwt()))], []
    raise ValueError(kind)


FILLER = [("LOG_LEVEL", "info"), ("TIMEOUT", "30"), ("REGION", "us-east-1"), ("BUCKET", "archive"), ("RETRIES", "5"),
          ("PROJECT", "stf040"), ("PARTITION", "batch"), ("WORKERS", "8"), ("CACHE_DIR", "/tmp/cache"), ("DEBUG", "false")]

STYLES = {  # style -> (path template, context)
    "dotenv": ("{p}/{w}.env", "dotenv"), "shell": ("{p}/scripts/{w}.sh", "shell"), "sbatch": ("{p}/jobs/{w}.sbatch", "sbatch"),
    "yaml": ("{p}/config/{w}.yaml", "yaml"), "gha": ("{p}/.github/workflows/{w}.yml", "github_actions"),
    "python": ("{p}/{pkg}/{w}.py", "python"), "json": ("{p}/config/{w}.json", "json"), "toml": ("{p}/config/{w}.toml", "toml"),
    "ini": ("{p}/etc/{w}.cfg", "ini"), "js": ("{p}/src/{w}.js", "js"), "log": ("{p}/logs/{w}.log", "log"),
    "makefile": ("{p}/{w}.mk", "makefile"), "dockerfile": ("{p}/docker/{w}.Dockerfile", "dockerfile"),
    "tf": ("{p}/infra/{w}.tf", "terraform"), "argo": ("{p}/workflows/{w}.yaml", "argo"),
}


def fmt_line(g, style, name, val, ind=""):
    qv = lambda: q(g, val, ('"', "'", "")) if not any(c in val for c in " #") else f'"{val}"'
    if style == "dotenv":
        return f"{name}{g.pick(['=', '=', ' = '])}{qv()}"
    if style in ("shell", "sbatch"):
        return f"{g.pick(['export ', 'export ', ''])}{name}={qv()}"
    if style == "yaml":
        return f"{ind}{name.lower()}:{g.pick([' ', '  '])}{qv()}"
    if style in ("gha", "argo"):
        return f"{ind}{name}: {q(g, val, ('', chr(34)))}"
    if style == "python":
        return f"{name}{g.pick([' = ', '='])}{q(g, val, (chr(34), chr(39)))}"
    if style == "toml":
        return f'{name.lower()} = "{val}"'
    if style == "ini":
        return f"{name.lower()}{g.pick([' = ', '=', ': '])}{val}"
    if style == "js":
        return f"{g.pick(['const', 'let', 'export const'])} {name} = {q(g, val, (chr(39), chr(34), '`'))};"
    if style == "log":
        g.logt = getattr(g, "logt", 1796083200) + g.rng.randint(1, 400)
        ts = dt.datetime.fromtimestamp(g.logt, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
        return f"{ts} DEBUG {g.pick(['env', 'config', 'settings'])} {name}={val}"
    if style == "makefile":
        return f"{name} {g.pick(['?=', ':=', '='])} {val}"
    if style == "dockerfile":
        return f"{g.pick(['ENV', 'ARG'])} {name}={val}"
    if style == "tf":
        return f'  {name.lower()} = "{val}"'
    raise ValueError(style)


def planted(g, value):
    """True when `value` holds a positive (planted credential) marker."""
    return any(not g.marks[int(m.group(1))][0]["negative"] for m in MARK_RE.finditer(value))


def write_block_file(g, path, style, ctx, items):
    f = g.tf(path, ctx)
    blocks = []
    for kind in items:
        assigns, hints = kind_items(g, f, kind)
        assigns = [(_case(g, n) if g.chance(0.4) and not n.startswith("AWS_") else n, v) for n, v in assigns]
        lines = assigns + hints if g.chance(0.6) else hints + assigns
        if g.chance(0.5):
            lines.insert(g.rng.randint(0, len(lines)), g.pick(FILLER))
        blocks.append(lines)
    if style == "json":
        d = {}
        for b in blocks:
            sub = {n.lower(): v for n, v in b}
            d[g.pick(WORDS) + "_" + str(len(d))] = sub
        f.w(json.dumps(d, indent=g.pick([2, 4])) + "\n")
        return
    head = {"shell": ["#!/usr/bin/env bash", "set -e"], "sbatch": ["#!/bin/bash", "#SBATCH -A STF040", "#SBATCH -N 1", "#SBATCH -t 01:00:00"],
            "yaml": ["# generated by deploy tooling"], "gha": ["name: nightly", "on: [schedule]", "jobs:", "  run:", "    runs-on: ubuntu-latest", "    env:"],
            "python": ["import os", ""], "js": ["'use strict';"], "tf": ["locals {"], "dockerfile": ["FROM python:3.12-slim"],
            "argo": ["apiVersion: argoproj.io/v1alpha1", "kind: Workflow", "spec:", "  templates:", "    - name: run", "      container:", "        env:"],
            "ini": ["[default]"], "toml": ["[service]"]}.get(style, [])
    f.l(*head)
    for b in blocks:
        for n, v in b:
            if style == "argo":
                f.l(f"          - name: {n}", f"            value: {q(g, v, ('', chr(34)))}")
            elif style == "gha":
                f.l(fmt_line(g, style, n, v, ind="      "))
            else:
                line = fmt_line(g, style, n, v)
                # What a reviewer points at: a literal credential (or a key id, half of one)
                # exported by a script, or baked into an image by ENV/ARG.
                credential = planted(g, v) or n.upper().endswith("ACCESS_KEY_ID")
                if style in ("shell", "sbatch") and line.startswith("export ") and credential:
                    line = f.h("hygiene.token_exported") + line
                    if style == "sbatch" and n == "SLURM_JWT":
                        line = f.h("hygiene.slurm_jwt_in_job_environment") + line
                if style == "dockerfile" and credential:
                    line = f.h("hygiene.secret_in_image") + line
                f.l(line)
        if style not in ("gha", "argo", "tf") and g.chance(0.7):
            f.l("")
        if style == "ini" and g.chance(0.5):
            f.l(f"[{g.pick(WORDS)}]")
        if style == "toml" and g.chance(0.5):
            f.l(f"[{g.pick(WORDS)}]")
    if style == "tf":
        f.l("}")
    if style == "gha":
        f.l("    steps:", "      - run: ./run.sh")
    if style == "sbatch":
        f.l("srun ./run.sh")


def volume(g, target=TARGET):
    from collections import Counter
    have = Counter(l["kind"] for l in g.labels if not l["negative"] and l["where"] == "tree")
    want = []
    for kind in ("s3m", "s3m_stream", "globus", "globus_client_secret", "iri", "palmetto", "slurm_jwt", "munge_cred",
                 "csm_keycloak", "csm_client_secret", "ceph_sts", "s3_keypair", "aws"):
        per = 3 if kind == "ceph_sts" else 1
        want += [kind] * max(0, -(-(target - have[kind]) // per))
    want += ["generic_jwt"] * max(0, 14 - have["generic_jwt"])
    g.rng.shuffle(want)
    projects = [f"projects/lab-{w}" for w in ("aurora-ml", "fusion-sim", "genomics-etl", "cryo-em", "materials-db", "qc-bench")] + \
               [f"home/{u}" for u in ("gina", "hank", "ivan", "judy")]
    used = set()
    while want:
        n = min(len(want), g.rng.randint(1, 4))
        items, want = want[:n], want[n:]
        style = g.pick(list(STYLES))
        p = g.pick(projects)
        tmpl, ctx = STYLES[style]
        while True:
            path = tmpl.format(p=p, w=g.pick(WORDS) + g.pick(["", "_" + g.pick(WORDS)]), pkg=p.split("-")[-1].replace("/", "_"))
            if path not in used:
                break
        used.add(path)
        write_block_file(g, path, style, ctx, items)
    # more key files
    for i, d in enumerate(("projects/lab-fusion-sim/ansible/files", "home/hank/backup/etc/munge", "projects/lab-qc-bench/docker")):
        data = g.rng.randbytes(g.pick([128, 1024]))
        g.binfile(f"{d}/munge.key", "key_file", data, kind="munge_key", secret_desc=f"<munge.key, {len(data)} random bytes>")
    for i, d in enumerate(("projects/lab-fusion-sim/ansible/files", "home/ivan/slurm/statesave", "projects/lab-cryo-em/k8s/slurm")):
        data = g.rng.randbytes(g.pick([32, 64]))
        g.binfile(f"{d}/jwt_hs256.key", "key_file", data, kind="slurm_key", secret_desc=f"<jwt_hs256.key, {len(data)} random bytes>")


# ==================================================================== history: a git repository with hard cases
H_NOW = 1738573200  # 2025-02-03T09:00:00Z: history content never depends on --now


class Repo:
    def __init__(self, g, path):
        self.g, self.path = g, path
        self.t = H_NOW
        self.pending = []
        os.makedirs(path)
        self.git("init", "-q", "-b", "main")

    def env(self, who):
        name, email = who
        e = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": self.path, "GIT_CONFIG_GLOBAL": "/dev/null",
             "GIT_CONFIG_NOSYSTEM": "1", "LANG": "C", "LC_ALL": "C", "TZ": "UTC",
             "GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email, "GIT_COMMITTER_NAME": name, "GIT_COMMITTER_EMAIL": email,
             "GIT_AUTHOR_DATE": f"@{self.t} +0000", "GIT_COMMITTER_DATE": f"@{self.t} +0000"}
        return e

    def git(self, *args, who=("Alice Researcher", "alice@lab.example.org"), check=True):
        r = subprocess.run(["git", "-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false", "-c", "core.hooksPath=/dev/null",
                            "-c", "core.autocrlf=false", "-c", "merge.conflictstyle=merge", *args],
                           cwd=self.path, env=self.env(who), capture_output=True, text=True)
        if check and r.returncode != 0:
            raise SystemExit(f"git {' '.join(args)} failed: {r.stderr}")
        return r.stdout.strip()

    def write(self, path, content):
        full = os.path.join(self.path, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        if isinstance(content, TF):
            data = content.render()
            self.pending.extend(content.labels)
        else:
            data = content if isinstance(content, bytes) else content.encode()
        with open(full, "wb") as fh:
            fh.write(data)
        self.git("add", "--", path)

    def binary(self, path, data, kind, desc, ctx):
        lab = self.g.binfile(path, ctx, data, kind=kind, secret_desc=desc, where="history", register=False)
        self.pending.append(lab)
        self.write(path, data)

    def commit(self, msg, who=("Alice Researcher", "alice@lab.example.org")):
        self.t += 3600 * 7
        self.git("commit", "-q", "--no-verify", "-m", msg, who=who)
        sha = self.git("rev-parse", "HEAD")
        for lab in self.pending:
            lab["commit"] = sha
        self.pending = []
        return sha


def history(g, root):
    R = Repo(g, root)
    H = lambda path, ctx: g.tf(path, ctx, where="history")

    R.write("README.md", "# hpc-workflows\n\nWorkflow glue for the group.\n")
    R.write("pyproject.toml", '[project]\nname = "wf"\nversion = "0.1.0"\n')
    R.write("src/wf/__init__.py", "")
    config_base = "import os\n\nBASE = 'https://s3m.olcf.ornl.gov'\nRESOURCE = 'defiant'\n"
    R.write("src/wf/config.py", config_base)
    settings = "# settings\nREGION = \"us-east-1\"\nBUCKET = \"wf-archive\"\n"
    R.write("src/wf/settings.py", settings)
    f = H("scripts/old_sync.sh", "shell")
    rid, rsec = g.rgw_pair()
    f.l("#!/bin/sh", f"export AWS_ACCESS_KEY_ID={rid}", f"export AWS_SECRET_ACCESS_KEY={f.pos('s3_keypair', rsec, alts=[rid], note='file renamed later')}",
        "aws --endpoint-url http://rgw.hpc.example.edu:8080 s3 sync out/ s3://wf-archive/")
    R.write("scripts/old_sync.sh", f)
    R.write(".gitignore", "__pycache__/\n*.pyc\n")
    f = H("docs/tokens.md", "markdown")
    f.l("# Tokens", "", f"Use `{f.neg('${S3M_TOKEN}', 'env reference')}`; never paste `{f.neg(JWT_IO, 'jwt.io demo jwt')}`-like values.",
        f"AWS example: `{f.neg(AWS_EX_ID, 'aws docs example key')}`.")
    R.write("docs/tokens.md", f)
    R.commit("Initial layout")

    f = H("src/wf/config.py", "python")
    f.w(config_base)
    f.l(f"S3M_TOKEN = \"{f.pos('s3m', g.s3m('STF040'), note='added then removed')}\"")
    R.write("src/wf/config.py", f)
    R.commit("Add S3M client config")

    f = H(".env", "dotenv")
    f.l(f"PALMETTO_API_KEY={f.pos('palmetto', g.palmetto(), note='file deleted later')}", "DEBUG=1")
    R.write(".env", f)
    R.binary("deploy/munge.key", g.rng.randbytes(128), "munge_key", "<munge.key, 128 random bytes, deleted later>", "key_file")
    R.commit("Local env and munge key for the test container")

    R.write("src/wf/config.py", config_base + "S3M_TOKEN = os.environ[\"S3M_TOKEN\"]\n")
    f = H("streaming/config.toml", "toml")
    stream_cfg = ["[redis]", 'host = "redis-stf040-api-wf.io.s3m-streams.apps.olivine.ccs.ornl.gov"', "port = 443", 'username = "stf040-api"']
    f.l(*stream_cfg, f"password = \"{f.pos('s3m_stream', g.stream_pw(), note='rotated later')}\"")
    R.write("streaming/config.toml", f)
    R.commit("Read token from the environment; streaming config")

    R.git("rm", "-q", "--", ".env", "deploy/munge.key")
    R.write(".gitignore", "__pycache__/\n*.pyc\n.env\nmunge.key\n")
    R.commit("Remove local files")

    os.makedirs(os.path.join(root, "tools"), exist_ok=True)
    R.git("mv", "scripts/old_sync.sh", "tools/sync.sh")
    R.commit("Move sync script")

    f = H("streaming/config.toml", "toml")
    f.l(*stream_cfg, f"password = \"{f.pos('s3m_stream', g.stream_pw())}\"")
    R.write("streaming/config.toml", f)
    R.commit("Rotate stream password")

    f = H("logs/run-2025-03.log", "log")
    log_lines = [f"2025-03-01 10:00:00 INFO run {g.uuid()} start",
                 f"2025-03-01 10:00:01 DEBUG auth=MUNGE {f.pos('munge_cred', g.munge_cred())}",
                 f"2025-03-01 10:00:02 DEBUG keycard={f.pos('iri', g.amsc('https://api.alcf.anl.gov'), note='AmSC keycard')} aud=https://api.alcf.anl.gov",
                 "2025-03-01 10:05:00 INFO run done"]
    f.l(*log_lines)
    R.write("logs/run-2025-03.log", f)
    R.commit("Add run logs")
    log_rendered = open(os.path.join(root, "logs/run-2025-03.log")).read()

    f = H("notebooks/csm.ipynb", "notebook")
    f.w(notebook(g, [("code", f"TOKEN = '{f.pos('csm_keycloak', g.csm())}'\ncray_api('/apis/sts/token', TOKEN)\n")]))
    R.write("notebooks/csm.ipynb", f)
    R.commit("CSM notebook")

    f = H("k8s/admin-client-auth.yaml", "k8s-secret")
    sec = g.csm_secret()
    f.l("apiVersion: v1", "kind: Secret", "metadata:", "  name: admin-client-auth", "data:",
        f"  client-id: {b64('admin-client')}", f"  client-secret: {f.pos('csm_client_secret', sec, shown=b64(sec), encoded='base64')}")
    R.write("k8s/admin-client-auth.yaml", f)
    base = R.commit("Add admin client secret manifest")

    # unmerged branch
    R.git("checkout", "-q", "-b", "feature/globus-sync")
    f = H("globus/app.ini", "ini")
    f.l("[globus]", f"client_id = {g.uuid()}", f"client_secret = {f.pos('globus_client_secret', g.globus_secret(), note='unmerged branch')}")
    R.write("globus/app.ini", f)
    f = H("src/wf/transfer.py", "python")
    f.l("import globus_sdk", f"TOKEN = \"{f.pos('globus', g.globus(), note='unmerged branch')}\"",
        "tc = globus_sdk.TransferClient(authorizer=globus_sdk.AccessTokenAuthorizer(TOKEN))")
    R.write("src/wf/transfer.py", f)
    R.commit("Globus sync app", who=("Bob Analyst", "bob@lab.example.org"))
    import pickle
    rt = g.globus()
    blob = pickle.dumps({"refresh_token": rt, "resource_server": "transfer.api.globus.org", "expires_at": 1740000000,
                         "nonce": g.rng.randbytes(48)}, protocol=4)
    lab = g.binfile("data/session.pkl", "pickle", blob, kind="globus", secret_desc=rt, where="history", register=False)
    lab["secret"] = rt
    lab["encoded"] = "pickle"
    R.pending.append(lab)
    R.write("data/session.pkl", blob)
    R.commit("Cache session", who=("Bob Analyst", "bob@lab.example.org"))
    R.git("checkout", "-q", "main")

    # reachable only from a tag
    R.git("checkout", "-q", "-b", "tmp/rc", base)
    f = H("scripts/rc_submit.sh", "shell")
    f.l("#!/bin/bash", f"export SLURM_JWT={f.pos('slurm_jwt', g.slurm('svc-argo', expired=False), note='tag-only commit')}",
        "curl -s -H \"X-SLURM-USER-TOKEN: $SLURM_JWT\" http://slurmrestd:6820/slurm/v0.0.43/ping")
    R.write("scripts/rc_submit.sh", f)
    R.binary("cluster/jwt_hs256.key", g.rng.randbytes(32), "slurm_key", "<jwt_hs256.key, 32 random bytes, tag-only>", "key_file")
    R.commit("Release candidate submit script")
    R.git("tag", "v0.9-rc1")
    R.git("checkout", "-q", "main")
    R.git("branch", "-q", "-D", "tmp/rc")

    # evil merge
    R.git("checkout", "-q", "-b", "topic/settings", base)
    R.write("src/wf/settings.py", settings.replace("us-east-1", "us-west-2"))
    R.commit("Use us-west-2", who=("Carol Admin", "carol@lab.example.org"))
    R.git("checkout", "-q", "main")
    R.write("src/wf/settings.py", settings.replace('"us-east-1"', 'os.environ.get("REGION", "us-east-1")'))
    R.commit("Region from the environment")
    R.git("merge", "-q", "--no-ff", "--no-commit", "topic/settings", check=False)
    f = H("src/wf/settings.py", "python")
    aid, asec = g.aws_pair()
    f.l("# settings", "REGION = os.environ.get(\"REGION\", \"us-west-2\")", "BUCKET = \"wf-archive\"",
        f"AWS_ACCESS_KEY_ID = \"{aid}\"", f"AWS_SECRET_ACCESS_KEY = \"{f.pos('aws', asec, alts=[aid], note='only in the merge resolution')}\"")
    R.write("src/wf/settings.py", f)
    R.commit("Merge branch 'topic/settings'")

    f = H("docs/sts.md", "markdown")
    f.l("# STS", "", "```json")
    f.w(sts_json(g, f) + "\n")
    f.l("```")
    R.write("docs/sts.md", f)
    R.commit("STS notes")
    R.git("rm", "-q", "--", "docs/sts.md")
    R.commit("Drop STS notes")

    f = H("ci/gitlab-ci.yml", "gitlab_ci")
    f.l("variables:", f"  IRI_API_TOKEN: {f.pos('iri', g.globus())}", f"  S3M_TOKEN: {f.neg('$S3M_TOKEN_CI', 'env reference')}",
        f"  PALMETTO_API_KEY: {f.neg('your-api-key-here', 'placeholder')}", "test:", "  script:",
        "    - curl -H \"Authorization: Bearer $IRI_API_TOKEN\" https://api.alcf.anl.gov/api/v1/facility")
    R.write("ci/gitlab-ci.yml", f)
    R.commit("CI")

    R.write("logs/run-2025-03.log", "# rotated 2025-03-02\n# host login1\n" + log_rendered)
    R.commit("Log rotation header")

    # orphan branch
    R.git("checkout", "-q", "--orphan", "gh-pages")
    R.git("rm", "-rfq", ".")
    f = H("site/index.html", "html")
    f.l("<!doctype html>", "<script>", f"const palmettoKey = '{f.pos('palmetto', g.palmetto(), note='orphan branch')}';",
        "fetch('https://api.palmetto.clemson.edu/slurm/latest/jobs', {headers: {Authorization: 'Bearer ' + palmettoKey}});", "</script>")
    R.write("site/index.html", f)
    R.commit("Publish site")
    R.git("checkout", "-q", "-f", "main")
    R.git("gc", "-q", "--prune=now", check=False)
    return R


def history_occurrences(root, labels):
    """For each history label: every (commit, path, line) where the value is present."""
    def git(*a, inp=None):
        return subprocess.run(["git", *a], cwd=root, capture_output=True, input=inp,
                              env={**os.environ, "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1"}).stdout
    commits = git("rev-list", "--all").decode().split()
    trees = {}
    blobs = set()
    for c in commits:
        entries = {}
        for line in git("ls-tree", "-r", c).decode().splitlines():
            meta, path = line.split("\t", 1)
            _, typ, sha = meta.split()
            if typ == "blob":
                entries[path] = sha
                blobs.add(sha)
        trees[c] = entries
    content = {b: git("cat-file", "blob", b) for b in sorted(blobs)}
    for lab in labels:
        occ = []
        if lab["line"] == 0:
            intro_blob = trees[lab["commit"]][lab["path"]]
            for c in commits:
                for p, b in trees[c].items():
                    if b == intro_blob:
                        occ.append({"commit": c, "path": p, "line": 0})
        else:
            needles = [lab["_shown"]] + [a["shown"] for a in lab.get("alt", [])]
            for c in commits:
                for p, b in trees[c].items():
                    data = content[b]
                    for k, nd in enumerate(needles):
                        i = data.find(nd.encode())
                        if i >= 0:
                            occ.append({"commit": c, "path": p, "line": data.count(b"\n", 0, i) + 1,
                                        **({"alt": True} if k else {})})
        assert any(o["commit"] == lab["commit"] and o["path"] == lab["path"] for o in occ), lab["id"]
        lab["occurrences"] = occ


# ==================================================================== main
# Files that hold credentials by their name, from the facilities' tools and docs (not from
# tokenwarden's code): stores the tools write themselves, hand-made environment files, keys.
TOOL_STORES = re.compile(r"(^|/)(\.aws/credentials|\.s3cfg|\.globus/.*tokens[^/]*\.json|\.iri_token[^/]*\.json"
                         r"|s3m/auth\.json|\.config/cray/tokens/[^/]+|\.config/rclone/rclone\.conf)$")
ENV_FILES = re.compile(r"(^|/)(\.env(\.(local|prod|production|dev|staging))?|[^/]+\.env)$")
KEY_FILES = re.compile(r"(^|/)(munge\.key|jwt_hs256\.key)$")


def credential_file_mode(g, path):
    """The mode the file gets, for credential files only (others keep the umask's).

    The CLIs that write token stores make them 0600, but stores copied by hand (cp, scp, a
    backup) arrive 0644. Environment files are written with an editor: 0644 unless someone
    thought of it. Key files sit 0400 where the daemons keep them, and 0644 in backups, image
    build contexts and home directories."""
    if TOOL_STORES.search(path):
        return 0o644 if g.chance(0.25) else 0o600
    if ENV_FILES.search(path):
        return g.pick([0o644, 0o644, 0o640, 0o600])
    if KEY_FILES.search(path):
        daemon = path.startswith("cluster/") and "/images/" not in path
        return g.pick([0o400, 0o600]) if daemon else g.pick([0o644, 0o644, 0o600])
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--now", help="reference time for expiries: YYYY-MM-DD or epoch seconds (default: today 00:00 UTC)")
    ap.add_argument("--force", action="store_true", help="remove OUT first if it exists")
    a = ap.parse_args()
    if a.now is None:
        now = int(time.time()) // 86400 * 86400
    elif a.now.isdigit():
        now = int(a.now)
    else:
        now = int(dt.datetime.strptime(a.now, "%Y-%m-%d").replace(tzinfo=dt.timezone.utc).timestamp())
    out = os.path.abspath(a.out)
    if os.path.exists(out):
        if not a.force and os.listdir(out):
            raise SystemExit(f"{out} exists and is not empty (use --force)")
        shutil.rmtree(out)
    os.makedirs(out)

    g = Gen(a.seed, now)
    for fn in (home_alice, home_bob, home_carol, home_dave, home_erin, home_frank, proj_climate, proj_s3m, proj_streaming,
               proj_iri, proj_palmetto, proj_csm, proj_slurm, proj_argo, proj_data_mover, proj_ci, proj_notebooks,
               shared, cluster, negatives_bulk, volume):
        fn(g)
    seen = set()
    for where, path, obj in g.files:
        assert path not in seen, path
        seen.add(path)
        full = os.path.join(out, "tree", path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "wb") as fh:
            fh.write(obj.render() if isinstance(obj, TF) else obj)
        mode = credential_file_mode(g, path)
        if mode is not None:
            os.chmod(full, mode)
            if mode & 0o044:
                g.hyg.append({"check": "hygiene.credential_file_readable", "path": path, "line": None,
                              "where": "tree", "note": f"mode {mode:03o}"})
    # shown values for history matching
    for n, (lab, shown, alts) in g.marks.items():
        lab["_shown"] = shown

    hg = Gen(a.seed + 1_000_003, H_NOW)
    history(hg, os.path.join(out, "history"))
    for n, (lab, shown, alts) in hg.marks.items():
        lab["_shown"] = shown
    hlabels = [l for l in hg.labels]
    history_occurrences(os.path.join(out, "history"), hlabels)

    missing = [l["id"] for l in g.labels + hg.labels if l["line"] is None]
    assert not missing, f"labels without a line (marker never rendered): {missing[:10]}"
    unplaced = [l for l in g.hyg if l["line"] is None and l["check"] != "hygiene.credential_file_readable"]
    assert not unplaced, f"hygiene labels without a line: {unplaced[:5]}"
    with open(os.path.join(out, "hygiene-labels.jsonl"), "w") as fh:
        for lab in sorted(g.hyg, key=lambda l: (l["path"], l["line"] or 0, l["check"])):
            fh.write(json.dumps(lab) + "\n")
    with open(os.path.join(out, "labels.jsonl"), "w") as fh:
        for lab in g.labels + hg.labels:
            lab = {k: v for k, v in lab.items() if not k.startswith("_")}
            for al in lab.get("alt", []):
                al.pop("shown", None)
            fh.write(json.dumps(lab, sort_keys=False) + "\n")

    # summary
    from collections import Counter
    pos = Counter((l["where"], l["kind"]) for l in g.labels + hg.labels if not l["negative"])
    neg = Counter(l["where"] for l in g.labels + hg.labels if l["negative"])
    kinds = sorted({k for _, k in pos})
    print(f"wrote {out}: {len(seen)} tree files, seed {a.seed}, now {dt.datetime.fromtimestamp(now, dt.timezone.utc):%Y-%m-%d}")
    print("positives (tree/history): " + ", ".join(f"{k} {pos[('tree', k)]}/{pos[('history', k)]}" for k in kinds))
    print(f"positives total: tree {sum(v for (w, _), v in pos.items() if w == 'tree')}, "
          f"history {sum(v for (w, _), v in pos.items() if w == 'history')}; negatives: tree {neg['tree']}, history {neg['history']}")


if __name__ == "__main__":
    main()
