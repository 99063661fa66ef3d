/* stage08 — long connections: keep-alive and pipelining, still busy-polling.
 *
 * Model: stage07's loop unchanged — one thread sweeping nonblocking sockets —
 * but a connection now outlives its first request.
 *
 * What changed since stage07: one line, PERSISTENT.  After a reply the
 * connection goes back to reading instead of closing: HTTP/1.1 stays open
 * unless the client sends "Connection: close", HTTP/1.0 closes unless it asks
 * for keep-alive (common/http.c decides, the reply says which).  What makes
 * this possible is framing: every response carries Content-Length, so the
 * client knows where one response ends without waiting for the close, and we
 * know where one request ends (its head, then Content-Length body bytes,
 * which common/conn.c skips).  Requests sent back to back without waiting
 * (pipelining) sit in the connection's buffer and are answered one after
 * another, in order.  No handshake per request any more.
 *
 * Weakness: still a sweep.  Idle, it burns a CPU like stage07, and now there
 * is more to sweep: idle keep-alive connections stay in the list, each one
 * tried on every pass although it has nothing to say; nothing ever closes
 * one that stays silent.  Stage 09 asks the kernel which sockets are ready.
 */
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "conn.h"
#include "net.h"
#include "options.h"

/* Long connections: keep-alive requests keep the connection open. */
#define PERSISTENT 1

static struct server_options opt = SERVER_OPTIONS_DEFAULTS("stage08");
static long sweep_sleep_usec; /* -s */

static int on_option(int letter, const char *arg, void *ctx)
{
    return parse_number(arg, 0, 1000000, letter, ctx);
}

/* Exercise: the sweep, now over long connections.  accept_clients() opens
 * every waiting connection as PERSISTENT; sweep_clients() gives each one a
 * conn_run() turn and closes those that answer CONN_WANT_CLOSE.
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
