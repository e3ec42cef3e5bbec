/*
 * test-block-io.c: the request path (block/io.c) against a byte-array
 * oracle.
 *
 * The test driver "test-align" stores its disk in a byte array and
 * insists on what block_int.h promises: offsets and lengths aligned to
 * 4 KiB, no request above 64 KiB, no zero write above 128 KiB.  It
 * yields in the middle of every read and write (a bottom half resumes
 * it), so requests issued together really overlap in time.  Each test
 * applies the same operations to a plain array (the oracle) and then
 * compares the whole disk.
 */
#include "qemu/osdep.h"

#include "block/block_int.h"
#include "block/block-backend.h"
#include "qapi/error.h"
#include "qemu/aio.h"
#include "qemu/trace-control.h"

#define ALIGN        4096
#define MAX_XFER     (64 * KiB)
#define MAX_ZERO     (128 * KiB)
/* A whole number of sectors, deliberately not of the alignment. */
#define DISK_SIZE    (256 * KiB + 1024)
#define DISK_ALLOC   ROUND_UP(DISK_SIZE, ALIGN)

typedef struct BDRVTestState {
    uint8_t *disk;              /* DISK_ALLOC bytes */
    int reads;
    int writes;
    int zero_calls;
    int discard_calls;
    int flushes;
    int max_seen;               /* largest read/write */
    bool zero_enotsup;          /* answer zero writes with -ENOTSUP */
    bool fail_writes;           /* answer writes with -EIO */
} BDRVTestState;

static uint8_t oracle[DISK_ALLOC];

/* Let every other coroutine run once: resume from a bottom half. */
static void coroutine_fn yield_once(void)
{
    aio_co_schedule(qemu_get_aio_context(), qemu_coroutine_self());
    qemu_coroutine_yield();
}

static int test_open(BlockDriverState *bs, BlockdevOptions *options,
                     int flags, Error **errp)
{
    BDRVTestState *s = bs->opaque;

    s->disk = g_malloc0(DISK_ALLOC);
    bs->bl.request_alignment = ALIGN;
    return 0;
}

static void test_close(BlockDriverState *bs)
{
    BDRVTestState *s = bs->opaque;

    g_free(s->disk);
}

static void test_refresh_limits(BlockDriverState *bs, Error **errp)
{
    bs->bl.request_alignment = ALIGN;
    bs->bl.max_transfer = MAX_XFER;
    bs->bl.max_pwrite_zeroes = MAX_ZERO;
}

static void check_request(int64_t offset, int64_t bytes, int64_t max)
{
    g_assert_cmpint(offset % ALIGN, ==, 0);
    g_assert_cmpint(bytes % ALIGN, ==, 0);
    g_assert_cmpint(bytes, >, 0);
    g_assert_cmpint(bytes, <=, max);
    g_assert_cmpint(offset + bytes, <=, DISK_ALLOC);
}

static int coroutine_fn test_co_preadv(BlockDriverState *bs, int64_t offset,
                                       int64_t bytes, QEMUIOVector *qiov,
                                       BdrvRequestFlags flags)
{
    BDRVTestState *s = bs->opaque;

    check_request(offset, bytes, MAX_XFER);
    g_assert_cmpuint(qiov->size, ==, bytes);
    s->reads++;
    s->max_seen = MAX(s->max_seen, bytes);
    /* Copy, then yield: a racing write-back would now use stale data. */
    qemu_iovec_from_buf(qiov, 0, s->disk + offset, bytes);
    yield_once();
    return 0;
}

static int coroutine_fn test_co_pwritev(BlockDriverState *bs,
                                        int64_t offset, int64_t bytes,
                                        QEMUIOVector *qiov,
                                        BdrvRequestFlags flags)
{
    BDRVTestState *s = bs->opaque;

    check_request(offset, bytes, MAX_XFER);
    g_assert_cmpuint(qiov->size, ==, bytes);
    s->writes++;
    s->max_seen = MAX(s->max_seen, bytes);
    yield_once();
    if (s->fail_writes) {
        return -EIO;
    }
    qemu_iovec_to_buf(qiov, 0, s->disk + offset, bytes);
    return 0;
}

static int coroutine_fn test_co_pwrite_zeroes(BlockDriverState *bs,
                                              int64_t offset, int64_t bytes,
                                              BdrvRequestFlags flags)
{
    BDRVTestState *s = bs->opaque;

    check_request(offset, bytes, MAX_ZERO);
    if (s->zero_enotsup) {
        return -ENOTSUP;
    }
    s->zero_calls++;
    memset(s->disk + offset, 0, bytes);
    return 0;
}

