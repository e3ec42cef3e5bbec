/*
 * nbd.c: the nbd block driver, a client of an NBD server.
 *
 * A node of driver "nbd" is one connection to one export of a server
 * (qblockd's own, qemu-nbd, nbdkit, ...).  The wire format is the NBD
 * project's doc/proto.md; its constants and fixed headers are shared with
 * the server in include/block/nbd.h.
 *
 * Opening: connect (retried for open-timeout seconds), then the
 * fixed-newstyle handshake as QEMU 7.2's client does it:
 * NBD_OPT_STRUCTURED_REPLY, NBD_OPT_SET_META_CONTEXT for base:allocation
 * (or the x-dirty-bitmap context), NBD_OPT_GO asking for the block size
 * constraints; NBD_OPT_EXPORT_NAME where the server knows no better, and
 * the oldstyle greeting where it is that old.
 *
 * Transmission: up to NBD_CLIENT_MAX_REQUESTS requests in flight on the
 * one socket.  Each request is sent whole under send_mutex by the
 * coroutine of the I/O that needs it, which then sleeps; one reader
 * coroutine reads every reply header, puts the payload where its
 * request wants it (a READ's data straight into the caller's buffers,
 * the first extent of a BLOCK_STATUS, the error of an ERROR chunk) and
 * wakes the request when its last chunk has come.  Replies may come in
 * any order.
 *
 * A reply the client cannot make sense of (bad magic, an unknown cookie,
 * a chunk outside its request, a payload too large) ends the connection,
 * as does end-of-file: every request in flight fails.  With
 * reconnect-delay=N the driver then connects again in the background,
 * retrying with a growing pause; requests that come meanwhile, and those
 * that were in flight, wait up to N seconds for the new connection and
 * are sent again on it; after N seconds they fail with EIO, though the
 * reconnection attempts go on.
 */
#include "qemu/osdep.h"

#include <json-glib/json-glib.h>
#include <sys/socket.h>

#include "block/block_int.h"
#include "block/nbd.h"
#include "qapi/error.h"
#include "qemu/aio.h"
#include "qemu/bswap.h"
#include "qemu/co-socket.h"
#include "qemu/coroutine.h"
#include "qemu/iov.h"
#include "qemu/timer.h"
#include "trace.h"

/* Requests in flight on one connection (QEMU's MAX_NBD_REQUESTS). */
#define NBD_CLIENT_MAX_REQUESTS     16
/* Cookies carry the slot in their low bits, a sequence number above. */
#define NBD_COOKIE_SLOT_BITS        8
/* Largest option reply payload read; more is a broken server. */
#define NBD_CLIENT_MAX_REP_SIZE     (1024 * 1024)
/* Pause between reconnection attempts: first, and at most. */
#define NBD_RECONNECT_PAUSE_NS      (1 * NANOSECONDS_PER_SECOND)
#define NBD_RECONNECT_PAUSE_MAX_NS  (16 * NANOSECONDS_PER_SECOND)

/* What the handshake learnt about the export. */
typedef struct NBDExportInfo {
    uint64_t size;
    uint16_t flags;             /* transmission flags */
    uint32_t min_block;         /* 0: the server sent no constraints */
    uint32_t opt_block;
    uint32_t max_block;
    bool structured;            /* structured replies negotiated */
    bool meta_context;          /* base:allocation (or the bitmap) is on */
    uint32_t context_id;
} NBDExportInfo;

typedef enum NBDClientState {
    NBD_CLIENT_CONNECTED,
    /* The connection is lost; requests wait for the next one. */
    NBD_CLIENT_CONNECTING_WAIT,
    /* Lost for longer than reconnect-delay: requests fail at once. */
    NBD_CLIENT_CONNECTING_NOWAIT,
    /* Lost for good (no reconnect-delay, or closing). */
    NBD_CLIENT_QUIT,
} NBDClientState;

typedef struct NBDClientRequest {
    Coroutine *co;              /* the waiting request; NULL: slot free */
    uint64_t cookie;
    uint16_t type;
    uint64_t offset;
    uint32_t len;
    QEMUIOVector *qiov;         /* READ: the caller's buffers */
    bool waiting;               /* co has yielded, waiting for the reply */
    bool complete;              /* the last chunk has arrived */
    bool conn_lost;             /* failed because the connection broke */
    int ret;                    /* 0 or the first error (-errno) */
    /* BLOCK_STATUS: the first extent of our context. */
    bool have_extent;
    uint32_t extent_len;
    uint32_t extent_flags;
} NBDClientRequest;

typedef struct BDRVNBDState {
    /* Options. */
    SocketAddress *saddr;
    char *export;               /* "" when not given */
    bool has_export;
    char *x_dirty_bitmap;
    uint32_t reconnect_delay;
    uint32_t open_timeout;

    /* The connection. */
    NBDClientState state;
    CoSocket sock;
    bool sock_valid;            /* sock holds an fd */
    NBDExportInfo info;
    CoMutex send_mutex;         /* whole requests on the socket */
    Coroutine *reader;          /* reads replies; NULL if none */
    uint64_t seq;

    NBDClientRequest requests[NBD_CLIENT_MAX_REQUESTS];
    int in_flight;
    CoQueue free_slot;          /* requests waiting for a slot */
    CoQueue reconnect_queue;    /* requests waiting for a connection */

    /* Reconnection. */
    Coroutine *reconnector;
    QemuCoSleep reconnect_sleep;
    QEMUTimer *delay_timer;     /* reconnect-delay ran out */
    bool closing;
} BDRVNBDState;

/*
 * The handshake
 */

typedef struct NBDOptReply {
    uint32_t type;
    uint32_t len;
    uint8_t *data;              /* len bytes, NUL-terminated; g_free */
} NBDOptReply;

static int coroutine_fn nbd_recv(CoSocket *sock, void *buf, size_t len,
                                 const char *what, Error **errp)
{
    int ret = co_socket_recv(sock, buf, len, NULL);

    /* QEMU's words, from its channel layer up. */
    if (ret == -EPIPE) {
        error_setg(errp, "Failed to read %s: Unexpected end-of-file before "
                   "all data were read", what);
    } else if (ret < 0) {
        error_setg_errno(errp, -ret, "Failed to read %s: Unable to read from "
                         "socket", what);
    }
    return ret;
}

static int coroutine_fn nbd_recv_magic(CoSocket *sock, const char *what,
                                       uint64_t *magic, Error **errp)
{
    uint8_t buf[8];
    int ret = nbd_recv(sock, buf, sizeof(buf), what, errp);

    *magic = ret < 0 ? 0 : ldq_be_p(buf);
    return ret;
}

static int coroutine_fn nbd_sendv(CoSocket *sock, const struct iovec *iov,
                                  int niov, const char *what, Error **errp)
{
    int ret = co_socket_sendv(sock, iov, niov);

    if (ret < 0) {
        error_setg_errno(errp, -ret, "Failed to send %s: Unable to write to "
                         "socket", what);
    }
    return ret;
}

static int coroutine_fn nbd_send_option(CoSocket *sock, uint32_t opt,
                                        const void *data, uint32_t len,
                                        Error **errp)
{
    uint8_t head[16];
    struct iovec iov[2] = {
        { head, sizeof(head) },
        { (void *)data, len },
    };

    trace_nbd_client_option(nbd_opt_name(opt), len);
    stq_be_p(head, NBD_OPTS_MAGIC);
    stl_be_p(head + 8, opt);
    stl_be_p(head + 12, len);
    return nbd_sendv(sock, iov, len ? 2 : 1, "option request header", errp);
}

