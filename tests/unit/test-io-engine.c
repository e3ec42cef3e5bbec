/*
 * test-io-engine.c: file I/O from coroutines through io_uring and through
 * the thread pool.
 *
 * Every data test runs once per engine, on real files in a fresh
 * directory, and checks what it reads against a plain byte array that
 * holds what the file should contain.  The io_uring runs are skipped when
 * the kernel (or the build) has no io_uring; the counters of
 * qemu_io_engine_get_stats() prove that the engine asked for is the one
 * that ran.
 */
#include "qemu/osdep.h"

#include <dirent.h>
#include <sys/resource.h>

#include "qapi/error.h"
#include "qemu/aio.h"
#include "qemu/coroutine.h"
#include "qemu/io-engine.h"
#include "qemu/iov.h"
#include "qemu/trace-control.h"

static AioContext *ctx;
static char *tmpdir;

static void watchdog(void)
{
    alarm(60);
}

static const char *engine_name(QemuIOEngine engine)
{
    return engine == QEMU_IO_ENGINE_IO_URING ? "io_uring" : "threads";
}

/* False (and the test skipped) if @engine cannot run here. */
static bool engine_usable(QemuIOEngine engine)
{
    Error *err = NULL;

    if (!qemu_io_engine_available(ctx, engine, &err)) {
        g_test_skip(error_get_pretty(err));
        error_free(err);
        return false;
    }
    return true;
}

static int open_file(const char *name, int flags)
{
    g_autofree char *path = g_build_filename(tmpdir, name, NULL);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | flags,
                  0600);

    return fd;
}

static uint64_t file_size(int fd)
{
    struct stat st;

    g_assert_cmpint(fstat(fd, &st), ==, 0);
    return st.st_size;
}

/* Counters of the main context taken before a test, to compare after. */
static QemuIOEngineStats stats_before;

static void stats_start(void)
{
    qemu_io_engine_get_stats(ctx, &stats_before);
}

/* Check that requests ran on @engine since stats_start(), and only there. */
static void stats_check_engine(QemuIOEngine engine)
{
    QemuIOEngineStats now;

    qemu_io_engine_get_stats(ctx, &now);
    if (engine == QEMU_IO_ENGINE_IO_URING) {
        g_assert_cmpuint(now.uring_requests, >, stats_before.uring_requests);
        g_assert_cmpuint(now.thread_requests, ==,
                         stats_before.thread_requests);
    } else {
        g_assert_cmpuint(now.thread_requests, >,
                         stats_before.thread_requests);
        g_assert_cmpuint(now.uring_requests, ==, stats_before.uring_requests);
    }
}

/*
 * One request in a coroutine of its own
 */

typedef struct IoOp {
    QemuIOEngine engine;
    int fd;
    int type;
    int flags;
    uint64_t offset;
    uint64_t bytes;
    QEMUIOVector *qiov;
    int ret;
    bool done;
} IoOp;

static void coroutine_fn io_op_entry(void *opaque)
{
    IoOp *op = opaque;

    op->ret = qemu_io_co_submit_engine(ctx, op->engine, op->fd, op->offset,
                                       op->qiov, op->bytes, op->type,
                                       op->flags);
    op->done = true;
}

static int do_io(QemuIOEngine engine, int fd, int type, uint64_t offset,
                 QEMUIOVector *qiov, uint64_t bytes, int flags)
{
    IoOp op = {
        .engine = engine, .fd = fd, .type = type, .flags = flags,
        .offset = offset, .bytes = bytes, .qiov = qiov,
    };

    aio_co_enter(ctx, qemu_coroutine_create(io_op_entry, &op));
    AIO_WAIT_WHILE(ctx, !op.done);
    return op.ret;
}

/* Read or write the flat @buf, cut into a vector of 1 to 6 elements. */
static int do_rw_split(QemuIOEngine engine, int fd, int type,
                       uint64_t offset, void *buf, size_t len)
{
    QEMUIOVector qiov;
    size_t pos = 0;
    int pieces = g_test_rand_int_range(1, 7);
    int ret;
    int i;

    qemu_iovec_init(&qiov, pieces);
    for (i = 0; i < pieces - 1 && pos < len; i++) {
        /* Zero-length elements now and then: they must be harmless */
        size_t n = g_test_rand_int_range(0, len - pos + 1) / 2;

        qemu_iovec_add(&qiov, (uint8_t *)buf + pos, n);
        pos += n;
    }
    qemu_iovec_add(&qiov, (uint8_t *)buf + pos, len - pos);
    ret = do_io(engine, fd, type, offset, &qiov, len, 0);
    qemu_iovec_destroy(&qiov);
    return ret;
}

