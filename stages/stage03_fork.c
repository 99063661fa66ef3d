/* stage03 — fork per connection: a process for every client.
 *
 * Model: the parent process only accepts.  For each connection it fork()s a
 * child, which serves that one client exactly as stage02 did and exits.
 * Clients no longer wait for each other: a stalled client stalls only its
 * own process, and the kernel runs the processes side by side on all cores.
 *
 * What changed since stage02: the accept loop calls fork() and hands the
 * connection to the child.  After fork() both processes hold both sockets,
 * so each closes the one it does not use (see serve_in_child and main).  Dead
 * children are reaped by a SIGCHLD handler; otherwise each would stay a
 * zombie in the process table.  A child gets SIGTERM when the parent dies,
 * so stopping the server stops the clients being served too.  If fork()
 * fails (the process limit, no memory), the client gets 503 at once.
 *
 * Weakness: a fork() per request is expensive: the kernel copies the page
 * tables and the descriptor table, the child page-faults its way through
 * copy-on-write pages, and the process then exits after a few
 * milliseconds of work.  Under load the server spends more time creating
 * and destroying processes than serving, and a flood of clients makes a
 * flood of processes, without a limit.
 * Stage 04 forks a fixed pool of workers once, at start, and reuses them.
 */
#include <err.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "http.h"
#include "io.h"
#include "net.h"
#include "options.h"
#include "response.h"

static struct server_options opt = SERVER_OPTIONS_DEFAULTS("stage03");
static pid_t parent_pid;

/* Read until the parser has a whole request head.  Returns its length, 0 if
 * the client left first, or HTTP_ERROR with req->status saying why. */
static long read_request(int fd, char *buf, size_t cap, size_t *have, struct http_request *req)
{
    http_request_reset(req);
    for (;;) {
        long r = http_parse_request(req, buf, *have);
        if (r != HTTP_INCOMPLETE)
            return r;
        ssize_t n = read(fd, buf + *have, cap - *have);
        if (n < 0 && errno == EINTR && !stop_requested)
            continue; /* a signal interrupted the wait; nothing was lost */
        if (n <= 0)
            return 0; /* 0: the client closed; < 0: reset, or we must stop */
        *have += (size_t)n;
    }
}

/* One whole conversation: request in, response out, close. */
static void serve_client(int fd)
{
    char buf[HTTP_MAX_HEAD + 1]; /* one byte more than a head may have: 431 */
    size_t have = 0;
    struct http_request req;
    struct http_reply rep;

    long head = read_request(fd, buf, sizeof buf, &have, &req);
    if (head == 0) {
        close(fd);
        return;
    }
    if (head == HTTP_ERROR)
        http_reply_error(&rep, req.status, 0, 0);
    else
        http_reply_for(&rep, &req, &opt, 0);
    http_log(&opt, head > 0 ? &req : NULL, &rep);

    /* EPIPE or ECONNRESET here only means the client left early. */
    if (send_reply(fd, &rep) < 0 && errno != EPIPE && errno != ECONNRESET && errno != EINTR)
        warn("send");
    http_reply_done(&rep);

    /* Unread bytes (a request body, junk after a bad request) would turn our
     * close() into a reset that can destroy the response in flight. */
    if (head == HTTP_ERROR || have > (size_t)head || req.content_length > 0)
        lingering_close(fd, 1000);
    else
        close(fd);
}

/* Exercise: a process per client, part 1.  Reap every child that has exited
 * (a SIGCHLD handler around waitpid(WNOHANG)), and write serve_in_child():
 * what the child closes, serves and how it ends.
 * Handout stub:
 *     static void install_child_reaper(void) {}
 */
/* A child that has exited stays in the process table as a zombie until its
 * parent collects its status.  Collect every one that is ready: several
 * exits may have been merged into one SIGCHLD. */
static void reap_children(int sig)
{
    (void)sig;
    int saved_errno = errno; /* waitpid must not disturb the code we interrupted */
    while (waitpid(-1, NULL, WNOHANG) > 0)
        continue;
    errno = saved_errno;
}

/* The alternative, signal(SIGCHLD, SIG_IGN), makes the kernel discard
 * children at once, but then the parent can never learn how a child ended.
 * Without SA_RESTART, SIGCHLD interrupts accept() with EINTR; the loop in
 * main simply calls it again. */
static void install_child_reaper(void)
{
    struct sigaction sa = { .sa_handler = reap_children, .sa_flags = SA_NOCLDSTOP };
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGCHLD, &sa, NULL) < 0) {
        warn("sigaction SIGCHLD");
        exit(1);
    }
}

/* The child's whole life.  It closes its copy of the listening socket: a
 * child that kept it would keep the port open after the parent is gone, and
 * connections would queue where nobody accepts them. */
static void serve_in_child(int listen_fd, int fd)
{
    close(listen_fd);
    /* Be told with SIGTERM when the parent dies, like a SIGTERM of our own;
     * the test after prctl covers a parent that died before it. */
    if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent_pid)
        stop_requested = 1;
    serve_client(fd);
    _exit(0); /* not exit(): stdio buffers copied from the parent must not be flushed twice */
}
/* End of exercise. */

/* No process for this client (fork failed: EAGAIN at the process limit, or
 * ENOMEM): say so at once rather than leave it waiting. */
static void refuse_busy(int fd)
{
    struct http_reply rep;
    http_reply_error(&rep, 503, 0, 0);
    http_log(&opt, NULL, &rep);
    if (send_reply(fd, &rep) < 0 && errno != EPIPE && errno != ECONNRESET && errno != EINTR)
        warn("send");
    http_reply_done(&rep);
    lingering_close(fd, 100); /* its request is unread: close without a reset */
}

int main(int argc, char **argv)
{
    parse_options(argc, argv, &opt, NULL);
    install_signal_handlers();
    install_child_reaper();
    parent_pid = getpid();
    int listen_fd = open_listener(&opt, SOMAXCONN, 0);
    announce_ready(&opt, listen_fd, "http", "docroot");

    while (!stop_requested) {
        int fd = accept(listen_fd, NULL, NULL);
        if (fd < 0) {
            if (errno != EINTR) /* EINTR: a signal; the loop test looks at it */
                warn("accept");
            continue;
        }
        /* Exercise: a process per client, part 2.  fork(); the child serves
         * and never returns, the parent closes its copy of the connection,
         * and a failed fork() answers 503 with refuse_busy().
         * Handout stub:
         *     (void)serve_client;
         *     (void)refuse_busy;
         *     not_implemented_yet("fork a child per connection");
         */
        pid_t pid = fork();
        if (pid == 0)
            serve_in_child(listen_fd, fd);
        if (pid < 0) {
            warn("fork");
            refuse_busy(fd);
            continue;
        }
        /* The parent closes its copy of the connection.  Forgetting it leaks
         * one descriptor per client (accept fails with EMFILE after about a
         * thousand), and the client never sees the end of the response:
         * the connection stays open while any process holds it. */
        close(fd);
        /* End of exercise. */
    }
    close(listen_fd);
    return 0;
}
