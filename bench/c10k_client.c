/* c10k_client — open N keep-alive connections, hold them, and time a sample.
 *
 *   c10k_client -p PORT [-a ADDR] [-n CONNS] [-s SECONDS] [-k SAMPLE] [-u PATH]
 *
 * Phase 1: open CONNS connections (at most MAX_CONNECTING handshakes in
 * flight, so as not to overrun the listen queue) and make one request on
 * each, proving the server really serves it, not just that the kernel
 * completed a handshake.  Then print "holding N connections".
 * Phase 2: for SECONDS seconds keep them all open; every second SAMPLE of
 * them (taken in turn) make a request and the time to the whole reply is
 * recorded.  A connection closed by the server, a reset, a bad or late
 * reply: each is a failure.
 * Finally print connections held, failures by kind, and the sample's latency
 * percentiles.  Exit status 0 only when every connection was held and
 * nothing failed; 1 otherwise; 2 for bad usage or a local limit.
 *
 * Held mode (-H MS), the bench's slow clients: each connection sends the
 * first bytes of a request, then one more byte of a header line that never
 * ends every MS milliseconds, so the request never completes: a slow or
 * far-away client.  It reaches accept() (TCP_DEFER_ACCEPT waits only for
 * the first bytes) and then occupies whatever the server gives a client
 * whose request is in progress: the iterative server itself, a pool's
 * worker, a process, a thread, or a slot in an event loop.  After at most
 * HELD_CONNECT_MS of connecting it prints "holding H of N connections",
 * trickles until SECONDS pass or SIGTERM comes, then prints how many are
 * still held (not closed and not answered by the server).
 *
 * One thread, one epoll instance, nonblocking sockets: the same technique as
 * the server, so the client is not the bottleneck it measures.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "options.h"
#include "response.h"

#define MAX_CONNECTING   256
#define HEAD_MAX         2048
#define REPLY_TIMEOUT_MS 5000
#define CONNECT_PHASE_MS 60000

enum cstate { FREE, CONNECTING, WAITING, HELD, DEAD };
enum failure { F_CONNECT, F_CLOSED, F_BAD, F_TIMEOUT, F_KINDS };
static const char *failure_name[F_KINDS] = { "connect", "closed by server", "bad reply",
                                             "timeout" };

struct client {
    int fd;
    enum cstate state;
    long long sent_ns;   /* when the pending request went out */
    int sampled;         /* the pending request is a timed one */
    size_t head_len;     /* reply head bytes so far */
    long long body_left; /* -1 until the head is complete */
    char head[HEAD_MAX];
};

static struct sockaddr_in server;
static struct client *clients;
static long nclients, sample = 100, seconds = 20;
static const char *path = "/";
static char request[512];
static size_t request_len;
static int ep;
static long failures[F_KINDS], held, connecting;
static long long *latencies;
static long nlat, maxlat;

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void fail(struct client *c, enum failure why)
{
    if (c->state == HELD)
        held--;
    if (c->state == CONNECTING)
        connecting--;
    failures[why]++;
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->state = DEAD;
}

static void start_connect(struct client *c)
{
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        fprintf(stderr, "c10k_client: socket: %s\n", strerror(errno));
        c->state = CONNECTING;
        fail(c, F_CONNECT);
        return;
    }
    c->state = CONNECTING;
    connecting++;
    if (connect(c->fd, (struct sockaddr *)&server, sizeof server) < 0 && errno != EINPROGRESS) {
        fail(c, F_CONNECT);
        return;
    }
    struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = c };
    if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) < 0)
        fail(c, F_CONNECT);
}

static void send_request(struct client *c, int sampled)
{
    c->head_len = 0;
    c->body_left = -1;
    c->sampled = sampled;
    c->sent_ns = now_ns();
    /* A request is tiny: it fits an empty socket buffer in one send. */
    ssize_t n = send(c->fd, request, request_len, MSG_NOSIGNAL);
    if (n != (ssize_t)request_len) {
        fail(c, F_CLOSED);
        return;
    }
    if (c->state == HELD)
        held--;
    c->state = WAITING;
}

/* The value of a Content-Length line: the length, or -1 if it is not a number. */
static long long content_length(const char *value)
{
    char *end;
    errno = 0;
    long long n = strtoll(value, &end, 10);
    if (errno != 0 || end == value || n < 0)
        return -1;
    return n;
}

