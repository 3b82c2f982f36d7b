#!/usr/bin/env bash
# s3-down.sh - stop moto_server and the CSM STS stand-in started by s3-up.sh (by PID).
set -uo pipefail
PEER_ROOT="${PEER_ROOT:-/tmp/tokenwarden-peers}"
log() { echo "[s3-down] $*" >&2; }
stop() { # stop <pidfile> <cmdline-tag>
  local f=$1 tag=$2 pid
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  if [ -n "$pid" ] && [ -d "/proc/$pid" ] && tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q "$tag"; then
    kill -TERM "$pid"; local end=$((SECONDS + 10))
    while [ -d "/proc/$pid" ] && [ $SECONDS -lt $end ]; do sleep 0.2; done
    [ -d "/proc/$pid" ] && kill -KILL "$pid"
    log "stopped $tag (pid $pid)"
  else
    log "stale pid file $f"
  fi
  rm -f "$f"
}
stop "$PEER_ROOT/csm-sts.pid" csm_sts.py
stop "$PEER_ROOT/s3.pid" moto_server
rm -f "$PEER_ROOT/s3.env"
