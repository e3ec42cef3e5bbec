/*
 * Tests of the Error API (qapi/error.h) and trace control.
 *
 * What callers rely on: the errp they pass decides the outcome (discard,
 * receive, abort, exit), the first error wins, messages compose as
 * documented, and the class survives every move.
 */
#include "qemu/osdep.h"

#include "qapi/error.h"
#include "qemu/trace-control.h"
#include "trace.h"

static bool fail_with(Error **errp, const char *what)
{
    error_setg(errp, "Could not open '%s'", what);
    return false;
}

static void test_setg_receive(void)
{
    Error *err = NULL;

    g_assert_false(fail_with(&err, "a.img"));
    g_assert_nonnull(err);
    g_assert_cmpstr(error_get_pretty(err), ==, "Could not open 'a.img'");
    g_assert_cmpint(error_get_class(err), ==, ERROR_CLASS_GENERIC_ERROR);
    g_assert_cmpstr(error_class_name(error_get_class(err)), ==,
                    "GenericError");
    error_free(err);
}

static void test_null_errp_discards(void)
{
    Error *err = NULL;

    /* Must not crash or leak (the sanitizer tree checks the leak). */
    g_assert_false(fail_with(NULL, "a.img"));

    /* Propagating into NULL frees the error. */
    error_setg(&err, "dropped");
    error_propagate(NULL, err);
}

static void test_setg_errno(void)
{
    Error *err = NULL;

    error_setg_errno(&err, ENOENT, "Could not open '%s'", "b.img");
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "Could not open 'b.img': No such file or directory");
    g_assert_cmpint(error_get_errno(err), ==, ENOENT);
    error_free(err);
    err = NULL;

    /* -errno, as data-path code returns it, means the same thing. */
    error_setg_errno(&err, -EIO, "read failed");
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "read failed: Input/output error");
    error_free(err);
}

static void test_set_class(void)
{
    Error *err = NULL;
    Error *copy;

    error_set(&err, ERROR_CLASS_DEVICE_NOT_ACTIVE, "Block job '%s' not found",
              "job0");
    g_assert_cmpstr(error_class_name(error_get_class(err)), ==,
                    "DeviceNotActive");
    copy = error_copy(err);
    error_free(err);
    g_assert_cmpint(error_get_class(copy), ==, ERROR_CLASS_DEVICE_NOT_ACTIVE);
    g_assert_cmpstr(error_get_pretty(copy), ==, "Block job 'job0' not found");
    error_free(copy);

    g_assert_cmpstr(error_class_name(ERROR_CLASS_COMMAND_NOT_FOUND), ==,
                    "CommandNotFound");
    g_assert_cmpstr(error_class_name(ERROR_CLASS_DEVICE_NOT_FOUND), ==,
                    "DeviceNotFound");
}

static void test_propagate_first_wins(void)
{
    Error *dst = NULL;
    Error *a = NULL, *b = NULL;

    error_setg(&a, "first");
    error_setg(&b, "second");
    error_propagate(&dst, a);
    error_propagate(&dst, b);     /* freed: dst already holds one */
    g_assert_cmpstr(error_get_pretty(dst), ==, "first");
    error_propagate(&dst, NULL);  /* no-op */
    g_assert_cmpstr(error_get_pretty(dst), ==, "first");
    error_free_or_abort(&dst);
    g_assert_null(dst);
}

static void test_prepend_and_hint(void)
{
    Error *err = NULL;
    Error *dst = NULL;

    error_setg(&err, "Permission denied");
    error_prepend(&err, "Could not open '%s': ", "c.img");
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "Could not open 'c.img': Permission denied");
    g_assert_null(error_get_hint(err));
    error_append_hint(&err, "Try %s\n", "locking=off");
    error_append_hint(&err, "or ask the owner\n");
    g_assert_cmpstr(error_get_hint(err), ==,
                    "Try locking=off\nor ask the owner\n");
    /* The hint never becomes part of the message (QMP sends only that). */
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "Could not open 'c.img': Permission denied");

    error_propagate_prepend(&dst, err, "node '%s': ", "n0");
    g_assert_cmpstr(error_get_pretty(dst), ==,
                    "node 'n0': Could not open 'c.img': Permission denied");
    error_free(dst);

    /* Appending a hint or prefix to no error does nothing. */
    error_append_hint(NULL, "x");
    dst = NULL;
    error_prepend(&dst, "x");
    g_assert_null(dst);
}

static void test_abort_subprocess(void)
{
    if (g_test_subprocess()) {
        fail_with(&error_abort, "d.img");
        return;
    }
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_failed();
    g_test_trap_assert_stderr("*Unexpected error in fail_with()*"
                              "Could not open 'd.img'*");
}

static void test_fatal_subprocess(void)
{
    if (g_test_subprocess()) {
        g_set_prgname("qblock-test");
        fail_with(&error_fatal, "e.img");
        return;
    }
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_failed();
    g_test_trap_assert_stderr("qblock-test: Could not open 'e.img'\n");
}

static void test_report_err_prints(void)
{
    if (g_test_subprocess()) {
        Error *err = NULL;

        g_set_prgname("qblock-test");
        error_setg(&err, "bad thing");
        error_append_hint(&err, "a hint\n");
        error_report_err(err);
        warn_report("careful %d", 1);
        return;
    }
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_passed();
    g_test_trap_assert_stderr("qblock-test: bad thing\na hint\n"
                              "qblock-test: warning: careful 1\n");
}

