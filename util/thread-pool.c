/*
 * thread-pool.c: a pool of worker threads per AioContext.
 *
 * What: a request (ThreadPoolElement) carries a blocking function, its
 * argument and a completion.  Submission queues it on request_list under the
 * pool lock and wakes one idle worker, starting a new one if every worker
 * is busy and there are fewer than max_threads.  A worker runs the function
 * without the lock, pushes the finished request onto a lock-free "done"
 * stack and schedules the pool's completion BH.  That BH, in the context's
 * thread, takes the whole stack at once and runs the completions in the
 * order the requests finished.
 *
 * Invariants (under pool->lock):
 *   - idle_threads counts the workers not running a function, including
 *     ones just started; a new worker is started only while more requests
 *     are queued than there are idle workers to take them, so a burst of
 *     N submissions starts at most N workers.
 *   - cur_threads <= max_threads, except right after max_threads was
 *     lowered: a worker above the limit leaves instead of taking another
 *     request, so at most max_threads functions start at once.
 *   - A worker that has been idle for idle_timeout_ns leaves, unless that
 *     would take the pool below min_threads.
 *   - thread_pool_free() sets stopping and waits until cur_threads is 0;
 *     workers empty the queue before they leave, so no request is dropped.
 *
 * Costs: one lock round trip and at most one condition signal per
 * submission; one CAS per completion plus one BH schedule, which is a single
 * atomic OR while the BH is already pending, so a thousand requests that
 * finish together cost one wake-up of the context and one BH run.
 * Elements are recycled on a free list owned by the context's thread, so
 * the steady state allocates nothing.
 *
 * Worked example: with max_threads 2, submitting A, B, C starts worker 1
 * for A (queued 1 > idle 0), worker 2 for B (queued 2 > idle 1), and
 * nothing for C (already 2 workers).  Worker 1 finishes A, pushes it, takes
 * C.  The BH runs A's completion; later C's and B's, in whatever order they
 * finished.  Ten seconds after the last request both workers leave.
 */
#include "qemu/osdep.h"

#include <pthread.h>

#include "qapi/error.h"
#include "qemu/aio.h"
#include "qemu/coroutine_int.h"
#include "qemu/thread-pool.h"
#include "trace.h"

/* Recycled elements kept per pool; beyond this they are freed. */
#define THREAD_POOL_FREE_LIST_MAX 256

typedef struct ThreadPoolElement ThreadPoolElement;

struct ThreadPoolElement {
    ThreadPool *pool;
    ThreadPoolFunc *func;
    void *arg;
    BlockCompletionFunc *cb;
    void *opaque;
    int ret;

    /* request_list while queued, then the completion queue */
    QSIMPLEQ_ENTRY(ThreadPoolElement) next;
    /* the done stack, and the free list */
    ThreadPoolElement *done_next;
};

struct ThreadPool {
    AioContext *ctx;
    QEMUBH *completion_bh;

    pthread_mutex_t lock;
    pthread_cond_t request_cond;    /* idle workers wait here */
    pthread_cond_t worker_stopped;  /* a worker left */
    QSIMPLEQ_HEAD(, ThreadPoolElement) request_list;
    int queued;
    int cur_threads;
    int idle_threads;
    int min_threads;
    int max_threads;
    int64_t idle_timeout_ns;
    bool stopping;

    /* Finished requests, newest first; pushed by workers. */
    ThreadPoolElement *done;

    /* The context's thread only. */
    QSIMPLEQ_HEAD(, ThreadPoolElement) completions;
    ThreadPoolElement *free_list;
    int free_count;
    int pending_cb;             /* submitted with a callback, not yet run */
};

/* CLOCK_MONOTONIC, as pthread_cond_timedwait() reads it for our conds. */
static struct timespec ns_to_timespec(int64_t ns)
{
    struct timespec ts = {
        .tv_sec = ns / NANOSECONDS_PER_SECOND,
        .tv_nsec = ns % NANOSECONDS_PER_SECOND,
    };

