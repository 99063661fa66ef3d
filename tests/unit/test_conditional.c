/* test_conditional.c — validators, preconditions and ranges (common/conditional.c).
 *
 * Table-driven: Range values against a file size; HTTP-dates in their three
 * forms; entity-tag lists with strong and weak comparison; and whole
 * requests run through the parser and http_decide(), to check the order of
 * RFC 9110 13.2.2.  Header values sit right before a guard page (tap.h), so
 * reading past a value's length crashes here.
 */
#include "conditional.h"

#include "tap.h"

struct range_case {
    const char *value;
    long long size;
    enum range_result result;
    long long offset, length;
};

static const struct range_case ranges[] = {
    { "bytes=0-499", 1000, RANGE_SATISFIABLE, 0, 500 },
    { "bytes=500-999", 1000, RANGE_SATISFIABLE, 500, 500 },
    { "bytes=500-", 1000, RANGE_SATISFIABLE, 500, 500 },
    { "bytes=-200", 1000, RANGE_SATISFIABLE, 800, 200 },
    { "bytes=-5000", 1000, RANGE_SATISFIABLE, 0, 1000 },     /* longer suffix: the whole file */
    { "bytes=900-5000", 1000, RANGE_SATISFIABLE, 900, 100 }, /* last clipped to the end */
    { "bytes=999-999", 1000, RANGE_SATISFIABLE, 999, 1 },
    { "bytes=0-0", 1, RANGE_SATISFIABLE, 0, 1 },
    { "BYTES=1-2", 10, RANGE_SATISFIABLE, 1, 2 }, /* the unit is case-insensitive */
    { "bytes=0-99999999999999999999999", 10, RANGE_SATISFIABLE, 0, 10 },
    { "bytes=1000-", 1000, RANGE_UNSATISFIABLE, 0, 0 },
    { "bytes=1000-2000", 1000, RANGE_UNSATISFIABLE, 0, 0 },
    { "bytes=99999999999999999999999-", 1000, RANGE_UNSATISFIABLE, 0, 0 },
    { "bytes=-0", 1000, RANGE_UNSATISFIABLE, 0, 0 },
    { "bytes=0-", 0, RANGE_UNSATISFIABLE, 0, 0 }, /* an empty file has no byte 0 */
    { "bytes=-1", 0, RANGE_UNSATISFIABLE, 0, 0 },
    { "bytes=5-3", 1000, RANGE_IGNORED, 0, 0 },     /* invalid: ignored, a full 200 */
    { "bytes=0-1,5-6", 1000, RANGE_IGNORED, 0, 0 }, /* several ranges */
    { "bytes=-", 1000, RANGE_IGNORED, 0, 0 },
    { "bytes=", 1000, RANGE_IGNORED, 0, 0 },
    { "bytes=a-b", 1000, RANGE_IGNORED, 0, 0 },
    { "bytes=1-2x", 1000, RANGE_IGNORED, 0, 0 },
    { "bytes=+1-2", 1000, RANGE_IGNORED, 0, 0 },
    { "bytes 1-2", 1000, RANGE_IGNORED, 0, 0 },
    { "items=0-5", 1000, RANGE_IGNORED, 0, 0 },
    { "", 1000, RANGE_IGNORED, 0, 0 },
};

static void test_ranges(struct guarded *g)
{
    for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++) {
        const struct range_case *c = &ranges[i];
        size_t n = strlen(c->value);
        const char *v = guarded_copy(g, c->value, n);
        off_t offset = -1, length = -1;
        enum range_result r = http_parse_range(v, n, (off_t)c->size, &offset, &length);
        int good = r == c->result &&
                   (r != RANGE_SATISFIABLE || (offset == c->offset && length == c->length));
        if (!ok(good, "Range '%s' of %lld bytes", c->value, c->size))
            diag("got result %d offset %lld length %lld", (int)r, (long long)offset,
                 (long long)length);
    }
}

