#!/usr/bin/env bats
# stage03 — fork per connection.  Every HTTP behaviour of stage02, plus the
# concurrency group; then what the process model owes: children reaped (no
# zombies), the parent's descriptors back at baseline, 503 when fork fails.

load lib/common

setup_file() { make_fixture_docroot; }
setup() { start_server; }
teardown() { stop_server; }

# basics
@test "GET / serves index.html" { check_get_index; }
@test "HEAD matches GET without a body" { check_head_matches_get; }
@test "Content-Type by extension" { check_content_types; }
@test "required headers on every response" { check_required_headers; }
@test "one request per connection, Connection: close" { check_short_connection_close; }

# errors
@test "405 with Allow for other methods" { check_405_allow; }
@test "400 for garbage" { check_400_garbage; }
@test "414 for a target over 8 KiB" { check_414_long_target; }
@test "431 for a head over 16 KiB" { check_431_big_head; }
@test "505 for other HTTP versions" { check_505_version; }
@test "501 for Transfer-Encoding" { check_501_transfer_encoding; }
@test "400 for Transfer-Encoding with Content-Length" { check_400_te_with_cl; }

# paths
@test "301 for a directory without slash" { check_301_directory; }
@test "404 for a missing file" { check_404_missing; }
@test "404 for a name segment longer than NAME_MAX, or a path longer than PATH_MAX" { check_404_long_segment; }
@test "404 for a directory without index" { check_404_dir_without_index; }
@test "traversal battery refused" { check_traversal_battery; }
@test "symlink out of the docroot refused" { check_symlink_out_refused; }
@test "403 for an unreadable file" { check_403_unreadable; }
@test "query and fragment ignored" { check_query_and_fragment_ignored; }
@test "percent-decoding, once" { check_percent_decoding; }

# big
@test "50 MB file byte-exact" { check_big_file_exact; }
@test "50 MB file byte-exact to a slow reader" { check_big_file_slow_reader; }

# validators and ranges (tests/lib/checks_validators.bash)
@test "Last-Modified, ETag, Accept-Ranges on GET and HEAD" { check_validators_on_files; }
@test "a reload revalidates: 304, RFC 9110 precedence" { check_revalidation_304; }
@test "206 and 416 edge cases, invalid and multiple ranges ignored" { check_ranges_206_416; }
@test "If-Range" { check_if_range; }
@test "curl -C - resumes an interrupted 50 MB download byte-exact" { check_curl_resume_big; }
@test "wget -c continues a partial download" { check_wget_continue; }
@test "headless Chromium revalidates a page on its second load (304)" { check_chromium_revalidates; }

# partial
@test "request one byte at a time" { check_one_byte_at_a_time; }
@test "GET body read and discarded" { check_get_body_discarded; }

# resets
@test "resets mid-download: server survives, no leak" { check_resets_mid_download; }
@test "descriptors back to baseline after 500 requests" { check_fd_baseline_after_500; }

# concurrency
@test "a stalled client does not delay others" { check_stalled_client_does_not_delay_others; }
@test "200 parallel clients all answered" { check_200_parallel_clients; }
@test "a slow reader does not block others" { check_slow_reader_does_not_block_others; }

# lifecycle
@test "ready line" { check_ready_line; }
@test "-v logs each request" { check_verbose_log; }
@test "SIGTERM and SIGINT exit 0" { check_sigterm_exits_0; }
@test "SIGTERM mid-reply to a client that never reads: gone within 1 s" { check_sigterm_mid_reply; }
@test "bad option exits 2" { check_bad_option_exits_2; }
@test "port in use exits 2" { check_port_in_use_exits_2; }
@test "restart on the same port at once (TIME_WAIT)" { check_restart_same_port; }
@test "missing docroot exits 2" { check_missing_docroot_exits_2; }

# hostile clients (tests/lib/hostile.bash)
load lib/hostile
@test "hostile: 10 000-byte header lines" { check_hostile_long_header_lines; }
@test "hostile: 1 000 headers" { check_hostile_1000_headers; }
@test "hostile: NUL in the target" { check_hostile_nul_in_target; }
@test "hostile: invalid UTF-8" { check_hostile_invalid_utf8; }
@test "hostile: bad Content-Length" { check_hostile_content_length; }
@test "hostile: smuggling shapes (CL+TE, TE variants)" { check_hostile_smuggling; }
@test "hostile: HTTP/0.9 request" { check_hostile_http09; }
@test "hostile: absolute-form target" { check_hostile_absolute_form; }
@test "hostile: lower-case method" { check_hostile_lowercase_method; }
@test "hostile: bare LF line ends accepted" { check_hostile_bare_lf; }
@test "hostile: resets at every phase" { check_hostile_resets_every_phase; }
@test "hostile: half-closed client gets its reply" { check_hostile_half_close; }
@test "hostile: slowloris crowd, others still served" { check_hostile_slowloris; }
@test "hostile: symlink swap race, nothing from outside" { check_symlink_swap_race; }

