/*
 * mirror-qmp.c: blockdev-mirror and drive-mirror.
 *
 * Both commands check their arguments in QEMU 7.2's order (so that the
 * first error a user sees is QEMU's), then hand over to mirror_start().
 * drive-mirror also creates or opens the target image; the new node is
 * owned by the job's graph only, so it goes away with the job unless the
 * pivot makes it the users' disk.
 */
#include "qemu/osdep.h"

#include "block/block_int.h"
#include "block/blockdev.h"
#include "block/mirror.h"
#include "qapi/error.h"
#include "qapi-commands.h"

/* Is @to_replace something the target may take the place of? */
static BlockDriverState *mirror_check_to_replace(BlockDriverState *bs,
                                                 const char *replaces,
                                                 Error **errp)
{
    BlockDriverState *to_replace = bdrv_find_node(replaces);
    BlockDriverState *p;

    if (!to_replace) {
        error_setg(errp, "Failed to find node with node-name='%s'",
                   replaces);
        return NULL;
    }
    if (bdrv_op_is_blocked(to_replace, errp)) {
        return NULL;
    }
    /*
     * Only the source itself, or a node it passes its data through to
     * unchanged (a filter chain below it), shows the same data.
     */
    for (p = bs; p; p = p->drv && p->drv->format_name &&
                        p->file && (p->file->role & BDRV_CHILD_FILTERED)
                        ? p->file->bs : NULL) {
        if (p == to_replace) {
            return to_replace;
        }
    }
    error_setg(errp, "Cannot replace '%s' by a node mirrored from '%s', "
               "because it cannot be guaranteed that doing so would not "
               "lead to an abrupt change of visible data",
               replaces, bdrv_get_node_name(bs));
    return NULL;
}

/*
 * The source: a node that no other node uses (the source of a running
 * mirror has the job's filter above it, so it is not one).
 */
static BlockDriverState *mirror_get_root_bs(const char *name, Error **errp)
{
    BlockDriverState *bs = bdrv_lookup_bs(name, name, errp);

    if (bs && !bdrv_is_root_node(bs)) {
        error_setg(errp, "Need a root block node");
        return NULL;
    }
    return bs;
}

/* The arguments both commands share, checked as QEMU checks them. */
static void mirror_common(MirrorStartArgs *a,
                          bool has_granularity, bool has_buf_size,
                          Error **errp)
{
    if (bdrv_op_is_blocked(a->bs, errp) ||
        bdrv_op_is_blocked(a->target, errp)) {
        return;
    }
    if (!has_granularity) {
        a->granularity = 0;
    }
    if (!has_buf_size) {
        a->buf_size = 0;
    }
    if (a->granularity != 0 &&
        (a->granularity < 512 || a->granularity > 64 * MiB)) {
        error_setg(errp, "Parameter 'granularity' expects a value in range "
                   "[512B, 64MB]");
        return;
    }
    if (a->granularity & (a->granularity - 1)) {
        error_setg(errp, "Parameter 'granularity' expects a power of 2");
        return;
    }
    /* Without a backing file there is no "top" to stop at. */
    if (a->sync == MIRROR_SYNC_MODE_TOP && !bdrv_cow_bs(a->bs)) {
        a->sync = MIRROR_SYNC_MODE_FULL;
    }
    if (a->replaces) {
        BlockDriverState *to_replace;

        to_replace = mirror_check_to_replace(a->bs, a->replaces, errp);
        if (!to_replace) {
            return;
        }
        if (bdrv_getlength(a->bs) != bdrv_getlength(to_replace)) {
            error_setg(errp, "cannot replace image with a mirror image of "
                       "different size");
            return;
        }
    }
    mirror_start(a, errp);
}

bool qmp_blockdev_mirror(const char *job_id, const char *device,
                         const char *target, const char *replaces,
                         MirrorSyncMode sync, bool has_speed, int64_t speed,
                         bool has_granularity, uint32_t granularity,
                         bool has_buf_size, int64_t buf_size,
                         bool has_on_source_error,
                         BlockdevOnError on_source_error,
                         bool has_on_target_error,
                         BlockdevOnError on_target_error,
                         const char *filter_node_name,
                         bool has_copy_mode, MirrorCopyMode copy_mode,
                         bool has_auto_finalize, bool auto_finalize,
                         bool has_auto_dismiss, bool auto_dismiss,
                         Error **errp)
{
    MirrorStartArgs a = {
        .job_id = job_id,
        .replaces = replaces,
        .filter_node_name = filter_node_name,
        .sync = sync,
        .backing_mode = MIRROR_LEAVE_BACKING_CHAIN,
        /* A node the user made may hold anything: zero it first. */
        .zero_target = sync == MIRROR_SYNC_MODE_FULL,
        .speed = has_speed ? speed : 0,
        .granularity = granularity,
        .buf_size = buf_size,
        .on_source_error = has_on_source_error ? on_source_error
                                               : BLOCKDEV_ON_ERROR_REPORT,
        .on_target_error = has_on_target_error ? on_target_error
                                               : BLOCKDEV_ON_ERROR_REPORT,
        .unmap = true,
        .copy_mode = has_copy_mode ? copy_mode : MIRROR_COPY_MODE_BACKGROUND,
        .auto_finalize = has_auto_finalize ? auto_finalize : true,
        .auto_dismiss = has_auto_dismiss ? auto_dismiss : true,
    };
    Error *local_err = NULL;

    a.bs = mirror_get_root_bs(device, errp);
    if (!a.bs) {
        return false;
    }
    a.target = bdrv_lookup_bs(target, target, errp);
    if (!a.target) {
        return false;
    }
    mirror_common(&a, has_granularity, has_buf_size, &local_err);
    if (local_err) {
        error_propagate(errp, local_err);
        return false;
    }
    return true;
}

