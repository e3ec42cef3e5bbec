/*
 * test-thread-pool.c: worker threads of an AioContext.
 *
 * The work functions record what callers rely on and cannot see from the
 * outside: which thread they run on and how many run at once.
 */
#include "qemu/osdep.h"

#include "qapi/error.h"
#include "qemu/aio.h"
#include "qemu/coroutine.h"
#include "qemu/thread-pool.h"
#include "qemu/trace-control.h"

static AioContext *ctx;
static GThread *main_thread;

/* Set by any work function that finds itself on the main thread. */
static bool work_ran_on_main;

static void watchdog(void)
{
    alarm(60);
}

static int64_t now_ns(void)
{
    return qemu_clock_get_ns(QEMU_CLOCK_REALTIME);
}

static void note_thread(void)
{
    if (g_thread_self() == main_thread) {
        __atomic_store_n(&work_ran_on_main, true, __ATOMIC_SEQ_CST);
    }
}

/*
 * submit-aio
 */

#define N_AIO 5000

typedef struct AioReq {
    int index;
    int calls;
    int ret;
} AioReq;

static int completed;

static int aio_work(void *opaque)
{
    AioReq *r = opaque;

    note_thread();
    return r->index * 3 - 7;
}

static void aio_done(void *opaque, int ret)
{
    AioReq *r = opaque;

    g_assert(g_thread_self() == main_thread);
    g_assert(qemu_get_current_aio_context() == ctx);
    r->calls++;
    r->ret = ret;
    completed++;
}

static int forget_work(void *opaque)
{
    int *flag = opaque;

    note_thread();
    g_usleep(1000);
    __atomic_store_n(flag, 1, __ATOMIC_SEQ_CST);
    return 0;
}

static void test_submit_aio(void)
{
    AioReq *reqs = g_new0(AioReq, N_AIO);
    int forgotten = 0;
    int i;

    watchdog();
    completed = 0;
    for (i = 0; i < N_AIO; i++) {
        reqs[i].index = i;
        thread_pool_submit_aio(aio_work, &reqs[i], aio_done, &reqs[i]);
    }
    /* Completions only ever run from the event loop. */
    g_assert_cmpint(completed, ==, 0);

    AIO_WAIT_WHILE(ctx, completed < N_AIO);
    while (aio_poll(ctx, false)) {
        /* anything extra would show up as a second call */
    }
    g_assert_cmpint(completed, ==, N_AIO);
    for (i = 0; i < N_AIO; i++) {
        g_assert_cmpint(reqs[i].calls, ==, 1);
        g_assert_cmpint(reqs[i].ret, ==, i * 3 - 7);
    }
    g_assert_false(__atomic_load_n(&work_ran_on_main, __ATOMIC_SEQ_CST));
    g_assert_cmpint(thread_pool_get_num_threads(aio_get_thread_pool(ctx)),
                    <=, THREAD_POOL_MAX_THREADS_DEFAULT);

    /* Fire and forget: runs on a worker, nobody is called back. */
    thread_pool_submit(forget_work, &forgotten);
    AIO_WAIT_WHILE(ctx, !__atomic_load_n(&forgotten, __ATOMIC_SEQ_CST));
    g_free(reqs);
}

/*
 * submit-co
 */

#define N_CO      20
#define N_PER_CO  50

typedef struct CoWorker {
    Coroutine *self;
    int id;
    int sum;
    bool wrong_context;
} CoWorker;

static int co_finished;

static int co_work(void *opaque)
{
    int v = GPOINTER_TO_INT(opaque);

    note_thread();
    if (v % 7 == 0) {
        g_usleep(100);
    }
    return v * 2;
}

static void coroutine_fn co_submitter(void *opaque)
{
    CoWorker *w = opaque;
    int i;

    w->self = qemu_coroutine_self();
    for (i = 0; i < N_PER_CO; i++) {
        int v = w->id * 1000 + i;
        int ret = thread_pool_submit_co(co_work, GINT_TO_POINTER(v));

        g_assert_cmpint(ret, ==, v * 2);
        w->sum += ret;
        if (qemu_coroutine_self() != w->self ||
            g_thread_self() != main_thread ||
            qemu_get_current_aio_context() != ctx) {
            w->wrong_context = true;
        }
    }
    co_finished++;
}

