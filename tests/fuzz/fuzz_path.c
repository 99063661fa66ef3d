/* fuzz_path.c — libFuzzer harness for the path resolver (common/path.c).
 *
 * The property: whatever the request target, resolve_file() either refuses
 * it or opens a regular file that really lies inside the docroot, and a
 * 301 never sends the browser to another host ("//host/" is a network path).  "Really"
 * is judged by the kernel, not by the resolver's own string logic: the path
 * of the opened descriptor is read back from /proc/self/fd.
 *
 * The docroot is built once, in a temporary directory, with the traps a
 * hostile target would aim at:
 *
 *   base/root/               the docroot
 *     index.html a.txt %41.txt sub/index.html sub/b.css noindex/c.txt
 *     link_in -> a.txt                  a symlink that stays inside: fine
 *     link_dir_in -> sub                the same for a directory
 *     link_out -> ../outside/secret.txt a symlink leading out
 *     link_out_dir -> ../outside        a directory leading out
 *     link_up -> ..                     the parent of the docroot
 *     link_abs -> /etc                  an absolute way out
 *     link_sibling -> ../rootevil       shares the docroot's name as a prefix
 *     link_loop -> link_loop            ELOOP
 *     sub/link_back -> ../../outside/secret.txt
 *     idx_out/index.html -> ../../outside/secret.txt   an index leading out
 *     fifo                              not a regular file (must not block)
 *   base/outside/secret.txt, base/rootevil/secret.txt   must never be opened
 *
 * The target is handed over as an exact-size copy without a terminating
 * NUL, as the parser hands it over (pointing into the receive buffer), so
 * reading past target_len is caught by AddressSanitizer.
 */
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "path.h"

static char base[PATH_MAX];
static char docroot_real[PATH_MAX];
static int docroot_fd; /* open_docroot(docroot_real) */
static struct stat secrets[2];
static int fd_probe; /* the lowest free descriptor after setup: a leak moves it */

__attribute__((noreturn)) static void die(const char *what)
{
    perror(what);
    abort();
}

static void make_file(const char *rel, const char *content)
{
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/%s", base, rel);
    FILE *f = fopen(p, "w");
    if (f == NULL || fputs(content, f) < 0 || fclose(f) != 0)
        die(p);
}

static void make_dir(const char *rel)
{
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/%s", base, rel);
    if (mkdir(p, 0755) < 0)
        die(p);
}

static void make_link(const char *target, const char *rel)
{
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/%s", base, rel);
    if (symlink(target, p) < 0)
        die(p);
}

static int remove_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

