/*
 * test-block-graph.c: the node graph (block/block.c): edges, reference
 * counts and permissions, with QEMU 7.2's conflict messages.
 */
#include "qemu/osdep.h"

#include "block/block_int.h"
#include "block/block-backend.h"
#include "qapi/error.h"
#include "qemu/aio.h"
#include "qemu/trace-control.h"

static BlockDriverState *open_null(const char *name, bool read_only)
{
    BlockdevOptions opts = {
        .driver = BLOCKDEV_DRIVER_NULL_CO,
        .node_name = (char *)name,
        .has_read_only = true,
        .read_only = read_only,
    };

    return bdrv_open_blockdev(&opts, &error_abort);
}

static BlockDriverState *open_raw(const char *name, const char *file)
{
    BlockdevRef ref = { .type = QTYPE_QSTRING, .u.reference = (char *)file };
    BlockdevOptions opts = {
        .driver = BLOCKDEV_DRIVER_RAW,
        .node_name = (char *)name,
        .u.raw.file = &ref,
    };

    return bdrv_open_blockdev(&opts, &error_abort);
}

/* A backend on @bs, or NULL with *errp set. */
static BlockBackend *attach(BlockDriverState *bs, uint64_t perm,
                            uint64_t shared, Error **errp)
{
    return blk_new_with_bs(bs, perm, shared, errp);
}

static void test_two_writers(void)
{
    BlockDriverState *bs = open_null("n", false);
    BlockBackend *a, *b;
    Error *err = NULL;

    /* A writer that lets nobody else write. */
    a = attach(bs, BLK_PERM_CONSISTENT_READ | BLK_PERM_WRITE,
               BLK_PERM_CONSISTENT_READ, &error_abort);
    b = attach(bs, BLK_PERM_CONSISTENT_READ | BLK_PERM_WRITE, BLK_PERM_ALL,
               &err);
    g_assert(!b);
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "Permission conflict on node 'n': permissions 'write' "
                    "are both required by an unnamed block device (uses "
                    "node 'n' as 'root' child) and unshared by an unnamed "
                    "block device (uses node 'n' as 'root' child).");
    error_free(err);
    err = NULL;

    /* The refused edge left nothing behind; readers are fine. */
    b = attach(bs, BLK_PERM_CONSISTENT_READ, BLK_PERM_ALL, &error_abort);
    blk_unref(b);

    /* The other way round: a new user that unshares what A uses. */
    b = attach(bs, 0, BLK_PERM_CONSISTENT_READ, &err);
    g_assert(!b);
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "Permission conflict on node 'n': permissions 'write' "
                    "are both required by an unnamed block device (uses "
                    "node 'n' as 'root' child) and unshared by an unnamed "
                    "block device (uses node 'n' as 'root' child).");
    error_free(err);
    blk_unref(a);

    /* With A gone, two writers that share writing coexist. */
    a = attach(bs, BLK_PERM_WRITE, BLK_PERM_ALL, &error_abort);
    b = attach(bs, BLK_PERM_WRITE, BLK_PERM_ALL, &error_abort);
    blk_unref(a);
    blk_unref(b);
    bdrv_unref(bs);
}

