/*
 * test-coroutine.c: unit tests of the coroutine core, CoMutex and CoQueue.
 *
 * Most tests record what happens, in order, as words in an event log and
 * compare the log with the order that callers rely on; a wrong order, a
 * missing step or an extra one all fail the comparison.
 */
#include "qemu/osdep.h"

#include <sys/resource.h>
#include <sys/wait.h>

#include "qemu/coroutine.h"
#include "qemu/coroutine_int.h"

/* ------------------------------------------------------------ event log */

static GString *event_log;

static void G_GNUC_PRINTF(1, 2) log_event(const char *fmt, ...)
{
    va_list ap;

    if (event_log->len) {
        g_string_append_c(event_log, ' ');
    }
    va_start(ap, fmt);
    g_string_append_vprintf(event_log, fmt, ap);
    va_end(ap);
}

static void log_reset(void)
{
    g_string_truncate(event_log, 0);
}

#define assert_log(expected) g_assert_cmpstr(event_log->str, ==, (expected))

/* ------------------------------------------------------------ basics */

static void coroutine_fn set_flag_entry(void *opaque)
{
    bool *done = opaque;

    *done = true;
}

static void test_basic(void)
{
    bool done = false;
    Coroutine *co = qemu_coroutine_create(set_flag_entry, &done);

    g_assert_false(done);
    qemu_coroutine_enter(co);
    g_assert_true(done);
}

typedef struct NestState {
    Coroutine *outer;
    Coroutine *inner;
    Coroutine *innermost;
} NestState;

static void coroutine_fn nest_innermost(void *opaque)
{
    NestState *s = opaque;

    log_event("C");
    g_assert_true(qemu_coroutine_self() == s->innermost);
    g_assert_true(qemu_coroutine_entered(s->outer));
    g_assert_true(qemu_coroutine_entered(s->inner));
    g_assert_true(qemu_coroutine_entered(s->innermost));
}

static void coroutine_fn nest_inner(void *opaque)
{
    NestState *s = opaque;

    log_event("B<");
    s->innermost = qemu_coroutine_create(nest_innermost, s);
    qemu_coroutine_enter(s->innermost);
    g_assert_true(qemu_coroutine_self() == s->inner);
    log_event("B>");
}

static void coroutine_fn nest_outer(void *opaque)
{
    NestState *s = opaque;

    log_event("A<");
    s->inner = qemu_coroutine_create(nest_inner, s);
    qemu_coroutine_enter(s->inner);
    g_assert_true(qemu_coroutine_self() == s->outer);
    g_assert_false(qemu_coroutine_entered(s->inner));
    log_event("A>");
}

static void test_nesting(void)
{
    NestState s = { 0 };

    log_reset();
    s.outer = qemu_coroutine_create(nest_outer, &s);
    qemu_coroutine_enter(s.outer);
    log_event("main");
    assert_log("A< B< C B> A> main");
    g_assert_null(qemu_coroutine_self());
}

static void coroutine_fn yield_five_entry(void *opaque)
{
    bool *done = opaque;
    int i;

    for (i = 0; i < 5; i++) {
        log_event("co%d", i);
        qemu_coroutine_yield();
    }
    *done = true;
}

static void test_yield_order(void)
{
    bool done = false;
    Coroutine *co = qemu_coroutine_create(yield_five_entry, &done);
    int i;

    log_reset();
    for (i = 0; i < 5; i++) {
        qemu_coroutine_enter(co);
        log_event("main%d", i);
        g_assert_false(done);
        g_assert_false(qemu_coroutine_entered(co));
    }
    qemu_coroutine_enter(co);
    g_assert_true(done);
    assert_log("co0 main0 co1 main1 co2 main2 co3 main3 co4 main4");
}

/* ------------------------------------------------------------ the pool */

static void coroutine_fn record_stack_entry(void *opaque)
{
    volatile char here = 0;

    *(uintptr_t *)opaque = (uintptr_t)&here;
}

static void coroutine_fn yield_once_entry(void *opaque)
{
    int *finished = opaque;

    qemu_coroutine_yield();
    (*finished)++;
}

