#!/usr/bin/env bash
# What the hygiene checks cost: a default scan against `--no-hygiene`, on the same trees, in
# alternated rounds (so neither always runs on a colder cache).
#
#   bash bench/hygiene-cost.sh TREE...
#
# A scan that finds something exits 1; that is a finished scan here too.
# Env: TOKENWARDEN (default target/release/tokenwarden), ROUNDS (default 6), RUNS (runs per
# round and variant, default 5). Prints per tree the median CPU milliseconds (`perf stat`
# task-clock, whole process) and the median wall milliseconds, and their ratios. Fetch the
# trees with the session's fetch tool and clone them into a temporary directory; nothing from
# them is committed. Figures go in the README's hygiene section.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TW=${TOKENWARDEN:-$HERE/../target/release/tokenwarden}
ROUNDS=${ROUNDS:-6} RUNS=${RUNS:-5}
[[ $# -ge 1 ]] || { echo "usage: $0 TREE..." >&2; exit 2; }
command -v perf >/dev/null || { echo "perf is needed (Debian: linux-perf)" >&2; exit 2; }
for tree in "$@"; do
    for ((i = 0; i < ROUNDS; i++)); do
        for variant in default no-hygiene; do
            extra=()
            [[ $variant == no-hygiene ]] && extra=(--no-hygiene)
            perf stat -x, -r "$RUNS" -e task-clock "$TW" scan "$tree" --no-config --format json "${extra[@]}" \
                2>&1 >/dev/null | awk -F, -v v="$variant" '/task-clock/ {print v "-cpu", $1}' || true
            python3 - "$TW" "$tree" "$RUNS" "$variant" "${extra[@]}" <<'PY'
import subprocess, sys, time
tw, tree, runs, variant, extra = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5:]
t = time.perf_counter()
for _ in range(runs):
    subprocess.run([tw, "scan", tree, "--no-config", "--format", "json", *extra],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(f"{variant}-wall", (time.perf_counter() - t) / runs * 1000)
PY
        done
    done | python3 -c '
import collections, statistics, sys
d = collections.defaultdict(list)
for line in sys.stdin:
    k, v = line.split()
    d[k].append(float(v))
m = {k.replace("-", "_"): statistics.median(v) for k, v in d.items()}
cpu, wall = m["default_cpu"] / m["no_hygiene_cpu"], m["default_wall"] / m["no_hygiene_wall"]
print("%s: CPU %.1f -> %.1f ms (%.3fx), wall %.1f -> %.1f ms (%.3fx)" % (
    sys.argv[1], m["no_hygiene_cpu"], m["default_cpu"], cpu, m["no_hygiene_wall"], m["default_wall"], wall))
' "$tree"
done
