/*
 * server.c: the NBD server: the listening socket, the NBD export driver,
 * and each client's handshake and transmission phase.
 *
 * The protocol is the NBD project's doc/proto.md (constants and headers
 * in include/block/nbd.h).  What clients see matches qemu-storage-daemon
 * 7.2: the transmission flags, the block size constraints, the metadata
 * contexts, the option replies and the errors on the wire.
 *
 * One client, one coroutine that reads: it runs the handshake, then reads
 * each request header (and a write's payload), checks it, and hands it to
 * a coroutine of its own, so up to NBD_MAX_REQUESTS requests of a client
 * are in flight at once and their replies go out as they finish, in any
 * order; a CoMutex keeps each reply whole on the socket.  When the limit
 * is reached the reader stops reading, and TCP pushes back on the client.
 *
 * Hostile input: a request that cannot be answered without losing the
 * stream's framing (bad magic, a write longer than NBD_MAX_BUFFER_SIZE, a
 * short read) ends the connection; anything else (unknown command or
 * flag, a range past the end, a write to a read-only export) is answered
 * with the protocol's error and the client goes on.  No request reaches
 * the node unless it lies inside the export.
 *
 * Ending: a client leaves when it sends NBD_CMD_DISC, when its socket
 * closes, or when its export or the server goes away (the socket is shut
 * down, which wakes the reader).  Its requests in flight finish before the
 * last reference to the export is dropped, from a bottom half, so the
 * BlockBackend is never released from inside one of its own requests.
 */
#include "qemu/osdep.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "block/block-backend.h"
#include "block/block_int.h"
#include "block/blockdev.h"
#include "block/dirty-bitmap.h"
#include "block/export.h"
#include "block/nbd.h"
#include "qapi/error.h"
#include "qapi-commands.h"
#include "qemu/aio.h"
#include "qemu/bswap.h"
#include "qemu/co-socket.h"
#include "qemu/coroutine.h"
#include "qemu/iov.h"
#include "qemu/queue.h"
#include "trace.h"

/* Requests of one client in flight at once (QEMU's MAX_NBD_REQUESTS). */
#define NBD_MAX_REQUESTS            16
/* Most extents in one block status reply (1 MiB of them). */
#define NBD_MAX_BLOCK_STATUS_EXTENTS (1 * 1024 * 1024 / 8)
/* Context ids: base:allocation is 0; then these. */
#define NBD_META_ID_ALLOCATION_DEPTH 1
#define NBD_META_ID_DIRTY_BITMAP    2
#define NBD_PREFERRED_BLOCK_SIZE    4096

typedef struct NBDClient NBDClient;

typedef struct NBDExport {
    BlockExport common;
    char *name;
    char *description;
    int64_t size;
    uint16_t nbdflags;              /* without NBD_FLAG_SEND_DF */
    bool writable;
    bool writethrough;
    bool allocation_depth;
    /* Bitmaps offered as qemu:dirty-bitmap:NAME, held busy. */
    BdrvDirtyBitmap **bitmaps;
    size_t nr_bitmaps;
    QTAILQ_HEAD(, NBDClient) clients;
    QTAILQ_ENTRY(NBDExport) next;
} NBDExport;

/* The metadata contexts a client selected, for one export. */
typedef struct NBDMetaContexts {
    NBDExport *exp;
    bool base_allocation;
    bool allocation_depth;
    bool *bitmaps;                  /* exp->nr_bitmaps of them */
    size_t count;
} NBDMetaContexts;

struct NBDClient {
    CoSocket sock;
    char *peer;                     /* for traces */
    /* Run once the client is freed (nbd_server_add_client_fd). */
    void (*close_fn)(void *opaque);
    void *close_opaque;
    NBDExport *exp;                 /* after NBD_OPT_GO / EXPORT_NAME */
    Coroutine *reader;              /* the client's main coroutine */
    bool reader_waits;              /* parked until a request slot frees */
    int nb_requests;
    CoMutex send_lock;
    bool structured;
    bool no_zeroes;
    bool closing;
    uint32_t block_min;             /* what NBD_INFO_BLOCK_SIZE said */
    NBDMetaContexts meta;
    QTAILQ_ENTRY(NBDClient) next;       /* in the server's list */
    QTAILQ_ENTRY(NBDClient) exp_next;   /* in exp->clients */
};

typedef struct NBDServer {
    int listen_fd;
    bool accepting;                 /* the listen handler is installed */
    uint32_t max_connections;       /* 0: no limit */
    int nb_clients;
    char *unix_path;                /* to remove at stop */
    QTAILQ_HEAD(, NBDClient) clients;
} NBDServer;

static NBDServer *nbd_server;
static QTAILQ_HEAD(, NBDExport) nbd_exports =
    QTAILQ_HEAD_INITIALIZER(nbd_exports);

static void nbd_server_update_accepting(void);

static NBDExport *nbd_export_find(const char *name)
{
    NBDExport *exp;

    QTAILQ_FOREACH(exp, &nbd_exports, next) {
        if (!strcmp(exp->name, name) && !exp->common.shutting_down) {
            return exp;
        }
    }
    return NULL;
}

static uint16_t nbd_export_flags(NBDClient *client, NBDExport *exp)
{
    return exp->nbdflags | (client->structured ? NBD_FLAG_SEND_DF : 0);
}

/* Start ending @client: its reader and its requests unwind. */
static void nbd_client_close(NBDClient *client)
{
    if (client->closing) {
        return;
    }
    trace_nbd_client_close(client, client->nb_requests);
    client->closing = true;
    co_socket_shutdown(&client->sock);
    if (client->reader_waits) {
        client->reader_waits = false;
        aio_co_wake(client->reader);
    }
}

static void nbd_meta_clear(NBDMetaContexts *meta)
{
    g_free(meta->bitmaps);
    memset(meta, 0, sizeof(*meta));
}

/* ------------------------------------------------------------ handshake */

/* Send one option reply: header and @len bytes of @payload. */
static int coroutine_fn nbd_send_rep(NBDClient *client, uint32_t opt,
                                     uint32_t type, const void *payload,
                                     uint32_t len)
{
    uint8_t head[20];
    struct iovec iov[2] = {
        { head, sizeof(head) },
        { (void *)payload, len },
    };

    trace_nbd_negotiate_reply(client, nbd_opt_name(opt), nbd_rep_name(type),
                              len);
    stq_be_p(head, NBD_REP_MAGIC);
    stl_be_p(head + 8, opt);
    stl_be_p(head + 12, type);
    stl_be_p(head + 16, len);
    return co_socket_sendv(&client->sock, iov, len ? 2 : 1);
}

static int coroutine_fn nbd_send_rep_ack(NBDClient *client, uint32_t opt)
{
    return nbd_send_rep(client, opt, NBD_REP_ACK, NULL, 0);
}

/* An error reply with a message for the client's user. */
static int coroutine_fn G_GNUC_PRINTF(4, 5)
nbd_send_rep_err(NBDClient *client, uint32_t opt, uint32_t type,
                 const char *fmt, ...)
{
    g_autofree char *msg = NULL;
    va_list ap;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    trace_nbd_negotiate_error(client, nbd_opt_name(opt), msg);
    return nbd_send_rep(client, opt, type, msg, strlen(msg));
}

