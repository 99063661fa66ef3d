/* stage13 — completion instead of readiness: stage12 on io_uring.
 *
 * Model: stage12's master and -w N worker processes, one SO_REUSEPORT
 * listener each (-e: one shared listener; io_uring arms every worker's
 * accept as an exclusive waiter, EPOLLEXCLUSIVE's behaviour, so one worker
 * wakes per connection).  What changed is inside a worker: no epoll and no
 * read/write calls.  The worker queues the operations themselves (accept,
 * receive, send, read, close) in a submission ring it shares with the
 * kernel, and collects their results from a completion ring; one
 * io_uring_enter() per loop turn submits all and waits for the next.
 *
 * What changed since stage12, and where:
 *   uring.c      the ring layer: io_uring_setup, the mmaps of the rings, an
 *                SQE, submit-and-wait, the CQEs, provided buffers — raw
 *                system calls, no liburing; the memory barriers explained.
 *   worker.c     the connection as chains of SQEs: multishot accept,
 *                receives into a provided-buffer ring (idle connections hold
 *                no buffer), a reply linked to the next receive and posting
 *                no completion of its own, READ -> SEND for big files.
 *   main.c       this file: stage12's master, compiled from its folder,
 *                plus a check that io_uring can be used at all (exit 2
 *                saying why not, before any worker).
 *   filecache.c, timer.c, worker.h   stage12's, used from its folder unchanged.
 *
 * What breaks it: a kernel without io_uring (before 5.1; this stage needs
 * 6.1), or one where it is switched off (sysctl kernel.io_uring_disabled,
 * container seccomp profiles): io_uring's large attack surface has made it
 * the most common target of Linux kernel exploits.  What remains: one system
 * call per loop turn, still a crossing; SQPOLL removes even that, for a CPU
 * spinning in the kernel.  See NOTES.md, "Stage 13".
 */
#include <stdio.h>
#include <stdlib.h>

#include "uring.h"

/* Can this process use io_uring at all?  Old kernels lack it, a sysctl or
 * a seccomp filter may forbid it: say which, once, and exit 2, instead of
 * workers failing and being restarted forever. */
static void refuse_without_io_uring(void)
{
    struct uring probe;
    int err = uring_init(&probe, 8, 16);
    if (err < 0) {
        fprintf(stderr, "stage13: %s\n", uring_unavailable(err));
        exit(2);
    }
    uring_exit(&probe);
}

/* The master is stage12's, line for line: options, raised limits, the
 * listeners, starting, supervising and stopping the workers.  It runs
 * worker_run() from this folder's worker.c, and these three names are all
 * it takes from here. */
#define STAGE_NAME      "stage13"
#define STAGE_EXCLUSIVE "exclusive accepts, as EPOLLEXCLUSIVE"
#define BEFORE_WORKERS  refuse_without_io_uring
#include "../stage12_c10k/main.c" // NOLINT(bugprone-suspicious-include): on purpose
