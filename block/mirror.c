/*
 * mirror.c: the mirror block job — copy a live disk to a target node
 * while its users keep writing, then pivot them onto the target.
 *
 * The shape is the seed design (../shared/spec/seed-mirror.md), in bytes:
 *
 *  - The job's buffer (buf-size bytes) is cut into granularity-sized
 *    chunks.  A free chunk holds, in its first bytes, its own link on the
 *    QSIMPLEQ free list (MirrorBuffer), so the list costs no memory.
 *  - A dirty bitmap (one bit per chunk of the disk) says what still has
 *    to be copied.  It starts from block status (what the source chain
 *    allocates, per sync mode); it lives on the source node, enabled, so
 *    the request path sets bits for every write that reaches the source
 *    while the job runs (through the mirror_top filter above it, or
 *    straight to the node, as QEMU 7.2 does).
 *  - Each pass of the loop takes the next dirty chunk from an HBitmapIter,
 *    extends the run over the following chunks while they are dirty, not
 *    in flight and within the buffer, clears their dirty bits (before the
 *    read: a write that lands during the copy dirties them again, so
 *    nothing is lost) and starts operations for the run.  An operation
 *    takes its chunks off the free list, reads the source into them and
 *    writes the target from them, in a coroutine of its own.  At most
 *    MAX_IN_FLIGHT operations run at once.
 *  - The in-flight bitmap (one bit per chunk) marks chunks being copied;
 *    a pass waits while its first chunk is still in flight, and ends its
 *    run at the first chunk that is.
 *  - Copy-on-write rounding: when the target is a format whose clusters
 *    are larger than the granularity and whose backing file is not open
 *    yet, the first copy into a cluster is widened to whole clusters
 *    (cow_bitmap remembers which are done), or the target's own COW would
 *    fill the rest of the cluster from nowhere.
 *  - A completed operation returns its chunks to the free list, clears
 *    its in-flight bits, marks cow_bitmap, and wakes the job if it waits.
 *
 * Beyond the seed, as QEMU users expect today: areas that block status
 * says read as zeroes (or are unallocated) are not read; the target gets
 * a zero write (may-unmap) or a discard instead and stays sparse; long
 * dirty runs become operations of up to MAX_IO_BYTES; a mirror_top
 * filter holds the users' edges so that the pivot moves them in one
 * step; and the job goes through the
 * generic job states (include/qemu/job.h) with QEMU 7.2's events.
 *
 * Ending: when nothing is dirty or in flight the target is flushed and
 * the job becomes READY (BLOCK_JOB_READY).  It keeps copying new writes
 * until block-job-complete (or a soft cancel): then it drains the source,
 * checks that nothing is dirty, flushes, and returns.  .prepare pivots:
 * every parent of the source (or of @replaces) moves to the target and
 * the filter leaves the graph.  A soft cancel after READY ends the same
 * way without the pivot; a forced cancel stops at once.
 */
#include "qemu/osdep.h"

#include "block/block_int.h"
#include "block/block-backend.h"
#include "block/blockjob.h"
#include "block/dirty-bitmap.h"
#include "block/mirror.h"
#include "qemu/bitmap.h"
#include "qemu/coroutine.h"
#include "qemu/timer.h"
#include "qapi/error.h"
#include "trace.h"

/* Operations in flight at once (the seed's number). */
#define MAX_IN_FLIGHT 16
/* The largest single copy operation, as QEMU's. */
#define MAX_IO_BYTES (1 * MiB)
#define DEFAULT_MIRROR_BUF_SIZE (16 * MiB)

/* A free chunk of the buffer: the list link lives in the chunk itself. */
typedef struct MirrorBuffer {
    QSIMPLEQ_ENTRY(MirrorBuffer) next;
} MirrorBuffer;

typedef enum MirrorMethod {
    MIRROR_METHOD_COPY,
    MIRROR_METHOD_ZERO,
    MIRROR_METHOD_DISCARD,
} MirrorMethod;

typedef struct MirrorOp MirrorOp;

typedef struct MirrorBlockJob {
    BlockJob common;
    BlockBackend *target;
    BlockDriverState *mirror_top_bs;
    /* The source, below the filter. */
    BlockDriverState *source;
    /* sync=top: the source's backing node, where copying stops. */
    BlockDriverState *base;
    /* The node the target replaces at completion (default: source). */
    char *replaces;
    BlockDriverState *to_replace;
    Error *replace_blocker;

    MirrorSyncMode sync;
    MirrorBackingMode backing_mode;
    BlockdevOnError on_source_error;
    BlockdevOnError on_target_error;
    bool unmap;
    /* Write zeroes to the whole target first (sync=full onto a node). */
    bool zero_target;
    /* job-complete was asked. */
    bool should_complete;
    /* READY was reached (and sent). */
    bool synced;
    /* The final drained section of the source is open. */
    bool in_drain;
    /* mirror_exit_common ran. */
    bool prepared;

    int64_t bdev_length;
    int64_t granularity;
    size_t buf_size;
    int64_t target_cluster_size;
    int max_iov;

    BdrvDirtyBitmap *dirty_bitmap;
    BdrvDirtyBitmapIter *dbi;

    uint8_t *buf;
    QSIMPLEQ_HEAD(, MirrorBuffer) buf_free;
    int buf_free_count;

    /* One bit per chunk: being copied now. */
    unsigned long *in_flight_bitmap;
    /* One bit per chunk: its target cluster was copied whole (COW). */
    unsigned long *cow_bitmap;
    int in_flight;
    int64_t bytes_in_flight;
    QTAILQ_HEAD(, MirrorOp) ops_in_flight;

    /* copy-mode=write-blocking: users' writes reach the target too. */
    MirrorCopyMode copy_mode;
    /* Active writes may run (set up, not ending). */
    bool active_ok;
    /* Users' writes copying to the target right now. */
    int active_writes;
    /* Active writes waiting for chunks in flight. */
    CoQueue active_waiters;

    /* The first error that ends the job ("report"), else 0. */
    int ret;
    /* The job coroutine waits for an operation to complete. */
    bool waiting_for_io;
    int64_t last_pause_ns;
} MirrorBlockJob;

struct MirrorOp {
    MirrorBlockJob *s;
    MirrorMethod method;
    QEMUIOVector qiov;
    int64_t offset;
    int64_t bytes;
    QTAILQ_ENTRY(MirrorOp) next;
};

/* The filter's state: which job it reports writes to. */
typedef struct MirrorBDSOpaque {
    MirrorBlockJob *job;
    /* The job is ending: the filter takes no permissions any more. */
    bool stop;
} MirrorBDSOpaque;

/*
 * Waiting
 */

