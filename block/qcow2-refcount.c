/*
 * qcow2-refcount.c: host cluster allocation through reference counts.
 *
 * Every host cluster of the image file has a reference count: 0 is free,
 * 1 is used once, more is shared (internal snapshots, compressed clusters
 * packed into one host cluster).  The counts are stored in refcount
 * blocks (one cluster each, refcount_bits per entry), found through the
 * refcount table (contiguous, in memory as s->refcount_table).  A block
 * that does not exist counts 0 for all its clusters, and so does every
 * cluster beyond what the table covers.
 *
 * Allocation scans for free clusters from s->free_cluster_index, then
 * increments their counts.  An increment may need a new refcount block,
 * and that block needs a count of its own; a full table needs a bigger
 * table.  Making those structures is done before any count of the
 * request is changed, and then the whole allocation starts again
 * (-EAGAIN inside this file): the new structures may sit exactly where
 * the scan found free clusters.
 *
 * Crash safety: a new refcount block is written with its own count (and
 * the count of anything it counts) before the table entry that points at
 * it; a new table is written with new blocks that count it, and only
 * then does the header point at it.  Decrements are applied only after
 * the metadata that referenced the clusters is gone from the disk (see
 * qcow2_defer_free()).  A crash in between leaves leaks, not corruption.
 *
 * Example, 512-byte clusters with 16-bit refcounts: a block holds 256
 * counts, and a one-cluster table 64 blocks, so it covers 8 MiB of file.
 * An allocation at 8 MiB finds no table entry for it: the table grows
 * (the new table and its blocks are placed at 8 MiB, and count
 * themselves), the header is switched to it, the old table freed, and the
 * allocation is retried, now landing just after the new table.
 */
#include "qemu/osdep.h"

#include "block/block_int.h"
#include "qapi/error.h"
#include "qcow2.h"
#include "trace.h"

/* The count at @index of a refcount block. */
static uint64_t rb_get(BDRVQcow2State *s, const void *block, uint64_t index)
{
    const uint8_t *p = block;

    switch (s->refcount_order) {
    case 0:
    case 1:
    case 2: {
        int per_byte = 8 >> s->refcount_order;
        int shift = (index % per_byte) << s->refcount_order;

        return (p[index / per_byte] >> shift) & ((1 << s->refcount_bits) - 1);
    }
    case 3:
        return p[index];
    case 4: {
        uint16_t v;

        memcpy(&v, p + index * 2, 2);
        return GUINT16_FROM_BE(v);
    }
    case 5: {
        uint32_t v;

        memcpy(&v, p + index * 4, 4);
        return GUINT32_FROM_BE(v);
    }
    default: {
        uint64_t v;

        memcpy(&v, p + index * 8, 8);
        return GUINT64_FROM_BE(v);
    }
    }
}

static void rb_set(BDRVQcow2State *s, void *block, uint64_t index,
                   uint64_t value)
{
    uint8_t *p = block;

    assert(value <= s->refcount_max);
    switch (s->refcount_order) {
    case 0:
    case 1:
    case 2: {
        int per_byte = 8 >> s->refcount_order;
        int shift = (index % per_byte) << s->refcount_order;
        uint8_t mask = ((1 << s->refcount_bits) - 1) << shift;

        p[index / per_byte] = (p[index / per_byte] & ~mask) |
                              (uint8_t)(value << shift);
        break;
    }
    case 3:
        p[index] = value;
        break;
    case 4: {
        uint16_t v = GUINT16_TO_BE(value);

        memcpy(p + index * 2, &v, 2);
        break;
    }
    case 5: {
        uint32_t v = GUINT32_TO_BE(value);

        memcpy(p + index * 4, &v, 4);
        break;
    }
    default: {
        uint64_t v = GUINT64_TO_BE(value);

        memcpy(p + index * 8, &v, 8);
        break;
    }
    }
}

