# checks_lifecycle.bash — the command line, the ready line, and ending.

# The one ready line: "stageNN listening on http://127.0.0.1:PORT/ (docroot DIR)",
# with the real port, and nothing else on stderr without -v.
check_ready_line() {
    local lines line dir
    lines=$(grep -c ' listening on ' "$SERVER_LOG" || true)
    [[ $lines == 1 ]] || fail "$lines ready lines:" "$(cat "$SERVER_LOG")" || return 1
    line=$(grep ' listening on ' "$SERVER_LOG")
    local re="^$STAGE listening on http://127\\.0\\.0\\.1:$PORT/ \\(docroot (.+)\\)\$"
    [[ $line =~ $re ]] || fail "ready line '$line' does not match '$re'" || return 1
    dir=${BASH_REMATCH[1]}
    [[ $dir == "$DOCROOT" || $(realpath -- "$dir") == $(realpath -- "$DOCROOT") ]] ||
        fail "ready line names docroot '$dir', not $DOCROOT" || return 1
    ((PORT > 0)) || fail "port $PORT" || return 1
    http_get /hello.txt
    expect_status 200 || return 1
    if [[ -z ${SERVER_WRAPPER:-} ]]; then  # a wrapper (valgrind) may print its own lines
        [[ $(head -n 1 "$SERVER_LOG") == "$line" ]] || fail "the ready line is not the first line" || return 1
        [[ $(grep -c '' "$SERVER_LOG") == 1 ]] ||
            fail "without -v, stderr should hold only the ready line:" "$(cat "$SERVER_LOG")" || return 1
    fi
    [[ ! -s $SERVER_OUT ]] || fail "the server wrote to stdout:" "$(head -c 300 "$SERVER_OUT")"
}

# -v: one line per request naming method, path and status.
check_verbose_log() {
    stop_server
    start_server -v || return 1
    http_get /hello.txt
    expect_status 200 || return 1
    http_get /nope.txt
    expect_status 404 || return 1
    wait_until 2 grep -q '/nope.txt' "$SERVER_LOG" || fail "no log line for /nope.txt:" "$(cat "$SERVER_LOG")" ||
        return 1
    grep 'GET' "$SERVER_LOG" | grep '/hello.txt' | grep -q '200' ||
        fail "no 'GET /hello.txt 200' log line:" "$(cat "$SERVER_LOG")" || return 1
    grep 'GET' "$SERVER_LOG" | grep '/nope.txt' | grep -q '404' ||
        fail "no 'GET /nope.txt 404' log line:" "$(cat "$SERVER_LOG")"
}

# SIGTERM, even with a client in the middle of a request: exit 0, promptly,
# nothing left running, the port closed.  SIGINT the same.
check_sigterm_exits_0() {
    local sig port
    for sig in TERM INT; do
        if [[ -z ${SERVER_PID:-} ]]; then start_server || return 1; fi
        http_get /hello.txt
        expect_status 200 || return 1
        port=$PORT
        spawn_helper "$NETPOKE" -n -H 3 -t 5 "$PORT" 'GET /hello.txt HTTP/1.1\r\nHost: te'
        sleep 0.3   # let the server take the half request
        stop_server "$sig"
        [[ $SERVER_STATUS == 0 ]] ||
            fail "after SIG$sig the server exited with status $SERVER_STATUS:" "$(tail -n 20 "$SERVER_LOG")" ||
            return 1
        [[ -z $SERVER_LEFTOVERS ]] || fail "after SIG$sig, processes still ran: $SERVER_LEFTOVERS" || return 1
        local rc=0
        "$NETPOKE" -t 2 "$port" '' 2>/dev/null || rc=$?
        [[ $rc == 2 ]] || fail "after SIG$sig, port $port still accepts connections" || return 1
    done
}

# run_bad ARGS...: run the server with these arguments (appended to a valid
# command line), bounded; sets BAD_STATUS and BAD_ERR (stderr file).
run_bad() {
    BAD_ERR="$BATS_TEST_TMPDIR/bad.err"
    # shellcheck disable=SC2086
    BAD_STATUS=0
    timeout -k 1 5 ${SERVER_WRAPPER:-} "$SERVER" -p 0 -b 127.0.0.1 -r "$DOCROOT" "$@" \
        </dev/null >/dev/null 2>"$BAD_ERR" 3>&- || BAD_STATUS=$?
}

