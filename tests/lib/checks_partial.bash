# checks_partial.bash — requests that arrive in pieces, and bodies nobody
# asked for.

# A request sent one byte per TCP segment, 3 ms apart, is still answered.
check_one_byte_at_a_time() {
    local req="GET /hello.txt HTTP/1.1\r\nHost: test\r\nUser-Agent: netpoke\r\nConnection: close\r\n\r\n"
    raw_request "$req" -c 1 -d 3
    expect_closed_cleanly 'a one-byte-at-a-time request' || return 1
    [[ $REPLY_STATUS == 200 ]] || fail "answered '$REPLY_STATUS', expected 200" || return 1
    reply_body "$REPLY" | cmp -s - "$DOCROOT/hello.txt" || fail "wrong body" || return 1
    # and split at awkward places: inside "\r\n" and inside the blank line
    raw_request "GET /index.html HTTP/1.0\r\nHost: test\r\n\r\n" -c 5 -d 20
    [[ $REPLY_STATUS == 200 ]] || fail "5-byte pieces: answered '$REPLY_STATUS'" || return 1
    reply_body "$REPLY" | cmp -s - "$DOCROOT/index.html" || fail "5-byte pieces: wrong body"
}

# A Content-Length body on GET is read and thrown away: the reply is not
# destroyed by a reset, and on a kept-alive connection the next request
# stays in frame (the body is not taken for a request).
check_get_body_discarded() {
    local body='GET /nope HTTP/1.1\r\n\r\n'     # a body that looks like a request
    local req1="GET /hello.txt HTTP/1.1\r\nHost: test\r\nContent-Length: $(printf '%b' "$body" | wc -c)\r\n\r\n$body"
    local req2="GET /mime/t.txt HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"
    raw_request "$req1$req2"
    expect_closed_cleanly 'GET with a body' || return 1
    split_replies "$REPLY"
    ((REPLY_COUNT >= 1)) || fail "no reply to a GET with a body" || return 1
    grep -q '^HTTP/1\.[01] 200 ' "$BATS_TEST_TMPDIR/split.1.head" ||
        fail "GET with a body: $(head -n 1 "$BATS_TEST_TMPDIR/split.1.head")" || return 1
    cmp -s "$BATS_TEST_TMPDIR/split.1.body" "$DOCROOT/hello.txt" || fail "GET with a body: wrong body" ||
        return 1
    if [[ $(header Connection "$BATS_TEST_TMPDIR/split.1.head") == keep-alive ]]; then
        ((REPLY_COUNT == 2)) || fail "kept alive, but $REPLY_COUNT replies to 2 requests" || return 1
        grep -q '^HTTP/1\.[01] 200 ' "$BATS_TEST_TMPDIR/split.2.head" ||
            fail "the request after the body got: $(head -n 1 "$BATS_TEST_TMPDIR/split.2.head")" || return 1
        cmp -s "$BATS_TEST_TMPDIR/split.2.body" "$DOCROOT/mime/t.txt" || fail "second reply: wrong body" ||
            return 1
    else
        ((REPLY_COUNT == 1)) || fail "Connection: close, yet $REPLY_COUNT replies" || return 1
    fi
    # a body far larger than any buffer, which the server never reads as a request
    head -c 300000 /dev/zero | tr '\0' 'G' > "$BATS_TEST_TMPDIR/get.body"
    raw_request "GET /hello.txt HTTP/1.1\r\nHost: test\r\nConnection: close\r\nContent-Length: 300000\r\n\r\n" \
        -f "$BATS_TEST_TMPDIR/get.body"
    expect_closed_cleanly 'GET with a 300 KB body' || return 1
    [[ $REPLY_STATUS == 200 ]] || fail "GET with a 300 KB body answered '$REPLY_STATUS'" || return 1
    split_replies "$REPLY"
    ((REPLY_COUNT == 1)) || fail "GET with a 300 KB body: $REPLY_COUNT replies" || return 1
    cmp -s "$BATS_TEST_TMPDIR/split.1.body" "$DOCROOT/hello.txt" || fail "GET with a 300 KB body: wrong body"
}
