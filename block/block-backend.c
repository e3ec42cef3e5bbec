/*
 * block-backend.c: BlockBackend, a user's handle on a root node.
 *
 * The backend is the parent of its root edge (klass child_root).  Each
 * request first waits while the node is drained (unless queuing is
 * disabled), then counts itself in blk->in_flight and in the node's
 * in_flight, checks the range against the node's length, and goes down
 * the graph through the root edge.  A drain of the root node sees the
 * backend's requests through child_root's drained_poll.
 *
 * Named backends are listed for query-block; unnamed ones (a tool's, a
 * job's) are not.
 */
#include "qemu/osdep.h"

#include "block/block_int.h"
#include "block/block-backend.h"
#include "qapi/error.h"
#include "trace.h"

struct BlockBackend {
    char *name;
    int refcnt;
    BdrvChild *root;
    uint64_t perm;
    uint64_t shared_perm;
    /* Requests of this backend in flight. */
    unsigned int in_flight;
    /* Depth of drained sections of the root node. */
    int quiesce_counter;
    bool disable_request_queuing;
    /* False: writethrough, every write is FUA (blk_set_enable_write_cache). */
    bool enable_write_cache;
    /* A block job's own handle on its node: not a user (bdrv_has_blk). */
    bool job_owned;
    /* Requests waiting for the drained section to end. */
    CoQueue queued_requests;
    /* blk_restart_queued_bh() is scheduled. */
    bool restart_pending;
    QTAILQ_ENTRY(BlockBackend) link;
};

/* Named backends, in creation order. */
static QTAILQ_HEAD(, BlockBackend) monitor_block_backends =
    QTAILQ_HEAD_INITIALIZER(monitor_block_backends);

static char *blk_root_get_parent_desc(BdrvChild *child)
{
    BlockBackend *blk = child->opaque;

    if (blk->name) {
        return g_strdup_printf("block device '%s'", blk->name);
    }
    return g_strdup("an unnamed block device");
}

static void blk_root_drained_begin(BdrvChild *child)
{
    BlockBackend *blk = child->opaque;

    blk->quiesce_counter++;
}

static void blk_restart_queued_bh(void *opaque)
{
    BlockBackend *blk = opaque;

    blk->restart_pending = false;
    if (!blk->quiesce_counter) {
        qemu_co_queue_restart_all(&blk->queued_requests);
    }
    blk_unref(blk);
}

/*
 * The queued requests resume from a bottom half, never from inside the
 * graph change that ended the drained section: bdrv_replace_node() moves
 * the backend off a drained node (which ends its section) before it
 * links it to the new node (which drains it again), and a request let
 * go in between would still find the old node at blk->root.
 */
static void blk_root_drained_end(BdrvChild *child)
{
    BlockBackend *blk = child->opaque;

    assert(blk->quiesce_counter > 0);
    if (--blk->quiesce_counter == 0 && !blk->restart_pending &&
        !qemu_co_queue_empty(&blk->queued_requests)) {
        blk->restart_pending = true;
        blk_ref(blk);
        aio_bh_schedule_oneshot(qemu_get_aio_context(),
                                blk_restart_queued_bh, blk);
    }
}

static bool blk_root_drained_poll(BdrvChild *child)
{
    BlockBackend *blk = child->opaque;

    return blk->in_flight > 0;
}

static const BdrvChildClass child_root = {
    .get_parent_desc = blk_root_get_parent_desc,
    .drained_begin   = blk_root_drained_begin,
    .drained_end     = blk_root_drained_end,
    .drained_poll    = blk_root_drained_poll,
};

BlockBackend *blk_new(AioContext *ctx, uint64_t perm, uint64_t shared_perm)
{
    BlockBackend *blk = g_new0(BlockBackend, 1);

    GLOBAL_STATE_CODE();
    blk->refcnt = 1;
    blk->perm = perm;
    blk->shared_perm = shared_perm;
    blk->enable_write_cache = true;
    qemu_co_queue_init(&blk->queued_requests);
    return blk;
}

void blk_set_enable_write_cache(BlockBackend *blk, bool wce)
{
    blk->enable_write_cache = wce;
}

bool blk_enable_write_cache(BlockBackend *blk)
{
    return blk->enable_write_cache;
}

void blk_ref(BlockBackend *blk)
{
    blk->refcnt++;
}

