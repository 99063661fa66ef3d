#!/usr/bin/env bats
# stage02 — iterative file server: one client at a time, real files, real
# status codes.  Every HTTP behaviour applies except long connections and
# concurrency; the last test pins down the weakness stage03 fixes.

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

# lifecycle
@test "ready line" { check_ready_line; }
@test "-v logs each request" { check_verbose_log; }
@test "SIGTERM and SIGINT exit 0" { check_sigterm_exits_0; }
@test "SIGTERM mid-reply to a client that never reads: gone within 1 s" { check_sigterm_mid_reply; }
@test "bad option exits 2" { check_bad_option_exits_2; }
@test "port in use exits 2" { check_port_in_use_exits_2; }
@test "restart on the same port at once (TIME_WAIT)" { check_restart_same_port; }
@test "missing docroot exits 2" { check_missing_docroot_exits_2; }

# The iterative model's weakness, asserted as such: while one client sits on
# a half-sent request, the next client is NOT answered.  When the first
# leaves, service resumes.  (stage03 and later pass the concurrency group.)
check_stalled_client_delays_others() {
    spawn_helper "$NETPOKE" -n -H 2 -t 5 "$PORT" 'GET /hello.txt HTTP/1.1\r\nHost: te'
    local staller=$HELPER_PID out
    sleep 0.3
    out=$(get_within 1 /hello.txt)
    [[ $out == "000 0" ]] || fail "a second client was answered ('$out') while the first stalled" || return 1
    wait_helper "$staller" 5 || fail "the stalled client did not finish" || return 1
    out=$(get_within 5 /hello.txt)
    [[ $out == "200 $(file_size "$DOCROOT/hello.txt")" ]] || fail "after the staller left: '$out'"
}
@test "weakness: a stalled client delays the next one" { check_stalled_client_delays_others; }

# hostile clients (tests/lib/hostile.bash).  Slowloris stalls an iterative
# server: that is asserted as its weakness, like the test above.
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
@test "weakness: slowloris stalls the iterative server" { check_hostile_slowloris_blocks; }

# out of descriptors (tests/lib/checks_emfile.bash)
@test "out of descriptors (EMFILE): no spin, bounded log, serves again" { check_emfile_idle_crowd; }
