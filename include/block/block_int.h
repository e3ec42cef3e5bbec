/*
 * block_int.h: the block layer for driver authors (included only under
 * block/).
 *
 * A driver is a table of callbacks (BlockDriver).  block/io.c is the only
 * caller of the data-path callbacks, and it checks every request once
 * before the driver sees it; each slot's comment below says what io.c
 * guarantees (the driver may assert it) and what the driver must do.
 * An empty slot means "not supported", or the emulation its comment
 * names; a driver never fills a slot with a stub.
 *
 * Guarantees common to all data-path slots (preadv, pwritev,
 * pwrite_zeroes, pdiscard):
 *  - the call runs in a coroutine in the node's AioContext, between
 *    bdrv_inc_in_flight() and bdrv_dec_in_flight() of the node;
 *  - @offset and @bytes are multiples of bs->bl.request_alignment,
 *    @offset >= 0, @bytes > 0, and @offset + @bytes <= BDRV_MAX_LENGTH;
 *  - @bytes is at most bs->bl.max_transfer (when not 0) for preadv and
 *    pwritev, at most bs->bl.max_pwrite_zeroes / max_pdiscard for the
 *    others, and never above BDRV_REQUEST_MAX_BYTES;
 *  - @qiov->size == @bytes, and its buffers satisfy
 *    bs->bl.min_mem_alignment (io.c bounces them otherwise);
 *  - a request that overlaps an in-flight read-modify-write is not sent
 *    until that one has completed;
 *  - @flags holds only bits the slot's comment allows.
 * A data-path slot returns 0 or -errno, never an Error.
 */
#ifndef QBLOCK_BLOCK_BLOCK_INT_H
#define QBLOCK_BLOCK_BLOCK_INT_H

#include <json-glib/json-glib.h>

#include "block/block.h"

/*
 * Limits of a node, in bytes; 0 means "no limit" (or "no preference").
 * bdrv_refresh_limits() recomputes them: request_alignment survives
 * (a driver sets it in bdrv_open or bdrv_refresh_limits), the memory
 * alignments and max_transfer are inherited from bs->file, and then the
 * driver's bdrv_refresh_limits adjusts them.
 */
typedef struct BlockLimits {
    /*
     * Offsets and lengths of reads and writes must be multiples of this
     * power of two; io.c pads other requests (read-modify-write).
     */
    uint32_t request_alignment;
    /* Largest read/write; a multiple of request_alignment. */
    uint32_t max_transfer;
    /* Preferred transfer size, for callers that choose one. */
    uint32_t opt_transfer;
    /* Alignment and size limit of zero writes. */
    uint32_t pwrite_zeroes_alignment;
    int64_t max_pwrite_zeroes;
    /* Alignment and size limit of discards. */
    uint32_t pdiscard_alignment;
    int64_t max_pdiscard;
    /* Buffers must be aligned to this (io.c bounces those that are not). */
    size_t min_mem_alignment;
    /* Buffers are best aligned to this (bounce buffers are). */
    size_t opt_mem_alignment;
} BlockLimits;

/*
 * Image creation options (block/create.c): the "-o" options of
 * qblock-img create.  A driver lists the options it takes in the order
 * qemu-img prints them in its "Formatting ..." line; block/create.c
 * parses and type-checks the values before the driver sees them, so the
 * getters below cannot fail.
 */
typedef enum BlockCreateOptType {
    BLOCK_CREATE_OPT_STRING,    /* any text */
    BLOCK_CREATE_OPT_BOOL,      /* on/off, yes/no, true/false */
    BLOCK_CREATE_OPT_NUMBER,    /* a plain unsigned number */
    BLOCK_CREATE_OPT_SIZE,      /* a size with an optional k/M/G... suffix */
} BlockCreateOptType;

typedef struct BlockCreateOptDesc {
    const char *name;
    BlockCreateOptType type;
    const char *help;
    /* Printed in the "Formatting" line when unset; NULL: not printed. */
    const char *def_value_str;
} BlockCreateOptDesc;

