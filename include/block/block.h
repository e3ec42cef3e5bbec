/*
 * block.h: the block layer for code that uses block nodes.
 *
 * A block node (BlockDriverState) is one layer of a disk: a protocol
 * ("file", "null-co") that stores bytes somewhere, or a format ("raw")
 * that interprets the bytes of a child node.  Nodes form a graph through
 * BdrvChild edges; users outside the graph (a guest device, an export,
 * a job) reach it through a BlockBackend (block-backend.h).
 *
 * Threads: everything declared here runs in the main loop thread.
 * Functions marked coroutine_fn must be called from a coroutine; the
 * others must not be, unless their comment says so.
 *
 * Errors: control-path functions (open, truncate, graph changes) report
 * through Error **errp; data-path functions return 0 or -errno.
 */
#ifndef QBLOCK_BLOCK_BLOCK_H
#define QBLOCK_BLOCK_BLOCK_H

#include <json-glib/json-glib.h>

#include "qemu/aio.h"
#include "qemu/coroutine.h"
#include "qemu/iov.h"
#include "qemu/queue.h"
#include "qapi/qapi-types.h"

typedef struct BlockDriver BlockDriver;
typedef struct BlockDriverState BlockDriverState;
typedef struct BdrvChild BdrvChild;
typedef struct BdrvChildClass BdrvChildClass;
typedef struct BlockBackend BlockBackend;

/*
 * Asserts that the caller runs in the main loop thread, outside any I/O
 * thread: graph changes and option handling are only done there.
 */
#define GLOBAL_STATE_CODE() \
    assert(qemu_get_current_aio_context() == qemu_get_aio_context())

/* Documents that a function is on the I/O path; checks nothing yet. */
#define IO_CODE() do { } while (0)

/* The largest offset + length a request may reach (as QEMU's). */
#define BDRV_MAX_LENGTH \
    QEMU_ALIGN_DOWN(INT64_MAX, MAX(BDRV_REQUEST_MAX_BYTES, 512))

/* The largest single request a caller may pass; io.c splits it further. */
#define BDRV_REQUEST_MAX_BYTES  (INT_MAX & ~(int64_t)(512 - 1))

#define BDRV_SECTOR_BITS   9
#define BDRV_SECTOR_SIZE   (1ULL << BDRV_SECTOR_BITS)

/* Open flags: how a node was opened (bs->open_flags). */
enum {
    BDRV_O_RDWR        = 0x0002, /* opened read-write */
    BDRV_O_NOCACHE     = 0x0020, /* cache.direct=on: bypass the host cache */
    BDRV_O_NO_BACKING  = 0x0100, /* bdrv_open_image: backing file not opened */
    BDRV_O_NO_FLUSH    = 0x0200, /* cache.no-flush=on: flush does nothing */
    BDRV_O_UNMAP       = 0x4000, /* discard=unmap: pass discards down */
    BDRV_O_AUTO_RDONLY = 0x20000, /* may fall back to read-only */
};

/* Request flags, as QEMU's BdrvRequestFlags. */
typedef enum {
    /* The request writes zeroes; its qiov is NULL. */
    BDRV_REQ_ZERO_WRITE     = 0x2,
    /*
     * With BDRV_REQ_ZERO_WRITE: the driver may deallocate the range
     * instead of writing zeroes, as long as it then reads as zeroes.
     * io.c sets it only when the node was opened with discard=unmap.
     */
    BDRV_REQ_MAY_UNMAP      = 0x4,
    /* Force unit access: the data is on stable storage on completion. */
    BDRV_REQ_FUA            = 0x10,
    /* Write-unchanged: the data equals what the node already holds. */
    BDRV_REQ_WRITE_UNCHANGED = 0x40,
    /*
     * With BDRV_REQ_ZERO_WRITE: fail with -ENOTSUP rather than fall back
     * to writing a buffer of zeroes.
     */
    BDRV_REQ_NO_FALLBACK    = 0x100,
    BDRV_REQ_MASK           = 0x1ff,
} BdrvRequestFlags;

