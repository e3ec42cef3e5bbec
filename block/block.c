/*
 * block.c: the graph of block nodes.
 *
 * A node (BlockDriverState) is created from BlockdevOptions by
 * bdrv_open_blockdev(): the generic options (node-name, read-only, cache,
 * discard, detect-zeroes) become fields and BDRV_O_* flags, then the
 * driver's bdrv_open reads its own branch of the options and opens its
 * children with bdrv_open_child().  Every node has a name: the user's, or
 * one made up as QEMU does ("#block" + a counter + two random digits),
 * which the user cannot choose because '#' is not allowed in names.
 *
 * Edges: a BdrvChild links a parent to a child node.  The parent is
 * another node (klass child_of_bds, and the edge is in parent->children)
 * or something outside the graph, a BlockBackend (block-backend.c).  Each
 * edge is also in child->parents, so a node can tell its parents that it
 * is being drained.
 *
 * Lifetime invariants:
 *  - bs->refcnt counts the edges to bs plus explicit bdrv_ref()s (the
 *    monitor's, for nodes made by blockdev-add); the last bdrv_unref()
 *    drains the node, calls the driver's bdrv_close, drops the edges to
 *    its children (which may free them in turn) and frees it.
 *  - a node with refcnt > 0 is in the list of all nodes and findable by
 *    name; a name is never reused while its node lives.
 *
 * Example: blockdev-add {driver: raw, node-name: disk, file: {driver:
 * file, filename: a.img}} creates the "raw" node (refcnt 1, the
 * monitor's), whose raw_open() opens the inline "file" node through
 * bdrv_open_child(): that node gets an automatic name and refcnt 1 (the
 * edge's).  blockdev-del of "disk" drops the monitor's reference, closes
 * "disk", drops the edge, and so closes the file node too.
 */
#include "qemu/osdep.h"

#include "block/block_int.h"
#include "block/block-backend.h"
#include "block/dirty-bitmap.h"
#include "qapi/error.h"
#include "qemu/id.h"
#include "qapi/visitor.h"
#include "qapi-visit.h"
#include "trace.h"

static QLIST_HEAD(, BlockDriver) bdrv_drivers =
    QLIST_HEAD_INITIALIZER(bdrv_drivers);

static QTAILQ_HEAD(, BlockDriverState) all_bdrv_states =
    QTAILQ_HEAD_INITIALIZER(all_bdrv_states);

void bdrv_register(BlockDriver *bdrv)
{
    QLIST_INSERT_HEAD(&bdrv_drivers, bdrv, list);
}

void bdrv_init(void)
{
    static bool done;

    if (done) {
        return;
    }
    done = true;
    bdrv_register(&bdrv_null_co);
    bdrv_register(&bdrv_null_aio);
    bdrv_register(&bdrv_raw);
    bdrv_register(&bdrv_file);
    bdrv_register(&bdrv_qcow2);
    bdrv_register(&bdrv_blkdebug);
    bdrv_register(&bdrv_nbd);
}

BlockDriver *bdrv_find_format(const char *format_name)
{
    BlockDriver *drv;

    bdrv_init();
    QLIST_FOREACH(drv, &bdrv_drivers, list) {
        if (!strcmp(drv->format_name, format_name)) {
            return drv;
        }
    }
    return NULL;
}

bool bdrv_format_is_protocol(const char *format_name)
{
    BlockDriver *drv = bdrv_find_format(format_name);

    return drv && drv->protocol_name;
}

/*
 * Names
 */


static bool bdrv_assign_node_name(BlockDriverState *bs, const char *name,
                                  Error **errp)
{
    static uint64_t counter;
    g_autofree char *gen = NULL;

    if (!name) {
        gen = g_strdup_printf("#block%" PRIu64 "%02d", counter++,
                              g_random_int_range(0, 100));
        name = gen;
    } else if (!id_wellformed(name)) {
        error_setg(errp, "Invalid node-name: '%s'", name);
        return false;
    }
    if (blk_by_name(name)) {
        error_setg(errp, "node-name=%s is conflicting with a device id",
                   name);
        return false;
    }
    if (bdrv_find_node(name)) {
        error_setg(errp, "Duplicate nodes with node-name='%s'", name);
        return false;
    }
    if (strlen(name) >= sizeof(bs->node_name)) {
        error_setg(errp, "Node name too long");
        return false;
    }
    g_strlcpy(bs->node_name, name, sizeof(bs->node_name));
    return true;
}

BlockDriverState *bdrv_find_node(const char *node_name)
{
    BlockDriverState *bs;

    QTAILQ_FOREACH(bs, &all_bdrv_states, node_list) {
        if (!strcmp(bs->node_name, node_name)) {
            return bs;
        }
    }
    return NULL;
}

BlockDriverState *bdrv_next_node(BlockDriverState *bs)
{
    return bs ? QTAILQ_NEXT(bs, node_list) : QTAILQ_FIRST(&all_bdrv_states);
}

const char *bdrv_get_node_name(const BlockDriverState *bs)
{
    return bs->node_name;
}

const char *bdrv_get_format_name(const BlockDriverState *bs)
{
    return bs->drv ? bs->drv->format_name : NULL;
}

const char *bdrv_get_filename(const BlockDriverState *bs)
{
    return bs->filename;
}

const char *bdrv_get_backing_file(const BlockDriverState *bs)
{
    return bs->backing_file;
}

const char *bdrv_get_backing_format(const BlockDriverState *bs)
{
    return bs->backing_format;
}

bool bdrv_is_read_only(BlockDriverState *bs)
{
    return bs->read_only;
}

AioContext *bdrv_get_aio_context(BlockDriverState *bs)
{
    return qemu_get_aio_context();
}

/*
 * Limits and length
 */

