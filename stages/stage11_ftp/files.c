/* files.c — see files.h.  Server only. */
#include "files.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- from a virtual path to a real one -------------------------------- */

static int is_under(const char *root, const char *real)
{
    size_t n = strlen(root);
    if (strcmp(root, "/") == 0)
        return 1;
    return strncmp(real, root, n) == 0 && (real[n] == '\0' || real[n] == '/');
}

/* realpath(root + vpath) into real[PATH_MAX], refused unless it is still
 * under the root: the lexical checks cannot see where a symlink leads. */
static int resolve_inside(const char *root, const char *vpath, char *real)
{
    char joined[PATH_MAX];
    if (snprintf(joined, sizeof joined, "%s%s", root, vpath) >= (int)sizeof joined) {
        errno = ENAMETOOLONG;
        return -1;
    }
    if (realpath(joined, real) == NULL)
        return -1;
    if (!is_under(root, real)) {
        errno = EACCES;
        return -1;
    }
    return 0;
}

int root_is_dir(const char *root, const char *vpath)
{
    char real[PATH_MAX];
    struct stat st;
    return resolve_inside(root, vpath, real) == 0 && stat(real, &st) == 0 && S_ISDIR(st.st_mode);
}

int root_open_file(const char *root, const char *vpath, struct stat *st)
{
    char real[PATH_MAX];
    if (resolve_inside(root, vpath, real) < 0)
        return -1;
    /* O_NONBLOCK: opening a FIFO for reading would otherwise wait for a
     * writer forever.  For the regular files we keep it changes nothing. */
    int fd = open(real, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode)) {
        close(fd);
        errno = EACCES;
        return -1;
    }
    return fd;
}

/* ---- listings ---------------------------------------------------------- */

static int visible(const struct dirent *d)
{
    return d->d_name[0] != '.' && !has_control_char(d->d_name, strlen(d->d_name));
}

/* "-rw-r--r--" */
static void mode_string(mode_t mode, char out[11])
{
    static const char rwx[] = "rwxrwxrwx";
    out[0] = S_ISDIR(mode) ? 'd' : '-';
    for (int i = 0; i < 9; i++)
        out[i + 1] = (mode & (0400 >> i)) ? rwx[i] : '-';
    out[10] = '\0';
}

/* ls(1) shows the time of day for files changed in the last six months and
 * the year for older ones.  Clients parse both forms. */
static void ls_time(time_t mtime, char out[16])
{
    struct tm tm;
    time_t now = time(NULL);
    const char *format =
        (mtime > now - 182L * 24 * 3600 && mtime < now + 3600) ? "%b %e %H:%M" : "%b %e  %Y";
    if (gmtime_r(&mtime, &tm) == NULL || strftime(out, 16, format, &tm) == 0)
        strcpy(out, "Jan  1  1970");
}

static void list_entry(FILE *out, const char *name, const struct stat *st, int names_only)
{
    if (names_only) {
        fprintf(out, "%s\r\n", name);
        return;
    }
    char mode[11], when[16];
    mode_string(st->st_mode, mode);
    ls_time(st->st_mtime, when);
    fprintf(out, "%s %3lu ftp      ftp      %12lld %s %s\r\n", mode, (unsigned long)st->st_nlink,
            (long long)st->st_size, when, name);
}

/* stat() an entry, following a symlink only when it stays inside the root. */
static int entry_stat(const char *root, const char *dir, const char *name, struct stat *st)
{
    char path[PATH_MAX], real[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path || lstat(path, st) < 0)
        return -1;
    if (!S_ISLNK(st->st_mode))
        return 0;
    if (realpath(path, real) == NULL || !is_under(root, real))
        return -1;
    return stat(real, st);
}

static int list_directory(FILE *out, const char *root, const char *dir, int names_only)
{
    struct dirent **names;
    int n = scandir(dir, &names, visible, alphasort);
    if (n < 0)
        return -1;
    for (int i = 0; i < n; i++) {
        struct stat st;
        if (entry_stat(root, dir, names[i]->d_name, &st) == 0 &&
            (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)))
            list_entry(out, names[i]->d_name, &st, names_only);
        free(names[i]);
    }
    free(names);
    return 0;
}

