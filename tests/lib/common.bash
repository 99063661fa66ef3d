# tests/lib/common.bash — what every tests/stageNN.bats loads first.
#
#   load lib/common
#
# It names the stage and the binary under test, builds a fixture docroot,
# starts and stops one server per test, and offers small clients (curl for
# well-formed HTTP, bin/netpoke for byte-level abuse).  The behaviours
# themselves are the check_* functions in tests/lib/checks_*.bash, loaded
# at the end of this file; a stage's .bats file lists the ones it promises.
#
# Helpers a stage's own checks may use (each documented where defined):
#   server     start_server [args]  stop_server [SIG]  (PORT SERVER_PID SERVER_LOG
#              SERVER_STATUS SERVER_LEFTOVERS)
#   curl       http_get PATH [curl args]  http_head PATH  header NAME [FILE]
#              expect_status CODE  expect_body_is FILE   (HTTP_STATUS HEADERS BODY)
#   raw bytes  raw_request BYTES [netpoke args]  expect_reply CODE BYTES
#              reply_status/reply_head/reply_body FILE  split_replies FILE
#              expect_closed_cleanly  expect_framed FILE  (REPLY REPLY_STATUS
#              NETPOKE_STATUS REPLY_COUNT)
#   clients    spawn_helper CMD...  wait_helper PID SECS  get_within SECS PATH
#              parallel_gets N SECS PATH   (concurrency group)
#   processes  fd_count  tree_fd_count  child_pids  descendant_pids
#              thread_count  process_alive  wait_until SECS CMD...
#   misc       fail MSG  file_size  big_sha256  now_ms  wait_fds_back N
#
# Environment a caller may set:
#   SERVER          the binary under test (default bin/$STAGE)
#   SERVER_WRAPPER  a command prefix, e.g. "valgrind -q --error-exitcode=99"
#   READY_TIMEOUT   seconds to wait for the ready line (default 10)
#   STOP_TIMEOUT    seconds between SIGTERM and SIGKILL (default 5)
#   CURL_TIMEOUT    seconds a single curl may take (default 10)
#   SERVER_SWEEP    a command stop_server runs last (class grading's cleanup)
#
# Every wait is bounded; every process killed is one this file started.

