/*
 * io-engine.h: data I/O on a file descriptor from a coroutine, through
 * io_uring when the kernel allows it and the thread pool otherwise.
 *
 * This is what the 'file' block driver calls for preadv, pwritev, flush,
 * write-zeroes and discard.  One call is one request: the coroutine yields
 * while the request is in flight and gets 0 or -errno back.  The engine
 * hides the things a driver should not care about: short transfers are
 * continued until the whole request is done, EINTR and EAGAIN are retried,
 * and a read that reaches end of file fills the rest of the vector with
 * zeroes and succeeds, as QEMU's file-posix does.
 *
 * Engines: each AioContext gets its own io_uring ring, made on the first
 * request (or qemu_io_engine_available()) and freed with the context.  If
 * the ring cannot be made (no liburing at build time, a kernel without
 * io_uring, a seccomp filter, no fds left), or the kernel lacks the opcode
 * a request needs (fallocate before Linux 5.6), that request goes to the
 * context's thread pool instead, which runs preadv/pwritev/fdatasync/
 * fallocate on a worker.  The result is the same either way; only the cost
 * differs.  A caller that must know (the driver's aio=io_uring option)
 * asks qemu_io_engine_available() at open time.
 *
 * O_DIRECT: nothing here aligns anything.  The caller opens the fd, and
 * aligns buffers, offsets and lengths as the fd requires; the engines pass
 * them to the kernel as they are (a misaligned request gets -EINVAL).
 *
 * Threads: all of this is for the home thread of the context given, from
 * a coroutine running there, unless a comment says otherwise.
 */
#ifndef QBLOCK_QEMU_IO_ENGINE_H
#define QBLOCK_QEMU_IO_ENGINE_H

/* What a request does; the @type of qemu_io_co_submit(). */
typedef enum {
    /* preadv of @bytes at @offset into @qiov; zeroes past end of file */
    QEMU_AIO_READ,
    /* pwritev of @bytes at @offset from @qiov */
    QEMU_AIO_WRITE,
    /* fdatasync: writes completed before the call reach the disk */
    QEMU_AIO_FLUSH,
    /*
     * Make [@offset, @offset + @bytes) read as zeroes.  Without
     * QEMU_IO_MAY_UNMAP: fallocate(FALLOC_FL_ZERO_RANGE), which keeps the
     * blocks allocated and extends the file if the range passes its end.
     * With it: first FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE (blocks are
     * freed; the size does not change), then ZERO_RANGE if the file system
     * cannot punch holes.  -ENOTSUP if it can do neither: the caller
     * writes a buffer of zeroes instead, as QEMU's block layer does.
     */
    QEMU_AIO_WRITE_ZEROES,
    /*
     * Drop the blocks of [@offset, @offset + @bytes) with
     * FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE: they read as zeroes after,
     * and the size does not change.  -ENOTSUP if the file system cannot.
     */
    QEMU_AIO_DISCARD,
} QemuIOType;

/* @flags of qemu_io_co_submit(). */
#define QEMU_IO_MAY_UNMAP   (1 << 0)    /* QEMU_AIO_WRITE_ZEROES only */

/*
 * Which engine serves a request.  AUTO is io_uring where this context has
 * a ring that supports the request, else the thread pool.  IO_URING asks
 * for io_uring: where the ring cannot serve the request it still falls
 * back to the pool (traced), as QEMU does when a node with aio=io_uring
 * moves to a context whose ring cannot be made; check availability with
 * qemu_io_engine_available() first to refuse it instead.  THREADS always
 * uses the pool.
 */
typedef enum {
    QEMU_IO_ENGINE_AUTO,
    QEMU_IO_ENGINE_IO_URING,
    QEMU_IO_ENGINE_THREADS,
} QemuIOEngine;

/*
 * True if @engine can serve reads, writes and flushes in @ctx.  For
 * QEMU_IO_ENGINE_IO_URING this makes @ctx's ring if it has none yet, and
 * on failure sets @errp to why ("Unable to use io_uring: ...").  AUTO and
 * THREADS are always available.  Home thread of @ctx, or any thread while
 * nothing polls @ctx (at open time, for a context of an I/O thread).
 */
bool qemu_io_engine_available(AioContext *ctx, QemuIOEngine engine,
                              Error **errp);

