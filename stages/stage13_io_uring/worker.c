/* worker.c — one worker: stage 12's connection, driven by completions.
 *
 * stage12 asks the kernel "which sockets are ready?" (epoll_wait) and then
 * makes the calls itself: accept4, read, sendmsg, sendfile — one system call
 * each.  Here the worker writes the calls themselves into the submission
 * ring and collects their results from the completion ring; the only system
 * call of a loop turn is io_uring_enter(), which submits everything queued
 * and waits for the next results, for all connections at once.
 *
 * A connection's life as submissions (SQE) and completions (CQE):
 *
 *   ACCEPT (multishot)  one SQE for the worker's whole life: a CQE per new
 *                       connection, carrying its descriptor.
 *   RECV (buffer select) armed while a connection waits for a request.  It
 *                       names no buffer: when bytes arrive, the kernel takes
 *                       one from the provided-buffer ring, so the thousands
 *                       of idle connections hold no receive memory at all.
 *                       The bytes are copied into the connection's request
 *                       buffer (stage12's pool) and the ring buffer goes back.
 *   SENDMSG -> RECV     a keep-alive reply (head + cached body, one iovec
 *                       pair) LINKED to the next RECV: the kernel arms the
 *                       receive as soon as the reply is out.  The send's
 *                       completion gives the request buffer back, so an idle
 *                       connection holds none (why its CQE is not skipped
 *                       with CQE_SKIP_SUCCESS: NOTES.md, stage 13).  Two
 *                       SQEs, two CQEs, no system call of its own.
 *   SENDMSG => CLOSE    a reply the connection ends with, HARD-linked to
 *                       the close: both in one submission.
 *   READ -> SEND        big or uncached files, 64 KiB at a time, linked
 *                       (why not splice or sendfile: see send_chunk()).
 *   SHUTDOWN            lingering closes, and ending a connection whose
 *                       operations are still in flight (see conn_close()).
 *   ASYNC_CANCEL        a RECV whose request ran out of time, for the 408.
 *   READ of a signalfd  SIGTERM and SIGINT, as one more completion.
 *
 * Kept from stage12: the master and SO_REUSEPORT workers (main.c), the file
 * cache (small files served from memory, unused ones closed after a
 * second), validators, 304s and ranges (a 206 starts at an offset into the
 * cached bytes or the READs), the timing wheel (a deadline per
 * connection; io_uring's own timeouts would cost an SQE to arm and another
 * to cancel on every request, the wheel costs a store), the pools, the cap,
 * the reserve descriptor, 408s, lingering closes and the graceful stop.
 * SQPOLL (a kernel thread polling the SQ, so even io_uring_enter goes) is
 * not used: it spins a CPU per worker to save the one call per turn left.
 */
#include "../stage12_c10k/worker.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "../stage12_c10k/filecache.h"
#include "../stage12_c10k/timer.h"
#include "http.h"
#include "net.h"
#include "response.h"
#include "uring.h"

#define SQ_ENTRIES    4096
#define CQ_ENTRIES    16384
#define RECV_BUFS     256  /* provided receive buffers per worker (a power of two) */
#define RECV_BUF_SIZE 4096 /* one receive completion brings at most this much */
/* A receive is armed only while in[] holds no complete head, so at most
 * HTTP_MAX_HEAD bytes are waiting there: one more ring buffer always fits. */
#define IN_BUF_SIZE (HTTP_MAX_HEAD + RECV_BUF_SIZE)
#define CHUNK       (64 * 1024) /* file bytes per READ -> SEND pair */
#define LINGER_MS   1000
#define DRAIN_MS    5000
#define POOL_KEEP   16 /* free buffers kept for reuse (see give_memory_back()) */
#define TRIM_MS     100
#define BUF_GROUP   1

/* What a completion is about: the connection's address with the operation
 * in its low bits (a struct conn is 8-byte aligned, so they are free). */
enum op { OP_NONE, OP_ACCEPT, OP_RECV, OP_SEND, OP_READ, OP_SHUTDOWN, OP_CLOSE, OP_CANCEL };
#define OP_MASK 7u

enum state { RECEIVING, SENDING, LINGERING };

