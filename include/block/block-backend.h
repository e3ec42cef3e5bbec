/*
 * block-backend.h: BlockBackend, the handle through which users outside
 * the graph (a device, an export, a job, a tool) do I/O on a node.
 *
 * A BlockBackend holds at most one root node, through a BdrvChild whose
 * parent is the backend.  It checks each request against the node's
 * length (-EIO beyond the end, as QEMU), counts its requests in flight,
 * and queues new requests while its node is drained.
 *
 * Threads: main loop thread only, like the rest of the block layer.
 */
#ifndef QBLOCK_BLOCK_BLOCK_BACKEND_H
#define QBLOCK_BLOCK_BLOCK_BACKEND_H

#include "block/block.h"

/*
 * A new backend with no node and one reference.  @perm / @shared_perm
 * are the BLK_PERM_* the backend will take on its node and share.
 */
BlockBackend *blk_new(AioContext *ctx, uint64_t perm, uint64_t shared_perm);
void blk_ref(BlockBackend *blk);
/* Drop a reference; the last drains, detaches the node and frees. */
void blk_unref(BlockBackend *blk);

/*
 * Attach @bs as the root node (takes a new reference to @bs).  Fails if
 * the permissions cannot be taken.
 */
int blk_insert_bs(BlockBackend *blk, BlockDriverState *bs, Error **errp);

/*
 * blk_new() in @bs's context and blk_insert_bs() of @bs, as one step:
 * the new BlockBackend, or NULL and @errp when the permissions cannot be
 * taken.  The caller's reference to @bs stays the caller's.
 */
BlockBackend *blk_new_with_bs(BlockDriverState *bs, uint64_t perm,
                              uint64_t shared_perm, Error **errp);
/* Detach the root node, after draining it. */
void blk_remove_bs(BlockBackend *blk);
BlockDriverState *blk_bs(BlockBackend *blk);

/*
 * The permissions @blk takes on its root node and shares with the node's
 * other users.  blk_set_perm() changes them at once when a node is
 * inserted (the monitor's qemu-io takes write permission only for a
 * command that writes); -EPERM with QEMU's message on a conflict, and
 * then nothing changes.
 */
void blk_get_perm(BlockBackend *blk, uint64_t *perm, uint64_t *shared_perm);
int blk_set_perm(BlockBackend *blk, uint64_t perm, uint64_t shared_perm,
                 Error **errp);
/*
 * True if a BlockBackend has @bs as its root node, not counting the one
 * a block job holds on the node it was started on (QEMU's blockdev-del
 * then reports the job's blocker instead of "in use").
 */
bool bdrv_has_blk(BlockDriverState *bs);
void blk_set_job_owned(BlockBackend *blk);

/*
 * A name makes the backend visible to query-block; NULL or "" removes it.
 * Names are unique among backends.
 */
bool blk_set_name(BlockBackend *blk, const char *name, Error **errp);
const char *blk_name(const BlockBackend *blk);
BlockBackend *blk_by_name(const char *name);
/* Iterate over named backends (NULL starts, NULL ends). */
BlockBackend *blk_next(BlockBackend *blk);

/*
 * Queue new requests while the node is drained (the default); a user
 * that must keep going through a drain (a job's own I/O) disables it.
 */
void blk_set_disable_request_queuing(BlockBackend *blk, bool disable);

/*
 * Whether writes through @blk may stay in volatile caches (true, the
 * default: writeback) or complete only once stable (false: writethrough,
 * each write and zero write is sent with BDRV_REQ_FUA), as QEMU's
 * blk_set_enable_write_cache().
 */
void blk_set_enable_write_cache(BlockBackend *blk, bool wce);
bool blk_enable_write_cache(BlockBackend *blk);

/*
 * Requests.  Beyond the node's length, or with no node, they fail with
 * -EIO (-ENOMEDIUM without a node) before reaching the graph.
 */
int coroutine_fn blk_co_preadv(BlockBackend *blk, int64_t offset,
                               int64_t bytes, QEMUIOVector *qiov,
                               BdrvRequestFlags flags);
int coroutine_fn blk_co_pwritev(BlockBackend *blk, int64_t offset,
                                int64_t bytes, QEMUIOVector *qiov,
                                BdrvRequestFlags flags);
int coroutine_fn blk_co_pwrite_zeroes(BlockBackend *blk, int64_t offset,
                                      int64_t bytes, BdrvRequestFlags flags);
int coroutine_fn blk_co_pdiscard(BlockBackend *blk, int64_t offset,
                                 int64_t bytes);
int coroutine_fn blk_co_flush(BlockBackend *blk);
int coroutine_fn blk_co_truncate(BlockBackend *blk, int64_t offset,
                                 bool exact, PreallocMode prealloc,
                                 BdrvRequestFlags flags, Error **errp);

/* Length of the root node in bytes, -ENOMEDIUM without one. */
int64_t blk_getlength(BlockBackend *blk);

/*
 * Synchronous forms (outside coroutines they run the request in a new
 * coroutine and poll until it completes).  Argument order as QEMU 7.2.
 */
int blk_pread(BlockBackend *blk, int64_t offset, int64_t bytes, void *buf,
              BdrvRequestFlags flags);
int blk_pwrite(BlockBackend *blk, int64_t offset, int64_t bytes,
               const void *buf, BdrvRequestFlags flags);
int blk_pwrite_zeroes(BlockBackend *blk, int64_t offset, int64_t bytes,
                      BdrvRequestFlags flags);
int blk_pdiscard(BlockBackend *blk, int64_t offset, int64_t bytes);
int blk_flush(BlockBackend *blk);
int blk_truncate(BlockBackend *blk, int64_t offset, bool exact,
                 PreallocMode prealloc, BdrvRequestFlags flags,
                 Error **errp);

/* Wait until every request of this backend has completed. */
void blk_drain(BlockBackend *blk);
/* Requests of this backend in flight now. */
unsigned int blk_in_flight(BlockBackend *blk);

#endif /* QBLOCK_BLOCK_BLOCK_BACKEND_H */
