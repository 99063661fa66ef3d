/* shared_line.c — see line.h.  Linked into the server and the client. */
#include "line.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

void line_reader_init(struct line_reader *r, int fd)
{
    r->fd = fd;
    r->start = r->end = 0;
}

ssize_t read_line(struct line_reader *r, char *out, size_t cap)
{
    for (;;) {
        char *begin = r->buf + r->start;
        size_t pending = r->end - r->start;
        char *lf = memchr(begin, '\n', pending);
        if (lf != NULL) {
            size_t used = (size_t)(lf - begin) + 1;
            size_t len = used - 1;
            if (len > 0 && begin[len - 1] == '\r')
                len--;
            if (len >= cap)
                return LINE_TOO_LONG;
            memcpy(out, begin, len);
            out[len] = '\0';
            r->start += used;
            return (ssize_t)len;
        }
        /* No end of line yet.  cap-1 characters and a CR may legally wait
         * for their LF; anything more is a line the caller refuses. */
        if (pending > cap || cap + 1 > sizeof r->buf)
            return LINE_TOO_LONG;
        memmove(r->buf, begin, pending);
        r->start = 0;
        r->end = pending;

        ssize_t n = read(r->fd, r->buf + r->end, sizeof r->buf - r->end);
        if (n > 0) {
            r->end += (size_t)n;
            continue;
        }
        if (n == 0)
            return LINE_EOF;
        if (errno == EINTR)
            continue; /* a signal we do not stop for (SIGCHLD, ...) */
        return LINE_ERROR;
    }
}
