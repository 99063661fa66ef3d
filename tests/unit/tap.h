/* tap.h — the little each unit test needs: TAP output and guarded buffers.
 *
 * Every check prints "ok N - name" or "not ok N - name" (TAP, what bats
 * prints too, so tests/run.sh counts both the same way); tap_done() prints
 * the plan and returns the exit status: 1 when anything failed.
 *
 * The parser and the path resolver get pointers into a receive buffer that
 * is not NUL-terminated.  guarded_copy() places the bytes so that they end
 * exactly where an inaccessible page begins: reading one byte too far is a
 * SIGSEGV, in the plain build as well as under AddressSanitizer.
 */
#ifndef SERVERLAB_TAP_H
#define SERVERLAB_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static int tap_count, tap_failures;

__attribute__((format(printf, 2, 3))) static inline int ok(int passed, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("%sok %d - ", passed ? "" : "not ", ++tap_count);
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    if (!passed)
        tap_failures++;
    fflush(stdout);
    return passed;
}

/* A detail of the last failure, as a TAP comment. */
__attribute__((format(printf, 1, 2))) static inline void diag(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("# ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
}

__attribute__((format(printf, 2, 3))) static inline void skip(const char *why, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("ok %d - ", ++tap_count);
    vprintf(fmt, ap);
    printf(" # skip %s\n", why);
    va_end(ap);
}

static inline int tap_done(void)
{
    printf("1..%d\n", tap_count);
    if (tap_failures)
        printf("# %d of %d checks failed\n", tap_failures, tap_count);
    return tap_failures ? 1 : 0;
}

/* A region of `cap` usable bytes followed by a PROT_NONE page. */
struct guarded {
    char *base; /* start of the mapping */
    char *end;  /* first inaccessible byte */
    size_t cap;
    size_t mapped;
};

static inline struct guarded guarded_new(size_t cap)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t usable = (cap + page - 1) / page * page;
    struct guarded g = { NULL, NULL, cap, usable + page };
    void *m = mmap(NULL, g.mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED || mprotect((char *)m + usable, page, PROT_NONE) < 0) {
        perror("mmap");
        exit(2);
    }
    g.base = m;
    g.end = g.base + usable;
    return g;
}

/* Copy n bytes (n <= cap) so that they end right at the guard page. */
static inline char *guarded_copy(struct guarded *g, const char *data, size_t n)
{
    if (n > g->cap) {
        fprintf(stderr, "guarded_copy: %zu bytes do not fit in %zu\n", n, g->cap);
        exit(2);
    }
    char *p = g->end - n;
    if (n > 0)
        memmove(p, data, n);
    return p;
}

static inline void guarded_free(struct guarded *g)
{
    munmap(g->base, g->mapped);
    g->base = g->end = NULL;
}

#endif
