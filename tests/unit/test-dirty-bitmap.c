/*
 * test-dirty-bitmap.c: dirty bitmaps (block/dirty-bitmap.c) against a
 * plain oracle, one bool per granule.
 *
 * Requests go through a BlockBackend and io.c to a null-co node (writes
 * and zero writes) or a file node with discard=unmap (discards and
 * truncate), so the bits come from the real write hooks.  Every check
 * compares each granule of the bitmap with the oracle, and the count.
 */
#include "qemu/osdep.h"

#include "block/block_int.h"
#include "block/block-backend.h"
#include "block/dirty-bitmap.h"
#include "qapi/error.h"
#include "qemu/aio.h"
#include "qemu/trace-control.h"

/* Not a whole number of 64 KiB granules: the last one is partial. */
#define NODE_SIZE   (MiB + 1536)

/* A bitmap and its oracle. */
typedef struct Tracked {
    BdrvDirtyBitmap *bm;
    int64_t gran;
    int64_t size;
    bool *dirty;            /* one per granule */
} Tracked;

static void tracked_init(Tracked *t, BdrvDirtyBitmap *bm)
{
    t->bm = bm;
    t->gran = bdrv_dirty_bitmap_granularity(bm);
    t->size = bdrv_dirty_bitmap_size(bm);
    t->dirty = g_new0(bool, DIV_ROUND_UP(t->size, t->gran));
}

static void tracked_free(Tracked *t)
{
    g_free(t->dirty);
}

/* What a write of [@offset, @offset + @bytes) does to an enabled bitmap. */
static void tracked_mark(Tracked *t, int64_t offset, int64_t bytes)
{
    int64_t i;

    if (!bytes) {
        return;
    }
    for (i = offset / t->gran; i <= (offset + bytes - 1) / t->gran; i++) {
        t->dirty[i] = true;
    }
}

static void tracked_check(Tracked *t)
{
    int64_t n = DIV_ROUND_UP(t->size, t->gran);
    int64_t i, count = 0;

    g_assert_cmpint(bdrv_dirty_bitmap_size(t->bm), ==, t->size);
    for (i = 0; i < n; i++) {
        if (bdrv_dirty_bitmap_get(t->bm, i * t->gran) != t->dirty[i]) {
            g_error("granularity %" PRId64 ": granule %" PRId64
                    " is %d, oracle says %d", t->gran, i, !t->dirty[i],
                    t->dirty[i]);
        }
        count += t->dirty[i];
    }
    g_assert_cmpint(bdrv_get_dirty_count(t->bm), ==, count * t->gran);
}

static BlockDriverState *open_null(int64_t size)
{
    BlockdevOptions opts = {
        .driver = BLOCKDEV_DRIVER_NULL_CO,
        .u.null_co = { .has_size = true, .size = size },
    };

    return bdrv_open_blockdev(&opts, &error_abort);
}

/* A file node over a new sparse file of @size bytes, with discard=unmap. */
static BlockDriverState *open_file(int64_t size, char **path)
{
    BlockdevOptions opts = {
        .driver = BLOCKDEV_DRIVER_FILE,
        .has_discard = true,
        .discard = BLOCKDEV_DISCARD_OPTIONS_UNMAP,
    };
    int fd;

    fd = g_file_open_tmp("test-dirty-bitmap-XXXXXX", path, NULL);
    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(ftruncate(fd, size), ==, 0);
    close(fd);
    opts.u.file.filename = *path;
    return bdrv_open_blockdev(&opts, &error_abort);
}

static BlockBackend *blk_on(BlockDriverState *bs)
{
    BlockBackend *blk = blk_new(qemu_get_aio_context(), BLK_PERM_ALL,
                                BLK_PERM_ALL);

    g_assert_cmpint(blk_insert_bs(blk, bs, &error_abort), ==, 0);
    bdrv_unref(bs);
    return blk;
}

