/*
 * qcow2-create.c: making a new qcow2 image.
 *
 * The image is laid out in memory first and then written to an empty
 * file, without opening it as qcow2.  The layout is the one QEMU 7.2's
 * qemu-img writes, so that a fresh image compares equal byte for byte:
 *
 *   cluster 0        the header, its extensions (backing format, feature
 *                    name table for v3, end marker), the backing file name
 *   cluster 1        the refcount table (one cluster)
 *   cluster 2        the first refcount block
 *   cluster 3...     the L1 table (only l1_size * 8 bytes are written, so
 *                    the file ends there when nothing follows)
 *
 * A host cluster is taken by layout_alloc(): the first run of free
 * clusters at or after a hint, as QEMU's allocator finds it; then every
 * cluster of the run gets a refcount, and a cluster that no refcount
 * block covers yet makes one at the next free cluster (itself covered by
 * the same rule).  preallocation=metadata then takes, for each L1 entry,
 * one L2 table and right after it the data clusters it maps.
 * preallocation=falloc|full instead puts a "refcount area" after the L1
 * table: the refcount blocks that the data will need, then a new
 * refcount table (the old one, cluster 1, is freed), then all the data
 * clusters in one run; the L2 tables are taken afterwards, the first one
 * in the freed cluster 1 and the others after the data.
 *
 * Worked example: 1 GiB, 64 KiB clusters, preallocation=off: l1_size is
 * 2 (an L2 table maps 8192 clusters, 512 MiB); refcounts 1 for clusters
 * 0-3; the file is 3 * 64 KiB + 16 bytes long.
 *
 * Refcounts in memory are one byte per host cluster: a fresh image has no
 * refcount above 1.
 */
#include "qemu/osdep.h"

#include "block/block_int.h"
#include "block/block-backend.h"
#include "block/qcow2.h"
#include "qapi/error.h"
#include "trace.h"

/* Big-endian stores into a byte buffer. */
static void put_be16(uint8_t *p, uint16_t v)
{
    v = GUINT16_TO_BE(v);
    memcpy(p, &v, sizeof(v));
}

static void put_be32(uint8_t *p, uint32_t v)
{
    v = GUINT32_TO_BE(v);
    memcpy(p, &v, sizeof(v));
}

static void put_be64(uint8_t *p, uint64_t v)
{
    v = GUINT64_TO_BE(v);
    memcpy(p, &v, sizeof(v));
}

/* What the creation options ask for, checked. */
typedef struct Qcow2CreateParams {
    int version;
    int cluster_bits;
    bool extended_l2;
    bool lazy_refcounts;
    int refcount_order;
    int compression_type;
    PreallocMode prealloc;
    uint64_t size;
    const char *backing_file;
    const char *backing_fmt;
} Qcow2CreateParams;

/* The image being laid out. */
typedef struct Qcow2Layout {
    uint64_t cluster_size;
    int cluster_bits;
    int refcount_order;
    /* Clusters one refcount block describes. */
    uint64_t refblock_entries;
    int l2_entry_size;

    /* Refcount of every host cluster so far (0 or 1). */
    GByteArray *refcount;
    /* Lowest cluster that may be free (QEMU's free_cluster_index). */
    uint64_t free_hint;

    uint64_t reftable_offset;
    uint64_t reftable_clusters;
    uint64_t *reftable;             /* reftable_clusters * cs / 8 entries */

    uint64_t l1_offset;
    uint32_t l1_size;
    uint64_t *l1;

    /* L2 tables to write: offset -> table (owned). */
    GHashTable *l2_tables;
    /* First byte after the data clusters (0: none). */
    uint64_t data_end;
} Qcow2Layout;

static uint8_t layout_refcount(Qcow2Layout *l, uint64_t cluster)
{
    return cluster < l->refcount->len ? l->refcount->data[cluster] : 0;
}

static void layout_set_refcount(Qcow2Layout *l, uint64_t cluster, uint8_t rc)
{
    if (cluster >= l->refcount->len) {
        guint old = l->refcount->len;

        g_byte_array_set_size(l->refcount, cluster + 1);
        memset(l->refcount->data + old, 0, cluster + 1 - old);
    }
    l->refcount->data[cluster] = rc;
}

