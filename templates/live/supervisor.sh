#!/bin/sh
# mlkube's restart supervisor for servers that are not Python (or images without Python 3.9+).
# PID 1 of a dev container: sh supervisor.sh [--reason TEXT] -- COMMAND...
#   SIGHUP           restart: stop the server (SIGTERM, SIGKILL after 5 s) and run the command again.
#                    With MLKUBE_RESTART=none it is forwarded to the server instead.
#   SIGTERM, SIGINT  forwarded as SIGTERM (POSIX sh starts background commands with SIGINT
#                    ignored, so SIGINT would not reach them); exits with the server's status.
#   SIGUSR1, SIGUSR2 forwarded.
# Zombies: every `wait` of the shell reaps any ended child, orphans re-parented to PID 1 included.
# State: $MLKUBE_LIVE_DIR/state.json (default /tmp/mlkube-live), as the Python supervisor writes it.

state_dir=${MLKUBE_LIVE_DIR:-/tmp/mlkube-live}
policy=${MLKUBE_RESTART:-auto}
grace=5
reason="not a Python command"

while [ $# -gt 0 ] && [ "$1" != "--" ]; do
  case "$1" in
    --reason) reason=$2; shift 2 ;;
    *) echo "mlkube-supervisor: unknown option $1 (usage: supervisor.sh [--reason TEXT] -- COMMAND...)" >&2; exit 2 ;;
  esac
done
[ "$1" = "--" ] && shift
if [ $# -eq 0 ]; then
  echo "mlkube-supervisor: no command to run: the image has neither ENTRYPOINT nor CMD" >&2
  exit 2
fi
case "$policy" in
  auto) ;;
  process) reason="restart: process" ;;
  none) reason="restart: none (the server reloads itself)" ;;
  *) echo "mlkube-supervisor: restart policy '$policy' is not one of auto, process, none (set by MLKUBE_RESTART)" >&2; exit 2 ;;
esac

log() { echo "mlkube-supervisor: $*" >&2; }

json_string() {
  printf '"%s"' "$(printf '%s' "$1" | tr '\n\t' '  ' | sed 's/\\/\\\\/g; s/"/\\"/g')"
}

# Milliseconds since the epoch where date knows %N (GNU, busybox), else whole seconds.
now_ms() {
  nanos=$(date +%s%N 2>/dev/null)
  case "$nanos" in
    *[!0-9]* | "") echo $(($(date +%s) * 1000)) ;;
    *) echo $((nanos / 1000000)) ;;
  esac
}

name=${1##*/}
[ "$name" != sh ] || [ "$2" != "-c" ] || name="sh -c"
command_json="["
for word in "$@"; do
  [ "$command_json" = "[" ] || command_json="$command_json,"
  command_json="$command_json$(json_string "$word")"
done
command_json="$command_json]"

child=""
generation=0
restarts=0
last_exit=null
last_restart=null
pending=""
exiting=""
started_ms=0

write_state() {
  mkdir -p "$state_dir" 2>/dev/null || return 0
  if [ -n "$child" ]; then running=true; pid=$child; else running=false; pid=null; fi
  printf '{"supervisor":"sh","policy":"%s","mode":"re-exec","modeReason":%s,"command":%s,"generation":%d,"restarts":%d,"childPid":%s,"running":%s,"lastExit":%s,"lastRestart":%s,"warmModules":0}\n' \
    "$policy" "$(json_string "$reason")" "$command_json" "$generation" "$restarts" "$pid" "$running" "$last_exit" "$last_restart" \
    >"$state_dir/state.json.$$" && mv -f "$state_dir/state.json.$$" "$state_dir/state.json"
}

start_child() {
  generation=$((generation + 1))
  started_ms=$(now_ms)
  "$@" &
  child=$!
}

# The server ended: remember how (status 128+N when a signal killed it).
record_exit() {
  lived_ms=$(($(now_ms) - started_ms))
  last_exit=$(printf '{"pid":%d,"generation":%d,"status":%d,"signal":null,"afterSeconds":%d.%03d,"requested":%s}' \
    "$child" "$generation" "$1" $((lived_ms / 1000)) $((lived_ms % 1000)) "$2")
  last_status=$1
  child=""
  write_state
}

# Waits for the server to end, noting signals that arrive meanwhile; sets $status.
wait_child() {
  while :; do
    wait "$child"
    status=$?
    [ -n "$pending" ] || return 0
    # A trapped signal interrupted the wait: during a stop only SIGTERM matters (exit afterwards).
    case "$pending" in *term*) exiting=1 ;; esac
    pending=""
  done
}

restart() {
  began=$(now_ms)
  if [ -n "$child" ]; then
    kill -TERM "$child" 2>/dev/null
    (sleep "$grace" && kill -KILL "$child" 2>/dev/null && echo "mlkube-supervisor: $name ignored SIGTERM for $grace s; killed it" >&2) &
    watchdog=$!
    wait_child
    kill "$watchdog" 2>/dev/null
    record_exit "$status" true
  fi
  [ -z "$exiting" ] || return 0
  start_child "$@"
  restarts=$((restarts + 1))
  took=$(($(now_ms) - began))
  last_restart=$(printf '{"method":"re-exec","reason":"SIGHUP","ms":%d,"at":%d,"generation":%d}' "$took" "$(date +%s)" "$generation")
  log "restarted $name by re-exec ($reason) in $took ms"
  write_state
}

trap 'pending="$pending hup"' HUP
trap 'pending="$pending term"' TERM INT
trap 'pending="$pending usr1"' USR1
trap 'pending="$pending usr2"' USR2

last_status=0
start_child "$@"
log "started $name by exec ($reason), pid $child"
write_state

while :; do
  if [ -z "$pending" ]; then
    if [ -n "$child" ]; then
      wait "$child"
      status=$?
      if [ -z "$pending" ]; then
        record_exit "$status" false
        [ -z "$exiting" ] || exit "$status"
        log "$name exited with status $status"
        # Before any live restart the container ends with its server, as it would without us.
        [ "$restarts" -gt 0 ] || exit "$status"
        log "waiting for the next restart (kill -HUP 1)"
      fi
    else
      sleep 86400 &
      idle=$!
      wait "$idle"
      kill "$idle" 2>/dev/null
    fi
  fi
  signals=$pending
  pending=""
  for signal in $signals; do
    case "$signal" in
      hup)
        if [ "$policy" = none ]; then
          [ -z "$child" ] || kill -HUP "$child" 2>/dev/null
        else
          restart "$@"
        fi
        ;;
      term)
        exiting=1
        [ -n "$child" ] || exit "$last_status"
        kill -TERM "$child" 2>/dev/null
        ;;
      usr1 | usr2)
        [ -z "$child" ] || kill -s "$(echo "$signal" | tr a-z A-Z)" "$child" 2>/dev/null
        ;;
    esac
  done
  [ -n "$child" ] || [ -z "$exiting" ] || exit "$last_status"
done
