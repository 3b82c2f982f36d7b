#!/usr/bin/env python3
"""Held-out labelled corpus for the detection benchmark.

    holdout.py OUT --seed N [--now YYYY-MM-DD] [--force]

Writes OUT/tree/ (plain directory tree, not a git repository) and OUT/labels.jsonl in the
format score.py reads (id, kind, context, path, line, secret, where="tree", negative, reason,
optional alt / encoded / part / note / exp / expired).

Written independently of gen.py and of the scanner's rules/sources/tests: only the token
formats in the top-level README ("What it finds"), shared/FACILITIES.md and score.py's label
format were used. The material imitates research-group files that a rule author would not
necessarily have in mind: Snakemake and Nextflow configs, Jupyter outputs, R/Julia/Go/Rust,
Ansible vars and inventories, Helm values, docker-compose, systemd units, crontabs, .netrc,
Slack/e-mail pastes, curl -v logs, HAR files, Python dict reprs, PowerShell, fish, .bat,
XML, .properties, CSV/TSV exports, kubectl -o yaml output, base64 values, URL query strings.

Every credential is minted at random (JWT signatures are random bytes). Nothing is real.
Deterministic for a given --seed and --now (--now defaults to today 00:00 UTC so that JWT
expiries are relative to real time; pass --now to pin the output byte for byte).

Python 3.11 standard library only.
"""
import argparse
import base64
import datetime
import json
import os
import pprint
import random
import shutil
import string
import subprocess
import sys
import urllib.parse
import uuid

ALNUM = string.ascii_letters + string.digits
UPPER_ALNUM = string.ascii_uppercase + string.digits
B32 = string.ascii_uppercase + "234567"
B64 = ALNUM + "+/"
B64URL = ALNUM + "-_"
HEX = "0123456789abcdef"


