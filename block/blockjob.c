/*
 * blockjob.c: a Job that works on block nodes (see include/block/blockjob.h).
 *
 * What this adds to job.c:
 *
 *  - The job's BlockBackend on the node it was started on, with request
 *    queuing disabled: the job's own I/O must go on while that node is
 *    drained, or a drain that waits for the job would wait for ever.
 *
 *  - Edges (BdrvChild, class child_job) to every node the job uses,
 *    "main node" first.  They are stay_at_node, so a bdrv_replace_node()
 *    (the mirror's pivot) does not move them; and they are how a drain
 *    reaches the job: drained_begin is a pause request, drained_end
 *    takes it back, and drained_poll keeps the drain waiting while the
 *    job is still busy.  Since .run only stops at a pause point, the
 *    drain ends up waiting exactly until the job sits in one.
 *
 *  - The QMP face of a block job: the BLOCK_JOB_* events (hooked into the
 *    Job notifications), speed and its RateLimit, the io-status and the
 *    error policy, query-block-jobs and the block-job-* commands.
 *
 * Example: a mirror with on-target-error=stop gets EIO on a write and
 * calls block_job_error_action(): BLOCK_JOB_ERROR {write, stop} goes
 * out, the job takes a user pause (so block-job-cancel without force is
 * refused) and io-status becomes "failed"; at its next pause point it
 * goes to PAUSED.  block-job-resume clears io-status through
 * on_user_resume and the job retries.
 */
#include "qemu/osdep.h"

#include "block/block_int.h"
#include "block/block-backend.h"
#include "block/blockjob.h"
#include "qapi/error.h"
#include "qapi-commands.h"
#include "qapi-events.h"
#include "trace.h"

/* Only the types a BlockJobDriver may have are block jobs. */
static bool is_block_job(Job *job)
{
    switch (job->driver->job_type) {
    case JOB_TYPE_BACKUP:
    case JOB_TYPE_COMMIT:
    case JOB_TYPE_MIRROR:
    case JOB_TYPE_STREAM:
        return true;
    default:
        return false;
    }
}

BlockJob *block_job_get(const char *id)
{
    Job *job = job_get(id);

    if (job && is_block_job(job)) {
        return container_of(job, BlockJob, job);
    }
    return NULL;
}

bool block_job_is_internal(BlockJob *job)
{
    return job_is_internal(&job->job);
}

/*
 * The job's edges
 */

static char *child_job_get_parent_desc(BdrvChild *c)
{
    BlockJob *job = c->opaque;

    return g_strdup_printf("%s job '%s'", job_type_str(&job->job),
                           job->job.id ? job->job.id : "");
}

static void child_job_drained_begin(BdrvChild *c)
{
    BlockJob *job = c->opaque;

    trace_block_job_drained(job, true);
    job_pause(&job->job);
    if (job->driver->drain) {
        job->driver->drain(job);
    }
}

static void child_job_drained_end(BdrvChild *c)
{
    BlockJob *job = c->opaque;

    trace_block_job_drained(job, false);
    job_resume(&job->job);
}

static bool child_job_drained_poll(BdrvChild *c)
{
    BlockJob *bjob = c->opaque;
    Job *job = &bjob->job;

    /*
     * A job that is not busy waits in a yield, a sleep or a pause point;
     * entered again, it meets a pause point before it issues anything.
     * A completed job runs no more .run code at all.
     */
    if (!job->busy || job_is_completed(job)) {
        return false;
    }
    /* The driver may know better (a job that drains its own source). */
    if (bjob->driver->drained_poll) {
        return bjob->driver->drained_poll(bjob);
    }
    return true;
}

static const BdrvChildClass child_job = {
    .stay_at_node    = true,
    .get_parent_desc = child_job_get_parent_desc,
    .drained_begin   = child_job_drained_begin,
    .drained_end     = child_job_drained_end,
    .drained_poll    = child_job_drained_poll,
};

bool block_job_add_bdrv(BlockJob *job, const char *name,
                        BlockDriverState *bs, uint64_t perm,
                        uint64_t shared_perm, Error **errp)
{
    BdrvChild *c;

    /* The edge takes over this reference. */
    bdrv_ref(bs);
    c = bdrv_root_attach_child(bs, name, &child_job, 0, perm, shared_perm,
                               job, errp);
    if (!c) {
        bdrv_unref(bs);
        return false;
    }
    job->nodes = g_slist_prepend(job->nodes, c);
    bdrv_op_block_all(bs, job->blocker);
    return true;
}

