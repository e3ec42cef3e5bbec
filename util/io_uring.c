/*
 * io_uring.c: one io_uring ring per AioContext, serving coroutines.
 *
 * What: a request (LuringRequest) lives on the stack of the coroutine that
 * submits it.  It goes on the state's pending queue and the coroutine
 * yields; every LURING_SUBMIT_BATCH queued requests are turned into SQEs
 * and submitted with one io_uring_enter() at once, and a bottom half of
 * the context submits the rest at the end of the turn.  The kernel
 * signals each completion on an eventfd registered with the ring; the
 * context watches that eventfd, and its handler reaps the CQ, finishes or
 * continues each request, and wakes the finished requests' coroutines
 * with aio_co_wake().
 *
 * Why a pending queue instead of taking an SQE at once: it gives one place
 * where SQEs are made, so the same path serves a new request, the rest of
 * a short transfer, a retry after EAGAIN, and a request that had to wait
 * because the CQ had no room; none of those can fail for lack of an SQE.
 *
 * Invariants:
 *   - A request is in exactly one of three states: on the pending queue
 *     (n_pending counts them), owned by the kernel (one SQE made and no CQE
 *     reaped yet; in_kernel counts them), or finished (ret is no longer
 *     -EINPROGRESS and its coroutine has been woken).  The coroutine
 *     yields once per request and is woken once.
 *   - in_kernel <= cq_entries: the kernel can always post every CQE, so
 *     the CQ never overflows and no completion waits in the kernel's
 *     overflow list.  Requests beyond that stay pending until completions
 *     make room.
 *   - Whenever something is pending or SQEs are made but not yet accepted
 *     by the kernel, submit_bh is scheduled or a flush is about to run (the
 *     one that ends the completion handler, for requests queued while it
 *     reaps): a request never waits for some unrelated event to be
 *     submitted.
 *   - The CQ is reaped only after the eventfd is read, so a completion
 *     posted meanwhile makes the eventfd readable again instead of being
 *     missed.
 *
 * Costs: per request, no allocation (a short transfer allocates the iovec
 * array of its remainder) and one list insert; one io_uring_enter() per
 * LURING_SUBMIT_BATCH requests queued, plus, per event-loop turn that
 * leaves a smaller remainder, one BH run and one io_uring_enter() for it;
 * per wake-up of the eventfd, one read() and a walk of the CQ.
 *
 * Worked example: 64 coroutines each read 4 KiB.  Each queues its request
 * and yields; the first schedules submit_bh, the fourth makes 4 SQEs and
 * calls io_uring_enter(), and so on: the device has the first reads while
 * the later coroutines are still running, and the 64th leaves no BH to
 * run.
 * The reads complete; the eventfd becomes readable; the handler reaps,
 * say, 40 CQEs and wakes those coroutines, whose new requests go to the
 * kernel 4 at a time as they are made (the flush at the end of the
 * handler takes what is left); the last 24 CQEs arrive with the next
 * wake-up.  If one read returned 1 KiB (the file ended there), the handler
 * builds a vector of the last 3 KiB and queues it again; that read
 * returns 0, and the handler zeroes the 3 KiB and wakes the coroutine
 * with 0.
 */
#include "qemu/osdep.h"

#include "qapi/error.h"
#include "qemu/aio.h"
#include "qemu/coroutine.h"
#include "qemu/io-engine.h"
#include "qemu/iov.h"

#if CONFIG_LINUX_IO_URING

#include <linux/falloc.h>
#include <sys/eventfd.h>
#include <liburing.h>

#include "trace.h"

/* SQ size; the CQ gets twice as many entries, the kernel's default. */
#define LURING_ENTRIES 128

typedef struct LuringRequest LuringRequest;

struct LuringRequest {
    Coroutine *co;
    int fd;
    int type;
    int mode;                   /* fallocate mode, for the fallocate types */
    uint64_t offset;
    uint64_t bytes;
    QEMUIOVector *qiov;         /* the caller's */
    uint64_t done;              /* bytes transferred so far */
    QEMUIOVector rest;          /* qiov past @done, once a transfer was short */
    int ret;                    /* -EINPROGRESS until finished */
    QSIMPLEQ_ENTRY(LuringRequest) next;
};

struct LuringState {
    AioContext *ctx;
    struct io_uring ring;
    int efd;
    QEMUBH *submit_bh;
    bool has_fallocate;
    unsigned int sq_entries;
    unsigned int cq_entries;

