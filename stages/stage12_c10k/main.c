/* stage12 — C10K: every core, raised limits, timeouts, and a cheap connection.
 *
 * Model: a master process and -w N worker processes (default: one per CPU).
 * Each worker is stage 10 — one thread, one epoll instance, edge-triggered,
 * never blocking — with its own listening socket: SO_REUSEPORT lets N
 * sockets bind the same port, and the kernel spreads new connections over
 * them by a hash of the 4-tuple.  No lock, no shared accept queue, no
 * thundering herd.  (-e instead shares one listener and registers it with
 * EPOLLEXCLUSIVE, so that one or more workers, not all, wake per connection
 * (epoll(7) says "one or more"); NOTES.md
 * compares the two.)  The master only starts, supervises and stops workers.
 *
 * What changed since stage10, and where:
 *   main.c       workers and their listeners; RLIMIT_NOFILE raised to the hard
 *                limit; the listen backlog from net.core.somaxconn; TCP_NODELAY
 *                set once on the listener (accepted sockets inherit it) and
 *                TCP_DEFER_ACCEPT (a connection arrives with its request); the
 *                connection cap -c shared by all workers; a master that
 *                restarts a crashed worker, stops when one fails, and turns SIGTERM
 *                into a bounded stop.
 *   worker.c     the tuned connection: 120 bytes while idle, buffers only while
 *                a request is in progress, no malloc per request, one sendmsg()
 *                per small reply (its FIN in the same packet when the connection
 *                closes), sendfile() for large ones, 408 for unfinished
 *                requests, EMFILE handled with a reserve descriptor, the
 *                graceful stop (in-flight replies finish, at most 5 s).
 *   timer.c      a timing wheel: O(1) deadlines for idle and slow clients.
 *   filecache.c  open descriptors, small files' bytes and ready response heads,
 *                at most one second stale; the Date string once per second.
 *
 * What still limits it: the kernel.  Every packet crosses the system-call
 * boundary, the TCP stack and its locks; at millions of connections (C10M)
 * servers bypass the kernel's network stack altogether (DPDK, io_uring and
 * friends shrink the crossings).  See NOTES.md, "stage12".
 */
#include <arpa/inet.h>
#include <err.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "filecache.h"
#include "net.h"
#include "options.h"
#include "worker.h"

/* stage13 compiles this master around its io_uring workers, naming itself,
 * its shared listener and a check to make before any worker starts. */
#ifndef STAGE_NAME
#define STAGE_NAME      "stage12"
#define STAGE_EXCLUSIVE "EPOLLEXCLUSIVE"
#endif

#define MAX_WORKERS   64
#define STOP_GRACE_MS 7000 /* workers drain for 5 s; then they are killed */

static struct server_options opt = SERVER_OPTIONS_DEFAULTS(STAGE_NAME);
static long nworkers, idle_seconds = 60, max_conns, exclusive;

struct shared_counts { /* in memory shared with the workers */
    atomic_long open_conns;
    long per_worker[MAX_WORKERS];
};

static struct shared_counts *counts;
static int listeners[MAX_WORKERS];
static int nlisteners;
static pid_t worker_pid[MAX_WORKERS];
static long long worker_started[MAX_WORKERS];
static pid_t master_pid;

static int on_option(int letter, const char *arg, void *ctx)
{
    (void)ctx;
    // clang-format off
    switch (letter) {
    case 'w': return parse_number(arg, 1, MAX_WORKERS, 'w', &nworkers);
    case 't': return parse_number(arg, 1, 86400, 't', &idle_seconds);
    case 'c': return parse_number(arg, 1, 100000000, 'c', &max_conns);
    case 'e': exclusive = 1; return 0;
    default:  return -1;
    }
    // clang-format on
}

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- limits ----------------------------------------------------------------- */

/* Each connection is a descriptor, and the soft RLIMIT_NOFILE is often 1024.
 * An unprivileged process may raise its soft limit up to the hard limit
 * (which root sets: limits.conf, systemd's LimitNOFILE=, ulimit -Hn). */
static long raise_fd_limit(long *was)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0) {
        warn("getrlimit");
        exit(2);
    }
    *was = (long)rl.rlim_cur;
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
        warn("setrlimit");
        return *was;
    }
    return (long)rl.rlim_cur;
}

/* listen(fd, n) silently caps n at net.core.somaxconn; ask for all of it, so
 * a burst of connections waits in the queue instead of being dropped. */