static void fill_random(uint8_t *buf, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++) {
        buf[i] = g_test_rand_int();
    }
}

/*
 * rw/patterns: writes and reads at many offsets and lengths, against an
 * oracle array.  Reads reach past end of file, where the oracle is zero.
 */

#define PAT_FILE_MAX    (1 * MiB)
#define PAT_LEN_MAX     (64 * KiB)
#define PAT_ROUNDS      300

static void pattern_range(uint64_t *offset, size_t *len, uint64_t limit)
{
    switch (g_test_rand_int_range(0, 3)) {
    case 0:
        /* block-shaped, as the block layer mostly sends */
        *offset = g_test_rand_int_range(0, limit / 4096) * 4096;
        *len = g_test_rand_int_range(1, PAT_LEN_MAX / 4096 + 1) * 4096;
        break;
    case 1:
        /* a few bytes anywhere */
        *offset = g_test_rand_int_range(0, limit);
        *len = g_test_rand_int_range(1, 17);
        break;
    default:
        *offset = g_test_rand_int_range(0, limit);
        *len = g_test_rand_int_range(1, PAT_LEN_MAX + 1);
        break;
    }
}

static void test_rw_patterns(gconstpointer data)
{
    QemuIOEngine engine = GPOINTER_TO_INT(data);
    g_autofree uint8_t *oracle = g_malloc0(4 * PAT_FILE_MAX);
    g_autofree uint8_t *wbuf = g_malloc(PAT_LEN_MAX);
    g_autofree uint8_t *rbuf = g_malloc(PAT_LEN_MAX);
    uint64_t size = 0;
    int fd;
    int i;

    if (!engine_usable(engine)) {
        return;
    }
    watchdog();
    stats_start();
    fd = open_file("patterns", 0);
    g_assert_cmpint(fd, >=, 0);

    for (i = 0; i < PAT_ROUNDS; i++) {
        uint64_t offset;
        size_t len;

        pattern_range(&offset, &len, PAT_FILE_MAX);
        fill_random(wbuf, len);
        g_assert_cmpint(do_rw_split(engine, fd, QEMU_AIO_WRITE, offset,
                                    wbuf, len), ==, 0);
        memcpy(oracle + offset, wbuf, len);
        size = MAX(size, offset + len);

        /* Anywhere up to a bit past the end of the file */
        pattern_range(&offset, &len, size + 8 * KiB);
        memset(rbuf, 0xa5, len);
        g_assert_cmpint(do_rw_split(engine, fd, QEMU_AIO_READ, offset,
                                    rbuf, len), ==, 0);
        g_assert_cmpmem(rbuf, len, oracle + offset, len);
    }

    /* Everything once more, after the last write */
    for (i = 0; i < size; i += PAT_LEN_MAX) {
        size_t len = MIN(PAT_LEN_MAX, size - i);

        g_assert_cmpint(do_rw_split(engine, fd, QEMU_AIO_READ, i,
                                    rbuf, len), ==, 0);
        g_assert_cmpmem(rbuf, len, oracle + i, len);
    }
    g_assert_cmpuint(file_size(fd), ==, size);
    stats_check_engine(engine);
    close(fd);
}

/*
 * concurrent: 64 coroutines each write their own region and read it back,
 * all at once; waiting for qemu_io_engine_in_flight() to reach 0 is
 * enough to see them all finished (it is what drain will do).
 */

#define N_CO        64
#define CO_REGION   (64 * KiB)

typedef struct CoRegion {
    QemuIOEngine engine;
    int fd;
    int index;
    int write_ret;
    int read_ret;
    bool data_ok;
    bool done;
} CoRegion;

static void coroutine_fn region_entry(void *opaque)
{
    CoRegion *r = opaque;
    /* Odd offsets and lengths, so that no region is block-shaped */
    uint64_t offset = r->index * CO_REGION + 17 * r->index;
    size_t len = CO_REGION - 3 * r->index;
    g_autofree uint8_t *wbuf = g_malloc(len);
    g_autofree uint8_t *rbuf = g_malloc0(len);
    QEMUIOVector wqiov;
    QEMUIOVector rqiov;

    memset(wbuf, r->index + 1, len);
    wbuf[0] = 0xee;
    wbuf[len - 1] = 0xdd;

    qemu_iovec_init(&wqiov, 3);
    qemu_iovec_add(&wqiov, wbuf, 100);
    qemu_iovec_add(&wqiov, wbuf + 100, len / 2);
    qemu_iovec_add(&wqiov, wbuf + 100 + len / 2, len - 100 - len / 2);
    r->write_ret = qemu_io_co_submit_engine(ctx, r->engine, r->fd, offset,
                                            &wqiov, len, QEMU_AIO_WRITE, 0);

    qemu_iovec_init(&rqiov, 2);
    qemu_iovec_add(&rqiov, rbuf, len / 3);
    qemu_iovec_add(&rqiov, rbuf + len / 3, len - len / 3);
    r->read_ret = qemu_io_co_submit_engine(ctx, r->engine, r->fd, offset,
                                           &rqiov, len, QEMU_AIO_READ, 0);
    r->data_ok = memcmp(wbuf, rbuf, len) == 0;

    qemu_iovec_destroy(&wqiov);
    qemu_iovec_destroy(&rqiov);
    r->done = true;
}

