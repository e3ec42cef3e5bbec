/*
 * job.c: the generic job state machine (see include/qemu/job.h).
 *
 * A job's status only ever changes in job_state_transition(), which
 * looks the change up in job_transition_table, traces it and sends
 * JOB_STATUS_CHANGE; a user's request goes through job_apply_verb() and
 * job_verb_table first.  Both tables are QEMU 7.2's (qmp-contract.md
 * section 3), written out as data so that a reader can check them
 * against the spec row by row.
 *
 * The life of a job, in the order the code runs:
 *
 *   job_create        UNDEFINED -> CREATED, one pause request held so
 *                     that nothing enters .run before job_start()
 *   job_start         -> RUNNING; the coroutine runs .run
 *   .run returns      job_co_entry() schedules job_exit() in a bottom
 *                     half, so completion never runs on .run's stack
 *   job_exit          job_completed(): with ret == 0 the success path,
 *                     else the failure path
 *   success           -> WAITING -> PENDING (+ on_pending without
 *                     auto-finalize); job_do_finalize() at once with
 *                     auto-finalize, else on job-finalize
 *   job_do_finalize   .prepare; a failure there joins the failure path;
 *                     else job_finalize_single(): .commit, .clean,
 *                     on_finalize_completed, -> CONCLUDED
 *   failure           -> ABORTING; job_finalize_single(): .abort,
 *                     .clean, on_finalize_cancelled (a forced cancel) or
 *                     on_finalize_completed (an error), -> CONCLUDED
 *   conclude          -> NULL at once with auto-dismiss (or for a job that
 *                     never started), else on job-dismiss
 *
 * Every job is its own transaction: qblock has no 'transaction' command,
 * so where QEMU walks the jobs of a transaction this code handles the
 * one job.  What remains of the idea is abort_started, which keeps the
 * failure path from being entered twice when a cancel has to wait for a
 * job whose .run has returned but whose job_exit() has not run yet.
 *
 * Pausing is counted: job_pause() adds a request, job_resume() removes
 * one, and .run stops at its next pause point while any is held.  The
 * user's pause (and an error action "stop") is one of these requests,
 * marked by user_paused so that only a user resume (or a cancel) takes
 * it back.  A drained node the job uses holds another, per drain.
 *
 * Worked example (a mirror, auto-finalize off): created, running, ready;
 * job-pause gives standby; block-job-complete is accepted (the verb table
 * allows it in standby) but the mirror only notes it; job-resume gives
 * ready, the mirror finishes, .run returns 0: waiting, pending,
 * BLOCK_JOB_PENDING; job-finalize: BLOCK_JOB_COMPLETED, concluded,
 * null, and then the command's own return.
 */
#include "qemu/osdep.h"

#include "qemu/id.h"
#include "qemu/job.h"
#include "qapi/error.h"
#include "qapi-events.h"
#include "trace.h"

/* Every job that is not dismissed yet, newest first (as QEMU lists). */
static QLIST_HEAD(, Job) jobs = QLIST_HEAD_INITIALIZER(jobs);

/*
 * The transitions a job may make: job_transition_table[from][to].  Rows
 * and columns in JobStatus order: U C R P Y S W D X E N.
 */
static const bool job_transition_table[JOB_STATUS__MAX][JOB_STATUS__MAX] = {
    /*                      U  C  R  P  Y  S  W  D  X  E  N */
    [JOB_STATUS_UNDEFINED] = {0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0},
    [JOB_STATUS_CREATED]   = {0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 1},
    [JOB_STATUS_RUNNING]   = {0, 0, 0, 1, 1, 0, 1, 0, 1, 0, 0},
    [JOB_STATUS_PAUSED]    = {0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0},
    [JOB_STATUS_READY]     = {0, 0, 0, 0, 0, 1, 1, 0, 1, 0, 0},
    [JOB_STATUS_STANDBY]   = {0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0},
    [JOB_STATUS_WAITING]   = {0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0},
    [JOB_STATUS_PENDING]   = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0},
    [JOB_STATUS_ABORTING]  = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0},
    [JOB_STATUS_CONCLUDED] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1},
    [JOB_STATUS_NULL]      = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
};

/* The states in which a user verb is accepted: job_verb_table[verb][s]. */
static const bool job_verb_table[JOB_VERB__MAX][JOB_STATUS__MAX] = {
    /*                     U  C  R  P  Y  S  W  D  X  E  N */
    [JOB_VERB_CANCEL]    = {0, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0},
    [JOB_VERB_PAUSE]     = {0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0},
    [JOB_VERB_RESUME]    = {0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0},
    [JOB_VERB_SET_SPEED] = {0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0},
    [JOB_VERB_COMPLETE]  = {0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0},
    [JOB_VERB_DISMISS]   = {0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0},
    [JOB_VERB_FINALIZE]  = {0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0},
};

