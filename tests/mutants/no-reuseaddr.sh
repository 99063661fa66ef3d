# The listening socket is made without SO_REUSEADDR.  After a stop, the
# connections the server closed first sit in TIME_WAIT on its port for a
# minute, and bind() of the restarted server fails: "Address already in use".
stage=stage02
question=5
what="no SO_REUSEADDR: a restart fails while old connections are in TIME_WAIT"
checks="restart on the same port"
mutate() {
    edit common/net.c 's/\n[ \t]*if \(setsockopt\(fd, SOL_SOCKET, SO_REUSEADDR,[^\n]*\n[^\n]*//'
}