/* Yield until an operation completes (the seed's "re-enter the job"). */
static void coroutine_fn mirror_wait_for_io(MirrorBlockJob *s)
{
    assert(!s->waiting_for_io);
    s->waiting_for_io = true;
    qemu_coroutine_yield();
    /* The waking operation cleared it. */
    assert(!s->waiting_for_io);
}

static void coroutine_fn mirror_wait_for_all_io(MirrorBlockJob *s)
{
    while (s->in_flight > 0) {
        mirror_wait_for_io(s);
    }
}

/*
 * Errors
 */

static BlockErrorAction mirror_error_action(MirrorBlockJob *s, bool read,
                                            int error)
{
    return block_job_error_action(&s->common,
                                  read ? s->on_source_error
                                       : s->on_target_error,
                                  read, error);
}

/*
 * Operations
 */

/*
 * The end of an operation: give its chunks back, clear its in-flight
 * bits, count its progress, and wake the job.
 */
static void mirror_iteration_done(MirrorOp *op, int ret)
{
    MirrorBlockJob *s = op->s;
    int64_t chunk_num = op->offset / s->granularity;
    int64_t nb_chunks = DIV_ROUND_UP(op->bytes, s->granularity);
    int i;

    trace_mirror_iteration_done(s, op->offset, op->bytes, ret);

    /* Back to the free list in address order (see mirror_take_chunks) */
    for (i = 0; i < op->qiov.niov; i++) {
        uint8_t *base = op->qiov.iov[i].iov_base;
        size_t len = op->qiov.iov[i].iov_len;
        size_t done;

        for (done = 0; done < len; done += s->granularity) {
            QSIMPLEQ_INSERT_TAIL(&s->buf_free, (MirrorBuffer *)(base + done),
                                 next);
            s->buf_free_count++;
        }
    }
    bitmap_clear(s->in_flight_bitmap, chunk_num, nb_chunks);
    if (ret >= 0) {
        if (s->cow_bitmap) {
            bitmap_set(s->cow_bitmap, chunk_num, nb_chunks);
        }
        job_progress_update(&s->common.job, op->bytes);
    }
    s->in_flight--;
    s->bytes_in_flight -= op->bytes;
    QTAILQ_REMOVE(&s->ops_in_flight, op, next);
    qemu_iovec_destroy(&op->qiov);
    g_free(op);
    qemu_co_queue_restart_all(&s->active_waiters);

    /*
     * One wake per wait: from a coroutine the wake is deferred, and a
     * second operation ending before the job runs must not wake it again
     * (it would enter the job in the middle of its next sleep).
     */
    if (s->waiting_for_io) {
        s->waiting_for_io = false;
        aio_co_wake(s->common.job.co);
    }
}

/* A failed read or write: the range is dirty again; apply the policy. */
static void mirror_op_error(MirrorOp *op, bool read, int ret)
{
    MirrorBlockJob *s = op->s;
    BlockErrorAction action;

    bdrv_set_dirty_bitmap(s->dirty_bitmap, op->offset, op->bytes);
    action = mirror_error_action(s, read, -ret);
    if (action == BLOCK_ERROR_ACTION_REPORT && s->ret >= 0) {
        s->ret = ret;
    }
}

/* QEMU's bdrv_can_write_zeroes_with_unmap() for the target. */
static bool mirror_target_can_unmap(MirrorBlockJob *s)
{
    BlockDriverState *target_bs = blk_bs(s->target);

    return (target_bs->open_flags & BDRV_O_UNMAP) &&
           (target_bs->supported_zero_flags & BDRV_REQ_MAY_UNMAP);
}

/*
 * Does the target already read as zeroes over the range?  Then a zero
 * operation has nothing to do, and a sparse target stays sparse even
 * where it cannot punch holes (a raw file with discard=ignore).  Not for
 * a target that names a backing file: what reads as zeroes there now may
 * read as the backing file's data once it is opened.
 */
static bool coroutine_fn mirror_target_reads_zero(MirrorBlockJob *s,
                                                  int64_t offset,
                                                  int64_t bytes)
{
    BlockDriverState *target_bs = blk_bs(s->target);
    int64_t end = offset + bytes;

    if (target_bs->backing_file[0] || bdrv_cow_bs(target_bs)) {
        return false;
    }
    while (offset < end) {
        int64_t pnum;
        int ret = bdrv_co_block_status_above(target_bs, NULL, true, offset,
                                             end - offset, &pnum, NULL,
                                             NULL, NULL);

        if (ret < 0 || !(ret & BDRV_BLOCK_ZERO) || pnum <= 0) {
            return false;
        }
        offset += pnum;
    }
    return true;
}

static void coroutine_fn mirror_co_op(void *opaque)
{
    MirrorOp *op = opaque;
    MirrorBlockJob *s = op->s;
    int ret = 0;

    switch (op->method) {
    case MIRROR_METHOD_COPY:
        ret = bdrv_co_preadv(s->mirror_top_bs->file, op->offset, op->bytes,
                             &op->qiov, 0);
        if (ret < 0) {
            mirror_op_error(op, true, ret);
            break;
        }
        ret = blk_co_pwritev(s->target, op->offset, op->bytes, &op->qiov, 0);
        if (ret < 0) {
            mirror_op_error(op, false, ret);
        }
        break;
    case MIRROR_METHOD_ZERO:
        if (mirror_target_reads_zero(s, op->offset, op->bytes)) {
            /* Nothing to write: the target stays sparse. */
            break;
        }
        ret = blk_co_pwrite_zeroes(s->target, op->offset, op->bytes,
                                   s->unmap ? BDRV_REQ_MAY_UNMAP : 0);
        if (ret < 0) {
            mirror_op_error(op, false, ret);
        }
        break;
    case MIRROR_METHOD_DISCARD:
        ret = blk_co_pdiscard(s->target, op->offset, op->bytes);
        if (ret < 0) {
            mirror_op_error(op, false, ret);
        }
        break;
    }
    mirror_iteration_done(op, ret);
}

/*
 * Widen [*offset, *offset + *bytes) to whole target clusters if its
 * first or last cluster has not been copied yet (the seed's COW
 * rounding).  Returns how many bytes were added in front.
 */
