/*
 * dirty-bitmap.c: per-node dirty bitmaps in bytes, on top of HBitmap.
 *
 * A BdrvDirtyBitmap is an HBitmap whose items are the node's bytes, with
 * granularity log2(bitmap granularity), so each bit is one granule and
 * the HBitmap does all rounding.  What this file adds is ownership and
 * policy: the node's list of bitmaps (bs->dirty_bitmaps, newest first),
 * names, enabled/busy state, and the write hook that marks writes.
 *
 * Each bitmap registers its own BdrvWriteHook on its node when it is
 * created and removes it when released, so io.c needs to know nothing
 * about bitmaps: after a successful write, zero write or discard it runs
 * the hooks, and an enabled bitmap sets the range.  The node's length
 * may have grown by that write (io.c updates bs->total_bytes first), so
 * the hook grows the bitmap before setting.  Truncate calls
 * bdrv_dirty_bitmap_truncate() from io.c.
 *
 * Invariants:
 *   - hbitmap_size(bitmap->hb) == the node's length in bytes, as of the
 *     last creation, truncate, or growing write;
 *   - names are unique per node (anonymous bitmaps have name NULL);
 *   - a busy bitmap is never released (assert()ed).
 *
 * Costs: one write hook call per bitmap per request; setting a range is
 * O(granules / 64 + levels); the memory is one bit per granule, e.g.
 * 2 KiB for a 1 GiB node at 64 KiB.
 *
 * Example: on a 1 MiB node, a bitmap of granularity 64 KiB has 16 bits.
 * A 512-byte write at 0x1f000 sets bit 1 (0x10000..0x1ffff), and
 * bdrv_get_dirty_count() says 65536; a 128 KiB write at 0x8000 sets bits
 * 0, 1 and 2; resetting [0x10000, 0x30000) then leaves only bit 0.
 */
#include "qemu/osdep.h"

#include "block/block_int.h"
#include "block/dirty-bitmap.h"
#include "qapi/error.h"
#include "trace.h"

struct BdrvDirtyBitmap {
    BlockDriverState *bs;
    HBitmap *hb;            /* items are bytes */
    char *name;             /* NULL: anonymous */
    bool disabled;
    bool busy;
    BdrvWriteHook hook;
    QLIST_ENTRY(BdrvDirtyBitmap) list;
};

struct BdrvDirtyBitmapIter {
    HBitmapIter hbi;
    BdrvDirtyBitmap *bitmap;
};

uint32_t bdrv_get_default_bitmap_granularity(BlockDriverState *bs)
{
    BlockDriverInfo bdi;
    uint32_t granularity;

    if (bdrv_get_info(bs, &bdi) >= 0 && bdi.cluster_size > 0) {
        granularity = MAX(4096, bdi.cluster_size);
        return MIN(BDRV_BITMAP_DEFAULT_GRANULARITY, granularity);
    }
    return BDRV_BITMAP_DEFAULT_GRANULARITY;
}

/* Grow @bitmap when a write made its node longer than the bitmap. */
static void bdrv_dirty_bitmap_follow_length(BdrvDirtyBitmap *bitmap,
                                            int64_t end)
{
    int64_t len = bitmap->bs->total_bytes;

    if (end > (int64_t)hbitmap_size(bitmap->hb) && len > 0 &&
        len > (int64_t)hbitmap_size(bitmap->hb)) {
        trace_dirty_bitmap_truncate(bitmap, hbitmap_size(bitmap->hb), len);
        hbitmap_truncate(bitmap->hb, len);
    }
}

static void bdrv_dirty_bitmap_write_hook(BlockDriverState *bs,
                                         int64_t offset, int64_t bytes,
                                         void *opaque)
{
    BdrvDirtyBitmap *bitmap = opaque;

    IO_CODE();
    assert(bitmap->bs == bs);
    if (bitmap->disabled) {
        return;
    }
    bdrv_dirty_bitmap_follow_length(bitmap, offset + bytes);
    bdrv_set_dirty_bitmap(bitmap, offset, bytes);
}

BdrvDirtyBitmap *bdrv_create_dirty_bitmap(BlockDriverState *bs,
                                          uint32_t granularity,
                                          const char *name, Error **errp)
{
    BdrvDirtyBitmap *bitmap;
    int64_t size;

    GLOBAL_STATE_CODE();
    if (granularity < BDRV_SECTOR_SIZE || (granularity & (granularity - 1))) {
        error_setg(errp, "Granularity must be power of 2 and at least 512");
        return NULL;
    }
    if (name) {
        if (!name[0]) {
            error_setg(errp, "Bitmap name cannot be empty");
            return NULL;
        }
        if (strlen(name) > BDRV_BITMAP_MAX_NAME_SIZE) {
            error_setg(errp, "Bitmap name too long: %s", name);
            return NULL;
        }
        if (bdrv_find_dirty_bitmap(bs, name)) {
            error_setg(errp, "Bitmap already exists: %s", name);
            return NULL;
        }
    }
    size = bdrv_getlength(bs);
    if (size < 0) {
        error_setg_errno(errp, -size, "could not get length of device");
        return NULL;
    }

    bitmap = g_new0(BdrvDirtyBitmap, 1);
    bitmap->bs = bs;
    bitmap->hb = hbitmap_alloc(size, ctz64(granularity));
    bitmap->name = g_strdup(name);
    bitmap->hook.cb = bdrv_dirty_bitmap_write_hook;
    bitmap->hook.opaque = bitmap;
    QLIST_INSERT_HEAD(&bs->dirty_bitmaps, bitmap, list);
    bdrv_add_write_hook(bs, &bitmap->hook);
    trace_dirty_bitmap_create(bs, bitmap, name ? name : "", granularity,
                              size);
    return bitmap;
}