static void test_pool_reuse(void)
{
    const unsigned int n = 2 * QEMU_COROUTINE_POOL_MAX + 10;
    g_autofree Coroutine **cos = g_new0(Coroutine *, n);
    uintptr_t local1 = 0, local2 = 0;
    Coroutine *co1, *co2;
    unsigned int pool, i, j;
    int finished = 0;

    /* A terminated coroutine, and its stack, is what the next create gets. */
    co1 = qemu_coroutine_create(record_stack_entry, &local1);
    qemu_coroutine_enter(co1);
    pool = qemu_coroutine_pool_size();
    g_assert_cmpuint(pool, >=, 1);
    co2 = qemu_coroutine_create(record_stack_entry, &local2);
    g_assert_true(co2 == co1);
    g_assert_cmpuint(qemu_coroutine_pool_size(), ==, pool - 1);
    qemu_coroutine_enter(co2);
    g_assert_cmpuint(local1, !=, 0);
    g_assert_cmpuint(local2, ==, local1);
    g_assert_cmpuint(qemu_coroutine_pool_size(), ==, pool);

    /* Drain the pool with live coroutines, then overfill it. */
    for (i = 0; i < n; i++) {
        cos[i] = qemu_coroutine_create(yield_once_entry, &finished);
        qemu_coroutine_enter(cos[i]);
    }
    g_assert_cmpuint(qemu_coroutine_pool_size(), ==, 0);
    for (i = 0; i < n; i++) {
        for (j = 0; j < i; j++) {
            g_assert_true(cos[i] != cos[j]);
        }
    }
    for (i = 0; i < n; i++) {
        qemu_coroutine_enter(cos[i]);
    }
    g_assert_cmpint(finished, ==, n);
    g_assert_cmpuint(qemu_coroutine_pool_size(), ==, QEMU_COROUTINE_POOL_MAX);
}

/* ------------------------------------------------------------ queries */

static void coroutine_fn in_coroutine_entry(void *opaque)
{
    bool *seen = opaque;

    *seen = qemu_in_coroutine();
}

static void test_in_coroutine(void)
{
    bool seen = false;

    g_assert_false(qemu_in_coroutine());
    qemu_coroutine_enter(qemu_coroutine_create(in_coroutine_entry, &seen));
    g_assert_true(seen);
    g_assert_false(qemu_in_coroutine());
}

static void coroutine_fn self_entry(void *opaque)
{
    Coroutine **self = opaque;

    *self = qemu_coroutine_self();
    qemu_coroutine_yield();
    /* Still ourselves after a round trip through the caller. */
    g_assert_true(qemu_coroutine_self() == *self);
    *self = NULL;
}

static void test_self(void)
{
    Coroutine *seen = NULL;
    Coroutine *co = qemu_coroutine_create(self_entry, &seen);

    g_assert_null(qemu_coroutine_self());
    qemu_coroutine_enter(co);
    g_assert_true(seen == co);
    g_assert_null(qemu_coroutine_self());
    qemu_coroutine_enter(co);
    g_assert_null(seen);
}

typedef struct EnteredState {
    Coroutine *outer;
    Coroutine *inner;
} EnteredState;

static void coroutine_fn entered_inner(void *opaque)
{
    EnteredState *s = opaque;

    g_assert_true(qemu_coroutine_entered(s->inner));
    g_assert_true(qemu_coroutine_entered(s->outer));
    log_event("inner");
    qemu_coroutine_yield();
    log_event("inner-resumed");
}

static void coroutine_fn entered_outer(void *opaque)
{
    EnteredState *s = opaque;

    g_assert_true(qemu_coroutine_entered(s->outer));
    s->inner = qemu_coroutine_create(entered_inner, s);
    g_assert_false(qemu_coroutine_entered(s->inner));
    qemu_coroutine_enter(s->inner);
    g_assert_false(qemu_coroutine_entered(s->inner));

    /* The inner one is suspended: enter_if_inactive resumes it... */
    qemu_coroutine_enter_if_inactive(s->inner);
    /* ...but the outer one, running, is not entered again. */
    qemu_coroutine_enter_if_inactive(s->outer);
    log_event("outer");
}

static void test_entered(void)
{
    EnteredState s = { 0 };

    log_reset();
    s.outer = qemu_coroutine_create(entered_outer, &s);
    g_assert_false(qemu_coroutine_entered(s.outer));
    qemu_coroutine_enter(s.outer);
    assert_log("inner inner-resumed outer");
}

/* ------------------------------------------------------------ many */

#define DEEP_LEVELS 128

typedef struct DeepState {
    Coroutine *chain[DEEP_LEVELS];
    int level;
    int max_level;
    int terminated;
} DeepState;