static void test_report_location(void)
{
    if (g_test_subprocess()) {
        g_set_prgname("qblock-test");
        error_set_location("--chardev %s", "socket");
        error_report("chardev: no id specified");
        warn_report("short-form boolean option 'server' deprecated");
        error_set_location(NULL);
        error_report("plain");
        return;
    }
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_passed();
    g_test_trap_assert_stderr(
        "qblock-test: --chardev socket: chardev: no id specified\n"
        "qblock-test: --chardev socket: warning: short-form boolean option "
        "'server' deprecated\n"
        "qblock-test: plain\n");
}

static void test_report_file_location(void)
{
    if (g_test_subprocess()) {
        Error *err = NULL;

        g_set_prgname("qblock-test");
        error_set_location("--trace %s", "events=list.txt");
        error_push_location_file("list.txt", 3);
        warn_report("trace event 'x' does not exist");
        error_pop_location();
        error_setg(&err, "No such file or directory");
        error_set_file_location(&err, "missing.txt", 0);
        error_report_err(err);
        error_report("back on the option");
        return;
    }
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_passed();
    /* QEMU's two location styles: "prog: OPTION: " and "prog:FILE:N: " */
    g_test_trap_assert_stderr(
        "qblock-test:list.txt:3: warning: trace event 'x' does not exist\n"
        "qblock-test:missing.txt: No such file or directory\n"
        "qblock-test: --trace events=list.txt: back on the option\n");
}

static void capture(void *opaque, const char *msg)
{
    g_string_append_printf(opaque, "[%s]", msg);
}

static void test_report_func(void)
{
    g_autoptr(GString) got = g_string_new(NULL);

    error_set_report_func(capture, got);
    error_report("one %s", "two");
    warn_report("three");
    error_set_report_func(NULL, NULL);
    g_assert_cmpstr(got->str, ==, "[one two][warning: three]");
}

/* ------------------------------------------------------------ tracing */

static void test_trace_patterns(void)
{
    int id = trace_event_find("thread_pool_submit");

    g_assert_cmpint(id, >=, 0);
    g_assert_cmpint(trace_event_find("no_such_event"), ==, -1);
    g_assert_false(trace_event_dstate[id]);

    g_assert_cmpuint(trace_enable_pattern("thread_pool_*", true), >=, 2);
    g_assert_true(trace_event_dstate[id]);
    g_assert_cmpuint(trace_enable_pattern("nothing_matches_*", true), ==, 0);
    g_assert_cmpuint(trace_enable_pattern("*", false), ==, trace_event_count);
    g_assert_false(trace_event_dstate[id]);
}

static void test_trace_opt_parse(void)
{
    Error *err = NULL;
    int id = trace_event_find("thread_pool_submit");

    g_assert_true(trace_opt_parse("thread_pool_sub*", &error_abort));
    g_assert_true(trace_event_dstate[id]);
    g_assert_true(trace_opt_parse("enable=-thread_pool_submit", &error_abort));
    g_assert_false(trace_event_dstate[id]);

    g_assert_false(trace_opt_parse("enable=x,colour=red", &err));
    g_assert_cmpstr(error_get_pretty(err), ==, "Invalid parameter 'colour'");
    error_free(err);
    err = NULL;

    g_assert_false(trace_opt_parse("events=/nonexistent/trace-list", &err));
    g_assert_cmpstr(error_get_pretty(err), ==, "No such file or directory");
    error_free(err);
}

static void test_trace_log_output(void)
{
    g_autofree char *dir = g_dir_make_tmp("test-trace-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "trace.log", NULL);
    g_autofree char *opt = g_strdup_printf("enable=thread_pool_spawn,file=%s",
                                           path);
    g_autofree char *text = NULL;

    g_assert_true(trace_opt_parse(opt, &error_abort));
    trace_thread_pool_spawn((void *)0x1234, 7);
    trace_thread_pool_submit(NULL, NULL, NULL);     /* disabled: no line */
    g_assert_true(trace_set_output(NULL, &error_abort));
    trace_enable_pattern("*", false);

    g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
    g_assert_true(g_regex_match_simple(
        "^[0-9]+@[0-9]+\\.[0-9]{6}:thread_pool_spawn pool 0x1234 threads 7\n$",
        text, 0, 0));
    unlink(path);
    rmdir(dir);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/error/setg/receive", test_setg_receive);
    g_test_add_func("/error/setg/null-discards", test_null_errp_discards);
    g_test_add_func("/error/setg-errno", test_setg_errno);
    g_test_add_func("/error/class", test_set_class);
    g_test_add_func("/error/propagate/first-wins", test_propagate_first_wins);
    g_test_add_func("/error/prepend-and-hint", test_prepend_and_hint);
    g_test_add_func("/error/abort", test_abort_subprocess);
    g_test_add_func("/error/fatal", test_fatal_subprocess);
    g_test_add_func("/error/report-err", test_report_err_prints);
    g_test_add_func("/error/report-func", test_report_func);
    g_test_add_func("/error/report-location", test_report_location);
    g_test_add_func("/error/report-file-location", test_report_file_location);
    g_test_add_func("/trace/patterns", test_trace_patterns);
    g_test_add_func("/trace/opt-parse", test_trace_opt_parse);
    g_test_add_func("/trace/log-output", test_trace_log_output);
    return g_test_run();
}
