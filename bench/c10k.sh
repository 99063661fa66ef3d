#!/usr/bin/env bash
# bench/c10k.sh — `make c10k`: how many connections does stage12 hold, and
# what does each one cost?
#
#   make c10k                          10 000 connections (the default)
#   make c10k CONNS=100000             a hundred thousand, on the same machine
#   C10K_CONNS=2000 C10K_SECONDS=5 make c10k     the small run CI makes
#
# The per-process descriptor limit (`ulimit -Hn`) caps every process, server
# and client alike, and one (source address, server address, server port)
# can use each ephemeral port once.  So the harness splits the work:
#   - stage12 gets as many workers (-w) as CONNS needs under that limit (never
#     fewer than the CPUs), each with its own SO_REUSEPORT listener;
#   - the client, bin/c10k_client, runs as several processes, each connecting
#     from its own source address (127.0.0.2, 127.0.0.3, ...: all of 127/8 is
#     loopback), so no 4-tuple needs more than the ephemeral range.
# Then, step by step:
#   1. snapshot the machine (server RSS, /proc/net/sockstat, /proc/meminfo);
#   2. all clients open their connections at once, one request on each (time
#      to open them all: connections per second);
#   3. snapshot again while they are held idle; the server's CPU time over
#      C10K_IDLE seconds of idleness;
#   4. SIGUSR1: every client starts its share of C10K_RATE sampled requests a
#      second, evenly spaced, for C10K_SECONDS; their latencies are merged.
# Prints the cost of a connection, writes bench/results/c10k.csv and c10k.md
# (and timestamped copies), and ends with one line:
#   c10k: held=N failures=F user_bytes_per_conn=B kernel_bytes_per_conn=K p99_ms=L
# Exit status 0 only when stage12 held every connection with no failure; when
# a limit stops it, the harness says which one and at how many connections.
#
#   C10K_CONNS=10000 C10K_SECONDS=20 C10K_RATE=1000 C10K_IDLE=5   the defaults
#   C10K_WORKERS=N    stage12's -w (an error when too few for C10K_CONNS)
#   C10K_NGINX=1      also the same test against nginx, the same worker count
# Nothing on the machine is changed: sysctls are read and reported, not set.
set -u
cd "$(dirname "$0")/.." || exit 2

CONNS=${C10K_CONNS:-10000}
HOLD=${C10K_SECONDS:-20}
RATE=${C10K_RATE:-${C10K_SAMPLE:-1000}}
IDLE=${C10K_IDLE:-5}
SERVER_RESERVE=320 # stage12 keeps FILECACHE_SLOTS (256) + 64 descriptors per worker for itself
CLIENT_RESERVE=100
IDLE_TIMEOUT=600   # the servers' keep-alive timeout: longer than any run
RESULTS=bench/results
WORK=$(mktemp -d /tmp/c10k.XXXXXX)
SERVER_PID=
CLIENT_PIDS=()
trap 'rm -rf "$WORK"' EXIT
T_START=$SECONDS

for bin in bin/stage12 bin/c10k_client; do
    [[ -x $bin ]] || { echo "c10k: $bin is missing: run make first" >&2; exit 2; }
done
[[ $CONNS =~ ^[1-9][0-9]*$ && $HOLD =~ ^[0-9]+$ && $RATE =~ ^[0-9]+$ && $IDLE =~ ^[0-9]+$ ]] ||
    { echo "c10k: C10K_CONNS, C10K_SECONDS, C10K_RATE and C10K_IDLE must be numbers" >&2; exit 2; }

sysctl_get() { tr '\t' ' ' < "/proc/sys/${1//.//}" 2>/dev/null; }
div_up() { echo $((($1 + $2 - 1) / $2)); }

# --- the limits, and the split they impose ----------------------------------------------------
ulimit -n "$(ulimit -Hn)"
FD_LIMIT=$(ulimit -n)
NCPU=$(nproc)
read -r PORT_LO PORT_HI <<< "$(sysctl_get net.ipv4.ip_local_port_range)"
PORTS=$((PORT_HI - PORT_LO + 1))
if ((FD_LIMIT < 1000 || PORTS < 1000)); then
    echo "c10k: fd limit $FD_LIMIT or ephemeral range $PORT_LO-$PORT_HI too small for this harness (1000 each at least)" >&2
    exit 2
