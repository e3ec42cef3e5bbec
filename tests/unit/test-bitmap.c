/*
 * test-bitmap.c: bitops.h and bitmap.h against a bool-array oracle.
 *
 * Every function runs on ranges that start and end on and around word
 * edges (0, 1, 63, 64, 65, ...), over random backgrounds, and the result is
 * compared bit by bit with the same operation done on an array of bools.
 * Readers are also fed junk in the last word past @nbits, which they must
 * ignore.  The random patterns come from a fixed seed, printed on failure.
 */
#include "qemu/osdep.h"
#include "qemu/bitmap.h"

/* Bits of the test maps: five words, so a range can span three full. */
#define NB          (5 * BITS_PER_LONG)
#define NL          BITS_TO_LONGS(NB)

static const long edges[] = {
    0, 1, 2, 31, 32, 62, 63, 64, 65, 66, 100, 126, 127, 128, 129, 130,
    191, 192, 193, 254, 255, 256, 257, 300, 319, 320,
};

static GRand *rng;
static guint32 seed = 0x5eed0b17;

static void fail_note(const char *what, long a, long b)
{
    fprintf(stderr, "# test-bitmap: seed 0x%" PRIx32 " %s (%ld, %ld)\n",
            seed, what, a, b);
}

/* Fill @map and @o with the same random pattern of the given density. */
static void random_fill(unsigned long *map, bool *o, long nbits, int kind)
{
    long i;

    bitmap_zero(map, nbits);
    for (i = 0; i < nbits; i++) {
        switch (kind) {
        case 0:
            o[i] = false;
            break;
        case 1:
            o[i] = true;
            break;
        case 2:
            o[i] = g_rand_int_range(rng, 0, 16) == 0;
            break;
        default:
            o[i] = g_rand_boolean(rng);
            break;
        }
        if (o[i]) {
            map[BIT_WORD(i)] |= BIT_MASK(i);
        }
    }
}

/* Put junk into the last word past @nbits, which readers must ignore. */
static void junk_tail(unsigned long *map, long nbits)
{
    if (nbits % BITS_PER_LONG) {
        map[BIT_WORD(nbits)] |= ~BITMAP_LAST_WORD_MASK(nbits) &
                                (unsigned long)g_rand_int(rng);
    }
}

static void check_same(const unsigned long *map, const bool *o, long nbits,
                       const char *what, long a, long b)
{
    long i;

    for (i = 0; i < nbits; i++) {
        if (test_bit(i, map) != o[i]) {
            fail_note(what, a, b);
            fprintf(stderr, "# bit %ld is %d, want %d\n", i,
                    test_bit(i, map), o[i]);
            g_assert_not_reached();
        }
    }
}

static void test_macros(void)
{
    g_assert_cmpint(BITS_PER_LONG, ==, sizeof(long) * 8);
    g_assert_cmpint(BIT_WORD(0), ==, 0);
    g_assert_cmpint(BIT_WORD(BITS_PER_LONG - 1), ==, 0);
    g_assert_cmpint(BIT_WORD(BITS_PER_LONG), ==, 1);
    g_assert_cmpuint(BIT_MASK(BITS_PER_LONG + 3), ==, 8);
    g_assert_cmpint(BITS_TO_LONGS(0), ==, 0);
    g_assert_cmpint(BITS_TO_LONGS(1), ==, 1);
    g_assert_cmpint(BITS_TO_LONGS(BITS_PER_LONG), ==, 1);
    g_assert_cmpint(BITS_TO_LONGS(BITS_PER_LONG + 1), ==, 2);
    g_assert_cmpuint(BITMAP_FIRST_WORD_MASK(3), ==, ~7UL);
    g_assert_cmpuint(BITMAP_LAST_WORD_MASK(3), ==, 7UL);
    g_assert_cmpuint(BITMAP_LAST_WORD_MASK(BITS_PER_LONG), ==, ~0UL);
    g_assert_cmpint(ctzl(0), ==, BITS_PER_LONG);
    g_assert_cmpint(clzl(0), ==, BITS_PER_LONG);
    g_assert_cmpint(ctzl(1UL << (BITS_PER_LONG - 1)), ==, BITS_PER_LONG - 1);
}

