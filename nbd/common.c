/*
 * common.c: what the NBD server and client share (see block/nbd.h): the
 * fixed headers on the wire, the errno mapping, names, and the
 * SocketAddress front end of qemu/sockets.h.
 */
#include "qemu/osdep.h"

#include <sys/socket.h>

#include "block/nbd.h"
#include "qemu/bswap.h"
#include "qemu/sockets.h"

/* ------------------------------------------------------------- headers */

void nbd_encode_request(uint8_t buf[NBD_REQUEST_SIZE], const NBDRequest *req)
{
    stl_be_p(buf, NBD_REQUEST_MAGIC);
    stw_be_p(buf + 4, req->flags);
    stw_be_p(buf + 6, req->type);
    stq_be_p(buf + 8, req->cookie);
    stq_be_p(buf + 16, req->offset);
    stl_be_p(buf + 24, req->len);
}

bool nbd_decode_request(const uint8_t buf[NBD_REQUEST_SIZE], NBDRequest *req)
{
    if (ldl_be_p(buf) != NBD_REQUEST_MAGIC) {
        return false;
    }
    req->flags = lduw_be_p(buf + 4);
    req->type = lduw_be_p(buf + 6);
    req->cookie = ldq_be_p(buf + 8);
    req->offset = ldq_be_p(buf + 16);
    req->len = ldl_be_p(buf + 24);
    return true;
}

void nbd_encode_simple_reply(uint8_t buf[NBD_SIMPLE_REPLY_SIZE],
                             uint32_t nbd_error, uint64_t cookie)
{
    stl_be_p(buf, NBD_SIMPLE_REPLY_MAGIC);
    stl_be_p(buf + 4, nbd_error);
    stq_be_p(buf + 8, cookie);
}

void nbd_encode_structured_reply(uint8_t buf[NBD_STRUCTURED_REPLY_SIZE],
                                 uint16_t flags, uint16_t type,
                                 uint64_t cookie, uint32_t length)
{
    stl_be_p(buf, NBD_STRUCTURED_REPLY_MAGIC);
    stw_be_p(buf + 4, flags);
    stw_be_p(buf + 6, type);
    stq_be_p(buf + 8, cookie);
    stl_be_p(buf + 16, length);
}

size_t nbd_reply_header_size(const uint8_t magic[4])
{
    switch (ldl_be_p(magic)) {
    case NBD_SIMPLE_REPLY_MAGIC:
        return NBD_SIMPLE_REPLY_SIZE;
    case NBD_STRUCTURED_REPLY_MAGIC:
        return NBD_STRUCTURED_REPLY_SIZE;
    default:
        return 0;
    }
}

void nbd_decode_reply(const uint8_t *buf, NBDReply *reply)
{
    memset(reply, 0, sizeof(*reply));
    reply->magic = ldl_be_p(buf);
    if (reply->magic == NBD_SIMPLE_REPLY_MAGIC) {
        reply->error = ldl_be_p(buf + 4);
        reply->cookie = ldq_be_p(buf + 8);
    } else {
        reply->flags = lduw_be_p(buf + 4);
        reply->type = lduw_be_p(buf + 6);
        reply->cookie = ldq_be_p(buf + 8);
        reply->length = ldl_be_p(buf + 16);
    }
}

/* -------------------------------------------------------------- errors */

uint32_t nbd_errno_from_system(int err)
{
    switch (err < 0 ? -err : err) {
    case 0:
        return NBD_SUCCESS;
    case EPERM:
    case EROFS:
        return NBD_EPERM;
    case EIO:
        return NBD_EIO;
    case ENOMEM:
        return NBD_ENOMEM;
#ifdef EDQUOT
    case EDQUOT:
#endif
    case EFBIG:
    case ENOSPC:
        return NBD_ENOSPC;
    case EOVERFLOW:
        return NBD_EOVERFLOW;
    case ENOTSUP:
#if EOPNOTSUPP != ENOTSUP
    case EOPNOTSUPP:
#endif
        return NBD_ENOTSUP;
    case ESHUTDOWN:
        return NBD_ESHUTDOWN;
    case EINVAL:
    default:
        return NBD_EINVAL;
    }
}

