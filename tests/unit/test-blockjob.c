/*
 * test-blockjob.c: block jobs (block/blockjob.c) and the block-job-* QMP
 * commands (block/blockjob-qmp.c), with a test block job on a null-co
 * node: BLOCK_JOB_* events and their data, speed, error actions and
 * io-status, drains pausing the job, query-block-jobs.
 *
 * Events are recorded as in test-job.c: one line of JOB_STATUS_CHANGE
 * statuses and event names; the data of the last event of each name is
 * kept as JSON text for the tests that look at it.
 */
#include "qemu/osdep.h"

#include "block/block_int.h"
#include "block/block-backend.h"
#include "block/blockjob.h"
#include "qemu/aio.h"
#include "qemu/json-writer.h"
#include "qemu/trace-control.h"
#include "qapi/error.h"
#include "qapi/qmp-dispatch.h"
#include "qapi-commands.h"

/*
 * Event recording
 */

static GString *events;
static GHashTable *event_data;      /* name -> JSON text of its data */

static void record_event(const char *event, JsonObject *data)
{
    JsonNode *node;

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
        node = json_node_new(JSON_NODE_OBJECT);
        json_node_take_object(node, data);
        g_hash_table_insert(event_data, g_strdup(event),
                            json_writer_to_string(node, false));
        json_node_unref(node);
    }
}

static char *take_events(void)
{
    char *line = g_strdup(events->str);

    g_string_truncate(events, 0);
    return line;
}

/* Forget the events so far. */
static void drop_events(void)
{
    g_string_truncate(events, 0);
}

#define assert_events(expected) do {                \
        g_autofree char *line_ = take_events();     \
        g_assert_cmpstr(line_, ==, (expected));     \
    } while (0)

#define assert_event_data(name, expected)                               \
    g_assert_cmpstr(g_hash_table_lookup(event_data, (name)), ==, (expected))

