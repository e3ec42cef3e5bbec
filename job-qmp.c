/*
 * job-qmp.c: the job-* QMP commands and query-jobs (qapi/job.json).
 *
 * Each command finds the job by ID ("Job not found", GenericError, as
 * QEMU 7.2 replies) and hands over to the verb in job.c, which checks
 * the verb table.  Internal jobs have no ID, so no command can reach
 * them.
 */
#include "qemu/osdep.h"

#include "qemu/job.h"
#include "qapi/error.h"
#include "qapi-commands.h"
#include "trace.h"

static Job *find_job(const char *id, Error **errp)
{
    Job *job = job_get(id);

    if (!job) {
        error_setg(errp, "Job not found");
    }
    return job;
}

bool qmp_job_cancel(const char *id, Error **errp)
{
    Error *local_err = NULL;
    Job *job = find_job(id, errp);

    if (!job) {
        return false;
    }
    trace_qmp_job_cancel(job);
    job_user_cancel(job, true, &local_err);
    if (local_err) {
        error_propagate(errp, local_err);
        return false;
    }
    return true;
}

bool qmp_job_pause(const char *id, Error **errp)
{
    Error *local_err = NULL;
    Job *job = find_job(id, errp);

    if (!job) {
        return false;
    }
    trace_qmp_job_pause(job);
    job_user_pause(job, &local_err);
    if (local_err) {
        error_propagate(errp, local_err);
        return false;
    }
    return true;
}

bool qmp_job_resume(const char *id, Error **errp)
{
    Error *local_err = NULL;
    Job *job = find_job(id, errp);

    if (!job) {
        return false;
    }
    trace_qmp_job_resume(job);
    job_user_resume(job, &local_err);
    if (local_err) {
        error_propagate(errp, local_err);
        return false;
    }
    return true;
}

bool qmp_job_complete(const char *id, Error **errp)
{
    Error *local_err = NULL;
    Job *job = find_job(id, errp);

    if (!job) {
        return false;
    }
    trace_qmp_job_complete(job);
    job_complete(job, &local_err);
    if (local_err) {
        error_propagate(errp, local_err);
        return false;
    }
    return true;
}

bool qmp_job_finalize(const char *id, Error **errp)
{
    Error *local_err = NULL;
    Job *job = find_job(id, errp);

    if (!job) {
        return false;
    }
    trace_qmp_job_finalize(job);
    /* Finalizing may dismiss the job: keep it alive until we are done. */
    job_ref(job);
    job_finalize(job, &local_err);
    job_unref(job);
    if (local_err) {
        error_propagate(errp, local_err);
        return false;
    }
    return true;
}

bool qmp_job_dismiss(const char *id, Error **errp)
{
    Error *local_err = NULL;
    Job *job = find_job(id, errp);

    if (!job) {
        return false;
    }
    trace_qmp_job_dismiss(job);
    job_dismiss(&job, &local_err);
    if (local_err) {
        error_propagate(errp, local_err);
        return false;
    }
    return true;
}

static JobInfo *job_query_single(Job *job)
{
    JobInfo *info = g_new0(JobInfo, 1);

    info->id = g_strdup(job->id);
    info->type = job->driver->job_type;
    info->status = job->status;
    info->current_progress = job->progress_current;
    info->total_progress = job->progress_total;
    if (job->ret) {
        info->error = g_strdup(job->err ? error_get_pretty(job->err)
                                        : g_strerror(-job->ret));
    }
    return info;
}

JobInfoList *qmp_query_jobs(Error **errp)
{
    JobInfoList *head = NULL, **tail = &head;
    Job *job;

    for (job = job_next(NULL); job; job = job_next(job)) {
        JobInfoList *elem;

        if (job_is_internal(job)) {
            continue;
        }
        elem = g_new0(JobInfoList, 1);
        elem->value = job_query_single(job);
        *tail = elem;
        tail = &elem->next;
    }
    return head;
}
