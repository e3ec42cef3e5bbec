/*
 * co-socket.h: a stream socket read and written from coroutines.
 *
 * The NBD server and client move requests and replies over a socket
 * without blocking the event loop: a coroutine that would block yields,
 * and the socket's fd handler re-enters it when the socket is ready.
 * One CoSocket carries at most one receiving and one sending coroutine at
 * a time (callers serialise each direction, e.g. with a CoMutex around
 * whole messages), so a full-duplex peer can read the next request while
 * a reply is still going out.
 *
 * Ending a connection: co_socket_shutdown() makes every pending and later
 * receive see end-of-file and every send fail, so the coroutines parked in
 * them come back and unwind; co_socket_close() then releases the fd once
 * no coroutine is inside.
 */
#ifndef QBLOCK_QEMU_CO_SOCKET_H
#define QBLOCK_QEMU_CO_SOCKET_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/uio.h>

#include "qemu/aio.h"
#include "qemu/coroutine.h"

typedef struct CoSocket {
    int fd;                     /* non-blocking; -1 once closed */
    AioContext *ctx;            /* where the fd handler runs */
    Coroutine *recv_co;         /* parked waiting for input, or NULL */
    Coroutine *send_co;         /* parked waiting for room, or NULL */
    bool shut;                  /* co_socket_shutdown() was called */
    bool registered;            /* a handler is installed in ctx */
    bool reg_read, reg_write;   /* which callbacks it has */
    bool read_armed;            /* keep the read callback between waits */
} CoSocket;

/* Take ownership of the connected @fd and make it non-blocking. */
void co_socket_init(CoSocket *s, int fd, AioContext *ctx);

/*
 * Read exactly @len bytes.  0 on success; -EPIPE at end of file (the
 * peer closed, or co_socket_shutdown()), with *@got (if not NULL) the
 * bytes that arrived first, so a caller can tell a clean close between
 * messages (0 bytes) from one in the middle; another -errno on error.
 */
int coroutine_fn co_socket_recv(CoSocket *s, void *buf, size_t len,
                                size_t *got);
/* Write all of @iov.  0 or -errno (-EPIPE once shut down). */
int coroutine_fn co_socket_sendv(CoSocket *s, const struct iovec *iov,
                                 int niov);
int coroutine_fn co_socket_send(CoSocket *s, const void *buf, size_t len);

/*
 * Stop the connection both ways (shutdown(2)) and wake the coroutines
 * parked in it.  Idempotent; any context, outside or inside a coroutine.
 */
void co_socket_shutdown(CoSocket *s);
/* Remove the handler and close the fd.  No coroutine may be inside. */
void co_socket_close(CoSocket *s);

#endif /* QBLOCK_QEMU_CO_SOCKET_H */
