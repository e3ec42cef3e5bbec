/*
 * async.c: AioContext objects, bottom halves, waking a context, and handing
 * coroutines to a context.
 *
 * Bottom halves.  A scheduled BH sits on ctx->bh_list, a lock-free stack
 * that any thread pushes onto with one compare-and-swap.  Its state is a
 * word of flags changed only with atomic read-modify-writes:
 *
 *   PENDING    on bh_list or on a slice (below); set by whoever pushes it
 *   SCHEDULED  run it when it comes off the list; cleared by cancel
 *   DELETED    free it when it comes off the list instead of running it
 *   ONESHOT    free it after running it
 *
 * qemu_bh_schedule() sets PENDING|SCHEDULED and pushes the BH only if
 * PENDING was clear, which makes scheduling idempotent and keeps every BH
 * on at most one list.  aio_bh_poll() swaps the whole stack out, reverses it
 * into schedule order (a "slice") and pops BHs off it, clearing PENDING and
 * SCHEDULED before calling each one; from then on the BH may be scheduled
 * again, so a BH that reschedules itself runs in the next aio_bh_poll().
 *
 * Slices are queued on ctx->bh_slice_list and popped from its oldest end.
 * A BH that runs a nested aio_poll() (AIO_WAIT_WHILE in a callback) thus
 * keeps running the BHs scheduled before it, in order, instead of skipping
 * them until it returns, which could wait forever on one of them.
 *
 * Waking the context.  A poller about to sleep adds to ctx->notify_me, then
 * looks for work (BHs, timers); aio_notify() publishes work, then reads
 * notify_me and writes the eventfd only if someone sleeps or is about to.
 * With sequentially consistent operations on both sides at least one of
 * them sees the other, so no wake-up is lost, and a busy loop never pays
 * for a system call.  ctx->notified collapses a burst of notifications
 * into one eventfd write; only the eventfd's reader clears it, after
 * draining, so a set flag always means a write is done or about to be.
 *
 * Costs: schedule is one atomic OR, plus a CAS and a fence when the BH was
 * not pending; running a BH is one atomic AND.  Nothing is allocated except
 * by aio_bh_new() and aio_bh_schedule_oneshot().
 *
 * Worked example: thread T schedules A then B; the main thread sleeps in
 * aio_poll().  A's push sees notify_me == 2 and writes the eventfd; B's
 * push sees notified already set and skips the write.  The poller wakes,
 * takes the stack B -> A, reverses it to A -> B and runs A, then B.  If A
 * schedules A again, A goes on the now empty bh_list and the next
 * aio_poll() does not sleep (a BH is pending), so A runs there.
 */
#include "qemu/osdep.h"

#include <sys/eventfd.h>

#include "qapi/error.h"
#include "qemu/aio.h"
#include "qemu/coroutine_int.h"
#include "qemu/io-engine.h"
#include "qemu/thread-pool.h"
#include "trace.h"

enum {
    BH_PENDING   = 1 << 0,
    BH_SCHEDULED = 1 << 1,
    BH_DELETED   = 1 << 2,
    BH_ONESHOT   = 1 << 3,
};

struct QEMUBH {
    AioContext *ctx;
    const char *name;
    QEMUBHFunc *cb;
    void *opaque;
    QEMUBH *next;               /* link in bh_list or a slice */
    unsigned int flags;
};

/* BHs taken off bh_list by one aio_bh_poll(), in schedule order. */
struct BHListSlice {
    QEMUBH *head;
    QSIMPLEQ_ENTRY(BHListSlice) next;
};

/*
 * A full memory barrier before reading *@p.  ThreadSanitizer does not model
 * fences; under it a sequentially consistent read-modify-write of *@p
 * stands in, which orders the same accesses on every host we build for.
 */
#if CONFIG_TSAN
#define aio_mb_before_read(p) \
    ((void)__atomic_fetch_or((p), 0, __ATOMIC_SEQ_CST))
#else
#define aio_mb_before_read(p) __atomic_thread_fence(__ATOMIC_SEQ_CST)
#endif

static AioContext *qemu_aio_context;
static __thread AioContext *my_aiocontext;

