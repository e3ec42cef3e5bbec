/*
 * qemu-coroutine.c: creating, entering, yielding and recycling coroutines.
 *
 * What it is.  Each thread has a little state of its own (CoroutineThread):
 * the coroutine that runs now, a "leader" Coroutine that stands for the
 * thread's own stack, and a pool of terminated coroutines kept for reuse.
 * Entering pushes onto an implicit call stack: the entered coroutine's
 * @caller points back at whoever entered it, and yielding pops (switches to
 * @caller and clears it).  Stacks and the actual switch belong to the
 * backend in coroutine-switch.c.
 *
 * Invariants.
 *   - co->caller != NULL exactly while @co runs or is up the caller chain
 *     of the coroutine that runs; entering such a coroutine aborts.
 *   - The thread's "current" is the running coroutine, NULL on the thread's
 *     own stack.  Only qemu_coroutine_enter() changes it: to the entered
 *     coroutine before switching, back to its old value after.
 *   - A coroutine never enters another from its wake-up queue itself.  The
 *     enter loop, running in the context that entered the waker, does that
 *     once the waker has yielded or terminated, so wake-ups never nest
 *     stacks and run in the order they were made (FIFO).
 *   - Pool entries have entry == NULL and an empty wake-up queue; the pool
 *     holds at most QEMU_COROUTINE_POOL_MAX of them.
 *
 * Costs.  Create is a pool pop (a fresh coroutine costs two mmap calls when
 * the pool is empty); enter and yield are one backend switch each plus a
 * few stores; termination is a switch and a pool push.  Nothing allocates
 * on the enter/yield path.
 *
 * Worked example.  Outside coroutine context, enter(A).  A unlocks a
 * CoMutex that B waits on, so B is appended to A's wake-up queue, and A
 * goes on running.  A yields: control returns to the enter loop, which
 * moves B from A's queue to its own pending list and enters B, with the
 * thread's stack as B's caller (not A).  B finishes; the loop finds
 * nothing pending and enter(A) returns.
 */
#include "qemu/osdep.h"

#include <pthread.h>

#include "qemu/coroutine_int.h"
#include "trace.h"

typedef struct CoroutineThread {
    Coroutine *current;       /* running coroutine; NULL on own stack */
    Coroutine *leader;        /* the thread's own stack, created lazily */
    QSLIST_HEAD(, Coroutine) pool;
    unsigned int pool_size;
} CoroutineThread;

/*
 * initial-exec: the library is linked into executables only, and this
 * keeps the TLS access on the hot path a single %fs-relative load.
 */
static __thread CoroutineThread co_thread
    __attribute__((tls_model("initial-exec")));

static pthread_key_t co_thread_key;
static pthread_once_t co_thread_key_once = PTHREAD_ONCE_INIT;

/* Runs when a thread that used coroutines exits: free its pool. */
static void coroutine_thread_cleanup(void *opaque)
{
    CoroutineThread *t = opaque;
    Coroutine *co;

    while ((co = QSLIST_FIRST(&t->pool))) {
        QSLIST_REMOVE_HEAD(&t->pool, pool_next);
        qemu_coroutine_delete(co);
    }
    t->pool_size = 0;
    if (t->leader) {
        qemu_coroutine_delete(t->leader);
        t->leader = NULL;
    }
}

static void coroutine_thread_key_init(void)
{
    if (pthread_key_create(&co_thread_key, coroutine_thread_cleanup)) {
        fprintf(stderr, "qemu_coroutine: pthread_key_create failed\n");
        abort();
    }
}

static Coroutine *coroutine_get_leader(CoroutineThread *t)
{
    if (unlikely(!t->leader)) {
        pthread_once(&co_thread_key_once, coroutine_thread_key_init);
        t->leader = qemu_coroutine_new_leader();
        /* A non-NULL value is what makes the destructor run at exit. */
        pthread_setspecific(co_thread_key, t);
    }
    return t->leader;
}

Coroutine *qemu_coroutine_create(CoroutineEntry *entry, void *opaque)
{
    CoroutineThread *t = &co_thread;
    Coroutine *co = QSLIST_FIRST(&t->pool);

    if (co) {
        QSLIST_REMOVE_HEAD(&t->pool, pool_next);
        t->pool_size--;
    } else {
        co = qemu_coroutine_new();
        QSIMPLEQ_INIT(&co->co_queue_wakeup);
    }
    co->entry = entry;
    co->entry_arg = opaque;
    co->ctx = t->current ? t->current->ctx : NULL;
    return co;
}

