/* conditional.h — validators, conditional requests and byte ranges.
 *
 * What a browser does on a reload, and what `curl -C -` does to resume:
 * the server labels each file response with validators (Last-Modified and
 * ETag), and the client later sends them back (If-Modified-Since,
 * If-None-Match) to ask "only if it changed", or asks for a part of the file
 * (Range) — safely, with If-Range: "that part, but only of the version I
 * already have".  This module decides, from the request and from the file
 * already opened (its fstat), which answer the file gets.  It never touches
 * the file: the caller sends the bytes it is told to, from the offset it is
 * told (with sendfile()).
 *
 * The order of the checks is RFC 9110 section 13.2.2:
 *   1. If-Match (strong comparison) false              -> 412
 *   2. else If-Unmodified-Since, file newer             -> 412
 *   3. If-None-Match (weak comparison) matches          -> 304
 *   4. else If-Modified-Since, file not newer           -> 304
 *   5. GET with Range (and If-Range true, when given):
 *        one satisfiable range                          -> 206 + Content-Range
 *        no byte of it inside the file                  -> 416 (Content-Range
 *                                                       with "*" and the size)
 *        invalid, several ranges, another unit          -> ignored: 200
 * Only GET has ranges (RFC 9110 14.2): a HEAD with Range gets the 200 head.
 */
#ifndef SERVERLAB_CONDITIONAL_H
#define SERVERLAB_CONDITIONAL_H

#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include "http.h"

/* What identifies one version of a file's content.  The ETag is made of the
 * inode (replacing a file by rename(), as editors, rsync and our FTP upload
 * do, gives a new one even when size and times are copied over), the size,
 * and the ctime to the nanosecond.  Not the mtime: `cp -p`, `touch -r` or
 * tar can put an mtime back after rewriting a file in place, but nobody can
 * set the ctime, which every write (and every change of the mtime) moves
 * to now.  The price: chmod also moves it, and costs one full download.
 * stage12's cache notices a changed file by the same fields.  The mtime is
 * kept for Last-Modified, which is what If-Modified-Since compares. */
struct file_version {
    off_t size;
    struct timespec mtime;
    struct timespec ctime;
    ino_t ino;
};

void file_version_of(const struct stat *st, struct file_version *v);

/* The strong ETag, quoted: "ino-size-ctimens" in hex. */
#define HTTP_ETAG_MAX 64
void http_etag(const struct file_version *v, char out[HTTP_ETAG_MAX]);

/* The answer a file gets. */
struct file_answer {
    int status;   /* 200, 206, 304, 412 or 416 */
    off_t offset; /* first body byte to send */
    off_t length; /* body bytes for a GET (0 for 304, 412, 416) */
};

/* The decision above, for a GET or HEAD of the file v; now is the time of
 * the answer (If-Range trusts a date only for a file not modified in the
 * current second: two changes within one second share a Last-Modified). */
struct file_answer http_decide(const struct http_request *req, const struct file_version *v,
                               time_t now);

/* Does the request carry anything http_decide() looks at?  Without it the
 * answer is a plain 200 (stage12 then sends its ready-made head). */
int http_is_conditional(const struct http_request *req);

/* Header lines (each ending in CRLF) for answer a: Last-Modified, ETag,
 * Accept-Ranges, and Content-Range for 206 and 416.  Returns the length, 0
 * when it does not fit in cap. */
size_t http_validator_lines(char *buf, size_t cap, const struct file_version *v,
                            const struct file_answer *a);

/* ---- the parts, for the unit tests ---------------------------------------- */

enum range_result { RANGE_IGNORED, RANGE_SATISFIABLE, RANGE_UNSATISFIABLE };

/* One "bytes=first-last", "bytes=first-" or "bytes=-suffix" against a file of
 * size bytes; on RANGE_SATISFIABLE, *offset and *length (at least 1) say
 * which bytes. */
enum range_result http_parse_range(const char *v, size_t n, off_t size, off_t *offset,
                                   off_t *length);

/* An HTTP-date in any of its three forms (IMF-fixdate, RFC 850, asctime);
 * 0, or -1 when it is none of them. */
int http_parse_date(const char *v, size_t n, time_t *out);

/* Does the If-Match / If-None-Match list (or "*") contain etag?  strong: a
 * weak W/"..." tag never matches (If-Match, If-Range); otherwise the W/ is
 * ignored (If-None-Match). */
int http_etag_matches(const char *list, size_t n, const char *etag, int strong);

#endif
