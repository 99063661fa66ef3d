#!/usr/bin/env bats
# stage11 — the fork-per-client FTP server and its client.
#
# curl is the real FTP client; bin/netpoke sends raw control lines; the
# stage's own client (bin/stage11-client) runs in batch mode.  The FTP root
# is built once per file by make_ftp_root: start_server serves $DOCROOT, so
# DOCROOT points at it.

load lib/common

CLIENT="${CLIENT:-$ROOT/bin/stage11-client}"
FTP_BIG=$((20 * 1024 * 1024))

# $BATS_FILE_TMPDIR/ftproot and, next to it, outside/ (must never leak):
#   hello.txt  big.bin (20 MB random)  sub/inner.txt  with space.txt
#   .hidden  existing.txt  escape.txt -> ../outside/secret.txt
#   escapedir -> ../outside  inside-link.txt -> hello.txt
make_ftp_root() {
    local tmp=$BATS_FILE_TMPDIR
    DOCROOT=$tmp/ftproot
    rm -rf "$DOCROOT" "$tmp/outside"
    mkdir -p "$DOCROOT/sub" "$tmp/outside"
    printf 'hello over ftp\n' > "$DOCROOT/hello.txt"
    printf 'inner file\n' > "$DOCROOT/sub/inner.txt"
    printf 'spaced\n' > "$DOCROOT/with space.txt"
    printf 'hidden\n' > "$DOCROOT/.hidden"
    printf 'SECRET-OUTSIDE-ROOT\n' > "$tmp/outside/secret.txt"
    ln -s ../outside/secret.txt "$DOCROOT/escape.txt"
    ln -s ../outside "$DOCROOT/escapedir"
    ln -s hello.txt "$DOCROOT/inside-link.txt"
    head -c "$FTP_BIG" /dev/urandom > "$DOCROOT/big.bin"
    sha256sum < "$DOCROOT/big.bin" | cut -d' ' -f1 > "$tmp/big.sha256"
    head -c "$FTP_BIG" /dev/urandom > "$tmp/upload.bin"
}

setup_file() {
    make_ftp_root
    export DOCROOT
}

setup() {
    # Tests that upload start from a fresh existing.txt.
    printf 'the original content\n' > "$DOCROOT/existing.txt"
    rm -f "$DOCROOT/uploaded.bin" "$DOCROOT/new.bin" "$DOCROOT"/.stor-*
    OUTSIDE_BEFORE=$(outside_state)
}

teardown() {
    stop_server
    # A session process that trips a sanitizer dies alone; its report is
    # only in the log.
    if [[ -n ${SERVER_LOG:-} ]] && grep -Eq 'ERROR: (Address|Leak)Sanitizer|runtime error' "$SERVER_LOG"; then
        fail "sanitizer report in the server log:" "$(grep -A5 -E 'Sanitizer|runtime error' "$SERVER_LOG" | head -30)"
    fi
}

url() {
    echo "ftp://127.0.0.1:$PORT/$1"
}

ftp_curl() {
    curl -sS --max-time 30 "$@"
}

sha() {
    sha256sum < "$1" | cut -d' ' -f1
}