int coroutine_fn qcow2_refcount_init(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t size = (uint64_t)s->refcount_table_size * REFTABLE_ENTRY_SIZE;
    uint32_t i;
    int ret;

    s->refcount_table = g_try_malloc0(MAX(size, 1));
    if (!s->refcount_table) {
        return -ENOMEM;
    }
    if (size) {
        BLKDBG_EVENT(bs->file, BLKDBG_REFTABLE_LOAD);
        ret = bdrv_co_pread(bs->file, s->refcount_table_offset, size,
                            s->refcount_table, 0);
        if (ret < 0) {
            return ret;
        }
    }
    for (i = 0; i < s->refcount_table_size; i++) {
        s->refcount_table[i] = GUINT64_FROM_BE(s->refcount_table[i]);
    }
    s->deferred_frees = g_array_new(false, false, sizeof(uint64_t) * 2);
    return 0;
}

void qcow2_refcount_close(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;

    g_free(s->refcount_table);
    s->refcount_table = NULL;
    if (s->deferred_frees) {
        g_array_free(s->deferred_frees, true);
        s->deferred_frees = NULL;
    }
}

/*
 * The refcount block of table entry @ti, pinned in the cache, or NULL in
 * *@block when it does not exist.
 */
static int coroutine_fn get_refcount_block(BlockDriverState *bs,
                                           uint64_t ti, void **block)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t off;

    *block = NULL;
    if (ti >= s->refcount_table_size) {
        return 0;
    }
    off = s->refcount_table[ti] & REFT_OFFSET_MASK;
    if (!off) {
        return 0;
    }
    if (qcow2_offset_into_cluster(s, off)) {
        trace_qcow2_corrupt(bs, "refcount block offset unaligned", off);
        return -EIO;
    }
    return qcow2_cache_get(bs, s->refcount_block_cache, off, block);
}

int coroutine_fn qcow2_get_refcount(BlockDriverState *bs,
                                    uint64_t cluster_index,
                                    uint64_t *refcount)
{
    BDRVQcow2State *s = bs->opaque;
    void *block;
    int ret;

    ret = get_refcount_block(bs, cluster_index >> s->refcount_block_bits,
                             &block);
    if (ret < 0) {
        return ret;
    }
    if (!block) {
        *refcount = 0;
        return 0;
    }
    *refcount = rb_get(s, block,
                       cluster_index & (s->refcount_block_size - 1));
    qcow2_cache_put(s->refcount_block_cache, &block);
    return 0;
}

/*
 * The first run of @n free clusters at or after s->free_cluster_index,
 * as a cluster index; nothing is changed.
 */
static int64_t coroutine_fn find_free_clusters(BlockDriverState *bs,
                                               uint64_t n)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t start = s->free_cluster_index;
    uint64_t i = start;
    uint64_t max_index = (L2E_OFFSET_MASK >> s->cluster_bits);
    void *block = NULL;
    uint64_t block_ti = UINT64_MAX;
    int ret;

    while (i - start < n) {
        uint64_t ti = i >> s->refcount_block_bits;
        uint64_t rc;

        if (i >= max_index) {
            if (block) {
                qcow2_cache_put(s->refcount_block_cache, &block);
            }
            return -EFBIG;
        }
        if (ti != block_ti) {
            if (block) {
                qcow2_cache_put(s->refcount_block_cache, &block);
            }
            ret = get_refcount_block(bs, ti, &block);
            if (ret < 0) {
                return ret;
            }
            block_ti = ti;
        }
        rc = block ? rb_get(s, block, i & (s->refcount_block_size - 1)) : 0;
        if (!rc && block && ti < s->refcount_table_size &&
            (s->refcount_table[ti] & REFT_OFFSET_MASK) ==
            i << s->cluster_bits) {
            /* A refcount block that counts itself free: broken. */
            qcow2_cache_put(s->refcount_block_cache, &block);
            trace_qcow2_corrupt(bs, "refcount block counted as free",
                                i << s->cluster_bits);
            return -EIO;
        }
        i++;
        if (rc) {
            start = i;
        }
    }
    if (block) {
        qcow2_cache_put(s->refcount_block_cache, &block);
    }
    /*
     * The header, the L1 table and the refcount table count as free only
     * in a broken image: handing them out would overwrite them (and
     * cluster 0 is no valid place for any table).
     */
    if (qcow2_overlaps_fixed_metadata(bs, start << s->cluster_bits,
                                      n << s->cluster_bits)) {
        trace_qcow2_corrupt(bs, "metadata cluster counted as free",
                            start << s->cluster_bits);
        return -EIO;
    }
    return start;
}