static void test_submit_co(void)
{
    CoWorker w[N_CO];
    int i;
    int j;

    watchdog();
    co_finished = 0;
    for (i = 0; i < N_CO; i++) {
        w[i] = (CoWorker) { .id = i };
        aio_co_enter(ctx, qemu_coroutine_create(co_submitter, &w[i]));
    }
    /* Every coroutine is now waiting for its first request. */
    g_assert_cmpint(co_finished, ==, 0);

    AIO_WAIT_WHILE(ctx, co_finished < N_CO);
    for (i = 0; i < N_CO; i++) {
        int expected = 0;

        for (j = 0; j < N_PER_CO; j++) {
            expected += (i * 1000 + j) * 2;
        }
        g_assert_cmpint(w[i].sum, ==, expected);
        g_assert_false(w[i].wrong_context);
    }
    g_assert_false(__atomic_load_n(&work_ran_on_main, __ATOMIC_SEQ_CST));
}

/*
 * max-threads
 */

static int running;
static int max_running;

static int count_concurrency_work(void *opaque)
{
    int now = __atomic_add_fetch(&running, 1, __ATOMIC_SEQ_CST);
    int seen = __atomic_load_n(&max_running, __ATOMIC_SEQ_CST);

    while (now > seen &&
           !__atomic_compare_exchange_n(&max_running, &seen, now, false,
                                        __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
        /* seen was reloaded */
    }
    g_usleep(2000);
    __atomic_sub_fetch(&running, 1, __ATOMIC_SEQ_CST);
    return 0;
}

static void count_done(void *opaque, int ret)
{
    int *n = opaque;

    g_assert_cmpint(ret, ==, 0);
    (*n)++;
}

static void run_concurrency(ThreadPool *pool, int n_reqs, int max_threads)
{
    /* Workers above a lowered limit leave lazily, but never start work. */
    int limit = MAX(max_threads, thread_pool_get_num_threads(pool));
    int done = 0;
    int i;

    __atomic_store_n(&running, 0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&max_running, 0, __ATOMIC_SEQ_CST);
    thread_pool_update_params(pool, 0, max_threads);
    for (i = 0; i < n_reqs; i++) {
        thread_pool_submit_aio_pool(pool, count_concurrency_work, NULL,
                                    count_done, &done);
        g_assert_cmpint(thread_pool_get_num_threads(pool), <=, limit);
    }
    AIO_WAIT_WHILE(ctx, done < n_reqs);
    g_assert_cmpint(done, ==, n_reqs);
}

static void test_max_threads(void)
{
    ThreadPool *pool = thread_pool_new(ctx);

    watchdog();

    /* Concurrency happens, and stops at the limit. */
    run_concurrency(pool, 100, 4);
    g_assert_cmpint(max_running, <=, 4);
    g_assert_cmpint(max_running, >=, 2);

    /* One worker: strictly one at a time. */
    run_concurrency(pool, 16, 1);
    g_assert_cmpint(max_running, ==, 1);

    /* Raised again. */
    run_concurrency(pool, 64, 8);
    g_assert_cmpint(max_running, <=, 8);
    g_assert_cmpint(max_running, >=, 2);

    thread_pool_free(pool);
}

/*
 * idle-exit
 */

#define N_IDLE 8

typedef struct Gate {
    int arrived;
    bool gave_up;
    int64_t last_return_ns;
} Gate;

/* Wait (bounded) until all N_IDLE requests run at once. */
static int gate_work(void *opaque)
{
    Gate *g = opaque;
    int64_t give_up = now_ns() + 5 * NANOSECONDS_PER_SECOND;
    int64_t t;
    int64_t prev;

    __atomic_add_fetch(&g->arrived, 1, __ATOMIC_SEQ_CST);
    while (__atomic_load_n(&g->arrived, __ATOMIC_SEQ_CST) < N_IDLE &&
           now_ns() < give_up) {
        g_usleep(100);
    }
    if (__atomic_load_n(&g->arrived, __ATOMIC_SEQ_CST) < N_IDLE) {
        __atomic_store_n(&g->gave_up, true, __ATOMIC_SEQ_CST);
    }
    t = now_ns();
    prev = __atomic_load_n(&g->last_return_ns, __ATOMIC_SEQ_CST);
    while (t > prev &&
           !__atomic_compare_exchange_n(&g->last_return_ns, &prev, t, false,
                                        __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
        /* prev was reloaded */
    }
    return 0;
}

static void start_gated(ThreadPool *pool, Gate *g, int *done)
{
    int i;

    memset(g, 0, sizeof(*g));
    *done = 0;
    for (i = 0; i < N_IDLE; i++) {
        thread_pool_submit_aio_pool(pool, gate_work, g, count_done, done);
    }
    AIO_WAIT_WHILE(ctx, *done < N_IDLE);
    /* All ran at once, so there were N_IDLE workers. */
    g_assert_cmpint(g->arrived, ==, N_IDLE);
    g_assert_false(g->gave_up);
}

/* Poll until @pool has @n workers or @timeout_ns passes; returns when. */
static int64_t wait_for_threads(ThreadPool *pool, int n, int64_t timeout_ns)
{
    int64_t give_up = now_ns() + timeout_ns;

    while (thread_pool_get_num_threads(pool) != n && now_ns() < give_up) {
        g_usleep(1000);
    }
    return now_ns();
}

static void test_idle_exit(void)
{
    const int64_t idle_ns = 100 * SCALE_MS;
    ThreadPool *pool = thread_pool_new(ctx);
    Gate g;
    int done;
    int64_t gone_at;

    watchdog();
    thread_pool_set_idle_timeout_ns(pool, idle_ns);

    start_gated(pool, &g, &done);
    gone_at = wait_for_threads(pool, 0, 5 * NANOSECONDS_PER_SECOND);
    g_assert_cmpint(thread_pool_get_num_threads(pool), ==, 0);
    /* Not before they had idled for the timeout (less clock rounding). */
    g_assert_cmpint(gone_at - g.last_return_ns, >=, idle_ns - SCALE_MS);

    /* With a minimum, that many stay. */
    thread_pool_update_params(pool, 2, 64);
    g_assert_cmpint(thread_pool_get_num_threads(pool), ==, 2);
    start_gated(pool, &g, &done);
    wait_for_threads(pool, 2, 5 * NANOSECONDS_PER_SECOND);
    g_assert_cmpint(thread_pool_get_num_threads(pool), ==, 2);
    g_usleep(3 * idle_ns / SCALE_US);
    g_assert_cmpint(thread_pool_get_num_threads(pool), ==, 2);

    /* Minimum dropped: they leave after another idle period. */
    thread_pool_update_params(pool, 0, 64);
    wait_for_threads(pool, 0, 5 * NANOSECONDS_PER_SECOND);
    g_assert_cmpint(thread_pool_get_num_threads(pool), ==, 0);

    /* The pool still works after every worker left. */
    start_gated(pool, &g, &done);
    thread_pool_free(pool);
}

/*
 * free-with-idle-workers
 */

static void test_free_with_idle_workers(void)
{
    ThreadPool *pool = thread_pool_new(ctx);
    Gate g;
    int done;
    int forgotten = 0;
    int64_t start;

    watchdog();

    /* N_IDLE workers, now idle with the default 10 s timeout. */
    start_gated(pool, &g, &done);
    g_assert_cmpint(thread_pool_get_num_threads(pool), ==, N_IDLE);

    /* A fire-and-forget request still runs before the workers stop. */
    thread_pool_submit_aio_pool(pool, forget_work, &forgotten, NULL, NULL);

    start = now_ns();
    thread_pool_free(pool);
    g_assert_cmpint(now_ns() - start, <, 2 * NANOSECONDS_PER_SECOND);
    g_assert_cmpint(__atomic_load_n(&forgotten, __ATOMIC_SEQ_CST), ==, 1);

    /* A context's own pool goes with the context. */
    {
        AioContext *ctx2 = aio_context_new(&error_abort);
        ThreadPool *pool2 = aio_get_thread_pool(ctx2);

        g_assert_true(aio_get_thread_pool(ctx2) == pool2);
        thread_pool_update_params(pool2, 3, 64);
        g_assert_cmpint(thread_pool_get_num_threads(pool2), ==, 3);
        aio_context_unref(ctx2);
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    trace_init_from_env();
    qemu_init_main_loop(&error_abort);
    ctx = qemu_get_aio_context();
    main_thread = g_thread_self();

    g_test_add_func("/thread-pool/submit-aio", test_submit_aio);
    g_test_add_func("/thread-pool/submit-co", test_submit_co);
    g_test_add_func("/thread-pool/max-threads", test_max_threads);
    g_test_add_func("/thread-pool/idle-exit", test_idle_exit);
    g_test_add_func("/thread-pool/free-with-idle-workers",
                    test_free_with_idle_workers);
    return g_test_run();
}