static void check_create_error(BlockDriverState *bs, uint32_t granularity,
                               const char *name, const char *msg)
{
    Error *err = NULL;

    g_assert_null(bdrv_create_dirty_bitmap(bs, granularity, name, &err));
    g_assert_nonnull(err);
    g_assert_cmpstr(error_get_pretty(err), ==, msg);
    error_free(err);
}

static void test_create(void)
{
    static const uint32_t bad[] = { 0, 1, 256, 511, 1000, 65535,
                                    3 * 65536, 0x80000001 };
    BlockDriverState *bs = open_null(NODE_SIZE);
    BdrvDirtyBitmap *a, *b, *anon1, *anon2;
    g_autofree char *longest = g_strnfill(BDRV_BITMAP_MAX_NAME_SIZE, 'l');
    g_autofree char *too_long = g_strnfill(BDRV_BITMAP_MAX_NAME_SIZE + 1,
                                           'm');
    g_autofree char *msg = g_strdup_printf("Bitmap name too long: %s",
                                           too_long);
    size_t i;

    for (i = 0; i < ARRAY_SIZE(bad); i++) {
        check_create_error(bs, bad[i], "g",
                           "Granularity must be power of 2 and at least 512");
    }
    g_assert_false(bdrv_has_dirty_bitmaps(bs));

    /* The smallest and the largest granularity a uint32_t allows. */
    a = bdrv_create_dirty_bitmap(bs, 512, "a", &error_abort);
    b = bdrv_create_dirty_bitmap(bs, 0x80000000u, "b", &error_abort);
    g_assert_cmpint(bdrv_dirty_bitmap_granularity(a), ==, 512);
    g_assert_cmpint(bdrv_dirty_bitmap_granularity(b), ==, 0x80000000u);
    g_assert_cmpint(bdrv_dirty_bitmap_size(a), ==, NODE_SIZE);
    g_assert_true(bdrv_dirty_bitmap_enabled(a));
    g_assert_false(bdrv_dirty_bitmap_busy(a));
    g_assert_cmpint(bdrv_get_dirty_count(a), ==, 0);

    check_create_error(bs, 65536, "a", "Bitmap already exists: a");
    check_create_error(bs, 65536, "", "Bitmap name cannot be empty");
    check_create_error(bs, 65536, too_long, msg);
    g_assert_nonnull(bdrv_create_dirty_bitmap(bs, 65536, longest,
                                              &error_abort));

    /* Anonymous bitmaps do not collide, and are never found by name. */
    anon1 = bdrv_create_dirty_bitmap(bs, 4096, NULL, &error_abort);
    anon2 = bdrv_create_dirty_bitmap(bs, 4096, NULL, &error_abort);
    g_assert_null(bdrv_dirty_bitmap_name(anon1));
    g_assert_null(bdrv_find_dirty_bitmap(bs, NULL));

    g_assert_true(bdrv_find_dirty_bitmap(bs, "a") == a);
    g_assert_true(bdrv_find_dirty_bitmap(bs, "b") == b);
    g_assert_null(bdrv_find_dirty_bitmap(bs, "c"));
    g_assert_true(bdrv_dirty_bitmap_bs(a) == bs);

    /* Newest first. */
    g_assert_true(bdrv_dirty_bitmap_first(bs) == anon2);
    g_assert_true(bdrv_dirty_bitmap_next(anon2) == anon1);

    /* A node without clusters gets 64 KiB. */
    g_assert_cmpint(bdrv_get_default_bitmap_granularity(bs), ==, 65536);

    bdrv_release_dirty_bitmap(anon1);
    bdrv_release_dirty_bitmap(anon2);
    bdrv_release_dirty_bitmap(a);
    g_assert_null(bdrv_find_dirty_bitmap(bs, "a"));
    /* "b" and the longest name go with the node. */
    bdrv_unref(bs);
}