static int listen_backlog(void)
{
    FILE *f = fopen("/proc/sys/net/core/somaxconn", "r");
    char line[32];
    long n = 0;
    if (f != NULL) {
        if (fgets(line, sizeof line, f) != NULL) {
            char *end;
            errno = 0;
            n = strtol(line, &end, 10);
            if (errno != 0 || end == line || n > INT_MAX)
                n = 0;
        }
        fclose(f);
    }
    return n > 0 ? (int)n : SOMAXCONN;
}

/* SO_REUSEPORT has a catch: a second server of the same user may bind the
 * same port too, and would silently share our connections.  So first make
 * sure that nobody listens there: a plain bind (no SO_REUSEPORT) fails with
 * EADDRINUSE if anyone does. */
static void refuse_port_in_use(void)
{
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((uint16_t)opt.port) };
    if (opt.port == 0 || inet_pton(AF_INET, opt.bind_addr, &addr.sin_addr) != 1)
        return; /* any free port; or open_listener() complains */
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0)
        return;
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
        warnx("cannot bind %s:%d: %s", opt.bind_addr, opt.port, strerror(errno));
        exit(2);
    }
    close(fd);
}

static int open_fast_listener(int backlog, int reuseport)
{
    int fd = open_listener(&opt, backlog, LISTEN_NONBLOCK | (reuseport ? LISTEN_REUSEPORT : 0));
    /* Replies leave whole (one sendmsg, or MSG_MORE + sendfile), so Nagle's
     * algorithm could only delay them.  Set on the listener, the option is
     * inherited by every accepted socket: no setsockopt() per connection. */
    int one = 1;
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0)
        warn("TCP_NODELAY");
    /* TCP_DEFER_ACCEPT: the kernel completes the handshake but queues the
     * connection for accept() only once its first bytes arrive.  A request
     * then costs one wake-up, not two (accept, then read), and a client that
     * connects and says nothing holds no descriptor of ours.  After a second
     * of silence it is accepted anyway and -t starts timing it. */
    int secs = 1;
    if (setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &secs, sizeof secs) < 0)
        warn("TCP_DEFER_ACCEPT");
    return fd;
}

/* ---- workers --------------------------------------------------------------------- */

static void spawn_worker(int i)
{
    pid_t pid = fork();
    if (pid < 0) {
        warn("fork");
        return;
    }
    if (pid > 0) {
        worker_pid[i] = pid;
        worker_started[i] = mono_ms();
        return;
    }
    /* The worker.  Should the master die (even by SIGKILL), the kernel sends
     * us SIGTERM, so no worker outlives it. */
    if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != master_pid)
        _exit(0);
    int mine = exclusive ? listeners[0] : listeners[i];
    for (int j = 0; j < nlisteners; j++)
        if (listeners[j] != mine)
            close(listeners[j]);
    counts->per_worker[i] = 0;
    struct worker_config wc = {
        .opt = &opt,
        .listen_fd = mine,
        .exclusive = (int)exclusive,
        .idle_ms = (int)(idle_seconds * 1000),
        .max_conns = max_conns,
        .open_conns = &counts->open_conns,
        .my_conns = &counts->per_worker[i],
    };
    exit(worker_run(&wc));
}

static int alive_workers(void)
{
    int n = 0;
    for (int i = 0; i < nworkers; i++)
        n += worker_pid[i] > 0;
    return n;
}

static void signal_workers(int sig)
{
    for (int i = 0; i < nworkers; i++)
        if (worker_pid[i] > 0)
            kill(worker_pid[i], sig);
}

/* Collect dead workers (no zombies); while running, replace the ones that
 * crashed.  A worker that exits with a failure status chose to (it could not
 * set up its epoll instance, say): the next one would meet the same fate, so
 * instead of restarting it every second, return 1 and the server stops. */
static int reap_workers(int stopping)
{
    int status, failed = 0;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        for (int i = 0; i < nworkers; i++) {
            if (worker_pid[i] != pid)
                continue;
            worker_pid[i] = 0;
            /* Its connections died with it: take them off the shared count. */
            atomic_fetch_sub(&counts->open_conns, counts->per_worker[i]);
            counts->per_worker[i] = 0;
            if (stopping)
                break;
            if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
                warnx("worker %d exited with status %d: stopping", (int)pid, WEXITSTATUS(status));
                failed = 1;
                break;
            }
            if (WIFSIGNALED(status))
                warnx("worker %d killed by signal %d: restarting it", (int)pid, WTERMSIG(status));
            else
                warnx("worker %d exited with status %d: restarting it", (int)pid,
                      WEXITSTATUS(status));
            if (mono_ms() - worker_started[i] < 1000)
                sleep(1);    /* dying at once: don't fork in a tight loop */
            spawn_worker(i); /* its listener (kept by the master) is waiting */
        }
    }
    return failed;
}

