/*
 * qcow2-cluster.c: guest offsets to host offsets, and changing the map.
 *
 * A guest offset splits into an L1 index, an L2 index and an offset in
 * the cluster.  The L1 table is in memory (s->l1_table); L2 tables come
 * through the L2 cache.  An L2 entry (64 bits, or 128 with extended L2
 * entries) says what the cluster is: unallocated (read the backing file),
 * zero, data at a host offset, or compressed.  With extended L2 entries
 * each of the 32 subclusters has an "allocated" and a "reads as zeroes"
 * bit; the host offset is shared by the whole cluster.
 *
 * Changing the map happens in three places:
 *  - writes (qcow2_plan_write / qcow2_link_write): a cluster that can be
 *    written in place (data, refcount 1, every touched subcluster
 *    allocated) is; any other gets a host cluster (a new one, or its own
 *    preallocated one) that receives the old content around the new data
 *    (copy-on-write), and only then is the L2 entry switched to it;
 *  - zero writes (qcow2_cluster_zeroize): the zero flag, or the zero bits
 *    of extended entries, with the host cluster freed if asked to unmap;
 *  - discards (qcow2_cluster_discard): as QEMU 7.2, a discarded cluster
 *    reads as zeroes (v3) where it would otherwise show the backing file
 *    or old data, else becomes unallocated.
 * Host clusters that an entry stops referencing are freed through
 * qcow2_defer_free(), after the L2 table is on disk.
 *
 * Every function here runs with s->lock held; the caller of the write
 * functions holds the guest range exclusively (qcow2.c), so nobody else
 * changes these entries while the lock is dropped for data I/O.
 *
 * Example, 64 KiB clusters, no backing file: a 4 KiB write at 70 KiB to
 * an unallocated cluster.  qcow2_plan_write() allocates host cluster H,
 * with cow_head 6 KiB and cow_tail 54 KiB; qcow2.c reads those (zeroes),
 * writes 64 KiB at H, and qcow2_link_write() sets L2[1] = H | COPIED.
 */
#include "qemu/osdep.h"

#include "block/block_int.h"
#include "qcow2.h"
#include "trace.h"

static uint64_t get_l2_entry(BDRVQcow2State *s, const uint64_t *table,
                             int index)
{
    return GUINT64_FROM_BE(table[index * (s->l2_entry_size / 8)]);
}

static uint64_t get_l2_bitmap(BDRVQcow2State *s, const uint64_t *table,
                              int index)
{
    if (!s->extended_l2) {
        return 0;
    }
    return GUINT64_FROM_BE(table[index * 2 + 1]);
}

static void set_l2_entry(BDRVQcow2State *s, uint64_t *table, int index,
                         uint64_t entry)
{
    table[index * (s->l2_entry_size / 8)] = GUINT64_TO_BE(entry);
}

static void set_l2_bitmap(BDRVQcow2State *s, uint64_t *table, int index,
                          uint64_t bitmap)
{
    assert(s->extended_l2);
    table[index * 2 + 1] = GUINT64_TO_BE(bitmap);
}

Qcow2SubclusterType qcow2_get_subcluster_type(BlockDriverState *bs,
                                              uint64_t l2_entry,
                                              uint64_t l2_bitmap,
                                              unsigned int sc_index)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t host = l2_entry & L2E_OFFSET_MASK;

    if (l2_entry & QCOW_OFLAG_COMPRESSED) {
        return QCOW2_SUBCLUSTER_COMPRESSED;
    }
    if (host && qcow2_offset_into_cluster(s, host)) {
        return QCOW2_SUBCLUSTER_INVALID;
    }
    if (s->extended_l2) {
        bool alloc = (l2_bitmap >> sc_index) & 1;
        bool zero = (l2_bitmap >> (32 + sc_index)) & 1;

        if (alloc && zero) {
            return QCOW2_SUBCLUSTER_INVALID;
        }
        if (zero) {
            return host ? QCOW2_SUBCLUSTER_ZERO_ALLOC
                        : QCOW2_SUBCLUSTER_ZERO_PLAIN;
        }
        if (alloc) {
            return host ? QCOW2_SUBCLUSTER_NORMAL : QCOW2_SUBCLUSTER_INVALID;
        }
        return host ? QCOW2_SUBCLUSTER_UNALLOCATED_ALLOC
                    : QCOW2_SUBCLUSTER_UNALLOCATED_PLAIN;
    }
    if (l2_entry & QCOW_OFLAG_ZERO) {
        return host ? QCOW2_SUBCLUSTER_ZERO_ALLOC : QCOW2_SUBCLUSTER_ZERO_PLAIN;
    }
    return host ? QCOW2_SUBCLUSTER_NORMAL : QCOW2_SUBCLUSTER_UNALLOCATED_PLAIN;
}

