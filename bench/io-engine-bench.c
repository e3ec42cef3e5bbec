/*
 * io-engine-bench.c: io_uring against the thread pool, and against fio.
 *
 * Usage: io-engine-bench [FILE [SECONDS]]
 *
 * FILE (default: io-engine-bench.img in the temporary directory, made
 * and removed here) is opened with O_DIRECT; it is grown to 256 MiB and
 * filled with data once, so that reads hit allocated blocks.  Each
 * workload runs for SECONDS (default 3) on each engine, with DEPTH
 * coroutines each keeping one request in flight:
 *
 *   randread 4k   4 KiB reads at random 4 KiB-aligned offsets, depth 1,
 *                 16 and 64: the cost of a request and of its wake-up;
 *   read 1m       1 MiB reads in sequence, depth 1: bandwidth.
 *
 * The same workloads then run through fio --ioengine=io_uring --direct=1
 * on the same file, if fio is installed, as the mark to aim at: fio
 * submits from a tight loop with no event loop or coroutines.  "fio" is
 * its default (one request per io_uring_enter()), "fio batch" submits and
 * reaps up to the whole depth at once, the way this engine batches.
 * Speed is measured here and never asserted.
 */
#include "qemu/osdep.h"

#include <json-glib/json-glib.h>

#include "qapi/error.h"
#include "qemu/aio.h"
#include "qemu/coroutine.h"
#include "qemu/io-engine.h"
#include "qemu/iov.h"

#define BENCH_FILE_SIZE (256 * MiB)

typedef struct Workload {
    const char *name;
    bool random;
    size_t block;
    int depth;
} Workload;

static const Workload workloads[] = {
    { "randread 4k", true, 4 * KiB, 1 },
    { "randread 4k", true, 4 * KiB, 16 },
    { "randread 4k", true, 4 * KiB, 64 },
    { "read 1m", false, 1 * MiB, 1 },
};

typedef struct Run {
    const Workload *w;
    QemuIOEngine engine;
    AioContext *ctx;
    int fd;
    int64_t deadline_ns;
    uint64_t next_offset;       /* sequential workloads */
    uint64_t ops;
    int running;
    int errors;
} Run;

static void coroutine_fn bench_worker(void *opaque)
{
    Run *r = opaque;
    void *buf = qemu_memalign(4096, r->w->block);
    QEMUIOVector qiov;

    qemu_iovec_init_buf(&qiov, buf, r->w->block);
    while (qemu_clock_get_ns(QEMU_CLOCK_REALTIME) < r->deadline_ns) {
        uint64_t offset;
        int ret;

        if (r->w->random) {
            offset = g_random_int_range(0, BENCH_FILE_SIZE / r->w->block) *
                     r->w->block;
        } else {
            offset = r->next_offset;
            r->next_offset = (offset + r->w->block) % BENCH_FILE_SIZE;
        }
        ret = qemu_io_co_submit_engine(r->ctx, r->engine, r->fd, offset,
                                       &qiov, r->w->block, QEMU_AIO_READ, 0);
        if (ret < 0) {
            r->errors++;
            break;
        }
        r->ops++;
    }
    qemu_vfree(buf);
    r->running--;
}

static void bench_print(const char *engine, const Workload *w, double iops,
                        double mbps, const char *extra)
{
    printf("%-12s depth %-3d %-10s %10.0f IOPS %9.1f MB/s%s\n", w->name,
           w->depth, engine, iops, mbps, extra);
}

static void bench_engine(AioContext *ctx, int fd, const Workload *w,
                         QemuIOEngine engine, int seconds)
{
    Run r = {
        .w = w, .engine = engine, .ctx = ctx, .fd = fd,
    };
    QemuIOEngineStats before;
    QemuIOEngineStats after;
    g_autofree char *extra = NULL;
    int64_t start;
    double secs;
    int i;

    qemu_io_engine_get_stats(ctx, &before);
    start = qemu_clock_get_ns(QEMU_CLOCK_REALTIME);
    r.deadline_ns = start + seconds * NANOSECONDS_PER_SECOND;
    r.running = w->depth;
    for (i = 0; i < w->depth; i++) {
        aio_co_enter(ctx, qemu_coroutine_create(bench_worker, &r));
    }
    AIO_WAIT_WHILE(ctx, r.running > 0);
    secs = (qemu_clock_get_ns(QEMU_CLOCK_REALTIME) - start) / 1e9;
    qemu_io_engine_get_stats(ctx, &after);

    if (engine == QEMU_IO_ENGINE_IO_URING) {
        uint64_t enters = after.uring_enters - before.uring_enters;

        extra = g_strdup_printf("  (%.1f requests per io_uring_enter)",
                                enters ? (double)r.ops / enters : 0.0);
    }
    if (r.errors) {
        printf("%s: I/O error\n", w->name);
        exit(1);
    }
    bench_print(engine == QEMU_IO_ENGINE_IO_URING ? "io_uring" : "threads",
                w, r.ops / secs, r.ops * w->block / secs / 1e6,
                extra ? extra : "");
}

