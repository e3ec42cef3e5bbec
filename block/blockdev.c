/*
 * blockdev.c: QMP commands and command-line options that create, delete
 * and resize block nodes (blockdev-add, blockdev-del, block_resize,
 * --blockdev).
 *
 * The monitor owns each node it creates through one reference, and the
 * node is on monitor_bdrv_states.  blockdev-del refuses while anybody
 * else holds a reference (a parent node, a BlockBackend, a job), with
 * QEMU 7.2's messages, checked in QEMU's order.
 */
#include "qemu/osdep.h"

#include "block/block_int.h"
#include "block/block-backend.h"
#include "block/blockdev.h"
#include "qapi/error.h"
#include "qapi/visitor.h"
#include "qapi-commands.h"
#include "qapi-visit.h"
#include "qemu/json-stream.h"
#include "qemu/keyval.h"

static QTAILQ_HEAD(, BlockDriverState) monitor_bdrv_states =
    QTAILQ_HEAD_INITIALIZER(monitor_bdrv_states);

BlockDriverState *bdrv_lookup_bs(const char *device, const char *node_name,
                                 Error **errp)
{
    BlockDriverState *bs;

    if (device) {
        BlockBackend *blk = blk_by_name(device);

        if (blk) {
            bs = blk_bs(blk);
            if (!bs) {
                error_setg(errp, "Device '%s' has no medium", device);
            }
            return bs;
        }
    }
    if (node_name) {
        bs = bdrv_find_node(node_name);
        if (bs) {
            return bs;
        }
    }
    error_setg(errp, "Cannot find device='%s' nor node-name='%s'",
               device ? device : "", node_name ? node_name : "");
    return NULL;
}

bool qmp_blockdev_add(BlockdevOptions *options, Error **errp)
{
    BlockDriverState *bs;

    GLOBAL_STATE_CODE();
    if (!options->node_name) {
        error_setg(errp, "'node-name' must be specified for the root node");
        return false;
    }
    bs = bdrv_open_blockdev(options, errp);
    if (!bs) {
        return false;
    }
    bs->monitor_owned = true;
    QTAILQ_INSERT_TAIL(&monitor_bdrv_states, bs, monitor_list);
    return true;
}

bool qmp_blockdev_del(const char *node_name, Error **errp)
{
    BlockDriverState *bs;

    GLOBAL_STATE_CODE();
    bs = bdrv_find_node(node_name);
    if (!bs) {
        error_setg(errp, "Failed to find node with node-name='%s'",
                   node_name);
        return false;
    }
    if (bdrv_has_blk(bs)) {
        error_setg(errp, "Node %s is in use", node_name);
        return false;
    }
    if (bdrv_op_is_blocked(bs, errp)) {
        return false;
    }
    if (!bs->monitor_owned) {
        error_setg(errp, "Node %s is not owned by the monitor",
                   bs->node_name);
        return false;
    }
    if (bs->refcnt > 1) {
        error_setg(errp, "Block device %s is in use", bs->node_name);
        return false;
    }
    QTAILQ_REMOVE(&monitor_bdrv_states, bs, monitor_list);
    bs->monitor_owned = false;
    bdrv_unref(bs);
    return true;
}

bool coroutine_fn qmp_block_resize(const char *device, const char *node_name,
                                   int64_t size, Error **errp)
{
    BlockDriverState *bs;
    BlockBackend *blk;
    int ret;

    bs = bdrv_lookup_bs(device, node_name, errp);
    if (!bs) {
        return false;
    }
    if (size < 0) {
        error_setg(errp, "Parameter 'size' expects a >0 size");
        return false;
    }
    if (bdrv_op_is_blocked(bs, NULL)) {
        /* QEMU names the device argument here, even when absent. */
        error_setg(errp, "Device '%s' is in use", device ? device : "(null)");
        return false;
    }

    blk = blk_new_with_bs(bs, BLK_PERM_RESIZE, BLK_PERM_ALL, errp);
    if (!blk) {
        return false;
    }
    bdrv_drained_begin(bs);
    ret = blk_co_truncate(blk, size, false, PREALLOC_MODE_OFF, 0, errp);
    bdrv_drained_end(bs);
    blk_unref(blk);
    return ret >= 0;
}

void blockdev_close_all(void)
{
    BlockDriverState *bs, *next;

    GLOBAL_STATE_CODE();
    bdrv_drain_all();
    QTAILQ_FOREACH_SAFE(bs, &monitor_bdrv_states, monitor_list, next) {
        QTAILQ_REMOVE(&monitor_bdrv_states, bs, monitor_list);
        bs->monitor_owned = false;
        bdrv_unref(bs);
    }
}

/* --blockdev */

typedef struct JsonArg {
    JsonNode *value;
    Error *err;
} JsonArg;

static void json_arg_emit(void *opaque, JsonNode *value, Error *err)
{
    JsonArg *a = opaque;

    /* Keep the first value or error; later ones are garbage after it. */
    if (a->value || a->err) {
        if (value) {
            json_node_unref(value);
        }
        if (err) {
            error_free(err);
        }
        return;
    }
    a->value = value;
    a->err = err;
}

static JsonNode *parse_json_arg(const char *arg, Error **errp)
{
    JSONStreamer *js;
    JsonArg a = { 0 };

    js = json_streamer_new(json_arg_emit, &a);
    json_streamer_feed(js, arg, strlen(arg));
    json_streamer_flush(js);
    json_streamer_free(js);
    if (a.err) {
        if (a.value) {
            json_node_unref(a.value);
        }
        error_propagate(errp, a.err);
        return NULL;
    }
    if (!a.value) {
        error_setg(errp, "JSON parse error, premature EOI");
    }
    return a.value;
}

bool blockdev_add_cmdline(const char *arg, Error **errp)
{
    g_autoptr(JsonNode) tree = NULL;
    g_autoptr(BlockdevOptions) options = NULL;
    QapiInput in;
    bool is_json = arg[0] == '{';

    if (is_json) {
        tree = parse_json_arg(arg, errp);
    } else {
        tree = keyval_parse(arg, "driver", NULL, errp);
    }
    if (!tree) {
        return false;
    }
    qapi_input_init(&in, !is_json);
    if (!qapi_input_BlockdevOptions(&in, NULL, tree, &options, errp)) {
        return false;
    }
    return qmp_blockdev_add(options, errp);
}