/* Permissions pass through a raw node, and a failure rolls back. */
static void test_through_raw(void)
{
    BlockDriverState *src = open_null("src", false);
    BlockDriverState *top = open_raw("top", "src");
    BdrvChild *file = top->file;
    BlockBackend *user, *resizer;
    Error *err = NULL;

    g_assert_cmpuint(file->perm, ==, 0);
    /* A user of top that forbids resizing. */
    user = attach(top, BLK_PERM_CONSISTENT_READ | BLK_PERM_WRITE,
                  BLK_PERM_ALL & ~BLK_PERM_RESIZE, &error_abort);
    g_assert_cmpuint(file->perm, ==,
                     BLK_PERM_CONSISTENT_READ | BLK_PERM_WRITE);
    g_assert_cmpuint(file->shared_perm & BLK_PERM_RESIZE, ==, 0);

    resizer = attach(src, BLK_PERM_RESIZE, BLK_PERM_ALL, &err);
    g_assert(!resizer);
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "Permission conflict on node 'src': permissions "
                    "'resize' are both required by an unnamed block device "
                    "(uses node 'src' as 'root' child) and unshared by "
                    "node 'top' (uses node 'src' as 'file' child).");
    error_free(err);
    err = NULL;

    blk_unref(user);
    /* The last user went: the edge needs nothing any more. */
    g_assert_cmpuint(file->perm, ==, 0);

    /* A user of top that conflicts below: top's edge is restored. */
    resizer = attach(src, BLK_PERM_CONSISTENT_READ,
                     BLK_PERM_CONSISTENT_READ, &error_abort);
    g_assert(!attach(top, BLK_PERM_WRITE, BLK_PERM_ALL, &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "Permission conflict on node 'src': permissions "
                    "'write' are both required by node 'top' (uses node "
                    "'src' as 'file' child) and unshared by an unnamed "
                    "block device (uses node 'src' as 'root' child).");
    error_free(err);
    g_assert_cmpuint(file->perm, ==, 0);
    g_assert(QLIST_FIRST(&top->parents) == NULL);
    blk_unref(resizer);

    g_assert_cmpint(src->refcnt, ==, 2);
    bdrv_unref(top);
    g_assert_cmpint(src->refcnt, ==, 1);
    bdrv_unref(src);
}

static void test_read_only(void)
{
    BlockDriverState *bs = open_null("ro", true);
    Error *err = NULL;
    BlockBackend *blk;

    g_assert(!attach(bs, BLK_PERM_WRITE, BLK_PERM_ALL, &err));
    g_assert_cmpstr(error_get_pretty(err), ==, "Block node is read-only");
    error_free(err);
    blk = attach(bs, BLK_PERM_CONSISTENT_READ, BLK_PERM_ALL, &error_abort);
    blk_unref(blk);
    bdrv_unref(bs);
}

static void test_perm_names(void)
{
    g_autofree char *all = bdrv_perm_names(BLK_PERM_ALL);
    g_autofree char *none = bdrv_perm_names(0);

    g_assert_cmpstr(all, ==, "consistent read, write, write unchanged, "
                    "resize, change children");
    g_assert_cmpstr(none, ==, "");
}

/* Closing a raw node with an inline child frees the child too. */
static void test_inline_child_lifetime(void)
{
    BlockdevOptions child = { .driver = BLOCKDEV_DRIVER_NULL_CO,
                              .node_name = (char *)"inl" };
    BlockdevRef ref = { .type = QTYPE_QDICT };
    BlockdevOptions opts = { .driver = BLOCKDEV_DRIVER_RAW,
                             .node_name = (char *)"r" };
    BlockDriverState *bs;

    ref.u.definition = child;
    opts.u.raw.file = &ref;
    bs = bdrv_open_blockdev(&opts, &error_abort);
    g_assert(bdrv_find_node("inl"));
    g_assert_cmpint(bdrv_find_node("inl")->refcnt, ==, 1);
    bdrv_unref(bs);
    g_assert(!bdrv_find_node("inl"));
    g_assert(!bdrv_next_node(NULL));
}

/*
 * Replacing a node under its parents (the mirror's pivot)
 */

static void test_replace_node(void)
{
    BlockDriverState *a = open_null("a", false);
    BlockDriverState *b = open_null("b", false);
    BlockDriverState *r = open_raw("r", "a");
    BlockBackend *blk = attach(a, BLK_PERM_CONSISTENT_READ | BLK_PERM_WRITE,
                               BLK_PERM_ALL, &error_abort);
    uint8_t sector[512] = { 0 };

    g_assert_cmpint(a->refcnt, ==, 3);
    g_assert_true(bdrv_replace_node(a, b, &error_abort));
    /* Both parents moved, the raw node's file pointer with its edge. */
    g_assert(blk_bs(blk) == b);
    g_assert(r->file->bs == b);
    g_assert(QLIST_EMPTY(&a->parents));
    g_assert_cmpint(a->refcnt, ==, 1);
    g_assert_cmpint(b->refcnt, ==, 3);
    /* The moved writer writes to the new node. */
    g_assert_cmpint(blk_pwrite(blk, 0, sizeof(sector), sector, 0), ==, 0);
    blk_unref(blk);
    bdrv_unref(r);
    bdrv_unref(a);
    bdrv_unref(b);
    g_assert(!bdrv_next_node(NULL));
}

