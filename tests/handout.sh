#!/usr/bin/env bash
# tests/handout.sh [OUTDIR] — what `make handout` runs: the student kit.
#
# Writes OUTDIR (default dist/serverlab-handout) and OUTDIR.tar.gz: the same
# tree as this one (stages/, common/, tests/, bench/, html/, the Makefile),
# except that
#
#   - every exercise region of a stage is replaced by its instructions and
#     its stub.  In the reference code a region reads
#
#         /* Exercise: WHAT THE STUDENT WRITES, in prose...
#          * Handout stub:
#          *     static void sweep_clients(void) { not_implemented_yet("..."); }
#          */
#         ...the reference code...
#         /* End of exercise. */
#
#     and the handout keeps the comment without its stub lines, then the stub
#     (unindented by the four spaces after " * "), and drops the code and the
#     end marker;
#   - NOTES.md loses the answers to the course questions: each sits between
#     <!-- answer: question N --> and <!-- end of answer -->, and becomes a
#     line saying the question is the student's to answer;
#   - README.md is the student's README (tests/handout-README.md);
#   - the instructor's tools (this script, its bats suite, the fixture class)
#     stay out.
#
# Every stage has an exercise except those in WHOLE_STAGES, which ship whole:
# stage13, the io_uring epilogue, is read and run, not written.  A stage with
# no region that is not listed there fails the handout, and so does a listed
# stage that has one (the list says which stages are complete, never by
# accident).
#
# It fails, naming file and line, on an unbalanced or nested marker, a region
# without a stub, and when any line of a region's code survives anywhere in
# the handout's stages or notes (a line counts when it occurs nowhere outside
# the regions of any stage, once blanks are squeezed out).  It prints, per
# stage, the lines of code the exercise removed.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-dist/serverlab-handout}
[[ $out == */serverlab-handout || -n ${HANDOUT_FORCE_DIR:-} ]] ||
    { echo "handout: the output directory must be named serverlab-handout" >&2; exit 2; }
