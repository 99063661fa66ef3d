# checks_resets.bash — clients that vanish never take the server down and
# never cost it a descriptor.

# wait_fds_back BASELINE: the server tree's descriptor count returns to
# BASELINE within 5 s (event loops may close a moment later).
wait_fds_back() {
    local base=$1
    wait_until 5 eval '[[ $(tree_fd_count "$SERVER_PID") == '"$base"' ]]' ||
        fail "descriptors: $(tree_fd_count "$SERVER_PID") open, $base before:" \
            "$(ls -l "/proc/$SERVER_PID/fd" 2>&1)"
}

# settled_fd_count PID: the tree's descriptor count once it stops moving.
# Right after a reply an event loop may still hold that connection (it
# lingers until the client's FIN), so one reading can be one too high.
settled_fd_count() {
    local last now i
    last=$(tree_fd_count "$1")
    for i in $(seq 15); do
        sleep 0.2
        now=$(tree_fd_count "$1")
        [[ $now == "$last" ]] && break
        last=$now
    done
    echo "$last"
}

# check_resets_mid_download [PATH] [K]: 50 clients reset the connection (RST)
# after K reply bytes of PATH (default: 100000 bytes into big.bin), 10 right
# after sending, and 10 half-way through sending a request.  The server
# survives, keeps serving, and its descriptor count returns to what it was.
check_resets_mid_download() {
    local path=${1:-/big.bin} k=${2:-100000} i base
    http_get /hello.txt
    expect_status 200 || return 1
    cp "$BODY" "$BATS_TEST_TMPDIR/before.body"
    base=$(settled_fd_count "$SERVER_PID")
    for i in $(seq 50); do
        raw_request "GET $path HTTP/1.0\r\n\r\n" -b 16384 -R "$k"
        [[ $NETPOKE_STATUS == 0 ]] ||
            fail "reset after $k bytes of $path: netpoke exit $NETPOKE_STATUS (the reply was shorter?)" || return 1
    done
    for i in $(seq 10); do
        raw_request "GET $path HTTP/1.0\r\n\r\n" -R 0
        raw_request 'GET /hello.txt HTTP/1.1\r\nHo' -R 0
    done
    process_alive "$SERVER_PID" || fail "the server died after client resets" || return 1
    http_get /hello.txt
    expect_status 200 || return 1
    expect_body_is "$BATS_TEST_TMPDIR/before.body" || return 1
    http_get /index.html
    expect_status 200 || return 1
    wait_fds_back "$base"
}

# 500 requests of every kind (files, 404s, garbage, resets, silent clients)
# leave the server with exactly the descriptors it had before.
check_fd_baseline_after_500() {
    local base codes i
    http_get /hello.txt
    expect_status 200 || return 1
    base=$(settled_fd_count "$SERVER_PID")
    # --max-time bounds each of curl's transfers; timeout bounds them all.
    codes=$(timeout 60 curl -s --max-time 60 -o /dev/null -w '%{http_code}\n' \
        "http://127.0.0.1:$PORT/hello.txt?n=[1-400]" | grep -c '^200$' || true)
    [[ $codes == 400 ]] || fail "only $codes of 400 requests answered 200" || return 1
    codes=$(timeout 30 curl -s --max-time 30 -o /dev/null -w '%{http_code}\n' \
        "http://127.0.0.1:$PORT/missing[1-50].txt" | grep -c '^404$' || true)
    [[ $codes == 50 ]] || fail "only $codes of 50 requests answered 404" || return 1
    for i in $(seq 20); do
        raw_request 'garbage\r\n\r\n'
        [[ $REPLY_STATUS == 400 ]] || fail "garbage answered '$REPLY_STATUS'" || return 1
    done
    for i in $(seq 20); do
        raw_request 'GET /index.html HTTP/1.0\r\n\r\n' -R 10
    done
    for i in $(seq 10); do
        raw_request '' -n     # connect and leave without a word
    done
    process_alive "$SERVER_PID" || fail "the server died" || return 1
    http_get /hello.txt
    expect_status 200 || return 1
    wait_fds_back "$base"
}