/* The master sleeps in sigtimedwait(): SIGCHLD means a worker died, SIGTERM
 * or SIGINT mean stop.  The signals stay blocked, so none is missed between
 * two waits.  Returns the server's exit status: 1 if a worker failed. */
static int supervise(const sigset_t *signals)
{
    int stopping = 0, failed = 0;
    long long give_up = 0;
    for (;;) {
        struct timespec tick = { 0, 100 * 1000 * 1000 };
        int sig = sigtimedwait(signals, NULL, stopping ? &tick : NULL);
        /* Ctrl-C signals the whole process group: the workers stop too, and
         * may be gone already.  Reap them as stopping, not as crashed, also
         * when SIGCHLD came out first (the order of pending signals is not
         * specified) or the wait ended in EINTR (after SIGSTOP/SIGCONT). */
        sigset_t pending;
        sigpending(&pending);
        int stop_asked = sig == SIGTERM || sig == SIGINT || sigismember(&pending, SIGTERM) ||
                         sigismember(&pending, SIGINT);
        if (reap_workers(stopping || stop_asked))
            failed = 1;
        if ((stop_asked || failed) && !stopping) {
            stopping = 1;
            give_up = mono_ms() + STOP_GRACE_MS;
            for (int i = 0; i < nlisteners; i++)
                close(listeners[i]); /* stop accepting: the workers close theirs too */
            signal_workers(SIGTERM);
        }
        if (stopping && alive_workers() == 0)
            return failed;
        if (stopping && mono_ms() > give_up)
            signal_workers(SIGKILL); /* a worker that ignores the deadline */
    }
}

int main(int argc, char **argv)
{
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    nworkers = ncpu < 1 ? 1 : ncpu > MAX_WORKERS ? MAX_WORKERS : ncpu;
    struct stage_options extra = {
        "w:t:c:e",
        "  -w N        worker processes (default: number of CPUs)\n"
        "  -t SECONDS  idle keep-alive and unfinished-request timeout (default 60)\n"
        "  -c MAX      connection cap, all workers together (default: from the fd limit)\n"
        "  -e          one listener shared (" STAGE_EXCLUSIVE ") instead of SO_REUSEPORT\n",
        on_option,
        NULL,
    };
    parse_options(argc, argv, &opt, &extra);
#ifdef BEFORE_WORKERS
    BEFORE_WORKERS();
#endif
    install_signal_handlers(); /* SIGPIPE ignored, in the workers too */
    master_pid = getpid();

    sigset_t signals; /* blocked before fork: inherited by the workers */
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGCHLD);
    sigprocmask(SIG_BLOCK, &signals, NULL);

    long soft_was;
    long nofile = raise_fd_limit(&soft_was);
    /* Each worker is its own process with its own descriptor table; keep
     * some for the file cache, the epoll instance (or ring), the reserve
     * and stdio. */
    long per_worker =
        nofile > 2 * (FILECACHE_SLOTS + 64) ? nofile - FILECACHE_SLOTS - 64 : nofile / 2;
    if (max_conns == 0)
        max_conns = per_worker * nworkers;
    int backlog = listen_backlog();

    counts = mmap(NULL, sizeof *counts, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (counts == MAP_FAILED) {
        warn("mmap");
        return 1;
    }
    atomic_init(&counts->open_conns, 0);

    /* The first listener may get an ephemeral port (-p 0); the others must
     * bind that same port, which SO_REUSEPORT allows. */
    if (!exclusive)
        refuse_port_in_use();
    nlisteners = exclusive ? 1 : (int)nworkers;
    for (int i = 0; i < nlisteners; i++) {
        listeners[i] = open_fast_listener(backlog, !exclusive);
        opt.port = bound_port(listeners[0]);
    }

    fprintf(stderr,
            "%s: fd limit %ld (the hard limit; the soft limit was %ld), "
            "listen backlog %d, %ld worker%s (%s), at most %ld connections, idle timeout %ld s\n",
            opt.stage, nofile, soft_was, backlog, nworkers, nworkers == 1 ? "" : "s",
            exclusive ? "one listener, " STAGE_EXCLUSIVE : "SO_REUSEPORT listener each", max_conns,
            idle_seconds);
    for (int i = 0; i < nworkers; i++)
        spawn_worker(i);
    /* The listeners queue connections already: ready even before the
     * workers wait for their first event. */
    announce_ready(&opt, listeners[0], "http", "docroot");
    int status = supervise(&signals);
    munmap(counts, sizeof *counts);
    return status;
}
