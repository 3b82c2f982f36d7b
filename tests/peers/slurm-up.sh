#!/usr/bin/env bash
# slurm-up.sh - start a REAL single-node Slurm cluster (munged + slurmctld +
# slurmd + slurmrestd with rest_auth/jwt) on 127.0.0.1, for tokenwarden's
# integration tests. Adapted from the team recipe (shared/peers/slurm-up.sh).
#
# Usage:  slurm-up.sh [bookworm|trixie|sid]      (default: $SLURM_FLAVOR or trixie)
#
#   bookworm : Debian 12 packages installed on the host, Slurm 22.05.8,
#              REST API v0.0.36 / v0.0.37 / v0.0.38.  ~15 s from nothing.
#   trixie   : Debian 13 packages in a debootstrap'ed chroot, Slurm 24.11.5,
#              REST API v0.0.40 / v0.0.41 / v0.0.42.  ~40 s - 2.5 min the first time
#              (rootfs is cached), ~5 s afterwards.
#   sid      : Debian unstable in a chroot (Slurm 26.05.x at time of writing);
#              moving target, use only to preview newer API versions.
#
# All daemons run inside one private PID+UTS+mount namespace (hostname
# "localhost"), so teardown by a single PID kills every process the cluster
# ever spawned (jobs included) and no mount leaks to the host.
# Every TCP listener is bound to 127.0.0.1 (CommunicationParameters=
# NoInAddrAny,NoCtldInAddrAny + hostname "localhost"); this is verified.
#
# Idempotent: if the same flavor is already up and healthy, it only prints the
# environment again (with a fresh token).
#
# Output (stdout, also written to $PEER_ROOT/slurm-<flavor>.env, shell-sourceable):
#   SLURM_REST_URL, SLURM_API_VERSIONS, SLURM_API_LATEST, SLURM_USER, SLURM_JWT,
#   SLURM_JWT_KEY, SLURM_PARTITION, SLURM_VERSION, MUNGE_SOCKET (host-visible
#   path, also for the chroot flavors), SLURM_PEER_STATE, SLURM_PEER_PASSWD ...
#
# Environment knobs:
#   PEER_ROOT        base dir for state        (default /tmp/tokenwarden-peers)
#   PEER_CACHE       base dir for chroot rootfs (default /var/cache/tokenwarden-peers)
#   SLURMRESTD_PORT / SLURMCTLD_PORT / SLURMD_PORT  (defaults depend on flavor)
#   SLURM_TEST_USER  job-submitting user created in the cluster (default slurmtest)
#   WAIT_SECS        bound for every readiness wait (default 60)
#   DEBIAN_MIRROR    archive used by debootstrap for the chroot flavors
set -euo pipefail

FLAVOR="${1:-${SLURM_FLAVOR:-trixie}}"
PEER_ROOT="${PEER_ROOT:-/tmp/tokenwarden-peers}"
PEER_CACHE="${PEER_CACHE:-/var/cache/tokenwarden-peers}"
TEST_USER="${SLURM_TEST_USER:-slurmtest}"
REST_USER="slurmrest"          # slurmrestd refuses to run as root or SlurmUser
WAIT_SECS="${WAIT_SECS:-60}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"

case "$FLAVOR" in
  bookworm) base=16800 ;;
  trixie)   base=26800 ;;
  sid)      base=36800 ;;
  *) echo "unknown flavor '$FLAVOR' (bookworm|trixie|sid)" >&2; exit 2 ;;
esac
CTLD_PORT="${SLURMCTLD_PORT:-$((base + 17))}"
SLURMD_PORT="${SLURMD_PORT:-$((base + 18))}"
REST_PORT="${SLURMRESTD_PORT:-$((base + 20))}"
PKGS="munge slurmctld slurmd slurmrestd slurm-client slurm-wlm-jwt-plugin slurm-wlm-basic-plugins"

log() { echo "[slurm-up:$FLAVOR] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# ---------------------------------------------------------------- layout
if [ "$FLAVOR" = bookworm ]; then
  ROOTFS=""                                  # host filesystem
  IN=""                                      # path prefix as seen by daemons
  STATE="$PEER_ROOT/slurm-bookworm"          # host-visible state dir
  INSTATE="$STATE"                           # same dir, daemon view
else
  ROOTFS="$PEER_CACHE/rootfs-$FLAVOR"
  INSTATE="/srv/tokenwarden-peer/slurm"
  STATE="$ROOTFS$INSTATE"
fi
PIDFILE="$PEER_ROOT/slurm-$FLAVOR.pid"       # pid of the namespace holder (unshare)
ENVFILE="$PEER_ROOT/slurm-$FLAVOR.env"

# run a command in the cluster's userland (host or chroot), no namespaces needed
inroot() { if [ -n "$ROOTFS" ]; then chroot "$ROOTFS" "$@"; else "$@"; fi; }
sc() { inroot env SLURM_CONF="$INSTATE/conf/slurm.conf" "$@"; }

wait_until() { # wait_until <secs> <description> <cmd...>
  local secs=$1 what=$2; shift 2
  local end=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $end ] || { log "timeout after ${secs}s waiting for: $what"; return 1; }
    sleep 0.5
  done
}

