/* http.c — the incremental request-head parser; see http.h for the contract.
 *
 * Two steps.  First find the end of the head (an empty line) without looking
 * at anything twice; while it is missing, apply the size limits to what has
 * arrived so that a client cannot make us buffer more than they allow.  Then,
 * once the whole head is here, parse it in a single pass.
 */
#include "http.h"

#include <string.h>
#include <strings.h>

#define MAX_METHOD 32

void http_request_reset(struct http_request *req)
{
    memset(req, 0, sizeof *req);
}

const char *http_method_name(enum http_method m)
{
    return m == HTTP_GET ? "GET" : m == HTTP_HEAD ? "HEAD" : "-";
}

/* RFC 9110 token characters: what method and header names are made of. */
static int is_tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static int fail(struct http_request *req, int status)
{
    req->status = status;
    return HTTP_ERROR;
}

/* ---- step 1: where does the head end? ------------------------------------ */

/* Limits on a head that is still incomplete: a bad or overlong method (400),
 * a target too long (414), a head too big (431), known before the client
 * finishes.  The request line is checked whether or not its line feed has
 * arrived yet, and in the order parse_request_line() checks it, so that the
 * answer never depends on how the bytes were split into reads. */
static int check_partial(struct http_request *req, const char *line, size_t len)
{
    const char *nl = memchr(line, '\n', len);
    size_t n = nl != NULL ? (size_t)(nl - line) : len; /* the request line so far */
    if (n > 0 && line[n - 1] == '\r')
        n--; /* perhaps the CR of its CRLF, which is not part of the line */
    size_t m = n < MAX_METHOD + 1 ? n : MAX_METHOD + 1;
    const char *sp = memchr(line, ' ', m);
    if (sp == line) /* no method at all */
        return fail(req, 400);
    for (const char *c = line; c < (sp != NULL ? sp : line + m); c++)
        if (!is_tchar((unsigned char)*c))
            return fail(req, 400);
    if (sp == NULL) {
        if (n > MAX_METHOD)
            return fail(req, 400);
    } else {
        size_t rest = n - (size_t)(sp + 1 - line);
        const char *sp2 = memchr(sp + 1, ' ', rest);
        if ((sp2 != NULL ? (size_t)(sp2 - sp - 1) : rest) > HTTP_MAX_TARGET)
            return fail(req, 414);
    }
    return len > HTTP_MAX_HEAD ? fail(req, 431) : HTTP_INCOMPLETE;
}

/* ---- step 2: parse a complete head -------------------------------------- */

struct line {
    const char *p;
    size_t n;
};

/* Cut the next line off [*pos, end), without its CRLF or LF. */
static struct line next_line(const char **pos, const char *end)
{
    const char *p = *pos;
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    struct line l = { p, (size_t)(nl - p) };
    if (l.n > 0 && p[l.n - 1] == '\r')
        l.n--;
    *pos = nl + 1;
    return l;
}

static int parse_version(struct http_request *req, const char *v, size_t n)
{
    if (n != 8 || memcmp(v, "HTTP/", 5) != 0 || v[6] != '.' || v[5] < '0' || v[5] > '9' ||
        v[7] < '0' || v[7] > '9')
        return fail(req, 400);
    if (v[5] != '1' || (v[7] != '0' && v[7] != '1'))
        return fail(req, 505);
    req->minor_version = v[7] - '0';
    return 0;
}

/* "http://host:port/path?q" -> "/path?q"; origin-form is left alone. */
static void reduce_absolute_form(struct http_request *req)
{
    const char *t = req->target;
    size_t n = req->target_len, skip;
    if (n >= 7 && strncasecmp(t, "http://", 7) == 0)
        skip = 7;
    else if (n >= 8 && strncasecmp(t, "https://", 8) == 0)
        skip = 8;
    else
        return;
    const char *slash = memchr(t + skip, '/', n - skip);
    if (slash == NULL) {
        req->target = "/";
        req->target_len = 1;
    } else {
        req->target_len = n - (size_t)(slash - t);
        req->target = slash;
    }
}

static int parse_request_line(struct http_request *req, struct line l)
{
    const char *sp1 = memchr(l.p, ' ', l.n);
    if (sp1 == NULL || sp1 == l.p || sp1 - l.p > MAX_METHOD)
        return fail(req, 400);
    for (const char *c = l.p; c < sp1; c++)
        if (!is_tchar((unsigned char)*c))
            return fail(req, 400);
    size_t mlen = (size_t)(sp1 - l.p);
    req->method = (mlen == 3 && memcmp(l.p, "GET", 3) == 0)    ? HTTP_GET
                  : (mlen == 4 && memcmp(l.p, "HEAD", 4) == 0) ? HTTP_HEAD
                                                               : HTTP_OTHER;

    const char *t = sp1 + 1, *end = l.p + l.n;
    const char *sp2 = memchr(t, ' ', (size_t)(end - t));
    /* "GET /": RFC 9112's request line requires the version, so this is a
     * malformed line (400); 505 is for a version given and not supported.
     * (HTTP/0.9 sent such lines; we speak only 1.x.) */
    if (sp2 == NULL)
        return fail(req, (size_t)(end - t) > HTTP_MAX_TARGET ? 414 : 400);
    req->target = t;
    req->target_len = (size_t)(sp2 - t);
    if (req->target_len == 0)
        return fail(req, 400);
    if (req->target_len > HTTP_MAX_TARGET)
        return fail(req, 414);
    for (const char *c = t; c < sp2; c++)
        if ((unsigned char)*c <= ' ' || *c == 0x7f)
            return fail(req, 400);
    if (parse_version(req, sp2 + 1, (size_t)(end - sp2 - 1)) < 0)
        return HTTP_ERROR;
    reduce_absolute_form(req);
    if (req->target[0] != '/' && !(req->target_len == 1 && req->target[0] == '*'))
        return fail(req, 400);
    return 0;
}

