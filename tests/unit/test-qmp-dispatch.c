/*
 * Tests of QMP dispatch (qapi/qmp-dispatch.c), the generated marshallers
 * and events, and the introspection data, on the test schema
 * tests/qapi-schema/qapi-schema-test.json.
 *
 * What the monitor relies on: every malformed request gets QEMU 7.2's
 * reply (class and text), the "id" comes back unchanged whatever JSON it
 * is, arguments reach the handler as the schema says, return values come
 * back as JSON, and options (no reply, out-of-band, coroutine) behave.
 * Requests and replies are compared as JSON text in QEMU's format.
 */
#include "qemu/osdep.h"

#include "qapi/error.h"
#include "qapi/qjson.h"
#include "qemu/json-stream.h"
#include "qemu/json-writer.h"
#include "qemu/coroutine.h"
#include "test-qapi-commands.h"
#include "test-qapi-events.h"
#include "test-qapi-introspect.h"
#include "test-qapi-visit.h"

static QmpCommandList commands;

/* What the handlers saw, for the tests to check. */
static struct {
    int calls;
    char *device;
    bool has_speed;
    int64_t speed;
    bool has_sync;
    TestEnum sync;
    int yields_done;
} seen;

/* Handlers of the test schema */

bool qmp_test_no_args(Error **errp)
{
    seen.calls++;
    return true;
}

TestSub *qmp_test_args(const char *device, bool has_speed, int64_t speed,
                       bool has_granularity, uint32_t granularity,
                       bool has_sync, TestEnum sync, bool has_force,
                       bool force, TestSub *opts, strList *names,
                       Error **errp)
{
    TestSub *ret = g_new0(TestSub, 1);

    seen.calls++;
    g_free(seen.device);
    seen.device = g_strdup(device);
    seen.has_speed = has_speed;
    seen.speed = speed;
    seen.has_sync = has_sync;
    seen.sync = sync;
    ret->name = g_strdup(device);
    ret->has_value = has_granularity;
    ret->value = granularity;
    return ret;
}

TestSubList *qmp_test_named_args(const char *base_member, int64_t own,
                                 Error **errp)
{
    TestSubList *list = NULL;
    int64_t i;

    /* @own elements, last first; zero of them is the empty list NULL. */
    for (i = 0; i < own; i++) {
        TestSubList *entry = g_new0(TestSubList, 1);

        entry->value = g_new0(TestSub, 1);
        entry->value->name = g_strdup(base_member);
        entry->value->has_value = true;
        entry->value->value = i;
        entry->next = list;
        list = entry;
    }
    return list;
}

TestUnion *qmp_test_boxed(TestUnion *arg, Error **errp)
{
    TestUnion *ret = g_new0(TestUnion, 1);

    /* Echo a copy: the argument belongs to the marshaller. */
    ret->kind = arg->kind;
    ret->has_common = true;
    ret->common = arg->has_common ? arg->common + 1 : -1;
    if (arg->kind == TEST_DRIVER_FILE) {
        ret->u.file.filename = g_strdup(arg->u.file.filename);
    } else if (arg->kind == TEST_DRIVER_NODE) {
        ret->u.node.node_name = g_strdup(arg->u.node.node_name);
    }
    return ret;
}

bool qmp_test_no_reply(Error **errp)
{
    seen.calls++;
    return true;
}

bool qmp_test_oob(Error **errp)
{
    return true;
}

TestSub *coroutine_fn qmp_test_coroutine(bool has_yields, int64_t yields,
                                         Error **errp)
{
    TestSub *ret = g_new0(TestSub, 1);
    int64_t i;

    g_assert_true(qemu_in_coroutine());
    for (i = 0; i < (has_yields ? yields : 0); i++) {
        qemu_coroutine_yield();
        seen.yields_done++;
    }
    ret->name = g_strdup("done");
    ret->has_value = true;
    ret->value = seen.yields_done;
    return ret;
}

/* 'gen': false: the marshaller is hand-written, but registered. */
bool qmp_marshal_test_gen_false(JsonObject *args, JsonNode **ret,
                                Error **errp)
{
    *ret = json_parse_string("{\"name\": \"by hand\"}", &error_abort);
    return true;
}

bool qmp_test_cond_on(Error **errp)
{
    return true;
}

bool qmp_test_features(Error **errp)
{
    return true;
}

int64_t qmp_test_returns_int(Error **errp)
{
    return 42;
}

JsonNode *qmp_test_returns_any(JsonNode *value, Error **errp)
{
    return json_node_copy(value);
}

