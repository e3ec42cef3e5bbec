/*
 * bench-coroutine.c: what a coroutine costs.
 *
 * Two figures, each the median over BENCH_RUNS runs of a batch of
 * BENCH_ITERATIONS operations timed with CLOCK_MONOTONIC (the batch makes
 * the clock's own cost negligible, the median ignores runs that a timer
 * interrupt or a migration to the other core happened to hit):
 *
 *   round trip   create + enter + yield + enter-to-termination: the life
 *                of a short request coroutine, pool reuse included;
 *   switch pair  enter + yield of a coroutine that is already running:
 *                two stack switches, the price of waiting for an event.
 */
#include "qemu/osdep.h"

#include "qemu/coroutine.h"
#include "qemu/coroutine_int.h"
#include "bench.h"


#define BENCH_RUNS        31
#define BENCH_ITERATIONS  1000000

/* Sort @ns_per_op and print its median and minimum. */
static void bench_report(const char *what, double *ns_per_op)
{
    double median = bench_median(ns_per_op, BENCH_RUNS);

    printf("%s: median %.1f ns (min %.1f, %d runs x %d)\n", what,
           median, ns_per_op[0], BENCH_RUNS,
           BENCH_ITERATIONS);
}

static void coroutine_fn bench_yield_once(void *opaque)
{
    qemu_coroutine_yield();
}

static void coroutine_fn bench_yield_forever(void *opaque)
{
    bool *stop = opaque;

    while (!*stop) {
        qemu_coroutine_yield();
    }
}

void bench_coroutine(void)
{
    double ns_per_op[BENCH_RUNS];
    bool stop = false;
    Coroutine *co;
    int run, i;

    printf("coroutine backend: %s\n", qemu_coroutine_backend_name());

    /* Warm up: fill the pool, fault in the stack pages. */
    for (i = 0; i < 1000; i++) {
        co = qemu_coroutine_create(bench_yield_once, NULL);
        qemu_coroutine_enter(co);
        qemu_coroutine_enter(co);
    }

    for (run = 0; run < BENCH_RUNS; run++) {
        int64_t start = get_clock();

        for (i = 0; i < BENCH_ITERATIONS; i++) {
            co = qemu_coroutine_create(bench_yield_once, NULL);
            qemu_coroutine_enter(co);
            qemu_coroutine_enter(co);
        }
        ns_per_op[run] = (double)(get_clock() - start) / BENCH_ITERATIONS;
    }
    bench_report("coroutine create+enter+yield+enter round trip", ns_per_op);

    co = qemu_coroutine_create(bench_yield_forever, &stop);
    for (run = 0; run < BENCH_RUNS; run++) {
        int64_t start = get_clock();

        for (i = 0; i < BENCH_ITERATIONS; i++) {
            qemu_coroutine_enter(co);
        }
        ns_per_op[run] = (double)(get_clock() - start) / BENCH_ITERATIONS;
    }
    stop = true;
    qemu_coroutine_enter(co);
    bench_report("coroutine enter/yield switch pair", ns_per_op);
}
