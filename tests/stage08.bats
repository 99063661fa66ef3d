#!/usr/bin/env bats
# stage08 — keep-alive and pipelining on the busy-poll loop.  Every HTTP
# behaviour of stage02, the concurrency group and the keepalive group: a
# connection serves request after request, pipelined ones in order.

load lib/common
load lib/event_stages
load lib/hostile

setup_file() { make_fixture_docroot; }
setup() { start_server; }
teardown() { stop_server_and_check_log; }

# basics
@test "basics: GET / serves index.html" { check_get_index; }
@test "basics: HEAD matches GET without a body" { check_head_matches_get; }
@test "basics: Content-Type by extension" { check_content_types; }
@test "basics: required headers on every response" { check_required_headers; }

# errors
@test "errors: 405 with Allow for other methods" { check_405_allow; }
@test "errors: 400 for garbage" { check_400_garbage; }
@test "errors: 414 for a target over 8 KiB" { check_414_long_target; }
@test "errors: 431 for a head over 16 KiB" { check_431_big_head; }
@test "errors: 505 for other HTTP versions" { check_505_version; }
@test "errors: 501 for Transfer-Encoding" { check_501_transfer_encoding; }
@test "errors: 400 for Transfer-Encoding with Content-Length" { check_400_te_with_cl; }

# paths
@test "paths: 301 for a directory without slash" { check_301_directory; }
@test "paths: 404 for a missing file" { check_404_missing; }
@test "paths: 404 for a name segment longer than NAME_MAX, or a path longer than PATH_MAX" { check_404_long_segment; }
@test "paths: 404 for a directory without index" { check_404_dir_without_index; }
@test "paths: traversal battery refused" { check_traversal_battery; }
@test "paths: symlink out of the docroot refused" { check_symlink_out_refused; }
@test "paths: 403 for an unreadable file" { check_403_unreadable; }
@test "paths: query and fragment ignored" { check_query_and_fragment_ignored; }
@test "paths: percent-decoding, once" { check_percent_decoding; }

# big
@test "big: 50 MB file byte-exact" { check_big_file_exact; }
@test "big: 50 MB file byte-exact to a slow reader" { check_big_file_slow_reader; }

# validators and ranges (tests/lib/checks_validators.bash)
@test "validators: Last-Modified, ETag, Accept-Ranges on GET and HEAD" { check_validators_on_files; }
@test "validators: a reload revalidates: 304, RFC 9110 precedence" { check_revalidation_304; }
@test "ranges: 206 and 416 edge cases, invalid and multiple ranges ignored" { check_ranges_206_416; }
@test "ranges: If-Range" { check_if_range; }
@test "ranges: curl -C - resumes an interrupted 50 MB download byte-exact" { check_curl_resume_big; }
@test "ranges: wget -c continues a partial download" { check_wget_continue; }
@test "validators: headless Chromium revalidates a page on its second load (304)" { check_chromium_revalidates; }
@test "validators: 304, 416, 206, 200 pipelined, each framed exactly" { check_validators_keepalive_framing; }

# partial
@test "partial: request one byte at a time" { check_one_byte_at_a_time; }
@test "partial: GET body read and discarded" { check_get_body_discarded; }

# resets
@test "resets: mid-download resets, server survives, no leak" { check_resets_mid_download; }
@test "resets: descriptors back to baseline after 500 requests" { check_fd_baseline_after_500; }

# keepalive
@test "keepalive: 100 requests on one connection" { check_keepalive_100_requests; }
@test "keepalive: 10 pipelined requests answered in order" { check_pipelined_10_in_order; }
@test "keepalive: HTTP/1.0 closes unless it asks for keep-alive" { check_http10_closes; }
@test "keepalive: Connection: close honoured" { check_connection_close_honoured; }
@test "keepalive: request split across reads" { check_request_split_across_boundary; }
@test "keepalive: 200 pipelined requests of 1 KB (200 KB) all answered" { check_pipelined_burst_200k; }

# concurrency
@test "concurrency: a stalled client does not delay others" { check_stalled_client_does_not_delay_others; }
@test "concurrency: 200 parallel clients all answered" { check_200_parallel_clients; }
@test "concurrency: a slow reader does not block others" { check_slow_reader_does_not_block_others; }

# hostile clients (tests/lib/hostile.bash)
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

# lifecycle
@test "lifecycle: ready line" { check_ready_line; }
@test "lifecycle: -v logs each request" { check_verbose_log; }
@test "lifecycle: SIGTERM and SIGINT exit 0" { check_sigterm_exits_0; }
@test "lifecycle: bad option exits 2" { check_bad_option_exits_2; }
@test "lifecycle: port in use exits 2" { check_port_in_use_exits_2; }
@test "lifecycle: restart on the same port at once (TIME_WAIT)" { check_restart_same_port; }
@test "lifecycle: missing docroot exits 2" { check_missing_docroot_exits_2; }

# --- one thread, never blocked by one client --------------------------------------
@test "a 50 MB download to a slow reader arrives whole while others are served" { check_slow_big_download_while_others_served; }
@test "keepalive: 200 pipelined requests in one write all answered" { check_pipelined_burst_200; }

# out of descriptors (tests/lib/checks_emfile.bash)
@test "out of descriptors (EMFILE): no spin, bounded log, serves again" { check_emfile_idle_crowd --expect-emfile -s 10000; }
