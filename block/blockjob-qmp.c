/*
 * blockjob-qmp.c: the block-job-* QMP commands and query-block-jobs
 * (qapi/block-core.json).
 *
 * They differ from the job-* ones in what QEMU 7.2 replies: an unknown
 * job is class DeviceNotActive, "Block job 'x' not found"; and
 * block-job-cancel is a soft cancel unless @force, refused for a job the
 * user paused ("The block job for device 'x' is currently paused").
 */
#include "qemu/osdep.h"

#include "block/blockjob.h"
#include "qapi/error.h"
#include "qapi-commands.h"
#include "trace.h"

static BlockJob *find_block_job(const char *id, Error **errp)
{
    BlockJob *job = block_job_get(id);

    if (!job) {
        error_set(errp, ERROR_CLASS_DEVICE_NOT_ACTIVE,
                  "Block job '%s' not found", id);
    }
    return job;
}

/* Pass a verb's error on, as the bool the handlers return. */
static bool block_job_verb_done(Error *local_err, Error **errp)
{
    if (local_err) {
        error_propagate(errp, local_err);
        return false;
    }
    return true;
}

bool qmp_block_job_set_speed(const char *device, int64_t speed, Error **errp)
{
    BlockJob *job = find_block_job(device, errp);

    if (!job) {
        return false;
    }
    return block_job_set_speed(job, speed, errp);
}

bool qmp_block_job_cancel(const char *device, bool has_force, bool force,
                          Error **errp)
{
    Error *local_err = NULL;
    BlockJob *job = find_block_job(device, errp);

    if (!job) {
        return false;
    }
    if (!has_force) {
        force = false;
    }
    if (job_user_paused(&job->job) && !force) {
        error_setg(errp, "The block job for device '%s' is currently paused",
                   device);
        return false;
    }
    trace_qmp_block_job_cancel(job);
    job_user_cancel(&job->job, force, &local_err);
    return block_job_verb_done(local_err, errp);
}

bool qmp_block_job_pause(const char *device, Error **errp)
{
    Error *local_err = NULL;
    BlockJob *job = find_block_job(device, errp);

    if (!job) {
        return false;
    }
    trace_qmp_block_job_pause(job);
    job_user_pause(&job->job, &local_err);
    return block_job_verb_done(local_err, errp);
}

bool qmp_block_job_resume(const char *device, Error **errp)
{
    Error *local_err = NULL;
    BlockJob *job = find_block_job(device, errp);

    if (!job) {
        return false;
    }
    trace_qmp_block_job_resume(job);
    job_user_resume(&job->job, &local_err);
    return block_job_verb_done(local_err, errp);
}

bool qmp_block_job_complete(const char *device, Error **errp)
{
    Error *local_err = NULL;
    BlockJob *job = find_block_job(device, errp);

    if (!job) {
        return false;
    }
    trace_qmp_block_job_complete(job);
    job_complete(&job->job, &local_err);
    return block_job_verb_done(local_err, errp);
}

bool qmp_block_job_finalize(const char *id, Error **errp)
{
    Error *local_err = NULL;
    BlockJob *job = find_block_job(id, errp);

    if (!job) {
        return false;
    }
    trace_qmp_block_job_finalize(job);
    /* Finalizing may dismiss the job: keep it alive until we are done. */
    job_ref(&job->job);
    job_finalize(&job->job, &local_err);
    job_unref(&job->job);
    return block_job_verb_done(local_err, errp);
}

bool qmp_block_job_dismiss(const char *id, Error **errp)
{
    Error *local_err = NULL;
    BlockJob *bjob = find_block_job(id, errp);
    Job *job;

    if (!bjob) {
        return false;
    }
    trace_qmp_block_job_dismiss(bjob);
    job = &bjob->job;
    job_dismiss(&job, &local_err);
    return block_job_verb_done(local_err, errp);
}

BlockJobInfoList *qmp_query_block_jobs(Error **errp)
{
    BlockJobInfoList *head = NULL, **tail = &head;
    Job *job;

    for (job = job_next(NULL); job; job = job_next(job)) {
        BlockJobInfoList *elem;
        BlockJobInfo *info;
        BlockJob *bjob;

        if (job_is_internal(job) || !block_job_get(job->id)) {
            continue;
        }
        bjob = container_of(job, BlockJob, job);
        info = block_job_query(bjob, errp);
        if (!info) {
            qapi_free_BlockJobInfoList(head);
            return NULL;
        }
        elem = g_new0(BlockJobInfoList, 1);
        elem->value = info;
        *tail = elem;
        tail = &elem->next;
    }
    return head;
}
