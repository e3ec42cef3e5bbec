/*
 * qemu-coroutine-sleep.c: a coroutine sleeps on a timer of its context.
 *
 * What: the sleeper arms a QEMUTimer that lives on its own stack, records
 * itself in the QemuCoSleep and yields.  Whoever comes first, the timer
 * callback or qemu_co_sleep_wake(), takes the coroutine out of
 * w->to_wake with an atomic exchange and wakes it with aio_co_wake(); the
 * other finds NULL and does nothing.  Back from the yield, the sleeper
 * disarms the timer (a no-op if it fired) and returns.
 *
 * Invariants: while a coroutine sleeps its ->scheduled names this file, so
 * an aio_co_schedule() of a sleeping coroutine aborts with a message that
 * says where it sleeps, instead of entering it twice.  w->to_wake is
 * non-NULL exactly while the sleeper waits and nobody has claimed it.
 *
 * Costs: no allocation; arming and disarming one timer (O(timers armed)).
 *
 * Worked example: a job sleeps 100 ms for rate limiting; after 10 ms the
 * user cancels it and the cancel path calls qemu_co_sleep_wake(&s->sleep).
 * It claims the coroutine, which is scheduled and resumes at the next
 * poll; it removes its timer and returns early, and the job sees the
 * cancel.
 */
#include "qemu/osdep.h"

#include "qapi/error.h"
#include "qemu/aio.h"
#include "qemu/coroutine_int.h"

static const char *const qemu_co_sleep_ns__scheduled = "qemu_co_sleep_ns";

void qemu_co_sleep_wake(QemuCoSleep *w)
{
    Coroutine *co = __atomic_exchange_n(&w->to_wake, NULL, __ATOMIC_SEQ_CST);

    if (!co) {
        return;
    }
    /* Only the claimant gets here: hand the coroutine over to scheduling */
    assert(co->scheduled == qemu_co_sleep_ns__scheduled);
    __atomic_store_n(&co->scheduled, NULL, __ATOMIC_SEQ_CST);
    aio_co_wake(co);
}

static void co_sleep_cb(void *opaque)
{
    qemu_co_sleep_wake(opaque);
}

void coroutine_fn qemu_co_sleep_ns_wakeable(QemuCoSleep *w, int64_t ns)
{
    Coroutine *co = qemu_coroutine_self();
    AioContext *ctx = qemu_get_current_aio_context();
    const char *scheduled = NULL;
    QEMUTimer ts;

    assert(co && ctx);
    if (!__atomic_compare_exchange_n(&co->scheduled, &scheduled,
                                     qemu_co_sleep_ns__scheduled, false,
                                     __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
        error_report("%s: Co-routine was already scheduled in '%s'",
                     __func__, scheduled);
        abort();
    }

    /* The coroutine runs in this thread: that is its home for the wake. */
    __atomic_store_n(&co->ctx, ctx, __ATOMIC_RELAXED);
    w->to_wake = co;
    aio_timer_init(ctx, &ts, QEMU_CLOCK_REALTIME, SCALE_NS, co_sleep_cb, w);
    timer_mod_ns(&ts, qemu_clock_get_ns(QEMU_CLOCK_REALTIME) + MAX(ns, 0));

    qemu_coroutine_yield();

    /* Woken early: the timer is still armed and points at our stack. */
    timer_del(&ts);
    /* Whoever woke us claimed to_wake first; anything else is a bug. */
    assert(w->to_wake == NULL);
}

void coroutine_fn qemu_co_sleep_ns(int64_t ns)
{
    QemuCoSleep w = { 0 };

    qemu_co_sleep_ns_wakeable(&w, ns);
}
