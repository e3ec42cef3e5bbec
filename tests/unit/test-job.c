/*
 * test-job.c: the generic job state machine (job.c) and the job-* QMP
 * commands (job-qmp.c), driven by test jobs whose .run loops until the
 * test tells it to stop.
 *
 * Every test records the events the jobs send (through the QAPI event
 * emitter) as one line, a JOB_STATUS_CHANGE as its status and any other
 * event by name, and compares the line with the order that
 * qmp-contract.md section 3.3 gives.
 */
#include "qemu/osdep.h"

#include "qemu/aio.h"
#include "qemu/job.h"
#include "qemu/json-writer.h"
#include "qemu/trace-control.h"
#include "qapi/error.h"
#include "qapi/qmp-dispatch.h"
#include "qapi-commands.h"

/*
 * Event recording
 */

static GString *events;

static void record_event(const char *event, JsonObject *data)
{
    if (events->len) {
        g_string_append_c(events, ' ');
    }
    if (!strcmp(event, "JOB_STATUS_CHANGE")) {
        g_string_append(events, json_object_get_string_member(data,
                                                              "status"));
    } else {
        g_string_append(events, event);
    }
    if (data) {
        json_object_unref(data);
    }
}

/* The events since the last call, as one line; starts a new line. */
static char *take_events(void)
{
    char *line = g_strdup(events->str);

    g_string_truncate(events, 0);
    return line;
}

#define assert_events(expected) do {                \
        g_autofree char *line_ = take_events();     \
        g_assert_cmpstr(line_, ==, (expected));     \
    } while (0)

/* Run whatever bottom halves and timers are due. */
static void run_pending(void)
{
    while (aio_poll(qemu_get_aio_context(), false)) {
        /* again */
    }
}

/*
 * The test job
 */

typedef struct TestJob {
    Job job;
    /* What the test tells .run. */
    bool finish;            /* leave the loop */
    bool go_ready;          /* become READY at once */
    bool sleep;             /* wait with job_sleep_ns, else job_yield */
    int64_t sleep_ns;
    int run_ret;            /* what .run returns when it leaves */
    int prepare_ret;
    /* What happened. */
    int iterations;
    int n_prepare, n_commit, n_abort, n_clean, n_pause, n_resume;
    bool *freed;
} TestJob;

static int coroutine_fn test_job_run(Job *job, Error **errp)
{
    TestJob *s = container_of(job, TestJob, job);

    if (s->go_ready) {
        job_transition_to_ready(job);
    }
    while (!s->finish && !job_is_cancelled(job)) {
        s->iterations++;
        if (s->sleep) {
            job_sleep_ns(job, s->sleep_ns);
        } else {
            job_yield(job);
        }
        /* A soft cancel of a ready job means: finish cleanly. */
        if (job_cancel_requested(job) && job_is_ready(job)) {
            break;
        }
    }
    if (s->run_ret) {
        return s->run_ret;
    }
    return 0;
}

static void coroutine_fn test_job_pause(Job *job)
{
    container_of(job, TestJob, job)->n_pause++;
}

static void coroutine_fn test_job_resume(Job *job)
{
    container_of(job, TestJob, job)->n_resume++;
}

static int test_job_prepare(Job *job)
{
    TestJob *s = container_of(job, TestJob, job);

    s->n_prepare++;
    return s->prepare_ret;
}

static void test_job_commit(Job *job)
{
    container_of(job, TestJob, job)->n_commit++;
}

static void test_job_abort(Job *job)
{
    container_of(job, TestJob, job)->n_abort++;
}

static void test_job_clean(Job *job)
{
    container_of(job, TestJob, job)->n_clean++;
}

static void test_job_free(Job *job)
{
    TestJob *s = container_of(job, TestJob, job);

    if (s->freed) {
        *s->freed = true;
    }
}

static void test_job_complete(Job *job, Error **errp)
{
    TestJob *s = container_of(job, TestJob, job);

    s->finish = true;
    /* A paused job finishes once resumed. */
    if (!job->paused) {
        job_enter(job);
    }
}

