/*
 * test-block-file.c: the 'file' driver (block/file-posix.c) on a real
 * file in a temporary directory: data against what pread() sees, both
 * engines, O_DIRECT, holes through block status, zero writes and
 * discards, truncate, and QEMU's lock bytes as the real qemu-io sees
 * them (skipped when qemu-io is not installed).
 */
#include "qemu/osdep.h"

#include "block/block_int.h"
#include "block/block-backend.h"
#include "qapi/error.h"
#include "qemu/aio.h"
#include "qemu/trace-control.h"

#define IMG_SIZE (1 * MiB)

static char *tmpdir;
static char *img;

static void make_image(void)
{
    int fd = open(img, O_RDWR | O_CREAT | O_TRUNC, 0644);

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(ftruncate(fd, IMG_SIZE), ==, 0);
    close(fd);
}

static BlockDriverState *open_file(BlockdevAioOptions aio, bool direct,
                                   bool unmap, Error **errp)
{
    BlockdevCacheOptions cache = { .has_direct = true, .direct = direct };
    BlockdevOptions opts = {
        .driver = BLOCKDEV_DRIVER_FILE,
        .node_name = (char *)"f",
        .cache = &cache,
        .has_discard = true,
        .discard = unmap ? BLOCKDEV_DISCARD_OPTIONS_UNMAP
                         : BLOCKDEV_DISCARD_OPTIONS_IGNORE,
        .u.file = { .filename = img, .has_aio = true, .aio = aio },
    };

    return bdrv_open_blockdev(&opts, errp);
}

static BlockBackend *attach(BlockDriverState *bs, uint64_t perm,
                            uint64_t shared)
{
    BlockBackend *blk = blk_new(qemu_get_aio_context(), perm, shared);

    g_assert_cmpint(blk_insert_bs(blk, bs, &error_abort), ==, 0);
    return blk;
}

static void check_file(int64_t offset, const uint8_t *expect, size_t len)
{
    g_autofree uint8_t *buf = g_malloc(len);
    int fd = open(img, O_RDONLY);

    g_assert_cmpint(pread(fd, buf, len, offset), ==, (ssize_t)len);
    close(fd);
    g_assert(memcmp(buf, expect, len) == 0);
}

static void do_rw(BlockdevAioOptions aio, bool direct)
{
    BlockDriverState *bs;
    BlockBackend *blk;
    uint8_t buf[3000], back[3000];

    make_image();
    bs = open_file(aio, direct, false, &error_abort);
    if (direct) {
        /* What O_DIRECT needs depends on the file system (probed). */
        g_assert(is_power_of_2(bs->bl.request_alignment));
        g_assert_cmpuint(bs->bl.request_alignment, <=, 4096);
    } else {
        g_assert_cmpuint(bs->bl.request_alignment, ==, 1);
    }
    blk = attach(bs, BLK_PERM_ALL, BLK_PERM_ALL);
    bdrv_unref(bs);

    g_assert_cmpint(blk_getlength(blk), ==, IMG_SIZE);
    memset(buf, 0x6b, sizeof(buf));
    /* Unaligned in offset, length and memory. */
    g_assert_cmpint(blk_pwrite(blk, 777, sizeof(buf) - 1, buf + 1, 0), ==,
                    0);
    g_assert_cmpint(blk_flush(blk), ==, 0);
    check_file(777, buf, sizeof(buf) - 1);
    g_assert_cmpint(blk_pread(blk, 776, sizeof(back), back, 0), ==, 0);
    g_assert_cmpint(back[0], ==, 0);
    g_assert(memcmp(back + 1, buf, sizeof(buf) - 1) == 0);
    blk_unref(blk);
}

static void test_rw_threads(void)
{
    do_rw(BLOCKDEV_AIO_OPTIONS_THREADS, false);
}

static void test_rw_threads_direct(void)
{
    do_rw(BLOCKDEV_AIO_OPTIONS_THREADS, true);
}