unsigned int aio_wait_num_waiters;

/*
 * Waking up
 */

void aio_notify(AioContext *ctx)
{
    uint64_t one = 1;
    ssize_t ret;

    /* Order the caller's work before reading notify_me (see the essay). */
    aio_mb_before_read(&ctx->notify_me);
    if (!__atomic_load_n(&ctx->notify_me, __ATOMIC_RELAXED)) {
        return;
    }
    if (__atomic_exchange_n(&ctx->notified, true, __ATOMIC_SEQ_CST)) {
        return;
    }
    RETRY_ON_EINTR(ret = write(ctx->notify_fd, &one, sizeof(one)));
    /* EAGAIN would mean the counter is full, which wakes the poller too */
    assert(ret == sizeof(one) || errno == EAGAIN);
}

static void aio_context_notifier_cb(void *opaque)
{
    AioContext *ctx = opaque;
    uint64_t value;
    ssize_t ret;

    RETRY_ON_EINTR(ret = read(ctx->notify_fd, &value, sizeof(value)));
    (void)ret;
    /* Only after draining: a set flag promises a write still unread. */
    __atomic_store_n(&ctx->notified, false, __ATOMIC_SEQ_CST);
}

static void aio_timerlist_notify(void *opaque, QEMUClockType type)
{
    aio_notify(opaque);
}

/*
 * Bottom halves
 */

QEMUBH *aio_bh_new_full(AioContext *ctx, QEMUBHFunc *cb, void *opaque,
                        const char *name)
{
    QEMUBH *bh = g_new0(QEMUBH, 1);

    bh->ctx = ctx;
    bh->cb = cb;
    bh->opaque = opaque;
    bh->name = name;
    return bh;
}

/* Set @new_flags and, unless @bh is already on a list, push it. */
static void aio_bh_enqueue(QEMUBH *bh, unsigned int new_flags)
{
    AioContext *ctx = bh->ctx;
    unsigned int old_flags;
    QEMUBH *head;

    old_flags = __atomic_fetch_or(&bh->flags, BH_PENDING | new_flags,
                                  __ATOMIC_SEQ_CST);
    if (old_flags & BH_PENDING) {
        /* Already queued; it keeps its place. */
        return;
    }

    head = __atomic_load_n(&ctx->bh_list, __ATOMIC_RELAXED);
    do {
        bh->next = head;
    } while (!__atomic_compare_exchange_n(&ctx->bh_list, &head, bh, true,
                                          __ATOMIC_SEQ_CST,
                                          __ATOMIC_RELAXED));
    aio_notify(ctx);
}

void qemu_bh_schedule(QEMUBH *bh)
{
    aio_bh_enqueue(bh, BH_SCHEDULED);
}

void aio_bh_schedule_oneshot_full(AioContext *ctx, QEMUBHFunc *cb,
                                  void *opaque, const char *name)
{
    QEMUBH *bh = aio_bh_new_full(ctx, cb, opaque, name);

    aio_bh_enqueue(bh, BH_SCHEDULED | BH_ONESHOT);
}

void qemu_bh_cancel(QEMUBH *bh)
{
    __atomic_fetch_and(&bh->flags, ~(unsigned int)BH_SCHEDULED,
                       __ATOMIC_SEQ_CST);
}

void qemu_bh_delete(QEMUBH *bh)
{
    unsigned int old_flags;

    old_flags = __atomic_fetch_or(&bh->flags, BH_DELETED, __ATOMIC_SEQ_CST);
    if (!(old_flags & BH_PENDING)) {
        g_free(bh);
    }
    /* Otherwise the poll that takes it off its list frees it. */
}

/* Reverse a stack linked through ->next: newest first becomes FIFO. */
static QEMUBH *bh_list_reverse(QEMUBH *bh)
{
    QEMUBH *fifo = NULL;

    while (bh) {
        QEMUBH *next = bh->next;

        bh->next = fifo;
        fifo = bh;
        bh = next;
    }
    return fifo;
}

