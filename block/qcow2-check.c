/*
 * qcow2-check.c: the consistency check of an open qcow2 image (qblock-img
 * check), and the format-specific part of "info".
 *
 * The check counts, for every host cluster of the file, how many times
 * the metadata references it (header, L1 table, L2 tables, data and
 * compressed clusters, refcount table and blocks), and compares that with
 * the refcount stored for it:
 *
 *   stored > references   a leak: space wasted, no harm ("Leaked cluster
 *                         N refcount=R reference=C"); -r leaks lowers the
 *                         refcount to the reference count
 *   stored < references   a corruption: a cluster in use may be handed
 *                         out again ("ERROR cluster N ..."); -r all raises
 *                         the refcount, when a refcount block covers it
 *
 * An L1 or L2 entry pointing at an unaligned offset or past the end of
 * the file is a corruption (never repaired, its cluster not counted), and
 * so is an entry whose COPIED flag disagrees with the refcount being
 * exactly 1 (-r all rewrites the flag).  Messages go to stderr in QEMU's
 * words.
 *
 * The metadata is read straight from the file, after the driver's caches
 * are written back; repairs write refcount blocks and tables in place and
 * drop the cached copies, so the driver rereads them.  The whole check
 * runs under s->lock.  Memory: two counters per cluster of the file.
 *
 * Example: an image whose L2 entry for guest cluster 80 was zeroed by
 * hand still has refcount 1 on the data cluster it pointed to, say 9:
 * the check prints "Leaked cluster 9 refcount=1 reference=0" and counts
 * one leak; -r leaks writes 0 into the refcount block for cluster 9.
 */
#include "qemu/osdep.h"

#include "block/block_int.h"
#include "block/qcow2.h"
#include "qapi/error.h"
#include "trace.h"

typedef struct Qcow2CheckState {
    BlockDriverState *bs;
    BdrvCheckResult *res;
    BdrvCheckMode fix;
    uint64_t nb_clusters;       /* clusters of the file */
    uint64_t *refs;             /* references counted, per cluster */
    uint64_t *stored;           /* refcount stored, per cluster */
    /* Refcounts stored for clusters past the end of the file. */
    uint64_t highest_stored;
} Qcow2CheckState;

static uint64_t load_be64(const uint8_t *p)
{
    uint64_t v;

    memcpy(&v, p, sizeof(v));
    return GUINT64_FROM_BE(v);
}

static void store_be64(uint8_t *p, uint64_t v)
{
    v = GUINT64_TO_BE(v);
    memcpy(p, &v, sizeof(v));
}

/* Refcount entry @i of a refcount block, any width. */
static uint64_t rb_entry_get(BDRVQcow2State *s, const uint8_t *block,
                             uint64_t i)
{
    int bits = s->refcount_bits;
    uint16_t v16;
    uint32_t v32;

    if (bits < 8) {
        uint64_t bit = i * bits;

        return (block[bit / 8] >> (bit % 8)) & ((1 << bits) - 1);
    }
    switch (bits) {
    case 8:
        return block[i];
    case 16:
        memcpy(&v16, block + i * 2, 2);
        return GUINT16_FROM_BE(v16);
    case 32:
        memcpy(&v32, block + i * 4, 4);
        return GUINT32_FROM_BE(v32);
    default:
        return load_be64(block + i * 8);
    }
}

static void rb_entry_set(BDRVQcow2State *s, uint8_t *block, uint64_t i,
                         uint64_t value)
{
    int bits = s->refcount_bits;
    uint16_t v16;
    uint32_t v32;

    if (bits < 8) {
        uint64_t bit = i * bits;
        uint8_t mask = ((1 << bits) - 1) << (bit % 8);

        block[bit / 8] = (block[bit / 8] & ~mask) |
                         ((value << (bit % 8)) & mask);
        return;
    }
    switch (bits) {
    case 8:
        block[i] = value;
        break;
    case 16:
        v16 = GUINT16_TO_BE(value);
        memcpy(block + i * 2, &v16, 2);
        break;
    case 32:
        v32 = GUINT32_TO_BE(value);
        memcpy(block + i * 4, &v32, 4);
        break;
    default:
        store_be64(block + i * 8, value);
        break;
    }
}