static int coroutine_fn test_co_pdiscard(BlockDriverState *bs,
                                         int64_t offset, int64_t bytes)
{
    BDRVTestState *s = bs->opaque;

    check_request(offset, bytes, BDRV_REQUEST_MAX_BYTES);
    s->discard_calls++;
    /* Discarded space reads as a marker, so the test sees what went. */
    memset(s->disk + offset, 0xdd, bytes);
    return 0;
}

static int coroutine_fn test_co_flush(BlockDriverState *bs)
{
    BDRVTestState *s = bs->opaque;

    s->flushes++;
    return 0;
}

static int64_t coroutine_fn test_co_getlength(BlockDriverState *bs)
{
    return DISK_SIZE;
}

static BlockDriver bdrv_test = {
    .format_name            = "test-align",
    .protocol_name          = "test-align",
    .instance_size          = sizeof(BDRVTestState),
    .bdrv_open              = test_open,
    .bdrv_close             = test_close,
    .bdrv_refresh_limits    = test_refresh_limits,
    .bdrv_co_preadv         = test_co_preadv,
    .bdrv_co_pwritev        = test_co_pwritev,
    .bdrv_co_pwrite_zeroes  = test_co_pwrite_zeroes,
    .bdrv_co_pdiscard       = test_co_pdiscard,
    .bdrv_co_flush          = test_co_flush,
    .bdrv_co_getlength      = test_co_getlength,
};

/* A test node (with @flags) behind a BlockBackend; oracle cleared. */
static BlockBackend *test_blk_new(int flags, BlockDriverState **pbs)
{
    BlockDriverState *bs;
    BlockBackend *blk;

    bs = bdrv_new_open_driver(&bdrv_test, NULL, BDRV_O_RDWR | flags,
                              &error_abort);
    blk = blk_new(qemu_get_aio_context(), BLK_PERM_ALL, BLK_PERM_ALL);
    g_assert_cmpint(blk_insert_bs(blk, bs, &error_abort), ==, 0);
    bdrv_unref(bs);
    memset(oracle, 0, sizeof(oracle));
    if (pbs) {
        *pbs = bs;
    }
    return blk;
}

static BDRVTestState *test_state(BlockBackend *blk)
{
    return blk_bs(blk)->opaque;
}

static void check_oracle(BlockBackend *blk)
{
    g_autofree uint8_t *buf = g_malloc(DISK_SIZE);
    int64_t i;

    g_assert_cmpint(blk_pread(blk, 0, DISK_SIZE, buf, 0), ==, 0);
    for (i = 0; i < DISK_SIZE; i++) {
        if (buf[i] != oracle[i]) {
            g_error("byte 0x%" PRIx64 ": disk 0x%02x oracle 0x%02x", i,
                    buf[i], oracle[i]);
        }
    }
}

/*
 * Alignment and read-modify-write
 */

static void test_rmw_edges(void)
{
    BlockBackend *blk = test_blk_new(0, NULL);
    static const int64_t cases[][2] = {
        { 0, 1 }, { 1, 1 }, { ALIGN - 1, 2 }, { ALIGN, ALIGN },
        { 100, ALIGN }, { 5000, 100 }, { 3 * ALIGN - 7, 2 * ALIGN + 14 },
        { 0, MAX_XFER + 1 }, { 17, 3 * MAX_XFER + 5 },
        { DISK_SIZE - 1, 1 }, { DISK_SIZE - 5000, 5000 },
    };
    g_autofree uint8_t *buf = g_malloc(DISK_SIZE);
    size_t i;

    for (i = 0; i < ARRAY_SIZE(cases); i++) {
        int64_t off = cases[i][0], len = cases[i][1];

        memset(buf, 0x10 + i, len);
        g_assert_cmpint(blk_pwrite(blk, off, len, buf, 0), ==, 0);
        memset(oracle + off, 0x10 + i, len);
        check_oracle(blk);

        /* An unaligned read of the same range sees exactly those bytes. */
        memset(buf, 0, len);
        g_assert_cmpint(blk_pread(blk, off, len, buf, 0), ==, 0);
        g_assert(memcmp(buf, oracle + off, len) == 0);
    }
    /* The driver never saw more than max_transfer. */
    g_assert_cmpint(test_state(blk)->max_seen, <=, MAX_XFER);
    blk_unref(blk);
}