/*
 * Random writes and zero writes through io.c: three granularities mark
 * exactly their rounded ranges; a disabled bitmap marks nothing until it
 * is enabled.
 */
static void test_writes(void)
{
    static const uint32_t grans[] = { 512, 4096, 65536 };
    BlockDriverState *bs = open_null(NODE_SIZE);
    BlockBackend *blk = blk_on(bs);
    Tracked t[ARRAY_SIZE(grans)], off;
    g_autofree uint8_t *buf = g_malloc0(256 * KiB);
    size_t i;
    int n;

    for (i = 0; i < ARRAY_SIZE(grans); i++) {
        tracked_init(&t[i], bdrv_create_dirty_bitmap(bs, grans[i], NULL,
                                                     &error_abort));
    }
    tracked_init(&off, bdrv_create_dirty_bitmap(bs, 4096, "off",
                                                &error_abort));
    bdrv_disable_dirty_bitmap(off.bm);
    g_assert_false(bdrv_dirty_bitmap_enabled(off.bm));

    /* The edges first: one byte, the last byte, the partial granule. */
    {
        static const int64_t edges[][2] = {
            { 0, 1 }, { 65535, 2 }, { NODE_SIZE - 1, 1 },
            { MiB, 1536 }, { 4095, 4098 },
        };

        for (n = 0; n < (int)ARRAY_SIZE(edges); n++) {
            g_assert_cmpint(blk_pwrite(blk, edges[n][0], edges[n][1], buf,
                                       0), ==, 0);
            for (i = 0; i < ARRAY_SIZE(grans); i++) {
                tracked_mark(&t[i], edges[n][0], edges[n][1]);
                tracked_check(&t[i]);
            }
        }
    }

    for (i = 0; i < ARRAY_SIZE(grans); i++) {
        bdrv_clear_dirty_bitmap(t[i].bm);
        memset(t[i].dirty, 0, DIV_ROUND_UP(t[i].size, t[i].gran));
        tracked_check(&t[i]);
    }

    for (n = 0; n < 200; n++) {
        int64_t offset = g_test_rand_int_range(0, NODE_SIZE);
        int64_t bytes = g_test_rand_int_range(0, MIN(256 * KiB,
                                                     NODE_SIZE - offset) + 1);
        int ret;

        if (g_test_rand_bit()) {
            ret = blk_pwrite(blk, offset, bytes, buf, 0);
        } else {
            ret = blk_pwrite_zeroes(blk, offset, bytes, 0);
        }
        g_assert_cmpint(ret, ==, 0);
        for (i = 0; i < ARRAY_SIZE(grans); i++) {
            tracked_mark(&t[i], offset, bytes);
        }
    }
    for (i = 0; i < ARRAY_SIZE(grans); i++) {
        tracked_check(&t[i]);
    }
    tracked_check(&off);

    /* A failed request marks nothing (past the end: -EIO). */
    g_assert_cmpint(blk_pwrite(blk, NODE_SIZE, 512, buf, 0), <, 0);
    tracked_check(&off);

    bdrv_enable_dirty_bitmap(off.bm);
    g_assert_cmpint(blk_pwrite_zeroes(blk, 8192, 1, 0), ==, 0);
    tracked_mark(&off, 8192, 1);
    tracked_check(&off);

    for (i = 0; i < ARRAY_SIZE(grans); i++) {
        bdrv_release_dirty_bitmap(t[i].bm);
        tracked_free(&t[i]);
    }
    tracked_free(&off);
    blk_unref(blk);
}

