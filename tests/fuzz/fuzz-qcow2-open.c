/*
 * fuzz-qcow2-open: libFuzzer target for the qcow2 driver's parsing of an
 * image: header, header extensions, L1 and refcount tables on open, then
 * L2 tables, compressed descriptors and refcount blocks as requests and
 * the check walk them.
 *
 * Input: one mode byte, then the image file.  The image is written to a
 * file on tmpfs (/dev/shm, else $TMPDIR) and opened as qcow2 over a
 * "file" node, the way qblock-io opens it; qblock has no memory-backed
 * protocol driver, and a new one would be a driver only the fuzzer uses.
 * Per input: open, read three ranges (start, middle, end), walk block
 * status (at most BLOCK_STATUS_STEPS answers), check, close.  The mode
 * byte chooses:
 *
 *   bit 0  read-write: also a write, a zero write, a discard and a
 *          flush, and the close writes the caches back
 *   bit 1  a backing node (null-co reading zeroes, never a file the
 *          image names: the fuzzer opens nothing but its own file)
 *   bit 2  the smallest L2 and refcount caches, so tables are evicted
 *   bit 3  read-write only: the check repairs (-r all)
 *
 * Example: the bytes 0x01 then an image qemu-img created open it
 * read-write, write 512 bytes at offset 0 (allocating a cluster and an L2
 * table), zero and discard further on, check, and close.
 *
 * Build and run with `make fuzz` (clang, ASan, UBSan); FUZZ_QCOW2_DIR
 * overrides the directory of the scratch file.
 */
#include "qemu/osdep.h"

#include "block/block.h"
#include "block/block-backend.h"
#include "qapi/error.h"
#include "qemu/aio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum {
    MODE_RDWR    = 1 << 0,
    MODE_BACKING = 1 << 1,
    MODE_SMALL_CACHE = 1 << 2,
    MODE_REPAIR  = 1 << 3,
};

/* Bounds on the work per input, so that a huge virtual size is no hang. */
#define BLOCK_STATUS_STEPS 64
#define IO_MAX_BYTES (64 * KiB)
#define CHECK_MAX_FILE (1 * GiB)

static char *img_path;
static int img_fd = -1;

static void fuzz_cleanup(void)
{
    if (img_fd >= 0) {
        close(img_fd);
    }
    if (img_path) {
        unlink(img_path);
    }
}

