# Edge-triggered, one read() per event, as if level-triggered.  What the
# read left in the socket waits for the next event, and the next event
# comes only when the client sends more, which it will not: it waits for
# the answers to what it has already sent.
stage=stage10
question=6
what="edge-triggered, one read() per event: bytes left in the socket wait for ever"
checks="200 KB"
mutate() {
    edit common/conn.c 's/(\nstatic int read_more\(struct conn \*c\)\n\{)/\nstatic int one_bite_taken; \/* read() already called in this turn *\/\n$1/'
    edit common/conn.c 's/(\n([ \t]*)ssize_t n = read\(c->fd, c->in \+ c->in_end,)/\n$2if (one_bite_taken)\n$2    return CONN_WANT_READ;\n$2one_bite_taken = 1;$1/'
    edit common/conn.c 's/(enum conn_want conn_run\(struct conn \*c\)\n\{\n)/${1}    one_bite_taken = 0;\n/'
}