static void test_single_bits(void)
{
    unsigned long map[NL];
    bool o[NB];
    long i;
    int n;

    random_fill(map, o, NB, 3);
    for (n = 0; n < 20000; n++) {
        long nr = g_rand_int_range(rng, 0, 8) ?
                  g_rand_int_range(rng, 0, NB) :
                  edges[g_rand_int_range(rng, 0, G_N_ELEMENTS(edges) - 1)];
        bool old = o[nr];

        switch (g_rand_int_range(rng, 0, 7)) {
        case 0:
            set_bit(nr, map);
            o[nr] = true;
            break;
        case 1:
            clear_bit(nr, map);
            o[nr] = false;
            break;
        case 2:
            change_bit(nr, map);
            o[nr] = !o[nr];
            break;
        case 3:
            g_assert_cmpint(test_and_set_bit(nr, map), ==, old);
            o[nr] = true;
            break;
        case 4:
            g_assert_cmpint(test_and_clear_bit(nr, map), ==, old);
            o[nr] = false;
            break;
        case 5:
            g_assert_cmpint(test_and_change_bit(nr, map), ==, old);
            o[nr] = !o[nr];
            break;
        default:
            if (g_rand_boolean(rng)) {
                set_bit_atomic(nr, map);
                o[nr] = true;
            } else {
                clear_bit_atomic(nr, map);
                o[nr] = false;
            }
            break;
        }
        g_assert_cmpint(test_bit(nr, map), ==, o[nr]);
    }
    check_same(map, o, NB, "single bits", 0, 0);
    for (i = 0; i < NB; i++) {
        g_assert_cmpint(test_bit(i, map), ==, o[i]);
    }
}

/* The oracle's answers for the find functions. */
static long o_next(const bool *o, long size, long off, bool v)
{
    long i;

    for (i = off; i < size; i++) {
        if (o[i] == v) {
            return i;
        }
    }
    return size;
}

static long o_last(const bool *o, long size)
{
    long i;

    for (i = size - 1; i >= 0; i--) {
        if (o[i]) {
            return i;
        }
    }
    return size;
}

static void test_find(void)
{
    unsigned long map[NL];
    bool o[NB];
    size_t s;
    long off;
    int kind;
    int rep;

    for (kind = 0; kind < 4; kind++) {
        for (rep = 0; rep < 4; rep++) {
            for (s = 0; s < G_N_ELEMENTS(edges); s++) {
                long size = edges[s];

                random_fill(map, o, NB, kind);
                /* Set / clear a lone bit near the end to catch off-by-1s. */
                if (size && rep == 1) {
                    o[size - 1] = !o[size - 1];
                    change_bit(size - 1, map);
                }
                /*
                 * Past @size: the random pattern (reps 0 and 1), all clear,
                 * or all set.  The find functions must ignore it.
                 */
                if (rep == 2) {
                    bitmap_clear(map, size, NB - size);
                } else if (rep == 3) {
                    bitmap_set(map, size, NB - size);
                }
                for (off = 0; off <= size + 1; off++) {
                    g_assert_cmpuint(find_next_bit(map, size, off), ==,
                                     off < size ?
                                     o_next(o, size, off, true) : size);
                    g_assert_cmpuint(find_next_zero_bit(map, size, off), ==,
                                     off < size ?
                                     o_next(o, size, off, false) : size);
                }
                g_assert_cmpuint(find_first_bit(map, size), ==,
                                 o_next(o, size, 0, true));
                g_assert_cmpuint(find_first_zero_bit(map, size), ==,
                                 o_next(o, size, 0, false));
                g_assert_cmpuint(find_last_bit(map, size), ==,
                                 o_last(o, size));
            }
        }
    }
}

