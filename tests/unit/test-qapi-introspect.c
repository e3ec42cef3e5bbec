/*
 * Tests of the real schema's generated code (qapi/qapi-schema.json).
 *
 * What the daemon relies on: query-qmp-schema's data is a list of
 * SchemaInfo as the schema itself defines it (so the introspection data
 * reads back through the generated input code without error and writes
 * back unchanged), it describes the commands of control.json and
 * trace.json with QEMU's argument names, and types are masked.
 */
#include "qemu/osdep.h"

#include "qapi/error.h"
#include "qemu/json-stream.h"
#include "qemu/json-writer.h"
#include "qapi/qapi-introspect.h"
#include "qapi/qapi-visit.h"

static SchemaInfo *find(SchemaInfoList *list, const char *name)
{
    for (; list; list = list->next) {
        if (!strcmp(list->value->name, name)) {
            return list->value;
        }
    }
    return NULL;
}

/* The names of the members of object type @name, space-separated. */
static char *member_names(SchemaInfoList *list, const char *name)
{
    SchemaInfo *info = find(list, name);
    SchemaInfoObjectMemberList *m;
    GString *out = g_string_new("");

    g_assert_nonnull(info);
    g_assert_cmpint(info->meta_type, ==, SCHEMA_META_TYPE_OBJECT);
    for (m = info->u.object.members; m; m = m->next) {
        g_string_append_printf(out, "%s%s%s", out->len ? " " : "",
                               m->value->q_default ? "*" : "",
                               m->value->name);
    }
    return g_string_free(out, FALSE);
}

static void test_schema_reads_back(void)
{
    g_autoptr(JsonNode) node = qapi_introspect();
    g_autoptr(SchemaInfoList) list = NULL;
    g_autoptr(JsonNode) again = NULL;
    g_autofree char *text = NULL;
    g_autofree char *text_again = NULL;
    QapiInput in;

    qapi_input_init(&in, false);
    g_assert_true(qapi_input_SchemaInfoList(&in, NULL, node, &list,
                                            &error_abort));
    again = qapi_output_SchemaInfoList(list);
    /*
     * Equal as JSON values: member order means nothing in QMP, and the
     * generator need not write members in the order of the C struct.
     */
    if (!json_node_equal(node, again)) {
        text = json_writer_to_string(node, false);
        text_again = json_writer_to_string(again, false);
        g_assert_cmpstr(text, ==, text_again);
    }
}

static void test_commands(void)
{
    g_autoptr(JsonNode) node = qapi_introspect();
    g_autoptr(SchemaInfoList) list = NULL;
    g_autofree char *caps = NULL;
    g_autofree char *get = NULL;
    g_autofree char *set = NULL;
    SchemaInfo *info;
    QapiInput in;

    qapi_input_init(&in, false);
    g_assert_true(qapi_input_SchemaInfoList(&in, NULL, node, &list,
                                            &error_abort));
    g_assert_cmpstr(list->value->name, ==, "qmp_capabilities");

    info = find(list, "qmp_capabilities");
    g_assert_cmpint(info->meta_type, ==, SCHEMA_META_TYPE_COMMAND);
    caps = member_names(list, info->u.command.arg_type);
    g_assert_cmpstr(caps, ==, "*enable");

    info = find(list, "query-version");
    g_assert_nonnull(info);
    g_assert_false(info->u.command.has_allow_oob);
    g_assert_cmpstr(find(list, info->u.command.ret_type)->name, ==,
                    info->u.command.ret_type);

    info = find(list, "trace-event-get-state");
    get = member_names(list, info->u.command.arg_type);
    g_assert_cmpstr(get, ==, "name *vcpu");
    info = find(list, "trace-event-set-state");
    set = member_names(list, info->u.command.arg_type);
    g_assert_cmpstr(set, ==, "name enable *ignore-unavailable *vcpu");

    g_assert_nonnull(find(list, "query-commands"));
    g_assert_nonnull(find(list, "query-qmp-schema"));
    g_assert_nonnull(find(list, "quit"));
    g_assert_null(find(list, "VersionInfo"));
    g_assert_null(find(list, "SchemaInfo"));
}

static void test_version_info(void)
{
    g_autoptr(JsonNode) node = json_parse_string(
        "{\"qemu\": {\"major\": 7, \"minor\": 2, \"micro\": 0}, "
        "\"package\": \"qblock\"}", &error_abort);
    g_autoptr(VersionInfo) info = NULL;
    g_autoptr(JsonNode) out = NULL;
    g_autofree char *text = NULL;
    QapiInput in;

    qapi_input_init(&in, false);
    g_assert_true(qapi_input_VersionInfo(&in, NULL, node, &info,
                                         &error_abort));
    g_assert_cmpint(info->qemu->major, ==, 7);
    out = qapi_output_VersionInfo(info);
    text = json_writer_to_string(out, false);
    g_assert_cmpstr(text, ==,
                    "{\"qemu\": {\"major\": 7, \"minor\": 2, \"micro\": 0}, "
                    "\"package\": \"qblock\"}");
    g_assert_cmpstr(QMPCapability_str(QMP_CAPABILITY_OOB), ==, "oob");
    g_assert_cmpstr(TraceEventState_str(TRACE_EVENT_STATE_UNAVAILABLE), ==,
                    "unavailable");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/qapi/schema/introspection-reads-back",
                    test_schema_reads_back);
    g_test_add_func("/qapi/schema/commands", test_commands);
    g_test_add_func("/qapi/schema/version-info", test_version_info);
    return g_test_run();
}