static int64_t mirror_cow_align(MirrorBlockJob *s, int64_t *offset,
                                int64_t *bytes)
{
    int64_t align_offset, align_bytes, head;
    bool need_cow;

    need_cow = !test_bit(*offset / s->granularity, s->cow_bitmap);
    need_cow |= !test_bit((*offset + *bytes - 1) / s->granularity,
                          s->cow_bitmap);
    if (!need_cow) {
        return 0;
    }
    align_offset = QEMU_ALIGN_DOWN(*offset, s->target_cluster_size);
    align_bytes = ROUND_UP(*offset + *bytes, s->target_cluster_size) -
                  align_offset;
    /* Never more than the buffer, never past the end of the disk. */
    if (align_bytes > (int64_t)s->buf_size) {
        align_bytes = QEMU_ALIGN_DOWN(s->buf_size, s->target_cluster_size);
    }
    align_bytes = MIN(align_bytes, s->bdev_length - align_offset);
    if (align_offset + align_bytes <= *offset) {
        return 0;
    }
    head = *offset - align_offset;
    *offset = align_offset;
    *bytes = align_bytes;
    trace_mirror_cow(s, *offset);
    return head;
}

/*
 * Start one operation on [offset, offset + bytes); returns the bytes it
 * covers (COW rounding may change the range).  Waits for chunks and for
 * a free slot first.
 */
/*
 * Give @op the @nb_chunks chunks at the head of the free list as its
 * buffer, chunks that follow each other in memory as one iovec element.
 * The list starts in address order and every operation gives its chunks
 * back in order to the tail, so in a long copy an operation of 16 chunks
 * mostly gets one contiguous megabyte: one element where the kernel would
 * otherwise see 16, which matters to O_DIRECT (each element is a segment
 * of the device request) and costs nothing elsewhere.
 */
static void mirror_take_chunks(MirrorBlockJob *s, MirrorOp *op,
                               int64_t nb_chunks)
{
    int64_t i;

    qemu_iovec_init(&op->qiov, 1);
    for (i = 0; i < nb_chunks; i++) {
        uint8_t *buf = (uint8_t *)QSIMPLEQ_FIRST(&s->buf_free);
        size_t chunk = MIN(s->granularity, op->bytes - i * s->granularity);
        struct iovec *last = op->qiov.niov ?
                             &op->qiov.iov[op->qiov.niov - 1] : NULL;

        QSIMPLEQ_REMOVE_HEAD(&s->buf_free, next);
        s->buf_free_count--;
        if (last && (uint8_t *)last->iov_base + last->iov_len == buf) {
            last->iov_len += chunk;
            op->qiov.size += chunk;
        } else {
            qemu_iovec_add(&op->qiov, buf, chunk);
        }
    }
}

static int64_t coroutine_fn mirror_perform(MirrorBlockJob *s, int64_t offset,
                                           int64_t bytes, MirrorMethod method,
                                           int64_t *op_end)
{
    int64_t nb_chunks;
    MirrorOp *op;
    Coroutine *co;

    if (method == MIRROR_METHOD_COPY) {
        if (s->cow_bitmap) {
            int64_t front = mirror_cow_align(s, &offset, &bytes);

            /* The widened range must not overlap a copy in flight. */
            while (front &&
                   find_next_bit(s->in_flight_bitmap,
                                 (offset + bytes - 1) / s->granularity + 1,
                                 offset / s->granularity) <
                   (unsigned long)((offset + bytes - 1) / s->granularity + 1)) {
                trace_mirror_yield_in_flight(s, offset, s->in_flight);
                mirror_wait_for_io(s);
            }
        }
        bytes = MIN(bytes, (int64_t)s->max_iov * s->granularity);
    }
    nb_chunks = DIV_ROUND_UP(bytes, s->granularity);

    /* Wait for enough free chunks (the seed's step 6) and a free slot. */
    if (method == MIRROR_METHOD_COPY) {
        while (s->buf_free_count < nb_chunks) {
            trace_mirror_yield_buf_busy(s, nb_chunks, s->in_flight);
            mirror_wait_for_io(s);
        }
    }
    while (s->in_flight >= MAX_IN_FLIGHT) {
        trace_mirror_yield_in_flight(s, offset, s->in_flight);
        mirror_wait_for_io(s);
    }

    op = g_new0(MirrorOp, 1);
    op->s = s;
    op->method = method;
    op->offset = offset;
    op->bytes = bytes;
    if (method == MIRROR_METHOD_COPY) {
        mirror_take_chunks(s, op, nb_chunks);
    }
    bitmap_set(s->in_flight_bitmap, offset / s->granularity, nb_chunks);
    s->in_flight++;
    s->bytes_in_flight += bytes;
    QTAILQ_INSERT_TAIL(&s->ops_in_flight, op, next);
    trace_mirror_one_iteration(s, offset, bytes);

    /*
     * Entered at once, as QEMU does: the operation runs until it first
     * waits, so one that fails at once (a dead NBD server) has set s->ret
     * before the next is started.  @op may be gone on return.
     */
    co = qemu_coroutine_create(mirror_co_op, op);
    qemu_coroutine_enter(co);
    *op_end = offset + bytes;
    return bytes;
}

/*
 * One pass: the next dirty run, its dirty bits cleared, split into
 * operations by what block status says of it.  Returns the delay the
 * rate limit asks for.
 */
