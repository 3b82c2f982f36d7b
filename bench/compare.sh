#!/usr/bin/env bash
# Two tokenwarden builds on the same trees, alternated in one run: did a change cost speed?
#
#   bash bench/compare.sh OLD_BIN NEW_BIN TREE...
#
# Env: RUNS (rounds, default 5), ARGS (scan arguments, default "--no-config --format json").
# Each round runs OLD then NEW (then NEW then OLD on the next round, so neither always runs on a
# colder cache) on every tree, through /usr/bin/time. Prints, per tree, the median wall-clock
# seconds, the median CPU seconds (user + system: steadier than wall-clock on a shared 2-core
# machine, where one slow round moves a 0.7 s median by 10 %) and the peak RSS of each build,
# with NEW/OLD for both. Exit codes 0 and 1 (findings) both count
# as a finished scan; anything else stops the run.
set -euo pipefail
[[ $# -ge 3 ]] || { echo "usage: $0 OLD_BIN NEW_BIN TREE..." >&2; exit 2; }
OLD=$1 NEW=$2; shift 2
RUNS=${RUNS:-5}
read -r -a SCAN_ARGS <<<"${ARGS:---no-config --format json}"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

run() { # name bin tree
    local t="$WORK/$1.$(basename "$3").time" code=0
    /usr/bin/time -f "%e %M %U %S" -a -o "$t" "$2" scan "$3" "${SCAN_ARGS[@]}" >/dev/null 2>"$WORK/err" || code=$?
    [[ $code -le 1 ]] || { echo "$1 on $3 exited $code:" >&2; cat "$WORK/err" >&2; exit 2; }
}
for tree in "$@"; do run old "$OLD" "$tree"; run new "$NEW" "$tree"; done # warm-up, not counted
rm -f "$WORK"/*.time
for ((i = 0; i < RUNS; i++)); do
    for tree in "$@"; do
        if (( i % 2 )); then run new "$NEW" "$tree"; run old "$OLD" "$tree";
        else run old "$OLD" "$tree"; run new "$NEW" "$tree"; fi
    done
done
printf '| tree | old median s | new median s | new/old | old CPU s | new CPU s | CPU new/old | old peak RSS MiB | new peak RSS MiB |\n|---|---|---|---|---|---|---|---|---|\n'
for tree in "$@"; do
    b=$(basename "$tree")
    python3 - "$WORK/old.$b.time" "$WORK/new.$b.time" "$b" <<'PY'
import statistics, sys
def read(p):
    rows = [l.split() for l in open(p) if l.strip() and l.split()[0][0].isdigit()]
    return (statistics.median(float(r[0]) for r in rows), max(int(r[1]) for r in rows) / 1024,
            statistics.median(float(r[2]) + float(r[3]) for r in rows))
o, n = read(sys.argv[1]), read(sys.argv[2])
print(f"| {sys.argv[3]} | {o[0]:.2f} | {n[0]:.2f} | {n[0] / o[0]:.3f} | {o[2]:.2f} | {n[2]:.2f} | {n[2] / o[2]:.3f} | {o[1]:.0f} | {n[1]:.0f} |")
PY
done
