# After parsing one request, the rest of the receive buffer is thrown away,
# as if every read() held exactly one request.  Pipelined requests (sent
# together, arriving in one read) are lost, and their client waits for
# answers that never come.
stage=stage08
question=8
what="the bytes after the first request in a read are thrown away: pipelining breaks"
checks="10 pipelined requests|split across reads"
mutate() {
    edit common/conn.c 's/c->in_start \+= head_len;/c->in_start = c->in_end; \/* the rest of the read: dropped *\//'
}
