/*
 * dirty-bitmap.h: dirty bitmaps, the record of which bytes of a node were
 * written since some point.
 *
 * A BdrvDirtyBitmap belongs to one node and covers its length in bytes;
 * one bit stands for one granule of `granularity` bytes (a power of two of
 * at least 512), so a write of one byte dirties its whole granule.  While a
 * bitmap is enabled, every successful write, zero write and discard that
 * reaches the node marks its range (through the node's write hooks, see
 * bdrv_add_write_hook()); a disabled bitmap changes only when its owner
 * sets or resets it.
 *
 * Named bitmaps are the user's (QMP block-dirty-bitmap-*); anonymous ones
 * (name NULL) belong to the code that created them, usually a job, which
 * also marks its bitmaps busy so that QMP cannot change them under it.
 *
 * Ranges are in bytes: set/reset/query round to whole granules as
 * hbitmap.h describes, and are clipped to the bitmap's size.  The size
 * follows the node's length: it is taken at creation and changes with
 * truncate and with writes that grow the node.
 *
 * Threads: the main loop only, as block.h.  Hooks run in the coroutine of
 * the request, in the same thread.
 */
#ifndef QBLOCK_BLOCK_DIRTY_BITMAP_H
#define QBLOCK_BLOCK_DIRTY_BITMAP_H

#include "block/block.h"
#include "qemu/hbitmap.h"

typedef struct BdrvDirtyBitmap BdrvDirtyBitmap;
typedef struct BdrvDirtyBitmapIter BdrvDirtyBitmapIter;

/* The longest name a bitmap may have, in bytes (QEMU's limit). */
#define BDRV_BITMAP_MAX_NAME_SIZE 1023

/* The granularity QMP uses when none is given and the node has no cluster. */
#define BDRV_BITMAP_DEFAULT_GRANULARITY (64 * 1024)

/*
 * The granularity QEMU picks for a new bitmap on @bs: the node's cluster
 * size clamped to [4 KiB, 64 KiB], or 64 KiB when it reports none.
 */
uint32_t bdrv_get_default_bitmap_granularity(BlockDriverState *bs);

/*
 * Create a bitmap on @bs covering its current length, enabled and clear.
 * @granularity must be a power of two and at least 512; @name NULL makes
 * it anonymous, otherwise it must be unique on @bs and at most
 * BDRV_BITMAP_MAX_NAME_SIZE bytes.  Returns NULL with @errp set on failure.
 * The bitmap lives until bdrv_release_dirty_bitmap() or until @bs closes.
 */
BdrvDirtyBitmap *bdrv_create_dirty_bitmap(BlockDriverState *bs,
                                          uint32_t granularity,
                                          const char *name, Error **errp);

/* Detach @bitmap from its node and free it.  It must not be busy. */
void bdrv_release_dirty_bitmap(BdrvDirtyBitmap *bitmap);

/*
 * Release every named bitmap of @bs (the node is closing).  Anonymous
 * bitmaps belong to their creators, who must have released them.
 */
void bdrv_release_named_dirty_bitmaps(BlockDriverState *bs);

/* The bitmap called @name on @bs, or NULL.  @name NULL finds nothing. */
BdrvDirtyBitmap *bdrv_find_dirty_bitmap(BlockDriverState *bs,
                                        const char *name);

/* Whether @bs has any bitmap, named or not. */
bool bdrv_has_dirty_bitmaps(BlockDriverState *bs);

/*
 * The bitmaps of @bs, newest first: start with NULL, and pass the last
 * result to get the next one; NULL at the end.
 */
BdrvDirtyBitmap *bdrv_dirty_bitmap_first(BlockDriverState *bs);
BdrvDirtyBitmap *bdrv_dirty_bitmap_next(BdrvDirtyBitmap *bitmap);

/* Accessors. */
const char *bdrv_dirty_bitmap_name(const BdrvDirtyBitmap *bitmap);
BlockDriverState *bdrv_dirty_bitmap_bs(const BdrvDirtyBitmap *bitmap);
uint32_t bdrv_dirty_bitmap_granularity(const BdrvDirtyBitmap *bitmap);
/* The number of bytes the bitmap covers (the node's length). */
int64_t bdrv_dirty_bitmap_size(const BdrvDirtyBitmap *bitmap);
bool bdrv_dirty_bitmap_enabled(const BdrvDirtyBitmap *bitmap);
bool bdrv_dirty_bitmap_busy(const BdrvDirtyBitmap *bitmap);

/* Start or stop recording writes.  Idempotent. */
void bdrv_enable_dirty_bitmap(BdrvDirtyBitmap *bitmap);
void bdrv_disable_dirty_bitmap(BdrvDirtyBitmap *bitmap);

