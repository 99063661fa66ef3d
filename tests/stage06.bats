#!/usr/bin/env bats
# stage06 — coroutines on one thread.  Every HTTP behaviour of stage02, plus
# the concurrency group; then what the coroutine model owes: one thread
# under load, and the stacks given back when clients leave.

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

# --- the coroutine model ----------------------------------------------------------

status_kb() { sed -n "s/^$1:[[:space:]]*\([0-9]*\) kB/\1/p" "/proc/$SERVER_PID/status"; }
fds_at_least() { (($(fd_count "$SERVER_PID") >= $1)); }

# Under load (200 parallel clients, stalled ones besides) the server is
# still one thread in one process.
check_one_thread_under_load() {
    local base out
    base=$(fd_count "$SERVER_PID")
    spawn_helper "$NETPOKE" -m 20 -H 4 -t 8 "$PORT" 'GET /hello.txt HTTP/1.1\r\nHost: te'
    wait_until 3 fds_at_least $((base + 20)) || fail "the 20 stalled clients were not accepted" || return 1
    [[ $(thread_count "$SERVER_PID") == 1 ]] || fail "$(thread_count "$SERVER_PID") threads with 20 clients" || return 1
    out=$(parallel_gets 200 20 /index.html) &
    local load=$! max=1 n i
    for i in $(seq 20); do
        n=$(thread_count "$SERVER_PID")
        ((n > max)) && max=$n
        sleep 0.05
    done
    wait "$load"
    ((max == 1)) || fail "up to $max threads under load, expected 1" || return 1
    [[ -z $(child_pids "$SERVER_PID") ]] || fail "the server has child processes: $(child_pids "$SERVER_PID")"
}
@test "one thread under load" { check_one_thread_under_load; }

# A SIGTERM that arrives while a coroutine runs is not lost.  strace injects
# it at the server's first accept() (the accept coroutine tries once at
# start, and parks on EAGAIN): the server must be gone within 2 s, though
# no client ever comes to wake it.  Were the stop signals unblocked inside
# coroutines, the handler would run there and then, and the scheduler would
# go to sleep in ppoll() with nothing pending, for as long as nobody calls.
check_sigterm_at_first_accept() {
    command -v strace > /dev/null || skip "strace(1) is missing (apt-get install strace)"
    local trace=$BATS_TEST_TMPDIR/accept.trace log=$BATS_TEST_TMPDIR/accept.log
    stop_server
    # Started here, not with start_server: a correct server may be gone
    # before its ready line has been read.  LeakSanitizer cannot run under
    # ptrace: off for this one server.
    env ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" strace -f -qq -o "$trace" \
        -e trace=accept,accept4 -e inject=accept,accept4:signal=SIGTERM:when=1 \
        ${SERVER_WRAPPER:-} "$SERVER" -p 0 -r "$DOCROOT" -b 127.0.0.1 </dev/null >/dev/null 2>"$log" 3>&- &
    SERVER_PID=$!   # teardown's stop_server ends it (and what it traces) if it stays
    wait_until 5 grep -qs accept "$trace" ||
        fail "the server did not call accept() without a client:" "$(cat "$log")" || return 1
    wait_until 2 eval '! process_alive "$SERVER_PID"' ||
        fail "SIGTERM came at its first accept(): still running 2 s later" || return 1
    local pid=$SERVER_PID status=0
    SERVER_PID=
    wait "$pid" 2>/dev/null || status=$?
    grep -q ' listening on ' "$log" || fail "no ready line:" "$(cat "$log")" || return 1
    [[ $status == 0 ]] || fail "after SIGTERM at its first accept() the server exited with $status:" "$(cat "$log")"
}
@test "a SIGTERM that lands while a coroutine runs is not lost" { check_sigterm_at_first_accept; }

# 10 000 connections, 500 at a time, each a coroutine with its own stack.
# While 500 are held, the address space has grown by at least their stacks
# (64 KiB each); after all have left, address space and resident memory are
# back within 4 MB of where they were: the stacks were unmapped.  In an
# AddressSanitizer build only the address space is compared: ASan keeps
# freed heap blocks resident in its quarantine on purpose.
check_memory_back_after_10000() {
    http_get /hello.txt
    expect_status 200 || return 1
    local base_fd base_vm base_rss peak_vm peak_rss vm rss i
    base_fd=$(fd_count "$SERVER_PID")
    base_vm=$(status_kb VmSize)
    base_rss=$(status_kb VmRSS)
    spawn_helper "$NETPOKE" -m 500 -H 3 -t 10 "$PORT" 'GET /hello.txt HTTP/1.1\r\nHost: te'
    local held=$HELPER_PID
    wait_until 5 fds_at_least $((base_fd + 500)) || fail "500 clients were not all accepted" || return 1
    peak_vm=$(status_kb VmSize)
    peak_rss=$(status_kb VmRSS)
    ((peak_vm - base_vm >= 500 * 64)) ||
        fail "with 500 clients the address space grew by only $((peak_vm - base_vm)) kB" || return 1
    wait_helper "$held" 8 || fail "the held clients did not finish" || return 1
    for i in $(seq 19); do
        "$NETPOKE" -m 500 -H 0 -t 10 "$PORT" 'GET /hello.txt HTTP/1.1\r\nHost: te' > /dev/null ||
            fail "round $i of 500 connections failed" || return 1
    done
    wait_fds_back "$base_fd" || return 1
    http_get /hello.txt
    expect_status 200 || return 1
    vm=$(status_kb VmSize)
    rss=$(status_kb VmRSS)
    echo "# VmSize kB: $base_vm -> $peak_vm (500 clients) -> $vm; VmRSS kB: $base_rss -> $peak_rss -> $rss" >&3
    ((vm - base_vm < 4096)) || fail "address space $base_vm kB before, $vm kB after 10 000 connections" || return 1
    grep -qa '__asan_init' "$SERVER" && return 0
    ((rss - base_rss < 4096)) || fail "resident memory $base_rss kB before, $rss kB after 10 000 connections"
}
@test "memory back near baseline after 10 000 connections" { check_memory_back_after_10000; }