static void test_split(void)
{
    BlockBackend *blk = test_blk_new(0, NULL);
    BDRVTestState *s = test_state(blk);
    g_autofree uint8_t *buf = g_malloc(4 * MAX_XFER);

    memset(buf, 0x5a, 4 * MAX_XFER);
    g_assert_cmpint(blk_pwrite(blk, 0, 4 * MAX_XFER, buf, 0), ==, 0);
    g_assert_cmpint(s->writes, ==, 4);
    g_assert_cmpint(s->reads, ==, 0);
    memset(oracle, 0x5a, 4 * MAX_XFER);
    s->reads = 0;
    g_assert_cmpint(blk_pread(blk, 0, 4 * MAX_XFER, buf, 0), ==, 0);
    g_assert_cmpint(s->reads, ==, 4);
    check_oracle(blk);
    blk_unref(blk);
}

/* The unaligned tail of the disk: reads zero beyond the end. */
static void test_read_eof_block(void)
{
    BlockDriverState *bs;
    BlockBackend *blk = test_blk_new(0, &bs);
    BdrvChild *c = QLIST_FIRST(&bs->parents);
    uint8_t buf[2 * ALIGN];

    memset(buf, 0x77, sizeof(buf));
    g_assert_cmpint(blk_pwrite(blk, DISK_SIZE - 10, 10, buf, 0), ==, 0);
    /* The node level reads past the end: zeroes there. */
    g_assert_cmpint(bdrv_pread(c, DISK_SIZE - 10, 2 * ALIGN, buf, 0), ==,
                    0);
    g_assert_cmpint(buf[9], ==, 0x77);
    g_assert_cmpint(buf[10], ==, 0);
    g_assert_cmpint(buf[2 * ALIGN - 1], ==, 0);
    blk_unref(blk);
}

/* Buffers that break min_mem_alignment are bounced. */
static void test_bounce(void)
{
    BlockDriverState *bs;
    BlockBackend *blk = test_blk_new(0, &bs);
    g_autofree uint8_t *buf = g_malloc(3 * ALIGN + 1);

    bs->bl.min_mem_alignment = 512;
    memset(buf, 0x33, 3 * ALIGN + 1);
    /* buf + 1 is misaligned for the driver. */
    g_assert_cmpint(blk_pwrite(blk, ALIGN, 2 * ALIGN, buf + 1, 0), ==, 0);
    memset(oracle + ALIGN, 0x33, 2 * ALIGN);
    check_oracle(blk);
    blk_unref(blk);
}

/*
 * Serialising overlaps
 */

typedef struct WriteCo {
    BlockBackend *blk;
    int64_t offset;
    int64_t bytes;
    uint8_t pattern;
    bool zero;
    int ret;
    bool done;
} WriteCo;

static void coroutine_fn write_co_entry(void *opaque)
{
    WriteCo *w = opaque;
    g_autofree uint8_t *buf = g_malloc(w->bytes);
    QEMUIOVector qiov;

    if (w->zero) {
        w->ret = blk_co_pwrite_zeroes(w->blk, w->offset, w->bytes, 0);
    } else {
        memset(buf, w->pattern, w->bytes);
        qemu_iovec_init_buf(&qiov, buf, w->bytes);
        w->ret = blk_co_pwritev(w->blk, w->offset, w->bytes, &qiov, 0);
    }
    w->done = true;
}

/* Start all @n writes (each runs to its first yield), then wait. */
static void run_concurrently(WriteCo *w, int n)
{
    int i;

    for (i = 0; i < n; i++) {
        qemu_coroutine_enter(qemu_coroutine_create(write_co_entry, &w[i]));
    }
    for (i = 0; i < n; i++) {
        AIO_WAIT_WHILE(qemu_get_aio_context(), !w[i].done);
        g_assert_cmpint(w[i].ret, ==, 0);
    }
}

static void test_serialise_two(void)
{
    BlockBackend *blk = test_blk_new(0, NULL);
    WriteCo w[2] = {
        { .blk = blk, .offset = 100, .bytes = 100, .pattern = 0xa1 },
        { .blk = blk, .offset = 300, .bytes = 100, .pattern = 0xb2 },
    };

    run_concurrently(w, 2);
    memset(oracle + 100, 0xa1, 100);
    memset(oracle + 300, 0xb2, 100);
    check_oracle(blk);
    blk_unref(blk);
}