ns_alive() {
  [ -f "$PIDFILE" ] || return 1
  local pid; pid=$(cat "$PIDFILE" 2>/dev/null) || return 1
  [ -n "$pid" ] && [ -d "/proc/$pid" ] && tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q "tokenwarden-slurm-$FLAVOR"
}

mint_token() { # scontrol token is the real path; lifespan in seconds
  sc scontrol token username="$TEST_USER" lifespan="${1:-7200}" | sed -n 's/^SLURM_JWT=//p'
}

rest_code() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$@"; }
ctld_up()   { sc scontrol ping 2>/dev/null | grep -q UP; }
node_idle() { sc sinfo -h -n localhost -o %t 2>/dev/null | grep -qx idle; }
rest_up()   { [ "$(rest_code "http://127.0.0.1:$REST_PORT/openapi/v3")" = 401 ]; }

print_env() {
  local tok ver apis latest
  tok=$(mint_token 7200)
  [ -n "$tok" ] || die "scontrol token returned nothing"
  ver=$(sc scontrol --version | awk '{print $2}')
  case "$FLAVOR" in
    bookworm) apis="v0.0.36 v0.0.37 v0.0.38" ;;
    *) apis=$(inroot ls /usr/lib/x86_64-linux-gnu/slurm-wlm/ | sed -n 's/^data_parser_\(v0_0_[0-9]*\)\.so$/\1/p' | tr _ . | sort -V | tr '\n' ' ' | sed 's/ $//') ;;
  esac
  latest=${apis##* }
  local code
  code=$(rest_code -H "X-SLURM-USER-NAME: $TEST_USER" -H "X-SLURM-USER-TOKEN: $tok" "http://127.0.0.1:$REST_PORT/slurm/$latest/ping")
  [ "$code" = 200 ] || die "REST ping with fresh token returned HTTP $code (see $STATE/log/slurmrestd.log)"
  cat > "$ENVFILE" <<EOF
SLURM_FLAVOR=$FLAVOR
SLURM_VERSION=$ver
SLURM_REST_URL=http://127.0.0.1:$REST_PORT
SLURM_API_VERSIONS="$apis"
SLURM_API_LATEST=$latest
SLURM_USER=$TEST_USER
SLURM_JWT=$tok
SLURM_JWT_KEY=$STATE/etc/jwt_hs256.key
SLURM_REST_UNIX_SOCKET=$STATE/rest-local/slurmrestd.sock
SLURM_REST_UNIX_UID=$(inroot id -u "$TEST_USER")
SLURM_PARTITION=debug
SLURM_CTLD_PORT=$CTLD_PORT
MUNGE_SOCKET=$STATE/run/munge.sock
SLURM_PEER_STATE=$STATE
SLURM_PEER_PIDFILE=$PIDFILE
SLURM_PEER_ROOTFS=$ROOTFS
SLURM_PEER_PASSWD=$ROOTFS/etc/passwd
EOF
  cat "$ENVFILE"
}

# ---------------------------------------------------------------- already up?
mkdir -p "$PEER_ROOT"
if ns_alive; then
  if [ "$(rest_code "http://127.0.0.1:$REST_PORT/openapi/v3")" = 401 ] && ctld_up; then
    log "already running (pid $(cat "$PIDFILE")); printing environment"
    print_env; exit 0
  fi
  log "stale/unhealthy instance found; tearing it down first"
  "$(dirname "$0")/slurm-down.sh" "$FLAVOR" >&2 || true
fi
rm -f "$PIDFILE"

for p in "$CTLD_PORT" "$SLURMD_PORT" "$REST_PORT"; do
  if ss -Hltn "sport = :$p" | grep -q .; then die "TCP port $p already in use"; fi
done

T0=$SECONDS
# ---------------------------------------------------------------- install
export DEBIAN_FRONTEND=noninteractive
if [ "$FLAVOR" = bookworm ]; then
  missing=""
  for p in $PKGS; do
    dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qx installed || missing="$missing $p"
  done
  if [ -z "$missing" ]; then
    log "packages already installed"
  else
    log "installing Debian packages: $PKGS"
    # never let package scripts start system daemons (no systemd here anyway)
    made_policy=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d; made_policy=1; fi
    apt-get update -qq >&2 || true
    apt-get install -y -qq --no-install-recommends $PKGS >&2
    [ $made_policy = 1 ] && rm -f /usr/sbin/policy-rc.d
  fi
else
  if [ ! -f "$ROOTFS/.tokenwarden-peer-ready" ]; then
    command -v debootstrap >/dev/null || { apt-get update -qq >&2 || true; apt-get install -y -qq debootstrap >&2; }
    log "debootstrap $FLAVOR into $ROOTFS (one-time, ~40 s - 3 min)"
    rm -rf "$ROOTFS.partial"; mkdir -p "$(dirname "$ROOTFS")"
    debootstrap --variant=minbase --include="$(echo $PKGS | tr ' ' ,)" \
      "$FLAVOR" "$ROOTFS.partial" "$MIRROR" > "$PEER_ROOT/debootstrap-$FLAVOR.log" 2>&1 \
      || die "debootstrap failed, see $PEER_ROOT/debootstrap-$FLAVOR.log"
    printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' > "$ROOTFS.partial/etc/hosts"
    chroot "$ROOTFS.partial" dpkg-query -W $PKGS > "$ROOTFS.partial/.tokenwarden-peer-ready"
    rm -rf "$ROOTFS"; mv "$ROOTFS.partial" "$ROOTFS"
  else
    log "reusing cached rootfs $ROOTFS"
  fi
fi
T_INSTALL=$((SECONDS - T0))

# ---------------------------------------------------------------- users
inroot sh -c "id $REST_USER >/dev/null 2>&1 || useradd -r -M -s /usr/sbin/nologin $REST_USER"
inroot sh -c "id $TEST_USER >/dev/null 2>&1 || useradd -m -s /bin/bash $TEST_USER"

# ---------------------------------------------------------------- config (fresh every start)
rm -rf "$STATE"
mkdir -p "$STATE"/{etc,conf,state,spool,log,run}
chmod 755 "$STATE" "$STATE/conf" "$STATE/run" "$STATE/log"
chmod 700 "$STATE/etc"
mkdir -p "$STATE/rest-local"; inroot chown "$TEST_USER:" "$INSTATE/rest-local"; chmod 755 "$STATE/rest-local"  # slurmrestd -u binds after setuid
inroot mungekey -c -k "$INSTATE/etc/munge.key" >/dev/null 2>&1
dd if=/dev/urandom of="$STATE/etc/jwt_hs256.key" bs=32 count=1 status=none
chmod 600 "$STATE/etc/jwt_hs256.key" "$STATE/etc/munge.key"

cat > "$STATE/conf/slurm.conf" <<EOF
# generated by slurm-up.sh ($FLAVOR)
ClusterName=peertest
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$INSTATE/run/munge.sock
CredType=cred/munge
AuthAltTypes=auth/jwt
AuthAltParameters=jwt_key=$INSTATE/etc/jwt_hs256.key
CommunicationParameters=NoInAddrAny,NoCtldInAddrAny
StateSaveLocation=$INSTATE/state
SlurmdSpoolDir=$INSTATE/spool
SlurmctldPidFile=$INSTATE/run/slurmctld.pid
SlurmdPidFile=$INSTATE/run/slurmd.pid
SlurmctldLogFile=$INSTATE/log/slurmctld.log
SlurmdLogFile=$INSTATE/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$(nproc) RealMemory=1000 State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
[ "$FLAVOR" = bookworm ] || echo "CgroupPlugin=disabled" > "$STATE/conf/cgroup.conf"
chmod 644 "$STATE"/conf/*

# OpenAPI plugin selection per version
if [ "$FLAVOR" = bookworm ]; then
  REST_PLUGINS="-s openapi/v0.0.38,openapi/v0.0.37,openapi/v0.0.36"   # dbv0.0.3x needs slurmdbd
else
  REST_PLUGINS="-s openapi/slurmctld"                                  # openapi/slurmdbd needs slurmdbd
fi

# supervisor: PID 1 of the private namespace; forwards TERM, then exits
# (the kernel then SIGKILLs anything left in the namespace, e.g. job steps)
cat > "$STATE/run/supervise.sh" <<EOF
#!/bin/sh
S=$INSTATE
export SLURM_CONF=\$S/conf/slurm.conf
pids=""
stop() { for p in \$pids; do kill -TERM \$p 2>/dev/null; done; sleep 1; exit 0; }
trap stop TERM INT HUP
munged -F -f --key-file=\$S/etc/munge.key --socket=\$S/run/munge.sock \\
  --pid-file=\$S/run/munged.pid --log-file=\$S/log/munged.log --seed-file=\$S/etc/munged.seed \\
  >>\$S/log/munged.out 2>&1 &
pids="\$! \$pids"
i=0; while [ ! -S \$S/run/munge.sock ] && [ \$i -lt 100 ]; do sleep 0.1; i=\$((i+1)); done
slurmctld -D -i >>\$S/log/slurmctld.out 2>&1 &
pids="\$! \$pids"
slurmd -D -N localhost >>\$S/log/slurmd.out 2>&1 &
pids="\$! \$pids"
SLURM_JWT=daemon slurmrestd -a rest_auth/jwt $REST_PLUGINS -u $REST_USER 127.0.0.1:$REST_PORT \\
  >>\$S/log/slurmrestd.log 2>&1 &
pids="\$! \$pids"
echo "\$pids" > \$S/run/ns-pids
while :; do wait; sleep 1; done
EOF
chmod 755 "$STATE/run/supervise.sh"

if [ -z "$ROOTFS" ]; then
  INNER="hostname localhost; exec /bin/sh $INSTATE/run/supervise.sh tokenwarden-slurm-$FLAVOR"
else
  INNER="hostname localhost; mount -t proc proc $ROOTFS/proc && mount --rbind /sys $ROOTFS/sys && mount --rbind /dev $ROOTFS/dev && exec chroot $ROOTFS /bin/sh $INSTATE/run/supervise.sh tokenwarden-slurm-$FLAVOR"
fi

log "starting daemons (ports ctld=$CTLD_PORT slurmd=$SLURMD_PORT rest=$REST_PORT)"
# argv[0] tag "tokenwarden-slurm-$FLAVOR" lets slurm-down.sh verify the pid before killing it
setsid unshare --pid --fork --mount-proc --uts --propagation private --kill-child=SIGTERM \
  /bin/sh -c "$INNER" "tokenwarden-slurm-$FLAVOR" </dev/null >"$PEER_ROOT/slurm-$FLAVOR.ns.log" 2>&1 &
echo $! > "$PIDFILE"
sleep 0.2
ns_alive || { log "namespace holder (pid $(cat "$PIDFILE")) is not running"; cat "$PEER_ROOT/slurm-$FLAVOR.ns.log" >&2; exit 1; }

fail() { log "$1"; tail -n 20 "$STATE"/log/*.log "$STATE"/log/*.out "$PEER_ROOT/slurm-$FLAVOR.ns.log" >&2 2>/dev/null || true
         "$(dirname "$0")/slurm-down.sh" "$FLAVOR" >&2 || true; exit 1; }

wait_until "$WAIT_SECS" "munged socket" test -S "$STATE/run/munge.sock" || fail "munged did not start"
wait_until "$WAIT_SECS" "slurmctld ping" ctld_up || fail "slurmctld did not come up"
wait_until "$WAIT_SECS" "node idle" node_idle || fail "slurmd did not register"
wait_until "$WAIT_SECS" "slurmrestd" rest_up || fail "slurmrestd did not answer"
# Second REST daemon for the "local"/MUNGE mode: rest_auth/local on a UNIX socket.
# Callers are identified by SO_PEERCRED, so it must live in the HOST pid namespace
# (inside ours, peers outside show pid 0 and are rejected). Own pid file.
LOCAL_PIDFILE="$PEER_ROOT/slurm-$FLAVOR-local.pid"
if [ -n "$ROOTFS" ]; then
  setsid chroot "$ROOTFS" env SLURM_CONF="$INSTATE/conf/slurm.conf" slurmrestd -a rest_auth/local $REST_PLUGINS \
    -u "$TEST_USER" "unix:$INSTATE/rest-local/slurmrestd.sock" </dev/null >>"$STATE/log/slurmrestd-local.log" 2>&1 &
else
  setsid env SLURM_CONF="$INSTATE/conf/slurm.conf" slurmrestd -a rest_auth/local $REST_PLUGINS \
    -u "$TEST_USER" "unix:$INSTATE/rest-local/slurmrestd.sock" </dev/null >>"$STATE/log/slurmrestd-local.log" 2>&1 &
fi
echo $! > "$LOCAL_PIDFILE"
wait_until "$WAIT_SECS" "slurmrestd (unix socket)" test -S "$STATE/rest-local/slurmrestd.sock" || fail "slurmrestd-local did not start"

# loopback-only check: every listener owned by our namespace must be on 127.0.0.1
bad=$(ss -Hltnp | grep -E ":($CTLD_PORT|$SLURMD_PORT|$REST_PORT)\b" | awk '{print $4}' | grep -v '^127\.0\.0\.1:' || true)
[ -z "$bad" ] || fail "non-loopback listener(s): $bad"

log "up in $((SECONDS - T0))s (install/rootfs step ${T_INSTALL}s)"
print_env
