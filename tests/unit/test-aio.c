/*
 * test-aio.c: the event loop, bottom halves, timers, and coroutines handed
 * to a context.
 *
 * Every test runs in the main context.  A lost wake-up shows up as a
 * blocking aio_poll() that never returns; each test arms a watchdog
 * alarm so that it fails instead of hanging.
 */
#include "qemu/osdep.h"

#include <sys/socket.h>

#include "qapi/error.h"
#include "qemu/aio.h"
#include "qemu/coroutine.h"
#include "qemu/trace-control.h"

static AioContext *ctx;

static void watchdog(void)
{
    alarm(30);
}

/* Run whatever is ready, without blocking. */
static void drain(void)
{
    while (aio_poll(ctx, false)) {
        /* nothing */
    }
}

static int64_t now_ns(void)
{
    return qemu_clock_get_ns(QEMU_CLOCK_REALTIME);
}

/*
 * Bottom halves
 */

static void count_bh(void *opaque)
{
    int *n = opaque;

    (*n)++;
}

static void test_bh_schedule(void)
{
    int n = 0;
    QEMUBH *bh = aio_bh_new(ctx, count_bh, &n);

    watchdog();
    drain();
    g_assert_false(aio_poll(ctx, false));

    /* Scheduling twice before it runs still runs it once. */
    qemu_bh_schedule(bh);
    qemu_bh_schedule(bh);
    g_assert_cmpint(n, ==, 0);
    g_assert_true(aio_poll(ctx, false));
    g_assert_cmpint(n, ==, 1);
    g_assert_false(aio_poll(ctx, false));
    g_assert_cmpint(n, ==, 1);

    /* Once run it can be scheduled again; a blocking poll does not wait. */
    qemu_bh_schedule(bh);
    g_assert_true(aio_poll(ctx, true));
    g_assert_cmpint(n, ==, 2);
    g_assert_false(aio_poll(ctx, false));

    qemu_bh_delete(bh);
}

typedef struct OrderLog {
    int seq[64];
    int len;
} OrderLog;

typedef struct OrderItem {
    OrderLog *log;
    int id;
    QEMUBH *bh;
} OrderItem;

static void order_bh(void *opaque)
{
    OrderItem *item = opaque;

    g_assert_cmpint(item->log->len, <, G_N_ELEMENTS(item->log->seq));
    item->log->seq[item->log->len++] = item->id;
}

static void test_bh_order(void)
{
    static const int sched[] = { 5, 2, 7, 0, 3, 6, 1, 4 };
    OrderLog log = { .len = 0 };
    OrderItem items[8];
    OrderItem oneshot[2];
    int i;

    watchdog();
    drain();
    for (i = 0; i < 8; i++) {
        items[i] = (OrderItem) { .log = &log, .id = i };
        items[i].bh = aio_bh_new(ctx, order_bh, &items[i]);
    }
    oneshot[0] = (OrderItem) { .log = &log, .id = 100 };
    oneshot[1] = (OrderItem) { .log = &log, .id = 101 };

    for (i = 0; i < 4; i++) {
        qemu_bh_schedule(items[sched[i]].bh);
    }
    aio_bh_schedule_oneshot(ctx, order_bh, &oneshot[0]);
    for (i = 4; i < 8; i++) {
        qemu_bh_schedule(items[sched[i]].bh);
    }
    aio_bh_schedule_oneshot(ctx, order_bh, &oneshot[1]);
    /* Already scheduled: keeps its first place. */
    qemu_bh_schedule(items[sched[0]].bh);

    g_assert_true(aio_poll(ctx, false));
    g_assert_cmpint(log.len, ==, 10);
    for (i = 0; i < 4; i++) {
        g_assert_cmpint(log.seq[i], ==, sched[i]);
    }
    g_assert_cmpint(log.seq[4], ==, 100);
    for (i = 4; i < 8; i++) {
        g_assert_cmpint(log.seq[i + 1], ==, sched[i]);
    }
    g_assert_cmpint(log.seq[9], ==, 101);
    g_assert_false(aio_poll(ctx, false));

    for (i = 0; i < 8; i++) {
        qemu_bh_delete(items[i].bh);
    }
}

typedef struct ChainState {
    QEMUBH *a;
    QEMUBH *b;
    int a_runs;
    int b_runs;
    int a_limit;
} ChainState;

static void chain_a_bh(void *opaque)
{
    ChainState *s = opaque;

    s->a_runs++;
    qemu_bh_schedule(s->b);
    if (s->a_runs < s->a_limit) {
        qemu_bh_schedule(s->a);
    }
}

static void chain_b_bh(void *opaque)
{
    ChainState *s = opaque;

    s->b_runs++;
}

