#!/usr/bin/env bash
# oidc-up.sh - start the OIDC/OAuth2 test peer (npm oidc-provider, panva) on 127.0.0.1.
# Adapted from the team recipe (shared/peers/oidc-up.sh); node_modules live in
# $PEER_CACHE/oidc.
#
# Usage: oidc-up.sh [globus|keycloak]        (default: globus)
#   globus   : Globus-Auth-like routes (/v2/oauth2/...), opaque access tokens,
#              clients native-cli (public, PKCE) + resource-server (confidential)
#   keycloak : Keycloak-like realm layout (/realms/shasta/protocol/openid-connect/...),
#              RS256 JWT access tokens, clients shasta (public, password grant) +
#              admin-client (confidential)
# Both: auth code + PKCE, refresh (rotating), revocation (RFC 7009),
#       introspection (RFC 7662), client_credentials, password grant.
#
# Idempotent; prints (and writes to $PEER_ROOT/oidc-<profile>.env) OIDC_* variables.
# Knobs: OIDC_PORT (globus 9400, keycloak 9480), PEER_ROOT, PEER_CACHE, WAIT_SECS,
#        OIDC_USERS='{"alice":"alice-pw","bob":"bob-pw"}', OIDC_ACCESS_TTL=3600.
set -euo pipefail
PROFILE="${1:-globus}"
case "$PROFILE" in globus) defport=9400 ;; keycloak) defport=9480 ;; *) echo "profile: globus|keycloak" >&2; exit 2 ;; esac
PORT="${OIDC_PORT:-$defport}"
PEER_ROOT="${PEER_ROOT:-/tmp/tokenwarden-peers}"
PEER_CACHE="${PEER_CACHE:-/var/cache/tokenwarden-peers}"
WAIT_SECS="${WAIT_SECS:-30}"
HERE="$(cd "$(dirname "$0")" && pwd)"
APP="$PEER_CACHE/oidc"
PIDFILE="$PEER_ROOT/oidc-$PROFILE.pid"
ENVFILE="$PEER_ROOT/oidc-$PROFILE.env"
LOG="$PEER_ROOT/oidc-$PROFILE.log"
log() { echo "[oidc-up:$PROFILE] $*" >&2; }
mkdir -p "$PEER_ROOT" "$APP"

if [ "$PROFILE" = keycloak ]; then ISSUER="http://127.0.0.1:$PORT/realms/${OIDC_REALM:-shasta}"; else ISSUER="http://127.0.0.1:$PORT"; fi

alive() { [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null \
          && tr '\0' ' ' < "/proc/$(cat "$PIDFILE")/cmdline" | grep -q "server.mjs"; }
healthy() { curl -sf --max-time 2 "$ISSUER/.well-known/openid-configuration" >/dev/null; }

print_env() {
  curl -sf --max-time 5 "$ISSUER/.well-known/openid-configuration" | python3 -c '
import json, sys
d = json.load(sys.stdin); p = sys.argv[1]
print("OIDC_PROFILE=" + p)
print("OIDC_ISSUER=" + d["issuer"])
print("OIDC_DISCOVERY=" + d["issuer"] + "/.well-known/openid-configuration")
for k in ["authorization_endpoint","token_endpoint","revocation_endpoint","introspection_endpoint","userinfo_endpoint","jwks_uri"]:
    print("OIDC_" + k.upper() + "=" + d[k])
if p == "keycloak":
    print("OIDC_PUBLIC_CLIENT=shasta"); print("OIDC_CONF_CLIENT=admin-client"); print("OIDC_CONF_SECRET=admin-client-secret")
else:
    print("OIDC_PUBLIC_CLIENT=native-cli"); print("OIDC_CONF_CLIENT=resource-server"); print("OIDC_CONF_SECRET=resource-server-secret")
print("OIDC_REDIRECT_URI=http://127.0.0.1/callback")
print("OIDC_USER=alice"); print("OIDC_PASSWORD=alice-pw")
' "$PROFILE" > "$ENVFILE"
  echo "OIDC_PIDFILE=$PIDFILE" >> "$ENVFILE"
  cat "$ENVFILE"
}

if alive && healthy; then log "already running (pid $(cat "$PIDFILE"))"; print_env; exit 0; fi
if alive; then log "unhealthy instance; stopping it"; "$HERE/oidc-down.sh" "$PROFILE" >&2 || true; fi
rm -f "$PIDFILE"
if ss -Hltn "sport = :$PORT" | grep -q .; then log "ERROR: port $PORT in use"; exit 1; fi

T0=$SECONDS
cp "$HERE/oidc/package.json" "$HERE/oidc/server.mjs" "$APP/"
command -v node >/dev/null && command -v npm >/dev/null || {
  log "installing nodejs + npm"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >&2 \
    || { apt-get update -qq >&2; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >&2; }
}
if [ ! -d "$APP/node_modules/oidc-provider" ] || ! cmp -s "$HERE/oidc/package.json" "$APP/.installed-package.json"; then
  log "npm install (oidc-provider)"
  (cd "$APP" && npm install --no-audit --no-fund --loglevel=error >&2) && cp "$HERE/oidc/package.json" "$APP/.installed-package.json"
fi
T_INSTALL=$((SECONDS - T0))

OIDC_PORT="$PORT" OIDC_PROFILE="$PROFILE" setsid node "$APP/server.mjs" </dev/null >"$LOG" 2>&1 &
echo $! > "$PIDFILE"
end=$((SECONDS + WAIT_SECS))
until healthy; do
  if ! kill -0 "$(cat "$PIDFILE")" 2>/dev/null || [ $SECONDS -ge $end ]; then
    log "ERROR: server did not come up"; cat "$LOG" >&2; "$HERE/oidc-down.sh" "$PROFILE" >&2 || true; exit 1
  fi
  sleep 0.3
done
bad=$(ss -Hltn "sport = :$PORT" | awk '{print $4}' | grep -v '^127\.0\.0\.1:' || true)
[ -z "$bad" ] || { log "ERROR: non-loopback listener $bad"; "$HERE/oidc-down.sh" "$PROFILE"; exit 1; }
log "up in $((SECONDS - T0))s (npm step ${T_INSTALL}s)"
print_env
