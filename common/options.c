/* options.c — see options.h. */
#include "options.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "path.h"
#include "response.h"

static void usage(FILE *out, const char *prog, const struct server_options *opt,
                  const struct stage_options *extra)
{
    fprintf(out,
            "usage: %s [-p PORT] [-r DOCROOT] [-b ADDR] [-v] [-h]%s\n"
            "  -p PORT     port to listen on (default %d; 0 = any free port)\n"
            "  -r DOCROOT  directory to serve (default %s)\n"
            "  -b ADDR     address to bind (default %s)\n"
            "  -v          log one line per request to stderr\n"
            "  -h          this help\n%s",
            prog, extra ? " [stage options]" : "", opt->port, opt->docroot, opt->bind_addr,
            extra && extra->usage ? extra->usage : "");
}

int parse_number(const char *arg, long min, long max, int letter, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(arg, &end, 10);
    if (errno != 0 || end == arg || *end != '\0' || v < min || v > max) {
        fprintf(stderr, "%s: bad value for -%c: '%s' (expected %ld..%ld)\n", http_server_name,
                letter, arg, min, max);
        return -1;
    }
    *out = v;
    return 0;
}

void parse_options(int argc, char **argv, struct server_options *opt,
                   const struct stage_options *extra)
{
    char letters[64];
    snprintf(letters, sizeof letters, ":p:r:b:vh%s", extra ? extra->letters : "");
    http_server_name = opt->stage;

    int c;
    long n;
    while ((c = getopt(argc, argv, letters)) != -1) {
        switch (c) {
        case 'p':
            if (parse_number(optarg, 0, 65535, 'p', &n) < 0)
                exit(2);
            opt->port = (int)n;
            break;
        // clang-format off
        case 'r': opt->docroot = optarg; break;
        case 'b': opt->bind_addr = optarg; break;
        case 'v': opt->verbose = 1; break;
        case 'h': usage(stdout, argv[0], opt, extra); exit(0);
        // clang-format on
        case ':':
            fprintf(stderr, "%s: option -%c needs a value (try -h)\n", opt->stage, optopt);
            exit(2);
        case '?':
            fprintf(stderr, "%s: unknown option -%c (try -h)\n", opt->stage, optopt);
            exit(2);
        default:
            if (!extra || extra->handle(c, optarg, extra->ctx) < 0)
                exit(2);
        }
    }
    if (optind < argc) {
        fprintf(stderr, "%s: unexpected argument '%s' (try -h)\n", opt->stage, argv[optind]);
        exit(2);
    }

    struct stat st;
    if (realpath(opt->docroot, opt->docroot_real) == NULL || stat(opt->docroot_real, &st) < 0) {
        fprintf(stderr, "%s: docroot %s: %s\n", opt->stage, opt->docroot, strerror(errno));
        exit(2);
    }
    if (!S_ISDIR(st.st_mode)) {
        fprintf(stderr, "%s: docroot %s: not a directory\n", opt->stage, opt->docroot);
        exit(2);
    }
    opt->docroot_fd = open_docroot(opt->docroot_real);
    if (opt->docroot_fd < 0 && errno == ENOSYS) {
        fprintf(stderr,
                "%s: this kernel has no openat2(); Linux 5.6 or later is needed to "
                "open files safely beneath the docroot\n",
                opt->stage);
        exit(2);
    }
    if (opt->docroot_fd < 0) {
        fprintf(stderr, "%s: docroot %s: %s\n", opt->stage, opt->docroot, strerror(errno));
        exit(2);
    }
}

_Noreturn void not_implemented_yet(const char *what)
{
    fprintf(stderr, "%s: not implemented yet: %s\n", program_invocation_short_name, what);
    exit(1);
}