static void test_bh_schedule_from_bh(void)
{
    ChainState s = { .a_limit = 100 };
    int polls = 0;

    watchdog();
    drain();
    s.a = aio_bh_new(ctx, chain_a_bh, &s);
    s.b = aio_bh_new(ctx, chain_b_bh, &s);

    qemu_bh_schedule(s.a);
    g_assert_true(aio_poll(ctx, false));
    g_assert_cmpint(s.a_runs, ==, 1);

    /*
     * A's next run and B were scheduled from a BH: a blocking poll must see
     * them and not sleep (the watchdog catches a sleep), and each poll runs
     * what the previous one scheduled.
     */
    while (s.a_runs < s.a_limit) {
        g_assert_true(aio_poll(ctx, true));
        polls++;
        g_assert_cmpint(s.b_runs, >=, s.a_runs - 1);
    }
    g_assert_cmpint(polls, ==, s.a_limit - 1);
    g_assert_true(aio_poll(ctx, true));
    g_assert_cmpint(s.b_runs, ==, 1 + (s.a_limit - 1));
    g_assert_false(aio_poll(ctx, false));
    g_assert_cmpint(s.a_runs, ==, s.a_limit);

    qemu_bh_delete(s.a);
    qemu_bh_delete(s.b);
}

typedef struct CancelState {
    QEMUBH *victim;
    int victim_runs;
} CancelState;

static void cancel_other_bh(void *opaque)
{
    CancelState *s = opaque;

    qemu_bh_cancel(s->victim);
}

static void test_bh_cancel(void)
{
    CancelState s = { 0 };
    QEMUBH *canceller;

    watchdog();
    drain();
    s.victim = aio_bh_new(ctx, count_bh, &s.victim_runs);

    qemu_bh_schedule(s.victim);
    qemu_bh_cancel(s.victim);
    g_assert_false(aio_poll(ctx, false));
    g_assert_cmpint(s.victim_runs, ==, 0);

    /* Cancelling an idle BH is harmless; scheduling again works. */
    qemu_bh_cancel(s.victim);
    qemu_bh_schedule(s.victim);
    g_assert_true(aio_poll(ctx, false));
    g_assert_cmpint(s.victim_runs, ==, 1);

    /* A BH cancelled by an earlier one of the same batch does not run. */
    canceller = aio_bh_new(ctx, cancel_other_bh, &s);
    qemu_bh_schedule(canceller);
    qemu_bh_schedule(s.victim);
    g_assert_true(aio_poll(ctx, false));
    g_assert_cmpint(s.victim_runs, ==, 1);
    g_assert_false(aio_poll(ctx, false));

    qemu_bh_delete(canceller);
    qemu_bh_delete(s.victim);
}

typedef struct DeleteState {
    QEMUBH *self;
    QEMUBH *other;
    int self_runs;
    int other_runs;
} DeleteState;

static void delete_self_bh(void *opaque)
{
    DeleteState *s = opaque;

    s->self_runs++;
    qemu_bh_delete(s->self);
    s->self = NULL;
}

static void delete_other_bh(void *opaque)
{
    DeleteState *s = opaque;

    s->self_runs++;
    qemu_bh_delete(s->other);
    s->other = NULL;
}

static void test_bh_delete(void)
{
    DeleteState s = { 0 };
    int n = 0;
    QEMUBH *bh;

    watchdog();
    drain();

    /* Deleted while scheduled: never runs, memory is reclaimed. */
    bh = aio_bh_new(ctx, count_bh, &n);
    qemu_bh_schedule(bh);
    qemu_bh_delete(bh);
    g_assert_false(aio_poll(ctx, false));
    g_assert_cmpint(n, ==, 0);

    /* Deleted from its own callback. */
    s.self = aio_bh_new(ctx, delete_self_bh, &s);
    qemu_bh_schedule(s.self);
    g_assert_true(aio_poll(ctx, false));
    g_assert_cmpint(s.self_runs, ==, 1);
    g_assert_null(s.self);
    g_assert_false(aio_poll(ctx, false));

    /* Deleted by an earlier BH of the same batch: does not run. */
    s.self_runs = 0;
    s.self = aio_bh_new(ctx, delete_other_bh, &s);
    s.other = aio_bh_new(ctx, count_bh, &s.other_runs);
    qemu_bh_schedule(s.self);
    qemu_bh_schedule(s.other);
    g_assert_true(aio_poll(ctx, false));
    g_assert_cmpint(s.self_runs, ==, 1);
    g_assert_cmpint(s.other_runs, ==, 0);
    g_assert_false(aio_poll(ctx, false));
    qemu_bh_delete(s.self);
}

static void test_bh_oneshot(void)
{
    OrderLog log = { .len = 0 };
    OrderItem items[3];
    int i;

    watchdog();
    drain();
    for (i = 0; i < 3; i++) {
        items[i] = (OrderItem) { .log = &log, .id = i };
        aio_bh_schedule_oneshot(ctx, order_bh, &items[i]);
    }
    g_assert_cmpint(log.len, ==, 0);
    g_assert_true(aio_poll(ctx, false));
    g_assert_cmpint(log.len, ==, 3);
    for (i = 0; i < 3; i++) {
        g_assert_cmpint(log.seq[i], ==, i);
    }
    /* Gone after running: nothing left to run (and nothing leaks). */
    g_assert_false(aio_poll(ctx, false));
    g_assert_cmpint(log.len, ==, 3);
}

typedef struct PingPong {
    QEMUBH *bh;
    int iterations;
    int runs;                   /* written by the BH, read by the thread */
    bool stop;
} PingPong;

static void pingpong_bh(void *opaque)
{
    PingPong *p = opaque;

    __atomic_store_n(&p->runs, p->runs + 1, __ATOMIC_SEQ_CST);
}