LIB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$LIB_DIR/../.." && pwd)"
STAGE="$(basename "${BATS_TEST_FILENAME:-${STAGE:-stage00}.bats}" .bats)"
SERVER="${SERVER:-$ROOT/bin/$STAGE}"
[[ $SERVER == /* ]] || SERVER="$PWD/$SERVER"
NETPOKE="${NETPOKE:-$ROOT/bin/netpoke}"
READY_TIMEOUT="${READY_TIMEOUT:-10}"
STOP_TIMEOUT="${STOP_TIMEOUT:-5}"
CURL_TIMEOUT="${CURL_TIMEOUT:-10}"
BIG_SIZE=$((50 * 1024 * 1024))

# Print a message on stderr (bats shows it when the test fails) and fail.
fail() {
    printf '%s\n' "$*" >&2
    return 1
}

# A long request shortened for a failure message.
shorten() {
    if ((${#1} > 100)); then echo "${1:0:60}...(${#1} bytes)...${1: -20}"; else echo "$1"; fi
}

# The sub-second clock, in milliseconds.
now_ms() {
    local s=${EPOCHREALTIME/./}
    echo $((s / 1000))
}

# --- the fixture docroot ------------------------------------------------------
#
# $BATS_FILE_TMPDIR/docroot, built once per .bats file (call from setup_file):
#   everything in html/ (when it exists), then our own files, so no check
#   depends on what html/ happens to contain:
#   index.html                 (ours only when html/ has none)
#   hello.txt                  a small known text
#   big.bin                    50 MB of random bytes; sha256 in ../big.sha256
#   mime/t.EXT                 one file per MIME type the stages know, plus
#                              t.bin and t.unknownext (octet-stream)
#   withindex/index.html       a directory with an index
#   noindex/file.txt           a directory without one
#   with space.txt, 100%.txt   names that need percent-encoding
#   escape.txt -> ../outside/secret.txt   a symlink leaving the docroot
#   escapedir -> ../outside               a directory symlink leaving it
#   inside-link.txt -> hello.txt          a symlink that stays inside (served)
#   unreadable.txt             mode 000 (see check_403_unreadable)
#   ../outside/secret.txt      a file outside the docroot that must never leak
make_fixture_docroot() {
    local tmp="${BATS_FILE_TMPDIR:?make_fixture_docroot belongs in setup_file}"
    DOCROOT="$tmp/docroot"
    export DOCROOT
    [[ -f $tmp/big.sha256 ]] && return 0
    rm -rf "$DOCROOT" "$tmp/outside"
    mkdir -p "$DOCROOT" "$tmp/outside"
    if [[ -d $ROOT/html ]]; then
        cp -R "$ROOT/html/." "$DOCROOT/"
    fi
    if [[ ! -f $DOCROOT/index.html ]]; then
        printf '<!DOCTYPE html>\n<html><head><title>fixture</title></head>\n<body><h1>fixture index</h1></body></html>\n' \
            > "$DOCROOT/index.html"
    fi
    printf 'hello from the fixture docroot\n' > "$DOCROOT/hello.txt"

    mkdir -p "$DOCROOT/mime"
    local ext
    for ext in $(mime_extensions) bin unknownext; do
        printf 'fixture file of type %s\n' "$ext" > "$DOCROOT/mime/t.$ext"
    done
    mkdir -p "$DOCROOT/withindex" "$DOCROOT/noindex"
    printf '<!DOCTYPE html>\n<html><body><p>withindex</p></body></html>\n' \
        > "$DOCROOT/withindex/index.html"
    printf 'a file in a directory without index.html\n' > "$DOCROOT/noindex/file.txt"
    printf 'a name with a space\n' > "$DOCROOT/with space.txt"
    printf 'a name with a percent sign\n' > "$DOCROOT/100%.txt"

    printf 'SECRET-OUTSIDE-DOCROOT\n' > "$tmp/outside/secret.txt"
    ln -s ../outside/secret.txt "$DOCROOT/escape.txt"
    ln -s ../outside "$DOCROOT/escapedir"
    ln -s hello.txt "$DOCROOT/inside-link.txt"
    printf 'SECRET-UNREADABLE\n' > "$DOCROOT/unreadable.txt"
    chmod 000 "$DOCROOT/unreadable.txt"

    # The whole tree must be readable by "nobody" for check_403_unreadable,
    # which runs the server as that user when the tests run as root.
    chmod -R a+rX "$DOCROOT" "$tmp/outside" 2>/dev/null || true
    chmod 000 "$DOCROOT/unreadable.txt"
    chmod a+x "$tmp"

    head -c "$BIG_SIZE" /dev/urandom > "$DOCROOT/big.bin"
    chmod a+r "$DOCROOT/big.bin"
    sha256sum < "$DOCROOT/big.bin" | cut -d' ' -f1 > "$tmp/big.sha256.tmp"
    mv "$tmp/big.sha256.tmp" "$tmp/big.sha256"
}

# The extensions the stages must know (common/path.c), and the Content-Type each must get.
mime_extensions() {
    echo html css js json txt png jpg jpeg gif svg ico webp pdf wasm woff2 mp4
}
mime_expected() {       # mime_expected EXT -> the accepted media types, without parameters
    case $1 in
        html) echo text/html ;;          css) echo text/css ;;
        js) echo text/javascript application/javascript ;;
        json) echo application/json ;;   txt) echo text/plain ;;
        png) echo image/png ;;           jpg | jpeg) echo image/jpeg ;;
        gif) echo image/gif ;;           svg) echo image/svg+xml ;;
        ico) echo image/x-icon image/vnd.microsoft.icon ;;
        webp) echo image/webp ;;         pdf) echo application/pdf ;;
        wasm) echo application/wasm ;;   woff2) echo font/woff2 ;;
        mp4) echo video/mp4 ;;           *) echo application/octet-stream ;;
    esac
}

big_sha256() {
    cat "$(dirname "$DOCROOT")/big.sha256"
}

# --- one server per test ----------------------------------------------------------

# start_server [extra args...]: start $SERVER on an ephemeral port of
# 127.0.0.1 serving $DOCROOT, wait for its ready line, set PORT and SERVER_PID.
# fd 3 is closed for the server: bats waits on fd 3, and a server holding it
# would hang the whole suite.
start_server() {
    SERVER_LOG="${BATS_TEST_TMPDIR:-$BATS_FILE_TMPDIR}/server.log"
    SERVER_OUT="${BATS_TEST_TMPDIR:-$BATS_FILE_TMPDIR}/server.out"
    SERVER_STATUS=
    PORT=
    [[ -x $SERVER ]] || fail "no server binary at $SERVER (build it: make $STAGE)" || return 1
    # Empty the log here, not only in the redirection below: that one happens
    # in the background child, and until it does we could read the ready line
    # of a server this test started before.
    : >"$SERVER_LOG"
    # shellcheck disable=SC2086  # SERVER_WRAPPER is a command prefix: split it
    ${SERVER_WRAPPER:-} "$SERVER" -p 0 -r "$DOCROOT" -b 127.0.0.1 "$@" \
        </dev/null >"$SERVER_OUT" 2>"$SERVER_LOG" 3>&- &
    SERVER_PID=$!
    local deadline=$(($(now_ms) + READY_TIMEOUT * 1000))
    while (($(now_ms) < deadline)); do
        PORT=$(ready_port "$SERVER_LOG")
        [[ -n $PORT ]] && return 0
        if ! process_alive "$SERVER_PID"; then
            SERVER_STATUS=0
            wait "$SERVER_PID" || SERVER_STATUS=$?
            SERVER_PID=
            fail "server exited with status $SERVER_STATUS before its ready line; its stderr:" \
                "$(cat "$SERVER_LOG")"
            return 1
        fi
        sleep 0.02
    done
    fail "no ready line within ${READY_TIMEOUT}s; server stderr:" "$(cat "$SERVER_LOG")"
}

# The port in the first "... listening on SCHEME://ADDR:PORT/ ..." line of a log.
ready_port() {
    sed -n 's|^.* listening on [a-z]*://[^ ]*:\([0-9][0-9]*\)/.*$|\1|p' "$1" 2>/dev/null | head -n 1
}

# When PID started (clock ticks after boot): with the PID, it names one process.
proc_start() {
    sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f20
}

# Alive and not a zombie (a zombie still answers kill -0).
process_alive() {
    local state
    [[ -r /proc/$1/stat ]] || return 1
    state=$(sed 's/^.*) \(.\).*$/\1/' "/proc/$1/stat" 2>/dev/null) || return 1
    [[ -n $state && $state != Z && $state != X ]]
}

# stop_server [SIGNAL]: SIGTERM (or SIGNAL), wait up to STOP_TIMEOUT seconds,
# then SIGKILL.
# Sets SERVER_STATUS (the exit status; 128+9 after SIGKILL) and
# SERVER_LEFTOVERS (descendants still running after the server itself
# ended — they are killed too, but a check can complain about them).
# Then it ends the clients spawn_helper started.  Safe to call twice and
# when no server was started.
stop_server() {
    SERVER_LEFTOVERS=
    if [[ -z ${SERVER_PID:-} ]]; then
        stop_helpers
        if [[ -n ${SERVER_SWEEP:-} ]]; then
            $SERVER_SWEEP || true
        fi
        return 0
    fi
    local pid=$SERVER_PID sig=${1:-TERM} descendants
    SERVER_PID=
    descendants=$(for d in $(descendant_pids "$pid"); do echo "$d:$(proc_start "$d")"; done)
    kill -"$sig" "$pid" 2>/dev/null || true # it may have stopped already (a signal to its group)
    local deadline=$(($(now_ms) + STOP_TIMEOUT * 1000))
    while process_alive "$pid" && (($(now_ms) < deadline)); do
        sleep 0.02
    done
    if process_alive "$pid"; then
        echo "server $pid ignored SIG$sig for ${STOP_TIMEOUT}s; sending SIGKILL" >&2
        kill -KILL "$pid" 2>/dev/null
    fi
    SERVER_STATUS=0
    wait "$pid" 2>/dev/null || SERVER_STATUS=$?
    # Workers get a moment to follow their master out.
    local entry d left
    deadline=$(($(now_ms) + 2000))
    for entry in $descendants; do
        d=${entry%%:*}
        while process_alive "$d" && (($(now_ms) < deadline)); do
            sleep 0.02
        done
        # the same process (not a new one that got its PID) still runs
        if process_alive "$d" && [[ $d:$(proc_start "$d") == "$entry" ]]; then
            left+="$d "
            kill -KILL "$d" 2>/dev/null
        fi
    done
    SERVER_LEFTOVERS=${left:-}
    # Class grading (tests/grade_class.sh) also ends what escaped the process
    # tree (a fork bomb's orphans), by cgroup and uid, never by name.
    if [[ -n ${SERVER_SWEEP:-} ]]; then
        $SERVER_SWEEP || true
    fi
    # Clients still held by a check end last: the server had to stop with
    # them connected.
    stop_helpers
}

# spawn_helper CMD...: run a client (netpoke, curl) in the background, its
# output to files, fd 3 closed (as for the server).  Its PID goes into
# HELPER_PID and onto HELPER_PIDS, which stop_server ends.
HELPER_PIDS=()
spawn_helper() {
    "$@" </dev/null >>"$BATS_TEST_TMPDIR/helper.out" 2>>"$BATS_TEST_TMPDIR/helper.err" 3>&- &
    HELPER_PID=$!
    HELPER_PIDS+=("$HELPER_PID")
}

# wait_helper PID SECONDS: wait (bounded) for a helper to finish; its exit
# status, or 124 when it was still running and had to be killed.
wait_helper() {
    local rc=0
    if wait_until "$2" eval '! process_alive '"$1"; then
        wait "$1" 2>/dev/null || rc=$?
        return "$rc"
    fi
    kill -KILL "$1" 2>/dev/null
    wait "$1" 2>/dev/null || true
    return 124
}

stop_helpers() {
    local p
    for p in "${HELPER_PIDS[@]}"; do
        kill -KILL "$p" 2>/dev/null
        wait "$p" 2>/dev/null || true
    done
    HELPER_PIDS=()
    return 0
}

# --- looking at a process ---------------------------------------------------------

# Open descriptors of PID.
fd_count() {
    local fds=(/proc/"$1"/fd/*)
    [[ -L ${fds[0]} ]] || { echo 0; return; }
    echo "${#fds[@]}"
}

# Direct children of PID, one per line.
child_pids() {
    cat /proc/"$1"/task/*/children 2>/dev/null | tr ' ' '\n' | sed '/^$/d'
}

# All descendants of PID (children, their children, ...).
descendant_pids() {
    local c
    for c in $(child_pids "$1"); do
        echo "$c"
        descendant_pids "$c"
    done
}

# Open descriptors of PID and all its descendants (workers, children).
tree_fd_count() {
    local total p
    total=$(fd_count "$1")
    for p in $(descendant_pids "$1"); do
        total=$((total + $(fd_count "$p")))
    done
    echo "$total"
}

# Threads of PID.
thread_count() {
    sed -n 's/^Threads:[[:space:]]*//p' "/proc/$1/status" 2>/dev/null
}

# Wait (bounded, in seconds) until a shell condition holds: wait_until 5 CMD...
wait_until() {
    local limit=$1
    shift
    local deadline=$(($(now_ms) + limit * 1000))
    until "$@"; do
        (($(now_ms) < deadline)) || return 1
        sleep 0.05
    done
}

# --- talking HTTP with curl ------------------------------------------------------

# http_get PATH [curl args...]: one request with curl.  Sets
#   HTTP_STATUS   the status code ("000" when there was no answer)
#   HEADERS       file with the response head (CRLF as sent)
#   BODY          file with the body
#   CURL_STATUS   curl's exit status
# --path-as-is keeps "..", which curl would otherwise squash before sending.
http_get() {
    local path=$1
    shift
    HEADERS="$BATS_TEST_TMPDIR/headers"
    BODY="$BATS_TEST_TMPDIR/body"
    : > "$HEADERS"
    : > "$BODY"
    CURL_STATUS=0
    HTTP_STATUS=$(curl -sS --path-as-is --max-time "$CURL_TIMEOUT" \
        -D "$HEADERS" -o "$BODY" -w '%{http_code}' "$@" \
        "http://127.0.0.1:$PORT$path" 2>"$BATS_TEST_TMPDIR/curl.err") || CURL_STATUS=$?
    return 0
}

# http_head PATH [curl args...]: the same with a HEAD request.
http_head() {
    http_get "$1" -I "${@:2}"
}

# header NAME [FILE]: the value of header NAME (case-insensitive) in the
# last response head in FILE (default $HEADERS), without the CR.
header() {
    local file=${2:-$HEADERS}
    awk -v name="$1" 'BEGIN { IGNORECASE = 1 }
        /^HTTP\// { value = ""; found = 0 }
        { sub(/\r$/, "") }
        tolower(substr($0, 1, length(name) + 1)) == tolower(name) ":" {
            v = substr($0, length(name) + 2); sub(/^[ \t]+/, "", v); sub(/[ \t]+$/, "", v)
            value = v; found = 1 }
        END { if (found) print value; else exit 1 }' "$file"
}

# --- raw bytes with netpoke ---------------------------------------------------------

# raw_request BYTES [netpoke options...]: send BYTES (with \r \n \xHH escapes)
# on a fresh connection, read the reply until the server closes (bounded).
# Sets REPLY (file with every byte received), REPLY_STATUS (the status code
# of the first status line, or empty), NETPOKE_STATUS (netpoke's exit code).
raw_request() {
    local bytes=$1
    shift
    REPLY="$BATS_TEST_TMPDIR/reply"
    : > "$REPLY"
    NETPOKE_STATUS=0
    if [[ -x $NETPOKE ]]; then
        "$NETPOKE" -t "$CURL_TIMEOUT" -o "$REPLY" "$@" "$PORT" "$bytes" \
            2>"$BATS_TEST_TMPDIR/netpoke.err" || NETPOKE_STATUS=$?
    else    # a fallback so the library works before bin/netpoke is built
        timeout "$CURL_TIMEOUT" bash -c 'exec 5<>/dev/tcp/127.0.0.1/$1 || exit 2
            printf "%b" "$2" >&5; cat <&5' _ "$PORT" "$bytes" > "$REPLY" || NETPOKE_STATUS=$?
    fi
    REPLY_STATUS=$(reply_status "$REPLY")
    return 0
}

# The status code of the first status line of a raw reply file.
reply_status() {
    head -n 1 "$1" 2>/dev/null | sed -n 's|^HTTP/1\.[01] \([0-9][0-9][0-9]\) .*$|\1|p'
}

# The head (up to the blank line) and the body of a single raw reply.
reply_head() {
    awk '{ sub(/\r$/, "") } /^$/ { exit } { print }' "$1"
}
reply_body() {          # reply_body FILE > body  (everything after the first blank line)
    local blank
    blank=$(grep -n -m 1 -a $'^\r\{0,1\}$' "$1" | cut -d: -f1)
    [[ -n $blank ]] || return 1
    tail -n +$((blank + 1)) "$1"
}

# How many complete status lines a raw reply contains.
reply_count() {
    grep -caP '^HTTP/1\.[01] [0-9]{3} ' "$1" || true
}

# The size of a file in bytes.
file_size() {
    stat -c %s "$1"
}

# split_replies FILE: cut a stream of responses (keep-alive, pipelining) into
# $BATS_TEST_TMPDIR/split.N.head and split.N.body, N = 1, 2, ..., framed by
# Content-Length as a client must.  Sets REPLY_COUNT.  Not for HEAD replies.
split_replies() {
    local file=$1 size offset=0 n=0 blank len dir=$BATS_TEST_TMPDIR
    size=$(file_size "$file")
    rm -f "$dir"/split.*
    while ((offset < size)); do
        blank=$(tail -c +$((offset + 1)) "$file" | LC_ALL=C grep -obUa -m 1 $'^\r\{0,1\}$' |
            head -n 1 | cut -d: -f1)
        [[ -n $blank ]] || break
        n=$((n + 1))
        tail -c +$((offset + 1)) "$file" | head -c "$blank" | tr -d '\r' > "$dir/split.$n.head"
        len=$(header Content-Length "$dir/split.$n.head") || len=0
        # the blank line is "\r\n" (or a bare "\n")
        if [[ $(tail -c +$((offset + blank + 1)) "$file" | head -c 1 | od -An -c | tr -d ' ') == '\r' ]]; then
            offset=$((offset + blank + 2))
        else
            offset=$((offset + blank + 1))
        fi
        tail -c +$((offset + 1)) "$file" | head -c "$len" > "$dir/split.$n.body"
        offset=$((offset + len))
    done
    REPLY_COUNT=$n
}

# --- assertions shared by the checks -------------------------------------------------

# expect_status CODE: the last http_get got CODE.
expect_status() {
    [[ $HTTP_STATUS == "$1" ]] ||
        fail "expected status $1, got '$HTTP_STATUS' (curl exit $CURL_STATUS: $(cat "$BATS_TEST_TMPDIR/curl.err" 2>/dev/null))" \
            "$(cat "$HEADERS" 2>/dev/null)"
}

# expect_body_is FILE: the last http_get's body is byte-identical to FILE.
expect_body_is() {
    cmp -s "$BODY" "$1" || fail "body differs from $1 ($(file_size "$BODY") vs $(file_size "$1") bytes)"
}

# expect_reply CODE BYTES [netpoke options...]: send BYTES raw; the reply must
# carry status CODE, say "Connection: close", be framed by a Content-Length
# that matches its body, and the server must then close the connection
# cleanly (a FIN within 3 s, not a reset that could destroy the reply).
expect_reply() {
    local code=$1 bytes=$2
    shift 2
    raw_request "$bytes" -i 3000 "$@"
    [[ $REPLY_STATUS == "$code" ]] ||
        fail "sent '$(shorten "$bytes")': expected $code, got '${REPLY_STATUS}':" "$(head -c 300 "$REPLY")" || return 1
    expect_closed_cleanly "$bytes" || return 1
    expect_connection_close "$REPLY" "$bytes" || return 1
    expect_framed "$REPLY" "$bytes"
}

expect_closed_cleanly() {
    case $NETPOKE_STATUS in
        0) return 0 ;;
        4) fail "sent '$(shorten "$1")': the server reset the connection (the reply may be lost)" ;;
        6) fail "sent '$(shorten "$1")': the server kept the connection open after replying" ;;
        3) fail "sent '$(shorten "$1")': no end of the reply within the time limit" ;;
        *) fail "sent '$(shorten "$1")': netpoke exited $NETPOKE_STATUS: $(cat "$BATS_TEST_TMPDIR/netpoke.err")" ;;
    esac
}

expect_connection_close() {     # expect_connection_close REPLYFILE [what]
    local conn
    conn=$(reply_head "$1" | header Connection /dev/stdin) || conn=
    [[ ${conn,,} == close ]] || fail "${2:+sent '$(shorten "$2")': }expected 'Connection: close', got '$conn'"
}

# The body after the head is exactly Content-Length bytes (single reply).
expect_framed() {
    local len body
    len=$(reply_head "$1" | header Content-Length /dev/stdin) ||
        fail "${2:+sent '$(shorten "$2")': }no Content-Length:" "$(reply_head "$1")" || return 1
    body=$(reply_body "$1" | wc -c)
    [[ $len == "$body" ]] || fail "${2:+sent '$(shorten "$2")': }Content-Length $len but $body body bytes"
}

# --- the behaviours ---------------------------------------------------------------
for _checks in "$LIB_DIR"/checks_*.bash; do
    # shellcheck source=/dev/null
    [[ -e $_checks ]] && source "$_checks"
done
unset _checks
