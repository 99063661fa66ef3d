/* netpoke — a raw TCP client for byte-level server tests.
 *
 * curl always speaks well-formed HTTP at full speed.  The tests also need
 * clients that misbehave the way real networks and real attackers do: a
 * request dribbled one byte at a time, a client that stalls half-way, one
 * that reads a 50 MB reply through a tiny window, one that resets the
 * connection mid-download, a crowd that connects and just sits there.
 * netpoke is that client.  Everything it does is bounded by a deadline
 * (-t), so a hung server makes a test fail, never hang.
 *
 * The socket stays nonblocking and every wait is a poll() with the time
 * left until the deadline: one rule for connect, send, read and sleep.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Exit codes the tests rely on. */
enum {
    EXIT_DONE = 0,    /* reply read until the server closed (or -n / -R done) */
    EXIT_USAGE = 1,   /* bad arguments or a local error */
    EXIT_CONNECT = 2, /* could not connect */
    EXIT_TIMEOUT = 3, /* the -t deadline passed first */
    EXIT_RESET = 4,   /* the server reset the connection */
    EXIT_SHORT = 5,   /* -R K: the server closed before K bytes came */
    EXIT_IDLE = 6,    /* -i MS: silence, and the connection is still open */
};

static const char usage_text[] =
    "usage: netpoke [options] PORT [DATA]\n"
    "Connect to 127.0.0.1:PORT, send DATA, read the reply until the server closes.\n"
    "DATA may contain the escapes \\r \\n \\t \\0 \\\\ and \\xHH.\n"
    "  -f FILE   send the bytes of FILE after DATA\n"
    "  -c N      send in chunks of N bytes (TCP_NODELAY: each its own segment)\n"
    "  -d MS     wait MS milliseconds between chunks\n"
    "  -w        half-close (shutdown SHUT_WR) after sending\n"
    "  -H SEC    hold: after sending, wait SEC seconds before reading\n"
    "  -n        no reading: after sending (and -H), just close\n"
    "  -b BYTES  receive buffer size (SO_RCVBUF, set before connecting)\n"
    "  -r BPS    read at most BPS bytes per second (a slow reader)\n"
    "  -R K      after K reply bytes, reset the connection (SO_LINGER 0 + close)\n"
    "  -i MS     stop reading after MS milliseconds without data\n"
    "  -o FILE   write the reply to FILE (default: standard output)\n"
    "  -t SEC    deadline for everything (default 10; fractions allowed)\n"
    "  -m N      open N connections, send DATA on each, print \"connected N\",\n"
    "            hold them for -H SEC (default: until -t), then close them all\n"
    "  -v        print what happened on standard error\n"
    "exit status: 0 done (server closed; or -n, -R, -m finished), 1 usage or local\n"
    "error, 2 connect failed, 3 deadline passed, 4 reset by the server,\n"
    "5 server closed before -R K bytes, 6 -i silence with the connection open\n";

struct plan {
    int port;
    char *data; /* decoded DATA, then FILE appended */
    size_t data_len;
    size_t chunk; /* 0: all at once */
    int delay_ms;
    int half_close;
    double hold_s; /* < 0: not given */
    int no_read;
    int rcvbuf;
    long rate;             /* bytes per second, 0: unlimited */
    long long reset_after; /* -1: never */
    int idle_ms;           /* 0: wait for the close */
    const char *out_path;
    double timeout_s;
    int many; /* -m N, 0: one connection */
    int verbose;
};

static double deadline; /* CLOCK_MONOTONIC seconds */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Milliseconds until `until` (never past the deadline), at least 0. */
static int ms_until(double until)
{
    if (until > deadline)
        until = deadline;
    double left = until - now();
    return left <= 0 ? 0 : (int)(left * 1000.0) + 1;
}

