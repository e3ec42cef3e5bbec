/*
 * io-cmds.h: qemu-io's commands over one BlockBackend.
 *
 * The command table and the commands themselves (read, write, readv,
 * aio_write, discard, map, ...) live in tools/io-cmds.c and are shared by
 * two users:
 *
 *   qblock-io   the command-line tool; it adds its own commands (open,
 *               close, quit) through IoCmdContext.extra_cmds, as qemu-io
 *               adds them to QEMU's table
 *   qblockd     the HMP command "qemu-io NODE \"CMD\"" reached through the
 *               QMP command human-monitor-command (storage-daemon/hmp-cmds.c)
 *
 * A command line is split at blanks into argv, checked against the table
 * (argument counts, an open backend, the permissions the command needs)
 * and run to completion: synchronous commands poll the main AioContext
 * until their request is done, so the caller sees the result when
 * io_cmd_run() returns.  aio_read / aio_write return at once and print
 * their report when the request completes; a caller that drops its
 * backend afterwards must drain it first (blk_unref() does).
 *
 * Output follows qemu-io: results and most messages go to @out, complaints
 * about the command line itself ("command \"x\" not found", "bad argument
 * count ...") to @err, and errors from the block layer through
 * error_report(), so whoever installed an error_set_report_func() hook
 * (the HMP monitor) gets them.
 *
 * Threads: main thread only; the commands use getopt()'s global state.
 */
#ifndef QBLOCK_BLOCK_IO_CMDS_H
#define QBLOCK_BLOCK_IO_CMDS_H

#include <stdio.h>

#include "block/block-backend.h"

typedef struct IoCmdContext IoCmdContext;

/* A command: negative -errno on failure (the tool's exit status 1). */
typedef int IoCmdFunc(IoCmdContext *ctx, int argc, char **argv);

typedef struct IoCmd {
    const char *name;
    IoCmdFunc *func;
    int argmin;
    int argmax;                 /* -1: no limit */
    bool global;                /* runs without an open backend */
    uint64_t perm;              /* BLK_PERM_* taken before it runs */
    const char *args;           /* NULL: none shown */
    const char *oneline;
    const char *altname;        /* a second name, or NULL */
    const char *help;           /* the text of "help NAME", or NULL */
} IoCmd;

struct IoCmdContext {
    /* The backend the commands act on; NULL until a tool opens one. */
    BlockBackend *blk;
    FILE *out;
    FILE *err;
    /* A program's own commands, merged into the table by name. */
    const IoCmd *extra_cmds;
    size_t n_extra_cmds;
    /* For the extra commands' own state. */
    void *opaque;
};

/*
 * Run one command line of @ctx.  A blank line does nothing.  Returns 0
 * or a negative -errno when the command failed (its message printed).
 */
int io_cmd_run(IoCmdContext *ctx, const char *line);

/* Print the synopsis of the command @name ("NAME ARGS -- what it does"). */
void io_cmd_print_usage(IoCmdContext *ctx, const char *name);

#endif /* QBLOCK_BLOCK_IO_CMDS_H */