    QSIMPLEQ_HEAD(, LuringRequest) pending;
    unsigned int n_pending;
    unsigned int in_kernel;
    /*
     * In luring_completion_cb(), whose flush at its end submits what the
     * coroutines it wakes queue: they need no submit_bh.
     */
    bool reaping;

    QemuIOEngineStats stats;
};

/*
 * Submitting
 */

static void luring_prep(struct io_uring_sqe *sqe, LuringRequest *req)
{
    QEMUIOVector *v = req->done ? &req->rest : req->qiov;

    switch (req->type) {
    case QEMU_AIO_READ:
        io_uring_prep_readv(sqe, req->fd, v->iov, v->niov,
                            req->offset + req->done);
        break;
    case QEMU_AIO_WRITE:
        io_uring_prep_writev(sqe, req->fd, v->iov, v->niov,
                             req->offset + req->done);
        break;
    case QEMU_AIO_FLUSH:
        io_uring_prep_fsync(sqe, req->fd, IORING_FSYNC_DATASYNC);
        break;
    case QEMU_AIO_WRITE_ZEROES:
    case QEMU_AIO_DISCARD:
        io_uring_prep_fallocate(sqe, req->fd, req->mode, req->offset,
                                req->bytes);
        break;
    default:
        g_assert_not_reached();
    }
    io_uring_sqe_set_data(sqe, req);
}

/* Hand the SQEs made so far to the kernel, if there are any. */
static void luring_enter(LuringState *s)
{
    unsigned int ready = io_uring_sq_ready(&s->ring);
    int ret;

    if (!ready) {
        return;
    }
    ret = io_uring_submit(&s->ring);
    s->stats.uring_enters++;
    trace_luring_submit_batch(s, ready, ret);
    if (ret > 0) {
        s->stats.uring_sqes += ret;
    }
    if (ret < 0 && ret != -EAGAIN && ret != -EBUSY && ret != -EINTR) {
        /* Bad SQEs fail in their CQE; this is the ring itself failing */
        error_report("io_uring_submit: %s", strerror(-ret));
        abort();
    }
    if (io_uring_sq_ready(&s->ring)) {
        /* The kernel took only part, or nothing: try again next turn */
        qemu_bh_schedule(s->submit_bh);
    }
}

/* Turn pending requests into SQEs, as far as the CQ has room, and submit. */
static void luring_flush(LuringState *s)
{
    LuringRequest *req;

    /* This flush does the BH's work; luring_enter() reschedules if needed */
    qemu_bh_cancel(s->submit_bh);
    while ((req = QSIMPLEQ_FIRST(&s->pending)) &&
           s->in_kernel < s->cq_entries) {
        struct io_uring_sqe *sqe = io_uring_get_sqe(&s->ring);

        if (!sqe) {
            luring_enter(s);
            sqe = io_uring_get_sqe(&s->ring);
            if (!sqe) {
                /* The kernel refused (EAGAIN): submit_bh retries */
                break;
            }
        }
        QSIMPLEQ_REMOVE_HEAD(&s->pending, next);
        s->n_pending--;
        luring_prep(sqe, req);
        s->in_kernel++;
    }
    luring_enter(s);
}

static void luring_submit_bh(void *opaque)
{
    luring_flush(opaque);
}

static void luring_queue(LuringState *s, LuringRequest *req)
{
    QSIMPLEQ_INSERT_TAIL(&s->pending, req, next);
    s->n_pending++;
    if (s->n_pending >= MIN(LURING_SUBMIT_BATCH, s->sq_entries)) {
        /*
         * A batch's worth: give it to the device now rather than at the
         * end of the turn (see LURING_SUBMIT_BATCH), also while reaping.
         */
        luring_flush(s);
    } else if (!s->reaping) {
        /*
         * Not while reaping: a BH scheduled and then cancelled by the
         * handler's flush would still be on the context's list, and make
         * the next aio_poll() a wasted non-blocking turn.
         */
        qemu_bh_schedule(s->submit_bh);
    }
}

/*
 * Completing
 */

static void luring_finish(LuringState *s, LuringRequest *req, int ret)
{
    trace_luring_complete(s, req, ret);
    req->ret = ret;
    aio_co_wake(req->co);
}

