/* uring.c — the ring layer: setup, get an SQE, submit-and-wait, walk CQEs.
 *
 * On memory ordering.  The kernel and this process touch the same memory at
 * once, possibly from different CPUs, and both compilers and CPUs may
 * reorder plain loads and stores.  Two rules make the rings safe:
 *
 *   publish: write the entry, THEN move the index, with a store-release,
 *            so whoever sees the new index also sees the entry;
 *   consume: read the other side's index with a load-acquire, THEN read the
 *            entries, so we never read an entry older than the index says.
 *
 * So: our SQ tail and CQ head are stored with release; the kernel's SQ head
 * and CQ tail are loaded with acquire.  The kernel does the mirror image
 * (smp_load_acquire / smp_store_release in io_uring/io_uring.c).  On x86
 * these compile to plain moves, but they also stop the compiler from
 * reordering; on ARM they are real barrier instructions.  Our own index we
 * read plainly: nobody else writes it.  (__atomic_* are the GCC/Clang
 * builtins behind <stdatomic.h>; the ring indexes are plain unsigned in the
 * kernel's layout, so the builtins, which take plain pointers, fit.)
 */
#include "uring.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define load_acquire(p)     __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define store_release(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)

/* glibc 2.36 has no wrappers for these three: syscall(2) it is. */
static int sys_io_uring_setup(unsigned entries, struct io_uring_params *p)
{
    return (int)syscall(__NR_io_uring_setup, entries, p);
}

static int sys_io_uring_enter(int fd, unsigned to_submit, unsigned min_complete, unsigned flags,
                              const void *arg, size_t argsz)
{
    return (int)syscall(__NR_io_uring_enter, fd, to_submit, min_complete, flags, arg, argsz);
}

static int sys_io_uring_register(int fd, unsigned opcode, const void *arg, unsigned nr_args)
{
    return (int)syscall(__NR_io_uring_register, fd, opcode, arg, nr_args);
}

static void *map_ring(int fd, size_t len, off_t offset)
{
    /* MAP_POPULATE: the pages are faulted in now, not on the first request. */
    return mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, offset);
}

int uring_init(struct uring *r, unsigned sq_entries, unsigned cq_entries)
{
    memset(r, 0, sizeof *r);
    struct io_uring_params p = {
        .cq_entries = cq_entries,
        /* CQSIZE: more completion slots than submission slots, since one
         *   submission may complete many times (multishot accept).
         * SUBMIT_ALL: go on submitting after one SQE fails to start.
         * SINGLE_ISSUER + DEFER_TASKRUN (Linux 6.1): only this thread uses the
         *   ring, so the kernel may run completion work only when we call
         *   io_uring_enter() to collect it, instead of interrupting us with it
         *   at any time: fewer context switches, better batching. */
        .flags = IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL | IORING_SETUP_SINGLE_ISSUER |
                 IORING_SETUP_DEFER_TASKRUN,
    };
    int fd = sys_io_uring_setup(sq_entries, &p);
    if (fd < 0)
        return -errno;
    /* The features this stage's loop relies on: one mmap for both rings
     * (5.4), no completion ever dropped when the CQ is full (5.5), a timeout
     * and signal mask passed to io_uring_enter (5.11). */
    unsigned need = IORING_FEAT_SINGLE_MMAP | IORING_FEAT_NODROP | IORING_FEAT_EXT_ARG;
    if ((p.features & need) != need) {
        close(fd);
        return -EINVAL;
    }
    r->fd = fd;
    r->features = p.features;

    /* Where the indexes and arrays lie inside the mapping, the kernel tells
     * in p.sq_off / p.cq_off; both rings share one mapping. */
    size_t sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned);
    size_t cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
    r->sq_map_len = sq_len > cq_len ? sq_len : cq_len;
    r->sq_map = map_ring(fd, r->sq_map_len, IORING_OFF_SQ_RING);
    r->sqes_len = p.sq_entries * sizeof(struct io_uring_sqe);
    r->sqes = map_ring(fd, r->sqes_len, IORING_OFF_SQES);
    if (r->sq_map == MAP_FAILED || r->sqes == MAP_FAILED) {
        int err = errno;
        uring_exit(r);
        return -err;
    }
    char *sq = r->sq_map;
    r->sq_head = (unsigned *)(sq + p.sq_off.head);
    r->sq_tail = (unsigned *)(sq + p.sq_off.tail);
    r->sq_mask = *(unsigned *)(sq + p.sq_off.ring_mask);
    r->sq_entries = p.sq_entries;
    r->sq_array = (unsigned *)(sq + p.sq_off.array);
    /* The SQ ring holds indexes into the SQE array (an indirection that lets
     * a program submit SQEs out of order).  We fill them in order, so slot
     * i always names SQE i, set once here. */
    for (unsigned i = 0; i < p.sq_entries; i++)
        r->sq_array[i] = i;
    char *cq = sq; /* IORING_FEAT_SINGLE_MMAP */
    r->cq_head = (unsigned *)(cq + p.cq_off.head);
    r->cq_tail = (unsigned *)(cq + p.cq_off.tail);
    r->cq_mask = *(unsigned *)(cq + p.cq_off.ring_mask);
    r->cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes);
    r->sq_local = *r->sq_tail;
    return 0;
}

