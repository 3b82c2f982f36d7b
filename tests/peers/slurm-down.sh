#!/usr/bin/env bash
# slurm-down.sh - stop the cluster started by slurm-up.sh, by PID only.
#
# Usage: slurm-down.sh [bookworm|trixie|sid] [--purge]
#   --purge  also delete the state dir (keys, logs). The cached chroot rootfs is
#            kept; delete $PEER_CACHE/rootfs-<flavor> by hand to rebuild it.
#
# How: the pid file holds the pid of the `unshare` process that owns a private
# PID namespace. Its only child is PID 1 of that namespace (the supervisor).
# SIGTERM to the supervisor stops munged/slurmctld/slurmd/slurmrestd; when it
# exits the kernel kills whatever is left in the namespace (job steps, jobs).
# The pid is verified (argv must carry the tag "tokenwarden-slurm-<flavor>") before
# any signal is sent, so a recycled pid is never hit. Waits are bounded.
set -uo pipefail
FLAVOR="${1:-${SLURM_FLAVOR:-trixie}}"
PURGE=0; [ "${2:-}" = "--purge" ] && PURGE=1
PEER_ROOT="${PEER_ROOT:-/tmp/tokenwarden-peers}"
PEER_CACHE="${PEER_CACHE:-/var/cache/tokenwarden-peers}"
PIDFILE="$PEER_ROOT/slurm-$FLAVOR.pid"
log() { echo "[slurm-down:$FLAVOR] $*" >&2; }

tagged() { [ -d "/proc/$1" ] && tr '\0' ' ' < "/proc/$1/cmdline" 2>/dev/null | grep -q "tokenwarden-slurm-$FLAVOR"; }
wait_gone() { local pid=$1 secs=$2 end=$((SECONDS + $2)); while [ -d "/proc/$pid" ] && [ $SECONDS -lt $end ]; do sleep 0.2; done; [ ! -d "/proc/$pid" ]; }

if [ -f "$PIDFILE" ]; then
  holder=$(cat "$PIDFILE")
  if [ -n "$holder" ] && tagged "$holder"; then
    child=$(cat "/proc/$holder/task/$holder/children" 2>/dev/null | awk '{print $1}')
    if [ -n "$child" ] && tagged "$child"; then
      log "SIGTERM namespace init $child (holder $holder)"
      kill -TERM "$child" 2>/dev/null
      if ! wait_gone "$child" 15; then
        log "still alive after 15s: SIGKILL $child (kills the whole namespace)"
        kill -KILL "$child" 2>/dev/null; wait_gone "$child" 5
      fi
    fi
    wait_gone "$holder" 5 || { log "SIGKILL holder $holder"; kill -KILL "$holder" 2>/dev/null; wait_gone "$holder" 5; }
  else
    log "pid file $PIDFILE is stale (pid '$holder' is not ours); nothing to kill"
  fi
  rm -f "$PIDFILE"
else
  log "not running (no $PIDFILE)"
fi
LOCAL_PIDFILE="$PEER_ROOT/slurm-$FLAVOR-local.pid"    # rest_auth/local slurmrestd (host pid namespace)
if [ -f "$LOCAL_PIDFILE" ]; then
  lp=$(cat "$LOCAL_PIDFILE")
  if [ -n "$lp" ] && [ -d "/proc/$lp" ] && tr '\0' ' ' < "/proc/$lp/cmdline" | grep -q "rest_auth/local.*rest-local/slurmrestd.sock"; then
    kill -TERM "$lp"; wait_gone "$lp" 10 || kill -KILL "$lp"
    log "stopped local slurmrestd $lp"
  fi
  rm -f "$LOCAL_PIDFILE"
fi
rm -f "$PEER_ROOT/slurm-$FLAVOR.env"
if [ $PURGE = 1 ]; then
  if [ "$FLAVOR" = bookworm ]; then rm -rf "$PEER_ROOT/slurm-bookworm"; else rm -rf "$PEER_CACHE/rootfs-$FLAVOR/srv/tokenwarden-peer/slurm"; fi
  log "state purged"
fi
log "stopped"
