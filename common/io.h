/* io.h — blocking I/O done completely: the helpers of stages 01–05.
 *
 * read() and write() may do less than asked (a "short" transfer) and may be
 * interrupted by a signal (EINTR).  These loops finish the job or report why
 * they could not.  Event-driven stages cannot use them: they must never wait.
 */
#ifndef SERVERLAB_IO_H
#define SERVERLAB_IO_H

#include <stddef.h>
#include <sys/types.h>
#include "response.h"

/* Write all len bytes. 0, or -1 with errno (EPIPE, ECONNRESET: the client left). */
int write_all(int fd, const void *buf, size_t len);

/* Send len bytes of file from offset to sock (sendfile, resumed after short
 * sends). 0, or -1 with errno. */
int send_file_all(int sock, int file, off_t offset, off_t len);

/* Send a reply's head and then its file, if any. 0, or -1 with errno. */
int send_reply(int sock, struct http_reply *rep);

/* Close a connection whose client may still be sending (a request body we
 * did not read, garbage after an error).  Closing with unread bytes makes
 * the kernel send RST, which can destroy the response still in flight; so
 * first shut down our sending side, then read and discard until the client
 * closes, at most `max_ms` milliseconds. */
void lingering_close(int sock, int max_ms);

#endif