int coroutine_fn qcow2_write_l1_entry(BlockDriverState *bs, int l1_index)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t be = GUINT64_TO_BE(s->l1_table[l1_index]);

    BLKDBG_EVENT(bs->file, BLKDBG_L1_UPDATE);
    return bdrv_co_pwrite(bs->file, s->l1_table_offset +
                          (uint64_t)l1_index * L1E_SIZE, sizeof(be), &be, 0);
}

int coroutine_fn qcow2_grow_l1_table(BlockDriverState *bs,
                                     uint64_t min_size, bool exact_size)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t new_size, bytes, old_offset = s->l1_table_offset;
    int old_size = s->l1_size;
    g_autofree uint64_t *table = NULL;
    uint8_t hdr[12];
    uint32_t be32;
    uint64_t be64;
    int64_t new_offset;
    uint64_t i;
    int ret;

    if (min_size <= (uint64_t)s->l1_size) {
        return 0;
    }
    if (exact_size) {
        new_size = min_size;
    } else {
        new_size = MAX(s->l1_size, 1);
        while (min_size > new_size) {
            new_size = (new_size * 3 + 1) / 2;
        }
    }
    if (new_size > QCOW_MAX_L1_SIZE / L1E_SIZE) {
        if (min_size > QCOW_MAX_L1_SIZE / L1E_SIZE) {
            return -EFBIG;
        }
        new_size = QCOW_MAX_L1_SIZE / L1E_SIZE;
    }
    bytes = ROUND_UP(new_size * L1E_SIZE, (uint64_t)s->cluster_size);
    table = g_try_malloc0(bytes);
    if (!table) {
        return -ENOMEM;
    }
    trace_qcow2_grow_l1_table(bs, s->l1_size, new_size);
    BLKDBG_EVENT(bs->file, BLKDBG_L1_GROW_ALLOC_TABLE);
    new_offset = qcow2_alloc_clusters(bs, bytes);
    if (new_offset < 0) {
        return new_offset;
    }
    for (i = 0; i < (uint64_t)s->l1_size; i++) {
        table[i] = GUINT64_TO_BE(s->l1_table[i]);
    }
    /* The table and its count on disk, then the header switches. */
    ret = qcow2_cache_flush(bs, s->refcount_block_cache);
    if (ret < 0) {
        goto fail;
    }
    BLKDBG_EVENT(bs->file, BLKDBG_L1_GROW_WRITE_TABLE);
    ret = bdrv_co_pwrite(bs->file, new_offset, bytes, table, 0);
    if (ret < 0) {
        goto fail;
    }
    ret = bdrv_co_flush(bs->file->bs);
    if (ret < 0) {
        goto fail;
    }
    be32 = GUINT32_TO_BE((uint32_t)new_size);
    be64 = GUINT64_TO_BE((uint64_t)new_offset);
    memcpy(hdr, &be32, 4);
    memcpy(hdr + 4, &be64, 8);
    BLKDBG_EVENT(bs->file, BLKDBG_L1_GROW_ACTIVATE_TABLE);
    ret = bdrv_co_pwrite(bs->file, offsetof(QCowHeader, l1_size),
                         sizeof(hdr), hdr, 0);
    if (ret < 0) {
        goto fail;
    }
    ret = bdrv_co_flush(bs->file->bs);
    if (ret < 0) {
        goto fail;
    }
    for (i = 0; i < new_size; i++) {
        table[i] = GUINT64_FROM_BE(table[i]);
    }
    g_free(s->l1_table);
    s->l1_table = g_steal_pointer(&table);
    s->l1_table_offset = new_offset;
    s->l1_size = new_size;
    if (old_size) {
        qcow2_free_clusters(bs, old_offset, (uint64_t)old_size * L1E_SIZE,
                            QCOW2_DISCARD_OTHER);
    }
    return 0;