WHOLE_STAGES="stage13"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# --- one C file: regions -> instructions + stub --------------------------------
# Writes the handout file to $2, every removed code line to $3 and every line
# outside the exercises (neither instructions, stub nor code) to $4; prints the
# number of regions and of removed lines.  Exit 1 with a message on bad markers.
split_file() { # split_file SRC OUT REMOVED REST
    awk -v src="$1" -v out="$2" -v removed="$3" -v rest="$4" '
    function die(msg) { printf "handout: %s:%d: %s\n", src, NR, msg > "/dev/stderr"; bad = 1; exit 1 }
    BEGIN { state = 0; regions = 0; lines = 0; printf "" > out; printf "" > removed; printf "" > rest }
    {
        if (state == 0) {
            if ($0 ~ /^[ \t]*\/\* End of exercise\./) die("end of exercise without a start")
            if ($0 ~ /^[ \t]*\/\* Exercise:/) {
                state = 1; start = NR; nstub = 0; regions++
                match($0, /^[ \t]*/); indent = substr($0, 1, RLENGTH)
                if ($0 ~ /\*\//) die("an exercise comment needs a \"Handout stub:\" line")
            }
            print > out; print > rest; next
        }
        if (state == 1 || state == 2) {     # the opening comment
            if ($0 ~ /^[ \t]*\/\* Exercise:/) die("exercise inside the comment of the one at line " start)
            if ($0 ~ /^[ \t]*\* Handout stub:/) { state = 2; next }
            if ($0 ~ /\*\//) {
                if (state != 2) die("exercise comment at line " start " has no \"Handout stub:\" line")
                if ($0 !~ /^[ \t]*\*\/[ \t]*$/) die("put the closing */ of an exercise comment on its own line")
                if (nstub == 0) die("exercise at line " start " has an empty stub")
                print indent " */" > out
                for (i = 1; i <= nstub; i++) print stub[i] > out
                state = 3; next
            }
            if (state == 2) {
                line = $0
                if (line ~ /^[ \t]*\*[ \t]*$/) { stub[++nstub] = ""; next }
                if (!sub("^" indent " \\*     ", indent, line)) die("a stub line starts with \" *     \" (four spaces after the star)")
                stub[++nstub] = line; next
            }
            print > out; next      # the instructions: checked, never "given"
        }
        # state 3: the reference code of the region
        if ($0 ~ /^[ \t]*\/\* Exercise:/) die("exercise inside the one started at line " start)
        if ($0 ~ /^[ \t]*\/\* End of exercise\./) { state = 0; next }
        print > removed
        if ($0 ~ /[^ \t]/) lines++
    }
    END {
        if (bad) exit 1
        if (state != 0) { printf "handout: %s: the exercise at line %d never ends (\"/* End of exercise. */\")\n", src, start > "/dev/stderr"; exit 1 }
        print regions, lines
    }' "$1"
}

# --- NOTES.md: answers -> a line for the student ---------------------------------
split_notes() { # split_notes SRC OUT
    awk -v src="$1" '
    function die(msg) { printf "handout: %s:%d: %s\n", src, NR, msg > "/dev/stderr"; bad = 1; exit 1 }
    /^<!-- answer: question [0-9]+ -->$/ {
        if (inside) die("answer inside the answer at line " start)
        inside = 1; start = NR; q = $4
        printf "> **Course question %s** is yours to answer: write it in your own words, with the lines you changed.\n", q
        next
    }
    /^<!-- end of answer -->$/ { if (!inside) die("end of answer without a start"); inside = 0; answers++; next }
    !inside { print }
    END {
        if (bad) exit 1
        if (inside) { printf "handout: %s: the answer at line %d never ends\n", src, start > "/dev/stderr"; exit 1 }
        if (!answers) { printf "handout: %s: no answer is marked\n", src > "/dev/stderr"; exit 1 }
    }' "$1" > "$2"
}

# Squeeze a line for comparison: no blanks, no comment or diff leader.
squeeze() { sed -e 's/^[[:space:]]*\([-+*>]\|\/\/\)*//' -e 's/[[:space:]]//g' "$@"; }

# --- copy the tree ----------------------------------------------------------------
tree=$work/serverlab-handout
mkdir -p "$tree"
git ls-files -z --cached --others --exclude-standard -- Makefile .clang-format .clang-tidy .gitignore \
        stages common tests bench html |
    grep -zv -e '^tests/handout' -e '^tests/kit.bats$' -e '^tests/fixtures/class/' |
    xargs -0 cp --parents -t "$tree"
cp tests/handout-README.md "$tree/README.md"
split_notes NOTES.md "$tree/NOTES.md"

# --- the exercises ------------------------------------------------------------------
total=0
printf '%-8s %8s %14s\n' stage regions "lines removed"
for stage_path in $(git ls-files stages | sed -n 's|^stages/\(stage[0-9][0-9]_[^/.]*\).*|\1|p' | sort -u); do
    stage=${stage_path%%_*}
    regions=0 lines=0
    : > "$work/$stage.removed"
    : > "$work/$stage.rest"
    for f in $(git ls-files "stages/$stage_path.*" "stages/$stage_path/*" | grep -E '\.[ch]$' | sort -u); do
        counts=$(split_file "$f" "$tree/$f" "$work/one.removed" "$work/one.rest") || exit 1
        read -r r l <<<"$counts"
        regions=$((regions + r)) lines=$((lines + l))
        cat "$work/one.removed" >> "$work/$stage.removed"
        cat "$work/one.rest" >> "$work/$stage.rest"
    done
    if [[ " $WHOLE_STAGES " == *" $stage "* ]]; then
        ((regions == 0)) || { echo "handout: $stage ships whole (WHOLE_STAGES) but has an exercise region" >&2; exit 1; }
        printf '%-8s %8d %14d   ships whole\n' "$stage" 0 0
        continue
    fi
    ((regions > 0)) || { echo "handout: $stage has no exercise region (a stage that ships whole goes in WHOLE_STAGES)" >&2; exit 1; }
    printf '%-8s %8d %14d\n' "$stage" "$regions" "$lines"
    total=$((total + lines))
done
printf '%-8s %8s %14d\n' total "" "$total"

# --- nothing of a solution survives -------------------------------------------------
find "$tree/stages" -type f -name '*.[ch]' -print0 | xargs -0 cat > "$work/handout.all"
cat "$tree/NOTES.md" >> "$work/handout.all"
squeeze "$work/handout.all" | sort -u > "$work/handout.squeezed"
# The lines only the solutions have: squeezed, longer than a brace or a
# "break;", and found nowhere outside the regions of any stage (consecutive
# stages share their plumbing: what stage03 shows as given is no secret).
cat "$work"/*.removed | squeeze | grep -v '^.\{0,6\}$' | sort -u > "$work/all.secret"
cat "$work"/*.rest | squeeze | sort -u > "$work/all.public"
comm -23 "$work/all.secret" "$work/all.public" > "$work/all.check"
comm -12 "$work/all.check" "$work/handout.squeezed" > "$work/survivors"
if [[ -s $work/survivors ]]; then
    echo "handout: these lines of exercise code survive into the handout (stages or NOTES.md):" >&2
    sed 's/^/    /' "$work/survivors" >&2
    exit 1
fi
echo "handout: $(wc -l < "$work/all.check") lines of exercise code checked: none in the handout"

# --- publish ---------------------------------------------------------------------------
mkdir -p "$(dirname "$out")"
rm -rf "$out" "$out.tar.gz"
cp -R "$tree" "$out"
tar -C "$work" -czf "$out.tar.gz" serverlab-handout
echo "handout: $out/ and $out.tar.gz"
