/*
 * bench.h: what the micro-benchmarks share.
 *
 * Each benchmark times repeated batches and reports the median, so one
 * scheduler hiccup does not move the figure.  Times come from the monotonic
 * clock (qemu/timer.h).
 */
#ifndef QBLOCK_BENCH_BENCH_H
#define QBLOCK_BENCH_BENCH_H

#include "qemu/timer.h"

/* Sort @v[0..n) in place and return its median; v[0] is then the min. */
double bench_median(double *v, int n);

/* The benchmarks bench-micro can run. */
void bench_coroutine(void);
void bench_hbitmap(void);

#endif /* QBLOCK_BENCH_BENCH_H */
