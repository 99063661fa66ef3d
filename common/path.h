/* path.h — from a request target to an open file inside the docroot.
 *
 * The only door between a URL and the file system, so it is strict:
 *   1. drop "?query" and "#fragment";
 *   2. percent-decode exactly once ("%2e%2e" becomes "..", and is then refused);
 *   3. refuse NUL (%00), "." and ".." segments, anything not starting with "/";
 *   4. open the result with open_beneath() (below): the kernel resolves it,
 *      symlinks included, and refuses any step that would leave the docroot;
 *   5. decide from the *opened* descriptor: a directory without a trailing
 *      slash -> 301 to the slashed path; with one -> its index.html, opened
 *      beneath that directory's descriptor, else 404;
 *   6. only regular files are served; unreadable -> 403; out of descriptors
 *      or memory while opening -> 503 (the file may exist: retry later).
 *
 * Why one step: checking a name (realpath(), stat()) and then opening the
 * same name lets the kernel resolve it twice.  Between the two, anyone who
 * can write inside the docroot can swap a directory for a symlink leading
 * out, and the open follows it.  A descriptor, once open, cannot change
 * what it refers to; a name can.  See NOTES.md, "TOCTOU".
 */
#ifndef SERVERLAB_PATH_H
#define SERVERLAB_PATH_H

#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

/* Open path beneath the directory root_fd, in one step that cannot be raced:
 * openat2(2) with RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS.  Every component,
 * symlinks included, is resolved by the kernel relative to root_fd, and the
 * call fails if any step would leave it:
 *   EXDEV   a symlink or ".." leading above root_fd, or an absolute symlink
 *           (even one pointing back inside: the kernel cannot tell);
 *   ELOOP   a /proc "magic link" (/proc/self/fd/N), or a symlink loop;
 *   ENOSYS  the kernel is older than 5.6 (no openat2): nothing is opened.
 * Leading slashes are skipped ("/a/b" means root_fd's "a/b"; "/" is root_fd
 * itself).  flags and mode are open(2)'s; O_CLOEXEC is always added.  On
 * success, when st is not NULL, *st is the fstat() of the opened file, so the
 * caller decides (directory? regular file? which size?) from what was
 * actually opened.  Returns the descriptor, or -1 with errno set. */
int open_beneath(int root_fd, const char *path, int flags, mode_t mode, struct stat *st);

/* Open the docroot as the root_fd of open_beneath() (a close-on-exec O_PATH
 * directory descriptor), after checking that this kernel has openat2: a
 * server that cannot resolve safely must not start.  Returns the
 * descriptor, or -1 with errno set (ENOSYS: no openat2; ENOTDIR, ...). */
int open_docroot(const char *docroot);

struct resolved_file {
    int status; /* 200, 301, 400, 403, 404, 414, 503 */
    int fd;     /* open, O_RDONLY|O_CLOEXEC, when status is 200; else -1 */
    off_t size;
    time_t mtime;
    struct stat st;      /* when status is 200: the fstat() of fd */
    const char *mime;    /* Content-Type for the file */
    char location[1024]; /* for 301: the slashed path, still percent-encoded */
};

/* Decode target into out (cap bytes, NUL-terminated): steps 1–3 above.
 * Returns 0, or the status to answer (400 bad escape, 404 NUL or longer
 * than any path can be, 403 dot segment). */
int decode_target_path(const char *target, size_t target_len, char *out, size_t cap);

/* Steps 1–6.  docroot_fd comes from open_docroot(). */
void resolve_file(int docroot_fd, const char *target, size_t target_len, struct resolved_file *out);

/* The Content-Type for a file name, by extension (application/octet-stream
 * when unknown). */
const char *mime_type(const char *path);

#endif
