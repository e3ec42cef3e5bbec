/*
 * io.c: the request path of the block layer.
 *
 * Every read, write, zero write, discard, flush, block status query and
 * truncate on a node comes through here, and every contract a driver
 * relies on (block_int.h) is established here, once:
 *
 *  1. Bounds: a negative offset or length, or a range beyond
 *     BDRV_MAX_LENGTH, fails with -EIO.  (The node's length is checked by
 *     the BlockBackend; at this level reads beyond the end read zeroes and
 *     writes beyond it grow the node, which is what formats need.)
 *  2. In-flight counting: each request holds bs->in_flight, so a drain
 *     can wait until the node is idle.
 *  3. Tracking: each read, write and discard is a BdrvTrackedRequest in
 *     bs->tracked_requests for its whole life.
 *  4. Alignment: offsets and lengths are padded to
 *     bs->bl.request_alignment.  A padded read reads whole blocks and
 *     drops the padding.  A padded write first reads the head and tail
 *     blocks (read-modify-write) and writes whole blocks.
 *     Writes, discards and truncates assert that the edge they come
 *     through holds the permission (write, resize) for them.
 *  5. Serialisation: a read-modify-write must not interleave with another
 *     request on the same blocks, or it would write back stale padding.
 *     So a padded write is "serialising" over its widened range, and any
 *     request that overlaps a serialising one (or a serialising one that
 *     overlaps anything) waits on that request's CoQueue until it ends.
 *     A request never waits for one that is already waiting, which rules
 *     out deadlock between two serialising requests.
 *  6. Splitting: reads and writes are cut at bs->bl.max_transfer, zero
 *     writes at max_pwrite_zeroes, discards at max_pdiscard.
 *  7. Bounce buffers: a vector whose buffers break
 *     bs->bl.min_mem_alignment is copied through an aligned buffer.
 *  8. Zero writes: detect-zeroes turns a write of a zero buffer into a
 *     zero write; a driver without a zero slot (or one that answers
 *     -ENOTSUP) gets a write of a zeroed buffer instead.
 *  9. Hooks: after a successful write, zero write or discard, the
 *     node's write hooks run with the caller's range (dirty bitmaps).
 *
 * Worked example: request_alignment 4096 and a write of 100 bytes at
 * 5000.  The range is padded to [4096, 8192); the request becomes
 * serialising over that block and waits for any other request on it;
 * block [4096, 8192) is read into a bounce buffer; the write vector is
 * built as buf[0, 904) + the caller's 100 bytes + buf[1004, 4096); one
 * aligned 4096-byte write goes to the driver; the hooks see
 * [5000, 5100).
 *
 * Cost: an aligned request touches no extra memory; a tracked request is
 * on the caller's stack; the overlap scan is linear in the requests in
 * flight on the node, and skipped when none of them is serialising.
 */
#include "qemu/osdep.h"

#include "block/block_int.h"
#include "block/dirty-bitmap.h"
#include "qapi/error.h"
#include "trace.h"

/* The largest buffer of zeroes written when a zero write is emulated. */
#define MAX_ZERO_BOUNCE_BYTES  (1 * MiB)

void *qemu_try_blockalign(BlockDriverState *bs, size_t size)
{
    size_t align = bs->bl.opt_mem_alignment;

    return qemu_try_memalign(MAX(align, qemu_real_host_page_size()), size);
}

void *qemu_blockalign(BlockDriverState *bs, size_t size)
{
    size_t align = bs->bl.opt_mem_alignment;

    return qemu_memalign(MAX(align, qemu_real_host_page_size()), size);
}

/*
 * In-flight counting and drain
 */

void bdrv_inc_in_flight(BlockDriverState *bs)
{
    bs->in_flight++;
}

void bdrv_dec_in_flight(BlockDriverState *bs)
{
    assert(bs->in_flight > 0);
    bs->in_flight--;
    /* A drain in the main loop re-checks its condition. */
    aio_wait_kick();
}

void bdrv_do_drained_begin_quiesce(BlockDriverState *bs)
{
    BdrvChild *c;

    if (bs->quiesce_counter++ > 0) {
        return;
    }
    trace_bdrv_drained_begin(bs);
    QLIST_FOREACH(c, &bs->parents, next_parent) {
        if (c->klass->drained_begin) {
            c->klass->drained_begin(c);
        }
    }
}

bool bdrv_drain_poll(BlockDriverState *bs)
{
    BdrvChild *c;

    if (bs->in_flight) {
        return true;
    }
    QLIST_FOREACH(c, &bs->parents, next_parent) {
        if (c->klass->drained_poll && c->klass->drained_poll(c)) {
            return true;
        }
    }
    return false;
}

typedef struct BdrvCoDrainData {
    Coroutine *co;
    BlockDriverState *bs;
    bool begin;
} BdrvCoDrainData;

static void bdrv_co_drain_bh_cb(void *opaque)
{
    BdrvCoDrainData *data = opaque;

    if (data->begin) {
        bdrv_drained_begin(data->bs);
    } else {
        bdrv_drained_end(data->bs);
    }
    aio_co_wake(data->co);
}

/*
 * A coroutine cannot poll: hand the drain to a BH in the main loop and
 * yield until it is done.
 */
static void coroutine_fn bdrv_co_yield_to_drain(BlockDriverState *bs,
                                                bool begin)
{
    BdrvCoDrainData data = {
        .co = qemu_coroutine_self(),
        .bs = bs,
        .begin = begin,
    };

    aio_bh_schedule_oneshot(qemu_get_aio_context(), bdrv_co_drain_bh_cb,
                            &data);
    qemu_coroutine_yield();
}

void bdrv_drained_begin(BlockDriverState *bs)
{
    if (qemu_in_coroutine()) {
        bdrv_co_yield_to_drain(bs, true);
        return;
    }
    bdrv_do_drained_begin_quiesce(bs);
    AIO_WAIT_WHILE(qemu_get_aio_context(), bdrv_drain_poll(bs));
}

void bdrv_drained_end(BlockDriverState *bs)
{
    BdrvChild *c;

    assert(bs->quiesce_counter > 0);
    if (--bs->quiesce_counter > 0) {
        return;
    }
    trace_bdrv_drained_end(bs);
    QLIST_FOREACH(c, &bs->parents, next_parent) {
        if (c->klass->drained_end) {
            c->klass->drained_end(c);
        }
    }
}

void bdrv_drain(BlockDriverState *bs)
{
    bdrv_drained_begin(bs);
    bdrv_drained_end(bs);
}

/* The nodes bdrv_drain_all_begin() holds drained (and referenced). */
static GSList *drain_all_nodes;

void bdrv_drain_all_begin(void)
{
    BlockDriverState *bs;

    GLOBAL_STATE_CODE();
    for (bs = bdrv_next_node(NULL); bs; bs = bdrv_next_node(bs)) {
        bdrv_ref(bs);
        drain_all_nodes = g_slist_prepend(drain_all_nodes, bs);
    }
    for (GSList *l = drain_all_nodes; l; l = l->next) {
        bdrv_drained_begin(l->data);
    }
}

