/*
 * aio-posix.c: the fd half of an AioContext, on epoll, and aio_poll().
 *
 * What: each context owns one epoll instance.  Every watched fd has an
 * AioHandler whose address is the epoll_event's data, so a ready event
 * leads straight to its callbacks without a lookup.  The epoll fd is also
 * what the context's GSource hands to GLib, so GLib's poll() wakes up for
 * any fd of the context (the eventfd of aio_notify() included).
 *
 * One iteration, aio_poll():
 *   1. if blocking, announce it (notify_me, see async.c) and compute the
 *      timeout: 0 with a BH pending, else the next timer deadline;
 *   2. epoll_pwait2() (ns timeout; epoll_wait() rounding up to ms where the
 *      kernel lacks it) into a small array on the stack;
 *   3. move the ready handlers onto ctx->ready_list, with their events;
 *   4. run the scheduled BHs, then the ready handlers, then the expired
 *      timers.
 *
 * Invariants:
 *   - A handler is on ctx->aio_handlers exactly while it is registered, and
 *     on ctx->ready_list exactly while it has events not yet dispatched.
 *     Dispatch takes a handler off ready_list before calling it, so a
 *     nested aio_poll() never delivers the same readiness twice.
 *   - A handler removed while handlers are being dispatched
 *     (walking_handlers > 0) is unregistered from epoll and taken off both
 *     lists at once, but only freed when the outermost dispatch ends: the
 *     dispatcher still holds its pointer.  A removed handler never runs
 *     again, even if it was ready in the same batch.
 *
 * Costs: one epoll_pwait2() per iteration; registering or removing an fd is
 * one epoll_ctl() plus a walk of the handler list (a context watches few
 * fds).  Nothing is allocated per iteration: the event array is on the
 * stack and the ready list is intrusive.  epoll is level-triggered, so
 * events beyond the array's size are simply reported next time.
 *
 * Worked example: a socket handler, while reading, decides to close the
 * connection and calls aio_set_fd_handler(ctx, fd, NULL, NULL, NULL).  Its
 * node is marked deleted and parked on deleted_handlers; the dispatcher,
 * back from io_read, sees the mark and skips io_write; when the dispatch
 * loop ends the node is freed.  The caller may close(fd) right after the
 * removal, because the node was already out of epoll.
 */
#include "qemu/osdep.h"

#include <sys/epoll.h>

#include "qapi/error.h"
#include "qemu/aio.h"

/* Ready events taken per epoll call; the rest wait for the next one. */
#define AIO_EPOLL_BATCH 64

struct AioHandler {
    int fd;
    IOHandler *io_read;
    IOHandler *io_write;
    void *opaque;
    uint32_t events;            /* what epoll watches for */
    uint32_t revents;           /* ready, not yet dispatched */
    bool deleted;
    QLIST_ENTRY(AioHandler) node;       /* aio_handlers or deleted_handlers */
    QLIST_ENTRY(AioHandler) node_ready; /* ready_list */
};

/* Cleared, once and for all, the first time the kernel says ENOSYS. */
static bool have_epoll_pwait2 = true;

bool aio_context_setup(AioContext *ctx, Error **errp)
{
    ctx->epollfd = epoll_create1(EPOLL_CLOEXEC);
    if (ctx->epollfd < 0) {
        error_setg_errno(errp, errno, "Failed to create epoll instance");
        return false;
    }
    return true;
}

void aio_context_destroy(AioContext *ctx)
{
    AioHandler *node;

    assert(ctx->walking_handlers == 0);
    while ((node = QLIST_FIRST(&ctx->aio_handlers))) {
        QLIST_REMOVE(node, node);
        g_free(node);
    }
    while ((node = QLIST_FIRST(&ctx->deleted_handlers))) {
        QLIST_REMOVE(node, node);
        g_free(node);
    }
    QLIST_INIT(&ctx->ready_list);
    if (ctx->epollfd >= 0) {
        close(ctx->epollfd);
        ctx->epollfd = -1;
    }
}

static AioHandler *find_aio_handler(AioContext *ctx, int fd)
{
    AioHandler *node;

    QLIST_FOREACH(node, &ctx->aio_handlers, node) {
        if (node->fd == fd) {
            return node;
        }
    }
    return NULL;
}

static void aio_epoll_ctl(AioContext *ctx, int op, AioHandler *node)
{
    struct epoll_event ev = {
        .events = node->events,
        .data.ptr = node,
    };

    if (epoll_ctl(ctx->epollfd, op, node->fd, &ev) < 0) {
        /* A bad fd here is a caller's bug; nothing sensible to fall back to */
        error_report("aio_set_fd_handler: epoll_ctl(%d) on fd %d: %s",
                     op, node->fd, strerror(errno));
        abort();
    }
}

static void aio_remove_fd_handler(AioContext *ctx, AioHandler *node)
{
    /*
     * Ignore errors: the fd may already be closed, which removes it from
     * the epoll set by itself.
     */
    epoll_ctl(ctx->epollfd, EPOLL_CTL_DEL, node->fd, NULL);
    QLIST_REMOVE(node, node);
    QLIST_SAFE_REMOVE(node, node_ready);
    node->revents = 0;

    if (ctx->walking_handlers) {
        node->deleted = true;
        QLIST_INSERT_HEAD(&ctx->deleted_handlers, node, node);
    } else {
        g_free(node);
    }
}

