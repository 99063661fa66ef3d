/* conn.c — the per-connection state machine of the event-driven stages.
 * See conn.h for the states and the promise conn_run() keeps.
 */
#include "conn.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Internal step result: "something changed, look again". */
#define KEEP_GOING (-1)

static struct conn *all_conns;                 /* every open connection */
static struct conn *linger_head, *linger_tail; /* lingering, oldest first */
static int spare_fd = -1;                      /* see conn_accept() */

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- accepting --------------------------------------------------------- */

/* Out of descriptors: take the oldest waiting client with the spare one and
 * hang up on it, so that the queue moves and the listener stops being
 * readable.  Returns 0 if one was shed. */
static int shed_one(int listen_fd)
{
    static int warned;
    if (!warned) {
        fprintf(stderr, "%s: out of file descriptors: refusing connections\n",
                program_invocation_short_name);
        warned = 1;
    }
    if (spare_fd < 0)
        return -1;
    close(spare_fd);
    int fd = accept(listen_fd, NULL, NULL);
    if (fd >= 0)
        close(fd);
    spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    return fd >= 0 ? 0 : -1;
}

int conn_accept(int listen_fd)
{
    if (spare_fd < 0)
        spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    for (;;) {
        /* SOCK_NONBLOCK: the new socket is born nonblocking, no fcntl() needed. */
        int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0)
            return fd;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return -1; /* nobody waiting: not an error */
        if (errno == EINTR || errno == ECONNABORTED)
            continue; /* a signal; a client that gave up in the queue */
        if (errno == EMFILE || errno == ENFILE) {
            if (shed_one(listen_fd) == 0)
                continue;
            return -1;
        }
        fprintf(stderr, "%s: accept: %s\n", program_invocation_short_name, strerror(errno));
        return -1;
    }
}

/* ---- the list of connections ------------------------------------------- */

struct conn *conn_open(int fd, const struct server_options *opt, int persistent)
{
    struct conn *c = calloc(1, sizeof *c);
    if (c == NULL) {
        fprintf(stderr, "%s: out of memory: dropping a connection\n", opt->stage);
        close(fd);
        return NULL;
    }
    c->fd = fd;
    c->opt = opt;
    c->persistent = persistent;
    c->state = CONN_RECEIVING;
    c->rep.file_fd = -1; /* calloc's 0 would be stdin */
    http_request_reset(&c->req);

    c->next = all_conns;
    if (all_conns)
        all_conns->prev = c;
    all_conns = c;
    return c;
}

struct conn *conn_first(void)
{
    return all_conns;
}

static void linger_unlink(struct conn *c)
{
    if (c->lprev)
        c->lprev->lnext = c->lnext;
    else
        linger_head = c->lnext;
    if (c->lnext)
        c->lnext->lprev = c->lprev;
    else
        linger_tail = c->lprev;
}

void conn_close(struct conn *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        all_conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    if (c->state == CONN_LINGERING)
        linger_unlink(c);

    http_reply_done(&c->rep);
    /* epoll forgets a socket when the last descriptor of its open file
     * description closes (epoll(7), "Will closing a file descriptor...").  This is the only one (no fork,
     * no dup after accept), so close() also takes it off the interest list;
     * a socket with a second descriptor would need EPOLL_CTL_DEL first. */
    close(c->fd);
    free(c);
}

void conn_close_all(void)
{
    while (all_conns)
        conn_close(all_conns);
    if (spare_fd >= 0) {
        close(spare_fd);
        spare_fd = -1;
    }
}

/* ---- lingering close ----------------------------------------------------- */

/* Every connection lingers for the same CONN_LINGER_MS, so appending to the
 * tail keeps the list sorted by deadline: the head is always the next to
 * expire, and neither finding nor expiring it needs a search. */
static int start_lingering(struct conn *c)
{
    if (shutdown(c->fd, SHUT_WR) < 0)
        return CONN_WANT_CLOSE; /* ENOTCONN: the client is already gone */
    c->state = CONN_LINGERING;
    c->in_start = c->in_end = 0;
    c->body_to_skip = 0;
    c->linger_until = now_ms() + CONN_LINGER_MS;
    c->lnext = NULL;
    c->lprev = linger_tail;
    if (linger_tail)
        linger_tail->lnext = c;
    else
        linger_head = c;
    linger_tail = c;
    return KEEP_GOING;
}

int conn_timeout_ms(void)
{
    if (linger_head == NULL)
        return -1;
    long long left = linger_head->linger_until - now_ms();
    return left > 0 ? (int)left : 0;
}

void conn_expire(void)
{
    long long now = now_ms();
    while (linger_head && linger_head->linger_until <= now)
        conn_close(linger_head);
}

/* Read and discard until the client closes. */
static int drain(struct conn *c)
{
    if (now_ms() >= c->linger_until)
        return CONN_WANT_CLOSE;
    for (;;) {
        ssize_t n = read(c->fd, c->in, sizeof c->in);
        if (n > 0)
            continue;
        if (n == 0)
            return CONN_WANT_CLOSE; /* the client closed too: done */
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return CONN_WANT_READ;
        return CONN_WANT_CLOSE;
    }
}

/* ---- receiving ------------------------------------------------------------ */

static void start_sending(struct conn *c)
{
    c->head_sent = 0;
    c->state = CONN_SENDING;
}

