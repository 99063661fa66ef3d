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

#include "path.h"

/* ---- from a virtual path to an open descriptor -------------------------- */

int root_is_dir(int root_fd, const char *vpath)
{
    int fd = open_beneath(root_fd, vpath, O_PATH | O_DIRECTORY, 0, NULL);
    if (fd < 0)
        return 0;
    close(fd);
    return 1;
}

int root_open_file(int root_fd, const char *vpath, struct stat *st)
{
    /* O_NONBLOCK: opening a FIFO for reading would otherwise wait for a
     * writer forever.  For the regular files we keep it changes nothing. */
    int fd = open_beneath(root_fd, vpath, O_RDONLY | O_NONBLOCK | O_NOCTTY, 0, st);
    if (fd < 0)
        return -1;
    if (!S_ISREG(st->st_mode)) {
        close(fd);
        errno = EACCES;
        return -1;
    }
    return fd;
}

int root_open_parent(int root_fd, const char *vpath, const char **name)
{
    const char *base = vpath_base(vpath);
    if (*base == '\0') {
        errno = EISDIR;
        return -1;
    }
    /* The directory part of vpath: "/a.txt" -> "/", "/pub/a.txt" -> "/pub/". */
    char dir[PATH_MAX];
    size_t dlen = (size_t)(base - vpath);
    if (dlen >= sizeof dir) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(dir, vpath, dlen);
    dir[dlen] = '\0';
    *name = base;
    return open_beneath(root_fd, dir, O_PATH | O_DIRECTORY, 0, NULL);
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

/* stat() an entry of the directory vpath (open as dir_fd), following a
 * symlink only when it stays inside the root. */
static int entry_stat(int root_fd, const char *vpath, int dir_fd, const char *name, struct stat *st)
{
    if (fstatat(dir_fd, name, st, AT_SYMLINK_NOFOLLOW) < 0)
        return -1;
    if (!S_ISLNK(st->st_mode))
        return 0;
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s", vpath, name) >= (int)sizeof path)
        return -1;
    int fd = open_beneath(root_fd, path, O_PATH, 0, st);
    if (fd < 0)
        return -1;
    close(fd);
    return 0;
}

static int list_directory(FILE *out, int root_fd, const char *vpath, int dir_fd, int names_only)
{
    struct dirent **names;
    /* scandirat() on ".": the directory already open, not its name again. */
    int n = scandirat(dir_fd, ".", &names, visible, alphasort);
    if (n < 0)
        return -1;
    for (int i = 0; i < n; i++) {
        struct stat st;
        if (entry_stat(root_fd, vpath, dir_fd, names[i]->d_name, &st) == 0 &&
            (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)))
            list_entry(out, names[i]->d_name, &st, names_only);
        free(names[i]);
    }
    free(names);
    return 0;
}

/* The listing text of what fd (open on vpath, described by st) is. */
static char *listing_of(int root_fd, const char *vpath, int fd, const struct stat *st,
                        int names_only, size_t *len)
{
    /* open_memstream: a FILE that writes into a growing malloc'd buffer, so
     * the listing is complete (or known to have failed) before the data
     * connection is even opened. */
    char *text = NULL;
    FILE *out = open_memstream(&text, len);
    if (out == NULL)
        return NULL;
    int rc = 0;
    if (S_ISDIR(st->st_mode))
        rc = list_directory(out, root_fd, vpath, fd, names_only);
    else
        list_entry(out, vpath_base(vpath), st, names_only);
    if (fclose(out) != 0)
        rc = -1;
    if (rc < 0) {
        free(text);
        return NULL;
    }
    return text;
}

char *root_listing(int root_fd, const char *vpath, int names_only, size_t *len)
{
    struct stat st;
    int fd = open_beneath(root_fd, vpath, O_RDONLY | O_NONBLOCK | O_NOCTTY, 0, &st);
    if (fd < 0)
        return NULL;
    char *text = NULL;
    if (S_ISDIR(st.st_mode) || S_ISREG(st.st_mode))
        text = listing_of(root_fd, vpath, fd, &st, names_only, len);
    else
        errno = EACCES;
    int saved = errno;
    close(fd);
    errno = saved;
    return text;
}

/* ---- atomic uploads ----------------------------------------------------- */

/* The temporary file of the upload in progress, for a signal handler that
 * must remove it before the process dies.  Changed only with SIGTERM and
 * SIGINT blocked, so the handler never sees half of an update. */
static char pending_tmp[NAME_MAX + 1];
static int pending_dir_fd;
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

/* mkostemp() for a directory descriptor: a new hidden file with an
 * unguessable name.  O_EXCL: never an existing file, nor a symlink. */
