#!/usr/bin/env python3
"""Held-out labelled corpus for tokenwarden's *hygiene* checks.

    hygiene_holdout.py OUT --seed N [--force]

Writes OUT/tree/ (a plain directory tree: a research group's shared area on an HPC login
node) and OUT/hygiene-labels.jsonl, one JSON object per line:

    {"check": "<check id>", "path": "<path relative to OUT/tree>", "line": <int or null>,
     "where": "tree", "note": "<why>"}

in the format bench/detection/hygiene_score.py reads.

Written independently of the scanner (src/, rules/, tests/) and of gen.py; only
shared/FACILITIES.md (token formats, endpoints) and holdout.py's token minting were used.
The labelling contract is the check definitions below; everything that is not labelled is
meant to be free of those problems (hard negatives included on purpose):

  hygiene.token_on_command_line   a credential (literal, or a variable / command substitution
        holding one) in the argv of curl / wget / httpie / xh as an auth header, -u user:pass,
        --oauth2-bearer, credential-named form field or ?access_token= query; S3 secrets on
        the command line of aws configure set / s3cmd / rclone config create / mc alias set;
        redis-cli -a / -u URL with password. Line = first line of the command. Exempt: the
        Palmetto `Authorization: MUNGE $(munge -n -t N)` form with N <= 60, headers read from
        a file, non-credential headers. Never labelled in Markdown.
  hygiene.token_exported          export/declare -x/typeset -x/setenv of a literal credential in
        a script, rc file or shell history.
  hygiene.secret_in_image         Dockerfile ENV/ARG with a literal credential, or an ARG named
        like a secret.
  hygiene.slurm_jwt_in_job_environment   export SLURM_JWT=... in a batch script (#SBATCH), or
        sbatch --export=...SLURM_JWT... / #SBATCH --export=...SLURM_JWT....
  hygiene.munge_without_ttl       munge -n without -t whose output goes anywhere but unmunge.
  hygiene.credential_file_readable  (line null) credential file with group/other read bits.

Every credential is minted from a seeded random.Random; nothing is real. Deterministic for
a given --seed (byte-identical files, modes and labels). No git repository is created.

Python 3.11 standard library only.
"""
import argparse
import base64
import json
import os
import random
import shutil
import sqlite3
import string
import sys
import textwrap
import time
import uuid

TOC = "hygiene.token_on_command_line"
EXP = "hygiene.token_exported"
IMG = "hygiene.secret_in_image"
SJ = "hygiene.slurm_jwt_in_job_environment"
MUN = "hygiene.munge_without_ttl"
CFR = "hygiene.credential_file_readable"
CHECKS = [TOC, EXP, IMG, SJ, MUN, CFR]

ALNUM = string.ascii_letters + string.digits
UPPER_ALNUM = string.ascii_uppercase + string.digits
B32 = string.ascii_uppercase + "234567"
B64 = ALNUM + "+/"
B64URL = ALNUM + "-_"
HEX = "0123456789abcdef"

ALCF_CLIENT_NEW = "7f3e61f5-e0de-4e8f-9150-0a62c65dda63"
ALCF_CLIENT_OLD = "8b84fc2d-49e9-49ea-b54d-b3a29a70cf31"
IRI_RS = "6be511f6-a071-471f-9bc0-02a0d0836723"
POLARIS = "55c1c993-1124-47f9-b823-514ba3849a9a"
EAGLE = "1c3ad9d4-2e91-42bc-becb-72b1fde1235c"


