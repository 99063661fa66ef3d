/* filecache.c — the open-file cache; see filecache.h. */
#include "filecache.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "path.h"
#include "response.h"

static int docroot_fd;
static struct cached_file *table[FILECACHE_SLOTS];
static size_t entries;          /* non-NULL slots of table[] */
static long long next_sweep_ms; /* when filecache_expire() looks again */

void filecache_init(int root_fd)
{
    docroot_fd = root_fd;
}

static size_t hash(const char *s, size_t n)
{
    uint32_t h = 2166136261u; /* FNV-1a: short, and good enough for paths */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h % FILECACHE_SLOTS;
}

void filecache_put(struct cached_file *f)
{
    if (--f->refs > 0)
        return;
    if (f->fd >= 0)
        close(f->fd);
    free(f->body);
    free(f);
}

/* Read the whole small file: its bytes then leave with the head in one sendmsg(). */
static int load_body(struct cached_file *f, int fd)
{
    f->body = malloc(f->size > 0 ? (size_t)f->size : 1);
    if (f->body == NULL)
        return -1;
    off_t done = 0;
    while (done < f->size) {
        ssize_t n = pread(fd, f->body + done, (size_t)(f->size - done), done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1; /* an error, or the file shrank meanwhile */
        done += n;
    }
    return 0;
}

/* The 200 heads, built once by common/response.c; only Date changes later. */
static int make_heads(struct cached_file *f)
{
    struct file_version v = { f->size, f->mtime, f->ctime, f->ino };
    struct file_answer whole = { 200, 0, f->size };
    char validators[256];
    if (http_validator_lines(validators, sizeof validators, &v, &whole) == 0)
        return -1;
    for (int ka = 0; ka <= 1; ka++) {
        f->head_len[ka] = http_format_head(f->head[ka], sizeof f->head[ka], 200, f->mime, f->size,
                                           ka, validators);
        const char *d =
            f->head_len[ka] ? memmem(f->head[ka], f->head_len[ka], "\r\nDate: ", 8) : NULL;
        if (d == NULL || (size_t)(d + 8 - f->head[ka]) + 29 > f->head_len[ka])
            return -1;
        f->date_at[ka] = (size_t)(d + 8 - f->head[ka]);
    }
    return 0;
}

/* A new entry from a freshly resolved file (takes over its descriptor). */
static struct cached_file *make_entry(const char *key, size_t key_len, struct resolved_file *r,
                                      const struct stat *st, long long now_ms)
{
    struct cached_file *f = calloc(1, sizeof *f);
    if (f == NULL) {
        close(r->fd);
        return NULL;
    }
    f->refs = 1;
    f->fd = r->fd;
    f->size = st->st_size;
    f->dev = st->st_dev;
    f->ino = st->st_ino;
    f->mtime = st->st_mtim;
    f->ctime = st->st_ctim;
    f->mime = r->mime;
    f->checked_ms = now_ms;
    f->used_ms = now_ms;
    memcpy(f->key, key, key_len);
    f->key_len = key_len;
    if (f->size <= FILECACHE_SMALL) {
        if (load_body(f, f->fd) < 0) {
            filecache_put(f);
            return NULL;
        }
        close(f->fd); /* the bytes are here: the descriptor is not needed */
        f->fd = -1;
    }
    if (make_heads(f) < 0) {
        filecache_put(f);
        return NULL;
    }
    return f;
}

static int same_time(struct timespec a, struct timespec b)
{
    return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

/* mtime alone can be put back (touch -r, cp -p, rsync -t) after rewriting
 * a file in place at the same size; ctime cannot: every change of content
 * or metadata sets it to now, and no system call sets it to anything else. */
static int same_file(const struct cached_file *f, const struct stat *st)
{
    return f->dev == st->st_dev && f->ino == st->st_ino && f->size == st->st_size &&
           same_time(f->mtime, st->st_mtim) && same_time(f->ctime, st->st_ctim);
}

static void drop_slot(struct cached_file **slot)
{
    filecache_put(*slot);
    *slot = NULL;
    entries--;
}

struct cached_file *filecache_get(const char *target, size_t target_len, long long now_ms)
{
    size_t key_len = 0; /* the path: query and fragment are ignored */
    while (key_len < target_len && target[key_len] != '?' && target[key_len] != '#')
        key_len++;
    if (key_len > FILECACHE_KEY_MAX)
        return NULL;

    struct cached_file **slot = &table[hash(target, key_len)];
    struct cached_file *f = *slot;
    int hit = f != NULL && f->key_len == key_len && memcmp(f->key, target, key_len) == 0;
    if (hit && now_ms - f->checked_ms < FILECACHE_RECHECK_MS) {
        f->refs++; /* the fast path: no system call at all */
        f->used_ms = now_ms;
        return f;
    }

    /* A miss, or an entry due for its check: open the path again, with every
     * safety check of the first time (beneath the docroot, in one step), and
     * compare what was opened with what is cached. */
    struct resolved_file r;
    resolve_file(docroot_fd, target, key_len, &r);
    if (hit && r.status == 200 && same_file(f, &r.st)) {
        close(r.fd);
        f->checked_ms = now_ms;
        f->used_ms = now_ms;
        f->refs++;
        return f;
    }
    if (hit) /* changed, gone or now refused: forget it */
        drop_slot(slot);
    if (r.status != 200)
        return NULL; /* resolve_file() opened nothing */
    struct cached_file *fresh = make_entry(target, key_len, &r, &r.st, now_ms);
    if (fresh == NULL)
        return NULL;
    if (*slot != NULL) /* another path in the same slot: evict it */
        drop_slot(slot);
    if (entries++ == 0)
        next_sweep_ms = now_ms + FILECACHE_RECHECK_MS;
    *slot = fresh;
    fresh->refs++;
    return fresh;
}

size_t filecache_head(const struct cached_file *f, int keep_alive, const char *date, char *out)
{
    int ka = keep_alive ? 1 : 0;
    memcpy(out, f->head[ka], f->head_len[ka]);
    memcpy(out + f->date_at[ka], date, 29);
    return f->head_len[ka];
}

const char *http_date_cached(time_t now_sec)
{
    static char date[30];
    static time_t formatted_for = -1;
    if (now_sec != formatted_for) {
        http_date(date);
        formatted_for = now_sec;
    }
    return date;
}

int filecache_timeout_ms(long long now_ms)
{
    if (entries == 0)
        return -1;
    return next_sweep_ms > now_ms ? (int)(next_sweep_ms - now_ms) : 0;
}

void filecache_expire(long long now_ms)
{
    if (entries == 0 || now_ms < next_sweep_ms)
        return;
    for (size_t i = 0; i < FILECACHE_SLOTS; i++)
        if (table[i] != NULL && now_ms - table[i]->used_ms >= FILECACHE_RECHECK_MS)
            drop_slot(&table[i]);
    next_sweep_ms = now_ms + FILECACHE_RECHECK_MS;
}

void filecache_clear(void)
{
    for (size_t i = 0; i < FILECACHE_SLOTS; i++)
        if (table[i] != NULL)
            drop_slot(&table[i]);
}
