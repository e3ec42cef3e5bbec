/*
 * test-mirror.c: the mirror job (block/mirror.c) on real files, with a
 * guest writing to the source through a BlockBackend all the while.
 *
 * What a user relies on: after block-job-complete the guest's backend
 * points at the target, the target holds exactly what the guest wrote
 * (the last write to each byte), the filter is gone from the graph and
 * no node leaks; a forced cancel leaves the guest on the source; the
 * initial copy skips what reads as zeroes, so a sparse source gives a
 * sparse target.
 */
#include "qemu/osdep.h"

#include "block/block_int.h"
#include "block/block-backend.h"
#include "block/mirror.h"
#include "qapi/error.h"
#include "qemu/aio.h"
#include "qemu/job.h"
#include "qemu/trace-control.h"

#define IMG_SIZE (8 * MiB)

static char *tmpdir;

static char *make_image(const char *name, bool fill)
{
    char *path = g_build_filename(tmpdir, name, NULL);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(ftruncate(fd, IMG_SIZE), ==, 0);
    if (fill) {
        g_autofree uint8_t *buf = g_malloc(IMG_SIZE);
        size_t i;

        for (i = 0; i < IMG_SIZE; i++) {
            buf[i] = (uint8_t)(i * 7 + i / 4096);
        }
        g_assert_cmpint(pwrite(fd, buf, IMG_SIZE, 0), ==, IMG_SIZE);
    }
    close(fd);
    return path;
}

static BlockDriverState *open_raw(const char *name, const char *path)
{
    BlockdevRef file = {
        .type = QTYPE_QDICT,
        .u.definition = {
            .driver = BLOCKDEV_DRIVER_FILE,
            .u.file.filename = (char *)path,
        },
    };
    BlockdevOptions opts = {
        .driver = BLOCKDEV_DRIVER_RAW,
        .node_name = (char *)name,
        .u.raw.file = &file,
    };

    return bdrv_open_blockdev(&opts, &error_abort);
}

static void file_contents(const char *path, uint8_t *buf)
{
    int fd = open(path, O_RDONLY);

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(pread(fd, buf, IMG_SIZE, 0), ==, IMG_SIZE);
    close(fd);
}

/* The guest: random writes (and zero writes) until told to stop. */
typedef struct Guest {
    BlockBackend *blk;
    uint8_t *shadow;        /* what the disk must hold */
    bool stop;
    bool done;
    int writes;
    GRand *rand;
} Guest;

static void coroutine_fn guest_co(void *opaque)
{
    Guest *g = opaque;
    uint8_t buf[65536];

    while (!g->stop) {
        int64_t len = g_rand_int_range(g->rand, 1, sizeof(buf));
        int64_t off = g_rand_int_range(g->rand, 0, IMG_SIZE - len);
        bool zero = g_rand_int_range(g->rand, 0, 8) == 0;
        int ret;

        if (zero) {
            ret = blk_co_pwrite_zeroes(g->blk, off, len, 0);
            memset(g->shadow + off, 0, len);
        } else {
            QEMUIOVector qiov;

            memset(buf, g->writes & 0xff, len);
            qemu_iovec_init_buf(&qiov, buf, len);
            ret = blk_co_pwritev(g->blk, off, len, &qiov, 0);
            memcpy(g->shadow + off, buf, len);
        }
        g_assert_cmpint(ret, ==, 0);
        g->writes++;
        /* Let the job run between writes. */
        qemu_co_sleep_ns(200000);
    }
    g->done = true;
}

static Job *start(BlockDriverState *src, BlockDriverState *tgt,
                  MirrorSyncMode sync)
{
    MirrorStartArgs a = {
        .job_id = "job0",
        .bs = src,
        .target = tgt,
        .sync = sync,
        .backing_mode = MIRROR_LEAVE_BACKING_CHAIN,
        .granularity = 65536,
        .unmap = true,
        .auto_finalize = true,
        .auto_dismiss = true,
        .buf_size = 1 * MiB,
    };
    BlockJob *job = mirror_start(&a, &error_abort);

    return &job->job;
}

static void wait_ready(Job *job)
{
    AIO_WAIT_WHILE(qemu_get_aio_context(), !job_is_ready(job));
}