static gpointer pingpong_thread(gpointer opaque)
{
    PingPong *p = opaque;
    int i;

    /* The first one comes late, so the main thread is surely asleep. */
    g_usleep(20 * 1000);
    for (i = 0; i < p->iterations; i++) {
        qemu_bh_schedule(p->bh);
        while (__atomic_load_n(&p->runs, __ATOMIC_SEQ_CST) <= i) {
            g_usleep(i % 16 == 0 ? 100 : 0);
        }
    }
    return NULL;
}

static void test_bh_from_thread(void)
{
    PingPong p = { .iterations = 2000 };
    GThread *thread;
    int64_t start;

    watchdog();
    drain();
    p.bh = aio_bh_new(ctx, pingpong_bh, &p);
    start = now_ns();
    thread = g_thread_new("pingpong", pingpong_thread, &p);

    /*
     * Every run is waited for by a blocking poll; a lost wake-up leaves the
     * main thread asleep for good.
     */
    while (__atomic_load_n(&p.runs, __ATOMIC_SEQ_CST) < 1) {
        aio_poll(ctx, true);
    }
    g_assert_cmpint(now_ns() - start, >=, 20 * SCALE_MS);
    while (__atomic_load_n(&p.runs, __ATOMIC_SEQ_CST) < p.iterations) {
        aio_poll(ctx, true);
    }
    g_thread_join(thread);
    g_assert_cmpint(p.runs, ==, p.iterations);
    g_assert_false(aio_poll(ctx, false));
    qemu_bh_delete(p.bh);
}

/*
 * File descriptors
 */

typedef struct PipeState {
    int fds[2];
    int reads;
    int writes;
    char last;
} PipeState;

static void make_pipe(PipeState *p)
{
    memset(p, 0, sizeof(*p));
    g_assert_cmpint(pipe2(p->fds, O_NONBLOCK | O_CLOEXEC), ==, 0);
}

static void close_pipe(PipeState *p)
{
    close(p->fds[0]);
    close(p->fds[1]);
}

static void pipe_read_one(void *opaque)
{
    PipeState *p = opaque;

    g_assert_cmpint(read(p->fds[0], &p->last, 1), ==, 1);
    p->reads++;
}

static void pipe_write_seen(void *opaque)
{
    PipeState *p = opaque;

    p->writes++;
}

static gpointer write_later_thread(gpointer opaque)
{
    PipeState *p = opaque;

    g_usleep(20 * 1000);
    g_assert_cmpint(write(p->fds[1], "t", 1), ==, 1);
    return NULL;
}

static void test_fd_read(void)
{
    PipeState p;
    GThread *thread;

    watchdog();
    drain();
    make_pipe(&p);
    aio_set_fd_handler(ctx, p.fds[0], pipe_read_one, NULL, &p);

    g_assert_false(aio_poll(ctx, false));
    g_assert_cmpint(p.reads, ==, 0);

    g_assert_cmpint(write(p.fds[1], "x", 1), ==, 1);
    g_assert_true(aio_poll(ctx, true));
    g_assert_cmpint(p.reads, ==, 1);
    g_assert_cmpint(p.last, ==, 'x');
    g_assert_false(aio_poll(ctx, false));

    /* Data arriving while the loop sleeps wakes it. */
    thread = g_thread_new("writer", write_later_thread, &p);
    while (p.reads < 2) {
        aio_poll(ctx, true);
    }
    g_thread_join(thread);
    g_assert_cmpint(p.last, ==, 't');

    /* Removed: data stays unread. */
    aio_set_fd_handler(ctx, p.fds[0], NULL, NULL, NULL);
    g_assert_cmpint(write(p.fds[1], "y", 1), ==, 1);
    g_assert_false(aio_poll(ctx, false));
    g_assert_cmpint(p.reads, ==, 2);
    close_pipe(&p);
}

static void test_fd_write(void)
{
    PipeState p;
    char buf[4096];
    ssize_t ret;

    watchdog();
    drain();
    make_pipe(&p);
    memset(buf, 'w', sizeof(buf));

    /* An empty pipe is writable. */
    aio_set_fd_handler(ctx, p.fds[1], NULL, pipe_write_seen, &p);
    g_assert_true(aio_poll(ctx, false));
    g_assert_cmpint(p.writes, ==, 1);

    /* A full one is not. */
    do {
        ret = write(p.fds[1], buf, sizeof(buf));
    } while (ret > 0);
    g_assert_cmpint(errno, ==, EAGAIN);
    p.writes = 0;
    g_assert_false(aio_poll(ctx, false));
    g_assert_cmpint(p.writes, ==, 0);

    /* Drained, it is writable again. */
    do {
        ret = read(p.fds[0], buf, sizeof(buf));
    } while (ret > 0);
    g_assert_true(aio_poll(ctx, true));
    g_assert_cmpint(p.writes, ==, 1);

    aio_set_fd_handler(ctx, p.fds[1], NULL, NULL, NULL);
    g_assert_false(aio_poll(ctx, false));
    g_assert_cmpint(p.writes, ==, 1);
    close_pipe(&p);

    /* Both directions on one fd: both run; removal stops both. */
    make_pipe(&p);
    close(p.fds[0]);
    close(p.fds[1]);
    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0,
                               p.fds), ==, 0);
    aio_set_fd_handler(ctx, p.fds[0], pipe_read_one, pipe_write_seen, &p);
    g_assert_cmpint(write(p.fds[1], "s", 1), ==, 1);
    g_assert_true(aio_poll(ctx, false));
    g_assert_cmpint(p.reads, ==, 1);
    g_assert_cmpint(p.writes, ==, 1);
    g_assert_cmpint(p.last, ==, 's');
    aio_set_fd_handler(ctx, p.fds[0], NULL, NULL, NULL);
    g_assert_cmpint(write(p.fds[1], "s", 1), ==, 1);
    g_assert_false(aio_poll(ctx, false));
    g_assert_cmpint(p.reads, ==, 1);
    g_assert_cmpint(p.writes, ==, 1);
    close_pipe(&p);
}