static int64_t coroutine_fn mirror_iteration(MirrorBlockJob *s)
{
    BlockDriverState *source = s->source;
    int64_t offset, end, run_bytes;
    int64_t delay_ns = 0;
    int64_t nb_chunks = 1;
    int64_t max_run;

    offset = bdrv_dirty_iter_next(s->dbi);
    if (offset < 0) {
        bdrv_set_dirty_iter(s->dbi, 0);
        offset = bdrv_dirty_iter_next(s->dbi);
        trace_mirror_restart_iter(s, bdrv_get_dirty_count(s->dirty_bitmap));
        assert(offset >= 0);
    }

    /* Never copy a chunk twice at once (the seed's step 4). */
    while (test_bit(offset / s->granularity, s->in_flight_bitmap)) {
        trace_mirror_yield_in_flight(s, offset, s->in_flight);
        mirror_wait_for_io(s);
    }

    /* Extend the run over following chunks that are dirty and idle. */
    max_run = MIN((int64_t)s->buf_size, s->bdev_length - offset);
    while (nb_chunks * s->granularity < max_run) {
        int64_t next = offset + nb_chunks * s->granularity;

        if (test_bit(next / s->granularity, s->in_flight_bitmap) ||
            !bdrv_dirty_bitmap_get(s->dirty_bitmap, next)) {
            break;
        }
        nb_chunks++;
    }
    run_bytes = MIN(nb_chunks * s->granularity, s->bdev_length - offset);
    end = offset + run_bytes;

    /* Clear before reading: a write during the copy dirties it again. */
    bdrv_reset_dirty_bitmap(s->dirty_bitmap, offset, run_bytes);
    /* The iterator skips what this pass takes (the seed's step 7). */
    bdrv_set_dirty_iter(s->dbi, end);

    while (offset < end) {
        MirrorMethod method = MIRROR_METHOD_COPY;
        int64_t io_bytes, io_bytes_acct, op_end;
        int ret;

        /*
         * As QEMU: once an error has decided to end the job, start no
         * more operations (each would fail and report again); what is
         * left of the run is dirty again for whoever resumes.
         */
        if (s->ret < 0) {
            bdrv_set_dirty_bitmap(s->dirty_bitmap, offset, end - offset);
            break;
        }

        ret = bdrv_co_block_status_above(source, NULL, true, offset,
                                         end - offset, &io_bytes, NULL,
                                         NULL, NULL);
        if (ret < 0 || io_bytes <= 0) {
            io_bytes = end - offset;
            ret = BDRV_BLOCK_DATA;
        }
        /* Whole chunks, except at the end of the disk. */
        if (offset + io_bytes < end) {
            io_bytes = QEMU_ALIGN_DOWN(io_bytes, s->granularity);
            if (io_bytes == 0) {
                io_bytes = MIN(s->granularity, end - offset);
                ret = BDRV_BLOCK_DATA;
            }
        }

        if (!(ret & BDRV_BLOCK_DATA)) {
            int64_t align = s->cow_bitmap ? s->target_cluster_size
                                          : s->granularity;

            /* Zeroes and discards only where they fit the target. */
            if (QEMU_IS_ALIGNED(offset, align) &&
                (QEMU_IS_ALIGNED(io_bytes, align) ||
                 offset + io_bytes == s->bdev_length)) {
                method = (ret & BDRV_BLOCK_ZERO) ? MIRROR_METHOD_ZERO
                                                 : MIRROR_METHOD_DISCARD;
            }
        }
        if (method == MIRROR_METHOD_COPY) {
            io_bytes = MIN(io_bytes,
                           MAX((int64_t)s->buf_size / MAX_IN_FLIGHT,
                               MAX_IO_BYTES));
        } else {
            trace_mirror_zero_or_discard(s, offset, io_bytes,
                                         method == MIRROR_METHOD_ZERO);
        }

        io_bytes = mirror_perform(s, offset, io_bytes, method, &op_end);
        /*
         * Zeroes and discards cost nothing only on a target that can
         * unmap; elsewhere they are writes like any other (QEMU's rule).
         */
        io_bytes_acct = (method != MIRROR_METHOD_COPY &&
                         mirror_target_can_unmap(s)) ? 0 : io_bytes;
        if (io_bytes <= 0) {
            break;
        }
        /*
         * Go on after what the operation covered (COW rounding may have
         * widened it both ways).  Dirty chunks that a widened operation
         * covered beyond this run stay dirty: they were not read after
         * their bits were cleared, so only a copy of their own is safe.
         */
        offset = op_end;
        delay_ns = block_job_ratelimit_get_delay(&s->common, io_bytes_acct);
    }
    return delay_ns;
}

/*
 * Start and end
 */

/* The initial dirty bitmap, from block status, without reading data. */
static int coroutine_fn mirror_dirty_init(MirrorBlockJob *s)
{
    BlockDriverState *bs = s->source;
    int64_t offset, count;
    int ret;

    if (s->zero_target) {
        /*
         * The target may hold anything: make it read as zeroes first, so
         * that what the source does not allocate needs no copy, or copy
         * everything (where the source reads as zeroes, the copy is a
         * zero operation, which skips what already reads as zeroes).
         */
        if (!mirror_target_can_unmap(s)) {
            bdrv_set_dirty_bitmap(s->dirty_bitmap, 0, s->bdev_length);
            return 0;
        }
        s->last_pause_ns = qemu_clock_get_ns(QEMU_CLOCK_REALTIME);
        for (offset = 0; offset < s->bdev_length; ) {
            int64_t bytes = MIN(s->bdev_length - offset,
                                QEMU_ALIGN_DOWN(INT_MAX, s->granularity));

            ret = blk_co_pwrite_zeroes(s->target, offset, bytes,
                                       BDRV_REQ_MAY_UNMAP |
                                       BDRV_REQ_NO_FALLBACK);
            if (ret < 0) {
                /* No cheap zeroing: copy every byte instead. */
                bdrv_set_dirty_bitmap(s->dirty_bitmap, 0, s->bdev_length);
                return 0;
            }
            offset += bytes;
            if (job_is_cancelled(&s->common.job)) {
                return 0;
            }
        }
    }

    for (offset = 0; offset < s->bdev_length; offset += count) {
        int64_t bytes = MIN(s->bdev_length - offset,
                            QEMU_ALIGN_DOWN(INT_MAX, s->granularity));
        int64_t now = qemu_clock_get_ns(QEMU_CLOCK_REALTIME);

        /* Yield each slice; stop early if cancelled. */
        if (now - s->last_pause_ns > BLOCK_JOB_SLICE_TIME) {
            s->last_pause_ns = now;
            job_sleep_ns(&s->common.job, 0);
        }
        if (job_is_cancelled(&s->common.job)) {
            return 0;
        }
        ret = bdrv_co_is_allocated_above(bs, s->base, false, offset, bytes,
                                         &count);
        if (ret < 0) {
            return ret;
        }
        if (count <= 0) {
            break;
        }
        if (ret > 0) {
            bdrv_set_dirty_bitmap(s->dirty_bitmap, offset, count);
        }
    }
    return 0;
}

/* Flush the target; a failure goes through on-target-error. */
static int coroutine_fn mirror_flush(MirrorBlockJob *s)
{
    int ret = blk_co_flush(s->target);

    if (ret < 0 &&
        mirror_error_action(s, false, -ret) == BLOCK_ERROR_ACTION_REPORT) {
        s->ret = ret;
    }
    return ret;
}

