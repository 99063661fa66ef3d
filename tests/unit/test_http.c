/* test_http.c — the request parser (common/http.c), table-driven.
 *
 * Every request in the tables is checked three ways:
 *   whole     all bytes in one buffer, as after one big read();
 *   bytewise  the buffer grows one byte at a time and the parser is called
 *             after each byte with the same struct, as an event server
 *             does: 0 until the head is complete, then the same answer;
 *   split     for every offset k: the first k bytes, then all of them.
 * Then pipelined pairs: two heads back to back (with and without a body
 * between them) must be framed exactly — the first answer is the length of
 * the first head, to the byte.
 *
 * Buffers end at an inaccessible page (tap.h), so a parser that reads past
 * the length it was given crashes here instead of passing.
 */
#include "http.h"

#include "tap.h"

#define RAW(s) s, sizeof(s) - 1

struct good_case {
    const char *name;
    const char *raw; /* exactly one request head */
    size_t len;
    enum http_method method;
    const char *target; /* what req.target must spell */
    int minor, keep_alive;
    long long content_length;
    const char *host; /* NULL: no Host header */
};

static const struct good_case good[] = {
    { "GET, HTTP/1.1", RAW("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), HTTP_GET, "/", 1, 1, 0, "x" },
    { "HEAD", RAW("HEAD /a.txt HTTP/1.1\r\nHost: example.com\r\n\r\n"), HTTP_HEAD, "/a.txt", 1, 1,
      0, "example.com" },
    { "HTTP/1.0 closes by default", RAW("GET /x HTTP/1.0\r\n\r\n"), HTTP_GET, "/x", 0, 0, 0, NULL },
    { "HTTP/1.0 asks for keep-alive", RAW("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"),
      HTTP_GET, "/", 0, 1, 0, NULL },
    { "HTTP/1.1 Connection: close", RAW("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"),
      HTTP_GET, "/", 1, 0, 0, "h" },
    { "Connection list with close",
      RAW("GET / HTTP/1.1\r\nHost: h\r\nConnection: TE, Close\r\n\r\n"), HTTP_GET, "/", 1, 0, 0,
      "h" },
    { "HTTP/1.0 keep-alive and close: close wins",
      RAW("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n"), HTTP_GET, "/", 0, 0, 0,
      NULL },
    { "Content-Length on GET", RAW("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\n"),
      HTTP_GET, "/", 1, 1, 5, "h" },
    { "duplicate equal Content-Length",
      RAW("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 7\r\ncontent-length: 7\r\n\r\n"), HTTP_GET,
      "/", 1, 1, 7, "h" },
    { "Content-Length 0", RAW("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n"), HTTP_GET,
      "/", 1, 1, 0, "h" },
    { "15-digit Content-Length",
      RAW("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 999999999999999\r\n\r\n"), HTTP_GET, "/", 1,
      1, 999999999999999LL, "h" },
    { "query kept in target", RAW("GET /a?b=c&d#e HTTP/1.1\r\nHost: h\r\n\r\n"), HTTP_GET,
      "/a?b=c&d#e", 1, 1, 0, "h" },
    { "absolute-form", RAW("GET http://example.com:8080/p/q?x HTTP/1.1\r\nHost: h\r\n\r\n"),
      HTTP_GET, "/p/q?x", 1, 1, 0, "h" },
    { "absolute-form, scheme in capitals",
      RAW("GET HTTPS://example.com/y HTTP/1.1\r\nHost: h\r\n\r\n"), HTTP_GET, "/y", 1, 1, 0, "h" },
    { "absolute-form without a path", RAW("GET http://example.com HTTP/1.1\r\nHost: h\r\n\r\n"),
      HTTP_GET, "/", 1, 1, 0, "h" },
    { "POST is parsed (the server answers 405)",
      RAW("POST /form HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\n"), HTTP_OTHER, "/form", 1, 1,
      3, "h" },
    { "lower-case method is another method", RAW("get / HTTP/1.1\r\nHost: h\r\n\r\n"), HTTP_OTHER,
      "/", 1, 1, 0, "h" },
    { "OPTIONS *", RAW("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n"), HTTP_OTHER, "*", 1, 1, 0, "h" },
    { "bare LF line ends", RAW("GET /lf HTTP/1.1\nHost: h\n\n"), HTTP_GET, "/lf", 1, 1, 0, "h" },
    { "mixed CRLF and LF", RAW("GET / HTTP/1.1\r\nHost: h\n\r\n"), HTTP_GET, "/", 1, 1, 0, "h" },
    { "empty lines before the request line", RAW("\r\n\r\n\nGET / HTTP/1.1\r\nHost: h\r\n\r\n"),
      HTTP_GET, "/", 1, 1, 0, "h" },
    { "value whitespace trimmed", RAW("GET / HTTP/1.1\r\nHost: \t  h.example \t\r\n\r\n"), HTTP_GET,
      "/", 1, 1, 0, "h.example" },
    { "header names any case", RAW("GET / HTTP/1.1\r\nhOsT: h\r\nCONNECTION: CLOSE\r\n\r\n"),
      HTTP_GET, "/", 1, 0, 0, "h" },
    { "unknown headers ignored",
      RAW("GET / HTTP/1.1\r\nHost: h\r\nUser-Agent: x/1\r\nAccept: */*\r\nX-Empty:\r\n\r\n"),
      HTTP_GET, "/", 1, 1, 0, "h" },
    { "percent escapes and UTF-8 bytes kept raw",
      RAW("GET /%2e%2E/\xc3\xa9\xff HTTP/1.1\r\nHost: h\r\n\r\n"), HTTP_GET, "/%2e%2E/\xc3\xa9\xff",
      1, 1, 0, "h" },
    { "empty Host is one Host", RAW("GET / HTTP/1.1\r\nHost:\r\n\r\n"), HTTP_GET, "/", 1, 1, 0,
      "" },
};

struct bad_case {
    const char *name;
    const char *raw; /* a request head the parser must refuse */
    size_t len;
    int status;
};

static const struct bad_case bad[] = {
    { "garbage", RAW("hello\r\n\r\n"), 400 },
    { "method only", RAW("GET\r\n\r\n"), 400 },
    { "no method", RAW(" / HTTP/1.1\r\nHost: h\r\n\r\n"), 400 },
    { "method with a bad character", RAW("G(T / HTTP/1.1\r\nHost: h\r\n\r\n"), 400 },
    { "method over 32 bytes", RAW("GETGETGETGETGETGETGETGETGETGETGETG / HTTP/1.1\r\n\r\n"), 400 },
    { "two spaces after the method", RAW("GET  / HTTP/1.1\r\nHost: h\r\n\r\n"), 400 },
    { "space after the version", RAW("GET / HTTP/1.1 \r\nHost: h\r\n\r\n"), 400 },
    { "target not origin-form", RAW("GET a.txt HTTP/1.1\r\nHost: h\r\n\r\n"), 400 },
    { "NUL in the target", RAW("GET /a\0b HTTP/1.1\r\nHost: h\r\n\r\n"), 400 },
    { "control byte in the target", RAW("GET /a\x01 HTTP/1.1\r\nHost: h\r\n\r\n"), 400 },
    { "DEL in the target", RAW("GET /a\x7f HTTP/1.1\r\nHost: h\r\n\r\n"), 400 },
    { "tab in the target", RAW("GET /a\tb HTTP/1.1\r\nHost: h\r\n\r\n"), 400 },
    { "malformed version", RAW("GET / HTTQ/1.1\r\nHost: h\r\n\r\n"), 400 },
    { "version with letters", RAW("GET / HTTP/x.y\r\n\r\n"), 400 },
    { "version too long", RAW("GET / HTTP/1.10\r\n\r\n"), 400 },
    { "HTTP/2.0", RAW("GET / HTTP/2.0\r\n\r\n"), 505 },
    { "HTTP/1.2", RAW("GET / HTTP/1.2\r\nHost: h\r\n\r\n"), 505 },
    { "HTTP/0.9 with a version", RAW("GET / HTTP/0.9\r\n\r\n"), 505 },
    { "HTTP/0.9 without a version: malformed", RAW("GET /\r\n\r\n"), 400 },
    { "HTTP/1.1 without Host", RAW("GET / HTTP/1.1\r\n\r\n"), 400 },
    { "HTTP/1.1 with two Hosts", RAW("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"), 400 },
    { "HTTP/1.0 with two Hosts", RAW("GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n"), 400 },
    { "Transfer-Encoding", RAW("GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"),
      501 },
    { "Transfer-Encoding any case, any value",
      RAW("GET / HTTP/1.1\r\nHost: h\r\ntransfer-encoding: gzip, chunked\r\n\r\n"), 501 },
    { "Transfer-Encoding empty", RAW("GET / HTTP/1.0\r\nTransfer-Encoding:\r\n\r\n"), 501 },
    { "Transfer-Encoding with Content-Length",
      RAW("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"),
      400 },
    { "Content-Length after Transfer-Encoding",
      RAW("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n"),
      400 },
    { "Transfer-Encoding with a space before the colon",
      RAW("GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding : chunked\r\n\r\n"), 400 },
    { "Content-Length -1", RAW("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n"), 400 },
    { "Content-Length +5", RAW("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: +5\r\n\r\n"), 400 },
    { "Content-Length empty", RAW("GET / HTTP/1.1\r\nHost: h\r\nContent-Length:\r\n\r\n"), 400 },
    { "Content-Length not a number",
      RAW("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 12abc\r\n\r\n"), 400 },
    { "Content-Length hexadecimal",
      RAW("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 0x10\r\n\r\n"), 400 },
    { "Content-Length overflowing",
      RAW("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999999\r\n\r\n"), 400 },
    { "Content-Length 16 digits",
      RAW("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 1000000000000000\r\n\r\n"), 400 },
    { "Content-Length as a list", RAW("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 5\r\n\r\n"),
      400 },
    { "duplicate different Content-Length",
      RAW("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"), 400 },
    { "folded header", RAW("GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n  continued\r\n\r\n"), 400 },
    { "header without a colon", RAW("GET / HTTP/1.1\r\nHost: h\r\nNoColon\r\n\r\n"), 400 },
    { "header with an empty name", RAW("GET / HTTP/1.1\r\nHost: h\r\n: v\r\n\r\n"), 400 },
    { "space before the colon", RAW("GET / HTTP/1.1\r\nHost : h\r\n\r\n"), 400 },
    { "control byte in a value", RAW("GET / HTTP/1.1\r\nHost: h\r\nX-A: a\x01z\r\n\r\n"), 400 },
    { "NUL in a value", RAW("GET / HTTP/1.1\r\nHost: h\r\nX-A: a\0z\r\n\r\n"), 400 },
    { "CR alone inside a line", RAW("GET / HTTP/1.1\r\nHost: h\rX: y\r\n\r\n"), 400 },
};

/* Generated at start: the size limits and their boundaries. */
static char long_target_ok[HTTP_MAX_TARGET + 64], long_target_bad[HTTP_MAX_TARGET + 64];
static char long_target_09[HTTP_MAX_TARGET + 64], head_at_limit[HTTP_MAX_HEAD + 64];
static char head_over_limit[HTTP_MAX_HEAD + 64], many_headers[40000];
static char blank_lines[HTTP_MAX_HEAD + 64];

/* "GET /aaa…a HTTP/1.1\r\nHost: h\r\n\r\n" with a target of tlen bytes. */
static size_t make_long_target(char *buf, size_t tlen, const char *version)
{
    size_t n = (size_t)sprintf(buf, "GET /");
    memset(buf + n, 'a', tlen - 1);
    n += tlen - 1;
    return n + (size_t)sprintf(buf + n, "%s", version);
}

/* A head of exactly total bytes: one X-Pad header fills it up. */
static size_t make_head_of(char *buf, size_t total)
{
    const char *start = "GET / HTTP/1.1\r\nHost: h\r\nX-Pad: ";
    size_t n = (size_t)sprintf(buf, "%s", start);
    size_t pad = total - n - 4;
    memset(buf + n, 'p', pad);
    n += pad;
    return n + (size_t)sprintf(buf + n, "\r\n\r\n");
}

static struct good_case generated_good[2];
static char big_head_long_target[HTTP_MAX_HEAD + HTTP_MAX_TARGET + 64];
static char bad_method_long_target[HTTP_MAX_HEAD];
static char no_method_long_target[HTTP_MAX_TARGET + 64];
static struct bad_case generated_bad[8];

static void generate_cases(void)
{
    size_t n = make_long_target(long_target_ok, HTTP_MAX_TARGET, " HTTP/1.1\r\nHost: h\r\n\r\n");
    generated_good[0] = (struct good_case){
        "target of exactly HTTP_MAX_TARGET bytes", long_target_ok, n, HTTP_GET, NULL, 1, 1, 0, "h"
    };
    n = make_head_of(head_at_limit, HTTP_MAX_HEAD);
    generated_good[1] = (struct good_case){
        "head of exactly HTTP_MAX_HEAD bytes", head_at_limit, n, HTTP_GET, "/", 1, 1, 0, "h"
    };

    n = make_long_target(long_target_bad, HTTP_MAX_TARGET + 1, " HTTP/1.1\r\nHost: h\r\n\r\n");
    generated_bad[0] =
        (struct bad_case){ "target one byte over the limit", long_target_bad, n, 414 };
    n = make_long_target(long_target_09, HTTP_MAX_TARGET + 1, "\r\n\r\n");
    generated_bad[1] = (struct bad_case){ "long target without a version", long_target_09, n, 414 };
    n = make_head_of(head_over_limit, HTTP_MAX_HEAD + 1);
    generated_bad[2] = (struct bad_case){ "head one byte over the limit", head_over_limit, n, 431 };
    /* 1 000 small headers: about 23 KB. */
    n = (size_t)sprintf(many_headers, "GET / HTTP/1.1\r\nHost: h\r\n");
    for (int i = 0; i < 1000; i++)
        n += (size_t)sprintf(many_headers + n, "X-Header-%04d: v\r\n", i);
    n += (size_t)sprintf(many_headers + n, "\r\n");
    generated_bad[3] = (struct bad_case){ "1000 headers", many_headers, n, 431 };
    /* Empty lines are skipped, but not without end. */
    memset(blank_lines, '\n', HTTP_MAX_HEAD + 1);
    n = HTTP_MAX_HEAD + 1;
    n += (size_t)sprintf(blank_lines + n, "GET / HTTP/1.0\r\n\r\n");
    generated_bad[4] = (struct bad_case){ "over 16 KiB of empty lines first", blank_lines, n, 400 };
    /* Two faults at once: the one the request line shows comes first, in
     * one piece as in many (in pieces the line is all there is at first). */
    n = make_long_target(big_head_long_target, HTTP_MAX_TARGET + 1, " HTTP/1.1\r\nX: ");
    memset(big_head_long_target + n, 'x', HTTP_MAX_HEAD);
    n += HTTP_MAX_HEAD;
    n += (size_t)sprintf(big_head_long_target + n, "\r\n\r\n");
    generated_bad[5] = (struct bad_case){ "long target in a head over the limit: 414",
                                          big_head_long_target, n, 414 };
    n = make_long_target(bad_method_long_target, HTTP_MAX_TARGET + 1, " HTTP/1.1\r\n\r\n");
    bad_method_long_target[1] = '(';
    generated_bad[6] =
        (struct bad_case){ "bad method before a long target: 400", bad_method_long_target, n, 400 };
    /* Found by fuzz_http: " /aaa…" (no method, a long target) was 400 in one
     * piece but 414 in pieces, where the target was judged first. */
    n = make_long_target(no_method_long_target, HTTP_MAX_TARGET + 1, "\r\n\r\n");
    memmove(no_method_long_target, no_method_long_target + 3, n - 3);
    n -= 3;
    generated_bad[7] =
        (struct bad_case){ "no method before a long target: 400", no_method_long_target, n, 400 };
}

/* ---- checking one answer ------------------------------------------------- */

static struct guarded g;

/* Does the parser's answer r for buffer p match the expectation?  Says why
 * not on stdout (as a TAP comment). */
static int matches_good(const struct good_case *c, long r, const struct http_request *req,
                        const char *p)
{
    const char *target = c->target ? c->target : c->raw + 4;
    size_t tlen = c->target ? strlen(c->target) : HTTP_MAX_TARGET;
    if (r != (long)c->len) {
        diag("answer %ld (status %d), expected %zu", r, req->status, c->len);
        return 0;
    }
    if (req->method != c->method || req->minor_version != c->minor ||
        req->keep_alive != c->keep_alive || req->content_length != c->content_length) {
        diag("method %d 1.%d keep-alive %d length %lld; expected %d 1.%d %d %lld", (int)req->method,
             req->minor_version, req->keep_alive, req->content_length, (int)c->method, c->minor,
             c->keep_alive, c->content_length);
        return 0;
    }
    if (req->target_len != tlen || memcmp(req->target, target, tlen) != 0) {
        diag("target \"%.*s\"", (int)(req->target_len > 80 ? 80 : req->target_len), req->target);
        return 0;
    }
    /* The target points into the caller's buffer (or is the parser's "/"). */
    int inside = req->target >= p && req->target + req->target_len <= p + c->len;
    if (!inside && !(req->target_len == 1 && req->target[0] == '/')) {
        diag("target does not point into the buffer");
        return 0;
    }
    if (c->host == NULL ? req->host != NULL
                        : (req->host == NULL || req->host_len != strlen(c->host) ||
                           memcmp(req->host, c->host, req->host_len) != 0 || req->host < p ||
                           req->host + req->host_len > p + c->len)) {
        diag("host \"%.*s\"", req->host ? (int)req->host_len : 6, req->host ? req->host : "(none)");
        return 0;
    }
    return 1;
}

static int matches_bad(const struct bad_case *c, long r, const struct http_request *req)
{
    if (r != HTTP_ERROR || req->status != c->status) {
        diag("answer %ld status %d, expected error %d", r, req->status, c->status);
        return 0;
    }
    return 1;
}

static long parse_copy(struct http_request *req, const char *data, size_t n)
{
    return http_parse_request(req, guarded_copy(&g, data, n), n);
}

/* ---- the three ways of feeding one request -------------------------------- */

static void test_good(const struct good_case *c)
{
    struct http_request req;
    http_request_reset(&req);
    long r = parse_copy(&req, c->raw, c->len);
    ok(matches_good(c, r, &req, g.end - c->len), "good, whole: %s", c->name);

    int fine = 1;
    http_request_reset(&req);
    for (size_t k = 1; k <= c->len && fine; k++) {
        r = parse_copy(&req, c->raw, k);
        if (k < c->len && r != HTTP_INCOMPLETE) {
            diag("after %zu of %zu bytes: answer %ld (status %d)", k, c->len, r, req.status);
            fine = 0;
        } else if (k == c->len) {
            fine = matches_good(c, r, &req, g.end - k);
        }
    }
    ok(fine, "good, byte by byte: %s", c->name);

    if (c->len > 4096)
        return; /* the bytewise run covered every prefix already */
    fine = 1;
    for (size_t k = 1; k < c->len && fine; k++) {
        http_request_reset(&req);
        r = parse_copy(&req, c->raw, k);
        if (r != HTTP_INCOMPLETE) {
            diag("first %zu bytes: answer %ld", k, r);
            fine = 0;
            break;
        }
        r = parse_copy(&req, c->raw, c->len);
        if (!matches_good(c, r, &req, g.end - c->len)) {
            diag("split at %zu", k);
            fine = 0;
        }
    }
    ok(fine, "good, split at every offset: %s", c->name);
}

static void test_bad(const struct bad_case *c)
{
    struct http_request req;
    http_request_reset(&req);
    long r = parse_copy(&req, c->raw, c->len);
    ok(matches_bad(c, r, &req), "error %d, whole: %s", c->status, c->name);

    /* In pieces the error may come early (a limit is known to be exceeded
     * before the head ends), but it must come, and be the same one. */
    int fine = 0;
    http_request_reset(&req);
    for (size_t k = 1; k <= c->len; k++) {
        r = parse_copy(&req, c->raw, k);
        if (r == HTTP_INCOMPLETE && k < c->len)
            continue;
        fine = matches_bad(c, r, &req);
        if (!fine)
            diag("after %zu of %zu bytes", k, c->len);
        break;
    }
    ok(fine, "error %d, byte by byte: %s", c->status, c->name);

    if (c->len > 4096)
        return;
    fine = 1;
    for (size_t k = 1; k < c->len && fine; k++) {
        http_request_reset(&req);
        r = parse_copy(&req, c->raw, k);
        if (r == HTTP_ERROR) {
            fine = matches_bad(c, r, &req);
            continue;
        }
        if (r != HTTP_INCOMPLETE) {
            diag("first %zu bytes: answer %ld", k, r);
            fine = 0;
            break;
        }
        r = parse_copy(&req, c->raw, c->len);
        if (!matches_bad(c, r, &req)) {
            diag("split at %zu", k);
            fine = 0;
        }
    }
    ok(fine, "error %d, split at every offset: %s", c->status, c->name);
}

/* ---- pipelining ----------------------------------------------------------- */

static char pair[2 * HTTP_MAX_HEAD + 256];

/* first + body + second, in one buffer and byte by byte: the first answer
 * must be exactly the first head's length, and after skipping the body the
 * second head parses as on its own. */
static int check_pair(const struct good_case *a, const char *body, size_t blen,
                      const struct good_case *b)
{
    size_t n = a->len + blen + b->len;
    memcpy(pair, a->raw, a->len);
    memcpy(pair + a->len, body, blen);
    memcpy(pair + a->len + blen, b->raw, b->len);

    struct http_request req;
    http_request_reset(&req);
    long r = parse_copy(&req, pair, n);
    if (!matches_good(a, r, &req, g.end - n))
        return 0;
    size_t next = a->len + blen;
    http_request_reset(&req);
    r = http_parse_request(&req, g.end - n + next, n - next);
    if (!matches_good(b, r, &req, g.end - n + next))
        return 0;

    /* Arriving byte by byte, the first head is recognised exactly when its
     * last byte arrives — not before, and not only once more bytes came. */
    http_request_reset(&req);
    for (size_t k = 1; k <= n; k++) {
        r = parse_copy(&req, pair, k);
        if (r == HTTP_INCOMPLETE && k < a->len)
            continue;
        if (k != a->len || !matches_good(a, r, &req, g.end - k)) {
            diag("byte by byte: answer %ld after %zu bytes; head is %zu", r, k, a->len);
            return 0;
        }
        break;
    }
    return 1;
}

static const struct good_case *find_good(const char *name)
{
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        if (strcmp(good[i].name, name) == 0)
            return &good[i];
    fprintf(stderr, "no good case named %s\n", name);
    exit(2);
}

static void test_pipelining(void)
{
    size_t ngood = sizeof good / sizeof good[0];
    for (size_t i = 0; i < ngood; i++) {
        int fine = 1;
        for (size_t j = 0; j < ngood && fine; j++) {
            fine = check_pair(&good[i], "", 0, &good[j]);
            if (!fine)
                diag("followed by: %s", good[j].name);
        }
        ok(fine, "pipelined: \"%s\" then each good request", good[i].name);
    }

    /* A body between the two: Content-Length frames it. */
    static const struct good_case with_body = {
        "GET with a body",
        RAW("GET /1 HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n"),
        HTTP_GET,
        "/1",
        1,
        1,
        11,
        "h"
    };
    ok(check_pair(&with_body, RAW("GET / HTTP/"), &good[0]),
       "pipelined: a body that looks like a request line is not parsed as one");
    static const struct good_case post = {
        "POST", RAW("POST /f HTTP/1.0\r\nContent-Length: 4\r\n\r\n"), HTTP_OTHER, "/f", 0, 0, 4,
        NULL
    };
    ok(check_pair(&post, RAW("\r\n\r\n"), find_good("HTTP/1.0 closes by default")),
       "pipelined: a body of blank lines");
    const struct good_case *lf = find_good("bare LF line ends");
    ok(check_pair(lf, "", 0, lf), "pipelined: two bare-LF requests");
}

/* An error must not depend on what follows it in the buffer. */
static void test_error_then_more(void)
{
    int fine = 1;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0] && fine; i++) {
        size_t n = bad[i].len + good[0].len;
        memcpy(pair, bad[i].raw, bad[i].len);
        memcpy(pair + bad[i].len, good[0].raw, good[0].len);
        struct http_request req;
        http_request_reset(&req);
        long r = parse_copy(&req, pair, n);
        fine = matches_bad(&bad[i], r, &req);
        if (!fine)
            diag("%s, followed by a good request", bad[i].name);
    }
    ok(fine, "an error followed by a good request is still that error");
}