/* Many writes on disjoint bytes that share blocks, all in flight. */
static void test_serialise_random(void)
{
    BlockBackend *blk = test_blk_new(0, NULL);
    GRand *rand = g_rand_new_with_seed(42);
    WriteCo w[64];
    int64_t pos = 0;
    int n = 0, round, i;

    for (round = 0; round < 20; round++) {
        pos = g_rand_int_range(rand, 0, 2 * ALIGN);
        n = 0;
        while (n < (int)ARRAY_SIZE(w)) {
            int64_t len = g_rand_int_range(rand, 1, 3 * ALIGN);

            if (pos + len > DISK_SIZE) {
                break;
            }
            w[n] = (WriteCo) {
                .blk = blk, .offset = pos, .bytes = len,
                .pattern = g_rand_int_range(rand, 1, 256),
                .zero = g_rand_int_range(rand, 0, 4) == 0,
            };
            pos += len + g_rand_int_range(rand, 0, 100);
            n++;
        }
        /* Issue in shuffled order. */
        for (i = n - 1; i > 0; i--) {
            int j = g_rand_int_range(rand, 0, i + 1);
            WriteCo t = w[i];

            w[i] = w[j];
            w[j] = t;
        }
        run_concurrently(w, n);
        for (i = 0; i < n; i++) {
            memset(oracle + w[i].offset, w[i].zero ? 0 : w[i].pattern,
                   w[i].bytes);
        }
        check_oracle(blk);
    }
    g_rand_free(rand);
    blk_unref(blk);
}

/*
 * Zero writes, detect-zeroes and discard
 */

static void test_zero_paths(void)
{
    BlockDriverState *bs;
    BlockBackend *blk = test_blk_new(0, &bs);
    BDRVTestState *s = test_state(blk);
    g_autofree uint8_t *buf = g_malloc(DISK_SIZE);

    memset(buf, 0xee, DISK_SIZE);
    g_assert_cmpint(blk_pwrite(blk, 0, DISK_SIZE, buf, 0), ==, 0);
    memset(oracle, 0xee, DISK_SIZE);

    /* Aligned: the driver's slot only, in chunks of at most MAX_ZERO. */
    s->writes = 0;
    g_assert_cmpint(blk_pwrite_zeroes(blk, 0, 3 * MAX_ZERO / 2, 0), ==, 0);
    memset(oracle, 0, 3 * MAX_ZERO / 2);
    g_assert_cmpint(s->zero_calls, ==, 2);
    g_assert_cmpint(s->writes, ==, 0);
    check_oracle(blk);

    /* Unaligned head and tail are written as data. */
    memset(buf, 0xee, DISK_SIZE);
    g_assert_cmpint(blk_pwrite(blk, 0, DISK_SIZE, buf, 0), ==, 0);
    memset(oracle, 0xee, DISK_SIZE);
    s->writes = 0;
    s->zero_calls = 0;
    g_assert_cmpint(blk_pwrite_zeroes(blk, 1000, 5 * ALIGN, 0), ==, 0);
    memset(oracle + 1000, 0, 5 * ALIGN);
    g_assert_cmpint(s->writes, ==, 2);
    g_assert_cmpint(s->zero_calls, ==, 1);
    check_oracle(blk);

    /* Within one block. */
    g_assert_cmpint(blk_pwrite_zeroes(blk, 2 * ALIGN + 1, 10, 0), ==, 0);
    memset(oracle + 2 * ALIGN + 1, 0, 10);
    check_oracle(blk);

    /* -ENOTSUP falls back to writing zeroes, unless NO_FALLBACK. */
    memset(buf, 0xee, DISK_SIZE);
    g_assert_cmpint(blk_pwrite(blk, 0, DISK_SIZE, buf, 0), ==, 0);
    memset(oracle, 0xee, DISK_SIZE);
    s->zero_enotsup = true;
    s->writes = 0;
    g_assert_cmpint(blk_pwrite_zeroes(blk, 0, 4 * MAX_XFER, 0), ==, 0);
    memset(oracle, 0, 4 * MAX_XFER);
    g_assert_cmpint(s->writes, ==, 4);
    check_oracle(blk);
    g_assert_cmpint(blk_pwrite_zeroes(blk, 0, ALIGN, BDRV_REQ_NO_FALLBACK),
                    ==, -ENOTSUP);
    s->zero_enotsup = false;
    blk_unref(blk);
}

