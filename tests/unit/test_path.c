/* test_path.c — from request target to file (common/path.c), table-driven.
 *
 * A docroot is built in a temporary directory with the traps a hostile
 * target aims at (symlinks out, a sibling directory sharing the docroot's
 * name as a prefix, an index.html leading out, a loop, a FIFO, an
 * unreadable file).  Each target is handed to resolve_file() the way the
 * parser hands it over: not NUL-terminated, ending at an inaccessible page
 * (tap.h).  For a 200 the test reads the opened file and compares its
 * content, so "the right status, the wrong file" cannot pass.
 */
#include "path.h"

#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "tap.h"

static char base[PATH_MAX], docroot[PATH_MAX];
static int docroot_fd; /* open_docroot(docroot): what resolve_file() works beneath */
static struct guarded g;

__attribute__((noreturn)) static void die(const char *what)
{
    perror(what);
    exit(2);
}

/* base + "/" + rel into p. */
static void in_base(char p[PATH_MAX], const char *rel)
{
    if ((size_t)snprintf(p, PATH_MAX, "%s/%s", base, rel) >= PATH_MAX)
        die("path too long");
}

static void make_file(const char *rel, const char *content, mode_t mode)
{
    char p[PATH_MAX];
    in_base(p, rel);
    int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    size_t n = strlen(content);
    if (fd < 0 || write(fd, content, n) != (ssize_t)n || close(fd) < 0 || chmod(p, mode) < 0)
        die(p);
}

static void make_dir(const char *rel)
{
    char p[PATH_MAX];
    in_base(p, rel);
    if (mkdir(p, 0755) < 0)
        die(p);
}

static void make_link(const char *target, const char *rel)
{
    char p[PATH_MAX];
    in_base(p, rel);
    if (symlink(target, p) < 0)
        die(p);
}

