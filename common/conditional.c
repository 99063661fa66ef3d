/* conditional.c — validators, preconditions, ranges; see conditional.h. */
#include "conditional.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Large enough for any file, small enough that first + length cannot overflow. */
#define HUGE_POSITION 1000000000000000000LL

void file_version_of(const struct stat *st, struct file_version *v)
{
    v->size = st->st_size;
    v->mtime = st->st_mtim;
    v->ctime = st->st_ctim;
    v->ino = st->st_ino;
}

void http_etag(const struct file_version *v, char out[HTTP_ETAG_MAX])
{
    unsigned long long ns =
        (unsigned long long)v->ctime.tv_sec * 1000000000ULL + (unsigned long long)v->ctime.tv_nsec;
    snprintf(out, HTTP_ETAG_MAX, "\"%llx-%llx-%llx\"", (unsigned long long)v->ino,
             (unsigned long long)v->size, ns);
}

static int is_space(char c)
{
    return c == ' ' || c == '\t';
}

/* ---- dates ------------------------------------------------------------------ */

int http_parse_date(const char *v, size_t n, time_t *out)
{
    /* RFC 9110 5.6.7: recipients accept all three; senders use the first. */
    static const char *const formats[] = {
        "%a, %d %b %Y %H:%M:%S GMT", /* Sun, 06 Nov 1994 08:49:37 GMT */
        "%A, %d-%b-%y %H:%M:%S GMT", /* Sunday, 06-Nov-94 08:49:37 GMT */
        "%a %b %e %H:%M:%S %Y",      /* Sun Nov  6 08:49:37 1994 */
    };
    char s[40]; /* strptime() wants a string; the longest form has 30 bytes */
    if (n == 0 || n >= sizeof s)
        return -1;
    memcpy(s, v, n);
    s[n] = '\0';
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++) {
        struct tm tm;
        memset(&tm, 0, sizeof tm);
        const char *end = strptime(s, formats[i], &tm);
        if (end != NULL && *end == '\0') {
            *out = timegm(&tm);
            return 0;
        }
    }
    return -1;
}

/* ---- entity tags ------------------------------------------------------------- */

/* One entity-tag at *p: [W/]"chars".  Sets its quoted part and weakness;
 * -1 when the list is not made of entity-tags. */
static int next_etag(const char **p, const char *end, const char **tag, size_t *tag_len, int *weak)
{
    const char *s = *p;
    *weak = 0;
    if (end - s >= 2 && s[0] == 'W' && s[1] == '/') {
        *weak = 1;
        s += 2;
    }
    if (s >= end || *s != '"')
        return -1;
    const char *close = memchr(s + 1, '"', (size_t)(end - s - 1));
    if (close == NULL)
        return -1;
    *tag = s;
    *tag_len = (size_t)(close + 1 - s);
    *p = close + 1;
    return 0;
}

int http_etag_matches(const char *list, size_t n, const char *etag, int strong)
{
    const char *p = list, *end = list + n;
    while (p < end && is_space(*p))
        p++;
    while (end > p && is_space(end[-1]))
        end--;
    if (end - p == 1 && *p == '*')
        return 1; /* "*": any current version of the file */
    size_t etag_len = strlen(etag);
    while (p < end) {
        if (*p == ',' || is_space(*p)) {
            p++;
            continue;
        }
        const char *tag;
        size_t tag_len;
        int weak;
        if (next_etag(&p, end, &tag, &tag_len, &weak) < 0 ||
            (p < end && *p != ',' && !is_space(*p)))
            return 0; /* not a list of entity-tags: nothing in it matches */
        if (tag_len == etag_len && memcmp(tag, etag, etag_len) == 0 && !(strong && weak))
            return 1;
    }
    return 0;
}

/* ---- ranges ------------------------------------------------------------------ */

/* Digits at *p, saturated at HUGE_POSITION; -1 when there are none. */
static long long digits(const char **p, const char *end)
{
    const char *s = *p;
    long long x = 0;
    while (*p < end && **p >= '0' && **p <= '9') {
        x = x > HUGE_POSITION / 10 ? HUGE_POSITION : x * 10 + (**p - '0');
        (*p)++;
    }
    return *p == s ? -1 : x;
}