bool aio_bh_pending(AioContext *ctx)
{
    BHListSlice *s;

    if (__atomic_load_n(&ctx->bh_list, __ATOMIC_SEQ_CST)) {
        return true;
    }
    QSIMPLEQ_FOREACH(s, &ctx->bh_slice_list, next) {
        if (s->head) {
            return true;
        }
    }
    return false;
}

bool aio_bh_poll(AioContext *ctx)
{
    BHListSlice slice;
    BHListSlice *s;
    bool progress = false;

    slice.head = bh_list_reverse(__atomic_exchange_n(&ctx->bh_list, NULL,
                                                     __ATOMIC_SEQ_CST));
    QSIMPLEQ_INSERT_TAIL(&ctx->bh_slice_list, &slice, next);

    /*
     * Run every slice, older ones first, including those of outer
     * aio_bh_poll() calls when this one is nested; every slice is off the
     * list (ours included, it lives on our stack) before we return.
     */
    while ((s = QSIMPLEQ_FIRST(&ctx->bh_slice_list))) {
        QEMUBH *bh = s->head;
        unsigned int flags;

        if (!bh) {
            QSIMPLEQ_REMOVE_HEAD(&ctx->bh_slice_list, next);
            continue;
        }
        /* Unlink first: once PENDING is clear, bh->next is not ours. */
        s->head = bh->next;
        flags = __atomic_fetch_and(&bh->flags,
                                   ~(unsigned int)(BH_PENDING | BH_SCHEDULED),
                                   __ATOMIC_SEQ_CST);

        if ((flags & (BH_SCHEDULED | BH_DELETED)) == BH_SCHEDULED) {
            bh->cb(bh->opaque);
            progress = true;
        }
        /* After the callback only our copy of the flags may be read. */
        if (flags & (BH_DELETED | BH_ONESHOT)) {
            g_free(bh);
        }
    }
    return progress;
}

int64_t aio_compute_timeout(AioContext *ctx)
{
    if (aio_bh_pending(ctx)) {
        return 0;
    }
    return timerlistgroup_deadline_ns(&ctx->tlg);
}

/*
 * Coroutines
 */

static void co_schedule_bh_cb(void *opaque)
{
    AioContext *ctx = opaque;
    Coroutine *stack;
    Coroutine *fifo = NULL;

    stack = __atomic_exchange_n(&ctx->scheduled_coroutines, NULL,
                                __ATOMIC_SEQ_CST);
    while (stack) {
        Coroutine *next = QSLIST_NEXT(stack, co_scheduled_next);

        QSLIST_NEXT(stack, co_scheduled_next) = fifo;
        fifo = stack;
        stack = next;
    }

    while (fifo) {
        Coroutine *co = fifo;

        fifo = QSLIST_NEXT(co, co_scheduled_next);
        QSLIST_NEXT(co, co_scheduled_next) = NULL;
        trace_aio_co_schedule_bh_cb(ctx, co);

        /* From here on @co may be scheduled again, even by itself. */
        __atomic_store_n(&co->ctx, ctx, __ATOMIC_RELAXED);
        __atomic_store_n(&co->scheduled, NULL, __ATOMIC_SEQ_CST);
        qemu_coroutine_enter(co);

        /* The reference aio_co_schedule() took for @co. */
        aio_context_unref(ctx);
    }
}

void aio_co_schedule(AioContext *ctx, Coroutine *co)
{
    const char *scheduled = NULL;
    Coroutine *head;

    trace_aio_co_schedule(ctx, co);
    if (!__atomic_compare_exchange_n(&co->scheduled, &scheduled, __func__,
                                     false, __ATOMIC_SEQ_CST,
                                     __ATOMIC_SEQ_CST)) {
        error_report("%s: Co-routine was already scheduled in '%s'",
                     __func__, scheduled);
        abort();
    }

    /* The context must outlive the BH that enters @co. */
    aio_context_ref(ctx);

    head = __atomic_load_n(&ctx->scheduled_coroutines, __ATOMIC_RELAXED);
    do {
        QSLIST_NEXT(co, co_scheduled_next) = head;
    } while (!__atomic_compare_exchange_n(&ctx->scheduled_coroutines, &head,
                                          co, true, __ATOMIC_SEQ_CST,
                                          __ATOMIC_RELAXED));
    qemu_bh_schedule(ctx->co_schedule_bh);
}

