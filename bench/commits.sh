#!/usr/bin/env bash
# Commit-count benchmark: `tokenwarden scan --git` on a history with many commits (Spack's commit
# count by default), against `git cat-file --batch-all-objects` (reading every object) and
# `git rev-list --all --objects` (the same commit walk and tree reads tokenwarden does).
#
#   bash bench/commits.sh                 # LAYOUT=small
#   LAYOUT=spack bash bench/commits.sh    # Spack-like layout, with the peers
#
# Layouts (LAYOUT):
#   small  (default) one file of ~3000 (pkg/pN/packageM.py) rewritten per commit, one planted
#          PALMETTO_API_KEY at commit 20000; tiny trees and blobs. Cached as
#          BENCH_CACHE/commits-$COMMITS.git; writes bench/results-commits.md.
#   spack  resembles the Spack packages repository: 8500 package directories under
#          repos/spack_repo/builtin/packages/<name>/package.py (~10% also hold a few *.patch
#          files), so every commit rewrites one ~8500-entry tree; package.py 1-30 KB (mean ~6 KB)
#          of Python-like text with version lines and sha256 strings; every commit after the
#          first edits 1-2 package files (adds a version line, changes a depends_on line or fixes
#          a checksum); at 37000 commits ~530 MB of unique blobs in a ~340 MB pack. One
#          PALMETTO_API_KEY line (built at run time) is added to one package at the midpoint
#          commit and removed by that package's edit ten commits later. Deterministic
#          (random.Random(7)); a Python generator streams it into `git fast-import`, then
#          `git gc --prune=now` (not --aggressive; ~6 minutes in all on 2 cores). Cached as
#          BENCH_CACHE/commits-spack-$COMMITS.git (+ .done marker, and a .json with the
#          generator's stats, build times and the planted commits); delete
#          those to rebuild after changing the generator. Also times gitleaks, Betterleaks and
#          Kingfisher (--no-validate) exactly as bench/history.sh does (same lib.sh installs,
#          arguments and warm-up). Writes bench/results-commits-spack.md.
#
# Env: LAYOUT (small|spack, default small), COMMITS (default 37000; spack needs >= 100),
# RUNS (default 3), BENCH_CACHE (default /var/cache/tokenwarden-bench), TOOL_TIMEOUT (seconds
# per timed run, default 1800), BENCH_TOOLS (spack only: subset of the peers, default
# "gitleaks betterleaks kingfisher"; peers left out still get a row), TOKENWARDEN_BIN (time this
# tokenwarden binary instead of building one with `cargo build --release`; the report says so).
# Prints the report and writes it to the results file.
set -euo pipefail

LAYOUT=${LAYOUT:-small}
COMMITS=${COMMITS:-37000}
RUNS=${RUNS:-3}
CACHE=${BENCH_CACHE:-/var/cache/tokenwarden-bench}
TOOL_TIMEOUT=${TOOL_TIMEOUT:-1800}
KERNEL_PKG=${KERNEL_PKG:-linux-source-6.1}
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
START_SECONDS=$SECONDS
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
[[ "$COMMITS" =~ ^[1-9][0-9]*$ ]] || { echo "COMMITS must be a positive integer" >&2; exit 2; }
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || { echo "RUNS must be a positive integer" >&2; exit 2; }
case $LAYOUT in
    small) WORK="$CACHE/work-commits"; LOG_TAG=commits ;;
    spack) WORK="$CACHE/work-commits-spack"; LOG_TAG=commits-spack
           ((COMMITS >= 100)) || { echo "LAYOUT=spack needs COMMITS >= 100" >&2; exit 2; } ;;
    *) echo "LAYOUT must be small or spack" >&2; exit 2 ;;
esac
mkdir -p "$CACHE/logs" "$WORK"
declare -A BIN VERSION SKIP MEDIAN RSS
# shellcheck source=bench/lib.sh
source "$REPO/bench/lib.sh"

# tokenwarden_bin: a release build of this checkout (lib.sh), or TOKENWARDEN_BIN as given.
tokenwarden_bin() {
    if [[ -n "${TOKENWARDEN_BIN:-}" ]]; then
        [[ -x "$TOKENWARDEN_BIN" ]] || { echo "TOKENWARDEN_BIN is not executable: $TOKENWARDEN_BIN" >&2; exit 2; }
        BIN[tokenwarden]=$TOKENWARDEN_BIN
        VERSION[tokenwarden]="$("$TOKENWARDEN_BIN" --version | awk '{print $2}') (prebuilt TOKENWARDEN_BIN=$TOKENWARDEN_BIN of $(date -u -r "$TOKENWARDEN_BIN" '+%Y-%m-%d %H:%M UTC'), not built by this script)"
    else
        build_tokenwarden
    fi
}

