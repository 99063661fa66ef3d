# checks_big.bash — a reply far larger than any socket buffer (50 MB) must
# arrive whole and byte-exact: the server has to cope with partial writes.

# curl at full speed.
check_big_file_exact() {
    http_get /big.bin --max-time 60
    expect_status 200 || return 1
    [[ $(header Content-Length) == "$BIG_SIZE" ]] ||
        fail "Content-Length '$(header Content-Length)', expected $BIG_SIZE" || return 1
    [[ $(file_size "$BODY") == "$BIG_SIZE" ]] || fail "received $(file_size "$BODY") of $BIG_SIZE bytes" ||
        return 1
    [[ $(sha256sum < "$BODY" | cut -d' ' -f1) == "$(big_sha256)" ]] || fail "big.bin arrived corrupted"
}

# A reader with an 8 KiB receive buffer that first stalls for a second (the
# server's send buffer fills and its writes stop) and then reads in paced
# small pieces: every byte must still arrive, in order.
check_big_file_slow_reader() {
    raw_request 'GET /big.bin HTTP/1.0\r\n\r\n' -b 8192 -H 1 -r 40000000 -t 60
    expect_closed_cleanly 'GET /big.bin (slow reader)' || return 1
    [[ $REPLY_STATUS == 200 ]] || fail "big.bin answered '$REPLY_STATUS'" || return 1
    expect_framed "$REPLY" || return 1
    [[ $(reply_body "$REPLY" | sha256sum | cut -d' ' -f1) == "$(big_sha256)" ]] ||
        fail "big.bin arrived corrupted to the slow reader ($(reply_body "$REPLY" | wc -c) bytes)"
}