/* As mirror: a ready job may end cleanly, anything else is forced. */
static bool test_job_cancel(Job *job, bool force)
{
    return force || !job_is_ready(job);
}

/* No .complete, no .cancel: can never be READY, every cancel forced. */
static const JobDriver test_plain_driver = {
    .instance_size = sizeof(TestJob),
    .job_type      = JOB_TYPE_CREATE,
    .run           = test_job_run,
    .pause         = test_job_pause,
    .resume        = test_job_resume,
    .prepare       = test_job_prepare,
    .commit        = test_job_commit,
    .abort         = test_job_abort,
    .clean         = test_job_clean,
    .free          = test_job_free,
};

/* With .complete and .cancel, like a mirror. */
static const JobDriver test_ready_driver = {
    .instance_size = sizeof(TestJob),
    .job_type      = JOB_TYPE_CREATE,
    .run           = test_job_run,
    .pause         = test_job_pause,
    .resume        = test_job_resume,
    .complete      = test_job_complete,
    .cancel        = test_job_cancel,
    .prepare       = test_job_prepare,
    .commit        = test_job_commit,
    .abort         = test_job_abort,
    .clean         = test_job_clean,
    .free          = test_job_free,
};

static TestJob *new_job(const char *id, const JobDriver *drv, bool ready,
                        bool auto_finalize, bool auto_dismiss)
{
    TestJob *s = job_create(id, drv, NULL, auto_finalize, auto_dismiss,
                            &error_abort);

    s->go_ready = ready;
    return s;
}

/* Tell .run to leave its loop and wait until it is done. */
static void finish_job(TestJob *s)
{
    s->finish = true;
    job_enter(&s->job);
    run_pending();
}

/* *@errp holds @msg; it is freed and reset for the next call. */
static void assert_error(Error **errp, const char *msg)
{
    g_assert_nonnull(*errp);
    g_assert_cmpstr(error_get_pretty(*errp), ==, msg);
    error_free(*errp);
    *errp = NULL;
}

/*
 * Tables
 */

/* qmp-contract.md 3.2, row by row; columns in JobStatus order U..N. */
static const char *const verb_rows[JOB_VERB__MAX] = {
    [JOB_VERB_CANCEL]    = "01111111000",
    [JOB_VERB_PAUSE]     = "01111100000",
    [JOB_VERB_RESUME]    = "01111100000",
    [JOB_VERB_SET_SPEED] = "01111100000",
    [JOB_VERB_COMPLETE]  = "00001100000",
    [JOB_VERB_DISMISS]   = "00000000010",
    [JOB_VERB_FINALIZE]  = "00000001000",
};

static void test_verb_table(void)
{
    TestJob *s = new_job("j1", &test_plain_driver, false, true, true);
    JobStatus saved = s->job.status;

    for (int v = 0; v < JOB_VERB__MAX; v++) {
        for (int st = 0; st < JOB_STATUS__MAX; st++) {
            Error *err = NULL;
            bool ok;

            s->job.status = st;
            ok = job_apply_verb(&s->job, v, &err);
            g_assert_cmpint(ok, ==, verb_rows[v][st] == '1');
            if (ok) {
                g_assert_null(err);
            } else {
                g_autofree char *msg = g_strdup_printf(
                    "Job 'j1' in state '%s' cannot accept command verb '%s'",
                    JobStatus_str(st), JobVerb_str(v));
                assert_error(&err, msg);
            }
        }
    }
    s->job.status = saved;
    job_early_fail(&s->job);
    assert_events("created null");
}

/* A transition the table forbids is a bug: it must abort. */
static void test_bad_transition(void)
{
    if (g_test_subprocess()) {
        TestJob *s = new_job("j1", &test_plain_driver, false, true, true);

        /* CREATED -> READY is not in the table. */
        job_transition_to_ready(&s->job);
        return;
    }
    g_test_trap_subprocess(NULL, 0, 0);
    g_test_trap_assert_failed();
    g_test_trap_assert_stderr("*job_transition_table*");
}