static void build_docroot(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(base, sizeof base, "%s/test_path.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (mkdtemp(base) == NULL || chmod(base, 0755) < 0) /* "nobody" must get in, see below */
        die("mkdtemp");
    make_dir("root");
    make_dir("outside");
    make_dir("rootevil");
    make_file("outside/secret.txt", "SECRET\n", 0644);
    make_file("rootevil/secret.txt", "SECRET TOO\n", 0644);
    make_file("root/index.html", "home\n", 0644);
    make_file("root/a.txt", "file a\n", 0644);
    make_file("root/%41.txt", "literal percent\n", 0644);
    make_file("root/sp ace.txt", "space\n", 0644);
    make_file("root/caf\xc3\xa9.txt", "utf-8 name\n", 0644);
    make_file("root/q?.txt", "question mark\n", 0644);
    make_file("root/logo.PNG", "png\n", 0644);
    make_file("root/noext", "no extension\n", 0644);
    make_file("root/unreadable.txt", "unreadable\n", 0000);
    make_dir("root/sub");
    make_file("root/sub/index.html", "sub home\n", 0644);
    make_file("root/sub/b.css", "p{}\n", 0644);
    make_dir("root/noindex");
    make_file("root/noindex/c.txt", "c\n", 0644);
    make_dir("root/dir.d");
    make_file("root/dir.d/plain", "plain\n", 0644);
    make_link("a.txt", "root/link_in");
    make_link("sub", "root/link_dir_in");
    make_link("../outside/secret.txt", "root/link_out");
    make_link("../outside", "root/link_out_dir");
    make_link("..", "root/link_up");
    make_link("/etc", "root/link_abs");
    make_link("../rootevil", "root/link_sibling");
    make_link("link_loop", "root/link_loop");
    make_link("missing", "root/link_dangling");
    make_link("../../outside/secret.txt", "root/sub/link_back");
    make_dir("root/idx_out");
    make_link("../../outside/secret.txt", "root/idx_out/index.html");
    make_dir("root/idx_up");
    make_link("../a.txt", "root/idx_up/index.html");
    char p[PATH_MAX];
    in_base(p, "root/fifo");
    if (mkfifo(p, 0644) < 0)
        die(p);
    in_base(p, "root");
    if (realpath(p, docroot) == NULL)
        die("realpath");
    docroot_fd = open_docroot(docroot);
    if (docroot_fd < 0)
        die("open_docroot");
}

static int remove_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

/* ---- the table ------------------------------------------------------------ */

struct path_case {
    const char *target;
    size_t len; /* 0: strlen(target) */
    int status;
    const char *body; /* 200: the file's content; 301: the Location */
    const char *mime; /* 200: the Content-Type, NULL: do not check */
};

#define HTML "text/html; charset=utf-8"
#define TEXT "text/plain; charset=utf-8"

static const struct path_case cases[] = {
    /* what a browser asks for */
    { "/", 0, 200, "home\n", HTML },
    { "/index.html", 0, 200, "home\n", HTML },
    { "/a.txt", 0, 200, "file a\n", TEXT },
    { "/sub/", 0, 200, "sub home\n", HTML },
    { "/sub/b.css", 0, 200, "p{}\n", "text/css; charset=utf-8" },
    { "/logo.PNG", 0, 200, "png\n", "image/png" },
    { "/noext", 0, 200, "no extension\n", "application/octet-stream" },
    { "/dir.d/plain", 0, 200, "plain\n", "application/octet-stream" },
    { "//a.txt", 0, 200, "file a\n", TEXT },
    { "/sub//b.css", 0, 200, "p{}\n", NULL },
    /* query and fragment are not part of the path */
    { "/a.txt?x=1", 0, 200, "file a\n", TEXT },
    { "/a.txt#top", 0, 200, "file a\n", TEXT },
    { "/a.txt?../../outside/secret.txt", 0, 200, "file a\n", TEXT },
    { "/?q", 0, 200, "home\n", HTML },
    { "/q%3F.txt", 0, 200, "question mark\n", TEXT },
    { "/q?.txt", 0, 404, NULL, NULL },
    /* percent-decoding, exactly once */
    { "/%61.txt", 0, 200, "file a\n", TEXT },
    { "/%2f%61%2E%74xt", 0, 200, "file a\n", TEXT },
    { "/sp%20ace.txt", 0, 200, "space\n", TEXT },
    { "/caf%C3%A9.txt", 0, 200, "utf-8 name\n", TEXT },
    { "/caf\xc3\xa9.txt", 0, 200, "utf-8 name\n", TEXT },
    { "/%2541.txt", 0, 200, "literal percent\n", TEXT },
    { "/%41.txt", 0, 404, NULL, NULL }, /* "%41" is "A": /A.txt does not exist */
    { "/%", 0, 400, NULL, NULL },
    { "/%4", 0, 400, NULL, NULL },
    { "/%zz", 0, 400, NULL, NULL },
    { "/%4g.txt", 0, 400, NULL, NULL },
    { "/a.txt%", 0, 400, NULL, NULL },
    /* directories */
    { "/sub", 0, 301, "/sub/", NULL },
    { "/sub?x=1#f", 0, 301, "/sub/", NULL },
    { "/s%75b", 0, 301, "/s%75b/", NULL },
    { "/link_dir_in", 0, 301, "/link_dir_in/", NULL },
    { "/link_dir_in/", 0, 200, "sub home\n", HTML },
    { "/noindex/", 0, 404, NULL, NULL },
    { "/noindex", 0, 301, "/noindex/", NULL },
    { "/noindex/c.txt", 0, 200, "c\n", TEXT },
    /* never a Location a browser reads as "//host/": another site */
    { "//sub", 0, 301, "/sub/", NULL },
    { "///sub?x", 0, 301, "/sub/", NULL },
    { "//sub//", 0, 200, "sub home\n", HTML },
    { "/%2Fsub", 0, 301, "/%2Fsub/", NULL },
    /* not there */
    { "/missing.html", 0, 404, NULL, NULL },
    { "/missing/", 0, 404, NULL, NULL },
    { "/a.txt/", 0, 404, NULL, NULL },
    { "/a.txt/x", 0, 404, NULL, NULL },
    { "/link_dangling", 0, 404, NULL, NULL },
    /* dot segments, plain and encoded */
    { "/..", 0, 403, NULL, NULL },
    { "/../outside/secret.txt", 0, 403, NULL, NULL },
    { "/sub/../a.txt", 0, 403, NULL, NULL },
    { "/sub/..", 0, 403, NULL, NULL },
    { "/./a.txt", 0, 403, NULL, NULL },
    { "/sub/.", 0, 403, NULL, NULL },
    { "/%2e%2e/outside/secret.txt", 0, 403, NULL, NULL },
    { "/%2E%2E/outside/secret.txt", 0, 403, NULL, NULL },
    { "/.%2e/outside/secret.txt", 0, 403, NULL, NULL },
    { "/%2e./outside/secret.txt", 0, 403, NULL, NULL },
    { "/..%2foutside%2fsecret.txt", 0, 403, NULL, NULL },
    { "/sub%2f..%2f..%2foutside/secret.txt", 0, 403, NULL, NULL },
    { "/%252e%252e/outside/secret.txt", 0, 404, NULL, NULL }, /* decoded once: "%2e%2e" */
    { "/...", 0, 404, NULL, NULL },                           /* a name, not a dot segment */
    { "/..a", 0, 404, NULL, NULL },
    /* NUL: cut the path short in every C call, so refused */
    { "/%00", 0, 404, NULL, NULL },
    { "/a.txt%00.html", 0, 404, NULL, NULL },
    { "/a.txt%00", 0, 404, NULL, NULL },
    /* not origin-form */
    { "a.txt", 0, 400, NULL, NULL },
    { "*", 0, 400, NULL, NULL },
    { "", 0, 400, NULL, NULL },
    { "?/a.txt", 0, 400, NULL, NULL },
    { "%2fa.txt", 0, 400, NULL, NULL }, /* the raw target must start with "/" */
    { "%2F/sub", 0, 400, NULL, NULL },  /* else a 301 would echo "%2F/sub/" */
    /* symlinks: judged by where they lead */
    { "/link_in", 0, 200, "file a\n", NULL },
    { "/link_out", 0, 403, NULL, NULL },
    { "/link_out_dir/secret.txt", 0, 403, NULL, NULL },
    { "/link_out_dir/", 0, 403, NULL, NULL },
    { "/link_out_dir", 0, 403, NULL, NULL },
    { "/link_up/outside/secret.txt", 0, 403, NULL, NULL },
    /* out and back in: the walk left the docroot on the way, so refused */
    { "/link_up/root/a.txt", 0, 403, NULL, NULL },
    { "/link_abs/passwd", 0, 403, NULL, NULL },
    { "/link_abs/", 0, 403, NULL, NULL },
    { "/link_sibling/secret.txt", 0, 403, NULL, NULL },
    { "/link_loop", 0, 403, NULL, NULL },
    { "/sub/link_back", 0, 403, NULL, NULL },
    { "/idx_out/", 0, 403, NULL, NULL },
    /* index.html is opened beneath its own directory: not even up, inside */
    { "/idx_up/", 0, 403, NULL, NULL },
    /* not a regular file */
    { "/fifo", 0, 403, NULL, NULL },
};

/* ---- checking one target --------------------------------------------------- */

static int read_all(int fd, char *buf, size_t cap)
{
    size_t n = 0;
    ssize_t r;
    while (n < cap - 1 && (r = read(fd, buf + n, cap - 1 - n)) > 0)
        n += (size_t)r;
    buf[n] = '\0';
    return (int)n;
}

static int check_case(const struct path_case *c)
{
    size_t len = c->len ? c->len : strlen(c->target);
    struct resolved_file f;
    memset(&f, 0x5a, sizeof f); /* garbage in: resolve_file must set everything */
    resolve_file(docroot_fd, guarded_copy(&g, c->target, len), len, &f);
    if (f.status != c->status) {
        diag("status %d, expected %d", f.status, c->status);
        if (f.status == 200)
            close(f.fd);
        return 0;
    }
    if (c->status != 200) {
        if (f.fd != -1) {
            diag("a refusal with descriptor %d", f.fd);
            return 0;
        }
        if (c->status == 301 && strcmp(f.location, c->body) != 0) {
            diag("Location \"%s\", expected \"%s\"", f.location, c->body);
            return 0;
        }
        return 1;
    }
    char content[256];
    int n = read_all(f.fd, content, sizeof content);
    close(f.fd);
    if (strcmp(content, c->body) != 0 || f.size != n) {
        diag("served \"%s\" (size %lld)", content, (long long)f.size);
        return 0;
    }
    if (c->mime != NULL && strcmp(f.mime, c->mime) != 0) {
        diag("Content-Type %s, expected %s", f.mime, c->mime);
        return 0;
    }
    return 1;
}

static void printable(const char *s, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 5 < cap; i++) {
        unsigned char ch = (unsigned char)s[i];
        o += (size_t)snprintf(out + o, cap - o, ch > ' ' && ch < 0x7f ? "%c" : "\\x%02x", ch);
    }
    out[o] = '\0';
}

