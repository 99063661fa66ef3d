#!/usr/bin/env bats
# stage01 — iterative, one fixed reply.  It answers every request, whatever
# it asks for, with the same small page; so it promises framing (a correct
# Content-Length, Connection: close, a clean close), robustness (requests in
# pieces, resets, no leaked descriptor) and the command-line lifecycle, but
# none of the file-serving behaviours.

load lib/common

setup_file() { make_fixture_docroot; }
setup() { start_server; }
teardown() { stop_server; }

# fetch_fixed_page: the page as GET / returns it, into $FIXED_PAGE.
fetch_fixed_page() {
    http_get /
    expect_status 200 || return 1
    FIXED_PAGE="$BATS_TEST_TMPDIR/fixed.page"
    cp "$BODY" "$FIXED_PAGE"
}

# Every request gets the same complete HTML page, framed and closed.
check_fixed_page() {
    fetch_fixed_page || return 1
    [[ -s $FIXED_PAGE ]] || fail "the page is empty" || return 1
    grep -q '<html' "$FIXED_PAGE" || fail "the page is not HTML" || return 1
    [[ $(header Content-Type) == text/html* ]] || fail "Content-Type '$(header Content-Type)'" || return 1
    local req
    for req in 'GET / HTTP/1.1\r\nHost: test\r\n\r\n' 'GET /hello.txt HTTP/1.0\r\n\r\n' \
               'GET /no/such/file?x=1 HTTP/1.1\r\nHost: test\r\n\r\n' 'POST /form HTTP/1.0\r\n\r\n'; do
        expect_reply 200 "$req" || return 1
        reply_body "$REPLY" | cmp -s - "$FIXED_PAGE" || fail "sent '$req': a different page" || return 1
    done
}

# The page still comes when the request arrives one byte at a time.
check_fixed_page_one_byte_at_a_time() {
    fetch_fixed_page || return 1
    raw_request 'GET /anything HTTP/1.1\r\nHost: test\r\nUser-Agent: netpoke\r\n\r\n' -c 1 -d 3
    expect_closed_cleanly 'a one-byte-at-a-time request' || return 1
    [[ $REPLY_STATUS == 200 ]] || fail "answered '$REPLY_STATUS'" || return 1
    expect_framed "$REPLY" || return 1
    reply_body "$REPLY" | cmp -s - "$FIXED_PAGE" || fail "a different page"
}

# A request with a 300 KB body it never reads: the page still arrives whole,
# not destroyed by the reset an early close() would send.
check_fixed_page_despite_body() {
    fetch_fixed_page || return 1
    head -c 300000 /dev/zero | tr '\0' 'b' > "$BATS_TEST_TMPDIR/req.body"
    raw_request 'POST /upload HTTP/1.1\r\nHost: test\r\nContent-Length: 300000\r\n\r\n' \
        -f "$BATS_TEST_TMPDIR/req.body"
    expect_closed_cleanly 'POST with a 300 KB body' || return 1
    [[ $REPLY_STATUS == 200 ]] || fail "answered '$REPLY_STATUS'" || return 1
    reply_body "$REPLY" | cmp -s - "$FIXED_PAGE" || fail "a different or cut page"
}

# 500 requests (normal, garbage, resets, silent) leave the descriptors as they were.
check_fixed_fd_baseline_after_500() {
    local base codes i
    http_get /
    base=$(tree_fd_count "$SERVER_PID")
    codes=$(curl -s --max-time 60 -o /dev/null -w '%{http_code}\n' \
        "http://127.0.0.1:$PORT/page[1-450]" | grep -c '^200$' || true)
    [[ $codes == 450 ]] || fail "only $codes of 450 requests answered 200" || return 1
    for i in $(seq 20); do
        raw_request 'garbage\r\n\r\n'
        [[ $REPLY_STATUS == 200 ]] || fail "garbage got '$REPLY_STATUS' instead of the page" || return 1
        raw_request 'GET / HTTP/1.0\r\n\r\n' -R 10
    done
    for i in $(seq 10); do
        raw_request '' -n
    done
    http_get /
    expect_status 200 || return 1
    wait_fds_back "$base"
}

# -v: one line per request with method, path and status.
check_fixed_verbose_log() {
    stop_server
    start_server -v || return 1
    http_get /some/path.html
    expect_status 200 || return 1
    wait_until 2 grep -q '/some/path.html' "$SERVER_LOG" ||
        fail "no log line for the request:" "$(cat "$SERVER_LOG")" || return 1
    grep '/some/path.html' "$SERVER_LOG" | grep 'GET' | grep -q ' 200' ||
        fail "the log line lacks method or status:" "$(cat "$SERVER_LOG")"
}

# the reply
@test "every request gets the fixed page, framed and closed" { check_fixed_page; }
@test "required headers on every response" { check_required_headers; }
@test "one request per connection, Connection: close" { check_short_connection_close; }

# partial
@test "request one byte at a time" { check_fixed_page_one_byte_at_a_time; }
@test "unread request body does not destroy the reply" { check_fixed_page_despite_body; }

# resets
@test "resets mid-reply: server survives, no leak" { check_resets_mid_download / 100; }
@test "descriptors back to baseline after 500 requests" { check_fixed_fd_baseline_after_500; }

# lifecycle
@test "ready line" { check_ready_line; }
@test "-v logs each request" { check_fixed_verbose_log; }
@test "SIGTERM and SIGINT exit 0" { check_sigterm_exits_0; }
@test "bad option exits 2" { check_bad_option_exits_2; }
@test "port in use exits 2" { check_port_in_use_exits_2; }
@test "restart on the same port at once (TIME_WAIT)" { check_restart_same_port; }
@test "missing docroot exits 2" { check_missing_docroot_exits_2; }

# out of descriptors (tests/lib/checks_emfile.bash)
@test "out of descriptors (EMFILE): no spin, bounded log, serves again" { check_emfile_idle_crowd; }
