/* http.h — an incremental HTTP/1.x request-head parser.
 *
 * Feed it everything received so far on a connection.  It answers
 *   HTTP_INCOMPLETE  the head is not all there yet: read more, call again;
 *   n > 0            a complete head of n bytes; the fields below are set;
 *   HTTP_ERROR       the request is bad; req->status says how (400, 414, 431,
 *                    501, 505) and the connection must be closed.
 * It never allocates and never copies: target and host point into the
 * caller's buffer and stay valid only while that buffer is unchanged.
 * Calling again with more bytes resumes where the last call stopped looking,
 * so a request arriving one byte at a time costs O(n), not O(n^2).
 * Bytes after the head (a body, or the next pipelined request) are untouched.
 *
 * Accepted: "METHOD SP target SP HTTP/1.x", origin-form or absolute-form
 * target, CRLF or bare LF line ends, empty lines before the request line.
 * Refused:  more than HTTP_MAX_TARGET bytes of target (414), more than
 * HTTP_MAX_HEAD bytes of head (431), versions other than 1.0/1.1 (505),
 * Transfer-Encoding (501; 400 with Content-Length), HTTP/1.1 without exactly
 * one Host, bad or conflicting Content-Length, folded or malformed headers,
 * control bytes in the target (400).
 */
#ifndef SERVERLAB_HTTP_H
#define SERVERLAB_HTTP_H

#include <stddef.h>

#define HTTP_MAX_TARGET 8192
#define HTTP_MAX_HEAD   16384

#define HTTP_INCOMPLETE 0
#define HTTP_ERROR      (-1)

enum http_method { HTTP_GET, HTTP_HEAD, HTTP_OTHER };

/* A header's value, trimmed; p is NULL when the header is absent.  When a
 * header comes twice, the last one counts (no client we know sends these
 * twice, and combining them is not worth its code here). */
struct http_field {
    const char *p;
    size_t n;
};

struct http_request {
    enum http_method method;
    const char *target; /* path[?query], absolute-form already reduced */
    size_t target_len;
    int minor_version;        /* HTTP/1.0 -> 0, HTTP/1.1 -> 1 */
    int keep_alive;           /* what the version and Connection header ask for */
    long long content_length; /* body bytes after the head (0 when none) */
    const char *host;         /* NULL when absent */
    size_t host_len;
    struct http_field if_none_match, if_modified_since, if_match, if_unmodified_since;
    struct http_field range, if_range; /* conditional.h decides what they mean */
    int status;                        /* the error status after HTTP_ERROR */
    size_t scan_from;                  /* private: where the search for the blank line resumes */
};

/* Prepare for a new request (also after each complete one). */
void http_request_reset(struct http_request *req);

long http_parse_request(struct http_request *req, const char *buf, size_t len);

/* "GET", "HEAD" or "-" (for logging). */
const char *http_method_name(enum http_method m);

#endif
