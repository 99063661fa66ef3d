/* worker.c — one worker: stage 10's edge-triggered loop, tuned for C10K.
 *
 * The shape is stage 10's (common/conn.c): a connection is a state machine,
 *   RECEIVING --complete head--> SENDING --keep-alive--> RECEIVING
 *                                        --close-------> (LINGERING) --> closed
 * and it only ever stops on EAGAIN.  What is different here is the cost of a
 * connection and of a request:
 *
 *   memory   an open connection is a 120-byte struct conn.  The 22 KiB of
 *            buffers (request bytes, reply head) are taken from a pool when
 *            bytes arrive and given back as soon as the connection is idle
 *            again, so 10 000 idle keep-alive clients cost ~1.3 MB, not 220 MB.
 *   no malloc per request: conns and buffers are recycled through free lists.
 *   syscalls a cached file is answered with one sendmsg() (head + body) or
 *            send() + sendfile(); no open/stat/close (filecache.c); the Date
 *            string is formatted once a second; a short read() means the
 *            socket is empty, so no read() just to collect EAGAIN (below).
 *   timeouts every connection has a deadline in a timing wheel (timer.c):
 *            idle keep-alive and unfinished requests (408) after -t seconds,
 *            clients that stop reading, lingering closes.
 *   limits   a connection cap shared by all workers (-c), a reserve
 *            descriptor for EMFILE, and a bounded graceful stop.
 */
#include "worker.h"

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "filecache.h"
#include "http.h"
#include "net.h"
#include "response.h"
#include "timer.h"

#define IN_BUF_SIZE (HTTP_MAX_HEAD + 4096) /* the biggest head, and a bit to see it is too big */
#define MAX_EVENTS  512
#define LINGER_MS   1000 /* how long a closing connection may still send */
#define DRAIN_MS    5000 /* how long SIGTERM waits for in-flight replies */
#define POOL_KEEP   64   /* free buffers kept for reuse; more are freed */

#define KEEP_GOING (-1)
enum want { WANT_READ, WANT_WRITE, WANT_CLOSE };
enum state { RECEIVING, SENDING, LINGERING };

/* Everything a connection needs only while a request is in progress. */
struct iobuf {
    struct iobuf *next_free;
    size_t in_start, in_end; /* in[in_start .. in_end): received, not yet used */
    struct http_request req; /* its pointers point into in[] */
    struct http_reply rep;   /* the head being sent (and an error page's body) */
    char in[IN_BUF_SIZE];
};

/* What a connection keeps all its life: small on purpose. */
struct conn {
    int fd;
    unsigned char state;
    unsigned char may_read;     /* bytes may be waiting in the socket */
    unsigned char peer_closed;  /* EPOLLRDHUP: the client shut its sending side */
    unsigned char client_close; /* the request asked for Connection: close */
    struct iobuf *buf;          /* NULL while idle */
    long long body_to_skip;     /* request body bytes still to discard */
    size_t head_sent;
    struct cached_file *file; /* the reply body: a cache entry, in memory */
    const char *body_mem;     /*   (body_mem) or as a descriptor (body_fd), */
    int body_fd;              /*   or rep.file_fd of an uncached reply */
    off_t body_off, body_left;
    struct timer timer;
    struct conn *prev, *next; /* all open connections (for the graceful stop) */
};

static const struct worker_config *cfg;
static int ep, listen_fd, reserve_fd = -1;
static struct timer_wheel wheel;
static long long now_ms; /* CLOCK_MONOTONIC, read once per loop turn */
static time_t now_sec;   /* wall clock, for the Date header */
static int draining;     /* SIGTERM seen: finish what is in flight */
static long long drain_deadline;
static struct conn *all_conns, *free_conns;
static long nconns;
static struct iobuf *free_bufs;
static int nfree_bufs;

static void clock_update(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    now_ms = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    now_sec = time(NULL);
}

/* ---- buffers and connections, recycled ------------------------------------ */

