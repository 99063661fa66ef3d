#!/usr/bin/env bash
# tests/mutants/run.sh — the classic student bugs, built and graded.
#
#   tests/mutants/run.sh                  every mutant (make mutants)
#   tests/mutants/run.sh NAME...          only these
#   tests/mutants/run.sh --build NAME     build bin/stageNN-NAME and show its diff (make mutant)
#   tests/mutants/run.sh --list           name, stage, course question, the bug
#   tests/mutants/run.sh --notes          put the last run's tables into NOTES.md
#
# Each tests/mutants/NAME.sh is one bug a student really writes, made in one
# reference stage by a scripted edit (see "The mutant files" below).  A
# mutant is built from a copy of the tree in bin/mutants/NAME/src (the
# tracked sources are never touched) into bin/mutants/stageNN-NAME, and then
# graded by that stage's bats suite, exactly as `make grade` grades a
# student's binary.  It is caught when a check fails.
#
# How the time is bounded: a mutant runs first only the checks its file
# names (bats --filter), the ones that show the bug; only if none of them
# fails does the whole suite run.  Either run stops at the first failing
# check (its process group is ended) and has a deadline (MUTANT_TIMEOUT
# seconds, default 300, for the whole suite; a third of it for the named
# checks).  MUTANT_JOBS mutants run at once (default: the number of CPUs).
#
# The result is a table (bin/mutants/table.md): mutant, stage, the course
# question it illustrates, the bug, and the check that caught it.  Exit
# status 0 only when every mutant applied, built and was caught.  A mutant
# whose edit no longer matches the reference is BROKEN, never skipped.
#
# The mutant files: shell fragments that set
#   stage=stageNN      the stage whose suite grades it
#   question=N         the course question (COURSE.md's homework) whose
#                      failure it shows; 0 when none
#   what="..."         the bug, in one line
#   checks="..."       a bats --filter regex of the checks expected to fail
# and define mutate(), which edits the copy of the tree (the working
# directory) with `edit FILE PERL-SUBSTITUTION`.  edit fails, loudly, when
# the substitution changes nothing: the reference has moved on and the
# mutant needs updating.
set -uo pipefail
shopt -s nullglob
root=$(cd "$(dirname "$0")/../.." && pwd)
here=$root/tests/mutants
out=$root/bin/mutants

die() { printf 'mutants: %s\n' "$*" >&2; exit 2; }

# edit FILE 's/old/new/' — a Perl substitution on the whole file (so a
# pattern may span lines); fails unless the file changed.
edit() {
    local file=$1 expr=$2
    [[ -f $file ]] || { echo "edit: no file $file" >&2; return 1; }
    cp "$file" "$file.orig-mutant"
    perl -0777 -pi -e "$expr" "$file" || return 1
    if cmp -s "$file" "$file.orig-mutant"; then
        echo "edit: '$expr' changed nothing in $file" >&2
        rm -f "$file.orig-mutant"
        return 1
    fi
    rm -f "$file.orig-mutant"
}

# load NAME: read tests/mutants/NAME.sh, checking that it says what it must.
load() {
    local f=$here/$1.sh
    [[ -f $f ]] || die "no mutant $1 (tests/mutants/$1.sh)"
    unset stage question what checks
    unset -f mutate
    # shellcheck source=/dev/null
    source "$f"
    [[ ${stage:-} =~ ^stage[0-9][0-9]$ && -f $root/tests/$stage.bats ]] || die "$1: bad stage '${stage:-}'"
    [[ ${question:-} =~ ^[0-9]$ ]] || die "$1: bad question '${question:-}'"
    [[ -n ${what:-} && -n ${checks:-} ]] || die "$1: what= and checks= are required"
    declare -F mutate >/dev/null || die "$1: no mutate()"
}