static void run_pending(void)
{
    while (aio_poll(qemu_get_aio_context(), false)) {
        /* again */
    }
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
 * A test block job: copies "bytes" in steps, sleeping between them as
 * the rate limit says; READY when done, then waits for complete/cancel.
 */

typedef struct TestBlockJob {
    BlockJob common;
    int64_t len;
    int64_t step;
    bool should_complete;
    bool long_sleep;        /* sleep 100 s per step (speed tests) */
    int run_ret;            /* fail with this after the first step */
    int steps;
    int drains;
} TestBlockJob;

static int coroutine_fn test_bjob_run(Job *job, Error **errp)
{
    TestBlockJob *s = container_of(job, TestBlockJob, common.job);
    int64_t done = 0;

    job_progress_set_remaining(job, s->len);
    while (done < s->len) {
        int64_t delay;

        if (job_is_cancelled(job)) {
            return 0;
        }
        done += s->step;
        s->steps++;
        job_progress_update(job, s->step);
        if (s->run_ret) {
            return s->run_ret;
        }
        delay = s->long_sleep ? 100 * NANOSECONDS_PER_SECOND
                              : block_job_ratelimit_get_delay(&s->common,
                                                              s->step);
        job_sleep_ns(job, delay);
    }
    job_transition_to_ready(job);
    while (!s->should_complete && !job_cancel_requested(job)) {
        job_yield(job);
    }
    return 0;
}

static void test_bjob_complete(Job *job, Error **errp)
{
    TestBlockJob *s = container_of(job, TestBlockJob, common.job);

    s->should_complete = true;
    if (!job->paused) {
        job_enter(job);
    }
}

static bool test_bjob_cancel(Job *job, bool force)
{
    return force || !job_is_ready(job);
}

static void test_bjob_drain(BlockJob *job)
{
    container_of(job, TestBlockJob, common)->drains++;
}

static const BlockJobDriver test_bjob_driver = {
    .job_driver = {
        .instance_size = sizeof(TestBlockJob),
        .job_type      = JOB_TYPE_MIRROR,
        .run           = test_bjob_run,
        .complete      = test_bjob_complete,
        .cancel        = test_bjob_cancel,
    },
    .drain = test_bjob_drain,
};

static BlockDriverState *open_null(const char *name)
{
    BlockdevOptions opts = {
        .driver = BLOCKDEV_DRIVER_NULL_CO,
        .node_name = (char *)name,
    };

    return bdrv_open_blockdev(&opts, &error_abort);
}

static BlockDriverState *node;

static TestBlockJob *new_bjob(const char *id, int64_t speed,
                              bool auto_finalize, bool auto_dismiss)
{
    TestBlockJob *s = block_job_create(id, &test_bjob_driver, node,
                                       BLK_PERM_CONSISTENT_READ,
                                       BLK_PERM_ALL, speed, auto_finalize,
                                       auto_dismiss, &error_abort);

    s->len = 4 * MiB;
    s->step = 1 * MiB;
    return s;
}

/*
 * Events
 */

static void test_events_complete(void)
{
    TestBlockJob *s = new_bjob("j1", 0, true, true);

    job_start(&s->common.job);
    assert_events("created running");
    run_pending();
    assert_events("ready BLOCK_JOB_READY");
    assert_event_data("BLOCK_JOB_READY",
                      "{\"type\": \"mirror\", \"device\": \"j1\", "
                      "\"len\": 4194304, \"offset\": 4194304, \"speed\": 0}");
    g_assert_true(qmp_block_job_complete("j1", &error_abort));
    run_pending();
    assert_events("waiting pending BLOCK_JOB_COMPLETED concluded null");
    assert_event_data("BLOCK_JOB_COMPLETED",
                      "{\"type\": \"mirror\", \"device\": \"j1\", "
                      "\"len\": 4194304, \"offset\": 4194304, \"speed\": 0}");
}

static void test_events_cancel_before_ready(void)
{
    TestBlockJob *s = new_bjob("j1", 0, true, true);

    s->long_sleep = true;
    job_start(&s->common.job);
    g_assert_true(qmp_block_job_cancel("j1", false, false, &error_abort));
    assert_events("created running");
    run_pending();
    assert_events("aborting BLOCK_JOB_CANCELLED concluded null");
    assert_event_data("BLOCK_JOB_CANCELLED",
                      "{\"type\": \"mirror\", \"device\": \"j1\", "
                      "\"len\": 4194304, \"offset\": 1048576, \"speed\": 0}");
}

static void test_events_soft_cancel_ready(void)
{
    TestBlockJob *s = new_bjob("j1", 0, true, true);

    job_start(&s->common.job);
    run_pending();
    assert_events("created running ready BLOCK_JOB_READY");
    g_assert_true(qmp_block_job_cancel("j1", false, false, &error_abort));
    run_pending();
    assert_events("waiting pending BLOCK_JOB_COMPLETED concluded null");
}

static void test_events_hard_cancel_ready(void)
{
    TestBlockJob *s = new_bjob("j1", 0, true, true);

    job_start(&s->common.job);
    run_pending();
    assert_events("created running ready BLOCK_JOB_READY");
    g_assert_true(qmp_block_job_cancel("j1", true, true, &error_abort));
    run_pending();
    assert_events("aborting BLOCK_JOB_CANCELLED concluded null");
}

static void test_events_job_cancel_ready(void)
{
    TestBlockJob *s = new_bjob("j1", 0, true, true);

    job_start(&s->common.job);
    run_pending();
    assert_events("created running ready BLOCK_JOB_READY");
    /* job-cancel always forces. */
    g_assert_true(qmp_job_cancel("j1", &error_abort));
    run_pending();
    assert_events("aborting BLOCK_JOB_CANCELLED concluded null");
}

static void test_events_manual_finalize(void)
{
    TestBlockJob *s = new_bjob("j1", 0, false, false);
    BlockJobInfoList *list;

    job_start(&s->common.job);
    run_pending();
    g_assert_true(qmp_block_job_complete("j1", &error_abort));
    run_pending();
    assert_events("created running ready BLOCK_JOB_READY waiting pending "
                  "BLOCK_JOB_PENDING");
    assert_event_data("BLOCK_JOB_PENDING",
                      "{\"type\": \"mirror\", \"id\": \"j1\"}");
    list = qmp_query_block_jobs(&error_abort);
    g_assert_cmpint(list->value->status, ==, JOB_STATUS_PENDING);
    g_assert_false(list->value->ready);
    qapi_free_BlockJobInfoList(list);

    g_assert_true(qmp_block_job_finalize("j1", &error_abort));
    assert_events("BLOCK_JOB_COMPLETED concluded");
    g_assert_true(qmp_block_job_dismiss("j1", &error_abort));
    assert_events("null");
}

static void test_events_cancel_pending(void)
{
    TestBlockJob *s = new_bjob("j1", 0, false, false);
    BlockJobInfoList *list;

    job_start(&s->common.job);
    run_pending();
    g_assert_true(qmp_block_job_complete("j1", &error_abort));
    run_pending();
    drop_events();
    /* BLOCK_JOB_CANCELLED goes out before the command returns. */
    g_assert_true(qmp_block_job_cancel("j1", false, false, &error_abort));
    assert_events("aborting BLOCK_JOB_CANCELLED concluded");
    list = qmp_query_block_jobs(&error_abort);
    g_assert_cmpint(list->value->status, ==, JOB_STATUS_CONCLUDED);
    g_assert_cmpstr(list->value->error, ==, "Operation canceled");
    qapi_free_BlockJobInfoList(list);
    g_assert_true(qmp_job_dismiss("j1", &error_abort));
    assert_events("null");
}

static void test_events_fail(void)
{
    TestBlockJob *s = new_bjob("j1", 0, true, true);

    s->run_ret = -EIO;
    job_start(&s->common.job);
    run_pending();
    assert_events("created running aborting BLOCK_JOB_COMPLETED concluded "
                  "null");
    assert_event_data("BLOCK_JOB_COMPLETED",
                      "{\"type\": \"mirror\", \"device\": \"j1\", "
                      "\"len\": 4194304, \"offset\": 1048576, \"speed\": 0, "
                      "\"error\": \"Input/output error\"}");
}

/*
 * Creation
 */

static void test_create_errors(void)
{
    Error *err = NULL;
    BlockBackend *blk;

    /* No job ID and no device name: QEMU's daemon says this. */
    g_assert_null(block_job_create(NULL, &test_bjob_driver, node, 0,
                                   BLK_PERM_ALL, 0, true, true, &err));
    assert_error(&err, "Invalid job ID ''");

    /* A device name is the default ID. */
    blk = blk_new(qemu_get_aio_context(), 0, BLK_PERM_ALL);
    g_assert_cmpint(blk_insert_bs(blk, node, &error_abort), ==, 0);
    g_assert_true(blk_set_name(blk, "dev0", &error_abort));
    g_assert_nonnull(block_job_create(NULL, &test_bjob_driver, node, 0,
                                      BLK_PERM_ALL, 0, true, true,
                                      &error_abort));
    g_assert_nonnull(block_job_get("dev0"));
    job_early_fail(&block_job_get("dev0")->job);
    blk_unref(blk);
    assert_events("created null");

    /* Negative speed: created, then gone, then the error. */
    g_assert_null(block_job_create("j1", &test_bjob_driver, node, 0,
                                   BLK_PERM_ALL, -1, true, true, &err));
    assert_error(&err, "Parameter 'speed' expects a non-negative value");
    assert_events("created null");
    g_assert_null(job_next(NULL));
    /* Nothing left on the node. */
    g_assert_true(QLIST_EMPTY(&node->parents));
}

/*
 * QMP handlers
 */

static void test_qmp_not_found(void)
{
    Error *err = NULL;
    BlockJobInfoList *list;

    g_assert_false(qmp_block_job_pause("nojob", &err));
    g_assert_cmpint(error_get_class(err), ==, ERROR_CLASS_DEVICE_NOT_ACTIVE);
    assert_error(&err, "Block job 'nojob' not found");
    g_assert_false(qmp_block_job_resume("nojob", &err));
    assert_error(&err, "Block job 'nojob' not found");
    g_assert_false(qmp_block_job_cancel("nojob", false, false, &err));
    assert_error(&err, "Block job 'nojob' not found");
    g_assert_false(qmp_block_job_complete("nojob", &err));
    assert_error(&err, "Block job 'nojob' not found");
    g_assert_false(qmp_block_job_set_speed("nojob", 1, &err));
    assert_error(&err, "Block job 'nojob' not found");
    g_assert_false(qmp_block_job_finalize("nojob", &err));
    assert_error(&err, "Block job 'nojob' not found");
    g_assert_false(qmp_block_job_dismiss("nojob", &err));
    g_assert_cmpint(error_get_class(err), ==, ERROR_CLASS_DEVICE_NOT_ACTIVE);
    assert_error(&err, "Block job 'nojob' not found");

    g_assert_false(qmp_job_pause("nojob", &err));
    g_assert_cmpint(error_get_class(err), ==, ERROR_CLASS_GENERIC_ERROR);
    assert_error(&err, "Job not found");
    g_assert_false(qmp_job_resume("nojob", &err));
    assert_error(&err, "Job not found");
    g_assert_false(qmp_job_cancel("nojob", &err));
    assert_error(&err, "Job not found");
    g_assert_false(qmp_job_complete("nojob", &err));
    assert_error(&err, "Job not found");
    g_assert_false(qmp_job_finalize("nojob", &err));
    assert_error(&err, "Job not found");

    list = qmp_query_block_jobs(&err);
    g_assert_null(list);
    g_assert_null(err);
}

static void test_qmp_pause_resume_cancel(void)
{
    TestBlockJob *s = new_bjob("j1", 0, true, true);
    BlockJobInfoList *list;
    Error *err = NULL;

    s->long_sleep = true;
    job_start(&s->common.job);
    g_assert_false(qmp_block_job_resume("j1", &err));
    assert_error(&err, "Can't resume a job that was not paused");
    g_assert_true(qmp_block_job_pause("j1", &error_abort));
    g_assert_false(qmp_block_job_pause("j1", &err));
    assert_error(&err, "Job is already paused");
    assert_events("created running paused");

    list = qmp_query_block_jobs(&error_abort);
    g_assert_cmpstr(list->value->type, ==, "mirror");
    g_assert_cmpstr(list->value->device, ==, "j1");
    g_assert_cmpint(list->value->status, ==, JOB_STATUS_PAUSED);
    g_assert_true(list->value->paused);
    g_assert_false(list->value->busy);
    g_assert_false(list->value->ready);
    g_assert_cmpint(list->value->io_status, ==, BLOCK_DEVICE_IO_STATUS_OK);
    g_assert_cmpint(list->value->len, ==, 4 * MiB);
    g_assert_cmpint(list->value->offset, ==, 1 * MiB);
    g_assert_true(list->value->auto_finalize);
    g_assert_true(list->value->auto_dismiss);
    g_assert_null(list->value->error);
    qapi_free_BlockJobInfoList(list);

    /* Soft cancel of a user-paused job: refused; forced: works. */
    g_assert_false(qmp_block_job_cancel("j1", false, false, &err));
    assert_error(&err, "The block job for device 'j1' is currently paused");
    g_assert_false(qmp_block_job_cancel("j1", true, false, &err));
    assert_error(&err, "The block job for device 'j1' is currently paused");
    g_assert_false(qmp_block_job_complete("j1", &err));
    assert_error(&err, "Job 'j1' in state 'paused' cannot accept command "
                      "verb 'complete'");
    g_assert_true(qmp_block_job_cancel("j1", true, true, &error_abort));
    run_pending();
    assert_events("running aborting BLOCK_JOB_CANCELLED concluded null");
}

static void test_qmp_query_omits_other_jobs(void)
{
    static const JobDriver create_driver = {
        .instance_size = sizeof(Job),
        .job_type      = JOB_TYPE_CREATE,
    };
    Job *other = job_create("other", &create_driver, NULL, true, true,
                            &error_abort);
    Error *err = NULL;
    BlockJobInfoList *list;
    JobInfoList *jobs;

    list = qmp_query_block_jobs(&error_abort);
    g_assert_null(list);
    g_assert_false(qmp_block_job_pause("other", &err));
    assert_error(&err, "Block job 'other' not found");
    jobs = qmp_query_jobs(&error_abort);
    g_assert_cmpstr(jobs->value->id, ==, "other");
    qapi_free_JobInfoList(jobs);
    job_early_fail(other);
    assert_events("created null");
}

/*
 * Speed
 */

static void test_set_speed(void)
{
    TestBlockJob *s = new_bjob("j1", 0, true, true);
    BlockJobInfoList *list;
    Error *err = NULL;
    int steps;

    s->long_sleep = true;
    job_start(&s->common.job);
    g_assert_cmpint(s->steps, ==, 1);
    g_assert_true(timer_pending(&s->common.job.sleep_timer));

    g_assert_false(qmp_block_job_set_speed("j1", -1, &err));
    assert_error(&err, "Parameter 'speed' expects a non-negative value");

    /* Raising the limit wakes the sleeper at once. */
    steps = s->steps;
    g_assert_true(qmp_block_job_set_speed("j1", 1 * MiB, &error_abort));
    g_assert_cmpint(s->steps, ==, steps + 1);
    list = qmp_query_block_jobs(&error_abort);
    g_assert_cmpint(list->value->speed, ==, 1 * MiB);
    qapi_free_BlockJobInfoList(list);

    /* Lowering it does not. */
    steps = s->steps;
    g_assert_true(qmp_block_job_set_speed("j1", 1 * KiB, &error_abort));
    g_assert_cmpint(s->steps, ==, steps);

    /* 0 (unlimited) does. */
    g_assert_true(qmp_block_job_set_speed("j1", 0, &error_abort));
    g_assert_cmpint(s->steps, ==, steps + 1);

    g_assert_true(qmp_job_cancel("j1", &error_abort));
    run_pending();
    g_assert_null(job_next(NULL));
    drop_events();
}

static void test_ratelimit(void)
{
    TestBlockJob *s = new_bjob("j1", 10 * MiB, true, true);

    /* 1 MiB steps at 10 MiB/s: the first slice bursts, then 100 ms each. */
    g_assert_cmpint(block_job_ratelimit_get_delay(&s->common, 0), ==, 0);
    g_assert_cmpint(block_job_ratelimit_get_delay(&s->common, 1 * MiB), >,
                    0);
    g_assert_cmpint(block_job_ratelimit_get_delay(&s->common, 1 * MiB), <=,
                    2 * BLOCK_JOB_SLICE_TIME);
    job_early_fail(&s->common.job);

    s = new_bjob("j1", 0, true, true);
    g_assert_cmpint(block_job_ratelimit_get_delay(&s->common, 64 * MiB), ==,
                    0);
    job_early_fail(&s->common.job);
    drop_events();
}

/*
 * Error actions
 */

static BlockJobInfo *query_one(void)
{
    BlockJobInfoList *list = qmp_query_block_jobs(&error_abort);
    BlockJobInfo *info = list->value;

    g_assert_null(list->next);
    list->value = NULL;
    qapi_free_BlockJobInfoList(list);
    return info;
}

static void test_error_stop(void)
{
    TestBlockJob *s = new_bjob("j1", 0, true, true);
    BlockJobInfo *info;
    Error *err = NULL;

    s->long_sleep = true;
    job_start(&s->common.job);
    drop_events();

    g_assert_cmpint(block_job_error_action(&s->common,
                                           BLOCKDEV_ON_ERROR_STOP, false,
                                           EIO),
                    ==, BLOCK_ERROR_ACTION_STOP);
    assert_events("BLOCK_JOB_ERROR paused");
    assert_event_data("BLOCK_JOB_ERROR",
                      "{\"device\": \"j1\", \"operation\": \"write\", "
                      "\"action\": \"stop\"}");
    info = query_one();
    g_assert_cmpint(info->io_status, ==, BLOCK_DEVICE_IO_STATUS_FAILED);
    g_assert_cmpint(info->status, ==, JOB_STATUS_PAUSED);
    g_assert_true(info->paused);
    qapi_free_BlockJobInfo(info);

    /* A second stop while stopped keeps the first io-status. */
    block_job_error_action(&s->common, BLOCKDEV_ON_ERROR_ENOSPC, true,
                           ENOSPC);
    assert_event_data("BLOCK_JOB_ERROR",
                      "{\"device\": \"j1\", \"operation\": \"read\", "
                      "\"action\": \"stop\"}");
    g_assert_cmpint(s->common.iostatus, ==, BLOCK_DEVICE_IO_STATUS_FAILED);
    g_assert_cmpint(s->common.job.pause_count, ==, 1);
    drop_events();

    g_assert_false(qmp_block_job_cancel("j1", false, false, &err));
    assert_error(&err, "The block job for device 'j1' is currently paused");

    /* The user's resume clears the io-status and the job goes on. */
    g_assert_true(qmp_block_job_resume("j1", &error_abort));
    assert_events("running");
    info = query_one();
    g_assert_cmpint(info->io_status, ==, BLOCK_DEVICE_IO_STATUS_OK);
    g_assert_cmpint(info->status, ==, JOB_STATUS_RUNNING);
    g_assert_false(info->paused);
    qapi_free_BlockJobInfo(info);

    g_assert_true(qmp_block_job_cancel("j1", false, false, &error_abort));
    run_pending();
    assert_events("aborting BLOCK_JOB_CANCELLED concluded null");
}

static void test_error_enospc(void)
{
    TestBlockJob *s = new_bjob("j1", 0, true, true);

    s->long_sleep = true;
    job_start(&s->common.job);
    drop_events();

    /* enospc and auto: EIO is reported, ENOSPC stops. */
    g_assert_cmpint(block_job_error_action(&s->common,
                                           BLOCKDEV_ON_ERROR_ENOSPC, true,
                                           EIO),
                    ==, BLOCK_ERROR_ACTION_REPORT);
    assert_event_data("BLOCK_JOB_ERROR",
                      "{\"device\": \"j1\", \"operation\": \"read\", "
                      "\"action\": \"report\"}");
    g_assert_cmpint(block_job_error_action(&s->common,
                                           BLOCKDEV_ON_ERROR_AUTO, false,
                                           EIO),
                    ==, BLOCK_ERROR_ACTION_REPORT);
    g_assert_cmpint(s->common.iostatus, ==, BLOCK_DEVICE_IO_STATUS_OK);
    g_assert_false(job_user_paused(&s->common.job));
    assert_events("BLOCK_JOB_ERROR BLOCK_JOB_ERROR");

    g_assert_cmpint(block_job_error_action(&s->common,
                                           BLOCKDEV_ON_ERROR_AUTO, false,
                                           ENOSPC),
                    ==, BLOCK_ERROR_ACTION_STOP);
    assert_events("BLOCK_JOB_ERROR paused");
    g_assert_cmpint(s->common.iostatus, ==, BLOCK_DEVICE_IO_STATUS_NOSPACE);
    g_assert_true(job_user_paused(&s->common.job));

    /* job-resume clears it too. */
    g_assert_true(qmp_job_resume("j1", &error_abort));
    g_assert_cmpint(s->common.iostatus, ==, BLOCK_DEVICE_IO_STATUS_OK);
    assert_events("running");

    g_assert_true(qmp_job_cancel("j1", &error_abort));
    run_pending();
    drop_events();
}

static void test_error_report_ignore(void)
{
    TestBlockJob *s = new_bjob("j1", 0, true, true);

    s->long_sleep = true;
    job_start(&s->common.job);
    drop_events();

    g_assert_cmpint(block_job_error_action(&s->common,
                                           BLOCKDEV_ON_ERROR_REPORT, true,
                                           EIO),
                    ==, BLOCK_ERROR_ACTION_REPORT);
    assert_events("BLOCK_JOB_ERROR");
    g_assert_cmpint(block_job_error_action(&s->common,
                                           BLOCKDEV_ON_ERROR_IGNORE, false,
                                           ENOSPC),
                    ==, BLOCK_ERROR_ACTION_IGNORE);
    assert_events("BLOCK_JOB_ERROR");
    assert_event_data("BLOCK_JOB_ERROR",
                      "{\"device\": \"j1\", \"operation\": \"write\", "
                      "\"action\": \"ignore\"}");
    g_assert_cmpint(s->common.iostatus, ==, BLOCK_DEVICE_IO_STATUS_OK);
    g_assert_cmpint(s->common.job.status, ==, JOB_STATUS_RUNNING);

    g_assert_true(qmp_job_cancel("j1", &error_abort));
    run_pending();
    drop_events();
}

/*
 * Drains
 */

static void test_drain_pauses(void)
{
    TestBlockJob *s = new_bjob("j1", 0, true, true);
    BlockJobInfo *info;

    s->long_sleep = true;
    job_start(&s->common.job);
    drop_events();

    bdrv_drained_begin(node);
    /* Paused, not by the user. */
    assert_events("paused");
    g_assert_cmpint(s->drains, ==, 1);
    g_assert_true(s->common.job.paused);
    g_assert_false(job_user_paused(&s->common.job));
    info = query_one();
    g_assert_true(info->paused);
    g_assert_false(info->busy);
    qapi_free_BlockJobInfo(info);

    /* Nested drains: one pause request each, one JOB_STATUS_CHANGE. */
    bdrv_drained_begin(node);
    g_assert_cmpint(s->common.job.pause_count, ==, 1);
    bdrv_drained_end(node);
    assert_events("");

    bdrv_drained_end(node);
    assert_events("running");
    g_assert_cmpint(s->common.job.pause_count, ==, 0);

    g_assert_true(qmp_job_cancel("j1", &error_abort));
    run_pending();
    drop_events();
}

/* The job's edge stays on its node when the node is replaced. */
static void test_edges_stay(void)
{
    TestBlockJob *s = new_bjob("j1", 0, true, true);
    BlockDriverState *other = open_null("other");
    BdrvChild *c;
    int n = 0;

    g_assert_true(block_job_add_bdrv(&s->common, "target", other, 0,
                                     BLK_PERM_ALL, &error_abort));
    QLIST_FOREACH(c, &other->parents, next_parent) {
        g_assert_true(c->opaque == s);
        g_assert_true(c->klass->stay_at_node);
        n++;
    }
    g_assert_cmpint(n, ==, 1);

    /* A drain of the second node pauses the job as well. */
    job_start(&s->common.job);
    run_pending();
    drop_events();
    bdrv_drained_begin(other);
    assert_events("standby");
    bdrv_drained_end(other);
    assert_events("ready");

    block_job_remove_all_bdrv(&s->common);
    g_assert_true(QLIST_EMPTY(&other->parents));
    g_assert_true(qmp_job_cancel("j1", &error_abort));
    run_pending();
    drop_events();
    bdrv_unref(other);
}

/* Shutdown: every block job goes, paused or stopped on error. */
static void test_cancel_sync_all(void)
{
    TestBlockJob *a = new_bjob("a", 0, true, true);
    TestBlockJob *b = new_bjob("b", 0, true, true);

    a->long_sleep = true;
    job_start(&a->common.job);
    block_job_error_action(&a->common, BLOCKDEV_ON_ERROR_STOP, false, EIO);
    job_start(&b->common.job);
    run_pending();
    g_assert_true(job_is_ready(&b->common.job));
    drop_events();

    job_cancel_sync_all();
    g_assert_null(job_next(NULL));
    assert_events("aborting BLOCK_JOB_CANCELLED concluded null "
                  "running aborting BLOCK_JOB_CANCELLED concluded null");
    g_assert_true(QLIST_EMPTY(&node->parents));
}

int main(int argc, char **argv)
{
    int ret;

    g_test_init(&argc, &argv, NULL);
    trace_init_from_env();
    qemu_init_main_loop(&error_abort);
    bdrv_init();
    events = g_string_new("");
    event_data = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                       g_free);
    qapi_event_set_emitter(record_event);
    node = open_null("src");

    g_test_add_func("/blockjob/events/complete", test_events_complete);
    g_test_add_func("/blockjob/events/cancel-before-ready",
                    test_events_cancel_before_ready);
    g_test_add_func("/blockjob/events/soft-cancel-ready",
                    test_events_soft_cancel_ready);
    g_test_add_func("/blockjob/events/hard-cancel-ready",
                    test_events_hard_cancel_ready);
    g_test_add_func("/blockjob/events/job-cancel-ready",
                    test_events_job_cancel_ready);
    g_test_add_func("/blockjob/events/manual-finalize",
                    test_events_manual_finalize);
    g_test_add_func("/blockjob/events/cancel-pending",
                    test_events_cancel_pending);
    g_test_add_func("/blockjob/events/fail", test_events_fail);
    g_test_add_func("/blockjob/create/errors", test_create_errors);
    g_test_add_func("/blockjob/qmp/not-found", test_qmp_not_found);
    g_test_add_func("/blockjob/qmp/pause-resume-cancel",
                    test_qmp_pause_resume_cancel);
    g_test_add_func("/blockjob/qmp/query-omits-other-jobs",
                    test_qmp_query_omits_other_jobs);
    g_test_add_func("/blockjob/speed/set-speed", test_set_speed);
    g_test_add_func("/blockjob/speed/ratelimit", test_ratelimit);
    g_test_add_func("/blockjob/error/stop", test_error_stop);
    g_test_add_func("/blockjob/error/enospc", test_error_enospc);
    g_test_add_func("/blockjob/error/report-ignore",
                    test_error_report_ignore);
    g_test_add_func("/blockjob/drain/pauses", test_drain_pauses);
    g_test_add_func("/blockjob/drain/edges-stay", test_edges_stay);
    g_test_add_func("/blockjob/cancel-sync-all", test_cancel_sync_all);
    ret = g_test_run();
    bdrv_unref(node);
    return ret;
}
