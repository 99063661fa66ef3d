#!/usr/bin/env bash
# bench/syscalls.sh — `make syscalls`: system calls and CPU per request,
# stage12 against stage13, one worker each, the same fixed keep-alive load.
#
# For each stage: start it with -w 1, the server pinned to CPU 0 and the
# client to CPU 1 (when there are two), and run bin/kaload: SC_CONNS
# connections each making SC_REQUESTS requests for a 1 KiB file.  Two runs
# per stage: one under `strace -f -c` (counts every system call of the
# worker; strace slows it, so no timing from this run), one without, where
# the worker's CPU time (utime + stime from /proc) is read before and after.
#
#   SC_CONNS=50 SC_REQUESTS=1000  the defaults (50 000 requests)
#   SC_STAGES="stage12 stage13"   the stages compared
set -u
cd "$(dirname "$0")/.." || exit 2

CONNS=${SC_CONNS:-50}
REQS=${SC_REQUESTS:-1000}
STAGES=${SC_STAGES:-stage12 stage13}
TOTAL=$((CONNS * REQS))
WORK=$(mktemp -d /tmp/syscalls.XXXXXX)
SERVER_PID=
trap 'stop_server; rm -rf "$WORK"' EXIT

command -v strace > /dev/null || { echo "syscalls: strace is missing (apt-get install strace)" >&2; exit 2; }
# shellcheck disable=SC2086  # STAGES is a list: split it
for bin in bin/kaload $(printf 'bin/%s ' $STAGES); do
    [[ -x $bin ]] || { echo "syscalls: $bin is missing: run make first" >&2; exit 2; }
done
mkdir -p "$WORK/root"
head -c 1024 /dev/zero | tr '\0' 'x' > "$WORK/root/1k.txt"
chmod -R a+rX "$WORK"
SERVER_CPU=0 CLIENT_CPU=$(($(nproc) > 1 ? 1 : 0))

stop_server() {
    [[ -n $SERVER_PID ]] || return 0
    kill -TERM "$SERVER_PID" 2> /dev/null
    wait "$SERVER_PID" 2> /dev/null
    SERVER_PID=
}

start_server() {         # start_server STAGE -> PORT, WORKER
    taskset -c "$SERVER_CPU" "bin/$1" -w 1 -p 0 -b 127.0.0.1 -r "$WORK/root" 2> "$WORK/$1.log" &
    SERVER_PID=$!
    PORT='' WORKER=''
    local i
    for ((i = 0; i < 100; i++)); do
        PORT=$(sed -n 's|.* listening on http://[^ ]*:\([0-9]*\)/.*|\1|p' "$WORK/$1.log")
        WORKER=$(cat /proc/"$SERVER_PID"/task/*/children 2> /dev/null | awk '{ print $1 }')
        [[ -n $PORT && -n $WORKER ]] && return 0
        sleep 0.1
    done
    echo "syscalls: $1 did not start:" >&2
    cat "$WORK/$1.log" >&2
    return 1
}

load() {
    taskset -c "$CLIENT_CPU" bin/kaload -n "$CONNS" -r "$REQS" -t 60 "$PORT" /1k.txt > "$WORK/load.out" 2>&1 ||
        { echo "syscalls: the load failed: $(cat "$WORK/load.out")" >&2; return 1; }
}

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

echo "syscalls: $CONNS keep-alive connections x $REQS requests for 1 KiB = $TOTAL requests, one worker," \
     "server on CPU $SERVER_CPU, client on CPU $CLIENT_CPU"
printf '%-8s %14s %14s  %s\n' stage "syscalls/req" "CPU us/req" "the calls (per request)"
for stage in $STAGES; do
    start_server "$stage" || exit 1
    load || exit 1 # warm up: caches, pools
    strace -f -c -o "$WORK/$stage.strace" -p "$WORKER" 2> /dev/null &
    tracer=$!
    sleep 0.5      # strace attached
    load || exit 1
    kill -INT "$tracer"
    wait "$tracer" 2> /dev/null
    # strace -c columns: % time, seconds, usecs/call, calls, [errors,] syscall
    calls=$(awk '$NF == "total" { print $4 }' "$WORK/$stage.strace")
    top=$(awk -v n="$TOTAL" '$1 ~ /^[0-9.]+$/ && $NF != "total" && $4 / n >= 0.01 {
              printf "%s %.2f, ", $NF, $4 / n }' "$WORK/$stage.strace")
    before=$(cpu_ticks "$WORKER")
    load || exit 1
    after=$(cpu_ticks "$WORKER")
    awk -v s="$stage" -v c="${calls:-0}" -v n="$TOTAL" -v t=$((after - before)) -v hz="$(getconf CLK_TCK)" \
        -v top="${top%, }" 'BEGIN { printf "%-8s %14.2f %14.1f  %s\n", s, c / n, t * 1e6 / hz / n, top }'
    stop_server
done