static int coroutine_fn mirror_run(Job *job, Error **errp)
{
    MirrorBlockJob *s = container_of(job, MirrorBlockJob, common.job);
    BlockDriverState *bs = s->source;
    BlockDriverInfo bdi;
    int64_t target_length;
    int64_t delay_ns = 0;
    int64_t nb_chunks;
    uint64_t cnt;
    size_t i;
    int ret = 0;

    s->bdev_length = bdrv_getlength(bs);
    if (s->bdev_length < 0) {
        ret = s->bdev_length;
        goto immediate_exit;
    }
    target_length = blk_getlength(s->target);
    if (target_length < 0) {
        ret = target_length;
        goto immediate_exit;
    }
    if (target_length != s->bdev_length) {
        error_setg(errp, "Source and target image have different sizes");
        ret = -EINVAL;
        goto immediate_exit;
    }

    if (s->bdev_length == 0) {
        /* Nothing to copy: READY at once, then wait for the user. */
        job_transition_to_ready(&s->common.job);
        s->synced = true;
        while (!job_cancel_requested(&s->common.job) && !s->should_complete) {
            job_yield(&s->common.job);
        }
        goto immediate_exit;
    }

    nb_chunks = DIV_ROUND_UP(s->bdev_length, s->granularity);
    s->in_flight_bitmap = bitmap_new(nb_chunks);

    /*
     * COW rounding: a target format with larger clusters than the
     * granularity and a backing file it has not opened yet.
     */
    memset(&bdi, 0, sizeof(bdi));
    if (bdrv_get_info(blk_bs(s->target), &bdi) >= 0 && bdi.cluster_size) {
        s->target_cluster_size = bdi.cluster_size;
    } else {
        s->target_cluster_size = BDRV_SECTOR_SIZE;
    }
    if (blk_bs(s->target)->backing_file[0] &&
        !bdrv_cow_bs(blk_bs(s->target)) &&
        s->granularity < s->target_cluster_size) {
        s->buf_size = MAX(s->buf_size, (size_t)s->target_cluster_size);
        s->cow_bitmap = bitmap_new(nb_chunks);
    }
    s->max_iov = MIN(1024, (int)(s->buf_size / s->granularity));

    s->buf = qemu_try_blockalign(blk_bs(s->target), s->buf_size);
    if (!s->buf) {
        ret = -ENOMEM;
        goto immediate_exit;
    }
    for (i = 0; i < s->buf_size / s->granularity; i++) {
        MirrorBuffer *chunk = (MirrorBuffer *)(s->buf + i * s->granularity);

        QSIMPLEQ_INSERT_TAIL(&s->buf_free, chunk, next);
        s->buf_free_count++;
    }

    s->last_pause_ns = qemu_clock_get_ns(QEMU_CLOCK_REALTIME);
    if (s->sync != MIRROR_SYNC_MODE_NONE) {
        ret = mirror_dirty_init(s);
        if (ret < 0 || job_is_cancelled(&s->common.job)) {
            goto immediate_exit;
        }
    }
    s->dbi = bdrv_dirty_iter_new(s->dirty_bitmap);
    s->active_ok = s->copy_mode == MIRROR_COPY_MODE_WRITE_BLOCKING;

    for (;;) {
        bool should_complete;
        int64_t now;

        if (s->ret < 0) {
            ret = s->ret;
            goto immediate_exit;
        }
        job_pause_point(&s->common.job);
        if (job_is_cancelled(&s->common.job)) {
            ret = 0;
            goto immediate_exit;
        }

        cnt = bdrv_get_dirty_count(s->dirty_bitmap);
        /* What is left: dirty bytes and bytes being copied. */
        job_progress_set_remaining(&s->common.job, s->bytes_in_flight + cnt);

        now = qemu_clock_get_ns(QEMU_CLOCK_REALTIME);
        delay_ns = 0;
        if (now - s->last_pause_ns < BLOCK_JOB_SLICE_TIME &&
            s->common.iostatus == BLOCK_DEVICE_IO_STATUS_OK) {
            if (s->in_flight >= MAX_IN_FLIGHT || s->buf_free_count == 0 ||
                (cnt == 0 && s->in_flight > 0)) {
                trace_mirror_yield(s, cnt, s->buf_free_count, s->in_flight);
                mirror_wait_for_io(s);
                continue;
            } else if (cnt != 0) {
                delay_ns = mirror_iteration(s);
            }
        }

        should_complete = false;
        if (s->in_flight == 0 && cnt == 0) {
            trace_mirror_before_flush(s);
            if (!s->synced) {
                if (mirror_flush(s) < 0) {
                    /* The error action decided; try again next time. */
                    continue;
                }
                /* In sync: offset == len from here until new writes. */
                trace_mirror_ready(s, s->common.job.progress_current);
                job_transition_to_ready(&s->common.job);
                s->synced = true;
            }
            should_complete = s->should_complete ||
                              job_cancel_requested(&s->common.job);
            cnt = bdrv_get_dirty_count(s->dirty_bitmap);
        }

        if (cnt == 0 && should_complete) {
            /*
             * Stop the users of the source and check once more that
             * nothing is left: then the target equals the source, and
             * the drained section lasts until the pivot.
             */
            trace_mirror_before_drain(s, cnt);
            s->in_drain = true;
            bdrv_drained_begin(bs);
            cnt = bdrv_get_dirty_count(s->dirty_bitmap);
            if (cnt > 0 || mirror_flush(s) < 0) {
                bdrv_drained_end(bs);
                s->in_drain = false;
                continue;
            }
            ret = 0;
            goto immediate_exit;
        }

        if (s->synced && !should_complete) {
            /* READY: no rate limit; wake each slice to copy new writes. */
            delay_ns = (s->in_flight == 0 && cnt == 0 ?
                        BLOCK_JOB_SLICE_TIME : 0);
        }
        trace_mirror_before_sleep(s, cnt, s->synced, delay_ns);
        job_sleep_ns(&s->common.job, delay_ns);
        if (job_is_cancelled(&s->common.job)) {
            break;
        }
        s->last_pause_ns = qemu_clock_get_ns(QEMU_CLOCK_REALTIME);
    }

immediate_exit:
    /* Operations still running own chunks of the buffer: let them end. */
    s->active_ok = false;
    mirror_wait_for_all_io(s);
    /* Users' writes copying to the target use the in-flight bitmap. */
    while (s->active_writes > 0) {
        mirror_wait_for_io(s);
    }
    if (s->dbi) {
        bdrv_dirty_iter_free(s->dbi);
        s->dbi = NULL;
    }
    qemu_vfree(s->buf);
    s->buf = NULL;
    g_free(s->cow_bitmap);
    s->cow_bitmap = NULL;
    g_free(s->in_flight_bitmap);
    s->in_flight_bitmap = NULL;
    return ret;
}

/*
 * Completion, cancel, pivot
 */

static void mirror_complete(Job *job, Error **errp)
{
    MirrorBlockJob *s = container_of(job, MirrorBlockJob, common.job);

    if (!s->synced) {
        error_setg(errp, "The active block job '%s' cannot be completed",
                   job->id);
        return;
    }
    /* @replaces may have gone since the start. */
    if (s->replaces) {
        s->to_replace = bdrv_find_node(s->replaces);
        if (!s->to_replace) {
            error_setg(errp, "Node name '%s' not found", s->replaces);
            return;
        }
    }
    s->should_complete = true;
    /* A paused job completes when resumed. */
    if (!job->paused) {
        job_enter(job);
    }
}

static bool mirror_cancel(Job *job, bool force)
{
    /* Before READY every cancel is a forced one. */
    if (force || !job_is_ready(job)) {
        return true;
    }
    return false;
}

