/*
 * test-iov.c: QEMUIOVector, the raw iov helpers, aligned buffers and
 * buffer_is_zero(), each checked against a flat byte array.
 *
 * Every element of a test vector is its own heap block, so that a helper
 * stepping one byte past an element shows up under AddressSanitizer, and
 * zero-length elements point nowhere (NULL) so that touching one crashes.
 */
#include "qemu/osdep.h"

#include "qemu/iov.h"

/* Element layouts: lengths, with a -1 terminator.  Zeros are deliberate. */
static const int layouts[][12] = {
    { 10, -1 },
    { 4, 0, 6, -1 },
    { 1, 1, 1, 1, 1, 1, 1, 1, -1 },
    { 0, 0, 5, 0, 0, 3, 0, -1 },
    { 7, 13, 1, 0, 17, 3, -1 },
    { 0, -1 },
    { -1 },
    { 16, 16, 16, 16, -1 },
    { 2, 0, 0, 0, 31, 1, 0, 9, 0, -1 },
};

/* A test vector: its elements and a flat copy of what they should hold. */
typedef struct TestVec {
    QEMUIOVector qiov;
    unsigned char *flat;
    size_t size;
} TestVec;

static unsigned char pattern_byte(size_t i, unsigned seed)
{
    return (unsigned char)(i * 7 + seed * 13 + 1);
}

/* Build a vector over @lens, filled with a pattern that depends on @seed. */
static void testvec_init(TestVec *t, const int *lens, unsigned seed)
{
    size_t pos = 0;
    int i;

    qemu_iovec_init(&t->qiov, 0);
    for (i = 0; lens[i] >= 0; i++) {
        qemu_iovec_add(&t->qiov, lens[i] ? g_malloc(lens[i]) : NULL,
                       lens[i]);
    }
    t->size = t->qiov.size;
    t->flat = g_malloc(t->size + 1);
    for (pos = 0; pos < t->size; pos++) {
        t->flat[pos] = pattern_byte(pos, seed);
    }
    g_assert_cmpuint(qemu_iovec_from_buf(&t->qiov, 0, t->flat, t->size),
                     ==, t->size);
}

static void testvec_destroy(TestVec *t)
{
    int i;

    for (i = 0; i < t->qiov.niov; i++) {
        g_free(t->qiov.iov[i].iov_base);
    }
    qemu_iovec_destroy(&t->qiov);
    g_free(t->flat);
}

/* The vector's payload must equal the oracle. */
static void testvec_check(TestVec *t)
{
    g_autofree unsigned char *out = g_malloc(t->size + 1);
    size_t pos = 0;
    int i;

    /* Read the elements directly, not through the code under test. */
    for (i = 0; i < t->qiov.niov; i++) {
        if (t->qiov.iov[i].iov_len) {
            memcpy(out + pos, t->qiov.iov[i].iov_base, t->qiov.iov[i].iov_len);
        }
        pos += t->qiov.iov[i].iov_len;
    }
    g_assert_cmpuint(pos, ==, t->size);
    g_assert(t->size == 0 || !memcmp(out, t->flat, t->size));
}

static size_t layout_size(const int *lens)
{
    size_t size = 0;
    int i;

    for (i = 0; lens[i] >= 0; i++) {
        size += lens[i];
    }
    return size;
}

static void test_size(void)
{
    unsigned l;

    for (l = 0; l < ARRAY_SIZE(layouts); l++) {
        TestVec t;

        testvec_init(&t, layouts[l], l);
        g_assert_cmpuint(t.qiov.size, ==, layout_size(layouts[l]));
        g_assert_cmpuint(iov_size(t.qiov.iov, t.qiov.niov), ==, t.size);
        g_assert_cmpint(t.qiov.niov, <=, t.qiov.nalloc);
        testvec_destroy(&t);
    }
}

/* to_buf over every (offset, bytes), including bytes past the end. */
static void test_to_buf(void)
{
    unsigned l;

    for (l = 0; l < ARRAY_SIZE(layouts); l++) {
        TestVec t;
        size_t off, bytes;

        testvec_init(&t, layouts[l], l);
        for (off = 0; off <= t.size; off++) {
            for (bytes = 0; bytes <= t.size - off + 2; bytes++) {
                g_autofree unsigned char *buf = g_malloc(bytes + 1);
                size_t want = MIN(bytes, t.size - off);
                size_t got;

                memset(buf, 0xee, bytes + 1);
                got = qemu_iovec_to_buf(&t.qiov, off, buf, bytes);
                g_assert_cmpuint(got, ==, want);
                g_assert(!memcmp(buf, t.flat + off, want));
                /* Nothing written past what was copied. */
                g_assert_cmpint(buf[want], ==, 0xee);
            }
        }
        testvec_destroy(&t);
    }
}

