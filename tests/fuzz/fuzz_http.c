/* fuzz_http.c — libFuzzer harness for the request parser (common/http.c),
 * and for conditional.c on every head it accepts.
 *
 * The property: how the bytes arrive must not change what the server
 * decides.  The input is treated as everything a client sends on one
 * connection.  It is parsed twice:
 *
 *   whole   all bytes are there before the first call, as after one read();
 *   split   the bytes arrive in pieces (sizes from a generator seeded by the
 *           input itself, and one byte at a time for short inputs), and the
 *           parser is called again after each piece, as a server does.
 *
 * Both runs walk the stream the way a keep-alive server does: a complete
 * head is consumed, then its Content-Length body is skipped, then the next
 * pipelined request is parsed.  Each run writes down its decisions (every
 * complete head with all its fields, then the final error or "incomplete"),
 * and the two lists must be identical.
 *
 * Bytes not yet "received" are poisoned for AddressSanitizer, so a parser
 * that peeks past the length it was given is caught even though the memory
 * is there.  Other invariants are checked on every result: error statuses
 * from the documented set, targets inside the buffer and starting with '/'
 * (or exactly "*"), versions 1.0/1.1, a non-negative Content-Length.
 */
#include <sanitizer/asan_interface.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conditional.h"
#include "http.h"

#define MAX_DECISIONS 64

/* One thing the parser decided, in a form two runs can compare. */
struct decision {
    long result; /* head length, HTTP_INCOMPLETE or HTTP_ERROR */
    int status;  /* for HTTP_ERROR */
    enum http_method method;
    int minor_version, keep_alive;
    long long content_length;
    size_t target_off, target_len; /* target_off: offset in the stream, or SIZE_MAX
                                      when the target is the parser's own "/" */
    size_t host_off, host_len;     /* host_off SIZE_MAX when there is no Host */
};

struct run {
    struct decision d[MAX_DECISIONS];
    int n;
};

__attribute__((noreturn)) static void fail(const char *what, const uint8_t *data, size_t size)
{
    fprintf(stderr, "fuzz_http: %s (input of %zu bytes)\n", what, size);
    (void)data;
    abort();
}

/* The validator and range headers point into the head, and whatever they
 * say, conditional.c answers with a documented status and a body that lies
 * inside the file. */
static void check_conditional(const struct http_request *req, const char *head, long r,
                              const uint8_t *data, size_t size)
{
    const struct http_field *fields[] = { &req->if_none_match, &req->if_modified_since,
                                          &req->if_match,      &req->if_unmodified_since,
                                          &req->range,         &req->if_range };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        if (fields[i]->p != NULL && (fields[i]->p < head || fields[i]->p + fields[i]->n > head + r))
            fail("a validator header points outside the head", data, size);
    struct file_version v = { 1000, { 784111777, 0 }, { 784111777, 0 }, 7 };
    struct file_answer a = http_decide(req, &v, 784111777 + 60);
    int good =
        (a.status == 200 && a.offset == 0 && a.length == v.size) ||
        (a.status == 206 && a.offset >= 0 && a.length >= 1 && a.offset + a.length <= v.size) ||
        ((a.status == 304 || a.status == 412 || a.status == 416) && a.length == 0);
    if (!good)
        fail("http_decide answered outside its contract", data, size);
}

/* Check a single parser answer and turn it into a decision. */
static struct decision decide(long r, const struct http_request *req, const char *stream,
                              size_t req_start, size_t avail, const uint8_t *data, size_t size)
{
    struct decision d;
    memset(&d, 0, sizeof d);
    d.result = r;
    if (r == HTTP_ERROR) {
        switch (req->status) {
        case 400:
        case 414:
        case 431:
        case 501:
        case 505:
            break;
        default:
            fail("error with an undocumented status", data, size);
        }
        d.status = req->status;
        return d;
    }
    if (r == HTTP_INCOMPLETE)
        return d;
    if (r < 0 || (size_t)r > avail)
        fail("head length outside what was given", data, size);

    const char *head = stream + req_start;
    d.method = req->method;
    d.minor_version = req->minor_version;
    d.keep_alive = req->keep_alive;
    d.content_length = req->content_length;
    if (req->method != HTTP_GET && req->method != HTTP_HEAD && req->method != HTTP_OTHER)
        fail("method out of range", data, size);
    if (req->minor_version != 0 && req->minor_version != 1)
        fail("version other than 1.0/1.1 accepted", data, size);
    if (req->content_length < 0)
        fail("negative Content-Length accepted", data, size);
    if (req->keep_alive != 0 && req->keep_alive != 1)
        fail("keep_alive not a boolean", data, size);

    if (req->target == NULL || req->target_len == 0)
        fail("complete head without a target", data, size);
    if (req->target >= head && req->target + req->target_len <= head + r) {
        d.target_off = (size_t)(req->target - stream);
    } else if (req->target_len == 1 && req->target[0] == '/') {
        d.target_off = SIZE_MAX; /* absolute-form without a path */
    } else {
        fail("target points outside the head", data, size);
    }
    d.target_len = req->target_len;
    if (req->target[0] != '/' && !(req->target_len == 1 && req->target[0] == '*'))
        fail("target neither origin-form nor \"*\"", data, size);
    if (req->target_len > HTTP_MAX_TARGET)
        fail("target longer than the limit", data, size);
    for (size_t i = 0; i < req->target_len; i++)
        if ((unsigned char)req->target[i] <= ' ' || req->target[i] == 0x7f)
            fail("control byte or space in an accepted target", data, size);

    check_conditional(req, head, r, data, size);
    d.host_off = SIZE_MAX;
    if (req->host != NULL) {
        if (req->host < head || req->host + req->host_len > head + r)
            fail("host points outside the head", data, size);
        d.host_off = (size_t)(req->host - stream);
        d.host_len = req->host_len;
    } else if (req->minor_version == 1) {
        fail("HTTP/1.1 accepted without Host", data, size);
    }
    return d;
}