static void test_concurrent(gconstpointer data)
{
    QemuIOEngine engine = GPOINTER_TO_INT(data);
    CoRegion regions[N_CO] = { 0 };
    int fd;
    int i;

    if (!engine_usable(engine)) {
        return;
    }
    watchdog();
    stats_start();
    fd = open_file("concurrent", 0);
    g_assert_cmpint(fd, >=, 0);

    for (i = 0; i < N_CO; i++) {
        regions[i].engine = engine;
        regions[i].fd = fd;
        regions[i].index = i;
        aio_co_enter(ctx, qemu_coroutine_create(region_entry, &regions[i]));
    }
    /* Completions run only from the event loop: all 64 are in flight */
    g_assert_cmpuint(qemu_io_engine_in_flight(ctx), ==, N_CO);

    AIO_WAIT_WHILE(ctx, qemu_io_engine_in_flight(ctx) > 0);
    for (i = 0; i < N_CO; i++) {
        g_assert_true(regions[i].done);
        g_assert_cmpint(regions[i].write_ret, ==, 0);
        g_assert_cmpint(regions[i].read_ret, ==, 0);
        g_assert_true(regions[i].data_ok);
    }
    stats_check_engine(engine);
    close(fd);
}

/*
 * many: more requests at once than the ring has SQ and CQ entries; the
 * surplus waits its turn instead of failing or overflowing the CQ.
 */

#define N_MANY 600

typedef struct ManyRead {
    QemuIOEngine engine;
    int fd;
    int index;
    uint8_t buf[512];
    int ret;
    bool done;
} ManyRead;

static void coroutine_fn many_entry(void *opaque)
{
    ManyRead *m = opaque;
    QEMUIOVector qiov;

    qemu_iovec_init_buf(&qiov, m->buf, sizeof(m->buf));
    m->ret = qemu_io_co_submit_engine(ctx, m->engine, m->fd,
                                      m->index * sizeof(m->buf), &qiov,
                                      sizeof(m->buf), QEMU_AIO_READ, 0);
    m->done = true;
}

static void test_many(gconstpointer data)
{
    QemuIOEngine engine = GPOINTER_TO_INT(data);
    g_autofree ManyRead *reads = g_new0(ManyRead, N_MANY);
    g_autofree uint8_t *content = g_malloc(N_MANY * 512);
    int fd;
    int i;

    if (!engine_usable(engine)) {
        return;
    }
    watchdog();
    fd = open_file("many", 0);
    g_assert_cmpint(fd, >=, 0);
    fill_random(content, N_MANY * 512);
    g_assert_cmpint(pwrite(fd, content, N_MANY * 512, 0), ==, N_MANY * 512);

    stats_start();
    for (i = 0; i < N_MANY; i++) {
        reads[i].engine = engine;
        reads[i].fd = fd;
        reads[i].index = i;
        aio_co_enter(ctx, qemu_coroutine_create(many_entry, &reads[i]));
    }
    AIO_WAIT_WHILE(ctx, qemu_io_engine_in_flight(ctx) > 0);
    for (i = 0; i < N_MANY; i++) {
        g_assert_true(reads[i].done);
        g_assert_cmpint(reads[i].ret, ==, 0);
        g_assert_cmpmem(reads[i].buf, 512, content + i * 512, 512);
    }
    stats_check_engine(engine);
    close(fd);
}

/*
 * eof: a read that ends past end of file gets zeroes for that part; one
 * entirely past it gets only zeroes.
 */

