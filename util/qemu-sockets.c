/*
 * qemu-sockets.c: listening and connecting stream sockets (see
 * include/qemu/sockets.h for the contract).
 *
 * The error texts are QEMU's, because users and tests read them: a
 * listener that cannot bind says "Failed to find an available port"
 * whether or not a port range was given, a failed connect names the
 * address in quotes.
 */
#include "qemu/osdep.h"

#include <linux/vm_sockets.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "qemu/sockets.h"

/* Fill @sun from @name; returns the address length, or -1. */
static socklen_t unix_socket_addr(const UnixSocketName *name,
                                  struct sockaddr_un *sun, Error **errp)
{
    size_t len = strlen(name->path);
    size_t room = sizeof(sun->sun_path) - (name->abstract ? 1 : 0);

    memset(sun, 0, sizeof(*sun));
    sun->sun_family = AF_UNIX;
    if (len >= room + (name->abstract ? 1 : 0)) {
        error_setg(errp, "UNIX socket path '%s' is too long", name->path);
        error_append_hint(errp, "Path must be less than %zu bytes\n", room);
        return (socklen_t)-1;
    }
    if (name->abstract) {
        /* sun_path[0] stays NUL: the name follows it. */
        memcpy(sun->sun_path + 1, name->path, len);
        return name->tight ? offsetof(struct sockaddr_un, sun_path) + 1 + len
                           : sizeof(*sun);
    }
    memcpy(sun->sun_path, name->path, len);
    return sizeof(*sun);
}

int unix_socket_listen(const UnixSocketName *name, int backlog,
                       bool owner_only, Error **errp)
{
    struct sockaddr_un sun;
    socklen_t addrlen = unix_socket_addr(name, &sun, errp);
    mode_t old_umask = 0;
    int fd, ret;

    if (addrlen == (socklen_t)-1) {
        return -1;
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        error_setg_errno(errp, errno, "Failed to create Unix socket");
        return -1;
    }
    if (!name->abstract) {
        /* A stale socket file from an earlier run would make bind() fail. */
        unlink(name->path);
    }
    if (owner_only) {
        old_umask = umask(0177);
    }
    ret = bind(fd, (struct sockaddr *)&sun, addrlen);
    if (owner_only) {
        umask(old_umask);
    }
    if (ret < 0) {
        error_setg_errno(errp, errno, "Failed to bind socket to %s",
                         name->path);
        close(fd);
        return -1;
    }
    if (listen(fd, backlog) < 0) {
        error_setg_errno(errp, errno, "Failed to listen on socket");
        close(fd);
        if (!name->abstract) {
            unlink(name->path);
        }
        return -1;
    }
    return fd;
}

int unix_socket_connect(const UnixSocketName *name, Error **errp)
{
    struct sockaddr_un sun;
    socklen_t addrlen = unix_socket_addr(name, &sun, errp);
    int fd, ret;

    if (addrlen == (socklen_t)-1) {
        return -1;
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        error_setg_errno(errp, errno, "Failed to create socket");
        return -1;
    }
    RETRY_ON_EINTR(ret = connect(fd, (struct sockaddr *)&sun, addrlen));
    if (ret < 0) {
        error_setg_errno(errp, errno, "Failed to connect to '%s'",
                         name->path);
        close(fd);
        return -1;
    }
    return fd;
}

/* getaddrinfo() for @host:@port as @hints ask; NULL with @errp set. */
static struct addrinfo *inet_resolve(const char *host, const char *port,
                                     const InetSocketHints *hints,
                                     bool passive, Error **errp)
{
    struct addrinfo ai_hints = {
        .ai_family = AF_UNSPEC,
        .ai_socktype = SOCK_STREAM,
        .ai_flags = passive ? AI_PASSIVE : 0,
    };
    struct addrinfo *res = NULL;
    int rc;

    if (hints && hints->ipv4_only && !hints->ipv6_only) {
        ai_hints.ai_family = AF_INET;
    } else if (hints && hints->ipv6_only && !hints->ipv4_only) {
        ai_hints.ai_family = AF_INET6;
    }
    if (hints && hints->numeric) {
        ai_hints.ai_flags |= AI_NUMERICHOST | AI_NUMERICSERV;
    }
    rc = getaddrinfo(host && host[0] ? host : NULL, port, &ai_hints, &res);
    if (rc) {
        error_setg(errp, "address resolution failed for %s:%s: %s",
                   host ? host : "", port, gai_strerror(rc));
        return NULL;
    }
    return res;
}

static void inet_set_port(struct sockaddr *sa, int port)
{
    if (sa->sa_family == AF_INET) {
        ((struct sockaddr_in *)sa)->sin_port = htons(port);
    } else if (sa->sa_family == AF_INET6) {
        ((struct sockaddr_in6 *)sa)->sin6_port = htons(port);
    }
}

static int inet_get_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);

    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
        return -1;
    }
    if (ss.ss_family == AF_INET) {
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    }
    return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

