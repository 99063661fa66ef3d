#!/usr/bin/env bats
# kit — the course kit: `make handout` (tests/handout.sh) and
# `make grade-class` (tests/grade_class.sh, tests/jail.sh).
#
#   bats tests/kit.bats
#
# The handout: generated, it builds with -Werror, its stage07 fails grading
# while the reference stage07 dropped into it passes (the markers remove the
# exercise and nothing else).  The class: a fixture class of stage01
# submissions (tests/lib/fixture_class.bash) gets the expected CSV, and the
# machine is left as it was: no process of a student's uid, no cgroup, no
# cell directory, no file written outside.

load lib/common
load lib/fixture_class

setup_file() {
    export KIT_TMP=$BATS_FILE_TMPDIR
    # one handout for the whole file: it takes a few seconds
    "$ROOT/tests/handout.sh" "$KIT_TMP/dist/serverlab-handout" > "$KIT_TMP/handout.out" 2>&1 ||
        { cat "$KIT_TMP/handout.out" >&2; return 1; }
}

# The stages handout.sh ships whole (no exercise), from its WHOLE_STAGES line.
is_whole_stage() {
    local whole
    whole=$(sed -n 's/^WHOLE_STAGES="\(.*\)"$/\1/p' "$ROOT/tests/handout.sh")
    [[ " $whole " == *" $1 "* ]]
}

# The checks of stage07 the round trip grades: the exercise (accept and the
# sweep) is what every one of them needs; the whole suite is make test's.
ROUND_TRIP_CHECKS='^basics|^concurrency: a stalled|^lifecycle: ready'

@test "handout: generated, reports every stage's exercise, nothing of a solution in it" {
    local h=$KIT_TMP/dist/serverlab-handout
    grep -q 'lines of exercise code checked: none in the handout' "$KIT_TMP/handout.out" ||
        fail "$(cat "$KIT_TMP/handout.out")" || return 1
    [[ -f $KIT_TMP/dist/serverlab-handout.tar.gz && -f $h/README.md && -f $h/NOTES.md ]] ||
        fail "missing: the archive, README.md or NOTES.md" || return 1
    local s n
    for s in "$ROOT"/stages/stage[0-9][0-9]_*; do
        n=$(basename "$s"); n=${n%%_*}
        if is_whole_stage "$n"; then
            # listed as shipping whole: reported so, and given as it is
            grep -qE "^$n +0 +0 +ships whole\$" "$KIT_TMP/handout.out" ||
                fail "$n: not reported as shipping whole" || return 1
            diff -r "$s" "$h/stages/$(basename "$s")" > /dev/null || fail "$n: not shipped whole" || return 1
            continue
        fi
        grep -qE "^$n +[1-9][0-9]* +[1-9][0-9]*\$" "$KIT_TMP/handout.out" ||
            fail "$n: no exercise reported" || return 1
    done
    ! grep -rq 'End of exercise' "$h/stages" || fail "an end marker survived" || return 1
    grep -q 'is yours to answer' "$h/NOTES.md" || fail "NOTES.md: no answer removed" || return 1
    ! grep -q '<!-- answer:' "$h/NOTES.md" || fail "NOTES.md: an answer marker survived" || return 1
    [[ ! -e $h/tests/handout.sh && ! -e $h/tests/kit.bats ]] || fail "the instructor's tools are in the handout"
}

@test "handout: a leftover line of solution code makes it fail" {
    local copy=$BATS_TEST_TMPDIR/kit
    mkdir -p "$copy"
    git -C "$ROOT" ls-files -z | (cd "$ROOT" && xargs -0 cp --parents -t "$copy")
    cp "$ROOT/tests/handout.sh" "$copy/tests/" # the working copy, committed or not
    git -C "$copy" init -q && git -C "$copy" add -A
    # a solution line quoted in the instructions of stage07's exercise
    sed -i 's|^ \* Neither may ever wait: the loop in main() calls them again at once.$|&\n    while ((fd = conn_accept(listen_fd)) >= 0)|' "$copy/stages/stage07_busy_poll.c"
    ! cmp -s "$copy/stages/stage07_busy_poll.c" "$ROOT/stages/stage07_busy_poll.c" || fail "the edit did not apply" || return 1
    run "$copy/tests/handout.sh" "$BATS_TEST_TMPDIR/out/serverlab-handout"
    ((status != 0)) || fail "handout.sh accepted a surviving solution line" || return 1
    [[ $output == *"survive into the handout"*"conn_accept(listen_fd)"* ]] || fail "$output" || return 1
    # and an exercise that never ends
    git -C "$copy" checkout -q stages/stage07_busy_poll.c
    sed -i '/^\/\* End of exercise\. \*\/$/d' "$copy/stages/stage07_busy_poll.c"
    run "$copy/tests/handout.sh" "$BATS_TEST_TMPDIR/out/serverlab-handout"
    ((status != 0)) && [[ $output == *"never ends"* ]] || fail "unbalanced marker: $output" || return 1
    # and a stage left without an exercise that is not listed as shipping whole
    git -C "$copy" checkout -q stages/stage07_busy_poll.c
    sed -i -e '/^\/\* Exercise:/,/^ \*\/$/d' -e '/^\/\* End of exercise\. \*\/$/d' "$copy/stages/stage07_busy_poll.c"
    run "$copy/tests/handout.sh" "$BATS_TEST_TMPDIR/out/serverlab-handout"
    ((status != 0)) && [[ $output == *"stage07 has no exercise region"* ]] || fail "a stage without an exercise: $output"
}