/* Queue the rest of a read or write that moved only part of its bytes. */
static void luring_continue(LuringState *s, LuringRequest *req)
{
    if (req->rest.iov) {
        qemu_iovec_reset(&req->rest);
    } else {
        qemu_iovec_init(&req->rest, req->qiov->niov);
    }
    qemu_iovec_concat(&req->rest, req->qiov, req->done,
                      req->bytes - req->done);
    trace_luring_resubmit_short(s, req, req->done, req->bytes);
    s->stats.uring_resubmits++;
    luring_queue(s, req);
}

static void luring_complete_rw(LuringState *s, LuringRequest *req, int res)
{
    if (res < 0) {
        luring_finish(s, req, res);
        return;
    }
    req->done += res;
    if (req->done == req->bytes) {
        luring_finish(s, req, 0);
    } else if (res > 0) {
        luring_continue(s, req);
    } else if (req->type == QEMU_AIO_READ) {
        /* End of file: the rest reads as zeroes */
        qemu_iovec_memset(req->qiov, req->done, 0, req->bytes - req->done);
        luring_finish(s, req, 0);
    } else {
        /* A write that moves nothing would loop; QEMU calls it EINVAL */
        luring_finish(s, req, -EINVAL);
    }
}

static void luring_complete(LuringState *s, LuringRequest *req, int res)
{
    if (res == -EAGAIN || res == -EINTR) {
        trace_luring_retry(s, req, res);
        s->stats.uring_resubmits++;
        luring_queue(s, req);
        return;
    }

    switch (req->type) {
    case QEMU_AIO_READ:
    case QEMU_AIO_WRITE:
        luring_complete_rw(s, req, res);
        return;
    case QEMU_AIO_WRITE_ZEROES:
        if ((req->mode & FALLOC_FL_PUNCH_HOLE) &&
            (res == -EOPNOTSUPP || res == -EINVAL || res == -EBUSY)) {
            /* No hole here; zeroes that stay allocated do as well */
            trace_luring_zero_range_fallback(s, req, res);
            req->mode = FALLOC_FL_ZERO_RANGE;
            s->stats.uring_resubmits++;
            luring_queue(s, req);
            return;
        }
        break;
    default:
        break;
    }
    luring_finish(s, req, res);
}

static void luring_completion_cb(void *opaque)
{
    LuringState *s = opaque;
    struct io_uring_cqe *cqe;
    uint64_t count;
    ssize_t len;

    /* Read first: a CQE posted after this makes the fd readable again */
    RETRY_ON_EINTR(len = read(s->efd, &count, sizeof(count)));
    (void)len;

    /*
     * One CQE at a time, each marked seen before its request is handled:
     * the coroutines woken here may queue (and even flush) new requests.
     */
    s->reaping = true;
    while (io_uring_peek_cqe(&s->ring, &cqe) == 0) {
        LuringRequest *req = io_uring_cqe_get_data(cqe);
        int res = cqe->res;

        io_uring_cqe_seen(&s->ring, cqe);
        s->in_kernel--;
        luring_complete(s, req, res);
    }
    s->reaping = false;

    /* Resubmissions, requests that waited for room, and new ones: now */
    luring_flush(s);
}

/*
 * The API of the seam
 */

int coroutine_fn luring_co_submit(LuringState *s, int fd, uint64_t offset,
                                  QEMUIOVector *qiov, uint64_t bytes,
                                  int type, int flags)
{
    LuringRequest req = {
        .co = qemu_coroutine_self(),
        .fd = fd,
        .type = type,
        .offset = offset,
        .bytes = bytes,
        .qiov = qiov,
        .ret = -EINPROGRESS,
    };

    if (type == QEMU_AIO_WRITE_ZEROES) {
        req.mode = (flags & QEMU_IO_MAY_UNMAP) ?
                   FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE :
                   FALLOC_FL_ZERO_RANGE;
    } else if (type == QEMU_AIO_DISCARD) {
        req.mode = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
    }

    s->stats.uring_requests++;
    luring_queue(s, &req);
    qemu_coroutine_yield();
    assert(req.ret != -EINPROGRESS);

    qemu_iovec_destroy(&req.rest);
    return req.ret;
}

bool luring_supports(LuringState *s, int type)
{
    if (type == QEMU_AIO_WRITE_ZEROES || type == QEMU_AIO_DISCARD) {
        return s->has_fallocate;
    }
    return true;
}

