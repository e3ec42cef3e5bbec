/*
 * qcow2.c: the qcow2 format driver: open and close, the data path,
 * block status, truncate.
 *
 * Opening reads and checks the header (QEMU's texts for what QEMU
 * refuses), the header extensions, the L1 table and the refcount table,
 * sets up the metadata caches, and finally opens the backing file.
 * Every offset and size read from the image is checked before use: a
 * table that overflows, lies past the end of the file or is misaligned
 * refuses the open; an L2 entry that breaks the rules fails the request
 * with -EIO.
 *
 * Concurrency: metadata is protected by s->lock (a CoMutex), held only
 * while tables are looked up or changed, never during guest data I/O.
 * A request also holds its guest range, rounded to clusters, in
 * s->range_locks: reads share it, writes, zero writes and discards hold
 * it exclusively.  So two writes to the same cluster never race to
 * allocate it (the second waits, then finds it allocated and writes in
 * place), and a cluster is never freed under a read that is using its
 * host offset.  A request holds one range at a time, so ranges cannot
 * deadlock.
 *
 * A write to a cluster that cannot be written in place (unallocated,
 * zero, compressed, shared, partly allocated subclusters) gets a host
 * cluster that receives the cluster's old content around the new data,
 * read through qcow2_read_range() (backing file, zeroes, or the old
 * data), in one write; the L2 entry is switched only after that write,
 * and written back only after the file was flushed (see qcow2-cache.c
 * for the order of refcounts and L2 tables).
 *
 * Example: qblock-io -c 'write -P 1 0 4k' on a fresh image with a
 * backing file and 64 KiB clusters: the range [0, 64k) is locked, a
 * host cluster allocated, [4k, 64k) read from the backing file, 64 KiB
 * written, L2[0] set; on close the refcount block is written, the file
 * flushed, the L2 table written, the file flushed again.
 */
#include "qemu/osdep.h"

#include <zlib.h>

#include "block/block_int.h"
#include "qapi/error.h"
#include "qemu/timer.h"
#include "qcow2.h"
#include "trace.h"

/* Incompatible features this driver understands (possibly to refuse). */
#define QCOW2_INCOMPAT_MASK (QCOW2_INCOMPAT_DIRTY | QCOW2_INCOMPAT_CORRUPT | \
                             QCOW2_INCOMPAT_DATA_FILE | \
                             QCOW2_INCOMPAT_COMPRESSION | \
                             QCOW2_INCOMPAT_EXTL2)

/* Size of a snapshot table entry without its variable part. */
#define QCOW2_SNAPSHOT_HEADER_SIZE 40

static int qcow2_probe(const uint8_t *buf, int buf_size, const char *filename)
{
    uint32_t magic, version;

    if (buf_size < (int)sizeof(QCowHeader)) {
        return 0;
    }
    memcpy(&magic, buf, 4);
    memcpy(&version, buf + 4, 4);
    if (GUINT32_FROM_BE(magic) == QCOW_MAGIC &&
        GUINT32_FROM_BE(version) >= 2) {
        return 100;
    }
    return 0;
}

/*
 * Guest range locks
 */

static void coroutine_fn qcow2_range_lock(BDRVQcow2State *s,
                                          Qcow2RangeLock *l, uint64_t start,
                                          uint64_t end, bool exclusive)
{
    Qcow2RangeLock *other;

    l->start = QEMU_ALIGN_DOWN(start, (uint64_t)s->cluster_size);
    l->end = ROUND_UP(end, (uint64_t)s->cluster_size);
    l->exclusive = exclusive;
    qemu_co_queue_init(&l->waiters);
again:
    QLIST_FOREACH(other, &s->range_locks, next) {
        if ((exclusive || other->exclusive) &&
            other->start < l->end && l->start < other->end) {
            trace_qcow2_range_wait(s, l->start, l->end, other->start,
                                   other->end);
            qemu_co_queue_wait(&other->waiters, NULL);
            goto again;
        }
    }
    QLIST_INSERT_HEAD(&s->range_locks, l, next);
}

static void qcow2_range_unlock(Qcow2RangeLock *l)
{
    QLIST_REMOVE(l, next);
    qemu_co_queue_restart_all(&l->waiters);
}

/*
 * Reads
 */

static int qcow2_decompress_zlib(void *dest, size_t dest_size,
                                 const void *src, size_t src_size)
{
    z_stream strm;
    int ret;

    memset(&strm, 0, sizeof(strm));
    strm.next_in = (Bytef *)src;
    strm.avail_in = src_size;
    strm.next_out = dest;
    strm.avail_out = dest_size;
    /* Raw deflate with a 4 KiB window, as QEMU writes it. */
    if (inflateInit2(&strm, -12) != Z_OK) {
        return -EIO;
    }
    ret = inflate(&strm, Z_FINISH);
    /*
     * The compressed size is only known to the sector, so running out of
     * input before the stream end is fine once the cluster is complete.
     */
    if ((ret == Z_STREAM_END || ret == Z_BUF_ERROR) && strm.avail_out == 0) {
        ret = 0;
    } else {
        ret = -EIO;
    }
    inflateEnd(&strm);
    return ret;
}

/* Read [@offset_in_cluster, + @bytes) of the compressed cluster @l2_entry. */
static int coroutine_fn qcow2_read_compressed(BlockDriverState *bs,
                                              uint64_t l2_entry,
                                              uint64_t offset_in_cluster,
                                              uint64_t bytes,
                                              QEMUIOVector *qiov,
                                              size_t qiov_offset)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t coffset = l2_entry & s->cluster_offset_mask;
    uint64_t nb_sectors = ((l2_entry >> s->csize_shift) & s->csize_mask) + 1;
    uint64_t csize = nb_sectors * QCOW2_COMPRESSED_SECTOR_SIZE -
                     (coffset & (QCOW2_COMPRESSED_SECTOR_SIZE - 1));
    g_autofree uint8_t *in = NULL;
    g_autofree uint8_t *out = NULL;
    int ret;

    if (s->compression_type != QCOW2_COMPRESSION_TYPE_ZLIB) {
        /* Built without libzstd. */
        trace_qcow2_compressed_unsupported(bs, s->compression_type);
        return -ENOTSUP;
    }
    if (coffset > INT64_MAX - csize) {
        return -EIO;
    }
    in = g_try_malloc(csize);
    out = g_try_malloc(s->cluster_size);
    if (!in || !out) {
        return -ENOMEM;
    }
    BLKDBG_EVENT(bs->file, BLKDBG_READ_COMPRESSED);
    ret = bdrv_co_pread(bs->file, coffset, csize, in, 0);
    if (ret < 0) {
        return ret;
    }
    ret = qcow2_decompress_zlib(out, s->cluster_size, in, csize);
    if (ret < 0) {
        trace_qcow2_corrupt(bs, "compressed cluster does not inflate",
                            coffset);
        return ret;
    }
    qemu_iovec_from_buf(qiov, qiov_offset, out + offset_in_cluster, bytes);
    return 0;
}

/*
 * Read guest [@offset, + @bytes) into @qiov at @qiov_offset.  The caller
 * holds the range (shared or exclusive); s->lock is not held.
 */
