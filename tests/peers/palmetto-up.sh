#!/usr/bin/env bash
# palmetto-up.sh - start the Palmetto API contract gateway (palmetto/gateway.py)
# on 127.0.0.1 in front of the REAL slurmrestd of a slurm peer.
#
# Usage: palmetto-up.sh [bookworm|trixie|sid]     (slurm flavor, default bookworm)
#
# Starts the slurm peer first (slurm-up.sh <flavor>) if it is not up. Only one
# gateway runs at a time: asking for another flavor restarts it on that flavor.
# Idempotent: if it is up on the same flavor, it only prints the environment.
#
# Output (stdout, also $PEER_ROOT/palmetto.env, shell-sourceable):
#   PALMETTO_URL, PALMETTO_TOKEN_RW (scopes slurm:read slurm:jobs:manage),
#   PALMETTO_TOKEN_RO (slurm:read), PALMETTO_USER (user of both tokens),
#   PALMETTO_MUNGE_SOCKET (host path of the cluster's munged socket, for
#   `munge -n -t 5 -S ...`), PALMETTO_REQUEST_LOG (JSON lines, one per request),
#   PALMETTO_TOKEN_TABLE, PALMETTO_API_VERSIONS, PALMETTO_API_LATEST,
#   PALMETTO_SLURM_FLAVOR, PALMETTO_PIDFILE.
# Knobs: PALMETTO_PORT (9700), PALMETTO_UID_MAP ("0=slurmtest,..."), PEER_ROOT,
#        PEER_CACHE, WAIT_SECS (30).
set -euo pipefail
FLAVOR="${1:-${PALMETTO_SLURM_FLAVOR:-bookworm}}"
case "$FLAVOR" in bookworm|trixie|sid) ;; *) echo "flavor: bookworm|trixie|sid" >&2; exit 2 ;; esac
PORT="${PALMETTO_PORT:-9700}"
PEER_ROOT="${PEER_ROOT:-/tmp/tokenwarden-peers}"
PEER_CACHE="${PEER_CACHE:-/var/cache/tokenwarden-peers}"
export PEER_ROOT PEER_CACHE
WAIT_SECS="${WAIT_SECS:-30}"
HERE="$(cd "$(dirname "$0")" && pwd)"
D="$PEER_ROOT/palmetto"
PIDFILE="$PEER_ROOT/palmetto.pid"
ENVFILE="$PEER_ROOT/palmetto.env"
LOG="$PEER_ROOT/palmetto.log"
REQLOG="$PEER_ROOT/palmetto-requests.jsonl"
TOKENS="$D/tokens.json"
SENV="$PEER_ROOT/slurm-$FLAVOR.env"
PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3
log() { echo "[palmetto-up:$FLAVOR] $*" >&2; }
mkdir -p "$PEER_ROOT"

alive()   { [ -f "$PIDFILE" ] && [ -d "/proc/$(cat "$PIDFILE")" ] \
            && tr '\0' ' ' < "/proc/$(cat "$PIDFILE")/cmdline" | grep -q "palmetto/gateway.py"; }
