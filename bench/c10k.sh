#!/usr/bin/env bash
# bench/c10k.sh — `make c10k`: does stage12 hold ten thousand connections?
#
# Starts bin/$STAGE (default stage12), opens C10K_CONNS keep-alive connections to it with
# bin/c10k_client (each makes one request, then they are held open for
# C10K_SECONDS while C10K_SAMPLE of them make a request every second), and
# prints connections held, failures, the server's resident memory per
# connection and the sampled p99 latency.  Exit status non-zero when any
# connection failed.
#
#   C10K_CONNS=10000 C10K_SECONDS=20 C10K_SAMPLE=100   the defaults
#   STAGE=stage13     another stage (default stage12)
#   C10K_NGINX=1      also run the same test against nginx, for comparison
set -u
cd "$(dirname "$0")/.." || exit 2

CONNS=${C10K_CONNS:-10000}
HOLD=${C10K_SECONDS:-20}
SAMPLE=${C10K_SAMPLE:-100}
STAGE=${STAGE:-stage12}
WORK=$(mktemp -d /tmp/c10k.XXXXXX)
SERVER_PID=
trap 'stop_server; rm -rf "$WORK"' EXIT

for bin in bin/$STAGE bin/c10k_client; do
    [[ -x $bin ]] || { echo "c10k: $bin is missing: run make first" >&2; exit 2; }
done

# --- our own descriptor limit -------------------------------------------------
# The client needs one descriptor per connection, like the server.  The soft
# limit may be raised up to the hard limit by anyone; root may raise the hard
# limit too (up to fs.nr_open).
need=$((CONNS + 100))
if (($(ulimit -Hn) < need)); then
    ulimit -Hn "$need" 2>/dev/null ||
        { echo "c10k: hard fd limit $(ulimit -Hn) < $need; raise it (as root: ulimit -Hn $need, or nofile in /etc/security/limits.conf)" >&2; exit 2; }
fi
ulimit -n "$(ulimit -Hn)"
echo "c10k: $CONNS connections held ${HOLD}s, $SAMPLE sampled requests per second; fd limit $(ulimit -n)," \
     "ephemeral ports $(tr '\t' '-' < /proc/sys/net/ipv4/ip_local_port_range), somaxconn $(cat /proc/sys/net/core/somaxconn)"

mkdir -p "$WORK/root"
cp html/index.html "$WORK/root/index.html" 2>/dev/null ||
    printf '<!DOCTYPE html><html><body>c10k</body></html>\n' > "$WORK/root/index.html"
chmod -R a+rX "$WORK"

# Resident memory (KiB) of a process and its children: master + workers.
tree_rss() {
    local pids
    pids=$(cat /proc/"$1"/task/*/children 2>/dev/null)
    ps -o rss= -p "$1" ${pids:+$(printf -- '-p %s ' $pids)} 2>/dev/null | awk '{ s += $1 } END { print s + 0 }'
}

stop_server() {
    [[ -n $SERVER_PID ]] || return 0
    kill -TERM "$SERVER_PID" 2>/dev/null
    local i
    for ((i = 0; i < 100; i++)); do
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$SERVER_PID" 2>/dev/null
    wait "$SERVER_PID" 2>/dev/null
    SERVER_PID=
}

# run_one NAME PORT: the client against a server already listening on PORT.
run_one() {
    local name=$1 port=$2 out="$WORK/$1.client" base held_rss status i
    sleep 0.5
    base=$(tree_rss "$SERVER_PID")
    bin/c10k_client -p "$port" -n "$CONNS" -s "$HOLD" -k "$SAMPLE" > "$out" 2>&1 &
    local client=$!
    for ((i = 0; i < 900; i++)); do       # the connect phase: at most 90 s
        grep -q '^holding' "$out" 2>/dev/null && break
        kill -0 "$client" 2>/dev/null || break
        sleep 0.1
    done
    sleep 1
    held_rss=$(tree_rss "$SERVER_PID")
    wait "$client"
    status=$?
    local held fails p99
    held=$(sed -n 's/^connections held: \([0-9]*\).*/\1/p' "$out")
    fails=$(sed -n 's/^failures: \(.*\)/\1/p' "$out")
    p99=$(sed -n 's/.*p99 \([0-9.]* ms\).*/\1/p' "$out")
    echo "== $name"
    echo "connections held:         ${held:-0} of $CONNS"
    echo "failures:                 ${fails:-unknown}"
    awk -v b="$base" -v h="$held_rss" -v n="${held:-0}" 'BEGIN {
        printf "server RSS:               %.1f MiB idle, %.1f MiB holding them\n", b / 1024, h / 1024
        if (n > 0) printf "server RSS per connection: %.2f KiB\n", (h - b) / n }'
    echo "sampled p99 latency:      ${p99:-n/a} ($(sed -n 's/^sampled requests: \([0-9]*\).*/\1/p' "$out") requests)"
    [[ $status == 0 ]] || sed 's/^/  client: /' "$out"
    return "$status"
}

# --- the stage ------------------------------------------------------------------------
bin/$STAGE -p 0 -b 127.0.0.1 -r "$WORK/root" 2> "$WORK/stage.log" &
SERVER_PID=$!
port=
for ((i = 0; i < 100; i++)); do
    port=$(sed -n 's|.* listening on http://[^ ]*:\([0-9]*\)/.*|\1|p' "$WORK/stage.log")
    [[ -n $port ]] && break
    sleep 0.1
done
[[ -n $port ]] || { echo "c10k: $STAGE did not start:" >&2; cat "$WORK/stage.log" >&2; exit 2; }
sed -n "s/^$STAGE: /$STAGE: /p" "$WORK/stage.log" | head -n 1
run_one "$STAGE" "$port"
result=$?
stop_server

# --- nginx, the same way, on request -----------------------------------------------------
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
if [[ ${C10K_NGINX:-0} == 1 && -x $NGINX ]]; then
    mkdir -p "$WORK/nginx"
    nport=$((20000 + RANDOM % 20000))
    cat > "$WORK/nginx/nginx.conf" <<CONF
worker_processes $(nproc);
worker_rlimit_nofile $((CONNS + 1000));
daemon off;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log;
events { worker_connections $((CONNS + 1000)); }
http {
    access_log off;
    sendfile on;
    keepalive_timeout 60s;
    keepalive_requests 1000000;
    client_body_temp_path $WORK/nginx/body;
    proxy_temp_path $WORK/nginx/proxy;
    fastcgi_temp_path $WORK/nginx/fastcgi;
    uwsgi_temp_path $WORK/nginx/uwsgi;
    scgi_temp_path $WORK/nginx/scgi;
    server { listen 127.0.0.1:$nport; root $WORK/root; }
}
CONF
    "$NGINX" -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx" 2> "$WORK/nginx/stderr" &
    SERVER_PID=$!
    sleep 0.5
    run_one "nginx (same test, $(nproc) workers)" "$nport"
    stop_server
fi
exit "$result"