void bdrv_refresh_limits(BlockDriverState *bs, Error **errp)
{
    uint32_t align = bs->bl.request_alignment;
    Error *local_err = NULL;

    memset(&bs->bl, 0, sizeof(bs->bl));
    bs->bl.request_alignment = align ? align : 1;
    bs->bl.min_mem_alignment = 1;
    bs->bl.opt_mem_alignment = qemu_real_host_page_size();

    if (bs->file) {
        BlockLimits *cl = &bs->file->bs->bl;

        bs->bl.max_transfer = cl->max_transfer;
        bs->bl.opt_transfer = cl->opt_transfer;
        bs->bl.min_mem_alignment = cl->min_mem_alignment;
        bs->bl.opt_mem_alignment = cl->opt_mem_alignment;
    }

    if (bs->drv && bs->drv->bdrv_refresh_limits) {
        bs->drv->bdrv_refresh_limits(bs, &local_err);
        if (local_err) {
            error_propagate(errp, local_err);
            return;
        }
    }

    assert(is_power_of_2(bs->bl.request_alignment));
    assert(QEMU_IS_ALIGNED(bs->bl.max_transfer,
                           bs->bl.request_alignment));
}

typedef struct GetLengthCo {
    BlockDriverState *bs;
    int64_t ret;
    bool done;
} GetLengthCo;

static void coroutine_fn bdrv_getlength_entry(void *opaque)
{
    GetLengthCo *s = opaque;

    s->ret = bdrv_co_getlength(s->bs);
    s->done = true;
}

/* Ask the driver for the length and cache it; 0 or -errno. */
static int bdrv_refresh_total_bytes(BlockDriverState *bs)
{
    GetLengthCo s = { .bs = bs };

    bdrv_poll_co(bdrv_getlength_entry, &s, &s.done);
    if (s.ret < 0) {
        return s.ret;
    }
    bs->total_bytes = bdrv_round_length(s.ret);
    return 0;
}

int64_t bdrv_getlength(BlockDriverState *bs)
{
    if (!bs->drv) {
        return -ENOMEDIUM;
    }
    return bs->total_bytes;
}

int bdrv_get_info(BlockDriverState *bs, BlockDriverInfo *bdi)
{
    memset(bdi, 0, sizeof(*bdi));
    if (!bs->drv) {
        return -ENOMEDIUM;
    }
    if (!bs->drv->bdrv_get_info) {
        return -ENOTSUP;
    }
    return bs->drv->bdrv_get_info(bs, bdi);
}

/*
 * Edge classes
 */

static char *bdrv_child_cb_get_parent_desc(BdrvChild *c)
{
    BlockDriverState *parent = c->opaque;

    return g_strdup_printf("node '%s'", bdrv_get_node_name(parent));
}

static void bdrv_child_cb_drained_begin(BdrvChild *c)
{
    bdrv_do_drained_begin_quiesce(c->opaque);
}

static void bdrv_child_cb_drained_end(BdrvChild *c)
{
    /* bdrv_drained_end() never polls, so it is safe from any context. */
    bdrv_drained_end(c->opaque);
}

static bool bdrv_child_cb_drained_poll(BdrvChild *c)
{
    return bdrv_drain_poll(c->opaque);
}

const BdrvChildClass child_of_bds = {
    .parent_is_bds   = true,
    .get_parent_desc = bdrv_child_cb_get_parent_desc,
    .drained_begin   = bdrv_child_cb_drained_begin,
    .drained_end     = bdrv_child_cb_drained_end,
    .drained_poll    = bdrv_child_cb_drained_poll,
};

/*
 * Permissions
 *
 * Each edge carries what its parent needs of the child node (perm) and
 * what it lets others do (shared_perm).  A node's cumulative permissions
 * are the union of its parents' perm and the intersection of their
 * shared_perm; its driver turns them into the perms of its own child
 * edges (bdrv_child_perm), and so on down the graph.  Any change (an edge
 * added or removed) is checked and pushed down by bdrv_refresh_perms():
 * two parents conflict when one needs what another does not share.  On
 * a conflict every edge changed so far is restored, so the graph is
 * never left half updated.
 */

static const struct {
    uint64_t perm;
    const char *name;
} bdrv_perm_list[] = {
    { BLK_PERM_CONSISTENT_READ, "consistent read" },
    { BLK_PERM_WRITE,           "write" },
    { BLK_PERM_WRITE_UNCHANGED, "write unchanged" },
    { BLK_PERM_RESIZE,          "resize" },
    { BLK_PERM_GRAPH_MOD,       "change children" },
};

/* "consistent read, write": QEMU's names, in QEMU's order. */
char *bdrv_perm_names(uint64_t perm)
{
    GString *names = g_string_new(NULL);
    size_t i;

    for (i = 0; i < ARRAY_SIZE(bdrv_perm_list); i++) {
        if (perm & bdrv_perm_list[i].perm) {
            if (names->len) {
                g_string_append(names, ", ");
            }
            g_string_append(names, bdrv_perm_list[i].name);
        }
    }
    return g_string_free(names, false);
}

void bdrv_get_cumulative_perm(BlockDriverState *bs, uint64_t *perm,
                              uint64_t *shared_perm)
{
    BdrvChild *c;

    *perm = 0;
    *shared_perm = BLK_PERM_ALL;
    QLIST_FOREACH(c, &bs->parents, next_parent) {
        *perm |= c->perm;
        *shared_perm &= c->shared_perm;
    }
}

static char *bdrv_child_user_desc(BdrvChild *c)
{
    return c->klass->get_parent_desc(c);
}

