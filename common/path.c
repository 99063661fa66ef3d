/* path.c — URL path to file, safely; see path.h for the rules. */
#include "path.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/openat2.h> /* struct open_how, RESOLVE_* */

static int hex_value(char c)
{
    // clang-format off
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    // clang-format on
    return -1;
}

/* Is any /-separated segment of p exactly "." or ".."? */
static int has_dot_segment(const char *p)
{
    /* The analyzer loses track of strcspn(), which never steps past the NUL. */
    /* NOLINTNEXTLINE(clang-analyzer-core.UndefinedBinaryOperatorResult) */
    for (const char *s = p; *s != '\0';) {
        while (*s == '/')
            s++;
        size_t n = strcspn(s, "/");
        if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
            return 1;
        s += n;
    }
    return 0;
}

int decode_target_path(const char *target, size_t target_len, char *out, size_t cap)
{
    size_t n = 0;
    if (target_len == 0 || target[0] != '/') /* "%2F..." too: the 301 echoes it */
        return 400;
    for (size_t i = 0; i < target_len && target[i] != '?' && target[i] != '#'; i++) {
        char c = target[i];
        if (c == '%') {
            int hi = i + 2 < target_len ? hex_value(target[i + 1]) : -1;
            int lo = hi >= 0 ? hex_value(target[i + 2]) : -1;
            if (lo < 0)
                return 400;
            c = (char)(hi * 16 + lo);
            i += 2;
        }
        if (c == '\0') /* "%00" (or a raw NUL) would cut the path short in every C call */
            return 404;
        if (n + 1 >= cap) /* longer than any path open() takes (PATH_MAX): */
            return 404;   /* no such file can exist; 414 is the parser's, over 8 KiB */
        out[n++] = c;
    }
    out[n] = '\0';
    if (out[0] != '/')
        return 400;
    /* Decoding happened once, above, so "%2e%2e" is ".." here and refused,
     * while "%252e" became the harmless literal "%2e". */
    if (has_dot_segment(out))
        return 403;
    return 0;
}

/* openat2(2) has no wrapper in glibc 2.36: call it by number. */
static int openat2_call(int dirfd, const char *path, const struct open_how *how)
{
    return (int)syscall(SYS_openat2, dirfd, path, how, sizeof *how);
}

