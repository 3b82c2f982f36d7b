#!/usr/bin/env bash
# palmetto-down.sh - stop the gateway started by palmetto-up.sh (by PID, after
# checking its command line). The slurm peer behind it is left running (stop it
# with slurm-down.sh <flavor>). The request log is kept for inspection; the
# token table is deleted.
set -uo pipefail
PEER_ROOT="${PEER_ROOT:-/tmp/tokenwarden-peers}"
PIDFILE="$PEER_ROOT/palmetto.pid"
log() { echo "[palmetto-down] $*" >&2; }
if [ -f "$PIDFILE" ]; then
  pid=$(cat "$PIDFILE")
  if [ -n "$pid" ] && [ -d "/proc/$pid" ] && tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q "palmetto/gateway.py"; then
    kill -TERM "$pid"; end=$((SECONDS + 10))
    while [ -d "/proc/$pid" ] && [ $SECONDS -lt $end ]; do sleep 0.2; done
    [ -d "/proc/$pid" ] && { log "SIGKILL $pid"; kill -KILL "$pid"; }
    log "stopped pid $pid"
  else
    log "stale pid file (pid '$pid' is not ours)"
  fi
  rm -f "$PIDFILE"
else
  log "not running"
fi
rm -rf "$PEER_ROOT/palmetto.env" "$PEER_ROOT/palmetto"
