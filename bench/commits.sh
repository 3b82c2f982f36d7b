#!/usr/bin/env bash
# Commit-count benchmark: `tokenwarden scan --git` on a history with many small commits (Spack's
# commit count by default), against `git cat-file --batch-all-objects` (reading every object)
# and `git rev-list --all --objects` (the same commit walk and tree reads tokenwarden does).
#
#   bash bench/commits.sh
#
# Env: COMMITS (default 37000), RUNS (default 3), BENCH_CACHE (default
# /var/cache/tokenwarden-bench), TOOL_TIMEOUT (default 1800). The history (one file of ~3000
# changed per commit, one planted PALMETTO_API_KEY at commit 20000) is built once with
# `git fast-import` and cached. Prints a table; writes bench/results-commits.md.
set -euo pipefail

COMMITS=${COMMITS:-37000}
RUNS=${RUNS:-3}
CACHE=${BENCH_CACHE:-/var/cache/tokenwarden-bench}
TOOL_TIMEOUT=${TOOL_TIMEOUT:-1800}
KERNEL_PKG=${KERNEL_PKG:-linux-source-6.1}
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
START_SECONDS=$SECONDS
[[ "$COMMITS" =~ ^[1-9][0-9]*$ ]] || { echo "COMMITS must be a positive integer" >&2; exit 2; }
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || { echo "RUNS must be a positive integer" >&2; exit 2; }
mkdir -p "$CACHE"/{logs,work-commits}
WORK="$CACHE/work-commits"
LOG_TAG=commits
declare -A BIN VERSION SKIP MEDIAN RSS
# shellcheck source=bench/lib.sh
source "$REPO/bench/lib.sh"

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

build_tokenwarden
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