static void check_corruption(Qcow2CheckState *c, const char *what,
                             uint64_t offset)
{
    trace_qcow2_check_corruption(c->bs, what, offset);
    c->res->corruptions++;
}

/*
 * Count one reference to each cluster of [@offset, + @size).  False (and
 * a corruption) if the range is not wholly inside the file.
 */
static bool check_add_ref(Qcow2CheckState *c, uint64_t offset,
                          uint64_t size)
{
    BDRVQcow2State *s = c->bs->opaque;
    uint64_t first = offset >> s->cluster_bits;
    uint64_t last = (offset + size - 1) >> s->cluster_bits;
    uint64_t i;

    if (size == 0) {
        return true;
    }
    if (last >= c->nb_clusters) {
        fprintf(stderr, "ERROR: Cluster at offset 0x%" PRIx64 " is past "
                "the end of the image file\n", offset);
        check_corruption(c, "past end of file", offset);
        return false;
    }
    for (i = first; i <= last; i++) {
        c->refs[i]++;
    }
    return true;
}

/* Read every refcount block into c->stored. */
static int coroutine_fn check_load_refcounts(Qcow2CheckState *c)
{
    BDRVQcow2State *s = c->bs->opaque;
    g_autofree uint8_t *block = g_malloc(s->cluster_size);
    uint64_t i, j;
    int ret;

    for (i = 0; i < s->refcount_table_size; i++) {
        uint64_t off = s->refcount_table[i] & REFT_OFFSET_MASK;
        uint64_t first = i * s->refcount_block_size;

        if (!off) {
            continue;
        }
        if (off & (s->cluster_size - 1)) {
            fprintf(stderr, "ERROR refcount block %" PRIu64 " is not "
                    "cluster aligned; refcount table entry corrupted\n", i);
            check_corruption(c, "unaligned refcount block", off);
            continue;
        }
        if ((off >> s->cluster_bits) >= c->nb_clusters) {
            fprintf(stderr, "ERROR refcount block %" PRIu64 " is outside "
                    "image\n", i);
            check_corruption(c, "refcount block past end of file", off);
            continue;
        }
        c->refs[off >> s->cluster_bits]++;
        ret = bdrv_co_pread(c->bs->file, off, s->cluster_size, block, 0);
        if (ret < 0) {
            c->res->check_errors++;
            return ret;
        }
        for (j = 0; j < (uint64_t)s->refcount_block_size; j++) {
            uint64_t rc = rb_entry_get(s, block, j);

            if (!rc) {
                continue;
            }
            if (first + j < c->nb_clusters) {
                c->stored[first + j] = rc;
            }
            c->highest_stored = MAX(c->highest_stored, first + j + 1);
        }
    }
    return 0;
}