int nbd_errno_to_system(uint32_t nbd_err)
{
    switch (nbd_err) {
    case NBD_SUCCESS:
        return 0;
    case NBD_EPERM:
        return EPERM;
    case NBD_EIO:
        return EIO;
    case NBD_ENOMEM:
        return ENOMEM;
    case NBD_ENOSPC:
        return ENOSPC;
    case NBD_EOVERFLOW:
        return EOVERFLOW;
    case NBD_ENOTSUP:
        return ENOTSUP;
    case NBD_ESHUTDOWN:
        return ESHUTDOWN;
    case NBD_EINVAL:
    default:
        return EINVAL;
    }
}

/* --------------------------------------------------------------- names */

typedef struct NBDName {
    uint32_t value;
    const char *name;
} NBDName;

static const char *nbd_lookup(const NBDName *table, uint32_t value)
{
    for (; table->name; table++) {
        if (table->value == value) {
            return table->name;
        }
    }
    return "<unknown>";
}

const char *nbd_opt_name(uint32_t opt)
{
    static const NBDName names[] = {
        { NBD_OPT_EXPORT_NAME, "export-name" },
        { NBD_OPT_ABORT, "abort" },
        { NBD_OPT_LIST, "list" },
        { NBD_OPT_PEEK_EXPORT, "peek-export" },
        { NBD_OPT_STARTTLS, "starttls" },
        { NBD_OPT_INFO, "info" },
        { NBD_OPT_GO, "go" },
        { NBD_OPT_STRUCTURED_REPLY, "structured reply" },
        { NBD_OPT_LIST_META_CONTEXT, "list meta context" },
        { NBD_OPT_SET_META_CONTEXT, "set meta context" },
        { NBD_OPT_EXTENDED_HEADERS, "extended headers" },
        { 0, NULL },
    };

    return nbd_lookup(names, opt);
}

const char *nbd_rep_name(uint32_t rep)
{
    static const NBDName names[] = {
        { NBD_REP_ACK, "ack" },
        { NBD_REP_SERVER, "server" },
        { NBD_REP_INFO, "info" },
        { NBD_REP_META_CONTEXT, "meta context" },
        { NBD_REP_ERR_UNSUP, "unsupported" },
        { NBD_REP_ERR_POLICY, "denied by policy" },
        { NBD_REP_ERR_INVALID, "invalid" },
        { NBD_REP_ERR_PLATFORM, "platform lacks support" },
        { NBD_REP_ERR_TLS_REQD, "TLS required" },
        { NBD_REP_ERR_UNKNOWN, "export unknown" },
        { NBD_REP_ERR_SHUTDOWN, "server shutting down" },
        { NBD_REP_ERR_BLOCK_SIZE_REQD, "block size required" },
        { NBD_REP_ERR_TOO_BIG, "option payload too big" },
        { NBD_REP_ERR_EXT_HEADER_REQD, "extended headers required" },
        { 0, NULL },
    };

    return nbd_lookup(names, rep);
}

const char *nbd_info_name(uint16_t info)
{
    static const NBDName names[] = {
        { NBD_INFO_EXPORT, "export" },
        { NBD_INFO_NAME, "name" },
        { NBD_INFO_DESCRIPTION, "description" },
        { NBD_INFO_BLOCK_SIZE, "block size" },
        { 0, NULL },
    };

    return nbd_lookup(names, info);
}