/* The head is complete in c->head[0..end): check it, learn the body length. */
static int parse_head(struct client *c, size_t end)
{
    if (end < 12 || end > sizeof c->head || memcmp(c->head, "HTTP/1.1 200", 12) != 0)
        return -1;
    const char *p = c->head;
    const char *stop = c->head + end;
    c->body_left = -1;
    while (p < stop) {
        const char *nl = memchr(p, '\n', (size_t)(stop - p));
        if (nl == NULL)
            break;
        if ((size_t)(nl - p) > 15 && strncasecmp(p, "Content-Length:", 15) == 0)
            c->body_left = content_length(p + 15);
        /* memmem, not strstr: the head buffer is not NUL-terminated */
        if ((size_t)(nl - p) > 11 && strncasecmp(p, "Connection:", 11) == 0 &&
            memmem(p, (size_t)(nl - p), "close", 5) != NULL)
            return -1; /* the server would not keep it: not held */
        p = nl + 1;
    }
    return c->body_left >= 0 ? 0 : -1;
}

static void reply_done(struct client *c)
{
    if (c->sampled) {
        long long us = (now_ns() - c->sent_ns) / 1000;
        latencies[nlat++] = us;
        if (us > maxlat)
            maxlat = us;
    }
    c->state = HELD;
    held++;
}

static void on_readable(struct client *c)
{
    static char buf[65536];
    for (;;) {
        ssize_t n = read(c->fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n <= 0) {
            fail(c, F_CLOSED); /* EOF or reset: the server let go of it */
            return;
        }
        if (c->state != WAITING) {
            fail(c, F_BAD); /* bytes nobody asked for */
            return;
        }
        size_t used = 0;
        if (c->body_left < 0) { /* still in the head */
            size_t take = (size_t)n < HEAD_MAX - c->head_len ? (size_t)n : HEAD_MAX - c->head_len;
            memcpy(c->head + c->head_len, buf, take);
            size_t old = c->head_len;
            c->head_len += take;
            char *end = memmem(c->head, c->head_len, "\r\n\r\n", 4);
            if (end == NULL) {
                if (c->head_len == HEAD_MAX)
                    fail(c, F_BAD);
                continue;
            }
            size_t head_end = (size_t)(end + 4 - c->head);
            if (parse_head(c, head_end) < 0) {
                fail(c, F_BAD);
                return;
            }
            used = head_end - old;
        }
        long long rest = (long long)((size_t)n - used);
        if (rest > c->body_left) {
            fail(c, F_BAD);
            return;
        }
        c->body_left -= rest;
        if (c->body_left == 0)
            reply_done(c);
    }
}

static void on_event(struct client *c, uint32_t events)
{
    if (c->state == CONNECTING) {
        int err = 0;
        socklen_t len = sizeof err;
        if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
            return;
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err != 0) {
            fail(c, F_CONNECT);
            return;
        }
        connecting--;
        c->state = HELD; /* briefly: send_request moves it on */
        held++;
        send_request(c, 0);
        return;
    }
    if (c->state == WAITING || c->state == HELD)
        if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
            on_readable(c);
}

static void pump(int timeout_ms)
{
    struct epoll_event events[512];
    int n = epoll_wait(ep, events, 512, timeout_ms);
    for (int i = 0; i < n; i++)
        on_event(events[i].data.ptr, events[i].events);
}

/* Replies overdue by more than REPLY_TIMEOUT_MS are failures. */
static void check_timeouts(void)
{
    long long limit = now_ns() - (long long)REPLY_TIMEOUT_MS * 1000000;
    for (long i = 0; i < nclients; i++)
        if (clients[i].state == WAITING && clients[i].sent_ns < limit)
            fail(&clients[i], F_TIMEOUT);
}

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return x < y ? -1 : x > y;
}

/* --- held mode (-H): slow clients that never finish a request --------------- */

#define HELD_CONNECT_MS 10000 /* connects still pending then go on in the background */

static long trickle_ms;      /* -H: one more byte per connection this often */
static char held_first[512]; /* the request line and an unfinished header */
static size_t held_first_len;
static long held_answered; /* the server replied (408, 400...): let go, not held */
static volatile sig_atomic_t held_stop;

static void on_held_signal(int sig)
{
    (void)sig;
    held_stop = 1;
}

