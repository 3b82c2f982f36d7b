#!/usr/bin/env bash
# Directory-scan benchmark: tokenwarden vs rg (speed limit), Kingfisher, ripsecrets.
#
#   bash bench/run.sh [CORPUS_DIR]
#
# Env: RUNS (timed runs per tool, default 3), BENCH_CACHE (downloads, installs,
# corpus; default /var/cache/tokenwarden-bench), TOOL_TIMEOUT (seconds per
# timed run, default 1800), KERNEL_PKG (default linux-source-6.1), BENCH_TOOLS
# (space-separated subset of peers to run, default "rg kingfisher ripsecrets";
# tokenwarden always runs; peers left out still get a row saying so).
# Idempotent: everything is cached under BENCH_CACHE; reruns only time.
# Writes bench/results.md and prints the same table to stdout.
set -euo pipefail

RUNS=${RUNS:-3}
CACHE=${BENCH_CACHE:-/var/cache/tokenwarden-bench}
TOOL_TIMEOUT=${TOOL_TIMEOUT:-1800}
KERNEL_PKG=${KERNEL_PKG:-linux-source-6.1}
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT_MD="$REPO/bench/results.md"
START_SECONDS=$SECONDS
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || { echo "RUNS must be a positive integer" >&2; exit 2; }
mkdir -p "$CACHE"/{debs,corpus,cargo,logs,work}
WORK="$CACHE/work"
rm -f "$WORK"/*.out "$WORK"/*.err "$WORK"/*.time

LOG_TAG=bench
declare -A BIN VERSION SKIP
# shellcheck source=bench/lib.sh
source "$REPO/bench/lib.sh"

apt_ensure python3 python3 || { echo "python3 is required" >&2; exit 2; }
[[ -x /usr/bin/time ]] || apt_ensure /usr/bin/time time || { echo "/usr/bin/time is required" >&2; exit 2; }
apt_ensure xz xz-utils || true

# ---------------------------------------------------------------- corpus
if [[ $# -ge 1 ]]; then
    CORPUS=$(cd "$1" && pwd) || { echo "no such directory: $1" >&2; exit 2; }
    CORPUS_DESC="user-supplied directory $CORPUS"
else
    kernel_tree
    CORPUS=$KERNEL_TREE
    CORPUS_DESC="Linux kernel source from Debian package ${debver/_/ } (\`apt-get download $KERNEL_PKG\`), not a git checkout"
fi
log "corpus: $CORPUS"

# ---------------------------------------------------------------- tools
TOOLS=(tokenwarden rg kingfisher ripsecrets)
SELECTED=" tokenwarden ${BENCH_TOOLS:-rg kingfisher ripsecrets} "
for t in "${TOOLS[@]}"; do
    [[ "$SELECTED" == *" $t "* ]] || SKIP[$t]="not selected (BENCH_TOOLS)"
done

build_tokenwarden

if [[ -n "${SKIP[rg]:-}" ]]; then
    :
elif apt_ensure rg ripgrep; then
    BIN[rg]=$(command -v rg)
    VERSION[rg]=$(rg --version | head -1 | awk '{print $2}')
else
    SKIP[rg]="apt install ripgrep failed"
fi

if [[ -z "${SKIP[kingfisher]:-}" && ! -x "$CACHE/venv/bin/kingfisher" ]]; then
    log "installing kingfisher-bin into $CACHE/venv"
    { timeout 300 python3 -m venv "$CACHE/venv" && timeout 900 "$CACHE/venv/bin/pip" install -q kingfisher-bin; } \
        >"$CACHE/logs/kingfisher-install.log" 2>&1 || log "kingfisher install failed (see $CACHE/logs/kingfisher-install.log)"
fi
if [[ -n "${SKIP[kingfisher]:-}" ]]; then
    :
elif [[ -x "$CACHE/venv/bin/kingfisher" ]]; then
    BIN[kingfisher]="$CACHE/venv/bin/kingfisher"
    VERSION[kingfisher]=$("${BIN[kingfisher]}" --version | awk '{print $2}')
else
    SKIP[kingfisher]="pip install kingfisher-bin failed"
fi

if [[ -z "${SKIP[ripsecrets]:-}" && ! -x "$CACHE/cargo/bin/ripsecrets" ]]; then
    log "cargo install ripsecrets (niced; a few minutes on 2 cores)"
    timeout 1800 nice -n 19 cargo install --locked --root "$CACHE/cargo" ripsecrets \
        >"$CACHE/logs/ripsecrets-install.log" 2>&1 || log "ripsecrets install failed (see $CACHE/logs/ripsecrets-install.log)"
fi
if [[ -n "${SKIP[ripsecrets]:-}" ]]; then
    :
elif [[ -x "$CACHE/cargo/bin/ripsecrets" ]]; then
    BIN[ripsecrets]="$CACHE/cargo/bin/ripsecrets"
    VERSION[ripsecrets]=$("${BIN[ripsecrets]}" --version | awk '{print $2}')
else
    SKIP[ripsecrets]="cargo install ripsecrets failed"
fi

# rg searches exactly tokenwarden's prefilter keywords, with the same case rules: keywords are
# case-insensitive unless a rule declares `case_sensitive_keywords` (e.g. `eyJ`, `Ag`, `AKIA`).
KEYWORDS="$WORK/keywords.txt"
"${BIN[tokenwarden]}" rules list --format json | python3 -c '
import json, sys
def esc(k):  # only true metacharacters: older rg rejects escapes such as "\ "
    return "".join("\\" + c if c in ".+*?()|[]{}^$\\" else c for c in k)
pats = set()
for r in json.load(sys.stdin):
    for k in r.get("keywords", []):
        if k:
            pats.add(esc(k) if r.get("case_sensitive_keywords") else "(?i)" + esc(k.lower()))
print("\n".join(sorted(pats)))' >"$KEYWORDS"
NKW=$(wc -l <"$KEYWORDS")

# Command lines (the corpus path is appended last).
cmd_tokenwarden=("${BIN[tokenwarden]}" scan --format json --no-config)
cmd_rg=("${BIN[rg]:-rg}" -c --hidden -f "$KEYWORDS")
cmd_kingfisher=("${BIN[kingfisher]:-kingfisher}" scan --no-validate --no-update-check --git-history none -f json
                --rule-cache-dir "$CACHE/kingfisher-rule-cache")
cmd_ripsecrets=("${BIN[ripsecrets]:-ripsecrets}")
# Exit codes that mean "ran fine" (findings are not failures).
ok_codes() { case $1 in tokenwarden|rg|ripsecrets) echo "0 1";; kingfisher) echo "0 200";; esac; }

# ---------------------------------------------------------------- corpus size
# Bytes of regular files the walkers can reach (no .git dirs). Same denominator for every tool.
CORPUS_BYTES=$(find "$CORPUS" -name .git -prune -o -type f -printf '%s\n' | awk '{s+=$1} END{printf "%d", s}')
CORPUS_FILES=$(find "$CORPUS" -name .git -prune -o -type f -print | wc -l)
DU_SB=$(du -sb "$CORPUS" | awk '{print $1}')

# ---------------------------------------------------------------- warm-up
log "warming page cache (reading every file once)"
timeout 1800 find "$CORPUS" -name .git -prune -o -type f -print0 | timeout 1800 xargs -0 -r cat >/dev/null 2>&1 || true
if [[ -z "${SKIP[kingfisher]:-}" ]]; then
    # Kingfisher compiles its Vectorscan rule database on first use and caches it; do that untimed.
    mkdir -p "$WORK/kf-warm"; echo "nothing here" >"$WORK/kf-warm/x.txt"
    timeout 600 "${cmd_kingfisher[@]}" "$WORK/kf-warm" >/dev/null 2>&1 || true
fi

# ---------------------------------------------------------------- timing
declare -A MEDIAN RSS FINDINGS NOTE
for tool in "${TOOLS[@]}"; do
    [[ -n "${SKIP[$tool]:-}" ]] && { log "SKIP $tool: ${SKIP[$tool]}"; continue; }
    declare -n cmd="cmd_$tool"
    time_tool "$tool" 0 "${cmd[@]}" "$CORPUS" || { unset -n cmd; continue; }
    unset -n cmd
    last="$WORK/$tool.$RUNS.out"
    case $tool in
        tokenwarden)
            FINDINGS[$tool]=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["findings"]))' "$last" 2>/dev/null || echo "?")
            NOTE[$tool]=$(python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))["stats"]
print(s["files_scanned"], "files /", s["bytes_scanned"], "B scanned,", s["binary_skipped"], "binary +", s["too_large_skipped"], "too-large skipped")' "$last" 2>/dev/null || echo "") ;;
        rg)
            FINDINGS[$tool]=$(awk -F: '{s+=$NF} END{printf "%d", s}' "$last")
            NOTE[$tool]="matching lines for $NKW keywords in $(wc -l <"$last") files" ;;
        kingfisher)
            # stdout: the report document, then a one-line summary document.
            FINDINGS[$tool]=$(python3 -c '
import json, sys
docs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print(len(docs[0]["findings"]))' "$last" 2>/dev/null || echo "?")
            NOTE[$tool]=$(python3 -c '
import json, sys
d = [json.loads(l) for l in open(sys.argv[1]) if l.strip()][-1]
print(d["blobs_scanned"], "blobs /", d["bytes_scanned"], "B scanned,", d["rules_applied"], "rules")' "$last" 2>/dev/null || echo "") ;;
        ripsecrets)
            FINDINGS[$tool]=$(grep -c . "$last" || true)
            NOTE[$tool]="output lines; skips hidden files" ;;
    esac
done

# ---------------------------------------------------------------- report
TW=${MEDIAN[tokenwarden]:-}
row() {
    local t=$1
    if [[ -n "${SKIP[$t]:-}" ]]; then
        printf '| %s | %s | skipped: %s | | | | | |\n' "$t" "${VERSION[$t]:-?}" "${SKIP[$t]}"
        return
    fi
    local s=${MEDIAN[$t]}
    awk -v t="$t" -v v="${VERSION[$t]}" -v s="$s" -v b="$CORPUS_BYTES" -v k="${RSS[$t]}" -v tw="$TW" \
        -v f="${FINDINGS[$t]}" -v n="${NOTE[$t]}" 'BEGIN{
        mbs = (s > 0) ? sprintf("%.0f", b / 1e6 / s) : "n/a";
        ratio = (tw > 0) ? sprintf("%.2f", s / tw) : "n/a";
        printf "| %s | %s | %.2f | %s | %.0f | %s | %s | %s |\n", t, v, s, mbs, k / 1024, ratio, f, n }'
}
ratio_line() {
    local r="" k=""
    [[ -n "$TW" && -n "${MEDIAN[rg]:-}" ]] && r=$(awk -v a="$TW" -v b="${MEDIAN[rg]}" 'BEGIN{printf "%.2f", a/b}')
    [[ -n "$TW" && -n "${MEDIAN[kingfisher]:-}" ]] && k=$(awk -v a="$TW" -v b="${MEDIAN[kingfisher]}" 'BEGIN{printf "%.2f", b/a}')
    echo "- tokenwarden time / rg time: **${r:-n/a}** (target: at most 2.00)"
    echo "- tokenwarden throughput / Kingfisher throughput: **${k:-n/a}x** (target: at least 3x)"
}
{
    report_header "tokenwarden directory-scan benchmark"
    echo "- corpus: $CORPUS_DESC"
    echo "- corpus size: $CORPUS_BYTES bytes in $CORPUS_FILES regular files (sum of file sizes; \`du -sb\` says $DU_SB incl. directory entries); MB/s = corpus bytes / 10^6 / median seconds"
    echo "- runs per tool: $RUNS, page cache warmed once before timing; median wall time and max peak RSS over the runs (\`/usr/bin/time -f '%e %M'\`)"
    echo
    echo "| tool | version | median s | MB/s | peak RSS MiB | time vs tokenwarden | findings | what the count is |"
    echo "|---|---|---:|---:|---:|---:|---:|---|"
    for t in "${TOOLS[@]}"; do row "$t"; done
    echo
    ratio_line
    echo
    echo "Commands (corpus path appended):"
    echo
    for t in "${TOOLS[@]}"; do
        declare -n c="cmd_$t"
        printf -- '- %s: `%s`\n' "$t" "${c[*]}"
        unset -n c
    done
    echo
    echo "Patterns for rg: $NKW tokenwarden rule keywords, case-insensitive unless the rule declares them exact ($(paste -sd, "$KEYWORDS"))."
    echo "Whole script wall time: $((SECONDS - START_SECONDS)) s."
} >"$OUT_MD"
cat "$OUT_MD"
log "wrote $OUT_MD"