static void test_detect_zeroes(void)
{
    BlockDriverState *bs;
    BlockBackend *blk = test_blk_new(0, &bs);
    BDRVTestState *s = test_state(blk);
    g_autofree uint8_t *buf = g_malloc0(2 * ALIGN);

    g_assert_cmpint(blk_pwrite(blk, 0, 2 * ALIGN, buf, 0), ==, 0);
    g_assert_cmpint(s->zero_calls, ==, 0);
    bs->detect_zeroes = BLOCKDEV_DETECT_ZEROES_OPTIONS_ON;
    g_assert_cmpint(blk_pwrite(blk, 0, 2 * ALIGN, buf, 0), ==, 0);
    g_assert_cmpint(s->zero_calls, ==, 1);
    /* Non-zero data is written as such. */
    buf[5] = 1;
    g_assert_cmpint(blk_pwrite(blk, 0, 2 * ALIGN, buf, 0), ==, 0);
    g_assert_cmpint(s->zero_calls, ==, 1);
    oracle[5] = 1;
    check_oracle(blk);
    blk_unref(blk);
}

static void test_discard(void)
{
    BlockBackend *blk = test_blk_new(0, NULL);
    BDRVTestState *s = test_state(blk);

    /* Without discard=unmap a discard does nothing, and succeeds. */
    g_assert_cmpint(blk_pdiscard(blk, 0, 4 * ALIGN), ==, 0);
    g_assert_cmpint(s->discard_calls, ==, 0);
    blk_unref(blk);

    blk = test_blk_new(BDRV_O_UNMAP, NULL);
    s = test_state(blk);
    /* Only the whole blocks inside the range go. */
    g_assert_cmpint(blk_pdiscard(blk, 100, 4 * ALIGN), ==, 0);
    g_assert_cmpint(s->discard_calls, ==, 1);
    memset(oracle + ALIGN, 0xdd, 3 * ALIGN);
    check_oracle(blk);
    /* Smaller than a block: nothing. */
    g_assert_cmpint(blk_pdiscard(blk, 10, 100), ==, 0);
    g_assert_cmpint(s->discard_calls, ==, 1);
    blk_unref(blk);
}

/*
 * Bounds, flush, hooks, block status
 */

static void test_bounds(void)
{
    BlockDriverState *bs;
    BlockBackend *blk = test_blk_new(0, &bs);
    BdrvChild *c = QLIST_FIRST(&bs->parents);
    uint8_t buf[16];

    g_assert_cmpint(blk_getlength(blk), ==, DISK_SIZE);
    g_assert_cmpint(blk_pread(blk, DISK_SIZE - 16, 16, buf, 0), ==, 0);
    g_assert_cmpint(blk_pread(blk, DISK_SIZE - 15, 16, buf, 0), ==, -EIO);
    g_assert_cmpint(blk_pread(blk, DISK_SIZE + 1, 0, buf, 0), ==, -EIO);
    g_assert_cmpint(blk_pread(blk, DISK_SIZE, 0, buf, 0), ==, 0);
    g_assert_cmpint(blk_pread(blk, -1, 1, buf, 0), ==, -EIO);
    g_assert_cmpint(blk_pwrite(blk, DISK_SIZE, 1, buf, 0), ==, -EIO);
    g_assert_cmpint(blk_pwrite_zeroes(blk, DISK_SIZE - 1, 2, 0), ==, -EIO);
    g_assert_cmpint(blk_pdiscard(blk, 0, DISK_SIZE + 1), ==, -EIO);
    g_assert_cmpint(blk_pread(blk, 0, -1, buf, 0), ==, -EIO);
    /* Node level: only the absolute limits. */
    g_assert_cmpint(bdrv_pread(c, -1, 1, buf, 0), ==, -EIO);
    g_assert_cmpint(bdrv_pread(c, BDRV_MAX_LENGTH, 1, buf, 0), ==, -EIO);
    blk_unref(blk);
}

