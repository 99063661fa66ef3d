/* stage07 — nonblocking busy-poll: one thread, many clients, no waiting.
 *
 * Model: one process, one thread, and no call that may block.  The listening
 * socket and every client socket are nonblocking (O_NONBLOCK): accept(),
 * read() and write() return at once, and "nothing to do yet" comes back as
 * the error EAGAIN instead of a wait.  The main loop sweeps: accept whoever
 * is waiting, then give every connection a turn to make what progress it can,
 * then start over.  Since nothing waits on a stack any more, each connection
 * keeps its progress explicitly (common/conn.c): the bytes received so far,
 * the parser's position, how much of the reply is still to be sent.
 *
 * What changed since stage06: the coroutines' stacks and their switching are
 * gone.  What a coroutine kept in local variables is now in struct conn, and
 * "which socket is ready?" is answered by simply trying every socket.
 *
 * Weakness: the loop never sleeps.  An idle stage07 still sweeps millions of
 * times a second and burns a whole CPU:
 *
 *     bin/stage07 -p 8080 &  sleep 5;  ps -o pid,pcpu,time,comm -p $!   # ~100 %
 *
 * -s USEC sleeps between sweeps: the CPU drops, but every step of every
 * request may now wait up to USEC longer; the trade never removes the waste.
 * Each sweep also costs time in proportion to all connections, even when only
 * one of them has something to say.  And each connection carries one request
 * (Connection: close): a TCP handshake per request.
 * Stage 08 keeps connections open; stage 09 lets the kernel say which
 * sockets are ready, so the loop sleeps until one is.
 */
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "conn.h"
#include "net.h"
#include "options.h"

/* Short connections: one request, then close. */
#define PERSISTENT 0

static struct server_options opt = SERVER_OPTIONS_DEFAULTS("stage07");
static long sweep_sleep_usec; /* -s */

static int on_option(int letter, const char *arg, void *ctx)
{
    return parse_number(arg, 0, 1000000, letter, ctx);
}

/* Exercise: the nonblocking sweep.  accept_clients() takes every connection
 * waiting in the (nonblocking) listen queue and hands it to conn_open();
 * sweep_clients() gives every open connection one conn_run() turn and closes
 * those that answer CONN_WANT_CLOSE, without losing its place in the list.
 * Neither may ever wait: the loop in main() calls them again at once.
 * Handout stub:
 *     static void accept_clients(int listen_fd) { not_implemented_yet("accept_clients"); }
 *     static void sweep_clients(void) { not_implemented_yet("sweep_clients"); }
 */

/* Take every connection waiting in the listen queue. */
static void accept_clients(int listen_fd)
{
    int fd;
    while ((fd = conn_accept(listen_fd)) >= 0)
        conn_open(fd, &opt, PERSISTENT);
}

/* Give every connection a turn.  Most turns end in EAGAIN at once. */
static void sweep_clients(void)
{
    struct conn *c, *next;
    for (c = conn_first(); c != NULL; c = next) {
        next = c->next; /* c may be freed below */
        if (conn_run(c) == CONN_WANT_CLOSE)
            conn_close(c);
    }
}
/* End of exercise. */

static void pause_between_sweeps(void)
{
    struct timespec ts = { sweep_sleep_usec / 1000000, (sweep_sleep_usec % 1000000) * 1000 };
    nanosleep(&ts, NULL); /* EINTR from SIGTERM is fine: the loop looks at the flag */
}

int main(int argc, char **argv)
{
    struct stage_options extra = {
        "s:",
        "  -s USEC  sleep USEC microseconds between sweeps (default 0: spin)\n",
        on_option,
        &sweep_sleep_usec,
    };
    parse_options(argc, argv, &opt, &extra);
    install_signal_handlers();
    int listen_fd = open_listener(&opt, SOMAXCONN, LISTEN_NONBLOCK);
    announce_ready(&opt, listen_fd, "http", "docroot");

    while (!stop_requested) {
        accept_clients(listen_fd);
        sweep_clients();
        conn_expire();
        if (sweep_sleep_usec > 0)
            pause_between_sweeps();
    }
    close(listen_fd);
    conn_close_all();
    return 0;
}
