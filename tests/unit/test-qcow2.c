/*
 * test-qcow2.c: the qcow2 driver on image files made here byte by byte
 * (no QEMU needed): reads and writes against a plain byte array as the
 * oracle, every refcount on disk checked against the clusters that are
 * really used, and hostile headers refused with QEMU's messages.
 */
#include "qemu/osdep.h"

#include "block/block_int.h"
#include "block/block-backend.h"
#include "qapi/error.h"
#include "qemu/aio.h"

#define CS (64 * 1024)
#define IMG_SIZE (16 * MiB)
#define OFFSET_MASK 0x00fffffffffffe00ULL

static char *tmpdir;
static char *img;

static void put32(uint8_t *p, uint32_t v)
{
    v = GUINT32_TO_BE(v);
    memcpy(p, &v, 4);
}

static void put64(uint8_t *p, uint64_t v)
{
    v = GUINT64_TO_BE(v);
    memcpy(p, &v, 8);
}

/*
 * A fresh v3 image: header in cluster 0, refcount table in 1, refcount
 * block in 2, L1 table (one entry) in 3.  @patch may change the header.
 */
static void make_image(void (*patch)(uint8_t *hdr))
{
    g_autofree uint8_t *buf = g_malloc0(4 * CS);
    uint16_t one = GUINT16_TO_BE(1);
    int i, fd;

    put32(buf, 0x514649fb);
    put32(buf + 4, 3);
    put32(buf + 20, 16);                /* cluster_bits */
    put64(buf + 24, IMG_SIZE);
    put32(buf + 36, 1);                 /* l1_size */
    put64(buf + 40, 3 * CS);
    put64(buf + 48, 1 * CS);
    put32(buf + 56, 1);
    put32(buf + 96, 4);                 /* refcount_order */
    put32(buf + 100, 104);
    put64(buf + CS, 2 * CS);
    for (i = 0; i < 4; i++) {
        memcpy(buf + 2 * CS + i * 2, &one, 2);
    }
    if (patch) {
        patch(buf);
    }
    fd = open(img, O_RDWR | O_CREAT | O_TRUNC, 0644);
    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(write(fd, buf, 4 * CS), ==, 4 * CS);
    close(fd);
}

static BlockBackend *open_qcow2(bool rw, Error **errp)
{
    BlockDriverState *bs = bdrv_open_image(img, "qcow2",
                                           rw ? BDRV_O_RDWR : 0, errp);
    BlockBackend *blk;

    if (!bs) {
        return NULL;
    }
    blk = blk_new(qemu_get_aio_context(),
                  BLK_PERM_CONSISTENT_READ |
                  (rw ? BLK_PERM_WRITE | BLK_PERM_RESIZE : 0),
                  BLK_PERM_ALL);
    g_assert_cmpint(blk_insert_bs(blk, bs, &error_abort), ==, 0);
    bdrv_unref(bs);
    return blk;
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v;

    memcpy(&v, p, 8);
    return GUINT64_FROM_BE(v);
}

/*
 * Walk the metadata of the closed image like qemu-img check: every
 * cluster referenced (header, tables, L2 tables, data) must have
 * refcount 1, and nothing else may have a refcount above 0.
 */
