/* stage11 — a fork-per-client FTP server (RFC 959 subset, passive mode).
 *
 * Model: the stage 03 model (one process per client) for a protocol with
 * state.  An FTP session is a conversation: log in, change directory, ask
 * for a data port, then transfer.  A forked child holds all of that in its
 * own variables (its cwd, its pending data port) and simply blocks on its
 * one client; the parent only accepts, forks and reaps.
 *
 * What changed since the HTTP stages: two connections per client.  Commands
 * and replies travel as CRLF lines on the *control* connection; every
 * listing or file travels on a fresh *data* connection that the client opens
 * to a port the server names (PASV/EPSV: "passive" mode), and the end of the
 * data is simply the data connection's close.  That is how FTP frames a
 * transfer of any content without an end marker (see NOTES.md, stage11).
 *
 * What breaks it: a process per session (the stage 03 cost), one data
 * connection per transfer (a handshake each time), cleartext passwords, and
 * stream-mode framing by close cannot tell a finished upload from a client
 * that died cleanly (we refuse to commit when the control connection has
 * gone too).  Stage 12 is where the scale problems are taken on.
 *
 * Resuming and changing the tree: REST n makes the next RETR start at byte
 * n (curl -C -) and the next STOR keep the first n bytes (lftp put -c; APPE
 * keeps them all) without giving up atomic uploads; MKD, RMD, DELE and
 * RNFR/RNTO act on one name beneath a directory opened inside the root.
 *
 * Reading order: main() (accept loop, fork, reaping), serve_session() (the
 * command loop), the command table, then the handlers.  Names and files:
 * shared_command.c (parsing, lexical name checks), files.c (the root).
 */
#include <arpa/inet.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "command.h"
#include "files.h"
#include "io.h"
#include "line.h"
#include "net.h"
#include "options.h"

enum {
    MAX_LINE = 1024,          /* longest command line we accept */
    MAX_SESSIONS = 256,       /* concurrent children; more get "421" */
    DATA_ACCEPT_SECONDS = 15, /* how long a passive port waits for the client */
};

struct config {
    struct server_options opt;
    long idle_seconds; /* -t: a silent control connection is closed */
};

/* ====================================================================== */
/* The parent: accept, fork, reap                                          */
/* ====================================================================== */

/* Live children, so that SIGTERM can be passed on to them.  Only main adds
 * (with SIGCHLD blocked); only the SIGCHLD handler removes. */
static volatile pid_t children[MAX_SESSIONS];

static void on_sigchld(int sig)
{
    (void)sig;
    int saved = errno; /* waitpid may change errno under the interrupted code */
    pid_t pid;
    while ((pid = waitpid(-1, NULL, WNOHANG)) > 0)
        for (int i = 0; i < MAX_SESSIONS; i++)
            if (children[i] == pid)
                children[i] = 0;
    errno = saved;
}

static int free_slot(void)
{
    for (int i = 0; i < MAX_SESSIONS; i++)
        if (children[i] == 0)
            return i;
    return -1;
}

static void block_signals(sigset_t *old)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigprocmask(SIG_BLOCK, &set, old);
}

static void serve_session(int ctrl, const struct config *cfg);
static void become_session_process(void);

/* Fork a child for one control connection. */
static void spawn_session(int listen_fd, int conn, const struct config *cfg)
{
    sigset_t old;
    block_signals(&old); /* no SIGCHLD for a pid not yet in the table */
    int slot = free_slot();
    if (slot < 0) {
        static const char busy[] = "421 Too many sessions, try later.\r\n";
        /* Best effort: if the write fails we close the connection all the same. */
        ssize_t ignored = write(conn, busy, sizeof busy - 1);
        (void)ignored;
        sigprocmask(SIG_SETMASK, &old, NULL);
        return;
    }
    pid_t pid = fork();
    if (pid == 0) {
        close(listen_fd); /* the child serves one client, never accepts */
        become_session_process();
        sigprocmask(SIG_SETMASK, &old, NULL);
        serve_session(conn, cfg);
        _exit(0);
    }
    if (pid < 0)
        warn("fork");
    else
        children[slot] = pid;
    sigprocmask(SIG_SETMASK, &old, NULL);
}