static void job_completed(Job *job);
static void job_completed_abort(Job *job);
static int job_finish_sync_with(Job *job, void (*finish)(Job *, Error **),
                                Error **errp);

/*
 * Tables and queries
 */

static void job_state_transition(Job *job, JobStatus s1)
{
    JobStatus s0 = job->status;

    assert(s1 >= 0 && s1 < JOB_STATUS__MAX);
    trace_job_state_transition(job, job->ret,
                               job_transition_table[s0][s1] ? "allowed"
                                                            : "disallowed",
                               JobStatus_str(s0), JobStatus_str(s1));
    assert(job_transition_table[s0][s1]);
    job->status = s1;
    if (!job_is_internal(job) && s1 != s0) {
        qapi_event_send_job_status_change(job->id, job->status);
    }
}

bool job_apply_verb(Job *job, JobVerb verb, Error **errp)
{
    JobStatus s0 = job->status;

    assert(verb >= 0 && verb < JOB_VERB__MAX);
    trace_job_apply_verb(job, JobStatus_str(s0), JobVerb_str(verb),
                         job_verb_table[verb][s0] ? "allowed" : "prohibited");
    if (job_verb_table[verb][s0]) {
        return true;
    }
    error_setg(errp, "Job '%s' in state '%s' cannot accept command verb '%s'",
               job->id, JobStatus_str(s0), JobVerb_str(verb));
    return false;
}

bool job_is_internal(Job *job)
{
    return job->id == NULL;
}

const char *job_type_str(const Job *job)
{
    return JobType_str(job->driver->job_type);
}

/* .run has been entered (an unstarted job concludes without events). */
static bool job_started(Job *job)
{
    return job->co != NULL;
}

static bool job_should_pause(Job *job)
{
    return job->pause_count > 0;
}

bool job_is_cancelled(Job *job)
{
    /* A soft cancel is not a cancel for .run: it must finish its work. */
    return job->cancelled && job->force_cancel;
}

bool job_cancel_requested(Job *job)
{
    return job->cancelled;
}

bool job_is_ready(Job *job)
{
    return job->status == JOB_STATUS_READY ||
           job->status == JOB_STATUS_STANDBY;
}

bool job_is_completed(Job *job)
{
    switch (job->status) {
    case JOB_STATUS_WAITING:
    case JOB_STATUS_PENDING:
    case JOB_STATUS_ABORTING:
    case JOB_STATUS_CONCLUDED:
    case JOB_STATUS_NULL:
        return true;
    default:
        return false;
    }
}

bool job_user_paused(Job *job)
{
    return job->user_paused;
}

Job *job_get(const char *id)
{
    Job *job;

    QLIST_FOREACH(job, &jobs, job_list) {
        if (job->id && !strcmp(id, job->id)) {
            return job;
        }
    }
    return NULL;
}

Job *job_next(Job *job)
{
    return job ? QLIST_NEXT(job, job_list) : QLIST_FIRST(&jobs);
}

/*
 * Creation and references
 */


static void job_sleep_timer_cb(void *opaque)
{
    job_enter(opaque);
}

void *job_create(const char *job_id, const JobDriver *driver,
                 AioContext *ctx, bool auto_finalize, bool auto_dismiss,
                 Error **errp)
{
    Job *job;

    assert(driver->instance_size >= sizeof(Job));
    if (job_id) {
        if (!id_wellformed(job_id)) {
            error_setg(errp, "Invalid job ID '%s'", job_id);
            return NULL;
        }
        if (job_get(job_id)) {
            error_setg(errp, "Job ID '%s' already in use", job_id);
            return NULL;
        }
    }

    job = g_malloc0(driver->instance_size);
    job->driver = driver;
    job->id = g_strdup(job_id);
    job->refcnt = 1;
    job->aio_context = ctx ? ctx : qemu_get_aio_context();
    job->status = JOB_STATUS_UNDEFINED;
    /* Held until job_start(): nothing may enter .run before that. */
    job->pause_count = 1;
    job->paused = true;
    job->busy = false;
    job->auto_finalize = auto_finalize;
    job->auto_dismiss = auto_dismiss;
    aio_timer_init(job->aio_context, &job->sleep_timer, QEMU_CLOCK_REALTIME,
                   SCALE_NS, job_sleep_timer_cb, job);
    QLIST_INSERT_HEAD(&jobs, job, job_list);
    trace_job_create(job, job_id ? job_id : "", JobType_str(driver->job_type));

    job_state_transition(job, JOB_STATUS_CREATED);
    return job;
}