/*
 * Creation and IDs
 */

static void test_ids(void)
{
    Error *err = NULL;
    TestJob *a, *internal;
    JobInfoList *list;

    g_assert_null(job_create("1bad", &test_plain_driver, NULL, true, true,
                             &err));
    assert_error(&err, "Invalid job ID '1bad'");
    g_assert_null(job_create("", &test_plain_driver, NULL, true, true,
                             &err));
    assert_error(&err, "Invalid job ID ''");
    g_assert_null(job_create("a b", &test_plain_driver, NULL, true, true,
                             &err));
    assert_error(&err, "Invalid job ID 'a b'");

    a = new_job("j-1.x_y", &test_plain_driver, false, true, true);
    g_assert_null(job_create("j-1.x_y", &test_plain_driver, NULL, true, true,
                             &err));
    assert_error(&err, "Job ID 'j-1.x_y' already in use");
    g_assert_true(job_get("j-1.x_y") == &a->job);

    /* An internal job: no events, not in query-jobs. */
    internal = new_job(NULL, &test_plain_driver, false, true, true);
    g_assert_true(job_is_internal(&internal->job));
    list = qmp_query_jobs(&error_abort);
    g_assert_nonnull(list);
    g_assert_null(list->next);
    g_assert_cmpstr(list->value->id, ==, "j-1.x_y");
    g_assert_cmpint(list->value->status, ==, JOB_STATUS_CREATED);
    g_assert_cmpint(list->value->type, ==, JOB_TYPE_CREATE);
    qapi_free_JobInfoList(list);

    job_start(&internal->job);
    finish_job(internal);
    job_early_fail(&a->job);
    assert_events("created null");
    g_assert_null(job_next(NULL));
}

/*
 * Completion
 */

static void test_complete_auto(void)
{
    bool freed = false;
    TestJob *s = new_job("j1", &test_ready_driver, true, true, true);

    s->freed = &freed;
    job_start(&s->job);
    /* .run started inside job_start and went READY before yielding. */
    assert_events("created running ready");
    g_assert_true(job_is_ready(&s->job));
    g_assert_false(s->job.busy);

    g_assert_true(qmp_job_complete("j1", &error_abort));
    /* The completion runs from a bottom half, after the command. */
    assert_events("");
    run_pending();
    assert_events("waiting pending concluded null");
    g_assert_true(freed);
}

static void test_complete_refused(void)
{
    TestJob *s = new_job("j1", &test_plain_driver, false, true, true);
    Error *err = NULL;

    job_start(&s->job);
    g_assert_false(qmp_job_complete("j1", &err));
    assert_error(&err, "Job 'j1' in state 'running' cannot accept command "
                      "verb 'complete'");
    g_assert_false(qmp_job_finalize("j1", &err));
    assert_error(&err, "Job 'j1' in state 'running' cannot accept command "
                      "verb 'finalize'");
    g_assert_false(qmp_job_dismiss("j1", &err));
    assert_error(&err, "Job 'j1' in state 'running' cannot accept command "
                      "verb 'dismiss'");

    /* READY without a .complete slot: the driver's own refusal. */
    s->job.status = JOB_STATUS_READY;
    job_complete(&s->job, &err);
    assert_error(&err, "The active block job 'j1' cannot be completed");
    s->job.status = JOB_STATUS_RUNNING;

    finish_job(s);
    assert_events("created running waiting pending concluded null");
}

