#!/usr/bin/env bash
# s3m-contract-down.sh - stop the S3M contract server(s) started by
# s3m-contract-up.sh, by PID after checking the PID's command line.
# Usage: s3m-contract-down.sh [current|legacy|all]   (default all)
# The request logs are kept for inspection; token tables are deleted.
set -uo pipefail
PEER_ROOT="${PEER_ROOT:-/tmp/tokenwarden-peers}"
log() { echo "[s3m-contract-down] $*" >&2; }
. "$(dirname "$0")/lib-stop.sh"
case "${1:-all}" in current) layouts=current ;; legacy) layouts=legacy ;; all) layouts="current legacy" ;;
  *) echo "layout: current|legacy|all" >&2; exit 2 ;; esac
for l in $layouts; do
  stop_pidfile "$PEER_ROOT/s3m-contract-$l.pid" "s3m-contract/server.py" "s3m-contract $l"
  rm -rf "$PEER_ROOT/s3m-contract-$l.env" "$PEER_ROOT/s3m-contract-$l"
done