/* A small generator for the split sizes, seeded from the input so that a
 * crash reproduces from its file alone. */
static uint64_t next_random(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static uint64_t seed_of(const uint8_t *data, size_t size, uint64_t salt)
{
    uint64_t h = 1469598103934665603ULL ^ salt; /* FNV-1a */
    for (size_t i = 0; i < size; i++)
        h = (h ^ data[i]) * 1099511628211ULL;
    return h | 1;
}

/* How many bytes the next piece has: mostly small, sometimes large. */
static size_t piece_size(uint64_t *rng, int mode)
{
    if (mode == 0)
        return 1; /* one byte at a time */
    uint64_t r = next_random(rng);
    switch (r % 8) {
    case 0:
        return 1;
    case 1:
        return 2 + (r >> 8) % 3;
    case 7:
        return 1 + (r >> 8) % 4096;
    default:
        return 1 + (r >> 8) % 64;
    }
}

/* Walk the stream as a keep-alive server would.  piece_mode < 0: all bytes at
 * once; otherwise they arrive in pieces (see piece_size).  buf holds all
 * size bytes; the ones not yet received are poisoned. */
static void walk(char *buf, size_t size, int piece_mode, uint64_t seed, struct run *out,
                 const uint8_t *data)
{
    uint64_t rng = seed;
    size_t have = piece_mode < 0 ? size : 0; /* bytes received so far */
    size_t start = 0;                        /* where the current request begins */
    size_t skip_to = 0;                      /* end of the body being skipped */
    struct http_request req;
    http_request_reset(&req);
    out->n = 0;

    ASAN_POISON_MEMORY_REGION(buf + have, size - have);
    for (;;) {
        if (start < skip_to) { /* inside a body: wait until it has all arrived */
            if (have >= skip_to)
                start = skip_to;
        }
        if (start >= skip_to) {
            long r = http_parse_request(&req, buf + start, have - start);
            if (r != HTTP_INCOMPLETE) {
                if (out->n == MAX_DECISIONS)
                    return;
                out->d[out->n++] = decide(r, &req, buf, start, have - start, data, size);
                if (r == HTTP_ERROR)
                    return; /* the connection closes */
                long long cl = req.content_length;
                start += (size_t)r;
                skip_to = cl > (long long)(size - start) ? SIZE_MAX : start + (size_t)cl;
                http_request_reset(&req);
                continue; /* the next request may be complete already */
            }
        }
        if (have == size) { /* the client has nothing more to send */
            if (out->n < MAX_DECISIONS)
                out->d[out->n++] = decide(HTTP_INCOMPLETE, &req, buf, start, 0, data, size);
            return;
        }
        size_t n = piece_size(&rng, piece_mode);
        if (n > size - have)
            n = size - have;
        ASAN_UNPOISON_MEMORY_REGION(buf + have, n);
        have += n;
    }
}

static void describe(const struct run *r, const char *name)
{
    fprintf(stderr, "%s: %d decisions\n", name, r->n);
    for (int i = 0; i < r->n; i++) {
        const struct decision *d = &r->d[i];
        fprintf(stderr,
                "  result %ld status %d method %d 1.%d keep %d cl %lld target %zu+%zu "
                "host %zu+%zu\n",
                d->result, d->status, (int)d->method, d->minor_version, d->keep_alive,
                d->content_length, d->target_off, d->target_len, d->host_off, d->host_len);
    }
}

static int same_decision(const struct decision *a, const struct decision *b)
{
    return a->result == b->result && a->status == b->status && a->method == b->method &&
           a->minor_version == b->minor_version && a->keep_alive == b->keep_alive &&
           a->content_length == b->content_length && a->target_off == b->target_off &&
           a->target_len == b->target_len && a->host_off == b->host_off &&
           a->host_len == b->host_len;
}

static void compare(const struct run *a, const struct run *b, const char *how, const uint8_t *data,
                    size_t size)
{
    int same = a->n == b->n;
    for (int i = 0; same && i < a->n; i++)
        same = same_decision(&a->d[i], &b->d[i]);
    if (same)
        return;
    describe(a, "whole");
    describe(b, how);
    fail("the same bytes in pieces were parsed differently", data, size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct run whole, split;
    if (size == 0)
        return 0;
    /* An exact-size copy: reading one byte past it is a heap overflow. */
    char *buf = malloc(size);
    if (buf == NULL)
        return 0;
    memcpy(buf, data, size);

    walk(buf, size, -1, 0, &whole, data);
    for (uint64_t salt = 1; salt <= 2; salt++) {
        walk(buf, size, 1, seed_of(data, size, salt), &split, data);
        compare(&whole, &split, "random pieces", data, size);
    }
    if (size <= 2048) { /* one byte at a time costs a parse per byte */
        walk(buf, size, 0, 0, &split, data);
        compare(&whole, &split, "one byte at a time", data, size);
    }
    ASAN_UNPOISON_MEMORY_REGION(buf, size);
    free(buf);
    return 0;
}