/* An NBD_REP_INFO: the info type, then @len bytes. */
static int coroutine_fn nbd_send_info(NBDClient *client, uint32_t opt,
                                      uint16_t info, const void *data,
                                      uint32_t len)
{
    g_autofree uint8_t *buf = g_malloc(2 + len);

    stw_be_p(buf, info);
    memcpy(buf + 2, data, len);
    return nbd_send_rep(client, opt, NBD_REP_INFO, buf, 2 + len);
}

/* A cursor over an option's payload. */
typedef struct OptReader {
    const uint8_t *p;
    uint32_t left;
} OptReader;

static bool opt_u16(OptReader *r, uint16_t *v)
{
    if (r->left < 2) {
        return false;
    }
    *v = lduw_be_p(r->p);
    r->p += 2;
    r->left -= 2;
    return true;
}

static bool opt_u32(OptReader *r, uint32_t *v)
{
    if (r->left < 4) {
        return false;
    }
    *v = ldl_be_p(r->p);
    r->p += 4;
    r->left -= 4;
    return true;
}

/* A string of @len bytes, NUL-terminated in a new allocation. */
static bool opt_str(OptReader *r, uint32_t len, char **s)
{
    if (len > r->left || len > NBD_MAX_STRING_SIZE) {
        return false;
    }
    *s = g_strndup((const char *)r->p, len);
    r->p += len;
    r->left -= len;
    return true;
}

/*
 * NBD_OPT_INFO and NBD_OPT_GO.  1 when GO picked an export, 0 to go on
 * negotiating, -errno to drop the client.
 */
static int coroutine_fn nbd_handle_info(NBDClient *client, uint32_t opt,
                                        const uint8_t *data, uint32_t len)
{
    OptReader r = { data, len };
    g_autofree char *name = NULL;
    bool send_name = false, send_desc = false, want_block_size = false;
    uint32_t namelen;
    uint16_t nreq, info;
    NBDExport *exp;
    uint8_t buf[12];
    uint32_t block_min;
    int ret;

    if (!opt_u32(&r, &namelen) || !opt_str(&r, namelen, &name) ||
        !opt_u16(&r, &nreq) || r.left != nreq * 2u) {
        return nbd_send_rep_err(client, opt, NBD_REP_ERR_INVALID,
                                "Invalid length %" PRIu32 " for option %s",
                                len, nbd_opt_name(opt));
    }
    while (opt_u16(&r, &info)) {
        trace_nbd_negotiate_info_request(client, nbd_info_name(info));
        switch (info) {
        case NBD_INFO_NAME:
            send_name = true;
            break;
        case NBD_INFO_DESCRIPTION:
            send_desc = true;
            break;
        case NBD_INFO_BLOCK_SIZE:
            want_block_size = true;
            break;
        default:
            break;
        }
    }

    exp = nbd_export_find(name);
    if (!exp) {
        return nbd_send_rep_err(client, opt, NBD_REP_ERR_UNKNOWN,
                                "export '%s' not present", name);
    }

    if (send_name) {
        ret = nbd_send_info(client, opt, NBD_INFO_NAME, exp->name,
                            strlen(exp->name));
        if (ret < 0) {
            return ret;
        }
    }
    if (send_desc && exp->description) {
        ret = nbd_send_info(client, opt, NBD_INFO_DESCRIPTION,
                            exp->description, strlen(exp->description));
        if (ret < 0) {
            return ret;
        }
    }

    /*
     * Every request size works (the block layer does read-modify-write),
     * so a client that does not ask is told 1; one that asks learns the
     * node's alignment and avoids the extra work.
     */
    block_min = want_block_size ?
        MAX(1u, blk_bs(exp->common.blk)->bl.request_alignment) : 1;
    stl_be_p(buf, block_min);
    stl_be_p(buf + 4, MAX(NBD_PREFERRED_BLOCK_SIZE, block_min));
    stl_be_p(buf + 8, QEMU_ALIGN_DOWN(NBD_MAX_BUFFER_SIZE, block_min));
    ret = nbd_send_info(client, opt, NBD_INFO_BLOCK_SIZE, buf, 12);
    if (ret < 0) {
        return ret;
    }

    stq_be_p(buf, exp->size);
    stw_be_p(buf + 8, nbd_export_flags(client, exp));
    ret = nbd_send_info(client, opt, NBD_INFO_EXPORT, buf, 10);
    if (ret < 0) {
        return ret;
    }
    ret = nbd_send_rep_ack(client, opt);
    if (ret < 0) {
        return ret;
    }
    if (opt == NBD_OPT_GO) {
        client->exp = exp;
        client->block_min = block_min;
        trace_nbd_negotiate_go(client, exp->name, exp->size,
                               nbd_export_flags(client, exp),
                               client->structured);
        return 1;
    }
    return 0;
}

/* NBD_OPT_EXPORT_NAME: 1 with an export, -errno (drop) otherwise. */
static int coroutine_fn nbd_handle_export_name(NBDClient *client,
                                               const uint8_t *data,
                                               uint32_t len)
{
    g_autofree char *name = NULL;
    uint8_t buf[10 + 124] = { 0 };
    NBDExport *exp;
    int ret;

    if (len > NBD_MAX_STRING_SIZE) {
        trace_nbd_bad_input(client, "export name too long");
        return -EINVAL;
    }
    name = g_strndup((const char *)data, len);
    exp = nbd_export_find(name);
    if (!exp) {
        /* The option has no error reply: the spec says disconnect. */
        trace_nbd_negotiate_error(client, "export-name", "unknown export");
        return -ENOENT;
    }
    stq_be_p(buf, exp->size);
    stw_be_p(buf + 8, nbd_export_flags(client, exp));
    ret = co_socket_send(&client->sock, buf,
                         client->no_zeroes ? 10 : sizeof(buf));
    if (ret < 0) {
        return ret;
    }
    client->exp = exp;
    client->block_min = 1;
    trace_nbd_negotiate_go(client, exp->name, exp->size,
                           nbd_export_flags(client, exp), client->structured);
    return 1;
}

/*
 * Match one metadata context query against @exp and select what it
 * names in @meta.  @list allows the namespace-only forms ("base:",
 * "qemu:", "qemu:dirty-bitmap:") that NBD_OPT_LIST_META_CONTEXT takes.
 */
static void nbd_meta_match(NBDExport *exp, NBDMetaContexts *meta,
                           const char *query, bool list)
{
    const char *rest;

    if (g_str_has_prefix(query, "base:")) {
        rest = query + 5;
        if ((list && !*rest) || !strcmp(rest, "allocation")) {
            meta->base_allocation = true;
        }
        return;
    }
    if (!g_str_has_prefix(query, "qemu:")) {
        return;
    }
    rest = query + 5;
    if (list && !*rest) {
        meta->allocation_depth = exp->allocation_depth;
        for (size_t i = 0; i < exp->nr_bitmaps; i++) {
            meta->bitmaps[i] = true;
        }
        return;
    }
    if (!strcmp(rest, "allocation-depth")) {
        meta->allocation_depth = exp->allocation_depth;
        return;
    }
    if (g_str_has_prefix(rest, "dirty-bitmap:")) {
        rest += strlen("dirty-bitmap:");
        for (size_t i = 0; i < exp->nr_bitmaps; i++) {
            if ((list && !*rest) ||
                !strcmp(rest, bdrv_dirty_bitmap_name(exp->bitmaps[i]))) {
                meta->bitmaps[i] = true;
            }
        }
    }
}