/* Read one reply to @opt; the caller frees rep->data. */
static int coroutine_fn nbd_recv_option_reply(CoSocket *sock, uint32_t opt,
                                              NBDOptReply *rep, Error **errp)
{
    uint8_t head[20];
    int ret;

    rep->data = NULL;
    ret = nbd_recv(sock, head, sizeof(head), "option reply", errp);
    if (ret < 0) {
        return ret;
    }
    if (ldq_be_p(head) != NBD_REP_MAGIC) {
        error_setg(errp, "Unexpected option reply magic");
        return -EINVAL;
    }
    if (ldl_be_p(head + 8) != opt) {
        error_setg(errp, "Unexpected option type %u (%s), expected %u (%s)",
                   ldl_be_p(head + 8), nbd_opt_name(ldl_be_p(head + 8)),
                   opt, nbd_opt_name(opt));
        return -EINVAL;
    }
    rep->type = ldl_be_p(head + 12);
    rep->len = ldl_be_p(head + 16);
    trace_nbd_client_option_reply(nbd_opt_name(opt), nbd_rep_name(rep->type),
                                  rep->len);
    if (rep->len > NBD_CLIENT_MAX_REP_SIZE) {
        error_setg(errp, "Option reply of %u bytes is too long", rep->len);
        return -EINVAL;
    }
    rep->data = g_malloc(rep->len + 1);
    rep->data[rep->len] = 0;
    ret = nbd_recv(sock, rep->data, rep->len, "option reply payload", errp);
    if (ret < 0) {
        g_free(rep->data);
        rep->data = NULL;
    }
    return ret;
}

/*
 * An error reply: set @errp with the text QEMU's client uses for it and
 * return -EINVAL, or return 0 for NBD_REP_ERR_UNSUP, which the caller
 * takes as "the server does not know this option".
 */
static int nbd_option_error(uint32_t opt, NBDOptReply *rep, Error **errp)
{
    /* QEMU's words for each refusal, followed by the option. */
    static const struct {
        uint32_t type;
        const char *text;
    } texts[] = {
        { NBD_REP_ERR_POLICY, "Denied by server for option" },
        { NBD_REP_ERR_INVALID, "Server rejected invalid option" },
        { NBD_REP_ERR_PLATFORM, "Server lacks support for option" },
        { NBD_REP_ERR_TLS_REQD, "TLS negotiation required before option" },
        { NBD_REP_ERR_SHUTDOWN, "Server shutting down before option" },
        { NBD_REP_ERR_BLOCK_SIZE_REQD,
          "Server requires INFO_BLOCK_SIZE for option" },
    };
    const char *text = "Unknown error code when asking for option";

    if (rep->type == NBD_REP_ERR_UNSUP) {
        return 0;
    }
    for (size_t i = 0; i < G_N_ELEMENTS(texts); i++) {
        if (texts[i].type == rep->type) {
            text = texts[i].text;
        }
    }
    if (rep->type == NBD_REP_ERR_UNKNOWN) {
        error_setg(errp, "Requested export not available");
    } else {
        error_setg(errp, "%s %u (%s)", text, opt, nbd_opt_name(opt));
    }
    if (rep->len) {
        error_append_hint(errp, "server reported: %.*s\n",
                          (int)MIN(rep->len, NBD_MAX_STRING_SIZE),
                          (char *)rep->data);
    }
    return -EINVAL;
}

/* Send @opt with a payload of the export name, then @tail. */
static int coroutine_fn nbd_send_option_name(CoSocket *sock, uint32_t opt,
                                             const char *export,
                                             const void *tail,
                                             uint32_t tail_len, Error **errp)
{
    uint32_t name_len = strlen(export);
    g_autofree uint8_t *buf = g_malloc(4 + name_len + tail_len);

    stl_be_p(buf, name_len);
    memcpy(buf + 4, export, name_len);
    memcpy(buf + 4 + name_len, tail, tail_len);
    return nbd_send_option(sock, opt, buf, 4 + name_len + tail_len, errp);
}

/* NBD_OPT_STRUCTURED_REPLY: true if the server agreed. */
static int coroutine_fn nbd_negotiate_structured(CoSocket *sock,
                                                 NBDExportInfo *info,
                                                 Error **errp)
{
    NBDOptReply rep;
    int ret;

    ret = nbd_send_option(sock, NBD_OPT_STRUCTURED_REPLY, NULL, 0, errp);
    if (ret < 0) {
        return ret;
    }
    ret = nbd_recv_option_reply(sock, NBD_OPT_STRUCTURED_REPLY, &rep, errp);
    if (ret < 0) {
        return ret;
    }
    g_free(rep.data);
    /* Any refusal just means simple replies. */
    info->structured = rep.type == NBD_REP_ACK && rep.len == 0;
    return 0;
}

/* NBD_OPT_SET_META_CONTEXT for the one context @query. */
static int coroutine_fn nbd_negotiate_meta(CoSocket *sock, const char *export,
                                           const char *query,
                                           NBDExportInfo *info, Error **errp)
{
    uint32_t qlen = strlen(query);
    g_autofree uint8_t *tail = g_malloc(8 + qlen);
    int ret;

    stl_be_p(tail, 1);
    stl_be_p(tail + 4, qlen);
    memcpy(tail + 8, query, qlen);
    ret = nbd_send_option_name(sock, NBD_OPT_SET_META_CONTEXT, export, tail,
                               8 + qlen, errp);
    if (ret < 0) {
        return ret;
    }
    for (;;) {
        NBDOptReply rep;

        ret = nbd_recv_option_reply(sock, NBD_OPT_SET_META_CONTEXT, &rep,
                                    errp);
        if (ret < 0) {
            return ret;
        }
        if (rep.type == NBD_REP_ACK) {
            g_free(rep.data);
            return 0;
        }
        if (rep.type & NBD_REP_FLAG_ERROR) {
            /* The server has no such context: block status is all data. */
            g_free(rep.data);
            info->meta_context = false;
            return 0;
        }
        if (rep.type != NBD_REP_META_CONTEXT || rep.len < 4) {
            error_setg(errp, "Unexpected reply type %u (%s) to option %u "
                       "(%s)", rep.type, nbd_rep_name(rep.type),
                       NBD_OPT_SET_META_CONTEXT,
                       nbd_opt_name(NBD_OPT_SET_META_CONTEXT));
            g_free(rep.data);
            return -EINVAL;
        }
        if (info->meta_context) {
            error_setg(errp, "Server replied with more than one context");
            g_free(rep.data);
            return -EINVAL;
        }
        if (rep.len - 4 != qlen || memcmp(rep.data + 4, query, qlen)) {
            error_setg(errp, "Server replied with unexpected context '%.*s'",
                       (int)MIN(rep.len - 4, NBD_MAX_STRING_SIZE),
                       (char *)rep.data + 4);
            g_free(rep.data);
            return -EINVAL;
        }
        info->meta_context = true;
        info->context_id = ldl_be_p(rep.data);
        trace_nbd_client_meta_context(query, info->context_id);
        g_free(rep.data);
    }
}

/* The block size constraints of NBD_INFO_BLOCK_SIZE, checked. */
static int nbd_info_block_size(NBDExportInfo *info, const uint8_t *p,
                               Error **errp)
{
    info->min_block = ldl_be_p(p);
    info->opt_block = ldl_be_p(p + 4);
    info->max_block = ldl_be_p(p + 8);
    if (!is_power_of_2(info->min_block)) {
        error_setg(errp, "server minimum block size %u is not a power of "
                   "two", info->min_block);
        return -EINVAL;
    }
    if (!is_power_of_2(info->opt_block) ||
        info->opt_block < info->min_block) {
        error_setg(errp, "server preferred block size %u is not valid",
                   info->opt_block);
        return -EINVAL;
    }
    if (info->max_block < info->min_block ||
        info->max_block % info->min_block) {
        error_setg(errp, "server maximum block size %u is not valid",
                   info->max_block);
        return -EINVAL;
    }
    return 0;
}

/*
 * NBD_OPT_GO: 1 when the export is open, 0 when the server does not know
 * the option (the caller falls back to NBD_OPT_EXPORT_NAME).
 */