static void test_finalize_dismiss_manual(void)
{
    bool freed = false;
    TestJob *s = new_job("j1", &test_ready_driver, true, false, false);
    Error *err = NULL;
    JobInfoList *list;

    s->freed = &freed;
    job_start(&s->job);
    g_assert_true(qmp_job_complete("j1", &error_abort));
    run_pending();
    assert_events("created running ready waiting pending");
    g_assert_cmpint(s->job.status, ==, JOB_STATUS_PENDING);
    g_assert_cmpint(s->n_prepare, ==, 0);

    g_assert_false(qmp_job_dismiss("j1", &err));
    assert_error(&err, "Job 'j1' in state 'pending' cannot accept command "
                      "verb 'dismiss'");

    g_assert_true(qmp_job_finalize("j1", &error_abort));
    assert_events("concluded");
    g_assert_cmpint(s->n_prepare, ==, 1);
    g_assert_cmpint(s->n_commit, ==, 1);
    g_assert_cmpint(s->n_abort, ==, 0);
    g_assert_cmpint(s->n_clean, ==, 1);

    list = qmp_query_jobs(&error_abort);
    g_assert_cmpint(list->value->status, ==, JOB_STATUS_CONCLUDED);
    g_assert_null(list->value->error);
    qapi_free_JobInfoList(list);

    g_assert_false(qmp_job_finalize("j1", &err));
    assert_error(&err, "Job 'j1' in state 'concluded' cannot accept command "
                      "verb 'finalize'");
    g_assert_false(freed);
    g_assert_true(qmp_job_dismiss("j1", &error_abort));
    assert_events("null");
    g_assert_true(freed);
    g_assert_false(qmp_job_dismiss("j1", &err));
    assert_error(&err, "Job not found");
}

static void test_fail_run(void)
{
    TestJob *s = new_job("j1", &test_plain_driver, false, true, false);
    JobInfoList *list;

    s->run_ret = -EIO;
    job_start(&s->job);
    finish_job(s);
    assert_events("created running aborting concluded");
    g_assert_cmpint(s->n_prepare, ==, 0);
    g_assert_cmpint(s->n_commit, ==, 0);
    g_assert_cmpint(s->n_abort, ==, 1);
    g_assert_cmpint(s->n_clean, ==, 1);
    list = qmp_query_jobs(&error_abort);
    g_assert_cmpstr(list->value->error, ==, "Input/output error");
    qapi_free_JobInfoList(list);
    g_assert_true(qmp_job_dismiss("j1", &error_abort));
    assert_events("null");
}

static void test_fail_prepare(void)
{
    TestJob *s = new_job("j1", &test_plain_driver, false, true, false);

    s->prepare_ret = -EINVAL;
    job_start(&s->job);
    finish_job(s);
    assert_events("created running waiting pending aborting concluded");
    g_assert_cmpint(s->n_prepare, ==, 1);
    g_assert_cmpint(s->n_commit, ==, 0);
    g_assert_cmpint(s->n_abort, ==, 1);
    g_assert_cmpint(s->n_clean, ==, 1);
    g_assert_cmpstr(error_get_pretty(s->job.err), ==, "Invalid argument");
    g_assert_true(qmp_job_dismiss("j1", &error_abort));
    assert_events("null");
}

/*
 * Cancel
 */

static void test_cancel_created(void)
{
    TestJob *s = new_job("j1", &test_plain_driver, false, true, false);

    g_assert_true(qmp_job_cancel("j1", &error_abort));
    /* Never started: no outcome to keep, dismissed at once. */
    assert_events("created aborting concluded null");
    g_assert_null(job_get("j1"));
    (void)s;
}

static void test_cancel_running(void)
{
    TestJob *s = new_job("j1", &test_plain_driver, false, true, false);
    JobInfoList *list;

    s->sleep = true;
    s->sleep_ns = 100 * NANOSECONDS_PER_SECOND;
    job_start(&s->job);
    g_assert_true(qmp_job_cancel("j1", &error_abort));
    assert_events("created running");
    run_pending();
    assert_events("aborting concluded");
    g_assert_cmpint(s->n_abort, ==, 1);
    g_assert_cmpint(s->n_commit, ==, 0);
    g_assert_cmpint(s->job.ret, ==, -ECANCELED);
    list = qmp_query_jobs(&error_abort);
    g_assert_cmpstr(list->value->error, ==, "Operation canceled");
    qapi_free_JobInfoList(list);
    g_assert_true(qmp_job_dismiss("j1", &error_abort));
    assert_events("null");
}

