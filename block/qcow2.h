/*
 * qcow2.h: the qcow2 image format, shared by the parts of the driver.
 *
 * The on-disk layout (QEMU's docs/interop/qcow2.txt is the public
 * specification), all integers big-endian:
 *
 *   header (cluster 0)  QCowHeader, then header extensions up to the
 *                       end of the cluster, then the backing file name
 *   L1 table            l1_size 64-bit entries, contiguous, each the
 *                       offset of an L2 table (0: not allocated)
 *   L2 tables           one cluster each, one entry per data cluster
 *                       (two 64-bit words with extended_l2)
 *   refcount table      contiguous, each entry the offset of a refcount
 *                       block (0: none)
 *   refcount blocks     one cluster each, refcount_bits per cluster
 *
 * A guest offset splits as  [ l1 index | l2 index | offset in cluster ].
 *
 * The driver is split by subject:
 *   qcow2.c           open/close, header and extensions, the data path,
 *                     block status, truncate, get_info, probe
 *   qcow2-cluster.c   guest offset -> host offset through L1/L2, cluster
 *                     allocation with copy-on-write, zero clusters,
 *                     discard, compressed clusters
 *   qcow2-refcount.c  refcount table and blocks, allocating and freeing
 *                     host clusters, growing the tables
 *   qcow2-cache.c     the L2 and refcount block caches
 *   qcow2-check.c     consistency check and leak repair (qblock-img
 *                     check)
 *   qcow2-create.c    making a new image (qblock-img create, drive-mirror
 *                     targets)
 */
#ifndef QBLOCK_BLOCK_QCOW2_H
#define QBLOCK_BLOCK_QCOW2_H

#include "block/block_int.h"
#include "qemu/coroutine.h"

#define QCOW_MAGIC 0x514649fb   /* "QFI\xfb" */

#define QCOW_MIN_CLUSTER_BITS 9   /* 512 B */
#define QCOW_MAX_CLUSTER_BITS 21  /* 2 MiB */
#define QCOW2_DEFAULT_CLUSTER_BITS 16

/* Header fields up to and including nb_snapshots/snapshots_offset (v2). */
#define QCOW2_V2_HEADER_LENGTH 72
/* What QEMU 7.2 writes for v3: up to compression_type, padded to 8. */
#define QCOW2_V3_HEADER_LENGTH 112

/* The header as it is on disk (big-endian; convert on load/store). */
typedef struct QEMU_PACKED QCowHeader {
    uint32_t magic;
    uint32_t version;
    uint64_t backing_file_offset;
    uint32_t backing_file_size;
    uint32_t cluster_bits;
    uint64_t size;                  /* guest size in bytes */
    uint32_t crypt_method;
    uint32_t l1_size;               /* entries */
    uint64_t l1_table_offset;
    uint64_t refcount_table_offset;
    uint32_t refcount_table_clusters;
    uint32_t nb_snapshots;
    uint64_t snapshots_offset;
    /* Version 3 only: */
    uint64_t incompatible_features;
    uint64_t compatible_features;
    uint64_t autoclear_features;
    uint32_t refcount_order;        /* refcount_bits = 1 << refcount_order */
    uint32_t header_length;
    uint8_t compression_type;       /* only if header_length > 104 */
    uint8_t padding[7];
} QCowHeader;

/* Header extensions: type, length, data padded to 8 bytes. */
typedef struct QEMU_PACKED QCowExtension {
    uint32_t magic;
    uint32_t len;
} QCowExtension;

enum {
    QCOW2_EXT_MAGIC_END          = 0,
    QCOW2_EXT_MAGIC_BACKING_FORMAT = 0xe2792aca,
    QCOW2_EXT_MAGIC_FEATURE_TABLE = 0x6803f857,
    QCOW2_EXT_MAGIC_CRYPTO_HEADER = 0x0537be77,
    QCOW2_EXT_MAGIC_BITMAPS      = 0x23852875,
    QCOW2_EXT_MAGIC_DATA_FILE    = 0x44415441,
};

/* Incompatible feature bits: an unknown one forbids opening. */
enum {
    QCOW2_INCOMPAT_DIRTY_BITNR       = 0,
    QCOW2_INCOMPAT_CORRUPT_BITNR     = 1,
    QCOW2_INCOMPAT_DATA_FILE_BITNR   = 2,
    QCOW2_INCOMPAT_COMPRESSION_BITNR = 3,
    QCOW2_INCOMPAT_EXTL2_BITNR       = 4,
    QCOW2_INCOMPAT_DIRTY       = 1 << QCOW2_INCOMPAT_DIRTY_BITNR,
    QCOW2_INCOMPAT_CORRUPT     = 1 << QCOW2_INCOMPAT_CORRUPT_BITNR,
    QCOW2_INCOMPAT_DATA_FILE   = 1 << QCOW2_INCOMPAT_DATA_FILE_BITNR,
    QCOW2_INCOMPAT_COMPRESSION = 1 << QCOW2_INCOMPAT_COMPRESSION_BITNR,
    QCOW2_INCOMPAT_EXTL2       = 1 << QCOW2_INCOMPAT_EXTL2_BITNR,
};

