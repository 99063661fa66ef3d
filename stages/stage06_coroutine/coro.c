/* coro.c — the coroutine runtime of stage06; see coro.h.
 *
 * Three parts:
 *   stacks     each coroutine gets its own stack, mmap'd, with a guard page;
 *   switching  swapcontext() between the scheduler and a coroutine;
 *   scheduler  a queue of coroutines ready to run, and a list of parked
 *              ones, each waiting for one descriptor; poll() says which
 *              descriptors are ready, and their coroutines are queued again.
 *
 * The scheduler runs on main's own stack.  A coroutine always switches back
 * to the scheduler, never directly to another coroutine: a switch is then
 * easy to follow, and the scheduler is the one place that decides who runs.
 */
#include "coro.h"
#include "net.h"

#include <err.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

/* serve_client needs about 24 KiB: a 16 KiB request buffer and the
 * PATH_MAX path of path.c.  The sanitizers' frames are bigger. */
#if defined(__SANITIZE_ADDRESS__)
#define CORO_STACK_SIZE (256 * 1024)
#else
#define CORO_STACK_SIZE (64 * 1024)
#endif

struct coro {
    ucontext_t context; /* its registers while it is not running */
    char *mapping;      /* guard page + stack, as mmap returned it */
    size_t mapping_size;
    coro_fn *fn;
    void *arg;
    int finished;
    /* while parked: */
    int wait_fd;
    short wait_events;
    long long wait_deadline; /* CLOCK_MONOTONIC ms, or -1 for none */
    int wait_result;         /* what coro_wait returns: 1 ready, 0 timeout */
    struct coro *next_ready;
};

static ucontext_t scheduler_context;
static struct coro *current; /* the running coroutine, or NULL */
static struct coro *ready_head, *ready_tail;
static struct coro **parked;          /* waiting for a descriptor */
static struct pollfd *parked_pollfds; /* parked[i] waits for parked_pollfds[i] */
static size_t parked_count, capacity, live_count;

/* ---- AddressSanitizer and stack switching -------------------------------
 * ASan keeps track of the stack it believes the thread is running on.  A
 * switch it was not told about makes it report errors that are not there,
 * so under `make SAN=1` every switch is announced (start) and confirmed
 * (finish).  In a normal build these are empty. */
#if defined(__SANITIZE_ADDRESS__)
#include <dlfcn.h>
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
static const void *scheduler_stack_bottom;
static size_t scheduler_stack_size;
#define ASAN_START_SWITCH(save, bottom, size)  __sanitizer_start_switch_fiber(save, bottom, size)
#define ASAN_FINISH_SWITCH(save, bottom, size) __sanitizer_finish_switch_fiber(save, bottom, size)
#define ASAN_UNPOISON(addr, size)              __asan_unpoison_memory_region(addr, size)

/* ASan also wraps swapcontext itself, guessing at the new stack and
 * printing a warning on first use.  Since every switch is announced above,
 * call libc's own swapcontext, and unpoison each new stack (ASAN_UNPOISON
 * in coro_spawn) as the wrapper would have done. */
static int switch_context(ucontext_t *from, const ucontext_t *to)
{
    static int (*libc_swapcontext)(ucontext_t *, const ucontext_t *);
    if (libc_swapcontext == NULL) {
        void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
        if (libc != NULL)
            *(void **)&libc_swapcontext = dlsym(libc, "swapcontext");
        if (libc_swapcontext == NULL)
            libc_swapcontext = swapcontext;
    }
    return libc_swapcontext(from, to);
}
#else
#define ASAN_START_SWITCH(save, bottom, size)  ((void)(save))
#define ASAN_FINISH_SWITCH(save, bottom, size) ((void)(save))
#define ASAN_UNPOISON(addr, size)              ((void)(addr))
#define scheduler_stack_bottom                 NULL
#define scheduler_stack_size                   0
#define switch_context                         swapcontext
#endif

static long long now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void push_ready(struct coro *co)
{
    co->next_ready = NULL;
    if (ready_tail != NULL)
        ready_tail->next_ready = co;
    else
        ready_head = co;
    ready_tail = co;
}

static struct coro *pop_ready(void)
{
    struct coro *co = ready_head;
    if (co != NULL) {
        ready_head = co->next_ready;
        if (ready_head == NULL)
            ready_tail = NULL;
    }
    return co;
}

/* ---- switching ---------------------------------------------------------- */

/* From a coroutine back to the scheduler.  swapcontext saves where we are
 * in co->context; the scheduler resumes us later by swapping back, and
 * swapcontext then returns here as if nothing had happened. */
