/* line.h — reading the FTP control connection one line at a time.
 *
 * Both ends need it: the server reads commands, the client reads replies.
 * TCP delivers a byte stream, not lines: one read() may return half a line
 * or three lines and a bit, so the bytes wait in a buffer until a whole line
 * is there.  A line ends with CRLF; a bare LF is accepted too (some clients
 * send it), so a name can never contain LF.
 */
#ifndef STAGE11_LINE_H
#define STAGE11_LINE_H

#include <stddef.h>
#include <sys/types.h>

enum {
    LINE_EOF = -1,      /* the peer closed (a partial last line is dropped) */
    LINE_TOO_LONG = -2, /* no end of line within the caller's limit */
    LINE_ERROR = -3,    /* read() failed: errno says why; EAGAIN = SO_RCVTIMEO expired */
};

struct line_reader {
    int fd;
    size_t start, end; /* unread bytes are buf[start..end) */
    char buf[4096];
};

void line_reader_init(struct line_reader *r, int fd);

/* Copy the next line, without its CRLF, into out (cap bytes with the
 * terminating NUL, so at most cap-1 characters; cap <= 4095).  Returns the
 * line's length, or one of LINE_EOF, LINE_TOO_LONG, LINE_ERROR.  The line may
 * contain NUL bytes: callers that care compare the length with strlen(). */
ssize_t read_line(struct line_reader *r, char *out, size_t cap);

#endif