static void coroutine_fn deep_entry(void *opaque)
{
    DeepState *s = opaque;
    int me = s->level;
    int i;

    g_assert_true(qemu_coroutine_self() == s->chain[me]);
    s->max_level = MAX(s->max_level, me);
    for (i = 0; i <= me; i++) {
        g_assert_true(qemu_coroutine_entered(s->chain[i]));
    }
    if (me + 1 < DEEP_LEVELS) {
        s->level = me + 1;
        s->chain[me + 1] = qemu_coroutine_create(deep_entry, s);
        qemu_coroutine_enter(s->chain[me + 1]);
        g_assert_cmpint(s->terminated, ==, DEEP_LEVELS - me - 1);
    }
    g_assert_true(qemu_coroutine_self() == s->chain[me]);
    s->terminated++;
}

static void test_deep_nesting(void)
{
    g_autofree DeepState *s = g_new0(DeepState, 1);

    s->chain[0] = qemu_coroutine_create(deep_entry, s);
    qemu_coroutine_enter(s->chain[0]);
    g_assert_cmpint(s->max_level, ==, DEEP_LEVELS - 1);
    g_assert_cmpint(s->terminated, ==, DEEP_LEVELS);
    g_assert_false(qemu_in_coroutine());
}

#define MANY 5000

typedef struct ManyState {
    unsigned int index;
    unsigned int *alive;
    unsigned int *max_alive;
    unsigned int result;
} ManyState;

static void coroutine_fn many_entry(void *opaque)
{
    ManyState *m = opaque;
    /* On this coroutine's own stack; nobody else may overwrite it. */
    volatile unsigned int mine = m->index * 2654435761u;

    (*m->alive)++;
    *m->max_alive = MAX(*m->max_alive, *m->alive);
    qemu_coroutine_yield();
    m->result = mine;
    (*m->alive)--;
}

static void test_many(void)
{
    g_autofree ManyState *st = g_new0(ManyState, MANY);
    g_autofree Coroutine **cos = g_new0(Coroutine *, MANY);
    unsigned int alive = 0, max_alive = 0;
    unsigned int i;

    for (i = 0; i < MANY; i++) {
        st[i].index = i;
        st[i].alive = &alive;
        st[i].max_alive = &max_alive;
        cos[i] = qemu_coroutine_create(many_entry, &st[i]);
        qemu_coroutine_enter(cos[i]);
    }
    g_assert_cmpuint(alive, ==, MANY);
    for (i = MANY; i-- > 0;) {
        qemu_coroutine_enter(cos[i]);
    }
    g_assert_cmpuint(alive, ==, 0);
    g_assert_cmpuint(max_alive, ==, MANY);
    for (i = 0; i < MANY; i++) {
        g_assert_cmpuint(st[i].result, ==, i * 2654435761u);
    }
    g_assert_cmpuint(qemu_coroutine_pool_size(), <=, QEMU_COROUTINE_POOL_MAX);
}

/* ------------------------------------------------------------ CoMutex */

#define FAIR_WORKERS 3
#define FAIR_ROUNDS 10

typedef struct FairState {
    CoMutex lock;
    int id;
    int done;
} FairState;

typedef struct FairWorker {
    FairState *s;
    int id;
} FairWorker;

static void coroutine_fn fair_worker(void *opaque)
{
    FairWorker *w = opaque;
    int round;

    for (round = 0; round < FAIR_ROUNDS; round++) {
        qemu_co_mutex_lock(&w->s->lock);
        qemu_co_mutex_assert_locked(&w->s->lock);
        log_event("%d", w->id);
        /* Hold the lock across a yield, as a request around I/O does. */
        qemu_coroutine_yield();
        qemu_co_mutex_unlock(&w->s->lock);
    }
    w->s->done++;
}