static const char *on_a_writes(BlockBackend *blk)
{
    uint8_t sector[512] = { 0 };

    return blk_pwrite(blk, 0, sizeof(sector), sector, 0) ? "failed" : "ok";
}

static void test_replace_conflict(void)
{
    BlockDriverState *a = open_null("a", false);
    BlockDriverState *b = open_null("b", false);
    BlockBackend *on_a, *on_b;
    Error *err = NULL;

    /* Each writer lets nobody else write: they cannot share a node. */
    on_a = attach(a, BLK_PERM_CONSISTENT_READ | BLK_PERM_WRITE,
                  BLK_PERM_CONSISTENT_READ, &error_abort);
    on_b = attach(b, BLK_PERM_CONSISTENT_READ | BLK_PERM_WRITE,
                  BLK_PERM_CONSISTENT_READ, &error_abort);
    g_assert_false(bdrv_replace_node(a, b, &err));
    g_assert(err);
    g_assert(strstr(error_get_pretty(err), "Permission conflict on node "
                    "'b': permissions 'write' are both required by"));
    error_free(err);
    /* Nothing moved, and both still hold their permissions. */
    g_assert(blk_bs(on_a) == a);
    g_assert(blk_bs(on_b) == b);
    g_assert_cmpint(a->refcnt, ==, 2);
    g_assert_cmpint(b->refcnt, ==, 2);
    g_assert_cmpstr(on_a_writes(on_a), ==, "ok");
    blk_unref(on_a);
    blk_unref(on_b);
    bdrv_unref(a);
    bdrv_unref(b);
}

/* A filter put above its own child: the filter's edge must stay. */
static void test_replace_insert_filter(void)
{
    BlockDriverState *a = open_null("a", false);
    BlockBackend *blk = attach(a, BLK_PERM_CONSISTENT_READ, BLK_PERM_ALL,
                               &error_abort);
    BlockDriverState *f = open_raw("f", "a");

    g_assert_true(bdrv_replace_node(a, f, &error_abort));
    g_assert(blk_bs(blk) == f);
    g_assert(f->file->bs == a);
    /* And taken out again: its parents go back to the child. */
    g_assert_true(bdrv_replace_node(f, a, &error_abort));
    g_assert(blk_bs(blk) == a);
    g_assert(QLIST_EMPTY(&f->parents));
    bdrv_unref(f);
    blk_unref(blk);
    bdrv_unref(a);
}

static char *pinned_desc(BdrvChild *c)
{
    return g_strdup("pinned user");
}

static const BdrvChildClass child_pinned = {
    .stay_at_node = true,
    .get_parent_desc = pinned_desc,
};

static void test_replace_stay_at_node(void)
{
    BlockDriverState *a = open_null("a", false);
    BlockDriverState *b = open_null("b", false);
    BlockBackend *blk = attach(a, BLK_PERM_CONSISTENT_READ, BLK_PERM_ALL,
                               &error_abort);
    BdrvChild *pin;

    bdrv_ref(a);
    pin = bdrv_root_attach_child(a, "pin", &child_pinned, 0, 0,
                                 BLK_PERM_ALL, NULL, &error_abort);
    g_assert_true(bdrv_replace_node(a, b, &error_abort));
    g_assert(blk_bs(blk) == b);
    g_assert(pin->bs == a);
    bdrv_root_unref_child(pin);
    blk_unref(blk);
    bdrv_unref(a);
    bdrv_unref(b);
}

/*
 * Backing chains.  A format for this test only, "test-cow": 64 KiB
 * clusters held in memory; what it has not allocated it reads from its
 * backing node, as a real COW format does.
 */