# --------------------------------------------------------------------------- minting
class Mint:
    def __init__(self, rng, now):
        self.r = rng
        self.now = now

    def s(self, alphabet, n):
        return "".join(self.r.choice(alphabet) for _ in range(n))

    def b(self, n):
        return bytes(self.r.getrandbits(8) for _ in range(n))

    def uuid(self):
        return str(uuid.UUID(int=self.r.getrandbits(128), version=4))

    def hex(self, n):
        return self.s(HEX, n)

    @staticmethod
    def b64u(b):
        return base64.urlsafe_b64encode(b).rstrip(b"=").decode()

    def jwt(self, header, payload, siglen):
        h = self.b64u(json.dumps(header, separators=(",", ":")).encode())
        p = self.b64u(json.dumps(payload, separators=(",", ":")).encode())
        return f"{h}.{p}.{self.b64u(self.b(siglen))}"

    def times(self, life, expired_p=0.3):
        """iat/exp so that about expired_p of tokens are already expired at `now`."""
        if self.r.random() < expired_p:
            exp = self.now - self.r.randint(3600, 40 * 86400)
        else:
            exp = self.now + self.r.randint(max(60, life // 10), life)
        return exp - life, exp

    # ---- facility tokens
    def s3m(self, project=None):
        iat = self.now - self.r.randint(1, 200) * 86400 - self.r.randint(0, 86399)
        desc = self.r.choice(["frontier-ci", "odo workflow", "nightly-sync", "jupyter", "stream-ingest", "defiant tests",
                              "snakemake", "my token", "dashboard"])
        payload = {"description": desc, "type": "opat", "aud": ["api.olcf.ornl.gov"], "nbf": iat, "iat": iat,
                   "jti": self.uuid()}
        if project and self.r.random() < 0.5:
            payload["project"] = project
        hdr, sl = self.r.choice([({"alg": "RS256", "typ": "JWT"}, 256), ({"alg": "RS256", "typ": "JWT", "kid": self.s(B64URL, 43)}, 256),
                                 ({"alg": "ES256", "typ": "JWT"}, 64), ({"typ": "JWT", "alg": "RS512"}, 512)])
        return self.jwt(hdr, payload, sl)

    def slurm(self, user, life=None, expired_p=0.3):
        life = life or self.r.choice([1800, 3600, 7200, 86400, 86400 * 30])
        iat, exp = self.times(life, expired_p)
        hdr = self.r.choice([{"alg": "HS256", "typ": "JWT"}, {"typ": "JWT", "alg": "HS256"}])
        tok = self.jwt(hdr, {"exp": exp, "iat": iat, "sun": user}, 32)
        return tok, exp

    def csm(self, user="vers", azp=None, iss_host=None, typ="Bearer"):
        iss_host = iss_host or self.r.choice(["api-gw-service-nmn.local", "api.nmnlb.hpc.lab.edu", "auth.cmn.hpc.lab.edu",
                                              "api-gateway.vshasta.io"])
        azp = azp or self.r.choice(["shasta", "admin-client"])
        iat, exp = self.times(365 * 86400, 0.15)
        if typ == "Offline":
            exp = 0
        payload = {"exp": exp, "iat": iat, "jti": self.uuid(), "iss": f"https://{iss_host}/keycloak/realms/shasta",
                   "aud": ["shasta", "account"], "sub": self.uuid(), "typ": typ, "azp": azp,
                   "session_state": self.uuid(), "acr": "1",
                   "realm_access": {"roles": ["offline_access", "admin", "uma_authorization"]},
                   "scope": "profile email" + (" offline_access" if typ == "Offline" else ""), "sid": self.uuid(),
                   "email_verified": False, "preferred_username": user if azp == "shasta" else "service-account-admin-client"}
        if typ == "Offline":
            del payload["exp"]
        hdr = {"alg": "RS256", "typ": "JWT", "kid": self.s(B64URL, 43)}
        return self.jwt(hdr, payload, 256), payload.get("exp")

    def keycard(self, aud):
        iat, exp = self.times(8 * 3600, 0.35)
        ctx = self.r.choice([{"project": "AMSC-" + str(self.r.randint(100, 999)), "role": "member"},
                             "amsc:project:fusion-dt", ["amsc-bio-" + str(self.r.randint(10, 99))]])
        payload = {"iss": f"https://auth.pingone.com/{self.uuid()}/as", "sub": self.uuid(), "aud": aud,
                   "amsc_project_context": ctx, "iat": iat, "exp": exp, "scope": "openid iri"}
        return self.jwt({"alg": "RS256", "kid": self.s(B64URL, 27)}, payload, 256), exp

    def generic(self, flavour):
        iat, exp = self.times(3600, 0.3)
        if flavour == "azure":
            tid = self.uuid()
            p = {"aud": "api://" + self.uuid(), "iss": f"https://sts.windows.net/{tid}/", "iat": iat, "nbf": iat, "exp": exp,
                 "appid": self.uuid(), "oid": self.uuid(), "tid": tid, "ver": "1.0"}
        elif flavour == "auth0":
            p = {"iss": "https://labdash.us.auth0.com/", "sub": "google-oauth2|" + self.s(string.digits, 21),
                 "aud": ["https://labdash/api"], "iat": iat, "exp": exp, "azp": self.s(ALNUM, 32), "scope": "openid profile"}
        else:
            p = {"exp": exp, "iat": iat, "jti": self.uuid(), "iss": "https://keycloak.lab.edu/realms/research",
                 "aud": "account", "sub": self.uuid(), "typ": "Bearer", "azp": "jupyterhub", "preferred_username": "lrossi"}
        return self.jwt({"alg": "RS256", "typ": "JWT", "kid": self.s(B64URL, 20)}, p, 256), exp

    def globus(self):
        return "Ag" + self.s(ALNUM, self.r.randint(89, 101))

    def gsecret(self):
        return base64.b64encode(self.b(32)).decode()

    def palmetto(self):
        return self.s(self.r.choice([ALNUM, B64URL]), self.r.randint(40, 64))

    def stream_pw(self):
        return self.s(string.ascii_letters, 16)

    def munge(self):
        return "MUNGE:" + base64.b64encode(b"\x03\x04\x05" + self.b(self.r.choice([93, 105, 117, 129]))).decode() + ":"

    def aws(self):
        return "AKIA" + self.s(B32, 16), self.s(B64, 40)

    def rgw(self):
        return self.s(UPPER_ALNUM, 20), self.s(B64, 40)

    def sts(self, old=False):
        return (self.s(ALNUM, 19 if old else 20), self.s(UPPER_ALNUM, 39 if old else 40),
                base64.b64encode(self.b(192)).decode())


# --------------------------------------------------------------------------- corpus
class P:
    """A positive label spec; `find` is the text to look for when it differs from `secret`."""

    def __init__(self, kind, secret, find=None, alt=None, **extra):
        self.kind, self.secret, self.find, self.alt, self.extra = kind, secret, find or secret, alt, extra
        self.negative, self.reason = False, ""


class N:
    def __init__(self, kind, secret, reason, find=None):
        self.kind, self.secret, self.find, self.reason = kind, secret, find or secret, reason
        self.alt, self.extra, self.negative = None, {}, True


class FB:
    def __init__(self, corpus, path, context, crlf=False, final_newline=True):
        self.c, self.path, self.context, self.crlf, self.final_newline = corpus, path, context, crlf, final_newline
        self.lines = []

    def add(self, block, *specs):
        new = block.split("\n")
        start = len(self.lines) + 1
        self.lines.extend(new)
        for sp in specs:
            idx = next((i for i, l in enumerate(new) if sp.find in l), None)
            if idx is None:
                raise SystemExit(f"{self.path}: {sp.find[:30]!r} not in block")
            line = start + idx
            rec = {"kind": sp.kind, "context": self.context, "path": self.path, "line": line, "secret": sp.secret,
                   "where": "tree", "negative": sp.negative, "reason": sp.reason, "_find": sp.find}
            if sp.alt:
                ai = next((i for i, l in enumerate(new) if sp.alt in l), None)
                if ai is None:
                    raise SystemExit(f"{self.path}: alt {sp.alt[:20]!r} not in block")
                if start + ai != line:
                    rec["alt"] = [{"path": self.path, "line": start + ai}]
            rec.update(sp.extra)
            self.c.labels.append(rec)
        return start

    def data(self):
        nl = "\r\n" if self.crlf else "\n"
        return (nl.join(self.lines) + (nl if self.final_newline else "")).encode()


class Corpus:
    def __init__(self, out, rng, now):
        self.out, self.tree = out, os.path.join(out, "tree")
        self.labels, self.files, self.binaries = [], [], []
        self.m = Mint(rng, now)
        self.r = rng
        self.now = now

    def f(self, path, context, **kw):
        fb = FB(self, path, context, **kw)
        self.files.append(fb)
        return fb

    def binary(self, path, context, kind, data, **extra):
        self.binaries.append((path, data))
        rec = {"kind": kind, "context": context, "path": path, "line": 0, "secret": base64.b64encode(data).decode(),
               "where": "tree", "negative": False, "reason": "", "encoded": "binary"}
        rec.update(extra)
        self.labels.append(rec)

    def write(self):
        paths = [fb.path for fb in self.files] + [p for p, _ in self.binaries]
        dup = {p for p in paths if paths.count(p) > 1}
        if dup:
            raise SystemExit(f"duplicate paths: {dup}")
        for fb in self.files:
            full = os.path.join(self.tree, fb.path)
            os.makedirs(os.path.dirname(full), exist_ok=True)
            with open(full, "wb") as fh:
                fh.write(fb.data())
        for p, data in self.binaries:
            full = os.path.join(self.tree, p)
            os.makedirs(os.path.dirname(full), exist_ok=True)
            with open(full, "wb") as fh:
                fh.write(data)
        # verify every label points at a line that holds its text
        for l in self.labels:
            if l["line"] == 0:
                continue
            with open(os.path.join(self.tree, l["path"]), "rb") as fh:
                lines = fh.read().split(b"\n")
            if l["_find"].encode() not in lines[l["line"] - 1]:
                raise SystemExit(f"label check failed: {l['path']}:{l['line']}")
        with open(os.path.join(self.out, "labels.jsonl"), "w") as fh:
            for i, l in enumerate(self.labels, 1):
                l = {k: v for k, v in l.items() if k != "_find"}
                fh.write(json.dumps({"id": f"h{i:04d}", **l}) + "\n")


def b64(s):
    return base64.b64encode(s.encode() if isinstance(s, str) else s).decode()


def js(x):
    return json.dumps(x)


# --------------------------------------------------------------------------- content
def build(c):
    m, r = c.m, c.r
    pick = r.choice
    now = c.now
    iso = lambda t: datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

    def exp_of(tok_exp):
        return {"exp": tok_exp, "expired": tok_exp < now} if tok_exp else {}

    ALCF_CLIENT = "7f3e61f5-e0de-4e8f-9150-0a62c65dda63"
    IRI_RS = "6be511f6-a071-471f-9bc0-02a0d0836723"
    POLICY = "a128e981-c9a5-417a-97ab-8571c9831bff"
    POLARIS = "55c1c993-1124-47f9-b823-514ba3849a9a"
    NERSC_RS = "ed3e577d-f7f3-4639-b96e-ff5a8445d699"
    AWS_EX_ID, AWS_EX_SK = "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    JWTIO = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ."
             "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c")
    ADAPTER1, ADAPTER2 = "AGATCGGAAGAGCACACGTCTGAACTCCAGTCACATCACG", "AGATCGGAAGAGCGTCGTGTAGGGAAAGAGTGTAGATCTC"

    def stream_host(proj, name, kind="rmq"):
        if r.random() < 0.3:
            return f"{'redis' if kind == 'redis' else 'rmq'}-{proj}-{name}.streamio.s3m.olcf.ornl.gov"
        return f"{kind}-{proj}-api-{name}.io.s3m-streams.apps.olivine.ccs.ornl.gov"

    # ======================================================================= genomics-lab (Snakemake)
    f = c.f("genomics-lab/workflow/config/config.yaml", "snakemake_config")
    rgw_id, rgw_sk = m.rgw()
    s3m_tok = m.s3m("BIO122")
    g_tok = m.globus()
    gtf_sha = m.hex(64)
    src_col, dst_col = m.uuid(), m.uuid()
    f.add("# Snakemake config for the RNA-seq re-analysis (Frontier + lab Ceph)\n"
          "samples: config/samples.tsv\n"
          "units: config/units.tsv\n"
          "\n"
          "reference:\n"
          "  fasta: /lustre/orion/bio122/proj-shared/ref/GRCh38.primary_assembly.fa\n"
          f"  gtf_sha256: {gtf_sha}\n"
          "\n"
          "trimming:\n"
          f"  adapter_r1: {ADAPTER1}\n"
          f"  adapter_r2: {ADAPTER2}\n"
          "  min_len: 36\n"
          "\n"
          "s3:\n"
          '  endpoint_url: "http://rgw.genomics.lab.internal:8080"\n'
          f'  access_key_id: "{rgw_id}"\n'
          f'  secret_access_key: "{rgw_sk}"\n'
          "  bucket: rnaseq-raw\n"
          "\n"
          "olcf:\n"
          "  base: https://s3m.olcf.ornl.gov\n"
          "  enclave: open\n"
          "  project: BIO122\n"
          f'  token: "{s3m_tok}"\n'
          "\n"
          "globus:\n"
          f"  src_collection: {src_col}\n"
          f"  dst_collection: {dst_col}\n"
          f"  transfer_token: {g_tok}\n"
          "  # refresh with `globus login --no-local-server` when it expires\n"
          "slurm_jwt: ${SLURM_JWT}\n",
          N("s3_keypair", gtf_sha, "sha256 of the GTF file"),
          N("ceph_sts", ADAPTER1, "Illumina adapter sequence (40 uppercase letters)"),
          N("ceph_sts", ADAPTER2, "Illumina adapter sequence (40 uppercase letters)"),
          P("s3_keypair", rgw_sk, alt=rgw_id),
          P("s3m", s3m_tok),
          N("globus", src_col, "Globus collection id (public)"),
          N("globus", dst_col, "Globus collection id (public)"),
          P("globus", g_tok),
          N("slurm_jwt", "${SLURM_JWT}", "placeholder"))

    f = c.f("genomics-lab/workflow/Snakefile", "snakefile")
    f.add('configfile: "config/config.yaml"\n'
          "import os\n"
          "\n"
          'S3M_TOKEN = config["olcf"]["token"]\n'
          'SAMPLES = pd.read_csv(config["samples"], sep="\\t").set_index("sample", drop=False)\n'
          "\n"
          "rule fetch_reads:\n"
          "    output: \"raw/{sample}_R1.fastq.gz\"\n"
          "    params:\n"
          '        token=lambda wc: os.environ["GLOBUS_TRANSFER_TOKEN"],\n'
          "    shell:\n"
          "        \"globus transfer {config[globus][src_collection]}:/reads/{wildcards.sample} \"\n"
          "        \"{config[globus][dst_collection]}:/scratch/{wildcards.sample} --recursive\"\n"
          "\n"
          "rule upload:\n"
          "    input: \"results/{sample}.bam\"\n"
          "    shell:\n"
          "        \"AWS_ACCESS_KEY_ID={config[s3][access_key_id]} AWS_SECRET_ACCESS_KEY={config[s3][secret_access_key]} \"\n"
          "        \"aws --endpoint-url {config[s3][endpoint_url]} s3 cp {input} s3://{config[s3][bucket]}/\"\n"
          "\n"
          "rule fastqc:\n"
          '    wrapper: "v3.3.6/bio/fastqc"\n',
          N("s3m", 'config["olcf"]["token"]', "config lookup on the right of an assignment"),
          N("globus", 'os.environ["GLOBUS_TRANSFER_TOKEN"]', "environment lookup"),
          N("s3_keypair", "{config[s3][secret_access_key]}", "Snakemake template placeholder"))

    f = c.f("genomics-lab/workflow/profiles/slurm-rest/config.yaml", "snakemake_profile")
    sj, sj_exp = m.slurm("mchen", life=86400 * 14)
    f.add("# profile for the slurm-rest executor plugin (our fork)\n"
          "executor: slurm-rest\n"
          "jobs: 200\n"
          "latency-wait: 60\n"
          "slurm-rest-url: https://slurmrest.hpc.lab.edu:6820\n"
          "slurm-rest-api: v0.0.43\n"
          "slurm-rest-user: mchen\n"
          f"slurm-rest-token: {sj}\n"
          "default-resources:\n"
          "  slurm_account: bio122\n"
          "  slurm_partition: batch\n"
          "  runtime: 120\n",
          P("slurm_jwt", sj, **exp_of(sj_exp)))

    f = c.f("genomics-lab/workflow/config/samples.tsv", "tsv_manifest")
    rows = []
    negs = []
    for i in range(4):
        md5 = m.hex(32)
        bc = m.s("ACGT", 20)
        sid = m.uuid()
        rows.append(f"S{i + 1:03d}\t{sid}\tSRR{r.randint(10000000, 29999999)}\t{bc}\t{md5}")
        negs += [N("aws", md5, "md5 checksum of the FASTQ"), N("s3_keypair", bc, "sample barcode (20 uppercase letters)")]
        if i < 2:
            negs.append(N("csm_client_secret", sid, "sample UUID"))
    f.add("sample\tsample_uuid\taccession\tbarcode\tfastq_md5\n" + "\n".join(rows), *negs)

    f = c.f("genomics-lab/workflow/envs/rnaseq.lock.txt", "conda_explicit")
    blk, negs = ["# This file may be used to create an environment using:", "# $ conda create --name <env> --file <this file>",
                 "@EXPLICIT"], []
    for pkg in ["bioconda/linux-64/salmon-1.10.3-h6dccd9a_2.tar.bz2", "conda-forge/linux-64/python-3.11.9-hb806964_0_cpython.conda",
                "bioconda/noarch/multiqc-1.25.1-pyhdfd78af_0.tar.bz2"]:
        h = m.hex(32)
        blk.append(f"https://conda.anaconda.org/{pkg}#{h}")
        negs.append(N("aws", h, "conda package md5"))
    f.add("\n".join(blk), *negs)

    # ======================================================================= climate-ml (Nextflow)
    f = c.f("climate-ml/nextflow.config", "nextflow_config")
    rgw2_id, rgw2_sk = m.rgw()
    iri_tok = m.globus()
    gc_id, gc_sec = m.uuid(), m.gsecret()
    git_rev = m.hex(40)
    f.add("// ERA5 downscaling pipeline\n"
          "manifest {\n"
          "    name            = 'lab/era5-downscale'\n"
          "    homePage        = 'https://github.com/lab/era5-downscale'\n"
          "    version         = '0.4.1'\n"
          "    nextflowVersion = '!>=24.04.0'\n"
          "}\n"
          "\n"
          "params {\n"
          "    outdir    = 's3://era5-cache/results'\n"
          "    s3m_token = secrets.S3M_TOKEN\n"
          "}\n"
          "\n"
          "aws {\n"
          f"    accessKey = '{rgw2_id}'\n"
          f"    secretKey = '{rgw2_sk}'\n"
          "    client {\n"
          "        endpoint          = 'https://ceph-rgw.cluster.lab.edu:8080'\n"
          "        s3PathStyleAccess = true\n"
          "    }\n"
          "}\n"
          "\n"
          "env {\n"
          f'    NERSC_IRI_TOKEN = "{iri_tok}"\n'
          f'    GLOBUS_COMPUTE_CLIENT_ID = "{gc_id}"\n'
          f'    GLOBUS_COMPUTE_CLIENT_SECRET = "{gc_sec}"\n'
          '    SLURM_JWT = "$SLURM_JWT"\n'
          "}\n"
          "\n"
          "profiles {\n"
          "    frontier {\n"
          "        process.executor       = 'slurm'\n"
          "        process.clusterOptions = '-A CLI137 -q debug'\n"
          "    }\n"
          "}\n"
          f"// pinned upstream module revision {git_rev}\n",
          N("s3m", "secrets.S3M_TOKEN", "Nextflow secret reference"),
          P("s3_keypair", rgw2_sk, alt=rgw2_id),
          P("iri", iri_tok),
          N("globus_client_secret", gc_id, "Globus client id (not secret)"),
          P("globus_client_secret", gc_sec, alt=gc_id),
          N("slurm_jwt", "$SLURM_JWT", "variable reference"),
          N("s3m", git_rev, "git commit id"))

    f = c.f("climate-ml/conf/olcf.config", "nextflow_config")
    pw = m.stream_pw()
    host = stream_host("cli137", "era5")
    f.add("process {\n"
          "    withLabel: 'stream' {\n"
          f"        env.S3M_STREAM_URL = 'amqps://cli137-api:{pw}@{host}:443'\n"
          "        cpus = 2\n"
          "    }\n"
          "}\n"
          "params.s3m_token = System.getenv('S3M_TOKEN')\n"
          "params.stream_mgmt = 'https://rmq-cli137-api-era5.mgmt.s3m-streams.apps.olivine.ccs.ornl.gov'\n",
          P("s3m_stream", pw),
          N("s3m", "System.getenv('S3M_TOKEN')", "environment lookup"),
          N("s3m_stream", "https://rmq-cli137-api-era5.mgmt.s3m-streams.apps.olivine.ccs.ornl.gov", "streaming URL without credentials"))

    f = c.f("climate-ml/.nextflow.log", "nextflow_log")
    sess = m.uuid()
    rev = m.hex(10)
    pull = m.s(ALNUM, 48)
    f.add(f"Nov-28 09:14:02.113 [main] DEBUG nextflow.cli.Launcher - $> nextflow run main.nf -profile frontier -resume {sess}\n"
          f"Nov-28 09:14:02.388 [main] INFO  nextflow.cli.CmdRun - Launching `main.nf` [sleepy_hopper] DSL2 - revision: {rev}\n"
          f"Nov-28 09:14:03.020 [main] DEBUG nextflow.Session - Session UUID: {sess}\n"
          "Nov-28 09:14:05.771 [Task submitter] DEBUG nextflow.executor.GridTaskHandler - [SLURM] submitted process > "
          "stage_in (1) [jobId: 2214871; workDir: /lustre/orion/cli137/scratch/work/3f/9a1c]\n"
          "Nov-28 09:14:05.772 [Task submitter] TRACE nextflow.processor.TaskRun - task env: "
          f"[S3MIO_PULL_TOKEN:{pull}, HOME:/ccs/home/lrossi, OMP_NUM_THREADS:2]\n"
          "Nov-28 09:20:41.002 [main] DEBUG nextflow.Session - Session await > all processes finished\n",
          N("s3m", sess, "Nextflow session UUID", find=f"Session UUID: {sess}"),
          N("s3m", rev, "git revision"),
          P("s3m", pull, note="S3MIO_PULL_TOKEN (opaque)"))

    # ======================================================================= notebooks
    def nb(cells):
        return json.dumps({"cells": cells, "metadata": {"kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python",
                                                                        "name": "python3"},
                                                         "language_info": {"name": "python", "version": "3.11.9"}},
                           "nbformat": 4, "nbformat_minor": 5}, indent=1, ensure_ascii=False)

    def code(n, src, outs=()):
        return {"cell_type": "code", "execution_count": n, "id": m.hex(8), "metadata": {}, "outputs": list(outs),
                "source": [l + "\n" for l in src.split("\n")[:-1]] + [src.split("\n")[-1]]}

    def stream(text):
        ls = text.split("\n")
        return {"name": "stdout", "output_type": "stream", "text": [l + "\n" for l in ls[:-1]] + ([ls[-1]] if ls[-1] else [])}

    def result(n, text):
        ls = text.split("\n")
        return {"data": {"text/plain": [l + "\n" for l in ls[:-1]] + [ls[-1]]}, "execution_count": n, "metadata": {},
                "output_type": "execute_result"}

    f = c.f("notebooks/frontier-jobs.ipynb", "ipynb")
    tok = m.s3m("CSC549")
    sj, sj_exp = m.slurm("tnguyen", expired_p=0.6)
    mc = m.munge()
    png = base64.b64encode(b"\x89PNG\r\n\x1a\n" + m.b(300)).decode()
    hdrs = {"User-Agent": "python-requests/2.32.3", "Accept-Encoding": "gzip, deflate", "Accept": "*/*", "Connection": "keep-alive",
            "Authorization": tok}
    cells = [
        code(1, 'import os, requests\nBASE = "https://s3m.olcf.ornl.gov"\nTOKEN = os.environ["S3M_TOKEN"]'),
        code(2, 'r = requests.get(f"{BASE}/olcf/v1/token/ctls/introspect", headers={"Authorization": TOKEN})\nprint(r.status_code)\n'
                'print(r.request.headers)', [stream("200\n" + repr(hdrs) + "\n")]),
        code(3, "!scontrol token lifespan=7200", [stream(f"SLURM_JWT={sj}\n")]),
        code(4, "!munge -n -t 5", [stream(mc + "\n")]),
        code(5, "plt.plot(df.elapsed); plt.show()",
             [{"data": {"image/png": png, "text/plain": ["<Figure size 640x480 with 1 Axes>"]}, "metadata": {}, "output_type": "display_data"}]),
    ]
    f.add(nb(cells),
          N("s3m", 'os.environ[\\"S3M_TOKEN\\"]', "environment lookup"),
          P("s3m", tok), P("slurm_jwt", sj, **exp_of(sj_exp)), P("munge_cred", mc),
          N("munge_key", png[:60], "base64 PNG output", find=png[:60]))

    f = c.f("notebooks/globus-transfer-demo.ipynb", "ipynb")
    a1, a2, rf2, a3, rf3 = m.globus(), m.globus(), m.globus(), m.globus(), m.globus()
    ident = m.uuid()
    by_rs = {
        "auth.globus.org": {"access_token": a1, "expires_at_seconds": now + 170000, "refresh_token": None, "resource_server": "auth.globus.org",
                            "scope": "openid profile email", "token_type": "Bearer"},
        "transfer.api.globus.org": {"access_token": a2, "expires_at_seconds": now + 170000, "refresh_token": rf2,
                                    "resource_server": "transfer.api.globus.org",
                                    "scope": "urn:globus:auth:scope:transfer.api.globus.org:all", "token_type": "Bearer"},
        IRI_RS: {"access_token": a3, "expires_at_seconds": now + 170000, "refresh_token": rf3, "resource_server": IRI_RS,
                 "scope": f"https://auth.globus.org/scopes/{IRI_RS}/filesystem", "token_type": "Bearer"},
    }
    cells = [
        code(1, f'import globus_sdk\nCLIENT_ID = "{ALCF_CLIENT}"\nclient = globus_sdk.NativeAppAuthClient(CLIENT_ID)'),
        code(2, "client.oauth2_start_flow(refresh_tokens=True, requested_scopes=SCOPES)\nprint(client.oauth2_get_authorize_url())",
             [stream("https://auth.globus.org/v2/oauth2/authorize?client_id=" + ALCF_CLIENT + "&redirect_uri=https%3A%2F%2F"
                     "auth.globus.org%2Fv2%2Fweb%2Fauth-code&scope=openid+profile&state=_default&response_type=code&"
                     f"code_challenge={m.b64u(m.b(32))}&code_challenge_method=S256&access_type=offline\n")]),
        code(3, "tokens = client.oauth2_exchange_code_for_tokens(auth_code)\npprint(tokens.by_resource_server)",
             [stream(pprint.pformat(by_rs, width=100) + "\n")]),
        code(4, "whoami = AuthClient(authorizer=...).userinfo()\nwhoami['sub']", [result(4, repr(ident))]),
    ]
    text = nb(cells)
    f.add(text,
          N("globus", ALCF_CLIENT, "ALCF native client id (public)", find=f'CLIENT_ID = \\"{ALCF_CLIENT}'),
          N("globus", "code_challenge=", "PKCE code challenge (public)"),
          P("globus", a1), P("globus", a2), P("globus", rf2), P("iri", a3), P("iri", rf3),
          N("globus", ident, "Globus identity id", find="'" + ident))

    f = c.f("notebooks/csm-sts-debug.ipynb", "ipynb")
    kc, kc_exp = m.csm(user="lrossi", azp="shasta")
    ak, sk, st = m.sts()
    tokresp = {"access_token": kc, "expires_in": 31536000, "refresh_expires_in": 1800, "token_type": "Bearer",
               "not-before-policy": 0, "session_state": m.uuid(), "scope": "profile email"}
    sts = {"Credentials": {"AccessKeyId": ak, "EndpointURL": "http://rgw.local:8080", "Expiration": iso(now + 3600),
                           "SecretAccessKey": sk, "SessionToken": st}}
    cells = [
        code(1, 'GW = "https://api-gw-service-nmn.local"\nr = requests.post(f"{GW}/keycloak/realms/shasta/protocol/openid-connect/token",\n'
                '                  data={"grant_type": "password", "client_id": "shasta", "username": USER, "password": getpass()})\n'
                "r.json()", [result(1, repr(tokresp))]),
        code(2, 'sts = requests.put(f"{GW}/apis/sts/token", headers={"Authorization": f"Bearer {r.json()[\'access_token\']}"})\n'
                "pprint(sts.json())", [stream(pprint.pformat(sts, width=100) + "\n")]),
    ]
    f.add(nb(cells), P("csm_keycloak", kc, **exp_of(kc_exp)),
          P("ceph_sts", ak, part="AccessKeyId"), P("ceph_sts", sk, part="SecretAccessKey"), P("ceph_sts", st, part="SessionToken"))

    # ======================================================================= R
    f = c.f("analysis/R/fetch_jobs.R", "r_script")
    pk = m.palmetto()
    f.add("library(httr2)\n"
          "library(jsonlite)\n"
          "\n"
          "# TODO move to ~/.Renviron before committing\n"
          f'Sys.setenv(PALMETTO_API_KEY = "{pk}")\n'
          'base <- "https://api.palmetto.clemson.edu/slurm/v0.0.44"\n'
          'req <- request(base) |> req_url_path_append("jobs") |> req_auth_bearer_token(Sys.getenv("PALMETTO_API_KEY"))\n'
          "jobs <- req |> req_perform() |> resp_body_json()\n"
          'key2 <- keyring::key_get("palmetto", username = "dash")\n',
          P("palmetto", pk),
          N("palmetto", 'Sys.getenv("PALMETTO_API_KEY")', "environment lookup"),
          N("palmetto", 'keyring::key_get("palmetto"', "keyring lookup"))

    f = c.f("analysis/R/.Renviron", "renviron")
    rgw3_id, rgw3_sk = m.rgw()
    gt = m.globus()
    f.add(f"AWS_ACCESS_KEY_ID={rgw3_id}\n"
          f"AWS_SECRET_ACCESS_KEY={rgw3_sk}\n"
          "AWS_S3_ENDPOINT=rgw.lab.internal:8080\n"
          "AWS_DEFAULT_REGION=\n"
          f"GLOBUS_TRANSFER_TOKEN={gt}\n"
          "R_LIBS_USER=~/R/frontier/4.4\n",
          P("s3_keypair", rgw3_sk, alt=rgw3_id), P("globus", gt))

    f = c.f("analysis/R/s3m_submit.R", "r_script")
    tok = m.s3m("BIO122")
    f.add("library(httr)\n"
          f"Sys.setenv(\"S3M_TOKEN\" = '{tok}')\n"
          "job <- list(job = list(name = \"qc\", account = \"bio122\", partition = \"batch\", script = \"#!/bin/bash\\nsrun hostname\"))\n"
          'resp <- POST("https://s3m.olcf.ornl.gov/slurm/open/v0.0.43/odo/job/submit",\n'
          '             add_headers(Authorization = Sys.getenv("S3M_TOKEN")), body = job, encode = "json")\n'
          "stop_for_status(resp)\n",
          P("s3m", tok))

    f = c.f("analysis/R/palmetto_munge.R", "r_script")
    mc = m.munge()
    f.add("# Palmetto API with MUNGE auth (cred must be made on the same host, ttl <= 5s)\n"
          'cred <- system("munge -n -t 5", intern = TRUE)\n'
          "# this is what a working one looked like when I tested from login001:\n"
          f"# {mc}\n"
          'r <- GET("https://api.palmetto.clemson.edu/slurm/latest/ping/", add_headers(Authorization = paste("MUNGE", cred)))\n',
          P("munge_cred", mc))

    f = c.f("analysis/R/renv.lock", "renv_lock")
    blk, negs = [], []
    for pkg, ver in [("curl", "5.2.1"), ("httr2", "1.0.1"), ("jsonlite", "1.8.8")]:
        h = m.hex(32)
        blk.append(f'    "{pkg}": {{\n      "Package": "{pkg}",\n      "Version": "{ver}",\n      "Source": "Repository",\n'
                   f'      "Repository": "CRAN",\n      "Hash": "{h}"\n    }}')
        negs.append(N("aws", h, "renv package hash"))
    sha = m.hex(40)
    blk.append(f'    "arrowtools": {{\n      "Package": "arrowtools",\n      "Source": "GitHub",\n      "RemoteSha": "{sha}"\n    }}')
    negs.append(N("s3m", sha, "git commit id"))
    f.add('{\n  "R": {\n    "Version": "4.4.1"\n  },\n  "Packages": {\n' + ",\n".join(blk) + "\n  }\n}", *negs)

    # ======================================================================= Julia
    f = c.f("analysis/julia/s3m_status.jl", "julia")
    tok = m.s3m()
    gt = m.globus()
    f.add("using HTTP, JSON3\n"
          "\n"
          'const S3M = "https://s3m.olcf.ornl.gov"\n'
          f'const headers = ["Authorization" => "{tok}", "Accept" => "application/json"]\n'
          "\n"
          'resp = HTTP.get("$S3M/slurm/open/v0.0.44/odo/jobs", headers)\n'
          f'ENV["GLOBUS_TRANSFER_TOKEN"] = "{gt}"\n'
          'palmetto_key = get(ENV, "PALMETTO_API_KEY", "")\n'
          'tok2 = ENV["S3M_TOKEN"]\n',
          P("s3m", tok), P("globus", gt),
          N("palmetto", 'get(ENV, "PALMETTO_API_KEY", "")', "environment lookup"),
          N("s3m", 'ENV["S3M_TOKEN"]', "environment lookup"))

    f = c.f("analysis/julia/palmetto.jl", "julia")
    pk = m.palmetto()
    rid, rsk = m.rgw()
    f.add("module PalmettoJobs\n"
          "using HTTP, AWS, AWSS3\n"
          "\n"
          f'const PALMETTO_KEY = "{pk}"\n'
          "\n"
          "jobs() = HTTP.get(\"https://api.palmetto.clemson.edu/slurm/latest/jobs\",\n"
          "                  [\"Authorization\" => \"Bearer $PALMETTO_KEY\"])\n"
          "\n"
          "struct CephConfig <: AbstractAWSConfig\n"
          "    endpoint::String\n"
          "    region::String\n"
          "    creds\n"
          "end\n"
          f'const ceph = CephConfig("http://ceph-rgw.hpc.lab.edu:7480", "", AWSCredentials("{rid}", "{rsk}"))\n'
          "end\n",
          P("palmetto", pk), P("s3_keypair", rsk, alt=rid))

    f = c.f("analysis/julia/Manifest.toml", "julia_manifest")
    blk, negs = ['# This file is machine-generated - editing it directly is not advised', "", 'julia_version = "1.11.1"',
                 f'manifest_format = "2.0"', f'project_hash = "{(ph := m.hex(40))}"'], [N("aws", ph, "project hash")]
    for name in ["HTTP", "JSON3", "AWS"]:
        gts, u = m.hex(40), m.uuid()
        blk += ["", f"[[deps.{name}]]", 'deps = ["Base64", "Dates"]', f'git-tree-sha1 = "{gts}"', f'uuid = "{u}"',
                f'version = "1.{r.randint(0, 10)}.{r.randint(0, 9)}"']
        negs += [N("s3m", gts, "git tree sha1"), N("csm_client_secret", u, "package UUID")]
    f.add("\n".join(blk), *negs)

    # ======================================================================= Go
    f = c.f("services/uploader/main.go", "go")
    tok = m.s3m("GEN044")
    aid, ask = m.aws()
    sj, sj_exp = m.slurm("svc-upload", life=86400 * 30)
    it = m.globus()
    f.add("package main\n"
          "\n"
          "import (\n"
          '\t"net/http"\n'
          '\t"os"\n'
          "\n"
          '\t"github.com/aws/aws-sdk-go-v2/credentials"\n'
          ")\n"
          "\n"
          "const (\n"
          '\ts3mBase  = "https://s3m.olcf.ornl.gov"\n'
          f'\ts3mToken = "{tok}"\n'
          ")\n"
          "\n"
          "func awsCreds() credentials.StaticCredentialsProvider {\n"
          f'\treturn credentials.NewStaticCredentialsProvider("{aid}", "{ask}", "") // us-east-2 archive bucket\n'
          "}\n"
          "\n"
          "func slurmReq(req *http.Request) {\n"
          '\treq.Header.Set("X-SLURM-USER-NAME", "svc-upload")\n'
          f'\treq.Header.Set("X-SLURM-USER-TOKEN", "{sj}")\n'
          "}\n"
          "\n"
          "func init() {\n"
          f'\tos.Setenv("ALCF_IRI_TOKEN", "{it}")\n'
          '\tpalmetto := os.Getenv("PALMETTO_API_KEY")\n'
          '\tsecret := os.Getenv("GLOBUS_CLIENT_SECRET")\n'
          "\t_, _ = palmetto, secret\n"
          "}\n",
          P("s3m", tok), P("aws", ask, alt=aid), P("slurm_jwt", sj, **exp_of(sj_exp)), P("iri", it),
          N("palmetto", 'os.Getenv("PALMETTO_API_KEY")', "environment lookup"),
          N("globus_client_secret", 'os.Getenv("GLOBUS_CLIENT_SECRET")', "environment lookup"))

    f = c.f("services/uploader/internal/stream/redis.go", "go")
    pw = m.stream_pw()
    f.add("package stream\n"
          "\n"
          "func NewClient() *redis.Client {\n"
          "\treturn redis.NewClient(&redis.Options{\n"
          f'\t\tAddr:      "{stream_host("gen044", "vcf", "redis")}:443",\n'
          '\t\tUsername:  "gen044-api",\n'
          f'\t\tPassword:  "{pw}",\n'
          "\t\tTLSConfig: &tls.Config{MinVersion: tls.VersionTLS12},\n"
          "\t})\n"
          "}\n",
          P("s3m_stream", pw))

    f = c.f("services/uploader/internal/csm/client.go", "go")
    cs = m.uuid()
    kc, kc_exp = m.csm(azp="admin-client")
    f.add("package csm\n"
          "\n"
          "var cfg = clientcredentials.Config{\n"
          '\tClientID:     "admin-client",\n'
          f'\tClientSecret: "{cs}",\n'
          '\tTokenURL:     "https://api-gw-service-nmn.local/keycloak/realms/shasta/protocol/openid-connect/token",\n'
          "}\n"
          "\n"
          "// captured from `cray auth login` on ncn-m001; valid for a year, good enough for the lab\n"
          f"var bootstrapToken = `{kc}`\n",
          P("csm_client_secret", cs), P("csm_keycloak", kc, **exp_of(kc_exp)))

    f = c.f("services/uploader/go.sum", "go_sum")
    blk, negs = [], []
    for mod, ver in [("github.com/aws/aws-sdk-go-v2", "v1.32.6"), ("github.com/redis/go-redis/v9", "v9.7.0"),
                     ("golang.org/x/oauth2", "v0.24.0")]:
        h1, h2 = m.gsecret(), m.gsecret()
        blk += [f"{mod} {ver} h1:{h1}", f"{mod} {ver}/go.mod h1:{h2}"]
        negs += [N("globus_client_secret", h1, "go.sum module hash"), N("globus_client_secret", h2, "go.sum module hash")]
    f.add("\n".join(blk), *negs)

    # ======================================================================= Rust
    f = c.f("services/ingest-rs/src/config.rs", "rust")
    pw = m.stream_pw()
    pk = m.palmetto()
    rid, rsk = m.rgw()
    f.add("use aws_sdk_s3::config::Credentials;\n"
          "\n"
          "#[derive(Debug, Clone)]\n"
          "pub struct StreamConfig {\n"
          "    pub host: String,\n"
          "    pub port: u16,\n"
          "    pub user: String,\n"
          "    pub password: String,\n"
          "}\n"
          "\n"
          "impl Default for StreamConfig {\n"
          "    fn default() -> Self {\n"
          "        Self {\n"
          f'            host: "{stream_host("bio122", "reads", "redis")}".into(),\n'
          "            port: 443,\n"
          '            user: "bio122-api".into(),\n'
          f'            password: "{pw}".into(),\n'
          "        }\n"
          "    }\n"
          "}\n"
          "\n"
          f'pub const PALMETTO_API_KEY: &str = "{pk}";\n'
          "\n"
          "pub fn rgw_credentials() -> Credentials {\n"
          "    // endpoint: http://ceph-rgw.storage.lab:8080 (path style)\n"
          f'    Credentials::new("{rid}",\n'
          f'                     "{rsk}", None, None, "static")\n'
          "}\n"
          "\n"
          "pub fn s3m_token() -> String {\n"
          '    std::env::var("S3M_TOKEN").expect("S3M_TOKEN not set")\n'
          "}\n",
          P("s3m_stream", pw), P("palmetto", pk), P("s3_keypair", rsk, alt=rid),
          N("s3m", 'std::env::var("S3M_TOKEN")', "environment lookup"))

    f = c.f("services/ingest-rs/Config.toml", "toml")
    cs = m.uuid()
    sj, sj_exp = m.slurm("svc-ingest", life=86400 * 7)
    f.add("[keycloak]\n"
          'issuer = "https://auth.cmn.hpc.lab.edu/keycloak/realms/shasta"\n'
          'client_id = "admin-client"\n'
          f'client_secret = "{cs}"\n'
          "\n"
          "[slurm]\n"
          'url = "http://slurmrestd.hpc.lab.edu:6820"\n'
          'user = "svc-ingest"\n'
          f'token = "{sj}"\n',
          P("csm_client_secret", cs), P("slurm_jwt", sj, **exp_of(sj_exp)))

    f = c.f("services/ingest-rs/Cargo.lock", "cargo_lock")
    blk, negs = ["# This file is automatically @generated by Cargo.", "version = 4"], []
    for name, ver in [("aws-sdk-s3", "1.65.0"), ("redis", "0.27.6"), ("tokio", "1.42.0")]:
        h = m.hex(64)
        blk += ["", "[[package]]", f'name = "{name}"', f'version = "{ver}"',
                'source = "registry+https://github.com/rust-lang/crates.io-index"', f'checksum = "{h}"']
        negs.append(N("s3m", h, "crate checksum"))
    f.add("\n".join(blk), *negs)

    # ======================================================================= Ansible
    f = c.f("infra/ansible/group_vars/all.yml", "ansible_vars")
    g_id, g_sec = m.uuid(), m.gsecret()
    cs = m.uuid()
    kc, kc_exp = m.csm(user="vers", azp="shasta")
    pw = m.stream_pw()
    host = stream_host("csc549", "events")
    stskey = m.s(ALNUM, 16)
    f.add("---\n"
          "palmetto_api_base: https://api.palmetto.clemson.edu\n"
          "palmetto_api_key: \"{{ vault_palmetto_api_key }}\"\n"
          f"globus_client_id: {g_id}\n"
          f"globus_client_secret: \"{g_sec}\"\n"
          "keycloak_token_url: https://api-gw-service-nmn.local/keycloak/realms/shasta/protocol/openid-connect/token\n"
          f"keycloak_admin_client_secret: {cs}\n"
          f"csm_api_token: \"{kc}\"\n"
          f"rmq_host: {host}\n"
          "rmq_user: csc549-api\n"
          f"rmq_password: {pw}\n"
          "ceph_rgw_config:\n"
          "  rgw_sts_key: " + stskey + "\n"
          "  rgw_s3_auth_use_sts: true\n"
          "slurm_jwt_key_path: /var/spool/slurm/statesave/jwt_hs256.key\n"
          "db_password: \"{{ lookup('env', 'DB_PASSWORD') }}\"\n",
          N("palmetto", "{{ vault_palmetto_api_key }}", "Ansible variable reference"),
          N("globus_client_secret", g_id, "Globus client id"),
          P("globus_client_secret", g_sec, alt=g_id),
          P("csm_client_secret", cs),
          P("csm_keycloak", kc, **exp_of(kc_exp)),
          P("s3m_stream", pw),
          P("ceph_sts", stskey, note="rgw_sts_key"))

    f = c.f("infra/ansible/group_vars/vault.yml", "ansible_vault")
    vlines = [m.hex(80) for _ in range(5)]
    f.add("palmetto_api_key: !vault |\n"
          "          $ANSIBLE_VAULT;1.1;AES256\n" + "\n".join("          " + v for v in vlines),
          N("palmetto", vlines[0], "ansible-vault ciphertext"), N("palmetto", vlines[3], "ansible-vault ciphertext"))

    f = c.f("infra/ansible/inventory/hosts.ini", "ansible_inventory")
    pk = m.palmetto()
    rid, rsk = m.rgw()
    f.add("[login]\n"
          "login01.hpc.lab.edu ansible_host=10.10.0.11\n"
          "login02.hpc.lab.edu ansible_host=10.10.0.12\n"
          "\n"
          "[dashboard]\n"
          "dash01 ansible_host=10.10.0.20\n"
          "\n"
          "[dashboard:vars]\n"
          "palmetto_url=https://api.palmetto.clemson.edu\n"
          f"palmetto_api_key={pk}\n"
          "\n"
          "[rgw]\n"
          f"rgw01 ansible_host=10.10.0.31 rgw_access_key={rid} rgw_secret_key={rsk} rgw_endpoint=http://rgw01:8080\n"
          "\n"
          "[all:vars]\n"
          "ansible_ssh_common_args='-o ProxyJump=bastion.hpc.lab.edu'\n",
          P("palmetto", pk), P("s3_keypair", rsk))

    c.binary("infra/ansible/roles/slurm/files/jwt_hs256.key", "key_file", "slurm_key", m.b(32))
    c.binary("infra/ansible/roles/munge/files/munge.key", "key_file", "munge_key", m.b(1024))
    f = c.f("infra/ansible/roles/slurm/templates/slurm.conf.j2", "slurm_conf")
    f.add("ClusterName={{ cluster_name }}\n"
          "SlurmctldHost={{ groups['ctl'][0] }}\n"
          "AuthType=auth/munge\n"
          "AuthAltTypes=auth/jwt\n"
          "AuthAltParameters=jwt_key=/var/spool/slurm/statesave/jwt_hs256.key\n"
          "StateSaveLocation=/var/spool/slurm/statesave\n",
          N("slurm_key", "AuthAltTypes=auth/jwt", "configuration, no secret"),
          N("slurm_key", "AuthAltParameters=jwt_key=/var/spool", "key path, no secret"))
    f = c.f("infra/ansible/roles/munge/tasks/main.yml", "ansible_tasks")
    f.add("- name: install munge key\n"
          "  ansible.builtin.copy:\n"
          "    src: munge.key\n"
          "    dest: /etc/munge/munge.key\n"
          "    owner: munge\n"
          "    mode: \"0400\"\n"
          "- name: check munge\n"
          "  ansible.builtin.shell: munge -n | unmunge\n"
          "  changed_when: false\n",
          N("munge_cred", "munge -n | unmunge", "command, no credential"))

    # ======================================================================= Helm
    f = c.f("infra/helm/slurm-rest/values.yaml", "helm_values")
    jk = m.b(32)
    kcard, kcard_exp = m.keycard("https://amsc-open.s3m.olcf.ornl.gov")
    pw = m.stream_pw()
    g_id, g_sec = m.uuid(), m.gsecret()
    rid, rsk = m.rgw()
    dig = m.hex(64)
    f.add("image:\n"
          "  repository: ghcr.io/lab/slurmrestd\n"
          f"  digest: sha256:{dig}\n"
          "slurmrestd:\n"
          "  env:\n"
          "    - name: SLURM_JWT\n"
          "      value: daemon\n"
          "    - name: SLURMRESTD_SECURITY\n"
          "      value: disable_unshare_files\n"
          "  # base64 of /var/spool/slurm/statesave/jwt_hs256.key\n"
          f"  jwtKey: {b64(jk)}\n"
          "munge:\n"
          "  existingSecret: munge-key\n"
          "iri:\n"
          "  baseUrl: https://amsc-open.s3m.olcf.ornl.gov/api/v1\n"
          f"  token: {kcard}\n"
          "streaming:\n"
          "  redis:\n"
          f"    host: {stream_host('bio022', 'demo', 'redis')}\n"
          "    port: 443\n"
          "    username: bio022-api\n"
          f"    password: {pw}\n"
          "globus:\n"
          f"  clientId: {g_id}\n"
          f"  clientSecret: {g_sec}\n"
          "objectStore:\n"
          "  endpoint: http://ceph-rgw.storage.svc.cluster.local:8080\n"
          f"  accessKey: {rid}\n"
          f"  secretKey: {rsk}\n"
          "palmetto:\n"
          "  apiKey:\n"
          "    valueFrom:\n"
          "      secretKeyRef: {name: palmetto-api, key: api-key}\n",
          N("slurm_key", dig, "image digest"),
          N("slurm_jwt", "value: daemon", "SLURM_JWT=daemon is a mode flag"),
          P("slurm_key", jk.hex(), find=b64(jk), encoded="base64"),
          P("iri", kcard, **exp_of(kcard_exp)),
          P("s3m_stream", pw),
          N("globus_client_secret", g_id, "Globus client id"),
          P("globus_client_secret", g_sec, alt=g_id),
          P("s3_keypair", rsk, alt=rid))

    f = c.f("infra/helm/keycloak-client/values.yaml", "helm_values")
    cs, cuuid = m.uuid(), m.uuid()
    f.add("keycloak:\n"
          "  url: https://api.nmnlb.hpc.lab.edu/keycloak\n"
          "  realm: shasta\n"
          "  clientId: admin-client\n"
          f"  clientUuid: {cuuid}   # internal id, from the admin console URL\n"
          f"  clientSecret: {cs}\n"
          "  tokenPath: /realms/shasta/protocol/openid-connect/token\n"
          "  apiKey: '{{ .Values.global.palmettoKey | b64enc }}'\n",
          N("csm_client_secret", cuuid, "Keycloak internal client UUID (not the secret)"),
          P("csm_client_secret", cs),
          N("palmetto", "{{ .Values.global.palmettoKey | b64enc }}", "Helm template"))

    # ======================================================================= docker-compose
    f = c.f("infra/compose/docker-compose.yml", "compose")
    pk = m.palmetto()
    g_id, g_sec = m.uuid(), m.gsecret()
    pw = m.stream_pw()
    aid, ask = m.aws()
    rid, rsk = m.rgw()
    dig = m.hex(64)
    f.add("services:\n"
          "  dashboard:\n"
          f"    image: ghcr.io/lab/palmetto-dash@sha256:{dig}\n"
          "    environment:\n"
          f"      - PALMETTO_TOKEN={pk}\n"
          "      - PALMETTO_API_URL=https://api.palmetto.clemson.edu\n"
          f"      - GLOBUS_CLIENT_ID={g_id}\n"
          f"      - GLOBUS_CLIENT_SECRET={g_sec}\n"
          "  worker:\n"
          "    build: ./worker\n"
          "    environment:\n"
          f'      RABBITMQ_URL: "amqps://gen044-api:{pw}@{stream_host("gen044", "jobs")}:443/%2F"\n'
          f"      AWS_ACCESS_KEY_ID: {aid}\n"
          f'      AWS_SECRET_ACCESS_KEY: "{ask}"\n'
          "      AWS_REGION: us-east-2\n"
          "      S3M_TOKEN: ${S3M_TOKEN:?set S3M_TOKEN}\n"
          "  mirror:\n"
          "    image: minio/mc:RELEASE.2024-11-21T17-21-54Z\n"
          "    environment:\n"
          f'      MC_HOST_ceph: "http://{rid}:{rsk}@ceph-rgw.lab.internal:8080"\n'
          "    command: mirror --watch /data ceph/instrument-raw\n",
          N("palmetto", dig, "image digest"),
          P("palmetto", pk),
          N("globus_client_secret", g_id, "Globus client id"),
          P("globus_client_secret", g_sec, alt=g_id),
          P("s3m_stream", pw),
          P("aws", ask, alt=aid),
          N("s3m", "${S3M_TOKEN:?set S3M_TOKEN}", "compose variable"),
          P("s3_keypair", rsk))

    # ======================================================================= systemd
    f = c.f("infra/systemd/s3m-sync.service", "systemd")
    tok = m.s3m("BIO122")
    gid, gsec = m.uuid(), m.gsecret()
    f.add("[Unit]\n"
          "Description=Nightly S3M/Globus sync\n"
          "After=network-online.target\n"
          "\n"
          "[Service]\n"
          "Type=oneshot\n"
          "User=svc-sync\n"
          f'Environment="S3M_TOKEN={tok}"\n'
          f"Environment=GLOBUS_SERVICE_API_CLIENT_ID={gid}\n"
          f"Environment=GLOBUS_SERVICE_API_CLIENT_SECRET={gsec}\n"
          "EnvironmentFile=-/etc/default/s3m-sync\n"
          "ExecStart=/opt/sync/bin/sync --enclave open\n",
          P("s3m", tok), N("globus_client_secret", gid, "Globus client id"), P("globus_client_secret", gsec, alt=gid))

    f = c.f("infra/systemd/slurmrestd.service", "systemd")
    f.add("[Service]\n"
          "Environment=SLURM_JWT=daemon\n"
          'Environment="SLURMRESTD_SECURITY=disable_user_check"\n'
          "ExecStart=/usr/sbin/slurmrestd -a rest_auth/jwt 0.0.0.0:6820\n"
          "User=slurmrestd\n",
          N("slurm_jwt", "SLURM_JWT=daemon", "slurmrestd mode flag"))

    f = c.f("infra/systemd/palmetto-exporter.service", "systemd")
    pk = m.palmetto()
    aid, ask = m.aws()
    f.add("[Unit]\n"
          "Description=Palmetto job metrics exporter\n"
          "\n"
          "[Service]\n"
          f"Environment=PALMETTO_API_KEY={pk}\n"
          f"Environment=AWS_ACCESS_KEY_ID={aid} AWS_SECRET_ACCESS_KEY={ask} AWS_DEFAULT_REGION=us-east-1\n"
          "ExecStart=/usr/local/bin/palmetto-exporter --listen :9105\n"
          "Restart=on-failure\n",
          P("palmetto", pk), P("aws", ask))

    # ======================================================================= cron / netrc / fish
    f = c.f("infra/cron/mchen.crontab", "crontab")
    sj, sj_exp = m.slurm("mchen", life=86400 * 60, expired_p=0.2)
    pk = m.palmetto()
    gt = m.globus()
    f.add("MAILTO=mchen@lab.edu\n"
          "SHELL=/bin/bash\n"
          f"SLURM_JWT={sj}\n"
          "# m h dom mon dow command\n"
          f'*/15 * * * * curl -sf -H "Authorization: Bearer {pk}" https://api.palmetto.clemson.edu/slurm/v0.0.44/jobs > $HOME/www/jobs.json\n'
          f"0 2 * * * GLOBUS_TOKEN={gt} /home/mchen/bin/nightly-transfer.sh >> /home/mchen/log/transfer.log 2>&1\n"
          "30 3 * * * SLURM_JWT=$(scontrol token lifespan=900 | cut -d= -f2) ~/bin/poll.sh\n"
          "45 3 * * * . $HOME/.s3m.env && ~/bin/s3m-status.sh\n",
          P("slurm_jwt", sj, **exp_of(sj_exp)), P("palmetto", pk), P("globus", gt),
          N("slurm_jwt", "SLURM_JWT=$(scontrol", "command substitution"))

    f = c.f("home/mchen/.netrc", "netrc")
    pk = m.palmetto()
    tok = m.s3m("BIO122")
    f.add(f"machine api.palmetto.clemson.edu login mchen password {pk}\n"
          "machine s3m.olcf.ornl.gov\n"
          "  login bio122\n"
          f"  password {tok}\n"
          "machine urs.earthdata.nasa.gov login mchen password <your-earthdata-password>\n",
          P("palmetto", pk), P("s3m", tok), N("aws", "<your-earthdata-password>", "placeholder"))

    f = c.f("home/mchen/.config/fish/config.fish", "fish")
    pk = m.palmetto()
    ak, sk, st = m.sts(old=True)
    gid, gsec = m.uuid(), m.gsecret()
    f.add("if status is-interactive\n"
          "    set -g fish_greeting\n"
          "end\n"
          "set -x S3M_TOKEN (cat ~/.config/s3m/token)\n"
          f"set -gx PALMETTO_API_KEY {pk}\n"
          "# STS creds from `cray artifacts` debugging, delete me\n"
          f"set -x AWS_ACCESS_KEY_ID {ak}\n"
          f"set -x AWS_SECRET_ACCESS_KEY {sk}\n"
          f"set -x AWS_SESSION_TOKEN {st}\n"
          "set -x AWS_ENDPOINT_URL http://rgw.local:8080\n"
          f"set -gx GLOBUS_COMPUTE_CLIENT_ID {gid}\n"
          f"set -gx GLOBUS_COMPUTE_CLIENT_SECRET '{gsec}'\n"
          "set -x PALMETTO_API_KEY_FILE ~/.config/palmetto/key\n",
          N("s3m", "(cat ~/.config/s3m/token)", "command substitution"),
          P("palmetto", pk), P("ceph_sts", ak, part="AccessKeyId"), P("ceph_sts", sk, part="SecretAccessKey"),
          P("ceph_sts", st, part="SessionToken"), N("globus_client_secret", gid, "Globus client id"),
          P("globus_client_secret", gsec, alt=gid),
          N("palmetto", "~/.config/palmetto/key", "path to a key file"))

    # ======================================================================= Windows
    f = c.f("home/apatel/Documents/setup.ps1", "powershell")
    tok = m.s3m("CLI137")
    gid, gsec = m.uuid(), m.gsecret()
    sj, sj_exp = m.slurm("apatel")
    it = m.globus()
    aid, ask = m.aws()
    kc, kc_exp = m.csm(user="apatel", azp="shasta")
    f.add("# lab workstation setup\n"
          f'$env:S3M_TOKEN = "{tok}"\n'
          f'$env:GLOBUS_CLI_CLIENT_ID = "{gid}"\n'
          f'$env:GLOBUS_CLI_CLIENT_SECRET="{gsec}"\n'
          f"$env:SLURM_JWT='{sj}'\n"
          f'$Headers = @{{ Authorization = "Bearer {it}" }}\n'
          'Invoke-RestMethod -Uri "https://api.alcf.anl.gov/api/v1/account/projects" -Headers $Headers\n'
          f"Set-AWSCredential -AccessKey {aid} -SecretKey {ask} -StoreAs lab-archive\n"
          f'$env:CRAY_TOKEN = "{kc}"\n'
          '$token = Get-Content "$HOME\\.palmetto\\key" -Raw\n'
          '$h = @{ Authorization = $env:S3M_TOKEN }\n',
          P("s3m", tok), N("globus_client_secret", gid, "Globus client id"), P("globus_client_secret", gsec, alt=gid),
          P("slurm_jwt", sj, **exp_of(sj_exp)), P("iri", it), P("aws", ask), P("csm_keycloak", kc, **exp_of(kc_exp)),
          N("s3m", "$env:S3M_TOKEN }", "variable reference"))

    f = c.f("home/apatel/bin/run_transfer.bat", "bat", crlf=True)
    gt, it = m.globus(), m.globus()
    aid, ask = m.aws()
    f.add("@echo off\n"
          "REM nightly transfer from the instrument PC\n"
          f"set GLOBUS_TOKEN={gt}\n"
          f"set IRI_API_TOKEN={it}\n"
          f"set AWS_ACCESS_KEY_ID={aid}\n"
          f"set AWS_SECRET_ACCESS_KEY={ask}\n"
          "set PALMETTO_API_KEY=%1\n"
          "set S3M_TOKEN=%S3M_TOKEN%\n"
          "python transfer.py --dest s3://lab-archive-us-east-2/instrument\n",
          P("globus", gt), P("iri", it), P("aws", ask, alt=aid),
          N("palmetto", "PALMETTO_API_KEY=%1", "batch argument"), N("s3m", "%S3M_TOKEN%", "variable reference"))

    f = c.f("home/apatel/bin/sts_env.bat", "bat", crlf=True)
    ak, sk, st = m.sts()
    f.add("@echo off\n"
          "rem output of cray artifacts / STS, valid 1h\n"
          f"set AWS_ACCESS_KEY_ID={ak}\n"
          f'set "AWS_SECRET_ACCESS_KEY={sk}"\n'
          f"set AWS_SESSION_TOKEN={st}\n"
          "aws --endpoint-url http://rgw.local:8080 s3 ls s3://boot-images\n",
          P("ceph_sts", ak, part="AccessKeyId"), P("ceph_sts", sk, part="SecretAccessKey"), P("ceph_sts", st, part="SessionToken"))

    # ======================================================================= Java-ish
    f = c.f("java/pipeline/src/main/resources/application.properties", "properties")
    pw = m.stream_pw()
    gid, gsec = m.uuid(), m.gsecret()
    cs = m.uuid()
    f.add(f"spring.rabbitmq.host={stream_host('csc549', 'pipeline')}\n"
          "spring.rabbitmq.port=443\n"
          "spring.rabbitmq.ssl.enabled=true\n"
          "spring.rabbitmq.username=csc549-api\n"
          f"spring.rabbitmq.password={pw}\n"
          f"globus.client.id={gid}\n"
          f"globus.client.secret={gsec}\n"
          "keycloak.auth-server-url=https://auth.cmn.hpc.lab.edu/keycloak\n"
          "keycloak.realm=shasta\n"
          "keycloak.resource=admin-client\n"
          f"keycloak.credentials.secret={cs}\n"
          "s3m.token=${S3M_TOKEN}\n"
          "palmetto.api.key=${PALMETTO_API_KEY:}\n",
          P("s3m_stream", pw), N("globus_client_secret", gid, "Globus client id"), P("globus_client_secret", gsec, alt=gid),
          P("csm_client_secret", cs), N("s3m", "${S3M_TOKEN}", "placeholder"), N("palmetto", "${PALMETTO_API_KEY:}", "placeholder"))

    f = c.f("java/pipeline/src/main/resources/core-site.xml", "xml")
    rid, rsk = m.rgw()
    aid, ask = m.aws()
    f.add('<?xml version="1.0"?>\n'
          "<configuration>\n"
          "  <property>\n    <name>fs.s3a.endpoint</name>\n    <value>http://ceph-rgw.storage.lab:8080</value>\n  </property>\n"
          f"  <property>\n    <name>fs.s3a.access.key</name>\n    <value>{rid}</value>\n  </property>\n"
          f"  <property>\n    <name>fs.s3a.secret.key</name>\n    <value>{rsk}</value>\n  </property>\n"
          "  <property>\n    <name>fs.s3a.bucket.era5-public.endpoint</name>\n    <value>s3.us-east-1.amazonaws.com</value>\n  </property>\n"
          f"  <property>\n    <name>fs.s3a.bucket.era5-public.access.key</name>\n    <value>{aid}</value>\n  </property>\n"
          f"  <property>\n    <name>fs.s3a.bucket.era5-public.secret.key</name>\n    <value>{ask}</value>\n  </property>\n"
          "  <property>\n    <name>fs.s3a.bucket.scratch.secret.key</name>\n    <value>${env.SCRATCH_SECRET_KEY}</value>\n  </property>\n"
          "</configuration>\n",
          P("s3_keypair", rsk, alt=rid), P("aws", ask, alt=aid), N("s3_keypair", "${env.SCRATCH_SECRET_KEY}", "placeholder"))

    f = c.f("java/pipeline/src/main/resources/broker.xml", "xml")
    pw = m.stream_pw()
    f.add('<?xml version="1.0" encoding="UTF-8"?>\n'
          "<brokers>\n"
          '  <broker id="s3m">\n'
          f"    <host>{stream_host('cli137', 'alerts')}</host>\n"
          "    <port>443</port>\n"
          "    <user>cli137-api</user>\n"
          f"    <password>{pw}</password>\n"
          "  </broker>\n"
          '  <broker id="local">\n'
          "    <host>localhost</host>\n"
          "    <password>${env.RMQ_PASSWORD}</password>\n"
          "  </broker>\n"
          "</brokers>\n",
          P("s3m_stream", pw), N("s3m_stream", "${env.RMQ_PASSWORD}", "placeholder"))

    # ======================================================================= HTTP logs (curl -v)
    f = c.f("logs/curl-s3m-introspect.log", "curl_verbose")
    tok = m.s3m("BIO122")
    rq, et = m.uuid(), m.hex(32)
    f.add("$ curl -v -H @.env https://s3m.olcf.ornl.gov/olcf/v1/token/ctls/introspect\n"
          "*   Trying 160.91.195.10:443...\n"
          "* Connected to s3m.olcf.ornl.gov (160.91.195.10) port 443\n"
          "* ALPN: curl offers h2,http/1.1\n"
          "* SSL connection using TLSv1.3 / TLS_AES_256_GCM_SHA384 / X25519 / RSASSA-PSS\n"
          "* using HTTP/2\n"
          "> GET /olcf/v1/token/ctls/introspect HTTP/2\n"
          "> Host: s3m.olcf.ornl.gov\n"
          "> user-agent: curl/8.5.0\n"
          "> accept: */*\n"
          f"> authorization: {tok}\n"
          ">\n"
          "< HTTP/2 200\n"
          "< content-type: application/json\n"
          f"< x-request-id: {rq}\n"
          f'< etag: W/"{et}"\n'
          "<\n"
          '{"token":{"username":"bio122_auser","project":"BIO122","plannedExpiration":"' + iso(now + 40 * 86400)[:-1] +
          '.000000Z","securityEnclave":"open","description":"nightly-sync","oneTimeToken":false}}\n',
          P("s3m", tok), N("s3m", rq, "request id"), N("s3m", et, "ETag"))

    f = c.f("logs/curl-palmetto.log", "curl_verbose")
    pk = m.palmetto()
    mc = m.munge()
    f.add("* Connected to api.palmetto.clemson.edu (130.127.255.20) port 443\n"
          "> GET /slurm/v0.0.44/jobs HTTP/1.1\n"
          "> Host: api.palmetto.clemson.edu\n"
          "> User-Agent: curl/7.76.1\n"
          f"> Authorization: Bearer {pk}\n"
          "> Accept: application/json\n"
          ">\n"
          "< HTTP/1.1 200 OK\n"
          "< Content-Type: application/json\n"
          "* Connection #0 to host api.palmetto.clemson.edu left intact\n"
          "* Connected to api.palmetto.clemson.edu (130.127.255.20) port 443\n"
          "> GET /slurm/v0.0.44/ping/ HTTP/1.1\n"
          "> Host: api.palmetto.clemson.edu\n"
          f"> Authorization: MUNGE {mc}\n"
          ">\n"
          "< HTTP/1.1 401 Unauthorized\n"
          '{"errors":[{"error":"credential expired"}]}\n',
          P("palmetto", pk), P("munge_cred", mc))

    f = c.f("logs/curl-slurmrestd.log", "curl_verbose")
    sj, sj_exp = m.slurm("skim")
    f.add("> GET /slurm/v0.0.43/jobs/ HTTP/1.1\n"
          "> Host: slurmrestd.hpc.lab.edu:6820\n"
          "> X-SLURM-USER-NAME: skim\n"
          f"> X-SLURM-USER-TOKEN: {sj}\n"
          ">\n"
          "< HTTP/1.1 200 OK\n"
          "> GET /slurm/v0.0.43/diag/ HTTP/1.1\n"
          "> X-SLURM-USER-TOKEN: $SLURM_JWT\n",
          P("slurm_jwt", sj, **exp_of(sj_exp)), N("slurm_jwt", "X-SLURM-USER-TOKEN: $SLURM_JWT", "unexpanded variable"))

    f = c.f("logs/curl-csm-sts.log", "curl_verbose")
    kc, kc_exp = m.csm(user="vers", azp="admin-client", iss_host="api-gw-service-nmn.local")
    ak, sk, st = m.sts()
    f.add("$ curl -v -X PUT -H \"Authorization: Bearer $TOKEN\" https://api-gw-service-nmn.local/apis/sts/token | jq .\n"
          "* Connected to api-gw-service-nmn.local (10.92.100.71) port 443\n"
          "> PUT /apis/sts/token HTTP/2\n"
          "> Host: api-gw-service-nmn.local\n"
          f"> authorization: Bearer {kc}\n"
          ">\n"
          "< HTTP/2 201\n"
          "{\n"
          '  "Credentials": {\n'
          f'    "AccessKeyId": "{ak}",\n'
          '    "EndpointURL": "http://rgw.local:8080",\n'
          f'    "Expiration": "{iso(now + 3600)}",\n'
          f'    "SecretAccessKey": "{sk}",\n'
          f'    "SessionToken": "{st}"\n'
          "  }\n"
          "}\n",
          N("csm_keycloak", 'Bearer $TOKEN"', "variable reference"),
          P("csm_keycloak", kc, **exp_of(kc_exp)), P("ceph_sts", ak, part="AccessKeyId"), P("ceph_sts", sk, part="SecretAccessKey"),
          P("ceph_sts", st, part="SessionToken"))

    f = c.f("logs/curl-globus-cc.log", "curl_verbose")
    gid, gsec = m.uuid(), m.gsecret()
    gat = m.globus()
    f.add(f"$ curl -v -u {gid}:$GLOBUS_CLIENT_SECRET -d grant_type=client_credentials \\\n"
          "    -d scope=urn:globus:auth:scope:transfer.api.globus.org:all https://auth.globus.org/v2/oauth2/token\n"
          f"* Server auth using Basic with user '{gid}'\n"
          "> POST /v2/oauth2/token HTTP/2\n"
          "> Host: auth.globus.org\n"
          f"> authorization: Basic {b64(gid + ':' + gsec)}\n"
          "> content-type: application/x-www-form-urlencoded\n"
          ">\n"
          "< HTTP/2 200\n"
          f'{{"access_token": "{gat}", "scope": "urn:globus:auth:scope:transfer.api.globus.org:all", '
          '"resource_server": "transfer.api.globus.org", "expires_in": 172800, "token_type": "Bearer", "other_tokens": []}\n',
          N("globus_client_secret", "$GLOBUS_CLIENT_SECRET", "variable reference"),
          P("globus_client_secret", gsec, find=b64(gid + ":" + gsec), encoded="base64", note="HTTP Basic client_id:secret"),
          P("globus", gat))

    # ======================================================================= HAR
    f = c.f("logs/har/dashboard-session.har", "har")
    it = m.globus()
    pk = m.palmetto()
    gat = m.globus()
    sj, sj_exp = m.slurm("jokafor", life=3600, expired_p=0.5)
    cs = m.uuid()
    kc, kc_exp = m.csm(azp="admin-client", iss_host="api.nmnlb.hpc.lab.edu")
    auth0, auth0_exp = m.generic("auth0")
    amzid = base64.b64encode(m.b(57)).decode()
    amzreq = m.s(UPPER_ALNUM, 16)
    nonce = base64.b64encode(m.b(18)).decode()
    state = m.b64u(json.dumps({"returnTo": "/dashboard/jobs"}).encode())
    ga = f"GA1.2.{r.randint(10**8, 10**9)}.{r.randint(10**9, 2 * 10**9)}"

    def entry(method, url, headers, status=200, post=None, resp_text="", resp_headers=()):
        e = {"startedDateTime": iso(now - r.randint(3600, 86400 * 5)).replace("Z", ".000Z"), "time": r.randint(40, 900),
             "request": {"method": method, "url": url, "httpVersion": "HTTP/1.1",
                         "headers": [{"name": k, "value": v} for k, v in headers], "queryString": [], "cookies": [],
                         "headersSize": -1, "bodySize": len(post or "")},
             "response": {"status": status, "statusText": "OK" if status < 300 else "Unauthorized", "httpVersion": "HTTP/1.1",
                          "headers": [{"name": k, "value": v} for k, v in resp_headers],
                          "content": {"size": len(resp_text), "mimeType": "application/json", "text": resp_text},
                          "redirectURL": "", "headersSize": -1, "bodySize": len(resp_text)},
             "cache": {}, "timings": {"send": 0, "wait": 120, "receive": 3}}
        if post is not None:
            e["request"]["postData"] = {"mimeType": "application/x-www-form-urlencoded", "text": post}
        return e

    entries = [
        entry("GET", f"https://api.alcf.anl.gov/api/v1/compute/status/{POLARIS}/8812231.polaris-pbs-01?historical=true",
              [("Accept", "application/json"), ("Authorization", f"Bearer {it}"), ("Cookie", f"_ga={ga}")]),
        entry("GET", "https://api.palmetto.clemson.edu/slurm/v0.0.44/jobs", [("Authorization", f"Bearer {pk}")],
              resp_headers=[("Content-Security-Policy", f"script-src 'nonce-{nonce}'")]),
        entry("POST", "https://auth.globus.org/v2/oauth2/token", [("Content-Type", "application/x-www-form-urlencoded")],
              post="grant_type=client_credentials&scope=urn%3Aglobus%3Aauth%3Ascope%3Atransfer.api.globus.org%3Aall",
              resp_text=json.dumps({"access_token": gat, "expires_in": 172800, "resource_server": "transfer.api.globus.org",
                                    "token_type": "Bearer", "scope": "urn:globus:auth:scope:transfer.api.globus.org:all"})),
        entry("GET", "https://slurmrestd.hpc.lab.edu:6820/slurm/v0.0.43/partitions/",
              [("X-SLURM-USER-NAME", "jokafor"), ("X-SLURM-USER-TOKEN", sj)]),
        entry("POST", "https://api.nmnlb.hpc.lab.edu/keycloak/realms/shasta/protocol/openid-connect/token",
              [("Content-Type", "application/x-www-form-urlencoded")],
              post=f"grant_type=client_credentials&client_id=admin-client&client_secret={cs}",
              resp_text=json.dumps({"access_token": kc, "expires_in": 31536000, "refresh_expires_in": 0, "token_type": "Bearer",
                                    "not-before-policy": 0, "scope": "profile email"})),
        entry("GET", "https://labdash.example.org/api/me", [("Authorization", f"Bearer {auth0}")]),
        entry("GET", "https://era5-public.s3.amazonaws.com/?list-type=2&prefix=2024%2F", [],
              resp_headers=[("x-amz-id-2", amzid), ("x-amz-request-id", amzreq)]),
        entry("GET", f"https://labdash.example.org/login/callback?state={state}", [("Authorization", "Bearer undefined")], status=401),
    ]
    har = {"log": {"version": "1.2", "creator": {"name": "Firefox", "version": "133.0"}, "pages": [], "entries": entries}}
    f.add(json.dumps(har, indent=2),
          P("iri", it), N("globus", ga, "Google Analytics cookie"), P("palmetto", pk), N("globus_client_secret", nonce, "CSP nonce"),
          P("globus", gat), P("slurm_jwt", sj, **exp_of(sj_exp)), P("csm_client_secret", cs), P("csm_keycloak", kc, **exp_of(kc_exp)),
          P("generic_jwt", auth0, **exp_of(auth0_exp)), N("aws", amzid, "S3 x-amz-id-2 response header"),
          N("aws", amzreq, "S3 request id"), N("generic_jwt", state, "OAuth state parameter (base64 JSON, not a secret)"),
          N("palmetto", "Bearer undefined", "empty value"))

    # ======================================================================= Python-repr debug log
    f = c.f("logs/requests-debug.log", "python_log")
    tok = m.s3m("CSC549")
    sj, sj_exp = m.slurm("tnguyen")
    cs = m.uuid()
    kc, kc_exp = m.csm(azp="admin-client", typ="Offline")
    pw = m.stream_pw()
    mc = m.munge()
    kcard, kcard_exp = m.keycard(["https://api.alcf.anl.gov"])
    az, az_exp = m.generic("azure")
    ts = lambda: f"2026-11-{r.randint(10, 29)} {r.randint(0, 23):02d}:{r.randint(0, 59):02d}:{r.randint(0, 59):02d},{r.randint(0, 999):03d}"
    f.add(f'{ts()} DEBUG urllib3.connectionpool https://s3m.olcf.ornl.gov:443 "GET /slurm/open/v0.0.43/defiant/jobs HTTP/1.1" 200 None\n'
          f"{ts()} DEBUG wf.client request headers={{'User-Agent': 'python-requests/2.31.0', 'Authorization': '{tok}'}}\n"
          f"{ts()} DEBUG wf.slurm headers={{'X-SLURM-USER-NAME': 'tnguyen', 'X-SLURM-USER-TOKEN': '{sj}'}}\n"
          f"{ts()} DEBUG csm.auth token request data={{'client_id': 'admin-client', 'client_secret': '{cs}', 'grant_type': 'client_credentials'}}\n"
          f"{ts()} DEBUG csm.auth token={{'access_token': '{kc}', 'expires_in': 31536000, 'refresh_expires_in': 0, 'token_type': 'Bearer'}}\n"
          f"{ts()} INFO  stream.redis connecting RedisExchangeFactory(hostname='redis-stf053-demo.streamio.s3m.olcf.ornl.gov', port=443, "
          f"username='stf053', password='{pw}')\n"
          f"{ts()} DEBUG palmetto.client headers={{'Authorization': 'MUNGE {mc}'}}\n"
          f"{ts()} DEBUG palmetto.client headers={{'Authorization': 'Bearer [REDACTED]'}}\n"
          f"{ts()} DEBUG iri.client settings={{'base_url': 'https://api.alcf.anl.gov/api/v1', 'amsc': {{'token': '{kcard}'}}}}\n"
          f"{ts()} DEBUG msal.token_cache cached={{'token_type': 'Bearer', 'access_token': '{az}'}}\n"
          f"{ts()} WARNING wf.client retrying with token=None\n",
          P("s3m", tok), P("slurm_jwt", sj, **exp_of(sj_exp)), P("csm_client_secret", cs), P("csm_keycloak", kc, note="offline token"),
          P("s3m_stream", pw), P("munge_cred", mc), N("palmetto", "[REDACTED]", "masked"),
          P("iri", kcard, **exp_of(kcard_exp)), P("generic_jwt", az, **exp_of(az_exp)))

    f = c.f("logs/slurmrestd.log", "slurmrestd_log")
    mc = m.munge()
    tok = m.s3m("STF040")
    f.add("slurmrestd: debug:  _on_headers: [[localhost]:43210] Header: Host Value: slurmrestd.hpc.lab.edu:6820\n"
          f"slurmrestd: error: _auth_header: unexpected format for Authorization header: {mc}\n"
          "slurmrestd: debug:  rest_auth/jwt: slurm_rest_auth_p_authenticate: [[localhost]:43210] attempting user_name/token authentication\n"
          f"slurmrestd: error: _auth_header: unexpected format for Authorization header: {tok}\n"
          "slurmrestd: debug:  auth/jwt: auth_p_token_generate: created token for mchen for 1800 seconds\n",
          P("munge_cred", mc), P("s3m", tok))

    f = c.f("logs/stream-gateway-access.log", "access_log")
    pw = m.stream_pw()
    it = m.globus()
    pk = m.palmetto()
    broker = f"amqps://cli137-api:{pw}@{stream_host('cli137', 'era5')}:443"
    f.add(f'10.10.4.21 - - [27/Nov/2026:10:02:11 +0000] "GET /connect?broker={urllib.parse.quote(broker, safe="")}&vhost=%2F HTTP/1.1" 200 512\n'
          f'10.10.4.22 - - [27/Nov/2026:10:04:40 +0000] "GET /proxy/alcf?url=https%3A%2F%2Fapi.alcf.anl.gov%2Fapi%2Fv1%2Ftask&access_token={it} HTTP/1.1" 200 88\n'
          f'10.10.4.22 - - [27/Nov/2026:10:05:02 +0000] "GET /proxy?target=https://api.palmetto.clemson.edu/slurm/v0.0.44/jobs&api_key={pk} HTTP/1.1" 200 2048\n'
          f'10.10.4.23 - - [27/Nov/2026:10:06:13 +0000] "GET /status?host=rmq-cli137-api-era5.io.s3m-streams.apps.olivine.ccs.ornl.gov HTTP/1.1" 200 12\n',
          P("s3m_stream", pw), P("iri", it), P("palmetto", pk),
          N("s3m_stream", "host=rmq-cli137-api-era5.io", "streaming host without credentials"))

    # ======================================================================= notes / pastes
    f = c.f("notes/slack-export/infra-help-2026-11-18.txt", "slack_paste")
    tok = m.s3m("CSC549")
    sj, sj_exp = m.slurm("mchen", life=1800, expired_p=0.9)
    it = m.globus()
    mc = m.munge()
    aid, ask = m.aws()
    gl, gl_exp = m.generic("keycloak")
    f.add("#infra-help — exported 2026-11-18\n"
          "[10:14] mchen: can someone check why odo submits fail? 401 every time\n"
          "[10:15] mchen: here's exactly what I'm sending\n"
          f'[10:15] mchen: ```curl -H "Authorization: {tok}" https://s3m.olcf.ornl.gov/slurm/open/v0.0.43/odo/ping```\n'
          "[10:20] skim: please don't paste tokens in here 🙃 revoke it in myOLCF\n"
          f"[10:21] mchen: the slurm one is short lived anyway {sj}\n"
          f"[11:02] jokafor: NERSC_IRI_API_TOKEN={it}\n"
          "[11:03] jokafor: oops, wrong window\n"
          f"[11:30] lrossi: munge cred from login001 if you want to try the palmetto endpoint: {mc}\n"
          f"[11:31] skim: keys for the public era5 mirror: {aid} / {ask}\n"
          f"[11:32] skim: (the docs pair {AWS_EX_ID} won't work, obviously)\n"
          f"[11:40] lrossi: jupyterhub token for the keycloak realm test: {gl}\n"
          "[11:41] tnguyen: ok where do I put PALMETTO_API_KEY? in the .env or in vault?\n",
          P("s3m", tok), P("slurm_jwt", sj, **exp_of(sj_exp)), P("iri", it), P("munge_cred", mc), P("aws", ask, alt=aid),
          N("aws", AWS_EX_ID, "AWS documentation example"), P("generic_jwt", gl, **exp_of(gl_exp)))

    f = c.f("notes/email/re-csm-tenant-access.eml", "email")
    cs = m.uuid()
    kc, _ = m.csm(user="tnguyen", azp="shasta", typ="Offline")
    gr = m.globus()
    bh = m.gsecret()
    bsig = base64.b64encode(m.b(256)).decode()
    msgid = m.uuid()
    f.add("Return-Path: <hpc-admin@lab.edu>\n"
          f"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=lab.edu; s=sel1; t={now - 86400 * 3};\n"
          f"\th=from:to:subject:date:message-id; bh={bh};\n"
          f"\tb={bsig[:72]}\n"
          f"\t {bsig[72:144]}\n"
          f"Message-ID: <{msgid}@mail.lab.edu>\n"
          "From: HPC Admin <hpc-admin@lab.edu>\n"
          "To: Tam Nguyen <tnguyen@lab.edu>\n"
          "Subject: Re: CSM tenant access for the bio project\n"
          'Content-Type: text/plain; charset="utf-8"\n'
          "\n"
          "Hi Tam,\n"
          "\n"
          "The admin client for the new tenant:\n"
          "  client id:     admin-client\n"
          f"  client secret: {cs}\n"
          "Token endpoint: https://api-gw-service-nmn.local/keycloak/realms/shasta/protocol/openid-connect/token\n"
          "\n"
          "And here is the offline token you asked for (it does not expire, keep it safe):\n"
          f"{kc}\n"
          "\n"
          "> On Mon, Nov 23, 2026 at 9:12 AM Tam Nguyen wrote:\n"
          f"> my globus refresh token (from ~/.globus) is {gr} if you need to test transfers\n",
          N("globus_client_secret", bh, "DKIM body hash"), N("aws", bsig[:72], "DKIM signature (public)"),
          N("csm_client_secret", msgid, "Message-ID"), P("csm_client_secret", cs),
          P("csm_keycloak", kc, note="offline token"), P("globus", gr))

    f = c.f("notes/meeting-notes.md", "markdown")
    ak, sk, st = m.sts()
    sts_key = m.s(ALNUM, 16)
    frag = m.b64u(json.dumps({"alg": "RS256", "typ": "JWT"}).encode()) + "." + m.b64u(json.dumps({"type": "opat", "aud": ["api.olcf.ornl.gov"]}).encode())
    f.add("## 2026-11-12 infra sync\n"
          "\n"
          "- rotated the RGW key for the `genomics` user; new secret is in vault (`secret/rgw/genomics`)\n"
          "- STS creds for the CI runner (expire after 1 h, pasted for debugging):\n"
          "\n"
          "  | field | value |\n"
          "  |---|---|\n"
          f"  | AccessKeyId | `{ak}` |\n"
          f"  | SecretAccessKey | `{sk}` |\n"
          f"  | SessionToken | `{st}` |\n"
          "  | EndpointURL | http://rgw.local:8080 |\n"
          "\n"
          f"- test cluster: `ceph config set client.rgw rgw_sts_key {sts_key}` (prod one is different)\n"
          "- docs example header is `Authorization: eyJhbGc...` — do not copy it literally\n"
          f"- Hank's token decoded (signature cut): `{frag}`\n"
          "- onboarding: `export S3M_TOKEN=<paste token from myOLCF>`\n",
          P("ceph_sts", ak, part="AccessKeyId"), P("ceph_sts", sk, part="SecretAccessKey"), P("ceph_sts", st, part="SessionToken"),
          P("ceph_sts", sts_key, note="rgw_sts_key"),
          N("s3m", "eyJhbGc...", "documentation placeholder"),
          N("s3m", frag, "header and payload only, signature removed (not usable)"),
          N("s3m", "<paste token from myOLCF>", "placeholder"))

    f = c.f("notes/onboarding.md", "markdown")
    sha256s = [m.hex(64) for _ in range(2)]
    f.add("# Onboarding: HPC credentials\n"
          "\n"
          "```bash\n"
          "export S3M_TOKEN=<paste token from myOLCF>\n"
          'export PALMETTO_API_KEY="your-api-key-here"\n'
          "export GLOBUS_CLIENT_SECRET=${GLOBUS_CLIENT_SECRET}\n"
          "export SLURM_JWT=daemon   # only for slurmrestd itself\n"
          'curl -H "Authorization: MUNGE $(munge -n -t 5)" https://api.palmetto.clemson.edu/slurm/latest/ping/\n'
          "```\n"
          "\n"
          "AWS CLI profile (example values from the AWS docs):\n"
          "\n"
          "```ini\n"
          "[archive]\n"
          f"aws_access_key_id = {AWS_EX_ID}\n"
          f"aws_secret_access_key = {AWS_EX_SK}\n"
          "```\n"
          "\n"
          "Streaming URL shape: `amqps://<user>:<password>@rmq-<project>-<name>.io.s3m-streams.apps.olivine.ccs.ornl.gov:443`\n"
          "\n"
          f"- IRI resource server: `{IRI_RS}`, session policy `{POLICY}`\n"
          f"- Polaris resource id: `{POLARIS}`; NERSC RS `{NERSC_RS}`\n"
          f"- ALCF native client id `{ALCF_CLIENT}` (public, not a secret)\n"
          f"- a Globus token looks like `Ag{'X' * 92}`\n"
          f"- jwt.io example (never valid here): `{JWTIO}`\n"
          "- Slurm config: `AuthAltTypes=auth/jwt` and `AuthAltParameters=jwt_key=/var/spool/slurm/jwt_hs256.key`\n"
          f"- CSM docs example secret: `client_secret=00000000-0000-0000-0000-000000000000`\n"
          "- Python: `token = tokens.by_resource_server[\"transfer.api.globus.org\"][\"access_token\"]`\n"
          "\n"
          "Release checksums:\n"
          "\n"
          f"    {sha256s[0]}  s3m-cli_linux_amd64.tar.gz\n"
          f"    {sha256s[1]}  s3m-cli_darwin_arm64.tar.gz\n",
          N("s3m", "<paste token from myOLCF>", "placeholder"),
          N("palmetto", "your-api-key-here", "placeholder"),
          N("globus_client_secret", "${GLOBUS_CLIENT_SECRET}", "placeholder"),
          N("slurm_jwt", "SLURM_JWT=daemon", "slurmrestd mode flag"),
          N("munge_cred", "MUNGE $(munge -n -t 5)", "command substitution"),
          N("aws", AWS_EX_ID, "AWS documentation example"),
          N("aws", AWS_EX_SK, "AWS documentation example"),
          N("s3m_stream", "amqps://<user>:<password>@", "placeholder"),
          N("iri", IRI_RS, "public resource server id"),
          N("iri", POLARIS, "public resource id"),
          N("iri", ALCF_CLIENT, "public client id"),
          N("globus", "Ag" + "X" * 92, "placeholder"),
          N("generic_jwt", JWTIO, "jwt.io documentation example"),
          N("slurm_key", "AuthAltParameters=jwt_key=", "key path, no secret"),
          N("csm_client_secret", "00000000-0000-0000-0000-000000000000", "placeholder UUID"),
          N("globus", 'by_resource_server[\\"transfer', "lookup expression", find='by_resource_server["transfer'),
          N("s3m", sha256s[0], "release checksum"),
          N("s3m", sha256s[1], "release checksum"))

    # ======================================================================= CSV / TSV exports
    f = c.f("exports/radosgw-users.csv", "csv")
    rid, rsk = m.rgw()
    f.add("uid,display_name,access_key,secret_key,max_buckets,suspended\n"
          f"genomics,Genomics Lab,{rid},{rsk},1000,false\n"
          "climate,Climate ML,,,1000,true\n",
          P("s3_keypair", rsk))

    f = c.f("exports/ci-uploader_credentials.csv", "csv")
    aid, ask = m.aws()
    acct = "".join(r.choice(string.digits) for _ in range(12))
    f.add("User name,Password,Access key ID,Secret access key,Console login link\n"
          f"ci-uploader,,{aid},{ask},https://{acct}.signin.aws.amazon.com/console\n",
          P("aws", ask))

    f = c.f("exports/palmetto-audit.csv", "csv")
    mc = m.munge()
    f.add("timestamp,client_ip,method,path,status,authorization\n"
          f"2026-11-20T14:01:22Z,130.127.48.10,GET,/slurm/v0.0.44/jobs,200,\"MUNGE {mc}\"\n"
          "2026-11-20T14:01:30Z,130.127.48.10,GET,/slurm/v0.0.44/nodes,200,Bearer ****************\n"
          "2026-11-20T14:02:02Z,130.127.48.11,GET,/slurm/v0.0.44/ping/,401,\n",
          P("munge_cred", mc), N("palmetto", "Bearer ****************", "masked"))

    f = c.f("exports/globus_token_backup.tsv", "tsv")
    a1, a2 = m.globus(), m.globus()
    idn = m.uuid()
    f.add("identity_id\tresource_server\taccess_token\texpires_at_seconds\n"
          f"{idn}\ttransfer.api.globus.org\t{a1}\t{now + 100000}\n"
          f"{idn}\t{IRI_RS}\t{a2}\t{now + 100000}\n"
          f"{idn}\tauth.globus.org\t\t0\n",
          P("globus", a1), P("iri", a2), N("globus", idn + "\tauth", "identity id", find=idn + "\tauth"))

    f = c.f("exports/job-env-dump.tsv", "tsv")
    it = m.globus()
    f.add("job_id\tkey\tvalue\n"
          "8812231\tOMP_NUM_THREADS\t8\n"
          f"8812231\tIRI_TOKEN_NERSC\t{it}\n"
          "8812231\tSLURM_JWT\tdaemon\n"
          f"8812231\tSLURM_JOB_ID\t8812231\n",
          P("iri", it), N("slurm_jwt", "SLURM_JWT\tdaemon", "mode flag"))

    # ======================================================================= kubectl -o yaml
    f = c.f("k8s/kubectl-get-secret-admin-client-auth.yaml", "kubectl_yaml")
    cs = m.uuid()
    kuid = m.uuid()
    f.add("apiVersion: v1\n"
          "data:\n"
          f"  client-id: {b64('admin-client')}\n"
          f"  client-secret: {b64(cs)}\n"
          f"  endpoint: {b64('https://api-gw-service-nmn.local/keycloak/realms/shasta/protocol/openid-connect/token')}\n"
          "kind: Secret\n"
          "metadata:\n"
          '  creationTimestamp: "2026-09-14T18:22:05Z"\n'
          "  name: admin-client-auth\n"
          "  namespace: default\n"
          '  resourceVersion: "48211"\n'
          f"  uid: {kuid}\n"
          "type: Opaque\n",
          N("csm_client_secret", "admin-client", "client id (not secret)", find=b64("admin-client")),
          P("csm_client_secret", cs, find=b64(cs), encoded="base64"),
          N("csm_client_secret", kuid, "Kubernetes object uid"))

    f = c.f("k8s/kubectl-get-secrets-slurm.yaml", "kubectl_yaml")
    tok = m.s3m("GEN044")
    mk = m.b(128)
    jk2 = m.b(64)
    f.add("apiVersion: v1\n"
          "items:\n"
          "- apiVersion: v1\n"
          "  data:\n"
          f"    token: {b64(tok)}\n"
          "  kind: Secret\n"
          "  metadata:\n"
          "    name: s3m-opat\n"
          "    namespace: wf\n"
          "  type: Opaque\n"
          "- apiVersion: v1\n"
          "  data:\n"
          f"    munge.key: {b64(mk)}\n"
          "  kind: Secret\n"
          "  metadata:\n"
          "    name: munge-key\n"
          "    namespace: slurm\n"
          "  type: Opaque\n"
          "- apiVersion: v1\n"
          "  data:\n"
          f"    jwt_hs256.key: {b64(jk2)}\n"
          "  kind: Secret\n"
          "  metadata:\n"
          "    name: slurm-jwt-key\n"
          "    namespace: slurm\n"
          "  type: Opaque\n"
          "kind: List\n"
          "metadata:\n"
          '  resourceVersion: ""\n',
          P("s3m", tok, find=b64(tok), encoded="base64"),
          P("munge_key", mk.hex(), find=b64(mk), encoded="base64"),
          P("slurm_key", jk2.hex(), find=b64(jk2), encoded="base64"))

    # ======================================================================= key files
    c.binary("cluster-backup/2026-10-01/var/spool/slurmctld/jwt_hs256.key", "key_file", "slurm_key", m.b(32))
    c.binary("cluster-backup/2026-10-01/etc/munge/munge.key", "key_file", "munge_key", m.b(128))
    c.binary("containers/slurm-dev/munge.key", "key_file", "munge_key", m.b(1024))
    c.binary("containers/slurm-dev/etc/slurm/jwt.key", "key_file", "slurm_key", m.b(32), note="referenced by slurm.conf jwt_key=")
    f = c.f("containers/slurm-dev/etc/slurm/slurm.conf", "slurm_conf")
    f.add("ClusterName=dev\n"
          "SlurmctldHost=slurmctld\n"
          "AuthType=auth/munge\n"
          "AuthAltTypes=auth/jwt\n"
          "AuthAltParameters=jwt_key=/etc/slurm/jwt.key\n",
          N("slurm_key", "AuthAltParameters=jwt_key=/etc/slurm/jwt.key", "key path, no secret"))
    f = c.f("containers/slurm-dev/Dockerfile", "dockerfile")
    f.add("FROM rockylinux:9\n"
          "RUN dnf -y install munge slurm-slurmctld slurm-slurmrestd && dnf clean all\n"
          "COPY munge.key /etc/munge/munge.key\n"
          "COPY etc/slurm/ /etc/slurm/\n"
          "ENV SLURM_JWT=daemon\n",
          N("slurm_jwt", "SLURM_JWT=daemon", "slurmrestd mode flag"))
    c.binary("ops/keys/munge.key.bak", "key_file", "munge_key", m.b(128))
    c.binary("ops/keys/jwt_hs256.key.2025", "key_file", "slurm_key", m.b(32), note="rotated-out key kept with a suffix")
    mk = m.b(1024)
    f = c.f("secrets/munge.key.b64", "b64_key")
    enc = b64(mk)
    f.add("\n".join(enc[i:i + 76] for i in range(0, len(enc), 76)),
          P("munge_key", mk.hex(), find=enc[:76], encoded="base64", note="base64 wrapped at 76 columns"))

    # ======================================================================= extra hard-negative files
    f = c.f("web/package-lock.json", "lockfile")
    deps, negs = [], []
    for name, ver in [("axios", "1.7.9"), ("jwt-decode", "4.0.0"), ("oidc-client-ts", "3.1.0"), ("@globus/sdk", "3.4.0"),
                      ("chart.js", "4.4.7")]:
        integ = "sha512-" + base64.b64encode(m.b(64)).decode()
        deps.append(f'    "node_modules/{name}": {{\n      "version": "{ver}",\n'
                    f'      "resolved": "https://registry.npmjs.org/{name}/-/{name.split("/")[-1]}-{ver}.tgz",\n'
                    f'      "integrity": "{integ}"\n    }}')
        negs.append(N("globus_client_secret", integ, "npm integrity hash"))
    f.add('{\n  "name": "lab-dashboard",\n  "lockfileVersion": 3,\n  "packages": {\n' + ",\n".join(deps) + "\n  }\n}", *negs)

    f = c.f("web/requirements.txt", "requirements")
    blk, negs = [], []
    for pkg in ["globus-sdk==3.49.0", "requests==2.32.3", "boto3==1.35.76", "pyjwt==2.10.1"]:
        h = m.hex(64)
        blk.append(f"{pkg} \\\n    --hash=sha256:{h}")
        negs.append(N("s3m", h, "pip hash"))
    f.add("\n".join(blk), *negs)

    f = c.f("CHANGELOG.md", "changelog")
    shas = [m.hex(40) for _ in range(4)]
    f.add("# Changelog\n\n## 0.4.1\n"
          f"- fix S3M token refresh when the enclave changes ({shas[0][:7]}, {shas[0]})\n"
          f"- Palmetto client: honour `PALMETTO_API_KEY` from the environment ({shas[1]})\n"
          f"- drop hard-coded Globus client secret from examples ({shas[2]})\n"
          f"- slurmrestd: send `X-SLURM-USER-TOKEN` only when SLURM_JWT is set ({shas[3]})\n",
          *[N("s3m", s, "git commit id") for s in shas])

    f = c.f(".pre-commit-config.yaml", "precommit")
    revs = [m.hex(40) for _ in range(3)]
    f.add("repos:\n"
          f"- repo: https://github.com/pre-commit/pre-commit-hooks\n  rev: {revs[0]}  # frozen: v5.0.0\n"
          "  hooks:\n  - id: detect-private-key\n"
          f"- repo: https://github.com/astral-sh/ruff-pre-commit\n  rev: {revs[1]}  # frozen: v0.8.2\n"
          "  hooks:\n  - id: ruff\n"
          f"- repo: https://github.com/snakemake/snakefmt\n  rev: {revs[2]}  # frozen: v0.10.2\n"
          "  hooks:\n  - id: snakefmt\n",
          *[N("s3m", s, "pinned git revision") for s in revs])

    f = c.f("home/mchen/.ssh/known_hosts", "known_hosts")
    k1 = "AAAAC3NzaC1lZDI1NTE5AAAAI" + base64.b64encode(m.b(32)).decode()[:43]
    k2 = "AAAAB3NzaC1yc2EAAAADAQABAAABgQ" + base64.b64encode(m.b(300)).decode()
    f.add(f"login.frontier.olcf.ornl.gov ssh-ed25519 {k1}\n"
          f"slogin.palmetto.clemson.edu ssh-rsa {k2}\n",
          N("aws", k1, "SSH host public key"), N("aws", k2[:60], "SSH host public key", find=k2[:60]))

    f = c.f("notebooks/outputs/job_summary.csv", "csv")
    rows, negs = ["job_uuid,job_id,user,state,elapsed_s,output_sha1"], []
    for i in range(4):
        u, h = m.uuid(), m.hex(40)
        rows.append(f"{u},{2214800 + i},{pick(['mchen', 'lrossi', 'tnguyen'])},COMPLETED,{r.randint(60, 9000)},{h}")
        negs += [N("csm_client_secret", u, "job UUID"), N("s3m", h, "output checksum")]
    f.add("\n".join(rows), *negs)

    f = c.f("notes/globus-collections.md", "markdown")
    ids = [m.uuid() for _ in range(4)]
    f.add("# Globus collections we use\n\n| name | collection id |\n|---|---|\n"
          f"| ALCF Eagle | `{ids[0]}` |\n| OLCF DTN (Orion) | `{ids[1]}` |\n| NERSC DTN | `{ids[2]}` |\n| Lab Ceph gateway | `{ids[3]}` |\n"
          "\nTransfer with `globus transfer $SRC:/path $DST:/path --label nightly` — the token comes from `globus login`, "
          "never put `GLOBUS_TRANSFER_TOKEN=` in scripts.\n"
          "Confidential client for the portal: id in `portal/settings.py`, secret via `os.environ['GLOBUS_CLIENT_SECRET']`.\n",
          *[N("globus", u, "Globus collection id (public)") for u in ids],
          N("globus", "GLOBUS_TRANSFER_TOKEN=", "variable name only"),
          N("globus_client_secret", "os.environ['GLOBUS_CLIENT_SECRET']", "environment lookup"))

    f = c.f("portal/settings.py", "python")
    gid = m.uuid()
    secret_key_hash = m.hex(64)
    f.add("import os\n"
          f'GLOBUS_CLIENT_ID = "{gid}"\n'
          'GLOBUS_CLIENT_SECRET = os.environ["GLOBUS_CLIENT_SECRET"]\n'
          "S3M_TOKEN = os.getenv('S3M_TOKEN', '')\n"
          "PALMETTO_API_KEY = settings_from_vault('palmetto/api_key')\n"
          "SLURM_JWT = None\n"
          f"PALMETTO_API_KEY_SHA256 = \"{secret_key_hash}\"  # to verify the key we load, not the key itself\n"
          'CSM_CLIENT_SECRET = "********"\n'
          'AWS_SECRET_ACCESS_KEY = ""\n'
          'RGW_SECRET_KEY = "REDACTED"\n'
          "GLOBUS_REFRESH_TOKEN_EXPIRES = 604800\n",
          N("globus_client_secret", gid, "Globus client id"),
          N("globus_client_secret", 'os.environ["GLOBUS_CLIENT_SECRET"]', "environment lookup"),
          N("s3m", "os.getenv('S3M_TOKEN', '')", "environment lookup"),
          N("palmetto", "settings_from_vault('palmetto/api_key')", "function call"),
          N("palmetto", secret_key_hash, "hash of the key, not the key"),
          N("csm_client_secret", '"********"', "masked"),
          N("s3_keypair", '"REDACTED"', "masked"))

    f = c.f("notes/slurm-howto.md", "markdown")
    f.add("# Using slurmrestd from scripts\n\n"
          "```bash\n"
          "$ scontrol token lifespan=3600\n"
          "SLURM_JWT=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJleHAiOjE3MDAwMDAwMDAsImlhdCI6MTcwMDAwMDAwMCwic3VuIjoiPHVzZXI-In0.<signature>\n"
          "$ export $(scontrol token)\n"
          'curl -H "X-SLURM-USER-NAME: $USER" -H "X-SLURM-USER-TOKEN: $SLURM_JWT" http://slurmrestd:6820/slurm/v0.0.43/ping/\n'
          "```\n\n"
          "The key lives in `StateSaveLocation/jwt_hs256.key` (32 random bytes, mode 0600).\n"
          "Never copy `/etc/munge/munge.key` anywhere else; check it with `munge -n | unmunge`.\n"
          "MUNGE credentials look like `MUNGE:<base64>:` and expire after 300 s.\n",
          N("slurm_jwt", "<signature>", "truncated documentation example (no signature)"),
          N("slurm_jwt", "X-SLURM-USER-TOKEN: $SLURM_JWT", "variable reference"),
          N("munge_cred", "MUNGE:<base64>:", "placeholder"))

    f = c.f("analysis/R/s3_public.R", "r_script")
    f.add("library(aws.s3)\n"
          f'Sys.setenv("AWS_ACCESS_KEY_ID" = "AKIAI44QH8DHBEXAMPLE",\n'
          f'           "AWS_SECRET_ACCESS_KEY" = "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY")  # from the AWS docs\n'
          'Sys.setenv(AWS_SECRET_ACCESS_KEY = "AKIAXXXXXXXXXXXXXXXX")\n'
          'b <- get_bucket("era5-public", region = "us-east-1")\n',
          N("aws", "AKIAI44QH8DHBEXAMPLE", "AWS documentation example"),
          N("aws", "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY", "AWS documentation example"),
          N("aws", "AKIAXXXXXXXXXXXXXXXX", "placeholder"))

    f = c.f("notebooks/iri-smoke.ipynb", "ipynb")
    jti = m.uuid()
    task = m.uuid()
    mask = m.globus()[:8]
    cells = [
        code(1, 'import os\nTOKEN = os.environ.get("ALCF_IRI_TOKEN") or open(os.path.expanduser("~/.iri_token_alcf.json")).read()\n'
                'print("token:", TOKEN[:8] + "…")', [stream(f"token: {mask}…\n")]),
        code(2, 'r = requests.get("https://api.alcf.anl.gov/api/v1/task/not-a-real-task", headers={"Authorization": f"Bearer {TOKEN}"})\n'
                "r.status_code, r.json()", [result(2, "(404, {'detail': 'Task not found'})")]),
        code(3, "task = fs.ls(POLARIS, path='/eagle/lab')\ntask.id", [result(3, repr(task))]),
        code(4, "introspect(token)['jti']", [result(4, repr(jti))]),
    ]
    f.add(nb(cells), N("iri", mask + "…", "truncated for display"), N("iri", task, "task id", find="'" + task),
          N("s3m", jti, "token id (jti) is not the token", find="'" + jti))

    f = c.f("infra/helm/iri-proxy/values.yaml", "helm_values")
    f.add("env:\n"
          "  - name: ALCF_IRI_TOKEN\n"
          "    valueFrom:\n"
          "      secretKeyRef:\n"
          "        name: iri-token\n"
          "        key: token\n"
          "  - name: GLOBUS_CLIENT_SECRET\n"
          '    value: "{{ .Values.globus.clientSecret }}"\n'
          "  - name: RMQ_URL\n"
          "    value: amqps://cli137-api:$(RMQ_PASSWORD)@rmq-cli137-api-era5.io.s3m-streams.apps.olivine.ccs.ornl.gov:443\n"
          "  - name: PALMETTO_API_KEY\n"
          "    value: changeme\n",
          N("globus_client_secret", "{{ .Values.globus.clientSecret }}", "Helm template"),
          N("s3m_stream", "$(RMQ_PASSWORD)", "Kubernetes variable reference"),
          N("palmetto", "value: changeme", "placeholder"))

    f = c.f("infra/ansible/group_vars/rgw.yml", "ansible_vars")
    f.add("rgw_endpoint: http://ceph-rgw.storage.lab:8080\n"
          "rgw_access_key: \"{{ lookup('community.hashi_vault.hashi_vault', 'secret=rgw/genomics:access_key') }}\"\n"
          "rgw_secret_key: \"{{ lookup('community.hashi_vault.hashi_vault', 'secret=rgw/genomics:secret_key') }}\"\n"
          "rgw_sts_key: \"{{ vault_rgw_sts_key }}\"\n"
          "munge_key_b64: \"{{ lookup('file', 'files/munge.key') | b64encode }}\"\n",
          N("s3_keypair", "secret=rgw/genomics:secret_key", "vault lookup"),
          N("ceph_sts", "{{ vault_rgw_sts_key }}", "variable reference"),
          N("munge_key", "lookup('file', 'files/munge.key') | b64encode", "template expression"))

    f = c.f("infra/compose/.env.example", "dotenv_example")
    f.add("# copy to .env and fill in\n"
          "PALMETTO_TOKEN=\n"
          f"GLOBUS_CLIENT_SECRET={'x' * 43}=\n"
          "S3M_TOKEN=eyJ...\n"
          "AWS_SECRET_ACCESS_KEY=<secret>\n"
          "MUNGE_KEY=/etc/munge/munge.key\n"
          "RABBITMQ_URL=amqps://user:password@rmq-proj-api-name.io.s3m-streams.apps.olivine.ccs.ornl.gov:443\n"
          "CSM_CLIENT_SECRET=12345678-1234-1234-1234-123456789abc\n",
          N("palmetto", "PALMETTO_TOKEN=", "empty value"),
          N("globus_client_secret", "x" * 43 + "=", "placeholder"),
          N("s3m", "S3M_TOKEN=eyJ...", "placeholder"),
          N("aws", "<secret>", "placeholder"),
          N("munge_key", "MUNGE_KEY=/etc/munge/munge.key", "path"),
          N("s3m_stream", "user:password@", "placeholder"),
          N("csm_client_secret", "12345678-1234-1234-1234-123456789abc", "placeholder UUID"))

    f = c.f("logs/transfer-nightly.log", "app_log")
    tids = [m.uuid() for _ in range(3)]
    f.add(f"2026-11-30 02:00:01 INFO  submitted transfer task {tids[0]} (label=nightly)\n"
          f"2026-11-30 02:00:01 INFO  using token Ag****************** (expires in 47h)\n"
          f"2026-11-30 02:14:40 INFO  task {tids[0]} SUCCEEDED, 1288 files\n"
          f"2026-11-30 02:15:02 INFO  submitted transfer task {tids[1]} (label=nightly-2)\n"
          f"2026-11-30 02:15:03 WARN  S3M_TOKEN not set, skipping OLCF push\n"
          f"2026-11-30 02:16:10 INFO  task {tids[2]} queued; refresh_token=<redacted>\n",
          N("globus", tids[0], "transfer task id", find=f"task {tids[0]} (label"), N("globus", "Ag******************", "masked"),
          N("globus", tids[1], "transfer task id"), N("globus", "refresh_token=<redacted>", "masked"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--now", help="YYYY-MM-DD (default: today 00:00 UTC)")
    ap.add_argument("--force", action="store_true", help="replace OUT if it exists")
    a = ap.parse_args()
    out = os.path.abspath(a.out)
    if os.path.exists(out):
        if not a.force and os.listdir(out):
            raise SystemExit(f"{out} exists and is not empty (use --force)")
        shutil.rmtree(out)
    parent = os.path.dirname(out)
    probe = subprocess.run(["git", "-C", parent, "rev-parse", "--is-inside-work-tree"], capture_output=True, text=True) \
        if shutil.which("git") and os.path.isdir(parent) else None
    if probe is not None and probe.stdout.strip() == "true":
        raise SystemExit(f"{out} is inside a git work tree; pick another OUT")
    if a.now:
        now_dt = datetime.datetime.strptime(a.now, "%Y-%m-%d").replace(tzinfo=datetime.timezone.utc)
    else:
        now_dt = datetime.datetime.now(datetime.timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    now = int(now_dt.timestamp())
    os.makedirs(os.path.join(out, "tree"))
    c = Corpus(out, random.Random(a.seed), now)
    build(c)
    c.write()
    pos = [l for l in c.labels if not l["negative"]]
    kinds = {}
    for l in pos:
        kinds[l["kind"]] = kinds.get(l["kind"], 0) + 1
    print(f"{out}: {len(c.files) + len(c.binaries)} files, {len(pos)} positives, {len(c.labels) - len(pos)} negatives; "
          + ", ".join(f"{k}={v}" for k, v in sorted(kinds.items())), file=sys.stderr)


if __name__ == "__main__":
    main()
