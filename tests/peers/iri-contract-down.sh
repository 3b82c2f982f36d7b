#!/usr/bin/env bash
# iri-contract-down.sh - stop the IRI contract server started by iri-contract-up.sh (by PID).
set -uo pipefail
PEER_ROOT="${PEER_ROOT:-/tmp/tokenwarden-peers}"
log() { echo "[iri-contract-down] $*" >&2; }
. "$(dirname "$0")/lib-stop.sh"
stop_pidfile "$PEER_ROOT/iri-contract.pid" "iri-contract/server.py" "iri-contract"
rm -f "$PEER_ROOT/iri-contract.env" "$PEER_ROOT/iri-contract.token"