fi

# Server: a worker holds at most FD_LIMIT - SERVER_RESERVE connections, and
# SO_REUSEPORT spreads them by a hash, not evenly: plan for 10 % more.
PER_WORKER=$((FD_LIMIT - SERVER_RESERVE))
NEED_WORKERS=$(div_up $((CONNS + CONNS / 10)) "$PER_WORKER")
WORKERS=${C10K_WORKERS:-$((NEED_WORKERS > NCPU ? NEED_WORKERS : NCPU))}
if ((WORKERS < NEED_WORKERS)); then
    echo "c10k: $CONNS connections need stage12 -w $NEED_WORKERS (at most $PER_WORKER per worker under the" \
         "fd limit $FD_LIMIT, with 10 % for uneven hashing); C10K_WORKERS=$WORKERS is too few" >&2
    exit 2
fi
if ((WORKERS > 64)); then
    echo "c10k: $CONNS connections need stage12 -w $WORKERS, above its 64 workers: raise the fd limit" \
         "(ulimit -Hn, now $FD_LIMIT) so each worker holds more" >&2
    exit 2
fi

# Client: one process per source address; as many as the fd limit needs, and
# as the ephemeral range needs.  connect() tries the ports of one parity
# first (bind() takes the other), so past half the range each connect()
# walks all of that half before it finds a port: 10 000 connections of one
# 4-tuple open in 0.4 s here, 16 000 in 6 s.  So at most nine tenths of half
# the range per source address.
PER_CLIENT_FDS=$((FD_LIMIT - CLIENT_RESERVE))
PER_TUPLE=$((PORTS / 2 * 9 / 10))
BY_FDS=$(div_up "$CONNS" "$PER_CLIENT_FDS")
BY_PORTS=$(div_up "$CONNS" "$PER_TUPLE")
NCLIENTS=$((BY_FDS > BY_PORTS ? BY_FDS : BY_PORTS))
((NCLIENTS >= 2 || CONNS < 2)) || NCLIENTS=2 # at least two: every run merges clients and uses two addresses
if ((NCLIENTS > 250)); then
    echo "c10k: $CONNS connections need $NCLIENTS client processes; this harness uses at most 250" >&2
    exit 2
fi
source_addr() { echo "127.0.0.$(($1 + 2))"; } # client i connects from 127.0.0.(i+2)

# --- what else could stop it, read before starting --------------------------------------------
# Both ends of every connection are on this machine: 2 x CONNS sockets.
read -r FILES_USED _ FILE_MAX < /proc/sys/fs/file-nr
if ((FILE_MAX - FILES_USED < 2 * CONNS + 1000)); then
    echo "c10k: fs.file-max ($FILE_MAX, $FILES_USED in use) would stop this run at about" \
         "$(((FILE_MAX - FILES_USED - 1000) / 2)) connections (2 descriptors each here): raise fs.file-max" >&2
    exit 1
fi
meminfo() { awk -v k="$1:" '$1 == k { print $2 }' /proc/meminfo; }
NEED_KIB=$((CONNS * 16)) # measured: ~10 KiB per connection, both ends, kernel and user; 16 to be safe
if (($(meminfo MemAvailable) < NEED_KIB)); then
    echo "c10k: memory would stop this run: MemAvailable $(($(meminfo MemAvailable) / 1024)) MiB," \
         "about $((NEED_KIB / 1024)) MiB needed; it would hold about $(($(meminfo MemAvailable) / 16)) connections" >&2
    exit 1
fi
CONNTRACK=$(cat /proc/sys/net/netfilter/nf_conntrack_count 2>/dev/null || echo none)
# A firewall that tracks connections (count above 0) adds one entry per connection.
if [[ $CONNTRACK =~ ^[1-9] ]]; then
    CT_MAX=$(cat /proc/sys/net/netfilter/nf_conntrack_max)
    if ((CT_MAX - CONNTRACK < CONNS)); then
        echo "c10k: connection tracking would stop this run at about $((CT_MAX - CONNTRACK)) connections:" \
             "nf_conntrack_max $CT_MAX, $CONNTRACK in use; raise net.netfilter.nf_conntrack_max" >&2
        exit 1
    fi
