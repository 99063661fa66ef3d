/* net.h — listening sockets, the ready line, and the signals every server
 * must decide about.
 */
#ifndef SERVERLAB_NET_H
#define SERVERLAB_NET_H

#include <signal.h>
#include "options.h"

enum {
    LISTEN_NONBLOCK = 1 << 0,  /* accept() returns EAGAIN instead of waiting */
    LISTEN_REUSEPORT = 1 << 1, /* several sockets may bind the same port (stage12) */
};

/* socket + SO_REUSEADDR + bind(opt->bind_addr, opt->port) + listen(backlog).
 * On failure (port in use, bad address) prints one line and exits 2:
 * a server that cannot listen has nothing else to do. */
int open_listener(const struct server_options *opt, int backlog, int flags);

/* The port the socket is bound to: the kernel's choice after -p 0. */
int bound_port(int listen_fd);

/* Print the one ready line tests and the bench wait for, then flush:
 *   stageNN listening on SCHEME://ADDR:PORT/ (ROOTWORD DIR)            */
void announce_ready(const struct server_options *opt, int listen_fd, const char *scheme,
                    const char *root_word);

/* Set by SIGINT/SIGTERM.  The handlers are installed without SA_RESTART, so
 * a process blocked in accept()/read()/epoll_wait() wakes up with EINTR and
 * can look at the flag. */
extern volatile sig_atomic_t stop_requested;

/* Ignore SIGPIPE (a write to a reset connection then fails with EPIPE instead
 * of killing the server) and install the SIGINT/SIGTERM handlers. */
void install_signal_handlers(void);

/* Out of descriptors.  When accept() fails with EMFILE or ENFILE, the client
 * at the head of the queue stays there and the listener stays readable: a
 * loop that simply tries again spins at full CPU (and a coroutine or event
 * loop that does so never lets anything else run to free a descriptor).
 * shed_waiting_client() closes a descriptor kept spare for this moment,
 * accepts that client with it, hangs up on it and takes the spare back, so
 * the queue moves and the loop can wait again.  It says so on stderr at
 * most once a second, with the count shed meanwhile (one line per attempt
 * would fill the disk under a flood).  Returns 0 when a client was shed;
 * -1 when none was (errno EAGAIN: a nonblocking listener with nobody
 * waiting, the time to wait for readability).  A blocking listener waits
 * in it for the next client.  keep_spare_descriptor() opens the spare; call
 * it at start, while descriptors are plentiful (shed_waiting_client() does,
 * too late, if it was not). */
void keep_spare_descriptor(void);
int shed_waiting_client(int listen_fd);
void release_spare_descriptor(void); /* at exit, for leak checkers */

/* Set or clear O_NONBLOCK. Returns 0 or -1 with errno. */
int set_nonblocking(int fd, int on);

#endif