healthy() { [ "$(curl -s -A tokenwarden-peers-probe --max-time 2 "http://127.0.0.1:$PORT/ping")" = pong ]; }
slurm_ok() { # slurm peer of this flavor up and its REST daemon answering?
  [ -f "$SENV" ] || return 1
  local pf url
  pf=$(sed -n 's/^SLURM_PEER_PIDFILE=//p' "$SENV"); url=$(sed -n 's/^SLURM_REST_URL=//p' "$SENV")
  [ -f "$pf" ] && [ -d "/proc/$(cat "$pf")" ] && tr '\0' ' ' < "/proc/$(cat "$pf")/cmdline" | grep -q "tokenwarden-slurm-$FLAVOR" \
    && [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$url/openapi/v3")" = 401 ]
}

T0=$SECONDS
# ---------------------------------------------------------------- slurm peer
if slurm_ok; then
  log "slurm peer $FLAVOR is up"
else
  log "starting slurm peer $FLAVOR (slurm-up.sh $FLAVOR)"
  "$HERE/slurm-up.sh" "$FLAVOR" > /dev/null
fi
# shellcheck disable=SC1090
set -a; . "$SENV"; set +a

# ---------------------------------------------------------------- already up?
STAMP="$FLAVOR $PORT $(sha256sum < "$HERE/palmetto/gateway.py" | cut -c1-16)"   # restart if flavor, port or code changed
if alive && healthy && [ "$(cat "$D/stamp" 2>/dev/null)" = "$STAMP" ] && [ -f "$ENVFILE" ] && [ -f "$TOKENS" ]; then
  log "already running (pid $(cat "$PIDFILE"))"; cat "$ENVFILE"; exit 0
fi
"$HERE/palmetto-down.sh" >/dev/null 2>&1 || true
if ss -Hltn "sport = :$PORT" | grep -q .; then log "ERROR: port $PORT in use"; exit 1; fi

# ---------------------------------------------------------------- host munge client
if ! command -v munge >/dev/null || ! command -v unmunge >/dev/null; then
  log "installing the munge client tools on the host"
  made=0; [ -e /usr/sbin/policy-rc.d ] || { printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d; made=1; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends munge >&2 \
    || { apt-get update -qq >&2; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends munge >&2; }
  [ $made = 1 ] && rm -f /usr/sbin/policy-rc.d
fi
# the client under test runs `munge -n -t 5 -S $MUNGE_SOCKET` on the host: prove
# that path works and that the cluster's munged accepts what host munge makes
[ -S "$MUNGE_SOCKET" ] || { log "ERROR: MUNGE_SOCKET $MUNGE_SOCKET is not a socket on the host"; exit 1; }
munge -n -t 5 -S "$MUNGE_SOCKET" | unmunge -S "$MUNGE_SOCKET" --output=/dev/null --metadata=/dev/null \
  || { log "ERROR: host munge/unmunge cannot use $MUNGE_SOCKET"; exit 1; }

# ---------------------------------------------------------------- token table
rm -rf "$D"; mkdir -p "$D"; chmod 700 "$D"
(umask 077; "$PY" - "$TOKENS" "$SLURM_USER" <<'EOF'
import json, secrets, sys
path, user = sys.argv[1], sys.argv[2]
tokens = [
    {"name": "rw", "token": secrets.token_urlsafe(32), "user": user, "scopes": ["slurm:read", "slurm:jobs:manage"]},
    {"name": "ro", "token": secrets.token_urlsafe(32), "user": user, "scopes": ["slurm:read"]},
]
json.dump({"tokens": tokens}, open(path, "w"), indent=2)
EOF
)
echo "$STAMP" > "$D/stamp"
: > "$REQLOG"

# ---------------------------------------------------------------- start
PALMETTO_PORT="$PORT" PALMETTO_TOKENS="$TOKENS" PALMETTO_REQUEST_LOG="$REQLOG" \
PALMETTO_PASSWD="$SLURM_PEER_PASSWD" \
  setsid "$PY" "$HERE/palmetto/gateway.py" </dev/null >"$LOG" 2>&1 &
echo $! > "$PIDFILE"
end=$((SECONDS + WAIT_SECS))
until healthy; do
  if ! alive || [ $SECONDS -ge $end ]; then
    log "ERROR: gateway did not come up"; cat "$LOG" >&2; "$HERE/palmetto-down.sh" >&2 || true; exit 1
  fi
  sleep 0.2
done
bad=$(ss -Hltn "sport = :$PORT" | awk '{print $4}' | grep -v '^127\.0\.0\.1:' || true)
[ -z "$bad" ] || { log "ERROR: non-loopback listener $bad"; "$HERE/palmetto-down.sh" >&2; exit 1; }

tok() { "$PY" -c 'import json,sys; print(next(t["token"] for t in json.load(open(sys.argv[1]))["tokens"] if t["name"]==sys.argv[2]))' "$TOKENS" "$1"; }
cat > "$ENVFILE" <<EOF
PALMETTO_URL=http://127.0.0.1:$PORT
PALMETTO_TOKEN_RW=$(tok rw)
PALMETTO_TOKEN_RO=$(tok ro)
PALMETTO_USER=$SLURM_USER
PALMETTO_MUNGE_SOCKET=$MUNGE_SOCKET
PALMETTO_REQUEST_LOG=$REQLOG
PALMETTO_TOKEN_TABLE=$TOKENS
PALMETTO_API_VERSIONS="$SLURM_API_VERSIONS"
PALMETTO_API_LATEST=$SLURM_API_LATEST
PALMETTO_SLURM_FLAVOR=$FLAVOR
PALMETTO_PIDFILE=$PIDFILE
EOF
chmod 600 "$ENVFILE"
log "up in $((SECONDS - T0))s on port $PORT (slurm $FLAVOR, $SLURM_REST_URL)"
cat "$ENVFILE"
