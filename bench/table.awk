# bench/table.awk — latest.csv (one row per stage x workload) -> the Markdown
# table of latest.md (one row per stage).  Run as: awk -F, -f bench/table.awk latest.csv
#
# Columns: one per workload (req/s; MB/s for the file workloads), the latency
# of the keep-alive c=50 workload, errors, CPU per 10 000 requests, peak
# memory, processes / threads.  Plain POSIX awk (mawk or gawk).

NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }

function v(name) { return $(col[name]) }

# 12345.6 -> "12,346"
function grouped(x,    s, out) {
    s = sprintf("%.0f", x)
    out = ""
    while (length(s) > 3) {
        out = "," substr(s, length(s) - 2) out
        s = substr(s, 1, length(s) - 3)
    }
    return s out
}
function ms(x) {
    if (x == "") return "—"
    x += 0
    return x < 10 ? sprintf("%.2f", x) : x < 100 ? sprintf("%.1f", x) : sprintf("%.0f", x)
}
function mbs(x) { x += 0; return x < 100 ? sprintf("%.1f", x) : sprintf("%.0f", x) }
function short(w) {
    return w == "close" ? "close" : w == "ka" ? "k-a" : w == "cliff" ? "c=" v("connections") : w == "big" ? "1 MiB" : w == "mid" ? "64 KiB" : w
}
function is_file(w) { return w == "big" || w == "mid" }

{
    s = v("stage"); w = v("workload")
    if (!(s in seen)) { seen[s] = 1; stages[++ns] = s; model[s] = v("model") }
    if (!(w in wseen)) {
        wseen[w] = 1; works[++nw] = w
        if (w == "cliff") cliffc = v("connections")
        wlabel[w] = v("label") (is_file(w) ? " MB/s" : " req/s")
    }
    st = v("status")
    if (st == "ok")
        cell[s, w] = is_file(w) ? mbs(v("mb_per_s")) : grouped(v("req_per_s"))
    else
        cell[s, w] = st == "skipped" ? "n/a" : "**failed**"
    if (st == "ok" && v("errors") + 0 > 0) {
        errs[s] = errs[s] (errs[s] == "" ? "" : "; ") short(w) ": " grouped(v("errors"))
    }
    if (st == "ok") {
        lat[s, w] = ms(v("lat_p50_ms")) " / " ms(v("lat_p99_ms"))
        p99[s, w] = ms(v("lat_p99_ms"))
        cpu[s, w] = v("cpu_s_per_10k")
        if (v("peak_rss_kib") + 0 > rss[s]) rss[s] = v("peak_rss_kib") + 0
        if (v("procs") + 0 > procs[s]) procs[s] = v("procs") + 0
        if (v("threads") + 0 > threads[s]) threads[s] = v("threads") + 0
    }
}

function cpucell(s,    a, b) {
    a = ((s, "close") in cpu) ? cpu[s, "close"] : ""
    b = ((s, "ka") in cpu) ? cpu[s, "ka"] : ""
    if (a == "" && b == "") return "—"
    return (a == "" ? "—" : sprintf("%.2f", a)) " / " (b == "" ? "—" : sprintf("%.2f", b))
}

END {
    latw = ("ka" in wseen) ? "ka" : works[1]
    head = "| stage | model |"
    rule = "|---|---|"
    for (i = 1; i <= nw; i++) {
        head = head " " wlabel[works[i]] " |"
        rule = rule "--:|"
        if (works[i] == latw) { head = head " p50 / p99 ms |"; rule = rule "--:|" }
        if (works[i] == "cliff") { head = head " p99 ms c=" cliffc " |"; rule = rule "--:|" }
    }
    head = head " errors | CPU s per 10k req (close / k-a) | peak RSS MiB | procs / threads |"
    rule = rule "---|--:|--:|--:|"
    print head
    print rule
    for (j = 1; j <= ns; j++) {
        s = stages[j]
        line = "| " s " | " model[s] " |"
        for (i = 1; i <= nw; i++) {
            w = works[i]
            line = line " " (((s, w) in cell) ? cell[s, w] : "—") " |"
            if (w == latw) line = line " " (((s, w) in lat) ? lat[s, w] : "—") " |"
            if (w == "cliff") line = line " " (((s, w) in p99) ? p99[s, w] : "—") " |"
        }
        line = line " " (s in errs ? errs[s] : "0") " | " cpucell(s) " |"
        line = line " " (s in rss ? sprintf("%.1f", rss[s] / 1024) : "—") " |"
        line = line " " (s in procs ? procs[s] " / " threads[s] : "—") " |"
        print line
    }
}