fi

echo "c10k: $CONNS connections held ${HOLD}s, $RATE sampled requests/s (steady, spread over all), ${IDLE}s idle CPU window"
echo "c10k: limits: fd limit $FD_LIMIT per process (hard; fs.nr_open $(sysctl_get fs.nr_open)), fs.file-max $FILE_MAX," \
     "ephemeral ports $PORT_LO-$PORT_HI ($PORTS per 4-tuple; we use at most $PER_TUPLE per source address), somaxconn $(sysctl_get net.core.somaxconn)," \
     "tcp_max_syn_backlog $(sysctl_get net.ipv4.tcp_max_syn_backlog), tcp_mem $(sysctl_get net.ipv4.tcp_mem) pages," \
     "nf_conntrack_count $CONNTRACK"
echo "c10k: split: stage12 -w $WORKERS (needs $NEED_WORKERS: at most $PER_WORKER connections per worker process);" \
     "$NCLIENTS client processes (needed for descriptors $BY_FDS, for ports $BY_PORTS; at least 2) from $(source_addr 0)" \
     "to $(source_addr $((NCLIENTS - 1))), about $(div_up "$CONNS" "$NCLIENTS") connections each"

mkdir -p "$WORK/root"
cp html/index.html "$WORK/root/index.html" 2>/dev/null ||
    printf '<!DOCTYPE html><html><body>c10k</body></html>\n' > "$WORK/root/index.html"
chmod -R a+rX "$WORK"