/* SIGTERM: pass it on to every session, then wait for them all. */
static void end_sessions(void)
{
    sigset_t old;
    block_signals(&old);
    for (int i = 0; i < MAX_SESSIONS; i++)
        if (children[i] > 0)
            kill(children[i], SIGTERM);
    struct sigaction sa = { .sa_handler = SIG_DFL };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGCHLD, &sa, NULL); /* from here on we reap them ourselves */
    sigprocmask(SIG_SETMASK, &old, NULL);
    while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
        ;
}

static int on_option(int letter, const char *arg, void *ctx)
{
    struct config *cfg = ctx;
    (void)letter;
    return parse_number(arg, 1, 86400, 't', &cfg->idle_seconds);
}

int main(int argc, char **argv)
{
    struct config cfg = { .opt = SERVER_OPTIONS_DEFAULTS("stage11"), .idle_seconds = 300 };
    cfg.opt.port = 2121;
    cfg.opt.docroot = "ftproot";
    struct stage_options extra = {
        "t:", "  -t SECONDS  close a silent control connection (default 300)\n", on_option, &cfg
    };
    parse_options(argc, argv, &cfg.opt, &extra);

    install_signal_handlers(); /* SIGPIPE ignored; SIGTERM/SIGINT set stop_requested */
    struct sigaction sa = { .sa_handler = on_sigchld, .sa_flags = SA_RESTART | SA_NOCLDSTOP };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGCHLD, &sa, NULL);

    int listen_fd = open_listener(&cfg.opt, 64, 0);
    announce_ready(&cfg.opt, listen_fd, "ftp", "root");

    while (!stop_requested) {
        int conn = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (conn < 0) {
            if (errno != EINTR && errno != ECONNABORTED)
                warn("accept");
            if (errno == EMFILE || errno == ENFILE)
                sleep(1); /* out of descriptors: let sessions end first */
            continue;
        }
        spawn_session(listen_fd, conn, &cfg);
        close(conn); /* the child has its own copy; ours would keep it open */
    }
    close(listen_fd);
    end_sessions();
    return 0;
}

/* ====================================================================== */
/* The child: one session                                                  */
/* ====================================================================== */

static void on_session_stop(int sig)
{
    (void)sig;
    upload_discard_in_signal(); /* an unfinished upload must not stay behind */
    _exit(0);
}

/* A session dies at once on SIGTERM/SIGINT (the parent's flag would only be
 * seen between commands) and has no children of its own to reap. */
static void become_session_process(void)
{
    struct sigaction sa = { .sa_handler = on_session_stop };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = SIG_DFL;
    sigaction(SIGCHLD, &sa, NULL);
}

struct session {
    int ctrl; /* control connection */
    struct line_reader in;
    const struct config *cfg;
    int root_fd;        /* the root, for open_beneath() */
    char cwd[PATH_MAX]; /* virtual: "/" or "/a/b" */
    int user_given, logged_in;
    int pasv_fd;             /* passive listening socket, or -1 */
    struct sockaddr_in peer; /* the client, for checking data connections */
    char verb[5];            /* the command being answered, for -v */
    /* REST and RNFR prepare the command right after them; any other forgets. */
    off_t restart;              /* REST: where the next RETR or STOR starts */
    char rename_from[PATH_MAX]; /* RNFR: the virtual path RNTO renames, or "" */
};

/* Send one reply line: "CODE text\r\n". */
static int reply(struct session *s, int code, const char *fmt, ...)
{
    char line[PATH_MAX + 64];
    int n = snprintf(line, sizeof line, "%d ", code);
    va_list ap;
    va_start(ap, fmt);
    n += vsnprintf(line + n, sizeof line - (size_t)n - 2, fmt, ap);
    va_end(ap);
    if (n > (int)sizeof line - 3)
        n = (int)sizeof line - 3;
    if (s->cfg->opt.verbose)
        fprintf(stderr, "stage11[%d] %s %s: %.*s\n", (int)getpid(), inet_ntoa(s->peer.sin_addr),
                s->verb, n, line);
    line[n++] = '\r';
    line[n++] = '\n';
    return write_all(s->ctrl, line, (size_t)n);
}

/* Each handler gets the argument (arg_len bytes, possibly with NULs) and
 * returns 0 to go on or -1 to end the session. */
