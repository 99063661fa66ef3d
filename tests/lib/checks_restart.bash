# checks_restart.bash — a server stopped and started again at once.

# Stopped, and started again at once on the same port: the new server binds
# although connections of the old one are still in TIME_WAIT on that port
# (the server closed them first, so the TIME_WAIT is on its side).  Without
# SO_REUSEADDR, bind() fails there with "Address already in use".
check_restart_same_port() {
    command -v ss > /dev/null || skip "ss(8) is missing (apt-get install iproute2)"
    local port=$PORT i waiting
    for i in $(seq 5); do
        expect_reply 200 'GET /hello.txt HTTP/1.0\r\n\r\n' || return 1
    done
    stop_server
    [[ $SERVER_STATUS == 0 ]] || fail "the first server exited with status $SERVER_STATUS" || return 1
    waiting=$(ss -Htan state time-wait "( sport = :$port )" | wc -l)
    ((waiting > 0)) || fail "no connection in TIME_WAIT on port $port: nothing to test against" || return 1
    rm -f "$SERVER_LOG"   # start_server must not read the old ready line
    start_server -p "$port" || fail "restarted on port $port with $waiting connections in TIME_WAIT there" ||
        return 1
    [[ $PORT == "$port" ]] || fail "asked for port $port, got $PORT" || return 1
    http_get /hello.txt
    expect_status 200
}