/* A pause lets the operations in flight finish first (QEMU does too). */
static void coroutine_fn mirror_pause(Job *job)
{
    MirrorBlockJob *s = container_of(job, MirrorBlockJob, common.job);

    mirror_wait_for_all_io(s);
}

static bool mirror_drained_poll(BlockJob *job)
{
    MirrorBlockJob *s = container_of(job, MirrorBlockJob, common);

    /* The job's own final drain must not wait for the job itself. */
    if (s->in_drain) {
        return false;
    }
    return !!s->in_flight;
}

/*
 * Leave the graph: pivot when the job completed, then take the filter
 * out.  Runs once, from .prepare on success or .abort otherwise.
 */
static int mirror_exit_common(Job *job)
{
    MirrorBlockJob *s = container_of(job, MirrorBlockJob, common.job);
    BlockJob *bjob = &s->common;
    MirrorBDSOpaque *bs_opaque;
    BlockDriverState *src, *target_bs, *mirror_top_bs;
    bool failed = job->ret < 0;
    Error *local_err = NULL;
    int ret = 0;

    if (s->prepared) {
        return 0;
    }
    s->prepared = true;

    mirror_top_bs = s->mirror_top_bs;
    bs_opaque = mirror_top_bs->opaque;
    src = s->source;
    target_bs = blk_bs(s->target);
    bdrv_ref(src);
    bdrv_ref(mirror_top_bs);
    bdrv_ref(target_bs);

    /*
     * The job touches neither node any more: its target backend goes,
     * and the filter stops asking for permissions, so that the source
     * may even become the target's backing file.
     */
    bdrv_drained_begin(mirror_top_bs);
    bs_opaque->stop = true;
    blk_unref(s->target);
    s->target = NULL;
    if (s->dirty_bitmap) {
        bdrv_release_dirty_bitmap(s->dirty_bitmap);
        s->dirty_bitmap = NULL;
    }

    if (s->should_complete && !failed) {
        BlockDriverState *to_replace = s->to_replace ? s->to_replace : src;
        BlockDriverState *backing = NULL;

        trace_mirror_pivot(s, bdrv_get_node_name(to_replace),
                           bdrv_get_node_name(target_bs));
        /* drive-mirror: the new image's backing chain, as requested. */
        if (s->backing_mode == MIRROR_SOURCE_BACKING_CHAIN) {
            backing = s->sync == MIRROR_SYNC_MODE_NONE ? src :
                      s->sync == MIRROR_SYNC_MODE_TOP ? bdrv_cow_bs(src) :
                      NULL;
            if (backing && bdrv_cow_bs(target_bs) != backing &&
                !bdrv_set_backing_hd(target_bs, backing, &local_err)) {
                error_report_err(local_err);
                local_err = NULL;
                ret = -EPERM;
            }
        } else if (s->backing_mode == MIRROR_OPEN_BACKING_CHAIN &&
                   !bdrv_cow_bs(target_bs) && target_bs->backing_file[0] &&
                   target_bs->drv->supports_backing) {
            if (!bdrv_open_backing(target_bs, false, NULL, &local_err)) {
                error_report_err(local_err);
                local_err = NULL;
                ret = -EPERM;
            }
        }

        if (ret == 0) {
            bdrv_drained_begin(target_bs);
            if (!bdrv_replace_node(to_replace, target_bs, &local_err)) {
                error_report_err(local_err);
                local_err = NULL;
                ret = -EPERM;
            }
            bdrv_drained_end(target_bs);
        }
        if (s->to_replace && s->replace_blocker) {
            bdrv_op_unblock_all(s->to_replace, s->replace_blocker);
        }
    }

    /* The filter leaves: its parents go to what is below it now. */
    block_job_remove_all_bdrv(bjob);
    /* Only looser permissions than before: this cannot fail. */
    bdrv_replace_node(mirror_top_bs, mirror_top_bs->file->bs, &error_abort);
    bs_opaque->job = NULL;
    if (s->in_drain) {
        bdrv_drained_end(src);
        s->in_drain = false;
    }
    bdrv_drained_end(mirror_top_bs);

    bdrv_unref(mirror_top_bs);
    bdrv_unref(src);
    bdrv_unref(target_bs);
    /* The job's own reference to the filter. */
    bdrv_unref(mirror_top_bs);
    s->mirror_top_bs = NULL;
    return ret;
}

static int mirror_prepare(Job *job)
{
    return mirror_exit_common(job);
}

static void mirror_abort(Job *job)
{
    int ret = mirror_exit_common(job);

    assert(ret == 0);
}

static void mirror_free(Job *job)
{
    MirrorBlockJob *s = container_of(job, MirrorBlockJob, common.job);

    g_free(s->replaces);
    if (s->replace_blocker) {
        error_free(s->replace_blocker);
    }
}

static const BlockJobDriver mirror_job_driver = {
    .job_driver = {
        .instance_size = sizeof(MirrorBlockJob),
        .job_type = JOB_TYPE_MIRROR,
        .run = mirror_run,
        .pause = mirror_pause,
        .complete = mirror_complete,
        .cancel = mirror_cancel,
        .prepare = mirror_prepare,
        .abort = mirror_abort,
        .free = mirror_free,
    },
    .drained_poll = mirror_drained_poll,
};

/*
 * The mirror_top filter: passes everything to the source below it (the
 * writes mark the job's bitmap there), holds the permissions the job
 * needs on the source, and is where the users' edges sit during the job
 * so that the pivot can move them in one step.
 */

static int coroutine_fn mirror_top_preadv(BlockDriverState *bs,
                                          int64_t offset, int64_t bytes,
                                          QEMUIOVector *qiov,
                                          BdrvRequestFlags flags)
{
    return bdrv_co_preadv(bs->file, offset, bytes, qiov, flags);
}

/*
 * copy-mode=write-blocking (QEMU's active mirror): a user's write goes to
 * the source, then to the target before it completes, so the target
 * keeps up with the writer whatever the background copy does.  The
 * chunks it touches are marked in flight for the time (it waits for
 * background copies of them first, and they wait for it); afterwards the
 * chunks it covers whole, and a partly covered chunk that was clean
 * before, are clean: the target holds what the source holds there.  The
 * part of a partly covered chunk that was dirty is not written to the
 * target (as in QEMU): the chunk stays dirty for the background copy.  A failed target write makes the range dirty again and goes
 * through on-target-error; the user's write itself has succeeded.
 */
static bool mirror_top_copies(MirrorBDSOpaque *o)
{
    MirrorBlockJob *s = o->job;

    return s && !o->stop && s->active_ok && s->ret >= 0 &&
           !job_is_cancelled(&s->common.job);
}

