/* etdemo — what edge-triggered epoll really reports, on this kernel.
 *
 * A common model of EPOLLET says: an event comes only when a socket goes
 * from "nothing to read" to "something to read".  Linux does not work that
 * way.  epoll(7): ET "delivers events only when changes occur", and an
 * arrival of data is a change, whether or not the data already waiting was
 * read ("multiple events can be generated upon receipt of multiple chunks
 * of data"); what ET removes is the *repeat* of a report while nothing new
 * happens.  This program shows both, on a real TCP connection over
 * loopback, one step at a time:
 *
 *   1. 10 bytes arrive: one EPOLLIN.  Ask again: nothing (no repeat).
 *   2. 10 more arrive, the first 10 still unread: a second EPOLLIN.
 *   3. Read 4 of the 20, ask again: nothing, though 16 bytes wait.
 *      This is why an ET server must read until EAGAIN: when the client
 *      waits for answers to what it has already sent, nothing new will
 *      arrive, so no event will ever report those 16 bytes.
 *   4. The client half-closes (FIN), data still unread: EPOLLIN|EPOLLRDHUP.
 *      Afterwards nothing can arrive, so after this event there is none:
 *      a reader must then read on until read() returns 0.
 *   5. Write until EAGAIN, then the peer reads: EPOLLOUT comes once room
 *      appears again.
 *
 *   bin/etdemo        (make builds it with the test tools)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

static void die(const char *what)
{
    perror(what);
    exit(1);
}

/* A connected pair over 127.0.0.1: *client and *server (nonblocking). */
static void tcp_pair(int *client, int *server)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof a;
    int l = socket(AF_INET, SOCK_STREAM, 0);
    if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof a) < 0 || listen(l, 1) < 0 ||
        getsockname(l, (struct sockaddr *)&a, &len) < 0)
        die("listener");
    *client = socket(AF_INET, SOCK_STREAM, 0);
    if (*client < 0 || connect(*client, (struct sockaddr *)&a, sizeof a) < 0)
        die("connect");
    *server = accept4(l, NULL, NULL, SOCK_NONBLOCK);
    if (*server < 0)
        die("accept");
    close(l);
}

/* Wait up to ms for events on the one registered socket; print them. */
static unsigned report(int ep, int ms, const char *step)
{
    struct epoll_event ev;
    int n = epoll_wait(ep, &ev, 1, ms);
    if (n < 0)
        die("epoll_wait");
    printf("  %-58s -> ", step);
    if (n == 0) {
        printf("no event\n");
        return 0;
    }
    printf("event:%s%s%s\n", (ev.events & EPOLLIN) ? " EPOLLIN" : "",
           (ev.events & EPOLLOUT) ? " EPOLLOUT" : "",
           (ev.events & EPOLLRDHUP) ? " EPOLLRDHUP" : "");
    return ev.events;
}

static void send_bytes(int fd, size_t n)
{
    char buf[64];
    memset(buf, 'x', sizeof buf);
    if (write(fd, buf, n) != (ssize_t)n)
        die("write");
    usleep(50 * 1000); /* let loopback deliver it */
}

static void watch(int ep, int fd, unsigned events)
{
    struct epoll_event ev = { .events = events | EPOLLET, .data.fd = fd };
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
        die("epoll_ctl");
}

static int reading_side(void)
{
    int client, server, ep = epoll_create1(0);
    char buf[64];
    int ok = 1;
    tcp_pair(&client, &server);
    watch(ep, server, EPOLLIN | EPOLLRDHUP);

    printf("reading side (EPOLLIN | EPOLLRDHUP | EPOLLET):\n");
    send_bytes(client, 10);
    ok &= (report(ep, 200, "1. 10 bytes arrive") & EPOLLIN) != 0;
    ok &= report(ep, 200, "   ask again, nothing read") == 0;
    send_bytes(client, 10);
    ok &= (report(ep, 200, "2. 10 more arrive, 10 still unread") & EPOLLIN) != 0;
    if (read(server, buf, 4) != 4)
        die("read");
    ok &= report(ep, 200, "3. read 4 of the 20, ask again") == 0;
    shutdown(client, SHUT_WR);
    usleep(50 * 1000);
    ok &= (report(ep, 200, "4. the client sends FIN, 16 bytes unread") & EPOLLRDHUP) != 0;
    ok &= report(ep, 200, "   ask again") == 0;
    ssize_t n;
    size_t total = 0;
    while ((n = read(server, buf, sizeof buf)) > 0)
        total += (size_t)n;
    printf("  %-58s -> %zu bytes, then read() = %zd\n", "   read until it says 0 (EOF)", total, n);
    ok &= total == 16 && n == 0;
    close(client);
    close(server);
    close(ep);
    return ok;
}

static int writing_side(void)
{
    int client, server, ep = epoll_create1(0);
    char buf[65536];
    int ok = 1;
    tcp_pair(&client, &server);
    watch(ep, server, EPOLLOUT);

    printf("writing side (EPOLLOUT | EPOLLET):\n");
    ok &= (report(ep, 200, "   registered, send buffer empty") & EPOLLOUT) != 0;
    ok &= report(ep, 200, "   ask again") == 0;
    memset(buf, 'y', sizeof buf);
    size_t sent = 0;
    ssize_t w;
    while ((w = write(server, buf, sizeof buf)) > 0)
        sent += (size_t)w;
    if (errno != EAGAIN)
        die("write");
    printf("  %-58s -> about %zu kB queued\n", "5. write until EAGAIN", sent / 1024);
    ok &= report(ep, 200, "   the peer reads nothing") == 0;
    /* Read all of it: the kernel reports room only once a good part of the
     * send buffer is free again (not for every byte acknowledged). */
    size_t got = 0;
    ssize_t n;
    while (got < sent && (n = read(client, buf, sizeof buf)) > 0)
        got += (size_t)n;
    usleep(50 * 1000);
    ok &= (report(ep, 200, "   the peer reads it all: room appears") & EPOLLOUT) != 0;
    ok &= report(ep, 200, "   ask again") == 0;
    close(client);
    close(server);
    close(ep);
    return ok;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    int ok = reading_side();
    ok &= writing_side();
    printf("%s\n",
           ok ? "as described above" : "UNEXPECTED: this kernel differs from the description");
    return ok ? 0 : 1;
}