/* A client that never ends its head must be refused once it passes a
 * limit, not buffered for ever: the answer has to come by the limit. */
static void test_limits_before_the_end(void)
{
    static const struct {
        const char *name, *start;
        char fill;
        size_t by; /* bytes after which the error must have come */
        int status;
    } endless[] = {
        { "a method that never ends", "", 'G', 33, 400 },
        { "a target that never ends", "GET /", 'a', 5 + HTTP_MAX_TARGET + 1, 414 },
        { "a header line that never ends", "GET / HTTP/1.1\r\nX: ", 'x', HTTP_MAX_HEAD + 1, 431 },
        { "empty lines that never end", "", '\n', HTTP_MAX_HEAD + 1, 400 },
    };
    static char stream[2 * HTTP_MAX_HEAD];
    for (size_t i = 0; i < sizeof endless / sizeof endless[0]; i++) {
        size_t n = strlen(endless[i].start);
        memcpy(stream, endless[i].start, n);
        memset(stream + n, endless[i].fill, sizeof stream - n);
        struct http_request req;
        http_request_reset(&req);
        size_t k;
        long r = HTTP_INCOMPLETE;
        for (k = 1; k <= sizeof stream && r == HTTP_INCOMPLETE; k++)
            r = parse_copy(&req, stream, k);
        k--;
        int fine = r == HTTP_ERROR && req.status == endless[i].status && k <= endless[i].by;
        if (!fine)
            diag("answer %ld status %d after %zu bytes", r, req.status, k);
        ok(fine, "refused by byte %zu with %d: %s", endless[i].by, endless[i].status,
           endless[i].name);
    }
}

