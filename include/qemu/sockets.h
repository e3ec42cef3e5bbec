/*
 * sockets.h: stream sockets to listen on and connect to, local (AF_UNIX)
 * or TCP, with QEMU's error texts.
 *
 * These are the plain-address building blocks: a path, or a host and a
 * port as strings.  The QMP chardevs use them directly; the NBD server
 * and client reach them through the SocketAddress wrappers in
 * include/block/nbd.h.  Every function returns a file descriptor that is
 * close-on-exec and *blocking*; the caller makes it non-blocking when it
 * hands it to the event loop.  On failure they return -1 with @errp set,
 * and nothing is left open.
 */
#ifndef QBLOCK_QEMU_SOCKETS_H
#define QBLOCK_QEMU_SOCKETS_H

#include "qapi/error.h"

/* How a local socket is named. */
typedef struct UnixSocketName {
    const char *path;
    /* A name in Linux's abstract namespace rather than a file. */
    bool abstract;
    /* With @abstract: the address is as long as the name (QEMU's default). */
    bool tight;
} UnixSocketName;

/* What a TCP address may resolve to, and how. */
typedef struct InetSocketHints {
    /* Neither set: either family.  One set: only that family. */
    bool ipv4_only;
    bool ipv6_only;
    /* Host and port are numbers: no name lookup. */
    bool numeric;
    /* Listening: try ports from the given one up to this (0: only it). */
    int port_to;
    /* Connecting: turn on SO_KEEPALIVE. */
    bool keep_alive;
} InetSocketHints;

/*
 * Listen on a local socket.  A stale socket file at the path is removed
 * first (an earlier run's), as QEMU does.  @owner_only creates the file
 * with mode 0600 (a monitor); otherwise the umask decides (an export that
 * other users' clients may reach).
 */
int unix_socket_listen(const UnixSocketName *name, int backlog,
                       bool owner_only, Error **errp);
/* Connect to a local socket.  Error: "Failed to connect to '<path>'". */
int unix_socket_connect(const UnixSocketName *name, Error **errp);

/*
 * Listen on TCP @host:@port (an empty host: every address).  The first
 * address that binds wins.  Errors: "address resolution failed for
 * h:p: ...", "Failed to find an available port: <errno text>".
 * @bound_port, if not NULL, receives the port that was bound (useful with
 * port "0" or a @port_to range).
 */
int inet_socket_listen(const char *host, const char *port,
                       const InetSocketHints *hints, int backlog,
                       int *bound_port, Error **errp);
/* Connect to TCP @host:@port.  Error: "Failed to connect to 'h:p'". */
int inet_socket_connect(const char *host, const char *port,
                        const InetSocketHints *hints, Error **errp);

/* Listen on, or connect to, AF_VSOCK @cid:@port (numbers as strings). */
int vsock_socket_listen(const char *cid, const char *port, int backlog,
                        Error **errp);
int vsock_socket_connect(const char *cid, const char *port, Error **errp);

/* fcntl/setsockopt helpers; they cannot fail on a valid socket. */
void socket_set_nonblock(int fd);
void socket_set_nodelay(int fd);

#endif /* QBLOCK_QEMU_SOCKETS_H */