/* Does the comma-separated list v contain token tok (any case)? */
static int list_has(const char *v, size_t n, const char *tok)
{
    size_t tl = strlen(tok);
    for (size_t i = 0; i < n;) {
        while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        size_t s = i;
        while (i < n && v[i] != ',')
            i++;
        size_t e = i;
        while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
            e--;
        if (e - s == tl && strncasecmp(v + s, tok, tl) == 0)
            return 1;
    }
    return 0;
}

/* Only digits, and small enough that no sum of offsets can overflow. */
static long long parse_length(const char *v, size_t n)
{
    if (n == 0 || n > 15)
        return -1;
    long long x = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return -1;
        x = x * 10 + (v[i] - '0');
    }
    return x;
}

struct head_facts {
    int hosts, has_te, has_cl, conn_close, conn_keep_alive;
};

static int parse_header(struct http_request *req, struct line l, struct head_facts *f)
{
    if (l.n == 0 || l.p[0] == ' ' || l.p[0] == '\t') /* obsolete line folding */
        return fail(req, 400);
    const char *colon = memchr(l.p, ':', l.n);
    if (colon == NULL || colon == l.p)
        return fail(req, 400);
    for (const char *c = l.p; c < colon; c++)
        if (!is_tchar((unsigned char)*c)) /* includes "Name : value" */
            return fail(req, 400);
    size_t nlen = (size_t)(colon - l.p);
    const char *v = colon + 1, *end = l.p + l.n;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    for (const char *c = v; c < end; c++)
        if (((unsigned char)*c < ' ' && *c != '\t') || *c == 0x7f)
            return fail(req, 400);
    size_t vlen = (size_t)(end - v);

#define IS(name) (nlen == sizeof(name) - 1 && strncasecmp(l.p, name, nlen) == 0)
    if (IS("Host")) {
        f->hosts++;
        req->host = v;
        req->host_len = vlen;
    } else if (IS("Content-Length")) {
        long long cl = parse_length(v, vlen);
        if (cl < 0 || (f->has_cl && cl != req->content_length))
            return fail(req, 400);
        f->has_cl = 1;
        req->content_length = cl;
    } else if (IS("Transfer-Encoding")) {
        f->has_te = 1;
    } else if (IS("Connection")) {
        f->conn_close |= list_has(v, vlen, "close");
        f->conn_keep_alive |= list_has(v, vlen, "keep-alive");
    }
#undef IS
    return 0;
}

static int parse_head(struct http_request *req, const char *p, const char *end)
{
    if (parse_request_line(req, next_line(&p, end)) < 0)
        return HTTP_ERROR;
    struct head_facts f = { 0 };
    for (;;) {
        struct line l = next_line(&p, end);
        if (l.n == 0)
            break;
        if (parse_header(req, l, &f) < 0)
            return HTTP_ERROR;
    }
    /* A body we cannot frame would desynchronise the connection. */
    if (f.has_te)
        return fail(req, f.has_cl ? 400 : 501);
    if (req->minor_version == 1 && f.hosts != 1)
        return fail(req, 400);
    if (f.hosts > 1)
        return fail(req, 400);
    req->keep_alive =
        req->minor_version == 1 ? !f.conn_close : (f.conn_keep_alive && !f.conn_close);
    return 0;
}

long http_parse_request(struct http_request *req, const char *buf, size_t len)
{
    /* RFC 9112 2.2: ignore empty lines before the request line. */
    size_t start = 0;
    while (start < len && (buf[start] == '\r' || buf[start] == '\n'))
        start++;
    if (start > HTTP_MAX_HEAD)
        return fail(req, 400);

    /* The head ends at a line feed followed by an empty line ("\n\n" or
     * "\n\r\n").  scan_from remembers where the undecided part begins. */
    size_t i = req->scan_from > start ? req->scan_from : start;
    for (;;) {
        const char *nl = memchr(buf + i, '\n', len - i);
        if (nl == NULL) {
            req->scan_from = len;
            return check_partial(req, buf + start, len - start);
        }
        i = (size_t)(nl - buf);
        size_t after = i + 1;
        if (after < len && buf[after] == '\r')
            after++;
        if (after >= len) { /* cannot tell yet: look at this line feed again */
            req->scan_from = i;
            return check_partial(req, buf + start, len - start);
        }
        if (buf[after] == '\n') {
            size_t head_end = after + 1;
            if (head_end - start > HTTP_MAX_HEAD) /* 431, or what the line earns first */
                return check_partial(req, buf + start, head_end - start);
            if (parse_head(req, buf + start, buf + head_end) < 0)
                return HTTP_ERROR;
            return (long)head_end;
        }
        i++;
    }
}