static void check_refcounts(void)
{
    g_autofree uint8_t *f = NULL;
    g_autofree uint16_t *want = NULL;
    gsize len;
    uint64_t nb, i, j, rt, rtc, l1, l1_size;

    g_assert(g_file_get_contents(img, (gchar **)&f, &len, NULL));
    nb = DIV_ROUND_UP(len, CS) + 16;
    want = g_new0(uint16_t, nb);
    want[0]++;
    rt = get64(f + 48);
    rtc = GUINT32_FROM_BE(*(uint32_t *)(f + 56));
    l1 = get64(f + 40);
    l1_size = GUINT32_FROM_BE(*(uint32_t *)(f + 36));
    for (i = 0; i < rtc; i++) {
        want[rt / CS + i]++;
    }
    for (i = 0; i < rtc * CS / 8; i++) {
        uint64_t rb = get64(f + rt + i * 8);

        if (rb) {
            want[rb / CS]++;
        }
    }
    for (i = 0; i < DIV_ROUND_UP(l1_size * 8, CS); i++) {
        want[l1 / CS + i]++;
    }
    for (i = 0; i < l1_size; i++) {
        uint64_t l2 = get64(f + l1 + i * 8) & OFFSET_MASK;

        if (!l2) {
            continue;
        }
        want[l2 / CS]++;
        for (j = 0; j < CS / 8; j++) {
            uint64_t e = get64(f + l2 + j * 8) & OFFSET_MASK;

            if (e) {
                g_assert_cmpuint(e / CS, <, nb);
                want[e / CS]++;
            }
        }
    }
    for (i = 0; i < nb; i++) {
        uint64_t rb = i / (CS / 2) < rtc * CS / 8 ?
                      get64(f + rt + (i / (CS / 2)) * 8) : 0;
        uint16_t have = 0;

        if (rb && rb + CS <= len) {
            memcpy(&have, f + rb + (i % (CS / 2)) * 2, 2);
            have = GUINT16_FROM_BE(have);
        }
        if (have != want[i]) {
            g_error("cluster %" PRIu64 ": refcount %u, used %u", i, have,
                    want[i]);
        }
    }
}

static void test_rw_oracle(void)
{
    g_autofree uint8_t *oracle = g_malloc0(IMG_SIZE);
    g_autofree uint8_t *buf = g_malloc(IMG_SIZE);
    BlockBackend *blk;
    GRand *r = g_rand_new_with_seed(1);
    int i;

    make_image(NULL);
    blk = open_qcow2(true, &error_abort);
    for (i = 0; i < 200; i++) {
        int64_t off = g_rand_int_range(r, 0, IMG_SIZE - 1);
        int64_t len = g_rand_int_range(r, 1, 300000);
        int kind = g_rand_int_range(r, 0, 10);

        len = MIN(len, IMG_SIZE - off);

        if (kind == 0) {
            /* Whole clusters of zeroes, host clusters freed. */
            off = QEMU_ALIGN_DOWN(off, CS);
            len = MIN(ROUND_UP(len, CS), IMG_SIZE - off);
            g_assert_cmpint(blk_pwrite_zeroes(blk, off, len,
                                              BDRV_REQ_MAY_UNMAP), ==, 0);
            memset(oracle + off, 0, len);
        } else if (kind == 1) {
            off = QEMU_ALIGN_DOWN(off, CS);
            len = MIN(ROUND_UP(len, CS), IMG_SIZE - off);
            /* Zero clusters that keep their host cluster. */
            g_assert_cmpint(blk_pwrite_zeroes(blk, off, len, 0), ==, 0);
            memset(oracle + off, 0, len);
        } else {
            memset(oracle + off, i + 1, len);
            g_assert_cmpint(blk_pwrite(blk, off, len, oracle + off, 0), ==,
                            0);
        }
    }
    g_assert_cmpint(blk_pread(blk, 0, IMG_SIZE, buf, 0), ==, 0);
    g_assert(memcmp(buf, oracle, IMG_SIZE) == 0);
    blk_unref(blk);
    g_rand_free(r);

    check_refcounts();
    blk = open_qcow2(false, &error_abort);
    g_assert_cmpint(blk_pread(blk, 0, IMG_SIZE, buf, 0), ==, 0);
    g_assert(memcmp(buf, oracle, IMG_SIZE) == 0);
    blk_unref(blk);
}

static void test_grow(void)
{
    g_autofree uint8_t *buf = g_malloc(CS);
    BlockBackend *blk;

    make_image(NULL);
    blk = open_qcow2(true, &error_abort);
    /* Beyond what one L1 entry covers (512 MiB): the L1 table grows. */
    g_assert_cmpint(blk_truncate(blk, 2 * GiB, true, PREALLOC_MODE_OFF, 0,
                                 &error_abort), ==, 0);
    memset(buf, 0x5a, CS);
    g_assert_cmpint(blk_pwrite(blk, 2 * GiB - CS, CS, buf, 0), ==, 0);
    blk_unref(blk);
    check_refcounts();
    blk = open_qcow2(false, &error_abort);
    g_assert_cmpint(blk_getlength(blk), ==, 2 * GiB);
    memset(buf, 0, CS);
    g_assert_cmpint(blk_pread(blk, 2 * GiB - CS, CS, buf, 0), ==, 0);
    g_assert_cmpint(buf[0], ==, 0x5a);
    g_assert_cmpint(buf[CS - 1], ==, 0x5a);
    blk_unref(blk);
}

