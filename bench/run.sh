#!/usr/bin/env bash
# bench/run.sh — `make bench`: measure every HTTP stage, and nginx, with wrk.
#
# For each built stage: start it on an ephemeral port (the port comes from
# its ready line) serving a generated docroot, pinned to CPU 0; check that it
# serves the test files; warm it up; watch its CPU while no client is there;
# then run each workload of WORKLOAD_TABLE (below) with wrk pinned to the
# other CPU(s) while the server's process tree is sampled from /proc (CPU
# time, resident memory, processes, threads, read() calls).  A held workload
# first opens its slow clients (bin/c10k_client -H), so that wrk measures
# what the server still does for others while it holds them.  A counted
# workload is then run once more for a fixed number of requests under
# `strace -f -c`.  Stop the server by PID; next stage.  nginx, configured
# here in a temp dir, is measured the same way as a reference.  stage11
# (FTP) gets a side table measured with curl.
#
# Results: bench/results/latest.md (the table for lectures), latest.csv (one
# raw row per stage x workload), latest.svg (a chart), and a timestamped copy
# of each.  bench/check.sh validates them; bench/notes.sh copies the table
# into NOTES.md.
#
# Settings (environment or make variables):
#   QUICK=1                   1-second runs of close, ka, slow and crowd, short FTP test (CI)
#   STAGES="stage09 stage10"  measure a subset (default: every built HTTP stage)
#   DURATION=N                seconds per workload (default 5; QUICK 1)
#   WORKLOADS="close ka ..."  which workloads, from the table below
#   CONNS=N  CLIFF_CONNS=N  BIG_CONNS=N   wrk's connections (50, 1000, 10)
#   SLOW_CONNS=N  CROWD_CONNS=N           connections held open by slow clients
#                             during `slow` (10) and `crowd` (10 000; QUICK 1 000)
#   TRICKLE_MS=N              a held client sends one more byte this often (1000)
#   SYSCALLS=0                skip the strace runs (system calls per request)
#   SYS_REQUESTS=N            requests of each strace run (2000; QUICK 50, ka only;
#                             1 MiB: a tenth)
#   IDLE_SECONDS=N            how long the idle server's CPU is watched (2; QUICK 0.5)
#   NGINX=0  FTP=0            skip the nginx row / the FTP side table
#   NETEM=1 [NETEM_DELAY=1ms] run in a private network namespace whose own
#                             loopback delays every packet (root only; see below)
#
# Every wait is bounded: wrk stops after DURATION (and `timeout` kills it if
# it does not), requests time out after WRK_TIMEOUT, the slow clients stop
# after DURATION + 40 s at the latest, a strace run after 35 s, servers get
# SIGTERM and, after 5 s, SIGKILL.  A stage whose binary is missing is skipped
# with a note; one that exits with status 2 at start (stage13 where io_uring
# is not available) gets rows that say so.
set -u
cd "$(dirname "$0")/.." || exit 2

# --- NETEM=1: a slower loopback, in a network namespace of our own ----------------
# On loopback a round trip costs microseconds, so a server that makes clients
# wait (the iterative stages) looks better than it would on any real network.
# NETEM=1 re-runs this script under `unshare --net`: a new namespace with its
# own lo, to which `tc netem` adds NETEM_DELAY to every packet (so a round
# trip takes twice that).  Traffic stays on 127.0.0.1, and the machine's real
# loopback is never touched: the namespace disappears with the run.
NETWORK="loopback"
if [[ ${NETEM:-0} == 1 ]]; then
    NETEM_DELAY=${NETEM_DELAY:-1ms}
    if [[ -z ${BENCH_IN_NETNS:-} ]]; then
        if [[ $(id -u) -ne 0 ]] || ! command -v unshare >/dev/null || ! command -v tc >/dev/null; then
            echo "bench: NETEM=1 needs root, unshare (util-linux) and tc (iproute2)" >&2
            exit 2
        fi
        exec unshare --net -- env BENCH_IN_NETNS=1 bash "$0" "$@"
    fi
    ip link set lo up &&
        tc qdisc add dev lo root netem delay "$NETEM_DELAY" ||
        { echo "bench: NETEM=1 skipped: tc could not add a netem qdisc (is the kernel's sch_netem available?)" >&2
          exit 2; }
    NETWORK="loopback in a private network namespace with netem delay $NETEM_DELAY each way"
fi

QUICK=${QUICK:-0}
[[ $QUICK == 0 || -z $QUICK ]] && QUICK=0 || QUICK=1
if ((QUICK)); then
    MODE=quick
    DURATION=${DURATION:-1}
    WORKLOADS=${WORKLOADS:-close ka slow crowd}
    CROWD_CONNS=${CROWD_CONNS:-1000}
    SYS_REQUESTS=${SYS_REQUESTS:-50}
    SYS_CLOSE_REQUESTS=${SYS_CLOSE_REQUESTS:-0}     # CI: one strace run per stage (ka)
    IDLE_SECONDS=${IDLE_SECONDS:-0.5}
    FTP_MB=${FTP_MB:-20}
else
    MODE=full
    DURATION=${DURATION:-5}
    WORKLOADS=${WORKLOADS:-close ka cliff big slow crowd}
    CROWD_CONNS=${CROWD_CONNS:-10000}
    SYS_REQUESTS=${SYS_REQUESTS:-2000}
    IDLE_SECONDS=${IDLE_SECONDS:-2}
    FTP_MB=${FTP_MB:-200}
