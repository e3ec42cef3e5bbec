/*
 * nbd.h: the NBD protocol as qblock speaks it, server and client alike.
 *
 * The wire format is the NBD project's doc/proto.md: every number is
 * big-endian; a connection starts with the fixed-newstyle handshake
 * (server greeting, client flags, then options until NBD_OPT_GO or
 * NBD_OPT_EXPORT_NAME picks an export) and then carries requests and
 * replies ("transmission").  This header holds the constants of that
 * format, the fixed-size headers with their encoders and decoders, the
 * errno mapping and the names used in trace events and messages, so that
 * nbd/server.c and block/nbd.c read the same facts.
 *
 * A request (28 bytes):   magic u32 | flags u16 | type u16 | cookie u64 |
 *                         offset u64 | length u32   [+ length bytes: WRITE]
 * A simple reply (16):    magic u32 | error u32 | cookie u64
 *                         [+ length bytes: a READ that succeeded]
 * A structured chunk (20): magic u32 | flags u16 | type u16 | cookie u64 |
 *                         length u32   [+ length bytes of payload]
 *
 * Worked example: the client reads 4 KiB at 1 MiB with cookie 7:
 *   25 60 95 13  00 00  00 00  00..07  00 00 00 00 00 10 00 00  00 00 10 00
 * and a server that negotiated structured replies answers with one
 * NBD_REPLY_TYPE_OFFSET_DATA chunk flagged DONE: 68 8e 33 ef 00 01 00 01
 * 00..07 00 00 10 08, then the offset (8 bytes) and the 4096 data bytes.
 */
#ifndef QBLOCK_BLOCK_NBD_H
#define QBLOCK_BLOCK_NBD_H

#include "qapi/error.h"
#include "qapi/qapi-types.h"

/* --------------------------------------------------------- handshake */

#define NBD_INIT_MAGIC              0x4e42444d41474943ULL   /* "NBDMAGIC" */
#define NBD_OPTS_MAGIC              0x49484156454F5054ULL   /* "IHAVEOPT" */
#define NBD_CLIENT_MAGIC            0x0000420281861253ULL   /* oldstyle */
#define NBD_REP_MAGIC               0x0003e889045565a9ULL

#define NBD_DEFAULT_PORT            10809

/* Handshake flags, sent by the server after the magics (16 bits). */
#define NBD_FLAG_FIXED_NEWSTYLE     (1 << 0)
#define NBD_FLAG_NO_ZEROES          (1 << 1)

/* Client flags, the client's answer (32 bits). */
#define NBD_FLAG_C_FIXED_NEWSTYLE   (1 << 0)
#define NBD_FLAG_C_NO_ZEROES        (1 << 1)

/* Options. */
#define NBD_OPT_EXPORT_NAME         1
#define NBD_OPT_ABORT               2
#define NBD_OPT_LIST                3
#define NBD_OPT_PEEK_EXPORT         4       /* withdrawn */
#define NBD_OPT_STARTTLS            5
#define NBD_OPT_INFO                6
#define NBD_OPT_GO                  7
#define NBD_OPT_STRUCTURED_REPLY    8
#define NBD_OPT_LIST_META_CONTEXT   9
#define NBD_OPT_SET_META_CONTEXT    10
#define NBD_OPT_EXTENDED_HEADERS    11

/* Option replies; the error ones have bit 31 set. */
#define NBD_REP_ACK                 1
#define NBD_REP_SERVER              2
#define NBD_REP_INFO                3
#define NBD_REP_META_CONTEXT        4

#define NBD_REP_FLAG_ERROR          (1U << 31)
#define NBD_REP_ERR(v)              (NBD_REP_FLAG_ERROR | (v))
#define NBD_REP_ERR_UNSUP           NBD_REP_ERR(1)
#define NBD_REP_ERR_POLICY          NBD_REP_ERR(2)
#define NBD_REP_ERR_INVALID         NBD_REP_ERR(3)
#define NBD_REP_ERR_PLATFORM        NBD_REP_ERR(4)
#define NBD_REP_ERR_TLS_REQD        NBD_REP_ERR(5)
#define NBD_REP_ERR_UNKNOWN         NBD_REP_ERR(6)
#define NBD_REP_ERR_SHUTDOWN        NBD_REP_ERR(7)
#define NBD_REP_ERR_BLOCK_SIZE_REQD NBD_REP_ERR(8)
#define NBD_REP_ERR_TOO_BIG         NBD_REP_ERR(9)
#define NBD_REP_ERR_EXT_HEADER_REQD NBD_REP_ERR(10)