/* The first run of @n free clusters at or after the hint. */
static uint64_t layout_find_free(Qcow2Layout *l, uint64_t n)
{
    uint64_t start = l->free_hint, i;

    for (;;) {
        for (i = 0; i < n; i++) {
            if (layout_refcount(l, start + i)) {
                break;
            }
        }
        if (i == n) {
            return start;
        }
        start += i + 1;
    }
}

static void layout_grow_reftable(Qcow2Layout *l, uint64_t index);

/* Make sure a refcount block describes @cluster. */
static void layout_cover(Qcow2Layout *l, uint64_t cluster)
{
    uint64_t index = cluster / l->refblock_entries;
    uint64_t rb;

    if (index >= l->reftable_clusters * l->cluster_size / 8) {
        layout_grow_reftable(l, index);
    }
    if (l->reftable[index]) {
        return;
    }
    rb = layout_find_free(l, 1);
    layout_set_refcount(l, rb, 1);
    l->free_hint = rb + 1;
    l->reftable[index] = rb << l->cluster_bits;
    layout_cover(l, rb);
}

/* Take @n contiguous clusters; returns the first one's index. */
static uint64_t layout_alloc(Qcow2Layout *l, uint64_t n)
{
    uint64_t start = layout_find_free(l, n), i;

    for (i = 0; i < n; i++) {
        layout_set_refcount(l, start + i, 1);
    }
    l->free_hint = start + n;
    for (i = 0; i < n; i++) {
        layout_cover(l, start + i);
    }
    return start;
}

/*
 * The refcount table is full: move it to the end, large enough for
 * @index, and free the old one.  (Only images whose L1 table alone needs
 * more refcount blocks than one table cluster holds get here.)
 */
static void layout_grow_reftable(Qcow2Layout *l, uint64_t index)
{
    uint64_t old_entries = l->reftable_clusters * l->cluster_size / 8;
    uint64_t clusters = DIV_ROUND_UP((index + 1) * 8, l->cluster_size) * 2;
    uint64_t old_first = l->reftable_offset >> l->cluster_bits;
    uint64_t *table = g_new0(uint64_t, clusters * l->cluster_size / 8);
    uint64_t start, i;

    memcpy(table, l->reftable, old_entries * 8);
    g_free(l->reftable);
    l->reftable = table;
    start = layout_find_free(l, clusters);
    for (i = 0; i < clusters; i++) {
        layout_set_refcount(l, start + i, 1);
    }
    for (i = 0; i < l->reftable_clusters; i++) {
        layout_set_refcount(l, old_first + i, 0);
    }
    l->free_hint = MIN(l->free_hint, old_first);
    l->reftable_offset = start << l->cluster_bits;
    l->reftable_clusters = clusters;
    for (i = 0; i < clusters; i++) {
        layout_cover(l, start + i);
    }
}

static uint64_t *layout_new_l2(Qcow2Layout *l, uint64_t offset)
{
    uint64_t *table = g_malloc0(l->cluster_size);
    uint64_t *key = g_new(uint64_t, 1);

    *key = offset;
    g_hash_table_insert(l->l2_tables, key, table);
    return table;
}

/* Point L2 entry @i of @table at the data cluster @cluster. */
static void layout_set_l2(Qcow2Layout *l, uint64_t *table, uint64_t i,
                          uint64_t cluster)
{
    /* With extended L2 the bitmap stays 0: subclusters unallocated. */
    table[i * (l->l2_entry_size / 8)] =
        GUINT64_TO_BE((cluster << l->cluster_bits) | QCOW_OFLAG_COPIED);
}