bool qmp_test_old_name(Error **errp)
{
    return true;
}

bool qmp_test_fail(bool has_not_found, bool not_found, Error **errp)
{
    if (has_not_found && not_found) {
        error_set(errp, ERROR_CLASS_DEVICE_NOT_FOUND,
                  "Device 'x' not found");
    } else {
        error_setg(errp, "Failed as asked");
    }
    return false;
}

TestAlts *qmp_test_alts(TestAlt *a, TestAltScalars *scalars,
                        TestAltNumEnum *numenum, TestAltUnion *q_union,
                        Error **errp)
{
    TestAlts *ret = g_new0(TestAlts, 1);

    ret->a = g_new0(TestAlt, 1);
    ret->a->type = a->type;
    if (a->type == QTYPE_QSTRING) {
        ret->a->u.ref = g_strdup(a->u.ref);
    } else {
        ret->a->u.def.name = g_strdup(a->u.def.name);
    }
    return ret;
}

TestScalars *qmp_test_scalars(const char *str, int64_t i, int8_t i8,
                              int16_t i16, int32_t i32, int64_t i64,
                              uint8_t u8, uint16_t u16, uint32_t u32,
                              uint64_t u64, uint64_t sz, double num, bool flag,
                              JsonNode *anything, JsonNode *nothing,
                              TestEnum en, Error **errp)
{
    TestScalars *ret = g_new0(TestScalars, 1);

    ret->str = g_strdup(str);
    ret->i = i;
    ret->i8 = i8;
    ret->i16 = i16;
    ret->i32 = i32;
    ret->i64 = i64;
    ret->u8 = u8;
    ret->u16 = u16;
    ret->u32 = u32;
    ret->u64 = u64;
    ret->sz = sz;
    ret->num = num;
    ret->flag = flag;
    ret->anything = json_node_copy(anything);
    ret->nothing = json_node_new(JSON_NODE_NULL);
    ret->en = en;
    return ret;
}

TestNested *qmp_test_nested(TestNested *n, TestOptionals *o, Error **errp)
{
    g_autoptr(JsonNode) json = qapi_output_TestNested(n);
    TestNested *ret = NULL;
    QapiInput in;

    /* A deep copy, through JSON. */
    qapi_input_init(&in, false);
    g_assert_true(qapi_input_TestNested(&in, NULL, json, &ret,
                                        &error_abort));
    return ret;
}

/* Helpers */

/* Dispatch @request (JSON text); the reply as text, or NULL for none. */
static char *dispatch(const char *request, bool allow_oob)
{
    g_autoptr(JsonNode) req = json_parse_string(request, &error_abort);
    g_autoptr(JsonNode) reply = qmp_dispatch(&commands, req, allow_oob);

    return reply ? json_writer_to_string(reply, false) : NULL;
}

static void check(const char *request, const char *expected)
{
    g_autofree char *reply = dispatch(request, false);

    g_assert_cmpstr(reply, ==, expected);
}

static void check_oob(const char *request, const char *expected)
{
    g_autofree char *reply = dispatch(request, true);

    g_assert_cmpstr(reply, ==, expected);
}

#define GENERIC(desc) \
    "{\"error\": {\"class\": \"GenericError\", \"desc\": \"" desc "\"}}"
/* QEMU 7.2 writes "id" first in an error reply (last in a success). */
#define GENERIC_ID(desc, id) \
    "{\"id\": " id ", " \
    "\"error\": {\"class\": \"GenericError\", \"desc\": \"" desc "\"}}"

/* Request shape */

static void test_request_shape(void)
{
    check("[1, 2]", GENERIC("QMP input must be a JSON object"));
    check("\"hello\"", GENERIC("QMP input must be a JSON object"));
    check("42", GENERIC("QMP input must be a JSON object"));
    check("null", GENERIC("QMP input must be a JSON object"));
    check("{}", GENERIC("QMP input lacks member 'execute'"));
    check("{\"arguments\": {}}", GENERIC("QMP input lacks member 'execute'"));
    check("{\"execute\": 1}",
          GENERIC("QMP input member 'execute' must be a string"));
    check("{\"execute\": \"test-no-args\", \"bogus\": 1}",
          GENERIC("QMP input member 'bogus' is unexpected"));
    check("{\"execute\": \"test-no-args\", \"arguments\": []}",
          GENERIC("QMP input member 'arguments' must be an object"));
    check("{\"exec-oob\": \"test-oob\"}",
          GENERIC("QMP input member 'exec-oob' is unexpected"));
    /* Members are checked in the order written. */
    check("{\"bogus\": 1, \"execute\": 2}",
          GENERIC("QMP input member 'bogus' is unexpected"));
    check("{\"execute\": 2, \"bogus\": 1}",
          GENERIC("QMP input member 'execute' must be a string"));
}