static void test_set_clear(void)
{
    unsigned long map[NL];
    bool o[NB];
    size_t s;
    size_t l;
    long i;
    int kind;

    for (kind = 0; kind < 4; kind++) {
        for (s = 0; s < G_N_ELEMENTS(edges); s++) {
            for (l = 0; l < G_N_ELEMENTS(edges); l++) {
                long start = edges[s];
                long len = MIN(edges[l], NB - start);
                bool any;

                random_fill(map, o, NB, kind);
                bitmap_set(map, start, len);
                for (i = start; i < start + len; i++) {
                    o[i] = true;
                }
                check_same(map, o, NB, "bitmap_set", start, len);

                random_fill(map, o, NB, kind);
                bitmap_clear(map, start, len);
                for (i = start; i < start + len; i++) {
                    o[i] = false;
                }
                check_same(map, o, NB, "bitmap_clear", start, len);

                random_fill(map, o, NB, kind);
                bitmap_set_atomic(map, start, len);
                for (i = start; i < start + len; i++) {
                    o[i] = true;
                }
                check_same(map, o, NB, "bitmap_set_atomic", start, len);

                random_fill(map, o, NB, kind);
                any = false;
                for (i = start; i < start + len; i++) {
                    any |= o[i];
                    o[i] = false;
                }
                g_assert_cmpint(bitmap_test_and_clear_atomic(map, start, len),
                                ==, any);
                check_same(map, o, NB, "bitmap_test_and_clear_atomic",
                           start, len);
            }
        }
    }
}

typedef struct AtomicArg {
    unsigned long *map;
    int parity;
} AtomicArg;

/* Each thread sets every other bit, in short overlapping ranges. */
static gpointer atomic_setter(gpointer opaque)
{
    AtomicArg *arg = opaque;
    long i;

    for (i = arg->parity; i < NB; i += 2) {
        bitmap_set_atomic(arg->map, i, 1);
    }
    return NULL;
}

static void test_atomic_threads(void)
{
    unsigned long map[NL];
    AtomicArg args[2];
    GThread *t[2];
    int rep;
    int i;

    for (rep = 0; rep < 200; rep++) {
        bitmap_zero(map, NB);
        for (i = 0; i < 2; i++) {
            args[i].map = map;
            args[i].parity = i;
            t[i] = g_thread_new("setter", atomic_setter, &args[i]);
        }
        for (i = 0; i < 2; i++) {
            g_thread_join(t[i]);
        }
        g_assert_true(bitmap_full(map, NB));
        g_assert_true(bitmap_test_and_clear_atomic(map, 0, NB));
        g_assert_true(bitmap_empty(map, NB));
        g_assert_false(bitmap_test_and_clear_atomic(map, 0, NB));
    }
}

static void test_predicates(void)
{
    unsigned long a[NL];
    unsigned long b[NL];
    bool oa[NB];
    bool ob[NB];
    size_t s;
    size_t f;
    long i;
    int kind;
    int kb;

    for (kind = 0; kind < 4; kind++) {
        for (kb = 0; kb < 4; kb++) {
            for (s = 0; s < G_N_ELEMENTS(edges); s++) {
                long nbits = edges[s];
                bool empty = true;
                bool full = true;
                bool equal = true;
                bool inter = false;
                long count = 0;

                random_fill(a, oa, NB, kind);
                random_fill(b, ob, NB, kb);
                if (kind == kb && kind < 2) {
                    /* Make "equal" and "intersects" go both ways. */
                    bitmap_copy(b, a, NB);
                    memcpy(ob, oa, sizeof(ob));
                }
                junk_tail(a, nbits);
                junk_tail(b, nbits);
                for (i = 0; i < nbits; i++) {
                    empty &= !oa[i];
                    full &= oa[i];
                    equal &= oa[i] == ob[i];
                    inter |= oa[i] && ob[i];
                    count += oa[i];
                }
                g_assert_cmpint(bitmap_empty(a, nbits), ==, empty);
                g_assert_cmpint(bitmap_full(a, nbits), ==, full);
                g_assert_cmpint(bitmap_equal(a, b, nbits), ==, equal);
                g_assert_cmpint(bitmap_intersects(a, b, nbits), ==, inter);
                g_assert_cmpint(bitmap_count_one(a, nbits), ==, count);

                /* Ranges inside [0, nbits), ending at nbits or not. */
                for (f = 0; f < G_N_ELEMENTS(edges) && edges[f] <= nbits;
                     f++) {
                    long off = edges[f];
                    long len = g_rand_boolean(rng) ? nbits - off :
                               g_rand_int_range(rng, 0, nbits - off + 1);
                    long n = 0;

                    for (i = off; i < off + len; i++) {
                        n += oa[i];
                    }
                    g_assert_cmpint(bitmap_count_one_with_offset(a, off, len),
                                    ==, n);
                }
            }
        }
    }
}