/* Discards on a file node, and truncate resizing the bitmaps. */
static void test_discard_truncate(void)
{
    g_autofree char *path = NULL;
    BlockDriverState *bs = open_file(MiB, &path);
    BlockBackend *blk = blk_on(bs);
    BdrvDirtyBitmap *bm;
    Tracked t;

    bm = bdrv_create_dirty_bitmap(bs, 65536, "d", &error_abort);
    tracked_init(&t, bm);

    /* The caller's range is marked, rounded out, even if nothing whole
     * is discarded. */
    g_assert_cmpint(blk_pdiscard(blk, 100, 4 * 4096), ==, 0);
    tracked_mark(&t, 100, 4 * 4096);
    g_assert_cmpint(blk_pdiscard(blk, 3 * 65536 + 10, 65536), ==, 0);
    tracked_mark(&t, 3 * 65536 + 10, 65536);
    tracked_check(&t);

    /* Growing adds clean granules, keeping the old ones. */
    g_assert_cmpint(blk_truncate(blk, 2 * MiB + 512, true, PREALLOC_MODE_OFF,
                                 0, &error_abort), ==, 0);
    g_assert_cmpint(bdrv_dirty_bitmap_size(bm), ==, 2 * MiB + 512);
    tracked_free(&t);
    tracked_init(&t, bm);
    tracked_mark(&t, 100, 4 * 4096);
    tracked_mark(&t, 3 * 65536 + 10, 65536);
    g_assert_cmpint(blk_pwrite_zeroes(blk, 2 * MiB, 512, 0), ==, 0);
    tracked_mark(&t, 2 * MiB, 512);
    tracked_check(&t);

    /* Shrinking drops the granules past the new end. */
    g_assert_cmpint(blk_truncate(blk, 128 * KiB, true, PREALLOC_MODE_OFF,
                                 0, &error_abort), ==, 0);
    tracked_free(&t);
    tracked_init(&t, bm);
    tracked_mark(&t, 100, 1);
    tracked_check(&t);
    g_assert_cmpint(bdrv_get_dirty_count(bm), ==, 65536);

    tracked_free(&t);
    blk_unref(blk);
    unlink(path);
}

static void test_reset_clear(void)
{
    BlockDriverState *bs = open_null(NODE_SIZE);
    BdrvDirtyBitmap *bm = bdrv_create_dirty_bitmap(bs, 65536, "r",
                                                   &error_abort);
    Tracked t;
    int64_t i;

    tracked_init(&t, bm);
    bdrv_set_dirty_bitmap(bm, 0, NODE_SIZE);
    tracked_mark(&t, 0, NODE_SIZE);
    tracked_check(&t);

    /* Granules only partly covered keep their bits. */
    bdrv_reset_dirty_bitmap(bm, 1, 3 * 65536);
    t.dirty[1] = t.dirty[2] = false;
    tracked_check(&t);
    bdrv_reset_dirty_bitmap(bm, 5 * 65536 + 1, 65535);
    tracked_check(&t);

    /* A range that reaches the end clears the partial last granule. */
    bdrv_reset_dirty_bitmap(bm, MiB, 1536);
    t.dirty[16] = false;
    tracked_check(&t);
    bdrv_set_dirty_bitmap(bm, NODE_SIZE - 1, 1);
    bdrv_reset_dirty_bitmap(bm, MiB, INT64_MAX - MiB);
    tracked_check(&t);

    /* Ranges past the end are clipped. */
    bdrv_set_dirty_bitmap(bm, NODE_SIZE - 512, 4 * MiB);
    t.dirty[16] = true;
    tracked_check(&t);
    bdrv_set_dirty_bitmap(bm, 4 * MiB, 512);
    tracked_check(&t);

    bdrv_clear_dirty_bitmap(bm);
    for (i = 0; i < 17; i++) {
        t.dirty[i] = false;
    }
    tracked_check(&t);
    g_assert_cmpint(bdrv_get_dirty_count(bm), ==, 0);

    /* bdrv_set_dirty() marks only the enabled bitmaps of the node. */
    bdrv_disable_dirty_bitmap(bm);
    bdrv_set_dirty(bs, 0, 1);
    tracked_check(&t);
    bdrv_enable_dirty_bitmap(bm);
    bdrv_set_dirty(bs, 0, 1);
    t.dirty[0] = true;
    tracked_check(&t);

    tracked_free(&t);
    bdrv_unref(bs);
}