/*
 * Run fio for @w on @path; false if fio is missing or fails.  fio submits
 * one request per io_uring_enter() unless told to batch: with @batch it
 * submits and reaps up to the whole depth at once, as the engine does.
 */
static bool bench_fio(const char *path, const Workload *w, int seconds,
                      bool batch)
{
    g_autofree char *bs = g_strdup_printf("--bs=%zu", w->block);
    g_autofree char *depth = g_strdup_printf("--iodepth=%d", w->depth);
    g_autofree char *batch_submit =
        g_strdup_printf("--iodepth_batch_submit=%d", batch ? w->depth : 1);
    g_autofree char *batch_complete =
        g_strdup_printf("--iodepth_batch_complete_max=%d",
                        batch ? w->depth : 1);
    g_autofree char *runtime = g_strdup_printf("--runtime=%d", seconds);
    g_autofree char *filename = g_strdup_printf("--filename=%s", path);
    g_autofree char *size = g_strdup_printf("--size=%" PRId64,
                                            (int64_t)BENCH_FILE_SIZE);
    const char *argv[] = {
        "fio", "--name=bench", "--ioengine=io_uring", "--direct=1",
        "--time_based", "--output-format=json",
        w->random ? "--rw=randread" : "--rw=read",
        bs, depth, batch_submit, batch_complete, runtime, filename, size,
        NULL,
    };
    g_autofree char *out = NULL;
    g_autoptr(JsonParser) parser = json_parser_new();
    JsonObject *read;
    int status;

    if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH |
                      G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &out, NULL,
                      &status, NULL) ||
        !g_spawn_check_wait_status(status, NULL) ||
        !json_parser_load_from_data(parser, out, -1, NULL)) {
        return false;
    }
    read = json_object_get_object_member(
        json_array_get_object_element(
            json_object_get_array_member(
                json_node_get_object(json_parser_get_root(parser)), "jobs"),
            0),
        "read");
    bench_print(batch ? "fio batch" : "fio", w, json_object_get_double_member(read, "iops"),
                json_object_get_int_member(read, "bw_bytes") / 1e6, "");
    return true;
}

/* Grow @fd to the bench size and fill it, unless it is big enough. */
static void bench_fill(int fd)
{
    struct stat st;
    void *buf;
    int64_t off;

    if (fstat(fd, &st) == 0 && st.st_size >= BENCH_FILE_SIZE) {
        return;
    }
    buf = qemu_memalign(4096, 1 * MiB);
    memset(buf, 0x6b, 1 * MiB);
    for (off = 0; off < BENCH_FILE_SIZE; off += 1 * MiB) {
        if (pwrite(fd, buf, 1 * MiB, off) != 1 * MiB) {
            perror("pwrite");
            exit(1);
        }
    }
    fdatasync(fd);
    qemu_vfree(buf);
}

int main(int argc, char **argv)
{
    g_autofree char *path = NULL;
    bool made_file = argc < 2;
    int seconds = argc > 2 ? atoi(argv[2]) : 3;
    Error *err = NULL;
    AioContext *ctx;
    bool fio_ok = true;
    int fd;
    int i;

    path = made_file ?
           g_build_filename(g_get_tmp_dir(), "io-engine-bench.img", NULL) :
           g_strdup(argv[1]);
    qemu_init_main_loop(&error_abort);
    ctx = qemu_get_aio_context();

    fd = open(path, O_RDWR | O_CREAT | O_DIRECT | O_CLOEXEC, 0600);
    if (fd < 0) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        return 1;
    }
    bench_fill(fd);
    if (!qemu_io_engine_available(ctx, QEMU_IO_ENGINE_IO_URING, &err)) {
        error_report_err(err);
        return 1;
    }

    printf("%s, 256 MiB, O_DIRECT, %d s a run\n", path, seconds);
    for (i = 0; i < ARRAY_SIZE(workloads); i++) {
        bench_engine(ctx, fd, &workloads[i], QEMU_IO_ENGINE_IO_URING,
                     seconds);
        bench_engine(ctx, fd, &workloads[i], QEMU_IO_ENGINE_THREADS,
                     seconds);
        if (fio_ok) {
            fio_ok = bench_fio(path, &workloads[i], seconds, false);
            if (fio_ok && workloads[i].depth > 1) {
                fio_ok = bench_fio(path, &workloads[i], seconds, true);
            }
            if (!fio_ok) {
                printf("(fio not run: not installed, or it failed)\n");
            }
        }
    }
    close(fd);
    if (made_file) {
        unlink(path);
    }
    return 0;
}
