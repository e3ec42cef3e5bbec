/*
 * qemu-coroutine-lock.c: CoQueue and CoMutex, the waiting primitives of
 * coroutines in one thread.
 *
 * What they are.  A CoQueue is a FIFO of suspended coroutines linked
 * through their co_queue_next field; waking one moves it onto the running
 * coroutine's wake-up queue (qemu_coroutine_wake_later()), so it runs once
 * the waker yields.  A CoMutex is a holder, a count, and a FIFO of waiters
 * built the same way.
 *
 * Invariants.
 *   - A coroutine is on at most one list at a time (a CoQueue, a mutex's
 *     waiters, or a wake-up queue): they share one link field.
 *   - mutex->locked == 0 iff holder == NULL iff the waiter list is empty;
 *     otherwise locked == 1 + number of waiters.
 *   - Unlock with waiters never leaves the mutex free: ownership passes to
 *     the oldest waiter before it even runs.  So a coroutine that calls
 *     lock between the unlock and the waiter's wake-up queues behind it;
 *     no one barges, and with N waiters each waits for at most N turns.
 *
 * Costs.  Uncontended lock and unlock are a few stores and no switch.  A
 * contended lock is one yield; the hand-off is O(1).  CoQueue wait, next
 * and restart_all are O(1) per coroutine.
 *
 * Worked example.  A holds M; B and C call lock and wait, in that order
 * (locked == 3).  A unlocks: holder = B, locked == 2, B is queued to run
 * after A yields.  A calls lock again: locked == 3, A waits behind C.  A
 * yields, B runs holding M; when B unlocks, C gets it, then A.
 */
#include "qemu/osdep.h"

#include "qemu/coroutine_int.h"
#include "trace.h"

void qemu_co_queue_init(CoQueue *queue)
{
    QSIMPLEQ_INIT(&queue->entries);
}

void coroutine_fn qemu_co_queue_wait(CoQueue *queue, CoMutex *lock)
{
    Coroutine *self = qemu_coroutine_self();

    assert(self);
    QSIMPLEQ_INSERT_TAIL(&queue->entries, self, co_queue_next);
    if (lock) {
        qemu_co_mutex_unlock(lock);
    }

    /* Whoever pops us from @queue wakes us; nothing else may enter us. */
    qemu_coroutine_yield();

    if (lock) {
        qemu_co_mutex_lock(lock);
    }
}

bool qemu_co_queue_next(CoQueue *queue)
{
    Coroutine *next = QSIMPLEQ_FIRST(&queue->entries);

    if (!next) {
        return false;
    }
    QSIMPLEQ_REMOVE_HEAD(&queue->entries, co_queue_next);
    qemu_coroutine_wake_later(next);
    return true;
}

void qemu_co_queue_restart_all(CoQueue *queue)
{
    while (qemu_co_queue_next(queue)) {
        /* each waiter is queued behind the previous one */
    }
}

bool qemu_co_enter_next(CoQueue *queue)
{
    Coroutine *next = QSIMPLEQ_FIRST(&queue->entries);

    if (!next) {
        return false;
    }
    QSIMPLEQ_REMOVE_HEAD(&queue->entries, co_queue_next);
    qemu_coroutine_enter(next);
    return true;
}

bool qemu_co_queue_empty(CoQueue *queue)
{
    return QSIMPLEQ_EMPTY(&queue->entries);
}

void qemu_co_mutex_init(CoMutex *mutex)
{
    mutex->holder = NULL;
    mutex->locked = 0;
    QSIMPLEQ_INIT(&mutex->waiters);
}

void coroutine_fn qemu_co_mutex_lock(CoMutex *mutex)
{
    Coroutine *self = qemu_coroutine_self();

    if (!self) {
        fprintf(stderr, "qemu_co_mutex_lock: called outside coroutine "
                "context\n");
        abort();
    }
    if (mutex->holder == self) {
        fprintf(stderr, "qemu_co_mutex_lock: mutex %p already held by "
                "this coroutine\n", (void *)mutex);
        abort();
    }

    if (mutex->locked++ == 0) {
        trace_qemu_co_mutex_lock_uncontended(mutex, self);
        mutex->holder = self;
        return;
    }

    trace_qemu_co_mutex_lock_entry(mutex, self);
    QSIMPLEQ_INSERT_TAIL(&mutex->waiters, self, co_queue_next);
    qemu_coroutine_yield();

    /* Unlock made us the holder before it woke us. */
    assert(mutex->holder == self);
    trace_qemu_co_mutex_lock_return(mutex, self);
}

void coroutine_fn qemu_co_mutex_unlock(CoMutex *mutex)
{
    Coroutine *self = qemu_coroutine_self();
    Coroutine *next;

    trace_qemu_co_mutex_unlock_entry(mutex, self);
    if (!self || mutex->holder != self) {
        fprintf(stderr, "qemu_co_mutex_unlock: mutex %p is not held by "
                "the caller (holder %p)\n", (void *)mutex,
                (void *)mutex->holder);
        abort();
    }
    assert(mutex->locked > 0);

    if (--mutex->locked == 0) {
        mutex->holder = NULL;
    } else {
        next = QSIMPLEQ_FIRST(&mutex->waiters);
        assert(next);
        QSIMPLEQ_REMOVE_HEAD(&mutex->waiters, co_queue_next);
        mutex->holder = next;
        qemu_coroutine_wake_later(next);
    }
    trace_qemu_co_mutex_unlock_return(mutex, self);
}

void coroutine_fn qemu_co_mutex_assert_locked(CoMutex *mutex)
{
    Coroutine *self = qemu_coroutine_self();

    if (!self || mutex->holder != self) {
        fprintf(stderr, "qemu_co_mutex_assert_locked: mutex %p is not held "
                "by the running coroutine (holder %p)\n", (void *)mutex,
                (void *)mutex->holder);
        abort();
    }
}
