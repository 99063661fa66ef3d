/* kaload — many keep-alive connections at once, many requests on each.
 *
 *   kaload [-n CONNS] [-r REQUESTS] [-t SECONDS] PORT PATH
 *
 * Opens CONNS connections to 127.0.0.1:PORT and keeps every one of them
 * open; only when all are connected does each make REQUESTS requests for
 * PATH, one after another on its own connection (HTTP/1.1 keep-alive).  A
 * reply counts when it is "HTTP/1.1 200", says Connection: keep-alive, and
 * brings exactly Content-Length body bytes.  A connection the server closes
 * or resets early, a bad reply, or the deadline (default 30 s) is a failure.
 *
 * Prints "CONNS connections, N of M replies ok" and exits 0 only when all
 * CONNS x REQUESTS replies were good; 1 otherwise; 2 for bad usage.
 *
 * One thread and epoll: the client must not itself be the reason some
 * connection waits.  Curl cannot hold a thousand connections open at once
 * in bounded time, which is why this tool exists.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define HEAD_MAX 4096

struct client {
    int fd;
    int replies;         /* good replies so far */
    size_t req_sent;     /* bytes of the current request sent */
    size_t head_len;     /* reply head bytes so far */
    long long body_left; /* -1 while the head is incomplete */
    char head[HEAD_MAX];
};

static char request[1024];
static size_t request_len;
static long nrequests = 20;
static struct client *clients; /* (global: early exits need not free it) */

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long number(const char *s, long min, long max)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max) {
        fprintf(stderr, "kaload: bad number '%s'\n", s);
        exit(2);
    }
    return v;
}

/* A complete head is in c->head: check it and learn the body length.
 * Returns 0, or -1 for a reply that is not a keep-alive 200. */
static int check_head(struct client *c)
{
    c->head[c->head_len] = '\0';
    if (strncmp(c->head, "HTTP/1.1 200 ", 13) != 0)
        return -1;
    const char *cl = strcasestr(c->head, "\r\nContent-Length:");
    const char *ka = strcasestr(c->head, "\r\nConnection: keep-alive\r\n");
    if (cl == NULL || ka == NULL)
        return -1;
    c->body_left = strtoll(cl + 17, NULL, 10);
    return c->body_left >= 0 ? 0 : -1;
}

/* Send what is left of the current request.  0, or -1 on failure. */
static int send_request(struct client *c)
{
    while (c->req_sent < request_len) {
        ssize_t n = send(c->fd, request + c->req_sent, request_len - c->req_sent, MSG_NOSIGNAL);
        if (n < 0)
            return errno == EAGAIN || errno == EINTR ? 0 : -1;
        c->req_sent += (size_t)n;
    }
    return 0;
}

/* Read what has arrived.  Returns 1 when the connection has had all its
 * replies, 0 to go on, -1 on failure. */
static int receive(struct client *c)
{
    char buf[16384];
    for (;;) {
        ssize_t n = read(c->fd, buf, sizeof buf);
        if (n == 0)
            return -1; /* closed by the server before we were done */
        if (n < 0)
            return errno == EAGAIN || errno == EINTR ? 0 : -1;
        for (ssize_t i = 0; i < n;) {
            if (c->body_left < 0) { /* still in the head */
                if (c->head_len == HEAD_MAX - 1)
                    return -1;
                c->head[c->head_len++] = buf[i++];
                if (c->head_len >= 4 && memcmp(c->head + c->head_len - 4, "\r\n\r\n", 4) == 0 &&
                    check_head(c) < 0)
                    return -1;
            } else {
                long long take = n - i < c->body_left ? n - i : c->body_left;
                c->body_left -= take;
                i += take;
            }
            if (c->body_left == 0) { /* one whole reply */
                if (i < n)
                    return -1; /* bytes we never asked for */
                c->replies++;
                if (c->replies == nrequests)
                    return 1;
                c->head_len = 0;
                c->body_left = -1;
                c->req_sent = 0;
                if (send_request(c) < 0)
                    return -1;
            }
        }
    }
}