/* Connected: the request line and the start of a header, never its end. */
static void held_start(struct client *c)
{
    connecting--;
    if (send(c->fd, held_first, held_first_len, MSG_NOSIGNAL) != (ssize_t)held_first_len) {
        c->state = HELD; /* fail() counts it down again */
        held++;
        fail(c, F_CLOSED);
        return;
    }
    c->state = HELD;
    held++;
}

static void held_on_event(struct client *c, uint32_t events)
{
    if (c->state == CONNECTING) {
        int err = 0;
        socklen_t len = sizeof err;
        if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
            return;
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err != 0)
            fail(c, F_CONNECT);
        else
            held_start(c);
        return;
    }
    if (c->state != HELD || !(events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
        return;
    char buf[4096];
    ssize_t n = read(c->fd, buf, sizeof buf);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n > 0)
        held_answered++; /* a reply to a request it never finished: 408, 400, 503 */
    fail(c, F_CLOSED);
}

static void held_pump(int timeout_ms)
{
    struct epoll_event events[512];
    int n = epoll_wait(ep, events, 512, timeout_ms);
    for (int i = 0; i < n; i++)
        held_on_event(events[i].data.ptr, events[i].events);
}

/* One more byte on every held connection.  EAGAIN is fine: a server that
 * does not read fills the socket buffer, and the client is still waiting. */
