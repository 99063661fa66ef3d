#!/usr/bin/env bash
# tests/jail.sh — the cell one student's programs run in during class grading
# (tests/grade_class.sh).  Every part is undone by `jail.sh close`.
#
#   jail.sh open            create the cgroups (pids, freezer, cpu) named JAIL_CGROUP
#   jail.sh run CMD ARGS…   exec CMD in the cell; as SERVER_WRAPPER it keeps the
#                           PID the tests started, so they still see the server
#   jail.sh sweep           kill everything the student's uid left running
#   jail.sh close           sweep, then remove the cgroups
#
# Environment (set by grade_class.sh):
#   JAIL_UID      the student's uid: numeric, unused, no /etc/passwd entry
#   JAIL_AREA     the student's directory: the only place it may write
#   JAIL_SCRATCH  its working directory, HOME and TMPDIR/.. (inside JAIL_AREA)
#   JAIL_CGROUP   cgroup name, e.g. serverlab-grade.1234.alice
#   JAIL_NPROC JAIL_AS_MB JAIL_CPU_SECONDS JAIL_FSIZE_MB JAIL_NOFILE JAIL_CPU_PERCENT   limits
#
# As root, `run` does, in this order, each step exec'ing the next so that
# the PID never changes:
#   1. joins the cgroups: pids.max caps its processes and threads, the cpu
#      quota gives it JAIL_CPU_PERCENT % of a processor at most, and the freezer lets
#      `sweep` stop a fork bomb before killing it;
#   2. enters a private mount namespace in which the root file system, /dev/shm
#      and /dev/mqueue are read-only, except JAIL_AREA: no write reaches /tmp,
#      the kit or anyone's home;
#   3. sets the resource limits (prlimit): processes per uid (RLIMIT_NPROC
#      stops a fork bomb even without cgroups), address space, CPU seconds,
#      file size (a flood of output ends in SIGXFSZ), open files, no core;
#   4. drops to JAIL_UID with no groups and no capabilities (setpriv).
# Not root: no uid of its own, no cgroup, no namespace; only the limits.
# grade_class.sh says so before it starts.
set -euo pipefail

cg_root=/sys/fs/cgroup
cg_dirs() {
    local c
    for c in pids freezer cpu; do
        [[ -d $cg_root/$c ]] && echo "$cg_root/$c/${JAIL_CGROUP:?}"
    done
    return 0
}

limits=(--nproc="${JAIL_NPROC:-256}" --as=$((${JAIL_AS_MB:-4096} * 1024 * 1024))
    --cpu="${JAIL_CPU_SECONDS:-120}" --fsize=$((${JAIL_FSIZE_MB:-128} * 1024 * 1024))
    --nofile="${JAIL_NOFILE:-8192}" --core=0)

# The live processes of a uid (a zombie is already dead: its parent reaps it).
# Only as root: otherwise the student's uid is our own.
pids_of_uid() {
    [[ $(id -u) == 0 ]] || return 0
    ps -e -o pid= -o euid= -o ruid= -o stat= |
        awk -v u="$1" '($2 == u || $3 == u) && $4 !~ /^Z/ { print $1 }'
}

