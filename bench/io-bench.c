/*
 * io-bench.c: I/O through the whole block layer, as qblockd does it.
 *
 * Usage: io-bench [--rw=read|write|randread|randwrite] [--bs=BYTES]
 *                 [--depth=N] [--runtime=SECONDS] [--aio=io_uring|threads]
 *                 [--size=BYTES] FILE
 *
 * FILE is opened as a "file" node with cache.direct=on and the given aio
 * mode, the way --blockdev driver=file,filename=FILE,cache.direct=on,
 * aio=io_uring opens it in qblockd, and reached through a BlockBackend:
 * every request takes the path a guest or an NBD client's request takes
 * (blk_co_preadv/pwritev -> block/io.c: bounds, in-flight counting,
 * tracking, alignment -> file-posix.c -> the I/O engine).  The file must
 * exist and should be fully allocated; io-bench.py makes one.
 *
 * DEPTH coroutines each keep one request in flight, back to back, for
 * SECONDS (default 3): random workloads at offsets aligned to BS from a
 * xorshift generator per coroutine, sequential ones from one cursor shared
 * by all of them (fio's order), wrapping at SIZE (default: the file's
 * length).  Written buffers hold non-zero data, so detect-zeroes, if it
 * were on, would not change the request.
 *
 * Output: one line for people, then one "io-bench:" line of key=value
 * pairs for io-bench.py: ios, seconds, iops, mbps (10^6 bytes a second),
 * and cpu_us_per_io, the process's user + system CPU time (getrusage,
 * thread-pool workers included) divided by the requests done.
 *
 * Speed is measured here and never asserted.
 */
#include "qemu/osdep.h"

#include <getopt.h>
#include <sys/resource.h>

#include "block/block.h"
#include "block/block-backend.h"
#include "qapi/error.h"
#include "qemu/aio.h"
#include "qemu/coroutine.h"
#include "qemu/iov.h"
#include "qemu/timer.h"

#define IO_BENCH_MAX_DEPTH 1024

typedef struct IoBench {
    BlockBackend *blk;
    bool write;
    bool random;
    int64_t block;              /* bytes per request */
    int64_t size;               /* offsets stay below this */
    int64_t deadline_ns;
    int64_t next_offset;        /* sequential workloads */
    uint64_t ios;
    int running;
    int error;                  /* first -errno seen, or 0 */
} IoBench;

typedef struct IoBenchWorker {
    IoBench *b;
    uint64_t rng;               /* xorshift64 state, never 0 */
    uint8_t *buf;               /* b->block bytes, filled before the clock */
} IoBenchWorker;

static uint64_t io_bench_rand(IoBenchWorker *w)
{
    uint64_t x = w->rng;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    w->rng = x;
    return x;
}

static int64_t io_bench_next_offset(IoBenchWorker *w)
{
    IoBench *b = w->b;
    int64_t offset;

    if (b->random) {
        uint64_t blocks = b->size / b->block;

        return (int64_t)(io_bench_rand(w) % blocks) * b->block;
    }
    offset = b->next_offset;
    b->next_offset += b->block;
    if (b->next_offset + b->block > b->size) {
        b->next_offset = 0;
    }
    return offset;
}

/*
 * Non-zero bytes, different in each worker; done before the clock and the
 * CPU time start, as fio fills its buffers before its job runs.
 */
static void io_bench_fill(IoBenchWorker *w)
{
    int64_t i;

    for (i = 0; i + 8 <= w->b->block; i += 8) {
        uint64_t v = io_bench_rand(w) | 1;

        memcpy(w->buf + i, &v, 8);
    }
    memset(w->buf + i, 0x5a, w->b->block - i);
}

static void coroutine_fn io_bench_worker(void *opaque)
{
    IoBenchWorker *w = opaque;
    IoBench *b = w->b;
    QEMUIOVector qiov;

    qemu_iovec_init_buf(&qiov, w->buf, b->block);
    while (!b->error &&
           qemu_clock_get_ns(QEMU_CLOCK_REALTIME) < b->deadline_ns) {
        int64_t offset = io_bench_next_offset(w);
        int ret;

        if (b->write) {
            ret = blk_co_pwritev(b->blk, offset, b->block, &qiov, 0);
        } else {
            ret = blk_co_preadv(b->blk, offset, b->block, &qiov, 0);
        }
        if (ret < 0) {
            b->error = ret;
            break;
        }
        b->ios++;
    }
    b->running--;
}

