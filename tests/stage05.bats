#!/usr/bin/env bats
# stage05 — a thread per connection.  Every HTTP behaviour of stage02, plus
# the concurrency group; then what the thread model owes: a thread per
# client while it is served, back to the main thread alone afterwards (the
# threads are detached and really end), 503 when no thread can be made.

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

# --- the thread model -----------------------------------------------------------

threads_are() { [[ $(thread_count "$SERVER_PID") == "$1" ]]; }

# 200 clients at once (and 5 stalled ones for a while): afterwards the
# process is back to its one main thread and its baseline descriptors.
check_threads_back_to_one() {
    wait_until 2 threads_are 1 || fail "$(thread_count "$SERVER_PID") threads before any client" || return 1
    local base out
    base=$(fd_count "$SERVER_PID")
    spawn_helper "$NETPOKE" -m 5 -H 2 -t 5 "$PORT" 'GET /hello.txt HTTP/1.1\r\nHost: te'
    local stallers=$HELPER_PID
    wait_until 3 threads_are 6 || fail "5 stalled clients: $(thread_count "$SERVER_PID") threads, expected 6" || return 1
    out=$(parallel_gets 200 20 /index.html)
    expect_all_ok 200 "$DOCROOT/index.html" "$out" || return 1
    wait_helper "$stallers" 5 || fail "the stalled clients did not finish" || return 1
    wait_until 5 threads_are 1 || fail "after 205 clients: $(thread_count "$SERVER_PID") threads, expected 1" || return 1
    wait_fds_back "$base"
}
@test "a thread per client, back to one thread after 200 clients" { check_threads_back_to_one; }

# 300 clients one after another: the address space stays where it was.  A
# detached thread's stack goes back (to glibc's cache, reused by the next
# thread) when the thread ends; a joinable one that nobody joins keeps its
# stack for ever, 128 KiB per client.
vm_kb() { sed -n 's/^VmSize:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$SERVER_PID/status"; }
check_thread_stacks_given_back() {
    local out before after
    out=$(parallel_gets 20 20 /hello.txt)       # warm up: the stack cache fills
    expect_all_ok 20 "$DOCROOT/hello.txt" "$out" || return 1
    wait_until 5 threads_are 1 || fail "$(thread_count "$SERVER_PID") threads after 20 clients" || return 1
    before=$(vm_kb)
    out=$(curl -s --max-time 60 -o /dev/null -w '%{http_code}\n' \
        "http://127.0.0.1:$PORT/hello.txt?n=[1-300]" | grep -c '^200$' || true)
    [[ $out == 300 ]] || fail "only $out of 300 requests answered 200" || return 1
    wait_until 5 threads_are 1 || fail "$(thread_count "$SERVER_PID") threads after 300 clients" || return 1
    after=$(vm_kb)
    ((after - before < 8192)) ||
        fail "address space $before kB before 300 clients, $after kB after: the stacks of finished threads were not given back"
}
@test "stacks of finished threads are given back" { check_thread_stacks_given_back; }

# A process limit of 1 forbids any new thread (threads count as processes
# for RLIMIT_NPROC): every client gets a 503 and the server keeps running.
# RLIMIT_NPROC does not bind root, so as root the server runs as nobody.
check_503_when_no_thread() {
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
    process_alive "$SERVER_PID" || fail "the server died when pthread_create failed"
}
@test "503 when no thread can be created, and the server goes on" { check_503_when_no_thread; }

# out of descriptors (tests/lib/checks_emfile.bash)
@test "out of descriptors (EMFILE): no spin, bounded log, serves again" { check_emfile_idle_crowd --expect-emfile; }