static void test_table(void)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char name[128];
        const struct path_case *c = &cases[i];
        printable(c->target, c->len ? c->len : strlen(c->target), name, sizeof name);
        ok(check_case(c), "\"%s\" -> %d", name, c->status);
    }
}

/* Targets with bytes a string literal table cannot hold comfortably. */
static void test_special_bytes(void)
{
    static const struct path_case raw[] = {
        { "/a.txt\0/../../outside/secret.txt", sizeof "/a.txt\0/../../outside/secret.txt" - 1, 404,
          NULL, NULL },
        { "/sub\0x", sizeof "/sub\0x" - 1, 404, NULL, NULL },
        { "/a.txt?\0", sizeof "/a.txt?\0" - 1, 200, "file a\n", TEXT },
    };
    /* A raw NUL (the parser refuses it before) is refused like "%00": the
     * C calls would see a shorter path than the one checked. */
    ok(check_case(&raw[0]), "raw NUL byte -> 404, like %%00");
    ok(check_case(&raw[1]), "raw NUL byte after a directory name -> 404, not a 301 loop");
    ok(check_case(&raw[2]), "raw NUL byte after the query is ignored with it");

    /* Longer than any path: refused, not truncated into something else. */
    static char longt[PATH_MAX + 64];
    longt[0] = '/';
    memset(longt + 1, 'a', sizeof longt - 1);
    struct path_case c = { longt, sizeof longt, 404, NULL, NULL };
    ok(check_case(&c), "a target longer than PATH_MAX (under 8 KiB) -> 404: no such file");

    /* Long but legal: a 300-byte name is over NAME_MAX (255). */
    char name[320] = "/";
    memset(name + 1, 'n', 300);
    name[301] = '\0';
    c = (struct path_case){ name, 0, 404, NULL, NULL };
    ok(check_case(&c), "a name over NAME_MAX -> 404: no such file can exist");

    /* A 301 whose location would not fit the fixed buffer.  Leading slashes
     * collapse into one, so the length is in the middle: "/d…d////…////d…d"
     * names the directory d…d/d…d. */
    char dir[PATH_MAX];
    in_base(dir, "root/");
    size_t used = strlen(dir);
    memset(dir + used, 'd', 200);
    dir[used + 200] = '\0';
    if (mkdir(dir, 0755) < 0)
        die(dir);
    dir[used + 200] = '/';
    memset(dir + used + 201, 'd', 200);
    dir[used + 401] = '\0';
    if (mkdir(dir, 0755) < 0)
        die(dir);
    static char deep[2048];
    deep[0] = '/';
    memset(deep + 1, 'd', 200);
    memset(deep + 201, '/', 700);
    memset(deep + 901, 'd', 200);
    c = (struct path_case){ deep, 1101, 414, NULL, NULL };
    ok(check_case(&c), "a 301 whose Location would not fit -> 414");
}

