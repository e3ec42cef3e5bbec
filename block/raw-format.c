/*
 * raw-format.c: the raw format driver.
 *
 * A raw node passes requests through to its "file" child, optionally
 * restricted to a window of it: [offset, offset + size).  Without
 * options it is a plain pass-through.  Bounds against the window are
 * checked here (io.c only knows the node's own length), with -EINVAL as
 * QEMU returns; everything else (alignment, serialisation) is io.c's
 * business on both nodes.
 *
 * A raw node whose format was probed (a tool given no -f) guards its
 * first sector as QEMU's does: if a write there made the image look like
 * another format, the next probe would open it as that format and give
 * a guest's data the power of image metadata (a backing file name, say).
 * So the node's requests are 512-aligned (io.c widens a smaller write
 * into read-modify-write of the whole sector), and a write covering
 * sector 0 whose data another driver would claim fails with -EPERM.
 */
#include "qemu/osdep.h"

#include "block/block_int.h"
#include "qapi/error.h"

typedef struct BDRVRawState {
    uint64_t offset;
    uint64_t size;
    bool has_offset;
    bool has_size;
} BDRVRawState;

/* Check the window against the child's length; QEMU's texts. */
static bool raw_apply_options(BlockDriverState *bs, BDRVRawState *s,
                              int64_t real_size, Error **errp)
{
    if (s->offset > (uint64_t)real_size) {
        error_setg(errp, "Offset (%" PRIu64 ") cannot be greater than "
                   "size of the containing file (%" PRId64 ")",
                   s->offset, real_size);
        return false;
    }
    if (s->has_size && (uint64_t)real_size - s->offset < s->size) {
        /* QEMU's message has the double space. */
        error_setg(errp, "The sum of offset (%" PRIu64 ") and size "
                   "(%" PRIu64 ") has to be smaller or equal to the "
                   " actual size of the containing file (%" PRId64 ")",
                   s->offset, s->size, real_size);
        return false;
    }
    if (!s->has_size) {
        s->size = real_size - s->offset;
    }
    return true;
}

static int raw_open(BlockDriverState *bs, BlockdevOptions *options,
                    int flags, Error **errp)
{
    BDRVRawState *s = bs->opaque;
    BlockdevOptionsRaw *o;
    int64_t real_size;

    if (!options) {
        error_setg(errp, "Parameter 'file' is missing");
        return -EINVAL;
    }
    o = &options->u.raw;
    if (o->has_offset) {
        if (o->offset < 0) {
            error_setg(errp, "offset cannot be negative");
            return -EINVAL;
        }
        s->has_offset = true;
        s->offset = o->offset;
    }
    if (o->has_size) {
        if (o->size < 0) {
            error_setg(errp, "size cannot be negative");
            return -EINVAL;
        }
        if (!QEMU_IS_ALIGNED(o->size, BDRV_SECTOR_SIZE)) {
            error_setg(errp, "Specified size is not multiple of %llu",
                       BDRV_SECTOR_SIZE);
            return -EINVAL;
        }
        s->has_size = true;
        s->size = o->size;
    }

    if (!bdrv_open_child(o->file, bs, "file",
                         BDRV_CHILD_FILTERED | BDRV_CHILD_PRIMARY, errp)) {
        return -EINVAL;
    }
    real_size = bdrv_getlength(bs->file->bs);
    if (real_size < 0) {
        error_setg_errno(errp, -real_size, "Could not get image size");
        return real_size;
    }
    if (!raw_apply_options(bs, s, real_size, errp)) {
        return -EINVAL;
    }
    if (bs->probed && !bdrv_is_read_only(bs)) {
        /* QEMU's words, on stderr as it prints them. */
        error_printf("WARNING: Image format was not specified for '%s' and "
                     "probing guessed raw.\n"
                     "         Automatically detecting the format is "
                     "dangerous for raw images, write operations on block 0 "
                     "will be restricted.\n"
                     "         Specify the 'raw' format explicitly to remove "
                     "the restrictions.\n", bs->file->bs->filename);
    }
    return 0;
}

