# read() returning 0 (the client closed) is taken for "no data yet".  The
# connection is never closed: its descriptor leaks, and level-triggered
# epoll reports the closed socket as readable again and again.
stage=stage09
question=4
what="read() == 0 treated like EAGAIN: closed connections are never closed"
checks="descriptors back to baseline|idle: CPU"
mutate() {
    # in read_more(), after the read of a request: not drain()'s
    edit common/conn.c 's/(ssize_t n = read\(c->fd, c->in \+ c->in_end,.*?if \(n == 0\)\n[ \t]*return )CONN_WANT_CLOSE;/${1}CONN_WANT_READ;/s'
}