/* Parsed options: name -> value text, already checked against its type. */
typedef struct BlockCreateOpts BlockCreateOpts;

/* The value of @name as given, or NULL if unset. */
const char *bdrv_create_opt_get(BlockCreateOpts *opts, const char *name);
bool bdrv_create_opt_get_bool(BlockCreateOpts *opts, const char *name,
                              bool def);
uint64_t bdrv_create_opt_get_number(BlockCreateOpts *opts, const char *name,
                                    uint64_t def);
uint64_t bdrv_create_opt_get_size(BlockCreateOpts *opts, const char *name,
                                  uint64_t def);

/*
 * Create the protocol-level file @filename through the "file" driver's
 * create slot, with the protocol options of @opts but size 0 (a format
 * writes its metadata into the empty file afterwards).
 */
bool bdrv_create_file(const char *filename, BlockCreateOpts *opts,
                      Error **errp);

struct BlockDriver {
    /* The name in BlockdevDriver ('driver' of blockdev-add). */
    const char *format_name;
    /* Set for protocol drivers (they store bytes themselves). */
    const char *protocol_name;
    /*
     * Protocol drivers reached by a file name with a URI-like prefix
     * ("nbd://host/x", "nbd+unix:///x?socket=p", "nbd:unix:p"): the
     * schemes (the text before the first ':') the driver takes,
     * NULL-terminated, and the parser that turns such a file name into
     * the members of the node's options (all but "driver", which the
     * caller sets), or fails with @errp set.  bdrv_open_image() and so
     * qblock-img, qblock-io and drive-mirror targets go through it.
     */
    const char *const *protocol_schemes;
    bool (*bdrv_parse_filename)(const char *filename, JsonObject *options,
                                Error **errp);
    /* Size of bs->opaque, zeroed before bdrv_open. */
    int instance_size;
    /* Write flags the pwritev slot honours (BDRV_REQ_FUA). */
    int supported_write_flags;
    /* Flags the pwrite_zeroes slot honours (MAY_UNMAP, FUA). */
    int supported_zero_flags;
    /*
     * The format can have a backing file (bs->backing, role COW): what
     * it does not allocate reads from there.  io.c then reports ranges
     * the driver leaves unallocated as ZERO when there is no backing
     * file, or where the backing file is shorter.
     */
    bool supports_backing;

    /*
     * How much @buf (the first @buf_size bytes of a file called
     * @filename) looks like this format: 0 not at all, 100 certain.
     * Used to open a backing file whose format the image does not name.
     * Empty slot: never chosen by probing.
     */
    int (*bdrv_probe)(const uint8_t *buf, int buf_size,
                      const char *filename);

    /*
     * Open the node: @options are the node's options (the driver reads
     * its branch of the union), or NULL from bdrv_new_open_driver() (the
     * driver then uses its defaults).  @flags are BDRV_O_*.  Generic
     * members (node-name, cache, discard, ...) are already applied.
     * Children are opened here with bdrv_open_child().  Returns 0 or
     * -errno with @errp set; on failure bdrv_close is not called, and
     * children already attached are detached by block.c.
     */
    int (*bdrv_open)(BlockDriverState *bs, BlockdevOptions *options,
                     int flags, Error **errp);
    /*
     * Release what bdrv_open took, except children (block.c drops them
     * after this).  The node is drained: nothing is in flight.
     */
    void (*bdrv_close)(BlockDriverState *bs);

