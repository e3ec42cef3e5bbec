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
    BlockBackend *blk = blk_new(qemu_get_aio_context(), perm, shared);

    if (blk_insert_bs(blk, bs, errp) < 0) {
        blk_unref(blk);
        return NULL;
    }
    return blk;
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
    return g_test_run();
}
