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
#include <unistd.h>

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
        if (n + 1 >= cap)
            return 414;
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

static int status_for_errno(int err)
{
    // clang-format off
    switch (err) {
    case EACCES: case EPERM: case ELOOP: return 403;
    /* A name longer than the file system allows (NAME_MAX) names no file:
     * not found, as nginx says; 414 is for a target over our 8 KiB limit. */
    case ENAMETOOLONG: return 404;
    /* The server ran out of descriptors or memory: the file may well exist,
     * so "not found" would be a lie; "try again later" is the truth. */
    case EMFILE: case ENFILE: case ENOMEM: return 503;
    default: return 404; /* ENOENT, ENOTDIR, ... */
    }
    // clang-format on
}

/* Resolve symlinks and insist that the result is inside the docroot. */
static int real_inside(const char *docroot_real, const char *path, char real[PATH_MAX])
{
    if (realpath(path, real) == NULL)
        return status_for_errno(errno);
    size_t rl = strlen(docroot_real);
    if (rl == 1) /* the docroot is "/": everything is inside */
        return 0;
    if (strncmp(real, docroot_real, rl) != 0 || (real[rl] != '\0' && real[rl] != '/'))
        return 403;
    return 0;
}

/* The raw request path (before '?'), still percent-encoded, plus a slash. */
static int redirect_location(const char *target, size_t target_len, char *loc, size_t cap)
{
    /* target is not NUL-terminated (it points into the receive buffer):
     * strcspn() would read past its end. */
    size_t n = 0;
    while (n < target_len && target[n] != '?' && target[n] != '#')
        n++;
    if (n + 2 > cap)
        return 414;
    memcpy(loc, target, n);
    loc[n] = '/';
    loc[n + 1] = '\0';
    return 301;
}

static int open_regular(const char *real, struct resolved_file *out)
{
    int fd = open(real, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0)
        return status_for_errno(errno);
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return 403;
    }
    out->fd = fd;
    out->size = st.st_size;
    out->mtime = st.st_mtime;
    return 200;
}

void resolve_file(const char *docroot_real, const char *target, size_t target_len,
                  struct resolved_file *out)
{
    char path[PATH_MAX], full[PATH_MAX], real[PATH_MAX];
    out->fd = -1;
    out->size = 0;
    out->mtime = 0;
    out->location[0] = '\0';
    out->mime = "text/html";

    int st = decode_target_path(target, target_len, path, sizeof path);
    if (st == 0 && (size_t)snprintf(full, sizeof full, "%s%s", docroot_real, path) >= sizeof full)
        st = 414;
    if (st == 0)
        st = real_inside(docroot_real, full, real);
    if (st != 0) {
        out->status = st;
        return;
    }

    struct stat sb;
    if (stat(real, &sb) < 0) {
        out->status = status_for_errno(errno);
        return;
    }
    const char *name = path;
    if (S_ISDIR(sb.st_mode)) {
        if (path[strlen(path) - 1] != '/') {
            out->status =
                redirect_location(target, target_len, out->location, sizeof out->location);
            return;
        }
        /* index.html may itself be a symlink: check it the same way. */
        if ((size_t)snprintf(full, sizeof full, "%s/index.html", real) >= sizeof full) {
            out->status = 414;
            return;
        }
        st = real_inside(docroot_real, full, real);
        if (st != 0) {
            out->status = st;
            return;
        }
        name = "index.html";
    }
    out->status = open_regular(real, out);
    out->mime = mime_type(name);
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