/* False (with QEMU's message) if @b needs what @a does not share. */
static bool bdrv_a_allow_b(BdrvChild *a, BdrvChild *b, Error **errp)
{
    g_autofree char *a_user = NULL;
    g_autofree char *b_user = NULL;
    g_autofree char *names = NULL;

    if (!(b->perm & ~a->shared_perm)) {
        return true;
    }
    a_user = bdrv_child_user_desc(a);
    b_user = bdrv_child_user_desc(b);
    names = bdrv_perm_names(b->perm & ~a->shared_perm);
    error_setg(errp, "Permission conflict on node '%s': permissions '%s' "
               "are both required by %s (uses node '%s' as '%s' child) "
               "and unshared by %s (uses node '%s' as '%s' child).",
               bdrv_get_node_name(b->bs), names, b_user,
               bdrv_get_node_name(b->bs), b->name, a_user,
               bdrv_get_node_name(a->bs), a->name);
    return false;
}

static bool bdrv_parent_perms_conflict(BlockDriverState *bs, Error **errp)
{
    BdrvChild *a, *b;

    QLIST_FOREACH(a, &bs->parents, next_parent) {
        QLIST_FOREACH(b, &bs->parents, next_parent) {
            if (a != b && !bdrv_a_allow_b(a, b, errp)) {
                return true;
            }
        }
    }
    return false;
}

/* The perms @bs needs on (new or existing) child edge @c of role @role. */
static void bdrv_child_perm(BlockDriverState *bs, BdrvChild *c,
                            BdrvChildRole role, uint64_t perm,
                            uint64_t shared, uint64_t *nperm,
                            uint64_t *nshared)
{
    if (bs->drv && bs->drv->bdrv_child_perm) {
        bs->drv->bdrv_child_perm(bs, c, role, perm, shared, nperm, nshared);
    } else {
        bdrv_default_perms(bs, c, role, perm, shared, nperm, nshared);
    }
    if (bs->force_share) {
        *nshared = BLK_PERM_ALL;
    }
}

void bdrv_default_perms(BlockDriverState *bs, BdrvChild *c,
                        BdrvChildRole role, uint64_t perm, uint64_t shared,
                        uint64_t *nperm, uint64_t *nshared)
{
    /* What the parent's users do passes through; the rest is shared. */
    *nperm = perm & DEFAULT_PERM_PASSTHROUGH;
    *nshared = (shared & DEFAULT_PERM_PASSTHROUGH) | DEFAULT_PERM_UNCHANGED;

    if (role & BDRV_CHILD_FILTERED) {
        return;
    }
    if (role & BDRV_CHILD_COW) {
        /* A backing file is only read, and others may do as they like. */
        *nperm &= BLK_PERM_CONSISTENT_READ;
        *nshared |= BLK_PERM_WRITE | BLK_PERM_RESIZE;
        return;
    }
    if (role & BDRV_CHILD_METADATA) {
        /* Metadata must read consistently and is written when writable. */
        *nperm |= BLK_PERM_CONSISTENT_READ;
        if (!bs->read_only) {
            *nperm |= BLK_PERM_WRITE | BLK_PERM_RESIZE;
        }
        /* Nobody else may change our metadata under us. */
        *nshared &= ~(BLK_PERM_WRITE | BLK_PERM_RESIZE);
    }
}

/* An edge's permissions before a change, to undo it. */
typedef struct PermBackup {
    BdrvChild *c;
    uint64_t perm;
    uint64_t shared_perm;
} PermBackup;

/* A node's applied permissions (bdrv_set_perm) before a change. */
typedef struct NodePermBackup {
    BlockDriverState *bs;
    uint64_t perm;
    uint64_t shared_perm;
} NodePermBackup;

typedef struct PermChange {
    GArray *edges;
    GArray *nodes;
} PermChange;

/* Tell the driver the node's new cumulative permissions (file locks). */
static bool bdrv_apply_perm(BlockDriverState *bs, uint64_t perm,
                            uint64_t shared, PermChange *change,
                            Error **errp)
{
    NodePermBackup b = { bs, bs->applied_perm, bs->applied_shared_perm };

    if (!bs->drv || !bs->drv->bdrv_set_perm ||
        (perm == bs->applied_perm && shared == bs->applied_shared_perm)) {
        return true;
    }
    if (bs->drv->bdrv_set_perm(bs, perm, shared, errp) < 0) {
        return false;
    }
    g_array_append_val(change->nodes, b);
    bs->applied_perm = perm;
    bs->applied_shared_perm = shared;
    return true;
}

static bool bdrv_refresh_perms_rec(BlockDriverState *bs, PermChange *change,
                                   Error **errp)
{
    uint64_t perm, shared;
    BdrvChild *c;

    if (bdrv_parent_perms_conflict(bs, errp)) {
        return false;
    }
    bdrv_get_cumulative_perm(bs, &perm, &shared);
    if ((perm & BLK_PERM_WRITE) && bs->read_only) {
        error_setg(errp, "Block node is read-only");
        return false;
    }
    if (!bdrv_apply_perm(bs, perm, shared, change, errp)) {
        return false;
    }
    QLIST_FOREACH(c, &bs->children, next) {
        PermBackup b = { c, c->perm, c->shared_perm };
        uint64_t nperm, nshared;

        bdrv_child_perm(bs, c, c->role, perm, shared, &nperm, &nshared);
        if (nperm == c->perm && nshared == c->shared_perm) {
            continue;
        }
        g_array_append_val(change->edges, b);
        c->perm = nperm;
        c->shared_perm = nshared;
        if (!bdrv_refresh_perms_rec(c->bs, change, errp)) {
            return false;
        }
    }
    return true;
}

/*
 * Check the parents of @bs against each other and push the result down
 * the subtree; on failure restore every edge and node below @bs.
 */
