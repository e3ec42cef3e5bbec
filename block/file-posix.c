/*
 * file-posix.c: the 'file' protocol driver, a POSIX file or block device.
 *
 * Data I/O goes through the I/O engine (qemu/io-engine.h): io_uring when
 * the kernel allows it, the thread pool otherwise; aio=threads given
 * explicitly forces the pool (QEMU's default of threads, left implicit,
 * takes the engine's best: see raw_open()).  Calls that may block and are not data I/O (ftruncate, lseek for
 * block status, fstat) run in the thread pool or are cheap enough to run
 * in place (lseek on a local file does not wait for the device).
 *
 * cache.direct=on opens with O_DIRECT.  The alignment the kernel then
 * demands is asked with statx(STATX_DIOALIGN) where the kernel answers
 * (Linux 6.1+), else probed at open by reading the first block with
 * growing lengths (request_alignment) and from buffers with growing
 * alignment (min_mem_alignment); io.c pads and bounces everything else.
 *
 * Locking (locking=on, or auto where OFD locks exist, i.e. on Linux)
 * follows QEMU's byte-range protocol so that QEMU processes and qblock
 * see each other: for permission bit i, byte 100 + i is read-locked while
 * this node holds the permission, and byte 200 + i while it does not
 * share it.  Before taking a permission, the "does not share" byte of
 * every other process is tested, and the reverse.  OFD locks belong to
 * the open file description, so this node never conflicts with itself.
 */
#include "qemu/osdep.h"

#include <sys/ioctl.h>
#include <sys/uio.h>
#include <linux/fs.h>

#include "block/block_int.h"
#include "qapi/error.h"
#include "qemu/io-engine.h"
#include "qemu/thread-pool.h"
#include "trace.h"

#define RAW_LOCK_PERM_BASE   100
#define RAW_LOCK_SHARED_BASE 200

/* Alignments tried when probing O_DIRECT, in order. */
static const size_t probe_aligns[] = { 1, 512, 1024, 2048, 4096 };
#define MAX_PROBE_ALIGN 4096

typedef struct BDRVRawState {
    int fd;
    char *filename;
    QemuIOEngine engine;
    bool use_lock;
    /* The permissions whose lock bytes are held now. */
    uint64_t locked_perm;
    uint64_t locked_shared_perm;
    /* Probed with O_DIRECT; 1 otherwise. */
    uint32_t request_alignment;
    size_t buf_align;
    /*
     * The last range that SEEK_DATA / SEEK_HOLE found to be data, or
     * empty: block status inside it needs no system call (a mirror asks
     * once per operation, QEMU keeps the same cache).  Only zero writes,
     * discards and truncates of this node make holes; they empty it.  A
     * hole punched by another process reads as data until then, which is
     * always safe.
     */
    int64_t data_start;
    int64_t data_end;
} BDRVRawState;

/*
 * Open
 */

static void raw_probe_alignment(BlockDriverState *bs, BDRVRawState *s)
{
    uint8_t *buf;
    size_t i;

    s->request_alignment = 1;
    s->buf_align = 1;
    if (!(bs->open_flags & BDRV_O_NOCACHE)) {
        return;
    }
#ifdef STATX_DIOALIGN
    {
        struct statx stx;

        /* Linux 6.1+ says it outright; probing a hole can be fooled. */
        if (statx(s->fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &stx) == 0 &&
            (stx.stx_mask & STATX_DIOALIGN) && stx.stx_dio_offset_align) {
            s->request_alignment = stx.stx_dio_offset_align;
            s->buf_align = MAX(stx.stx_dio_mem_align, 1);
            return;
        }
    }
#endif
    buf = qemu_memalign(MAX_PROBE_ALIGN, 2 * MAX_PROBE_ALIGN);
    s->request_alignment = 0;
    for (i = 0; i < ARRAY_SIZE(probe_aligns); i++) {
        if (pread(s->fd, buf, probe_aligns[i], 0) >= 0) {
            s->request_alignment = probe_aligns[i];
            break;
        }
    }
    s->buf_align = 0;
    for (i = 0; i < ARRAY_SIZE(probe_aligns); i++) {
        if (pread(s->fd, buf + probe_aligns[i], MAX_PROBE_ALIGN, 0) >= 0) {
            s->buf_align = probe_aligns[i];
            break;
        }
    }
    qemu_vfree(buf);
    /* Nothing answered (an empty file): assume the largest. */
    if (!s->request_alignment) {
        s->request_alignment = MAX_PROBE_ALIGN;
    }
    if (!s->buf_align) {
        s->buf_align = MAX_PROBE_ALIGN;
    }
}

