# read() returning 0 (the client closed) is taken for "no data yet".  The
# connection is never closed: its descriptor leaks, and level-triggered
# epoll reports the closed socket as readable again and again.
stage=stage09
question=4
what="read() == 0 treated like EAGAIN: closed connections are never closed"
checks="descriptors back to baseline|idle: CPU"
mutate() {
    edit common/conn.c 's/(if \(n == 0\)\n[ \t]*return )CONN_WANT_CLOSE;([ \t]*\/\*[^\n]*EOF[^\n]*)?/${1}CONN_WANT_READ;/'
}
