/* stage06 — coroutines: one thread, a stack per client, switched in user space.
 *
 * Model: one process, one thread, and a coroutine per connection (coro.c).
 * serve_client is stage02's, line for line, except that its read, its
 * sends and its close are the coroutine versions: when a socket would block,
 * the coroutine parks and the scheduler runs another one, so a stalled
 * client waits alone.  The accept loop is a coroutine too.  This is what
 * gevent does for Python: code written as if it blocked, run on an event
 * loop underneath.
 *
 * What changed since stage02: the sockets are nonblocking; read, send_reply
 * and lingering_close became co_read, co_send_reply, co_lingering_close;
 * main spawns an accept coroutine, which spawns a coroutine per client, and
 * then runs the scheduler.  Compared with stage05, the switch between
 * clients is a swapcontext() in user space (its one system call restores
 * the signal mask) instead of a trip through the kernel's scheduler, and a
 * client costs a 64 KiB stack and a small struct instead of a kernel thread.
 *
 * Weakness: one thread runs everything, so the server uses one core, and a
 * coroutine that computes for long (or calls something that really blocks,
 * like reading a file from a slow disk) stops every other client.  The
 * stacks still cost memory per client, and the scheduler asks poll() about
 * every parked socket on every round.  Stages 07–10 drop the stacks and keep
 * each connection's state in a struct, and stage 09 lets epoll say which
 * sockets are ready; stage 12 uses all the cores.
 */
#include <err.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include "coro.h"
#include "coro_io.h"
#include "http.h"
#include "net.h"
#include "options.h"
#include "response.h"

static struct server_options opt = SERVER_OPTIONS_DEFAULTS("stage06");

/* Read until the parser has a whole request head.  Returns its length, 0 if
 * the client left first, or HTTP_ERROR with req->status saying why. */
static long read_request(int fd, char *buf, size_t cap, size_t *have, struct http_request *req)
{
    http_request_reset(req);
    for (;;) {
        long r = http_parse_request(req, buf, *have);
        if (r != HTTP_INCOMPLETE)
            return r;
        ssize_t n = co_read(fd, buf + *have, cap - *have);
        if (n < 0 && errno == EINTR && !stop_requested)
            continue; /* a signal interrupted the wait; nothing was lost */
        if (n <= 0)
            return 0; /* 0: the client closed; < 0: reset, or we must stop */
        *have += (size_t)n;
    }
}

/* One whole conversation: request in, response out, close. */
static void serve_client(int fd)
{
    char buf[HTTP_MAX_HEAD + 1]; /* one byte more than a head may have: 431 */
    size_t have = 0;
    struct http_request req;
    struct http_reply rep;

    long head = read_request(fd, buf, sizeof buf, &have, &req);
    if (head == 0) {
        close(fd);
        return;
    }
    if (head == HTTP_ERROR)
        http_reply_error(&rep, req.status, 0, 0);
    else
        http_reply_for(&rep, &req, &opt, 0);
    http_log(&opt, head > 0 ? &req : NULL, &rep);

    /* EPIPE or ECONNRESET here only means the client left early. */
    if (co_send_reply(fd, &rep) < 0 && errno != EPIPE && errno != ECONNRESET && errno != EINTR)
        warn("send");
    http_reply_done(&rep);

    /* Unread bytes (a request body, junk after a bad request) would turn our
     * close() into a reset that can destroy the response in flight. */
    if (head == HTTP_ERROR || have > (size_t)head || req.content_length > 0)
        co_lingering_close(fd, 1000);
    else
        close(fd);
}

static void client_coroutine(void *arg)
{
    serve_client((int)(intptr_t)arg);
}

/* No coroutine for this client (no memory for its stack): answer 503 at
 * once.  This runs in the accept coroutine, which must not wait for any one
 * client, so: read what the client has sent so far (unread bytes would turn
 * close() into a reset that can destroy the answer), one nonblocking write
 * (an empty socket buffer takes a short error page whole), close. */
static void refuse_busy(int fd)
{
    char sink[4096];
    struct http_reply rep;
    http_reply_error(&rep, 503, 0, 0);
    http_log(&opt, NULL, &rep);
    while (read(fd, sink, sizeof sink) > 0)
        continue;
    if (write(fd, rep.head, rep.head_len) < 0 && errno != EAGAIN && errno != EPIPE &&
        errno != ECONNRESET)
        warn("send");
    http_reply_done(&rep);
    close(fd);
}

/* stage02's accept loop, as a coroutine: co_accept parks it until a client
 * arrives, and each client gets a coroutine of its own. */
static void accept_coroutine(void *arg)
{
    int listen_fd = *(int *)arg;
    while (!stop_requested) {
        int fd = co_accept(listen_fd);
        if (fd < 0) {
            if (errno != EINTR)
                warn("accept");
            continue;
        }
        if (coro_spawn(client_coroutine, (void *)(intptr_t)fd) < 0) {
            warn("coroutine");
            refuse_busy(fd);
        }
    }
}

int main(int argc, char **argv)
{
    parse_options(argc, argv, &opt, NULL);
    install_signal_handlers();
    int listen_fd = open_listener(&opt, SOMAXCONN, LISTEN_NONBLOCK);
    announce_ready(&opt, listen_fd, "http", "docroot");

    if (coro_spawn(accept_coroutine, &listen_fd) < 0) {
        warn("coroutine");
        return 1;
    }
    coro_run(); /* until SIGTERM or SIGINT */
    close(listen_fd);
    return 0;
}