    /*
     * Read @bytes at @offset into @qiov.  @flags is 0.  The range may
     * reach beyond the end of a node whose size is not aligned; the
     * driver reads zeroes there.  Required for any driver that is read.
     */
    int coroutine_fn (*bdrv_co_preadv)(BlockDriverState *bs, int64_t offset,
                                       int64_t bytes, QEMUIOVector *qiov,
                                       BdrvRequestFlags flags);
    /*
     * Write @qiov at @offset.  @flags holds at most the bits of
     * supported_write_flags (io.c emulates FUA with a flush otherwise).
     * The node is writable (not read-only).
     */
    int coroutine_fn (*bdrv_co_pwritev)(BlockDriverState *bs,
                                        int64_t offset, int64_t bytes,
                                        QEMUIOVector *qiov,
                                        BdrvRequestFlags flags);
    /*
     * Make [@offset, @offset + @bytes) read as zeroes, without a buffer.
     * @flags may hold BDRV_REQ_MAY_UNMAP and the supported_zero_flags.
     * Return -ENOTSUP to make io.c write a buffer of zeroes instead
     * (unless the caller passed BDRV_REQ_NO_FALLBACK).  Empty slot: io.c
     * always writes zeroes through bdrv_co_pwritev.
     */
    int coroutine_fn (*bdrv_co_pwrite_zeroes)(BlockDriverState *bs,
                                              int64_t offset, int64_t bytes,
                                              BdrvRequestFlags flags);
    /*
     * Discard the range; afterwards it may read as anything.  Only called
     * with discard=unmap.  -ENOTSUP is taken as success.  Empty slot:
     * discards are ignored.
     */
    int coroutine_fn (*bdrv_co_pdiscard)(BlockDriverState *bs,
                                         int64_t offset, int64_t bytes);
    /*
     * Flush: everything written to this node so far must reach stable
     * storage, or its children (which io.c flushes right after).  One
     * slot, not QEMU's flush_to_os / flush_to_disk pair: a driver that
     * caches (a format's metadata) writes it down to its child here, a
     * protocol driver calls fdatasync; both halves were always called
     * together.  Not called with cache.no-flush=on.  Empty slot: the node
     * caches nothing, only its children are flushed.
     */
    int coroutine_fn (*bdrv_co_flush)(BlockDriverState *bs);

    /*
     * Status of the range starting at @offset, as bdrv_co_block_status()
     * documents.  io.c passes an @offset and @bytes aligned to
     * request_alignment, with @bytes > 0 and the range within the node
     * (except for the alignment of the last block).  The driver sets
     * *@pnum (> 0, may exceed @bytes; io.c clips) and, with
     * BDRV_BLOCK_OFFSET_VALID or BDRV_BLOCK_RAW, *@map and *@file.
     * Empty slot: a protocol node reports DATA | OFFSET_VALID mapping
     * onto itself, a format node RAW onto bs->file.
     */
    int coroutine_fn (*bdrv_co_block_status)(BlockDriverState *bs,
                                             bool want_zero, int64_t offset,
                                             int64_t bytes, int64_t *pnum,
                                             int64_t *map,
                                             BlockDriverState **file);
    /*
     * Resize to @offset bytes (>= 0, within BDRV_MAX_LENGTH).  io.c holds
     * a serialising request over the changed range and refreshes the
     * cached length afterwards.  Empty slot: resize is refused.
     */
    int coroutine_fn (*bdrv_co_truncate)(BlockDriverState *bs,
                                         int64_t offset, bool exact,
                                         PreallocMode prealloc,
                                         BdrvRequestFlags flags,
                                         Error **errp);
    /*
     * The node's length in bytes, or -errno.  Called at open and after
     * truncate; bdrv_getlength() returns the cached value.  Empty slot:
     * the length of bs->file.
     */
    int64_t coroutine_fn (*bdrv_co_getlength)(BlockDriverState *bs);