static void test_from_buf(void)
{
    unsigned l;

    for (l = 0; l < ARRAY_SIZE(layouts); l++) {
        TestVec t;
        size_t off, bytes, i;

        testvec_init(&t, layouts[l], l);
        for (off = 0; off <= t.size; off++) {
            for (bytes = 0; bytes <= t.size - off + 2; bytes++) {
                g_autofree unsigned char *src = g_malloc(bytes + 1);
                size_t want = MIN(bytes, t.size - off);

                for (i = 0; i < bytes; i++) {
                    src[i] = pattern_byte(i, off + bytes + 100);
                }
                g_assert_cmpuint(qemu_iovec_from_buf(&t.qiov, off, src, bytes),
                                 ==, want);
                memcpy(t.flat + off, src, want);
                testvec_check(&t);
            }
        }
        testvec_destroy(&t);
    }
}

static void test_memset(void)
{
    unsigned l;

    for (l = 0; l < ARRAY_SIZE(layouts); l++) {
        TestVec t;
        size_t off, bytes;

        testvec_init(&t, layouts[l], l);
        for (off = 0; off <= t.size; off++) {
            for (bytes = 0; bytes <= t.size - off + 2; bytes++) {
                int c = (int)(off * 31 + bytes) & 0xff;
                size_t want = MIN(bytes, t.size - off);

                g_assert_cmpuint(qemu_iovec_memset(&t.qiov, off, c, bytes),
                                 ==, want);
                memset(t.flat + off, c, want);
                testvec_check(&t);
            }
        }
        testvec_destroy(&t);
    }
}

/* The raw helpers straight on the array, with a count short of niov. */
static void test_raw_partial_count(void)
{
    TestVec t;
    unsigned char buf[32];
    size_t first_two;

    testvec_init(&t, layouts[4], 3);        /* 7, 13, 1, 0, 17, 3 */
    first_two = 20;
    g_assert_cmpuint(iov_size(t.qiov.iov, 2), ==, first_two);
    memset(buf, 0, sizeof(buf));
    g_assert_cmpuint(iov_to_buf(t.qiov.iov, 2, 5, buf, sizeof(buf)),
                     ==, first_two - 5);
    g_assert(!memcmp(buf, t.flat + 5, first_two - 5));
    g_assert_cmpuint(iov_memset(t.qiov.iov, 2, 20, 0, 5), ==, 0);
    g_assert_cmpuint(iov_from_buf(t.qiov.iov, 1, 7, buf, 5), ==, 0);
    testvec_check(&t);
    testvec_destroy(&t);
}

/* is_zero over every range, with the single non-zero byte anywhere. */
static void test_is_zero(void)
{
    unsigned l;

    for (l = 0; l < ARRAY_SIZE(layouts); l++) {
        TestVec t;
        size_t off, bytes, nz;

        testvec_init(&t, layouts[l], l);
        qemu_iovec_memset(&t.qiov, 0, 0, t.size);
        for (off = 0; off <= t.size; off++) {
            for (bytes = 0; bytes <= t.size - off; bytes++) {
                g_assert(qemu_iovec_is_zero(&t.qiov, off, bytes));
            }
        }
        for (nz = 0; nz < t.size; nz++) {
            unsigned char one = 1;

            qemu_iovec_from_buf(&t.qiov, nz, &one, 1);
            for (off = 0; off <= t.size; off++) {
                for (bytes = 0; bytes <= t.size - off; bytes++) {
                    bool inside = nz >= off && nz < off + bytes;

                    g_assert_cmpint(qemu_iovec_is_zero(&t.qiov, off, bytes),
                                    ==, !inside);
                }
            }
            qemu_iovec_memset(&t.qiov, nz, 0, 1);
        }
        testvec_destroy(&t);
    }
}

/*
 * Check that the elements of @dst after the first @prefix_niov hold
 * exactly @src[off, off + len), and point into @src's memory.
 */
