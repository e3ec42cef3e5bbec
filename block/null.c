/*
 * null.c: the null-co and null-aio protocol drivers.
 *
 * A null node stores nothing: writes succeed and are forgotten, reads
 * leave the buffer alone or, with read-zeroes=on, fill it with zeroes.
 * latency-ns delays every request, for benchmarks of the layers above.
 * null-co completes a request in the coroutine that issued it; null-aio
 * completes it from a bottom half, as an asynchronous device would, so
 * that callers see requests really in flight.
 */
#include "qemu/osdep.h"

#include "block/block_int.h"
#include "qapi/error.h"

#define NULL_DEFAULT_SIZE (1 * GiB)

typedef struct BDRVNullState {
    int64_t length;
    int64_t latency_ns;
    bool read_zeroes;
    bool complete_in_bh;
    /* Which options were given, for the json: filename. */
    bool has_size;
    bool has_read_zeroes;
} BDRVNullState;

static int null_open(BlockDriverState *bs, BlockdevOptions *options,
                     int flags, Error **errp)
{
    BDRVNullState *s = bs->opaque;
    BlockdevOptionsNull *o = NULL;

    if (options) {
        o = options->driver == BLOCKDEV_DRIVER_NULL_AIO
            ? &options->u.null_aio : &options->u.null_co;
    }
    s->length = o && o->has_size ? o->size : NULL_DEFAULT_SIZE;
    s->latency_ns = o && o->has_latency_ns ? (int64_t)o->latency_ns : 0;
    s->read_zeroes = o && o->has_read_zeroes && o->read_zeroes;
    s->complete_in_bh = bs->drv == &bdrv_null_aio;
    s->has_size = o && o->has_size;
    s->has_read_zeroes = o && o->has_read_zeroes;
    if (s->length < 0) {
        error_setg(errp, "size must be non-negative");
        return -EINVAL;
    }
    if (o && o->has_latency_ns && o->latency_ns > INT64_MAX) {
        error_setg(errp, "latency-ns is invalid");
        return -EINVAL;
    }
    return 0;
}

/* The common end of every request: wait as configured, then complete. */
static int coroutine_fn null_co_common(BlockDriverState *bs)
{
    BDRVNullState *s = bs->opaque;

    if (s->latency_ns) {
        qemu_co_sleep_ns(s->latency_ns);
    } else if (s->complete_in_bh) {
        aio_co_schedule(bdrv_get_aio_context(bs), qemu_coroutine_self());
        qemu_coroutine_yield();
    }
    return 0;
}

/*
 * "null-co://" with default options, else a json: filename of the
 * driver options (the member order is the one QEMU 7.2 prints for size
 * and read-zeroes).
 */
static void null_refresh_filename(BlockDriverState *bs)
{
    BDRVNullState *s = bs->opaque;
    g_autoptr(GString) json = NULL;

    /* As QEMU: latency-ns does not change what the node is. */
    if (!s->has_size && !s->has_read_zeroes) {
        snprintf(bs->filename, sizeof(bs->filename), "%s://",
                 bs->drv->format_name);
        return;
    }
    json = g_string_new("json:{");
    if (s->has_read_zeroes) {
        g_string_append_printf(json, "\"read-zeroes\": %s, ",
                               s->read_zeroes ? "true" : "false");
    }
    g_string_append_printf(json, "\"driver\": \"%s\"",
                           bs->drv->format_name);
    if (s->has_size) {
        g_string_append_printf(json, ", \"size\": %" PRId64, s->length);
    }
    g_string_append_c(json, '}');
    g_strlcpy(bs->filename, json->str, sizeof(bs->filename));
}

static int64_t null_get_allocated_file_size(BlockDriverState *bs)
{
    return 0;
}

static int64_t coroutine_fn null_co_getlength(BlockDriverState *bs)
{
    BDRVNullState *s = bs->opaque;

    return s->length;
}

static int coroutine_fn null_co_preadv(BlockDriverState *bs, int64_t offset,
                                       int64_t bytes, QEMUIOVector *qiov,
                                       BdrvRequestFlags flags)
{
    BDRVNullState *s = bs->opaque;

    if (s->read_zeroes) {
        qemu_iovec_memset(qiov, 0, 0, bytes);
    }
    return null_co_common(bs);
}

static int coroutine_fn null_co_pwritev(BlockDriverState *bs,
                                        int64_t offset, int64_t bytes,
                                        QEMUIOVector *qiov,
                                        BdrvRequestFlags flags)
{
    return null_co_common(bs);
}

static int coroutine_fn null_co_pwrite_zeroes(BlockDriverState *bs,
                                              int64_t offset, int64_t bytes,
                                              BdrvRequestFlags flags)
{
    return null_co_common(bs);
}

static int coroutine_fn null_co_flush(BlockDriverState *bs)
{
    return null_co_common(bs);
}

static int coroutine_fn null_co_block_status(BlockDriverState *bs,
                                             bool want_zero, int64_t offset,
                                             int64_t bytes, int64_t *pnum,
                                             int64_t *map,
                                             BlockDriverState **file)
{
    BDRVNullState *s = bs->opaque;

    *pnum = bytes;
    *map = offset;
    *file = bs;
    return BDRV_BLOCK_OFFSET_VALID |
           (s->read_zeroes ? BDRV_BLOCK_ZERO : 0);
}

/* "null-co://" and "null-aio://", the only file names QEMU takes. */
static bool null_parse_filename(const char *filename, JsonObject *options,
                                Error **errp)
{
    if (strcmp(filename, "null-co://") && strcmp(filename, "null-aio://")) {
        g_autofree char *scheme = g_strndup(filename,
                                            strcspn(filename, ":"));

        error_setg(errp, "The only allowed filename for this driver is "
                   "'%s://'", scheme);
        return false;
    }
    return true;
}

static const char *const null_co_schemes[] = { "null-co", NULL };
static const char *const null_aio_schemes[] = { "null-aio", NULL };

/*
 * QEMU has two null drivers that differ only in how they complete
 * requests internally; here both run as coroutines, so they share every
 * callback and differ only in name.
 */
#define NULL_DRIVER_CALLBACKS                                       \
    .instance_size            = sizeof(BDRVNullState),              \
    .bdrv_open                = null_open,                          \
    .bdrv_co_getlength        = null_co_getlength,                  \
    .bdrv_co_preadv           = null_co_preadv,                     \
    .bdrv_co_pwritev          = null_co_pwritev,                    \
    .bdrv_co_pwrite_zeroes    = null_co_pwrite_zeroes,              \
    .bdrv_co_flush            = null_co_flush,                      \
    .bdrv_co_block_status     = null_co_block_status,               \
    .bdrv_refresh_filename    = null_refresh_filename,              \
    .bdrv_parse_filename      = null_parse_filename,                \
    .bdrv_get_allocated_file_size = null_get_allocated_file_size

BlockDriver bdrv_null_co = {
    .format_name            = "null-co",
    .protocol_name          = "null-co",
    .protocol_schemes       = null_co_schemes,
    NULL_DRIVER_CALLBACKS,
};

BlockDriver bdrv_null_aio = {
    .format_name            = "null-aio",
    .protocol_name          = "null-aio",
    .protocol_schemes       = null_aio_schemes,
    NULL_DRIVER_CALLBACKS,
};