const char *nbd_cmd_name(uint16_t cmd)
{
    static const NBDName names[] = {
        { NBD_CMD_READ, "read" },
        { NBD_CMD_WRITE, "write" },
        { NBD_CMD_DISC, "disconnect" },
        { NBD_CMD_FLUSH, "flush" },
        { NBD_CMD_TRIM, "trim" },
        { NBD_CMD_CACHE, "cache" },
        { NBD_CMD_WRITE_ZEROES, "write zeroes" },
        { NBD_CMD_BLOCK_STATUS, "block status" },
        { NBD_CMD_RESIZE, "resize" },
        { 0, NULL },
    };

    return nbd_lookup(names, cmd);
}

const char *nbd_reply_type_name(uint16_t type)
{
    static const NBDName names[] = {
        { NBD_REPLY_TYPE_NONE, "none" },
        { NBD_REPLY_TYPE_OFFSET_DATA, "data" },
        { NBD_REPLY_TYPE_OFFSET_HOLE, "hole" },
        { NBD_REPLY_TYPE_BLOCK_STATUS, "block status" },
        { NBD_REPLY_TYPE_ERROR, "generic error" },
        { NBD_REPLY_TYPE_ERROR_OFFSET, "error at offset" },
        { 0, NULL },
    };

    return nbd_lookup(names, type);
}

const char *nbd_err_name(uint32_t nbd_err)
{
    static const NBDName names[] = {
        { NBD_SUCCESS, "success" },
        { NBD_EPERM, "EPERM" },
        { NBD_EIO, "EIO" },
        { NBD_ENOMEM, "ENOMEM" },
        { NBD_EINVAL, "EINVAL" },
        { NBD_ENOSPC, "ENOSPC" },
        { NBD_EOVERFLOW, "EOVERFLOW" },
        { NBD_ENOTSUP, "ENOTSUP" },
        { NBD_ESHUTDOWN, "ESHUTDOWN" },
        { 0, NULL },
    };

    return nbd_lookup(names, nbd_err);
}

/* ---------------------------------------------------- socket addresses */

static void inet_hints_from(const InetSocketAddress *inet,
                            InetSocketHints *hints)
{
    memset(hints, 0, sizeof(*hints));
    hints->ipv4_only = inet->has_ipv4 && inet->ipv4 &&
                       !(inet->has_ipv6 && inet->ipv6);
    hints->ipv6_only = inet->has_ipv6 && inet->ipv6 &&
                       !(inet->has_ipv4 && inet->ipv4);
    /* ipv4=off alone means IPv6 only, and the other way round. */
    if (inet->has_ipv4 && !inet->ipv4 && !inet->has_ipv6) {
        hints->ipv6_only = true;
    }
    if (inet->has_ipv6 && !inet->ipv6 && !inet->has_ipv4) {
        hints->ipv4_only = true;
    }
    hints->numeric = inet->has_numeric && inet->numeric;
    hints->port_to = inet->has_to ? inet->to : 0;
    hints->keep_alive = inet->has_keep_alive && inet->keep_alive;
}

static void unix_name_from(const UnixSocketAddress *u, UnixSocketName *name)
{
    name->path = u->path;
    name->abstract = u->has_abstract && u->abstract;
    name->tight = !u->has_tight || u->tight;
}

/* An inherited descriptor, by number; checked to be a stream socket. */
static int socket_fd_from_string(const char *str, Error **errp)
{
    char *end;
    long fd;
    int type;
    socklen_t len = sizeof(type);

    errno = 0;
    fd = strtol(str, &end, 10);
    if (!str[0] || *end || errno || fd < 0 || fd > INT_MAX) {
        error_setg(errp, "File descriptor '%s' is not a number", str);
        return -1;
    }
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0) {
        error_setg_errno(errp, errno, "Unable to use file descriptor %ld",
                         fd);
        return -1;
    }
    if (type != SOCK_STREAM) {
        error_setg(errp, "File descriptor %ld is not a stream socket", fd);
        return -1;
    }
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    return fd;
}