static void test_unknown_command(void)
{
    check("{\"execute\": \"no-such-cmd\"}",
          "{\"error\": {\"class\": \"CommandNotFound\", "
          "\"desc\": \"The command no-such-cmd has not been found\"}}");
    /* Left out by its 'if': not there at all. */
    check("{\"execute\": \"test-cond-off\"}",
          "{\"error\": {\"class\": \"CommandNotFound\", "
          "\"desc\": \"The command test-cond-off has not been found\"}}");
    check("{\"execute\": \"test-cond-on\"}", "{\"return\": {}}");
}

static void test_disabled_command(void)
{
    qmp_disable_command(&commands, "test-no-args");
    check("{\"execute\": \"test-no-args\", \"id\": 1}",
          "{\"id\": 1, \"error\": {\"class\": \"CommandNotFound\", "
          "\"desc\": \"Command test-no-args has been disabled\"}}");
    qmp_enable_command(&commands, "test-no-args");
    check("{\"execute\": \"test-no-args\", \"id\": 1}",
          "{\"return\": {}, \"id\": 1}");
}

/* The id */

static void test_id_echo(void)
{
    check("{\"execute\": \"test-no-args\", \"id\": 7}",
          "{\"return\": {}, \"id\": 7}");
    check("{\"id\": \"abc\", \"execute\": \"test-no-args\"}",
          "{\"return\": {}, \"id\": \"abc\"}");
    check("{\"execute\": \"test-no-args\", \"id\": {\"x\": [1]}}",
          "{\"return\": {}, \"id\": {\"x\": [1]}}");
    check("{\"execute\": \"test-no-args\", \"id\": [null, 1.5, false]}",
          "{\"return\": {}, \"id\": [null, 1.5, false]}");
    check("{\"execute\": \"test-no-args\", \"id\": null}",
          "{\"return\": {}, \"id\": null}");
    /* Errors echo it too, once the request is an object. */
    check("{\"id\": 7}",
          GENERIC_ID("QMP input lacks member 'execute'", "7"));
    check("{\"execute\": \"nope\", \"id\": {\"a\": \"b\"}}",
          "{\"id\": {\"a\": \"b\"}, \"error\": {\"class\": "
          "\"CommandNotFound\", "
          "\"desc\": \"The command nope has not been found\"}}");
    check("{\"execute\": \"test-args\", \"id\": \"x\"}",
          GENERIC_ID("Parameter 'device' is missing", "\"x\""));
}

/* Arguments */