/* Compatible feature bits: unknown ones are ignored. */
enum {
    QCOW2_COMPAT_LAZY_REFCOUNTS_BITNR = 0,
    QCOW2_COMPAT_LAZY_REFCOUNTS = 1 << QCOW2_COMPAT_LAZY_REFCOUNTS_BITNR,
};

/* Autoclear feature bits: unknown ones are cleared by a writer. */
enum {
    QCOW2_AUTOCLEAR_BITMAPS_BITNR  = 0,
    QCOW2_AUTOCLEAR_DATA_FILE_RAW_BITNR = 1,
    QCOW2_AUTOCLEAR_BITMAPS        = 1 << QCOW2_AUTOCLEAR_BITMAPS_BITNR,
    QCOW2_AUTOCLEAR_DATA_FILE_RAW  = 1 << QCOW2_AUTOCLEAR_DATA_FILE_RAW_BITNR,
};

/* L1 entries: the L2 table's offset; COPIED when its refcount is 1. */
#define L1E_OFFSET_MASK          0x00fffffffffffe00ULL
/* L2 entries. */
#define L2E_OFFSET_MASK          0x00fffffffffffe00ULL
#define L2E_COMPRESSED_OFFSET_SIZE_MASK 0x3fffffffffffffffULL
/* Refcount table entries: the refcount block's offset. */
#define REFT_OFFSET_MASK         0xfffffffffffffe00ULL

#define QCOW_OFLAG_COPIED     (1ULL << 63)  /* refcount is exactly 1 */
#define QCOW_OFLAG_COMPRESSED (1ULL << 62)
#define QCOW_OFLAG_ZERO       (1ULL << 0)   /* v3: reads as zeroes */

/* Extended L2 entries: 32 subclusters, allocation and zero bitmaps. */
#define QCOW_EXTL2_SUBCLUSTERS_PER_CLUSTER 32
#define QCOW_L2_BITMAP_ALL_ALLOC  0x00000000ffffffffULL
#define QCOW_L2_BITMAP_ALL_ZEROES 0xffffffff00000000ULL

/* Compressed clusters count their length in 512-byte sectors. */
#define QCOW2_COMPRESSED_SECTOR_SIZE 512

/* What QEMU limits, so that tables fit in memory (bytes). */
#define QCOW_MAX_REFTABLE_SIZE   (8 * MiB)
#define QCOW_MAX_L1_SIZE         (32 * MiB)
#define QCOW_MAX_SNAPSHOTS       65536

/*
 * Compression types: QCOW2_COMPRESSION_TYPE_ZLIB (0) and _ZSTD (1) come
 * from the QAPI enum Qcow2CompressionType, whose values are the on-disk
 * codes.
 */
QEMU_BUILD_BUG_ON(QCOW2_COMPRESSION_TYPE_ZLIB != 0);
QEMU_BUILD_BUG_ON(QCOW2_COMPRESSION_TYPE_ZSTD != 1);

/* What a freed host cluster is, for the pass-discard-* options. */
typedef enum Qcow2DiscardType {
    QCOW2_DISCARD_NEVER = 0,
    QCOW2_DISCARD_ALWAYS,
    QCOW2_DISCARD_REQUEST,
    QCOW2_DISCARD_SNAPSHOT,
    QCOW2_DISCARD_OTHER,
    QCOW2_DISCARD_MAX,
} Qcow2DiscardType;

/*
 * The open image.  Sizes and tables are kept host-endian in memory;
 * every field below the "metadata" line is protected by @lock.
 */