void block_job_remove_all_bdrv(BlockJob *job)
{
    /*
     * Take each edge off the list before dropping it: dropping may end a
     * drained section, which calls back into this job.
     */
    while (job->nodes) {
        GSList *l = job->nodes;
        BdrvChild *c = l->data;

        job->nodes = l->next;
        g_slist_free_1(l);
        bdrv_op_unblock_all(c->bs, job->blocker);
        bdrv_root_unref_child(c);
    }
}

/*
 * Events, through the Job notifications
 */

static void block_job_event_ready(Job *job)
{
    BlockJob *bjob = container_of(job, BlockJob, job);

    if (block_job_is_internal(bjob)) {
        return;
    }
    qapi_event_send_block_job_ready(job->driver->job_type, job->id,
                                    job->progress_total,
                                    job->progress_current, bjob->speed);
}

static void block_job_event_pending(Job *job)
{
    if (job_is_internal(job)) {
        return;
    }
    qapi_event_send_block_job_pending(job->driver->job_type, job->id);
}

static void block_job_event_completed(Job *job)
{
    BlockJob *bjob = container_of(job, BlockJob, job);
    const char *msg = NULL;

    if (block_job_is_internal(bjob)) {
        return;
    }
    if (job->ret < 0) {
        msg = job->err ? error_get_pretty(job->err) : g_strerror(-job->ret);
    }
    qapi_event_send_block_job_completed(job->driver->job_type, job->id,
                                        job->progress_total,
                                        job->progress_current, bjob->speed,
                                        msg);
}

static void block_job_event_cancelled(Job *job)
{
    BlockJob *bjob = container_of(job, BlockJob, job);

    if (block_job_is_internal(bjob)) {
        return;
    }
    qapi_event_send_block_job_cancelled(job->driver->job_type, job->id,
                                        job->progress_total,
                                        job->progress_current, bjob->speed);
}

static void block_job_user_resume(Job *job)
{
    block_job_iostatus_reset(container_of(job, BlockJob, job));
}

static void block_job_free(Job *job)
{
    BlockJob *bjob = container_of(job, BlockJob, job);

    block_job_remove_all_bdrv(bjob);
    blk_unref(bjob->blk);
    bjob->blk = NULL;
    ratelimit_destroy(&bjob->limit);
    error_free(bjob->blocker);
    bjob->blocker = NULL;
}

/*
 * Creation
 */

/* The name of a BlockBackend on @bs, or "" (QEMU's device name). */
static const char *block_job_device_name(BlockDriverState *bs)
{
    BlockBackend *blk;

    for (blk = blk_next(NULL); blk; blk = blk_next(blk)) {
        if (blk_bs(blk) == bs) {
            return blk_name(blk);
        }
    }
    return "";
}

void *block_job_create(const char *job_id, const BlockJobDriver *driver,
                       BlockDriverState *bs, uint64_t perm,
                       uint64_t shared_perm, int64_t speed, bool auto_finalize,
                       bool auto_dismiss, Error **errp)
{
    BlockBackend *blk;
    BlockJob *job;

    GLOBAL_STATE_CODE();
    if (!job_id) {
        job_id = block_job_device_name(bs);
    }

    blk = blk_new_with_bs(bs, perm, shared_perm, errp);
    if (!blk) {
        return NULL;
    }

    job = job_create(job_id, &driver->job_driver, bdrv_get_aio_context(bs),
                     auto_finalize, auto_dismiss, errp);
    if (!job) {
        blk_unref(blk);
        return NULL;
    }
    assert(is_block_job(&job->job));

    job->driver = driver;
    job->blk = blk;
    error_setg(&job->blocker, "block device is in use by block job: %s",
               job_type_str(&job->job));
    job->iostatus = BLOCK_DEVICE_IO_STATUS_OK;
    ratelimit_init(&job->limit);
    job->job.on_ready = block_job_event_ready;
    job->job.on_pending = block_job_event_pending;
    job->job.on_finalize_completed = block_job_event_completed;
    job->job.on_finalize_cancelled = block_job_event_cancelled;
    job->job.on_user_resume = block_job_user_resume;
    job->job.on_free = block_job_free;
    job->job.notify_opaque = job;
    trace_block_job_create(job, bs, job_id, speed);

    /* Needs nothing, shares everything: only here to see drains. */
    if (!block_job_add_bdrv(job, "main node", bs, 0, BLK_PERM_ALL, errp)) {
        job_early_fail(&job->job);
        return NULL;
    }
    blk_set_disable_request_queuing(blk, true);
    blk_set_job_owned(blk);

    if (!block_job_set_speed(job, speed, errp)) {
        job_early_fail(&job->job);
        return NULL;
    }
    return job;
}