/*
 * Block status flags (bdrv_co_block_status()):
 *  DATA          the range reads as the data the driver stores there
 *  ZERO          the range reads as zeroes
 *  OFFSET_VALID  *map holds the offset of the range in *file
 *  RAW           for drivers only: ask *file, at *map, instead
 *  ALLOCATED     this node (not a backing file) decides the contents
 *  EOF           the range ends at the end of the node
 */
#define BDRV_BLOCK_DATA         0x01
#define BDRV_BLOCK_ZERO         0x02
#define BDRV_BLOCK_OFFSET_VALID 0x04
#define BDRV_BLOCK_RAW          0x08
#define BDRV_BLOCK_ALLOCATED    0x10
#define BDRV_BLOCK_EOF          0x20

/*
 * Permissions a user of a node takes (perm) and lets others take
 * (shared), as QEMU's.  Stage 3 of the block layer enforces them.
 */
enum {
    BLK_PERM_CONSISTENT_READ = 0x01,
    BLK_PERM_WRITE           = 0x02,
    BLK_PERM_WRITE_UNCHANGED = 0x04,
    BLK_PERM_RESIZE          = 0x08,
    BLK_PERM_GRAPH_MOD       = 0x10,
    BLK_PERM_ALL             = 0x1f,
    DEFAULT_PERM_PASSTHROUGH = BLK_PERM_CONSISTENT_READ
                             | BLK_PERM_WRITE
                             | BLK_PERM_WRITE_UNCHANGED
                             | BLK_PERM_RESIZE,
    DEFAULT_PERM_UNCHANGED   = BLK_PERM_ALL & ~DEFAULT_PERM_PASSTHROUGH,
};

/* What a child is to its parent (QEMU's BdrvChildRole). */
typedef enum {
    BDRV_CHILD_DATA     = 1 << 0, /* the parent's guest data is in it */
    BDRV_CHILD_METADATA = 1 << 1, /* the parent's metadata is in it */
    BDRV_CHILD_FILTERED = 1 << 2, /* the parent passes its data through */
    BDRV_CHILD_COW      = 1 << 3, /* a backing file */
    BDRV_CHILD_PRIMARY  = 1 << 4, /* the parent's bs->file */
    BDRV_CHILD_IMAGE    = BDRV_CHILD_DATA | BDRV_CHILD_METADATA,
} BdrvChildRole;

/* What bdrv_get_info() reports. */
typedef struct BlockDriverInfo {
    /* Allocation unit in bytes, 0 if the format has none. */
    int cluster_size;
    /* The image was not closed cleanly ("dirty-flag"). */
    bool is_dirty;
    /* Where a format that can hold VM state keeps it; 0 if none. */
    int64_t vm_state_offset;
} BlockDriverInfo;

/*
 * A hook run after every successful write, zero write and discard that
 * reaches a node (dirty bitmaps hang here).  @offset/@bytes are the range
 * the caller asked for, before alignment padding; it runs in the
 * coroutine of the request, before the request completes.
 */
typedef void BdrvWriteHookFunc(BlockDriverState *bs, int64_t offset,
                               int64_t bytes, void *opaque);
typedef struct BdrvWriteHook {
    BdrvWriteHookFunc *cb;
    void *opaque;
    QLIST_ENTRY(BdrvWriteHook) next;
} BdrvWriteHook;

/*
 * Nodes
 */

/* Register the built-in drivers.  Idempotent; called by bdrv_init(). */
void bdrv_init(void);

/* The driver registered as @format_name, or NULL. */
BlockDriver *bdrv_find_format(const char *format_name);
/* True if @format_name is a protocol driver (file, nbd, null-co, ...). */
bool bdrv_format_is_protocol(const char *format_name);

/*
 * In @options (BlockdevOptions as a JSON object), give every nested
 * child definition that has a "filename" but no "driver" the driver
 * "file", as QEMU's tools do for --image-opts ("file.filename=x" and
 * "file.image.filename=x" of blkdebug alike).
 */
void bdrv_default_child_drivers(JsonObject *options);

/*
 * The options of the protocol node that @filename names, into @options:
 * {"driver": "file", "filename": @filename} for a plain name, else what
 * the protocol driver its prefix names parses out of it ("nbd://...").
 */
bool bdrv_filename_to_options(const char *filename, JsonObject *options,
                              Error **errp);