typedef struct BDRVQcow2State {
    /* Geometry, fixed at open. */
    int cluster_bits;
    int cluster_size;
    int subcluster_bits;        /* == cluster_bits without extended_l2 */
    int subcluster_size;
    int subclusters_per_cluster; /* 1, or 32 with extended_l2 */
    int l2_bits;                /* log2 of L2 entries per table */
    int l2_size;                /* L2 entries per table */
    int l2_entry_size;          /* 8, or 16 with extended_l2 */
    bool extended_l2;
    int refcount_order;
    int refcount_bits;
    int refcount_block_bits;    /* log2 of refcounts per block */
    int refcount_block_size;    /* refcounts per block */
    uint64_t refcount_max;

    /* Header, as read (and rewritten on change). */
    int version;                /* 2 or 3 */
    uint32_t header_length;
    uint64_t incompatible_features;
    uint64_t compatible_features;
    uint64_t autoclear_features;
    uint8_t compression_type;
    uint32_t nb_snapshots;
    uint64_t snapshots_offset;
    bool use_lazy_refcounts;    /* compat bit or lazy-refcounts=on */
    /* Header extensions of unknown type, kept to write back. */
    GSList *unknown_header_ext;

    CoMutex lock;
    /* ---- metadata, under @lock ---- */
    uint64_t l1_table_offset;
    int l1_size;                /* entries in use */
    uint64_t *l1_table;         /* host-endian copy */
    uint64_t refcount_table_offset;
    uint32_t refcount_table_size; /* entries */
    uint64_t *refcount_table;   /* host-endian copy */
    /* Where to look first for a free host cluster (a hint). */
    uint64_t free_cluster_index;
    /* The driver's private parts (caches, in-flight allocations). */
    struct Qcow2Cache *l2_table_cache;
    struct Qcow2Cache *refcount_block_cache;

    /* ---- added by the data path (qcow2.c, qcow2-cluster.c, ...) ---- */
    uint64_t size;              /* guest size in bytes (header) */
    uint32_t crypt_method;
    int csize_shift;            /* compressed descriptor: size field */
    uint64_t csize_mask;
    uint64_t cluster_offset_mask; /* compressed descriptor: offset */
    uint64_t l1_vm_state_index; /* L1 entries the guest size needs */
    /* Where the backing file name lives in the header cluster. */
    uint64_t backing_file_offset;
    uint32_t backing_file_size;
    char *image_backing_file;   /* as the image names it, or NULL */
    char *image_backing_format; /* from the extension, or NULL */
    /* Passing freed clusters down as discards (QEMU's pass-discard-*). */
    bool discard_passthrough[QCOW2_DISCARD_MAX];
    bool overlap_check;         /* overlap-check is not "none" */
    uint64_t cache_clean_interval; /* seconds, 0: never */
    struct QEMUTimer *cache_clean_timer;
    /* Guest ranges in use by requests (Qcow2RangeLock), see qcow2.c. */
    QLIST_HEAD(, Qcow2RangeLock) range_locks;
    /* Host ranges to free once the L2 tables no longer pointing there
     * are on disk (Qcow2DeferredFree), under @lock. */
    GArray *deferred_frees;
} BDRVQcow2State;

/* An unknown header extension, kept verbatim (s->unknown_header_ext). */
typedef struct Qcow2UnknownHeaderExtension {
    uint32_t magic;
    uint32_t len;
    uint8_t data[];
} Qcow2UnknownHeaderExtension;

/* An entry of the feature name table extension. */
typedef struct QEMU_PACKED Qcow2Feature {
    uint8_t type;               /* QCOW2_FEAT_TYPE_* */
    uint8_t bit;
    char name[46];
} Qcow2Feature;

enum {
    QCOW2_FEAT_TYPE_INCOMPATIBLE = 0,
    QCOW2_FEAT_TYPE_COMPATIBLE   = 1,
    QCOW2_FEAT_TYPE_AUTOCLEAR    = 2,
};

/* What a guest range maps to: QEMU's QCow2SubclusterType. */
typedef enum Qcow2SubclusterType {
    QCOW2_SUBCLUSTER_UNALLOCATED_PLAIN, /* nothing: backing or zeroes */
    QCOW2_SUBCLUSTER_UNALLOCATED_ALLOC, /* ext L2: host cluster, not here */
    QCOW2_SUBCLUSTER_ZERO_PLAIN,        /* reads as zeroes */
    QCOW2_SUBCLUSTER_ZERO_ALLOC,        /* zeroes, host cluster kept */
    QCOW2_SUBCLUSTER_NORMAL,            /* data at the host offset */
    QCOW2_SUBCLUSTER_COMPRESSED,        /* a compressed cluster */
    QCOW2_SUBCLUSTER_INVALID,           /* an entry that breaks the spec */
} Qcow2SubclusterType;

/* A guest range held by a request (qcow2.c). */
typedef struct Qcow2RangeLock {
    uint64_t start;
    uint64_t end;
    bool exclusive;
    CoQueue waiters;
    QLIST_ENTRY(Qcow2RangeLock) next;
} Qcow2RangeLock;