struct iobuf {
    struct iobuf *next_free;
    size_t in_start, in_end;
    struct http_request req;
    struct http_reply rep;
    struct iovec iov[2]; /* the reply, as SENDMSG sees it: */
    struct msghdr msg;   /*   must stay put until the kernel is done */
    char *chunk;         /* a big file's next CHUNK bytes (only while sending one) */
    char in[IN_BUF_SIZE];
};

struct conn {
    int fd;
    unsigned char state;
    unsigned char in_flight;    /* SQEs whose completion is still to come */
    unsigned char linked_reply; /* a keep-alive reply in flight, the RECV linked behind it */
    unsigned char client_close; /* the request asked for Connection: close */
    unsigned char closing;      /* conn_close() ran: free once nothing is in flight */
    unsigned char failed;       /* an operation failed: close once nothing is in flight */
    unsigned char eof;          /* the client closed its side */
    unsigned char want_408;     /* the deadline passed mid-request */
    unsigned char fd_closed;    /* a linked CLOSE took care of the descriptor */
    struct iobuf *buf;          /* NULL while idle */
    long long body_to_skip;
    struct cached_file *file;
    const char *body_mem;
    int body_fd;
    off_t body_off, body_left;
    struct timer timer;
    struct conn *prev, *next;
};

static const struct worker_config *cfg;
static struct uring ring;
static struct uring_bufs recv_bufs;
static int listen_fd, reserve_fd = -1, signal_fd = -1;
static int accept_armed, accept_paused;
static struct timer_wheel wheel;
static long long now_ms;
static time_t now_sec;
static int draining;
static long long drain_deadline;
static struct conn *all_conns, *free_conns;
static long nconns;
static struct iobuf *free_bufs;
static int nfree_bufs;
static int heap_has_holes; /* buffers were freed: see give_memory_back() */

static void process(struct conn *c);

static void clock_update(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    now_ms = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    now_sec = time(NULL);
}

/* free() keeps a freed buffer's pages in the process when other blocks
 * (connections taken during the same burst) sit above it in the heap: the
 * 10 000 connections of `make c10k` would keep the pages of every buffer
 * their first requests used.  malloc_trim() hands such pages back to the
 * kernel (madvise); at most every TRIM_MS, and only after a burst.  free()
 * itself would shrink the heap (brk) whenever its top is free, and the next
 * malloc() grow it again: a system call every few requests under load, so
 * that is switched off at the start (M_TRIM_THRESHOLD) and left to us. */
static void give_memory_back(void)
{
    static long long last;
    if (heap_has_holes && now_ms - last >= TRIM_MS) {
        malloc_trim(0);
        heap_has_holes = 0;
        last = now_ms;
    }
}

/* ---- submissions ---------------------------------------------------------------- */

/* An SQE for connection c (NULL: the listener), op in user_data.  The SQ
 * is flushed when full, so running out means the kernel refuses to take
 * submissions at all: nothing sensible is left to do but exit (and let
 * the master start a fresh worker). */
static struct io_uring_sqe *sqe_for(struct conn *c, enum op op, int fd)
{
    struct io_uring_sqe *sqe = uring_sqe(&ring);
    if (sqe == NULL) {
        fprintf(stderr, "%s: io_uring submission queue stuck: worker exits\n", cfg->opt->stage);
        exit(1);
    }
    sqe->fd = fd;
    sqe->user_data = (uintptr_t)c | op;
    if (c != NULL)
        c->in_flight++;
    return sqe;
}

static void arm_accept(void)
{
    struct io_uring_sqe *sqe = sqe_for(NULL, OP_ACCEPT, listen_fd);
    sqe->opcode = IORING_OP_ACCEPT;
    sqe->ioprio = IORING_ACCEPT_MULTISHOT; /* one SQE, a CQE per connection */
    sqe->accept_flags = SOCK_CLOEXEC;      /* blocking is fine: io_uring never waits in a call */
    accept_armed = 1;
}

/* `linked`: the RECV follows a reply in the same chain; the client
 * has not sent its next request yet, so POLL_FIRST skips the attempt that
 * would find the socket empty and waits for bytes straight away. */