static int coroutine_fn nbd_negotiate_go(CoSocket *sock, const char *export,
                                         NBDExportInfo *info, Error **errp)
{
    uint8_t tail[4];
    bool have_export = false;
    int ret;

    stw_be_p(tail, 1);
    stw_be_p(tail + 2, NBD_INFO_BLOCK_SIZE);
    ret = nbd_send_option_name(sock, NBD_OPT_GO, export, tail, sizeof(tail),
                               errp);
    if (ret < 0) {
        return ret;
    }
    for (;;) {
        NBDOptReply rep;
        uint16_t type;

        ret = nbd_recv_option_reply(sock, NBD_OPT_GO, &rep, errp);
        if (ret < 0) {
            return ret;
        }
        if (rep.type & NBD_REP_FLAG_ERROR) {
            ret = nbd_option_error(NBD_OPT_GO, &rep, errp);
            g_free(rep.data);
            return ret;
        }
        if (rep.type == NBD_REP_ACK) {
            g_free(rep.data);
            if (!have_export) {
                error_setg(errp, "broken server omitted NBD_INFO_EXPORT");
                return -EINVAL;
            }
            return 1;
        }
        if (rep.type != NBD_REP_INFO || rep.len < 2) {
            error_setg(errp, "unexpected reply type %u (%s) to option %u "
                       "(%s)", rep.type, nbd_rep_name(rep.type), NBD_OPT_GO,
                       nbd_opt_name(NBD_OPT_GO));
            g_free(rep.data);
            return -EINVAL;
        }
        type = lduw_be_p(rep.data);
        trace_nbd_client_info(nbd_info_name(type), rep.len);
        ret = 0;
        switch (type) {
        case NBD_INFO_EXPORT:
            if (rep.len != 12) {
                error_setg(errp, "remaining export info len %u is unexpected "
                           "size", rep.len);
                ret = -EINVAL;
                break;
            }
            info->size = ldq_be_p(rep.data + 2);
            info->flags = lduw_be_p(rep.data + 10);
            have_export = true;
            break;
        case NBD_INFO_BLOCK_SIZE:
            if (rep.len != 14) {
                error_setg(errp, "remaining export info len %u is unexpected "
                           "size", rep.len);
                ret = -EINVAL;
                break;
            }
            ret = nbd_info_block_size(info, rep.data + 2, errp);
            break;
        default:
            /* Names and descriptions are of no use to a block node. */
            break;
        }
        g_free(rep.data);
        if (ret < 0) {
            return ret;
        }
    }
}

/* NBD_OPT_EXPORT_NAME: the old way to pick an export, without replies. */
static int coroutine_fn nbd_negotiate_export_name(CoSocket *sock,
                                                  const char *export,
                                                  bool no_zeroes,
                                                  NBDExportInfo *info,
                                                  Error **errp)
{
    uint8_t buf[10 + 124];
    int ret;

    ret = nbd_send_option(sock, NBD_OPT_EXPORT_NAME, export, strlen(export),
                          errp);
    if (ret < 0) {
        return ret;
    }
    /* A server that does not know the name just hangs up. */
    ret = nbd_recv(sock, buf, no_zeroes ? 10 : sizeof(buf), "export length",
                   errp);
    if (ret < 0) {
        return ret;
    }
    info->size = ldq_be_p(buf);
    info->flags = lduw_be_p(buf + 8);
    /* Structured replies were negotiated; meta contexts need GO. */
    info->meta_context = false;
    return 0;
}

static int coroutine_fn nbd_negotiate_options(BDRVNBDState *s,
                                              CoSocket *sock,
                                              uint16_t gflags,
                                              uint32_t cflags,
                                              NBDExportInfo *info,
                                              Error **errp);

/*
 * The whole handshake on a connected @sock, from the server's greeting
 * to the transmission phase; fills @info.
 */
static int coroutine_fn nbd_co_handshake(BDRVNBDState *s, CoSocket *sock,
                                         NBDExportInfo *info, Error **errp)
{
    uint8_t buf[8 + 4 + 124];
    uint64_t magic;
    uint16_t gflags;
    uint32_t cflags;
    int ret;

    memset(info, 0, sizeof(*info));
    ret = nbd_recv_magic(sock, "initial magic", &magic, errp);
    if (ret < 0) {
        return ret;
    }
    if (magic != NBD_INIT_MAGIC) {
        error_setg(errp, "Bad initial magic received: 0x%" PRIx64, magic);
        return -EINVAL;
    }
    ret = nbd_recv_magic(sock, "server magic", &magic, errp);
    if (ret < 0) {
        return ret;
    }
    if (magic == NBD_CLIENT_MAGIC) {
        /* Oldstyle: the export follows at once, and it has no name. */
        if (*s->export) {
            error_setg(errp, "Server does not support non-empty export "
                       "names");
            return -EINVAL;
        }
        ret = nbd_recv(sock, buf, sizeof(buf), "export flags", errp);
        if (ret < 0) {
            return ret;
        }
        info->size = ldq_be_p(buf);
        info->flags = ldl_be_p(buf + 8) & 0xffff;
        trace_nbd_client_export(info->size, info->flags, false);
        return 0;
    }
    if (magic != NBD_OPTS_MAGIC) {
        error_setg(errp, "Bad server magic received: 0x%" PRIx64, magic);
        return -EINVAL;
    }
    ret = nbd_recv(sock, buf, 2, "server flags", errp);
    if (ret < 0) {
        return ret;
    }
    gflags = lduw_be_p(buf);
    cflags = gflags & (NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES);
    stl_be_p(buf, cflags);
    ret = nbd_sendv(sock, &(struct iovec) { buf, 4 }, 1,
                    "clientflags field", errp);
    if (ret < 0) {
        return ret;
    }

    ret = nbd_negotiate_options(s, sock, gflags, cflags, info, errp);
    if (ret < 0 && (gflags & NBD_FLAG_FIXED_NEWSTYLE)) {
        /* Tell the server we are going, as QEMU does; no reply awaited. */
        nbd_send_option(sock, NBD_OPT_ABORT, NULL, 0, NULL);
    }
    return ret;
}

/* The options after the greeting, up to the transmission phase. */
static int coroutine_fn nbd_negotiate_options(BDRVNBDState *s,
                                              CoSocket *sock,
                                              uint16_t gflags,
                                              uint32_t cflags,
                                              NBDExportInfo *info,
                                              Error **errp)
{
    int ret;

    /* Without fixed newstyle no other option may be tried safely. */
    if (gflags & NBD_FLAG_FIXED_NEWSTYLE) {
        ret = nbd_negotiate_structured(sock, info, errp);
        if (ret < 0) {
            return ret;
        }
        if (info->structured) {
            /* x-dirty-bitmap is a whole context name, as in QEMU. */
            const char *query = s->x_dirty_bitmap ? s->x_dirty_bitmap
                                                  : NBD_CONTEXT_BASE_ALLOCATION;

            ret = nbd_negotiate_meta(sock, s->export, query, info, errp);
            if (ret < 0) {
                return ret;
            }
            if (s->x_dirty_bitmap && !info->meta_context) {
                error_setg(errp, "requested x-dirty-bitmap %s not found",
                           s->x_dirty_bitmap);
                return -EINVAL;
            }
        }
        ret = nbd_negotiate_go(sock, s->export, info, errp);
        if (ret < 0) {
            return ret;
        }
        if (ret == 1) {
            trace_nbd_client_export(info->size, info->flags,
                                    info->structured);
            return 0;
        }
    }
    if (s->x_dirty_bitmap) {
        error_setg(errp, "requested x-dirty-bitmap %s not found",
                   s->x_dirty_bitmap);
        return -EINVAL;
    }
    ret = nbd_negotiate_export_name(sock, s->export,
                                    cflags & NBD_FLAG_NO_ZEROES, info, errp);
    if (ret == 0) {
        trace_nbd_client_export(info->size, info->flags, info->structured);
    }
    return ret;
}

/* Connect to the server and shake hands; the socket is s->sock then. */
static int coroutine_fn nbd_co_connect(BDRVNBDState *s, NBDExportInfo *info,
                                       Error **errp)
{
    g_autofree char *addr = socket_address_to_string(s->saddr);
    int fd, ret;

    trace_nbd_client_connect(addr, s->export);
    fd = socket_address_connect(s->saddr, errp);
    if (fd < 0) {
        return -ECONNREFUSED;
    }
    co_socket_init(&s->sock, fd, qemu_get_current_aio_context());
    s->sock_valid = true;
    ret = nbd_co_handshake(s, &s->sock, info, errp);
    if (ret < 0) {
        co_socket_close(&s->sock);
        s->sock_valid = false;
    }
    return ret;
}