/*
 * Open a new node from @options, and its children if @options defines
 * them inline (references name existing nodes).  The node has one
 * reference, owned by the caller.  @options stays the caller's.
 */
BlockDriverState *bdrv_open_blockdev(BlockdevOptions *options, Error **errp);

/*
 * As bdrv_open_blockdev(), for a format node whose driver the opener
 * probed (bdrv_probe_image_format()) rather than was told: raw then
 * warns when opened writable and refuses a write that would make block 0
 * probe as another format, as QEMU's does.
 */
BlockDriverState *bdrv_open_blockdev_probed(BlockdevOptions *options,
                                            Error **errp);

/*
 * The name of the format whose magic the first bytes of @bs carry
 * ("raw" when none claims them); NULL if they cannot be read.
 */
const char *bdrv_probe_image_format(BlockDriverState *bs, Error **errp);

/*
 * Open a node of driver @drv with no driver options (@drv->bdrv_open gets
 * NULL).  @node_name may be NULL for an automatic name.  @flags are
 * BDRV_O_*.  For tests and internal nodes.
 */
BlockDriverState *bdrv_new_open_driver(BlockDriver *drv,
                                       const char *node_name, int flags,
                                       Error **errp);

/*
 * Open the image file @filename as format @format (probed from its first
 * bytes when NULL) over a "file" node: the way a backing file named in
 * an image, or an image named on a tool's command line, is opened.
 * @flags: BDRV_O_RDWR, BDRV_O_NOCACHE.  One reference, the caller's.
 */
BlockDriverState *bdrv_open_image(const char *filename, const char *format,
                                  int flags, Error **errp);
/*
 * As bdrv_open_image(), naming the format node @node_name (NULL: an
 * automatic name); with BDRV_O_NO_BACKING in @flags a format's backing
 * file stays closed (a mirror target before its pivot).
 */
BlockDriverState *bdrv_open_image_named(const char *filename,
                                        const char *format, int flags,
                                        const char *node_name,
                                        Error **errp);

/*
 * Backing files.  bdrv_cow_bs() is @bs's backing node or NULL.
 * bdrv_set_backing_hd() replaces it (NULL detaches it; the node must be
 * a format that supports_backing); the edge takes its own reference.
 * bdrv_get_full_backing_filename() is the backing file the image names,
 * resolved against the image's directory (NULL if none; caller frees).
 */
BlockDriverState *bdrv_cow_bs(BlockDriverState *bs);
bool bdrv_set_backing_hd(BlockDriverState *bs, BlockDriverState *backing_hd,
                         Error **errp);
char *bdrv_get_full_backing_filename(BlockDriverState *bs);
/*
 * Rewrite the backing file name (NULL or "": none) and format (NULL:
 * none) that @bs's image metadata names, as qemu-img rebase does; the
 * open backing node, if any, stays as it is.  @bs must be writable.
 * 0 or -errno (-ENOTSUP: the format cannot).
 */
int bdrv_change_backing_file(BlockDriverState *bs, const char *backing_file,
                             const char *backing_fmt);

/*
 * Make every parent of @from use @to instead, atomically: edges whose
 * class says stay_at_node (a job's) and edges from @to's own subtree
 * stay.  Fails, with the graph unchanged, if the moved parents' needs
 * conflict on @to (QEMU's permission messages).  The mirror's pivot.
 */
bool bdrv_replace_node(BlockDriverState *from, BlockDriverState *to,
                       Error **errp);

/*
 * Operation blockers: while a job uses a node it blocks it with a reason
 * ("block device is in use by block job: mirror"); new jobs on it,
 * blockdev-del and block_resize then fail with "Node '%s' is busy: %s".
 */
void bdrv_op_block_all(BlockDriverState *bs, Error *reason);
void bdrv_op_unblock_all(BlockDriverState *bs, Error *reason);
bool bdrv_op_is_blocked(BlockDriverState *bs, Error **errp);

/* No other node uses @bs (only BlockBackends, jobs, or nothing). */
bool bdrv_is_root_node(BlockDriverState *bs);