static void test_arguments(void)
{
    check("{\"execute\": \"test-args\", \"arguments\": {\"device\": \"d0\"}}",
          "{\"return\": {\"name\": \"d0\"}}");
    g_assert_cmpstr(seen.device, ==, "d0");
    g_assert_false(seen.has_speed);
    g_assert_false(seen.has_sync);

    check("{\"execute\": \"test-args\", \"arguments\": {\"device\": \"d1\", "
          "\"speed\": -5, \"granularity\": 65536, \"sync\": \"value-two\", "
          "\"force\": true, \"opts\": {\"name\": \"o\"}, "
          "\"names\": [\"a\", \"b\"]}}",
          "{\"return\": {\"name\": \"d1\", \"value\": 65536}}");
    g_assert_cmpstr(seen.device, ==, "d1");
    g_assert_true(seen.has_speed);
    g_assert_cmpint(seen.speed, ==, -5);
    g_assert_true(seen.has_sync);
    g_assert_cmpint(seen.sync, ==, TEST_ENUM_VALUE_TWO);

    check("{\"execute\": \"test-named-args\", "
          "\"arguments\": {\"base-member\": \"m\", \"own\": 2}}",
          "{\"return\": [{\"name\": \"m\", \"value\": 1}, "
          "{\"name\": \"m\", \"value\": 0}]}");
    check("{\"execute\": \"test-named-args\", "
          "\"arguments\": {\"base-member\": \"m\", \"own\": 0}}",
          "{\"return\": []}");
    check("{\"execute\": \"test-boxed\", "
          "\"arguments\": {\"kind\": \"file\", \"filename\": \"f\", "
          "\"common\": 1}}",
          "{\"return\": {\"kind\": \"file\", \"common\": 2, "
          "\"filename\": \"f\"}}");
    check("{\"execute\": \"test-boxed\", "
          "\"arguments\": {\"kind\": \"empty\"}}",
          "{\"return\": {\"kind\": \"empty\", \"common\": -1}}");
    check("{\"execute\": \"test-alts\", \"arguments\": {\"a\": \"r\"}}",
          "{\"return\": {\"a\": \"r\"}}");
    check("{\"execute\": \"test-alts\", "
          "\"arguments\": {\"a\": {\"name\": \"d\"}}}",
          "{\"return\": {\"a\": {\"name\": \"d\"}}}");
    check("{\"execute\": \"test-scalars\", \"arguments\": {\"str\": \"s\", "
          "\"i\": 1, \"i8\": 2, \"i16\": 3, \"i32\": 4, \"i64\": 5, "
          "\"u8\": 6, \"u16\": 7, \"u32\": 8, \"u64\": 9, \"sz\": 10, "
          "\"num\": 0.5, \"flag\": true, \"anything\": [1, {}], "
          "\"nothing\": null, \"en\": \"value3\"}}",
          "{\"return\": {\"str\": \"s\", \"i\": 1, \"i8\": 2, \"i16\": 3, "
          "\"i32\": 4, \"i64\": 5, \"u8\": 6, \"u16\": 7, \"u32\": 8, "
          "\"u64\": 9, \"sz\": 10, \"num\": 0.5, \"flag\": true, "
          "\"anything\": [1, {}], \"nothing\": null, \"en\": \"value3\"}}");
    check("{\"execute\": \"test-nested\", \"arguments\": {\"n\": "
          "{\"sub\": {\"name\": \"a\"}, \"subs\": [{\"name\": \"b\"}], "
          "\"strs\": [\"c\"], \"enums\": [\"value-one\"], "
          "\"derived\": {\"base-member\": \"d\", \"own\": 1}}}}",
          "{\"return\": {\"sub\": {\"name\": \"a\"}, "
          "\"subs\": [{\"name\": \"b\"}], \"strs\": [\"c\"], "
          "\"enums\": [\"value-one\"], "
          "\"derived\": {\"base-member\": \"d\", \"own\": 1}}}");
}

static void test_argument_errors(void)
{
    check("{\"execute\": \"test-args\"}",
          GENERIC("Parameter 'device' is missing"));
    check("{\"execute\": \"test-args\", \"arguments\": {}}",
          GENERIC("Parameter 'device' is missing"));
    check("{\"execute\": \"test-args\", "
          "\"arguments\": {\"device\": \"d\", \"bogus\": 1}}",
          GENERIC("Parameter 'bogus' is unexpected"));
    check("{\"execute\": \"test-no-args\", \"arguments\": {\"x\": 1}}",
          GENERIC("Parameter 'x' is unexpected"));
    check("{\"execute\": \"test-args\", \"arguments\": {\"device\": 1}}",
          GENERIC("Invalid parameter type for 'device', expected: string"));
    check("{\"execute\": \"test-args\", \"arguments\": {\"device\": null}}",
          GENERIC("Invalid parameter type for 'device', expected: string"));
    check("{\"execute\": \"test-args\", "
          "\"arguments\": {\"device\": \"d\", \"force\": \"yes\"}}",
          GENERIC("Invalid parameter type for 'force', expected: boolean"));
    check("{\"execute\": \"test-args\", "
          "\"arguments\": {\"device\": \"d\", \"speed\": \"1\"}}",
          GENERIC("Invalid parameter type for 'speed', expected: integer"));
    check("{\"execute\": \"test-args\", "
          "\"arguments\": {\"device\": \"d\", \"speed\": 1.5}}",
          GENERIC("Invalid parameter type for 'speed', expected: integer"));
    check("{\"execute\": \"test-args\", "
          "\"arguments\": {\"device\": \"d\", \"sync\": \"bogus\"}}",
          GENERIC("Parameter 'sync' does not accept value 'bogus'"));
    check("{\"execute\": \"test-args\", "
          "\"arguments\": {\"device\": \"d\", \"granularity\": -1}}",
          GENERIC("Parameter 'granularity' expects uint32_t"));
    check("{\"execute\": \"test-args\", "
          "\"arguments\": {\"device\": \"d\", \"granularity\": 4294967296}}",
          GENERIC("Parameter 'granularity' expects uint32_t"));
    check("{\"execute\": \"test-args\", "
          "\"arguments\": {\"device\": \"d\", \"opts\": {}}}",
          GENERIC("Parameter 'opts.name' is missing"));
    check("{\"execute\": \"test-args\", "
          "\"arguments\": {\"device\": \"d\", \"names\": [\"a\", 1]}}",
          GENERIC("Invalid parameter type for 'names[1]', "
                  "expected: string"));
    check("{\"execute\": \"test-boxed\", \"arguments\": {\"kind\": \"bad\"}}",
          GENERIC("Parameter 'kind' does not accept value 'bad'"));
    check("{\"execute\": \"test-alts\", \"arguments\": {\"a\": 1}}",
          GENERIC("Invalid parameter type for 'a', expected: TestAlt"));
}