typedef struct RemoveState {
    PipeState pipes[2];
    int calls;
    int replaced_calls;
} RemoveState;

static void remove_both(void *opaque)
{
    RemoveState *s = opaque;

    s->calls++;
    aio_set_fd_handler(ctx, s->pipes[0].fds[0], NULL, NULL, NULL);
    aio_set_fd_handler(ctx, s->pipes[1].fds[0], NULL, NULL, NULL);
}

static void replaced_handler(void *opaque)
{
    RemoveState *s = opaque;
    char c;

    g_assert_cmpint(read(s->pipes[0].fds[0], &c, 1), ==, 1);
    s->replaced_calls++;
}

static void replace_self(void *opaque)
{
    RemoveState *s = opaque;

    /* Leave the byte unread: the new handler must find it. */
    s->calls++;
    aio_set_fd_handler(ctx, s->pipes[0].fds[0], NULL, NULL, NULL);
    aio_set_fd_handler(ctx, s->pipes[0].fds[0], replaced_handler, NULL, s);
}

static void test_fd_remove_in_handler(void)
{
    RemoveState s;
    int i;

    watchdog();
    drain();
    memset(&s, 0, sizeof(s));
    make_pipe(&s.pipes[0]);
    make_pipe(&s.pipes[1]);

    /*
     * Both fds are ready in the same batch; whichever handler runs first
     * removes the other, which therefore must not run.
     */
    for (i = 0; i < 2; i++) {
        aio_set_fd_handler(ctx, s.pipes[i].fds[0], remove_both, NULL, &s);
        g_assert_cmpint(write(s.pipes[i].fds[1], "r", 1), ==, 1);
    }
    g_assert_true(aio_poll(ctx, false));
    g_assert_cmpint(s.calls, ==, 1);
    g_assert_false(aio_poll(ctx, false));
    g_assert_cmpint(s.calls, ==, 1);

    /* A handler that replaces itself: the old one never runs again. */
    s.calls = 0;
    aio_set_fd_handler(ctx, s.pipes[0].fds[0], replace_self, NULL, &s);
    drain();
    g_assert_cmpint(s.calls, ==, 1);
    g_assert_cmpint(s.replaced_calls, ==, 1);
    aio_set_fd_handler(ctx, s.pipes[0].fds[0], NULL, NULL, NULL);

    close_pipe(&s.pipes[0]);
    close_pipe(&s.pipes[1]);
}

/*
 * Timers
 */

typedef struct TimerState {
    QEMUTimer *timer;
    int64_t fired_at;
    int fires;
    OrderLog *log;
    int id;
    QEMUTimer *victim;
} TimerState;

static void timer_cb(void *opaque)
{
    TimerState *t = opaque;

    t->fired_at = now_ns();
    t->fires++;
    if (t->log) {
        t->log->seq[t->log->len++] = t->id;
    }
    if (t->victim) {
        timer_del(t->victim);
    }
}

static void test_timer_fire(void)
{
    TimerState t = { 0 };
    int64_t deadline;
    int polls = 0;

    watchdog();
    drain();
    t.timer = aio_timer_new(ctx, QEMU_CLOCK_REALTIME, SCALE_NS, timer_cb, &t);
    g_assert_false(timer_pending(t.timer));
    g_assert_cmpint(timer_expire_time_ns(t.timer), ==, -1);

    deadline = now_ns() + 30 * SCALE_MS;
    timer_mod_ns(t.timer, deadline);
    g_assert_true(timer_pending(t.timer));
    g_assert_cmpint(timer_expire_time_ns(t.timer), ==, deadline);
    g_assert_false(aio_poll(ctx, false));
    g_assert_cmpint(t.fires, ==, 0);

    /* The deadline is the poll timeout: a few polls, not a busy loop. */
    while (!t.fires) {
        aio_poll(ctx, true);
        polls++;
    }
    g_assert_cmpint(t.fired_at, >=, deadline);
    g_assert_cmpint(polls, <=, 3);
    g_assert_false(timer_pending(t.timer));
    g_assert_false(aio_poll(ctx, false));
    g_assert_cmpint(t.fires, ==, 1);
    timer_free(t.timer);

    /* Millisecond scale. */
    memset(&t, 0, sizeof(t));
    t.timer = aio_timer_new(ctx, QEMU_CLOCK_REALTIME, SCALE_MS, timer_cb, &t);
    deadline = qemu_clock_get_ms(QEMU_CLOCK_REALTIME) + 20;
    timer_mod(t.timer, deadline);
    g_assert_cmpint(timer_expire_time_ns(t.timer), ==, deadline * SCALE_MS);
    g_assert_false(timer_expired(t.timer, deadline - 1));
    g_assert_true(timer_expired(t.timer, deadline));
    while (!t.fires) {
        aio_poll(ctx, true);
    }
    g_assert_cmpint(t.fired_at, >=, deadline * SCALE_MS);
    timer_free(t.timer);
}