static bool bdrv_refresh_perms(BlockDriverState *bs, Error **errp)
{
    PermChange change = {
        .edges = g_array_new(false, false, sizeof(PermBackup)),
        .nodes = g_array_new(false, false, sizeof(NodePermBackup)),
    };
    bool ok;
    guint i;

    ok = bdrv_refresh_perms_rec(bs, &change, errp);
    if (!ok) {
        for (i = change.edges->len; i > 0; i--) {
            PermBackup *b = &g_array_index(change.edges, PermBackup, i - 1);

            b->c->perm = b->perm;
            b->c->shared_perm = b->shared_perm;
        }
        for (i = change.nodes->len; i > 0; i--) {
            NodePermBackup *b = &g_array_index(change.nodes, NodePermBackup,
                                               i - 1);

            /* Going back to what was held before cannot conflict. */
            b->bs->drv->bdrv_set_perm(b->bs, b->perm, b->shared_perm, NULL);
            b->bs->applied_perm = b->perm;
            b->bs->applied_shared_perm = b->shared_perm;
        }
    }
    g_array_free(change.edges, true);
    g_array_free(change.nodes, true);
    return ok;
}

/*
 * Edges
 */

/* Link @child into its node's parents, or undo that. */
static void bdrv_child_link(BdrvChild *child)
{
    BlockDriverState *child_bs = child->bs;

    QLIST_INSERT_HEAD(&child_bs->parents, child, next_parent);
    /*
     * A new parent of a drained node is drained as well.  Parents are
     * told once, when the node's first drained section begins.
     */
    if (child_bs->quiesce_counter && child->klass->drained_begin) {
        child->klass->drained_begin(child);
    }
}

static void bdrv_child_unlink(BdrvChild *child)
{
    if (child->bs->quiesce_counter && child->klass->drained_end) {
        child->klass->drained_end(child);
    }
    QLIST_REMOVE(child, next_parent);
}

static void bdrv_child_free(BdrvChild *child)
{
    g_free(child->name);
    g_free(child);
}

BdrvChild *bdrv_root_attach_child(BlockDriverState *child_bs,
                                  const char *child_name,
                                  const BdrvChildClass *klass,
                                  BdrvChildRole role, uint64_t perm,
                                  uint64_t shared_perm, void *opaque,
                                  Error **errp)
{
    BdrvChild *child;

    GLOBAL_STATE_CODE();
    child = g_new0(BdrvChild, 1);
    child->bs = child_bs;
    child->name = g_strdup(child_name);
    child->klass = klass;
    child->role = role;
    child->perm = perm;
    child->shared_perm = shared_perm;
    child->opaque = opaque;
    bdrv_child_link(child);

    if (!bdrv_refresh_perms(child_bs, errp)) {
        bdrv_child_unlink(child);
        bdrv_child_free(child);
        return NULL;
    }
    return child;
}

void bdrv_root_unref_child(BdrvChild *child)
{
    BlockDriverState *child_bs = child->bs;

    GLOBAL_STATE_CODE();
    bdrv_child_unlink(child);
    bdrv_child_free(child);
    /* Fewer users can only loosen the node's permissions. */
    bdrv_refresh_perms(child_bs, NULL);
    bdrv_unref(child_bs);
}

bool bdrv_child_try_set_perm(BdrvChild *c, uint64_t perm, uint64_t shared,
                             Error **errp)
{
    uint64_t old_perm = c->perm;
    uint64_t old_shared = c->shared_perm;

    GLOBAL_STATE_CODE();
    c->perm = perm;
    c->shared_perm = shared;
    if (!bdrv_refresh_perms(c->bs, errp)) {
        /* The subtree is back as it was; so is this edge. */
        c->perm = old_perm;
        c->shared_perm = old_shared;
        return false;
    }
    return true;
}

BdrvChild *bdrv_attach_child(BlockDriverState *parent,
                             BlockDriverState *child_bs,
                             const char *child_name, BdrvChildRole role,
                             Error **errp)
{
    uint64_t perm, shared, nperm, nshared;
    BdrvChild *child;

    GLOBAL_STATE_CODE();
    bdrv_get_cumulative_perm(parent, &perm, &shared);
    bdrv_child_perm(parent, NULL, role, perm, shared, &nperm, &nshared);

    bdrv_ref(child_bs);
    child = bdrv_root_attach_child(child_bs, child_name, &child_of_bds,
                                   role, nperm, nshared, parent, errp);
    if (!child) {
        bdrv_unref(child_bs);
        return NULL;
    }
    QLIST_INSERT_HEAD(&parent->children, child, next);
    if (role & BDRV_CHILD_PRIMARY) {
        assert(!parent->file);
        parent->file = child;
    }
    if (role & BDRV_CHILD_COW) {
        assert(!parent->backing);
        parent->backing = child;
    }
    return child;
}

void bdrv_unref_child(BlockDriverState *parent, BdrvChild *child)
{
    GLOBAL_STATE_CODE();
    if (!child) {
        return;
    }
    if (parent->file == child) {
        parent->file = NULL;
    }
    if (parent->backing == child) {
        parent->backing = NULL;
    }
    QLIST_REMOVE(child, next);
    bdrv_root_unref_child(child);
}

/*
 * Opening
 */

static BlockDriverState *bdrv_new(void)
{
    BlockDriverState *bs = g_new0(BlockDriverState, 1);

    bs->refcnt = 1;
    bs->applied_shared_perm = BLK_PERM_ALL;
    QLIST_INIT(&bs->children);
    QLIST_INIT(&bs->parents);
    QLIST_INIT(&bs->tracked_requests);
    QLIST_INIT(&bs->write_hooks);
    return bs;
}

static void bdrv_free(BlockDriverState *bs)
{
    BdrvChild *child, *next;

    QLIST_FOREACH_SAFE(child, &bs->children, next, next) {
        bdrv_unref_child(bs, child);
    }
    g_free(bs->opaque);
    g_free(bs);
}

/*
 * Open @bs, which has its flags and generic fields set, with driver @drv.
 * On failure @bs is freed.
 */
