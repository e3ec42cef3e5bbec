/*
 * dirty-bitmap-qmp.c: the QMP commands block-dirty-bitmap-add, -remove,
 * -clear, -enable, -disable and -merge (qapi/dirty-bitmap.json).
 *
 * The handlers look up the node and the bitmap, check what a user may do
 * with it, and call block/dirty-bitmap.c.  Their messages and the order
 * of their checks are qemu-storage-daemon 7.2's, as the iotest
 * dirty-bitmap-qmp keeps them.  Two lookups differ in QEMU and so here:
 * add names a missing node as blockdev commands do ("Cannot find
 * device=... nor node-name=..."), the others say "Node '...' not found".
 */
#include "qemu/osdep.h"

#include "block/block_int.h"
#include "block/blockdev.h"
#include "block/dirty-bitmap.h"
#include "qapi/error.h"
#include "qapi-commands.h"

/* The bitmap @name on the node @node, or NULL with @errp set. */
static BdrvDirtyBitmap *block_dirty_bitmap_lookup(const char *node,
                                                  const char *name,
                                                  BlockDriverState **pbs,
                                                  Error **errp)
{
    BlockDriverState *bs;
    BdrvDirtyBitmap *bitmap;

    bs = bdrv_lookup_bs(node, node, NULL);
    if (!bs) {
        error_setg(errp, "Node '%s' not found", node);
        return NULL;
    }
    bitmap = bdrv_find_dirty_bitmap(bs, name);
    if (!bitmap) {
        error_setg(errp, "Dirty bitmap '%s' not found", name);
        return NULL;
    }
    if (pbs) {
        *pbs = bs;
    }
    return bitmap;
}

bool qmp_block_dirty_bitmap_add(const char *node, const char *name,
                                bool has_granularity, uint32_t granularity,
                                bool has_persistent, bool persistent,
                                bool has_disabled, bool disabled,
                                Error **errp)
{
    BlockDriverState *bs;
    BdrvDirtyBitmap *bitmap;

    GLOBAL_STATE_CODE();
    if (!name[0]) {
        error_setg(errp, "Bitmap name cannot be empty");
        return false;
    }
    bs = bdrv_lookup_bs(node, node, errp);
    if (!bs) {
        return false;
    }
    if (has_granularity) {
        if (granularity < BDRV_SECTOR_SIZE ||
            (granularity & (granularity - 1))) {
            error_setg(errp,
                       "Granularity must be power of 2 and at least 512");
            return false;
        }
    } else {
        granularity = bdrv_get_default_bitmap_granularity(bs);
    }
    /* No driver of ours keeps bitmaps in its image yet. */
    if (has_persistent && persistent) {
        error_setg_errno(errp, ENOTSUP, "Can't store persistent bitmaps to %s",
                         bs->node_name);
        return false;
    }
    bitmap = bdrv_create_dirty_bitmap(bs, granularity, name, errp);
    if (!bitmap) {
        return false;
    }
    if (has_disabled && disabled) {
        bdrv_disable_dirty_bitmap(bitmap);
    }
    return true;
}

/*
 * The bitmap a remove, clear, enable or disable applies to: it must exist
 * and no job may hold it (QEMU's "in use by another operation").
 */
static BdrvDirtyBitmap *bitmap_to_change(const char *node, const char *name,
                                         Error **errp)
{
    BdrvDirtyBitmap *bitmap;

    GLOBAL_STATE_CODE();
    bitmap = block_dirty_bitmap_lookup(node, name, NULL, errp);
    if (!bitmap || !bdrv_dirty_bitmap_check(bitmap, errp)) {
        return NULL;
    }
    return bitmap;
}

bool qmp_block_dirty_bitmap_remove(const char *node, const char *name,
                                   Error **errp)
{
    BdrvDirtyBitmap *bitmap = bitmap_to_change(node, name, errp);

    if (!bitmap) {
        return false;
    }
    bdrv_release_dirty_bitmap(bitmap);
    return true;
}

bool qmp_block_dirty_bitmap_clear(const char *node, const char *name,
                                  Error **errp)
{
    BdrvDirtyBitmap *bitmap = bitmap_to_change(node, name, errp);

    if (!bitmap) {
        return false;
    }
    bdrv_clear_dirty_bitmap(bitmap);
    return true;
}

bool qmp_block_dirty_bitmap_enable(const char *node, const char *name,
                                   Error **errp)
{
    BdrvDirtyBitmap *bitmap = bitmap_to_change(node, name, errp);

    if (!bitmap) {
        return false;
    }
    bdrv_enable_dirty_bitmap(bitmap);
    return true;
}

bool qmp_block_dirty_bitmap_disable(const char *node, const char *name,
                                    Error **errp)
{
    BdrvDirtyBitmap *bitmap = bitmap_to_change(node, name, errp);

    if (!bitmap) {
        return false;
    }
    bdrv_disable_dirty_bitmap(bitmap);
    return true;
}

/* Merge every source into @acc; false with @errp set at the first bad one. */
static bool block_dirty_bitmap_merge_sources(BlockDriverState *bs,
                                             BlockDirtyBitmapOrStrList *list,
                                             BdrvDirtyBitmap *acc,
                                             Error **errp)
{
    for (; list; list = list->next) {
        BlockDirtyBitmapOrStr *src = list->value;
        BdrvDirtyBitmap *bitmap;

        if (src->type == QTYPE_QSTRING) {
            bitmap = bdrv_find_dirty_bitmap(bs, src->u.local);
            if (!bitmap) {
                error_setg(errp, "Dirty bitmap '%s' not found",
                           src->u.local);
                return false;
            }
        } else {
            bitmap = block_dirty_bitmap_lookup(src->u.external.node,
                                               src->u.external.name, NULL,
                                               errp);
            if (!bitmap) {
                return false;
            }
        }
        if (!bdrv_merge_dirty_bitmap(acc, bitmap, errp)) {
            return false;
        }
    }
    return true;
}

bool qmp_block_dirty_bitmap_merge(const char *node, const char *target,
                                  BlockDirtyBitmapOrStrList *bitmaps,
                                  Error **errp)
{
    BlockDriverState *bs;
    BdrvDirtyBitmap *dest, *acc;
    bool ok;

    GLOBAL_STATE_CODE();
    dest = block_dirty_bitmap_lookup(node, target, &bs, errp);
    if (!dest) {
        return false;
    }
    /*
     * Gather the union in a disabled anonymous copy first, so that a bad
     * source in the middle of the list leaves @dest untouched.
     */
    acc = bdrv_create_dirty_bitmap(bs, bdrv_dirty_bitmap_granularity(dest),
                                   NULL, errp);
    if (!acc) {
        return false;
    }
    bdrv_disable_dirty_bitmap(acc);
    ok = bdrv_merge_dirty_bitmap(acc, dest, &error_abort) &&
         block_dirty_bitmap_merge_sources(bs, bitmaps, acc, errp) &&
         bdrv_merge_dirty_bitmap(dest, acc, errp);
    bdrv_release_dirty_bitmap(acc);
    return ok;
}
