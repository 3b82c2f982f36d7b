#!/usr/bin/env bash
# lib-stop.sh - sourced by the *-down.sh scripts: stop a peer by the PID in its pid file, but
# only after checking that PID's command line is the peer's (a stale pid file may name a PID
# the system has given to something else). SIGTERM, up to 10 s, then SIGKILL.
#
#   stop_pidfile <pidfile> <cmdline pattern (grep)> <label for messages>
# Messages go to stderr through the caller's log(); the pid file is removed.
stop_pidfile() {
  local f=$1 pattern=$2 label=$3 pid end
  if [ ! -f "$f" ]; then
    log "$label not running"
    return 0
  fi
  pid=$(cat "$f")
  if [ -n "$pid" ] && [ -d "/proc/$pid" ] && tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q "$pattern"; then
    kill -TERM "$pid"; end=$((SECONDS + 10))
    while [ -d "/proc/$pid" ] && [ $SECONDS -lt $end ]; do sleep 0.2; done
    [ -d "/proc/$pid" ] && { log "SIGKILL $pid"; kill -KILL "$pid"; }
    log "stopped $label (pid $pid)"
  else
    log "stale pid file for $label (pid '$pid' is not ours)"
  fi
  rm -f "$f"
}