fail:
    qcow2_free_clusters(bs, new_offset, bytes, QCOW2_DISCARD_OTHER);
    return ret;
}

/*
 * The L2 table for guest @offset, pinned in the cache, and the index of
 * @offset in it.  Without @alloc, *@table is NULL where there is none;
 * with @alloc one is made (growing the L1 table if needed).
 */
static int coroutine_fn get_l2_table(BlockDriverState *bs, uint64_t offset,
                                     bool alloc, uint64_t **table,
                                     int *l2_index)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t l1_index = offset >> (s->l2_bits + s->cluster_bits);
    uint64_t l1e, l2_offset, rc;
    int64_t new_offset;
    void *t;
    int ret;

    *table = NULL;
    *l2_index = (offset >> s->cluster_bits) & (s->l2_size - 1);
    if (l1_index >= (uint64_t)s->l1_size) {
        if (!alloc) {
            return 0;
        }
        ret = qcow2_grow_l1_table(bs, l1_index + 1, false);
        if (ret < 0) {
            return ret;
        }
    }
    l1e = s->l1_table[l1_index];
    l2_offset = l1e & L1E_OFFSET_MASK;
    if (l2_offset && qcow2_offset_into_cluster(s, l2_offset)) {
        trace_qcow2_corrupt(bs, "L2 table offset unaligned", l2_offset);
        return -EIO;
    }
    if (l2_offset && (!alloc || (l1e & QCOW_OFLAG_COPIED))) {
        ret = qcow2_cache_get(bs, s->l2_table_cache, l2_offset, &t);
        *table = t;
        return ret;
    }
    if (!l2_offset && !alloc) {
        return 0;
    }
    if (l2_offset) {
        /* An L2 table without COPIED may be shared (snapshots). */
        ret = qcow2_get_refcount(bs, l2_offset >> s->cluster_bits, &rc);
        if (ret < 0) {
            return ret;
        }
        if (rc != 1) {
            /*
             * Sharing needs internal snapshots, and an image with them is
             * not opened read-write: the refcount is broken.
             */
            trace_qcow2_corrupt(bs, "L2 table refcount is not 1", l2_offset);
            return -EIO;
        }
        s->l1_table[l1_index] |= QCOW_OFLAG_COPIED;
        ret = qcow2_write_l1_entry(bs, l1_index);
        if (ret < 0) {
            s->l1_table[l1_index] = l1e;
            return ret;
        }
        ret = qcow2_cache_get(bs, s->l2_table_cache, l2_offset, &t);
        *table = t;
        return ret;
    }

    new_offset = qcow2_alloc_clusters(bs, s->cluster_size);
    if (new_offset < 0) {
        return new_offset;
    }
    trace_qcow2_alloc_l2_table(bs, l1_index, new_offset);
    ret = qcow2_cache_get_empty(bs, s->l2_table_cache, new_offset, &t);
    if (ret < 0) {
        goto fail;
    }
    memset(t, 0, s->cluster_size);
    qcow2_cache_entry_mark_dirty(s->l2_table_cache, t);
    /* The table (and its refcount) on disk before L1 points at it. */
    BLKDBG_EVENT(bs->file, BLKDBG_L2_ALLOC_WRITE);
    ret = qcow2_cache_flush(bs, s->l2_table_cache);
    if (ret < 0) {
        qcow2_cache_put(s->l2_table_cache, &t);
        goto fail;
    }
    s->l1_table[l1_index] = new_offset | QCOW_OFLAG_COPIED;
    ret = qcow2_write_l1_entry(bs, l1_index);
    if (ret < 0) {
        s->l1_table[l1_index] = l1e;
        qcow2_cache_put(s->l2_table_cache, &t);
        goto fail;
    }
    *table = t;
    return 0;