static void test_read_eof(gconstpointer data)
{
    QemuIOEngine engine = GPOINTER_TO_INT(data);
    const size_t file_len = 10000;
    g_autofree uint8_t *content = g_malloc(file_len);
    g_autofree uint8_t *buf = g_malloc(64 * KiB);
    g_autofree uint8_t *zero = g_malloc0(64 * KiB);
    int fd;

    if (!engine_usable(engine)) {
        return;
    }
    watchdog();
    stats_start();
    fd = open_file("eof", 0);
    g_assert_cmpint(fd, >=, 0);
    fill_random(content, file_len);
    g_assert_cmpint(pwrite(fd, content, file_len, 0), ==, file_len);

    /* Straddling the end, in one element */
    memset(buf, 0xa5, 64 * KiB);
    g_assert_cmpint(do_rw_split(engine, fd, QEMU_AIO_READ, 0, buf, 64 * KiB),
                    ==, 0);
    g_assert_cmpmem(buf, file_len, content, file_len);
    g_assert_cmpmem(buf + file_len, 64 * KiB - file_len, zero,
                    64 * KiB - file_len);

    /* Starting one byte before the end */
    memset(buf, 0xa5, 4096);
    g_assert_cmpint(do_rw_split(engine, fd, QEMU_AIO_READ, file_len - 1,
                                buf, 4096), ==, 0);
    g_assert_cmpint(buf[0], ==, content[file_len - 1]);
    g_assert_cmpmem(buf + 1, 4095, zero, 4095);

    /* Wholly past the end, and far past it */
    memset(buf, 0xa5, 4096);
    g_assert_cmpint(do_rw_split(engine, fd, QEMU_AIO_READ, file_len,
                                buf, 4096), ==, 0);
    g_assert_cmpmem(buf, 4096, zero, 4096);
    memset(buf, 0xa5, 4096);
    g_assert_cmpint(do_rw_split(engine, fd, QEMU_AIO_READ, 1ULL << 40,
                                buf, 4096), ==, 0);
    g_assert_cmpmem(buf, 4096, zero, 4096);

    /* Reading never changes the size */
    g_assert_cmpuint(file_size(fd), ==, file_len);
    stats_check_engine(engine);
    close(fd);
}

/* flush: succeeds after writes, on a read-only fd too. */
static void test_flush(gconstpointer data)
{
    QemuIOEngine engine = GPOINTER_TO_INT(data);
    g_autofree char *path = NULL;
    uint8_t buf[4096];
    int fd;
    int ro;

    if (!engine_usable(engine)) {
        return;
    }
    watchdog();
    stats_start();
    fd = open_file("flush", 0);
    g_assert_cmpint(fd, >=, 0);
    memset(buf, 0x5a, sizeof(buf));
    g_assert_cmpint(do_rw_split(engine, fd, QEMU_AIO_WRITE, 0, buf,
                                sizeof(buf)), ==, 0);
    g_assert_cmpint(do_io(engine, fd, QEMU_AIO_FLUSH, 0, NULL, 0, 0), ==, 0);

    path = g_build_filename(tmpdir, "flush", NULL);
    ro = open(path, O_RDONLY | O_CLOEXEC);
    g_assert_cmpint(ro, >=, 0);
    g_assert_cmpint(do_io(engine, ro, QEMU_AIO_FLUSH, 0, NULL, 0, 0), ==, 0);
    stats_check_engine(engine);
    close(ro);
    close(fd);
}

/*
 * write-zeroes and discard: the range reads back as zeroes, its
 * neighbours keep their data, and the size stays (except for zeroes
 * written past the end without unmap, which extend the file).
 */

#define ZERO_FILE   (1 * MiB)

/* Fill a new file with 0xff; returns the fd. */
static int zero_file_setup(const char *name)
{
    g_autofree uint8_t *ff = g_malloc(ZERO_FILE);
    int fd = open_file(name, 0);

    g_assert_cmpint(fd, >=, 0);
    memset(ff, 0xff, ZERO_FILE);
    g_assert_cmpint(pwrite(fd, ff, ZERO_FILE, 0), ==, ZERO_FILE);
    return fd;
}

/* Check [@start, @end) reads as zeroes and the rest as 0xff. */
static void zero_file_check(QemuIOEngine engine, int fd, uint64_t start,
                            uint64_t end)
{
    g_autofree uint8_t *buf = g_malloc(ZERO_FILE);
    uint64_t i;

    g_assert_cmpint(do_rw_split(engine, fd, QEMU_AIO_READ, 0, buf,
                                ZERO_FILE), ==, 0);
    for (i = 0; i < ZERO_FILE; i++) {
        if (buf[i] != (i >= start && i < end ? 0 : 0xff)) {
            g_error("byte 0x%" PRIx64 " is 0x%x", i, buf[i]);
        }
    }
}

/* Skip if -ENOTSUP says the file system cannot; true if it went on. */
static bool zero_ret_ok(int ret, const char *what)
{
    if (ret == -ENOTSUP) {
        g_autofree char *msg =
            g_strdup_printf("the file system refuses %s", what);

        g_test_skip(msg);
        return false;
    }
    g_assert_cmpint(ret, ==, 0);
    return true;
}

