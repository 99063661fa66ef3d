# bench/row.awk — one line of latest.csv from the harness's "key value" file.
#
#   awk -f bench/row.awk -v header=1                      the header line
#   awk -f bench/row.awk -v hz=100 row.kv samples         one row
#
# row.kv: what bench/run.sh gathered for one stage and workload, one
# "key value" a line (wrk's numbers as bench/wrk.lua wrote them, in
# microseconds and bytes; cpu_ticks; the held count; strace's totals).
# samples: "rss_kib procs threads" lines of the server tree, five a second.
# The columns are named once, here; NOTES.md ("The columns") explains them.
# Plain POSIX awk (mawk or gawk).

BEGIN {
    ncol = split("stage model workload label path connections keepalive duration_s requests " \
                 "req_per_s mb_per_s lat_p50_ms lat_p90_ms lat_p99_ms lat_max_ms " \
                 "err_connect err_read err_write err_timeout err_status errors " \
                 "cpu_s cpu_s_per_10k peak_rss_kib procs threads " \
                 "hold_conns held idle_cpu_pct reads_per_req syscall_requests syscalls_per_req " \
                 "syscall_errors_per_req syscalls_top status note", cols, " ")
    if (header) {
        for (i = 1; i <= ncol; i++) printf "%s%s", cols[i], i < ncol ? "," : "\n"
        exit
    }
}

FNR == NR {                     # row.kv
    k = $1
    v = $0; sub(/^[^ ]* ?/, "", v)
    gsub(/,/, ";", v)           # a comma would split the CSV field
    r[k] = v
    next
}
{                               # the samples: keep each maximum
    if ($1 + 0 > r["peak_rss_kib"]) r["peak_rss_kib"] = $1 + 0
    if ($2 + 0 > r["procs"]) r["procs"] = $2 + 0
    if ($3 + 0 > r["threads"]) r["threads"] = $3 + 0
}

function ms(us) { return us == "" ? "" : sprintf("%.3f", us / 1000) }
function num(x) { return x == "" ? 0 : x + 0 }

END {
    if (header) exit
    ok = r["status"] == "ok"
    secs = num(r["duration_us"]) / 1e6
    req = num(r["requests"])
    o["duration_s"] = sprintf("%.3f", secs)
    o["requests"] = req
    o["req_per_s"] = ok && secs > 0 ? sprintf("%.1f", req / secs) : ""
    o["mb_per_s"] = ok && secs > 0 ? sprintf("%.2f", num(r["bytes"]) / secs / 1e6) : ""
    split("p50 p90 p99 max", q, " ")
    for (i = 1; i <= 4; i++)
        o["lat_" q[i] "_ms"] = ok && req > 0 ? ms(r["lat_" q[i] "_us"]) : ""
    split("connect read write timeout status", e, " ")
    errors = 0
    for (i = 1; i <= 5; i++) { o["err_" e[i]] = num(r["err_" e[i]]); errors += o["err_" e[i]] }
    o["errors"] = errors
    ticks = r["cpu_ticks"]
    o["cpu_s"] = ticks == "" ? "" : sprintf("%.2f", ticks / hz)
    o["cpu_s_per_10k"] = ticks != "" && req > 0 ? sprintf("%.4f", ticks / hz / req * 10000) : ""
    o["reads_per_req"] = ok && r["reads"] != "" && req > 0 ? sprintf("%.2f", r["reads"] / req) : ""
    o["hold_conns"] = num(r["hold_conns"])
    o["held"] = r["held"]
    n = num(r["syscall_requests"])
    if (n > 0) {
        o["syscalls_per_req"] = sprintf("%.2f", r["syscalls_total"] / n)
        o["syscall_errors_per_req"] = sprintf("%.2f", r["syscall_errors"] / n)
    }
    for (i = 1; i <= ncol; i++) {
        c = cols[i]
        printf "%s%s", (c in o) ? o[c] : r[c], i < ncol ? "," : "\n"
    }
}