/* preallocation=metadata: per L1 entry, its L2 table then its data. */
static void layout_prealloc_metadata(Qcow2Layout *l, uint64_t size)
{
    uint64_t l2_entries = l->cluster_size / l->l2_entry_size;
    uint64_t clusters = DIV_ROUND_UP(size, l->cluster_size);
    uint32_t i;

    for (i = 0; i < l->l1_size; i++) {
        uint64_t first = (uint64_t)i * l2_entries;
        uint64_t n = MIN(l2_entries, clusters - first);
        uint64_t l2 = layout_alloc(l, 1), data, j;
        uint64_t *table = layout_new_l2(l, l2 << l->cluster_bits);

        l->l1[i] = (l2 << l->cluster_bits) | QCOW_OFLAG_COPIED;
        data = layout_alloc(l, n);
        for (j = 0; j < n; j++) {
            layout_set_l2(l, table, j, data + j);
        }
        l->data_end = MAX(l->data_end, (data + n) << l->cluster_bits);
    }
}

/*
 * preallocation=falloc|full: refcount blocks for everything to come,
 * a new refcount table, the data in one run, then the L2 tables.
 */
static void layout_prealloc_area(Qcow2Layout *l, uint64_t size)
{
    uint64_t l2_entries = l->cluster_size / l->l2_entry_size;
    uint64_t clusters = DIV_ROUND_UP(size, l->cluster_size);
    uint64_t start = layout_find_free(l, 1);
    uint64_t old_entries = l->reftable_clusters * l->cluster_size / 8;
    uint64_t old_first = l->reftable_offset >> l->cluster_bits;
    uint64_t refblocks = 0, table_clusters = 1, end, entries, i, j, data;
    uint64_t *table;

    /* The area covers itself: iterate until the counts settle. */
    for (;;) {
        uint64_t nb = 0, tc;

        end = start + refblocks + table_clusters + clusters + l->l1_size;
        entries = DIV_ROUND_UP(end, l->refblock_entries);
        for (i = 0; i < entries; i++) {
            if (i >= old_entries || !l->reftable[i]) {
                nb++;
            }
        }
        tc = DIV_ROUND_UP(MAX(entries, old_entries) * 8, l->cluster_size);
        if (nb == refblocks && tc == table_clusters) {
            break;
        }
        refblocks = nb;
        table_clusters = tc;
    }

    table = g_new0(uint64_t, table_clusters * l->cluster_size / 8);
    memcpy(table, l->reftable, old_entries * 8);
    g_free(l->reftable);
    l->reftable = table;
    for (i = 0, j = start; i < entries; i++) {
        if (!table[i]) {
            table[i] = j << l->cluster_bits;
            layout_set_refcount(l, j++, 1);
        }
    }
    for (i = 0; i < table_clusters; i++) {
        layout_set_refcount(l, j + i, 1);
    }
    l->reftable_offset = j << l->cluster_bits;
    l->reftable_clusters = table_clusters;
    for (i = 0; i < old_entries * 8 / l->cluster_size; i++) {
        layout_set_refcount(l, old_first + i, 0);
    }
    l->free_hint = MIN(old_first, start);

    data = j + table_clusters;
    for (i = 0; i < clusters; i++) {
        layout_set_refcount(l, data + i, 1);
        layout_cover(l, data + i);
    }
    l->data_end = (data + clusters) << l->cluster_bits;

    for (i = 0; i < l->l1_size; i++) {
        uint64_t first = i * l2_entries;
        uint64_t n = MIN(l2_entries, clusters - first);
        uint64_t l2 = layout_alloc(l, 1);
        uint64_t *t = layout_new_l2(l, l2 << l->cluster_bits);

        l->l1[i] = (l2 << l->cluster_bits) | QCOW_OFLAG_COPIED;
        for (j = 0; j < n; j++) {
            layout_set_l2(l, t, j, data + first + j);
        }
    }
}

/* Store refcount @rc of entry @i in refcount block @block. */
static void refblock_set(uint8_t *block, int order, uint64_t i, uint64_t rc)
{
    int bits = 1 << order;

    if (bits < 8) {
        /* Packed from the least significant bit of each byte. */
        uint64_t bit = i * bits;

        block[bit / 8] |= rc << (bit % 8);
        return;
    }
    switch (bits) {
    case 8:
        block[i] = rc;
        break;
    case 16:
        put_be16(block + i * 2, rc);
        break;
    case 32:
        put_be32(block + i * 4, rc);
        break;
    default:
        put_be64(block + i * 8, rc);
        break;
    }
}

