/*
 * aio.h: the event loop (AioContext), bottom halves, and how coroutines are
 * handed to a context.
 *
 * An AioContext is one event loop: a set of file descriptors with read and
 * write handlers, a list of scheduled bottom halves (BHs: callbacks to run
 * "soon", from the loop), and timers.  aio_poll() runs one iteration of it.
 * The main context is also a GSource attached to GLib's default main
 * context, so g_main_loop_run() drives it as well.
 *
 * Threads: each context has a home thread, the one that polls it.  Handlers,
 * BHs, timer callbacks and the coroutines of a context all run there.  Any
 * thread may schedule a BH, arm a timer, notify the context or schedule a
 * coroutine into it; everything else is for the home thread unless its
 * comment says otherwise.  Each thread remembers the context it runs
 * (qemu_get_current_aio_context()); the main thread's is the main context,
 * from qemu_init_main_loop() on.
 *
 * Lifetime: a context is reference counted (aio_context_ref/unref).  When
 * the last reference goes, fd handlers still registered are dropped and
 * timers still armed are disarmed; a BH still scheduled aborts, since
 * something was waiting for it.  BHs must be deleted before that.
 */
#ifndef QBLOCK_QEMU_AIO_H
#define QBLOCK_QEMU_AIO_H

#include "qemu/queue.h"
#include "qemu/coroutine.h"
#include "qemu/timer.h"

typedef void IOHandler(void *opaque);
typedef void QEMUBHFunc(void *opaque);

typedef struct AioHandler AioHandler;
typedef struct BHListSlice BHListSlice;

/*
 * The context.  Private to util/async.c, util/aio-posix.c and
 * util/thread-pool.c; visible only so those files can share it.
 */
struct AioContext {
    /* First member: the context is a GSource, and its refcount is ours. */
    GSource source;

    /* One epoll instance holds every fd of the context. */
    int epollfd;
    gpointer epoll_tag;         /* the epoll fd in the GSource */

    /* fd handlers; all three lists are touched by the home thread only. */
    QLIST_HEAD(, AioHandler) aio_handlers;
    QLIST_HEAD(, AioHandler) deleted_handlers;
    QLIST_HEAD(, AioHandler) ready_list;
    unsigned int walking_handlers;

    /*
     * Scheduled BHs not yet taken by a poll: a lock-free stack, newest
     * first, pushed by any thread.  aio_bh_poll() takes it whole,
     * reverses it into schedule order and queues it on bh_slice_list,
     * from which nested polls keep running it.
     */
    QEMUBH *bh_list;
    QSIMPLEQ_HEAD(, BHListSlice) bh_slice_list;

    /*
     * Wake-up protocol: a poller about to sleep adds 2 to notify_me (or
     * sets bit 0, for the GSource), and only then looks for work;
     * aio_notify() publishes work first and only writes the eventfd if
     * notify_me is non-zero.  notified avoids a write per notification
     * while one is still unread.
     */
    unsigned int notify_me;
    bool notified;
    int notify_fd;              /* an eventfd */

    QEMUTimerListGroup tlg;

    /* Coroutines handed over by aio_co_schedule(), a lock-free stack. */
    Coroutine *scheduled_coroutines;
    QEMUBH *co_schedule_bh;

    ThreadPool *thread_pool;    /* made on first use */
    struct IoEngineCtx *io_engine;  /* io-engine.c's state, on first use */
};

/*
 * Context lifetime
 */

/*
 * Create a context with one reference.  It is not attached to any GLib main
 * context; use aio_get_g_source() to do that, or poll it with aio_poll().
 */
AioContext *aio_context_new(Error **errp);

/*
 * Take / drop a reference.  Any thread, as long as it holds one already;
 * the last one is dropped in the home thread, or once nothing runs in the
 * context any more (freeing it stops its thread pool and frees its fds).
 */
void aio_context_ref(AioContext *ctx);
void aio_context_unref(AioContext *ctx);

/*
 * The context as a GSource, with a new reference the caller drops with
 * g_source_unref() (attaching it adds GLib's own reference).
 */
