# bench/svg.awk — latest.csv -> latest.svg: requests/s per stage, one bar per
# 1 KiB workload (close, keep-alive, keep-alive at the cliff), grouped by stage.
# A logarithmic axis when the values span more than 30x, so that the slowest
# stage's bar is still visible.  Large type: it is meant for a projector.
#
#   awk -F, -f bench/svg.awk -v title="..." latest.csv > latest.svg
# Plain POSIX awk (mawk or gawk); no other tool.

NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
function v(name) { return $(col[name]) }

{
    w = v("workload")
    s = v("stage")
    if (!(s in seen)) { seen[s] = 1; stages[++ns] = s }
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
    height = 600

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
    printf "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"black\" stroke-width=\"2\"/>\n", left, bottom, width - 20, bottom

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
    printf "<text x=\"%d\" y=\"%d\" font-size=\"16\" fill=\"#555\">Higher is better. Latency, errors, CPU and memory: latest.md</text>\n", left, height - 20
    print "</svg>"
}

function tick(t,    yy) {
    yy = y(t)
    printf "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", left, yy, width - 20, yy
    printf "<text x=\"%d\" y=\"%.1f\" font-size=\"18\" text-anchor=\"end\">%s</text>\n", left - 8, yy + 6, human(t)
}