static void test_dates(struct guarded *g)
{
    static const char *const same[] = {
        "Sun, 06 Nov 1994 08:49:37 GMT",
        "Sunday, 06-Nov-94 08:49:37 GMT",
        "Sun Nov  6 08:49:37 1994",
    };
    for (size_t i = 0; i < 3; i++) {
        time_t t = 0;
        const char *v = guarded_copy(g, same[i], strlen(same[i]));
        int r = http_parse_date(v, strlen(same[i]), &t);
        ok(r == 0 && t == 784111777, "date '%s' is 784111777", same[i]);
    }
    static const char *const bad[] = { "", "yesterday", "Sun, 06 Nov 1994 08:49:37 GMT junk",
                                       "Sun, 06 Nov 1994", "784111777" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        time_t t;
        const char *v = guarded_copy(g, bad[i], strlen(bad[i]));
        ok(http_parse_date(v, strlen(bad[i]), &t) < 0, "date '%s' refused", bad[i]);
    }
}

static void test_etags(struct guarded *g)
{
    const char *etag = "\"1-2-3\"";
    static const struct {
        const char *list;
        int strong, match;
    } cases[] = {
        { "\"1-2-3\"", 1, 1 },
        { "\"1-2-3\"", 0, 1 },
        { "W/\"1-2-3\"", 0, 1 },
        { "W/\"1-2-3\"", 1, 0 },
        { "\"x\", \"1-2-3\"", 0, 1 },
        { "\"x\",W/\"y\"", 0, 0 },
        { "*", 0, 1 },
        { " * ", 1, 1 },
        { "1-2-3", 0, 0 },
        { "\"1-2-3", 0, 0 },
        { "\"1-2-3\"x", 0, 0 },
        { "", 0, 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = strlen(cases[i].list);
        const char *v = guarded_copy(g, cases[i].list, n);
        ok(http_etag_matches(v, n, etag, cases[i].strong) == cases[i].match, "%s list '%s' %s",
           cases[i].strong ? "strong" : "weak", cases[i].list,
           cases[i].match ? "matches" : "does not match");
    }
    struct file_version a = { 10, { 1000, 5 }, { 1000, 5 }, 7 }, b = a;
    char ea[HTTP_ETAG_MAX], eb[HTTP_ETAG_MAX];
    http_etag(&a, ea);
    b.ctime.tv_nsec = 6;
    http_etag(&b, eb);
    ok(strcmp(ea, eb) != 0, "ETag changes with the ctime's nanoseconds (%s, %s)", ea, eb);
    b = a;
    b.ino = 8;
    http_etag(&b, eb);
    ok(strcmp(ea, eb) != 0, "ETag changes with the inode (a file replaced by rename)");
}

/* Whole requests: the order of the checks. */
struct decide_case {
    const char *name;
    const char *headers; /* lines after Host, each with CRLF */
    int head;            /* HEAD instead of GET */
    int status;
    long long offset, length;
};

/* The file: 1000 bytes, modified (mtime and ctime) at 784111777, the date
 * above; inode 7. */
#define ETAG     "\"7-3e8-" MTIME_NS "\""
#define MTIME_NS "ae1b981bc490a00"
#define LM       "Sun, 06 Nov 1994 08:49:37 GMT"
#define EARLIER  "Sun, 06 Nov 1994 08:49:36 GMT"

static const struct decide_case decisions[] = {
    { "no conditions", "", 0, 200, 0, 1000 },
    { "If-None-Match matches", "If-None-Match: " ETAG "\r\n", 0, 304, 0, 0 },
    { "If-None-Match weak form matches", "If-None-Match: W/" ETAG "\r\n", 0, 304, 0, 0 },
    { "If-None-Match other", "If-None-Match: \"x\"\r\n", 0, 200, 0, 1000 },
    { "If-None-Match on HEAD", "If-None-Match: " ETAG "\r\n", 1, 304, 0, 0 },
    { "If-Modified-Since equal", "If-Modified-Since: " LM "\r\n", 0, 304, 0, 0 },
    { "If-Modified-Since earlier", "If-Modified-Since: " EARLIER "\r\n", 0, 200, 0, 1000 },
    { "If-Modified-Since invalid: ignored", "If-Modified-Since: soon\r\n", 0, 200, 0, 1000 },
    { "If-None-Match wins over If-Modified-Since",
      "If-None-Match: \"x\"\r\nIf-Modified-Since: " LM "\r\n", 0, 200, 0, 1000 },
    { "If-Match fails", "If-Match: \"x\"\r\n", 0, 412, 0, 0 },
    { "If-Match weak tag fails (strong comparison)", "If-Match: W/" ETAG "\r\n", 0, 412, 0, 0 },
    { "If-Match matches", "If-Match: " ETAG "\r\n", 0, 200, 0, 1000 },
    { "If-Unmodified-Since earlier fails", "If-Unmodified-Since: " EARLIER "\r\n", 0, 412, 0, 0 },
    { "If-Match wins over If-Unmodified-Since",
      "If-Match: *\r\nIf-Unmodified-Since: " EARLIER "\r\n", 0, 200, 0, 1000 },
    { "412 before 304", "If-Match: \"x\"\r\nIf-None-Match: " ETAG "\r\n", 0, 412, 0, 0 },
    { "Range", "Range: bytes=10-19\r\n", 0, 206, 10, 10 },
    { "Range on HEAD ignored", "Range: bytes=10-19\r\n", 1, 200, 0, 1000 },
    { "Range unsatisfiable", "Range: bytes=1000-\r\n", 0, 416, 0, 0 },
    { "304 before Range", "If-None-Match: " ETAG "\r\nRange: bytes=1000-\r\n", 0, 304, 0, 0 },
    { "If-Range same ETag", "Range: bytes=10-\r\nIf-Range: " ETAG "\r\n", 0, 206, 10, 990 },
    { "If-Range other ETag: all", "Range: bytes=10-\r\nIf-Range: \"x\"\r\n", 0, 200, 0, 1000 },
    { "If-Range weak ETag: all", "Range: bytes=10-\r\nIf-Range: W/" ETAG "\r\n", 0, 200, 0, 1000 },
    { "If-Range same date", "Range: bytes=10-\r\nIf-Range: " LM "\r\n", 0, 206, 10, 990 },
    { "If-Range other date: all", "Range: bytes=10-\r\nIf-Range: " EARLIER "\r\n", 0, 200, 0,
      1000 },
    { "If-Range without Range", "If-Range: \"x\"\r\n", 0, 200, 0, 1000 },
};

static void test_decisions(struct guarded *g)
{
    struct file_version v = { 1000, { 784111777, 0 }, { 784111777, 0 }, 7 };
    char etag[HTTP_ETAG_MAX];
    http_etag(&v, etag);
    ok(strcmp(etag, ETAG) == 0, "the ETag of the test file is %s", etag);
    for (size_t i = 0; i < sizeof decisions / sizeof decisions[0]; i++) {
        const struct decide_case *c = &decisions[i];
        char raw[1024];
        int n = snprintf(raw, sizeof raw, "%s /f HTTP/1.1\r\nHost: h\r\n%s\r\n",
                         c->head ? "HEAD" : "GET", c->headers);
        struct http_request req;
        http_request_reset(&req);
        long r = http_parse_request(&req, guarded_copy(g, raw, (size_t)n), (size_t)n);
        struct file_answer a = { 0, 0, 0 };
        if (r > 0)
            a = http_decide(&req, &v, 784111777 + 60);
        int good = r == n && a.status == c->status &&
                   (a.status != 206 || (a.offset == c->offset && a.length == c->length)) &&
                   (a.status != 200 || a.length == c->length);
        if (!ok(good, "%s: %d", c->name, c->status))
            diag("parse %ld of %d, status %d offset %lld length %lld", r, n, a.status,
                 (long long)a.offset, (long long)a.length);
    }
    /* A file changed within the current second: its Last-Modified may name
     * two versions, so If-Range by date must not trust it. */
    const char *raw = "GET /f HTTP/1.1\r\nHost: h\r\nRange: bytes=1-\r\nIf-Range: " LM "\r\n\r\n";
    struct http_request req;
    http_request_reset(&req);
    http_parse_request(&req, guarded_copy(g, raw, strlen(raw)), strlen(raw));
    ok(http_decide(&req, &v, 784111777).status == 200,
       "If-Range by date of a file modified this second: all of it");
}

int main(void)
{
    struct guarded g = guarded_new(4096);
    test_ranges(&g);
    test_dates(&g);
    test_etags(&g);
    test_decisions(&g);
    return tap_done();
}