/* Append a header extension (data padded to 8 bytes) at *@pos. */
static bool header_add_ext(uint8_t *buf, size_t buf_size, size_t *pos,
                           uint32_t magic, const void *data, uint32_t len)
{
    size_t padded = ROUND_UP(len, 8);

    if (*pos + 8 + padded > buf_size) {
        return false;
    }
    put_be32(buf + *pos, magic);
    put_be32(buf + *pos + 4, len);
    if (len) {
        memcpy(buf + *pos + 8, data, len);
    }
    *pos += 8 + padded;
    return true;
}

/* The feature name table QEMU 7.2 writes into every v3 image. */
static const struct {
    uint8_t type;       /* 0 incompatible, 1 compatible, 2 autoclear */
    uint8_t bit;
    const char *name;
} qcow2_feature_names[] = {
    { 0, QCOW2_INCOMPAT_DIRTY_BITNR, "dirty bit" },
    { 0, QCOW2_INCOMPAT_CORRUPT_BITNR, "corrupt bit" },
    { 0, QCOW2_INCOMPAT_DATA_FILE_BITNR, "external data file" },
    { 0, QCOW2_INCOMPAT_COMPRESSION_BITNR, "compression type" },
    { 0, QCOW2_INCOMPAT_EXTL2_BITNR, "extended L2 entries" },
    { 1, QCOW2_COMPAT_LAZY_REFCOUNTS_BITNR, "lazy refcounts" },
    { 2, QCOW2_AUTOCLEAR_BITMAPS_BITNR, "bitmaps" },
    { 2, QCOW2_AUTOCLEAR_DATA_FILE_RAW_BITNR, "raw external data" },
};

#define QCOW2_FEATURE_NAME_LEN 46

/* Cluster 0: header, extensions, backing file name. */
static bool qcow2_build_header(const Qcow2CreateParams *p, Qcow2Layout *l,
                               uint8_t *buf, Error **errp)
{
    QCowHeader h = { 0 };
    size_t len = p->version >= 3 ? QCOW2_V3_HEADER_LENGTH
                                 : QCOW2_V2_HEADER_LENGTH;
    size_t pos = len;
    uint64_t incompat = 0;

    h.magic = GUINT32_TO_BE(QCOW_MAGIC);
    h.version = GUINT32_TO_BE(p->version);
    h.cluster_bits = GUINT32_TO_BE(p->cluster_bits);
    h.size = GUINT64_TO_BE(p->size);
    h.l1_size = GUINT32_TO_BE(l->l1_size);
    h.l1_table_offset = GUINT64_TO_BE(l->l1_offset);
    h.refcount_table_offset = GUINT64_TO_BE(l->reftable_offset);
    h.refcount_table_clusters = GUINT32_TO_BE(l->reftable_clusters);
    if (p->extended_l2) {
        incompat |= QCOW2_INCOMPAT_EXTL2;
    }
    if (p->compression_type != QCOW2_COMPRESSION_TYPE_ZLIB) {
        incompat |= QCOW2_INCOMPAT_COMPRESSION;
    }
    h.incompatible_features = GUINT64_TO_BE(incompat);
    h.compatible_features =
        GUINT64_TO_BE(p->lazy_refcounts ? QCOW2_COMPAT_LAZY_REFCOUNTS : 0);
    h.refcount_order = GUINT32_TO_BE(p->refcount_order);
    h.header_length = GUINT32_TO_BE(QCOW2_V3_HEADER_LENGTH);
    h.compression_type = p->compression_type;
    memcpy(buf, &h, len);

    if (p->backing_file && p->backing_fmt &&
        !header_add_ext(buf, l->cluster_size, &pos,
                        QCOW2_EXT_MAGIC_BACKING_FORMAT, p->backing_fmt,
                        strlen(p->backing_fmt))) {
        goto too_large;
    }
    if (p->version >= 3) {
        size_t n = G_N_ELEMENTS(qcow2_feature_names);
        g_autofree uint8_t *table = g_malloc0(n * 48);
        size_t i;

        for (i = 0; i < n; i++) {
            table[i * 48] = qcow2_feature_names[i].type;
            table[i * 48 + 1] = qcow2_feature_names[i].bit;
            strncpy((char *)table + i * 48 + 2, qcow2_feature_names[i].name,
                    QCOW2_FEATURE_NAME_LEN);
        }
        if (!header_add_ext(buf, l->cluster_size, &pos,
                            QCOW2_EXT_MAGIC_FEATURE_TABLE, table, n * 48)) {
            goto too_large;
        }
    }
    if (!header_add_ext(buf, l->cluster_size, &pos, QCOW2_EXT_MAGIC_END,
                        NULL, 0)) {
        goto too_large;
    }
    if (p->backing_file) {
        size_t blen = strlen(p->backing_file);

        if (blen > 1023) {
            error_setg(errp, "Backing file name too long");
            return false;
        }
        if (pos + blen > l->cluster_size) {
            goto too_large;
        }
        memcpy(buf + pos, p->backing_file, blen);
        put_be64(buf + offsetof(QCowHeader, backing_file_offset), pos);
        put_be32(buf + offsetof(QCowHeader, backing_file_size), blen);
    }
    return true;

too_large:
    error_setg(errp, "Cannot fit the header extensions into the first "
               "cluster");
    return false;
}