fail:
    qcow2_cache_discard(s->l2_table_cache, new_offset);
    qcow2_free_clusters(bs, new_offset, s->cluster_size,
                        QCOW2_DISCARD_NEVER);
    return ret;
}

int coroutine_fn qcow2_get_host_offset(BlockDriverState *bs,
                                       uint64_t offset, uint64_t *bytes,
                                       uint64_t *host_offset,
                                       Qcow2SubclusterType *type,
                                       uint64_t *l2_entry)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t in_cluster = qcow2_offset_into_cluster(s, offset);
    uint64_t l2_span = (uint64_t)s->l2_size << s->cluster_bits;
    uint64_t max_bytes = MIN(*bytes, l2_span - (offset & (l2_span - 1)));
    uint64_t *table;
    uint64_t entry, bitmap, first_host, avail;
    int l2_index, i, sc;
    Qcow2SubclusterType t;
    int ret;

    ret = get_l2_table(bs, offset, false, &table, &l2_index);
    if (ret < 0) {
        return ret;
    }
    *host_offset = 0;
    *l2_entry = 0;
    if (!table) {
        *type = QCOW2_SUBCLUSTER_UNALLOCATED_PLAIN;
        *bytes = max_bytes;
        return 0;
    }

    entry = get_l2_entry(s, table, l2_index);
    bitmap = get_l2_bitmap(s, table, l2_index);
    sc = in_cluster >> s->subcluster_bits;
    t = qcow2_get_subcluster_type(bs, entry, bitmap, sc);
    *type = t;
    *l2_entry = entry;
    if (t == QCOW2_SUBCLUSTER_INVALID) {
        trace_qcow2_corrupt(bs, "invalid L2 entry", entry);
        qcow2_cache_put(s->l2_table_cache, (void **)&table);
        return -EIO;
    }
    first_host = entry & L2E_OFFSET_MASK;
    if (t == QCOW2_SUBCLUSTER_COMPRESSED) {
        *bytes = MIN(max_bytes, (uint64_t)s->cluster_size - in_cluster);
        qcow2_cache_put(s->l2_table_cache, (void **)&table);
        return 0;
    }
    if (first_host) {
        *host_offset = first_host + in_cluster;
    }

    /* Extend the run over subclusters and clusters of the same kind. */
    avail = ((uint64_t)(sc + 1) << s->subcluster_bits) - in_cluster;
    i = l2_index;
    sc++;
    while (avail < max_bytes) {
        uint64_t e, b;

        if (sc == s->subclusters_per_cluster) {
            sc = 0;
            i++;
            if (i >= s->l2_size) {
                break;
            }
        }
        e = get_l2_entry(s, table, i);
        b = get_l2_bitmap(s, table, i);
        if (qcow2_get_subcluster_type(bs, e, b, sc) != t) {
            break;
        }
        if (t != QCOW2_SUBCLUSTER_UNALLOCATED_PLAIN &&
            t != QCOW2_SUBCLUSTER_ZERO_PLAIN &&
            (e & L2E_OFFSET_MASK) !=
            first_host + ((uint64_t)(i - l2_index) << s->cluster_bits)) {
            break;
        }
        avail += s->subcluster_size;
        sc++;
    }
    *bytes = MIN(avail, max_bytes);
    qcow2_cache_put(s->l2_table_cache, (void **)&table);
    return 0;
}

/* Can [@a, @b) of the cluster of entry @e be written where it is? */
static bool cluster_in_place(BDRVQcow2State *s, uint64_t e, uint64_t bitmap,
                             uint64_t a, uint64_t b)
{
    uint64_t first, last, mask;

    if ((e & QCOW_OFLAG_COMPRESSED) || !(e & QCOW_OFLAG_COPIED) ||
        !(e & L2E_OFFSET_MASK)) {
        return false;
    }
    if (!s->extended_l2) {
        return !(e & QCOW_OFLAG_ZERO);
    }
    first = a >> s->subcluster_bits;
    last = (b - 1) >> s->subcluster_bits;
    mask = ((UINT64_C(2) << last) - 1) & ~((UINT64_C(1) << first) - 1);
    return (bitmap & mask) == mask;
}