static void fuzz_init(void)
{
    const char *dir = g_getenv("FUZZ_QCOW2_DIR");
    g_autofree char *name = NULL;

    qemu_init_main_loop(&error_abort);
    bdrv_init();
    if (!dir) {
        dir = g_file_test("/dev/shm", G_FILE_TEST_IS_DIR) ? "/dev/shm"
                                                         : g_get_tmp_dir();
    }
    name = g_strdup_printf("qblock-fuzz-qcow2-%d.img", (int)getpid());
    img_path = g_build_filename(dir, name, NULL);
    img_fd = open(img_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (img_fd < 0) {
        fprintf(stderr, "fuzz-qcow2-open: cannot create %s: %s\n", img_path,
                strerror(errno));
        abort();
    }
    atexit(fuzz_cleanup);
}

static bool write_image(const uint8_t *buf, size_t len)
{
    size_t done = 0;

    if (ftruncate(img_fd, 0) < 0) {
        return false;
    }
    while (done < len) {
        ssize_t n = pwrite(img_fd, buf + done, len - done, done);

        if (n <= 0) {
            return false;
        }
        done += n;
    }
    return true;
}

static BlockBackend *open_image(uint8_t mode)
{
    bool rdwr = mode & MODE_RDWR;
    BlockdevRef file = {
        .type = QTYPE_QDICT,
        .u.definition = {
            .driver = BLOCKDEV_DRIVER_FILE,
            .u.file = {
                .filename = img_path,
                .has_locking = true,
                .locking = ON_OFF_AUTO_OFF,
            },
        },
    };
    BlockdevRefOrNull backing = { .type = QTYPE_QNULL };
    BlockdevOptions opts = {
        .driver = BLOCKDEV_DRIVER_QCOW2,
        .has_read_only = true,
        .read_only = !rdwr,
        .has_discard = true,
        .discard = BLOCKDEV_DISCARD_OPTIONS_UNMAP,
        .u.qcow2 = {
            .file = &file,
            .backing = &backing,
        },
    };
    Error *err = NULL;
    BlockDriverState *bs;
    BlockBackend *blk;
    uint64_t perm = BLK_PERM_CONSISTENT_READ;

    if (mode & MODE_BACKING) {
        backing.type = QTYPE_QDICT;
        backing.u.definition = (BlockdevOptions) {
            .driver = BLOCKDEV_DRIVER_NULL_CO,
            .u.null_co = {
                .has_size = true,
                .size = 1 * MiB,
                .has_read_zeroes = true,
                .read_zeroes = true,
            },
        };
    }
    if (mode & MODE_SMALL_CACHE) {
        /* Below one table: the driver's minimum of a few tables. */
        opts.u.qcow2.has_l2_cache_size = true;
        opts.u.qcow2.l2_cache_size = 1;
        opts.u.qcow2.has_refcount_cache_size = true;
        opts.u.qcow2.refcount_cache_size = 1;
    }
    bs = bdrv_open_blockdev(&opts, &err);
    if (!bs) {
        error_free(err);
        return NULL;
    }
    if (rdwr) {
        perm |= BLK_PERM_WRITE | BLK_PERM_RESIZE;
    }
    blk = blk_new(qemu_get_aio_context(), perm, BLK_PERM_ALL);
    if (blk_insert_bs(blk, bs, &err) < 0) {
        error_free(err);
        blk_unref(blk);
        bdrv_unref(bs);
        return NULL;
    }
    bdrv_unref(bs);
    return blk;
}

/* Offsets to read and write at: the start, the middle, the end. */
static void pick_ranges(int64_t len, int64_t off[3], int64_t bytes[3])
{
    int64_t n = MIN(len, (int64_t)IO_MAX_BYTES);

    off[0] = 0;
    off[1] = QEMU_ALIGN_DOWN(len / 2, 512);
    off[2] = len - n;
    bytes[0] = n;
    bytes[1] = MIN(n, len - off[1]);
    bytes[2] = n;
}

static void exercise(BlockBackend *blk, uint8_t mode, const uint8_t *img,
                     size_t img_len)
{
    BlockDriverState *bs = blk_bs(blk);
    g_autofree uint8_t *buf = g_malloc(IO_MAX_BYTES);
    int64_t len = blk_getlength(blk);
    int64_t off[3], bytes[3], pos;
    BdrvCheckResult res;
    struct stat st;
    int i;

    if (len <= 0) {
        return;
    }
    pick_ranges(len, off, bytes);
    for (i = 0; i < 3; i++) {
        blk_pread(blk, off[i], bytes[i], buf, 0);
    }

    pos = 0;
    for (i = 0; i < BLOCK_STATUS_STEPS && pos < len; i++) {
        int64_t pnum = 0, map;
        BlockDriverState *file;
        int ret = bdrv_block_status(bs, pos, len - pos, &pnum, &map, &file);

        if (ret < 0 || pnum <= 0) {
            break;
        }
        pos += pnum;
    }

    if (mode & MODE_RDWR) {
        /* Write what the image holds, so that writes vary too. */
        memset(buf, 0xa5, IO_MAX_BYTES);
        memcpy(buf, img, MIN(img_len, (size_t)IO_MAX_BYTES));
        blk_pwrite(blk, off[0], MIN(bytes[0], 512), buf, 0);
        blk_pwrite(blk, off[1] + 1536, MIN(bytes[1], 3000), buf, 0);
        blk_pwrite_zeroes(blk, off[2], bytes[2], BDRV_REQ_MAY_UNMAP);
        blk_pdiscard(blk, off[1], bytes[1]);
        blk_pread(blk, off[1], bytes[1], buf, 0);
        blk_flush(blk);
    }

    /*
     * The check counts every cluster of the file (16 bytes each).  A
     * write through an L2 entry that points far past the end makes the
     * sparse file huge, as in QEMU; past CHECK_MAX_FILE that is memory,
     * not parsing, so skip it.
     */
    if (fstat(img_fd, &st) == 0 && st.st_size <= CHECK_MAX_FILE) {
        bdrv_check(bs, &res, (mode & MODE_RDWR) && (mode & MODE_REPAIR) ?
                             BDRV_FIX_LEAKS | BDRV_FIX_ERRORS : 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool initialized;
    BlockBackend *blk;
    uint8_t mode;

    if (!initialized) {
        fuzz_init();
        initialized = true;
    }
    if (size < 1) {
        return 0;
    }
    mode = data[0];
    if (!write_image(data + 1, size - 1)) {
        return 0;
    }
    blk = open_image(mode);
    if (!blk) {
        return 0;
    }
    exercise(blk, mode, data + 1, size - 1);
    blk_drain(blk);
    blk_unref(blk);
    return 0;
}