/*
 * Transmission: replies
 */

static NBDClientRequest *nbd_find_request(BDRVNBDState *s, uint64_t cookie)
{
    uint64_t slot = cookie & ((1 << NBD_COOKIE_SLOT_BITS) - 1);
    NBDClientRequest *req;

    if (slot >= NBD_CLIENT_MAX_REQUESTS) {
        return NULL;
    }
    req = &s->requests[slot];
    if (!req->co || req->cookie != cookie || req->complete) {
        return NULL;
    }
    return req;
}

static void nbd_request_set_error(NBDClientRequest *req, int err)
{
    if (!req->ret) {
        req->ret = err;
    }
}

static void nbd_request_complete(NBDClientRequest *req)
{
    req->complete = true;
    if (req->waiting) {
        req->waiting = false;
        aio_co_wake(req->co);
    }
}

/* Read @bytes from the socket into @qiov at @offset. */
static int coroutine_fn nbd_recv_qiov(CoSocket *sock, QEMUIOVector *qiov,
                                      size_t offset, size_t bytes)
{
    for (int i = 0; i < qiov->niov && bytes; i++) {
        size_t len = qiov->iov[i].iov_len;
        int ret;

        if (offset >= len) {
            offset -= len;
            continue;
        }
        len = MIN(len - offset, bytes);
        ret = co_socket_recv(sock, (uint8_t *)qiov->iov[i].iov_base + offset,
                             len, NULL);
        if (ret < 0) {
            return ret;
        }
        offset = 0;
        bytes -= len;
    }
    return 0;
}

/* Read and drop @len bytes. */
static int coroutine_fn nbd_recv_discard(CoSocket *sock, uint32_t len)
{
    uint8_t buf[4096];

    while (len) {
        uint32_t n = MIN(len, sizeof(buf));
        int ret = co_socket_recv(sock, buf, n, NULL);

        if (ret < 0) {
            return ret;
        }
        len -= n;
    }
    return 0;
}

/* The payload of a chunk that says where in @req's range it applies. */
static bool nbd_chunk_in_request(NBDClientRequest *req, uint64_t offset,
                                 uint64_t len)
{
    return req->type == NBD_CMD_READ && offset >= req->offset &&
           offset - req->offset <= req->len &&
           len <= req->len - (offset - req->offset);
}

/*
 * One structured chunk for @req: read its payload, record what it says.
 * -EINVAL for a chunk that breaks the protocol (the connection ends).
 */
static int coroutine_fn nbd_handle_chunk(BDRVNBDState *s,
                                         NBDClientRequest *req,
                                         NBDReply *reply)
{
    uint8_t buf[12];
    int ret;

    switch (reply->type) {
    case NBD_REPLY_TYPE_NONE:
        if (reply->length || !(reply->flags & NBD_REPLY_FLAG_DONE)) {
            return -EINVAL;
        }
        return 0;

    case NBD_REPLY_TYPE_OFFSET_DATA: {
        uint64_t offset;

        if (reply->length < 8) {
            return -EINVAL;
        }
        ret = co_socket_recv(&s->sock, buf, 8, NULL);
        if (ret < 0) {
            return ret;
        }
        offset = ldq_be_p(buf);
        if (!nbd_chunk_in_request(req, offset, reply->length - 8)) {
            return -EINVAL;
        }
        return nbd_recv_qiov(&s->sock, req->qiov, offset - req->offset,
                             reply->length - 8);
    }

    case NBD_REPLY_TYPE_OFFSET_HOLE: {
        uint64_t offset;
        uint32_t hole;

        if (reply->length != 12) {
            return -EINVAL;
        }
        ret = co_socket_recv(&s->sock, buf, 12, NULL);
        if (ret < 0) {
            return ret;
        }
        offset = ldq_be_p(buf);
        hole = ldl_be_p(buf + 8);
        if (!hole || !nbd_chunk_in_request(req, offset, hole)) {
            return -EINVAL;
        }
        qemu_iovec_memset(req->qiov, offset - req->offset, 0, hole);
        return 0;
    }

    case NBD_REPLY_TYPE_BLOCK_STATUS: {
        uint32_t id;

        if (req->type != NBD_CMD_BLOCK_STATUS || reply->length < 12 ||
            (reply->length - 4) % 8) {
            return -EINVAL;
        }
        ret = co_socket_recv(&s->sock, buf, 12, NULL);
        if (ret < 0) {
            return ret;
        }
        id = ldl_be_p(buf);
        if (id != s->info.context_id || req->have_extent ||
            !ldl_be_p(buf + 4)) {
            return -EINVAL;
        }
        req->have_extent = true;
        req->extent_len = ldl_be_p(buf + 4);
        req->extent_flags = ldl_be_p(buf + 8);
        /* We asked for one extent (REQ_ONE); ignore any more. */
        return nbd_recv_discard(&s->sock, reply->length - 12);
    }

    default:
        if (!nbd_reply_type_is_error(reply->type)) {
            return -EINVAL;
        }
        /* ERROR, ERROR_OFFSET, or an error type we do not know. */
        if (reply->length < 6) {
            return -EINVAL;
        } else {
            g_autofree char *msg = NULL;
            uint32_t err;
            uint16_t msg_len;

            ret = co_socket_recv(&s->sock, buf, 6, NULL);
            if (ret < 0) {
                return ret;
            }
            err = ldl_be_p(buf);
            msg_len = lduw_be_p(buf + 4);
            if (msg_len > reply->length - 6) {
                return -EINVAL;
            }
            msg = g_malloc0(msg_len + 1);
            ret = co_socket_recv(&s->sock, msg, msg_len, NULL);
            if (ret < 0) {
                return ret;
            }
            trace_nbd_client_error_chunk(reply->cookie,
                                         nbd_reply_type_name(reply->type),
                                         nbd_err_name(err), msg);
            ret = nbd_recv_discard(&s->sock, reply->length - 6 - msg_len);
            if (ret < 0) {
                return ret;
            }
            /* An error chunk must carry an error. */
            nbd_request_set_error(req, err ? -nbd_errno_to_system(err)
                                           : -EINVAL);
            return 0;
        }
    }
}

/* A simple reply for @req: a READ's data follows if it succeeded. */
static int coroutine_fn nbd_handle_simple(BDRVNBDState *s,
                                          NBDClientRequest *req,
                                          NBDReply *reply)
{
    if (req->type == NBD_CMD_READ && s->info.structured) {
        /* A read must be answered in chunks once they are negotiated. */
        return -EINVAL;
    }
    if (reply->error) {
        nbd_request_set_error(req, -nbd_errno_to_system(reply->error));
        return 0;
    }
    if (req->type == NBD_CMD_BLOCK_STATUS) {
        /* Block status needs a structured reply. */
        return -EINVAL;
    }
    if (req->type == NBD_CMD_READ) {
        return nbd_recv_qiov(&s->sock, req->qiov, 0, req->len);
    }
    return 0;
}

static void nbd_connection_lost(BDRVNBDState *s);

/* Read replies until the connection ends. */
static void coroutine_fn nbd_reader_co(void *opaque)
{
    BDRVNBDState *s = opaque;
    int ret;

    for (;;) {
        uint8_t buf[NBD_STRUCTURED_REPLY_SIZE];
        NBDClientRequest *req;
        NBDReply reply;
        size_t size, got;

        ret = co_socket_recv(&s->sock, buf, 4, &got);
        if (ret < 0) {
            break;
        }
        size = nbd_reply_header_size(buf);
        if (!size) {
            trace_nbd_client_bad_reply("magic", 0);
            ret = -EINVAL;
            break;
        }
        ret = co_socket_recv(&s->sock, buf + 4, size - 4, NULL);
        if (ret < 0) {
            break;
        }
        nbd_decode_reply(buf, &reply);
        req = nbd_find_request(s, reply.cookie);
        if (!req) {
            trace_nbd_client_bad_reply("cookie", reply.cookie);
            ret = -EINVAL;
            break;
        }
        if (reply.magic == NBD_SIMPLE_REPLY_MAGIC) {
            trace_nbd_client_reply_simple(reply.cookie, reply.error);
            ret = nbd_handle_simple(s, req, &reply);
            if (ret == 0) {
                nbd_request_complete(req);
            }
        } else {
            trace_nbd_client_reply_chunk(reply.cookie, reply.flags,
                                         nbd_reply_type_name(reply.type),
                                         reply.length);
            if (!s->info.structured ||
                reply.length > NBD_MAX_BUFFER_SIZE + 8) {
                ret = -EINVAL;
            } else {
                ret = nbd_handle_chunk(s, req, &reply);
            }
            if (ret == 0 && (reply.flags & NBD_REPLY_FLAG_DONE)) {
                nbd_request_complete(req);
            }
        }
        if (ret < 0) {
            trace_nbd_client_bad_reply("payload", reply.cookie);
            /* As QEMU: a chunk that breaks the protocol fails with EINVAL. */
            if (ret == -EINVAL) {
                nbd_request_set_error(req, -EINVAL);
            }
            break;
        }
    }
    trace_nbd_client_disconnected(ret);
    s->reader = NULL;
    nbd_connection_lost(s);
}