bool qmp_drive_mirror(DriveMirror *arg, Error **errp)
{
    MirrorStartArgs a = {
        .job_id = arg->job_id,
        .replaces = arg->replaces,
        .sync = arg->sync,
        .speed = arg->has_speed ? arg->speed : 0,
        .granularity = arg->granularity,
        .buf_size = arg->buf_size,
        .on_source_error = arg->has_on_source_error
                           ? arg->on_source_error : BLOCKDEV_ON_ERROR_REPORT,
        .on_target_error = arg->has_on_target_error
                           ? arg->on_target_error : BLOCKDEV_ON_ERROR_REPORT,
        .unmap = arg->has_unmap ? arg->unmap : true,
        .copy_mode = arg->has_copy_mode ? arg->copy_mode
                                        : MIRROR_COPY_MODE_BACKGROUND,
        .auto_finalize = arg->has_auto_finalize ? arg->auto_finalize : true,
        .auto_dismiss = arg->has_auto_dismiss ? arg->auto_dismiss : true,
    };
    NewImageMode mode = arg->has_mode ? arg->mode
                                      : NEW_IMAGE_MODE_ABSOLUTE_PATHS;
    BlockDriverState *bs, *target_backing, *target_bs;
    const char *format = arg->format;
    Error *local_err = NULL;
    int64_t size;
    int flags;

    bs = mirror_get_root_bs(arg->device, errp);
    if (!bs) {
        return false;
    }
    /* Checked early, so that no target is created for nothing. */
    if (bdrv_op_is_blocked(bs, errp)) {
        return false;
    }
    if (!format && mode != NEW_IMAGE_MODE_EXISTING) {
        format = bdrv_get_format_name(bs);
    }
    flags = (bs->open_flags & BDRV_O_NOCACHE) | BDRV_O_RDWR;

    target_backing = bdrv_cow_bs(bs);
    if (!target_backing && a.sync == MIRROR_SYNC_MODE_TOP) {
        a.sync = MIRROR_SYNC_MODE_FULL;
    }
    if (a.sync == MIRROR_SYNC_MODE_NONE) {
        target_backing = bs;
    }
    size = bdrv_getlength(bs);
    if (size < 0) {
        error_setg_errno(errp, -size, "bdrv_getlength failed");
        return false;
    }
    if (arg->replaces && !arg->node_name) {
        error_setg(errp, "a node-name must be provided when replacing a "
                   "named node of the graph");
        return false;
    }
    a.backing_mode = mode == NEW_IMAGE_MODE_ABSOLUTE_PATHS
                     ? MIRROR_SOURCE_BACKING_CHAIN
                     : MIRROR_OPEN_BACKING_CHAIN;

    if (mode != NEW_IMAGE_MODE_EXISTING) {
        if (a.sync == MIRROR_SYNC_MODE_FULL || !target_backing) {
            /* A new image standing on its own. */
            bdrv_img_create(arg->target, format, NULL, NULL, NULL, size,
                            true, false, &local_err);
        } else {
            /* A new image over the source's base, or over the source. */
            bdrv_refresh_filename(target_backing);
            bdrv_img_create(arg->target, format, target_backing->filename,
                            bdrv_get_format_name(target_backing), NULL, size,
                            true, false, &local_err);
        }
        if (local_err) {
            error_propagate(errp, local_err);
            return false;
        }
    }

    /* The mirror copies what the backing file would show; open none. */
    target_bs = bdrv_open_image_named(arg->target, format,
                                      flags | BDRV_O_NO_BACKING,
                                      arg->node_name, errp);
    if (!target_bs) {
        return false;
    }
    a.bs = bs;
    a.target = target_bs;
    /* A new image reads as zeroes; an existing one may hold anything. */
    a.zero_target = a.sync == MIRROR_SYNC_MODE_FULL &&
                    mode == NEW_IMAGE_MODE_EXISTING;
    mirror_common(&a, arg->has_granularity, arg->has_buf_size, &local_err);
    /* The job holds the target now, or it failed and the node goes. */
    bdrv_unref(target_bs);
    if (local_err) {
        error_propagate(errp, local_err);
        return false;
    }
    return true;
}
