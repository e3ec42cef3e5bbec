/*
 * test-nbd-server.c: the NBD server in-process, one conversation each.
 *
 * The server runs in the main loop as in qblockd, over a 1 MiB null-co
 * node with a dirty bitmap, exported writable as "x".  Each test hands
 * one end of a socketpair to nbd_server_add_client_fd() and talks the
 * protocol on the other end from a thread, with blocking I/O and plain
 * byte-level checks, while the main thread runs the loop until the
 * server has freed the client.  The cases are the ones the fuzzer
 * (tests/fuzz/fuzz-nbd-server.c) found, so that the sanitizer tree
 * (ASan, UBSan) runs them on every `make check`.
 */
#include "qemu/osdep.h"

#include <signal.h>
#include <sys/socket.h>

#include "block/block.h"
#include "block/blockdev.h"
#include "block/dirty-bitmap.h"
#include "block/export.h"
#include "block/nbd.h"
#include "qapi/error.h"
#include "qemu/aio.h"
#include "qemu/bswap.h"

#define NODE_SIZE   (1 * MiB)
#define GRAN        4096

static char *sock_dir;
static char *sock_path;
static BdrvDirtyBitmap *bitmap;

typedef struct Conv {
    int fd;
    void (*talk)(int fd);
    bool freed;
} Conv;

/* ------------------------------------------------- the client's side */

static void send_all(int fd, const void *buf, size_t len)
{
    const uint8_t *p = buf;

    while (len) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

        g_assert_cmpint(n, >, 0);
        p += n;
        len -= n;
    }
}

static void recv_all(int fd, void *buf, size_t len)
{
    uint8_t *p = buf;

    while (len) {
        ssize_t n = recv(fd, p, len, 0);

        g_assert_cmpint(n, >, 0);
        p += n;
        len -= n;
    }
}

static void send_opt(int fd, uint32_t opt, const void *data, uint32_t len)
{
    uint8_t head[16];

    stq_be_p(head, NBD_OPTS_MAGIC);
    stl_be_p(head + 8, opt);
    stl_be_p(head + 12, len);
    send_all(fd, head, sizeof(head));
    send_all(fd, data, len);
}

/* One option reply; returns its type, the payload in *@data (g_free). */
static uint32_t recv_rep(int fd, uint32_t opt, uint8_t **data, uint32_t *len)
{
    uint8_t head[20];

    recv_all(fd, head, sizeof(head));
    g_assert_cmphex(ldq_be_p(head), ==, NBD_REP_MAGIC);
    g_assert_cmpuint(ldl_be_p(head + 8), ==, opt);
    *len = ldl_be_p(head + 16);
    *data = g_malloc(*len + 1);
    recv_all(fd, *data, *len);
    return ldl_be_p(head + 12);
}

static void expect_ack(int fd, uint32_t opt)
{
    g_autofree uint8_t *data = NULL;
    uint32_t len;

    g_assert_cmphex(recv_rep(fd, opt, &data, &len), ==, NBD_REP_ACK);
}

/*
 * Greeting, structured replies, SET_META_CONTEXT with @queries (NULL
 * ended; their ids in @ids), GO to "x".
 */
static void handshake(int fd, const char *const *queries, uint32_t *ids)
{
    uint8_t greet[18], flags[4];
    g_autoptr(GByteArray) m = g_byte_array_new();
    uint8_t u32[4], go[4 + 1 + 2];
    uint32_t n = 0, type, len;

    recv_all(fd, greet, sizeof(greet));
    g_assert_cmphex(ldq_be_p(greet), ==, NBD_INIT_MAGIC);
    stl_be_p(flags, NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES);
    send_all(fd, flags, 4);

    send_opt(fd, NBD_OPT_STRUCTURED_REPLY, NULL, 0);
    expect_ack(fd, NBD_OPT_STRUCTURED_REPLY);

    while (queries[n]) {
        n++;
    }
    stl_be_p(u32, 1);
    g_byte_array_append(m, u32, 4);
    g_byte_array_append(m, (const uint8_t *)"x", 1);
    stl_be_p(u32, n);
    g_byte_array_append(m, u32, 4);
    for (uint32_t i = 0; i < n; i++) {
        stl_be_p(u32, strlen(queries[i]));
        g_byte_array_append(m, u32, 4);
        g_byte_array_append(m, (const uint8_t *)queries[i],
                            strlen(queries[i]));
    }
    send_opt(fd, NBD_OPT_SET_META_CONTEXT, m->data, m->len);
    for (uint32_t i = 0; i < n; i++) {
        g_autofree uint8_t *data = NULL;

        type = recv_rep(fd, NBD_OPT_SET_META_CONTEXT, &data, &len);
        g_assert_cmphex(type, ==, NBD_REP_META_CONTEXT);
        data[len] = 0;
        g_assert_cmpstr((char *)data + 4, ==, queries[i]);
        ids[i] = ldl_be_p(data);
    }
    expect_ack(fd, NBD_OPT_SET_META_CONTEXT);

    stl_be_p(go, 1);
    go[4] = 'x';
    stw_be_p(go + 5, 0);
    send_opt(fd, NBD_OPT_GO, go, sizeof(go));
    for (;;) {
        g_autofree uint8_t *data = NULL;

        type = recv_rep(fd, NBD_OPT_GO, &data, &len);
        if (type == NBD_REP_ACK) {
            break;
        }
        g_assert_cmphex(type, ==, NBD_REP_INFO);
    }
}