static int coroutine_fn qcow2_read_range(BlockDriverState *bs,
                                         uint64_t offset, uint64_t bytes,
                                         QEMUIOVector *qiov,
                                         size_t qiov_offset)
{
    BDRVQcow2State *s = bs->opaque;

    while (bytes > 0) {
        uint64_t n = bytes, host, l2_entry;
        Qcow2SubclusterType type;
        QEMUIOVector slice;
        int ret;

        qemu_co_mutex_lock(&s->lock);
        ret = qcow2_get_host_offset(bs, offset, &n, &host, &type, &l2_entry);
        qemu_co_mutex_unlock(&s->lock);
        if (ret < 0) {
            return ret;
        }
        switch (type) {
        case QCOW2_SUBCLUSTER_ZERO_PLAIN:
        case QCOW2_SUBCLUSTER_ZERO_ALLOC:
            qemu_iovec_memset(qiov, qiov_offset, 0, n);
            break;
        case QCOW2_SUBCLUSTER_UNALLOCATED_PLAIN:
        case QCOW2_SUBCLUSTER_UNALLOCATED_ALLOC:
            if (!bs->backing) {
                qemu_iovec_memset(qiov, qiov_offset, 0, n);
                break;
            }
            /* The backing node reads zeroes past its own end. */
            qemu_iovec_init_slice(&slice, qiov, qiov_offset, n);
            BLKDBG_EVENT(bs->file, BLKDBG_READ_BACKING_AIO);
            ret = bdrv_co_preadv(bs->backing, offset, n, &slice, 0);
            qemu_iovec_destroy(&slice);
            break;
        case QCOW2_SUBCLUSTER_NORMAL:
            qemu_iovec_init_slice(&slice, qiov, qiov_offset, n);
            BLKDBG_EVENT(bs->file, BLKDBG_READ_AIO);
            ret = bdrv_co_preadv(bs->file, host, n, &slice, 0);
            qemu_iovec_destroy(&slice);
            break;
        case QCOW2_SUBCLUSTER_COMPRESSED:
            ret = qcow2_read_compressed(bs, l2_entry,
                                        qcow2_offset_into_cluster(s, offset),
                                        n, qiov, qiov_offset);
            break;
        default:
            ret = -EIO;
            break;
        }
        if (ret < 0) {
            return ret;
        }
        offset += n;
        bytes -= n;
        qiov_offset += n;
    }
    return 0;
}

static int coroutine_fn qcow2_co_preadv(BlockDriverState *bs, int64_t offset,
                                        int64_t bytes, QEMUIOVector *qiov,
                                        BdrvRequestFlags flags)
{
    BDRVQcow2State *s = bs->opaque;
    Qcow2RangeLock l;
    int ret;

    qcow2_range_lock(s, &l, offset, offset + bytes, false);
    ret = qcow2_read_range(bs, offset, bytes, qiov, 0);
    qcow2_range_unlock(&l);
    return ret;
}

/*
 * Writes
 */

/* Free what the requests of this round unreferenced (s->lock held). */
static int coroutine_fn qcow2_finish_frees(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;

    if (!s->deferred_frees->len) {
        return 0;
    }
    return qcow2_process_deferred_frees(bs);
}

/*
 * Whether the guest range [@offset, + @bytes) reads as zeroes, cheaply
 * known (unallocated without a backing file, or zero clusters): then a
 * copy-on-write of it needs no old data.  s->lock not held.
 */
static bool coroutine_fn qcow2_cow_reads_zero(BlockDriverState *bs,
                                              int64_t offset, int64_t bytes)
{
    while (bytes > 0) {
        int64_t pnum;
        int ret = bdrv_co_block_status(bs, false, offset, bytes, &pnum,
                                       NULL, NULL);

        if (ret < 0 || !(ret & BDRV_BLOCK_ZERO) || pnum <= 0) {
            return false;
        }
        offset += pnum;
        bytes -= pnum;
    }
    return true;
}

/* Carry out one planned piece of a write (s->lock not held). */
static int coroutine_fn qcow2_write_planned(BlockDriverState *bs,
                                            Qcow2WritePlan *plan,
                                            QEMUIOVector *qiov,
                                            size_t qiov_offset)
{
    BDRVQcow2State *s = bs->opaque;
    QEMUIOVector hd;
    g_autofree uint8_t *head = NULL;
    g_autofree uint8_t *tail = NULL;
    uint64_t total;
    /*
     * QEMU skips the copy when the parts around the data read as zeroes
     * (no backing file: it zeroes the new cluster instead), so it fires
     * cluster_alloc_space and write_aio there, cow_read/cow_write only
     * where old data is copied.  This copy reads nothing without a
     * backing file either, so the events follow QEMU's.
     */
    bool real_cow = bs->backing && (plan->cow_head || plan->cow_tail);
    int ret;

    if (plan->in_place) {
        if (qcow2_overlaps_metadata(bs, plan->host_offset, plan->bytes)) {
            trace_qcow2_corrupt(bs, "data write over metadata",
                                plan->host_offset);
            return -EIO;
        }
        qemu_iovec_init_slice(&hd, qiov, qiov_offset, plan->bytes);
        BLKDBG_EVENT(bs->file, BLKDBG_WRITE_AIO);
        ret = bdrv_co_pwritev(bs->file, plan->host_offset, plan->bytes, &hd,
                              0);
        qemu_iovec_destroy(&hd);
        return ret;
    }

    total = (uint64_t)plan->nb_clusters << s->cluster_bits;
    if (qcow2_overlaps_metadata(bs, plan->host_cluster, total)) {
        trace_qcow2_corrupt(bs, "data write over metadata",
                            plan->host_cluster);
        return -EIO;
    }
    if (!real_cow && (plan->cow_head || plan->cow_tail)) {
        BLKDBG_EVENT(bs->file, BLKDBG_CLUSTER_ALLOC_SPACE);
        /*
         * As QEMU's handle_alloc_space: where the parts around the data
         * read as zeroes, zero the new clusters in the file (an
         * fallocate, no data moved) and write the data alone, instead
         * of writing whole clusters of mostly zeroes.  A 4 KiB write in
         * a 64 KiB cluster then moves 4 KiB, and with O_DIRECT it does
         * not extend the file, which ext4 and XFS serialise.  Where the
         * file cannot zero cheaply, the zeroes are written as before.
         */
        if (qcow2_cow_reads_zero(bs, plan->cluster_offset, plan->cow_head) &&
            qcow2_cow_reads_zero(bs, plan->offset + plan->bytes,
                                 plan->cow_tail)) {
            ret = bdrv_co_pwrite_zeroes(bs->file, plan->host_cluster, total,
                                        BDRV_REQ_NO_FALLBACK);
            if (ret == 0) {
                qemu_iovec_init_slice(&hd, qiov, qiov_offset, plan->bytes);
                BLKDBG_EVENT(bs->file, BLKDBG_WRITE_AIO);
                ret = bdrv_co_pwritev(bs->file,
                                      plan->host_cluster + plan->cow_head,
                                      plan->bytes, &hd, 0);
                qemu_iovec_destroy(&hd);
                return ret;
            }
            if (ret != -ENOTSUP && ret != -EAGAIN) {
                return ret;
            }
        }
    }
    qemu_iovec_init(&hd, qiov->niov + 2);
    if (plan->cow_head) {
        QEMUIOVector q;

        head = g_try_malloc(plan->cow_head);
        if (!head) {
            ret = -ENOMEM;
            goto out;
        }
        qemu_iovec_init_buf(&q, head, plan->cow_head);
        trace_qcow2_cow(bs, plan->cluster_offset, plan->cow_head);
        if (real_cow) {
            BLKDBG_EVENT(bs->file, BLKDBG_COW_READ);
        }
        ret = qcow2_read_range(bs, plan->cluster_offset, plan->cow_head, &q,
                               0);
        if (ret < 0) {
            goto out;
        }
        qemu_iovec_add(&hd, head, plan->cow_head);
    }
    qemu_iovec_concat(&hd, qiov, qiov_offset, plan->bytes);
    if (plan->cow_tail) {
        QEMUIOVector q;
        uint64_t tail_offset = plan->offset + plan->bytes;

        tail = g_try_malloc(plan->cow_tail);
        if (!tail) {
            ret = -ENOMEM;
            goto out;
        }
        qemu_iovec_init_buf(&q, tail, plan->cow_tail);
        trace_qcow2_cow(bs, tail_offset, plan->cow_tail);
        if (real_cow) {
            BLKDBG_EVENT(bs->file, BLKDBG_COW_READ);
        }
        ret = qcow2_read_range(bs, tail_offset, plan->cow_tail, &q, 0);
        if (ret < 0) {
            goto out;
        }
        qemu_iovec_add(&hd, tail, plan->cow_tail);
    }
    assert(hd.size == total);
    /* As QEMU: data merged with copied-on-write parts is a COW write. */
    BLKDBG_EVENT(bs->file, real_cow ? BLKDBG_COW_WRITE : BLKDBG_WRITE_AIO);
    ret = bdrv_co_pwritev(bs->file, plan->host_cluster, total, &hd, 0);
out:
    qemu_iovec_destroy(&hd);
    return ret;
}