/* Count what one L2 table references; gathers the allocation figures. */
static int coroutine_fn check_l2_table(Qcow2CheckState *c, uint64_t l2_off,
                                       uint64_t *next_contiguous)
{
    BDRVQcow2State *s = c->bs->opaque;
    g_autofree uint8_t *table = g_malloc(s->cluster_size);
    int step = s->l2_entry_size;
    int i, ret;

    ret = bdrv_co_pread(c->bs->file, l2_off, s->cluster_size, table, 0);
    if (ret < 0) {
        fprintf(stderr, "ERROR: I/O error in check_refcounts_l2\n");
        c->res->check_errors++;
        return ret;
    }
    for (i = 0; i < s->l2_size; i++) {
        uint64_t entry = load_be64(table + i * step);
        uint64_t off;

        if (entry & QCOW_OFLAG_COMPRESSED) {
            uint64_t coff = entry & s->cluster_offset_mask;
            uint64_t sectors = ((entry >> s->csize_shift) & s->csize_mask)
                               + 1;
            uint64_t csize = sectors * QCOW2_COMPRESSED_SECTOR_SIZE -
                             (coff & (QCOW2_COMPRESSED_SECTOR_SIZE - 1));

            c->res->bfi.allocated_clusters++;
            c->res->bfi.compressed_clusters++;
            check_add_ref(c, coff, csize);
            *next_contiguous = 0;
            continue;
        }
        off = entry & L2E_OFFSET_MASK;
        if (!off) {
            continue;
        }
        if (!(entry & QCOW_OFLAG_ZERO) || s->extended_l2) {
            c->res->bfi.allocated_clusters++;
            if (*next_contiguous && off != *next_contiguous) {
                c->res->bfi.fragmented_clusters++;
            }
            *next_contiguous = off + s->cluster_size;
        }
        if (off & (s->cluster_size - 1)) {
            fprintf(stderr, "ERROR offset=%" PRIx64 ": Cluster is not "
                    "properly aligned; L2 entry corrupted.\n", off);
            check_corruption(c, "unaligned data cluster", off);
            continue;
        }
        check_add_ref(c, off, s->cluster_size);
    }
    return 0;
}

/* References from the header, L1 and L2 tables, refcount table. */
static int coroutine_fn check_count_refs(Qcow2CheckState *c)
{
    BDRVQcow2State *s = c->bs->opaque;
    uint64_t next_contiguous = 0;
    int i, ret;

    check_add_ref(c, 0, s->cluster_size);
    if (s->l1_size) {
        check_add_ref(c, s->l1_table_offset, (uint64_t)s->l1_size * 8);
    }
    for (i = 0; i < s->l1_size; i++) {
        uint64_t l2_off = s->l1_table[i] & L1E_OFFSET_MASK;

        if (!l2_off) {
            continue;
        }
        if (l2_off & (s->cluster_size - 1)) {
            fprintf(stderr, "ERROR l2_offset=%" PRIx64 ": Table is not "
                    "cluster aligned; L1 entry corrupted\n", l2_off);
            check_corruption(c, "unaligned L2 table", l2_off);
            continue;
        }
        if (!check_add_ref(c, l2_off, s->cluster_size)) {
            continue;
        }
        ret = check_l2_table(c, l2_off, &next_contiguous);
        if (ret < 0) {
            return ret;
        }
    }
    check_add_ref(c, s->refcount_table_offset,
                  (uint64_t)s->refcount_table_size * 8);
    return check_load_refcounts(c);
}

/* Write refcount @value for @cluster into its refcount block on disk. */
static int coroutine_fn check_set_refcount(Qcow2CheckState *c,
                                           uint64_t cluster, uint64_t value)
{
    BDRVQcow2State *s = c->bs->opaque;
    uint64_t index = cluster >> s->refcount_block_bits;
    uint64_t rb_off;
    g_autofree uint8_t *block = NULL;
    int ret;

    if (index >= s->refcount_table_size) {
        return -ENOTSUP;
    }
    rb_off = s->refcount_table[index] & REFT_OFFSET_MASK;
    if (!rb_off || (rb_off & (s->cluster_size - 1)) ||
        (rb_off >> s->cluster_bits) >= c->nb_clusters) {
        return -ENOTSUP;
    }
    block = g_malloc(s->cluster_size);
    ret = bdrv_co_pread(c->bs->file, rb_off, s->cluster_size, block, 0);
    if (ret < 0) {
        return ret;
    }
    rb_entry_set(s, block, cluster & (s->refcount_block_size - 1), value);
    ret = bdrv_co_pwrite(c->bs->file, rb_off, s->cluster_size, block, 0);
    if (ret < 0) {
        return ret;
    }
    qcow2_cache_discard(s->refcount_block_cache, rb_off);
    trace_qcow2_check_refcount_fixed(c->bs, cluster << s->cluster_bits,
                                     c->stored[cluster], value);
    c->stored[cluster] = value;
    return 0;
}