static void send_req(int fd, uint16_t type, uint16_t flags, uint64_t cookie,
                     uint64_t offset, uint32_t len)
{
    uint8_t buf[NBD_REQUEST_SIZE];
    NBDRequest req = {
        .flags = flags, .type = type, .cookie = cookie,
        .offset = offset, .len = len,
    };

    nbd_encode_request(buf, &req);
    send_all(fd, buf, sizeof(buf));
}

/* One structured chunk; the payload in *@data (g_free). */
static void recv_chunk(int fd, NBDReply *r, uint8_t **data)
{
    uint8_t head[NBD_STRUCTURED_REPLY_SIZE];

    recv_all(fd, head, sizeof(head));
    nbd_decode_reply(head, r);
    g_assert_cmphex(r->magic, ==, NBD_STRUCTURED_REPLY_MAGIC);
    *data = g_malloc(r->length + 1);
    recv_all(fd, *data, r->length);
}

static void disconnect(int fd)
{
    uint8_t b;

    send_req(fd, NBD_CMD_DISC, 0, 99, 0, 0);
    /* The server closes its end; nothing more comes. */
    g_assert_cmpint(recv(fd, &b, 1, 0), ==, 0);
}

/* -------------------------------------------------------- the cases */

/* Which of the @n negotiated contexts @id names. */
static int context_index(const uint32_t *ids, int n, uint32_t id)
{
    for (int i = 0; i < n; i++) {
        if (ids[i] == id) {
            return i;
        }
    }
    g_error("block status chunk for unknown context id %u", id);
}

/*
 * Found by the fuzzer: the first extent of a block status reply was
 * added through a pointer computed 8 bytes before the buffer (undefined
 * behaviour, which UBSan stops on).  Check every context's answer.
 */
static void talk_block_status(int fd)
{
    static const char *const queries[] = {
        "base:allocation", "qemu:allocation-depth", "qemu:dirty-bitmap:b0",
        NULL,
    };
    uint32_t ids[3];
    bool seen[3] = { false, false, false };

    handshake(fd, queries, ids);
    send_req(fd, NBD_CMD_BLOCK_STATUS, 0, 7, 0, NODE_SIZE);
    for (int chunk = 0; chunk < 3; chunk++) {
        g_autofree uint8_t *data = NULL;
        NBDReply r;
        uint32_t id;
        int ctx;

        recv_chunk(fd, &r, &data);
        g_assert_cmpuint(r.cookie, ==, 7);
        g_assert_cmpuint(r.type, ==, NBD_REPLY_TYPE_BLOCK_STATUS);
        g_assert_cmpuint(!!(r.flags & NBD_REPLY_FLAG_DONE), ==, chunk == 2);
        g_assert_cmpuint(r.length % 8, ==, 4);
        id = ldl_be_p(data);
        ctx = context_index(ids, 3, id);
        g_assert_false(seen[ctx]);
        seen[ctx] = true;

        if (ctx == 0) {
            /* null-co reads zeroes and holds no data: one hole. */
            g_assert_cmpuint(r.length, ==, 4 + 8);
            g_assert_cmpuint(ldl_be_p(data + 4), ==, NODE_SIZE);
            g_assert_cmpuint(ldl_be_p(data + 8), ==,
                             NBD_STATE_HOLE | NBD_STATE_ZERO);
        } else if (ctx == 1) {
            g_assert_cmpuint(r.length, ==, 4 + 8);
            g_assert_cmpuint(ldl_be_p(data + 4), ==, NODE_SIZE);
        } else {
            /* Dirty 4 KiB at 0 and at 512 KiB, clean elsewhere. */
            static const uint32_t want[][2] = {
                { GRAN, 1 }, { 512 * KiB - GRAN, 0 },
                { GRAN, 1 }, { 512 * KiB - GRAN, 0 },
            };

            g_assert_cmpuint(r.length, ==, 4 + 8 * G_N_ELEMENTS(want));
            for (size_t i = 0; i < G_N_ELEMENTS(want); i++) {
                g_assert_cmpuint(ldl_be_p(data + 4 + 8 * i), ==, want[i][0]);
                g_assert_cmpuint(ldl_be_p(data + 8 + 8 * i), ==, want[i][1]);
            }
        }
    }

    /* With REQ_ONE: one extent per context, the first. */
    send_req(fd, NBD_CMD_BLOCK_STATUS, NBD_CMD_FLAG_REQ_ONE, 8, 0,
             NODE_SIZE);
    for (int chunk = 0; chunk < 3; chunk++) {
        g_autofree uint8_t *data = NULL;
        NBDReply r;

        recv_chunk(fd, &r, &data);
        g_assert_cmpuint(r.cookie, ==, 8);
        g_assert_cmpuint(r.length, ==, 4 + 8);
        if (ldl_be_p(data) == ids[2]) {
            g_assert_cmpuint(ldl_be_p(data + 4), ==, GRAN);
            g_assert_cmpuint(ldl_be_p(data + 8), ==, NBD_STATE_DIRTY);
        }
    }
    disconnect(fd);
}