static int coroutine_fn qcow2_co_pwritev(BlockDriverState *bs,
                                         int64_t offset, int64_t bytes,
                                         QEMUIOVector *qiov,
                                         BdrvRequestFlags flags)
{
    BDRVQcow2State *s = bs->opaque;
    Qcow2RangeLock l;
    size_t qiov_offset = 0;
    int ret = 0, ret2;

    qcow2_range_lock(s, &l, offset, offset + bytes, true);
    while (bytes > 0) {
        Qcow2WritePlan plan;

        qemu_co_mutex_lock(&s->lock);
        ret = qcow2_plan_write(bs, offset, bytes, &plan);
        qemu_co_mutex_unlock(&s->lock);
        if (ret < 0) {
            break;
        }
        ret = qcow2_write_planned(bs, &plan, qiov, qiov_offset);
        qemu_co_mutex_lock(&s->lock);
        if (ret < 0) {
            qcow2_abort_write(bs, &plan);
        } else {
            ret = qcow2_link_write(bs, &plan);
            if (ret < 0) {
                qcow2_abort_write(bs, &plan);
            }
        }
        qemu_co_mutex_unlock(&s->lock);
        if (ret < 0) {
            break;
        }
        offset += plan.bytes;
        bytes -= plan.bytes;
        qiov_offset += plan.bytes;
    }
    qemu_co_mutex_lock(&s->lock);
    ret2 = qcow2_finish_frees(bs);
    qemu_co_mutex_unlock(&s->lock);
    qcow2_range_unlock(&l);
    if (ret < 0) {
        trace_qcow2_write_error(bs, offset, bytes, ret);
    }
    return ret < 0 ? ret : ret2;
}

static int coroutine_fn qcow2_co_pwrite_zeroes(BlockDriverState *bs,
                                               int64_t offset, int64_t bytes,
                                               BdrvRequestFlags flags)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t end = offset + bytes;
    Qcow2RangeLock l;
    int ret, ret2;

    /* Whole clusters only, except the last one of the image. */
    if (qcow2_offset_into_cluster(s, offset) ||
        (qcow2_offset_into_cluster(s, end) && end != s->size)) {
        return -ENOTSUP;
    }
    qcow2_range_lock(s, &l, offset, end, true);
    qemu_co_mutex_lock(&s->lock);
    ret = qcow2_cluster_zeroize(bs, offset,
                                ROUND_UP(end, (uint64_t)s->cluster_size) -
                                offset, flags);
    ret2 = qcow2_finish_frees(bs);
    qemu_co_mutex_unlock(&s->lock);
    qcow2_range_unlock(&l);
    return ret < 0 ? ret : ret2;
}

static int coroutine_fn qcow2_co_pdiscard(BlockDriverState *bs,
                                          int64_t offset, int64_t bytes)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t end = offset + bytes;
    Qcow2RangeLock l;
    int ret, ret2;

    /* v2 cannot make discarded clusters read as zeroes over a backing. */
    if (s->version < 3 && bs->backing) {
        return -ENOTSUP;
    }
    if (qcow2_offset_into_cluster(s, offset) ||
        (qcow2_offset_into_cluster(s, end) && end != s->size)) {
        return -ENOTSUP;
    }
    qcow2_range_lock(s, &l, offset, end, true);
    qemu_co_mutex_lock(&s->lock);
    ret = qcow2_cluster_discard(bs, offset,
                                ROUND_UP(end, (uint64_t)s->cluster_size) -
                                offset, QCOW2_DISCARD_REQUEST, false);
    ret2 = qcow2_finish_frees(bs);
    qemu_co_mutex_unlock(&s->lock);
    qcow2_range_unlock(&l);
    return ret < 0 ? ret : ret2;
}

static int coroutine_fn qcow2_co_flush(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    int ret;

    qemu_co_mutex_lock(&s->lock);
    ret = qcow2_flush_caches(bs);
    qemu_co_mutex_unlock(&s->lock);
    trace_qcow2_flush(bs, ret);
    return ret;
}

/*
 * Block status
 */

static int coroutine_fn qcow2_co_block_status(BlockDriverState *bs,
                                              bool want_zero, int64_t offset,
                                              int64_t bytes, int64_t *pnum,
                                              int64_t *map,
                                              BlockDriverState **file)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t n = bytes, host, l2_entry;
    Qcow2SubclusterType type;
    int ret, status = 0;

    qemu_co_mutex_lock(&s->lock);
    ret = qcow2_get_host_offset(bs, offset, &n, &host, &type, &l2_entry);
    qemu_co_mutex_unlock(&s->lock);
    if (ret < 0) {
        return ret;
    }
    *pnum = n;
    if (type == QCOW2_SUBCLUSTER_NORMAL ||
        type == QCOW2_SUBCLUSTER_ZERO_ALLOC ||
        type == QCOW2_SUBCLUSTER_UNALLOCATED_ALLOC) {
        *map = host;
        *file = bs->file->bs;
        status |= BDRV_BLOCK_OFFSET_VALID;
    }
    if (type == QCOW2_SUBCLUSTER_ZERO_PLAIN ||
        type == QCOW2_SUBCLUSTER_ZERO_ALLOC) {
        status |= BDRV_BLOCK_ZERO;
    } else if (type != QCOW2_SUBCLUSTER_UNALLOCATED_PLAIN &&
               type != QCOW2_SUBCLUSTER_UNALLOCATED_ALLOC) {
        status |= BDRV_BLOCK_DATA;
    }
    return status;
}

/*
 * Header updates
 */