static void test_timer_order(void)
{
    static const int64_t offset_ms[] = { 40, 10, 30, 10, 20 };
    static const int expected[] = { 1, 3, 4, 2, 0 };
    OrderLog log = { .len = 0 };
    TimerState t[5];
    int64_t base = now_ns();
    int i;

    watchdog();
    drain();
    for (i = 0; i < 5; i++) {
        t[i] = (TimerState) { .log = &log, .id = i };
        t[i].timer = aio_timer_new(ctx, QEMU_CLOCK_REALTIME, SCALE_NS,
                                   timer_cb, &t[i]);
        timer_mod_ns(t[i].timer, base + offset_ms[i] * SCALE_MS);
    }
    /* Re-arming moves a timer: 2 goes from 30 to 35 ms, still before 0. */
    timer_mod_ns(t[2].timer, base + 35 * SCALE_MS);

    while (log.len < 5) {
        aio_poll(ctx, true);
    }
    for (i = 0; i < 5; i++) {
        g_assert_cmpint(log.seq[i], ==, expected[i]);
        g_assert_cmpint(t[i].fires, ==, 1);
    }
    for (i = 1; i < 5; i++) {
        g_assert_cmpint(t[expected[i]].fired_at, >=,
                        t[expected[i - 1]].fired_at);
    }

    /* All expired before one poll: still deadline order, one pass. */
    log.len = 0;
    base = now_ns() - 100 * SCALE_MS;
    for (i = 0; i < 5; i++) {
        timer_mod_ns(t[i].timer, base + offset_ms[i] * SCALE_MS);
    }
    timer_mod_ns(t[2].timer, base + 35 * SCALE_MS);
    g_assert_true(aio_poll(ctx, false));
    g_assert_cmpint(log.len, ==, 5);
    for (i = 0; i < 5; i++) {
        g_assert_cmpint(log.seq[i], ==, expected[i]);
        timer_free(t[i].timer);
    }
}

static void test_timer_del(void)
{
    TimerState a = { 0 };
    TimerState b = { 0 };
    TimerState c = { 0 };
    QEMUTimer *freed;
    int n = 0;
    int64_t base = now_ns();

    watchdog();
    drain();
    a.timer = aio_timer_new(ctx, QEMU_CLOCK_REALTIME, SCALE_NS, timer_cb, &a);
    b.timer = aio_timer_new(ctx, QEMU_CLOCK_REALTIME, SCALE_NS, timer_cb, &b);
    c.timer = aio_timer_new(ctx, QEMU_CLOCK_REALTIME, SCALE_NS, timer_cb, &c);

    /* Deleted before its deadline: never fires.  b is the sentinel. */
    timer_mod_ns(a.timer, base + 10 * SCALE_MS);
    timer_mod_ns(b.timer, base + 30 * SCALE_MS);
    timer_del(a.timer);
    g_assert_false(timer_pending(a.timer));
    g_assert_cmpint(timer_expire_time_ns(a.timer), ==, -1);
    timer_del(a.timer);
    while (!b.fires) {
        aio_poll(ctx, true);
    }
    g_assert_cmpint(a.fires, ==, 0);

    /* Re-armed after deletion, in the past: fires at the next poll. */
    timer_mod_ns(a.timer, now_ns() - 1);
    g_assert_true(aio_poll(ctx, false));
    g_assert_cmpint(a.fires, ==, 1);

    /* Deleted by the callback of a timer due just before it. */
    b.victim = c.timer;
    timer_mod_ns(b.timer, now_ns() - 2);
    timer_mod_ns(c.timer, now_ns() - 1);
    g_assert_true(aio_poll(ctx, false));
    g_assert_cmpint(b.fires, ==, 2);
    g_assert_cmpint(c.fires, ==, 0);
    g_assert_false(timer_pending(c.timer));

    /* Freed while armed: its memory is not touched again. */
    freed = aio_timer_new(ctx, QEMU_CLOCK_REALTIME, SCALE_NS, count_bh, &n);
    timer_mod_ns(freed, now_ns() - 1);
    timer_free(freed);
    g_assert_false(aio_poll(ctx, false));
    g_assert_cmpint(n, ==, 0);

    timer_free(a.timer);
    timer_free(b.timer);
    timer_free(c.timer);
}

/*
 * aio_poll
 */

static gpointer notify_later_thread(gpointer opaque)
{
    g_usleep(20 * 1000);
    aio_notify(opaque);
    return NULL;
}