# The outside directory as a listing with checksums: nothing may change it.
outside_state() {
    (cd "$BATS_FILE_TMPDIR/outside" && find . -printf '%p %s\n' | sort && cat ./* 2>/dev/null | sha256sum)
}

expect_outside_untouched() {
    [[ $(outside_state) == "$OUTSIDE_BEFORE" ]] || fail "something changed outside the root"
}

# control LINES...: log in, send the lines, QUIT; the replies go to $REPLY.
control() {
    local bytes='USER anonymous\r\nPASS x\r\n' line
    for line in "$@"; do
        bytes+="$line"'\r\n'
    done
    raw_request "${bytes}QUIT\r\n"
}

# The reply lines (CR removed) after the login, one per line.
replies() {
    tr -d '\r' < "$REPLY" | tail -n +4
}

# Live children of the server (zombies included).
server_children() {
    child_pids "$SERVER_PID" | wc -l
}

children_are() {        # for wait_until, which re-runs a command
    (( $(server_children) == $1 ))
}

children_at_least() {
    (( $(server_children) >= $1 ))
}

no_stor_leftovers() {
    local left
    left=$(find "$DOCROOT" "$BATS_FILE_TMPDIR/outside" -name '.stor-*' | head -5)
    [[ -z $left ]] || fail "temporary upload files left behind: $left"
}

# --- the real client: curl ---------------------------------------------------

@test "ready line names the ftp URL and the root" {
    start_server
    grep -Eq "^stage11 listening on ftp://127\.0\.0\.1:$PORT/ \(root $DOCROOT\)$" "$SERVER_LOG" ||
        fail "ready line: $(head -1 "$SERVER_LOG")"
}

@test "curl LIST: files and directories, no hidden names, no links leading out" {
    start_server
    run ftp_curl "$(url)"
    [[ $status == 0 ]] || fail "curl: $output"
    echo "$output" | grep -Eq '^-rw.* 15 .* hello\.txt'$'\r''?$' || fail "no hello.txt line: $output"
    echo "$output" | grep -Eq "^-.* $FTP_BIG .* big\.bin" || fail "no big.bin with its size: $output"
    echo "$output" | grep -Eq '^d.* sub'$'\r''?$' || fail "no sub directory: $output"
    echo "$output" | grep -q 'inside-link.txt' || fail "a link inside the root is not listed"
    ! echo "$output" | grep -q '\.hidden' || fail "hidden file listed"
    ! echo "$output" | grep -q 'escape' || fail "a link leading out is listed"
}

@test "curl NLST: exactly the visible names" {
    start_server
    run ftp_curl --list-only "$(url)"
    [[ $status == 0 ]] || fail "curl: $output"
    local got
    got=$(echo "$output" | tr -d '\r' | sort | tr '\n' ,)
    [[ $got == "big.bin,existing.txt,hello.txt,inside-link.txt,sub,with space.txt," ]] ||
        fail "NLST gave: $got"
    run ftp_curl --list-only "$(url sub/)"
    [[ $(echo "$output" | tr -d '\r') == inner.txt ]] || fail "NLST sub/: $output"
}

@test "curl downloads a text file byte-exact, also from a subdirectory and a spaced name" {
    start_server
    ftp_curl -o "$BATS_TEST_TMPDIR/h" "$(url hello.txt)"
    cmp "$BATS_TEST_TMPDIR/h" "$DOCROOT/hello.txt"
    ftp_curl -o "$BATS_TEST_TMPDIR/i" "$(url sub/inner.txt)"
    cmp "$BATS_TEST_TMPDIR/i" "$DOCROOT/sub/inner.txt"
    ftp_curl -o "$BATS_TEST_TMPDIR/s" "$(url 'with%20space.txt')"
    cmp "$BATS_TEST_TMPDIR/s" "$DOCROOT/with space.txt"
}

@test "curl downloads 20 MB of binary byte-exact" {
    start_server
    ftp_curl -o "$BATS_TEST_TMPDIR/big" "$(url big.bin)"
    [[ $(file_size "$BATS_TEST_TMPDIR/big") == "$FTP_BIG" ]] || fail "size $(file_size "$BATS_TEST_TMPDIR/big")"
    [[ $(sha "$BATS_TEST_TMPDIR/big") == "$(cat "$BATS_FILE_TMPDIR/big.sha256")" ]] || fail "content differs"
}

@test "curl uploads 20 MB, and downloading it back gives the same bytes" {
    start_server
    ftp_curl -T "$BATS_FILE_TMPDIR/upload.bin" "$(url uploaded.bin)"
    [[ $(sha "$DOCROOT/uploaded.bin") == "$(sha "$BATS_FILE_TMPDIR/upload.bin")" ]] ||
        fail "the stored file differs from the upload"
    ftp_curl -o "$BATS_TEST_TMPDIR/back" "$(url uploaded.bin)"
    cmp "$BATS_TEST_TMPDIR/back" "$BATS_FILE_TMPDIR/upload.bin"
    no_stor_leftovers
}

@test "an upload replaces an existing file" {
    start_server
    printf 'new content\n' > "$BATS_TEST_TMPDIR/existing.txt"
    ftp_curl -T "$BATS_TEST_TMPDIR/existing.txt" "$(url existing.txt)"
    cmp "$DOCROOT/existing.txt" "$BATS_TEST_TMPDIR/existing.txt"
}

@test "EPSV and PASV (--disable-epsv) both carry a transfer" {
    start_server -v
    ftp_curl -o "$BATS_TEST_TMPDIR/e" "$(url big.bin)"
    grep -q 'EPSV: 229 Entering Extended Passive Mode (|||[0-9]*|)' "$SERVER_LOG" || fail "no EPSV used"
    ftp_curl --disable-epsv -o "$BATS_TEST_TMPDIR/p" "$(url big.bin)"
    grep -q 'PASV: 227 Entering Passive Mode (127,0,0,1,[0-9]*,[0-9]*)' "$SERVER_LOG" || fail "no PASV used"
    cmp "$BATS_TEST_TMPDIR/e" "$DOCROOT/big.bin"
    cmp "$BATS_TEST_TMPDIR/p" "$DOCROOT/big.bin"
}

@test "SIZE and MDTM: curl -I shows the real size; 550 for what is not a file" {
    start_server
    run ftp_curl -I "$(url big.bin)"
    echo "$output" | grep -q "^Content-Length: $FTP_BIG" || fail "curl -I: $output"
    control 'SIZE hello.txt' 'SIZE sub' 'SIZE nope' 'MDTM hello.txt'
    replies > "$BATS_TEST_TMPDIR/r"
    [[ $(sed -n 1p "$BATS_TEST_TMPDIR/r") == "213 15" ]] || fail "$(cat "$BATS_TEST_TMPDIR/r")"
    [[ $(sed -n 2p "$BATS_TEST_TMPDIR/r") == 550* ]] || fail "SIZE of a directory: $(cat "$BATS_TEST_TMPDIR/r")"
    [[ $(sed -n 3p "$BATS_TEST_TMPDIR/r") == 550* ]] || fail "SIZE of nothing: $(cat "$BATS_TEST_TMPDIR/r")"
    [[ $(sed -n 4p "$BATS_TEST_TMPDIR/r") =~ ^213\ [0-9]{14}$ ]] || fail "MDTM: $(cat "$BATS_TEST_TMPDIR/r")"
}

# --- the stage's own client -------------------------------------------------

@test "stage11-client batch: put, list, get round trip" {
    start_server
    mkdir -p "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/b"
    cp "$BATS_FILE_TMPDIR/upload.bin" "$BATS_TEST_TMPDIR/a/new.bin"
    run timeout 30 "$CLIENT" 127.0.0.1 "$PORT" "put $BATS_TEST_TMPDIR/a/new.bin" list
    [[ $status == 0 ]] || fail "put/list: $output"
    echo "$output" | grep -Eq " $FTP_BIG .* new\.bin" || fail "list does not show new.bin: $output"
    cd "$BATS_TEST_TMPDIR/b"
    run timeout 30 "$CLIENT" 127.0.0.1 "$PORT" "get new.bin" "get sub/inner.txt" quit
    [[ $status == 0 ]] || fail "get: $output"
    cmp new.bin "$BATS_FILE_TMPDIR/upload.bin"
    cmp inner.txt "$DOCROOT/sub/inner.txt"
}

@test "stage11-client: a failing get exits non-zero, stops there and leaves no file" {
    start_server
    mkdir "$BATS_TEST_TMPDIR/here" && cd "$BATS_TEST_TMPDIR/here"
    run timeout 10 "$CLIENT" 127.0.0.1 "$PORT" "get nope.txt" "get hello.txt"
    [[ $status != 0 ]] || fail "exit status 0 after a failed get"
    echo "$output" | grep -q 550 || fail "no reason given: $output"
    [[ -z $(ls -A) ]] || fail "files left: $(ls -A)"
    run timeout 10 "$CLIENT" 127.0.0.1 "$PORT" "get ../escape.txt"
    [[ $status != 0 ]] || fail "exit status 0 for a traversal"
    run timeout 10 "$CLIENT" 127.0.0.1 "$PORT" "frobnicate"
    [[ $status != 0 ]] || fail "exit status 0 for an unknown command"
}

# --- names that try to leave the root ------------------------------------------

@test "traversal with curl: .. segments, encoded dots, links out: refused, nothing read" {
    start_server
    local u
    for u in '../outside/secret.txt' '%2e%2e/outside/secret.txt' 'sub/../../outside/secret.txt' \
             'escape.txt' 'escapedir/secret.txt' '.hidden' '%2Fetc%2Fpasswd'; do
        for method in multicwd nocwd singlecwd; do
            run ftp_curl --ftp-method "$method" --path-as-is "$(url "$u")"
            [[ $status != 0 ]] || fail "$u ($method) was served: $output"
            ! echo "$output" | grep -q SECRET || fail "$u ($method) leaked the secret"
        done
    done
    expect_outside_untouched
}

@test "traversal on the control connection: RETR, CWD, SIZE, LIST refused with 550" {
    start_server
    control 'RETR ../outside/secret.txt' 'RETR /../outside/secret.txt' 'RETR escape.txt' \
            'SIZE escapedir/secret.txt' 'CWD ..' 'CWD /..' 'CWD escapedir' 'LIST ../outside' \
            'NLST escapedir' 'PWD' 'CDUP' 'PWD'
    replies > "$BATS_TEST_TMPDIR/r"
    local i
    for i in 1 2 3 4 5 6 7 8 9; do
        [[ $(sed -n "${i}p" "$BATS_TEST_TMPDIR/r") == 550* ]] ||
            fail "line $i not refused:" "$(cat "$BATS_TEST_TMPDIR/r")"
    done
    [[ $(sed -n 10p "$BATS_TEST_TMPDIR/r") == '257 "/" is the current directory.' ]] || fail "$(cat "$BATS_TEST_TMPDIR/r")"
    [[ $(sed -n 12p "$BATS_TEST_TMPDIR/r") == '257 "/" is the current directory.' ]] || fail "CDUP left the root"
    ! grep -q SECRET "$REPLY" || fail "secret leaked"
}

# Dotfiles are not served (the server's own upload temporaries are
# ".stor-*"), and the reply says so: "No such file" of .hidden, which
# exists, would be untrue.  A missing file still gets "No such file".
@test "dotfiles refused with a 550 that says why, not 'No such file'" {
    start_server
    [[ -f $DOCROOT/.hidden ]] || fail "fixture: no .hidden" || return 1
    control 'RETR .hidden' 'SIZE .hidden' 'RETR sub/../.hidden' 'RETR no-such-file.txt'
    replies > "$BATS_TEST_TMPDIR/r"
    local i
    for i in 1 2 3; do
        [[ $(sed -n "${i}p" "$BATS_TEST_TMPDIR/r") == '550 Names beginning with a dot are not served.' ]] ||
            fail "line $i:" "$(cat "$BATS_TEST_TMPDIR/r")" || return 1
    done
    [[ $(sed -n 4p "$BATS_TEST_TMPDIR/r") == '550 No such file.' ]] || fail "missing file:" "$(cat "$BATS_TEST_TMPDIR/r")" || return 1
    ! grep -q '^hidden' "$REPLY" || fail "the dotfile's content was sent"
}

@test "CWD and CDUP move inside the root and never above it" {
    start_server
    control 'CWD sub' 'PWD' 'SIZE inner.txt' 'CDUP' 'CDUP' 'PWD' 'CWD /sub/' 'PWD'
    replies > "$BATS_TEST_TMPDIR/r"
    [[ $(sed -n 2p "$BATS_TEST_TMPDIR/r") == '257 "/sub" is the current directory.' ]] || fail "$(cat "$BATS_TEST_TMPDIR/r")"
    [[ $(sed -n 3p "$BATS_TEST_TMPDIR/r") == "213 11" ]] || fail "relative name after CWD: $(cat "$BATS_TEST_TMPDIR/r")"
    [[ $(sed -n 6p "$BATS_TEST_TMPDIR/r") == '257 "/" is the current directory.' ]] || fail "$(cat "$BATS_TEST_TMPDIR/r")"
    [[ $(sed -n 8p "$BATS_TEST_TMPDIR/r") == '257 "/sub" is the current directory.' ]] || fail "$(cat "$BATS_TEST_TMPDIR/r")"
}

@test "injection: NUL, CR and other control bytes in names are refused" {
    start_server
    control 'RETR hello.txt\0.jpg' 'RETR hello.txt\rDELE x' 'SIZE hello\x01.txt' \
            'STOR a\x1bb' 'CWD sub\0' 'STOR x\r'
    replies > "$BATS_TEST_TMPDIR/r"
    [[ $(sed -n 1p "$BATS_TEST_TMPDIR/r") == 550* ]] || fail "NUL: $(cat "$BATS_TEST_TMPDIR/r")"
    [[ $(sed -n 2p "$BATS_TEST_TMPDIR/r") == 550* ]] || fail "CR: $(cat "$BATS_TEST_TMPDIR/r")"
    [[ $(sed -n 3p "$BATS_TEST_TMPDIR/r") == 550* ]] || fail "\\x01: $(cat "$BATS_TEST_TMPDIR/r")"
    [[ $(sed -n 4p "$BATS_TEST_TMPDIR/r") == 553* ]] || fail "ESC in STOR: $(cat "$BATS_TEST_TMPDIR/r")"
    [[ $(sed -n 5p "$BATS_TEST_TMPDIR/r") == 550* ]] || fail "NUL in CWD: $(cat "$BATS_TEST_TMPDIR/r")"
    # "STOR x\r\r\n": the line ends at the last CR LF, the name is "x\r"
    [[ $(sed -n 6p "$BATS_TEST_TMPDIR/r") == 553* ]] || fail "CR in STOR: $(cat "$BATS_TEST_TMPDIR/r")"
    [[ -z $(find "$DOCROOT" -newer "$DOCROOT/existing.txt" -type f) ]] || fail "a file was created"
}

@test "uploads outside the root or onto links and directories are refused" {
    start_server
    printf 'evil\n' > "$BATS_TEST_TMPDIR/evil.txt"
    local u
    for u in '../outside/evil.txt' 'escapedir/evil.txt' 'escape.txt' 'sub' '.evil'; do
        run ftp_curl --ftp-method nocwd -T "$BATS_TEST_TMPDIR/evil.txt" "$(url "$u")"
        [[ $status != 0 ]] || fail "upload to $u accepted"
    done
    [[ -d $DOCROOT/sub && -L $DOCROOT/escape.txt ]] || fail "a directory or link was replaced"
    expect_outside_untouched
    no_stor_leftovers
}

# --- uploads that do not finish ------------------------------------------------

# Start a slow upload of upload.bin to NAME with curl; kill it mid-way.
killed_upload() {
    curl -sS --max-time 30 --limit-rate 2M -T "$BATS_FILE_TMPDIR/upload.bin" "$(url "$1")" \
        2>/dev/null 3>&- &
    local pid=$!
    sleep 1.5
    # The temporary file exists and is growing while the final name does not.
    local tmp
    tmp=$(find "$DOCROOT" -name '.stor-*' | head -1)
    kill -KILL "$pid"
    wait "$pid" 2>/dev/null || true
    [[ -n $tmp ]] || fail "no temporary file during the upload"
}

@test "an upload killed half-way leaves no file under the new name" {
    start_server
    killed_upload new.bin
    wait_until 3 no_stor_leftovers || fail "temporary file not removed"
    [[ ! -e $DOCROOT/new.bin ]] || fail "new.bin exists ($(file_size "$DOCROOT/new.bin") bytes)"
}

@test "an upload killed half-way leaves an existing file intact" {
    start_server
    local before
    before=$(sha "$DOCROOT/existing.txt")
    killed_upload existing.txt
    wait_until 3 no_stor_leftovers || fail "temporary file not removed"
    [[ $(sha "$DOCROOT/existing.txt") == "$before" ]] || fail "existing.txt was changed"
}

@test "SIGTERM during an upload: the temporary file is removed, nothing stored" {
    start_server
    curl -sS --max-time 30 --limit-rate 2M -T "$BATS_FILE_TMPDIR/upload.bin" "$(url existing.txt)" \
        >/dev/null 2>&1 3>&- &
    local pid=$!
    sleep 1
    stop_server
    wait "$pid" 2>/dev/null || true
    [[ $SERVER_STATUS == 0 ]] || fail "exit status $SERVER_STATUS"
    no_stor_leftovers
    [[ $(cat "$DOCROOT/existing.txt") == 'the original content' ]] || fail "existing.txt changed"
}

# --- bad input on the control connection -------------------------------------------

@test "commands before login get 530, unknown commands 502, garbage 500" {
    start_server
    raw_request 'PWD\r\nRETR hello.txt\r\nLIST\r\nSYST\r\nUSER a\r\nPASS b\r\nXYZW\r\nSITE CHMOD 777 x\r\n\x01\x02\xff\r\n12345\r\nPWD\r\nQUIT\r\n'
    tr -d '\r' < "$REPLY" > "$BATS_TEST_TMPDIR/r"
    local want=(220 530 530 530 215 331 230 502 502 500 500 257 221) i=1 code
    for code in "${want[@]}"; do
        [[ $(sed -n "${i}p" "$BATS_TEST_TMPDIR/r") == "$code "* ]] ||
            fail "reply $i is not $code:" "$(cat "$BATS_TEST_TMPDIR/r")" || return 1
        i=$((i + 1))
    done
}

@test "FEAT is a correct multi-line reply" {
    start_server
    raw_request 'FEAT\r\nQUIT\r\n'
    tr -d '\r' < "$REPLY" > "$BATS_TEST_TMPDIR/r"
    [[ $(sed -n 2p "$BATS_TEST_TMPDIR/r") == 211-* ]] || fail "$(cat "$BATS_TEST_TMPDIR/r")"
    grep -qx ' EPSV' "$BATS_TEST_TMPDIR/r" && grep -qx ' SIZE' "$BATS_TEST_TMPDIR/r" ||
        fail "features missing: $(cat "$BATS_TEST_TMPDIR/r")"
    grep -q '^211 ' "$BATS_TEST_TMPDIR/r" || fail "no closing 211 line"
}

@test "a line over 1 KiB gets 500 and the connection closes; others are unaffected" {
    start_server
    local long
    long=$(head -c 3000 /dev/zero | tr '\0' A)
    raw_request "USER anonymous\r\nRETR $long"
    [[ $NETPOKE_STATUS == 0 ]] || fail "netpoke status $NETPOKE_STATUS (the server did not close)"
    tail -n 1 "$REPLY" | grep -q '^500 ' || fail "last reply: $(tail -n 1 "$REPLY")"
    raw_request "$(head -c 2000 /dev/urandom | tr -d '\n\0' | head -c 1500 | od -An -tx1 | tr -d ' \n' | sed 's/../\\x&/g')"
    [[ $NETPOKE_STATUS == 0 ]] || fail "garbage: netpoke status $NETPOKE_STATUS"
    ftp_curl -o "$BATS_TEST_TMPDIR/h" "$(url hello.txt)"
    cmp "$BATS_TEST_TMPDIR/h" "$DOCROOT/hello.txt"
}

@test "after an over-long line the control connection is closed once, not twice" {
    command -v strace > /dev/null || skip "strace(1) is missing"
    local trace=$BATS_TEST_TMPDIR/strace.out long
    start_server || return 1
    # strace follows the session child the server forks for our connection;
    # the SIGCHLD the server then gets (CLD_EXITED) says that child is done
    spawn_helper strace -f -qq -e trace=close -o "$trace" -p "$SERVER_PID"
    wait_until 5 eval '[[ $(awk "/^TracerPid:/ { print \$2 }" /proc/$SERVER_PID/status) != 0 ]]' ||
        fail "strace did not attach" || return 1
    long=$(head -c 3000 /dev/zero | tr '\0' A)
    raw_request "USER anonymous\r\nRETR $long"
    tail -n 1 "$REPLY" | grep -q '^500 ' || fail "last reply: $(tail -n 1 "$REPLY")" || return 1
    wait_until 5 grep -q 'CLD_EXITED' "$trace" || fail "the session did not end:" "$(cat "$trace")" || return 1
    grep -q 'close(' "$trace" || fail "strace recorded no close() at all" || return 1
    ! grep 'EBADF' "$trace" || fail "a descriptor was closed twice (EBADF above)"
}

@test "the symlink swap race: RETR never serves a file from outside the root" {
    start_server || return 1
    race_fixture
    # nocwd: RETR race/f.txt in one command, the path the race aims at
    race_run "$(url race/f.txt)" --ftp-method nocwd || return 1
    race_cleanup
    expect_no_race_escape
}

@test "a command sent one byte at a time is understood" {
    start_server
    raw_request 'USER anonymous\r\nPASS x\r\nSIZE hello.txt\r\nQUIT\r\n' -c 1 -d 2
    tr -d '\r' < "$REPLY" | grep -qx '213 15' || fail "$(cat "$REPLY")"
}

@test "a silent client is closed after the idle timeout (-t)" {
    start_server -t 1
    local t0
    t0=$(now_ms)
    raw_request 'USER anonymous\r\n' -t 8
    [[ $NETPOKE_STATUS == 0 ]] || fail "still open after 8 s (netpoke $NETPOKE_STATUS)"
    grep -q '^421 ' "$REPLY" || fail "no 421: $(cat "$REPLY")"
    (( $(now_ms) - t0 >= 900 )) || fail "closed too early"
    wait_until 2 children_are 0 || fail "the session process is still there"
}

@test "a transfer without PASV/EPSV gets 425" {
    start_server
    control 'RETR hello.txt' 'LIST'
    replies > "$BATS_TEST_TMPDIR/r"
    [[ $(sed -n 1p "$BATS_TEST_TMPDIR/r") == 425* && $(sed -n 2p "$BATS_TEST_TMPDIR/r") == 425* ]] ||
        fail "$(cat "$BATS_TEST_TMPDIR/r")"
}

# --- processes ---------------------------------------------------------------

@test "one child per session; 10 parallel 20 MB downloads and an idle session; then no children" {
    start_server
    "$NETPOKE" -t 6 -H 4 -n "$PORT" 'USER anonymous\r\n' 2>/dev/null 3>&- &
    local idle=$! i pids=()
    for i in 1 2 3 4 5 6 7 8 9 10; do
        # 20 MB/s each: the ten transfers overlap for about a second.
        ftp_curl --limit-rate 20M -o "$BATS_TEST_TMPDIR/d$i" "$(url big.bin)" 3>&- &
        pids+=($!)
    done
    wait_until 3 children_at_least 11
    local during
    during=$(server_children)
    for i in "${pids[@]}"; do
        wait "$i" || fail "a download failed"
    done
    for i in 1 2 3 4 5 6 7 8 9 10; do
        [[ $(sha "$BATS_TEST_TMPDIR/d$i") == "$(cat "$BATS_FILE_TMPDIR/big.sha256")" ]] ||
            fail "download $i differs"
    done
    (( during == 11 )) || fail "$during children during 11 sessions"
    wait "$idle" || true
    wait_until 2 children_are 0 || fail "$(server_children) children left"
}

@test "many short sessions leave no zombies" {
    start_server
    local i
    for i in $(seq 40); do
        raw_request 'QUIT\r\n'
        grep -q '^221 ' "$REPLY" || fail "session $i: $(cat "$REPLY")"
    done
    for i in $(seq 10); do
        ftp_curl -o /dev/null "$(url hello.txt)"
    done
    wait_until 2 children_are 0 || fail "children or zombies left: $(child_pids "$SERVER_PID")"
}

@test "SIGTERM with sessions open: exit 0, no children left" {
    start_server
    "$NETPOKE" -t 20 -H 15 -n "$PORT" 'USER anonymous\r\n' 2>/dev/null 3>&- &
    curl -sS --max-time 20 --limit-rate 1M -o /dev/null "$(url big.bin)" 2>/dev/null 3>&- &
    wait_until 3 children_are 2 || fail "expected 2 sessions, got $(server_children)"
    local kids
    kids=$(child_pids "$SERVER_PID")
    stop_server
    [[ $SERVER_STATUS == 0 ]] || fail "exit status $SERVER_STATUS"
    [[ -z $SERVER_LEFTOVERS ]] || fail "left running: $SERVER_LEFTOVERS"
    for k in $kids; do
        ! process_alive "$k" || fail "session $k survived"
    done
}

@test "bad options, a missing root, a port in use: exit 2 with a message" {
    local args
    for args in '-x' '-t 0' '-t abc' '-p 70000' '-p' "-r $BATS_TEST_TMPDIR/nope" 'extra'; do
        # shellcheck disable=SC2086
        run timeout 5 "$SERVER" $args
        [[ $status == 2 ]] || fail "'$args': status $status" || return 1
        [[ -n $output ]] || fail "'$args': no message" || return 1
    done
    start_server
    run timeout 5 "$SERVER" -p "$PORT" -b 127.0.0.1 -r "$DOCROOT"
    [[ $status == 2 ]] || fail "port in use: status $status"
}

@test "-h prints the usage, with -t, and exits 0" {
    run timeout 5 "$SERVER" -h
    [[ $status == 0 ]] || fail "status $status"
    echo "$output" | grep -q -- '-t SECONDS' || fail "$output"
}

# out of descriptors (tests/lib/checks_emfile.bash): a session per process,
# so the limit is never reached; the idle crowd must cost nothing all the same
@test "out of descriptors (EMFILE): no spin, bounded log, serves again" {
    emfile_crowd || return 1
    wait_until 10 ftp_curl -o "$BATS_TEST_TMPDIR/h" "$(url hello.txt)" || fail "after the crowd left: no file" ||
        return 1
    cmp "$BATS_TEST_TMPDIR/h" "$DOCROOT/hello.txt"
}

# --- resuming, and changing the tree -------------------------------------------------

# A 50 MB file for the resume checks, made once per file.
big50() {
    local f=$DOCROOT/big50.bin
    [[ -f $f ]] || { head -c $((50 * 1024 * 1024)) /dev/urandom > "$f.tmp" && mv "$f.tmp" "$f"; }
    echo "$f"
}

@test "curl -C - resumes an interrupted 50 MB download byte-exact (REST + RETR)" {
    local src out=$BATS_TEST_TMPDIR/big50.bin got
    src=$(big50)
    start_server -v
    # A real interruption: curl gives up after 2 s of a rate-limited download.
    curl -sS --max-time 2 --limit-rate 10M -o "$out" "$(url big50.bin)" 2>/dev/null || true
    got=$(stat -c %s "$out" 2>/dev/null || echo 0)
    ((got > 0 && got < 50 * 1024 * 1024)) || fail "the interrupted download has $got bytes: not a partial file"
    ftp_curl --max-time 60 -C - -o "$out" "$(url big50.bin)"
    cmp "$out" "$src" || fail "the resumed file differs"
    grep -q "REST: 350 Restarting at $got\." "$SERVER_LOG" || fail "no REST $got in the log: $(grep -E 'REST|RETR' "$SERVER_LOG")"
}

@test "REST: beyond the end 554, garbage 501, forgotten by any other command" {
    start_server
    # REST right before RETR (RFC 959): the 554 comes before any data connection
    control 'EPSV' 'REST 99999999' 'RETR hello.txt' 'REST x' 'REST'
    replies > "$BATS_TEST_TMPDIR/r"
    grep -q '^554 ' "$BATS_TEST_TMPDIR/r" || fail "RETR past the end: $(cat "$BATS_TEST_TMPDIR/r")"
    [[ $(grep -c '^501 ' "$BATS_TEST_TMPDIR/r") == 2 ]] || fail "REST x and REST without a number: $(cat "$BATS_TEST_TMPDIR/r")"
    # REST 5, then NOOP (and curl's own EPSV, TYPE): the download starts at byte 0
    local got=$BATS_TEST_TMPDIR/h
    ftp_curl -o "$got" "$(url hello.txt)" -Q 'REST 5' -Q 'NOOP'
    cmp "$got" "$DOCROOT/hello.txt" || fail "a REST before NOOP still moved the download: $(cat "$got")"
}

@test "resumed uploads stay atomic: curl -C - -T (APPE) and lftp put -c (REST + STOR)" {
    start_server -v
    local src=$BATS_FILE_TMPDIR/upload.bin
    head -c 7000000 "$src" > "$BATS_TEST_TMPDIR/first.bin"
    ftp_curl -T "$BATS_TEST_TMPDIR/first.bin" "$(url new.bin)"
    ftp_curl -C - -T "$src" "$(url new.bin)"
    cmp "$DOCROOT/new.bin" "$src" || fail "curl -C - -T: the joined upload differs"
    grep -q 'APPE: 226' "$SERVER_LOG" || fail "curl did not resume with APPE: $(grep -E 'APPE|STOR' "$SERVER_LOG")"
    command -v lftp >/dev/null || skip "lftp is not installed (apt-get install lftp)"
    head -c 3000000 "$src" > "$DOCROOT/uploaded.bin"
    cp "$src" "$BATS_TEST_TMPDIR/uploaded.bin"
    (cd "$BATS_TEST_TMPDIR" && timeout 60 lftp -e 'set cmd:fail-exit yes; set net:max-retries 1; set net:timeout 10; put -c uploaded.bin; quit' \
        -u anonymous,x -p "$PORT" 127.0.0.1 </dev/null 3>&-) || fail "lftp put -c failed"
    cmp "$DOCROOT/uploaded.bin" "$src" || fail "lftp put -c: the joined upload differs"
    grep -q 'REST: 350 Restarting at 3000000\.' "$SERVER_LOG" || fail "lftp did not send REST 3000000"
    no_stor_leftovers
}

@test "a resumed upload killed half-way leaves the existing file intact" {
    start_server
    head -c 1000 "$BATS_FILE_TMPDIR/upload.bin" > "$DOCROOT/existing.txt"
    local before
    before=$(sha "$DOCROOT/existing.txt")
    # curl resumes (APPE) and is killed while sending the rest, slowly
    spawn_helper curl -sS --max-time 20 --limit-rate 200K -C - -T "$BATS_FILE_TMPDIR/upload.bin" "$(url existing.txt)"
    sleep 1
    kill -KILL "$HELPER_PID" 2>/dev/null || true
    wait_helper "$HELPER_PID" 5 || true
    wait_until 5 no_stor_leftovers || fail "the temporary file stayed: $(ls -a "$DOCROOT")"
    [[ $(sha "$DOCROOT/existing.txt") == "$before" ]] || fail "the existing file changed: $(stat -c %s "$DOCROOT/existing.txt") bytes"
}

@test "lftp: mirror -R a tree up, mirror it back: identical" {
    command -v lftp >/dev/null || skip "lftp is not installed (apt-get install lftp)"
    start_server
    local t=$BATS_TEST_TMPDIR
    mkdir -p "$t/tree/a/b" "$t/tree/c" "$t/tree/empty"
    printf 'one\n' > "$t/tree/a/1.txt"
    printf 'two\n' > "$t/tree/a/b/2.txt"
    head -c 300000 /dev/urandom > "$t/tree/c/r.bin"
    printf 'spaced\n' > "$t/tree/with space.txt"
    rm -rf "$DOCROOT/mirrored"
    (cd "$t" && timeout 60 lftp -e 'set cmd:fail-exit yes; set net:max-retries 1; set net:timeout 10; mirror -R tree mirrored; mirror mirrored back; quit' \
        -u anonymous,x -p "$PORT" 127.0.0.1 </dev/null 3>&-) || fail "lftp mirror failed"
    diff -r "$t/tree" "$DOCROOT/mirrored" || fail "the uploaded tree differs"
    diff -r "$t/tree" "$t/back" || fail "the tree mirrored back differs"
    rm -rf "$DOCROOT/mirrored"
}

@test "lftp: mkdir, mv, rm, rmdir" {
    command -v lftp >/dev/null || skip "lftp is not installed (apt-get install lftp)"
    start_server
    rm -rf "$DOCROOT/made"
    timeout 30 lftp -e 'set cmd:fail-exit yes; set net:max-retries 1; set net:timeout 10; mkdir made; mkdir made/inner; put -O made /etc/hostname -o h.txt; mv made/h.txt made/inner/moved.txt; quit' \
        -u anonymous,x -p "$PORT" 127.0.0.1 </dev/null 3>&- || fail "lftp mkdir/put/mv failed"
    cmp "$DOCROOT/made/inner/moved.txt" /etc/hostname || fail "mv did not move the file"
    [[ ! -e $DOCROOT/made/h.txt ]] || fail "the old name is still there"
    timeout 30 lftp -e 'set cmd:fail-exit yes; set net:max-retries 1; set net:timeout 10; rm made/inner/moved.txt; rmdir made/inner; rmdir made; quit' \
        -u anonymous,x -p "$PORT" 127.0.0.1 </dev/null 3>&- || fail "lftp rm/rmdir failed"
    [[ ! -e $DOCROOT/made ]] || fail "made/ still exists: $(ls -R "$DOCROOT/made")"
}

@test "curl -Q: MKD, RNFR/RNTO, DELE, RMD" {
    start_server
    rm -rf "$DOCROOT/qdir" "$DOCROOT/qdir2"
    printf 'to be renamed\n' > "$DOCROOT/q.txt"
    ftp_curl -o /dev/null "$(url)" -Q 'MKD qdir' -Q 'RNFR q.txt' -Q 'RNTO qdir/r.txt' -Q 'RNFR qdir' -Q 'RNTO qdir2'
    [[ -f $DOCROOT/qdir2/r.txt && ! -e $DOCROOT/q.txt && ! -e $DOCROOT/qdir ]] || fail "after MKD and two renames: $(ls -R "$DOCROOT" | head -30)"
    run ftp_curl -o /dev/null "$(url)" -Q 'RMD qdir2'
    [[ $status != 0 && -d $DOCROOT/qdir2 ]] || fail "RMD of a non-empty directory succeeded"
    ftp_curl -o /dev/null "$(url)" -Q 'DELE qdir2/r.txt' -Q 'RMD qdir2'
    [[ ! -e $DOCROOT/qdir2 ]] || fail "DELE then RMD left $(ls -R "$DOCROOT/qdir2")"
}

@test "changing the tree never leaves the root, nor touches hidden or linked-out names" {
    start_server
    printf 'keep\n' > "$DOCROOT/keep.txt"
    control 'MKD ../made' 'MKD escapedir/made' 'DELE ../outside/secret.txt' 'DELE escapedir/secret.txt' \
        'RMD escapedir' 'DELE .hidden' 'RNFR keep.txt' 'RNTO ../stolen.txt' 'RNFR keep.txt' 'RNTO escapedir/stolen.txt' \
        'RNTO keep2.txt' 'RNFR escapedir/secret.txt' 'RMD /' 'DELE sub' 'MKD sub'
    replies > "$BATS_TEST_TMPDIR/r"
    ! grep -Eq '^(257|250) ' "$BATS_TEST_TMPDIR/r" || fail "something was allowed: $(cat "$BATS_TEST_TMPDIR/r")"
    grep -q '^503 ' "$BATS_TEST_TMPDIR/r" || fail "RNTO without RNFR right before it was not refused with 503"
    [[ -f $DOCROOT/keep.txt && -f $DOCROOT/.hidden && -L $DOCROOT/escapedir && -d $DOCROOT/sub ]] ||
        fail "a name inside the root changed: $(ls -la "$DOCROOT")"
    [[ ! -e $BATS_FILE_TMPDIR/made && ! -e $BATS_FILE_TMPDIR/stolen.txt ]] || fail "something was created outside the root"
    expect_outside_untouched
}

@test "FEAT lists REST STREAM, SIZE and MDTM" {
    start_server
    raw_request 'FEAT\r\nQUIT\r\n'
    tr -d '\r' < "$REPLY" > "$BATS_TEST_TMPDIR/r"
    grep -qx ' REST STREAM' "$BATS_TEST_TMPDIR/r" && grep -qx ' SIZE' "$BATS_TEST_TMPDIR/r" &&
        grep -qx ' MDTM' "$BATS_TEST_TMPDIR/r" || fail "features missing: $(cat "$BATS_TEST_TMPDIR/r")"
}

@test "stage11-client: mkdir, rm, rmdir; get resumes a .part" {
    start_server -v
    rm -rf "$DOCROOT/cdir"
    mkdir "$BATS_TEST_TMPDIR/here" && cd "$BATS_TEST_TMPDIR/here"
    cp "$DOCROOT/hello.txt" hello-copy.txt
    run timeout 30 "$CLIENT" 127.0.0.1 "$PORT" "mkdir cdir" "put hello-copy.txt" "rm hello-copy.txt" "rmdir cdir"
    [[ $status == 0 ]] || fail "mkdir/put/rm/rmdir: $output"
    [[ ! -e $DOCROOT/cdir && ! -e $DOCROOT/hello-copy.txt ]] || fail "left: $(ls "$DOCROOT")"
    grep -q 'MKD: 257' "$SERVER_LOG" && grep -q 'RMD: 250' "$SERVER_LOG" || fail "no MKD/RMD in the log"
    run timeout 10 "$CLIENT" 127.0.0.1 "$PORT" "rm nothere.txt"
    [[ $status != 0 ]] || fail "rm of a missing file exited 0"
    head -c 5000000 "$DOCROOT/big.bin" > big.bin.part
    run timeout 60 "$CLIENT" 127.0.0.1 "$PORT" "get big.bin"
    [[ $status == 0 ]] || fail "get: $output"
    cmp big.bin "$DOCROOT/big.bin" || fail "the resumed get differs"
    [[ ! -e big.bin.part ]] || fail "the .part stayed"
    grep -q 'REST: 350 Restarting at 5000000\.' "$SERVER_LOG" || fail "the client did not resume with REST"
}