/*
 * Connection loss and reconnection
 */

static void coroutine_fn nbd_reconnect_co(void *opaque);

static void nbd_delay_expired(void *opaque)
{
    BDRVNBDState *s = opaque;

    if (s->state == NBD_CLIENT_CONNECTING_WAIT) {
        trace_nbd_client_reconnect_delay_expired();
        s->state = NBD_CLIENT_CONNECTING_NOWAIT;
        qemu_co_queue_restart_all(&s->reconnect_queue);
    }
}

/*
 * The reader has stopped: fail what is in flight, and either give up or
 * start connecting again.  The socket is shut down so that senders still
 * inside it come back; it is closed by whoever connects next, or by close.
 */
static void nbd_connection_lost(BDRVNBDState *s)
{
    if (s->sock_valid) {
        co_socket_shutdown(&s->sock);
    }
    if (s->closing || !s->reconnect_delay) {
        s->state = NBD_CLIENT_QUIT;
    } else if (s->state == NBD_CLIENT_CONNECTED) {
        s->state = NBD_CLIENT_CONNECTING_WAIT;
        timer_mod_ns(s->delay_timer,
                     qemu_clock_get_ns(QEMU_CLOCK_REALTIME) +
                     (int64_t)s->reconnect_delay * NANOSECONDS_PER_SECOND);
        if (!s->reconnector) {
            s->reconnector = qemu_coroutine_create(nbd_reconnect_co, s);
            aio_co_schedule(qemu_get_current_aio_context(), s->reconnector);
        }
    }
    for (int i = 0; i < NBD_CLIENT_MAX_REQUESTS; i++) {
        NBDClientRequest *req = &s->requests[i];

        if (req->co && !req->complete) {
            req->conn_lost = true;
            nbd_request_set_error(req, -EIO);
            nbd_request_complete(req);
        }
    }
    qemu_co_queue_restart_all(&s->reconnect_queue);
    aio_wait_kick();
}

static void coroutine_fn nbd_reconnect_co(void *opaque)
{
    BDRVNBDState *s = opaque;
    int64_t pause = NBD_RECONNECT_PAUSE_NS;

    while (!s->closing && s->state != NBD_CLIENT_CONNECTED &&
           s->state != NBD_CLIENT_QUIT) {
        NBDExportInfo info;
        Error *err = NULL;
        int ret;

        /* No sender is inside the old socket once we hold the mutex. */
        qemu_co_mutex_lock(&s->send_mutex);
        if (s->sock_valid) {
            co_socket_close(&s->sock);
            s->sock_valid = false;
        }
        trace_nbd_client_reconnect_attempt();
        ret = nbd_co_connect(s, &info, &err);
        if (ret == 0 && (info.size != s->info.size ||
                         (info.flags & NBD_FLAG_READ_ONLY) !=
                         (s->info.flags & NBD_FLAG_READ_ONLY) ||
                         info.structured != s->info.structured ||
                         info.meta_context != s->info.meta_context)) {
            /* Another export behind the same address: not ours. */
            error_setg(&err, "the export changed across the reconnection");
            co_socket_close(&s->sock);
            s->sock_valid = false;
            ret = -EINVAL;
        }
        if (ret == 0 && s->closing) {
            co_socket_close(&s->sock);
            s->sock_valid = false;
            ret = -ESHUTDOWN;
        }
        if (ret == 0) {
            s->info = info;
            s->state = NBD_CLIENT_CONNECTED;
            timer_del(s->delay_timer);
            s->reader = qemu_coroutine_create(nbd_reader_co, s);
            aio_co_schedule(qemu_get_current_aio_context(), s->reader);
            qemu_co_mutex_unlock(&s->send_mutex);
            trace_nbd_client_reconnected();
            qemu_co_queue_restart_all(&s->reconnect_queue);
            break;
        }
        qemu_co_mutex_unlock(&s->send_mutex);
        trace_nbd_client_reconnect_failed(err ? error_get_pretty(err) : "");
        error_free(err);
        if (s->closing) {
            break;
        }
        qemu_co_sleep_ns_wakeable(&s->reconnect_sleep, pause);
        pause = MIN(pause * 2, NBD_RECONNECT_PAUSE_MAX_NS);
    }
    s->reconnector = NULL;
    aio_wait_kick();
}

/*
 * Transmission: requests
 */

/*
 * Send @hdr (and @write_qiov, for a WRITE) and wait for the reply.  The
 * request is sent again on a new connection while reconnect-delay lasts.
 * On return @req holds what the reply said (@ext for block status).
 */
static int coroutine_fn nbd_co_request(BlockDriverState *bs, NBDRequest *hdr,
                                       QEMUIOVector *write_qiov,
                                       QEMUIOVector *read_qiov,
                                       NBDClientRequest *result)
{
    BDRVNBDState *s = bs->opaque;
    NBDClientRequest *req;
    int slot, ret;

    for (;;) {
        while (s->in_flight == NBD_CLIENT_MAX_REQUESTS) {
            qemu_co_queue_wait(&s->free_slot, NULL);
        }
        while (s->state == NBD_CLIENT_CONNECTING_WAIT) {
            qemu_co_queue_wait(&s->reconnect_queue, NULL);
        }
        if (s->state != NBD_CLIENT_CONNECTED) {
            return -EIO;
        }
        if (s->in_flight == NBD_CLIENT_MAX_REQUESTS) {
            continue;
        }
        for (slot = 0; s->requests[slot].co; slot++) {
            /* in_flight < MAX: a slot is free */
        }
        req = &s->requests[slot];
        *req = (NBDClientRequest) {
            .co = qemu_coroutine_self(),
            .cookie = (++s->seq << NBD_COOKIE_SLOT_BITS) | slot,
            .type = hdr->type,
            .offset = hdr->offset,
            .len = hdr->len,
            .qiov = read_qiov,
        };
        s->in_flight++;
        hdr->cookie = req->cookie;

        qemu_co_mutex_lock(&s->send_mutex);
        if (s->state != NBD_CLIENT_CONNECTED) {
            req->conn_lost = true;
            ret = -EIO;
        } else {
            uint8_t head[NBD_REQUEST_SIZE];
            int niov = write_qiov ? write_qiov->niov : 0;
            g_autofree struct iovec *iov = g_new(struct iovec, niov + 1);

            trace_nbd_client_request(req->cookie, nbd_cmd_name(hdr->type),
                                     hdr->flags, hdr->offset, hdr->len);
            nbd_encode_request(head, hdr);
            iov[0] = (struct iovec) { head, sizeof(head) };
            if (niov) {
                memcpy(iov + 1, write_qiov->iov, niov * sizeof(*iov));
            }
            ret = co_socket_sendv(&s->sock, iov, niov + 1);
            if (ret < 0) {
                /* Let the reader see the end and fail the rest. */
                co_socket_shutdown(&s->sock);
                req->conn_lost = true;
            }
        }
        qemu_co_mutex_unlock(&s->send_mutex);

        if (ret == 0 && !req->complete) {
            req->waiting = true;
            qemu_coroutine_yield();
        }
        if (ret == 0) {
            ret = req->ret;
        }
        *result = *req;
        req->co = NULL;
        s->in_flight--;
        qemu_co_queue_next(&s->free_slot);
        aio_wait_kick();

        if (result->conn_lost && s->state == NBD_CLIENT_CONNECTING_WAIT) {
            trace_nbd_client_request_retry(hdr->cookie);
            continue;
        }
        if (result->conn_lost) {
            /* A protocol error of this reply's own says EINVAL. */
            return result->ret ? result->ret : -EIO;
        }
        trace_nbd_client_request_done(hdr->cookie, ret);
        return ret;
    }
}