/* A plain entry whose host offset is not cluster aligned breaks the spec. */
static bool entry_misaligned(BDRVQcow2State *s, uint64_t e)
{
    return !(e & QCOW_OFLAG_COMPRESSED) &&
           qcow2_offset_into_cluster(s, e & L2E_OFFSET_MASK);
}

/* Is entry @e's host cluster ours to rewrite whole (refcount 1)? */
static bool cluster_reusable(uint64_t e)
{
    return !(e & QCOW_OFLAG_COMPRESSED) && (e & QCOW_OFLAG_COPIED) &&
           (e & L2E_OFFSET_MASK);
}

int coroutine_fn qcow2_plan_write(BlockDriverState *bs, uint64_t offset,
                                  uint64_t bytes, Qcow2WritePlan *plan)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t in_cluster = qcow2_offset_into_cluster(s, offset);
    uint64_t *table;
    uint64_t e, bm, covered;
    int l2_index, i, nb_max;
    int64_t host;
    int ret;

    qemu_co_mutex_assert_locked(&s->lock);
    memset(plan, 0, sizeof(*plan));
    plan->offset = offset;
    ret = get_l2_table(bs, offset, true, &table, &l2_index);
    if (ret < 0) {
        return ret;
    }
    nb_max = MIN((uint64_t)(s->l2_size - l2_index),
                 qcow2_size_to_clusters(s, in_cluster + bytes));

    e = get_l2_entry(s, table, l2_index);
    bm = get_l2_bitmap(s, table, l2_index);
    if (entry_misaligned(s, e)) {
        /* Writing there would land in another cluster. */
        trace_qcow2_corrupt(bs, "invalid L2 entry", e);
        qcow2_cache_put(s->l2_table_cache, (void **)&table);
        return -EIO;
    }
    if (cluster_in_place(s, e, bm, in_cluster,
                         MIN(in_cluster + bytes, (uint64_t)s->cluster_size))) {
        uint64_t first_host = e & L2E_OFFSET_MASK;

        covered = s->cluster_size - in_cluster;
        for (i = 1; i < nb_max && covered < bytes; i++) {
            uint64_t ei = get_l2_entry(s, table, l2_index + i);
            uint64_t bi = get_l2_bitmap(s, table, l2_index + i);
            uint64_t end = MIN(bytes - covered, (uint64_t)s->cluster_size);

            if (!cluster_in_place(s, ei, bi, 0, end) ||
                (ei & L2E_OFFSET_MASK) !=
                first_host + ((uint64_t)i << s->cluster_bits)) {
                break;
            }
            covered += s->cluster_size;
        }
        qcow2_cache_put(s->l2_table_cache, (void **)&table);
        plan->in_place = true;
        plan->bytes = MIN(bytes, covered);
        plan->host_offset = first_host + in_cluster;
        return 0;
    }

    plan->cluster_offset = qcow2_start_of_cluster(s, offset);
    if (cluster_reusable(e)) {
        plan->nb_clusters = 1;
        plan->reused = true;
        plan->host_cluster = e & L2E_OFFSET_MASK;
    } else {
        /* A run of clusters that all need new host clusters. */
        for (i = 1; i < nb_max; i++) {
            uint64_t ei = get_l2_entry(s, table, l2_index + i);

            /* A broken entry ends the run: the next plan refuses it. */
            if (cluster_reusable(ei) || entry_misaligned(s, ei)) {
                break;
            }
        }
        plan->nb_clusters = i;
    }
    qcow2_cache_put(s->l2_table_cache, (void **)&table);

    if (!plan->reused) {
        host = qcow2_alloc_clusters(bs, (uint64_t)plan->nb_clusters <<
                                        s->cluster_bits);
        if (host < 0) {
            return host;
        }
        plan->host_cluster = host;
    }
    covered = ((uint64_t)plan->nb_clusters << s->cluster_bits) - in_cluster;
    plan->bytes = MIN(bytes, covered);
    plan->cow_head = in_cluster;
    plan->cow_tail = covered - plan->bytes;
    plan->host_offset = plan->host_cluster + in_cluster;
    trace_qcow2_plan_write(bs, offset, plan->bytes, plan->host_cluster,
                           plan->nb_clusters, plan->reused, plan->cow_head,
                           plan->cow_tail);
    return 0;
}

