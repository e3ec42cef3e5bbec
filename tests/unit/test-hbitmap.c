/*
 * test-hbitmap.c: HBitmap against a byte-array oracle.
 *
 * The oracle keeps one byte (0 or 1) per granule and answers every query
 * the slow, obvious way (memchr and plain loops over granules).  The
 * random tests run long operation sequences on an HBitmap and the oracle
 * side by side, for every granularity from 0 to 20 and for sizes on both
 * sides of a word (64 bits) and of each summary level (4096, 262144, 2^24
 * bits), with and without a partial last granule.  Fixed tests pin down
 * the edges: iterator semantics when the bitmap changes under it,
 * truncation, merging across granularities, serialization layout, and a
 * sparse 2^40-item bitmap.
 *
 * Seeds are fixed (HBITMAP_TEST_SEED overrides the base); a failure prints
 * the seed, granularity, size and step before the assertion.
 */
#include "qemu/osdep.h"
#include "qemu/hbitmap.h"

/* Sanitizer builds are several times slower: run fewer steps there. */
#if CONFIG_ASAN
#define STEP_DIVISOR 3
#else
#define STEP_DIVISOR 1
#endif

typedef struct Oracle {
    uint8_t *bits;      /* one byte per granule, 0 or 1 */
    uint64_t nbits;     /* granules */
    uint64_t size;      /* items */
    uint64_t count;     /* granules set */
    int gran;
} Oracle;

typedef struct Ctx {
    HBitmap *hb;
    Oracle o;
    GRand *rand;
    guint32 seed;
    int step;
    const char *op;
} Ctx;

static guint32 base_seed = 0x4b17e5;

/* What the failing check was doing, for the message. */
static const Ctx *cur_ctx;

static void report(int line, const char *expr, int64_t got, int64_t want)
{
    if (cur_ctx) {
        fprintf(stderr, "# test-hbitmap: seed 0x%" PRIx32 " gran %d size %"
                PRIu64 " step %d op %s\n", cur_ctx->seed, cur_ctx->o.gran,
                cur_ctx->o.size, cur_ctx->step, cur_ctx->op);
    }
    fprintf(stderr, "# line %d: %s = %" PRId64 ", want %" PRId64 "\n",
            line, expr, got, want);
}