static void test_small_things(void)
{
    ok(strcmp(http_method_name(HTTP_GET), "GET") == 0 &&
           strcmp(http_method_name(HTTP_HEAD), "HEAD") == 0 &&
           strcmp(http_method_name(HTTP_OTHER), "-") == 0,
       "http_method_name");

    struct http_request req;
    http_request_reset(&req);
    ok(http_parse_request(&req, g.end, 0) == HTTP_INCOMPLETE, "empty buffer: incomplete");
    http_request_reset(&req);
    ok(parse_copy(&req, RAW("\r\n\r\n\r\n")) == HTTP_INCOMPLETE,
       "only empty lines: incomplete (they are skipped)");

    /* reset really starts over: a struct used for an error parses the next
     * request fresh. */
    http_request_reset(&req);
    long r = parse_copy(&req, RAW("GET / HTTP/9.9\r\n\r\n"));
    http_request_reset(&req);
    r = r == HTTP_ERROR ? parse_copy(&req, good[0].raw, good[0].len) : 0;
    ok(matches_good(&good[0], r, &req, g.end - good[0].len), "reset after an error");
}

int main(void)
{
    g = guarded_new(sizeof pair);
    generate_cases();
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        test_good(&good[i]);
    for (size_t i = 0; i < sizeof generated_good / sizeof generated_good[0]; i++)
        test_good(&generated_good[i]);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        test_bad(&bad[i]);
    for (size_t i = 0; i < sizeof generated_bad / sizeof generated_bad[0]; i++)
        test_bad(&generated_bad[i]);
    test_pipelining();
    test_error_then_more();
    test_limits_before_the_end();
    test_small_things();
    guarded_free(&g);
    return tap_done();
}