static int coroutine_fn nbd_co_simple_request(BlockDriverState *bs,
                                              uint16_t type, uint16_t flags,
                                              int64_t offset, int64_t bytes,
                                              QEMUIOVector *write_qiov,
                                              QEMUIOVector *read_qiov)
{
    NBDRequest hdr = {
        .type = type,
        .flags = flags,
        .offset = offset,
        .len = bytes,
    };
    NBDClientRequest result;

    assert(bytes >= 0 && bytes <= UINT32_MAX);
    return nbd_co_request(bs, &hdr, write_qiov, read_qiov, &result);
}

static int coroutine_fn nbd_co_preadv(BlockDriverState *bs, int64_t offset,
                                      int64_t bytes, QEMUIOVector *qiov,
                                      BdrvRequestFlags flags)
{
    BDRVNBDState *s = bs->opaque;
    int64_t tail = 0;
    int ret;

    if (!bytes) {
        return 0;
    }
    /* io.c may read past an unaligned end: those bytes are zeroes. */
    if (offset + bytes > (int64_t)s->info.size) {
        tail = offset + bytes - MAX(offset, (int64_t)s->info.size);
        qemu_iovec_memset(qiov, bytes - tail, 0, tail);
        bytes -= tail;
        if (!bytes) {
            return 0;
        }
    }
    if (tail) {
        QEMUIOVector head;

        qemu_iovec_init_slice(&head, qiov, 0, bytes);
        ret = nbd_co_simple_request(bs, NBD_CMD_READ, 0, offset, bytes, NULL,
                                    &head);
        qemu_iovec_destroy(&head);
        return ret;
    }
    return nbd_co_simple_request(bs, NBD_CMD_READ, 0, offset, bytes, NULL,
                                 qiov);
}

static int coroutine_fn nbd_co_flush(BlockDriverState *bs);

static int coroutine_fn nbd_co_pwritev(BlockDriverState *bs, int64_t offset,
                                       int64_t bytes, QEMUIOVector *qiov,
                                       BdrvRequestFlags flags)
{
    BDRVNBDState *s = bs->opaque;
    uint16_t nflags = 0;

    if (flags & BDRV_REQ_FUA) {
        assert(s->info.flags & NBD_FLAG_SEND_FUA);
        nflags |= NBD_CMD_FLAG_FUA;
    }
    if (!bytes) {
        return 0;
    }
    return nbd_co_simple_request(bs, NBD_CMD_WRITE, nflags, offset, bytes,
                                 qiov, NULL);
}

static int coroutine_fn nbd_co_pwrite_zeroes(BlockDriverState *bs,
                                             int64_t offset, int64_t bytes,
                                             BdrvRequestFlags flags)
{
    BDRVNBDState *s = bs->opaque;
    uint16_t nflags = 0;

    if (!(s->info.flags & NBD_FLAG_SEND_WRITE_ZEROES)) {
        return -ENOTSUP;
    }
    if (flags & BDRV_REQ_FUA) {
        assert(s->info.flags & NBD_FLAG_SEND_FUA);
        nflags |= NBD_CMD_FLAG_FUA;
    }
    if (!(flags & BDRV_REQ_MAY_UNMAP)) {
        nflags |= NBD_CMD_FLAG_NO_HOLE;
    }
    if (flags & BDRV_REQ_NO_FALLBACK) {
        assert(s->info.flags & NBD_FLAG_SEND_FAST_ZERO);
        nflags |= NBD_CMD_FLAG_FAST_ZERO;
    }
    if (!bytes) {
        return 0;
    }
    return nbd_co_simple_request(bs, NBD_CMD_WRITE_ZEROES, nflags, offset,
                                 bytes, NULL, NULL);
}

static int coroutine_fn nbd_co_flush(BlockDriverState *bs)
{
    BDRVNBDState *s = bs->opaque;

    if (!(s->info.flags & NBD_FLAG_SEND_FLUSH)) {
        return 0;
    }
    return nbd_co_simple_request(bs, NBD_CMD_FLUSH, 0, 0, 0, NULL, NULL);
}

static int coroutine_fn nbd_co_pdiscard(BlockDriverState *bs, int64_t offset,
                                        int64_t bytes)
{
    BDRVNBDState *s = bs->opaque;

    if (!(s->info.flags & NBD_FLAG_SEND_TRIM) || !bytes) {
        return 0;
    }
    return nbd_co_simple_request(bs, NBD_CMD_TRIM, 0, offset, bytes, NULL,
                                 NULL);
}

static int coroutine_fn nbd_co_block_status(BlockDriverState *bs,
                                            bool want_zero, int64_t offset,
                                            int64_t bytes, int64_t *pnum,
                                            int64_t *map,
                                            BlockDriverState **file)
{
    BDRVNBDState *s = bs->opaque;
    uint32_t align = bs->bl.request_alignment;
    NBDRequest hdr = {
        .type = NBD_CMD_BLOCK_STATUS,
        .flags = NBD_CMD_FLAG_REQ_ONE,
        .offset = offset,
    };
    NBDClientRequest result;
    int ret;

    *map = offset;
    *file = bs;
    if (!s->info.meta_context) {
        /* Without the context everything is data. */
        *pnum = bytes;
        return BDRV_BLOCK_DATA | BDRV_BLOCK_OFFSET_VALID;
    }
    hdr.len = MIN(MIN(bytes, (int64_t)(s->info.size - offset)),
                  (int64_t)QEMU_ALIGN_DOWN(UINT32_MAX, align));
    ret = nbd_co_request(bs, &hdr, NULL, NULL, &result);
    if (ret < 0) {
        return ret;
    }
    if (!result.have_extent) {
        /* The server answered without our context: a protocol error. */
        return -EIO;
    }
    *pnum = MIN(result.extent_len, hdr.len);
    /* Extents shorter than the alignment tell nothing usable. */
    if (*pnum >= align) {
        *pnum = QEMU_ALIGN_DOWN(*pnum, align);
    } else {
        *pnum = MIN((int64_t)align, bytes);
        return BDRV_BLOCK_DATA | BDRV_BLOCK_OFFSET_VALID;
    }
    return (result.extent_flags & NBD_STATE_HOLE ? 0 : BDRV_BLOCK_DATA) |
           (result.extent_flags & NBD_STATE_ZERO ? BDRV_BLOCK_ZERO : 0) |
           BDRV_BLOCK_OFFSET_VALID;
}

static int coroutine_fn nbd_co_truncate(BlockDriverState *bs, int64_t offset,
                                        bool exact, PreallocMode prealloc,
                                        BdrvRequestFlags flags, Error **errp)
{
    BDRVNBDState *s = bs->opaque;

    if (offset != (int64_t)s->info.size && exact) {
        error_setg(errp, "Cannot resize NBD nodes");
        return -ENOTSUP;
    }
    if (offset > (int64_t)s->info.size) {
        error_setg(errp, "Cannot grow NBD nodes");
        return -EINVAL;
    }
    return 0;
}

static int64_t coroutine_fn nbd_co_getlength(BlockDriverState *bs)
{
    BDRVNBDState *s = bs->opaque;

    return s->info.size;
}

static int64_t nbd_get_allocated_file_size(BlockDriverState *bs)
{
    return -ENOTSUP;
}

