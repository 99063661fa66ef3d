#!/usr/bin/env bash
# tests/grade_class.sh STAGE SUBMISSIONS — what `make grade-class` runs.
#
#   make grade-class STAGE=stage07 SUBMISSIONS=submissions [GRADES=grades]
#
# SUBMISSIONS/NAME/ holds one student's work for STAGE: either the source
# (the stage's .c file, or for a folder stage its .c and .h files), built
# here against this kit's common/ and Makefile, or a prebuilt binary named
# STAGE.  Each is built and graded with tests/grade.sh, the same suite as
# `make grade`, inside its own cell (tests/jail.sh): its own unprivileged
# uid, its own scratch directory with a copy of html/, a read-only view of
# everything else, resource limits, a wall-clock limit per check
# (GRADE_CHECK_SECONDS), and everything it leaves running killed by cgroup
# and uid after every check.  One submission's failure is a row, never the
# end of the run.
#
# Writes GRADES/STAGE.csv (name,passed,total,score,build,notes), a JUnit
# report per student in GRADES/STAGE/NAME/report.xml, the build log of each
# in GRADES/STAGE/NAME/build.log, and prints one line per student and a
# summary line.  Nothing else stays behind: the cells' directories, cgroups
# and processes are removed.
#
# Tunables (environment): GRADE_JOBS (submissions graded at once, default 1),
# GRADE_CHECK_SECONDS (120), GRADE_BUILD_SECONDS (120), JAIL_CPU_PERCENT (100),
# and the limits JAIL_NPROC (256), JAIL_AS_MB (4096), JAIL_CPU_SECONDS (120),
# JAIL_FSIZE_MB (128), JAIL_NOFILE (8192); READY_TIMEOUT, STOP_TIMEOUT and
# CURL_TIMEOUT go on to the tests.
set -uo pipefail
shopt -s nullglob
kit=$(cd "$(dirname "$0")/.." && pwd)

stage=${1:-} subs=${2:-}
[[ $stage =~ ^stage[0-9][0-9]$ && -d $subs ]] ||
    { echo "usage: $0 stageNN SUBMISSIONS_DIR   (SUBMISSIONS_DIR/NAME/ per student)" >&2; exit 2; }
[[ -f $kit/tests/$stage.bats ]] || { echo "grade-class: no suite tests/$stage.bats" >&2; exit 2; }
subs=$(cd "$subs" && pwd)
grades=$(mkdir -p "${GRADES:-grades}" && cd "${GRADES:-grades}" && pwd)
csv=$grades/$stage.csv
reports=$grades/$stage
check_seconds=${GRADE_CHECK_SECONDS:-120}
build_seconds=${GRADE_BUILD_SECONDS:-120}
ref_dirs=("$kit/stages/${stage}"_*/)
ref_dir=${ref_dirs[0]:-}          # set for a folder stage (several files)
total_checks=$(bats --count "$kit/tests/$stage.bats")

# --- how much isolation this machine allows --------------------------------------
if [[ $(id -u) == 0 ]] && command -v setpriv unshare prlimit > /dev/null; then
    isolated=1
    echo "grade-class: each submission runs as its own uid, in a private mount namespace, with limits"
    [[ -d /sys/fs/cgroup/pids ]] || echo "grade-class: no pids cgroup here: processes are capped per uid (RLIMIT_NPROC) and killed by uid"
else
    isolated=0
    echo "grade-class: WARNING: not root: submissions run as $(id -un), with resource limits only;" \
        "they can write wherever you can, and what they leave running is killed only within" \
        "the server's process tree. Run as root (e.g. in a throwaway VM) for real isolation." >&2
fi

# A uid nobody uses: high, from our PID, checked against running processes.
uid_base=$((1000000000 + ($$ % 1000000) * 1000))
free_uid() {
    local u=$1
    while [[ -n $(stat -c %u /proc/[0-9]* 2>/dev/null | grep -x "$u") ]] || getent passwd "$u" > /dev/null; do
        u=$((u + 1))
    done
    echo "$u"
}

