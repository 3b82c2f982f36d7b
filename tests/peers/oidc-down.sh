#!/usr/bin/env bash
# oidc-down.sh - stop the OIDC peer started by oidc-up.sh (by PID from its pid file).
# Usage: oidc-down.sh [globus|keycloak]
set -uo pipefail
PROFILE="${1:-globus}"
PEER_ROOT="${PEER_ROOT:-/tmp/tokenwarden-peers}"
PIDFILE="$PEER_ROOT/oidc-$PROFILE.pid"
log() { echo "[oidc-down:$PROFILE] $*" >&2; }
if [ -f "$PIDFILE" ]; then
  pid=$(cat "$PIDFILE")
  if [ -n "$pid" ] && [ -d "/proc/$pid" ] && tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q "server.mjs"; then
    kill -TERM "$pid"; end=$((SECONDS + 10))
    while [ -d "/proc/$pid" ] && [ $SECONDS -lt $end ]; do sleep 0.2; done
    [ -d "/proc/$pid" ] && { log "SIGKILL $pid"; kill -KILL "$pid"; }
    log "stopped pid $pid"
  else
    log "stale pid file (pid '$pid' is not ours)"
  fi
  rm -f "$PIDFILE" "$PEER_ROOT/oidc-$PROFILE.env"
else
  log "not running"
fi