static void test_co_mutex_fairness(void)
{
    FairState s;
    FairWorker w[FAIR_WORKERS];
    g_autoptr(GString) expected = g_string_new("");
    int i, round;

    log_reset();
    qemu_co_mutex_init(&s.lock);
    s.done = 0;
    for (i = 0; i < FAIR_WORKERS; i++) {
        w[i].s = &s;
        w[i].id = i;
        qemu_coroutine_enter(qemu_coroutine_create(fair_worker, &w[i]));
    }
    g_assert_cmpuint(s.lock.locked, ==, FAIR_WORKERS);

    /*
     * Only the holder is suspended in a plain yield; the others wait in
     * lock.  Each unlock must hand over to the oldest waiter, and the
     * unlocker, coming back for the lock at once, must queue behind them.
     */
    while (s.done < FAIR_WORKERS) {
        g_assert_nonnull(s.lock.holder);
        qemu_coroutine_enter(s.lock.holder);
    }
    for (round = 0; round < FAIR_ROUNDS; round++) {
        for (i = 0; i < FAIR_WORKERS; i++) {
            g_string_append_printf(expected, "%s%d",
                                   expected->len ? " " : "", i);
        }
    }
    assert_log(expected->str);
    g_assert_null(s.lock.holder);
    g_assert_cmpuint(s.lock.locked, ==, 0);
}

typedef struct HandoffState {
    CoMutex lock;
    Coroutine *a;
    Coroutine *b;
} HandoffState;

static void coroutine_fn handoff_a(void *opaque)
{
    HandoffState *s = opaque;

    qemu_co_mutex_lock(&s->lock);
    log_event("A-locked");
    qemu_coroutine_yield();

    qemu_co_mutex_unlock(&s->lock);
    /* Ownership passed to B already, before B has run. */
    g_assert_true(s->lock.holder == s->b);
    log_event("A-unlocked");

    /* No barging: A queues behind B although B has not run yet. */
    qemu_co_mutex_lock(&s->lock);
    log_event("A-relocked");
    qemu_co_mutex_unlock(&s->lock);
}

static void coroutine_fn handoff_b(void *opaque)
{
    HandoffState *s = opaque;

    log_event("B-wait");
    qemu_co_mutex_lock(&s->lock);
    g_assert_true(s->lock.holder == s->b);
    log_event("B-locked");
    qemu_co_mutex_unlock(&s->lock);
    g_assert_true(s->lock.holder == s->a);
    log_event("B-unlocked");
}

static void test_co_mutex_handoff(void)
{
    HandoffState s;

    log_reset();
    qemu_co_mutex_init(&s.lock);
    s.a = qemu_coroutine_create(handoff_a, &s);
    s.b = qemu_coroutine_create(handoff_b, &s);
    qemu_coroutine_enter(s.a);
    qemu_coroutine_enter(s.b);
    g_assert_true(s.lock.holder == s.a);
    g_assert_cmpuint(s.lock.locked, ==, 2);
    qemu_coroutine_enter(s.a);
    assert_log("A-locked B-wait A-unlocked B-locked B-unlocked A-relocked");
    g_assert_null(s.lock.holder);
    g_assert_cmpuint(s.lock.locked, ==, 0);
    g_assert_true(QSIMPLEQ_EMPTY(&s.lock.waiters));
}

/* ------------------------------------------------------------ CoQueue */

#define QUEUE_WAITERS 5

typedef struct QueueWaiter {
    CoQueue *queue;
    int id;
} QueueWaiter;

static void coroutine_fn queue_waiter(void *opaque)
{
    QueueWaiter *w = opaque;

    qemu_co_queue_wait(w->queue, NULL);
    log_event("w%d", w->id);
}

static void coroutine_fn queue_waker(void *opaque)
{
    CoQueue *queue = opaque;

    qemu_co_queue_restart_all(queue);
    g_assert_true(qemu_co_queue_empty(queue));
    log_event("waker-done");
}

static void start_waiters(CoQueue *queue, QueueWaiter *w)
{
    int i;

    for (i = 0; i < QUEUE_WAITERS; i++) {
        w[i].queue = queue;
        w[i].id = i;
        qemu_coroutine_enter(qemu_coroutine_create(queue_waiter, &w[i]));
    }
    g_assert_false(qemu_co_queue_empty(queue));
}

static void test_co_queue_restart_all_order(void)
{
    CoQueue queue;
    QueueWaiter w[QUEUE_WAITERS];

    qemu_co_queue_init(&queue);
    g_assert_true(qemu_co_queue_empty(&queue));
    g_assert_false(qemu_co_queue_next(&queue));

    /* Outside coroutine context, each waiter runs at once, in order. */
    log_reset();
    start_waiters(&queue, w);
    qemu_co_queue_restart_all(&queue);
    log_event("main");
    assert_log("w0 w1 w2 w3 w4 main");
    g_assert_true(qemu_co_queue_empty(&queue));

    /* From a coroutine: in order, after the waker is done. */
    log_reset();
    start_waiters(&queue, w);
    qemu_coroutine_enter(qemu_coroutine_create(queue_waker, &queue));
    log_event("main");
    assert_log("waker-done w0 w1 w2 w3 w4 main");

    /* next wakes exactly one, the oldest. */
    log_reset();
    start_waiters(&queue, w);
    g_assert_true(qemu_co_queue_next(&queue));
    log_event("main");
    g_assert_true(qemu_co_enter_next(&queue));
    qemu_co_queue_restart_all(&queue);
    assert_log("w0 main w1 w2 w3 w4");
    g_assert_false(qemu_co_enter_next(&queue));
}

