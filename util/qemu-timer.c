/*
 * qemu-timer.c: timers and the sorted lists an AioContext polls them from.
 *
 * What: a QEMUTimerList is a singly linked list of armed timers, sorted by
 * expiry time.  The head is the next deadline, which is all the event loop
 * needs to know before it sleeps: timerlistgroup_deadline_ns() turns it into
 * a timeout, and timerlistgroup_run_timers() pops expired heads after the
 * sleep.
 *
 * Invariants:
 *   - A timer is on its list exactly when expire_time >= 0 (armed).
 *   - The list is sorted by expire_time; among equal times, the timer armed
 *     first comes first, so equal deadlines fire in the order they were set.
 *   - The list lock protects the links and expire_time of every timer on
 *     it.  It is never held while a callback runs, so a callback may arm,
 *     disarm or free any timer, including itself.
 *
 * Costs: arming is O(n) in the number of armed timers of that list (a walk
 * to the insertion point), disarming is O(n), the deadline query and
 * popping an expired timer are O(1).  An AioContext has a handful of timers
 * armed at once (sleeping jobs, rate limits, reconnect delays), so a list
 * beats a heap on constants; nothing is allocated by any of these.
 *
 * Worked example: timers A at t=30, B at t=10, C at t=10 armed in that
 * order give the list B(10) -> C(10) -> A(30).  The loop sleeps 10 - now.
 * At t=12 run_timers pops B, then C (both due), and stops at A.  If B's
 * callback re-arms B at t=12, B goes after C and before A, but does not run
 * again in this pass: the pass only runs timers due by the time it began.
 */
#include "qemu/osdep.h"

#include "qemu/timer.h"

static void timerlist_init(QEMUTimerList *tl, QEMUClockType type,
                           QEMUTimerListNotifyCB *cb, void *opaque)
{
    tl->type = type;
    pthread_mutex_init(&tl->lock, NULL);
    tl->active_timers = NULL;
    tl->notify_cb = cb;
    tl->notify_opaque = opaque;
}

static void timerlist_deinit(QEMUTimerList *tl)
{
    QEMUTimer *ts;

    pthread_mutex_lock(&tl->lock);
    while ((ts = tl->active_timers)) {
        tl->active_timers = ts->next;
        ts->next = NULL;
        ts->expire_time = -1;
    }
    pthread_mutex_unlock(&tl->lock);
    pthread_mutex_destroy(&tl->lock);
}

void timerlistgroup_init(QEMUTimerListGroup *tlg,
                         QEMUTimerListNotifyCB *cb, void *opaque)
{
    int type;

    for (type = 0; type < QEMU_CLOCK_MAX; type++) {
        timerlist_init(&tlg->tl[type], type, cb, opaque);
    }
}

void timerlistgroup_deinit(QEMUTimerListGroup *tlg)
{
    int type;

    for (type = 0; type < QEMU_CLOCK_MAX; type++) {
        timerlist_deinit(&tlg->tl[type]);
    }
}

static int64_t timerlist_deadline_ns(QEMUTimerList *tl)
{
    int64_t expire_time;
    int64_t delta;

    pthread_mutex_lock(&tl->lock);
    expire_time = tl->active_timers ? tl->active_timers->expire_time : -1;
    pthread_mutex_unlock(&tl->lock);

    if (expire_time < 0) {
        return -1;
    }
    delta = expire_time - qemu_clock_get_ns(tl->type);
    return delta > 0 ? delta : 0;
}

int64_t timerlistgroup_deadline_ns(QEMUTimerListGroup *tlg)
{
    int64_t deadline = -1;
    int type;

    for (type = 0; type < QEMU_CLOCK_MAX; type++) {
        int64_t d = timerlist_deadline_ns(&tlg->tl[type]);

        if (d >= 0 && (deadline < 0 || d < deadline)) {
            deadline = d;
        }
    }
    return deadline;
}

static bool timerlist_run_timers(QEMUTimerList *tl)
{
    int64_t now;
    bool progress = false;

    /* Cheap exit for the common case: nothing armed at all. */
    if (!__atomic_load_n(&tl->active_timers, __ATOMIC_RELAXED)) {
        return false;
    }

    now = qemu_clock_get_ns(tl->type);
    pthread_mutex_lock(&tl->lock);
    for (;;) {
        QEMUTimer *ts = tl->active_timers;
        QEMUTimerCB *cb;
        void *opaque;

        if (!ts || ts->expire_time > now) {
            break;
        }
        /* Disarm before the callback, so that it may re-arm or free @ts. */
        __atomic_store_n(&tl->active_timers, ts->next, __ATOMIC_RELAXED);
        ts->next = NULL;
        ts->expire_time = -1;
        cb = ts->cb;
        opaque = ts->opaque;

        pthread_mutex_unlock(&tl->lock);
        cb(opaque);
        progress = true;
        pthread_mutex_lock(&tl->lock);
    }
    pthread_mutex_unlock(&tl->lock);
    return progress;
}