all_names() {
    local f
    for f in "$here"/*.sh; do
        [[ $(basename "$f") == run.sh ]] && continue
        basename "$f" .sh
    done
}

# build NAME: the mutated copy and its binary; prints the binary's path.
build() {
    local name=$1 dir=$out/$1
    load "$name"
    rm -rf "$dir"
    mkdir -p "$dir/src"
    cp -R "$root/Makefile" "$root/common" "$root/stages" "$dir/src/"
    if ! (cd "$dir/src" && mutate) > "$dir/apply.log" 2>&1; then
        echo "mutants: $name no longer applies to $stage:" >&2
        cat "$dir/apply.log" >&2
        return 1
    fi
    (cd "$dir/src" && for d in common stages; do
        diff -ru "$root/$d" "$d"
    done) | perl -ne 'next if /^diff /; s/^(---|\+\+\+) (\S+).*/$1 . " " . ($1 eq "+++" ? "mutant\/" : "") . $2/e; print' | sed "s|$root/||" > "$dir/mutant.diff"
    [[ -s $dir/mutant.diff ]] || { echo "mutants: $name changed nothing" >&2; return 1; }
    # A student's program may compile with warnings (an unused function, say):
    # the mutants are built without -Werror.
    printf 'CFLAGS += -Wno-error\n' > "$dir/src/mutant.mk"
    if ! make -s -C "$dir/src" -f Makefile -f mutant.mk "bin/$stage" > "$dir/build.log" 2>&1; then
        echo "mutants: $name does not build:" >&2
        tail -n 20 "$dir/build.log" >&2
        return 1
    fi
    cp "$dir/src/bin/$stage" "$out/$stage-$name"
    echo "$out/$stage-$name"
}

# suite NAME BINARY FILTER SECONDS: run the stage's suite (only the checks
# matching FILTER, when given) against BINARY, in a process group of its
# own; stop at the first failure or the deadline.  Prints the name of the
# first failing check; returns 0 (one failed), 1 (none did), 124 (timed
# out), 3 (no check ran: a filter that matches nothing, a suite that breaks).
suite() {
    local name=$1 bin=$2 filter=$3 limit=$4 dir=$out/$1
    local log=$dir/bats.all.tap tmp=$dir/tmp
    [[ -n $filter ]] && log=$dir/bats.named.tap
    rm -rf "$tmp" && mkdir -p "$tmp"
    local args=(--tap)
    [[ -n $filter ]] && args+=(--filter "$filter")
    TMPDIR=$tmp SERVER=$bin setsid bats "${args[@]}" "$root/tests/$stage.bats" </dev/null >"$log" 2>&1 &
    local pid=$! deadline=$((SECONDS + limit)) timed_out=0
    while kill -0 "$pid" 2>/dev/null; do
        grep -q '^not ok' "$log" && break
        ((SECONDS < deadline)) || { timed_out=1; break; }
        sleep 0.2
    done
    if kill -0 "$pid" 2>/dev/null; then
        # setsid made bats the leader of a new group: it, its servers and
        # their clients, and nothing else.
        # (Should setsid have had to fork, only bats itself is ours to end.)
        local target=$pid
        [[ $(ps -o pgid= -p "$pid" | tr -d ' ') == "$pid" ]] && target=-$pid
        kill -TERM -- "$target" 2>/dev/null
        sleep 1
        kill -KILL -- "$target" 2>/dev/null
    fi
    wait "$pid" 2>/dev/null
    rm -rf "$tmp"
    local first
    first=$(grep -m 1 '^not ok' "$log" | sed 's/^not ok [0-9]* //; s/ # in [0-9]*ms$//')
    if [[ -n $first ]]; then
        echo "$first"
        return 0
    fi
    ((timed_out)) && return 124
    grep -q '^ok ' "$log" || { echo "no check ran: $(head -n 1 "$log")"; return 3; }
    return 1
}

