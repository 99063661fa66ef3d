# bench/table.awk — latest.csv (one row per stage x workload) -> the Markdown
# table of latest.md (one row per stage), or with -v part=syscalls the list of
# each stage's most frequent system calls (the table's notes).
#
#   awk -F, -f bench/table.awk latest.csv
#   awk -F, -f bench/table.awk -v part=syscalls latest.csv
#
# Columns: one per workload (req/s; MB/s for the file workloads), the latency
# of the keep-alive c=50 workload and of the c=1000 one; for the held
# workloads (slow, crowd) how many of the held connections were still held,
# and under the crowd the p99, memory and processes / threads; system calls
# per request (strace runs); read() calls per request in the timed runs
# (/proc/PID/io, no strace); idle CPU; errors; CPU per 10 000 requests; peak
# memory and processes / threads under the other workloads.
# Plain POSIX awk (mawk or gawk).

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
    return w == "close" ? "close" : w == "ka" ? "k-a" : w == "big" ? "1 MiB" : w == "mid" ? "64 KiB" : w
}
function is_file(w) { return w == "big" || w == "mid" }
function mib(k) { return sprintf("%.1f", k / 1024) }
function get(a, s, w) { return ((s, w) in a) ? a[s, w] : "—" }

{
    s = v("stage"); w = v("workload")
    if (!(s in seen)) { seen[s] = 1; stages[++ns] = s; model[s] = v("model") }
    if (!(w in wseen)) {
        wseen[w] = 1; works[++nw] = w
        conns[w] = v("connections"); hold[w] = v("hold_conns") + 0
        wlabel[w] = v("label") (is_file(w) ? " MB/s" : " req/s")
        if (hold[w]) nheld++
    }
    st = v("status")
    if (st == "ok")
        cell[s, w] = is_file(w) ? mbs(v("mb_per_s")) : grouped(v("req_per_s"))
    else
        cell[s, w] = st == "skipped" ? "n/a" : "**failed**"
    if (v("idle_cpu_pct") != "") idle[s] = v("idle_cpu_pct")
    if (st != "ok") next
    if (v("errors") + 0 > 0)
        errs[s] = errs[s] (errs[s] == "" ? "" : "; ") short(w) ": " grouped(v("errors"))
    lat[s, w] = ms(v("lat_p50_ms")) " / " ms(v("lat_p99_ms"))
    p99[s, w] = ms(v("lat_p99_ms"))
    cpu[s, w] = v("cpu_s_per_10k")
    if (v("reads_per_req") != "") reads[s, w] = sprintf("%.1f", v("reads_per_req"))
    if (v("syscalls_per_req") != "") {
        sys[s, w] = sprintf("%.1f", v("syscalls_per_req")); anysys = 1
        if (!(w in sysw)) { sysw[w] = 1; sysws[++nsys] = w }
        top[s, w] = v("syscalls_top")
    }
    if (hold[w]) {
        held[s, w] = grouped(v("held"))
        mem[s, w] = mib(v("peak_rss_kib")) " · " v("procs") " / " v("threads")
    } else {
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
# "a / b / c" of one stage's cells of array arr over the held or the strace workloads
function joined(arr, s, list, n,    i, out) {
    out = ""
    for (i = 1; i <= n; i++) out = out (i > 1 ? " / " : "") get(arr, s, list[i])
    return out
}

function syscall_notes(    j, s, i, w, line) {
    for (j = 1; j <= ns; j++) {
        s = stages[j]
        line = ""
        for (i = 1; i <= nsys; i++) {
            w = sysws[i]
            if ((s, w) in top) line = line (line == "" ? "" : " · ") short(w) ": " top[s, w]
        }
        if (line != "") print "- system calls per request, " s ": " line
    }
}

END {
    if (part == "syscalls") { syscall_notes(); exit }
    latw = ("ka" in wseen) ? "ka" : works[1]
    nh = 0
    for (i = 1; i <= nw; i++) if (hold[works[i]]) { hw[++nh] = works[i]; hnames = hnames (nh > 1 ? " / " : "") works[i] " " hold[works[i]] }
    crowdw = ("crowd" in wseen) ? "crowd" : hw[nh]
    head = "| stage | model |"
    rule = "|---|---|"
    for (i = 1; i <= nw; i++) {
        head = head " " wlabel[works[i]] " |"
        rule = rule "--:|"
        if (works[i] == latw) { head = head " p50 / p99 ms |"; rule = rule "--:|" }
        if (works[i] == "cliff") { head = head " p99 ms c=" conns["cliff"] " |"; rule = rule "--:|" }
    }
    if (nh) {
        head = head " held at the end (" hnames ") | p99 ms, " crowdw " | RSS MiB · procs / threads, " crowdw " |"
        rule = rule "--:|--:|--:|"
    }
    if (anysys) {
        for (i = 1; i <= nsys; i++) sysnames = sysnames (i > 1 ? " / " : "") short(sysws[i])
        head = head " syscalls per req (" sysnames ") |"
        rule = rule "--:|"
    }
    rw[1] = latw; nrw = 1
    if (nh) rw[++nrw] = crowdw
    for (i = 1; i <= nrw; i++) rnames = rnames (i > 1 ? " / " : "") short(rw[i])
    head = head " read() calls per req, no strace (" rnames ") |"
    rule = rule "--:|"
    head = head " idle CPU % | errors | CPU s per 10k req (close / k-a) | peak RSS MiB | procs / threads |"
    rule = rule "--:|---|--:|--:|--:|"
    print head
    print rule
    for (j = 1; j <= ns; j++) {
        s = stages[j]
        line = "| " s " | " model[s] " |"
        for (i = 1; i <= nw; i++) {
            w = works[i]
            line = line " " get(cell, s, w) " |"
            if (w == latw) line = line " " get(lat, s, w) " |"
            if (w == "cliff") line = line " " get(p99, s, w) " |"
        }
        if (nh) line = line " " joined(held, s, hw, nh) " | " get(p99, s, crowdw) " | " get(mem, s, crowdw) " |"
        if (anysys) line = line " " joined(sys, s, sysws, nsys) " |"
        line = line " " joined(reads, s, rw, nrw) " |"
        line = line " " (s in idle ? idle[s] : "—") " |"
        line = line " " (s in errs ? errs[s] : "0") " | " cpucell(s) " |"
        line = line " " (s in rss ? mib(rss[s]) : "—") " |"
        line = line " " (s in procs ? procs[s] " / " threads[s] : "—") " |"
        print line
    }
}