/* Wait for `events` on fd until `until`. 1 ready, 0 time is up, -1 error. */
static int wait_for(int fd, short events, double until)
{
    for (;;) {
        struct pollfd p = { .fd = fd, .events = events };
        int n = poll(&p, 1, ms_until(until));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            perror("netpoke: poll");
            return -1;
        }
        if (n == 0 && now() < until && now() < deadline)
            continue; /* poll woke a hair early */
        return n;
    }
}

/* Sleep until `until` (or the deadline). Returns 0, or -1 if the deadline came first. */
static int sleep_until(double until)
{
    while (now() < until) {
        if (now() >= deadline)
            return -1;
        poll(NULL, 0, ms_until(until));
    }
    return 0;
}

/* DATA with its escapes ("\r\n", "\x00", ...) decoded, in a new buffer. */
static char *decode_escapes(const char *s, size_t *len)
{
    char *out = malloc(strlen(s) + 1);
    size_t n = 0;
    if (out == NULL)
        return NULL;
    while (*s) {
        if (*s != '\\' || s[1] == '\0') {
            out[n++] = *s++;
            continue;
        }
        s++;
        switch (*s) {
        // clang-format off
        case 'r': out[n++] = '\r'; s++; break;
        case 'n': out[n++] = '\n'; s++; break;
        case 't': out[n++] = '\t'; s++; break;
        case '0': out[n++] = '\0'; s++; break;
        case '\\': out[n++] = '\\'; s++; break;
        // clang-format on
        case 'x': {
            char hex[3] = { 0 };
            if (s[1] && s[2] && sscanf(s + 1, "%2[0-9a-fA-F]", hex) == 1 && strlen(hex) == 2) {
                out[n++] = (char)strtol(hex, NULL, 16);
                s += 3;
            } else {
                out[n++] = '\\'; /* not an escape: keep it as written */
            }
            break;
        }
        default:
            out[n++] = '\\';
            break;
        }
    }
    *len = n;
    return out;
}

static int append_file(struct plan *p, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        perror(path);
        return -1;
    }
    char buf[65536];
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, f)) > 0) {
        char *grown = realloc(p->data, p->data_len + got);
        if (grown == NULL) {
            fclose(f);
            return -1;
        }
        p->data = grown;
        memcpy(p->data + p->data_len, buf, got);
        p->data_len += got;
    }
    int bad = ferror(f);
    fclose(f);
    return bad ? -1 : 0;
}

/* A nonblocking socket connected to 127.0.0.1:port, or -1. */
static int connect_local(const struct plan *p)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        perror("netpoke: socket");
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    /* Before connect(): the window advertised in the handshake depends on it. */
    if (p->rcvbuf > 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &p->rcvbuf, sizeof p->rcvbuf) < 0)
        perror("netpoke: SO_RCVBUF");

    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)p->port) };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0 && errno != EINPROGRESS) {
        perror("netpoke: connect");
        close(fd);
        return -1;
    }
    int err = 0;
    socklen_t len = sizeof err;
    if (wait_for(fd, POLLOUT, deadline) <= 0 ||
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err != 0) {
        fprintf(stderr, "netpoke: connect to port %d: %s\n", p->port,
                err ? strerror(err) : "timed out");
        close(fd);
        return -1;
    }
    return fd;
}

/* Send the data in chunks.  Returns 0, EXIT_TIMEOUT, or EXIT_RESET when the
 * server stopped accepting (it may have answered already: read that next). */
static int send_data(int fd, const struct plan *p, size_t *sent)
{
    size_t chunk = p->chunk ? p->chunk : p->data_len;
    *sent = 0;
    while (*sent < p->data_len) {
        if (*sent > 0 && p->delay_ms > 0 && sleep_until(now() + p->delay_ms / 1000.0) < 0)
            return EXIT_TIMEOUT;
        size_t end = *sent + chunk < p->data_len ? *sent + chunk : p->data_len;
        while (*sent < end) {
            ssize_t n = send(fd, p->data + *sent, end - *sent, MSG_NOSIGNAL);
            if (n >= 0) {
                *sent += (size_t)n;
                continue;
            }
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN)
                return EXIT_RESET; /* EPIPE, ECONNRESET: the server hung up */
            int r = wait_for(fd, POLLOUT, deadline);
            if (r <= 0)
                return r == 0 ? EXIT_TIMEOUT : EXIT_USAGE;
        }
    }
    return 0;
}