# --------------------------------------------------------------------------- minting
# (token shapes copied from holdout.py's Mint; see shared/FACILITIES.md §7)
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

    @staticmethod
    def b64u(b):
        return base64.urlsafe_b64encode(b).rstrip(b"=").decode()

    def jwt(self, header, payload, siglen):
        h = self.b64u(json.dumps(header, separators=(",", ":")).encode())
        p = self.b64u(json.dumps(payload, separators=(",", ":")).encode())
        return f"{h}.{p}.{self.b64u(self.b(siglen))}"

    def times(self, life, expired_p=0.3):
        if self.r.random() < expired_p:
            exp = self.now - self.r.randint(3600, 40 * 86400)
        else:
            exp = self.now + self.r.randint(max(60, life // 10), life)
        return exp - life, exp

    def s3m(self, project=None):
        iat = self.now - self.r.randint(1, 200) * 86400 - self.r.randint(0, 86399)
        desc = self.r.choice(["frontier-ci", "odo workflow", "nightly-sync", "jupyter", "stream-ingest",
                              "defiant tests", "snakemake", "my token", "dashboard"])
        payload = {"description": desc, "type": "opat", "aud": ["api.olcf.ornl.gov"], "nbf": iat, "iat": iat,
                   "jti": self.uuid()}
        if project and self.r.random() < 0.5:
            payload["project"] = project
        hdr, sl = self.r.choice([({"alg": "RS256", "typ": "JWT"}, 256),
                                 ({"alg": "RS256", "typ": "JWT", "kid": self.s(B64URL, 43)}, 256),
                                 ({"alg": "ES256", "typ": "JWT"}, 64), ({"typ": "JWT", "alg": "RS512"}, 512)])
        return self.jwt(hdr, payload, sl)

    def slurm(self, user, life=None):
        life = life or self.r.choice([1800, 3600, 7200, 86400, 86400 * 30])
        iat, exp = self.times(life)
        hdr = self.r.choice([{"alg": "HS256", "typ": "JWT"}, {"typ": "JWT", "alg": "HS256"}])
        return self.jwt(hdr, {"exp": exp, "iat": iat, "sun": user}, 32)

    def csm(self, user="vers", azp=None, iss_host=None):
        iss_host = iss_host or self.r.choice(["api-gw-service-nmn.local", "api.nmnlb.hpc.lab.edu",
                                              "auth.cmn.hpc.lab.edu"])
        azp = azp or self.r.choice(["shasta", "admin-client"])
        iat, exp = self.times(365 * 86400, 0.15)
        payload = {"exp": exp, "iat": iat, "jti": self.uuid(), "iss": f"https://{iss_host}/keycloak/realms/shasta",
                   "aud": ["shasta", "account"], "sub": self.uuid(), "typ": "Bearer", "azp": azp,
                   "session_state": self.uuid(), "acr": "1",
                   "realm_access": {"roles": ["offline_access", "admin", "uma_authorization"]},
                   "scope": "profile email", "sid": self.uuid(), "email_verified": False,
                   "preferred_username": user if azp == "shasta" else "service-account-admin-client"}
        return self.jwt({"alg": "RS256", "typ": "JWT", "kid": self.s(B64URL, 43)}, payload, 256)

    def globus(self):
        return "Ag" + self.s(ALNUM, self.r.randint(89, 101))

    def gsecret(self):
        return base64.b64encode(self.b(32)).decode()

    def palmetto(self):
        return self.s(self.r.choice([ALNUM, B64URL]), self.r.randint(40, 64))

    def stream_pw(self):
        return self.s(string.ascii_letters, 16)

    def munge(self):
        return "MUNGE:" + base64.b64encode(b"\x03\x04\x05" + self.b(self.r.choice([93, 105, 117]))).decode() + ":"

    def aws(self):
        return "AKIA" + self.s(B32, 16), self.s(B64, 40)

    def rgw(self):
        return self.s(UPPER_ALNUM, 20), self.s(B64, 40)

    def sts(self, old=False):
        return (self.s(ALNUM, 19 if old else 20), self.s(UPPER_ALNUM, 39 if old else 40),
                base64.b64encode(self.b(192)).decode())

    def password(self):
        return self.s(ALNUM, self.r.randint(6, 9)) + self.r.choice("!#%+-_.") + self.s(string.digits, 2)

    def ssh_private(self, kind):
        n = 400 if kind == "ed25519" else 1800
        blob = b"openssh-key-v1\x00\x00\x00\x00\x04none\x00\x00\x00\x04none" + self.b(n)
        body = base64.b64encode(blob).decode()
        lines = [body[i:i + 70] for i in range(0, len(body), 70)]
        return "-----BEGIN OPENSSH PRIVATE KEY-----\n" + "\n".join(lines) + "\n-----END OPENSSH PRIVATE KEY-----\n"

    def ssh_public(self, kind, who):
        if kind == "ed25519":
            return "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI" + self.s(B64, 43) + f" {who}\n"
        return "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABgQ" + self.s(B64, 510) + "= " + f"{who}\n"


# --------------------------------------------------------------------------- line items
class L:
    """One (possibly multi-line) item of a file; labels attach to its first physical line."""

    def __init__(self, text, labels=(), neg=None):
        self.text = text
        self.labels = list(labels)
        self.neg = neg


def P(text, *pairs):
    """Labelled item: P(text, (CHECK, note), ...)."""
    return L(text, pairs)


def N(text, why):
    """Hard negative (counted for the summary, never labelled)."""
    return L(text, (), why)


def block(s):
    return textwrap.dedent(s).strip("\n")


class Out:
    def __init__(self, root, consts):
        self.root = root
        self.tree = os.path.join(root, "tree")
        self.consts = consts
        self.labels = []
        self.negs = []
        self.nfiles = 0

    # ⟦NAME⟧ placeholders -> consts (or per-file extras)
    def sub(self, s, extra=None):
        out, i = [], 0
        while True:
            j = s.find("⟦", i)
            if j < 0:
                out.append(s[i:])
                break
            k = s.index("⟧", j)
            key = s[j + 1:k]
            if extra and key in extra:
                val = extra[key]
            elif key in self.consts:
                val = self.consts[key]
            else:
                raise KeyError(f"no value for placeholder {key}")
            out.append(s[i:j])
            out.append(str(val))
            i = k + 1
        return "".join(out)

    def _write(self, rel, data, mode):
        path = os.path.join(self.tree, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if os.path.exists(path):
            raise RuntimeError(f"file written twice: {rel}")
        with open(path, "wb") as fh:
            fh.write(data)
        os.chmod(path, mode)
        self.nfiles += 1

    def label(self, check, rel, line, note):
        assert check in CHECKS, check
        self.labels.append({"check": check, "path": rel, "line": line, "where": "tree", "note": note})

    def lines_of(self, items, extra=None):
        """-> (physical lines, [(lineno, check, note)], [(lineno, why)])"""
        lines, labs, negs = [], [], []
        for it in items:
            if isinstance(it, L):
                text = self.sub(it.text, extra)
                first = len(lines) + 1
                for c, note in it.labels:
                    labs.append((first, c, note))
                if it.neg:
                    negs.append((first, it.neg))
                lines.extend(text.split("\n"))
            else:
                lines.extend(self.sub(it, extra).split("\n"))
        return lines, labs, negs

    def text(self, rel, items, mode=0o644, crlf=False, extra=None, final_newline=True):
        lines, labs, negs = self.lines_of(items, extra)
        for ln, c, note in labs:
            body = lines[ln - 1].strip()
            assert body, (rel, ln, c)
            if c == TOC:
                assert any(t in body for t in ("curl", "wget", "http", "xh ", "aws ", "s3cmd", "rclone",
                                                "mc ", "redis-cli", "subprocess", "os.system")), (rel, ln, body)
            if c in (EXP,):
                assert any(t in body for t in ("export ", "declare -x", "typeset -x", "setenv ")), (rel, ln, body)
            self.label(c, rel, ln, note)
        for ln, why in negs:
            self.negs.append((rel, ln, why))
        nl = "\r\n" if crlf else "\n"
        data = nl.join(lines) + (nl if final_newline else "")
        self._write(rel, data.encode(), mode)

    def raw(self, rel, data, mode=0o644):
        if isinstance(data, str):
            data = self.sub(data).encode()
        self._write(rel, data, mode)

    def cred(self, rel, data, mode, note):
        """A credential file (see the contract): labelled iff group/other can read it."""
        self.raw(rel, data, mode)
        if mode & 0o044:
            self.label(CFR, rel, None, f"{note}; mode {mode:04o} lets group/other read it")
        else:
            self.negs.append((rel, None, f"{note}; mode {mode:04o}"))

    def notebook(self, rel, cells, mode=0o644, extra=None):
        nb_cells, targets = [], []
        count = 0
        for cell in cells:
            kind, items = cell[0], cell[1]
            outputs = cell[2] if len(cell) > 2 else None
            lines, labs, negs = self.lines_of(items, extra)
            src = [l + "\n" for l in lines[:-1]] + [lines[-1]]
            marks = [(ln, 0, c, note) for ln, c, note in labs] + [(ln, 1, None, why) for ln, why in negs]
            for ln, _, c, note in sorted(marks, key=lambda t: (t[0], t[1])):
                targets.append((src[ln - 1], c, note))
            if kind == "markdown":
                nb_cells.append({"cell_type": "markdown", "metadata": {}, "source": src})
            else:
                count += 1
                outs = []
                if outputs:
                    text = self.sub(outputs, extra).split("\n")
                    outs = [{"name": "stdout", "output_type": "stream",
                             "text": [l + "\n" for l in text[:-1]] + [text[-1]]}]
                nb_cells.append({"cell_type": "code", "execution_count": count, "metadata": {},
                                 "outputs": outs, "source": src})
        nb = {"cells": nb_cells,
              "metadata": {"kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python",
                                          "name": "python3"},
                           "language_info": {"codemirror_mode": {"name": "ipython", "version": 3},
                                             "file_extension": ".py", "mimetype": "text/x-python",
                                             "name": "python", "nbconvert_exporter": "python",
                                             "pygments_lexer": "ipython3", "version": "3.11.7"}},
              "nbformat": 4, "nbformat_minor": 5}
        data = json.dumps(nb, indent=1, ensure_ascii=False) + "\n"
        flines = data.split("\n")
        ptr = 0
        for s, c, note in targets:
            want = json.dumps(s, ensure_ascii=False)
            for i in range(ptr, len(flines)):
                st = flines[i].strip()
                if st == want or st == want + ",":
                    ptr = i + 1
                    break
            else:
                raise RuntimeError(f"{rel}: notebook line not found: {s!r}")
            if c:
                self.label(c, rel, ptr, note)
            else:
                self.negs.append((rel, ptr, note))
        self._write(rel, data.encode(), mode)


# --------------------------------------------------------------------------- shell history
NOISE = [
    "ls -la", "ls", "ll", "cd ..", "cd ~/projects/⟦proj⟧", "cd $MEMBERWORK/⟦proj⟧", "pwd",
    "squeue -u $USER", "squeue --me -o \"%.10i %.9P %.30j %.2t %.10M %R\"", "sinfo -s",
    "sacct -j {job} --format=JobID,JobName,State,Elapsed,MaxRSS", "scancel {job}", "sbatch job.sbatch",
    "srun -N1 -n1 --pty bash", "salloc -N 1 -t 30 -A ⟦PROJ⟧", "module load cray-python", "module list",
    "module load PrgEnv-gnu cray-mpich", "module avail python", "conda activate fusion", "conda deactivate",
    "git status", "git pull --rebase", "git log --oneline | head", "git diff", "git add -p",
    "git commit -m 'fix restart path'", "vim run.sh", "vim job.sbatch", "less slurm-{job}.out",
    "tail -f slurm-{job}.out", "tail -n 50 logs/ingest.log", "du -sh *", "df -h $HOME",
    "htop", "nvidia-smi", "python3 -m venv .venv", "source .venv/bin/activate",
    "pip install -U requests globus-sdk", "pip list | grep -i globus", "jupyter lab --no-browser --port={port}",
    "rsync -av results/ dtn:/lustre/orion/⟦proj⟧/proj-shared/results/", "scp run.sh login2:~/", "ssh login2",
    "grep -rn job_id logs/ | tail", "jq . job.json", "cat job.json", "history | grep sbatch",
    "tar czf logs-{job}.tgz logs/", "find . -name '*.out' -mtime +30 -print", "mkdir -p ~/bin",
    "chmod +x run.sh", "which curl", "curl --version", "man curl", "clear", "echo $SHELL",
    "python3 plot_loss.py --run {job}", "watch -n 30 squeue --me", "hostname", "id", "groups",
    "ls ~/.ssh", "ssh-add -l", "kinit", "klist", "wc -l data/manifest.tsv", "head -3 data/manifest.tsv",
    "globus whoami", "globus ls ⟦EP⟧:/~/", "globus task list --limit 5", "conda env list",
    "module spider hdf5", "make -j8", "make clean", "ctest --output-on-failure", "tmux attach -t work",
    "tmux new -s work", "lfs quota -h -u $USER /lustre/orion", "sshare -U", "sprio -u $USER",
    "curl -sS https://s3m.olcf.ornl.gov/olcf/v1alpha/status | jq -r '.resources[].name'",
    "curl -s https://api.palmetto.clemson.edu/meta/versions/latest",
    "curl -sI https://api.alcf.anl.gov/api/v1/facility",
    "wget -q https://github.com/jqlang/jq/releases/download/jq-1.7.1/jq-linux-amd64 -O ~/bin/jq",
]


def noise(rng, n):
    out = []
    for _ in range(n):
        c = rng.choice(NOISE)
        c = c.replace("{job}", str(rng.randint(1800000, 3999999))).replace("{port}", str(rng.randint(8800, 8999)))
        out.append(c)
    return out


def history(rng, kind, specials, n_noise, lead=0, t0=1700000000):
    """Interleave special entries (str / L) with noise; return file items.

    kind: bash (plain), bash_ts (HISTTIMEFORMAT '#ts' lines), zsh (': ts:d;cmd'), tcsh ('#+ts')."""
    seq = [("n", c) for c in noise(rng, lead)]
    rest = n_noise - lead
    for sp in specials:
        k = rng.randint(0, max(0, min(6, rest)))
        seq.extend(("n", c) for c in noise(rng, k))
        rest -= k
        seq.append(("s", sp))
    seq.extend(("n", c) for c in noise(rng, max(0, rest)))
    items, ts = [], t0
    for _, e in seq:
        ts += rng.randint(3, 900)
        text = e.text if isinstance(e, L) else e
        if kind == "zsh":
            text = f": {ts}:{rng.choice([0, 0, 0, 1, 2, 5, 12])};{text}"
        elif kind in ("bash_ts", "tcsh"):
            items.append(("#+" if kind == "tcsh" else "#") + str(ts))
        items.append(L(text, e.labels, e.neg) if isinstance(e, L) else text)
    return items


# --------------------------------------------------------------------------- corpus
def build(o, rng, m):
    C = o.consts
    u1, u2, u3, u4, u5, u6 = C["u1"], C["u2"], C["u3"], C["u4"], C["u5"], C["u6"]
    proj = C["proj"]

    def readable():
        return rng.choice([0o644, 0o640, 0o664, 0o644])

    def private():
        return rng.choice([0o600, 0o600, 0o400])

    # ================================================================ home/u1: OLCF S3M, bash
    h = f"home/{u1}"
    o.text(f"{h}/.bashrc", [
        block("""
        # .bashrc

        # Source global definitions
        if [ -f /etc/bashrc ]; then
        	. /etc/bashrc
        fi

        # User specific environment
        if ! [[ "$PATH" =~ "$HOME/.local/bin:$HOME/bin:" ]]; then
            PATH="$HOME/.local/bin:$HOME/bin:$PATH"
        fi"""),
        N("export PATH", "export without a value"),
        "",
        N('export HISTTIMEFORMAT="%F %T "', "not a credential"),
        "export HISTSIZE=50000",
        "export HISTCONTROL=ignoreboth",
        "module load cray-python 2>/dev/null",
        "",
        "# --- S3M -----------------------------------------------------------",
        N("export S3M_ENCLAVE=open", "not a credential"),
        "export S3M_BASE=https://s3m.olcf.ornl.gov",
        N("export S3M_TOKEN_FILE=$HOME/.s3m/token", "path to a token file, not a token"),
        P("export S3M_TOKEN=⟦S3M_1⟧",
          (EXP, "literal S3M project access token exported from .bashrc")),
        N("alias s3mping='curl -sS -H @$HOME/.s3m-header $S3M_BASE/slurm/open/v0.0.43/defiant/ping'",
          "header read from a file"),
        "alias sq='squeue -u $USER'",
        "",
        "# s3m GET helper: s3m /slurm/open/v0.0.43/defiant/jobs",
        "s3m() {",
        "    local path=$1; shift",
        P('    curl -sS -H "Authorization: $(cat "$S3M_TOKEN_FILE")" "$S3M_BASE$path" "$@"',
          (TOC, "command substitution puts the S3M token into curl's argv")),
        "}",
        "",
        "# safer variant, header file is 0600",
        "s3mf() {",
        N('    curl -sS -H @"$HOME/.s3m-header" -H "olcf-resource: ${2:-defiant}" "$S3M_BASE$1"',
          "header from file plus a non-credential header"),
        "}",
    ], mode=0o644)

    specials = [
        N("curl -sS https://s3m.olcf.ornl.gov/olcf/v1alpha/status/defiant | jq .", "no credential"),
        "vim ~/.s3m/token",
        N("chmod 600 ~/.s3m/token", "chmod"),
        P('curl -H "Authorization: ⟦S3M_2⟧" https://s3m.olcf.ornl.gov/olcf/v1/token/ctls/introspect',
          (TOC, "literal S3M token in a curl header")),
        P("export S3M_TOKEN=⟦S3M_2⟧", (EXP, "literal S3M token exported in shell history")),
        P('curl -sS -H "Authorization: $S3M_TOKEN" $S3M_BASE/slurm/open/v0.0.43/defiant/jobs | jq \'.jobs | length\'',
          (TOC, "S3M token variable in curl header")),
        N('printf \'Authorization: %s\\n\' "$(cat ~/.s3m/token)" > ~/.s3m-header',
          "printf is a builtin; token goes to a file, not to an exec'd argv"),
        N("chmod 600 ~/.s3m-header", "chmod"),
        N("curl -sS -H @$HOME/.s3m-header $S3M_BASE/slurm/open/v0.0.43/defiant/ping", "header read from a file"),
        N("curl -H @.env https://s3m.olcf.ornl.gov/slurm/open/v0.0.43/odo/ping", "header read from .env (OLCF docs form)"),
        N('curl -s -H "Accept: application/json" https://s3m.olcf.ornl.gov/olcf/v1alpha/status/downtimes/upcoming',
          "non-credential header"),
        P('time curl -s -H "authorization: ${S3M_TOKEN}" "$S3M_BASE/slurm/open/v0.0.43/odo/partitions" -o parts.json',
          (TOC, "lower-case authorization header with token variable, behind `time`")),
        N("export S3M_TOKEN=$(cat ~/.s3m/token)", "value is a command substitution, not a literal"),
        N("echo ${#S3M_TOKEN}", "builtin"),
        P('curl -sSfH "Authorization: $S3M_TOKEN" https://s3m.olcf.ornl.gov/slurm/open/v0.0.44/odo/nodes > nodes.json',
          (TOC, "bundled -sSfH flags with token header")),
        N("echo \"export S3M_TOKEN=\\$(cat ~/.s3m/token)\" >> ~/.bashrc.local",
          "echo of text; exported value is a command substitution"),
        P('curl -X DELETE -H "Authorization: $S3M_TOKEN" https://s3m.olcf.ornl.gov/olcf/v1/token/ctls/revoke',
          (TOC, "token variable in revoke call")),
        N("unset S3M_TOKEN", "unset"),
        N('curl -sS -H @"$HOME/.s3m-header" -H "Idempotency-Key: $(uuidgen)" -X POST --data @job.json '
          "https://s3m.olcf.ornl.gov/slurm/open/v0.0.43/defiant/job/submit",
          "Idempotency-Key is not a credential; auth header from file"),
        N("sbatch --export=NONE job.sbatch", "no SLURM_JWT exported"),
    ]
    o.text(f"{h}/.bash_history", history(rng, "bash_ts", specials, 260, lead=150, t0=C["now"] - 60 * 86400),
           mode=0o600)
    o.raw(f"{h}/.s3m/token", "⟦S3M_3⟧\n", 0o600)
    o.raw(f"{h}/.s3m-header", "Authorization: ⟦S3M_3⟧\n", 0o600)
    auth = {f"open|{proj}": {"token": C["S3M_5"], "saved": "2026-01-14T09:12:44Z"},
            "moderate|" + proj: {"token": C["S3M_6"], "saved": "2026-02-02T17:40:03Z"}}
    o.cred(f"{h}/.local/share/s3m/auth.json", json.dumps(auth, indent=2) + "\n", readable(),
           "s3m-cli token store")
    o.cred(f"{h}/.ssh/id_ed25519", m.ssh_private("ed25519"), 0o600, "SSH private key")
    o.raw(f"{h}/.ssh/id_ed25519.pub", m.ssh_public("ed25519", f"{u1}@login1"), 0o644)
    o.raw(f"{h}/.ssh/config", "Host dtn\n    HostName dtn.olcf.ornl.gov\n    User ⟦u1⟧\n"
                              "    IdentityFile ~/.ssh/id_ed25519\n", 0o644)

    # ================================================================ home/u2: ALCF IRI (Globus), zsh
    h = f"home/{u2}"
    o.text(f"{h}/.zshrc", [
        block("""
        # Lines configured by zsh-newuser-install
        HISTFILE=~/.zsh_history
        HISTSIZE=100000
        SAVEHIST=100000
        setopt extended_history inc_append_history hist_ignore_space
        bindkey -e
        # End of lines configured by zsh-newuser-install
        autoload -Uz compinit && compinit
        """),
        N("export EDITOR=vim", "not a credential"),
        N("export ALCF_TOKENS_DIR=$HOME/.globus/app/⟦ALCF_NEW⟧/alcf_tokens", "path"),
        N("export GLOBUS_CLIENT_ID=⟦ALCF_NEW⟧", "public native-app client id, not a secret"),
        N("export IRI_BASE=https://api.alcf.anl.gov/api/v1", "URL"),
        N("export TOKEN_URL=https://auth.globus.org/v2/oauth2/token", "TOKEN_URL is a URL"),
        P('typeset -x IRI_API_TOKEN="⟦GLB_1⟧"', (EXP, "typeset -x of a literal Globus access token")),
        "",
        "iri() {",
        P('  curl -s -H "Authorization: Bearer $(python3 ~/bin/alcf_facility_api_globus_token.py get_access_token)" "$IRI_BASE/$1"',
          (TOC, "command substitution yields the Globus token into curl's argv")),
        "}",
        "path=(~/bin ~/.local/bin $path)",
        N("typeset -x PYTHONPATH=$HOME/src/iri-tools", "not a credential"),
    ], mode=0o644)
    specials = [
        N("python3 alcf_facility_api_globus_token.py authenticate --force", "interactive login"),
        N("export ALCF_TOKEN=$(python3 alcf_facility_api_globus_token.py get_access_token)",
          "value is a command substitution"),
        P('curl -s -H "Authorization: Bearer $ALCF_TOKEN" https://api.alcf.anl.gov/api/v1/account/projects | jq',
          (TOC, "Globus token variable in curl header")),
        N("curl -s https://api.alcf.anl.gov/api/v1/status/resources | jq '.[].name'", "no credential"),
        N("curl -s https://api.alcf.anl.gov/api/v1/facility -H 'Accept: application/json'", "non-credential header"),
        P("export ALCF_TOKEN=⟦GLB_2⟧", (EXP, "literal Globus access token exported")),
        P("curl -sS -X POST https://api.alcf.anl.gov/api/v1/compute/job/⟦POLARIS⟧ \\\n"
          "  -H \"Authorization: Bearer $ALCF_TOKEN\" \\\n  -H 'Content-Type: application/json' \\\n"
          "  --data @jobspec.json",
          (TOC, "multi-line curl (zsh history) with bearer token variable")),
        P('http GET https://api.alcf.anl.gov/api/v1/compute/status/⟦POLARIS⟧/{j} historical==true "Authorization:Bearer $ALCF_TOKEN"'
          .replace("{j}", str(rng.randint(4000000, 4999999))),
          (TOC, "httpie Authorization header item with token variable")),
        N("globus login --no-local-server", "interactive login"),
        N("jq -r .expires_at ~/.iri_token_alcf.json", "reads a token file"),
        P("curl -s https://auth.globus.org/v2/oauth2/token -d grant_type=refresh_token -d client_id=⟦ALCF_NEW⟧ "
          "-d refresh_token=⟦GLB_3⟧",
          (TOC, "literal refresh token as a form field")),
        P("curl -s -X POST https://auth.globus.org/v2/oauth2/token/revoke -d token=⟦GLB_2⟧ -d client_id=⟦ALCF_NEW⟧",
          (TOC, "literal access token as token= form field")),
        N("curl -s -X POST https://auth.globus.org/v2/oauth2/token/revoke -d token_type_hint=refresh_token "
          "-d client_id=⟦ALCF_NEW⟧ --data-urlencode token@$HOME/.alcf_refresh",
          "token value read from a file (name@file); token_type_hint is not a credential"),
        P("curl -s -o /dev/null -w '%{http_code}\\n' https://api.alcf.anl.gov/api/v1/task/not-a-real-task "
          "-H \"Authorization: Bearer $(python3 alcf_facility_api_globus_token.py get_access_token)\"",
          (TOC, "command substitution yields the token into curl's argv")),
        N("unset ALCF_TOKEN", "unset"),
        N("export TOKENIZERS_PARALLELISM=false", "not a credential"),
    ]
    o.text(f"{h}/.zsh_history", history(rng, "zsh", specials, 140, t0=C["now"] - 30 * 86400), mode=0o600)
    tok = {"data": {"DEFAULT": {
        IRI_RS: {"resource_server": IRI_RS, "identity_id": m.uuid(),
                 "scope": f"https://auth.globus.org/scopes/{IRI_RS}/filesystem",
                 "access_token": m.globus(), "refresh_token": m.globus(),
                 "expires_at_seconds": C["now"] + 40000, "token_type": "Bearer"},
        "auth.globus.org": {"resource_server": "auth.globus.org", "identity_id": m.uuid(),
                            "scope": "openid profile email", "access_token": m.globus(),
                            "refresh_token": m.globus(), "expires_at_seconds": C["now"] + 40000,
                            "token_type": "Bearer"}}},
        "format_version": "2.0", "globus-sdk.version": "3.46.0"}
    o.cred(f"{h}/.globus/app/{ALCF_CLIENT_NEW}/alcf_tokens/tokens.json", json.dumps(tok, indent=2) + "\n",
           readable(), "globus-sdk token store (alcf-tokens)")
    tok2 = {"app_name": "alcf_tokens", "client_id": ALCF_CLIENT_NEW,
            "by_resource_server": {IRI_RS: {"scope": f"https://auth.globus.org/scopes/{IRI_RS}/filesystem",
                                            "access_token": m.globus(), "refresh_token": m.globus(),
                                            "expires_at": C["now"] + 50000}}}
    o.cred(f"{h}/.globus/app/{ALCF_CLIENT_NEW}/alcf_tokens/tokens-bash.json", json.dumps(tok2, indent=2) + "\n",
           0o600, "alcf-tokens shell token store")
    tok3 = {"data": {"DEFAULT": {IRI_RS: {"resource_server": IRI_RS, "identity_id": m.uuid(),
                                          "scope": f"https://auth.globus.org/scopes/{IRI_RS}/filesystem",
                                          "access_token": m.globus(), "refresh_token": m.globus(),
                                          "expires_at_seconds": C["now"] - 86400, "token_type": "Bearer"}}},
            "format_version": "2.0", "globus-sdk.version": "3.41.0"}
    o.cred(f"{h}/.globus/app/{ALCF_CLIENT_OLD}/alcf_facility_api_app/tokens.json", json.dumps(tok3) + "\n",
           private(), "globus-sdk token store (old ALCF script)")
    o.cred(f"{h}/.iri_token_alcf.json", json.dumps({"access_token": m.globus(), "expires_at": C["now"] + 3600,
                                                    "facility": "alcf"}) + "\n",
           readable(), "IRI smoke-test token cache")
    o.cred(f"{h}/.iri_token_nersc.json", json.dumps({"access_token": m.globus(), "expires_at": C["now"] + 7200,
                                                     "facility": "nersc"}) + "\n",
           0o600, "IRI smoke-test token cache")
    o.raw(f"{h}/.alcf_refresh", m.globus() + "\n", 0o600)

    # ================================================================ home/u3: Palmetto, bash (no timestamps)
    h = f"home/{u3}"
    o.text(f"{h}/.bashrc", [
        block("""
        # .bashrc
        [ -f /etc/bashrc ] && . /etc/bashrc
        export PATH=$HOME/bin:$HOME/.local/bin:$PATH
        """),
        N("export PALMETTO_API_URL=https://api.palmetto.clemson.edu", "URL"),
        N("export PALMETTO_API_KEY_FILE=$HOME/.palmetto/api_key", "path"),
        N("export PALMETTO_API_KEY=\"$(cat $PALMETTO_API_KEY_FILE 2>/dev/null)\"", "command substitution"),
        N("alias pjobs='curl -s -H \"Authorization: MUNGE $(munge -n -t 5)\" $PALMETTO_API_URL/slurm/latest/jobs | jq \".jobs[].job_id\"'",
          "documented short-lived MUNGE form"),
        N("alias mtest='munge -n | unmunge'", "munge straight into unmunge"),
        "alias q='squeue --me'",
        N("export PASSWORD_STORE_DIR=$HOME/.password-store", "not a credential"),
    ], mode=0o644)
    specials = [
        N('curl -H "Authorization: MUNGE $(munge -n -t 5)" https://api.palmetto.clemson.edu/slurm/v0.0.44/jobs',
          "documented Palmetto short-lived form"),
        N("munge -n | unmunge", "straight into unmunge"),
        P('curl -s -H "Authorization: MUNGE $(munge -n)" https://api.palmetto.clemson.edu/slurm/latest/jobs | jq \'.jobs | length\'',
          (MUN, "munge -n without -t into an HTTP header"),
          (TOC, "MUNGE credential with default 300 s TTL in curl's argv")),
        N("munge -n -t 5 | unmunge", "into unmunge"),
        P("CRED=$(munge -n)", (MUN, "munge -n without -t into a variable")),
        N("echo ${#CRED}", "builtin"),
        P('curl -H "Authorization: MUNGE $CRED" https://api.palmetto.clemson.edu/slurm/v0.0.44/ping/',
          (TOC, "variable holding a 300 s MUNGE credential in curl's argv")),
        N('curl -sS -H "Authorization: MUNGE $(munge -nt 5)" https://api.palmetto.clemson.edu/slurm/v0.0.44/partitions',
          "bundled -nt 5: short TTL"),
        N('curl -sS -H "Authorization: MUNGE $(munge --ttl=60 -n)" https://api.palmetto.clemson.edu/slurmdb/v0.0.44/jobs',
          "TTL 60 s (<= 60)"),
        P('curl -sS -H "Authorization: MUNGE $(munge -n -t 300)" https://api.palmetto.clemson.edu/slurm/v0.0.44/nodes',
          (TOC, "MUNGE credential with 300 s TTL (> 60 s) in curl's argv")),
        P("munge -n > /tmp/munge.cred", (MUN, "munge -n without -t written to a file")),
        N("unmunge < /tmp/munge.cred", "unmunge"),
        N("rm -f /tmp/munge.cred", "rm"),
        N("curl -s https://api.palmetto.clemson.edu/meta/versions/supported", "no credential"),
        N("curl -s https://api.palmetto.clemson.edu/ping", "no credential"),
        P("export PALMETTO_API_KEY=⟦PALM_1⟧", (EXP, "literal Palmetto API key exported")),
        P('curl -s -H "Authorization: Bearer $PALMETTO_API_KEY" https://api.palmetto.clemson.edu/slurmdb/v0.0.44/jobs?users=$USER',
          (TOC, "Palmetto bearer key variable in curl header")),
        P("curl -s -H 'Authorization: Bearer ⟦PALM_1⟧' https://api.palmetto.clemson.edu/slurm/v0.0.44/ping/",
          (TOC, "literal Palmetto bearer key in curl header")),
        N("export PALMETTO_API_KEY=$(cat ~/.palmetto/api_key)", "command substitution"),
        N("remunge -c 4 -N 1000", "benchmark, no credential output"),
        N("munge -s hello | unmunge", "into unmunge"),
        N("munge -n -t 5 > /dev/null && echo ok", "has -t"),
    ]
    o.text(f"{h}/.bash_history", history(rng, "bash", specials, 120, t0=C["now"] - 20 * 86400), mode=0o600)
    o.raw(f"{h}/.palmetto/api_key", "⟦PALM_2⟧\n", 0o600)

    # ================================================================ home/u4: CSM admin, bash
    h = f"home/{u4}"
    specials = [
        N("cray auth login --username vers", "prompts for the password"),
        N("export CRAY_CREDENTIALS=/tmp/setup-token.json", "path"),
        P("export TOKEN=$(curl -s -k -S -d grant_type=client_credentials -d client_id=admin-client "
          "-d client_secret=`kubectl get secrets admin-client-auth -o jsonpath='{.data.client-secret}' | base64 -d` "
          "https://api-gw-service-nmn.local/keycloak/realms/shasta/protocol/openid-connect/token | jq -r '.access_token')",
          (TOC, "client_secret form field filled by a (backtick) command substitution")),
        P('curl -s -k -X PUT -H "Authorization: Bearer ${TOKEN}" https://api-gw-service-nmn.local/apis/sts/token | jq . > sts.json',
          (TOC, "Keycloak bearer token variable in curl header")),
        N("chmod 600 sts.json", "chmod"),
        N("export AWS_ACCESS_KEY_ID=$(jq -r .Credentials.AccessKeyId sts.json)", "command substitution"),
        N("export AWS_SECRET_ACCESS_KEY=$(jq -r .Credentials.SecretAccessKey sts.json)", "command substitution"),
        N("export AWS_SESSION_TOKEN=$(jq -r .Credentials.SessionToken sts.json)", "command substitution"),
        N("aws s3 ls --endpoint-url http://rgw.local:8080", "no credential on the command line"),
        P("curl -s -d grant_type=password -d client_id=shasta -d username=vers -d password='⟦KCPW_1⟧' "
          "https://auth.cmn.⟦DOMAIN⟧/keycloak/realms/shasta/protocol/openid-connect/token | jq -r .access_token",
          (TOC, "literal password form field")),
        P("export KC_TOKEN=⟦CSM_1⟧", (EXP, "literal Keycloak access token (365-day lifetime) exported")),
        P("aws configure set aws_secret_access_key ⟦RGW1_SK⟧ --profile rgw",
          (TOC, "literal RGW secret key given to aws configure set")),
        N("aws configure set aws_access_key_id ⟦RGW1_AK⟧ --profile rgw", "access key id is not the secret"),
        N("aws configure set region us-east-1 --profile rgw", "not a credential"),
        P("s3cmd --access_key=⟦RGW2_AK⟧ --secret_key=⟦RGW2_SK⟧ --host=rgw.local:8080 --host-bucket= ls",
          (TOC, "literal secret key on the s3cmd command line")),
        N("s3cmd -c ~/.s3cfg ls s3://boot-images", "credentials from config file"),
        P('curl -sk -u "root:$(cat /root/.bmc_pw)" https://ncn-m002-mgmt/redfish/v1/Systems/Self',
          (TOC, "-u user:password with the password from a command substitution")),
        N("curl -sk -u root https://ncn-m003-mgmt/redfish/v1/Managers", "-u user only; curl prompts"),
        N("kubectl -n services get secret admin-client-auth -o jsonpath='{.data.client-secret}' | base64 -d | wc -c",
          "not a command-line credential"),
        N("cray bos v2 sessions list --format json", "uses stored token"),
        N("curl -s --negotiate -u : https://idm.⟦DOMAIN⟧/ipa/json", "Kerberos; -u : carries no password"),
    ]
    o.text(f"{h}/.bash_history", history(rng, "bash_ts", specials, 110, t0=C["now"] - 14 * 86400), mode=0o600)
    ctok = {"access_token": C["CSM_2"], "expires_in": 31536000, "refresh_expires_in": 0,
            "refresh_token": m.csm(), "token_type": "bearer", "not-before-policy": 0,
            "session_state": m.uuid(), "scope": "profile email", "expires_at": C["now"] + 300 * 86400}
    o.cred(f"{h}/.config/cray/tokens/api_gw_service_nmn_local.vers", json.dumps(ctok) + "\n", readable(),
           "Cray CLI token store")
    ctok2 = dict(ctok, access_token=m.csm(), refresh_token=m.csm(), session_state=m.uuid())
    o.cred(f"{h}/.config/cray/tokens/api_cmn_{C['DOMAIN'].replace('.', '_')}.vers", json.dumps(ctok2) + "\n",
           private(), "Cray CLI token store")
    o.cred(f"{h}/.aws/credentials",
           f"[rgw]\naws_access_key_id = {C['RGW3_AK']}\naws_secret_access_key = {C['RGW3_SK']}\n", 0o600,
           "AWS shared credentials file")
    o.raw(f"{h}/.aws/config", "[profile rgw]\nregion = us-east-1\nendpoint_url = http://rgw.local:8080\n", 0o644)
    o.cred(f"{h}/.s3cfg", block(f"""
        [default]
        access_key = {C['RGW4_AK']}
        secret_key = {C['RGW4_SK']}
        host_base = rgw.local:8080
        host_bucket = rgw.local:8080
        use_https = False
        signature_v2 = False
        """) + "\n", readable(), "s3cmd config with key pair")

    # ================================================================ home/u5: data mover, zsh
    h = f"home/{u5}"
    o.text(f"{h}/.zshrc", [
        block("""
        HISTFILE=~/.zsh_history
        HISTSIZE=50000
        SAVEHIST=50000
        setopt EXTENDED_HISTORY SHARE_HISTORY
        source ~/.zsh/prompt.zsh
        """),
        N("export RCLONE_CONFIG=$HOME/.config/rclone/rclone.conf", "path"),
        N("export REDISCLI_AUTH_FILE=$HOME/.s3m/redis-pw", "path"),
        N("export AWS_PROFILE=ceph", "profile name"),
        N("export GLOBUS_TRANSFER_TOKEN_FILE=$HOME/.globus/transfer.tok", "path"),
    ], mode=0o644)
    redis_host = f"redis-{proj}-api-ingest.io.s3m-streams.apps.olivine.ccs.ornl.gov"
    C["REDIS_HOST"] = redis_host
    specials = [
        P("mc alias set rgw https://rgw.⟦DOMAIN⟧ ⟦RGW5_AK⟧ ⟦RGW5_SK⟧",
          (TOC, "literal access/secret key given to mc alias set")),
        N("mc alias set rgw-ro https://rgw.⟦DOMAIN⟧ --api S3v4", "mc prompts for the keys"),
        N("mc ls rgw/fusion-dt", "no credential"),
        P("rclone config create ceph s3 provider=Ceph access_key_id=⟦RGW6_AK⟧ secret_access_key=⟦RGW6_SK⟧ "
          "endpoint=https://rgw.⟦DOMAIN⟧",
          (TOC, "literal secret_access_key on rclone config create")),
        N("rclone config create ceph-env s3 provider=Ceph env_auth=true endpoint=https://rgw.⟦DOMAIN⟧",
          "env_auth, no secret"),
        N("rclone copy -P results/ ceph:fusion-dt/results", "no credential"),
        P("redis-cli -h ⟦REDIS_HOST⟧ -p 443 --tls --user ⟦projl⟧-api -a ⟦SPW_1⟧ ping",
          (TOC, "literal stream-cluster password given with redis-cli -a")),
        P("redis-cli -u rediss://⟦projl⟧-api:⟦SPW_1⟧@⟦REDIS_HOST⟧:443 xlen events",
          (TOC, "password inside the redis-cli -u URL")),
        N("redis-cli --tls -h ⟦REDIS_HOST⟧ -p 443 --user ⟦projl⟧-api --askpass", "prompts for the password"),
        N("REDISCLI_AUTH=$(cat ~/.s3m/redis-pw) redis-cli --tls -h ⟦REDIS_HOST⟧ -p 443 --user ⟦projl⟧-api info server",
          "password in the environment, not argv"),
        N("export GLOBUS_TRANSFER_TOKEN=$(jq -r '.data.DEFAULT[\"transfer.api.globus.org\"].access_token' "
          "~/.globus/app/tokens.json)", "command substitution"),
        P('wget -q --header "Authorization: Bearer $GLOBUS_TRANSFER_TOKEN" https://g-⟦GHEX⟧.data.globus.org/run42/out.h5',
          (TOC, "wget --header with Globus token variable")),
        N('wget -q --header="Accept: application/json" -O status.json https://s3m.olcf.ornl.gov/olcf/v1alpha/status',
          "non-credential header"),
        P('curl -s "https://dash.⟦DOMAIN⟧/api/v1/runs?project=fusion&access_token=$DASH_TOKEN" -o runs.json',
          (TOC, "token in the ?access_token= query string")),
        N('curl -s "https://dash.⟦DOMAIN⟧/api/v1/runs?project=fusion&limit=100&offset=0" -o runs.json',
          "no credential in the query"),
        P("typeset -x GLOBUS_CLIENT_SECRET=⟦GSEC_1⟧", (EXP, "literal Globus confidential-client secret exported")),
        P('curl -s -u "$GLOBUS_CLIENT_ID:$GLOBUS_CLIENT_SECRET" https://auth.globus.org/v2/oauth2/token '
          "-d grant_type=client_credentials -d scope=urn:globus:auth:scope:transfer.api.globus.org:all",
          (TOC, "-u client_id:client_secret")),
        N("curl --netrc -O https://data.⟦DOMAIN⟧/pub/ref/hg38.fa.gz", "credentials from .netrc"),
        N("S3M_TOKEN=$(cat ~/.s3m/token) python3 stream_consumer.py --cluster ingest",
          "environment prefix from a file; nothing exported or in argv"),
    ]
    o.text(f"{h}/.zsh_history", history(rng, "zsh", specials, 90, t0=C["now"] - 9 * 86400), mode=0o600)
    o.cred(f"{h}/.config/rclone/rclone.conf", block(f"""
        [ceph]
        type = s3
        provider = Ceph
        access_key_id = {C['RGW6_AK']}
        secret_access_key = {C['RGW6_SK']}
        endpoint = https://rgw.{C['DOMAIN']}

        [olcf-dtn]
        type = sftp
        host = dtn.olcf.ornl.gov
        user = {u5}
        key_file = ~/.ssh/id_rsa
        """) + "\n", readable(), "rclone config with S3 secret")
    o.cred(f"{h}/.aws/credentials", f"[ceph]\naws_access_key_id = {C['RGW5_AK']}\n"
                                    f"aws_secret_access_key = {C['RGW5_SK']}\n", readable(),
           "AWS shared credentials file")
    o.cred(f"{h}/.ssh/id_rsa", m.ssh_private("rsa"), readable(), "SSH private key")
    o.raw(f"{h}/.ssh/id_rsa.pub", m.ssh_public("rsa", f"{u5}@dtn"), 0o644)
    o.raw(f"{h}/.ssh/known_hosts", "".join(f"dtn{i}.olcf.ornl.gov ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI"
                                           f"{m.s(B64, 43)}\n" for i in range(1, 4)), 0o644)
    o.cred(f"{h}/.s3cfg", f"[default]\naccess_key = {C['RGW5_AK']}\nsecret_key = {C['RGW5_SK']}\n"
                          f"host_base = rgw.{C['DOMAIN']}\nhost_bucket = rgw.{C['DOMAIN']}\n", 0o600,
           "s3cmd config")
    o.raw(f"{h}/.s3m/redis-pw", "⟦SPW_1⟧\n", 0o600)
    # globus CLI sqlite token store
    db_path = os.path.join(o.tree, h, ".globus/cli/storage.db")
    os.makedirs(os.path.dirname(db_path), exist_ok=True)
    con = sqlite3.connect(db_path)
    con.execute("CREATE TABLE token_storage (namespace VARCHAR NOT NULL, resource_server VARCHAR NOT NULL, "
                "token_data_json VARCHAR NOT NULL, PRIMARY KEY (namespace, resource_server))")
    con.execute("CREATE TABLE config_storage (config_name VARCHAR NOT NULL, namespace VARCHAR NOT NULL, "
                "config_data_json VARCHAR NOT NULL, PRIMARY KEY (config_name, namespace))")
    for rs in ("auth.globus.org", "transfer.api.globus.org"):
        con.execute("INSERT INTO token_storage VALUES (?, ?, ?)", (
            "userprofile/production", rs,
            json.dumps({"resource_server": rs, "identity_id": m.uuid(), "scope": "openid",
                        "access_token": m.globus(), "refresh_token": m.globus(),
                        "expires_at_seconds": C["now"] + 86400, "token_type": "Bearer"})))
    con.commit()
    con.close()
    with open(db_path, "rb") as fh:
        dbdata = fh.read()
    os.unlink(db_path)
    o.cred(f"{h}/.globus/cli/storage.db", dbdata, rng.choice([0o600, 0o640]), "Globus CLI sqlite token store")

    # ================================================================ home/u6: tcsh old-timer, slurmrestd
    h = f"home/{u6}"
    o.text(f"{h}/.cshrc", [
        block("""
        # .cshrc
        if ( -f /etc/csh.cshrc ) source /etc/csh.cshrc
        set path = ( ~/bin $path )
        set history = 2000
        set savehist = ( 2000 merge )
        """),
        N("setenv EDITOR vi", "not a credential"),
        N("setenv SLURM_TIME_FORMAT relative", "not a credential"),
        N("setenv SLURMRESTD_URL http://slurmrestd.⟦DOMAIN⟧:6820", "URL"),
        P("setenv S3M_TOKEN ⟦S3M_4⟧", (EXP, "csh setenv of a literal S3M token")),
        N("setenv PALMETTO_API_KEY_FILE ~/.palmetto/key", "path"),
        "alias ll 'ls -l'",
        "alias sq 'squeue -u $USER'",
    ], mode=0o644)
    specials = [
        N("scontrol token lifespan=3600", "prints a token; nothing exported"),
        P("setenv SLURM_JWT ⟦SJWT_1⟧", (EXP, "setenv of a literal Slurm JWT (interactive shell)")),
        P('curl -s -H "X-SLURM-USER-NAME: $USER" -H "X-SLURM-USER-TOKEN: $SLURM_JWT" '
          "http://slurmrestd.⟦DOMAIN⟧:6820/slurm/v0.0.43/jobs/",
          (TOC, "Slurm JWT variable in X-SLURM-USER-TOKEN header")),
        N('curl -s -H "X-SLURM-USER-NAME: $USER" --unix-socket /run/slurmrestd/slurmrestd.socket '
          "http://localhost/slurm/v0.0.43/ping/", "local socket auth; user-name header is not a credential"),
        P("sbatch --export=ALL,SLURM_JWT run.sh", (SJ, "sbatch --export passes SLURM_JWT to the job")),
        N("sbatch --export=NONE,HOME run.sh", "no SLURM_JWT"),
        N("unsetenv SLURM_JWT", "unset"),
        P("sbatch --export=SLURM_JWT=⟦SJWT_2⟧ --wrap 'srun ./client --rest'",
          (SJ, "literal Slurm JWT handed to the job via sbatch --export")),
        N("sbatch --wrap 'unset SLURM_JWT; srun hostname'", "explicitly unset (slurm docs form)"),
    ]
    o.text(f"{h}/.history", history(rng, "tcsh", specials, 70, t0=C["now"] - 5 * 86400), mode=0o600)
    o.cred(f"{h}/.ssh/id_rsa", m.ssh_private("rsa"), 0o600, "SSH private key")
    o.cred(f"{h}/.ssh/id_ed25519", m.ssh_private("ed25519"), rng.choice([0o400, 0o640]), "SSH private key")
    o.raw(f"{h}/.ssh/authorized_keys", m.ssh_public("rsa", f"{u6}@laptop"), 0o644)

    # ================================================================ home/svc-ingest
    h = "home/svc-ingest"
    o.cred(f"{h}/.env", block(f"""
        # consumed by systemd EnvironmentFile= (see ingest.service)
        S3M_TOKEN={C['S3M_7']}
        S3M_ENCLAVE=open
        REDIS_PASSWORD={C['SPW_2']}
        """) + "\n", 0o600, ".env with S3M token")
    o.text(f"{h}/.config/systemd/user/ingest.service", [
        "[Unit]", "Description=S3M stream ingest", "", "[Service]",
        N("EnvironmentFile=%h/.env", "reads the env file"),
        "ExecStart=%h/venv/bin/python -m ingest.consumer --cluster ingest",
        "Restart=on-failure", "", "[Install]", "WantedBy=default.target",
    ])

    # ================================================================ projects/s3m-workflows
    p = "projects/s3m-workflows"
    o.text(f"{p}/README.md", [
        block("""
        # s3m-workflows

        Submits and monitors Slurm jobs on OLCF resources through S3M
        (`https://s3m.olcf.ornl.gov`). Tokens are project-scoped OPATs created in myOLCF.

        ## Setup

        Put the token in a header file that only you can read:

        ```sh
        umask 077
        printf 'Authorization: %s\\n' "$(cat ~/.s3m/token)" > .env
        curl -H @.env https://s3m.olcf.ornl.gov/slurm/open/v0.0.43/defiant/ping
        ```

        **Never** do this - the token shows up in `ps` for everybody on the login node:

        ```sh
        curl -H "Authorization: <your-token>" https://s3m.olcf.ornl.gov/slurm/open/v0.0.43/defiant/jobs
        export S3M_TOKEN=<your-token>
        curl -H "Authorization: ${TOKEN}" ...
        ```

        and do not put `export SLURM_JWT=...` in a batch script: jobs inherit it.
        If a token leaks, revoke it (`DELETE /olcf/v1/token/ctls/revoke`) and tell help@olcf.ornl.gov.
        """),
    ])
    o.cred(f"{p}/.env", "Authorization: ⟦S3M_8⟧\n", readable(), "S3M header .env file")
    o.raw(f"{p}/.env.example", "Authorization: <paste your S3M token here>\n", 0o644)
    o.cred(f"{p}/config/prod.env", f"S3M_TOKEN={C['S3M_9']}\nS3M_ENCLAVE=open\nS3M_RESOURCE=defiant\n",
           0o600, "prod .env")
    o.cred(f"{p}/config/dev.env", f"S3M_TOKEN={C['S3M_10']}\nS3M_ENCLAVE=open\nS3M_RESOURCE=odo\n",
           readable(), "dev .env")
    o.text(f"{p}/bin/s3m-submit.sh", [
        block(r"""
        #!/usr/bin/env bash
        # Submit a job to an OLCF resource through S3M.
        #   s3m-submit.sh [resource] payload.json
        set -euo pipefail

        ENCLAVE=${S3M_ENCLAVE:-open}
        RESOURCE=${1:-defiant}
        PAYLOAD=${2:?payload json}
        API=v0.0.43
        BASE="https://s3m.olcf.ornl.gov/slurm/$ENCLAVE/$API/$RESOURCE"
        """),
        N('HEADER_FILE=${S3M_HEADER_FILE:-$HOME/.s3m-header}', "path"),
        "",
        "usage() {",
        "    cat <<EOF",
        "usage: $(basename \"$0\") [resource] payload.json",
        "",
        "Reads the S3M token from \\$HEADER_FILE (one line: 'Authorization: <token>').",
        N("Do NOT run curl -H \"Authorization: \\$S3M_TOKEN\" by hand; ps shows it.",
          "help text inside a heredoc, not a command"),
        "EOF",
        "}",
        "",
        'if [[ ! -r $HEADER_FILE ]]; then',
        '    usage >&2',
        '    exit 1',
        'fi',
        'if [[ $(stat -c %a "$HEADER_FILE") != 600 ]]; then',
        '    echo "warning: $HEADER_FILE should be mode 600" >&2',
        'fi',
        "",
        N('curl -sSf -H @"$HEADER_FILE" "$BASE/ping" >/dev/null || { echo "S3M ping failed" >&2; exit 2; }',
          "header from file"),
        "",
        N('JOB_ID=$(curl -sS -X POST -H @"$HEADER_FILE" -H "Content-Type: application/json" \\\n'
          '    --data @"$PAYLOAD" "$BASE/job/submit" | jq -r \'.job_id // empty\')',
          "header from file inside $(...)"),
        '[[ -n $JOB_ID ]] || { echo "submit failed" >&2; exit 3; }',
        'echo "submitted $JOB_ID to $RESOURCE"',
        "",
        'while :; do',
        N('    state=$(curl -sS -H @"$HEADER_FILE" "$BASE/job/$JOB_ID" | jq -r \'.jobs[0].job_state[0]\')',
          "header from file"),
        '    case $state in',
        '        COMPLETED|FAILED|CANCELLED|TIMEOUT) break ;;',
        '    esac',
        '    sleep 60',
        'done',
        'echo "$JOB_ID $state"',
    ], mode=0o755)
    o.text(f"{p}/bin/legacy_poll.sh", [
        "#!/bin/bash",
        "# old poller from the 2024 campaign - kept for the cron on login3",
        "BASE=https://s3m.olcf.ornl.gov/slurm/open/v0.0.43/defiant",
        "JOB=$1",
        N("TOKEN=$(cat ~/.s3m/token)", "plain assignment from a file"),
        "while true; do",
        P('  if curl -sf -H "Authorization: $TOKEN" "$BASE/job/$JOB" -o state.json; then',
          (TOC, "token variable in curl header inside an if condition (CRLF file)")),
        "    st=$(jq -r '.jobs[0].job_state[0]' state.json)",
        '    echo "$(date +%T) $JOB $st"',
        '    [ "$st" = "COMPLETED" ] && break',
        "  fi",
        "  sleep 120",
        "done",
    ], mode=0o755, crlf=True)
    o.text(f"{p}/bin/stream.sh", [
        block(r"""
        #!/usr/bin/env bash
        # Provision a Redis streaming cluster and check it answers.
        set -eu
        S3M=https://s3m.olcf.ornl.gov/olcf/open/v1alpha/streaming
        NAME=${1:-ingest}
        """),
        N(": \"${S3M_TOKEN:?set S3M_TOKEN (e.g. S3M_TOKEN=$(cat ~/.s3m/token))}\"", "parameter check"),
        "",
        P('curl -sS -X POST "$S3M/redis/provision_cluster" \\\n'
          '    -H "Authorization: ${S3M_TOKEN}" \\\n'
          '    -H "Content-Type: application/json" \\\n'
          '    -d "{\\"kind\\":\\"general\\",\\"name\\":\\"$NAME\\",\\"resourceSettings\\":{\\"cpus\\":2,\\"ram-gbs\\":8,\\"nodes\\":1}}" \\\n'
          '    | tee cluster.json',
          (TOC, "backslash-continued curl with S3M token header (label on first line)")),
        "chmod 600 cluster.json",
        "URL=$(jq -r .url cluster.json)",
        "HOST=$(echo \"$URL\" | sed -E 's#.*@([^:/]+).*#\\1#')",
        "USER_=$(echo \"$URL\" | sed -E 's#^rediss?://([^:]+):.*#\\1#')",
        "PW=$(echo \"$URL\" | sed -E 's#^rediss?://[^:]+:([^@]+)@.*#\\1#')",
        P('redis-cli --tls -h "$HOST" -p 443 --user "$USER_" -a "$PW" ping',
          (TOC, "redis-cli -a with the stream password variable")),
        N('REDISCLI_AUTH="$PW" redis-cli --tls -h "$HOST" -p 443 --user "$USER_" xlen events',
          "password in the environment"),
        N('curl -sS -H @"$HOME/.s3m-header" "$S3M/redis/list_clusters" | jq -r \'.clusters[].name\'',
          "header from file"),
    ], mode=0o755)
    o.text(f"{p}/Makefile", [
        N("S3M_BASE ?= https://s3m.olcf.ornl.gov", "URL"),
        N("HEADER ?= $(HOME)/.s3m-header", "path"),
        N("TOKEN_FILE ?= $(HOME)/.s3m/token", "path"),
        N("S3M_TOKEN ?= $(shell cat $(TOKEN_FILE))", "make variable, not exported"),
        "RES ?= defiant",
        "",
        ".PHONY: ping jobs introspect status image",
        "",
        "ping:",
        N("\tcurl -sS -H @$(HEADER) $(S3M_BASE)/slurm/open/v0.0.43/$(RES)/ping", "header from file"),
        "",
        "jobs:",
        P("\tcurl -sS -H \"Authorization: $$(cat $(TOKEN_FILE))\" $(S3M_BASE)/slurm/open/v0.0.43/$(RES)/jobs | jq .",
          (TOC, "shell command substitution ($$(...)) in a make recipe puts the token in argv")),
        "",
        "introspect:",
        P("\t@curl -sS -H \"Authorization: $(S3M_TOKEN)\" $(S3M_BASE)/olcf/v1/token/ctls/introspect | jq .token",
          (TOC, "make variable holding the token expanded into curl's argv")),
        "",
        "status:",
        N("\tcurl -s $(S3M_BASE)/olcf/v1alpha/status | jq '.resources[] | {name, status}'", "no credential"),
        "",
        "image:",
        N("\tdocker build --secret id=s3m_header,src=$(HEADER) -t s3m-wf:latest .", "BuildKit secret"),
    ])
    o.text(f"{p}/Dockerfile", [
        "# syntax=docker/dockerfile:1.7",
        "FROM python:3.11-slim AS base",
        N("ARG PIP_INDEX_URL=https://pypi.org/simple", "not a secret"),
        N("ARG S3M_ENCLAVE=open", "not a secret"),
        N("ENV S3M_BASE=https://s3m.olcf.ornl.gov \\\n    S3M_ENCLAVE=${S3M_ENCLAVE} \\\n"
          "    S3M_TOKEN_FILE=/run/secrets/s3m_token", "token file path, not a token"),
        "RUN apt-get update && apt-get install -y --no-install-recommends curl jq \\",
        "    && rm -rf /var/lib/apt/lists/*",
        "COPY requirements.txt /app/",
        "RUN pip install --no-cache-dir -r /app/requirements.txt",
        "# the token is only mounted for this step and never lands in a layer",
        N("RUN --mount=type=secret,id=s3m_header,target=/run/secrets/s3m_header \\\n"
          "    curl -sSf -H @/run/secrets/s3m_header https://s3m.olcf.ornl.gov/olcf/v1/token/ctls/introspect > /dev/null",
          "BuildKit secret mount, header from file"),
        "COPY src/ /app/src/",
        "WORKDIR /app",
        'ENTRYPOINT ["python", "-m", "src.worker"]',
    ])
    o.text(f"{p}/docker/Dockerfile.worker", [
        "FROM registry.⟦DOMAIN⟧/base/python:3.11",
        'LABEL maintainer="⟦u1⟧@⟦DOMAIN⟧"',
        "ENV S3M_BASE=https://s3m.olcf.ornl.gov",
        P("ENV S3M_TOKEN=⟦S3M_11⟧ \\\n    S3M_RESOURCE=defiant",
          (IMG, "literal S3M token baked into the image with ENV")),
        "ENV PYTHONUNBUFFERED=1",
        "COPY worker.py /opt/worker.py",
        'CMD ["python", "/opt/worker.py"]',
    ], crlf=True)
    o.text(f"{p}/.github/workflows/nightly.yml", [
        block("""
        name: nightly-s3m
        on:
          schedule:
            - cron: "17 3 * * *"
          workflow_dispatch: {}

        jobs:
          ping:
            runs-on: [self-hosted, olcf-dtn]
            env:
              S3M_BASE: https://s3m.olcf.ornl.gov
            steps:
              - uses: actions/checkout@v4
              - name: write header file
                env:
                  S3M_TOKEN: ${{ secrets.S3M_TOKEN }}
                run: |
                  umask 077
                  printf 'Authorization: %s\\n' "$S3M_TOKEN" > "$RUNNER_TEMP/s3m.hdr"
              - name: ping
        """),
        N('        run: curl -sSf -H @"$RUNNER_TEMP/s3m.hdr" "$S3M_BASE/slurm/open/v0.0.43/defiant/ping"',
          "header from file"),
        "      - name: job count (old way)",
        "        env:",
        "          S3M_TOKEN: ${{ secrets.S3M_TOKEN }}",
        "        run: |",
        P('          curl -sSf -H "Authorization: $S3M_TOKEN" \\\n'
          '            "$S3M_BASE/slurm/open/v0.0.43/defiant/jobs" | jq \'.jobs | length\'',
          (TOC, "secret exposed as env var, then put in curl's argv")),
        "      - name: introspect",
        P('        run: curl -sS -H "Authorization: ${{ secrets.S3M_TOKEN }}" "$S3M_BASE/olcf/v1/token/ctls/introspect" | jq .token.plannedExpiration',
          (TOC, "Actions expression substitutes the secret into the command text, so it is in argv")),
        "      - name: cleanup",
        "        if: always()",
        '        run: rm -f "$RUNNER_TEMP/s3m.hdr"',
    ])
    # batch scripts
    o.text(f"{p}/jobs/train_defiant.sbatch", [
        block("""
        #!/bin/bash
        #SBATCH -A ⟦PROJ⟧
        #SBATCH -J train-defiant
        #SBATCH -N 2
        #SBATCH -t 02:00:00
        #SBATCH -o logs/%x-%j.out

        module load PrgEnv-gnu cray-python
        source $HOME/venvs/train/bin/activate
        """),
        "# the driver polls the REST API for sibling jobs",
        P("export SLURM_JWT=⟦SJWT_3⟧",
          (SJ, "SLURM_JWT exported inside a batch script"), (EXP, "literal Slurm JWT exported")),
        P('curl -s -H "X-SLURM-USER-NAME: $USER" -H "X-SLURM-USER-TOKEN: $SLURM_JWT" http://slurmrestd.⟦DOMAIN⟧:6820/slurm/v0.0.43/jobs/ > jobs.json',
          (TOC, "Slurm JWT variable in curl header")),
        "srun -n 16 python train.py --config configs/defiant.yaml",
    ], mode=0o755)
    o.text(f"{p}/jobs/postproc.sbatch", [
        "#!/bin/bash",
        "#SBATCH -A ⟦PROJ⟧",
        "#SBATCH -J postproc",
        "#SBATCH -N 1",
        "#SBATCH -t 00:30:00",
        P("#SBATCH --export=ALL,SLURM_JWT", (SJ, "#SBATCH --export passes SLURM_JWT into the job")),
        "",
        "srun python postproc.py --in out/ --out summary/",
    ], mode=0o644)
    o.text(f"{p}/jobs/clean.sbatch", [
        "#!/bin/bash",
        "#SBATCH -A ⟦PROJ⟧",
        "#SBATCH -J clean",
        N("#SBATCH --export=NONE", "no SLURM_JWT"),
        "#SBATCH -t 00:10:00",
        N("unset SLURM_JWT", "unset"),
        N('echo "SLURM_JWT present: ${SLURM_JWT:+yes}"', "only tests presence"),
        "find $MEMBERWORK/⟦projl⟧/scratch -mtime +14 -type f -delete",
    ], mode=0o644)
    o.text(f"{p}/jobs/chain.sh", [
        "#!/bin/bash",
        "# submit train -> postproc chain; postproc talks to slurmrestd",
        "set -e",
        N("export SLURM_JWT=$(scontrol token lifespan=7200 | cut -d= -f2)",
          "not a batch script, and a command substitution"),
        "JID=$(sbatch --parsable train_defiant.sbatch)",
        P("sbatch --export=ALL,SLURM_JWT=$SLURM_JWT --dependency=afterok:$JID postproc.sbatch",
          (SJ, "sbatch --export hands SLURM_JWT to the job")),
        N("sbatch --export=NONE --dependency=afterany:$JID clean.sbatch", "no SLURM_JWT"),
    ], mode=0o755)
    o.notebook(f"{p}/notebooks/explore.ipynb", [
        ("markdown", ["# Defiant queue explorer", "", "Token is read from `~/.s3m/token` (mode 600)."]),
        ("code", ["import os, json, subprocess", "import requests", "",
                  'BASE = "https://s3m.olcf.ornl.gov/slurm/open/v0.0.43"',
                  N('token = open(os.path.expanduser("~/.s3m/token")).read().strip()', "reads a file"),
                  N('r = requests.get(f"{BASE}/defiant/jobs", headers={"Authorization": token}, timeout=30)',
                    "in-process HTTP, no argv"),
                  "jobs = r.json()['jobs']", "len(jobs)"], "37"),
        ("code", [N("!curl -s https://s3m.olcf.ornl.gov/olcf/v1alpha/status | head -c 300", "no credential")],
         '{"resources":[{"name":"defiant","status":"OPERATIONAL"},{"name":"odo","status":"OPERATIONAL"}'),
        ("code", [P('!curl -s -H "Authorization: {token}" https://s3m.olcf.ornl.gov/slurm/open/v0.0.44/odo/nodes | jq \'.nodes | length\'',
                    (TOC, "IPython interpolates the Python token variable into curl's argv"))], "128"),
        ("code", ["%%bash", "set -e",
                  N('curl -sS -H @$HOME/.s3m-header https://s3m.olcf.ornl.gov/slurm/open/v0.0.43/defiant/partitions | jq -r \'.partitions[].name\'',
                    "header from file"),
                  N("export S3M_TOKEN=$(cat ~/.s3m/token)", "command substitution"),
                  P('curl -sS -H "Authorization: $S3M_TOKEN" https://s3m.olcf.ornl.gov/slurm/open/v0.0.43/defiant/reservations | jq .',
                    (TOC, "%%bash cell: token variable in curl header"))], "batch\nextended\n{}"),
        ("code", [N("!munge -n | unmunge | head -3", "into unmunge")], "STATUS:          Success (0)\nENCODE_HOST:     login1\nENCODE_TIME:     2026-03-02 10:11:12"),
    ])

    # ================================================================ projects/alcf-iri
    p = "projects/alcf-iri"
    o.text(f"{p}/bin/get_token.sh", [
        "#!/bin/bash",
        "# refresh the ALCF IRI access token (shell port of alcf-tokens.sh)",
        "set -euo pipefail",
        N("CLIENT_ID=⟦ALCF_NEW⟧", "public client id"),
        N("TOKEN_URL=https://auth.globus.org/v2/oauth2/token", "URL"),
        N("TOKEN_FILE=${ALCF_TOKENS_FILE:-$HOME/.globus/app/$CLIENT_ID/alcf_tokens/tokens-bash.json}", "path"),
        "RS=⟦IRI_RS⟧",
        "",
        "refresh_v1() {",
        "    local refresh",
        "    refresh=$(jq -r --arg rs \"$RS\" '.by_resource_server[$rs].refresh_token' \"$TOKEN_FILE\")",
        P('    curl -s -X POST "$TOKEN_URL" \\\n'
          '        -d grant_type=refresh_token \\\n'
          '        -d client_id="$CLIENT_ID" \\\n'
          '        -d refresh_token="$refresh"',
          (TOC, "refresh_token form field from a variable (continued command, first line)")),
        "}",
        "",
        "# v2: the refresh token never reaches argv",
        "refresh_v2() {",
        N('    jq -r --arg rs "$RS" \'.by_resource_server[$rs].refresh_token\' "$TOKEN_FILE" |\n'
          '    curl -s -X POST "$TOKEN_URL" \\\n'
          '        --data-urlencode grant_type=refresh_token \\\n'
          '        --data-urlencode client_id="$CLIENT_ID" \\\n'
          '        --data-urlencode refresh_token@-',
          "refresh token read from stdin (name@-)"),
        "}",
        "",
        'case ${1:-v2} in',
        '    v1) refresh_v1 ;;',
        '    *)  refresh_v2 ;;',
        'esac | jq -r .access_token',
    ], mode=0o755)
    o.text(f"{p}/iri_client.py", [
        block('''
        """Tiny IRI client used by the dashboards (ALCF Polaris)."""
        import json
        import os
        import shutil
        import subprocess
        import sys

        import requests

        IRI = os.environ.get("IRI_BASE", "https://api.alcf.anl.gov/api/v1")
        POLARIS = "⟦POLARIS⟧"
        '''),
        N('TOKEN_FILE = os.path.expanduser(os.environ.get("TOKEN_FILE", "~/.iri_token_alcf.json"))', "path"),
        "",
        "",
        "def token():",
        "    with open(TOKEN_FILE) as fh:",
        '        return json.load(fh)["access_token"]',
        "",
        "",
        "def get(path):",
        N('    r = requests.get(f"{IRI}/{path}", headers={"Authorization": f"Bearer {token()}"}, timeout=60)',
          "in-process HTTP"),
        "    r.raise_for_status()",
        "    return r.json()",
        "",
        "",
        "def get_with_curl(path):",
        '    """Fallback for the login nodes where requests has no CA bundle."""',
        "    tok = token()",
        P('    out = subprocess.run(["curl", "-sS", "-H", f"Authorization: Bearer {tok}", f"{IRI}/{path}"], check=True, capture_output=True, text=True)',
          (TOC, "subprocess argv carries the bearer token")),
        "    return json.loads(out.stdout)",
        "",
        "",
        "def get_with_header_file(path, hdr=os.path.expanduser('~/.iri.hdr')):",
        N('    out = subprocess.run(["curl", "-sS", "-H", "@" + hdr, f"{IRI}/{path}"], check=True, capture_output=True, text=True)',
          "header from file"),
        "    return json.loads(out.stdout)",
        "",
        "",
        "def status():",
        N('    os.system(f"curl -s {IRI}/status/resources/{POLARIS} | jq .status")', "no credential"),
        "",
        "",
        'if __name__ == "__main__":',
        '    print(json.dumps(get(sys.argv[1] if len(sys.argv) > 1 else "account/projects"), indent=2))',
    ])
    o.text(f"{p}/bin/launch_job.sh", [
        block("""
        #!/usr/bin/env bash
        # launch a job on Polaris through the IRI API
        set -euo pipefail
        IRI=https://api.alcf.anl.gov/api/v1
        POLARIS=⟦POLARIS⟧
        SPEC=${1:-jobspec.json}
        """),
        N('ALCF_TOKEN=$("$(dirname "$0")"/get_token.sh)', "assignment from a command"),
        P('resp=$(curl -sS -X POST "$IRI/compute/job/$POLARIS" -H "Authorization: Bearer ${ALCF_TOKEN}" -H \'Content-Type: application/json\' --data @"$SPEC")',
          (TOC, "bearer token variable in curl header inside $(...)")),
        'job=$(jq -r .id <<<"$resp")',
        'echo "launched $job"',
        'for i in $(seq 1 120); do',
        P('    st=$(curl -sS -H "Authorization: Bearer $ALCF_TOKEN" "$IRI/compute/status/$POLARIS/$job" | jq -r .status.state)',
          (TOC, "bearer token variable in a polling curl")),
        '    [[ $st == completed || $st == failed || $st == canceled ]] && break',
        '    sleep 30',
        'done',
    ], mode=0o755)
    o.text(f"{p}/.gitlab-ci.yml", [
        block("""
        variables:
          IRI_BASE: https://api.alcf.anl.gov/api/v1
          POLARIS: ⟦POLARIS⟧

        stages: [check, submit, report]

        status:
          stage: check
          image: curlimages/curl:8.8.0
          script:
        """),
        N('    - curl -sf "$IRI_BASE/status/resources/$POLARIS" | tee status.json', "no credential"),
        "",
        "submit:",
        "  stage: submit",
        "  image: curlimages/curl:8.8.0",
        "  script:",
        "    - >",
        P('      curl -sSf -X POST "$IRI_BASE/compute/job/$POLARIS"\n'
          '      -H "Authorization: Bearer $ALCF_IRI_TOKEN"\n'
          '      -H "Content-Type: application/json"\n'
          '      --data @ci/jobspec.json -o job.json',
          (TOC, "folded YAML scalar: curl with bearer token variable (label on the curl line)")),
        "  artifacts:",
        "    paths: [job.json]",
        "",
        "projects:",
        "  stage: report",
        "  image: curlimages/curl:8.8.0",
        "  script:",
        N("    - 'curl -sS --variable %ALCF_IRI_TOKEN --expand-header \"Authorization: Bearer {{ALCF_IRI_TOKEN}}\" \"$IRI_BASE/account/projects\" -o projects.json'",
          "curl expands the variable itself; argv holds only {{ALCF_IRI_TOKEN}}"),
        P('    - curl -sS --oauth2-bearer "$ALCF_IRI_TOKEN" "$IRI_BASE/account/projects/⟦projl⟧/project_allocations"',
          (TOC, "--oauth2-bearer with token variable")),
    ])
    o.text(f"{p}/Dockerfile", [
        "FROM mambaorg/micromamba:1.5.8",
        N("ARG GLOBUS_CLIENT_ID=⟦UUID_1⟧", "client id is not a secret"),
        P("ARG GLOBUS_CLIENT_SECRET", (IMG, "ARG named like a secret ends up in the image history")),
        N("ARG IRI_BASE=https://api.alcf.anl.gov/api/v1", "URL"),
        N("ENV IRI_BASE=${IRI_BASE}", "URL"),
        "COPY env.yml /tmp/env.yml",
        "RUN micromamba install -y -n base -f /tmp/env.yml && micromamba clean -a -y",
        "COPY register.py /opt/register.py",
        "RUN python /opt/register.py --dry-run",
        N("RUN --mount=type=secret,id=globus_secret,env=GLOBUS_SECRET python /opt/register.py", "BuildKit secret"),
    ])
    o.text(f"{p}/docs/auth.md", [
        block("""
        # Authenticating to the ALCF IRI API

        1. `python3 alcf_facility_api_globus_token.py authenticate` (once per 7 days).
        2. Use the access token from Python (`requests`), never on a command line.

        Don't:

        ```sh
        curl -H "Authorization: Bearer <your-token>" https://api.alcf.anl.gov/api/v1/account/projects
        curl -H "Authorization: Bearer ${TOKEN}" https://api.alcf.anl.gov/api/v1/account/projects
        ```

        and don't bake the client secret into images:

        ```dockerfile
        ARG GLOBUS_CLIENT_SECRET
        ```

        Do:

        ```sh
        printf 'Authorization: Bearer %s\\n' "$(python3 alcf_facility_api_globus_token.py get_access_token)" > ~/.iri.hdr
        chmod 600 ~/.iri.hdr
        curl -H @$HOME/.iri.hdr https://api.alcf.anl.gov/api/v1/account/projects
        ```

        Revoke a leaked token with `POST https://auth.globus.org/v2/oauth2/token/revoke`
        and mail support@alcf.anl.gov.
        """),
    ])
    o.notebook(f"{p}/notebooks/polaris_usage.ipynb", [
        ("markdown", ["## Polaris allocation usage"]),
        ("code", ["import subprocess, json",
                  N('tok = subprocess.run(["python3", "alcf_facility_api_globus_token.py", "get_access_token"], capture_output=True, text=True).stdout.strip()',
                    "gets the token; no credential in argv")]),
        ("code", ["%%bash",
                  N("TOKEN=$(python3 ~/bin/alcf_facility_api_globus_token.py get_access_token)", "assignment"),
                  P('curl -s -H "Authorization: Bearer $TOKEN" https://api.alcf.anl.gov/api/v1/account/projects | jq -r \'.[].name\'',
                    (TOC, "%%bash cell: bearer token variable in curl header"))], "⟦projl⟧\ndatascience"),
        ("code", [P('!xh get https://api.alcf.anl.gov/api/v1/account/projects/⟦projl⟧/user_allocations Authorization:"Bearer {tok}"',
                    (TOC, "xh header item with the interpolated token"))]),
        ("code", [N('!curl -s https://api.alcf.anl.gov/api/v1/status/resources/⟦POLARIS⟧ | jq .status', "no credential")],
         '"up"'),
    ])

    # ================================================================ projects/palmetto-dash
    p = "projects/palmetto-dash"
    o.text(f"{p}/collector/poll.sh", [
        block("""
        #!/bin/bash
        # collect queue state from Palmetto every 5 minutes (cron)
        set -u
        API=https://api.palmetto.clemson.edu
        VER=${PALMETTO_API_VERSION:-v0.0.44}
        OUT=${OUT:-/data/palmetto}
        mkdir -p "$OUT"
        """),
        N('jobs_json=$(curl -sf -H "Authorization: MUNGE $(munge -n -t 5)" "$API/slurm/$VER/jobs")',
          "documented short-lived MUNGE form"),
        N('echo "$jobs_json" > "$OUT/jobs.json"', "builtin"),
        N('curl -sf -H "Authorization: MUNGE $(munge -n -t 5)" -H "Accept: application/json" "$API/slurmdb/$VER/jobs?users=$USER" > "$OUT/acct.json"',
          "short-lived MUNGE form"),
        "",
        "# partitions through the owner token (RCD-issued, see /etc/palmetto-dash/key)",
        N("PALMETTO_API_KEY=$(< /etc/palmetto-dash/key)", "assignment from a file"),
        P('curl -sf \\\n    -H "Authorization: Bearer $PALMETTO_API_KEY" \\\n    "$API/slurm/$VER/partitions" > "$OUT/partitions.json"',
          (TOC, "bearer key variable in a backslash-continued curl")),
        "",
        "# old nodes call, kept until the proxy accepts -t 5 from cron hosts",
        P('hdr="Authorization: MUNGE $(munge --no-input)"', (MUN, "munge --no-input (-n) without TTL into a variable")),
        P('curl -sf -H "$hdr" "$API/slurm/$VER/nodes" > "$OUT/nodes.json"',
          (TOC, "header variable holding a 300 s MUNGE credential in curl's argv")),
        "",
        N("munge -n -t 5 | unmunge >/dev/null || logger -t palmetto-dash 'munge broken'", "into unmunge"),
    ], mode=0o755)
    o.text(f"{p}/collector/collect.py", [
        block('''
        """Palmetto API collector (runs on the owner node)."""
        import json
        import os
        import subprocess

        import requests

        API = "https://api.palmetto.clemson.edu"
        VER = os.environ.get("PALMETTO_API_VERSION", "v0.0.44")
        '''),
        "",
        "",
        "def munge_cred(ttl=5):",
        N('    out = subprocess.run(["munge", "-n", "-t", str(ttl)], check=True, capture_output=True, text=True)',
          "munge with a TTL"),
        "    return out.stdout.strip()",
        "",
        "",
        "def munge_cred_legacy():",
        P('    return subprocess.check_output(["munge", "-n"], text=True).strip()',
          (MUN, "munge -n without -t; credential returned to the caller for an HTTP header")),
        "",
        "",
        "def jobs():",
        N('    h = {"Authorization": f"MUNGE {munge_cred()}"}', "in-process header"),
        '    return requests.get(f"{API}/slurm/{VER}/jobs", headers=h, timeout=30).json()',
        "",
        "",
        "def nodes_legacy():",
        '    h = {"Authorization": f"MUNGE {munge_cred_legacy()}"}',
        '    return requests.get(f"{API}/slurm/{VER}/nodes", headers=h, timeout=30).json()',
        "",
        "",
        "def reservations(api_key):",
        P('    os.system(f"curl -s -H \'Authorization: Bearer {api_key}\' {API}/slurm/{VER}/reservations > /tmp/res.json")',
          (TOC, "os.system shell command with the bearer key")),
        '    with open("/tmp/res.json") as fh:',
        "        return json.load(fh)",
        "",
        "",
        'if __name__ == "__main__":',
        "    print(len(jobs()['jobs']))",
    ])
    o.text(f"{p}/windows/poll.bat", [
        "@echo off",
        "REM poll Palmetto from the lab PC (scheduled task)",
        "setlocal",
        "set API=https://api.palmetto.clemson.edu",
        N('set /p PALMETTO_API_KEY=<"%USERPROFILE%\\.palmetto\\api_key"', "read from a file"),
        N("curl.exe -s %API%/meta/versions/latest", "no credential"),
        P('curl.exe -s -H "Authorization: Bearer %PALMETTO_API_KEY%" %API%/slurm/v0.0.44/jobs -o "%TEMP%\\jobs.json"',
          (TOC, "bearer key variable in curl.exe header (CRLF .bat)")),
        'if errorlevel 1 echo poll failed >> "%TEMP%\\poll.log"',
        "endlocal",
    ], crlf=True)
    o.text(f"{p}/deploy/cronjob.yaml", [
        block("""
        apiVersion: batch/v1
        kind: CronJob
        metadata:
          name: palmetto-poll
          namespace: dash
        spec:
          schedule: "*/5 * * * *"
          jobTemplate:
            spec:
              template:
                spec:
                  restartPolicy: OnFailure
                  containers:
                    - name: poll
                      image: registry.⟦DOMAIN⟧/palmetto-dash:1.4
                      env:
                        - name: PALMETTO_API_KEY
                          valueFrom:
                            secretKeyRef:
                              name: palmetto-api
                              key: token
                      command: ["/bin/sh", "-c"]
                      args:
                        - |
                          set -e
        """),
        P('                  curl -sf -H "Authorization: Bearer ${PALMETTO_API_KEY}" \\\n'
          '                    https://api.palmetto.clemson.edu/slurm/v0.0.44/jobs > /data/jobs.json',
          (TOC, "secret mounted as env var, then put in curl's argv")),
        block("""
                    - name: poll-nodes
                      image: registry.⟦DOMAIN⟧/palmetto-dash:1.4
                      volumeMounts:
                        - name: hdr
                          mountPath: /etc/palmetto
                          readOnly: true
        """).replace("\n", "\n" + " " * 12).join([" " * 12, ""]),
        N('              command: ["curl", "-sf", "-H", "@/etc/palmetto/header", "-o", "/data/nodes.json", "https://api.palmetto.clemson.edu/slurm/v0.0.44/nodes"]',
          "header from a mounted file"),
        "          volumes:",
        "            - name: hdr",
        "              secret:",
        "                secretName: palmetto-header",
        "                defaultMode: 0400",
    ])
    o.text(f"{p}/Dockerfile", [
        "FROM python:3.12-alpine",
        "RUN apk add --no-cache curl jq munge",
        P("ARG PALMETTO_API_KEY", (IMG, "ARG named like a secret")),
        N("ARG PALMETTO_API_VERSION=v0.0.44", "not a secret"),
        N("ENV PALMETTO_API_URL=https://api.palmetto.clemson.edu", "URL"),
        N("ENV API_KEY_FILE=/run/secrets/palmetto_api_key", "path"),
        "COPY collector/ /app/collector/",
        'CMD ["python", "/app/collector/collect.py"]',
    ])
    o.notebook(f"{p}/notebooks/queue.ipynb", [
        ("code", ["import requests",
                  'API = "https://api.palmetto.clemson.edu"',
                  P("cred = !munge -n", (MUN, "IPython captures munge -n (no TTL) into a variable")),
                  'r = requests.get(f"{API}/slurm/v0.0.44/jobs", headers={"Authorization": f"MUNGE {cred[0]}"})',
                  "r.status_code"], "200"),
        ("code", [N('!curl -s -H "Authorization: MUNGE $(munge -n -t 5)" https://api.palmetto.clemson.edu/slurm/v0.0.44/ping/ | jq .pings',
                    "documented short-lived form")]),
    ])

    # ================================================================ projects/slurm-rest (admin)
    p = "projects/slurm-rest"
    o.cred(f"{p}/admin/backup/etc/munge/munge.key", m.b(1024), readable(), "MUNGE shared key backup")
    o.cred(f"{p}/admin/backup/statesave/jwt_hs256.key", m.b(32), readable(), "Slurm JWT HS256 key backup")
    o.cred(f"{p}/admin/keys/jwt_hs256.key", m.b(32), 0o600, "Slurm JWT HS256 key")
    o.cred(f"{p}/admin/keys/munge.key", m.b(128), 0o400, "MUNGE shared key")
    o.text(f"{p}/admin/slurm.conf.d/auth.conf", [
        "AuthType=auth/munge",
        "AuthAltTypes=auth/jwt",
        N("AuthAltParameters=jwt_key=/var/spool/slurmctld/jwt_hs256.key", "key path, not a key"),
    ])
    o.text(f"{p}/admin/slurmrestd-launch.sh", [
        "#!/bin/bash",
        "# started by slurmrestd.service",
        N("export SLURM_JWT=daemon", "slurmrestd mode flag, not a token (and not a batch script)"),
        "export SLURMRESTD_SECURITY=disable_unshare_files",
        "exec /usr/sbin/slurmrestd -a rest_auth/jwt -s slurmctld,slurmdbd -d v0.0.43 0.0.0.0:6820",
    ], mode=0o755)
    o.text(f"{p}/rest/submit_rest.sh", [
        "#!/bin/bash",
        "set -euo pipefail",
        "REST=http://slurmrestd.⟦DOMAIN⟧:6820",
        N("eval \"$(scontrol token lifespan=900)\"", "sets SLURM_JWT in the shell, nothing literal"),
        P('curl -s -X POST "$REST/slurm/v0.0.43/job/submit" \\\n'
          '     -H "X-SLURM-USER-NAME: $USER" \\\n'
          '     -H "X-SLURM-USER-TOKEN: $SLURM_JWT" \\\n'
          '     -H "Content-Type: application/json" \\\n'
          '     -d @job.json | jq .job_id',
          (TOC, "Slurm JWT variable in X-SLURM-USER-TOKEN header (continued command)")),
        N('curl -s --unix-socket /run/slurmrestd/slurmrestd.socket http://localhost/slurm/v0.0.43/ping/ | jq .pings',
          "local socket, no token"),
        N("unset SLURM_JWT", "unset"),
    ], mode=0o755)
    o.text(f"{p}/rest/dev-env.sh", [
        "# source me: dev settings for the REST client tests",
        N("export SLURMRESTD_URL=http://slurmrestd.⟦DOMAIN⟧:6820", "URL"),
        P("export SLURM_JWT=⟦SJWT_4⟧", (EXP, "literal Slurm JWT exported from a sourced script")),
        N("export SLURM_JWT_LIFESPAN=86400", "not a credential"),
    ])
    o.text(f"{p}/batch/array.sbatch", [
        "#!/bin/bash",
        "#SBATCH --array=0-99%10",
        "#SBATCH -t 01:00:00",
        "#SBATCH -o out/%A_%a.out",
        P("export SLURM_JWT=$(scontrol token lifespan=86400 | cut -d= -f2)",
          (SJ, "SLURM_JWT exported inside a batch script (value from scontrol token)")),
        'python3 rest_worker.py --task "$SLURM_ARRAY_TASK_ID"',
    ])
    # long batch script, problem far down
    long_items = [
        "#!/bin/bash",
        "#SBATCH -J pipeline",
        "#SBATCH -A ⟦PROJ⟧",
        "#SBATCH -N 4",
        "#SBATCH --ntasks-per-node=8",
        "#SBATCH -t 12:00:00",
        "#SBATCH -o logs/%x-%j.out",
        N("#SBATCH --export=ALL", "no SLURM_JWT named"),
        "",
        "set -euo pipefail",
        "module purge",
        "module load PrgEnv-gnu cray-hdf5 cray-python",
        "",
    ]
    stages = ["fetch", "decode", "calibrate", "grid", "regrid", "merge", "stats", "plot", "archive", "index"]
    for st in stages:
        long_items += [
            f"stage_{st}() {{",
            f'    local in=$WORK/{st}.in out=$WORK/{st}.out',
            f'    log "starting {st} on $SLURM_JOB_NUM_NODES nodes"',
            f'    if [[ -e $out/.done ]]; then log "{st} already done"; return 0; fi',
            f'    mkdir -p "$out"',
            f'    srun -n {rng.choice([8, 16, 32])} --cpu-bind=cores python3 -m pipeline.{st} \\',
            f'        --in "$in" --out "$out" --threads ${{OMP_NUM_THREADS:-4}}',
            f'    touch "$out/.done"',
            f'    log "{st} finished"',
            "}",
            "",
        ]
    long_items += [
        "log() { printf '%s [%s] %s\\n' \"$(date +%FT%T)\" \"$SLURM_JOB_ID\" \"$*\"; }",
        "WORK=$MEMBERWORK/⟦projl⟧/pipeline/$SLURM_JOB_ID",
        N("export OMP_NUM_THREADS=4", "not a credential"),
        N("export MAX_TOKENS=4096", "name contains TOKENS; not a credential"),
        "",
        "# status callbacks go to slurmrestd (see README)",
        P('export SLURM_JWT="⟦SJWT_5⟧"',
          (SJ, "SLURM_JWT exported far down a long batch script"), (EXP, "literal Slurm JWT exported")),
        "",
    ] + [f"stage_{st}" for st in stages] + ['log "all stages done"']
    o.text(f"{p}/batch/pipeline.sbatch", long_items)
    o.text(f"{p}/batch/rest_client.sbatch", [
        "#!/usr/bin/env bash",
        "#SBATCH --job-name=rest-client",
        "#SBATCH --time=00:20:00",
        "#SBATCH --partition=debug",
        P('declare -x SLURM_JWT="⟦SJWT_6⟧"',
          (SJ, "declare -x SLURM_JWT in a batch script"), (EXP, "declare -x of a literal Slurm JWT")),
        "srun ./rest_client --url http://slurmrestd.⟦DOMAIN⟧:6820 --version v0.0.43",
    ])
    o.text(f"{p}/batch/env.sbatch", [
        "#!/bin/bash",
        "#SBATCH -J env-check",
        P("#SBATCH --export=PATH,HOME,SLURM_JWT", (SJ, "#SBATCH --export names SLURM_JWT")),
        "#SBATCH -t 5",
        "env | sort > env.$SLURM_JOB_ID.txt",
    ])
    o.text(f"{p}/batch/wrap.sh", [
        "#!/bin/bash",
        "# helper to resubmit failed array tasks",
        N("sbatch --wrap 'unset SLURM_JWT; srun hostname'", "explicit unset"),
        N("sbatch --export=NONE,HOME=$HOME array.sbatch", "no SLURM_JWT"),
        P('sbatch --export="ALL,SLURM_JWT=${SLURM_JWT}" --parsable --array="$1" array.sbatch',
          (SJ, "sbatch --export hands SLURM_JWT to the job")),
    ], mode=0o755)
    o.text(f"{p}/Dockerfile.client", [
        "FROM rockylinux:9",
        "RUN dnf -y install jq curl && dnf clean all",
        N("ENV SLURMRESTD_URL=http://slurmrestd.⟦DOMAIN⟧:6820", "URL"),
        P("ENV SLURM_JWT=⟦SJWT_7⟧", (IMG, "literal Slurm JWT baked into the image")),
        "COPY rest_client /usr/local/bin/",
    ])

    # ================================================================ projects/csm-ops
    p = "projects/csm-ops"
    o.text(f"{p}/sts/get-s3-creds.sh", [
        block("""
        #!/bin/bash
        # temporary S3 credentials from CSM STS (Generate_Temporary_S3_Credentials.md)
        set -euo pipefail
        GW=https://api-gw-service-nmn.local
        KC=$GW/keycloak/realms/shasta/protocol/openid-connect/token
        """),
        N("SECRET_FILE=/root/.admin-client-secret", "path"),
        "",
        "token_from_file() {",
        N('    curl -sk -d grant_type=client_credentials -d client_id=admin-client \\\n'
          '        --data-urlencode client_secret@"$SECRET_FILE" "$KC" | jq -r .access_token',
          "client secret read from a file (name@file)"),
        "}",
        "",
        "token_inline() {",
        P('    curl -sk -d grant_type=client_credentials -d client_id=admin-client \\\n'
          '        -d client_secret="$(cat "$SECRET_FILE")" "$KC" | jq -r .access_token',
          (TOC, "client_secret form field from a command substitution")),
        "}",
        "",
        "TOKEN=$(token_from_file)",
        P('curl -sk -X PUT -H "Authorization: Bearer $TOKEN" "$GW/apis/sts/token" > /tmp/sts.json',
          (TOC, "bearer token variable in curl header")),
        "chmod 600 /tmp/sts.json",
        N("export AWS_ACCESS_KEY_ID=$(jq -r .Credentials.AccessKeyId /tmp/sts.json)", "command substitution"),
        N("export AWS_SECRET_ACCESS_KEY=$(jq -r .Credentials.SecretAccessKey /tmp/sts.json)", "command substitution"),
        N("export AWS_SESSION_TOKEN=$(jq -r .Credentials.SessionToken /tmp/sts.json)", "command substitution"),
        "EP=$(jq -r .Credentials.EndpointURL /tmp/sts.json)",
        P('aws configure set aws_secret_access_key "$(jq -r .Credentials.SecretAccessKey /tmp/sts.json)" --profile sts',
          (TOC, "S3 secret from a command substitution given to aws configure set")),
        P('mc alias set csm "$EP" "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY"',
          (TOC, "mc alias set with the secret key variable")),
        N('aws --endpoint-url "$EP" s3 ls', "credentials from the environment"),
    ], mode=0o755)
    o.text(f"{p}/argo/s3-sync.yaml", [
        block("""
        apiVersion: argoproj.io/v1alpha1
        kind: Workflow
        metadata:
          generateName: s3-sync-
          namespace: argo
        spec:
          entrypoint: main
          templates:
            - name: main
              steps:
                - - name: token
                    template: token
                - - name: sync
                    template: sync
            - name: token
              script:
                image: registry.local/curl-jq:8
                command: [sh]
                source: |
                  set -e
        """),
        P('          curl -sk -H "Authorization: Bearer $(cat /var/run/secrets/kc/token)" \\\n'
          '            https://api-gw-service-nmn.local/apis/sts/token -X PUT -o /tmp/sts.json',
          (TOC, "command substitution puts the Keycloak token into curl's argv")),
        block("""
                volumeMounts:
                  - name: kc
                    mountPath: /var/run/secrets/kc
            - name: sync
              script:
                image: amazon/aws-cli:2.15.0
                command: [bash]
                env:
                  - name: RGW_ACCESS
                    valueFrom:
                      secretKeyRef: {name: rgw-sync, key: access}
                  - name: RGW_SECRET
                    valueFrom:
                      secretKeyRef: {name: rgw-sync, key: secret}
                source: |
                  set -euo pipefail
        """).replace("\n", "\n    ").join(["    ", ""]),
        N("          aws configure set aws_access_key_id \"$RGW_ACCESS\" --profile rgw", "access key id is not the secret"),
        P('          aws configure set aws_secret_access_key "$RGW_SECRET" --profile rgw',
          (TOC, "S3 secret variable given to aws configure set")),
        N('          aws --profile rgw --endpoint-url http://rgw-vip.nmn:8080 s3 sync /data s3://fusion-dt/', "no credential"),
        "  volumes:",
        "    - name: kc",
        "      secret:",
        "        secretName: kc-token",
    ])
    o.text(f"{p}/tekton/bos-task.yaml", [
        block("""
        apiVersion: tekton.dev/v1
        kind: Task
        metadata:
          name: bos-session
        spec:
          params:
            - name: kc-url
              type: string
          workspaces:
            - name: kc
          steps:
            - name: fetch-token
              image: curlimages/curl:8.8.0
              script: |
                #!/bin/sh
        """),
        N("        curl -sk --data-urlencode client_secret@$(workspaces.kc.path)/client-secret "
          "-d grant_type=client_credentials -d client_id=admin-client \"$(params.kc-url)\" -o /tekton/home/tok.json",
          "secret read from a file"),
        "    - name: call-bos",
        "      image: registry.local/curl-jq:8",
        "      script: |",
        "        #!/bin/sh",
        "        T=$(jq -r .access_token /tekton/home/tok.json)",
        P('        curl -sk -H "Authorization: Bearer $T" https://api-gw-service-nmn.local/apis/bos/v2/sessions',
          (TOC, "variable T holds the access token; it is put in curl's argv")),
    ])
    o.text(f"{p}/k8s/debug-pod.yaml", [
        block("""
        apiVersion: v1
        kind: Pod
        metadata:
          name: gw-debug
          namespace: services
        spec:
          restartPolicy: Never
          containers:
            - name: curl
              image: curlimages/curl:8.8.0
              env:
                - name: KC_TOKEN
                  valueFrom:
                    secretKeyRef: {name: kc-debug-token, key: token}
        """),
        P('      command: ["curl", "-sk", "-H", "Authorization: Bearer $(KC_TOKEN)", "https://api-gw-service-nmn.local/apis/hsm/v2/State/Components"]',
          (TOC, "kubelet expands $(KC_TOKEN) into the container's argv")),
    ])
    o.text(f"{p}/Dockerfile.cli", [
        "FROM registry.local/csm/cray-cli:1.9",
        N("ENV CRAY_CREDENTIALS=/tmp/setup-token.json", "path"),
        "ENV AWS_DEFAULT_REGION=default",
        N("ENV AWS_ENDPOINT_URL=http://rgw-vip.nmn:8080", "URL"),
        P("ENV AWS_SECRET_ACCESS_KEY ⟦RGW7_SK⟧", (IMG, "legacy `ENV KEY value` form with a literal S3 secret")),
        P("ARG KEYCLOAK_ADMIN_PASSWORD=⟦KCPW_2⟧", (IMG, "ARG with a literal admin password default")),
        N("ARG CSM_RELEASE=1.6.1", "not a secret"),
        "COPY scripts/ /opt/csm-ops/",
    ])
    o.text(f"{p}/docs/runbook.md", [
        block("""
        # CSM ops runbook (excerpt)

        Access tokens from Keycloak are valid for **365 days** by default; logging out does not
        revoke them. Keep them out of shell history and `ps`:

        ```sh
        # bad
        curl -H "Authorization: Bearer $TOKEN" https://api-gw-service-nmn.local/apis/sts/token
        # better
        curl -H @/root/.kc.hdr https://api-gw-service-nmn.local/apis/sts/token
        ```

        STS credentials expire after one hour (`DurationSeconds=3600`).
        """),
    ])

    # ================================================================ projects/ingest-pipeline
    p = "projects/ingest-pipeline"
    items = [
        "#!/usr/bin/env bash",
        "# ingest-pipeline: pull raw shots from the facility, stage to Ceph, notify IRI.",
        "# maintained by ⟦u5⟧ / ⟦u2⟧",
        "set -Eeuo pipefail",
        "shopt -s nullglob",
        "",
        "SCRIPT_DIR=$(cd \"$(dirname \"${BASH_SOURCE[0]}\")\" && pwd)",
        "source \"$SCRIPT_DIR/lib/common.sh\"",
        "",
        N('TOKEN_FILE=${TOKEN_FILE:-$HOME/.iri_token_alcf.json}', "path"),
        N('IRI_TOKEN_URL=https://auth.globus.org/v2/oauth2/token', "URL"),
        "",
    ]
    fn_names = ["check_space", "list_shots", "verify_manifest", "stage_shot", "compress_shot", "checksum_shot",
                "upload_shot", "update_index", "prune_staging", "write_report", "rotate_logs", "notify_chat"]
    for fn in fn_names:
        items += [
            f"{fn}() {{",
            f'    local shot=${{1:-}} rc=0',
            f'    log_info "{fn} ${{shot:-all}}"',
            f'    if [[ ${{DRY_RUN:-0}} -eq 1 ]]; then',
            f'        log_info "dry run: skipping {fn}"',
            f'        return 0',
            f'    fi',
            f'    for attempt in 1 2 3; do',
            f'        if "$SCRIPT_DIR/steps/{fn}.py" ${{shot:+--shot "$shot"}} --config "$CONFIG"; then',
            f'            rc=0; break',
            f'        fi',
            f'        rc=$?',
            f'        log_warn "{fn} failed (attempt $attempt, rc=$rc)"',
            f'        sleep $((attempt * {rng.choice([5, 10, 15])}))',
            f'    done',
            f'    return $rc',
            "}",
            "",
        ]
    items += [
        "usage() {",
        "    echo \"usage: $0 [-n] [-c config] run|notify|status\"",
        "}",
        "",
        "DRY_RUN=0",
        "CONFIG=$SCRIPT_DIR/config/ingest.toml",
        "while getopts nc: opt; do",
        "    case $opt in",
        "        n) DRY_RUN=1 ;;",
        "        c) CONFIG=$OPTARG ;;",
        "        *) usage; exit 2 ;;",
        "    esac",
        "done",
        "shift $((OPTIND - 1))",
        "",
        "notify_iri() {",
        "    local tok",
        N('    tok=$(jq -r .access_token "$TOKEN_FILE")', "reads a file"),
        P('    sudo -E -u svc-ingest curl -sS -X POST "https://api.alcf.anl.gov/api/v1/filesystem/mkdir/⟦EAGLE⟧" \\\n'
          '        -H "Authorization: Bearer $tok" --data-urlencode "path=/eagle/⟦projl⟧/ingest/$(date +%F)"',
          (TOC, "sudo-wrapped curl with bearer token variable (far down a long script)")),
        P('    env https_proxy=http://proxy.⟦DOMAIN⟧:3128 curl -sS -H "Authorization: Bearer $tok" '
          '"https://api.alcf.anl.gov/api/v1/task?limit=5" -o "$LOGDIR/tasks.json"',
          (TOC, "env-wrapped curl with bearer token variable")),
        N('    printf \'ingest_last_success %s\\n\' "$(date +%s)" | curl -sS -H "Content-Type: text/plain" '
          '--data-binary @- http://localhost:9091/metrics/job/ingest || true', "non-credential header, body from stdin"),
        "}",
        "",
        "case ${1:-run} in",
        "    run)",
        "        check_space",
        "        for shot in $(list_shots); do",
        "            stage_shot \"$shot\" && compress_shot \"$shot\" && checksum_shot \"$shot\" && upload_shot \"$shot\"",
        "        done",
        "        update_index; prune_staging; write_report",
        "        ;;",
        "    notify) notify_iri ;;",
        "    status) write_report ;;",
        "    *) usage; exit 2 ;;",
        "esac",
    ]
    o.text(f"{p}/run_pipeline.sh", items, mode=0o755)
    o.text(f"{p}/lib/common.sh", [
        "# shellcheck shell=bash",
        "LOGDIR=${LOGDIR:-$HOME/logs/ingest}",
        "mkdir -p \"$LOGDIR\"",
        "log_info() { printf '%s INFO  %s\\n' \"$(date +%T)\" \"$*\" | tee -a \"$LOGDIR/ingest.log\" >&2; }",
        "log_warn() { printf '%s WARN  %s\\n' \"$(date +%T)\" \"$*\" | tee -a \"$LOGDIR/ingest.log\" >&2; }",
        N("export PATH=$HOME/.local/bin:$PATH", "not a credential"),
        N("export TOKEN_URL=https://auth.globus.org/v2/oauth2/token", "URL"),
    ])
    o.text(f"{p}/scripts/fetch.py", [
        '"""Fetch processed shots from the Globus HTTPS endpoint."""',
        "import json",
        "import os",
        "import subprocess",
        "import sys",
        "",
        'ENDPOINT = "https://g-⟦GHEX⟧.data.globus.org"',
        "",
        "",
        "def access_token():",
        '    with open(os.path.expanduser("~/.globus/https_token.json")) as fh:',
        '        return json.load(fh)["access_token"]',
        "",
        "",
        "def fetch(rel, dest):",
        "    tok = access_token()",
        P('    subprocess.run(["wget", "-q", "--header", "Authorization: Bearer " + tok, "-O", dest, f"{ENDPOINT}/{rel}"], check=True)',
          (TOC, "wget --header with the bearer token in subprocess argv")),
        "",
        "",
        "def fetch_public(rel, dest):",
        N('    subprocess.run(["wget", "-q", "-O", dest, f"{ENDPOINT}/public/{rel}"], check=True)', "no credential"),
        "",
        "",
        'if __name__ == "__main__":',
        "    fetch(sys.argv[1], sys.argv[2])",
    ])
    o.raw(f"{p}/scripts/https_token.example.json", '{"access_token": "<paste token>"}\n', 0o644)
    o.text(f"{p}/scripts/legacy_win.sh", [
        "#!/bin/sh",
        "# copied from the Windows box; run under Git Bash",
        "IRI=https://api.alcf.anl.gov/api/v1",
        N("IRI_TOKEN=`cat ~/iri_token.txt`", "assignment from a file"),
        P('curl -s -H "Authorization: Bearer $IRI_TOKEN" "$IRI/account/projects" > projects.json',
          (TOC, "bearer token variable in curl header (CRLF file)")),
        N('curl -s "$IRI/status/incidents" > incidents.json', "no credential"),
    ], mode=0o755, crlf=True)
    o.text(f"{p}/docker/Dockerfile", [
        "FROM python:3.11-slim",
        N("ARG GLOBUS_COMPUTE_CLIENT_ID=⟦UUID_2⟧", "client id, not a secret"),
        P("ARG GLOBUS_COMPUTE_CLIENT_SECRET=⟦GSEC_2⟧", (IMG, "ARG with a literal Globus Compute client secret")),
        P("ARG HF_TOKEN", (IMG, "ARG named like a secret")),
        N("ENV TOKENIZERS_PARALLELISM=false", "not a credential"),
        N("ENV MAX_TOKENS=4096", "not a credential"),
        N("RUN --mount=type=secret,id=hf_token,env=HF_TOKEN pip install --no-cache-dir -r requirements.txt",
          "BuildKit secret"),
        "COPY . /app",
        'CMD ["python", "-m", "ingest"]',
    ])
    o.cred(f"{p}/env/ingest.env", f"GLOBUS_COMPUTE_CLIENT_ID={C['UUID_2']}\n"
                                  f"GLOBUS_COMPUTE_CLIENT_SECRET={C['GSEC_3']}\n"
                                  f"RGW_SECRET_KEY={C['RGW8_SK']}\n", readable(), ".env with client secret")
    o.raw(f"{p}/env/ingest.env.sample", "GLOBUS_COMPUTE_CLIENT_ID=\nGLOBUS_COMPUTE_CLIENT_SECRET=<secret>\n"
                                        "RGW_SECRET_KEY=<secret>\n", 0o644)
    o.text(f"{p}/.envrc", [
        "# direnv",
        N("export CONFIG=$PWD/config/ingest.toml", "path"),
        P("export IRI_TOKEN=⟦GLB_4⟧", (EXP, "literal Globus token exported from a direnv .envrc")),
        "layout python3",
    ], mode=0o600)

    # ================================================================ shared docs
    o.text("shared/docs/token-hygiene.md", [
        block("""
        # Token hygiene on the login nodes

        The login nodes are shared: **anything on a command line is visible to every user**
        through `ps`/`/proc`. So:

        | never | instead |
        |---|---|
        | `curl -H "Authorization: <your-token>" URL` | `curl -H @~/.s3m-header URL` |
        | `curl -u user:<password> URL` | `curl --netrc URL` |
        | `export S3M_TOKEN=<your-token>` in `.bashrc` | `export S3M_TOKEN=$(cat ~/.s3m/token)` |
        | `munge -n` in scripts | `munge -n -t 5` |
        | `ENV S3M_TOKEN=...` in a Dockerfile | `RUN --mount=type=secret,...` |

        Never do this:

        ```bash
        curl -H "Authorization: Bearer ${TOKEN}" https://api.alcf.anl.gov/api/v1/account/projects
        wget --header "Authorization: Bearer <your-token>" https://g-xxxx.data.globus.org/file
        aws configure set aws_secret_access_key <secret>
        ```

        Palmetto's documented form is fine, the credential lives 5 seconds:

        ```bash
        curl -H "Authorization: MUNGE $(munge -n -t 5)" https://api.palmetto.clemson.edu/slurm/v0.0.44/jobs
        ```

        Token files: `chmod 600 ~/.s3m-header ~/.aws/credentials ~/.config/rclone/rclone.conf`.
        """),
    ])
    o.text("shared/docs/slurm-rest.md", [
        block("""
        # slurmrestd at our site

        ```console
        $ export $(scontrol token lifespan=1800)
        $ curl -s -H "X-SLURM-USER-NAME: $USER" -H "X-SLURM-USER-TOKEN: $SLURM_JWT" \\
              http://slurmrestd.⟦DOMAIN⟧:6820/slurm/v0.0.43/ping/
        ```

        The token is inherited by batch jobs, so submit with `--export=NONE` or
        `--wrap 'unset SLURM_JWT; ...'`. The JWT key lives in `StateSaveLocation`
        (`jwt_hs256.key`, mode 0600) - whoever can read it is root on the cluster.
        """),
    ])
    o.text("shared/docs/onboarding.md", [
        block("""
        # Group onboarding

        1. `ssh-keygen -t ed25519` and send us `~/.ssh/id_ed25519.pub`.
        2. Ask ⟦u1⟧ for the project allocation (⟦PROJ⟧).
        3. OLCF: create an S3M token in myOLCF, save it with `umask 077; cat > ~/.s3m/token`.
        4. ALCF: `pip install alcf-tokens`, then authenticate once a week.
        5. Palmetto: nothing to store, the API takes `munge -n -t 5` credentials.

        Shared scratch: `/lustre/orion/⟦projl⟧/proj-shared`.
        """),
    ])
    o.raw("shared/README", "Group shared area. Ask ⟦u1⟧ before deleting anything in projects/.\n", 0o644)


# --------------------------------------------------------------------------- main
def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--force", action="store_true", help="replace OUT/tree and OUT/hygiene-labels.jsonl")
    a = ap.parse_args()
    t_start = time.monotonic()

    out = os.path.abspath(a.out)
    tree = os.path.join(out, "tree")
    labels_path = os.path.join(out, "hygiene-labels.jsonl")
    if os.path.exists(tree) or os.path.exists(labels_path):
        if not a.force:
            sys.exit(f"{out} already holds a corpus; pass --force to replace it")
        shutil.rmtree(tree, ignore_errors=True)
        if os.path.exists(labels_path):
            os.unlink(labels_path)
    d = out
    while True:
        if os.path.exists(os.path.join(d, ".git")):
            print(f"warning: {out} is inside a git work tree ({d}); scanners may apply its .gitignore",
                  file=sys.stderr)
            break
        nd = os.path.dirname(d)
        if nd == d:
            break
        d = nd
    os.makedirs(tree, exist_ok=True)

    rng = random.Random(a.seed)
    now = 1767225600 + rng.randint(0, 180) * 86400  # fixed per seed (2026-01-01 + up to ~6 months)
    m = Mint(rng, now)
    pool = ["achen", "bkumar", "cmorales", "dokafor", "ehansen", "fsato", "gpatel", "hivanova", "jmbeki",
            "kthorne", "lrossi", "mwu", "nramirez", "pkowalski", "rlindqvist", "tnguyen"]
    names = rng.sample(pool, 6)
    project = rng.choice(["STF040", "CSC512", "GEN117", "CLI155", "FUS203", "BIP198"])
    domain = rng.choice(["hpc.lab.edu", "cluster.physics.example.edu", "rc.univ.edu"])
    C = {"now": now, "proj": project.lower(), "projl": project.lower(), "PROJ": project, "DOMAIN": domain,
         "ALCF_NEW": ALCF_CLIENT_NEW, "ALCF_OLD": ALCF_CLIENT_OLD, "IRI_RS": IRI_RS, "POLARIS": POLARIS,
         "EAGLE": EAGLE, "EP": m.uuid(), "GHEX": m.s(HEX, 6)}
    for i, n in enumerate(names, 1):
        C[f"u{i}"] = n
    for i in range(1, 12):
        C[f"S3M_{i}"] = m.s3m(project)
    for i in range(1, 8):
        C[f"SJWT_{i}"] = m.slurm(names[(i - 1) % 6])
    for i in range(1, 3):
        C[f"CSM_{i}"] = m.csm()
    for i in range(1, 5):
        C[f"GLB_{i}"] = m.globus()
    for i in range(1, 4):
        C[f"GSEC_{i}"] = m.gsecret()
    for i in range(1, 3):
        C[f"PALM_{i}"] = m.palmetto()
        C[f"SPW_{i}"] = m.stream_pw()
        C[f"KCPW_{i}"] = m.password()
        C[f"UUID_{i}"] = m.uuid()
    for i in range(1, 9):
        C[f"RGW{i}_AK"], C[f"RGW{i}_SK"] = m.rgw()

    o = Out(out, C)
    build(o, rng, m)

    # every directory 0755 (files carry their own explicit modes)
    for dp, dns, _ in os.walk(tree):
        for dn in dns:
            os.chmod(os.path.join(dp, dn), 0o755)
        assert ".git" not in dns
    labels = sorted(o.labels, key=lambda l: (l["path"], l["line"] or 0, l["check"]))
    with open(labels_path, "w") as fh:
        for l in labels:
            fh.write(json.dumps(l, ensure_ascii=False) + "\n")

    per = {c: 0 for c in CHECKS}
    for l in labels:
        per[l["check"]] += 1
    print(f"wrote {o.nfiles} files under {tree}")
    print(f"{len(labels)} labels in {labels_path}; {len(o.negs)} marked hard negatives (unlabelled)")
    for c in CHECKS:
        print(f"  {c}: {per[c]}")
    print(f"generated in {time.monotonic() - t_start:.2f} s")


if __name__ == "__main__":
    main()
