/* conn.h — one HTTP connection as a state machine that never waits.
 *
 * The event-driven stages (07–10) cannot park a thread in read() until a
 * request is complete, so everything a blocking server keeps on its stack
 * lives here instead: the bytes received so far, how far the parser got,
 * and how much of the reply is still to send.  The stages differ only in how
 * they find out which connection can make progress (sweeping all of them,
 * or asking epoll) and in whether a connection persists after one reply.
 *
 * The states:
 *
 *   RECEIVING --complete head--> SENDING --reply sent, keep-alive--> RECEIVING
 *       |   \                           |
 *       |    `--bad request: error page--'--reply sent, close--> LINGERING
 *       `-- EOF or error: closed
 *
 *   LINGERING: our side is shut down (the client has the whole reply and
 *   sees EOF); we read and throw away whatever the client still sends until
 *   it closes too, or CONN_LINGER_MS pass.  Simply closing while the client
 *   is still sending (a body, a pipelined request, the rest of a bad head)
 *   would make the kernel answer those bytes with RST, which can destroy the
 *   reply before the client has read it.
 *
 * conn_run() makes all the progress it can and says what the connection
 * waits for next.  It returns CONN_WANT_READ or CONN_WANT_WRITE only after
 * read() or write() said EAGAIN: the guarantee edge-triggered epoll needs.
 * Requests are answered one at a time, in order: the next pipelined request
 * is parsed only after the previous reply has been sent completely.
 *
 * The price of "until EAGAIN" is fairness: there is no budget per turn, so a
 * client that pipelines without pause and reads its replies as fast as they
 * come keeps conn_run() busy, and every other connection waits for its turn
 * to end (epoll(7), "Starvation").  A bounded turn must remember which
 * connections stopped before EAGAIN and come back to them, because no new
 * event will; we keep the simpler loop, and say so.
 */
#ifndef SERVERLAB_CONN_H
#define SERVERLAB_CONN_H

#include <stddef.h>
#include "http.h"
#include "options.h"
#include "response.h"

/* Room for the largest head we accept plus the start of what follows it, so
 * that an oversized head is seen as one (431) rather than as a full buffer. */
#define CONN_INBUF     (HTTP_MAX_HEAD + 4096)
#define CONN_LINGER_MS 1000

enum conn_state { CONN_RECEIVING, CONN_SENDING, CONN_LINGERING };

enum conn_want {
    CONN_WANT_READ,  /* wait until the socket is readable */
    CONN_WANT_WRITE, /* wait until the socket is writable */
    CONN_WANT_CLOSE, /* done or failed: the caller calls conn_close() */
};

struct conn {
    int fd;
    int persistent; /* keep-alive allowed (stage08 on) */
    enum conn_state state;
    const struct server_options *opt;

    /* Input: bytes in[in_start .. in_end) are received and not yet used. */
    char in[CONN_INBUF];
    size_t in_start, in_end;
    struct http_request req; /* its pointers point into in[] */
    long long body_to_skip;  /* request body bytes still to discard */

    /* Output: rep.head[head_sent .. rep.head_len), then the file. */
    struct http_reply rep;
    size_t head_sent;

    unsigned interest;      /* for the event loop: what it last asked epoll for */
    long long linger_until; /* CLOCK_MONOTONIC ms, while LINGERING */

    struct conn *prev, *next;   /* every open connection */
    struct conn *lprev, *lnext; /* lingering ones, oldest first */
};

/* Accept one pending connection as a nonblocking, close-on-exec socket.
 * Returns its descriptor, or -1 when nothing (more) can be accepted now:
 * none is waiting (EAGAIN), or a real error was reported.  When out of
 * descriptors (EMFILE) the waiting client is accepted with a spare
 * descriptor and closed at once: otherwise it would stay in the queue,
 * keep the listener readable and spin the event loop. */
int conn_accept(int listen_fd);

/* A new connection on a nonblocking socket; NULL (socket closed) when out
 * of memory.  persistent: answer keep-alive requests keeping it open. */
struct conn *conn_open(int fd, const struct server_options *opt, int persistent);

/* Make all the progress possible without waiting; see above. */
enum conn_want conn_run(struct conn *c);

/* Close the socket and the reply's file, and free c. */
void conn_close(struct conn *c);

/* Every open connection, for loops that sweep them all:
 *   for (c = conn_first(); c; c = next) { next = c->next; ... }       */
struct conn *conn_first(void);

/* Milliseconds until the oldest lingering close expires; -1 when none.
 * An event loop passes it to epoll_wait() as the timeout. */
int conn_timeout_ms(void);

/* Close the lingering connections whose time is up. */
void conn_expire(void);

/* At exit: close everything still open. */
void conn_close_all(void);

#endif