#define COW_CLUSTER 65536
#define COW_MAX_CLUSTERS 32

typedef struct CowState {
    int64_t size;
    bool allocated[COW_MAX_CLUSTERS];
} CowState;

static int64_t cow_next_size;

static int cow_open(BlockDriverState *bs, BlockdevOptions *options,
                    int flags, Error **errp)
{
    CowState *s = bs->opaque;

    s->size = cow_next_size;
    return 0;
}

static int64_t coroutine_fn cow_getlength(BlockDriverState *bs)
{
    CowState *s = bs->opaque;

    return s->size;
}

static int coroutine_fn cow_block_status(BlockDriverState *bs,
                                         bool want_zero, int64_t offset,
                                         int64_t bytes, int64_t *pnum,
                                         int64_t *map,
                                         BlockDriverState **file)
{
    CowState *s = bs->opaque;
    int64_t c = offset / COW_CLUSTER;
    bool alloc = s->allocated[c];

    *pnum = 0;
    while (*pnum < bytes && c < COW_MAX_CLUSTERS &&
           s->allocated[c] == alloc) {
        *pnum += COW_CLUSTER - (offset + *pnum) % COW_CLUSTER;
        c++;
    }
    *pnum = MIN(*pnum, bytes);
    *map = offset;
    *file = bs;
    return alloc ? BDRV_BLOCK_DATA | BDRV_BLOCK_OFFSET_VALID : 0;
}

static BlockDriver bdrv_test_cow = {
    .format_name = "test-cow",
    .instance_size = sizeof(CowState),
    .supports_backing = true,
    .bdrv_open = cow_open,
    .bdrv_co_getlength = cow_getlength,
    .bdrv_co_block_status = cow_block_status,
};

static BlockDriverState *open_cow(const char *name, int64_t size,
                                  int cluster, BlockDriverState *backing)
{
    BlockDriverState *bs;

    cow_next_size = size;
    bs = bdrv_new_open_driver(&bdrv_test_cow, name, 0, &error_abort);
    ((CowState *)bs->opaque)->allocated[cluster] = true;
    if (backing) {
        g_assert_true(bdrv_set_backing_hd(bs, backing, &error_abort));
    }
    return bs;
}

static void test_backing_attach_detach(void)
{
    BlockDriverState *base = open_cow("base", 1048576, 0, NULL);
    BlockDriverState *top = open_cow("top", 1048576, 1, base);
    BlockDriverState *n = open_null("n", true);
    Error *err = NULL;

    g_assert(bdrv_cow_bs(top) == base);
    g_assert_cmpint(base->refcnt, ==, 2);
    g_assert(top->backing->role == BDRV_CHILD_COW);
    /* A backing node is read for its data, and only that. */
    g_assert_cmphex(top->backing->perm, ==, 0);
    g_assert_true(bdrv_set_backing_hd(top, NULL, &error_abort));
    g_assert(!bdrv_cow_bs(top));
    g_assert_cmpint(base->refcnt, ==, 1);

    g_assert_false(bdrv_set_backing_hd(n, base, &err));
    g_assert_cmpstr(error_get_pretty(err), ==, "Driver 'null-co' of node "
                    "'n' does not support backing files");
    error_free(err);
    bdrv_unref(n);
    bdrv_unref(top);
    bdrv_unref(base);
}