# Every stub ends its whole server at once, so that make test in the handout
# fails fast: after the ready line (or instead of it) one request, then the
# server must be gone within a few seconds, having said "not implemented
# yet".  stage11's exercise is the data connection: its stub ends the
# session (the forked child), and the control connection shows it at once.
# (This runs before the round trip below, which puts the reference stage07
# into the handout.)
@test "handout: every stub ends its server at once" {
    local h=$KIT_TMP/dist/serverlab-handout s n log pid port
    # -k: whether all of the handout builds is the -Werror check's business
    make -C "$h" -k -j2 all > "$BATS_TEST_TMPDIR/make.out" 2>&1 || true
    for s in "$ROOT"/stages/stage[0-9][0-9]_*; do
        n=$(basename "$s"); n=${n%%_*}
        is_whole_stage "$n" && continue
        [[ -x $h/bin/$n ]] || fail "$n: not built:" "$(grep -m 3 error "$BATS_TEST_TMPDIR/make.out")" || return 1
        log=$BATS_TEST_TMPDIR/$n.log
        "$h/bin/$n" -p 0 -r "$h/html" -b 127.0.0.1 < /dev/null > /dev/null 2> "$log" 3>&- &
        pid=$!
        wait_until 5 eval '[[ -n $(ready_port "$log") ]] || ! process_alive '"$pid" || true
        port=$(ready_port "$log")
        if [[ $n == stage11 ]]; then
            [[ -n $port ]] && "$h/bin/netpoke" -t 3 "$port" 'USER anonymous\r\nPASS x\r\nPASV\r\n' > /dev/null 2>&1 || true
            wait_until 5 grep -q 'not implemented yet' "$log" || true
            kill -TERM "$pid" 2> /dev/null || true
        elif [[ -n $port ]]; then
            curl -s --max-time 3 -o /dev/null "http://127.0.0.1:$port/" || true
        fi
        if ! wait_until 5 eval '! process_alive '"$pid"; then
            kill -KILL "$pid"
            wait "$pid" || true
            fail "$n: still running 5 s after its stub ran:" "$(cat "$log")"
            return 1
        fi
        wait "$pid" || true
        grep -q "^$n: not implemented yet: " "$log" || fail "$n: no 'not implemented yet' line:" "$(cat "$log")" || return 1
    done
}

@test "handout: builds with -Werror; stage07 fails grading, the reference stage07 in it passes" {
    local h=$KIT_TMP/dist/serverlab-handout
    run make -C "$h" -j2 all
    ((status == 0)) || fail "make in the handout: ${output: -2000}" || return 1
    grep -q -- '-Werror' "$h/Makefile" || fail "the handout's Makefile lost -Werror" || return 1
    [[ -x $h/bin/stage07 && -x $h/bin/netpoke ]] || fail "stage07 or the tools not built" || return 1
    run env GRADE_FILTER="$ROUND_TRIP_CHECKS" GRADE_DIR="$BATS_TEST_TMPDIR/g-stub" "$h/tests/grade.sh" stage07
    ((status == 1)) || fail "the stub passed: $output" || return 1
    [[ $output == *"stage07: "*"/"*" checks passed"* && $output == *FAIL* ]] || fail "$output" || return 1
    local stub_line=${lines[-1]}
    # the reference source in place of the handout's
    cp "$ROOT/stages/stage07_busy_poll.c" "$h/stages/stage07_busy_poll.c"
    run make -C "$h" stage07
    ((status == 0)) || fail "the reference stage07 in the handout: $output" || return 1
    run env GRADE_FILTER="$ROUND_TRIP_CHECKS" GRADE_DIR="$BATS_TEST_TMPDIR/g-ref" "$h/tests/grade.sh" stage07
    ((status == 0)) || fail "the reference failed in the handout: $output" || return 1
    [[ ${lines[-1]} =~ ^stage07:\ ([0-9]+)/([0-9]+)\ checks\ passed$ ]] || fail "$output" || return 1
    ((BASH_REMATCH[1] == BASH_REMATCH[2] && BASH_REMATCH[2] >= 5)) || fail "${lines[-1]}" || return 1
    [[ $stub_line == "stage07: "*"/${BASH_REMATCH[2]} checks passed" ]] || fail "not the same checks: $stub_line"
}