int coroutine_fn qcow2_link_write(BlockDriverState *bs,
                                  Qcow2WritePlan *plan)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t *table;
    int l2_index, i;
    int ret;

    qemu_co_mutex_assert_locked(&s->lock);
    if (plan->in_place) {
        return 0;
    }
    if (s->use_lazy_refcounts) {
        /* As QEMU: the image is marked dirty before the first link. */
        ret = qcow2_mark_dirty(bs);
        if (ret < 0) {
            return ret;
        }
    }
    ret = get_l2_table(bs, plan->cluster_offset, true, &table, &l2_index);
    if (ret < 0) {
        return ret;
    }
    assert(l2_index + plan->nb_clusters <= s->l2_size);
    for (i = 0; i < plan->nb_clusters; i++) {
        uint64_t old = get_l2_entry(s, table, l2_index + i);
        uint64_t host = plan->host_cluster + ((uint64_t)i << s->cluster_bits);

        set_l2_entry(s, table, l2_index + i, host | QCOW_OFLAG_COPIED);
        if (s->extended_l2) {
            set_l2_bitmap(s, table, l2_index + i, QCOW_L2_BITMAP_ALL_ALLOC);
        }
        if (!plan->reused &&
            ((old & QCOW_OFLAG_COMPRESSED) || (old & L2E_OFFSET_MASK))) {
            /* Copied away from a compressed or shared cluster. */
            qcow2_defer_free(bs, old, QCOW2_DISCARD_NEVER);
        }
    }
    qcow2_cache_entry_mark_dirty(s->l2_table_cache, table);
    qcow2_cache_put(s->l2_table_cache, (void **)&table);
    /* The data (and copied old content) reach the disk before the entry. */
    qcow2_cache_depends_on_flush(s->l2_table_cache);
    trace_qcow2_link_write(bs, plan->cluster_offset, plan->host_cluster,
                           plan->nb_clusters);
    return 0;
}

void coroutine_fn qcow2_abort_write(BlockDriverState *bs,
                                    Qcow2WritePlan *plan)
{
    BDRVQcow2State *s = bs->opaque;

    if (plan->in_place || plan->reused) {
        return;
    }
    qcow2_free_clusters(bs, plan->host_cluster,
                        (uint64_t)plan->nb_clusters << s->cluster_bits,
                        QCOW2_DISCARD_NEVER);
}

/* Allocated in QEMU's sense: the entry references a host cluster. */
static bool entry_allocated(uint64_t e)
{
    return (e & QCOW_OFLAG_COMPRESSED) || (e & L2E_OFFSET_MASK);
}

int coroutine_fn qcow2_cluster_zeroize(BlockDriverState *bs,
                                       uint64_t offset, uint64_t bytes,
                                       int flags)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t end = offset + bytes;

    qemu_co_mutex_assert_locked(&s->lock);
    assert(!qcow2_offset_into_cluster(s, offset));
    if (s->version < 3) {
        /* No zero flag in v2: without a backing file, discard will do. */
        if (!bs->backing) {
            return qcow2_cluster_discard(bs, offset, bytes,
                                         QCOW2_DISCARD_REQUEST, false);
        }
        return -ENOTSUP;
    }
    trace_qcow2_cluster_zeroize(bs, offset, bytes, flags);
    while (offset < end) {
        uint64_t *table;
        int l2_index, i, n;
        bool dirty = false;
        int ret;

        ret = get_l2_table(bs, offset, true, &table, &l2_index);
        if (ret < 0) {
            return ret;
        }
        n = MIN((uint64_t)(s->l2_size - l2_index),
                qcow2_size_to_clusters(s, end - offset));
        for (i = 0; i < n; i++) {
            uint64_t old = get_l2_entry(s, table, l2_index + i);
            uint64_t old_bm = get_l2_bitmap(s, table, l2_index + i);
            bool unmap = (old & QCOW_OFLAG_COMPRESSED) ||
                         ((flags & BDRV_REQ_MAY_UNMAP) &&
                          entry_allocated(old));
            uint64_t new = unmap ? 0 : old;
            uint64_t new_bm = old_bm;

            if (s->extended_l2) {
                new_bm = QCOW_L2_BITMAP_ALL_ZEROES;
            } else {
                new |= QCOW_OFLAG_ZERO;
            }
            if (old == new && old_bm == new_bm) {
                continue;
            }
            set_l2_entry(s, table, l2_index + i, new);
            if (s->extended_l2) {
                set_l2_bitmap(s, table, l2_index + i, new_bm);
            }
            dirty = true;
            if (unmap) {
                qcow2_defer_free(bs, old, QCOW2_DISCARD_REQUEST);
            }
        }
        if (dirty) {
            qcow2_cache_entry_mark_dirty(s->l2_table_cache, table);
        }
        qcow2_cache_put(s->l2_table_cache, (void **)&table);
        offset += (uint64_t)n << s->cluster_bits;
    }
    return 0;
}