static void test_block_status_above(void)
{
    /* bottom (512 KiB, cluster 2) <- mid (cluster 1) <- top (cluster 0) */
    BlockDriverState *bottom = open_cow("bottom", 524288, 2, NULL);
    BlockDriverState *mid = open_cow("mid", 1048576, 1, bottom);
    BlockDriverState *top = open_cow("top", 1048576, 0, mid);
    int64_t pnum;
    int depth, ret;

    ret = bdrv_block_status_above(top, NULL, 0, 1048576, &pnum, NULL, NULL,
                                  &depth);
    g_assert_cmphex(ret & ~BDRV_BLOCK_OFFSET_VALID, ==,
                    BDRV_BLOCK_DATA | BDRV_BLOCK_ALLOCATED);
    g_assert_cmpint(pnum, ==, COW_CLUSTER);
    g_assert_cmpint(depth, ==, 1);

    ret = bdrv_block_status_above(top, NULL, COW_CLUSTER, 1048576,
                                  &pnum, NULL, NULL, &depth);
    g_assert_true(ret & BDRV_BLOCK_ALLOCATED);
    g_assert_cmpint(pnum, ==, COW_CLUSTER);
    g_assert_cmpint(depth, ==, 2);

    ret = bdrv_block_status_above(top, NULL, 2 * COW_CLUSTER, COW_CLUSTER,
                                  &pnum, NULL, NULL, &depth);
    g_assert_true(ret & BDRV_BLOCK_DATA);
    g_assert_cmpint(depth, ==, 3);

    /* Allocated nowhere, within the bottom node: zeroes, unallocated. */
    ret = bdrv_block_status_above(top, NULL, 3 * COW_CLUSTER, 1048576,
                                  &pnum, NULL, NULL, &depth);
    g_assert_cmphex(ret & (BDRV_BLOCK_ALLOCATED | BDRV_BLOCK_ZERO |
                           BDRV_BLOCK_DATA), ==, BDRV_BLOCK_ZERO);
    g_assert_cmpint(pnum, ==, 524288 - 3 * COW_CLUSTER);
    g_assert_cmpint(depth, ==, 0);

    /* Past the short bottom node: zeroes that node decides. */
    ret = bdrv_block_status_above(top, NULL, 524288, 1048576, &pnum, NULL,
                                  NULL, &depth);
    g_assert_cmphex(ret & (BDRV_BLOCK_ALLOCATED | BDRV_BLOCK_ZERO), ==,
                    BDRV_BLOCK_ALLOCATED | BDRV_BLOCK_ZERO);
    g_assert_cmpint(pnum, ==, 524288);
    g_assert_cmpint(depth, ==, 3);

    /* Down to, not into, a base. */
    ret = bdrv_block_status_above(top, mid, COW_CLUSTER, COW_CLUSTER,
                                  &pnum, NULL, NULL, &depth);
    g_assert_false(ret & BDRV_BLOCK_ALLOCATED);
    g_assert_cmpint(depth, ==, 0);

    g_assert_cmpint(bdrv_is_allocated_above(top, mid, false, COW_CLUSTER,
                                            COW_CLUSTER, &pnum), ==, 0);
    g_assert_cmpint(bdrv_is_allocated_above(top, mid, true, COW_CLUSTER,
                                            COW_CLUSTER, &pnum), ==, 1);
    g_assert_cmpint(bdrv_is_allocated_above(top, NULL, false,
                                            3 * COW_CLUSTER, 1048576,
                                            &pnum), ==, 0);
    g_assert_cmpint(pnum, ==, 524288 - 3 * COW_CLUSTER);

    bdrv_unref(top);
    bdrv_unref(mid);
    bdrv_unref(bottom);
    g_assert(!bdrv_next_node(NULL));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    trace_init_from_env();
    qemu_init_main_loop(&error_abort);
    bdrv_init();

    g_test_add_func("/block-graph/perm/two-writers", test_two_writers);
    g_test_add_func("/block-graph/perm/through-raw", test_through_raw);
    g_test_add_func("/block-graph/perm/read-only", test_read_only);
    g_test_add_func("/block-graph/perm/names", test_perm_names);
    g_test_add_func("/block-graph/inline-child-lifetime",
                    test_inline_child_lifetime);
    g_test_add_func("/block-graph/replace/parents", test_replace_node);
    g_test_add_func("/block-graph/replace/conflict", test_replace_conflict);
    g_test_add_func("/block-graph/replace/insert-filter",
                    test_replace_insert_filter);
    g_test_add_func("/block-graph/replace/stay-at-node",
                    test_replace_stay_at_node);
    g_test_add_func("/block-graph/backing/attach-detach",
                    test_backing_attach_detach);
    g_test_add_func("/block-graph/backing/block-status-above",
                    test_block_status_above);
    return g_test_run();
}
