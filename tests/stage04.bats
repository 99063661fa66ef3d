#!/usr/bin/env bats
# stage04 — a pre-forked pool of -w N workers.  Every HTTP behaviour of
# stage02, plus the concurrency group (run with more workers than the checks'
# stalled clients: a pool of N is stalled by N clients, its weakness); then
# what the master owes: N+1 processes, a dead worker replaced at once while
# requests go on, nothing left running after SIGTERM.

load lib/common

setup_file() { make_fixture_docroot; }
setup() { start_server -w 8; }
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
@test "hostile: symlink swap race, nothing from outside" { check_symlink_swap_race; }

# The pool's weakness, asserted as such: as many slowloris connections as
# there are workers stall it (stage05 and stage06 survive the whole crowd).
check_slowloris_stalls_the_pool() {
    restart_with -w 4 || return 1
    check_hostile_slowloris_blocks 4
}
@test "weakness: 4 slowloris connections stall a pool of 4" { check_slowloris_stalls_the_pool; }

# --- the pool -----------------------------------------------------------------

worker_pids() { child_pids "$SERVER_PID" | sort; }
worker_count_is() { (($(worker_pids | wc -l) == $1)); }

# A new server in the same test.  The old log goes first: start_server reads
# the port from it, and could find the old server's ready line before the
# new server has truncated the file.
restart_with() {
    stop_server
    rm -f "$SERVER_LOG"
    start_server "$@"
}

# -w N: the master and N workers, and no more while requests come and go.
check_process_count() {
    restart_with -w 3 || return 1
    wait_until 2 worker_count_is 3 || fail "-w 3 gave $(worker_pids | wc -l) workers" || return 1
    local codes
    codes=$(curl -s --max-time 30 -o /dev/null -w '%{http_code}\n' \
        "http://127.0.0.1:$PORT/hello.txt?n=[1-50]" | grep -c '^200$' || true)
    [[ $codes == 50 ]] || fail "only $codes of 50 requests answered 200" || return 1
    worker_count_is 3 || fail "after 50 requests: $(worker_pids | wc -l) workers, expected 3"
}
@test "-w 3 runs 3 workers under one master" { check_process_count; }

check_default_worker_count() {
    restart_with || return 1
    local cpus
    cpus=$(getconf _NPROCESSORS_ONLN)
    wait_until 2 worker_count_is "$cpus" || fail "default pool has $(worker_pids | wc -l) workers, expected $cpus"
}
@test "default pool: one worker per CPU" { check_default_worker_count; }

# kill -9 one worker between two requests of a steady sequence: every request
# before, during and after is answered, and a new worker takes the empty
# place within a second.
check_killed_worker_replaced() {
    restart_with -w 2 || return 1
    wait_until 2 worker_count_is 2 || fail "no pool of 2" || return 1
    local before victim i out
    before=$(worker_pids)
    victim=$(head -n 1 <<< "$before")
    for i in $(seq 40); do
        if ((i == 10)); then
            kill -KILL "$victim"
        fi
        out=$(get_within 2 /hello.txt)
        [[ $out == "200 $(file_size "$DOCROOT/hello.txt")" ]] ||
            fail "request $i (the worker was killed before request 10): '$out'" || return 1
    done
    wait_until 1 eval 'worker_count_is 2 && ! grep -qx "$victim" <<< "$(worker_pids)"' ||
        fail "no replacement within 1 s: workers were '$before', now '$(worker_pids)'" || return 1
    grep -q "killed by signal 9" "$SERVER_LOG" || fail "the master did not report the death:" "$(cat "$SERVER_LOG")"
}
@test "a worker killed with -9 is replaced, requests go on" { check_killed_worker_replaced; }

# With a single worker, killing it leaves nobody to accept for a moment; the
# listening socket belongs to the master and queues the next connection for
# the replacement.
check_sole_worker_replaced() {
    restart_with -w 1 || return 1
    wait_until 2 worker_count_is 1 || fail "no pool of 1" || return 1
    kill -KILL "$(worker_pids)"
    local out
    out=$(get_within 3 /hello.txt)
    [[ $out == "200 $(file_size "$DOCROOT/hello.txt")" ]] ||
        fail "the request right after killing the only worker: '$out'"
}
@test "the only worker killed: the next request waits for its replacement" { check_sole_worker_replaced; }

# SIGTERM to the master with busy workers (stalled clients, a download in
# progress): exit 0, and none of the workers is still running.
check_sigterm_stops_every_worker() {
    restart_with -w 4 || return 1
    wait_until 2 worker_count_is 4 || fail "no pool of 4" || return 1
    local workers w
    workers=$(worker_pids)
    spawn_helper "$NETPOKE" -m 2 -H 8 -t 10 "$PORT" 'GET /hello.txt HTTP/1.1\r\nHost: te'
    spawn_helper "$NETPOKE" -b 4096 -r 100000 -t 10 -o /dev/null "$PORT" 'GET /big.bin HTTP/1.0\r\n\r\n'
    sleep 0.3
    stop_server TERM
    [[ $SERVER_STATUS == 0 ]] || fail "the master exited with status $SERVER_STATUS" || return 1
    [[ -z $SERVER_LEFTOVERS ]] || fail "still running after SIGTERM: $SERVER_LEFTOVERS" || return 1
    for w in $workers; do
        ! process_alive "$w" || fail "worker $w still runs" || return 1
    done
}
@test "SIGTERM to the master stops every worker" { check_sigterm_stops_every_worker; }

check_bad_worker_count() {
    stop_server
    local bad
    for bad in 0 -1 abc 2x; do
        run_bad -w "$bad"
        expect_exit_2 "-w $bad" || return 1
        grep -q -- '-w' "$BAD_ERR" || fail "-w $bad: the message does not name -w:" "$(cat "$BAD_ERR")" || return 1
    done
}
@test "bad -w exits 2" { check_bad_worker_count; }

# out of descriptors (tests/lib/checks_emfile.bash)
@test "out of descriptors (EMFILE): no spin, bounded log, serves again" { check_emfile_idle_crowd; }