static struct iobuf *buf_get(void)
{
    struct iobuf *b = free_bufs;
    if (b != NULL) {
        free_bufs = b->next_free;
        nfree_bufs--;
    } else if ((b = malloc(sizeof *b)) == NULL) {
        return NULL;
    }
    b->in_start = b->in_end = 0;
    http_request_reset(&b->req);
    b->rep.file_fd = -1;
    return b;
}

static void buf_put(struct iobuf *b)
{
    if (b == NULL)
        return;
    if (nfree_bufs >= POOL_KEEP) { /* after a burst, give memory back */
        free(b);
        return;
    }
    b->next_free = free_bufs;
    free_bufs = b;
    nfree_bufs++;
}

/* The connection is between requests with nothing buffered: an idle
 * keep-alive connection holds no buffer at all. */
static void release_idle_buf(struct conn *c)
{
    if (c->buf != NULL && c->buf->in_start == c->buf->in_end) {
        buf_put(c->buf);
        c->buf = NULL;
    }
}

static void touch(struct conn *c, int ms)
{
    timer_set(&wheel, &c->timer, now_ms + ms);
}

static struct conn *conn_new(int fd)
{
    struct conn *c = free_conns;
    if (c != NULL)
        free_conns = c->next;
    else if ((c = malloc(sizeof *c)) == NULL)
        return NULL;
    memset(c, 0, sizeof *c);
    c->fd = fd;
    c->state = RECEIVING;
    c->body_fd = -1;
    c->next = all_conns;
    if (all_conns)
        all_conns->prev = c;
    all_conns = c;
    nconns++;
    (*cfg->my_conns)++;
    touch(c, cfg->idle_ms); /* the first request must come within -t */
    return c;
}

/* Let go of the reply body: a cache reference, or an uncached file. */
static void release_body(struct conn *c)
{
    if (c->file != NULL)
        filecache_put(c->file);
    else if (c->buf != NULL)
        http_reply_done(&c->buf->rep);
    c->file = NULL;
    c->body_mem = NULL;
    c->body_fd = -1;
    c->body_left = 0;
}

static void conn_close(struct conn *c)
{
    timer_cancel(&wheel, &c->timer);
    release_body(c);
    buf_put(c->buf);
    if (c->prev)
        c->prev->next = c->next;
    else
        all_conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    close(c->fd); /* its only descriptor: it leaves the epoll interest list too */
    nconns--;
    (*cfg->my_conns)--;
    atomic_fetch_sub_explicit(cfg->open_conns, 1, memory_order_relaxed);
    c->next = free_conns;
    free_conns = c;
}

/* ---- accepting -------------------------------------------------------------- */

/* accept() failed with EMFILE: the connection stays in the queue, the
 * listener stays readable, and a level-triggered loop would spin on it.  So
 * a descriptor is kept in reserve: give it up, accept the client with it,
 * hang up on it at once, take the reserve back.  The client sees a close
 * instead of waiting in a queue nobody serves. */
static int shed_with_reserve(void)
{
    static int warned;
    if (!warned) {
        fprintf(stderr, "%s: out of file descriptors: shedding new connections\n", cfg->opt->stage);
        warned = 1;
    }
    if (reserve_fd < 0)
        return -1;
    close(reserve_fd);
    int fd = accept(listen_fd, NULL, NULL);
    if (fd >= 0)
        close(fd);
    reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    return fd >= 0 ? 0 : -1;
}

/* Over the -c cap: hang up at once, spending nothing on the client.  What
 * it already sent is read away first, so that close() sends a FIN (the
 * client sees an empty reply) rather than a RST.  No 503: it would be
 * written before the request was read, for a client we mean to shed. */
static void refuse(int fd)
{
    char scratch[1024];
    for (int i = 0; i < 4 && read(fd, scratch, sizeof scratch) > 0; i++)
        ; /* bounded: a client streaming at us gets no more */
    close(fd);
}

