#!/usr/bin/env bash
# tests/grade.sh STAGE [SERVER] — grade one program with a stage's suite.
#
#   make grade STAGE=stage07 SERVER=/path/to/student/stage07 [GRADE_DIR=dir]
#
# Prints one line per check (PASS, FAIL or SKIP and its name), then the
# score line "stage07: X/Y checks passed" (a skipped check is not a pass).
# bats writes a JUnit XML report into GRADE_DIR (default grades/STAGE) for an
# LMS.  Exit status: 0 when every check passed, 1 otherwise, 2 on bad usage.
set -uo pipefail
shopt -s lastpipe
root=$(cd "$(dirname "$0")/.." && pwd)

stage=${1:-}
[[ $stage =~ ^stage[0-9][0-9]$ ]] || { echo "usage: $0 stageNN [SERVER]" >&2; exit 2; }
suite=$root/tests/$stage.bats
[[ -f $suite ]] || { echo "grade: no suite $suite" >&2; exit 2; }

server=${2:-$root/bin/$stage}
[[ -f $server && -x $server ]] || { echo "grade: $server is not an executable file" >&2; exit 2; }
SERVER=$(cd "$(dirname "$server")" && pwd)/$(basename "$server")
export SERVER

report_dir=${GRADE_DIR:-grades/$stage}
mkdir -p "$report_dir" || exit 2

passed=0 total=0
# GRADE_FILTER (a bats -f regular expression) grades a subset of the checks.
filter=()
[[ -n ${GRADE_FILTER:-} ]] && filter=(-f "$GRADE_FILTER")
timeout 1200 bats --tap --report-formatter junit --output "$report_dir" "${filter[@]}" "$suite" 2>&1 |
while IFS= read -r line; do
    line=${line% # in *ms}      # the JUnit reporter adds timings to the TAP lines
    case $line in
        "not ok "*)
            total=$((total + 1)); name=${line#not ok }; echo "FAIL ${name#* }" ;;
        "ok "*"# skip"*)
            total=$((total + 1)); name=${line#ok }; echo "SKIP ${name#* }" ;;
        "ok "*)
            total=$((total + 1)); passed=$((passed + 1)); name=${line#ok }; echo "PASS ${name#* }" ;;
    esac
done
status=${PIPESTATUS[0]}

echo "JUnit report: $report_dir/report.xml"
# A suite that did not run (crash of bats itself, a timeout) scores nothing.
if ((total == 0)); then
    echo "grade: the suite did not run (status $status)" >&2
fi
echo "$stage: $passed/$total checks passed"
((total > 0 && passed == total))
