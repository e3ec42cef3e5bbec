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

void bench_coroutine(void);
void bench_hbitmap(void);

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
