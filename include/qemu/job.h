/*
 * job.h: long-running background jobs and their state machine.
 *
 * A Job is a coroutine (its driver's .run) plus the state QMP shows: the
 * status (JobStatus), progress, pause and cancel requests, and the
 * outcome.  Every status change goes through one function in job.c that
 * checks QEMU 7.2's transition table, traces it and sends
 * JOB_STATUS_CHANGE; every user verb (cancel, pause, resume, set-speed,
 * complete, finalize, dismiss) is checked against the verb table and
 * refused with "Job '<id>' in state '<status>' cannot accept command verb
 * '<verb>'".
 *
 * Life of a job (see ../shared/spec/qmp-contract.md section 3):
 *
 *   job_create()          CREATED    (the caller sets it up)
 *   job_start()           RUNNING    .run starts in a coroutine
 *   job_transition_to_ready()  READY (jobs with a .complete only)
 *   .run returns          WAITING -> PENDING on success, ABORTING on an
 *                         error or a forced cancel
 *   finalize (automatic with auto-finalize, else job-finalize):
 *                         .prepare, then .commit or .abort (exactly one),
 *                         then .clean; BLOCK_JOB_COMPLETED/CANCELLED go
 *                         out through the notifiers below
 *                         CONCLUDED  (stays until job-dismiss without
 *                                    auto-dismiss)
 *                         NULL       the job is gone
 *
 * Threads: everything runs in the main loop thread; .run runs in a
 * coroutine there and gives way only at job_pause_point(), job_yield()
 * and job_sleep_ns() (or I/O it waits for).
 */
#ifndef QBLOCK_QEMU_JOB_H
#define QBLOCK_QEMU_JOB_H

#include "qemu/aio.h"
#include "qemu/coroutine.h"
#include "qemu/queue.h"
#include "qemu/timer.h"
#include "qapi/qapi-types.h"

typedef struct Job Job;
typedef struct JobDriver JobDriver;

/* Callbacks by which a job tells its owner (BlockJob) what happens. */
typedef void JobNotifyFunc(Job *job);

struct Job {
    /* The ID the user gave (NULL: an internal job, never shown or sent). */
    char *id;
    const JobDriver *driver;
    int refcnt;
    JobStatus status;
    AioContext *aio_context;

    /* The coroutine of .run; entered by job_enter() when it waits. */
    Coroutine *co;
    /* Wakes a job_sleep_ns(). */
    QEMUTimer sleep_timer;

    /*
     * Pause requests: job_pause() adds one, job_resume() takes one away;
     * the job stops at its next pause point while the count is > 0.
     * user_paused says one of them is the user's (job-pause, or an error
     * with action "stop"), which only the user's resume takes away.
     */
    int pause_count;
    bool user_paused;
    /* The job sits in a pause point now (status PAUSED or STANDBY). */
    bool paused;
    /* False while the coroutine waits in job_yield/job_sleep_ns. */
    bool busy;

    /*
     * Cancel requested; force_cancel when it must not complete (a hard
     * cancel).  See job_is_cancelled() and job_cancel_requested().
     */
    bool cancelled;
    bool force_cancel;

    /* .run has returned; completion happens from a bottom half. */
    bool deferred_to_main_loop;
    bool auto_finalize;
    bool auto_dismiss;

    /* Progress, as query-jobs shows it (bytes for block jobs). */
    uint64_t progress_current;
    uint64_t progress_total;

    /* The outcome: 0 or -errno, and the message QMP shows. */
    int ret;
    Error *err;

    /* Owner notifications (BlockJob hooks its QMP events here). */
    JobNotifyFunc *on_ready;
    JobNotifyFunc *on_pending;
    JobNotifyFunc *on_finalize_completed;
    JobNotifyFunc *on_finalize_cancelled;
    /* The user resumed the job (BlockJob clears its io-status here). */
    JobNotifyFunc *on_user_resume;
    /* The job is being freed, after driver->free (BlockJob's edges). */
    JobNotifyFunc *on_free;
    /* For the owner of the notifications. */
    void *notify_opaque;

    /* The failure path (ABORTING ... CONCLUDED) has begun; see job.c. */
    bool abort_started;

    QLIST_ENTRY(Job) job_list;
};

struct JobDriver {
    /* Size of the structure that embeds Job as its first member. */
    size_t instance_size;
    JobType job_type;

    /*
     * The job's work, in a coroutine.  Returns 0 on success or -errno
     * with *@errp set (or left NULL, then the message is strerror).  It
     * must call job_pause_point() often and return soon after
     * job_is_cancelled() becomes true.
     */
    int coroutine_fn (*run)(Job *job, Error **errp);