#if CONFIG_LINUX_IO_URING
static void test_rw_io_uring(void)
{
    Error *err = NULL;
    BlockDriverState *bs;

    make_image();
    bs = open_file(BLOCKDEV_AIO_OPTIONS_IO_URING, false, false, &err);
    if (!bs) {
        g_test_skip(error_get_pretty(err));
        error_free(err);
        return;
    }
    bdrv_unref(bs);
    do_rw(BLOCKDEV_AIO_OPTIONS_IO_URING, false);
    do_rw(BLOCKDEV_AIO_OPTIONS_IO_URING, true);
}
#endif

/* Holes: a sparse file, then zero writes with unmap and discards. */
static void test_holes(void)
{
    BlockDriverState *bs, *file;
    BlockBackend *blk;
    uint8_t buf[64 * 1024];
    int64_t pnum, map;
    int ret;

    make_image();
    bs = open_file(BLOCKDEV_AIO_OPTIONS_THREADS, false, true, &error_abort);
    blk = attach(bs, BLK_PERM_ALL, BLK_PERM_ALL);
    memset(buf, 1, sizeof(buf));
    g_assert_cmpint(blk_pwrite(blk, 256 * KiB, sizeof(buf), buf, 0), ==, 0);

    ret = bdrv_block_status(bs, 0, IMG_SIZE, &pnum, &map, &file);
    if (!(ret & BDRV_BLOCK_ZERO)) {
        /* The file system keeps no holes (tmpfs does): nothing to see. */
        blk_unref(blk);
        bdrv_unref(bs);
        g_test_skip("no holes in this file system");
        return;
    }
    g_assert_cmpint(pnum, ==, 256 * KiB);
    g_assert(file == bs);
    ret = bdrv_block_status(bs, 256 * KiB, IMG_SIZE, &pnum, NULL, NULL);
    g_assert_cmpint(ret & (BDRV_BLOCK_DATA | BDRV_BLOCK_ZERO), ==,
                    BDRV_BLOCK_DATA);
    g_assert_cmpint(pnum, ==, 64 * KiB);

    g_assert_cmpint(blk_pdiscard(blk, 256 * KiB, 32 * KiB), ==, 0);
    ret = bdrv_block_status(bs, 256 * KiB, IMG_SIZE, &pnum, NULL, NULL);
    g_assert_cmpint(ret & BDRV_BLOCK_ZERO, ==, BDRV_BLOCK_ZERO);
    g_assert_cmpint(pnum, ==, 32 * KiB);
    g_assert_cmpint(blk_pwrite_zeroes(blk, 288 * KiB, 32 * KiB,
                                      BDRV_REQ_MAY_UNMAP), ==, 0);
    ret = bdrv_block_status(bs, 256 * KiB, IMG_SIZE, &pnum, NULL, NULL);
    g_assert_cmpint(ret & BDRV_BLOCK_ZERO, ==, BDRV_BLOCK_ZERO);
    g_assert_cmpint(pnum, ==, IMG_SIZE - 256 * KiB);
    g_assert_cmpint(ret & BDRV_BLOCK_EOF, ==, BDRV_BLOCK_EOF);
    memset(buf, 0, sizeof(buf));
    check_file(256 * KiB, buf, sizeof(buf));
    blk_unref(blk);
    bdrv_unref(bs);
}

static void test_truncate(void)
{
    BlockDriverState *bs;
    BlockBackend *blk;
    struct stat st;

    make_image();
    bs = open_file(BLOCKDEV_AIO_OPTIONS_THREADS, false, false, &error_abort);
    blk = attach(bs, BLK_PERM_ALL, BLK_PERM_ALL);
    bdrv_unref(bs);
    g_assert_cmpint(blk_truncate(blk, 2 * MiB + 1000, false,
                                 PREALLOC_MODE_OFF, 0, &error_abort), ==, 0);
    g_assert_cmpint(stat(img, &st), ==, 0);
    g_assert_cmpint(st.st_size, ==, 2 * MiB + 1000);
    /* The node counts whole sectors, as QEMU's. */
    g_assert_cmpint(blk_getlength(blk), ==, 2 * MiB + 1024);
    g_assert_cmpint(blk_truncate(blk, 512 * KiB, false, PREALLOC_MODE_FALLOC,
                                 0, &error_abort), ==, 0);
    g_assert_cmpint(blk_getlength(blk), ==, 512 * KiB);
    blk_unref(blk);
}