void job_ref(Job *job)
{
    job->refcnt++;
}

void job_unref(Job *job)
{
    assert(job->refcnt > 0);
    if (--job->refcnt > 0) {
        return;
    }
    assert(job->status == JOB_STATUS_NULL);
    assert(!timer_pending(&job->sleep_timer));
    if (job->driver->free) {
        job->driver->free(job);
    }
    if (job->on_free) {
        job->on_free(job);
    }
    timer_deinit(&job->sleep_timer);
    error_free(job->err);
    g_free(job->id);
    g_free(job);
}

/* Out of the list (gone for QMP), NULL, and the creation reference. */
static void job_do_dismiss(Job *job)
{
    assert(job);
    job->busy = false;
    job->paused = false;
    job->deferred_to_main_loop = true;
    timer_del(&job->sleep_timer);
    QLIST_REMOVE(job, job_list);
    job_state_transition(job, JOB_STATUS_NULL);
    job_unref(job);
}

void job_early_fail(Job *job)
{
    assert(job->status == JOB_STATUS_CREATED);
    job_do_dismiss(job);
}

/*
 * Progress
 */

void job_progress_update(Job *job, uint64_t done)
{
    job->progress_current += done;
}

void job_progress_set_remaining(Job *job, uint64_t remaining)
{
    job->progress_total = job->progress_current + remaining;
}

void job_progress_increase_remaining(Job *job, uint64_t delta)
{
    job->progress_total += delta;
}

/*
 * The coroutine side: running, waiting and pausing
 */

void job_enter(Job *job)
{
    if (!job_started(job) || job->deferred_to_main_loop || job->busy) {
        return;
    }
    timer_del(&job->sleep_timer);
    job->busy = true;
    trace_job_enter(job);
    aio_co_enter(job->aio_context, job->co);
}

/*
 * Give the thread away until job_enter(); with @deadline_ns != -1 the
 * sleep timer calls it at that time on the realtime clock.
 */
static void coroutine_fn job_do_yield(Job *job, int64_t deadline_ns)
{
    assert(job->busy);
    if (deadline_ns != -1) {
        timer_mod_ns(&job->sleep_timer, deadline_ns);
    }
    job->busy = false;
    trace_job_yield(job, deadline_ns);
    qemu_coroutine_yield();
    /* job_enter() disarmed the timer and marked the job busy. */
    assert(job->busy);
}

void coroutine_fn job_pause_point(Job *job)
{
    JobStatus status;

    assert(job->co == qemu_coroutine_self());
    if (!job_should_pause(job) || job_is_cancelled(job)) {
        return;
    }
    if (job->driver->pause) {
        job->driver->pause(job);
    }
    /* .pause may have waited: look again. */
    if (job_should_pause(job) && !job_is_cancelled(job)) {
        status = job->status;
        job_state_transition(job, status == JOB_STATUS_READY
                                  ? JOB_STATUS_STANDBY : JOB_STATUS_PAUSED);
        job->paused = true;
        job_do_yield(job, -1);
        job->paused = false;
        job_state_transition(job, status);
    }
    if (job->driver->resume) {
        job->driver->resume(job);
    }
}

void coroutine_fn job_yield(Job *job)
{
    assert(job->busy);
    /* A job cancelled meanwhile must not wait for a wake-up. */
    if (job_is_cancelled(job)) {
        return;
    }
    if (!job_should_pause(job)) {
        job_do_yield(job, -1);
    }
    job_pause_point(job);
}

void coroutine_fn job_sleep_ns(Job *job, int64_t ns)
{
    assert(job->busy);
    if (job_is_cancelled(job)) {
        return;
    }
    if (!job_should_pause(job)) {
        job_do_yield(job, qemu_clock_get_ns(QEMU_CLOCK_REALTIME) + ns);
    }
    job_pause_point(job);
}

static void job_exit(void *opaque)
{
    Job *job = opaque;

    job_ref(job);
    /*
     * Not really idle, but what follows may drain the job's nodes, and
     * a drain must not wait for a job that is now only being completed.
     */
    job->busy = false;
    job_completed(job);
    job_unref(job);
}