/* Edge-triggered listener: accept until EAGAIN. */
static void accept_clients(void)
{
    for (;;) {
        /* SOCK_NONBLOCK: born nonblocking, no fcntl().  TCP_NODELAY is
         * inherited from the listener, so it costs no call here either. */
        int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if ((errno == EMFILE || errno == ENFILE) && shed_with_reserve() == 0)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EMFILE && errno != ENFILE)
                fprintf(stderr, "%s: accept: %s\n", cfg->opt->stage, strerror(errno));
            return;
        }
        /* The cap counts the connections of all workers together. */
        if (atomic_fetch_add_explicit(cfg->open_conns, 1, memory_order_relaxed) >= cfg->max_conns) {
            atomic_fetch_sub_explicit(cfg->open_conns, 1, memory_order_relaxed);
            refuse(fd);
            continue;
        }
        struct conn *c = conn_new(fd);
        if (c == NULL) {
            atomic_fetch_sub_explicit(cfg->open_conns, 1, memory_order_relaxed);
            close(fd);
            continue;
        }
        /* Registered once, for everything, edge-triggered (stage 10).  If the
         * request is already here, EPOLL_CTL_ADD reports it at once.
         * EPOLLRDHUP tells us when the client has shut down: see read_more(). */
        struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
                                  .data.ptr = c };
        if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
            warn("epoll_ctl ADD");
            conn_close(c);
        }
    }
}

/* ---- receiving --------------------------------------------------------------- */

static void start_sending(struct conn *c)
{
    c->head_sent = 0;
    c->state = SENDING;
}

/* A complete head of head_len bytes is at in[in_start]. */
static void start_reply(struct conn *c, size_t head_len)
{
    struct iobuf *b = c->buf;
    struct http_request *req = &b->req;
    struct http_reply *rep = &b->rep;
    int keep_alive = req->keep_alive && !draining;

    struct cached_file *f = NULL;
    if (req->method != HTTP_OTHER)
        f = filecache_get(req->target, req->target_len, now_ms);
    if (f != NULL) {
        /* The fast path: a ready head, the Date patched in. */
        rep->status = 200;
        rep->keep_alive = keep_alive;
        rep->file_fd = -1;
        rep->body_len = f->size;
        rep->head_len = filecache_head(f, keep_alive, http_date_cached(now_sec), rep->head);
        if (req->method == HTTP_GET && f->size > 0) {
            c->file = f;
            c->body_mem = f->body;
            c->body_fd = f->fd;
            c->body_off = 0;
            c->body_left = f->size;
        } else {
            filecache_put(f);
        }
    } else {
        /* 301, 403, 404, 405, or a path too long to cache: the common way. */
        http_reply_for(rep, req, cfg->opt, !draining);
        if (rep->file_fd >= 0) {
            c->body_fd = rep->file_fd;
            c->body_off = rep->file_offset;
            c->body_left = rep->file_remaining;
        }
    }
    http_log(cfg->opt, req, rep); /* only with -v */

    c->client_close = !req->keep_alive;
    c->body_to_skip = req->content_length;
    b->in_start += head_len; /* req's pointers are not needed any more */
    http_request_reset(req);
    start_sending(c);
}

/* A bad request (or one that took too long): error page, then close. */
static void start_error(struct conn *c, int status)
{
    struct iobuf *b = c->buf;
    http_reply_error(&b->rep, status, 0, 0);
    http_log(cfg->opt, NULL, &b->rep);
    b->in_start = b->in_end = 0; /* what is left of it is not to be trusted */
    c->body_to_skip = 0;
    c->client_close = 0; /* it may still be sending: linger */
    start_sending(c);
}

static void skip_body(struct conn *c)
{
    struct iobuf *b = c->buf;
    size_t have = b->in_end - b->in_start;
    size_t n = c->body_to_skip < (long long)have ? (size_t)c->body_to_skip : have;
    b->in_start += n;
    c->body_to_skip -= n;
}

/* One read() into the free end of in[].
 *
 * Edge-triggered epoll obliges us to read until EAGAIN — but a read() that
 * returns less than the room we offered has already emptied the socket, and
 * any byte arriving later raises a new edge.  So a short read ends the turn
 * without the extra read() whose only job is to say EAGAIN (a syscall per
 * request saved).  The exception is a client that has shut down its side
 * (EPOLLRDHUP came with this report): its FIN has already arrived and
 * nothing can follow it, so no later event would tell us of the end of
 * file that waits behind the bytes; then we read on until read() says 0. */
