#!/usr/bin/env bash
# tests/run.sh — what `make test` runs: the C unit tests, then every stage's
# bats suite, then one summary line "N passed, N failed[, N skipped]".
#
#   tests/run.sh                           everything that is built
#   TESTS="stage02 stage09" tests/run.sh   only those suites
#   TESTS="unit" tests/run.sh              only the unit tests
#   TESTS="kit" tests/run.sh               only the course kit (handout, grade-class)
#
# A suite whose server binary is not built is reported and counted as
# skipped, never as passed.  The counts also go to bin/test-summary.txt for
# CI, which adds up the plain and the sanitizer runs.
set -uo pipefail
shopt -s lastpipe       # the counting loop at the end of a pipe runs in this shell
shopt -s nullglob
cd "$(dirname "$0")/.."

passed=0 failed=0 skipped=0
failed_names=()

# Echo and count one TAP stream (bats and our unit tests both speak TAP).
count_tap() {           # producer | count_tap SUITE
    local line
    while IFS= read -r line; do
        printf '%s\n' "$line"
        case $line in
            "not ok "*) failed=$((failed + 1)); failed_names+=("$1: ${line#not ok }") ;;
            "ok "*"# skip"*) skipped=$((skipped + 1)) ;;
            "ok "*) passed=$((passed + 1)) ;;
        esac
    done
}

wanted() {              # is suite $1 selected by $TESTS?
    [[ -z ${TESTS:-} ]] && return 0
    [[ " $TESTS " == *" $1 "* ]]
}

# A program that exits non-zero without reporting a "not ok" (a crash, a
# sanitizer abort, a bats file that does not parse) is one more failure.
exit_check() {          # exit_check NAME STATUS FAILED_BEFORE
    if (($2 != 0 && failed == $3)); then
        echo "not ok - $1 exited with status $2"
        failed=$((failed + 1)); failed_names+=("$1: exit status $2")
    fi
}

# --- unit tests: bin/test_* print TAP and exit 1 on any failure -------------
if wanted unit; then
    for t in bin/test_*; do
        [[ -x $t ]] || continue
        echo "# unit: $t"
        before=$failed
        timeout 300 "$t" 2>&1 | count_tap "$t"
        exit_check "$t" "${PIPESTATUS[0]}" "$before"
    done
fi

# --- bats suites: tests/stageNN.bats against bin/stageNN (or $SERVER) -------
for suite in tests/stage[0-9][0-9].bats; do
    stage=$(basename "$suite" .bats)
    wanted "$stage" || continue
    if [[ -z ${SERVER:-} && ! -x bin/$stage ]]; then
        echo "# $stage: bin/$stage is not built; its suite is skipped"
        echo "ok - $stage suite # skip bin/$stage not built"
        skipped=$((skipped + 1))
        continue
    fi
    echo "# $stage: $suite"
    before=$failed
    timeout 1200 bats --tap "$suite" 2>&1 | count_tap "$stage"
    exit_check "$suite" "${PIPESTATUS[0]}" "$before"
done

# --- the course kit: the handout and class grading (tests/kit.bats) ---------
# Once per CI run: it builds its own programs, so the sanitizer run skips it.
if wanted kit && [[ -f tests/kit.bats ]]; then
    if grep -q fsanitize bin/.flags 2> /dev/null; then
        echo "ok - kit suite # skip tested by the plain build's run"
        skipped=$((skipped + 1))
    else
        echo "# kit: tests/kit.bats"
        before=$failed
        timeout 900 bats --tap tests/kit.bats 2>&1 | count_tap kit
        exit_check tests/kit.bats "${PIPESTATUS[0]}" "$before"
    fi
fi

mkdir -p bin
# Nothing run is not a success: a broken checkout must not look green.
if ((passed + failed == 0)); then
    echo "not ok - no test ran"
    failed=1
fi
echo "passed=$passed failed=$failed skipped=$skipped" > bin/test-summary.txt
if ((failed > 0 && ${#failed_names[@]} > 0)); then
    echo "# failed:"
    printf '#   %s\n' "${failed_names[@]}"
fi
summary="$passed passed, $failed failed"
((skipped > 0)) && summary+=", $skipped skipped"
echo "$summary"
((failed == 0))