# expect_exit_2 WHAT: the last run_bad exited 2 with a one-line message.
expect_exit_2() {
    [[ $BAD_STATUS != 124 && $BAD_STATUS != 137 ]] || fail "$1: the server did not exit (it ran for 5 s)" ||
        return 1
    [[ $BAD_STATUS == 2 ]] || fail "$1: exit status $BAD_STATUS, expected 2:" "$(cat "$BAD_ERR")" || return 1
    [[ -s $BAD_ERR ]] || fail "$1: exit 2 but no message" || return 1
    if [[ -z ${SERVER_WRAPPER:-} ]]; then
        [[ $(grep -c '' "$BAD_ERR") == 1 ]] || fail "$1: expected a one-line message:" "$(cat "$BAD_ERR")" ||
            return 1
    fi
    ! grep -qi 'listening on' "$BAD_ERR" || fail "$1: printed a ready line"
}

check_bad_option_exits_2() {
    local args
    for args in '-Z' '-p abc' '-p 70000' '-p -1' '-b not-an-address' 'stray-argument'; do
        # shellcheck disable=SC2086
        run_bad $args
        expect_exit_2 "$args" || return 1
    done
}

# A port someone else listens on (our running server's): exit 2.
check_port_in_use_exits_2() {
    # shellcheck disable=SC2086
    BAD_STATUS=0 BAD_ERR="$BATS_TEST_TMPDIR/bad.err"
    timeout -k 1 5 ${SERVER_WRAPPER:-} "$SERVER" -p "$PORT" -b 127.0.0.1 -r "$DOCROOT" \
        </dev/null >/dev/null 2>"$BAD_ERR" 3>&- || BAD_STATUS=$?
    expect_exit_2 "-p $PORT (in use)" || return 1
    # the first server is unharmed
    http_get /hello.txt
    expect_status 200
}

check_missing_docroot_exits_2() {
    run_bad -r "$BATS_TEST_TMPDIR/no-such-dir"
    expect_exit_2 "-r (missing directory)" || return 1
    run_bad -r "$DOCROOT/hello.txt"
    expect_exit_2 "-r (a file, not a directory)"
}

# SIGTERM in the middle of a reply to a client that asked for the 50 MB file
# and never reads: the server's send buffer is full and it waits in
# sendfile() or write().  The signal makes that call return early, with
# the short count if some bytes went out (EINTR only if none did); either way
# the server must notice the stop and be gone, with every process it made,
# within a second.
check_sigterm_mid_reply() {
    spawn_helper "$NETPOKE" -b 4096 -H 20 -t 20 "$PORT" 'GET /big.bin HTTP/1.1\r\nHost: te\r\n\r\n'
    local client=$HELPER_PID
    # The server is stuck when its side of the connection has bytes queued
    # that the client does not take.
    wait_until 5 eval '(( $(send_queue_of "$PORT") > 0 ))' ||
        fail "the server never filled its send buffer (Send-Q $(send_queue_of "$PORT"))" || return 1
    sleep 0.2   # a little longer, so the sender is asleep in the call, not entering it
    process_alive "$client" || fail "the never-reading client ended early" || return 1
    local pid=$SERVER_PID procs t0 elapsed
    procs="$pid $(descendant_pids "$pid")"
    t0=$(now_ms)
    kill -TERM "$pid"
    # shellcheck disable=SC2086  # procs is a list of PIDs
    wait_until 1 none_alive $procs || true
    elapsed=$(($(now_ms) - t0))
    # shellcheck disable=SC2086  # procs is a list of PIDs
    none_alive $procs || fail "still running ${elapsed} ms after SIGTERM: $(alive_of $procs)" || return 1
    SERVER_PID=     # gone: teardown's stop_server only ends the client
    local status=0
    wait "$pid" 2>/dev/null || status=$?
    [[ $status == 0 ]] || fail "after SIGTERM mid-reply the server exited with $status"
}

# Bytes the server has queued and the client not yet acknowledged, summed over
# the server's established connections on PORT.
send_queue_of() {
    ss -tnH state established "( sport = :$1 )" 2>/dev/null | awk '{ q += $2 } END { print q + 0 }'
}
alive_of() {
    local p
    for p in "$@"; do process_alive "$p" && echo -n "$p "; done
    return 0
}
none_alive() { [[ -z $(alive_of "$@") ]]; }
