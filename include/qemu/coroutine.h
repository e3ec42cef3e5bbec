/*
 * Coroutines: cooperative threads of control for the block layer.
 *
 * A coroutine runs on its own stack until it yields; control then goes
 * back to whoever entered it, and a later qemu_coroutine_enter() resumes it
 * right after the yield.  Block layer code that waits for I/O is written as
 * straight-line code in a coroutine and yields while the I/O is in flight;
 * the completion callback re-enters it.
 *
 * Threads: a coroutine belongs to the thread that created it and is only
 * entered from that thread.  Other threads hand a coroutine to its home
 * AioContext with aio_co_wake()/aio_co_schedule() (see aio.h).
 *
 * Lifetime: a coroutine is freed (returned to a per-thread pool) when its
 * entry function returns.  Entering a coroutine that is already running is
 * a bug and aborts; so is entering one that has terminated, as long as the
 * pool has not handed its memory to a new coroutine yet.
 *
 * Wake-ups from inside a coroutine: when a coroutine wakes another one (for
 * example by unlocking a CoMutex), the woken coroutine is not entered
 * nested inside the waker; it is queued and entered by the enter loop as
 * soon as the waker yields or terminates.  This bounds stack depth and
 * makes wake order FIFO.
 */
#ifndef QBLOCK_QEMU_COROUTINE_H
#define QBLOCK_QEMU_COROUTINE_H

#include "qemu/queue.h"

typedef void coroutine_fn CoroutineEntry(void *opaque);

/*
 * Create a coroutine that will run @entry(@opaque) when first entered.
 * Never fails (aborts on out-of-memory, as g_malloc does).  The coroutine
 * inherits the AioContext of the coroutine that creates it, if any.
 */
Coroutine *qemu_coroutine_create(CoroutineEntry *entry, void *opaque);

/*
 * Transfer control to @co; returns when @co yields or terminates, and after
 * every coroutine woken meanwhile (see the wake-up rule above) has run too.
 * May be called from outside or inside a coroutine of the thread that
 * created @co.  @co must not be running, must not be up the caller chain,
 * and must not be scheduled with aio_co_schedule(): any of these aborts
 * with a message on stderr.
 */
void qemu_coroutine_enter(Coroutine *co);

/* Enter @co unless it is currently entered (running or a caller). */
void qemu_coroutine_enter_if_inactive(Coroutine *co);

/*
 * Give control back to the caller of qemu_coroutine_enter().  Aborts when
 * called outside coroutine context.
 */
void coroutine_fn qemu_coroutine_yield(void);

/* The coroutine now running, or NULL outside coroutine context. */
Coroutine *qemu_coroutine_self(void);

/* True if the caller runs inside a coroutine. */
bool qemu_in_coroutine(void);

/*
 * True if @co has been entered and has not yet yielded back, i.e. it runs
 * now or is somewhere up the chain of callers of the running coroutine.
 */
bool qemu_coroutine_entered(Coroutine *co);

/*
 * The AioContext @co belongs to: inherited at creation, set again when it
 * is scheduled or woken through an AioContext; NULL if none ever was.
 */
AioContext *qemu_coroutine_get_aio_context(Coroutine *co);

/*
 * Each coroutine runs on a stack of this many bytes, mapped lazily (only
 * the pages it touches cost memory), with an inaccessible guard page below
 * it: overflowing the stack faults instead of writing over a neighbour.
 */
#define QEMU_COROUTINE_STACK_SIZE (1 * MiB)

/*
 * A terminated coroutine, with its stack, is kept for reuse by the next
 * qemu_coroutine_create() in the same thread; each thread keeps at most
 * this many and frees the rest.  The pool is freed when the thread exits.
 */
#define QEMU_COROUTINE_POOL_MAX 64

/*
 * Pool statistics for tests and benchmarks: how many coroutines are kept
 * for reuse by this thread right now (at most QEMU_COROUTINE_POOL_MAX).
 */
unsigned int qemu_coroutine_pool_size(void);

/*
 * CoQueue: a FIFO of coroutines waiting for a condition.
 *
 * Unlike a condition variable, a CoQueue needs no lock when all users run
 * in one thread; with a CoMutex it behaves as a condition variable would.
 */
typedef struct CoQueue {
    QSIMPLEQ_HEAD(, Coroutine) entries;
} CoQueue;

typedef struct CoMutex CoMutex;

void qemu_co_queue_init(CoQueue *queue);

/*
 * Append the running coroutine to @queue and yield.  If @lock is not NULL
 * it is released before yielding and taken again before returning.
 */
void coroutine_fn qemu_co_queue_wait(CoQueue *queue, CoMutex *lock);

/*
 * Wake the first waiter; returns false if @queue was empty.  The waiter
 * runs after the caller yields (from a coroutine) or at once (otherwise).
 */
bool qemu_co_queue_next(CoQueue *queue);

/* Wake every waiter; they run in FIFO order, as qemu_co_queue_next(). */
void qemu_co_queue_restart_all(CoQueue *queue);

/*
 * Enter the first waiter at once, even from outside coroutine context;
 * returns false if @queue was empty.
 */
bool qemu_co_enter_next(CoQueue *queue);

bool qemu_co_queue_empty(CoQueue *queue);

/*
 * CoMutex: a mutex for coroutines.  A coroutine that finds it taken yields
 * until the holder unlocks it.  Hand-off is FIFO: the unlocker passes the
 * lock directly to the oldest waiter, so no waiter starves, and nobody can
 * take the lock between the unlock and the waiter's wake-up.
 *
 * All users of one CoMutex (and of one CoQueue) run in the same thread, the
 * one of its AioContext.  Locking a mutex one already holds, or unlocking
 * one held by another coroutine, is a bug and aborts.
 */
struct CoMutex {
    Coroutine *holder;
    unsigned int locked;          /* holder plus number of waiters */
    QSIMPLEQ_HEAD(, Coroutine) waiters;
};

void qemu_co_mutex_init(CoMutex *mutex);

/*
 * Take @mutex; if it is held, queue behind any earlier waiters and yield
 * until the lock is handed over.  Coroutine context only.
 */
void coroutine_fn qemu_co_mutex_lock(CoMutex *mutex);

/*
 * Release @mutex, which the running coroutine must hold.  If coroutines
 * wait, the oldest becomes the holder at once and runs after the caller
 * yields or terminates.
 */
void coroutine_fn qemu_co_mutex_unlock(CoMutex *mutex);

/* Abort unless the running coroutine holds @mutex. */
void coroutine_fn qemu_co_mutex_assert_locked(CoMutex *mutex);

/*
 * Sleep for @ns nanoseconds of the monotonic clock, in the current
 * coroutine's AioContext.  Implemented with an AioContext timer.
 */
void coroutine_fn qemu_co_sleep_ns(int64_t ns);

/*
 * A sleep that another party may cut short: qemu_co_sleep_wake() on the
 * same QemuCoSleep wakes the sleeper before its deadline.  Used by jobs, so
 * that cancel or a speed change takes effect at once.
 */
typedef struct QemuCoSleep {
    Coroutine *to_wake;
} QemuCoSleep;

void coroutine_fn qemu_co_sleep_ns_wakeable(QemuCoSleep *w, int64_t ns);
void qemu_co_sleep_wake(QemuCoSleep *w);

#endif /* QBLOCK_QEMU_COROUTINE_H */
