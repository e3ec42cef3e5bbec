/*
 * blockjob.h: a Job that works on block nodes (mirror, later others).
 *
 * A BlockJob adds to Job what block jobs share in QMP: the node it works
 * on (its "device" is the job ID), a speed limit with a RateLimit, the
 * io-status and error policy (on-source-error / on-target-error), the
 * BLOCK_JOB_* events, query-block-jobs and the block-job-* commands.
 *
 * The job holds edges to the nodes it uses (block_job_add_bdrv): their
 * class is stay_at_node, so bdrv_replace_node() leaves them in place, and
 * a drained section on any of them pauses the job (each drain is a pause
 * request, ended by the drain's end).
 */
#ifndef QBLOCK_BLOCK_BLOCKJOB_H
#define QBLOCK_BLOCK_BLOCKJOB_H

#include "qemu/job.h"
#include "qemu/ratelimit.h"
#include "block/block.h"

/* QEMU's slice: rate limiting windows and idle READY wake-ups (ns). */
#define BLOCK_JOB_SLICE_TIME 100000000ULL

typedef struct BlockJobDriver BlockJobDriver;

typedef struct BlockJob {
    /* First member: a BlockJob is a Job. */
    Job job;
    const BlockJobDriver *driver;

    /* The node the job was started on (blk_bs of a root edge). */
    BlockBackend *blk;

    /* bytes/s; 0 = unlimited.  The limiter works on 100 ms slices. */
    int64_t speed;
    RateLimit limit;

    /* ok, failed or nospace: set by a "stop" error action. */
    BlockDeviceIoStatus iostatus;

    /* Edges to the nodes the job uses (stay_at_node). */
    GSList *nodes;
    /* Why those nodes are blocked ("block device is in use by ..."). */
    Error *blocker;
} BlockJob;

struct BlockJobDriver {
    /* First member. */
    JobDriver job_driver;
    /*
     * A node the job uses was drained: flush what it has in flight
     * (optional; the job pauses anyway).
     */
    void (*drain)(BlockJob *job);
    /*
     * While a node the job uses is being drained: true as long as the
     * drain must still wait for the job (it has requests in flight).
     * Empty slot: while the job is busy and not paused.  A job that
     * drains its own source from .run says false then, or the drain
     * would wait for itself (mirror's final drain).
     */
    bool (*drained_poll)(BlockJob *job);
};

/*
 * Create a block job on @bs: ID @job_id (NULL: the node's BlockBackend
 * name, and "Invalid job ID ''" without one, as in QEMU's daemon), @speed
 * (negative: "Parameter 'speed' expects a non-negative value"), with the
 * job's own BlockBackend on @bs taking @perm and sharing @shared_perm.
 * On failure nothing is left behind (the job's CREATED and NULL status
 * events are sent, as in QEMU).
 */
void *block_job_create(const char *job_id, const BlockJobDriver *driver,
                       BlockDriverState *bs, uint64_t perm,
                       uint64_t shared_perm, int64_t speed, bool auto_finalize,
                       bool auto_dismiss, Error **errp);

/*
 * Also use @bs: an edge named @name taking @perm, sharing @shared_perm;
 * dropped when the job ends.  The error is QEMU's permission message.
 */
bool block_job_add_bdrv(BlockJob *job, const char *name,
                        BlockDriverState *bs, uint64_t perm,
                        uint64_t shared_perm, Error **errp);
/*
 * Each node added is also blocked for other jobs, blockdev-del and
 * block_resize (bdrv_op_block_all) with the reason "block device is in
 * use by block job: <type>", until it is removed.
 *
 * Drop every edge added by block_job_add_bdrv (before a pivot).
 */
void block_job_remove_all_bdrv(BlockJob *job);

bool block_job_set_speed(BlockJob *job, int64_t speed, Error **errp);
/* How long to sleep (ns) before copying @n more bytes at the set speed. */
int64_t block_job_ratelimit_get_delay(BlockJob *job, uint64_t n);

/*
 * An I/O error @error (positive errno) of the job, on a read (@is_read)
 * or a write, under policy @on_err: sends BLOCK_JOB_ERROR and returns
 * the action.  "stop" also pauses the job as a user pause and sets the
 * io-status (failed, or nospace for ENOSPC).  enospc and auto stop on
 * ENOSPC and report the rest.
 */
BlockErrorAction block_job_error_action(BlockJob *job,
                                        BlockdevOnError on_err,
                                        bool is_read, int error);
void block_job_iostatus_reset(BlockJob *job);

/* The block job named @id (job-* IDs), or NULL. */
BlockJob *block_job_get(const char *id);
bool block_job_is_internal(BlockJob *job);
/* query-block-jobs' entry for @job. */
BlockJobInfo *block_job_query(BlockJob *job, Error **errp);

#endif /* QBLOCK_BLOCK_BLOCKJOB_H */