/*
 * Check the options in QEMU 7.2's order and with its messages: the
 * enum-like strings first (as QEMU's conversion to its QAPI options
 * does), then the values one by one.  This runs after the generic part
 * printed the "Formatting" line, as in qemu-img, and before the file is
 * created, so a refused image leaves no file behind.
 */
static bool qcow2_parse_params(BlockCreateOpts *opts, Qcow2CreateParams *p,
                               Error **errp)
{
    const char *compat = bdrv_create_opt_get(opts, "compat");
    const char *prealloc = bdrv_create_opt_get(opts, "preallocation");
    const char *ctype = bdrv_create_opt_get(opts, "compression_type");
    uint64_t cluster_size, refcount_bits, l2_entries, l1_size;
    int i;

    memset(p, 0, sizeof(*p));
    p->version = 3;
    if (compat) {
        if (!strcmp(compat, "0.10") || !strcmp(compat, "v2")) {
            p->version = 2;
        } else if (!strcmp(compat, "1.1") || !strcmp(compat, "v3")) {
            p->version = 3;
        } else {
            error_setg(errp, "Parameter 'version' does not accept value "
                       "'%s'", compat);
            return false;
        }
    }
    p->prealloc = PREALLOC_MODE_OFF;
    if (prealloc) {
        for (i = 0; i < PREALLOC_MODE__MAX; i++) {
            if (!strcmp(prealloc, PreallocMode_str(i))) {
                break;
            }
        }
        if (i == PREALLOC_MODE__MAX) {
            error_setg(errp, "Parameter 'preallocation' does not accept "
                       "value '%s'", prealloc);
            return false;
        }
        p->prealloc = i;
    }
    p->compression_type = QCOW2_COMPRESSION_TYPE_ZLIB;
    if (ctype) {
        if (!strcmp(ctype, "zstd")) {
            p->compression_type = QCOW2_COMPRESSION_TYPE_ZSTD;
        } else if (strcmp(ctype, "zlib")) {
            error_setg(errp, "Parameter 'compression-type' does not accept "
                       "value '%s'", ctype);
            return false;
        }
    }

    /* qcow2 counts the size in whole sectors. */
    p->size = ROUND_UP(bdrv_create_opt_get_size(opts, "size", 0),
                       BDRV_SECTOR_SIZE);
    p->backing_file = bdrv_create_opt_get(opts, "backing_file");
    p->backing_fmt = bdrv_create_opt_get(opts, "backing_fmt");
    p->extended_l2 = bdrv_create_opt_get_bool(opts, "extended_l2", false);
    p->lazy_refcounts = bdrv_create_opt_get_bool(opts, "lazy_refcounts",
                                                 false);

    cluster_size = bdrv_create_opt_get_size(opts, "cluster_size",
                                            1 << QCOW2_DEFAULT_CLUSTER_BITS);
    if (!is_power_of_2(cluster_size) ||
        cluster_size < (1 << QCOW_MIN_CLUSTER_BITS) ||
        cluster_size > (1 << QCOW_MAX_CLUSTER_BITS)) {
        error_setg(errp, "Cluster size must be a power of two between %d and "
                   "%dk", 1 << QCOW_MIN_CLUSTER_BITS,
                   1 << (QCOW_MAX_CLUSTER_BITS - 10));
        return false;
    }
    p->cluster_bits = ctz64(cluster_size);
    if (p->extended_l2) {
        /* A subcluster (1/32 of a cluster) may not be below 512 bytes. */
        uint64_t min_size = 16384;

        if (cluster_size < min_size) {
            error_setg(errp, "Extended L2 entries are only supported with "
                       "cluster sizes of at least %" PRIu64 " bytes",
                       min_size);
            return false;
        }
        if (p->version < 3) {
            error_setg(errp, "Extended L2 entries are only supported with "
                       "compatibility level 1.1 and above (use version=v3 "
                       "or greater)");
            return false;
        }
    }
    if (p->backing_file && p->prealloc != PREALLOC_MODE_OFF &&
        !p->extended_l2) {
        error_setg(errp, "Backing file and preallocation can only be used at "
                   "the same time if extended_l2 is on");
        return false;
    }
    if (p->lazy_refcounts && p->version < 3) {
        error_setg(errp, "Lazy refcounts only supported with compatibility "
                   "level 1.1 and above (use version=v3 or greater)");
        return false;
    }
    refcount_bits = bdrv_create_opt_get_number(opts, "refcount_bits", 16);
    if (refcount_bits > 64 || !is_power_of_2(refcount_bits)) {
        error_setg(errp, "Refcount width must be a power of two and may not "
                   "exceed 64 bits");
        return false;
    }
    if (p->version < 3 && refcount_bits != 16) {
        error_setg(errp, "Different refcount widths than 16 bits require "
                   "compatibility level 1.1 or above (use version=v3 or "
                   "greater)");
        return false;
    }
    p->refcount_order = ctz64(refcount_bits);
    if (p->version < 3 &&
        p->compression_type != QCOW2_COMPRESSION_TYPE_ZLIB) {
        error_setg(errp, "Non-zlib compression type is only supported with "
                   "compatibility level 1.1 and above (use version=v3 or "
                   "greater)");
        return false;
    }

    l2_entries = cluster_size / (p->extended_l2 ? 16 : 8);
    l1_size = DIV_ROUND_UP(p->size, cluster_size * l2_entries);
    if (p->size > INT64_MAX - cluster_size ||
        l1_size > QCOW_MAX_L1_SIZE / 8) {
        error_setg(errp, "The image size is too large for file format "
                   "'qcow2' (try using a larger cluster size)");
        return false;
    }
    if (bdrv_create_opt_get(opts, "data_file")) {
        error_setg(errp, "External data files are not supported");
        return false;
    }
    return true;
}