void bdrv_release_dirty_bitmap(BdrvDirtyBitmap *bitmap)
{
    GLOBAL_STATE_CODE();
    assert(!bitmap->busy);
    trace_dirty_bitmap_release(bitmap->bs, bitmap,
                               bitmap->name ? bitmap->name : "");
    bdrv_remove_write_hook(bitmap->bs, &bitmap->hook);
    QLIST_REMOVE(bitmap, list);
    hbitmap_free(bitmap->hb);
    g_free(bitmap->name);
    g_free(bitmap);
}

void bdrv_release_named_dirty_bitmaps(BlockDriverState *bs)
{
    BdrvDirtyBitmap *bitmap, *next;

    QLIST_FOREACH_SAFE(bitmap, &bs->dirty_bitmaps, list, next) {
        if (bitmap->name) {
            bdrv_release_dirty_bitmap(bitmap);
        }
    }
}

BdrvDirtyBitmap *bdrv_find_dirty_bitmap(BlockDriverState *bs,
                                        const char *name)
{
    BdrvDirtyBitmap *bitmap;

    if (!name) {
        return NULL;
    }
    QLIST_FOREACH(bitmap, &bs->dirty_bitmaps, list) {
        if (bitmap->name && !strcmp(bitmap->name, name)) {
            return bitmap;
        }
    }
    return NULL;
}

bool bdrv_has_dirty_bitmaps(BlockDriverState *bs)
{
    return !QLIST_EMPTY(&bs->dirty_bitmaps);
}

BdrvDirtyBitmap *bdrv_dirty_bitmap_first(BlockDriverState *bs)
{
    return QLIST_FIRST(&bs->dirty_bitmaps);
}

BdrvDirtyBitmap *bdrv_dirty_bitmap_next(BdrvDirtyBitmap *bitmap)
{
    return QLIST_NEXT(bitmap, list);
}

const char *bdrv_dirty_bitmap_name(const BdrvDirtyBitmap *bitmap)
{
    return bitmap->name;
}

BlockDriverState *bdrv_dirty_bitmap_bs(const BdrvDirtyBitmap *bitmap)
{
    return bitmap->bs;
}

uint32_t bdrv_dirty_bitmap_granularity(const BdrvDirtyBitmap *bitmap)
{
    return (uint32_t)1 << hbitmap_granularity(bitmap->hb);
}

int64_t bdrv_dirty_bitmap_size(const BdrvDirtyBitmap *bitmap)
{
    return hbitmap_size(bitmap->hb);
}

bool bdrv_dirty_bitmap_enabled(const BdrvDirtyBitmap *bitmap)
{
    return !bitmap->disabled;
}

bool bdrv_dirty_bitmap_busy(const BdrvDirtyBitmap *bitmap)
{
    return bitmap->busy;
}

void bdrv_enable_dirty_bitmap(BdrvDirtyBitmap *bitmap)
{
    trace_dirty_bitmap_enable(bitmap, true);
    bitmap->disabled = false;
}

void bdrv_disable_dirty_bitmap(BdrvDirtyBitmap *bitmap)
{
    trace_dirty_bitmap_enable(bitmap, false);
    bitmap->disabled = true;
}

void bdrv_dirty_bitmap_set_busy(BdrvDirtyBitmap *bitmap, bool busy)
{
    bitmap->busy = busy;
}

bool bdrv_dirty_bitmap_check(const BdrvDirtyBitmap *bitmap, Error **errp)
{
    if (bitmap->busy) {
        error_setg(errp, "Bitmap '%s' is currently in use by another "
                   "operation and cannot be used",
                   bitmap->name ? bitmap->name : "");
        return false;
    }
    return true;
}

void bdrv_set_dirty_bitmap(BdrvDirtyBitmap *bitmap, int64_t offset,
                           int64_t bytes)
{
    int64_t size = hbitmap_size(bitmap->hb);

    assert(offset >= 0 && bytes >= 0);
    if (offset >= size || !bytes) {
        return;
    }
    bytes = MIN(bytes, size - offset);
    trace_dirty_bitmap_set(bitmap, offset, bytes);
    hbitmap_set(bitmap->hb, offset, bytes);
}