static void test_poll_nonblocking_no_progress(void)
{
    AioContext *ctx2 = aio_context_new(&error_abort);
    PipeState p;
    GThread *thread;
    int64_t start;

    watchdog();
    drain();
    g_assert_false(aio_poll(ctx, false));

    /* A fresh context has nothing to do. */
    g_assert_false(aio_poll(ctx2, false));

    /* A watched fd with no data is not progress, nor is a notification. */
    make_pipe(&p);
    aio_set_fd_handler(ctx2, p.fds[0], pipe_read_one, NULL, &p);
    g_assert_false(aio_poll(ctx2, false));
    aio_notify(ctx2);
    g_assert_false(aio_poll(ctx2, false));
    g_assert_cmpint(p.reads, ==, 0);

    /* A blocking poll woken only by aio_notify() returns false. */
    start = now_ns();
    thread = g_thread_new("notify", notify_later_thread, ctx2);
    g_assert_false(aio_poll(ctx2, true));
    g_assert_cmpint(now_ns() - start, >=, 20 * SCALE_MS);
    g_thread_join(thread);
    g_assert_false(aio_poll(ctx2, false));

    aio_set_fd_handler(ctx2, p.fds[0], NULL, NULL, NULL);
    close_pipe(&p);
    aio_context_unref(ctx2);
}

/*
 * GSource
 */

typedef struct ThreadBH {
    QEMUBH *bh;
} ThreadBH;

static gpointer schedule_later_thread(gpointer opaque)
{
    ThreadBH *t = opaque;

    g_usleep(20 * 1000);
    qemu_bh_schedule(t->bh);
    return NULL;
}

static void test_gsource_main_loop(void)
{
    PipeState p;
    TimerState t = { 0 };
    ThreadBH tb;
    GThread *thread;
    GMainContext *gctx;
    AioContext *ctx2;
    GSource *src;
    int n = 0;
    int n2 = 0;
    int64_t deadline;
    int i;

    watchdog();
    drain();

    /* A BH of the main context runs from GLib's loop. */
    tb.bh = qemu_bh_new(count_bh, &n);
    qemu_bh_schedule(tb.bh);
    g_assert_true(g_main_context_iteration(NULL, FALSE));
    g_assert_cmpint(n, ==, 1);

    /* ... also when scheduled by another thread while GLib sleeps. */
    thread = g_thread_new("bh", schedule_later_thread, &tb);
    while (n < 2) {
        g_main_context_iteration(NULL, TRUE);
    }
    g_thread_join(thread);
    qemu_bh_delete(tb.bh);

    /* fd handlers. */
    make_pipe(&p);
    aio_set_fd_handler(ctx, p.fds[0], pipe_read_one, NULL, &p);
    thread = g_thread_new("writer", write_later_thread, &p);
    for (i = 0; p.reads < 1; i++) {
        g_main_context_iteration(NULL, TRUE);
    }
    g_thread_join(thread);
    g_assert_cmpint(p.last, ==, 't');
    g_assert_cmpint(i, <=, 3);
    aio_set_fd_handler(ctx, p.fds[0], NULL, NULL, NULL);
    close_pipe(&p);

    /* Timers, on time. */
    t.timer = aio_timer_new(ctx, QEMU_CLOCK_REALTIME, SCALE_NS, timer_cb, &t);
    deadline = now_ns() + 20 * SCALE_MS;
    timer_mod_ns(t.timer, deadline);
    while (!t.fires) {
        g_main_context_iteration(NULL, TRUE);
    }
    g_assert_cmpint(t.fired_at, >=, deadline);
    timer_free(t.timer);

    /* Any context can be attached to a GMainContext of its own. */
    ctx2 = aio_context_new(&error_abort);
    gctx = g_main_context_new();
    src = aio_get_g_source(ctx2);
    g_source_attach(src, gctx);
    aio_bh_schedule_oneshot(ctx2, count_bh, &n2);
    while (n2 < 1) {
        g_main_context_iteration(gctx, TRUE);
    }
    g_source_destroy(src);
    g_source_unref(src);
    g_main_context_unref(gctx);
    aio_context_unref(ctx2);
}

/*
 * Coroutines
 */

typedef struct CoState {
    Coroutine *co;
    int entered;
    bool resumed_in_main;
    AioContext *ctx_seen;
} CoState;

static GThread *main_thread;

static void coroutine_fn yield_once_entry(void *opaque)
{
    CoState *s = opaque;

    s->entered++;
    qemu_coroutine_yield();
    s->entered++;
    s->resumed_in_main = g_thread_self() == main_thread;
    s->ctx_seen = qemu_get_current_aio_context();
}

static gpointer co_schedule_thread(gpointer opaque)
{
    CoState *s = opaque;

    g_usleep(10 * 1000);
    aio_co_schedule(ctx, s->co);
    return NULL;
}

static void test_co_schedule(void)
{
    CoState s = { 0 };
    GThread *thread;

    watchdog();
    drain();

    /* From this thread: entered from a BH, not at once. */
    s.co = qemu_coroutine_create(yield_once_entry, &s);
    aio_co_enter(ctx, s.co);
    g_assert_cmpint(s.entered, ==, 1);
    aio_co_schedule(ctx, s.co);
    g_assert_cmpint(s.entered, ==, 1);
    g_assert_true(aio_poll(ctx, false));
    g_assert_cmpint(s.entered, ==, 2);
    g_assert_true(s.resumed_in_main);

    /* From another thread: the sleeping loop wakes and enters it here. */
    memset(&s, 0, sizeof(s));
    s.co = qemu_coroutine_create(yield_once_entry, &s);
    aio_co_enter(ctx, s.co);
    thread = g_thread_new("sched", co_schedule_thread, &s);
    while (s.entered < 2) {
        aio_poll(ctx, true);
    }
    g_thread_join(thread);
    g_assert_true(s.resumed_in_main);
    g_assert_true(s.ctx_seen == ctx);
    g_assert_false(aio_poll(ctx, false));
}