void bdrv_drain_all_end(void)
{
    GSList *nodes = drain_all_nodes;

    GLOBAL_STATE_CODE();
    drain_all_nodes = NULL;
    for (GSList *l = nodes; l; l = l->next) {
        bdrv_drained_end(l->data);
    }
    for (GSList *l = nodes; l; l = l->next) {
        bdrv_unref(l->data);
    }
    g_slist_free(nodes);
}

void bdrv_drain_all(void)
{
    BlockDriverState *bs;

    for (bs = bdrv_next_node(NULL); bs; bs = bdrv_next_node(bs)) {
        bdrv_drain(bs);
    }
}

/*
 * Debug events (blkdebug): only the node's own driver sees them.
 */

void bdrv_debug_event(BlockDriverState *bs, BlkdebugEvent event)
{
    IO_CODE();
    if (bs && bs->drv && bs->drv->bdrv_debug_event) {
        bs->drv->bdrv_debug_event(bs, event);
    }
}

/*
 * Tracked requests
 */

static void tracked_request_begin(BdrvTrackedRequest *req,
                                  BlockDriverState *bs, int64_t offset,
                                  int64_t bytes,
                                  BdrvTrackedRequestType type)
{
    *req = (BdrvTrackedRequest) {
        .bs = bs,
        .offset = offset,
        .bytes = bytes,
        .type = type,
        .co = qemu_coroutine_self(),
        .overlap_offset = offset,
        .overlap_bytes = bytes,
    };
    qemu_co_queue_init(&req->wait_queue);
    QLIST_INSERT_HEAD(&bs->tracked_requests, req, list);
    /*
     * Anything but a read gives the next flush something to cover.  At
     * the start, not the end: a FUA write emulated with a flush must not
     * find that flush already up to date.
     */
    if (type != BDRV_TRACKED_READ) {
        bs->write_gen++;
    }
}

static void tracked_request_end(BdrvTrackedRequest *req)
{
    if (req->serialising) {
        req->bs->serialising_in_flight--;
    }
    QLIST_REMOVE(req, list);
    qemu_co_queue_restart_all(&req->wait_queue);
}

/*
 * Make @req serialising over its range widened to @align (a power of
 * two).  Called before the request waits (bdrv_wait_serialising_requests)
 * and before it touches any data.
 */
static void tracked_request_set_serialising(BdrvTrackedRequest *req,
                                            uint64_t align)
{
    int64_t start = QEMU_ALIGN_DOWN(req->offset, align);
    int64_t end = ROUND_UP(req->offset + req->bytes, align);

    if (!req->serialising) {
        req->serialising = true;
        req->bs->serialising_in_flight++;
    }
    req->overlap_offset = MIN(req->overlap_offset, start);
    req->overlap_bytes = MAX(req->overlap_offset + req->overlap_bytes,
                             end) - req->overlap_offset;
}

static bool tracked_request_overlaps(BdrvTrackedRequest *req,
                                     int64_t offset, int64_t bytes)
{
    return offset < req->overlap_offset + req->overlap_bytes &&
           req->overlap_offset < offset + bytes;
}

static BdrvTrackedRequest *
bdrv_find_conflicting_request(BdrvTrackedRequest *self)
{
    BdrvTrackedRequest *req;

    QLIST_FOREACH(req, &self->bs->tracked_requests, list) {
        if (req == self || (!req->serialising && !self->serialising)) {
            continue;
        }
        if (!tracked_request_overlaps(req, self->overlap_offset,
                                      self->overlap_bytes)) {
            continue;
        }
        /* Waiting for ourselves would never end. */
        assert(qemu_coroutine_self() != req->co);
        /*
         * A request that already waits (for us, possibly indirectly)
         * is passed over: waiting for it could close a cycle.
         */
        if (!req->waiting_for) {
            return req;
        }
    }
    return NULL;
}

/* Wait until no serialising request conflicts with @self. */
static void coroutine_fn
bdrv_wait_serialising_requests(BdrvTrackedRequest *self)
{
    BdrvTrackedRequest *req;

    if (!self->bs->serialising_in_flight) {
        return;
    }
    while ((req = bdrv_find_conflicting_request(self))) {
        trace_bdrv_wait_serialising(self->bs, self, req, req->offset,
                                    req->bytes);
        self->waiting_for = req;
        qemu_co_queue_wait(&req->wait_queue, NULL);
        self->waiting_for = NULL;
    }
}

/*
 * Bounds
 */

static int bdrv_check_request(int64_t offset, int64_t bytes)
{
    if (offset < 0 || bytes < 0) {
        return -EIO;
    }
    if (offset > BDRV_MAX_LENGTH || bytes > BDRV_MAX_LENGTH - offset) {
        return -EIO;
    }
    return 0;
}

/*
 * Calling the driver
 */

static bool bdrv_qiov_is_aligned(BlockDriverState *bs, QEMUIOVector *qiov)
{
    size_t align = bs->bl.min_mem_alignment;
    int i;

    if (align <= 1) {
        return true;
    }
    for (i = 0; i < qiov->niov; i++) {
        if ((uintptr_t)qiov->iov[i].iov_base % align ||
            qiov->iov[i].iov_len % align) {
            return false;
        }
    }
    return true;
}

/*
 * Read or write (@is_write) @bytes at @offset through the driver, from
 * or to payload bytes [@qiov_offset, + @bytes) of @qiov.  The range is
 * aligned and within max_transfer: only the vector's shape and memory
 * alignment remain to be fixed here.
 */
static int coroutine_fn bdrv_driver_rw(BlockDriverState *bs, bool is_write,
                                       int64_t offset, int64_t bytes,
                                       QEMUIOVector *qiov,
                                       size_t qiov_offset,
                                       BdrvRequestFlags flags)
{
    BlockDriver *drv = bs->drv;
    QEMUIOVector local_qiov;
    QEMUIOVector bounce_qiov;
    QEMUIOVector *use = qiov;
    bool sliced = false;
    void *bounce = NULL;
    int ret;

    assert(QEMU_IS_ALIGNED(offset, bs->bl.request_alignment));
    assert(QEMU_IS_ALIGNED(bytes, bs->bl.request_alignment));
    assert(!bs->bl.max_transfer || bytes <= bs->bl.max_transfer);
    assert(bytes <= BDRV_REQUEST_MAX_BYTES);

    if (qiov_offset != 0 || qiov->size != (size_t)bytes) {
        qemu_iovec_init_slice(&local_qiov, qiov, qiov_offset, bytes);
        use = &local_qiov;
        sliced = true;
    }
    if (!bdrv_qiov_is_aligned(bs, use)) {
        bounce = qemu_try_blockalign(bs, bytes);
        if (!bounce) {
            ret = -ENOMEM;
            goto out;
        }
        if (is_write) {
            qemu_iovec_to_buf(use, 0, bounce, bytes);
        }
        qemu_iovec_init_buf(&bounce_qiov, bounce, bytes);
    }

    if (is_write) {
        if (!drv->bdrv_co_pwritev) {
            ret = -ENOTSUP;
            goto out;
        }
        ret = drv->bdrv_co_pwritev(bs, offset, bytes,
                                   bounce ? &bounce_qiov : use,
                                   flags & bs->supported_write_flags);
        if (ret == 0 && (flags & BDRV_REQ_FUA) &&
            !(bs->supported_write_flags & BDRV_REQ_FUA)) {
            ret = bdrv_co_flush(bs);
        }
    } else {
        if (!drv->bdrv_co_preadv) {
            ret = -ENOTSUP;
            goto out;
        }
        ret = drv->bdrv_co_preadv(bs, offset, bytes,
                                  bounce ? &bounce_qiov : use, 0);
        if (ret == 0 && bounce) {
            qemu_iovec_from_buf(use, 0, bounce, bytes);
        }
    }
    if (ret < 0) {
        trace_bdrv_driver_error(bs, is_write ? "write" : "read", offset,
                                bytes, ret);
    }

out:
    qemu_vfree(bounce);
    if (sliced) {
        qemu_iovec_destroy(&local_qiov);
    }
    return ret;
}

