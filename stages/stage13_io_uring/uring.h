/* uring.h — io_uring in plain sight: the three system calls and two rings.
 *
 * io_uring_setup() creates an instance and returns a descriptor; the program
 * then mmap()s three areas the kernel allocated, and from then on shares
 * them with the kernel:
 *
 *   submission queue (SQ)   we write requests (SQEs, 64 bytes each) and move
 *                           the tail; the kernel reads them and moves the head.
 *   completion queue (CQ)   the kernel writes results (CQEs, 16 bytes each) and
 *                           moves the tail; we read them and move the head.
 *
 * Each side only ever writes its own index, so no lock is needed — only the
 * memory barriers noted in uring.c, which keep "the entry is written" and
 * "the index moved" in that order as the other side sees them.
 * io_uring_enter() says "I queued n requests, wait until m results are in",
 * both in one call; io_uring_register() hands the kernel longer-lived things
 * (here: a ring of receive buffers it may pick from).
 *
 * Nothing here is liburing; these are the system calls themselves.
 */
#ifndef STAGE13_URING_H
#define STAGE13_URING_H

#include <linux/io_uring.h>
#include <stddef.h>

struct uring {
    int fd;
    unsigned features; /* IORING_FEAT_* the kernel reported */
    /* submission queue: pointers into the shared mapping */
    unsigned *sq_head, *sq_tail, *sq_array, sq_mask, sq_entries;
    struct io_uring_sqe *sqes;
    unsigned sq_local; /* our tail: SQEs filled, published at the next io_uring_enter() */
    /* completion queue */
    unsigned *cq_head, *cq_tail, cq_mask;
    struct io_uring_cqe *cqes;
    /* the mappings, for munmap() */
    void *sq_map, *cq_map;
    size_t sq_map_len, cq_map_len, sqes_len;
};

/* Create the instance and map its rings.  Returns 0, or -errno (the caller
 * explains ENOSYS, EPERM, EINVAL: see uring_unavailable()). */
int uring_init(struct uring *r, unsigned sq_entries, unsigned cq_entries);
void uring_exit(struct uring *r);

/* A zeroed SQE to fill, already counted for the next io_uring_enter().
 * When the SQ is full, the queued ones are submitted first (the only case
 * of a second system call in a loop turn). */
struct io_uring_sqe *uring_sqe(struct uring *r);

/* The one system call per loop turn: submit everything queued, then wait
 * until at least one completion is there, or timeout_ms pass (-1: no
 * limit).  Returns 0 or -errno (-EINTR, -ETIME are normal). */
int uring_submit_and_wait(struct uring *r, int timeout_ms);

/* The next completion, or NULL when the CQ is empty; uring_cqe_seen() gives
 * its slot back to the kernel. */
struct io_uring_cqe *uring_cqe(struct uring *r);
void uring_cqe_seen(struct uring *r);

/* Why io_uring cannot be used here, as one line with how to check; for
 * the errno uring_init() returned. */
const char *uring_unavailable(int err);

/* ---- provided buffers: receive memory the kernel picks at completion time ---- */

/* A ring of `count` buffers of `size` bytes registered as buffer group
 * `group`.  A receive armed with IOSQE_BUFFER_SELECT holds no memory while
 * it waits; when bytes arrive, the kernel takes the next buffer of the
 * ring, and the CQE says which (its id).  We give it back when done. */
struct uring_bufs {
    struct io_uring_buf_ring *ring; /* shared with the kernel */
    char *mem;                      /* count * size bytes */
    unsigned count, size;
    unsigned short group, tail;
};

int uring_bufs_init(struct uring *r, struct uring_bufs *b, unsigned short group, unsigned count,
                    unsigned size);
void uring_bufs_free(struct uring_bufs *b);
char *uring_buf(const struct uring_bufs *b, unsigned short id);
void uring_buf_give_back(struct uring_bufs *b, unsigned short id);

#endif
