/* c10k_client — open N keep-alive connections, hold them, and time a sample.
 *
 *   c10k_client -p PORT [-a ADDR] [-n CONNS] [-s SECONDS] [-k SAMPLE] [-u PATH]
 *               [-b SOURCE] [-g] [-L FILE]
 *
 * Phase 1: open CONNS connections (at most MAX_CONNECTING handshakes in
 * flight, so as not to overrun the listen queue) and make one request on
 * each, proving the server really serves it, not just that the kernel
 * completed a handshake.  Then print "holding N connections".
 * Phase 2: for SECONDS seconds keep them all open; SAMPLE of them per second
 * (taken in turn, evenly spaced) make a request and the time to the whole
 * reply is recorded.  A connection closed by the server, a reset, a bad or late
 * reply: each is a failure.
 * Finally print connections held, failures by kind, and the sample's latency
 * percentiles.  Exit status 0 only when every connection was held and
 * nothing failed; 1 otherwise; 2 for bad usage or a local limit.
 *
 * One thread, one epoll instance, nonblocking sockets: the same technique as
 * the server, so the client is not the bottleneck it measures.
 *
 * Beyond one process and one address (make c10k CONNS=100000 runs several
 * of us side by side):
 *   -b SOURCE  connect from this local address (127.0.0.2, ...): each
 *              (source, server address, server port) has its own ephemeral
 *              port range, so the port limit is per 4-tuple, not per machine;
 *   -g         after phase 1, keep holding and wait for SIGUSR1 before
 *              phase 2, so that several clients sample at the same time;
 *   -L FILE    write every sampled latency (microseconds, one a line), so
 *              that the percentiles of several clients can be merged.
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
#define GO_WAIT_MS       600000 /* -g: give up waiting for SIGUSR1 after this */

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
static int failure_errno[F_KINDS]; /* the first errno seen of each kind */
static struct sockaddr_in source;  /* -b: bound before connect() */
static int bind_source;
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

/* A failure with a cause: the first errno of each kind names the limit hit
 * (EADDRNOTAVAIL: no ephemeral port left for that 4-tuple; EMFILE: our
 * descriptor limit; ENFILE: the system's; ENOBUFS/ENOMEM: kernel memory). */
static void fail_errno(struct client *c, enum failure why, int err)
{
    if (failure_errno[why] == 0)
        failure_errno[why] = err;
    fail(c, why);
}

/* -b: a source address without a port.  IP_BIND_ADDRESS_NO_PORT defers the
 * port choice to connect(), which then needs the port free only for this
 * 4-tuple; a plain bind() would reserve it for the address alone (and keep
 * it from every other connect() on the machine). */
static int bind_to_source(int fd)
{
    int one = 1;
    if (setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one) < 0)
        return -1;
    return bind(fd, (struct sockaddr *)&source, sizeof source);
}