/* Replies */

static void test_return_values(void)
{
    check("{\"execute\": \"test-returns-int\"}", "{\"return\": 42}");
    check("{\"execute\": \"test-returns-any\", "
          "\"arguments\": {\"value\": [\"x\", {\"y\": null}]}}",
          "{\"return\": [\"x\", {\"y\": null}]}");
    check("{\"execute\": \"test-gen-false\"}",
          "{\"return\": {\"name\": \"by hand\"}}");
    check("{\"execute\": \"test_old_name\"}", "{\"return\": {}}");
    check("{\"execute\": \"test-features\"}", "{\"return\": {}}");
}

static void test_handler_errors(void)
{
    check("{\"execute\": \"test-fail\"}", GENERIC("Failed as asked"));
    check("{\"execute\": \"test-fail\", \"arguments\": {\"not-found\": true},"
          " \"id\": 3}",
          "{\"id\": 3, \"error\": {\"class\": \"DeviceNotFound\", "
          "\"desc\": \"Device 'x' not found\"}}");
}

static void test_no_success_response(void)
{
    int calls = seen.calls;

    /* No reply at all on success, even with an id... */
    g_assert_null(dispatch("{\"execute\": \"test-no-reply\", \"id\": 1}",
                           false));
    g_assert_cmpint(seen.calls, ==, calls + 1);
    /* ...but errors are still answered. */
    check("{\"execute\": \"test-no-reply\", \"arguments\": {\"a\": 1}, "
          "\"id\": 1}", GENERIC_ID("Parameter 'a' is unexpected", "1"));
}

static void test_oob(void)
{
    g_autoptr(JsonNode) oob = json_parse_string(
        "{\"exec-oob\": \"test-oob\"}", &error_abort);
    g_autoptr(JsonNode) normal = json_parse_string(
        "{\"execute\": \"test-oob\"}", &error_abort);
    g_autoptr(JsonNode) both = json_parse_string(
        "{\"execute\": \"test-oob\", \"exec-oob\": \"test-oob\"}",
        &error_abort);

    g_assert_true(qmp_is_oob(oob));
    g_assert_false(qmp_is_oob(normal));
    g_assert_false(qmp_is_oob(both));

    check_oob("{\"exec-oob\": \"test-oob\", \"id\": 1}",
              "{\"return\": {}, \"id\": 1}");
    check_oob("{\"execute\": \"test-oob\"}", "{\"return\": {}}");
    check_oob("{\"exec-oob\": \"test-no-args\"}",
              GENERIC("The command test-no-args does not support OOB"));
    check_oob("{\"exec-oob\": 1}",
              GENERIC("QMP input member 'exec-oob' must be a string"));
    check_oob("{\"execute\": \"test-oob\", \"exec-oob\": \"test-oob\"}",
              GENERIC("QMP input member 'exec-oob' clashes with "
                      "'execute'"));
    check_oob("{\"exec-oob\": \"nope\"}",
              "{\"error\": {\"class\": \"CommandNotFound\", "
              "\"desc\": \"The command nope has not been found\"}}");
}

/* A coroutine command */

typedef struct CoDispatch {
    const char *request;
    char *reply;
    bool done;
} CoDispatch;

static void coroutine_fn dispatch_entry(void *opaque)
{
    CoDispatch *d = opaque;

    d->reply = dispatch(d->request, false);
    d->done = true;
}