/*
 * Do one request on @fd and yield until it is complete; returns 0 or
 * -errno (never a byte count: a request either completes whole or fails).
 *
 * @ctx: the context of the calling coroutine, which must run in @ctx's
 *       home thread; its ring (or pool) serves the request.
 * @offset, @bytes: the byte range in the file.  FLUSH takes 0 and 0.
 * @qiov: the data of READ and WRITE, with @qiov->size == @bytes and at
 *       most IOV_MAX elements; NULL for the other types.  The caller owns
 *       it and must leave it alone until the call returns.
 * @type: a QemuIOType.
 * @flags: QEMU_IO_* flags that @type allows.
 *
 * Requests are not ordered among themselves: two in flight at once may
 * reach the file in either order, and FLUSH covers only writes that had
 * completed when it was submitted, exactly as with preadv/pwritev from
 * several threads.
 */
int coroutine_fn qemu_io_co_submit(AioContext *ctx, int fd, uint64_t offset,
                                   QEMUIOVector *qiov, uint64_t bytes,
                                   int type, int flags);

/* As qemu_io_co_submit(), with the engine chosen by the caller. */
int coroutine_fn qemu_io_co_submit_engine(AioContext *ctx,
                                          QemuIOEngine engine, int fd,
                                          uint64_t offset,
                                          QEMUIOVector *qiov, uint64_t bytes,
                                          int type, int flags);

/*
 * Requests submitted in @ctx whose coroutine has not yet resumed, on
 * either engine.  Any thread.  Drain waits with
 * AIO_WAIT_WHILE(ctx, qemu_io_engine_in_flight(ctx) > 0); the count
 * reaching 0 calls aio_wait_kick(), so a waiter in the main thread for
 * another context's requests wakes up too.
 */
unsigned int qemu_io_engine_in_flight(AioContext *ctx);

/*
 * Counters of @ctx since its first request, for tests and benchmarks
 * (they prove which engine ran and how well submissions batched).  All
 * zero for a context that never did I/O.  Home thread of @ctx.
 */
typedef struct QemuIOEngineStats {
    uint64_t uring_requests;    /* requests served by io_uring */
    uint64_t uring_sqes;        /* SQEs submitted, resubmissions included */
    uint64_t uring_enters;      /* io_uring_enter() calls made to submit */
    uint64_t uring_resubmits;   /* short transfer, EAGAIN/EINTR, mode */
    uint64_t thread_requests;   /* requests served by the thread pool */
} QemuIOEngineStats;

void qemu_io_engine_get_stats(AioContext *ctx, QemuIOEngineStats *stats);

/*
 * Private to util/: the seam between io-engine.c (per-context state,
 * engine choice, thread pool) and io_uring.c (the ring).
 */
typedef struct LuringState LuringState;

/*
 * Requests queued in one turn reach the kernel in io_uring_enter() calls
 * of this many, made as soon as that many are queued: the device starts
 * on the first while the rest are being made.  One call for a whole
 * depth's worth makes a virtual disk serve the requests in lock-step
 * (all in, all out, an idle device in between): 16 random writes of
 * 4 KiB in flight gave 15-20% fewer IOPS than fio, which submits one at a
 * time, and groups of 4 about as many, for 10% more CPU per I/O than one
 * call (docs/benchmarks.md, make bench-io).  -DLURING_SUBMIT_BATCH=N
 * in c_args builds another size, to measure.
 */
#ifndef LURING_SUBMIT_BATCH
#define LURING_SUBMIT_BATCH 4
#endif

/* A ring for @ctx, with its eventfd watched by @ctx; NULL and @errp. */
LuringState *luring_new(AioContext *ctx, Error **errp);

/* Free @s; nothing may be in flight.  See aio_set_fd_handler() on threads */
void luring_free(LuringState *s);

/* True if the ring can serve requests of @type. */
bool luring_supports(LuringState *s, int type);

/* qemu_io_co_submit() on the ring of @s. */
int coroutine_fn luring_co_submit(LuringState *s, int fd, uint64_t offset,
                                  QEMUIOVector *qiov, uint64_t bytes,
                                  int type, int flags);

/* Add the ring's counters to @stats. */
void luring_get_stats(LuringState *s, QemuIOEngineStats *stats);

/*
 * Free a context's engine state and its ring (AioContext finalize calls
 * this; nothing may be in flight).
 */
typedef struct IoEngineCtx IoEngineCtx;
void io_engine_ctx_free(IoEngineCtx *e);

#endif /* QBLOCK_QEMU_IO_ENGINE_H */
