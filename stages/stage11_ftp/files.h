/* files.h — the FTP root: the only door between a client's file names and
 * the file system (the FTP counterpart of common/path.c).
 *
 * A session works with *virtual* paths: "/" is the root, "/pub/a.txt" a file
 * under it.  A client's name becomes a virtual path lexically, and only
 * names that cannot escape get that far: no "..", no control characters
 * (NUL, CR, LF, ...), no hidden ".name" segments.  Then it is opened with
 * open_beneath() (common/path.h): the kernel resolves it beneath the root's
 * descriptor in one step and refuses a symlink leading out, so nobody who
 * can write in the root can race a check and an open.  Everything else is
 * decided from the opened descriptor.  Only regular files are read or
 * written.
 */
#ifndef STAGE11_FILES_H
#define STAGE11_FILES_H

#include <limits.h>
#include <stddef.h>
#include <sys/stat.h>

#include "command.h"

/* root_fd everywhere below: options.h's docroot_fd. */

/* 1 if vpath is a directory inside the root, else 0. */
int root_is_dir(int root_fd, const char *vpath);

/* Open a regular file inside the root for reading and fstat it into st.
 * Returns the descriptor, or -1 (missing, outside, not a regular file,
 * unreadable). */
int root_open_file(int root_fd, const char *vpath, struct stat *st);

/* The listing of a directory (or of a single file) inside the root, as the
 * text LIST sends ("ls -l" lines) or NLST sends (names only), CRLF-ended.
 * Hidden names and anything but regular files and directories are left out.
 * Returns a malloc'd buffer (*len bytes) to free(), or NULL. */
char *root_listing(int root_fd, const char *vpath, int names_only, size_t *len);

/* Open the directory part of vpath beneath the root (O_PATH: for the *at()
 * calls) and point *name at vpath's last component, which the caller then
 * uses with mkdirat(), unlinkat(), renameat(), ... relative to it: one name,
 * no slash, nothing left for anyone to swap.  Returns the descriptor, or -1
 * (EISDIR when vpath ends in "/" or is the root itself). */
int root_open_parent(int root_fd, const char *vpath, const char **name);

/* An upload in progress: data goes to `tmp`, a hidden file created next to
 * `final` in the directory dir_fd, and becomes `final` by one renameat()
 * only when it is complete. */
struct upload {
    int fd;
    int dir_fd;
    char tmp[NAME_MAX + 1];
    char final[NAME_MAX + 1];
};

/* Create the temporary file for vpath.  Returns 0, or -1 (the name or its
 * directory refused, the target is not a regular file, no permission). */
int upload_begin(int root_fd, const char *vpath, struct upload *up);

/* The data is complete: flush it to disk and rename it into place.
 * Returns 0, or -1 (and the temporary file is gone). */
int upload_commit(struct upload *up);

/* The transfer failed: remove the temporary file; `final` is untouched. */
void upload_abort(struct upload *up);

/* Resuming (REST + STOR, APPE): start the temporary file with the first
 * length bytes of the existing file (length < 0: all of it).  Returns the
 * bytes kept, or -1 (EINVAL: the file is shorter than length). */
off_t upload_keep_prefix(struct upload *up, off_t length);

/* For a SIGTERM handler: remove the temporary file of the upload in
 * progress, if any.  Async-signal-safe. */
void upload_discard_in_signal(void);

#endif