static void layout_free(Qcow2Layout *l)
{
    g_byte_array_free(l->refcount, true);
    g_free(l->reftable);
    g_free(l->l1);
    g_hash_table_destroy(l->l2_tables);
}

/* Compute everything but the header. */
static void qcow2_plan(const Qcow2CreateParams *p, Qcow2Layout *l)
{
    uint64_t l2_entries;

    memset(l, 0, sizeof(*l));
    l->cluster_bits = p->cluster_bits;
    l->cluster_size = 1ULL << p->cluster_bits;
    l->refcount_order = p->refcount_order;
    l->refblock_entries = l->cluster_size * 8 >> p->refcount_order;
    l->l2_entry_size = p->extended_l2 ? 16 : 8;
    l->refcount = g_byte_array_new();
    l->l2_tables = g_hash_table_new_full(g_int64_hash, g_int64_equal,
                                         g_free, g_free);

    /* Header, refcount table and first refcount block. */
    l->reftable_clusters = 1;
    l->reftable_offset = l->cluster_size;
    l->reftable = g_new0(uint64_t, l->cluster_size / 8);
    l->reftable[0] = 2 * l->cluster_size;
    layout_set_refcount(l, 0, 1);
    layout_set_refcount(l, 1, 1);
    layout_set_refcount(l, 2, 1);
    l->free_hint = 3;

    l2_entries = l->cluster_size / l->l2_entry_size;
    l->l1_size = DIV_ROUND_UP(p->size, l->cluster_size * l2_entries);
    l->l1 = g_new0(uint64_t, MAX(l->l1_size, 1));
    if (l->l1_size) {
        uint64_t n = DIV_ROUND_UP((uint64_t)l->l1_size * 8, l->cluster_size);

        l->l1_offset = layout_alloc(l, n) << l->cluster_bits;
    }

    switch (p->prealloc) {
    case PREALLOC_MODE_METADATA:
        layout_prealloc_metadata(l, p->size);
        break;
    case PREALLOC_MODE_FALLOC:
    case PREALLOC_MODE_FULL:
        layout_prealloc_area(l, p->size);
        break;
    default:
        break;
    }
}

