/*
 * fuzz-nbd-server: libFuzzer target for the NBD server (nbd/server.c):
 * the fixed-newstyle handshake, every option, and the transmission phase.
 *
 * The input is the byte stream of one client.  Each input gets a fresh
 * socketpair: one end becomes a client of the running server through
 * nbd_server_add_client_fd(), exactly as an accepted connection would,
 * and the harness writes the input into the other end, reads and drops
 * whatever the server answers, and half-closes its end once the input is
 * all written.  The main loop then runs until the server has freed the
 * client, so every input ends with the client's requests finished, its
 * export reference dropped and its memory freed (libFuzzer's leak check
 * sees one connection's whole life).  Both ends are serviced from fd
 * handlers in the one AioContext, so neither side can block the other:
 * a server whose replies fill the socket waits for the harness to read.
 *
 * What is served, set up once: a 1 MiB null-co node that reads zeroes,
 * with a dirty bitmap "b0" (512-byte granularity), exported twice:
 *
 *   "fuzz"  writable, bitmap b0, allocation-depth, a description: every
 *           command and the contexts base:allocation,
 *           qemu:allocation-depth and qemu:dirty-bitmap:b0
 *   "ro"    read-only: the refusals of writes, trims and zero writes
 *
 * Before each input the bitmap is reset to a fixed pattern, so that one
 * input's writes do not change what the next one sees: every other
 * granule dirty below 768 KiB (more than the 1024 extents a reply buffer
 * starts with), then 4 KiB dirty in every 64 KiB.  The seeds come from tests/fuzz/gen-nbd-server-corpus.py; an
 * example is a client that negotiates structured replies and the three
 * contexts, picks "fuzz" with NBD_OPT_GO, then reads, writes, asks for
 * block status, trims and disconnects.
 *
 * Build and run with `make fuzz FUZZ_TARGETS=nbd-server` (clang, ASan,
 * UBSan).  The server listens on a socket in a private temporary
 * directory, removed at exit; no client ever connects there.
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NODE_SIZE       (1 * MiB)
#define BITMAP_GRAN     512
#define PATTERN_DENSE   (768 * KiB)
#define PATTERN_STRIDE  (64 * KiB)

static char *sock_dir;
static char *sock_path;
static BdrvDirtyBitmap *bitmap;

/* One client's connection, seen from the client's (the harness's) end. */
typedef struct FuzzConn {
    int fd;
    const uint8_t *data;
    size_t size;
    size_t written;
    bool write_done;            /* all written (or the server hung up) */
    bool read_done;             /* the server's end closed */
    bool freed;                 /* the server freed its client */
} FuzzConn;

static void fuzz_cleanup(void)
{
    nbd_server_stop();
    if (sock_path) {
        unlink(sock_path);
    }
    if (sock_dir) {
        rmdir(sock_dir);
    }
}

static void fuzz_init(void)
{
    NbdServerOptions opts = { 0 };
    SocketAddress addr = { .type = SOCKET_ADDRESS_TYPE_UNIX };
    BlockDriverState *bs;

    /* A client that hangs up must not kill the run. */
    signal(SIGPIPE, SIG_IGN);
    qemu_init_main_loop(&error_abort);
    bdrv_init();

    sock_dir = g_dir_make_tmp("qblock-fuzz-nbd-XXXXXX", NULL);
    if (!sock_dir) {
        fprintf(stderr, "fuzz-nbd-server: cannot make a temporary "
                "directory\n");
        abort();
    }
    sock_path = g_build_filename(sock_dir, "nbd.sock", NULL);
    atexit(fuzz_cleanup);

    blockdev_add_cmdline("driver=null-co,node-name=n0,size=1048576,"
                         "read-zeroes=on", &error_abort);
    bs = bdrv_find_node("n0");
    assert(bs);
    bitmap = bdrv_create_dirty_bitmap(bs, BITMAP_GRAN, "b0", &error_abort);

    addr.u.q_unix.path = sock_path;
    opts.addr = &addr;
    nbd_server_start_options(&opts, &error_abort);
    blk_exp_add_cmdline("{\"type\": \"nbd\", \"id\": \"e0\", "
                        "\"node-name\": \"n0\", \"name\": \"fuzz\", "
                        "\"description\": \"fuzzed\", \"writable\": true, "
                        "\"bitmaps\": [\"b0\"], \"allocation-depth\": true}", &error_abort);
    blk_exp_add_cmdline("type=nbd,id=e1,node-name=n0,name=ro",
                        &error_abort);
}

static void fuzz_reset_bitmap(void)
{
    int64_t off;

    bdrv_clear_dirty_bitmap(bitmap);
    for (off = 0; off < PATTERN_DENSE; off += 2 * BITMAP_GRAN) {
        bdrv_set_dirty_bitmap(bitmap, off, BITMAP_GRAN);
    }
    for (; off < NODE_SIZE; off += PATTERN_STRIDE) {
        bdrv_set_dirty_bitmap(bitmap, off, 4096);
    }
}

static void conn_update_handlers(FuzzConn *c);

static void conn_readable(void *opaque)
{
    FuzzConn *c = opaque;
    uint8_t buf[64 * 1024];

    for (;;) {
        ssize_t n = recv(c->fd, buf, sizeof(buf), 0);

        if (n > 0) {
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        /* End of file or a reset: the server is done with us. */
        c->read_done = true;
        conn_update_handlers(c);
        return;
    }
}

static void conn_writable(void *opaque)
{
    FuzzConn *c = opaque;

    while (c->written < c->size) {
        ssize_t n = send(c->fd, c->data + c->written, c->size - c->written,
                         MSG_NOSIGNAL);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return;
        }
        if (n < 0) {
            /* EPIPE: the server hung up before taking it all. */
            break;
        }
        c->written += n;
    }
    /* The client sends nothing more: the server reads end of file. */
    shutdown(c->fd, SHUT_WR);
    c->write_done = true;
    conn_update_handlers(c);
}

static void conn_update_handlers(FuzzConn *c)
{
    aio_set_fd_handler(qemu_get_aio_context(), c->fd,
                       c->read_done ? NULL : conn_readable,
                       c->write_done ? NULL : conn_writable, c);
}

static void conn_freed(void *opaque)
{
    FuzzConn *c = opaque;

    c->freed = true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool initialized;
    FuzzConn c = { .data = data, .size = size };
    int fds[2];

    if (!initialized) {
        fuzz_init();
        initialized = true;
    }
    fuzz_reset_bitmap();
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
                   fds) < 0) {
        fprintf(stderr, "fuzz-nbd-server: socketpair: %s\n",
                strerror(errno));
        abort();
    }
    c.fd = fds[1];
    nbd_server_add_client_fd(fds[0], conn_freed, &c, &error_abort);
    conn_update_handlers(&c);
    while (!c.freed || !c.read_done) {
        aio_poll(qemu_get_aio_context(), true);
    }
    /* Still set if the server quit before taking the whole input. */
    if (!c.write_done) {
        c.write_done = true;
        conn_update_handlers(&c);
    }
    close(c.fd);
    return 0;
}