/* decode_target_path on its own: the output buffer's bounds. */
static void test_decode(void)
{
    char out[16];
    int st = decode_target_path(guarded_copy(&g, "/a%2Fb%20c?x", 12), 12, out, sizeof out);
    ok(st == 0 && strcmp(out, "/a/b c") == 0, "decode: \"/a%%2Fb%%20c?x\" -> \"/a/b c\"");
    st = decode_target_path(guarded_copy(&g, "/0123456789abcd", 15), 15, out, sizeof out);
    ok(st == 0 && strcmp(out, "/0123456789abcd") == 0, "decode: exactly fits (15 + NUL)");
    st = decode_target_path(guarded_copy(&g, "/0123456789abcde", 16), 16, out, sizeof out);
    ok(st == 404, "decode: one byte too long -> 404 (got %d)", st);
    st = decode_target_path(guarded_copy(&g, "/%2e", 4), 4, out, sizeof out);
    ok(st == 403, "decode: \"/%%2e\" -> 403 (got %d)", st);
    st = decode_target_path(guarded_copy(&g, "/x/%2E%2e/", 10), 10, out, sizeof out);
    ok(st == 403, "decode: \"/x/%%2E%%2e/\" -> 403 (got %d)", st);
}

static void test_mime(void)
{
    static const struct {
        const char *name, *type;
    } m[] = {
        { "a.html", HTML },
        { "a.htm", HTML },
        { "A.HTML", HTML },
        { "s.css", "text/css; charset=utf-8" },
        { "s.js", "text/javascript; charset=utf-8" },
        { "d.json", "application/json" },
        { "t.txt", TEXT },
        { "i.png", "image/png" },
        { "i.jpg", "image/jpeg" },
        { "i.jpeg", "image/jpeg" },
        { "i.gif", "image/gif" },
        { "i.svg", "image/svg+xml" },
        { "favicon.ico", "image/x-icon" },
        { "i.webp", "image/webp" },
        { "d.pdf", "application/pdf" },
        { "m.wasm", "application/wasm" },
        { "f.woff2", "font/woff2" },
        { "v.mp4", "video/mp4" },
        { "archive.tar.gz", "application/octet-stream" },
        { "noext", "application/octet-stream" },
        { "dir.html/noext", "application/octet-stream" },
        { ".html", HTML },
        { "x.", "application/octet-stream" },
        { "x.htmlx", "application/octet-stream" },
    };
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++) {
        const char *got = mime_type(m[i].name);
        ok(strcmp(got, m[i].type) == 0, "mime_type(\"%s\") = %s", m[i].name, got);
    }
}

