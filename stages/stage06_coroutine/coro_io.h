/* coro_io.h — common/io.h again, for coroutines.
 *
 * The same complete transfers as io.h (write everything, send the whole
 * file, close without a reset), built on co_write and co_sendfile, so that a
 * wait parks one coroutine instead of blocking the whole server.  Compare
 * the two files: only the calls that may wait differ.
 */
#ifndef STAGE06_CORO_IO_H
#define STAGE06_CORO_IO_H

#include <stddef.h>
#include <sys/types.h>
#include "response.h"

int co_write_all(int fd, const void *buf, size_t len);
int co_send_file_all(int sock, int file, off_t offset, off_t len);
int co_send_reply(int sock, struct http_reply *rep);
void co_lingering_close(int sock, int max_ms);

#endif