static int coroutine_fn nbd_send_meta_context(NBDClient *client,
                                              uint32_t opt, uint32_t id,
                                              const char *name)
{
    size_t len = strlen(name);
    g_autofree uint8_t *buf = g_malloc(4 + len);

    stl_be_p(buf, id);
    memcpy(buf + 4, name, len);
    return nbd_send_rep(client, opt, NBD_REP_META_CONTEXT, buf, 4 + len);
}

/* NBD_OPT_LIST_META_CONTEXT and NBD_OPT_SET_META_CONTEXT. */
static int coroutine_fn nbd_handle_meta_context(NBDClient *client,
                                                uint32_t opt,
                                                const uint8_t *data,
                                                uint32_t len)
{
    bool list = opt == NBD_OPT_LIST_META_CONTEXT;
    OptReader r = { data, len };
    g_autofree char *name = NULL;
    NBDMetaContexts meta = { 0 };
    uint32_t namelen, nqueries;
    NBDExport *exp;
    int ret;

    if (!client->structured) {
        return nbd_send_rep_err(client, opt, NBD_REP_ERR_INVALID,
                                "request option '%s' when structured reply "
                                "is not negotiated", nbd_opt_name(opt));
    }
    if (!opt_u32(&r, &namelen) || !opt_str(&r, namelen, &name) ||
        !opt_u32(&r, &nqueries)) {
        return nbd_send_rep_err(client, opt, NBD_REP_ERR_INVALID,
                                "Invalid length %" PRIu32 " for option %s",
                                len, nbd_opt_name(opt));
    }
    exp = nbd_export_find(name);
    if (!exp) {
        return nbd_send_rep_err(client, opt, NBD_REP_ERR_UNKNOWN,
                                "export '%s' not present", name);
    }
    meta.exp = exp;
    meta.bitmaps = g_new0(bool, exp->nr_bitmaps);

    if (list && nqueries == 0) {
        meta.base_allocation = true;
        nbd_meta_match(exp, &meta, "qemu:", true);
    }
    for (uint32_t i = 0; i < nqueries; i++) {
        g_autofree char *query = NULL;
        uint32_t qlen;

        if (!opt_u32(&r, &qlen) || !opt_str(&r, qlen, &query)) {
            nbd_meta_clear(&meta);
            return nbd_send_rep_err(client, opt, NBD_REP_ERR_INVALID,
                                    "Invalid length %" PRIu32
                                    " for option %s", len,
                                    nbd_opt_name(opt));
        }
        trace_nbd_negotiate_meta_query(client, query);
        nbd_meta_match(exp, &meta, query, list);
    }
    if (r.left) {
        nbd_meta_clear(&meta);
        return nbd_send_rep_err(client, opt, NBD_REP_ERR_INVALID,
                                "Invalid length %" PRIu32 " for option %s",
                                len, nbd_opt_name(opt));
    }

    /* In a fixed order; LIST answers with id 0 as the spec asks. */
    ret = 0;
    if (meta.base_allocation) {
        ret = nbd_send_meta_context(client, opt, list ? 0 :
                                    NBD_META_ID_BASE_ALLOCATION,
                                    NBD_CONTEXT_BASE_ALLOCATION);
        meta.count++;
    }
    if (ret == 0 && meta.allocation_depth) {
        ret = nbd_send_meta_context(client, opt, list ? 0 :
                                    NBD_META_ID_ALLOCATION_DEPTH,
                                    "qemu:allocation-depth");
        meta.count++;
    }
    for (size_t i = 0; ret == 0 && i < exp->nr_bitmaps; i++) {
        g_autofree char *ctx = NULL;

        if (!meta.bitmaps[i]) {
            continue;
        }
        ctx = g_strdup_printf(NBD_CONTEXT_QEMU_DIRTY_BITMAP_PREFIX "%s",
                              bdrv_dirty_bitmap_name(exp->bitmaps[i]));
        ret = nbd_send_meta_context(client, opt,
                                    list ? 0 : NBD_META_ID_DIRTY_BITMAP + i,
                                    ctx);
        meta.count++;
    }
    if (ret == 0) {
        ret = nbd_send_rep_ack(client, opt);
    }
    if (list || ret < 0) {
        nbd_meta_clear(&meta);
    } else {
        nbd_meta_clear(&client->meta);
        client->meta = meta;
    }
    return ret;
}

/* NBD_OPT_LIST: one NBD_REP_SERVER for each export. */
static int coroutine_fn nbd_handle_list(NBDClient *client)
{
    NBDExport *exp;

    QTAILQ_FOREACH(exp, &nbd_exports, next) {
        size_t nlen = strlen(exp->name);
        size_t dlen = exp->description ? strlen(exp->description) : 0;
        g_autofree uint8_t *buf = NULL;
        int ret;

        if (exp->common.shutting_down) {
            continue;
        }
        buf = g_malloc(4 + nlen + dlen);
        stl_be_p(buf, nlen);
        memcpy(buf + 4, exp->name, nlen);
        if (dlen) {
            memcpy(buf + 4 + nlen, exp->description, dlen);
        }
        ret = nbd_send_rep(client, NBD_OPT_LIST, NBD_REP_SERVER, buf,
                           4 + nlen + dlen);
        if (ret < 0) {
            return ret;
        }
    }
    return nbd_send_rep_ack(client, NBD_OPT_LIST);
}

/*
 * The handshake, up to the choice of an export.  0 with client->exp set,
 * or -errno: the client is to be dropped (an abort, a protocol
 * violation, a closed socket).
 */