/* The largest aligned chunk of a read or write, never 0. */
static int64_t bdrv_max_rw_chunk(BlockDriverState *bs, uint64_t align)
{
    int64_t max = MIN_NON_ZERO((int64_t)bs->bl.max_transfer,
                               BDRV_REQUEST_MAX_BYTES);

    return QEMU_ALIGN_DOWN(max, align);
}

/*
 * Read an aligned range, in max_transfer chunks.  The part beyond the
 * end of the node (possible only in its last, partial block) reads as
 * zeroes without asking the driver.
 */
static int coroutine_fn bdrv_aligned_preadv(BlockDriverState *bs,
                                            int64_t offset, int64_t bytes,
                                            uint64_t align,
                                            QEMUIOVector *qiov,
                                            size_t qiov_offset)
{
    int64_t max_chunk = bdrv_max_rw_chunk(bs, align);
    int64_t in_node = ROUND_UP(MAX(0, bs->total_bytes - offset), align);
    int64_t done = 0;
    int ret;

    while (done < bytes) {
        int64_t num = MIN(bytes - done, MIN(max_chunk, in_node - done));

        if (num > 0) {
            ret = bdrv_driver_rw(bs, false, offset + done, num, qiov,
                                 qiov_offset + done, 0);
            if (ret < 0) {
                return ret;
            }
        } else {
            num = bytes - done;
            qemu_iovec_memset(qiov, qiov_offset + done, 0, num);
        }
        done += num;
    }
    return 0;
}

static int coroutine_fn bdrv_co_do_pwrite_zeroes(BlockDriverState *bs,
                                                 int64_t offset,
                                                 int64_t bytes,
                                                 BdrvRequestFlags flags);

/*
 * Write an aligned range, in max_transfer chunks; a zero write (qiov
 * NULL) goes to bdrv_co_do_pwrite_zeroes().  detect-zeroes applies here,
 * to the whole aligned request.
 */
static int coroutine_fn bdrv_aligned_pwritev(BlockDriverState *bs,
                                             int64_t offset, int64_t bytes,
                                             uint64_t align,
                                             QEMUIOVector *qiov,
                                             size_t qiov_offset,
                                             BdrvRequestFlags flags)
{
    int64_t max_chunk = bdrv_max_rw_chunk(bs, align);
    int64_t done = 0;
    int ret;

    assert(QEMU_IS_ALIGNED(offset, align) && QEMU_IS_ALIGNED(bytes, align));

    if (!(flags & BDRV_REQ_ZERO_WRITE) &&
        bs->detect_zeroes != BLOCKDEV_DETECT_ZEROES_OPTIONS_OFF &&
        qemu_iovec_is_zero(qiov, qiov_offset, bytes)) {
        flags |= BDRV_REQ_ZERO_WRITE;
        if (bs->detect_zeroes == BLOCKDEV_DETECT_ZEROES_OPTIONS_UNMAP &&
            (bs->open_flags & BDRV_O_UNMAP)) {
            flags |= BDRV_REQ_MAY_UNMAP;
        }
    }
    if (flags & BDRV_REQ_ZERO_WRITE) {
        bdrv_debug_event(bs, BLKDBG_PWRITEV_ZERO);
        ret = bdrv_co_do_pwrite_zeroes(bs, offset, bytes, flags);
        bdrv_debug_event(bs, BLKDBG_PWRITEV_DONE);
        return ret;
    }

    bdrv_debug_event(bs, BLKDBG_PWRITEV);
    ret = 0;
    while (done < bytes) {
        int64_t num = MIN(bytes - done, max_chunk);
        BdrvRequestFlags f = flags;

        /* FUA is only needed on the last chunk, as QEMU does. */
        if (done + num < bytes) {
            f &= ~BDRV_REQ_FUA;
        }
        ret = bdrv_driver_rw(bs, true, offset + done, num, qiov,
                             qiov_offset + done, f);
        if (ret < 0) {
            break;
        }
        done += num;
    }
    bdrv_debug_event(bs, BLKDBG_PWRITEV_DONE);
    return ret;
}

/*
 * Zero an aligned range: the driver's zero slot in chunks it accepts, or
 * writes of a zeroed buffer when it has none or answers -ENOTSUP.
 */
static int coroutine_fn bdrv_co_do_pwrite_zeroes(BlockDriverState *bs,
                                                 int64_t offset,
                                                 int64_t bytes,
                                                 BdrvRequestFlags flags)
{
    BlockDriver *drv = bs->drv;
    uint64_t align = MAX(bs->bl.request_alignment,
                         bs->bl.pwrite_zeroes_alignment);
    int64_t max_zero = QEMU_ALIGN_DOWN(
        MIN_NON_ZERO(bs->bl.max_pwrite_zeroes, BDRV_REQUEST_MAX_BYTES),
        align);
    int64_t max_write = MIN(bdrv_max_rw_chunk(bs, bs->bl.request_alignment),
                            MAX_ZERO_BOUNCE_BYTES);
    void *buf = NULL;
    int ret = 0;

    max_write = MAX(QEMU_ALIGN_DOWN(max_write, bs->bl.request_alignment),
                    (int64_t)bs->bl.request_alignment);

    while (bytes > 0 && ret == 0) {
        int64_t num = bytes;

        ret = -ENOTSUP;
        if (drv->bdrv_co_pwrite_zeroes) {
            /* Keep the driver's chunks aligned to its zero alignment. */
            if (!QEMU_IS_ALIGNED(offset, align)) {
                num = MIN(num, (int64_t)(ROUND_UP(offset, align) - offset));
            } else if (num > align) {
                num = MIN(QEMU_ALIGN_DOWN(num, align), max_zero);
            }
            ret = drv->bdrv_co_pwrite_zeroes(
                bs, offset, num,
                flags & (bs->supported_zero_flags | BDRV_REQ_MAY_UNMAP));
            if (ret == 0 && (flags & BDRV_REQ_FUA) &&
                !(bs->supported_zero_flags & BDRV_REQ_FUA)) {
                ret = bdrv_co_flush(bs);
            }
        }
        if (ret == -ENOTSUP && !(flags & BDRV_REQ_NO_FALLBACK)) {
            QEMUIOVector qiov;

            if (!buf) {
                /* Every later chunk is at most this long. */
                int64_t len = MIN(bytes, max_write);

                buf = qemu_try_blockalign(bs, len);
                if (!buf) {
                    ret = -ENOMEM;
                    break;
                }
                memset(buf, 0, len);
            }
            num = MIN(num, max_write);
            qemu_iovec_init_buf(&qiov, buf, num);
            ret = bdrv_driver_rw(bs, true, offset, num, &qiov, 0,
                                 flags & BDRV_REQ_FUA);
        }
        offset += num;
        bytes -= num;
    }
    if (ret < 0) {
        trace_bdrv_driver_error(bs, "zero", offset, bytes, ret);
    }
    qemu_vfree(buf);
    return ret;
}