static int read_more(struct conn *c)
{
    struct iobuf *b = c->buf;
    if (!c->may_read) {
        release_idle_buf(c);
        return WANT_READ;
    }
    if (b->in_start == b->in_end)
        b->in_start = b->in_end = 0;
    if (b->in_end == sizeof b->in) {
        if (b->in_start == 0) {
            start_error(c, 431); /* a head that does not fit */
            return KEEP_GOING;
        }
        memmove(b->in, b->in + b->in_start, b->in_end - b->in_start);
        b->in_end -= b->in_start;
        b->in_start = 0;
    }
    size_t room = sizeof b->in - b->in_end;
    ssize_t n = read(c->fd, b->in + b->in_end, room);
    if (n > 0) {
        b->in_end += (size_t)n;
        if ((size_t)n < room && !c->peer_closed)
            c->may_read = 0; /* drained: wait for the next edge */
        return KEEP_GOING;
    }
    if (n == 0)
        return WANT_CLOSE; /* EOF: the client left (maybe mid-request) */
    if (errno == EINTR)
        return KEEP_GOING;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
        c->may_read = 0;
        release_idle_buf(c);
        return WANT_READ;
    }
    return WANT_CLOSE; /* ECONNRESET and the like */
}

static int receive(struct conn *c)
{
    if (c->buf == NULL) { /* idle until now: take a buffer only if bytes came */
        if (!c->may_read)
            return WANT_READ;
        if ((c->buf = buf_get()) == NULL)
            return WANT_CLOSE;
    }
    struct iobuf *b = c->buf;
    if (c->body_to_skip > 0)
        skip_body(c);
    if (c->body_to_skip == 0 && b->in_start < b->in_end) {
        long n = http_parse_request(&b->req, b->in + b->in_start, b->in_end - b->in_start);
        if (n > 0) {
            start_reply(c, (size_t)n);
            return KEEP_GOING;
        }
        if (n == HTTP_ERROR) {
            start_error(c, b->req.status);
            return KEEP_GOING;
        }
    }
    return read_more(c);
}

/* ---- sending ------------------------------------------------------------------- */

static int write_failed(void)
{
    if (errno == EINTR)
        return KEEP_GOING;
    if (errno == EAGAIN || errno == EWOULDBLOCK)
        return WANT_WRITE; /* socket buffer full: the next edge resumes us */
    return WANT_CLOSE;     /* EPIPE, ECONNRESET: the client left */
}

/* Shut our side, then read and discard until the client closes too (or
 * LINGER_MS pass): closing with unread bytes would make the kernel send RST,
 * which can destroy the reply before the client has read it. */
static int start_lingering(struct conn *c)
{
    if (shutdown(c->fd, SHUT_WR) < 0)
        return WANT_CLOSE;
    release_body(c);
    buf_put(c->buf);
    c->buf = NULL;
    c->body_to_skip = 0;
    c->state = LINGERING;
    touch(c, LINGER_MS); /* earlier than the idle deadline: relinked */
    return KEEP_GOING;
}

static int drain(struct conn *c)
{
    static char scratch[16384]; /* what we throw away needs no buffer of its own */
    for (;;) {
        ssize_t n = read(c->fd, scratch, sizeof scratch);
        if (n > 0)
            continue;
        if (n == 0)
            return WANT_CLOSE;
        if (errno == EINTR)
            continue;
        return errno == EAGAIN || errno == EWOULDBLOCK ? WANT_READ : WANT_CLOSE;
    }
}

/* Does the connection end after this reply?  send_reply() and reply_sent()
 * must agree: a reply sent with MSG_MORE leaves only when the close comes. */
static int closes_after_reply(const struct conn *c)
{
    return !c->buf->rep.keep_alive || draining;
}

