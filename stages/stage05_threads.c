/* stage05 — a thread per connection.
 *
 * Model: one process.  The main thread accepts; each connection gets a new
 * thread that runs stage02's serve_client and ends.  Threads share the
 * address space and the descriptor table, so starting one copies nothing:
 * it needs a stack and a kernel task, no more.
 *
 * What changed since stage02: main starts a detached thread per connection
 * instead of calling serve_client itself.  Detached, because nobody waits
 * for a client thread to finish: its resources go back when it ends (a
 * joinable thread that nobody joins stays a "zombie thread", holding its
 * stack).  The stack is small and explicit: glibc's default, the soft
 * RLIMIT_STACK (8 MiB on most systems; 2 MiB when unlimited) of address
 * space per thread, is far more than serve_client needs.  The threads share
 * nothing they write: each has its own buffers on its own stack; opt is
 * only read; stdio locks stderr for each log line.  Only the main thread
 * takes SIGTERM/SIGINT: then it stops accepting, and returning from main
 * ends every thread.  If no thread can be made, the client gets 503.
 *
 * Weakness: still one kernel thread per client.  Each costs a stack (here
 * 128 KiB of address space, the touched part resident), a task in the
 * kernel's scheduler, and a context switch through the kernel whenever it
 * blocks.  Ten thousand clients mean ten thousand threads, and most of them
 * only wait.  Stage 06 switches between clients in user space instead.
 */
#include <err.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http.h"
#include "io.h"
#include "net.h"
#include "options.h"
#include "response.h"

static struct server_options opt = SERVER_OPTIONS_DEFAULTS("stage05");

/* serve_client needs about 24 KiB of stack: a 16 KiB request buffer and the
 * PATH_MAX path of path.c.  The rest is room for libc's calls (and
 * for the sanitizers' bigger frames in a `make SAN=1` build). */
#define CLIENT_STACK_SIZE (128 * 1024)

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

/* Exercise: a thread per client.  start_client_thread() starts a detached
 * thread (attr) that serves fd, with SIGTERM and SIGINT blocked in it so
 * that they reach the main thread; it returns 0 or pthread_create's error.
 * Handout stub:
 *     static int start_client_thread(const pthread_attr_t *attr, int fd) { (void)serve_client; not_implemented_yet("start_client_thread"); }
 */
static void *client_thread(void *arg)
{
    serve_client((int)(intptr_t)arg);
    return NULL;
}

/* Start a detached thread for one connection.  It is created with SIGTERM
 * and SIGINT blocked, so that those signals always reach the main thread,
 * whose accept() they interrupt.  Returns 0 or an error number. */
static int start_client_thread(const pthread_attr_t *attr, int fd)
{
    sigset_t stop_signals, old;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, &old); /* a new thread inherits the mask */
    pthread_t tid;
    int err = pthread_create(&tid, attr, client_thread, (void *)(intptr_t)fd);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return err;
}
/* End of exercise. */

/* No thread for this client (EAGAIN: the thread or memory limit): say so at
 * once rather than leave it waiting. */
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
    int listen_fd = open_listener(&opt, SOMAXCONN, 0);
    announce_ready(&opt, listen_fd, "http", "docroot");
    keep_spare_descriptor();

    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, CLIENT_STACK_SIZE);

    while (!stop_requested) {
        int fd = accept(listen_fd, NULL, NULL);
        if (fd < 0 && (errno == EMFILE || errno == ENFILE)) {
            /* Out of descriptors: accept() would fail at once, forever, and
             * this loop spin.  Hang up on the waiting client instead (net.h). */
            shed_waiting_client(listen_fd);
            continue;
        }
        if (fd < 0) {
            if (errno != EINTR) /* EINTR: a signal; the loop test looks at it */
                warn("accept");
            continue;
        }
        int err = start_client_thread(&attr, fd);
        if (err != 0) {
            warnx("pthread_create: %s", strerror(err));
            refuse_busy(fd);
        }
    }
    /* Returning from main ends the process, and with it every client thread. */
    pthread_attr_destroy(&attr);
    release_spare_descriptor();
    close(listen_fd);
    return 0;
}