char *root_listing(const char *root, const char *vpath, int names_only, size_t *len)
{
    char real[PATH_MAX];
    struct stat st;
    if (resolve_inside(root, vpath, real) < 0 || stat(real, &st) < 0)
        return NULL;
    if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)) {
        errno = EACCES;
        return NULL;
    }

    /* open_memstream: a FILE that writes into a growing malloc'd buffer, so
     * the listing is complete (or known to have failed) before the data
     * connection is even opened. */
    char *text = NULL;
    FILE *out = open_memstream(&text, len);
    if (out == NULL)
        return NULL;
    int rc = 0;
    if (S_ISDIR(st.st_mode))
        rc = list_directory(out, root, real, names_only);
    else
        list_entry(out, vpath_base(vpath), &st, names_only);
    if (fclose(out) != 0)
        rc = -1;
    if (rc < 0) {
        free(text);
        return NULL;
    }
    return text;
}

/* ---- atomic uploads ----------------------------------------------------- */

/* The temporary file of the upload in progress, for a signal handler that
 * must remove it before the process dies.  Changed only with SIGTERM and
 * SIGINT blocked, so the handler never sees half of an update. */
static char pending_tmp[PATH_MAX];
static volatile sig_atomic_t pending;

static void block_stop_signals(sigset_t *old)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigprocmask(SIG_BLOCK, &set, old);
}

static void restore_signals(const sigset_t *old)
{
    sigprocmask(SIG_SETMASK, old, NULL);
}

int upload_begin(const char *root, const char *vpath, struct upload *up)
{
    const char *base = vpath_base(vpath);
    if (*base == '\0') {
        errno = EISDIR;
        return -1;
    }

    /* The directory part of vpath: "/a.txt" -> "/", "/pub/a.txt" -> "/pub". */
    char dirv[PATH_MAX], dir[PATH_MAX];
    size_t dlen = (size_t)(base - vpath);
    if (dlen > 1)
        dlen--;
    memcpy(dirv, vpath, dlen);
    dirv[dlen] = '\0';

    struct stat st;
    if (resolve_inside(root, dirv, dir) < 0 || stat(dir, &st) < 0)
        return -1;
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    if (snprintf(up->final, sizeof up->final, "%s/%s", dir, base) >= (int)sizeof up->final ||
        snprintf(up->tmp, sizeof up->tmp, "%s/.stor-XXXXXX", dir) >= (int)sizeof up->tmp) {
        errno = ENAMETOOLONG;
        return -1;
    }
    /* Only regular files are replaced: not a directory, not a symlink that
     * the server's owner put there. */
    if (lstat(up->final, &st) == 0 && !S_ISREG(st.st_mode)) {
        errno = EEXIST;
        return -1;
    }

    /* In the same directory as the final name, so that rename() is atomic
     * (same file system), and hidden, so nobody lists or fetches it. */
    sigset_t old;
    block_stop_signals(&old);
    up->fd = mkostemp(up->tmp, O_CLOEXEC);
    if (up->fd >= 0) {
        memcpy(pending_tmp, up->tmp, sizeof pending_tmp);
        pending = 1;
    }
    restore_signals(&old);
    return up->fd < 0 ? -1 : 0;
}

int upload_commit(struct upload *up)
{
    /* mkstemp made the file 0600, private while incomplete.  fsync before
     * rename: otherwise a crash could leave the new name on a file whose
     * data never reached the disk.  close() can report a late write error. */
    int ok = fchmod(up->fd, 0644) == 0 && fsync(up->fd) == 0;
    if (close(up->fd) < 0)
        ok = 0;
    up->fd = -1;
    if (ok) {
        sigset_t old;
        block_stop_signals(&old);
        ok = rename(up->tmp, up->final) == 0; /* the one atomic step */
        if (ok)
            pending = 0;
        restore_signals(&old);
    }
    if (!ok) {
        int saved = errno;
        upload_abort(up);
        errno = saved;
        return -1;
    }
    return 0;
}

void upload_abort(struct upload *up)
{
    if (up->fd >= 0)
        close(up->fd);
    up->fd = -1;
    sigset_t old;
    block_stop_signals(&old);
    unlink(up->tmp);
    pending = 0;
    restore_signals(&old);
}

void upload_discard_in_signal(void)
{
    if (pending)
        unlink(pending_tmp); /* unlink() is async-signal-safe */
}