static BlockDriverState *bdrv_open_driver(BlockDriverState *bs,
                                          BlockDriver *drv,
                                          const char *node_name,
                                          BlockdevOptions *options,
                                          Error **errp)
{
    int ret;

    if (!bdrv_assign_node_name(bs, node_name, errp)) {
        bdrv_free(bs);
        return NULL;
    }
    bs->drv = drv;
    bs->read_only = !(bs->open_flags & BDRV_O_RDWR);
    if (options && options->has_force_share) {
        bs->force_share = options->force_share;
    }
    bs->opaque = g_malloc0(drv->instance_size);
    bs->supported_write_flags = drv->supported_write_flags;
    bs->supported_zero_flags = drv->supported_zero_flags;
    bs->bl.request_alignment = 1;
    trace_bdrv_open(bs, drv->format_name, bs->node_name, bs->open_flags);

    if (drv->bdrv_open) {
        ret = drv->bdrv_open(bs, options, bs->open_flags, errp);
        if (ret < 0) {
            trace_bdrv_open_error(bs, bs->node_name, ret);
            bs->drv = NULL;
            bdrv_free(bs);
            return NULL;
        }
    }

    /*
     * The node is complete from here on: close it the normal way if
     * anything below fails.
     */
    QTAILQ_INSERT_TAIL(&all_bdrv_states, bs, node_list);

    bdrv_refresh_limits(bs, errp);
    if (!bs->bl.request_alignment) {
        bdrv_unref(bs);
        return NULL;
    }
    ret = bdrv_refresh_total_bytes(bs);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "Could not refresh total sector count");
        bdrv_unref(bs);
        return NULL;
    }
    bdrv_refresh_filename(bs);
    return bs;
}

BlockDriverState *bdrv_new_open_driver(BlockDriver *drv,
                                       const char *node_name, int flags,
                                       Error **errp)
{
    BlockDriverState *bs = bdrv_new();

    GLOBAL_STATE_CODE();
    bs->open_flags = flags;
    return bdrv_open_driver(bs, drv, node_name, NULL, errp);
}

/*
 * The generic members of @options as BDRV_O_* flags.  Members the user
 * left out are taken from @inherit_flags when the node is opened inline
 * as a child (QEMU's inherited options), else from the defaults.
 */
static bool bdrv_options_to_flags(BlockdevOptions *options,
                                  int inherit_flags, bool inherit,
                                  int *flags, Error **errp)
{
    int f = inherit ? inherit_flags : BDRV_O_RDWR;

    if (options->has_read_only) {
        f = options->read_only ? f & ~BDRV_O_RDWR : f | BDRV_O_RDWR;
    }
    if (options->has_auto_read_only) {
        f = options->auto_read_only ? f | BDRV_O_AUTO_RDONLY
                                    : f & ~BDRV_O_AUTO_RDONLY;
    }
    if (options->cache && options->cache->has_direct) {
        f = options->cache->direct ? f | BDRV_O_NOCACHE
                                   : f & ~BDRV_O_NOCACHE;
    }
    if (options->cache && options->cache->has_no_flush) {
        f = options->cache->no_flush ? f | BDRV_O_NO_FLUSH
                                     : f & ~BDRV_O_NO_FLUSH;
    }
    if (options->has_discard) {
        f = options->discard == BLOCKDEV_DISCARD_OPTIONS_UNMAP
            ? f | BDRV_O_UNMAP : f & ~BDRV_O_UNMAP;
    }

    if (options->has_force_share && options->force_share &&
        (f & BDRV_O_RDWR)) {
        error_setg(errp, "force-share=on can only be used with read-only "
                   "images");
        return false;
    }
    if (options->has_detect_zeroes &&
        options->detect_zeroes == BLOCKDEV_DETECT_ZEROES_OPTIONS_UNMAP &&
        !(f & BDRV_O_UNMAP)) {
        error_setg(errp, "setting detect-zeroes to unmap is not allowed "
                   "without setting discard operation to unmap");
        return false;
    }
    *flags = f;
    return true;
}

static BlockDriverState *bdrv_open_inherit(BlockdevOptions *options,
                                           int inherit_flags, bool inherit,
                                           bool probed, Error **errp)
{
    const char *name = BlockdevDriver_str(options->driver);
    BlockDriver *drv = bdrv_find_format(name);
    BlockDriverState *bs;
    int flags;

    GLOBAL_STATE_CODE();
    if (!drv) {
        error_setg(errp, "Unknown driver '%s'", name);
        return NULL;
    }
    if (!bdrv_options_to_flags(options, inherit_flags, inherit, &flags,
                               errp)) {
        return NULL;
    }
    bs = bdrv_new();
    bs->open_flags = flags;
    bs->probed = probed;
    if (options->has_detect_zeroes) {
        bs->detect_zeroes = options->detect_zeroes;
    }
    return bdrv_open_driver(bs, drv, options->node_name, options, errp);
}

BlockDriverState *bdrv_open_blockdev(BlockdevOptions *options, Error **errp)
{
    return bdrv_open_inherit(options, 0, false, false, errp);
}

BlockDriverState *bdrv_open_blockdev_probed(BlockdevOptions *options,
                                            Error **errp)
{
    return bdrv_open_inherit(options, 0, false, true, errp);
}

BdrvChild *bdrv_open_child(BlockdevRef *ref, BlockDriverState *parent,
                           const char *child_name, BdrvChildRole role,
                           Error **errp)
{
    BlockDriverState *bs;
    BdrvChild *child;

    GLOBAL_STATE_CODE();
    if (ref->type == QTYPE_QSTRING) {
        bs = bdrv_find_node(ref->u.reference);
        if (!bs) {
            error_setg(errp, "Cannot find device='%s' nor node-name='%s'",
                       ref->u.reference, ref->u.reference);
            return NULL;
        }
        bdrv_ref(bs);
    } else {
        /* Inline children inherit the parent's cache and mode flags. */
        int inherit = parent->open_flags &
            (BDRV_O_RDWR | BDRV_O_NOCACHE | BDRV_O_NO_FLUSH | BDRV_O_UNMAP |
             BDRV_O_AUTO_RDONLY);

        bs = bdrv_open_inherit(&ref->u.definition, inherit, true, false,
                               errp);
        if (!bs) {
            return NULL;
        }
    }
    child = bdrv_attach_child(parent, bs, child_name, role, errp);
    /* The edge holds its own reference now. */
    bdrv_unref(bs);
    return child;
}