static void nbd_refresh_limits(BlockDriverState *bs, Error **errp)
{
    BDRVNBDState *s = bs->opaque;
    uint32_t min = s->info.min_block;
    uint32_t max = s->info.max_block
                   ? MIN(s->info.max_block, NBD_MAX_BUFFER_SIZE)
                   : NBD_MAX_BUFFER_SIZE;

    /*
     * As QEMU: without constraints from the server, byte granularity
     * where the size or the block status need it, else sectors.
     */
    if (!min) {
        min = (s->info.size % BDRV_SECTOR_SIZE || s->info.meta_context)
              ? 1 : BDRV_SECTOR_SIZE;
    }
    bs->bl.request_alignment = min;
    bs->bl.max_transfer = QEMU_ALIGN_DOWN(max, min);
    bs->bl.max_pdiscard = QEMU_ALIGN_DOWN(INT32_MAX, min);
    bs->bl.max_pwrite_zeroes = bs->bl.max_transfer;
    if (s->info.opt_block > bs->bl.opt_transfer) {
        bs->bl.opt_transfer = s->info.opt_block;
    }
}

/*
 * "nbd+unix:///EXPORT?socket=PATH" and "nbd://HOST:PORT/EXPORT" as QEMU
 * prints them; other addresses keep the json: form.
 */
static void nbd_refresh_filename(BlockDriverState *bs)
{
    BDRVNBDState *s = bs->opaque;
    const char *sep = s->has_export ? "/" : "";
    const char *exp = s->has_export ? s->export : "";

    if (s->saddr->type == SOCKET_ADDRESS_TYPE_UNIX) {
        snprintf(bs->filename, sizeof(bs->filename),
                 "nbd+unix://%s%s?socket=%s", sep, exp,
                 s->saddr->u.q_unix.path);
    } else if (s->saddr->type == SOCKET_ADDRESS_TYPE_INET) {
        const char *host = s->saddr->u.inet.host;
        bool v6 = strchr(host, ':') != NULL;

        snprintf(bs->filename, sizeof(bs->filename), "nbd://%s%s%s:%s%s%s",
                 v6 ? "[" : "", host, v6 ? "]" : "", s->saddr->u.inet.port,
                 sep, exp);
    } else {
        g_autofree char *addr = socket_address_to_string(s->saddr);

        snprintf(bs->filename, sizeof(bs->filename),
                 "json:{\"driver\": \"nbd\", \"server\": \"%s\", "
                 "\"export\": \"%s\"}", addr, exp);
    }
}

/*
 * Open and close
 */

typedef struct NBDOpenCo {
    BDRVNBDState *s;
    Error *err;
    int ret;
    bool done;
} NBDOpenCo;

/* Connect, retrying every second until open-timeout has passed. */
static void coroutine_fn nbd_open_co(void *opaque)
{
    NBDOpenCo *o = opaque;
    BDRVNBDState *s = o->s;
    int64_t deadline = qemu_clock_get_ns(QEMU_CLOCK_REALTIME) +
                       (int64_t)s->open_timeout * NANOSECONDS_PER_SECOND;

    for (;;) {
        error_free(o->err);
        o->err = NULL;
        o->ret = nbd_co_connect(s, &s->info, &o->err);
        if (o->ret == 0 ||
            qemu_clock_get_ns(QEMU_CLOCK_REALTIME) >= deadline) {
            break;
        }
        qemu_co_sleep_ns(MIN(NBD_RECONNECT_PAUSE_NS,
                             deadline -
                             qemu_clock_get_ns(QEMU_CLOCK_REALTIME)));
    }
    o->done = true;
}

static void nbd_free_options(BDRVNBDState *s)
{
    qapi_free_SocketAddress(s->saddr);
    s->saddr = NULL;
    g_free(s->export);
    g_free(s->x_dirty_bitmap);
}

static SocketAddress *nbd_copy_address(const SocketAddress *addr)
{
    SocketAddress *copy = g_new0(SocketAddress, 1);

    copy->type = addr->type;
    switch (addr->type) {
    case SOCKET_ADDRESS_TYPE_INET:
        copy->u.inet = addr->u.inet;
        copy->u.inet.host = g_strdup(addr->u.inet.host);
        copy->u.inet.port = g_strdup(addr->u.inet.port);
        break;
    case SOCKET_ADDRESS_TYPE_UNIX:
        copy->u.q_unix = addr->u.q_unix;
        copy->u.q_unix.path = g_strdup(addr->u.q_unix.path);
        break;
    case SOCKET_ADDRESS_TYPE_VSOCK:
        copy->u.vsock.cid = g_strdup(addr->u.vsock.cid);
        copy->u.vsock.port = g_strdup(addr->u.vsock.port);
        break;
    case SOCKET_ADDRESS_TYPE_FD:
        copy->u.fd.str = g_strdup(addr->u.fd.str);
        break;
    default:
        g_assert_not_reached();
    }
    return copy;
}

static int nbd_open(BlockDriverState *bs, BlockdevOptions *options,
                    int flags, Error **errp)
{
    BDRVNBDState *s = bs->opaque;
    BlockdevOptionsNbd *o;
    NBDOpenCo co = { .s = s };

    if (!options) {
        error_setg(errp, "Parameter 'server' is missing");
        return -EINVAL;
    }
    o = &options->u.nbd;
    if (o->tls_creds) {
        error_setg(errp, "No TLS credentials with id '%s'", o->tls_creds);
        return -EINVAL;
    }
    if (o->tls_hostname) {
        error_setg(errp, "tls-hostname is set but tls-creds is not");
        return -EINVAL;
    }
    s->saddr = nbd_copy_address(o->server);
    s->has_export = o->export != NULL;
    s->export = g_strdup(o->export ? o->export : "");
    s->x_dirty_bitmap = g_strdup(o->x_dirty_bitmap);
    s->reconnect_delay = o->has_reconnect_delay ? o->reconnect_delay : 0;
    s->open_timeout = o->has_open_timeout ? o->open_timeout : 0;
    if (strlen(s->export) > NBD_MAX_STRING_SIZE) {
        error_setg(errp, "export name too long to send to server");
        nbd_free_options(s);
        return -EINVAL;
    }
    qemu_co_mutex_init(&s->send_mutex);
    qemu_co_queue_init(&s->free_slot);
    qemu_co_queue_init(&s->reconnect_queue);

    bdrv_poll_co(nbd_open_co, &co, &co.done);
    if (co.ret < 0) {
        error_propagate(errp, co.err);
        nbd_free_options(s);
        return co.ret;
    }
    error_free(co.err);

    if ((s->info.flags & NBD_FLAG_READ_ONLY) &&
        (bs->open_flags & BDRV_O_RDWR)) {
        if (!(bs->open_flags & BDRV_O_AUTO_RDONLY)) {
            /* QEMU 7.2's words for it. */
            error_setg_errno(errp, EACCES, "Could not open image");
            co_socket_close(&s->sock);
            s->sock_valid = false;
            nbd_free_options(s);
            return -EACCES;
        }
        bs->open_flags &= ~BDRV_O_RDWR;
        bs->read_only = true;
    }
    bs->supported_write_flags = 0;
    bs->supported_zero_flags = BDRV_REQ_MAY_UNMAP;
    if (s->info.flags & NBD_FLAG_SEND_FUA) {
        bs->supported_write_flags |= BDRV_REQ_FUA;
        bs->supported_zero_flags |= BDRV_REQ_FUA;
    }
    if (s->info.flags & NBD_FLAG_SEND_FAST_ZERO) {
        bs->supported_zero_flags |= BDRV_REQ_NO_FALLBACK;
    }
    s->delay_timer = aio_timer_new(qemu_get_aio_context(),
                                   QEMU_CLOCK_REALTIME, SCALE_NS,
                                   nbd_delay_expired, s);
    s->state = NBD_CLIENT_CONNECTED;
    s->reader = qemu_coroutine_create(nbd_reader_co, s);
    qemu_coroutine_enter(s->reader);
    return 0;
}

typedef struct NBDCloseCo {
    BDRVNBDState *s;
    bool done;
} NBDCloseCo;

