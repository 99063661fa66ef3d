# A nonblocking read() that fails with EAGAIN is taken for a client that
# left.  EAGAIN only says "nothing yet"; the client left when read()
# returns 0.  Every request that does not arrive in one piece is cut off.
stage=stage07
question=4
what="EAGAIN from read() taken for a closed connection"
checks="one byte at a time"
mutate() {
    edit common/conn.c 's/(return KEEP_GOING;\n)[ \t]*if \(errno == EAGAIN \|\| errno == EWOULDBLOCK\)\n[ \t]*return CONN_WANT_READ;[^\n]*\n/$1/'
}