/*
 * Mark @bitmap as used by an operation (a job) that QMP must not disturb:
 * bdrv_dirty_bitmap_check() then refuses it.  Writes still mark it while
 * it is enabled.
 */
void bdrv_dirty_bitmap_set_busy(BdrvDirtyBitmap *bitmap, bool busy);

/*
 * Whether a user may change @bitmap: false with QEMU's message in @errp
 * while it is busy.
 */
bool bdrv_dirty_bitmap_check(const BdrvDirtyBitmap *bitmap, Error **errp);

/*
 * Mark or clear the bytes [@offset, @offset + @bytes), clipped to the
 * bitmap's size.  Set rounds out to whole granules.  Reset clears only
 * the granules the range covers whole (a granule that holds the end of
 * the node counts as covered when the range reaches that end), so that
 * bytes outside the range are never forgotten.
 */
void bdrv_set_dirty_bitmap(BdrvDirtyBitmap *bitmap, int64_t offset,
                           int64_t bytes);
void bdrv_reset_dirty_bitmap(BdrvDirtyBitmap *bitmap, int64_t offset,
                             int64_t bytes);

/* Clear every bit. */
void bdrv_clear_dirty_bitmap(BdrvDirtyBitmap *bitmap);

/*
 * Mark [@offset, @offset + @bytes) in every enabled bitmap of @bs.  The
 * write hook calls this; code that changes a node behind io.c may too.
 */
void bdrv_set_dirty(BlockDriverState *bs, int64_t offset, int64_t bytes);

/*
 * Resize every bitmap of @bs to @bytes: growing adds clean granules,
 * shrinking drops the granules past the end.
 */
void bdrv_dirty_bitmap_truncate(BlockDriverState *bs, int64_t bytes);

/* Whether the granule holding byte @offset (< size) is dirty. */
bool bdrv_dirty_bitmap_get(const BdrvDirtyBitmap *bitmap, int64_t offset);

/*
 * Dirty bytes: dirty granules times the granularity, so a dirty partial
 * last granule counts whole.
 */
int64_t bdrv_get_dirty_count(const BdrvDirtyBitmap *bitmap);

/*
 * First dirty byte in [@offset, @offset + @bytes), or -1; @bytes may be
 * INT64_MAX for "to the end".
 */
int64_t bdrv_dirty_bitmap_next_dirty(const BdrvDirtyBitmap *bitmap,
                                     int64_t offset, int64_t bytes);

/* First clean byte in [@offset, @offset + @bytes), or -1. */
int64_t bdrv_dirty_bitmap_next_zero(const BdrvDirtyBitmap *bitmap,
                                    int64_t offset, int64_t bytes);

/*
 * The first run of dirty bytes in [@start, @end), cut at @max_bytes
 * (> 0), in *@dirty_start and *@dirty_bytes.  False, with the outputs
 * untouched, when the range is clean.
 */
bool bdrv_dirty_bitmap_next_dirty_area(const BdrvDirtyBitmap *bitmap,
                                       int64_t start, int64_t end,
                                       int64_t max_bytes,
                                       int64_t *dirty_start,
                                       int64_t *dirty_bytes);

/*
 * @dest |= @src.  Both must cover the same size; their granularities may
 * differ.  Fails (with QEMU's messages) when @dest is busy or the sizes
 * differ; @dest is then unchanged.  @src may be @dest.
 */
bool bdrv_merge_dirty_bitmap(BdrvDirtyBitmap *dest,
                             const BdrvDirtyBitmap *src, Error **errp);

/*
 * The HBitmap under @bitmap, whose items are bytes, for code that walks
 * it directly (the mirror keeps an HBitmapIter on it).  Owned by @bitmap.
 */
HBitmap *bdrv_dirty_bitmap_hbitmap(BdrvDirtyBitmap *bitmap);

/*
 * Iterators over dirty granules, as hbitmap_iter_next() (same rules for a
 * bitmap that changes while iterating).  new() starts at byte 0; next()
 * returns the first byte of the next dirty granule, or -1; seek() moves
 * the cursor to @offset.  The iterator does not keep the bitmap alive:
 * free it before releasing the bitmap.
 */
BdrvDirtyBitmapIter *bdrv_dirty_iter_new(BdrvDirtyBitmap *bitmap);
int64_t bdrv_dirty_iter_next(BdrvDirtyBitmapIter *iter);
void bdrv_set_dirty_iter(BdrvDirtyBitmapIter *iter, int64_t offset);
void bdrv_dirty_iter_free(BdrvDirtyBitmapIter *iter);

#endif /* QBLOCK_BLOCK_DIRTY_BITMAP_H */
