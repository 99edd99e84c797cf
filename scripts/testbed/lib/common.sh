# Shared helpers for the test bed: logging with elapsed time, steps that name
# the failing command, free ports, pid files.
# shellcheck shell=bash

TESTBED_T0=${TESTBED_T0:-$(date +%s)}

log() {
  printf '[testbed %4ss] %s\n' "$(($(date +%s) - TESTBED_T0))" "$*" >&2
}

die() {
  printf '[testbed] error: %s\n' "$*" >&2
  exit 1
}

# run_step NAME LOGFILE CMD...: runs CMD with its output in LOGFILE; on failure
# names the step, the command and the end of its output, then exits.
run_step() {
  local name=$1 logfile=$2
  shift 2
  local start=$(date +%s)
  log "$name ..."
  mkdir -p "$(dirname "$logfile")"
  if ! "$@" >"$logfile" 2>&1; then
    printf '[testbed] error: step "%s" failed after %ss\n' "$name" "$(($(date +%s) - start))" >&2
    printf '[testbed]   command: %s\n' "$*" >&2
    printf '[testbed]   log: %s (last 25 lines below)\n' "$logfile" >&2
    tail -n 25 "$logfile" | sed 's/^/    /' >&2
    exit 1
  fi
  log "$name done in $(($(date +%s) - start))s"
}

# free_port: an unused TCP port on 127.0.0.1, below the kernel's ephemeral
# range and never handed out twice by this test bed (clusters start in
# parallel, so the record is locked); see free-port.js for why.
free_port() {
  mkdir -p "$TESTBED_DIR"
  (
    flock 9
    node "$TESTBED_SRC/lib/free-port.js" "$TESTBED_DIR/ports.given"
  ) 9>"$TESTBED_DIR/ports.lock"
}

# version_ge A B: true when version A >= B (dotted, leading v ignored).
version_ge() {
  local a=${1#v} b=${2#v}
  [ "$(printf '%s\n%s\n' "$a" "$b" | sort -V | head -n 1)" = "$b" ]
}

# start_daemon NAME LOGFILE CMD...: starts CMD in its own session, records its pid.
start_daemon() {
  local name=$1 logfile=$2
  shift 2
  mkdir -p "$TESTBED_DIR/pids" "$(dirname "$logfile")"
  setsid "$@" >"$logfile" 2>&1 </dev/null &
  echo $! >"$TESTBED_DIR/pids/$name.pid"
}

# stop_daemons PIDFILE...: TERM to every process named, then waits for all of
# them together (2 s: the test bed keeps no data worth a slow shutdown), then KILL what is left.
stop_daemons() {
  local f pid pids=()
  for f in "$@"; do
    pid=$(cat "$f" 2>/dev/null) || continue
    if [ -n "$pid" ] && running "$pid"; then
      kill -TERM "$pid" 2>/dev/null || true
      pids+=("$pid")
    fi
  done
  local signal
  for signal in KILL done; do
    for _ in $(seq 1 20); do
      local alive=0
      for pid in "${pids[@]}"; do running "$pid" && alive=1; done
      [ "$alive" = 1 ] || break
      sleep 0.1
    done
    [ "$signal" = done ] && break
    for pid in "${pids[@]}"; do if running "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi; done
  done
  rm -f "$@"
}

# running PID: the process exists and is not a zombie.
running() {
  [ -r "/proc/$1/stat" ] || return 1
  [ "$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null)" != Z ]
}
