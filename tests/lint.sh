#!/usr/bin/env bash
# tests/lint.sh — static checks (what `make lint` runs):
#
#   cppcheck      warnings, portability and performance findings
#   clang-tidy    the bug-finding checks chosen in .clang-tidy (each
#                 switched-off check is justified there)
#   clang-format  layout, against .clang-format; lists the files that differ
#
# on the C sources of common/, stages/, tests/tools/, tests/unit/,
# tests/fuzz/ and bench/.  Inside a git checkout only files git tracks are
# checked (work in progress does not fail the build); LINT_ALL=1 checks every
# file, LINT_FILES="a.c b.c" just those.  Exit status 1 on any finding.
#
#   make lint                       all three
#   LINT_TOOLS="clang-tidy" make lint
#   clang-format -i FILE.c          reformat a file that differs
set -uo pipefail
cd "$(dirname "$0")/.."

tools=${LINT_TOOLS:-cppcheck clang-tidy clang-format}
jobs=${LINT_JOBS:-2}
out=bin/lint
mkdir -p "$out"

need=()
for t in $tools; do
    command -v "$t" >/dev/null 2>&1 || need+=("$t")
done
if ((${#need[@]})); then
    tests/deps.sh "${need[@]}" || exit 2
fi

# --- which files ----------------------------------------------------------------
patterns=(common/ stages/ tests/tools/ tests/unit/ tests/fuzz/ bench/)
if [[ -n ${LINT_FILES:-} ]]; then
    read -r -d "" -a files <<<"$LINT_FILES"
elif [[ -z ${LINT_ALL:-} ]] && git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    mapfile -t files < <(git ls-files -- "${patterns[@]}" | grep -E '\.[ch]$')
else
    mapfile -t files < <(find "${patterns[@]}" -name '*.[ch]' 2>/dev/null | sort)
fi
((${#files[@]})) || { echo "lint: no files to check" >&2; exit 2; }
sources=()
for f in "${files[@]}"; do
    [[ $f == *.c && -f $f ]] && sources+=("$f")
done
echo "lint: ${#files[@]} files (${#sources[@]} .c) with: $tools"

failed=()

# --- cppcheck -------------------------------------------------------------------
if [[ " $tools " == *" cppcheck "* ]]; then
    # Each stage folder is its own program: its headers sit next to it.
    includes=(-Icommon)
    for d in stages/*/; do includes+=("-I${d%/}"); done
    cppcheck --quiet --std=c11 -D_GNU_SOURCE --enable=warning,portability,performance \
        --inline-suppr --suppress=missingIncludeSystem --error-exitcode=1 \
        --template='{file}:{line}:{column}: {severity}: {message} [{id}]' \
        "${includes[@]}" -j "$jobs" "${sources[@]}" >"$out/cppcheck.txt" 2>&1
    rc=$?
    n=$(grep -c ': \(error\|warning\|portability\|performance\|style\): ' "$out/cppcheck.txt")
    if ((rc != 0 || n > 0)); then
        cat "$out/cppcheck.txt"
        echo "lint: cppcheck: $n findings"
        failed+=(cppcheck)
    else
        echo "lint: cppcheck: clean"
    fi
fi

# --- clang-tidy -----------------------------------------------------------------
if [[ " $tools " == *" clang-tidy "* ]]; then
    # The flags the Makefile compiles with, plus the file's own folder for a
    # stage's private headers.  One file per process, $jobs at a time.
    tidy_one() {
        clang-tidy --quiet "$1" -- -std=c11 -D_GNU_SOURCE -Icommon -I"$(dirname "$1")" 2>/dev/null
    }
    export -f tidy_one
    printf '%s\n' "${sources[@]}" | xargs -P "$jobs" -I{} bash -c 'tidy_one "$1"' _ {} \
        >"$out/clang-tidy.txt"
    # A header's finding is reported once per file including it: count it once.
    mapfile -t findings < <(grep -E '^[^ ].*:[0-9]+:[0-9]+: (warning|error):' "$out/clang-tidy.txt" |
                            sed "s|^$PWD/||" | sort -u)
    if ((${#findings[@]})); then
        echo "lint: clang-tidy: ${#findings[@]} findings (the analyzer's reasoning: $out/clang-tidy.txt):"
        printf '    %s\n' "${findings[@]}"
        failed+=(clang-tidy)
    else
        echo "lint: clang-tidy: clean"
    fi
fi

# --- clang-format ---------------------------------------------------------------
if [[ " $tools " == *" clang-format "* ]]; then
    differ=()
    for f in "${files[@]}"; do
        [[ -f $f ]] || continue
        if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
            lines=$(clang-format "$f" | diff "$f" - | grep -c '^>')
            differ+=("$f ($lines lines)")
        fi
    done
    if ((${#differ[@]})); then
        echo "lint: clang-format: ${#differ[@]} files differ from .clang-format" \
             "(see: clang-format FILE | diff FILE -; fix: clang-format -i FILE):"
        printf '    %s\n' "${differ[@]}"
        failed+=(clang-format)
    else
        echo "lint: clang-format: clean"
    fi
fi

if ((${#failed[@]})); then
    echo "lint: FAILED: ${failed[*]}"
    exit 1
fi
echo "lint: clean"