static void yield_to_scheduler(struct coro *co)
{
    void *fake_stack = NULL;
    ASAN_START_SWITCH(co->finished ? NULL : &fake_stack, scheduler_stack_bottom,
                      scheduler_stack_size);
    if (switch_context(&co->context, &scheduler_context) < 0)
        abort(); /* cannot fail with a context made by getcontext */
    ASAN_FINISH_SWITCH(fake_stack, &scheduler_stack_bottom, &scheduler_stack_size);
}

/* From the scheduler into a coroutine, until it parks or finishes. */
static void resume(struct coro *co)
{
    void *fake_stack = NULL;
    current = co;
    ASAN_START_SWITCH(&fake_stack, co->context.uc_stack.ss_sp, co->context.uc_stack.ss_size);
    if (switch_context(&scheduler_context, &co->context) < 0)
        abort();
    ASAN_FINISH_SWITCH(fake_stack, NULL, NULL);
    current = NULL;
}

/* Every coroutine starts here, on its new stack.  (makecontext passes only
 * int arguments, so the function and its argument are taken from current.)
 * When fn returns, the coroutine switches away for the last time; the
 * scheduler, back on its own stack, frees this one. */
static void coroutine_main(void)
{
    ASAN_FINISH_SWITCH(NULL, &scheduler_stack_bottom, &scheduler_stack_size);
    struct coro *co = current;
    co->fn(co->arg);
    co->finished = 1;
    yield_to_scheduler(co);
}

/* ---- stacks --------------------------------------------------------------- */

/* SIGTERM and SIGINT: what stops the server (net.h). */
static void add_stop_signals(sigset_t *mask)
{
    sigaddset(mask, SIGTERM);
    sigaddset(mask, SIGINT);
}

/* The parked array and its pollfds must hold every live coroutine; growing
 * them here, where failure can be reported, means coro_wait never fails. */
static int reserve_room(size_t n)
{
    if (n <= capacity)
        return 0;
    size_t cap = capacity ? capacity * 2 : 64;
    /* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers, on purpose */
    struct coro **p = realloc(parked, cap * sizeof *p);
    if (p == NULL)
        return -1;
    parked = p;
    struct pollfd *f = realloc(parked_pollfds, cap * sizeof *f);
    if (f == NULL)
        return -1;
    parked_pollfds = f;
    capacity = cap;
    return 0;
}