static void test_logic(void)
{
    unsigned long a[NL];
    unsigned long b[NL];
    unsigned long d[NL];
    bool oa[NB];
    bool ob[NB];
    bool od[NB];
    size_t s;
    long i;
    int op;
    int rep;

    for (rep = 0; rep < 16; rep++) {
        for (s = 0; s < G_N_ELEMENTS(edges); s++) {
            long nbits = edges[s];

            for (op = 0; op < 5; op++) {
                bool any = false;
                bool ret = false;
                bool in_place = rep & 1;

                random_fill(a, oa, NB, rep % 4);
                random_fill(b, ob, NB, (rep / 4) % 4);
                for (i = 0; i < nbits; i++) {
                    switch (op) {
                    case 0:
                        od[i] = oa[i] && ob[i];
                        break;
                    case 1:
                        od[i] = oa[i] || ob[i];
                        break;
                    case 2:
                        od[i] = oa[i] != ob[i];
                        break;
                    case 3:
                        od[i] = oa[i] && !ob[i];
                        break;
                    default:
                        od[i] = !oa[i];
                        break;
                    }
                    any |= od[i];
                }
                /* Either a separate destination or dst == src1. */
                if (in_place) {
                    bitmap_copy(d, a, NB);
                }
                switch (op) {
                case 0:
                    ret = bitmap_and(d, in_place ? d : a, b, nbits);
                    g_assert_cmpint(ret, ==, any);
                    break;
                case 1:
                    bitmap_or(d, in_place ? d : a, b, nbits);
                    break;
                case 2:
                    bitmap_xor(d, in_place ? d : a, b, nbits);
                    break;
                case 3:
                    ret = bitmap_andnot(d, in_place ? d : a, b, nbits);
                    g_assert_cmpint(ret, ==, any);
                    break;
                default:
                    bitmap_complement(d, in_place ? d : a, nbits);
                    break;
                }
                check_same(d, od, nbits, "logic op", op, nbits);
            }
        }
    }
}

static void test_alloc_fill_copy(void)
{
    size_t s;
    long i;

    for (s = 0; s < G_N_ELEMENTS(edges); s++) {
        long nbits = edges[s];
        g_autofree unsigned long *m = bitmap_new(nbits);
        g_autofree unsigned long *c = bitmap_try_new(nbits);
        unsigned long *z;

        if (!nbits) {
            continue;
        }
        g_assert_nonnull(c);
        g_assert_true(bitmap_empty(m, nbits));
        g_assert_cmpint(find_first_bit(m, nbits), ==, nbits);

        bitmap_fill(m, nbits);
        g_assert_true(bitmap_full(m, nbits));
        g_assert_cmpint(bitmap_count_one(m, nbits), ==, nbits);
        /* Fill leaves the rest of the last word clear. */
        if (nbits % BITS_PER_LONG) {
            g_assert_cmpuint(m[BIT_WORD(nbits)] &
                             ~BITMAP_LAST_WORD_MASK(nbits), ==, 0);
        }

        bitmap_copy(c, m, nbits);
        g_assert_true(bitmap_equal(c, m, nbits));
        bitmap_zero(m, nbits);
        g_assert_true(bitmap_empty(m, nbits));
        g_assert_true(bitmap_full(c, nbits));

        /* Grow a full map: the old bits stay, the new ones are clear. */
        z = bitmap_new(nbits);
        bitmap_fill(z, nbits);
        z = bitmap_zero_extend(z, nbits, nbits + 130);
        for (i = 0; i < nbits + 130; i++) {
            g_assert_cmpint(test_bit(i, z), ==, i < nbits);
        }
        z = bitmap_zero_extend(z, nbits + 130, nbits / 2);
        g_assert_true(bitmap_full(z, nbits / 2));
        g_free(z);
    }
}

