/* stage09 — epoll, level-triggered: sleep until the kernel says who is ready.
 *
 * Model: one thread, nonblocking sockets and the connection state machine of
 * stage08, but no sweep.  The sockets are registered once in an epoll
 * instance (the "interest list", kept inside the kernel); epoll_wait() sleeps
 * until at least one of them is ready and returns just those.  Level-
 * triggered (epoll's default): a socket is reported on every epoll_wait()
 * for as long as it is ready, so handling only part of what is there is
 * safe: it will be reported again.
 *
 * What changed since stage08: the sweep and -s are gone; the loop is
 * epoll_wait() and a dispatch.  Accepting takes one connection per report.
 * A connection waits either for input (EPOLLIN) or, while a reply is stuck
 * in a full socket buffer, for room to write (EPOLLOUT) — never for EPOLLOUT
 * otherwise: a socket with room in its buffer is writable nearly always, and
 * level-triggered epoll would then wake us for nothing, over and over.
 * Idle, the server sleeps: CPU ~0 instead of 100 %.  The work per wake-up
 * is proportional to the ready sockets, not to all of them.
 *
 * Weakness: still one core.  Level-triggered, a socket that stays ready is
 * returned by every epoll_wait() until we deal with it.  That is what lets
 * this loop accept one connection per report (each further pending
 * connection costs one more epoll_wait(): a property of accepting one at a
 * time, which level triggering tolerates, not of level triggering itself;
 * accepting until EAGAIN would save those calls here too).  Stage 10 uses
 * edge-triggered epoll: no repeated reports, and the duty to drain.
 * No limits and no timeouts: idle connections are kept forever (stage 12).
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

static struct server_options opt = SERVER_OPTIONS_DEFAULTS("stage09");

/* Exercise: epoll, level-triggered.  accept_client() opens one connection
 * and adds it to the interest list for EPOLLIN; serve_client() runs it and
 * switches its interest to what conn_run() now wants (EPOLLOUT only while a
 * reply is pending), or closes it.
 * Handout stub:
 *     static void accept_client(int ep, int listen_fd) { not_implemented_yet("accept_client"); }
 *     static void serve_client(int ep, struct conn *c) { not_implemented_yet("serve_client"); }
 */
/* One connection from the listen queue; if more wait, epoll_wait() reports
 * the listener again (level-triggered). */
static void accept_client(int ep, int listen_fd)
{
    int fd = conn_accept(listen_fd);
    if (fd < 0)
        return;
    struct conn *c = conn_open(fd, &opt, PERSISTENT);
    if (c == NULL)
        return;
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
        warn("epoll_ctl ADD");
        conn_close(c);
        return;
    }
    c->interest = EPOLLIN;
}

/* The kernel says c is ready (or has an error or hang-up: conn_run() finds
 * out which by trying). */
static void serve_client(int ep, struct conn *c)
{
    enum conn_want want = conn_run(c);
    if (want == CONN_WANT_CLOSE) {
        conn_close(c); /* its only descriptor: close() drops it from epoll */
        return;
    }
    unsigned interest = want == CONN_WANT_WRITE ? EPOLLOUT : EPOLLIN;
    if (interest != c->interest) {
        struct epoll_event ev = { .events = interest, .data.ptr = c };
        if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) < 0) {
            warn("epoll_ctl MOD");
            conn_close(c);
            return;
        }
        c->interest = interest;
    }
}
/* End of exercise. */

int main(int argc, char **argv)
{
    parse_options(argc, argv, &opt, NULL);
    install_signal_handlers();
    int listen_fd = open_listener(&opt, SOMAXCONN, LISTEN_NONBLOCK);

    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event lev = { .events = EPOLLIN, .data.ptr = NULL }; /* NULL: the listener */
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
                accept_client(ep, listen_fd);
            else
                serve_client(ep, events[i].data.ptr);
        }
        conn_expire();
    }
    close(listen_fd);
    conn_close_all();
    close(ep);
    return 0;
}
