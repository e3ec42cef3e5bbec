/*
 * thread-pool.h: running blocking functions on worker threads.
 *
 * Code on an AioContext must not block.  A call that might (fsync, a
 * preadv on a file without io_uring, getaddrinfo) is handed to the
 * context's thread pool: a worker thread runs it, and the result comes
 * back to the context as a callback or by re-entering the coroutine that
 * submitted it.
 *
 * Threads: each AioContext has its own pool, made on first use.  Submit
 * from the context's home thread; completions run there too, in batches,
 * from a bottom half.  The work function runs on a worker and must not
 * touch anything of the context (no BHs of its own, no coroutines).
 *
 * Ownership: the pool never owns @arg or @opaque; they must stay valid
 * until the completion has run (for thread_pool_submit(), until the work
 * function has returned).
 */
#ifndef QBLOCK_QEMU_THREAD_POOL_H
#define QBLOCK_QEMU_THREAD_POOL_H

/* Work run on a worker thread; its return value is handed back as @ret. */
typedef int ThreadPoolFunc(void *opaque);

/*
 * Completion callback, as the block layer's: @ret is the work function's
 * return value.  (A repeated identical typedef is valid C11, so block
 * headers may declare it too.)
 */
typedef void BlockCompletionFunc(void *opaque, int ret);

/* Defaults of a new pool. */
#define THREAD_POOL_MAX_THREADS_DEFAULT 64
#define THREAD_POOL_IDLE_TIMEOUT_NS     (10 * NANOSECONDS_PER_SECOND)

/*
 * A pool whose completions run in @ctx.  Workers are started on demand, at
 * most max_threads at once, and leave after idling for the idle timeout,
 * down to min_threads.  Home thread of @ctx.
 */
ThreadPool *thread_pool_new(AioContext *ctx);

/*
 * Stop the workers and free @pool.  Every request with a completion must
 * have completed; fire-and-forget requests still queued are run first.
 * Waits for the workers to exit.  Home thread of the pool's context.
 */
void thread_pool_free(ThreadPool *pool);

/* @ctx's pool, made on first call.  Home thread of @ctx. */
ThreadPool *aio_get_thread_pool(AioContext *ctx);

/*
 * Run @func(@arg) on a worker of the current thread's context's pool, then
 * @cb(@opaque, ret) in this thread.  The request cannot be cancelled.
 */
void thread_pool_submit_aio(ThreadPoolFunc *func, void *arg,
                            BlockCompletionFunc *cb, void *opaque);

/* As thread_pool_submit_aio(), on @pool (whose context is the caller's). */
void thread_pool_submit_aio_pool(ThreadPool *pool, ThreadPoolFunc *func,
                                 void *arg, BlockCompletionFunc *cb,
                                 void *opaque);

/*
 * Run @func(@arg) on a worker and yield until it returns; returns its
 * value.  From a coroutine of the current thread's context.
 */
int coroutine_fn thread_pool_submit_co(ThreadPoolFunc *func, void *arg);

/* Run @func(@arg) on a worker; nobody is told when it is done. */
void thread_pool_submit(ThreadPoolFunc *func, void *arg);

/*
 * Keep at least @min_threads workers (started now) and run at most
 * @max_threads at once (workers beyond it leave when idle).
 * 0 <= @min_threads <= @max_threads, @max_threads >= 1.
 */
void thread_pool_update_params(ThreadPool *pool, int min_threads,
                               int max_threads);

/* How many workers exist now (running or idle).  Any thread. */
int thread_pool_get_num_threads(ThreadPool *pool);

/*
 * For tests only: how long a worker idles before it leaves (default
 * THREAD_POOL_IDLE_TIMEOUT_NS).  Affects workers already waiting too.
 */
void thread_pool_set_idle_timeout_ns(ThreadPool *pool, int64_t ns);

#endif /* QBLOCK_QEMU_THREAD_POOL_H */