static void bad_magic(uint8_t *h)
{
    h[0] = 'X';
}

static void bad_version(uint8_t *h)
{
    put32(h + 4, 4);
}

static void bad_cluster_bits(uint8_t *h)
{
    put32(h + 20, 22);
}

static void bad_feature(uint8_t *h)
{
    put64(h + 72, UINT64_C(1) << 40);
}

static void bad_l1_size(uint8_t *h)
{
    put32(h + 36, 0x7fffffff);
}

static void bad_l1_offset(uint8_t *h)
{
    put64(h + 40, 3 * CS + 8);
}

static void l1_past_eof(uint8_t *h)
{
    put64(h + 40, 1000 * CS);
}

static void bad_reftable(uint8_t *h)
{
    put32(h + 56, 0);
}

static void bad_backing_offset(uint8_t *h)
{
    put64(h + 8, 2 * CS);
}

static void corrupt_bit(uint8_t *h)
{
    put64(h + 72, 2);
}

static void bad_l2_entry(uint8_t *h)
{
    /* The L1 entry names an L2 table at an unaligned offset. */
    put64(h + 3 * CS, (uint64_t)3 * CS + 1024);
}

static const struct {
    void (*patch)(uint8_t *);
    bool rw;
    const char *error;
} bad_images[] = {
    { bad_magic, false, "Image is not in qcow2 format" },
    { bad_version, false, "Unsupported qcow2 version 4" },
    { bad_cluster_bits, false, "Unsupported cluster size: 2^22" },
    { bad_feature, false, "Unsupported qcow2 feature(s): Unknown "
                          "incompatible feature: 10000000000" },
    { bad_l1_size, false, "Active L1 table too large" },
    { bad_l1_offset, false, "Active L1 table offset invalid" },
    { l1_past_eof, false, "Active L1 table lies beyond the end of the "
                          "image file" },
    { bad_reftable, false, "Image does not contain a reference count "
                           "table" },
    { bad_backing_offset, false, "Invalid backing file offset" },
    { corrupt_bit, true, "qcow2: Image is corrupt; cannot be opened "
                         "read/write" },
};

static void test_hostile(void)
{
    size_t i;

    for (i = 0; i < ARRAY_SIZE(bad_images); i++) {
        Error *err = NULL;
        BlockBackend *blk;

        make_image(bad_images[i].patch);
        blk = open_qcow2(bad_images[i].rw, &err);
        g_assert_null(blk);
        g_assert_nonnull(err);
        g_assert_cmpstr(error_get_pretty(err), ==, bad_images[i].error);
        error_free(err);
    }

    /* A corrupt image still opens read-only. */
    make_image(corrupt_bit);
    blk_unref(open_qcow2(false, &error_abort));
}

static void test_bad_l2(void)
{
    uint8_t buf[512];
    BlockBackend *blk;

    make_image(bad_l2_entry);
    blk = open_qcow2(false, &error_abort);
    g_assert_cmpint(blk_pread(blk, 0, sizeof(buf), buf, 0), ==, -EIO);
    blk_unref(blk);
}

int main(int argc, char **argv)
{
    int ret;

    g_test_init(&argc, &argv, NULL);
    qemu_init_main_loop(&error_abort);
    bdrv_init();
    tmpdir = g_dir_make_tmp("test-qcow2-XXXXXX", NULL);
    img = g_build_filename(tmpdir, "t.qcow2", NULL);

    g_test_add_func("/qcow2/rw/oracle", test_rw_oracle);
    g_test_add_func("/qcow2/truncate/grow", test_grow);
    g_test_add_func("/qcow2/open/hostile", test_hostile);
    g_test_add_func("/qcow2/read/bad-l2-offset", test_bad_l2);
    ret = g_test_run();

    unlink(img);
    rmdir(tmpdir);
    return ret;
}
