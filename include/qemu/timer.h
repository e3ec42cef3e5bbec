/*
 * timer.h: clocks and timers.
 *
 * QEMU_CLOCK_REALTIME is the host's monotonic clock in nanoseconds; it never
 * jumps with wall-clock changes, so deadlines and rate limits computed from
 * it are safe across NTP adjustments.
 *
 * A QEMUTimer calls a function once, in the thread of the AioContext it
 * belongs to, when its clock reaches the expiry time it was armed with.
 * Timers are created through the context (aio_timer_new() in aio.h); this
 * header holds the clock-independent part: the timer object, arming and
 * disarming it, and the sorted timer lists that an AioContext polls.
 *
 * Threads: timer_mod*(), timer_del(), timer_pending() and
 * timer_expire_time_ns() may be called from any thread (each timer list
 * has a lock).  The callback always runs in the context's thread, so
 * timer_free() and timer_deinit() (which must not race with the callback)
 * belong to that thread.
 *
 * Ownership: the caller owns the QEMUTimer (a timer_new_tl()/aio_timer_new()
 * result is freed with timer_free(); an embedded one, initialised with
 * timer_init_tl()/aio_timer_init(), must be disarmed before its memory
 * goes away).  The list never owns a timer, it only links it while armed.
 */
#ifndef QBLOCK_QEMU_TIMER_H
#define QBLOCK_QEMU_TIMER_H

#include <pthread.h>

typedef enum QEMUClockType {
    QEMU_CLOCK_REALTIME = 0,
    QEMU_CLOCK_MAX
} QEMUClockType;

#define SCALE_MS 1000000
#define SCALE_US 1000
#define SCALE_NS 1

/* Monotonic time in nanoseconds. */
static inline int64_t get_clock(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* The current value of clock @type, in nanoseconds. */
static inline int64_t qemu_clock_get_ns(QEMUClockType type)
{
    return get_clock();
}

static inline int64_t qemu_clock_get_ms(QEMUClockType type)
{
    return qemu_clock_get_ns(type) / SCALE_MS;
}

static inline int64_t qemu_clock_get_us(QEMUClockType type)
{
    return qemu_clock_get_ns(type) / SCALE_US;
}

typedef void QEMUTimerCB(void *opaque);

/*
 * Called (with no lock held, from the thread that armed the timer) when a
 * timer_mod*() made a timer the earliest of its list, so that a poller
 * sleeping on the old deadline wakes up and recomputes it.
 */
typedef void QEMUTimerListNotifyCB(void *opaque, QEMUClockType type);

typedef struct QEMUTimerList QEMUTimerList;

struct QEMUTimer {
    int64_t expire_time;        /* in ns; -1 while not armed */
    QEMUTimerList *timer_list;
    QEMUTimerCB *cb;
    void *opaque;
    QEMUTimer *next;            /* link in timer_list, sorted by deadline */
    int scale;                  /* ns per unit of timer_mod() */
};

/*
 * One clock's armed timers of one AioContext, sorted by expiry time; timers
 * with equal expiry times keep the order in which they were armed.
 * Private to util/qemu-timer.c, visible only so that a context can embed it.
 */
struct QEMUTimerList {
    QEMUClockType type;
    pthread_mutex_t lock;       /* protects active_timers and every ->next */
    QEMUTimer *active_timers;
    QEMUTimerListNotifyCB *notify_cb;
    void *notify_opaque;
};

/* The timer lists of one AioContext, one per clock type. */
typedef struct QEMUTimerListGroup {
    QEMUTimerList tl[QEMU_CLOCK_MAX];
} QEMUTimerListGroup;

/*
 * Timer lists.  The owner of a group (an AioContext) initialises it, asks
 * for the next deadline before sleeping and runs the expired timers after
 * waking, always from its own thread.
 */
void timerlistgroup_init(QEMUTimerListGroup *tlg,
                         QEMUTimerListNotifyCB *cb, void *opaque);

/* Unlinks any timers still armed; they stay the owners' to free. */
void timerlistgroup_deinit(QEMUTimerListGroup *tlg);

/*
 * Nanoseconds until the earliest timer of @tlg expires: 0 if one already
 * has, -1 if no timer is armed.
 */
int64_t timerlistgroup_deadline_ns(QEMUTimerListGroup *tlg);

/*
 * Run the timers that have expired by now, earliest first; returns true if
 * any ran.  A timer re-armed by a callback for a time not after the start
 * of this call waits for the next call, so a callback that re-arms itself
 * "for now" cannot starve the loop.
 */
bool timerlistgroup_run_timers(QEMUTimerListGroup *tlg);

/*
 * Timers.  @scale is the unit of timer_mod() and timer_expired(): one of
 * SCALE_NS, SCALE_US, SCALE_MS.
 */
void timer_init_tl(QEMUTimer *ts, QEMUTimerList *timer_list, int scale,
                   QEMUTimerCB *cb, void *opaque);
QEMUTimer *timer_new_tl(QEMUTimerList *timer_list, int scale,
                        QEMUTimerCB *cb, void *opaque);

/* Disarm @ts and forget its list; it may be initialised again. */
void timer_deinit(QEMUTimer *ts);

/* Disarm and free a timer made by timer_new_tl() or aio_timer_new(). */
void timer_free(QEMUTimer *ts);

/* Disarm @ts; harmless if it is not armed. */
void timer_del(QEMUTimer *ts);

/*
 * Arm (or re-arm) @ts to fire at @expire_time_ns on its clock.  A time in
 * the past fires at the next poll.
 */
void timer_mod_ns(QEMUTimer *ts, int64_t expire_time_ns);

/* As timer_mod_ns(), with @expire_time in units of the timer's scale. */
void timer_mod(QEMUTimer *ts, int64_t expire_time);

/*
 * As timer_mod_ns(), but only ever moves an armed timer earlier: a timer
 * already due before @expire_time_ns is left as it is.
 */
void timer_mod_anticipate_ns(QEMUTimer *ts, int64_t expire_time_ns);
void timer_mod_anticipate(QEMUTimer *ts, int64_t expire_time);

/* True while @ts is armed (it has not fired and has not been deleted). */
bool timer_pending(QEMUTimer *ts);

/* True if @ts is armed for a time at or before @current_time (its scale). */
bool timer_expired(QEMUTimer *ts, int64_t current_time);

/* The time @ts is armed for, in ns; -1 if it is not armed. */
int64_t timer_expire_time_ns(QEMUTimer *ts);

#endif /* QBLOCK_QEMU_TIMER_H */