int coroutine_fn qcow2_cluster_discard(BlockDriverState *bs,
                                       uint64_t offset, uint64_t bytes,
                                       Qcow2DiscardType type,
                                       bool full_discard)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t end = offset + bytes;
    bool make_zero = !full_discard && s->version >= 3;

    qemu_co_mutex_assert_locked(&s->lock);
    assert(!qcow2_offset_into_cluster(s, offset));
    trace_qcow2_cluster_discard(bs, offset, bytes, type, full_discard);
    while (offset < end) {
        uint64_t *table;
        int l2_index, i, n;
        bool dirty = false;
        int ret;

        /*
         * Only a discard that makes zero clusters over a backing file
         * needs an L2 table where there is none.
         */
        ret = get_l2_table(bs, offset,
                           make_zero && bs->backing, &table, &l2_index);
        if (ret < 0) {
            return ret;
        }
        n = MIN((uint64_t)(s->l2_size - l2_index),
                qcow2_size_to_clusters(s, end - offset));
        if (!table) {
            offset += (uint64_t)n << s->cluster_bits;
            continue;
        }
        for (i = 0; i < n; i++) {
            uint64_t old = get_l2_entry(s, table, l2_index + i);
            uint64_t old_bm = get_l2_bitmap(s, table, l2_index + i);
            uint64_t new = old, new_bm = old_bm;

            if (full_discard) {
                new = new_bm = 0;
            } else if (bs->backing || entry_allocated(old)) {
                if (s->extended_l2) {
                    new = 0;
                    new_bm = QCOW_L2_BITMAP_ALL_ZEROES;
                } else {
                    new = s->version >= 3 ? QCOW_OFLAG_ZERO : 0;
                }
            }
            if (old == new && old_bm == new_bm) {
                continue;
            }
            set_l2_entry(s, table, l2_index + i, new);
            if (s->extended_l2) {
                set_l2_bitmap(s, table, l2_index + i, new_bm);
            }
            dirty = true;
            if (entry_allocated(old)) {
                qcow2_defer_free(bs, old, type);
            }
        }
        if (dirty) {
            qcow2_cache_entry_mark_dirty(s->l2_table_cache, table);
        }
        qcow2_cache_put(s->l2_table_cache, (void **)&table);
        offset += (uint64_t)n << s->cluster_bits;
    }
    return 0;
}

bool qcow2_overlaps_fixed_metadata(BlockDriverState *bs, uint64_t offset,
                                   uint64_t size)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t end = offset + size;

    if (offset < (uint64_t)s->cluster_size) {
        return true;
    }
    if (s->l1_size && offset < s->l1_table_offset +
        (uint64_t)s->l1_size * L1E_SIZE && s->l1_table_offset < end) {
        return true;
    }
    if (offset < s->refcount_table_offset +
        (uint64_t)s->refcount_table_size * REFTABLE_ENTRY_SIZE &&
        s->refcount_table_offset < end) {
        return true;
    }
    return false;
}

bool qcow2_overlaps_metadata(BlockDriverState *bs, uint64_t offset,
                             uint64_t size)
{
    BDRVQcow2State *s = bs->opaque;

    return s->overlap_check && qcow2_overlaps_fixed_metadata(bs, offset, size);
}