/* Write @len bytes of header at @offset and flush (s->lock held). */
static int coroutine_fn qcow2_write_header_field(BlockDriverState *bs,
                                                 uint64_t offset,
                                                 const void *buf, size_t len)
{
    int ret = bdrv_co_pwrite(bs->file, offset, len, buf, 0);

    if (ret < 0) {
        return ret;
    }
    return bdrv_co_flush(bs->file->bs);
}

static int coroutine_fn qcow2_co_truncate(BlockDriverState *bs,
                                          int64_t offset, bool exact,
                                          PreallocMode prealloc,
                                          BdrvRequestFlags flags,
                                          Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t old_size = s->size;
    uint64_t be;
    int ret;

    if (prealloc != PREALLOC_MODE_OFF) {
        error_setg(errp, "Unsupported preallocation mode '%s'",
                   PreallocMode_str(prealloc));
        return -ENOTSUP;
    }
    if (offset & 511) {
        error_setg(errp, "The new size must be a multiple of 512");
        return -EINVAL;
    }
    if (s->nb_snapshots) {
        error_setg(errp, "Can't resize an image which has snapshots");
        return -ENOTSUP;
    }
    qemu_co_mutex_lock(&s->lock);
    if ((uint64_t)offset < old_size) {
        uint64_t start = ROUND_UP((uint64_t)offset,
                                  (uint64_t)s->cluster_size);

        if (start < old_size) {
            ret = qcow2_cluster_discard(bs, start,
                                        ROUND_UP(old_size,
                                                 (uint64_t)s->cluster_size) -
                                        start, QCOW2_DISCARD_ALWAYS, true);
            if (ret == 0) {
                ret = qcow2_finish_frees(bs);
            }
            if (ret < 0) {
                error_setg_errno(errp, -ret, "Failed to discard cropped "
                                 "clusters");
                goto out;
            }
        }
    } else {
        ret = qcow2_grow_l1_table(bs, qcow2_size_to_l1(s, offset), true);
        if (ret < 0) {
            error_setg_errno(errp, -ret, "Failed to grow the L1 table");
            goto out;
        }
    }
    /* The size reaches the disk after everything it covers. */
    ret = qcow2_flush_caches(bs);
    if (ret == 0) {
        ret = bdrv_co_flush(bs->file->bs);
    }
    if (ret == 0) {
        be = GUINT64_TO_BE((uint64_t)offset);
        ret = qcow2_write_header_field(bs, offsetof(QCowHeader, size), &be,
                                       sizeof(be));
    }
    if (ret < 0) {
        error_setg_errno(errp, -ret, "Failed to update the image size");
        goto out;
    }
    s->size = offset;
    trace_qcow2_truncate(bs, old_size, offset);
out:
    qemu_co_mutex_unlock(&s->lock);
    return ret;
}

static int64_t coroutine_fn qcow2_co_getlength(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;

    return s->size;
}

static int qcow2_get_info(BlockDriverState *bs, BlockDriverInfo *bdi)
{
    BDRVQcow2State *s = bs->opaque;

    bdi->cluster_size = s->cluster_size;
    bdi->is_dirty = !!(s->incompatible_features & QCOW2_INCOMPAT_DIRTY);
    /* The first L1 entry past the guest's data (qemu-io's "info"). */
    bdi->vm_state_offset = (int64_t)s->l1_vm_state_index <<
                           (s->cluster_bits + s->l2_bits);
    return 0;
}

static void qcow2_refresh_limits(BlockDriverState *bs, Error **errp)
{
    BDRVQcow2State *s = bs->opaque;

    /* Partial clusters fall back to writes of zeroes / are not discarded. */
    bs->bl.pwrite_zeroes_alignment = s->cluster_size;
    bs->bl.pdiscard_alignment = s->cluster_size;
}

static void qcow2_child_perm(BlockDriverState *bs, BdrvChild *c,
                             BdrvChildRole role, uint64_t perm,
                             uint64_t shared, uint64_t *nperm,
                             uint64_t *nshared)
{
    bdrv_default_perms(bs, c, role, perm, shared, nperm, nshared);
}

/*
 * Open
 */

/* QEMU's message for unknown incompatible features, with their names. */
static void report_unsupported_feature(Error **errp, const Qcow2Feature *table,
                                       size_t n, uint64_t mask)
{
    g_autoptr(GString) features = g_string_new("");
    size_t i;

    for (i = 0; i < n && table[i].name[0]; i++) {
        if (table[i].type != QCOW2_FEAT_TYPE_INCOMPATIBLE ||
            table[i].bit >= 64 || !(mask & (UINT64_C(1) << table[i].bit))) {
            continue;
        }
        if (features->len) {
            g_string_append(features, ", ");
        }
        g_string_append_printf(features, "%.46s", table[i].name);
        mask &= ~(UINT64_C(1) << table[i].bit);
    }
    if (mask) {
        if (features->len) {
            g_string_append(features, ", ");
        }
        g_string_append_printf(features,
                               "Unknown incompatible feature: %" PRIx64, mask);
    }
    error_setg(errp, "Unsupported qcow2 feature(s): %s", features->str);
}

/*
 * Walk the header extensions in [@start, @end).  With @feature_table,
 * only the feature name table is collected (for an error message).
 */
static int coroutine_fn qcow2_read_extensions(BlockDriverState *bs,
                                              uint64_t start, uint64_t end,
                                              GByteArray *feature_table,
                                              Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t offset = start;
    int ret;

    while (offset < end) {
        QCowExtension ext;

        if (end - offset < sizeof(ext)) {
            /* Too little room for another extension: the area ends. */
            break;
        }
        ret = bdrv_co_pread(bs->file, offset, sizeof(ext), &ext, 0);
        if (ret < 0) {
            error_setg_errno(errp, -ret, "qcow2_read_extension: ERROR: "
                             "pread fail from offset %" PRIu64, offset);
            return ret;
        }
        ext.magic = GUINT32_FROM_BE(ext.magic);
        ext.len = GUINT32_FROM_BE(ext.len);
        offset += sizeof(ext);
        if (ext.len > end - offset) {
            error_setg(errp, "Header extension too large");
            return -EINVAL;
        }
        if (feature_table) {
            if (ext.magic == QCOW2_EXT_MAGIC_END) {
                return 0;
            }
            if (ext.magic == QCOW2_EXT_MAGIC_FEATURE_TABLE) {
                g_byte_array_set_size(feature_table, ext.len);
                ret = bdrv_co_pread(bs->file, offset, ext.len,
                                    feature_table->data, 0);
                if (ret < 0) {
                    error_setg_errno(errp, -ret, "ERROR: ext_feature_table: "
                                     "Could not read table");
                    return ret;
                }
            }
            offset += ROUND_UP((uint64_t)ext.len, 8);
            continue;
        }
        trace_qcow2_header_extension(bs, ext.magic, ext.len);
        switch (ext.magic) {
        case QCOW2_EXT_MAGIC_END:
            return 0;
        case QCOW2_EXT_MAGIC_BACKING_FORMAT:
            if (ext.len >= sizeof(bs->backing_format)) {
                error_setg(errp, "ERROR: ext_backing_format: len=%" PRIu32
                           " too large (>=%zu)", ext.len,
                           sizeof(bs->backing_format));
                return -EINVAL;
            }
            ret = bdrv_co_pread(bs->file, offset, ext.len, bs->backing_format,
                                0);
            if (ret < 0) {
                error_setg_errno(errp, -ret, "ERROR: ext_backing_format: "
                                 "Could not read format name");
                return ret;
            }
            bs->backing_format[ext.len] = '\0';
            g_free(s->image_backing_format);
            s->image_backing_format = g_strdup(bs->backing_format);
            break;
        case QCOW2_EXT_MAGIC_FEATURE_TABLE:
        case QCOW2_EXT_MAGIC_BITMAPS:
            /* Names are only needed for errors; bitmaps are not loaded. */
            break;
        case QCOW2_EXT_MAGIC_CRYPTO_HEADER:
            error_setg(errp, "CRYPTO header extension only expected with "
                       "LUKS encryption method");
            return -EINVAL;
        case QCOW2_EXT_MAGIC_DATA_FILE:
            /* Refused with the incompatible bit; nothing to keep. */
            break;
        default: {
            Qcow2UnknownHeaderExtension *u;

            u = g_malloc0(sizeof(*u) + ext.len);
            u->magic = ext.magic;
            u->len = ext.len;
            ret = bdrv_co_pread(bs->file, offset, ext.len, u->data, 0);
            if (ret < 0) {
                g_free(u);
                error_setg_errno(errp, -ret, "ERROR: unknown extension: "
                                 "Could not read data");
                return ret;
            }
            s->unknown_header_ext = g_slist_append(s->unknown_header_ext, u);
            break;
        }
        }
        offset += ROUND_UP((uint64_t)ext.len, 8);
    }
    return 0;
}