static int raw_open(BlockDriverState *bs, BlockdevOptions *options,
                    int flags, Error **errp)
{
    BDRVRawState *s = bs->opaque;
    BlockdevOptionsFile *o;
    int open_flags = O_CLOEXEC;
    BlockdevAioOptions aio = BLOCKDEV_AIO_OPTIONS_THREADS;
    struct stat st;

    if (!options) {
        error_setg(errp, "Parameter 'filename' is missing");
        return -EINVAL;
    }
    o = &options->u.file;
    s->fd = -1;
    if (o->has_aio) {
        aio = o->aio;
    }
    switch (aio) {
    case BLOCKDEV_AIO_OPTIONS_THREADS:
        /*
         * Asked for, the pool.  Left at QEMU's default, the engine's best:
         * through the page cache io_uring copies cached data in place
         * (no hand-off to a worker and back) and runs buffered writes to
         * one file one at a time in its own workers, where a pool of
         * threads writing one ext4 file spin on its inode lock.  A 2 GiB
         * mirror through the page cache took 62-77% of QEMU's CPU time
         * so, against 116-121% with the pool (make bench-mirror).
         */
        s->engine = o->has_aio ? QEMU_IO_ENGINE_THREADS : QEMU_IO_ENGINE_AUTO;
        break;
    case BLOCKDEV_AIO_OPTIONS_NATIVE:
        if (!(flags & BDRV_O_NOCACHE)) {
            error_setg(errp, "aio=native was specified, but it requires "
                       "cache.direct=on, which was not specified.");
            return -EINVAL;
        }
        /* No Linux AIO here: the engine's best (io_uring) serves it. */
        s->engine = QEMU_IO_ENGINE_AUTO;
        break;
#if CONFIG_LINUX_IO_URING
    case BLOCKDEV_AIO_OPTIONS_IO_URING:
        if (!qemu_io_engine_available(bdrv_get_aio_context(bs),
                                      QEMU_IO_ENGINE_IO_URING, errp)) {
            return -EINVAL;
        }
        s->engine = QEMU_IO_ENGINE_IO_URING;
        break;
#endif
    default:
        g_assert_not_reached();
    }
    /*
     * aio-max-batch is accepted and unused, as QEMU 7.2 accepts any value
     * (even negative): the engine sizes its own batches.
     */
    s->use_lock = !o->has_locking || o->locking != ON_OFF_AUTO_OFF;

    if (flags & BDRV_O_NOCACHE) {
        open_flags |= O_DIRECT;
    }
    s->filename = g_strdup(o->filename);
    s->fd = open(o->filename,
                 open_flags | ((flags & BDRV_O_RDWR) ? O_RDWR : O_RDONLY));
    if (s->fd < 0 && (flags & BDRV_O_RDWR) && (flags & BDRV_O_AUTO_RDONLY) &&
        (errno == EACCES || errno == EROFS)) {
        /* auto-read-only: fall back to a read-only node. */
        s->fd = open(o->filename, open_flags | O_RDONLY);
        if (s->fd >= 0) {
            bs->open_flags &= ~BDRV_O_RDWR;
            bs->read_only = true;
        }
    }
    if (s->fd < 0) {
        int err = errno;

        error_setg_errno(errp, err, "Could not open '%s'", o->filename);
        g_free(s->filename);
        return -err;
    }
    if (fstat(s->fd, &st) < 0) {
        int err = errno;

        error_setg_errno(errp, err, "Could not stat '%s'", o->filename);
        close(s->fd);
        g_free(s->filename);
        return -err;
    }
    if (S_ISDIR(st.st_mode)) {
        error_setg(errp, "'%s' is not a regular file", o->filename);
        close(s->fd);
        g_free(s->filename);
        return -EINVAL;
    }
    raw_probe_alignment(bs, s);
    bs->bl.request_alignment = s->request_alignment;
    trace_file_open(bs, s->filename, flags, s->engine, s->request_alignment);
    return 0;
}

