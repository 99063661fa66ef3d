# Edge-triggered listener, one accept() per event.  Connections that queued
# together bring one event; the others stay in the listen queue until yet
# another client arrives, and the last ones of a burst wait for ever.
stage=stage10
question=7
what="edge-triggered listener, one accept() per event: a burst leaves clients queued"
checks="1 000 keep-alive|200 parallel clients"
mutate() {
    edit stages/stage10_epoll_et.c 's/while \(\(fd = conn_accept\(listen_fd\)\) >= 0\)/if ((fd = conn_accept(listen_fd)) >= 0)/'
    edit stages/stage10_epoll_et.c 's/(static void accept_clients\(.*?)continue;/${1}return;/s'
}
