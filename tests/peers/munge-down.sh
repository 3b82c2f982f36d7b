#!/usr/bin/env bash
# munge-down.sh - stop the munged started by munge-up.sh (by PID; MUNGE_NAME as for up).
set -uo pipefail
PEER_ROOT="${PEER_ROOT:-/tmp/tokenwarden-peers}"
NAME="${MUNGE_NAME:-munge}"
PIDFILE="$PEER_ROOT/$NAME.pid"
[ -f "$PIDFILE" ] || { echo "[munge-down:$NAME] not running" >&2; exit 0; }
pid=$(cat "$PIDFILE")
if [ -d "/proc/$pid" ] && tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q "munged.*$PEER_ROOT/$NAME/"; then
  kill -TERM "$pid"; end=$((SECONDS + 10))
  while [ -d "/proc/$pid" ] && [ $SECONDS -lt $end ]; do sleep 0.2; done
  [ -d "/proc/$pid" ] && kill -KILL "$pid"
  echo "[munge-down:$NAME] stopped pid $pid" >&2
else
  echo "[munge-down:$NAME] stale pid file" >&2
fi
rm -f "$PIDFILE" "$PEER_ROOT/$NAME.env"