/* @co has terminated: keep it for the next create, or free it. */
static void coroutine_release(CoroutineThread *t, Coroutine *co)
{
    assert(QSIMPLEQ_EMPTY(&co->co_queue_wakeup));
    co->entry = NULL;
    co->entry_arg = NULL;
    co->ctx = NULL;
    if (t->pool_size < QEMU_COROUTINE_POOL_MAX) {
        QSLIST_INSERT_HEAD(&t->pool, co, pool_next);
        t->pool_size++;
    } else {
        qemu_coroutine_delete(co);
    }
}

static void coroutine_check_enter(Coroutine *co)
{
    if (co->caller) {
        fprintf(stderr, "Co-routine re-entered recursively\n");
        abort();
    }
    if (co->scheduled) {
        fprintf(stderr, "qemu_coroutine_enter: Co-routine was already "
                "scheduled in '%s'\n", co->scheduled);
        abort();
    }
    if (!co->entry) {
        fprintf(stderr, "qemu_coroutine_enter: Co-routine %p entered after "
                "it terminated\n", (void *)co);
        abort();
    }
}

void qemu_coroutine_enter(Coroutine *co)
{
    CoroutineThread *t = &co_thread;
    Coroutine *prev = t->current;
    Coroutine *self = prev ? prev : coroutine_get_leader(t);
    QSIMPLEQ_HEAD(, Coroutine) pending = QSIMPLEQ_HEAD_INITIALIZER(pending);
    Coroutine *to = co;

    for (;;) {
        CoroutineAction ret;

        coroutine_check_enter(to);
        trace_qemu_coroutine_enter(self, to, to->entry_arg);

        to->caller = self;
        t->current = to;
        ret = qemu_coroutine_switch(self, to, COROUTINE_ENTER);
        t->current = prev;

        /*
         * Whatever @to woke runs now, after everything woken before it:
         * append, so that the order of wake-ups is the order of entries.
         */
        QSIMPLEQ_CONCAT(&pending, &to->co_queue_wakeup);
        if (ret == COROUTINE_TERMINATE) {
            coroutine_release(t, to);
        } else {
            assert(ret == COROUTINE_YIELD);
        }

        to = QSIMPLEQ_FIRST(&pending);
        if (!to) {
            break;
        }
        QSIMPLEQ_REMOVE_HEAD(&pending, co_queue_next);
    }
}

void qemu_coroutine_enter_if_inactive(Coroutine *co)
{
    if (!qemu_coroutine_entered(co)) {
        qemu_coroutine_enter(co);
    }
}

void coroutine_fn qemu_coroutine_yield(void)
{
    Coroutine *self = co_thread.current;
    Coroutine *to;

    if (!self) {
        fprintf(stderr, "qemu_coroutine_yield: called outside coroutine "
                "context\n");
        abort();
    }
    to = self->caller;
    trace_qemu_coroutine_yield(self, to);
    self->caller = NULL;
    qemu_coroutine_switch(self, to, COROUTINE_YIELD);
}

void qemu_coroutine_run(Coroutine *co)
{
    for (;;) {
        Coroutine *to;

        co->entry(co->entry_arg);

        trace_qemu_coroutine_terminate(co);
        to = co->caller;
        co->caller = NULL;
        /* The enter loop releases us to the pool; we resume here on reuse. */
        qemu_coroutine_switch(co, to, COROUTINE_TERMINATE);
    }
}

void qemu_coroutine_wake_later(Coroutine *co)
{
    Coroutine *self = co_thread.current;

    if (self) {
        trace_qemu_coroutine_wake_later(self, co);
        QSIMPLEQ_INSERT_TAIL(&self->co_queue_wakeup, co, co_queue_next);
    } else {
        qemu_coroutine_enter(co);
    }
}

Coroutine *qemu_coroutine_self(void)
{
    return co_thread.current;
}

bool qemu_in_coroutine(void)
{
    return co_thread.current != NULL;
}

bool qemu_coroutine_entered(Coroutine *co)
{
    return co->caller != NULL;
}

AioContext *qemu_coroutine_get_aio_context(Coroutine *co)
{
    return co->ctx;
}

unsigned int qemu_coroutine_pool_size(void)
{
    return co_thread.pool_size;
}
