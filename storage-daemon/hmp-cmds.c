/*
 * hmp-cmds.c: qblockd's HMP commands, run through human-monitor-command.
 *
 * There is one, QEMU's "qemu-io [-d] DEVICE \"COMMAND\"": it runs a
 * qemu-io command (the same code as qblock-io, tools/io-cmds.c) on a
 * block node of the live daemon, so that a test can write into a node
 * while a job runs, as QEMU's own iotests do.
 *
 * What QEMU 7.2 does, and qblockd with it:
 *
 *   - DEVICE names a BlockBackend, or else a node ("Cannot find device=''
 *     nor node-name='x'").  With -d it is a guest device ID; qblockd has
 *     no guest devices, so -d always fails ("Device 'x' not found").
 *   - For a node, a temporary BlockBackend is put on it that takes no
 *     permission and shares them all; a command that writes then asks for
 *     write permission, and fails with the block layer's message (a
 *     read-only node, or a job's target that does not share writes) in
 *     the reply.  The backend goes away after the command, once its
 *     requests (an aio_write too) are done.
 *   - The command runs to completion before the reply; the main loop
 *     keeps running meanwhile (jobs go on).
 *   - What the qemu-io command prints goes to the daemon's stdout and
 *     stderr, not into the reply, which is "" unless the block layer
 *     reported an error.
 *
 * During a mirror, a node below the job's filter still belongs to the
 * source: QEMU tracks the dirty blocks on the source node, so writes
 * there are copied too.  The filter node is reachable by name only when
 * blockdev-mirror was given filter-node-name.
 */
#include "qemu/osdep.h"

#include "block/block-backend.h"
#include "block/blockdev.h"
#include "block/io-cmds.h"
#include "monitor/hmp.h"
#include "qemu/aio.h"
#include "storage-daemon/hmp-cmds.h"

static void hmp_qemu_io(GString *out, GHashTable *args)
{
    const char *device = hmp_arg_str(args, "device");
    const char *command = hmp_arg_str(args, "command");
    BlockBackend *local_blk = NULL;
    BlockBackend *blk;
    Error *err = NULL;
    IoCmdContext ctx = { .out = stdout, .err = stderr };

    if (hmp_arg_flag(args, "qdev")) {
        /* No guest devices here: no device ID can match. */
        error_setg(&err, "Device '%s' not found", device);
        hmp_handle_error(out, err);
        return;
    }
    blk = blk_by_name(device);
    if (!blk) {
        BlockDriverState *bs = bdrv_lookup_bs(NULL, device, &err);

        if (!bs) {
            hmp_handle_error(out, err);
            return;
        }
        local_blk = blk_new(qemu_get_aio_context(), 0, BLK_PERM_ALL);
        if (blk_insert_bs(local_blk, bs, &err) < 0) {
            blk_unref(local_blk);
            hmp_handle_error(out, err);
            return;
        }
        blk = local_blk;
    }
    ctx.blk = blk;
    io_cmd_run(&ctx, command);
    /* Drains first: an aio request prints its report before this returns. */
    blk_unref(local_blk);
    fflush(stdout);
    fflush(stderr);
}

static const HmpCommand hmp_qemu_io_cmd = {
    .name = "qemu-io",
    .args_type = "qdev:-d,device:B,command:s",
    .func = hmp_qemu_io,
};

void hmp_register_daemon_commands(void)
{
    hmp_register_command(&hmp_qemu_io_cmd);
}