static void test_write_zeroes(gconstpointer data)
{
    QemuIOEngine engine = GPOINTER_TO_INT(data);
    int fd;
    int ret;

    if (!engine_usable(engine)) {
        return;
    }
    watchdog();
    stats_start();
    fd = zero_file_setup("zeroes");

    /* Unaligned on purpose: partial blocks must be zeroed too */
    ret = do_io(engine, fd, QEMU_AIO_WRITE_ZEROES, 65536 + 100, NULL,
                128 * KiB, 0);
    if (zero_ret_ok(ret, "FALLOC_FL_ZERO_RANGE")) {
        zero_file_check(engine, fd, 65536 + 100, 65536 + 100 + 128 * KiB);
        g_assert_cmpuint(file_size(fd), ==, ZERO_FILE);

        /* Past the end: the file grows to cover the zeroes */
        ret = do_io(engine, fd, QEMU_AIO_WRITE_ZEROES, ZERO_FILE, NULL,
                    8192, 0);
        g_assert_cmpint(ret, ==, 0);
        g_assert_cmpuint(file_size(fd), ==, ZERO_FILE + 8192);
    }
    stats_check_engine(engine);
    close(fd);
}

static void test_write_zeroes_unmap(gconstpointer data)
{
    QemuIOEngine engine = GPOINTER_TO_INT(data);
    int fd;
    int ret;

    if (!engine_usable(engine)) {
        return;
    }
    watchdog();
    stats_start();
    fd = zero_file_setup("zeroes-unmap");
    ret = do_io(engine, fd, QEMU_AIO_WRITE_ZEROES, 4096 + 7, NULL,
                256 * KiB, QEMU_IO_MAY_UNMAP);
    if (zero_ret_ok(ret, "FALLOC_FL_PUNCH_HOLE and ZERO_RANGE")) {
        zero_file_check(engine, fd, 4096 + 7, 4096 + 7 + 256 * KiB);
        g_assert_cmpuint(file_size(fd), ==, ZERO_FILE);
    }
    stats_check_engine(engine);
    close(fd);
}

static void test_discard(gconstpointer data)
{
    QemuIOEngine engine = GPOINTER_TO_INT(data);
    struct stat before;
    struct stat after;
    int fd;
    int ret;

    if (!engine_usable(engine)) {
        return;
    }
    watchdog();
    stats_start();
    fd = zero_file_setup("discard");
    g_assert_cmpint(fsync(fd), ==, 0);
    g_assert_cmpint(fstat(fd, &before), ==, 0);
    ret = do_io(engine, fd, QEMU_AIO_DISCARD, 512 * KiB, NULL, 256 * KiB, 0);
    if (zero_ret_ok(ret, "FALLOC_FL_PUNCH_HOLE")) {
        zero_file_check(engine, fd, 512 * KiB, 768 * KiB);
        g_assert_cmpint(fstat(fd, &after), ==, 0);
        g_assert_cmpuint(after.st_size, ==, ZERO_FILE);
        /* The blocks are gone, not merely zeroed */
        g_assert_cmpint(after.st_blocks, <, before.st_blocks);
    }
    stats_check_engine(engine);
    close(fd);
}

/*
 * O_DIRECT: aligned buffers and offsets pass through to the kernel; a
 * misaligned offset is the kernel's EINVAL, not a crash or a silent copy.
 */

#define DIRECT_LEN  (1 * MiB)

static void test_o_direct(gconstpointer data)
{
    QemuIOEngine engine = GPOINTER_TO_INT(data);
    uint8_t *wbuf;
    uint8_t *rbuf;
    QEMUIOVector qiov;
    int fd;
    int i;

    if (!engine_usable(engine)) {
        return;
    }
    fd = open_file("direct", O_DIRECT);
    if (fd < 0) {
        g_test_skip("the temporary directory does not support O_DIRECT");
        return;
    }
    watchdog();
    stats_start();
    wbuf = qemu_memalign(4096, DIRECT_LEN);
    rbuf = qemu_memalign(4096, DIRECT_LEN);
    fill_random(wbuf, DIRECT_LEN);

    /* 64 KiB chunks, each as two aligned elements */
    for (i = 0; i < DIRECT_LEN; i += 64 * KiB) {
        qemu_iovec_init(&qiov, 2);
        qemu_iovec_add(&qiov, wbuf + i, 4096);
        qemu_iovec_add(&qiov, wbuf + i + 4096, 60 * KiB);
        g_assert_cmpint(do_io(engine, fd, QEMU_AIO_WRITE, i, &qiov,
                              64 * KiB, 0), ==, 0);
        qemu_iovec_destroy(&qiov);
    }
    qemu_iovec_init(&qiov, 3);
    qemu_iovec_add(&qiov, rbuf, 8192);
    qemu_iovec_add(&qiov, rbuf + 8192, DIRECT_LEN / 2 - 8192);
    qemu_iovec_add(&qiov, rbuf + DIRECT_LEN / 2, DIRECT_LEN / 2);
    g_assert_cmpint(do_io(engine, fd, QEMU_AIO_READ, 0, &qiov, DIRECT_LEN, 0),
                    ==, 0);
    qemu_iovec_destroy(&qiov);
    g_assert_cmpmem(rbuf, DIRECT_LEN, wbuf, DIRECT_LEN);

    /* Past the end with O_DIRECT too */
    memset(rbuf, 0xa5, 8192);
    qemu_iovec_init_buf(&qiov, rbuf, 8192);
    g_assert_cmpint(do_io(engine, fd, QEMU_AIO_READ, DIRECT_LEN - 4096,
                          &qiov, 8192, 0), ==, 0);
    g_assert_cmpmem(rbuf, 4096, wbuf + DIRECT_LEN - 4096, 4096);
    g_assert_true(qemu_iovec_is_zero(&qiov, 4096, 4096));

    /* Misaligned: the kernel says no, and so do we */
    qemu_iovec_init_buf(&qiov, rbuf, 4096);
    g_assert_cmpint(do_io(engine, fd, QEMU_AIO_READ, 1, &qiov, 4096, 0),
                    ==, -EINVAL);

    stats_check_engine(engine);
    qemu_vfree(wbuf);
    qemu_vfree(rbuf);
    close(fd);
}