/*
 * The end of the metadata as written: whole clusters, except the L1
 * table, of which only the entries are written (as QEMU does).
 */
static uint64_t layout_meta_end(Qcow2Layout *l)
{
    uint64_t end = 0, i;

    for (i = l->refcount->len; i > 0; i--) {
        if (l->refcount->data[i - 1]) {
            end = i << l->cluster_bits;
            break;
        }
    }
    if (l->l1_size &&
        end == ROUND_UP(l->l1_offset + (uint64_t)l->l1_size * 8,
                        l->cluster_size) &&
        l->data_end < end) {
        /* The L1 table is last: the file ends with its last entry. */
        end = l->l1_offset + (uint64_t)l->l1_size * 8;
    }
    return end;
}

static int qcow2_write_layout(BlockBackend *blk, const Qcow2CreateParams *p,
                              Qcow2Layout *l, Error **errp)
{
    uint64_t cs = l->cluster_size, nb_clusters = l->refcount->len;
    g_autofree uint8_t *buf = g_malloc0(cs);
    g_autofree uint64_t *l1 = NULL;
    GHashTableIter iter;
    gpointer key, value;
    uint64_t i, j, end;
    int ret;

    /*
     * Size the file first (a BlockBackend does not write beyond the end):
     * preallocated data as asked, then up to the last byte of metadata,
     * which is written on top.
     */
    if (p->prealloc == PREALLOC_MODE_FALLOC ||
        p->prealloc == PREALLOC_MODE_FULL) {
        ret = blk_truncate(blk, l->data_end, false, p->prealloc, 0, errp);
        if (ret < 0) {
            return ret;
        }
    }
    end = MAX(l->data_end, layout_meta_end(l));
    if (end > (uint64_t)blk_getlength(blk)) {
        ret = blk_truncate(blk, end, false, PREALLOC_MODE_OFF, 0, errp);
        if (ret < 0) {
            return ret;
        }
    }

    if (!qcow2_build_header(p, l, buf, errp)) {
        return -EINVAL;
    }
    ret = blk_pwrite(blk, 0, cs, buf, 0);
    if (ret < 0) {
        goto write_error;
    }

    /* Refcount blocks, from the in-memory refcounts. */
    for (i = 0; i < l->reftable_clusters * cs / 8; i++) {
        uint64_t first = i * l->refblock_entries;

        if (!l->reftable[i]) {
            continue;
        }
        memset(buf, 0, cs);
        for (j = 0; j < l->refblock_entries && first + j < nb_clusters; j++) {
            uint8_t rc = l->refcount->data[first + j];

            if (rc) {
                refblock_set(buf, l->refcount_order, j, rc);
            }
        }
        ret = blk_pwrite(blk, l->reftable[i], cs, buf, 0);
        if (ret < 0) {
            goto write_error;
        }
    }
    {
        uint64_t n = l->reftable_clusters * cs / 8;
        g_autofree uint64_t *table = g_new(uint64_t, n);

        for (i = 0; i < n; i++) {
            table[i] = GUINT64_TO_BE(l->reftable[i]);
        }
        ret = blk_pwrite(blk, l->reftable_offset, n * 8, table, 0);
        if (ret < 0) {
            goto write_error;
        }
    }

    g_hash_table_iter_init(&iter, l->l2_tables);
    while (g_hash_table_iter_next(&iter, &key, &value)) {
        ret = blk_pwrite(blk, *(uint64_t *)key, cs, value, 0);
        if (ret < 0) {
            goto write_error;
        }
    }

    if (l->l1_size) {
        l1 = g_new(uint64_t, l->l1_size);
        for (i = 0; i < l->l1_size; i++) {
            l1[i] = GUINT64_TO_BE(l->l1[i]);
        }
        ret = blk_pwrite(blk, l->l1_offset, (uint64_t)l->l1_size * 8, l1, 0);
        if (ret < 0) {
            goto write_error;
        }
    }

    ret = blk_flush(blk);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "Could not flush the new image");
        return ret;
    }
    return 0;

