#!/usr/bin/env bash
# oidc-down.sh - stop the OIDC peer started by oidc-up.sh (by PID from its pid file).
# Usage: oidc-down.sh [globus|keycloak]
set -uo pipefail
PROFILE="${1:-globus}"
PEER_ROOT="${PEER_ROOT:-/tmp/tokenwarden-peers}"
log() { echo "[oidc-down:$PROFILE] $*" >&2; }
. "$(dirname "$0")/lib-stop.sh"
stop_pidfile "$PEER_ROOT/oidc-$PROFILE.pid" "server.mjs" "oidc-$PROFILE"
rm -f "$PEER_ROOT/oidc-$PROFILE.env"