static void test_flush_and_errors(void)
{
    BlockDriverState *bs;
    BlockBackend *blk = test_blk_new(0, &bs);
    BDRVTestState *s = test_state(blk);
    uint8_t buf[ALIGN] = { 0 };

    /* Nothing written yet: the flush has nothing to cover. */
    g_assert_cmpint(blk_flush(blk), ==, 0);
    g_assert_cmpint(s->flushes, ==, 0);
    g_assert_cmpint(blk_pwrite(blk, 0, ALIGN, buf, 0), ==, 0);
    g_assert_cmpint(blk_flush(blk), ==, 0);
    g_assert_cmpint(s->flushes, ==, 1);
    /* And a second one neither (QEMU's write generation). */
    g_assert_cmpint(blk_flush(blk), ==, 0);
    g_assert_cmpint(s->flushes, ==, 1);
    bs->open_flags |= BDRV_O_NO_FLUSH;
    g_assert_cmpint(blk_pwrite(blk, 0, ALIGN, buf, 0), ==, 0);
    g_assert_cmpint(blk_flush(blk), ==, 0);
    g_assert_cmpint(s->flushes, ==, 1);
    /* FUA without driver support becomes a write plus a flush. */
    bs->open_flags &= ~BDRV_O_NO_FLUSH;
    g_assert_cmpint(blk_pwrite(blk, 0, ALIGN, buf, BDRV_REQ_FUA), ==, 0);
    g_assert_cmpint(s->flushes, ==, 2);

    s->fail_writes = true;
    g_assert_cmpint(blk_pwrite(blk, 0, ALIGN, buf, 0), ==, -EIO);
    s->fail_writes = false;
    bs->read_only = true;
    g_assert_cmpint(blk_pwrite(blk, 0, ALIGN, buf, 0), ==, -EPERM);
    bs->read_only = false;
    blk_unref(blk);
}

typedef struct HookLog {
    int calls;
    int64_t offset;
    int64_t bytes;
} HookLog;

static void hook_cb(BlockDriverState *bs, int64_t offset, int64_t bytes,
                    void *opaque)
{
    HookLog *log = opaque;

    log->calls++;
    log->offset = offset;
    log->bytes = bytes;
}

static void test_write_hooks(void)
{
    BlockDriverState *bs;
    BlockBackend *blk = test_blk_new(BDRV_O_UNMAP, &bs);
    BDRVTestState *s = test_state(blk);
    HookLog log = { 0 };
    BdrvWriteHook hook = { .cb = hook_cb, .opaque = &log };
    uint8_t buf[100] = { 0 };

    bdrv_add_write_hook(bs, &hook);
    g_assert_cmpint(blk_pwrite(blk, 5000, 100, buf, 0), ==, 0);
    g_assert_cmpint(log.calls, ==, 1);
    g_assert_cmpint(log.offset, ==, 5000);
    g_assert_cmpint(log.bytes, ==, 100);
    g_assert_cmpint(blk_pwrite_zeroes(blk, 7, 9, 0), ==, 0);
    g_assert_cmpint(log.calls, ==, 2);
    g_assert_cmpint(log.offset, ==, 7);
    g_assert_cmpint(blk_pdiscard(blk, 0, ALIGN), ==, 0);
    g_assert_cmpint(log.calls, ==, 3);
    /* Reads and failed writes do not count. */
    g_assert_cmpint(blk_pread(blk, 0, 100, buf, 0), ==, 0);
    s->fail_writes = true;
    g_assert_cmpint(blk_pwrite(blk, 0, 100, buf, 0), ==, -EIO);
    s->fail_writes = false;
    g_assert_cmpint(log.calls, ==, 3);
    bdrv_remove_write_hook(bs, &hook);
    blk_unref(blk);
}

static BlockDriverState *open_null(const char *driver, int64_t size,
                                   bool read_zeroes, uint64_t latency_ns)
{
    BlockdevOptions opts = {
        .driver = !strcmp(driver, "null-aio") ? BLOCKDEV_DRIVER_NULL_AIO
                                              : BLOCKDEV_DRIVER_NULL_CO,
    };
    BlockdevOptionsNull *n = opts.driver == BLOCKDEV_DRIVER_NULL_AIO
                             ? &opts.u.null_aio : &opts.u.null_co;

    n->has_size = true;
    n->size = size;
    n->has_read_zeroes = true;
    n->read_zeroes = read_zeroes;
    n->has_latency_ns = latency_ns != 0;
    n->latency_ns = latency_ns;
    return bdrv_open_blockdev(&opts, &error_abort);
}