int socket_address_listen(const SocketAddress *addr, int backlog,
                          Error **errp)
{
    switch (addr->type) {
    case SOCKET_ADDRESS_TYPE_INET: {
        InetSocketHints hints;

        inet_hints_from(&addr->u.inet, &hints);
        return inet_socket_listen(addr->u.inet.host, addr->u.inet.port,
                                  &hints, backlog, NULL, errp);
    }
    case SOCKET_ADDRESS_TYPE_UNIX: {
        UnixSocketName name;

        unix_name_from(&addr->u.q_unix, &name);
        return unix_socket_listen(&name, backlog, false, errp);
    }
    case SOCKET_ADDRESS_TYPE_VSOCK:
        return vsock_socket_listen(addr->u.vsock.cid, addr->u.vsock.port,
                                   backlog, errp);
    case SOCKET_ADDRESS_TYPE_FD: {
        int fd = socket_fd_from_string(addr->u.fd.str, errp);

        if (fd >= 0 && listen(fd, backlog) < 0) {
            error_setg_errno(errp, errno, "Failed to listen on socket");
            return -1;
        }
        return fd;
    }
    default:
        g_assert_not_reached();
    }
}

int socket_address_connect(const SocketAddress *addr, Error **errp)
{
    switch (addr->type) {
    case SOCKET_ADDRESS_TYPE_INET: {
        InetSocketHints hints;

        inet_hints_from(&addr->u.inet, &hints);
        return inet_socket_connect(addr->u.inet.host, addr->u.inet.port,
                                   &hints, errp);
    }
    case SOCKET_ADDRESS_TYPE_UNIX: {
        UnixSocketName name;

        unix_name_from(&addr->u.q_unix, &name);
        return unix_socket_connect(&name, errp);
    }
    case SOCKET_ADDRESS_TYPE_VSOCK:
        return vsock_socket_connect(addr->u.vsock.cid, addr->u.vsock.port,
                                    errp);
    case SOCKET_ADDRESS_TYPE_FD:
        return socket_fd_from_string(addr->u.fd.str, errp);
    default:
        g_assert_not_reached();
    }
}

SocketAddress *socket_address_from_legacy(const SocketAddressLegacy *legacy)
{
    SocketAddress *addr = g_new0(SocketAddress, 1);

    addr->type = legacy->type;
    switch (legacy->type) {
    case SOCKET_ADDRESS_TYPE_INET:
        addr->u.inet = *legacy->u.inet.data;
        addr->u.inet.host = g_strdup(legacy->u.inet.data->host);
        addr->u.inet.port = g_strdup(legacy->u.inet.data->port);
        break;
    case SOCKET_ADDRESS_TYPE_UNIX:
        addr->u.q_unix = *legacy->u.q_unix.data;
        addr->u.q_unix.path = g_strdup(legacy->u.q_unix.data->path);
        break;
    case SOCKET_ADDRESS_TYPE_VSOCK:
        addr->u.vsock.cid = g_strdup(legacy->u.vsock.data->cid);
        addr->u.vsock.port = g_strdup(legacy->u.vsock.data->port);
        break;
    case SOCKET_ADDRESS_TYPE_FD:
        addr->u.fd.str = g_strdup(legacy->u.fd.data->str);
        break;
    default:
        g_assert_not_reached();
    }
    return addr;
}

char *socket_address_to_string(const SocketAddress *addr)
{
    switch (addr->type) {
    case SOCKET_ADDRESS_TYPE_INET:
        return g_strdup_printf("inet:%s:%s", addr->u.inet.host,
                               addr->u.inet.port);
    case SOCKET_ADDRESS_TYPE_UNIX:
        return g_strdup_printf("unix:%s", addr->u.q_unix.path);
    case SOCKET_ADDRESS_TYPE_VSOCK:
        return g_strdup_printf("vsock:%s:%s", addr->u.vsock.cid,
                               addr->u.vsock.port);
    case SOCKET_ADDRESS_TYPE_FD:
        return g_strdup_printf("fd:%s", addr->u.fd.str);
    default:
        g_assert_not_reached();
    }
}
