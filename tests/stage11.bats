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
