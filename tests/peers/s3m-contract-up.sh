#!/usr/bin/env bash
# s3m-contract-up.sh - start the S3M CONTRACT server (s3m-contract/server.py) on
# 127.0.0.1. It is NOT S3M: it is a contract server built from OLCF's public S3M
# documentation (shared/FACILITIES.md §1) and the slurmrestd OpenAPI documents in
# fixtures/specs/slurmrestd/, for the client tests (tests/int_s3m.rs).
#
# Usage: s3m-contract-up.sh [current|legacy]   (path layout served, default current)
#   current: /slurm/{enclave}/v0.0.4x/{resource}/..., /olcf/{enclave}/v1alpha/streaming/...
#   legacy:  /slurm/v0.0.4x/{resource}/...,           /olcf/v1alpha/streaming/...
# Each layout is its own server (ports 9620 / 9621), so both can run at once.
# Idempotent: if it is up (same code), it only prints the environment.
#
# Output (stdout, also $PEER_ROOT/s3m-contract-<layout>.env, shell-sourceable):
#   S3M_CONTRACT_URL, S3M_CONTRACT_CONTROL (test-only controls: POST /_contract/tokens,
#   POST /_contract/faults), S3M_CONTRACT_PATHS, S3M_CONTRACT_REQUEST_LOG (JSON lines,
#   credentials replaced by fp:<sha256 prefix>), S3M_CONTRACT_TOKEN_RW (compute-ace +
#   data-streaming), S3M_CONTRACT_TOKEN_RO (compute-ace-readonly),
#   S3M_CONTRACT_TOKEN_STREAM (data-streaming), S3M_CONTRACT_TOKEN_MODERATE (compute-ace,
#   enclave moderate), S3M_CONTRACT_PIDFILE.
# Knobs: S3M_CONTRACT_PORT, PEER_ROOT, WAIT_SECS (20).
set -euo pipefail
LAYOUT="${1:-current}"
case "$LAYOUT" in current) defport=9620 ;; legacy) defport=9621 ;; *) echo "layout: current|legacy" >&2; exit 2 ;; esac
PORT="${S3M_CONTRACT_PORT:-$defport}"
PEER_ROOT="${PEER_ROOT:-/tmp/tokenwarden-peers}"
WAIT_SECS="${WAIT_SECS:-20}"
HERE="$(cd "$(dirname "$0")" && pwd)"
SPECS="$(cd "$HERE/../../fixtures/specs/slurmrestd" && pwd)"
NAME="s3m-contract-$LAYOUT"
D="$PEER_ROOT/$NAME"
PIDFILE="$PEER_ROOT/$NAME.pid"
ENVFILE="$PEER_ROOT/$NAME.env"
LOG="$PEER_ROOT/$NAME.log"
REQLOG="$PEER_ROOT/$NAME-requests.jsonl"
TOKENS="$D/tokens.json"
PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3
log() { echo "[s3m-contract-up:$LAYOUT] $*" >&2; }
mkdir -p "$PEER_ROOT"

alive()   { [ -f "$PIDFILE" ] && [ -d "/proc/$(cat "$PIDFILE")" ] \
            && tr '\0' ' ' < "/proc/$(cat "$PIDFILE")/cmdline" | grep -q "s3m-contract/server.py"; }
healthy() { [ "$(curl -s --max-time 2 "http://127.0.0.1:$PORT/ping")" = pong ]; }

STAMP="$LAYOUT $PORT $(cat "$HERE/s3m-contract/server.py" "$0" | sha256sum | cut -c1-16)"
if alive && healthy && [ "$(cat "$D/stamp" 2>/dev/null)" = "$STAMP" ] && [ -f "$ENVFILE" ]; then
  log "already running (pid $(cat "$PIDFILE"))"; cat "$ENVFILE"; exit 0
fi
"$HERE/s3m-contract-down.sh" "$LAYOUT" >/dev/null 2>&1 || true
if ss -Hltn "sport = :$PORT" | grep -q .; then log "ERROR: port $PORT in use"; exit 1; fi

rm -rf "$D"; mkdir -p "$D"; chmod 700 "$D"
(umask 077; "$PY" -c 'import json,secrets,sys; json.dump({"key": secrets.token_hex(32), "tokens": {}}, open(sys.argv[1], "w"))' "$TOKENS")
echo "$STAMP" > "$D/stamp"
: > "$REQLOG"

S3M_PORT="$PORT" S3M_PATHS="$LAYOUT" S3M_TOKENS="$TOKENS" S3M_REQUEST_LOG="$REQLOG" S3M_SPECS="$SPECS" \
  setsid "$PY" "$HERE/s3m-contract/server.py" </dev/null >"$LOG" 2>&1 &
echo $! > "$PIDFILE"
end=$((SECONDS + WAIT_SECS))
until healthy; do
  if ! alive || [ $SECONDS -ge $end ]; then
    log "ERROR: server did not come up"; cat "$LOG" >&2; "$HERE/s3m-contract-down.sh" "$LAYOUT" >&2 || true; exit 1
  fi
  sleep 0.2
done
bad=$(ss -Hltn "sport = :$PORT" | awk '{print $4}' | grep -v '^127\.0\.0\.1:' || true)
[ -z "$bad" ] || { log "ERROR: non-loopback listener $bad"; "$HERE/s3m-contract-down.sh" "$LAYOUT" >&2; exit 1; }

mint() { # mint <enclave> <perm,...>
  curl -sf --max-time 5 -H 'Content-Type: application/json' \
    -d "{\"enclave\":\"$1\",\"permissions\":[$(echo "$2" | sed 's/[^,][^,]*/"&"/g')]}" \
    "http://127.0.0.1:$PORT/_contract/tokens" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["token"])'
}
cat > "$ENVFILE" <<EOT
S3M_CONTRACT_URL=http://127.0.0.1:$PORT
S3M_CONTRACT_CONTROL=http://127.0.0.1:$PORT/_contract
S3M_CONTRACT_PATHS=$LAYOUT
S3M_CONTRACT_REQUEST_LOG=$REQLOG
S3M_CONTRACT_TOKEN_RW=$(mint open compute-ace,data-streaming)
S3M_CONTRACT_TOKEN_RO=$(mint open compute-ace-readonly)
S3M_CONTRACT_TOKEN_STREAM=$(mint open data-streaming)
S3M_CONTRACT_TOKEN_MODERATE=$(mint moderate compute-ace)
S3M_CONTRACT_PIDFILE=$PIDFILE
EOT
chmod 600 "$ENVFILE"
log "up on port $PORT ($LAYOUT paths)"
cat "$ENVFILE"
