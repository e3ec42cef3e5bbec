/*
 * bench-hbitmap.c: how fast the HBitmap paths that the mirror uses run.
 *
 * The mirror walks its dirty bitmap on every loop, so the figures that
 * matter are a full iteration over a large, sparsely dirty bitmap (16 Mi
 * bits is a 1 TiB disk at 64 KiB granularity), the same walk resetting
 * each bit as it goes, and set/reset of a large range (a guest writing a
 * big area, or the job starting with everything dirty).  Each figure is
 * the median of repeated runs; nothing is asserted.
 */
#include "qemu/osdep.h"

#include "qemu/hbitmap.h"
#include "bench.h"


#define RUNS            21
#define ITER_BITS       (UINT64_C(16) << 20)

/* Median of @n int64 nanosecond timings, in milliseconds. */
static double median_ms(int64_t *t, int n)
{
    g_autofree double *v = g_new(double, n);

    for (int i = 0; i < n; i++) {
        v[i] = t[i];
    }
    return bench_median(v, n) / 1e6;
}

/* A 16 Mi-bit, granularity-0 bitmap with @nset distinct random bits. */
static HBitmap *random_bitmap(uint64_t nset)
{
    HBitmap *hb = hbitmap_alloc(ITER_BITS, 0);
    GRand *r = g_rand_new_with_seed(0x1b17);

    while (hbitmap_count(hb) < nset) {
        hbitmap_set(hb, g_rand_int_range(r, 0, ITER_BITS), 1);
    }
    g_rand_free(r);
    return hb;
}

static void bench_iterate(uint64_t nset, const char *pct)
{
    HBitmap *hb = random_bitmap(nset);
    int64_t t[RUNS];
    int i;

    for (i = 0; i < RUNS; i++) {
        HBitmapIter hbi;
        uint64_t n = 0;
        int64_t t0 = get_clock();

        hbitmap_iter_init(&hbi, hb, 0);
        while (hbitmap_iter_next(&hbi) >= 0) {
            n++;
        }
        t[i] = get_clock() - t0;
        assert(n == nset);
    }
    printf("hbitmap iterate 16 Mi bits, %s set: median %.3g ms (%d runs)\n",
           pct, median_ms(t, RUNS), RUNS);
    hbitmap_free(hb);
}

/* The mirror's pattern: take each dirty bit and reset it at once. */
static void bench_iterate_reset(uint64_t nset, const char *pct)
{
    HBitmap *hb = random_bitmap(nset);
    g_autofree int64_t *items = g_new(int64_t, nset);
    int64_t t[RUNS];
    HBitmapIter hbi;
    uint64_t n = 0;
    int64_t item;
    int i;

    hbitmap_iter_init(&hbi, hb, 0);
    while ((item = hbitmap_iter_next(&hbi)) >= 0) {
        items[n++] = item;
    }
    for (i = 0; i < RUNS; i++) {
        int64_t t0 = get_clock();

        hbitmap_iter_init(&hbi, hb, 0);
        while ((item = hbitmap_iter_next(&hbi)) >= 0) {
            hbitmap_reset(hb, item, 1);
        }
        t[i] = get_clock() - t0;
        assert(hbitmap_is_empty(hb));
        for (n = 0; n < nset; n++) {
            hbitmap_set(hb, items[n], 1);
        }
    }
    printf("hbitmap iterate+reset 16 Mi bits, %s set: median %.3g ms "
           "(%d runs)\n", pct, median_ms(t, RUNS), RUNS);
    hbitmap_free(hb);
}

/* Walking dirty areas, as a byte-based mirror does. */
static void bench_dirty_areas(uint64_t nset, const char *pct)
{
    HBitmap *hb = random_bitmap(nset);
    int64_t t[RUNS];
    int i;

    for (i = 0; i < RUNS; i++) {
        int64_t off = 0;
        int64_t len;
        uint64_t n = 0;
        int64_t t0 = get_clock();

        while (hbitmap_next_dirty_area(hb, off, ITER_BITS, INT64_MAX,
                                       &off, &len)) {
            n += len;
            off += len;
        }
        t[i] = get_clock() - t0;
        assert(n == nset);
    }
    printf("hbitmap next_dirty_area 16 Mi bits, %s set: median %.3g ms "
           "(%d runs)\n", pct, median_ms(t, RUNS), RUNS);
    hbitmap_free(hb);
}

static void bench_set_reset(uint64_t size, int gran, uint64_t range,
                            int runs, const char *what)
{
    HBitmap *hb = hbitmap_alloc(size, gran);
    int64_t ts[RUNS];
    int64_t tr[RUNS];
    int i;

    assert(runs <= RUNS);
    for (i = 0; i < runs; i++) {
        int64_t t0 = get_clock();
        int64_t t1;

        hbitmap_set(hb, 0, range);
        t1 = get_clock();
        hbitmap_reset(hb, 0, range);
        ts[i] = t1 - t0;
        tr[i] = get_clock() - t1;
        assert(hbitmap_is_empty(hb));
    }
    printf("hbitmap set %s: median %.3g ms, reset %.3g ms (%d runs)\n",
           what, median_ms(ts, runs), median_ms(tr, runs), runs);
    hbitmap_free(hb);
}

void bench_hbitmap(void)
{
    bench_iterate(ITER_BITS / 100, "1%");
    bench_iterate(ITER_BITS / 10000, "0.01%");
    bench_iterate(ITER_BITS / 2, "50%");
    bench_iterate_reset(ITER_BITS / 100, "1%");
    bench_dirty_areas(ITER_BITS / 100, "1%");
    bench_set_reset(4 * GiB, 16, GiB, RUNS,
                    "1 GiB range (gran 16, 16 Ki of 64 Ki bits)");
    bench_set_reset(GiB, 0, GiB, 7,
                    "1 GiB range (gran 0, 1 Gi bits)");
}