void bdrv_ref(BlockDriverState *bs);
/* Drop a reference; the last one drains, closes and frees the node. */
void bdrv_unref(BlockDriverState *bs);

/* The node named @node_name, or NULL. */
BlockDriverState *bdrv_find_node(const char *node_name);

/*
 * Iterate over all nodes: bdrv_next_node(NULL) is the first, NULL after
 * the last.  The graph must not change during the walk.
 */
BlockDriverState *bdrv_next_node(BlockDriverState *bs);

const char *bdrv_get_node_name(const BlockDriverState *bs);
const char *bdrv_get_format_name(const BlockDriverState *bs);
/* The node's file name (for a format: that of its file). */
const char *bdrv_get_filename(const BlockDriverState *bs);
/*
 * The backing file and its format as the image's metadata names them
 * ("" if none), whether or not a backing node is open.
 */
const char *bdrv_get_backing_file(const BlockDriverState *bs);
const char *bdrv_get_backing_format(const BlockDriverState *bs);
bool bdrv_is_read_only(BlockDriverState *bs);

/* The size in bytes cached at open and after truncate; -errno if none. */
int64_t bdrv_getlength(BlockDriverState *bs);

int bdrv_get_info(BlockDriverState *bs, BlockDriverInfo *bdi);

/*
 * Recompute bs->bl from the children and the driver.  Called after open
 * and after graph changes below @bs.
 */
void bdrv_refresh_limits(BlockDriverState *bs, Error **errp);

/*
 * A buffer of @size bytes aligned for I/O on @bs (bl.opt_mem_alignment);
 * free with qemu_vfree().  The try form returns NULL on failure.
 */
void *qemu_blockalign(BlockDriverState *bs, size_t size);
void *qemu_try_blockalign(BlockDriverState *bs, size_t size);

/* The AioContext of @bs (the main context for now). */
AioContext *bdrv_get_aio_context(BlockDriverState *bs);

/*
 * Drain: stop new requests from @bs's parents and wait until every
 * request in flight on @bs has completed.  Sections nest; requests resume
 * after the last bdrv_drained_end().  From a coroutine, the wait is done
 * from the main loop while the coroutine yields.
 */
void bdrv_drained_begin(BlockDriverState *bs);
void bdrv_drained_end(BlockDriverState *bs);
/* A drained section that ends at once: wait for all in-flight requests. */
void bdrv_drain(BlockDriverState *bs);
/* Drain every node. */
void bdrv_drain_all(void);
/*
 * A drained section over every node that exists now (they are kept
 * alive until its end, even if the graph drops them meanwhile): how the
 * daemon stops all I/O before it cancels the jobs at exit.
 */
void bdrv_drain_all_begin(void);
void bdrv_drain_all_end(void);

/* Hooks after successful writes, zero writes and discards (see above). */
void bdrv_add_write_hook(BlockDriverState *bs, BdrvWriteHook *hook);
void bdrv_remove_write_hook(BlockDriverState *bs, BdrvWriteHook *hook);

/*
 * The request path (block/io.c).  All take the edge @child from which the
 * request comes, so that the parent's permissions and the graph position
 * are known; writes, zero writes and discards need BLK_PERM_WRITE on
 * @child (or BLK_PERM_WRITE_UNCHANGED with BDRV_REQ_WRITE_UNCHANGED),
 * truncate BLK_PERM_RESIZE: a caller without them is a bug (assert).
 * Offsets and lengths are bytes and need no alignment: io.c
 * pads, splits and serialises as the node requires.  A read beyond the
 * end of the node reads zeroes; a request that reaches beyond
 * BDRV_MAX_LENGTH, or has a negative offset or length, fails with -EIO.
 */
int coroutine_fn bdrv_co_preadv(BdrvChild *child, int64_t offset,
                                int64_t bytes, QEMUIOVector *qiov,
                                BdrvRequestFlags flags);
int coroutine_fn bdrv_co_pwritev(BdrvChild *child, int64_t offset,
                                 int64_t bytes, QEMUIOVector *qiov,
                                 BdrvRequestFlags flags);
int coroutine_fn bdrv_co_pread(BdrvChild *child, int64_t offset,
                               int64_t bytes, void *buf,
                               BdrvRequestFlags flags);