static int coroutine_fn mirror_top_do_write(BlockDriverState *bs,
                                            MirrorMethod method,
                                            int64_t offset, int64_t bytes,
                                            QEMUIOVector *qiov,
                                            BdrvRequestFlags flags)
{
    MirrorBDSOpaque *o = bs->opaque;
    MirrorBlockJob *s = o->job;
    int64_t first, last, end = offset + bytes;
    int64_t reset_start, reset_end;
    bool head_clean, tail_clean;
    int ret, tret;

    if (!bytes || !mirror_top_copies(o)) {
        goto source_only;
    }
    first = offset / s->granularity;
    last = (end - 1) / s->granularity;
    while (find_next_bit(s->in_flight_bitmap, last + 1, first) <=
           (unsigned long)last) {
        trace_mirror_yield_in_flight(s, offset, s->in_flight);
        qemu_co_queue_wait(&s->active_waiters, NULL);
        if (!mirror_top_copies(o)) {
            goto source_only;
        }
    }
    bitmap_set(s->in_flight_bitmap, first, last - first + 1);
    s->active_writes++;
    head_clean = !bdrv_dirty_bitmap_get(s->dirty_bitmap,
                                        first * s->granularity);
    tail_clean = !bdrv_dirty_bitmap_get(s->dirty_bitmap,
                                        last * s->granularity);

    switch (method) {
    case MIRROR_METHOD_COPY:
        ret = bdrv_co_pwritev(bs->file, offset, bytes, qiov, flags);
        break;
    case MIRROR_METHOD_ZERO:
        ret = bdrv_co_pwrite_zeroes(bs->file, offset, bytes, flags);
        break;
    default:
        ret = bdrv_co_pdiscard(bs->file, offset, bytes);
        break;
    }

    if (ret >= 0 && mirror_top_copies(o)) {
        bool head_whole = offset % s->granularity == 0;
        bool tail_whole = end % s->granularity == 0 || end == s->bdev_length;
        int64_t t_off = offset, t_end = end;

        /*
         * As QEMU: the part of a partly covered chunk that was dirty is
         * left to the background copy (it must copy the whole chunk
         * anyway); everything else reaches the target now.
         */
        if (!head_whole && !head_clean) {
            t_off = MIN((first + 1) * s->granularity, end);
        }
        if (!tail_whole && !tail_clean) {
            t_end = MAX(last * s->granularity, t_off);
        }
        reset_start = (head_whole || head_clean) ? first * s->granularity
                                                 : (first + 1) * s->granularity;
        reset_end = (tail_whole || tail_clean)
                    ? MIN((last + 1) * s->granularity, s->bdev_length)
                    : last * s->granularity;
        if (reset_start < reset_end) {
            bdrv_reset_dirty_bitmap(s->dirty_bitmap, reset_start,
                                    reset_end - reset_start);
        }
        tret = 0;
        if (t_off < t_end) {
            job_progress_increase_remaining(&s->common.job, t_end - t_off);
            switch (method) {
            case MIRROR_METHOD_COPY: {
                QEMUIOVector slice;

                qemu_iovec_init_slice(&slice, qiov, t_off - offset,
                                      t_end - t_off);
                tret = blk_co_pwritev(s->target, t_off, t_end - t_off,
                                      &slice, flags & BDRV_REQ_FUA);
                qemu_iovec_destroy(&slice);
                break;
            }
            case MIRROR_METHOD_ZERO:
                tret = blk_co_pwrite_zeroes(s->target, t_off, t_end - t_off,
                                            flags & (BDRV_REQ_MAY_UNMAP |
                                                     BDRV_REQ_FUA));
                break;
            default:
                tret = blk_co_pdiscard(s->target, t_off, t_end - t_off);
                break;
            }
            trace_mirror_active_write(s, t_off, t_end - t_off, tret);
        }
        if (tret < 0) {
            BlockErrorAction action = mirror_error_action(s, false, -tret);

            bdrv_set_dirty_bitmap(s->dirty_bitmap, offset, bytes);
            if (action == BLOCK_ERROR_ACTION_REPORT && s->ret >= 0) {
                s->ret = tret;
            }
        } else if (t_off < t_end) {
            job_progress_update(&s->common.job, t_end - t_off);
        }
    }

    bitmap_clear(s->in_flight_bitmap, first, last - first + 1);
    s->active_writes--;
    qemu_co_queue_restart_all(&s->active_waiters);
    if (s->waiting_for_io) {
        s->waiting_for_io = false;
        aio_co_wake(s->common.job.co);
    }
    return ret;

source_only:
    switch (method) {
    case MIRROR_METHOD_COPY:
        return bdrv_co_pwritev(bs->file, offset, bytes, qiov, flags);
    case MIRROR_METHOD_ZERO:
        return bdrv_co_pwrite_zeroes(bs->file, offset, bytes, flags);
    default:
        return bdrv_co_pdiscard(bs->file, offset, bytes);
    }
}

static int coroutine_fn mirror_top_pwritev(BlockDriverState *bs,
                                           int64_t offset, int64_t bytes,
                                           QEMUIOVector *qiov,
                                           BdrvRequestFlags flags)
{
    return mirror_top_do_write(bs, MIRROR_METHOD_COPY, offset, bytes, qiov,
                               flags);
}

static int coroutine_fn mirror_top_pwrite_zeroes(BlockDriverState *bs,
                                                 int64_t offset,
                                                 int64_t bytes,
                                                 BdrvRequestFlags flags)
{
    return mirror_top_do_write(bs, MIRROR_METHOD_ZERO, offset, bytes, NULL,
                               flags);
}

static int coroutine_fn mirror_top_pdiscard(BlockDriverState *bs,
                                            int64_t offset, int64_t bytes)
{
    return mirror_top_do_write(bs, MIRROR_METHOD_DISCARD, offset, bytes,
                               NULL, 0);
}

static void mirror_top_child_perm(BlockDriverState *bs, BdrvChild *c,
                                  BdrvChildRole role, uint64_t perm,
                                  uint64_t shared, uint64_t *nperm,
                                  uint64_t *nshared)
{
    MirrorBDSOpaque *s = bs->opaque;

    if (s->stop) {
        /* Leaving the graph: hold nothing, let others do anything. */
        *nperm = 0;
        *nshared = BLK_PERM_ALL;
        return;
    }
    bdrv_default_perms(bs, c, role, perm, shared, nperm, nshared);
    /* The job reads the source through this edge. */
    *nperm |= BLK_PERM_CONSISTENT_READ;
    /* Resizing under a running copy is refused. */
    *nshared &= ~BLK_PERM_RESIZE;
}

static int64_t coroutine_fn mirror_top_getlength(BlockDriverState *bs)
{
    /* Opened before its child is attached: empty until then. */
    return bs->file ? bdrv_getlength(bs->file->bs) : 0;
}