# --- measuring ------------------------------------------------------------------------------------
tree_pids() { echo "$1" $(cat /proc/"$1"/task/*/children 2>/dev/null); }
# Resident memory (KiB) of processes.
rss_of() { ps -o rss= $(printf -- '-p %s ' "$@") 2>/dev/null | awk '{ s += $1 } END { print s + 0 }'; }
# CPU ticks (user + system) of processes.
ticks_of() {
    local p
    for p in "$@"; do sed 's/.*) //' /proc/"$p"/stat 2>/dev/null; done | awk '{ s += $12 + $13 } END { print s + 0 }'
}
sockstat_tcp() { awk -v k="$1" '$1 == "TCP:" { for (i = 2; i < NF; i++) if ($i == k) print $(i + 1) }' /proc/net/sockstat; }
netstat_get() { # a TcpExt counter from /proc/net/netstat
    awk -v k="$1" '$1 == "TcpExt:" { if (!n) { for (i = 2; i <= NF; i++) if ($i == k) c = i; n = 1 } else print $c }' /proc/net/netstat
}
snapshot() { # snapshot NAME: the figures a connection changes, into S[NAME_*]
    S[$1_server_rss]=$(rss_of $(tree_pids "$SERVER_PID"))
    S[$1_client_rss]=$( ((${#CLIENT_PIDS[@]})) && rss_of "${CLIENT_PIDS[@]}" || echo 0)
    S[$1_tcp_inuse]=$(sockstat_tcp inuse)
    S[$1_tcp_mem]=$(sockstat_tcp mem)
    S[$1_avail]=$(meminfo MemAvailable)
    S[$1_slab]=$(meminfo Slab)
    S[$1_overflows]=$(netstat_get ListenOverflows)
    S[$1_pressure]=$(netstat_get TCPMemoryPressures)
}
declare -A S=()
PAGE=$(getconf PAGESIZE)
HZ=$(getconf CLK_TCK)

stop_clients() {
    local p
    for p in "${CLIENT_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for p in "${CLIENT_PIDS[@]}"; do wait "$p" 2>/dev/null; done
    CLIENT_PIDS=()
}
stop_server() {
    [[ -n $SERVER_PID ]] || return 0
    kill -TERM "$SERVER_PID" 2>/dev/null
    local i
    for ((i = 0; i < 150; i++)); do
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$SERVER_PID" 2>/dev/null
    wait "$SERVER_PID" 2>/dev/null
    SERVER_PID=
}

trap 'stop_clients; stop_server; rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM # then the EXIT trap stops what we started

# The name of the limit behind a client's first error (strerror text).
limit_named_by() {
    case $1 in
    *"Cannot assign requested address"*) echo "ephemeral ports of one (source, server, port) 4-tuple: net.ipv4.ip_local_port_range" ;;
    *"Too many open files in system"*) echo "the system's open files: fs.file-max" ;;
    *"Too many open files"*) echo "the client's per-process descriptor limit (ulimit -n)" ;;
    *"No buffer space"* | *"Cannot allocate memory"*) echo "kernel memory (MemAvailable, net.ipv4.tcp_mem)" ;;
    *"timed out"* | *"refused"*) echo "the server's accept queue (net.core.somaxconn, tcp_max_syn_backlog) or a server no longer accepting" ;;
    *) echo "$1" ;;
    esac
}

# run_one NAME PORT: the clients against a server already listening on PORT.
# Sets R[...] to the figures and prints them; returns 0 when all were held.
declare -A R=()
run_one() {
    local name=$1 port=$2 i n share rate_share
    R=([server]=$name)
    rm -f "$WORK"/client.* "$WORK"/lat.*
    sleep 0.5
    snapshot base
    CLIENT_PIDS=()
    for ((i = 0; i < NCLIENTS; i++)); do
        share=$((CONNS / NCLIENTS + (i < CONNS % NCLIENTS)))
        rate_share=$((RATE / NCLIENTS + (i < RATE % NCLIENTS)))
        bin/c10k_client -p "$port" -b "$(source_addr "$i")" -n "$share" -s "$HOLD" -k "$rate_share" \
            -g -L "$WORK/lat.$i" > "$WORK/client.$i" 2>&1 &
        CLIENT_PIDS+=($!)
    done
    # The connect phase: each client gives up after 60 s; we wait at most 90.
    local ready
    for ((n = 0; n < 900; n++)); do
        ready=0
        for ((i = 0; i < NCLIENTS; i++)); do
            if grep -q '^holding' "$WORK/client.$i" 2>/dev/null || ! kill -0 "${CLIENT_PIDS[$i]}" 2>/dev/null; then
                ready=$((ready + 1))
            fi
        done
        ((ready == NCLIENTS)) && break
        sleep 0.1
    done
    # They started together: the slowest one's connect phase is the time to open them all.
    local opened
    opened=$(cat "$WORK"/client.* | sed -n 's/^holding \([0-9]*\) .*/\1/p' | awk '{ s += $1 } END { print s + 0 }')
    R[open_s]=$(cat "$WORK"/client.* | sed -n 's/^holding .*(opened in \([0-9.]*\) s).*/\1/p' |
        awk '$1 > m { m = $1 } END { printf "%.2f", m }')
    R[conns_per_s]=$(awk -v n="$opened" -v t="${R[open_s]}" 'BEGIN { printf "%.0f", (t > 0 ? n / t : 0) }')
    sleep 1
    snapshot held
    local workers_fds=() p
    for p in $(cat /proc/"$SERVER_PID"/task/*/children 2>/dev/null); do
        workers_fds+=("$(ls /proc/"$p"/fd 2>/dev/null | wc -l)")
    done
    # Idle: every connection open, none sending.
    local pids c0 c1
    pids=$(tree_pids "$SERVER_PID")
    c0=$(ticks_of $pids)
    sleep "$IDLE"
    c1=$(ticks_of $pids)
    R[idle_cpu_pct]=$(awk -v d=$((c1 - c0)) -v hz="$HZ" -v s="$IDLE" 'BEGIN { printf "%.2f", (s > 0 ? 100 * d / hz / s : 0) }')
    # The sampled requests: all clients at once.
    for p in "${CLIENT_PIDS[@]}"; do kill -USR1 "$p" 2>/dev/null; done
    local status=0
    for p in "${CLIENT_PIDS[@]}"; do wait "$p" || status=1; done
    CLIENT_PIDS=()

    R[held]=$(cat "$WORK"/client.* | sed -n 's/^connections held: \([0-9]*\).*/\1/p' | awk '{ s += $1 } END { print s + 0 }')
    R[failures]=$(cat "$WORK"/client.* | sed -n 's/^failures: \([0-9]*\).*/\1/p' | awk '{ s += $1 } END { print s + 0 }')
    if ((R[held] < CONNS && R[failures] == 0)); then
        R[failures]=$((CONNS - R[held])) # a client that died before reporting
    fi
    # Latencies of all clients, merged: p50, p99, max in ms.
    local lat
    lat=$(cat "$WORK"/lat.* 2>/dev/null | sort -n | awk '
        { v[NR] = $1 } END { if (NR == 0) { print "0 n/a n/a n/a"; exit }
            printf "%d %.2f %.2f %.2f\n", NR, v[int(NR * 0.50) + 1] / 1000, v[int(NR * 0.99) + 1] / 1000, v[NR] / 1000 }')
    read -r 'R[sampled]' 'R[p50_ms]' 'R[p99_ms]' 'R[max_ms]' <<< "$lat"
    R[rate_per_s]=$(awk -v n="${R[sampled]}" -v s="$HOLD" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }')

    # The cost per connection, from the two snapshots.
    local h=$((R[held] > 0 ? R[held] : 1))
    R[server_rss_idle_kib]=${S[base_server_rss]}
    R[server_rss_held_kib]=${S[held_server_rss]}
    R[user_bytes_per_conn]=$(((S[held_server_rss] - S[base_server_rss]) * 1024 / h))
    R[client_user_bytes_per_conn]=$((S[held_client_rss] * 1024 / h))
    R[tcp_sockets]=$((S[held_tcp_inuse] - S[base_tcp_inuse]))
    R[tcp_mem_pages]=$((S[held_tcp_mem] - S[base_tcp_mem]))
    R[slab_kib]=$((S[held_slab] - S[base_slab]))
    R[memavail_kib]=$((S[base_avail] - S[held_avail]))
    R[kernel_bytes_per_conn]=$(((R[slab_kib] * 1024 + R[tcp_mem_pages] * PAGE) / h))
    R[memavail_bytes_per_conn]=$((R[memavail_kib] * 1024 / h))
    R[listen_overflows]=$((S[held_overflows] - S[base_overflows]))
    R[memory_pressures]=$((S[held_pressure] - S[base_pressure]))

    # Which limit stopped it, if one did.
    R[limit]=
    if ((R[held] < CONNS || R[failures] > 0)); then
        local first
        first=$(sed -n 's/^failures: .*first: \([^)]*\)).*/\1/p' "$WORK"/client.* | head -n 1)
        if [[ -n $first ]]; then
            R[limit]=$(limit_named_by "$first")
        elif grep -q 'closed by server' "$WORK"/client.*; then
            R[limit]="the server closed connections: its cap (-c) or its per-worker descriptor limit ($PER_WORKER)"
        elif ((R[listen_overflows] > 0)); then
            R[limit]="the accept queue overflowed ${R[listen_overflows]} times (net.core.somaxconn)"
        elif ((R[memory_pressures] > 0)); then
            R[limit]="TCP memory pressure (net.ipv4.tcp_mem)"
        elif grep -q '(timeout' "$WORK"/client.*; then
            R[limit]="time: connections still unanswered when a client's 60 s connect phase ended (${R[conns_per_s]} connections/s)"
        else
            R[limit]="unknown: see the client lines above"
        fi
    fi

    echo "== $name"
    echo "connections held:          ${R[held]} of $CONNS, failures ${R[failures]}"
    echo "time to open them all:     ${R[open_s]} s (${R[conns_per_s]} connections/s, $NCLIENTS clients at once, one request each)"
    echo "server RSS:                $((S[base_server_rss] / 1024)) MiB idle, $((S[held_server_rss] / 1024)) MiB holding them:" \
         "${R[user_bytes_per_conn]} bytes per connection (master + workers; worker descriptors: ${workers_fds[*]})"
    echo "client RSS:                ${R[client_user_bytes_per_conn]} bytes per connection (the load generator, for scale)"
    echo "kernel, both ends counted: TCP sockets +${R[tcp_sockets]} (sockstat inuse), TCP mem $(printf "%+d" "${R[tcp_mem_pages]}") pages," \
         "Slab $(printf "%+d" $((R[slab_kib] / 1024))) MiB, MemAvailable $(printf "%+d" $((-R[memavail_kib] / 1024))) MiB"
    echo "kernel per connection:     ${R[kernel_bytes_per_conn]} bytes (Slab + TCP mem pages; client and server socket together," \
         "so $((R[kernel_bytes_per_conn] / 2)) per socket); MemAvailable drop: ${R[memavail_bytes_per_conn]} bytes (everything, both sides)"
    echo "server CPU while idle:     ${R[idle_cpu_pct]} % of one CPU over ${IDLE} s (one clock tick is" \
         "$(awk -v hz="$HZ" -v s="$IDLE" 'BEGIN { printf "%.2f", (s > 0 ? 100 / hz / s : 0) }') %)"
    echo "sampled requests:          ${R[sampled]} (${R[rate_per_s]}/s): p50 ${R[p50_ms]} ms, p99 ${R[p99_ms]} ms, max ${R[max_ms]} ms"
    if [[ -n ${R[limit]} ]]; then
        echo "STOPPED at ${R[held]} of $CONNS connections by: ${R[limit]}"
        for ((i = 0; i < NCLIENTS; i++)); do
            sed "s/^/  client $(source_addr "$i"): /" "$WORK/client.$i"
        done
    fi
    [[ -z ${R[limit]} && $status == 0 ]]
}

# --- results: CSV and Markdown ------------------------------------------------------------------
COLUMNS_CSV="server conns held failures workers clients open_s conns_per_s server_rss_idle_kib server_rss_held_kib
user_bytes_per_conn client_user_bytes_per_conn tcp_sockets tcp_mem_pages slab_kib memavail_kib kernel_bytes_per_conn
memavail_bytes_per_conn idle_cpu_pct sampled rate_per_s p50_ms p99_ms max_ms limit"
csv_row() {
    local c sep=
    R[conns]=$CONNS R[workers]=$WORKERS R[clients]=$NCLIENTS
    for c in $COLUMNS_CSV; do
        printf '%s"%s"' "$sep" "${R[$c]//\"/\'}"
        sep=,
    done
    echo
}
md_row() {
    echo "| ${R[server]} | ${R[held]} / $CONNS | ${R[failures]} | ${R[open_s]} s (${R[conns_per_s]}/s) |" \
         "${R[user_bytes_per_conn]} | ${R[kernel_bytes_per_conn]} | ${R[memavail_bytes_per_conn]} | ${R[idle_cpu_pct]} % |" \
         "${R[p50_ms]} / ${R[p99_ms]} / ${R[max_ms]} |"
}
mkdir -p "$RESULTS"
STAMP=$(date -u +%Y%m%d-%H%M%S)
echo "$COLUMNS_CSV" | tr '\n' ' ' | sed 's/ *$//; s/ /,/g' > "$WORK/c10k.csv"
echo >> "$WORK/c10k.csv"
{
    echo "# make c10k: $CONNS connections, $(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -r), $NCPU CPUs," \
         "$(($(meminfo MemTotal) / 1048576)) GiB, load average $(cut -d' ' -f1-3 /proc/loadavg) at the start"
    echo
    echo "$WORKERS server workers (at most $PER_WORKER connections each under the fd limit $FD_LIMIT);" \
         "$NCLIENTS client processes from $(source_addr 0)-$(source_addr $((NCLIENTS - 1))) (ephemeral range: $PORTS ports per 4-tuple);" \
         "$RATE sampled requests/s for ${HOLD} s. Both ends of every connection are on this machine: kernel bytes count a client and a server socket."
    echo
    echo "| server | held | failures | time to open | user bytes/conn (server) | kernel bytes/conn (both ends) | MemAvailable drop/conn (all) | server CPU idle | p50 / p99 / max ms |"
    echo "|---|---|---|---|---|---|---|---|---|"
} > "$WORK/c10k.md"

# --- stage12 -----------------------------------------------------------------------------------
bin/stage12 -p 0 -b 127.0.0.1 -w "$WORKERS" -t "$IDLE_TIMEOUT" -r "$WORK/root" 2> "$WORK/stage12.log" &
SERVER_PID=$!
port=
for ((i = 0; i < 100; i++)); do
    port=$(sed -n 's|.* listening on http://[^ ]*:\([0-9]*\)/.*|\1|p' "$WORK/stage12.log")
    [[ -n $port ]] && break
    sleep 0.1
done
[[ -n $port ]] || { echo "c10k: stage12 did not start:" >&2; cat "$WORK/stage12.log" >&2; exit 2; }
sed -n 's/^stage12: /stage12: /p' "$WORK/stage12.log" | head -n 1
run_one stage12 "$port"
result=$?
declare -A MAIN=()
for k in "${!R[@]}"; do MAIN[$k]=${R[$k]}; done
csv_row >> "$WORK/c10k.csv"
md_row >> "$WORK/c10k.md"
grep -v 'listening on\|^stage12: fd limit' "$WORK/stage12.log" | head -n 5 | sed 's/^/  server: /'
stop_server

# --- nginx, the same way, on request ---------------------------------------------------------------
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
if [[ ${C10K_NGINX:-0} == 1 && ! -x $NGINX ]]; then
    echo "c10k: C10K_NGINX=1 but nginx is not installed (make bench-deps)"
elif [[ ${C10K_NGINX:-0} == 1 ]]; then
    mkdir -p "$WORK/nginx"
    nport=$((20000 + RANDOM % 12000))
    # The same shape as stage12: WORKERS processes, a reuseport listener
    # each, every worker allowed the fd limit.
    cat > "$WORK/nginx/nginx.conf" <<CONF
worker_processes $WORKERS;
worker_rlimit_nofile $FD_LIMIT;
daemon off;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log;
events { worker_connections $((FD_LIMIT - CLIENT_RESERVE)); }
http {
    access_log off;
    sendfile on;
    keepalive_timeout ${IDLE_TIMEOUT}s;
    keepalive_requests 1000000;
    client_body_temp_path $WORK/nginx/body;
    proxy_temp_path $WORK/nginx/proxy;
    fastcgi_temp_path $WORK/nginx/fastcgi;
    uwsgi_temp_path $WORK/nginx/uwsgi;
    scgi_temp_path $WORK/nginx/scgi;
    server { listen 127.0.0.1:$nport reuseport; root $WORK/root; }
}
CONF
    echo "nginx: $WORKERS workers, worker_connections $((FD_LIMIT - CLIENT_RESERVE)), worker_rlimit_nofile $FD_LIMIT, listen reuseport"
    "$NGINX" -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx" 2> "$WORK/nginx/stderr" &
    SERVER_PID=$!
    sleep 0.5
    if kill -0 "$SERVER_PID" 2>/dev/null; then
        run_one "nginx" "$nport"
        csv_row >> "$WORK/c10k.csv"
        md_row >> "$WORK/c10k.md"
        echo "c10k nginx: held=${R[held]} failures=${R[failures]} user_bytes_per_conn=${R[user_bytes_per_conn]}" \
             "kernel_bytes_per_conn=${R[kernel_bytes_per_conn]} p99_ms=${R[p99_ms]}"
    else
        echo "c10k: nginx did not start:"; cat "$WORK/nginx/stderr" "$WORK/nginx/error.log" 2>/dev/null
    fi
    stop_server
fi

{
    echo
    echo "user bytes: growth of the server's resident memory (master + workers) while holding, per connection."
    echo "kernel bytes: growth of /proc/meminfo Slab plus /proc/net/sockstat TCP mem pages, per connection: a client and a server socket (loopback: both ends here)."
    echo "MemAvailable drop: everything, both ends, the clients' own memory included. The machine may be shared: deltas include others' activity."
    echo
    echo "Wall time of the whole run: $((SECONDS - T_START)) s."
} >> "$WORK/c10k.md"
cp "$WORK/c10k.csv" "$RESULTS/c10k.csv" && cp "$WORK/c10k.md" "$RESULTS/c10k.md"
cp "$WORK/c10k.csv" "$RESULTS/c10k-$STAMP.csv" && cp "$WORK/c10k.md" "$RESULTS/c10k-$STAMP.md"
echo "c10k: results in $RESULTS/c10k.md and $RESULTS/c10k.csv (wall time $((SECONDS - T_START)) s)"
echo "c10k: held=${MAIN[held]} failures=${MAIN[failures]} user_bytes_per_conn=${MAIN[user_bytes_per_conn]}" \
     "kernel_bytes_per_conn=${MAIN[kernel_bytes_per_conn]} p99_ms=${MAIN[p99_ms]}"
exit "$result"