static int coroutine_fn nbd_negotiate(NBDClient *client)
{
    uint8_t buf[18];
    uint32_t cflags;
    bool fixed;
    int ret;

    stq_be_p(buf, NBD_INIT_MAGIC);
    stq_be_p(buf + 8, NBD_OPTS_MAGIC);
    stw_be_p(buf + 16, NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES);
    ret = co_socket_send(&client->sock, buf, 18);
    if (ret < 0) {
        return ret;
    }
    ret = co_socket_recv(&client->sock, buf, 4, NULL);
    if (ret < 0) {
        return ret;
    }
    cflags = ldl_be_p(buf);
    trace_nbd_negotiate_client_flags(client, cflags);
    if (cflags & ~(NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES)) {
        trace_nbd_bad_input(client, "unknown client flags");
        return -EINVAL;
    }
    fixed = cflags & NBD_FLAG_C_FIXED_NEWSTYLE;
    client->no_zeroes = cflags & NBD_FLAG_C_NO_ZEROES;

    for (;;) {
        g_autofree uint8_t *data = NULL;
        uint32_t opt, len;

        ret = co_socket_recv(&client->sock, buf, 16, NULL);
        if (ret < 0) {
            return ret;
        }
        if (ldq_be_p(buf) != NBD_OPTS_MAGIC) {
            trace_nbd_bad_input(client, "bad option magic");
            return -EINVAL;
        }
        opt = ldl_be_p(buf + 8);
        len = ldl_be_p(buf + 12);
        trace_nbd_negotiate_option(client, opt, nbd_opt_name(opt), len);
        if (len > NBD_MAX_OPTION_SIZE) {
            trace_nbd_bad_input(client, "option too long");
            return -EINVAL;
        }
        data = g_malloc(len ? len : 1);
        ret = co_socket_recv(&client->sock, data, len, NULL);
        if (ret < 0) {
            return ret;
        }
        if (!fixed && opt != NBD_OPT_EXPORT_NAME) {
            /* Without fixed newstyle there is no way to refuse. */
            trace_nbd_bad_input(client, "option without fixed newstyle");
            return -EINVAL;
        }

        switch (opt) {
        case NBD_OPT_EXPORT_NAME:
            ret = nbd_handle_export_name(client, data, len);
            break;
        case NBD_OPT_ABORT:
            /* The client may be gone already: the ack is best effort. */
            nbd_send_rep_ack(client, opt);
            return -ECONNABORTED;
        case NBD_OPT_LIST:
            ret = len ? nbd_send_rep_err(client, opt, NBD_REP_ERR_INVALID,
                                         "no payload expected in option "
                                         "%s", nbd_opt_name(opt))
                      : nbd_handle_list(client);
            break;
        case NBD_OPT_STARTTLS:
            ret = nbd_send_rep_err(client, opt, NBD_REP_ERR_POLICY,
                                   "TLS not configured");
            break;
        case NBD_OPT_STRUCTURED_REPLY:
            if (len) {
                ret = nbd_send_rep_err(client, opt, NBD_REP_ERR_INVALID,
                                       "no payload expected in option %s",
                                       nbd_opt_name(opt));
            } else if (client->structured) {
                ret = nbd_send_rep_err(client, opt, NBD_REP_ERR_INVALID,
                                       "structured reply already "
                                       "negotiated");
            } else {
                client->structured = true;
                ret = nbd_send_rep_ack(client, opt);
            }
            break;
        case NBD_OPT_INFO:
        case NBD_OPT_GO:
            ret = nbd_handle_info(client, opt, data, len);
            break;
        case NBD_OPT_LIST_META_CONTEXT:
        case NBD_OPT_SET_META_CONTEXT:
            ret = nbd_handle_meta_context(client, opt, data, len);
            break;
        default:
            ret = nbd_send_rep_err(client, opt, NBD_REP_ERR_UNSUP,
                                   "Unsupported option %" PRIu32 " (%s)",
                                   opt, nbd_opt_name(opt));
            break;
        }
        if (ret < 0) {
            return ret;
        }
        if (ret == 1) {
            /* Contexts chosen for another export do not carry over. */
            if (client->meta.exp != client->exp) {
                nbd_meta_clear(&client->meta);
            }
            return 0;
        }
    }
}

/* --------------------------------------------------------- transmission */

typedef struct NBDRequestData {
    NBDClient *client;
    NBDRequest req;
    uint8_t *data;                  /* a write's payload, or read buffer */
    /* Set by the reader when the request is refused before any I/O. */
    int early_error;                /* -errno, or 0 */
    const char *early_msg;
} NBDRequestData;

/* A simple reply, with @data (@len bytes) after it on success. */
static int coroutine_fn nbd_send_simple(NBDClient *client, uint64_t cookie,
                                        int err, void *data, uint32_t len)
{
    uint8_t head[NBD_SIMPLE_REPLY_SIZE];
    struct iovec iov[2] = {
        { head, sizeof(head) },
        { data, len },
    };

    nbd_encode_simple_reply(head, err ? nbd_errno_from_system(err) : 0,
                            cookie);
    return co_socket_sendv(&client->sock, iov, err || !len ? 1 : 2);
}

/* One structured chunk: header, then the pieces of @iov (from [1]). */
static int coroutine_fn nbd_send_chunk(NBDClient *client, uint64_t cookie,
                                       uint16_t flags, uint16_t type,
                                       struct iovec *iov, int niov)
{
    uint8_t head[NBD_STRUCTURED_REPLY_SIZE];
    uint32_t len = 0;

    for (int i = 1; i < niov; i++) {
        len += iov[i].iov_len;
    }
    nbd_encode_structured_reply(head, flags, type, cookie, len);
    iov[0].iov_base = head;
    iov[0].iov_len = sizeof(head);
    return co_socket_sendv(&client->sock, iov, niov);
}

static int coroutine_fn nbd_send_structured_error(NBDClient *client,
                                                  uint64_t cookie, int err,
                                                  const char *msg)
{
    uint8_t body[6];
    size_t mlen = msg ? MIN(strlen(msg), NBD_MAX_STRING_SIZE) : 0;
    struct iovec iov[3] = {
        { 0 },
        { body, sizeof(body) },
        { (void *)msg, mlen },
    };

    stl_be_p(body, nbd_errno_from_system(err));
    stw_be_p(body + 4, mlen);
    return nbd_send_chunk(client, cookie, NBD_REPLY_FLAG_DONE,
                          NBD_REPLY_TYPE_ERROR, iov, mlen ? 3 : 2);
}

/* A reply with no data: success or @err (-errno). */
static int coroutine_fn nbd_send_result(NBDClient *client, uint64_t cookie,
                                        int err, const char *msg)
{
    if (err && client->structured) {
        return nbd_send_structured_error(client, cookie, err, msg);
    }
    return nbd_send_simple(client, cookie, err, NULL, 0);
}

/* The extents of one context, for a BLOCK_STATUS reply. */
typedef struct NBDExtents {
    uint8_t *buf;                   /* id, then (length, flags) pairs */
    size_t count;
    size_t max;
    uint64_t covered;
} NBDExtents;

static void nbd_extents_init(NBDExtents *e, uint32_t id, size_t max)
{
    e->max = max;
    e->count = 0;
    e->covered = 0;
    e->buf = g_malloc(4 + 8 * MIN(max, 1024));
    stl_be_p(e->buf, id);
}

/* Add an extent; false once full.  Equal neighbours merge. */
static bool nbd_extents_add(NBDExtents *e, uint64_t len, uint32_t flags)
{
    while (len) {
        uint32_t piece = MIN(len, (uint64_t)UINT32_MAX & ~511ULL);
        /* No pointer before the first extent: that would be undefined. */
        uint8_t *last = e->count ? e->buf + 4 + 8 * (e->count - 1) : NULL;

        if (last && ldl_be_p(last + 4) == flags &&
            (uint64_t)ldl_be_p(last) + piece <= UINT32_MAX) {
            stl_be_p(last, ldl_be_p(last) + piece);
        } else {
            if (e->count == e->max) {
                return false;
            }
            if (e->count >= 1024 && !(e->count & (e->count - 1))) {
                e->buf = g_realloc(e->buf, 4 + 8 * MIN(e->max,
                                                       e->count * 2));
            }
            stl_be_p(e->buf + 4 + 8 * e->count, piece);
            stl_be_p(e->buf + 4 + 8 * e->count + 4, flags);
            e->count++;
        }
        e->covered += piece;
        len -= piece;
    }
    return true;
}

static int coroutine_fn nbd_extents_base(BlockDriverState *bs,
                                         NBDExtents *e, uint64_t offset,
                                         uint64_t bytes, bool depth_ctx)
{
    while (bytes) {
        int64_t pnum;
        int depth = 0;
        uint32_t flags;
        int ret;

        ret = bdrv_co_block_status_above(bs, NULL, !depth_ctx, offset,
                                         bytes, &pnum, NULL, NULL,
                                         depth_ctx ? &depth : NULL);
        if (ret < 0) {
            return ret;
        }
        if (pnum <= 0) {
            return -EIO;
        }
        if (depth_ctx) {
            flags = ret & BDRV_BLOCK_ALLOCATED ? depth : 0;
        } else {
            flags = (ret & BDRV_BLOCK_DATA ? 0 : NBD_STATE_HOLE) |
                    (ret & BDRV_BLOCK_ZERO ? NBD_STATE_ZERO : 0);
        }
        if (!nbd_extents_add(e, pnum, flags)) {
            break;
        }
        offset += pnum;
        bytes -= pnum;
    }
    return 0;
}