/*
 * QEMU's check of a table's place: @entries of @entry_len bytes at
 * @offset, at most @max_bytes.  Ours adds: within the image file.
 */
static int qcow2_validate_table(BlockDriverState *bs, uint64_t offset,
                                uint64_t entries, size_t entry_len,
                                int64_t max_bytes, int64_t file_len,
                                const char *name, Error **errp)
{
    BDRVQcow2State *s = bs->opaque;

    if (entries > max_bytes / entry_len) {
        error_setg(errp, "%s too large", name);
        return -EFBIG;
    }
    if (INT64_MAX - entries * entry_len < offset ||
        qcow2_offset_into_cluster(s, offset)) {
        error_setg(errp, "%s offset invalid", name);
        return -EINVAL;
    }
    if (file_len >= 0 && entries &&
        offset + entries * entry_len > (uint64_t)file_len) {
        error_setg(errp, "%s lies beyond the end of the image file", name);
        return -EINVAL;
    }
    return 0;
}

/* QEMU 7.2's cache sizes from the options (read_cache_sizes()). */
static bool qcow2_cache_sizes(BlockDriverState *bs, BlockdevOptionsQcow2 *o,
                              uint64_t *l2_cache_size,
                              uint64_t *refcount_cache_size, Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t min_refcount_cache = (uint64_t)QCOW2_MIN_REFCOUNT_CACHE_SIZE *
                                  s->cluster_size;
    uint64_t max_l2_entries = DIV_ROUND_UP(s->size,
                                           (uint64_t)s->cluster_size);
    uint64_t max_l2_cache = ROUND_UP(max_l2_entries * s->l2_entry_size,
                                     (uint64_t)s->cluster_size);
    bool l2_set = o && o->has_l2_cache_size;
    bool rc_set = o && o->has_refcount_cache_size;
    bool combined_set = o && o->has_cache_size;
    uint64_t combined = combined_set ? o->cache_size : 0;
    uint64_t l2_max = l2_set ? o->l2_cache_size
                             : QCOW2_DEFAULT_L2_CACHE_MAX_SIZE;
    uint64_t entry_size = s->cluster_size;

    if ((l2_set && o->l2_cache_size < 0) ||
        (rc_set && o->refcount_cache_size < 0) ||
        (combined_set && o->cache_size < 0)) {
        error_setg(errp, "Cache sizes must not be negative");
        return false;
    }
    *refcount_cache_size = rc_set ? o->refcount_cache_size : 0;
    *l2_cache_size = MIN(max_l2_cache, l2_max);

    if (combined_set) {
        if (l2_set && rc_set) {
            error_setg(errp, "cache-size, l2-cache-size and "
                       "refcount-cache-size may not be set at the same time");
            return false;
        } else if (l2_set && l2_max > combined) {
            error_setg(errp, "l2-cache-size may not exceed cache-size");
            return false;
        } else if (*refcount_cache_size > combined) {
            error_setg(errp, "refcount-cache-size may not exceed cache-size");
            return false;
        }
        if (l2_set) {
            *refcount_cache_size = combined - *l2_cache_size;
        } else if (rc_set) {
            *l2_cache_size = combined - *refcount_cache_size;
        } else if (combined >= max_l2_cache + min_refcount_cache) {
            *l2_cache_size = max_l2_cache;
            *refcount_cache_size = combined - *l2_cache_size;
        } else {
            *refcount_cache_size = MIN(combined, min_refcount_cache);
            *l2_cache_size = combined - *refcount_cache_size;
        }
    }
    if (o && o->has_l2_cache_entry_size) {
        entry_size = o->l2_cache_entry_size;
    }
    if (entry_size < 512 || entry_size > (uint64_t)s->cluster_size ||
        !is_power_of_2(entry_size)) {
        error_setg(errp, "L2 cache entry size must be a power of two "
                   "between %d and the cluster size (%d)", 512,
                   s->cluster_size);
        return false;
    }
    return true;
}

static void qcow2_cache_clean_timer_cb(void *opaque)
{
    BlockDriverState *bs = opaque;
    BDRVQcow2State *s = bs->opaque;

    /* Runs in the main loop outside coroutines: nothing holds s->lock
     * across a yield while no request is in flight; tables that are in
     * use are pinned and skipped. */
    if (!s->lock.locked) {
        qcow2_cache_clean_unused(s->l2_table_cache);
        qcow2_cache_clean_unused(s->refcount_block_cache);
    }
    timer_mod(s->cache_clean_timer,
              qemu_clock_get_ms(QEMU_CLOCK_REALTIME) +
              (int64_t)s->cache_clean_interval * 1000);
}