int coroutine_fn bdrv_co_pwrite(BdrvChild *child, int64_t offset,
                                int64_t bytes, const void *buf,
                                BdrvRequestFlags flags);
/* @flags may hold BDRV_REQ_MAY_UNMAP, BDRV_REQ_FUA, BDRV_REQ_NO_FALLBACK. */
int coroutine_fn bdrv_co_pwrite_zeroes(BdrvChild *child, int64_t offset,
                                       int64_t bytes,
                                       BdrvRequestFlags flags);
/*
 * The same for a BlockBackend's root edge.  As in QEMU, only a layer
 * above a node loses BDRV_REQ_MAY_UNMAP where the node has discard=ignore;
 * a backend's user (a guest, an NBD client) keeps it.
 */
int coroutine_fn bdrv_co_pwrite_zeroes_root(BdrvChild *root, int64_t offset,
                                            int64_t bytes,
                                            BdrvRequestFlags flags);
/* Does nothing (and succeeds) unless the node has discard=unmap. */
int coroutine_fn bdrv_co_pdiscard(BdrvChild *child, int64_t offset,
                                  int64_t bytes);
/* Flush @bs and then every child below it. */
int coroutine_fn bdrv_co_flush(BlockDriverState *bs);

/*
 * Status of [@offset, @offset + @bytes) of @bs: returns BDRV_BLOCK_* flags
 * (or -errno) that hold for the first *@pnum bytes (0 < *@pnum <= @bytes,
 * except 0 at or beyond the end).  With OFFSET_VALID, *@map and *@file
 * say where the data lives (either may be NULL if not wanted).
 * @want_zero asks for ZERO to be exact rather than cheap.
 */
int coroutine_fn bdrv_co_block_status(BlockDriverState *bs, bool want_zero,
                                      int64_t offset, int64_t bytes,
                                      int64_t *pnum, int64_t *map,
                                      BlockDriverState **file);

/*
 * Status of the backing chain from @bs down to, not including, @base
 * (NULL: the whole chain): the first node that allocates the range
 * answers, and *@pnum is the length over which that holds in every
 * node above it.  A range no node allocates returns that of the last
 * node (ZERO without ALLOCATED if it has no backing).  A node
 * shorter than the top reads as zeroes past its end.  *@depth (may be
 * NULL) is 1 for @bs, 2 for its backing node, ..., 0 if unallocated.
 */
int coroutine_fn bdrv_co_block_status_above(BlockDriverState *bs,
                                            BlockDriverState *base,
                                            bool want_zero, int64_t offset,
                                            int64_t bytes, int64_t *pnum,
                                            int64_t *map,
                                            BlockDriverState **file,
                                            int *depth);

/*
 * 1 if some node from @top down to @base (included if @include_base;
 * NULL: the whole chain) allocates the start of the range, 0 if none
 * does, -errno; *@pnum is how far that answer holds.
 */
int coroutine_fn bdrv_co_is_allocated_above(BlockDriverState *top,
                                            BlockDriverState *base,
                                            bool include_base,
                                            int64_t offset, int64_t bytes,
                                            int64_t *pnum);

/*
 * Resize the node of @child to @offset bytes.  @exact false lets a driver
 * keep a larger size if it cannot shrink.
 */
int coroutine_fn bdrv_co_truncate(BdrvChild *child, int64_t offset,
                                  bool exact, PreallocMode prealloc,
                                  BdrvRequestFlags flags, Error **errp);

/* The driver's idea of the current length (bytes), or -errno. */
int64_t coroutine_fn bdrv_co_getlength(BlockDriverState *bs);

/*
 * Synchronous forms for code outside coroutines: each runs the coroutine
 * version and polls the main loop until it completes.  Called from a
 * coroutine, they call the coroutine version directly.
 */
int bdrv_pread(BdrvChild *child, int64_t offset, int64_t bytes, void *buf,
               BdrvRequestFlags flags);
int bdrv_pwrite(BdrvChild *child, int64_t offset, int64_t bytes,
                const void *buf, BdrvRequestFlags flags);
int bdrv_pwrite_zeroes(BdrvChild *child, int64_t offset, int64_t bytes,
                       BdrvRequestFlags flags);