static void raw_refresh_limits(BlockDriverState *bs, Error **errp)
{
    if (bs->probed && bs->bl.request_alignment < BDRV_SECTOR_SIZE) {
        bs->bl.request_alignment = BDRV_SECTOR_SIZE;
    }
}

/* Map a request into the child; -EINVAL if it leaves the window. */
static int raw_adjust_offset(BlockDriverState *bs, int64_t *offset,
                             int64_t bytes, bool is_write)
{
    BDRVRawState *s = bs->opaque;

    if (s->has_size && ((uint64_t)*offset > s->size ||
                        (uint64_t)bytes > s->size - *offset)) {
        /* A read past the window is io.c's zero fill, never ours. */
        return -EINVAL;
    }
    *offset += s->offset;
    return 0;
}

static int coroutine_fn raw_co_preadv(BlockDriverState *bs, int64_t offset,
                                      int64_t bytes, QEMUIOVector *qiov,
                                      BdrvRequestFlags flags)
{
    int ret = raw_adjust_offset(bs, &offset, bytes, false);

    if (ret < 0) {
        return ret;
    }
    BLKDBG_EVENT(bs->file, BLKDBG_READ_AIO);
    return bdrv_co_preadv(bs->file, offset, bytes, qiov, flags);
}

static int coroutine_fn raw_co_pwritev(BlockDriverState *bs, int64_t offset,
                                       int64_t bytes, QEMUIOVector *qiov,
                                       BdrvRequestFlags flags)
{
    int ret;

    if (bs->probed && offset < BDRV_SECTOR_SIZE) {
        uint8_t head[BDRV_SECTOR_SIZE];

        /* The request alignment makes this the whole first sector. */
        assert(offset == 0 && bytes >= BDRV_SECTOR_SIZE);
        qemu_iovec_to_buf(qiov, 0, head, sizeof(head));
        if (bdrv_probe_format(head, sizeof(head), NULL) != bs->drv) {
            return -EPERM;
        }
    }
    ret = raw_adjust_offset(bs, &offset, bytes, true);
    if (ret < 0) {
        return ret;
    }
    BLKDBG_EVENT(bs->file, BLKDBG_WRITE_AIO);
    return bdrv_co_pwritev(bs->file, offset, bytes, qiov, flags);
}

static int coroutine_fn raw_co_pwrite_zeroes(BlockDriverState *bs,
                                             int64_t offset, int64_t bytes,
                                             BdrvRequestFlags flags)
{
    int ret = raw_adjust_offset(bs, &offset, bytes, true);

    if (ret < 0) {
        return ret;
    }
    return bdrv_co_pwrite_zeroes(bs->file, offset, bytes, flags);
}

static int coroutine_fn raw_co_pdiscard(BlockDriverState *bs,
                                        int64_t offset, int64_t bytes)
{
    int ret = raw_adjust_offset(bs, &offset, bytes, true);

    if (ret < 0) {
        return ret;
    }
    return bdrv_co_pdiscard(bs->file, offset, bytes);
}

static int coroutine_fn raw_co_block_status(BlockDriverState *bs,
                                            bool want_zero, int64_t offset,
                                            int64_t bytes, int64_t *pnum,
                                            int64_t *map,
                                            BlockDriverState **file)
{
    BDRVRawState *s = bs->opaque;

    *pnum = bytes;
    *file = bs->file->bs;
    *map = offset + s->offset;
    return BDRV_BLOCK_RAW | BDRV_BLOCK_OFFSET_VALID;
}

static int64_t coroutine_fn raw_co_getlength(BlockDriverState *bs)
{
    BDRVRawState *s = bs->opaque;
    int64_t len;

    len = bdrv_co_getlength(bs->file->bs);
    if (len < 0) {
        return len;
    }
    if (!raw_apply_options(bs, s, len, NULL)) {
        return -EIO;
    }
    return s->size;
}

