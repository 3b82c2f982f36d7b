#!/usr/bin/env bash
# s3-up.sh - start moto_server (PyPI moto[server]) on 127.0.0.1 as an S3/IAM/STS
# peer that ENFORCES SigV4 authentication, and optionally the CSM STS stand-in.
# Adapted from the team recipe (shared/peers/s3-up.sh); the venv lives in
# $PEER_CACHE/venv-s3 (system python3 if present, so it survives pyenv changes).
#
# Usage: s3-up.sh [--with-csm-sts]
#   --with-csm-sts  also start s3/csm_sts.py (PUT /token -> temporary S3 creds),
#                   which needs the keycloak OIDC peer (oidc-up.sh keycloak) running.
#
# Prints (and writes to $PEER_ROOT/s3.env) S3_* (and CSM_STS_URL) variables.
# Knobs: S3_PORT (9500), STS_PORT (9590), PEER_ROOT, PEER_CACHE, WAIT_SECS.
set -euo pipefail
WITH_STS=0; [ "${1:-}" = "--with-csm-sts" ] && WITH_STS=1
PORT="${S3_PORT:-9500}"
STS_PORT="${STS_PORT:-9590}"
PEER_ROOT="${PEER_ROOT:-/tmp/tokenwarden-peers}"
PEER_CACHE="${PEER_CACHE:-/var/cache/tokenwarden-peers}"
WAIT_SECS="${WAIT_SECS:-60}"
HERE="$(cd "$(dirname "$0")" && pwd)"
VENV="$PEER_CACHE/venv-s3"
PIDFILE="$PEER_ROOT/s3.pid"; STS_PIDFILE="$PEER_ROOT/csm-sts.pid"
ENVFILE="$PEER_ROOT/s3.env"
PINS="moto[server]==5.2.5 boto3==1.44.5"
log() { echo "[s3-up] $*" >&2; }
mkdir -p "$PEER_ROOT" "$PEER_CACHE"

ours() { [ -f "$1" ] && [ -d "/proc/$(cat "$1")" ] && tr '\0' ' ' < "/proc/$(cat "$1")/cmdline" | grep -q "$2"; }
up() { [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$PORT/moto-api/data.json")" = 200 ]; }

fresh() { # the AssumeRole set in the env file lasts 1 h: restart when less than 10 min are left
  local exp; exp=$(sed -n 's/^S3_TEMP_EXPIRATION=//p' "$ENVFILE" 2>/dev/null)
  [ -n "$exp" ] && [ $(( $(date -d "$exp" +%s 2>/dev/null || echo 0) - $(date +%s) )) -gt 600 ]
}
if ours "$PIDFILE" moto_server && up && [ -f "$ENVFILE" ] && fresh && { [ $WITH_STS = 0 ] || ours "$STS_PIDFILE" csm_sts.py; }; then
  log "already running (pid $(cat "$PIDFILE"))"; cat "$ENVFILE"; exit 0
fi
"$HERE/s3-down.sh" >/dev/null 2>&1 || true
for p in "$PORT" $([ $WITH_STS = 1 ] && echo "$STS_PORT"); do
  if ss -Hltn "sport = :$p" | grep -q .; then log "ERROR: port $p in use"; exit 1; fi
done

T0=$SECONDS
PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3
if [ ! -x "$VENV/bin/moto_server" ] || [ "$(cat "$VENV/.pins" 2>/dev/null)" != "$PINS" ] \
   || ! "$VENV/bin/python" -c 'import moto, boto3' 2>/dev/null; then
  log "creating venv ($PY) + pip install $PINS"
  rm -rf "$VENV"
  if ! "$PY" -m venv "$VENV" >&2; then     # Debian's python3 needs python3-venv for ensurepip
    rm -rf "$VENV"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >&2 \
      || { apt-get update -qq >&2; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >&2; }
    "$PY" -m venv "$VENV" >&2
  fi
  "$VENV/bin/pip" install -q --disable-pip-version-check $PINS >&2
  echo "$PINS" > "$VENV/.pins"
fi
T_INSTALL=$((SECONDS - T0))

setsid "$VENV/bin/moto_server" -H 127.0.0.1 -p "$PORT" </dev/null >"$PEER_ROOT/s3.log" 2>&1 &
echo $! > "$PIDFILE"
end=$((SECONDS + WAIT_SECS))
until up; do
  if ! ours "$PIDFILE" moto_server || [ $SECONDS -ge $end ]; then log "ERROR: moto_server did not start"; cat "$PEER_ROOT/s3.log" >&2; "$HERE/s3-down.sh"; exit 1; fi
  sleep 0.3
done
"$VENV/bin/python" "$HERE/s3/bootstrap.py" "http://127.0.0.1:$PORT" us-east-1 > "$ENVFILE.tmp" || { "$HERE/s3-down.sh"; exit 1; }
mv "$ENVFILE.tmp" "$ENVFILE"
echo "S3_PIDFILE=$PIDFILE" >> "$ENVFILE"

if [ $WITH_STS = 1 ]; then
  OENV="$PEER_ROOT/oidc-keycloak.env"
  [ -f "$OENV" ] || { log "ERROR: --with-csm-sts needs the keycloak OIDC peer (run oidc-up.sh keycloak)"; "$HERE/s3-down.sh"; exit 1; }
  ( set -a; . "$ENVFILE"; . "$OENV"; STS_PORT="$STS_PORT"; export STS_PORT
    exec setsid "$VENV/bin/python" "$HERE/s3/csm_sts.py" </dev/null >"$PEER_ROOT/csm-sts.log" 2>&1 ) &
  echo $! > "$STS_PIDFILE"
  end=$((SECONDS + WAIT_SECS))
  until curl -sf --max-time 2 "http://127.0.0.1:$STS_PORT/healthz" >/dev/null; do
    if [ $SECONDS -ge $end ] || ! [ -d "/proc/$(cat "$STS_PIDFILE")" ]; then log "ERROR: csm_sts did not start"; cat "$PEER_ROOT/csm-sts.log" >&2; "$HERE/s3-down.sh"; exit 1; fi
    sleep 0.3
  done
  { echo "CSM_STS_URL=http://127.0.0.1:$STS_PORT/apis/sts/token"; echo "CSM_STS_PIDFILE=$STS_PIDFILE"; } >> "$ENVFILE"
fi
bad=$(ss -Hltn | awk '{print $4}' | grep -E ":($PORT|$STS_PORT)\$" | grep -v '^127\.0\.0\.1:' || true)
[ -z "$bad" ] || { log "ERROR: non-loopback listener $bad"; "$HERE/s3-down.sh"; exit 1; }
log "up in $((SECONDS - T0))s (pip step ${T_INSTALL}s)"
cat "$ENVFILE"