static int write_out(int out, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(out, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            perror("netpoke: write");
            return -1;
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Drop the connection with a reset instead of a normal close. */
static void reset_connection(int fd)
{
    struct linger lg = { .l_onoff = 1, .l_linger = 0 };
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(fd);
}

/* Read the reply into `out`.  Returns an exit code; *fd_closed tells whether
 * the socket was already closed (by a -R reset). */
static int read_reply(int fd, const struct plan *p, int out, long long *got, int *fd_closed)
{
    char buf[65536];
    double start = now();
    *got = 0;
    for (;;) {
        size_t want = sizeof buf;
        if (p->rate > 0) {
            /* Pace: byte number `got` is due at start + got / rate. */
            if (sleep_until(start + (double)*got / (double)p->rate) < 0)
                return EXIT_TIMEOUT;
            if ((size_t)(p->rate / 20 + 1) < want)
                want = (size_t)(p->rate / 20 + 1);
        }
        if (p->reset_after >= 0 && (long long)want > p->reset_after - *got)
            want = (size_t)(p->reset_after - *got);
        if (p->reset_after >= 0 && *got >= p->reset_after) {
            reset_connection(fd);
            *fd_closed = 1;
            return EXIT_DONE;
        }
        double until = p->idle_ms > 0 ? now() + p->idle_ms / 1000.0 : deadline;
        int r = wait_for(fd, POLLIN, until);
        if (r < 0)
            return EXIT_USAGE;
        if (r == 0)
            return now() >= deadline ? EXIT_TIMEOUT : EXIT_IDLE;
        ssize_t n = recv(fd, buf, want, 0);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n < 0)
            return errno == ECONNRESET ? EXIT_RESET : (perror("netpoke: recv"), EXIT_USAGE);
        if (n == 0)
            return p->reset_after >= 0 ? EXIT_SHORT : EXIT_DONE;
        *got += n;
        if (write_out(out, buf, (size_t)n) < 0)
            return EXIT_USAGE;
    }
}

static int one_connection(const struct plan *p)
{
    int out = STDOUT_FILENO;
    if (p->out_path &&
        (out = open(p->out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0) {
        perror(p->out_path);
        return EXIT_USAGE;
    }
    double start = now();
    int fd = connect_local(p);
    if (fd < 0)
        return EXIT_CONNECT;

    size_t sent = 0;
    long long got = 0;
    int closed = 0;
    int rc = send_data(fd, p, &sent);
    if (rc == EXIT_TIMEOUT || rc == EXIT_USAGE)
        goto done;
    if (rc == 0 && p->half_close && shutdown(fd, SHUT_WR) < 0)
        perror("netpoke: shutdown");
    if (p->hold_s > 0 && sleep_until(now() + p->hold_s) < 0) {
        rc = EXIT_TIMEOUT;
        goto done;
    }
    if (p->no_read) {
        rc = EXIT_DONE;
        goto done;
    }
    /* A send refused by a server that already answered is not the end:
     * its reply (an error page, say) may be waiting to be read. */
    rc = read_reply(fd, p, out, &got, &closed);
done:
    if (!closed)
        close(fd);
    if (p->verbose)
        fprintf(stderr, "netpoke: sent %zu of %zu bytes, received %lld, %.3f s, exit %d\n", sent,
                p->data_len, got, now() - start, rc);
    if (out != STDOUT_FILENO)
        close(out);
    return rc;
}

/* -m N: a crowd of idle (or half-requesting) clients. */
static int many_connections(const struct plan *p)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max; /* a crowd needs descriptors */
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    int *fds = calloc((size_t)p->many, sizeof *fds);
    if (fds == NULL)
        return EXIT_USAGE;
    int opened = 0, rc = EXIT_DONE;
    for (; opened < p->many; opened++) {
        if ((fds[opened] = connect_local(p)) < 0) {
            rc = now() >= deadline ? EXIT_TIMEOUT : EXIT_CONNECT;
            break;
        }
        size_t sent;
        int r = send_data(fds[opened], p, &sent);
        if (r == EXIT_TIMEOUT) {
            rc = r;
            opened++;
            break;
        }
    }
    if (rc == EXIT_DONE) {
        printf("connected %d\n", opened);
        fflush(stdout);
        double until = p->hold_s >= 0 ? now() + p->hold_s : deadline;
        while (now() < until && now() < deadline)
            poll(NULL, 0, ms_until(until));
    }
    if (p->verbose)
        fprintf(stderr, "netpoke: %d of %d connections, exit %d\n", opened, p->many, rc);
    for (int i = 0; i < opened; i++)
        close(fds[i]);
    free(fds);
    return rc;
}

static long number(const char *arg, int letter, long min, long max)
{
    char *end;
    errno = 0;
    long v = strtol(arg, &end, 10);
    if (errno || end == arg || *end || v < min || v > max) {
        fprintf(stderr, "netpoke: bad value for -%c: %s\n", letter, arg);
        exit(EXIT_USAGE);
    }
    return v;
}

static double seconds(const char *arg, int letter)
{
    char *end;
    double v = strtod(arg, &end);
    if (end == arg || *end || !(v >= 0 && v < 1e6)) {
        fprintf(stderr, "netpoke: bad value for -%c: %s\n", letter, arg);
        exit(EXIT_USAGE);
    }
    return v;
}

int main(int argc, char **argv)
{
    struct plan p = { .hold_s = -1, .reset_after = -1, .timeout_s = 10 };
    const char *file = NULL;
    int c;
    while ((c = getopt(argc, argv, "f:c:d:wH:nb:r:R:i:o:t:m:vh")) != -1) {
        // clang-format off
        switch (c) {
        case 'f': file = optarg; break;
        case 'c': p.chunk = (size_t)number(optarg, c, 1, 1L << 30); break;
        case 'd': p.delay_ms = (int)number(optarg, c, 0, 3600000); break;
        case 'w': p.half_close = 1; break;
        case 'H': p.hold_s = seconds(optarg, c); break;
        case 'n': p.no_read = 1; break;
        case 'b': p.rcvbuf = (int)number(optarg, c, 1, 1L << 30); break;
        case 'r': p.rate = number(optarg, c, 1, 1L << 40); break;
        case 'R': p.reset_after = number(optarg, c, 0, 1L << 50); break;
        case 'i': p.idle_ms = (int)number(optarg, c, 1, 3600000); break;
        case 'o': p.out_path = optarg; break;
        case 't': p.timeout_s = seconds(optarg, c); break;
        case 'm': p.many = (int)number(optarg, c, 1, 1000000); break;
        case 'v': p.verbose = 1; break;
        case 'h': fputs(usage_text, stdout); return EXIT_DONE;
        default: fputs(usage_text, stderr); return EXIT_USAGE;
        }
        // clang-format on
    }
    if (argc - optind < 1 || argc - optind > 2) {
        fputs(usage_text, stderr);
        return EXIT_USAGE;
    }
    p.port = (int)number(argv[optind], 'p', 1, 65535);
    p.data = decode_escapes(argc - optind == 2 ? argv[optind + 1] : "", &p.data_len);
    if (p.data == NULL)
        return EXIT_USAGE;
    if (file && append_file(&p, file) < 0) {
        free(p.data);
        return EXIT_USAGE;
    }

    signal(SIGPIPE, SIG_IGN); /* belt and braces: send() already has MSG_NOSIGNAL */
    deadline = now() + p.timeout_s;
    int rc = p.many > 0 ? many_connections(&p) : one_connection(&p);
    free(p.data);
    return rc;
}