/* As root every file is readable, so the check runs as "nobody" in a child. */
static void test_unreadable(void)
{
    static const struct path_case c = { "/unreadable.txt", 0, 403, NULL, NULL };
    if (geteuid() != 0) {
        ok(check_case(&c), "\"/unreadable.txt\" -> 403");
        return;
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        if (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 ||
            setresuid(65534, 65534, 65534) < 0)
            _exit(3);
        _exit(check_case(&c) ? 0 : 1);
    }
    int ws;
    if (waitpid(pid, &ws, 0) < 0)
        die("waitpid");
    if (WIFEXITED(ws) && WEXITSTATUS(ws) == 3) {
        skip("cannot switch to uid 65534", "\"/unreadable.txt\" -> 403");
        return;
    }
    ok(WIFEXITED(ws) && WEXITSTATUS(ws) == 0, "\"/unreadable.txt\" -> 403 (as uid 65534)");
}

static int lowest_free_fd(void)
{
    int fd = dup(0);
    if (fd < 0)
        die("dup");
    close(fd);
    return fd;
}

int main(void)
{
    g = guarded_new(PATH_MAX + 64);
    build_docroot();
    int fd_before = lowest_free_fd();
    test_table();
    test_special_bytes();
    test_decode();
    test_mime();
    test_unreadable();
    int fd_after = lowest_free_fd();
    ok(fd_after == fd_before, "no descriptor leaked (lowest free %d, before %d)", fd_after,
       fd_before);
    nftw(base, remove_one, 16, FTW_DEPTH | FTW_PHYS);
    guarded_free(&g);
    return tap_done();
}
