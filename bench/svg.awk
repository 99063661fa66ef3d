# bench/svg.awk — latest.csv -> latest.svg, two panels side by side.
# Left: requests/s per stage, one bar per 1 KiB workload (close, keep-alive,
# keep-alive at the cliff), grouped by stage; a logarithmic axis when the
# values span more than 30x, so that the slowest stage's bar is still visible.
# Right, the lesson panel: requests/s of wrk's keep-alive clients against the
# number of other connections held open by slow clients (none, `slow`,
# `crowd`), one line per stage: the C10K picture.  Large type: it is meant
# for a projector.
#
#   awk -F, -f bench/svg.awk -v title="..." -v machine="..." latest.csv > latest.svg
# Plain POSIX awk (mawk or gawk); no other tool.

NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
function v(name) { return $(col[name]) }

{
    w = v("workload")
    s = v("stage")
    if (!(s in seen)) { seen[s] = 1; stages[++ns] = s }
    if (w == "ka" || v("hold_conns") + 0 > 0) {       # the lesson panel's points
        h = w == "ka" ? 0 : v("hold_conns") + 0
        if (!(h in hseen)) { hseen[h] = 1; holds[++nh] = h; hname[h] = w == "ka" ? "none" : w }
        if (v("status") == "ok") { lval[s, h] = v("req_per_s") + 0; lstage[s] = 1 }
        lconns = v("connections")
    }
    if (w != "close" && w != "ka" && w != "cliff") next
    if (!(w in wseen)) { wseen[w] = 1; label[w] = v("label") }
    if (v("status") == "ok") {
        val[s, w] = v("req_per_s") + 0
        if (v("errors") + 0 > 0) { err[s, w] = 1; anyerr = 1 }
    }
}

function log10(x) { return log(x) / log(10) }
function esc(t) { gsub(/&/, "\\&amp;", t); gsub(/</, "\\&lt;", t); return t }
function human(x) {
    return x >= 1e6 ? sprintf("%gM", x / 1e6) : x >= 1e3 ? sprintf("%gk", x / 1e3) : sprintf("%g", x)
}
# y of a value on the chosen scale
function y(x) {
    if (logscale) {
        if (x < lo) x = lo
        return bottom - (log10(x) - log10(lo)) / (log10(hi) - log10(lo)) * (bottom - top)
    }
    return bottom - x / hi * (bottom - top)
}