static int coroutine_fn grow_refcount_table(BlockDriverState *bs,
                                            uint64_t min_ti);

/*
 * Make sure table entry @ti has a refcount block.  0 if it has one,
 * -EAGAIN if one (or a bigger table) was made, else -errno.
 */
static int coroutine_fn alloc_refcount_block(BlockDriverState *bs,
                                             uint64_t ti)
{
    BDRVQcow2State *s = bs->opaque;
    int64_t ci;
    uint64_t new_off, be;
    void *block;
    int ret;

    if (ti >= s->refcount_table_size) {
        return grow_refcount_table(bs, ti);
    }
    if (s->refcount_table[ti] & REFT_OFFSET_MASK) {
        return 0;
    }
    ci = find_free_clusters(bs, 1);
    if (ci < 0) {
        return ci;
    }
    new_off = (uint64_t)ci << s->cluster_bits;
    trace_qcow2_alloc_refcount_block(bs, ti, new_off);
    BLKDBG_EVENT(bs->file, BLKDBG_REFBLOCK_ALLOC);

    if (((uint64_t)ci >> s->refcount_block_bits) == ti) {
        /* The block counts itself. */
        ret = qcow2_cache_get_empty(bs, s->refcount_block_cache, new_off,
                                    &block);
        if (ret < 0) {
            return ret;
        }
        memset(block, 0, s->cluster_size);
        rb_set(s, block, ci & (s->refcount_block_size - 1), 1);
    } else {
        uint64_t other = (uint64_t)ci >> s->refcount_block_bits;
        void *oblock;

        ret = alloc_refcount_block(bs, other);
        if (ret < 0) {
            return ret;
        }
        ret = get_refcount_block(bs, other, &oblock);
        if (ret < 0) {
            return ret;
        }
        assert(oblock);
        rb_set(s, oblock, ci & (s->refcount_block_size - 1), 1);
        qcow2_cache_entry_mark_dirty(s->refcount_block_cache, oblock);
        qcow2_cache_put(s->refcount_block_cache, &oblock);

        ret = qcow2_cache_get_empty(bs, s->refcount_block_cache, new_off,
                                    &block);
        if (ret < 0) {
            return ret;
        }
        memset(block, 0, s->cluster_size);
    }
    qcow2_cache_entry_mark_dirty(s->refcount_block_cache, block);
    qcow2_cache_put(s->refcount_block_cache, &block);

    /* The block and its count are on disk before the table names it. */
    BLKDBG_EVENT(bs->file, BLKDBG_REFBLOCK_ALLOC_WRITE);
    ret = qcow2_cache_flush(bs, s->refcount_block_cache);
    if (ret < 0) {
        return ret;
    }
    be = GUINT64_TO_BE(new_off);
    BLKDBG_EVENT(bs->file, BLKDBG_REFBLOCK_ALLOC_HOOKUP);
    ret = bdrv_co_pwrite(bs->file, s->refcount_table_offset +
                         ti * REFTABLE_ENTRY_SIZE, sizeof(be), &be, 0);
    if (ret < 0) {
        return ret;
    }
    ret = bdrv_co_flush(bs->file->bs);
    if (ret < 0) {
        return ret;
    }
    s->refcount_table[ti] = new_off;
    return -EAGAIN;
}

/*
 * Replace the refcount table by one with at least @min_ti + 1 entries.
 * The new table and the refcount blocks for it go to the first clusters
 * the old table does not cover (all free by definition), and count
 * themselves.  Returns -EAGAIN on success.
 */
