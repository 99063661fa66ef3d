/* io.c — complete blocking I/O; see io.h. */
#include "io.h"
#include "net.h"

#include <errno.h>
#include <poll.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* A signal that arrives after some bytes went out does not make the call
 * fail with EINTR: it returns the short count, like a full buffer would.
 * So the flag is tested after every short transfer too; otherwise the next
 * call blocks again, and a client that never reads keeps us for ever.
 * (A signal landing between that test and the next call would be missed
 * until the call returns; the window is a few instructions wide.) */
static int stopped(void)
{
    errno = EINTR;
    return -1;
}

int write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            /* A signal arrived before anything was written: go on, unless
             * it asked us to stop (a stuck reader must not keep us alive). */
            if (errno == EINTR && !stop_requested)
                continue;
            return -1;
        }
        p += n; /* a short write: the socket buffer took only part of it */
        len -= (size_t)n;
        if (len > 0 && stop_requested)
            return stopped(); /* see stopped() */
    }
    return 0;
}

int send_file_all(int sock, int file, off_t offset, off_t len)
{
    while (len > 0) {
        /* sendfile copies from the page cache to the socket inside the
         * kernel; like write it may send less than asked. */
        size_t chunk = len > (1 << 30) ? (size_t)1 << 30 : (size_t)len;
        ssize_t n = sendfile(sock, file, &offset, chunk);
        if (n < 0) {
            if (errno == EINTR && !stop_requested)
                continue;
            return -1;
        }
        if (n == 0) { /* the file shrank under us: nothing more to send */
            errno = EIO;
            return -1;
        }
        len -= n; /* sendfile already advanced offset */
        if (len > 0 && stop_requested)
            return stopped();
    }
    return 0;
}

int send_reply(int sock, struct http_reply *rep)
{
    if (write_all(sock, rep->head, rep->head_len) < 0)
        return -1;
    if (rep->file_fd >= 0 &&
        send_file_all(sock, rep->file_fd, rep->file_offset, rep->file_remaining) < 0)
        return -1;
    return 0;
}

static long ms_since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

void lingering_close(int sock, int max_ms)
{
    char sink[4096];
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    shutdown(sock, SHUT_WR); /* the client sees our FIN after the response */
    for (long left = max_ms; left > 0; left = max_ms - ms_since(&t0)) {
        struct pollfd p = { .fd = sock, .events = POLLIN };
        int r = poll(&p, 1, (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        ssize_t n = read(sock, sink, sizeof sink);
        if (n <= 0 && !(n < 0 && errno == EINTR))
            break; /* 0: the client closed too; < 0: reset — either way, done */
    }
    close(sock);
}