static bool qcow2_apply_options(BlockDriverState *bs, BlockdevOptionsQcow2 *o,
                                int flags, Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t l2_cache_size, refcount_cache_size;

    if (!qcow2_cache_sizes(bs, o, &l2_cache_size, &refcount_cache_size,
                           errp)) {
        return false;
    }
    l2_cache_size /= s->cluster_size;
    l2_cache_size = MAX(l2_cache_size, (uint64_t)QCOW2_MIN_L2_CACHE_SIZE);
    if (l2_cache_size > INT_MAX) {
        error_setg(errp, "L2 cache size too big");
        return false;
    }
    refcount_cache_size /= s->cluster_size;
    refcount_cache_size = MAX(refcount_cache_size,
                              (uint64_t)QCOW2_MIN_REFCOUNT_CACHE_SIZE);
    if (refcount_cache_size > INT_MAX) {
        error_setg(errp, "Refcount cache size too big");
        return false;
    }

    s->cache_clean_interval = QCOW2_DEFAULT_CACHE_CLEAN_INTERVAL;
    if (o && o->has_cache_clean_interval) {
        if (o->cache_clean_interval < 0 ||
            (uint64_t)o->cache_clean_interval > UINT_MAX) {
            error_setg(errp, "Cache clean interval too big");
            return false;
        }
        s->cache_clean_interval = o->cache_clean_interval;
    }

    s->use_lazy_refcounts = !!(s->compatible_features &
                               QCOW2_COMPAT_LAZY_REFCOUNTS);
    if (o && o->has_lazy_refcounts) {
        s->use_lazy_refcounts = o->lazy_refcounts;
    }
    if (s->use_lazy_refcounts && s->version < 3) {
        error_setg(errp, "Lazy refcounts require a qcow2 image with at least "
                   "qemu 1.1 compatibility level");
        return false;
    }

    s->overlap_check = true;
    if (o && o->overlap_check &&
        o->overlap_check->type == QTYPE_QSTRING &&
        o->overlap_check->u.mode == QCOW2_OVERLAP_CHECK_MODE_NONE) {
        s->overlap_check = false;
    }

    s->discard_passthrough[QCOW2_DISCARD_NEVER] = false;
    s->discard_passthrough[QCOW2_DISCARD_ALWAYS] = true;
    s->discard_passthrough[QCOW2_DISCARD_REQUEST] =
        o && o->has_pass_discard_request ? o->pass_discard_request
                                         : !!(flags & BDRV_O_UNMAP);
    s->discard_passthrough[QCOW2_DISCARD_SNAPSHOT] =
        o && o->has_pass_discard_snapshot ? o->pass_discard_snapshot : true;
    s->discard_passthrough[QCOW2_DISCARD_OTHER] =
        o && o->has_pass_discard_other ? o->pass_discard_other : false;

    s->l2_table_cache = qcow2_cache_create(bs, l2_cache_size,
                                           s->cluster_size);
    s->refcount_block_cache = qcow2_cache_create(bs, refcount_cache_size,
                                                 s->cluster_size);
    if (!s->l2_table_cache || !s->refcount_block_cache) {
        error_setg(errp, "Could not allocate metadata caches");
        return false;
    }
    qcow2_cache_mark_l2(s->l2_table_cache);
    qcow2_cache_set_dependency(s->l2_table_cache, s->refcount_block_cache);
    trace_qcow2_caches(bs, l2_cache_size, refcount_cache_size);
    return true;
}

typedef struct Qcow2OpenCo {
    BlockDriverState *bs;
    BlockdevOptionsQcow2 *o;
    int flags;
    Error **errp;
    int ret;
    bool done;
} Qcow2OpenCo;