fi
SYSCALLS=${SYSCALLS:-1}
((SYSCALLS)) || SYS_REQUESTS=0 SYS_CLOSE_REQUESTS=0
SYS_CLOSE_REQUESTS=${SYS_CLOSE_REQUESTS:-$SYS_REQUESTS}
SYS_BIG_REQUESTS=$((SYS_REQUESTS / 10))
CONNS=${CONNS:-50}
CLIFF_CONNS=${CLIFF_CONNS:-1000}
BIG_CONNS=${BIG_CONNS:-10}
SLOW_CONNS=${SLOW_CONNS:-10}
TRICKLE_MS=${TRICKLE_MS:-1000}
WRK_TIMEOUT=${WRK_TIMEOUT:-2}
NGINX_BIN=${NGINX_BIN:-$(command -v nginx || echo /usr/sbin/nginx)}
RESULTS=bench/results
CLK_TCK=$(getconf CLK_TCK)
PAGE_KIB=$(($(getconf PAGESIZE) / 1024))

NOTES=()                # lines printed under the table: skips, anomalies
declare -A R=()         # the current wrk results, from bench/wrk.lua
note() { NOTES+=("$*"); echo "bench: $*" >&2; }

for tool in wrk curl timeout awk $( ((SYSCALLS)) && echo strace); do
    command -v "$tool" >/dev/null ||
        { echo "bench: $tool is missing; run: make bench-deps (as root), or apt-get install wrk curl strace" >&2; exit 2; }
done
HOLDER=bin/c10k_client          # the slow clients of the held workloads
[[ -x $HOLDER ]] || { echo "bench: $HOLDER is missing: run make first" >&2; exit 2; }