static void test_co_schedule_twice(void)
{
    if (g_test_subprocess()) {
        CoState s = { 0 };

        s.co = qemu_coroutine_create(yield_once_entry, &s);
        aio_co_enter(ctx, s.co);
        aio_co_schedule(ctx, s.co);
        aio_co_schedule(ctx, s.co);
        return;
    }
    g_test_trap_subprocess(NULL, 0, 0);
    g_test_trap_assert_failed();
    g_test_trap_assert_stderr(
        "*Co-routine was already scheduled in 'aio_co_schedule'*");
}

static void wake_bh(void *opaque)
{
    CoState *s = opaque;

    /* Outside a coroutine, in the home thread: entered at once. */
    aio_co_wake(s->co);
    g_assert_cmpint(s->entered, ==, 2);
}

typedef struct WakerState {
    CoState *sleeper;
    int entered_seen_inside;
} WakerState;

static void coroutine_fn waker_entry(void *opaque)
{
    WakerState *w = opaque;

    /* From a coroutine: not nested; the sleeper runs after we yield. */
    aio_co_wake(w->sleeper->co);
    w->entered_seen_inside = w->sleeper->entered;
}

static gpointer co_wake_thread(gpointer opaque)
{
    CoState *s = opaque;

    g_usleep(10 * 1000);
    aio_co_wake(s->co);
    return NULL;
}

static void test_co_wake(void)
{
    CoState s = { 0 };
    WakerState w = { 0 };
    GThread *thread;

    watchdog();
    drain();

    /* From a BH. */
    s.co = qemu_coroutine_create(yield_once_entry, &s);
    aio_co_enter(ctx, s.co);
    aio_bh_schedule_oneshot(ctx, wake_bh, &s);
    g_assert_true(aio_poll(ctx, false));
    g_assert_cmpint(s.entered, ==, 2);

    /* From another coroutine of the same context. */
    memset(&s, 0, sizeof(s));
    s.co = qemu_coroutine_create(yield_once_entry, &s);
    aio_co_enter(ctx, s.co);
    w.sleeper = &s;
    aio_co_enter(ctx, qemu_coroutine_create(waker_entry, &w));
    g_assert_cmpint(w.entered_seen_inside, ==, 1);
    g_assert_cmpint(s.entered, ==, 2);

    /* From another thread, for a coroutine entered the plain way. */
    memset(&s, 0, sizeof(s));
    s.co = qemu_coroutine_create(yield_once_entry, &s);
    qemu_coroutine_enter(s.co);
    g_assert_cmpint(s.entered, ==, 1);
    thread = g_thread_new("wake", co_wake_thread, &s);
    while (s.entered < 2) {
        aio_poll(ctx, true);
    }
    g_thread_join(thread);
    g_assert_true(s.resumed_in_main);
    g_assert_false(aio_poll(ctx, false));
}

typedef struct SleepState {
    QemuCoSleep w;
    int64_t sleep_ns;
    int64_t slept_ns;
    bool done;
} SleepState;

static void coroutine_fn sleep_entry(void *opaque)
{
    SleepState *s = opaque;
    int64_t start = now_ns();

    qemu_co_sleep_ns(s->sleep_ns);
    s->slept_ns = now_ns() - start;
    s->done = true;
}

static void coroutine_fn sleep_wakeable_entry(void *opaque)
{
    SleepState *s = opaque;
    int64_t start = now_ns();

    qemu_co_sleep_ns_wakeable(&s->w, s->sleep_ns);
    s->slept_ns = now_ns() - start;
    s->done = true;
}

static void test_co_sleep(void)
{
    SleepState s = { .sleep_ns = 30 * SCALE_MS };
    int polls = 0;

    watchdog();
    drain();
    aio_co_enter(ctx, qemu_coroutine_create(sleep_entry, &s));
    g_assert_false(s.done);
    g_assert_false(aio_poll(ctx, false));
    g_assert_false(s.done);
    while (!s.done) {
        aio_poll(ctx, true);
        polls++;
    }
    g_assert_cmpint(s.slept_ns, >=, s.sleep_ns);
    g_assert_cmpint(polls, <=, 3);

    /* A zero sleep still yields once and comes back. */
    memset(&s, 0, sizeof(s));
    aio_co_enter(ctx, qemu_coroutine_create(sleep_entry, &s));
    g_assert_false(s.done);
    while (!s.done) {
        aio_poll(ctx, true);
    }
}

static void sleep_wake_cb(void *opaque)
{
    SleepState *s = opaque;

    qemu_co_sleep_wake(&s->w);
}

static gpointer sleep_wake_thread(gpointer opaque)
{
    SleepState *s = opaque;

    g_usleep(20 * 1000);
    qemu_co_sleep_wake(&s->w);
    return NULL;
}