void uring_exit(struct uring *r)
{
    if (r->sqes != NULL && r->sqes != MAP_FAILED)
        munmap(r->sqes, r->sqes_len);
    if (r->sq_map != NULL && r->sq_map != MAP_FAILED)
        munmap(r->sq_map, r->sq_map_len);
    if (r->fd > 0)
        close(r->fd); /* cancels whatever is still in flight */
    memset(r, 0, sizeof *r);
}

/* Hand the kernel every SQE filled so far: store-release of the tail (the
 * SQEs before it are complete in memory), then the system call.  Without
 * SQPOLL the kernel reads the SQ only inside io_uring_enter(), and takes
 * everything between its head and our tail; what it could not take (an
 * error) stays queued for the next call. */
static int enter(struct uring *r, unsigned wait_nr, unsigned flags, const void *arg, size_t argsz)
{
    store_release(r->sq_tail, r->sq_local);
    unsigned to_submit = r->sq_local - load_acquire(r->sq_head);
    if (sys_io_uring_enter(r->fd, to_submit, wait_nr, flags, arg, argsz) < 0)
        return -errno;
    return 0;
}

struct io_uring_sqe *uring_sqe(struct uring *r)
{
    if (r->sq_local - load_acquire(r->sq_head) == r->sq_entries) {
        enter(r, 0, 0, NULL, 0); /* full: submit what is queued */
        if (r->sq_local - load_acquire(r->sq_head) == r->sq_entries)
            return NULL;
    }
    struct io_uring_sqe *sqe = &r->sqes[r->sq_local & r->sq_mask];
    r->sq_local++;
    memset(sqe, 0, sizeof *sqe);
    return sqe;
}

int uring_submit_and_wait(struct uring *r, int timeout_ms)
{
    struct __kernel_timespec ts = { timeout_ms / 1000, (timeout_ms % 1000) * 1000000LL };
    /* EXT_ARG: the wait's timeout (and, unused here, a signal mask) in one
     * argument block. */
    struct io_uring_getevents_arg arg = {
        .ts = timeout_ms >= 0 ? (unsigned long)&ts : 0,
    };
    return enter(r, 1, IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG, &arg, sizeof arg);
}

struct io_uring_cqe *uring_cqe(struct uring *r)
{
    unsigned head = *r->cq_head;
    if (head == load_acquire(r->cq_tail))
        return NULL;
    return &r->cqes[head & r->cq_mask];
}