int open_beneath(int root_fd, const char *path, int flags, mode_t mode, struct stat *st)
{
    struct open_how how = {
        .flags = (unsigned long long)(flags | O_CLOEXEC),
        /* openat2 insists on mode 0 unless creating.  (O_TMPFILE includes
         * the O_DIRECTORY bit, hence the comparison.) */
        .mode = ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE) ? mode : 0,
        /* BENEATH: no step may leave root_fd.  NO_MAGICLINKS: no jumping
         * through /proc/self/fd/N, which would name any open file. */
        .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
    };
    while (*path == '/') /* an absolute path is refused beneath: "/a" means "a" */
        path++;
    if (*path == '\0')
        path = ".";
    int fd;
    /* EAGAIN: a rename elsewhere raced a ".." inside a symlink, and the
     * kernel could not prove the walk stayed beneath.  Retrying is the
     * documented answer; a few times is plenty. */
    for (int tries = 0; (fd = openat2_call(root_fd, path, &how)) < 0 && errno == EAGAIN; tries++)
        if (tries == 8)
            return -1;
    if (fd < 0 || st == NULL)
        return fd;
    if (fstat(fd, st) < 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

int open_docroot(const char *docroot)
{
    int fd = open(docroot, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int probe = open_beneath(fd, ".", O_PATH, 0, NULL);
    if (probe < 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    close(probe);
    return fd;
}

static int status_for_errno(int err)
{
    // clang-format off
    switch (err) {
    /* EXDEV: open_beneath() refused a way out of the docroot. */
    case EACCES: case EPERM: case ELOOP: case EXDEV: return 403;
    /* A name longer than the file system allows (NAME_MAX) names no file:
     * not found, as nginx says; 414 is for a target over our 8 KiB limit. */
    case ENAMETOOLONG: return 404;
    /* The server ran out of descriptors or memory, or lost a race with a
     * rename (EAGAIN): the file may well exist, so "not found" would be a
     * lie; "try again later" is the truth. */
    case EMFILE: case ENFILE: case ENOMEM: case EAGAIN: return 503;
    case ENOSYS: return 500;
    default: return 404; /* ENOENT, ENOTDIR, ... */
    }
    // clang-format on
}

/* The raw request path (before '?'), still percent-encoded, plus a slash.
 * It must not start with "//" (or "/\", which browsers read the same way):
 * "Location: //host/" is a network path, a redirect to another site.  So
 * leading slashes become one, and a backslash is sent encoded. */
static int redirect_location(const char *target, size_t target_len, char *loc, size_t cap)
{
    /* target is not NUL-terminated (it points into the receive buffer):
     * strcspn() would read past its end. */
    size_t i = 0, n = 0;
    while (i + 1 < target_len && target[i + 1] == '/')
        i++;
    for (; i < target_len && target[i] != '?' && target[i] != '#'; i++) {
        if (n + 5 > cap)
            return 414;
        if (target[i] == '\\') {
            memcpy(loc + n, "%5C", 3);
            n += 3;
        } else {
            loc[n++] = target[i];
        }
    }
    loc[n] = '/';
    loc[n + 1] = '\0';
    return 301;
}

/* Steps 1–6 of path.h; sets out->fd and the file's details only for a 200. */
static int open_target(int docroot_fd, const char *target, size_t target_len,
                       struct resolved_file *out)
{
    char path[PATH_MAX];
    int st = decode_target_path(target, target_len, path, sizeof path);
    if (st != 0)
        return st;

    /* O_NONBLOCK: opening a FIFO would otherwise wait for a writer forever. */
    const int flags = O_RDONLY | O_NONBLOCK | O_NOCTTY;
    struct stat sb;
    int fd = open_beneath(docroot_fd, path, flags, 0, &sb);
    if (fd < 0)
        return status_for_errno(errno);
    const char *name = path;
    if (S_ISDIR(sb.st_mode)) {
        /* Decided from the opened descriptor, not from a second lookup. */
        if (path[strlen(path) - 1] != '/') {
            close(fd);
            return redirect_location(target, target_len, out->location, sizeof out->location);
        }
        /* index.html beneath the directory just opened, not by name again:
         * what was checked is what is used (so it may not link out of it). */
        int dir_fd = fd;
        fd = open_beneath(dir_fd, "index.html", flags, 0, &sb);
        int err = errno;
        close(dir_fd);
        if (fd < 0)
            return status_for_errno(err);
        name = "index.html";
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return 403;
    }
    out->fd = fd;
    out->st = sb;
    out->size = sb.st_size;
    out->mtime = sb.st_mtime;
    out->mime = mime_type(name);
    return 200;
}

void resolve_file(int docroot_fd, const char *target, size_t target_len, struct resolved_file *out)
{
    out->fd = -1;
    out->size = 0;
    out->mtime = 0;
    memset(&out->st, 0, sizeof out->st);
    out->location[0] = '\0';
    out->mime = "text/html";
    out->status = open_target(docroot_fd, target, target_len, out);
}

const char *mime_type(const char *path)
{
    // clang-format off
    static const struct { const char *ext, *type; } types[] = {
        { "html", "text/html; charset=utf-8" }, { "htm", "text/html; charset=utf-8" },
        { "css", "text/css; charset=utf-8" },   { "js", "text/javascript; charset=utf-8" },
        { "json", "application/json" },         { "txt", "text/plain; charset=utf-8" },
        { "png", "image/png" },                 { "jpg", "image/jpeg" },
        { "jpeg", "image/jpeg" },               { "gif", "image/gif" },
        { "svg", "image/svg+xml" },             { "ico", "image/x-icon" },
        { "webp", "image/webp" },               { "pdf", "application/pdf" },
        { "wasm", "application/wasm" },         { "woff2", "font/woff2" },
        { "mp4", "video/mp4" },
    };
    // clang-format on
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(slash ? slash : path, '.');
    if (dot != NULL)
        for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
            if (strcasecmp(dot + 1, types[i].ext) == 0)
                return types[i].type;
    return "application/octet-stream";
}
