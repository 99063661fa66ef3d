/* test_regressions.c — inputs that once broke common/, kept so they never
 * break it again.  Most come from the fuzzers (tests/fuzz/): the crashing
 * input is copied here byte for byte, with what went wrong.
 *
 * Each case runs in a child process, with its input ending at an
 * inaccessible page (tap.h): the bugs worth keeping are mostly reads past
 * the end of a buffer, and a crash in one case must not hide the others.
 */
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "http.h"
#include "path.h"
#include "tap.h"

static char base[PATH_MAX], docroot[PATH_MAX];
static int docroot_fd;

__attribute__((noreturn)) static void die(const char *what)
{
    perror(what);
    exit(2);
}

/* A docroot with two directories and one file is all the cases need. */
static void build_docroot(void)
{
    const char *tmp = getenv("TMPDIR");
    char p[PATH_MAX];
    snprintf(base, sizeof base, "%s/test_regressions.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (mkdtemp(base) == NULL)
        die("mkdtemp");
    if ((size_t)snprintf(p, sizeof p, "%s/sub", base) >= sizeof p || mkdir(p, 0755) < 0)
        die(p);
    if ((size_t)snprintf(p, sizeof p, "%s/idx_out", base) >= sizeof p || mkdir(p, 0755) < 0)
        die(p);
    if ((size_t)snprintf(p, sizeof p, "%s/sub/index.html", base) >= sizeof p)
        die(p);
    int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0 || write(fd, "sub\n", 4) != 4 || close(fd) < 0)
        die(p);
    if (realpath(base, docroot) == NULL || (docroot_fd = open_docroot(docroot)) < 0)
        die("realpath");
}

static int remove_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

/* ---- the cases --------------------------------------------------------------- */

enum kind { PATH, HTTP };

struct regression {
    const char *what; /* the bug, and where it was found */
    enum kind kind;
    const char *input;
    size_t len;
    int status;           /* PATH: resolve_file's status; HTTP: req.status, or 0 */
    long result;          /* HTTP: what http_parse_request returns; WHOLE: len */
    const char *location; /* PATH, 301: the Location */
};

#define RAW(s) s, sizeof(s) - 1
#define WHOLE  LONG_MAX

static const struct regression cases[] = {
    /* fuzz_path, input "/sub" (4 bytes): redirect_location() measured the
     * target with strcspn(), which runs to a NUL — but the target points
     * into the receive buffer and has none.  Every 301 read past the end of
     * the request; with the buffer full it read past the allocation. */
    { "fuzz_path: 301 target without a NUL (redirect_location over-read)", PATH, RAW("/sub"), 301,
      0, "/sub/" },
    { "301 with a query: the Location drops it", PATH, RAW("/sub?q=1"), 301, 0, "/sub/" },
    { "301 with a fragment: the Location drops it", PATH, RAW("/sub#f"), 301, 0, "/sub/" },
    /* fuzz_path, "/idx_out" + 25 NUL bytes + "0.html": decoding stopped
     * a raw NUL only when it was written "%00", so the path seen by stat()
     * was "/idx_out", a directory without a slash, and the 301 Location was
     * the raw target — NULs included, so "/idx_out" again once printed: a
     * redirect loop.  A raw NUL is refused like "%00" now. */
    { "fuzz_path: raw NUL after a directory name -> 404, not a 301 to itself", PATH,
      RAW("/idx_out\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"
          "0.html"),
      404, 0, NULL },
    /* fuzz_path, "%2F/sub?x": the decoded path began with "/", the raw one
     * did not, and the 301 echoed the raw one: "Location: %2F/sub/", a
     * relative reference.  The raw target must begin with "/" now. */
    { "fuzz_path: \"%2F/sub?x\" -> 400, not a 301 to a relative Location", PATH, RAW("%2F/sub?x"),
      400, 0, NULL },
    /* fuzz_http, a 166-byte input: a first line of 115 bytes without a space,
     * then headers, the head not yet complete.  Given all at once the parser
     * said "incomplete" (it checked the method only while the request line
     * was unfinished); given in pieces it said 400.  How bytes are split into
     * reads must not change the answer: now 400 both ways. */
    { "fuzz_http: overlong method, head incomplete: 400 at once, not only in pieces", HTTP,
      RAW("G2222222222222222222222222222222222222222222222222222222222222222222222222222close"
          "2222222222222222222222222222ET / HTTP/1.1\r\nHost: x\r\n"
          "Transfer-Encoding: chunked\r\n:\r\n"),
      400, HTTP_ERROR, NULL },
    { "parser: bad method character, head incomplete", HTTP, RAW("G(T / HTTP/1.1\r\nHost: x\r\n"),
      400, HTTP_ERROR, NULL },
    /* The parser's side of the same contract: nothing after len is read,
     * however the head ends. */
    { "parser: head ending right at the buffer's end", HTTP,
      RAW("GET /sub HTTP/1.1\r\nHost: h\r\n\r\n"), 0, WHOLE, NULL },
    { "parser: bare LF head ending at the buffer's end", HTTP, RAW("GET / HTTP/1.0\n\n"), 0, WHOLE,
      NULL },
    { "parser: incomplete head ending in CR", HTTP, RAW("GET / HTTP/1.1\r\nHost: h\r\n\r"), 0,
      HTTP_INCOMPLETE, NULL },
    { "parser: absolute-form without a path, at the end", HTTP,
      RAW("GET http://h HTTP/1.0\r\n\r\n"), 0, WHOLE, NULL },
};

static int run_case(const struct regression *c)
{
    struct guarded g = guarded_new(c->len);
    const char *in = guarded_copy(&g, c->input, c->len);
    if (c->kind == PATH) {
        struct resolved_file f;
        resolve_file(docroot_fd, in, c->len, &f);
        if (f.fd >= 0)
            close(f.fd);
        if (f.status != c->status) {
            diag("status %d, expected %d", f.status, c->status);
            return 0;
        }
        if (c->location != NULL && strcmp(f.location, c->location) != 0) {
            diag("Location \"%s\", expected \"%s\"", f.location, c->location);
            return 0;
        }
        return 1;
    }
    struct http_request req;
    http_request_reset(&req);
    long r = http_parse_request(&req, in, c->len);
    long want = c->result == WHOLE ? (long)c->len : c->result;
    if (r != want || (r == HTTP_ERROR && req.status != c->status)) {
        diag("answer %ld status %d, expected %ld status %d", r, req.status, want, c->status);
        return 0;
    }
    return 1;
}

int main(void)
{
    build_docroot();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fflush(stdout);
        pid_t pid = fork();
        if (pid < 0)
            die("fork");
        if (pid == 0) {
            int passed = run_case(&cases[i]);
            fflush(stdout); /* its diagnostics; _exit() would drop them */
            _exit(passed ? 0 : 1);
        }
        int ws;
        if (waitpid(pid, &ws, 0) < 0)
            die("waitpid");
        if (WIFSIGNALED(ws))
            diag("killed by signal %d (a read past the input?)", WTERMSIG(ws));
        ok(WIFEXITED(ws) && WEXITSTATUS(ws) == 0, "%s", cases[i].what);
    }
    nftw(base, remove_one, 16, FTW_DEPTH | FTW_PHYS);
    return tap_done();
}