/*
 * Speed
 */

bool block_job_set_speed(BlockJob *job, int64_t speed, Error **errp)
{
    int64_t old_speed = job->speed;

    GLOBAL_STATE_CODE();
    if (!job_apply_verb(&job->job, JOB_VERB_SET_SPEED, errp)) {
        return false;
    }
    if (speed < 0) {
        error_setg(errp, "Parameter 'speed' expects a non-negative value");
        return false;
    }
    trace_block_job_set_speed(job, speed);
    ratelimit_set_speed(&job->limit, speed, BLOCK_JOB_SLICE_TIME);
    job->speed = speed;

    /* A lower limit can wait for the sleep to end; a higher one cannot. */
    if (speed && speed <= old_speed) {
        return true;
    }
    if (timer_pending(&job->job.sleep_timer)) {
        job_enter(&job->job);
    }
    return true;
}

int64_t block_job_ratelimit_get_delay(BlockJob *job, uint64_t n)
{
    if (!job->speed) {
        return 0;
    }
    return ratelimit_calculate_delay(&job->limit, n);
}

/*
 * I/O errors
 */

static void block_job_iostatus_set_err(BlockJob *job, int error)
{
    if (job->iostatus == BLOCK_DEVICE_IO_STATUS_OK) {
        job->iostatus = error == ENOSPC ? BLOCK_DEVICE_IO_STATUS_NOSPACE
                                        : BLOCK_DEVICE_IO_STATUS_FAILED;
    }
}

void block_job_iostatus_reset(BlockJob *job)
{
    job->iostatus = BLOCK_DEVICE_IO_STATUS_OK;
}

BlockErrorAction block_job_error_action(BlockJob *job,
                                        BlockdevOnError on_err,
                                        bool is_read, int error)
{
    BlockErrorAction action;

    switch (on_err) {
    case BLOCKDEV_ON_ERROR_ENOSPC:
    case BLOCKDEV_ON_ERROR_AUTO:
        action = error == ENOSPC ? BLOCK_ERROR_ACTION_STOP
                                 : BLOCK_ERROR_ACTION_REPORT;
        break;
    case BLOCKDEV_ON_ERROR_STOP:
        action = BLOCK_ERROR_ACTION_STOP;
        break;
    case BLOCKDEV_ON_ERROR_IGNORE:
        action = BLOCK_ERROR_ACTION_IGNORE;
        break;
    case BLOCKDEV_ON_ERROR_REPORT:
    default:
        action = BLOCK_ERROR_ACTION_REPORT;
        break;
    }
    trace_block_job_error_action(job, is_read, error,
                                 BlockErrorAction_str(action));
    if (!block_job_is_internal(job)) {
        qapi_event_send_block_job_error(job->job.id,
                                        is_read ? IO_OPERATION_TYPE_READ
                                                : IO_OPERATION_TYPE_WRITE,
                                        action);
    }
    if (action == BLOCK_ERROR_ACTION_STOP) {
        if (!job->job.user_paused) {
            /* As if the user paused it: only a user resume goes on. */
            job_pause(&job->job);
            job->job.user_paused = true;
        }
        block_job_iostatus_set_err(job, error);
    }
    return action;
}

/*
 * query-block-jobs
 */

BlockJobInfo *block_job_query(BlockJob *job, Error **errp)
{
    BlockJobInfo *info;

    if (block_job_is_internal(job)) {
        error_setg(errp, "Cannot query QEMU internal jobs");
        return NULL;
    }
    info = g_new0(BlockJobInfo, 1);
    info->type = g_strdup(job_type_str(&job->job));
    info->device = g_strdup(job->job.id);
    info->len = job->job.progress_total;
    info->offset = job->job.progress_current;
    info->busy = job->job.busy;
    info->paused = job->job.pause_count > 0;
    info->speed = job->speed;
    info->io_status = job->iostatus;
    info->ready = job_is_ready(&job->job);
    info->status = job->job.status;
    info->auto_finalize = job->job.auto_finalize;
    info->auto_dismiss = job->job.auto_dismiss;
    if (job->job.ret) {
        info->error = g_strdup(job->job.err
                               ? error_get_pretty(job->job.err)
                               : g_strerror(-job->job.ret));
    }
    return info;
}