int bdrv_pdiscard(BdrvChild *child, int64_t offset, int64_t bytes);
int bdrv_flush(BlockDriverState *bs);
int bdrv_block_status(BlockDriverState *bs, int64_t offset, int64_t bytes,
                      int64_t *pnum, int64_t *map, BlockDriverState **file);
int bdrv_block_status_above(BlockDriverState *bs, BlockDriverState *base,
                            int64_t offset, int64_t bytes, int64_t *pnum,
                            int64_t *map, BlockDriverState **file,
                            int *depth);
int bdrv_is_allocated_above(BlockDriverState *top, BlockDriverState *base,
                            bool include_base, int64_t offset, int64_t bytes,
                            int64_t *pnum);
int bdrv_truncate(BdrvChild *child, int64_t offset, bool exact,
                  PreallocMode prealloc, BdrvRequestFlags flags,
                  Error **errp);

/*
 * Run @entry(@opaque) in a new coroutine and poll the main loop until
 * *@done is true (the entry sets it last).  From a coroutine, calls
 * @entry directly.  The machinery of the synchronous forms.
 */
void bdrv_poll_co(CoroutineEntry *entry, void *opaque, bool *done);

/*
 * Image creation (block/create.c)
 */

/*
 * Create the image @filename of format @fmt, as qemu-img create does:
 * @options is the "-o" string (NULL: none; "help" is handled by the
 * caller), @base_filename / @base_fmt the backing file and its format
 * (-b / -F; may be NULL), @img_size the virtual size in bytes, or -1 to
 * take the backing file's.  Unless @unsafe (-u), the backing file is
 * opened to check it and to read its size; with @unsafe it is not
 * opened at all, so the size must be given.  Prints qemu-img's
 * "Formatting '...', fmt=... ..." line on stdout unless @quiet.
 * Returns false with @errp set (the caller prefixes the file name).
 */
bool bdrv_img_create(const char *filename, const char *fmt,
                     const char *base_filename, const char *base_fmt,
                     const char *options, int64_t img_size, bool unsafe,
                     bool quiet, Error **errp);

/*
 * Print the creation options of @fmt as "-o help" does ("Supported
 * <fmt> options:" ...); with @filename, the protocol's options too.
 * False with @errp set if @fmt is unknown or cannot create images.
 */
bool bdrv_print_create_options(const char *fmt, const char *filename,
                               Error **errp);

/*
 * Image checks (qblock-img check)
 */

typedef enum BdrvCheckMode {
    BDRV_FIX_LEAKS  = 1,    /* free clusters that nothing uses */
    BDRV_FIX_ERRORS = 2,    /* repair corruptions where possible */
} BdrvCheckMode;

/* Allocation figures a check gathers, as QEMU's BlockFragInfo. */
typedef struct BlockFragInfo {
    uint64_t allocated_clusters;
    uint64_t total_clusters;
    uint64_t fragmented_clusters;
    uint64_t compressed_clusters;
} BlockFragInfo;

/* What bdrv_check() found, as QEMU's BdrvCheckResult. */
typedef struct BdrvCheckResult {
    int corruptions;          /* remaining after repair */
    int leaks;                /* remaining after repair */
    int check_errors;         /* the check itself failed to read/write */
    int corruptions_fixed;
    int leaks_fixed;
    int64_t image_end_offset; /* first byte after the last used cluster */
    BlockFragInfo bfi;
} BdrvCheckResult;

/*
 * Check @bs's metadata and repair what @fix asks for (see the
 * bdrv_co_check slot).  @res is zeroed first.  -ENOTSUP if the format
 * has no check; -errno if the check could not run.
 */
int coroutine_fn bdrv_co_check(BlockDriverState *bs, BdrvCheckResult *res,
                               BdrvCheckMode fix);
int bdrv_check(BlockDriverState *bs, BdrvCheckResult *res,
               BdrvCheckMode fix);

/* The driver's format-specific info, or NULL (see the driver slot). */
ImageInfoSpecific *bdrv_get_specific_info(BlockDriverState *bs,
                                          Error **errp);

#endif /* QBLOCK_BLOCK_BLOCK_H */