static void trickle_round(void)
{
    for (long i = 0; i < nclients; i++) {
        struct client *c = &clients[i];
        if (c->state == HELD && send(c->fd, "x", 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 &&
            errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            fail(c, F_CLOSED);
    }
}

static int held_main(const char *addr)
{
    held_first_len = (size_t)snprintf(held_first, sizeof held_first,
                                      "GET %s HTTP/1.1\r\nHost: %s\r\nX-Trickle: ", path, addr);
    struct sigaction sa = { .sa_handler = on_held_signal }; /* no SA_RESTART: wake epoll_wait */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    long long t0 = now_ns();
    long long end = t0 + seconds * 1000000000LL;
    long long next_trickle = t0 + trickle_ms * 1000000LL;
    long next = 0;
    int announced = 0;
    while (!held_stop && now_ns() < end) {
        while (next < nclients && connecting < MAX_CONNECTING)
            start_connect(&clients[next++]);
        if (!announced && ((next == nclients && connecting == 0) ||
                           now_ns() - t0 > (long long)HELD_CONNECT_MS * 1000000)) {
            printf("holding %ld of %ld connections (%.1f s)\n", held, nclients,
                   (now_ns() - t0) / 1e9);
            fflush(stdout);
            announced = 1;
        }
        if (now_ns() >= next_trickle) {
            trickle_round();
            next_trickle += trickle_ms * 1000000LL;
        }
        long long wait = (next_trickle < end ? next_trickle : end) - now_ns();
        held_pump(announced ? (wait > 0 ? (int)(wait / 1000000) + 1 : 0) : 20);
    }
    long pending = connecting;
    printf("connections held: %ld of %ld\n", held, nclients);
    printf("closed by server: %ld (answered %ld), connect failed: %ld, still connecting: %ld\n",
           failures[F_CLOSED], held_answered, failures[F_CONNECT], pending);
    for (long i = 0; i < nclients; i++)
        if (clients[i].fd >= 0)
            close(clients[i].fd);
    return held == nclients ? 0 : 1;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: c10k_client -p PORT [-a ADDR] [-n CONNS] [-s SECONDS] [-k SAMPLE] "
            "[-u PATH]\n"
            "       c10k_client -p PORT -H MS [-a ADDR] [-n CONNS] [-s SECONDS] [-u PATH]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *addr = "127.0.0.1";
    long port = 0;
    nclients = 1000;
    http_server_name = "c10k_client"; /* names us in parse_number's complaints */
    int opt;
    int bad = 0;
    while ((opt = getopt(argc, argv, "a:p:n:s:k:u:H:")) != -1) {
        // clang-format off
        switch (opt) {
        case 'a': addr = optarg; break;
        case 'p': bad |= parse_number(optarg, 1, 65535, opt, &port); break;
        case 'n': bad |= parse_number(optarg, 1, 10000000, opt, &nclients); break;
        case 's': bad |= parse_number(optarg, 0, 86400, opt, &seconds); break;
        case 'k': bad |= parse_number(optarg, 0, 10000000, opt, &sample); break;
        case 'u': path = optarg; break;
        case 'H': bad |= parse_number(optarg, 1, 60000, opt, &trickle_ms); break;
        default: usage();
        }
        // clang-format on
    }
    if (bad || port == 0 || strlen(path) > 256 || optind != argc)
        usage();
    server.sin_family = AF_INET;
    server.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, addr, &server.sin_addr) != 1)
        usage();
    request_len = (size_t)snprintf(request, sizeof request, "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n",
                                   path, addr);

    /* One descriptor per connection: raise our own limit first. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        if ((long)rl.rlim_cur < nclients + 16) {
            fprintf(stderr,
                    "c10k_client: fd limit %ld is too low for %ld connections "
                    "(raise it: ulimit -n)\n",
                    (long)rl.rlim_cur, nclients);
            return 2;
        }
    }
    clients = calloc((size_t)nclients, sizeof *clients);
    latencies = calloc((size_t)(sample * (seconds + 1) + 1), sizeof *latencies);
    ep = epoll_create1(EPOLL_CLOEXEC);
    if (clients == NULL || latencies == NULL || ep < 0) {
        perror("c10k_client");
        return 2;
    }
    if (trickle_ms > 0)
        return held_main(addr);

    /* Phase 1: open them all, a bounded number of handshakes at a time. */
    long long t0 = now_ns();
    long next = 0;
    for (;;) {
        while (next < nclients && connecting < MAX_CONNECTING)
            start_connect(&clients[next++]);
        long busy = connecting;
        for (long i = 0; i < nclients; i++)
            busy += clients[i].state == WAITING;
        if (next == nclients && busy == 0)
            break;
        if (now_ns() - t0 > (long long)CONNECT_PHASE_MS * 1000000) {
            for (long i = 0; i < nclients; i++)
                if (clients[i].state == CONNECTING || clients[i].state == WAITING)
                    fail(&clients[i], F_TIMEOUT);
            break;
        }
        pump(100);
        check_timeouts();
    }
    printf("holding %ld connections (opened in %.1f s)\n", held, (now_ns() - t0) / 1e9);
    fflush(stdout);

    /* Phase 2: hold them; every second a sample of them asks again. */
    long turn = 0;
    long long end = now_ns() + seconds * 1000000000LL;
    long long next_round = now_ns();
    while (now_ns() < end) {
        if (now_ns() >= next_round) {
            for (long k = 0, tried = 0; k < sample && tried < nclients; tried++) {
                struct client *c = &clients[turn++ % nclients];
                if (c->state == HELD) {
                    send_request(c, 1);
                    k++;
                }
            }
            next_round += 1000000000LL;
        }
        long long wait = (next_round < end ? next_round : end) - now_ns();
        pump(wait > 0 ? (int)(wait / 1000000) + 1 : 0);
        check_timeouts();
    }
    /* Let the last round's replies arrive. */
    long long grace = now_ns() + (long long)REPLY_TIMEOUT_MS * 1000000;
    for (;;) {
        long waiting = 0;
        for (long i = 0; i < nclients; i++)
            waiting += clients[i].state == WAITING;
        if (waiting == 0 || now_ns() > grace)
            break;
        pump(50);
        check_timeouts();
    }

    long total_failures = 0;
    for (int f = 0; f < F_KINDS; f++)
        total_failures += failures[f];
    qsort(latencies, (size_t)nlat, sizeof *latencies, cmp_ll);
    printf("connections held: %ld of %ld\n", held, nclients);
    printf("failures: %ld", total_failures);
    for (int f = 0; f < F_KINDS; f++)
        if (failures[f])
            printf(" (%s %ld)", failure_name[f], failures[f]);
    printf("\n");
    if (nlat > 0)
        printf("sampled requests: %ld, p50 %.2f ms, p99 %.2f ms, max %.2f ms\n", nlat,
               latencies[nlat / 2] / 1000.0, latencies[(nlat * 99) / 100] / 1000.0,
               maxlat / 1000.0);
    else
        printf("sampled requests: 0\n");
    for (long i = 0; i < nclients; i++)
        if (clients[i].fd >= 0)
            close(clients[i].fd);
    free(clients);
    free(latencies);
    close(ep);
    return total_failures == 0 && held == nclients ? 0 : 1;
}