/*
 * Images named by file name, and backing files
 */

BlockDriver *bdrv_probe_format(const uint8_t *buf, int buf_size,
                               const char *filename)
{
    BlockDriver *drv, *best = &bdrv_raw;
    int score, best_score = 0;

    QLIST_FOREACH(drv, &bdrv_drivers, list) {
        if (drv->bdrv_probe) {
            score = drv->bdrv_probe(buf, buf_size, filename);
            if (score > best_score) {
                best_score = score;
                best = drv;
            }
        }
    }
    return best;
}

const char *bdrv_probe_image_format(BlockDriverState *bs, Error **errp)
{
    uint8_t buf[2048] = { 0 };
    int64_t len = bdrv_getlength(bs);
    BlockBackend *blk;
    int ret;

    blk = blk_new_with_bs(bs, BLK_PERM_CONSISTENT_READ, BLK_PERM_ALL, errp);
    if (!blk) {
        return NULL;
    }
    ret = blk_pread(blk, 0, MIN(len, (int64_t)sizeof(buf)), buf, 0);
    blk_unref(blk);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "Could not read image for determining "
                         "its format");
        return NULL;
    }
    return bdrv_probe_format(buf, MIN(len, (int64_t)sizeof(buf)),
                             bs->filename)->format_name;
}

BlockDriverState *bdrv_open_image(const char *filename, const char *format,
                                  int flags, Error **errp)
{
    return bdrv_open_image_named(filename, format, flags, NULL, errp);
}

/*
 * The protocol driver a file name names by its prefix ("nbd://..."), or
 * NULL for a plain file name.  As QEMU, a prefix is the text before the
 * first ':' when no '/' comes earlier.
 */
BlockDriver *bdrv_find_protocol(const char *filename)
{
    size_t len = strcspn(filename, ":/");
    BlockDriver *drv;

    if (filename[len] != ':') {
        return NULL;
    }
    bdrv_init();
    QLIST_FOREACH(drv, &bdrv_drivers, list) {
        for (int i = 0; drv->protocol_schemes && drv->protocol_schemes[i];
             i++) {
            if (strlen(drv->protocol_schemes[i]) == len &&
                !strncmp(drv->protocol_schemes[i], filename, len)) {
                return drv;
            }
        }
    }
    return NULL;
}

void bdrv_default_child_drivers(JsonObject *options)
{
    JsonObjectIter iter;
    const char *name;
    JsonNode *member;

    json_object_iter_init_ordered(&iter, options);
    while (json_object_iter_next_ordered(&iter, &name, &member)) {
        JsonObject *child;

        if (!JSON_NODE_HOLDS_OBJECT(member)) {
            continue;
        }
        child = json_node_get_object(member);
        if (json_object_has_member(child, "filename") &&
            !json_object_has_member(child, "driver")) {
            json_object_set_string_member(child, "driver", "file");
        }
        bdrv_default_child_drivers(child);
    }
}

bool bdrv_filename_to_options(const char *filename, JsonObject *options,
                              Error **errp)
{
    BlockDriver *drv = bdrv_find_protocol(filename);
    size_t len = strcspn(filename, ":/");

    if (!drv && filename[len] == ':') {
        error_setg(errp, "Unknown protocol '%.*s'", (int)len, filename);
        return false;
    }
    if (!drv) {
        json_object_set_string_member(options, "driver", "file");
        json_object_set_string_member(options, "filename", filename);
        return true;
    }
    if (!drv->bdrv_parse_filename(filename, options, errp)) {
        return false;
    }
    json_object_set_string_member(options, "driver", drv->format_name);
    return true;
}

/* Open the protocol node of @filename: a file, or what its prefix names. */
static BlockDriverState *bdrv_open_protocol(const char *filename, int flags,
                                            const char *node_name,
                                            Error **errp)
{
    g_autoptr(JsonNode) tree = json_node_new(JSON_NODE_OBJECT);
    g_autoptr(BlockdevOptions) options = NULL;
    JsonObject *top, *cache;
    QapiInput in;

    json_node_take_object(tree, json_object_new());
    top = json_node_get_object(tree);
    if (!bdrv_filename_to_options(filename, top, errp)) {
        return NULL;
    }
    json_object_set_boolean_member(top, "read-only", !(flags & BDRV_O_RDWR));
    if (node_name) {
        json_object_set_string_member(top, "node-name", node_name);
    }
    cache = json_object_new();
    json_object_set_boolean_member(cache, "direct",
                                   !!(flags & BDRV_O_NOCACHE));
    json_object_set_object_member(top, "cache", cache);
    qapi_input_init(&in, false);
    if (!qapi_input_BlockdevOptions(&in, NULL, tree, &options, errp)) {
        return NULL;
    }
    return bdrv_open_blockdev(options, errp);
}

