# sendfile() on a nonblocking socket sends what fits in the socket buffer
# and stops (EAGAIN when nothing fits).  Here the reply is taken as sent
# anyway: the rest of a large file is never resumed.
stage=stage07
question=4
what="a partial write not resumed: the reply is called sent at the first EAGAIN"
checks="50 MB file byte-exact"
mutate() {
    edit common/conn.c 's/(ssize_t n = sendfile\(c->fd, r->file_fd, &r->file_offset, chunk\);\n[ \t]*if \(n < 0\)\n[ \t]*return )write_failed\(\);/${1}errno == EAGAIN ? reply_sent(c) : write_failed();/'
}
