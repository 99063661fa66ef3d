/* stage01 — the smallest honest web server: one fixed reply.
 *
 * Model: iterative.  One process, one loop:
 *
 *     listen once;  forever { accept -> read the request -> write -> close }
 *
 * open_listener() (common/net.c) does socket(), setsockopt(SO_REUSEADDR),
 * bind() and listen(); this file does the rest, in the order the kernel
 * needs it.  Whatever the client asks for, it gets the same small page.
 *
 * Why read the request at all, if every answer is the same?  Because closing
 * a socket that still holds unread bytes makes the kernel send a reset (RST)
 * instead of a normal end (FIN), and a client that gets the reset may throw
 * away the reply it was still reading.  So we read up to the blank line that
 * ends the request head, and answer only then.
 *
 * Weakness: it serves nothing real.  Stage 02 maps URLs to files.
 * (And it serves one client at a time: see stage 02's notes.)
 */
#include <err.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http.h"
#include "io.h"
#include "net.h"
#include "options.h"
#include "response.h"

static struct server_options opt = SERVER_OPTIONS_DEFAULTS("stage01");

static const char page[] =
    "<!DOCTYPE html>\n"
    "<html><head><title>stage01</title></head>\n"
    "<body><h1>Hello from stage01</h1>\n"
    "<p>Every request gets this same page. Stage 02 serves real files.</p>\n"
    "</body></html>\n";

/* Exercise: one conversation.  serve_client() reads the request head until
 * http_parse_request() says it is complete (a read may bring one byte), then
 * writes the head from http_format_head() and the page, logs with http_log()
 * and closes, with lingering_close() when unread bytes remain.
 * Handout stub:
 *     static void serve_client(int fd) { (void)page; not_implemented_yet("serve_client"); }
 */
/* Read until the request head is complete (or bad, or the client leaves).
 * Returns the head's length, 0 if the client left, HTTP_ERROR if it sent
 * something that is not a request head. */
static long read_request(int fd, char *buf, size_t cap, size_t *have, struct http_request *req)
{
    http_request_reset(req);
    for (;;) {
        long r = http_parse_request(req, buf, *have);
        if (r != HTTP_INCOMPLETE || *have == cap)
            return r == HTTP_INCOMPLETE ? HTTP_ERROR : r;
        ssize_t n = read(fd, buf + *have, cap - *have);
        if (n < 0 && errno == EINTR && !stop_requested)
            continue; /* a signal interrupted the wait; nothing was lost */
        if (n <= 0)
            return 0; /* 0: the client closed; < 0: reset, or we must stop */
        *have += (size_t)n;
    }
}

static void serve_client(int fd)
{
    char buf[HTTP_MAX_HEAD + 1];
    size_t have = 0;
    struct http_request req;
    long head = read_request(fd, buf, sizeof buf, &have, &req);
    if (head == 0) {
        close(fd);
        return;
    }

    char reply[512];
    size_t len = http_format_head(reply, sizeof reply, 200, "text/html; charset=utf-8",
                                  sizeof page - 1, 0, NULL);
    if (len + sizeof page - 1 <= sizeof reply) {
        memcpy(reply + len, page, sizeof page - 1);
        len += sizeof page - 1;
    }
    if (write_all(fd, reply, len) < 0 && errno != EPIPE && errno != ECONNRESET)
        warn("write");
    struct http_reply logged = { .status = 200, .body_len = sizeof page - 1 };
    http_log(&opt, head > 0 ? &req : NULL, &logged); /* with -v: "GET /path 200 177" */

    if (head == HTTP_ERROR || have > (size_t)head)
        lingering_close(fd, 1000); /* it may still be sending: don't reset it */
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