#define CHECK_EQ(got, want)                                         \
    do {                                                            \
        int64_t got_ = (int64_t)(got);                              \
        int64_t want_ = (int64_t)(want);                            \
        if (got_ != want_) {                                        \
            report(__LINE__, #got, got_, want_);                    \
            g_assert_cmpint(got_, ==, want_);                       \
        }                                                           \
    } while (0)

/* Uniform-enough value in [0, n), n > 0. */
static uint64_t rnd(GRand *r, uint64_t n)
{
    uint64_t v = ((uint64_t)g_rand_int(r) << 32) | g_rand_int(r);

    return v % n;
}

/* The oracle. */

static uint64_t granules(uint64_t size, int gran)
{
    return (size >> gran) + ((size & ((UINT64_C(1) << gran) - 1)) != 0);
}

static void o_init(Oracle *o, uint64_t size, int gran)
{
    o->gran = gran;
    o->size = size;
    o->nbits = granules(size, gran);
    o->bits = g_malloc0(o->nbits + 1);
    o->count = 0;
}

static void o_free(Oracle *o)
{
    g_free(o->bits);
    o->bits = NULL;
}

/* Granules [fb, lb] := v. */
static void o_fill(Oracle *o, uint64_t fb, uint64_t lb, uint8_t v)
{
    uint64_t b;

    for (b = fb; b <= lb; b++) {
        if (o->bits[b] != v) {
            o->bits[b] = v;
            o->count += v ? 1 : -1;
        }
    }
}

static void o_set(Oracle *o, uint64_t start, uint64_t count)
{
    o_fill(o, start >> o->gran, (start + count - 1) >> o->gran, 1);
}

static void o_reset(Oracle *o, uint64_t start, uint64_t count)
{
    o_fill(o, start >> o->gran, (start + count - 1) >> o->gran, 0);
}

/* First granule in [fb, eb) whose byte is @v, or -1. */
static int64_t o_find(const Oracle *o, uint64_t fb, uint64_t eb, uint8_t v)
{
    const uint8_t *p;

    if (fb >= eb) {
        return -1;
    }
    p = memchr(o->bits + fb, v, eb - fb);
    return p ? p - o->bits : -1;
}

/* End of [start, start + count) clipped to the size, without overflow. */
static uint64_t o_end(const Oracle *o, uint64_t start, uint64_t count)
{
    return count > o->size - start ? o->size : start + count;
}

/* First item of state @v in [start, start + count), or -1. */
static int64_t o_next(const Oracle *o, uint64_t start, uint64_t count,
                      uint8_t v)
{
    uint64_t end;
    int64_t b;

    if (start >= o->size || !count) {
        return -1;
    }
    end = o_end(o, start, count);
    b = o_find(o, start >> o->gran, ((end - 1) >> o->gran) + 1, v);
    if (b < 0) {
        return -1;
    }
    return MAX(start, (uint64_t)b << o->gran);
}

/* From @pos, the end of the run of items in state @v, capped at @limit. */
static uint64_t o_run_end(const Oracle *o, uint64_t pos, uint64_t limit,
                          uint8_t v)
{
    while (pos < limit && o->bits[pos >> o->gran] == v) {
        pos = MIN(limit, ((pos >> o->gran) + 1) << o->gran);
    }
    return pos;
}

static void o_truncate(Oracle *o, uint64_t size)
{
    uint64_t nbits = granules(size, o->gran);

    if (nbits < o->nbits) {
        o_fill(o, nbits, o->nbits - 1, 0);
    }
    o->bits = g_realloc(o->bits, nbits + 1);
    if (nbits > o->nbits) {
        memset(o->bits + o->nbits, 0, nbits - o->nbits);
    }
    o->nbits = nbits;
    o->size = size;
}

/* Comparing an HBitmap with an oracle. */

/* Everything: count, every set granule in order, and some gets. */
static void check_all(const Ctx *c, const HBitmap *hb, const Oracle *o)
{
    HBitmapIter hbi;
    uint64_t b;
    int64_t item;
    int64_t want;

    CHECK_EQ(hbitmap_count(hb), o->count << o->gran);
    CHECK_EQ(hbitmap_is_empty(hb), o->count == 0);
    CHECK_EQ(hbitmap_size(hb), o->size);
    CHECK_EQ(hbitmap_granularity(hb), o->gran);

    hbitmap_iter_init(&hbi, hb, 0);
    b = 0;
    do {
        want = o_find(o, b, o->nbits, 1);
        item = hbitmap_iter_next(&hbi);
        CHECK_EQ(item, want < 0 ? -1 : want << o->gran);
        b = want + 1;
    } while (want >= 0);

    /* Every granule's first item, and a random item of it. */
    if (o->nbits <= (1 << 18)) {
        for (b = 0; b < o->nbits; b++) {
            uint64_t first = b << o->gran;
            uint64_t any = first + rnd(c->rand, MIN(o->size - first,
                                                    UINT64_C(1) << o->gran));

            CHECK_EQ(hbitmap_get(hb, first), o->bits[b]);
            CHECK_EQ(hbitmap_get(hb, any), o->bits[b]);
        }
    }
}

/* Random ranges. */

/* A count of granules: mostly small, sometimes a few words, rarely huge. */
static uint64_t rnd_granules(GRand *r, uint64_t max)
{
    switch (g_rand_int_range(r, 0, 8)) {
    case 0:
    case 1:
    case 2:
        return 1 + rnd(r, MIN(max, 3));
    case 3:
    case 4:
        return 1 + rnd(r, MIN(max, 200));
    case 5:
    case 6:
        return 1 + rnd(r, MIN(max, 64 * 70));
    default:
        return 1 + rnd(r, max);
    }
}

/* An item position, biased toward word and level edges. */
static uint64_t rnd_item(const Ctx *c)
{
    uint64_t b;

    if (g_rand_int_range(c->rand, 0, 4)) {
        return rnd(c->rand, c->o.size);
    }
    b = rnd(c->rand, c->o.nbits);
    switch (g_rand_int_range(c->rand, 0, 3)) {
    case 0:
        b &= ~UINT64_C(63);
        break;
    case 1:
        b |= 63;
        break;
    default:
        b &= ~UINT64_C(4095);
        break;
    }
    b = MIN(b, c->o.nbits - 1);
    b = (b << c->o.gran) + rnd(c->rand, UINT64_C(1) << c->o.gran);
    return MIN(c->o.size - 1, b);
}

static void op_set(Ctx *c)
{
    uint64_t start = rnd_item(c);
    /* The last granule may be set past the size, as QEMU allows. */
    uint64_t room = (c->o.nbits << c->o.gran) - start;
    uint64_t count;

    if (!g_rand_int_range(c->rand, 0, 3)) {
        count = 1;
    } else {
        count = rnd_granules(c->rand, c->o.nbits) << c->o.gran;
        count = MIN(room, count);
        count -= rnd(c->rand, MIN(count, UINT64_C(1) << c->o.gran));
    }
    hbitmap_set(c->hb, start, count);
    o_set(&c->o, start, count);
}

static void op_reset(Ctx *c)
{
    uint64_t b = rnd_item(c) >> c->o.gran;
    uint64_t start = b << c->o.gran;
    uint64_t count;

    if (!g_rand_int_range(c->rand, 0, 5)) {
        /* To the end: the one place a count may be unaligned. */
        count = c->o.size - start;
    } else {
        count = rnd_granules(c->rand, c->o.nbits - b) << c->o.gran;
    }
    hbitmap_reset(c->hb, start, count);
    o_reset(&c->o, start, count);
}

static void op_get(Ctx *c)
{
    int i;

    for (i = 0; i < 8; i++) {
        uint64_t item = rnd_item(c);

        CHECK_EQ(hbitmap_get(c->hb, item), c->o.bits[item >> c->o.gran]);
    }
}

/* Iterate from a random start and compare the first results. */
static void op_iter(Ctx *c)
{
    HBitmapIter hbi;
    uint64_t first = g_rand_int_range(c->rand, 0, 10) ? rnd_item(c) :
                     c->o.size;
    uint64_t b = first >> c->o.gran;
    int64_t want;
    int n = 0;

    hbitmap_iter_init(&hbi, c->hb, first);
    do {
        want = o_find(&c->o, b, c->o.nbits, 1);
        CHECK_EQ(hbitmap_iter_next(&hbi), want < 0 ? -1 : want << c->o.gran);
        b = want + 1;
    } while (want >= 0 && ++n < 100);
}

static uint64_t rnd_count(Ctx *c)
{
    switch (g_rand_int_range(c->rand, 0, 4)) {
    case 0:
        return rnd(c->rand, 4);
    case 1:
        return rnd(c->rand, UINT64_C(130) << c->o.gran);
    case 2:
        return rnd(c->rand, c->o.size + 1);
    default:
        return INT64_MAX;
    }
}

static void op_next(Ctx *c)
{
    uint64_t start = g_rand_int_range(c->rand, 0, 10) ? rnd_item(c) :
                     c->o.size;
    uint64_t count = rnd_count(c);

    CHECK_EQ(hbitmap_next_dirty(c->hb, start, count),
             o_next(&c->o, start, count, 1));
    CHECK_EQ(hbitmap_next_zero(c->hb, start, count),
             o_next(&c->o, start, count, 0));
}

static void op_next_dirty_area(Ctx *c)
{
    uint64_t start = rnd_item(c);
    uint64_t end = start + rnd_count(c) / 2;
    int64_t max = g_rand_boolean(c->rand) ? INT64_MAX :
                  1 + rnd(c->rand, UINT64_C(300) << c->o.gran);
    int64_t ds = -7;
    int64_t dc = -7;
    int64_t ws;
    uint64_t limit;
    bool found;

    found = hbitmap_next_dirty_area(c->hb, start, end, max, &ds, &dc);
    end = MIN(end, c->o.size);
    ws = start < end ? o_next(&c->o, start, end - start, 1) : -1;
    CHECK_EQ(found, ws >= 0);
    if (!found) {
        CHECK_EQ(ds, -7);
        CHECK_EQ(dc, -7);
        return;
    }
    CHECK_EQ(ds, ws);
    limit = ws + MIN(end - ws, (uint64_t)max);
    CHECK_EQ(dc, o_run_end(&c->o, ws, limit, 1) - ws);
}

static void op_status(Ctx *c)
{
    uint64_t start = rnd_item(c);
    uint64_t span = g_rand_boolean(c->rand) ? UINT64_C(5) << c->o.gran :
                    c->o.size;
    uint64_t count = 1 + rnd(c->rand, MIN(c->o.size - start, span));
    uint8_t v = c->o.bits[start >> c->o.gran];
    int64_t pnum = -1;

    CHECK_EQ(hbitmap_status(c->hb, start, count, &pnum), v);
    CHECK_EQ(pnum, o_run_end(&c->o, start, start + count, v) - start);
}

/* Grow or shrink, mostly to word and level edges of the granule count. */
static void op_truncate(Ctx *c, uint64_t max_size)
{
    static const uint64_t edges[] = { 0, 1, 63, 64, 65, 4095, 4096, 4097 };
    uint64_t size;
    uint64_t bits;

    switch (g_rand_int_range(c->rand, 0, 4)) {
    case 0:
        bits = edges[g_rand_int_range(c->rand, 0, G_N_ELEMENTS(edges))];
        size = bits << c->o.gran;
        break;
    case 1:
        size = c->o.size / 2 + rnd(c->rand, 3);
        break;
    case 2:
        size = c->o.size + rnd(c->rand, (c->o.size + 200) << c->o.gran);
        break;
    default:
        size = c->o.size + 1 - rnd(c->rand, MIN(c->o.size + 1, 3));
        break;
    }
    size = MIN(size, max_size);
    hbitmap_truncate(c->hb, size);
    o_truncate(&c->o, size);
    check_all(c, c->hb, &c->o);
}

/* Random contents, through a few set ranges. */
static void fill_random(Ctx *c, HBitmap *hb, Oracle *o, int ranges)
{
    int i;

    for (i = 0; i < ranges && o->size; i++) {
        uint64_t start = rnd(c->rand, o->size);
        uint64_t span = (UINT64_C(1) << o->gran) * (1 + rnd(c->rand, 300));
        uint64_t count = 1 + rnd(c->rand, MIN(o->size - start, span));

        hbitmap_set(hb, start, count);
        o_set(o, start, count);
    }
}

/*
 * The oracle of @a | @b at granularity @gran: a granule is set iff some
 * item in it (below the size) is set in @a or in @b.
 */
static void o_merge(const Oracle *a, const Oracle *b, Oracle *r)
{
    const Oracle *src[2] = { a, b };
    uint64_t g;
    int i;

    for (g = 0; g < r->nbits; g++) {
        uint64_t first = g << r->gran;
        uint64_t end = MIN(r->size, (g + 1) << r->gran);
        uint8_t v = 0;

        for (i = 0; i < 2 && !v; i++) {
            v = o_find(src[i], first >> src[i]->gran,
                       ((end - 1) >> src[i]->gran) + 1, 1) >= 0;
        }
        o_fill(r, g, g, v);
    }
}

static void op_merge(Ctx *c)
{
    int gb = c->o.gran + g_rand_int_range(c->rand, -3, 4);
    int gr = c->o.gran + g_rand_int_range(c->rand, -3, 4);
    int mode = g_rand_int_range(c->rand, 0, 3);
    HBitmap *b;
    HBitmap *r;
    Oracle ob;
    Oracle want;

    /* Mostly the same granularity (the word-OR path), else nearby. */
    gb = g_rand_boolean(c->rand) ? c->o.gran : MAX(0, gb);
    gr = g_rand_boolean(c->rand) ? c->o.gran : MAX(0, gr);
    b = hbitmap_alloc(c->o.size, gb);
    o_init(&ob, c->o.size, gb);
    fill_random(c, b, &ob, g_rand_int_range(c->rand, 0, 6));
    g_assert_true(hbitmap_can_merge(c->hb, b));

    switch (mode) {
    case 0:
        /* Into @a, the bitmap under test. */
        o_init(&want, c->o.size, c->o.gran);
        o_merge(&c->o, &ob, &want);
        hbitmap_merge(c->hb, b, c->hb);
        o_free(&c->o);
        c->o = want;
        check_all(c, c->hb, &c->o);
        break;
    case 1:
        /* Into @b. */
        o_init(&want, c->o.size, gb);
        o_merge(&c->o, &ob, &want);
        hbitmap_merge(c->hb, b, b);
        check_all(c, b, &want);
        check_all(c, c->hb, &c->o);
        o_free(&want);
        break;
    default:
        /* Into a third bitmap that already holds junk. */
        r = hbitmap_alloc(c->o.size, gr);
        o_init(&want, c->o.size, gr);
        fill_random(c, r, &want, 3);
        o_fill(&want, 0, want.nbits ? want.nbits - 1 : 0, 0);
        o_merge(&c->o, &ob, &want);
        hbitmap_merge(c->hb, b, r);
        check_all(c, r, &want);
        check_all(c, c->hb, &c->o);
        hbitmap_free(r);
        o_free(&want);
        break;
    }
    hbitmap_free(b);
    o_free(&ob);
}

static void op_copy(Ctx *c)
{
    g_autoptr(HBitmap) copy = hbitmap_copy(c->hb);
    uint64_t item = rnd_item(c);
    uint64_t gsize = UINT64_C(1) << c->o.gran;

    check_all(c, copy, &c->o);
    /* Changing the copy leaves the original alone. */
    hbitmap_set(copy, item, 1);
    hbitmap_reset(copy, 0, MIN(gsize, c->o.size) == c->o.size ?
                  c->o.size : gsize);
    check_all(c, c->hb, &c->o);
}

/* Serialize in random aligned chunks, check the bytes, read them back. */
static void op_serialize(Ctx *c)
{
    uint64_t align = hbitmap_serialization_align(c->hb);
    uint64_t chunk = align * (1 + rnd(c->rand, 4));
    uint64_t total = hbitmap_serialization_size(c->hb, 0, c->o.size);
    g_autofree uint8_t *buf = g_malloc0(total + 1);
    g_autoptr(HBitmap) d = hbitmap_alloc(c->o.size, c->o.gran);
    Oracle junk;
    uint64_t start;
    uint64_t off = 0;
    uint64_t b;

    CHECK_EQ(total, DIV_ROUND_UP(c->o.nbits, 64) * 8);
    CHECK_EQ(align, UINT64_C(64) << c->o.gran);
    for (start = 0; start < c->o.size; start += chunk) {
        uint64_t n = MIN(chunk, c->o.size - start);
        uint64_t sz = hbitmap_serialization_size(c->hb, start, n);

        hbitmap_serialize_part(c->hb, buf + off, start, n);
        off += sz;
    }
    CHECK_EQ(off, total);
    for (b = 0; b < total * 8; b++) {
        CHECK_EQ((buf[b / 8] >> (b % 8)) & 1,
                 b < c->o.nbits ? c->o.bits[b] : 0);
    }

    /* Stream junk past the end must be dropped on the way back in. */
    if (c->o.nbits % 64) {
        buf[total - 1] |= 0x80;
    }
    o_init(&junk, c->o.size, c->o.gran);
    fill_random(c, d, &junk, 4);
    o_free(&junk);

    off = 0;
    for (start = 0; start < c->o.size; start += chunk) {
        uint64_t n = MIN(chunk, c->o.size - start);
        uint64_t sz = hbitmap_serialization_size(d, start, n);
        uint64_t fb = start >> c->o.gran;
        uint64_t eb = ((start + n - 1) >> c->o.gran) + 1;
        bool last = start + n == c->o.size;

        if (o_find(&c->o, fb, eb, 1) < 0 && g_rand_boolean(c->rand)) {
            hbitmap_deserialize_zeroes(d, start, n, last);
        } else if (o_find(&c->o, fb, eb, 0) < 0 && g_rand_boolean(c->rand)) {
            hbitmap_deserialize_ones(d, start, n, last);
        } else {
            hbitmap_deserialize_part(d, buf + off, start, n, last);
        }
        off += sz;
    }
    if (!c->o.size) {
        hbitmap_deserialize_finish(d);
    }
    check_all(c, d, &c->o);
}

/* One random sequence: @steps operations, checked as they go. */
static void run_random(uint64_t size, int gran, int steps, guint32 seed)
{
    Ctx c = { 0 };
    uint64_t max_size = MAX(size * 2, UINT64_C(130) << gran);
    int full_every = MAX(steps / 4, 10);

    c.seed = seed;
    c.rand = g_rand_new_with_seed(seed);
    c.hb = hbitmap_alloc(size, gran);
    o_init(&c.o, size, gran);
    cur_ctx = &c;

    for (c.step = 0; c.step < steps; c.step++) {
        int w = g_rand_int_range(c.rand, 0, 100);

        if (!c.o.size) {
            c.op = "truncate";
            op_truncate(&c, max_size);
            continue;
        }
        if (w < 25) {
            c.op = "set";
            op_set(&c);
        } else if (w < 42) {
            c.op = "reset";
            op_reset(&c);
        } else if (w < 43) {
            c.op = "reset_all";
            hbitmap_reset_all(c.hb);
            o_fill(&c.o, 0, c.o.nbits - 1, 0);
        } else if (w < 51) {
            c.op = "get";
            op_get(&c);
        } else if (w < 61) {
            c.op = "iter";
            op_iter(&c);
        } else if (w < 75) {
            c.op = "next_dirty/next_zero";
            op_next(&c);
        } else if (w < 84) {
            c.op = "next_dirty_area";
            op_next_dirty_area(&c);
        } else if (w < 93) {
            c.op = "status";
            op_status(&c);
        } else if (w < 95) {
            c.op = "truncate";
            op_truncate(&c, max_size);
        } else if (w < 97) {
            c.op = "merge";
            op_merge(&c);
        } else if (w < 98) {
            c.op = "copy";
            op_copy(&c);
        } else {
            c.op = "serialize";
            op_serialize(&c);
        }
        CHECK_EQ(hbitmap_count(c.hb), c.o.count << gran);
        if (c.step % full_every == full_every - 1) {
            c.op = "check_all";
            check_all(&c, c.hb, &c.o);
        }
    }
    c.op = "final check";
    check_all(&c, c.hb, &c.o);
    c.op = "final serialize";
    op_serialize(&c);

    cur_ctx = NULL;
    hbitmap_free(c.hb);
    o_free(&c.o);
    g_rand_free(c.rand);
}

/* Sizes in granules: both sides of a word and of levels 2 and 3. */
static const uint64_t edge_bits[] = {
    1, 2, 63, 64, 65, 4095, 4096, 4097, 262143, 262144, 262145,
};

static void test_random_gran(gconstpointer opaque)
{
    int gran = GPOINTER_TO_INT(opaque);
    size_t i;

    for (i = 0; i < G_N_ELEMENTS(edge_bits); i++) {
        uint64_t bits = edge_bits[i];
        int steps = (bits < 5000 ? 1000 : 150) / STEP_DIVISOR;
        guint32 seed = base_seed ^ (gran << 24) ^ (guint32)i;

        /* Whole granules, then a partial last one. */
        run_random(bits << gran, gran, steps, seed);
        if (gran) {
            run_random(((bits - 1) << gran) + 1 +
                       (seed % ((UINT64_C(1) << gran) - 1)),
                       gran, steps, seed ^ 0x8000);
        }
    }
}

/* Both sides of the fourth level: 2^24 bits. */
static void test_random_level4(void)
{
    static const int grans[] = { 0, 9 };
    size_t i;
    int d;

    for (i = 0; i < G_N_ELEMENTS(grans); i++) {
        for (d = -1; d <= 1; d++) {
            run_random(((UINT64_C(1) << 24) + d) << grans[i], grans[i],
                       MAX(24 / STEP_DIVISOR, 6),
                       base_seed ^ 0x777 ^ (i << 4) ^ (d + 1));
        }
    }
}

/*
 * A live iterator under random changes: whatever happens between calls,
 * each call returns the first granule set at or after the cursor.
 */
static void test_iter_live(void)
{
    static const uint64_t sizes[] = { 65, 4097, 262145 };
    size_t s;
    int gran;

    for (gran = 0; gran <= 3; gran++) {
        for (s = 0; s < G_N_ELEMENTS(sizes); s++) {
            Ctx c = { 0 };
            HBitmapIter hbi;
            uint64_t cursor;
            int64_t want;
            int64_t got;

            c.seed = base_seed ^ 0x11 ^ (gran << 8) ^ s;
            c.rand = g_rand_new_with_seed(c.seed);
            c.hb = hbitmap_alloc(sizes[s] << gran, gran);
            o_init(&c.o, sizes[s] << gran, gran);
            cur_ctx = &c;
            c.op = "live iteration";
            fill_random(&c, c.hb, &c.o, 40);

            cursor = rnd(c.rand, c.o.nbits);
            hbitmap_iter_init(&hbi, c.hb, cursor << gran);
            for (c.step = 0; c.step < 4000 / STEP_DIVISOR; c.step++) {
                switch (g_rand_int_range(c.rand, 0, 4)) {
                case 0:
                    op_set(&c);
                    break;
                case 1:
                    op_reset(&c);
                    break;
                default:
                    want = o_find(&c.o, cursor, c.o.nbits, 1);
                    got = hbitmap_iter_next(&hbi);
                    CHECK_EQ(got, want < 0 ? -1 : want << gran);
                    if (want >= 0) {
                        cursor = want + 1;
                        /* Like the mirror: clear what was handed out. */
                        if (g_rand_boolean(c.rand)) {
                            hbitmap_reset(c.hb, got, UINT64_C(1) << gran);
                            o_fill(&c.o, want, want, 0);
                        }
                    }
                    break;
                }
            }
            cur_ctx = NULL;
            hbitmap_free(c.hb);
            o_free(&c.o);
            g_rand_free(c.rand);
        }
    }
}

/* Fixed cases. */

static void expect_iter(const HBitmap *hb, uint64_t first,
                        const int64_t *want, size_t n)
{
    HBitmapIter hbi;
    size_t i;

    hbitmap_iter_init(&hbi, hb, first);
    for (i = 0; i < n; i++) {
        g_assert_cmpint(hbitmap_iter_next(&hbi), ==, want[i]);
    }
    g_assert_cmpint(hbitmap_iter_next(&hbi), ==, -1);
}

static void test_iter_reset_ahead(void)
{
    g_autoptr(HBitmap) hb = hbitmap_alloc(1 << 20, 0);
    HBitmapIter hbi;

    /* Same word, next word, another level-2 block, far away. */
    hbitmap_set(hb, 5, 1);
    hbitmap_set(hb, 6, 1);
    hbitmap_set(hb, 70, 1);
    hbitmap_set(hb, 5000, 1);
    hbitmap_set(hb, 300000, 1);
    hbitmap_set(hb, 300001, 1);

    hbitmap_iter_init(&hbi, hb, 0);
    g_assert_cmpint(hbitmap_iter_next(&hbi), ==, 5);
    /* Reset bits not visited yet: in the current word and elsewhere. */
    hbitmap_reset(hb, 6, 1);
    hbitmap_reset(hb, 5000, 1);
    hbitmap_reset(hb, 300000, 1);
    g_assert_cmpint(hbitmap_iter_next(&hbi), ==, 70);
    hbitmap_reset(hb, 300001, 1);
    g_assert_cmpint(hbitmap_iter_next(&hbi), ==, -1);
    g_assert_cmpint(hbitmap_count(hb), ==, 2);
}

static void test_iter_set_behind(void)
{
    g_autoptr(HBitmap) hb = hbitmap_alloc(1 << 20, 0);
    HBitmapIter hbi;
    static const int64_t all[] = { 50, 100, 101, 200 };

    hbitmap_set(hb, 100, 1);
    hbitmap_set(hb, 200, 1);
    hbitmap_iter_init(&hbi, hb, 0);
    g_assert_cmpint(hbitmap_iter_next(&hbi), ==, 100);
    /* The mirror resets what it got; a write then dirties it again. */
    hbitmap_reset(hb, 100, 1);
    hbitmap_set(hb, 100, 1);
    hbitmap_set(hb, 50, 1);
    hbitmap_set(hb, 0, 1);
    g_assert_cmpint(hbitmap_iter_next(&hbi), ==, 200);
    g_assert_cmpint(hbitmap_iter_next(&hbi), ==, -1);
    /* A new iterator sees them all. */
    hbitmap_set(hb, 101, 1);
    hbitmap_reset(hb, 0, 1);
    expect_iter(hb, 0, all, G_N_ELEMENTS(all));
}

static void test_iter_set_ahead(void)
{
    g_autoptr(HBitmap) hb = hbitmap_alloc(1 << 22, 0);
    HBitmapIter hbi;

    hbitmap_set(hb, 100, 1);
    hbitmap_set(hb, 200, 1);
    hbitmap_iter_init(&hbi, hb, 0);
    g_assert_cmpint(hbitmap_iter_next(&hbi), ==, 100);
    /* Ahead: same word, next word, beyond everything that was set. */
    hbitmap_set(hb, 101, 1);
    hbitmap_set(hb, 150, 1);
    hbitmap_set(hb, 3000000, 1);
    g_assert_cmpint(hbitmap_iter_next(&hbi), ==, 101);
    g_assert_cmpint(hbitmap_iter_next(&hbi), ==, 150);
    g_assert_cmpint(hbitmap_iter_next(&hbi), ==, 200);
    g_assert_cmpint(hbitmap_iter_next(&hbi), ==, 3000000);
    g_assert_cmpint(hbitmap_iter_next(&hbi), ==, -1);
    /* After -1 the cursor stays: a later set ahead is still found. */
    hbitmap_set(hb, 4000000, 1);
    hbitmap_set(hb, 7, 1);
    g_assert_cmpint(hbitmap_iter_next(&hbi), ==, 4000000);
    g_assert_cmpint(hbitmap_iter_next(&hbi), ==, -1);
}

static void test_iter_granularity(void)
{
    g_autoptr(HBitmap) hb = hbitmap_alloc(1000, 2);
    static const int64_t two[] = { 0, 8 };
    static const int64_t one[] = { 8 };

    expect_iter(hb, 0, NULL, 0);
    /* Item 3 dirties granule 0 (items 0..3); 9..10 granule 2. */
    hbitmap_set(hb, 3, 1);
    hbitmap_set(hb, 9, 2);
    g_assert_cmpint(hbitmap_count(hb), ==, 8);
    expect_iter(hb, 0, two, 2);
    /* Starting inside a granule returns that granule's first item. */
    expect_iter(hb, 2, two, 2);
    expect_iter(hb, 4, one, 1);
    expect_iter(hb, 11, one, 1);
    expect_iter(hb, 12, NULL, 0);
    /* The last granule is partial (items 996..999); iteration ends. */
    hbitmap_set(hb, 999, 1);
    g_assert_cmpint(hbitmap_next_dirty(hb, 997, 100), ==, 997);
    g_assert_cmpint(hbitmap_next_dirty(hb, 990, 3), ==, -1);
    g_assert_cmpint(hbitmap_next_zero(hb, 1, 100), ==, 4);
    g_assert_cmpint(hbitmap_next_zero(hb, 9, 100), ==, 12);
    g_assert_cmpint(hbitmap_next_zero(hb, 996, 4), ==, -1);
    /* Iterators beyond the end are simply exhausted. */
    expect_iter(hb, 1000, NULL, 0);
    expect_iter(hb, UINT64_C(1) << 62, NULL, 0);
}

static void test_next_dirty_area_max(void)
{
    g_autoptr(HBitmap) hb = hbitmap_alloc(10000, 0);
    g_autoptr(HBitmap) hg = hbitmap_alloc(10000, 4);
    int64_t s = -1;
    int64_t n = -1;

    hbitmap_set(hb, 100, 300);
    hbitmap_set(hb, 1000, 1);
    g_assert_true(hbitmap_next_dirty_area(hb, 0, 10000, 50, &s, &n));
    g_assert_cmpint(s, ==, 100);
    g_assert_cmpint(n, ==, 50);
    g_assert_true(hbitmap_next_dirty_area(hb, 150, 10000, 1000, &s, &n));
    g_assert_cmpint(s, ==, 150);
    g_assert_cmpint(n, ==, 250);
    /* Cut by @end. */
    g_assert_true(hbitmap_next_dirty_area(hb, 0, 200, INT64_MAX, &s, &n));
    g_assert_cmpint(s, ==, 100);
    g_assert_cmpint(n, ==, 100);
    g_assert_true(hbitmap_next_dirty_area(hb, 400, 10000, 1, &s, &n));
    g_assert_cmpint(s, ==, 1000);
    g_assert_cmpint(n, ==, 1);
    g_assert_false(hbitmap_next_dirty_area(hb, 1001, INT64_MAX, 5, &s, &n));
    g_assert_false(hbitmap_next_dirty_area(hb, 400, 1000, 5, &s, &n));
    g_assert_false(hbitmap_next_dirty_area(hb, 500, 500, 5, &s, &n));
    g_assert_cmpint(s, ==, 1000);

    /* Granules of 16: item 33 dirties 32..47; the area starts at @start. */
    hbitmap_set(hg, 33, 1);
    hbitmap_set(hg, 9990, 1);
    g_assert_true(hbitmap_next_dirty_area(hg, 40, 10000, 100, &s, &n));
    g_assert_cmpint(s, ==, 40);
    g_assert_cmpint(n, ==, 8);
    g_assert_true(hbitmap_next_dirty_area(hg, 0, 10000, 7, &s, &n));
    g_assert_cmpint(s, ==, 32);
    g_assert_cmpint(n, ==, 7);
    /* The last granule (9984..9999) ends at the size. */
    g_assert_true(hbitmap_next_dirty_area(hg, 48, INT64_MAX, INT64_MAX,
                                          &s, &n));
    g_assert_cmpint(s, ==, 9984);
    g_assert_cmpint(n, ==, 16);
}

static void test_status(void)
{
    g_autoptr(HBitmap) hb = hbitmap_alloc(1000, 3);
    int64_t pnum;

    hbitmap_set(hb, 20, 10);   /* granules 2..3: items 16..31 */
    g_assert_false(hbitmap_status(hb, 0, 1000, &pnum));
    g_assert_cmpint(pnum, ==, 16);
    g_assert_true(hbitmap_status(hb, 17, 983, &pnum));
    g_assert_cmpint(pnum, ==, 15);
    g_assert_true(hbitmap_status(hb, 17, 3, &pnum));
    g_assert_cmpint(pnum, ==, 3);
    g_assert_false(hbitmap_status(hb, 32, 968, &pnum));
    g_assert_cmpint(pnum, ==, 968);
}

static void test_truncate_shrink(void)
{
    static const uint64_t edges[] = {
        262145, 262144, 262143, 4097, 4096, 4095, 65, 64, 63, 1, 0,
    };
    int gran;
    size_t i;

    for (gran = 0; gran <= 3; gran++) {
        g_autoptr(HBitmap) hb = hbitmap_alloc(262200 << gran, gran);
        HBitmapIter hbi;

        hbitmap_set(hb, 0, 262200 << gran);
        for (i = 0; i < G_N_ELEMENTS(edges); i++) {
            uint64_t bits = edges[i];

            hbitmap_truncate(hb, bits << gran);
            g_assert_cmpint(hbitmap_count(hb), ==, bits << gran);
            g_assert_cmpint(hbitmap_next_zero(hb, 0, INT64_MAX), ==, -1);
            if (bits) {
                g_assert_true(hbitmap_get(hb, (bits << gran) - 1));
                hbitmap_iter_init(&hbi, hb, (bits - 1) << gran);
                g_assert_cmpint(hbitmap_iter_next(&hbi), ==,
                                (bits - 1) << gran);
                g_assert_cmpint(hbitmap_iter_next(&hbi), ==, -1);
            }
        }
    }
}

static void test_truncate_grow(void)
{
    g_autoptr(HBitmap) hb = hbitmap_alloc(4096 * 2 + 3, 1);
    static const int64_t want[] = { 0, 8194 };

    hbitmap_set(hb, 0, 1);
    hbitmap_set(hb, 4096 * 2 + 2, 1);       /* granule 4097, partial */
    hbitmap_truncate(hb, 262145 * 2);
    g_assert_cmpint(hbitmap_count(hb), ==, 4);
    expect_iter(hb, 0, want, 2);
    g_assert_cmpint(hbitmap_next_zero(hb, 8194, INT64_MAX), ==, 8196);
    g_assert_cmpint(hbitmap_next_dirty(hb, 8196, INT64_MAX), ==, -1);
    hbitmap_set(hb, 262145 * 2 - 1, 1);
    g_assert_cmpint(hbitmap_count(hb), ==, 6);

    /*
     * Shrinking into a granule keeps it: 8193 items end inside granule
     * 4096 (items 8192..8193).  Growing again does not bring back bits.
     */
    hbitmap_set(hb, 8192, 1);
    hbitmap_truncate(hb, 8193);
    g_assert_true(hbitmap_get(hb, 8192));
    g_assert_cmpint(hbitmap_count(hb), ==, 4);
    hbitmap_truncate(hb, 262145 * 2);
    g_assert_cmpint(hbitmap_count(hb), ==, 4);
    g_assert_cmpint(hbitmap_next_dirty(hb, 8194, INT64_MAX), ==, -1);
}

static void test_reset_to_end(void)
{
    g_autoptr(HBitmap) hb = hbitmap_alloc(1001, 4);

    hbitmap_set(hb, 0, 1001);
    g_assert_cmpint(hbitmap_count(hb), ==, 63 * 16);
    /* The last granule is 992..1000: an unaligned count may end there. */
    hbitmap_reset(hb, 992, 9);
    g_assert_false(hbitmap_get(hb, 1000));
    g_assert_true(hbitmap_get(hb, 991));
    hbitmap_reset(hb, 16, 1001 - 16);
    g_assert_cmpint(hbitmap_count(hb), ==, 16);
    hbitmap_reset_all(hb);
    g_assert_true(hbitmap_is_empty(hb));
    g_assert_true(hbitmap_empty(hb));
}

static void test_reset_misaligned(void)
{
    if (g_test_subprocess()) {
        HBitmap *hb = hbitmap_alloc(1000, 4);

        hbitmap_reset(hb, 8, 16);
        return;
    }
    g_test_trap_subprocess(NULL, 0, 0);
    g_test_trap_assert_failed();
}

static void test_merge_granularity(void)
{
    g_autoptr(HBitmap) a = hbitmap_alloc(1000, 0);
    g_autoptr(HBitmap) b = hbitmap_alloc(1000, 3);
    g_autoptr(HBitmap) r = hbitmap_alloc(1000, 5);
    g_autoptr(HBitmap) other = hbitmap_alloc(999, 0);
    static const int64_t ab[] = { 5, 16, 17, 18, 19, 20, 21, 22, 23, 999 };
    static const int64_t rr[] = { 0, 992 };

    hbitmap_set(a, 5, 1);
    hbitmap_set(b, 17, 1);                  /* items 16..23 */
    hbitmap_set(b, 999, 1);                 /* items 992..999 */
    g_assert_false(hbitmap_can_merge(a, other));
    g_assert_true(hbitmap_can_merge(a, b));

    hbitmap_merge(a, b, r);
    expect_iter(r, 0, rr, 2);
    g_assert_cmpint(hbitmap_count(r), ==, 64);

    /* Finer result: every item of b's granules, clipped to the size. */
    hbitmap_set(a, 999, 1);
    hbitmap_reset(b, 992, 8);
    hbitmap_merge(a, b, a);
    expect_iter(a, 0, ab, G_N_ELEMENTS(ab));
    g_assert_cmpint(hbitmap_count(a), ==, 10);
    /* Merging a bitmap with itself changes nothing. */
    hbitmap_merge(a, a, a);
    g_assert_cmpint(hbitmap_count(a), ==, 10);
}

static void test_serialize_layout(void)
{
    g_autoptr(HBitmap) hb = hbitmap_alloc(130 * 2, 1);
    g_autoptr(HBitmap) back = hbitmap_alloc(130 * 2, 1);
    uint8_t buf[24];
    uint8_t want[24] = { 0 };

    /* Granules 0, 9, 63, 64, 129. */
    hbitmap_set(hb, 0, 1);
    hbitmap_set(hb, 18, 2);
    hbitmap_set(hb, 126, 4);
    hbitmap_set(hb, 259, 1);
    want[0] = 0x01;
    want[1] = 0x02;
    want[7] = 0x80;
    want[8] = 0x01;
    want[16] = 0x02;

    g_assert_cmpint(hbitmap_serialization_align(hb), ==, 128);
    g_assert_cmpint(hbitmap_serialization_size(hb, 0, 260), ==, 24);
    g_assert_cmpint(hbitmap_serialization_size(hb, 128, 132), ==, 16);
    g_assert_cmpint(hbitmap_serialization_size(hb, 0, 128), ==, 8);
    g_assert_cmpint(hbitmap_serialization_size(hb, 0, 0), ==, 0);
    memset(buf, 0xaa, sizeof(buf));
    hbitmap_serialize_part(hb, buf, 0, 260);
    g_assert_cmpmem(buf, sizeof(buf), want, sizeof(want));

    /* Back in two parts, the second with junk bits past the end. */
    buf[16] |= 0xf0;
    hbitmap_deserialize_part(back, buf, 0, 128, false);
    hbitmap_deserialize_part(back, buf + 8, 128, 132, true);
    g_assert_cmpint(hbitmap_count(back), ==, 5 * 2);
    g_assert_cmpint(hbitmap_next_dirty(back, 2, INT64_MAX), ==, 18);
    g_assert_cmpint(hbitmap_next_dirty(back, 260, INT64_MAX), ==, -1);

    hbitmap_deserialize_ones(back, 128, 132, true);
    g_assert_cmpint(hbitmap_count(back), ==, (3 + 66) * 2);
    hbitmap_deserialize_zeroes(back, 0, 128, true);
    g_assert_cmpint(hbitmap_count(back), ==, 66 * 2);
    g_assert_cmpint(hbitmap_next_dirty(back, 0, INT64_MAX), ==, 128);
}

static void test_empty_bitmap(void)
{
    g_autoptr(HBitmap) hb = hbitmap_alloc(0, 0);
    HBitmapIter hbi;
    int64_t s;
    int64_t n;

    g_assert_true(hbitmap_is_empty(hb));
    hbitmap_iter_init(&hbi, hb, 0);
    g_assert_cmpint(hbitmap_iter_next(&hbi), ==, -1);
    g_assert_cmpint(hbitmap_next_dirty(hb, 0, INT64_MAX), ==, -1);
    g_assert_cmpint(hbitmap_next_zero(hb, 0, INT64_MAX), ==, -1);
    g_assert_false(hbitmap_next_dirty_area(hb, 0, INT64_MAX, 1, &s, &n));
    hbitmap_set(hb, 0, 0);
    hbitmap_reset(hb, 0, 0);
    hbitmap_reset_all(hb);
    g_assert_cmpint(hbitmap_serialization_size(hb, 0, 0), ==, 0);
    /* The iterator follows the bitmap as it grows. */
    hbitmap_truncate(hb, 100);
    hbitmap_set(hb, 99, 1);
    g_assert_cmpint(hbitmap_iter_next(&hbi), ==, 99);
}

/*
 * 2^40 items with sparse bits: the first, one near 2^39 and the last.
 * Granularities keep the bit level at 8 MiB and 16 KiB.
 */
static void test_huge_2_40(void)
{
    static const int grans[] = { 14, 23 };
    uint64_t size = UINT64_C(1) << 40;
    size_t i;

    for (i = 0; i < G_N_ELEMENTS(grans); i++) {
        int g = grans[i];
        uint64_t gsize = UINT64_C(1) << g;
        uint64_t mid = (UINT64_C(1) << 39) - 12345;
        int64_t want[3] = { 0, mid & ~(gsize - 1), size - gsize };
        g_autoptr(HBitmap) hb = hbitmap_alloc(size, g);
        int64_t pnum;

        hbitmap_set(hb, 0, 1);
        hbitmap_set(hb, mid, 1);
        hbitmap_set(hb, size - 1, 1);
        g_assert_cmpint(hbitmap_count(hb), ==, 3 * gsize);
        expect_iter(hb, 0, want, 3);
        expect_iter(hb, gsize, want + 1, 2);
        expect_iter(hb, mid + gsize, want + 2, 1);
        /* Item 1 is in the set first granule. */
        g_assert_cmpint(hbitmap_next_dirty(hb, 1, INT64_MAX), ==, 1);
        g_assert_cmpint(hbitmap_next_dirty(hb, gsize, INT64_MAX), ==,
                        want[1]);
        g_assert_cmpint(hbitmap_next_dirty(hb, gsize, want[1] - gsize), ==,
                        -1);
        g_assert_cmpint(hbitmap_next_zero(hb, 0, INT64_MAX), ==, gsize);
        g_assert_cmpint(hbitmap_next_zero(hb, size - 1, 1), ==, -1);
        g_assert_false(hbitmap_status(hb, gsize, size - gsize, &pnum));
        g_assert_cmpint(pnum, ==, want[1] - gsize);
        g_assert_true(hbitmap_get(hb, size - 1));
        g_assert_false(hbitmap_get(hb, size - gsize - 1));

        hbitmap_reset(hb, want[1], gsize);
        g_assert_cmpint(hbitmap_count(hb), ==, 2 * gsize);
        hbitmap_reset(hb, 0, size);
        g_assert_true(hbitmap_is_empty(hb));
        expect_iter(hb, 0, NULL, 0);
    }
}

/* Items near 2^63: 64-bit arithmetic all the way. */
static void test_huge_2_63(void)
{
    uint64_t size = INT64_MAX;
    int g = 40;
    uint64_t gsize = UINT64_C(1) << g;
    g_autoptr(HBitmap) hb = hbitmap_alloc(size, g);
    int64_t want[2] = { UINT64_C(1) << 62, (size - 1) & ~(gsize - 1) };
    int64_t s;
    int64_t n;

    hbitmap_set(hb, UINT64_C(1) << 62, 1);
    hbitmap_set(hb, size - 1, 1);
    expect_iter(hb, 0, want, 2);
    g_assert_cmpint(hbitmap_count(hb), ==, 2 * gsize);
    g_assert_true(hbitmap_next_dirty_area(hb, want[1] + 5, INT64_MAX,
                                          INT64_MAX, &s, &n));
    g_assert_cmpint(s, ==, want[1] + 5);
    g_assert_cmpint(s + n, ==, size);
    hbitmap_reset(hb, want[1], size - want[1]);
    hbitmap_truncate(hb, UINT64_C(1) << 62);
    g_assert_cmpint(hbitmap_count(hb), ==, 0);
}

int main(int argc, char **argv)
{
    const char *env = g_getenv("HBITMAP_TEST_SEED");
    int gran;
    int ret;

    g_test_init(&argc, &argv, NULL);
    if (env) {
        base_seed = strtoul(env, NULL, 0);
    }
    g_test_message("base seed 0x%" PRIx32 " (set HBITMAP_TEST_SEED to change)",
                   base_seed);

    for (gran = 0; gran <= 20; gran++) {
        g_autofree char *path = g_strdup_printf("/hbitmap/random/gran-%02d",
                                                gran);

        g_test_add_data_func(path, GINT_TO_POINTER(gran), test_random_gran);
    }
    g_test_add_func("/hbitmap/random/level4", test_random_level4);
    g_test_add_func("/hbitmap/iter/live", test_iter_live);
    g_test_add_func("/hbitmap/iter/reset-ahead", test_iter_reset_ahead);
    g_test_add_func("/hbitmap/iter/set-behind", test_iter_set_behind);
    g_test_add_func("/hbitmap/iter/set-ahead", test_iter_set_ahead);
    g_test_add_func("/hbitmap/iter/granularity", test_iter_granularity);
    g_test_add_func("/hbitmap/next-dirty-area/max", test_next_dirty_area_max);
    g_test_add_func("/hbitmap/status", test_status);
    g_test_add_func("/hbitmap/truncate/shrink", test_truncate_shrink);
    g_test_add_func("/hbitmap/truncate/grow", test_truncate_grow);
    g_test_add_func("/hbitmap/reset/to-end", test_reset_to_end);
    g_test_add_func("/hbitmap/reset/misaligned", test_reset_misaligned);
    g_test_add_func("/hbitmap/merge/granularity", test_merge_granularity);
    g_test_add_func("/hbitmap/serialize/layout", test_serialize_layout);
    g_test_add_func("/hbitmap/empty", test_empty_bitmap);
    g_test_add_func("/hbitmap/huge/2^40", test_huge_2_40);
    g_test_add_func("/hbitmap/huge/2^63", test_huge_2_63);
    ret = g_test_run();
    return ret;
}
