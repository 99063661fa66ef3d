#!/usr/bin/env bats
# stage13 — stage12 on io_uring: the same command line, ready lines and
# behaviour, so the same checks: every HTTP behaviour of a keep-alive event
# server, the hostile group, and stage12's own (workers, limits, timeouts,
# the file cache, the cap, the graceful stop).  Where io_uring cannot be
# used (old kernel, kernel.io_uring_disabled, a seccomp filter), stage13
# exits 2 with one line saying why, and every test here is skipped with it.

load lib/common
load lib/event_stages
load lib/hostile

# stage12's own checks hold for stage13 as they are: take their definitions
# from tests/stage12.bats (the part after its @test lines is plain bash),
# with the program's name in the lines they expect.
eval "$(sed -n '/^# ---- the stage-specific checks/,$ { s/stage12\([: ]\)/stage13\1/g; p; }' \
    "$BATS_TEST_DIRNAME/stage12.bats")"

setup_file() {
    make_fixture_docroot
}

setup() {
    start_server -w 2 && return 0
    local why
    why=$(grep -m 1 'io_uring unavailable' "$SERVER_LOG")
    [[ $SERVER_STATUS == 2 && -n $why ]] && skip "$why"
    return 1
}

teardown() {
    stop_server
}

# basics
@test "basics: GET / serves index.html" { check_get_index; }
@test "basics: HEAD matches GET" { check_head_matches_get; }
@test "basics: Content-Type by extension" { check_content_types; }
@test "basics: required headers" { check_required_headers; }

# errors
@test "errors: 405 with Allow" { check_405_allow; }
@test "errors: 400 for garbage" { check_400_garbage; }
@test "errors: 414 for a long target" { check_414_long_target; }
@test "errors: 431 for a big head" { check_431_big_head; }
@test "errors: 505 for other versions" { check_505_version; }
@test "errors: 501 for Transfer-Encoding" { check_501_transfer_encoding; }
@test "errors: 400 for Transfer-Encoding with Content-Length" { check_400_te_with_cl; }

# paths
@test "paths: 301 for a directory without slash" { check_301_directory; }
@test "paths: 404 for a missing file" { check_404_missing; }
@test "paths: 404 for a name segment longer than NAME_MAX" { check_404_long_segment; }
@test "paths: 404 for a directory without index" { check_404_dir_without_index; }
@test "paths: traversal battery" { check_traversal_battery; }
@test "paths: symlink out of the docroot refused" { check_symlink_out_refused; }
@test "paths: 403 for an unreadable file" { check_403_unreadable; }
@test "paths: query and fragment ignored" { check_query_and_fragment_ignored; }
@test "paths: percent decoding" { check_percent_decoding; }

# big
@test "big: 50 MB byte-exact" { check_big_file_exact; }
@test "big: 50 MB to a slow reader" { check_big_file_slow_reader; }

# validators and ranges (tests/lib/checks_validators.bash): small files leave
# from the cache's memory at an offset, big ones by READ -> SEND from it
@test "validators: Last-Modified, ETag, Accept-Ranges on GET and HEAD" { check_validators_on_files; }
@test "validators: a reload revalidates: 304, RFC 9110 precedence" { check_revalidation_304; }
@test "ranges: 206 and 416 edge cases, invalid and multiple ranges ignored" { check_ranges_206_416; }
@test "ranges: If-Range" { check_if_range; }
@test "ranges: curl -C - resumes an interrupted 50 MB download byte-exact" { check_curl_resume_big; }
@test "ranges: wget -c continues a partial download" { check_wget_continue; }
@test "validators: headless Chromium revalidates a page on its second load (304)" { check_chromium_revalidates; }
@test "validators: 304, 416, 206, 200 pipelined, each framed exactly" { check_validators_keepalive_framing; }

# partial
@test "partial: one byte at a time" { check_one_byte_at_a_time; }
@test "partial: GET body discarded" { check_get_body_discarded; }

# resets
@test "resets: mid-download resets" { warm_file_cache; check_resets_mid_download; }
@test "resets: descriptors back to baseline after 500 requests" { check_fd_baseline_after_500; }

# keepalive
@test "keepalive: 100 requests on one connection" { check_keepalive_100_requests; }
@test "keepalive: 10 pipelined requests in order" { check_pipelined_10_in_order; }
@test "keepalive: HTTP/1.0 closes" { check_http10_closes; }
@test "keepalive: Connection: close honoured" { check_connection_close_honoured; }
@test "keepalive: request split across reads" { check_request_split_across_boundary; }

# concurrency
@test "concurrency: a stalled client does not delay others" { check_stalled_client_does_not_delay_others; }
@test "concurrency: 200 parallel clients" { check_200_parallel_clients; }
@test "concurrency: a slow reader does not block others" { check_slow_reader_does_not_block_others; }

# event-driven
@test "event: a slow big download while others are served" { check_slow_big_download_while_others_served; }
@test "event: 1000 keep-alive connections x 20 requests" { check_1000_keepalive_connections_x20; }
@test "event: 200 pipelined requests in one write" { check_pipelined_burst_200; }
@test "event: 200 pipelined requests of 1 KB (200 KB) all answered" { check_pipelined_burst_200k; }
@test "event: idle workers sleep, even holding 200 connections" { check_workers_idle_cpu; }

