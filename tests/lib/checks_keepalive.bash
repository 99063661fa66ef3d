# checks_keepalive.bash — long connections (stage08 on): a connection serves
# many requests, in order, until someone says "close".

# expect_replies_in_order EXT...: the split replies are 200s whose bodies are
# the fixture files mime/t.EXT, in this order.
expect_replies_in_order() {
    local i=0 ext
    ((REPLY_COUNT == $#)) || fail "$REPLY_COUNT replies to $# requests" || return 1
    for ext in "$@"; do
        i=$((i + 1))
        grep -q '^HTTP/1\.1 200 ' "$BATS_TEST_TMPDIR/split.$i.head" ||
            fail "reply $i: $(head -n 1 "$BATS_TEST_TMPDIR/split.$i.head")" || return 1
        cmp -s "$BATS_TEST_TMPDIR/split.$i.body" "$DOCROOT/mime/t.$ext" ||
            fail "reply $i is not mime/t.$ext: $(head -c 100 "$BATS_TEST_TMPDIR/split.$i.body")" || return 1
    done
}

# 100 requests from curl on one connection: all answered, one connect.
check_keepalive_100_requests() {
    local out
    out=$(curl -s --max-time 30 -o /dev/null -w '%{http_code} %{num_connects} %{size_download}\n' \
        "http://127.0.0.1:$PORT/hello.txt?n=[1-100]") || true
    local ok connects size
    size=$(file_size "$DOCROOT/hello.txt")
    ok=$(grep -c "^200 [01] $size\$" <<< "$out" || true)
    connects=$(awk '{ s += $2 } END { print s }' <<< "$out")
    [[ $ok == 100 ]] || fail "$ok of 100 requests answered 200 with the whole file" || return 1
    [[ $connects == 1 ]] || fail "100 requests took $connects connections, expected 1"
}

# Ten requests sent at once, answered in the order asked; the last says close.
check_pipelined_10_in_order() {
    local exts=(txt css html json js svg png gif pdf bin) req= i
    for i in "${!exts[@]}"; do
        req+="GET /mime/t.${exts[$i]} HTTP/1.1\r\nHost: test\r\n"
        ((i == ${#exts[@]} - 1)) && req+='Connection: close\r\n'
        req+='\r\n'
    done
    raw_request "$req"
    expect_closed_cleanly 'ten pipelined requests, the last with Connection: close' || return 1
    split_replies "$REPLY"
    expect_replies_in_order "${exts[@]}" || return 1
    [[ $(header Connection "$BATS_TEST_TMPDIR/split.1.head") == keep-alive ]] ||
        fail "reply 1 says Connection: $(header Connection "$BATS_TEST_TMPDIR/split.1.head")" || return 1
    [[ $(header Connection "$BATS_TEST_TMPDIR/split.10.head") == close ]] ||
        fail "the last reply says Connection: $(header Connection "$BATS_TEST_TMPDIR/split.10.head")"
}

# HTTP/1.0 closes unless it asks for keep-alive; then it stays open.
check_http10_closes() {
    expect_reply 200 'GET /hello.txt HTTP/1.0\r\n\r\n' || return 1
    raw_request 'GET /hello.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n' -i 1000
    [[ $REPLY_STATUS == 200 ]] || fail "HTTP/1.0 keep-alive request answered '$REPLY_STATUS'" || return 1
    [[ $NETPOKE_STATUS == 6 ]] || fail "HTTP/1.0 with Connection: keep-alive was closed (netpoke $NETPOKE_STATUS)" ||
        return 1
    [[ $(reply_head "$REPLY" | header Connection /dev/stdin) == keep-alive ]] ||
        fail "HTTP/1.0 keep-alive reply does not say Connection: keep-alive"
}

# HTTP/1.1 stays open by default and closes when the client says close.
check_connection_close_honoured() {
    raw_request 'GET /hello.txt HTTP/1.1\r\nHost: test\r\n\r\n' -i 1000
    [[ $REPLY_STATUS == 200 ]] || fail "answered '$REPLY_STATUS'" || return 1
    [[ $NETPOKE_STATUS == 6 ]] || fail "an HTTP/1.1 connection was closed after one request (netpoke $NETPOKE_STATUS)" ||
        return 1
    [[ $(reply_head "$REPLY" | header Connection /dev/stdin) == keep-alive ]] ||
        fail "HTTP/1.1 reply does not say Connection: keep-alive" || return 1
    expect_reply 200 'GET /hello.txt HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n' || return 1
    expect_reply 200 'GET /hello.txt HTTP/1.1\r\nHost: test\r\nConnection: Close\r\n\r\n'
}

# Two requests whose boundary falls inside a read: sent in 7-byte pieces,
# so the second request starts in the middle of a piece.
check_request_split_across_boundary() {
    local req='GET /mime/t.txt HTTP/1.1\r\nHost: test\r\n\r\nGET /mime/t.css HTTP/1.1\r\nHost: test\r\n\r\n'
    req+='GET /mime/t.json HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n'
    raw_request "$req" -c 7 -d 10
    expect_closed_cleanly 'three requests in 7-byte pieces' || return 1
    split_replies "$REPLY"
    expect_replies_in_order txt css json || return 1
    # and the first request's head completes in the same read as the start of the next
    raw_request 'GET /mime/t.txt HTTP/1.1\r\nHost: test\r\n\r\nGET /mime/t.c' -i 500
    [[ $(reply_count "$REPLY") == 1 ]] || fail "$(reply_count "$REPLY") replies to one and a half requests" ||
        return 1
    [[ $NETPOKE_STATUS == 6 ]] || fail "the connection closed while half a request was pending (netpoke $NETPOKE_STATUS)"
}