/*
 * Padding for unaligned requests
 */

/*
 * The padding of one request.  @buf holds the head block, then the tail
 * block; when the whole request lies in one block (@merged), that block
 * is both and @buf holds it once.
 */
typedef struct BdrvRequestPadding {
    uint8_t *buf;
    size_t buf_len;
    uint8_t *tail_buf;
    size_t head;
    size_t tail;
    bool merged;
    QEMUIOVector local_qiov;
} BdrvRequestPadding;

/* Compute the padding of [@offset, + @bytes); false if none is needed. */
static bool bdrv_init_padding(BlockDriverState *bs, int64_t offset,
                              int64_t bytes, BdrvRequestPadding *pad)
{
    uint64_t align = bs->bl.request_alignment;
    size_t sum;

    memset(pad, 0, sizeof(*pad));
    pad->head = offset & (align - 1);
    pad->tail = (offset + bytes) & (align - 1);
    if (pad->tail) {
        pad->tail = align - pad->tail;
    }
    if (!pad->head && !pad->tail) {
        return false;
    }

    sum = pad->head + bytes + pad->tail;
    pad->buf_len = (sum > align && pad->head && pad->tail) ? 2 * align
                                                           : align;
    pad->buf = qemu_blockalign(bs, pad->buf_len);
    pad->merged = sum == align;
    pad->tail_buf = pad->buf + pad->buf_len - align;
    return true;
}

static void bdrv_padding_destroy(BdrvRequestPadding *pad)
{
    if (pad->buf) {
        qemu_vfree(pad->buf);
        qemu_iovec_destroy(&pad->local_qiov);
    }
}

/*
 * Widen *@offset / *@bytes to the alignment and make *@qiov a vector over
 * padding + caller's data + padding.  False if no padding was needed (the
 * arguments are unchanged).
 */
static bool bdrv_pad_request(BlockDriverState *bs, QEMUIOVector **qiov,
                             size_t *qiov_offset, int64_t *offset,
                             int64_t *bytes, BdrvRequestPadding *pad)
{
    uint64_t align = bs->bl.request_alignment;

    if (!bdrv_init_padding(bs, *offset, *bytes, pad)) {
        return false;
    }
    qemu_iovec_init(&pad->local_qiov, (*qiov)->niov + 2);
    if (pad->head) {
        qemu_iovec_add(&pad->local_qiov, pad->buf, pad->head);
    }
    qemu_iovec_concat(&pad->local_qiov, *qiov, *qiov_offset, *bytes);
    if (pad->tail) {
        qemu_iovec_add(&pad->local_qiov,
                       pad->tail_buf + align - pad->tail, pad->tail);
    }
    *offset -= pad->head;
    *bytes += pad->head + pad->tail;
    *qiov = &pad->local_qiov;
    *qiov_offset = 0;
    return true;
}

/*
 * The read half of read-modify-write: fill the head and tail blocks of
 * @pad for the padded range starting at @offset (aligned) of @bytes.
 */
static int coroutine_fn bdrv_padding_rmw_read(BlockDriverState *bs,
                                              BdrvTrackedRequest *req,
                                              int64_t offset, int64_t bytes,
                                              BdrvRequestPadding *pad)
{
    uint64_t align = bs->bl.request_alignment;
    QEMUIOVector qiov;
    int ret;

    trace_bdrv_rmw_read(bs, req, offset, bytes, pad->head, pad->tail);
    if (pad->head || pad->merged) {
        /* One block that is both head and tail fires both events. */
        if (pad->head) {
            bdrv_debug_event(bs, BLKDBG_PWRITEV_RMW_HEAD);
        }
        if (pad->merged && pad->tail) {
            bdrv_debug_event(bs, BLKDBG_PWRITEV_RMW_TAIL);
        }
        qemu_iovec_init_buf(&qiov, pad->buf, align);
        ret = bdrv_aligned_preadv(bs, offset, align, align, &qiov, 0);
        if (ret < 0) {
            return ret;
        }
        if (pad->head) {
            bdrv_debug_event(bs, BLKDBG_PWRITEV_RMW_AFTER_HEAD);
        }
        if (pad->merged && pad->tail) {
            bdrv_debug_event(bs, BLKDBG_PWRITEV_RMW_AFTER_TAIL);
        }
    }
    if (pad->tail && !pad->merged) {
        bdrv_debug_event(bs, BLKDBG_PWRITEV_RMW_TAIL);
        qemu_iovec_init_buf(&qiov, pad->tail_buf, align);
        ret = bdrv_aligned_preadv(bs, offset + bytes - align, align, align,
                                  &qiov, 0);
        if (ret < 0) {
            return ret;
        }
        bdrv_debug_event(bs, BLKDBG_PWRITEV_RMW_AFTER_TAIL);
    }
    return 0;
}

/*
 * An unaligned zero write: write the partial head and tail blocks as
 * data (read, zero the covered part, write back) and zero the aligned
 * middle.  @req is serialising already.
 */
static int coroutine_fn bdrv_co_do_zero_pwritev(BlockDriverState *bs,
                                                BdrvTrackedRequest *req,
                                                int64_t offset,
                                                int64_t bytes,
                                                BdrvRequestFlags flags,
                                                BdrvRequestPadding *pad)
{
    uint64_t align = bs->bl.request_alignment;
    BdrvRequestFlags data_flags = flags & BDRV_REQ_FUA;
    int64_t aligned_offset = offset - pad->head;
    int64_t padded_bytes = pad->head + bytes + pad->tail;
    QEMUIOVector qiov;
    int ret;

    ret = bdrv_padding_rmw_read(bs, req, aligned_offset, padded_bytes, pad);
    if (ret < 0) {
        return ret;
    }
    if (pad->merged) {
        memset(pad->buf + pad->head, 0, bytes);
        qemu_iovec_init_buf(&qiov, pad->buf, align);
        return bdrv_aligned_pwritev(bs, aligned_offset, align, align, &qiov,
                                    0, data_flags);
    }
    if (pad->head) {
        memset(pad->buf + pad->head, 0, align - pad->head);
        qemu_iovec_init_buf(&qiov, pad->buf, align);
        ret = bdrv_aligned_pwritev(bs, aligned_offset, align, align, &qiov,
                                   0, data_flags);
        if (ret < 0) {
            return ret;
        }
        offset += align - pad->head;
        bytes -= align - pad->head;
    }
    if (bytes >= (int64_t)align) {
        int64_t middle = QEMU_ALIGN_DOWN(bytes, align);

        /* The aligned middle is an aligned zero write, as in QEMU. */
        bdrv_debug_event(bs, BLKDBG_PWRITEV_ZERO);
        ret = bdrv_co_do_pwrite_zeroes(bs, offset, middle, flags);
        bdrv_debug_event(bs, BLKDBG_PWRITEV_DONE);
        if (ret < 0) {
            return ret;
        }
        offset += middle;
        bytes -= middle;
    }
    if (pad->tail) {
        assert(bytes > 0 && bytes < (int64_t)align);
        memset(pad->tail_buf, 0, bytes);
        qemu_iovec_init_buf(&qiov, pad->tail_buf, align);
        ret = bdrv_aligned_pwritev(bs, offset, align, align, &qiov, 0,
                                   data_flags);
    }
    return ret;
}