static void check_piece(QEMUIOVector *dst, int prefix_niov, TestVec *src,
                        size_t off, size_t len)
{
    g_autofree unsigned char *buf = g_malloc(len + 1);
    int i;
    size_t pos = 0;
    unsigned first_elem = 0;
    size_t skip = off;

    g_assert_cmpint(dst->niov, <=, dst->nalloc);
    for (i = prefix_niov; i < dst->niov; i++) {
        /* No empty pieces, and every piece lies in the source's memory. */
        g_assert_cmpuint(dst->iov[i].iov_len, >, 0);
        memcpy(buf + pos, dst->iov[i].iov_base, dst->iov[i].iov_len);
        pos += dst->iov[i].iov_len;
    }
    g_assert_cmpuint(pos, ==, len);
    g_assert(len == 0 || !memcmp(buf, src->flat + off, len));

    /* The first piece points into the source, not into a copy. */
    if (len) {
        while (skip >= src->qiov.iov[first_elem].iov_len) {
            skip -= src->qiov.iov[first_elem].iov_len;
            first_elem++;
        }
        g_assert(dst->iov[prefix_niov].iov_base ==
                 (char *)src->qiov.iov[first_elem].iov_base + skip);
    }
}

/* Number of non-empty source elements overlapping [off, off + len). */
static int pieces_expected(TestVec *src, size_t off, size_t len)
{
    size_t start = 0;
    int i, n = 0;

    if (!len) {
        return 0;
    }
    for (i = 0; i < src->qiov.niov; i++) {
        size_t end = start + src->qiov.iov[i].iov_len;

        if (start < end && start < off + len && end > off) {
            n++;
        }
        start = end;
    }
    return n;
}

static void test_concat(void)
{
    unsigned l;
    char prefix[3] = "ab";

    for (l = 0; l < ARRAY_SIZE(layouts); l++) {
        TestVec t;
        size_t off, bytes;

        testvec_init(&t, layouts[l], l);
        for (off = 0; off <= t.size; off++) {
            for (bytes = 0; bytes <= t.size - off + 2; bytes++) {
                QEMUIOVector dst;
                size_t want = MIN(bytes, t.size - off);

                /* Concat appends: start with one element already there. */
                qemu_iovec_init(&dst, 1);
                qemu_iovec_add(&dst, prefix, 2);
                qemu_iovec_concat(&dst, &t.qiov, off, bytes);
                g_assert_cmpuint(dst.size, ==, 2 + want);
                check_piece(&dst, 1, &t, off, want);
                g_assert_cmpint(dst.niov - 1, ==,
                                pieces_expected(&t, off, want));
                qemu_iovec_destroy(&dst);
            }
        }
        testvec_destroy(&t);
    }
}

static void test_slice(void)
{
    unsigned l;

    for (l = 0; l < ARRAY_SIZE(layouts); l++) {
        TestVec t;
        size_t off, len;

        testvec_init(&t, layouts[l], l);
        for (off = 0; off <= t.size; off++) {
            for (len = 0; len <= t.size - off; len++) {
                QEMUIOVector dst;
                unsigned char b = 0x5a;

                qemu_iovec_init_slice(&dst, &t.qiov, off, len);
                g_assert_cmpuint(dst.size, ==, len);
                check_piece(&dst, 0, &t, off, len);
                g_assert_cmpint(dst.niov, ==, pieces_expected(&t, off, len));
                g_assert_cmpint(dst.nalloc, !=, -1);

                /* Writing through the slice writes the source. */
                if (len) {
                    qemu_iovec_from_buf(&dst, len - 1, &b, 1);
                    t.flat[off + len - 1] = b;
                    testvec_check(&t);
                }
                qemu_iovec_destroy(&dst);
            }
        }
        testvec_destroy(&t);
    }
}

/* A slice spanning many elements of a long vector, sized exactly. */
static void test_slice_long(void)
{
    int lens[201];
    TestVec t;
    QEMUIOVector dst;
    int i;

    for (i = 0; i < 200; i++) {
        lens[i] = i % 5;                    /* includes zero-length ones */
    }
    lens[200] = -1;
    testvec_init(&t, lens, 9);
    qemu_iovec_init_slice(&dst, &t.qiov, 3, t.size - 7);
    g_assert_cmpuint(dst.size, ==, t.size - 7);
    check_piece(&dst, 0, &t, 3, t.size - 7);
    g_assert_cmpint(dst.niov, ==, pieces_expected(&t, 3, t.size - 7));
    g_assert_cmpint(dst.nalloc, <=, 200);
    qemu_iovec_destroy(&dst);
    testvec_destroy(&t);
}