/* Compare references with refcounts, repairing as asked. */
static int coroutine_fn check_compare(Qcow2CheckState *c)
{
    uint64_t i;
    int ret;

    for (i = 0; i < c->nb_clusters; i++) {
        uint64_t rc = c->stored[i], refs = c->refs[i];

        if (rc == refs) {
            continue;
        }
        if (rc > refs) {
            bool fix = c->fix & BDRV_FIX_LEAKS;

            fprintf(stderr, "Leaked cluster %" PRIu64 " refcount=%" PRIu64
                    " reference=%" PRIu64 "\n", i, rc, refs);
            trace_qcow2_check_leak(c->bs, i, rc);
            if (fix) {
                fprintf(stderr, "Repairing cluster %" PRIu64 " refcount=%"
                        PRIu64 " reference=%" PRIu64 "\n", i, rc, refs);
                ret = check_set_refcount(c, i, refs);
                if (ret == 0) {
                    c->res->leaks_fixed++;
                    continue;
                }
                c->res->check_errors++;
            }
            c->res->leaks++;
            continue;
        }
        fprintf(stderr, "ERROR cluster %" PRIu64 " refcount=%" PRIu64
                " reference=%" PRIu64 "\n", i, rc, refs);
        check_corruption(c, "refcount too low", i);
        if (rc == 0 && (c->fix & BDRV_FIX_LEAKS) &&
            !(c->fix & BDRV_FIX_ERRORS)) {
            /* As QEMU: a cluster in use counted free needs -r all. */
            fprintf(stderr, "ERROR need to rebuild refcount structures\n");
            c->res->check_errors++;
            return -EIO;
        }
        if (c->fix & BDRV_FIX_ERRORS) {
            fprintf(stderr, "Repairing cluster %" PRIu64 " refcount=%" PRIu64
                    " reference=%" PRIu64 "\n", i, rc, refs);
            if (check_set_refcount(c, i, refs) == 0) {
                c->res->corruptions--;
                c->res->corruptions_fixed++;
            }
        }
    }
    return 0;
}

/*
 * The COPIED flag of L1 and L2 entries must say whether the refcount is
 * exactly 1.  Checked after the refcounts were repaired.
 */
static int coroutine_fn check_copied_flags(Qcow2CheckState *c)
{
    BDRVQcow2State *s = c->bs->opaque;
    g_autofree uint8_t *table = g_malloc(s->cluster_size);
    int i, j, ret;

    for (i = 0; i < s->l1_size; i++) {
        uint64_t l1e = s->l1_table[i];
        uint64_t l2_off = l1e & L1E_OFFSET_MASK;
        uint64_t cl = l2_off >> s->cluster_bits;
        bool dirty = false;

        if (!l2_off || (l2_off & (s->cluster_size - 1)) ||
            cl >= c->nb_clusters) {
            continue;
        }
        if ((c->stored[cl] == 1) != !!(l1e & QCOW_OFLAG_COPIED)) {
            fprintf(stderr, "%s OFLAG_COPIED L2 cluster: l1_index=%d "
                    "l1_entry=%" PRIx64 " refcount=%" PRIu64 "\n",
                    c->fix & BDRV_FIX_ERRORS ? "Repairing" : "ERROR", i,
                    l1e, c->stored[cl]);
            check_corruption(c, "L1 COPIED flag", l2_off);
            if (c->fix & BDRV_FIX_ERRORS) {
                uint64_t ne = c->stored[cl] == 1 ? l1e | QCOW_OFLAG_COPIED
                                                 : l1e & ~QCOW_OFLAG_COPIED;

                s->l1_table[i] = ne;
                ret = qcow2_write_l1_entry(c->bs, i);
                if (ret < 0) {
                    c->res->check_errors++;
                } else {
                    c->res->corruptions--;
                    c->res->corruptions_fixed++;
                }
            }
        }

        ret = bdrv_co_pread(c->bs->file, l2_off, s->cluster_size, table, 0);
        if (ret < 0) {
            c->res->check_errors++;
            return ret;
        }
        for (j = 0; j < s->l2_size; j++) {
            uint64_t e = load_be64(table + j * s->l2_entry_size);
            uint64_t off = e & L2E_OFFSET_MASK;
            uint64_t dc = off >> s->cluster_bits;

            if ((e & QCOW_OFLAG_COMPRESSED) || !off ||
                (off & (s->cluster_size - 1)) || dc >= c->nb_clusters) {
                continue;
            }
            if ((c->stored[dc] == 1) == !!(e & QCOW_OFLAG_COPIED)) {
                continue;
            }
            fprintf(stderr, "%s OFLAG_COPIED data cluster: l2_entry=%"
                    PRIx64 " refcount=%" PRIu64 "\n",
                    c->fix & BDRV_FIX_ERRORS ? "Repairing" : "ERROR", e,
                    c->stored[dc]);
            check_corruption(c, "L2 COPIED flag", off);
            if (c->fix & BDRV_FIX_ERRORS) {
                e = c->stored[dc] == 1 ? e | QCOW_OFLAG_COPIED
                                       : e & ~QCOW_OFLAG_COPIED;
                store_be64(table + j * s->l2_entry_size, e);
                dirty = true;
                c->res->corruptions--;
                c->res->corruptions_fixed++;
            }
        }
        if (dirty) {
            ret = bdrv_co_pwrite(c->bs->file, l2_off, s->cluster_size,
                                 table, 0);
            if (ret < 0) {
                c->res->check_errors++;
                return ret;
            }
            qcow2_cache_discard(s->l2_table_cache, l2_off);
        }
    }
    return 0;
}