static void test_block_status(void)
{
    BlockDriverState *bs = open_null("null-co", 1 * MiB, true, 0);
    int64_t pnum, map;
    BlockDriverState *file;
    int ret;

    ret = bdrv_block_status(bs, 4096, 1 * MiB, &pnum, &map, &file);
    g_assert_cmpint(ret, ==, BDRV_BLOCK_ZERO | BDRV_BLOCK_OFFSET_VALID |
                    BDRV_BLOCK_ALLOCATED | BDRV_BLOCK_EOF);
    g_assert_cmpint(pnum, ==, 1 * MiB - 4096);
    g_assert_cmpint(map, ==, 4096);
    g_assert(file == bs);
    ret = bdrv_block_status(bs, 0, 512, &pnum, NULL, NULL);
    g_assert_cmpint(ret & BDRV_BLOCK_EOF, ==, 0);
    g_assert_cmpint(pnum, ==, 512);
    ret = bdrv_block_status(bs, 1 * MiB, 512, &pnum, NULL, NULL);
    g_assert_cmpint(ret, ==, BDRV_BLOCK_EOF);
    g_assert_cmpint(pnum, ==, 0);
    bdrv_unref(bs);
}

/*
 * Drain
 */

static void test_drain_waits(void)
{
    const char *drivers[] = { "null-aio", "null-co" };
    size_t d;

    for (d = 0; d < ARRAY_SIZE(drivers); d++) {
        BlockDriverState *bs = open_null(drivers[d], 1 * MiB, true,
                                         d ? 2000000 : 0);
        BlockBackend *blk = blk_new(qemu_get_aio_context(), BLK_PERM_ALL,
                                    BLK_PERM_ALL);
        WriteCo w[8];
        int i;

        g_assert_cmpint(blk_insert_bs(blk, bs, &error_abort), ==, 0);
        bdrv_unref(bs);
        for (i = 0; i < 8; i++) {
            w[i] = (WriteCo) { .blk = blk, .offset = i * 4096,
                               .bytes = 4096, .pattern = i };
            qemu_coroutine_enter(qemu_coroutine_create(write_co_entry,
                                                       &w[i]));
        }
        g_assert_cmpuint(bs->in_flight, >=, 8);
        g_assert_cmpuint(blk_in_flight(blk), ==, 8);

        bdrv_drained_begin(bs);
        for (i = 0; i < 8; i++) {
            g_assert(w[i].done);
        }
        g_assert_cmpuint(bs->in_flight, ==, 0);

        /* A request made while drained waits for the end of the section. */
        w[0].done = false;
        qemu_coroutine_enter(qemu_coroutine_create(write_co_entry, &w[0]));
        for (i = 0; i < 10; i++) {
            aio_poll(qemu_get_aio_context(), false);
        }
        g_assert(!w[0].done);
        g_assert_cmpuint(bs->in_flight, ==, 0);
        bdrv_drained_end(bs);
        AIO_WAIT_WHILE(qemu_get_aio_context(), !w[0].done);
        g_assert_cmpint(w[0].ret, ==, 0);

        blk_unref(blk);
    }
}

/* Drain from inside a coroutine is handed to the main loop. */
typedef struct CoDrain {
    BlockDriverState *bs;
    bool done;
} CoDrain;

static void coroutine_fn co_drain_entry(void *opaque)
{
    CoDrain *d = opaque;

    bdrv_drained_begin(d->bs);
    g_assert_cmpuint(d->bs->in_flight, ==, 0);
    bdrv_drained_end(d->bs);
    d->done = true;
}

static void test_drain_in_coroutine(void)
{
    BlockDriverState *bs = open_null("null-aio", 1 * MiB, true, 0);
    BlockBackend *blk = blk_new(qemu_get_aio_context(), BLK_PERM_ALL,
                                BLK_PERM_ALL);
    WriteCo w = { .blk = blk, .offset = 0, .bytes = 512 };
    CoDrain d = { .bs = bs };

    g_assert_cmpint(blk_insert_bs(blk, bs, &error_abort), ==, 0);
    bdrv_unref(bs);
    qemu_coroutine_enter(qemu_coroutine_create(write_co_entry, &w));
    qemu_coroutine_enter(qemu_coroutine_create(co_drain_entry, &d));
    AIO_WAIT_WHILE(qemu_get_aio_context(), !d.done);
    g_assert(w.done);
    blk_unref(blk);
}