static void test_compare(void)
{
    unsigned la, lb;

    /* Same data, every pair of layouts with equal sizes. */
    for (la = 0; la < ARRAY_SIZE(layouts); la++) {
        for (lb = 0; lb < ARRAY_SIZE(layouts); lb++) {
            TestVec a, b;
            size_t p;

            if (layout_size(layouts[la]) != layout_size(layouts[lb])) {
                continue;
            }
            testvec_init(&a, layouts[la], 5);
            testvec_init(&b, layouts[lb], 5);
            g_assert_cmpint(qemu_iovec_compare(&a.qiov, &b.qiov), ==, -1);
            for (p = 0; p < a.size; p++) {
                unsigned char c = a.flat[p] ^ 0x10;

                qemu_iovec_from_buf(&b.qiov, p, &c, 1);
                g_assert_cmpint(qemu_iovec_compare(&a.qiov, &b.qiov), ==, p);
                g_assert_cmpint(qemu_iovec_compare(&b.qiov, &a.qiov), ==, p);
                qemu_iovec_from_buf(&b.qiov, p, a.flat + p, 1);
            }
            testvec_destroy(&a);
            testvec_destroy(&b);
        }
    }
}

static void test_compare_prefix(void)
{
    char data[] = "0123456789";
    QEMUIOVector a, b;

    qemu_iovec_init_buf(&a, data, 10);
    qemu_iovec_init_buf(&b, data, 4);
    g_assert_cmpint(qemu_iovec_compare(&a, &b), ==, 4);
    g_assert_cmpint(qemu_iovec_compare(&b, &a), ==, 4);
    qemu_iovec_init_buf(&b, data, 0);
    g_assert_cmpint(qemu_iovec_compare(&a, &b), ==, 0);
    qemu_iovec_init_buf(&a, data, 0);
    g_assert_cmpint(qemu_iovec_compare(&a, &b), ==, -1);
}

static void test_init_buf(void)
{
    char data[16] = "hello";
    char out[16];
    QEMUIOVector q;

    qemu_iovec_init_buf(&q, data, sizeof(data));
    g_assert(q.iov == &q.local_iov);
    g_assert_cmpint(q.niov, ==, 1);
    g_assert_cmpint(q.nalloc, ==, -1);
    g_assert_cmpuint(q.size, ==, sizeof(data));
    g_assert(q.iov[0].iov_base == data);
    g_assert_cmpuint(qemu_iovec_to_buf(&q, 1, out, 4), ==, 4);
    g_assert(!memcmp(out, "ello", 4));
    qemu_iovec_destroy(&q);                 /* must not free @data */
    g_assert(q.iov == NULL && q.size == 0);
    g_assert_cmpstr(data, ==, "hello");
}

static void test_init_external(void)
{
    char x[3] = "ab", y[5] = "cdef";
    struct iovec iov[3] = {
        { .iov_base = x, .iov_len = 2 },
        { .iov_base = NULL, .iov_len = 0 },
        { .iov_base = y, .iov_len = 4 },
    };
    char out[8] = "";
    QEMUIOVector q;

    qemu_iovec_init_external(&q, iov, 3);
    g_assert(q.iov == iov);
    g_assert_cmpint(q.nalloc, ==, -1);
    g_assert_cmpuint(q.size, ==, 6);
    g_assert_cmpuint(qemu_iovec_to_buf(&q, 0, out, sizeof(out)), ==, 6);
    g_assert(!memcmp(out, "abcdef", 6));
    qemu_iovec_destroy(&q);                 /* must not free @iov */
    g_assert(iov[2].iov_base == y);
}