static void arm_recv(struct conn *c, int linked)
{
    struct io_uring_sqe *sqe = sqe_for(c, OP_RECV, c->fd);
    sqe->opcode = IORING_OP_RECV;
    sqe->flags = IOSQE_BUFFER_SELECT;
    sqe->buf_group = BUF_GROUP;
    sqe->ioprio = linked ? IORING_RECVSEND_POLL_FIRST : 0;
}

static void submit_shutdown(struct conn *c, int how)
{
    struct io_uring_sqe *sqe = sqe_for(c, OP_SHUTDOWN, c->fd);
    sqe->opcode = IORING_OP_SHUTDOWN;
    sqe->len = (unsigned)how;
}

/* ---- buffers and connections, recycled (as in stage12) ---------------------------- */

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
    b->chunk = NULL;
    return b;
}

static void buf_put(struct iobuf *b)
{
    if (b == NULL)
        return;
    free(b->chunk);
    if (nfree_bufs >= POOL_KEEP) { /* after a burst, give memory back */
        free(b);
        heap_has_holes = 1;
        return;
    }
    b->next_free = free_bufs;
    free_bufs = b;
    nfree_bufs++;
}

static void release_idle_buf(struct conn *c)
{
    if (c->buf != NULL && c->buf->in_start == c->buf->in_end && c->body_to_skip == 0) {
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
    touch(c, cfg->idle_ms);
    return c;
}

static void release_body(struct conn *c)
{
    if (c->file != NULL)
        filecache_put(c->file);
    else if (c->buf != NULL)
        http_reply_done(&c->buf->rep);
    if (c->buf != NULL) {
        free(c->buf->chunk);
        c->buf->chunk = NULL;
    }
    c->file = NULL;
    c->body_mem = NULL;
    c->body_fd = -1;
    c->body_left = 0;
}

/* Nothing of c is in flight any more: give everything back.  The socket is
 * closed by an SQE too (unless a linked CLOSE did it already); nothing
 * refers to the descriptor any longer, so its number may be reused at once. */
static void conn_free(struct conn *c)
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
    if (!c->fd_closed) {
        struct io_uring_sqe *sqe = sqe_for(NULL, OP_NONE, c->fd);
        sqe->opcode = IORING_OP_CLOSE;
        sqe->flags = IOSQE_CQE_SKIP_SUCCESS;
    }
    nconns--;
    (*cfg->my_conns)--;
    atomic_fetch_sub_explicit(cfg->open_conns, 1, memory_order_relaxed);
    c->next = free_conns;
    free_conns = c;
    if (accept_paused && listen_fd >= 0) { /* a descriptor came free: accept again */
        accept_paused = 0;
        arm_accept();
    }
}

/* End a connection.  If nothing of it is in flight, at once.  Otherwise its
 * operations must finish first: their completions name this struct, and a
 * close() would not stop them anyway (io_uring holds its own reference to
 * the socket) — worse, a READ -> SEND chain could start its SEND after the
 * descriptor number went to a new client.  shutdown() makes every socket
 * operation, waiting or still to come, finish at once (EOF, EPIPE); the
 * last completion then frees the connection. */
static void conn_close(struct conn *c)
{
    if (c->closing)
        return;
    c->closing = 1;
    timer_cancel(&wheel, &c->timer);
    if (c->in_flight == 0)
        conn_free(c);
    else
        submit_shutdown(c, SHUT_RDWR);
}

/* ---- accepting -------------------------------------------------------------------- */

/* EMFILE: as in stage12, accept the client with the reserve descriptor and
 * hang up.  If even that fails, stop accepting until a connection closes:
 * a re-armed accept would fail again at once, and the loop would spin. */
static void shed_with_reserve(void)
{
    static int warned;
    if (!warned) {
        fprintf(stderr, "%s: out of file descriptors: shedding new connections\n", cfg->opt->stage);
        warned = 1;
    }
    int fd = -1;
    if (reserve_fd >= 0) {
        close(reserve_fd);
        fd = accept(listen_fd, NULL, NULL); /* the listener is nonblocking */
        if (fd >= 0)
            close(fd);
        reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    }
    if (fd < 0)
        accept_paused = 1;
}