    return ts;
}

static void *worker_thread(void *opaque)
{
    ThreadPool *pool = opaque;
    int64_t idle_since = get_clock();

    pthread_mutex_lock(&pool->lock);
    for (;;) {
        ThreadPoolElement *req;
        struct timespec end;
        int ret;

        if (pool->cur_threads > pool->max_threads) {
            break;
        }
        req = QSIMPLEQ_FIRST(&pool->request_list);
        if (req) {
            QSIMPLEQ_REMOVE_HEAD(&pool->request_list, next);
            pool->queued--;
            pool->idle_threads--;
            pthread_mutex_unlock(&pool->lock);

            ret = req->func(req->arg);
            req->ret = ret;
            req->done_next = __atomic_load_n(&pool->done, __ATOMIC_RELAXED);
            while (!__atomic_compare_exchange_n(&pool->done, &req->done_next,
                                                req, true, __ATOMIC_SEQ_CST,
                                                __ATOMIC_RELAXED)) {
                /* req->done_next was reloaded by the failed CAS */
            }
            qemu_bh_schedule(pool->completion_bh);

            pthread_mutex_lock(&pool->lock);
            pool->idle_threads++;
            idle_since = get_clock();
            continue;
        }
        if (pool->stopping) {
            break;
        }

        /* Recomputed after every wake-up: the timeout may have changed. */
        end = ns_to_timespec(idle_since + pool->idle_timeout_ns);
        ret = pthread_cond_timedwait(&pool->request_cond, &pool->lock, &end);
        if (ret == ETIMEDOUT && QSIMPLEQ_EMPTY(&pool->request_list)) {
            if (pool->cur_threads > pool->min_threads) {
                break;
            }
            /* Kept for the minimum: start a new idle period. */
            idle_since = get_clock();
        }
    }

    pool->cur_threads--;
    pool->idle_threads--;
    trace_thread_pool_worker_exit(pool, pool->cur_threads, !pool->stopping);
    pthread_cond_broadcast(&pool->worker_stopped);
    pthread_mutex_unlock(&pool->lock);
    return NULL;
}

/* Called with pool->lock held.  Returns false if no thread was started. */
static bool spawn_thread_locked(ThreadPool *pool)
{
    pthread_attr_t attr;
    pthread_t thread;
    sigset_t all;
    sigset_t old;
    int ret;

    pool->cur_threads++;
    pool->idle_threads++;

    /* Nobody joins a worker: thread_pool_free() waits on worker_stopped. */
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    /* Workers take no signals: those are for the main loop to handle. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    ret = pthread_create(&thread, &attr, worker_thread, pool);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);

    if (ret) {
        pool->cur_threads--;
        pool->idle_threads--;
        if (pool->cur_threads == 0) {
            /* Nobody would ever run the queued requests. */
            error_report("Failed to create a thread pool worker: %s",
                         strerror(ret));
            abort();
        }
        /* The workers we have will get through the queue. */
        return false;
    }
    /* Safe on a detached thread: it cannot exit while we hold the lock. */
    pthread_setname_np(thread, "qblock-worker");
    trace_thread_pool_spawn(pool, pool->cur_threads);
    return true;
}

static ThreadPoolElement *thread_pool_element_get(ThreadPool *pool)
{
    ThreadPoolElement *req = pool->free_list;

    if (req) {
        pool->free_list = req->done_next;
        pool->free_count--;
        return req;
    }
    return g_new(ThreadPoolElement, 1);
}

static void thread_pool_element_put(ThreadPool *pool, ThreadPoolElement *req)
{
    if (pool->free_count >= THREAD_POOL_FREE_LIST_MAX) {
        g_free(req);
        return;
    }
    req->done_next = pool->free_list;
    pool->free_list = req;
    pool->free_count++;
}

