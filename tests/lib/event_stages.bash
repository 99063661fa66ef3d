# event_stages.bash — checks of the single-threaded event stages (07–10),
# loaded by their suites after lib/common:  load lib/event_stages
#
# These stages have one thread for every client, so the question each check
# asks is "does any one client make the server wait?"

# CPU time (user + system, in clock ticks) PID has used so far.
cpu_ticks() {
    awk '{ print $14 + $15 }' "/proc/$1/stat"
}

# idle_cpu_percent PID SECONDS: the share of one CPU PID used over SECONDS.
idle_cpu_percent() {
    local before after hz
    hz=$(getconf CLK_TCK)
    before=$(cpu_ticks "$1")
    sleep "$2"
    after=$(cpu_ticks "$1")
    echo $(((after - before) * 100 / (hz * $2)))
}

# A reader with a 4 KiB receive buffer holds off for a second, then reads
# big.bin at 20 MB/s: the server's sendfile() stops short and hits EAGAIN
# over and over and must resume each time at the right byte.  Meanwhile
# other clients are answered at once: within 200 ms each (on loopback they
# take about 1 ms, plain or sanitized; a loop stuck in one client's write
# takes seconds), and in the end all 50 MB arrived byte-exact.
check_slow_big_download_while_others_served() {
    local out="$BATS_TEST_TMPDIR/big.reply" i got reader
    spawn_helper "$NETPOKE" -b 4096 -H 1 -r 20000000 -t 40 -o "$out" "$PORT" 'GET /big.bin HTTP/1.0\r\n\r\n'
    reader=$HELPER_PID
    sleep 0.5   # the reply now fills every buffer between us and the server
    for i in $(seq 5); do
        got=$(curl -s --max-time 2 -o /dev/null -w '%{http_code} %{size_download} %{time_total}' \
            "http://127.0.0.1:$PORT/index.html?during=$i") || true
        [[ ${got% *} == "200 $(file_size "$DOCROOT/index.html")" ]] ||
            fail "request $i during the slow download: '$got'" || return 1
        awk -v t="${got##* }" 'BEGIN { exit !(t < 0.2) }' ||
            fail "request $i during the slow download took ${got##* } s (bound 0.2 s)" || return 1
        sleep 0.2
    done
    process_alive "$reader" || fail "the slow download ended before the other requests did" || return 1
    wait_helper "$reader" 40 || fail "the slow reader ended with status $? (0 expected)" || return 1
    [[ $(reply_status "$out") == 200 ]] || fail "big.bin answered '$(reply_status "$out")'" || return 1
    [[ $(reply_body "$out" | sha256sum | cut -d' ' -f1) == "$(big_sha256)" ]] ||
        fail "big.bin arrived corrupted to the slow reader ($(reply_body "$out" | wc -c) body bytes)"
}

# An idle epoll server sleeps in epoll_wait(): over 2 s it uses next to no
# CPU (under 3 % of one CPU; a busy-poller would use most of one).
check_idle_cpu_near_zero() {
    http_get /index.html
    expect_status 200 || return 1
    sleep 0.2
    local pct
    pct=$(idle_cpu_percent "$SERVER_PID" 2)
    ((pct < 3)) || fail "idle for 2 s, the server used $pct % of a CPU (expected near 0)"
}

# 1 000 connections open at once, each making 20 keep-alive requests.
check_1000_keepalive_connections_x20() {
    # The server needs a descriptor per connection: raise the soft limit to
    # what the hard limit allows (a server started from this shell inherits it).
    ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
    (($(ulimit -n) >= 1100)) || skip "descriptor limit $(ulimit -n) is below 1 100"
    stop_server
    start_server || return 1
    local out
    out=$(timeout 60 "$ROOT/bin/kaload" -n 1000 -r 20 -t 50 "$PORT" /hello.txt) ||
        fail "kaload: ${out:-no output}" || return 1
    [[ $out == "1000 connections, 20000 of 20000 replies ok" ]] || fail "kaload: $out" || return 1
    http_get /hello.txt
    expect_status 200
}

