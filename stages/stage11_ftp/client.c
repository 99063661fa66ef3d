/* stage11-client — a small FTP client: the course's file-server lab client
 * (list, get, put, quit), speaking real FTP in passive mode.
 *
 *   bin/stage11-client HOST PORT                      interactive, "ftp> " prompt
 *   bin/stage11-client HOST PORT list "get a.txt"     batch: run these, stop at the
 *                                                     first failure (exit status 1)
 *
 * Each transfer is two conversations: a command and its replies on the
 * control connection, and the bytes on a new data connection whose close
 * marks their end.  A download goes to a temporary file that is renamed
 * into place only when the server confirms the transfer (226), so a failed
 * get never leaves half a file under the real name.
 */
#include <ctype.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "command.h"
#include "io.h"
#include "line.h"

struct ftp {
    int ctrl;
    struct line_reader in;
    const char *host;
    char text[1024]; /* the last reply line, for error messages */
};

/* ---- the control connection ------------------------------------------------ */

static int connect_to(const char *host, const char *port)
{
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *res;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0) {
        warnx("%s:%s: %s", host, port, gai_strerror(rc));
        return -1;
    }
    int fd = -1;
    for (struct addrinfo *a = res; a != NULL && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd >= 0 && connect(fd, a->ai_addr, a->ai_addrlen) < 0) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0)
        warnx("cannot connect to %s:%s: %s", host, port, strerror(errno));
    return fd;
}

/* A reply line starts with a three-digit code, 100..599 (RFC 959 4.2):
 * the code, or -1. */
static int reply_code(const char *line)
{
    if (line[0] < '1' || line[0] > '5' || !isdigit((unsigned char)line[1]) ||
        !isdigit((unsigned char)line[2]))
        return -1;
    return (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
}

/* Read one reply and return its code.  A multi-line reply starts with
 * "123-" and ends with a line starting "123 " (RFC 959 4.2). */
static int read_reply(struct ftp *f)
{
    ssize_t n = read_line(&f->in, f->text, sizeof f->text);
    int code = n < 4 ? -1 : reply_code(f->text);
    if (code < 0) {
        snprintf(f->text, sizeof f->text, "no valid reply from the server");
        return -1;
    }
    if (f->text[3] == '-') {
        char end[5];
        snprintf(end, sizeof end, "%.3s ", f->text); /* "123 " */
        do {
            n = read_line(&f->in, f->text, sizeof f->text);
            if (n < 0)
                return -1;
        } while (strncmp(f->text, end, 4) != 0);
    }
    return code;
}

/* Send "VERB arg" and return the code of the reply. */
static int command(struct ftp *f, const char *verb, const char *arg)
{
    char line[1100];
    int n = snprintf(line, sizeof line, arg ? "%s %s\r\n" : "%s\r\n", verb, arg);
    if (n >= (int)sizeof line || write_all(f->ctrl, line, (size_t)n) < 0) {
        snprintf(f->text, sizeof f->text, "cannot send %s", verb);
        return -1;
    }
    return read_reply(f);
}

static int login(struct ftp *f)
{
    if (read_reply(f) != 220)
        return -1;
    int code = command(f, "USER", "anonymous");
    if (code == 331)
        code = command(f, "PASS", "stage11-client@");
    if (code != 230 || command(f, "TYPE", "I") != 200)
        return -1;
    return 0;
}

/* ---- the data connection ------------------------------------------------------ */

/* A decimal number in [0, max] at s, ended by the character `stop`:
 * the number (and *next just past `stop`), or -1. */
static long number_before(const char *s, char stop, long max, const char **next)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != stop || v < 0 || v > max)
        return -1;
    *next = end + 1;
    return v;
}

/* 229 "Entering Extended Passive Mode (|||PORT|)": the port, or -1. */
static int epsv_port(const char *text)
{
    const char *p = strstr(text, "(|||");
    if (p == NULL)
        return -1;
    return (int)number_before(p + 4, '|', 65535, &p);
}

/* 227 "Entering Passive Mode (h1,h2,h3,h4,p1,p2)": the port p1 * 256 + p2,
 * or -1.  The address h1..h4 is checked but not used (see open_data). */
static int pasv_port(const char *text)
{
    const char *p = strchr(text, '(');
    if (p == NULL)
        return -1;
    p++;
    long n[6];
    for (int i = 0; i < 6; i++) {
        n[i] = number_before(p, i < 5 ? ',' : ')', 255, &p);
        if (n[i] < 0)
            return -1;
    }
    return (int)(n[4] * 256 + n[5]);
}

/* EPSV (just a port, RFC 2428); PASV (address and port) for older servers.
 * Either way we connect to the host we already talk to: a server behind
 * NAT may name an address we cannot reach. */
static int open_data(struct ftp *f)
{
    int port = -1;
    if (command(f, "EPSV", NULL) == 229)
        port = epsv_port(f->text);
    else if (command(f, "PASV", NULL) == 227)
        port = pasv_port(f->text);
    if (port <= 0 || port > 65535)
        return -1;
    char service[8];
    snprintf(service, sizeof service, "%d", port);
    return connect_to(f->host, service);
}