/* Information types of NBD_OPT_INFO / NBD_OPT_GO (16 bits). */
#define NBD_INFO_EXPORT             0
#define NBD_INFO_NAME               1
#define NBD_INFO_DESCRIPTION        2
#define NBD_INFO_BLOCK_SIZE         3

/* Transmission flags, sent with the export size (16 bits). */
#define NBD_FLAG_HAS_FLAGS          (1 << 0)
#define NBD_FLAG_READ_ONLY          (1 << 1)
#define NBD_FLAG_SEND_FLUSH         (1 << 2)
#define NBD_FLAG_SEND_FUA           (1 << 3)
#define NBD_FLAG_ROTATIONAL         (1 << 4)
#define NBD_FLAG_SEND_TRIM          (1 << 5)
#define NBD_FLAG_SEND_WRITE_ZEROES  (1 << 6)
#define NBD_FLAG_SEND_DF            (1 << 7)
#define NBD_FLAG_CAN_MULTI_CONN     (1 << 8)
#define NBD_FLAG_SEND_RESIZE        (1 << 9)
#define NBD_FLAG_SEND_CACHE         (1 << 10)
#define NBD_FLAG_SEND_FAST_ZERO     (1 << 11)

/* ------------------------------------------------------ transmission */

#define NBD_REQUEST_MAGIC           0x25609513
#define NBD_SIMPLE_REPLY_MAGIC      0x67446698
#define NBD_STRUCTURED_REPLY_MAGIC  0x668e33ef

#define NBD_REQUEST_SIZE            28
#define NBD_SIMPLE_REPLY_SIZE       16
#define NBD_STRUCTURED_REPLY_SIZE   20

/* Commands. */
#define NBD_CMD_READ                0
#define NBD_CMD_WRITE               1
#define NBD_CMD_DISC                2
#define NBD_CMD_FLUSH               3
#define NBD_CMD_TRIM                4
#define NBD_CMD_CACHE               5
#define NBD_CMD_WRITE_ZEROES        6
#define NBD_CMD_BLOCK_STATUS        7
#define NBD_CMD_RESIZE              8

/* Command flags. */
#define NBD_CMD_FLAG_FUA            (1 << 0)
#define NBD_CMD_FLAG_NO_HOLE        (1 << 1)
#define NBD_CMD_FLAG_DF             (1 << 2)
#define NBD_CMD_FLAG_REQ_ONE        (1 << 3)
#define NBD_CMD_FLAG_FAST_ZERO      (1 << 4)

/* Structured reply chunks: flags, then types (error types have bit 15). */
#define NBD_REPLY_FLAG_DONE         (1 << 0)

#define NBD_REPLY_TYPE_NONE         0
#define NBD_REPLY_TYPE_OFFSET_DATA  1
#define NBD_REPLY_TYPE_OFFSET_HOLE  2
#define NBD_REPLY_TYPE_BLOCK_STATUS 5
#define NBD_REPLY_ERR(v)            ((1 << 15) | (v))
#define NBD_REPLY_TYPE_ERROR        NBD_REPLY_ERR(1)
#define NBD_REPLY_TYPE_ERROR_OFFSET NBD_REPLY_ERR(2)

#define nbd_reply_type_is_error(t)  (((t) & (1 << 15)) != 0)

/* Error values on the wire (not the host's errno numbers). */
#define NBD_SUCCESS                 0
#define NBD_EPERM                   1
#define NBD_EIO                     5
#define NBD_ENOMEM                  12
#define NBD_EINVAL                  22
#define NBD_ENOSPC                  28
#define NBD_EOVERFLOW               75
#define NBD_ENOTSUP                 95
#define NBD_ESHUTDOWN               108

/* Metadata contexts. */
#define NBD_META_ID_BASE_ALLOCATION 0
#define NBD_CONTEXT_BASE_ALLOCATION "base:allocation"
#define NBD_CONTEXT_QEMU_DIRTY_BITMAP_PREFIX "qemu:dirty-bitmap:"

/* Flags of a base:allocation extent. */
#define NBD_STATE_HOLE              (1 << 0)
#define NBD_STATE_ZERO              (1 << 1)
/* Flag of a qemu:dirty-bitmap:NAME extent. */
#define NBD_STATE_DIRTY             (1 << 0)

/* ------------------------------------------------------------ limits */

/* Longest string (export name, description, error text) accepted. */
#define NBD_MAX_STRING_SIZE         4096
/*
 * Largest payload of one request or reply, as QEMU's: a peer that asks
 * for more is refused (server) or the connection is dropped (client).
 */
#define NBD_MAX_BUFFER_SIZE         (32 * 1024 * 1024)
/* Largest option payload a server reads before it refuses the option. */
#define NBD_MAX_OPTION_SIZE         (64 * 1024)