/* Move the done stack, in completion order, to the completion queue. */
static void thread_pool_collect_done(ThreadPool *pool)
{
    ThreadPoolElement *stack;
    ThreadPoolElement *fifo = NULL;

    stack = __atomic_exchange_n(&pool->done, NULL, __ATOMIC_SEQ_CST);
    while (stack) {
        ThreadPoolElement *next = stack->done_next;

        stack->done_next = fifo;
        fifo = stack;
        stack = next;
    }
    while (fifo) {
        ThreadPoolElement *req = fifo;

        fifo = req->done_next;
        QSIMPLEQ_INSERT_TAIL(&pool->completions, req, next);
    }
}

static void thread_pool_completion_bh(void *opaque)
{
    ThreadPool *pool = opaque;
    ThreadPoolElement *req;

    thread_pool_collect_done(pool);
    while ((req = QSIMPLEQ_FIRST(&pool->completions))) {
        BlockCompletionFunc *cb = req->cb;
        void *cb_opaque = req->opaque;
        int ret = req->ret;

        QSIMPLEQ_REMOVE_HEAD(&pool->completions, next);
        trace_thread_pool_complete(pool, req, cb_opaque, ret);
        thread_pool_element_put(pool, req);

        if (cb) {
            /*
             * The callback may run a nested aio_poll() waiting for a request
             * further down this batch; keep the BH scheduled so that the
             * nested poll completes it.
             */
            if (!QSIMPLEQ_EMPTY(&pool->completions)) {
                qemu_bh_schedule(pool->completion_bh);
            }
            pool->pending_cb--;
            cb(cb_opaque, ret);
        }
    }
}

ThreadPool *thread_pool_new(AioContext *ctx)
{
    ThreadPool *pool = g_new0(ThreadPool, 1);
    pthread_condattr_t attr;

    pool->ctx = ctx;
    pool->completion_bh = aio_bh_new(ctx, thread_pool_completion_bh, pool);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->request_cond, &attr);
    pthread_cond_init(&pool->worker_stopped, &attr);
    pthread_condattr_destroy(&attr);
    QSIMPLEQ_INIT(&pool->request_list);
    QSIMPLEQ_INIT(&pool->completions);
    pool->min_threads = 0;
    pool->max_threads = THREAD_POOL_MAX_THREADS_DEFAULT;
    pool->idle_timeout_ns = THREAD_POOL_IDLE_TIMEOUT_NS;
    return pool;
}

void thread_pool_free(ThreadPool *pool)
{
    ThreadPoolElement *req;

    if (!pool) {
        return;
    }
    if (pool->pending_cb) {
        error_report("%s: %d requests still in flight", __func__,
                     pool->pending_cb);
        abort();
    }

    pthread_mutex_lock(&pool->lock);
    pool->stopping = true;
    pthread_cond_broadcast(&pool->request_cond);
    while (pool->cur_threads > 0) {
        pthread_cond_wait(&pool->worker_stopped, &pool->lock);
    }
    assert(QSIMPLEQ_EMPTY(&pool->request_list));
    pthread_mutex_unlock(&pool->lock);

    /* Only fire-and-forget requests can be left: nobody to tell. */
    thread_pool_collect_done(pool);
    while ((req = QSIMPLEQ_FIRST(&pool->completions))) {
        QSIMPLEQ_REMOVE_HEAD(&pool->completions, next);
        assert(!req->cb);
        g_free(req);
    }
    while ((req = pool->free_list)) {
        pool->free_list = req->done_next;
        g_free(req);
    }

    qemu_bh_delete(pool->completion_bh);
    if (pool->ctx->thread_pool == pool) {
        pool->ctx->thread_pool = NULL;
    }
    pthread_cond_destroy(&pool->worker_stopped);
    pthread_cond_destroy(&pool->request_cond);
    pthread_mutex_destroy(&pool->lock);
    g_free(pool);
}

