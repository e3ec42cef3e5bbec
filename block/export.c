/*
 * export.c: the export table and the commands block-export-add,
 * block-export-del and query-block-exports (qapi/nbd.json).
 *
 * The checks run in qemu-storage-daemon 7.2's order (the iotest
 * nbd-export-qmp keeps them): the ID's form, its uniqueness, the node,
 * then the driver's own checks (the server running, names, bitmaps).
 */
#include "qemu/osdep.h"

#include "block/block-backend.h"
#include "block/blockdev.h"
#include "block/export.h"
#include "qapi/error.h"
#include "qapi/visitor.h"
#include "qapi-commands.h"
#include "qapi-events.h"
#include "qapi-visit.h"
#include "qemu/aio.h"
#include "qemu/id.h"
#include "qemu/json-stream.h"
#include "qemu/keyval.h"
#include "trace.h"

/* Newest first, as query-block-exports lists them. */
static QLIST_HEAD(, BlockExport) block_exports =
    QLIST_HEAD_INITIALIZER(block_exports);

static const BlockExportDriver *blk_exp_find_driver(BlockExportType type)
{
    static const BlockExportDriver *const drivers[] = { &blk_exp_nbd };

    for (size_t i = 0; i < ARRAY_SIZE(drivers); i++) {
        if (drivers[i]->type == type) {
            return drivers[i];
        }
    }
    return NULL;
}

BlockExport *blk_exp_find(const char *id)
{
    BlockExport *exp;

    QLIST_FOREACH(exp, &block_exports, next) {
        if (!strcmp(exp->id, id)) {
            return exp;
        }
    }
    return NULL;
}

BlockExport *blk_exp_add(BlockExportOptions *opts, Error **errp)
{
    const BlockExportDriver *drv = blk_exp_find_driver(opts->type);
    bool writable = opts->has_writable && opts->writable;
    BlockDriverState *bs;
    BlockBackend *blk;
    BlockExport *exp;
    uint64_t perm;

    GLOBAL_STATE_CODE();
    if (!drv) {
        error_setg(errp, "No driver found for the requested export type");
        return NULL;
    }
    if (!id_wellformed(opts->id)) {
        error_setg(errp, "Invalid block export id");
        return NULL;
    }
    if (blk_exp_find(opts->id)) {
        error_setg(errp, "Block export id '%s' is already in use", opts->id);
        return NULL;
    }
    bs = bdrv_lookup_bs(NULL, opts->node_name, errp);
    if (!bs) {
        return NULL;
    }
    if (opts->iothread) {
        /* qblock serves every export from the main loop. */
        error_setg(errp, "iothread \"%s\" not found", opts->iothread);
        return NULL;
    }

    /*
     * As QEMU's exports: take what the clients may do, share everything,
     * so an export never stands in the way of a job or another user.
     */
    perm = BLK_PERM_CONSISTENT_READ | (writable ? BLK_PERM_WRITE : 0);
    blk = blk_new_with_bs(bs, perm, BLK_PERM_ALL, errp);
    if (!blk) {
        return NULL;
    }

    exp = g_malloc0(drv->instance_size);
    exp->drv = drv;
    exp->id = g_strdup(opts->id);
    exp->blk = blk;
    exp->refcount = 1;
    exp->user_owned = true;
    if (!drv->create(exp, opts, errp)) {
        blk_unref(blk);
        g_free(exp->id);
        g_free(exp);
        return NULL;
    }
    QLIST_INSERT_HEAD(&block_exports, exp, next);
    trace_blk_exp_add(exp, exp->id, bdrv_get_node_name(bs));
    return exp;
}

void blk_exp_ref(BlockExport *exp)
{
    assert(exp->refcount > 0);
    exp->refcount++;
}

void blk_exp_unref(BlockExport *exp)
{
    g_autofree char *id = NULL;

    assert(exp->refcount > 0);
    if (--exp->refcount > 0) {
        return;
    }
    trace_blk_exp_delete(exp, exp->id);
    exp->drv->delete(exp);
    QLIST_REMOVE(exp, next);
    blk_unref(exp->blk);
    id = g_steal_pointer(&exp->id);
    g_free(exp);
    qapi_event_send_block_export_deleted(id);
    aio_wait_kick();
}