static void start_connect(struct client *c)
{
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        int err = errno;
        c->state = CONNECTING;
        connecting++;
        fail_errno(c, F_CONNECT, err);
        return;
    }
    c->state = CONNECTING;
    connecting++;
    if (bind_source && bind_to_source(c->fd) < 0) {
        fail_errno(c, F_CONNECT, errno);
        return;
    }
    if (connect(c->fd, (struct sockaddr *)&server, sizeof server) < 0 && errno != EINPROGRESS) {
        fail_errno(c, F_CONNECT, errno);
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
            fail_errno(c, F_CONNECT, err != 0 ? err : errno);
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

/* -g: hold (and notice closes) until SIGUSR1, blocked since the start so
 * that a signal sent early stays pending rather than killing us. */
static void wait_for_go(void)
{
    sigset_t go;
    sigemptyset(&go);
    sigaddset(&go, SIGUSR1);
    struct timespec no_wait = { 0, 0 };
    long long give_up = now_ns() + (long long)GO_WAIT_MS * 1000000;
    while (sigtimedwait(&go, NULL, &no_wait) < 0 && now_ns() < give_up)
        pump(50);
}

/* -L FILE: the sampled latencies, for a harness that merges several clients. */
static void write_latencies(const char *file)
{
    FILE *f = fopen(file, "w");
    if (f == NULL) {
        fprintf(stderr, "c10k_client: %s: %s\n", file, strerror(errno));
        return;
    }
    for (long i = 0; i < nlat; i++)
        fprintf(f, "%lld\n", latencies[i]);
    if (fclose(f) != 0)
        fprintf(stderr, "c10k_client: %s: %s\n", file, strerror(errno));
}

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return x < y ? -1 : x > y;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: c10k_client -p PORT [-a ADDR] [-n CONNS] [-s SECONDS] [-k SAMPLE] "
            "[-u PATH] [-b SOURCE] [-g] [-L FILE]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *addr = "127.0.0.1";
    const char *source_addr = NULL, *latency_file = NULL;
    int go_signal = 0;
    long port = 0;
    nclients = 1000;
    http_server_name = "c10k_client"; /* names us in parse_number's complaints */
    int opt;
    int bad = 0;
    while ((opt = getopt(argc, argv, "a:p:n:s:k:u:b:gL:")) != -1) {
        // clang-format off
        switch (opt) {
        case 'a': addr = optarg; break;
        case 'p': bad |= parse_number(optarg, 1, 65535, opt, &port); break;
        case 'n': bad |= parse_number(optarg, 1, 10000000, opt, &nclients); break;
        case 's': bad |= parse_number(optarg, 0, 86400, opt, &seconds); break;
        case 'k': bad |= parse_number(optarg, 0, 10000000, opt, &sample); break;
        case 'u': path = optarg; break;
        case 'b': source_addr = optarg; break;
        case 'g': go_signal = 1; break;
        case 'L': latency_file = optarg; break;
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
    if (source_addr != NULL) {
        source.sin_family = AF_INET;
        bind_source = 1;
        if (inet_pton(AF_INET, source_addr, &source.sin_addr) != 1)
            usage();
    }
    if (go_signal) {
        sigset_t go;
        sigemptyset(&go);
        sigaddset(&go, SIGUSR1);
        sigprocmask(SIG_BLOCK, &go, NULL);
    }
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
    printf("holding %ld connections (opened in %.2f s)\n", held, (now_ns() - t0) / 1e9);
    fflush(stdout);

    if (go_signal)
        wait_for_go();

    /* Phase 2: hold them; SAMPLE requests a second, one every 1/SAMPLE s
     * (a steady rate, not a burst each second), each from the next held
     * connection in turn. */
    long turn = 0;
    long long end = now_ns() + seconds * 1000000000LL;
    long long every = sample > 0 ? 1000000000LL / sample : 0;
    long long next_round = sample > 0 ? now_ns() : end;
    long long next_check = now_ns();
    while (now_ns() < end) {
        while (next_round < end && now_ns() >= next_round) {
            for (long tried = 0; tried < nclients; tried++) {
                struct client *c = &clients[turn++ % nclients];
                if (c->state == HELD) {
                    send_request(c, 1);
                    break;
                }
            }
            next_round += every;
        }
        long long wait = (next_round < end ? next_round : end) - now_ns();
        pump(wait > 0 ? (int)(wait / 1000000) + 1 : 0);
        if (now_ns() >= next_check) { /* a sweep of all: ten times a second is enough */
            check_timeouts();
            next_check = now_ns() + 100000000LL;
        }
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
        if (failures[f] && failure_errno[f])
            printf(" (%s %ld, first: %s)", failure_name[f], failures[f],
                   strerror(failure_errno[f]));
        else if (failures[f])
            printf(" (%s %ld)", failure_name[f], failures[f]);
    printf("\n");
    if (nlat > 0)
        printf("sampled requests: %ld, p50 %.2f ms, p99 %.2f ms, max %.2f ms\n", nlat,
               latencies[nlat / 2] / 1000.0, latencies[(nlat * 99) / 100] / 1000.0,
               maxlat / 1000.0);
    else
        printf("sampled requests: 0\n");
    if (latency_file != NULL)
        write_latencies(latency_file);
    for (long i = 0; i < nclients; i++)
        if (clients[i].fd >= 0)
            close(clients[i].fd);
    free(clients);
    free(latencies);
    close(ep);
    return total_failures == 0 && held == nclients ? 0 : 1;
}