write_error:
    error_setg_errno(errp, -ret, "Could not write qcow2 header");
    return ret;
}

/* The new, empty file as a writable "file" node behind a BlockBackend. */
static BlockBackend *qcow2_create_open_file(const char *filename,
                                            Error **errp)
{
    /* A file, or what a protocol prefix names (nbd://...). */
    BlockDriver *proto = bdrv_find_protocol(filename);
    BlockDriverState *bs;
    BlockBackend *blk;

    bs = bdrv_open_image(filename, proto ? proto->format_name : "file",
                         BDRV_O_RDWR, errp);
    if (!bs) {
        return NULL;
    }
    blk = blk_new_with_bs(bs, BLK_PERM_CONSISTENT_READ | BLK_PERM_WRITE |
                          BLK_PERM_RESIZE, 0, errp);
    bdrv_unref(bs);
    return blk;
}

int qcow2_create(BlockDriver *drv, const char *filename,
                 BlockCreateOpts *opts, Error **errp)
{
    Qcow2CreateParams p;
    Qcow2Layout l;
    BlockBackend *blk;
    int ret;

    if (!qcow2_parse_params(opts, &p, errp)) {
        trace_qcow2_create_error(filename, -EINVAL);
        return -EINVAL;
    }
    trace_qcow2_create(filename, p.version, p.cluster_bits,
                       p.refcount_order, p.size, p.prealloc);
    if (!bdrv_create_file(filename, opts, errp)) {
        trace_qcow2_create_error(filename, -EIO);
        return -EIO;
    }
    blk = qcow2_create_open_file(filename, errp);
    if (!blk) {
        trace_qcow2_create_error(filename, -EIO);
        return -EIO;
    }
    qcow2_plan(&p, &l);
    trace_qcow2_create_layout(l.l1_offset, l.l1_size, l.reftable_offset,
                              l.reftable_clusters, l.data_end);
    ret = qcow2_write_layout(blk, &p, &l, errp);
    layout_free(&l);
    blk_unref(blk);
    if (ret < 0) {
        trace_qcow2_create_error(filename, ret);
    }
    return ret;
}

/* In qemu-img's print order. */
const BlockCreateOptDesc qcow2_create_opts[] = {
    { "cluster_size", BLOCK_CREATE_OPT_SIZE, "qcow2 cluster size",
      "65536" },
    { "extended_l2", BLOCK_CREATE_OPT_BOOL, "Extended L2 tables", "off" },
    { "preallocation", BLOCK_CREATE_OPT_STRING,
      "Preallocation mode (allowed values: off, metadata, falloc, full)" },
    { "compression_type", BLOCK_CREATE_OPT_STRING,
      "Compression method used for image cluster compression", "zlib" },
    { "size", BLOCK_CREATE_OPT_SIZE, "Virtual disk size" },
    { "compat", BLOCK_CREATE_OPT_STRING,
      "Compatibility level (v2 [0.10] or v3 [1.1])" },
    { "backing_file", BLOCK_CREATE_OPT_STRING, "File name of a base image" },
    { "backing_fmt", BLOCK_CREATE_OPT_STRING,
      "Image format of the base image" },
    { "lazy_refcounts", BLOCK_CREATE_OPT_BOOL, "Postpone refcount updates",
      "off" },
    { "refcount_bits", BLOCK_CREATE_OPT_NUMBER,
      "Width of a reference count entry in bits", "16" },
    { NULL }
};
