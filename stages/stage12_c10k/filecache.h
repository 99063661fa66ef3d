/* filecache.h — answers for popular files, kept ready between requests.
 *
 * Serving a file the plain way costs, per request: openat2() (a walk of
 * every path component), fstat(), formatting the head, close().  A
 * server answering the same few files over and over can do that work once:
 * this cache keeps, per request path, the open descriptor (or, for a small
 * file, its whole content in memory, so head and body leave in one sendmsg)
 * and the response heads, ready to copy.
 *
 * Bounded: a fixed table of FILECACHE_SLOTS entries, direct-mapped (a path
 * hashes to one slot; a newcomer evicts the occupant), so it holds at most
 * that many descriptors and FILECACHE_SLOTS * FILECACHE_SMALL bytes of content.
 *
 * Never more than a second stale: an entry older than FILECACHE_RECHECK_MS
 * is checked again the way the first request was (resolve_file() of
 * common/path.c: opened beneath the docroot in one step), and dropped if the
 * file it names is no longer the same one (device, inode, size, mtime and
 * ctime: mtime can be put back after an in-place rewrite, ctime cannot).
 *
 * Never holding a file nobody asks for: an entry unused for about
 * FILECACHE_RECHECK_MS is dropped by filecache_expire(), which the event
 * loop calls when filecache_timeout_ms() says so.  Otherwise a deleted file
 * would stay open (its disk space never freed) until its path, or one
 * sharing its slot, was requested again.
 *
 * Entries are reference-counted: a connection still sending an entry's body
 * keeps it (and its descriptor) alive after the table has dropped it.
 * Each worker process has its own cache; nothing is shared or locked.
 */
#ifndef STAGE12_FILECACHE_H
#define STAGE12_FILECACHE_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#define FILECACHE_SLOTS      256
#define FILECACHE_SMALL      (32 * 1024) /* up to this size, the content is kept in memory */
#define FILECACHE_RECHECK_MS 1000
#define FILECACHE_KEY_MAX    256 /* longer paths are not cached */
#define FILECACHE_HEAD_MAX   512

struct cached_file {
    int refs; /* the table's reference + one per sender */
    off_t size;
    int fd;     /* for sendfile(); -1 when body is set */
    char *body; /* the whole file, when small */
    dev_t dev;  /* what the file was when cached: */
    ino_t ino;
    struct timespec mtime;
    struct timespec ctime;
    const char *mime;
    long long checked_ms; /* when it was last found unchanged */
    long long used_ms;    /* when it was last served */
    size_t head_len[2];   /* [keep_alive]: a complete 200 head, validators included */
    size_t date_at[2];    /* where its Date value starts */
    char head[2][FILECACHE_HEAD_MAX];
    size_t key_len;
    char key[FILECACHE_KEY_MAX];
};

/* The docroot all lookups resolve beneath (options.h's docroot_fd). */
void filecache_init(int docroot_fd);

/* The entry for a GET/HEAD of target, with a reference for the caller;
 * NULL when the answer is not a plain 200 (a 301, 403, 404 ...) or cannot
 * be cached: then the caller answers through common/response.c. */
struct cached_file *filecache_get(const char *target, size_t target_len, long long now_ms);

/* Drop the caller's reference. */
void filecache_put(struct cached_file *f);

/* Copy f's response head (keep_alive or close) into out, with the Date
 * header set to date (29 characters); returns its length. */
size_t filecache_head(const struct cached_file *f, int keep_alive, const char *date, char *out);

/* The Date header value, formatted again only when the second changes:
 * strftime() per request is measurable at 100 000 requests/s. */
const char *http_date_cached(time_t now_sec);

/* Milliseconds until filecache_expire() has work to do; -1 when the cache
 * is empty.  The event loop waits no longer than this. */
int filecache_timeout_ms(long long now_ms);

/* Drop the entries not served for FILECACHE_RECHECK_MS (looks at the table
 * at most once per FILECACHE_RECHECK_MS). */
void filecache_expire(long long now_ms);

/* Close everything (at exit). */
void filecache_clear(void);

#endif