static void coroutine_fn job_co_entry(void *opaque)
{
    Job *job = opaque;
    int ret;

    assert(job->driver->run);
    job_pause_point(job);
    ret = job->driver->run(job, &job->err);
    job->ret = ret;
    trace_job_run_returned(job, ret);
    job->deferred_to_main_loop = true;
    job->busy = true;
    aio_bh_schedule_oneshot(qemu_get_aio_context(), job_exit, job);
}

void job_start(Job *job)
{
    assert(job->status == JOB_STATUS_CREATED);
    assert(!job_started(job));
    job->co = qemu_coroutine_create(job_co_entry, job);
    job->pause_count--;
    job->busy = true;
    job->paused = false;
    job_state_transition(job, JOB_STATUS_RUNNING);
    aio_co_enter(job->aio_context, job->co);
}

void job_transition_to_ready(Job *job)
{
    job_state_transition(job, JOB_STATUS_READY);
    if (job->on_ready) {
        job->on_ready(job);
    }
}

/*
 * Pause requests
 */

void job_pause(Job *job)
{
    job->pause_count++;
    /* A sleeping job must get to its pause point now, not when it wakes. */
    if (!job->paused) {
        job_enter(job);
    }
}

void job_resume(Job *job)
{
    assert(job->pause_count > 0);
    job->pause_count--;
    if (job->pause_count) {
        return;
    }
    /* Leave a sleeping job asleep: its timer wakes it. */
    if (!timer_pending(&job->sleep_timer)) {
        job_enter(job);
    }
}

void job_user_pause(Job *job, Error **errp)
{
    if (!job_apply_verb(job, JOB_VERB_PAUSE, errp)) {
        return;
    }
    if (job->user_paused) {
        error_setg(errp, "Job is already paused");
        return;
    }
    job->user_paused = true;
    job_pause(job);
}

void job_user_resume(Job *job, Error **errp)
{
    if (!job->user_paused || job->pause_count <= 0) {
        error_setg(errp, "Can't resume a job that was not paused");
        return;
    }
    if (!job_apply_verb(job, JOB_VERB_RESUME, errp)) {
        return;
    }
    if (job->on_user_resume) {
        job->on_user_resume(job);
    }
    job->user_paused = false;
    job_resume(job);
}

/*
 * Completion
 */

/*
 * Turn a cancel or an error into ret and err, and start the failure
 * path if there is one.
 */
static void job_update_rc(Job *job)
{
    if (!job->ret && job_is_cancelled(job)) {
        job->ret = -ECANCELED;
    }
    if (job->ret) {
        if (!job->err) {
            error_setg(&job->err, "%s", g_strerror(-job->ret));
        }
        job_state_transition(job, JOB_STATUS_ABORTING);
    }
}

static void job_conclude(Job *job)
{
    job_state_transition(job, JOB_STATUS_CONCLUDED);
    if (job->auto_dismiss || !job_started(job)) {
        job_do_dismiss(job);
    }
}

/* .commit or .abort, .clean, the owner's event, CONCLUDED. */
static void job_finalize_single(Job *job)
{
    assert(job_is_completed(job));
    /* A cancel after .prepare (in PENDING) still ends in .abort. */
    job_update_rc(job);
    trace_job_finalize_single(job, job->ret);
    if (!job->ret) {
        if (job->driver->commit) {
            job->driver->commit(job);
        }
    } else {
        if (job->driver->abort) {
            job->driver->abort(job);
        }
    }
    if (job->driver->clean) {
        job->driver->clean(job);
    }
    /* A job that never ran has nothing to report. */
    if (job_started(job)) {
        if (job_is_cancelled(job)) {
            if (job->on_finalize_cancelled) {
                job->on_finalize_cancelled(job);
            }
        } else if (job->on_finalize_completed) {
            job->on_finalize_completed(job);
        }
    }
    job_conclude(job);
}

static void job_completed_abort(Job *job)
{
    if (job->abort_started) {
        return;
    }
    job->abort_started = true;
    job_ref(job);
    if (!job_is_completed(job)) {
        /* .run has returned, job_exit() is due: let it run first. */
        assert(job_cancel_requested(job));
        job_finish_sync_with(job, NULL, NULL);
    }
    job_finalize_single(job);
    job_unref(job);
}

static void job_prepare(Job *job)
{
    if (job->ret == 0 && job->driver->prepare) {
        job->ret = job->driver->prepare(job);
        job_update_rc(job);
    }
}

static void job_do_finalize(Job *job)
{
    job_prepare(job);
    if (job->ret) {
        job_completed_abort(job);
    } else {
        job_finalize_single(job);
    }
}

