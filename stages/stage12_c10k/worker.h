/* worker.h — one worker process: an epoll loop serving its own connections
 * (stage13's worker.c runs an io_uring loop behind the same interface). */
#ifndef STAGE12_WORKER_H
#define STAGE12_WORKER_H

#include <stdatomic.h>
#include "options.h"

struct worker_config {
    const struct server_options *opt;
    int listen_fd;           /* this worker's listener (or the shared one) */
    int exclusive;           /* -e: the listener is shared by all workers */
    int idle_ms;             /* -t: idle keep-alive / unfinished request timeout */
    long max_conns;          /* -c: for all workers together */
    atomic_long *open_conns; /* ...counted here, in memory shared by the workers */
    long *my_conns;          /* this worker's share of it (the master corrects
                                   open_conns with it should the worker die) */
};

/* Serve until SIGTERM/SIGINT, then finish in-flight replies (at most
 * DRAIN_MS) and return the exit status. */
int worker_run(const struct worker_config *cfg);

#endif