    /*
     * Adjust bs->bl after block.c has set the inherited values.  May set
     * request_alignment (a power of two) and must keep max_transfer a
     * multiple of it.
     */
    void (*bdrv_refresh_limits)(BlockDriverState *bs, Error **errp);
    /*
     * Set bs->filename (what query-named-block-nodes reports as "file"):
     * a plain name when the node's options say no more than that, else a
     * "json:{...}" pseudo-filename.  Called after open, with the children
     * already named.  Empty slot: the filename of bs->file.
     */
    void (*bdrv_refresh_filename)(BlockDriverState *bs);
    /*
     * Bytes the node takes on its storage, or -errno ("actual-size").
     * Empty slot: that of bs->file, or -ENOTSUP without one.
     */
    int64_t (*bdrv_get_allocated_file_size)(BlockDriverState *bs);
    /* Fill @bdi (zeroed by the caller); 0 or -errno.  Empty: -ENOTSUP. */
    int (*bdrv_get_info)(BlockDriverState *bs, BlockDriverInfo *bdi);

    /*
     * The permissions @bs needs on its child @c (role @role), and what it
     * shares, given that @bs's own parents need @perm and share @shared
     * on @bs.  For a new child @c is NULL.
     */
    /*
     * The node's cumulative permissions (what its parents need, what they
     * all share) change to @perm / @shared: take what that needs outside
     * the process (file locks), or fail with @errp set and nothing
     * changed.  Called again with the previous values to undo a refused
     * graph change (@errp NULL then).  Empty slot: nothing to do.
     */
    int (*bdrv_set_perm)(BlockDriverState *bs, uint64_t perm,
                         uint64_t shared, Error **errp);

    void (*bdrv_child_perm)(BlockDriverState *bs, BdrvChild *c,
                            BdrvChildRole role, uint64_t perm,
                            uint64_t shared, uint64_t *nperm,
                            uint64_t *nshared);

    /*
     * @event (BLKDBG_EVENT) has happened on this node: the layer above
     * fired it on its child edge to us, or io.c fired it on the node it
     * works on.  Called in the node's AioContext, in a coroutine or not;
     * it must not yield and cannot fail.  Empty slot: the event is
     * dropped; it is not passed on to children (as in QEMU).
     */
    void (*bdrv_debug_event)(BlockDriverState *bs, BlkdebugEvent event);

    /*
     * Creation (qblock-img create, drive-mirror targets).  @create_opts
     * lists the options the driver takes, NULL-terminated, in qemu-img's
     * print order; block/create.c adds the protocol's ones after them.
     * bdrv_create makes the image @filename from @opts (checked against
     * @create_opts; "size" is always set, in bytes) and returns 0 or
     * -errno with @errp set.  It runs in the main loop outside
     * coroutines and may poll (it uses the synchronous blk_ calls).  A
     * format driver creates its file with bdrv_create_file().  Empty
     * slot: the driver cannot create images ("Format driver '%s' does
     * not support image creation").
     */
    const BlockCreateOptDesc *create_opts;
    int (*bdrv_create)(BlockDriver *drv, const char *filename,
                       BlockCreateOpts *opts, Error **errp);

    /*
     * Consistency check of the image's metadata (qblock-img check): fill
     * @result (zeroed by the caller) with what was found, and repair
     * what @fix asks for (BDRV_FIX_LEAKS: clusters allocated but unused;
     * BDRV_FIX_ERRORS: corruptions the driver knows how to repair).
     * Returns 0 when the check could run (its findings are in @result),
     * or -errno when it could not.  The node is open read-write when
     * @fix is not 0, and nothing else is in flight on it.  Empty slot:
     * "This image format does not support checks" (-ENOTSUP).
     */
    int coroutine_fn (*bdrv_co_check)(BlockDriverState *bs,
                                      BdrvCheckResult *result,
                                      BdrvCheckMode fix);

    /*
     * The format-specific part of query-named-block-nodes' "image" and of
     * qblock-img info ("format-specific"): a new object the caller frees,
     * or NULL with @errp set on failure.  Empty slot: nothing to report.
     */
    ImageInfoSpecific *(*bdrv_get_specific_info)(BlockDriverState *bs,
                                                 Error **errp);