static void test_cancel_soft_ready(void)
{
    TestJob *s = new_job("j1", &test_ready_driver, true, true, true);

    job_start(&s->job);
    job_user_cancel(&s->job, false, &error_abort);
    run_pending();
    /* Not forced: the job ends as a success. */
    assert_events("created running ready waiting pending concluded null");
}

static void test_cancel_soft_not_ready(void)
{
    TestJob *s = new_job("j1", &test_ready_driver, false, true, true);

    job_start(&s->job);
    job_user_cancel(&s->job, false, &error_abort);
    run_pending();
    assert_events("created running aborting concluded null");
}

static void test_cancel_hard_ready(void)
{
    TestJob *s = new_job("j1", &test_ready_driver, true, true, true);

    job_start(&s->job);
    g_assert_true(qmp_job_cancel("j1", &error_abort));
    run_pending();
    assert_events("created running ready aborting concluded null");
    g_assert_null(job_get("j1"));
}

static void test_cancel_pending(void)
{
    TestJob *s = new_job("j1", &test_ready_driver, true, false, false);
    JobInfoList *list;
    Error *err = NULL;

    job_start(&s->job);
    job_complete(&s->job, &error_abort);
    run_pending();
    assert_events("created running ready waiting pending");

    /* Synchronous: the whole failure path runs inside the command. */
    g_assert_true(qmp_job_cancel("j1", &error_abort));
    assert_events("aborting concluded");
    g_assert_cmpint(s->n_prepare, ==, 0);
    g_assert_cmpint(s->n_abort, ==, 1);
    g_assert_cmpint(s->n_commit, ==, 0);
    list = qmp_query_jobs(&error_abort);
    g_assert_cmpstr(list->value->error, ==, "Operation canceled");
    qapi_free_JobInfoList(list);

    /* No cancel in CONCLUDED. */
    g_assert_false(qmp_job_cancel("j1", &err));
    assert_error(&err, "Job 'j1' in state 'concluded' cannot accept command "
                      "verb 'cancel'");
    g_assert_true(qmp_job_dismiss("j1", &error_abort));
    assert_events("null");
}

static void test_cancel_user_paused(void)
{
    TestJob *s = new_job("j1", &test_plain_driver, false, true, true);

    job_start(&s->job);
    g_assert_true(qmp_job_pause("j1", &error_abort));
    assert_events("created running paused");
    g_assert_true(s->job.paused);
    g_assert_true(qmp_job_cancel("j1", &error_abort));
    run_pending();
    assert_events("running aborting concluded null");
}

/*
 * Pause and resume
 */

static void test_pause_counting(void)
{
    TestJob *s = new_job("j1", &test_plain_driver, false, true, true);
    Error *err = NULL;
    int iterations;

    s->sleep = true;
    s->sleep_ns = 100 * NANOSECONDS_PER_SECOND;
    job_start(&s->job);
    assert_events("created running");

    g_assert_false(qmp_job_resume("j1", &err));
    assert_error(&err, "Can't resume a job that was not paused");

    /* The pause wakes the sleeping job, which stops at its pause point. */
    g_assert_true(qmp_job_pause("j1", &error_abort));
    assert_events("paused");
    g_assert_cmpint(s->n_pause, ==, 1);
    g_assert_true(s->job.paused);
    g_assert_false(s->job.busy);
    g_assert_true(job_user_paused(&s->job));
    g_assert_false(qmp_job_pause("j1", &err));
    assert_error(&err, "Job is already paused");

    /* An internal request on top: the user's resume leaves it paused. */
    job_pause(&s->job);
    g_assert_cmpint(s->job.pause_count, ==, 2);
    iterations = s->iterations;
    g_assert_true(qmp_job_resume("j1", &error_abort));
    g_assert_cmpint(s->job.pause_count, ==, 1);
    g_assert_true(s->job.paused);
    g_assert_cmpint(s->job.status, ==, JOB_STATUS_PAUSED);
    g_assert_false(qmp_job_resume("j1", &err));
    assert_error(&err, "Can't resume a job that was not paused");
    run_pending();
    assert_events("");

    /* The last request goes: running again, one more loop. */
    job_resume(&s->job);
    assert_events("running");
    g_assert_cmpint(s->n_resume, ==, 1);
    g_assert_cmpint(s->iterations, ==, iterations + 1);
    g_assert_false(s->job.paused);

    finish_job(s);
    assert_events("waiting pending concluded null");
}