static BlockDriver bdrv_mirror_top = {
    .format_name = "mirror_top",
    .instance_size = sizeof(MirrorBDSOpaque),
    .supported_write_flags = BDRV_REQ_FUA | BDRV_REQ_WRITE_UNCHANGED,
    .supported_zero_flags = BDRV_REQ_MAY_UNMAP | BDRV_REQ_NO_FALLBACK,
    .bdrv_co_preadv = mirror_top_preadv,
    .bdrv_co_pwritev = mirror_top_pwritev,
    .bdrv_co_pwrite_zeroes = mirror_top_pwrite_zeroes,
    .bdrv_co_pdiscard = mirror_top_pdiscard,
    .bdrv_child_perm = mirror_top_child_perm,
    .bdrv_co_getlength = mirror_top_getlength,
};

/*
 * Starting a mirror
 */

BlockJob *mirror_start(const MirrorStartArgs *a, Error **errp)
{
    BlockDriverState *bs = a->bs, *target = a->target;
    BlockDriverState *mirror_top_bs;
    MirrorBDSOpaque *bs_opaque;
    MirrorBlockJob *s;
    int64_t granularity = a->granularity;
    int64_t buf_size = a->buf_size;
    BdrvChild *filter_child;

    GLOBAL_STATE_CODE();
    if (a->sync == MIRROR_SYNC_MODE_INCREMENTAL ||
        a->sync == MIRROR_SYNC_MODE_BITMAP) {
        error_setg(errp, "Sync mode '%s' not supported",
                   MirrorSyncMode_str(a->sync));
        return NULL;
    }
    if (granularity == 0) {
        granularity = bdrv_get_default_bitmap_granularity(target);
    }
    assert(is_power_of_2(granularity));
    if (buf_size < 0) {
        error_setg(errp, "Invalid parameter 'buf-size'");
        return NULL;
    }
    if (buf_size == 0) {
        buf_size = DEFAULT_MIRROR_BUF_SIZE;
    }
    if (bs == target) {
        error_setg(errp, "Can't mirror node into itself");
        return NULL;
    }

    /* The filter goes on top of the source first. */
    mirror_top_bs = bdrv_new_open_driver(&bdrv_mirror_top,
                                         a->filter_node_name, BDRV_O_RDWR,
                                         errp);
    if (!mirror_top_bs) {
        return NULL;
    }
    if (!a->filter_node_name) {
        mirror_top_bs->implicit = true;
    }
    bdrv_drained_begin(bs);
    filter_child = bdrv_attach_child(mirror_top_bs, bs, "backing",
                                     BDRV_CHILD_FILTERED | BDRV_CHILD_PRIMARY,
                                     errp);
    if (filter_child) {
        mirror_top_bs->total_bytes = bs->total_bytes;
        bdrv_refresh_limits(mirror_top_bs, NULL);
        bdrv_refresh_filename(mirror_top_bs);
    }
    if (!filter_child || !bdrv_replace_node(bs, mirror_top_bs, errp)) {
        bdrv_drained_end(bs);
        bdrv_unref(mirror_top_bs);
        return NULL;
    }
    bdrv_drained_end(bs);

    s = block_job_create(a->job_id, &mirror_job_driver, mirror_top_bs,
                         BLK_PERM_CONSISTENT_READ,
                         BLK_PERM_CONSISTENT_READ | BLK_PERM_WRITE_UNCHANGED |
                         BLK_PERM_WRITE | BLK_PERM_GRAPH_MOD,
                         a->speed, a->auto_finalize, a->auto_dismiss, errp);
    if (!s) {
        goto fail_filter;
    }
    bs_opaque = mirror_top_bs->opaque;
    bs_opaque->job = s;
    s->mirror_top_bs = mirror_top_bs;
    s->source = bs;
    s->base = a->sync == MIRROR_SYNC_MODE_TOP ? bdrv_cow_bs(bs) : NULL;
    s->sync = a->sync;
    s->backing_mode = a->backing_mode;
    s->zero_target = a->zero_target;
    s->on_source_error = a->on_source_error;
    s->on_target_error = a->on_target_error;
    s->unmap = a->unmap;
    s->copy_mode = a->copy_mode;
    qemu_co_queue_init(&s->active_waiters);
    s->granularity = granularity;
    s->buf_size = ROUND_UP(buf_size, granularity);
    s->replaces = g_strdup(a->replaces);
    QSIMPLEQ_INIT(&s->buf_free);
    QTAILQ_INIT(&s->ops_in_flight);

    /* The target: only this job writes it, nobody reads it consistently. */
    s->target = blk_new(qemu_get_aio_context(), BLK_PERM_WRITE,
                        BLK_PERM_WRITE_UNCHANGED);
    if (blk_insert_bs(s->target, target, errp) < 0) {
        goto fail_job;
    }
    blk_set_disable_request_queuing(s->target, true);

    /*
     * The job's dirty bitmap lives on the source itself and is enabled,
     * as in QEMU 7.2: the request path marks it for every write that
     * reaches the source, through the filter or straight to the node.
     */
    s->dirty_bitmap = bdrv_create_dirty_bitmap(bs, granularity, NULL, errp);
    if (!s->dirty_bitmap) {
        goto fail_job;
    }

    if (!block_job_add_bdrv(&s->common, "source", bs, 0,
                            BLK_PERM_WRITE_UNCHANGED | BLK_PERM_WRITE |
                            BLK_PERM_CONSISTENT_READ, errp) ||
        !block_job_add_bdrv(&s->common, "target", target, 0, BLK_PERM_ALL,
                            errp)) {
        goto fail_job;
    }
    if (a->replaces) {
        s->to_replace = bdrv_find_node(a->replaces);
    }

    trace_mirror_start(bs, s, a->sync, granularity, s->buf_size);
    job_start(&s->common.job);
    return &s->common;

fail_job:
    /* The job never ran: abort takes the filter out again. */
    s->prepared = true;
    if (s->dirty_bitmap) {
        bdrv_release_dirty_bitmap(s->dirty_bitmap);
        s->dirty_bitmap = NULL;
    }
    if (s->target) {
        blk_unref(s->target);
        s->target = NULL;
    }
    bs_opaque->job = NULL;
    block_job_remove_all_bdrv(&s->common);
    job_early_fail(&s->common.job);
    s = NULL;
fail_filter:
    bs_opaque = mirror_top_bs->opaque;
    bs_opaque->stop = true;
    bdrv_drained_begin(bs);
    bdrv_replace_node(mirror_top_bs, bs, &error_abort);
    bdrv_drained_end(bs);
    bdrv_unref(mirror_top_bs);
    return NULL;
}
