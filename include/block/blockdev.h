/*
 * blockdev.h: the monitor's side of the block layer (block/blockdev.c).
 *
 * Nodes created by blockdev-add or --blockdev are owned by the monitor:
 * it holds one reference to each, dropped by blockdev-del or at exit.
 * Main loop thread only.
 */
#ifndef QBLOCK_BLOCK_BLOCKDEV_H
#define QBLOCK_BLOCK_BLOCKDEV_H

#include "block/block.h"

/*
 * Parse one --blockdev argument, as qemu-storage-daemon does: JSON when
 * it starts with '{', else keyval with the implied key 'driver'; then
 * add the node as blockdev-add would.
 */
bool blockdev_add_cmdline(const char *arg, Error **errp);

/* Drop every node the monitor owns (at exit), after draining them all. */
void blockdev_close_all(void);

/*
 * The node named @device (a BlockBackend name) or @node_name, with
 * QEMU's "Cannot find device=... nor node-name=..." error.
 */
BlockDriverState *bdrv_lookup_bs(const char *device, const char *node_name,
                                 Error **errp);

#endif /* QBLOCK_BLOCK_BLOCKDEV_H */