static void raw_close(BlockDriverState *bs)
{
    BDRVRawState *s = bs->opaque;

    if (s->fd >= 0) {
        /* Closing the description drops its OFD locks too. */
        close(s->fd);
        s->fd = -1;
    }
    g_free(s->filename);
}

static void raw_refresh_limits(BlockDriverState *bs, Error **errp)
{
    BDRVRawState *s = bs->opaque;

    bs->bl.request_alignment = s->request_alignment;
    bs->bl.min_mem_alignment = s->buf_align;
    bs->bl.opt_mem_alignment = MAX(s->buf_align,
                                   qemu_real_host_page_size());
}

static void raw_refresh_filename(BlockDriverState *bs)
{
    BDRVRawState *s = bs->opaque;

    g_strlcpy(bs->filename, s->filename, sizeof(bs->filename));
}

/*
 * Locking
 */

static int raw_lock_byte(int fd, int64_t byte, short type)
{
    struct flock fl = {
        .l_whence = SEEK_SET,
        .l_start = byte,
        .l_len = 1,
        .l_type = type,
    };

    return fcntl(fd, F_OFD_SETLK, &fl) < 0 ? -errno : 0;
}

/* True if another open file description holds a lock on @byte. */
static bool raw_byte_locked_elsewhere(int fd, int64_t byte)
{
    struct flock fl = {
        .l_whence = SEEK_SET,
        .l_start = byte,
        .l_len = 1,
        .l_type = F_WRLCK,
    };

    if (fcntl(fd, F_OFD_GETLK, &fl) < 0) {
        return false;
    }
    return fl.l_type != F_UNLCK;
}

static const char *raw_perm_name(int bit)
{
    static const char *const names[] = {
        "consistent read", "write", "write unchanged", "resize",
        "change children",
    };

    return bit < (int)ARRAY_SIZE(names) ? names[bit] : "?";
}

/*
 * Hold the lock bytes for @perm and @shared, after checking that no other
 * process forbids them; QEMU's messages and hint on a conflict.
 */
static int raw_set_perm(BlockDriverState *bs, uint64_t perm, uint64_t shared,
                        Error **errp)
{
    BDRVRawState *s = bs->opaque;
    int i, ret;

    if (!s->use_lock) {
        return 0;
    }
    trace_file_set_perm(bs, perm, shared);
    for (i = 0; i < 5; i++) {
        uint64_t bit = UINT64_C(1) << i;

        if ((perm & bit) && !(s->locked_perm & bit) &&
            raw_byte_locked_elsewhere(s->fd, RAW_LOCK_SHARED_BASE + i)) {
            trace_file_lock_conflict(bs, "perm", RAW_LOCK_SHARED_BASE + i);
            error_setg(errp, "Failed to get \"%s\" lock", raw_perm_name(i));
            error_append_hint(errp, "Is another process using the image "
                              "[%s]?\n", s->filename);
            return -EAGAIN;
        }
        if (!(shared & bit) && (s->locked_shared_perm & bit) &&
            raw_byte_locked_elsewhere(s->fd, RAW_LOCK_PERM_BASE + i)) {
            trace_file_lock_conflict(bs, "shared", RAW_LOCK_PERM_BASE + i);
            error_setg(errp, "Failed to get shared \"%s\" lock",
                       raw_perm_name(i));
            error_append_hint(errp, "Is another process using the image "
                              "[%s]?\n", s->filename);
            return -EAGAIN;
        }
    }
    for (i = 0; i < 5; i++) {
        uint64_t bit = UINT64_C(1) << i;

        ret = raw_lock_byte(s->fd, RAW_LOCK_PERM_BASE + i,
                            (perm & bit) ? F_RDLCK : F_UNLCK);
        if (ret == 0) {
            ret = raw_lock_byte(s->fd, RAW_LOCK_SHARED_BASE + i,
                                (shared & bit) ? F_UNLCK : F_RDLCK);
        }
        if (ret < 0) {
            error_setg_errno(errp, -ret, "Failed to lock byte %d",
                             RAW_LOCK_PERM_BASE + i);
            return ret;
        }
    }
    s->locked_perm = perm;
    s->locked_shared_perm = shared;
    return 0;
}