END {
    n = 0
    if ("close" in wseen) ws[++n] = "close"
    if ("ka" in wseen) ws[++n] = "ka"
    if ("cliff" in wseen) ws[++n] = "cliff"
    color["close"] = "#E69F00"; color["ka"] = "#0072B2"; color["cliff"] = "#009E73"

    vmax = 0; vmin = 0
    for (k in val) {
        if (val[k] > vmax) vmax = val[k]
        if (val[k] > 0 && (vmin == 0 || val[k] < vmin)) vmin = val[k]
    }
    if (vmax <= 0) vmax = 1
    logscale = vmin > 0 && vmax / vmin > 30
    if (logscale) {
        lo = 10 ^ int(log10(vmin)); if (lo > vmin) lo /= 10
        hi = 10 ^ int(log10(vmax)); if (hi < vmax) hi *= 10
    } else {
        step = 10 ^ int(log10(vmax))
        if (vmax / step < 2) step /= 5; else if (vmax / step < 5) step /= 2
        hi = step * int(vmax / step + 0.999999)
    }

    barw = 26; gap = 30
    gw = n * barw + gap
    left = 130; top = 120; bottom = 520
    legend = 0
    for (i = 1; i <= n; i++) legend += 70 + 11 * length(label[ws[i]])
    if (anyerr) legend += 130
    width = left + ns * gw + 40
    if (width < left + legend) width = left + legend
    if (width < 1000) width = 1000
    if (ns > 0) gw = (width - left - 40) / ns      # spread the groups over the width
    height = 640
    width1 = width
    if (nh > 1) width += 760                        # the lesson panel

    printf "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"DejaVu Sans, Arial, sans-serif\">\n", width, height, width, height
    printf "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
    printf "<text x=\"%d\" y=\"40\" font-size=\"26\" font-weight=\"bold\">%s</text>\n", left, esc(title)

    # legend
    lx = left
    for (i = 1; i <= n; i++) {
        printf "<rect x=\"%d\" y=\"62\" width=\"22\" height=\"22\" fill=\"%s\"/>\n", lx, color[ws[i]]
        printf "<text x=\"%d\" y=\"80\" font-size=\"20\">%s</text>\n", lx + 30, esc(label[ws[i]])
        lx += 70 + 11 * length(label[ws[i]])
    }
    if (anyerr)
        printf "<text x=\"%d\" y=\"80\" font-size=\"20\" font-weight=\"bold\" fill=\"#C00000\">! = errors</text>\n", lx

    # axis and grid
    printf "<text x=\"24\" y=\"%d\" font-size=\"20\" transform=\"rotate(-90 24 %d)\" text-anchor=\"middle\">requests/s%s</text>\n", (top + bottom) / 2, (top + bottom) / 2, logscale ? " (log scale)" : ""
    if (logscale) {
        for (t = lo; t <= hi * 1.0001; t *= 10) tick(t)
    } else {
        for (t = 0; t <= hi * 1.0001; t += step) tick(t)
    }
    printf "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"black\" stroke-width=\"2\"/>\n", left, bottom, width1 - 20, bottom

    # bars
    for (j = 1; j <= ns; j++) {
        s = stages[j]
        gx = left + (j - 1) * gw + (gw - n * barw) / 2
        for (i = 1; i <= n; i++) {
            w = ws[i]
            x = gx + (i - 1) * barw
            if ((s, w) in val && val[s, w] > 0) {
                yy = y(val[s, w])
                printf "<rect x=\"%d\" y=\"%.1f\" width=\"%d\" height=\"%.1f\" fill=\"%s\"><title>%s %s: %.0f req/s</title></rect>\n", x, yy, barw - 2, bottom - yy, color[w], s, esc(label[w]), val[s, w]
            } else {
                yy = bottom
                printf "<text x=\"%d\" y=\"%d\" font-size=\"16\" text-anchor=\"middle\" fill=\"#555\">–</text>\n", x + barw / 2, bottom - 6
            }
            if ((s, w) in err)
                printf "<text x=\"%d\" y=\"%.1f\" font-size=\"22\" font-weight=\"bold\" text-anchor=\"middle\" fill=\"#C00000\">!</text>\n", x + barw / 2 - 1, yy - 6
        }
        printf "<text x=\"%d\" y=\"%d\" font-size=\"20\" text-anchor=\"middle\">%s</text>\n", gx + n * barw / 2, bottom + 30, esc(s)
    }
    printf "<text x=\"%d\" y=\"%d\" font-size=\"16\" fill=\"#555\">Higher is better. Latency, errors, CPU, memory, system calls: latest.md</text>\n", left, height - 36
    if (machine != "")
        printf "<text x=\"%d\" y=\"%d\" font-size=\"16\" fill=\"#555\">%s</text>\n", left, height - 12, esc(machine)
    if (nh > 1) lesson_panel(width1)
    print "</svg>"
}