/* bad-fd: a bad descriptor comes back as -EBADF, for every kind of I/O. */
static void test_bad_fd(gconstpointer data)
{
    QemuIOEngine engine = GPOINTER_TO_INT(data);
    g_autofree char *path = NULL;
    uint8_t buf[512] = { 0 };
    QEMUIOVector qiov;
    int ro;

    if (!engine_usable(engine)) {
        return;
    }
    watchdog();
    stats_start();
    qemu_iovec_init_buf(&qiov, buf, sizeof(buf));
    g_assert_cmpint(do_io(engine, -1, QEMU_AIO_READ, 0, &qiov, sizeof(buf),
                          0), ==, -EBADF);
    g_assert_cmpint(do_io(engine, -1, QEMU_AIO_WRITE, 0, &qiov, sizeof(buf),
                          0), ==, -EBADF);
    g_assert_cmpint(do_io(engine, -1, QEMU_AIO_FLUSH, 0, NULL, 0, 0), ==,
                    -EBADF);
    g_assert_cmpint(do_io(engine, -1, QEMU_AIO_DISCARD, 0, NULL, 4096, 0),
                    ==, -EBADF);

    /* Writing through a read-only descriptor is EBADF as well */
    ro = open_file("bad-fd", 0);
    g_assert_cmpint(ro, >=, 0);
    close(ro);
    path = g_build_filename(tmpdir, "bad-fd", NULL);
    ro = open(path, O_RDONLY | O_CLOEXEC);
    g_assert_cmpint(ro, >=, 0);
    g_assert_cmpint(do_io(engine, ro, QEMU_AIO_WRITE, 0, &qiov, sizeof(buf),
                          0), ==, -EBADF);
    stats_check_engine(engine);
    close(ro);
}

/*
 * io_uring/batching: requests made in one turn of the loop reach the
 * kernel LURING_SUBMIT_BATCH to an io_uring_enter(), each group as soon as
 * it is queued, and a smaller remainder once the turn ends.
 */

typedef struct BatchRead {
    int fd;
    int index;
    uint8_t buf[4096];
    int ret;
} BatchRead;

static void coroutine_fn batch_entry(void *opaque)
{
    BatchRead *b = opaque;
    QEMUIOVector qiov;

    qemu_iovec_init_buf(&qiov, b->buf, sizeof(b->buf));
    b->ret = qemu_io_co_submit(ctx, b->fd, b->index * 4096, &qiov, 4096,
                               QEMU_AIO_READ, 0);
}

