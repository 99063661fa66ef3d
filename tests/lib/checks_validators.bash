# checks_validators.bash — what a browser and a download tool expect of a file
# server: validators (Last-Modified, ETag) and the 304 they earn on a reload,
# byte ranges (206, 416) and resuming a broken download (curl -C -, wget -c).

# A file of our own in the docroot, for checks that change or date it:
# "0123456789" repeated to 100 bytes.  Sets VFILE (its URL path) and VPATH.
make_validator_file() {
    VFILE="/validator-$BATS_TEST_NUMBER.txt"
    VPATH="$DOCROOT$VFILE"
    local i
    : > "$VPATH"
    for i in 1 2 3 4 5 6 7 8 9 10; do printf '0123456789' >> "$VPATH"; done
    chmod a+r "$VPATH"
    [[ -z ${1:-} ]] || touch -d "$1" "$VPATH"
}

# The HTTP-date of a file's mtime, as Last-Modified must spell it.
http_date_of() {
    LC_ALL=C TZ=GMT date -r "$1" '+%a, %d %b %Y %H:%M:%S GMT'
}

# GET and HEAD of a file carry Last-Modified (the file's mtime), a quoted
# strong ETag and Accept-Ranges: bytes; HEAD repeats them exactly.
check_validators_on_files() {
    make_validator_file '2020-01-02 03:04:05 UTC'
    http_get "$VFILE"
    expect_status 200 || return 1
    local lm etag
    lm=$(header Last-Modified) || fail "no Last-Modified:" "$(cat "$HEADERS")" || return 1
    [[ $lm == "$(http_date_of "$VPATH")" ]] || fail "Last-Modified '$lm', the file says '$(http_date_of "$VPATH")'" || return 1
    etag=$(header ETag) || fail "no ETag:" "$(cat "$HEADERS")" || return 1
    [[ $etag =~ ^\"[^\"]+\"$ ]] || fail "ETag '$etag' is not a quoted strong tag" || return 1
    [[ $(header Accept-Ranges) == bytes ]] || fail "Accept-Ranges '$(header Accept-Ranges)', expected bytes" || return 1
    http_head "$VFILE"
    expect_status 200 || return 1
    [[ $(header ETag) == "$etag" && $(header Last-Modified) == "$lm" && $(header Accept-Ranges) == bytes ]] ||
        fail "HEAD's validators differ from GET's:" "$(cat "$HEADERS")" || return 1
    [[ $(header Content-Length) == 100 ]] || fail "HEAD Content-Length '$(header Content-Length)', expected 100"
}

# expect_not_modified ETAG: the last reply is a 304 with no body that
# repeats the ETag.
expect_not_modified() {
    expect_status 304 || return 1
    [[ $(file_size "$BODY") == 0 ]] || fail "304 with a body of $(file_size "$BODY") bytes" || return 1
    [[ $(header ETag) == "$1" ]] || fail "304 carries ETag '$(header ETag)', expected '$1'"
}

# The browser's reload: GET, then GET with the validators it got.  304 with
# no body for If-None-Match, for If-Modified-Since, for both (HEAD too); a
# different tag wins over a matching date (RFC 9110 13.2.2); and after the
# file changes, the old validators get the new file and a new ETag.
check_revalidation_304() {
    make_validator_file '2020-01-02 03:04:05 UTC'
    http_get "$VFILE"
    expect_status 200 || return 1
    local etag lm
    etag=$(header ETag) && lm=$(header Last-Modified) || fail "no validators:" "$(cat "$HEADERS")" || return 1
    http_get "$VFILE" -H "If-None-Match: $etag"
    expect_not_modified "$etag" || return 1
    http_get "$VFILE" -H "If-Modified-Since: $lm"
    expect_not_modified "$etag" || return 1
    http_get "$VFILE" -H "If-None-Match: $etag" -H "If-Modified-Since: $lm"
    expect_not_modified "$etag" || return 1
    http_head "$VFILE" -H "If-None-Match: W/$etag"
    expect_status 304 || return 1
    http_get "$VFILE" -H 'If-None-Match: "not-this-one"' -H "If-Modified-Since: $lm"
    expect_status 200 || fail "a different ETag must win over a matching date" || return 1
    [[ $(file_size "$BODY") == 100 ]] || fail "200 after a non-matching ETag brought $(file_size "$BODY") bytes" || return 1
    http_get "$VFILE" -H 'If-Modified-Since: Thu, 02 Jan 2020 03:04:04 GMT'
    expect_status 200 || fail "If-Modified-Since a second before the mtime must give the file" || return 1

    printf 'changed\n' > "$VPATH"   # a new size and mtime: a new version
    # stage12's file cache may take up to a second to notice.
    wait_until 3 eval 'http_get "$VFILE" -H "If-None-Match: $etag"; [[ $HTTP_STATUS == 200 ]]' ||
        fail "after a change, the old ETag still gets '$HTTP_STATUS'" || return 1
    cmp -s "$BODY" "$VPATH" || fail "after a change, the body is not the new file" || return 1
    [[ $(header ETag) != "$etag" ]] || fail "the ETag did not change with the file"
}

# expect_range RANGE STATUS [CONTENT-RANGE BODY-FROM BODY-LEN]: GET the
# validator file with "Range: RANGE"; the status, Content-Range and body
# (bytes BODY-FROM.. of the file, BODY-LEN of them) must be as given.
expect_range() {
    http_get "$VFILE" -H "Range: $1"
    [[ $HTTP_STATUS == "$2" ]] || fail "Range: $1 answered '$HTTP_STATUS', expected $2:" "$(cat "$HEADERS")" || return 1
    case $2 in
        206)
            [[ $(header Content-Range) == "$3" ]] ||
                fail "Range: $1 gave Content-Range '$(header Content-Range)', expected '$3'" || return 1
            [[ $(header Content-Length) == "$5" ]] || fail "Range: $1 gave Content-Length '$(header Content-Length)'" || return 1
            cmp -s "$BODY" <(tail -c +$(($4 + 1)) "$VPATH" | head -c "$5") ||
                fail "Range: $1 brought the wrong bytes: '$(head -c 100 "$BODY")'" ;;
        416)
            [[ $(header Content-Range) == "bytes */100" ]] ||
                fail "Range: $1 gave Content-Range '$(header Content-Range)', expected 'bytes */100'" || return 1
            [[ $(file_size "$BODY") == "$(header Content-Length)" ]] || fail "416 framing: Content-Length $(header Content-Length), $(file_size "$BODY") bytes" ;;
        200)
            if header Content-Range >/dev/null; then fail "a 200 with Content-Range: $(header Content-Range)"; return 1; fi
            cmp -s "$BODY" "$VPATH" || fail "Range: $1 ignored, but the body is not the whole file" ;;
    esac
}