static int reply_sent(struct conn *c)
{
    struct iobuf *b = c->buf;
    int pending = b->in_start < b->in_end || c->body_to_skip > 0;
    int keep = !closes_after_reply(c);
    release_body(c);
    if (keep) {
        c->state = RECEIVING;
        touch(c, cfg->idle_ms);
        release_idle_buf(c);
        return KEEP_GOING; /* a pipelined request may be waiting */
    }
    /* The client asked to close and sent nothing more: nothing can be reset,
     * close at once.  Otherwise it may still be sending: linger. */
    if (c->client_close && !pending)
        return WANT_CLOSE;
    return start_lingering(c);
}

static int send_reply(struct conn *c)
{
    struct http_reply *rep = &c->buf->rep;
    int file_follows = c->body_fd >= 0 && c->body_mem == NULL && c->body_left > 0;
    ssize_t n;

    while (c->head_sent < rep->head_len && file_follows) {
        /* MSG_MORE: hold the head back to share a packet with the file. */
        n = send(c->fd, rep->head + c->head_sent, rep->head_len - c->head_sent,
                 MSG_NOSIGNAL | MSG_MORE);
        if (n < 0)
            return write_failed();
        c->head_sent += (size_t)n;
        touch(c, cfg->idle_ms); /* progress: the client is reading */
    }
    /* A reply the connection closes after: MSG_MORE holds its last bytes in
     * the kernel until close() (or shutdown()) comes a moment later and puts
     * the FIN into the same packet: one packet, and one ACK, fewer per short
     * connection (nginx gets the same from TCP_CORK). */
    int flags = MSG_NOSIGNAL | (closes_after_reply(c) ? MSG_MORE : 0);
    while (c->head_sent < rep->head_len || (c->body_mem != NULL && c->body_left > 0)) {
        /* Head and a small cached body in one system call, usually one packet. */
        struct iovec iov[2];
        struct msghdr msg = { .msg_iov = iov };
        size_t head_left = rep->head_len - c->head_sent;
        if (head_left > 0)
            iov[msg.msg_iovlen++] = (struct iovec){ rep->head + c->head_sent, head_left };
        if (c->body_mem != NULL && c->body_left > 0)
            iov[msg.msg_iovlen++] =
                (struct iovec){ (char *)c->body_mem + c->body_off, (size_t)c->body_left };
        n = sendmsg(c->fd, &msg, flags); /* writev() with flags */
        if (n < 0)
            return write_failed();
        size_t from_head = (size_t)n < head_left ? (size_t)n : head_left;
        c->head_sent += from_head;
        c->body_off += (off_t)((size_t)n - from_head);
        c->body_left -= (off_t)((size_t)n - from_head);
        touch(c, cfg->idle_ms);
    }
    while (c->body_fd >= 0 && c->body_left > 0) {
        size_t chunk = c->body_left > 0x40000000 ? 0x40000000 : (size_t)c->body_left;
        /* sendfile() advances body_off by exactly what it sent: after a
         * partial send the next call resumes at the right byte.  The cached
         * descriptor is shared by many connections; sendfile() with an offset
         * pointer never moves the file position, so they cannot disturb
         * each other. */
        n = sendfile(c->fd, c->body_fd, &c->body_off, chunk);
        if (n < 0)
            return write_failed();
        if (n == 0)
            return WANT_CLOSE; /* the file shrank: Content-Length is a lie now */
        c->body_left -= n;
        touch(c, cfg->idle_ms);
    }
    return reply_sent(c);
}

/* ---- the driver ------------------------------------------------------------------ */

static enum want conn_run(struct conn *c)
{
    for (;;) {
        int step;
        switch (c->state) {
        case RECEIVING:
            step = receive(c);
            break;
        case SENDING:
            step = send_reply(c);
            break;
        default:
            step = drain(c);
            break;
        }
        if (step != KEEP_GOING)
            return (enum want)step;
    }
}

static void on_conn_event(struct conn *c, uint32_t events)
{
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        c->may_read = 1;
    if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        c->peer_closed = 1;
    if (conn_run(c) == WANT_CLOSE)
        conn_close(c);
}

/* A deadline passed.  An unfinished request (slowloris: a head sent a byte
 * at a time, or never finished) gets 408 and a close; an idle keep-alive
 * connection, a client that stopped reading, or a lingering close that ran
 * out of time is simply closed. */