void bdrv_reset_dirty_bitmap(BdrvDirtyBitmap *bitmap, int64_t offset,
                             int64_t bytes)
{
    int64_t size = hbitmap_size(bitmap->hb);
    int64_t gran = bdrv_dirty_bitmap_granularity(bitmap);
    int64_t start, end;

    assert(offset >= 0 && bytes >= 0);
    if (offset >= size || !bytes) {
        return;
    }
    /* Only whole granules: a partly covered one still holds dirty bytes. */
    start = QEMU_ALIGN_UP(offset, gran);
    end = bytes >= size - offset ? size
                                 : QEMU_ALIGN_DOWN(offset + bytes, gran);
    if (start >= end) {
        return;
    }
    trace_dirty_bitmap_reset(bitmap, start, end - start);
    hbitmap_reset(bitmap->hb, start, end - start);
}

void bdrv_clear_dirty_bitmap(BdrvDirtyBitmap *bitmap)
{
    trace_dirty_bitmap_clear(bitmap);
    hbitmap_reset_all(bitmap->hb);
}

void bdrv_set_dirty(BlockDriverState *bs, int64_t offset, int64_t bytes)
{
    BdrvDirtyBitmap *bitmap;

    QLIST_FOREACH(bitmap, &bs->dirty_bitmaps, list) {
        if (!bitmap->disabled) {
            bdrv_set_dirty_bitmap(bitmap, offset, bytes);
        }
    }
}

void bdrv_dirty_bitmap_truncate(BlockDriverState *bs, int64_t bytes)
{
    BdrvDirtyBitmap *bitmap;

    assert(bytes >= 0);
    QLIST_FOREACH(bitmap, &bs->dirty_bitmaps, list) {
        trace_dirty_bitmap_truncate(bitmap, hbitmap_size(bitmap->hb), bytes);
        hbitmap_truncate(bitmap->hb, bytes);
    }
}

bool bdrv_dirty_bitmap_get(const BdrvDirtyBitmap *bitmap, int64_t offset)
{
    return hbitmap_get(bitmap->hb, offset);
}

int64_t bdrv_get_dirty_count(const BdrvDirtyBitmap *bitmap)
{
    return hbitmap_count(bitmap->hb);
}

int64_t bdrv_dirty_bitmap_next_dirty(const BdrvDirtyBitmap *bitmap,
                                     int64_t offset, int64_t bytes)
{
    return hbitmap_next_dirty(bitmap->hb, offset, bytes);
}

int64_t bdrv_dirty_bitmap_next_zero(const BdrvDirtyBitmap *bitmap,
                                    int64_t offset, int64_t bytes)
{
    return hbitmap_next_zero(bitmap->hb, offset, bytes);
}

bool bdrv_dirty_bitmap_next_dirty_area(const BdrvDirtyBitmap *bitmap,
                                       int64_t start, int64_t end,
                                       int64_t max_bytes,
                                       int64_t *dirty_start,
                                       int64_t *dirty_bytes)
{
    return hbitmap_next_dirty_area(bitmap->hb, start, end, max_bytes,
                                   dirty_start, dirty_bytes);
}

bool bdrv_merge_dirty_bitmap(BdrvDirtyBitmap *dest,
                             const BdrvDirtyBitmap *src, Error **errp)
{
    if (!bdrv_dirty_bitmap_check(dest, errp)) {
        return false;
    }
    if (!hbitmap_can_merge(dest->hb, src->hb)) {
        error_setg(errp, "Bitmaps are of different sizes (destination size "
                   "is %" PRIu64 ", source size is %" PRIu64 ") and can't "
                   "be merged", hbitmap_size(dest->hb),
                   hbitmap_size(src->hb));
        return false;
    }
    trace_dirty_bitmap_merge(dest, src);
    hbitmap_merge(dest->hb, src->hb, dest->hb);
    return true;
}

HBitmap *bdrv_dirty_bitmap_hbitmap(BdrvDirtyBitmap *bitmap)
{
    return bitmap->hb;
}

BdrvDirtyBitmapIter *bdrv_dirty_iter_new(BdrvDirtyBitmap *bitmap)
{
    BdrvDirtyBitmapIter *iter = g_new(BdrvDirtyBitmapIter, 1);

    iter->bitmap = bitmap;
    hbitmap_iter_init(&iter->hbi, bitmap->hb, 0);
    return iter;
}

int64_t bdrv_dirty_iter_next(BdrvDirtyBitmapIter *iter)
{
    return hbitmap_iter_next(&iter->hbi);
}

void bdrv_set_dirty_iter(BdrvDirtyBitmapIter *iter, int64_t offset)
{
    hbitmap_iter_init(&iter->hbi, iter->bitmap->hb, offset);
}

void bdrv_dirty_iter_free(BdrvDirtyBitmapIter *iter)
{
    g_free(iter);
}
