# checks_errors.bash — a bad request gets the right status, a small HTML page,
# "Connection: close", and a clean close (FIN, not a reset).

H11='Host: test\r\n'   # HTTP/1.1 requires a Host header

# Methods other than GET and HEAD: 405 with Allow, also with a request body.
# (A 405 answers a well-formed request, so a keep-alive stage may keep the
# connection; these requests ask for close to test the same thing everywhere.)
check_405_allow() {
    local req allow
    for req in "POST / HTTP/1.1\r\n${H11}Connection: close\r\nContent-Length: 9\r\n\r\nname=test" \
               "PUT /hello.txt HTTP/1.1\r\n${H11}Connection: close\r\nContent-Length: 0\r\n\r\n" \
               'DELETE /hello.txt HTTP/1.0\r\n\r\n' 'OPTIONS / HTTP/1.0\r\n\r\n' \
               'BREW /pot HTTP/1.0\r\n\r\n'; do
        expect_reply 405 "$req" || return 1
        allow=$(reply_head "$REPLY" | header Allow /dev/stdin) ||
            fail "sent '$(shorten "$req")': 405 without an Allow header" || return 1
        [[ $allow =~ ^GET,\ *HEAD$ || $allow =~ ^HEAD,\ *GET$ ]] ||
            fail "sent '$(shorten "$req")': Allow is '$allow', expected 'GET, HEAD'" || return 1
    done
    # a large body the server never wanted must not turn the 405 into a reset
    head -c 200000 /dev/zero | tr '\0' 'a' > "$BATS_TEST_TMPDIR/post.body"
    expect_reply 405 "POST / HTTP/1.0\r\nContent-Length: 200000\r\n\r\n" -f "$BATS_TEST_TMPDIR/post.body"
}

# Requests that are not HTTP: 400.
check_400_garbage() {
    local req
    for req in 'garbage\r\n\r\n' '\x00\x01\x02\x03\xff\xfe\r\n\r\n' 'GET\r\n\r\n' \
               'GET / HTTP/1.1\r\n\r\n' \
               "GET / HTTP/1.1\r\n${H11}No colon here\r\n\r\n" \
               "GET / HTTP/1.1\r\nHost : test\r\n\r\n" \
               "GET / HTTP/1.1\r\n${H11} folded: line\r\n\r\n" \
               'GET / HTTP/1.1 extra\r\nHost: test\r\n\r\n' \
               'GET / FTP/1.0\r\n\r\n' \
               "GET / HTTP/1.1\r\n${H11}Content-Length: ten\r\n\r\n" \
               "GET / HTTP/1.1\r\n${H11}Content-Length: 1\r\nContent-Length: 2\r\n\r\n" \
               'GET /\x01bell HTTP/1.0\r\n\r\n'; do
        expect_reply 400 "$req" || return 1
    done
}

# A request target over 8 KiB: 414.  A 7 KB one (a long query) is served.
check_414_long_target() {
    local long
    long=$(printf 'a%.0s' $(seq 9000))
    expect_reply 414 "GET /$long HTTP/1.1\r\n${H11}\r\n" || return 1
    long=$(printf 'b%.0s' $(seq 30000))
    expect_reply 414 "GET /$long HTTP/1.0\r\n\r\n" || return 1
    # under the limit: a long query string is ignored and the file served
    long=$(printf 'c%.0s' $(seq 7000))
    raw_request "GET /hello.txt?q=$long HTTP/1.0\r\n\r\n"
    [[ $REPLY_STATUS == 200 ]] || fail "a 7 KB target (long query) got '$REPLY_STATUS', expected 200"
}

# A header block over 16 KiB: 431.  One of 12 KiB is still served.
check_431_big_head() {
    local line i big=
    line="X-Filler: $(printf 'x%.0s' $(seq 990))\r\n"
    for i in $(seq 20); do big+="${line/X-Filler/X-Filler-$i}"; done
    expect_reply 431 "GET /hello.txt HTTP/1.1\r\n${H11}${big}\r\n" || return 1
    big=
    for i in $(seq 12); do big+="${line/X-Filler/X-Filler-$i}"; done
    raw_request "GET /hello.txt HTTP/1.1\r\n${H11}Connection: close\r\n${big}\r\n"
    [[ $REPLY_STATUS == 200 ]] || fail "a 12 KiB header block got '$REPLY_STATUS', expected 200"
}

# HTTP versions other than 1.0 and 1.1: 505.
check_505_version() {
    local v
    for v in 2.0 1.2 0.9 3.0; do
        expect_reply 505 "GET / HTTP/$v\r\n${H11}\r\n" || return 1
    done
}

# Transfer-Encoding in a request: 501.
check_501_transfer_encoding() {
    expect_reply 501 "GET / HTTP/1.1\r\n${H11}Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n" ||
        return 1
    expect_reply 501 "GET / HTTP/1.1\r\n${H11}Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"
}

# Transfer-Encoding together with Content-Length (a smuggling attempt): 400.
check_400_te_with_cl() {
    expect_reply 400 "GET / HTTP/1.1\r\n${H11}Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n" ||
        return 1
    expect_reply 400 "GET / HTTP/1.1\r\n${H11}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
}