# The three forms, clipping, the unsatisfiable and the ignored ones; HEAD
# has no ranges (RFC 9110 14.2).
check_ranges_206_416() {
    make_validator_file '2020-01-02 03:04:05 UTC'
    expect_range 'bytes=0-9' 206 'bytes 0-9/100' 0 10 || return 1
    expect_range 'bytes=95-' 206 'bytes 95-99/100' 95 5 || return 1
    expect_range 'bytes=-7' 206 'bytes 93-99/100' 93 7 || return 1
    expect_range 'bytes=50-5000' 206 'bytes 50-99/100' 50 50 || return 1
    expect_range 'bytes=99-99' 206 'bytes 99-99/100' 99 1 || return 1
    expect_range 'bytes=-500' 206 'bytes 0-99/100' 0 100 || return 1
    expect_range 'bytes=100-' 416 || return 1
    expect_range 'bytes=1000-2000' 416 || return 1
    expect_range 'bytes=-0' 416 || return 1
    expect_range 'bytes=5-3' 200 || return 1
    expect_range 'bytes=0-1,5-6' 200 || return 1
    expect_range 'bytes=x-y' 200 || return 1
    expect_range 'lines=1-2' 200 || return 1
    http_head "$VFILE" -H 'Range: bytes=0-9'
    expect_status 200 || return 1
    [[ $(header Content-Length) == 100 ]] || fail "HEAD with Range: Content-Length '$(header Content-Length)'"
}