/* Say goodbye (NBD_CMD_DISC has no reply), then end the connection. */
static void coroutine_fn nbd_close_co(void *opaque)
{
    NBDCloseCo *c = opaque;
    BDRVNBDState *s = c->s;

    qemu_co_mutex_lock(&s->send_mutex);
    if (s->state == NBD_CLIENT_CONNECTED) {
        NBDRequest hdr = { .type = NBD_CMD_DISC };
        uint8_t head[NBD_REQUEST_SIZE];

        trace_nbd_client_request(0, nbd_cmd_name(NBD_CMD_DISC), 0, 0, 0);
        nbd_encode_request(head, &hdr);
        co_socket_send(&s->sock, head, sizeof(head));
    }
    if (s->sock_valid) {
        co_socket_shutdown(&s->sock);
    }
    qemu_co_mutex_unlock(&s->send_mutex);
    c->done = true;
}

static void nbd_close(BlockDriverState *bs)
{
    BDRVNBDState *s = bs->opaque;
    NBDCloseCo c = { .s = s };

    s->closing = true;
    timer_del(s->delay_timer);
    qemu_co_sleep_wake(&s->reconnect_sleep);
    /* A reconnection in its handshake holds send_mutex: cut it short. */
    if (s->state != NBD_CLIENT_CONNECTED && s->sock_valid) {
        co_socket_shutdown(&s->sock);
    }
    bdrv_poll_co(nbd_close_co, &c, &c.done);
    AIO_WAIT_WHILE(qemu_get_aio_context(), s->reader || s->reconnector);
    if (s->sock_valid) {
        co_socket_close(&s->sock);
        s->sock_valid = false;
    }
    timer_free(s->delay_timer);
    nbd_free_options(s);
}

/*
 * File names: nbd://HOST[:PORT][/EXPORT], nbd+tcp://..., and
 * nbd+unix:///EXPORT?socket=PATH, as URIs with %-escapes; and QEMU's old
 * form nbd:HOST:PORT[:exportname=EXPORT], nbd:unix:PATH[:exportname=...].
 */

static char *nbd_uri_unescape(const char *s, size_t len)
{
    GString *out = g_string_sized_new(len);

    for (size_t i = 0; i < len; i++) {
        if (s[i] == '%' && i + 2 < len && g_ascii_isxdigit(s[i + 1]) && g_ascii_isxdigit(s[i + 2])) {
            g_string_append_c(out, (char)(g_ascii_xdigit_value(s[i + 1]) * 16 +
                                          g_ascii_xdigit_value(s[i + 2])));
            i += 2;
        } else {
            g_string_append_c(out, s[i]);
        }
    }
    return g_string_free(out, false);
}

static JsonObject *nbd_server_object(const char *type)
{
    JsonObject *server = json_object_new();

    json_object_set_string_member(server, "type", type);
    return server;
}

static bool nbd_parse_uri(const char *filename, JsonObject *options)
{
    const char *rest, *path, *query, *end;
    g_autofree char *authority = NULL;
    bool is_unix;
    JsonObject *server;

    if (g_str_has_prefix(filename, "nbd+unix://")) {
        is_unix = true;
        rest = filename + strlen("nbd+unix://");
    } else if (g_str_has_prefix(filename, "nbd+tcp://")) {
        is_unix = false;
        rest = filename + strlen("nbd+tcp://");
    } else if (g_str_has_prefix(filename, "nbd://")) {
        is_unix = false;
        rest = filename + strlen("nbd://");
    } else {
        /* nbds:// and other schemes: TLS is not built in. */
        return false;
    }
    end = rest + strcspn(rest, "?#");
    path = memchr(rest, '/', end - rest);
    authority = g_strndup(rest, (path ? path : end) - rest);
    if (path) {
        path++;
        if (path < end) {
            g_autofree char *export = nbd_uri_unescape(path, end - path);

            json_object_set_string_member(options, "export", export);
        }
    }
    query = *end == '?' ? end + 1 : NULL;

    if (is_unix) {
        g_autofree char *socket = NULL;

        /* Exactly one query parameter: socket=PATH; no host. */
        if (*authority || !query || !g_str_has_prefix(query, "socket=") ||
            strchr(query, '&')) {
            return false;
        }
        query += strlen("socket=");
        socket = nbd_uri_unescape(query, strcspn(query, "#"));
        if (!*socket) {
            return false;
        }
        server = nbd_server_object("unix");
        json_object_set_string_member(server, "path", socket);
    } else {
        const char *host = authority, *port;
        g_autofree char *host_copy = NULL;

        if (query || !*authority) {
            return false;
        }
        if (*host == '[') {
            const char *close = strchr(host, ']');

            if (!close) {
                return false;
            }
            host_copy = g_strndup(host + 1, close - host - 1);
            port = close[1] == ':' ? close + 2 : NULL;
            if (close[1] && close[1] != ':') {
                return false;
            }
        } else {
            const char *colon = strchr(host, ':');

            host_copy = colon ? g_strndup(host, colon - host)
                              : g_strdup(host);
            port = colon ? colon + 1 : NULL;
        }
        if (!*host_copy || (port && !*port)) {
            return false;
        }
        server = nbd_server_object("inet");
        json_object_set_string_member(server, "host", host_copy);
        if (port) {
            json_object_set_string_member(server, "port", port);
        } else {
            g_autofree char *def = g_strdup_printf("%d", NBD_DEFAULT_PORT);

            json_object_set_string_member(server, "port", def);
        }
    }
    json_object_set_object_member(options, "server", server);
    return true;
}

static bool nbd_parse_filename(const char *filename, JsonObject *options,
                               Error **errp)
{
    g_autofree char *file = NULL;
    const char *host_spec;
    char *export;
    JsonObject *server;

    if (strstr(filename, "://")) {
        if (!nbd_parse_uri(filename, options)) {
            error_setg(errp, "No valid URL specified");
            return false;
        }
        return true;
    }

    file = g_strdup(filename);
    export = strstr(file, ":exportname=");
    if (export) {
        *export = 0;
        json_object_set_string_member(options, "export",
                                      export + strlen(":exportname="));
    }
    if (!g_str_has_prefix(file, "nbd:")) {
        error_setg(errp, "File name string for NBD must start with 'nbd:'");
        return false;
    }
    host_spec = file + strlen("nbd:");
    if (g_str_has_prefix(host_spec, "unix:")) {
        server = nbd_server_object("unix");
        json_object_set_string_member(server, "path",
                                      host_spec + strlen("unix:"));
    } else {
        const char *colon = strrchr(host_spec, ':');
        g_autofree char *host = NULL;

        if (!colon || colon == host_spec || !colon[1]) {
            error_setg(errp, "error parsing address '%s'", host_spec);
            return false;
        }
        host = g_strndup(host_spec, colon - host_spec);
        if (host[0] == '[' && host[strlen(host) - 1] == ']') {
            host[strlen(host) - 1] = 0;
            memmove(host, host + 1, strlen(host));
        }
        server = nbd_server_object("inet");
        json_object_set_string_member(server, "host", host);
        json_object_set_string_member(server, "port", colon + 1);
    }
    json_object_set_object_member(options, "server", server);
    return true;
}

static const char *const nbd_protocol_schemes[] = {
    "nbd", "nbd+tcp", "nbd+unix", NULL,
};

BlockDriver bdrv_nbd = {
    .format_name            = "nbd",
    .protocol_name          = "nbd",
    .protocol_schemes       = nbd_protocol_schemes,
    .instance_size          = sizeof(BDRVNBDState),
    .bdrv_parse_filename    = nbd_parse_filename,
    .bdrv_open              = nbd_open,
    .bdrv_close             = nbd_close,
    .bdrv_co_preadv         = nbd_co_preadv,
    .bdrv_co_pwritev        = nbd_co_pwritev,
    .bdrv_co_pwrite_zeroes  = nbd_co_pwrite_zeroes,
    .bdrv_co_pdiscard       = nbd_co_pdiscard,
    .bdrv_co_flush          = nbd_co_flush,
    .bdrv_co_block_status   = nbd_co_block_status,
    .bdrv_co_truncate       = nbd_co_truncate,
    .bdrv_co_getlength      = nbd_co_getlength,
    .bdrv_refresh_limits    = nbd_refresh_limits,
    .bdrv_refresh_filename  = nbd_refresh_filename,
    .bdrv_get_allocated_file_size = nbd_get_allocated_file_size,
};