/* Internal pauses alone never make the job "user paused". */
static void test_pause_internal_nested(void)
{
    TestJob *s = new_job("j1", &test_plain_driver, false, true, true);
    Error *err = NULL;

    job_start(&s->job);
    job_pause(&s->job);
    job_pause(&s->job);
    assert_events("created running paused");
    g_assert_false(job_user_paused(&s->job));
    g_assert_false(qmp_job_resume("j1", &err));
    assert_error(&err, "Can't resume a job that was not paused");
    job_resume(&s->job);
    assert_events("");
    job_resume(&s->job);
    assert_events("running");
    finish_job(s);
    assert_events("waiting pending concluded null");
}

static void test_pause_before_start(void)
{
    TestJob *s = new_job("j1", &test_plain_driver, false, true, true);

    g_assert_true(qmp_job_pause("j1", &error_abort));
    job_start(&s->job);
    /* .run meets a pause point before its first line. */
    assert_events("created running paused");
    g_assert_cmpint(s->iterations, ==, 0);
    g_assert_true(qmp_job_resume("j1", &error_abort));
    assert_events("running");
    g_assert_cmpint(s->iterations, ==, 1);
    finish_job(s);
    assert_events("waiting pending concluded null");
}

static void test_standby_complete(void)
{
    TestJob *s = new_job("j1", &test_ready_driver, true, true, true);

    job_start(&s->job);
    g_assert_true(qmp_job_pause("j1", &error_abort));
    assert_events("created running ready standby");
    g_assert_true(job_is_ready(&s->job));

    /* Accepted in STANDBY, and nothing happens. */
    g_assert_true(qmp_job_complete("j1", &error_abort));
    run_pending();
    assert_events("");
    g_assert_cmpint(s->job.status, ==, JOB_STATUS_STANDBY);

    g_assert_true(qmp_job_resume("j1", &error_abort));
    run_pending();
    assert_events("ready waiting pending concluded null");
}

/*
 * Sleeping
 */

static void test_sleep_timer(void)
{
    TestJob *s = new_job("j1", &test_plain_driver, false, true, true);
    int64_t start = qemu_clock_get_ns(QEMU_CLOCK_REALTIME);

    s->sleep = true;
    s->sleep_ns = 10 * SCALE_MS;
    job_start(&s->job);
    g_assert_cmpint(s->iterations, ==, 1);
    g_assert_true(timer_pending(&s->job.sleep_timer));
    while (s->iterations < 3) {
        aio_poll(qemu_get_aio_context(), true);
    }
    g_assert_cmpint(qemu_clock_get_ns(QEMU_CLOCK_REALTIME) - start, >=,
                    20 * SCALE_MS);

    /* A pause wakes the sleeper; after the resume it sleeps again. */
    job_pause(&s->job);
    assert_events("created running paused");
    job_resume(&s->job);
    assert_events("running");
    g_assert_true(timer_pending(&s->job.sleep_timer));

    finish_job(s);
    assert_events("waiting pending concluded null");
}

/*
 * Synchronous helpers
 */