static void nbd_extents_bitmap(BdrvDirtyBitmap *bm, NBDExtents *e,
                               uint64_t offset, uint64_t bytes)
{
    uint64_t end = offset + bytes;

    while (offset < end) {
        bool dirty = bdrv_dirty_bitmap_get(bm, offset);
        int64_t next = dirty ?
            bdrv_dirty_bitmap_next_zero(bm, offset, end - offset) :
            bdrv_dirty_bitmap_next_dirty(bm, offset, end - offset);
        uint64_t stop = next < 0 ? end : (uint64_t)next;

        if (!nbd_extents_add(e, stop - offset, dirty ? NBD_STATE_DIRTY : 0)) {
            break;
        }
        offset = stop;
    }
}

static int coroutine_fn nbd_do_block_status(NBDClient *client,
                                            NBDRequest *req)
{
    NBDExport *exp = client->exp;
    NBDMetaContexts *meta = &client->meta;
    size_t max = req->flags & NBD_CMD_FLAG_REQ_ONE ? 1 :
                 NBD_MAX_BLOCK_STATUS_EXTENTS;
    size_t sent = 0;
    BlockDriverState *bs = blk_bs(exp->common.blk);
    int ret = 0;

    /* Computed one context at a time; each chunk goes out when ready. */
    bdrv_ref(bs);
    for (int ctx = 0; ctx < 2 + (int)exp->nr_bitmaps; ctx++) {
        NBDExtents e;
        struct iovec iov[2];
        uint32_t id;

        if (ctx == 0 && meta->base_allocation) {
            id = NBD_META_ID_BASE_ALLOCATION;
        } else if (ctx == 1 && meta->allocation_depth) {
            id = NBD_META_ID_ALLOCATION_DEPTH;
        } else if (ctx >= 2 && meta->bitmaps[ctx - 2]) {
            id = NBD_META_ID_DIRTY_BITMAP + ctx - 2;
        } else {
            continue;
        }
        nbd_extents_init(&e, id, max);
        if (ctx < 2) {
            ret = nbd_extents_base(bs, &e, req->offset, req->len, ctx == 1);
        } else {
            nbd_extents_bitmap(exp->bitmaps[ctx - 2], &e, req->offset,
                               req->len);
        }
        if (ret < 0) {
            g_free(e.buf);
            break;
        }
        sent++;
        iov[1].iov_base = e.buf;
        iov[1].iov_len = 4 + 8 * e.count;
        qemu_co_mutex_lock(&client->send_lock);
        ret = nbd_send_chunk(client, req->cookie,
                             sent == meta->count ? NBD_REPLY_FLAG_DONE : 0,
                             NBD_REPLY_TYPE_BLOCK_STATUS, iov, 2);
        qemu_co_mutex_unlock(&client->send_lock);
        g_free(e.buf);
        if (ret < 0) {
            bdrv_unref(bs);
            return ret;
        }
    }
    bdrv_unref(bs);
    if (ret < 0) {
        /* An error chunk ends the reply, after any chunks sent. */
        qemu_co_mutex_lock(&client->send_lock);
        ret = nbd_send_structured_error(client, req->cookie, ret,
                                        "block status failed");
        qemu_co_mutex_unlock(&client->send_lock);
    }
    return ret;
}

/* NBD_CMD_CACHE: read the range so the layers below keep it warm. */
static int coroutine_fn nbd_do_cache(NBDExport *exp, NBDRequest *req)
{
    BlockBackend *blk = exp->common.blk;
    size_t chunk = MIN(req->len, 1024 * 1024);
    void *buf;
    int ret = 0;

    if (!req->len) {
        return 0;
    }
    buf = qemu_blockalign(blk_bs(blk), chunk);
    for (uint64_t off = 0; off < req->len && ret == 0; off += chunk) {
        uint64_t n = MIN(chunk, req->len - off);
        QEMUIOVector qiov;

        qemu_iovec_init_buf(&qiov, buf, n);
        ret = blk_co_preadv(blk, req->offset + off, n, &qiov, 0);
    }
    qemu_vfree(buf);
    return ret;
}

static int coroutine_fn nbd_do_read(NBDClient *client, NBDRequestData *r)
{
    NBDExport *exp = client->exp;
    NBDRequest *req = &r->req;
    QEMUIOVector qiov;
    int ret;

    r->data = qemu_blockalign(blk_bs(exp->common.blk), MAX(req->len, 1));
    qemu_iovec_init_buf(&qiov, r->data, req->len);
    ret = req->len ? blk_co_preadv(exp->common.blk, req->offset, req->len,
                                   &qiov, 0) : 0;

    qemu_co_mutex_lock(&client->send_lock);
    if (!client->structured) {
        ret = nbd_send_simple(client, req->cookie, ret, r->data, req->len);
    } else if (ret < 0) {
        ret = nbd_send_structured_error(client, req->cookie, ret,
                                        "reading from file failed");
    } else if (!req->len) {
        struct iovec iov[1];
        ret = nbd_send_chunk(client, req->cookie, NBD_REPLY_FLAG_DONE,
                             NBD_REPLY_TYPE_NONE, iov, 1);
    } else {
        uint8_t off[8];
        struct iovec iov[3] = {
            { 0 },
            { off, 8 },
            { r->data, req->len },
        };

        stq_be_p(off, req->offset);
        ret = nbd_send_chunk(client, req->cookie, NBD_REPLY_FLAG_DONE,
                             NBD_REPLY_TYPE_OFFSET_DATA, iov, 3);
    }
    qemu_co_mutex_unlock(&client->send_lock);
    return ret;
}

/* Everything but reads and block status: a result without data. */
static int coroutine_fn nbd_do_other(NBDClient *client, NBDRequest *req,
                                     uint8_t *data)
{
    NBDExport *exp = client->exp;
    BlockBackend *blk = exp->common.blk;
    bool fua = (req->flags & NBD_CMD_FLAG_FUA) || exp->writethrough;
    BdrvRequestFlags flags = fua ? BDRV_REQ_FUA : 0;
    const char *msg = NULL;
    QEMUIOVector qiov;
    int ret;

    switch (req->type) {
    case NBD_CMD_WRITE:
        qemu_iovec_init_buf(&qiov, data, req->len);
        ret = req->len ? blk_co_pwritev(blk, req->offset, req->len, &qiov,
                                        flags) : 0;
        msg = "writing to file failed";
        break;
    case NBD_CMD_WRITE_ZEROES:
        if (!(req->flags & NBD_CMD_FLAG_NO_HOLE)) {
            flags |= BDRV_REQ_MAY_UNMAP;
        }
        if (req->flags & NBD_CMD_FLAG_FAST_ZERO) {
            flags |= BDRV_REQ_NO_FALLBACK;
        }
        ret = req->len ? blk_co_pwrite_zeroes(blk, req->offset, req->len,
                                              flags) : 0;
        msg = "writing to file failed";
        break;
    case NBD_CMD_TRIM:
        ret = req->len ? blk_co_pdiscard(blk, req->offset, req->len) : 0;
        if (ret == 0 && fua) {
            ret = blk_co_flush(blk);
        }
        msg = "discard failed";
        break;
    case NBD_CMD_FLUSH:
        ret = blk_co_flush(blk);
        msg = "flush failed";
        break;
    case NBD_CMD_CACHE:
        ret = nbd_do_cache(exp, req);
        msg = "flush failed";
        break;
    default:
        g_assert_not_reached();
    }

    qemu_co_mutex_lock(&client->send_lock);
    ret = nbd_send_result(client, req->cookie, ret, msg);
    qemu_co_mutex_unlock(&client->send_lock);
    return ret;
}

