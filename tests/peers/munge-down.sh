#!/usr/bin/env bash
# munge-down.sh - stop the munged started by munge-up.sh (by PID; MUNGE_NAME as for up).
set -uo pipefail
PEER_ROOT="${PEER_ROOT:-/tmp/tokenwarden-peers}"
NAME="${MUNGE_NAME:-munge}"
log() { echo "[munge-down:$NAME] $*" >&2; }
. "$(dirname "$0")/lib-stop.sh"
stop_pidfile "$PEER_ROOT/$NAME.pid" "munged.*$PEER_ROOT/$NAME/" "munged"
rm -f "$PEER_ROOT/$NAME.env"
