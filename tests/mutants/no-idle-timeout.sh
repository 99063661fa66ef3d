# Idle keep-alive connections are never closed: the timer fires and
# nothing happens.  Each idle client keeps its descriptor and its memory
# for ever, and enough of them exhaust the server.
stage=stage12
question=8
what="idle keep-alive connections never time out"
checks="closes a silent connection|closes an idle keep-alive"
mutate() {
    edit stages/stage12_c10k/worker.c 's/(static void on_timeout\(struct timer \*t\)\n\{.*?\n    \}\n)    conn_close\(c\);\n\}/${1}}/s'
}