#define L1E_SIZE 8
#define REFTABLE_ENTRY_SIZE 8
/* Default cache sizes and limits, as QEMU 7.2 on Linux. */
#define QCOW2_DEFAULT_L2_CACHE_MAX_SIZE (32 * MiB)
#define QCOW2_DEFAULT_CACHE_CLEAN_INTERVAL 600
#define QCOW2_MIN_L2_CACHE_SIZE 2          /* tables */
#define QCOW2_MIN_REFCOUNT_CACHE_SIZE 4    /* blocks */

static inline uint64_t qcow2_offset_into_cluster(BDRVQcow2State *s,
                                                 uint64_t offset)
{
    return offset & (s->cluster_size - 1);
}

static inline uint64_t qcow2_start_of_cluster(BDRVQcow2State *s,
                                              uint64_t offset)
{
    return offset & ~(uint64_t)(s->cluster_size - 1);
}

static inline uint64_t qcow2_size_to_clusters(BDRVQcow2State *s,
                                              uint64_t size)
{
    return (size + s->cluster_size - 1) >> s->cluster_bits;
}

/* L1 entries needed for a guest of @size bytes. */
static inline uint64_t qcow2_size_to_l1(BDRVQcow2State *s, uint64_t size)
{
    int shift = s->cluster_bits + s->l2_bits;

    return (size + (UINT64_C(1) << shift) - 1) >> shift;
}

/* qcow2-cache.c: every function is called with s->lock held. */
typedef struct Qcow2Cache Qcow2Cache;
Qcow2Cache *qcow2_cache_create(BlockDriverState *bs, int num_tables,
                               int table_size);
void qcow2_cache_destroy(Qcow2Cache *c);
/* Flush @dep (and the file) before any table of @c is written. */
void qcow2_cache_set_dependency(Qcow2Cache *c, Qcow2Cache *dep);
/* Flush the file before the next table of @c is written. */
void qcow2_cache_depends_on_flush(Qcow2Cache *c);
int coroutine_fn qcow2_cache_get(BlockDriverState *bs, Qcow2Cache *c,
                                 uint64_t offset, void **table);
int coroutine_fn qcow2_cache_get_empty(BlockDriverState *bs, Qcow2Cache *c,
                                       uint64_t offset, void **table);
void qcow2_cache_put(Qcow2Cache *c, void **table);
void qcow2_cache_entry_mark_dirty(Qcow2Cache *c, void *table);
/* Write the dirty tables (and what they depend on); no final flush. */
int coroutine_fn qcow2_cache_write(BlockDriverState *bs, Qcow2Cache *c);
/* Write the dirty tables, then flush the file. */
int coroutine_fn qcow2_cache_flush(BlockDriverState *bs, Qcow2Cache *c);
bool qcow2_cache_has_dirty(Qcow2Cache *c);
/* Forget the table at @offset (its cluster was freed). */
void qcow2_cache_discard(Qcow2Cache *c, uint64_t offset);
/* Drop the clean tables nobody used since the last call. */
void qcow2_cache_clean_unused(Qcow2Cache *c);
/* Name the cache as the L2 cache (for traces). */
void qcow2_cache_mark_l2(Qcow2Cache *c);

/* qcow2-refcount.c: called with s->lock held. */
int coroutine_fn qcow2_refcount_init(BlockDriverState *bs);
void qcow2_refcount_close(BlockDriverState *bs);
int coroutine_fn qcow2_get_refcount(BlockDriverState *bs,
                                    uint64_t cluster_index,
                                    uint64_t *refcount);
/* Allocate @size bytes of contiguous host clusters; offset or -errno. */
int64_t coroutine_fn qcow2_alloc_clusters(BlockDriverState *bs,
                                          uint64_t size);
/*
 * Drop one reference to each cluster of [@offset, + @size).  Always 0:
 * a failure is reported on stderr and leaks the clusters, as in QEMU.
 */
int coroutine_fn qcow2_free_clusters(BlockDriverState *bs, uint64_t offset,
                                     uint64_t size, Qcow2DiscardType type);
/* Drop the clusters an L2 entry references (normal or compressed). */
int coroutine_fn qcow2_free_any_cluster(BlockDriverState *bs,
                                        uint64_t l2_entry,
                                        Qcow2DiscardType type);
/*
 * Free what an L2 entry referenced, once the L2 tables that no longer
 * reference it are on disk: queued here, done by
 * qcow2_process_deferred_frees().
 */
void qcow2_defer_free(BlockDriverState *bs, uint64_t l2_entry,
                      Qcow2DiscardType type);