@test "grade-class: the fixture class gets the expected CSV and leaves nothing behind" {
    [[ $(id -u) == 0 ]] || skip "class isolation needs root (grade-class then runs with limits only)"
    local class=$BATS_TEST_TMPDIR/class grades=$BATS_TEST_TMPDIR/grades
    make_fixture_class "$class"
    # where the escape's relative names (.., ../.. ...) land from any
    # directory a server might run in: the cells, the checkout, this test's
    local escapes=() base up
    for base in "$BATS_TEST_TMPDIR" "$ROOT" "$PWD" /tmp/x; do
        for up in .. ../.. ../../.. ../../../..; do
            escapes+=("$(realpath -m "$base/$up/$FIXTURE_ESCAPE_NAME")")
        done
    done
    escapes+=(/tmp/$FIXTURE_ESCAPE_NAME /var/tmp/$FIXTURE_ESCAPE_NAME /dev/shm/$FIXTURE_ESCAPE_NAME)
    rm -f "${escapes[@]}"
    local cgroups_before
    cgroups_before=$(ls -d /sys/fs/cgroup/*/serverlab-grade.* 2> /dev/null | wc -l)
    local cells_before
    cells_before=$(ls -d /tmp/serverlab-grade.* 2> /dev/null | wc -l)
    run env GRADES="$grades" GRADE_JOBS=4 GRADE_CHECK_SECONDS=30 READY_TIMEOUT=3 STOP_TIMEOUT=1 \
        CURL_TIMEOUT=3 JAIL_NPROC=16 JAIL_CPU_PERCENT=50 JAIL_FSIZE_MB=16 \
        timeout 600 "$ROOT/tests/grade_class.sh" stage01 "$class"
    echo "$output" >&2
    [[ -f $grades/stage01.csv ]] || fail "no CSV" || return 1
    cat "$grades/stage01.csv" >&2
    local total
    total=$(bats --count "$ROOT/tests/stage01.bats")
    # name, passed, build: the correct one and the one that only tried to
    # escape pass everything; ignoring SIGTERM costs the lifecycle check and the
    # restart on the same port (its first server must stop with status 0); a
    # server that crashes or floods on its first request keeps only the
    # checks that end before that (bad option, missing docroot)
    local expect="correct,$total,ok
crash,2,ok
escape,$total,ok
flood,2,ok
nocompile,0,failed
noexit,$((total - 2)),ok"
    local got
    got=$(awk -F, 'NR > 1 && $1 != "forkbomb" { print $1 "," $2 "," $5 }' "$grades/stage01.csv")
    [[ $got == "$expect" ]] || fail "got:" "$got" "expected:" "$expect" || return 1
    # The fork bomb passes the two checks that end before it goes off, or none
    # when its killed processes still count against its uid's process limit
    # (RLIMIT_NPROC counts a zombie until init reaps it): its own loss only.
    grep -qE '^forkbomb,[0-2],[0-9]+,[0-9.]+,ok,.*processes it left running were killed' "$grades/stage01.csv" ||
        fail "forkbomb: $(grep '^forkbomb' "$grades/stage01.csv")" || return 1
    head -n 1 "$grades/stage01.csv" | grep -qx 'name,passed,total,score,build,notes' || fail "CSV header" || return 1
    grep -q '^correct,[0-9]*,[0-9]*,100.0,ok,$' "$grades/stage01.csv" || fail "correct's score" || return 1
    grep -q '^nocompile,.*does not compile: .*error' "$grades/stage01.csv" || fail "nocompile's note" || return 1
    [[ -f $grades/stage01/correct/report.xml ]] || fail "no JUnit report" || return 1
    [[ ${lines[-1]} == "stage01: 7 submissions graded, 6 built, mean score "* ]] || fail "summary: ${lines[-1]}" || return 1
    # nothing left: processes of the students' uids, cgroups, cells, escapes
    # (a killed process stays a zombie until its parent, often init, reaps it)
    wait_until 10 eval '[[ -z $(ps -e -o euid= -o ruid= | awk "\$1 >= 1000000000 || \$2 >= 1000000000") ]]' ||
        fail "processes of a student uid survive: $(ps -e -o pid,stat,euid,args | awk '$3 >= 1000000000')" || return 1
    (($(ls -d /sys/fs/cgroup/*/serverlab-grade.* 2> /dev/null | wc -l) <= cgroups_before)) ||
        fail "a cgroup survives" || return 1
    [[ -z $(ls -A "$grades" | grep -v -x -e stage01 -e stage01.csv) ]] || fail "left in grades/: $(ls -A "$grades")" || return 1
    (($(ls -d /tmp/serverlab-grade.* 2> /dev/null | wc -l) <= cells_before)) || fail "a cell directory survives" || return 1
    local f
    for f in "${escapes[@]}"; do
        [[ ! -e $f ]] || fail "the escape wrote $f" || return 1
    done
    [[ -z $(find "$BATS_TEST_TMPDIR" "$ROOT" -name "$FIXTURE_ESCAPE_NAME" 2> /dev/null) ]] || fail "the escape wrote a file"
}
