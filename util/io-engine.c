/*
 * io-engine.c: which engine serves a request, the per-context state, and
 * the thread-pool engine.
 *
 * What: every AioContext that does file I/O gets an IoEngineCtx, made by
 * its first request: the in-flight count, the counters, and the context's
 * io_uring ring (io_uring.c), or the reason it has none.  A request goes
 * to the ring when the ring exists and knows the request's opcode and the
 * caller did not ask for THREADS; otherwise a worker of the context's
 * thread pool runs the system call, with the same handling of short
 * transfers, EINTR/EAGAIN and end of file, so both engines return the
 * same thing for the same request.
 *
 * Per-context state hangs off the AioContext (ctx->io_engine), made on
 * the first request or open in that context and freed by the context's
 * finalize, before its thread pool: by then nothing polls the context, so
 * the ring and its eventfd go without a race.
 *
 * Invariants:
 *   - A context has at most one state, and a state at most one ring,
 *     made once: a context whose ring could not be made does not try
 *     again on every request.
 *   - in_flight counts requests between submission and their coroutine
 *     resuming, whatever the engine.  It is changed only in the home
 *     thread, read from any; when it reaches 0, aio_wait_kick() runs.
 *
 * Costs: one pointer load to find the state; two atomic adds per request
 * for in_flight.  The thread engine adds a worker hand-off and a BH per
 * completion batch.
 *
 * Worked example: the file driver opens an image with aio=io_uring in the
 * main context: qemu_io_engine_available() makes the state and the ring.
 * A write-zeroes request on a kernel without IORING_OP_FALLOCATE then
 * runs fallocate() on a worker (traced as a fallback), while reads and
 * writes keep going through the ring.  When a test frees an I/O thread's
 * context, the ring and its eventfd go with it.
 */
#include "qemu/osdep.h"

#include <linux/falloc.h>
#include <sys/uio.h>

#include "qapi/error.h"
#include "qemu/aio.h"
#include "qemu/coroutine.h"
#include "qemu/io-engine.h"
#include "qemu/iov.h"
#include "qemu/thread-pool.h"
#include "trace.h"

struct IoEngineCtx {
    AioContext *ctx;
    unsigned int in_flight;     /* atomic */
    bool ring_tried;
    LuringState *ring;          /* NULL if none (yet) */
    Error *ring_err;            /* why there is none, once tried */
    uint64_t thread_requests;
};

void io_engine_ctx_free(IoEngineCtx *e)
{
    assert(__atomic_load_n(&e->in_flight, __ATOMIC_SEQ_CST) == 0);
    if (e->ring) {
        luring_free(e->ring);
    }
    error_free(e->ring_err);
    g_free(e);
}

/*
 * @ctx's state; if it has none, NULL, or with @create a new one (only
 * where @ctx may be changed: its home thread, or while nothing polls it).
 */
static IoEngineCtx *io_engine_get(AioContext *ctx, bool create)
{
    if (!ctx->io_engine && create) {
        IoEngineCtx *e = g_new0(IoEngineCtx, 1);

        e->ctx = ctx;
        __atomic_store_n(&ctx->io_engine, e, __ATOMIC_RELEASE);
    }
    return ctx->io_engine;
}

/* Make @e's ring unless that was tried before; true if it has one. */
static bool io_engine_try_ring(IoEngineCtx *e)
{
    if (!e->ring_tried) {
        e->ring_tried = true;
        e->ring = luring_new(e->ctx, &e->ring_err);
        if (!e->ring) {
            trace_qemu_io_engine_fallback(e->ctx, -1,
                                          error_get_pretty(e->ring_err));
        }
    }
    return e->ring != NULL;
}

bool qemu_io_engine_available(AioContext *ctx, QemuIOEngine engine,
                              Error **errp)
{
    IoEngineCtx *e;

    if (engine != QEMU_IO_ENGINE_IO_URING) {
        return true;
    }
    e = io_engine_get(ctx, true);
    if (!io_engine_try_ring(e)) {
        error_setg(errp, "Unable to use io_uring: %s",
                   error_get_pretty(e->ring_err));
        return false;
    }
    return true;
}

/*
 * The thread-pool engine
 */

typedef struct IoThreadWork {
    int fd;
    int type;
    int flags;
    uint64_t offset;
    uint64_t bytes;
    QEMUIOVector *qiov;
} IoThreadWork;

static ssize_t io_thread_rw_once(IoThreadWork *w, QEMUIOVector *v,
                                 uint64_t done)
{
    if (w->type == QEMU_AIO_READ) {
        return preadv(w->fd, v->iov, v->niov, w->offset + done);
    }
    return pwritev(w->fd, v->iov, v->niov, w->offset + done);
}

/* As luring_complete_rw(), in a loop on a worker. */
static int io_thread_rw(IoThreadWork *w)
{
    QEMUIOVector rest = { 0 };
    QEMUIOVector *v = w->qiov;
    uint64_t done = 0;
    int ret = 0;

    while (done < w->bytes) {
        ssize_t len = io_thread_rw_once(w, v, done);

        if (len < 0) {
            if (errno == EINTR || errno == EAGAIN) {
                continue;
            }
            ret = -errno;
            break;
        }
        if (len == 0) {
            if (w->type == QEMU_AIO_READ) {
                /* End of file: the rest reads as zeroes */
                qemu_iovec_memset(w->qiov, done, 0, w->bytes - done);
            } else {
                ret = -EINVAL;
            }
            break;
        }
        done += len;
        if (done < w->bytes) {
            trace_io_thread_short_rw(w->fd, w->type, done, w->bytes);
            if (v == &rest) {
                qemu_iovec_reset(&rest);
            } else {
                qemu_iovec_init(&rest, w->qiov->niov);
                v = &rest;
            }
            qemu_iovec_concat(&rest, w->qiov, done, w->bytes - done);
        }
    }
    qemu_iovec_destroy(&rest);
    return ret;
}