/* Over the -c cap: read away what the client sent, so close() sends FIN
 * rather than RST, and hang up (stage12's refuse(); plain calls, it is rare). */
static void refuse(int fd)
{
    char scratch[1024];
    for (int i = 0; i < 4 && recv(fd, scratch, sizeof scratch, MSG_DONTWAIT) > 0; i++)
        ;
    close(fd);
}

static void on_accept(int res, unsigned flags)
{
    if (!(flags & IORING_CQE_F_MORE))
        accept_armed = 0; /* the multishot ended (an error, or cancelled): re-armed below */
    if (res < 0) {
        if (res == -EMFILE || res == -ENFILE)
            shed_with_reserve();
        else if (res != -ECANCELED && res != -ECONNABORTED && res != -EINTR && res != -EAGAIN)
            fprintf(stderr, "%s: accept: %s\n", cfg->opt->stage, strerror(-res));
        return;
    }
    if (atomic_fetch_add_explicit(cfg->open_conns, 1, memory_order_relaxed) >= cfg->max_conns) {
        atomic_fetch_sub_explicit(cfg->open_conns, 1, memory_order_relaxed);
        refuse(res);
        return;
    }
    struct conn *c = conn_new(res);
    if (c == NULL) {
        atomic_fetch_sub_explicit(cfg->open_conns, 1, memory_order_relaxed);
        close(res);
        return;
    }
    arm_recv(c, 0); /* TCP_DEFER_ACCEPT: the request is usually there already */
}

/* ---- requests (stage12's, unchanged but for the names) ------------------------------- */

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
        rep->status = 200;
        rep->keep_alive = keep_alive;
        rep->file_fd = -1;
        rep->file_offset = 0;
        rep->body_len = f->size;
        rep->head_len = filecache_head(f, keep_alive, http_date_cached(now_sec), rep->head);
        rep->file_remaining = req->method == HTTP_GET ? f->size : 0;
        if (http_is_conditional(req)) { /* 304, a range, ...: common/ decides and writes */
            struct file_version v = { f->size, f->mtime, f->ctime, f->ino };
            http_reply_file(rep, req, &v, f->mime, keep_alive);
        }
        if (rep->file_remaining > 0) { /* from file_offset, file_remaining bytes */
            c->file = f;
            c->body_mem = f->body;
            c->body_fd = f->fd;
            c->body_off = rep->file_offset;
            c->body_left = rep->file_remaining;
        } else {
            filecache_put(f);
        }
    } else {
        http_reply_for(rep, req, cfg->opt, !draining);
        if (rep->file_fd >= 0) {
            c->body_fd = rep->file_fd;
            c->body_off = rep->file_offset;
            c->body_left = rep->file_remaining;
        }
    }
    http_log(cfg->opt, req, rep);
    c->client_close = !req->keep_alive;
    c->body_to_skip = req->content_length;
    b->in_start += head_len;
    http_request_reset(req);
}

static void start_error(struct conn *c, int status)
{
    struct iobuf *b = c->buf;
    http_reply_error(&b->rep, status, 0, 0);
    http_log(cfg->opt, NULL, &b->rep);
    b->in_start = b->in_end = 0;
    c->body_to_skip = 0;
    c->client_close = 0; /* it may still be sending: linger */
}

static void skip_body(struct conn *c)
{
    struct iobuf *b = c->buf;
    size_t have = b->in_end - b->in_start;
    size_t n = c->body_to_skip < (long long)have ? (size_t)c->body_to_skip : have;
    b->in_start += n;
    c->body_to_skip -= n;
}

/* ---- replies ---------------------------------------------------------------------- */

static int closes_after_reply(const struct conn *c)
{
    return !c->buf->rep.keep_alive || draining;
}

static int big_body(const struct conn *c)
{
    return c->body_fd >= 0 && c->body_mem == NULL && c->body_left > 0;
}