GSource *aio_get_g_source(AioContext *ctx);

/*
 * Create the main context, attach it to GLib's default main context and
 * make it the calling thread's current context.  Called once, by the main
 * thread, before anything uses a context; a second call does nothing.
 */
bool qemu_init_main_loop(Error **errp);

/* The main context (NULL before qemu_init_main_loop()).  Any thread. */
AioContext *qemu_get_aio_context(void);

/* The context the calling thread runs, or NULL if it runs none. */
AioContext *qemu_get_current_aio_context(void);

/*
 * Make @ctx the calling thread's current context: for a thread that will
 * poll @ctx (an I/O thread), before it runs anything in it.
 */
void qemu_set_current_aio_context(AioContext *ctx);

/*
 * Polling
 */

/*
 * Run one iteration of @ctx: the scheduled BHs, the handlers of ready fds,
 * and the expired timers.  If @blocking, first wait until at least one
 * thing is ready (or aio_notify() is called).  Returns true if a handler,
 * BH or timer ran; a blocking call woken only by aio_notify() returns
 * false.  Home thread only.  May be nested (from a handler or a BH), but
 * not called from a coroutine.
 */
bool aio_poll(AioContext *ctx, bool blocking);

/*
 * Make a blocking aio_poll() of @ctx return, or the next one not block.
 * Any thread.  Cheap when nobody is waiting: no system call.
 */
void aio_notify(AioContext *ctx);

/*
 * Watch @fd: @io_read runs when it is readable (or has hung up or failed),
 * @io_write when it is writable, both with @opaque.  Passing both NULL
 * removes the handler; registering again for the same fd replaces the
 * callbacks.  Safe from inside any handler, BH or timer of @ctx, including
 * the handler being changed.  @fd must be something epoll accepts (socket,
 * pipe, eventfd, ...; not a regular file), and its handler must be removed
 * before it is closed.  Home thread only, or any thread while @ctx is not
 * being polled.
 */
void aio_set_fd_handler(AioContext *ctx, int fd, IOHandler *io_read,
                        IOHandler *io_write, void *opaque);

/*
 * Bottom halves
 *
 * A BH is a callback that the context runs from aio_poll(), soon after
 * qemu_bh_schedule(): BHs run in the order they were scheduled, each at
 * most once per schedule.  Scheduling from another thread wakes the
 * context.  A BH scheduled while BHs run (including by itself) runs in the
 * same or the next aio_poll(), never later.
 */

/*
 * A new, unscheduled BH in @ctx; @name is for diagnostics.  Owned by the
 * caller until qemu_bh_delete().
 */
QEMUBH *aio_bh_new_full(AioContext *ctx, QEMUBHFunc *cb, void *opaque,
                        const char *name);
