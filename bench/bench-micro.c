/*
 * bench-micro: micro-benchmarks of the foundation layer.
 *
 * Run with `make bench-micro`.  It prints one line per figure; each figure
 * is the median over repeated batches, so one scheduler hiccup does not
 * move it.  These are measurements to read and compare, never asserts: the
 * test suite does not time anything.
 *
 *   bench-micro [coroutine|hbitmap]...   (default: all)
 */
#include "qemu/osdep.h"

#include "bench.h"

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a;
    double y = *(const double *)b;

    return x < y ? -1 : x > y;
}

double bench_median(double *v, int n)
{
    qsort(v, n, sizeof(*v), compare_double);
    return v[n / 2];
}

static const struct {
    const char *name;
    void (*fn)(void);
} benches[] = {
    { "coroutine", bench_coroutine },
    { "hbitmap", bench_hbitmap },
};

int main(int argc, char **argv)
{
    size_t i;
    int a;

    if (argc == 1) {
        for (i = 0; i < ARRAY_SIZE(benches); i++) {
            benches[i].fn();
        }
        return 0;
    }
    for (a = 1; a < argc; a++) {
        bool found = false;

        for (i = 0; i < ARRAY_SIZE(benches); i++) {
            if (!strcmp(argv[a], benches[i].name)) {
                benches[i].fn();
                found = true;
            }
        }
        if (!found) {
            fprintf(stderr, "bench-micro: unknown benchmark '%s' "
                    "(try: coroutine, hbitmap)\n", argv[a]);
            return 1;
        }
    }
    return 0;
}