/* ------------------------------------------------------------ the rig */

static gpointer talk_thread(gpointer opaque)
{
    Conv *c = opaque;

    c->talk(c->fd);
    close(c->fd);
    return NULL;
}

static void conv_freed(void *opaque)
{
    Conv *c = opaque;

    c->freed = true;
}

static void run_conversation(void (*talk)(int fd))
{
    Conv c = { .talk = talk };
    GThread *t;
    int fds[2];

    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
                               fds), ==, 0);
    c.fd = fds[1];
    bdrv_clear_dirty_bitmap(bitmap);
    bdrv_set_dirty_bitmap(bitmap, 0, GRAN);
    bdrv_set_dirty_bitmap(bitmap, 512 * KiB, GRAN);
    g_assert_true(nbd_server_add_client_fd(fds[0], conv_freed, &c,
                                           &error_abort));
    t = g_thread_new("nbd-client", talk_thread, &c);
    while (!c.freed) {
        aio_poll(qemu_get_aio_context(), true);
    }
    g_thread_join(t);
}

static void test_block_status(void)
{
    run_conversation(talk_block_status);
}

static void test_no_server(void)
{
    Error *err = NULL;
    int fds[2];

    nbd_server_stop();
    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
                               fds), ==, 0);
    g_assert_false(nbd_server_add_client_fd(fds[0], NULL, NULL, &err));
    g_assert_cmpstr(error_get_pretty(err), ==, "NBD server not running");
    error_free(err);
    /* The fd is still the caller's. */
    g_assert_cmpint(close(fds[0]), ==, 0);
    close(fds[1]);
}

int main(int argc, char **argv)
{
    NbdServerOptions opts = { 0 };
    SocketAddress addr = { .type = SOCKET_ADDRESS_TYPE_UNIX };
    BlockDriverState *bs;
    int ret;

    g_test_init(&argc, &argv, NULL);
    signal(SIGPIPE, SIG_IGN);
    qemu_init_main_loop(&error_abort);
    bdrv_init();

    sock_dir = g_dir_make_tmp("test-nbd-server-XXXXXX", NULL);
    g_assert_nonnull(sock_dir);
    sock_path = g_build_filename(sock_dir, "nbd.sock", NULL);
    blockdev_add_cmdline("driver=null-co,node-name=n0,size=1048576,"
                         "read-zeroes=on", &error_abort);
    bs = bdrv_find_node("n0");
    bitmap = bdrv_create_dirty_bitmap(bs, GRAN, "b0", &error_abort);
    addr.u.q_unix.path = sock_path;
    opts.addr = &addr;
    nbd_server_start_options(&opts, &error_abort);
    blk_exp_add_cmdline("{\"type\": \"nbd\", \"id\": \"e0\", "
                        "\"node-name\": \"n0\", \"name\": \"x\", "
                        "\"writable\": true, \"bitmaps\": [\"b0\"], "
                        "\"allocation-depth\": true}", &error_abort);

    g_test_add_func("/nbd-server/block-status/first-extent",
                    test_block_status);
    /* Last: it stops the server. */
    g_test_add_func("/nbd-server/add-client/no-server", test_no_server);
    ret = g_test_run();

    nbd_server_stop();
    blockdev_close_all();
    g_free(sock_path);
    rmdir(sock_dir);
    g_free(sock_dir);
    return ret;
}