# When no stack can be mapped (an address-space limit set on the running
# server), the next client gets 503; when the held clients leave, their
# stacks are unmapped and service resumes.  Sanitizer builds reserve
# terabytes of address space for their shadow memory, so a limit cannot be
# set in them: skipped there.
check_503_when_no_stack() {
    command -v prlimit > /dev/null || skip "prlimit(1) is missing"
    grep -qa '__asan_init' "$SERVER" && skip "AddressSanitizer build: no address-space limit possible"
    http_get /hello.txt
    expect_status 200 || return 1
    local base_fd
    base_fd=$(fd_count "$SERVER_PID")
    prlimit --pid "$SERVER_PID" --as=$(($(status_kb VmSize) * 1024 + 2 * 1024 * 1024)) ||
        fail "prlimit failed" || return 1
    spawn_helper "$NETPOKE" -m 100 -H 3 -t 8 "$PORT" 'GET /hello.txt HTTP/1.1\r\nHost: te'
    local held=$HELPER_PID
    wait_until 5 fds_at_least $((base_fd + 20)) || fail "the held clients were not accepted" || return 1
    sleep 0.3
    raw_request 'GET /hello.txt HTTP/1.0\r\n\r\n'
    [[ $REPLY_STATUS == 503 ]] || fail "with 100 held clients and 2 MB to spare: '$REPLY_STATUS', expected 503" || return 1
    expect_framed "$REPLY" || return 1
    wait_helper "$held" 8 || fail "the held clients did not finish" || return 1
    wait_fds_back "$base_fd" || return 1
    http_get /hello.txt
    expect_status 200
}
@test "503 when no stack can be mapped, service resumes after" { check_503_when_no_stack; }

# out of descriptors (tests/lib/checks_emfile.bash)
@test "out of descriptors (EMFILE): no spin, bounded log, serves again" { check_emfile_idle_crowd --expect-emfile; }
# SIGTERM and SIGINT are let through only inside the scheduler's ppoll; while
# a coroutine runs they must stay blocked, or a stop that lands then sets the
# flag and ppoll goes to sleep without seeing it.  A ucontext carries a
# signal mask and swapcontext installs it (rt_sigprocmask), so strace shows
# the mask each coroutine runs with: it must include INT and TERM.
check_coroutines_keep_stop_signals_blocked() {
    command -v strace >/dev/null || skip "strace(1) is missing"
    local trace=$BATS_TEST_TMPDIR/strace.out tracer
    strace -q -f -e trace=rt_sigprocmask -o "$trace" -p "$SERVER_PID" 2>/dev/null 3>&- &
    tracer=$!
    HELPER_PIDS+=("$tracer")
    wait_until 5 eval 'grep -q "^TracerPid:[[:space:]]*$tracer\$" /proc/$SERVER_PID/status' ||
        fail "strace did not attach to the server" || return 1
    http_get /hello.txt
    expect_status 200 || return 1
    http_get /index.html
    expect_status 200 || return 1
    wait_until 5 eval 'grep -q SIG_SETMASK "$trace"' || true
    kill -INT "$tracer" 2>/dev/null
    wait "$tracer" 2>/dev/null || true
    local sets
    sets=$(grep 'SIG_SETMASK' "$trace" | grep -v 'resumed>' || true)
    [[ -n $sets ]] || fail "no context switch installed a signal mask:" "$(head -n 20 "$trace")" || return 1
    local bad
    bad=$(grep -v 'SIG_SETMASK, \[[^]]*INT TERM' <<<"$sets" || true)
    [[ -z $bad ]] || fail "a switch let SIGINT/SIGTERM through outside ppoll:" "$(head -n 5 <<<"$bad")"
}
@test "coroutines run with SIGINT and SIGTERM blocked" { check_coroutines_keep_stop_signals_blocked; }