void blk_unref(BlockBackend *blk)
{
    GLOBAL_STATE_CODE();
    if (!blk) {
        return;
    }
    assert(blk->refcnt > 0);
    if (--blk->refcnt > 0) {
        return;
    }
    blk_drain(blk);
    blk_remove_bs(blk);
    if (blk->name) {
        QTAILQ_REMOVE(&monitor_block_backends, blk, link);
        g_free(blk->name);
    }
    assert(!blk->in_flight);
    g_free(blk);
}

int blk_insert_bs(BlockBackend *blk, BlockDriverState *bs, Error **errp)
{
    GLOBAL_STATE_CODE();
    assert(!blk->root);
    bdrv_ref(bs);
    blk->root = bdrv_root_attach_child(bs, "root", &child_root,
                                       BDRV_CHILD_FILTERED |
                                       BDRV_CHILD_PRIMARY,
                                       blk->perm, blk->shared_perm, blk,
                                       errp);
    if (!blk->root) {
        bdrv_unref(bs);
        return -EPERM;
    }
    return 0;
}

BlockBackend *blk_new_with_bs(BlockDriverState *bs, uint64_t perm,
                              uint64_t shared_perm, Error **errp)
{
    BlockBackend *blk = blk_new(bdrv_get_aio_context(bs), perm, shared_perm);

    if (blk_insert_bs(blk, bs, errp) < 0) {
        blk_unref(blk);
        return NULL;
    }
    return blk;
}

void blk_remove_bs(BlockBackend *blk)
{
    BdrvChild *root = blk->root;

    GLOBAL_STATE_CODE();
    if (!root) {
        return;
    }
    blk_drain(blk);
    blk->root = NULL;
    bdrv_root_unref_child(root);
}

bool bdrv_has_blk(BlockDriverState *bs)
{
    BdrvChild *c;

    QLIST_FOREACH(c, &bs->parents, next_parent) {
        if (c->klass == &child_root &&
            !((BlockBackend *)c->opaque)->job_owned) {
            return true;
        }
    }
    return false;
}

void blk_set_job_owned(BlockBackend *blk)
{
    blk->job_owned = true;
}

void blk_get_perm(BlockBackend *blk, uint64_t *perm, uint64_t *shared_perm)
{
    *perm = blk->perm;
    *shared_perm = blk->shared_perm;
}

int blk_set_perm(BlockBackend *blk, uint64_t perm, uint64_t shared_perm,
                 Error **errp)
{
    GLOBAL_STATE_CODE();
    if (blk->root &&
        !bdrv_child_try_set_perm(blk->root, perm, shared_perm, errp)) {
        return -EPERM;
    }
    blk->perm = perm;
    blk->shared_perm = shared_perm;
    return 0;
}

BlockDriverState *blk_bs(BlockBackend *blk)
{
    return blk->root ? blk->root->bs : NULL;
}

bool blk_set_name(BlockBackend *blk, const char *name, Error **errp)
{
    GLOBAL_STATE_CODE();
    if (name && *name) {
        if (blk_by_name(name)) {
            error_setg(errp, "Device with id '%s' already exists", name);
            return false;
        }
        if (bdrv_find_node(name)) {
            error_setg(errp, "Device name '%s' conflicts with an existing "
                       "node name", name);
            return false;
        }
    }
    if (blk->name) {
        QTAILQ_REMOVE(&monitor_block_backends, blk, link);
        g_free(blk->name);
        blk->name = NULL;
    }
    if (name && *name) {
        blk->name = g_strdup(name);
        QTAILQ_INSERT_TAIL(&monitor_block_backends, blk, link);
    }
    return true;
}

const char *blk_name(const BlockBackend *blk)
{
    return blk->name ? blk->name : "";
}

BlockBackend *blk_by_name(const char *name)
{
    BlockBackend *blk;

    QTAILQ_FOREACH(blk, &monitor_block_backends, link) {
        if (!strcmp(blk->name, name)) {
            return blk;
        }
    }
    return NULL;
}

BlockBackend *blk_next(BlockBackend *blk)
{
    return blk ? QTAILQ_NEXT(blk, link)
               : QTAILQ_FIRST(&monitor_block_backends);
}

void blk_set_disable_request_queuing(BlockBackend *blk, bool disable)
{
    blk->disable_request_queuing = disable;
}

unsigned int blk_in_flight(BlockBackend *blk)
{
    return blk->in_flight;
}