static int coroutine_fn grow_refcount_table(BlockDriverState *bs,
                                            uint64_t min_ti)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t old_size = s->refcount_table_size;
    uint64_t old_offset = s->refcount_table_offset;
    uint64_t old_clusters = qcow2_size_to_clusters(s, old_size *
                                                   REFTABLE_ENTRY_SIZE);
    uint64_t per_cluster = s->cluster_size / REFTABLE_ENTRY_SIZE;
    uint64_t base = old_size << s->refcount_block_bits;
    uint64_t new_size = MAX(min_ti + 1, old_size + old_size / 2);
    uint64_t nb = 0, tc, i;
    g_autofree uint8_t *blocks = NULL;
    g_autofree uint64_t *table = NULL;
    uint8_t hdr[12];
    uint64_t be64;
    uint32_t be32;
    int ret;

    for (;;) {
        uint64_t need;

        new_size = MAX(new_size, old_size + nb);
        tc = DIV_ROUND_UP(new_size, per_cluster);
        need = DIV_ROUND_UP(tc + nb, (uint64_t)s->refcount_block_size);
        if (need <= nb && new_size >= old_size + nb) {
            break;
        }
        nb = need;
    }
    new_size = tc * per_cluster;
    if (tc * s->cluster_size > QCOW_MAX_REFTABLE_SIZE) {
        return -EFBIG;
    }
    if (((base + nb + tc) << s->cluster_bits) > L2E_OFFSET_MASK) {
        return -EFBIG;
    }
    trace_qcow2_grow_refcount_table(bs, old_size, new_size,
                                    base << s->cluster_bits);
    BLKDBG_EVENT(bs->file, BLKDBG_REFTABLE_GROW);

    blocks = g_try_malloc0(nb * s->cluster_size);
    table = g_try_malloc0(tc * s->cluster_size);
    if (!blocks || !table) {
        return -ENOMEM;
    }
    for (i = 0; i < nb + tc; i++) {
        rb_set(s, blocks + (i >> s->refcount_block_bits) * s->cluster_size,
               i & (s->refcount_block_size - 1), 1);
    }
    for (i = 0; i < old_size; i++) {
        table[i] = GUINT64_TO_BE(s->refcount_table[i]);
    }
    for (i = 0; i < nb; i++) {
        table[old_size + i] = GUINT64_TO_BE((base + i) << s->cluster_bits);
    }
    /* Pending counts of the old blocks go first, with the rest. */
    ret = qcow2_cache_flush(bs, s->refcount_block_cache);
    if (ret < 0) {
        return ret;
    }
    BLKDBG_EVENT(bs->file, BLKDBG_REFBLOCK_ALLOC_WRITE_BLOCKS);
    ret = bdrv_co_pwrite(bs->file, base << s->cluster_bits,
                         nb * s->cluster_size, blocks, 0);
    if (ret < 0) {
        return ret;
    }
    BLKDBG_EVENT(bs->file, BLKDBG_REFBLOCK_ALLOC_WRITE_TABLE);
    ret = bdrv_co_pwrite(bs->file, (base + nb) << s->cluster_bits,
                         tc * s->cluster_size, table, 0);
    if (ret < 0) {
        return ret;
    }
    ret = bdrv_co_flush(bs->file->bs);
    if (ret < 0) {
        return ret;
    }
    be64 = GUINT64_TO_BE((base + nb) << s->cluster_bits);
    be32 = GUINT32_TO_BE((uint32_t)tc);
    memcpy(hdr, &be64, 8);
    memcpy(hdr + 8, &be32, 4);
    BLKDBG_EVENT(bs->file, BLKDBG_REFBLOCK_ALLOC_SWITCH_TABLE);
    ret = bdrv_co_pwrite(bs->file, offsetof(QCowHeader,
                                            refcount_table_offset),
                         sizeof(hdr), hdr, 0);
    if (ret < 0) {
        return ret;
    }
    ret = bdrv_co_flush(bs->file->bs);
    if (ret < 0) {
        return ret;
    }

    for (i = 0; i < new_size; i++) {
        table[i] = GUINT64_FROM_BE(table[i]);
    }
    g_free(s->refcount_table);
    s->refcount_table = g_steal_pointer(&table);
    s->refcount_table_size = new_size;
    s->refcount_table_offset = (base + nb) << s->cluster_bits;

    ret = qcow2_free_clusters(bs, old_offset,
                              old_clusters << s->cluster_bits,
                              QCOW2_DISCARD_OTHER);
    if (ret < 0) {
        return ret;
    }
    return -EAGAIN;
}