ThreadPool *aio_get_thread_pool(AioContext *ctx)
{
    if (!ctx->thread_pool) {
        ctx->thread_pool = thread_pool_new(ctx);
    }
    return ctx->thread_pool;
}

void thread_pool_submit_aio_pool(ThreadPool *pool, ThreadPoolFunc *func,
                                 void *arg, BlockCompletionFunc *cb,
                                 void *opaque)
{
    ThreadPoolElement *req = thread_pool_element_get(pool);

    req->pool = pool;
    req->func = func;
    req->arg = arg;
    req->cb = cb;
    req->opaque = opaque;
    req->ret = 0;
    req->done_next = NULL;
    if (cb) {
        pool->pending_cb++;
    }
    trace_thread_pool_submit(pool, req, opaque);

    pthread_mutex_lock(&pool->lock);
    QSIMPLEQ_INSERT_TAIL(&pool->request_list, req, next);
    pool->queued++;
    if (pool->queued > pool->idle_threads &&
        pool->cur_threads < pool->max_threads) {
        spawn_thread_locked(pool);
    }
    pthread_cond_signal(&pool->request_cond);
    pthread_mutex_unlock(&pool->lock);
}

void thread_pool_submit_aio(ThreadPoolFunc *func, void *arg,
                            BlockCompletionFunc *cb, void *opaque)
{
    AioContext *ctx = qemu_get_current_aio_context();

    assert(ctx);
    thread_pool_submit_aio_pool(aio_get_thread_pool(ctx), func, arg, cb,
                                opaque);
}

void thread_pool_submit(ThreadPoolFunc *func, void *arg)
{
    thread_pool_submit_aio(func, arg, NULL, NULL);
}

typedef struct ThreadPoolCo {
    Coroutine *co;
    int ret;
    bool done;
} ThreadPoolCo;

static void thread_pool_co_cb(void *opaque, int ret)
{
    ThreadPoolCo *tpc = opaque;

    tpc->ret = ret;
    tpc->done = true;
    aio_co_wake(tpc->co);
}

int coroutine_fn thread_pool_submit_co(ThreadPoolFunc *func, void *arg)
{
    ThreadPoolCo tpc = {
        .co = qemu_coroutine_self(),
    };

    assert(qemu_in_coroutine());
    /* We run in this thread, so this is our home for the wake-up. */
    __atomic_store_n(&tpc.co->ctx, qemu_get_current_aio_context(),
                     __ATOMIC_RELAXED);
    thread_pool_submit_aio(func, arg, thread_pool_co_cb, &tpc);
    qemu_coroutine_yield();
    assert(tpc.done);
    return tpc.ret;
}

void thread_pool_update_params(ThreadPool *pool, int min_threads,
                               int max_threads)
{
    assert(min_threads >= 0 && max_threads >= 1);
    assert(min_threads <= max_threads);

    pthread_mutex_lock(&pool->lock);
    pool->min_threads = min_threads;
    pool->max_threads = max_threads;
    while (pool->cur_threads < pool->min_threads) {
        if (!spawn_thread_locked(pool)) {
            break;
        }
    }
    /* Surplus workers leave, idle ones look at the new minimum. */
    pthread_cond_broadcast(&pool->request_cond);
    pthread_mutex_unlock(&pool->lock);
}

int thread_pool_get_num_threads(ThreadPool *pool)
{
    int n;

    pthread_mutex_lock(&pool->lock);
    n = pool->cur_threads;
    pthread_mutex_unlock(&pool->lock);
    return n;
}

void thread_pool_set_idle_timeout_ns(ThreadPool *pool, int64_t ns)
{
    assert(ns >= 0);
    pthread_mutex_lock(&pool->lock);
    pool->idle_timeout_ns = ns;
    pthread_cond_broadcast(&pool->request_cond);
    pthread_mutex_unlock(&pool->lock);
}
