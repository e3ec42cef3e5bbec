/*
 * test-co-socket.c: coroutine I/O on a socket pair.
 *
 * What the NBD code relies on: a message larger than the socket buffer
 * goes through whole while the receiver runs concurrently; a sender and a
 * receiver can be parked on one socket at once; a close by the peer and a
 * local shutdown both wake a parked receiver with -EPIPE and say how many
 * bytes came first.
 */
#include "qemu/osdep.h"

#include <sys/socket.h>

#include "qapi/error.h"
#include "qemu/aio.h"
#include "qemu/co-socket.h"
#include "qemu/coroutine.h"
#include "qemu/trace-control.h"

static AioContext *ctx;

typedef struct Xfer {
    CoSocket *sock;
    uint8_t *buf;
    size_t len;
    size_t got;
    int ret;
    bool done;
} Xfer;

static void coroutine_fn send_co(void *opaque)
{
    Xfer *x = opaque;
    /* Two pieces, so the iovec bookkeeping crosses an element. */
    struct iovec iov[3] = {
        { x->buf, 1000 },
        { NULL, 0 },
        { x->buf + 1000, x->len - 1000 },
    };

    x->ret = co_socket_sendv(x->sock, iov, 3);
    x->done = true;
}

static void coroutine_fn recv_co(void *opaque)
{
    Xfer *x = opaque;

    x->ret = co_socket_recv(x->sock, x->buf, x->len, &x->got);
    x->done = true;
}

static void make_pair(CoSocket *a, CoSocket *b)
{
    int sv[2];

    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), ==, 0);
    co_socket_init(a, sv[0], ctx);
    co_socket_init(b, sv[1], ctx);
}

static void test_large_message(void)
{
    CoSocket a, b;
    size_t len = 8 * 1024 * 1024 + 13;
    g_autofree uint8_t *out = g_malloc(len);
    g_autofree uint8_t *in = g_malloc0(len);
    Xfer tx = { &a, out, len }, rx = { &b, in, len };

    alarm(30);
    for (size_t i = 0; i < len; i++) {
        out[i] = i * 7 + (i >> 12);
    }
    make_pair(&a, &b);
    qemu_coroutine_enter(qemu_coroutine_create(send_co, &tx));
    /* The sender is parked: the socket buffer is far smaller. */
    g_assert_false(tx.done);
    qemu_coroutine_enter(qemu_coroutine_create(recv_co, &rx));
    AIO_WAIT_WHILE(ctx, !tx.done || !rx.done);
    g_assert_cmpint(tx.ret, ==, 0);
    g_assert_cmpint(rx.ret, ==, 0);
    g_assert_cmpuint(rx.got, ==, len);
    g_assert_true(memcmp(in, out, len) == 0);
    co_socket_close(&a);
    co_socket_close(&b);
}

static void test_peer_close(void)
{
    CoSocket a, b;
    uint8_t buf[100];
    Xfer rx = { &b, buf, sizeof(buf) };

    alarm(30);
    make_pair(&a, &b);
    g_assert_cmpint(write(a.fd, "abc", 3), ==, 3);
    qemu_coroutine_enter(qemu_coroutine_create(recv_co, &rx));
    while (aio_poll(ctx, false)) {
        /* let it take the three bytes */
    }
    g_assert_false(rx.done);
    co_socket_close(&a);
    AIO_WAIT_WHILE(ctx, !rx.done);
    g_assert_cmpint(rx.ret, ==, -EPIPE);
    g_assert_cmpuint(rx.got, ==, 3);
    g_assert_true(memcmp(buf, "abc", 3) == 0);
    co_socket_close(&b);
}

static void test_shutdown_wakes_both(void)
{
    CoSocket a, b;
    size_t len = 8 * 1024 * 1024;
    g_autofree uint8_t *big = g_malloc0(len);
    uint8_t small[16];
    Xfer tx = { &a, big, len }, rx = { &a, small, sizeof(small) };

    alarm(30);
    make_pair(&a, &b);
    /* Both directions of one socket parked at once. */
    qemu_coroutine_enter(qemu_coroutine_create(send_co, &tx));
    qemu_coroutine_enter(qemu_coroutine_create(recv_co, &rx));
    g_assert_false(tx.done);
    g_assert_false(rx.done);
    co_socket_shutdown(&a);
    AIO_WAIT_WHILE(ctx, !tx.done || !rx.done);
    g_assert_cmpint(tx.ret, ==, -EPIPE);
    g_assert_cmpint(rx.ret, ==, -EPIPE);
    g_assert_cmpuint(rx.got, ==, 0);
    /* Later calls fail at once. */
    rx.done = false;
    qemu_coroutine_enter(qemu_coroutine_create(recv_co, &rx));
    g_assert_true(rx.done);
    g_assert_cmpint(rx.ret, ==, -EPIPE);
    co_socket_close(&a);
    co_socket_close(&b);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    trace_init_from_env();
    qemu_init_main_loop(&error_abort);
    ctx = qemu_get_aio_context();

    g_test_add_func("/co-socket/large-message", test_large_message);
    g_test_add_func("/co-socket/peer-close", test_peer_close);
    g_test_add_func("/co-socket/shutdown-wakes-both",
                    test_shutdown_wakes_both);
    return g_test_run();
}
