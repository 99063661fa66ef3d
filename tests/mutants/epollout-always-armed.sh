# Level-triggered epoll asked for EPOLLOUT all the time, not only while a
# reply is stuck.  A socket with room in its send buffer is writable nearly
# always, so epoll_wait() returns at once, for every connection, for ever:
# an idle server with open connections burns a whole CPU.
stage=stage09
question=6
what="EPOLLOUT left armed under level triggering: the loop spins while idle"
checks="idle: CPU near zero with"
mutate() {
    edit stages/stage09_epoll_lt.c 's/unsigned interest = want == CONN_WANT_WRITE \? EPOLLOUT : EPOLLIN;/unsigned interest = EPOLLIN | EPOLLOUT;/'
    edit stages/stage09_epoll_lt.c 's/\.events = EPOLLIN, \.data\.ptr = c/.events = EPOLLIN | EPOLLOUT, .data.ptr = c/'
}