/*
 * The dirty bit (lazy refcounts): set in the header before the first
 * allocation that relies on it, cleared once the refcounts on disk are
 * whole again (a clean close, or a full repair).
 */
int coroutine_fn qcow2_mark_dirty(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t be;
    int ret;

    if (s->incompatible_features & QCOW2_INCOMPAT_DIRTY) {
        return 0;
    }
    be = GUINT64_TO_BE(s->incompatible_features | QCOW2_INCOMPAT_DIRTY);
    ret = bdrv_co_pwrite(bs->file, offsetof(QCowHeader,
                                            incompatible_features),
                         sizeof(be), &be, 0);
    if (ret == 0) {
        ret = bdrv_co_flush(bs->file->bs);
    }
    if (ret < 0) {
        return ret;
    }
    /* Dirty only once the header says so. */
    s->incompatible_features |= QCOW2_INCOMPAT_DIRTY;
    trace_qcow2_mark_dirty(bs);
    return 0;
}

int coroutine_fn qcow2_mark_clean(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t be;
    int ret;

    if (!(s->incompatible_features & QCOW2_INCOMPAT_DIRTY)) {
        return 0;
    }
    /* Everything the repair wrote is stable before the bit goes. */
    ret = bdrv_co_flush(bs->file->bs);
    if (ret < 0) {
        return ret;
    }
    be = GUINT64_TO_BE(s->incompatible_features & ~QCOW2_INCOMPAT_DIRTY);
    ret = bdrv_co_pwrite(bs->file, offsetof(QCowHeader,
                                            incompatible_features),
                         sizeof(be), &be, 0);
    if (ret < 0) {
        return ret;
    }
    ret = bdrv_co_flush(bs->file->bs);
    if (ret < 0) {
        return ret;
    }
    s->incompatible_features &= ~QCOW2_INCOMPAT_DIRTY;
    return 0;
}

int coroutine_fn qcow2_co_check(BlockDriverState *bs, BdrvCheckResult *res,
                                BdrvCheckMode fix)
{
    BDRVQcow2State *s = bs->opaque;
    int ret;

    qemu_co_mutex_lock(&s->lock);
    ret = qcow2_co_check_locked(bs, res, fix);
    qemu_co_mutex_unlock(&s->lock);
    return ret;
}