/*
 * Data path
 */

static int coroutine_fn raw_co_submit(BlockDriverState *bs, int64_t offset,
                                      int64_t bytes, QEMUIOVector *qiov,
                                      int type, int flags)
{
    BDRVRawState *s = bs->opaque;

    return qemu_io_co_submit_engine(bdrv_get_aio_context(bs), s->engine,
                                    s->fd, offset, qiov, bytes, type,
                                    flags);
}

static int coroutine_fn raw_co_preadv(BlockDriverState *bs, int64_t offset,
                                      int64_t bytes, QEMUIOVector *qiov,
                                      BdrvRequestFlags flags)
{
    return raw_co_submit(bs, offset, bytes, qiov, QEMU_AIO_READ, 0);
}

static int coroutine_fn raw_co_pwritev(BlockDriverState *bs, int64_t offset,
                                       int64_t bytes, QEMUIOVector *qiov,
                                       BdrvRequestFlags flags)
{
    assert(!bs->read_only);
    return raw_co_submit(bs, offset, bytes, qiov, QEMU_AIO_WRITE, 0);
}

/* Holes may appear: forget the known data range (before and after). */
static void raw_forget_data(BDRVRawState *s)
{
    s->data_start = 0;
    s->data_end = 0;
}

static int coroutine_fn raw_co_pwrite_zeroes(BlockDriverState *bs,
                                             int64_t offset, int64_t bytes,
                                             BdrvRequestFlags flags)
{
    BDRVRawState *s = bs->opaque;
    int ret;

    raw_forget_data(s);
    ret = raw_co_submit(bs, offset, bytes, NULL, QEMU_AIO_WRITE_ZEROES,
                        (flags & BDRV_REQ_MAY_UNMAP) ? QEMU_IO_MAY_UNMAP : 0);
    raw_forget_data(s);
    return ret;
}

static int coroutine_fn raw_co_pdiscard(BlockDriverState *bs,
                                        int64_t offset, int64_t bytes)
{
    BDRVRawState *s = bs->opaque;
    int ret;

    raw_forget_data(s);
    ret = raw_co_submit(bs, offset, bytes, NULL, QEMU_AIO_DISCARD, 0);
    raw_forget_data(s);
    return ret;
}

static int coroutine_fn raw_co_flush(BlockDriverState *bs)
{
    return raw_co_submit(bs, 0, 0, NULL, QEMU_AIO_FLUSH, 0);
}

/*
 * Where the data and the holes are, from SEEK_DATA / SEEK_HOLE.  A range
 * the file system cannot describe is data.  Boundaries are moved to the
 * alignment in the safe direction: data may grow over a partial hole
 * block, a hole never grows over data.
 */
static int coroutine_fn raw_co_block_status(BlockDriverState *bs,
                                            bool want_zero, int64_t offset,
                                            int64_t bytes, int64_t *pnum,
                                            int64_t *map,
                                            BlockDriverState **file)
{
    BDRVRawState *s = bs->opaque;
    uint32_t align = bs->bl.request_alignment;
    int64_t data, hole;
    int ret;

    *map = offset;
    *file = bs;
    *pnum = bytes;
    if (!want_zero) {
        return BDRV_BLOCK_DATA | BDRV_BLOCK_OFFSET_VALID;
    }
    if (offset >= s->data_start && offset < s->data_end) {
        *pnum = MIN(bytes, s->data_end - offset);
        return BDRV_BLOCK_DATA | BDRV_BLOCK_OFFSET_VALID;
    }

    data = lseek(s->fd, offset, SEEK_DATA);
    if (data == offset) {
        hole = lseek(s->fd, offset, SEEK_HOLE);
        if (hole > offset) {
            s->data_start = offset;
            s->data_end = offset + ROUND_UP(hole - offset, align);
            *pnum = MIN(bytes, s->data_end - offset);
        }
        ret = BDRV_BLOCK_DATA;
    } else if (data > offset || (data < 0 && errno == ENXIO)) {
        int64_t end = data > offset ? data : offset + bytes;

        *pnum = MIN(bytes, QEMU_ALIGN_DOWN(end - offset, align));
        if (*pnum == 0) {
            /* Less than a block of hole: report the block as data. */
            *pnum = MIN(bytes, align);
            ret = BDRV_BLOCK_DATA;
        } else {
            ret = BDRV_BLOCK_ZERO;
        }
    } else {
        ret = BDRV_BLOCK_DATA;
    }
    return ret | BDRV_BLOCK_OFFSET_VALID;
}