void blk_drain(BlockBackend *blk)
{
    BlockDriverState *bs = blk_bs(blk);

    if (bs) {
        bdrv_ref(bs);
        bdrv_drained_begin(bs);
    }
    /* Requests that failed early, before reaching a node, too. */
    if (qemu_in_coroutine()) {
        while (blk->in_flight > 0) {
            aio_co_schedule(qemu_get_aio_context(), qemu_coroutine_self());
            qemu_coroutine_yield();
        }
    } else {
        AIO_WAIT_WHILE(qemu_get_aio_context(), blk->in_flight > 0);
    }
    if (bs) {
        bdrv_drained_end(bs);
        bdrv_unref(bs);
    }
}

int64_t blk_getlength(BlockBackend *blk)
{
    if (!blk_bs(blk)) {
        return -ENOMEDIUM;
    }
    return bdrv_getlength(blk_bs(blk));
}

/*
 * Requests
 */

static void coroutine_fn blk_wait_while_drained(BlockBackend *blk)
{
    /*
     * A queued request is not in flight: the drain that queued it waits
     * for blk->in_flight to reach 0.
     */
    while (blk->quiesce_counter && !blk->disable_request_queuing) {
        trace_blk_wait_while_drained(blk);
        blk->in_flight--;
        aio_wait_kick();
        qemu_co_queue_wait(&blk->queued_requests, NULL);
        blk->in_flight++;
    }
}

/* QEMU's blk_check_byte_request(): the range must lie within the node. */
static int blk_check_byte_request(BlockBackend *blk, int64_t offset,
                                  int64_t bytes)
{
    int64_t len;

    if (bytes < 0) {
        return -EIO;
    }
    if (!blk_bs(blk)) {
        return -ENOMEDIUM;
    }
    if (offset < 0) {
        return -EIO;
    }
    len = blk_getlength(blk);
    if (len < 0) {
        return len;
    }
    if (offset > len || len - offset < bytes) {
        return -EIO;
    }
    return 0;
}

typedef enum {
    BLK_OP_READ,
    BLK_OP_WRITE,
    BLK_OP_ZERO,
    BLK_OP_DISCARD,
    BLK_OP_FLUSH,
} BlkOp;

static int coroutine_fn blk_co_do_request(BlockBackend *blk, BlkOp op,
                                          int64_t offset, int64_t bytes,
                                          QEMUIOVector *qiov,
                                          BdrvRequestFlags flags)
{
    BlockDriverState *bs;
    int ret;

    blk->in_flight++;
    blk_wait_while_drained(blk);
    if (op == BLK_OP_FLUSH) {
        ret = blk_bs(blk) ? 0 : -ENOMEDIUM;
    } else {
        ret = blk_check_byte_request(blk, offset, bytes);
    }
    if (ret < 0) {
        goto out;
    }
    bs = blk_bs(blk);
    if (!blk->enable_write_cache && (op == BLK_OP_WRITE || op == BLK_OP_ZERO)) {
        /* Writethrough: io.c emulates FUA with a flush where needed. */
        flags |= BDRV_REQ_FUA;
    }
    bdrv_inc_in_flight(bs);
    switch (op) {
    case BLK_OP_READ:
        ret = bdrv_co_preadv(blk->root, offset, bytes, qiov, flags);
        break;
    case BLK_OP_WRITE:
        ret = bdrv_co_pwritev(blk->root, offset, bytes, qiov, flags);
        break;
    case BLK_OP_ZERO:
        ret = bdrv_co_pwrite_zeroes_root(blk->root, offset, bytes, flags);
        break;
    case BLK_OP_DISCARD:
        ret = bdrv_co_pdiscard(blk->root, offset, bytes);
        break;
    case BLK_OP_FLUSH:
        ret = bdrv_co_flush(bs);
        break;
    }
    bdrv_dec_in_flight(bs);
out:
    blk->in_flight--;
    aio_wait_kick();
    return ret;
}

int coroutine_fn blk_co_preadv(BlockBackend *blk, int64_t offset,
                               int64_t bytes, QEMUIOVector *qiov,
                               BdrvRequestFlags flags)
{
    return blk_co_do_request(blk, BLK_OP_READ, offset, bytes, qiov, flags);
}

int coroutine_fn blk_co_pwritev(BlockBackend *blk, int64_t offset,
                                int64_t bytes, QEMUIOVector *qiov,
                                BdrvRequestFlags flags)
{
    return blk_co_do_request(blk, BLK_OP_WRITE, offset, bytes, qiov, flags);
}