static void test_coroutine_command(void)
{
    CoDispatch d = {
        .request = "{\"execute\": \"test-coroutine\", "
                   "\"arguments\": {\"yields\": 3}, \"id\": \"co\"}",
    };
    Coroutine *co = qemu_coroutine_create(dispatch_entry, &d);
    int entries = 0;

    seen.yields_done = 0;
    /* The handler yields three times: the dispatch is entered four. */
    while (!d.done) {
        qemu_coroutine_enter(co);
        entries++;
        g_assert_cmpint(seen.yields_done, ==, entries - 1);
    }
    g_assert_cmpint(entries, ==, 4);
    g_assert_cmpstr(d.reply, ==,
                    "{\"return\": {\"name\": \"done\", \"value\": 3}, "
                    "\"id\": \"co\"}");
    g_free(d.reply);
}

/* The command table */

static void count_command(const QmpCommand *cmd, void *opaque)
{
    GString *names = opaque;

    g_string_append_printf(names, "%s%s", names->len ? " " : "", cmd->name);
}

static void test_command_table(void)
{
    g_autoptr(GString) names = g_string_new("");
    const QmpCommand *cmd;

    qmp_for_each_command(&commands, count_command, names);
    g_assert_cmpstr(names->str, ==,
                    "test-no-args test-args test-named-args test-boxed "
                    "test-no-reply test-oob test-coroutine test-gen-false "
                    "test-cond-on test-features test-returns-int "
                    "test-returns-any test_old_name test-fail test-alts "
                    "test-scalars test-nested");
    cmd = qmp_find_command(&commands, "test-no-reply");
    g_assert_cmpint(cmd->options, ==, QCO_NO_SUCCESS_RESP);
    cmd = qmp_find_command(&commands, "test-oob");
    g_assert_cmpint(cmd->options, ==, QCO_ALLOW_OOB);
    cmd = qmp_find_command(&commands, "test-coroutine");
    g_assert_cmpint(cmd->options, ==, QCO_COROUTINE);
    g_assert_null(qmp_find_command(&commands, "test-cond-off"));
}

/* Events */

static GString *events;

static void record_event(const char *event, JsonObject *data)
{
    g_string_append_printf(events, "%s", event);
    if (data) {
        g_autoptr(JsonNode) node = qjson_take_object(data);

        g_string_append_c(events, ' ');
        json_writer_append(events, node, false);
    }
    g_string_append_c(events, '\n');
}

static void test_events(void)
{
    TestSub sub = { .name = (char *)"s", .has_value = true, .value = 2 };

    events = g_string_new("");
    qapi_event_set_emitter(record_event);
    qapi_event_send_test_event_none();
    qapi_event_send_test_event_args("j1", false, 0, NULL, TEST_ENUM_VALUE3);
    qapi_event_send_test_event_args("j2", true, 64, "x", TEST_ENUM_VALUE_ONE);
    qapi_event_send_test_event_boxed(&sub);
    qapi_event_send_test_event_cond(-1);
    g_assert_cmpstr(events->str, ==,
                    "TEST_EVENT_NONE\n"
                    "TEST_EVENT_ARGS {\"id\": \"j1\", "
                    "\"status\": \"value3\"}\n"
                    "TEST_EVENT_ARGS {\"id\": \"j2\", \"len\": 64, "
                    "\"opt-str\": \"x\", \"status\": \"value-one\"}\n"
                    "TEST_EVENT_BOXED {\"name\": \"s\", \"value\": 2}\n"
                    "TEST_EVENT_COND {\"x\": -1}\n");
    g_assert_cmpstr(test_QAPIEvent_lookup.array[QAPI_EVENT_TEST_EVENT_ARGS],
                    ==, "TEST_EVENT_ARGS");

    /* Without an emitter, events are dropped (and freed). */
    qapi_event_set_emitter(NULL);
    qapi_event_send_test_event_args("j3", false, 0, NULL, TEST_ENUM_VALUE3);
    g_string_free(events, TRUE);
    events = NULL;
}

/* Introspection */

/* The entry of @schema named @name, or NULL. */
static JsonObject *find_entry(JsonArray *schema, const char *name)
{
    guint i;

    for (i = 0; i < json_array_get_length(schema); i++) {
        JsonObject *entry = json_array_get_object_element(schema, i);

        if (!strcmp(json_object_get_string_member(entry, "name"), name)) {
            return entry;
        }
    }
    return NULL;
}

static char *entry_text(JsonArray *schema, const char *name)
{
    JsonObject *entry = find_entry(schema, name);
    g_autoptr(JsonNode) node = NULL;

    if (!entry) {
        return NULL;
    }
    node = json_node_alloc();
    json_node_init_object(node, entry);
    return json_writer_to_string(node, false);
}