static void test_complete_under_writes(void)
{
    g_autofree char *src_path = make_image("src.raw", true);
    g_autofree char *tgt_path = make_image("tgt.raw", false);
    g_autofree uint8_t *tgt_data = g_malloc(IMG_SIZE);
    BlockDriverState *src = open_raw("src", src_path);
    BlockDriverState *tgt = open_raw("tgt", tgt_path);
    Guest g = { .shadow = g_malloc(IMG_SIZE), .rand = g_rand_new_with_seed(7) };
    Coroutine *co;
    Job *job;

    file_contents(src_path, g.shadow);
    g.blk = blk_new(qemu_get_aio_context(),
                    BLK_PERM_CONSISTENT_READ | BLK_PERM_WRITE,
                    BLK_PERM_CONSISTENT_READ | BLK_PERM_WRITE |
                    BLK_PERM_WRITE_UNCHANGED);
    g_assert_cmpint(blk_insert_bs(g.blk, src, &error_abort), ==, 0);

    co = qemu_coroutine_create(guest_co, &g);
    qemu_coroutine_enter(co);
    job = start(src, tgt, MIRROR_SYNC_MODE_FULL);
    job_ref(job);
    wait_ready(job);
    /* Keep writing in READY for a while, then stop and complete. */
    AIO_WAIT_WHILE(qemu_get_aio_context(), g.writes < 200);
    g.stop = true;
    AIO_WAIT_WHILE(qemu_get_aio_context(), !g.done);
    g_assert_cmpint(job_complete_sync(job, &error_abort), ==, 0);
    job_unref(job);

    /* The guest's disk is the target now, and it has every write. */
    g_assert(blk_bs(g.blk) == tgt);
    /* Nothing uses the old source any more: filter and job are gone. */
    g_assert(QLIST_EMPTY(&src->parents));
    blk_flush(g.blk);
    file_contents(tgt_path, tgt_data);
    g_assert(memcmp(tgt_data, g.shadow, IMG_SIZE) == 0);

    blk_unref(g.blk);
    bdrv_unref(src);
    bdrv_unref(tgt);
    g_assert(!bdrv_next_node(NULL));
    g_free(g.shadow);
    g_rand_free(g.rand);
}

static void test_cancel_keeps_source(void)
{
    g_autofree char *src_path = make_image("src2.raw", true);
    g_autofree char *tgt_path = make_image("tgt2.raw", false);
    BlockDriverState *src = open_raw("src", src_path);
    BlockDriverState *tgt = open_raw("tgt", tgt_path);
    BlockBackend *blk = blk_new(qemu_get_aio_context(),
                                BLK_PERM_CONSISTENT_READ,
                                BLK_PERM_ALL);
    Job *job;

    g_assert_cmpint(blk_insert_bs(blk, src, &error_abort), ==, 0);
    job = start(src, tgt, MIRROR_SYNC_MODE_FULL);
    job_ref(job);
    wait_ready(job);
    job_user_cancel(job, true, &error_abort);
    job_finish_sync(job, NULL);
    job_unref(job);
    g_assert(blk_bs(blk) == src);
    /* The filter left; only the backend uses the source again. */
    g_assert(QLIST_FIRST(&src->parents) &&
             !QLIST_NEXT(QLIST_FIRST(&src->parents), next_parent));
    blk_unref(blk);
    bdrv_unref(src);
    bdrv_unref(tgt);
    g_assert(!bdrv_next_node(NULL));
}

static void test_sparse_source(void)
{
    g_autofree char *src_path = make_image("src3.raw", false);
    g_autofree char *tgt_path = make_image("tgt3.raw", false);
    BlockDriverState *src = open_raw("src", src_path);
    BlockDriverState *tgt = open_raw("tgt", tgt_path);
    BlockBackend *blk = blk_new(qemu_get_aio_context(),
                                BLK_PERM_CONSISTENT_READ | BLK_PERM_WRITE,
                                BLK_PERM_ALL);
    uint8_t data[4096];
    struct stat st;
    Job *job;

    memset(data, 0x5a, sizeof(data));
    g_assert_cmpint(blk_insert_bs(blk, src, &error_abort), ==, 0);
    g_assert_cmpint(blk_pwrite(blk, 1 * MiB, sizeof(data), data, 0), ==, 0);
    job = start(src, tgt, MIRROR_SYNC_MODE_FULL);
    job_ref(job);
    wait_ready(job);
    /* Only the written range was copied as data. */
    g_assert_cmpint(job->progress_current, ==, IMG_SIZE);
    g_assert_cmpint(job_complete_sync(job, &error_abort), ==, 0);
    job_unref(job);
    g_assert_cmpint(stat(tgt_path, &st), ==, 0);
    g_assert_cmpint(st.st_blocks * 512, <=, 1 * MiB);
    blk_unref(blk);
    bdrv_unref(src);
    bdrv_unref(tgt);
}

int main(int argc, char **argv)
{
    int ret;

    g_test_init(&argc, &argv, NULL);
    trace_init_from_env();
    qemu_init_main_loop(&error_abort);
    bdrv_init();
    tmpdir = g_dir_make_tmp("test-mirror-XXXXXX", NULL);

    g_test_add_func("/mirror/complete-under-writes",
                    test_complete_under_writes);
    g_test_add_func("/mirror/cancel-keeps-source", test_cancel_keeps_source);
    g_test_add_func("/mirror/sparse-source", test_sparse_source);
    ret = g_test_run();
    {
        g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", tmpdir);

        g_assert_cmpint(system(cmd), ==, 0);
    }
    g_free(tmpdir);
    return ret;
}