static void coroutine_fn nbd_request_co(void *opaque)
{
    NBDRequestData *r = opaque;
    NBDClient *client = r->client;
    NBDRequest *req = &r->req;
    int ret;

    if (r->early_error) {
        qemu_co_mutex_lock(&client->send_lock);
        ret = nbd_send_result(client, req->cookie, r->early_error,
                              r->early_msg);
        qemu_co_mutex_unlock(&client->send_lock);
    } else if (req->type == NBD_CMD_READ) {
        ret = nbd_do_read(client, r);
    } else if (req->type == NBD_CMD_BLOCK_STATUS) {
        ret = nbd_do_block_status(client, req);
    } else {
        ret = nbd_do_other(client, req, r->data);
    }
    trace_nbd_request_done(client, req->cookie, nbd_cmd_name(req->type),
                           ret);
    if (ret < 0) {
        /* The reply did not get out whole: the stream is lost. */
        nbd_client_close(client);
    }
    qemu_vfree(r->data);
    g_free(r);

    client->nb_requests--;
    if (client->reader_waits) {
        client->reader_waits = false;
        aio_co_wake(client->reader);
    }
}

/* Which flags each command takes (FUA is accepted on every one). */
static uint16_t nbd_valid_flags(NBDClient *client, uint16_t type)
{
    uint16_t valid = NBD_CMD_FLAG_FUA;

    switch (type) {
    case NBD_CMD_READ:
        if (client->structured) {
            valid |= NBD_CMD_FLAG_DF;
        }
        break;
    case NBD_CMD_WRITE_ZEROES:
        valid |= NBD_CMD_FLAG_NO_HOLE | NBD_CMD_FLAG_FAST_ZERO;
        break;
    case NBD_CMD_BLOCK_STATUS:
        valid |= NBD_CMD_FLAG_REQ_ONE;
        break;
    }
    return valid;
}

static void nbd_refuse(NBDRequestData *r, int err, const char *msg)
{
    if (!r->early_error) {
        trace_nbd_bad_input(r->client, msg);
        r->early_error = err;
        r->early_msg = msg;
    }
}

/*
 * Read one request and whatever payload it carries.  0 with *@out to
 * run (perhaps refused, with the error to send); 1 for NBD_CMD_DISC;
 * -errno when the connection is to end.
 */
static int coroutine_fn nbd_receive_request(NBDClient *client,
                                            NBDRequestData **out)
{
    NBDExport *exp = client->exp;
    uint8_t buf[NBD_REQUEST_SIZE];
    g_autofree NBDRequestData *r = g_new0(NBDRequestData, 1);
    NBDRequest *req = &r->req;
    int ret;

    ret = co_socket_recv(&client->sock, buf, sizeof(buf), NULL);
    if (ret < 0) {
        return ret;
    }
    if (!nbd_decode_request(buf, req)) {
        trace_nbd_bad_input(client, "bad request magic");
        return -EINVAL;
    }
    r->client = client;
    trace_nbd_request(client, req->cookie, nbd_cmd_name(req->type),
                      req->flags, req->offset, req->len);

    if (req->type == NBD_CMD_DISC) {
        return 1;
    }
    if (req->type == NBD_CMD_WRITE) {
        /* The payload must be read whatever happens, or the stream is lost. */
        if (req->len > NBD_MAX_BUFFER_SIZE) {
            trace_nbd_bad_input(client, "write larger than the maximum");
            return -EINVAL;
        }
        r->data = qemu_blockalign(blk_bs(exp->common.blk),
                                  MAX(req->len, 1));
        ret = co_socket_recv(&client->sock, r->data, req->len, NULL);
        if (ret < 0) {
            qemu_vfree(r->data);
            return ret;
        }
    }

    switch (req->type) {
    case NBD_CMD_READ:
    case NBD_CMD_WRITE:
    case NBD_CMD_FLUSH:
    case NBD_CMD_TRIM:
    case NBD_CMD_CACHE:
    case NBD_CMD_WRITE_ZEROES:
    case NBD_CMD_BLOCK_STATUS:
        break;
    default:
        nbd_refuse(r, -EINVAL, "invalid request type");
        goto out;
    }
    if (req->flags & ~nbd_valid_flags(client, req->type)) {
        nbd_refuse(r, -EINVAL, "unsupported flags for command");
    }
    if ((req->type == NBD_CMD_READ || req->type == NBD_CMD_CACHE) &&
        req->len > NBD_MAX_BUFFER_SIZE) {
        nbd_refuse(r, -EINVAL, "request length larger than the maximum");
    }
    if (!exp->writable &&
        (req->type == NBD_CMD_WRITE || req->type == NBD_CMD_TRIM ||
         req->type == NBD_CMD_WRITE_ZEROES)) {
        /* qemu-storage-daemon 7.2 answers EINVAL here, not EPERM. */
        nbd_refuse(r, -EINVAL, "export is read-only");
    }
    if (req->type != NBD_CMD_FLUSH &&
        (req->offset > (uint64_t)exp->size ||
         req->len > (uint64_t)exp->size - req->offset)) {
        /* EINVAL for writes too, as qemu-storage-daemon answers. */
        nbd_refuse(r, -EINVAL, "operation past EOF");
    }
    if (req->type == NBD_CMD_BLOCK_STATUS) {
        if (!client->meta.count) {
            nbd_refuse(r, -EINVAL, "no metadata contexts negotiated");
        } else if (!req->len) {
            nbd_refuse(r, -EINVAL, "block status of zero length");
        }
    }
out:
    *out = g_steal_pointer(&r);
    return 0;
}

/*
 * The last of a client, once its reader and every request have ended:
 * from a bottom half, outside the coroutines that used the socket.
 */
static void nbd_client_free_bh(void *opaque)
{
    NBDClient *client = opaque;
    NBDExport *exp = client->exp;

    trace_nbd_client_free(client);
    co_socket_close(&client->sock);
    nbd_meta_clear(&client->meta);
    if (exp) {
        QTAILQ_REMOVE(&exp->clients, client, exp_next);
    }
    QTAILQ_REMOVE(&nbd_server->clients, client, next);
    nbd_server->nb_clients--;
    g_free(client->peer);
    if (client->close_fn) {
        client->close_fn(client->close_opaque);
    }
    g_free(client);
    if (exp) {
        blk_exp_unref(&exp->common);
    }
    nbd_server_update_accepting();
    aio_wait_kick();
}