static int64_t coroutine_fn raw_co_getlength(BlockDriverState *bs)
{
    BDRVRawState *s = bs->opaque;
    int64_t len = lseek(s->fd, 0, SEEK_END);

    return len < 0 ? -errno : len;
}

typedef struct RawTruncate {
    int fd;
    int64_t offset;
    int64_t old_size;
    PreallocMode prealloc;
} RawTruncate;

/* In a worker: resize, preallocating the new tail as asked. */
static int raw_truncate_worker(void *opaque)
{
    RawTruncate *t = opaque;

    if (t->prealloc == PREALLOC_MODE_FALLOC && t->offset > t->old_size) {
        int ret = posix_fallocate(t->fd, t->old_size,
                                  t->offset - t->old_size);

        if (ret) {
            return -ret;
        }
    } else if (t->prealloc == PREALLOC_MODE_FULL &&
               t->offset > t->old_size) {
        g_autofree char *zeroes = g_malloc0(MiB);
        int64_t pos = t->old_size;

        while (pos < t->offset) {
            ssize_t n = pwrite(t->fd, zeroes, MIN(MiB, t->offset - pos),
                               pos);

            if (n < 0) {
                if (errno == EINTR) {
                    continue;
                }
                return -errno;
            }
            pos += n;
        }
    }
    return ftruncate(t->fd, t->offset) < 0 ? -errno : 0;
}

static int coroutine_fn raw_co_truncate(BlockDriverState *bs, int64_t offset,
                                        bool exact, PreallocMode prealloc,
                                        BdrvRequestFlags flags, Error **errp)
{
    BDRVRawState *s = bs->opaque;
    RawTruncate t = { .fd = s->fd, .offset = offset, .prealloc = prealloc };
    struct stat st;
    int ret;

    if (fstat(s->fd, &st) < 0) {
        ret = -errno;
        error_setg_errno(errp, -ret, "Failed to fstat() the file");
        return ret;
    }
    if (!S_ISREG(st.st_mode)) {
        /* A device cannot change its size: only "shrinking" is fine. */
        int64_t len = raw_co_getlength(bs);

        if (len >= 0 && offset > len) {
            error_setg(errp, "Cannot grow device files");
            return -EINVAL;
        }
        return 0;
    }
    if (prealloc == PREALLOC_MODE_METADATA) {
        error_setg(errp, "Unsupported preallocation mode: %s",
                   PreallocMode_str(prealloc));
        return -ENOTSUP;
    }
    t.old_size = st.st_size;
    raw_forget_data(s);
    ret = thread_pool_submit_co(raw_truncate_worker, &t);
    raw_forget_data(s);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "Failed to resize the file");
    }
    return ret;
}

static int64_t raw_get_allocated_file_size(BlockDriverState *bs)
{
    BDRVRawState *s = bs->opaque;
    struct stat st;

    if (fstat(s->fd, &st) < 0) {
        return -errno;
    }
    return (int64_t)st.st_blocks * 512;
}

/* The file has no clusters and is never dirty; QEMU answers all the same. */
static int raw_get_info(BlockDriverState *bs, BlockDriverInfo *bdi)
{
    return 0;
}

/*
 * Create
 */

/* PREALLOC_MODE_* of a "preallocation" option text; false if unknown. */
static bool raw_parse_prealloc(const char *text, bool allow_metadata,
                               PreallocMode *mode, Error **errp)
{
    int i;

    for (i = 0; i < PREALLOC_MODE__MAX; i++) {
        if (!strcmp(text, PreallocMode_str(i)) &&
            (allow_metadata || i != PREALLOC_MODE_METADATA)) {
            *mode = i;
            return true;
        }
    }
    error_setg(errp, "Parameter 'preallocation' does not accept value '%s'",
               text);
    return false;
}