/* @n reads of 4 KiB made in one turn, of a file that holds @content. */
static void batch_run(int fd, const uint8_t *content, int n)
{
    g_autofree BatchRead *reads = g_new0(BatchRead, n);
    int groups = n / LURING_SUBMIT_BATCH;
    int rest = n % LURING_SUBMIT_BATCH;
    QemuIOEngineStats before;
    QemuIOEngineStats queued;
    QemuIOEngineStats after;
    int i;

    qemu_io_engine_get_stats(ctx, &before);
    for (i = 0; i < n; i++) {
        reads[i].fd = fd;
        reads[i].index = i;
        reads[i].ret = 1;
        aio_co_enter(ctx, qemu_coroutine_create(batch_entry, &reads[i]));
    }
    /* The full groups went in at once, the remainder waits for the loop */
    qemu_io_engine_get_stats(ctx, &queued);
    g_assert_cmpuint(queued.uring_requests - before.uring_requests, ==, n);
    g_assert_cmpuint(queued.uring_enters - before.uring_enters, ==, groups);
    g_assert_cmpuint(queued.uring_sqes - before.uring_sqes, ==,
                     groups * LURING_SUBMIT_BATCH);

    AIO_WAIT_WHILE(ctx, qemu_io_engine_in_flight(ctx) > 0);
    qemu_io_engine_get_stats(ctx, &after);
    for (i = 0; i < n; i++) {
        g_assert_cmpint(reads[i].ret, ==, 0);
        g_assert_cmpmem(reads[i].buf, 4096, content + i * 4096, 4096);
    }
    g_assert_cmpuint(after.uring_sqes - before.uring_sqes, >=, n);
    /* One enter per group and the remainder, one per resubmission at most */
    g_assert_cmpuint(after.uring_enters - before.uring_enters, <=,
                     groups + (rest > 0) +
                     after.uring_resubmits - before.uring_resubmits);
    if (g_test_verbose()) {
        g_test_message("%d requests, %" PRIu64 " io_uring_enter()", n,
                       after.uring_enters - before.uring_enters);
    }
}

static void test_batching(void)
{
    g_autofree uint8_t *content = g_malloc(N_CO * 4096);
    int fd;

    if (!engine_usable(QEMU_IO_ENGINE_IO_URING)) {
        return;
    }
    watchdog();
    fd = open_file("batching", 0);
    g_assert_cmpint(fd, >=, 0);
    fill_random(content, N_CO * 4096);
    g_assert_cmpint(pwrite(fd, content, N_CO * 4096, 0), ==, N_CO * 4096);

    batch_run(fd, content, N_CO);
    batch_run(fd, content, LURING_SUBMIT_BATCH + 2);
    batch_run(fd, content, 1);
    close(fd);
}

/*
 * fallback: with no fd left for a ring, AUTO quietly uses the thread pool
 * and io_uring reports why it is unavailable.  In a subprocess, since the
 * ring of a context is made once.
 */

static void fallback_child(void)
{
    g_autofree uint8_t *wbuf = g_malloc(64 * KiB);
    g_autofree uint8_t *rbuf = g_malloc(64 * KiB);
    struct rlimit old_limit;
    struct rlimit limit;
    QemuIOEngineStats stats;
    Error *err = NULL;
    int fd = open_file("fallback", 0);
    int next_fd;

    g_assert_cmpint(fd, >=, 0);
    /* Allow no fd beyond the ones open now */
    next_fd = dup(0);
    g_assert_cmpint(next_fd, >=, 0);
    close(next_fd);
    g_assert_cmpint(getrlimit(RLIMIT_NOFILE, &old_limit), ==, 0);
    limit = old_limit;
    limit.rlim_cur = next_fd;
    g_assert_cmpint(setrlimit(RLIMIT_NOFILE, &limit), ==, 0);

    g_assert_false(qemu_io_engine_available(ctx, QEMU_IO_ENGINE_IO_URING,
                                            &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "Unable to use io_uring"));
    error_free(err);

    fill_random(wbuf, 64 * KiB);
    g_assert_cmpint(do_rw_split(QEMU_IO_ENGINE_AUTO, fd, QEMU_AIO_WRITE, 4096,
                                wbuf, 64 * KiB), ==, 0);
    g_assert_cmpint(do_rw_split(QEMU_IO_ENGINE_IO_URING, fd, QEMU_AIO_READ,
                                4096, rbuf, 64 * KiB), ==, 0);
    g_assert_cmpmem(rbuf, 64 * KiB, wbuf, 64 * KiB);

    qemu_io_engine_get_stats(ctx, &stats);
    g_assert_cmpuint(stats.uring_requests, ==, 0);
    g_assert_cmpuint(stats.thread_requests, ==, 2);

    g_assert_cmpint(setrlimit(RLIMIT_NOFILE, &old_limit), ==, 0);
    close(fd);
}

static void test_fallback(void)
{
    if (g_test_subprocess()) {
        watchdog();
        fallback_child();
        return;
    }
    g_test_trap_subprocess(NULL, 60 * G_USEC_PER_SEC, 0);
    g_test_trap_assert_passed();
}

/*
 * context-free: a context of another thread gets its own ring, and
 * freeing the context frees the ring and its eventfd.
 */

typedef struct ThreadIo {
    AioContext *ctx;
    int fd;
    int ret;
    bool done;
    QemuIOEngineStats stats;
} ThreadIo;