#define CHECK_ENTRY(schema, name, text)                                     \
    do {                                                                    \
        g_autofree char *entry_ = entry_text(schema, name);                 \
        g_assert_cmpstr(entry_, ==, text);                                  \
    } while (0)

static void test_introspection(void)
{
    g_autoptr(JsonNode) node = test_qapi_introspect();
    JsonArray *schema = json_node_get_array(node);
    const char *sync_type;
    JsonObject *args;
    char *expected;
    guint i;

    /* Commands and events come first, in schema order. */
    g_assert_cmpstr(json_object_get_string_member(
                        json_array_get_object_element(schema, 0), "name"),
                    ==, "test-no-args");
    CHECK_ENTRY(schema, "test-no-args",
                "{\"name\": \"test-no-args\", \"meta-type\": \"command\", "
                "\"arg-type\": \"0\", \"ret-type\": \"0\"}");
    /* "0" is the empty object type: used first, numbered first. */
    CHECK_ENTRY(schema, "0",
                "{\"name\": \"0\", \"meta-type\": \"object\", "
                "\"members\": []}");
    CHECK_ENTRY(schema, "test-args",
                "{\"name\": \"test-args\", \"meta-type\": \"command\", "
                "\"arg-type\": \"1\", \"ret-type\": \"2\"}");
    CHECK_ENTRY(schema, "test-named-args",
                "{\"name\": \"test-named-args\", \"meta-type\": \"command\", "
                "\"arg-type\": \"3\", \"ret-type\": \"[2]\"}");
    /*
     * Member types are numbered when the types that hold them are
     * written, after every command and event: look them up.
     */
    args = find_entry(schema, "1");
    sync_type = json_object_get_string_member(
        json_array_get_object_element(
            json_object_get_array_member(args, "members"), 3), "type");
    /* All integer types are "int"; optional members have a default. */
    expected = g_strdup_printf(
        "{\"name\": \"1\", \"meta-type\": \"object\", \"members\": ["
        "{\"name\": \"device\", \"type\": \"str\"}, "
        "{\"name\": \"speed\", \"type\": \"int\", \"default\": null}, "
        "{\"name\": \"granularity\", \"type\": \"int\", "
        "\"default\": null}, "
        "{\"name\": \"sync\", \"type\": \"%s\", \"default\": null}, "
        "{\"name\": \"force\", \"type\": \"bool\", "
        "\"default\": null}, "
        "{\"name\": \"opts\", \"type\": \"2\", \"default\": null}, "
        "{\"name\": \"names\", \"type\": \"[str]\", "
        "\"default\": null}]}", sync_type);
    CHECK_ENTRY(schema, "1", expected);
    g_free(expected);
    expected = g_strdup_printf(
        "{\"name\": \"%s\", \"meta-type\": \"enum\", \"members\": ["
        "{\"name\": \"value-one\"}, {\"name\": \"value-two\"}, "
        "{\"name\": \"value3\"}], "
        "\"values\": [\"value-one\", \"value-two\", \"value3\"]}",
        sync_type);
    CHECK_ENTRY(schema, sync_type, expected);
    g_free(expected);
    CHECK_ENTRY(schema, "test-oob",
                "{\"name\": \"test-oob\", \"meta-type\": \"command\", "
                "\"arg-type\": \"0\", \"ret-type\": \"0\", "
                "\"allow-oob\": true}");
    CHECK_ENTRY(schema, "test-features",
                "{\"name\": \"test-features\", \"meta-type\": \"command\", "
                "\"arg-type\": \"0\", \"ret-type\": \"0\", "
                "\"features\": [\"deprecated\", \"unstable\"]}");
    CHECK_ENTRY(schema, "TEST_EVENT_NONE",
                "{\"name\": \"TEST_EVENT_NONE\", \"meta-type\": \"event\", "
                "\"arg-type\": \"0\"}");
    g_assert_null(find_entry(schema, "test-cond-off"));
    g_assert_nonnull(find_entry(schema, "test-cond-on"));
    g_assert_nonnull(find_entry(schema, "TEST_EVENT_COND"));
    CHECK_ENTRY(schema, "[2]",
                "{\"name\": \"[2]\", \"meta-type\": \"array\", "
                "\"element-type\": \"2\"}");
    CHECK_ENTRY(schema, "int",
                "{\"name\": \"int\", \"meta-type\": \"builtin\", "
                "\"json-type\": \"int\"}");
    CHECK_ENTRY(schema, "any",
                "{\"name\": \"any\", \"meta-type\": \"builtin\", "
                "\"json-type\": \"value\"}");
    /* Derived struct: base members first, features of the type. */
    CHECK_ENTRY(schema, "3",
                "{\"name\": \"3\", \"meta-type\": \"object\", \"members\": ["
                "{\"name\": \"base-member\", \"type\": \"str\"}, "
                "{\"name\": \"own\", \"type\": \"int\"}], "
                "\"features\": [\"unstable\"]}");
    /* Names are never real type names, except the built-ins'. */
    g_assert_null(find_entry(schema, "TestSub"));
    g_assert_null(find_entry(schema, "uint32"));

    /* Every entry parses as a plausible SchemaInfo. */
    for (i = 0; i < json_array_get_length(schema); i++) {
        JsonObject *entry = json_array_get_object_element(schema, i);
        const char *meta = json_object_get_string_member(entry,
                                                         "meta-type");

        g_assert_true(json_object_has_member(entry, "name"));
        g_assert_true(g_str_equal(meta, "command") ||
                      g_str_equal(meta, "event") ||
                      g_str_equal(meta, "object") ||
                      g_str_equal(meta, "enum") ||
                      g_str_equal(meta, "array") ||
                      g_str_equal(meta, "alternate") ||
                      g_str_equal(meta, "builtin"));
    }
}