/*
 * Make @filename a regular file of "size" bytes: created if missing,
 * emptied if not, then grown as "preallocation" says.  As QEMU, an
 * unpreallocated file gets its first block written, so that a later
 * O_DIRECT open probes the alignment against data rather than a hole.
 */
static int raw_create(BlockDriver *drv, const char *filename,
                      BlockCreateOpts *opts, Error **errp)
{
    RawTruncate t = { .prealloc = PREALLOC_MODE_OFF };
    const char *prealloc = bdrv_create_opt_get(opts, "preallocation");
    int ret;

    if (prealloc &&
        !raw_parse_prealloc(prealloc, false, &t.prealloc, errp)) {
        return -EINVAL;
    }
    t.offset = bdrv_create_opt_get_size(opts, "size", 0);
    t.fd = open(filename, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (t.fd < 0) {
        ret = -errno;
        error_setg_errno(errp, -ret, "Could not create '%s'", filename);
        return ret;
    }
    if (ftruncate(t.fd, 0) < 0) {
        ret = -errno;
        error_setg_errno(errp, -ret, "Could not resize file");
        close(t.fd);
        return ret;
    }
    ret = raw_truncate_worker(&t);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "Could not resize file");
        close(t.fd);
        return ret;
    }
    if (t.offset > 0 && t.prealloc == PREALLOC_MODE_OFF) {
        g_autofree uint8_t *zero = g_malloc0(MIN(t.offset, 4096));

        if (pwrite(t.fd, zero, MIN(t.offset, 4096), 0) < 0) {
            ret = -errno;
            error_setg_errno(errp, -ret, "Could not write to '%s'",
                             filename);
            close(t.fd);
            return ret;
        }
    }
    if (close(t.fd) < 0) {
        ret = -errno;
        error_setg_errno(errp, -ret, "Could not close the new file");
        return ret;
    }
    return 0;
}

static const BlockCreateOptDesc raw_create_opts[] = {
    { "size", BLOCK_CREATE_OPT_SIZE, "Virtual disk size" },
    { "nocow", BLOCK_CREATE_OPT_BOOL,
      "Turn off copy-on-write (valid only on btrfs)" },
    { "preallocation", BLOCK_CREATE_OPT_STRING,
      "Preallocation mode (allowed values: off, falloc, full)" },
    { "extent_size_hint", BLOCK_CREATE_OPT_SIZE,
      "Extent size hint for the image file, 0 to disable" },
    { NULL }
};

/* "file:PATH" names PATH, as in QEMU. */
static bool raw_parse_filename(const char *filename, JsonObject *options,
                               Error **errp)
{
    json_object_set_string_member(options, "filename",
                                  filename + strlen("file:"));
    return true;
}

static const char *const raw_protocol_schemes[] = { "file", NULL };

BlockDriver bdrv_file = {
    .format_name            = "file",
    .protocol_name          = "file",
    .protocol_schemes       = raw_protocol_schemes,
    .bdrv_parse_filename    = raw_parse_filename,
    .instance_size          = sizeof(BDRVRawState),
    .supported_zero_flags   = BDRV_REQ_MAY_UNMAP,
    .bdrv_open              = raw_open,
    .bdrv_close             = raw_close,
    .bdrv_co_preadv         = raw_co_preadv,
    .bdrv_co_pwritev        = raw_co_pwritev,
    .bdrv_co_pwrite_zeroes  = raw_co_pwrite_zeroes,
    .bdrv_co_pdiscard       = raw_co_pdiscard,
    .bdrv_co_flush          = raw_co_flush,
    .bdrv_co_block_status   = raw_co_block_status,
    .bdrv_co_getlength      = raw_co_getlength,
    .bdrv_co_truncate       = raw_co_truncate,
    .bdrv_refresh_limits    = raw_refresh_limits,
    .bdrv_refresh_filename  = raw_refresh_filename,
    .bdrv_get_allocated_file_size = raw_get_allocated_file_size,
    .bdrv_get_info          = raw_get_info,
    .bdrv_set_perm          = raw_set_perm,
    .create_opts            = raw_create_opts,
    .bdrv_create            = raw_create,
};
