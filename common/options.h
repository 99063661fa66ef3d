/* options.h — the command line every stage shares.
 *
 *   bin/stageNN [-p PORT] [-r DOCROOT] [-b ADDR] [-v] [-h]  (+ stage letters)
 *
 * A stage fills in its defaults, optionally describes extra letters, and calls
 * parse_options().  Any mistake (unknown letter, bad number, a docroot that is
 * not a directory) prints one line naming the problem and exits with status 2.
 */
#ifndef SERVERLAB_OPTIONS_H
#define SERVERLAB_OPTIONS_H

#include <limits.h>

struct server_options {
    const char *stage;           /* "stage02": the ready line and the Server header */
    int port;                    /* -p; 0 asks the kernel for an ephemeral port */
    const char *docroot;         /* -r, as the user wrote it */
    char docroot_real[PATH_MAX]; /* the same, with symlinks resolved */
    int docroot_fd;              /* open on it: every file is opened beneath it (path.h) */
    const char *bind_addr;       /* -b */
    int verbose;                 /* -v: one log line per request on stderr */
};

// clang-format off
#define SERVER_OPTIONS_DEFAULTS(name) \
    { .stage = (name), .port = 8080, .docroot = "html", .bind_addr = "0.0.0.0", .docroot_fd = -1 }
// clang-format on

/* A stage's own letters, e.g. { "w:", "  -w N   worker processes\n", on_opt, &cfg }.
 * handle() gets the letter and its argument; it returns 0, or -1 after
 * printing what was wrong (parse_options then exits 2). */
struct stage_options {
    const char *letters; /* getopt(3) syntax */
    const char *usage;   /* lines appended to the -h text */
    int (*handle)(int letter, const char *arg, void *ctx);
    void *ctx;
};

void parse_options(int argc, char **argv, struct server_options *opt,
                   const struct stage_options *extra /* may be NULL */);

/* Parse a whole decimal number in [min, max]; on failure print
 * "STAGE: bad value for -L: ARG" and return -1. */
int parse_number(const char *arg, long min, long max, int letter, long *out);

/* The student handout (make handout) replaces each stage's exercise with a
 * call to this: it prints "PROGRAM: not implemented yet: WHAT" and exits 1,
 * so a test of an unwritten exercise fails at once instead of hanging. */
_Noreturn void not_implemented_yet(const char *what);

#endif