typedef struct WaitLockState {
    CoQueue queue;
    CoMutex lock;
    Coroutine *a;
    Coroutine *b;
} WaitLockState;

static void coroutine_fn wait_lock_a(void *opaque)
{
    WaitLockState *s = opaque;

    qemu_co_mutex_lock(&s->lock);
    log_event("A-wait");
    qemu_co_queue_wait(&s->queue, &s->lock);
    /* Back with the lock held again. */
    qemu_co_mutex_assert_locked(&s->lock);
    log_event("A-back");
    qemu_co_mutex_unlock(&s->lock);
}

static void coroutine_fn wait_lock_b(void *opaque)
{
    WaitLockState *s = opaque;

    /* A released the lock while waiting: B gets it without waiting. */
    qemu_co_mutex_lock(&s->lock);
    g_assert_true(s->lock.holder == s->b);
    log_event("B-locked");
    g_assert_true(qemu_co_queue_next(&s->queue));
    qemu_coroutine_yield();
    log_event("B-unlock");
    qemu_co_mutex_unlock(&s->lock);
}

static void test_co_queue_wait_with_lock(void)
{
    WaitLockState s;

    log_reset();
    qemu_co_queue_init(&s.queue);
    qemu_co_mutex_init(&s.lock);
    s.a = qemu_coroutine_create(wait_lock_a, &s);
    s.b = qemu_coroutine_create(wait_lock_b, &s);
    qemu_coroutine_enter(s.a);
    g_assert_null(s.lock.holder);
    g_assert_false(qemu_co_queue_empty(&s.queue));

    /* B wakes A while holding the lock: A then waits for it in lock. */
    qemu_coroutine_enter(s.b);
    g_assert_true(qemu_co_queue_empty(&s.queue));
    g_assert_true(s.lock.holder == s.b);
    g_assert_cmpuint(s.lock.locked, ==, 2);
    log_event("main");
    qemu_coroutine_enter(s.b);
    assert_log("A-wait B-locked main B-unlock A-back");
    g_assert_null(s.lock.holder);
}

/* ------------------------------------------------------------ wake-ups */

typedef struct WakeState {
    Coroutine *a;
    Coroutine *b;
    Coroutine *c;
    Coroutine *d;
} WakeState;

static void coroutine_fn wake_d(void *opaque)
{
    qemu_coroutine_yield();
    log_event("D");
}

static void coroutine_fn wake_c(void *opaque)
{
    qemu_coroutine_yield();
    log_event("C");
}

static void coroutine_fn wake_b(void *opaque)
{
    WakeState *s = opaque;

    qemu_coroutine_yield();
    /* Not nested in A: A is not up our caller chain any more. */
    g_assert_false(qemu_coroutine_entered(s->a));
    log_event("B");
    /* Woken after C was: runs after C. */
    qemu_coroutine_wake_later(s->d);
    log_event("B-woke-D");
}

static void coroutine_fn wake_a(void *opaque)
{
    WakeState *s = opaque;

    qemu_coroutine_wake_later(s->b);
    qemu_coroutine_wake_later(s->c);
    log_event("A-woke-B-C");
    qemu_coroutine_yield();
    log_event("A-end");
}

static void test_wake_later_not_nested(void)
{
    WakeState s;

    log_reset();
    s.a = qemu_coroutine_create(wake_a, &s);
    s.b = qemu_coroutine_create(wake_b, &s);
    s.c = qemu_coroutine_create(wake_c, &s);
    s.d = qemu_coroutine_create(wake_d, &s);
    qemu_coroutine_enter(s.b);
    qemu_coroutine_enter(s.c);
    qemu_coroutine_enter(s.d);
    qemu_coroutine_enter(s.a);
    log_event("main");
    assert_log("A-woke-B-C B B-woke-D C D main");

    /* Outside coroutine context the woken coroutine runs at once. */
    log_reset();
    qemu_coroutine_wake_later(s.a);
    log_event("main");
    assert_log("A-end main");
}

