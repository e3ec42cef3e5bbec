/*
 * export.h: block exports, the way a node is offered outside the daemon.
 *
 * An export owns a BlockBackend on its node, so its clients' requests go
 * through the same request path as every other user's: they mark the
 * dirty bitmaps of a running mirror, they wait in the backend's queue
 * while the node is drained, and after a mirror's pivot the backend (and
 * so the export) sits on the target without the clients noticing.
 *
 * Lifetime: block-export-add creates an export with one reference, the
 * monitor's.  Each connected client holds another.  block-export-del
 * marks it shutting down, asks the driver to let its clients go (mode
 * hard) and drops the monitor's reference; when the last reference goes
 * the export is freed and BLOCK_EXPORT_DELETED is emitted.  So a deleted
 * export is visible, with shutting-down true, until its clients are gone.
 *
 * The one driver is NBD (nbd/server.c).  Main loop thread only.
 */
#ifndef QBLOCK_BLOCK_EXPORT_H
#define QBLOCK_BLOCK_EXPORT_H

#include "block/block.h"
#include "qapi-types.h"
#include "qemu/queue.h"

typedef struct BlockExport BlockExport;

typedef struct BlockExportDriver {
    BlockExportType type;
    /* sizeof the driver's struct, which starts with a BlockExport. */
    size_t instance_size;
    /*
     * Fill in the driver's part of a new export whose backend is open
     * on its node.  On failure nothing of the driver's may remain.
     */
    bool (*create)(BlockExport *exp, BlockExportOptions *opts, Error **errp);
    /* Whether clients are connected (block-export-del mode=safe). */
    bool (*has_clients)(BlockExport *exp);
    /*
     * Let every client go: each one ends (its requests in flight
     * finish first) and drops its reference.  May be called again.
     */
    void (*request_shutdown)(BlockExport *exp);
    /* Free the driver's part; no client is left. */
    void (*delete)(BlockExport *exp);
} BlockExportDriver;

struct BlockExport {
    const BlockExportDriver *drv;
    char *id;
    BlockBackend *blk;
    int refcount;
    /* block-export-del (or the server's end) has been asked for. */
    bool shutting_down;
    /* The monitor's reference has not been dropped yet. */
    bool user_owned;
    QLIST_ENTRY(BlockExport) next;
};

/* Create and start an export: block-export-add's work. */
BlockExport *blk_exp_add(BlockExportOptions *opts, Error **errp);
/* The export with ID @id, or NULL. */
BlockExport *blk_exp_find(const char *id);

void blk_exp_ref(BlockExport *exp);
/* The last reference frees the export and emits BLOCK_EXPORT_DELETED. */
void blk_exp_unref(BlockExport *exp);

/*
 * Start removing @exp: mark it shutting down, let its clients go, and
 * drop the monitor's reference.  Safe to call twice.
 */
void blk_exp_request_shutdown(BlockExport *exp);

/*
 * Remove every export of @type (or of every type with @all) and wait
 * until they are gone.  At exit, and for nbd-server-stop.
 */
void blk_exp_close_all_type(BlockExportType type);
void blk_exp_close_all(void);

/* Parse and add one --export argument (JSON, or keyval implying type). */
bool blk_exp_add_cmdline(const char *arg, Error **errp);

/* The drivers. */
extern const BlockExportDriver blk_exp_nbd;

#endif /* QBLOCK_BLOCK_EXPORT_H */
