/* path.h — from a request target to an open file inside the docroot.
 *
 * The only door between a URL and the file system, so it is strict:
 *   1. drop "?query" and "#fragment";
 *   2. percent-decode exactly once ("%2e%2e" becomes "..", and is then refused);
 *   3. refuse NUL (%00), "." and ".." segments, anything not starting with "/";
 *   4. realpath() the result and refuse it unless it is still under the
 *      docroot (a symlink pointing outside is caught here);
 *   5. a directory: without a trailing slash -> 301 to the slashed path;
 *      with one -> its index.html (checked the same way), else 404;
 *   6. only regular files are opened; unreadable -> 403; out of descriptors
 *      or memory while opening -> 503 (the file may exist: retry later).
 */
#ifndef SERVERLAB_PATH_H
#define SERVERLAB_PATH_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

struct resolved_file {
    int status; /* 200, 301, 400, 403, 404, 414, 503 */
    int fd;     /* open, O_RDONLY|O_CLOEXEC, when status is 200; else -1 */
    off_t size;
    time_t mtime;
    const char *mime;    /* Content-Type for the file */
    char location[1024]; /* for 301: the slashed path, still percent-encoded */
};

/* Decode target into out (cap bytes, NUL-terminated): steps 1–3 above.
 * Returns 0, or the status to answer (400 bad escape, 404 NUL, 403 dot
 * segment, 414 too long). */
int decode_target_path(const char *target, size_t target_len, char *out, size_t cap);

/* Steps 1–6.  docroot_real must already be a realpath(). */
void resolve_file(const char *docroot_real, const char *target, size_t target_len,
                  struct resolved_file *out);

/* The Content-Type for a file name, by extension (application/octet-stream
 * when unknown). */
const char *mime_type(const char *path);

#endif