#define aio_bh_new(ctx, cb, opaque) \
    aio_bh_new_full((ctx), (cb), (opaque), (#cb))

/* aio_bh_new() in the main context. */
#define qemu_bh_new(cb, opaque) \
    aio_bh_new_full(qemu_get_aio_context(), (cb), (opaque), (#cb))

/*
 * Run @cb(@opaque) once in @ctx, soon.  Any thread.  Nothing to free: the
 * BH deletes itself after running.
 */
void aio_bh_schedule_oneshot_full(AioContext *ctx, QEMUBHFunc *cb,
                                  void *opaque, const char *name);
#define aio_bh_schedule_oneshot(ctx, cb, opaque) \
    aio_bh_schedule_oneshot_full((ctx), (cb), (opaque), (#cb))

/*
 * Schedule @bh; scheduling a BH that is already scheduled does nothing.
 * Any thread, but not concurrently with qemu_bh_delete().
 */
void qemu_bh_schedule(QEMUBH *bh);

/* Unschedule @bh if it is scheduled and has not started.  Any thread. */
void qemu_bh_cancel(QEMUBH *bh);

/*
 * Unschedule and free @bh, also from inside its own callback.  Home
 * thread; no other thread may schedule @bh at the same time or after.
 */
void qemu_bh_delete(QEMUBH *bh);

/*
 * Run the scheduled BHs of @ctx; returns true if any ran.  Used by
 * aio_poll() and the GSource; home thread only.
 */
bool aio_bh_poll(AioContext *ctx);

/* True if a BH of @ctx is scheduled and not yet run (home thread). */
bool aio_bh_pending(AioContext *ctx);

/*
 * Timers of a context.  The callback runs in @ctx's thread.
 */
static inline QEMUTimer *aio_timer_new(AioContext *ctx, QEMUClockType type,
                                       int scale, QEMUTimerCB *cb,
                                       void *opaque)
{
    return timer_new_tl(&ctx->tlg.tl[type], scale, cb, opaque);
}

static inline void aio_timer_init(AioContext *ctx, QEMUTimer *ts,
                                  QEMUClockType type, int scale,
                                  QEMUTimerCB *cb, void *opaque)
{
    timer_init_tl(ts, &ctx->tlg.tl[type], scale, cb, opaque);
}

/*
 * Coroutines and contexts
 */

/*
 * Enter @co in @ctx from a BH, soon.  Any thread.  @co must have yielded
 * (or be about to yield, in the caller's thread) and must not be scheduled
 * already: doing so twice aborts, naming the first scheduler.  @co's home
 * context becomes @ctx.
 */
void aio_co_schedule(AioContext *ctx, Coroutine *co);

/*
 * Resume @co, which yielded, in its home context: at once if called from
 * that context's thread outside any coroutine; after the calling coroutine
 * yields if called from a coroutine of that context; otherwise through
 * aio_co_schedule().  Any thread.
 */
void aio_co_wake(Coroutine *co);

/* As aio_co_wake(), with @ctx as @co's home context. */
void aio_co_enter(AioContext *ctx, Coroutine *co);

/*
 * Waiting for a condition (nested event loop)
 */

/* Number of threads inside AIO_WAIT_WHILE(); for aio_wait_kick(). */
extern unsigned int aio_wait_num_waiters;

/*
 * Wake AIO_WAIT_WHILE() in the main thread so that it evaluates its
 * condition again.  Any thread; call it after changing state that such a
 * condition reads, when the change does not come with a BH or handler of
 * the main context anyway.  Free when nobody waits.
 */
void aio_wait_kick(void);

/*
 * Poll until @cond is false; evaluates to true if it polled at all.  Not
 * from a coroutine.  From @ctx's own thread, @ctx is polled.  Otherwise the
 * caller must be the main thread, which polls the main context; then the
 * code that makes @cond false in @ctx must call aio_wait_kick().
 */
#define AIO_WAIT_WHILE(ctx, cond) ({                                        \
    bool waited_ = false;                                                   \
    AioContext *ctx_ = (ctx);                                               \
    AioContext *poll_ctx_ = qemu_get_current_aio_context();                 \
                                                                            \
    assert(!qemu_in_coroutine());                                           \
    assert(ctx_ == poll_ctx_ || poll_ctx_ == qemu_get_aio_context());       \
    assert(poll_ctx_ != NULL);                                              \
    __atomic_fetch_add(&aio_wait_num_waiters, 1, __ATOMIC_SEQ_CST);         \
    while ((cond)) {                                                        \
        aio_poll(poll_ctx_, true);                                          \
        waited_ = true;                                                     \
    }                                                                       \
    __atomic_fetch_sub(&aio_wait_num_waiters, 1, __ATOMIC_SEQ_CST);         \
    waited_; })

/*
 * Private to util/: the seams between async.c (context, BHs, GSource) and
 * aio-posix.c (fds, epoll, aio_poll).
 */
bool aio_context_setup(AioContext *ctx, Error **errp);
void aio_context_destroy(AioContext *ctx);

/*
 * How long a poll of @ctx may sleep, in ns: 0 if a BH is pending or a timer
 * expired, -1 for no limit.
 */
int64_t aio_compute_timeout(AioContext *ctx);

#endif /* QBLOCK_QEMU_AIO_H */