static void test_introspection_union_alternate(void)
{
    g_autoptr(JsonNode) node = test_qapi_introspect();
    JsonArray *schema = json_node_get_array(node);
    const char *boxed_arg = NULL;
    const char *alt_type = NULL;
    JsonObject *boxed, *alts, *arg, *alt;
    JsonArray *members;
    guint i;

    boxed = find_entry(schema, "test-boxed");
    boxed_arg = json_object_get_string_member(boxed, "arg-type");
    arg = find_entry(schema, boxed_arg);
    g_assert_cmpstr(json_object_get_string_member(arg, "tag"), ==, "kind");
    /* 'empty' has no branch of its own: it gets the empty type "0". */
    members = json_object_get_array_member(arg, "variants");
    g_assert_cmpint(json_array_get_length(members), ==, 4);
    for (i = 0; i < 4; i++) {
        JsonObject *var = json_array_get_object_element(members, i);

        if (!strcmp(json_object_get_string_member(var, "case"), "empty")) {
            g_assert_cmpstr(json_object_get_string_member(var, "type"), ==,
                            "0");
        }
    }

    alts = find_entry(schema, "test-alts");
    arg = find_entry(schema, json_object_get_string_member(alts, "arg-type"));
    members = json_object_get_array_member(arg, "members");
    alt_type = json_object_get_string_member(
        json_array_get_object_element(members, 0), "type");
    alt = find_entry(schema, alt_type);
    g_assert_cmpstr(json_object_get_string_member(alt, "meta-type"), ==,
                    "alternate");
    members = json_object_get_array_member(alt, "members");
    g_assert_cmpint(json_array_get_length(members), ==, 2);
    g_assert_cmpstr(json_object_get_string_member(
                        json_array_get_object_element(members, 0), "type"),
                    ==, "str");
}

int main(int argc, char **argv)
{
    int ret;

    g_test_init(&argc, &argv, NULL);
    test_qmp_init_marshal(&commands);

    g_test_add_func("/qmp/dispatch/request-shape", test_request_shape);
    g_test_add_func("/qmp/dispatch/unknown-command", test_unknown_command);
    g_test_add_func("/qmp/dispatch/disabled-command", test_disabled_command);
    g_test_add_func("/qmp/dispatch/id-echo", test_id_echo);
    g_test_add_func("/qmp/dispatch/arguments", test_arguments);
    g_test_add_func("/qmp/dispatch/argument-errors", test_argument_errors);
    g_test_add_func("/qmp/dispatch/return-values", test_return_values);
    g_test_add_func("/qmp/dispatch/handler-errors", test_handler_errors);
    g_test_add_func("/qmp/dispatch/no-success-response",
                    test_no_success_response);
    g_test_add_func("/qmp/dispatch/oob", test_oob);
    g_test_add_func("/qmp/dispatch/coroutine-command",
                    test_coroutine_command);
    g_test_add_func("/qmp/dispatch/command-table", test_command_table);
    g_test_add_func("/qmp/events", test_events);
    g_test_add_func("/qmp/introspection/entries", test_introspection);
    g_test_add_func("/qmp/introspection/union-alternate",
                    test_introspection_union_alternate);

    ret = g_test_run();
    qmp_unregister_commands(&commands);
    g_free(seen.device);
    return ret;
}