/* Release: the slot is free for the kernel only after we have read it. */
void uring_cqe_seen(struct uring *r)
{
    store_release(r->cq_head, *r->cq_head + 1);
}

const char *uring_unavailable(int err)
{
    static char line[256];
    FILE *f = fopen("/proc/sys/kernel/io_uring_disabled", "r"); /* Linux 6.6 */
    long disabled = 0;
    if (f != NULL) {
        char value[16];
        if (fgets(value, sizeof value, f) != NULL)
            disabled = strtol(value, NULL, 10);
        fclose(f);
    }
    if (err == -ENOSYS && f == NULL)
        return "io_uring unavailable: this kernel has no io_uring_setup() (older than 5.1, or "
               "built without CONFIG_IO_URING); check: uname -r";
    if ((err == -EPERM || err == -ENOSYS) && disabled != 0) {
        snprintf(line, sizeof line,
                 "io_uring unavailable: disabled by the sysctl kernel.io_uring_disabled=%ld; "
                 "check: sysctl kernel.io_uring_disabled",
                 disabled);
        return line;
    }
    if (err == -EPERM || err == -ENOSYS)
        return "io_uring unavailable: io_uring_setup() refused, most likely by a seccomp filter "
               "(container runtimes block io_uring by default); check: grep Seccomp "
               "/proc/self/status";
    if (err == -EINVAL)
        return "io_uring unavailable: this kernel's io_uring lacks what stage13 needs (Linux 6.1: "
               "DEFER_TASKRUN, provided-buffer rings, multishot accept); check: uname -r";
    snprintf(line, sizeof line, "io_uring unavailable: io_uring_setup: %s", strerror(-err));
    return line;
}

/* ---- provided buffers ---------------------------------------------------------- */

int uring_bufs_init(struct uring *r, struct uring_bufs *b, unsigned short group, unsigned count,
                    unsigned size)
{
    memset(b, 0, sizeof *b);
    size_t ring_len = count * sizeof(struct io_uring_buf);
    /* The ring must be page-aligned memory: mmap() gives that.  The buffers
     * themselves are faulted in at once (MAP_POPULATE): they are a fixed
     * cost of the worker, not of whichever connection touches them first. */
    b->ring = mmap(NULL, ring_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    b->mem = mmap(NULL, (size_t)count * size, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (b->ring == MAP_FAILED || b->mem == MAP_FAILED)
        return -ENOMEM;
    b->count = count; /* a power of two */
    b->size = size;
    b->group = group;
    struct io_uring_buf_reg reg = { .ring_addr = (unsigned long)b->ring,
                                    .ring_entries = count,
                                    .bgid = group };
    if (sys_io_uring_register(r->fd, IORING_REGISTER_PBUF_RING, &reg, 1) < 0)
        return -errno;
    for (unsigned i = 0; i < count; i++)
        uring_buf_give_back(b, (unsigned short)i);
    return 0;
}

void uring_bufs_free(struct uring_bufs *b)
{
    /* Unregistered with the ring's close; the memory is ours to unmap. */
    if (b->ring != NULL && b->ring != MAP_FAILED)
        munmap(b->ring, b->count * sizeof(struct io_uring_buf));
    if (b->mem != NULL && b->mem != MAP_FAILED)
        munmap(b->mem, (size_t)b->count * b->size);
}

char *uring_buf(const struct uring_bufs *b, unsigned short id)
{
    return b->mem + (size_t)id * b->size;
}

/* Put buffer `id` at the tail of the ring: fill the slot, then publish the
 * new tail with a store-release (the same rule as the SQ). */
void uring_buf_give_back(struct uring_bufs *b, unsigned short id)
{
    struct io_uring_buf *slot = &b->ring->bufs[b->tail & (b->count - 1)];
    slot->addr = (unsigned long)uring_buf(b, id);
    slot->len = b->size;
    slot->bid = id;
    b->tail++;
    store_release(&b->ring->tail, b->tail);
}