static void on_timeout(struct timer *t)
{
    struct conn *c = (struct conn *)((char *)t - offsetof(struct conn, timer));
    int half_request =
        c->state == RECEIVING &&
        ((c->buf != NULL && c->buf->in_start < c->buf->in_end) || c->body_to_skip > 0);
    if (half_request && !draining && (c->buf != NULL || (c->buf = buf_get()) != NULL)) {
        start_error(c, 408);
        touch(c, LINGER_MS); /* a second to take it */
        if (conn_run(c) == WANT_CLOSE)
            conn_close(c);
        return;
    }
    conn_close(c);
}

/* ---- the graceful stop -------------------------------------------------------------- */

/* SIGTERM: accept no more; close every connection that is not in the
 * middle of a reply (idle, or with a request not yet complete: nothing is in
 * flight for it); let the replies in flight finish, for at most DRAIN_MS,
 * then close their connections too. */
static void begin_drain(void)
{
    draining = 1;
    drain_deadline = now_ms + DRAIN_MS;
    /* Explicit DEL: the master still holds this listening socket, so our
     * close() alone would not take it out of the interest list. */
    epoll_ctl(ep, EPOLL_CTL_DEL, listen_fd, NULL);
    close(listen_fd);
    listen_fd = -1;
    for (struct conn *c = all_conns, *next; c != NULL; c = next) {
        next = c->next;
        if (c->state == RECEIVING)
            conn_close(c);
    }
}

int worker_run(const struct worker_config *config)
{
    cfg = config;
    listen_fd = cfg->listen_fd;
    clock_update();
    wheel_init(&wheel, now_ms);
    filecache_init(cfg->opt->docroot_real);
    reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

    ep = epoll_create1(EPOLL_CLOEXEC);
    /* One listener per worker (SO_REUSEPORT): edge-triggered like stage 10.
     * One listener shared by all: EPOLLEXCLUSIVE wakes one or more workers
     * per new connection (epoll(7)), not all of them (the thundering herd). */
    struct epoll_event lev = { .events = EPOLLIN | EPOLLET | (cfg->exclusive ? EPOLLEXCLUSIVE : 0),
                               .data.ptr = NULL };
    if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, listen_fd, &lev) < 0) {
        warn("epoll");
        return 1;
    }

    /* SIGTERM/SIGINT stay blocked except inside epoll_pwait() (stage 10). */
    sigset_t stop_signals, while_waiting;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    sigprocmask(SIG_BLOCK, &stop_signals, NULL);
    sigemptyset(&while_waiting);

    struct epoll_event events[MAX_EVENTS];
    while (!draining || nconns > 0) {
        int timeout = wheel_next_ms(&wheel, now_ms);
        if (draining) {
            long long left = drain_deadline - now_ms;
            if (left <= 0)
                break; /* out of patience: close the rest */
            if (timeout < 0 || timeout > left)
                timeout = (int)left;
        }
        int n = epoll_pwait(ep, events, MAX_EVENTS, timeout, &while_waiting);
        if (n < 0 && errno != EINTR) {
            warn("epoll_wait");
            break;
        }
        clock_update();
        for (int i = 0; i < n; i++) {
            if (events[i].data.ptr == NULL)
                accept_clients();
            else
                on_conn_event(events[i].data.ptr, events[i].events);
        }
        if (stop_requested && !draining)
            begin_drain(); /* after the batch: it closes connections */
        wheel_expire(&wheel, now_ms, on_timeout);
    }
    while (all_conns != NULL)
        conn_close(all_conns);
    while (free_conns != NULL) { /* give the recycled memory back, for leak checkers */
        struct conn *c = free_conns;
        free_conns = c->next;
        free(c);
    }
    while (free_bufs != NULL) {
        struct iobuf *b = free_bufs;
        free_bufs = b->next_free;
        free(b);
    }
    filecache_clear();
    if (reserve_fd >= 0)
        close(reserve_fd);
    if (listen_fd >= 0)
        close(listen_fd);
    close(ep);
    return 0;
}