int coroutine_fn qcow2_process_deferred_frees(BlockDriverState *bs);
/* Write both caches to disk (refcount blocks first) and flush. */
int coroutine_fn qcow2_flush_caches(BlockDriverState *bs);

/* qcow2-cluster.c: called with s->lock held. */
Qcow2SubclusterType qcow2_get_subcluster_type(BlockDriverState *bs,
                                              uint64_t l2_entry,
                                              uint64_t l2_bitmap,
                                              unsigned int sc_index);
int coroutine_fn qcow2_get_host_offset(BlockDriverState *bs,
                                       uint64_t offset, uint64_t *bytes,
                                       uint64_t *host_offset,
                                       Qcow2SubclusterType *type,
                                       uint64_t *l2_entry);
int coroutine_fn qcow2_grow_l1_table(BlockDriverState *bs,
                                     uint64_t min_size, bool exact_size);
/*
 * Plan and make the metadata of a write of [@offset, + *@bytes) (within
 * one L2 table): see qcow2-cluster.c.
 */
typedef struct Qcow2WritePlan {
    uint64_t offset;            /* guest offset of the write */
    uint64_t bytes;             /* how much of the write this plan covers */
    uint64_t host_offset;       /* host offset of @offset */
    bool in_place;              /* no metadata change needed */
    /* Otherwise: clusters [cluster_offset, + nb_clusters) get the host
     * clusters at host_cluster; cow_head / cow_tail bytes of old content
     * are copied around the data. */
    uint64_t cluster_offset;
    uint64_t host_cluster;
    int nb_clusters;
    bool reused;                /* host cluster was the old one */
    uint64_t cow_head;
    uint64_t cow_tail;
} Qcow2WritePlan;
int coroutine_fn qcow2_plan_write(BlockDriverState *bs, uint64_t offset,
                                  uint64_t bytes, Qcow2WritePlan *plan);
int coroutine_fn qcow2_link_write(BlockDriverState *bs,
                                  Qcow2WritePlan *plan);
void coroutine_fn qcow2_abort_write(BlockDriverState *bs,
                                    Qcow2WritePlan *plan);
int coroutine_fn qcow2_cluster_zeroize(BlockDriverState *bs,
                                       uint64_t offset, uint64_t bytes,
                                       int flags);
int coroutine_fn qcow2_cluster_discard(BlockDriverState *bs,
                                       uint64_t offset, uint64_t bytes,
                                       Qcow2DiscardType type,
                                       bool full_discard);
/* Write the L1 entry @l1_index from s->l1_table to disk. */
int coroutine_fn qcow2_write_l1_entry(BlockDriverState *bs, int l1_index);
/*
 * True if [@offset, + @size) of the file touches the header, the L1 table
 * or the refcount table.  The first honours overlap-check=none (the check
 * before data writes); the second does not (allocation: a cluster there
 * that counts as free means the refcounts are broken).
 */
bool qcow2_overlaps_metadata(BlockDriverState *bs, uint64_t offset,
                             uint64_t size);
bool qcow2_overlaps_fixed_metadata(BlockDriverState *bs, uint64_t offset,
                                   uint64_t size);

/* qcow2-create.c: the create slot and its options (qemu-img's order). */
extern const BlockCreateOptDesc qcow2_create_opts[];
int qcow2_create(BlockDriver *drv, const char *filename,
                 BlockCreateOpts *opts, Error **errp);

/*
 * qcow2-backing.c: the bdrv_change_backing_file slot (rewrites the
 * backing file name and format extension in the header).
 */
int qcow2_change_backing_file(BlockDriverState *bs, const char *backing_file,
                              const char *backing_fmt);

/*
 * Lazy refcounts: set the header's dirty bit (and flush it) before the
 * first allocation; clear it when the refcounts on disk are whole (the
 * caches are flushed, or a repair rebuilt them).  0 or -errno.
 */
int coroutine_fn qcow2_mark_dirty(BlockDriverState *bs);
int coroutine_fn qcow2_mark_clean(BlockDriverState *bs);

/*
 * qcow2-check.c: the check and format-specific info slots.  The _locked
 * form is for a caller that holds s->lock (the repair on open).  A
 * repair (@fix) that leaves no corruption clears the dirty bit.
 */
int coroutine_fn qcow2_co_check_locked(BlockDriverState *bs,
                                       BdrvCheckResult *res,
                                       BdrvCheckMode fix);
int coroutine_fn qcow2_co_check(BlockDriverState *bs,
                                BdrvCheckResult *result, BdrvCheckMode fix);
ImageInfoSpecific *qcow2_get_specific_info(BlockDriverState *bs,
                                           Error **errp);

#endif /* QBLOCK_BLOCK_QCOW2_H */
