# checks_race.bash — the symlink swap race (a TOCTOU attack on the docroot).
#
# Someone who may write inside the docroot (an upload area, a public_html)
# swaps a directory with a symlink to a directory outside, over and over
# (bin/swaprace, one atomic renameat2(RENAME_EXCHANGE) per swap), while a
# client fetches a file below that directory.  A server that checks a path
# and then opens it by name again can check the directory and open through
# the symlink: every fetch that returns the outside file's content is an
# escape, and there must be none.  The race only proves something if it
# was run: enough fetches, and both outcomes (the inside file, a refusal)
# seen, so the server met both states of the name.
#
#   check_symlink_swap_race     HTTP: GET /race/f.txt
#   race_fixture / race_run URL / expect_no_race_escape   (stage11 uses them for RETR)

RACE_MS=${RACE_MS:-2500}     # how long the swapping goes on
RACE_MIN_FETCHES=${RACE_MIN_FETCHES:-40}
RACE_FILES=${RACE_FILES:-50}  # names fetched in turn (see race_fixture)

# $DOCROOT/race/f.txt (inside), $DOCROOT/race.link -> ../race-out, and
# beside the docroot race-out/f.txt, whose content must never be served.
race_fixture() {
    local out
    out="$(dirname "$DOCROOT")/race-out"
    rm -rf "$DOCROOT/race" "$DOCROOT/race.link" "$out"
    mkdir -p "$DOCROOT/race" "$out"
    # f.txt and f1..f$RACE_FILES.txt: a server that caches what it opened
    # (stage12) resolves each name only when first asked and at its recheck,
    # so many names make many resolutions during the race.
    local n
    for n in '' $(seq "$RACE_FILES"); do
        printf 'RACE-INSIDE\n' > "$DOCROOT/race/f$n.txt"
        printf 'SECRET-RACE-OUTSIDE\n' > "$out/f$n.txt"
    done
    ln -s ../race-out "$DOCROOT/race.link"
    chmod -R a+rX "$DOCROOT/race" "$out"
}

race_cleanup() {
    rm -rf "$DOCROOT/race" "$DOCROOT/race.link" "$(dirname "$DOCROOT")/race-out"
}

# race_run URL [curl args]: fetch URL again and again while bin/swaprace
# swaps for RACE_MS: curl runs 100 fetches at a time, 4 in parallel, each
# into a file of its own (parallel output to one stream could split a line,
# and a split "SECRET" would go uncounted).  Sets RACE_FETCHES, RACE_INSIDE,
# RACE_ESCAPES, RACE_SWAPS.
race_run() {
    local url=$1 dir=$BATS_TEST_TMPDIR/race batch=0 i
    shift
    [[ -x $ROOT/bin/swaprace ]] || fail "bin/swaprace is missing (make tools)" || return 1
    rm -rf "$dir"
    mkdir -p "$dir"
    : > "$BATS_TEST_TMPDIR/race.codes"
    "$ROOT/bin/swaprace" -t "$RACE_MS" "$DOCROOT/race" "$DOCROOT/race.link" \
        > "$BATS_TEST_TMPDIR/swaprace.out" 2>&1 3>&- &
    local swapper=$! deadline=$(($(now_ms) + RACE_MS + 10000))
    while process_alive "$swapper" && (($(now_ms) < deadline)); do
        batch=$((batch + 1))
        for i in $(seq 100); do
            printf 'url = "%s"\noutput = "%s"\n' "${url/f.txt/f$((i % RACE_FILES + 1)).txt}" "$dir/$batch.$i"
        done \
            > "$BATS_TEST_TMPDIR/race.curl"
        curl -s -Z --parallel-max 4 --max-time 5 -w '%{response_code}\n' "$@" \
            -K "$BATS_TEST_TMPDIR/race.curl" >> "$BATS_TEST_TMPDIR/race.codes" 2>/dev/null 3>&-
    done
    if process_alive "$swapper"; then
        kill "$swapper"
        wait "$swapper" 2>/dev/null
        fail "the swapper outlived its time" || return 1
    fi
    wait "$swapper" || fail "swaprace failed:" "$(cat "$BATS_TEST_TMPDIR/swaprace.out")" || return 1
    RACE_SWAPS=$(sed -n 's/^swaps //p' "$BATS_TEST_TMPDIR/swaprace.out")
    # (grep -c prints 0 but fails when nothing matches)
    RACE_FETCHES=$(grep -vc '^000$' "$BATS_TEST_TMPDIR/race.codes") || true # 000: no answer
    RACE_INSIDE=$(grep -lx 'RACE-INSIDE' -r "$dir" | wc -l)
    RACE_ESCAPES=$(grep -l 'SECRET-RACE' -r "$dir" | wc -l)
}

# The verdict on race_run's counts: no escape, and a race that really ran.
expect_no_race_escape() {
    local counts="$RACE_FETCHES fetches, $RACE_INSIDE inside, $RACE_ESCAPES escapes, $RACE_SWAPS swaps"
    ((RACE_ESCAPES == 0)) || fail "served the file outside the root $RACE_ESCAPES times ($counts)" || return 1
    ((RACE_FETCHES >= RACE_MIN_FETCHES)) ||
        fail "only $RACE_FETCHES fetches during the race, too few to prove anything ($counts)" || return 1
    ((RACE_SWAPS >= 1000)) || fail "only $RACE_SWAPS swaps ($counts)" || return 1
    # both states of the name were met: the file sometimes, a refusal sometimes
    ((RACE_INSIDE > 0 && RACE_INSIDE < RACE_FETCHES)) ||
        fail "the fetches never met both the directory and the symlink ($counts)" || return 1
    echo "# race: $counts" >&3
}

check_symlink_swap_race() {
    race_fixture
    race_run "http://127.0.0.1:$PORT/race/f.txt" || return 1
    race_cleanup
    expect_no_race_escape || return 1
    hostile_still_serving "the race"
}