# The cells live in /tmp (GRADE_WORK_DIR): the students' uids must be able
# to reach them, which they cannot in a private directory such as ~ or a
# test's temporary directory.
work=$(mktemp -d "${GRADE_WORK_DIR:-/tmp}/serverlab-grade.XXXXXX")
chmod 755 "$work"
mkdir "$work/rows" "$work/open"
# On any exit: stop the graders still running, close every cell still open.
cleanup() {
    local j c
    for j in $(jobs -p); do kill -TERM "$j" 2> /dev/null; done
    wait
    for c in "$work"/*/session; do kill_session "$(cat "$c")"; done
    for c in "$work"/open/*; do
        (source "$c" && "$kit/tests/jail.sh" close 2> /dev/null)
    done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Every process still in session $1, by session id (field 6 of /proc/PID/stat).
kill_session() {
    local round pids
    [[ $1 =~ ^[0-9]+$ ]] || return 0
    for round in 1 2 3 4 5; do
        pids=$(ps -e -o pid= -o sid= | awk -v s="$1" '$2 == s { print $1 }')
        [[ -z $pids ]] && return 0
        kill -KILL $pids 2> /dev/null
        sleep 0.1
    done
}

csv_field() { # quote when needed: "a,b" -> "\"a,b\""
    if [[ $1 == *[,\"$'\n']* ]]; then
        local q=${1//\"/\"\"}
        printf '"%s"' "${q//$'\n'/ }"
    else
        printf '%s' "$1"
    fi
}

# Put a student's files where the kit's Makefile expects the stage.
place_source() { # place_source FROM BUILD_DIR
    local from=$1 build=$2 f
    mkdir -p "$build/stages"
    if [[ -n $ref_dir ]]; then
        mkdir -p "$build/stages/${stage}_submission"
        for f in "$from"/*.c "$from"/*.h; do cp -- "$f" "$build/stages/${stage}_submission/"; done
    else
        local cs=("$from"/*.c)
        ((${#cs[@]} == 1)) || return 1
        cp -- "${cs[0]}" "$build/stages/${stage}_submission.c"
    fi
}

# --- one student: build, grade, tear down; its CSV row into $work/rows/INDEX --
grade_one() { # grade_one INDEX DIR
    local index=$1 dir=$2 name safe cell scratch uid build notes=() server passed total out
    name=$(basename "$dir")
    safe=${name//[^A-Za-z0-9._-]/_}
    cell=$work/$index
    scratch=$cell/scratch
    mkdir -p "$scratch/tmp" "$cell/tmp" "$cell/build/bin" "$reports/$safe"
    cp -R "$kit/html" "$scratch/html"
    uid=$(id -u)
    if ((isolated)); then
        uid=$(free_uid $((uid_base + index)))
        chown -R "$uid:$uid" "$scratch" "$cell/build"
    fi
    chmod 755 "$cell"
    export JAIL_UID=$uid JAIL_AREA=$cell JAIL_SCRATCH=$scratch JAIL_CGROUP=serverlab-grade.$$.$index
    export JAIL_KILLED_LOG=$cell/killed
    if ((isolated)); then
        declare -p JAIL_UID JAIL_AREA JAIL_SCRATCH JAIL_CGROUP | sed 's/^declare -x/export/' > "$work/open/$index"
        "$kit/tests/jail.sh" open || { echo "grade-class: cannot create the cgroups" >&2; return 1; }
    fi

    # --- build (or take the binary) ---------------------------------------------
    build=ok server=$cell/build/bin/$stage
    local sources=("$dir"*.c)
    if [[ -f $dir/$stage && -x $dir/$stage ]]; then
        cp -- "$dir/$stage" "$server"
        build=prebuilt
    elif ((${#sources[@]} > 0)) && { [[ -n $ref_dir ]] || ((${#sources[@]} == 1)); }; then
        cp -R "$kit/Makefile" "$kit/common" "$cell/build/"
        place_source "$dir" "$cell/build"
        ((isolated)) && chown -R "$uid:$uid" "$cell/build"
        timeout -k 5 "$build_seconds" "$kit/tests/jail.sh" run make -C "$cell/build" --no-print-directory "bin/$stage" \
            > "$reports/$safe/build.log" 2>&1 < /dev/null || build=failed
        [[ -x $server ]] || build=failed
        [[ $build == ok ]] || notes+=("does not compile: $(grep -m 1 -E 'error:|undefined reference' "$reports/$safe/build.log" | cut -c 1-160)")
    else
        build=missing
        notes+=("no $stage binary and no source in $name/ (one .c file; several for a folder stage)")
    fi

    # --- grade ------------------------------------------------------------------
    passed=0 total=$total_checks
    if [[ $build == ok || $build == prebuilt ]]; then
        chmod 755 "$server"
        out=$reports/$safe/grade.txt
        # In a session of its own: whatever the tests leave behind (a client
        # still waiting on a server that never answers) is found by session id.
        TMPDIR=$cell/tmp GRADE_DIR=$reports/$safe BATS_TEST_TIMEOUT=$check_seconds \
            SERVER_WRAPPER="$kit/tests/jail.sh run" SERVER_SWEEP="$kit/tests/jail.sh sweep" \
            setsid --fork --wait bash -c 'echo $$ > "$1"; shift; exec "$@"' _ "$cell/session" \
            timeout -k 10 $((check_seconds * (total_checks + 2))) "$kit/tests/grade.sh" "$stage" "$server" \
            > "$out" 2>&1 < /dev/null
        kill_session "$(cat "$cell/session")"
        local score_line timeouts failed_checks
        score_line=$(grep -E "^$stage: [0-9]+/[0-9]+ checks passed" "$out" | tail -n 1)
        if [[ $score_line =~ ([0-9]+)/([0-9]+) ]]; then
            passed=${BASH_REMATCH[1]}
            ((BASH_REMATCH[2] >= total_checks)) || notes+=("only ${BASH_REMATCH[2]} of $total_checks checks ran")
        else
            notes+=("the suite did not finish")
        fi
        timeouts=$(grep -c 'timeout after' "$out")
        ((timeouts > 0)) && notes+=("$timeouts checks hit the ${check_seconds} s limit")
        failed_checks=$(grep -c '^FAIL ' "$out")
        ((failed_checks > 0)) && notes+=("$failed_checks failed, first: $(grep -m 1 '^FAIL ' "$out" | cut -c 6-70)")
    fi

    # --- tear the cell down -----------------------------------------------------
    if ((isolated)); then
        "$kit/tests/jail.sh" close || notes+=("its cell could not be removed")
        rm -f "$work/open/$index"
        local leftovers
        leftovers=$(awk '{ s += $1 } END { print s + 0 }' "$cell/killed" 2> /dev/null || echo 0)
        ((leftovers > 0)) && notes+=("$leftovers processes it left running were killed")
    fi
    rm -rf "$cell"

    local score note
    score=$(awk -v p="$passed" -v t="$total" 'BEGIN { printf "%.1f", (t > 0) ? 100 * p / t : 0 }')
    note=$(printf '%s; ' "${notes[@]}")
    note=${note%; }
    printf '%s,%s,%s,%s,%s,%s\n' "$(csv_field "$name")" "$passed" "$total" "$score" "$build" \
        "$(csv_field "$note")" > "$work/rows/$index"
    printf '%-20s %3d/%-3d %6s%%  %s\n' "$name" "$passed" "$total" "$score" "$build"
}

mkdir -p "$reports"
jobs_max=${GRADE_JOBS:-1}
index=0
for dir in "$subs"/*/; do
    index=$((index + 1))
    while (($(jobs -rp | wc -l) >= jobs_max)); do
        wait -n
    done
    grade_one "$index" "$dir" &
done
wait

{
    echo "name,passed,total,score,build,notes"
    for ((i = 1; i <= index; i++)); do
        cat "$work/rows/$i" 2> /dev/null || echo "$(csv_field "$(basename "$(ls -d "$subs"/*/ | sed -n "${i}p")")"),0,$total_checks,0.0,error,the grader itself failed"
    done
} > "$csv.tmp"
mv "$csv.tmp" "$csv"
summary=$(awk -F, 'NR > 1 { n++; s += $4; if ($5 == "ok" || $5 == "prebuilt") b++ }
    END { printf "%d submissions graded, %d built, mean score %.1f%%", n, b, n ? s / n : 0 }' "$csv")
echo "$stage: $summary; $csv"
((index > 0))