/*
 * Add @addend to the count of every cluster of [@offset, + @length).
 * Increments first make sure that all the refcount blocks exist (which
 * may return -EAGAIN, having changed nothing of the range).
 */
static int coroutine_fn update_refcount(BlockDriverState *bs,
                                        uint64_t offset, uint64_t length,
                                        int64_t addend,
                                        Qcow2DiscardType type)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t first = offset >> s->cluster_bits;
    uint64_t last = (offset + length - 1) >> s->cluster_bits;
    uint64_t ci, ti;
    uint64_t discard_start = 0, discard_len = 0;
    void *block = NULL;
    uint64_t block_ti = UINT64_MAX;
    int ret = 0;

    if (length == 0) {
        return 0;
    }
    if (addend > 0) {
        for (ti = first >> s->refcount_block_bits;
             ti <= last >> s->refcount_block_bits; ti++) {
            ret = alloc_refcount_block(bs, ti);
            if (ret < 0) {
                return ret;
            }
        }
    }
    trace_qcow2_update_refcount(bs, offset, length, addend);

    for (ci = first; ci <= last; ci++) {
        uint64_t rc;

        ti = ci >> s->refcount_block_bits;
        if (ti != block_ti) {
            if (block) {
                qcow2_cache_put(s->refcount_block_cache, &block);
            }
            ret = get_refcount_block(bs, ti, &block);
            if (ret < 0) {
                goto out;
            }
            if (!block) {
                /* Freeing a cluster nobody counted: a broken image. */
                trace_qcow2_corrupt(bs, "free of uncounted cluster",
                                    ci << s->cluster_bits);
                ret = -EINVAL;
                goto out;
            }
            block_ti = ti;
        }
        rc = rb_get(s, block, ci & (s->refcount_block_size - 1));
        if ((addend < 0 && rc < (uint64_t)-addend) ||
            (addend > 0 && s->refcount_max - rc < (uint64_t)addend)) {
            trace_qcow2_corrupt(bs, "refcount out of range",
                                ci << s->cluster_bits);
            ret = addend < 0 ? -EINVAL : -ERANGE;
            goto out;
        }
        rc += addend;
        rb_set(s, block, ci & (s->refcount_block_size - 1), rc);
        qcow2_cache_entry_mark_dirty(s->refcount_block_cache, block);
        if (rc == 0) {
            if (ci < s->free_cluster_index) {
                s->free_cluster_index = ci;
            }
            /* A freed metadata cluster must not be written back later. */
            qcow2_cache_discard(s->l2_table_cache, ci << s->cluster_bits);
            if (s->discard_passthrough[type]) {
                if (discard_len &&
                    discard_start + discard_len == ci << s->cluster_bits) {
                    discard_len += s->cluster_size;
                } else {
                    if (discard_len) {
                        bdrv_co_pdiscard(bs->file, discard_start,
                                         discard_len);
                    }
                    discard_start = ci << s->cluster_bits;
                    discard_len = s->cluster_size;
                }
            }
        }
    }
out:
    if (block) {
        qcow2_cache_put(s->refcount_block_cache, &block);
    }
    if (discard_len) {
        bdrv_co_pdiscard(bs->file, discard_start, discard_len);
    }
    return ret;
}

int64_t coroutine_fn qcow2_alloc_clusters(BlockDriverState *bs,
                                          uint64_t size)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t n = qcow2_size_to_clusters(s, size);
    int64_t ci;
    int ret;

    assert(n > 0);
    qemu_co_mutex_assert_locked(&s->lock);
    BLKDBG_EVENT(bs->file, BLKDBG_CLUSTER_ALLOC);
    do {
        ci = find_free_clusters(bs, n);
        if (ci < 0) {
            return ci;
        }
        ret = update_refcount(bs, (uint64_t)ci << s->cluster_bits,
                              n << s->cluster_bits, 1, QCOW2_DISCARD_NEVER);
    } while (ret == -EAGAIN);
    if (ret < 0) {
        return ret;
    }
    if ((uint64_t)ci == s->free_cluster_index) {
        s->free_cluster_index = ci + n;
    }
    trace_qcow2_alloc_clusters(bs, (uint64_t)ci << s->cluster_bits, size);
    return (uint64_t)ci << s->cluster_bits;
}