static void remove_base(void)
{
    nftw(base, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

static int lowest_free_fd(void)
{
    int fd = dup(2);
    if (fd < 0)
        die("dup");
    close(fd);
    return fd;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    const char *tmp = getenv("TMPDIR");
    snprintf(base, sizeof base, "%s/fuzz_path.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (mkdtemp(base) == NULL)
        die("mkdtemp");
    atexit(remove_base);

    make_dir("root");
    make_dir("outside");
    make_dir("rootevil");
    make_file("outside/secret.txt", "secret\n");
    make_file("rootevil/secret.txt", "secret too\n");
    make_file("root/index.html", "<p>home</p>\n");
    make_file("root/a.txt", "a\n");
    make_file("root/%41.txt", "literal percent\n");
    make_dir("root/sub");
    make_file("root/sub/index.html", "<p>sub</p>\n");
    make_file("root/sub/b.css", "p{}\n");
    make_dir("root/noindex");
    make_file("root/noindex/c.txt", "c\n");
    make_link("a.txt", "root/link_in");
    make_link("sub", "root/link_dir_in");
    make_link("../outside/secret.txt", "root/link_out");
    make_link("../outside", "root/link_out_dir");
    make_link("..", "root/link_up");
    make_link("/etc", "root/link_abs");
    make_link("../rootevil", "root/link_sibling");
    make_link("link_loop", "root/link_loop");
    make_link("../../outside/secret.txt", "root/sub/link_back");
    make_dir("root/idx_out");
    make_link("../../outside/secret.txt", "root/idx_out/index.html");
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/root/fifo", base);
    if (mkfifo(p, 0644) < 0)
        die(p);

    snprintf(p, sizeof p, "%s/root", base);
    if (realpath(p, docroot_real) == NULL)
        die("realpath");
    docroot_fd = open_docroot(docroot_real);
    if (docroot_fd < 0)
        die("open_docroot");
    snprintf(p, sizeof p, "%s/outside/secret.txt", base);
    if (stat(p, &secrets[0]) < 0)
        die(p);
    snprintf(p, sizeof p, "%s/rootevil/secret.txt", base);
    if (stat(p, &secrets[1]) < 0)
        die(p);
    fd_probe = lowest_free_fd();
    return 0;
}

__attribute__((noreturn)) static void fail(const char *what, const char *target, size_t len)
{
    fprintf(stderr, "fuzz_path: %s; target: \"", what);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)target[i];
        fprintf(stderr, c >= ' ' && c < 0x7f && c != '"' ? "%c" : "\\x%02x", c);
    }
    fprintf(stderr, "\"\n");
    abort();
}

/* The opened file must be a regular file under docroot_real, by the kernel's
 * own account of where it is. */
static void check_opened(const struct resolved_file *f, const char *target, size_t len)
{
    struct stat st;
    if (f->fd < 0 || fstat(f->fd, &st) < 0)
        fail("200 without an open descriptor", target, len);
    if (!S_ISREG(st.st_mode))
        fail("200 for something that is not a regular file", target, len);
    if (st.st_size != f->size)
        fail("size differs from the file's", target, len);
    for (int i = 0; i < 2; i++)
        if (st.st_dev == secrets[i].st_dev && st.st_ino == secrets[i].st_ino)
            fail("opened a file outside the docroot", target, len);

    char link[64], real[PATH_MAX];
    snprintf(link, sizeof link, "/proc/self/fd/%d", f->fd);
    ssize_t n = readlink(link, real, sizeof real - 1);
    if (n < 0)
        die("readlink");
    real[n] = '\0';
    size_t rl = strlen(docroot_real);
    if (strncmp(real, docroot_real, rl) != 0 || real[rl] != '/')
        fail("opened a file that is not inside the docroot", target, len);
    if (f->mime == NULL)
        fail("no Content-Type", target, len);
    close(f->fd);
}

/* decode_target_path on its own: a success is a NUL-terminated absolute
 * path with no "." or ".." segment. */
static void check_decode(const char *target, size_t len)
{
    char out[4096];
    int st = decode_target_path(target, len, out, sizeof out);
    if (st != 0) {
        if (st != 400 && st != 403 && st != 404 && st != 414)
            fail("decode: undocumented status", target, len);
        return;
    }
    size_t n = strnlen(out, sizeof out);
    if (n == sizeof out || out[0] != '/')
        fail("decode: result not an absolute string", target, len);
    for (const char *s = out; *s != '\0';) {
        while (*s == '/')
            s++;
        size_t seg = strcspn(s, "/");
        if ((seg == 1 && s[0] == '.') || (seg == 2 && s[0] == '.' && s[1] == '.'))
            fail("decode: dot segment survived", target, len);
        s += seg;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *target = malloc(size ? size : 1);
    if (target == NULL)
        return 0;
    memcpy(target, data, size);

    check_decode(target, size);

    struct resolved_file f;
    resolve_file(docroot_fd, target, size, &f);
    switch (f.status) {
    case 200:
        check_opened(&f, target, size);
        break;
    case 301:
        if (f.fd != -1)
            fail("301 with a descriptor", target, size);
        if (f.location[0] != '/' || strnlen(f.location, sizeof f.location) == sizeof f.location ||
            f.location[strlen(f.location) - 1] != '/')
            fail("301 to something not an absolute slashed path", target, size);
        if (f.location[1] == '/' || f.location[1] == '\\')
            fail("301 to a network path (another host)", target, size);
        break;
    case 400:
    case 403:
    case 404:
    case 414:
        if (f.fd != -1)
            fail("refusal with a descriptor", target, size);
        break;
    default:
        fail("undocumented status", target, size);
    }
    if (lowest_free_fd() != fd_probe)
        fail("a descriptor leaked", target, size);
    free(target);
    return 0;
}