/* The next CHUNK of a big file: READ it into the connection's chunk buffer,
 * and SEND it, linked (the SEND starts when the READ has completed; a short
 * READ — the file shrank — breaks the link, and the SEND is cancelled).
 *
 * Why not splice() through a pipe, zero-copy like stage12's sendfile()?
 * io_uring runs every SPLICE in its io-wq worker threads, where it blocks:
 * a client that stops reading holds a kernel thread, a few hundred such
 * clients hold a few hundred threads (or, with the pool capped, stall
 * every other download behind them), and each connection needs a pipe (two
 * descriptors).  READ + SEND costs one copy through user memory, but the
 * SEND waits for a slow client the io_uring way (armed poll, no thread).
 * Small files, the common case, need neither: they are in the cache, in
 * memory, and leave with the head in one SENDMSG. */
static void send_chunk(struct conn *c)
{
    struct iobuf *b = c->buf;
    size_t len = c->body_left > CHUNK ? CHUNK : (size_t)c->body_left;
    if (b->chunk == NULL && (b->chunk = malloc(CHUNK)) == NULL) {
        c->failed = 1;
        return;
    }
    struct io_uring_sqe *sqe = sqe_for(c, OP_READ, c->body_fd);
    sqe->opcode = IORING_OP_READ;
    sqe->flags = IOSQE_IO_LINK;
    sqe->addr = (uintptr_t)b->chunk;
    sqe->len = (unsigned)len;
    sqe->off =
        (unsigned long long)c->body_off; /* the cached descriptor is shared: no file position */
    sqe = sqe_for(c, OP_SEND, c->fd);
    sqe->opcode = IORING_OP_SEND;
    sqe->addr = (uintptr_t)b->chunk;
    sqe->len = (unsigned)len;
    /* WAITALL: io_uring itself resumes a partial send, so the CQE comes
     * when all len bytes are out (or the client is gone). */
    sqe->msg_flags = MSG_NOSIGNAL | MSG_WAITALL;
}

/* Queue the reply prepared in c->buf->rep (+ c's body).  See the head
 * comment for the three shapes. */
static void submit_reply(struct conn *c)
{
    struct iobuf *b = c->buf;
    struct http_reply *rep = &b->rep;
    int pending = b->in_start < b->in_end || c->body_to_skip > 0;
    int closes = closes_after_reply(c);
    int big = big_body(c);

    b->msg = (struct msghdr){ .msg_iov = b->iov, .msg_iovlen = 1 };
    b->iov[0] = (struct iovec){ rep->head, rep->head_len };
    if (c->body_mem != NULL && c->body_left > 0)
        b->iov[b->msg.msg_iovlen++] =
            (struct iovec){ (char *)c->body_mem + c->body_off, (size_t)c->body_left };

    struct io_uring_sqe *sqe = sqe_for(c, OP_SEND, c->fd);
    sqe->opcode = IORING_OP_SENDMSG;
    sqe->addr = (uintptr_t)&b->msg;
    sqe->len = 1;
    /* MSG_MORE when more follows in another packet: a big file's first
     * chunk, or (stage12's trick) the FIN of a close right behind it. */
    sqe->msg_flags = MSG_NOSIGNAL | MSG_WAITALL | (big || closes ? MSG_MORE : 0);
    c->state = SENDING;
    if (big) {
        sqe->flags = IOSQE_IO_LINK;
        send_chunk(c);
    } else if (!closes && !pending) {
        /* The common case: the reply, then the wait for the next request,
         * in one chain; the reply itself posts no completion. */
        sqe->flags = IOSQE_IO_LINK;
        c->linked_reply = 1;
        c->state = RECEIVING;
        touch(c, cfg->idle_ms);
        arm_recv(c, 1);
    } else if (closes && c->client_close && !pending) {
        /* HARDLINK: the CLOSE runs even if the send failed. */
        sqe->flags = IOSQE_IO_HARDLINK;
        sqe = sqe_for(c, OP_CLOSE, c->fd);
        sqe->opcode = IORING_OP_CLOSE;
        c->closing = 1;
        c->fd_closed = 1;
        timer_cancel(&wheel, &c->timer);
    }
    /* Otherwise (pipelined requests waiting, or a lingering close) the
     * send's completion decides what comes next: see reply_done(). */
}