int coroutine_fn qcow2_co_check_locked(BlockDriverState *bs,
                                       BdrvCheckResult *res,
                                       BdrvCheckMode fix)
{
    BDRVQcow2State *s = bs->opaque;
    Qcow2CheckState c = { .bs = bs, .res = res, .fix = fix };
    int64_t file_len;
    uint64_t i;
    int ret;

    qemu_co_mutex_assert_locked(&s->lock);
    trace_qcow2_check_start(bs, fix);
    /* What the caches hold must be on disk before the file is read. */
    ret = qcow2_flush_caches(bs);
    if (ret < 0) {
        res->check_errors++;
        goto out;
    }
    file_len = bdrv_co_getlength(bs->file->bs);
    if (file_len < 0) {
        ret = file_len;
        res->check_errors++;
        goto out;
    }
    c.nb_clusters = DIV_ROUND_UP(file_len, s->cluster_size);
    /*
     * As QEMU: no more clusters than an int counts.  A sparse file that
     * a wild L2 entry made huge must not become a huge allocation.
     */
    if (c.nb_clusters > INT_MAX) {
        ret = -EFBIG;
        res->check_errors++;
        goto out;
    }
    c.refs = g_try_new0(uint64_t, MAX(c.nb_clusters, 1));
    c.stored = g_try_new0(uint64_t, MAX(c.nb_clusters, 1));
    if (!c.refs || !c.stored) {
        ret = -ENOMEM;
        res->check_errors++;
        goto out;
    }
    res->bfi.total_clusters = qcow2_size_to_clusters(s, s->size);

    ret = check_count_refs(&c);
    if (ret < 0) {
        goto out;
    }
    ret = check_compare(&c);
    if (ret < 0) {
        goto out;
    }
    ret = check_copied_flags(&c);
    if (ret < 0) {
        goto out;
    }
    if (fix) {
        ret = bdrv_co_flush(bs->file->bs);
        if (ret < 0) {
            res->check_errors++;
            goto out;
        }
    }
    /*
     * As QEMU: an image the repair left consistent is no longer dirty
     * (lazy refcounts were brought up to date).
     */
    if (fix && !res->corruptions && !res->check_errors) {
        ret = qcow2_mark_clean(bs);
        if (ret < 0) {
            res->check_errors++;
            goto out;
        }
    }

    /* The end of the last cluster with a refcount. */
    res->image_end_offset = 0;
    for (i = c.nb_clusters; i > 0; i--) {
        if (c.stored[i - 1]) {
            res->image_end_offset = i << s->cluster_bits;
            break;
        }
    }
    ret = 0;
out:
    g_free(c.refs);
    g_free(c.stored);
    trace_qcow2_check_done(bs, res->corruptions, res->leaks,
                           res->check_errors, res->corruptions_fixed,
                           res->leaks_fixed);
    return ret;
}

ImageInfoSpecific *qcow2_get_specific_info(BlockDriverState *bs,
                                           Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    ImageInfoSpecific *spec = g_new0(ImageInfoSpecific, 1);
    ImageInfoSpecificQCow2 *q = g_new0(ImageInfoSpecificQCow2, 1);

    spec->type = IMAGE_INFO_SPECIFIC_FORMAT_QCOW2;
    spec->u.qcow2.data = q;
    q->refcount_bits = s->refcount_bits;
    q->compression_type = s->compression_type == QCOW2_COMPRESSION_TYPE_ZSTD
                          ? QCOW2_COMPRESSION_TYPE_ZSTD
                          : QCOW2_COMPRESSION_TYPE_ZLIB;
    if (s->version == 2) {
        q->compat = g_strdup("0.10");
        return spec;
    }
    q->compat = g_strdup("1.1");
    q->has_lazy_refcounts = true;
    q->lazy_refcounts = !!(s->compatible_features &
                           QCOW2_COMPAT_LAZY_REFCOUNTS);
    q->has_corrupt = true;
    q->corrupt = !!(s->incompatible_features & QCOW2_INCOMPAT_CORRUPT);
    q->has_extended_l2 = true;
    q->extended_l2 = s->extended_l2;
    return spec;
}