bool timerlistgroup_run_timers(QEMUTimerListGroup *tlg)
{
    bool progress = false;
    int type;

    for (type = 0; type < QEMU_CLOCK_MAX; type++) {
        progress |= timerlist_run_timers(&tlg->tl[type]);
    }
    return progress;
}

void timer_init_tl(QEMUTimer *ts, QEMUTimerList *timer_list, int scale,
                   QEMUTimerCB *cb, void *opaque)
{
    assert(scale > 0);
    ts->expire_time = -1;
    ts->timer_list = timer_list;
    ts->cb = cb;
    ts->opaque = opaque;
    ts->next = NULL;
    ts->scale = scale;
}

QEMUTimer *timer_new_tl(QEMUTimerList *timer_list, int scale,
                        QEMUTimerCB *cb, void *opaque)
{
    QEMUTimer *ts = g_new0(QEMUTimer, 1);

    timer_init_tl(ts, timer_list, scale, cb, opaque);
    return ts;
}

/* Called with tl->lock held.  Returns true if @ts was armed. */
static bool timer_del_locked(QEMUTimerList *tl, QEMUTimer *ts)
{
    QEMUTimer **pt;

    if (ts->expire_time < 0) {
        return false;
    }
    for (pt = &tl->active_timers; *pt; pt = &(*pt)->next) {
        if (*pt == ts) {
            __atomic_store_n(pt, ts->next, __ATOMIC_RELAXED);
            break;
        }
    }
    ts->next = NULL;
    ts->expire_time = -1;
    return true;
}

/*
 * Called with tl->lock held and @ts not armed.  Returns true if @ts became
 * the head, i.e. the list's deadline moved earlier.
 */
static bool timer_insert_locked(QEMUTimerList *tl, QEMUTimer *ts,
                                int64_t expire_time)
{
    QEMUTimer **pt;

    /* Negative times would read as "not armed". */
    expire_time = MAX(expire_time, 0);
    for (pt = &tl->active_timers; *pt; pt = &(*pt)->next) {
        /* Strictly greater: equal deadlines keep the order they were set. */
        if ((*pt)->expire_time > expire_time) {
            break;
        }
    }
    ts->expire_time = expire_time;
    ts->next = *pt;
    __atomic_store_n(pt, ts, __ATOMIC_RELAXED);
    return pt == &tl->active_timers;
}

static void timerlist_notify(QEMUTimerList *tl)
{
    if (tl->notify_cb) {
        tl->notify_cb(tl->notify_opaque, tl->type);
    }
}

void timer_deinit(QEMUTimer *ts)
{
    timer_del(ts);
    ts->timer_list = NULL;
}

void timer_free(QEMUTimer *ts)
{
    if (ts) {
        timer_del(ts);
        g_free(ts);
    }
}

void timer_del(QEMUTimer *ts)
{
    QEMUTimerList *tl = ts->timer_list;

    if (tl) {
        pthread_mutex_lock(&tl->lock);
        timer_del_locked(tl, ts);
        pthread_mutex_unlock(&tl->lock);
    }
}

void timer_mod_ns(QEMUTimer *ts, int64_t expire_time_ns)
{
    QEMUTimerList *tl = ts->timer_list;
    bool rearm;

    assert(tl);
    pthread_mutex_lock(&tl->lock);
    timer_del_locked(tl, ts);
    rearm = timer_insert_locked(tl, ts, expire_time_ns);
    pthread_mutex_unlock(&tl->lock);

    if (rearm) {
        timerlist_notify(tl);
    }
}

void timer_mod(QEMUTimer *ts, int64_t expire_time)
{
    timer_mod_ns(ts, expire_time * ts->scale);
}

void timer_mod_anticipate_ns(QEMUTimer *ts, int64_t expire_time_ns)
{
    QEMUTimerList *tl = ts->timer_list;
    bool rearm = false;

    assert(tl);
    pthread_mutex_lock(&tl->lock);
    if (ts->expire_time < 0 || ts->expire_time > expire_time_ns) {
        timer_del_locked(tl, ts);
        rearm = timer_insert_locked(tl, ts, expire_time_ns);
    }
    pthread_mutex_unlock(&tl->lock);

    if (rearm) {
        timerlist_notify(tl);
    }
}

void timer_mod_anticipate(QEMUTimer *ts, int64_t expire_time)
{
    timer_mod_anticipate_ns(ts, expire_time * ts->scale);
}

bool timer_pending(QEMUTimer *ts)
{
    return timer_expire_time_ns(ts) >= 0;
}

bool timer_expired(QEMUTimer *ts, int64_t current_time)
{
    int64_t expire_time = timer_expire_time_ns(ts);

    return expire_time >= 0 && expire_time <= current_time * ts->scale;
}

int64_t timer_expire_time_ns(QEMUTimer *ts)
{
    QEMUTimerList *tl = ts->timer_list;
    int64_t expire_time;

    if (!tl) {
        return -1;
    }
    pthread_mutex_lock(&tl->lock);
    expire_time = ts->expire_time;
    pthread_mutex_unlock(&tl->lock);
    return expire_time;
}