/* The reply went out whole (SENDING, nothing in flight). */
static void reply_done(struct conn *c)
{
    struct iobuf *b = c->buf;
    int pending = b->in_start < b->in_end || c->body_to_skip > 0;
    int keep = !closes_after_reply(c);
    release_body(c);
    if (keep) {
        c->state = RECEIVING;
        touch(c, cfg->idle_ms);
        process(c);
    } else if (c->client_close && !pending) {
        conn_close(c);
    } else {
        /* Linger (stage12's start_lingering): shut our side, then read and
         * discard until the client closes too, for at most LINGER_MS. */
        buf_put(c->buf);
        c->buf = NULL;
        c->body_to_skip = 0;
        c->state = LINGERING;
        touch(c, LINGER_MS);
        submit_shutdown(c, SHUT_WR);
    }
}

/* RECEIVING, nothing in flight: answer what is in in[], or ask for more. */
static void process(struct conn *c)
{
    struct iobuf *b = c->buf;
    if (b != NULL) {
        if (c->body_to_skip > 0)
            skip_body(c);
        if (c->body_to_skip == 0 && b->in_start < b->in_end) {
            long n = http_parse_request(&b->req, b->in + b->in_start, b->in_end - b->in_start);
            if (n > 0) {
                start_reply(c, (size_t)n);
                submit_reply(c);
                return;
            }
            if (n == HTTP_ERROR) {
                start_error(c, b->req.status);
                submit_reply(c);
                return;
            }
        }
        release_idle_buf(c);
    }
    arm_recv(c, 0);
}

/* Bytes from the provided-buffer ring: into in[], and the ring buffer
 * goes straight back to the kernel. */
static void take_bytes(struct conn *c, const char *data, size_t n)
{
    if (c->buf == NULL && (c->buf = buf_get()) == NULL) {
        c->failed = 1;
        return;
    }
    struct iobuf *b = c->buf;
    if (b->in_start == b->in_end)
        b->in_start = b->in_end = 0;
    if (sizeof b->in - b->in_end < n) { /* make room at the front */
        memmove(b->in, b->in + b->in_start, b->in_end - b->in_start);
        b->in_end -= b->in_start;
        b->in_start = 0;
    }
    if (sizeof b->in - b->in_end < n) { /* cannot happen: see IN_BUF_SIZE */
        c->failed = 1;
        return;
    }
    memcpy(b->in + b->in_end, data, n);
    b->in_end += n;
}

/* ---- completions -------------------------------------------------------------------- */

static void on_recv(struct conn *c, int res, unsigned flags)
{
    if (res > 0) {
        unsigned short id = (unsigned short)(flags >> IORING_CQE_BUFFER_SHIFT);
        if (c->state == RECEIVING && !c->closing && !c->want_408)
            take_bytes(c, uring_buf(&recv_bufs, id), (size_t)res);
        uring_buf_give_back(&recv_bufs, id); /* LINGERING: thrown away */
    } else if (res == 0) {
        c->eof = 1;
    } else if (res == -ENOBUFS) {
        /* Every ring buffer was taken in this batch.  They are all back by
         * the time the new SQE is submitted (the next io_uring_enter). */
        if (!c->closing && !c->want_408)
            arm_recv(c, 0);
    } else if (!(res == -ECANCELED && c->want_408)) {
        c->failed = 1; /* ECONNRESET and the like */
    }
}

/* Did the operation do all it was asked?  Anything less fails the reply. */
static void on_send_or_read(struct conn *c, enum op op, int res)
{
    if (res < 0) {
        c->failed = 1;
        return;
    }
    if (op == OP_READ) {
        size_t want = c->body_left > CHUNK ? CHUNK : (size_t)c->body_left;
        if ((size_t)res != want)
            c->failed = 1; /* the file shrank: Content-Length is a lie now */
        return;
    }
    /* The SENDMSG of a head (+ body), or the SEND of a chunk. */
    size_t asked = c->buf->msg.msg_iovlen > 0 ? c->buf->iov[0].iov_len : 0;
    if (c->buf->msg.msg_iovlen > 1)
        asked += c->buf->iov[1].iov_len;
    if (c->buf->msg.msg_iovlen > 0) {
        if ((size_t)res != asked)
            c->failed = 1;
        if (c->linked_reply) { /* out: the RECV behind it waits for the next request */
            c->linked_reply = 0;
            release_body(c);
            release_idle_buf(c);
            return;
        }
        c->buf->msg.msg_iovlen = 0; /* the head is out: what follows are chunks */
        if (c->body_mem != NULL)
            c->body_left = 0;
    } else {
        c->body_off += res;
        c->body_left -= res;
    }
    touch(c, cfg->idle_ms); /* progress: the client is reading */
}