    /*
     * Make the image's metadata name @backing_file (NULL or "": none)
     * with format @backing_fmt (NULL: none named) as its backing file,
     * keeping everything else the metadata holds.  Only the metadata
     * changes: the caller attaches a backing node if it wants one.
     * The node is open read-write and drained; runs in the main loop
     * outside coroutines.  Updates bs->backing_file and
     * bs->backing_format.  0 or -errno.  Empty slot: -ENOTSUP.
     */
    int (*bdrv_change_backing_file)(BlockDriverState *bs,
                                    const char *backing_file,
                                    const char *backing_fmt);

    QLIST_ENTRY(BlockDriver) list;
};

/* What a parent of a node is, seen from the node (QEMU's BdrvChildClass). */
struct BdrvChildClass {
    /* A BlockDriverState parent (rather than a BlockBackend, a job). */
    bool parent_is_bds;
    /*
     * bdrv_replace_node() leaves the edge where it is: the parent uses
     * that very node, not whatever takes its place (a job's own edges).
     */
    bool stay_at_node;
    /* "node 'x'", "block device 'y'": for messages.  Caller frees. */
    char *(*get_parent_desc)(BdrvChild *c);
    /*
     * The child's node enters / leaves a drained section: the parent
     * stops / resumes sending requests.  drained_poll returns true while
     * the parent still has requests of its own in flight to the child.
     */
    void (*drained_begin)(BdrvChild *c);
    void (*drained_end)(BdrvChild *c);
    bool (*drained_poll)(BdrvChild *c);
};

/* The parent side of an edge whose parent is another node. */
extern const BdrvChildClass child_of_bds;

/*
 * An edge of the graph: @opaque (a BlockDriverState for child_of_bds, or
 * a BlockBackend, ...) uses @bs under the name @name.
 */
struct BdrvChild {
    BlockDriverState *bs;
    char *name;
    const BdrvChildClass *klass;
    BdrvChildRole role;
    void *opaque;
    /* Permissions taken on @bs, and what the parent shares. */
    uint64_t perm;
    uint64_t shared_perm;
    /* In the parent's bs->children (child_of_bds parents only). */
    QLIST_ENTRY(BdrvChild) next;
    /* In @bs->parents. */
    QLIST_ENTRY(BdrvChild) next_parent;
};

typedef enum {
    BDRV_TRACKED_READ,
    BDRV_TRACKED_WRITE,
    BDRV_TRACKED_DISCARD,
    BDRV_TRACKED_TRUNCATE,
} BdrvTrackedRequestType;

/*
 * A request in flight on a node (block/io.c).  [offset, offset + bytes)
 * is what the caller asked for; [overlap_offset, + overlap_bytes) is what
 * it may touch, widened to the alignment when it is serialising.
 */
typedef struct BdrvTrackedRequest {
    BlockDriverState *bs;
    int64_t offset;
    int64_t bytes;
    BdrvTrackedRequestType type;
    bool serialising;
    int64_t overlap_offset;
    int64_t overlap_bytes;
    QLIST_ENTRY(BdrvTrackedRequest) list;
    Coroutine *co;
    /* Requests waiting for this one to complete. */
    CoQueue wait_queue;
    /* The request this one is waiting for, if any. */
    struct BdrvTrackedRequest *waiting_for;
} BdrvTrackedRequest;

struct BlockDriverState {
    BlockDriver *drv;
    void *opaque;                /* drv->instance_size bytes */
    char node_name[32];
    /* See the bdrv_refresh_filename slot. */
    char filename[4096];
    int refcnt;
    int open_flags;              /* BDRV_O_* */
    bool read_only;
    /* What bdrv_set_perm was last told (0 and BLK_PERM_ALL at first). */
    uint64_t applied_perm;
    uint64_t applied_shared_perm;
    /* force-share=on: share every permission on the children. */
    bool force_share;
    /* The format was probed, not named (bdrv_open_blockdev_probed()). */
    bool probed;
    BlockdevDetectZeroesOptions detect_zeroes;
    /*
     * Cached length in bytes (see the bdrv_co_getlength slot), rounded up
     * to BDRV_SECTOR_SIZE as QEMU's.
     */
    int64_t total_bytes;
    BlockLimits bl;
    int supported_write_flags;
    int supported_zero_flags;