/*
 * Reads and writes
 */

static int coroutine_fn bdrv_co_preadv_part(BdrvChild *child,
                                            int64_t offset, int64_t bytes,
                                            QEMUIOVector *qiov,
                                            size_t qiov_offset,
                                            BdrvRequestFlags flags)
{
    BlockDriverState *bs = child->bs;
    BdrvTrackedRequest req;
    BdrvRequestPadding pad;
    int ret;

    IO_CODE();
    trace_bdrv_co_preadv_part(bs, offset, bytes, flags);
    if (!bs->drv) {
        return -ENOMEDIUM;
    }
    ret = bdrv_check_request(offset, bytes);
    if (ret < 0) {
        return ret;
    }
    assert(qiov->size >= qiov_offset + bytes);
    if (bytes == 0) {
        return 0;
    }

    bdrv_inc_in_flight(bs);
    tracked_request_begin(&req, bs, offset, bytes, BDRV_TRACKED_READ);
    bdrv_wait_serialising_requests(&req);
    bdrv_pad_request(bs, &qiov, &qiov_offset, &offset, &bytes, &pad);
    ret = bdrv_aligned_preadv(bs, offset, bytes, bs->bl.request_alignment,
                              qiov, qiov_offset);
    bdrv_padding_destroy(&pad);
    tracked_request_end(&req);
    bdrv_dec_in_flight(bs);
    trace_bdrv_co_request_done(bs, "read", req.offset, req.bytes, ret);
    return ret;
}

int coroutine_fn bdrv_co_preadv(BdrvChild *child, int64_t offset,
                                int64_t bytes, QEMUIOVector *qiov,
                                BdrvRequestFlags flags)
{
    return bdrv_co_preadv_part(child, offset, bytes, qiov, 0, flags);
}

/* After a write, zero write or discard: grow the length, run the hooks. */
static void bdrv_co_write_req_finish(BdrvTrackedRequest *req, int ret)
{
    BlockDriverState *bs = req->bs;
    BdrvWriteHook *hook, *next;

    if (ret < 0) {
        return;
    }
    if (req->type == BDRV_TRACKED_WRITE &&
        req->offset + req->bytes > bs->total_bytes) {
        bs->total_bytes = req->offset + req->bytes;
    }
    QLIST_FOREACH_SAFE(hook, &bs->write_hooks, next, next) {
        hook->cb(bs, req->offset, req->bytes, hook->opaque);
    }
}

static int coroutine_fn bdrv_co_pwritev_part(BdrvChild *child,
                                             int64_t offset, int64_t bytes,
                                             QEMUIOVector *qiov,
                                             size_t qiov_offset,
                                             BdrvRequestFlags flags)
{
    BlockDriverState *bs = child->bs;
    uint64_t align;
    BdrvTrackedRequest req;
    BdrvRequestPadding pad;
    bool padded;
    int ret;

    IO_CODE();
    if (flags & BDRV_REQ_ZERO_WRITE) {
        trace_bdrv_co_pwrite_zeroes(bs, offset, bytes, flags);
    } else {
        trace_bdrv_co_pwritev_part(bs, offset, bytes, flags);
    }
    if (!bs->drv) {
        return -ENOMEDIUM;
    }
    if (bs->read_only) {
        return -EPERM;
    }
    ret = bdrv_check_request(offset, bytes);
    if (ret < 0) {
        return ret;
    }
    if (bytes == 0) {
        return 0;
    }
    assert(flags & BDRV_REQ_ZERO_WRITE || qiov->size >= qiov_offset + bytes);
    /* The parent took the permission (block.c checked it against all). */
    assert(child->perm & ((flags & BDRV_REQ_WRITE_UNCHANGED)
                          ? (BLK_PERM_WRITE | BLK_PERM_WRITE_UNCHANGED)
                          : BLK_PERM_WRITE));
    align = bs->bl.request_alignment;

    bdrv_inc_in_flight(bs);
    tracked_request_begin(&req, bs, offset, bytes, BDRV_TRACKED_WRITE);

    if (flags & BDRV_REQ_ZERO_WRITE) {
        padded = bdrv_init_padding(bs, offset, bytes, &pad);
        if (padded) {
            tracked_request_set_serialising(&req, align);
        }
        bdrv_wait_serialising_requests(&req);
        if (padded) {
            ret = bdrv_co_do_zero_pwritev(bs, &req, offset, bytes, flags,
                                          &pad);
            qemu_vfree(pad.buf);
        } else {
            ret = bdrv_aligned_pwritev(bs, offset, bytes, align, NULL, 0,
                                       flags);
        }
    } else {
        padded = bdrv_pad_request(bs, &qiov, &qiov_offset, &offset, &bytes,
                                  &pad);
        if (padded) {
            tracked_request_set_serialising(&req, align);
        }
        bdrv_wait_serialising_requests(&req);
        ret = 0;
        if (padded) {
            ret = bdrv_padding_rmw_read(bs, &req, offset, bytes, &pad);
        }
        if (ret == 0) {
            ret = bdrv_aligned_pwritev(bs, offset, bytes, align, qiov,
                                       qiov_offset, flags);
        }
        bdrv_padding_destroy(&pad);
    }

    bdrv_co_write_req_finish(&req, ret);
    tracked_request_end(&req);
    bdrv_dec_in_flight(bs);
    trace_bdrv_co_request_done(bs, flags & BDRV_REQ_ZERO_WRITE ? "zero"
                                                               : "write",
                               req.offset, req.bytes, ret);
    return ret;
}

int coroutine_fn bdrv_co_pwritev(BdrvChild *child, int64_t offset,
                                 int64_t bytes, QEMUIOVector *qiov,
                                 BdrvRequestFlags flags)
{
    assert(!(flags & BDRV_REQ_ZERO_WRITE));
    return bdrv_co_pwritev_part(child, offset, bytes, qiov, 0, flags);
}

/*
 * As QEMU: a layer above may unmap in its child only where the child was
 * opened with discard=unmap; a BlockBackend's user (a guest, an NBD
 * client) asks the root node itself, through bdrv_co_pwrite_zeroes_root(),
 * and its MAY_UNMAP stands.
 */
int coroutine_fn bdrv_co_pwrite_zeroes(BdrvChild *child, int64_t offset,
                                       int64_t bytes,
                                       BdrvRequestFlags flags)
{
    if (!(child->bs->open_flags & BDRV_O_UNMAP)) {
        flags &= ~BDRV_REQ_MAY_UNMAP;
    }
    return bdrv_co_pwrite_zeroes_root(child, offset, bytes, flags);
}

