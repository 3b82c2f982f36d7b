#!/usr/bin/env bash
# iri-contract-down.sh - stop the IRI contract server started by iri-contract-up.sh (by PID).
set -uo pipefail
PEER_ROOT="${PEER_ROOT:-/tmp/tokenwarden-peers}"
PIDFILE="$PEER_ROOT/iri-contract.pid"
log() { echo "[iri-contract-down] $*" >&2; }
if [ -f "$PIDFILE" ]; then
  pid=$(cat "$PIDFILE")
  if [ -n "$pid" ] && [ -d "/proc/$pid" ] && tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q "iri-contract/server.py"; then
    kill -TERM "$pid"; end=$((SECONDS + 10))
    while [ -d "/proc/$pid" ] && [ $SECONDS -lt $end ]; do sleep 0.2; done
    [ -d "/proc/$pid" ] && { log "SIGKILL $pid"; kill -KILL "$pid"; }
    log "stopped pid $pid"
  else
    log "stale pid file (pid '$pid' is not ours)"
  fi
  rm -f "$PIDFILE" "$PEER_ROOT/iri-contract.env" "$PEER_ROOT/iri-contract.token"
else
  log "not running"
fi