int coroutine_fn blk_co_pwrite_zeroes(BlockBackend *blk, int64_t offset,
                                      int64_t bytes, BdrvRequestFlags flags)
{
    return blk_co_do_request(blk, BLK_OP_ZERO, offset, bytes, NULL, flags);
}

int coroutine_fn blk_co_pdiscard(BlockBackend *blk, int64_t offset,
                                 int64_t bytes)
{
    return blk_co_do_request(blk, BLK_OP_DISCARD, offset, bytes, NULL, 0);
}

int coroutine_fn blk_co_flush(BlockBackend *blk)
{
    return blk_co_do_request(blk, BLK_OP_FLUSH, 0, 0, NULL, 0);
}

int coroutine_fn blk_co_truncate(BlockBackend *blk, int64_t offset,
                                 bool exact, PreallocMode prealloc,
                                 BdrvRequestFlags flags, Error **errp)
{
    int ret;

    if (!blk_bs(blk)) {
        error_setg(errp, "No medium inserted");
        return -ENOMEDIUM;
    }
    /* Not queued while drained: resize runs inside a drained section. */
    blk->in_flight++;
    ret = bdrv_co_truncate(blk->root, offset, exact, prealloc, flags, errp);
    blk->in_flight--;
    aio_wait_kick();
    return ret;
}

/*
 * Synchronous forms
 */

typedef struct BlkSyncCo {
    BlockBackend *blk;
    BlkOp op;
    int64_t offset;
    int64_t bytes;
    QEMUIOVector *qiov;
    BdrvRequestFlags flags;
    bool exact;
    PreallocMode prealloc;
    Error **errp;
    bool truncate;
    int ret;
    bool done;
} BlkSyncCo;

static void coroutine_fn blk_sync_entry(void *opaque)
{
    BlkSyncCo *s = opaque;

    if (s->truncate) {
        s->ret = blk_co_truncate(s->blk, s->offset, s->exact, s->prealloc,
                                 s->flags, s->errp);
    } else {
        s->ret = blk_co_do_request(s->blk, s->op, s->offset, s->bytes,
                                   s->qiov, s->flags);
    }
    s->done = true;
}

static int blk_sync(BlkSyncCo *s)
{
    bdrv_poll_co(blk_sync_entry, s, &s->done);
    return s->ret;
}

int blk_pread(BlockBackend *blk, int64_t offset, int64_t bytes, void *buf,
              BdrvRequestFlags flags)
{
    QEMUIOVector qiov;
    BlkSyncCo s = { .blk = blk, .op = BLK_OP_READ, .offset = offset,
                    .bytes = bytes, .qiov = &qiov, .flags = flags };

    if (bytes < 0) {
        return -EIO;
    }
    qemu_iovec_init_buf(&qiov, buf, bytes);
    return blk_sync(&s);
}

int blk_pwrite(BlockBackend *blk, int64_t offset, int64_t bytes,
               const void *buf, BdrvRequestFlags flags)
{
    QEMUIOVector qiov;
    BlkSyncCo s = { .blk = blk, .op = BLK_OP_WRITE, .offset = offset,
                    .bytes = bytes, .qiov = &qiov, .flags = flags };

    if (bytes < 0) {
        return -EIO;
    }
    qemu_iovec_init_buf(&qiov, (void *)buf, bytes);
    return blk_sync(&s);
}

int blk_pwrite_zeroes(BlockBackend *blk, int64_t offset, int64_t bytes,
                      BdrvRequestFlags flags)
{
    BlkSyncCo s = { .blk = blk, .op = BLK_OP_ZERO, .offset = offset,
                    .bytes = bytes, .flags = flags };

    return blk_sync(&s);
}

int blk_pdiscard(BlockBackend *blk, int64_t offset, int64_t bytes)
{
    BlkSyncCo s = { .blk = blk, .op = BLK_OP_DISCARD, .offset = offset,
                    .bytes = bytes };

    return blk_sync(&s);
}

int blk_flush(BlockBackend *blk)
{
    BlkSyncCo s = { .blk = blk, .op = BLK_OP_FLUSH };

    return blk_sync(&s);
}

int blk_truncate(BlockBackend *blk, int64_t offset, bool exact,
                 PreallocMode prealloc, BdrvRequestFlags flags,
                 Error **errp)
{
    BlkSyncCo s = { .blk = blk, .truncate = true, .offset = offset,
                    .exact = exact, .prealloc = prealloc, .flags = flags,
                    .errp = errp };

    return blk_sync(&s);
}