int coroutine_fn bdrv_co_pwrite_zeroes_root(BdrvChild *root, int64_t offset,
                                            int64_t bytes,
                                            BdrvRequestFlags flags)
{
    return bdrv_co_pwritev_part(root, offset, bytes, NULL, 0,
                                flags | BDRV_REQ_ZERO_WRITE);
}

int coroutine_fn bdrv_co_pread(BdrvChild *child, int64_t offset,
                               int64_t bytes, void *buf,
                               BdrvRequestFlags flags)
{
    QEMUIOVector qiov;

    if (bytes < 0) {
        return -EIO;
    }
    qemu_iovec_init_buf(&qiov, buf, bytes);
    return bdrv_co_preadv(child, offset, bytes, &qiov, flags);
}

int coroutine_fn bdrv_co_pwrite(BdrvChild *child, int64_t offset,
                                int64_t bytes, const void *buf,
                                BdrvRequestFlags flags)
{
    QEMUIOVector qiov;

    if (bytes < 0) {
        return -EIO;
    }
    qemu_iovec_init_buf(&qiov, (void *)buf, bytes);
    return bdrv_co_pwritev(child, offset, bytes, &qiov, flags);
}

/*
 * Discard and flush
 */

int coroutine_fn bdrv_co_pdiscard(BdrvChild *child, int64_t offset,
                                  int64_t bytes)
{
    BlockDriverState *bs = child->bs;
    BdrvTrackedRequest req;
    uint64_t align;
    int64_t max, start, end;
    int ret;

    IO_CODE();
    trace_bdrv_co_pdiscard(bs, offset, bytes);
    if (!bs->drv) {
        return -ENOMEDIUM;
    }
    ret = bdrv_check_request(offset, bytes);
    if (ret < 0) {
        return ret;
    }
    if (bs->read_only) {
        return -EPERM;
    }
    if (!(bs->open_flags & BDRV_O_UNMAP) || !bs->drv->bdrv_co_pdiscard ||
        bytes == 0) {
        return 0;
    }
    assert(child->perm & BLK_PERM_WRITE);

    align = MAX(bs->bl.pdiscard_alignment, bs->bl.request_alignment);
    max = QEMU_ALIGN_DOWN(MIN_NON_ZERO(bs->bl.max_pdiscard,
                                       BDRV_REQUEST_MAX_BYTES), align);
    /* Only whole blocks are discarded; partial ones are left alone. */
    start = ROUND_UP(offset, align);
    end = QEMU_ALIGN_DOWN(offset + bytes, align);

    bdrv_inc_in_flight(bs);
    tracked_request_begin(&req, bs, offset, bytes, BDRV_TRACKED_DISCARD);
    bdrv_wait_serialising_requests(&req);
    ret = 0;
    while (start < end) {
        int64_t num = MIN(end - start, max);

        ret = bs->drv->bdrv_co_pdiscard(bs, start, num);
        if (ret == -ENOTSUP) {
            ret = 0;
        }
        if (ret < 0) {
            trace_bdrv_driver_error(bs, "discard", start, num, ret);
            break;
        }
        start += num;
    }
    bdrv_co_write_req_finish(&req, ret);
    tracked_request_end(&req);
    bdrv_dec_in_flight(bs);
    trace_bdrv_co_request_done(bs, "discard", offset, bytes, ret);
    return ret;
}

int coroutine_fn bdrv_co_flush(BlockDriverState *bs)
{
    BdrvChild *child;
    uint64_t current_gen;
    int ret = 0;

    IO_CODE();
    if (!bs || !bs->drv) {
        return 0;
    }
    trace_bdrv_co_flush(bs);
    bdrv_inc_in_flight(bs);
    current_gen = bs->write_gen;
    if (bs->flushed_gen == current_gen) {
        /* Nothing written here since the last flush: only the children. */
        goto flush_children;
    }
    /* QEMU's two halves of a flush, fired on the primary child. */
    BLKDBG_EVENT(bs->file, BLKDBG_FLUSH_TO_OS);
    if (!(bs->open_flags & BDRV_O_NO_FLUSH)) {
        BLKDBG_EVENT(bs->file, BLKDBG_FLUSH_TO_DISK);
    }
    if (bs->drv->bdrv_co_flush && !(bs->open_flags & BDRV_O_NO_FLUSH)) {
        ret = bs->drv->bdrv_co_flush(bs);
        if (ret < 0) {
            trace_bdrv_driver_error(bs, "flush", 0, 0, ret);
            goto out;
        }
    }
flush_children:
    QLIST_FOREACH(child, &bs->children, next) {
        int child_ret;

        /* A child this node never writes has nothing of ours to flush. */
        if (!(child->perm & (BLK_PERM_WRITE | BLK_PERM_WRITE_UNCHANGED))) {
            continue;
        }
        child_ret = bdrv_co_flush(child->bs);
        if (child_ret < 0 && ret == 0) {
            ret = child_ret;
        }
    }
out:
    if (ret == 0) {
        bs->flushed_gen = current_gen;
    }
    bdrv_dec_in_flight(bs);
    trace_bdrv_co_request_done(bs, "flush", 0, 0, ret);
    return ret;
}

/*
 * Block status
 */

int coroutine_fn bdrv_co_block_status(BlockDriverState *bs, bool want_zero,
                                      int64_t offset, int64_t bytes,
                                      int64_t *pnum, int64_t *map,
                                      BlockDriverState **file)
{
    int64_t total = bs->total_bytes;
    int64_t local_map = 0;
    int64_t local_pnum = 0;
    BlockDriverState *local_file = NULL;
    int ret;

    IO_CODE();
    assert(pnum);
    *pnum = 0;
    if (!bs->drv) {
        return -ENOMEDIUM;
    }
    ret = bdrv_check_request(offset, bytes);
    if (ret < 0) {
        return ret;
    }
    if (offset >= total) {
        return BDRV_BLOCK_EOF;
    }
    bytes = MIN(bytes, total - offset);
    if (bytes == 0) {
        return 0;
    }

    bdrv_inc_in_flight(bs);
    if (!bs->drv->bdrv_co_block_status) {
        local_pnum = bytes;
        local_map = offset;
        if (bs->drv->protocol_name) {
            ret = BDRV_BLOCK_DATA | BDRV_BLOCK_OFFSET_VALID;
            local_file = bs;
        } else if (bs->file) {
            ret = BDRV_BLOCK_RAW | BDRV_BLOCK_OFFSET_VALID;
            local_file = bs->file->bs;
        } else {
            ret = BDRV_BLOCK_DATA;
        }
    } else {
        uint64_t align = bs->bl.request_alignment;
        int64_t aligned_offset = QEMU_ALIGN_DOWN(offset, align);
        int64_t aligned_bytes = ROUND_UP(offset + bytes, align) -
                                aligned_offset;

        ret = bs->drv->bdrv_co_block_status(bs, want_zero, aligned_offset,
                                            aligned_bytes, &local_pnum,
                                            &local_map, &local_file);
        if (ret < 0) {
            trace_bdrv_driver_error(bs, "block_status", offset, bytes, ret);
            goto out;
        }
        assert(local_pnum > 0);
        /* Clip the answer back to what the caller asked. */
        local_pnum -= offset - aligned_offset;
        if (local_pnum > bytes) {
            local_pnum = bytes;
        }
        assert(local_pnum > 0);
        if (ret & (BDRV_BLOCK_OFFSET_VALID | BDRV_BLOCK_RAW)) {
            local_map += offset - aligned_offset;
        }
    }

    if (ret & BDRV_BLOCK_RAW) {
        assert((ret & BDRV_BLOCK_OFFSET_VALID) && local_file);
        ret = bdrv_co_block_status(local_file, want_zero, local_map,
                                   local_pnum, &local_pnum, &local_map,
                                   &local_file);
        if (ret < 0) {
            goto out;
        }
        ret &= ~BDRV_BLOCK_EOF;
        if (local_pnum == 0) {
            /* The child ends before the parent: reads there give zeroes. */
            local_pnum = bytes;
            ret = BDRV_BLOCK_ZERO;
        }
    }
    if (ret & (BDRV_BLOCK_DATA | BDRV_BLOCK_ZERO)) {
        ret |= BDRV_BLOCK_ALLOCATED;
    } else if (bs->drv->supports_backing) {
        /*
         * Not allocated here: the backing file decides, and without one,
         * or past its end, the range reads as zeroes.
         */
        BlockDriverState *cow = bdrv_cow_bs(bs);

        if (!cow || (want_zero && offset >= bdrv_getlength(cow))) {
            ret |= BDRV_BLOCK_ZERO;
        }
    }
    if (offset + local_pnum == total) {
        ret |= BDRV_BLOCK_EOF;
    }
    *pnum = local_pnum;
    if (map) {
        *map = local_map;
    }
    if (file) {
        *file = local_file;
    }

out:
    bdrv_dec_in_flight(bs);
    return ret;
}

