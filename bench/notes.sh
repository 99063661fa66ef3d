#!/usr/bin/env bash
# bench/notes.sh — `make bench-notes`: put the last full bench run into NOTES.md.
#
# Replaces whatever stands between
#     <!-- bench-table begin -->   and   <!-- bench-table end -->
# in NOTES.md (inside the "measuring" section) with bench/results/latest.md:
# its header (date, machine, tools, pinning, mode), the table, the notes and
# the FTP side table.  Nothing else in NOTES.md changes, so the notes are
# never edited by hand for a new measurement.
#
# A quick run (QUICK=1) is refused: its 1-second numbers are for CI, not for
# a lecture.  ALLOW_QUICK=1 overrides that.
set -u
cd "$(dirname "$0")/.." || exit 2
SRC=${1:-bench/results/latest.md}
DEST=NOTES.md
BEGIN='<!-- bench-table begin -->'
END='<!-- bench-table end -->'

[[ -s $SRC ]] || { echo "bench-notes: $SRC is missing: run make bench first" >&2; exit 1; }
if grep -q '^- mode: quick' "$SRC" && [[ ${ALLOW_QUICK:-0} != 1 ]]; then
    echo "bench-notes: $SRC comes from a quick run; run the full make bench first (or ALLOW_QUICK=1)" >&2
    exit 1
fi
if [[ $(grep -cxF "$BEGIN" "$DEST") != 1 || $(grep -cxF "$END" "$DEST") != 1 ]]; then
    echo "bench-notes: $DEST needs exactly one '$BEGIN' and one '$END' line" >&2
    exit 1
fi

tmp=$(mktemp "$DEST.XXXXXX") || exit 1
trap 'rm -f "$tmp"' EXIT
# The inserted text: the title becomes a bold line, the table's own markers go.
awk -v src="$SRC" -v begin="$BEGIN" -v end="$END" '
    $0 == begin {
        print
        while ((getline line < src) > 0) {
            if (line ~ /^# serverlab bench, /) { sub(/^# serverlab bench, /, "", line); line = "**Last full run: " line "**" }
            if (line ~ /^<!-- bench table (begin|end) -->$/) continue
            print line
        }
        skipping = 1
        next
    }
    $0 == end { skipping = 0 }
    !skipping' "$DEST" > "$tmp" || exit 1
cat "$tmp" > "$DEST"       # in place: keeps the file itself, its mode and owner
echo "bench-notes: NOTES.md now shows $(sed -n 's/^# serverlab bench, //p' "$SRC")"
