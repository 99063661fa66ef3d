/* stage10 — epoll, edge-triggered: one report per change, and the duty to drain.
 *
 * Model: stage09's loop, with every descriptor registered EPOLLET.  An
 * edge-triggered socket is reported when something *happens* to it (bytes
 * arrived, room appeared in the send buffer, a connection was queued), once
 * per happening, instead of on every epoll_wait() for as long as it *is*
 * ready.  On Linux each arrival is a new event even if earlier bytes still
 * wait unread (epoll(7); bin/etdemo shows it): what ET takes away is the
 * repeated report of bytes that are already there.
 *
 * What changed since stage09:
 *   - EPOLLET on the listener and on every connection;
 *   - accept until EAGAIN: one report may stand for many queued connections;
 *   - read and write until EAGAIN: conn_run() already never stops before
 *     EAGAIN (see common/conn.h), which is why stage 09 and 10 share it;
 *   - a connection is registered once for EPOLLIN | EPOLLOUT and never
 *     modified: an edge for "writable" comes only when room appears after a
 *     write hit EAGAIN, so it no longer wakes us for nothing, and the
 *     epoll_ctl(MOD) calls of stage 09 are gone.
 * Fewer wake-ups and fewer system calls for the same work.
 *
 * The classic bug: taking one bite per report, as is fine level-triggered:
 *
 *     n = read(c->fd, buf, sizeof buf);   // 4 KiB of an 8 KiB pipelined burst
 *     handle(buf, n);                     // ...then back to epoll_wait()
 *
 * The other 4 KiB stay in the socket, and nothing reports them again.  A
 * new event would come if the client sent more, but it sends nothing: it is
 * waiting for the answers to the requests in those bytes, and waits forever.
 * The same holds for accept() (a report may stand for several queued
 * connections) and for a write stopped before EAGAIN.
 *
 * Weakness: one core, and no limits or timeouts: idle connections are kept
 * forever, and the descriptor limit caps the number of clients.  Draining
 * to EAGAIN has no budget per turn: a client that pipelines without pause
 * and reads fast holds the loop while others wait (see common/conn.h).  Stage 12
 * uses all cores, raises the limits and closes idle connections.
 */
#include <err.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"
#include "net.h"
#include "options.h"

/* Long connections: keep-alive requests keep the connection open. */
#define PERSISTENT 1
#define MAX_EVENTS 256

static struct server_options opt = SERVER_OPTIONS_DEFAULTS("stage10");

/* Exercise: epoll, edge-triggered.  One edge for the listener means accept
 * until EAGAIN; register each connection once for EPOLLIN | EPOLLOUT |
 * EPOLLET; serve_client() runs it (conn_run() drains) and closes it when done.
 * Handout stub:
 *     static void accept_clients(int ep, int listen_fd) { not_implemented_yet("accept_clients"); }
 *     static void serve_client(struct conn *c) { not_implemented_yet("serve_client"); }
 */
/* Every connection in the listen queue: the edge came once for all of them. */
static void accept_clients(int ep, int listen_fd)
{
    int fd;
    while ((fd = conn_accept(listen_fd)) >= 0) {
        struct conn *c = conn_open(fd, &opt, PERSISTENT);
        if (c == NULL)
            continue;
        struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLET, .data.ptr = c };
        if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
            warn("epoll_ctl ADD");
            conn_close(c);
        }
    }
}

/* Something changed on c (or an error or hang-up: conn_run() finds out which
 * by trying).  conn_run() returns only after EAGAIN, so the next change will
 * bring a new edge. */
static void serve_client(struct conn *c)
{
    if (conn_run(c) == CONN_WANT_CLOSE)
        conn_close(c); /* its only descriptor: close() drops it from epoll */
}
/* End of exercise. */

int main(int argc, char **argv)
{
    parse_options(argc, argv, &opt, NULL);
    install_signal_handlers();
    int listen_fd = open_listener(&opt, SOMAXCONN, LISTEN_NONBLOCK);

    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event lev = { .events = EPOLLIN | EPOLLET,
                               .data.ptr = NULL }; /* NULL: the listener */
    if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, listen_fd, &lev) < 0) {
        warn("epoll");
        return 1;
    }

    /* A SIGTERM arriving between the test of stop_requested and the call to
     * epoll_wait() would be noticed only at the next event — perhaps never.
     * So the stop signals stay blocked, and epoll_pwait() unblocks them only
     * while it sleeps, atomically: it returns EINTR instead of missing one. */
    sigset_t stop_signals, while_waiting;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    sigprocmask(SIG_BLOCK, &stop_signals, &while_waiting);

    announce_ready(&opt, listen_fd, "http", "docroot");
    struct epoll_event events[MAX_EVENTS];
    while (!stop_requested) {
        /* Sleep until something is ready, or a lingering close expires. */
        int n = epoll_pwait(ep, events, MAX_EVENTS, conn_timeout_ms(), &while_waiting);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            warn("epoll_wait");
            break;
        }
        for (int i = 0; i < n; i++) {
            if (events[i].data.ptr == NULL)
                accept_clients(ep, listen_fd);
            else
                serve_client(events[i].data.ptr);
        }
        conn_expire();
    }
    close(listen_fd);
    conn_close_all();
    close(ep);
    return 0;
}
