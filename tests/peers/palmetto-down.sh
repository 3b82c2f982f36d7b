#!/usr/bin/env bash
# palmetto-down.sh - stop the gateway started by palmetto-up.sh (by PID, after
# checking its command line). The slurm peer behind it is left running (stop it
# with slurm-down.sh <flavor>). The request log is kept for inspection; the
# token table is deleted.
set -uo pipefail
PEER_ROOT="${PEER_ROOT:-/tmp/tokenwarden-peers}"
log() { echo "[palmetto-down] $*" >&2; }
. "$(dirname "$0")/lib-stop.sh"
stop_pidfile "$PEER_ROOT/palmetto.pid" "palmetto/gateway.py" "palmetto gateway"
rm -rf "$PEER_ROOT/palmetto.env" "$PEER_ROOT/palmetto"