void aio_co_enter(AioContext *ctx, Coroutine *co)
{
    if (ctx != qemu_get_current_aio_context()) {
        aio_co_schedule(ctx, co);
        return;
    }

    __atomic_store_n(&co->ctx, ctx, __ATOMIC_RELAXED);
    if (qemu_in_coroutine()) {
        /* Not nested: @co runs when the caller yields or ends. */
        assert(qemu_coroutine_self() != co);
        qemu_coroutine_wake_later(co);
    } else {
        qemu_coroutine_enter(co);
    }
}

void aio_co_wake(Coroutine *co)
{
    AioContext *ctx = __atomic_load_n(&co->ctx, __ATOMIC_RELAXED);

    if (!ctx) {
        /*
         * Created outside any coroutine and never entered through
         * aio_co_enter(): in this tree only the main thread makes such
         * coroutines, so it is their home.
         */
        ctx = qemu_get_aio_context();
        if (!ctx) {
            error_report("%s: coroutine %p has no home AioContext",
                         __func__, (void *)co);
            abort();
        }
    }
    aio_co_enter(ctx, co);
}

/*
 * AIO_WAIT_WHILE support
 */

static void aio_wait_bh(void *opaque)
{
    /* Nothing to do: running at all makes the waiter's aio_poll() return */
}

void aio_wait_kick(void)
{
    /* Order the caller's state change before reading the count. */
    aio_mb_before_read(&aio_wait_num_waiters);
    if (__atomic_load_n(&aio_wait_num_waiters, __ATOMIC_RELAXED)) {
        aio_bh_schedule_oneshot(qemu_get_aio_context(), aio_wait_bh, NULL);
    }
}

/*
 * The context as a GSource.  prepare() announces the sleep like a blocking
 * aio_poll() does (bit 0 of notify_me) and check() withdraws it; the fd
 * GLib polls is the epoll fd, readable when any fd of the context is.
 */

static gboolean aio_ctx_prepare(GSource *source, gint *timeout)
{
    AioContext *ctx = (AioContext *)source;
    int64_t ns;

    __atomic_fetch_or(&ctx->notify_me, 1, __ATOMIC_SEQ_CST);
    ns = aio_compute_timeout(ctx);
    if (ns < 0) {
        *timeout = -1;
    } else {
        *timeout = MIN(DIV_ROUND_UP(ns, SCALE_MS), INT_MAX);
    }
    if (*timeout == 0) {
        /* GLib skips check() for a source ready now: withdraw here. */
        __atomic_fetch_and(&ctx->notify_me, ~1u, __ATOMIC_SEQ_CST);
        return TRUE;
    }
    return FALSE;
}

static gboolean aio_ctx_check(GSource *source)
{
    AioContext *ctx = (AioContext *)source;

    __atomic_fetch_and(&ctx->notify_me, ~1u, __ATOMIC_SEQ_CST);
    if (aio_bh_pending(ctx)) {
        return TRUE;
    }
    if (g_source_query_unix_fd(source, ctx->epoll_tag) & G_IO_IN) {
        return TRUE;
    }
    return timerlistgroup_deadline_ns(&ctx->tlg) == 0;
}

static gboolean aio_ctx_dispatch(GSource *source, GSourceFunc callback,
                                 gpointer user_data)
{
    AioContext *ctx = (AioContext *)source;

    assert(callback == NULL);
    aio_poll(ctx, false);
    return G_SOURCE_CONTINUE;
}