static void job_completed_success(Job *job)
{
    job_state_transition(job, JOB_STATUS_WAITING);
    job_state_transition(job, JOB_STATUS_PENDING);
    if (!job->auto_finalize) {
        if (job->on_pending) {
            job->on_pending(job);
        }
        return;
    }
    job_do_finalize(job);
}

static void job_completed(Job *job)
{
    assert(!job_is_completed(job));
    job_update_rc(job);
    trace_job_completed(job, job->ret);
    if (job->ret) {
        job_completed_abort(job);
    } else {
        job_completed_success(job);
    }
}

/*
 * User verbs
 */

void job_complete(Job *job, Error **errp)
{
    /* Internal jobs cannot be named by the user. */
    assert(job->id);
    if (!job_apply_verb(job, JOB_VERB_COMPLETE, errp)) {
        return;
    }
    if (job_cancel_requested(job) || !job->driver->complete) {
        error_setg(errp, "The active block job '%s' cannot be completed",
                   job->id);
        return;
    }
    job->driver->complete(job, errp);
}

void job_finalize(Job *job, Error **errp)
{
    assert(job->id);
    if (!job_apply_verb(job, JOB_VERB_FINALIZE, errp)) {
        return;
    }
    job_do_finalize(job);
}

void job_dismiss(Job **jobptr, Error **errp)
{
    Job *job = *jobptr;

    assert(job->id);
    if (!job_apply_verb(job, JOB_VERB_DISMISS, errp)) {
        return;
    }
    job_do_dismiss(job);
    *jobptr = NULL;
}

/* Record the cancel; the caller then makes the job act on it. */
static void job_cancel_async(Job *job, bool force)
{
    /* Without a .cancel every cancel is forced. */
    force = job->driver->cancel ? job->driver->cancel(job, force) : true;

    if (job->user_paused) {
        /* The user's pause goes; the caller enters the job. */
        if (job->on_user_resume) {
            job->on_user_resume(job);
        }
        job->user_paused = false;
        assert(job->pause_count > 0);
        job->pause_count--;
    }
    /*
     * Once .run has returned a soft cancel has nothing left to change;
     * a forced one still turns success into cancellation.
     */
    if (force || !job->deferred_to_main_loop) {
        job->cancelled = true;
        job->force_cancel |= force;
    }
    trace_job_cancel(job, force, job->cancelled, job->force_cancel);
}

static void job_cancel(Job *job, bool force)
{
    if (job->status == JOB_STATUS_CONCLUDED) {
        job_do_dismiss(job);
        return;
    }
    job_cancel_async(job, force);
    if (!job_started(job)) {
        job_completed(job);
    } else if (job->deferred_to_main_loop) {
        /* Done or about to be: only a forced cancel changes the outcome. */
        if (job_is_cancelled(job)) {
            job_completed_abort(job);
        }
    } else {
        job_enter(job);
    }
}

void job_user_cancel(Job *job, bool force, Error **errp)
{
    if (!job_apply_verb(job, JOB_VERB_CANCEL, errp)) {
        return;
    }
    job_cancel(job, force);
}

/*
 * Waiting for jobs (outside coroutines)
 */

static int job_finish_sync_with(Job *job, void (*finish)(Job *, Error **),
                                Error **errp)
{
    Error *local_err = NULL;
    int ret;

    job_ref(job);
    if (finish) {
        finish(job, &local_err);
    }
    if (local_err) {
        error_propagate(errp, local_err);
        job_unref(job);
        return -EBUSY;
    }
    /* Entering also wakes a paused job: a cancelled one must not wait. */
    AIO_WAIT_WHILE(job->aio_context, (job_enter(job), !job_is_completed(job)));
    ret = (job_is_cancelled(job) && job->ret == 0) ? -ECANCELED : job->ret;
    job_unref(job);
    return ret;
}

int job_finish_sync(Job *job, Error **errp)
{
    return job_finish_sync_with(job, NULL, errp);
}

int job_complete_sync(Job *job, Error **errp)
{
    return job_finish_sync_with(job, job_complete, errp);
}

static void job_force_cancel_err(Job *job, Error **errp)
{
    job_cancel(job, true);
}

void job_cancel_sync_all(void)
{
    Job *job;

    /*
     * A forced cancel ends every job; one left CONCLUDED (no
     * auto-dismiss) is dismissed by the next round's cancel.
     */
    while ((job = job_next(NULL))) {
        job_finish_sync_with(job, job_force_cancel_err, NULL);
    }
}