WORK=$(mktemp -d /tmp/bench.XXXXXX) || exit 2
SERVER_PID=
SAMPLER_PID=
HOLDER_PID=
STRACE_PID=
cleanup() {
    [[ -n $SAMPLER_PID ]] && kill "$SAMPLER_PID" 2>/dev/null
    [[ -n $STRACE_PID ]] && kill -TERM "$STRACE_PID" 2>/dev/null
    [[ -n $HOLDER_PID ]] && kill -TERM "$HOLDER_PID" 2>/dev/null
    stop_server
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- CPUs: the server gets the first one, wrk and this script the rest ----------
# The list comes from our own affinity, so `taskset -c 2-5 make bench` works.
expand_cpus() {         # "0-2,5" -> "0 1 2 5"
    local part
    for part in ${1//,/ }; do
        if [[ $part == *-* ]]; then
            seq "${part%-*}" "${part#*-}"
        else
            echo "$part"
        fi
    done
}
mapfile -t CPUS < <(expand_cpus "$(taskset -pc $$ 2>/dev/null | sed 's/.*: //')")
((${#CPUS[@]})) || mapfile -t CPUS < <(seq 0 $(($(nproc) - 1)))
if ((${#CPUS[@]} >= 2)) && command -v taskset >/dev/null; then
    SERVER_CPUS=${CPUS[0]}
    CLIENT_CPUS=$(IFS=,; echo "${CPUS[*]:1}")
    PIN=(taskset -c "$SERVER_CPUS")
    taskset -pc "$CLIENT_CPUS" $$ >/dev/null   # wrk, curl and the sampler inherit it
    PINNING="server on CPU $SERVER_CPUS, wrk on CPU $CLIENT_CPUS"
    SERVER_NCPU=1
    CLIENT_NCPU=$((${#CPUS[@]} - 1))
else
    PIN=()
    PINNING="not pinned (one CPU: server and wrk share it)"
    SERVER_NCPU=${#CPUS[@]}
    CLIENT_NCPU=${#CPUS[@]}
fi
WRK_THREADS=${WRK_THREADS:-$CLIENT_NCPU}

# wrk and the slow clients need a descriptor per connection, and so do the
# servers (they inherit the limit).
ulimit -n "$(ulimit -Hn)" 2>/dev/null
for want in "$CLIFF_CONNS cliff" "$CROWD_CONNS crowd"; do
    if [[ " $WORKLOADS " == *" ${want#* } "* ]] && (($(ulimit -n) < ${want% *} + 100)); then
        note "descriptor limit $(ulimit -n) is below $((${want% *} + 100)): the ${want#* } workload will show connect errors"
    fi
done

# --- workloads: one row each ------------------------------------------------------------
# name   path      conns          close  held           strace  (requests; 0: not counted)
#
# wrk's clients fetch PATH over CONNS connections (a new one per request when
# close is 1) for DURATION seconds.  HELD is how many other connections
# bin/c10k_client holds open meanwhile, each a slow client whose request
# never completes (c10k_client -H).  STRACE is the request count of a second,
# short run under `strace -f -c`, which gives the system calls per request.
WORKLOAD_TABLE="
close  /         $CONNS         1      0              $SYS_CLOSE_REQUESTS
ka     /         $CONNS         0      0              $SYS_REQUESTS
cliff  /         $CLIFF_CONNS   0      0              0
big    /1m.bin   $BIG_CONNS     0      0              $SYS_BIG_REQUESTS
mid    /64k.bin  $CONNS         0      0              0
slow   /         $CONNS         0      $SLOW_CONNS    0
crowd  /         $CONNS         0      $CROWD_CONNS   0
"
# workload NAME: sets W_PATH W_CONNS W_CLOSE W_HELD W_STRACE and W_LABEL (the column heading).
workload() {
    local name path conns close held strace size
    while read -r name path conns close held strace; do
        [[ $name == "$1" ]] || continue
        W_PATH=$path W_CONNS=$conns W_CLOSE=$close W_HELD=$held W_STRACE=$strace
        case $path in /) size="1 KiB" ;; /64k.bin) size="64 KiB" ;; *) size="1 MiB" ;; esac
        W_LABEL="$size $( ((close)) && echo close || echo keep-alive) c=$conns"
        ((held)) && W_LABEL+=" + $held $1"
        return 0
    done <<< "$WORKLOAD_TABLE"
    echo "bench: unknown workload '$1' (close ka cliff big mid slow crowd)" >&2
    exit 2
}
for w in $WORKLOADS; do workload "$w"; done     # reject typos before any work

# --- the document root ----------------------------------------------------------------
# index.html is exactly 1 KiB of real HTML; the other files are random bytes.
ROOT=$WORK/root
mkdir -p "$ROOT"
HEAD=$'<!DOCTYPE html>\n<html><head><title>bench</title></head><body>\n<p>'
TAIL=$'</p>\n</body></html>\n'
{
    printf '%s' "$HEAD"
    head -c 2000 /dev/zero | tr '\0' 'x' | head -c $((1024 - ${#HEAD} - ${#TAIL}))
    printf '%s' "$TAIL"
} > "$ROOT/index.html"
head -c $((64 * 1024)) /dev/urandom > "$ROOT/64k.bin"
head -c $((1024 * 1024)) /dev/urandom > "$ROOT/1m.bin"
chmod 755 "$WORK" "$ROOT" && chmod 644 "$ROOT"/*    # nginx's workers may run as nobody
SIZE_index=$(stat -c %s "$ROOT/index.html")
SIZE_big=$(stat -c %s "$ROOT/1m.bin")
SIZE_mid=$(stat -c %s "$ROOT/64k.bin")

# --- the server's process tree, from /proc ------------------------------------------------
# tree_stat PID sets TREE_CPU (clock ticks: utime+stime of every live process
# plus cutime+cstime, the time of children already reaped), TREE_RSS (KiB, the
# sum over processes: shared pages count once per process, as in ps),
# TREE_PROCS (not counting zombies), TREE_THREADS and TREE_LIST ("pid:start"
# pairs).  Only shell builtins, so sampling costs no fork.
tree_stat() {
    local stack=("$1") pid line t
    local -a f kids
    TREE_CPU=0 TREE_RSS=0 TREE_PROCS=0 TREE_THREADS=0 TREE_LIST=
    while ((${#stack[@]})); do
        pid=${stack[-1]}
        unset 'stack[-1]'
        read -r line 2>/dev/null < "/proc/$pid/stat" || continue
        read -r -a f <<< "${line##*) }"        # f[0] is field 3 (state)
        TREE_CPU=$((TREE_CPU + f[11] + f[12] + f[13] + f[14]))
        if [[ ${f[0]} != Z ]]; then
            TREE_PROCS=$((TREE_PROCS + 1))
            TREE_THREADS=$((TREE_THREADS + f[17]))
            TREE_RSS=$((TREE_RSS + f[21] * PAGE_KIB))
        fi
        TREE_LIST+="$pid:${f[19]} "
        for t in /proc/"$pid"/task/*/children; do
            kids=()
            read -r -a kids 2>/dev/null < "$t"
            stack+=("${kids[@]}")
        done
    done
}

# tree_reads PID: read-class system calls (read, readv, pread, sendfile; not recv)
# made so far by the tree of PID, from /proc/PID/io's syscr, which the kernel
# counts whether or not the call found data, and which a parent inherits from
# the children it reaps.  Unlike strace it does not slow the server down.
tree_reads() {
    local entry files=()
    tree_stat "$1"
    for entry in $TREE_LIST; do files+=("/proc/${entry%%:*}/io"); done
    TREE_READS=$(awk '$1 == "syscr:" { n += $2 } END { print n + 0 }' "${files[@]}" 2>/dev/null)
}

# sampler PID FILE: every 0.2 s append "rss_kib procs threads" (runs in the
# background, on wrk's CPU).  A tree of hundreds of processes or threads (a
# crowd held by stage03 or stage05) is sampled once a second: its walk is
# long, and its peak lasts the whole run.
sampler() {
    while kill -0 "$1" 2>/dev/null; do
        tree_stat "$1"
        echo "$TREE_RSS $TREE_PROCS $TREE_THREADS" >> "$2"
        ((TREE_PROCS + TREE_THREADS > 200)) && sleep 0.8
        sleep 0.2
    done
}

# --- starting and stopping servers --------------------------------------------------------
# alive PID: running, and not a zombie waiting for us to reap it.
alive() {
    local line
    read -r line 2>/dev/null < "/proc/$1/stat" || return 1
    [[ ${line##*) } != Z* ]]
}

# start_stage BINARY NAME ROOT [ARGS...]: start, wait for the ready line; sets SERVER_PID PORT.
start_stage() {
    local bin=$1 name=$2 root=$3 log=$WORK/$2.log i
    shift 3
    : > "$log"
    "${PIN[@]}" "$bin" -p 0 -b 127.0.0.1 -r "$root" "$@" < /dev/null > "$log" 2>&1 &
    SERVER_PID=$!
    PORT='' START_RC=''
    for ((i = 0; i < 100; i++)); do
        if [[ $(< "$log") =~ listening\ on\ [a-z]+://[^\ ]*:([0-9]+)/ ]]; then
            PORT=${BASH_REMATCH[1]}
            return 0
        fi
        alive "$SERVER_PID" || break
        sleep 0.1
    done
    if ! alive "$SERVER_PID"; then
        wait "$SERVER_PID"
        START_RC=$?
        SERVER_PID=
        note "$name exited with status $START_RC at start: $(head -c 300 "$log" | tr '\n' ' ')"
        return 1
    fi
    note "$name did not print its ready line within 10 s: $(head -c 300 "$log" | tr '\n' ' ')"
    stop_server
    return 1
}

# stop_server: SIGTERM by PID, 5 s to exit, then SIGKILL; then make sure no
# process of its tree (same PID and start time) outlived it.
stop_server() {
    [[ -n $SERVER_PID ]] || return 0
    local i entry pid start line left=0
    tree_stat "$SERVER_PID"
    local before=$TREE_LIST
    kill -TERM "$SERVER_PID" 2>/dev/null
    for ((i = 0; i < 50; i++)); do
        alive "$SERVER_PID" || break
        sleep 0.1
    done
    if alive "$SERVER_PID"; then
        note "$CURRENT did not exit within 5 s of SIGTERM; killed"
        kill -KILL "$SERVER_PID" 2>/dev/null
    fi
    wait "$SERVER_PID" 2>/dev/null
    [[ $before == *:*\ *:* ]] && sleep 0.2      # more than one process: give the rest a moment
    for entry in $before; do
        pid=${entry%%:*} start=${entry#*:}
        [[ $pid == "$SERVER_PID" ]] && continue
        read -r line 2>/dev/null < "/proc/$pid/stat" || continue
        local -a f
        read -r -a f <<< "${line##*) }"
        [[ ${f[19]} == "$start" && ${f[0]} != Z ]] || continue
        kill -KILL "$pid" 2>/dev/null && left=$((left + 1))
    done
    ((left)) && note "$CURRENT left $left process(es) running after it exited; killed them"
    SERVER_PID=
}

# port_listened PORT: is some socket on this machine listening on PORT?
# (/proc/net/tcp: local address as HEXADDR:HEXPORT, state 0A is LISTEN.)
port_listened() {
    local hex
    hex=$(printf '%04X' "$1")
    grep -qE "^ *[0-9]+: [0-9A-F]+:$hex [0-9A-F]+:[0-9A-F]+ 0A " /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# nginx: a config of our own in $WORK/nginx; it has no -p 0, so try a few
# free ports below the ephemeral range until it binds one.
start_nginx() {
    local dir=$WORK/nginx try code
    mkdir -p "$dir"
    local nofile=$(($(ulimit -Hn) < 65536 ? $(ulimit -Hn) : 65536))
    for ((try = 0; try < 5; try++)); do
        PORT=$((20000 + RANDOM % 12000))
        port_listened "$PORT" && continue
        cat > "$dir/nginx.conf" <<CONF
# written by bench/run.sh: the reference server, measured like the stages
worker_processes $SERVER_NCPU;
worker_rlimit_nofile $nofile;
daemon off;
master_process on;
pid $dir/nginx.pid;
error_log $dir/error.log;
events { worker_connections $((nofile / 2)); }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 60s;
    keepalive_requests 1000000;
    default_type application/octet-stream;
    types { text/html html; }
    client_body_temp_path $dir/body;
    proxy_temp_path $dir/proxy;
    fastcgi_temp_path $dir/fastcgi;
    uwsgi_temp_path $dir/uwsgi;
    scgi_temp_path $dir/scgi;
    server {
        listen 127.0.0.1:$PORT;
        root $ROOT;
        index index.html;
    }
}
CONF
        : > "$dir/error.log"
        "${PIN[@]}" "$NGINX_BIN" -e "$dir/error.log" -p "$dir" -c "$dir/nginx.conf" \
            < /dev/null > "$dir/stderr" 2>&1 &
        SERVER_PID=$!
        local i
        for ((i = 0; i < 50; i++)); do
            alive "$SERVER_PID" || break
            code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://127.0.0.1:$PORT/")
            [[ $code == 200 ]] && return 0
            sleep 0.1
        done
        if grep -q 'in use' "$dir/error.log" "$dir/stderr" 2>/dev/null; then
            stop_server
            continue
        fi
        note "nginx did not start: $(cat "$dir/stderr" "$dir/error.log" | head -c 300 | tr '\n' ' ')"
        stop_server
        return 1
    done
    note "nginx: no free port found"
    return 1
}

# --- one measurement -------------------------------------------------------------------------
# The results of the current stage and workload gather in R[] (wrk's numbers
# from bench/wrk.lua, the CPU ticks, the held count, the system calls); csv_row
# hands them to bench/row.awk, which writes the CSV line.  bench/row.awk
# holds the list of columns.
CSV=$WORK/latest.csv
awk -f bench/row.awk -v header=1 > "$CSV"

# csv_row STATUS NOTE: append the row of stage $CURRENT, workload $W.
csv_row() {
    local k
    R[stage]=$CURRENT R[model]=$MODEL R[workload]=$W R[label]=$W_LABEL R[path]=$W_PATH
    R[connections]=$W_CONNS R[keepalive]=$((1 - W_CLOSE)) R[hold_conns]=$W_HELD
    R[idle_cpu_pct]=$IDLE_CPU R[status]=$1 R[note]=$2
    for k in "${!R[@]}"; do printf '%s %s\n' "$k" "${R[$k]}"; done > "$WORK/row.kv"
    awk -f bench/row.awk -v hz="$CLK_TCK" "$WORK/row.kv" "${SAMPLES:-/dev/null}" >> "$CSV"
}

# run_wrk OUT THREADS DURATION [ENV...]: wrk on workload $W; its results go to OUT.
run_wrk() {
    local out=$1 threads=$2 secs=$3
    shift 3
    ((threads > W_CONNS)) && threads=$W_CONNS
    rm -f "$out"
    env BENCH_OUT="$out" BENCH_CLOSE="$W_CLOSE" "$@" timeout -k 2 $((secs + WRK_TIMEOUT + 5)) \
        wrk -t "$threads" -c "$W_CONNS" -d "${secs}s" --timeout "${WRK_TIMEOUT}s" \
        -s bench/wrk.lua "http://127.0.0.1:$PORT$W_PATH" > "$out.txt" 2>&1
}

# start_holder N: N slow clients, each with a request it never finishes
# (c10k_client -H); returns once they are connected, or after its connect
# phase (10 s) ends.  Bounded: the client stops by itself after -s seconds.
start_holder() {
    local out=$WORK/holder.out i
    : > "$out"
    "$WORK/bin/c10k_client" -p "$PORT" -n "$1" -H "$TRICKLE_MS" -s $((DURATION + 40)) > "$out" 2>&1 &
    HOLDER_PID=$!
    for ((i = 0; i < 300; i++)); do
        grep -q '^holding' "$out" && break
        kill -0 "$HOLDER_PID" 2>/dev/null || break
        sleep 0.05
    done
    grep -q '^holding' "$out" ||
        note "$CURRENT $W: the slow clients did not report: $(head -c 200 "$out" | tr '\n' ' ')"
    # Connected is not yet accepted: give the server up to 10 s to take
    # them from its accept queue (a fork or a thread each, for some), so
    # that wrk measures the server holding them, not the server catching up.
    # An iterative server or a full pool takes no more: after half a second
    # without progress, that is its result.
    local queued last=-1 still=0
    for ((i = 0; i < 200 && still < 10; i++)); do
        queued=$(accept_queue "$PORT")
        ((queued == 0)) && break
        ((queued == last)) && still=$((still + 1)) || still=0   # no progress for 0.5 s: it takes no more
        last=$queued
        sleep 0.05
    done
}

# accept_queue PORT: connections waiting in the accept queues of the
# listening sockets on PORT (for a listening socket, ss shows the accept
# queue's length as Recv-Q; the kernel filters by port, so this stays cheap
# with thousands of sockets open).
accept_queue() {
    ss -Hltn "sport = :$1" 2>/dev/null | awk '{ n += $2 } END { print n + 0 }'
}

# stop_holder: SIGTERM makes the client count what it still holds and exit.
stop_holder() {
    [[ -n $HOLDER_PID ]] || return 0
    local out=$WORK/holder.out i
    kill -TERM "$HOLDER_PID" 2>/dev/null
    for ((i = 0; i < 100; i++)); do
        kill -0 "$HOLDER_PID" 2>/dev/null || break
        sleep 0.05
    done
    kill -KILL "$HOLDER_PID" 2>/dev/null
    wait "$HOLDER_PID" 2>/dev/null
    HOLDER_PID=
    R[held]=$(sed -n 's/^connections held: \([0-9]*\) of.*/\1/p' "$out")
    R[held_at_start]=$(sed -n 's/^holding \([0-9]*\) of.*/\1/p' "$out")
    R[held_lost]=$(sed -n 's/^closed by server: \(.*\)/closed by server \1/p' "$out" | tr ',' ';')
    R[held]=${R[held]:-0}
}

# measure: the timed run of workload $W, with its slow clients if it has
# any, while the tree of $SERVER_PID is sampled.  Fills R[].
measure() {
    local out=$WORK/wrk.out
    SAMPLES=$WORK/samples
    : > "$SAMPLES"
    ((W_HELD)) && start_holder "$W_HELD"
    tree_reads "$SERVER_PID"
    local cpu0=$TREE_CPU reads0=$TREE_READS
    echo "$TREE_RSS $TREE_PROCS $TREE_THREADS" >> "$SAMPLES"   # a big tree's walk is slow:
    sampler "$SERVER_PID" "$SAMPLES" &
    SAMPLER_PID=$!
    run_wrk "$out" "$WRK_THREADS" "$DURATION"
    local rc=$?
    tree_reads "$SERVER_PID"
    echo "$TREE_RSS $TREE_PROCS $TREE_THREADS" >> "$SAMPLES"   # so sample it first and last
    R[cpu_ticks]=$((TREE_CPU - cpu0)) R[reads]=$((TREE_READS - reads0))
    kill "$SAMPLER_PID" 2>/dev/null
    wait "$SAMPLER_PID" 2>/dev/null
    SAMPLER_PID=
    stop_holder
    if [[ ! -s $out ]] && ((W_HELD)) && ((rc == 124)) && alive "$SERVER_PID"; then
        # wrk opens one connection with a blocking connect() before it starts;
        # with the accept queue full of held clients, the kernel drops its SYN
        # and that connect() waits on: the server is not serving, a stall.
        R[duration_us]=$((DURATION * 1000000)) R[requests]=0 R[err_connect]=$W_CONNS
        R[held_lost]="wrk could not connect: the accept queue was full; ${R[held_lost]:-}"
        return 0
    fi
    if [[ ! -s $out ]]; then
        MEASURE_FAILED="wrk gave no results (exit $rc): $(tail -n 2 "$out.txt" | tr '\n' ' ')"
        return 1
    fi
    local k v
    while read -r k v; do R[$k]=$v; done < "$out"
    if ! alive "$SERVER_PID"; then
        MEASURE_FAILED="server exited during the run: $(tail -n 2 "$WORK/$CURRENT.log" 2>/dev/null | tr '\n' ' ')"
        return 1
    fi
    awk -v s="$CURRENT" -v l="$W_LABEL" -v r="${R[requests]}" -v d="${R[duration_us]}" \
        -v e="$((R[err_connect] + R[err_read] + R[err_write] + R[err_timeout] + R[err_status]))" \
        -v held="${R[held]:-}" -v n="$W_HELD" 'BEGIN {
        t = d > 0 ? d / 1e6 : 1
        printf "bench: %-8s %-36s %8.0f req/s  %d errors", s, l, r / t, e
        if (n > 0) printf "  %d of %d held", held, n
        printf "\n" }' >&2
}

# count_syscalls: W_STRACE requests of workload $W while strace -f -c counts
# the system calls of the whole server tree; fills R[syscall_*].  wrk.lua
# stops wrk's one thread at the count and leaves a mark; SIGINT then ends wrk
# at once (it reports, as at the end of -d).  strace -c only counts: its
# slowdown does not matter, but every step is bounded all the same.
count_syscalls() {
    local out=$WORK/strace.out mark=$WORK/strace.mark i pids=() entry
    rm -f "$out" "$mark"
    tree_stat "$SERVER_PID"
    for entry in $TREE_LIST; do pids+=(-p "${entry%%:*}"); done
    strace -f -c -S calls -o "$out" "${pids[@]}" 2> "$WORK/strace.err" &
    STRACE_PID=$!
    for ((i = 0; i < 100; i++)); do     # attached to every process (and thread) of the tree
        (($(grep -c attached "$WORK/strace.err") * 2 >= ${#pids[@]})) && break
        kill -0 "$STRACE_PID" 2>/dev/null || break
        sleep 0.05
    done
    rm -f "$WORK/sys.out"
    BENCH_OUT=$WORK/sys.out BENCH_CLOSE=$W_CLOSE BENCH_MAX=$W_STRACE BENCH_DONE=$mark \
        timeout -k 2 40 wrk -t 1 -c "$W_CONNS" -d 30s --timeout "${WRK_TIMEOUT}s" \
        -s bench/wrk.lua "http://127.0.0.1:$PORT$W_PATH" > "$WORK/sys.txt" 2>&1 &
    local wrk_job=$!
    for ((i = 0; i < 700; i++)); do     # 35 s at most
        [[ -e $mark ]] && break
        kill -0 "$wrk_job" 2>/dev/null || break
        sleep 0.05
    done
    kill -INT "$wrk_job" 2>/dev/null       # timeout passes SIGINT on to wrk
    wait "$wrk_job"
    kill -TERM "$STRACE_PID" 2>/dev/null   # strace detaches and writes its table
    for ((i = 0; i < 100; i++)); do
        kill -0 "$STRACE_PID" 2>/dev/null || break
        sleep 0.05
    done
    kill -KILL "$STRACE_PID" 2>/dev/null
    wait "$STRACE_PID" 2>/dev/null
    STRACE_PID=
    local requests
    requests=$(sed -n 's/^requests //p' "$WORK/sys.out" 2>/dev/null)
    if [[ ! -s $out || ${requests:-0} == 0 ]]; then
        note "$CURRENT $W: no system call count (strace: $(head -c 150 "$WORK/strace.err" | tr '\n' ' '))"
        return
    fi
    # strace -c's table, by calls: % time, seconds, usecs/call, calls, [errors,] syscall
    read -r 'R[syscall_requests]' 'R[syscalls_total]' 'R[syscall_errors]' 'R[syscalls_top]' < <(
        awk -v n="$requests" '
        # the three most frequent calls, and the epoll calls wherever they rank
        $1 ~ /^[0-9.]+$/ && $NF != "total" && (++k <= 3 || $NF ~ /^epoll_/) {
            top = top (top == "" ? "" : "; ") sprintf("%s %.3g", $NF, $4 / n)
        }
        $NF == "total" { total = $4; errors = NF == 6 ? $5 : 0 }
        END { printf "%d %d %d %s\n", n, total, errors, top }' "$out")
}

# idle_cpu: the server tree's CPU share (% of one CPU) over IDLE_SECONDS with no client.
idle_cpu() {
    sleep 0.2
    tree_stat "$SERVER_PID"
    local c0=$TREE_CPU t0 t1
    t0=$(date +%s%N)
    sleep "$IDLE_SECONDS"
    tree_stat "$SERVER_PID"
    t1=$(date +%s%N)
    IDLE_CPU=$(awk -v c=$((TREE_CPU - c0)) -v hz="$CLK_TCK" -v ns=$((t1 - t0)) \
        'BEGIN { printf "%.1f", c / hz / (ns / 1e9) * 100 }')
}

# check_serves PATH [SIZE]: does the server answer 200 (with SIZE bytes)?
check_serves() {
    CHECK_GOT=$(curl -s -o /dev/null -w '%{http_code} %{size_download}' --max-time 5 "http://127.0.0.1:$PORT$1")
    [[ $CHECK_GOT == "200 ${2:-${CHECK_GOT#* }}" ]]
}

# rows_for_all STATUS NOTE: one row per workload saying why nothing was measured.
rows_for_all() {
    for W in $WORKLOADS; do
        workload "$W"
        R=() SAMPLES=/dev/null
        csv_row "$1" "$2"
    done
}

# bench_server: every workload against the server just started as $CURRENT.
# The one loop of the harness: whatever a workload needs comes from its row.
bench_server() {
    if ! check_serves /; then
        note "$CURRENT: GET / answered '$CHECK_GOT' instead of 200; not measured"
        rows_for_all failed "GET / answered $CHECK_GOT"
        return
    fi
    # stage01 answers everything with its fixed page: fine for the 1 KiB
    # workloads (it is what the stage serves), not for the file workloads.
    [[ $CHECK_GOT == "200 $SIZE_index" ]] ||
        note "$CURRENT answers / with ${CHECK_GOT#* } bytes (its own page), not the 1 KiB index.html"
    # Warm up: page cache, the server's caches, the first forks.
    if ((QUICK)); then
        local i
        for ((i = 0; i < 3; i++)); do
            curl -s -o /dev/null --max-time 5 "http://127.0.0.1:$PORT/"
        done
    else
        timeout -k 2 10 wrk -t 1 -c 10 -d 1s --timeout 2s "http://127.0.0.1:$PORT/" > /dev/null 2>&1
    fi
    idle_cpu
    for W in $WORKLOADS; do
        workload "$W"
        R=() SAMPLES=/dev/null
        local want=
        [[ $W_PATH == /1m.bin ]] && want=$SIZE_big
        [[ $W_PATH == /64k.bin ]] && want=$SIZE_mid
        if ! check_serves "$W_PATH" "$want"; then
            csv_row skipped "GET $W_PATH answered $CHECK_GOT (does not serve files)"
            note "$CURRENT: '$W_LABEL' not measured: GET $W_PATH answered '$CHECK_GOT', not '200 $want'"
            continue
        fi
        if ! measure; then
            csv_row failed "$MEASURE_FAILED"
            note "$CURRENT $W: $MEASURE_FAILED"
            stop_server     # it died or hung: restart it for the next workload
            start_again || return
            continue
        fi
        ((W_STRACE)) && count_syscalls
        csv_row ok "${R[held_lost]:-}"
    done
}

# --- the HTTP stages --------------------------------------------------------------------------
model_of() {
    case $1 in
    stage01) echo "iterative: fixed reply" ;;
    stage02) echo "iterative file server" ;;
    stage03) echo "fork per connection" ;;
    stage04) echo "pre-forked pool" ;;
    stage05) echo "thread per connection" ;;
    stage06) echo "coroutines" ;;
    stage07) echo "nonblocking busy-poll" ;;
    stage08) echo "busy-poll + keep-alive" ;;
    stage09) echo "epoll level-triggered" ;;
    stage10) echo "epoll edge-triggered" ;;
    stage12) echo "C10K: epoll workers (-w $SERVER_NCPU)" ;;
    stage13) echo "io_uring workers (-w $SERVER_NCPU)" ;;
    *) echo "$1" ;;
    esac
}
# The stage options the bench passes.  stage12 and stage13: one worker per
# server CPU, like nginx, and an idle timeout (-t) far longer than a stage's
# whole measurement, so that it never closes the held clients mid-run.
STAGE_TIMEOUT=600
args_of() {
    case $1 in
    stage12 | stage13) echo "-w $SERVER_NCPU -t $STAGE_TIMEOUT" ;;
    esac
}

if [[ -n ${STAGES:-} ]]; then
    LIST=$STAGES
else
    LIST=$(for f in stages/stage[0-9][0-9]_*; do f=${f#stages/}; echo "${f%%_*}"; done | sort -u)
fi
START_TIME=$(date +%s)
LOAD_START=$(cut -d' ' -f1 /proc/loadavg)
echo "bench: mode $MODE, ${DURATION}s per workload ($WORKLOADS), $PINNING" >&2
# Copies of the binaries, taken now, are measured: a rebuild of bin/ during
# the run (make SAN=1 elsewhere) cannot swap programs under the harness.
mkdir -p "$WORK/bin"
snapshot() {            # snapshot NAME: copy bin/NAME, say if it is a sanitizer build
    cp "bin/$1" "$WORK/bin/$1" || return 1
    if LC_ALL=C grep -q -a -e __asan_init -e __ubsan_handle "$WORK/bin/$1"; then
        note "$1 is a sanitizer build (make SAN=1): its numbers are not comparable; run make, then the bench"
        SANITIZED+=("$1")
    fi
}
SANITIZED=()
for CURRENT in $LIST c10k_client; do
    [[ -x bin/$CURRENT ]] && snapshot "$CURRENT"
done
start_again() {
    local args
    read -r -a args <<< "$(args_of "$CURRENT")"
    start_stage "$WORK/bin/$CURRENT" "$CURRENT" "$ROOT" "${args[@]}"
}
MEASURED=()
for CURRENT in $LIST; do
    [[ $CURRENT == stage11 ]] && continue           # FTP: the side table below
    if [[ ! -x bin/$CURRENT ]]; then
        note "$CURRENT skipped: bin/$CURRENT is not built"
        continue
    fi
    [[ -x $WORK/bin/$CURRENT ]] || continue
    MODEL=$(model_of "$CURRENT")
    [[ " ${SANITIZED[*]} " == *" $CURRENT "* ]] && MODEL+=" [sanitizer build]"
    IDLE_CPU=
    if ! start_again; then
        # Exit status 2 at start is a stage saying it cannot run here (stage13:
        # io_uring not available): a result, not a harness failure.
        if [[ $START_RC == 2 ]]; then
            rows_for_all skipped "exited 2 at start: $(head -n 1 "$WORK/$CURRENT.log" | tr ',' ';')"
        else
            rows_for_all failed "did not start"
        fi
        continue
    fi
    bench_server
    stop_server
    MEASURED+=("$CURRENT")
done

# --- nginx, the reference ----------------------------------------------------------------------
NGINX_VERSION=
if [[ ${NGINX:-1} != 0 ]]; then
    if [[ -x $NGINX_BIN ]]; then
        NGINX_VERSION=$("$NGINX_BIN" -v 2>&1 | sed 's/.*nginx\///')
        CURRENT=nginx
        MODEL="nginx $NGINX_VERSION ($SERVER_NCPU worker)"
        IDLE_CPU=
        start_again() { start_nginx; }
        if start_nginx; then
            bench_server
            stop_server
        fi
    else
        note "nginx reference skipped: $NGINX_BIN not found (make bench-deps installs it)"
    fi
fi

# --- stage11, FTP: one big download, then 8 at once -------------------------------------------
FTP_ROWS=()
ftp_table() {
    local root=$WORK/ftproot port
    command -v curl >/dev/null || return
    mkdir -p "$root"
    # A real file (a sparse one would be measured filling the page cache with
    # zero pages), read once so that every download is served from the cache.
    head -c "$((FTP_MB * 1024 * 1024))" /dev/zero > "$root/big.bin" && cat "$root/big.bin" > /dev/null
    CURRENT=stage11
    [[ -x $WORK/bin/stage11 ]] || return
    start_stage "$WORK/bin/stage11" stage11 "$root" || return
    port=$PORT
    local url="ftp://127.0.0.1:$port/big.bin" want=$((FTP_MB * 1024 * 1024))
    local n t0 t1 ok i got pids
    for n in 1 8; do
        rm -f "$WORK"/ftp.*
        pids=()
        t0=$(date +%s.%N)
        for ((i = 0; i < n; i++)); do
            curl -s -o /dev/null --max-time 120 -w '%{size_download}\n' "$url" > "$WORK/ftp.$i" &
            pids+=($!)
        done
        wait "${pids[@]}"
        t1=$(date +%s.%N)
        ok=0
        for ((i = 0; i < n; i++)); do
            read -r got < "$WORK/ftp.$i"
            [[ ${got%.*} == "$want" ]] && ok=$((ok + 1))
        done
        FTP_ROWS+=("$(awk -v n="$n" -v ok="$ok" -v mb="$FTP_MB" -v t0="$t0" -v t1="$t1" 'BEGIN {
            printf "| %d × %d MiB | %.2f s | %.0f | %d of %d |", n, mb, t1 - t0,
                ok * mb * 1.048576 / (t1 - t0), ok, n }')")
        echo "bench: stage11 $n x ${FTP_MB} MiB: ${FTP_ROWS[-1]}" >&2
    done
    stop_server
}
if [[ ${FTP:-1} != 0 ]]; then
    if [[ -x bin/stage11 ]]; then
        [[ -z ${STAGES:-} || " $STAGES " == *" stage11 "* ]] && ftp_table
    else
        note "FTP side table skipped: bin/stage11 is not built"
    fi
fi
ELAPSED=$(($(date +%s) - START_TIME))

# --- outputs ----------------------------------------------------------------------------------
mkdir -p "$RESULTS"
STAMP=$(date -u +%Y%m%d-%H%M%S)
MD=$WORK/latest.md
[[ " $WORKLOADS " == *" cliff "* ]] &&
    CLIFF_GUIDE="; errors at c=$CLIFF_CONNS are a server that cannot hold that many clients, not a harness fault."
{
    echo "# serverlab bench, $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
    echo "- machine: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)," \
         "$(nproc --all) CPUs, Linux $(uname -r)"
    echo "- tools: $(wrk -v 2>&1 | head -n 1 | awk '{ print $1, $2 }')," \
         "${NGINX_VERSION:+nginx $NGINX_VERSION, }$(curl --version | head -n 1 | awk '{ print $1, $2 }')"
    echo "- pinning: $PINNING ($WRK_THREADS wrk thread(s)); $NETWORK"
    echo "- mode: $MODE; ${DURATION} s per workload, wrk --timeout ${WRK_TIMEOUT}s; whole run ${ELAPSED} s"
    echo "- files: generated; 1 KiB index.html, 64 KiB and 1 MiB random"
    [[ " $WORKLOADS " == *" slow "* || " $WORKLOADS " == *" crowd "* ]] &&
        echo "- held workloads: wrk as in k-a while bin/c10k_client -H holds slow (${SLOW_CONNS}) or crowd" \
             "(${CROWD_CONNS}) other connections, each with a request it never finishes (one more byte" \
             "every ${TRICKLE_MS} ms)"
    ((SYSCALLS)) &&
        echo "- system calls: strace -f -c on the server tree, ${SYS_REQUESTS} requests per 1 KiB workload counted" \
             "and ${SYS_BIG_REQUESTS} per 1 MiB one (wrk -t 1), divided by the requests; idle CPU: ${IDLE_SECONDS} s with no client"
    echo "- machine load (1-minute average) at start / end: $LOAD_START / $(cut -d' ' -f1 /proc/loadavg)" \
         "(above about 1, other work shared the CPUs and the numbers are noisy)"
    if ((${#SANITIZED[@]})); then
        echo "- build: **sanitizer builds measured: ${SANITIZED[*]}** (not comparable; run make, then the bench)"
    else
        echo "- build: plain (make), stage12 and stage13 with -w $SERVER_NCPU -t $STAGE_TIMEOUT, other stages with their defaults"
    fi
    echo
    echo "<!-- bench table begin -->"
    awk -F, -f bench/table.awk "$CSV"
    echo "<!-- bench table end -->"
    echo
    for n in "${NOTES[@]}"; do echo "- note: $n"; done
    [[ " ${MEASURED[*]} " == *" stage12 "* ]] &&
        echo "- note: stage12 and stage13 run with -t $STAGE_TIMEOUT, so that their idle timeout cannot close" \
             "the held clients during a run; stage12's TCP_DEFER_ACCEPT does not keep them from accept():" \
             "they send their first bytes at once, as a slow client on a far network would."
    awk -F, -f bench/table.awk -v part=syscalls "$CSV"
    echo
    if ((${#FTP_ROWS[@]})); then
        echo "stage11 (fork-per-session FTP), curl downloads of a ${FTP_MB} MiB file:"
        echo
        echo "| downloads | wall time | MB/s total | complete |"
        echo "|---|---|---|---|"
        printf '%s\n' "${FTP_ROWS[@]}"
        echo
    fi
    echo "Reading: higher req/s and MB/s are better, lower latency, CPU per request," \
         "memory and errors are better; p99 is what the unluckiest 1 in 100 requests waits${CLIFF_GUIDE:-.}" \
         "Under slow and crowd, 0 req/s with timeouts is a server stalled by the held clients," \
         "and 'held at the end' counts those it had not closed or answered."
} > "$MD"
awk -F, -f bench/svg.awk -v title="serverlab: requests/s per stage ($MODE run, $(date -u +%Y-%m-%d))" \
    -v machine="$(sed -n 's/^- machine: //p' "$MD"); $PINNING; load $LOAD_START" "$CSV" > "$WORK/latest.svg"

for ext in md csv svg; do
    cp "$WORK/latest.$ext" "$RESULTS/latest.$ext"
    cp "$WORK/latest.$ext" "$RESULTS/$STAMP-$MODE.$ext"
done
echo "bench: wrote $RESULTS/latest.md, latest.csv, latest.svg (and $STAMP-$MODE.*) in ${ELAPSED} s" >&2
cat "$RESULTS/latest.md"