# 200 requests in a single write: all answered, in order, the connection
# closed after the last (which asks for it).  Edge-triggered, the burst
# brings one edge; a server that stops reading before EAGAIN answers part
# of it and then waits forever.
check_pipelined_burst_200() {
    local req= i
    for i in $(seq 199); do
        req+="GET /hello.txt?n=$i HTTP/1.1\r\nHost: test\r\n\r\n"
    done
    req+='GET /hello.txt?n=200 HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n'
    raw_request "$req" -t 20
    expect_closed_cleanly 'a burst of 200 pipelined requests' || return 1
    split_replies "$REPLY"
    ((REPLY_COUNT == 200)) || fail "$REPLY_COUNT replies to 200 pipelined requests" || return 1
    for i in $(seq 200); do
        grep -q '^HTTP/1\.1 200 ' "$BATS_TEST_TMPDIR/split.$i.head" &&
            cmp -s "$BATS_TEST_TMPDIR/split.$i.body" "$DOCROOT/hello.txt" ||
            fail "reply $i of 200 is not hello.txt: $(head -n 1 "$BATS_TEST_TMPDIR/split.$i.head")" || return 1
    done
}

# teardown for these suites: stop the server, then fail the test if the
# sanitizers (make SAN=1) reported anything in the server's log.
stop_server_and_check_log() {
    stop_server
    [[ -n ${SERVER_LOG:-} && -f $SERVER_LOG ]] || return 0
    if grep -qE 'AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:' "$SERVER_LOG"; then
        fail "sanitizer report in the server log:" "$(grep -E -A8 'Sanitizer|runtime error:' "$SERVER_LOG" | head -n 30)"
    fi
}

# Idle, with 20 keep-alive connections open that each had their reply: the
# server still sleeps (under 3 % of a CPU over 2 s).  A loop that asks
# level-triggered epoll for EPOLLOUT on them when it has nothing to write
# is woken for ever: a socket with room in its send buffer is writable.
check_idle_cpu_near_zero_with_open_connections() {
    local base pct
    base=$(fd_count "$SERVER_PID")
    spawn_helper "$NETPOKE" -m 20 -H 5 -t 8 "$PORT" 'GET /hello.txt HTTP/1.1\r\nHost: test\r\n\r\n'
    wait_until 3 eval '(( $(fd_count "$SERVER_PID") >= base + 20 ))' ||
        fail "the 20 connections were not accepted ($(fd_count "$SERVER_PID") descriptors, $base before)" || return 1
    sleep 0.3   # their requests answered
    pct=$(idle_cpu_percent "$SERVER_PID" 2)
    ((pct < 3)) || fail "idle with 20 open connections, the server used $pct % of a CPU (expected near 0)" || return 1
    (($(fd_count "$SERVER_PID") >= base + 20)) || fail "the connections were closed while idle"
}

# 200 pipelined requests of about 1 KB each (a padding header), 200 KB in
# all, sent back to back: more than any server takes in one read().  All
# are answered, in order.  A server that reads once per readiness event
# and waits for the next leaves the rest in its socket; the client, waiting
# for the answers, sends nothing more, so under edge triggering no event
# ever comes for those bytes.
check_pipelined_burst_200k() {
    local pad burst=$BATS_TEST_TMPDIR/burst i
    pad=$(printf 'x%.0s' $(seq 1000))
    for i in $(seq 199); do
        printf 'GET /hello.txt?n=%d HTTP/1.1\r\nHost: test\r\nX-Pad: %s\r\n\r\n' "$i" "$pad"
    done > "$burst"
    printf 'GET /hello.txt?n=200 HTTP/1.1\r\nHost: test\r\nX-Pad: %s\r\nConnection: close\r\n\r\n' "$pad" >> "$burst"
    raw_request "" -f "$burst"
    expect_closed_cleanly 'a burst of 200 pipelined requests, 200 KB' || return 1
    split_replies "$REPLY"
    ((REPLY_COUNT == 200)) || fail "$REPLY_COUNT replies to 200 pipelined requests (200 KB)" || return 1
    for i in $(seq 200); do
        grep -q '^HTTP/1\.1 200 ' "$BATS_TEST_TMPDIR/split.$i.head" &&
            cmp -s "$BATS_TEST_TMPDIR/split.$i.body" "$DOCROOT/hello.txt" ||
            fail "reply $i of 200 is not hello.txt: $(head -n 1 "$BATS_TEST_TMPDIR/split.$i.head")" || return 1
    done
}