int coroutine_fn bdrv_co_block_status_above(BlockDriverState *bs,
                                            BlockDriverState *base,
                                            bool want_zero, int64_t offset,
                                            int64_t bytes, int64_t *pnum,
                                            int64_t *map,
                                            BlockDriverState **file,
                                            int *depth)
{
    BlockDriverState *p;
    int64_t n = bytes;
    int ret = 0;
    int d = 1;

    IO_CODE();
    assert(pnum);
    if (bs == base) {
        *pnum = bytes;
        if (depth) {
            *depth = 0;
        }
        return 0;
    }
    for (p = bs; p != base; p = bdrv_cow_bs(p), d++) {
        int64_t len = bdrv_getlength(p);

        if (offset >= len) {
            /*
             * A node shorter than the one above reads as zeroes here;
             * that decides the range unless it is the top node (its own
             * end is the caller's EOF).
             */
            if (p == bs) {
                return bdrv_co_block_status(p, want_zero, offset, n, pnum,
                                            map, file);
            }
            *pnum = n;
            ret = BDRV_BLOCK_ZERO | BDRV_BLOCK_ALLOCATED;
            if (map) {
                *map = 0;
            }
            if (file) {
                *file = NULL;
            }
            break;
        }
        ret = bdrv_co_block_status(p, want_zero, offset, n, pnum, map, file);
        if (ret < 0) {
            return ret;
        }
        if (p != bs) {
            /* EOF of a lower node says nothing about the top one. */
            ret &= ~BDRV_BLOCK_EOF;
        }
        if (ret & BDRV_BLOCK_ALLOCATED) {
            break;
        }
        /* What stays unallocated is at most what @p left unallocated. */
        n = *pnum;
        if (!bdrv_cow_bs(p) || bdrv_cow_bs(p) == base) {
            /* The chain ends unallocated: keep @p's answer (ZERO if so). */
            break;
        }
    }
    if (p == base || !(ret & BDRV_BLOCK_ALLOCATED)) {
        d = 0;
    }
    if (depth) {
        *depth = d;
    }
    return ret;
}

int coroutine_fn bdrv_co_is_allocated_above(BlockDriverState *top,
                                            BlockDriverState *base,
                                            bool include_base,
                                            int64_t offset, int64_t bytes,
                                            int64_t *pnum)
{
    BlockDriverState *p;
    BlockDriverState *stop = include_base ? bdrv_cow_bs(base) : base;
    int64_t n = bytes;

    IO_CODE();
    for (p = top; p && p != stop; p = bdrv_cow_bs(p)) {
        int64_t pnum_inter;
        int ret;

        ret = bdrv_co_block_status(p, false, offset, n, &pnum_inter, NULL,
                                   NULL);
        if (ret < 0) {
            return ret;
        }
        if (pnum_inter == 0) {
            /* Past the end of @p: a shorter backing node allocates zeroes
             * there for the chain above it. */
            if (p != top) {
                *pnum = n;
                return 1;
            }
            *pnum = 0;
            return 0;
        }
        if (ret & BDRV_BLOCK_ALLOCATED) {
            *pnum = pnum_inter;
            return 1;
        }
        n = pnum_inter;
    }
    *pnum = n;
    return 0;
}

/*
 * Length and truncate
 */

int64_t coroutine_fn bdrv_co_getlength(BlockDriverState *bs)
{
    if (!bs->drv) {
        return -ENOMEDIUM;
    }
    if (bs->drv->bdrv_co_getlength) {
        return bs->drv->bdrv_co_getlength(bs);
    }
    if (bs->file) {
        return bdrv_co_getlength(bs->file->bs);
    }
    return -ENOMEDIUM;
}

int coroutine_fn bdrv_co_truncate(BdrvChild *child, int64_t offset,
                                  bool exact, PreallocMode prealloc,
                                  BdrvRequestFlags flags, Error **errp)
{
    BlockDriverState *bs = child->bs;
    BdrvTrackedRequest req;
    int64_t old_size, start, len;
    int ret;

    trace_bdrv_co_truncate(bs, offset, exact, prealloc);
    if (!bs->drv) {
        error_setg(errp, "No medium inserted");
        return -ENOMEDIUM;
    }
    if (offset < 0) {
        error_setg(errp, "Image size cannot be negative");
        return -EINVAL;
    }
    if (offset > BDRV_MAX_LENGTH) {
        error_setg(errp, "offset(%" PRIi64 ") exceeds maximum(%" PRIi64 ")",
                   offset, (int64_t)BDRV_MAX_LENGTH);
        return -EIO;
    }
    if (bs->read_only) {
        error_setg(errp, "Image is read-only");
        return -EACCES;
    }
    if (!bs->drv->bdrv_co_truncate) {
        error_setg(errp, "Image format driver does not support resize");
        return -ENOTSUP;
    }

    assert(child->perm & BLK_PERM_RESIZE);
    old_size = bs->total_bytes;
    start = MIN(old_size, offset);
    len = MAX(BDRV_MAX_LENGTH - start, 1);

    bdrv_inc_in_flight(bs);
    /* Nothing may touch the bytes that appear or vanish meanwhile. */
    tracked_request_begin(&req, bs, start, len, BDRV_TRACKED_TRUNCATE);
    tracked_request_set_serialising(&req, 1);
    bdrv_wait_serialising_requests(&req);

    ret = bs->drv->bdrv_co_truncate(bs, offset, exact, prealloc, flags,
                                    errp);
    if (ret < 0) {
        trace_bdrv_driver_error(bs, "truncate", offset, 0, ret);
    } else {
        int64_t len_now = bdrv_co_getlength(bs);

        if (len_now < 0) {
            error_setg_errno(errp, -len_now,
                             "Could not refresh total sector count");
            ret = len_now;
        } else {
            bs->total_bytes = bdrv_round_length(len_now);
            bdrv_dirty_bitmap_truncate(bs, bs->total_bytes);
        }
    }
    tracked_request_end(&req);
    bdrv_dec_in_flight(bs);
    return ret;
}