static int coroutine_fn raw_co_truncate(BlockDriverState *bs, int64_t offset,
                                        bool exact, PreallocMode prealloc,
                                        BdrvRequestFlags flags, Error **errp)
{
    BDRVRawState *s = bs->opaque;

    if (s->has_size) {
        error_setg(errp, "Cannot resize fixed-size raw disks");
        return -ENOTSUP;
    }
    if (INT64_MAX - offset < (int64_t)s->offset) {
        error_setg(errp, "Disk size too large for the chosen offset");
        return -EINVAL;
    }
    return bdrv_co_truncate(bs->file, offset + s->offset, exact, prealloc,
                            flags, errp);
}

static int raw_get_info(BlockDriverState *bs, BlockDriverInfo *bdi)
{
    return bdrv_get_info(bs->file->bs, bdi);
}

/*
 * The child's filename when the window is the whole child and the child
 * has a plain name; else a json: filename with the child's options
 * nested (QEMU 7.2 prints "offset" before "driver" and "file").
 */
static void raw_refresh_filename(BlockDriverState *bs)
{
    BDRVRawState *s = bs->opaque;
    const char *child = bs->file->bs->filename;
    g_autoptr(GString) json = NULL;

    if (!s->has_offset && !s->has_size &&
        !g_str_has_prefix(child, "json:")) {
        g_strlcpy(bs->filename, child, sizeof(bs->filename));
        return;
    }
    json = g_string_new("json:{");
    if (s->has_offset) {
        g_string_append_printf(json, "\"offset\": %" PRIu64 ", ",
                               s->offset);
    }
    if (s->has_size) {
        g_string_append_printf(json, "\"size\": %" PRIu64 ", ", s->size);
    }
    g_string_append(json, "\"driver\": \"raw\", \"file\": ");
    if (g_str_has_prefix(child, "json:")) {
        g_string_append(json, child + strlen("json:"));
    } else {
        g_string_append_printf(json, "{\"driver\": \"%s\"}",
                               bdrv_get_format_name(bs->file->bs));
    }
    g_string_append_c(json, '}');
    g_strlcpy(bs->filename, json->str, sizeof(bs->filename));
}

/*
 * A raw image is its file: the protocol creates it with all the options
 * (size, preallocation, ...), which block/create.c merged into @opts.
 */
static int raw_create(BlockDriver *drv, const char *filename,
                      BlockCreateOpts *opts, Error **errp)
{
    return bdrv_create_protocol(filename, opts, errp);
}

static const BlockCreateOptDesc raw_create_opts[] = {
    { "size", BLOCK_CREATE_OPT_SIZE, "Virtual disk size" },
    { NULL }
};

BlockDriver bdrv_raw = {
    .format_name            = "raw",
    .instance_size          = sizeof(BDRVRawState),
    .supported_write_flags  = BDRV_REQ_FUA,
    .supported_zero_flags   = BDRV_REQ_FUA | BDRV_REQ_MAY_UNMAP |
                              BDRV_REQ_NO_FALLBACK,
    .bdrv_open              = raw_open,
    .bdrv_refresh_limits    = raw_refresh_limits,
    .bdrv_co_preadv         = raw_co_preadv,
    .bdrv_co_pwritev        = raw_co_pwritev,
    .bdrv_co_pwrite_zeroes  = raw_co_pwrite_zeroes,
    .bdrv_co_pdiscard       = raw_co_pdiscard,
    .bdrv_co_block_status   = raw_co_block_status,
    .bdrv_co_getlength      = raw_co_getlength,
    .bdrv_co_truncate       = raw_co_truncate,
    .bdrv_get_info          = raw_get_info,
    .bdrv_refresh_filename  = raw_refresh_filename,
    .bdrv_child_perm        = bdrv_default_perms,
    .create_opts            = raw_create_opts,
    .bdrv_create            = raw_create,
};
