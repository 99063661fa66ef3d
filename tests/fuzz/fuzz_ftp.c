/* fuzz_ftp.c — libFuzzer harness for stage11's control-connection code:
 * the command splitter and the name checker (shared_command.c) and the line
 * reader (shared_line.c).
 *
 * The properties:
 *
 *   lines    whatever bytes arrive, read_line() returns lines without LF,
 *            shorter than the caller's limit, that are pieces of the input
 *            in order, then "too long" or end of file — never more bytes
 *            than were sent.
 *   verbs    parse_command() accepts only 3–4 letters (upper-cased), and its
 *            argument lies inside the line.
 *   names    vpath_join() either refuses a name or produces a clean virtual
 *            path: starts with '/', no empty, "." or ".."-like segment, no
 *            hidden segment, no control byte, within the caller's capacity.
 *            A relative name never leaves the current directory, and a
 *            clean path joined again is itself (idempotence).
 *
 * Every buffer is an exact-size heap copy, so AddressSanitizer catches a
 * read or write one byte past what the code was given.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../stages/stage11_ftp/command.h"
#include "../../stages/stage11_ftp/line.h"

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_ftp: %s\n", what);
    abort();
}

/* The invariants of a virtual path vpath_join() produced. */
static void check_clean(const char *v, size_t cap)
{
    size_t n = strlen(v);
    if (n == 0 || n >= cap || v[0] != '/')
        fail("not an absolute path within the capacity");
    if (has_control_char(v, n))
        fail("control byte in a clean path");
    if (n > 1 && v[n - 1] == '/')
        fail("trailing slash");
    for (const char *p = v; (p = strchr(p, '/')) != NULL; p++) {
        if (n > 1 && (p[1] == '/' || p[1] == '\0'))
            fail("empty segment");
        if (p[1] == '.')
            fail("a segment starting with '.'");
    }
}

static void check_join(const char *cwd, const char *name, size_t len, size_t cap)
{
    char *out = malloc(cap);
    if (out == NULL)
        return;
    if (vpath_join(cwd, name, len, out, cap) == 0) {
        check_clean(out, cap);
        size_t c = strlen(cwd);
        if (name[0] != '/' && strcmp(cwd, "/") != 0 &&
            (strncmp(out, cwd, c) != 0 || (out[c] != '\0' && out[c] != '/')))
            fail("a relative name left the current directory");
        char again[4096];
        size_t n = strlen(out);
        if (vpath_join("/", out, n, again, sizeof again) != 0 || strcmp(again, out) != 0)
            fail("a clean path does not join to itself");
        if (strcmp(vpath_base(out), strrchr(out, '/') + 1) != 0)
            fail("vpath_base");
    } else if (memchr(name, '\0', len) == NULL && len > 0 && !has_control_char(name, len) &&
               strstr(name, "/.") == NULL && name[0] != '.' && len + strlen(cwd) + 2 < cap) {
        /* Refusal must have a reason: control bytes, a dot segment, or
         * not enough room.  (name is NUL-terminated by the caller.) */
        fail("a harmless name was refused");
    }
    free(out);
}

static void check_lines(const uint8_t *data, size_t size, size_t cap)
{
    int fds[2];
    if (pipe(fds) < 0)
        return;
    /* Inputs are capped at a few KiB: the pipe holds them all. */
    if (write(fds[1], data, size) != (ssize_t)size)
        fail("pipe write");
    close(fds[1]);

    struct line_reader r;
    line_reader_init(&r, fds[0]);
    char *line = malloc(cap);
    size_t consumed = 0;
    for (;;) {
        ssize_t n = read_line(&r, line, cap);
        if (n == LINE_EOF || n == LINE_TOO_LONG)
            break;
        if (n < 0)
            fail("read error on a pipe");
        if ((size_t)n >= cap || line[n] != '\0' || memchr(line, '\n', (size_t)n) != NULL)
            fail("line longer than the limit, unterminated or with LF");
        /* The line is the next piece of the input, ended by (CR)LF. */
        if (consumed + (size_t)n >= size || memcmp(data + consumed, line, (size_t)n) != 0)
            fail("line is not the next piece of the input");
        consumed += (size_t)n;
        if (data[consumed] == '\r')
            consumed++;
        if (consumed >= size || data[consumed] != '\n')
            fail("line not ended by LF");
        consumed++;
    }
    free(line);
    close(fds[0]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4000)
        return 0;

    /* The first byte picks a line limit (2..257) for the reader. */
    check_lines(data, size, size > 0 ? 2 + data[0] : 64);

    /* The input as one command line, exact size, no terminator. */
    char *line = malloc(size ? size : 1);
    memcpy(line, data, size);
    struct command_line cmd;
    if (parse_command(line, size, &cmd) == 0) {
        size_t v = strlen(cmd.verb);
        if (v < 3 || v > 4)
            fail("verb length");
        for (size_t i = 0; i < v; i++)
            if (cmd.verb[i] < 'A' || cmd.verb[i] > 'Z')
                fail("verb not upper-case letters");
        if (cmd.arg_len > 0 && (cmd.arg < line || cmd.arg + cmd.arg_len != line + size))
            fail("argument outside the line");
    }
    free(line);

    /* The input as a name, NUL-terminated for the refusal check. */
    char *name = malloc(size + 1);
    memcpy(name, data, size);
    name[size] = '\0';
    if (size > 0) {
        static const char *const cwds[] = { "/", "/pub", "/a/b c" };
        static const size_t caps[] = { 2, 8, 64, 4096 };
        for (size_t i = 0; i < sizeof cwds / sizeof cwds[0]; i++)
            for (size_t j = 0; j < sizeof caps / sizeof caps[0]; j++)
                check_join(cwds[i], name, size, caps[j]);
    }
    free(name);
    return 0;
}
