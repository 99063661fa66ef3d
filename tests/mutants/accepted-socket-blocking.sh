# The listening socket is nonblocking, but the connections accept() returns
# are not (O_NONBLOCK is not inherited: accept4 must be asked for it, or
# fcntl set it).  The first client that sends half a request stops the
# whole single-threaded loop inside its read().
stage=stage07
question=4
what="accepted sockets left blocking: one silent client stops the whole loop"
checks="a stalled client does not delay others"
mutate() {
    edit common/conn.c 's/accept4\(listen_fd, NULL, NULL, SOCK_NONBLOCK \| SOCK_CLOEXEC\)/accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC)/'
}
