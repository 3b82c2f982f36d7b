#!/usr/bin/env bash
# munge-up.sh - start a private munged (Debian `munge`) with a freshly generated
# key on its own UNIX socket (no TCP at all), for tests of MUNGE clients.
# Prints MUNGE_SOCKET / MUNGE_KEY / MUNGE_PIDFILE (also in $PEER_ROOT/munge.env).
# A second, independent munged with a DIFFERENT key can be started with
#   MUNGE_NAME=munge-other munge-up.sh   (to test "credential from another realm").
# Knobs: PEER_ROOT, MUNGE_NAME (default munge), MUNGE_MAX_TTL (default 3600).
set -euo pipefail
PEER_ROOT="${PEER_ROOT:-/tmp/tokenwarden-peers}"
NAME="${MUNGE_NAME:-munge}"
D="$PEER_ROOT/$NAME"
PIDFILE="$PEER_ROOT/$NAME.pid"; ENVFILE="$PEER_ROOT/$NAME.env"
log() { echo "[munge-up:$NAME] $*" >&2; }
mkdir -p "$PEER_ROOT"

ours() { [ -f "$PIDFILE" ] && [ -d "/proc/$(cat "$PIDFILE")" ] && tr '\0' ' ' < "/proc/$(cat "$PIDFILE")/cmdline" | grep -q "munged.*$D/"; }
if ours && munge -n -t 5 -S "$D/run/munge.sock" >/dev/null 2>&1; then log "already running"; cat "$ENVFILE"; exit 0; fi
"$(dirname "$0")/munge-down.sh" >/dev/null 2>&1 || true

T0=$SECONDS
if ! command -v munged >/dev/null; then
  made=0; [ -e /usr/sbin/policy-rc.d ] || { printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d; made=1; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends munge >&2 || { apt-get update -qq >&2; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends munge >&2; }
  [ $made = 1 ] && rm -f /usr/sbin/policy-rc.d
fi
rm -rf "$D"; mkdir -p "$D/etc" "$D/run" "$D/log"
chmod 755 "$D" "$D/run"; chmod 700 "$D/etc"     # socket dir must be world-searchable
mungekey -c -k "$D/etc/munge.key"
setsid munged -F -f --key-file="$D/etc/munge.key" --socket="$D/run/munge.sock" \
  --pid-file="$D/run/munged.pid" --log-file="$D/log/munged.log" --seed-file="$D/etc/munged.seed" \
  --max-ttl="${MUNGE_MAX_TTL:-3600}" </dev/null >"$D/log/munged.out" 2>&1 &
echo $! > "$PIDFILE"
end=$((SECONDS + 20))
until munge -n -t 5 -S "$D/run/munge.sock" >/dev/null 2>&1; do
  [ $SECONDS -lt $end ] && [ -d "/proc/$(cat "$PIDFILE")" ] || { log "ERROR: munged did not start"; cat "$D/log/"* >&2; exit 1; }
  sleep 0.2
done
cat > "$ENVFILE" <<EOF
MUNGE_SOCKET=$D/run/munge.sock
MUNGE_KEY=$D/etc/munge.key
MUNGE_PIDFILE=$PIDFILE
EOF
log "up in $((SECONDS - T0))s"
cat "$ENVFILE"