    /* Edges to children; bs->file is the primary one, if any. */
    QLIST_HEAD(, BdrvChild) children;
    BdrvChild *file;
    BdrvChild *backing;
    /*
     * The backing file the image's metadata names (a file name, maybe
     * relative to the image), and its format ("" when unnamed); what the
     * driver sets at open, for bdrv_open_backing().
     */
    char backing_file[4096];
    char backing_format[16];
    /* Edges from parents. */
    QLIST_HEAD(, BdrvChild) parents;

    /* Requests on this node (io.c), and how many are serialising. */
    QLIST_HEAD(, BdrvTrackedRequest) tracked_requests;
    unsigned int serialising_in_flight;
    /* Requests and other users that keep the node busy (drain waits). */
    unsigned int in_flight;
    /*
     * Write generation: bumped by every write, zero write, discard and
     * truncate that starts; a flush remembers the generation it covered,
     * and a flush with nothing newer to cover does nothing (so it does
     * not even yield), as QEMU's.
     */
    uint64_t write_gen;
    uint64_t flushed_gen;
    /* Depth of drained sections covering this node. */
    int quiesce_counter;

    QLIST_HEAD(, BdrvWriteHook) write_hooks;
    /*
     * Why the node may not be used by a new job, deleted or resized
     * (bdrv_op_block_all), newest first; Error objects owned by whoever
     * blocked the node.
     */
    GSList *op_blockers;
    /* Made by the block layer itself (a job's filter): hidden from the
     * user's view of a device (query-block), as QEMU's implicit nodes. */
    bool implicit;
    /* Dirty bitmaps, newest first (block/dirty-bitmap.c). */
    QLIST_HEAD(, BdrvDirtyBitmap) dirty_bitmaps;

    /* In the list of all nodes. */
    QTAILQ_ENTRY(BlockDriverState) node_list;
    /* In the list of nodes the monitor owns (blockdev-add). */
    QTAILQ_ENTRY(BlockDriverState) monitor_list;
    bool monitor_owned;
};

/*
 * The registered format whose bdrv_probe claims the first @buf_size bytes
 * of an image most strongly; raw when none does.
 */
BlockDriver *bdrv_probe_format(const uint8_t *buf, int buf_size,
                               const char *filename);

/*
 * Open a child of @parent from @ref (a definition opens a new node, a
 * reference names an existing one) and attach it as @child_name with
 * @role.  BDRV_CHILD_PRIMARY makes it bs->file.  Returns the edge or NULL.
 */
BdrvChild *bdrv_open_child(BlockdevRef *ref, BlockDriverState *parent,
                           const char *child_name, BdrvChildRole role,
                           Error **errp);

/* Attach existing @child_bs under @parent (takes a new reference). */
BdrvChild *bdrv_attach_child(BlockDriverState *parent,
                             BlockDriverState *child_bs,
                             const char *child_name, BdrvChildRole role,
                             Error **errp);

/*
 * Attach @child_bs to a parent that is not a node (a BlockBackend): the
 * edge takes over the caller's reference to @child_bs.
 */
BdrvChild *bdrv_root_attach_child(BlockDriverState *child_bs,
                                  const char *child_name,
                                  const BdrvChildClass *klass,
                                  BdrvChildRole role, uint64_t perm,
                                  uint64_t shared_perm, void *opaque,
                                  Error **errp);
/* Detach and drop the edge's reference to its node. */
void bdrv_root_unref_child(BdrvChild *child);

/*
 * Change what parent edge @c needs and shares of its node, and push the
 * change down the subtree.  On a conflict (QEMU's "Permission conflict on
 * node ..." or "Block node is read-only") nothing changes.
 */
bool bdrv_child_try_set_perm(BdrvChild *c, uint64_t perm, uint64_t shared,
                             Error **errp);
void bdrv_unref_child(BlockDriverState *parent, BdrvChild *child);

