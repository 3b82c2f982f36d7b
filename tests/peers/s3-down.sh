#!/usr/bin/env bash
# s3-down.sh - stop moto_server and the CSM STS stand-in started by s3-up.sh (by PID).
set -uo pipefail
PEER_ROOT="${PEER_ROOT:-/tmp/tokenwarden-peers}"
log() { echo "[s3-down] $*" >&2; }
. "$(dirname "$0")/lib-stop.sh"
stop_pidfile "$PEER_ROOT/csm-sts.pid" csm_sts.py "csm-sts"
stop_pidfile "$PEER_ROOT/s3.pid" moto_server "moto"
rm -f "$PEER_ROOT/s3.env"