static void test_co_sleep_wake(void)
{
    SleepState s = { .sleep_ns = 10 * NANOSECONDS_PER_SECOND };
    QEMUTimer *t;
    GThread *thread;

    watchdog();
    drain();

    /* Nobody sleeping: harmless. */
    qemu_co_sleep_wake(&s.w);

    /* Woken by a timer callback, long before the deadline. */
    aio_co_enter(ctx, qemu_coroutine_create(sleep_wakeable_entry, &s));
    g_assert_nonnull(s.w.to_wake);
    t = aio_timer_new(ctx, QEMU_CLOCK_REALTIME, SCALE_NS, sleep_wake_cb, &s);
    timer_mod_ns(t, now_ns() + 20 * SCALE_MS);
    while (!s.done) {
        aio_poll(ctx, true);
    }
    g_assert_cmpint(s.slept_ns, >=, 20 * SCALE_MS);
    g_assert_cmpint(s.slept_ns, <, 5 * NANOSECONDS_PER_SECOND);
    g_assert_null(s.w.to_wake);
    timer_free(t);

    /* Woken from another thread. */
    s.done = false;
    aio_co_enter(ctx, qemu_coroutine_create(sleep_wakeable_entry, &s));
    thread = g_thread_new("wake", sleep_wake_thread, &s);
    while (!s.done) {
        aio_poll(ctx, true);
    }
    g_thread_join(thread);
    g_assert_cmpint(s.slept_ns, <, 5 * NANOSECONDS_PER_SECOND);

    /* The 10 s timers are gone: nothing is left to run. */
    g_assert_false(aio_poll(ctx, false));
    g_assert_cmpint(aio_compute_timeout(ctx), ==, -1);
}

/*
 * AIO_WAIT_WHILE
 */

static void set_true_bh(void *opaque)
{
    bool *flag = opaque;

    *flag = true;
}

static gpointer set_flag_and_kick_thread(gpointer opaque)
{
    bool *flag = opaque;

    /* Let the main thread get into the wait and fall asleep. */
    while (!__atomic_load_n(&aio_wait_num_waiters, __ATOMIC_SEQ_CST)) {
        g_usleep(1000);
    }
    g_usleep(20 * 1000);
    __atomic_store_n(flag, true, __ATOMIC_SEQ_CST);
    aio_wait_kick();
    return NULL;
}

typedef struct NestedWait {
    bool b_ran;
    bool a_done;
} NestedWait;

static void nested_wait_a_bh(void *opaque)
{
    NestedWait *s = opaque;

    /* B was scheduled right after us, in the same batch. */
    AIO_WAIT_WHILE(ctx, !s->b_ran);
    s->a_done = true;
}

static void test_wait_while(void)
{
    bool flag = false;
    NestedWait nested = { 0 };
    GThread *thread;

    watchdog();
    drain();

    g_assert_false(AIO_WAIT_WHILE(ctx, false));

    aio_bh_schedule_oneshot(ctx, set_true_bh, &flag);
    g_assert_true(AIO_WAIT_WHILE(ctx, !flag));
    g_assert_true(flag);

    /*
     * Made true by a thread with no event of ours: only aio_wait_kick()
     * wakes the poll (without it the watchdog fires).
     */
    flag = false;
    thread = g_thread_new("kick", set_flag_and_kick_thread, &flag);
    AIO_WAIT_WHILE(ctx, !__atomic_load_n(&flag, __ATOMIC_SEQ_CST));
    g_assert_true(flag);
    g_thread_join(thread);

    /* Nested in a BH, waiting for a BH of the same batch. */
    aio_bh_schedule_oneshot(ctx, nested_wait_a_bh, &nested);
    aio_bh_schedule_oneshot(ctx, set_true_bh, &nested.b_ran);
    AIO_WAIT_WHILE(ctx, !nested.a_done);
    g_assert_true(nested.b_ran);
    drain();
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    trace_init_from_env();
    qemu_init_main_loop(&error_abort);
    ctx = qemu_get_aio_context();
    main_thread = g_thread_self();

    g_test_add_func("/aio/bh/schedule", test_bh_schedule);
    g_test_add_func("/aio/bh/order", test_bh_order);
    g_test_add_func("/aio/bh/schedule-from-bh", test_bh_schedule_from_bh);
    g_test_add_func("/aio/bh/cancel", test_bh_cancel);
    g_test_add_func("/aio/bh/delete", test_bh_delete);
    g_test_add_func("/aio/bh/oneshot", test_bh_oneshot);
    g_test_add_func("/aio/bh/from-thread", test_bh_from_thread);
    g_test_add_func("/aio/fd/read", test_fd_read);
    g_test_add_func("/aio/fd/write", test_fd_write);
    g_test_add_func("/aio/fd/remove-in-handler", test_fd_remove_in_handler);
    g_test_add_func("/aio/timer/fire", test_timer_fire);
    g_test_add_func("/aio/timer/order", test_timer_order);
    g_test_add_func("/aio/timer/del", test_timer_del);
    g_test_add_func("/aio/poll/nonblocking-no-progress",
                    test_poll_nonblocking_no_progress);
    g_test_add_func("/aio/gsource/main-loop", test_gsource_main_loop);
    g_test_add_func("/aio/co/schedule", test_co_schedule);
    g_test_add_func("/aio/co/schedule-twice", test_co_schedule_twice);
    g_test_add_func("/aio/co/wake", test_co_wake);
    g_test_add_func("/aio/co/sleep", test_co_sleep);
    g_test_add_func("/aio/co/sleep-wake", test_co_sleep_wake);
    g_test_add_func("/aio/wait-while", test_wait_while);
    return g_test_run();
}
