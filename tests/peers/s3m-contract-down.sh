#!/usr/bin/env bash
# s3m-contract-down.sh - stop the S3M contract server(s) started by
# s3m-contract-up.sh, by PID after checking the PID's command line.
# Usage: s3m-contract-down.sh [current|legacy|all]   (default all)
# The request logs are kept for inspection; token tables are deleted.
set -uo pipefail
PEER_ROOT="${PEER_ROOT:-/tmp/tokenwarden-peers}"
log() { echo "[s3m-contract-down] $*" >&2; }
case "${1:-all}" in current) layouts=current ;; legacy) layouts=legacy ;; all) layouts="current legacy" ;;
  *) echo "layout: current|legacy|all" >&2; exit 2 ;; esac
for l in $layouts; do
  PIDFILE="$PEER_ROOT/s3m-contract-$l.pid"
  if [ -f "$PIDFILE" ]; then
    pid=$(cat "$PIDFILE")
    if [ -n "$pid" ] && [ -d "/proc/$pid" ] && tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q "s3m-contract/server.py"; then
      kill -TERM "$pid"; end=$((SECONDS + 10))
      while [ -d "/proc/$pid" ] && [ $SECONDS -lt $end ]; do sleep 0.2; done
      [ -d "/proc/$pid" ] && { log "SIGKILL $pid"; kill -KILL "$pid"; }
      log "stopped $l (pid $pid)"
    else
      log "stale pid file for $l (pid '$pid' is not ours)"
    fi
    rm -f "$PIDFILE"
  else
    log "$l not running"
  fi
  rm -rf "$PEER_ROOT/s3m-contract-$l.env" "$PEER_ROOT/s3m-contract-$l"
done