int main(int argc, char **argv)
{
    long nconns = 1000, seconds = 30;
    int opt;
    while ((opt = getopt(argc, argv, "n:r:t:")) != -1) {
        switch (opt) {
        case 'n':
            nconns = number(optarg, 1, 100000);
            break;
        case 'r':
            nrequests = number(optarg, 1, 1000000);
            break;
        case 't':
            seconds = number(optarg, 1, 3600);
            break;
        default:
            fprintf(stderr, "usage: kaload [-n CONNS] [-r REQUESTS] [-t SECONDS] PORT PATH\n");
            return 2;
        }
    }
    if (argc - optind != 2) {
        fprintf(stderr, "usage: kaload [-n CONNS] [-r REQUESTS] [-t SECONDS] PORT PATH\n");
        return 2;
    }
    struct sockaddr_in server = { .sin_family = AF_INET,
                                  .sin_port =
                                      htons((unsigned short)number(argv[optind], 1, 65535)) };
    inet_pton(AF_INET, "127.0.0.1", &server.sin_addr);
    int len = snprintf(request, sizeof request, "GET %s HTTP/1.1\r\nHost: kaload\r\n\r\n",
                       argv[optind + 1]);
    if (len < 0 || (size_t)len >= sizeof request) {
        fprintf(stderr, "kaload: path too long\n");
        return 2;
    }
    request_len = (size_t)len;

    long long deadline = now_ms() + seconds * 1000;
    clients = calloc((size_t)nconns, sizeof *clients);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (clients == NULL || ep < 0) {
        perror("kaload");
        return 2;
    }

    /* Phase 1: every connection open at once.  A blocking connect() to a
     * listening local socket completes in the kernel's handshake, whether
     * or not the server has called accept() yet. */
    for (long i = 0; i < nconns; i++) {
        struct client *c = &clients[i];
        c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&server, sizeof server) < 0) {
            fprintf(stderr, "kaload: connection %ld: %s\n", i + 1, strerror(errno));
            return 1;
        }
        struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
        if (fcntl(c->fd, F_SETFL, O_NONBLOCK) < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
            perror("kaload: fcntl/epoll_ctl");
            return 2;
        }
        c->body_left = -1;
    }

    /* Phase 2: the first request on every connection, then each reply
     * brings the next request on its connection. */
    long active = nconns, failed = 0, good = 0;
    for (long i = 0; i < nconns; i++) {
        if (send_request(&clients[i]) < 0) {
            close(clients[i].fd);
            clients[i].fd = -1;
            active--;
            failed++;
        }
    }
    struct epoll_event events[256];
    while (active > 0) {
        long long left = deadline - now_ms();
        if (left <= 0)
            break;
        int n = epoll_wait(ep, events, 256, (int)left);
        if (n < 0 && errno != EINTR) {
            perror("kaload: epoll_wait");
            return 2;
        }
        for (int i = 0; i < n; i++) {
            struct client *c = events[i].data.ptr;
            int r = receive(c);
            if (r == 0 && c->req_sent < request_len)
                r = send_request(c); /* (a local send of a few bytes never waits, but be exact) */
            if (r != 0) {
                failed += r < 0;
                close(c->fd); /* also leaves the epoll set */
                c->fd = -1;
                active--;
            }
        }
    }
    for (long i = 0; i < nconns; i++) {
        good += clients[i].replies;
        if (clients[i].fd >= 0)
            close(clients[i].fd);
    }
    printf("%ld connections, %ld of %ld replies ok", nconns, good, nconns * nrequests);
    if (failed || active)
        printf(" (%ld connections failed, %ld unfinished at the deadline)", failed, active);
    printf("\n");
    free(clients);
    close(ep);
    return good == nconns * nrequests ? 0 : 1;
}
