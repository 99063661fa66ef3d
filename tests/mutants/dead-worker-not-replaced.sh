# The master of the pre-forked pool reaps a dead worker but never starts
# another.  Each crash shrinks the pool for good; when the last worker is
# gone, connections queue on a listening socket nobody accepts from.
stage=stage04
question=2
what="the master reaps a dead worker but does not replace it"
checks="killed with -9 is replaced|only worker killed"
mutate() {
    edit stages/stage04_prefork.c 's/(reap_workers\(\);)\n[ \t]*start_missing_workers\(listen_fd\);/$1/'
}