/* --------------------------------------------------- fixed headers */

/* A transmission request, host byte order. */
typedef struct NBDRequest {
    uint16_t flags;             /* NBD_CMD_FLAG_* */
    uint16_t type;              /* NBD_CMD_* */
    uint64_t cookie;            /* the client's tag, echoed in the reply */
    uint64_t offset;
    uint32_t len;
} NBDRequest;

/* The common head of a simple reply and a structured chunk. */
typedef struct NBDReply {
    uint32_t magic;             /* which of the two it is */
    uint64_t cookie;
    /* Simple reply. */
    uint32_t error;             /* NBD_E*, not errno */
    /* Structured chunk. */
    uint16_t flags;             /* NBD_REPLY_FLAG_* */
    uint16_t type;              /* NBD_REPLY_TYPE_* */
    uint32_t length;            /* payload bytes that follow */
} NBDReply;

void nbd_encode_request(uint8_t buf[NBD_REQUEST_SIZE], const NBDRequest *req);
/* Decode a request; false if its magic is wrong. */
bool nbd_decode_request(const uint8_t buf[NBD_REQUEST_SIZE], NBDRequest *req);

void nbd_encode_simple_reply(uint8_t buf[NBD_SIMPLE_REPLY_SIZE],
                             uint32_t nbd_error, uint64_t cookie);
void nbd_encode_structured_reply(uint8_t buf[NBD_STRUCTURED_REPLY_SIZE],
                                 uint16_t flags, uint16_t type,
                                 uint64_t cookie, uint32_t length);
/*
 * Decode the first 4 bytes of a reply to learn its size: returns
 * NBD_SIMPLE_REPLY_SIZE or NBD_STRUCTURED_REPLY_SIZE, or 0 for a bad
 * magic.  Then decode the whole header with nbd_decode_reply().
 */
size_t nbd_reply_header_size(const uint8_t magic[4]);
void nbd_decode_reply(const uint8_t *buf, NBDReply *reply);

/* -------------------------------------------------- errors, names */

/* The wire error for a host -errno or errno; unknown ones become EINVAL. */
uint32_t nbd_errno_from_system(int err);
/* The host errno (positive) for a wire error; unknown ones become EINVAL. */
int nbd_errno_to_system(uint32_t nbd_err);

/* Names for traces and messages ("NBD_OPT_GO" -> "go"); never NULL. */
const char *nbd_opt_name(uint32_t opt);
const char *nbd_rep_name(uint32_t rep);
const char *nbd_info_name(uint16_t info);
const char *nbd_cmd_name(uint16_t cmd);
const char *nbd_reply_type_name(uint16_t type);
const char *nbd_err_name(uint32_t nbd_err);

/* ------------------------------------------------ socket addresses */

/*
 * Listen on or connect to a QAPI SocketAddress (unix, inet, vsock, or an
 * inherited fd given by number).  The fd is blocking and close-on-exec;
 * -1 with @errp set on failure.  Texts are QEMU's (qemu/sockets.h).
 */
int socket_address_listen(const SocketAddress *addr, int backlog,
                          Error **errp);
int socket_address_connect(const SocketAddress *addr, Error **errp);
/* nbd-server-start takes the nested form: convert it (a deep copy). */
SocketAddress *socket_address_from_legacy(const SocketAddressLegacy *legacy);
/* "unix:/p", "inet:h:p", "vsock:c:p", "fd:N": for messages and traces. */
char *socket_address_to_string(const SocketAddress *addr);

/* ------------------------------------------------------------ server */

/*
 * The NBD server (nbd/server.c): one per process.  Exports are added to
 * it through block-export-add (block/export.h).  Main loop only.
 */
/* --nbd-server: start the server with the flat options. */
bool nbd_server_start_options(NbdServerOptions *opts, Error **errp);
bool nbd_server_is_running(void);
/*
 * Serve the connected stream socket @fd as a client of the running
 * server, as if the listening socket had accepted it (the fuzzer hands
 * in one end of a socketpair).  On success the server owns @fd; false
 * with @errp when no server runs, and @fd stays the caller's.
 * @close_fn(@opaque), if not NULL, runs from the main loop once the
 * client is gone and freed.  The client counts against max-connections
 * like any other.
 */
bool nbd_server_add_client_fd(int fd, void (*close_fn)(void *opaque),
                              void *opaque, Error **errp);
/*
 * Remove every NBD export (disconnecting their clients), drop the clients
 * still in the handshake, wait until they are all gone, stop listening.
 * Nothing if the server does not run.
 */
void nbd_server_stop(void);

#endif /* QBLOCK_BLOCK_NBD_H */