typedef int handler(struct session *s, const char *arg, size_t arg_len);

static handler cmd_user, cmd_pass, cmd_quit, cmd_syst, cmd_feat, cmd_noop, cmd_opts, cmd_pwd,
    cmd_cwd, cmd_cdup, cmd_type, cmd_pasv, cmd_epsv, cmd_list, cmd_nlst, cmd_retr, cmd_stor,
    cmd_size, cmd_mdtm, cmd_rest, cmd_appe, cmd_mkd, cmd_rmd, cmd_dele, cmd_rnfr, cmd_rnto;

// clang-format off
static const struct {
    const char *verb;
    handler *run;
    int before_login; /* allowed before PASS */
} commands[] = {
    { "USER", cmd_user, 1 }, { "PASS", cmd_pass, 1 }, { "QUIT", cmd_quit, 1 },
    { "SYST", cmd_syst, 1 }, { "FEAT", cmd_feat, 1 }, { "NOOP", cmd_noop, 1 },
    { "OPTS", cmd_opts, 1 },
    { "PWD", cmd_pwd, 0 },   { "XPWD", cmd_pwd, 0 },  { "CWD", cmd_cwd, 0 },
    { "CDUP", cmd_cdup, 0 }, { "TYPE", cmd_type, 0 }, { "PASV", cmd_pasv, 0 },
    { "EPSV", cmd_epsv, 0 }, { "LIST", cmd_list, 0 }, { "NLST", cmd_nlst, 0 },
    { "RETR", cmd_retr, 0 }, { "STOR", cmd_stor, 0 }, { "SIZE", cmd_size, 0 },
    { "MDTM", cmd_mdtm, 0 }, { "REST", cmd_rest, 0 }, { "APPE", cmd_appe, 0 },
    { "MKD", cmd_mkd, 0 },   { "XMKD", cmd_mkd, 0 },  { "RMD", cmd_rmd, 0 },
    { "XRMD", cmd_rmd, 0 },  { "DELE", cmd_dele, 0 }, { "RNFR", cmd_rnfr, 0 },
    { "RNTO", cmd_rnto, 0 },
};
// clang-format on

/* Find the verb in the table and run its handler. */
static int run_command(struct session *s, const struct command_line *cmd)
{
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(cmd->verb, commands[i].verb) != 0)
            continue;
        if (!s->logged_in && !commands[i].before_login)
            return reply(s, 530, "Please log in with USER and PASS.");
        return commands[i].run(s, cmd->arg, cmd->arg_len);
    }
    return reply(s, 502, "Command not implemented.");
}

/* One command line. */
static int dispatch(struct session *s, const char *line, size_t len)
{
    struct command_line cmd;
    int r;
    if (parse_command(line, len, &cmd) < 0) {
        strcpy(s->verb, "?");
        r = reply(s, 500, "Syntax error, command unrecognized.");
    } else {
        memcpy(s->verb, cmd.verb, sizeof s->verb);
        r = run_command(s, &cmd);
    }
    if (strcmp(s->verb, "REST") != 0) /* REST and RNFR hold for one command */
        s->restart = 0;
    if (strcmp(s->verb, "RNFR") != 0)
        s->rename_from[0] = '\0';
    return r;
}