static void test_complete_sync(void)
{
    TestJob *s = new_job("j1", &test_ready_driver, true, true, false);
    Error *err = NULL;

    job_start(&s->job);
    job_ref(&s->job);
    g_assert_cmpint(job_complete_sync(&s->job, &error_abort), ==, 0);
    g_assert_cmpint(s->job.status, ==, JOB_STATUS_CONCLUDED);
    assert_events("created running ready waiting pending concluded");
    job_unref(&s->job);
    g_assert_true(qmp_job_dismiss("j1", &error_abort));
    assert_events("null");

    s = new_job("j2", &test_ready_driver, false, true, true);
    job_start(&s->job);
    g_assert_cmpint(job_complete_sync(&s->job, &err), ==, -EBUSY);
    assert_error(&err, "Job 'j2' in state 'running' cannot accept command "
                      "verb 'complete'");
    finish_job(s);
    assert_events("created running waiting pending concluded null");
}

static void test_cancel_sync_all(void)
{
    TestJob *running, *paused, *pending, *concluded, *created;

    running = new_job("run", &test_plain_driver, false, true, true);
    running->sleep = true;
    running->sleep_ns = 100 * NANOSECONDS_PER_SECOND;
    job_start(&running->job);

    paused = new_job("stop", &test_ready_driver, true, true, true);
    job_start(&paused->job);
    job_user_pause(&paused->job, &error_abort);
    job_pause(&paused->job);            /* a drain, say */

    pending = new_job("pend", &test_ready_driver, true, false, true);
    job_start(&pending->job);
    job_complete(&pending->job, &error_abort);

    concluded = new_job("done", &test_plain_driver, false, true, false);
    job_start(&concluded->job);
    finish_job(concluded);

    created = new_job("new", &test_plain_driver, false, true, true);
    run_pending();
    g_assert_cmpint(pending->job.status, ==, JOB_STATUS_PENDING);
    g_assert_cmpint(concluded->job.status, ==, JOB_STATUS_CONCLUDED);
    g_string_truncate(events, 0);

    job_cancel_sync_all();
    g_assert_null(job_next(NULL));
    (void)created;
    (void)paused;
    (void)running;
    /* Newest first: the unstarted one, then the concluded, and so on. */
    assert_events("aborting concluded null "
                  "null "
                  "aborting concluded null "
                  "ready aborting concluded null "
                  "aborting concluded null");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    trace_init_from_env();
    qemu_init_main_loop(&error_abort);
    events = g_string_new("");
    qapi_event_set_emitter(record_event);

    g_test_add_func("/job/tables/verbs", test_verb_table);
    g_test_add_func("/job/tables/bad-transition", test_bad_transition);
    g_test_add_func("/job/create/ids", test_ids);
    g_test_add_func("/job/complete/auto", test_complete_auto);
    g_test_add_func("/job/complete/refused", test_complete_refused);
    g_test_add_func("/job/complete/manual-finalize-dismiss",
                    test_finalize_dismiss_manual);
    g_test_add_func("/job/complete/sync", test_complete_sync);
    g_test_add_func("/job/fail/run", test_fail_run);
    g_test_add_func("/job/fail/prepare", test_fail_prepare);
    g_test_add_func("/job/cancel/created", test_cancel_created);
    g_test_add_func("/job/cancel/running", test_cancel_running);
    g_test_add_func("/job/cancel/soft-ready", test_cancel_soft_ready);
    g_test_add_func("/job/cancel/soft-not-ready", test_cancel_soft_not_ready);
    g_test_add_func("/job/cancel/hard-ready", test_cancel_hard_ready);
    g_test_add_func("/job/cancel/pending", test_cancel_pending);
    g_test_add_func("/job/cancel/user-paused", test_cancel_user_paused);
    g_test_add_func("/job/cancel/sync-all", test_cancel_sync_all);
    g_test_add_func("/job/pause/counting", test_pause_counting);
    g_test_add_func("/job/pause/internal-nested", test_pause_internal_nested);
    g_test_add_func("/job/pause/before-start", test_pause_before_start);
    g_test_add_func("/job/pause/standby-complete", test_standby_complete);
    g_test_add_func("/job/sleep/timer", test_sleep_timer);
    return g_test_run();
}