static int coroutine_fn qcow2_do_open(BlockDriverState *bs,
                                      BlockdevOptionsQcow2 *o, int flags,
                                      Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    bool writable = !bs->read_only;
    QCowHeader header;
    int64_t file_len;
    uint64_t ext_end;
    int ret, i;

    file_len = bdrv_co_getlength(bs->file->bs);
    if (file_len < 0) {
        error_setg_errno(errp, -file_len, "Could not get image size");
        return file_len;
    }
    memset(&header, 0, sizeof(header));
    ret = bdrv_co_pread(bs->file, 0, sizeof(header), &header, 0);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "Could not read qcow2 header");
        return ret;
    }
    header.magic = GUINT32_FROM_BE(header.magic);
    header.version = GUINT32_FROM_BE(header.version);
    header.backing_file_offset = GUINT64_FROM_BE(header.backing_file_offset);
    header.backing_file_size = GUINT32_FROM_BE(header.backing_file_size);
    header.size = GUINT64_FROM_BE(header.size);
    header.cluster_bits = GUINT32_FROM_BE(header.cluster_bits);
    header.crypt_method = GUINT32_FROM_BE(header.crypt_method);
    header.l1_table_offset = GUINT64_FROM_BE(header.l1_table_offset);
    header.l1_size = GUINT32_FROM_BE(header.l1_size);
    header.refcount_table_offset =
        GUINT64_FROM_BE(header.refcount_table_offset);
    header.refcount_table_clusters =
        GUINT32_FROM_BE(header.refcount_table_clusters);
    header.snapshots_offset = GUINT64_FROM_BE(header.snapshots_offset);
    header.nb_snapshots = GUINT32_FROM_BE(header.nb_snapshots);

    if (header.magic != QCOW_MAGIC) {
        error_setg(errp, "Image is not in qcow2 format");
        return -EINVAL;
    }
    if (header.version < 2 || header.version > 3) {
        error_setg(errp, "Unsupported qcow2 version %" PRIu32,
                   header.version);
        return -ENOTSUP;
    }
    s->version = header.version;
    if (header.cluster_bits < QCOW_MIN_CLUSTER_BITS ||
        header.cluster_bits > QCOW_MAX_CLUSTER_BITS) {
        error_setg(errp, "Unsupported cluster size: 2^%" PRIu32,
                   header.cluster_bits);
        return -EINVAL;
    }
    s->cluster_bits = header.cluster_bits;
    s->cluster_size = 1 << s->cluster_bits;

    if (header.version == 2) {
        header.incompatible_features = 0;
        header.compatible_features = 0;
        header.autoclear_features = 0;
        header.refcount_order = 4;
        header.header_length = QCOW2_V2_HEADER_LENGTH;
        header.compression_type = 0;
    } else {
        header.incompatible_features =
            GUINT64_FROM_BE(header.incompatible_features);
        header.compatible_features =
            GUINT64_FROM_BE(header.compatible_features);
        header.autoclear_features =
            GUINT64_FROM_BE(header.autoclear_features);
        header.refcount_order = GUINT32_FROM_BE(header.refcount_order);
        header.header_length = GUINT32_FROM_BE(header.header_length);
        if (header.header_length < 104) {
            error_setg(errp, "qcow2 header too short");
            return -EINVAL;
        }
    }
    if (header.header_length > (uint32_t)s->cluster_size) {
        error_setg(errp, "qcow2 header exceeds cluster size");
        return -EINVAL;
    }
    s->header_length = header.header_length;
    if (header.backing_file_offset > (uint64_t)s->cluster_size) {
        error_setg(errp, "Invalid backing file offset");
        return -EINVAL;
    }
    ext_end = header.backing_file_offset ? header.backing_file_offset
                                         : (uint64_t)s->cluster_size;

    s->incompatible_features = header.incompatible_features;
    s->compatible_features = header.compatible_features;
    s->autoclear_features = header.autoclear_features;
    s->compression_type = header.header_length > 104 ?
                          header.compression_type : 0;
    if (s->compression_type > QCOW2_COMPRESSION_TYPE_ZSTD) {
        error_setg(errp, "qcow2: unknown compression type: %u",
                   s->compression_type);
        return -ENOTSUP;
    }
    if (s->compression_type == QCOW2_COMPRESSION_TYPE_ZLIB &&
        (s->incompatible_features & QCOW2_INCOMPAT_COMPRESSION)) {
        error_setg(errp, "qcow2: Compression type incompatible feature bit "
                   "must not be set");
        return -EINVAL;
    }
    if (s->compression_type != QCOW2_COMPRESSION_TYPE_ZLIB &&
        !(s->incompatible_features & QCOW2_INCOMPAT_COMPRESSION)) {
        error_setg(errp, "qcow2: Compression type incompatible feature bit "
                   "must be set");
        return -EINVAL;
    }

    if (s->incompatible_features & ~(uint64_t)QCOW2_INCOMPAT_MASK) {
        g_autoptr(GByteArray) table = g_byte_array_new();

        qcow2_read_extensions(bs, header.header_length, ext_end, table,
                              NULL);
        report_unsupported_feature(errp, (const Qcow2Feature *)table->data,
                                   table->len / sizeof(Qcow2Feature),
                                   s->incompatible_features &
                                   ~(uint64_t)QCOW2_INCOMPAT_MASK);
        return -ENOTSUP;
    }
    if ((s->incompatible_features & QCOW2_INCOMPAT_CORRUPT) && writable) {
        error_setg(errp, "qcow2: Image is corrupt; cannot be opened "
                   "read/write");
        error_append_hint(errp, "Please repair it with qemu-img check "
                          "-r all\n");
        return -EACCES;
    }
    if (s->incompatible_features & QCOW2_INCOMPAT_DATA_FILE) {
        error_setg(errp, "qcow2 images with an external data file are not "
                   "supported");
        return -ENOTSUP;
    }
    if (o && o->data_file) {
        error_setg(errp, "'data-file' can only be set for images with an "
                   "external data file");
        return -EINVAL;
    }

    s->extended_l2 = !!(s->incompatible_features & QCOW2_INCOMPAT_EXTL2);
    s->l2_entry_size = s->extended_l2 ? 16 : 8;
    s->subclusters_per_cluster =
        s->extended_l2 ? QCOW_EXTL2_SUBCLUSTERS_PER_CLUSTER : 1;
    s->subcluster_size = s->cluster_size / s->subclusters_per_cluster;
    s->subcluster_bits = ctz64(s->subcluster_size);
    if (s->subcluster_size < 512) {
        error_setg(errp, "Unsupported subcluster size: %d",
                   s->subcluster_size);
        return -EINVAL;
    }
    if (header.refcount_order > 6) {
        error_setg(errp, "Reference count entry width too large; may not "
                   "exceed 64 bits");
        return -EINVAL;
    }
    s->refcount_order = header.refcount_order;
    s->refcount_bits = 1 << s->refcount_order;
    s->refcount_max = UINT64_C(1) << (s->refcount_bits - 1);
    s->refcount_max += s->refcount_max - 1;

    s->crypt_method = header.crypt_method;
    if (s->crypt_method == 1) {
        error_setg(errp, "Use of AES-CBC encrypted qcow2 images is no longer "
                   "supported in system emulators");
        error_append_hint(errp, "You can use 'qemu-img convert' to convert "
                          "your image to an alternative supported format, "
                          "such as unencrypted qcow2, or raw with the LUKS "
                          "format instead.\n");
        return -ENOSYS;
    } else if (s->crypt_method) {
        error_setg(errp, "Unsupported encryption method %d",
                   (int)s->crypt_method);
        error_append_hint(errp, "qblock does not implement qcow2 "
                          "encryption.\n");
        return -ENOTSUP;
    }

    s->l2_bits = s->cluster_bits - ctz64(s->l2_entry_size);
    s->l2_size = 1 << s->l2_bits;
    s->refcount_block_bits = s->cluster_bits - (s->refcount_order - 3);
    s->refcount_block_size = 1 << s->refcount_block_bits;
    s->size = header.size;
    s->csize_shift = 62 - (s->cluster_bits - 8);
    s->csize_mask = (UINT64_C(1) << (s->cluster_bits - 8)) - 1;
    s->cluster_offset_mask = (UINT64_C(1) << s->csize_shift) - 1;

    s->refcount_table_offset = header.refcount_table_offset;
    s->refcount_table_size =
        header.refcount_table_clusters << (s->cluster_bits - 3);
    if (header.refcount_table_clusters == 0) {
        error_setg(errp, "Image does not contain a reference count table");
        return -EINVAL;
    }
    ret = qcow2_validate_table(bs, s->refcount_table_offset,
                               header.refcount_table_clusters,
                               s->cluster_size, QCOW_MAX_REFTABLE_SIZE,
                               file_len, "Reference count table", errp);
    if (ret < 0) {
        return ret;
    }
    ret = qcow2_validate_table(bs, header.snapshots_offset,
                               header.nb_snapshots,
                               QCOW2_SNAPSHOT_HEADER_SIZE,
                               (int64_t)QCOW2_SNAPSHOT_HEADER_SIZE *
                               QCOW_MAX_SNAPSHOTS, -1, "Snapshot table",
                               errp);
    if (ret < 0) {
        return ret;
    }
    s->nb_snapshots = header.nb_snapshots;
    s->snapshots_offset = header.snapshots_offset;
    ret = qcow2_validate_table(bs, header.l1_table_offset, header.l1_size,
                               L1E_SIZE, QCOW_MAX_L1_SIZE, file_len,
                               "Active L1 table", errp);
    if (ret < 0) {
        return ret;
    }
    s->l1_size = header.l1_size;
    s->l1_table_offset = header.l1_table_offset;
    /* Checked first: the L1 size computation would overflow. */
    if (header.size > BDRV_MAX_LENGTH) {
        error_setg(errp, "Image is too big");
        return -EFBIG;
    }
    s->l1_vm_state_index = qcow2_size_to_l1(s, header.size);
    if (s->l1_vm_state_index > INT_MAX) {
        error_setg(errp, "Image is too big");
        return -EFBIG;
    }
    if ((uint64_t)s->l1_size < s->l1_vm_state_index) {
        error_setg(errp, "L1 table is too small");
        return -EINVAL;
    }
    s->l1_table = g_try_malloc0(MAX((uint64_t)s->l1_size * L1E_SIZE, 1));
    if (!s->l1_table) {
        error_setg(errp, "Could not allocate L1 table");
        return -ENOMEM;
    }
    if (s->l1_size) {
        ret = bdrv_co_pread(bs->file, s->l1_table_offset,
                            (uint64_t)s->l1_size * L1E_SIZE, s->l1_table, 0);
        if (ret < 0) {
            error_setg_errno(errp, -ret, "Could not read L1 table");
            return ret;
        }
        for (i = 0; i < s->l1_size; i++) {
            s->l1_table[i] = GUINT64_FROM_BE(s->l1_table[i]);
        }
    }

    if (!qcow2_apply_options(bs, o, flags, errp)) {
        return -EINVAL;
    }
    ret = qcow2_refcount_init(bs);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "Could not initialize refcount "
                         "handling");
        return ret;
    }
    ret = qcow2_read_extensions(bs, header.header_length, ext_end, NULL,
                                errp);
    if (ret < 0) {
        return ret;
    }

    if (header.backing_file_offset) {
        uint32_t len = header.backing_file_size;

        if (len > MIN(1023, s->cluster_size - header.backing_file_offset) ||
            len >= sizeof(bs->backing_file)) {
            error_setg(errp, "Backing file name too long");
            return -EINVAL;
        }
        s->backing_file_offset = header.backing_file_offset;
        s->backing_file_size = len;
        s->image_backing_file = g_malloc0(len + 1);
        ret = bdrv_co_pread(bs->file, header.backing_file_offset, len,
                            s->image_backing_file, 0);
        if (ret < 0) {
            error_setg_errno(errp, -ret, "Could not read backing file name");
            return ret;
        }
        g_strlcpy(bs->backing_file, s->image_backing_file,
                  sizeof(bs->backing_file));
    }

    if (writable && s->nb_snapshots) {
        error_setg(errp, "qcow2 images with internal snapshots cannot be "
                   "opened read/write");
        error_append_hint(errp, "qblock does not implement internal "
                          "snapshots; open the image read-only.\n");
        return -ENOTSUP;
    }
    if (writable && (s->incompatible_features & QCOW2_INCOMPAT_DIRTY)) {
        BdrvCheckResult result = { 0 };

        /*
         * A dirty image (lazy refcounts, not closed cleanly) may have
         * stale refcounts: as QEMU, they are rebuilt before anything is
         * allocated, and the repair clears the bit.  Read-only opens
         * leave the image as it is.
         */
        trace_qcow2_repair_dirty(bs);
        ret = qcow2_co_check_locked(bs, &result,
                                    BDRV_FIX_ERRORS | BDRV_FIX_LEAKS);
        if (ret < 0 || result.check_errors) {
            error_setg_errno(errp, ret < 0 ? -ret : EIO,
                             "Could not repair dirty image");
            return ret < 0 ? ret : -EIO;
        }
    }
    if (writable && s->autoclear_features) {
        /*
         * Autoclear features are data a writer without support for them
         * would invalidate: a writer clears them (persistent bitmaps
         * become inconsistent, as the specification says).
         */
        uint64_t zero = 0;

        ret = qcow2_write_header_field(bs, offsetof(QCowHeader,
                                                    autoclear_features),
                                       &zero, sizeof(zero));
        if (ret < 0) {
            error_setg_errno(errp, -ret, "Could not update qcow2 header");
            return ret;
        }
        s->autoclear_features = 0;
    }
    bs->supported_zero_flags = s->version >= 3 ?
                               BDRV_REQ_MAY_UNMAP | BDRV_REQ_NO_FALLBACK : 0;
    trace_qcow2_open(bs, s->version, s->cluster_size, s->size,
                     s->extended_l2, s->refcount_bits);
    return 0;
}