BlockDriverState *bdrv_open_image_named(const char *filename,
                                        const char *format, int flags,
                                        const char *node_name,
                                        Error **errp)
{
    g_autoptr(JsonNode) tree = json_node_new(JSON_NODE_OBJECT);
    g_autoptr(BlockdevOptions) options = NULL;
    BlockDriverState *file, *bs;
    BlockDriver *drv;
    bool probed = false;
    JsonObject *top;
    QapiInput in;

    GLOBAL_STATE_CODE();
    if (format && !bdrv_find_format(format)) {
        error_setg(errp, "Unknown driver '%s'", format);
        return NULL;
    }
    /* format=nbd (or file) asks for the protocol node itself. */
    drv = format ? bdrv_find_format(format) : NULL;
    if (drv && drv->protocol_name) {
        file = bdrv_open_protocol(filename, flags, node_name, errp);
        if (file && file->drv != drv) {
            error_setg(errp, "Driver '%s' cannot open '%s'", format,
                       filename);
            bdrv_unref(file);
            return NULL;
        }
        return file;
    }
    file = bdrv_open_protocol(filename, flags, NULL, errp);
    if (!file) {
        return NULL;
    }
    if (!format) {
        format = bdrv_probe_image_format(file, errp);
        probed = true;
        if (!format) {
            bdrv_unref(file);
            return NULL;
        }
    }

    /*
     * The format node takes the file node by reference, through the
     * driver's own option parsing, so any format can be opened this way.
     */
    json_node_take_object(tree, json_object_new());
    top = json_node_get_object(tree);
    json_object_set_string_member(top, "driver", format);
    json_object_set_string_member(top, "file", bdrv_get_node_name(file));
    json_object_set_boolean_member(top, "read-only", !(flags & BDRV_O_RDWR));
    if (node_name) {
        json_object_set_string_member(top, "node-name", node_name);
    }
    if ((flags & BDRV_O_NO_BACKING) && bdrv_find_format(format) &&
        bdrv_find_format(format)->supports_backing) {
        json_object_set_null_member(top, "backing");
    }
    qapi_input_init(&in, false);
    if (qapi_input_BlockdevOptions(&in, NULL, tree, &options, errp)) {
        bs = bdrv_open_inherit(options, 0, false, probed, errp);
    } else {
        bs = NULL;
    }
    /* The format node's edge holds the file node now. */
    bdrv_unref(file);
    return bs;
}

static char *bdrv_path_relative_to(const char *image, const char *name)
{
    g_autofree char *dir = NULL;

    /* As QEMU: "top.qcow2" naming "base.qcow2" gives "base.qcow2". */
    if (g_path_is_absolute(name) || !strchr(image, '/') ||
        g_str_has_prefix(image, "json:")) {
        return g_strdup(name);
    }
    dir = g_path_get_dirname(image);
    return g_build_filename(dir, name, NULL);
}

char *bdrv_get_full_backing_filename(BlockDriverState *bs)
{
    if (!bs->backing_file[0]) {
        return NULL;
    }
    return bdrv_path_relative_to(bs->file ? bs->file->bs->filename
                                          : bs->filename,
                                 bs->backing_file);
}

bool bdrv_set_backing_hd(BlockDriverState *bs, BlockDriverState *backing_hd,
                         Error **errp)
{
    GLOBAL_STATE_CODE();
    if (backing_hd && !bs->drv->supports_backing) {
        error_setg(errp, "Driver '%s' of node '%s' does not support backing "
                   "files", bs->drv->format_name, bdrv_get_node_name(bs));
        return false;
    }
    if (bs->backing) {
        trace_bdrv_set_backing_hd(bs, bs->backing->bs, NULL);
        bdrv_unref_child(bs, bs->backing);
    }
    if (!backing_hd) {
        return true;
    }
    trace_bdrv_set_backing_hd(bs, NULL, backing_hd);
    return bdrv_attach_child(bs, backing_hd, "backing",
                             BDRV_CHILD_COW, errp) != NULL;
}

bool bdrv_open_backing(BlockDriverState *bs, bool has_ref,
                       BlockdevRefOrNull *ref, Error **errp)
{
    g_autofree char *path = NULL;
    BlockDriverState *backing_hd;
    BlockdevRef child_ref;
    bool ok;

    GLOBAL_STATE_CODE();
    assert(bs->drv->supports_backing);
    if (has_ref) {
        switch (ref->type) {
        case QTYPE_QNULL:
            return true;
        case QTYPE_QSTRING:
            child_ref.type = QTYPE_QSTRING;
            child_ref.u.reference = ref->u.reference;
            break;
        default:
            child_ref.type = QTYPE_QDICT;
            child_ref.u.definition = ref->u.definition;
            break;
        }
        /* An inline backing node inherits the parent's flags, read-only. */
        return bdrv_open_child(&child_ref, bs, "backing", BDRV_CHILD_COW,
                               errp) != NULL;
    }
    if (!bs->backing_file[0]) {
        return true;
    }
    path = bdrv_get_full_backing_filename(bs);
    backing_hd = bdrv_open_image(path,
                                 bs->backing_format[0] ? bs->backing_format
                                                       : NULL,
                                 bs->open_flags & BDRV_O_NOCACHE, errp);
    if (!backing_hd) {
        error_prepend(errp, "Could not open backing file: ");
        return false;
    }
    ok = bdrv_set_backing_hd(bs, backing_hd, errp);
    bdrv_unref(backing_hd);
    return ok;
}

int bdrv_change_backing_file(BlockDriverState *bs, const char *backing_file,
                             const char *backing_fmt)
{
    int ret;

    GLOBAL_STATE_CODE();
    if (!bs->drv || !bs->drv->bdrv_change_backing_file) {
        return -ENOTSUP;
    }
    if (bdrv_is_read_only(bs)) {
        return -EACCES;
    }
    bdrv_drained_begin(bs);
    ret = bs->drv->bdrv_change_backing_file(bs, backing_file, backing_fmt);
    bdrv_drained_end(bs);
    trace_bdrv_change_backing_file(bs, backing_file ? backing_file : "",
                                   backing_fmt ? backing_fmt : "", ret);
    return ret;
}

BlockDriverState *bdrv_cow_bs(BlockDriverState *bs)
{
    return bs && bs->backing ? bs->backing->bs : NULL;
}

/*
 * Replacing a node
 */

/* True if @bs is @target or below it: moving @target's parents there
 * would make a loop. */
static bool bdrv_is_below(BlockDriverState *bs, BlockDriverState *target)
{
    BdrvChild *c;

    if (bs == target) {
        return true;
    }
    QLIST_FOREACH(c, &target->children, next) {
        if (bdrv_is_below(bs, c->bs)) {
            return true;
        }
    }
    return false;
}