/*
 * QEMU's default child permissions: a filtered child (raw) passes its
 * parent's needs through; a metadata child is also read consistently
 * and, when the node is writable, written and resized, and nobody else
 * may write or resize it; a backing (COW) child is only read.
 */
void bdrv_default_perms(BlockDriverState *bs, BdrvChild *c,
                        BdrvChildRole role, uint64_t perm, uint64_t shared,
                        uint64_t *nperm, uint64_t *nshared);

/* Union of the parents' perm, intersection of what they share. */
void bdrv_get_cumulative_perm(BlockDriverState *bs, uint64_t *perm,
                              uint64_t *shared_perm);

/* BLK_PERM_* as QEMU names them in messages; the caller frees. */
char *bdrv_perm_names(uint64_t perm);

/* In-flight accounting: drain waits until the count is 0. */
void bdrv_inc_in_flight(BlockDriverState *bs);
void bdrv_dec_in_flight(BlockDriverState *bs);

/* Enter / leave a drained section without polling (io.c). */
void bdrv_do_drained_begin_quiesce(BlockDriverState *bs);
/* True while @bs or a parent still has requests in flight. */
bool bdrv_drain_poll(BlockDriverState *bs);

/*
 * A driver's length as the node reports it: QEMU counts nodes in 512-byte
 * sectors, so a length is rounded up to one (a 1000-byte file is a
 * 1024-byte node; the tail reads as zeroes).
 */
static inline int64_t bdrv_round_length(int64_t len)
{
    return ROUND_UP(len, (int64_t)BDRV_SECTOR_SIZE);
}

/* Recompute bs->filename (see the driver slot). */
void bdrv_refresh_filename(BlockDriverState *bs);

/* What "actual-size" reports; -errno if unknown. */
int64_t bdrv_get_allocated_file_size(BlockDriverState *bs);

/*
 * Give @bs its backing file at the end of its driver's bdrv_open: @ref
 * when the user named one (a null @ref means "none"), else, when @has_ref
 * is false, the file bs->backing_file names, opened read-only with the
 * format bs->backing_format (probed when empty), relative to the image's
 * directory.  Returns false with @errp set on failure.
 */
bool bdrv_open_backing(BlockDriverState *bs, bool has_ref,
                       BlockdevRefOrNull *ref, Error **errp);

/*
 * Tell @bs's driver that @event happened (its bdrv_debug_event slot);
 * nothing when @bs is NULL, closed or its driver has no such slot.
 * For error injection: see block/blkdebug.c.
 */
void bdrv_debug_event(BlockDriverState *bs, BlkdebugEvent event);

/* Fire @evt on the node of the child edge @child (may be NULL). */
#define BLKDBG_EVENT(child, evt)                          \
    do {                                                  \
        if (child) {                                      \
            bdrv_debug_event((child)->bs, evt);           \
        }                                                 \
    } while (0)

/* Register a driver (block.c). */
void bdrv_register(BlockDriver *bdrv);

extern BlockDriver bdrv_null_co;
extern BlockDriver bdrv_null_aio;
extern BlockDriver bdrv_raw;
extern BlockDriver bdrv_file;
extern BlockDriver bdrv_qcow2;
extern BlockDriver bdrv_blkdebug;
extern BlockDriver bdrv_nbd;

/*
 * The protocol driver whose scheme prefixes @filename ("nbd://..."), or
 * NULL for a plain file name (the file driver's).
 */
BlockDriver *bdrv_find_protocol(const char *filename);

/*
 * Create the protocol-level "image" @filename with @opts (size and the
 * protocol's options): through the protocol driver's create slot, or,
 * for protocols that cannot create (nbd), as QEMU does: open what is
 * there, grow it if it can and must be, and zero its first sector.
 */
int bdrv_create_protocol(const char *filename, BlockCreateOpts *opts,
                         Error **errp);

#endif /* QBLOCK_BLOCK_BLOCK_INT_H */