static void test_add_reset(void)
{
    QEMUIOVector q;
    char data[100];
    struct iovec *before;
    int i;

    qemu_iovec_init(&q, 0);
    g_assert_cmpint(q.nalloc, ==, 0);
    for (i = 0; i < 100; i++) {
        qemu_iovec_add(&q, data + i, 1);
        g_assert_cmpint(q.niov, ==, i + 1);
        g_assert_cmpint(q.niov, <=, q.nalloc);
        g_assert_cmpuint(q.size, ==, i + 1);
    }
    for (i = 0; i < 100; i++) {
        g_assert(q.iov[i].iov_base == data + i);
    }
    before = q.iov;
    qemu_iovec_reset(&q);
    g_assert_cmpint(q.niov, ==, 0);
    g_assert_cmpuint(q.size, ==, 0);
    g_assert(q.iov == before);
    qemu_iovec_add(&q, data, 0);
    qemu_iovec_add(&q, data, 7);
    g_assert_cmpint(q.niov, ==, 2);
    g_assert_cmpuint(q.size, ==, 7);
    qemu_iovec_destroy(&q);
}

static void test_memalign(void)
{
    static const size_t aligns[] = { 1, 2, 8, 64, 512, 4096, 65536 };
    unsigned i;

    for (i = 0; i < ARRAY_SIZE(aligns); i++) {
        size_t align = MAX(aligns[i], sizeof(void *));
        unsigned char *p = qemu_memalign(aligns[i], 3 * aligns[i] + 1);
        unsigned char *z = qemu_memalign(aligns[i], 0);
        unsigned char *z2 = qemu_try_memalign(aligns[i], 0);

        g_assert(p && z && z2 && z != z2);
        g_assert_cmpuint((uintptr_t)p % align, ==, 0);
        g_assert_cmpuint((uintptr_t)z % align, ==, 0);
        memset(p, 0xab, 3 * aligns[i] + 1);
        qemu_vfree(p);
        qemu_vfree(z);
        qemu_vfree(z2);
    }
    qemu_vfree(NULL);

#if !CONFIG_ASAN
    /* ASan aborts on an impossible allocation instead of failing it. */
    errno = 0;
    g_assert_null(qemu_try_memalign(4096, SIZE_MAX - 4096));
    g_assert_cmpint(errno, ==, ENOMEM);
#endif
}

/*
 * buffer_is_zero() at every length 0..4096, at several misalignments, with
 * a single non-zero byte at every position, and with non-zero guard bytes
 * just outside the range that must not be looked at.
 */
static void test_buffer_is_zero(void)
{
    static const size_t misalign[] = { 0, 1, 7, 8, 15 };
    const size_t max = 4096;
    unsigned char *mem = qemu_memalign(64, max + 128);
    unsigned m;

    for (m = 0; m < ARRAY_SIZE(misalign); m++) {
        unsigned char *base = mem + 64 + misalign[m];
        size_t len, p;

        memset(mem, 0, max + 128);
        base[-1] = 0xff;
        for (len = 0; len <= max; len++) {
            base[len] = 0xff;
            g_assert(buffer_is_zero(base, len));
            for (p = 0; p < len; p++) {
                base[p] = 1;
                g_assert(!buffer_is_zero(base, len));
                base[p] = 0;
            }
            base[len] = 0;
        }
    }

    /* Every bit of a byte counts, not just the low one. */
    memset(mem, 0, max + 128);
    for (m = 0; m < 8; m++) {
        mem[1000] = 1u << m;
        g_assert(!buffer_is_zero(mem, 2048));
    }
    qemu_vfree(mem);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/iov/size", test_size);
    g_test_add_func("/iov/to-buf", test_to_buf);
    g_test_add_func("/iov/from-buf", test_from_buf);
    g_test_add_func("/iov/memset", test_memset);
    g_test_add_func("/iov/raw-partial-count", test_raw_partial_count);
    g_test_add_func("/iov/is-zero", test_is_zero);
    g_test_add_func("/iov/concat", test_concat);
    g_test_add_func("/iov/slice", test_slice);
    g_test_add_func("/iov/slice-long", test_slice_long);
    g_test_add_func("/iov/compare", test_compare);
    g_test_add_func("/iov/compare-prefix", test_compare_prefix);
    g_test_add_func("/iov/init-buf", test_init_buf);
    g_test_add_func("/iov/init-external", test_init_external);
    g_test_add_func("/iov/add-reset", test_add_reset);
    g_test_add_func("/iov/memalign", test_memalign);
    g_test_add_func("/iov/buffer-is-zero", test_buffer_is_zero);
    return g_test_run();
}