void blk_exp_request_shutdown(BlockExport *exp)
{
    bool drop_user_ref = exp->user_owned;

    trace_blk_exp_request_shutdown(exp, exp->id);
    /* A reference of our own: dropping the monitor's may free it. */
    blk_exp_ref(exp);
    exp->shutting_down = true;
    exp->user_owned = false;
    exp->drv->request_shutdown(exp);
    if (drop_user_ref) {
        blk_exp_unref(exp);
    }
    blk_exp_unref(exp);
}

static bool blk_exp_type_left(BlockExportType type, bool all)
{
    BlockExport *exp;

    QLIST_FOREACH(exp, &block_exports, next) {
        if (all || exp->drv->type == type) {
            return true;
        }
    }
    return false;
}

static void blk_exp_close_matching(BlockExportType type, bool all)
{
    BlockExport *exp, *next;

    GLOBAL_STATE_CODE();
    /* Oldest first, so BLOCK_EXPORT_DELETED comes in creation order. */
    for (;;) {
        BlockExport *oldest = NULL;

        QLIST_FOREACH_SAFE(exp, &block_exports, next, next) {
            if ((all || exp->drv->type == type) && !exp->shutting_down) {
                oldest = exp;
            }
        }
        if (!oldest) {
            break;
        }
        blk_exp_request_shutdown(oldest);
    }
    AIO_WAIT_WHILE(qemu_get_aio_context(), blk_exp_type_left(type, all));
}

void blk_exp_close_all_type(BlockExportType type)
{
    blk_exp_close_matching(type, false);
}

void blk_exp_close_all(void)
{
    blk_exp_close_matching(0, true);
}

/* ------------------------------------------------------------------ QMP */

bool qmp_block_export_add(BlockExportOptions *opts, Error **errp)
{
    return blk_exp_add(opts, errp) != NULL;
}

bool qmp_block_export_del(const char *id, bool has_mode,
                          BlockExportRemoveMode mode, Error **errp)
{
    BlockExport *exp = blk_exp_find(id);

    GLOBAL_STATE_CODE();
    if (!exp) {
        error_setg(errp, "Export '%s' is not found", id);
        return false;
    }
    if (!exp->user_owned) {
        error_setg(errp, "Export '%s' is already shutting down", id);
        return false;
    }
    if (!has_mode) {
        mode = BLOCK_EXPORT_REMOVE_MODE_SAFE;
    }
    if (mode == BLOCK_EXPORT_REMOVE_MODE_SAFE &&
        exp->drv->has_clients(exp)) {
        error_setg(errp, "export '%s' still in use", exp->id);
        error_append_hint(errp, "Use mode='hard' to force client "
                          "disconnect\n");
        return false;
    }
    blk_exp_request_shutdown(exp);
    return true;
}

BlockExportInfoList *qmp_query_block_exports(Error **errp)
{
    BlockExportInfoList *head = NULL, **tail = &head;
    BlockExport *exp;

    QLIST_FOREACH(exp, &block_exports, next) {
        BlockExportInfo *info = g_new0(BlockExportInfo, 1);
        BlockExportInfoList *elem = g_new0(BlockExportInfoList, 1);

        info->id = g_strdup(exp->id);
        info->type = exp->drv->type;
        info->node_name = g_strdup(bdrv_get_node_name(blk_bs(exp->blk)));
        info->shutting_down = exp->shutting_down;
        elem->value = info;
        *tail = elem;
        tail = &elem->next;
    }
    return head;
}

/* ------------------------------------------------------------ --export */

bool blk_exp_add_cmdline(const char *arg, Error **errp)
{
    g_autoptr(JsonNode) tree = NULL;
    g_autoptr(BlockExportOptions) opts = NULL;
    QapiInput in;
    bool keyval = arg[0] != '{';

    if (keyval) {
        tree = keyval_parse(arg, "type", NULL, errp);
    } else {
        tree = json_parse_string(arg, errp);
    }
    if (!tree) {
        return false;
    }
    qapi_input_init(&in, keyval);
    if (!qapi_input_BlockExportOptions(&in, NULL, tree, &opts, errp)) {
        return false;
    }
    return blk_exp_add(opts, errp) != NULL;
}