/* ------------------------------------------------------------ threads */

static gpointer thread_body(gpointer opaque)
{
    bool done = false;
    int finished = 0;
    Coroutine *co;

    /* The pool is per thread: this one starts empty. */
    g_assert_cmpuint(qemu_coroutine_pool_size(), ==, 0);
    g_assert_false(qemu_in_coroutine());
    qemu_coroutine_enter(qemu_coroutine_create(set_flag_entry, &done));
    g_assert_true(done);
    g_assert_cmpuint(qemu_coroutine_pool_size(), ==, 1);
    co = qemu_coroutine_create(yield_once_entry, &finished);
    qemu_coroutine_enter(co);
    qemu_coroutine_enter(co);
    g_assert_cmpint(finished, ==, 1);
    return GINT_TO_POINTER(1);
}

static void test_threads(void)
{
    GThread *t1 = g_thread_new("co-1", thread_body, NULL);
    GThread *t2 = g_thread_new("co-2", thread_body, NULL);

    g_assert_cmpint(GPOINTER_TO_INT(g_thread_join(t1)), ==, 1);
    g_assert_cmpint(GPOINTER_TO_INT(g_thread_join(t2)), ==, 1);
}

/* ------------------------------------------------------------ bugs abort */

static void coroutine_fn reenter_self_entry(void *opaque)
{
    qemu_coroutine_enter(qemu_coroutine_self());
}

static void test_reenter_aborts(void)
{
    if (g_test_subprocess()) {
        qemu_coroutine_enter(qemu_coroutine_create(reenter_self_entry, NULL));
        return;
    }
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_failed();
    g_test_trap_assert_stderr("*Co-routine re-entered recursively*");
}

static void test_enter_scheduled_aborts(void)
{
    if (g_test_subprocess()) {
        bool done = false;
        Coroutine *co = qemu_coroutine_create(set_flag_entry, &done);

        co->scheduled = "test_enter_scheduled_aborts";
        qemu_coroutine_enter(co);
        return;
    }
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_failed();
    g_test_trap_assert_stderr(
        "*already scheduled in 'test_enter_scheduled_aborts'*");
}

static void test_enter_terminated_aborts(void)
{
    if (g_test_subprocess()) {
        bool done = false;
        Coroutine *co = qemu_coroutine_create(set_flag_entry, &done);

        qemu_coroutine_enter(co);
        qemu_coroutine_enter(co);
        return;
    }
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_failed();
    g_test_trap_assert_stderr("*entered after it terminated*");
}

static void coroutine_fn unlock_foreign_entry(void *opaque)
{
    qemu_co_mutex_unlock(opaque);
}

static void coroutine_fn lock_and_yield_entry(void *opaque)
{
    qemu_co_mutex_lock(opaque);
    qemu_coroutine_yield();
}

static void test_co_mutex_unlock_foreign_aborts(void)
{
    if (g_test_subprocess()) {
        CoMutex lock;

        qemu_co_mutex_init(&lock);
        qemu_coroutine_enter(qemu_coroutine_create(lock_and_yield_entry,
                                                   &lock));
        qemu_coroutine_enter(qemu_coroutine_create(unlock_foreign_entry,
                                                   &lock));
        return;
    }
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_failed();
    g_test_trap_assert_stderr("*is not held by the caller*");
}

/* ------------------------------------------------------------ stack guard */

static uintptr_t guard_stack_top;
static int guard_pipe[2];

/*
 * Runs on the signal stack.  Report whether the fault address lies where
 * the guard page must be: just below QEMU_COROUTINE_STACK_SIZE bytes under
 * the top of the coroutine stack.  Then return: SA_RESETHAND restored the
 * default action, so the faulting access repeats and kills the process.
 */
static void guard_segv_handler(int sig, siginfo_t *info, void *uc)
{
    uintptr_t addr = (uintptr_t)info->si_addr;
    uintptr_t depth = guard_stack_top - addr;
    char verdict = 'x';
    ssize_t n;

    if (addr < guard_stack_top &&
        depth > QEMU_COROUTINE_STACK_SIZE - 8192 &&
        depth <= QEMU_COROUTINE_STACK_SIZE + 4096) {
        verdict = 'g';
    }
    n = write(guard_pipe[1], &verdict, 1);
    (void)n;
}