# --- the lesson panel: req/s against held connections, one line per stage -------------
function ly(x) {                # log scale; 0 req/s sits on its own line below the axis
    if (x <= 0) return lbottom + 30
    if (x < llo) x = llo
    return lbottom - (log10(x) - log10(llo)) / (log10(lhi) - log10(llo)) * (lbottom - ltop)
}
function lesson_panel(x0,    i, j, k, s, h, t, px, py, prev, c, lx, lyy, n, vmx, vmn) {
    # the held counts in order: none, slow, crowd
    for (i = 1; i <= nh; i++) for (j = i + 1; j <= nh; j++)
        if (holds[j] < holds[i]) { t = holds[i]; holds[i] = holds[j]; holds[j] = t }
    vmx = 0; vmn = 0
    for (k in lval) {
        if (lval[k] > vmx) vmx = lval[k]
        if (lval[k] > 0 && (vmn == 0 || lval[k] < vmn)) vmn = lval[k]
    }
    if (vmx <= 0) { vmx = 10; vmn = 1 }
    llo = 10 ^ int(log10(vmn)); if (llo > vmn) llo /= 10
    lhi = 10 ^ int(log10(vmx)); if (lhi < vmx) lhi *= 10
    if (lhi <= llo) lhi = llo * 10
    ltop = top; lbottom = bottom - 30
    pl = x0 + 110; pr = x0 + 560
    split("#E69F00 #56B4E9 #009E73 #F0E442 #0072B2 #D55E00 #CC79A7 #000000 #999999 #882255 #44AA99 #117733 #332288 #AA4499 #DDCC77", pal, " ")
    printf "<text x=\"%d\" y=\"40\" font-size=\"26\" font-weight=\"bold\">req/s while other clients are held open</text>\n", pl - 60
    printf "<text x=\"%d\" y=\"78\" font-size=\"18\" fill=\"#333\">wrk: 1 KiB keep-alive c=%s; held: slow clients that never finish a request</text>\n", pl - 60, lconns
    printf "<text x=\"%d\" y=\"%d\" font-size=\"20\" transform=\"rotate(-90 %d %d)\" text-anchor=\"middle\">requests/s (log scale)</text>\n", x0 + 30, (ltop + lbottom) / 2, x0 + 30, (ltop + lbottom) / 2
    for (t = llo; t <= lhi * 1.0001; t *= 10) {
        printf "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", pl, ly(t), pr, ly(t)
        printf "<text x=\"%d\" y=\"%.1f\" font-size=\"18\" text-anchor=\"end\">%s</text>\n", pl - 8, ly(t) + 6, human(t)
    }
    printf "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#C00000\" stroke-dasharray=\"4 4\"/>\n", pl, ly(0), pr, ly(0)
    printf "<text x=\"%d\" y=\"%.1f\" font-size=\"18\" text-anchor=\"end\" fill=\"#C00000\">0</text>\n", pl - 8, ly(0) + 6
    for (i = 1; i <= nh; i++) {
        px = pl + 20 + (i - 1) * (pr - pl - 40) / (nh - 1)
        hx[holds[i]] = px
        printf "<text x=\"%.1f\" y=\"%d\" font-size=\"18\" text-anchor=\"middle\">%s</text>\n", px, lbottom + 62, holds[i] == 0 ? "0" : grouped(holds[i])
        printf "<text x=\"%.1f\" y=\"%d\" font-size=\"16\" text-anchor=\"middle\" fill=\"#555\">%s</text>\n", px, lbottom + 82, hname[holds[i]]
    }
    printf "<text x=\"%d\" y=\"%d\" font-size=\"18\" text-anchor=\"middle\">connections held open</text>\n", (pl + pr) / 2, lbottom + 104
    n = 0
    for (j = 1; j <= ns; j++) {
        s = stages[j]
        if (!(s in lstage)) continue
        c = pal[(n % 15) + 1]; n++
        prev = ""
        for (i = 1; i <= nh; i++) {
            h = holds[i]
            if (!((s, h) in lval)) { prev = ""; continue }
            px = hx[h]; py = ly(lval[s, h])
            if (prev != "") printf "<line x1=\"%s\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"3\"/>\n", prev, px, py, c
            printf "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"5\" fill=\"%s\"><title>%s, %s held: %.0f req/s</title></circle>\n", px, py, c, s, grouped(h), lval[s, h]
            prev = sprintf("%.1f\" y1=\"%.1f", px, py)
        }
        # the legend, one line per stage, right of the plot
        lx = pr + 30; lyy = ltop + (n - 1) * 28
        printf "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-width=\"4\"/>\n", lx, lyy, lx + 28, lyy, c
        printf "<text x=\"%d\" y=\"%d\" font-size=\"18\">%s</text>\n", lx + 36, lyy + 6, esc(s)
    }
}
function grouped(x,    s, out) {
    s = sprintf("%.0f", x)
    out = ""
    while (length(s) > 3) { out = "," substr(s, length(s) - 2) out; s = substr(s, 1, length(s) - 3) }
    return s out
}

function tick(t,    yy) {
    yy = y(t)
    printf "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", left, yy, width1 - 20, yy
    printf "<text x=\"%d\" y=\"%.1f\" font-size=\"18\" text-anchor=\"end\">%s</text>\n", left - 8, yy + 6, human(t)
}