# ==================================================================== LAYOUT=small
if [[ $LAYOUT == small ]]; then
    HREPO="$CACHE/commits-$COMMITS.git"
    if [[ ! -f "$HREPO.done" ]]; then
        log "building a $COMMITS-commit history in $HREPO"
        rm -rf "$HREPO"
        git init -q --bare -b main "$HREPO"
        python3 - "$COMMITS" <<'PYEOF' | git -C "$HREPO" fast-import --quiet
import random, sys
n = int(sys.argv[1])
rng = random.Random(7)
out = sys.stdout.buffer
files = [f"pkg/p{i // 50}/package{i}.py" for i in range(3000)]
for c in range(1, n + 1):
    f = files[rng.randrange(len(files))]
    body = f"# package {f}\nversion = '{c}'\n" + "x = 1\n" * rng.randrange(5, 60)
    if c == min(20000, n):
        key = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789ABCDEF") for _ in range(40))
        body += "PALMETTO" + "_API_KEY=" + key + "\n"
    data = body.encode()
    msg = f"update {f}".encode()
    out.write(b"commit refs/heads/main\nmark :%d\ncommitter Bench <b@example.org> %d +0000\n" % (c, 1600000000 + c * 60))
    out.write(b"data %d\n%s\n" % (len(msg), msg))
    if c > 1:
        out.write(b"from :%d\n" % (c - 1))
    out.write(b"M 100644 inline %s\ndata %d\n%s\n" % (f.encode(), len(data), data))
PYEOF
        git -C "$HREPO" gc -q --prune=now
        touch "$HREPO.done"
    fi

    tokenwarden_bin
    ok_codes() { case $1 in tokenwarden) echo "0 1";; *) echo 0;; esac; }
    TOOLS=(catfile revlist tokenwarden)
    cmd_catfile=(git -C "$HREPO" cat-file --batch-all-objects --batch --unordered)
    cmd_revlist=(git -C "$HREPO" rev-list --all --objects)
    cmd_tokenwarden=("${BIN[tokenwarden]}" scan --git "$HREPO" --format json --no-config --no-progress)
    "${cmd_catfile[@]}" >/dev/null   # warm the page cache
    for tool in "${TOOLS[@]}"; do
        declare -n cmd="cmd_$tool"
        time_tool "$tool" 1 "${cmd[@]}" || true
        unset -n cmd
    done
    {
        echo "# tokenwarden commit-count benchmark"
        echo
        echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) cores; $RUNS runs, median; tokenwarden ${VERSION[tokenwarden]}"
        echo "- history: $COMMITS commits, one small file changed per commit, $(du -sh "$HREPO/objects" | cut -f1) of objects, one planted secret"
        echo
        echo "| what | median s | peak RSS MiB |"
        echo "|---|---:|---:|"
        for t in "${TOOLS[@]}"; do
            if [[ -n "${SKIP[$t]:-}" ]]; then echo "| $t | skipped: ${SKIP[$t]} | |"; continue; fi
            printf '| %s | %s | %.0f |\n' "$t" "${MEDIAN[$t]}" "$(awk -v k="${RSS[$t]}" 'BEGIN{print k/1024}')"
        done
    } | tee "$REPO/bench/results-commits.md"
    exit 0
fi