static double io_bench_cpu_s(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
           (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static BlockBackend *io_bench_open(const char *path, BlockdevAioOptions aio,
                                   Error **errp)
{
    BlockdevCacheOptions cache = { .has_direct = true, .direct = true };
    BlockdevOptions opts = {
        .driver = BLOCKDEV_DRIVER_FILE,
        .node_name = (char *)"io-bench",
        .cache = &cache,
        .u.file = { .filename = (char *)path, .has_aio = true, .aio = aio },
    };
    BlockDriverState *bs;
    BlockBackend *blk;

    bs = bdrv_open_blockdev(&opts, errp);
    if (!bs) {
        return NULL;
    }
    blk = blk_new_with_bs(bs, BLK_PERM_CONSISTENT_READ | BLK_PERM_WRITE,
                          BLK_PERM_ALL, errp);
    bdrv_unref(bs);
    return blk;
}

static void G_NORETURN io_bench_usage(void)
{
    fprintf(stderr,
            "usage: io-bench [--rw=read|write|randread|randwrite] "
            "[--bs=BYTES]\n"
            "                [--depth=N] [--runtime=SECONDS] "
            "[--aio=io_uring|threads]\n"
            "                [--size=BYTES] FILE\n");
    exit(2);
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "rw", required_argument, NULL, 'w' },
        { "bs", required_argument, NULL, 'b' },
        { "depth", required_argument, NULL, 'd' },
        { "runtime", required_argument, NULL, 't' },
        { "aio", required_argument, NULL, 'a' },
        { "size", required_argument, NULL, 's' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *rw = "randread";
    const char *aio_name = "io_uring";
    BlockdevAioOptions aio = BLOCKDEV_AIO_OPTIONS_IO_URING;
    IoBench b = { .block = 4096 };
    IoBenchWorker *workers;
    double runtime_s = 3;
    double secs, cpu_s;
    int64_t start;
    int depth = 1;
    Error *err = NULL;
    int c, i;

    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'w':
            rw = optarg;
            break;
        case 'b':
            b.block = g_ascii_strtoll(optarg, NULL, 0);
            break;
        case 'd':
            depth = atoi(optarg);
            break;
        case 't':
            runtime_s = g_ascii_strtod(optarg, NULL);
            break;
        case 'a':
            aio_name = optarg;
            break;
        case 's':
            b.size = g_ascii_strtoll(optarg, NULL, 0);
            break;
        default:
            io_bench_usage();
        }
    }
    if (optind != argc - 1 || depth < 1 || depth > IO_BENCH_MAX_DEPTH ||
        b.block <= 0 || runtime_s <= 0) {
        io_bench_usage();
    }
    if (!strcmp(rw, "read") || !strcmp(rw, "write")) {
        b.random = false;
    } else if (!strcmp(rw, "randread") || !strcmp(rw, "randwrite")) {
        b.random = true;
    } else {
        io_bench_usage();
    }
    b.write = strstr(rw, "write") != NULL;
    if (!strcmp(aio_name, "threads")) {
        aio = BLOCKDEV_AIO_OPTIONS_THREADS;
    } else if (strcmp(aio_name, "io_uring")) {
        io_bench_usage();
    }

    qemu_init_main_loop(&error_fatal);
    bdrv_init();
    b.blk = io_bench_open(argv[optind], aio, &err);
    if (!b.blk) {
        error_report_err(err);
        return 1;
    }
    if (!b.size) {
        b.size = blk_getlength(b.blk);
    }
    if (b.size < b.block) {
        fprintf(stderr, "io-bench: %s is smaller than one block\n",
                argv[optind]);
        return 1;
    }

    workers = g_new0(IoBenchWorker, depth);
    for (i = 0; i < depth; i++) {
        workers[i].b = &b;
        workers[i].rng = 0x9e3779b97f4a7c15ULL * (i + 1);
        workers[i].buf = qemu_blockalign(blk_bs(b.blk), b.block);
        io_bench_fill(&workers[i]);
    }
    cpu_s = io_bench_cpu_s();
    start = qemu_clock_get_ns(QEMU_CLOCK_REALTIME);
    b.deadline_ns = start + (int64_t)(runtime_s * NANOSECONDS_PER_SECOND);
    b.running = depth;
    for (i = 0; i < depth; i++) {
        qemu_coroutine_enter(qemu_coroutine_create(io_bench_worker,
                                                   &workers[i]));
    }
    /* qblockd's main loop: no AIO_WAIT_WHILE() waiter to be kicked */
    while (b.running > 0) {
        aio_poll(qemu_get_aio_context(), true);
    }
    secs = (qemu_clock_get_ns(QEMU_CLOCK_REALTIME) - start) / 1e9;
    cpu_s = io_bench_cpu_s() - cpu_s;

    if (b.error) {
        fprintf(stderr, "io-bench: I/O error: %s\n", strerror(-b.error));
        return 1;
    }
    printf("%-9s bs %-8" PRId64 " depth %-3d aio %-8s %10.0f IOPS "
           "%9.1f MB/s %6.2f us CPU/IO\n",
           rw, b.block, depth, aio_name, b.ios / secs,
           b.ios * b.block / secs / 1e6, cpu_s * 1e6 / MAX(b.ios, 1));
    printf("io-bench: rw=%s bs=%" PRId64 " depth=%d aio=%s ios=%" PRIu64
           " seconds=%.3f iops=%.1f mbps=%.2f cpu_us_per_io=%.3f\n",
           rw, b.block, depth, aio_name, b.ios, secs, b.ios / secs,
           b.ios * b.block / secs / 1e6, cpu_s * 1e6 / MAX(b.ios, 1));

    blk_drain(b.blk);
    blk_unref(b.blk);
    for (i = 0; i < depth; i++) {
        qemu_vfree(workers[i].buf);
    }
    g_free(workers);
    return 0;
}
