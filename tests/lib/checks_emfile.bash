# checks_emfile.bash — out of file descriptors (EMFILE), whatever the model.
#
# The server runs under `prlimit --nofile=EMFILE_NOFILE` and a crowd of
# EMFILE_CLIENTS idle connections, more than it has descriptors, arrives and
# stays for EMFILE_HOLD seconds.  While it stays, the server must not spin
# (a loop retrying accept() at once burns a core, and in a single-threaded
# server never lets anyone free a descriptor) nor log a line per attempt;
# once it has left, the server serves again.  Models that hold one client
# per process (stage02-04, stage11) never reach the limit: for them the
# check shows that the crowd costs nothing and leaves nothing behind.
#
#   check_emfile_idle_crowd [--expect-emfile] [server args...]
#   emfile_crowd [--expect-emfile] [server args...]   the part before "serves again"

EMFILE_NOFILE=24
EMFILE_CLIENTS=40
EMFILE_HOLD=3
EMFILE_MAX_TICKS=15   # CPU ticks (1/100 s) in the 1.5 s measured: 10 % of one core
EMFILE_MAX_LINES=4    # log lines in those 1.5 s

# User + system CPU ticks of PID, its threads and its descendants.
tree_cpu_ticks() {
    local total=0 p t
    for p in "$1" $(descendant_pids "$1"); do
        t=$(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null) && total=$((total + t))
    done
    echo "$total"
}

emfile_crowd() {
    local expect=0
    if [[ ${1:-} == --expect-emfile ]]; then
        expect=1
        shift
    fi
    command -v prlimit > /dev/null || skip "prlimit(1) is missing"
    stop_server
    # after the caller's wrapper, never instead of it: grade-class's is the
    # jail (its own limits, then the student's uid), which must stay
    SERVER_WRAPPER="${SERVER_WRAPPER:-} prlimit --nofile=$EMFILE_NOFILE:$EMFILE_NOFILE" start_server "$@" || return 1
    spawn_helper "$NETPOKE" -m "$EMFILE_CLIENTS" -H "$EMFILE_HOLD" -t $((EMFILE_HOLD + 5)) "$PORT"
    local crowd=$HELPER_PID
    wait_until 5 grep -q "connected $EMFILE_CLIENTS" "$BATS_TEST_TMPDIR/helper.out" ||
        fail "the crowd did not connect:" "$(cat "$BATS_TEST_TMPDIR/helper.out" "$BATS_TEST_TMPDIR/helper.err")" ||
        return 1
    if ((expect)); then
        wait_until 3 grep -Eq 'out of file descriptors|Too many open files' "$SERVER_LOG" ||
            fail "never ran out of descriptors (so this proves nothing):" "$(tail -5 "$SERVER_LOG")" || return 1
    fi
    sleep 0.3
    local ticks lines
    ticks=$(tree_cpu_ticks "$SERVER_PID")
    lines=$(wc -l < "$SERVER_LOG")
    sleep 1.5
    ticks=$(($(tree_cpu_ticks "$SERVER_PID") - ticks))
    lines=$(($(wc -l < "$SERVER_LOG") - lines))
    echo "# out of descriptors: $ticks CPU ticks, $lines log lines in 1.5 s" >&3
    ((ticks <= EMFILE_MAX_TICKS)) ||
        fail "$ticks ticks of CPU in 1.5 s while out of descriptors: spinning" || return 1
    ((lines <= EMFILE_MAX_LINES)) ||
        fail "$lines log lines in 1.5 s while out of descriptors:" "$(tail -3 "$SERVER_LOG")" || return 1
    wait_helper "$crowd" $((EMFILE_HOLD + 6)) || true
    process_alive "$SERVER_PID" || fail "the server died:" "$(tail -5 "$SERVER_LOG")"
}

check_emfile_idle_crowd() {
    emfile_crowd "$@" || return 1
    wait_until 10 eval 'http_get /hello.txt; [[ $HTTP_STATUS == 200 ]]' ||
        fail "after the crowd left: '$HTTP_STATUS'" || return 1
    [[ $STAGE == stage01 ]] || expect_body_is "$DOCROOT/hello.txt" # stage01's reply is fixed
}