static int io_thread_fallocate(int fd, int mode, uint64_t offset,
                               uint64_t bytes)
{
    int ret;

    RETRY_ON_EINTR(ret = fallocate(fd, mode, offset, bytes));
    return ret < 0 ? -errno : 0;
}

static int io_thread_work(void *opaque)
{
    IoThreadWork *w = opaque;
    int ret;

    switch (w->type) {
    case QEMU_AIO_READ:
    case QEMU_AIO_WRITE:
        return io_thread_rw(w);
    case QEMU_AIO_FLUSH:
        RETRY_ON_EINTR(ret = fdatasync(w->fd));
        return ret < 0 ? -errno : 0;
    case QEMU_AIO_WRITE_ZEROES:
        if (w->flags & QEMU_IO_MAY_UNMAP) {
            ret = io_thread_fallocate(w->fd, FALLOC_FL_PUNCH_HOLE |
                                      FALLOC_FL_KEEP_SIZE,
                                      w->offset, w->bytes);
            if (ret != -EOPNOTSUPP && ret != -EINVAL && ret != -EBUSY) {
                return ret;
            }
        }
        return io_thread_fallocate(w->fd, FALLOC_FL_ZERO_RANGE,
                                   w->offset, w->bytes);
    case QEMU_AIO_DISCARD:
        return io_thread_fallocate(w->fd, FALLOC_FL_PUNCH_HOLE |
                                   FALLOC_FL_KEEP_SIZE, w->offset, w->bytes);
    default:
        g_assert_not_reached();
    }
}

static int coroutine_fn io_thread_co_submit(IoEngineCtx *e, int fd,
                                            uint64_t offset,
                                            QEMUIOVector *qiov,
                                            uint64_t bytes, int type,
                                            int flags)
{
    IoThreadWork w = {
        .fd = fd,
        .type = type,
        .flags = flags,
        .offset = offset,
        .bytes = bytes,
        .qiov = qiov,
    };

    e->thread_requests++;
    return thread_pool_submit_co(io_thread_work, &w);
}

/*
 * Submission
 */

int coroutine_fn qemu_io_co_submit_engine(AioContext *ctx,
                                          QemuIOEngine engine, int fd,
                                          uint64_t offset,
                                          QEMUIOVector *qiov, uint64_t bytes,
                                          int type, int flags)
{
    IoEngineCtx *e;
    bool use_ring = false;
    int ret;

    assert(qemu_in_coroutine());
    assert(ctx == qemu_get_current_aio_context());
    assert(type >= QEMU_AIO_READ && type <= QEMU_AIO_DISCARD);
    if (type == QEMU_AIO_READ || type == QEMU_AIO_WRITE) {
        assert(qiov && qiov->size == bytes);
    } else {
        assert(!qiov);
    }
    assert(!(flags & ~QEMU_IO_MAY_UNMAP));

    e = io_engine_get(ctx, true);
    if (engine != QEMU_IO_ENGINE_THREADS && io_engine_try_ring(e)) {
        use_ring = luring_supports(e->ring, type);
        if (!use_ring) {
            trace_qemu_io_engine_fallback(ctx, type,
                                          "opcode not supported by kernel");
        }
    }
    trace_qemu_io_co_submit(ctx, fd, type, offset, bytes, use_ring);

    __atomic_fetch_add(&e->in_flight, 1, __ATOMIC_SEQ_CST);
    if (use_ring) {
        ret = luring_co_submit(e->ring, fd, offset, qiov, bytes, type, flags);
    } else {
        ret = io_thread_co_submit(e, fd, offset, qiov, bytes, type, flags);
    }
    if (__atomic_sub_fetch(&e->in_flight, 1, __ATOMIC_SEQ_CST) == 0) {
        aio_wait_kick();
    }

    trace_qemu_io_co_complete(ctx, fd, type, ret);
    return ret;
}

int coroutine_fn qemu_io_co_submit(AioContext *ctx, int fd, uint64_t offset,
                                   QEMUIOVector *qiov, uint64_t bytes,
                                   int type, int flags)
{
    return qemu_io_co_submit_engine(ctx, QEMU_IO_ENGINE_AUTO, fd, offset,
                                    qiov, bytes, type, flags);
}

unsigned int qemu_io_engine_in_flight(AioContext *ctx)
{
    /* Any thread may ask; the state, once made, lives as long as @ctx. */
    IoEngineCtx *e = __atomic_load_n(&ctx->io_engine, __ATOMIC_ACQUIRE);

    return e ? __atomic_load_n(&e->in_flight, __ATOMIC_SEQ_CST) : 0;
}

void qemu_io_engine_get_stats(AioContext *ctx, QemuIOEngineStats *stats)
{
    IoEngineCtx *e = io_engine_get(ctx, false);

    memset(stats, 0, sizeof(*stats));
    if (!e) {
        return;
    }
    stats->thread_requests = e->thread_requests;
    if (e->ring) {
        luring_get_stats(e->ring, stats);
    }
}