/*
 * Synchronous forms
 */

void bdrv_poll_co(CoroutineEntry *entry, void *opaque, bool *done)
{
    Coroutine *co;

    if (qemu_in_coroutine()) {
        entry(opaque);
        return;
    }
    co = qemu_coroutine_create(entry, opaque);
    qemu_coroutine_enter(co);
    AIO_WAIT_WHILE(qemu_get_aio_context(), !*done);
}

/* The arguments and result of one synchronous call. */
typedef struct BdrvSyncCo {
    BdrvChild *child;
    BlockDriverState *bs;
    BlockDriverState *base;
    int *depth;
    int64_t offset;
    int64_t bytes;
    void *buf;
    BdrvRequestFlags flags;
    int64_t *pnum;
    int64_t *map;
    BlockDriverState **file;
    bool exact;
    PreallocMode prealloc;
    Error **errp;
    int ret;
    bool done;
} BdrvSyncCo;

static void coroutine_fn bdrv_pread_entry(void *opaque)
{
    BdrvSyncCo *s = opaque;

    s->ret = bdrv_co_pread(s->child, s->offset, s->bytes, s->buf, s->flags);
    s->done = true;
}

static void coroutine_fn bdrv_pwrite_entry(void *opaque)
{
    BdrvSyncCo *s = opaque;

    s->ret = bdrv_co_pwrite(s->child, s->offset, s->bytes, s->buf,
                            s->flags);
    s->done = true;
}

static void coroutine_fn bdrv_pwrite_zeroes_entry(void *opaque)
{
    BdrvSyncCo *s = opaque;

    s->ret = bdrv_co_pwrite_zeroes(s->child, s->offset, s->bytes, s->flags);
    s->done = true;
}

static void coroutine_fn bdrv_pdiscard_entry(void *opaque)
{
    BdrvSyncCo *s = opaque;

    s->ret = bdrv_co_pdiscard(s->child, s->offset, s->bytes);
    s->done = true;
}

static void coroutine_fn bdrv_flush_entry(void *opaque)
{
    BdrvSyncCo *s = opaque;

    s->ret = bdrv_co_flush(s->bs);
    s->done = true;
}

static void coroutine_fn bdrv_block_status_entry(void *opaque)
{
    BdrvSyncCo *s = opaque;

    s->ret = bdrv_co_block_status(s->bs, true, s->offset, s->bytes,
                                  s->pnum, s->map, s->file);
    s->done = true;
}

static void coroutine_fn bdrv_truncate_entry(void *opaque)
{
    BdrvSyncCo *s = opaque;

    s->ret = bdrv_co_truncate(s->child, s->offset, s->exact, s->prealloc,
                              s->flags, s->errp);
    s->done = true;
}

int bdrv_pread(BdrvChild *child, int64_t offset, int64_t bytes, void *buf,
               BdrvRequestFlags flags)
{
    BdrvSyncCo s = { .child = child, .offset = offset, .bytes = bytes,
                     .buf = buf, .flags = flags };

    bdrv_poll_co(bdrv_pread_entry, &s, &s.done);
    return s.ret;
}

int bdrv_pwrite(BdrvChild *child, int64_t offset, int64_t bytes,
                const void *buf, BdrvRequestFlags flags)
{
    BdrvSyncCo s = { .child = child, .offset = offset, .bytes = bytes,
                     .buf = (void *)buf, .flags = flags };

    bdrv_poll_co(bdrv_pwrite_entry, &s, &s.done);
    return s.ret;
}

int bdrv_pwrite_zeroes(BdrvChild *child, int64_t offset, int64_t bytes,
                       BdrvRequestFlags flags)
{
    BdrvSyncCo s = { .child = child, .offset = offset, .bytes = bytes,
                     .flags = flags };

    bdrv_poll_co(bdrv_pwrite_zeroes_entry, &s, &s.done);
    return s.ret;
}

int bdrv_pdiscard(BdrvChild *child, int64_t offset, int64_t bytes)
{
    BdrvSyncCo s = { .child = child, .offset = offset, .bytes = bytes };

    bdrv_poll_co(bdrv_pdiscard_entry, &s, &s.done);
    return s.ret;
}

int bdrv_flush(BlockDriverState *bs)
{
    BdrvSyncCo s = { .bs = bs };

    bdrv_poll_co(bdrv_flush_entry, &s, &s.done);
    return s.ret;
}

static void coroutine_fn bdrv_block_status_above_entry(void *opaque)
{
    BdrvSyncCo *s = opaque;

    s->ret = bdrv_co_block_status_above(s->bs, s->base, true, s->offset,
                                        s->bytes, s->pnum, s->map, s->file,
                                        s->depth);
    s->done = true;
}

int bdrv_block_status_above(BlockDriverState *bs, BlockDriverState *base,
                            int64_t offset, int64_t bytes, int64_t *pnum,
                            int64_t *map, BlockDriverState **file,
                            int *depth)
{
    BdrvSyncCo s = { .bs = bs, .base = base, .offset = offset,
                     .bytes = bytes, .pnum = pnum, .map = map, .file = file,
                     .depth = depth };

    bdrv_poll_co(bdrv_block_status_above_entry, &s, &s.done);
    return s.ret;
}

static void coroutine_fn bdrv_is_allocated_above_entry(void *opaque)
{
    BdrvSyncCo *s = opaque;

    s->ret = bdrv_co_is_allocated_above(s->bs, s->base, s->exact, s->offset,
                                        s->bytes, s->pnum);
    s->done = true;
}

int bdrv_is_allocated_above(BlockDriverState *top, BlockDriverState *base,
                            bool include_base, int64_t offset, int64_t bytes,
                            int64_t *pnum)
{
    BdrvSyncCo s = { .bs = top, .base = base, .exact = include_base,
                     .offset = offset, .bytes = bytes, .pnum = pnum };

    bdrv_poll_co(bdrv_is_allocated_above_entry, &s, &s.done);
    return s.ret;
}

int bdrv_block_status(BlockDriverState *bs, int64_t offset, int64_t bytes,
                      int64_t *pnum, int64_t *map, BlockDriverState **file)
{
    BdrvSyncCo s = { .bs = bs, .offset = offset, .bytes = bytes,
                     .pnum = pnum, .map = map, .file = file };

    bdrv_poll_co(bdrv_block_status_entry, &s, &s.done);
    return s.ret;
}

int bdrv_truncate(BdrvChild *child, int64_t offset, bool exact,
                  PreallocMode prealloc, BdrvRequestFlags flags,
                  Error **errp)
{
    BdrvSyncCo s = { .child = child, .offset = offset, .exact = exact,
                     .prealloc = prealloc, .flags = flags, .errp = errp };

    bdrv_poll_co(bdrv_truncate_entry, &s, &s.done);
    return s.ret;
}