static void test_iter(void)
{
    BlockDriverState *bs = open_null(NODE_SIZE);
    BdrvDirtyBitmap *bm = bdrv_create_dirty_bitmap(bs, 4096, "i",
                                                   &error_abort);
    BdrvDirtyBitmapIter *it;
    HBitmapIter hbi;
    int64_t start, bytes;

    it = bdrv_dirty_iter_new(bm);
    g_assert_cmpint(bdrv_dirty_iter_next(it), ==, -1);
    bdrv_dirty_iter_free(it);

    bdrv_set_dirty_bitmap(bm, 4096 + 10, 1);
    bdrv_set_dirty_bitmap(bm, 64 * KiB, 3 * 4096);
    bdrv_set_dirty_bitmap(bm, NODE_SIZE - 1, 1);

    it = bdrv_dirty_iter_new(bm);
    g_assert_cmpint(bdrv_dirty_iter_next(it), ==, 4096);
    g_assert_cmpint(bdrv_dirty_iter_next(it), ==, 64 * KiB);
    g_assert_cmpint(bdrv_dirty_iter_next(it), ==, 68 * KiB);
    /* Reset ahead of the cursor: skipped. */
    bdrv_reset_dirty_bitmap(bm, 72 * KiB, 4096);
    g_assert_cmpint(bdrv_dirty_iter_next(it), ==, MiB);
    g_assert_cmpint(bdrv_dirty_iter_next(it), ==, -1);
    bdrv_set_dirty_iter(it, 0);
    g_assert_cmpint(bdrv_dirty_iter_next(it), ==, 4096);
    bdrv_set_dirty_iter(it, 65 * KiB);
    g_assert_cmpint(bdrv_dirty_iter_next(it), ==, 64 * KiB);
    bdrv_dirty_iter_free(it);

    /* The HBitmap itself, as the mirror walks it: items are bytes. */
    hbitmap_iter_init(&hbi, bdrv_dirty_bitmap_hbitmap(bm), 5000);
    g_assert_cmpint(hbitmap_iter_next(&hbi), ==, 4096);
    g_assert_cmpint(hbitmap_iter_next(&hbi), ==, 64 * KiB);

    g_assert_cmpint(bdrv_dirty_bitmap_next_dirty(bm, 0, INT64_MAX), ==,
                    4096);
    g_assert_cmpint(bdrv_dirty_bitmap_next_dirty(bm, 8192, 56 * KiB), ==,
                    -1);
    g_assert_cmpint(bdrv_dirty_bitmap_next_dirty(bm, 66 * KiB, INT64_MAX),
                    ==, 66 * KiB);
    g_assert_cmpint(bdrv_dirty_bitmap_next_zero(bm, 64 * KiB, INT64_MAX),
                    ==, 72 * KiB);
    g_assert_cmpint(bdrv_dirty_bitmap_next_zero(bm, 4096, 4096), ==, -1);

    g_assert_true(bdrv_dirty_bitmap_next_dirty_area(bm, 8192, NODE_SIZE,
                                                    INT64_MAX, &start,
                                                    &bytes));
    g_assert_cmpint(start, ==, 64 * KiB);
    g_assert_cmpint(bytes, ==, 2 * 4096);
    g_assert_true(bdrv_dirty_bitmap_next_dirty_area(bm, 65 * KiB, NODE_SIZE,
                                                    4096, &start, &bytes));
    g_assert_cmpint(start, ==, 65 * KiB);
    g_assert_cmpint(bytes, ==, 4096);
    g_assert_true(bdrv_dirty_bitmap_next_dirty_area(bm, 80 * KiB,
                                                    INT64_MAX, INT64_MAX,
                                                    &start, &bytes));
    g_assert_cmpint(start, ==, MiB);
    g_assert_cmpint(bytes, ==, 1536);
    start = bytes = 7;
    g_assert_false(bdrv_dirty_bitmap_next_dirty_area(bm, 80 * KiB, MiB,
                                                     INT64_MAX, &start,
                                                     &bytes));
    g_assert_cmpint(start, ==, 7);
    g_assert_cmpint(bytes, ==, 7);

    bdrv_unref(bs);
}