    /* The job stops at / leaves a pause point (optional). */
    void coroutine_fn (*pause)(Job *job);
    void coroutine_fn (*resume)(Job *job);

    /*
     * job-complete on a READY job: make .run finish and succeed
     * (optional; a job without it can never be READY).
     */
    void (*complete)(Job *job, Error **errp);

    /*
     * A cancel request.  Returns whether it must be treated as forced:
     * a job that can finish cleanly (mirror after READY) returns @force,
     * others true.  Empty slot: always forced.
     */
    bool (*cancel)(Job *job, bool force);

    /*
     * Finalizing, after .run: .prepare may still fail (then .abort runs
     * instead of .commit); exactly one of .commit / .abort runs; .clean
     * always runs last.  All optional.
     */
    int (*prepare)(Job *job);
    void (*commit)(Job *job);
    void (*abort)(Job *job);
    void (*clean)(Job *job);

    /* Free what the embedding structure holds (optional). */
    void (*free)(Job *job);
};

/*
 * Create a job (status CREATED, JOB_STATUS_CHANGE sent) with one
 * reference, the caller's.  @job_id must be well-formed and unused
 * (QEMU's texts: "Invalid job ID '%s'", "Job ID '%s' already in use");
 * NULL makes an internal job.
 */
void *job_create(const char *job_id, const JobDriver *driver,
                 AioContext *ctx, bool auto_finalize, bool auto_dismiss,
                 Error **errp);
void job_ref(Job *job);
void job_unref(Job *job);

/*
 * Give up a job that was created but never started (its owner failed to
 * set it up): status NULL (with its event, as QEMU sends "created" then
 * "null" before the command's error), and the caller's reference goes.
 */
void job_early_fail(Job *job);

/*
 * RUNNING, and .run starts (it runs until its first wait before this
 * returns).  The creation reference now belongs to the job itself: it is
 * dropped when the job is dismissed, so the caller does not unref.
 */
void job_start(Job *job);

/*
 * Called from .run
 */

/* Stop here while a pause is requested (PAUSED/STANDBY meanwhile). */
void coroutine_fn job_pause_point(Job *job);
/* Wait until job_enter() (a completion, a user verb); then pause point. */
void coroutine_fn job_yield(Job *job);
/*
 * Sleep @ns on the realtime clock, or until job_enter(); then pause
 * point.  Does not sleep if a cancel is pending.
 */
void coroutine_fn job_sleep_ns(Job *job, int64_t ns);
/* Wake .run if it waits in job_yield or job_sleep_ns. */
void job_enter(Job *job);

/* A forced cancel: .run must stop at once. */
bool job_is_cancelled(Job *job);
/* Any cancel, forced or not (a soft cancel lets mirror converge). */
bool job_cancel_requested(Job *job);
bool job_is_ready(Job *job);
bool job_is_completed(Job *job);
bool job_user_paused(Job *job);
/* A job without an ID: no events, left out of query-jobs. */
bool job_is_internal(Job *job);
/* The JobType name of @job ("mirror"). */
const char *job_type_str(const Job *job);

/* READY (and on_ready), once. */
void job_transition_to_ready(Job *job);

void job_progress_update(Job *job, uint64_t done);
void job_progress_set_remaining(Job *job, uint64_t remaining);
void job_progress_increase_remaining(Job *job, uint64_t delta);

/*
 * User verbs (QMP), each checked against the verb table first
 */

/* The job named @id, or NULL. */
Job *job_get(const char *id);
/* Iterate: job_next(NULL) is the first. */
Job *job_next(Job *job);

/* Add / remove a pause request (internal: drains, error stops). */
void job_pause(Job *job);
void job_resume(Job *job);

void job_user_pause(Job *job, Error **errp);
void job_user_resume(Job *job, Error **errp);
void job_complete(Job *job, Error **errp);
/* A user cancel; job-cancel always forces. */
void job_user_cancel(Job *job, bool force, Error **errp);
void job_finalize(Job *job, Error **errp);
void job_dismiss(Job **job, Error **errp);

/* Check @verb against the job's status ("cannot accept command verb"). */
bool job_apply_verb(Job *job, JobVerb verb, Error **errp);

/*
 * Cancel every job, forced, and wait until they are all gone or stuck in
 * CONCLUDED (quit and signals).
 */
void job_cancel_sync_all(void);

/* Run .complete and wait for the job to end (tests, tools). */
int job_complete_sync(Job *job, Error **errp);
/* Wait for the job to conclude; its ret. */
int job_finish_sync(Job *job, Error **errp);

#endif /* QBLOCK_QEMU_JOB_H */