/* Nothing of c is in flight: decide what comes next. */
static void settle(struct conn *c)
{
    if (c->closing || c->failed || (c->eof && c->state != SENDING)) {
        c->closing = 1;
        conn_free(c);
        return;
    }
    switch (c->state) {
    case RECEIVING:
        if (c->want_408) {
            c->want_408 = 0;
            start_error(c, 408);
            submit_reply(c);
            touch(c, LINGER_MS); /* a second to take it */
        } else {
            process(c);
        }
        break;
    case SENDING:
        if (big_body(c))
            send_chunk(c);
        else
            reply_done(c);
        break;
    default: /* LINGERING: keep reading, and discarding, until EOF */
        arm_recv(c, 0);
        break;
    }
}

static void on_cqe(const struct io_uring_cqe *cqe)
{
    enum op op = (enum op)(cqe->user_data & OP_MASK);
    struct conn *c = (struct conn *)(uintptr_t)(cqe->user_data & ~(uint64_t)OP_MASK);
    if (op == OP_ACCEPT) {
        on_accept(cqe->res, cqe->flags);
        return;
    }
    if (c == NULL) {
        if (op == OP_READ && cqe->res > 0)
            stop_requested = 1; /* the signalfd: SIGTERM or SIGINT */
        return; /* else: a CLOSE of conn_free() that failed, or a cancel of the accept */
    }
    c->in_flight--;
    switch (op) {
    case OP_RECV:
        on_recv(c, cqe->res, cqe->flags);
        break;
    case OP_SEND:
    case OP_READ:
        on_send_or_read(c, op, cqe->res);
        break;
    default: /* SHUTDOWN, CLOSE, CANCEL: their work is done either way */
        break;
    }
    if (c->in_flight == 0)
        settle(c);
}

/* A deadline passed (see stage12's on_timeout()).  A half request gets a
 * 408 — once its armed RECV is cancelled — an idle or stuck one a close. */
static void on_timeout(struct timer *t)
{
    struct conn *c = (struct conn *)((char *)t - offsetof(struct conn, timer));
    int half_request =
        c->state == RECEIVING && !c->linked_reply &&
        ((c->buf != NULL && c->buf->in_start < c->buf->in_end) || c->body_to_skip > 0);
    if (half_request && !draining) {
        c->want_408 = 1;
        struct io_uring_sqe *sqe = sqe_for(c, OP_CANCEL, -1);
        sqe->opcode = IORING_OP_ASYNC_CANCEL;
        sqe->addr = (uintptr_t)c | OP_RECV;
        touch(c, LINGER_MS);
        return;
    }
    conn_close(c);
}

/* ---- signals, as completions ------------------------------------------------------ */

/* SIGTERM and SIGINT stay blocked (since before the fork) and arrive as
 * the completion of a READ on a signalfd: a stop is one more event of the
 * loop, with no window between checking a flag and going to sleep.
 * (io_uring_enter can also take a signal mask for the wait, like
 * epoll_pwait; valgrind 3.19 does not model that, and crashes on it.) */
static int watch_stop_signals(void)
{
    static struct signalfd_siginfo info; /* the kernel writes here: must outlive the READ */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    sigprocmask(SIG_BLOCK, &stop, NULL);
    signal_fd = signalfd(-1, &stop, SFD_CLOEXEC);
    if (signal_fd < 0)
        return -1;
    struct io_uring_sqe *sqe = sqe_for(NULL, OP_READ, signal_fd);
    sqe->opcode = IORING_OP_READ;
    sqe->addr = (uintptr_t)&info;
    sqe->len = sizeof info;
    return 0;
}

