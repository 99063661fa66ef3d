/* stage02 — an iterative file server.
 *
 * Model: iterative, like stage01: one process, one client at a time.
 *
 * What changed since stage01: the reply is no longer fixed.  The request
 * head is parsed (common/http.c), its path is mapped to a file inside the
 * docroot without ever letting it escape (common/path.c), and the answer is
 * a real HTTP response: 200 with the file, or 301/400/403/404/405/414/431/
 * 501/505 with a small error page (common/response.c).  Large files are sent
 * with sendfile() in a loop, because one call may send only part of them.
 *
 * Weakness: while this loop serves one client, everybody else waits in the
 * listen queue.  A client that connects and then sends nothing stalls the
 * whole server; so does a slow reader of a big file.  Try it:
 *
 *     nc 127.0.0.1 8080        # connect, send nothing
 *     curl http://127.0.0.1:8080/   # in another terminal: it hangs
 *
 * Stage 03 serves each client in its own process.
 */
#include <err.h>
#include <errno.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http.h"
#include "io.h"
#include "net.h"
#include "options.h"
#include "response.h"

static struct server_options opt = SERVER_OPTIONS_DEFAULTS("stage02");

/* Exercise: serve one file.  serve_client() reads a whole request head
 * (http_parse_request() on what has arrived, read() for more), builds the
 * reply with http_reply_for() or http_reply_error(), sends it with
 * send_reply(), and closes without resetting a client that sent more.
 * Handout stub:
 *     static void serve_client(int fd) { not_implemented_yet("serve_client"); }
 */
/* Read until the parser has a whole request head.  Returns its length, 0 if
 * the client left first, or HTTP_ERROR with req->status saying why. */
static long read_request(int fd, char *buf, size_t cap, size_t *have, struct http_request *req)
{
    http_request_reset(req);
    for (;;) {
        long r = http_parse_request(req, buf, *have);
        if (r != HTTP_INCOMPLETE)
            return r;
        ssize_t n = read(fd, buf + *have, cap - *have);
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
    if (send_reply(fd, &rep) < 0 && errno != EPIPE && errno != ECONNRESET && errno != EINTR)
        warn("send");
    http_reply_done(&rep);

    /* Unread bytes (a request body, junk after a bad request) would turn our
     * close() into a reset that can destroy the response in flight. */
    if (head == HTTP_ERROR || have > (size_t)head || req.content_length > 0)
        lingering_close(fd, 1000);
    else
        close(fd);
}
/* End of exercise. */

int main(int argc, char **argv)
{
    parse_options(argc, argv, &opt, NULL);
    install_signal_handlers();
    int listen_fd = open_listener(&opt, SOMAXCONN, 0);
    announce_ready(&opt, listen_fd, "http", "docroot");

    while (!stop_requested) {
        int fd = accept(listen_fd, NULL, NULL);
        if (fd < 0) {
            if (errno != EINTR) /* EINTR: a signal; the loop test looks at it */
                warn("accept");
            continue;
        }
        serve_client(fd);
    }
    close(listen_fd);
    return 0;
}