/* A client's life: the handshake, then requests until it ends. */
static void coroutine_fn nbd_client_co(void *opaque)
{
    NBDClient *client = opaque;
    int ret;

    ret = nbd_negotiate(client);
    if (ret == 0 && client->closing) {
        /* The export went away while the reply to GO was going out. */
        ret = -ESHUTDOWN;
    }
    if (ret < 0) {
        trace_nbd_negotiate_end(client, ret);
        client->exp = NULL;
    } else {
        QTAILQ_INSERT_TAIL(&client->exp->clients, client, exp_next);
        blk_exp_ref(&client->exp->common);
    }

    while (ret == 0 && !client->closing) {
        NBDRequestData *r = NULL;

        if (client->nb_requests >= NBD_MAX_REQUESTS) {
            client->reader_waits = true;
            qemu_coroutine_yield();
            continue;
        }
        ret = nbd_receive_request(client, &r);
        if (ret != 0 || client->closing) {
            if (r) {
                qemu_vfree(r->data);
                g_free(r);
            }
            break;
        }
        client->nb_requests++;
        qemu_coroutine_enter(qemu_coroutine_create(nbd_request_co, r));
    }

    /* Let the requests in flight finish; their replies may still go. */
    while (client->nb_requests) {
        client->reader_waits = true;
        qemu_coroutine_yield();
    }
    nbd_client_close(client);
    aio_bh_schedule_oneshot(qemu_get_aio_context(), nbd_client_free_bh,
                            client);
}

/* ----------------------------------------------------------------- server */

/* Serve the connected @fd (owned from now on) as a new client. */
static void nbd_client_new(int fd, void (*close_fn)(void *opaque),
                           void *opaque)
{
    NBDClient *client = g_new0(NBDClient, 1);

    client->peer = g_strdup_printf("fd%d", fd);
    client->close_fn = close_fn;
    client->close_opaque = opaque;
    co_socket_init(&client->sock, fd, qemu_get_aio_context());
    qemu_co_mutex_init(&client->send_lock);
    QTAILQ_INSERT_TAIL(&nbd_server->clients, client, next);
    nbd_server->nb_clients++;
    trace_nbd_server_accept(client, nbd_server->nb_clients);
    client->reader = qemu_coroutine_create(nbd_client_co, client);
    nbd_server_update_accepting();
    qemu_coroutine_enter(client->reader);
}

bool nbd_server_add_client_fd(int fd, void (*close_fn)(void *opaque),
                              void *opaque, Error **errp)
{
    GLOBAL_STATE_CODE();
    if (!nbd_server) {
        error_setg(errp, "NBD server not running");
        return false;
    }
    nbd_client_new(fd, close_fn, opaque);
    return true;
}

static void nbd_accept(void *opaque)
{
    for (;;) {
        struct sockaddr_storage ss;
        socklen_t sslen = sizeof(ss);
        int fd;

        if (!nbd_server->accepting) {
            return;
        }
        fd = accept4(nbd_server->listen_fd, (struct sockaddr *)&ss, &sslen,
                     SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                trace_nbd_server_accept_error(errno);
            }
            return;
        }
        if (ss.ss_family == AF_INET || ss.ss_family == AF_INET6) {
            int one = 1;
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        }
        nbd_client_new(fd, NULL, NULL);
    }
}

/* Listen while there is room under max-connections. */
static void nbd_server_update_accepting(void)
{
    bool want;

    if (!nbd_server || nbd_server->listen_fd < 0) {
        return;
    }
    want = !nbd_server->max_connections ||
           nbd_server->nb_clients < (int)nbd_server->max_connections;
    if (want == nbd_server->accepting) {
        return;
    }
    nbd_server->accepting = want;
    aio_set_fd_handler(qemu_get_aio_context(), nbd_server->listen_fd,
                       want ? nbd_accept : NULL, NULL, NULL);
}