/* ---- the graceful stop -------------------------------------------------------------- */

static void begin_drain(void)
{
    draining = 1;
    drain_deadline = now_ms + DRAIN_MS;
    /* Cancel the multishot accept.  The master still holds the listener, and
     * the accept its own reference to it: close() alone would stop nothing. */
    struct io_uring_sqe *sqe = sqe_for(NULL, OP_NONE, -1);
    sqe->opcode = IORING_OP_ASYNC_CANCEL;
    sqe->addr = OP_ACCEPT;
    close(listen_fd);
    listen_fd = -1;
    for (struct conn *c = all_conns, *next; c != NULL; c = next) {
        next = c->next;
        if (c->state != RECEIVING || c->closing)
            continue; /* a reply in flight: let it finish */
        if (c->linked_reply)
            submit_shutdown(c, SHUT_RD); /* the RECV behind the reply ends at once: then close */
        else
            conn_close(c);
    }
}

static void free_everything(void)
{
    /* The ring first: closing it cancels all that is in flight, after which
     * no operation refers to our memory or descriptors. */
    uring_exit(&ring);
    uring_bufs_free(&recv_bufs);
    while (all_conns != NULL) {
        struct conn *c = all_conns;
        all_conns = c->next;
        if (!c->fd_closed)
            close(c->fd);
        c->prev = NULL;
        c->next = free_conns;
        release_body(c);
        buf_put(c->buf);
        free_conns = c;
    }
    while (free_conns != NULL) {
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
    if (signal_fd >= 0)
        close(signal_fd);
    if (listen_fd >= 0)
        close(listen_fd);
}

/* The sooner of two timeouts, where -1 means "none" (stage12's). */
static int earliest_timeout(int a, int b)
{
    if (a < 0)
        return b;
    return b >= 0 && b < a ? b : a;
}

int worker_run(const struct worker_config *config)
{
    cfg = config;
    listen_fd = cfg->listen_fd;
    mallopt(M_TRIM_THRESHOLD, 1 << 30); /* see give_memory_back() */
    clock_update();
    wheel_init(&wheel, now_ms);
    filecache_init(cfg->opt->docroot_fd);
    reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

    int err = uring_init(&ring, SQ_ENTRIES, CQ_ENTRIES);
    if (err == 0)
        err = uring_bufs_init(&ring, &recv_bufs, BUF_GROUP, RECV_BUFS, RECV_BUF_SIZE);
    if (err < 0) {
        fprintf(stderr, "%s: worker: %s\n", cfg->opt->stage, uring_unavailable(err));
        return 1;
    }
    arm_accept();

    if (watch_stop_signals() < 0) {
        perror("stage13: signalfd");
        return 1;
    }

    while (!draining || nconns > 0) {
        int timeout = earliest_timeout(wheel_next_ms(&wheel, now_ms), filecache_timeout_ms(now_ms));
        if (heap_has_holes && (timeout < 0 || timeout > TRIM_MS))
            timeout = TRIM_MS; /* wake up to give the memory back */
        if (draining) {
            long long left = drain_deadline - now_ms;
            if (left <= 0)
                break;
            if (timeout < 0 || timeout > left)
                timeout = (int)left;
        }
        err = uring_submit_and_wait(&ring, timeout);
        if (err < 0 && err != -EINTR && err != -ETIME && err != -EBUSY && err != -EAGAIN) {
            fprintf(stderr, "%s: io_uring_enter: %s\n", cfg->opt->stage, strerror(-err));
            break;
        }
        clock_update();
        struct io_uring_cqe *cqe;
        while ((cqe = uring_cqe(&ring)) != NULL) {
            struct io_uring_cqe copy = *cqe; /* the slot goes back before we act on it */
            uring_cqe_seen(&ring);
            on_cqe(&copy);
        }
        if (!accept_armed && !accept_paused && listen_fd >= 0)
            arm_accept();
        if (stop_requested && !draining)
            begin_drain();
        wheel_expire(&wheel, now_ms, on_timeout);
        filecache_expire(now_ms);
        give_memory_back();
    }
    free_everything();
    return 0;
}