static void aio_ctx_finalize(GSource *source)
{
    AioContext *ctx = (AioContext *)source;
    QEMUBH *bh;

    /* The ring's requests complete through the pool's fallback, too. */
    if (ctx->io_engine) {
        io_engine_ctx_free(ctx->io_engine);
        ctx->io_engine = NULL;
    }
    if (ctx->thread_pool) {
        thread_pool_free(ctx->thread_pool);
        ctx->thread_pool = NULL;
    }
    if (ctx->co_schedule_bh) {
        /* Every scheduled coroutine holds a reference: none can be left */
        assert(!ctx->scheduled_coroutines);
        qemu_bh_delete(ctx->co_schedule_bh);
    }

    assert(QSIMPLEQ_EMPTY(&ctx->bh_slice_list));
    bh = ctx->bh_list;
    ctx->bh_list = NULL;
    while (bh) {
        QEMUBH *next = bh->next;
        unsigned int flags = __atomic_fetch_and(&bh->flags,
                                                ~(unsigned int)BH_PENDING,
                                                __ATOMIC_SEQ_CST);

        if (flags & BH_DELETED) {
            g_free(bh);
        } else if (flags & BH_SCHEDULED) {
            /*
             * Whoever scheduled it is still waiting for it to run; freeing
             * the context under it would hang or corrupt something later.
             */
            error_report("%s: BH '%s' leaked, aborting", __func__,
                         bh->name);
            abort();
        }
        bh = next;
    }

    if (ctx->notify_fd >= 0) {
        aio_set_fd_handler(ctx, ctx->notify_fd, NULL, NULL, NULL);
        close(ctx->notify_fd);
        ctx->notify_fd = -1;
    }
    aio_context_destroy(ctx);
    timerlistgroup_deinit(&ctx->tlg);
}

static GSourceFuncs aio_source_funcs = {
    .prepare = aio_ctx_prepare,
    .check = aio_ctx_check,
    .dispatch = aio_ctx_dispatch,
    .finalize = aio_ctx_finalize,
};

/*
 * Contexts
 */

AioContext *aio_context_new(Error **errp)
{
    AioContext *ctx;

    /* g_source_new() zeroes the whole structure. */
    ctx = (AioContext *)g_source_new(&aio_source_funcs, sizeof(AioContext));
    ctx->epollfd = -1;
    ctx->notify_fd = -1;
    QLIST_INIT(&ctx->aio_handlers);
    QLIST_INIT(&ctx->deleted_handlers);
    QLIST_INIT(&ctx->ready_list);
    QSIMPLEQ_INIT(&ctx->bh_slice_list);
    timerlistgroup_init(&ctx->tlg, aio_timerlist_notify, ctx);

    if (!aio_context_setup(ctx, errp)) {
        goto fail;
    }
    ctx->notify_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (ctx->notify_fd < 0) {
        error_setg_errno(errp, errno, "Failed to initialize event notifier");
        goto fail;
    }
    aio_set_fd_handler(ctx, ctx->notify_fd, aio_context_notifier_cb, NULL,
                       ctx);
    ctx->epoll_tag = g_source_add_unix_fd(&ctx->source, ctx->epollfd,
                                          G_IO_IN);
    ctx->co_schedule_bh = aio_bh_new(ctx, co_schedule_bh_cb, ctx);
    return ctx;

fail:
    g_source_unref(&ctx->source);
    return NULL;
}

void aio_context_ref(AioContext *ctx)
{
    g_source_ref(&ctx->source);
}

void aio_context_unref(AioContext *ctx)
{
    g_source_unref(&ctx->source);
}

GSource *aio_get_g_source(AioContext *ctx)
{
    g_source_ref(&ctx->source);
    return &ctx->source;
}

AioContext *qemu_get_current_aio_context(void)
{
    return my_aiocontext;
}

void qemu_set_current_aio_context(AioContext *ctx)
{
    assert(!my_aiocontext || my_aiocontext == ctx);
    my_aiocontext = ctx;
}

AioContext *qemu_get_aio_context(void)
{
    return __atomic_load_n(&qemu_aio_context, __ATOMIC_ACQUIRE);
}

bool qemu_init_main_loop(Error **errp)
{
    AioContext *ctx;

    if (qemu_aio_context) {
        return true;
    }
    ctx = aio_context_new(errp);
    if (!ctx) {
        return false;
    }
    g_source_set_name(&ctx->source, "aio-context");
    /* GLib's reference keeps it alive; ours is never dropped. */
    g_source_attach(&ctx->source, NULL);
    qemu_set_current_aio_context(ctx);
    __atomic_store_n(&qemu_aio_context, ctx, __ATOMIC_RELEASE);
    return true;
}
