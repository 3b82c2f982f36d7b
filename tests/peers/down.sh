#!/usr/bin/env bash
# down.sh - stop the peers that up.sh started (recorded in $PEER_ROOT/up.started),
# in reverse order, each by its own *-down.sh (which kill only the PIDs they
# recorded, after checking the command line). Caches under PEER_CACHE are kept.
#
# Usage: down.sh [names...]     (default: every peer this folder can start, whether up.sh,
#                               a test or a *-up.sh by hand started it; each *-down.sh
#                               stops only PIDs its peer recorded, so stopping one that
#                               is not running is a no-op)
set -uo pipefail
PEER_ROOT="${PEER_ROOT:-/tmp/tokenwarden-peers}"
PEER_CACHE="${PEER_CACHE:-/var/cache/tokenwarden-peers}"
export PEER_ROOT PEER_CACHE
HERE="$(cd "$(dirname "$0")" && pwd)"
REC="$PEER_ROOT/up.started"
log() { echo "[down] $*" >&2; }

if [ $# -gt 0 ]; then
  names=("$@")
else
  # What up.sh recorded (newest first), then every peer known here: tests start peers through
  # the individual *-up.sh scripts, which up.sh's record does not see.
  names=()
  [ -f "$REC" ] && mapfile -t names < <(tac "$REC")
  for n in palmetto s3 iri-contract s3m-contract oidc-globus oidc-keycloak \
           slurm-sid slurm-trixie slurm-bookworm munge; do
    printf '%s\n' "${names[@]}" | grep -qx "$n" || names+=("$n")
  done
fi

# the gateway first (it sits in front of a slurm peer), then the rest in reverse start order
ordered=()
for n in "${names[@]}"; do case "$n" in palmetto*) ordered+=("$n") ;; esac; done
for n in "${names[@]}"; do case "$n" in palmetto*) ;; *) ordered+=("$n") ;; esac; done

rc=0
for n in "${ordered[@]}"; do
  [ -n "$n" ] || continue
  case "$n" in
    slurm-*)    "$HERE/slurm-down.sh" "${n#slurm-}" ;;
    oidc-*)     "$HERE/oidc-down.sh" "${n#oidc-}" ;;
    s3|s3-plain) "$HERE/s3-down.sh" ;;
    munge)      "$HERE/munge-down.sh" ;;
    palmetto*)  "$HERE/palmetto-down.sh" ;;
    *) if [ -x "$HERE/$n-down.sh" ]; then "$HERE/$n-down.sh"; else log "unknown peer '$n'"; rc=2; continue; fi ;;
  esac || rc=1
  [ -f "$REC" ] && { grep -vx "$n" "$REC" > "$REC.tmp" || true; mv "$REC.tmp" "$REC"; }
done
[ -f "$REC" ] && [ ! -s "$REC" ] && rm -f "$REC"
"$HERE/lib-allenv.sh"
exit $rc
