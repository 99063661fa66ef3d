#!/usr/bin/env bash
# bench/check.sh — are bench/results/latest.{csv,md,svg} well-formed and complete?
#
# CI runs it after `make bench QUICK=1`.  It checks the shape of the results,
# never how fast anything was:
#   - latest.csv has the expected columns, every row has all of them, numbers
#     are numbers, status is ok / skipped / failed and no row failed;
#   - every built HTTP stage (or every stage of $STAGES) has a row for every
#     workload of the run, and nginx has its rows when it is installed;
#   - an "ok" row measured something: requests > 0 and a request rate;
#   - the lesson columns are filled: idle CPU on every ok row, the held count
#     on the held workloads' rows, system calls per request on every ok row
#     of a workload that was counted (and on some row when the header says
#     the strace runs were on);
#   - latest.md has its header and one table line per stage, each with the
#     header's number of cells; latest.svg is well-formed XML naming every stage.
# Exit status 0 when all holds, 1 with one line per problem otherwise.
set -u
cd "$(dirname "$0")/.." || exit 2
DIR=${RESULTS:-bench/results}
CSV=$DIR/latest.csv MD=$DIR/latest.md SVG=$DIR/latest.svg
problems=0
fail() { echo "check: $*" >&2; problems=$((problems + 1)); }

for f in "$CSV" "$MD" "$SVG"; do
    [[ -s $f ]] || { echo "check: $f is missing or empty: run make bench QUICK=1 first" >&2; exit 1; }
done