# If-Range: the range only of the version the client has (ETag compared
# strongly, or the exact Last-Modified); otherwise the whole file.
check_if_range() {
    make_validator_file '2020-01-02 03:04:05 UTC'
    http_get "$VFILE"
    local etag lm
    etag=$(header ETag) && lm=$(header Last-Modified) || fail "no validators:" "$(cat "$HEADERS")" || return 1
    http_get "$VFILE" -H 'Range: bytes=90-' -H "If-Range: $etag"
    expect_status 206 || return 1
    [[ $(header Content-Range) == 'bytes 90-99/100' ]] || fail "If-Range by ETag: Content-Range '$(header Content-Range)'" || return 1
    http_get "$VFILE" -H 'Range: bytes=90-' -H "If-Range: $lm"
    expect_status 206 || fail "If-Range with the Last-Modified date must give the range" || return 1
    http_get "$VFILE" -H 'Range: bytes=90-' -H 'If-Range: "an-older-version"'
    expect_status 200 || return 1
    cmp -s "$BODY" "$VPATH" || fail "If-Range of another version: the body is not the whole file" || return 1
    http_get "$VFILE" -H 'Range: bytes=90-' -H "If-Range: W/$etag"
    expect_status 200 || fail "a weak tag in If-Range must not match" || return 1
    http_get "$VFILE" -H 'Range: bytes=90-' -H 'If-Range: Wed, 01 Jan 2020 00:00:00 GMT'
    expect_status 200 || fail "If-Range with another date must give the whole file"
}

# A 304, a 416, a 206 and a 200 on one keep-alive connection, pipelined: each
# framed exactly (a 304 has no body, a 416 none beyond its Content-Length).
check_validators_keepalive_framing() {
    make_validator_file '2020-01-02 03:04:05 UTC'
    http_get "$VFILE"
    local etag req
    etag=$(header ETag) || fail "no ETag" || return 1
    req="GET $VFILE HTTP/1.1\r\nHost: t\r\nIf-None-Match: $etag\r\n\r\n"
    req+="GET $VFILE HTTP/1.1\r\nHost: t\r\nRange: bytes=500-\r\n\r\n"
    req+="GET $VFILE HTTP/1.1\r\nHost: t\r\nRange: bytes=10-19\r\n\r\n"
    req+="GET /hello.txt HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
    raw_request "$req"
    expect_closed_cleanly '304, 416, 206 and 200 pipelined' || return 1
    split_replies "$REPLY"
    ((REPLY_COUNT == 4)) || fail "$REPLY_COUNT replies to 4 requests:" "$(head -c 1500 "$REPLY")" || return 1
    local d=$BATS_TEST_TMPDIR i want=(304 416 206 200)
    for i in 1 2 3 4; do
        [[ $(reply_status "$d/split.$i.head") == "${want[$((i - 1))]}" ]] ||
            fail "reply $i: $(head -n 1 "$d/split.$i.head"), expected ${want[$((i - 1))]}" || return 1
    done
    [[ $(file_size "$d/split.1.body") == 0 ]] || fail "the 304 had a body" || return 1
    cmp -s "$d/split.3.body" <(tail -c +11 "$VPATH" | head -c 10) || fail "the 206 body is wrong" || return 1
    cmp -s "$d/split.4.body" "$DOCROOT/hello.txt" || fail "the 200 after them is out of frame"
}

# curl -C - after a real interruption (curl stopped by --max-time halfway
# through a rate-limited download): it asks for the rest, gets a 206, and
# the joined file is byte-exact.
check_curl_resume_big() {
    local out=$BATS_TEST_TMPDIR/big.part got code
    curl -sS --max-time 2 --limit-rate 10M -o "$out" "http://127.0.0.1:$PORT/big.bin" 2>/dev/null || true
    got=$(file_size "$out" 2>/dev/null || echo 0)
    ((got > 0 && got < BIG_SIZE)) || fail "the interrupted download has $got bytes: not a partial file" || return 1
    code=$(curl -sS --max-time 60 -C - -o "$out" -w '%{http_code}' "http://127.0.0.1:$PORT/big.bin" \
        2>"$BATS_TEST_TMPDIR/curl.err") || fail "curl -C - failed: $(cat "$BATS_TEST_TMPDIR/curl.err")" || return 1
    [[ $code == 206 ]] || fail "curl -C - from byte $got got '$code', expected 206" || return 1
    [[ $(file_size "$out") == "$BIG_SIZE" ]] || fail "resumed file has $(file_size "$out") of $BIG_SIZE bytes" || return 1
    [[ $(sha256sum < "$out" | cut -d' ' -f1) == "$(big_sha256)" ]] || fail "the resumed file differs from big.bin"
}