static void test_merge(void)
{
    BlockDriverState *bs = open_null(NODE_SIZE);
    BlockDriverState *other = open_null(2 * MiB);
    BdrvDirtyBitmap *fine, *coarse, *far;
    Tracked t;
    Error *err = NULL;

    fine = bdrv_create_dirty_bitmap(bs, 512, "fine", &error_abort);
    coarse = bdrv_create_dirty_bitmap(bs, 65536, "coarse", &error_abort);
    far = bdrv_create_dirty_bitmap(other, 65536, "far", &error_abort);
    tracked_init(&t, coarse);

    bdrv_set_dirty_bitmap(fine, 1000, 10);
    bdrv_set_dirty_bitmap(fine, 200 * KiB, 512);
    bdrv_set_dirty_bitmap(coarse, 5 * 65536, 1);
    tracked_mark(&t, 1000, 10);
    tracked_mark(&t, 200 * KiB, 512);
    tracked_mark(&t, 5 * 65536, 1);
    g_assert_true(bdrv_merge_dirty_bitmap(coarse, fine, &error_abort));
    tracked_check(&t);
    /* The source is unchanged. */
    g_assert_cmpint(bdrv_get_dirty_count(fine), ==, 2 * 512);

    /* Coarse into fine: every 512-byte granule of a set 64 KiB one. */
    g_assert_true(bdrv_merge_dirty_bitmap(fine, coarse, &error_abort));
    g_assert_cmpint(bdrv_get_dirty_count(fine), ==, 3 * 65536);

    /* Into itself: nothing changes. */
    g_assert_true(bdrv_merge_dirty_bitmap(coarse, coarse, &error_abort));
    tracked_check(&t);

    g_assert_false(bdrv_merge_dirty_bitmap(coarse, far, &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "Bitmaps are of different sizes (destination size is "
                    "1050112, source size is 2097152) and can't be merged");
    error_free(err);
    err = NULL;

    /* A busy destination refuses, with QEMU's message. */
    bdrv_dirty_bitmap_set_busy(coarse, true);
    g_assert_true(bdrv_dirty_bitmap_busy(coarse));
    g_assert_false(bdrv_merge_dirty_bitmap(coarse, fine, &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "Bitmap 'coarse' is currently in use by another "
                    "operation and cannot be used");
    error_free(err);
    err = NULL;
    g_assert_false(bdrv_dirty_bitmap_check(coarse, &err));
    error_free(err);
    tracked_check(&t);
    /* A busy bitmap still records writes. */
    bdrv_set_dirty(bs, 10 * 65536, 1);
    tracked_mark(&t, 10 * 65536, 1);
    tracked_check(&t);
    bdrv_dirty_bitmap_set_busy(coarse, false);
    g_assert_true(bdrv_dirty_bitmap_check(coarse, &error_abort));

    tracked_free(&t);
    bdrv_unref(bs);
    bdrv_unref(other);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    trace_init_from_env();
    qemu_init_main_loop(&error_abort);
    bdrv_init();

    g_test_add_func("/dirty-bitmap/create", test_create);
    g_test_add_func("/dirty-bitmap/writes/null-co", test_writes);
    g_test_add_func("/dirty-bitmap/discard-truncate/file",
                    test_discard_truncate);
    g_test_add_func("/dirty-bitmap/reset-clear", test_reset_clear);
    g_test_add_func("/dirty-bitmap/iter", test_iter);
    g_test_add_func("/dirty-bitmap/merge", test_merge);
    return g_test_run();
}