/* Point edge @c at @to instead of its node, keeping everything else. */
static void bdrv_child_switch(BdrvChild *c, BlockDriverState *to)
{
    bdrv_child_unlink(c);
    c->bs = to;
    bdrv_child_link(c);
}

bool bdrv_replace_node(BlockDriverState *from, BlockDriverState *to,
                       Error **errp)
{
    g_autoptr(GPtrArray) moved = g_ptr_array_new();
    BdrvChild *c, *next;
    guint i;

    GLOBAL_STATE_CODE();
    if (from == to) {
        return true;
    }
    trace_bdrv_replace_node(from, bdrv_get_node_name(from), to,
                            bdrv_get_node_name(to));
    /* Nothing may be in flight while edges change under their users. */
    bdrv_drained_begin(from);
    bdrv_drained_begin(to);
    bdrv_ref(from);

    QLIST_FOREACH_SAFE(c, &from->parents, next_parent, next) {
        if (c->klass->stay_at_node) {
            continue;
        }
        /* An edge from @to or its subtree stays: it would make a loop. */
        if (c->klass->parent_is_bds && bdrv_is_below(c->opaque, to)) {
            continue;
        }
        bdrv_child_switch(c, to);
        bdrv_ref(to);
        g_ptr_array_add(moved, c);
    }

    /* All of the moved parents must fit on @to together. */
    if (!bdrv_refresh_perms(to, errp)) {
        for (i = 0; i < moved->len; i++) {
            c = g_ptr_array_index(moved, i);
            bdrv_child_switch(c, from);
            bdrv_unref(to);
        }
        bdrv_refresh_perms(to, NULL);
        bdrv_drained_end(to);
        bdrv_drained_end(from);
        bdrv_unref(from);
        return false;
    }
    /* Each moved edge held a reference to @from. */
    for (i = 0; i < moved->len; i++) {
        bdrv_unref(from);
    }
    bdrv_refresh_perms(from, NULL);
    for (i = 0; i < moved->len; i++) {
        c = g_ptr_array_index(moved, i);
        if (c->klass->parent_is_bds) {
            bdrv_refresh_limits(c->opaque, NULL);
        }
    }
    bdrv_drained_end(to);
    bdrv_drained_end(from);
    bdrv_unref(from);
    return true;
}

/*
 * Operation blockers
 */

void bdrv_op_block_all(BlockDriverState *bs, Error *reason)
{
    bs->op_blockers = g_slist_prepend(bs->op_blockers, reason);
}

void bdrv_op_unblock_all(BlockDriverState *bs, Error *reason)
{
    bs->op_blockers = g_slist_remove(bs->op_blockers, reason);
}

bool bdrv_op_is_blocked(BlockDriverState *bs, Error **errp)
{
    if (!bs->op_blockers) {
        return false;
    }
    error_setg(errp, "Node '%s' is busy: %s", bdrv_get_node_name(bs),
               error_get_pretty(bs->op_blockers->data));
    return true;
}

bool bdrv_is_root_node(BlockDriverState *bs)
{
    BdrvChild *c;

    QLIST_FOREACH(c, &bs->parents, next_parent) {
        if (c->klass->parent_is_bds) {
            return false;
        }
    }
    return true;
}

/*
 * References and closing
 */

void bdrv_ref(BlockDriverState *bs)
{
    bs->refcnt++;
}

static void bdrv_close(BlockDriverState *bs)
{
    BdrvChild *child, *next;

    GLOBAL_STATE_CODE();
    trace_bdrv_close(bs, bs->node_name);
    bdrv_drained_begin(bs);
    assert(QLIST_EMPTY(&bs->parents));
    /* The user's bitmaps go with the node; a job's must be gone already. */
    bdrv_release_named_dirty_bitmaps(bs);
    assert(QLIST_EMPTY(&bs->dirty_bitmaps));
    if (bs->drv && bs->drv->bdrv_close) {
        bs->drv->bdrv_close(bs);
    }
    QLIST_FOREACH_SAFE(child, &bs->children, next, next) {
        bdrv_unref_child(bs, child);
    }
    assert(!bs->in_flight);
    assert(QLIST_EMPTY(&bs->tracked_requests));
    bs->quiesce_counter--;
    bs->drv = NULL;
}

void bdrv_unref(BlockDriverState *bs)
{
    GLOBAL_STATE_CODE();
    if (!bs) {
        return;
    }
    assert(bs->refcnt > 0);
    if (--bs->refcnt > 0) {
        return;
    }
    bdrv_close(bs);
    QTAILQ_REMOVE(&all_bdrv_states, bs, node_list);
    assert(QLIST_EMPTY(&bs->write_hooks));
    g_free(bs->opaque);
    g_free(bs);
}

void bdrv_refresh_filename(BlockDriverState *bs)
{
    if (bs->drv && bs->drv->bdrv_refresh_filename) {
        bs->drv->bdrv_refresh_filename(bs);
    } else if (bs->file) {
        g_strlcpy(bs->filename, bs->file->bs->filename,
                  sizeof(bs->filename));
    }
}

int64_t bdrv_get_allocated_file_size(BlockDriverState *bs)
{
    if (!bs->drv) {
        return -ENOMEDIUM;
    }
    if (bs->drv->bdrv_get_allocated_file_size) {
        return bs->drv->bdrv_get_allocated_file_size(bs);
    }
    if (bs->file) {
        return bdrv_get_allocated_file_size(bs->file->bs);
    }
    return -ENOTSUP;
}

/*
 * Write hooks
 */

void bdrv_add_write_hook(BlockDriverState *bs, BdrvWriteHook *hook)
{
    QLIST_INSERT_HEAD(&bs->write_hooks, hook, next);
}

void bdrv_remove_write_hook(BlockDriverState *bs, BdrvWriteHook *hook)
{
    QLIST_REMOVE(hook, next);
}
