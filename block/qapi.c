/*
 * qapi.c: the block layer's query commands (query-named-block-nodes,
 * query-block), building QEMU 7.2's BlockDeviceInfo for a node.
 */
#include "qemu/osdep.h"

#include "block/block_int.h"
#include "block/dirty-bitmap.h"
#include "block/block-backend.h"
#include "qapi/error.h"
#include "qapi-commands.h"

static ImageInfo *bdrv_image_info(BlockDriverState *bs, bool flat)
{
    ImageInfo *info = g_new0(ImageInfo, 1);
    BlockDriverInfo bdi;
    Error *err = NULL;
    int64_t size;

    info->filename = g_strdup(bs->filename);
    info->format = g_strdup(bdrv_get_format_name(bs));
    info->virtual_size = MAX(bdrv_getlength(bs), 0);
    size = bdrv_get_allocated_file_size(bs);
    if (size >= 0) {
        info->has_actual_size = true;
        info->actual_size = size;
    }
    /* As QEMU: dirty-flag is there whenever the driver answers. */
    if (bdrv_get_info(bs, &bdi) == 0) {
        info->has_dirty_flag = true;
        info->dirty_flag = bdi.is_dirty;
        if (bdi.cluster_size > 0) {
            info->has_cluster_size = true;
            info->cluster_size = bdi.cluster_size;
        }
    }
    /*
     * As QEMU: the backing file as the image names it, that name
     * resolved against the image's directory, the format the image
     * names, whether or not the backing node is open.
     */
    if (bs->backing_file[0]) {
        info->backing_filename = g_strdup(bs->backing_file);
        info->full_backing_filename = bdrv_get_full_backing_filename(bs);
    }
    if (bs->backing_format[0]) {
        info->backing_filename_format = g_strdup(bs->backing_format);
    }
    if (bs->backing && !flat) {
        info->backing_image = bdrv_image_info(bs->backing->bs, flat);
    }
    info->format_specific = bdrv_get_specific_info(bs, &err);
    if (err) {
        /* QEMU leaves the member out when the driver cannot answer. */
        error_free(err);
    }
    return info;
}

/* The node's dirty bitmaps, newest first as QEMU lists them; NULL if none. */
static BlockDirtyInfoList *bdrv_query_dirty_bitmaps(BlockDriverState *bs)
{
    BlockDirtyInfoList *head = NULL, **tail = &head;
    BdrvDirtyBitmap *bm;

    for (bm = bdrv_dirty_bitmap_first(bs); bm;
         bm = bdrv_dirty_bitmap_next(bm)) {
        BlockDirtyInfoList *elem = g_new0(BlockDirtyInfoList, 1);
        BlockDirtyInfo *info = g_new0(BlockDirtyInfo, 1);

        info->name = g_strdup(bdrv_dirty_bitmap_name(bm));
        info->count = bdrv_get_dirty_count(bm);
        info->granularity = bdrv_dirty_bitmap_granularity(bm);
        info->recording = bdrv_dirty_bitmap_enabled(bm);
        info->busy = bdrv_dirty_bitmap_busy(bm);
        info->persistent = false;       /* no driver stores bitmaps yet */
        elem->value = info;
        *tail = elem;
        tail = &elem->next;
    }
    return head;
}

static BlockDeviceInfo *bdrv_block_device_info(BlockDriverState *bs,
                                               bool flat)
{
    BlockDeviceInfo *info = g_new0(BlockDeviceInfo, 1);
    BlockDriverState *b;

    info->file = g_strdup(bs->filename);
    info->node_name = g_strdup(bs->node_name);
    info->ro = bdrv_is_read_only(bs);
    info->drv = g_strdup(bdrv_get_format_name(bs));
    if (bs->backing) {
        info->backing_file = g_strdup(bs->backing->bs->filename);
    }
    for (b = bs; b->backing; b = b->backing->bs) {
        info->backing_file_depth++;
    }
    info->encrypted = false;
    info->detect_zeroes = bs->detect_zeroes;
    info->image = bdrv_image_info(bs, flat);
    info->cache = g_new0(BlockdevCacheInfo, 1);
    info->cache->writeback = true;
    info->cache->direct = !!(bs->open_flags & BDRV_O_NOCACHE);
    info->cache->no_flush = !!(bs->open_flags & BDRV_O_NO_FLUSH);
    info->dirty_bitmaps = bdrv_query_dirty_bitmaps(bs);
    return info;
}

BlockDeviceInfoList *qmp_query_named_block_nodes(bool has_flat, bool flat,
                                                 Error **errp)
{
    BlockDeviceInfoList *list = NULL;
    BlockDriverState *bs;

    /* Prepending gives QEMU's order: the newest node first. */
    for (bs = bdrv_next_node(NULL); bs; bs = bdrv_next_node(bs)) {
        BlockDeviceInfoList *e = g_new0(BlockDeviceInfoList, 1);

        e->value = bdrv_block_device_info(bs, has_flat && flat);
        e->next = list;
        list = e;
    }
    return list;
}

BlockInfoList *qmp_query_block(Error **errp)
{
    BlockInfoList *head = NULL, **tail = &head;
    BlockBackend *blk;

    for (blk = blk_next(NULL); blk; blk = blk_next(blk)) {
        BlockInfoList *e = g_new0(BlockInfoList, 1);
        BlockInfo *info = g_new0(BlockInfo, 1);

        info->device = g_strdup(blk_name(blk));
        info->type = g_strdup("unknown");
        if (blk_bs(blk)) {
            info->inserted = bdrv_block_device_info(blk_bs(blk), false);
        }
        e->value = info;
        *tail = e;
        tail = &e->next;
    }
    return head;
}