/* Brute force: the first aligned run of @nr clear bits at or after @start. */
static long o_zero_area(const bool *o, long size, long start, long nr,
                        long align_mask)
{
    long idx;
    long i;

    for (idx = (start + align_mask) & ~align_mask; idx + nr <= size;
         idx += align_mask + 1) {
        bool ok = true;

        for (i = idx; i < idx + nr && ok; i++) {
            ok = !o[i];
        }
        if (ok) {
            return idx;
        }
    }
    return -1;
}

static void test_find_zero_area(void)
{
    static const long masks[] = { 0, 1, 3, 7, 63 };
    static const long nrs[] = { 1, 2, 3, 7, 63, 64, 65, 130 };
    unsigned long map[NL];
    bool o[NB];
    size_t m;
    size_t n;
    long start;
    int kind;

    for (kind = 0; kind < 4; kind++) {
        random_fill(map, o, NB, kind);
        /* A few clear holes in a dense map, so areas exist. */
        if (kind == 1 || kind == 3) {
            bitmap_clear(map, 70, 5);
            bitmap_clear(map, 130, 70);
            memset(o + 70, 0, 5 * sizeof(bool));
            memset(o + 130, 0, 70 * sizeof(bool));
        }
        for (m = 0; m < G_N_ELEMENTS(masks); m++) {
            for (n = 0; n < G_N_ELEMENTS(nrs); n++) {
                for (start = 0; start < NB; start += 7) {
                    long want = o_zero_area(o, NB, start, nrs[n], masks[m]);
                    unsigned long got =
                        bitmap_find_next_zero_area(map, NB, start, nrs[n],
                                                   masks[m]);

                    if (want < 0) {
                        g_assert_cmpuint(got, >, NB - nrs[n]);
                    } else {
                        g_assert_cmpuint(got, ==, want);
                    }
                }
            }
        }
    }
}

static void test_extract_deposit(void)
{
    uint64_t v = UINT64_C(0x0123456789abcdef);

    g_assert_cmphex(extract64(v, 0, 64), ==, v);
    g_assert_cmphex(extract64(v, 4, 8), ==, 0xde);
    g_assert_cmphex(extract64(v, 60, 4), ==, 0x0);
    g_assert_cmphex(extract64(v, 56, 8), ==, 0x01);
    g_assert_cmphex(deposit64(v, 4, 8, 0x55), ==,
                    UINT64_C(0x0123456789abc55f));
    g_assert_cmphex(deposit64(v, 0, 64, 7), ==, 7);
    g_assert_cmphex(deposit64(0, 63, 1, 1), ==, UINT64_C(1) << 63);
    g_assert_cmphex(extract32(0x89abcdef, 28, 4), ==, 0x8);
    g_assert_cmphex(deposit32(0x89abcdef, 8, 8, 0x1ff), ==, 0x89abffef);
}

int main(int argc, char **argv)
{
    const char *env = g_getenv("BITMAP_TEST_SEED");
    int ret;

    g_test_init(&argc, &argv, NULL);
    if (env) {
        seed = strtoul(env, NULL, 0);
    }
    rng = g_rand_new_with_seed(seed);
    g_test_message("seed 0x%" PRIx32 " (set BITMAP_TEST_SEED to change)", seed);

    g_test_add_func("/bitmap/macros", test_macros);
    g_test_add_func("/bitmap/bitops/single", test_single_bits);
    g_test_add_func("/bitmap/bitops/find", test_find);
    g_test_add_func("/bitmap/set-clear", test_set_clear);
    g_test_add_func("/bitmap/atomic/threads", test_atomic_threads);
    g_test_add_func("/bitmap/predicates", test_predicates);
    g_test_add_func("/bitmap/logic", test_logic);
    g_test_add_func("/bitmap/alloc-fill-copy", test_alloc_fill_copy);
    g_test_add_func("/bitmap/find-next-zero-area", test_find_zero_area);
    g_test_add_func("/bitmap/extract-deposit", test_extract_deposit);
    ret = g_test_run();
    g_rand_free(rng);
    return ret;
}