void luring_get_stats(LuringState *s, QemuIOEngineStats *stats)
{
    stats->uring_requests += s->stats.uring_requests;
    stats->uring_sqes += s->stats.uring_sqes;
    stats->uring_enters += s->stats.uring_enters;
    stats->uring_resubmits += s->stats.uring_resubmits;
}

/*
 * Which of the opcodes this file uses the running kernel knows: false if
 * it lacks one that reads, writes and flushes need; *@has_fallocate says
 * whether the fallocate types can be served.
 */
static bool luring_probe(struct io_uring *ring, bool *has_fallocate)
{
    struct io_uring_probe *probe = io_uring_get_probe_ring(ring);
    bool ok;

    if (!probe) {
        /* Before 5.6: readv, writev and fsync exist, nothing newer does */
        *has_fallocate = false;
        return true;
    }
    ok = io_uring_opcode_supported(probe, IORING_OP_READV) &&
         io_uring_opcode_supported(probe, IORING_OP_WRITEV) &&
         io_uring_opcode_supported(probe, IORING_OP_FSYNC);
    *has_fallocate = io_uring_opcode_supported(probe, IORING_OP_FALLOCATE);
    io_uring_free_probe(probe);
    return ok;
}

LuringState *luring_new(AioContext *ctx, Error **errp)
{
    LuringState *s = g_new0(LuringState, 1);
    struct io_uring_params params = {
        /* One bad SQE must not hold back the rest of its batch */
        .flags = IORING_SETUP_SUBMIT_ALL,
    };
    int ret;

    ret = io_uring_queue_init_params(LURING_ENTRIES, &s->ring, &params);
    if (ret == -EINVAL) {
        /* Before 5.18; the leftovers are submitted next turn instead */
        memset(&params, 0, sizeof(params));
        ret = io_uring_queue_init_params(LURING_ENTRIES, &s->ring, &params);
    }
    if (ret < 0) {
        trace_luring_init_fail(ctx, ret);
        error_setg_errno(errp, -ret, "failed to init linux io_uring ring");
        g_free(s);
        return NULL;
    }

    s->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (s->efd < 0) {
        ret = -errno;
        goto fail_ring;
    }
    ret = io_uring_register_eventfd(&s->ring, s->efd);
    if (ret < 0) {
        goto fail_efd;
    }
    if (!luring_probe(&s->ring, &s->has_fallocate)) {
        ret = -ENOTSUP;
        goto fail_efd;
    }

    s->ctx = ctx;
    s->sq_entries = params.sq_entries;
    s->cq_entries = params.cq_entries;
    QSIMPLEQ_INIT(&s->pending);
    s->submit_bh = aio_bh_new(ctx, luring_submit_bh, s);
    aio_set_fd_handler(ctx, s->efd, luring_completion_cb, NULL, s);
    trace_luring_init(s, ctx, s->sq_entries, s->cq_entries,
                      s->has_fallocate);
    return s;

fail_efd:
    close(s->efd);
fail_ring:
    io_uring_queue_exit(&s->ring);
    trace_luring_init_fail(ctx, ret);
    error_setg_errno(errp, -ret, "failed to init linux io_uring ring");
    g_free(s);
    return NULL;
}

void luring_free(LuringState *s)
{
    trace_luring_free(s);
    /* A request still here would leave its coroutine asleep for ever */
    assert(QSIMPLEQ_EMPTY(&s->pending) && s->in_kernel == 0);
    aio_set_fd_handler(s->ctx, s->efd, NULL, NULL, NULL);
    qemu_bh_delete(s->submit_bh);
    io_uring_queue_exit(&s->ring);
    close(s->efd);
    g_free(s);
}

#else /* !CONFIG_LINUX_IO_URING */

/* Built without liburing: no ring can be made, so the pool serves all. */

LuringState *luring_new(AioContext *ctx, Error **errp)
{
    error_setg(errp, "io_uring support was not compiled in");
    return NULL;
}

void luring_free(LuringState *s)
{
    g_assert_not_reached();
}

bool luring_supports(LuringState *s, int type)
{
    g_assert_not_reached();
}

int coroutine_fn luring_co_submit(LuringState *s, int fd, uint64_t offset,
                                  QEMUIOVector *qiov, uint64_t bytes,
                                  int type, int flags)
{
    g_assert_not_reached();
}

void luring_get_stats(LuringState *s, QemuIOEngineStats *stats)
{
    g_assert_not_reached();
}

#endif /* CONFIG_LINUX_IO_URING */