# hostile
@test "hostile: long header lines" { check_hostile_long_header_lines; }
@test "hostile: 1000 headers" { check_hostile_1000_headers; }
@test "hostile: NUL in the target" { check_hostile_nul_in_target; }
@test "hostile: invalid UTF-8" { check_hostile_invalid_utf8; }
@test "hostile: Content-Length variants" { check_hostile_content_length; }
@test "hostile: smuggling" { check_hostile_smuggling; }
@test "hostile: HTTP/0.9" { check_hostile_http09; }
@test "hostile: absolute-form target" { check_hostile_absolute_form; }
@test "hostile: lowercase method" { check_hostile_lowercase_method; }
@test "hostile: bare LF" { check_hostile_bare_lf; }
@test "hostile: resets in every phase" { check_hostile_resets_every_phase; }
@test "hostile: half-close" { check_hostile_half_close; }
@test "hostile: slowloris crowd" { check_hostile_slowloris; }
@test "hostile: symlink swap race, nothing from outside" { check_symlink_swap_race; }

# lifecycle
@test "lifecycle: ready line, and the limits line before it" { check_stage12_ready_lines; }
@test "lifecycle: -v logs requests" { check_verbose_log; }
@test "lifecycle: SIGTERM and SIGINT exit 0" { check_sigterm_exits_0; }
@test "lifecycle: bad options exit 2" { check_bad_option_exits_2; }
@test "lifecycle: bad -w/-t/-c values exit 2" { check_stage12_bad_values_exit_2; }
@test "lifecycle: port in use exits 2" { check_port_in_use_exits_2; }
@test "lifecycle: restart on the same port at once (TIME_WAIT)" { check_restart_same_port; }
@test "lifecycle: missing docroot exits 2" { check_missing_docroot_exits_2; }

# stage 12's own, which stage 13 keeps
@test "stage13: fd limit raised to the hard limit and reported" { check_fd_limit_reported; }
@test "stage13: from a soft fd limit of 512, raised to the hard limit" { check_fd_limit_raised_from_512; }
@test "stage13: -w 3 runs three workers, SIGTERM ends all" { check_workers_and_stop; }
@test "stage13: Ctrl-C (SIGINT to the process group) ends all, restarts none" { check_ctrl_c_whole_group; }
@test "stage13: -e (one shared listener, exclusive accepts) serves too" { check_exclusive_mode; }
@test "stage13: a killed worker is replaced, and no request is lost" { check_worker_replaced; }
@test "stage13: -t 1 closes a silent connection, -t 60 does not" { check_idle_timeout; }
@test "stage13: -t 1 closes an idle keep-alive connection after its reply" { check_keepalive_idle_timeout; }
@test "stage13: a half request gets 408 and a close" { check_slowloris_408; }
@test "stage13: a request dripping in does not extend its deadline" { check_slowloris_drip_408; }
@test "stage13: -c 50 holds 50 (across workers) and refuses the 51st" { check_connection_cap; }
@test "stage13: a changed file is served fresh within a second" { check_cache_revalidated; }
@test "stage13: a rewrite with its mtime put back is served fresh too (ctime)" { check_cache_sees_ctime; }
@test "stage13: a deleted cached file is closed though nobody asks again" { check_cache_drops_unused; }
@test "stage13: SIGTERM lets an in-flight download finish, then exits 0" { check_graceful_download; }
@test "stage13: SIGTERM waits at most about 5 s for a stuck reader" { check_graceful_bounded; }
@test "stage13: out of descriptors (EMFILE): sheds, does not spin, recovers" { check_emfile_recovers; }
@test "stage13: descriptors of all workers back to baseline after resets" { check_worker_fds_baseline; }
@test "stage13: the bench's slow clients (c10k_client -H) are held, and get 408 after -t" { check_held_clients; }

# out of descriptors (tests/lib/checks_emfile.bash)
@test "out of descriptors (EMFILE): no spin, bounded log, serves again" { check_emfile_idle_crowd --expect-emfile -w 1 -c 1000; }

# Where io_uring is refused — here by a seccomp filter (bin/noring), as a
# container runtime's default profile does — stage13 exits 2 with one line
# that names the cause and how to check it.
check_refused_io_uring_exits_2() {
    SERVER_WRAPPER="$ROOT/bin/noring" run_bad
    expect_exit_2 "io_uring refused" || return 1
    [[ $(grep -c '' "$BAD_ERR") == 1 ]] || fail "expected one line:" "$(cat "$BAD_ERR")" || return 1
    grep -q 'io_uring unavailable: .*seccomp.*check: ' "$BAD_ERR" ||
        fail "the line does not say seccomp and how to check:" "$(cat "$BAD_ERR")"
}
@test "stage13: io_uring refused (seccomp): exit 2, one line saying so" { check_refused_io_uring_exits_2; }