static bool nbd_server_start(SocketAddress *addr, const char *tls_creds,
                             const char *tls_authz, uint32_t max_connections,
                             Error **errp)
{
    g_autofree char *desc = NULL;
    int fd;

    if (nbd_server) {
        error_setg(errp, "NBD server already running");
        return false;
    }
    if (tls_creds) {
        /* qblock has no objects, so no credentials can be named. */
        error_setg(errp, "No TLS credentials with id '%s'", tls_creds);
        return false;
    }
    if (tls_authz) {
        error_setg(errp, "'tls-authz' is only supported with 'tls-creds'");
        return false;
    }
    fd = socket_address_listen(addr, SOMAXCONN, errp);
    if (fd < 0) {
        return false;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    nbd_server = g_new0(NBDServer, 1);
    nbd_server->listen_fd = fd;
    nbd_server->max_connections = max_connections;
    QTAILQ_INIT(&nbd_server->clients);
    if (addr->type == SOCKET_ADDRESS_TYPE_UNIX) {
        nbd_server->unix_path = g_strdup(addr->u.q_unix.path);
    }
    desc = socket_address_to_string(addr);
    trace_nbd_server_start(desc, max_connections);
    nbd_server_update_accepting();
    return true;
}

bool nbd_server_start_options(NbdServerOptions *arg, Error **errp)
{
    return nbd_server_start(arg->addr, arg->tls_creds, arg->tls_authz,
                            arg->has_max_connections ?
                            arg->max_connections : 0, errp);
}

bool nbd_server_is_running(void)
{
    return nbd_server != NULL;
}

void nbd_server_stop(void)
{
    NBDClient *client;

    if (!nbd_server) {
        return;
    }
    trace_nbd_server_stop(nbd_server->nb_clients);
    blk_exp_close_all_type(BLOCK_EXPORT_TYPE_NBD);
    /* Clients still in the handshake have no export to end them. */
    QTAILQ_FOREACH(client, &nbd_server->clients, next) {
        nbd_client_close(client);
    }
    AIO_WAIT_WHILE(qemu_get_aio_context(), nbd_server->nb_clients > 0);
    if (nbd_server->accepting) {
        aio_set_fd_handler(qemu_get_aio_context(), nbd_server->listen_fd,
                           NULL, NULL, NULL);
    }
    close(nbd_server->listen_fd);
    if (nbd_server->unix_path) {
        unlink(nbd_server->unix_path);
    }
    g_free(nbd_server->unix_path);
    g_free(nbd_server);
    nbd_server = NULL;
}

/* ------------------------------------------------------ the export driver */

/* @name on @bs or on a node of its backing chain. */
static BdrvDirtyBitmap *nbd_find_bitmap(BlockDriverState *bs,
                                        const char *name)
{
    for (; bs; bs = bdrv_cow_bs(bs)) {
        BdrvDirtyBitmap *bm = bdrv_find_dirty_bitmap(bs, name);
        if (bm) {
            return bm;
        }
    }
    return NULL;
}

static bool nbd_export_create(BlockExport *blk_exp, BlockExportOptions *opts,
                              Error **errp)
{
    NBDExport *exp = container_of(blk_exp, NBDExport, common);
    BlockExportOptionsNbd *nbd = &opts->u.nbd;
    BlockDriverState *bs = blk_bs(blk_exp->blk);
    const char *name = nbd->name ? nbd->name : opts->node_name;
    size_t nr = 0;
    int64_t size;

    if (!nbd_server) {
        error_setg(errp, "NBD server not running");
        return false;
    }
    if (strlen(name) > NBD_MAX_STRING_SIZE) {
        error_setg(errp, "export name '%s' too long", name);
        return false;
    }
    if (nbd->description &&
        strlen(nbd->description) > NBD_MAX_STRING_SIZE) {
        error_setg(errp, "description '%s' too long", nbd->description);
        return false;
    }
    if (nbd_export_find(name)) {
        error_setg(errp, "NBD server already has export named '%s'", name);
        return false;
    }
    size = blk_getlength(blk_exp->blk);
    if (size < 0) {
        error_setg_errno(errp, -size,
                         "Failed to determine the NBD export's length");
        return false;
    }

    exp->writable = opts->has_writable && opts->writable;
    exp->writethrough = opts->has_writethrough && opts->writethrough;
    for (BlockDirtyBitmapOrStrList *l = nbd->bitmaps; l; l = l->next) {
        nr++;
    }
    exp->bitmaps = g_new0(BdrvDirtyBitmap *, nr ? nr : 1);
    for (BlockDirtyBitmapOrStrList *l = nbd->bitmaps; l; l = l->next) {
        BlockDirtyBitmapOrStr *b = l->value;
        const char *bname;
        BdrvDirtyBitmap *bm;

        if (b->type == QTYPE_QSTRING) {
            bname = b->u.local;
            bm = nbd_find_bitmap(bs, bname);
        } else {
            BlockDriverState *node = bdrv_find_node(b->u.external.node);

            bname = b->u.external.name;
            if (!node) {
                error_setg(errp, "Node '%s' not found", b->u.external.node);
                goto fail;
            }
            bm = bdrv_find_dirty_bitmap(node, bname);
        }
        if (!bm) {
            error_setg(errp, "Bitmap '%s' is not found", bname);
            goto fail;
        }
        if (!bdrv_dirty_bitmap_check(bm, errp)) {
            goto fail;
        }
        if (!exp->writable && bdrv_dirty_bitmap_enabled(bm)) {
            error_setg(errp, "Enabled bitmap '%s' incompatible with "
                       "readonly export", bname);
            goto fail;
        }
        for (size_t i = 0; i < exp->nr_bitmaps; i++) {
            if (exp->bitmaps[i] == bm) {
                error_setg(errp, "Bitmap '%s' is listed more than once",
                           bname);
                goto fail;
            }
        }
        exp->bitmaps[exp->nr_bitmaps++] = bm;
    }
    for (size_t i = 0; i < exp->nr_bitmaps; i++) {
        bdrv_dirty_bitmap_set_busy(exp->bitmaps[i], true);
    }

    exp->name = g_strdup(name);
    exp->description = g_strdup(nbd->description);
    exp->size = size;
    exp->allocation_depth = nbd->has_allocation_depth &&
                            nbd->allocation_depth;
    /* What qemu-storage-daemon 7.2 advertises (nbdinfo shows it). */
    exp->nbdflags = NBD_FLAG_HAS_FLAGS | NBD_FLAG_SEND_FLUSH |
                    NBD_FLAG_SEND_FUA | NBD_FLAG_SEND_CACHE |
                    NBD_FLAG_CAN_MULTI_CONN;
    if (exp->writable) {
        exp->nbdflags |= NBD_FLAG_SEND_TRIM | NBD_FLAG_SEND_WRITE_ZEROES |
                         NBD_FLAG_SEND_FAST_ZERO;
    } else {
        exp->nbdflags |= NBD_FLAG_READ_ONLY;
    }
    QTAILQ_INIT(&exp->clients);
    QTAILQ_INSERT_TAIL(&nbd_exports, exp, next);
    trace_nbd_export_create(exp, exp->name, exp->size, exp->nbdflags);
    return true;

fail:
    g_free(exp->bitmaps);
    exp->bitmaps = NULL;
    exp->nr_bitmaps = 0;
    return false;
}

static bool nbd_export_has_clients(BlockExport *blk_exp)
{
    NBDExport *exp = container_of(blk_exp, NBDExport, common);

    return !QTAILQ_EMPTY(&exp->clients);
}

static void nbd_export_request_shutdown(BlockExport *blk_exp)
{
    NBDExport *exp = container_of(blk_exp, NBDExport, common);
    NBDClient *client;

    QTAILQ_FOREACH(client, &exp->clients, exp_next) {
        nbd_client_close(client);
    }
}

static void nbd_export_delete(BlockExport *blk_exp)
{
    NBDExport *exp = container_of(blk_exp, NBDExport, common);

    assert(QTAILQ_EMPTY(&exp->clients));
    for (size_t i = 0; i < exp->nr_bitmaps; i++) {
        bdrv_dirty_bitmap_set_busy(exp->bitmaps[i], false);
    }
    QTAILQ_REMOVE(&nbd_exports, exp, next);
    g_free(exp->bitmaps);
    g_free(exp->name);
    g_free(exp->description);
}

const BlockExportDriver blk_exp_nbd = {
    .type               = BLOCK_EXPORT_TYPE_NBD,
    .instance_size      = sizeof(NBDExport),
    .create             = nbd_export_create,
    .has_clients        = nbd_export_has_clients,
    .request_shutdown   = nbd_export_request_shutdown,
    .delete             = nbd_export_delete,
};

/* --------------------------------------------------------------------- QMP */

bool qmp_nbd_server_start(SocketAddressLegacy *addr, const char *tls_creds,
                          const char *tls_authz, bool has_max_connections,
                          uint32_t max_connections, Error **errp)
{
    g_autoptr(SocketAddress) flat = socket_address_from_legacy(addr);

    return nbd_server_start(flat, tls_creds, tls_authz,
                            has_max_connections ? max_connections : 0, errp);
}

bool qmp_nbd_server_stop(Error **errp)
{
    if (!nbd_server) {
        error_setg(errp, "NBD server not running");
        return false;
    }
    nbd_server_stop();
    return true;
}

bool qmp_nbd_server_add(NbdServerAddOptions *arg, Error **errp)
{
    BlockExportOptions opts = { 0 };
    BlockDirtyBitmapOrStr bitmap = { .type = QTYPE_QSTRING };
    BlockDirtyBitmapOrStrList bitmaps = { .value = &bitmap };
    BlockDriverState *bs;

    /* The older command takes a device name too; the export needs a node. */
    bs = bdrv_lookup_bs(arg->device, arg->device, errp);
    if (!bs) {
        return false;
    }
    if (!nbd_server) {
        error_setg(errp, "NBD server not running");
        return false;
    }
    opts.type = BLOCK_EXPORT_TYPE_NBD;
    opts.id = arg->name ? arg->name : arg->device;
    opts.node_name = (char *)bdrv_get_node_name(bs);
    opts.has_writable = arg->has_writable;
    opts.writable = arg->writable;
    opts.u.nbd.name = arg->name ? arg->name : arg->device;
    opts.u.nbd.description = arg->description;
    if (arg->bitmap) {
        bitmap.u.local = arg->bitmap;
        opts.u.nbd.bitmaps = &bitmaps;
    }
    return blk_exp_add(&opts, errp) != NULL;
}

bool qmp_nbd_server_remove(const char *name, bool has_mode,
                           BlockExportRemoveMode mode, Error **errp)
{
    BlockExport *exp = blk_exp_find(name);

    if (exp && exp->drv->type != BLOCK_EXPORT_TYPE_NBD) {
        error_setg(errp, "Block export '%s' is not an NBD export", name);
        return false;
    }
    return qmp_block_export_del(name, has_mode, mode, errp);
}