int coro_spawn(coro_fn *fn, void *arg)
{
    if (reserve_room(live_count + 1) < 0)
        return -1;
    struct coro *co = calloc(1, sizeof *co);
    if (co == NULL)
        return -1;
    /* The stack grows down, towards the lowest page, which is made
     * inaccessible: a coroutine that overflows its stack dies with SIGSEGV
     * there, instead of silently writing over whatever lies below. */
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    co->mapping_size = page + CORO_STACK_SIZE;
    co->mapping = mmap(NULL, co->mapping_size, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (co->mapping == MAP_FAILED) {
        free(co);
        return -1;
    }
    if (mprotect(co->mapping, page, PROT_NONE) < 0 || getcontext(&co->context) < 0) {
        munmap(co->mapping, co->mapping_size);
        free(co);
        return -1;
    }
    /* A ucontext carries a signal mask, and every swapcontext into it
     * installs that mask (the one system call of a switch).  getcontext
     * copied whatever mask the caller had, which is not the scheduler's when
     * we are called before coro_run; the coroutine must run with SIGTERM and
     * SIGINT blocked, like the scheduler outside ppoll (wait_for_events). */
    add_stop_signals(&co->context.uc_sigmask);
    co->context.uc_stack.ss_sp = co->mapping + page;
    co->context.uc_stack.ss_size = CORO_STACK_SIZE;
    /* A new mapping may lie where an old stack was, whose frames ASan
     * still marks as poisoned; start clean. */
    ASAN_UNPOISON(co->context.uc_stack.ss_sp, CORO_STACK_SIZE);
    co->context.uc_link = NULL; /* coroutine_main never returns */
    makecontext(&co->context, coroutine_main, 0);
    co->fn = fn;
    co->arg = arg;
    live_count++;
    push_ready(co);
    return 0;
}

static void destroy(struct coro *co)
{
    munmap(co->mapping, co->mapping_size); /* its pages go back to the kernel */
    free(co);
    live_count--;
}

/* ---- the scheduler ---------------------------------------------------------- */

int coro_wait(int fd, short events, int timeout_ms)
{
    struct coro *co = current;
    co->wait_fd = fd;
    co->wait_events = events;
    co->wait_deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
    parked[parked_count++] = co; /* reserve_room made the space */
    yield_to_scheduler(co);
    return co->wait_result;
}

/* Milliseconds until the nearest deadline of a parked coroutine; -1: none. */
static int poll_timeout(void)
{
    long long nearest = -1, now = now_ms();
    for (size_t i = 0; i < parked_count; i++) {
        long long d = parked[i]->wait_deadline;
        if (d >= 0 && (nearest < 0 || d < nearest))
            nearest = d;
    }
    if (nearest < 0)
        return -1;
    return nearest <= now ? 0 : (int)(nearest - now);
}

/* Sleep in ppoll until a parked coroutine's descriptor is ready or its
 * deadline passes, then queue those coroutines again.  SIGTERM and SIGINT
 * are blocked everywhere else and let through only inside ppoll: a signal
 * that came while coroutines ran stays pending, ppoll returns EINTR at
 * once, and the loop in coro_run sees stop_requested.  (With plain poll, a
 * signal arriving just before it would be noticed only at the next event.) */
static void wait_for_events(const sigset_t *unblocked)
{
    int timeout = poll_timeout();
    struct timespec ts = { timeout / 1000, (long)(timeout % 1000) * 1000000 };
    for (size_t i = 0; i < parked_count; i++)
        parked_pollfds[i] =
            (struct pollfd){ .fd = parked[i]->wait_fd, .events = parked[i]->wait_events };
    if (ppoll(parked_pollfds, parked_count, timeout < 0 ? NULL : &ts, unblocked) < 0) {
        if (errno != EINTR)
            warn("ppoll");
        return;
    }
    long long now = now_ms();
    size_t kept = 0;
    for (size_t i = 0; i < parked_count; i++) {
        struct coro *co = parked[i];
        if (parked_pollfds[i].revents != 0) {
            co->wait_result = 1; /* POLLERR and POLLHUP count as ready: the
                                  * next call tells the coroutine what happened */
            push_ready(co);
        } else if (co->wait_deadline >= 0 && now >= co->wait_deadline) {
            co->wait_result = 0;
            push_ready(co);
        } else {
            parked[kept++] = co;
        }
    }
    parked_count = kept;
}

void coro_run(void)
{
    sigset_t stop_signals, unblocked;
    sigemptyset(&stop_signals);
    add_stop_signals(&stop_signals);
    sigprocmask(SIG_BLOCK, &stop_signals, &unblocked);

    while (live_count > 0 && !stop_requested) {
        struct coro *co;
        while ((co = pop_ready()) != NULL) {
            resume(co);
            if (co->finished)
                destroy(co);
        }
        if (live_count > 0)
            wait_for_events(&unblocked);
    }
    sigprocmask(SIG_SETMASK, &unblocked, NULL);
}

/* ---- I/O that parks instead of blocking ------------------------------------ */

/* Exercise: calls that look blocking and park instead.  Each tries the call
 * on its nonblocking descriptor; on EAGAIN it parks the coroutine with
 * coro_wait() until the descriptor is ready, then tries again.
 * Handout stub:
 *     ssize_t co_read(int fd, void *buf, size_t len) { not_implemented_yet("co_read"); }
 *     ssize_t co_write(int fd, const void *buf, size_t len) { not_implemented_yet("co_write"); }
 *     ssize_t co_sendfile(int sock, int file, off_t *offset, size_t len) { not_implemented_yet("co_sendfile"); }
 *     int co_accept(int listen_fd) { not_implemented_yet("co_accept"); }
 */
static int would_block(void)
{
    return errno == EAGAIN || errno == EWOULDBLOCK;
}

ssize_t co_read(int fd, void *buf, size_t len)
{
    ssize_t n;
    while ((n = read(fd, buf, len)) < 0 && would_block())
        coro_wait(fd, POLLIN, -1);
    return n;
}

ssize_t co_write(int fd, const void *buf, size_t len)
{
    ssize_t n;
    while ((n = write(fd, buf, len)) < 0 && would_block())
        coro_wait(fd, POLLOUT, -1);
    return n;
}

ssize_t co_sendfile(int sock, int file, off_t *offset, size_t len)
{
    ssize_t n;
    while ((n = sendfile(sock, file, offset, len)) < 0 && would_block())
        coro_wait(sock, POLLOUT, -1);
    return n;
}

int co_accept(int listen_fd)
{
    int fd;
    while ((fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) < 0 && would_block())
        coro_wait(listen_fd, POLLIN, -1);
    return fd;
}
/* End of exercise. */