static void coroutine_fn qcow2_open_entry(void *opaque)
{
    Qcow2OpenCo *oc = opaque;
    BDRVQcow2State *s = oc->bs->opaque;

    qemu_co_mutex_lock(&s->lock);
    oc->ret = qcow2_do_open(oc->bs, oc->o, oc->flags, oc->errp);
    qemu_co_mutex_unlock(&s->lock);
    oc->done = true;
}

static void qcow2_free_state(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;

    if (s->cache_clean_timer) {
        timer_free(s->cache_clean_timer);
        s->cache_clean_timer = NULL;
    }
    qcow2_cache_destroy(s->l2_table_cache);
    s->l2_table_cache = NULL;
    qcow2_cache_destroy(s->refcount_block_cache);
    s->refcount_block_cache = NULL;
    qcow2_refcount_close(bs);
    g_free(s->l1_table);
    s->l1_table = NULL;
    g_slist_free_full(s->unknown_header_ext, g_free);
    s->unknown_header_ext = NULL;
    g_free(s->image_backing_file);
    s->image_backing_file = NULL;
    g_free(s->image_backing_format);
    s->image_backing_format = NULL;
}

static int qcow2_open(BlockDriverState *bs, BlockdevOptions *options,
                      int flags, Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    BlockdevOptionsQcow2 *o;
    Qcow2OpenCo oc = { .bs = bs, .flags = flags, .errp = errp };

    if (!options) {
        error_setg(errp, "Parameter 'file' is missing");
        return -EINVAL;
    }
    o = &options->u.qcow2;
    oc.o = o;
    if (!bdrv_open_child(o->file, bs, "file",
                         BDRV_CHILD_IMAGE | BDRV_CHILD_PRIMARY, errp)) {
        return -EINVAL;
    }
    qemu_co_mutex_init(&s->lock);
    QLIST_INIT(&s->range_locks);

    bdrv_poll_co(qcow2_open_entry, &oc, &oc.done);
    if (oc.ret < 0) {
        qcow2_free_state(bs);
        return oc.ret;
    }
    if (s->cache_clean_interval) {
        s->cache_clean_timer = aio_timer_new(qemu_get_aio_context(),
                                             QEMU_CLOCK_REALTIME, SCALE_MS,
                                             qcow2_cache_clean_timer_cb, bs);
        timer_mod(s->cache_clean_timer,
                  qemu_clock_get_ms(QEMU_CLOCK_REALTIME) +
                  (int64_t)s->cache_clean_interval * 1000);
    }
    if (!bdrv_open_backing(bs, o->backing != NULL, o->backing, errp)) {
        qcow2_free_state(bs);
        return -EINVAL;
    }
    return 0;
}

typedef struct Qcow2CloseCo {
    BlockDriverState *bs;
    int ret;
    bool done;
} Qcow2CloseCo;

static void coroutine_fn qcow2_close_entry(void *opaque)
{
    Qcow2CloseCo *cc = opaque;
    BDRVQcow2State *s = cc->bs->opaque;

    qemu_co_mutex_lock(&s->lock);
    cc->ret = qcow2_flush_caches(cc->bs);
    if (cc->ret == 0) {
        cc->ret = bdrv_co_flush(cc->bs->file->bs);
    }
    /* Everything is on disk: a lazy-refcounts image is clean again. */
    if (cc->ret == 0) {
        cc->ret = qcow2_mark_clean(cc->bs);
    }
    qemu_co_mutex_unlock(&s->lock);
    cc->done = true;
}

static void qcow2_close(BlockDriverState *bs)
{
    Qcow2CloseCo cc = { .bs = bs };

    if (!bs->read_only) {
        bdrv_poll_co(qcow2_close_entry, &cc, &cc.done);
        trace_qcow2_close(bs, cc.ret);
    }
    qcow2_free_state(bs);
}

BlockDriver bdrv_qcow2 = {
    .format_name            = "qcow2",
    .instance_size          = sizeof(BDRVQcow2State),
    .supports_backing       = true,
    .supported_zero_flags   = BDRV_REQ_MAY_UNMAP | BDRV_REQ_NO_FALLBACK,
    .bdrv_probe             = qcow2_probe,
    .bdrv_open              = qcow2_open,
    .bdrv_change_backing_file = qcow2_change_backing_file,
    .bdrv_close             = qcow2_close,
    .bdrv_co_preadv         = qcow2_co_preadv,
    .bdrv_co_pwritev        = qcow2_co_pwritev,
    .bdrv_co_pwrite_zeroes  = qcow2_co_pwrite_zeroes,
    .bdrv_co_pdiscard       = qcow2_co_pdiscard,
    .bdrv_co_flush          = qcow2_co_flush,
    .bdrv_co_block_status   = qcow2_co_block_status,
    .bdrv_co_truncate       = qcow2_co_truncate,
    .bdrv_co_getlength      = qcow2_co_getlength,
    .bdrv_refresh_limits    = qcow2_refresh_limits,
    .bdrv_get_info          = qcow2_get_info,
    .bdrv_child_perm        = qcow2_child_perm,
    .create_opts            = qcow2_create_opts,
    .bdrv_create            = qcow2_create,
    .bdrv_co_check          = qcow2_co_check,
    .bdrv_get_specific_info = qcow2_get_specific_info,
};
