# checks_basics.bash — a well-formed request gets the right file, the right
# headers, and (in short-connection stages) a closed connection.

# GET / serves the docroot's index.html, whole and labelled as HTML.
check_get_index() {
    http_get /
    expect_status 200 || return 1
    expect_body_is "$DOCROOT/index.html" || return 1
    [[ $(header Content-Length) == "$(file_size "$DOCROOT/index.html")" ]] ||
        fail "Content-Length '$(header Content-Length)' is not the size of index.html" || return 1
    [[ $(header Content-Type) == text/html* ]] ||
        fail "Content-Type of / is '$(header Content-Type)', not text/html"
}

# HEAD gets the same status and headers as GET (Date aside) and no body.
check_head_matches_get() {
    local path
    for path in /hello.txt /index.html /mime/t.png /nope.txt; do
        raw_request "GET $path HTTP/1.0\r\n\r\n"
        reply_head "$REPLY" | grep -vi '^date:' > "$BATS_TEST_TMPDIR/get.head"
        raw_request "HEAD $path HTTP/1.0\r\n\r\n"
        expect_closed_cleanly "HEAD $path" || return 1
        reply_head "$REPLY" | grep -vi '^date:' > "$BATS_TEST_TMPDIR/head.head"
        diff "$BATS_TEST_TMPDIR/get.head" "$BATS_TEST_TMPDIR/head.head" >&2 ||
            fail "HEAD $path: head differs from GET's (above)" || return 1
        local head_bytes total
        head_bytes=$(grep -c '' "$BATS_TEST_TMPDIR/head.head" || true)
        (( head_bytes > 3 )) || fail "HEAD $path: only $head_bytes header lines" || return 1
        total=$(reply_body "$REPLY" | wc -c)
        [[ $total == 0 ]] || fail "HEAD $path: $total body bytes after the head" || return 1
    done
}

# Every extension of mime_extensions gets its Content-Type; others octet-stream.
check_content_types() {
    local ext want got
    for ext in $(mime_extensions) bin unknownext; do
        http_get "/mime/t.$ext"
        expect_status 200 || return 1
        expect_body_is "$DOCROOT/mime/t.$ext" || return 1
        want=" $(mime_expected "$ext") "
        got=$(header Content-Type || true)
        [[ -n $got && $want == *" ${got%%;*} "* ]] ||
            fail "t.$ext: Content-Type '$got', expected one of:$want" || return 1
    done
}

# Content-Length, Content-Type, Date (RFC 7231 IMF-fixdate), Server and
# Connection on every response: a file, an error, a redirect, a refusal.
check_required_headers() {
    local date_re='^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} GMT$'
    local req name value
    for req in 'GET /hello.txt HTTP/1.0\r\n\r\n' 'GET /nope.txt HTTP/1.0\r\n\r\n' \
               'GET /withindex HTTP/1.0\r\n\r\n' 'DELETE / HTTP/1.0\r\n\r\n' \
               'GET /../x HTTP/1.0\r\n\r\n' 'nonsense\r\n\r\n'; do
        raw_request "$req"
        [[ -n $REPLY_STATUS ]] || fail "sent '$(shorten "$req")': no status line" || return 1
        reply_head "$REPLY" > "$BATS_TEST_TMPDIR/req.head"
        for name in Content-Length Content-Type Date Server Connection; do
            value=$(header "$name" "$BATS_TEST_TMPDIR/req.head") ||
                fail "sent '$(shorten "$req")': no $name header:" "$(cat "$BATS_TEST_TMPDIR/req.head")" || return 1
            [[ -n $value ]] || fail "sent '$(shorten "$req")': empty $name" || return 1
        done
        value=$(header Date "$BATS_TEST_TMPDIR/req.head" || true)
        [[ $value =~ $date_re ]] || fail "sent '$(shorten "$req")': Date '$value' is not an HTTP date" || return 1
        expect_framed "$REPLY" "$req" || return 1
        if [[ $REPLY_STATUS != 200 ]]; then  # error pages are small HTML
            [[ $(header Content-Type "$BATS_TEST_TMPDIR/req.head") == text/html* ]] ||
                fail "sent '$(shorten "$req")': error page is not text/html" || return 1
            reply_body "$REPLY" | grep -qi '<html' ||
                fail "sent '$(shorten "$req")': error body is not an HTML page" || return 1
        fi
    done
}

# Short-connection stages answer one request and close, saying so, even when
# an HTTP/1.1 client asks to keep the connection.
check_short_connection_close() {
    local req
    for req in 'GET /hello.txt HTTP/1.1\r\nHost: t\r\n\r\n' \
               'GET /hello.txt HTTP/1.1\r\nHost: t\r\nConnection: keep-alive\r\n\r\n' \
               'GET /hello.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n'; do
        expect_reply 200 "$req" || return 1
    done
    # and curl, asked to reuse the connection, must open a new one each time
    local connects
    connects=$(curl -s --max-time "$CURL_TIMEOUT" -o /dev/null -w '%{num_connects}\n' \
        "http://127.0.0.1:$PORT/hello.txt" "http://127.0.0.1:$PORT/hello.txt" | awk '{ s += $1 } END { print s }')
    [[ $connects == 2 ]] || fail "two requests used $connects connections, expected 2"
}
