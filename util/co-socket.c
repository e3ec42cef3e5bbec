/*
 * co-socket.c: coroutine reads and writes on a non-blocking socket.
 *
 * One fd handler serves both directions.  The write callback is
 * installed only while a coroutine waits for room.  The read callback is
 * installed when a coroutine first waits for input and then stays: a
 * woken reader usually consumes what came and waits again at once, and
 * re-installing the handler for every message would cost two epoll_ctl
 * calls per request (measured at queue depth 1 by bench/nbd-bench).  It
 * goes when it fires with nobody waiting (the loop is level-triggered,
 * so it would fire again and again) or when the socket is shut down, so
 * an idle connection costs the event loop at most one wake-up.  The
 * waiting coroutine is the only one that touches its direction, so the
 * handler just wakes it.
 */
#include "qemu/osdep.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "qemu/co-socket.h"

static void co_socket_update(CoSocket *s);

static void co_socket_readable(void *opaque)
{
    CoSocket *s = opaque;
    Coroutine *co = s->recv_co;

    if (!co) {
        /* Input nobody waits for yet: stop watching until someone does. */
        s->read_armed = false;
        co_socket_update(s);
        return;
    }
    s->recv_co = NULL;
    aio_co_wake(co);
}

static void co_socket_writable(void *opaque)
{
    CoSocket *s = opaque;
    Coroutine *co = s->send_co;

    s->send_co = NULL;
    co_socket_update(s);
    if (co) {
        aio_co_wake(co);
    }
}

/* Install the callbacks that are wanted now; no call if nothing changes. */
static void co_socket_update(CoSocket *s)
{
    bool want_read = s->recv_co || (s->read_armed && !s->shut);
    bool want_write = s->send_co != NULL;

    if (s->fd < 0) {
        return;
    }
    if (!want_read) {
        s->read_armed = false;
    }
    if (s->registered && want_read == s->reg_read &&
        want_write == s->reg_write) {
        return;
    }
    if (!want_read && !want_write) {
        aio_set_fd_handler(s->ctx, s->fd, NULL, NULL, NULL);
        s->registered = false;
        return;
    }
    aio_set_fd_handler(s->ctx, s->fd,
                       want_read ? co_socket_readable : NULL,
                       want_write ? co_socket_writable : NULL, s);
    s->registered = true;
    s->reg_read = want_read;
    s->reg_write = want_write;
}

void co_socket_init(CoSocket *s, int fd, AioContext *ctx)
{
    int flags = fcntl(fd, F_GETFL);

    memset(s, 0, sizeof(*s));
    s->fd = fd;
    s->ctx = ctx;
    if (flags >= 0 && !(flags & O_NONBLOCK)) {
        fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    }
}

/* Park the calling coroutine until the socket is ready one way. */
static void coroutine_fn co_socket_wait(CoSocket *s, bool for_write)
{
    Coroutine **slot = for_write ? &s->send_co : &s->recv_co;

    assert(!*slot);
    *slot = qemu_coroutine_self();
    if (!for_write) {
        s->read_armed = true;
    }
    co_socket_update(s);
    qemu_coroutine_yield();
    /* The handler cleared the slot, or shutdown did. */
    assert(*slot != qemu_coroutine_self());
}

int coroutine_fn co_socket_recv(CoSocket *s, void *buf, size_t len,
                                size_t *got)
{
    size_t done = 0;
    int ret = 0;

    while (done < len) {
        ssize_t n;

        if (s->shut) {
            ret = -EPIPE;
            break;
        }
        n = recv(s->fd, (char *)buf + done, len - done, 0);
        if (n > 0) {
            done += n;
        } else if (n == 0) {
            ret = -EPIPE;
            break;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            co_socket_wait(s, false);
        } else if (errno != EINTR) {
            ret = errno == ECONNRESET ? -EPIPE : -errno;
            break;
        }
    }
    if (got) {
        *got = done;
    }
    return ret;
}

int coroutine_fn co_socket_sendv(CoSocket *s, const struct iovec *iov,
                                 int niov)
{
    struct iovec local[64];
    struct msghdr msg = { 0 };
    int first = 0;
    size_t skip = 0;        /* bytes of iov[first] already sent */

    while (first < niov) {
        int cnt = MIN(niov - first, (int)ARRAY_SIZE(local));
        ssize_t n;

        if (s->shut) {
            return -EPIPE;
        }
        memcpy(local, iov + first, cnt * sizeof(*local));
        local[0].iov_base = (char *)local[0].iov_base + skip;
        local[0].iov_len -= skip;
        msg.msg_iov = local;
        msg.msg_iovlen = cnt;
        n = sendmsg(s->fd, &msg, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                co_socket_wait(s, true);
                continue;
            }
            if (errno == EINTR) {
                continue;
            }
            return errno == ECONNRESET ? -EPIPE : -errno;
        }
        /* Advance past what went out. */
        while (first < niov && n > 0) {
            size_t left = iov[first].iov_len - skip;
            if ((size_t)n < left) {
                skip += n;
                n = 0;
            } else {
                n -= left;
                first++;
                skip = 0;
            }
        }
        /* Skip empty trailing entries. */
        while (first < niov && iov[first].iov_len == skip) {
            first++;
            skip = 0;
        }
    }
    return 0;
}

int coroutine_fn co_socket_send(CoSocket *s, const void *buf, size_t len)
{
    struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };

    return co_socket_sendv(s, &iov, 1);
}

void co_socket_shutdown(CoSocket *s)
{
    Coroutine *r, *w;

    if (s->shut || s->fd < 0) {
        s->shut = true;
        return;
    }
    s->shut = true;
    shutdown(s->fd, SHUT_RDWR);
    r = s->recv_co;
    w = s->send_co;
    s->recv_co = s->send_co = NULL;
    co_socket_update(s);
    if (r) {
        aio_co_wake(r);
    }
    if (w) {
        aio_co_wake(w);
    }
}

void co_socket_close(CoSocket *s)
{
    assert(!s->recv_co && !s->send_co);
    if (s->fd >= 0) {
        if (s->registered) {
            aio_set_fd_handler(s->ctx, s->fd, NULL, NULL, NULL);
            s->registered = false;
        }
        close(s->fd);
        s->fd = -1;
    }
}
