#!/usr/bin/env bash
# tests/valgrind.sh — the bats suites of a few stages with every server under
# valgrind (what `make valgrind` runs).  Fails when any server process shows
# a memory error or definitely-lost bytes.
#
#   make valgrind                          stage02 stage09 stage10 stage12
#   VALGRIND_STAGES="stage09" make valgrind
#
# The test library starts servers as $SERVER_WRAPPER $SERVER ..., so the
# suites run unchanged with valgrind in front.  One log per process
# (%p: stage12's workers are processes too) under bin/valgrind/STAGE/.
#
# Which tests: valgrind makes a server 20–50 times slower, so checks whose
# point is speed or timing are left out (VALGRIND_SKIP, a regex on test
# names): the 50 MB downloads and slow readers (minutes under valgrind;
# sanitizer builds cover the same code paths), hundreds of connections
# (200 parallel clients, 500 requests, 50 resets), the concurrency group's
# "others are not delayed" timings, stage12's timeouts, connection cap and
# EMFILE checks (their deadlines are seconds), graceful-stop timings, the
# iterative weakness demonstration, the unreadable-file check (it runs the
# server as "nobody", who cannot write the log), stage12's fd-limit
# report (valgrind keeps a few descriptors of the limit for itself), the
# symlink swap race (it needs many fetches in 2.5 s) and stage12's cache
# expiry checks (one-second deadlines).
# Everything else —
# basics, every error status, paths and traversal, partial requests,
# keep-alive and pipelining, resets, lifecycle — runs under valgrind.
set -uo pipefail
cd "$(dirname "$0")/.."

stages=${VALGRIND_STAGES:-stage02 stage09 stage10 stage12}
skip_re=${VALGRIND_SKIP:-'50 MB|slow reader|200 parallel|500 requests|mid-download|stalled|weakness|does not (delay|block)|unreadable|-t 1|-t 60|408|dripping|-c 50|EMFILE|graceful|SIGTERM lets|SIGTERM waits|changed file|after resets|killed worker|100 requests|fd limit|swap race|mtime put back|deleted cached'}

command -v valgrind >/dev/null 2>&1 || tests/deps.sh valgrind || exit 2
command -v bats >/dev/null 2>&1 || tests/deps.sh bats || exit 2

# The servers open every client path with openat2() (common/path.c), and
# refuse to start without it rather than fall back to a check that can be
# raced.  The valgrind Debian 12 ships (3.19) has no wrapper for openat2
# and answers ENOSYS (measured here), so no server can run under it: say so
# and stop, instead of reporting every check as failed.
probe=$(timeout 30 valgrind -q bin/stage02 -p 0 -b 127.0.0.1 -r html 2>&1 & 
        sleep 5; kill $! 2>/dev/null; wait $! 2>/dev/null)
if grep -q 'no openat2' <<<"$probe"; then
    echo "valgrind: skipped: $(valgrind --version) answers ENOSYS for openat2(), which every server"
    echo "valgrind: needs to open files; memcheck runs again with a valgrind that supports it"
    exit 0
fi

root=bin/valgrind
rm -rf "$root"
mkdir -p "$root"

# Names of a suite's tests that fit under valgrind, as one anchored regex
# for bats --filter (which only selects; it cannot exclude).
filter_for() {
    local names
    names=$(sed -n 's/^@test "\(.*\)" *{.*$/\1/p' "$1" | grep -Ev -- "$skip_re" |
            sed 's/[][\.^$*+?(){}|/]/\\&/g' | paste -sd '|')
    [[ -n $names ]] && echo "^($names)\$"
}

failed=() ran=() skipped=()
for stage in $stages; do
    suite=tests/$stage.bats
    if [[ ! -f $suite ]]; then skipped+=("$stage (no $suite)"); continue; fi
    if [[ ! -x bin/$stage ]]; then skipped+=("$stage (bin/$stage not built)"); continue; fi
    filter=$(filter_for "$suite")
    if [[ -z $filter ]]; then skipped+=("$stage (no test fits)"); continue; fi
    logs=$root/$stage
    mkdir -p "$logs"
    echo "valgrind: $stage: $(sed -n '/^@test/p' "$suite" | grep -Evc -- "$skip_re") of" \
         "$(grep -c '^@test' "$suite") tests, logs in $logs/"
    wrapper="valgrind --leak-check=full --show-leak-kinds=definite"
    wrapper+=" --errors-for-leak-kinds=definite --error-exitcode=99"
    wrapper+=" --log-file=$PWD/$logs/vg.%p.log"
    # Slower start, slower replies, and the leak check at exit takes a moment:
    # a server SIGKILLed before it finishes would leave no verdict.
    SERVER_WRAPPER=$wrapper READY_TIMEOUT=60 STOP_TIMEOUT=30 CURL_TIMEOUT=30 \
        timeout 1800 bats --tap --filter "$filter" "$suite" >"$logs/bats.tap" 2>&1
    rc=$?
    pass=$(grep -c '^ok ' "$logs/bats.tap") fail=$(grep -c '^not ok ' "$logs/bats.tap")
    ran+=("$stage")

    # The verdict of every process: errors, and definitely-lost bytes.
    # A process killed (SIGKILL) before its exit has no summary, so no leak
    # verdict; the errors found until then are in its log all the same.
    bad=() unfinished=0 n=0
    for log in "$logs"/vg.*.log; do
        [[ -f $log ]] || continue
        n=$((n + 1))
        if grep -q 'ERROR SUMMARY: [1-9]' "$log" || grep -q 'definitely lost: [1-9]' "$log" ||
           grep -Eq '== (Invalid|Conditional jump|Use of uninitialised|Syscall param|Mismatched|Source and destination overlap)' "$log"; then
            bad+=("$log")
        elif ! grep -q 'ERROR SUMMARY' "$log"; then
            unfinished=$((unfinished + 1))
        fi
    done
    echo "valgrind: $stage: bats $pass passed, $fail failed; $n server processes," \
         "${#bad[@]} with errors or leaks, $unfinished killed before their leak check"
    if ((${#bad[@]})); then
        for log in "${bad[@]}"; do
            echo "---- $log"
            head -60 "$log"
        done
        failed+=("$stage")
    fi
    if ((rc != 0 || fail > 0)); then
        grep -A8 '^not ok' "$logs/bats.tap" | head -60
        failed+=("$stage (bats)")
    fi
done

((${#skipped[@]})) && printf 'valgrind: skipped %s\n' "${skipped[@]}"
if ((${#ran[@]} == 0)); then
    echo "valgrind: no suite ran"
    exit 1
fi
if ((${#failed[@]})); then
    echo "valgrind: FAILED: ${failed[*]}"
    exit 1
fi
echo "valgrind: clean (${ran[*]})"