static int create_temp(int dir_fd, char tmp[NAME_MAX + 1])
{
    for (int tries = 0; tries < 100; tries++) {
        unsigned int r;
        if (getentropy(&r, sizeof r) < 0)
            return -1;
        snprintf(tmp, NAME_MAX + 1, ".stor-%08x", r);
        int fd = openat(dir_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd >= 0 || errno != EEXIST)
            return fd;
    }
    return -1;
}

int upload_begin(int root_fd, const char *vpath, struct upload *up)
{
    const char *base;
    up->fd = -1;
    up->dir_fd = root_open_parent(root_fd, vpath, &base);
    if (up->dir_fd < 0)
        return -1;
    if (strlen(base) > NAME_MAX) {
        errno = ENAMETOOLONG;
        goto fail;
    }
    strcpy(up->final, base);
    /* Only regular files are replaced: not a directory, not a symlink that
     * the server's owner put there.  (renameat() replaces a symlink itself,
     * never what it points to, so a swap after this check leads nowhere.) */
    struct stat st;
    if (fstatat(up->dir_fd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISREG(st.st_mode)) {
        errno = EEXIST;
        goto fail;
    }

    /* In the same directory as the final name, so that renameat() is atomic
     * (same file system), and hidden, so nobody lists or fetches it. */
    sigset_t old;
    block_stop_signals(&old);
    up->fd = create_temp(up->dir_fd, up->tmp);
    if (up->fd >= 0) {
        memcpy(pending_tmp, up->tmp, sizeof pending_tmp);
        pending_dir_fd = up->dir_fd;
        pending = 1;
    }
    restore_signals(&old);
    if (up->fd >= 0)
        return 0;
fail:;
    int saved = errno;
    close(up->dir_fd);
    up->dir_fd = -1;
    errno = saved;
    return -1;
}

int upload_commit(struct upload *up)
{
    /* The file was created 0600, private while incomplete.  fsync before
     * rename: otherwise a crash could leave the new name on a file whose
     * data never reached the disk.  close() can report a late write error. */
    int ok = fchmod(up->fd, 0644) == 0 && fsync(up->fd) == 0;
    if (close(up->fd) < 0)
        ok = 0;
    up->fd = -1;
    if (ok) {
        sigset_t old;
        block_stop_signals(&old);
        ok = renameat(up->dir_fd, up->tmp, up->dir_fd, up->final) == 0; /* the one atomic step */
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
    close(up->dir_fd);
    up->dir_fd = -1;
    return 0;
}

void upload_abort(struct upload *up)
{
    if (up->fd >= 0)
        close(up->fd);
    up->fd = -1;
    sigset_t old;
    block_stop_signals(&old);
    unlinkat(up->dir_fd, up->tmp, 0);
    pending = 0;
    restore_signals(&old);
    close(up->dir_fd);
    up->dir_fd = -1;
}

/* A resumed upload (REST n + STOR, or APPE) stays atomic the same way: the
 * temporary file first gets a copy of the existing file's first bytes, the
 * client's data is appended to that, and the whole goes in by one rename.
 * copy_file_range() copies inside the kernel (a reflink, no copy at all, on
 * file systems that share blocks).  Readers see the old file or the new
 * one, never the mix; the cost is writing the kept part once more. */
off_t upload_keep_prefix(struct upload *up, off_t length)
{
    /* O_NOFOLLOW: the one name beneath the parent's descriptor, never a
     * symlink the server's owner put there. */
    int old = openat(up->dir_fd, up->final, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    if (old < 0) {
        if (errno == ENOENT && length <= 0)
            return 0; /* APPE to a new file, or REST 0 */
        return -1;
    }
    if (fstat(old, &st) < 0 || !S_ISREG(st.st_mode) || (length >= 0 && length > st.st_size)) {
        close(old);
        errno = EINVAL; /* past the end: nothing to resume from */
        return -1;
    }
    if (length < 0)
        length = st.st_size;
    off_t from = 0;
    while (from < length) {
        /* Short copies are normal; the output offset is the file's own, so
         * the uploaded bytes are written right after the kept ones. */
        ssize_t n = copy_file_range(old, &from, up->fd, NULL, (size_t)(length - from), 0);
        if (n <= 0) {
            if (n == 0)
                errno = EIO; /* the file shrank meanwhile */
            close(old);
            return -1;
        }
    }
    close(old);
    return length;
}

void upload_discard_in_signal(void)
{
    if (pending)
        unlinkat(pending_dir_fd, pending_tmp, 0); /* async-signal-safe, like unlink() */
}