static void serve_session(int ctrl, const struct config *cfg)
{
    struct session s = { .ctrl = ctrl,
                         .cfg = cfg,
                         .root_fd = cfg->opt.docroot_fd,
                         .cwd = "/",
                         .pasv_fd = -1,
                         .verb = "-" };
    socklen_t len = sizeof s.peer;
    if (getpeername(ctrl, (struct sockaddr *)&s.peer, &len) < 0)
        return;
    line_reader_init(&s.in, ctrl);

    /* The idle timeout: a read that waits longer fails with EAGAIN. */
    struct timeval tv = { .tv_sec = cfg->idle_seconds };
    if (setsockopt(ctrl, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0 ||
        setsockopt(ctrl, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) < 0)
        return;

    if (reply(&s, 220, "stage11 FTP server ready.") < 0)
        return;
    for (;;) {
        char line[MAX_LINE + 1];
        ssize_t n = read_line(&s.in, line, sizeof line);
        if (n == LINE_TOO_LONG) {
            /* Where the next command starts is unknown: stop here.  The
             * rest of the line is still unread, and closing over unread
             * bytes sends a reset that can destroy our 500 in flight. */
            reply(&s, 500, "Line too long.");
            lingering_close(ctrl, 1000); /* it closes ctrl: not again below */
            ctrl = -1;
            break;
        }
        if (n == LINE_ERROR && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            reply(&s, 421, "Idle timeout, closing control connection.");
            break;
        }
        if (n < 0) /* the client left, or the connection broke */
            break;
        if (dispatch(&s, line, (size_t)n) < 0)
            break;
    }
    if (s.pasv_fd >= 0)
        close(s.pasv_fd);
    if (ctrl >= 0)
        close(ctrl);
}

/* ---- login and small talk ----------------------------------------------- */

static int cmd_user(struct session *s, const char *arg, size_t arg_len)
{
    if (arg_len == 0)
        return reply(s, 501, "USER needs a name.");
    s->user_given = 1;
    s->logged_in = 0;
    return reply(s, 331, "Any password will do.");
}

/* Every user is anonymous: this server only shares a directory. */
static int cmd_pass(struct session *s, const char *arg, size_t arg_len)
{
    if (!s->user_given)
        return reply(s, 503, "Send USER first.");
    s->logged_in = 1;
    return reply(s, 230, "Logged in.");
}

static int cmd_quit(struct session *s, const char *arg, size_t arg_len)
{
    reply(s, 221, "Goodbye.");
    return -1;
}

static int cmd_syst(struct session *s, const char *arg, size_t arg_len)
{
    return reply(s, 215, "UNIX Type: L8");
}

/* A multi-line reply: "211-" opens it, lines starting with a space are its
 * body, "211 " closes it (RFC 959 4.2, RFC 2389). */
static int cmd_feat(struct session *s, const char *arg, size_t arg_len)
{
    static const char feat[] =
        "211-Features:\r\n EPSV\r\n PASV\r\n SIZE\r\n MDTM\r\n REST STREAM\r\n UTF8\r\n";
    if (write_all(s->ctrl, feat, sizeof feat - 1) < 0)
        return -1;
    return reply(s, 211, "End");
}

static int cmd_noop(struct session *s, const char *arg, size_t arg_len)
{
    return reply(s, 200, "OK.");
}

/* "OPTS UTF8 ON": names are passed through as bytes, so UTF-8 just works. */
static int cmd_opts(struct session *s, const char *arg, size_t arg_len)
{
    if (arg_len == 7 && strncasecmp(arg, "UTF8 ON", 7) == 0)
        return reply(s, 200, "UTF8 mode on.");
    return reply(s, 501, "Option not understood.");
}

static int cmd_type(struct session *s, const char *arg, size_t arg_len)
{
    /* A and I are both sent byte for byte: the files are already in the
     * "ASCII" form a Unix client wants. */
    if (strcasecmp(arg, "I") == 0 || strcasecmp(arg, "A") == 0 || strcasecmp(arg, "A N") == 0 ||
        strcasecmp(arg, "L 8") == 0)
        return reply(s, 200, "Type set to %c.", arg[0] == 'A' || arg[0] == 'a' ? 'A' : 'I');
    return reply(s, 504, "Type not supported.");
}

/* ---- the working directory ---------------------------------------------- */

static int cmd_pwd(struct session *s, const char *arg, size_t arg_len)
{
    /* In a 257 reply the path is quoted and an inner '"' is doubled. */
    char quoted[2 * PATH_MAX];
    size_t n = 0;
    for (const char *p = s->cwd; *p && n < sizeof quoted - 2; p++) {
        if (*p == '"')
            quoted[n++] = '"';
        quoted[n++] = *p;
    }
    quoted[n] = '\0';
    return reply(s, 257, "\"%s\" is the current directory.", quoted);
}

/* A 550 for a name that could not be used.  Every segment that begins with
 * a dot is refused (vpath_join: EPERM): ".." would climb out of the root,
 * and the server's own upload temporaries are ".stor-*".  Saying "no such
 * file" of a dotfile that exists would be untrue, so the reply says why. */
static int refuse_name(struct session *s, const char *otherwise)
{
    if (errno == EPERM)
        return reply(s, 550, "Names beginning with a dot are not served.");
    return reply(s, 550, "%s", otherwise);
}

static int cmd_cwd(struct session *s, const char *arg, size_t arg_len)
{
    char v[PATH_MAX];
    if (vpath_join(s->cwd, arg, arg_len, v, sizeof v) < 0)
        return refuse_name(s, "No such directory.");
    if (!root_is_dir(s->root_fd, v))
        return reply(s, 550, "No such directory.");
    strcpy(s->cwd, v);
    return reply(s, 250, "Directory changed to %s.", v);
}

static int cmd_cdup(struct session *s, const char *arg, size_t arg_len)
{
    char *last = strrchr(s->cwd, '/');
    if (last == s->cwd)
        s->cwd[1] = '\0'; /* "/a" -> "/", and "/" stays "/" */
    else
        *last = '\0';
    return reply(s, 250, "Directory changed to %s.", s->cwd);
}

/* ---- passive mode: the data connection ------------------------------------ */

/* Exercise: the data connection, part 1.  open_passive() opens a listening
 * socket on an ephemeral port of the address the client reached us on
 * (getsockname() on the control connection), keeps it in s->pasv_fd
 * (closing an earlier one) and returns its port, or -1.
 * Handout stub:
 *     static int open_passive(struct session *s) { not_implemented_yet("open_passive"); }
 */
/* Open a listening socket on an ephemeral port of the address the client
 * reached us on, for exactly one data connection.  Returns the port or -1. */
static int open_passive(struct session *s)
{
    if (s->pasv_fd >= 0)
        close(s->pasv_fd); /* a second PASV replaces the first */
    s->pasv_fd = -1;

    struct sockaddr_in here;
    socklen_t len = sizeof here;
    if (getsockname(s->ctrl, (struct sockaddr *)&here, &len) < 0)
        return -1;
    here.sin_port = 0; /* the kernel picks a free port */
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (bind(fd, (struct sockaddr *)&here, sizeof here) < 0 || listen(fd, 1) < 0) {
        close(fd);
        return -1;
    }
    s->pasv_fd = fd;
    return bound_port(fd);
}
/* End of exercise. */

static int cmd_pasv(struct session *s, const char *arg, size_t arg_len)
{
    int port = open_passive(s);
    if (port < 0)
        return reply(s, 425, "Cannot open a passive port.");
    struct sockaddr_in here = { 0 };
    socklen_t len = sizeof here;
    if (getsockname(s->pasv_fd, (struct sockaddr *)&here, &len) < 0) {
        close(s->pasv_fd);
        s->pasv_fd = -1;
        return reply(s, 425, "Cannot open a passive port.");
    }
    unsigned char *a = (unsigned char *)&here.sin_addr.s_addr; /* network order */
    return reply(s, 227, "Entering Passive Mode (%u,%u,%u,%u,%d,%d).", a[0], a[1], a[2], a[3],
                 port >> 8, port & 0xff);
}

/* EPSV names only the port: the address is the one the client already
 * talks to, which is also what makes it work through NAT (RFC 2428). */
static int cmd_epsv(struct session *s, const char *arg, size_t arg_len)
{
    int port = open_passive(s);
    if (port < 0)
        return reply(s, 425, "Cannot open a passive port.");
    return reply(s, 229, "Entering Extended Passive Mode (|||%d|).", port);
}

/* Exercise: the data connection, part 2.  accept_data() waits at most
 * DATA_ACCEPT_SECONDS for one connection on s->pasv_fd from the control
 * connection's peer address (others are turned away), closes the passive
 * socket, sets the idle timeout on the data socket and returns it, or -1.
 * Handout stub:
 *     static int accept_data(struct session *s) { not_implemented_yet("accept_data"); }
 */
/* Wait (bounded) for the client's data connection on the passive port.
 * Only a connection from the control connection's peer address is taken:
 * anyone else who finds the port is turned away ("port theft").  The
 * passive socket is closed either way: one port, one transfer. */
static int accept_data(struct session *s)
{
    int pasv = s->pasv_fd;
    s->pasv_fd = -1;
    if (pasv < 0)
        return -1;
    time_t deadline = time(NULL) + DATA_ACCEPT_SECONDS;
    int data = -1;
    while (data < 0 && time(NULL) < deadline) {
        struct pollfd p = { .fd = pasv, .events = POLLIN };
        int r = poll(&p, 1, 1000);
        if (r < 0 && errno != EINTR)
            break;
        if (r <= 0)
            continue;
        struct sockaddr_in from = { 0 };
        socklen_t len = sizeof from;
        int fd = accept4(pasv, (struct sockaddr *)&from, &len, SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        if (from.sin_addr.s_addr != s->peer.sin_addr.s_addr) {
            close(fd);
            continue;
        }
        data = fd;
    }
    close(pasv);
    if (data >= 0) {
        /* A data connection that stalls for the idle time is given up. */
        struct timeval tv = { .tv_sec = s->cfg->idle_seconds };
        setsockopt(data, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(data, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    }
    return data;
}
/* End of exercise. */

/* The 150 reply, then the data connection; on failure the 425 is sent. */
static int open_data(struct session *s, const char *what)
{
    if (s->pasv_fd < 0) {
        reply(s, 425, "Use PASV or EPSV first.");
        return -1;
    }
    if (reply(s, 150, "Opening data connection for %s.", what) < 0)
        return -1;
    int data = accept_data(s);
    if (data < 0)
        reply(s, 425, "No data connection.");
    return data;
}

/* ---- listings ------------------------------------------------------------ */

/* Clients send "LIST -la" out of habit: ls options are not names. */
static void skip_ls_options(const char **arg, size_t *arg_len)
{
    while (*arg_len > 0 && (*arg)[0] == '-') {
        const char *space = memchr(*arg, ' ', *arg_len);
        size_t skip = space ? (size_t)(space - *arg) + 1 : *arg_len;
        *arg += skip;
        *arg_len -= skip;
    }
}

static int send_listing(struct session *s, const char *arg, size_t arg_len, int names_only)
{
    skip_ls_options(&arg, &arg_len);
    char v[PATH_MAX];
    if (arg_len == 0)
        strcpy(v, s->cwd);
    else if (vpath_join(s->cwd, arg, arg_len, v, sizeof v) < 0)
        return refuse_name(s, "No such file or directory.");

    /* The listing is made before the data connection is opened, so that a
     * missing directory gets a plain 550. */
    size_t len;
    char *text = root_listing(s->root_fd, v, names_only, &len);
    if (text == NULL)
        return reply(s, 550, "No such file or directory.");
    int data = open_data(s, "the listing");
    if (data < 0) {
        free(text);
        return 0;
    }
    int ok = write_all(data, text, len) == 0;
    free(text);
    close(data); /* the close is the end of the listing */
    return ok ? reply(s, 226, "Listing sent.") : reply(s, 426, "Listing aborted.");
}

static int cmd_list(struct session *s, const char *arg, size_t arg_len)
{
    return send_listing(s, arg, arg_len, 0);
}

static int cmd_nlst(struct session *s, const char *arg, size_t arg_len)
{
    return send_listing(s, arg, arg_len, 1);
}

/* ---- files ------------------------------------------------------------------ */

/* Open a client's name as a regular file inside the root, or -1. */
static int open_named(struct session *s, const char *arg, size_t arg_len, struct stat *st)
{
    char v[PATH_MAX];
    if (vpath_join(s->cwd, arg, arg_len, v, sizeof v) < 0)
        return -1;
    return root_open_file(s->root_fd, v, st);
}

static int cmd_size(struct session *s, const char *arg, size_t arg_len)
{
    struct stat st;
    int fd = open_named(s, arg, arg_len, &st);
    if (fd < 0)
        return refuse_name(s, "No such file.");
    close(fd);
    return reply(s, 213, "%lld", (long long)st.st_size);
}

static int cmd_mdtm(struct session *s, const char *arg, size_t arg_len)
{
    struct stat st;
    struct tm tm;
    char when[32];
    int fd = open_named(s, arg, arg_len, &st);
    if (fd < 0)
        return refuse_name(s, "No such file.");
    close(fd);
    if (gmtime_r(&st.st_mtime, &tm) == NULL ||
        strftime(when, sizeof when, "%Y%m%d%H%M%S", &tm) == 0)
        return reply(s, 550, "No time for that file.");
    return reply(s, 213, "%s", when);
}

static int cmd_retr(struct session *s, const char *arg, size_t arg_len)
{
    struct stat st;
    int fd = open_named(s, arg, arg_len, &st);
    if (fd < 0)
        return refuse_name(s, "No such file.");
    off_t from = s->restart; /* after REST: the rest of a broken download */
    if (from > st.st_size) {
        close(fd);
        return reply(s, 554, "Restart point beyond the end of the file.");
    }
    char what[64];
    snprintf(what, sizeof what, "a file (%lld bytes)", (long long)(st.st_size - from));
    int data = open_data(s, what);
    if (data < 0) {
        close(fd);
        return 0;
    }
    /* sendfile streams from the page cache: never the whole file in memory. */
    int ok = send_file_all(data, fd, from, st.st_size - from) == 0;
    close(fd);
    close(data); /* the close is the end of the file */
    return ok ? reply(s, 226, "Transfer complete.") : reply(s, 426, "Transfer aborted.");
}

/* Has the client closed (or reset) the control connection?  Asked after an
 * upload's data connection ended.  In stream mode the data connection's
 * close *is* the end of the file, so a client killed mid-upload looks just
 * like one that finished: the kernel closes both of its sockets cleanly.
 * The difference is that a real client keeps the control connection open
 * to hear our 226.  A dying one closes it too, within moments of the data
 * connection (not always before it: the kernel releases a dead process's
 * sockets in no order we can rely on), hence a short wait.  Only the
 * hangup wakes us: a command sent early (POLLIN) does not. */
static int control_gone(struct session *s)
{
    struct pollfd p = { .fd = s->ctrl, .events = POLLRDHUP };
    int r;
    while ((r = poll(&p, 1, 100)) < 0 && errno == EINTR)
        ;
    return r == 1 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

/* Copy the data connection into the upload's temporary file until the
 * client closes it.  Returns 0 at a clean end, -1 on error or timeout. */
static int receive_upload(int data, int fd)
{
    char buf[64 * 1024];
    for (;;) {
        ssize_t n = read(data, buf, sizeof buf);
        if (n == 0)
            return 0; /* the client's close: the whole file has arrived */
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1; /* reset, or EAGAIN after the idle timeout */
        }
        if (write_all(fd, buf, (size_t)n) < 0)
            return -1;
    }
}

/* STOR, resumed STOR (after REST) and APPE: keep is how many bytes of the
 * existing file come before the data (0: none, -1: all of it). */
static int store(struct session *s, const char *arg, size_t arg_len, off_t keep)
{
    char v[PATH_MAX];
    struct upload up;
    if (vpath_join(s->cwd, arg, arg_len, v, sizeof v) < 0 || strcmp(v, "/") == 0)
        return reply(s, 553, "File name not allowed.");
    if (upload_begin(s->root_fd, v, &up) < 0)
        return reply(s, 553, "Cannot store that file.");
    if (keep != 0 && upload_keep_prefix(&up, keep) < 0) {
        upload_abort(&up);
        return reply(s, 554, "Cannot resume: the file is shorter than the restart point.");
    }
    int data = open_data(s, "the upload");
    if (data < 0) {
        upload_abort(&up);
        return 0;
    }
    int ok = receive_upload(data, up.fd) == 0 && !control_gone(s);
    close(data);
    if (!ok) {
        upload_abort(&up); /* an existing file of that name is untouched */
        return reply(s, 426, "Transfer aborted, nothing stored.");
    }
    if (upload_commit(&up) < 0)
        return reply(s, 451, "Could not store the file.");
    return reply(s, 226, "Transfer complete.");
}

static int cmd_stor(struct session *s, const char *arg, size_t arg_len)
{
    return store(s, arg, arg_len, s->restart);
}

/* APPE: the data goes after the existing file (curl -C - -T resumes so). */
static int cmd_appe(struct session *s, const char *arg, size_t arg_len)
{
    return store(s, arg, arg_len, -1);
}

/* REST n: the next RETR starts at byte n, the next STOR keeps the first n
 * bytes of the file (RFC 3659 5: stream mode, a byte count). */
static int cmd_rest(struct session *s, const char *arg, size_t arg_len)
{
    long long n = 0;
    if (arg_len == 0 || arg_len > 15) /* up to 15 digits: no overflow */
        return reply(s, 501, "REST needs a byte count.");
    for (size_t i = 0; i < arg_len; i++) {
        if (arg[i] < '0' || arg[i] > '9')
            return reply(s, 501, "REST needs a byte count.");
        n = n * 10 + (arg[i] - '0');
    }
    s->restart = (off_t)n;
    return reply(s, 350, "Restarting at %lld. Send RETR or STOR.", n);
}

/* ---- changing the tree -------------------------------------------------- */

/* The client's name as a directory descriptor beneath the root and one last
 * component (root_open_parent() in files.c): the *at() call that follows
 * acts on that name in that directory, and nothing can be swapped between
 * the check and the act.  -1 when the name is refused or is the root. */
static int open_parent_named(struct session *s, const char *arg, size_t arg_len, char *v,
                             const char **name)
{
    if (vpath_join(s->cwd, arg, arg_len, v, PATH_MAX) < 0)
        return -1;
    return root_open_parent(s->root_fd, v, name);
}

/* A 257 reply names a path in quotes, an inner '"' doubled (RFC 959). */
static int reply_quoted(struct session *s, int code, const char *path, const char *text)
{
    char quoted[2 * PATH_MAX];
    size_t n = 0;
    for (const char *p = path; *p && n < sizeof quoted - 2; p++) {
        if (*p == '"')
            quoted[n++] = '"';
        quoted[n++] = *p;
    }
    quoted[n] = '\0';
    return reply(s, code, "\"%s\" %s", quoted, text);
}

static int cmd_mkd(struct session *s, const char *arg, size_t arg_len)
{
    char v[PATH_MAX];
    const char *name;
    int dir = open_parent_named(s, arg, arg_len, v, &name);
    int ok = dir >= 0 && mkdirat(dir, name, 0755) == 0;
    if (dir >= 0)
        close(dir);
    return ok ? reply_quoted(s, 257, v, "created.")
              : reply(s, 550, "Cannot create that directory.");
}

/* RMD and DELE: unlinkat() with or without AT_REMOVEDIR.  It removes a name,
 * never what a symlink points to, and rmdir only empties directories. */
static int remove_named(struct session *s, const char *arg, size_t arg_len, int flags)
{
    char v[PATH_MAX];
    const char *name;
    int dir = open_parent_named(s, arg, arg_len, v, &name);
    int ok = dir >= 0 && unlinkat(dir, name, flags) == 0;
    if (dir >= 0)
        close(dir);
    return ok ? reply(s, 250, "Removed %s.", v) : reply(s, 550, "Cannot remove that.");
}

static int cmd_rmd(struct session *s, const char *arg, size_t arg_len)
{
    return remove_named(s, arg, arg_len, AT_REMOVEDIR);
}

static int cmd_dele(struct session *s, const char *arg, size_t arg_len)
{
    return remove_named(s, arg, arg_len, 0);
}

/* RNFR names what the next command, RNTO, renames. */
static int cmd_rnfr(struct session *s, const char *arg, size_t arg_len)
{
    char v[PATH_MAX];
    struct stat st;
    const char *name;
    int dir = open_parent_named(s, arg, arg_len, v, &name);
    int ok = dir >= 0 && fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
    if (dir >= 0)
        close(dir);
    if (!ok)
        return reply(s, 550, "No such file or directory.");
    strcpy(s->rename_from, v);
    return reply(s, 350, "Ready for RNTO.");
}

/* One renameat() between two directories opened beneath the root: it
 * replaces an existing file of the new name atomically, as rename(2) does. */
static int cmd_rnto(struct session *s, const char *arg, size_t arg_len)
{
    if (s->rename_from[0] == '\0')
        return reply(s, 503, "Send RNFR first.");
    char to[PATH_MAX];
    const char *from_name, *to_name;
    int from_dir = root_open_parent(s->root_fd, s->rename_from, &from_name);
    int to_dir = open_parent_named(s, arg, arg_len, to, &to_name);
    int ok = from_dir >= 0 && to_dir >= 0 && renameat(from_dir, from_name, to_dir, to_name) == 0;
    if (from_dir >= 0)
        close(from_dir);
    if (to_dir >= 0)
        close(to_dir);
    return ok ? reply(s, 250, "Renamed to %s.", to) : reply(s, 550, "Cannot rename that.");
}