# ==================================================================== LAYOUT=spack
OUT_MD="$REPO/bench/results-commits-spack.md"
NPKG=8500
HREPO="$CACHE/commits-spack-$COMMITS.git"
STATS="$CACHE/commits-spack-$COMMITS.json"
rm -f "$WORK"/*.out "$WORK"/*.err "$WORK"/*.time "$WORK"/*.json
apt_ensure python3 python3 || { echo "python3 is required" >&2; exit 2; }
apt_ensure git git || { echo "git is required" >&2; exit 2; }
[[ -x /usr/bin/time ]] || apt_ensure /usr/bin/time time || { echo "/usr/bin/time is required" >&2; exit 2; }
ensure_venv

# ---------------------------------------------------------------- synthetic Spack-like history
if [[ ! -f "$HREPO.done" ]]; then
    GEN="$WORK/gen_spack.py"
    cat >"$GEN" <<'PYEOF'
"""Spack-like history for bench/commits.sh (LAYOUT=spack), as a `git fast-import` stream on stdout.

argv: COMMITS PACKAGES STATS_JSON. Commit 1 imports PACKAGES package directories
(repos/spack_repo/builtin/packages/<name>/package.py, ~10% with a few *.patch files); each later
commit edits 1-2 package.py files (add a version line, change a depends_on line, or fix a
checksum). One PALMETTO_API_KEY line is added to one package at the midpoint commit and removed by
that package's edit ten commits later. Everything comes from random.Random(7); the current
package files are kept zlib-compressed, so memory stays around 40 MB. Stats go to STATS_JSON.
"""
import bisect, json, random, re, sys, zlib

n, npkg, stats_path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
rng = random.Random(7)
out = sys.stdout.buffer
ROOT = "repos/spack_repo/builtin/"
PKGS = ROOT + "packages/"
HEX = "0123456789abcdef"

# ---- package names: Spack-like (py-*, r-*, perl-*, lib*, plain), unique; directories use the
# module form of the name (hyphens -> underscores, a leading digit gets "_"), as in Spack v1.
SYL = ("ab ac ad al am an ar as at ax ba be bi bo bu ca ce ci co cu da de di do du el em en ep er es "
       "ev ex fa fe fi fo fu ga ge gi go gu ha he hi ho hu id im in io ir is ja je jo ka ke ki ko la "
       "le li lo lu ma me mi mo mu na ne ni no nu ob oc od of ol om on op or os ot pa pe pi po pu qu "
       "ra re ri ro ru sa se si so su ta te ti to tu ul um un ur us va ve vi vo wa we wi xa xe xi yo "
       "za ze zi zo bl br cl cr dr fl fr gl gr pl pr sc sk sl sm sn sp st sw th tr tw ch sh").split()
TAILS = ["", "", "", "", "", "x", "n", "s", "r", "l", "t", "k", "2", "3", "-utils", "-tools", "-core",
         "-io", "-mpi", "-cli", "-data", "-plugins", "lib", "db", "fft", "pp", "ng", "-api"]
PREFIX = [("py-", 30), ("r-", 16), ("perl-", 4), ("lib", 7), ("", 40), ("julia-", 1), ("rust-", 1), ("go-", 1)]
PREF_W = [w for _, w in PREFIX]
names = set()
while len(names) < npkg:
    p = rng.choices(PREFIX, PREF_W)[0][0]
    stem = "".join(rng.choice(SYL) for _ in range(rng.choice((1, 2, 2, 2, 3, 3, 4))))
    names.add(p + stem + rng.choice(TAILS))
names = sorted(names)

def modname(name):
    m = name.replace("-", "_")
    return "_" + m if m[0].isdigit() else m

def clsname(name):
    c = "".join(part[:1].upper() + part[1:] for part in re.split(r"[-_]", name))
    return "_" + c if c[0].isdigit() else c

BUILD = {"py-": ("python", "PythonPackage"), "r-": ("r", "RPackage"), "perl-": ("perl", "PerlPackage"),
         "julia-": ("generic", "Package"), "rust-": ("cargo", "CargoPackage"), "go-": ("go", "GoPackage")}
OTHER = [("cmake", "CMakePackage"), ("autotools", "AutotoolsPackage"), ("makefile", "MakefilePackage"),
         ("meson", "MesonPackage"), ("generic", "Package"), ("cmake", "CMakePackage")]
HOSTS = ["github.com", "gitlab.com", "pypi.org", "cran.r-project.org", "sourceforge.net", "bitbucket.org",
         "ftp.gnu.org", "download.savannah.gnu.org", "www.mcs.anl.gov", "computing.llnl.gov"]
LICENSES = ["MIT", "BSD-3-Clause", "Apache-2.0", "GPL-2.0-or-later", "GPL-3.0-only", "LGPL-2.1-or-later",
            "MPL-2.0", "BSD-2-Clause", "Apache-2.0 WITH LLVM-exception", "Zlib"]
PEOPLE = ["alalazo", "adamjstewart", "becker33", "tgamblin", "haampie", "scheibelp", "wspear", "glennpj",
          "climbfuji", "bernhardkaindl", "michaelkuhn", "sethrj", "wdconinc", "LydDeb", "trws", "eugeneswalker",
          "mwkrentel", "chuckatkins", "vchuravy", "hppritcha", "rbberger", "kwryankrattiger", "cosmicexplorer"]
AUTHORS = [("Massimiliano Culpo", "alalazo"), ("Adam J. Stewart", "adamjstewart"), ("Todd Gamblin", "tgamblin"),
           ("Harmen Stoppels", "haampie"), ("Peter Scheibel", "scheibelp"), ("Glenn Johnson", "glennpj"),
           ("Bernhard Kaindl", "bernhardkaindl"), ("Seth R. Johnson", "sethrj"), ("Wouter Deconinck", "wdconinc"),
           ("Greg Becker", "becker33"), ("Michael Kuhn", "michaelkuhn"), ("Dom Heinzeller", "climbfuji")]
WORDS = ("a library for the fast parallel solution of sparse linear systems and eigenvalue problems on "
         "distributed memory machines with support for GPUs implementing high order finite element "
         "methods tools to read write and convert scientific data formats in portable self describing "
         "files Python bindings for the C++ interface a collection of utilities lightweight header only "
         "framework statistical analysis of genomic sequencing data simulation of molecular dynamics").split()
VARIANTS = ["shared", "mpi", "openmp", "cuda", "rocm", "fortran", "python", "hdf5", "netcdf", "tests", "docs",
            "static", "pic", "debug", "blas", "lapack", "zlib", "ssl", "threads", "examples", "ipo", "x"]
DEPS = ["cmake", "mpi", "hdf5", "zlib-api", "python", "py-numpy", "py-setuptools", "blas", "lapack", "boost",
        "pkgconfig", "openssl", "curl", "libxml2", "netcdf-c", "fftw-api", "cuda", "hip", "eigen", "perl",
        "r", "r-rcpp", "gmake", "ninja", "meson", "autoconf", "automake", "libtool", "m4", "bzip2", "xz",
        "py-pip", "py-wheel", "py-cython", "py-scipy", "py-pandas", "llvm", "gettext", "ncurses", "readline"]
WHEN = ["", ", when=\"+mpi\"", ", when=\"@2:\"", ", when=\"+cuda\"", ", type=\"build\"", ", type=(\"build\", \"run\")",
        ", type=(\"build\", \"link\")", ", when=\"@:1.4\"", ", type=\"test\""]

def sha():
    return "".join(rng.choice(HEX) for _ in range(64))

def version_line(v):
    return '    version("%s", sha256="%s")' % (v, sha())

def dep_line():
    d = rng.choice(DEPS)
    bound = "@%d.%d:" % (rng.randrange(1, 4), rng.randrange(0, 30)) if rng.random() < 0.6 else ""
    return '    depends_on("%s%s"%s)' % (d, bound, rng.choice(WHEN))

def sentence(k):
    return " ".join(rng.choice(WORDS) for _ in range(k))

def method_block():
    fn = rng.choice(["cmake_args", "configure_args", "setup_build_environment", "install", "edit",
                     "setup_run_environment", "flag_handler", "test_import", "patch", "build_targets"])
    b = ["", "    def %s_%s(self):" % (fn, rng.choice(VARIANTS)), '        """%s."""' % sentence(rng.randrange(4, 10)).capitalize(),
         "        spec = self.spec", "        args = ["]
    for _ in range(rng.randrange(2, 9)):
        v = rng.choice(VARIANTS)
        b.append('            self.define_from_variant("%s_%s", "%s"),' % (rng.choice(["ENABLE", "USE", "WITH", "BUILD"]), v.upper(), v))
    b.append("        ]")
    for _ in range(rng.randrange(1, 5)):
        v = rng.choice(VARIANTS)
        b.append('        if spec.satisfies("+%s"):' % v)
        b.append('            args.append(self.define("%s_ROOT", spec["%s"].prefix))' % (v.upper(), rng.choice(DEPS)))
        if rng.random() < 0.4:
            b.append('            filter_file(r"%s", "%s", join_path(self.stage.source_path, "%s.cfg"))' % (sentence(2), sentence(2), v))
    b.append("        return args")
    return b

def make_package(name, target, patches):
    kind = next((v for k, v in BUILD.items() if name.startswith(k)), None) or rng.choice(OTHER)
    host = rng.choice(HOSTS)
    nv = max(1, min(400, int(target * 0.28 / 96 * rng.uniform(0.6, 1.4))))
    major, minor, patch = rng.randrange(0, 5), rng.randrange(0, 20), rng.randrange(0, 10)
    vers = []
    for _ in range(nv):
        vers.append("%d.%d.%d" % (major, minor, patch))
        r = rng.random()
        if r < 0.6:
            patch += 1
        elif r < 0.93:
            minor, patch = minor + 1, 0
        else:
            major, minor, patch = major + 1, 0, 0
    top = vers[-1]
    L = ["# Copyright Spack Project Developers. See COPYRIGHT file for details.", "#",
         "# SPDX-License-Identifier: (Apache-2.0 OR MIT)", "",
         "from spack_repo.builtin.build_systems.%s import %s" % kind, "", "from spack.package import *", "", "",
         "class %s(%s):" % (clsname(name), kind[1]), '    """%s."""' % sentence(rng.randrange(6, 30)).capitalize(), "",
         '    homepage = "https://%s/%s"' % (host, name),
         '    url = "https://%s/%s/archive/v%s.tar.gz"' % (host, name, top)]
    if rng.random() < 0.5:
        L.append('    git = "https://github.com/%s/%s.git"' % (rng.choice(PEOPLE), name))
    L += ["", "    maintainers(%s)" % ", ".join('"%s"' % p for p in rng.sample(PEOPLE, rng.randrange(1, 4))), "",
          '    license("%s")' % rng.choice(LICENSES), ""]
    if rng.random() < 0.25:
        L.append('    version("develop", branch="develop")')
    L += [version_line(v) for v in reversed(vers)]
    L.append("")
    for v in rng.sample(VARIANTS, rng.randrange(0, 8)):
        L.append('    variant("%s", default=%s, description="%s")' % (v, rng.choice(["True", "False"]), sentence(rng.randrange(3, 9)).capitalize()))
    L.append("")
    for _ in range(max(1, int(target * 0.18 / 48 * rng.uniform(0.5, 1.5)))):
        L.append(dep_line())
    if patches:
        L.append("")
        for p in patches:
            L.append('    patch("%s", when="@:%s")' % (p, rng.choice(vers)))
    if rng.random() < 0.3:
        L += ["", '    conflicts("%%gcc@:%d", msg="%s")' % (rng.randrange(4, 12), sentence(5))]
    size = sum(len(x) + 1 for x in L)
    while size < target:
        b = method_block()
        L += b
        size += sum(len(x) + 1 for x in b)
    return ("\n".join(L) + "\n").encode()

def make_patch(name):
    L = ["diff --git a/src/%s.c b/src/%s.c" % (name, name), "--- a/src/%s.c" % name, "+++ b/src/%s.c" % name]
    for h in range(rng.randrange(1, 6)):
        L.append("@@ -%d,7 +%d,8 @@" % (h * 100 + 10, h * 100 + 10))
        for _ in range(rng.randrange(3, 25)):
            L.append(rng.choice([" ", " ", " ", "-", "+"]) + "    %s(%s);" % (rng.choice(SYL) + rng.choice(SYL), sentence(2).replace(" ", ", ")))
    return ("\n".join(L) + "\n").encode()

# ---- the file sizes: log-normal, 1-30 KB, mean ~6 KB
def target_size():
    while True:
        s = int(rng.lognormvariate(8.35, 0.75))
        if 1000 <= s <= 30000:
            return s

state = {}          # module name -> zlib-compressed current package.py
weight = []         # edit popularity: bigger (more versions, more dependants) packages change more
mark = 0
tick = 0
T0 = 1356998400     # 2013-01-01

def when():
    global tick
    tick += 1
    return T0 + tick * 10000 + rng.randrange(5000)  # strictly increasing

def begin_commit(msg):
    global mark
    mark += 1
    name, user = rng.choice(AUTHORS)
    who = ("%s <%s@users.noreply.github.com> %d +0000" % (name, user, when())).encode()
    msg = msg.encode()
    out.write(b"commit refs/heads/develop\nmark :%d\nauthor %s\ncommitter %s\ndata %d\n%s\n" % (mark, who, who, len(msg), msg))
    if mark > 1:
        out.write(b"from :%d\n" % (mark - 1))
    return mark

def put(path, body):
    out.write(b"M 100644 inline %s\ndata %d\n%s\n" % (path.encode(), len(body), body))

def end_commit():
    out.write(b"\n")

# ---- commit 1: the whole repository, streamed file by file
begin_commit("Import the builtin package repository (%d packages)\n" % len(names))
put(ROOT + "repo.yaml", b"repo:\n  namespace: builtin\n  api: v2.0\n")
put(ROOT + "__init__.py", b"")
put(PKGS + "__init__.py", b"")
for bs in ("autotools", "cmake", "makefile", "meson", "generic", "python", "r", "perl", "cargo", "go"):
    put(ROOT + "build_systems/%s.py" % bs, make_package("build-" + bs, 12000, []))
npatch = patch_bytes = first_bytes = 0
for name in names:
    m = modname(name)
    patches = []
    if rng.random() < 0.10:
        for _ in range(rng.choice((1, 1, 1, 2, 3))):
            patches.append(rng.choice(["fix-gcc%d" % rng.randrange(9, 15), "cmake-%d.%d" % (3, rng.randrange(10, 31)),
                                       "missing-include", "fix-build", "disable-werror", "intel-oneapi", "python3.%d" % rng.randrange(8, 14)]) + ".patch")
        patches = sorted(set(patches))
    body = make_package(name, target_size(), patches)
    state[m] = zlib.compress(body, 1)
    weight.append(len(body) * rng.paretovariate(2.0))
    first_bytes += len(body)
    put(PKGS + m + "/package.py", body)
    for p in patches:
        pb = make_patch(m)
        npatch += 1
        patch_bytes += len(pb)
        put(PKGS + m + "/" + p, pb)
end_commit()

mnames = [modname(x) for x in names]
cum = []
acc = 0.0
for w in weight:
    acc += w
    cum.append(acc)
def pick():
    return bisect.bisect_right(cum, rng.random() * acc)

VER_RE = re.compile(rb'^    version\("(\d+(?:\.\d+)*)", sha256="[0-9a-f]{64}"\)$', re.M)
DEP_RE = re.compile(rb'^    depends_on\("([^"@]+)[^"]*"(.*)\)$', re.M)

def edit(i, extra=None):
    """One package edit: add a version line (60%), change a dependency line (30%), fix a checksum (10%)."""
    m = mnames[i]
    body = zlib.decompress(state[m])
    r = rng.random()
    mo = VER_RE.search(body)
    if r < 0.6 and mo:
        parts = [int(x) for x in mo.group(1).split(b".")] + [0, 0]
        b = rng.random()
        if b < 0.65:
            parts[2] += 1
        elif b < 0.95:
            parts[1], parts[2] = parts[1] + 1, 0
        else:
            parts[0], parts[1], parts[2] = parts[0] + 1, 0, 0
        v = "%d.%d.%d" % tuple(parts[:3])
        body = body[:mo.start()] + version_line(v).encode() + b"\n" + body[mo.start():]
        msg = "%s: add v%s" % (names[i], v)
    else:
        deps = list(DEP_RE.finditer(body))
        if r < 0.9 and deps:
            d = rng.choice(deps)
            new = '    depends_on("%s@%d.%d:"%s)' % (d.group(1).decode(), rng.randrange(1, 6), rng.randrange(0, 40), rng.choice(WHEN))
            body = body[:d.start()] + new.encode() + body[d.end():]
            msg = "%s: update dependency on %s" % (names[i], d.group(1).decode())
        else:
            vs = list(VER_RE.finditer(body))
            d = rng.choice(vs)
            body = body[:d.start()] + version_line(d.group(1).decode()).encode() + body[d.end():]
            msg = "%s: fix checksum of v%s" % (names[i], d.group(1).decode())
    if extra:
        body = extra(body)
    state[m] = zlib.compress(body, 1)
    return (PKGS + m + "/package.py", body), msg

mid = max(2, n // 2)
unplant = mid + 10
planted = None
key_line = None
edit_bytes = 0
nedits = 0
for c in range(2, n + 1):
    if c == mid:
        i = pick()
        key = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789ABCDEF") for _ in range(40))
        key_line = ("    # nightly mirror upload: PALMETTO" + "_API_KEY=" + key + "\n").encode()
        def add_key(body):
            at = body.index(b"\n    license(")
            return body[:at + 1] + key_line + body[at + 1:]
        mod, msg = edit(i, add_key)
        planted = {"package": names[i], "file": mod[0], "added": mark + 1}
        mods, msgs = [mod], [msg]
    elif c == unplant and planted:
        i = names.index(planted["package"])
        mod, msg = edit(i, lambda body: body.replace(key_line, b""))
        planted["removed"] = mark + 1
        mods, msgs = [mod], [msg]
    else:
        k = 2 if rng.random() < 0.3 else 1
        chosen = []
        while len(chosen) < k:
            i = pick()
            if i in chosen or (planted and "removed" not in planted and names[i] == planted["package"]):
                continue
            chosen.append(i)
        mods, msgs = [], []
        for i in chosen:
            mod, msg = edit(i)
            mods.append(mod)
            msgs.append(msg)
    for _, b in mods:
        edit_bytes += len(b)
    nedits += len(mods)
    begin_commit("; ".join(msgs) + "\n")
    for path, body in mods:
        put(path, body)
    end_commit()
out.flush()
json.dump({"packages": len(names), "patch_files": npatch, "patch_bytes": patch_bytes, "commits": mark,
           "file_edits": nedits, "files_per_commit": round(nedits / max(1, mark - 1), 3),
           "first_commit_package_bytes": first_bytes, "edit_bytes": edit_bytes,
           "planted": planted}, open(stats_path, "w"), indent=1)
PYEOF
    log "building a Spack-like $COMMITS-commit history in $HREPO (fast-import, then git gc; several minutes)"
    rm -rf "$HREPO" "$HREPO.tmp" "$STATS"
    git init -q --bare -b develop "$HREPO.tmp"
    t0=$SECONDS
    timeout 3600 bash -o pipefail -c '
        python3 "$1" "$2" "$3" "$4.raw" |
        git -C "$5" fast-import --quiet --export-marks="$4.marks"' \
        _ "$GEN" "$COMMITS" "$NPKG" "$STATS" "$HREPO.tmp" \
        >"$CACHE/logs/commits-spack-import.log" 2>&1 || { echo "fast-import failed (see $CACHE/logs/commits-spack-import.log)" >&2; exit 2; }
    t_import=$((SECONDS - t0))
    log "fast-import done in ${t_import}s; git gc --prune=now"
    t0=$SECONDS
    timeout 3600 git -C "$HREPO.tmp" gc -q --prune=now >>"$CACHE/logs/commits-spack-import.log" 2>&1 \
        || { echo "git gc failed (see $CACHE/logs/commits-spack-import.log)" >&2; exit 2; }
    t_gc=$((SECONDS - t0))
    log "git gc done in ${t_gc}s"
    # The planted commits' marks -> commit ids; record the build times.
    python3 - "$STATS" "$t_import" "$t_gc" <<'PYEOF'
import json, sys
p = sys.argv[1]
marks = dict(l.split() for l in open(p + ".marks"))
d = json.load(open(p + ".raw"))
for k in ("added", "removed"):
    if k in (d["planted"] or {}):
        d["planted"][k] = {"commit_number": d["planted"][k], "id": marks[":%d" % d["planted"][k]]}
d["build_seconds"] = {"fast_import": int(sys.argv[2]), "gc": int(sys.argv[3])}
json.dump(d, open(p, "w"), indent=1)
PYEOF
    rm -f "$STATS.raw" "$STATS.marks"
    mv "$HREPO.tmp" "$HREPO"
    touch "$HREPO.done"
fi
log "repository: $HREPO"
[[ -f "$STATS" ]] || { echo "missing $STATS: delete $HREPO.done to rebuild" >&2; exit 2; }

# Size (the same MB/s denominator for every row: bytes of all unique blobs).
read -r BLOBS BLOB_BYTES TREES TREE_BYTES OBJECTS < <(git -C "$HREPO" cat-file --batch-all-objects --batch-check='%(objecttype) %(objectsize)' \
    | awk '$1=="blob"{b++; bs+=$2} $1=="tree"{t++; ts+=$2} {o++} END{printf "%d %.0f %d %.0f %d\n", b, bs, t, ts, o}')   # %.0f: the sums pass 2^31
NCOMMITS=$(git -C "$HREPO" rev-list --all --count)
OBJ_DU=$(du -sh "$HREPO/objects" | cut -f1)
COUNT_OBJECTS=$(git -C "$HREPO" count-objects -vH)
log "count-objects:"$'\n'"$COUNT_OBJECTS"
log "unique blobs: $BLOBS, $BLOB_BYTES bytes; trees: $TREES, $TREE_BYTES bytes"
read -r S_PKGS S_PATCHES S_FPC S_BUILD S_PLANT_FILE S_PLANT_ADDED S_PLANT_REMOVED < <(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
p = d["planted"] or {}
b = d.get("build_seconds", {})
print(d["packages"], d["patch_files"], d["files_per_commit"],
      "%ss+%ss" % (b.get("fast_import", "?"), b.get("gc", "?")), p.get("file", "-"),
      "%s@%s" % (p["added"]["commit_number"], p["added"]["id"][:12]) if "added" in p else "-",
      "%s@%s" % (p["removed"]["commit_number"], p["removed"]["id"][:12]) if "removed" in p else "-")' "$STATS")

# ---------------------------------------------------------------- tools (peers as in history.sh)
TOOLS=(catfile revlist tokenwarden gitleaks betterleaks kingfisher)
SELECTED=" catfile revlist tokenwarden ${BENCH_TOOLS:-gitleaks betterleaks kingfisher} "
for t in "${TOOLS[@]}"; do
    [[ "$SELECTED" == *" $t "* ]] || SKIP[$t]="not selected (BENCH_TOOLS)"
done
VERSION[catfile]="git $(git --version | awk '{print $3}')"
VERSION[revlist]=${VERSION[catfile]}
tokenwarden_bin
install_peers
# Command lines, used through namerefs (cmd_<tool>).
cmd_catfile=(git -C "$HREPO" cat-file --batch-all-objects --batch --unordered)
# shellcheck disable=SC2034
cmd_revlist=(git -C "$HREPO" rev-list --all --objects)
# shellcheck disable=SC2034
cmd_tokenwarden=("${BIN[tokenwarden]}" scan --git "$HREPO" --format json --no-config --no-progress)
peer_commands   # cmd_gitleaks, cmd_betterleaks, cmd_kingfisher (lib.sh)
# Exit codes that mean "ran fine" (findings are not failures).
ok_codes() { case $1 in tokenwarden|gitleaks|betterleaks) echo "0 1";; kingfisher) echo "0 200";; *) echo 0;; esac; }

log "warming page cache (reading every object once)"
timeout 1800 "${cmd_catfile[@]}" >/dev/null 2>&1 || true
kingfisher_warmup

# findings TOOL REPORT: "N findings, planted file reported: yes|no" (best effort).
findings() {
    python3 - "$1" "$2" "$S_PLANT_FILE" <<'PYEOF' 2>/dev/null || echo "?"
import json, sys
tool, path, planted = sys.argv[1:4]
text = open(path, errors="replace").read()
if tool == "kingfisher":     # the report document, then a one-line summary document
    n = len(json.loads(text.splitlines()[0])["findings"])
else:                        # tokenwarden and Betterleaks: {"findings": [...]}; gitleaks: [...]
    d = json.loads(text)
    n = len(d["findings"] if isinstance(d, dict) else d)
print("%d findings, planted file reported: %s" % (n, "yes" if planted.rsplit("/", 2)[-2] in text else "no"))
PYEOF
}

declare -A FOUND
for tool in "${TOOLS[@]}"; do
    [[ -n "${SKIP[$tool]:-}" ]] && { log "SKIP $tool: ${SKIP[$tool]}"; continue; }
    declare -n cmd="cmd_$tool"
    discard=0; [[ $tool == catfile || $tool == revlist ]] && discard=1
    time_tool "$tool" "$discard" "${cmd[@]}" || { unset -n cmd; continue; }
    unset -n cmd
    report="$WORK/$tool.$RUNS.out"
    [[ -f "$WORK/$tool.report.json" ]] && report="$WORK/$tool.report.json"
    [[ $discard == 1 ]] || FOUND[$tool]=$(findings "$tool" "$report")
done

# ---------------------------------------------------------------- report
TW=${MEDIAN[tokenwarden]:-}
{
    report_header "tokenwarden commit-count benchmark, Spack-like layout"
    echo "- tokenwarden ${VERSION[tokenwarden]}; $RUNS runs per tool, median wall time and max peak RSS (\`/usr/bin/time -f '%e %M'\`), every object read once before timing (warm page cache)"
    echo "- history: **synthetic, Spack-like** (\`LAYOUT=spack bash bench/commits.sh\`, random.Random(7)): $NCOMMITS commits on \`develop\`; commit 1 imports $S_PKGS package directories \`repos/spack_repo/builtin/packages/<name>/package.py\` (plus $S_PATCHES \`*.patch\` files in ~10% of them), then every commit edits 1-2 package files (mean $S_FPC files per commit: a version line added, a depends_on line changed or a checksum fixed), so each commit rewrites the ~$S_PKGS-entry \`packages/\` tree"
    echo "- objects: $OBJECTS ($BLOBS blobs, $TREES trees: $TREE_BYTES bytes of tree objects to parse), \`objects/\` $OBJ_DU on disk; **unique blob bytes: $BLOB_BYTES** (MB/s denominator: sum of blob sizes from \`git cat-file --batch-all-objects --batch-check\`)"
    echo "- one planted secret: a \`PALMETTO_API_KEY=<40 chars>\` line in \`$S_PLANT_FILE\`, added at commit $S_PLANT_ADDED (number@id), removed by that file's next edit at commit $S_PLANT_REMOVED; not at HEAD"
    echo "- repository build (once, cached): fast-import + gc ${S_BUILD}"
    echo
    echo "| what | median s | MB/s of unique blob bytes | peak RSS MiB | ratio to tokenwarden |"
    echo "|---|---:|---:|---:|---:|"
    for t in "${TOOLS[@]}"; do
        if [[ -n "${SKIP[$t]:-}" ]]; then echo "| $t | skipped: ${SKIP[$t]} | | | |"; continue; fi
        awk -v t="$t" -v s="${MEDIAN[$t]}" -v b="$BLOB_BYTES" -v k="${RSS[$t]}" -v tw="$TW" 'BEGIN{
            mbs = (s > 0) ? sprintf("%.0f", b / 1e6 / s) : "n/a";
            ratio = (tw > 0) ? sprintf("%.2f", s / tw) : "n/a";
            printf "| %s | %.2f | %s | %.0f | %s |\n", t, s, mbs, k / 1024, ratio }'
    done
    echo
    echo "Ratio: the tool's median time / tokenwarden's (below 1 = faster than tokenwarden). Findings (sanity check, not timed):"
    echo
    for t in "${TOOLS[@]}"; do
        [[ -n "${FOUND[$t]:-}" ]] && echo "- $t ${VERSION[$t]:-}: ${FOUND[$t]}"
    done
    echo
    echo "\`git count-objects -vH\`:"
    echo
    echo '```'
    echo "$COUNT_OBJECTS"
    echo '```'
    echo
    echo "Commands:"
    echo
    for t in "${TOOLS[@]}"; do
        declare -n c="cmd_$t"
        printf -- '- %s: `%s`\n' "$t" "${c[*]}"
        unset -n c
    done
    echo
    echo "Whole script wall time: $((SECONDS - START_SECONDS)) s."
} >"$OUT_MD"
cat "$OUT_MD"
log "wrote $OUT_MD"