int inet_socket_listen(const char *host, const char *port,
                       const InetSocketHints *hints, int backlog,
                       int *bound_port, Error **errp)
{
    struct addrinfo *res, *ai;
    int saved_errno = EADDRINUSE;
    int first_port, last_port;
    char *end;

    res = inet_resolve(host, port, hints, true, errp);
    if (!res) {
        return -1;
    }
    errno = 0;
    first_port = strtol(port, &end, 10);
    if (*end || errno) {
        /* A service name: getaddrinfo() filled in the number. */
        first_port = -1;
    }
    last_port = (hints && hints->port_to > first_port && first_port >= 0)
                ? hints->port_to : first_port;

    for (ai = res; ai; ai = ai->ai_next) {
        int p = first_port;

        do {
            int one = 1;
            int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
                            ai->ai_protocol);

            if (fd < 0) {
                saved_errno = errno;
                break;
            }
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
            if (ai->ai_family == AF_INET6) {
                /* "::" takes IPv4 too unless IPv6 alone was asked for. */
                int v6only = hints && hints->ipv6_only && !hints->ipv4_only;

                setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only,
                           sizeof(v6only));
            }
            if (p >= 0) {
                inet_set_port(ai->ai_addr, p);
            }
            if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
                listen(fd, backlog) == 0) {
                if (bound_port) {
                    *bound_port = inet_get_port(fd);
                }
                freeaddrinfo(res);
                return fd;
            }
            saved_errno = errno;
            close(fd);
            p++;
        } while (p >= 0 && p <= last_port);
    }
    freeaddrinfo(res);
    error_setg_errno(errp, saved_errno, "Failed to find an available port");
    return -1;
}

int inet_socket_connect(const char *host, const char *port,
                        const InetSocketHints *hints, Error **errp)
{
    struct addrinfo *res, *ai;
    int saved_errno = ECONNREFUSED;

    res = inet_resolve(host, port, hints, false, errp);
    if (!res) {
        return -1;
    }
    for (ai = res; ai; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
                        ai->ai_protocol);
        int ret;

        if (fd < 0) {
            saved_errno = errno;
            continue;
        }
        RETRY_ON_EINTR(ret = connect(fd, ai->ai_addr, ai->ai_addrlen));
        if (ret == 0) {
            if (hints && hints->keep_alive) {
                int one = 1;

                setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
            }
            freeaddrinfo(res);
            return fd;
        }
        saved_errno = errno;
        close(fd);
    }
    freeaddrinfo(res);
    error_setg_errno(errp, saved_errno, "Failed to connect to '%s:%s'",
                     host, port);
    return -1;
}

/* Parse a VSOCK number; QEMU's texts on failure. */
static bool vsock_parse(const char *cid, const char *port,
                        struct sockaddr_vm *svm, Error **errp)
{
    unsigned long long v;
    char *end;

    memset(svm, 0, sizeof(*svm));
    svm->svm_family = AF_VSOCK;
    errno = 0;
    v = strtoull(cid, &end, 10);
    if (!cid[0] || *end || errno || v > UINT32_MAX) {
        error_setg(errp, "Failed to parse cid '%s'", cid);
        return false;
    }
    svm->svm_cid = v;
    v = strtoull(port, &end, 10);
    if (!port[0] || *end || errno || v > UINT32_MAX) {
        error_setg(errp, "Failed to parse port '%s'", port);
        return false;
    }
    svm->svm_port = v;
    return true;
}

int vsock_socket_listen(const char *cid, const char *port, int backlog,
                        Error **errp)
{
    struct sockaddr_vm svm;
    int fd;

    if (!vsock_parse(cid, port, &svm, errp)) {
        return -1;
    }
    fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        error_setg_errno(errp, errno, "Failed to create socket");
        return -1;
    }
    if (bind(fd, (struct sockaddr *)&svm, sizeof(svm)) < 0) {
        error_setg_errno(errp, errno, "Failed to bind socket");
        close(fd);
        return -1;
    }
    if (listen(fd, backlog) < 0) {
        error_setg_errno(errp, errno, "Failed to listen on socket");
        close(fd);
        return -1;
    }
    return fd;
}

int vsock_socket_connect(const char *cid, const char *port, Error **errp)
{
    struct sockaddr_vm svm;
    int fd, ret;

    if (!vsock_parse(cid, port, &svm, errp)) {
        return -1;
    }
    fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        error_setg_errno(errp, errno, "Failed to create socket");
        return -1;
    }
    RETRY_ON_EINTR(ret = connect(fd, (struct sockaddr *)&svm, sizeof(svm)));
    if (ret < 0) {
        error_setg_errno(errp, errno, "Failed to connect socket");
        close(fd);
        return -1;
    }
    return fd;
}

void socket_set_nonblock(int fd)
{
    int flags = fcntl(fd, F_GETFL);

    fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

void socket_set_nodelay(int fd)
{
    int one = 1;

    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}