/* A complete head of head_len bytes is at in[in_start]. */
static void start_reply(struct conn *c, size_t head_len)
{
    http_reply_for(&c->rep, &c->req, c->opt, c->persistent);
    http_log(c->opt, &c->req, &c->rep);
    /* Only now, with req's pointers no longer needed, may the bytes go. */
    c->body_to_skip = c->req.content_length;
    c->in_start += head_len;
    http_request_reset(&c->req);
    start_sending(c);
}

/* A bad request: after its error page the connection closes. */
static void start_error(struct conn *c, int status)
{
    http_reply_error(&c->rep, status, 0, 0);
    http_log(c->opt, NULL, &c->rep);
    start_sending(c);
}

/* A Content-Length body on GET/HEAD is not ours to use, but it is in the
 * byte stream: skip it so the next request starts where it should.  It may
 * arrive over many reads. */
static void skip_body(struct conn *c)
{
    size_t have = c->in_end - c->in_start;
    size_t n = c->body_to_skip < (long long)have ? (size_t)c->body_to_skip : have;
    c->in_start += n;
    c->body_to_skip -= n;
}

/* One read() into the free end of in[]. */
static int read_more(struct conn *c)
{
    if (c->in_start == c->in_end)
        c->in_start = c->in_end = 0;
    if (c->in_end == sizeof c->in) {
        if (c->in_start == 0) {
            start_error(c, 431); /* a head that does not fit */
            return KEEP_GOING;
        }
        /* Move the unparsed rest to the front.  The parser's progress
         * (req.scan_from) is relative to the start of the head, so it stays
         * valid; no pointer into in[] is kept while a head is incomplete. */
        memmove(c->in, c->in + c->in_start, c->in_end - c->in_start);
        c->in_end -= c->in_start;
        c->in_start = 0;
    }
    ssize_t n = read(c->fd, c->in + c->in_end, sizeof c->in - c->in_end);
    if (n > 0) {
        c->in_end += (size_t)n;
        return KEEP_GOING;
    }
    if (n == 0)
        return CONN_WANT_CLOSE; /* EOF: the client left (maybe mid-request) */
    if (errno == EINTR)
        return KEEP_GOING;
    if (errno == EAGAIN || errno == EWOULDBLOCK)
        return CONN_WANT_READ; /* no data yet: the client is still there */
    return CONN_WANT_CLOSE;    /* ECONNRESET and the like: the client left */
}

static int receive(struct conn *c)
{
    if (c->body_to_skip > 0)
        skip_body(c);
    if (c->body_to_skip == 0 && c->in_start < c->in_end) {
        long n = http_parse_request(&c->req, c->in + c->in_start, c->in_end - c->in_start);
        if (n > 0) {
            start_reply(c, (size_t)n);
            return KEEP_GOING;
        }
        if (n == HTTP_ERROR) {
            start_error(c, c->req.status);
            return KEEP_GOING;
        }
    }
    return read_more(c); /* HTTP_INCOMPLETE, or nothing buffered */
}

/* ---- sending -------------------------------------------------------------- */

static int write_failed(void)
{
    if (errno == EINTR)
        return KEEP_GOING;
    if (errno == EAGAIN || errno == EWOULDBLOCK)
        return CONN_WANT_WRITE; /* the socket buffer is full: later */
    return CONN_WANT_CLOSE;     /* EPIPE, ECONNRESET: the client left */
}

/* The reply is out: wait for the next request, or close.  Closing always
 * lingers: even when no unread byte is buffered, the client may have more
 * on the way (a body, a pipelined request written a line at a time). */
static int reply_sent(struct conn *c)
{
    http_reply_done(&c->rep);
    if (c->rep.keep_alive) {
        c->state = CONN_RECEIVING;
        return KEEP_GOING;
    }
    return start_lingering(c);
}

static int send_some(struct conn *c)
{
    struct http_reply *r = &c->rep;
    int file_follows = r->file_fd >= 0 && r->file_remaining > 0;

    while (c->head_sent < r->head_len) {
        /* MSG_MORE: the file follows, so the head can share its first packet. */
        ssize_t n = send(c->fd, r->head + c->head_sent, r->head_len - c->head_sent,
                         MSG_NOSIGNAL | (file_follows ? MSG_MORE : 0));
        if (n < 0)
            return write_failed();
        c->head_sent += (size_t)n;
    }
    while (r->file_fd >= 0 && r->file_remaining > 0) {
        size_t chunk = r->file_remaining > 0x40000000 ? 0x40000000 : (size_t)r->file_remaining;
        /* sendfile() advances r->file_offset by what it sent, and only by
         * that: after a partial send the next call resumes at the right byte.
         * (Adding n to the offset by hand as well would skip data.)  There is
         * no byte limit per call on purpose: stopping before EAGAIN would
         * leave an edge-triggered loop waiting for an edge that never comes. */
        ssize_t n = sendfile(c->fd, r->file_fd, &r->file_offset, chunk);
        if (n < 0)
            return write_failed();
        if (n == 0)
            return CONN_WANT_CLOSE; /* the file shrank under us: the length is a lie now */
        r->file_remaining -= n;
    }
    return reply_sent(c);
}

/* ---- the driver ------------------------------------------------------------ */

enum conn_want conn_run(struct conn *c)
{
    for (;;) {
        int step;
        switch (c->state) {
        case CONN_RECEIVING:
            step = receive(c);
            break;
        case CONN_SENDING:
            step = send_some(c);
            break;
        default:
            step = drain(c);
            break;
        }
        if (step != KEEP_GOING)
            return (enum conn_want)step;
    }
}
