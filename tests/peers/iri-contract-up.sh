#!/usr/bin/env bash
# iri-contract-up.sh - start the IRI Facility API v1 CONTRACT server on 127.0.0.1.
#
# A contract server built from fixtures/specs/iri/iri-facility-api-v1.yaml and FACILITIES.md §2,
# not the ALCF/NERSC/OLCF service: it validates every request and every response against the
# spec with PyPI openapi-core, records each request as a JSON line (credential values replaced
# by their SHA-256), and can be told to fail (see iri-contract/server.py).
#
# Idempotent; prints (and writes to $PEER_ROOT/iri-contract.env) IRI_* variables.
# Knobs: IRI_PORT (9460), PEER_ROOT, PEER_CACHE, WAIT_SECS, IRI_TASK_DELAY (0.8 s).
set -euo pipefail
PORT="${IRI_PORT:-9460}"
PEER_ROOT="${PEER_ROOT:-/tmp/tokenwarden-peers}"
PEER_CACHE="${PEER_CACHE:-/var/cache/tokenwarden-peers}"
WAIT_SECS="${WAIT_SECS:-30}"
HERE="$(cd "$(dirname "$0")" && pwd)"
SPEC="$(cd "$HERE/../.." && pwd)/fixtures/specs/iri/iri-facility-api-v1.yaml"
VENV="$PEER_CACHE/venv-iri"
PIDFILE="$PEER_ROOT/iri-contract.pid"
ENVFILE="$PEER_ROOT/iri-contract.env"
TOKENFILE="$PEER_ROOT/iri-contract.token"
LOG="$PEER_ROOT/iri-contract.log"
REQLOG="$PEER_ROOT/iri-contract.requests.jsonl"
URL="http://127.0.0.1:$PORT"
log() { echo "[iri-contract-up] $*" >&2; }
mkdir -p "$PEER_ROOT" "$PEER_CACHE"

alive() { [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null \
          && tr '\0' ' ' < "/proc/$(cat "$PIDFILE")/cmdline" | grep -q "iri-contract/server.py"; }
healthy() { curl -sf --max-time 2 "$URL/__control/health" >/dev/null; }

print_env() {
  {
    echo "IRI_URL=$URL/api/v1"
    echo "IRI_CONTROL_URL=$URL/__control"
    echo "IRI_TOKEN_FILE=$TOKENFILE"
    echo "IRI_REQUEST_LOG=$REQLOG"
    echo "IRI_COMPUTE_RESOURCE=55c1c993-1124-47f9-b823-514ba3849a9a"
    echo "IRI_STORAGE_RESOURCE=1c3ad9d4-2e91-42bc-becb-72b1fde1235c"
    echo "IRI_PIDFILE=$PIDFILE"
  } > "$ENVFILE"
  cat "$ENVFILE"
}

if alive && healthy && cmp -s "$HERE/iri-contract/server.py" "$PEER_ROOT/iri-contract.server.py"; then
  log "already running (pid $(cat "$PIDFILE"))"; print_env; exit 0
fi
if alive; then log "stale or changed instance; stopping it"; "$HERE/iri-contract-down.sh" >&2 || true; fi
rm -f "$PIDFILE"
if ss -Hltn "sport = :$PORT" | grep -q .; then log "ERROR: port $PORT in use"; exit 1; fi

T0=$SECONDS
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import openapi_core, yaml, werkzeug' 2>/dev/null; then
  log "creating $VENV (openapi-core)"
  python3 -m venv "$VENV" >&2
  "$VENV/bin/pip" install -q --disable-pip-version-check 'openapi-core>=0.19,<0.24' pyyaml werkzeug >&2
fi
# The bearer token the server honours: random per start, in a 0600 file, never on a command line.
( umask 077; head -c 24 /dev/urandom | base64 | tr -d '/+=\n' | sed 's/^/iri-contract-/' > "$TOKENFILE" )
: > "$REQLOG"
cp "$HERE/iri-contract/server.py" "$PEER_ROOT/iri-contract.server.py"
IRI_SPEC="$SPEC" IRI_PORT="$PORT" IRI_TOKEN="$(cat "$TOKENFILE")" IRI_LOG="$REQLOG" \
  IRI_TASK_DELAY="${IRI_TASK_DELAY:-0.8}" \
  setsid "$VENV/bin/python" "$HERE/iri-contract/server.py" </dev/null >"$LOG" 2>&1 &
echo $! > "$PIDFILE"
end=$((SECONDS + WAIT_SECS))
until healthy; do
  if ! kill -0 "$(cat "$PIDFILE")" 2>/dev/null || [ $SECONDS -ge $end ]; then
    log "ERROR: server did not come up"; cat "$LOG" >&2; "$HERE/iri-contract-down.sh" >&2 || true; exit 1
  fi
  sleep 0.2
done
bad=$(ss -Hltn "sport = :$PORT" | awk '{print $4}' | grep -v '^127\.0\.0\.1:' || true)
[ -z "$bad" ] || { log "ERROR: non-loopback listener $bad"; "$HERE/iri-contract-down.sh"; exit 1; }
log "up in $((SECONDS - T0))s"
print_env
