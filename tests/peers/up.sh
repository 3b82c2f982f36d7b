#!/usr/bin/env bash
# up.sh - start the requested test peers and write ONE combined, sourceable env
# file $PEER_ROOT/all.env (set -a; . /tmp/tokenwarden-peers/all.env; set +a).
#
# Usage: up.sh [names...]          (default: all)
#   all             = slurm-bookworm slurm-trixie oidc-globus oidc-keycloak s3 palmetto
#   slurm-bookworm | slurm-trixie | slurm-sid     slurm-up.sh <flavor>
#   oidc-globus | oidc-keycloak                   oidc-up.sh <profile>
#   s3              s3-up.sh --with-csm-sts (starts oidc-keycloak first)
#   s3-plain        s3-up.sh (no CSM STS stand-in)
#   munge           munge-up.sh (a private munged, own key)
#   palmetto | palmetto-trixie | palmetto-sid     palmetto-up.sh <flavor> (bookworm
#                   for "palmetto"; only one gateway runs at a time)
#   <name>          any other peer of this folder with <name>-up.sh / <name>-down.sh
#
# Names in all.env (each peer's own file $PEER_ROOT/<peer>.env keeps the plain names):
#   slurm-<flavor>.env : SLURM_X -> SLURM_<FLAVOR>_X, MUNGE_SOCKET -> SLURM_<FLAVOR>_MUNGE_SOCKET
#                        (e.g. SLURM_BOOKWORM_REST_URL, SLURM_TRIXIE_JWT_KEY)
#   oidc-<profile>.env : OIDC_X  -> OIDC_<PROFILE>_X (e.g. OIDC_KEYCLOAK_TOKEN_ENDPOINT)
#   s3.env, palmetto.env, munge.env and any other <name>.env : unchanged
#                        (S3_*, CSM_STS_*, PALMETTO_*, MUNGE_*, ...)
#   plus PEER_ROOT and PEERS_UP (space-separated names of the peers that are up).
# Every peer that up.sh was asked for is recorded in $PEER_ROOT/up.started, so
# down.sh stops exactly those. A failing peer does not stop the others; the exit
# status is non-zero if any failed. Knobs: PEER_ROOT, PEER_CACHE, WAIT_SECS.
set -uo pipefail
PEER_ROOT="${PEER_ROOT:-/tmp/tokenwarden-peers}"
PEER_CACHE="${PEER_CACHE:-/var/cache/tokenwarden-peers}"
export PEER_ROOT PEER_CACHE
HERE="$(cd "$(dirname "$0")" && pwd)"
ALL="slurm-bookworm slurm-trixie oidc-globus oidc-keycloak s3 palmetto"
log() { echo "[up] $*" >&2; }
mkdir -p "$PEER_ROOT"

names=("$@"); [ ${#names[@]} -gt 0 ] || names=(all)
want=()
for n in "${names[@]}"; do
  case "$n" in
    all) for a in $ALL; do want+=("$a"); done ;;
    slurm-bookworm|slurm-trixie|slurm-sid|oidc-globus|oidc-keycloak|s3|s3-plain|munge|palmetto|palmetto-bookworm|palmetto-trixie|palmetto-sid) want+=("$n") ;;
    *) if [ -x "$HERE/$n-up.sh" ] && [ -x "$HERE/$n-down.sh" ]; then want+=("$n")   # any other peer in this folder
       else log "unknown peer '$n'"; sed -n '5,15p' "$0" >&2; exit 2; fi ;;
  esac
done

record() { grep -qx "$1" "$PEER_ROOT/up.started" 2>/dev/null || echo "$1" >> "$PEER_ROOT/up.started"; }

start() { # start <name>; prints nothing on stdout
  case "$1" in
    slurm-*)          "$HERE/slurm-up.sh" "${1#slurm-}" ;;
    oidc-*)           "$HERE/oidc-up.sh" "${1#oidc-}" ;;
    s3)               start oidc-keycloak && record oidc-keycloak && "$HERE/s3-up.sh" --with-csm-sts ;;
    s3-plain)         "$HERE/s3-up.sh" ;;
    munge)            "$HERE/munge-up.sh" ;;
    palmetto)         "$HERE/palmetto-up.sh" bookworm ;;
    palmetto-*)       "$HERE/palmetto-up.sh" "${1#palmetto-}" ;;
    *)                "$HERE/$1-up.sh" ;;
  esac > /dev/null
}

failed=()
T0=$SECONDS
for n in "${want[@]}"; do
  t=$SECONDS
  record "$n"
  if start "$n"; then log "$n up ($((SECONDS - t)) s)"; else log "$n FAILED ($((SECONDS - t)) s)"; failed+=("$n"); fi
done

# ---------------------------------------------------------------- all.env
"$HERE/lib-allenv.sh"
log "all.env: $PEER_ROOT/all.env (total $((SECONDS - T0)) s)"
if [ ${#failed[@]} -gt 0 ]; then log "FAILED: ${failed[*]}"; exit 1; fi