enum range_result http_parse_range(const char *v, size_t n, off_t size, off_t *offset,
                                   off_t *length)
{
    const char *p = v, *end = v + n;
    if (n < 6 || strncasecmp(p, "bytes=", 6) != 0)
        return RANGE_IGNORED; /* another unit: RFC 9110 says ignore it */
    p += 6;
    while (p < end && is_space(*p))
        p++;
    if (memchr(p, ',', (size_t)(end - p)) != NULL)
        return RANGE_IGNORED; /* several ranges: a full 200 is allowed, and simpler */

    long long first = digits(&p, end), last = -1;
    if (p >= end || *p != '-')
        return RANGE_IGNORED;
    p++;
    if (p < end)
        last = digits(&p, end);
    while (p < end && is_space(*p))
        p++;
    if (p != end || (first < 0 && last < 0))
        return RANGE_IGNORED;

    if (first < 0) { /* "-n": the last n bytes */
        if (last == 0 || size == 0)
            return RANGE_UNSATISFIABLE;
        first = last >= size ? 0 : size - last;
        last = size - 1;
    } else {
        if (last >= 0 && last < first)
            return RANGE_IGNORED; /* "5-3" is invalid, not unsatisfiable */
        if (first >= size)
            return RANGE_UNSATISFIABLE;
        if (last < 0 || last >= size)
            last = size - 1;
    }
    *offset = (off_t)first;
    *length = (off_t)(last - first + 1);
    return RANGE_SATISFIABLE;
}

/* ---- the decision --------------------------------------------------------------- */

int http_is_conditional(const struct http_request *req)
{
    return req->if_match.p || req->if_unmodified_since.p || req->if_none_match.p ||
           req->if_modified_since.p || req->range.p;
}

/* If-Range: an entity-tag compared strongly, or exactly the Last-Modified date. */
static int if_range_holds(const struct http_field *f, const char *etag,
                          const struct file_version *v, time_t now)
{
    if (f->n >= 1 && (f->p[0] == '"' || (f->n >= 2 && f->p[0] == 'W' && f->p[1] == '/')))
        return f->n == strlen(etag) && memcmp(f->p, etag, f->n) == 0;
    time_t date;
    return http_parse_date(f->p, f->n, &date) == 0 && date == v->mtime.tv_sec &&
           v->mtime.tv_sec < now;
}

static struct file_answer answer(int status, off_t offset, off_t length)
{
    return (struct file_answer){ status, offset, length };
}

struct file_answer http_decide(const struct http_request *req, const struct file_version *v,
                               time_t now)
{
    char etag[HTTP_ETAG_MAX];
    http_etag(v, etag);
    time_t date;

    if (req->if_match.p != NULL) {
        if (!http_etag_matches(req->if_match.p, req->if_match.n, etag, 1))
            return answer(412, 0, 0);
    } else if (req->if_unmodified_since.p != NULL &&
               http_parse_date(req->if_unmodified_since.p, req->if_unmodified_since.n, &date) ==
                   0 &&
               v->mtime.tv_sec > date) {
        return answer(412, 0, 0);
    }

    if (req->if_none_match.p != NULL) {
        if (http_etag_matches(req->if_none_match.p, req->if_none_match.n, etag, 0))
            return answer(304, 0, 0);
    } else if (req->if_modified_since.p != NULL &&
               http_parse_date(req->if_modified_since.p, req->if_modified_since.n, &date) == 0 &&
               v->mtime.tv_sec <= date) {
        return answer(304, 0, 0);
    }

    if (req->method != HTTP_GET || req->range.p == NULL)
        return answer(200, 0, v->size);
    if (req->if_range.p != NULL && !if_range_holds(&req->if_range, etag, v, now))
        return answer(200, 0, v->size); /* changed since: the whole new version */
    off_t offset, length;
    switch (http_parse_range(req->range.p, req->range.n, v->size, &offset, &length)) {
    case RANGE_SATISFIABLE:
        return answer(206, offset, length);
    case RANGE_UNSATISFIABLE:
        return answer(416, 0, 0);
    default:
        return answer(200, 0, v->size);
    }
}

size_t http_validator_lines(char *buf, size_t cap, const struct file_version *v,
                            const struct file_answer *a)
{
    char etag[HTTP_ETAG_MAX], modified[30];
    struct tm tm;
    http_etag(v, etag);
    gmtime_r(&v->mtime.tv_sec, &tm);
    strftime(modified, sizeof modified, "%a, %d %b %Y %H:%M:%S GMT", &tm);

    int n;
    if (a->status == 416)
        n = snprintf(buf, cap, "Content-Range: bytes */%lld\r\n", (long long)v->size);
    else
        n = snprintf(buf, cap, "Last-Modified: %s\r\nETag: %s\r\n%s", modified, etag,
                     a->status == 304 ? "" : "Accept-Ranges: bytes\r\n");
    if (n >= 0 && (size_t)n < cap && a->status == 206)
        n += snprintf(buf + n, cap - (size_t)n, "Content-Range: bytes %lld-%lld/%lld\r\n",
                      (long long)a->offset, (long long)(a->offset + a->length - 1),
                      (long long)v->size);
    return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}