static void test_open_errors(void)
{
    BlockdevOptions opts = {
        .driver = BLOCKDEV_DRIVER_FILE,
        .node_name = (char *)"f",
        .u.file = { .filename = (char *)"/nonexistent/x" },
    };
    Error *err = NULL;

    g_assert(!bdrv_open_blockdev(&opts, &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "Could not open '/nonexistent/x': No such file or "
                    "directory");
    error_free(err);
    err = NULL;

    make_image();
    opts.u.file.filename = img;
    opts.u.file.has_aio = true;
    opts.u.file.aio = BLOCKDEV_AIO_OPTIONS_NATIVE;
    g_assert(!bdrv_open_blockdev(&opts, &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "aio=native was specified, but it requires "
                    "cache.direct=on, which was not specified.");
    error_free(err);
}

/* Run the real qemu-io on the image; its wait status and all output. */
static int run_qemu_io(const char *cmd, char **out)
{
    const char *argv[] = { "qemu-io", "-f", "raw", "-c", cmd, img, NULL };
    g_autofree char *std_out = NULL;
    g_autofree char *std_err = NULL;
    int status;

    g_assert(g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH,
                          NULL, NULL, &std_out, &std_err, &status, NULL) ||
             !"spawn");
    *out = g_strconcat(std_out, std_err, NULL);
    return status;
}

static void test_lock_against_qemu_io(void)
{
    g_autofree char *qemu_io = g_find_program_in_path("qemu-io");
    g_autofree char *out1 = NULL;
    g_autofree char *out2 = NULL;
    g_autofree char *out3 = NULL;
    BlockDriverState *bs;
    BlockBackend *blk;

    if (!qemu_io) {
        g_test_skip("qemu-io is not installed");
        return;
    }
    make_image();
    bs = open_file(BLOCKDEV_AIO_OPTIONS_THREADS, false, false, &error_abort);

    /* A user that shares writing: qemu-io may write. */
    blk = attach(bs, BLK_PERM_CONSISTENT_READ | BLK_PERM_WRITE,
                 BLK_PERM_ALL);
    g_assert_cmpint(run_qemu_io("write 0 512", &out1), ==, 0);
    blk_unref(blk);

    /* A user that does not: qemu-io is refused, with QEMU's words. */
    blk = attach(bs, BLK_PERM_CONSISTENT_READ | BLK_PERM_WRITE,
                 BLK_PERM_CONSISTENT_READ);
    g_assert_cmpint(run_qemu_io("write 0 512", &out2), !=, 0);
    g_assert(strstr(out2, "Failed to get \"write\" lock"));
    g_assert(strstr(out2, "Is another process using the image"));
    blk_unref(blk);

    /* Gone: qemu-io may write again. */
    g_assert_cmpint(run_qemu_io("write 0 512", &out3), ==, 0);
    bdrv_unref(bs);
}

int main(int argc, char **argv)
{
    int ret;

    g_test_init(&argc, &argv, NULL);
    trace_init_from_env();
    qemu_init_main_loop(&error_abort);
    bdrv_init();
    tmpdir = g_dir_make_tmp("test-block-file-XXXXXX", NULL);
    img = g_build_filename(tmpdir, "img.raw", NULL);

    g_test_add_func("/block-file/rw/threads", test_rw_threads);
    g_test_add_func("/block-file/rw/threads-direct", test_rw_threads_direct);
#if CONFIG_LINUX_IO_URING
    g_test_add_func("/block-file/rw/io_uring", test_rw_io_uring);
#endif
    g_test_add_func("/block-file/holes", test_holes);
    g_test_add_func("/block-file/truncate", test_truncate);
    g_test_add_func("/block-file/open-errors", test_open_errors);
    g_test_add_func("/block-file/lock/qemu-io", test_lock_against_qemu_io);
    ret = g_test_run();
    unlink(img);
    rmdir(tmpdir);
    g_free(img);
    g_free(tmpdir);
    return ret;
}
