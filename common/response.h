/* response.h — turning a parsed request into what to send.
 *
 * A reply is a head (status line + headers, and for errors a small HTML
 * body) in a fixed buffer, plus optionally an open file to send after it.
 * Blocking stages send it with send_reply() (io.h); event stages send the
 * head and then the file a piece at a time as the socket accepts it.
 */
#ifndef SERVERLAB_RESPONSE_H
#define SERVERLAB_RESPONSE_H

#include <stddef.h>
#include <sys/types.h>
#include "conditional.h"
#include "http.h"
#include "options.h"

#define HTTP_REPLY_HEAD_MAX 2048

struct http_reply {
    int status;
    int keep_alive; /* Connection: keep-alive was sent; else close after */
    char head[HTTP_REPLY_HEAD_MAX];
    size_t head_len;      /* bytes of head[] to send (error pages include their body) */
    int file_fd;          /* body source, -1 when the body is in head[] or absent */
    off_t file_offset;    /* next file byte to send */
    off_t file_remaining; /* file bytes still to send */
    off_t body_len;       /* Content-Length, for the log */
};

/* The answer to a well-formed request: 200 or 206 with the file, 304, 412,
 * 416 (see conditional.h), 301, 403, 404, 405.  allow_keep_alive is 0 in short-connection stages (01–07): they
 * always answer "Connection: close". */
void http_reply_for(struct http_reply *rep, const struct http_request *req,
                    const struct server_options *opt, int allow_keep_alive);

/* The reply for the file v (already open, of type mime), as conditional.h
 * decides: the head, and file_offset/file_remaining for the body to send
 * (none after HEAD).  file_fd is left to the caller. */
void http_reply_file(struct http_reply *rep, const struct http_request *req,
                     const struct file_version *v, const char *mime, int keep_alive);

/* An error reply with a small HTML page (no page after HEAD). */
void http_reply_error(struct http_reply *rep, int status, int keep_alive, int head_only);

/* Close the reply's file, if any. Safe to call twice. */
void http_reply_done(struct http_reply *rep);

/* Write a response head into buf: status line, Date, Server, Content-Type
 * (left out when content_type is NULL), Content-Length (left out when
 * negative), Connection, then `extra` (already CRLF-terminated lines,
 * may be NULL), then the blank line.  Returns the length, or 0 if it did
 * not fit. */
size_t http_format_head(char *buf, size_t cap, int status, const char *content_type,
                        off_t content_length, int keep_alive, const char *extra);

/* "Sun, 06 Nov 1994 08:49:37 GMT" for now, into out[30]. */
void http_date(char out[30]);

/* "Not Found" for 404, and so on. */
const char *http_reason(int status);

/* Name used in the Server header; set once by parse_options(). */
extern const char *http_server_name;

/* With -v: "GET /path 200 1234" on stderr. */
void http_log(const struct server_options *opt, const struct http_request *req,
              const struct http_reply *rep);

#endif