# one NAME: build, grade, write bin/mutants/NAME.result:
#   name|stage|question|what|verdict|check|seconds
one() {
    local name=$1 t0=$SECONDS bin verdict check rc limit=${MUTANT_TIMEOUT:-300}
    rm -f "$out/$name.result"
    mkdir -p "$out"
    load "$name"
    if ! bin=$(build "$name" 2>"$out/$name.err"); then
        verdict=BROKEN check="$(head -n 1 "$out/$name.err")"
    else
        check=$(suite "$name" "$bin" "$checks" $((limit / 3)))
        rc=$?
        if ((rc == 0)); then
            verdict=caught
        elif ((rc == 3)); then
            verdict=BROKEN check="checks='$checks': $check"
        else
            check=$(suite "$name" "$bin" "" "$limit")
            rc=$?
            case $rc in
                0) verdict=caught check="$check (whole suite)" ;;
                124) verdict=MISSED check="no check failed within ${limit}s" ;;
                3) verdict=BROKEN ;;
                *) verdict=MISSED check="every check passed" ;;
            esac
        fi
    fi
    printf '%s|%s|%s|%s|%s|%s|%s\n' "$name" "$stage" "$question" "$what" "$verdict" "$check" \
        $((SECONDS - t0)) > "$out/$name.result"
    printf 'mutant %-28s %s %-7s %s (%ss)\n' "$name" "$stage" "$verdict" "$check" $((SECONDS - t0))
}

table() {
    echo "| mutant | stage | question | the bug | caught by |"
    echo "|---|---|---|---|---|"
    local n f
    for n in "$@"; do
        f=$out/$n.result
        if [[ -f $f ]]; then
            IFS='|' read -r name stg q w verdict check secs < "$f"
            [[ $verdict == caught ]] && verdict= || verdict="**$verdict**: "
            echo "| \`$name\` | $stg | ${q/#0/—} | $w | $verdict$check |"
        else
            echo "| \`$n\` | | | | **no result** |"
        fi
    done
}

# The course questions, and the mutants that show each one failing.
by_question() {
    echo "| question | the mutants that show its failure |"
    echo "|---|---|"
    local q n list
    for q in 1 2 3 4 5 6 7 8 9; do
        list=
        for n in $(all_names); do
            load "$n"
            [[ $question == "$q" ]] && list+="${list:+, }\`$n\` ($stage)"
        done
        echo "| $q | ${list:-—} |"
    done
}

# notes: the tables between NOTES.md's "mutants" markers, from the mutant
# files and the last run's results (a mutant with no result says so).
notes() {
    local md=$root/NOTES.md tables
    grep -q '^<!-- mutants table begin -->$' "$md" || die "NOTES.md has no '<!-- mutants table begin -->' marker"
    tables=$(by_question; echo; table $(all_names))
    TABLES=$tables perl -0777 -pi -e \
        's/(<!-- mutants table begin -->\n).*?(<!-- mutants table end -->)/$1$ENV{TABLES}\n$2/s' "$md"
}

case ${1:-} in
    --notes)
        notes
        exit 0 ;;
    --list)
        for n in $(all_names); do
            load "$n"
            printf '%s\t%s\t%s\t%s\n' "$n" "$stage" "$question" "$what"
        done
        exit 0 ;;
    --build)
        [[ -n ${2:-} ]] || die "usage: $0 --build NAME"
        load "$2"
        bin=$(build "$2") || exit 1
        cp "$bin" "$root/bin/$stage-$2"
        cat "$out/$2/mutant.diff"
        echo
        echo "built bin/$stage-$2: $what"
        echo "watch it: bin/$stage-$2 -p 8080   (the reference is bin/$stage)"
        exit 0 ;;
    --one)
        one "$2"
        exit 0 ;;
esac

names=("$@")
((${#names[@]})) || mapfile -t names < <(all_names)
((${#names[@]})) || die "no mutants in $here"
for n in "${names[@]}"; do load "$n"; done   # a malformed file stops us before any work
[[ -x $root/bin/netpoke && -x $root/bin/kaload ]] || die "build the test tools first: make tools"
mkdir -p "$out"
jobs=${MUTANT_JOBS:-$(getconf _NPROCESSORS_ONLN)}
t0=$SECONDS
printf '%s\n' "${names[@]}" | xargs -P "$jobs" -I{} "$0" --one {}
table "${names[@]}" > "$out/table.md"
echo
cat "$out/table.md"
caught=0
for n in "${names[@]}"; do
    [[ -f $out/$n.result && $(cut -d'|' -f5 "$out/$n.result") == caught ]] && caught=$((caught + 1))
done
total=${#names[@]}
echo
echo "mutants: $caught of $total caught in $((SECONDS - t0)) s"
((caught == total))
