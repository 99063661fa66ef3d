/* net.c — see net.h. */
#include "net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

volatile sig_atomic_t stop_requested;

static void fail(const struct server_options *opt, const char *what)
{
    fprintf(stderr, "%s: %s %s:%d: %s\n", opt->stage, what, opt->bind_addr, opt->port,
            strerror(errno));
    exit(2);
}

int open_listener(const struct server_options *opt, int backlog, int flags)
{
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((uint16_t)opt->port) };
    if (inet_pton(AF_INET, opt->bind_addr, &addr.sin_addr) != 1) {
        fprintf(stderr, "%s: bad bind address '%s' (want dotted IPv4)\n", opt->stage,
                opt->bind_addr);
        exit(2);
    }

    int type = SOCK_STREAM | SOCK_CLOEXEC | ((flags & LISTEN_NONBLOCK) ? SOCK_NONBLOCK : 0);
    int fd = socket(AF_INET, type, 0);
    if (fd < 0)
        fail(opt, "socket for");

    /* Without SO_REUSEADDR a restarted server cannot bind while connections
     * of its previous life sit in TIME_WAIT: "Address already in use". */
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0)
        fail(opt, "SO_REUSEADDR on");
    if ((flags & LISTEN_REUSEPORT) &&
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0)
        fail(opt, "SO_REUSEPORT on");

    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0)
        fail(opt, "cannot bind");
    if (listen(fd, backlog) < 0)
        fail(opt, "cannot listen on");
    return fd;
}

int bound_port(int listen_fd)
{
    struct sockaddr_in addr = { 0 };
    socklen_t len = sizeof addr;
    if (getsockname(listen_fd, (struct sockaddr *)&addr, &len) < 0)
        return -1;
    return ntohs(addr.sin_port);
}

void announce_ready(const struct server_options *opt, int listen_fd, const char *scheme,
                    const char *root_word)
{
    fprintf(stderr, "%s listening on %s://%s:%d/ (%s %s)\n", opt->stage, scheme, opt->bind_addr,
            bound_port(listen_fd), root_word, opt->docroot);
    fflush(stderr);
}

static void on_stop_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

void install_signal_handlers(void)
{
    struct sigaction sa = { .sa_handler = SIG_IGN };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGPIPE, &sa, NULL);

    sa.sa_handler = on_stop_signal;
    sa.sa_flags = 0; /* no SA_RESTART: blocking calls return EINTR */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

int set_nonblocking(int fd, int on)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0)
        return -1;
    fl = on ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK);
    return fcntl(fd, F_SETFL, fl);
}

/* ---- out of descriptors -------------------------------------------------- */

static int spare_fd = -1;

void keep_spare_descriptor(void)
{
    if (spare_fd < 0)
        spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

void release_spare_descriptor(void)
{
    if (spare_fd >= 0)
        close(spare_fd);
    spare_fd = -1;
}

/* One line per second at most, however many clients are shed. */
static void note_shed(void)
{
    static time_t last_said;
    static long unsaid;
    time_t now = time(NULL);
    unsaid++;
    if (now == last_said)
        return;
    fprintf(stderr, "%s: out of file descriptors: shed %ld connection%s\n",
            program_invocation_short_name, unsaid, unsaid == 1 ? "" : "s");
    last_said = now;
    unsaid = 0;
}

int shed_waiting_client(int listen_fd)
{
    keep_spare_descriptor();
    if (spare_fd < 0)
        return -1;
    close(spare_fd);
    int fd = accept(listen_fd, NULL, NULL);
    int err = errno;
    if (fd >= 0) {
        close(fd);
        note_shed();
    }
    spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    errno = err;
    return fd >= 0 ? 0 : -1;
}