# --- the fork model -------------------------------------------------------------

# Children of the server that are zombies (exited, not yet reaped).
zombie_children() {
    local c
    for c in $(child_pids "$SERVER_PID"); do
        [[ $(sed 's/^.*) \(.\).*$/\1/' "/proc/$c/stat" 2>/dev/null) == Z ]] && echo "$c"
    done
    return 0
}
no_children_left() { [[ -z $(child_pids "$SERVER_PID") ]]; }

# 300 connections, one after another and 50 at a time: afterwards no child
# is left (neither running nor a zombie) and the parent holds the same
# descriptors as before.
check_no_zombies_after_300() {
    http_get /hello.txt
    expect_status 200 || return 1
    wait_until 5 no_children_left || fail "children left after one request: $(child_pids "$SERVER_PID")" || return 1
    local base codes out
    base=$(fd_count "$SERVER_PID")
    codes=$(curl -s --max-time 60 -o /dev/null -w '%{http_code}\n' \
        "http://127.0.0.1:$PORT/hello.txt?n=[1-250]" | grep -c '^200$' || true)
    [[ $codes == 250 ]] || fail "only $codes of 250 sequential requests answered 200" || return 1
    out=$(parallel_gets 50 20 /index.html)
    expect_all_ok 50 "$DOCROOT/index.html" "$out" || return 1
    wait_until 5 no_children_left ||
        fail "children still there after 300 connections: $(child_pids "$SERVER_PID") (zombies: $(zombie_children))" ||
        return 1
    [[ $(fd_count "$SERVER_PID") == "$base" ]] ||
        fail "the parent holds $(fd_count "$SERVER_PID") descriptors, $base before" || return 1
}
@test "no zombies and descriptors at baseline after 300 connections" { check_no_zombies_after_300; }

# While clients are served, each has a process of its own.
check_one_child_per_client() {
    spawn_helper "$NETPOKE" -m 5 -H 2 -t 5 "$PORT" 'GET /hello.txt HTTP/1.1\r\nHost: te'
    local stallers=$HELPER_PID
    wait_until 3 eval '(( $(child_pids "$SERVER_PID" | wc -l) == 5 ))' ||
        fail "expected 5 children while 5 clients stall, saw $(child_pids "$SERVER_PID" | wc -l)" || return 1
    wait_helper "$stallers" 5 || fail "the stalled clients did not finish" || return 1
    wait_until 5 no_children_left || fail "children did not end after their clients left"
}
@test "one child process per connected client" { check_one_child_per_client; }

# With a process limit that forbids any child, every client gets a 503 and
# the server keeps running.  RLIMIT_NPROC does not bind root, so as root the
# server runs as nobody (as in check_403_unreadable).
check_503_when_fork_fails() {
    command -v prlimit > /dev/null || skip "prlimit(1) is missing"
    local wrap="prlimit --nproc=1:1"
    if ((EUID == 0)); then
        command -v setpriv > /dev/null || skip "running as root and setpriv(1) is missing"
        make_path_traversable "$DOCROOT"
        setpriv --reuid=nobody --regid=nogroup --clear-groups test -r "$DOCROOT/hello.txt" -a -x "$SERVER" ||
            skip "user nobody cannot reach $DOCROOT or $SERVER"
        wrap="setpriv --reuid=nobody --regid=nogroup --clear-groups $wrap"
    fi
    stop_server
    rm -f "$SERVER_LOG" # start_server must not find the old server's ready line in it
    SERVER_WRAPPER="$wrap ${SERVER_WRAPPER:-}" start_server || return 1
    local i
    for i in 1 2 3; do
        raw_request 'GET /hello.txt HTTP/1.0\r\n\r\n'
        [[ $REPLY_STATUS == 503 ]] || fail "request $i under a process limit of 1 answered '$REPLY_STATUS'" || return 1
        expect_framed "$REPLY" || return 1
    done
    process_alive "$SERVER_PID" || fail "the server died when fork failed"
}
@test "503 when fork fails, and the server goes on" { check_503_when_fork_fails; }

# out of descriptors (tests/lib/checks_emfile.bash)
@test "out of descriptors (EMFILE): no spin, bounded log, serves again" { check_emfile_idle_crowd; }