# --- latest.csv ------------------------------------------------------------------------
COLUMNS_WANTED=$(awk -f bench/row.awk -v header=1 | tr ',' ' ')
SYSCALLS_ON=0
grep -q '^- system calls:' "$MD" && SYSCALLS_ON=1
report=$(awk -F, -v wanted="$COLUMNS_WANTED" -v syscalls_on="$SYSCALLS_ON" '
    NR == 1 {
        nf = NF
        for (i = 1; i <= NF; i++) col[$i] = i
        n = split(wanted, w, " ")
        for (i = 1; i <= n; i++) if (!(w[i] in col)) print "csv: column " w[i] " is missing"
        split("connections keepalive duration_s requests req_per_s mb_per_s lat_p50_ms lat_p90_ms lat_p99_ms lat_max_ms err_connect err_read err_write err_timeout err_status errors cpu_s cpu_s_per_10k peak_rss_kib procs threads hold_conns held idle_cpu_pct reads_per_req syscall_requests syscalls_per_req syscall_errors_per_req", numeric, " ")
        next
    }
    function v(name) { return $(col[name]) }
    {
        where = "csv line " NR " (" v("stage") " " v("workload") ")"
        if (NF != nf) { print where ": " NF " fields, the header has " nf; next }
        for (i in numeric) {
            x = v(numeric[i])
            if (x != "" && x !~ /^[0-9]+(\.[0-9]+)?$/) print where ": " numeric[i] " is not a number: " x
        }
        st = v("status")
        if (st != "ok" && st != "skipped" && st != "failed") print where ": unknown status " st
        if (st == "failed") print where ": failed: " v("note")
        if (st == "ok") {
            # 0 requests and 0 errors: a stall, when slow clients were held (wrk
            # counts its timeouts every 2 s only); otherwise a run that measured nothing
            if (v("requests") + 0 <= 0 && v("errors") + 0 <= 0 && !(v("hold_conns") + 0 > 0 && v("held") + 0 > 0))
                print where ": measured nothing: no request completed and no error"
            if (v("req_per_s") == "") print where ": ok but no request rate"
            if (v("duration_s") + 0 <= 0) print where ": ok but no duration"
            if (v("errors") + 0 != v("err_connect") + v("err_read") + v("err_write") + v("err_timeout") + v("err_status"))
                print where ": errors is not the sum of its kinds"
            # the lesson columns: held for the held workloads, idle CPU for every stage
            if (v("hold_conns") + 0 > 0 && v("held") == "") print where ": held workload without a held count"
            if (v("hold_conns") + 0 > 0 && v("held") + 0 > v("hold_conns") + 0) print where ": more held than were opened"
            if (v("idle_cpu_pct") == "") print where ": no idle CPU"
            if (v("syscalls_per_req") != "") { sys_wl[v("workload")] = 1; any_sys = 1 }
            ok_row[NR] = v("workload") SUBSEP v("stage") SUBSEP v("syscalls_per_req")
        }
        s = v("stage"); wl = v("workload")
        if ((s, wl) in seen) print where ": duplicate row"
        seen[s, wl] = 1
        if (!(s in st_seen)) { st_seen[s] = 1; stages[++ns] = s }
        if (!(wl in wl_seen)) { wl_seen[wl] = 1; wls[++nw] = wl }
    }
    END {
        if (ns == 0) print "csv: no rows"
        if (syscalls_on && !any_sys) print "csv: the system call runs were on, but no row has syscalls_per_req"
        for (r in ok_row) {     # a workload counted for one stage is counted for all
            split(ok_row[r], f, SUBSEP)
            if ((f[1] in sys_wl) && f[3] == "") print "csv: " f[2] " " f[1] ": no syscalls_per_req"
        }
        for (i = 1; i <= ns; i++) for (j = 1; j <= nw; j++)
            if (!((stages[i], wls[j]) in seen)) print "csv: " stages[i] " has no row for workload " wls[j]
        for (i = 1; i <= ns; i++) printf "STAGE %s\n", stages[i]
    }' "$CSV")
while IFS= read -r line; do
    [[ $line == STAGE\ * ]] && continue
    fail "$line"
done <<< "$report"
in_csv=" $(sed -n 's/^STAGE //p' <<< "$report" | tr '\n' ' ')"

# Which stages must be there: $STAGES, or every built HTTP stage.
if [[ -n ${STAGES:-} ]]; then
    expected=$STAGES
else
    expected=$(for f in stages/stage[0-9][0-9]_*; do f=${f#stages/}; echo "${f%%_*}"; done | sort -u)
fi
for s in $expected; do
    [[ $s == stage11 || ! -x bin/$s ]] && continue
    [[ $in_csv == *" $s "* ]] || fail "csv: built stage $s has no rows"
done
NGINX_BIN=${NGINX_BIN:-$(command -v nginx || echo /usr/sbin/nginx)}
if [[ ${NGINX:-1} != 0 && -x $NGINX_BIN && $in_csv != *" nginx "* ]]; then
    fail "csv: nginx is installed but has no reference rows"
fi

# --- latest.md ---------------------------------------------------------------------------
for field in "machine:" "tools:" "pinning:" "mode:"; do
    grep -q -- "^- $field" "$MD" || fail "md: header line '$field' is missing"
done
grep -q '^Reading:' "$MD" || fail "md: the reading guide is missing"
table=$(sed -n '/<!-- bench table begin -->/,/<!-- bench table end -->/p' "$MD" | grep '^|')
[[ -n $table ]] || fail "md: no table between the bench table markers"
cells=$(head -n 1 <<< "$table" | awk -F'|' '{ print NF }')
bad=$(awk -F'|' -v n="$cells" 'NF != n { print NR }' <<< "$table" | head -n 3 | tr '\n' ' ')
[[ -z $bad ]] || fail "md: table lines $bad have a different number of cells than the header"
for s in $in_csv; do
    grep -q "^| $s |" <<< "$table" || fail "md: no table line for $s"
done
rows=$(($(wc -l <<< "$table") - 2))
read -r -a words <<< "$in_csv"
((rows == ${#words[@]})) || fail "md: $rows table lines for ${#words[@]} stages in the csv"

# --- latest.svg ----------------------------------------------------------------------------
if command -v xmllint >/dev/null; then
    xmllint --noout "$SVG" 2>/dev/null || fail "svg: not well-formed XML (xmllint)"
else
    [[ $(head -c 4 "$SVG") == "<svg" && $(tail -n 1 "$SVG") == "</svg>" ]] || fail "svg: does not start with <svg and end with </svg>"
    opened=$(grep -o '<[a-z]' "$SVG" | wc -l)
    closed=$(grep -o '</[a-z]*>\|/>' "$SVG" | wc -l)
    ((opened == closed)) || fail "svg: $opened elements opened, $closed closed"
fi
for s in $in_csv; do
    grep -q ">$s</text>" "$SVG" || fail "svg: no label for $s"
done
if awk -F, 'NR > 1 && $0 ~ /,(slow|crowd),/ { found = 1 } END { exit !found }' "$CSV"; then
    grep -q 'held open</text>' "$SVG" || fail "svg: held workloads measured, but no lesson panel"
    grep -q '| held at the end' "$MD" || fail "md: held workloads measured, but no held column"
fi

if ((problems)); then
    echo "check: $problems problem(s) in $DIR/latest.*" >&2
    exit 1
fi
echo "check: $DIR/latest.csv, .md and .svg are complete:${in_csv% }"
