# checks_concurrency.bash — one client must not hold up the others.  These
# checks (and only these) carry time limits: generous ones, because the
# behaviour under test is "answered at all while the other client waits",
# not speed.  Iterative stages fail them by design.

# get_within SECONDS PATH: one curl; prints "CODE SIZE" (000 when it timed out).
get_within() {
    curl -s --max-time "$1" -o /dev/null -w '%{http_code} %{size_download}\n' \
        "http://127.0.0.1:$PORT$2" 2>/dev/null || true
}

# parallel_gets N SECONDS PATH: N curls at once; prints one "CODE SIZE" per request.
parallel_gets() {
    local n=$1 limit=$2 path=$3 i pids=()
    local out="$BATS_TEST_TMPDIR/parallel"
    rm -rf "$out" && mkdir -p "$out"
    for i in $(seq "$n"); do
        get_within "$limit" "$path?client=$i" > "$out/$i" 3>&- &
        pids+=($!)
    done
    for i in "${pids[@]}"; do
        wait "$i" || true   # each curl is bounded by --max-time
    done
    cat "$out"/*
}

# expect_all_ok N FILE OUTPUT: N lines of "200 <size of FILE>".
expect_all_ok() {
    local n=$1 size ok
    size=$(file_size "$2")
    ok=$(grep -c "^200 $size\$" <<< "$3" || true)
    [[ $ok == "$n" ]] || fail "$ok of $n clients got a whole 200; the others:" \
        "$(grep -v "^200 $size\$" <<< "$3" | sort | uniq -c)"
}

# start_stallers: one client that sent half a request head and one that
# connected and said nothing; both hold on for 8 s.  (A pre-forked pool
# needs at least three workers to pass: that is its lesson.)
start_stallers() {
    spawn_helper "$NETPOKE" -n -H 8 -t 10 "$PORT" 'GET /hello.txt HTTP/1.1\r\nHost: te'
    spawn_helper "$NETPOKE" -n -H 8 -t 10 "$PORT" ''
    sleep 0.3   # let them connect and be accepted
}

# With stalled clients connected, 20 others are each answered within 2 s.
check_stalled_client_does_not_delay_others() {
    start_stallers
    local out
    out=$(parallel_gets 20 2 /hello.txt)
    expect_all_ok 20 "$DOCROOT/hello.txt" "$out" || return 1
    # one after another, too
    local i
    for i in $(seq 5); do
        out=$(get_within 2 /index.html)
        [[ $out == "200 $(file_size "$DOCROOT/index.html")" ]] ||
            fail "sequential request $i with stalled clients: '$out'" || return 1
    done
}

# 200 clients at once: every one gets the whole file.
check_200_parallel_clients() {
    local out
    out=$(parallel_gets 200 20 /index.html)
    expect_all_ok 200 "$DOCROOT/index.html" "$out" || return 1
    http_get /hello.txt
    expect_status 200
}

# A slow reader of big.bin (4 KiB window, 200 KB/s) is in the middle of its
# download; index.html requests are each answered within 1 s meanwhile.
check_slow_reader_does_not_block_others() {
    spawn_helper "$NETPOKE" -b 4096 -r 200000 -t 20 -o /dev/null "$PORT" 'GET /big.bin HTTP/1.0\r\n\r\n'
    local reader=$HELPER_PID i out
    sleep 0.5   # its reply now fills every buffer between us and the server
    for i in $(seq 5); do
        out=$(get_within 1 /index.html)
        [[ $out == "200 $(file_size "$DOCROOT/index.html")" ]] ||
            fail "request $i during a slow download: '$out' (expected 200 within 1 s)" || return 1
    done
    process_alive "$reader" || fail "the slow reader was cut off (it should still be downloading)"
}