/* raw with offset and size maps requests into a window of its child. */
static void test_raw_window(void)
{
    BlockDriverState *t, *raw, *file;
    BlockdevRef ref = { .type = QTYPE_QSTRING, .u.reference = (char *)"t" };
    BlockdevOptions opts = {
        .driver = BLOCKDEV_DRIVER_RAW,
        .node_name = (char *)"rw",
        .u.raw = { .file = &ref, .has_offset = true, .offset = 4196,
                   .has_size = true, .size = 64 * KiB },
    };
    BlockBackend *blk;
    BDRVTestState *s;
    uint8_t buf[1000];
    int64_t pnum, map;
    Error *err = NULL;
    int ret;

    t = bdrv_new_open_driver(&bdrv_test, "t", BDRV_O_RDWR, &error_abort);
    s = t->opaque;
    raw = bdrv_open_blockdev(&opts, &error_abort);
    bdrv_unref(t);
    blk = blk_new(qemu_get_aio_context(), BLK_PERM_ALL, BLK_PERM_ALL);
    g_assert_cmpint(blk_insert_bs(blk, raw, &error_abort), ==, 0);
    bdrv_unref(raw);

    g_assert_cmpint(blk_getlength(blk), ==, 64 * KiB);
    memset(buf, 0x42, sizeof(buf));
    g_assert_cmpint(blk_pwrite(blk, 10, sizeof(buf), buf, 0), ==, 0);
    g_assert_cmpint(s->disk[4196 + 9], ==, 0);
    g_assert_cmpint(s->disk[4196 + 10], ==, 0x42);
    g_assert_cmpint(s->disk[4196 + 1009], ==, 0x42);
    g_assert_cmpint(s->disk[4196 + 1010], ==, 0);
    g_assert_cmpint(blk_pwrite(blk, 64 * KiB - 1, 2, buf, 0), ==, -EIO);

    ret = bdrv_block_status(raw, 100, 512, &pnum, &map, &file);
    g_assert_cmpint(ret, ==, BDRV_BLOCK_DATA | BDRV_BLOCK_OFFSET_VALID |
                    BDRV_BLOCK_ALLOCATED);
    g_assert_cmpint(map, ==, 4296);
    g_assert(file == t);

    g_assert_cmpint(blk_truncate(blk, 128 * KiB, false, PREALLOC_MODE_OFF,
                                 0, &err), ==, -ENOTSUP);
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "Cannot resize fixed-size raw disks");
    error_free(err);
    blk_unref(blk);
    g_assert(!bdrv_find_node("t"));
}

/* Node names: automatic ones look like QEMU's, bad ones are refused. */
static void test_node_names(void)
{
    BlockDriverState *a, *b;
    Error *err = NULL;

    a = bdrv_new_open_driver(&bdrv_null_co, NULL, 0, &error_abort);
    g_assert(g_str_has_prefix(bdrv_get_node_name(a), "#block"));
    g_assert(bdrv_find_node(bdrv_get_node_name(a)) == a);
    b = bdrv_new_open_driver(&bdrv_null_co, "n0", 0, &error_abort);
    g_assert(!bdrv_new_open_driver(&bdrv_null_co, "n0", 0, &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "Duplicate nodes with node-name='n0'");
    error_free(err);
    err = NULL;
    g_assert(!bdrv_new_open_driver(&bdrv_null_co, "0bad", 0, &err));
    g_assert_cmpstr(error_get_pretty(err), ==, "Invalid node-name: '0bad'");
    error_free(err);
    bdrv_unref(a);
    bdrv_unref(b);
    g_assert(!bdrv_find_node("n0"));
    g_assert(!bdrv_next_node(NULL));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    trace_init_from_env();
    qemu_init_main_loop(&error_abort);
    bdrv_init();

    g_test_add_func("/block-io/rmw/edges", test_rmw_edges);
    g_test_add_func("/block-io/rmw/eof-block", test_read_eof_block);
    g_test_add_func("/block-io/split/max-transfer", test_split);
    g_test_add_func("/block-io/bounce/misaligned-memory", test_bounce);
    g_test_add_func("/block-io/serialise/two-in-one-block",
                    test_serialise_two);
    g_test_add_func("/block-io/serialise/random", test_serialise_random);
    g_test_add_func("/block-io/zero/paths", test_zero_paths);
    g_test_add_func("/block-io/zero/detect-zeroes", test_detect_zeroes);
    g_test_add_func("/block-io/discard", test_discard);
    g_test_add_func("/block-io/bounds", test_bounds);
    g_test_add_func("/block-io/flush-and-errors", test_flush_and_errors);
    g_test_add_func("/block-io/write-hooks", test_write_hooks);
    g_test_add_func("/block-io/block-status/null", test_block_status);
    g_test_add_func("/block-io/drain/waits", test_drain_waits);
    g_test_add_func("/block-io/drain/in-coroutine",
                    test_drain_in_coroutine);
    g_test_add_func("/block-io/raw/window", test_raw_window);
    g_test_add_func("/block-io/node-names", test_node_names);
    return g_test_run();
}