void aio_set_fd_handler(AioContext *ctx, int fd, IOHandler *io_read,
                        IOHandler *io_write, void *opaque)
{
    AioHandler *node = find_aio_handler(ctx, fd);
    uint32_t events;

    if (!io_read && !io_write) {
        if (node) {
            aio_remove_fd_handler(ctx, node);
        }
        return;
    }

    events = (io_read ? EPOLLIN : 0) | (io_write ? EPOLLOUT : 0);
    if (!node) {
        node = g_new0(AioHandler, 1);
        node->fd = fd;
        node->events = events;
        aio_epoll_ctl(ctx, EPOLL_CTL_ADD, node);
        QLIST_INSERT_HEAD(&ctx->aio_handlers, node, node);
    } else if (node->events != events) {
        node->events = events;
        aio_epoll_ctl(ctx, EPOLL_CTL_MOD, node);
    }
    node->io_read = io_read;
    node->io_write = io_write;
    node->opaque = opaque;
}

/*
 * Wait up to @timeout_ns (-1: no limit) for events of @ctx; returns how
 * many were stored in @events, 0 on timeout or signal.
 */
static int aio_epoll_wait(AioContext *ctx, struct epoll_event *events,
                          int maxevents, int64_t timeout_ns)
{
    int timeout_ms;
    int ret;

    if (timeout_ns > 0 && __atomic_load_n(&have_epoll_pwait2,
                                          __ATOMIC_RELAXED)) {
        struct timespec ts = {
            .tv_sec = timeout_ns / NANOSECONDS_PER_SECOND,
            .tv_nsec = timeout_ns % NANOSECONDS_PER_SECOND,
        };

        ret = epoll_pwait2(ctx->epollfd, events, maxevents, &ts, NULL);
        if (ret >= 0 || errno != ENOSYS) {
            return ret < 0 ? 0 : ret;
        }
        __atomic_store_n(&have_epoll_pwait2, false, __ATOMIC_RELAXED);
    }

    if (timeout_ns < 0) {
        timeout_ms = -1;
    } else {
        /* Round up: waking early would only spin until the deadline. */
        timeout_ms = MIN(DIV_ROUND_UP(timeout_ns, SCALE_MS), INT_MAX);
    }
    ret = epoll_wait(ctx->epollfd, events, maxevents, timeout_ms);
    return ret < 0 ? 0 : ret;
}

static void aio_add_ready_handlers(AioContext *ctx,
                                   struct epoll_event *events, int n)
{
    int i;

    for (i = 0; i < n; i++) {
        AioHandler *node = events[i].data.ptr;

        node->revents |= events[i].events;
        if (!QLIST_IS_INSERTED(node, node_ready)) {
            QLIST_INSERT_HEAD(&ctx->ready_list, node, node_ready);
        }
    }
}

static bool aio_dispatch_handler(AioContext *ctx, AioHandler *node,
                                 uint32_t revents)
{
    bool progress = false;

    if (!node->deleted && node->io_read &&
        (revents & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
        node->io_read(node->opaque);
        /* Draining aio_notify()'s eventfd is no work done by anyone */
        if (node->fd != ctx->notify_fd) {
            progress = true;
        }
    }
    if (!node->deleted && node->io_write &&
        (revents & (EPOLLOUT | EPOLLERR))) {
        node->io_write(node->opaque);
        progress = true;
    }
    return progress;
}

static bool aio_dispatch_ready_handlers(AioContext *ctx)
{
    AioHandler *node;
    bool progress = false;

    ctx->walking_handlers++;
    while ((node = QLIST_FIRST(&ctx->ready_list))) {
        uint32_t revents = node->revents;

        QLIST_REMOVE(node, node_ready);
        node->revents = 0;
        progress |= aio_dispatch_handler(ctx, node, revents);
    }
    if (--ctx->walking_handlers == 0) {
        while ((node = QLIST_FIRST(&ctx->deleted_handlers))) {
            QLIST_REMOVE(node, node);
            g_free(node);
        }
    }
    return progress;
}

bool aio_poll(AioContext *ctx, bool blocking)
{
    struct epoll_event events[AIO_EPOLL_BATCH];
    int64_t timeout_ns = 0;
    bool progress;
    int n;

    if (blocking) {
        /*
         * Announce the sleep before looking for work: aio_notify() looks
         * at notify_me after publishing work, so either we see the work
         * here or the notifier sees us and writes the eventfd.
         */
        __atomic_add_fetch(&ctx->notify_me, 2, __ATOMIC_SEQ_CST);
        timeout_ns = aio_compute_timeout(ctx);
    }

    n = aio_epoll_wait(ctx, events, ARRAY_SIZE(events), timeout_ns);

    if (blocking) {
        __atomic_sub_fetch(&ctx->notify_me, 2, __ATOMIC_SEQ_CST);
    }

    aio_add_ready_handlers(ctx, events, n);
    progress = aio_bh_poll(ctx);
    progress |= aio_dispatch_ready_handlers(ctx);
    progress |= timerlistgroup_run_timers(&ctx->tlg);
    return progress;
}