/* Start a transfer: data connection, then the command, which must answer
 * 150 (or 125, "already open").  Returns the data socket or -1. */
static int start_transfer(struct ftp *f, const char *verb, const char *arg)
{
    int data = open_data(f);
    if (data < 0)
        return -1;
    int code = command(f, verb, arg);
    if (code != 150 && code != 125) {
        close(data);
        return -1;
    }
    return data;
}

/* Copy everything from one descriptor to another until end of file. */
static int copy_all(int from, int to)
{
    char buf[64 * 1024];
    ssize_t n;
    while ((n = read(from, buf, sizeof buf)) != 0) {
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (write_all(to, buf, (size_t)n) < 0)
            return -1;
    }
    return 0;
}

/* ---- the four commands ----------------------------------------------------- */

static int do_list(struct ftp *f)
{
    int data = start_transfer(f, "LIST", NULL);
    if (data < 0)
        return -1;
    int ok = copy_all(data, STDOUT_FILENO) == 0;
    close(data);
    return read_reply(f) == 226 && ok ? 0 : -1;
}

static int do_get(struct ftp *f, const char *name)
{
    const char *slash = strrchr(name, '/');
    const char *local = slash ? slash + 1 : name;
    char tmp[] = ".stage11-get-XXXXXX";
    if (*local == '\0' || strcmp(local, ".") == 0 || strcmp(local, "..") == 0) {
        snprintf(f->text, sizeof f->text, "no file name in '%s'", name);
        return -1;
    }
    int data = start_transfer(f, "RETR", name);
    if (data < 0)
        return -1;
    int fd = mkstemp(tmp);
    int ok = fd >= 0 && copy_all(data, fd) == 0;
    close(data);
    if (fd >= 0 && (fchmod(fd, 0644) < 0 || close(fd) < 0))
        ok = 0;
    /* Only a 226 says the close of the data connection was the real end. */
    ok = read_reply(f) == 226 && ok && rename(tmp, local) == 0;
    if (!ok && fd >= 0)
        unlink(tmp);
    return ok ? 0 : -1;
}

static int do_put(struct ftp *f, const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *name = slash ? slash + 1 : path;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(f->text, sizeof f->text, "%s: %s", path, strerror(errno));
        return -1;
    }
    int data = start_transfer(f, "STOR", name);
    if (data < 0) {
        close(fd);
        return -1;
    }
    int ok = copy_all(fd, data) == 0;
    close(fd);
    close(data); /* our close tells the server the file is complete */
    return read_reply(f) == 226 && ok ? 0 : -1;
}

/* Run one command line ("get a.txt").  Returns 0, -1 on failure, 1 for quit. */
static int run(struct ftp *f, const char *line)
{
    f->text[0] = '\0';
    const char *arg = strchr(line, ' ');
    size_t verb_len = arg ? (size_t)(arg - line) : strlen(line);
    if (arg != NULL)
        arg++;
    if (arg != NULL && has_control_char(arg, strlen(arg))) {
        snprintf(f->text, sizeof f->text, "control characters in a name");
        return -1;
    }
    if (verb_len == 4 && strncmp(line, "list", 4) == 0 && arg == NULL)
        return do_list(f);
    if (verb_len == 3 && strncmp(line, "get", 3) == 0 && arg != NULL)
        return do_get(f, arg);
    if (verb_len == 3 && strncmp(line, "put", 3) == 0 && arg != NULL)
        return do_put(f, arg);
    if (verb_len == 4 && strncmp(line, "quit", 4) == 0 && arg == NULL)
        return 1;
    if (verb_len == 4 && strncmp(line, "help", 4) == 0) {
        printf("commands: list, get NAME, put PATH, quit\n");
        return 0;
    }
    snprintf(f->text, sizeof f->text, "unknown command '%s' (try help)", line);
    return -1;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr,
                "usage: %s HOST PORT [COMMAND...]\n"
                "  commands: list, get NAME, put PATH, quit\n",
                argv[0]);
        return 2;
    }
    struct ftp f = { .host = argv[1] };
    f.ctrl = connect_to(argv[1], argv[2]);
    if (f.ctrl < 0)
        return 1;
    line_reader_init(&f.in, f.ctrl);
    if (login(&f) < 0) {
        warnx("login failed: %s", f.text);
        return 1;
    }

    int status = 0;
    if (argc > 3) { /* batch mode */
        for (int i = 3; i < argc && status == 0; i++) {
            int r = run(&f, argv[i]);
            if (r < 0) {
                warnx("%s: %s", argv[i], f.text);
                status = 1;
            }
            if (r == 1)
                break;
        }
    } else { /* interactive */
        char line[1024];
        for (;;) {
            printf("ftp> ");
            fflush(stdout);
            if (fgets(line, sizeof line, stdin) == NULL)
                break;
            line[strcspn(line, "\r\n")] = '\0';
            if (line[0] == '\0')
                continue;
            int r = run(&f, line);
            if (r < 0)
                printf("failed: %s\n", f.text);
            else if (r == 0 && f.text[0] != '\0')
                printf("%s\n", f.text); /* the server's last word: "226 ..." */
            if (r == 1)
                break;
        }
    }
    command(&f, "QUIT", NULL);
    close(f.ctrl);
    return status;
}