int coroutine_fn qcow2_free_clusters(BlockDriverState *bs, uint64_t offset,
                                     uint64_t size, Qcow2DiscardType type)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t start = qcow2_start_of_cluster(s, offset);
    uint64_t end = ROUND_UP(offset + size, (uint64_t)s->cluster_size);

    int ret;

    BLKDBG_EVENT(bs->file, BLKDBG_CLUSTER_FREE);
    ret = update_refcount(bs, start, end - start, -1, type);
    if (ret < 0) {
        /*
         * As QEMU: a free that fails leaks the clusters (qemu-img check
         * -r leaks finds them) but fails nothing else; it is said once,
         * on stderr, in QEMU's words (which carry no program name).
         */
        trace_qcow2_free_clusters_failed(bs, offset, size, ret);
        error_printf("qcow2_free_clusters failed: %s\n", strerror(-ret));
    }
    return 0;
}

int coroutine_fn qcow2_free_any_cluster(BlockDriverState *bs,
                                        uint64_t l2_entry,
                                        Qcow2DiscardType type)
{
    BDRVQcow2State *s = bs->opaque;

    if (l2_entry & QCOW_OFLAG_COMPRESSED) {
        uint64_t coffset = l2_entry & s->cluster_offset_mask;
        uint64_t nb = ((l2_entry >> s->csize_shift) & s->csize_mask) + 1;

        return qcow2_free_clusters(bs, coffset & ~(uint64_t)511, nb * 512,
                                   type);
    }
    if (l2_entry & L2E_OFFSET_MASK) {
        if (qcow2_offset_into_cluster(s, l2_entry & L2E_OFFSET_MASK)) {
            /* Rounding would free a cluster the entry never owned. */
            trace_qcow2_corrupt(bs, "cannot free unaligned cluster",
                                l2_entry & L2E_OFFSET_MASK);
            return -EIO;
        }
        return qcow2_free_clusters(bs, l2_entry & L2E_OFFSET_MASK,
                                   s->cluster_size, type);
    }
    return 0;
}

void qcow2_defer_free(BlockDriverState *bs, uint64_t l2_entry,
                      Qcow2DiscardType type)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t item[2] = { l2_entry, type };

    g_array_append_vals(s->deferred_frees, item, 1);
}

int coroutine_fn qcow2_process_deferred_frees(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    g_autoptr(GArray) list = NULL;
    int ret, result = 0;
    guint i;

    qemu_co_mutex_assert_locked(&s->lock);
    if (!s->deferred_frees->len) {
        return 0;
    }
    /* The L2 tables that dropped the references reach the disk first. */
    ret = qcow2_cache_flush(bs, s->l2_table_cache);
    if (ret < 0) {
        /* Keep them queued: the references may still be on disk. */
        return ret;
    }
    list = s->deferred_frees;
    s->deferred_frees = g_array_new(false, false, sizeof(uint64_t) * 2);
    for (i = 0; i < list->len; i++) {
        uint64_t *item = (uint64_t *)(list->data + i * sizeof(uint64_t) * 2);

        ret = qcow2_free_any_cluster(bs, item[0], item[1]);
        if (ret < 0 && result == 0) {
            /* Leaked at worst: carry on with the others. */
            result = ret;
        }
    }
    return result;
}

int coroutine_fn qcow2_flush_caches(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    int ret;

    ret = qcow2_process_deferred_frees(bs);
    if (ret < 0) {
        return ret;
    }
    ret = qcow2_cache_write(bs, s->l2_table_cache);
    if (ret < 0) {
        return ret;
    }
    return qcow2_cache_write(bs, s->refcount_block_cache);
}