# wget -c continues a partial big.bin (its first 20 000 000 bytes, fetched
# with a range) with a range request of its own.
check_wget_continue() {
    command -v wget >/dev/null || skip "wget is not installed (apt-get install wget)"
    local dir=$BATS_TEST_TMPDIR/wget
    mkdir -p "$dir"
    local code
    code=$(curl -sS --max-time 30 -r 0-19999999 -o "$dir/big.bin" -w '%{http_code}' \
        "http://127.0.0.1:$PORT/big.bin" 2>&1) || true
    [[ $code == 206 && $(file_size "$dir/big.bin") == 20000000 ]] ||
        fail "the first 20 MB: status '$code', $(file_size "$dir/big.bin") bytes" || return 1
    (cd "$dir" && timeout 60 wget -q -c -S "http://127.0.0.1:$PORT/big.bin" 2>"$dir/wget.err") ||
        fail "wget -c failed: $(cat "$dir/wget.err")" || return 1
    grep -q 'HTTP/1.1 206' "$dir/wget.err" || fail "wget -c was not answered 206:" "$(cat "$dir/wget.err")" || return 1
    [[ $(sha256sum < "$dir/big.bin" | cut -d' ' -f1) == "$(big_sha256)" ]] || fail "wget -c: the joined file differs from big.bin"
}

# A real browser revalidates: headless Chromium loads a page (and its
# stylesheet) twice with one profile; the second time it sends the
# validators from its disk cache and the server's -v log shows 304s.  The
# files are brand new, so the browser's heuristic freshness (a tenth of the
# time since Last-Modified) is over long before the second load starts.
check_chromium_revalidates() {
    local browser
    browser=$(command -v chromium || command -v chromium-browser) ||
        skip "chromium is not installed (apt-get install chromium)"
    stop_server
    local page=$DOCROOT/browser-$BATS_TEST_NUMBER
    mkdir -p "$page"
    printf '<!DOCTYPE html>\n<html><head><link rel="stylesheet" href="s.css"></head><body><p>twice</p></body></html>\n' > "$page/index.html"
    printf 'p { color: green }\n' > "$page/s.css"
    chmod -R a+rX "$page"
    start_server -v
    local i profile=$BATS_TEST_TMPDIR/chromium-profile
    for i in 1 2; do
        # --no-sandbox: its sandbox refuses to run as root, which CI is.
        HOME=$BATS_TEST_TMPDIR timeout 30 "$browser" --headless=new --no-sandbox --disable-gpu \
            --user-data-dir="$profile" --dump-dom "http://127.0.0.1:$PORT/browser-$BATS_TEST_NUMBER/" \
            </dev/null >"$BATS_TEST_TMPDIR/dom.$i" 2>"$BATS_TEST_TMPDIR/chromium.$i.err" 3>&- ||
            fail "chromium failed (load $i): $(tail -5 "$BATS_TEST_TMPDIR/chromium.$i.err")" || return 1
        grep -q twice "$BATS_TEST_TMPDIR/dom.$i" || fail "load $i did not render the page" || return 1
        sleep 1
    done
    local path="/browser-$BATS_TEST_NUMBER/"
    grep -q "^GET $path 200 " "$SERVER_LOG" && grep -q "^GET ${path}s.css 200 " "$SERVER_LOG" ||
        fail "the first load did not fetch both files:" "$(grep "$path" "$SERVER_LOG")" || return 1
    wait_until 2 eval 'grep -q "^GET $path 304 " "$SERVER_LOG" && grep -q "^GET ${path}s.css 304 " "$SERVER_LOG"' ||
        fail "the second load did not revalidate to 304s:" "$(grep "$path" "$SERVER_LOG")"
}
