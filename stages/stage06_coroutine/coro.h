/* coro.h — a tiny coroutine runtime: many stacks, one thread.
 *
 * A coroutine is a function that runs on a stack of its own and can stop in
 * the middle ("park") and later go on where it stopped, with all its local
 * variables intact.  Nothing preempts it: it runs until it parks or returns.
 * The switch from one stack to another is done in user space by
 * swapcontext(3), which saves the registers of one coroutine and loads
 * those of the next; no thread is created, the kernel sees one thread.
 *
 * The I/O functions below look blocking to their caller, like read(2) and
 * write(2), but the descriptors are nonblocking underneath: when the kernel
 * answers EAGAIN ("would block"), the coroutine parks until poll(2) reports
 * the descriptor ready, and meanwhile the scheduler runs the others.  This
 * is what gevent's monkey-patching does to Python's socket module.
 */
#ifndef STAGE06_CORO_H
#define STAGE06_CORO_H

#include <sys/types.h>

typedef void coro_fn(void *arg);

/* Create a coroutine that will run fn(arg) when the scheduler reaches it.
 * 0, or -1 with errno (ENOMEM: no memory for its stack). */
int coro_spawn(coro_fn *fn, void *arg);

/* The scheduler: run coroutines until none is left or SIGTERM/SIGINT set
 * stop_requested (net.h).  Coroutines still parked then are abandoned: the
 * process is about to exit. */
void coro_run(void);

/* Park the running coroutine until fd is ready for `events` (POLLIN,
 * POLLOUT) or timeout_ms milliseconds have passed (-1: no limit).
 * 1 when ready (or in error: the next call on fd will say which), 0 on
 * timeout. */
int coro_wait(int fd, short events, int timeout_ms);

/* Like read(2), write(2), sendfile(2) and accept(2) on a blocking socket,
 * but a wait parks only the calling coroutine.  The socket must be
 * nonblocking; co_accept returns nonblocking sockets. */
ssize_t co_read(int fd, void *buf, size_t len);
ssize_t co_write(int fd, const void *buf, size_t len);
ssize_t co_sendfile(int sock, int file, off_t *offset, size_t len);
int co_accept(int listen_fd);

#endif
