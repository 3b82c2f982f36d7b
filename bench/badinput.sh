#!/usr/bin/env bash
# Bad-input benchmark: wall time and peak RSS of `tokenwarden scan` on the hostile inputs of
# the bad-input matrix, at sizes the tests cannot afford. Memory must stay bounded: the peak
# RSS of each case is compared with the input's size.
#
#   bash bench/badinput.sh
#
# Cases (built once under BENCH_CACHE/badinput, ~3.2 GB of disk, most of it sparse):
#   sparse-2g      a 2 GiB sparse file (all NUL: binary, skipped after the sniff)
#   line-500m      one 500 MB line of text, a token at its end (chunked reading)
#   text-1g        1 GB of ordinary lines, a token every 100 MB
#   utf16-60m      60 MB of UTF-16LE text with a token at its end (decoded whole, up to 64 MiB)
#   nul-text-200m  200 MB of NUL-separated text (a giant saved environ), tokens inside
#   tiny-100k      100,000 files of a few bytes, one token
# Env: BENCH_CACHE (default /var/cache/tokenwarden-bench), RUNS (default 1).
# Writes bench/results-badinput.md and prints the same table.
set -euo pipefail
CACHE=${BENCH_CACHE:-/var/cache/tokenwarden-bench}
RUNS=${RUNS:-1}
TOOL_TIMEOUT=${TOOL_TIMEOUT:-1800}
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT_MD="$REPO/bench/results-badinput.md"
START_SECONDS=$SECONDS
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
LOG_TAG=badinput
KERNEL_PKG=unused
declare -A BIN VERSION SKIP
# shellcheck source=bench/lib.sh
. "$REPO/bench/lib.sh"
D="$CACHE/badinput"
mkdir -p "$D"

# A Slurm-JWT-shaped token the built-in rules report (minted fresh; never committed).
jwt() {
    python3 - <<'PY'
import base64, json, os, time
b = lambda d: base64.urlsafe_b64encode(json.dumps(d, separators=(",", ":")).encode()).rstrip(b"=").decode()
sig = base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode()
print(b({"alg": "HS256", "typ": "JWT"}) + "." + b({"exp": int(time.time()) + 3600, "iat": int(time.time()), "sun": "alice"}) + "." + sig)
PY
}

build() { # build NAME: creates $D/NAME (a directory) unless it exists
    local name=$1 dir="$D/$1"
    [[ -e "$dir/.done" ]] && return 0
    rm -rf "$dir"; mkdir -p "$dir"
    log "building $name"
    case $name in
        sparse-2g) truncate -s 2G "$dir/sparse.img" ;;
        line-500m) { head -c 500000000 /dev/zero | tr '\0' 'x'; echo " SLURM_JWT=$(jwt)"; } > "$dir/one-line.txt" ;;
        text-1g) python3 - "$dir/big.log" "$(jwt)" <<'PY'
import sys
line = b"2026-11-22T10:00:00 INFO worker 17 finished step 4242 of job 1234567 in 0.37 s\n"
with open(sys.argv[1], "wb") as f:
    for i in range(10):
        f.write(line * (100_000_000 // len(line)))
        f.write(b"export SLURM_JWT=" + sys.argv[2].encode() + b"\n")
PY
            ;;
        utf16-60m) python3 - "$dir/setup.ps1" "$(jwt)" <<'PY'
import sys
body = "Write-Host 'step done'\r\n" * (30_000_000 // 24) + "$env:SLURM_JWT = '" + sys.argv[2] + "'\r\n"
open(sys.argv[1], "wb").write(b"\xff\xfe" + body.encode("utf-16-le"))
PY
            ;;
        nul-text-200m) python3 - "$dir/environ.dump" "$(jwt)" <<'PY'
import sys
entry = b"OMPI_MCA_orte_precondition_transports=0123456789abcdef-fedcba9876543210\0"
with open(sys.argv[1], "wb") as f:
    for i in range(4):
        f.write(entry * (50_000_000 // len(entry)))
        f.write(b"SLURM_JWT=" + sys.argv[2].encode() + b"\0")
PY
            ;;
        tiny-100k) python3 - "$dir" "$(jwt)" <<'PY'
import os, sys
d = sys.argv[1]
for i in range(100_000):
    sub = os.path.join(d, f"d{i // 1000:03}")
    os.makedirs(sub, exist_ok=True)
    with open(os.path.join(sub, f"f{i:06}.txt"), "w") as f:
        f.write(f"value {i}\n")
open(os.path.join(d, "d000", "secret.env"), "w").write("SLURM_JWT=" + sys.argv[2] + "\n")
PY
            ;;
    esac
    touch "$dir/.done"
}

CASES=(sparse-2g line-500m text-1g utf16-60m nul-text-200m tiny-100k)
declare -A EXPECT=([sparse-2g]=0 [line-500m]=1 [text-1g]=10 [utf16-60m]=1 [nul-text-200m]=4 [tiny-100k]=1)
build_tokenwarden
WORK="$D/work"; mkdir -p "$WORK"
ok_codes() { echo "0 1"; }
declare -A MEDIAN RSS
rows=()
for c in "${CASES[@]}"; do
    build "$c"
    bytes=$(du -sb --apparent-size "$D/$c" | cut -f1)
    disk=$(du -s -B1 "$D/$c" | cut -f1)
    if time_tool "$c" 0 "${BIN[tokenwarden]}" scan "$D/$c" --format json --no-config; then
        # Every location of every finding: the count the case expects.
        found=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(sum(len(f["locations"]) for f in r["findings"]))' "$WORK/$c.$RUNS.out")
        warn=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(len(r.get("warnings", [])))' "$WORK/$c.$RUNS.out")
        verdict=$([[ $found == "${EXPECT[$c]}" ]] && echo ok || echo "WRONG (expected ${EXPECT[$c]})")
        rows+=("| $c | $(numfmt --to=iec "$bytes") ($(numfmt --to=iec "$disk") on disk) | ${MEDIAN[$c]} | $((RSS[$c] / 1024)) MiB | $found $verdict | $warn |")
    else
        rows+=("| $c | $(numfmt --to=iec "$bytes") | - | - | ${SKIP[$c]} | - |")
    fi
done
{
    report_header "Bad-input benchmark: tokenwarden ${VERSION[tokenwarden]}"
    echo "- command: \`tokenwarden scan CASE_DIR --format json --no-config\`, $RUNS run(s) per case; wall = median, RSS = largest peak (\`/usr/bin/time %M\`)"
    echo
    echo "| case | input size | wall (s) | peak RSS | token locations found | warnings |"
    echo "|---|---|---|---|---|---|"
    printf '%s\n' "${rows[@]}"
} | tee "$OUT_MD"