static void coroutine_fn thread_io_entry(void *opaque)
{
    ThreadIo *t = opaque;
    uint8_t buf[4096];
    QEMUIOVector qiov;

    memset(buf, 0x3c, sizeof(buf));
    qemu_iovec_init_buf(&qiov, buf, sizeof(buf));
    t->ret = qemu_io_co_submit(t->ctx, t->fd, 0, &qiov, sizeof(buf),
                               QEMU_AIO_WRITE, 0);
    if (!t->ret) {
        t->ret = qemu_io_co_submit(t->ctx, t->fd, 0, NULL, 0,
                                   QEMU_AIO_FLUSH, 0);
    }
    t->done = true;
}

static gpointer thread_io_main(gpointer opaque)
{
    ThreadIo *t = opaque;

    t->ctx = aio_context_new(&error_abort);
    qemu_set_current_aio_context(t->ctx);
    aio_co_enter(t->ctx, qemu_coroutine_create(thread_io_entry, t));
    AIO_WAIT_WHILE(t->ctx, !t->done);
    qemu_io_engine_get_stats(t->ctx, &t->stats);
    aio_context_unref(t->ctx);
    return NULL;
}

static int count_fds(void)
{
    g_autoptr(GDir) dir = g_dir_open("/proc/self/fd", 0, NULL);
    int n = 0;

    g_assert_nonnull(dir);
    while (g_dir_read_name(dir)) {
        n++;
    }
    return n;
}

static void test_context_free(void)
{
    ThreadIo t = { 0 };
    GThread *thread;
    bool have_uring;
    int fds_before;
    uint8_t buf[4096];

    watchdog();
    t.fd = open_file("context-free", 0);
    g_assert_cmpint(t.fd, >=, 0);
    /* Before counting: this makes the main context's ring, if it can */
    have_uring = qemu_io_engine_available(ctx, QEMU_IO_ENGINE_IO_URING, NULL);
    fds_before = count_fds();

    thread = g_thread_new("io-engine-test", thread_io_main, &t);
    g_thread_join(thread);

    g_assert_true(t.done);
    g_assert_cmpint(t.ret, ==, 0);
    if (have_uring) {
        /* The thread's context made a ring of its own */
        g_assert_cmpuint(t.stats.uring_requests, ==, 2);
    } else {
        g_assert_cmpuint(t.stats.thread_requests, ==, 2);
    }
    /* The ring, its eventfd and the context's own fds are all closed */
    g_assert_cmpint(count_fds(), ==, fds_before);

    g_assert_cmpint(pread(t.fd, buf, sizeof(buf), 0), ==, sizeof(buf));
    g_assert_cmpint(buf[0], ==, 0x3c);
    close(t.fd);
}

static void remove_tmpdir(void)
{
    g_autoptr(GDir) dir = g_dir_open(tmpdir, 0, NULL);
    const char *name;

    while (dir && (name = g_dir_read_name(dir))) {
        g_autofree char *path = g_build_filename(tmpdir, name, NULL);

        unlink(path);
    }
    rmdir(tmpdir);
}

static void add_engine_test(const char *name, GTestDataFunc fn)
{
    static const QemuIOEngine engines[] = {
        QEMU_IO_ENGINE_IO_URING, QEMU_IO_ENGINE_THREADS,
    };
    int i;

    for (i = 0; i < ARRAY_SIZE(engines); i++) {
        g_autofree char *path = g_strdup_printf("/io-engine/%s/%s",
                                                engine_name(engines[i]),
                                                name);

        g_test_add_data_func(path, GINT_TO_POINTER(engines[i]), fn);
    }
}

int main(int argc, char **argv)
{
    int ret;

    g_test_init(&argc, &argv, NULL);
    trace_init_from_env();
    qemu_init_main_loop(&error_abort);
    ctx = qemu_get_aio_context();
    tmpdir = g_dir_make_tmp("test-io-engine-XXXXXX", NULL);
    g_assert_nonnull(tmpdir);

    add_engine_test("rw/patterns", test_rw_patterns);
    add_engine_test("rw/concurrent", test_concurrent);
    add_engine_test("rw/many", test_many);
    add_engine_test("read/eof", test_read_eof);
    add_engine_test("flush", test_flush);
    add_engine_test("write-zeroes", test_write_zeroes);
    add_engine_test("write-zeroes/unmap", test_write_zeroes_unmap);
    add_engine_test("discard", test_discard);
    add_engine_test("o-direct", test_o_direct);
    add_engine_test("bad-fd", test_bad_fd);
    g_test_add_func("/io-engine/io_uring/batching", test_batching);
    g_test_add_func("/io-engine/fallback", test_fallback);
    g_test_add_func("/io-engine/context-free", test_context_free);

    ret = g_test_run();
    remove_tmpdir();
    g_free(tmpdir);
    return ret;
}
