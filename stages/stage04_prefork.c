/* stage04 — a pre-forked pool: processes made once, reused for every client.
 *
 * Model: at start the master forks N workers (-w N, default one per CPU).
 * Each worker runs stage02's whole accept-and-serve loop on the listening
 * socket they all inherited.  When a connection arrives, the kernel wakes
 * one of the workers blocked in accept() and gives it the connection (the
 * "thundering herd" of blocking accept was fixed in the Linux 2.3/2.4 era;
 * it comes back for workers that wait in select/poll/epoll on a shared
 * listener, which all wake for one connection).  The master serves nobody: it supervises.  A worker that dies
 * is replaced; SIGTERM to the master stops every worker, then the master.
 *
 * What changed since stage02: main forks the workers and then waits for
 * signals; the old loop became worker_loop.  The master waits with
 * sigtimedwait(): the signals it cares about (SIGCHLD, SIGTERM, SIGINT) are
 * blocked, so they wait as pending until it asks for them, and no handler
 * can run at an awkward moment.  Compared with stage03, no fork() happens per
 * request and there is nothing to reap but a dead worker.
 *
 * Weakness: N clients at a time, no more.  A stalled client occupies a whole
 * worker, so N stalled clients stop the server as surely as one stopped
 * stage02 (try it: N times `nc 127.0.0.1 8080`).  Raising N costs a process
 * each (about 100 kB of memory of its own — 1.5 MB resident, nearly all
 * shared copy-on-write with the master — plus a kernel stack and a task),
 * and choosing N means
 * guessing the load in advance.  Stage 05 serves each client on a thread: cheaper than
 * a process, and as many as there are clients.
 */
#include <err.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "http.h"
#include "io.h"
#include "net.h"
#include "options.h"
#include "response.h"

static struct server_options opt = SERVER_OPTIONS_DEFAULTS("stage04");
static long worker_count;    /* -w */
static pid_t *workers;       /* their process ids; 0 for an empty slot */
static sigset_t worker_mask; /* the signal mask workers run with */

static int on_option(int letter, const char *arg, void *ctx)
{
    return parse_number(arg, 1, 1024, letter, ctx);
}

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

/* Exercise: the pool.  Fork worker_count workers that all accept() on the
 * same socket (with the signal mask worker_mask), record them in workers[],
 * and supervise them: sigtimedwait() for SIGCHLD, SIGTERM and SIGINT; reap
 * and replace a dead worker; on a stop signal, stop every worker and wait
 * for all of them (SIGKILL after two seconds).
 * Handout stub:
 *     static void start_missing_workers(int listen_fd) { not_implemented_yet("the worker pool"); }
 *     static void supervise(int listen_fd, const sigset_t *waited) { (void)serve_client; }
 */
/* A worker: stage02's server loop, in one of N processes that all block in
 * accept() on the same socket.  The kernel hands each connection to one of
 * them and wakes only that one: accept() waits exclusively. */
static void worker_loop(int listen_fd)
{
    while (!stop_requested) {
        int fd = accept(listen_fd, NULL, NULL);
        if (fd < 0) {
            if (errno != EINTR) /* EINTR: a signal; the loop test looks at it */
                warn("accept");
            continue;
        }
        serve_client(fd);
    }
    close(listen_fd);
    _exit(0); /* not exit(): stdio buffers copied from the master must not be flushed twice */
}

/* Fork one worker into slot i.  A failed fork leaves the slot empty; the
 * master tries again on its next round. */
static void start_worker(int listen_fd, long i)
{
    pid_t pid = fork();
    if (pid == 0) {
        /* The master blocks its signals; a worker must feel SIGTERM at once. */
        sigprocmask(SIG_SETMASK, &worker_mask, NULL);
        worker_loop(listen_fd);
    }
    if (pid < 0)
        warn("fork");
    workers[i] = pid > 0 ? pid : 0;
}

/* Collect every worker that has died and empty its slot. */
static void reap_workers(void)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        for (long i = 0; i < worker_count; i++) {
            if (workers[i] != pid)
                continue;
            workers[i] = 0;
            if (!stop_requested && WIFSIGNALED(status))
                warnx("worker %d killed by signal %d; starting another", (int)pid,
                      WTERMSIG(status));
            else if (!stop_requested)
                warnx("worker %d exited with status %d; starting another", (int)pid,
                      WEXITSTATUS(status));
        }
    }
}

/* Fill every empty slot. */
static void start_missing_workers(int listen_fd)
{
    for (long i = 0; i < worker_count; i++)
        if (workers[i] == 0)
            start_worker(listen_fd, i);
}

static long live_workers(void)
{
    long n = 0;
    for (long i = 0; i < worker_count; i++)
        n += workers[i] != 0;
    return n;
}

static void signal_workers(int sig)
{
    for (long i = 0; i < worker_count; i++)
        if (workers[i] != 0)
            kill(workers[i], sig);
}

/* SIGTERM every worker and wait until all are reaped.  A worker busy with a
 * download stops when the signal interrupts its sendfile().  One that got the
 * signal just before it entered accept() would wait there for ever, so after
 * two seconds the stragglers get SIGKILL. */
static void stop_workers(const sigset_t *chld)
{
    signal_workers(SIGTERM);
    for (int round = 0; live_workers() > 0; round++) {
        if (round == 20)
            signal_workers(SIGKILL);
        struct timespec tick = { 0, 100 * 1000 * 1000 };
        sigtimedwait(chld, NULL, &tick); /* SIGCHLD or 100 ms, whichever first */
        reap_workers();
    }
}

/* The master: wait for a signal, act on it, wait again. */
static void supervise(int listen_fd, const sigset_t *waited)
{
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);

    while (!stop_requested) {
        /* The timeout retries a fork that failed (no memory, process limit). */
        struct timespec retry = { 1, 0 };
        int sig = sigtimedwait(waited, NULL, &retry);
        if (sig == SIGTERM || sig == SIGINT)
            stop_requested = 1;
        else if (sig == SIGCHLD || (sig < 0 && errno == EAGAIN)) {
            reap_workers();
            start_missing_workers(listen_fd);
        }
    }
    stop_workers(&chld);
}
/* End of exercise. */

int main(int argc, char **argv)
{
    struct stage_options extra = {
        "w:",
        "  -w N        worker processes (default: the number of CPUs)\n",
        on_option,
        &worker_count,
    };
    worker_count = sysconf(_SC_NPROCESSORS_ONLN);
    if (worker_count < 1)
        worker_count = 1;
    parse_options(argc, argv, &opt, &extra);
    install_signal_handlers(); /* the workers' handlers: SIGTERM sets stop_requested */

    workers = calloc((size_t)worker_count, sizeof *workers);
    if (workers == NULL) {
        warn("calloc");
        return 1;
    }
    /* Block the master's signals before the first fork: from now on they
     * wait, pending, for sigtimedwait.  A SIGCHLD that is blocked is kept
     * even though its default action is to be ignored. */
    sigset_t waited;
    sigemptyset(&waited);
    sigaddset(&waited, SIGCHLD);
    sigaddset(&waited, SIGTERM);
    sigaddset(&waited, SIGINT);
    sigprocmask(SIG_BLOCK, &waited, &worker_mask);

    int listen_fd = open_listener(&opt, SOMAXCONN, 0);
    start_missing_workers(listen_fd);
    announce_ready(&opt, listen_fd, "http", "docroot");

    supervise(listen_fd, &waited);
    close(listen_fd);
    free(workers);
    return 0;
}