# Let the jailed uid reach a directory the tests made for it (bats makes its
# temporary directories 0700) and, when it is the -r root, add files to it
# (the FTP stage stores uploads there).  Only inside JAIL_AREA.
open_docroot() { # open_docroot ARGS...
    local want=0 a root=
    for a in "$@"; do
        if ((want)); then root=$a; break; fi
        [[ $a == -r ]] && want=1
    done
    [[ -n $root && -d $root ]] || return 0
    root=$(realpath "$root")
    [[ $root == "$JAIL_AREA"/* ]] || return 0
    # Its directories, not the files: it may add, rename and remove entries,
    # never rewrite a fixture file in place.
    [[ $(stat -c %u "$root") == "$JAIL_UID" ]] ||
        find "$root" -type d -exec chown "$JAIL_UID:$JAIL_UID" {} +
    local d=$root
    while [[ $d == "$JAIL_AREA"/* ]]; do
        chmod o+x "$d"
        d=$(dirname "$d")
    done
}

case ${1:-} in
open)
    for d in $(cg_dirs); do
        mkdir "$d"
        [[ $d == */pids/* ]] && echo "${JAIL_NPROC:-256}" > "$d/pids.max"
        # at most JAIL_CPU_PERCENT % of one processor: a spinning submission leaves the rest
        # to the tests (and to the other submissions graded beside it)
        [[ $d == */cpu/* ]] && echo $((${JAIL_CPU_PERCENT:-100} * $(cat "$d/cpu.cfs_period_us") / 100)) > "$d/cpu.cfs_quota_us"
        # a server the tests start as "nobody" (check_403_unreadable) joins itself
        chmod o+w "$d/cgroup.procs"
    done
    ;;
run)
    shift
    if [[ $(id -u) != 0 ]]; then
        for d in $(cg_dirs); do echo $$ > "$d/cgroup.procs" 2>/dev/null || true; done
        exec prlimit "${limits[@]}" -- "$@"
    fi
    for d in $(cg_dirs); do echo $$ > "$d/cgroup.procs"; done
    open_docroot "$@"
    exec unshare --mount --propagation private -- "$0" inside "$@"
    ;;
inside) # 2-4 above, in the new mount namespace
    shift
    mount --bind "$JAIL_AREA" "$JAIL_AREA"
    mount -o remount,bind,ro /
    for m in /dev/shm /dev/mqueue; do
        mountpoint -q "$m" && mount -o remount,bind,ro "$m"
    done
    cd "$JAIL_SCRATCH"
    export HOME=$JAIL_SCRATCH TMPDIR=$JAIL_SCRATCH/tmp
    exec prlimit "${limits[@]}" -- \
        setpriv --reuid="$JAIL_UID" --regid="$JAIL_UID" --clear-groups --inh-caps=-all -- "$@"
    ;;
sweep | close)
    # Freeze the group first, so that nothing forks between the listing and
    # the kill; kill every member; thaw, so that the kills land.  Then, cgroup
    # or not, kill(-1) as the student's uid reaches every process of that uid
    # (and only those).
    killed=0
    fz=$(cg_dirs | grep /freezer/ || true)
    for round in $(seq 50); do
        if [[ -n $fz ]]; then
            echo FROZEN > "$fz/freezer.state"
            for wait in $(seq 20); do
                [[ $(cat "$fz/freezer.state") == FROZEN ]] && break
                sleep 0.01
            done
        fi
        left=$(pids_of_uid "$JAIL_UID")
        for d in $(cg_dirs); do left+=" $(cat "$d/cgroup.procs" 2> /dev/null)"; done
        left=$(echo $left)
        for p in $left; do kill -KILL "$p" 2> /dev/null && killed=$((killed + 1)); done
        [[ -n $fz ]] && echo THAWED > "$fz/freezer.state"
        [[ -z $left ]] && break
        [[ $(id -u) != 0 ]] || setpriv --reuid="$JAIL_UID" --regid="$JAIL_UID" --clear-groups kill -KILL -1 2> /dev/null || true
        sleep 0.02
    done
    if [[ -n $(pids_of_uid "$JAIL_UID") ]]; then
        echo "jail: processes of uid $JAIL_UID survive: $(pids_of_uid "$JAIL_UID" | tr '\n' ' ')" >&2
        exit 1
    fi
    # how many were killed, for grade_class.sh's notes
    [[ -n ${JAIL_KILLED_LOG:-} ]] && echo "$killed" >> "$JAIL_KILLED_LOG"
    if [[ $1 == close ]]; then
        # A killed task leaves its cgroup only once its parent reaped it.
        for d in $(cg_dirs); do
            for round in $(seq 100); do
                rmdir "$d" 2>/dev/null && break
                sleep 0.05
            done
            [[ ! -d $d ]] || { echo "jail: cannot remove $d" >&2; exit 1; }
        done
    fi
    ;;
*)
    echo "usage: $0 open|run CMD...|sweep|close" >&2
    exit 2
    ;;
esac