static int __attribute__((noinline)) guard_recurse(int depth)
{
    volatile char buf[512];
    int i;

    for (i = 0; i < (int)sizeof(buf); i++) {
        buf[i] = (char)(depth + i);
    }
    if (depth == 0) {
        return buf[0];
    }
    /* Use buf after the call, so that this is not a tail call. */
    return guard_recurse(depth - 1) + buf[sizeof(buf) - 1];
}

static void coroutine_fn guard_entry(void *opaque)
{
    volatile char top = 0;

    guard_stack_top = (uintptr_t)&top;
    /* About 2 MiB of frames on a 1 MiB stack. */
    *(int *)opaque = guard_recurse(4096) + top;
}

static void __attribute__((noreturn)) guard_child(void)
{
    struct rlimit no_core = { 0, 0 };
    struct sigaction sa;
    stack_t ss;
    int result = 0;
    char verdict = 'r';
    ssize_t n;

    setrlimit(RLIMIT_CORE, &no_core);
    ss.ss_sp = g_malloc(256 * KiB);
    ss.ss_size = 256 * KiB;
    ss.ss_flags = 0;
    sigaltstack(&ss, NULL);
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = guard_segv_handler;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, NULL);

    qemu_coroutine_enter(qemu_coroutine_create(guard_entry, &result));

    /* Only reached if the overflow went unnoticed. */
    n = write(guard_pipe[1], &verdict, 1);
    (void)n;
    _exit(0);
}

static void test_stack_guard(void)
{
    pid_t pid;
    int status;
    char verdict = 0;
    ssize_t n;

#if CONFIG_ASAN
    g_test_skip("AddressSanitizer intercepts SIGSEGV");
    return;
#endif
#if CONFIG_TSAN
    g_test_skip("ThreadSanitizer loses the coroutines' fibers across fork");
    return;
#endif
    g_assert_cmpint(pipe(guard_pipe), ==, 0);
    pid = fork();
    g_assert_cmpint(pid, >=, 0);
    if (pid == 0) {
        close(guard_pipe[0]);
        guard_child();
    }
    close(guard_pipe[1]);
    n = read(guard_pipe[0], &verdict, 1);
    close(guard_pipe[0]);
    g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);

    g_assert_cmpint(n, ==, 1);
    /* 'g': faulted in the guard page; 'x': elsewhere; 'r': no fault. */
    g_assert_cmpint(verdict, ==, 'g');
    g_assert_true(WIFSIGNALED(status));
    g_assert_cmpint(WTERMSIG(status), ==, SIGSEGV);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    event_log = g_string_new("");

    g_test_add_func("/coroutine/basic", test_basic);
    g_test_add_func("/coroutine/nesting", test_nesting);
    g_test_add_func("/coroutine/yield-order", test_yield_order);
    g_test_add_func("/coroutine/pool-reuse", test_pool_reuse);
    g_test_add_func("/coroutine/in-coroutine", test_in_coroutine);
    g_test_add_func("/coroutine/self", test_self);
    g_test_add_func("/coroutine/entered", test_entered);
    g_test_add_func("/coroutine/deep-nesting", test_deep_nesting);
    g_test_add_func("/coroutine/many", test_many);
    g_test_add_func("/coroutine/co-mutex/fairness", test_co_mutex_fairness);
    g_test_add_func("/coroutine/co-mutex/handoff", test_co_mutex_handoff);
    g_test_add_func("/coroutine/co-mutex/unlock-foreign-aborts",
                    test_co_mutex_unlock_foreign_aborts);
    g_test_add_func("/coroutine/co-queue/restart-all-order",
                    test_co_queue_restart_all_order);
    g_test_add_func("/coroutine/co-queue/wait-with-lock",
                    test_co_queue_wait_with_lock);
    g_test_add_func("/coroutine/wake-later-not-nested",
                    test_wake_later_not_nested);
    g_test_add_func("/coroutine/threads", test_threads);
    g_test_add_func("/coroutine/reenter-aborts", test_reenter_aborts);
    g_test_add_func("/coroutine/enter-scheduled-aborts",
                    test_enter_scheduled_aborts);
    g_test_add_func("/coroutine/enter-terminated-aborts",
                    test_enter_terminated_aborts);
    g_test_add_func("/coroutine/stack-guard", test_stack_guard);

    return g_test_run();
}
